"""ElastiCache deletion: a deleted cluster's or replication group's endpoints stop answering.

On AWS the endpoints' DNS names go with the cluster, so the real client fails to connect as to a
host that does not exist (redis-py's ``ConnectionError``), and the nodes' data is gone. moto
marks the cluster ``deleting`` at once and keeps serving nothing else, so the sandbox takes the
endpoints away at that moment.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster

from labkit.lab import Lab
from labkit.services.elasticache.patch import engine_for


def client(endpoint: dict[str, Any]) -> redis.Redis:
    # redis-py's default retries: the sandbox's connections retry without wall-clock backoff.
    return redis.Redis(host=endpoint["Address"], port=endpoint["Port"], decode_responses=True)


def cache_cluster(lab: Lab, name: str = "sessions") -> dict[str, Any]:
    cluster: dict[str, Any] = lab.client("elasticache").create_cache_cluster(
        CacheClusterId=name, Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1
    )["CacheCluster"]
    described = lab.client("elasticache").describe_cache_clusters(
        CacheClusterId=name, ShowCacheNodeInfo=True
    )["CacheClusters"][0]
    assert cluster["CacheClusterId"] == name
    return dict(described["CacheNodes"][0]["Endpoint"])


def test_a_deleted_cache_clusters_endpoint_fails_to_connect_and_its_data_is_gone(
    lab: Lab,
) -> None:
    endpoint = cache_cluster(lab)
    open_client = client(endpoint)
    open_client.set("user:1", "ana")
    assert open_client.get("user:1") == "ana"
    moto_cluster = lab.sandbox.backend("elasticache").cache_clusters["sessions"]
    engine = engine_for(moto_cluster)
    assert engine is not None

    lab.client("elasticache").delete_cache_cluster(CacheClusterId="sessions")
    with pytest.raises(redis.ConnectionError):
        open_client.get("user:1")  # a connection already open: dropped
    with pytest.raises(redis.ConnectionError, match="Name or service not known"):
        client(endpoint).get("user:1")  # a new one: the name no longer resolves
    assert engine.deleted and engine.live_items() == {}  # freed
    assert engine_for(moto_cluster) is None


def test_a_deleted_replication_groups_endpoints_all_fail(lab: Lab) -> None:
    group = lab.client("elasticache").create_replication_group(
        ReplicationGroupId="carts",
        ReplicationGroupDescription="carts",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        NumCacheClusters=2,
    )["ReplicationGroup"]
    node_group = group["NodeGroups"][0]
    endpoints = [
        node_group["PrimaryEndpoint"],
        node_group["ReaderEndpoint"],
        *(m["ReadEndpoint"] for m in node_group["NodeGroupMembers"]),
    ]
    client(endpoints[0]).set("cart:1", "3 items")
    lab.client("elasticache").delete_replication_group(ReplicationGroupId="carts")
    for endpoint in endpoints:
        with pytest.raises(redis.ConnectionError, match="Name or service not known"):
            client(endpoint).get("cart:1")


def test_a_retained_primary_keeps_its_node_endpoint_and_data(lab: Lab) -> None:
    group = lab.client("elasticache").create_replication_group(
        ReplicationGroupId="carts",
        ReplicationGroupDescription="carts",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        NumCacheClusters=2,
    )["ReplicationGroup"]
    node_group = group["NodeGroups"][0]
    primary_node = next(
        m["ReadEndpoint"] for m in node_group["NodeGroupMembers"] if m["CurrentRole"] == "primary"
    )
    replica_node = next(
        m["ReadEndpoint"] for m in node_group["NodeGroupMembers"] if m["CurrentRole"] == "replica"
    )
    client(node_group["PrimaryEndpoint"]).set("cart:1", "3 items")
    lab.client("elasticache").delete_replication_group(
        ReplicationGroupId="carts", RetainPrimaryCluster=True
    )
    assert client(primary_node).get("cart:1") == "3 items"  # kept, with its data
    for gone in (node_group["PrimaryEndpoint"], node_group["ReaderEndpoint"], replica_node):
        with pytest.raises(redis.ConnectionError, match="Name or service not known"):
            client(gone).get("cart:1")


def test_a_deleted_cluster_mode_group_refuses_the_cluster_client(lab: Lab) -> None:
    group = lab.client("elasticache").create_replication_group(
        ReplicationGroupId="scores",
        ReplicationGroupDescription="scores",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        NumNodeGroups=2,
        ReplicasPerNodeGroup=0,
    )["ReplicationGroup"]
    config = group["ConfigurationEndpoint"]
    cluster = RedisCluster(host=config["Address"], port=config["Port"], decode_responses=True)
    cluster.set("player:1", "10")
    assert cluster.get("player:1") == "10"
    lab.client("elasticache").delete_replication_group(ReplicationGroupId="scores")
    with pytest.raises(redis.exceptions.RedisClusterException, match="Name or service not known"):
        RedisCluster(host=config["Address"], port=config["Port"], decode_responses=True)
