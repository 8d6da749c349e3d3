"""DynamoDB global tables (2019.11.21) in the sandbox: replicas, lag, last writer wins, outages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from labkit import edge, facts
from labkit.services.dynamodb.patch_global import set_replication_lag, state_global
from labkit.services.dynamodb.sim_replication import LAG_FLOOR, replication_lag
from labkit.services.dynamodb.view_global import global_html, global_text

if TYPE_CHECKING:
    from labkit.lab import Lab

TYPICAL = float(facts.value("dynamodb.global_table_replication_typical"))
KEY = [{"AttributeName": "id", "KeyType": "HASH"}]
ATTRS = [{"AttributeName": "id", "AttributeType": "S"}]


def _global(lab: Lab, *, billing: str = "PAY_PER_REQUEST") -> tuple[Any, Any]:
    home = lab.client("dynamodb")
    extra: dict[str, Any] = {"BillingMode": billing}
    if billing == "PROVISIONED":
        extra["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    home.create_table(TableName="carts", KeySchema=KEY, AttributeDefinitions=ATTRS, **extra)
    if billing == "PAY_PER_REQUEST":
        home.update_table(
            TableName="carts", ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}]
        )
    return home, lab.client("dynamodb", region_name="eu-west-1")


def _get(ddb: Any, key: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = ddb.get_item(TableName="carts", Key={"id": {"S": key}}).get(
        "Item"
    )
    return item


def test_a_replica_is_a_table_in_the_other_region_with_the_same_keys_and_items(lab: Lab) -> None:
    home = lab.client("dynamodb")
    home.create_table(
        TableName="carts",
        KeySchema=KEY,
        AttributeDefinitions=[*ATTRS, {"AttributeName": "user", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-user",
                "KeySchema": [{"AttributeName": "user", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    home.put_item(TableName="carts", Item={"id": {"S": "before"}, "user": {"S": "ana"}})
    described = home.update_table(
        TableName="carts", ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}]
    )["TableDescription"]
    assert described["GlobalTableVersion"] == "2019.11.21"
    assert described["Replicas"] == [{"RegionName": "eu-west-1", "ReplicaStatus": "ACTIVE"}]
    away = lab.client("dynamodb", region_name="eu-west-1")
    replica = away.describe_table(TableName="carts")["Table"]
    assert replica["KeySchema"] == KEY
    assert replica["GlobalSecondaryIndexes"][0]["IndexName"] == "by-user"
    assert [r["RegionName"] for r in replica["Replicas"]] == ["us-east-1"]
    # The replica starts with the table's items: a table with data can become global.
    assert _get(away, "before") == {"id": {"S": "before"}, "user": {"S": "ana"}}
    # A table that is not global says nothing about replicas.
    home.create_table(
        TableName="plain", KeySchema=KEY, AttributeDefinitions=ATTRS, BillingMode="PAY_PER_REQUEST"
    )
    plain = home.describe_table(TableName="plain")["Table"]
    assert "Replicas" not in plain and "GlobalTableVersion" not in plain


def test_writes_replicate_after_a_lag_of_under_a_second(lab: Lab) -> None:
    home, away = _global(lab)
    home.put_item(TableName="carts", Item={"id": {"S": "c1"}, "qty": {"N": "1"}})
    assert _get(away, "c1") is None  # not yet: replication is asynchronous
    lab.clock.advance(TYPICAL)
    assert _get(away, "c1") == {"id": {"S": "c1"}, "qty": {"N": "1"}}
    away.update_item(
        TableName="carts",
        Key={"id": {"S": "c1"}},
        UpdateExpression="SET qty = :q",
        ExpressionAttributeValues={":q": {"N": "2"}},
    )
    lab.clock.advance(TYPICAL)
    assert _get(home, "c1") == {"id": {"S": "c1"}, "qty": {"N": "2"}}
    home.delete_item(TableName="carts", Key={"id": {"S": "c1"}})
    lab.clock.advance(TYPICAL)
    assert _get(away, "c1") is None
    snapshot = state_global("carts")
    assert snapshot is not None
    lags = [r.last_lag for r in snapshot.replicas]
    assert all(lag is not None and LAG_FLOOR * TYPICAL <= lag <= TYPICAL for lag in lags)


def test_the_lag_is_deterministic_and_spread() -> None:
    lags = {replication_lag(42, "carts", f"S:{i}", i, "eu-west-1") for i in range(50)}
    assert len(lags) == 50
    assert min(lags) >= LAG_FLOOR * TYPICAL and max(lags) < TYPICAL
    assert replication_lag(42, "carts", "S:1", 1, "x") == replication_lag(
        42, "carts", "S:1", 1, "x"
    )


def test_concurrent_writes_resolve_last_writer_wins_and_one_update_is_lost(lab: Lab) -> None:
    home, away = _global(lab)
    home.put_item(TableName="carts", Item={"id": {"S": "c1"}, "qty": {"N": "1"}})
    lab.clock.advance(TYPICAL)
    # Both Regions read qty=1 and add to it before either write has replicated.
    home.put_item(TableName="carts", Item={"id": {"S": "c1"}, "qty": {"N": "2"}})
    away.put_item(TableName="carts", Item={"id": {"S": "c1"}, "qty": {"N": "11"}})
    assert _get(home, "c1") == {"id": {"S": "c1"}, "qty": {"N": "2"}}
    lab.clock.advance(TYPICAL)
    # Every replica converges on the later write; the earlier update is gone everywhere.
    assert _get(home, "c1") == _get(away, "c1") == {"id": {"S": "c1"}, "qty": {"N": "11"}}
    snapshot = state_global("carts")
    assert snapshot is not None
    (lost,) = snapshot.lost
    assert (lost.key, lost.region, lost.lost_from) == ("S:c1", "eu-west-1", "us-east-1")
    assert "lost update" in global_text(snapshot)


def test_a_failed_region_refuses_calls_and_the_others_keep_serving(lab: Lab) -> None:
    home, away = _global(lab)
    home.put_item(TableName="carts", Item={"id": {"S": "c1"}})
    lab.clock.advance(TYPICAL)
    edge.fail_region("eu-west-1")
    with pytest.raises(EndpointConnectionError, match=r"dynamodb\.eu-west-1\.amazonaws\.com"):
        _get(away, "c1")
    streams = lab.client("dynamodbstreams", region_name="eu-west-1")
    with pytest.raises(EndpointConnectionError):
        streams.list_streams()
    # The other replica serves reads and writes; writes for the failed Region wait.
    assert _get(home, "c1") == {"id": {"S": "c1"}}
    home.put_item(TableName="carts", Item={"id": {"S": "during"}})
    lab.clock.advance(3600)
    snapshot = state_global("carts")
    assert snapshot is not None
    down = next(r for r in snapshot.replicas if r.region == "eu-west-1")
    assert not down.reachable and down.pending == down.parked == 1
    assert "Region down" in global_text(snapshot) and "Region down" in global_html(snapshot)
    edge.restore_region("eu-west-1")
    lab.clock.advance(TYPICAL + 10)
    assert _get(away, "during") == {"id": {"S": "during"}}
    snapshot = state_global("carts")
    assert snapshot is not None
    assert all(r.reachable and r.pending == 0 for r in snapshot.replicas)
    assert "caught up" in global_text(snapshot)


def test_a_provisioned_table_needs_write_auto_scaling_first(lab: Lab) -> None:
    home, _away = _global(lab, billing="PROVISIONED")
    create = [{"Create": {"RegionName": "eu-west-1"}}]
    with pytest.raises(ClientError, match="Pay-Per-Request or AutoScaled"):
        home.update_table(TableName="carts", ReplicaUpdates=create)
    lab.client("application-autoscaling").register_scalable_target(
        ServiceNamespace="dynamodb",
        ResourceId="table/carts",
        ScalableDimension="dynamodb:table:WriteCapacityUnits",
        MinCapacity=5,
        MaxCapacity=50,
    )
    described = home.update_table(TableName="carts", ReplicaUpdates=create)["TableDescription"]
    assert described["Replicas"][0]["RegionName"] == "eu-west-1"


def test_streams_need_not_be_enabled_first(lab: Lab) -> None:
    assert facts.value("dynamodb.global_tables_streams_required_first") is False
    home, away = _global(lab)
    assert "StreamSpecification" not in home.describe_table(TableName="carts")["Table"]
    home.put_item(TableName="carts", Item={"id": {"S": "c1"}})
    lab.clock.advance(TYPICAL)
    assert _get(away, "c1") is not None


@pytest.mark.parametrize(
    ("region", "words"),
    [("us-east-1", "Region of the table itself"), ("mars-north-1", "not a valid AWS Region")],
)
def test_a_replica_in_an_impossible_region_is_refused(lab: Lab, region: str, words: str) -> None:
    home = lab.client("dynamodb")
    home.create_table(
        TableName="carts", KeySchema=KEY, AttributeDefinitions=ATTRS, BillingMode="PAY_PER_REQUEST"
    )
    with pytest.raises(ClientError, match=words):
        home.update_table(TableName="carts", ReplicaUpdates=[{"Create": {"RegionName": region}}])


def test_deleting_a_replica_makes_the_table_regional_again(lab: Lab) -> None:
    home, away = _global(lab)
    with pytest.raises(ClientError, match="already"):
        home.update_table(
            TableName="carts", ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}]
        )
    home.update_table(TableName="carts", ReplicaUpdates=[{"Delete": {"RegionName": "eu-west-1"}}])
    assert "carts" not in away.list_tables()["TableNames"]
    assert "Replicas" not in home.describe_table(TableName="carts")["Table"]
    assert state_global("carts") is None
    home.put_item(TableName="carts", Item={"id": {"S": "after"}})
    lab.clock.advance(TYPICAL)  # nothing is scheduled for a Region that left


def test_a_lesson_can_fix_the_lag(lab: Lab) -> None:
    home, away = _global(lab)
    set_replication_lag("carts", 30)
    home.put_item(TableName="carts", Item={"id": {"S": "slow"}})
    lab.clock.advance(29)
    assert _get(away, "slow") is None
    lab.clock.advance(1)
    assert _get(away, "slow") is not None


def test_the_table_views_replicas_hook_round_trips_through_json(lab: Lab) -> None:
    import json

    from labkit.services.dynamodb.view_global import (
        render_replicas_html,
        render_replicas_text,
        replica_state,
    )

    home, away = _global(lab)
    home.put_item(TableName="carts", Item={"id": {"S": "c1"}, "qty": {"N": "1"}})
    away.put_item(TableName="carts", Item={"id": {"S": "c1"}, "qty": {"N": "2"}})
    state = json.loads(json.dumps(replica_state(lab.sandbox, "carts")))
    text = "\n".join(render_replicas_text(state))
    assert "eu-west-1" in text and "1 write on the way" in text
    assert "eu-west-1" in render_replicas_html(state)
    lab.clock.advance(TYPICAL)
    state = json.loads(json.dumps(replica_state(lab.sandbox, "carts")))
    assert "lost update" in "\n".join(render_replicas_text(state))
    assert replica_state(lab.sandbox, "not-global") == {}


def test_a_reset_drops_writes_in_flight(lab: Lab) -> None:
    home, _away = _global(lab)
    home.put_item(TableName="carts", Item={"id": {"S": "old"}})
    lab.reset()
    # A new table of the same name in the other Region must not receive the old world's write.
    away = lab.client("dynamodb", region_name="eu-west-1")
    away.create_table(
        TableName="carts", KeySchema=KEY, AttributeDefinitions=ATTRS, BillingMode="PAY_PER_REQUEST"
    )
    lab.clock.advance(TYPICAL)
    assert _get(away, "old") is None


def test_an_outage_in_a_checks_isolated_world_stays_there(lab: Lab) -> None:
    _home, away = _global(lab)
    with lab.sandbox.isolated() as world:
        inner = world.client("dynamodb")
        inner.create_table(
            TableName="probe",
            KeySchema=KEY,
            AttributeDefinitions=ATTRS,
            BillingMode="PAY_PER_REQUEST",
        )
        inner.update_table(
            TableName="probe", ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}]
        )
        edge.fail_region("eu-west-1", sandbox=world)
        with pytest.raises(EndpointConnectionError):
            world.client("dynamodb", region_name="eu-west-1").list_tables()
        assert inner.list_tables()["TableNames"] == ["probe"]
    # Back in the learner's world: no outage, their replica answers, the probe never existed.
    assert away.list_tables()["TableNames"] == ["carts"]


def test_a_ttl_deletion_replicates_but_is_a_service_deletion_only_where_it_happened(
    lab: Lab,
) -> None:
    from labkit.services.dynamodb.patch_ttl import pending_deletions

    home = lab.client("dynamodb")
    home.create_table(
        TableName="carts",
        KeySchema=KEY,
        AttributeDefinitions=ATTRS,
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
    )
    home.update_table(TableName="carts", ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}])
    home.update_time_to_live(
        TableName="carts", TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"}
    )
    now = str(int(lab.clock.timestamp))
    home.put_item(TableName="carts", Item={"id": {"S": "c1"}, "ttl": {"N": now}})
    (pending,) = pending_deletions(lab.sandbox.backend("dynamodb").tables["carts"])
    lab.clock.advance_to(pending.due + TYPICAL)
    away = lab.client("dynamodb", region_name="eu-west-1")
    assert _get(home, "c1") is None and _get(away, "c1") is None

    def removes(region: str) -> list[dict[str, Any]]:
        client = lab.client("dynamodb", region_name=region)
        streams = lab.client("dynamodbstreams", region_name=region)
        arn = client.describe_table(TableName="carts")["Table"]["LatestStreamArn"]
        desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=desc["Shards"][0]["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records = streams.get_records(ShardIterator=iterator)["Records"]
        return [r for r in records if r["eventName"] == "REMOVE"]

    (here,) = removes("us-east-1")
    (there,) = removes("eu-west-1")
    assert here["userIdentity"]["PrincipalId"] == "dynamodb.amazonaws.com"
    assert "userIdentity" not in there
