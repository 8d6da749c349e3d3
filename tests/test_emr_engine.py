"""EMR's PySpark engine without a sandbox: reads, writes and save modes over an in-memory S3,
spark-submit's arguments, and the same script on real Spark (skipped where pyspark is absent)."""

from __future__ import annotations

import json
import os
import tempfile

import duckdb
import pytest

from labkit.services.emr import sim_spark
from labkit.services.emr.sim_pyspark import run_script

DAILY = """
import sys
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

spark = SparkSession.builder.appName("daily").getOrCreate()
source, target = sys.argv[1], sys.argv[2]
orders = spark.read.json(source)
daily = orders.groupBy("day").agg(
    F.round(F.sum("amount"), 2).alias("revenue"), F.count("*").alias("orders")
)
daily.write.mode("overwrite").partitionBy("day").parquet(target)
print("days:", daily.count())
spark.stop()
"""


class MemoryS3:
    """Objects by (bucket, key): what a step's engine needs of S3."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}

    def size(self, bucket: str, key: str) -> int:
        return len(self.objects[(bucket, key)])

    def read(self, bucket: str, key: str, start: int, end: int) -> bytes:
        return self.objects[(bucket, key)][start:end]

    def list(self, bucket: str, prefix: str) -> list[tuple[str, int]]:
        if not any(b == bucket for b, _ in self.objects):
            raise KeyError(bucket)
        return sorted(
            (k, len(v))
            for (b, k), v in self.objects.items()
            if b == bucket and k.startswith(prefix)
        )

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self.objects[(bucket, key)] = body

    def delete(self, bucket: str, key: str) -> None:
        del self.objects[(bucket, key)]

    def keys(self, prefix: str) -> list[str]:
        return sorted(k for (_, k) in self.objects if k.startswith(prefix))


def orders(n: int) -> list[dict[str, object]]:
    return [
        {
            "order_id": i,
            "day": f"2026-01-0{1 + i % 3}",
            "amount": round(i * 1.25, 2),
            "sku": "ab"[i % 2],
        }
        for i in range(n)
    ]


def lake() -> MemoryS3:
    store = MemoryS3()
    rows = orders(30)
    for part in range(2):
        body = "\n".join(json.dumps(r) for r in rows[part::2])
        store.put("lake", f"raw/orders/part-{part}.json", body.encode())
    store.put("lake", "raw/orders/_SUCCESS", b"")  # a marker, skipped as Spark skips it
    return store


def parquet_rows(store: MemoryS3, prefix: str) -> list[tuple[object, ...]]:
    """The rows of every Parquet object under ``prefix``, with its Hive partition value."""
    con = duckdb.connect()
    found = []
    for key in store.keys(prefix):
        if not key.endswith(".parquet"):
            continue
        table = con.execute(
            "SELECT * FROM read_parquet(?)", [_local(store.objects[("lake", key)])]
        ).fetchall()
        day = key.split("day=", 1)[1].split("/", 1)[0]
        found += [(day, *row) for row in table]
    return sorted(found)


def _local(body: bytes) -> str:
    fd, name = tempfile.mkstemp(suffix=".parquet")
    with os.fdopen(fd, "wb") as handle:
        handle.write(body)
    return name


def expected_daily() -> list[tuple[object, ...]]:
    totals: dict[str, list[float]] = {}
    for row in orders(30):
        day = str(row["day"])
        totals.setdefault(day, []).append(float(str(row["amount"])))
    return sorted((day, round(sum(v), 2), len(v)) for day, v in totals.items())


def test_a_script_aggregates_json_into_partitioned_parquet() -> None:
    store = lake()
    out = run_script(
        DAILY, "s3://lake/jobs/daily.py", ["s3://lake/raw/orders/", "s3://lake/daily/"], store
    )
    assert out.ok, out.traceback
    assert "days: 3" in out.stdout
    assert parquet_rows(store, "daily/") == expected_daily()
    keys = store.keys("daily/")
    assert "daily/_SUCCESS" in keys
    assert all(k.endswith((".snappy.parquet", "_SUCCESS")) for k in keys)
    # The bytes it read are what the JSON objects hold (the marker is empty).
    assert out.bytes_read == sum(
        len(v) for (_, k), v in store.objects.items() if k.startswith("raw/")
    )
    assert "sqlframe" in out.engine


def test_save_modes_are_spark_s() -> None:
    store = lake()
    args = ["s3://lake/raw/orders/", "s3://lake/daily/"]
    assert run_script(DAILY, "s3://lake/j.py", args, store).ok
    first = store.keys("daily/")
    again = run_script(DAILY.replace('.mode("overwrite")', ""), "s3://lake/j.py", args, store)
    assert not again.ok
    assert "PATH_ALREADY_EXISTS" in again.error and "s3://lake/daily/" in again.error
    assert store.keys("daily/") == first  # nothing written
    appended = run_script(DAILY.replace('"overwrite"', '"append"'), "s3://lake/j.py", args, store)
    assert appended.ok
    assert len(parquet_rows(store, "daily/")) == 2 * len(expected_daily())
    replaced = run_script(DAILY, "s3://lake/j.py", args, store)
    assert replaced.ok
    assert parquet_rows(store, "daily/") == expected_daily()


def test_csv_with_a_header_and_a_glob_and_imports_as_pyspark_spells_them() -> None:
    store = MemoryS3()
    store.put("lake", "in/a.csv", b"sku,qty\nab,2\ncd,3\n")
    store.put("lake", "in/b.txt", b"not,csv\n")
    script = """
