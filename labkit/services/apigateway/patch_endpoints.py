"""REST API endpoint types in the sandbox: edge-optimized through the edge, private through a
VPC endpoint (rules in :mod:`labkit.services.apigateway.sim_endpoints`).

moto records ``endpointConfiguration`` and nothing else follows from it: a PRIVATE API answers
anyone at its public invoke URL. While a lab runs, this module plugs a gate into the REST
request path (:data:`labkit.services.apigateway.patch.ENDPOINT_GATE`) that

- refuses to deploy a PRIVATE API that has no resource policy (``BadRequestException``), and
  refuses a PRIVATE API's caller who did not come through an interface VPC endpoint (and a VPC
  endpoint's caller of a public API) with ``403 {"message":"Forbidden"}``, the reason in the trace;
- serves an EDGE API through the edge location nearest the viewer (the edge lab's viewer:
  ``labkit.services.edge.patch.viewer``, ``set_viewer`` or an ``X-Labkit-Viewer`` header),
  with CloudFront's headers and the edge location in the trace; a REGIONAL API straight from
  its Region; each with the modelled network time in ``X-Labkit-Latency-Ms``;

and answers the VPC endpoint's host names:
``{vpce-id}-{suffix}.execute-api.{region}.vpce.amazonaws.com`` (the API named by
``x-apigw-api-id`` or ``Host``; moto's own ``DnsName`` spelling too) and the
alias ``{api-id}-{vpce-id}.execute-api.{region}.amazonaws.com`` of a VPC endpoint listed in the
API's ``vpcEndpointIds``. The request then carries ``aws:SourceVpce`` into the resource policy.
A VPC endpoint that does not exist does not resolve: ``requests.ConnectionError``.
"""

from __future__ import annotations

import hashlib
import re
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from labkit.sandbox import hosts
from labkit.services.apigateway import patch as rest
from labkit.services.apigateway.sim_endpoints import EDGE, PRIVATE, EndpointConfig, path, refusal
from labkit.services.apigateway.sim_request import (
    ApiRequest,
    ApiState,
    Response,
    TraceEntry,
)
from labkit.services.edge.sim_locations import AWS_REGIONS, Place, place

if TYPE_CHECKING:
    from collections.abc import Callable

    from labkit.sandbox.session import Sandbox

_VPCE_HOST = re.compile(
    r"(?P<vpce>vpce-[0-9a-f]+)(?:-[a-z0-9]+)?\."
    r"(?:execute-api\.(?P<region>[a-z0-9-]+)\.vpce\.amazonaws\.com"
    r"|com\.amazonaws\.(?P<moto_region>[a-z0-9-]+)\.execute-api)$"
)
_ALIAS_HOST = re.compile(
    r"(?P<api>[a-z0-9]+)-(?P<vpce>vpce-[0-9a-f]+)\.execute-api\.(?P<region>[a-z0-9-]+)"
    r"\.amazonaws\.com$"
)
_API_HOST = re.compile(r"(?P<api>[a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com$")
_PATTERN = re.compile(
    r"https?://(vpce-[0-9a-f]+(-[a-z0-9]+)?\.(execute-api\.[a-z0-9-]+\.vpce\.amazonaws\.com"
    r"|com\.amazonaws\.[a-z0-9-]+\.execute-api)"
    r"|[a-z0-9]+-vpce-[0-9a-f]+\.execute-api\.[a-z0-9-]+\.amazonaws\.com)(:\d+)?(/.*)?$"
)
_SANDBOX: list[Sandbox] = []


# --- the gate -------------------------------------------------------------------------------------


def viewer_of(request: ApiRequest) -> Place:
    """Where the caller is: the ``X-Labkit-Viewer`` header, else the edge lab's viewer, else
    the sandbox's Region (read without creating CloudFront's backend)."""
    from labkit.sandbox.backends import existing
    from labkit.services.edge.patch import VIEWER_HEADER, EdgeWorld

    named = request.header(VIEWER_HEADER)
    if named:
        return place(named)
    for _partition, backend in existing("cloudfront"):
        state = backend.__dict__.get("labkit_edge")
        if isinstance(state, EdgeWorld) and state.viewer is not None:
            return state.viewer
    region = _SANDBOX[0].region if _SANDBOX else "us-east-1"
    return AWS_REGIONS.get(region, AWS_REGIONS["us-east-1"])


def _cf_id(request_id: str) -> str:
    digest = hashlib.sha256(request_id.encode()).hexdigest()
    return digest[:54] + "=="


