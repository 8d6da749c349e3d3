"""A CloudFront edge cache: cache keys, TTLs, invalidations and ``Age``, on the lab clock.

Plain Python: no moto, no HTTP. The sandbox's CloudFront patch asks it what to do with each
request; tests exercise it directly. Times are epoch seconds passed in by the caller (the lab
clock's ``timestamp``), so nothing here reads a wall clock.

What it implements, and where AWS documents it:

- Cache key: the URL path plus whatever the cache policy includes (query strings, headers,
  cookies, the normalized ``Accept-Encoding``). The managed policies CachingOptimized,
  CachingOptimizedForUncompressedObjects, CachingDisabled and UseOriginCacheControlHeaders(-
  QueryStrings) are built in; legacy ``ForwardedValues`` settings are honoured too
  (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html,
  https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cache-key-understand-cache-policy.html).
- TTL: how minimum, default and maximum TTL combine with the origin's ``Cache-Control``
  (``max-age``, ``s-maxage``, ``no-cache``, ``no-store``, ``private``) and ``Expires``
  (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Expiration.html):
  ``s-maxage`` wins over ``max-age``, which wins over ``Expires``; the value is clamped to
  [minimum TTL, maximum TTL]; without any of them the default TTL is used (never below the
  minimum); ``no-cache``/``no-store``/``private`` mean "do not cache" when the minimum TTL is 0
  and "cache for the minimum TTL" when it is greater.
- Errors: the 4xx/5xx codes CloudFront caches, for the error-caching minimum TTL
  (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/HTTPStatusCodes.html).
- Invalidation paths: case-sensitive, start with ``/``, ``*`` allowed only as the last character
  and matching zero or more characters; every cached version of a path is invalidated whatever
  its headers or cookies, but query strings that are part of the cache key are part of the path
  to invalidate (``/a.jpg*`` catches them all)
  (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/invalidation-specifying-objects.html).
  An invalidation takes effect :data:`INVALIDATION_PROPAGATION_SECONDS` after it is created
  ("CloudFront forwards the request to all edge locations within a few seconds").
- ``Age``: seconds since the cached copy was fetched or revalidated.
"""

from __future__ import annotations

import email.utils
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from labkit import facts

#: Seconds between CreateInvalidation and the edges dropping the paths. CloudFront "forwards the
#: request to all edge locations within a few seconds"; labkit models that as this delay (an
#: approximation, not a documented number).
INVALIDATION_PROPAGATION_SECONDS = 5.0

#: Status codes CloudFront caches by the TTL rules.
CACHEABLE_STATUSES = frozenset({200, 203, 206, 300, 301, 410})
#: Error status codes CloudFront caches for the error-caching minimum TTL.
CACHEABLE_ERRORS = frozenset({400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504})


# -- cache policies ----------------------------------------------------------------------------
@dataclass(frozen=True)
class KeySettings:
    """What a cache policy puts in the cache key besides the URL path.

    Attributes:
        query_strings: ``none``, ``all``, ``whitelist`` or ``allExcept``.
        query_string_names: The names for ``whitelist``/``allExcept``.
        headers: Lower-case header names in the key; ``("*",)`` (legacy "forward all headers")
            means CloudFront never caches.
        cookies: ``none``, ``all``, ``whitelist`` or ``allExcept``.
        cookie_names: The names for ``whitelist``/``allExcept``.
        gzip: Include the normalized ``Accept-Encoding`` when the viewer accepts gzip.
        brotli: Include the normalized ``Accept-Encoding`` when the viewer accepts br.
    """

    query_strings: str = "none"
    query_string_names: frozenset[str] = frozenset()
    headers: tuple[str, ...] = ()
    cookies: str = "none"
    cookie_names: frozenset[str] = frozenset()
    gzip: bool = False
    brotli: bool = False


@dataclass(frozen=True)
class CachePolicy:
    """The TTLs and cache-key settings of one cache behavior.

    Attributes:
        name: The managed policy's name, or ``legacy`` for ``ForwardedValues`` settings.
        min_ttl: Minimum TTL, seconds.
        default_ttl: Default TTL, seconds.
        max_ttl: Maximum TTL, seconds.
        key: What goes in the cache key.
        policy_id: The managed policy's id, if any.
    """

    name: str
    min_ttl: float
    default_ttl: float
    max_ttl: float
    key: KeySettings = KeySettings()
    policy_id: str | None = None

    @property
    def never_caches(self) -> bool:
        """Whether nothing is ever cached (all TTLs 0, or every header forwarded)."""
        return self.key.headers == ("*",) or (self.max_ttl <= 0 and self.min_ttl <= 0)


CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_OPTIMIZED_UNCOMPRESSED = "b2884449-e4de-46a7-ac36-70bc7f1ddd6d"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
USE_ORIGIN_CACHE_CONTROL_HEADERS = "83da9c7e-98b4-4e11-a168-04f0df8e2c65"
USE_ORIGIN_CACHE_CONTROL_HEADERS_QS = "4cc15a8a-d715-48a4-82b8-cc0b614638fe"

_ORIGIN_CC_HEADERS = (
    "host",
    "origin",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
)


@cache
def managed_policies() -> dict[str, CachePolicy]:
    """The managed cache policies labkit knows, by id (numbers from :mod:`labkit.facts`)."""
    default_ttl = float(facts.value("cloudfront.default_ttl"))
    max_ttl = float(facts.value("cloudfront.max_ttl"))
    zero = float(facts.value("cloudfront.min_ttl"))
    optimized_min = float(facts.value("cloudfront.caching_optimized_min_ttl"))
    compressed = KeySettings(gzip=True, brotli=True)
    origin_cc = KeySettings(headers=_ORIGIN_CC_HEADERS, cookies="all", gzip=True, brotli=True)
    policies = (
        CachePolicy("CachingOptimized", optimized_min, default_ttl, max_ttl, compressed),
        CachePolicy(
            "CachingOptimizedForUncompressedObjects",
            optimized_min,
            default_ttl,
            max_ttl,
            KeySettings(),
        ),
        CachePolicy("CachingDisabled", zero, zero, zero, KeySettings()),
        CachePolicy("UseOriginCacheControlHeaders", zero, zero, max_ttl, origin_cc),
        CachePolicy(
            "UseOriginCacheControlHeaders-QueryStrings",
            zero,
            zero,
            max_ttl,
            KeySettings(
                query_strings="all",
                headers=_ORIGIN_CC_HEADERS,
                cookies="all",
                gzip=True,
                brotli=True,
            ),
        ),
    )
    ids = (
        CACHING_OPTIMIZED,
        CACHING_OPTIMIZED_UNCOMPRESSED,
        CACHING_DISABLED,
        USE_ORIGIN_CACHE_CONTROL_HEADERS,
        USE_ORIGIN_CACHE_CONTROL_HEADERS_QS,
    )
    return {
        pid: CachePolicy(p.name, p.min_ttl, p.default_ttl, p.max_ttl, p.key, pid)
        for pid, p in zip(ids, policies, strict=True)
    }


def _items(container: Any) -> list[str]:
    if not isinstance(container, Mapping):
        return []
    items = container.get("Items") or []
    if isinstance(items, Mapping):  # XML-parsed single item: {"Name": "x"}
        items = list(items.values())
    return [str(i) for i in (items if isinstance(items, list) else [items])]


def legacy_policy(
    forwarded_values: Mapping[str, Any] | None,
    *,
    min_ttl: float,
    default_ttl: float,
    max_ttl: float,
) -> CachePolicy:
    """The policy of a cache behavior that uses legacy ``ForwardedValues`` settings.

    Args:
        forwarded_values: The behavior's ``ForwardedValues`` (as the API takes it).
        min_ttl: The behavior's ``MinTTL``.
        default_ttl: The behavior's ``DefaultTTL``.
        max_ttl: The behavior's ``MaxTTL``.
    """
    fv = forwarded_values or {}
    qs_on = str(fv.get("QueryString", False)).lower() == "true"
    qs_keys = frozenset(_items(fv.get("QueryStringCacheKeys")))
    if qs_on and qs_keys:
        qs, qs_names = "whitelist", qs_keys
    else:
        qs, qs_names = ("all" if qs_on else "none"), frozenset()
    cookies_cfg = fv.get("Cookies") or {}
    forward = str(cookies_cfg.get("Forward", "none")) if isinstance(cookies_cfg, Mapping) else ""
    cookie_names = frozenset(_items(cookies_cfg.get("WhitelistedNames")))
    headers = tuple(h.lower() for h in _items(fv.get("Headers")))
    return CachePolicy(
        "legacy",
        float(min_ttl),
        float(default_ttl),
        float(max_ttl),
        KeySettings(
            query_strings=qs,
            query_string_names=qs_names,
            headers=("*",) if "*" in headers else headers,
            cookies=forward if forward in ("all", "whitelist") else "none",
            cookie_names=cookie_names,
        ),
    )


# -- cache keys ------------------------------------------------------------------------------
CacheKey = tuple[str, str, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...], str]


