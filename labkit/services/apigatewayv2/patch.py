"""HTTP APIs (API Gateway v2) served at their invoke URLs, and what moto's control plane lacks.

moto 5.2.5 keeps HTTP and WebSocket APIs, routes, integrations, authorizers and stages, but
serves nothing at ``https://{api}.execute-api.{region}.amazonaws.com`` (404), has no
``CreateDeployment`` or ``UpdateStage`` (404 "Not yet implemented"), and gives a WebSocket API an
``https://`` endpoint where AWS gives ``wss://``. While a lab runs, this module:

- answers every request sent with ``requests`` to an HTTP API's invoke URL through
  :mod:`labkit.services.apigatewayv2.sim_http` (a named stage under ``/{stage}``, the
  ``$default`` stage at the root; an unknown stage or route → ``404 {"message":"Not Found"}``);
- serves an auto-deployed stage (``AutoDeploy``) the API as it is now, and any other stage the
  deployment ``CreateDeployment`` made for it (so a change reaches callers only once deployed);
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-stages.html
- adds ``CreateDeployment``, ``GetDeployments`` and ``UpdateStage`` (route settings, auto-deploy,
  the stage's deployment);
- runs JWT authorizers against the sandbox's Cognito user pools (:mod:`.sim_jwt`), Lambda proxy
  integrations (payload format 1.0 and 2.0: :mod:`.sim_payload`) with the sandbox's Lambda, and
  ``HTTP_PROXY`` integrations to endpoints inside the sandbox.

WebSocket connections and ``@connections`` are
:mod:`labkit.services.apigatewayv2.patch_websocket`'s.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from moto.moto_api._internal import mock_random

from labkit import facts
from labkit.sandbox import hosts
from labkit.services.apigateway.sim_request import ApiState, IntegrationResult, Response
from labkit.services.apigateway.sim_throttle import Buckets
from labkit.services.apigatewayv2 import sim_http, sim_jwt, sim_payload
from labkit.services.apigatewayv2.sim_http import (
    AuthorizerSpec,
    AuthResult,
    CorsConfig,
    HttpApiSnapshot,
    HttpRequest,
    HttpStage,
    IntegrationSpec,
    RouteLimits,
    RouteSpec,
    message,
)
from labkit.services.cognitoidp.sim_tokens import TrustedPool

if TYPE_CHECKING:
    from moto.apigatewayv2.models import Api, ApiGatewayV2Backend, Stage

    from labkit.sandbox.session import Sandbox

Reply = tuple[int, dict[str, str], str | bytes]

_URL = re.compile(
    r"https?://(?P<api>[a-z0-9]+)\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com"
    r"(?P<path>/[^?#]*)?(?:\?(?P<query>[^#]*))?"
)
_LAMBDA_PATH = re.compile(
    r"arn:aws[a-z-]*:apigateway:[^:]+:lambda:path/[^/]+/functions/(?P<fn>.+)/invocations"
)
_COGNITO_ISSUER = re.compile(
    r"https://cognito-idp\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<pool>[\w-]+)$"
)

#: The sandbox whose clock the gateway reads (one sandbox runs per process).
_SANDBOX: list[Sandbox] = []


def now() -> float:
    """The lab clock (epoch seconds)."""
    return _SANDBOX[0].clock.timestamp if _SANDBOX else time.time()


# --- what a stage serves -------------------------------------------------------------------------


def snapshot(api: Api, deployment_id: str | None = None) -> HttpApiSnapshot:
    """``api`` as it stands, as plain data (frozen as ``deployment_id`` when deploying)."""
    routes = tuple(
        RouteSpec(
            id=str(r.route_id),
            key=str(r.route_key),
            target=r.target,
            authorization_type=str(r.authorization_type or "NONE"),
            authorizer_id=r.authorizer_id,
            scopes=tuple(r.authorization_scopes or ()),
            route_response_selection_expression=r.route_response_selection_expression,
        )
        for r in api.routes.values()
    )
    integrations = {
        i.id: IntegrationSpec(
            id=str(i.id),
            type=str(i.integration_type),
            uri=str(i.integration_uri or ""),
            payload_format_version=str(i.payload_format_version or "1.0"),
            method=i.integration_method,
            credentials=getattr(i, "credentials_arn", None) or None,
            timeout_ms=float(
                i.timeout_in_millis
                or facts.value("api_gateway.http_integration_timeout_max") * 1000
            ),
        )
        for i in api.integrations.values()
    }
    authorizers = {}
    for a in api.authorizers.values():
        jwt: dict[str, Any] = dict(a.jwt_config or {})  # type: ignore[arg-type]
        source = a.identity_source or ["$request.header.Authorization"]
        authorizers[a.id] = AuthorizerSpec(
            id=str(a.id),
            name=str(a.name or ""),
            type=str(a.authorizer_type),
            identity_source=tuple(str(s) for s in source),
            issuer=str(jwt.get("issuer") or jwt.get("Issuer") or ""),
            audience=tuple(str(x) for x in (jwt.get("audience") or jwt.get("Audience") or ())),
        )
    return HttpApiSnapshot(
        api_id=str(api.api_id),
        account_id=str(api.backend.account_id),
        region=str(api.backend.region_name),
        protocol=str(api.protocol_type),
        routes=routes,
        integrations=integrations,
        authorizers=authorizers,
        cors=CorsConfig.from_api(api.cors_configuration),  # type: ignore[arg-type]
        route_selection_expression=str(api.route_selection_expression),
        deployment_id=deployment_id,
    )


def deployments(api: Api) -> dict[str, dict[str, Any]]:
    """The API's deployments (kept on moto's API object, so a reset clears them)."""
    found: dict[str, dict[str, Any]] | None = getattr(api, "labkit_deployments", None)
    if found is None:
        found = {}
        setattr(api, "labkit_deployments", found)  # noqa: B010 (moto's model has no slot)
    return found


def stage_deployment(stage: Stage) -> str | None:
    """The deployment a stage serves."""
    return getattr(stage, "labkit_deployment_id", None) or stage.config.get("deploymentId")


def served(api: Api, stage: Stage) -> HttpApiSnapshot | None:
    """What ``stage`` serves: the API itself when auto-deployed, else its deployment."""
    if stage.auto_deploy:
        return snapshot(api, "auto")
    found = deployments(api).get(stage_deployment(stage) or "")
    return found["snapshot"] if found is not None else None


def stage_settings(stage: Stage) -> HttpStage:
    """A stage's live settings as the pipeline reads them."""
    return HttpStage(
        name=str(stage.name),
        default_limits=RouteLimits.from_api(stage.default_route_settings),
        route_limits={
            str(k): RouteLimits.from_api(v) for k, v in (stage.route_settings or {}).items()
        },
        variables={str(k): str(v) for k, v in (stage.stage_variables or {}).items()},
    )


