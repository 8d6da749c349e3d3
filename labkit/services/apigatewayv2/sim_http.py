"""The request pipeline of an HTTP API (API Gateway v2), step by step, each step in a trace.

A request to ``https://{api}.execute-api.{region}.amazonaws.com/{stage}/{path}`` (or, for the
``$default`` stage, with no stage prefix) goes through:

1. **cors**: with a ``CorsConfiguration``, API Gateway answers a preflight ``OPTIONS`` itself
   (``204``), even when no ``OPTIONS`` route exists, and later adds the CORS headers to the
   actual response, ignoring any the integration returned;
   https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html
2. **resolve**: the route for the method and path: the most specific path wins (literal parts
   over ``{param}`` over a greedy ``{proxy+}``), a route with the method over ``ANY``, then the
   ``$default`` route; none → ``404 {"message":"Not Found"}``;
   https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
3. **authorize**: ``NONE`` or a registered decider (``JWT``: :mod:`.sim_jwt`);
4. **throttle**: the stage's route settings (``RouteSettings[routeKey]`` else
   ``DefaultRouteSettings``) and the account's bucket, as token buckets on the lab clock
   (:mod:`labkit.services.apigateway.sim_throttle`, shared with REST APIs); empty →
   ``429 {"message":"Too Many Requests"}``;
5. **integrate**: through the :class:`HttpGateway` the patch supplies (Lambda proxy, payload
   format 1.0 or 2.0: :mod:`.sim_payload`; ``HTTP_PROXY``).

The trace, buckets and metrics are REST's
(:class:`~labkit.services.apigateway.sim_request.ApiState`), so one trace view reads both kinds.

Plain Python: no moto, no Jupyter.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from labkit.services.apigateway.sim_model import ResourceSpec, match_path
from labkit.services.apigateway.sim_request import (
    ApiState,
    IntegrationResult,
    Response,
    TraceEntry,
)
from labkit.services.apigateway.sim_throttle import Buckets, Limit, charge

#: The route that takes what no other route matches.
DEFAULT_ROUTE = "$default"
#: The stage served at the API's root, without a stage prefix.
DEFAULT_STAGE = "$default"


def message(status: int, text: str, **headers: str) -> Response:
    """A response API Gateway makes itself: ``{"message": text}`` (HTTP APIs send no
    ``x-amzn-ErrorType``)."""
    return Response(
        status, {"Content-Type": "application/json", **headers}, json.dumps({"message": text})
    )


# --- what is deployed ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteSpec:
    """A route: its key (``GET /items/{id}``, ``ANY /{proxy+}``, ``$default``) and what it does."""

    id: str
    key: str
    target: str | None = None
    authorization_type: str = "NONE"
    authorizer_id: str | None = None
    scopes: tuple[str, ...] = ()
    route_response_selection_expression: str | None = None

    @property
    def method(self) -> str:
        """The route's verb (``ANY`` for ``$default``)."""
        return self.key.split(" ", 1)[0] if " " in self.key else "ANY"

    @property
    def path(self) -> str:
        """The route's path (empty for ``$default``)."""
        return self.key.split(" ", 1)[1] if " " in self.key else ""

    @property
    def integration_id(self) -> str | None:
        """The integration ``integrations/{id}`` names."""
        if self.target and self.target.startswith("integrations/"):
            return self.target.split("/", 1)[1]
        return None


@dataclass(frozen=True)
class IntegrationSpec:
    """An integration as ``GetIntegration`` shows it."""

    id: str
    type: str
    uri: str = ""
    payload_format_version: str = "1.0"
    method: str | None = None
    timeout_ms: float = 30000.0
    credentials: str | None = None


@dataclass(frozen=True)
class AuthorizerSpec:
    """An authorizer of an HTTP or WebSocket API."""

    id: str
    name: str
    type: str
    identity_source: tuple[str, ...] = ("$request.header.Authorization",)
    issuer: str = ""
    audience: tuple[str, ...] = ()


