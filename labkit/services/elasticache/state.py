"""Read-only snapshots of ElastiCache clusters' engines, for the cache view and checks.

A snapshot is plain data (dicts, lists, numbers, strings): what the view renders and what a
widget would sync. The engine of each cluster is found on moto's models through
:mod:`labkit.sandbox.backends` (no backend is created by looking).
"""

from __future__ import annotations

import time
from typing import Any

from labkit.errors import LabkitError
from labkit.sandbox.backends import existing
from labkit.services.elasticache.sim_cache import CacheEngine

#: The attribute of a moto cluster or replication group that holds its engine (see the patch).
ENGINE_ATTRIBUTE = "_labkit_engine"
#: The attribute of a moto replication group that maps member ids to engines (patch_cluster).
MEMBER_ENGINES_ATTRIBUTE = "_labkit_member_engines"
#: How many characters of a value a snapshot keeps.
PREVIEW = 40


class CacheNotFoundError(LabkitError):
    """No ElastiCache cluster or replication group of that id has an engine."""

    code = "CacheNotFound"

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            f"There is no ElastiCache cluster or replication group {name!r} with a Redis engine. "
            f"Known: {', '.join(known) or 'none'}."
        )


def engines() -> dict[str, CacheEngine]:
    """Every engine in the sandbox by cluster (or replication group) id."""
    found: dict[str, CacheEngine] = {}
    for _region, backend in existing("elasticache"):
        for owner in (
            *getattr(backend, "cache_clusters", {}).values(),
            *getattr(backend, "replication_groups", {}).values(),
        ):
            engine = getattr(owner, ENGINE_ATTRIBUTE, None)
            if isinstance(engine, CacheEngine):
                found[engine.name] = engine
            # each node of a replication group (replicas, cluster-mode shards) by member id
            for member, node in getattr(owner, MEMBER_ENGINES_ATTRIBUTE, {}).items():
                if isinstance(node, CacheEngine):
                    found.setdefault(member, node)
    return found


def find(name: str) -> CacheEngine:
    """The engine of cluster, replication group or group member ``name`` (id, any case, or ARN)."""
    key = name.rsplit(":", 1)[-1].lower()
    everything = engines()
    for found, engine in everything.items():
        if found.lower() == key:
            return engine
    raise CacheNotFoundError(name, sorted(everything))


def _type_of(value: Any) -> str:
    if isinstance(value, bytes):
        return "string"
    name = type(value).__name__.lower()
    for kind in ("zset", "hash", "list", "set", "stream"):
        if kind in name:
            return kind
    return "hash" if isinstance(value, dict) else name


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _preview(value: Any) -> str:
    if isinstance(value, bytes):
        text = _text(value)
    elif isinstance(value, dict) or hasattr(value, "items"):
        # hashes, and sorted sets (member -> score)
        text = ", ".join(f"{_text(k)}: {_text(v)}" for k, v in value.items())
    else:
        try:
            text = ", ".join(_text(v) for v in value)
        except TypeError:
            text = _text(value)
    return text if len(text) <= PREVIEW else text[: PREVIEW - 1] + "…"


def snapshot(engine: CacheEngine, now: float | None = None) -> dict[str, Any]:
    """The engine's keys (value, TTL left, recency), memory and statistics, as plain data."""
    now = time.time() if now is None else now
    keys: list[dict[str, Any]] = []
    for key, item in engine.live_items().items():
        keys.append(
            {
                "key": key.decode("utf-8", "replace"),
                "type": _type_of(item.value),
                "value": _preview(item.value),
                "ttl_left": None if item.expireat is None else max(0.0, item.expireat - now),
                "last_used": engine.last_used(key),
                "uses": engine.uses(key),
            }
        )
    keys.sort(key=lambda k: -k["last_used"])
    stats = engine.stats
    reads = stats.hits + stats.misses
    return {
        "name": engine.name,
        "at": now,
        "policy": engine.policy,
        "maxmemory": engine.maxmemory,
        "used_memory": engine.used_memory(),
        "auth": engine.auth_token is not None,
        "hits": stats.hits,
        "misses": stats.misses,
        "hit_ratio": stats.hits / reads if reads else None,
        "evictions": stats.evictions,
        "evicted_keys": list(stats.evicted_keys[-10:]),
        "keys": keys,
        "replication": _replication(engine),
        "shards": _shards(engine),
    }


def _replication(engine: CacheEngine) -> dict[str, Any] | None:
    """This node's role, and each replica's writes not yet applied (``None``: no replicas)."""
    replicas = engine.replication
    if replicas is None or not replicas.replicas:
        return None
    return {
        "role": "primary" if replicas.primary is engine else "replica",
        "primary": replicas.primary.name,
        "lag": replicas.lag,
        "replicas": [{"name": r.name, "pending": replicas.pending(r)} for r in replicas.replicas],
    }


def _shards(engine: CacheEngine) -> list[dict[str, Any]]:
    """Each shard of this node's cluster (cluster mode): slots, primary, keys held."""
    router = engine.router
    if router is None:
        return []
    return [
        {
            "id": shard.shard_id,
            "slots": ",".join(f"{start}-{end}" for start, end in shard.ranges),
            "primary": shard.replica_set.primary.name,
            "keys": len(shard.replica_set.primary.live_items()),
            "here": engine in shard.engines,
        }
        for shard in router.shards
    ]
