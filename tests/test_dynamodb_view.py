"""The DynamoDB table view: capacity per second, throttles, partitions, TTL, stream, replicas."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from traitlets import TraitError

from labkit.lab import Lab
from labkit.services.dynamodb import state as state_module
from labkit.services.dynamodb.state import table_snapshot
from labkit.services.dynamodb.view import render_html, render_text, table_state
from labkit.services.dynamodb.widget import check_table


def make_table(ddb: Any, name: str = "orders", wcu: int = 2000, **extra: Any) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": wcu},
        **extra,
    )


def hammer(ddb: Any, key: str, times: int, size: int = 10 * 1024) -> int:
    refused = 0
    for _ in range(times):
        try:
            ddb.put_item(TableName="orders", Item={"pk": {"S": key}, "d": {"S": "x" * size}})
        except ClientError:
            refused += 1
    return refused


def test_the_view_shows_the_hot_partition_and_the_throttled_second(lab: Lab) -> None:
    ddb = lab.client("dynamodb")
    make_table(ddb)
    refused = hammer(ddb, "celebrity", 70)
    assert refused > 0
    view = lab.table_view()
    html, text = view.to_html(), view.to_text()
    assert "DynamoDB table orders" in text
    assert "provisioned 10 RCU / 2,000 WCU" in text
    assert "3 partitions" in text
    # The throttled second, in words and with its mark, in both forms.
    assert f"✕ {refused} throttled" in text
    assert "✕" in html and f"{refused} throttled at" in html
    # Exactly one partition says it throttled, and it holds the hot key.
    hot_rows = [line for line in text.splitlines() if "throttled:" in line]
    assert len(hot_rows) == 1 and "celebrity" in hot_rows[0]
    assert f"{refused} writes" in hot_rows[0]
    assert "<svg" in html and "limit 2,000/s" in html


def test_a_held_view_keeps_its_moment(lab: Lab) -> None:
    ddb = lab.client("dynamodb")
    make_table(ddb, wcu=5)
    held = lab.table_view("orders", hold=True)
    live = lab.table_view("orders")
    hammer(ddb, "k", 3, size=10)
    live.refresh()
    assert "write 3 of 5 units/s" in live.to_text()
    assert "writes: none" in held.to_text()
    assert held.held


def test_the_view_finds_a_table_by_arn_and_says_when_it_is_missing(lab: Lab) -> None:
    ddb = lab.client("dynamodb")
    make_table(ddb)
    arn = ddb.describe_table(TableName="orders")["Table"]["TableArn"]
    assert "DynamoDB table orders" in lab.table_view(arn).to_text()
    assert "No such table: nope" in lab.table_view("nope").to_text()
    make_table(ddb, "second")
    assert "No such table" in lab.table_view().to_text()  # two tables: name one


def test_ttl_and_stream_sections(lab: Lab) -> None:
    ddb = lab.client("dynamodb")
    make_table(ddb, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    ddb.update_time_to_live(
        TableName="orders", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"}
    )
    now = int(lab.clock.timestamp)
    ddb.put_item(TableName="orders", Item={"pk": {"S": "old"}, "expires": {"N": str(now - 60)}})
    ddb.put_item(TableName="orders", Item={"pk": {"S": "new"}, "expires": {"N": str(now + 600)}})
    ddb.put_item(TableName="orders", Item={"pk": {"S": "keep"}})
    text = lab.table_view().to_text()
    assert "TTL attribute expires: 1 expired items still readable" in text
    assert "⌛ old: expired at" in text
    assert "◷ new: expires at" in text and "(in 600 s)" in text
    assert "Stream (KEYS_ONLY): 3 records" in text
    assert "INSERT keep" in text


def test_indexes_section_shows_writes_not_yet_propagated(lab: Lab) -> None:
    ddb = lab.client("dynamodb")
    ddb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "g", "AttributeType": "S"},
        ],
        ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 10},
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
                "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
            }
        ],
    )
    ddb.put_item(TableName="orders", Item={"pk": {"S": "a"}, "g": {"S": "x"}})
    text = lab.table_view().to_text()
    assert "by-g" in text and "KEYS_ONLY" in text and "1 write" in text
    lab.clock.advance(2)
    assert "none (caught up)" in lab.table_view().to_text()


def test_large_tables_are_summarised_from_a_sample(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state_module, "EXACT_ITEMS", 10)
    ddb = lab.client("dynamodb")
    make_table(ddb, wcu=1000)
    for i in range(40):
        ddb.put_item(TableName="orders", Item={"pk": {"S": f"user#{i}"}})
    snap = table_snapshot(lab.sandbox, "orders")
    assert snap is not None and snap.sampled and snap.item_count == 40
    assert sum(p.items for p in snap.partitions) == 40
    text = render_text(table_state(snap))
    assert "≈" in text and "(sampled)" in text


def test_a_global_table_shows_its_replicas(lab: Lab) -> None:
    ddb = lab.client("dynamodb")
    ddb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    plain = lab.table_view("orders", hold=True)
    ddb.update_table(TableName="orders", ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}])
    view = lab.table_view()
    text, html = view.to_text(), view.to_html()
    assert "Replicas:" in text and "eu-west-1" in text.split("Replicas:")[1]
    assert ">Replicas<" in html and "eu-west-1" in html
    assert "Replicas" not in plain.to_text()  # held before the replica existed


def test_no_replicas_section_without_replicas(lab: Lab) -> None:
    make_table(lab.client("dynamodb"))
    html = render_html(table_state(table_snapshot(lab.sandbox, "orders")))
    assert "Replicas" not in html


def test_the_widget_rejects_a_state_of_the_wrong_shape() -> None:
    assert check_table({}) == {}
    with pytest.raises(TraitError, match="wrong keys"):
        check_table({"name": "t"})
    with pytest.raises(TraitError, match="must be a dict"):
        check_table([])


def test_state_answers_partition_count_and_throttles_for_checks(lab: Lab) -> None:
    from labkit.services.dynamodb.state import partition_count, throttled

    ddb = lab.client("dynamodb")
    make_table(ddb, wcu=5)
    assert partition_count(lab.sandbox, "orders") == 1
    assert partition_count(lab.sandbox, "missing") == 0
    refused = hammer(ddb, "k", 8, size=10)
    assert throttled(lab.sandbox, "orders") == (0, refused) and refused == 3
    ddb.update_table(
        TableName="orders",
        ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 3000},
    )
    assert partition_count(lab.sandbox, "orders") == 4  # ceil(10/3000 + 3000/1000)


def test_a_ttl_deletion_is_shown_as_made_by_dynamodb(lab: Lab) -> None:
    from labkit import facts

    ddb = lab.client("dynamodb")
    make_table(ddb, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    ddb.update_time_to_live(
        TableName="orders", TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"}
    )
    now = int(lab.clock.timestamp)
    ddb.put_item(TableName="orders", Item={"pk": {"S": "old"}, "expires": {"N": str(now - 60)}})
    ddb.delete_item(TableName="orders", Key={"pk": {"S": "gone"}})  # no item: no record
    lab.clock.advance(int(facts.value("dynamodb.ttl_deletion_typical")) + 1)
    text = lab.table_view().to_text()
    assert "TTL attribute expires: 0 expired items still readable" in text
    assert "REMOVE old" in text and "by DynamoDB (TTL)" in text
    assert "INSERT old" in text and "INSERT old at" in text


def test_a_table_without_indexes_says_so_until_one_is_added(lab: Lab) -> None:
    ddb = lab.client("dynamodb")
    make_table(ddb)
    view = lab.table_view()
    assert "No secondary index." in view.to_text() and "No secondary index." in view.to_html()
    ddb.update_table(
        TableName="orders",
        AttributeDefinitions=[{"AttributeName": "status", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "by-status",
                    "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                    "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
                }
            }
        ],
    )
    view.refresh()
    assert "No secondary index." not in view.to_text()
    assert "by-status" in view.to_text()
