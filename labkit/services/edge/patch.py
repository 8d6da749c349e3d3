"""The edge network inside the sandbox: where the viewer is, and how HTTP reaches the edge.

Learners talk to CloudFront and Global Accelerator as they would on AWS, with HTTP:
``requests.get(f"https://{distribution_domain}/index.html")`` or ``urllib.request.urlopen(...)``.
No socket is opened. While a lab runs:

- ``requests``: moto already routes ``requests`` through its ``responses`` mock; this module adds
  one matcher per HTTP method to that mock. It claims a URL when a service resolver recognises
  the host (a distribution's ``*.cloudfront.net`` name or alias, an accelerator's DNS name or
  static IP) and answers it in-process. Other URLs are left alone (moto's own, or the network
  guard's refusal).
- ``urllib``: the process's default opener (what ``urllib.request.urlopen`` uses) gets a handler
  that answers the same hosts before ``http.client`` would resolve a name; the previous opener
  is put back when the lab stops. A learner who installs an opener of their own replaces it.
- Other HTTP clients (``http.client``, ``httpx``, ``aiohttp``) are not intercepted: their name
  lookup reaches the network guard, which refuses it.

Both paths end in :func:`fetch`, which lessons and traffic traces also call directly (no HTTP
stack at all: that is how a 10,000-request trace runs in well under a second of wall time).

The world the edge lives in, the viewer's location, servers a lesson stands up behind an origin
or endpoint, and Region outages, is kept on moto's CloudFront backend object, so ``lab.reset()``
and a check's isolated world cover it like any AWS resource.
"""

from __future__ import annotations

import http.client
import importlib
import io
import urllib.error
import urllib.request
import urllib.response
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
import responses
from urllib3 import HTTPHeaderDict, HTTPResponse

from labkit.errors import LabkitError, SandboxNotRunningError
from labkit.services.edge.sim_locations import AWS_REGIONS, Place, place

if TYPE_CHECKING:
    from labkit.clock import Clock
    from labkit.sandbox.session import Sandbox

#: A request header that places the viewer for one request (``X-Labkit-Viewer: JP-Tokyo``).
VIEWER_HEADER = "x-labkit-viewer"

#: Modules whose ``resolve_host(host, sandbox)`` may claim a host for the edge.
RESOLVERS = (
    "labkit.services.cloudfront.patch",
    "labkit.services.globalaccelerator.patch",
)


class EdgeUnreachableError(LabkitError):
    """The host cannot be reached: no such name, nothing listening, or a timeout.

    The HTTP adapters turn it into what the client would raise against AWS
    (``requests.ConnectionError``, ``urllib.error.URLError``).
    """

    code = "EdgeUnreachable"


# -- requests and responses -------------------------------------------------------------------
@dataclass
class EdgeRequest:
    """An HTTP request a viewer sends to the edge.

    Attributes:
        method: ``GET``, ``HEAD``, ...
        url: The full URL.
        scheme: ``http`` or ``https``.
        host: The host name (lower case, no port).
        port: The port (80/443 unless given).
        path: The path, as sent.
        query: The raw query string (without ``?``).
        headers: The request headers, names lower-case.
        body: The request body.
        viewer: Where the viewer is.
        seq: A per-world sequence number (stands in for a connection's source port).
    """

    method: str
    url: str
    scheme: str
    host: str
    port: int
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    viewer: Place
    seq: int = 0


@dataclass
class EdgeResponse:
    """What the edge answers.

    Attributes:
        status: The status code.
        headers: The response headers, in order (names as sent).
        body: The body.
        latency_ms: The modelled time to first byte the viewer sees, milliseconds.
        served_by: Where it was answered (an edge location's POP id, or an endpoint).
        cache: CloudFront's verdict (``Hit``, ``Miss``, ``RefreshHit``, ``Error``) or ``""``.
    """

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    latency_ms: float = 0.0
    served_by: str = ""
    cache: str = ""

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or ``None``."""
        lower = name.lower()
        return next((v for k, v in self.headers if k.lower() == lower), None)


Handler = Callable[[EdgeRequest], EdgeResponse]
#: What a lesson's server returns: an EdgeResponse, or ``(status, headers, body)``.
ServerReply = EdgeResponse | tuple[int, Mapping[str, str], bytes | str]
Server = Callable[[EdgeRequest], ServerReply]


def as_response(reply: ServerReply) -> EdgeResponse:
    """Normalise what a lesson's server returned."""
    if isinstance(reply, EdgeResponse):
        return reply
    status, headers, body = reply
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    return EdgeResponse(int(status), list(headers.items()), data)


