"""A DAX node's two caches, on the lab clock: what AWS documents, in plain Python.

DAX keeps two caches in front of DynamoDB (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/DAX.concepts.html,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/dax-config-considerations.html):

- the **item cache** holds the results of ``GetItem`` and ``BatchGetItem``, by primary key. An
  entry lives for the cluster's item TTL (``record-ttl-millis``, 5 minutes by default); a TTL of
  0 means it never expires by time and only LRU eviction or a write through DAX replaces it;
- the **query cache** holds the results of ``Query`` and ``Scan``, keyed by the request's
  parameters. An entry lives for the query TTL (``query-ttl-millis``, 5 minutes by default;
  the sandbox reads 0 as "not cached", which AWS does not spell out); writes never update it,
  through DAX or not: "writes made through DAX or to the base table are not reflected in the
  query cache until the TTL expires the previously cached response";
- both keep **negative entries**: a read that found nothing caches the empty result ("Instead of
  generating an error, DAX caches an empty result"), which lives like any other entry
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/DAX.consistency.html);
- memory is bounded by the node: when it is full, DAX evicts the least recently used entries,
  expired or not ("The LRU algorithm is always enabled and not user-configurable"). An entry's
  recency is when it was stored or last read.

Each request DAX answers is recorded with its outcome (hit, miss, passed through, written
through) and a modelled latency: a hit costs microseconds, a miss DynamoDB's single-digit
milliseconds on top (``dax.hit_latency`` and ``dax.miss_latency`` in the fact table). The model's
jitter comes from a seeded generator, so a run is reproducible.

This module knows nothing of moto or of the DAX client: :mod:`.sim_node` decides what to look up
and store, and :mod:`.patch_client` connects the two to the sandbox.
"""

from __future__ import annotations

import functools
import json
import random
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, ParamSpec, TypeVar

from labkit import facts

CacheName = Literal["item", "query"]
Outcome = Literal["hit", "miss", "pass-through", "write-through", "error"]

#: How many recent requests a cache remembers for views and checks.
RECENT = 200


@dataclass(frozen=True)
class CacheSettings:
    """What a DAX cluster's parameter group and node type set for its caches.

    Attributes:
        item_ttl: The item cache TTL in seconds (``record-ttl-millis`` / 1000); 0 = no expiry.
        query_ttl: The query cache TTL in seconds (``query-ttl-millis`` / 1000); 0 = not cached.
        memory_bytes: How much the node holds before LRU eviction starts.
    """

    item_ttl: float
    query_ttl: float
    memory_bytes: int

    @classmethod
    def default(cls, memory_bytes: int | None = None) -> CacheSettings:
        """AWS's defaults (both TTLs 5 minutes) on the smallest node unless told otherwise."""
        return cls(
            item_ttl=float(facts.value("dax.item_cache_ttl_default")),
            query_ttl=float(facts.value("dax.query_cache_ttl_default")),
            memory_bytes=memory_bytes
            if memory_bytes is not None
            else int(facts.value("dax.node_memory")["dax.t3.small"]),
        )


@dataclass
class Entry:
    """One cache entry.

    Attributes:
        cache: ``"item"`` or ``"query"``.
        table: The table (a query entry of an index names the table too).
        key: The entry's identity within its cache (canonical JSON of key or parameters).
        label: The entry in words (``id=u1``; ``Query pk = :p {":p": "u1"}``).
        value: The cached answer: an item (``None`` for a negative entry) or a query response.
        size: Bytes the entry takes from the node's memory.
        stored_at: Lab time it was stored.
        expires_at: Lab time it expires; ``None`` never (item TTL 0).
        source: ``"read"`` (filled on a miss) or ``"write-through"`` (a write made through DAX).
        hits: How many requests it answered.
        key_av: The item's primary key as AttributeValues (item entries).
        projection: The projection the entry was read with (``""`` for the whole item).
    """

    cache: CacheName
    table: str
    key: str
    label: str
    value: Any
    size: int
    stored_at: float
    expires_at: float | None
    source: str
    hits: int = 0
    key_av: dict[str, Any] | None = None
    projection: str = ""

    @property
    def negative(self) -> bool:
        """Whether the entry caches "nothing there" (an absent item, an empty result)."""
        if self.cache == "item":
            return self.value is None
        return not self.value.get("Items") and "Item" not in self.value

    def expired(self, now: float) -> bool:
        """Whether the entry's TTL has passed at ``now``."""
        return self.expires_at is not None and now >= self.expires_at


