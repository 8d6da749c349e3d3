"""Athena and Glue benchmarks: the sandbox's Athena over Parquet in S3 against DuckDB on local disk.

Prints:
- an Athena query over ``--mb`` MB of Parquet (default 1024: issue 19's 1 GB) in 16 Hive
  partitions in the sandbox's S3, from ``StartQueryExecution`` to the result (the engine runs
  the query when it is submitted), against the same DuckDB running the same SQL over the same
  files on local disk; the ratio is the figure (target: within 1.5x), with the bytes the sandbox
  counted as scanned;
- a pruned query (one partition, two columns) with its bytes scanned;
- a Glue crawl of 10,000 objects in 100 partitions (target: under 5 s).

Run: ``.venv/bin/python benchmarks/bench_athena.py [--mb N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

import duckdb
import support

import labkit

PARTITIONS = 16
SQL = "SELECT count(*) AS n, sum(amount) AS total, count(DISTINCT substr(usr, 1, 3)) AS u FROM {t}"


def _make_files(folder: str, megabytes: int) -> list[str]:
    # md5 strings and random doubles hardly compress: about 48 bytes a row in Parquet.
    rows = megabytes * 1024 * 1024 // 48
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT i AS id, random() AS amount, md5(i::VARCHAR) AS usr, "
        f"(i % {PARTITIONS}) AS p FROM range({rows}) t(i)) TO '{folder}' "
        "(FORMAT PARQUET, PARTITION_BY (p), COMPRESSION SNAPPY)"
    )
    found = []
    for root, _, files in os.walk(folder):
        for file in files:
            found.append(os.path.join(root, file))
    return sorted(found)


def _timed(fn: object, repeat: int = 3) -> float:
    return statistics.median(support.timed(lambda _i: fn(), 1, repeat, unit=1))  # type: ignore[operator]


def bench_query(megabytes: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        files = _make_files(folder, megabytes)
        total = sum(os.path.getsize(f) for f in files)
        local = duckdb.connect(config={"threads": 2})
        local_sql = SQL.format(t=f"read_parquet('{folder}/*/*.parquet', hive_partitioning = true)")
        local_s = _timed(lambda: local.execute(local_sql).fetchall())

        lab = labkit.start()
        try:
            s3 = lab.client("s3")
            glue = lab.client("glue")
            athena = lab.client("athena")
            s3.create_bucket(Bucket="lake")
            s3.create_bucket(Bucket="results")
            for path in files:
                key = "big/" + os.path.relpath(path, folder).replace(os.sep, "/")
                with open(path, "rb") as handle:
                    s3.put_object(Bucket="lake", Key=key, Body=handle.read())
            glue.create_database(DatabaseInput={"Name": "bench"})
            glue.create_table(
                DatabaseName="bench",
                TableInput={
                    "Name": "big",
                    "StorageDescriptor": {
                        "Columns": [
                            {"Name": "id", "Type": "bigint"},
                            {"Name": "amount", "Type": "double"},
                            {"Name": "usr", "Type": "string"},
                        ],
                        "Location": "s3://lake/big/",
                    },
                    "PartitionKeys": [{"Name": "p", "Type": "int"}],
                    "Parameters": {"classification": "parquet"},
                },
            )
            for p in range(PARTITIONS):
                glue.create_partition(
                    DatabaseName="bench",
                    TableName="big",
                    PartitionInput={
                        "Values": [str(p)],
                        "StorageDescriptor": {"Location": f"s3://lake/big/p={p}/"},
                    },
                )

            def athena_query(sql: str) -> dict[str, object]:
                qid = athena.start_query_execution(
                    QueryString=sql,
                    QueryExecutionContext={"Database": "bench"},
                    ResultConfiguration={"OutputLocation": "s3://results/"},
                )["QueryExecutionId"]
                lab.clock.advance(60)
                execution: dict[str, object] = athena.get_query_execution(QueryExecutionId=qid)[
                    "QueryExecution"
                ]
                return execution

            sandbox_s = _timed(lambda: athena_query(SQL.format(t="big")))
            full = athena_query(SQL.format(t="big"))
            pruned = athena_query("SELECT sum(amount) FROM big WHERE p = 3")
        finally:
            lab.stop()
    stats_full = full["Statistics"]
    stats_pruned = pruned["Statistics"]
    return {
        "parquet_mb": round(total / 1024 / 1024, 1),
        "local_duckdb_s": round(local_s, 3),
        "sandbox_athena_s": round(sandbox_s, 3),
        "ratio": round(sandbox_s / local_s, 2),
        "scanned_mb_full": round(stats_full["DataScannedInBytes"] / 1024 / 1024, 1),  # type: ignore[index]
        "scanned_mb_one_partition_one_column": round(
            stats_pruned["DataScannedInBytes"] / 1024 / 1024,  # type: ignore[index]
            2,
        ),
    }


def bench_crawler(objects: int = 10_000) -> dict[str, float]:
    lab = labkit.start()
    try:
        s3 = lab.client("s3")
        glue = lab.client("glue")
        s3.create_bucket(Bucket="raw")
        body = json.dumps({"id": 1, "kind": "click", "ms": 3}).encode()
        for i in range(objects):
            s3.put_object(Bucket="raw", Key=f"events/dt=d{i % 100}/e{i}.json", Body=body)
        glue.create_database(DatabaseInput={"Name": "raw"})
        glue.create_crawler(
            Name="c",
            Role="arn:aws:iam::123456789012:role/c",
            DatabaseName="raw",
            Targets={"S3Targets": [{"Path": "s3://raw/events/"}]},
        )
        started = time.perf_counter()
        glue.start_crawler(Name="c")
        lab.clock.advance(3600)
        partitions = glue.get_partitions(DatabaseName="raw", TableName="events")["Partitions"]
        elapsed = time.perf_counter() - started
        assert len(partitions) == 100, len(partitions)
    finally:
        lab.stop()
    return {"objects": objects, "crawl_s": round(elapsed, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mb", type=int, default=1024, help="Parquet size in MB (default 1024)")
    args = parser.parse_args()
    print(json.dumps({"athena_parquet": bench_query(args.mb)}))
    print(json.dumps({"glue_crawler": bench_crawler()}))


if __name__ == "__main__":
    main()