# -- the world -------------------------------------------------------------------------------
@dataclass
class EdgeWorld:
    """Edge state of one AWS world (kept on moto's CloudFront backend object).

    Attributes:
        viewer: Where requests come from unless a request says otherwise; ``None`` means the
            sandbox's Region.
        servers: Servers a lesson stands up, by host name or endpoint id.
        outages: Per Region, ``(time, down)`` changes, in time order.
        endpoint_outages: Per endpoint id, ``(time, down)`` changes, in time order.
        seq: Requests seen so far.
    """

    viewer: Place | None = None
    servers: dict[str, Server] = field(default_factory=dict)
    outages: dict[str, list[tuple[float, bool]]] = field(default_factory=dict)
    endpoint_outages: dict[str, list[tuple[float, bool]]] = field(default_factory=dict)
    seq: int = 0

    def down(self, timeline: Iterable[tuple[float, bool]], at: float) -> bool:
        """Whether a timeline says "down" at ``at``."""
        state = False
        for t, is_down in timeline:
            if t > at:
                break
            state = is_down
        return state

    def region_down(self, region: str, at: float) -> bool:
        """Whether ``region`` is failed at ``at``."""
        return self.down(self.outages.get(region, ()), at)


def running() -> Sandbox:
    """The running sandbox, or a clear error."""
    from labkit.sandbox.session import running_sandbox

    sandbox = running_sandbox()
    if sandbox is None:
        raise SandboxNotRunningError()
    return sandbox


def world(sandbox: Sandbox | None = None) -> EdgeWorld:
    """The edge state of the current AWS world (an isolated check has its own)."""
    from moto.cloudfront.models import cloudfront_backends
    from moto.core.models import DEFAULT_ACCOUNT_ID

    (sandbox or running())._require_running()
    backend = cloudfront_backends[DEFAULT_ACCOUNT_ID]["global"]
    state = backend.__dict__.get("labkit_edge")
    if state is None:
        state = EdgeWorld()
        backend.__dict__["labkit_edge"] = state
    return state


# -- the lesson's API -----------------------------------------------------------------------
def current_viewer(sandbox: Sandbox | None = None) -> Place:
    """Where requests come from now: the viewer set by the lesson, else the sandbox's Region."""
    sandbox = sandbox or running()
    chosen = world(sandbox).viewer
    return (
        chosen if chosen is not None else AWS_REGIONS.get(sandbox.region, AWS_REGIONS["us-east-1"])
    )


def set_viewer(location: str | Place | None, *, sandbox: Sandbox | None = None) -> Place:
    """Place the viewer (``"Tokyo"``, ``"JP-Tokyo"``, an AWS Region, or a Place); ``None`` puts
    it back in the sandbox's Region.

    Returns:
        Where the viewer is now.
    """
    sandbox = sandbox or running()
    world(sandbox).viewer = None if location is None else place(location)
    return current_viewer(sandbox)


@contextmanager
def viewer(location: str | Place, *, sandbox: Sandbox | None = None) -> Iterator[Place]:
    """Send the requests of a ``with`` block from ``location``.

    Example:
        >>> with viewer("Tokyo"):                                   # doctest: +SKIP
        ...     requests.get(f"https://{domain}/index.html").headers["X-Amz-Cf-Pop"]
        'NRT57-P1'
    """
    sandbox = sandbox or running()
    state = world(sandbox)
    before = state.viewer
    state.viewer = place(location)
    try:
        yield state.viewer
    finally:
        state.viewer = before


def serve(host: str, server: Server, *, sandbox: Sandbox | None = None) -> None:
    """Stand up a server for an HTTP origin or an accelerator endpoint.

    Args:
        host: The origin's domain name (as in the distribution's origin) or the endpoint id
            (an ALB ARN, an instance id, an EIP allocation id).
        server: ``server(request)`` returns an :class:`EdgeResponse` or ``(status, headers,
            body)``.
    """
    world(sandbox).servers[host.lower() if "." in host and ":" not in host else host] = server