@dataclass(frozen=True)
class Request:
    """One request DAX answered.

    Attributes:
        at: Lab time.
        operation: The API operation (``GetItem``, ``Query``, ...).
        table: The table it read or wrote (the first, for batches and transactions).
        outcome: ``hit``, ``miss``, ``pass-through`` (strongly consistent or transactional read,
            never cached), ``write-through`` or ``error`` (DynamoDB refused it).
        latency_us: Modelled latency in microseconds.
        detail: What happened, in words.
    """

    at: float
    operation: str
    table: str
    outcome: Outcome
    latency_us: float
    detail: str


@dataclass
class Counters:
    """Hits and misses of one cache."""

    hits: int = 0
    misses: int = 0
    evictions: int = 0
    expirations: int = 0


@dataclass(frozen=True)
class LatencyModel:
    """Modelled request latency: microseconds for a hit, DynamoDB's milliseconds for a miss.

    Attributes:
        hit_us: A cache hit, in microseconds (``dax.hit_latency``).
        miss_us: DynamoDB's part of a miss or a write, in microseconds (``dax.miss_latency``).
        jitter: Each figure varies by up to this fraction either way (seeded).
    """

    hit_us: float
    miss_us: float
    jitter: float = 0.25

    @classmethod
    def from_facts(cls) -> LatencyModel:
        """The model with the fact table's figures."""
        return cls(
            hit_us=float(facts.value("dax.hit_latency")),
            miss_us=float(facts.value("dax.miss_latency")),
        )


