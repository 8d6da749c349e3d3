"""DynamoDB capacity in the sandbox: ConsumedCapacity, per-partition throttling, batches, GSIs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

import labkit
from labkit.lab import Lab

KB = 1024


@pytest.fixture
def ddb(lab: Lab) -> Any:
    return lab.client("dynamodb")


def make_table(
    ddb: Any,
    name: str = "t",
    *,
    rcu: int = 5,
    wcu: int = 5,
    on_demand: bool = False,
    sort_key: bool = False,
    gsi: tuple[str, int, int] | None = None,
) -> None:
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    if sort_key:
        keys.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attrs.append({"AttributeName": "sk", "AttributeType": "S"})
    args: dict[str, Any] = {"TableName": name, "KeySchema": keys, "AttributeDefinitions": attrs}
    if on_demand:
        args["BillingMode"] = "PAY_PER_REQUEST"
    else:
        args["ProvisionedThroughput"] = {"ReadCapacityUnits": rcu, "WriteCapacityUnits": wcu}
    if gsi:
        index, g_rcu, g_wcu = gsi
        attrs.append({"AttributeName": "g", "AttributeType": "S"})
        spec: dict[str, Any] = {
            "IndexName": index,
            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
        }
        if not on_demand:
            spec["ProvisionedThroughput"] = {
                "ReadCapacityUnits": g_rcu,
                "WriteCapacityUnits": g_wcu,
            }
        args["GlobalSecondaryIndexes"] = [spec]
    ddb.create_table(**args)


def item(pk: str, size: int = 0, **extra: str) -> dict[str, Any]:
    body: dict[str, Any] = {"pk": {"S": pk}}
    if size:
        body["d"] = {"S": "x" * (size - len("pk") - len(pk) - 1)}
    body.update({k: {"S": v} for k, v in extra.items()})
    return body


def code(error: ClientError) -> str:
    return str(error.response["Error"]["Code"])


def throttled_puts(
    ddb: Any, table: str, items: Iterator[dict[str, Any]]
) -> tuple[int, list[ClientError]]:
    served, errors = 0, []
    for body in items:
        try:
            ddb.put_item(TableName=table, Item=body)
            served += 1
        except ClientError as error:
            errors.append(error)
    return served, errors


# -- ConsumedCapacity ---------------------------------------------------------------------------
def test_consumed_capacity_follows_item_size_and_consistency(lab: Lab, ddb: Any) -> None:
    make_table(ddb, rcu=100, wcu=100)
    r = ddb.put_item(TableName="t", Item=item("a", 5 * KB), ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"] == {
        "TableName": "t",
        "CapacityUnits": 5.0,
        "WriteCapacityUnits": 5.0,
    }
    strong = ddb.get_item(
        TableName="t", Key={"pk": {"S": "a"}}, ConsistentRead=True, ReturnConsumedCapacity="TOTAL"
    )
    assert strong["ConsumedCapacity"]["CapacityUnits"] == 2.0  # 5 KB rounds up to 8 KB
    eventual = ddb.get_item(TableName="t", Key={"pk": {"S": "a"}}, ReturnConsumedCapacity="TOTAL")
    assert eventual["ConsumedCapacity"]["ReadCapacityUnits"] == 1.0
    # A projection does not make the read cheaper: the whole item is read.
    projected = ddb.get_item(
        TableName="t",
        Key={"pk": {"S": "a"}},
        ProjectionExpression="pk",
        ReturnConsumedCapacity="TOTAL",
    )
    assert projected["ConsumedCapacity"]["CapacityUnits"] == 1.0
    plain = ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})
    assert "ConsumedCapacity" not in plain
    missing = ddb.get_item(TableName="t", Key={"pk": {"S": "zz"}}, ReturnConsumedCapacity="TOTAL")
    assert missing["ConsumedCapacity"]["CapacityUnits"] == 0.5


def test_writes_cost_the_larger_of_old_and_new(lab: Lab, ddb: Any) -> None:
    make_table(ddb, rcu=100, wcu=100)
    ddb.put_item(TableName="t", Item=item("a", 3 * KB))
    small = ddb.put_item(TableName="t", Item=item("a", 100), ReturnConsumedCapacity="TOTAL")
    assert small["ConsumedCapacity"]["CapacityUnits"] == 3.0
    update = ddb.update_item(
        TableName="t",
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET big = :b",
        ExpressionAttributeValues={":b": {"S": "y" * 2 * KB}},
        ReturnConsumedCapacity="TOTAL",
    )
    assert update["ConsumedCapacity"]["CapacityUnits"] == 3.0  # ~2.1 KB after, 100 B before
    gone = ddb.delete_item(TableName="t", Key={"pk": {"S": "a"}}, ReturnConsumedCapacity="TOTAL")
    assert gone["ConsumedCapacity"]["CapacityUnits"] == 3.0
    nothing = ddb.delete_item(TableName="t", Key={"pk": {"S": "a"}}, ReturnConsumedCapacity="TOTAL")
    assert nothing["ConsumedCapacity"]["CapacityUnits"] == 1.0


def test_query_pays_for_items_the_filter_drops(lab: Lab, ddb: Any) -> None:
    make_table(ddb, rcu=100, wcu=100, sort_key=True)
    for i in range(6):
        body = item("user", KB, sk=f"{i:02d}")
        body["keep"] = {"BOOL": i == 0}
        ddb.put_item(TableName="t", Item=body)
    r = ddb.query(
        TableName="t",
        KeyConditionExpression="pk = :p",
        FilterExpression="keep = :t",
        ExpressionAttributeValues={":p": {"S": "user"}, ":t": {"BOOL": True}},
        ConsistentRead=True,
        ReturnConsumedCapacity="TOTAL",
    )
    assert r["Count"] == 1 and r["ScannedCount"] == 6
    # Six items of just over 1 KB, summed then rounded up to 4 KB once: 2 read units.
    assert r["ConsumedCapacity"]["CapacityUnits"] == 2.0
    scan = ddb.scan(TableName="t", ReturnConsumedCapacity="TOTAL")
    assert scan["ConsumedCapacity"]["CapacityUnits"] == 1.0  # eventually consistent: half


# -- throttling ---------------------------------------------------------------------------------
def test_a_partition_serves_its_share_each_second(lab: Lab, ddb: Any) -> None:
    make_table(ddb, wcu=5)
    served, errors = throttled_puts(ddb, "t", (item(f"k{i}") for i in range(8)))
    assert served == 5
    assert {code(e) for e in errors} == {"ProvisionedThroughputExceededException"}
    assert "provisioned throughput for the table was exceeded" in str(errors[0])
    reasons = errors[0].response["ThrottlingReasons"]
    assert reasons[0]["reason"] == "TableWriteProvisionedThroughputExceeded"
    assert reasons[0]["resource"].endswith(":table/t")
    # A refused write changed nothing.
    assert ddb.scan(TableName="t", Select="COUNT")["Count"] == 5
    lab.clock.advance(1)
    ddb.put_item(TableName="t", Item=item("later"))


def test_deletes_of_missing_items_are_charged_to_their_own_partition(lab: Lab, ddb: Any) -> None:
    make_table(ddb, rcu=10, wcu=2000)  # three partitions
    refused = 0
    for _ in range(700):
        try:
            ddb.delete_item(TableName="t", Key={"pk": {"S": "ghost"}})
        except ClientError:
            refused += 1
    assert refused == 700 - 666  # one key, one partition's share, even with nothing to delete


def test_a_hot_key_throttles_while_the_table_total_is_unused(lab: Lab, ddb: Any) -> None:
    make_table(ddb, rcu=10, wcu=2000)  # ceil(10/3000 + 2000/1000) = 3 partitions of 666 WCU
    hot = (item("celebrity", 10 * KB) for _ in range(80))
    served, errors = throttled_puts(ddb, "t", hot)
    meters = lab.sandbox.backend("dynamodb").get_table("t").labkit_capacity
    assert meters.table.partition_count == 3
    assert served == 66  # 660 of the partition's 666.7 units; the 67th would need 670
    assert errors[0].response["ThrottlingReasons"][0]["reason"] == (
        "TableWriteKeyRangeThroughputExceeded"
    )
    # Other keys, on other partitions, still write in that same second.
    spread, spread_errors = throttled_puts(
        ddb, "t", (item(f"user#{i}", 10 * KB) for i in range(20))
    )
    assert spread >= 10 and spread + len(spread_errors) == 20


def test_unused_capacity_is_kept_as_burst(lab: Lab, ddb: Any) -> None:
    make_table(ddb, wcu=5)
    ddb.put_item(TableName="t", Item=item("first"))
    lab.clock.advance(100)  # 100 idle seconds: 5 * 99 + 4 units of burst
    served, _ = throttled_puts(ddb, "t", (item(f"k{i}", 10 * KB) for i in range(60)))
    assert served == 50  # (499 burst + 5 share) // 10


def test_on_demand_tables_throttle_a_hot_partition_at_1000_wcu(lab: Lab, ddb: Any) -> None:
    make_table(ddb, on_demand=True)
    served, errors = throttled_puts(ddb, "t", (item("hot", 10 * KB) for _ in range(102)))
    assert served == 100
    assert "automatically scaling" in str(errors[0])


def test_a_large_item_on_a_small_table_is_slow_not_impossible(lab: Lab, ddb: Any) -> None:
    make_table(ddb, wcu=1)
    ddb.put_item(TableName="t", Item=item("big", 4 * KB))
    with pytest.raises(ClientError, match="ProvisionedThroughputExceeded"):
        ddb.put_item(TableName="t", Item=item("small"))
    lab.clock.advance(4)
    ddb.put_item(TableName="t", Item=item("small"))


def test_reads_throttle_and_eventual_reads_cost_half(lab: Lab, ddb: Any) -> None:
    make_table(ddb, rcu=1, wcu=10)
    ddb.put_item(TableName="t", Item=item("a"))
    ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})
    ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})
    with pytest.raises(ClientError) as raised:
        ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})
    assert raised.value.response["ThrottlingReasons"][0]["reason"].startswith("TableRead")


# -- batches ------------------------------------------------------------------------------------
def test_batch_write_returns_what_did_not_fit_as_unprocessed(lab: Lab, ddb: Any) -> None:
    make_table(ddb, wcu=5)
    requests = [{"PutRequest": {"Item": item(f"k{i}")}} for i in range(8)]
    r = ddb.batch_write_item(RequestItems={"t": requests}, ReturnConsumedCapacity="TOTAL")
    assert r["UnprocessedItems"] == {"t": requests[5:]}
    assert r["ConsumedCapacity"] == [
        {"TableName": "t", "CapacityUnits": 5.0, "WriteCapacityUnits": 5.0}
    ]
    # Nothing fits any more this second: the whole call is throttled.
    with pytest.raises(ClientError, match="ProvisionedThroughputExceeded"):
        ddb.batch_write_item(RequestItems=r["UnprocessedItems"])
    lab.clock.advance(1)
    again = ddb.batch_write_item(RequestItems=r["UnprocessedItems"])
    assert again["UnprocessedItems"] == {}
    assert "ConsumedCapacity" not in again
    assert ddb.scan(TableName="t", Select="COUNT")["Count"] == 8


def test_batch_get_returns_unprocessed_keys_in_request_shape(lab: Lab, ddb: Any) -> None:
    make_table(ddb, rcu=1, wcu=10)
    for i in range(5):
        ddb.put_item(TableName="t", Item=item(f"k{i}"))
    keys = [{"pk": {"S": f"k{i}"}} for i in range(5)]
    r = ddb.batch_get_item(
        RequestItems={"t": {"Keys": keys, "ProjectionExpression": "pk"}},
        ReturnConsumedCapacity="TOTAL",
    )
    assert len(r["Responses"]["t"]) == 2  # two eventually consistent reads of 1 RCU
    assert r["UnprocessedKeys"]["t"] == {"Keys": keys[2:], "ProjectionExpression": "pk"}
    assert r["ConsumedCapacity"][0]["CapacityUnits"] == 1.0


# -- conditions, optimistic locking, transactions ------------------------------------------------
def test_a_failed_condition_still_consumes_write_capacity(lab: Lab, ddb: Any) -> None:
    make_table(ddb, wcu=2)
    ddb.put_item(TableName="t", Item=item("a"))
    with pytest.raises(ClientError, match="ConditionalCheckFailed"):
        ddb.put_item(TableName="t", Item=item("a"), ConditionExpression="attribute_not_exists(pk)")
    with pytest.raises(ClientError, match="ProvisionedThroughputExceeded"):
        ddb.put_item(TableName="t", Item=item("b"))


def test_optimistic_locking_with_a_version_attribute(lab: Lab, ddb: Any) -> None:
    make_table(ddb, wcu=100)
    ddb.put_item(TableName="t", Item={"pk": {"S": "cart"}, "version": {"N": "1"}})

    def save(expected: int) -> None:
        ddb.update_item(
            TableName="t",
            Key={"pk": {"S": "cart"}},
            UpdateExpression="SET version = :new",
            ConditionExpression="version = :expected",
            ExpressionAttributeValues={
                ":new": {"N": str(expected + 1)},
                ":expected": {"N": str(expected)},
            },
        )

    save(1)
    with pytest.raises(ClientError) as lost:
        save(1)  # a second writer that read version 1 loses
    assert code(lost.value) == "ConditionalCheckFailedException"


def test_transactions_cost_double_and_throttled_ones_are_cancelled(lab: Lab, ddb: Any) -> None:
    make_table(ddb, rcu=10, wcu=5)
    r = ddb.transact_write_items(
        TransactItems=[{"Put": {"TableName": "t", "Item": item("a")}}],
        ReturnConsumedCapacity="TOTAL",
    )
    assert r["ConsumedCapacity"] == [
        {"TableName": "t", "CapacityUnits": 2.0, "WriteCapacityUnits": 2.0}
    ]
    with pytest.raises(ClientError) as raised:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t", "Item": item("b")}},
                {"Put": {"TableName": "t", "Item": item("c")}},
            ]
        )
    assert code(raised.value) == "TransactionCanceledException"
    reasons = raised.value.response["CancellationReasons"]
    assert [reason["Code"] for reason in reasons] == ["None", "ThrottlingError"]
    assert ddb.scan(TableName="t", Select="COUNT")["Count"] == 1  # all or nothing
    got = ddb.transact_get_items(
        TransactItems=[{"Get": {"TableName": "t", "Key": {"pk": {"S": "a"}}}}],
        ReturnConsumedCapacity="TOTAL",
    )
    assert got["ConsumedCapacity"][0]["ReadCapacityUnits"] == 2.0


# -- global secondary indexes -------------------------------------------------------------------
def test_gsi_writes_are_reported_per_index(lab: Lab, ddb: Any) -> None:
    make_table(ddb, rcu=100, wcu=100, gsi=("by-g", 100, 100))
    r = ddb.put_item(
        TableName="t", Item=item("a", 2 * KB - 2, g="x"), ReturnConsumedCapacity="INDEXES"
    )
    cc = r["ConsumedCapacity"]
    assert cc["Table"]["CapacityUnits"] == 2.0
    assert cc["GlobalSecondaryIndexes"]["by-g"]["CapacityUnits"] == 2.0
    assert cc["CapacityUnits"] == 4.0
    # An item without the index key is not in the (sparse) index: no index write.
    r = ddb.put_item(TableName="t", Item=item("b"), ReturnConsumedCapacity="INDEXES")
    assert "GlobalSecondaryIndexes" not in r["ConsumedCapacity"]


def test_an_under_provisioned_gsi_throttles_table_writes(lab: Lab, ddb: Any) -> None:
    make_table(ddb, rcu=100, wcu=100, gsi=("by-g", 100, 1))
    ddb.put_item(TableName="t", Item=item("a", g="x"))
    with pytest.raises(ClientError) as raised:
        ddb.put_item(TableName="t", Item=item("b", g="y"))
    reason = raised.value.response["ThrottlingReasons"][0]
    assert reason["reason"].startswith("IndexWrite")
    assert reason["resource"].endswith("/index/by-g")
    assert "global secondary indexes" in str(raised.value)
    ddb.put_item(TableName="t", Item=item("c"))  # not in the index: the table takes it


def test_gsi_reads_lag_the_table(lab: Lab, ddb: Any) -> None:
    make_table(ddb, rcu=100, wcu=100, gsi=("by-g", 100, 100))

    def by_g(value: str) -> list[dict[str, Any]]:
        r = ddb.query(
            TableName="t",
            IndexName="by-g",
            KeyConditionExpression="g = :g",
            ExpressionAttributeValues={":g": {"S": value}},
        )
        return list(r["Items"])

    ddb.put_item(TableName="t", Item=item("a", g="x", v="1"))
    assert by_g("x") == []  # not propagated yet
    lab.clock.advance(1)
    assert [i["v"]["S"] for i in by_g("x")] == ["1"]
    ddb.put_item(TableName="t", Item=item("a", g="x", v="2"))
    assert [i["v"]["S"] for i in by_g("x")] == ["1"]  # the index still shows the old version
    assert ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]["v"]["S"] == "2"
    lab.clock.advance(1)
    assert [i["v"]["S"] for i in by_g("x")] == ["2"]


# -- UpdateTable --------------------------------------------------------------------------------
def test_update_table_changes_capacity_at_once(lab: Lab, ddb: Any) -> None:
    make_table(ddb, wcu=1)
    ddb.put_item(TableName="t", Item=item("a"))
    with pytest.raises(ClientError):
        ddb.put_item(TableName="t", Item=item("b"))
    ddb.update_table(
        TableName="t", ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 10}
    )
    ddb.put_item(TableName="t", Item=item("b"))
    with pytest.raises(ClientError, match="will not change"):
        ddb.update_table(
            TableName="t", ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 10}
        )
    ddb.update_table(
        TableName="t", ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 2}
    )
    described = ddb.describe_table(TableName="t")["Table"]["ProvisionedThroughput"]
    assert described["NumberOfDecreasesToday"] == 1 and described["WriteCapacityUnits"] == 2


def test_switching_billing_mode(lab: Lab, ddb: Any) -> None:
    make_table(ddb, wcu=1)
    with pytest.raises(ClientError, match="PAY_PER_REQUEST"):
        ddb.update_table(
            TableName="t",
            BillingMode="PAY_PER_REQUEST",
            ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
        )
    ddb.update_table(TableName="t", BillingMode="PAY_PER_REQUEST")
    table = ddb.describe_table(TableName="t")["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["ProvisionedThroughput"]["WriteCapacityUnits"] == 0
    served, _ = throttled_puts(ddb, "t", (item(f"k{i}") for i in range(50)))
    assert served == 50
    with pytest.raises(ClientError, match="must both be specified"):
        ddb.update_table(TableName="t", BillingMode="PROVISIONED")


# -- limits and reset ---------------------------------------------------------------------------
def test_the_400_kb_limit_counts_as_aws_does(lab: Lab, ddb: Any) -> None:
    make_table(ddb, rcu=1000, wcu=1000)
    ddb.put_item(TableName="t", Item=item("a", 400 * KB))
    with pytest.raises(ClientError, match="Item size has exceeded"):
        ddb.put_item(TableName="t", Item=item("b", 400 * KB + 1))


def test_an_update_past_400_kb_is_refused_and_changes_nothing(lab: Lab, ddb: Any) -> None:
    make_table(ddb, rcu=1000, wcu=1000)
    ddb.put_item(TableName="t", Item=item("a", 300 * KB))
    lab.clock.advance(1)
    with pytest.raises(ClientError, match="ValidationException"):
        ddb.update_item(
            TableName="t",
            Key={"pk": {"S": "a"}},
            UpdateExpression="SET more = :m",
            ExpressionAttributeValues={":m": {"S": "y" * 150 * KB}},
        )
    stored = ddb.get_item(TableName="t", Key={"pk": {"S": "a"}})["Item"]
    assert "more" not in stored


def test_reset_forgets_the_meters(lab: Lab, ddb: Any) -> None:
    make_table(ddb, wcu=1)
    ddb.put_item(TableName="t", Item=item("a"))
    lab.reset()
    ddb = lab.client("dynamodb")
    make_table(ddb, wcu=1)
    ddb.put_item(TableName="t", Item=item("a"))


def test_patch_is_undone_when_the_lab_stops() -> None:
    from moto.dynamodb.responses import DynamoHandler

    stock = DynamoHandler.__dict__["put_item"]
    lab = labkit.start(quiet=True)
    lab.client("dynamodb").list_tables()
    assert DynamoHandler.__dict__["put_item"] is not stock
    lab.stop()
    assert DynamoHandler.__dict__["put_item"] is stock


def test_an_isolated_world_has_its_own_meters(lab: Lab, ddb: Any) -> None:
    from labkit.services.dynamodb.state import throttled

    make_table(ddb, wcu=1)
    ddb.put_item(TableName="t", Item=item("a"))
    with lab.sandbox.isolated() as world:
        inner = world.client("dynamodb")
        make_table(inner, wcu=1)
        inner.put_item(TableName="t", Item=item("a"))  # a fresh table: its own second's unit
        with pytest.raises(ClientError):
            inner.put_item(TableName="t", Item=item("b"))
        assert throttled(world, "t") == (0, 1)
    assert throttled(lab.sandbox, "t") == (0, 0)
    with pytest.raises(ClientError):  # the learner's table spent its unit this second
        ddb.put_item(TableName="t", Item=item("b"))