def fail_region(region: str, *, sandbox: Sandbox | None = None) -> None:
    """Take an AWS Region down from now on (health checks notice on the lab clock)."""
    _set_outage(region, True, sandbox, endpoint=False)


def restore_region(region: str, *, sandbox: Sandbox | None = None) -> None:
    """Bring a failed Region back from now on."""
    _set_outage(region, False, sandbox, endpoint=False)


def fail_endpoint(endpoint_id: str, *, sandbox: Sandbox | None = None) -> None:
    """Make one endpoint stop answering from now on (an instance crashing, say)."""
    _set_outage(endpoint_id, True, sandbox, endpoint=True)


def restore_endpoint(endpoint_id: str, *, sandbox: Sandbox | None = None) -> None:
    """Make a failed endpoint answer again from now on."""
    _set_outage(endpoint_id, False, sandbox, endpoint=True)


def region_down_now(region: str, at: float) -> bool:
    """Whether ``region`` is failed at lab time ``at``, read without creating the edge world.

    For other services' patches (DynamoDB global tables) that ask on every request: when no
    Region was ever failed in this AWS world, moto's CloudFront backend does not exist and is not
    created (nor CloudFront's patch loaded) by asking.
    """
    from labkit.sandbox.backends import existing

    for _partition, backend in existing("cloudfront"):
        state = backend.__dict__.get("labkit_edge")
        if isinstance(state, EdgeWorld) and state.outages:
            return state.region_down(region, at)
    return False


def _set_outage(name: str, down: bool, sandbox: Sandbox | None, *, endpoint: bool) -> None:
    sandbox = sandbox or running()
    if not endpoint and name not in AWS_REGIONS:
        raise LabkitError(f"{name!r} is not an AWS Region labkit knows ({', '.join(AWS_REGIONS)}).")
    state = world(sandbox)
    timelines = state.endpoint_outages if endpoint else state.outages
    timelines.setdefault(name, []).append((sandbox.clock.timestamp, down))


# -- resolving and fetching -------------------------------------------------------------------
def _resolvers() -> list[Callable[[str, Sandbox], Handler | None]]:
    return [importlib.import_module(name).resolve_host for name in RESOLVERS]


def resolve(host: str, sandbox: Sandbox) -> Handler | None:
    """The handler that answers ``host`` in the sandbox, or ``None`` if the edge does not own
    it."""
    for resolver in _resolvers():
        handler = resolver(host, sandbox)
        if handler is not None:
            return handler
    return None


def build_request(
    method: str,
    url: str,
    headers: Mapping[str, str] | None,
    body: bytes | None,
    sandbox: Sandbox,
    viewer_at: str | Place | None = None,
) -> EdgeRequest:
    """An :class:`EdgeRequest` for ``url``, with the viewer taken from (in order) ``viewer_at``,
    the ``X-Labkit-Viewer`` header, the lesson's viewer."""
    parts = urlsplit(url)
    lower = {k.lower(): str(v) for k, v in (headers or {}).items()}
    named = lower.pop(VIEWER_HEADER, None)
    where = viewer_at if viewer_at is not None else named
    state = world(sandbox)
    state.seq += 1
    scheme = (parts.scheme or "http").lower()
    return EdgeRequest(
        method=method.upper(),
        url=url,
        scheme=scheme,
        host=(parts.hostname or "").lower(),
        port=parts.port or (443 if scheme == "https" else 80),
        path=parts.path or "/",
        query=parts.query,
        headers=lower,
        body=body or b"",
        viewer=place(where) if where is not None else current_viewer(sandbox),
        seq=state.seq,
    )


def fetch(
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    viewer_at: str | Place | None = None,
    sandbox: Sandbox | None = None,
) -> EdgeResponse:
    """Send one request to the edge without any HTTP library (what traces use).

    Raises:
        EdgeUnreachableError: If no distribution or accelerator answers for the host.
    """
    sandbox = sandbox or running()
    request = build_request(method, url, headers, body, sandbox, viewer_at)
    handler = resolve(request.host, sandbox)
    if handler is None:
        raise EdgeUnreachableError(
            f"Nothing in the sandbox answers for {request.host!r}: use a distribution's domain "
            "name (or alias) or an accelerator's DNS name or static IP address."
        )
    return handler(request)