def api_state(api: Api) -> ApiState:
    """The pipeline's state on moto's API object (trace, buckets, metrics)."""
    state: ApiState | None = getattr(api, "labkit_state", None)
    if state is None:
        state = ApiState()
        setattr(api, "labkit_state", state)  # noqa: B010
    return state


def find_api(api_id: str, region: str) -> tuple[ApiGatewayV2Backend, Api] | None:
    """The v2 API ``api_id`` in ``region`` of any account."""
    from moto.apigatewayv2.models import apigatewayv2_backends

    for account in list(apigatewayv2_backends.keys()):
        backend = apigatewayv2_backends[account][region]
        api = backend.apis.get(api_id)
        if api is not None:
            return backend, api
    return None


# --- the gateway ----------------------------------------------------------------------------------


def lambda_target(uri: str) -> tuple[Any, Any] | None:
    """The Lambda backend and function an integration URI names (a function ARN, or the
    ``arn:aws:apigateway:...:lambda:path/.../functions/{arn}/invocations`` form)."""
    from labkit.services.awslambda.patch import lambda_backend

    path = _LAMBDA_PATH.match(uri or "")
    arn = path["fn"] if path else (uri or "")
    parts = arn.split(":")
    if len(parts) < 7 or parts[2] != "lambda":
        return None
    backend = lambda_backend(parts[4], parts[3])
    try:
        return backend, backend.get_function(arn)
    except Exception:
        return None


def invoke(
    uri: str, event: Any, source: str, *, allowed: Callable[[Any], str | None] | None = None
) -> tuple[bytes | None, bool, float, str]:
    """Invoke the function ``uri`` names: ``(payload, failed, duration_ms, detail)``; a
    ``None`` payload when it could not run at all, or ``allowed(fn)`` says why API Gateway
    may not invoke it."""
    from labkit.services.awslambda.patch import TooManyRequestsException, run_invocation

    found = lambda_target(uri)
    if found is None:
        return None, True, 0.0, f"no function {uri!r}"
    backend, fn = found
    refused = allowed(fn) if allowed is not None else None
    if refused is not None:
        return None, True, 0.0, refused
    detail = f"lambda:{fn.function_name}"
    try:
        result = run_invocation(backend, fn, event, source=source)
    except TooManyRequestsException:
        return None, True, 0.0, f"{detail} throttled"
    failed = bool(result.function_error)
    return bytes(result.payload or b""), failed, float(result.duration_ms), detail


