"""DMS in the sandbox: a task that moves rows from an RDS PostgreSQL, full load then CDC."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import duckdb
import pg8000
import pytest
from botocore.exceptions import ClientError

from labkit.lab import Lab

USER, PASSWORD = "shopadmin", "correct-horse-1"
ALL_PUBLIC = {
    "rules": [
        {
            "rule-type": "selection",
            "rule-id": "1",
            "rule-name": "all",
            "object-locator": {"schema-name": "public", "table-name": "%"},
            "rule-action": "include",
        }
    ]
}


def database(lab: Lab, rows: int = 3) -> tuple[dict[str, Any], Any]:
    """An RDS PostgreSQL instance with an ``orders`` table of ``rows`` rows, and a connection."""
    instance = lab.client("rds").create_db_instance(
        DBInstanceIdentifier="shop",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername=USER,
        MasterUserPassword=PASSWORD,
        DBName="shop",
    )["DBInstance"]
    conn = pg8000.connect(
        host=instance["Endpoint"]["Address"],
        port=instance["Endpoint"]["Port"],
        user=USER,
        password=PASSWORD,
        database="shop",
    )
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("CREATE TABLE orders (id int PRIMARY KEY, item text NOT NULL, qty int)")
    cur.execute("CREATE TABLE audit_log (id int PRIMARY KEY, note text)")
    cur.execute(
        "INSERT INTO orders SELECT g, 'item-' || g, g FROM generate_series(1, %s) g", (rows,)
    )
    cur.execute("INSERT INTO audit_log VALUES (1, 'created')")
    return instance, conn


def source_endpoint(
    lab: Lab, instance: dict[str, Any], name: str = "shop-source", password: str = PASSWORD
) -> str:
    arn: str = lab.client("dms").create_endpoint(
        EndpointIdentifier=name,
        EndpointType="source",
        EngineName="postgres",
        ServerName=instance["Endpoint"]["Address"],
        Port=instance["Endpoint"]["Port"],
        Username=USER,
        Password=password,
        DatabaseName="shop",
    )["Endpoint"]["EndpointArn"]
    return arn


def s3_endpoint(lab: Lab, name: str = "lake-target", **settings: Any) -> str:
    s3 = lab.client("s3")
    if not s3.list_buckets()["Buckets"]:
        s3.create_bucket(Bucket="lake")
    arn: str = lab.client("dms").create_endpoint(
        EndpointIdentifier=name,
        EndpointType="target",
        EngineName="s3",
        S3Settings={"BucketName": "lake", "BucketFolder": "raw", **settings},
    )["Endpoint"]["EndpointArn"]
    return arn


def task(
    lab: Lab,
    source: str,
    target: str,
    kind: str = "full-load-and-cdc",
    mappings: Any = None,
    name: str = "move-orders",
) -> str:
    dms = lab.client("dms")
    existing = dms.describe_replication_instances()["ReplicationInstances"]
    instance = (
        existing[0]
        if existing
        else dms.create_replication_instance(
            ReplicationInstanceIdentifier="ri", ReplicationInstanceClass="dms.t3.micro"
        )["ReplicationInstance"]
    )["ReplicationInstanceArn"]
    arn: str = dms.create_replication_task(
        ReplicationTaskIdentifier=name,
        SourceEndpointArn=source,
        TargetEndpointArn=target,
        ReplicationInstanceArn=instance,
        MigrationType=kind,
        TableMappings=json.dumps(mappings or ALL_PUBLIC),
    )["ReplicationTask"]["ReplicationTaskArn"]
    return arn


def describe(lab: Lab, arn: str) -> dict[str, Any]:
    found = lab.client("dms").describe_replication_tasks(
        Filters=[{"Name": "replication-task-arn", "Values": [arn]}]
    )["ReplicationTasks"]
    return dict(found[0])


def objects(lab: Lab, prefix: str) -> dict[str, str]:
    s3 = lab.client("s3")
    listing = s3.list_objects_v2(Bucket="lake", Prefix=prefix).get("Contents", [])
    return {
        o["Key"]: s3.get_object(Bucket="lake", Key=o["Key"])["Body"].read().decode()
        for o in listing
    }


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def stats(lab: Lab, arn: str) -> dict[str, dict[str, Any]]:
    answer = lab.client("dms").describe_table_statistics(ReplicationTaskArn=arn)
    return {t["TableName"]: t for t in answer["TableStatistics"]}


def test_full_load_writes_dms_s3_layout_and_stops(lab: Lab, tmp_path: Path) -> None:
    instance, _conn = database(lab)
    arn = task(lab, source_endpoint(lab, instance), s3_endpoint(lab), kind="full-load")
    assert describe(lab, arn)["Status"] == "ready"
    lab.client("dms").start_replication_task(
        ReplicationTaskArn=arn, StartReplicationTaskType="start-replication"
    )
    found = objects(lab, "raw/")
    assert sorted(found) == [
        "raw/public/audit_log/LOAD00000001.csv",
        "raw/public/orders/LOAD00000001.csv",
    ]
    assert rows_of(found["raw/public/orders/LOAD00000001.csv"]) == [
        ["1", "item-1", "1"],
        ["2", "item-2", "2"],
        ["3", "item-3", "3"],
    ]
    answer = describe(lab, arn)
    assert answer["Status"] == "stopped"
    assert answer["StopReason"] == "Stop Reason FULL_LOAD_ONLY_FINISHED"
    assert answer["ReplicationTaskStats"]["FullLoadProgressPercent"] == 100
    assert stats(lab, arn)["orders"]["FullLoadRows"] == 3
    # DataFormat=parquet: the same layout, Parquet files.
    parquet = s3_endpoint(lab, "as-parquet", DataFormat="parquet", BucketFolder="pq")
    arn = task(lab, source_endpoint(lab, instance, "pq-source"), parquet, "full-load", name="pq")
    lab.client("dms").start_replication_task(
        ReplicationTaskArn=arn, StartReplicationTaskType="start-replication"
    )
    body = lab.client("s3").get_object(Bucket="lake", Key="pq/public/orders/LOAD00000001.parquet")
    (tmp_path / "load.parquet").write_bytes(body["Body"].read())
    con = duckdb.connect()
    con.execute("CREATE TABLE f AS SELECT * FROM read_parquet(?)", [str(tmp_path / "load.parquet")])
    assert con.execute("SELECT id, item, qty FROM f ORDER BY id").fetchall() == [
        (1, "item-1", 1),
        (2, "item-2", 2),
        (3, "item-3", 3),
    ]


def test_changes_after_the_load_arrive_in_order_after_the_batch_interval(lab: Lab) -> None:
    instance, conn = database(lab)
    arn = task(lab, source_endpoint(lab, instance), s3_endpoint(lab, AddColumnName=True))
    dms = lab.client("dms")
    dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="start-replication")
    cur = conn.cursor()
    cur.execute("INSERT INTO orders VALUES (4, 'item-4', 4)")
    cur.execute("UPDATE orders SET qty = 40 WHERE id = 4")
    cur.execute("DELETE FROM orders WHERE id = 1")
    assert "Replication lag: 0 s (3 changes waiting" in str(lab.dms_view())
    lab.clock.advance(30)
    # S3 writes a CDC file every CdcMaxBatchInterval (60 s): half-way, the changes still wait.
    assert [k for k in objects(lab, "raw/public/orders/") if "LOAD" not in k] == []
    assert describe(lab, arn)["Status"] == "running"
    text = str(lab.dms_view("move-orders"))
    assert "▶ running (full-load-and-cdc)" in text
    assert "Replication lag: 30 s (3 changes waiting" in text
    assert "labkit-dms" in lab.dms_view()._repr_html_()
    lab.clock.advance(30)
    text = str(lab.dms_view(arn))
    assert "Replication lag: 0 s" in text
    assert "4 rows in the full load, 3 changes since, over 2 tables" in text
    changes = [v for k, v in objects(lab, "raw/public/orders/").items() if "LOAD" not in k]
    assert len(changes) == 1
    assert rows_of(changes[0]) == [
        ["Op", "id", "item", "qty"],
        ["I", "4", "item-4", "4"],
        ["U", "4", "item-4", "40"],
        ["D", "1", "item-1", "1"],
    ]
    table = stats(lab, arn)["orders"]
    assert (table["FullLoadRows"], table["Inserts"], table["Updates"], table["Deletes"]) == (
        3,
        1,
        1,
        1,
    )


def test_a_wrong_password_fails_the_task_with_postgresqls_reason(lab: Lab) -> None:
    instance, _conn = database(lab)
    arn = task(lab, source_endpoint(lab, instance, password="guess"), s3_endpoint(lab))
    lab.client("dms").start_replication_task(
        ReplicationTaskArn=arn, StartReplicationTaskType="start-replication"
    )
    answer = describe(lab, arn)
    assert answer["Status"] == "failed"
    assert "password authentication failed" in answer["LastFailureMessage"]
    assert objects(lab, "raw/") == {}
    # A target bucket that is not there fails the task too, with the reason.
    no_bucket = s3_endpoint(lab, "no-bucket", BucketName="gone")
    arn = task(lab, source_endpoint(lab, instance, "right"), no_bucket, "full-load", name="t2")
    lab.client("dms").start_replication_task(
        ReplicationTaskArn=arn, StartReplicationTaskType="start-replication"
    )
    answer = describe(lab, arn)
    assert (answer["Status"], answer["LastFailureMessage"]) == (
        "failed",
        "The target bucket gone does not exist",
    )


def test_mapping_rules_select_rename_prefix_and_remove_columns(lab: Lab) -> None:
    instance, _conn = database(lab, rows=2)
    mappings = {
        "rules": [
            {
                "rule-type": "selection",
                "rule-id": "1",
                "rule-name": "all",
                "object-locator": {"schema-name": "public", "table-name": "%"},
                "rule-action": "include",
            },
            {
                "rule-type": "selection",
                "rule-id": "2",
                "rule-name": "no-audit",
                "object-locator": {"schema-name": "public", "table-name": "audit%"},
                "rule-action": "exclude",
            },
            {
                "rule-type": "transformation",
                "rule-id": "3",
                "rule-name": "schema",
                "rule-target": "schema",
                "object-locator": {"schema-name": "public"},
                "rule-action": "rename",
                "value": "shop",
            },
            {
                "rule-type": "transformation",
                "rule-id": "4",
                "rule-name": "prefix",
                "rule-target": "table",
                "object-locator": {"schema-name": "public", "table-name": "orders"},
                "rule-action": "add-prefix",
                "value": "legacy_",
            },
            {
                "rule-type": "transformation",
                "rule-id": "5",
                "rule-name": "drop-qty",
                "rule-target": "column",
                "object-locator": {
                    "schema-name": "public",
                    "table-name": "orders",
                    "column-name": "qty",
                },
                "rule-action": "remove-column",
            },
            {
                "rule-type": "transformation",
                "rule-id": "6",
                "rule-name": "rename-item",
                "rule-target": "column",
                "object-locator": {
                    "schema-name": "public",
                    "table-name": "orders",
                    "column-name": "item",
                },
                "rule-action": "rename",
                "value": "product",
            },
        ]
    }
    arn = task(
        lab,
        source_endpoint(lab, instance),
        s3_endpoint(lab, AddColumnName=True),
        kind="full-load",
        mappings=mappings,
    )
    lab.client("dms").start_replication_task(
        ReplicationTaskArn=arn, StartReplicationTaskType="start-replication"
    )
    found = objects(lab, "raw/")
    assert list(found) == ["raw/shop/legacy_orders/LOAD00000001.csv"]
    assert rows_of(found["raw/shop/legacy_orders/LOAD00000001.csv"]) == [
        ["id", "product"],
        ["1", "item-1"],
        ["2", "item-2"],
    ]


def test_mappings_aws_refuses_are_refused_at_creation(lab: Lab) -> None:
    # Nothing connects at creation: an endpoint naming no server will do.
    instance = {
        "Endpoint": {"Address": "old-db.aaaaaaaaaa.us-east-1.rds.amazonaws.com", "Port": 5432}
    }
    source, target = source_endpoint(lab, instance), s3_endpoint(lab)
    no_selection = {
        "rules": [
            {
                "rule-type": "transformation",
                "rule-id": "1",
                "rule-name": "x",
                "rule-target": "schema",
                "object-locator": {"schema-name": "public"},
                "rule-action": "rename",
                "value": "shop",
            }
        ]
    }
    with pytest.raises(ClientError, match="at least one selection rule"):
        task(lab, source, target, mappings=no_selection)
    with pytest.raises(ClientError, match="MigrationType"):
        task(lab, source, target, kind="full-load-then-cdc")


def test_stop_at_cut_over_loses_nothing_and_resume_applies_what_waited(lab: Lab) -> None:
    instance, conn = database(lab)
    arn = task(lab, source_endpoint(lab, instance), s3_endpoint(lab))
    dms = lab.client("dms")
    dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="start-replication")
    cur = conn.cursor()
    cur.execute("INSERT INTO orders VALUES (10, 'late', 1)")
    lab.clock.advance(5)
    # Stopped too early: the change waits at the source, not at the target.
    dms.stop_replication_task(ReplicationTaskArn=arn)
    answer = describe(lab, arn)
    assert (answer["Status"], answer["StopReason"]) == ("stopped", "Stop Reason STOPPED_BY_USER")
    cur.execute("INSERT INTO orders VALUES (11, 'while-stopped', 1)")
    with pytest.raises(ClientError, match="resume-processing"):
        dms.start_replication_task(
            ReplicationTaskArn=arn, StartReplicationTaskType="start-replication"
        )
    dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="resume-processing")
    lab.clock.advance(60)
    changes = [v for k, v in objects(lab, "raw/public/orders/").items() if "LOAD" not in k]
    applied = [row for text in changes for row in rows_of(text)]
    assert applied == [["I", "10", "late", "1"], ["I", "11", "while-stopped", "1"]]
    dms.stop_replication_task(ReplicationTaskArn=arn)
    assert stats(lab, arn)["orders"]["Inserts"] == 2
    # reload-target: a fresh full load of the table as it is now.
    dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="reload-target")
    load = rows_of(objects(lab, "raw/public/orders/LOAD")["raw/public/orders/LOAD00000001.csv"])
    assert [row[0] for row in load] == ["1", "2", "3", "10", "11"]
    assert (stats(lab, arn)["orders"]["FullLoadRows"], stats(lab, arn)["orders"]["Inserts"]) == (
        5,
        0,
    )


def test_cdc_only_moves_only_changes(lab: Lab) -> None:
    instance, conn = database(lab)
    arn = task(lab, source_endpoint(lab, instance), s3_endpoint(lab), kind="cdc")
    lab.client("dms").start_replication_task(
        ReplicationTaskArn=arn, StartReplicationTaskType="start-replication"
    )
    conn.cursor().execute("UPDATE orders SET qty = 0 WHERE id = 2")
    lab.clock.advance(60)
    found = objects(lab, "raw/public/orders/")
    assert not any("LOAD" in k for k in found)
    assert [row for text in found.values() for row in rows_of(text)] == [["U", "2", "item-2", "0"]]


def test_kinesis_target_gets_one_json_record_per_row(lab: Lab) -> None:
    instance, conn = database(lab, rows=2)
    kinesis = lab.client("kinesis")
    kinesis.create_stream(StreamName="changes", ShardCount=1)
    stream = kinesis.describe_stream(StreamName="changes")["StreamDescription"]
    dms = lab.client("dms")
    target = dms.create_endpoint(
        EndpointIdentifier="stream",
        EndpointType="target",
        EngineName="kinesis",
        KinesisSettings={"StreamArn": stream["StreamARN"], "MessageFormat": "json"},
    )["Endpoint"]["EndpointArn"]
    one_table = json.loads(json.dumps(ALL_PUBLIC))
    one_table["rules"][0]["object-locator"]["table-name"] = "orders"
    arn = task(lab, source_endpoint(lab, instance), target, mappings=one_table)
    dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="start-replication")
    conn.cursor().execute("DELETE FROM orders WHERE id = 2")
    lab.clock.advance(1)
    shard = stream["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName="changes", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator)["Records"]
    messages = [json.loads(r["Data"]) for r in records]
    assert [(m["metadata"]["operation"], m["data"]["id"]) for m in messages] == [
        ("load", 1),
        ("load", 2),
        ("delete", 2),
    ]
    assert messages[0]["data"] == {"id": 1, "item": "item-1", "qty": 1}
    assert messages[0]["metadata"]["table-name"] == "orders"
    assert [r["PartitionKey"] for r in records] == ["1", "2", "2"]


def test_dynamodb_target_keeps_one_item_per_row(lab: Lab) -> None:
    instance, conn = database(lab, rows=2)
    dms = lab.client("dms")
    target = dms.create_endpoint(
        EndpointIdentifier="items", EndpointType="target", EngineName="dynamodb"
    )["Endpoint"]["EndpointArn"]
    arn = task(lab, source_endpoint(lab, instance), target)
    dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="start-replication")
    cur = conn.cursor()
    cur.execute("UPDATE orders SET qty = 9 WHERE id = 1")
    cur.execute("DELETE FROM orders WHERE id = 2")
    lab.clock.advance(1)
    items = lab.client("dynamodb").scan(TableName="orders")["Items"]
    assert items == [{"id": {"N": "1"}, "item": {"S": "item-1"}, "qty": {"N": "9"}}]


def test_test_connection_really_connects(lab: Lab) -> None:
    instance, _conn = database(lab, rows=1)
    dms = lab.client("dms")
    good, bad = source_endpoint(lab, instance), source_endpoint(lab, instance, "bad", "guess")
    missing = s3_endpoint(lab, "missing", BucketName="no-such-bucket")
    ri = dms.create_replication_instance(
        ReplicationInstanceIdentifier="ri", ReplicationInstanceClass="dms.t3.micro"
    )["ReplicationInstance"]["ReplicationInstanceArn"]
    outcome = {}
    for arn in (good, bad, missing, good):  # a second test of the same endpoint works too
        dms.test_connection(ReplicationInstanceArn=ri, EndpointArn=arn)
        found = dms.describe_connections(Filters=[{"Name": "endpoint-arn", "Values": [arn]}])
        outcome[arn] = found["Connections"][0]
    assert outcome[good]["Status"] == "successful"
    assert outcome[bad]["Status"] == "failed"
    assert "password authentication failed" in outcome[bad]["LastFailureMessage"]
    assert "no-such-bucket does not exist" in outcome[missing]["LastFailureMessage"]
