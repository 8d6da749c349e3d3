"""ElastiCache replicas (cluster mode disabled): the reader endpoint lags, replicas refuse writes,
failover promotes a replica."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from botocore.exceptions import ClientError

from labkit import facts
from labkit.lab import Lab
from labkit.services.elasticache.sim_cache import CacheEngine
from labkit.services.elasticache.sim_replicas import ReplicaSet

LAG = float(facts.fact("elasticache.replication_lag_sandbox").value)


def replicated(lab: Lab, name: str = "sessions", **sizes: Any) -> dict[str, Any]:
    sizes = sizes or {"NumCacheClusters": 3}
    group: dict[str, Any] = lab.client("elasticache").create_replication_group(
        ReplicationGroupId=name,
        ReplicationGroupDescription=name,
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        **sizes,
    )["ReplicationGroup"]
    return group


def client(endpoint: dict[str, Any]) -> redis.Redis:
    return redis.Redis(host=endpoint["Address"], port=endpoint["Port"], decode_responses=True)


def endpoints(group: dict[str, Any]) -> tuple[redis.Redis, redis.Redis]:
    node_group = group["NodeGroups"][0]
    return client(node_group["PrimaryEndpoint"]), client(node_group["ReaderEndpoint"])


def test_the_reader_endpoint_returns_the_old_value_until_the_lag_has_passed(lab: Lab) -> None:
    primary, reader = endpoints(replicated(lab))
    primary.set("price", "10")
    lab.clock.advance(LAG + 0.1)
    assert reader.get("price") == "10"
    primary.set("price", "12")
    assert primary.get("price") == "12"  # the primary reads its own write at once
    assert reader.get("price") == "10"  # the replica has not applied it yet
    lab.clock.advance(LAG + 0.1)
    assert reader.get("price") == "12"


@pytest.mark.parametrize("sizes", [{"NumCacheClusters": 3}, {"ReplicasPerNodeGroup": 2}])
def test_both_ways_of_asking_for_replicas_give_replica_members(
    lab: Lab, sizes: dict[str, int]
) -> None:
    group = replicated(lab, **sizes)
    members = group["NodeGroups"][0]["NodeGroupMembers"]
    assert [m["CurrentRole"] for m in members] == ["primary", "replica", "replica"]
    primary = client(members[0]["ReadEndpoint"])
    primary.set("k", "v")
    lab.clock.advance(LAG + 0.1)
    for member in members[1:]:
        assert client(member["ReadEndpoint"]).get("k") == "v"


def test_a_write_to_a_replica_is_refused_with_readonly(lab: Lab) -> None:
    group = replicated(lab)
    _, reader = endpoints(group)
    replica_node = client(group["NodeGroups"][0]["NodeGroupMembers"][2]["ReadEndpoint"])
    for node in (reader, replica_node):
        with pytest.raises(redis.ReadOnlyError, match="read only replica"):
            node.set("k", "v")
        with pytest.raises(redis.ReadOnlyError):
            node.delete("k")
    assert reader.get("k") is None  # reads are fine


def test_ttls_end_at_the_same_instant_on_the_replica(lab: Lab) -> None:
    primary, reader = endpoints(replicated(lab))
    primary.set("session", "ana", ex=60)
    lab.clock.advance(30)
    assert reader.get("session") == "ana"
    assert reader.ttl("session") == primary.ttl("session") == 30
    lab.clock.advance(31)
    assert reader.get("session") is None


def test_transactions_and_other_databases_replicate_as_they_ran(lab: Lab) -> None:
    group = replicated(lab)
    primary, reader = endpoints(group)
    pipe = primary.pipeline(transaction=True)
    pipe.set("a", "1").incr("counter").incr("counter")
    pipe.execute()
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]
    other_db = redis.Redis(host=endpoint["Address"], port=endpoint["Port"], db=1)
    other_db.set("only-in-1", "x")
    lab.clock.advance(LAG + 0.1)
    assert reader.mget("a", "counter", "only-in-1") == ["1", "2", None]
    reader_endpoint = group["NodeGroups"][0]["ReaderEndpoint"]
    reader_db1 = redis.Redis(host=reader_endpoint["Address"], port=reader_endpoint["Port"], db=1)
    assert reader_db1.get("only-in-1") == b"x"


def test_test_failover_promotes_a_replica_and_loses_writes_still_in_the_lag(lab: Lab) -> None:
    ec = lab.client("elasticache")
    group = replicated(lab)
    primary, _ = endpoints(group)
    primary.set("kept", "1")
    lab.clock.advance(LAG + 0.1)
    primary.set("lost", "1")  # not yet on any replica
    ec.test_failover(ReplicationGroupId="sessions", NodeGroupId="0001")
    described = ec.describe_replication_groups(ReplicationGroupId="sessions")
    members = described["ReplicationGroups"][0]["NodeGroups"][0]["NodeGroupMembers"]
    roles = {m["CacheClusterId"]: m["CurrentRole"] for m in members}
    assert roles == {
        "sessions-001": "replica",
        "sessions-002": "primary",
        "sessions-003": "replica",
    }
    # The old primary restarted: the client's connection dropped, and redis-py's retry
    # reconnected by the same endpoint name, which now reaches the promoted node.
    assert primary.get("kept") == "1"
    assert primary.get("lost") is None
    primary.set("after", "1")  # it takes writes
    old_primary = client(members[0]["ReadEndpoint"])
    with pytest.raises(redis.ReadOnlyError):
        old_primary.set("k", "v")
    assert old_primary.get("kept") == "1"  # resynchronised from the new primary
    lab.clock.advance(LAG + 0.1)
    assert old_primary.get("after") == "1"


def test_modify_replication_group_with_a_primary_cluster_id_promotes_that_member(
    lab: Lab,
) -> None:
    ec = lab.client("elasticache")
    group = replicated(lab)
    members = group["NodeGroups"][0]["NodeGroupMembers"]
    ec.modify_replication_group(
        ReplicationGroupId="sessions", PrimaryClusterId="sessions-003", ApplyImmediately=True
    )
    client(group["NodeGroups"][0]["PrimaryEndpoint"]).set("k", "v")  # reaches sessions-003
    assert client(members[2]["ReadEndpoint"]).get("k") == "v"
    with pytest.raises(redis.ReadOnlyError):
        client(members[1]["ReadEndpoint"]).set("k", "v")
    with pytest.raises(ClientError, match="not a member"):
        ec.modify_replication_group(ReplicationGroupId="sessions", PrimaryClusterId="nope-001")


def test_without_replicas_the_reader_endpoint_reads_the_primary_and_failover_is_refused(
    lab: Lab,
) -> None:
    group = replicated(lab, "solo", NumCacheClusters=1)
    primary, reader = endpoints(group)
    primary.set("k", "v")
    assert reader.get("k") == "v"
    with pytest.raises(ClientError, match="no replica"):
        lab.client("elasticache").test_failover(ReplicationGroupId="solo", NodeGroupId="0001")


def test_more_than_five_replicas_are_refused(lab: Lab) -> None:
    with pytest.raises(ClientError, match="at most 5 replicas"):
        replicated(lab, "big", ReplicasPerNodeGroup=6)


def test_a_key_the_primary_evicts_is_deleted_on_its_replicas() -> None:
    primary = CacheEngine("p", maxmemory=400, policy="allkeys-lru")
    replica = CacheEngine("r", maxmemory=400, policy="allkeys-lru")
    replicas = ReplicaSet(primary, [replica], lag=0)
    writer, reader = primary.client(), replica.client()
    for key in ("a", "b", "c", "d", "e"):
        writer.set(key, "x" * 40)
    writer.ping()  # the primary evicts before its next command
    evicted = primary.stats.evicted_keys
    assert evicted
    reader.ping()
    assert replicas.pending(replica) == 0
    assert reader.exists(*evicted) == 0
    assert replica.stats.evictions == 0  # the replica deleted them because the primary said so


def test_the_cache_view_says_how_far_behind_each_replica_is(lab: Lab) -> None:
    from labkit.services.elasticache import state, view

    group = replicated(lab)
    primary, _ = endpoints(group)
    primary.set("a", "1")
    primary.set("b", "2")
    text = view.render_text(state.snapshot(state.find("sessions")))
    assert "this node is the primary" in text
    assert "sessions-002 2 writes behind" in text
    lab.clock.advance(LAG / 2)
    primary.set("c", "3")
    text = view.render_text(state.snapshot(state.find("sessions")))
    assert "sessions-002 3 writes behind" in text
    lab.clock.advance(LAG / 2 + 0.01)  # a and b have arrived, c has not
    text = view.render_text(state.snapshot(state.find("sessions")))
    assert "sessions-002 1 write behind" in text
    assert "sessions-003 1 write behind" in text
    members = group["NodeGroups"][0]["NodeGroupMembers"]
    assert client(members[1]["ReadEndpoint"]).mget("a", "b", "c") == ["1", "2", None]


def test_the_replication_log_keeps_only_what_a_replica_has_not_applied() -> None:
    primary = CacheEngine("p", maxmemory=10**9)
    replicas = [CacheEngine("r1", maxmemory=10**9), CacheEngine("r2", maxmemory=10**9)]
    replica_set = ReplicaSet(primary, replicas, lag=0)
    writer = primary.client()
    for n in range(600):
        writer.set(f"k{n}", n)
    replicas[0].client().ping()  # r1 catches up; r2 has applied nothing
    assert len(replica_set.log) == 600
    replicas[1].client().ping()
    assert len(replica_set.log) < 256
    assert replicas[1].client().get("k599") == b"599"
    assert replicas[0].client().get("k599") == b"599"


def test_publish_on_the_primary_reaches_subscribers_of_a_replica(lab: Lab) -> None:
    primary, reader = endpoints(replicated(lab))
    listener = reader.pubsub()
    listener.subscribe("orders")
    assert listener.get_message(timeout=0)["type"] == "subscribe"
    primary.publish("orders", "order-1")
    lab.clock.advance(LAG + 0.1)
    reader.ping()  # the replica applies what has arrived before its next command
    message = listener.get_message(timeout=0)
    assert message is not None and message["data"] == "order-1"


def test_failover_requests_that_name_nothing_get_clear_errors(lab: Lab) -> None:
    ec = lab.client("elasticache")
    replicated(lab)
    with pytest.raises(ClientError, match="ReplicationGroupNotFound"):
        ec.test_failover(ReplicationGroupId="nope", NodeGroupId="0001")
    with pytest.raises(ClientError, match="NodeGroupNotFound"):
        ec.test_failover(ReplicationGroupId="sessions", NodeGroupId="0009")
    with pytest.raises(ClientError, match="not a member of sessions"):
        ec.modify_replication_group(ReplicationGroupId="sessions", PrimaryClusterId="other-002")


def test_spop_removes_the_same_members_on_the_replicas(lab: Lab) -> None:
    primary, reader = endpoints(replicated(lab))
    primary.sadd("raffle", *[f"ticket-{n}" for n in range(50)])
    popped = set(primary.spop("raffle", 10) or [])
    popped.add(str(primary.spop("raffle")))
    lab.clock.advance(LAG + 0.1)
    assert reader.smembers("raffle") == primary.smembers("raffle")
    assert not popped & reader.smembers("raffle")
    assert reader.scard("raffle") == 39