class MotoHttpGateway:
    """Integrations and the account's bucket, for one API."""

    def __init__(self, backend: ApiGatewayV2Backend) -> None:
        self.backend = backend

    def account_throttle(self) -> tuple[Buckets, float, float]:
        """The account's bucket in this Region and its limits: the REST patch's own (on moto's
        REST backend, with ``GetAccount``'s throttle settings), as the account-level limit
        covers HTTP, REST and WebSocket APIs together.
        https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
        """
        from moto.apigateway.models import apigateway_backends

        from labkit.services.apigateway.patch import MotoGateway

        rest = apigateway_backends[self.backend.account_id][self.backend.region_name]
        # The account bucket reads no API: any will do.
        return MotoGateway(rest, None).account_throttle()  # type: ignore[arg-type]

    def integrate(self, request: HttpRequest, integration: IntegrationSpec) -> IntegrationResult:
        """``AWS_PROXY`` (Lambda) and ``HTTP_PROXY``; other types answer 500."""
        if integration.type == "AWS_PROXY":
            return self._lambda(request, integration)
        if integration.type == "HTTP_PROXY":
            return self._http(request, integration)
        return IntegrationResult(
            message(500, "Internal Server Error"),
            0,
            f"integration type {integration.type} is not simulated for HTTP APIs",
        )

    def _lambda(self, request: HttpRequest, integration: IntegrationSpec) -> IntegrationResult:
        v2 = integration.payload_format_version == "2.0"
        event = sim_payload.event_v2(request) if v2 else sim_payload.event_v1(request)
        from labkit.services.apigateway.patch_backends import invoke_refusal

        def allowed(fn: Any) -> str | None:
            return invoke_refusal(
                fn,
                source_arn=request.source_arn,
                account_id=request.api.account_id,
                credentials=integration.credentials,
            )

        payload, failed, latency, detail = invoke(
            integration.uri, event, f"apigateway:{request.api.api_id}", allowed=allowed
        )
        if payload is None:
            return IntegrationResult(message(500, "Internal Server Error"), latency, detail)
        detail += f" (payload {integration.payload_format_version})"
        if failed:
            return IntegrationResult(
                message(500, "Internal Server Error"), latency, f"{detail} failed"
            )
        if latency > integration.timeout_ms:
            return IntegrationResult(
                message(503, "Service Unavailable"), latency, f"{detail} timed out"
            )
        if v2:
            return IntegrationResult(sim_payload.response_v2(payload), latency, detail)
        from labkit.services.apigateway.patch_integrations import proxy_response

        answer = proxy_response(payload)
        if answer.status == 502:
            answer = message(500, "Internal Server Error")
        return IntegrationResult(answer, latency, detail)

    def _http(self, request: HttpRequest, integration: IntegrationSpec) -> IntegrationResult:
        import requests

        url = integration.uri
        for name, value in request.path_params.items():
            url = url.replace("{" + name + "}", value).replace("{" + name + "+}", value)
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")
        }
        started = time.perf_counter()
        try:
            got = requests.request(
                integration.method
                if integration.method not in (None, "ANY")
                else request.http_method,
                url,
                params=request.query,
                headers=headers,
                data=request.body,
                timeout=integration.timeout_ms / 1000,
            )
        except Exception as failed:  # the network guard, a refused connection, a bad URL
            return IntegrationResult(
                message(500, "Internal Server Error"), 0, f"HTTP_PROXY: {failed}"
            )
        latency = (time.perf_counter() - started) * 1000
        kept = {
            k: v
            for k, v in got.headers.items()
            if k.lower() not in ("content-length", "content-encoding", "transfer-encoding")
        }
        return IntegrationResult(
            Response(got.status_code, kept, got.content),
            latency,
            f"HTTP_PROXY {got.status_code} from {url}",
        )


def trusted_issuer(issuer: str) -> TrustedPool | None:
    """The keys of a Cognito user pool of the sandbox, by its issuer URL."""
    from moto.cognitoidp.models import cognitoidp_backends

    from labkit.services.cognitoidp.patch import pool_keys
    from labkit.services.cognitoidp.sim_tokens import issuer_url

    m = _COGNITO_ISSUER.match(issuer.rstrip("/"))
    if m is None:
        return None
    for account in list(cognitoidp_backends.keys()):
        pool = cognitoidp_backends[account][m["region"]].user_pools.get(m["pool"])
        if pool is not None:
            keys = {key.kid: key for key in pool_keys(pool).public()}
            return TrustedPool(issuer_url(m["region"], m["pool"]), keys)
    return None