def canonical(value: Any) -> str:
    """A stable text form of a key or of request parameters (sorted keys, no spaces)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def attribute_size(value: Mapping[str, Any]) -> int:
    """An AttributeValue's size as DynamoDB counts item sizes (close enough for LRU accounting).

    Strings and binaries count their bytes, numbers about one byte per two digits plus one,
    booleans and nulls one byte, lists and maps three bytes plus their elements
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
    """
    if not value:
        return 1
    kind, v = next(iter(value.items()))
    if kind == "S":
        return len(str(v).encode())
    if kind == "N":
        digits = str(v).lstrip("-").replace(".", "").lstrip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(v) if isinstance(v, (bytes, bytearray)) else len(str(v))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "BS"):
        return sum(attribute_size({kind[0]: x}) for x in v)
    if kind == "NS":
        return sum(attribute_size({"N": x}) for x in v)
    if kind == "L":
        return 3 + sum(1 + attribute_size(x) for x in v)
    if kind == "M":
        return 3 + item_size(v)
    return len(str(v))


def item_size(item: Mapping[str, Any] | None) -> int:
    """Bytes of an item of AttributeValues: each attribute's name plus its value."""
    if not item:
        return 0
    return sum(len(name.encode()) + attribute_size(v) for name, v in item.items())


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _locked(method: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``method`` holding its cache's lock (the DAX client may be shared between threads)."""

    @functools.wraps(method)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with args[0]._lock:  # type: ignore[attr-defined]
            return method(*args, **kwargs)

    return run


#: Bytes every entry costs beyond its data (key, metadata); keeps negative entries from being free.
ENTRY_OVERHEAD = 100


class DaxCache:
    """The item cache and the query cache of one DAX cluster, sharing the node's memory.

    Args:
        settings: TTLs and memory (read again through ``settings_of`` when given).
        clock: Returns the lab time (epoch seconds).
        seed: Seeds the latency jitter.
        settings_of: Returns the current settings (a parameter group changes apply at once).
        latency: The latency model; the fact table's by default.
    """

    def __init__(
        self,
        settings: CacheSettings,
        clock: Callable[[], float],
        *,
        seed: int = 0,
        settings_of: Callable[[], CacheSettings] | None = None,
        latency: LatencyModel | None = None,
    ) -> None:
        self._settings = settings
        self._settings_of = settings_of
        self._clock = clock
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self.latency = latency or LatencyModel.from_facts()
        # One LRU order for both caches: they share the node's memory.
        self._entries: OrderedDict[tuple[CacheName, str], Entry] = OrderedDict()
        self.used_bytes = 0
        self.counters: dict[CacheName, Counters] = {"item": Counters(), "query": Counters()}
        self.requests: list[Request] = []
        #: Reads an item as its table holds it now, ``(table, key) -> item | None``; set by the
        #: patch so views can tell what is stale without costing the table capacity.
        self.table_item: Callable[[str, dict[str, Any]], Any] | None = None

    # -- settings and time ----------------------------------------------------------------------
    @property
    def settings(self) -> CacheSettings:
        """The settings in force now."""
        if self._settings_of is not None:
            self._settings = self._settings_of()
        return self._settings

    def now(self) -> float:
        """The lab time."""
        return self._clock()

    # -- lookups --------------------------------------------------------------------------------
    @_locked
    def lookup(self, cache: CacheName, key: str) -> Entry | None:
        """The live entry for ``key`` (a hit), or ``None`` (a miss: absent, or expired and dropped).

        A hit makes the entry the most recently used and counts; so does a miss.
        """
        entry = self._entries.get((cache, key))
        now = self.now()
        if entry is not None and entry.expired(now):
            self._drop((cache, key))
            self.counters[cache].expirations += 1
            entry = None
        if entry is None:
            self.counters[cache].misses += 1
            return None
        self._entries.move_to_end((cache, key))
        entry.hits += 1
        self.counters[cache].hits += 1
        return entry

    # -- stores ---------------------------------------------------------------------------------
    @_locked
    def store(
        self,
        cache: CacheName,
        key: str,
        value: Any,
        *,
        table: str,
        label: str,
        source: str = "read",
        key_av: dict[str, Any] | None = None,
        projection: str = "",
    ) -> Entry | None:
        """Cache ``value`` under ``key``; ``None`` when the cache keeps nothing (query TTL 0)."""
        settings = self.settings
        ttl = settings.item_ttl if cache == "item" else settings.query_ttl
        if cache == "query" and ttl <= 0:
            return None
        now = self.now()
        if cache == "item":
            size = ENTRY_OVERHEAD + len(key) + item_size(value)
        else:
            size = ENTRY_OVERHEAD + len(key) + sum(item_size(i) for i in value.get("Items", ()))
        self._drop((cache, key))
        entry = Entry(
            cache=cache,
            table=table,
            key=key,
            label=label,
            value=value,
            size=size,
            stored_at=now,
            expires_at=now + ttl if ttl > 0 else None,
            source=source,
            key_av=key_av,
            projection=projection,
        )
        self._entries[(cache, key)] = entry
        self.used_bytes += size
        self._evict(settings.memory_bytes)
        return entry if (cache, key) in self._entries else None

    @_locked
    def forget_where(self, cache: CacheName, test: Callable[[Entry], bool]) -> int:
        """Drop every entry of ``cache`` that passes ``test``; how many were dropped."""
        doomed = [k for k, e in self._entries.items() if k[0] == cache and test(e)]
        for k in doomed:
            self._drop(k)
        return len(doomed)

    def _drop(self, k: tuple[CacheName, str]) -> None:
        entry = self._entries.pop(k, None)
        if entry is not None:
            self.used_bytes -= entry.size

    def _evict(self, budget: int) -> None:
        while self.used_bytes > budget and self._entries:
            k, entry = self._entries.popitem(last=False)
            self.used_bytes -= entry.size
            self.counters[k[0]].evictions += 1

    # -- requests -------------------------------------------------------------------------------
    @_locked
    def record(self, operation: str, table: str, outcome: Outcome, detail: str = "") -> Request:
        """Remember a request DAX answered, with its modelled latency."""
        model = self.latency
        hit = model.hit_us * (1 + self._rng.uniform(-model.jitter, model.jitter))
        if outcome == "hit":
            latency = hit
        else:
            latency = hit + model.miss_us * (1 + self._rng.uniform(-model.jitter, model.jitter))
        request = Request(self.now(), operation, table, outcome, round(latency, 1), detail)
        self.requests.append(request)
        if len(self.requests) > RECENT:
            del self.requests[: len(self.requests) - RECENT]
        return request

    # -- reading --------------------------------------------------------------------------------
    def entries(self, cache: CacheName | None = None) -> Iterator[Entry]:
        """Live entries, least recently used first (expired ones are skipped, not dropped)."""
        now = self.now()
        with self._lock:
            current = list(self._entries.items())
        for (name, _), entry in current:
            if (cache is None or name == cache) and not entry.expired(now):
                yield entry

    def __len__(self) -> int:
        return sum(1 for _ in self.entries())


__all__ = [
    "ENTRY_OVERHEAD",
    "RECENT",
    "CacheName",
    "CacheSettings",
    "Counters",
    "DaxCache",
    "Entry",
    "LatencyModel",
    "Outcome",
    "Request",
    "attribute_size",
    "canonical",
    "item_size",
]
