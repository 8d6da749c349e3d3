"""What CloudFront holds: read-only snapshots of distributions, for views and checks.

The CloudFront patch keeps an edge cache per edge location on moto's distribution object; this
module reads it as plain, frozen values:

- :func:`distribution_snapshot`: a distribution's settings, each edge location's cache (entries
  with the TTL they have left on the lab clock, hits and misses), its invalidations, where a set
  of viewers would be served and whether geo restriction refuses them, its latest requests
  whoever sent them (the distribution's request log, :mod:`labkit.services.cloudfront.sim_log`:
  ``requests.get`` in a cell as much as a trace), and the requests of the traffic traces handed
  to it (``labkit.edge.replay`` and browsing reports, with their times into the trace);

Reading changes nothing: no cache entry is touched or dropped, and no AWS resource is created

"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from labkit.errors import LabkitError
from labkit.sandbox.backends import DEFAULT_ACCOUNT_ID, existing
from labkit.services.edge.sim_locations import (
    CLOUDFRONT_EDGES,
    EDGE_PROCESSING_MS,
    EdgeLocation,
    UnknownLocationError,
    nearest_cloudfront_edge,
    place,
    rtt_ms,
)

if TYPE_CHECKING:
    pass


class UnknownEdgeResourceError(LabkitError):
    """No distribution or accelerator with that id in the sandbox."""

    code = "UnknownEdgeResource"


# -- distributions ---------------------------------------------------------------------------
@dataclass(frozen=True)
class EntryInfo:
    """One cached response at one edge location.

    Attributes:
        path: The path (with the query string when it is part of the cache key).
        variant: The other parts of the cache key in words (headers, cookies, encoding), or
            ``""`` when there are none.
        status: The cached status code.
        size: Body bytes.
        age: Seconds since it was fetched or revalidated (the ``Age`` header).
        ttl: How long it stays fresh after that, seconds.
        ttl_left: Seconds it stays fresh from now (0 when stale: the next request asks the
            origin).
        invalidated: Whether an invalidation that has taken effect covers it (the next request
            drops it).
    """

    path: str
    variant: str
    status: int
    size: int
    age: int
    ttl: float
    ttl_left: float
    invalidated: bool


@dataclass(frozen=True)
class PopInfo:
    """One edge location's cache for a distribution.

    Attributes:
        pop: The POP id (``X-Amz-Cf-Pop``).
        code: The metro's airport code.
        city: The metro.
        pricing_region: The CloudFront pricing region it bills in.
        entries: The cached responses, most recently used last.
        hits: Requests answered from the cache (``Hit``).
        refresh_hits: Stale copies the origin confirmed (``RefreshHit``).
        misses: Requests the origin answered (``Miss``).
        errors: Error answers.
    """

    pop: str
    code: str
    city: str
    pricing_region: str
    entries: tuple[EntryInfo, ...]
    hits: int
    refresh_hits: int
    misses: int
    errors: int

    @property
    def requests(self) -> int:
        """Every request this cache counted."""
        return self.hits + self.refresh_hits + self.misses + self.errors

    @property
    def hit_ratio(self) -> float:
        """Share of requests answered ``Hit`` (without a trip to the origin)."""
        return self.hits / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class InvalidationInfo:
    """One invalidation: its paths and where it stands on the lab clock."""

    id: str
    paths: tuple[str, ...]
    status: str
    created_at: float
    effective_at: float


@dataclass(frozen=True)
class ViewerRoute:
    """Where a viewer would be served from now.

    Attributes:
        viewer: The viewer's city.
        country: Its ISO country code.
        pop: The edge location's POP id.
        city: The edge location's metro.
        hit_ms: Modelled latency of a cache hit (viewer to edge and back), milliseconds.
        blocked: Whether geo restriction refuses the viewer's country (403).
    """

    viewer: str
    country: str
    pop: str
    city: str
    hit_ms: float
    blocked: bool


@dataclass(frozen=True)
class RequestInfo:
    """One request: of a traffic trace, or of the distribution's request log.

    Attributes:
        at: Seconds into its trace (a trace's request), or lab time in epoch seconds (a
            request of the log).
        viewer: The viewer's city.
        path: The path requested.
        status: The status code (0: no answer).
        cache: CloudFront's verdict (``Hit``, ``Miss``, ``RefreshHit``, ``Error``).
        pop: The edge location that answered.
        latency_ms: Modelled time to first byte.
        blocked: Whether geo restriction refused it.
        method: The HTTP method (``""`` when a trace's report does not say).
    """

    at: float
    viewer: str
    path: str
    status: int
    cache: str
    pop: str
    latency_ms: float
    blocked: bool
    method: str = ""


@dataclass(frozen=True)
class DistributionSnapshot:
    """A distribution and its edge caches, as they stand at ``now``.

    Attributes:
        id: The distribution's id.
        domain: Its ``*.cloudfront.net`` name.
        enabled: Whether it serves.
        price_class: ``PriceClass_100``, ``PriceClass_200`` or ``PriceClass_All``.
        geo_type: ``none``, ``whitelist`` (allow list) or ``blacklist`` (block list).
        geo_countries: The countries the geo restriction lists.
        origins: Each origin as ``id -> domain`` (with ``(OAC)`` when it signs with origin
            access control).
        pops: The edge locations with a cache, by pricing region then city.
        invalidations: The distribution's invalidations, oldest first.
        viewers: Where the viewers asked about would be served.
        requests: The requests of the traces handed in, in order (``at``: seconds into the
            trace).
        recent: The distribution's latest requests, whoever sent them, oldest first (``at``:
            lab time); at most the log's size
            (:data:`~labkit.services.cloudfront.sim_log.REQUEST_LOG_SIZE`).
        now: Lab time of the snapshot (epoch seconds).
    """

    id: str
    domain: str
    enabled: bool
    price_class: str
    geo_type: str
    geo_countries: tuple[str, ...]
    origins: tuple[str, ...]
    pops: tuple[PopInfo, ...]
    invalidations: tuple[InvalidationInfo, ...]
    viewers: tuple[ViewerRoute, ...]
    requests: tuple[RequestInfo, ...]
    recent: tuple[RequestInfo, ...]
    now: float

    @property
    def hits(self) -> int:
        """``Hit`` answers over all edge locations."""
        return sum(p.hits for p in self.pops)

    @property
    def total_requests(self) -> int:
        """Requests over all edge locations."""
        return sum(p.requests for p in self.pops)

    @property
    def hit_ratio(self) -> float:
        """Share of all requests answered ``Hit``."""
        total = self.total_requests
        return self.hits / total if total else 0.0


def _cloudfront(account_id: str) -> Any:
    for _region, backend in existing("cloudfront", account_id):
        return backend
    return None


def distribution_ids(*, account_id: str = DEFAULT_ACCOUNT_ID) -> list[str]:
    """The ids of the distributions in the sandbox, oldest first."""
    backend = _cloudfront(account_id)
    return list(backend.distributions) if backend is not None else []


@cache
def _edges_by_pop() -> dict[str, EdgeLocation]:
    return {e.pop: e for e in CLOUDFRONT_EDGES}


def _geo(cfg: Any) -> tuple[str, tuple[str, ...]]:
    restrictions = cfg.Restrictions if isinstance(cfg.Restrictions, dict) else {}
    geo = restrictions.get("GeoRestriction")
    if geo is None:
        return "none", ()
    kind = str(getattr(geo, "restriction_type", "none") or "none")
    items = getattr(geo, "items", None) or []
    return kind, tuple(str(i) for i in (items if isinstance(items, list) else [items]))


def geo_refuses(kind: str, countries: Sequence[str], country: str) -> bool:
    """Whether a geo restriction of ``kind`` listing ``countries`` refuses ``country``."""
    if kind == "whitelist":
        return country not in countries
    if kind == "blacklist":
        return country in countries
    return False


def _variant(key: Any) -> str:
    _path, _query, headers, cookies, encoding = key
    parts = [f"{h}: {v}" for h, v in headers if v]
    parts += [f"cookie {n}={v}" for n, v in cookies]
    if encoding:
        parts.append(f"encoding {encoding}")
    return "; ".join(parts)


def _pop_info(pop: str, edge_cache: Any, invalidations: Sequence[Any], now: float) -> PopInfo:
    from labkit.services.cloudfront.sim_cache import key_uri

    entries = []
    for key, entry in list(edge_cache.entries.items()):
        covered = any(
            entry.stored_at < inv.effective_at <= now and inv.matches(key_uri(key))
            for inv in invalidations
        )
        entries.append(
            EntryInfo(
                path=key_uri(key),
                variant=_variant(key),
                status=int(entry.status),
                size=len(entry.body),
                age=int(entry.age(now)),
                ttl=float(entry.ttl),
                ttl_left=max(0.0, entry.stored_at + entry.ttl - now),
                invalidated=covered,
            )
        )
    edge = _edges_by_pop().get(pop)
    stats = edge_cache.stats
    return PopInfo(
        pop=pop,
        code=edge.code if edge else pop[:3],
        city=edge.place.name if edge else pop,
        pricing_region=edge.pricing_region if edge else "",
        entries=tuple(entries),
        hits=int(stats.hits),
        refresh_hits=int(stats.refresh_hits),
        misses=int(stats.misses),
        errors=int(stats.errors),
    )


def _invalidations(backend: Any, dist_id: str) -> list[tuple[Any, Any]]:
    """``(moto invalidation, timing)`` pairs of a distribution."""
    pairs = []
    for inv in list(backend.invalidations.get(dist_id, [])):
        timing = inv.__dict__.get("labkit_invalidation")
        if timing is not None:
            pairs.append((inv, timing))
    return pairs


def _routes(
    viewers: Iterable[str], price_class: str, geo: tuple[str, tuple[str, ...]]
) -> list[ViewerRoute]:
    routes = []
    for name in dict.fromkeys(viewers):
        try:
            where = place(name)
        except UnknownLocationError:
            continue  # a trace's viewer given as a Place labkit cannot name again
        pop = nearest_cloudfront_edge(where, price_class)
        routes.append(
            ViewerRoute(
                viewer=where.name,
                country=where.country,
                pop=pop.pop,
                city=pop.place.name,
                hit_ms=round(rtt_ms(where, pop.place) + EDGE_PROCESSING_MS, 1),
                blocked=geo_refuses(geo[0], geo[1], where.country),
            )
        )
    return routes


def _trace_rows(
    traces: Iterable[Any], hosts: set[str], geo: tuple[str, tuple[str, ...]]
) -> list[RequestInfo]:
    rows: list[RequestInfo] = []
    for trace in traces:
        # ``labkit.edge.replay`` reports have ``results`` of TraceResult; browsing reports have
        # ``files`` of Fetched (paths only, one site): both carry the fields read here.
        items = trace.files if hasattr(trace, "files") else trace.results
        for item in items:
            url = str(getattr(item, "url", "") or "")
            if url:
                parts = urlsplit(url)
                if (parts.hostname or "").lower() not in hosts:
                    continue
                path = parts.path + (f"?{parts.query}" if parts.query else "")
            else:
                path = str(item.path)
            viewer = str(item.viewer)
            try:
                country = place(viewer).country
            except UnknownLocationError:
                country = ""
            status = int(item.status)
            rows.append(
                RequestInfo(
                    at=float(item.at),
                    viewer=viewer,
                    path=path,
                    status=status,
                    cache=str(item.cache),
                    pop=str(item.served_by),
                    latency_ms=float(item.latency_ms),
                    blocked=status == 403 and geo_refuses(geo[0], geo[1], country),
                )
            )
    return rows


def _log_rows(dist: Any) -> list[RequestInfo]:
    from labkit.services.cloudfront.sim_log import request_log

    return [
        RequestInfo(
            at=float(r.at),
            viewer=r.viewer,
            path=r.path,
            status=int(r.status),
            cache=r.cache,
            pop=r.pop,
            latency_ms=float(r.latency_ms),
            blocked=bool(r.blocked),
            method=r.method,
        )
        for r in request_log(dist)
    ]


def _find_distribution(backend: Any, distribution_id: str) -> Any:
    if backend is not None and distribution_id in backend.distributions:
        return backend.distributions[distribution_id]
    if backend is not None:
        for dist in backend.distributions.values():
            if distribution_id in (dist.domain_name, dist.arn):
                return dist
    known = ", ".join(backend.distributions) if backend is not None else ""
    raise UnknownEdgeResourceError(
        f"There is no distribution {distribution_id!r} in the sandbox"
        + (
            f" (there are: {known})."
            if known
            else " (none yet: create one with create_distribution)."
        )
    )


def distribution_snapshot(
    distribution_id: str,
    *,
    viewers: Iterable[str] = (),
    traces: Iterable[Any] = (),
    now: float,
    account_id: str = DEFAULT_ACCOUNT_ID,
) -> DistributionSnapshot:
    """A distribution's caches, settings and traffic at lab time ``now``.

    Args:
        distribution_id: The distribution's Id (its domain name or ARN work too).
        viewers: Cities to show routes for (the traces' viewers are added).
        traces: Reports of ``labkit.edge.replay`` or of browsing; only their requests to this
            distribution are kept. The distribution's latest requests (traced or not) are in
            ``recent`` whatever is handed in here.
        now: The lab time (``sandbox.clock.timestamp``).
        account_id: The account.

    Raises:
        UnknownEdgeResourceError: If there is no such distribution.
    """
    backend = _cloudfront(account_id)
    dist = _find_distribution(backend, distribution_id)
    cfg = dist.distribution_config
    price_class = str(cfg.PriceClass or "PriceClass_All")
    geo = _geo(cfg)
    pairs = _invalidations(backend, dist.distribution_id)
    timings = [t for _, t in pairs]
    caches: dict[str, Any] = dict(dist.__dict__.get("labkit_caches") or {})
    pops = [_pop_info(pop, c, timings, now) for pop, c in caches.items()]
    pops.sort(key=lambda p: (p.pricing_region, p.city))
    origins = []
    for origin in cfg.Origins.get("Items") or []:
        oac = " (OAC)" if getattr(origin, "origin_access_control_id", "") else ""
        origins.append(f"{origin.id} -> {origin.domain_name}{oac}")
    hosts = {str(dist.domain_name).lower()}
    aliases = cfg.Aliases.get("Items") if isinstance(cfg.Aliases, dict) else None
    hosts.update(str(a).lower() for a in aliases or [])
    traces = list(traces)
    requests = _trace_rows(traces, hosts, geo)
    recent = _log_rows(dist)
    asked = list(viewers) + [r.viewer for r in requests]
    return DistributionSnapshot(
        id=str(dist.distribution_id),
        domain=str(dist.domain_name),
        enabled=bool(cfg.Enabled),
        price_class=price_class,
        geo_type=geo[0],
        geo_countries=geo[1],
        origins=tuple(origins),
        pops=tuple(pops),
        invalidations=tuple(
            InvalidationInfo(
                id=str(inv.id),
                paths=tuple(str(p) for p in t.paths),
                status="InProgress" if now < t.effective_at else "Completed",
                created_at=float(t.created_at),
                effective_at=float(t.effective_at),
            )
            for inv, t in pairs
        ),
        viewers=tuple(_routes(asked, price_class, geo)),
        requests=tuple(requests),
        recent=tuple(recent),
        now=now,
    )


__all__ = [
    "DistributionSnapshot",
    "EntryInfo",
    "InvalidationInfo",
    "PopInfo",
    "RequestInfo",
    "UnknownEdgeResourceError",
    "ViewerRoute",
    "distribution_ids",
    "distribution_snapshot",
    "geo_refuses",
]
