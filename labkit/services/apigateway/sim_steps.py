"""The throttle and cache steps of the request pipeline (see
:mod:`labkit.services.apigateway.sim_pipeline`): which buckets a request charges, in AWS's
order, and whether the stage cache answers it.

Plain Python: no moto, no Jupyter.
"""

from __future__ import annotations

from collections.abc import Callable

from labkit.services.apigateway.sim_cache import cache_key, ttl_of
from labkit.services.apigateway.sim_request import (
    ApiRequest,
    ApiState,
    Gateway,
    Response,
    TraceEntry,
)
from labkit.services.apigateway.sim_throttle import Buckets, Limit, charge

#: Who may do an ``execute-api`` action other than ``Invoke`` on a request's method ARN (the
#: request and the action in; allowed or not, and why, out).
PermissionCheck = Callable[[ApiRequest, str], tuple[bool, str]]

_PERMISSION: list[PermissionCheck] = []


def register_permission_check(check: PermissionCheck) -> Callable[[], None]:
    """Make ``check`` decide ``execute-api`` actions other than ``Invoke`` (the cache step asks
    it about ``execute-api:InvalidateCache``), in place of the gateway's own reading of the
    request's credentials; returns the undo."""
    _PERMISSION.append(check)

    def undo() -> None:
        if check in _PERMISSION:
            _PERMISSION.remove(check)

    return undo


def may(request: ApiRequest, action: str, gateway: Gateway) -> tuple[bool, str]:
    """Whether the caller of ``request`` may do ``action``: the registered check, else the
    gateway's."""
    if _PERMISSION:
        return _PERMISSION[-1](request, action)
    return gateway.may_invalidate(request)


def integrate(request: ApiRequest, gateway: Gateway, entry: TraceEntry) -> Response:
    """The integrate step: call the method's integration through the gateway."""
    integration = request.method.integration if request.method is not None else None
    entry.integration = integration.type if integration is not None else ""
    result = gateway.integrate(request)
    entry.integration_latency_ms = result.latency_ms
    entry.step("integrate", str(result.response.status), result.detail)
    return result.response


# --- throttle ------------------------------------------------------------------------------------


def throttle(
    request: ApiRequest, gateway: Gateway, state: ApiState, entry: TraceEntry
) -> Response | None:
    """Charge the buckets that apply, in AWS's order (usage plan per key and per method, the
    stage's method limit, the account); 429 when one is empty or the key's quota is used up."""
    assert request.resource is not None
    auth = request.auth
    route = f"{request.resource.path}/{request.http_method}"
    stage_key = (request.api_id, request.stage.name)
    limits: list[tuple[Buckets, Limit]] = []
    quota = None
    # A usage plan's limits are per API key and shared by every API stage of the plan, so they
    # live with the account's bucket, not with one API.
    account, rate, burst = gateway.account_throttle()
    plan = auth.usage_plan if auth is not None else None
    if plan is not None and auth is not None and auth.api_key_id is not None:
        key = ("plan", plan.id, auth.api_key_id)
        per_method = plan.method_throttle.get(route) or plan.method_throttle.get(
            f"{request.resource.path}/ANY"
        )
        if per_method is not None:
            label = f"plan {plan.name or plan.id} {route} for key {auth.api_key_id}"
            limits.append(
                (account, Limit((*key, *stage_key, route), label, per_method[0], per_method[1]))
            )
        if plan.rate is not None:
            plan_burst = plan.burst if plan.burst is not None else plan.rate
            label = f"plan {plan.name or plan.id} for key {auth.api_key_id}"
            limits.append((account, Limit(key, label, plan.rate, plan_burst)))
        if plan.quota_limit is not None and plan.quota_period:
            quota = (account, key, plan.quota_limit, plan.quota_period, plan.quota_offset)
    settings = request.settings
    if settings.throttling_rate_limit is not None or settings.throttling_burst_limit is not None:
        set_rate = settings.throttling_rate_limit
        set_burst = settings.throttling_burst_limit
        stage_rate = float(set_rate if set_rate is not None else (set_burst or 0))
        stage_burst = float(set_burst if set_burst is not None else stage_rate)
        limits.append(
            (
                state.buckets,
                Limit(
                    (*stage_key, route),
                    f"stage {request.stage.name} {route}",
                    stage_rate,
                    stage_burst,
                ),
            )
        )
    limits.append(
        (
            account,
            Limit(
                ("account", request.account_id, request.region),
                f"account {request.account_id}",
                rate,
                burst,
            ),
        )
    )
    result = charge(limits, request.now, quota)
    entry.bucket = result.bucket
    if result.allowed and plan is not None and auth is not None and auth.api_key_id is not None:
        account.count_use(plan.id, auth.api_key_id, request.now)
    if result.allowed:
        entry.step("throttle", "passed", result.bucket)
        return None
    entry.step("throttle", "refused", result.reason)
    return Response.message(429, result.message)


