"""Lua scripts (EVAL, EVALSHA) on ElastiCache endpoints with the real redis client.

fakeredis runs Lua with lupa. A script is one atomic command: here a fixed-window rate limiter
(INCR, EXPIRE on the first hit) through a replication group's primary endpoint and through a
cluster-mode configuration endpoint, its window on the lab clock; a replica applies a script's
writes after the lag and refuses a script that writes; in cluster mode a script's keys must
share a slot (CROSSSLOT otherwise, from the cluster client and from the node itself).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from redis.cluster import RedisCluster

import labkit
from labkit import facts
from labkit.lab import Lab

LAG = float(facts.fact("elasticache.replication_lag_sandbox").value)
WINDOW, LIMIT = 60, 3

#: A fixed-window rate limiter: 1 while the caller is under LIMIT hits in the window, else 0.
LIMITER = """
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
if hits > tonumber(ARGV[2]) then
  return 0
end
return 1
"""


@pytest.fixture(autouse=True)
def no_sandbox_left_running() -> None:
    """The module's one sandbox keeps running between its tests (conftest stops leftovers)."""


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def _client(endpoint: dict[str, Any]) -> redis.Redis:
    return redis.Redis(host=endpoint["Address"], port=endpoint["Port"], decode_responses=True)


def test_a_lua_rate_limiter_through_the_primary_endpoint_on_the_lab_clock(lab: Lab) -> None:
    group = lab.client("elasticache").create_replication_group(
        ReplicationGroupId="limits",
        ReplicationGroupDescription="rate limits",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        NumCacheClusters=2,
    )["ReplicationGroup"]
    node_group = group["NodeGroups"][0]
    primary = _client(node_group["PrimaryEndpoint"])
    reader = _client(node_group["ReaderEndpoint"])

    limiter = primary.register_script(LIMITER)  # EVALSHA, loading the script on NOSCRIPT
    assert [limiter(keys=["rate:ana"], args=[WINDOW, LIMIT]) for _ in range(5)] == [1, 1, 1, 0, 0]
    assert primary.get("rate:ana") == "5"
    assert primary.ttl("rate:ana") == WINDOW
    # EVAL with the script's text: another caller, its own window.
    assert primary.eval(LIMITER, 1, "rate:bo", WINDOW, LIMIT) == 1

    # The replica applies the script's writes after the lag, expiring at the same instant.
    assert reader.get("rate:ana") is None
    lab.clock.advance(LAG + 1)
    assert reader.get("rate:ana") == "5"
    assert reader.pttl("rate:ana") == primary.pttl("rate:ana") < WINDOW * 1000
    # A script that only reads runs on the replica; one that writes is refused.
    assert reader.eval("return redis.call('GET', KEYS[1])", 1, "rate:ana") == "5"
    with pytest.raises(redis.exceptions.ReadOnlyError):
        reader.eval(LIMITER, 1, "rate:ana", WINDOW, LIMIT)

    # The window ends on the lab clock (Redis expires a key once its time has passed): the
    # counter is gone and the caller is let in again.
    lab.clock.advance(WINDOW)
    assert primary.get("rate:ana") is None
    assert limiter(keys=["rate:ana"], args=[WINDOW, LIMIT]) == 1


def test_scripts_through_the_cluster_mode_endpoint_and_crossslot(lab: Lab) -> None:
    group = lab.client("elasticache").create_replication_group(
        ReplicationGroupId="limits-cluster",
        ReplicationGroupDescription="rate limits, sharded",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        NumNodeGroups=3,
        ReplicasPerNodeGroup=0,
    )["ReplicationGroup"]
    config = group["ConfigurationEndpoint"]
    cluster = RedisCluster(host=config["Address"], port=config["Port"], decode_responses=True)
    callers = [f"rate:user{i}" for i in range(6)]
    shards = {cluster.get_node_from_key(key).name for key in callers}
    assert len(shards) > 1  # the callers' counters live on several shards
    for key in callers:
        assert [cluster.eval(LIMITER, 1, key, WINDOW, LIMIT) for _ in range(4)] == [1, 1, 1, 0]
    sha = cluster.script_load(LIMITER)
    assert cluster.evalsha(sha, 1, "rate:user0", WINDOW, LIMIT) == 0
    lab.clock.advance(WINDOW + 1)
    assert cluster.evalsha(sha, 1, "rate:user0", WINDOW, LIMIT) == 1

    both = "return redis.call('MGET', KEYS[1], KEYS[2])"
    a, b = "cart:ana", "cart:bo"
    assert cluster.keyslot(a) != cluster.keyslot(b)
    with pytest.raises(redis.exceptions.RedisClusterException, match="same key slot"):
        cluster.eval(both, 2, a, b)  # the cluster client refuses before sending
    # Sent to the node that owns the first key, the node itself refuses (CROSSSLOT).
    owner = cluster.get_node_from_key(a)
    node = redis.Redis(host=owner.host, port=owner.port, decode_responses=True)
    with pytest.raises(redis.exceptions.ResponseError, match="hash to the same slot"):
        node.eval(both, 2, a, b)
    # Keys with one hash tag share a slot: the script runs.
    cluster.set("{ana}cart", "3")
    assert cluster.eval(both, 2, "{ana}cart", "{ana}wish") == ["3", None]