def decide_jwt(request: HttpRequest) -> AuthResult:
    """``JWT``: the route's authorizer, against the sandbox's user pools."""
    route = request.route
    assert route is not None
    spec = request.api.authorizers.get(route.authorizer_id or "")
    if spec is None or spec.type != "JWT":
        return AuthResult(
            False,
            message(500, "Internal Server Error"),
            f"route {route.key} uses JWT but names no JWT authorizer ({route.authorizer_id!r})",
            sim_jwt.DECIDER,
        )
    token = sim_jwt.token_from(spec.identity_source[0], request.headers, dict(request.query))
    return sim_jwt.decide(spec, token, jwks=trusted_issuer, scopes=route.scopes, now=request.now)


# --- serving --------------------------------------------------------------------------------------


def handle(request: Any) -> Reply | None:
    """Answer a request to an HTTP API's invoke URL (``None``: the id is no v2 API's)."""
    m = _URL.match(str(request.url))
    found = find_api(m["api"], m["region"]) if m is not None else None
    if m is None or found is None:
        return None
    backend, api = found
    if api.disable_execute_api_endpoint in (True, "true", "True"):
        # Callers must use a custom domain name; the default endpoint answers 403.
        return _reply(message(403, "Forbidden"))
    if api.protocol_type != "HTTP":
        # A WebSocket API speaks only WebSocket (labkit.lab.Lab.websocket): a plain HTTP
        # request is not an upgrade.
        return _reply(message(426, "Upgrade Required"))
    raw_path = m["path"] or "/"
    parts = [p for p in raw_path.split("/") if p]
    if parts and parts[0] in api.stages and parts[0] != sim_http.DEFAULT_STAGE:
        stage, below = api.stages[parts[0]], parts[1:]
    elif sim_http.DEFAULT_STAGE in api.stages:
        stage, below = api.stages[sim_http.DEFAULT_STAGE], parts
    else:
        return _reply(message(404, "Not Found"))
    frozen = served(api, stage)
    if frozen is None:
        return _reply(message(404, "Not Found"))
    body = request.body
    built = HttpRequest(
        http_method=str(request.method),
        url=str(request.url),
        path="/" + "/".join(below),
        raw_path=raw_path,
        query=parse_qsl(urlsplit(str(request.url)).query, keep_blank_values=True),
        headers={str(k): str(v) for k, v in dict(request.headers or {}).items()},
        body=body,
        api=frozen,
        stage=stage_settings(stage),
        now=now(),
        request_id=str(mock_random.uuid4()),
    )
    return _reply(sim_http.serve(built, MotoHttpGateway(backend), api_state(api)))


def _reply(response: Response) -> Reply:
    return response.status, response.headers, response.body


def _callback(request: Any) -> Reply:
    answer = handle(request)
    return answer if answer is not None else _reply(message(404, "Not Found"))


