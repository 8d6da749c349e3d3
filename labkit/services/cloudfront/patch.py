"""CloudFront in the sandbox: the control plane moto has, made faithful, and a data plane.

moto answers CloudFront's API but drops ``OriginAccessControlId`` from origins, accepts any cache
policy id, completes invalidations at once, and serves nothing at ``*.cloudfront.net``. While a
lab runs, this module:

- keeps ``OriginAccessControlId`` (and ``S3OriginConfig``) on origins, so they read back;
- gives legacy cache behaviors AWS's TTL defaults when ``DefaultTTL``/``MaxTTL`` are left out
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-cloudfront-distribution-defaultcachebehavior.html);
- rejects a ``CachePolicyId`` that is not a managed policy (moto has no cache-policy API, so
  those are the only ones that can exist) with ``NoSuchCachePolicy``;
- enforces what moto lets through in distribution configurations: a new ``ETag`` per update
  and ``IfMatch`` checked against it, ``CallerReference`` fixed, ``Quantity`` matching ``Items``,
  geo restriction types and country codes (:mod:`labkit.services.cloudfront.patch_config`);
- validates invalidation paths and lets invalidations take effect on the lab clock
  (``InProgress``, then ``Completed``);
- serves HTTP requests to a distribution's domain name (or alias) from its origin: S3 buckets
  (REST or website endpoints) and HTTP origins (a server a lesson stands up with
  :func:`labkit.services.edge.patch.serve`, or anything moto serves), through the edge
  location nearest the viewer within the price class, with the edge cache of
  :mod:`labkit.services.cloudfront.sim_cache`, geo restriction, viewer protocol policy and allowed
  methods, and CloudFront's response headers (``X-Cache``, ``Age``, ``Via``, ``X-Amz-Cf-Pop``,
  ``X-Amz-Cf-Id``) plus ``X-Labkit-Latency-Ms`` (the modelled latency);
- enforces origin access control: the edge reads S3 as ``cloudfront.amazonaws.com`` with
  ``AWS:SourceArn`` set to the distribution, and direct anonymous reads of the bucket are judged
  by the bucket policy for the anonymous principal (:mod:`labkit.services.s3.patch_access`);
- keeps, on the distribution, a log of its latest :data:`REQUEST_LOG_SIZE` requests (whatever
  sent them: ``requests``, ``urllib``, ``labkit.edge.fetch`` or a trace), read with
  :func:`request_log`: CloudFront's standard logs record much the same fields per request
  (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logs-reference.html).

Not modelled: regional edge caches (each edge location fills from the origin), compression (the
normalized ``Accept-Encoding`` is in the cache key, bodies are not compressed), CloudFront
Functions and Lambda@Edge, origin groups and failover, custom error responses, signed URLs and
cookies, response-headers policies, range requests. The answer to a disabled distribution
(``403``) is an approximation.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from email.utils import formatdate
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from moto.cloudfront import models as cf_models
from moto.cloudfront.exceptions import CloudFrontException

from labkit import facts
from labkit.services.cloudfront import patch_config, sim_geo
from labkit.services.cloudfront import sim_cache as edge_cache
from labkit.services.cloudfront.sim_cache import (
    CacheEntry,
    CachePolicy,
    EdgeCache,
    PathInvalidation,
)
from labkit.services.cloudfront.sim_log import (
    REQUEST_LOG_SIZE,
    LoggedRequest,
    record,
    request_log,
)
from labkit.services.edge.patch import (
    EdgeRequest,
    EdgeResponse,
    EdgeUnreachableError,
    Handler,
    as_response,
    world,
)
from labkit.services.edge.sim_locations import (
    AWS_REGIONS,
    EDGE_PROCESSING_MS,
    ORIGIN_PROCESSING_MS,
    EdgeLocation,
    Place,
    nearest_cloudfront_edge,
    rtt_ms,
)
from labkit.services.s3 import patch_access as s3_access

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox


class NoSuchCachePolicy(CloudFrontException):
    """A cache behavior names a cache policy that does not exist."""

    def __init__(self) -> None:
        super().__init__("NoSuchCachePolicy", "The cache policy does not exist.")


class InvalidInvalidationPath(CloudFrontException):
    """An invalidation path CloudFront refuses."""

    def __init__(self) -> None:
        super().__init__(
            "InvalidArgument", "Your request contains one or more invalid invalidation paths."
        )


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install the CloudFront patches for ``sandbox``."""
    stack.enter_context(origin_fields_kept())
    stack.enter_context(legacy_ttl_defaults())
    stack.enter_context(cache_policies_checked())
    stack.enter_context(patch_config.configuration_rules())
    stack.enter_context(invalidations_on_clock(lambda: sandbox.clock.timestamp))
    stack.enter_context(s3_access.anonymous_reads_checked())


