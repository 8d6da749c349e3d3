"""API Gateway REST APIs served at their invoke URLs, through labkit's request pipeline.

Stock moto answers a stage URL only for resource paths written out literally (a request to
``/orders/42`` never reaches the resource ``/orders/{id}``), serves the API as it is being edited
rather than as deployed, enforces no API key, and raises ``NotImplementedError`` for
``AWS_PROXY``. labkit answers every request sent (with ``requests`` or ``urllib``) to
``https://{api_id}.execute-api.{region}.amazonaws.com/{stage}/...`` through
:mod:`labkit.services.apigateway.sim_pipeline` (resolve → authorize → throttle → cache →
integrate → respond, each step in the API's trace):

- ``CreateDeployment`` freezes the API (a
  :class:`~labkit.services.apigateway.sim_model.DeploymentSnapshot`); a stage serves its
  deployment's snapshot, so a change reaches callers only once deployed. Deploying to an
  existing stage keeps the stage's settings (moto replaced the stage);
  https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-deploy-api.html
- an unknown API → a connection error (its host does not resolve on AWS); an unknown stage →
  403 ``{"message":"Forbidden"}``; an unknown route → 403
  ``{"message":"Missing Authentication Token"}``, as API Gateway answers;
- integrations are called by :mod:`labkit.services.apigateway.patch_integrations`;
- each request's metrics reach CloudWatch (``AWS/ApiGateway``);
- moto's control plane is completed where the pipeline needs it: ``cacheKeyParameters``,
  ``CreateDeployment``'s cache settings, ``FlushStageCache`` (here), canary settings and the
  cache TTL's bounds (:mod:`~labkit.services.apigateway.patch_stages`), ``GetUsage``
  (:mod:`~labkit.services.apigateway.patch_usage`); ``urllib`` reaches invoke URLs as
  ``requests`` does (:func:`labkit.sandbox.hosts.serve`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import requests
from moto.moto_api._internal import mock_random

from labkit import facts
from labkit.sandbox import hosts
from labkit.services.apigateway import patch_stages, patch_usage, sim_pipeline
from labkit.services.apigateway.sim_model import (
    DeploymentSnapshot,
    IntegrationResponseSpec,
    IntegrationSpec,
    MethodSettings,
    MethodSpec,
    ResourceSpec,
    StageConfig,
    match_path,
)
from labkit.services.apigateway.sim_pipeline import (
    ApiKeyInfo,
    ApiRequest,
    ApiState,
    IntegrationResult,
    Response,
    TraceEntry,
    UsagePlanInfo,
)
from labkit.services.apigateway.sim_throttle import Buckets

if TYPE_CHECKING:
    # moto's API Gateway models cost about 2 s to import (its OpenAPI validator): they are
    # imported when a request for an API arrives, not when every lab starts.
    from moto.apigateway.models import APIGatewayBackend, Resource, RestAPI, Stage

    from labkit.sandbox.session import Sandbox

_EXECUTE_API = re.compile(
    r"https?://(?P<api>[a-z0-9]+)\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com"
    r"/(?P<stage>[^/?#]+)(?P<path>/[^?#]*)?(?:\?(?P<query>[^#]*))?"
)
#: The host of a REST (or HTTP) API's invoke URL.
_INVOKE_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.[a-z0-9-]+\.amazonaws\.com$")

#: The sandbox whose clock the gateway reads (one sandbox runs per process).
_SANDBOX: list[Sandbox] = []

Reply = tuple[int, dict[str, str], str | bytes]

#: Other APIs served at ``execute-api`` hosts (HTTP and WebSocket APIs:
#: :mod:`labkit.services.apigatewayv2.patch`), asked when no REST API has the id in the URL:
#: each answers with a reply, or ``None`` when the API is not its own either.
OTHER_APIS: list[Callable[[Any], Reply | None]] = []

#: The endpoint type's gate (:mod:`labkit.services.apigateway.patch_endpoints`): given the REST
#: API, the request, the API's state and a function that serves the request, the response (a
#: private API's refusal, or the served response as the edge delivered it).
Gate = Callable[[Any, ApiRequest, ApiState, Callable[[], Response]], Response]
ENDPOINT_GATE: list[Gate] = []


def match_resource(api: RestAPI, path: str) -> tuple[Resource, dict[str, str]] | None:
    """The resource of ``api`` as it is now (not as deployed) that serves ``path``."""
    specs = tuple(ResourceSpec(r.id, r.get_path()) for r in api.resources.values())
    found = match_path(specs, path)
    return (api.resources[found[0].id], found[1]) if found else None


# --- deployments -------------------------------------------------------------------------------


def _now() -> float:
    return _SANDBOX[0].clock.timestamp if _SANDBOX else 0.0


def snapshot(api: RestAPI, deployment_id: str) -> DeploymentSnapshot:
    """``api`` as it stands, frozen as deployment ``deployment_id``."""
    resources = []
    for resource in api.resources.values():
        methods = {}
        for verb, method in resource.resource_methods.items():
            methods[verb] = MethodSpec(
                http_method=verb,
                authorization_type=str(method.authorization_type or "NONE"),
                authorizer_id=method.authorizer_id,
                authorization_scopes=tuple(method.authorization_scopes or ()),
                api_key_required=bool(method.api_key_required),
                request_parameters=dict(method.request_parameters or {}),
                integration=_integration_spec(method.method_integration),
            )
        resources.append(ResourceSpec(resource.id, resource.get_path(), methods))
    return DeploymentSnapshot(
        id=deployment_id,
        api_id=api.id,
        account_id=api.account_id,
        region=api.region_name,
        created_at=_now(),
        resources=tuple(resources),
        authorizers={k: dict(a.to_json()) for k, a in api.authorizers.items()},
        policy=api.policy,
        api_key_source=str(api.api_key_source or "HEADER"),
        binary_media_types=tuple(api.binaryMediaTypes or ()),
    )


def _integration_spec(integration: Any) -> IntegrationSpec | None:
    if integration is None:
        return None
    timeout = integration.timeout_in_millis
    return IntegrationSpec(
        type=str(integration.integration_type),
        uri=str(integration.uri or ""),
        http_method=integration.http_method,
        request_templates=dict(integration.request_templates or {}),
        request_parameters=dict(integration.request_parameters or {}),
        passthrough_behavior=str(integration.passthrough_behaviour or "WHEN_NO_MATCH"),
        cache_key_parameters=tuple(integration.cache_key_parameters or ()),
        cache_namespace=integration.cache_namespace,
        timeout_ms=float(timeout) if timeout not in (None, "") else None,
        credentials=integration.credentials,
        content_handling=integration.content_handling,
        responses=tuple(
            IntegrationResponseSpec(
                status_code=str(r.status_code),
                selection_pattern=r.selection_pattern,
                response_templates=dict(r.response_templates or {}),
                response_parameters=dict(r.response_parameters or {}),
            )
            for r in (integration.integration_responses or {}).values()
        ),
    )


def deployed(api: RestAPI, deployment_id: str | None) -> DeploymentSnapshot | None:
    """The snapshot of ``deployment_id`` (taken now for a deployment made before the patch)."""
    if deployment_id is None:
        return None
    deployment = api.deployments.get(deployment_id)
    if deployment is None:
        return None
    frozen: DeploymentSnapshot | None = getattr(deployment, "labkit_snapshot", None)
    if frozen is None:
        frozen = snapshot(api, deployment_id)
        setattr(deployment, "labkit_snapshot", frozen)  # noqa: B010 (moto's model has no slot)
    return frozen


def stage_config(stage: Stage) -> StageConfig:
    """A stage's live settings as the pipeline reads them."""
    settings = {}
    for key, raw in (stage.method_settings or {}).items():
        settings[key] = MethodSettings(
            throttling_rate_limit=_float(raw.get("throttlingRateLimit")),
            throttling_burst_limit=_int(raw.get("throttlingBurstLimit")),
            caching_enabled=bool(raw.get("cachingEnabled", False)),
            cache_ttl_seconds=_int(raw.get("cacheTtlInSeconds")),
            require_authorization_for_cache_control=bool(
                raw.get("requireAuthorizationForCacheControl", True)
            ),
            unauthorized_cache_control_header_strategy=str(
                raw.get("unauthorizedCacheControlHeaderStrategy", "SUCCEED_WITH_RESPONSE_HEADER")
            ),
        )
    return StageConfig(
        name=str(stage.name),
        deployment_id=stage.deployment_id,
        variables={str(k): str(v) for k, v in (stage.variables or {}).items()},
        method_settings=settings,
        cache_cluster_enabled=bool(stage.cache_cluster_enabled),
    )


