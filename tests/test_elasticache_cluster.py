"""ElastiCache cluster mode enabled: slots over shards, RedisCluster, MOVED, CROSSSLOT."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from botocore.exceptions import ClientError
from redis.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import RedisClusterException

from labkit import facts
from labkit.lab import Lab

LAG = float(facts.fact("elasticache.replication_lag_sandbox").value)
SLOTS = int(facts.fact("elasticache.hash_slots").value)


def sharded(lab: Lab, name: str = "catalog", **shape: Any) -> dict[str, Any]:
    shape = shape or {"NumNodeGroups": 3, "ReplicasPerNodeGroup": 1}
    group: dict[str, Any] = lab.client("elasticache").create_replication_group(
        ReplicationGroupId=name,
        ReplicationGroupDescription=name,
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        **shape,
    )["ReplicationGroup"]
    return group


def cluster_client(group: dict[str, Any], **kwargs: Any) -> RedisCluster:
    config = group["ConfigurationEndpoint"]
    return RedisCluster(
        host=config["Address"], port=config["Port"], decode_responses=True, **kwargs
    )


def ranges(slots: str) -> list[tuple[int, int]]:
    return [(int(a), int(b)) for a, b in (part.split("-") for part in slots.split(","))]


def test_redis_cluster_spreads_keys_over_the_shards_by_slot(lab: Lab) -> None:
    group = sharded(lab)
    assert group["ClusterEnabled"] is True
    client = cluster_client(group)
    keys = [f"product:{n}" for n in range(60)]
    for key in keys:
        client.set(key, key.upper())
    assert [client.get(key) for key in keys] == [key.upper() for key in keys]
    # Each shard's primary holds exactly the keys whose slots the shard's NodeGroup lists.
    primaries = client.get_primaries()
    assert len(primaries) == 3
    by_shard: dict[str, list[tuple[int, int]]] = {
        ng["NodeGroupId"]: ranges(ng["Slots"]) for ng in group["NodeGroups"]
    }
    covered = sorted(s for rs in by_shard.values() for a, b in rs for s in range(a, b + 1))
    assert covered == list(range(SLOTS))
    held = []
    for node in primaries:
        plain = redis.Redis(host=node.host, port=node.port, decode_responses=True)
        own = plain.keys("*")
        assert own, f"{node.host} holds no key: the keys did not spread"
        shard_id = node.host.split(".")[0].split("-")[1]  # catalog-0002-001 -> 0002
        for key in own:
            slot = key_slot(key.encode())
            assert any(a <= slot <= b for a, b in by_shard[shard_id])
        held += own
    assert sorted(held) == sorted(keys)


def test_a_key_sent_to_the_wrong_shard_is_answered_with_moved(lab: Lab) -> None:
    group = sharded(lab)
    config = group["ConfigurationEndpoint"]
    plain = redis.Redis(host=config["Address"], port=config["Port"], decode_responses=True)
    slot_ranges = {ng["NodeGroupId"]: ranges(ng["Slots"]) for ng in group["NodeGroups"]}
    # a key whose slot is not served by the node behind the configuration endpoint (shard 0001)
    key = next(
        f"k{n}"
        for n in range(1000)
        if not any(a <= key_slot(f"k{n}".encode()) <= b for a, b in slot_ranges["0001"])
    )
    with pytest.raises(redis.exceptions.MovedError) as moved:
        plain.set(key, "v")
    slot = key_slot(key.encode())
    assert moved.value.slot_id == slot
    owner = next(ng for ng, rs in slot_ranges.items() if any(a <= slot <= b for a, b in rs))
    assert moved.value.host.startswith(f"catalog-{owner}-001.")
    there = redis.Redis(host=moved.value.host, port=moved.value.port, decode_responses=True)
    assert there.set(key, "v")
    assert cluster_client(group).get(key) == "v"


def test_multi_key_commands_across_slots_are_refused_but_hash_tags_share_a_slot(lab: Lab) -> None:
    group = sharded(lab)
    host = group["ConfigurationEndpoint"]["Address"]
    plain = redis.Redis(host=host, port=6379, decode_responses=True)
    a, b = "{cart:7}:items", "{cart:7}:total"
    assert key_slot(a.encode()) == key_slot(b.encode())
    node = next(
        n for n in cluster_client(group).get_primaries()
        if n == cluster_client(group).get_node_from_key(a)
    )  # fmt: skip
    same_node = redis.Redis(host=node.host, port=node.port, decode_responses=True)
    assert same_node.mset({a: "3", b: "42"})
    assert same_node.mget(a, b) == ["3", "42"]
    with pytest.raises(redis.exceptions.ClusterCrossSlotError):
        plain.mset({"cart:7:items": "3", "cart:7:total": "42"})
    with pytest.raises(redis.exceptions.ClusterCrossSlotError):
        plain.delete("x", "y", "z")


def test_replicas_serve_reads_only_after_readonly_and_after_the_lag(lab: Lab) -> None:
    group = sharded(lab)
    writer = cluster_client(group)
    writer.set("stock:1", "5")
    replica_host = next(
        n for n in writer.get_nodes() if n.server_type == "replica"
        and writer.get_node_from_key("stock:1", replica=True) == n
    )  # fmt: skip
    plain = redis.Redis(host=replica_host.host, port=replica_host.port, decode_responses=True)
    with pytest.raises(redis.exceptions.MovedError):  # no READONLY: sent to the primary
        plain.get("stock:1")
    assert plain.execute_command("READONLY") in (b"OK", "OK", True)
    assert plain.get("stock:1") is None  # not replicated yet
    lab.clock.advance(LAG + 0.1)
    assert plain.get("stock:1") == "5"
    with pytest.raises(redis.exceptions.MovedError):  # a write goes to the primary
        plain.set("stock:1", "6")
    reader = cluster_client(group, read_from_replicas=True)
    assert reader.get("stock:1") == "5"


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ({"NumNodeGroups": 2}, [[(0, 8191)], [(8192, 16383)]]),
        ({"ClusterMode": "enabled", "NumNodeGroups": 1}, [[(0, 16383)]]),
        ({"CacheParameterGroupName": "default.redis7.cluster.on"}, [[(0, 16383)]]),
        (
            {
                "NodeGroupConfiguration": [
                    {"NodeGroupId": "0001", "Slots": "0-999", "ReplicaCount": 0},
                    {"NodeGroupId": "0002", "Slots": "1000-16383", "ReplicaCount": 2},
                ]
            },
            [[(0, 999)], [(1000, 16383)]],
        ),
    ],
)
def test_every_way_of_asking_for_cluster_mode_gives_a_configuration_endpoint(
    lab: Lab, shape: dict[str, Any], expected: list[list[tuple[int, int]]]
) -> None:
    group = sharded(lab, **shape)
    assert "ConfigurationEndpoint" in group
    assert [ranges(ng["Slots"]) for ng in group["NodeGroups"]] == expected
    client = cluster_client(group)
    for n in range(40):
        client.set(f"k{n}", n)
    assert (
        sum(len(redis.Redis(host=p.host, port=p.port).keys()) for p in client.get_primaries()) == 40
    )
    slots = client.cluster_slots()
    assert sorted(slots) == [r for rs in expected for r in rs]


@pytest.mark.parametrize("group_name", ["default.redis7", None])
def test_redis_cluster_on_a_cluster_mode_disabled_group_fails(
    lab: Lab, group_name: str | None
) -> None:
    extra = {"CacheParameterGroupName": group_name} if group_name else {}
    group = sharded(lab, "plain", NumCacheClusters=2, **extra)
    assert "ConfigurationEndpoint" not in group
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]
    with pytest.raises(RedisClusterException, match="Cluster mode is not enabled"):
        RedisCluster(host=endpoint["Address"], port=endpoint["Port"])


def test_a_shard_failover_moves_its_slots_to_the_promoted_replica(lab: Lab) -> None:
    group = sharded(lab)
    client = cluster_client(group)
    client.set("k1", "before")
    lab.clock.advance(LAG + 0.1)
    node_group = next(
        ng["NodeGroupId"] for ng in group["NodeGroups"]
        if any(a <= key_slot(b"k1") <= b for a, b in ranges(ng["Slots"]))
    )  # fmt: skip
    lab.client("elasticache").test_failover(ReplicationGroupId="catalog", NodeGroupId=node_group)
    fresh = cluster_client(group)
    primary = fresh.get_node_from_key("k1")
    assert primary.host.startswith(f"catalog-{node_group}-002.")
    assert fresh.get("k1") == "before"
    fresh.set("k1", "after")
    assert fresh.get("k1") == "after"
    # The client from before: its connection to the restarted node dropped, it asked for the
    # slots again and follows the promoted replica.
    assert client.get("k1") == "after"
    client.set("k1", "again")
    assert fresh.get("k1") == "again"


def test_a_custom_group_with_cluster_enabled_yes_turns_cluster_mode_on(lab: Lab) -> None:
    ec = lab.client("elasticache")
    ec.create_cache_parameter_group(
        CacheParameterGroupName="sharded",
        CacheParameterGroupFamily="redis7",
        Description="cluster mode",
    )
    ec.modify_cache_parameter_group(
        CacheParameterGroupName="sharded",
        ParameterNameValues=[{"ParameterName": "cluster-enabled", "ParameterValue": "yes"}],
    )
    group = sharded(lab, CacheParameterGroupName="sharded", ReplicasPerNodeGroup=1)
    assert group["ClusterEnabled"] is True
    client = cluster_client(group)
    client.set("k", "v")
    assert client.get("k") == "v"
    with pytest.raises(ClientError, match="not yes or no"):
        ec.modify_cache_parameter_group(
            CacheParameterGroupName="sharded",
            ParameterNameValues=[{"ParameterName": "cluster-enabled", "ParameterValue": "on"}],
        )


def test_cluster_mode_allows_only_database_zero_and_too_many_shards_are_refused(lab: Lab) -> None:
    group = sharded(lab)
    host = group["ConfigurationEndpoint"]["Address"]
    with pytest.raises(redis.ResponseError, match="SELECT is not allowed in cluster mode"):
        redis.Redis(host=host, port=6379, db=1).ping()
    with pytest.raises(ClientError, match="NumNodeGroups must be 1 to 500"):
        sharded(lab, "huge", NumNodeGroups=501)


def test_the_cache_view_lists_the_shards_and_their_keys(lab: Lab) -> None:
    from labkit.services.elasticache import state, view

    group = sharded(lab)
    client = cluster_client(group)
    for n in range(30):
        client.set(f"k{n}", n)
    text = view.render_text(state.snapshot(state.find("catalog")))
    assert "Cluster mode: 3 shards over 16384 slots" in text
    shard_keys = [len(redis.Redis(host=p.host, port=p.port).keys()) for p in client.get_primaries()]
    assert sum(shard_keys) == 30
    for node_group in group["NodeGroups"]:
        assert f"{node_group['NodeGroupId']} slots {node_group['Slots']}" in text


def test_each_shard_s_node_has_its_own_view_by_member_id(lab: Lab) -> None:
    from labkit.services.elasticache import state

    group = sharded(lab)
    client = cluster_client(group)
    client.set("k1", "v")
    owner = client.get_node_from_key("k1").host.split(".")[0]  # catalog-000N-001
    assert [k["key"] for k in state.snapshot(state.find(owner))["keys"]] == ["k1"]
    others = {"catalog-0001-001", "catalog-0002-001", "catalog-0003-001"} - {owner}
    assert all(state.snapshot(state.find(o))["keys"] == [] for o in others)


@pytest.mark.parametrize(
    ("shape", "says"),
    [
        ({"ClusterMode": "disabled", "NumNodeGroups": 2}, "allows one node group"),
        (
            {"NodeGroupConfiguration": [{"NodeGroupId": "0001", "ReplicaCount": 6}] * 2},
            "at most 5 replicas",
        ),
    ],
)
def test_shapes_elasticache_refuses_are_refused_with_what_is_wrong(
    lab: Lab, shape: dict[str, Any], says: str
) -> None:
    with pytest.raises(ClientError, match=says):
        sharded(lab, "wrong", **shape)