import pyspark.sql.functions as F
from pyspark.sql.functions import col
from pyspark.sql import SparkSession
from pyspark.sql.types import StructType
spark = SparkSession.builder.getOrCreate()
df = spark.read.option("header", True).csv("s3://lake/in/*.csv")
total = df.select(F.sum(col("qty").cast("int")).alias("n")).collect()[0]["n"]
print("total", total)
df.write.json("s3://lake/out/")
"""
    out = run_script(script, "s3://lake/j.py", [], store)
    assert out.ok, out.traceback
    assert "total 5" in out.stdout
    written = [k for k in store.keys("out/") if k.endswith(".json")]
    lines = b"".join(store.objects[("lake", k)] for k in written).decode().splitlines()
    assert sorted(json.loads(line)["sku"] for line in lines) == ["ab", "cd"]


def test_a_csv_without_header_reads_as_spark_names_and_types_it() -> None:
    store = MemoryS3()
    store.put("lake", "in/a.csv", b"ab,2\ncd,3\n")
    script = """
from pyspark.sql import SparkSession
spark = SparkSession.builder.getOrCreate()
plain = spark.read.csv("s3://lake/in/")
inferred = spark.read.csv("s3://lake/in/", inferSchema=True)
print(plain.columns, [f.dataType.simpleString() for f in plain.schema.fields],
      [f.dataType.simpleString() for f in inferred.schema.fields])