def _float(value: Any) -> float | None:
    return float(value) if value not in (None, "") else None


def _int(value: Any) -> int | None:
    return int(value) if value not in (None, "") else None


# --- the gateway the pipeline calls out to -----------------------------------------------------


class MotoGateway:
    """API keys, usage plans and integrations, read from moto's backend for one API."""

    def __init__(self, backend: APIGatewayBackend, api: RestAPI) -> None:
        self.backend = backend
        self.api = api

    def api_key(self, value: str) -> ApiKeyInfo | None:
        """The API key with ``value`` in this API's account and Region."""
        for key in self.backend.keys.values():
            if key.value == value:
                return ApiKeyInfo(str(key.id), str(key.value), bool(key.enabled), key.name)
        return None

    def usage_plan(self, key_id: str, api_id: str, stage: str) -> UsagePlanInfo | None:
        """The usage plan that lets ``key_id`` call ``api_id``'s ``stage``."""
        for plan_id, keys in self.backend.usage_plan_keys.items():
            plan = self.backend.usage_plans.get(plan_id)
            if plan is None or key_id not in keys:
                continue
            for api_stage in plan.api_stages or []:
                if api_stage.get("apiId") == api_id and api_stage.get("stage") == stage:
                    return usage_plan_info(plan, api_stage)
        return None

    def integrate(self, request: ApiRequest) -> IntegrationResult:
        """Call the request's integration."""
        from labkit.services.apigateway import patch_integrations

        return patch_integrations.integrate(request, self.api)

    def account_throttle(self) -> tuple[Buckets, float, float]:
        """The account's bucket in this Region (kept on moto's backend) and its limits
        (``GetAccount``'s ``throttleSettings``: 10,000 a second, burst 5,000 by default)."""
        buckets: Buckets | None = getattr(self.backend, "labkit_buckets", None)
        if buckets is None:
            buckets = Buckets()
            setattr(self.backend, "labkit_buckets", buckets)  # noqa: B010
        settings = getattr(getattr(self.backend, "account", None), "throttle_settings", None) or {}
        rate = float(settings.get("rateLimit", facts.value("api_gateway.account_throttle_rps")))
        burst = float(settings.get("burstLimit", facts.value("api_gateway.account_burst")))
        return buckets, rate, burst

    def may_invalidate(self, request: ApiRequest) -> tuple[bool, str]:
        """Whether the caller may invalidate cache entries: ``execute-api:InvalidateCache`` on the
        method, decided by the policy engine for a request signed with sandbox-issued
        credentials; the learner's own credentials are the account's (they may); an unsigned
        request may not.
        https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-caching.html
        """
        from labkit import policy as engine
        from labkit.sandbox import signers

        key = signers.access_key_of(request.headers, request.url)
        if not key:
            return False, "the request is not signed (execute-api:InvalidateCache needs SigV4)"
        signer = signers.signer_of(request.headers, request.url)
        if signer is None:
            return True, f"signed with the account's own credentials ({key[:8]}…)"
        if signer.expired:
            return False, f"the credentials of {signer.principal.arn} have expired"
        ask = engine.Request(signer.principal, "execute-api:InvalidateCache", request.method_arn)
        decision = engine.evaluate(ask, identity_policies=signer.policies)
        if decision.allowed and signer.session_policy is not None:
            decision = engine.evaluate(ask, identity_policies=(signer.session_policy,))
        return decision.allowed, f"{signer.principal.arn}: {decision.reason}"


