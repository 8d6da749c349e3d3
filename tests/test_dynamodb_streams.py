"""DynamoDB Streams in the sandbox: every view type, no record for a no-op, 24 h of retention."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError
from lambda_support import create, events_of

from labkit import facts
from labkit.services.dynamodb.patch_ttl import pending_deletions

if TYPE_CHECKING:
    from labkit.lab import Lab

RETENTION = float(facts.value("dynamodb.stream_retention"))
ITERATOR_LIFE = float(facts.value("dynamodb.stream_iterator_expiry"))

RECORDER = """
import json
def lambda_handler(event, context):
    print(json.dumps(event))
"""


def _table(lab: Lab, view: str, *, name: str = "orders", region: str | None = None) -> Any:
    ddb = lab.client("dynamodb", region_name=region) if region else lab.client("dynamodb")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view},
    )
    return ddb


def _iterator(lab: Lab, ddb: Any, kind: str = "TRIM_HORIZON", **extra: Any) -> tuple[Any, str]:
    region = ddb.meta.region_name
    streams = lab.client("dynamodbstreams", region_name=region)
    arn = ddb.describe_table(TableName="orders")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType=kind, **extra
    )["ShardIterator"]
    return streams, iterator


def _records(lab: Lab, ddb: Any) -> list[dict[str, Any]]:
    streams, iterator = _iterator(lab, ddb)
    records: list[dict[str, Any]] = streams.get_records(ShardIterator=iterator)["Records"]
    return records


def _write_cycle(ddb: Any) -> None:
    ddb.put_item(TableName="orders", Item={"id": {"S": "o1"}, "qty": {"N": "1"}})
    ddb.update_item(
        TableName="orders",
        Key={"id": {"S": "o1"}},
        UpdateExpression="SET qty = :q",
        ExpressionAttributeValues={":q": {"N": "2"}},
    )
    ddb.delete_item(TableName="orders", Key={"id": {"S": "o1"}})


@pytest.mark.parametrize(
    ("view", "images"),
    [
        ("KEYS_ONLY", [set(), set(), set()]),
        ("NEW_IMAGE", [{"NewImage"}, {"NewImage"}, set()]),
        ("OLD_IMAGE", [set(), {"OldImage"}, {"OldImage"}]),
        ("NEW_AND_OLD_IMAGES", [{"NewImage"}, {"NewImage", "OldImage"}, {"OldImage"}]),
    ],
)
def test_each_view_type_carries_its_images(lab: Lab, view: str, images: list[set[str]]) -> None:
    ddb = _table(lab, view)
    _write_cycle(ddb)
    records = _records(lab, ddb)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    for record, expected in zip(records, images, strict=True):
        present = set(record["dynamodb"]) & {"NewImage", "OldImage"}
        assert present == expected, (view, record["eventName"])
        assert record["dynamodb"]["Keys"] == {"id": {"S": "o1"}}
        assert record["dynamodb"]["StreamViewType"] == view
    if "NewImage" in images[1]:
        assert records[1]["dynamodb"]["NewImage"]["qty"] == {"N": "2"}
    if "OldImage" in images[1]:
        assert records[1]["dynamodb"]["OldImage"]["qty"] == {"N": "1"}


def test_a_write_that_changes_nothing_writes_no_record(lab: Lab) -> None:
    ddb = _table(lab, "NEW_AND_OLD_IMAGES")
    item = {"id": {"S": "o1"}, "qty": {"N": "1"}}
    ddb.put_item(TableName="orders", Item=item)
    ddb.put_item(TableName="orders", Item=item)
    ddb.update_item(
        TableName="orders",
        Key={"id": {"S": "o1"}},
        UpdateExpression="SET qty = :q",
        ExpressionAttributeValues={":q": {"N": "1"}},
    )
    ddb.delete_item(TableName="orders", Key={"id": {"S": "missing"}})
    assert [r["eventName"] for r in _records(lab, ddb)] == ["INSERT"]


def test_records_name_the_tables_region_and_the_current_event_version(lab: Lab) -> None:
    ddb = _table(lab, "KEYS_ONLY", region="eu-west-1")
    ddb.put_item(TableName="orders", Item={"id": {"S": "o1"}})
    (record,) = _records(lab, ddb)
    assert record["awsRegion"] == "eu-west-1"
    assert record["eventVersion"] == "1.1"


def test_records_older_than_24_hours_are_trimmed(lab: Lab) -> None:
    ddb = _table(lab, "KEYS_ONLY")
    ddb.put_item(TableName="orders", Item={"id": {"S": "old"}})
    (old,) = _records(lab, ddb)
    lab.clock.advance(RETENTION - 60)
    ddb.put_item(TableName="orders", Item={"id": {"S": "new"}})
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in _records(lab, ddb)] == ["old", "new"]
    lab.clock.advance(61)
    # TRIM_HORIZON now starts after the trimmed record.
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in _records(lab, ddb)] == ["new"]
    streams = lab.client("dynamodbstreams")
    arn = ddb.describe_table(TableName="orders")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    with pytest.raises(ClientError) as caught:
        streams.get_shard_iterator(
            StreamArn=arn,
            ShardId=shard,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=old["dynamodb"]["SequenceNumber"],
        )
    assert caught.value.response["Error"]["Code"] == "TrimmedDataAccessException"


def test_an_iterator_expires_after_15_minutes(lab: Lab) -> None:
    ddb = _table(lab, "KEYS_ONLY")
    ddb.put_item(TableName="orders", Item={"id": {"S": "o1"}})
    streams, iterator = _iterator(lab, ddb)
    lab.clock.advance(ITERATOR_LIFE - 1)
    page = streams.get_records(ShardIterator=iterator)
    assert len(page["Records"]) == 1
    # The iterator GetRecords handed back is fresh; the first one is now too old.
    lab.clock.advance(2)
    with pytest.raises(ClientError) as caught:
        streams.get_records(ShardIterator=iterator)
    assert caught.value.response["Error"]["Code"] == "ExpiredIteratorException"
    assert streams.get_records(ShardIterator=page["NextShardIterator"])["Records"] == []


def test_get_records_takes_at_most_1000_records(lab: Lab) -> None:
    ddb = _table(lab, "KEYS_ONLY")
    streams, iterator = _iterator(lab, ddb)
    with pytest.raises(ClientError) as caught:
        streams.get_records(ShardIterator=iterator, Limit=1001)
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_the_lambda_trigger_still_reads_the_stream_and_sees_ttl_deletions(lab: Lab) -> None:
    create(lab, "rec", RECORDER)
    ddb = _table(lab, "NEW_AND_OLD_IMAGES")
    ddb.update_time_to_live(
        TableName="orders", TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
    )
    arn = ddb.describe_table(TableName="orders")["Table"]["LatestStreamArn"]
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="rec", StartingPosition="TRIM_HORIZON"
    )
    now = int(lab.clock.timestamp)
    ddb.put_item(TableName="orders", Item={"id": {"S": "o1"}, "ttl": {"N": str(now)}})
    lab.clock.advance(1)
    table = lab.sandbox.backend("dynamodb").tables["orders"]
    (pending,) = pending_deletions(table)
    lab.clock.advance_to(pending.due + 1)
    records = [r for event in events_of(lab) for r in event["Records"]]
    assert [r["eventName"] for r in records] == ["INSERT", "REMOVE"]
    assert "userIdentity" not in records[0]
    assert records[1]["userIdentity"] == {
        "type": "Service",
        "principalId": "dynamodb.amazonaws.com",
    }
