"""DynamoDB recovery in the sandbox: PITR to a lab second, backups, export to and import from S3."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from labkit import facts
from labkit.services.dynamodb.patch_recovery import EXPORT_SECONDS, IMPORT_SECONDS
from labkit.services.dynamodb.sim_history import ItemHistory

if TYPE_CHECKING:
    from labkit.lab import Lab

LAG = float(facts.value("dynamodb.pitr_latest_restorable_lag"))
WINDOW = float(facts.value("dynamodb.pitr_window"))
KEY = [{"AttributeName": "id", "KeyType": "HASH"}]
ATTRS = [{"AttributeName": "id", "AttributeType": "S"}]


def _orders(lab: Lab, *, pitr: bool = True) -> tuple[Any, str]:
    ddb = lab.client("dynamodb")
    arn = ddb.create_table(
        TableName="orders", KeySchema=KEY, AttributeDefinitions=ATTRS, BillingMode="PAY_PER_REQUEST"
    )["TableDescription"]["TableArn"]
    if pitr:
        ddb.update_continuous_backups(
            TableName="orders",
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    return ddb, arn


def _items(ddb: Any, table: str) -> dict[str, str]:
    return {i["id"]["S"]: i.get("v", {}).get("N", "") for i in ddb.scan(TableName=table)["Items"]}


def _bad_batch(ddb: Any) -> None:
    ddb.batch_write_item(
        RequestItems={
            "orders": [
                {"PutRequest": {"Item": {"id": {"S": "o1"}, "v": {"N": "999"}}}},
                {"PutRequest": {"Item": {"id": {"S": "junk"}, "v": {"N": "0"}}}},
                {"DeleteRequest": {"Key": {"id": {"S": "o2"}}}},
            ]
        }
    )


def test_the_window_runs_from_enabling_to_five_minutes_ago(lab: Lab) -> None:
    ddb, _arn = _orders(lab)
    enabled = lab.clock.now
    lab.clock.advance(3600)
    pitr = ddb.describe_continuous_backups(TableName="orders")["ContinuousBackupsDescription"][
        "PointInTimeRecoveryDescription"
    ]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
    assert pitr["EarliestRestorableDateTime"] == enabled
    assert pitr["LatestRestorableDateTime"] == lab.clock.now - timedelta(seconds=LAG)
    lab.clock.advance(WINDOW)
    pitr = ddb.describe_continuous_backups(TableName="orders")["ContinuousBackupsDescription"][
        "PointInTimeRecoveryDescription"
    ]
    assert pitr["EarliestRestorableDateTime"] == lab.clock.now - timedelta(seconds=WINDOW)


def test_restore_to_the_second_before_a_bad_batch_write(lab: Lab) -> None:
    ddb, arn = _orders(lab)
    for key in ("o1", "o2", "o3"):
        ddb.put_item(TableName="orders", Item={"id": {"S": key}, "v": {"N": "1"}})
    lab.clock.advance(30)
    good = lab.clock.now
    lab.clock.advance(1)
    _bad_batch(ddb)
    lab.clock.advance(LAG)
    restored = ddb.restore_table_to_point_in_time(
        SourceTableArn=arn, TargetTableName="orders-restored", RestoreDateTime=good
    )["TableDescription"]
    assert restored["RestoreSummary"]["RestoreDateTime"] == good
    assert _items(ddb, "orders-restored") == {"o1": "1", "o2": "1", "o3": "1"}
    # The source keeps its damage; restoring never touches it.
    assert _items(ddb, "orders") == {"o1": "999", "o3": "1", "junk": "0"}
    # The latest restorable time includes the bad batch.
    ddb.restore_table_to_point_in_time(
        SourceTableName="orders", TargetTableName="orders-latest", UseLatestRestorableTime=True
    )
    assert _items(ddb, "orders-latest") == {"o1": "999", "o3": "1", "junk": "0"}


def test_a_restore_outside_the_window_or_without_pitr_is_refused(lab: Lab) -> None:
    ddb, _arn = _orders(lab)
    before = lab.clock.now - timedelta(seconds=1)
    lab.clock.advance(LAG + 60)
    with pytest.raises(ClientError) as caught:
        ddb.restore_table_to_point_in_time(
            SourceTableName="orders", TargetTableName="too-early", RestoreDateTime=before
        )
    assert caught.value.response["Error"]["Code"] == "InvalidRestoreTimeException"
    with pytest.raises(ClientError) as caught:
        ddb.restore_table_to_point_in_time(
            SourceTableName="orders", TargetTableName="too-late", RestoreDateTime=lab.clock.now
        )
    assert caught.value.response["Error"]["Code"] == "InvalidRestoreTimeException"
    ddb.create_table(
        TableName="plain", KeySchema=KEY, AttributeDefinitions=ATTRS, BillingMode="PAY_PER_REQUEST"
    )
    with pytest.raises(ClientError) as caught:
        ddb.restore_table_to_point_in_time(
            SourceTableName="plain", TargetTableName="plain-2", UseLatestRestorableTime=True
        )
    assert caught.value.response["Error"]["Code"] == "PointInTimeRecoveryUnavailableException"


def test_on_demand_backups_keep_the_table_as_it_was(lab: Lab) -> None:
    ddb, _arn = _orders(lab, pitr=False)
    ddb.put_item(TableName="orders", Item={"id": {"S": "o1"}, "v": {"N": "1"}})
    lab.clock.advance(60)
    backup = ddb.create_backup(TableName="orders", BackupName="nightly")["BackupDetails"]
    assert backup["BackupCreationDateTime"] == lab.clock.now
    ddb.put_item(TableName="orders", Item={"id": {"S": "o2"}, "v": {"N": "1"}})
    ddb.restore_table_from_backup(TargetTableName="orders-bk", BackupArn=backup["BackupArn"])
    assert _items(ddb, "orders-bk") == {"o1": "1"}
    # Restored in the source's capacity mode (moto brought it back provisioned at 0 units).
    restored = ddb.describe_table(TableName="orders-bk")["Table"]
    assert restored["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_export_writes_dynamodb_json_as_aws_lays_it_out(lab: Lab) -> None:
    ddb, arn = _orders(lab)
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="lake")
    ddb.put_item(TableName="orders", Item={"id": {"S": "o1"}, "v": {"N": "1"}})
    lab.clock.advance(10)
    snapshot = lab.clock.now
    lab.clock.advance(1)
    ddb.put_item(TableName="orders", Item={"id": {"S": "o2"}, "v": {"N": "2"}})
    # No S3Prefix: moto raised KeyError here.
    started = ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="lake", ExportTime=snapshot)
    export = started["ExportDescription"]
    assert export["ExportStatus"] == "IN_PROGRESS"
    export_id = export["ExportArn"].rsplit("/", 1)[1]
    assert export["ExportArn"] == f"{arn}/export/{export_id}"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="lake")["Contents"]}
    assert keys == {f"AWSDynamoDB/{export_id}/_started"}
    lab.clock.advance(EXPORT_SECONDS)
    done = ddb.describe_export(ExportArn=export["ExportArn"])["ExportDescription"]
    assert done["ExportStatus"] == "COMPLETED" and done["ItemCount"] == 1
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="lake")["Contents"]}
    base = f"AWSDynamoDB/{export_id}/"
    names = {k[len(base) :] for k in keys}
    assert {
        "_started",
        "manifest-summary.json",
        "manifest-summary.checksum",
        "manifest-files.json",
        "manifest-files.checksum",
    } <= names
    (data_key,) = [k for k in keys if k.startswith(base + "data/") and k.endswith(".json.gz")]
    body = s3.get_object(Bucket="lake", Key=data_key)["Body"].read()
    lines = gzip.decompress(body).decode().splitlines()
    assert [json.loads(line) for line in lines] == [{"Item": {"id": {"S": "o1"}, "v": {"N": "1"}}}]
    files = json.loads(
        s3.get_object(Bucket="lake", Key=base + "manifest-files.json")["Body"].read()
    )
    assert files["dataFileS3Key"] == data_key and files["itemCount"] == 1
    summary = json.loads(s3.get_object(Bucket="lake", Key=done["ExportManifest"])["Body"].read())
    assert (
        summary["exportArn"] == export["ExportArn"] and summary["outputFormat"] == "DYNAMODB_JSON"
    )
    listed = ddb.list_exports(TableArn=arn)["ExportSummaries"]
    assert [e["ExportStatus"] for e in listed] == ["COMPLETED"]


def test_export_with_a_prefix_and_export_failures(lab: Lab) -> None:
    ddb, arn = _orders(lab)
    lab.client("s3").create_bucket(Bucket="lake")
    export = ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="lake", S3Prefix="ddb/")
    export_id = export["ExportDescription"]["ExportArn"].rsplit("/", 1)[1]
    listed = lab.client("s3").list_objects_v2(Bucket="lake")["Contents"]
    assert [o["Key"] for o in listed] == [f"ddb/AWSDynamoDB/{export_id}/_started"]
    missing = ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="no-such-bucket")
    lab.clock.advance(EXPORT_SECONDS)
    failed = ddb.describe_export(ExportArn=missing["ExportDescription"]["ExportArn"])
    assert failed["ExportDescription"]["ExportStatus"] == "FAILED"
    assert failed["ExportDescription"]["FailureCode"] == "S3NoSuchBucket"
    ddb.create_table(
        TableName="plain", KeySchema=KEY, AttributeDefinitions=ATTRS, BillingMode="PAY_PER_REQUEST"
    )
    plain_arn = ddb.describe_table(TableName="plain")["Table"]["TableArn"]
    with pytest.raises(ClientError) as caught:
        ddb.export_table_to_point_in_time(TableArn=plain_arn, S3Bucket="lake")
    assert caught.value.response["Error"]["Code"] == "PointInTimeRecoveryUnavailableException"


def _import(ddb: Any, table: str, prefix: str, fmt: str, **extra: Any) -> str:
    return str(
        ddb.import_table(
            S3BucketSource={"S3Bucket": "lake", "S3KeyPrefix": prefix},
            InputFormat=fmt,
            TableCreationParameters={
                "TableName": table,
                "KeySchema": KEY,
                "AttributeDefinitions": ATTRS,
                "BillingMode": "PAY_PER_REQUEST",
            },
            **extra,
        )["ImportTableDescription"]["ImportArn"]
    )


def test_import_reads_dynamodb_json_and_csv_from_s3(lab: Lab) -> None:
    ddb = lab.client("dynamodb")
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="lake")
    lines = "\n".join(
        json.dumps({"Item": {"id": {"S": f"u{i}"}, "v": {"N": str(i)}}}) for i in range(3)
    )
    s3.put_object(Bucket="lake", Key="json/part-1.json.gz", Body=gzip.compress(lines.encode()))
    s3.put_object(Bucket="lake", Key="csv/users.csv", Body=b"id,name,age\nana,Ana,31\nbo,Bo,\n")
    s3.put_object(Bucket="lake", Key="csv/more.csv", Body=b"cy,Cy,22\nbroken\n")
    json_arn = _import(ddb, "from-json", "json/", "DYNAMODB_JSON", InputCompressionType="GZIP")
    csv_arn = _import(
        ddb,
        "from-csv",
        "csv/more",
        "CSV",
        InputFormatOptions={"Csv": {"HeaderList": ["id", "name", "age"]}},
    )
    header_arn = _import(ddb, "from-header", "csv/users", "CSV")
    assert ddb.describe_import(ImportArn=json_arn)["ImportTableDescription"]["ImportStatus"] == (
        "IN_PROGRESS"
    )
    lab.clock.advance(IMPORT_SECONDS)
    assert _items(ddb, "from-json") == {"u0": "0", "u1": "1", "u2": "2"}
    users = {i["id"]["S"]: i for i in ddb.scan(TableName="from-header")["Items"]}
    # CSV values are Strings; an empty field is left out.
    assert users == {
        "ana": {"id": {"S": "ana"}, "name": {"S": "Ana"}, "age": {"S": "31"}},
        "bo": {"id": {"S": "bo"}, "name": {"S": "Bo"}},
    }
    described = ddb.describe_import(ImportArn=csv_arn)["ImportTableDescription"]
    assert described["ImportStatus"] == "COMPLETED"
    assert (described["ImportedItemCount"], described["ErrorCount"]) == (1, 1)
    assert ddb.describe_import(ImportArn=header_arn)["ImportTableDescription"]["ErrorCount"] == 0


def test_history_replays_and_compacts() -> None:
    history = ItemHistory.start(0.0, [("S:a", {"id": {"S": "a"}})])
    history.record(10.0, "S:b", {"id": {"S": "b"}})
    history.record(20.0, "S:a", None)
    assert set(history.at(15.0)) == {"S:a", "S:b"}
    assert set(history.at(20.0)) == {"S:b"}
    history.compact(now=40.0, window=25.0)
    assert history.base_at == 15.0 and len(history.changes) == 1
    assert set(history.at(15.0)) == {"S:a", "S:b"}


def test_an_export_imports_back_into_a_new_table(lab: Lab) -> None:
    ddb, arn = _orders(lab)
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="lake")
    for key in ("o1", "o2", "o3"):
        ddb.put_item(TableName="orders", Item={"id": {"S": key}, "v": {"N": "7"}})
    export = ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="lake", S3Prefix="exports")
    export_id = export["ExportDescription"]["ExportArn"].rsplit("/", 1)[1]
    lab.clock.advance(EXPORT_SECONDS)
    _import(
        ddb,
        "orders-copy",
        f"exports/AWSDynamoDB/{export_id}/data/",
        "DYNAMODB_JSON",
        InputCompressionType="GZIP",
    )
    lab.clock.advance(IMPORT_SECONDS)
    assert _items(ddb, "orders-copy") == _items(ddb, "orders") == {"o1": "7", "o2": "7", "o3": "7"}