# -- control-plane patches ---------------------------------------------------------------------
@contextmanager
def _patched(owner: Any, name: str, replacement: Any) -> Iterator[None]:
    had = name in owner.__dict__
    original = owner.__dict__.get(name)
    setattr(owner, name, replacement)
    try:
        yield
    finally:
        if had:
            setattr(owner, name, original)
        else:
            delattr(owner, name)


@contextmanager
def origin_fields_kept() -> Iterator[None]:
    """Keep ``OriginAccessControlId`` and ``S3OriginConfig`` on moto's ``Origin``."""
    original = cf_models.Origin.__init__

    def init(self: Any, origin: dict[str, Any]) -> None:
        original(self, origin)
        self.origin_access_control_id = origin.get("OriginAccessControlId") or ""
        if "S3OriginConfig" in origin:
            config = origin["S3OriginConfig"] or {}
            self.s3_origin_config = {
                "OriginAccessIdentity": config.get("OriginAccessIdentity") or ""
            }

    with _patched(cf_models.Origin, "__init__", init):
        yield


@contextmanager
def legacy_ttl_defaults() -> Iterator[None]:
    """Legacy cache settings without ``DefaultTTL``/``MaxTTL`` get AWS's defaults (moto: 0)."""
    original = cf_models.DefaultCacheBehaviour.__init__

    def init(self: Any, config: dict[str, Any]) -> None:
        original(self, config)
        if not self.cache_policy_id:
            if config.get("DefaultTTL") is None:
                self.default_ttl = int(facts.value("cloudfront.default_ttl"))
            if config.get("MaxTTL") is None:
                self.max_ttl = int(facts.value("cloudfront.max_ttl"))

    with _patched(cf_models.DefaultCacheBehaviour, "__init__", init):
        yield