@dataclass(frozen=True)
class CorsConfig:
    """An HTTP API's ``CorsConfiguration``."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    @classmethod
    def from_api(cls, raw: Mapping[str, Any] | None) -> CorsConfig | None:
        """From the API's shape (``AllowOrigins``, ... or moto's lower-camel keys)."""
        if not raw:
            return None

        def pick(name: str) -> Any:
            return raw.get(name, raw.get(name[0].lower() + name[1:]))

        def items(name: str) -> tuple[str, ...]:
            return tuple(str(v) for v in pick(name) or ())

        age = pick("MaxAge")
        return cls(
            items("AllowOrigins"),
            tuple(m.upper() for m in items("AllowMethods")),
            tuple(h.lower() for h in items("AllowHeaders")),
            items("ExposeHeaders"),
            int(age) if age not in (None, "") else None,
            bool(pick("AllowCredentials")),
        )

    def origin_allowed(self, origin: str) -> str | None:
        """The ``access-control-allow-origin`` for ``origin`` (``*`` or the origin), or
        ``None`` when it is not allowed."""
        if "*" in self.allow_origins:
            return "*"
        return origin if origin in self.allow_origins else None


@dataclass(frozen=True)
class HttpApiSnapshot:
    """An HTTP or WebSocket API as a stage serves it (its deployment, or the API itself for an
    auto-deployed stage)."""

    api_id: str
    account_id: str
    region: str
    protocol: str
    routes: tuple[RouteSpec, ...]
    integrations: dict[str, IntegrationSpec] = field(default_factory=dict)
    authorizers: dict[str, AuthorizerSpec] = field(default_factory=dict)
    cors: CorsConfig | None = None
    route_selection_expression: str = "$request.method $request.path"
    deployment_id: str | None = None

    def route(self, key: str) -> RouteSpec | None:
        """The route with ``key`` exactly."""
        return next((r for r in self.routes if r.key == key), None)

    def match(self, verb: str, path: str) -> tuple[RouteSpec, dict[str, str]] | None:
        """The route for ``verb`` and ``path`` and its path parameters."""
        fitting = [r for r in self.routes if r.path and r.method in (verb, "ANY")]
        paths = {r.path: ResourceSpec(r.path, r.path) for r in fitting}
        found = match_path(tuple(paths.values()), path)
        if found is not None:
            spec, params = found
            same = [r for r in fitting if r.path == spec.path]
            route = next((r for r in same if r.method == verb), None) or same[0]
            return route, params
        default = self.route(DEFAULT_ROUTE)
        return (default, {}) if default is not None else None


@dataclass(frozen=True)
class RouteLimits:
    """A stage's throttling for a route (``RouteSettings``/``DefaultRouteSettings``)."""

    rate: float | None = None
    burst: float | None = None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any] | None) -> RouteLimits:
        """From ``ThrottlingRateLimit``/``ThrottlingBurstLimit`` (either case)."""
        raw = raw or {}
        rate = raw.get("ThrottlingRateLimit", raw.get("throttlingRateLimit"))
        burst = raw.get("ThrottlingBurstLimit", raw.get("throttlingBurstLimit"))
        return cls(
            float(rate) if rate not in (None, "") else None,
            float(burst) if burst not in (None, "") else None,
        )


@dataclass(frozen=True)
class HttpStage:
    """A stage's live settings."""

    name: str
    default_limits: RouteLimits = field(default_factory=RouteLimits)
    route_limits: dict[str, RouteLimits] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)

    def limits_for(self, route_key: str) -> RouteLimits:
        """The route's own settings, else the stage's defaults."""
        own = self.route_limits.get(route_key)
        if own is not None and (own.rate is not None or own.burst is not None):
            return own
        return self.default_limits


# --- a request -----------------------------------------------------------------------------------


@dataclass
class AuthResult:
    """What the authorize step decided.

    Attributes:
        allowed: Whether the request goes on.
        response: The refusal to send when not.
        reason: Why, in words (for the trace).
        decider: ``NONE``, ``JWT``, ...
        context: ``requestContext.authorizer`` for the integration.
    """

    allowed: bool
    response: Response | None = None
    reason: str = ""
    decider: str = "NONE"
    context: dict[str, Any] = field(default_factory=dict)


