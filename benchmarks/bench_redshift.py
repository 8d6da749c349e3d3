"""Redshift benchmark: the sandbox's Data API on a cluster's DuckDB database against DuckDB alone.

Prints, for ``--rows`` rows (default 1,000,000) of Parquet in the sandbox's S3:
- ``COPY`` through the Data API (``ExecuteStatement`` to ``FINISHED``) against DuckDB loading the
  same file from local disk (``INSERT ... SELECT * FROM read_parquet``);
- a join of the fact table with a 1,000-row dimension on a non-distribution key (the model counts
  the rows it would redistribute), and a range scan on the sort key (the model counts the blocks
  zone maps skip), each against the same SQL on DuckDB alone.

The ratios are the figures: what the Data API, the policy engine's S3 checks and the storage model
cost on top of the engine. A sandbox statement is three boto3 calls (execute, describe, result),
printed as the floor: it dominates the ratio of a query DuckDB answers in a millisecond. The
model's figures are computed once per write (zone maps, join placement) and reused after.

Run: ``.venv/bin/python benchmarks/bench_redshift.py [--rows N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable

import duckdb

import labkit

JOIN = (
    "SELECT c.name, sum(s.amount) FROM sales s JOIN cust c ON s.cust = c.id "
    "GROUP BY 1 ORDER BY 2 DESC LIMIT 5"
)
RANGE = "SELECT count(*), sum(amount) FROM sales WHERE id BETWEEN 100000 AND 150000"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "redshift.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _timed(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _files(folder: str, rows: int) -> tuple[str, bytes]:
    path = os.path.join(folder, "sales.parquet")
    duckdb.connect().execute(
        f"COPY (SELECT i AS id, (i * 7919) % 1000 AS cust, random() * 100 AS amount "
        f"FROM range({rows}) t(i)) TO '{path}' (FORMAT PARQUET)"
    )
    with open(path, "rb") as handle:
        return path, handle.read()


def direct(path: str) -> dict[str, float]:
    """DuckDB alone: load, join, range scan."""
    con = duckdb.connect(":memory:", config={"threads": 2})

    def load() -> None:
        con.execute("DROP TABLE IF EXISTS sales")
        con.execute("CREATE TABLE sales (id BIGINT, cust INT, amount DOUBLE)")
        con.execute(f"INSERT INTO sales SELECT * FROM read_parquet('{path}')")

    copy = _timed(load)
    con.execute("CREATE TABLE cust AS SELECT i::INT AS id, 'c' || i AS name FROM range(1000) t(i)")
    return {
        "copy": copy,
        "join": _timed(lambda: con.execute(JOIN).fetchall()),
        "range": _timed(lambda: con.execute(RANGE).fetchall()),
    }


def sandbox(body: bytes) -> tuple[dict[str, float], str]:
    """The sandbox: COPY, join and range scan through the Data API."""
    lab = labkit.start(quiet=True)
    try:
        iam = lab.client("iam")
        role = iam.create_role(RoleName="loader", AssumeRolePolicyDocument=json.dumps(TRUST))
        arn = role["Role"]["Arn"]
        iam.put_role_policy(
            RoleName="loader",
            PolicyName="read",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
                }
            ),
        )
        s3 = lab.client("s3")
        s3.create_bucket(Bucket="lake")
        s3.put_object(Bucket="lake", Key="sales/part-0.parquet", Body=body)
        lab.client("redshift").create_cluster(
            ClusterIdentifier="dw",
            NodeType="ra3.4xlarge",
            NumberOfNodes=2,
            MasterUsername="admin",
            MasterUserPassword="Passw0rd1",
            IamRoles=[arn],
        )
        data = lab.client("redshift-data")

        def run(sql: str) -> dict[str, object]:
            sid = data.execute_statement(ClusterIdentifier="dw", Database="dev", Sql=sql)["Id"]
            described = dict(data.describe_statement(Id=sid))
            assert described["Status"] == "FINISHED", described.get("Error")
            if described["HasResultSet"]:
                data.get_statement_result(Id=sid)
            return described

        def load() -> None:
            run("DROP TABLE IF EXISTS sales")
            run("CREATE TABLE sales (id BIGINT, cust INT, amount FLOAT8) SORTKEY (id)")
            run(f"COPY sales FROM 's3://lake/sales/' IAM_ROLE '{arn}' FORMAT AS PARQUET")

        copy = _timed(load)
        run("CREATE TABLE cust (id INT DISTKEY, name VARCHAR(20))")
        run("INSERT INTO cust SELECT i::INT, 'c' || i FROM range(1000) t(i)")
        figures = {
            "floor": _timed(lambda: run("SELECT 1")),
            "copy": copy,
            "join": _timed(lambda: run(JOIN)),
            "range": _timed(lambda: run(RANGE)),
        }
        view = str(lab.redshift_view())
        return figures, view
    finally:
        lab.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    rows = parser.parse_args().rows
    with tempfile.TemporaryDirectory() as folder:
        path, body = _files(folder, rows)
        alone = direct(path)
        ours, view = sandbox(body)
    print(f"Redshift on DuckDB, {rows:,} rows of Parquet ({len(body) / 1e6:.1f} MB), median of 3")
    print(
        f"  a Data API round trip (SELECT 1: execute, describe, result): "
        f"{ours['floor'] * 1000:.1f} ms, the floor under every sandbox figure"
    )
    for step in ("copy", "join", "range"):
        print(
            f"  {step:5}: sandbox {ours[step] * 1000:8.1f} ms, DuckDB alone "
            f"{alone[step] * 1000:8.1f} ms, ratio {ours[step] / alone[step]:.2f}x"
        )
    print(view)


if __name__ == "__main__":
    main()
