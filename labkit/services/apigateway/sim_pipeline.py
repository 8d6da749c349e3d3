"""The request pipeline of a REST API stage, step by step, each step written into a trace.

A request to ``https://{api}.execute-api.{region}.amazonaws.com/{stage}/{path}`` goes through
the steps API Gateway documents, in its order:

1. **resolve**: the deployed resource and method for the path and verb; none → 403
   ``{"message":"Missing Authentication Token"}``.
2. **authorize**: :func:`authorize` (``authorize(request) -> AuthOutcome``), the one place that
   decides whether the caller gets in: the method's authorizer (``authorizationType``), the
   resource policy, then the API key when the method has ``apiKeyRequired``. Authorizers other
   than ``NONE`` plug in with :func:`register_authorizer`, resource policies with
   :func:`register_resource_policy`.
3. **throttle**: token buckets (usage plan per key, stage/method, account) and usage-plan quotas;
   429 when empty.
4. **cache**: the stage cache, when the method has caching on; a hit skips the integration.
5. **integrate**: the integration (Lambda proxy, Lambda, AWS service, HTTP, MOCK), through the
   :class:`Gateway` the patch supplies (it is where moto is reached).
6. **respond**: the HTTP response with API Gateway's own headers.

https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-basic-concept.html

Plain Python: no moto, no Jupyter. The patch (:mod:`labkit.services.apigateway.patch`) builds
the :class:`ApiRequest` from the HTTP request and the deployed snapshot, and supplies the
:class:`Gateway`.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from labkit.services.apigateway.sim_model import (
    DeploymentSnapshot,
    MethodSettings,
    MethodSpec,
    ResourceSpec,
    StageConfig,
)

#: How many requests an API's trace keeps (the oldest go first).
TRACE_LENGTH = 1000

#: ``x-amzn-ErrorType`` for the responses API Gateway makes itself, by message.
ERROR_TYPES = {
    "Missing Authentication Token": "MissingAuthenticationTokenException",
    "Forbidden": "ForbiddenException",
    "Unauthorized": "UnauthorizedException",
    "Too Many Requests": "TooManyRequestsException",
    "Limit Exceeded": "LimitExceededException",
    "Internal server error": "InternalServerErrorException",
    "Endpoint request timed out": "InternalServerErrorException",
}


@dataclass
class Response:
    """An HTTP response from the gateway.

    Attributes:
        status: The status code.
        headers: Response headers.
        body: The body.
    """

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str | bytes = ""

    @classmethod
    def message(cls, status: int, message: str, **headers: str) -> Response:
        """A response API Gateway makes itself: ``{"message": ...}`` with its error type."""
        head = {"Content-Type": "application/json"}
        if message in ERROR_TYPES:
            head["x-amzn-ErrorType"] = ERROR_TYPES[message]
        head.update(headers)
        return cls(status, head, json.dumps({"message": message}))


@dataclass
class AuthOutcome:
    """What the authorize step decided, and why.

    Attributes:
        allowed: Whether the request goes on.
        status: The status to answer with when refused (401, 403, 500).
        message: The ``message`` of the refusal's body, as AWS words it.
        reason: Why, in words (the trace shows it).
        decider: Who decided: ``NONE``, ``API_KEY``, ``AWS_IAM``, ``COGNITO_USER_POOLS``,
            ``CUSTOM``, ``RESOURCE_POLICY``.
        principal_id: The caller, as the authorizer names them.
        context: ``requestContext.authorizer`` for the integration (claims, a Lambda
            authorizer's context, ``principalId``).
        identity: Fields merged into ``requestContext.identity`` (``cognitoIdentityId``,
            ``userArn``, ``accessKey``, ``caller``, ...).
        usage_key: The API key value a Lambda authorizer returned as ``usageIdentifierKey``
            (for APIs whose ``apiKeySource`` is ``AUTHORIZER``).
        api_key_id: The API key that was checked, once the key check passed.
        usage_plan: The usage plan that key belongs to for this stage.
        headers: Headers to add to a refusal.
    """

    allowed: bool
    status: int = 200
    message: str = ""
    reason: str = ""
    decider: str = "NONE"
    principal_id: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    identity: dict[str, Any] = field(default_factory=dict)
    usage_key: str | None = None
    api_key_id: str | None = None
    usage_plan: UsagePlanInfo | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def allow(cls, decider: str, reason: str, **fields: Any) -> AuthOutcome:
        """The request may go on."""
        return cls(True, 200, "", reason, decider, **fields)

    @classmethod
    def deny(
        cls, decider: str, status: int, message: str, reason: str, **fields: Any
    ) -> AuthOutcome:
        """The request is refused with ``status`` and ``{"message": message}``."""
        return cls(False, status, message, reason, decider, **fields)


@dataclass(frozen=True)
class ApiKeyInfo:
    """An API key as the gateway checks it."""

    id: str
    value: str
    enabled: bool
    name: str | None = None


@dataclass(frozen=True)
class UsagePlanInfo:
    """A usage plan's limits for one API stage.

    Attributes:
        id: The plan's id.
        name: Its name.
        rate: Steady-state requests per second per key (``None``: not throttled).
        burst: Bucket size per key.
        quota_limit: Requests per quota period per key (``None``: no quota).
        quota_period: ``DAY``, ``WEEK`` or ``MONTH``.
        quota_offset: Days (or for ``DAY``, nothing) into the period where it starts.
        method_throttle: Per-method limits inside the plan, by ``/{path}/{METHOD}``:
            ``(rate, burst)``.
    """

    id: str
    name: str | None = None
    rate: float | None = None
    burst: int | None = None
    quota_limit: int | None = None
    quota_period: str | None = None
    quota_offset: int = 0
    method_throttle: dict[str, tuple[float, int]] = field(default_factory=dict)


@dataclass
class ApiRequest:
    """One request as the pipeline sees it.

    Attributes:
        http_method: The verb.
        url: The full URL called.
        path: The path below the stage (``/orders/42``).
        headers: Request headers as sent.
        query: Query string pairs, in order.
        body: The body as sent.
        source_ip: The caller's address.
        api_id: The REST API.
        region: Its Region.
        account_id: The account that owns it.
        stage: The stage's live settings.
        deployment: The deployment the stage serves.
        now: The lab clock (epoch seconds).
        request_id: API Gateway's request id.
        source_vpce: The VPC endpoint the request came through, if any.
        resource: The resource resolved for the path (after ``resolve``).
        method: The method resolved (after ``resolve``).
        path_params: Path parameters (after ``resolve``).
        auth: The authorize step's outcome.
    """

    http_method: str
    url: str
    path: str
    headers: dict[str, str]
    query: list[tuple[str, str]]
    body: str | bytes | None
    source_ip: str
    api_id: str
    region: str
    account_id: str
    stage: StageConfig
    deployment: DeploymentSnapshot
    now: float
    request_id: str
    source_vpce: str | None = None
    resource: ResourceSpec | None = None
    method: MethodSpec | None = None
    path_params: dict[str, str] = field(default_factory=dict)
    auth: AuthOutcome | None = None
    _lower: dict[str, str] | None = field(default=None, repr=False)

    def header(self, name: str) -> str | None:
        """A request header by name, whatever its case (the last one sent)."""
        if self._lower is None:
            self._lower = {k.lower(): v for k, v in self.headers.items()}
        return self._lower.get(name.lower())

    def query_value(self, name: str) -> str | None:
        """The last value of a query-string parameter."""
        found = None
        for k, v in self.query:
            if k == name:
                found = v
        return found

    @property
    def method_arn(self) -> str:
        """``arn:aws:execute-api:{region}:{account}:{api}/{stage}/{METHOD}/{path}``, the
        resource an ``execute-api:Invoke`` decision is about."""
        return (
            f"arn:aws:execute-api:{self.region}:{self.account_id}:{self.api_id}/"
            f"{self.stage.name}/{self.http_method}{self.path}"
        )

    @property
    def settings(self) -> MethodSettings:
        """The stage's method settings that apply to this request's method."""
        route = self.resource.path if self.resource is not None else self.path
        return self.stage.settings_for(route, self.http_method)


@dataclass(frozen=True)
class IntegrationResult:
    """What the integration answered.

    Attributes:
        response: The HTTP response to send.
        latency_ms: How long the integration took (simulated where it is simulated, e.g. a
            function's billed duration).
        detail: A short description for the trace (``lambda:orders``, ``sqs:SendMessage``).
    """

    response: Response
    latency_ms: float = 0.0
    detail: str = ""


class Gateway(Protocol):
    """What the pipeline needs from outside plain Python (the patch supplies it)."""

    def api_key(self, value: str) -> ApiKeyInfo | None:
        """The API key with this value in the API's account and Region."""

    def usage_plan(self, key_id: str, api_id: str, stage: str) -> UsagePlanInfo | None:
        """The usage plan through which ``key_id`` may call ``api_id``'s ``stage``."""

    def integrate(self, request: ApiRequest) -> IntegrationResult:
        """Call the method's integration."""


@dataclass(frozen=True)
class TraceStep:
    """One step of one request: its name, what came of it, and why."""

    name: str
    outcome: str
    detail: str = ""


@dataclass
class TraceEntry:
    """One request through the pipeline, as the trace view shows it.

    Attributes:
        request_id: API Gateway's request id.
        at: When it arrived (lab clock, epoch seconds).
        http_method: The verb.
        path: The path below the stage.
        stage: The stage.
        route: The resource path that matched (``/orders/{id}``), or ``None``.
        steps: Every step taken, in order.
        authorizer: Who decided about access (``NONE``, ``API_KEY``, ``COGNITO_USER_POOLS``...).
        auth_reason: Why they decided so.
        cache: ``hit``, ``miss``, ``off`` or ``bypass`` (an honoured ``max-age=0``).
        bucket: The throttle bucket that was charged and what it held after.
        integration: The integration type called, if one was.
        status: The status answered.
        latency_ms: Wall time in the gateway plus the integration's latency.
        integration_latency_ms: The integration's part.
    """

    request_id: str
    at: float
    http_method: str
    path: str
    stage: str
    route: str | None = None
    steps: list[TraceStep] = field(default_factory=list)
    authorizer: str = ""
    auth_reason: str = ""
    cache: str = "off"
    bucket: str = ""
    integration: str = ""
    status: int = 0
    latency_ms: float = 0.0
    integration_latency_ms: float = 0.0

    def step(self, name: str, outcome: str, detail: str = "") -> None:
        """Record one step."""
        self.steps.append(TraceStep(name, outcome, detail))


@dataclass
class ApiState:
    """What an API keeps between requests: its trace (throttle and cache state join it).

    The patch keeps one on moto's REST API object, so that ``lab.reset()`` and a check's
    isolated world cover it.
    """

    trace: deque[TraceEntry] = field(default_factory=lambda: deque(maxlen=TRACE_LENGTH))


# --- authorize ---------------------------------------------------------------------------------

#: A decider for one ``authorizationType``: the request in, the outcome out.
Decider = Callable[[ApiRequest], AuthOutcome]
#: A resource-policy check: the request and the authorizer's outcome in, the combined one out.
PolicyCheck = Callable[[ApiRequest, AuthOutcome], AuthOutcome]

_DECIDERS: dict[str, Decider] = {}
_POLICY_CHECK: list[PolicyCheck] = []


def register_authorizer(authorization_type: str, decider: Decider) -> Callable[[], None]:
    """Make ``decider`` decide for methods of ``authorization_type`` (``AWS_IAM``,
    ``COGNITO_USER_POOLS``, ``CUSTOM``); returns the undo."""
    previous = _DECIDERS.get(authorization_type)
    _DECIDERS[authorization_type] = decider

    def undo() -> None:
        if previous is None:
            _DECIDERS.pop(authorization_type, None)
        else:
            _DECIDERS[authorization_type] = previous

    return undo


def register_resource_policy(check: PolicyCheck) -> Callable[[], None]:
    """Make ``check`` combine the API's resource policy with the authorizer's outcome (AWS's
    table of policy and authorizer results); returns the undo."""
    _POLICY_CHECK.append(check)

    def undo() -> None:
        if check in _POLICY_CHECK:
            _POLICY_CHECK.remove(check)

    return undo


def _decide_authorizer(request: ApiRequest) -> AuthOutcome:
    method = request.method
    kind = (method.authorization_type if method is not None else "NONE") or "NONE"
    if kind == "NONE":
        return AuthOutcome.allow("NONE", "authorizationType NONE: open to any caller")
    decider = _DECIDERS.get(kind)
    if decider is None:
        # Failing closed: a method that asks for an authorizer labkit cannot run is never open.
        return AuthOutcome.deny(
            kind,
            500,
            "Internal server error",
            f"authorizationType {kind} is not simulated here yet, so the request was refused",
        )
    return decider(request)


def _check_api_key(request: ApiRequest, outcome: AuthOutcome, gateway: Gateway) -> AuthOutcome:
    """``apiKeyRequired``: the key (``x-api-key``, or the authorizer's ``usageIdentifierKey``)
    must exist, be enabled and belong to a usage plan of this stage; else 403 Forbidden.
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html
    """
    if request.deployment.api_key_source == "AUTHORIZER":
        value, where = outcome.usage_key, "the authorizer's usageIdentifierKey"
    else:
        value, where = request.header("x-api-key"), "x-api-key"
    if not value:
        return AuthOutcome.deny(
            "API_KEY", 403, "Forbidden", f"apiKeyRequired and no API key in {where}"
        )
    key = gateway.api_key(value)
    if key is None:
        return AuthOutcome.deny(
            "API_KEY", 403, "Forbidden", f"{where} {_masked(value)} is not an API key"
        )
    if not key.enabled:
        return AuthOutcome.deny(
            "API_KEY", 403, "Forbidden", f"API key {key.name or key.id} is disabled"
        )
    plan = gateway.usage_plan(key.id, request.api_id, request.stage.name)
    if plan is None:
        return AuthOutcome.deny(
            "API_KEY",
            403,
            "Forbidden",
            f"API key {key.name or key.id} is in no usage plan of stage {request.stage.name}",
        )
    outcome.api_key_id = key.id
    outcome.usage_plan = plan
    outcome.reason += f"; API key {key.name or key.id} in usage plan {plan.name or plan.id}"
    return outcome


def _masked(value: str) -> str:
    return repr(value[:4] + "…") if len(value) > 4 else repr(value)


def authorize(request: ApiRequest, gateway: Gateway | None = None) -> AuthOutcome:
    """Decide whether ``request`` gets in: the method's authorizer, the resource policy, then
    the API key.

    ``gateway`` answers API-key lookups; without one a method with ``apiKeyRequired`` refuses
    every key.
    """
    outcome = _decide_authorizer(request)
    for check in _POLICY_CHECK:
        outcome = check(request, outcome)
    if not outcome.allowed:
        return outcome
    method = request.method
    if method is not None and method.api_key_required:
        if gateway is None:
            return AuthOutcome.deny("API_KEY", 403, "Forbidden", "no API keys can be checked")
        return _check_api_key(request, outcome, gateway)
    return outcome


# --- the pipeline ------------------------------------------------------------------------------


def resolve(request: ApiRequest, entry: TraceEntry) -> Response | None:
    """Find the deployed resource and method; a refusal when there is none."""
    matched = request.deployment.match(request.path)
    method = None
    if matched is not None:
        request.resource, request.path_params = matched
        entry.route = request.resource.path
        method = request.resource.method_for(request.http_method)
    if matched is None or method is None or method.integration is None:
        what = "no resource" if matched is None else f"no {request.http_method} method"
        entry.step(
            "resolve",
            "no route",
            f"{what} for {request.path} in deployment {request.deployment.id}",
        )
        return Response.message(403, "Missing Authentication Token")
    request.method = method
    entry.step("resolve", "matched", f"{request.http_method} {entry.route}")
    return None


def serve(request: ApiRequest, gateway: Gateway, state: ApiState) -> Response:
    """Run ``request`` through every step and record it in ``state``'s trace."""
    started = time.perf_counter()
    entry = TraceEntry(
        request.request_id, request.now, request.http_method, request.path, request.stage.name
    )
    response = resolve(request, entry)
    if response is None:
        response = _authorize_step(request, gateway, entry)
    if response is None:
        integration = request.method.integration if request.method is not None else None
        entry.integration = integration.type if integration is not None else ""
        result = gateway.integrate(request)
        entry.integration_latency_ms = result.latency_ms
        entry.step("integrate", str(result.response.status), result.detail)
        response = result.response
    _respond(request, response)
    entry.status = response.status
    entry.latency_ms = (time.perf_counter() - started) * 1000 + entry.integration_latency_ms
    entry.step("respond", str(response.status))
    state.trace.append(entry)
    return response


def _authorize_step(request: ApiRequest, gateway: Gateway, entry: TraceEntry) -> Response | None:
    outcome = authorize(request, gateway)
    request.auth = outcome
    entry.authorizer = outcome.decider
    entry.auth_reason = outcome.reason
    entry.step("authorize", "allowed" if outcome.allowed else "refused", outcome.reason)
    if outcome.allowed:
        return None
    return Response.message(outcome.status, outcome.message, **outcome.headers)


def _respond(request: ApiRequest, response: Response) -> None:
    """API Gateway's own response headers."""
    response.headers.setdefault("x-amzn-RequestId", request.request_id)
    response.headers.setdefault("x-amz-apigw-id", request.request_id[:8] + "=")
