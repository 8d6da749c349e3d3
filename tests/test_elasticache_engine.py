"""ElastiCache in the sandbox: the real redis client at the endpoint, TTLs, AUTH, eviction."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from labkit.lab import Lab
from labkit.services.elasticache.sim_cache import CacheEngine

TOKEN = "a-token-of-16-chars-or-more"


def node_endpoint(lab: Lab, name: str = "cache") -> dict[str, Any]:
    ec = lab.client("elasticache")
    ec.create_cache_cluster(
        CacheClusterId=name, Engine="redis", CacheNodeType="cache.t3.micro", NumCacheNodes=1
    )
    cluster = ec.describe_cache_clusters(CacheClusterId=name, ShowCacheNodeInfo=True)
    return dict(cluster["CacheClusters"][0]["CacheNodes"][0]["Endpoint"])


def test_the_redis_client_reaches_the_cluster_and_ttls_follow_the_lab_clock(lab: Lab) -> None:
    endpoint = node_endpoint(lab)
    client = redis.Redis(host=endpoint["Address"], port=endpoint["Port"], decode_responses=True)
    client.set("session:1", "ana", ex=60)
    assert client.ttl("session:1") == 60
    lab.clock.advance(60)  # Redis keeps a key until its expiry time has passed
    assert client.get("session:1") == "ana"
    lab.clock.advance(1)
    assert client.get("session:1") is None


def test_two_clusters_hold_different_data(lab: Lab) -> None:
    one, two = node_endpoint(lab, "one"), node_endpoint(lab, "two")
    redis.Redis(host=one["Address"], port=one["Port"]).set("k", "1")
    assert redis.Redis(host=two["Address"], port=two["Port"]).get("k") is None


def test_the_auth_token_and_tls_are_enforced(lab: Lab) -> None:
    group = lab.client("elasticache").create_replication_group(
        ReplicationGroupId="sessions",
        ReplicationGroupDescription="sessions",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        AuthToken=TOKEN,
        TransitEncryptionEnabled=True,
    )["ReplicationGroup"]
    endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]
    host, port = endpoint["Address"], endpoint["Port"]
    assert redis.Redis(host=host, port=port, password=TOKEN, ssl=True).ping()
    with pytest.raises(redis.ResponseError, match="NOAUTH"):
        redis.Redis(host=host, port=port, ssl=True).get("k")
    with pytest.raises(redis.ResponseError, match="WRONGPASS"):
        redis.Redis(host=host, port=port, password="not-the-token-at-all", ssl=True).get("k")
    with pytest.raises(redis.ConnectionError, match="ssl=True"):
        redis.Redis(host=host, port=port, password=TOKEN).get("k")
    assert redis.from_url(f"rediss://:{TOKEN}@{host}:{port}/0").ping()


def test_the_wrong_port_is_refused(lab: Lab) -> None:
    endpoint = node_endpoint(lab)
    with pytest.raises(redis.ConnectionError):
        redis.Redis(host=endpoint["Address"], port=6380).get("k")


def test_allkeys_lru_evicts_the_least_recently_used_key() -> None:
    engine = CacheEngine("c", maxmemory=400, policy="allkeys-lru")
    client = engine.client(decode_responses=True)
    for key in ("a", "b", "c"):
        client.set(key, "x" * 40)
    client.get("a")  # "b" is now the least recently used
    client.set("d", "x" * 40)
    client.set("e", "x" * 40)
    client.ping()  # Redis evicts before the next command
    assert "b" in engine.stats.evicted_keys
    assert client.get("a") is not None
    assert engine.used_memory() <= engine.maxmemory


def test_volatile_lru_only_evicts_keys_with_a_ttl() -> None:
    engine = CacheEngine("c", maxmemory=300, policy="volatile-lru")
    client = engine.client(decode_responses=True)
    client.set("keep", "x" * 40)
    client.set("temp", "x" * 40, ex=100)
    client.set("more", "x" * 80)
    client.ping()
    assert engine.stats.evicted_keys == ["temp"]
    client.set("again", "x" * 80)  # over maxmemory again, and no key with a TTL is left
    with pytest.raises(redis.ResponseError, match="OOM"):
        client.set("more", "y")


def test_noeviction_refuses_writes_but_serves_reads() -> None:
    engine = CacheEngine("c", maxmemory=200, policy="noeviction")
    client = engine.client(decode_responses=True)
    client.set("a", "x" * 100)
    client.set("b", "x" * 100)
    with pytest.raises(redis.ResponseError, match="OOM command not allowed"):
        client.set("c", "x")
    assert client.get("a") == "x" * 100
    assert engine.stats.evictions == 0


def test_hits_and_misses_are_counted() -> None:
    engine = CacheEngine("c", maxmemory=10_000)
    client = engine.client()
    client.set("a", "1")
    client.get("a")
    client.get("missing")
    client.mget("a", "missing", "gone")
    assert (engine.stats.hits, engine.stats.misses) == (2, 3)


def test_the_cache_view_shows_keys_ttls_hits_misses_and_evictions(lab: Lab) -> None:
    from labkit.services.elasticache import state, view

    endpoint = node_endpoint(lab, "Sessions")
    client = redis.Redis(host=endpoint["Address"], port=endpoint["Port"])
    client.set("session:ana", "cart=3", ex=300)
    client.set("config", "v1")
    client.get("session:ana")
    client.get("session:bob")
    lab.clock.advance(100)
    snap = state.snapshot(state.find("sessions"))
    text = view.render_text(snap)
    assert "session:ana" in text and "200 s left" in text
    assert "∞ no TTL" in text
    assert "1 hit, 1 miss" in text
    assert "Evictions: 0" in text
    html = view.render_html(snap)
    assert 'class="labkit-view labkit-elasticache"' in html
    assert "session:ana" in html
    with pytest.raises(state.CacheNotFoundError, match="Sessions"):
        state.find("nope")


def test_the_parameter_groups_policy_drives_eviction_and_changes_apply_at_once(lab: Lab) -> None:
    from labkit.services.elasticache import state

    ec = lab.client("elasticache")
    ec.create_cache_parameter_group(
        CacheParameterGroupName="lru-all", CacheParameterGroupFamily="redis7", Description="x"
    )
    ec.modify_cache_parameter_group(
        CacheParameterGroupName="lru-all",
        ParameterNameValues=[
            {"ParameterName": "maxmemory-policy", "ParameterValue": "allkeys-lru"}
        ],
    )
    params = ec.describe_cache_parameters(CacheParameterGroupName="lru-all")["Parameters"]
    assert {p["ParameterName"]: p["ParameterValue"] for p in params}["maxmemory-policy"] == (
        "allkeys-lru"
    )
    ec.create_cache_cluster(
        CacheClusterId="lru",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        NumCacheNodes=1,
        CacheParameterGroupName="lru-all",
    )
    engine = state.find("lru")
    assert engine.policy == "allkeys-lru"
    ec.modify_cache_parameter_group(
        CacheParameterGroupName="lru-all",
        ParameterNameValues=[{"ParameterName": "maxmemory-policy", "ParameterValue": "noeviction"}],
    )
    assert engine.policy == "noeviction"
    assert state.find(node_endpoint(lab, "plain")["Address"].split(".")[0]).policy == "volatile-lru"


def test_parameter_group_mistakes_are_refused(lab: Lab) -> None:
    from botocore.exceptions import ClientError

    ec = lab.client("elasticache")
    with pytest.raises(ClientError, match="cannot be modified"):
        ec.modify_cache_parameter_group(
            CacheParameterGroupName="default.redis7",
            ParameterNameValues=[{"ParameterName": "maxmemory-policy", "ParameterValue": "x"}],
        )
    ec.create_cache_parameter_group(
        CacheParameterGroupName="mine", CacheParameterGroupFamily="redis7", Description="x"
    )
    with pytest.raises(ClientError, match="not one of"):
        ec.modify_cache_parameter_group(
            CacheParameterGroupName="mine",
            ParameterNameValues=[{"ParameterName": "maxmemory-policy", "ParameterValue": "lru"}],
        )
    with pytest.raises(ClientError) as error:
        ec.create_cache_cluster(
            CacheClusterId="c",
            Engine="redis",
            CacheNodeType="cache.t3.micro",
            NumCacheNodes=1,
            CacheParameterGroupName="missing",
        )
    assert error.value.response["Error"]["Code"] == "CacheParameterGroupNotFound"
