"""The DAX cache simulator in plain Python (no lab, no moto): TTLs, LRU, negative entries."""

from __future__ import annotations

import pytest

from labkit import facts
from labkit.services.dax.sim_cache import (
    ENTRY_OVERHEAD,
    CacheSettings,
    DaxCache,
    LatencyModel,
    item_size,
)

NOW = 1_767_603_600.0


class Clock:
    def __init__(self) -> None:
        self.t = NOW

    def __call__(self) -> float:
        return self.t


def cache(
    item_ttl: float = 300, query_ttl: float = 300, memory: int = 10_000
) -> tuple[DaxCache, Clock]:
    clock = Clock()
    return DaxCache(CacheSettings(item_ttl, query_ttl, memory), clock), clock


def item(n: int, pad: int = 0) -> dict[str, dict[str, str]]:
    return {"id": {"S": f"k{n}"}, "pad": {"S": "x" * pad}}


def test_the_defaults_are_aws_five_minutes_on_the_smallest_node() -> None:
    settings = CacheSettings.default()
    assert settings.item_ttl == settings.query_ttl == 300
    assert settings.memory_bytes == facts.value("dax.node_memory")["dax.t3.small"]


def test_an_entry_lives_exactly_its_ttl_on_the_lab_clock() -> None:
    c, clock = cache(item_ttl=60)
    c.store("item", "k", item(1), table="t", label="k")
    clock.t += 59.9
    assert c.lookup("item", "k") is not None
    clock.t += 0.1
    assert c.lookup("item", "k") is None
    assert c.counters["item"].hits == 1 and c.counters["item"].misses == 1
    assert c.counters["item"].expirations == 1


def test_an_item_ttl_of_zero_never_expires_and_a_query_ttl_of_zero_caches_nothing() -> None:
    c, clock = cache(item_ttl=0, query_ttl=0)
    c.store("item", "k", item(1), table="t", label="k")
    assert c.store("query", "q", {"Items": []}, table="t", label="q") is None
    clock.t += 10 * 365 * 86400
    assert c.lookup("item", "k") is not None
    assert c.lookup("query", "q") is None


def test_lru_evicts_the_least_recently_used_when_memory_is_full() -> None:
    size = ENTRY_OVERHEAD + 1 + item_size(item(0, 100))
    c, _ = cache(memory=3 * size)
    for name in "abc":
        c.store("item", name, item(0, 100), table="t", label=name)
    assert c.lookup("item", "a") is not None  # a is now the most recently used
    c.store("item", "d", item(0, 100), table="t", label="d")
    assert [e.key for e in c.entries()] == ["c", "a", "d"]
    assert c.counters["item"].evictions == 1
    assert c.used_bytes <= 3 * size


def test_eviction_ignores_ttl_and_spans_both_caches() -> None:
    size = ENTRY_OVERHEAD + 1 + item_size(item(0, 100))
    c, _ = cache(item_ttl=0, memory=2 * size)
    c.store("item", "a", item(0, 100), table="t", label="a")  # never expires, still evicted
    c.store("query", "q", {"Items": [item(0, 100)]}, table="t", label="q")
    c.store("item", "b", item(0, 100), table="t", label="b")
    assert [e.key for e in c.entries()] == ["q", "b"]


def test_negative_entries_take_memory_and_say_so() -> None:
    c, _ = cache()
    entry = c.store("item", "gone", None, table="t", label="gone")
    assert entry is not None and entry.negative and entry.size >= ENTRY_OVERHEAD
    assert c.store("query", "q", {"Items": [], "Count": 0}, table="t", label="q").negative  # type: ignore[union-attr]


def test_latency_is_microseconds_for_a_hit_and_milliseconds_for_a_miss_and_reproducible() -> None:
    model = LatencyModel.from_facts()
    runs = []
    for _ in range(2):
        c, _ = cache()
        runs.append([c.record("GetItem", "t", o).latency_us for o in ("hit", "miss") * 20])
    assert runs[0] == runs[1]
    hits, misses = runs[0][::2], runs[0][1::2]
    assert all(model.hit_us * 0.75 <= h <= model.hit_us * 1.25 for h in hits)
    assert all(m >= model.miss_us * 0.75 for m in misses) and max(hits) < 1000 < min(misses)


@pytest.mark.parametrize(
    ("value", "size"),
    [({"S": "héllo"}, 6), ({"N": "12345"}, 4), ({"BOOL": True}, 1), ({"L": [{"S": "ab"}]}, 6)],
)
def test_attribute_sizes_follow_dynamodb_counting(value: dict[str, object], size: int) -> None:
    assert item_size({"a": value}) == 1 + size


def test_threads_sharing_a_cache_keep_its_accounts_straight() -> None:
    import threading

    size = ENTRY_OVERHEAD + 2 + item_size(item(0, 50))
    c, _ = cache(memory=20 * size)

    def work(worker: int) -> None:
        for n in range(300):
            k = f"{(worker * 7 + n) % 40:02d}"
            if c.lookup("item", k) is None:
                c.store("item", k, item(0, 50), table="t", label=k)
            c.record("GetItem", "t", "hit")

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = list(c.entries())
    assert c.used_bytes == sum(e.size for e in entries) <= 20 * size
    counters = c.counters["item"]
    assert counters.hits + counters.misses == 4 * 300