def _select(
    pairs: Iterable[tuple[str, str]], behavior: str, names: frozenset[str]
) -> list[tuple[str, str]]:
    if behavior == "all":
        return sorted(pairs)
    if behavior == "whitelist":
        return sorted(p for p in pairs if p[0] in names)
    if behavior == "allExcept":
        return sorted(p for p in pairs if p[0] not in names)
    return []


def parse_cookies(header: str | None) -> list[tuple[str, str]]:
    """The ``(name, value)`` pairs of a ``Cookie`` request header."""
    pairs: list[tuple[str, str]] = []
    for part in (header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if name and sep:
            pairs.append((name, value))
    return pairs


def normalized_encoding(accept_encoding: str | None, key: KeySettings) -> str:
    """What CloudFront puts in the key for ``Accept-Encoding``: ``br``, ``gzip`` or nothing
    (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/ServingCompressedFiles.html)."""
    if not (key.gzip or key.brotli) or not accept_encoding:
        return ""
    offered = {t.split(";")[0].strip().lower() for t in accept_encoding.split(",")}
    if key.brotli and "br" in offered:
        return "br"
    if key.gzip and "gzip" in offered:
        return "gzip"
    return ""


def cache_key(
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    policy: CachePolicy,
) -> CacheKey:
    """The key CloudFront files a response under.

    Args:
        path: The URL path, as requested (case-sensitive).
        query: The query string's ``(name, value)`` pairs, in request order.
        headers: The viewer's request headers, names lower-case.
        policy: The cache behavior's policy.

    Returns:
        ``(path, query, headers, cookies, encoding)``: the parts the policy includes.
    """
    key = policy.key
    qs = tuple(_select(query, key.query_strings, key.query_string_names))
    hdrs = tuple((h, headers.get(h, "")) for h in key.headers if h != "*")
    cookies = tuple(_select(parse_cookies(headers.get("cookie")), key.cookies, key.cookie_names))
    return (
        path,
        "&".join(f"{k}={v}" for k, v in qs),
        hdrs,
        cookies,
        normalized_encoding(headers.get("accept-encoding"), key),
    )


def key_uri(key: CacheKey) -> str:
    """The path an invalidation must name to reach this entry (path plus its key query string)."""
    return f"{key[0]}?{key[1]}" if key[1] else key[0]


# -- TTL --------------------------------------------------------------------------------------
def parse_cache_control(value: str | None) -> dict[str, str]:
    """The directives of a ``Cache-Control`` header, names lower-case (valueless ones map to
    ``""``)."""
    directives: dict[str, str] = {}
    for part in (value or "").split(","):
        name, _, arg = part.strip().partition("=")
        if name:
            directives[name.lower()] = arg.strip().strip('"')
    return directives


def _seconds(text: str) -> float | None:
    try:
        return max(0.0, float(int(text)))
    except ValueError:
        return None


def ttl_seconds(status: int, headers: Mapping[str, str], policy: CachePolicy, now: float) -> float:
    """How long CloudFront keeps a response, in seconds (0: not cached).

    Args:
        status: The origin's status code.
        headers: The origin's response headers, names lower-case.
        policy: The cache behavior's policy.
        now: The lab time the response arrived (epoch seconds), for ``Expires``.
    """
    if policy.key.headers == ("*",):
        return 0.0
    if status in CACHEABLE_ERRORS:
        return float(facts.value("cloudfront.error_caching_min_ttl"))
    if status not in CACHEABLE_STATUSES:
        return 0.0
    lo, hi = policy.min_ttl, policy.max_ttl
    cc = parse_cache_control(headers.get("cache-control"))
    if {"no-cache", "no-store", "private"} & cc.keys():
        return lo
    for directive in ("s-maxage", "max-age"):
        if directive in cc:
            seconds = _seconds(cc[directive])
            if seconds is not None:
                return max(lo, min(seconds, hi))
    if "expires" in headers:
        try:
            when = email.utils.parsedate_to_datetime(headers["expires"]).timestamp()
        except (TypeError, ValueError, IndexError):
            when = now  # An unparseable Expires means "already expired" (RFC 9111).
        return max(lo, min(max(0.0, when - now), hi))
    return max(lo, min(policy.default_ttl, hi)) if hi > 0 else max(lo, 0.0)


# -- invalidations --------------------------------------------------------------------------
def valid_invalidation_path(path: str) -> bool:
    """Whether CloudFront accepts ``path`` in an invalidation batch: it starts with ``/`` and
    ``*`` appears, if at all, only as its last character."""
    return path.startswith("/") and "*" not in path[:-1]


@dataclass(frozen=True)
class PathInvalidation:
    """A batch of invalidation paths and when it takes effect.

    Attributes:
        paths: The paths as submitted.
        created_at: When it was created (epoch seconds).
        effective_at: When the edges drop the paths (epoch seconds).
    """

    paths: tuple[str, ...]
    created_at: float
    effective_at: float

    def matches(self, uri: str) -> bool:
        """Whether this batch covers ``uri`` (path plus key query string)."""
        for p in self.paths:
            if p.endswith("*"):
                if uri.startswith(p[:-1]):
                    return True
            elif uri == p:
                return True
        return False


def new_invalidation(paths: Iterable[str], now: float) -> PathInvalidation:
    """An invalidation created at ``now`` that takes effect after the propagation delay."""
    return PathInvalidation(tuple(paths), now, now + INVALIDATION_PROPAGATION_SECONDS)


# -- the cache ------------------------------------------------------------------------------
@dataclass
class CacheEntry:
    """One cached response.

    Attributes:
        key: Its cache key.
        status: The status code.
        headers: The origin's response headers, as received (original case).
        body: The body.
        stored_at: When it was fetched or last revalidated (epoch seconds).
        ttl: How long it stays fresh, seconds.
    """

    key: CacheKey
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    stored_at: float
    ttl: float

    def fresh(self, now: float) -> bool:
        """Whether it can be served without asking the origin."""
        return now < self.stored_at + self.ttl

    def age(self, now: float) -> int:
        """The ``Age`` header's value: whole seconds since it was fetched or revalidated."""
        return max(0, int(now - self.stored_at))

    def header(self, name: str) -> str | None:
        """The first response header called ``name`` (case-insensitive)."""
        lower = name.lower()
        return next((v for k, v in self.headers if k.lower() == lower), None)


@dataclass
class CacheStats:
    """What one edge cache has done."""

    hits: int = 0
    refresh_hits: int = 0
    misses: int = 0
    errors: int = 0

    @property
    def requests(self) -> int:
        """Every request counted."""
        return self.hits + self.refresh_hits + self.misses + self.errors

    @property
    def hit_ratio(self) -> float:
        """Share of requests answered from the cache (hits and refresh hits)."""
        total = self.requests
        return (self.hits + self.refresh_hits) / total if total else 0.0


@dataclass
class EdgeCache:
    """The cache of one edge location for one distribution.

    Attributes:
        pop: The edge location's id (``X-Amz-Cf-Pop``).
        capacity: Most entries kept; the least recently used go first (CloudFront evicts
            rarely requested objects early too).
    """

    pop: str
    capacity: int = 100_000
    entries: OrderedDict[CacheKey, CacheEntry] = field(default_factory=OrderedDict)
    stats: CacheStats = field(default_factory=CacheStats)

    def lookup(
        self, key: CacheKey, now: float, invalidations: Sequence[PathInvalidation] = ()
    ) -> CacheEntry | None:
        """The entry for ``key``, fresh or stale, or ``None``; drops it if an invalidation that
        has taken effect covers it."""
        entry = self.entries.get(key)
        if entry is None:
            return None
        for inv in invalidations:
            if entry.stored_at < inv.effective_at <= now and inv.matches(key_uri(key)):
                del self.entries[key]
                return None
        self.entries.move_to_end(key)
        return entry

    def store(self, entry: CacheEntry) -> None:
        """Keep ``entry`` (replacing any older copy)."""
        self.entries[entry.key] = entry
        self.entries.move_to_end(entry.key)
        while len(self.entries) > self.capacity:
            self.entries.popitem(last=False)

    def revalidated(self, entry: CacheEntry, now: float, ttl: float) -> None:
        """Record that the origin confirmed ``entry`` (304): fresh again for ``ttl`` seconds."""
        entry.stored_at = now
        entry.ttl = ttl

    def __len__(self) -> int:
        return len(self.entries)


__all__ = [
    "CACHEABLE_ERRORS",
    "CACHEABLE_STATUSES",
    "CACHING_DISABLED",
    "CACHING_OPTIMIZED",
    "CACHING_OPTIMIZED_UNCOMPRESSED",
    "INVALIDATION_PROPAGATION_SECONDS",
    "USE_ORIGIN_CACHE_CONTROL_HEADERS",
    "USE_ORIGIN_CACHE_CONTROL_HEADERS_QS",
    "CacheEntry",
    "CacheKey",
    "CachePolicy",
    "CacheStats",
    "EdgeCache",
    "KeySettings",
    "PathInvalidation",
    "cache_key",
    "key_uri",
    "legacy_policy",
    "managed_policies",
    "new_invalidation",
    "normalized_encoding",
    "parse_cache_control",
    "parse_cookies",
    "ttl_seconds",
    "valid_invalidation_path",
]
