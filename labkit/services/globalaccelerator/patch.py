"""AWS Global Accelerator in the sandbox: the API moto lacks, health checks and routing.

moto has no Global Accelerator, so boto3 calls to it find nothing. While a lab runs this module
answers them: a moto-style backend (:class:`GlobalAcceleratorBackend` in a ``BackendDict``, so
``lab.reset()`` and isolated checks cover it) behind a moto ``BaseResponse``, reached through
moto's own request stubber. As on AWS, the API is served only in US West (Oregon) ("you must
specify the US West (Oregon) Region to create, update, or otherwise work with accelerators",
https://docs.aws.amazon.com/global-accelerator/latest/api/API_CreateAccelerator.html): a client
for another Region cannot connect (``EndpointConnectionError``).

Supported: accelerators (two static anycast IPv4 addresses, DNS name, enable/disable, status on
the lab clock), listeners (TCP/UDP, port ranges, client affinity), endpoint groups (one per
Region per listener, traffic dial, health-check settings, port overrides), endpoints (weights,
client IP preservation), tags and flow-log attributes.

Health checks run on the lab clock (computed when read): every ``HealthCheckIntervalSeconds`` an
endpoint is probed; ``ThresholdCount`` consecutive results flip its state; a new endpoint is
``INITIAL`` until the first ``ThresholdCount`` probes agree. A lesson fails a Region or an
endpoint with :func:`labkit.services.edge.patch.fail_region` / ``fail_endpoint``.

Routing (:func:`route`) follows the documented rules
(https://docs.aws.amazon.com/global-accelerator/latest/dg/about-endpoint-groups.html,
https://docs.aws.amazon.com/global-accelerator/latest/dg/about-endpoints-endpoint-weights.unhealthy-endpoints.html):
the viewer enters at the nearest Global Accelerator edge; traffic goes to the endpoint group
nearest the viewer, except the share its traffic dial turns away, which goes on to the next
nearest; within a group endpoints share traffic by weight; a group without a healthy endpoint
of weight above zero fails over to the next nearest (traffic dials ignored), up to the three
nearest groups; if none has one, traffic goes to a random endpoint of the nearest group (fails
open). Client affinity ``SOURCE_IP`` keeps a client on one endpoint.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from botocore.exceptions import EndpointConnectionError
from moto.core.base_backend import BackendDict
from moto.core.botocore_stubber import BotocoreStubber
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.core.request import normalize_request
from moto.core.responses import BaseResponse

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
    ORIGIN_PROCESSING_MS,
    EdgeLocation,
    Place,
    distance_km,
    nearest_accelerator_edge,
    rtt_ms,
)
from labkit.services.globalaccelerator.patch_models import (
    Accelerator,
    EndpointGroup,
    GlobalAcceleratorBackend,
    Listener,
)

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

#: A request header naming the client (its source address) for client affinity in traces.
CLIENT_HEADER = "x-labkit-client"
#: The only Region where the Global Accelerator API answers.
API_REGION = "us-west-2"
_ENDPOINT = re.compile(r"^https?://globalaccelerator\.([a-z0-9-]+)\.amazonaws\.com(?:[:/]|$)")


@cache
def globalaccelerator_backends() -> BackendDict[GlobalAcceleratorBackend]:
    """moto-style backends of Global Accelerator, by account (one Region: us-west-2)."""
    return BackendDict(
        GlobalAcceleratorBackend,
        "globalaccelerator",
        use_boto3_regions=False,
        additional_regions=[API_REGION],
    )


def backend(account_id: str = DEFAULT_ACCOUNT_ID) -> GlobalAcceleratorBackend:
    """The Global Accelerator backend of ``account_id``."""
    return globalaccelerator_backends()[account_id][API_REGION]


class GlobalAcceleratorResponse(BaseResponse):
    """The JSON API (``GlobalAccelerator_V20180706.<Operation>``) over the backend."""

    # An annotated class attribute makes Python create ``__annotations__`` when the class is
    # defined. Otherwise moto's ``inspect.getmembers`` on the first request creates it inside a
    # graded check, which the grader's tamper guard rightly reports as labkit code changing.
    api_region: str = API_REGION

    def __init__(self) -> None:
        super().__init__(service_name="globalaccelerator")

    @property
    def ga(self) -> GlobalAcceleratorBackend:
        return backend(self.current_account)

    def _params(self) -> dict[str, Any]:
        try:
            loaded = json.loads(self.body or "{}")
        except ValueError:
            loaded = {}
        return loaded if isinstance(loaded, dict) else {}

    def _call(self, method: str) -> str:
        result = getattr(self.ga, method)(self._params())
        return json.dumps(result if result is not None else {})

    # One method per operation; the backend does the work and raises AWS's errors.
    def create_accelerator(self) -> str:
        return self._call("create_accelerator")

    def describe_accelerator(self) -> str:
        return self._call("describe_accelerator")

    def list_accelerators(self) -> str:
        return self._call("list_accelerators")

    def update_accelerator(self) -> str:
        return self._call("update_accelerator")

    def delete_accelerator(self) -> str:
        return self._call("delete_accelerator")

    def describe_accelerator_attributes(self) -> str:
        return self._call("describe_accelerator_attributes")

    def update_accelerator_attributes(self) -> str:
        return self._call("update_accelerator_attributes")

    def create_listener(self) -> str:
        return self._call("create_listener")

    def describe_listener(self) -> str:
        return self._call("describe_listener")

    def list_listeners(self) -> str:
        return self._call("list_listeners")

    def update_listener(self) -> str:
        return self._call("update_listener")

    def delete_listener(self) -> str:
        return self._call("delete_listener")

    def create_endpoint_group(self) -> str:
        return self._call("create_endpoint_group")

    def describe_endpoint_group(self) -> str:
        return self._call("describe_endpoint_group")

    def list_endpoint_groups(self) -> str:
        return self._call("list_endpoint_groups")

    def update_endpoint_group(self) -> str:
        return self._call("update_endpoint_group")

    def delete_endpoint_group(self) -> str:
        return self._call("delete_endpoint_group")

    def add_endpoints(self) -> str:
        return self._call("add_endpoints")

    def remove_endpoints(self) -> str:
        return self._call("remove_endpoints")

    def tag_resource(self) -> str:
        return self._call("tag_resource")

    def untag_resource(self) -> str:
        return self._call("untag_resource")

    def list_tags_for_resource(self) -> str:
        return self._call("list_tags_for_resource")


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Answer Global Accelerator API calls and bind its health checks to the lab clock."""
    stack.enter_context(api_answered(sandbox))


