"""The request pipeline of a REST API stage, step by step, each step written into a trace.

A request to ``https://{api}.execute-api.{region}.amazonaws.com/{stage}/{path}`` goes through
the steps API Gateway documents, in its order:

1. **resolve**: the deployed resource and method for the path and verb; none → 403
   ``{"message":"Missing Authentication Token"}``.
2. **authorize**: :func:`authorize` (``authorize(request) -> AuthOutcome``), the one place that
   decides whether the caller gets in: the method's authorizer (``authorizationType``), the
   resource policy, then the API key when the method has ``apiKeyRequired``. Authorizers other
   than ``NONE`` plug in with :func:`register_authorizer`, resource policies with
   :func:`register_resource_policy`; who may do other ``execute-api`` actions (the cache's
   ``InvalidateCache``) with :func:`register_permission_check`.
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

import time
from collections.abc import Callable

from labkit import facts
from labkit.services.apigateway.sim_request import (
    ERROR_TYPES,
    TRACE_LENGTH,
    ApiKeyInfo,
    ApiRequest,
    ApiState,
    AuthOutcome,
    Gateway,
    IntegrationResult,
    Response,
    StageMetrics,
    TraceEntry,
    TraceStep,
    UsagePlanInfo,
)
from labkit.services.apigateway.sim_steps import (
    cached_or_integrated,
    register_permission_check,
    throttle,
)

__all__ = [
    "ERROR_TYPES",
    "TRACE_LENGTH",
    "ApiKeyInfo",
    "ApiRequest",
    "ApiState",
    "AuthOutcome",
    "Gateway",
    "IntegrationResult",
    "Response",
    "StageMetrics",
    "TraceEntry",
    "TraceStep",
    "UsagePlanInfo",
    "authorize",
    "register_authorizer",
    "register_permission_check",
    "register_resource_policy",
    "resolve",
    "serve",
]

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


def _too_large(request: ApiRequest, entry: TraceEntry) -> Response | None:
    """A payload over 10 MB is refused before anything else (413, ``REQUEST_TOO_LARGE``).
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-execution-service-limits-table.html
    """
    body = request.body
    size = len(body.encode("utf-8") if isinstance(body, str) else body or b"")
    limit = int(facts.value("api_gateway.rest_payload_max"))
    if size <= limit:
        return None
    entry.step("receive", "refused", f"a {size:,}-byte payload (at most {limit:,})")
    return Response.message(413, "Request Too Long")


def serve(request: ApiRequest, gateway: Gateway, state: ApiState) -> Response:
    """Run ``request`` through every step and record it in ``state``'s trace."""
    started = time.perf_counter()
    entry = TraceEntry(
        request.request_id, request.now, request.http_method, request.path, request.stage.label
    )
    metrics = state.stage_metrics(request.stage.label)
    response = _too_large(request, entry) or resolve(request, entry)
    if response is None:
        response = _authorize_step(request, gateway, entry)
    if response is None:
        response = throttle(request, gateway, state, entry)
        if response is not None:
            metrics.throttled += 1
    if response is None:
        response = cached_or_integrated(request, gateway, state, entry)
    _respond(request, response)
    metrics.count += 1
    if 400 <= response.status < 500:
        metrics.errors_4xx += 1
    elif response.status >= 500:
        metrics.errors_5xx += 1
    if entry.cache == "hit":
        metrics.cache_hits += 1
    elif entry.cache in ("miss", "refresh"):
        metrics.cache_misses += 1
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
    return Response.message(
        outcome.status, outcome.message, key=outcome.message_key, **outcome.headers
    )


def _respond(request: ApiRequest, response: Response) -> None:
    """API Gateway's own response headers."""
    response.headers.setdefault("x-amzn-RequestId", request.request_id)
    response.headers.setdefault("x-amz-apigw-id", request.request_id[:8] + "=")