# -- traffic traces ---------------------------------------------------------------------------
@dataclass(frozen=True)
class TraceRequest:
    """One request of a traffic trace.

    Attributes:
        at: Seconds after the trace starts.
        url: The URL.
        viewer: Where it comes from (``None``: the lesson's viewer).
        method: The HTTP method.
        headers: Extra request headers.
    """

    at: float
    url: str
    viewer: str | Place | None = None
    method: str = "GET"
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True)
class TraceResult:
    """What happened to one request of a trace (status 0: the connection failed)."""

    at: float
    url: str
    viewer: str
    status: int
    cache: str
    served_by: str
    latency_ms: float


@dataclass
class TraceReport:
    """The results of :func:`replay`, with summaries a lesson can print or plot."""

    results: list[TraceResult]

    @property
    def hit_ratio(self) -> float:
        """Share of requests CloudFront answered from cache (hits and refresh hits)."""
        cached = [r for r in self.results if r.cache]
        hits = sum(1 for r in cached if r.cache in ("Hit", "RefreshHit"))
        return hits / len(cached) if cached else 0.0

    def by(self, what: str = "served_by") -> dict[str, int]:
        """Request counts by ``served_by``, ``cache``, ``viewer`` or ``status``."""
        counts: dict[str, int] = {}
        for r in self.results:
            name = str(getattr(r, what))
            counts[name] = counts.get(name, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))

    def latency_percentile(self, p: float) -> float:
        """The ``p``-th percentile (0-100) of modelled latency, milliseconds."""
        values = sorted(r.latency_ms for r in self.results if r.status)
        if not values:
            return 0.0
        index = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
        return values[index]

    def summary(self) -> str:
        """A few lines for a learner."""
        ok = sum(1 for r in self.results if r.status and r.status < 400)
        return (
            f"{len(self.results)} requests, {ok} succeeded, cache hit ratio "
            f"{self.hit_ratio:.0%}, latency p50 {self.latency_percentile(50):.0f} ms, "
            f"p95 {self.latency_percentile(95):.0f} ms"
        )

    def __repr__(self) -> str:
        return f"<TraceReport {self.summary()}>"


def replay(
    trace: Iterable[TraceRequest | tuple[Any, ...]], *, sandbox: Sandbox | None = None
) -> TraceReport:
    """Run a traffic trace on the lab clock: each request at its time, straight to the edge.

    The clock moves to each request's time (events due on the way run, as ever), so TTLs,
    invalidations and health checks all play out. Requests are handed to :func:`fetch`, not to
    an HTTP library, which keeps a trace fast.

    Args:
        trace: :class:`TraceRequest` objects or ``(at, url[, viewer])`` tuples, in any order.
    """
    sandbox = sandbox or running()
    items = sorted(
        (t if isinstance(t, TraceRequest) else TraceRequest(*t) for t in trace),
        key=lambda t: t.at,
    )
    clock: Clock = sandbox.clock
    start = clock.timestamp
    results: list[TraceResult] = []
    for item in items:
        when = start + item.at
        if when > clock.timestamp:
            clock.advance_to(when)
        where = item.viewer if item.viewer is not None else current_viewer(sandbox)
        name = where.name if isinstance(where, Place) else str(where)
        try:
            got = fetch(
                item.url,
                method=item.method,
                headers=item.headers,
                viewer_at=where,
                sandbox=sandbox,
            )
        except EdgeUnreachableError:
            results.append(TraceResult(item.at, item.url, name, 0, "", "", 0.0))
            continue
        results.append(
            TraceResult(
                item.at, item.url, name, got.status, got.cache, got.served_by, got.latency_ms
            )
        )
    return TraceReport(results)


