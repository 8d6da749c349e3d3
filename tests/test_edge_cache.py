"""The edge cache and edge-location simulators, in plain Python (no lab, no moto)."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from labkit import facts
from labkit.services.cloudfront import sim_cache as ec
from labkit.services.edge import sim_locations as el

NOW = 1_767_603_600.0  # 2026-01-05 09:00 UTC


def policy(
    min_ttl: float = 0, default_ttl: float = 86400, max_ttl: float = 31536000
) -> ec.CachePolicy:
    return ec.CachePolicy("test", min_ttl, default_ttl, max_ttl)


# -- managed policies ---------------------------------------------------------------------------
def test_caching_optimized_ttls_come_from_the_fact_table() -> None:
    optimized = ec.managed_policies()[ec.CACHING_OPTIMIZED]
    assert optimized.name == "CachingOptimized"
    assert optimized.min_ttl == facts.value("cloudfront.caching_optimized_min_ttl") == 1
    assert optimized.default_ttl == facts.value("cloudfront.default_ttl") == 86400
    assert optimized.max_ttl == facts.value("cloudfront.max_ttl") == 31536000
    assert optimized.key.query_strings == "none" and optimized.key.cookies == "none"


def test_caching_disabled_never_caches() -> None:
    disabled = ec.managed_policies()[ec.CACHING_DISABLED]
    assert disabled.never_caches
    assert ec.ttl_seconds(200, {"cache-control": "max-age=600"}, disabled, NOW) == 0


# -- TTL rules (Expiration.html) ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("headers", "min_ttl", "max_ttl", "expected"),
    [
        ({}, 0, 31536000, 86400),  # no headers: the default TTL
        ({}, 90000, 31536000, 90000),  # ... never below the minimum
        ({"cache-control": "max-age=60"}, 0, 31536000, 60),
        ({"cache-control": "max-age=60"}, 300, 31536000, 300),  # raised to the minimum
        ({"cache-control": "max-age=3600"}, 0, 300, 300),  # capped at the maximum
        ({"cache-control": "max-age=3600, s-maxage=120"}, 0, 31536000, 120),  # s-maxage wins
        ({"cache-control": "no-cache"}, 0, 31536000, 0),
        ({"cache-control": "no-store"}, 0, 31536000, 0),
        ({"cache-control": "private, max-age=600"}, 0, 31536000, 0),
        ({"cache-control": "no-store"}, 30, 31536000, 30),  # min TTL > 0 caches anyway
    ],
)
def test_ttl_combines_cache_control_with_min_default_max(
    headers: dict[str, str], min_ttl: float, max_ttl: float, expected: float
) -> None:
    assert ec.ttl_seconds(200, headers, policy(min_ttl, 86400, max_ttl), NOW) == expected


def test_expires_is_used_only_without_max_age() -> None:
    in_an_hour = formatdate(NOW + 3600, usegmt=True)
    assert ec.ttl_seconds(200, {"expires": in_an_hour}, policy(), NOW) == 3600
    both = {"expires": in_an_hour, "cache-control": "max-age=60"}
    assert ec.ttl_seconds(200, both, policy(), NOW) == 60
    assert ec.ttl_seconds(200, {"expires": in_an_hour}, policy(max_ttl=600), NOW) == 600
    assert ec.ttl_seconds(200, {"expires": "not a date"}, policy(), NOW) == 0


def test_errors_are_cached_for_the_error_caching_ttl_and_redirects_not_at_all() -> None:
    ten = facts.value("cloudfront.error_caching_min_ttl")
    assert ec.ttl_seconds(404, {}, policy(), NOW) == ten == 10
    assert ec.ttl_seconds(503, {"cache-control": "max-age=999"}, policy(), NOW) == ten
    assert ec.ttl_seconds(302, {"cache-control": "max-age=999"}, policy(), NOW) == 0


# -- cache keys -----------------------------------------------------------------------------------
def test_caching_optimized_key_ignores_query_strings_and_cookies() -> None:
    optimized = ec.managed_policies()[ec.CACHING_OPTIMIZED]
    a = ec.cache_key("/a.css", [("v", "1")], {"cookie": "s=1"}, optimized)
    b = ec.cache_key("/a.css", [("v", "2")], {"cookie": "s=2"}, optimized)
    assert a == b
    assert ec.cache_key("/A.css", [], {}, optimized) != ec.cache_key("/a.css", [], {}, optimized)


def test_normalized_accept_encoding_is_part_of_the_managed_key() -> None:
    optimized = ec.managed_policies()[ec.CACHING_OPTIMIZED]
    gzip = ec.cache_key("/a", [], {"accept-encoding": "gzip, deflate"}, optimized)
    brotli = ec.cache_key("/a", [], {"accept-encoding": "gzip, br"}, optimized)
    plain = ec.cache_key("/a", [], {}, optimized)
    assert len({gzip, brotli, plain}) == 3
    assert gzip[4] == "gzip" and brotli[4] == "br" and plain[4] == ""


def test_legacy_forwarded_values_whitelist_query_strings_and_cookies() -> None:
    legacy = ec.legacy_policy(
        {
            "QueryString": True,
            "QueryStringCacheKeys": {"Quantity": 1, "Items": ["page"]},
            "Cookies": {"Forward": "whitelist", "WhitelistedNames": {"Items": ["session"]}},
        },
        min_ttl=0,
        default_ttl=60,
        max_ttl=600,
    )
    one = ec.cache_key("/list", [("page", "1"), ("utm", "x")], {"cookie": "session=a; t=1"}, legacy)
    same = ec.cache_key(
        "/list", [("utm", "y"), ("page", "1")], {"cookie": "t=2; session=a"}, legacy
    )
    other = ec.cache_key("/list", [("page", "2")], {"cookie": "session=a"}, legacy)
    assert one == same
    assert one != other
    assert ec.key_uri(one) == "/list?page=1"


def test_forwarding_every_header_disables_caching() -> None:
    legacy = ec.legacy_policy(
        {"Headers": {"Quantity": 1, "Items": ["*"]}}, min_ttl=0, default_ttl=86400, max_ttl=86400
    )
    assert legacy.never_caches
    assert ec.ttl_seconds(200, {}, legacy, NOW) == 0


# -- invalidations --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "valid"),
    [
        ("/index.html", True),
        ("/images/*", True),
        ("/*", True),
        ("index.html", False),
        ("/im*ges/a.jpg", False),
    ],
)
def test_invalidation_paths_start_with_slash_and_wildcard_only_at_the_end(
    path: str, valid: bool
) -> None:
    assert ec.valid_invalidation_path(path) is valid


def test_invalidation_matching_is_case_sensitive_and_wildcards_match_prefixes() -> None:
    inv = ec.new_invalidation(["/images/*", "/index.html"], NOW)
    assert inv.matches("/images/cat.jpg")
    assert inv.matches("/images/")
    assert inv.matches("/index.html")
    assert not inv.matches("/Images/cat.jpg")
    assert not inv.matches("/index.html?lang=fr")  # query variants need their own path ...
    assert ec.new_invalidation(["/index.html*"], NOW).matches("/index.html?lang=fr")  # ... or *


def _entry(path: str, stored_at: float, ttl: float = 3600) -> ec.CacheEntry:
    key = ec.cache_key(path, [], {}, policy())
    return ec.CacheEntry(key, 200, [("ETag", '"1"')], b"body", stored_at, ttl)


def test_an_invalidation_takes_effect_after_propagation_on_the_clock() -> None:
    cache = ec.EdgeCache("IAD89-P1")
    entry = _entry("/index.html", NOW)
    cache.store(entry)
    inv = ec.new_invalidation(["/index.html"], NOW + 10)
    assert inv.effective_at == NOW + 10 + ec.INVALIDATION_PROPAGATION_SECONDS
    assert cache.lookup(entry.key, NOW + 11, [inv]) is entry  # created, not yet in effect
    assert cache.lookup(entry.key, inv.effective_at, [inv]) is None
    assert len(cache) == 0


def test_an_invalidation_does_not_touch_what_was_fetched_after_it() -> None:
    cache = ec.EdgeCache("IAD89-P1")
    inv = ec.new_invalidation(["/*"], NOW)
    fresh = _entry("/a", inv.effective_at + 1)
    cache.store(fresh)
    assert cache.lookup(fresh.key, inv.effective_at + 2, [inv]) is fresh


def test_age_counts_whole_seconds_since_the_fetch_and_revalidation_resets_it() -> None:
    cache = ec.EdgeCache("IAD89-P1")
    entry = _entry("/a", NOW, ttl=60)
    cache.store(entry)
    assert entry.fresh(NOW + 59.5) and entry.age(NOW + 59.5) == 59
    assert not entry.fresh(NOW + 60)
    cache.revalidated(entry, NOW + 61, 60)
    assert entry.fresh(NOW + 100) and entry.age(NOW + 100) == 39


def test_least_recently_used_entries_go_first_when_full() -> None:
    cache = ec.EdgeCache("IAD89-P1", capacity=2)
    a, b, c = _entry("/a", NOW), _entry("/b", NOW), _entry("/c", NOW)
    cache.store(a)
    cache.store(b)
    cache.lookup(a.key, NOW)  # a is now the most recently used
    cache.store(c)
    assert cache.lookup(b.key, NOW) is None
    assert cache.lookup(a.key, NOW) is a and cache.lookup(c.key, NOW) is c


# -- edge locations and latency -----------------------------------------------------------------
def test_price_class_decides_which_edge_serves_a_viewer() -> None:
    tokyo = el.place("Tokyo")
    assert el.nearest_cloudfront_edge(tokyo, "PriceClass_All").code == "NRT"
    assert el.nearest_cloudfront_edge(tokyo, "PriceClass_200").code == "NRT"
    pc100 = el.nearest_cloudfront_edge(tokyo, "PriceClass_100")
    assert pc100.pricing_region == el.NORTH_AMERICA
    sydney = el.place("Sydney")
    assert el.nearest_cloudfront_edge(sydney, "PriceClass_All").code == "SYD"
    assert el.nearest_cloudfront_edge(sydney, "PriceClass_200").pricing_region != el.OCEANIA


def test_price_classes_nest() -> None:
    assert el.PRICE_CLASSES["PriceClass_100"] < el.PRICE_CLASSES["PriceClass_200"]
    assert el.PRICE_CLASSES["PriceClass_200"] < el.PRICE_CLASSES["PriceClass_All"]
    assert el.OCEANIA not in el.PRICE_CLASSES["PriceClass_200"]
    assert el.SOUTH_AMERICA not in el.PRICE_CLASSES["PriceClass_200"]


def test_latency_grows_with_distance_and_the_backbone_is_faster_than_the_internet() -> None:
    paris, frankfurt, sydney = (
        el.place("Paris"),
        el.region("eu-central-1"),
        el.region("ap-southeast-2"),
    )
    assert el.rtt_ms(paris, frankfurt) < el.rtt_ms(paris, sydney)
    assert el.rtt_ms(paris, sydney, path="backbone") < el.rtt_ms(paris, sydney)
    assert el.rtt_ms(paris, paris) == el.ACCESS_RTT_MS
    # Paris to Sydney is about 17,000 km: a few hundred milliseconds, not tens or thousands.
    assert 200 < el.rtt_ms(paris, sydney) < 400


@pytest.mark.parametrize("name", ["Tokyo", "tokyo", "JP-Tokyo", "Tokyo, JP", "NRT", "Sao Paulo"])
def test_viewer_locations_are_named_several_ways(name: str) -> None:
    assert el.place(name).country in ("JP", "BR")


def test_an_unknown_place_says_what_to_use() -> None:
    with pytest.raises(el.UnknownLocationError, match="cities"):
        el.place("Atlantis")
    with pytest.raises(el.UnknownLocationError):
        el.place("FR-Tokyo")  # wrong country for the city
