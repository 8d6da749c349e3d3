"""DMS benchmark: a full load of 100,000 rows to S3 and CDC of 10,000 changes, against COPY.

The source is an RDS instance's PostgreSQL in the sandbox. Measured (wall seconds, median of 3):

- **full load**: ``StartReplicationTask`` of a ``full-load`` task over a 100,000-row table to an
  S3 target (CSV), until ``LOAD00000001.csv`` is in the sandbox's S3;
- **COPY**: ``COPY orders TO STDOUT WITH CSV`` straight from the same engine (pg8000's
  ``copy``), the floor any export of those rows pays; the ratio is labkit's cost above it
  (reading rows as JSON, the mappings, writing the object through moto's S3);
- **CDC**: 10,000 changes (inserts, updates and deletes) made after the load of a
  ``full-load-and-cdc`` task, until its CDC file is in S3 (one ``advance`` of the lab clock by
  the batch interval); the triggers' cost on the writes is measured apart (the same 10,000
  statements with and without the task).

Target (issue 21): a full load of 100,000 rows in under 10 s. Stock moto moves no row.
"""

from __future__ import annotations

import io
import json
import statistics
import time
from typing import Any

import pg8000

import labkit

ROWS = 100_000
CHANGES = 10_000
RUNS = 3
USER, PASSWORD = "bench", "bench-password-1"
MAPPINGS = json.dumps(
    {
        "rules": [
            {
                "rule-type": "selection",
                "rule-id": "1",
                "rule-name": "orders",
                "object-locator": {"schema-name": "public", "table-name": "orders"},
                "rule-action": "include",
            }
        ]
    }
)


def setup(lab: Any) -> tuple[Any, dict[str, Any], str, str, str]:
    instance = lab.client("rds").create_db_instance(
        DBInstanceIdentifier="bench",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername=USER,
        MasterUserPassword=PASSWORD,
        DBName="shop",
    )["DBInstance"]
    conn = pg8000.connect(
        host=instance["Endpoint"]["Address"],
        port=5432,
        user=USER,
        password=PASSWORD,
        database="shop",
    )
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("CREATE TABLE orders (id int PRIMARY KEY, item text, qty int, note text)")
    cur.execute(
        "INSERT INTO orders SELECT g, 'item-' || g, g %% 100, repeat('x', 40) "
        "FROM generate_series(1, %s) g",
        (ROWS,),
    )
    lab.client("s3").create_bucket(Bucket="lake")
    dms = lab.client("dms")
    source = dms.create_endpoint(
        EndpointIdentifier="src",
        EndpointType="source",
        EngineName="postgres",
        ServerName=instance["Endpoint"]["Address"],
        Port=5432,
        Username=USER,
        Password=PASSWORD,
        DatabaseName="shop",
    )["Endpoint"]["EndpointArn"]
    target = dms.create_endpoint(
        EndpointIdentifier="lake",
        EndpointType="target",
        EngineName="s3",
        S3Settings={"BucketName": "lake"},
    )["Endpoint"]["EndpointArn"]
    replication = dms.create_replication_instance(
        ReplicationInstanceIdentifier="ri", ReplicationInstanceClass="dms.t3.medium"
    )["ReplicationInstance"]["ReplicationInstanceArn"]
    return conn, instance, source, target, replication


def create_task(lab: Any, name: str, kind: str, ends: tuple[str, str, str]) -> str:
    source, target, replication = ends
    arn: str = lab.client("dms").create_replication_task(
        ReplicationTaskIdentifier=name,
        SourceEndpointArn=source,
        TargetEndpointArn=target,
        ReplicationInstanceArn=replication,
        MigrationType=kind,
        TableMappings=MAPPINGS,
    )["ReplicationTask"]["ReplicationTaskArn"]
    return arn


def changes(conn: Any, base: int, gone: int) -> float:
    """10,000 changes (60 % inserts, 30 % updates, 10 % deletes of rows below ``gone``)."""
    cur = conn.cursor()
    started = time.perf_counter()
    for i in range(CHANGES):
        kind = i % 10
        if kind < 6:
            cur.execute("INSERT INTO orders VALUES (%s, 'new', 1, 'cdc')", (base + i,))
        elif kind < 9:
            cur.execute("UPDATE orders SET qty = qty + 1 WHERE id = %s", (i + 1,))
        else:
            cur.execute("DELETE FROM orders WHERE id = %s", (gone - i,))
    return time.perf_counter() - started


def main() -> None:
    lab = labkit.start(quiet=True)
    conn, _instance, source, target, replication = setup(lab)
    ends = (source, target, replication)
    dms, s3 = lab.client("dms"), lab.client("s3")

    copy_times = []
    for _ in range(RUNS):
        out = io.BytesIO()
        started = time.perf_counter()
        conn.cursor().execute("COPY orders TO STDOUT WITH CSV", stream=out)
        copy_times.append(time.perf_counter() - started)

    load_times = []
    for run in range(RUNS):
        arn = create_task(lab, f"load-{run}", "full-load", ends)
        started = time.perf_counter()
        dms.start_replication_task(
            ReplicationTaskArn=arn, StartReplicationTaskType="start-replication"
        )
        load_times.append(time.perf_counter() - started)
        body = s3.get_object(Bucket="lake", Key="public/orders/LOAD00000001.csv")["Body"].read()
        assert body.count(b"\n") == ROWS, body.count(b"\n")

    plain = changes(conn, 1_000_000, ROWS)  # the writes alone, no task capturing them
    arn = create_task(lab, "cdc", "full-load-and-cdc", ends)
    dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="start-replication")
    captured = changes(conn, 2_000_000, ROWS - CHANGES)
    started = time.perf_counter()
    lab.clock.advance(60)
    apply = time.perf_counter() - started
    stats = dms.describe_table_statistics(ReplicationTaskArn=arn)["TableStatistics"][0]
    moved = stats["Inserts"] + stats["Updates"] + stats["Deletes"]
    assert moved == CHANGES, stats

    load, copy = statistics.median(load_times), statistics.median(copy_times)
    print(f"full load of {ROWS:,} rows to S3 (CSV): {load:.2f} s median of {RUNS} (target < 10 s)")
    print(f"COPY of the same rows from the engine: {copy:.3f} s; ratio {load / copy:.1f}x")
    print(
        f"CDC of {CHANGES:,} changes: read and applied to S3 in {apply:.2f} s "
        f"({CHANGES / apply:,.0f} changes/s)"
    )
    print(
        f"the same {CHANGES:,} writes: {plain:.2f} s without the task, {captured:.2f} s with its "
        f"triggers ({captured / plain:.2f}x)"
    )
    dms.stop_replication_task(ReplicationTaskArn=arn)
    lab.stop()


if __name__ == "__main__":
    main()
