"""The stage cache of a REST API: responses kept by cache key for a TTL on the lab clock.

- A stage has a cache when ``cacheClusterEnabled``; a method is cached when its method settings
  (or the stage's ``*/*``) have ``caching/enabled``. The ``*/*`` default covers only ``GET``
  methods; other verbs need their own override.
- Entries live ``caching/ttlInSeconds`` (default 300 s, at most 3600 s, 0 = not cached); a
  response larger than 1,048,576 bytes is not cached.
- The cache key is the method and resource path plus the integration's
  ``cacheKeyParameters`` (``method.request.querystring.x``, ``method.request.header.x``,
  ``method.request.path.x``), within its ``cacheNamespace``; other parameters do not vary it.
- A client's ``Cache-Control: max-age=0`` fetches afresh and refreshes the entry, when the caller
  may (``execute-api:InvalidateCache``) or the method does not require authorization for it.
  Otherwise, per ``unauthorizedCacheControlHeaderStrategy``: ``FAIL_WITH_403`` refuses the
  request, ``SUCCEED_WITH_RESPONSE_HEADER`` ignores the header and says so in a ``Warning``
  header, ``SUCCEED_WITHOUT_RESPONSE_HEADER`` ignores it silently.
- Only 2xx responses are cached.

https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-caching.html

Plain Python: no moto, no Jupyter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from labkit import facts


def ttl_of(setting: int | None) -> int:
    """The TTL that applies: the setting within ``0..3600``, else the default of 300 s."""
    if setting is None:
        return int(facts.value("api_gateway.cache_ttl_default"))
    return max(0, min(int(setting), int(facts.value("api_gateway.cache_ttl_max"))))


@dataclass
class CacheEntry:
    """One cached response.

    Attributes:
        key: The cache key (as shown in the trace).
        status: The response's status.
        headers: Its headers.
        body: Its body.
        stored: When it was stored (lab clock, epoch seconds).
        expires: When it expires.
        hits: How often it was served.
    """

    key: str
    status: int
    headers: dict[str, str]
    body: str | bytes
    stored: float
    expires: float
    hits: int = 0


@dataclass
class StageCache:
    """A stage's cache: entries by key, and the hit and miss counts AWS reports as the
    ``CacheHitCount`` and ``CacheMissCount`` metrics."""

    entries: dict[str, CacheEntry] = field(default_factory=dict)
    hit_count: int = 0
    miss_count: int = 0

    def get(self, key: str, now: float) -> CacheEntry | None:
        """The live entry for ``key`` (an expired one is dropped)."""
        entry = self.entries.get(key)
        if entry is not None and entry.expires <= now:
            del self.entries[key]
            return None
        return entry

    def put(
        self,
        key: str,
        status: int,
        headers: dict[str, str],
        body: str | bytes,
        now: float,
        ttl: int,
    ) -> bool:
        """Keep a response for ``ttl`` seconds; whether it was kept (2xx, within the size
        limit, ``ttl`` above 0)."""
        size = len(body.encode() if isinstance(body, str) else body)
        if ttl <= 0 or not 200 <= status < 300:
            return False
        if size > int(facts.value("api_gateway.cache_max_response_size")):
            return False
        self.entries[key] = CacheEntry(key, status, dict(headers), body, now, now + ttl)
        return True

    def flush(self) -> int:
        """Drop every entry (``FlushStageCache``); how many there were."""
        count = len(self.entries)
        self.entries.clear()
        return count


def cache_key(
    namespace: str,
    http_method: str,
    resource_path: str,
    parameters: tuple[str, ...],
    values: dict[str, str | None],
) -> str:
    """The cache key of a request: method, resource, and each cache key parameter's value."""
    parts = [f"{namespace}|{http_method} {resource_path}"]
    for name in sorted(parameters):
        parts.append(f"{name}={values.get(name) or ''}")
    return " ".join(parts)