def _behaviour_configs(config: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    default = config.get("DefaultCacheBehavior")
    if isinstance(default, Mapping):
        yield default
    others = config.get("CacheBehaviors") or {}
    for item in others.get("Items") or [] if isinstance(others, Mapping) else []:
        if isinstance(item, Mapping):
            yield item


def _check_policies(config: Mapping[str, Any]) -> None:
    known = edge_cache.managed_policies()
    for behaviour in _behaviour_configs(config):
        policy_id = behaviour.get("CachePolicyId")
        if policy_id and policy_id not in known:
            raise NoSuchCachePolicy()


@contextmanager
def cache_policies_checked() -> Iterator[None]:
    """Refuse distributions whose behaviors name an unknown cache policy."""
    backend = cf_models.CloudFrontBackend
    create = backend.create_distribution_with_tags
    update = backend.update_distribution

    def create_checked(self: Any, distribution_config: dict[str, Any], tags: Any) -> Any:
        _check_policies(distribution_config)
        return create(self, distribution_config, tags)

    def update_checked(self: Any, dist_config: dict[str, Any], _id: str, if_match: bool) -> Any:
        _check_policies(dist_config or {})
        return update(self, dist_config, _id, if_match)

    with (
        _patched(backend, "create_distribution_with_tags", create_checked),
        _patched(backend, "update_distribution", update_checked),
    ):
        yield


def _status(self: Any) -> str:
    timing: PathInvalidation | None = self.__dict__.get("labkit_invalidation")
    now = self.__dict__.get("labkit_now")
    if timing is None or now is None:
        return str(self.__dict__.get("_moto_status", "Completed"))
    return "InProgress" if now() < timing.effective_at else "Completed"


def _set_status(self: Any, value: str) -> None:
    self.__dict__["_moto_status"] = value


@contextmanager
def invalidations_on_clock(now: Callable[[], float]) -> Iterator[None]:
    """Validate invalidation paths and make invalidations take effect on the lab clock."""
    backend = cf_models.CloudFrontBackend
    create = backend.create_invalidation
    original_init = cf_models.Invalidation.__init__

    def create_checked(self: Any, dist_id: str, paths: list[str], caller_ref: str) -> Any:
        if not paths or not all(edge_cache.valid_invalidation_path(p) for p in paths):
            raise InvalidInvalidationPath()
        return create(self, dist_id, paths, caller_ref)

    def init(self: Any, distribution: Any, paths: list[str], caller_ref: str) -> None:
        original_init(self, distribution, paths, caller_ref)
        self.__dict__["labkit_invalidation"] = edge_cache.new_invalidation(paths, now())
        self.__dict__["labkit_now"] = now

    with (
        _patched(backend, "create_invalidation", create_checked),
        _patched(cf_models.Invalidation, "__init__", init),
        _patched(cf_models.Invalidation, "status", property(_status, _set_status)),
    ):
        yield


# -- finding distributions ------------------------------------------------------------------
def _distributions() -> Iterator[tuple[Any, Any]]:
    for account in list(cf_models.cloudfront_backends.values()):
        for backend in list(account.values()):
            for dist in list(backend.distributions.values()):
                yield backend, dist


def _aliases(dist: Any) -> list[str]:
    aliases = dist.distribution_config.Aliases
    items = aliases.get("Items") if isinstance(aliases, Mapping) else None
    return [str(a).lower() for a in items or []]


def find_distribution(host: str) -> tuple[Any, Any] | None:
    """The ``(backend, distribution)`` whose domain name or alias is ``host``."""
    for backend, dist in _distributions():
        if dist.domain_name == host or host in _aliases(dist):
            return backend, dist
    return None


def resolve_host(host: str, sandbox: Sandbox) -> Handler | None:
    """The edge handler for ``host`` when it is a distribution's name or alias."""
    found = find_distribution(host)
    if found is None:
        if host.endswith(".cloudfront.net"):
            return _unresolvable(host)
        return None
    backend, dist = found
    return lambda request: serve_request(backend, dist, request, sandbox)


def _unresolvable(host: str) -> Handler:
    def handler(request: EdgeRequest) -> EdgeResponse:
        raise EdgeUnreachableError(
            f"Failed to resolve {host!r}: no distribution in the sandbox has this domain name "
            "(check the DomainName that create_distribution returned)."
        )

    return handler


def edge_caches(distribution_id: str) -> dict[str, EdgeCache]:
    """The edge caches of a distribution, by POP id (for views and checks)."""
    for _backend, dist in _distributions():
        if dist.distribution_id == distribution_id:
            return _caches(dist)
    return {}


def _caches(dist: Any) -> dict[str, EdgeCache]:
    caches: dict[str, EdgeCache] | None = dist.__dict__.get("labkit_caches")
    if caches is None:
        caches = {}
        dist.__dict__["labkit_caches"] = caches
    return caches


# -- the data plane ----------------------------------------------------------------------------
_GEO_BLOCKED = "The Amazon CloudFront distribution is configured to block access from your country."
_METHOD_REFUSED = (
    "This distribution is not configured to allow the HTTP request method that was used for "
    "this request. The distribution supports only cachable requests."
)
_HTTPS_ONLY = "Bad request. This distribution is configured to accept only HTTPS requests."
_NO_ORIGIN = (
    "CloudFront wasn't able to connect to the origin. We can't connect to the server for this "
    "app or website at this time."
)
_REDIRECT_PAGE = (
    b"<html>\r\n<head><title>301 Moved Permanently</title></head>\r\n<body>\r\n<center><h1>301 "
    b"Moved Permanently</h1></center>\r\n<hr><center>CloudFront</center>\r\n</body>\r\n</html>\r\n"
)
_ORIGIN_TIMEOUT = (
    "CloudFront attempted to establish a connection with the origin, but either the attempt "
    "failed or the origin closed the connection."
)


def _cf_id(dist: Any, seq: int) -> str:
    digest = hashlib.sha256(f"{dist.distribution_id}:{seq}".encode()).digest()
    return base64.urlsafe_b64encode(digest + digest[:10]).decode()[:54] + "=="


def _via(pop: EdgeLocation, dist: Any) -> str:
    token = hashlib.sha256(f"{pop.pop}:{dist.distribution_id}".encode()).hexdigest()[:32]
    return f"1.1 {token}.cloudfront.net (CloudFront)"


def _error_page(status: int, reason: str, request_id: str) -> bytes:
    title = {403: "403 ERROR", 502: "502 ERROR", 504: "504 Gateway Timeout ERROR"}.get(
        status, f"{status} ERROR"
    )
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" '
        '"http://www.w3.org/TR/html4/loose.dtd">\n<HTML><HEAD><META HTTP-EQUIV="Content-Type" '
        'CONTENT="text/html; charset=iso-8859-1">\n<TITLE>ERROR: The request could not be '
        f"satisfied</TITLE>\n</HEAD><BODY>\n<H1>{title}</H1>\n<H2>The request could not be "
        f'satisfied.</H2>\n<HR noshade size="1px">\n{reason}\n<BR clear="all">\n<HR noshade '
        f'size="1px">\n<PRE>\nGenerated by cloudfront (CloudFront)\nRequest ID: {request_id}\n'
        "</PRE>\n<ADDRESS>\n</ADDRESS>\n</BODY></HTML>"
    ).encode()