@dataclass
class HttpRequest:
    """One request to an HTTP API stage, as the pipeline sees it.

    Attributes:
        http_method: The verb.
        url: The URL called.
        path: The path below the stage (``/items/42``).
        raw_path: The path as sent (with the stage prefix of a named stage).
        query: Query pairs in order.
        headers: Request headers as sent.
        body: The body.
        api: What the stage serves.
        stage: The stage.
        now: The lab clock.
        request_id: API Gateway's request id.
        source_ip: The caller's address.
        route: The route (after resolve).
        path_params: Path parameters (after resolve).
        auth: The authorize step's result.
    """

    http_method: str
    url: str
    path: str
    raw_path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: str | bytes | None
    api: HttpApiSnapshot
    stage: HttpStage
    now: float
    request_id: str
    source_ip: str = "127.0.0.1"
    route: RouteSpec | None = None
    path_params: dict[str, str] = field(default_factory=dict)
    auth: AuthResult | None = None

    def header(self, name: str) -> str | None:
        """A header by name, whatever its case."""
        lower = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lower), None)

    @property
    def source_arn(self) -> str:
        """``arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}{path}``."""
        return (
            f"arn:aws:execute-api:{self.api.region}:{self.api.account_id}:{self.api.api_id}/"
            f"{self.stage.name}/{self.http_method}{self.path}"
        )


class HttpGateway(Protocol):
    """What the pipeline needs from outside plain Python (the patch supplies it)."""

    def integrate(self, request: HttpRequest, integration: IntegrationSpec) -> IntegrationResult:
        """Call the route's integration."""

    def account_throttle(self) -> tuple[Buckets, float, float]:
        """The account's bucket in this Region, and its limit (rate, burst)."""


#: A decider for one ``AuthorizationType``.
Decider = Callable[[HttpRequest], AuthResult]
_DECIDERS: dict[str, Decider] = {}


def register_authorizer(authorization_type: str, decider: Decider) -> Callable[[], None]:
    """Make ``decider`` decide routes of ``authorization_type``; returns the undo."""
    previous = _DECIDERS.get(authorization_type)
    _DECIDERS[authorization_type] = decider

    def undo() -> None:
        if previous is None:
            _DECIDERS.pop(authorization_type, None)
        else:
            _DECIDERS[authorization_type] = previous

    return undo


# --- the steps -----------------------------------------------------------------------------------


def preflight(request: HttpRequest, entry: TraceEntry) -> Response | None:
    """API Gateway's own answer to a CORS preflight, when the API has a CORS configuration."""
    cors = request.api.cors
    if cors is None or request.http_method != "OPTIONS":
        return None
    origin = request.header("Origin")
    asked = request.header("Access-Control-Request-Method")
    if not origin or not asked:
        return None
    headers: dict[str, str] = {}
    allowed = cors.origin_allowed(origin)
    method_ok = "*" in cors.allow_methods or asked.upper() in cors.allow_methods
    if allowed is not None and method_ok:
        headers["access-control-allow-origin"] = allowed
        headers["access-control-allow-methods"] = ",".join(cors.allow_methods)
        wanted = request.header("Access-Control-Request-Headers")
        if cors.allow_headers:
            shown = wanted if "*" in cors.allow_headers and wanted else ",".join(cors.allow_headers)
            headers["access-control-allow-headers"] = shown
        if cors.max_age is not None:
            headers["access-control-max-age"] = str(cors.max_age)
        if cors.allow_credentials:
            headers["access-control-allow-credentials"] = "true"
        entry.step("cors", "preflight allowed", f"origin {origin}, method {asked}")
    else:
        why = "origin" if allowed is None else "method"
        entry.step("cors", "preflight refused", f"{why} not in the API's CorsConfiguration")
    return Response(204, headers, "")


def cors_headers(request: HttpRequest, response: Response) -> None:
    """The CORS headers of an actual response (the integration's own are dropped)."""
    cors = request.api.cors
    if cors is None:
        return
    for name in list(response.headers):
        if name.lower().startswith("access-control-"):
            del response.headers[name]
    origin = request.header("Origin")
    allowed = cors.origin_allowed(origin) if origin else None
    if allowed is None:
        return
    response.headers["access-control-allow-origin"] = allowed
    if cors.expose_headers:
        response.headers["access-control-expose-headers"] = ",".join(cors.expose_headers)
    if cors.allow_credentials:
        response.headers["access-control-allow-credentials"] = "true"


def resolve(request: HttpRequest, entry: TraceEntry) -> Response | None:
    """Find the route; 404 when none matches and there is no ``$default`` route."""
    found = request.api.match(request.http_method, request.path)
    if found is None:
        entry.step("resolve", "no route", f"no route for {request.http_method} {request.path}")
        return message(404, "Not Found")
    request.route, request.path_params = found
    entry.route = request.route.key
    entry.step("resolve", "matched", request.route.key)
    return None