def usage_plan_info(plan: Any, api_stage: dict[str, Any]) -> UsagePlanInfo:
    """A moto usage plan's limits for one of its API stages."""
    throttle = plan.throttle or {}
    quota = plan.quota or {}
    methods = {}
    for path, limits in (api_stage.get("throttle") or {}).items():
        methods[str(path)] = (
            float(limits.get("rateLimit", 0)),
            int(limits.get("burstLimit", 0)),
        )
    return UsagePlanInfo(
        id=str(plan.id),
        name=plan.name,
        rate=_float(throttle.get("rateLimit")),
        burst=_int(throttle.get("burstLimit")),
        quota_limit=_int(quota.get("limit")),
        quota_period=quota.get("period"),
        quota_offset=_int(quota.get("offset")) or 0,
        method_throttle=methods,
    )


def api_state(api: RestAPI) -> ApiState:
    """The pipeline state kept on moto's REST API object (its trace, buckets, cache)."""
    state: ApiState | None = getattr(api, "labkit_state", None)
    if state is None:
        state = ApiState()
        setattr(api, "labkit_state", state)  # noqa: B010 (moto's model has no slot)
    return state


# --- serving -----------------------------------------------------------------------------------


def _find_api(api_id: str, region: str) -> tuple[APIGatewayBackend, RestAPI] | None:
    from moto.apigateway.models import apigateway_backends

    for account in list(apigateway_backends.keys()):
        backend = apigateway_backends[account][region]
        api = backend.apis.get(api_id)
        if api is not None:
            return backend, api
    return None


