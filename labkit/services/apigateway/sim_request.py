"""A request through a REST API stage: what the pipeline carries from step to step, what it
answers, and what it leaves behind (the trace, buckets, caches and metrics of the API).

Plain Python: no moto, no Jupyter. The steps are in :mod:`labkit.services.apigateway.sim_pipeline`
(resolve, authorize) and :mod:`labkit.services.apigateway.sim_steps` (throttle, cache).
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from labkit.services.apigateway.sim_cache import StageCache
from labkit.services.apigateway.sim_model import (
    DeploymentSnapshot,
    MethodSettings,
    MethodSpec,
    ResourceSpec,
    StageConfig,
)
from labkit.services.apigateway.sim_throttle import Buckets

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
    def message(
        cls, status: int, message: str | None, *, key: str = "message", **headers: str
    ) -> Response:
        """A response API Gateway makes itself: ``{"message": ...}`` with its error type
        (``key`` is ``Message`` for policy refusals, as AWS spells those)."""
        head = {"Content-Type": "application/json"}
        if message in ERROR_TYPES:
            head["x-amzn-ErrorType"] = ERROR_TYPES[message]
        head.update(headers)
        return cls(status, head, json.dumps({key: message}))


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
        message_key: The body's key: ``message``, or ``Message`` for refusals by a policy
            (``{"Message":"User: anonymous is not authorized to perform: ..."}``).
    """

    allowed: bool
    status: int = 200
    message: str | None = ""
    reason: str = ""
    decider: str = "NONE"
    principal_id: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    identity: dict[str, Any] = field(default_factory=dict)
    usage_key: str | None = None
    api_key_id: str | None = None
    usage_plan: UsagePlanInfo | None = None
    headers: dict[str, str] = field(default_factory=dict)
    message_key: str = "message"

    @classmethod
    def allow(cls, decider: str, reason: str, **fields: Any) -> AuthOutcome:
        """The request may go on."""
        return cls(True, 200, "", reason, decider, **fields)

    @classmethod
    def deny(
        cls, decider: str, status: int, message: str | None, reason: str, **fields: Any
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

    def account_throttle(self) -> tuple[Buckets, float, float]:
        """The account's buckets in this Region, and its limit (rate, burst)."""

    def may_invalidate(self, request: ApiRequest) -> tuple[bool, str]:
        """Whether the caller may invalidate a cache entry (``execute-api:InvalidateCache`` on
        the method), and why."""


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
        cache: ``hit``, ``miss``, ``refresh`` (an honoured ``max-age=0``), ``refused``, ``off``
            (not cached), or empty (the request never reached the cache step).
        bucket: The throttle bucket that was charged and what it held after.
        integration: The integration type called, if one was.
        status: The status answered.
        latency_ms: Wall time in the gateway plus the integration's latency.
        integration_latency_ms: The integration's part.
        endpoint: How the request reached the API (its endpoint type and, for an edge-optimized
            API, the edge location), set by the endpoint gate.
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
    cache: str = ""
    bucket: str = ""
    integration: str = ""
    status: int = 0
    latency_ms: float = 0.0
    integration_latency_ms: float = 0.0
    endpoint: str = ""

    def step(self, name: str, outcome: str, detail: str = "") -> None:
        """Record one step."""
        self.steps.append(TraceStep(name, outcome, detail))


@dataclass
class StageMetrics:
    """A stage's counts, as API Gateway reports them to CloudWatch (``Count``, ``4XXError``,
    ``5XXError``, ``CacheHitCount``, ``CacheMissCount``) plus the requests throttled."""

    count: int = 0
    errors_4xx: int = 0
    errors_5xx: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    throttled: int = 0


@dataclass
class ApiState:
    """What an API keeps between requests: its trace, its buckets and quotas, each stage's
    cache and metrics.

    The patch keeps one on moto's REST API object, so that ``lab.reset()`` and a check's
    isolated world cover it.
    """

    trace: deque[TraceEntry] = field(default_factory=lambda: deque(maxlen=TRACE_LENGTH))
    buckets: Buckets = field(default_factory=Buckets)
    caches: dict[str, StageCache] = field(default_factory=dict)
    metrics: dict[str, StageMetrics] = field(default_factory=dict)

    def cache(self, stage: str) -> StageCache:
        """The cache of ``stage``."""
        found = self.caches.get(stage)
        if found is None:
            found = self.caches[stage] = StageCache()
        return found

    def stage_metrics(self, stage: str) -> StageMetrics:
        """The metrics of ``stage``."""
        found = self.metrics.get(stage)
        if found is None:
            found = self.metrics[stage] = StageMetrics()
        return found