def _behavior(cfg: Any, path: str) -> Any:
    behaviours = cfg.CacheBehaviors
    for behaviour in behaviours.get("Items") or [] if isinstance(behaviours, Mapping) else []:
        pattern = behaviour.path_pattern
        if pattern and _pattern_regex(pattern).fullmatch(path):
            return behaviour
    return cfg.DefaultCacheBehavior


@lru_cache(maxsize=512)
def _pattern_regex(pattern: str) -> re.Pattern[str]:
    # Path patterns: * matches any characters, ? one; case-sensitive; a leading / is optional
    # (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/DownloadDistValuesCacheBehavior.html).
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body if pattern.startswith("/") else "/" + body)


def policy_of(behaviour: Any) -> CachePolicy:
    """The cache policy a cache behavior uses (managed policy or legacy settings)."""
    if behaviour.cache_policy_id:
        return edge_cache.managed_policies()[behaviour.cache_policy_id]
    cached: tuple[tuple[Any, ...], CachePolicy] | None = behaviour.__dict__.get("labkit_policy")
    fv = behaviour.forwarded_values.__dict__
    signature = (repr(fv), behaviour.min_ttl, behaviour.default_ttl, behaviour.max_ttl)
    if cached is not None and cached[0] == signature:
        return cached[1]
    policy = edge_cache.legacy_policy(
        fv,
        min_ttl=float(behaviour.min_ttl or 0),
        default_ttl=float(behaviour.default_ttl or 0),
        max_ttl=float(behaviour.max_ttl or 0),
    )
    behaviour.__dict__["labkit_policy"] = (signature, policy)
    return policy


def _geo_blocked(cfg: Any, country: str) -> bool:
    geo = (
        (cfg.Restrictions or {}).get("GeoRestriction")
        if isinstance(cfg.Restrictions, Mapping)
        else None
    )
    if geo is None:
        return False
    listed = set(getattr(geo, "items", None) or [])
    return sim_geo.blocks(str(getattr(geo, "restriction_type", "none")), listed, country)


@dataclass
class _Seen:
    """What answering a request learned that the response does not say (for the log)."""

    pop: str = ""
    blocked: bool = False


def serve_request(backend: Any, dist: Any, request: EdgeRequest, sandbox: Sandbox) -> EdgeResponse:
    """Answer one viewer request as the distribution's nearest edge location would, and log it
    in the distribution's request log (:func:`request_log`)."""
    now = sandbox.clock.timestamp
    seen = _Seen()
    path = request.path + (f"?{request.query}" if request.query else "")

    def logged(status: int, cache: str, pop: str, latency_ms: float) -> LoggedRequest:
        return LoggedRequest(
            at=now,
            viewer=request.viewer.name,
            country=request.viewer.country,
            pop=pop,
            method=request.method,
            path=path,
            status=status,
            cache=cache,
            latency_ms=latency_ms,
            blocked=seen.blocked,
        )

    try:
        response = _answer(backend, dist, request, sandbox, seen)
    except Exception:
        record(dist, logged(0, "", seen.pop, 0.0))
        raise
    record(dist, logged(response.status, response.cache, seen.pop, response.latency_ms))
    return response


