"""DynamoDB TTL in the sandbox: expired items leave in the background, on the lab clock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from labkit import facts
from labkit.services.dynamodb.patch_ttl import pending_deletions
from labkit.services.dynamodb.sim_ttl import (
    TtlSweep,
    deletion_delay,
    deletion_time,
    expiry_of,
)

if TYPE_CHECKING:
    from labkit.lab import Lab

BOUND = float(facts.value("dynamodb.ttl_deletion_typical"))
CHANGE_INTERVAL = float(facts.value("dynamodb.ttl_change_interval"))


def _table(lab: Lab, name: str = "sessions", *, stream: bool = True) -> Any:
    ddb = lab.client("dynamodb")
    spec: dict[str, Any] = {}
    if stream:
        spec = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}}
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **spec,
    )
    return ddb


def _ids(ddb: Any, name: str = "sessions") -> set[str]:
    return {item["id"]["S"] for item in ddb.scan(TableName=name)["Items"]}


def _records(lab: Lab, ddb: Any, name: str = "sessions") -> list[dict[str, Any]]:
    streams = lab.client("dynamodbstreams")
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records: list[dict[str, Any]] = streams.get_records(ShardIterator=iterator)["Records"]
    return records


def _enable(ddb: Any, name: str = "sessions", attribute: str = "expires") -> None:
    ddb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
    )


def test_an_expired_item_stays_readable_until_the_background_delete(lab: Lab) -> None:
    ddb = _table(lab)
    _enable(ddb)
    now = int(lab.clock.timestamp)
    ddb.put_item(TableName="sessions", Item={"id": {"S": "a"}, "expires": {"N": str(now + 60)}})
    lab.clock.advance(61)
    # Expired, but not yet deleted: reads still return it (the lesson's reason to filter).
    got = ddb.get_item(TableName="sessions", Key={"id": {"S": "a"}})
    assert "Item" in got
    lab.clock.advance(BOUND)
    assert "Item" not in ddb.get_item(TableName="sessions", Key={"id": {"S": "a"}})


def test_deletions_spread_over_the_documented_window_and_repeat(lab: Lab) -> None:
    ddb = _table(lab)
    _enable(ddb)
    start = int(lab.clock.timestamp)
    for i in range(40):
        item = {"id": {"S": f"s{i}"}, "expires": {"N": str(start)}}
        ddb.put_item(TableName="sessions", Item=item)
    seen: list[int] = []
    for _hour in range(48):
        lab.clock.advance(3600)
        seen.append(40 - len(_ids(ddb)))
    # Not all at the second of expiry, not all at the end, all within two days.
    assert 0 < seen[0] < 40
    assert seen[23] < 40
    assert seen[-1] == 40
    # Deterministic: the same key, expiry and seed give the same delay.
    a = deletion_delay(42, "arn:t", "S:s1", float(start), BOUND)
    assert a == deletion_delay(42, "arn:t", "S:s1", float(start), BOUND)
    assert a != deletion_delay(43, "arn:t", "S:s1", float(start), BOUND)


def test_values_ttl_ignores_are_never_deleted(lab: Lab) -> None:
    ddb = _table(lab)
    _enable(ddb)
    now = int(lab.clock.timestamp)
    six_years_ago = now - 6 * 365 * 86400
    four_years_ago = now - 4 * 365 * 86400
    items = [
        {"id": {"S": "string"}, "expires": {"S": str(now - 10)}},
        {"id": {"S": "missing"}},
        {"id": {"S": "list"}, "expires": {"L": [{"N": str(now - 10)}]}},
        {"id": {"S": "six-years"}, "expires": {"N": str(six_years_ago)}},
        {"id": {"S": "four-years"}, "expires": {"N": str(four_years_ago)}},
        {"id": {"S": "future"}, "expires": {"N": str(now + 10 * 86400)}},
    ]
    for item in items:
        ddb.put_item(TableName="sessions", Item=item)
    lab.clock.advance(BOUND + 1)
    assert _ids(ddb) == {"string", "missing", "list", "six-years", "future"}


def test_a_rewritten_ttl_moves_the_deletion(lab: Lab) -> None:
    ddb = _table(lab)
    _enable(ddb)
    now = int(lab.clock.timestamp)
    ddb.put_item(TableName="sessions", Item={"id": {"S": "a"}, "expires": {"N": str(now)}})
    # The session is extended before the sweep reaches it: it must survive the old schedule.
    far = now + 30 * 86400
    ddb.update_item(
        TableName="sessions",
        Key={"id": {"S": "a"}},
        UpdateExpression="SET expires = :e",
        ExpressionAttributeValues={":e": {"N": str(far)}},
    )
    lab.clock.advance(BOUND + 1)
    assert _ids(ddb) == {"a"}
    # Removing the attribute takes the item out of TTL's hands entirely.
    ddb.update_item(TableName="sessions", Key={"id": {"S": "a"}}, UpdateExpression="REMOVE expires")
    lab.clock.advance(40 * 86400)
    assert _ids(ddb) == {"a"}


def test_items_already_there_when_ttl_is_enabled_are_swept(lab: Lab) -> None:
    ddb = _table(lab)
    now = int(lab.clock.timestamp)
    for key in ("x", "y"):
        item = {"id": {"S": key}, "ttl": {"N": str(now - 3600)}}
        ddb.put_item(TableName="sessions", Item=item)
    lab.clock.advance(BOUND + 10)
    assert _ids(ddb) == {"x", "y"}  # TTL is off: nothing happens
    _enable(ddb, attribute="ttl")
    lab.clock.advance(BOUND)
    assert _ids(ddb) == set()


def test_disabling_ttl_stops_pending_deletions(lab: Lab) -> None:
    ddb = _table(lab)
    _enable(ddb)
    now = int(lab.clock.timestamp)
    item = {"id": {"S": "a"}, "expires": {"N": str(now + 2 * 3600)}}
    ddb.put_item(TableName="sessions", Item=item)
    off = {"Enabled": False, "AttributeName": "expires"}
    # A second change within the hour is refused, as AWS documents.
    with pytest.raises(ClientError, match="multiple times within a fixed interval"):
        ddb.update_time_to_live(TableName="sessions", TimeToLiveSpecification=off)
    lab.clock.advance(CHANGE_INTERVAL)
    ddb.update_time_to_live(TableName="sessions", TimeToLiveSpecification=off)
    lab.clock.advance(BOUND + 2 * 3600)
    assert _ids(ddb) == {"a"}


@pytest.mark.parametrize(
    ("enabled", "attribute", "words"),
    [
        (True, "expires", "already enabled"),
        (True, "other", "different AttributeName: current AttributeName is expires"),
    ],
)
def test_update_time_to_live_refuses_what_aws_refuses(
    lab: Lab, enabled: bool, attribute: str, words: str
) -> None:
    ddb = _table(lab)
    with pytest.raises(ClientError, match="already disabled"):
        ddb.update_time_to_live(
            TableName="sessions",
            TimeToLiveSpecification={"Enabled": False, "AttributeName": "expires"},
        )
    _enable(ddb)
    lab.clock.advance(CHANGE_INTERVAL)
    with pytest.raises(ClientError, match=words) as caught:
        ddb.update_time_to_live(
            TableName="sessions",
            TimeToLiveSpecification={"Enabled": enabled, "AttributeName": attribute},
        )
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as missing:
        ddb.update_time_to_live(
            TableName="nope", TimeToLiveSpecification={"Enabled": True, "AttributeName": "x"}
        )
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_ttl_deletions_reach_the_stream_as_service_deletions(lab: Lab) -> None:
    ddb = _table(lab)
    _enable(ddb)
    now = int(lab.clock.timestamp)
    ddb.put_item(TableName="sessions", Item={"id": {"S": "a"}, "expires": {"N": str(now)}})
    table = lab.sandbox.backend("dynamodb").tables["sessions"]
    (pending,) = pending_deletions(table)
    assert now <= pending.due <= now + BOUND
    lab.clock.advance_to(pending.due + 1)
    ddb.put_item(TableName="sessions", Item={"id": {"S": "b"}})
    ddb.delete_item(TableName="sessions", Key={"id": {"S": "b"}})
    removes = [r for r in _records(lab, ddb) if r["eventName"] == "REMOVE"]
    by_key = {r["dynamodb"]["Keys"]["id"]["S"]: r for r in removes}
    assert by_key["a"]["userIdentity"] == {
        "Type": "Service",
        "PrincipalId": "dynamodb.amazonaws.com",
    }
    assert "userIdentity" not in by_key["b"]  # a user's delete carries no service identity
    # Readers of moto's raw record (the table view) find the Lambda event's spelling too.
    raw = [r.record for r in table.stream_shard.items if r.record.get("userIdentity")]
    assert [r["userIdentity"]["principalId"] for r in raw] == ["dynamodb.amazonaws.com"]


def test_a_batch_write_and_a_transaction_are_swept_too(lab: Lab) -> None:
    ddb = _table(lab, stream=False)
    _enable(ddb)
    now = str(int(lab.clock.timestamp))
    ddb.batch_write_item(
        RequestItems={
            "sessions": [
                {"PutRequest": {"Item": {"id": {"S": "b1"}, "expires": {"N": now}}}},
                {"PutRequest": {"Item": {"id": {"S": "b2"}, "expires": {"N": now}}}},
            ]
        }
    )
    ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "sessions", "Item": {"id": {"S": "t"}, "expires": {"N": now}}}}
        ]
    )
    lab.clock.advance(BOUND + 1)
    assert _ids(ddb) == set()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"N": "1767600000"}, 1767600000.0),
        ({"N": "1767600000.5"}, 1767600000.5),
        ({"S": "1767600000"}, None),
        ({"N": "nan"}, None),
        (None, None),
        ({"NS": ["1"]}, None),
    ],
)
def test_only_a_number_is_an_expiry(value: dict[str, Any] | None, expected: float | None) -> None:
    assert expiry_of(value) == expected


def test_the_schedule_keeps_only_the_latest_value_per_item() -> None:
    sweep = TtlSweep("expires", 0.0)
    sweep.note("k", 10.0, deletion_time(10.0, 0.0, 5.0))
    sweep.note("k", 100.0, deletion_time(100.0, 0.0, 5.0))
    assert sweep.due(50.0) == []
    assert [e.key for e in sweep.due(105.0)] == ["k"]
    assert deletion_time(0.0, 10 * 365 * 86400.0, 1.0) is None


def test_a_checks_isolated_world_runs_ttl_on_its_own_clock(lab: Lab) -> None:
    ddb = _table(lab)
    _enable(ddb)
    start = lab.clock.now
    mine = {"id": {"S": "mine"}, "expires": {"N": str(int(lab.clock.timestamp))}}
    ddb.put_item(TableName="sessions", Item=mine)
    with lab.sandbox.isolated() as world:
        inner = world.client("dynamodb")
        _table(lab, "other")
        _enable(inner, "other")
        now = str(int(world.clock.timestamp))
        inner.put_item(TableName="other", Item={"id": {"S": "x"}, "expires": {"N": now}})
        world.clock.advance(BOUND + 1)
        assert _ids(inner, "other") == set()
    # The learner's world and clock are as they were: their item waits for their own clock.
    assert lab.clock.now == start
    assert _ids(ddb) == {"mine"}
    lab.clock.advance(BOUND + 1)
    assert _ids(ddb) == set()
