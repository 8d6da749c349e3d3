"""EMR benchmark: a PySpark step over the sandbox's S3 against the same engine on local files.

Prints, for ``--rows`` raw orders (default 1,000,000) as JSON Lines in 8 objects:
- the EMR step: ``AddJobFlowSteps`` on a waiting cluster runs the daily-metrics script (read the
  JSON, group by day, write partitioned Parquet) on sqlframe over DuckDB, reading and writing the
  sandbox's S3 (moto's objects in this process); the wall time of that call;
- the same script, the same engine (labkit's sqlframe runner), over the same files in a local
  folder instead of S3;
- the ratio (the cost of S3 in the sandbox and of the step's machinery), and the bytes read.

Run: ``.venv/bin/python benchmarks/bench_emr.py [--rows N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

import duckdb

import labkit
from labkit.services.emr.sim_pyspark import run_script

FILES = 8
SCRIPT = """
import sys
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

spark = SparkSession.builder.getOrCreate()
orders = spark.read.json(sys.argv[1])
daily = orders.groupBy("day").agg(
    F.count("*").alias("orders"), F.round(F.sum("amount"), 2).alias("revenue")
)
daily.write.mode("overwrite").partitionBy("day").parquet(sys.argv[2])
"""


class LocalStore:
    """A folder as the object store the engine reads and writes (bucket = subfolder)."""

    def __init__(self, root: str) -> None:
        self.root = root

    def _path(self, bucket: str, key: str) -> str:
        return os.path.join(self.root, bucket, *key.split("/"))

    def size(self, bucket: str, key: str) -> int:
        try:
            return os.path.getsize(self._path(bucket, key))
        except OSError as err:
            raise KeyError(key) from err

    def read(self, bucket: str, key: str, start: int, end: int) -> bytes:
        with open(self._path(bucket, key), "rb") as handle:
            handle.seek(start)
            return handle.read(end - start)

    def list(self, bucket: str, prefix: str) -> list[tuple[str, int]]:
        base = os.path.join(self.root, bucket)
        if not os.path.isdir(base):
            raise KeyError(bucket)
        found = []
        for folder, _, names in os.walk(base):
            for name in names:
                key = os.path.relpath(os.path.join(folder, name), base).replace(os.sep, "/")
                if key.startswith(prefix):
                    found.append((key, os.path.getsize(os.path.join(folder, name))))
        return sorted(found)

    def put(self, bucket: str, key: str, body: bytes) -> None:
        path = self._path(bucket, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(body)

    def delete(self, bucket: str, key: str) -> None:
        os.remove(self._path(bucket, key))


def make_orders(folder: str, rows: int) -> list[str]:
    """``FILES`` JSON Lines files of ``rows`` orders over 30 days; their paths."""
    con = duckdb.connect()
    paths = []
    per = rows // FILES
    for n in range(FILES):
        path = os.path.join(folder, f"part-{n}.json")
        con.execute(
            f"COPY (SELECT i AS order_id, round(random() * 100, 2) AS amount, "
            f"'2026-01-' || lpad(((i % 30) + 1)::VARCHAR, 2, '0') AS day "
            f"FROM range({n * per}, {(n + 1) * per}) t(i)) TO '{path}' (FORMAT JSON)"
        )
        paths.append(path)
    return paths


def bench(rows: int, repeat: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        files = make_orders(folder, rows)
        total = sum(os.path.getsize(f) for f in files)
        local = LocalStore(os.path.join(folder, "store"))
        for path in files:
            with open(path, "rb") as handle:
                local.put("lake", f"raw/orders/{os.path.basename(path)}", handle.read())
        args = ["s3://lake/raw/orders/", "s3://lake/curated/daily/"]
        # Untimed: the first run pays for importing sqlframe and sqlglot.
        run_script(SCRIPT, "s3://lake/jobs/daily.py", args, local)
        local_times = []
        for _ in range(repeat):
            started = time.perf_counter()
            outcome = run_script(SCRIPT, "s3://lake/jobs/daily.py", args, local)
            local_times.append(time.perf_counter() - started)
            assert outcome.ok, outcome.traceback

        lab = labkit.start(quiet=True)
        try:
            s3 = lab.client("s3")
            s3.create_bucket(Bucket="lake")
            for path in files:
                with open(path, "rb") as handle:
                    s3.put_object(
                        Bucket="lake",
                        Key=f"raw/orders/{os.path.basename(path)}",
                        Body=handle.read(),
                    )
            s3.put_object(Bucket="lake", Key="jobs/daily.py", Body=SCRIPT.encode())
            emr = lab.client("emr")
            cluster = emr.run_job_flow(
                Name="bench",
                ReleaseLabel="emr-7.5.0",
                Instances={
                    "MasterInstanceType": "m5.xlarge",
                    "SlaveInstanceType": "m5.xlarge",
                    "InstanceCount": 3,
                    "KeepJobFlowAliveWhenNoSteps": True,
                },
                JobFlowRole="EMR_EC2_DefaultRole",
                ServiceRole="EMR_DefaultRole",
            )["JobFlowId"]
            lab.clock.advance(600)
            step_times = []
            for n in range(repeat):
                step = {
                    "Name": f"daily {n}",
                    "ActionOnFailure": "CONTINUE",
                    "HadoopJarStep": {
                        "Jar": "command-runner.jar",
                        "Args": ["spark-submit", "s3://lake/jobs/daily.py", *args],
                    },
                }
                started = time.perf_counter()
                [step_id] = emr.add_job_flow_steps(JobFlowId=cluster, Steps=[step])["StepIds"]
                step_times.append(time.perf_counter() - started)
                lab.clock.advance(3600)
                state = emr.describe_step(ClusterId=cluster, StepId=step_id)["Step"]["Status"]
                assert state["State"] == "COMPLETED", state
        finally:
            lab.stop()
    local_s = statistics.median(local_times)
    step_s = statistics.median(step_times)
    return {
        "rows": rows,
        "json_mb": round(total / 1024 / 1024, 1),
        "local_files_s": round(local_s, 3),
        "emr_step_s": round(step_s, 3),
        "ratio": round(step_s / local_s, 2),
        "bytes_read": outcome.bytes_read,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps({"emr_step": bench(args.rows, args.repeat)}))


if __name__ == "__main__":
    main()