# --- cache ---------------------------------------------------------------------------------------


def _cache_values(request: ApiRequest, parameters: tuple[str, ...]) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for name in parameters:
        where, _, key = name.removeprefix("method.request.").partition(".")
        if where == "querystring":
            values[name] = request.query_value(key)
        elif where == "header":
            values[name] = request.header(key)
        elif where == "path":
            values[name] = request.path_params.get(key)
        else:
            values[name] = None
    return values


def cached_or_integrated(
    request: ApiRequest, gateway: Gateway, state: ApiState, entry: TraceEntry
) -> Response:
    """The cache step, around the integrate step."""
    assert request.method is not None and request.resource is not None
    settings = request.settings
    own = request.stage.method_settings.get(
        f"{request.resource.path.replace('/', '~1')}/{request.http_method}"
    )
    # The stage-wide default caches GET methods only; other verbs need their own override.
    enabled = (
        request.stage.cache_cluster_enabled
        and settings.caching_enabled
        and (own is not None or request.http_method == "GET")
        and (not request.stage.canary or request.stage.canary_uses_stage_cache)
    )
    ttl = ttl_of(settings.cache_ttl_seconds)
    if not request.stage.cache_cluster_enabled:
        # A stage whose cache was turned off loses what it held, as a deleted cache cluster.
        state.caches.pop(request.stage.name, None)
    if not enabled or ttl == 0:
        entry.cache = "off"
        return integrate(request, gateway, entry)
    integration = request.method.integration
    assert integration is not None
    parameters = integration.cache_key_parameters
    key = cache_key(
        integration.cache_namespace or request.resource.id,
        request.http_method,
        request.resource.path,
        parameters,
        _cache_values(request, parameters),
    )
    cache = state.cache(request.stage.name)
    warning: dict[str, str] = {}
    refresh = "max-age=0" in (request.header("Cache-Control") or "").replace(" ", "").lower()
    if refresh and settings.require_authorization_for_cache_control:
        allowed, why = may(request, "execute-api:InvalidateCache", gateway)
        if not allowed:
            strategy = settings.unauthorized_cache_control_header_strategy
            entry.step("cache", "invalidation refused", f"{why} ({strategy})")
            if strategy == "FAIL_WITH_403":
                entry.cache = "refused"
                return Response.message(403, "Forbidden")
            refresh = False
            if strategy == "SUCCEED_WITH_RESPONSE_HEADER":
                warning["Warning"] = (
                    "199 Cache-control headers were ignored because the caller was unauthorized."
                )
    found = None if refresh else cache.get(key, request.now)
    if found is not None:
        found.hits += 1
        cache.hit_count += 1
        entry.cache = "hit"
        entry.step("cache", "hit", f"{key} (expires in {found.expires - request.now:.0f} s)")
        return Response(found.status, {**found.headers, **warning}, found.body)
    cache.miss_count += 1
    entry.cache = "refresh" if refresh else "miss"
    entry.step("cache", entry.cache, key)
    response = integrate(request, gateway, entry)
    if cache.put(key, response.status, response.headers, response.body, request.now, ttl):
        entry.step("cache", "stored", f"{key} for {ttl} s")
    response.headers.update(warning)
    return response