@contextmanager
def api_answered(sandbox: Sandbox) -> Iterator[None]:
    """Route botocore requests for ``globalaccelerator.*.amazonaws.com`` to the backend."""
    original = BotocoreStubber.process_request

    def process_request(self: BotocoreStubber, request: Any) -> Any:
        match = _ENDPOINT.match(str(request.url))
        if match is None:
            return original(self, request)
        if match.group(1) != API_REGION:
            # AWS has no Global Accelerator endpoint outside us-west-2: the client cannot connect.
            raise EndpointConnectionError(endpoint_url=str(request.url))
        normalized = normalize_request(request)
        return GlobalAcceleratorResponse.dispatch(
            normalized, normalized.raw_url, normalized.headers
        )

    BotocoreStubber.process_request = process_request  # type: ignore[method-assign]
    try:
        yield
    finally:
        BotocoreStubber.process_request = original  # type: ignore[method-assign]


# -- routing ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    """Where Global Accelerator sends one viewer's connection.

    Attributes:
        edge: The Global Accelerator edge location the viewer enters at.
        region: The endpoint group's Region (``""`` when nothing can take the traffic).
        endpoint_id: The endpoint chosen (``""`` likewise).
        reason: ``nearest``, ``traffic-dial``, ``failover`` or ``fail-open``.
        healthy: Whether the chosen endpoint actually answers now.
        latency_ms: Modelled round trip through the accelerator (edge, then AWS backbone).
        direct_ms: Modelled round trip to the same Region over the public internet.
    """

    edge: EdgeLocation
    region: str
    endpoint_id: str
    reason: str
    healthy: bool
    latency_ms: float
    direct_ms: float


def _unit(*parts: object) -> float:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _region_place(region: str) -> Place:
    return AWS_REGIONS.get(region, AWS_REGIONS["us-east-1"])


def route(
    accelerator: Accelerator,
    viewer: Place,
    *,
    now: float,
    port: int | None = None,
    protocol: str = "TCP",
    client: str = "",
    seq: int = 0,
    sandbox: Sandbox | None = None,
) -> Route:
    """Route one connection from ``viewer`` through ``accelerator``.

    Raises:
        EdgeUnreachableError: If the accelerator is disabled or no listener takes the port.
    """
    if not accelerator.enabled:
        raise EdgeUnreachableError(f"Connection to {accelerator.dns_name} refused: disabled.")
    listener = _listener_for(accelerator, port, protocol)
    edge = nearest_accelerator_edge(viewer)
    groups = sorted(
        listener.endpoint_groups.values(),
        key=lambda g: distance_km(viewer, _region_place(g.region)),
    )
    state = world(sandbox)
    client_key = client or f"{viewer.name}:{viewer.lat}:{viewer.lon}"
    flow = client_key if listener.client_affinity == "SOURCE_IP" else f"{client_key}#{seq}"
    if not groups:
        return Route(edge, "", "", "nearest", False, 0.0, 0.0)

    chosen, reason = _dialled_group(groups, _unit(flow, "dial"))
    if chosen is None:
        return Route(edge, "", "", "traffic-dial", False, 0.0, 0.0)
    healthy = {g.arn: g.routable(now, state) for g in groups}
    tries = int(_failover_groups())
    if not healthy[chosen.arn]:
        nearest_groups = groups[:tries]
        fallback = next((g for g in nearest_groups if healthy[g.arn]), None)
        if fallback is not None:
            chosen, reason = fallback, "failover"
        else:
            chosen, reason = groups[0], "fail-open"
    if reason == "fail-open":
        candidates = list(chosen.endpoints.values())
        endpoint = candidates[int(_unit(flow, "open") * len(candidates))] if candidates else None
    else:
        endpoint = chosen.pick(now, state, _unit(flow, "weight"))
    region_place = _region_place(chosen.region)
    latency = (
        rtt_ms(viewer, edge.place)
        + rtt_ms(edge.place, region_place, path="backbone")
        + ORIGIN_PROCESSING_MS
    )
    direct = rtt_ms(viewer, region_place) + ORIGIN_PROCESSING_MS
    if endpoint is None:
        return Route(edge, chosen.region, "", reason, False, latency, direct)
    up = not chosen.actually_down(endpoint.endpoint_id, now, state)
    return Route(edge, chosen.region, endpoint.endpoint_id, reason, up, latency, direct)


def _failover_groups() -> int:
    from labkit import facts

    return int(facts.value("global_accelerator.failover_endpoint_groups"))


def _dialled_group(groups: list[EndpointGroup], u: float) -> tuple[EndpointGroup | None, str]:
    """The group a flow lands in after traffic dials turn some of it to the next group."""
    for index, group in enumerate(groups):
        dial = group.traffic_dial / 100.0
        if u < dial:
            return group, "nearest" if index == 0 else "traffic-dial"
        u = (u - dial) / (1.0 - dial) if dial < 1.0 else 0.0
    dialled = [g for g in groups if g.traffic_dial > 0]
    return (dialled[0], "traffic-dial") if dialled else (None, "traffic-dial")


def _listener_for(accelerator: Accelerator, port: int | None, protocol: str) -> Listener:
    listeners = list(accelerator.listeners.values())
    for listener in listeners:
        if listener.protocol == protocol.upper() and (port is None or listener.accepts(port)):
            return listener
    raise EdgeUnreachableError(
        f"Connection to {accelerator.dns_name}:{port} refused: no {protocol} listener takes "
        "that port."
    )


# -- HTTP through an accelerator ------------------------------------------------------------
def find_accelerator(host: str) -> Accelerator | None:
    """The accelerator whose DNS name or static IP address is ``host``."""
    for account in list(globalaccelerator_backends().values()):
        for ga in list(account.values()):
            for accelerator in ga.accelerators.values():
                if host == accelerator.dns_name or host in accelerator.ip_addresses:
                    return accelerator
    return None


def resolve_host(host: str, sandbox: Sandbox) -> Handler | None:
    """The edge handler for ``host`` when it is an accelerator's DNS name or static IP."""
    if not (host.endswith(".awsglobalaccelerator.com") or host[:1].isdigit()):
        return None
    accelerator = find_accelerator(host)
    if accelerator is None:
        return None
    return lambda request: serve_request(accelerator, request, sandbox)