def _answer(
    backend: Any, dist: Any, request: EdgeRequest, sandbox: Sandbox, seen: _Seen
) -> EdgeResponse:
    """The answer of :func:`serve_request`; notes the edge location and geo refusal in ``seen``."""
    now = sandbox.clock.timestamp
    cfg = dist.distribution_config
    pop = nearest_cloudfront_edge(request.viewer, cfg.PriceClass or "PriceClass_All")
    seen.pop = pop.pop
    viewer_ms = rtt_ms(request.viewer, pop.place) + EDGE_PROCESSING_MS
    cf_id = _cf_id(dist, request.seq)
    common = [
        ("Via", _via(pop, dist)),
        ("X-Amz-Cf-Pop", pop.pop),
        ("X-Amz-Cf-Id", cf_id),
    ]

    def error(status: int, reason: str, extra: list[tuple[str, str]] | None = None) -> EdgeResponse:
        body = _error_page(status, reason, cf_id)
        headers = [
            ("Server", "CloudFront"),
            ("Date", formatdate(now, usegmt=True)),
            ("Content-Type", "text/html"),
            ("Content-Length", str(len(body))),
            *(extra or []),
            ("X-Cache", "Error from cloudfront"),
            *common,
            ("X-Labkit-Latency-Ms", f"{viewer_ms:.1f}"),
        ]
        return EdgeResponse(
            status, headers, b"" if request.method == "HEAD" else body, viewer_ms, pop.pop, "Error"
        )

    if not cfg.Enabled:
        return error(403, "Bad request.")
    behaviour = _behavior(cfg, request.path)
    protocol = behaviour.viewer_protocol_policy
    if request.scheme == "http" and protocol == "redirect-to-https":
        location = f"https://{request.host}{request.path}" + (
            f"?{request.query}" if request.query else ""
        )
        body = _REDIRECT_PAGE
        redirect_headers = [
            ("Server", "CloudFront"),
            ("Date", formatdate(now, usegmt=True)),
            ("Content-Type", "text/html"),
            ("Content-Length", str(len(body))),
            ("Location", location),
            ("X-Cache", "Redirect from cloudfront"),
            *common,
            ("X-Labkit-Latency-Ms", f"{viewer_ms:.1f}"),
        ]
        payload = b"" if request.method == "HEAD" else body
        return EdgeResponse(301, redirect_headers, payload, viewer_ms, pop.pop, "Redirect")
    if request.scheme == "http" and protocol == "https-only":
        return error(403, _HTTPS_ONLY)
    if _geo_blocked(cfg, request.viewer.country):
        seen.blocked = True
        return error(403, _GEO_BLOCKED)
    allowed = behaviour.allowed_methods.items
    if request.method not in allowed:
        return error(403, _METHOD_REFUSED)

    path = request.path
    if path == "/" and cfg.DefaultRootObject:
        path = "/" + str(cfg.DefaultRootObject).lstrip("/")
    policy = policy_of(behaviour)
    cached_methods = behaviour.allowed_methods.cached_methods.get("Items") or []
    cacheable = request.method in cached_methods and not policy.never_caches
    query = parse_qsl(request.query, keep_blank_values=True)
    key = edge_cache.cache_key(path, query, request.headers, policy)
    cache = _caches(dist).setdefault(pop.pop, EdgeCache(pop.pop))
    entry = None
    if cacheable:
        invalidations = [
            inv.__dict__["labkit_invalidation"]
            for inv in backend.invalidations.get(dist.distribution_id, [])
            if "labkit_invalidation" in inv.__dict__
        ]
        entry = cache.lookup(key, now, invalidations)
    if entry is not None and entry.fresh(now):
        # A cached error is still reported as an error; anything else is a hit.
        if entry.status >= 400:
            cache.stats.errors += 1
            return _from_cache(entry, "Error", request, now, common, viewer_ms, pop)
        cache.stats.hits += 1
        return _from_cache(entry, "Hit", request, now, common, viewer_ms, pop)

    origin = _origin(cfg, behaviour.target_origin_id)
    conditional: dict[str, str] = {}
    if entry is not None:
        etag = entry.header("ETag")
        if etag:
            conditional["if-none-match"] = etag
        modified = entry.header("Last-Modified")
        if modified:
            conditional["if-modified-since"] = modified
    forwarded_query = key[1]
    reply, origin_place = _fetch_origin(
        origin, dist, request, path, forwarded_query, conditional, sandbox
    )
    origin_ms = rtt_ms(pop.place, origin_place, path="backbone") + ORIGIN_PROCESSING_MS
    latency = viewer_ms + origin_ms
    headers = {k.lower(): v for k, v in reply.headers}
    if entry is not None and reply.status == 304:
        cache.revalidated(
            entry,
            now,
            edge_cache.ttl_seconds(200, {**_lower(entry.headers), **headers}, policy, now),
        )
        cache.stats.refresh_hits += 1
        return _from_cache(entry, "RefreshHit", request, now, common, latency, pop)
    if reply.status in (502, 504) and not reply.body:
        cache.stats.errors += 1
        failed = error(reply.status, _ORIGIN_TIMEOUT if reply.status == 504 else _NO_ORIGIN)
        failed.latency_ms = latency
        return failed
    ttl = edge_cache.ttl_seconds(reply.status, headers, policy, now) if cacheable else 0.0
    if ttl > 0 and request.method in ("GET", "HEAD"):
        cache.store(CacheEntry(key, reply.status, list(reply.headers), reply.body, now, ttl))
    verdict = "Miss" if reply.status < 400 else "Error"
    if verdict == "Miss":
        cache.stats.misses += 1
    else:
        cache.stats.errors += 1
    return _respond(
        reply.status, reply.headers, reply.body, verdict, request, common, latency, pop, None
    )