# -- the HTTP adapters --------------------------------------------------------------------------
class _EdgeMatcher(responses.BaseResponse):
    """Claims requests (made with ``requests``) whose host the edge owns."""

    def __init__(self, method: str, sandbox: Sandbox) -> None:
        super().__init__(method, "labkit-edge://")
        self._sandbox = sandbox
        self._handler: Handler | None = None

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def matches(self, request: Any) -> tuple[bool, str]:
        if request.method != self.method:
            return False, "Method does not match"
        host = (urlsplit(str(request.url)).hostname or "").lower()
        handler = resolve(host, self._sandbox) if host else None
        if handler is None:
            return False, "Not an edge host"
        self._handler = handler
        return True, ""

    def get_response(self, request: Any) -> HTTPResponse:
        handler = self._handler or resolve(urlsplit(str(request.url)).hostname or "", self._sandbox)
        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is not None and not isinstance(body, bytes):
            body = b"".join(body)
        edge_request = build_request(
            request.method, str(request.url), dict(request.headers), body, self._sandbox
        )
        if handler is None:
            raise requests.ConnectionError(f"Failed to resolve {edge_request.host!r}")
        try:
            answer = handler(edge_request)
        except EdgeUnreachableError as exc:
            raise requests.ConnectionError(str(exc), request=request) from exc
        headers = HTTPHeaderDict()
        for name, value in answer.headers:
            headers.add(name, value)
        return HTTPResponse(
            status=answer.status,
            reason=HTTPStatus(answer.status).phrase
            if answer.status in HTTPStatus._value2member_map_
            else "",
            body=io.BytesIO(answer.body),
            headers=headers,
            preload_content=False,
            decode_content=False,
            request_method=request.method,  # a HEAD answer has Content-Length and no body
        )


class _EdgeUrllibHandler(urllib.request.BaseHandler):
    """Answers ``urllib.request.urlopen`` for edge hosts before ``http.client`` looks up a
    name."""

    handler_order = 100  # before HTTPHandler / HTTPSHandler (500)

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    def _open(self, req: urllib.request.Request) -> urllib.response.addinfourl | None:
        if not self._sandbox.running:
            return None
        host = (urlsplit(req.full_url).hostname or "").lower()
        handler = resolve(host, self._sandbox)
        if handler is None:
            return None  # not ours: the default handlers (and the network guard) decide
        data = req.data if isinstance(req.data, bytes) else None
        edge_request = build_request(
            req.get_method(), req.full_url, dict(req.header_items()), data, self._sandbox
        )
        try:
            answer = handler(edge_request)
        except EdgeUnreachableError as exc:
            raise urllib.error.URLError(str(exc)) from exc
        message = http.client.HTTPMessage()
        for name, value in answer.headers:
            message[name] = value
        reply = urllib.response.addinfourl(
            io.BytesIO(answer.body), message, req.full_url, answer.status
        )
        reply.msg = HTTPStatus(answer.status).phrase  # type: ignore[attr-defined]
        return reply

    def http_open(self, req: urllib.request.Request) -> urllib.response.addinfourl | None:
        return self._open(req)

    def https_open(self, req: urllib.request.Request) -> urllib.response.addinfourl | None:
        return self._open(req)


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Route HTTP requests for edge hosts to the edge while ``sandbox`` runs."""
    from moto.core.models import responses_mock

    matchers = [
        _EdgeMatcher(method, sandbox)
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
    ]
    for matcher in matchers:
        responses_mock.add(matcher)

    def remove_matchers() -> None:
        for matcher in matchers:
            responses_mock.remove(matcher)

    stack.callback(remove_matchers)

    # moto's registry tests every request against its ~200 URL patterns per method before it
    # picks a match; an edge host is answered first, which saves that scan on every request.
    registry = responses_mock._registry
    scan = registry.find
    by_method = {m.method: m for m in matchers}

    def find(request: Any) -> Any:
        matcher = by_method.get(request.method)
        if matcher is not None and matcher.matches(request)[0]:
            return matcher, []
        return scan(request)

    registry.find = find  # type: ignore[method-assign]

    def restore_find() -> None:
        if registry.__dict__.get("find") is find:
            del registry.find

    stack.callback(restore_find)

    previous = urllib.request._opener  # type: ignore[attr-defined]
    urllib.request.install_opener(urllib.request.build_opener(_EdgeUrllibHandler(sandbox)))

    def restore_opener() -> None:
        urllib.request._opener = previous  # type: ignore[attr-defined]

    stack.callback(restore_opener)


__all__ = [
    "VIEWER_HEADER",
    "EdgeRequest",
    "EdgeResponse",
    "EdgeUnreachableError",
    "EdgeWorld",
    "TraceReport",
    "TraceRequest",
    "TraceResult",
    "current_viewer",
    "fail_endpoint",
    "fail_region",
    "fetch",
    "replay",
    "restore_endpoint",
    "restore_region",
    "serve",
    "set_viewer",
    "viewer",
    "world",
]
