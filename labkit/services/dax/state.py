"""What a DAX cluster's caches hold now, and what of it is stale: read-only, for views and checks.

:func:`cluster_snapshot` reads a cluster (by name or ARN; the only one when there is one) of the
running sandbox: its settings (node type, TTLs from its parameter group, memory), its item and
query cache entries with the TTL each has left, hits and misses, and its recent requests with
their modelled latency. An entry is **stale** when it differs from what the table holds now,
something DAX itself cannot know: an item entry whose item changed, appeared or went away since
it was cached (by a write straight to DynamoDB, or one DAX's TTL has not caught up with), and a
query entry one of whose items changed or went away. Reading the table for this costs it no
capacity. (A query entry is not re-run, so an item that would newly match it is not noticed.)
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from labkit.errors import LabkitError
from labkit.sandbox import backends
from labkit.services.dax.sim_cache import DaxCache, Entry, canonical


class DaxClusterNotFoundError(LabkitError):
    """A cluster the sandbox does not have, or an ambiguous request for "the" cluster."""

    code = "DaxClusterNotFound"


@dataclass(frozen=True)
class EntryInfo:
    """One cache entry as a view shows it.

    Attributes:
        cache: ``item`` or ``query``.
        table: Its table.
        label: What it caches, in words (the key, or the query's parameters).
        ttl_left: Seconds until it expires; ``None`` when it never expires by time.
        hits: Requests it answered.
        source: ``read`` (filled on a miss) or ``write-through``.
        negative: Whether it caches "nothing there".
        stale: Whether it differs from the table now.
        why: Why it is stale, in words (``""`` when it is not).
        value: What it holds, briefly.
        size: Bytes it takes.
    """

    cache: str
    table: str
    label: str
    ttl_left: float | None
    hits: int
    source: str
    negative: bool
    stale: bool
    why: str
    value: str
    size: int


@dataclass(frozen=True)
class RequestInfo:
    """One recent request: when, what, the outcome and its modelled latency in microseconds."""

    at: float
    operation: str
    table: str
    outcome: str
    latency_us: float
    detail: str


@dataclass(frozen=True)
class DaxSnapshot:
    """A DAX cluster and its caches at one moment of lab time.

    Attributes:
        name: The cluster's name.
        node_type: Its node type.
        nodes: How many nodes it has.
        parameter_group: Its parameter group.
        item_ttl: Item cache TTL in seconds (0: never expires by time).
        query_ttl: Query cache TTL in seconds (0: not cached).
        memory_bytes: The node memory the caches share.
        used_bytes: What the entries take.
        item_hits: Item cache hits.
        item_misses: Item cache misses.
        query_hits: Query cache hits.
        query_misses: Query cache misses.
        evictions: Entries evicted for memory (LRU).
        entries: Item entries then query entries, most recently used first.
        requests: Recent requests, oldest first.
        now: The lab time of the snapshot.
    """

    name: str
    node_type: str
    nodes: int
    parameter_group: str
    item_ttl: float
    query_ttl: float
    memory_bytes: int
    used_bytes: int
    item_hits: int
    item_misses: int
    query_hits: int
    query_misses: int
    evictions: int
    entries: tuple[EntryInfo, ...]
    requests: tuple[RequestInfo, ...]
    now: float

    @property
    def stale(self) -> tuple[EntryInfo, ...]:
        """The entries that differ from their table now."""
        return tuple(e for e in self.entries if e.stale)


def _clusters(account_id: str) -> list[Any]:
    return [
        cluster
        for _, backend in backends.existing("dax", account_id)
        for cluster in list(backend.clusters.values())
    ]


def find_cluster(cluster: str | None = None, *, account_id: str | None = None) -> Any:
    """moto's cluster object named ``cluster`` (name or ARN), or the only cluster when ``None``."""
    account = account_id or backends.DEFAULT_ACCOUNT_ID
    every = _clusters(account)
    if cluster is None:
        if len(every) != 1:
            names = ", ".join(sorted(c.name for c in every)) or "none"
            raise DaxClusterNotFoundError(
                f"Say which DAX cluster to show: this sandbox has {len(every)} ({names})."
            )
        return every[0]
    wanted = cluster.rsplit("/", 1)[-1].lower()
    for found in every:
        if found.name == wanted or found.arn == cluster:
            return found
    names = ", ".join(sorted(c.name for c in every)) or "none"
    raise DaxClusterNotFoundError(
        f"No DAX cluster {cluster!r} in this sandbox (clusters: {names})."
    )


def cache_of(cluster: Any) -> DaxCache | None:
    """The cluster's caches, once a DAX client has used it (``None`` before)."""
    cache = getattr(cluster, "labkit_cache", None)
    return cache if isinstance(cache, DaxCache) else None


def _normal(value: Any) -> Any:
    """An item in one form whichever side it came from (boto3 gives bytes, moto base64 text)."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normal(v) for v in value]
    return value


def _same(cached: dict[str, Any], current: dict[str, Any] | None, projected: bool) -> bool:
    if current is None:
        return False
    if projected:
        return all(
            name in current and canonical(_normal(v)) == canonical(_normal(current[name]))
            for name, v in cached.items()
        )
    return canonical(_normal(cached)) == canonical(_normal(current))


def _item_staleness(cache: DaxCache, entry: Entry) -> str:
    reader = cache.table_item
    if reader is None or entry.key_av is None:
        return ""
    current = reader(entry.table, entry.key_av)
    if entry.value is None:
        return "" if current is None else "cached as absent, but the table now has the item"
    if current is None:
        return "the table no longer has this item"
    if not _same(entry.value, current, bool(entry.projection)):
        return "the item changed in the table since it was cached"
    return ""


def _query_staleness(cache: DaxCache, entry: Entry) -> str:
    reader = cache.table_item
    if reader is None:
        return ""
    changed = 0
    for item in entry.value.get("Items", ()):
        if not _same(item, reader(entry.table, item), projected=True):
            changed += 1
    if changed:
        return f"{changed} of its items changed or went away in the table since it was cached"
    return ""


def _brief(entry: Entry) -> str:
    if entry.cache == "item":
        if entry.value is None:
            return "(no item)"
        return ", ".join(
            f"{name}={next(iter(v.values()), '')}" for name, v in sorted(entry.value.items())
        )
    items = entry.value.get("Items", [])
    return f"{len(items)} item{'s' if len(items) != 1 else ''}"


def _entry_info(cache: DaxCache, entry: Entry, now: float) -> EntryInfo:
    why = _item_staleness(cache, entry) if entry.cache == "item" else _query_staleness(cache, entry)
    return EntryInfo(
        cache=entry.cache,
        table=entry.table,
        label=entry.label,
        ttl_left=None if entry.expires_at is None else max(0.0, entry.expires_at - now),
        hits=entry.hits,
        source=entry.source,
        negative=entry.negative,
        stale=bool(why),
        why=why,
        value=_brief(entry),
        size=entry.size,
    )


def cluster_snapshot(
    cluster: str | None = None, *, now: float | None = None, account_id: str | None = None
) -> DaxSnapshot:
    """The cluster's caches now (see the module docstring)."""
    found = find_cluster(cluster, account_id=account_id)
    cache = cache_of(found)
    group = str(getattr(found, "labkit_parameter_group", "default.dax1.0"))
    if cache is None:
        from labkit import facts

        memory = facts.value("dax.node_memory")
        return DaxSnapshot(
            name=found.name,
            node_type=found.node_type,
            nodes=len(found.nodes),
            parameter_group=group,
            item_ttl=0.0,
            query_ttl=0.0,
            memory_bytes=int(memory.get(found.node_type, 0)),
            used_bytes=0,
            item_hits=0,
            item_misses=0,
            query_hits=0,
            query_misses=0,
            evictions=0,
            entries=(),
            requests=(),
            now=now or 0.0,
        )
    at = cache.now() if now is None else now
    settings = cache.settings
    entries = list(cache.entries())
    entries.reverse()  # most recently used first
    entries.sort(key=lambda e: e.cache)  # item before query, stable
    return DaxSnapshot(
        name=found.name,
        node_type=found.node_type,
        nodes=len(found.nodes),
        parameter_group=group,
        item_ttl=settings.item_ttl,
        query_ttl=settings.query_ttl,
        memory_bytes=settings.memory_bytes,
        used_bytes=cache.used_bytes,
        item_hits=cache.counters["item"].hits,
        item_misses=cache.counters["item"].misses,
        query_hits=cache.counters["query"].hits,
        query_misses=cache.counters["query"].misses,
        evictions=sum(c.evictions for c in cache.counters.values()),
        entries=tuple(_entry_info(cache, e, at) for e in entries),
        requests=tuple(
            RequestInfo(r.at, r.operation, r.table, r.outcome, r.latency_us, r.detail)
            for r in cache.requests
        ),
        now=at,
    )


__all__ = [
    "DaxClusterNotFoundError",
    "DaxSnapshot",
    "EntryInfo",
    "RequestInfo",
    "cache_of",
    "cluster_snapshot",
    "find_cluster",
]