def build_request(
    request: Any, api: RestAPI, stage: StageConfig, frozen: DeploymentSnapshot, path: str
) -> ApiRequest:
    """The pipeline's view of an HTTP request to ``api``'s ``stage``."""
    url = urlsplit(str(request.url))
    return ApiRequest(
        http_method=str(request.method),
        url=str(request.url),
        path=path,
        headers={str(k): str(v) for k, v in dict(request.headers or {}).items()},
        query=parse_qsl(url.query, keep_blank_values=True),
        body=_body_of(request.body),
        source_ip="127.0.0.1",
        api_id=str(api.id),
        region=str(api.region_name),
        account_id=str(api.account_id),
        stage=stage,
        deployment=frozen,
        now=_now(),
        request_id=str(mock_random.uuid4()),
    )


class UnknownApiHostError(requests.exceptions.ConnectionError):
    """A request to an invoke URL whose API does not exist (its host would not resolve)."""


def _body_of(body: Any) -> str | bytes | None:
    """The request body as text or bytes (``requests`` may carry a file or an iterator)."""
    if body is None or isinstance(body, (str, bytes)):
        return body
    if hasattr(body, "read"):
        data = body.read()
        return data if isinstance(data, (str, bytes)) else str(data)
    try:
        return b"".join(c if isinstance(c, bytes) else str(c).encode() for c in body)
    except TypeError:
        return str(body)


def handle(request: Any, source_vpce: str | None = None) -> Reply:
    """Answer one request to an ``execute-api`` URL (``source_vpce``: the interface VPC
    endpoint it came through, if any)."""
    m = _EXECUTE_API.match(str(request.url))
    found = _find_api(m["api"], m["region"]) if m is not None else None
    if m is None or found is None:
        # An HTTP API (apigatewayv2) shares the host pattern: its patch answers its own ids.
        for other in list(OTHER_APIS):
            answer = other(request)
            if answer is not None:
                return answer
    if m is None:
        return _reply(Response.message(403, "Forbidden"))
    if found is None:
        # No such API: on AWS its host name does not resolve, so the client gets a connection
        # error, not an HTTP answer.
        host = f"{m['api']}.execute-api.{m['region']}.amazonaws.com"
        raise UnknownApiHostError(
            f"Failed to resolve '{host}': there is no REST API {m['api']!r} in {m['region']} "
            "in the sandbox (check the API id and the Region in the URL)."
        )
    backend, api = found
    stage = api.stages.get(m["stage"])
    frozen = deployed(api, stage.deployment_id) if stage is not None else None
    if stage is None or frozen is None:
        return _reply(Response.message(403, "Forbidden"))
    config = stage_config(stage)
    canary = patch_stages.canary_of(stage)
    # A canary takes its share of requests at random (moto's seeded generator: runs repeat).
    if canary is not None and mock_random.random() * 100 < float(canary["percentTraffic"]):
        canary_frozen = deployed(api, canary["deploymentId"])
        if canary_frozen is not None:
            frozen = canary_frozen
            config = replace(
                config,
                variables={**config.variables, **canary["stageVariableOverrides"]},
                canary=True,
                canary_uses_stage_cache=bool(canary["useStageCache"]),
            )
    path = "/" + "/".join(p for p in (m["path"] or "/").split("/") if p)
    built = build_request(request, api, config, frozen, path)
    built.source_vpce = source_vpce
    state = api_state(api)
    before = state.trace[-1] if state.trace else None

    def run() -> Response:
        return sim_pipeline.serve(built, MotoGateway(backend, api), state)

    gate = ENDPOINT_GATE[-1] if ENDPOINT_GATE else None
    response = gate(api, built, state, run) if gate is not None else run()
    # The trace is a bounded deque: a new entry is a new last one (not a longer trace).
    if state.trace and state.trace[-1] is not before:
        publish_metrics(api, state.trace[-1])
    return _reply(response)