# --- moto's control plane ------------------------------------------------------------------------


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _patch_control_plane(stack: ExitStack) -> None:
    """``CreateDeployment``, ``GetDeployments``, ``UpdateStage``; WebSocket endpoints ``wss://``;
    a stage's ``DeploymentId``."""
    from moto.apigateway import urls as rest_urls
    from moto.apigatewayv2 import urls
    from moto.apigatewayv2.exceptions import BadRequestException, StageNotFound
    from moto.apigatewayv2.models import Api, Stage
    from moto.apigatewayv2.responses import ApiGatewayV2Response

    def create_deployment(self: ApiGatewayV2Response) -> Any:
        api_id = self.path.split("/")[-2]
        api = self.apigatewayv2_backend.get_api(api_id)
        params = json.loads(self.body or "{}")
        stage_name = params.get("stageName")
        if stage_name and stage_name not in api.stages:
            raise StageNotFound()
        if stage_name and api.stages[stage_name].auto_deploy:
            raise BadRequestException(
                "Deployment cannot be created on a stage with auto deploy enabled"
            )
        deployment_id = "".join(
            mock_random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(6)
        )
        shown = {
            "autoDeployed": False,
            "createdDate": _iso(now()),
            "deploymentId": deployment_id,
            "deploymentStatus": "DEPLOYED",
        }
        if params.get("description"):
            shown["description"] = params["description"]
        deployments(api)[deployment_id] = {"shown": shown, "snapshot": snapshot(api, deployment_id)}
        if stage_name:
            setattr(api.stages[stage_name], "labkit_deployment_id", deployment_id)  # noqa: B010
        return 201, {}, json.dumps(shown)

    def get_deployments(self: ApiGatewayV2Response) -> Any:
        api = self.apigatewayv2_backend.get_api(self.path.split("/")[-2])
        return 200, {}, json.dumps({"items": [d["shown"] for d in deployments(api).values()]})

    def update_stage(self: ApiGatewayV2Response) -> Any:
        parts = self.path.split("/")
        api = self.apigatewayv2_backend.get_api(parts[-3])
        from urllib.parse import unquote

        name = unquote(parts[-1])
        if name not in api.stages:
            raise StageNotFound()
        stage = api.stages[name]
        params = json.loads(self.body or "{}")
        if "autoDeploy" in params:
            stage.auto_deploy = bool(params["autoDeploy"])
        if "defaultRouteSettings" in params:
            stage.default_route_settings = {
                **stage.default_route_settings,
                **params["defaultRouteSettings"],
            }
        if "routeSettings" in params:
            stage.route_settings = {**(stage.route_settings or {}), **params["routeSettings"]}
        if "stageVariables" in params:
            stage.stage_variables = dict(params["stageVariables"])
        if "description" in params:
            stage.description = params["description"]
        if "deploymentId" in params:
            if params["deploymentId"] not in deployments(api):
                raise BadRequestException(f"Invalid deployment identifier {params['deploymentId']}")
            setattr(stage, "labkit_deployment_id", params["deploymentId"])  # noqa: B010
        stage.updated = datetime.now()
        return 200, {}, json.dumps(stage.to_json())

    added = {
        "create_deployment": create_deployment,
        "get_deployments": get_deployments,
        "update_stage": update_stage,
    }
    for name, method in added.items():
        previous = ApiGatewayV2Response.__dict__.get(name)
        setattr(ApiGatewayV2Response, name, method)
        if previous is None:
            stack.callback(delattr, ApiGatewayV2Response, name)
        else:
            stack.callback(setattr, ApiGatewayV2Response, name, previous)
    # moto serves v2 through REST's backend, whose URL table copied v2's at import.
    route = "{0}/v2/apis/(?P<api_id>[^/]+)/deployments$"
    for table in (urls.url_paths, rest_urls.url_paths):
        table[route] = ApiGatewayV2Response.dispatch
        stack.callback(table.pop, route, None)

    original_init = Api.__init__

    def init(self: Api, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if self.protocol_type == "WEBSOCKET":
            self.api_endpoint = self.api_endpoint.replace("https://", "wss://", 1)

    Api.__init__ = init  # type: ignore[method-assign]
    stack.callback(setattr, Api, "__init__", original_init)

    original_json = Stage.to_json

    def to_json(self: Stage) -> dict[str, Any]:
        shown = original_json(self)
        deployment = stage_deployment(self)
        if deployment:
            shown["deploymentId"] = deployment
        return shown

    Stage.to_json = to_json  # type: ignore[method-assign]
    stack.callback(setattr, Stage, "to_json", original_json)

    original_create = Stage.__init__

    def stage_init(self: Stage, api: Api, config: dict[str, Any]) -> None:
        original_create(self, api, config)
        wanted = config.get("deploymentId")
        if wanted and wanted not in deployments(api):
            raise BadRequestException(f"Invalid deployment identifier {wanted}")

    Stage.__init__ = stage_init  # type: ignore[method-assign]
    stack.callback(setattr, Stage, "__init__", original_create)


# --- installing -----------------------------------------------------------------------------------


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Serve HTTP APIs for ``sandbox`` and complete moto's v2 control plane."""
    from labkit.services.apigateway import patch as rest

    _SANDBOX[:] = [sandbox]
    stack.callback(_SANDBOX.clear)
    _patch_control_plane(stack)
    stack.callback(sim_http.register_authorizer(sim_jwt.DECIDER, decide_jwt))

    # When the REST patch claims an execute-api URL first, it asks here for ids it lacks.
    rest.OTHER_APIS.append(handle)
    stack.callback(lambda: rest.OTHER_APIS.remove(handle) if handle in rest.OTHER_APIS else None)

    # Claim an invoke URL before moto's ~200 patterns are scanned, and only for a v2 API's id
    # (a REST API's goes on to the REST patch, whichever was installed first).
    def ours(url: str) -> bool:
        m = _URL.match(url)
        return m is not None and find_api(m["api"], m["region"]) is not None

    hosts.claim(stack, ours, _callback, content_type=None)


__all__ = [
    "MotoHttpGateway",
    "api_state",
    "decide_jwt",
    "deployments",
    "find_api",
    "handle",
    "install",
    "invoke",
    "lambda_target",
    "served",
    "snapshot",
    "stage_settings",
    "trusted_issuer",
]