def _lower(headers: list[tuple[str, str]]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers}


def _from_cache(
    entry: CacheEntry,
    verdict: str,
    request: EdgeRequest,
    now: float,
    common: list[tuple[str, str]],
    latency: float,
    pop: EdgeLocation,
) -> EdgeResponse:
    return _respond(
        entry.status,
        entry.headers,
        entry.body,
        verdict,
        request,
        common,
        latency,
        pop,
        entry.age(now),
    )


_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "age"}


def _respond(
    status: int,
    origin_headers: list[tuple[str, str]],
    body: bytes,
    verdict: str,
    request: EdgeRequest,
    common: list[tuple[str, str]],
    latency: float,
    pop: EdgeLocation,
    age: int | None,
) -> EdgeResponse:
    headers = [(k, v) for k, v in origin_headers if k.lower() not in _HOP_BY_HOP]
    headers.append(("Content-Length", str(len(body))))
    if age is not None:
        headers.append(("Age", str(age)))
    headers.append(("X-Cache", f"{verdict} from cloudfront"))
    headers.extend(common)
    headers.append(("X-Labkit-Latency-Ms", f"{latency:.1f}"))
    return EdgeResponse(
        status, headers, b"" if request.method == "HEAD" else body, latency, pop.pop, verdict
    )


def _origin(cfg: Any, origin_id: str) -> Any:
    for origin in cfg.Origins["Items"]:
        if origin.id == origin_id:
            return origin
    raise EdgeUnreachableError(f"The distribution has no origin {origin_id!r}.")


# -- origins -----------------------------------------------------------------------------------
_S3_REST = re.compile(
    r"^(?P<bucket>.+?)\.s3(?:\.dualstack)?(?:[.-](?P<region>[a-z]{2}(?:-[a-z]+)+-\d))?"
    r"\.amazonaws\.com$"
)
_S3_WEBSITE = re.compile(
    r"^(?P<bucket>.+?)\.s3-website[.-](?P<region>[a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com$"
)
_REGION_IN_NAME = re.compile(r"\.([a-z]{2}(?:-[a-z]+)+-\d)\.")


