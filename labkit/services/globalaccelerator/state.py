"""What Global Accelerator holds: read-only snapshots of accelerators, for views and checks.

:func:`accelerator_snapshot`: an accelerator's static IPs, listeners, endpoint groups with traffic
dial, health-check settings and each endpoint's health now, and where a set of viewers is routed
now. Reading changes nothing and creates no AWS resource (routing a viewer through an accelerator
reads the edge's Region outages, as the router itself does).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from labkit.sandbox.backends import DEFAULT_ACCOUNT_ID, existing
from labkit.services.cloudfront.state import UnknownEdgeResourceError
from labkit.services.edge.sim_locations import place

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox


@dataclass(frozen=True)
class EndpointInfo:
    """One endpoint and its health now."""

    endpoint_id: str
    weight: int
    health: str


@dataclass(frozen=True)
class GroupInfo:
    """One endpoint group (a Region) of a listener."""

    region: str
    traffic_dial: float
    interval: int
    threshold: int
    health_check: str
    endpoints: tuple[EndpointInfo, ...]

    @property
    def detection_s(self) -> int:
        """Worst-case seconds before the checks notice a failure: interval times threshold."""
        return self.interval * self.threshold


@dataclass(frozen=True)
class ListenerInfo:
    """One listener: protocol, ports and endpoint groups."""

    protocol: str
    ports: str
    client_affinity: str
    groups: tuple[GroupInfo, ...]


@dataclass(frozen=True)
class RouteInfo:
    """Where one viewer's connection goes now."""

    viewer: str
    edge: str
    region: str
    endpoint_id: str
    reason: str
    healthy: bool
    latency_ms: float
    direct_ms: float


@dataclass(frozen=True)
class AcceleratorSnapshot:
    """An accelerator as it stands at ``now``."""

    arn: str
    name: str
    dns_name: str
    ip_addresses: tuple[str, ...]
    enabled: bool
    status: str
    listeners: tuple[ListenerInfo, ...]
    routes: tuple[RouteInfo, ...]
    now: float


def accelerator_arns(*, account_id: str = DEFAULT_ACCOUNT_ID) -> list[str]:
    """The ARNs of the accelerators in the sandbox, oldest first."""
    arns: list[str] = []
    for _region, backend in existing("globalaccelerator", account_id):
        arns.extend(backend.accelerators)
    return arns


def accelerator_snapshot(
    accelerator_arn: str,
    *,
    viewers: Iterable[str] = (),
    now: float,
    sandbox: Sandbox | None = None,
    account_id: str = DEFAULT_ACCOUNT_ID,
) -> AcceleratorSnapshot:
    """An accelerator's settings, health and routes at lab time ``now``.

    Args:
        accelerator_arn: The accelerator's ARN (its DNS name works too).
        viewers: Cities to show routes for.
        now: The lab time (``sandbox.clock.timestamp``).
        sandbox: The sandbox (the running one by default).
        account_id: The account.

    Raises:
        UnknownEdgeResourceError: If there is no such accelerator.
    """
    from labkit.services.edge.patch import EdgeUnreachableError, world
    from labkit.services.globalaccelerator.patch import route

    accelerator = None
    for _region, backend in existing("globalaccelerator", account_id):
        for candidate in backend.accelerators.values():
            if accelerator_arn in (candidate.arn, candidate.dns_name):
                accelerator = candidate
    if accelerator is None:
        raise UnknownEdgeResourceError(
            f"There is no accelerator {accelerator_arn!r} in the sandbox (create one with "
            'lab.client("globalaccelerator", region="us-west-2").create_accelerator(...)).'
        )
    state = world(sandbox)
    listeners = []
    for listener in accelerator.listeners.values():
        groups = []
        for group in listener.endpoint_groups.values():
            endpoints = tuple(
                EndpointInfo(e.endpoint_id, int(e.weight), group.health(e, now, state))
                for e in group.endpoints.values()
            )
            check = group.health_check_protocol
            if check in ("HTTP", "HTTPS"):
                check += f" {group.health_check_path}"
            groups.append(
                GroupInfo(
                    region=group.region,
                    traffic_dial=float(group.traffic_dial),
                    interval=int(group.interval),
                    threshold=int(group.threshold),
                    health_check=f"{check} port {group.health_check_port}",
                    endpoints=endpoints,
                )
            )
        ports = ", ".join(
            f"{r['FromPort']}" if r["FromPort"] == r["ToPort"] else f"{r['FromPort']}-{r['ToPort']}"
            for r in listener.port_ranges
        )
        listeners.append(
            ListenerInfo(listener.protocol, ports, listener.client_affinity, tuple(groups))
        )
    routes = []
    for name in dict.fromkeys(viewers):
        where = place(name)
        try:
            chosen = route(accelerator, where, now=now, sandbox=sandbox)
        except EdgeUnreachableError:
            routes.append(RouteInfo(where.name, "", "", "", "refused", False, 0.0, 0.0))
            continue
        routes.append(
            RouteInfo(
                viewer=where.name,
                edge=chosen.edge.code,
                region=chosen.region,
                endpoint_id=chosen.endpoint_id,
                reason=chosen.reason,
                healthy=chosen.healthy,
                latency_ms=round(chosen.latency_ms, 1),
                direct_ms=round(chosen.direct_ms, 1),
            )
        )
    return AcceleratorSnapshot(
        arn=accelerator.arn,
        name=accelerator.name,
        dns_name=accelerator.dns_name,
        ip_addresses=tuple(accelerator.ip_addresses),
        enabled=bool(accelerator.enabled),
        status=accelerator.status(now),
        listeners=tuple(listeners),
        routes=tuple(routes),
        now=now,
    )


__all__ = [
    "AcceleratorSnapshot",
    "EndpointInfo",
    "GroupInfo",
    "ListenerInfo",
    "RouteInfo",
    "accelerator_arns",
    "accelerator_snapshot",
]