def serve_request(accelerator: Accelerator, request: EdgeRequest, sandbox: Sandbox) -> EdgeResponse:
    """Carry one HTTP request through the accelerator to an endpoint and back."""
    chosen = route(
        accelerator,
        request.viewer,
        now=sandbox.clock.timestamp,
        port=request.port,
        client=request.headers.get(CLIENT_HEADER) or request.headers.get("x-forwarded-for", ""),
        seq=request.seq,
        sandbox=sandbox,
    )
    if not chosen.endpoint_id or not chosen.healthy:
        raise EdgeUnreachableError(
            f"Connection to {request.host} timed out: the endpoint "
            f"{chosen.endpoint_id or '(none)'} in {chosen.region or '(no Region)'} does not answer."
        )
    server = world(sandbox).servers.get(chosen.endpoint_id)
    if server is not None:
        reply = as_response(server(request))
    else:
        body = f"Hello from {chosen.endpoint_id} in {chosen.region}\n".encode()
        reply = EdgeResponse(200, [("Content-Type", "text/plain")], body)
    headers = [(k, v) for k, v in reply.headers if k.lower() != "content-length"]
    headers += [
        ("Content-Length", str(len(reply.body))),
        ("X-Labkit-Edge", chosen.edge.code),
        ("X-Labkit-Endpoint", chosen.endpoint_id),
        ("X-Labkit-Endpoint-Region", chosen.region),
        ("X-Labkit-Latency-Ms", f"{chosen.latency_ms:.1f}"),
    ]
    return EdgeResponse(
        reply.status,
        headers,
        b"" if request.method == "HEAD" else reply.body,
        chosen.latency_ms,
        f"{chosen.region}:{chosen.endpoint_id}",
    )


def route_for(
    accelerator_arn: str,
    viewer_at: str | Place | None = None,
    *,
    port: int | None = None,
    sandbox: Sandbox | None = None,
) -> Route:
    """Where the accelerator sends a viewer now (for lessons: no HTTP needed).

    Args:
        accelerator_arn: The accelerator's ARN.
        viewer_at: Where the viewer is (default: the lesson's viewer).
        port: The port connected to (default: the first listener's).
    """
    from labkit.services.edge.patch import current_viewer, running
    from labkit.services.edge.sim_locations import place

    sandbox = sandbox or running()
    accelerator = backend().get_accelerator(accelerator_arn)
    where = place(viewer_at) if viewer_at is not None else current_viewer(sandbox)
    return route(accelerator, where, now=sandbox.clock.timestamp, port=port, sandbox=sandbox)


__all__ = [
    "API_REGION",
    "GlobalAcceleratorBackend",
    "GlobalAcceleratorResponse",
    "Route",
    "backend",
    "find_accelerator",
    "globalaccelerator_backends",
    "install",
    "resolve_host",
    "route",
    "route_for",
    "serve_request",
]