def gate(api: Any, request: ApiRequest, state: ApiState, run: Callable[[], Response]) -> Response:
    """The endpoint type's part of a request to a REST API."""
    config = EndpointConfig.from_api(getattr(api, "endpoint_configuration", None))
    why = refusal(config, request.source_vpce, bool(request.deployment.policy))
    if why is not None:
        entry = TraceEntry(
            request.request_id, request.now, request.http_method, request.path, request.stage.name
        )
        entry.step("endpoint", "refused", why)
        entry.status = 403
        state.trace.append(entry)
        state.stage_metrics(request.stage.name).count += 1
        state.stage_metrics(request.stage.name).errors_4xx += 1
        return Response.message(403, "Forbidden")
    way = path(config, viewer_of(request), request.region, request.source_vpce)
    response = run()
    served = state.trace[-1] if state.trace else None
    total = way.latency_ms
    if served is not None and served.request_id == request.request_id:
        served.endpoint = f"{way.kind}: {way.detail}"
        served.latency_ms += way.latency_ms
        total = served.latency_ms
    response.headers["X-Labkit-Latency-Ms"] = f"{total:.1f}"
    if way.kind == EDGE and way.edge is not None:
        token = hashlib.sha256(f"{way.edge.pop}:{request.api_id}".encode()).hexdigest()[:32]
        response.headers["Via"] = f"1.1 {token}.cloudfront.net (CloudFront)"
        response.headers["X-Amz-Cf-Pop"] = way.edge.pop
        response.headers["X-Amz-Cf-Id"] = _cf_id(request.request_id)
        response.headers["X-Cache"] = (
            "Error from cloudfront" if response.status >= 400 else "Miss from cloudfront"
        )
    return response


# --- the VPC endpoint's host names ----------------------------------------------------------------


def _vpc_endpoint(vpce_id: str, region: str) -> Any:
    """The interface VPC endpoint for execute-api with this id (any account), or ``None``."""
    from moto.ec2.models import ec2_backends

    for account in list(ec2_backends.keys()):
        found = ec2_backends[account][region].vpc_end_points.get(vpce_id)
        if found is not None and str(found.service_name).endswith(".execute-api"):
            return found
    return None


class _Forwarded:
    """The request as the API's own invoke URL receives it."""

    def __init__(self, request: Any, url: str) -> None:
        self.method = request.method
        self.url = url
        self.headers = request.headers
        self.body = request.body


def handle_vpce(request: Any) -> rest.Reply:
    """Answer a request sent to a VPC endpoint's host name."""
    parts = urlsplit(str(request.url))
    host = (parts.hostname or "").lower()
    alias = _ALIAS_HOST.match(host)
    direct = _VPCE_HOST.match(host)
    if alias is not None:
        vpce_id, region, api_id = alias["vpce"], alias["region"], alias["api"]
    elif direct is not None:
        vpce_id = direct["vpce"]
        region = direct["region"] or direct["moto_region"]
        headers = {str(k).lower(): str(v) for k, v in dict(request.headers or {}).items()}
        named = _API_HOST.match(headers.get("host", "").split(":")[0].lower())
        api_id = headers.get("x-apigw-api-id") or (named["api"] if named else "")
    else:
        raise requests.ConnectionError(f"Failed to resolve {host!r}")
    if _vpc_endpoint(vpce_id, region) is None:
        raise requests.ConnectionError(
            f"Failed to resolve {host!r}: no interface VPC endpoint {vpce_id} for execute-api"
        )
    found = rest._find_api(api_id, region) if api_id else None
    if found is None:
        return 403, {"Content-Type": "application/json"}, '{"message": "Forbidden"}'
    if alias is not None:
        listed = EndpointConfig.from_api(getattr(found[1], "endpoint_configuration", None))
        if vpce_id not in listed.vpc_endpoint_ids:
            raise requests.ConnectionError(
                f"Failed to resolve {host!r}: {vpce_id} is not in the API's vpcEndpointIds"
            )
    query = f"?{parts.query}" if parts.query else ""
    url = f"https://{api_id}.execute-api.{region}.amazonaws.com{parts.path or '/'}{query}"
    return rest.handle(_Forwarded(request, url), source_vpce=vpce_id)


def _private_needs_policy(stack: ExitStack) -> None:
    """``CreateDeployment`` of a PRIVATE API without a resource policy fails, as on AWS
    (``BadRequestException: Private REST API doesn't have a resource policy attached to it``)."""
    from moto.apigateway.exceptions import BadRequestException
    from moto.apigateway.models import RestAPI

    original = RestAPI.create_deployment

    def create_deployment(self: RestAPI, *args: Any, **kwargs: Any) -> Any:
        config = EndpointConfig.from_api(getattr(self, "endpoint_configuration", None))
        if config.kind == PRIVATE and not self.policy:
            raise BadRequestException(
                "Private REST API doesn't have a resource policy attached to it"
            )
        return original(self, *args, **kwargs)

    RestAPI.create_deployment = create_deployment  # type: ignore[method-assign]
    stack.callback(setattr, RestAPI, "create_deployment", original)


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Plug the endpoint gate in and answer VPC endpoints' host names while ``sandbox`` runs."""
    _SANDBOX[:] = [sandbox]
    stack.callback(_SANDBOX.clear)
    _private_needs_policy(stack)
    rest.ENDPOINT_GATE.append(gate)
    stack.callback(lambda: rest.ENDPOINT_GATE.remove(gate) if gate in rest.ENDPOINT_GATE else None)

    # The alias host looks like an execute-api host to moto's management-API pattern: claim
    # these hosts before the registry's scan.
    hosts.claim(stack, lambda url: _PATTERN.match(url) is not None, handle_vpce, content_type=None)


__all__ = ["gate", "handle_vpce", "install", "viewer_of"]