def publish_metrics(api: RestAPI, entry: TraceEntry) -> None:
    """The request's data points in CloudWatch (namespace ``AWS/ApiGateway``, by ``ApiName``
    and ``Stage``): ``Count``, ``4XXError``, ``5XXError``, ``Latency``,
    ``IntegrationLatency`` (when integrated), ``CacheHitCount``/``CacheMissCount`` (when the
    method is cached).
    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html
    """
    from moto.cloudwatch.models import cloudwatch_backends

    points: list[tuple[str, float, str]] = [
        ("Count", 1, "Count"),
        ("4XXError", 1 if 400 <= entry.status < 500 else 0, "Count"),
        ("5XXError", 1 if entry.status >= 500 else 0, "Count"),
        ("Latency", entry.latency_ms, "Milliseconds"),
    ]
    if entry.integration:
        points.append(("IntegrationLatency", entry.integration_latency_ms, "Milliseconds"))
    if entry.cache in ("hit", "miss", "refresh"):
        points.append(("CacheHitCount", 1 if entry.cache == "hit" else 0, "Count"))
        points.append(("CacheMissCount", 0 if entry.cache == "hit" else 1, "Count"))
    # Published once, with ApiName and Stage: moto answers a query by ApiName alone from every
    # datum that has it among its dimensions, which gives the API-wide figure AWS keeps apart.
    # One statistic set per metric and lab second, updated in place as requests arrive (AWS
    # aggregates per period too): a datum per request made moto's list, and the collector's
    # work, grow with every request.
    backend = cloudwatch_backends[api.account_id][api.region_name]
    second = int(entry.at)
    held: dict[tuple[str, str], tuple[int, Any]] = getattr(api, "labkit_metric_sets", None) or {}
    setattr(api, "labkit_metric_sets", held)  # noqa: B010 (moto's model has no slot)
    dimensions = [{"Name": "ApiName", "Value": api.name}, {"Name": "Stage", "Value": entry.stage}]
    for name, value, unit in points:
        found = held.get((entry.stage, name))
        datum = found[1] if found is not None and found[0] == second else None
        if datum is not None and datum in backend.metric_data[-64:]:
            datum.sum += value
            datum.sample_count += 1
            datum.min = min(datum.min, value)
            datum.max = max(datum.max, value)
            continue
        stats = {"SampleCount": 1, "Sum": value, "Minimum": value, "Maximum": value}
        backend.put_metric_data(
            namespace="AWS/ApiGateway",
            metric_data=[
                {
                    "MetricName": name,
                    "StatisticValues": stats,
                    "Unit": unit,
                    "Dimensions": dimensions,
                    "Timestamp": datetime.fromtimestamp(second, tz=timezone.utc).replace(
                        tzinfo=None
                    ),
                }
            ],
        )
        held[(entry.stage, name)] = (second, backend.metric_data[-1])


def _reply(response: Response) -> Reply:
    return response.status, response.headers, response.body


# --- installing ----------------------------------------------------------------------------------