def authorize(request: HttpRequest, entry: TraceEntry) -> Response | None:
    """The route's authorizer."""
    assert request.route is not None
    kind = request.route.authorization_type or "NONE"
    if kind == "NONE":
        result = AuthResult(True, reason="AuthorizationType NONE: open to any caller")
    else:
        decider = _DECIDERS.get(kind)
        result = (
            decider(request)
            if decider is not None
            else AuthResult(
                False,
                message(500, "Internal Server Error"),
                f"AuthorizationType {kind} is not simulated here, so the request was refused",
                kind,
            )
        )
    request.auth = result
    entry.authorizer = result.decider
    entry.auth_reason = result.reason
    entry.step("authorize", "allowed" if result.allowed else "refused", result.reason)
    return None if result.allowed else result.response


def throttle(
    request: HttpRequest, gateway: HttpGateway, state: ApiState, entry: TraceEntry
) -> Response | None:
    """The stage's limits for the route, then the account's; 429 when a bucket is empty."""
    assert request.route is not None
    key = request.route.key
    limits: list[tuple[Buckets, Limit]] = []
    own = request.stage.limits_for(key)
    if own.rate is not None or own.burst is not None:
        rate = own.rate if own.rate is not None else own.burst or 0.0
        burst = own.burst if own.burst is not None else rate
        limits.append(
            (
                state.buckets,
                Limit(
                    (request.api.api_id, request.stage.name, key),
                    f"stage {request.stage.name} {key}",
                    rate,
                    burst,
                ),
            )
        )
    account, rate, burst = gateway.account_throttle()
    limits.append(
        (
            account,
            Limit(
                ("account", request.api.account_id, request.api.region),
                f"account {request.api.account_id}",
                rate,
                burst,
            ),
        )
    )
    result = charge(limits, request.now)
    entry.bucket = result.bucket
    if result.allowed:
        entry.step("throttle", "passed", result.bucket)
        return None
    entry.step("throttle", "refused", result.reason)
    return message(429, "Too Many Requests")


def integrate(request: HttpRequest, gateway: HttpGateway, entry: TraceEntry) -> Response:
    """Call the route's integration."""
    assert request.route is not None
    integration = request.api.integrations.get(request.route.integration_id or "")
    if integration is None:
        entry.step("integrate", "500", f"route {request.route.key} has no integration")
        return message(500, "Internal Server Error")
    entry.integration = integration.type
    entry.cache = "off"  # HTTP APIs have no stage cache
    result = gateway.integrate(request, integration)
    entry.integration_latency_ms = result.latency_ms
    entry.step("integrate", str(result.response.status), result.detail)
    return result.response


def serve(request: HttpRequest, gateway: HttpGateway, state: ApiState) -> Response:
    """Run ``request`` through every step and record it in ``state``'s trace."""
    started = time.perf_counter()
    entry = TraceEntry(
        request.request_id, request.now, request.http_method, request.path, request.stage.name
    )
    metrics = state.stage_metrics(request.stage.name)
    response = preflight(request, entry)
    answered_preflight = response is not None
    if response is None:
        response = resolve(request, entry)
    if response is None:
        response = authorize(request, entry)
    if response is None:
        response = throttle(request, gateway, state, entry)
        if response is not None:
            metrics.throttled += 1
    if response is None:
        response = integrate(request, gateway, entry)
    if not answered_preflight:
        cors_headers(request, response)
    response.headers.setdefault("apigw-requestid", request.request_id[:16])
    metrics.count += 1
    if 400 <= response.status < 500:
        metrics.errors_4xx += 1
    elif response.status >= 500:
        metrics.errors_5xx += 1
    entry.status = response.status
    entry.latency_ms = (time.perf_counter() - started) * 1000 + entry.integration_latency_ms
    entry.step("respond", str(response.status))
    state.trace.append(entry)
    return response


__all__ = [
    "DEFAULT_ROUTE",
    "DEFAULT_STAGE",
    "AuthResult",
    "AuthorizerSpec",
    "CorsConfig",
    "HttpApiSnapshot",
    "HttpGateway",
    "HttpRequest",
    "HttpStage",
    "IntegrationSpec",
    "RouteLimits",
    "RouteSpec",
    "authorize",
    "cors_headers",
    "integrate",
    "message",
    "preflight",
    "register_authorizer",
    "resolve",
    "serve",
    "throttle",
]