def _fetch_origin(
    origin: Any,
    dist: Any,
    request: EdgeRequest,
    path: str,
    query: str,
    conditional: Mapping[str, str],
    sandbox: Sandbox,
) -> tuple[EdgeResponse, Place]:
    domain = str(origin.domain_name).lower()
    full_path = (origin.origin_path or "").rstrip("/") + path
    now = sandbox.clock.timestamp
    state = world(sandbox)
    website = _S3_WEBSITE.match(domain)
    rest = (
        None if website or getattr(origin, "custom_origin_config", None) else _S3_REST.match(domain)
    )
    if rest or website:
        from labkit.services.s3 import patch_origin as s3_origin

        match = rest or website
        assert match is not None
        bucket_name = match.group("bucket")
        bucket_region = (
            s3_origin.bucket_region(bucket_name) or match.group("region") or sandbox.region
        )
        origin_place = AWS_REGIONS.get(bucket_region, AWS_REGIONS["us-east-1"])
        if state.region_down(bucket_region, now):
            return EdgeResponse(504, [], b""), origin_place
        if website:
            reply = s3_origin.website_get(bucket_name, full_path, request.method, now)
        else:
            principal, context = _origin_identity(origin, dist)
            reply = s3_origin.rest_get(
                bucket_name,
                unquote(full_path.lstrip("/")),
                request.method,
                principal,
                context,
                conditional,
                now,
            )
        return reply, origin_place
    found = _REGION_IN_NAME.search(f".{domain}.")
    region = found.group(1) if found and found.group(1) in AWS_REGIONS else sandbox.region
    origin_place = AWS_REGIONS.get(region, AWS_REGIONS["us-east-1"])
    if state.region_down(region, now):
        return EdgeResponse(504, [], b""), origin_place
    server = state.servers.get(domain)
    forwarded = EdgeRequest(
        method=request.method,
        url=f"{_origin_scheme(origin, request)}://{domain}{full_path}"
        + (f"?{query}" if query else ""),
        scheme=_origin_scheme(origin, request),
        host=domain,
        port=443 if _origin_scheme(origin, request) == "https" else 80,
        path=full_path,
        query=query,
        headers={**_forwarded_headers(request), **conditional, "host": domain},
        body=request.body,
        viewer=request.viewer,
        seq=request.seq,
    )
    if server is not None:
        return as_response(server(forwarded)), origin_place
    return _fetch_over_http(forwarded), origin_place


def _origin_scheme(origin: Any, request: EdgeRequest) -> str:
    config = getattr(origin, "custom_origin_config", None)
    policy = getattr(config, "origin_protocol_policy", None) or "match-viewer"
    if policy == "http-only":
        return "http"
    if policy == "https-only":
        return "https"
    return request.scheme


def _forwarded_headers(request: EdgeRequest) -> dict[str, str]:
    kept = {k: v for k, v in request.headers.items() if k not in ("host", "connection")}
    kept["user-agent"] = "Amazon CloudFront"
    return kept


def _fetch_over_http(request: EdgeRequest) -> EdgeResponse:
    """Ask moto (API Gateway and other AWS endpoints it serves) through ``requests``; anything
    else is off the machine, which the network guard refuses: CloudFront answers 502."""
    import requests

    from labkit.errors import NetworkBlockedError

    try:
        got = requests.request(
            request.method,
            request.url,
            headers=request.headers,
            data=request.body or None,
            timeout=5,
            allow_redirects=False,
        )
    except (requests.RequestException, NetworkBlockedError, OSError):
        return EdgeResponse(502, [], b"")
    return EdgeResponse(got.status_code, list(got.headers.items()), got.content)


def _origin_identity(origin: Any, dist: Any) -> tuple[s3_access.Principal, dict[str, str]]:
    account = dist.arn.split(":")[4]
    context = {"aws:SourceArn": dist.arn, "aws:SourceAccount": account}
    control_id = getattr(origin, "origin_access_control_id", "")
    if control_id:
        control = _origin_access_control(control_id)
        if control is None or control.signing_behavior != "never":
            return s3_access.CLOUDFRONT_SERVICE, context
    oai = (getattr(origin, "s3_origin_config", None) or {}).get("OriginAccessIdentity") or ""
    if oai:
        identity = oai.rsplit("/", 1)[-1]
        return (
            s3_access.Principal(
                "aws",
                f"arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity {identity}",
            ),
            context,
        )
    return s3_access.ANONYMOUS, {}


def _origin_access_control(control_id: str) -> Any:
    for account in list(cf_models.cloudfront_backends.values()):
        for backend in list(account.values()):
            if control_id in backend.origin_access_controls:
                return backend.origin_access_controls[control_id]
    return None


__all__ = [
    "REQUEST_LOG_SIZE",
    "InvalidInvalidationPath",
    "LoggedRequest",
    "NoSuchCachePolicy",
    "edge_caches",
    "find_distribution",
    "install",
    "policy_of",
    "request_log",
    "resolve_host",
    "serve_request",
]