def _patch_responses(stack: ExitStack) -> None:
    """Parameters moto's API Gateway responses drop (``cacheKeyParameters`` of
    ``PutIntegration``, ``cacheClusterEnabled``/``cacheClusterSize`` of ``CreateDeployment``),
    and ``FlushStageCache``, which moto lacks."""
    from moto.apigateway.responses import APIGatewayResponse

    original_put = APIGatewayResponse.put_integration
    original_deploy = APIGatewayResponse.create_deployment

    def put_integration(self: APIGatewayResponse) -> Any:
        answer = original_put(self)
        keys = self._get_param("cacheKeyParameters")
        if keys:
            parts = self.path.split("/")
            integration = self.backend.get_integration(parts[2], parts[4], parts[6])
            integration.cache_key_parameters = [str(k) for k in keys]
            status, headers, body = answer
            shown = json.loads(body)
            shown["cacheKeyParameters"] = integration.cache_key_parameters
            answer = status, headers, json.dumps(shown)
        return answer

    def create_deployment(self: APIGatewayResponse) -> Any:
        answer = original_deploy(self)
        name = self._get_param("stageName")
        enabled = self._get_param("cacheClusterEnabled")
        if name and enabled is not None:
            api_id = self.path.replace("/restapis/", "", 1).split("/")[0]
            stage = self.backend.get_rest_api(api_id).stages[name]
            stage.cache_cluster_enabled = bool(enabled)
            stage.cache_cluster_status = "AVAILABLE" if enabled else "NOT_AVAILABLE"
            size = self._get_param("cacheClusterSize")
            if size is not None:
                stage.cache_cluster_size = str(size)
        return answer

    def flush_stage_cache(self: APIGatewayResponse) -> Any:
        parts = self.path.split("/")
        api = self.backend.get_rest_api(parts[2])
        stage = parts[4]
        if stage not in api.stages:
            from moto.apigateway.exceptions import StageNotFoundException

            raise StageNotFoundException()
        flushed = api_state(api).caches.pop(stage, None)
        if flushed is not None:
            flushed.flush()
        return 202, {"status": 202}, ""

    # FlushStageCache (DELETE /restapis/{id}/stages/{stage}/cache/data), which moto lacks.
    from moto.apigateway import urls

    route = "{0}/restapis/(?P<function_id>[^/]+)/stages/(?P<stage_name>[^/]+)/cache/data/?$"
    urls.url_paths[route] = APIGatewayResponse.dispatch
    APIGatewayResponse.flush_stage_cache = flush_stage_cache  # type: ignore[attr-defined]
    stack.callback(urls.url_paths.pop, route, None)
    stack.callback(delattr, APIGatewayResponse, "flush_stage_cache")

    APIGatewayResponse.put_integration = put_integration  # type: ignore[method-assign]
    APIGatewayResponse.create_deployment = create_deployment  # type: ignore[method-assign]
    stack.callback(setattr, APIGatewayResponse, "put_integration", original_put)
    stack.callback(setattr, APIGatewayResponse, "create_deployment", original_deploy)


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Answer ``execute-api`` requests for ``sandbox`` (all stages, all methods), and freeze each
    deployment as it is created."""
    from moto.apigateway.models import RestAPI, Stage

    _SANDBOX[:] = [sandbox]
    stack.callback(_SANDBOX.clear)

    # moto fills a new method setting with limits AWS does not use (1,000/s, burst 2,000); a
    # stage's methods default to the account's limits (10,000/s, burst 5,000).
    original_defaults = Stage._get_default_method_settings

    def default_method_settings(self: Stage) -> dict[str, Any]:
        settings = dict(original_defaults(self))
        settings["throttlingRateLimit"] = float(facts.value("api_gateway.account_throttle_rps"))
        settings["throttlingBurstLimit"] = int(facts.value("api_gateway.account_burst"))
        return settings

    Stage._get_default_method_settings = default_method_settings  # type: ignore[method-assign]
    stack.callback(setattr, Stage, "_get_default_method_settings", original_defaults)

    original_deploy = RestAPI.create_deployment

    def create_deployment(
        self: RestAPI, name: str, description: str, stage_variables: Any = None
    ) -> Any:
        # Deploying to an existing stage points it at the new deployment and keeps its
        # settings (cache, method settings, variables), as AWS does; moto replaced the stage.
        existing = self.stages.get(name) if name else None
        deployment = original_deploy(self, name, description, stage_variables)
        setattr(deployment, "labkit_snapshot", snapshot(self, deployment.id))  # noqa: B010
        if existing is not None:
            existing.deployment_id = deployment.id
            existing.variables.update(stage_variables or {})
            self.stages[name] = existing
        return deployment

    RestAPI.create_deployment = create_deployment  # type: ignore[method-assign]
    stack.callback(setattr, RestAPI, "create_deployment", original_deploy)
    _patch_responses(stack)
    patch_stages.install(stack)
    patch_usage.install(stack)
    # Invoke URLs answered for requests (ahead of moto's URL scan) and for urllib.
    hosts.serve(stack, _INVOKE_HOST, handle)