"""
    out = run_script(script, "s3://lake/j.py", [], store)
    assert out.ok, out.traceback
    assert "['_c0', '_c1'] ['string', 'string'] ['string', 'bigint']" in out.stdout


@pytest.mark.parametrize(
    ("script", "error"),
    [
        ("raise ValueError('no orders for 2026-01-05')", "ValueError: no orders for 2026-01-05"),
        (
            "from pyspark.sql import SparkSession\n"
            "SparkSession.builder.getOrCreate().read.json('s3://lake/missing/')",
            "PATH_NOT_FOUND",
        ),
        ("import sys\nsys.exit(3)", "exited with status 3"),
        ("from pyspark.streaming import StreamingContext", "No module named 'pyspark.streaming'"),
    ],
)
def test_a_failing_script_says_why(script: str, error: str) -> None:
    out = run_script(script, "s3://lake/j.py", [], lake())
    assert not out.ok
    assert error in out.error
    assert "s3://lake/j.py" in out.traceback  # the learner's own frame


def test_spark_submit_arguments_name_the_application() -> None:
    from labkit.services.emr.sim_steps import StepError, application

    assert application(
        "command-runner.jar",
        ["spark-submit", "--deploy-mode", "cluster", "--conf", "a=b", "s3://b/j.py", "x", "--y"],
    ) == ("s3://b/j.py", ["x", "--y"])
    runner = "s3://us-east-1.elasticmapreduce/libs/script-runner/script-runner.jar"
    assert application(runner, ["s3://b/j.py", "1"]) == ("s3://b/j.py", ["1"])
    for jar, args in (
        ("command-runner.jar", ["hive-script", "x"]),
        ("command-runner.jar", ["spark-submit", "--verbose"]),
        ("s3://b/my.jar", ["x"]),
    ):
        with pytest.raises(StepError):
            application(jar, args)


@pytest.mark.skipif(not sim_spark.available(), reason="real pyspark is not installed here")
def test_the_same_script_on_real_spark_gets_the_same_rows() -> None:
    embedded, spark = lake(), lake()
    args = ["s3://lake/raw/orders/", "s3://lake/daily/"]
    assert run_script(DAILY, "s3://lake/j.py", args, embedded).ok
    out = sim_spark.run_script(DAILY, "s3://lake/j.py", args, spark)
    assert out.ok, out.stderr[-2000:]
    assert out.engine.startswith("Apache Spark")
    assert parquet_rows(spark, "daily/") == parquet_rows(embedded, "daily/") == expected_daily()
    assert not any(k.endswith(".crc") for k in spark.keys("daily/"))


def test_asking_for_spark_without_pyspark_fails_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sim_spark.PYTHON_ENV, os.path.join(os.sep, "no", "such", "python"))
    out = sim_spark.run_script(DAILY, "s3://lake/j.py", [], lake())
    assert not out.ok and "pyspark is not installed" in out.error


DEDUPED = """
import sys
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

spark = SparkSession.builder.getOrCreate()
orders = spark.read.json(sys.argv[1])
paid = orders.dropDuplicates(["order_id"]).where(F.col("status") == "paid")
daily = paid.groupBy("dt").agg(
    F.count("*").alias("orders"), F.round(F.sum("amount"), 2).alias("revenue")
)
for row in daily.orderBy("dt").collect():
    print(row["dt"], row["orders"], row["revenue"])
"""


def test_a_partition_folder_is_a_column_and_redeliveries_drop_by_key() -> None:
    # The lesson's EMR job: raw JSON in dt= folders, delivered at least once (part-1 repeats an
    # order of part-0), each order counted once and refunds left out.
    store = MemoryS3()
    first = [
        {"order_id": "a", "amount": 10.0, "status": "paid"},
        {"order_id": "b", "amount": 2.5, "status": "refunded"},
        {"order_id": "c", "amount": 1.25, "status": "paid"},
    ]
    late = {"order_id": "e", "amount": 7.0, "status": "paid"}
    deliveries = {
        "2026-03-01": [first, [first[0], {"order_id": "d", "amount": 4.0, "status": "paid"}]],
        "2026-03-02": [[late], [late, {"order_id": "f", "amount": 3.0, "status": "refunded"}]],
    }
    for day, parts in deliveries.items():
        for n, part in enumerate(parts):
            body = "\n".join(json.dumps(order) for order in part)
            store.put("lake", f"raw/orders/dt={day}/part-{n}.json", body.encode())
    out = run_script(DEDUPED, "s3://lake/jobs/d.py", ["s3://lake/raw/orders/"], store)
    assert out.ok, out.traceback
    # Without dropDuplicates: 2026-03-01 4 25.25 (a twice) and 2026-03-02 2 14.0.
    assert out.stdout.split("\n")[:2] == ["2026-03-01 3 15.25", "2026-03-02 1 7.0"]
