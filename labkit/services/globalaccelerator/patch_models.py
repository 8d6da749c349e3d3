"""Global Accelerator's resources and API, moto style (a backend per account, JSON in and out).

The shapes follow the API reference
(https://docs.aws.amazon.com/global-accelerator/latest/api/API_Operations.html). Numbers (default
health-check interval and threshold, traffic dial and weight bounds, static IP count) come from
:mod:`labkit.facts`. Time is the process clock, which the sandbox keeps equal to the lab clock.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from moto.core.base_backend import BaseBackend
from moto.core.exceptions import JsonRESTError
from moto.moto_api._internal import mock_random

from labkit import facts
from labkit.services.edge.sim_locations import AWS_REGIONS

if TYPE_CHECKING:
    from labkit.services.edge.patch import EdgeWorld

#: Seconds an accelerator stays ``IN_PROGRESS`` after a change (labkit's approximation; AWS
#: documents no figure, and deployments take a few minutes at most).
DEPLOY_SECONDS = 60.0

INITIAL, HEALTHY, UNHEALTHY = "INITIAL", "HEALTHY", "UNHEALTHY"
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,62}[A-Za-z0-9])?$")
_ARN_REGION = re.compile(r"^arn:aws[a-z-]*:elasticloadbalancing:([a-z0-9-]+):")


# -- errors (the API's exception shapes) ---------------------------------------------------------
class GlobalAcceleratorError(JsonRESTError):
    """Base of the API's errors (HTTP 400, JSON ``__type`` as botocore expects)."""

    def __init__(self, message: str) -> None:
        super().__init__(type(self).__name__, message)


class AcceleratorNotFoundException(GlobalAcceleratorError):
    """No accelerator with that ARN."""


class AcceleratorNotDisabledException(GlobalAcceleratorError):
    """Deleting an enabled accelerator."""


class AssociatedListenerFoundException(GlobalAcceleratorError):
    """Deleting an accelerator that still has listeners."""


class ListenerNotFoundException(GlobalAcceleratorError):
    """No listener with that ARN."""


class AssociatedEndpointGroupFoundException(GlobalAcceleratorError):
    """Deleting a listener that still has endpoint groups."""


class EndpointGroupNotFoundException(GlobalAcceleratorError):
    """No endpoint group with that ARN."""


class EndpointGroupAlreadyExistsException(GlobalAcceleratorError):
    """A second endpoint group for the same Region on one listener."""


class EndpointNotFoundException(GlobalAcceleratorError):
    """Removing an endpoint that is not in the group."""


class InvalidArgumentException(GlobalAcceleratorError):
    """A parameter AWS would refuse."""


class InvalidPortRangeException(GlobalAcceleratorError):
    """A port range outside 1-65535 or reversed."""


class InvalidNextTokenException(GlobalAcceleratorError):
    """A pagination token this API did not hand out."""


# -- health --------------------------------------------------------------------------------------
def _actual_changes(
    starts_up: bool, timelines: list[list[tuple[float, bool]]], since: float
) -> list[tuple[float, bool]]:
    """Merge outage timelines into ``(time, up)`` changes after ``since`` (down if any is)."""
    times = sorted({t for tl in timelines for t, _ in tl if t > since})
    changes: list[tuple[float, bool]] = []
    current = starts_up
    for t in times:
        down = any(_down_at(tl, t) for tl in timelines)
        if (not down) != current:
            current = not down
            changes.append((t, current))
    return changes


def _down_at(timeline: list[tuple[float, bool]], at: float) -> bool:
    state = False
    for t, is_down in timeline:
        if t > at:
            break
        state = is_down
    return state


def observed_health(
    added_at: float,
    interval: float,
    threshold: int,
    timelines: list[list[tuple[float, bool]]],
    now: float,
) -> str:
    """An endpoint's health state at ``now`` as Global Accelerator's checks see it.

    Probes run every ``interval`` seconds after the endpoint is added; ``threshold``
    consecutive probes with the same result set the state (``INITIAL`` until then).
    """
    eps = 1e-9
    if now < added_at + interval - eps:
        return INITIAL
    starts_up = not any(_down_at(tl, added_at) for tl in timelines)
    changes = _actual_changes(starts_up, timelines, added_at)
    bounds = [added_at] + [t for t, _ in changes] + [math.inf]
    values = [starts_up] + [up for _, up in changes]
    state, streak_value, streak = INITIAL, None, 0
    for start, end, up in zip(bounds, bounds[1:], values, strict=False):
        if start > now:
            break
        first = max(1, math.ceil((start - added_at) / interval - eps))
        last = (
            math.floor((now - added_at) / interval + eps)
            if end > now
            else math.ceil((end - added_at) / interval - eps) - 1
        )
        count = last - first + 1
        if count <= 0:
            continue
        if up == streak_value:
            streak += count
        else:
            streak_value, streak = up, count
        if streak >= threshold:
            state = HEALTHY if up else UNHEALTHY
    return state


# -- resources ----------------------------------------------------------------------------------
@dataclass
class Endpoint:
    """One endpoint of an endpoint group."""

    endpoint_id: str
    weight: int
    client_ip_preservation: bool
    added_at: float


@dataclass
class EndpointGroup:
    """An endpoint group: one Region's endpoints for one listener."""

    arn: str
    listener_arn: str
    region: str
    traffic_dial: float
    health_check_port: int
    health_check_protocol: str
    health_check_path: str
    interval: int
    threshold: int
    port_overrides: list[dict[str, int]]
    created_at: float
    endpoints: dict[str, Endpoint] = field(default_factory=dict)

    def timelines(self, endpoint_id: str, world: EdgeWorld) -> list[list[tuple[float, bool]]]:
        return [
            world.outages.get(self.region, []),
            world.endpoint_outages.get(endpoint_id, []),
        ]

    def health(self, endpoint: Endpoint, now: float, world: EdgeWorld) -> str:
        """The endpoint's health state at ``now``."""
        return observed_health(
            endpoint.added_at,
            float(self.interval),
            self.threshold,
            self.timelines(endpoint.endpoint_id, world),
            now,
        )

    def actually_down(self, endpoint_id: str, now: float, world: EdgeWorld) -> bool:
        """Whether the endpoint really fails to answer at ``now`` (whatever checks think)."""
        return any(_down_at(tl, now) for tl in self.timelines(endpoint_id, world))

    def healthy_endpoints(self, now: float, world: EdgeWorld) -> list[Endpoint]:
        """Endpoints that may take traffic: healthy and of weight above zero."""
        return [
            e
            for e in self.endpoints.values()
            if e.weight > 0 and self.health(e, now, world) == HEALTHY
        ]

    def routable(self, now: float, world: EdgeWorld) -> bool:
        """Whether the group has an endpoint that may take traffic."""
        return bool(self.healthy_endpoints(now, world))

    def pick(self, now: float, world: EdgeWorld, u: float) -> Endpoint | None:
        """The endpoint a flow with hash ``u`` in [0, 1) goes to, by weight."""
        candidates = self.healthy_endpoints(now, world)
        total = sum(e.weight for e in candidates)
        point = u * total
        for e in candidates:
            if point < e.weight:
                return e
            point -= e.weight
        return candidates[-1] if candidates else None

    def describe(self, now: float, world: EdgeWorld) -> dict[str, Any]:
        descriptions = []
        for e in self.endpoints.values():
            state = self.health(e, now, world)
            item: dict[str, Any] = {
                "EndpointId": e.endpoint_id,
                "Weight": e.weight,
                "HealthState": state,
                "ClientIPPreservationEnabled": e.client_ip_preservation,
            }
            if state == INITIAL:
                item["HealthReason"] = "InitialHealthChecking"
            elif state == UNHEALTHY:
                item["HealthReason"] = "Timeout"
            descriptions.append(item)
        out: dict[str, Any] = {
            "EndpointGroupArn": self.arn,
            "EndpointGroupRegion": self.region,
            "EndpointDescriptions": descriptions,
            "TrafficDialPercentage": self.traffic_dial,
            "HealthCheckPort": self.health_check_port,
            "HealthCheckProtocol": self.health_check_protocol,
            "HealthCheckIntervalSeconds": self.interval,
            "ThresholdCount": self.threshold,
            "PortOverrides": [
                {"ListenerPort": p["ListenerPort"], "EndpointPort": p["EndpointPort"]}
                for p in self.port_overrides
            ],
        }
        if self.health_check_protocol in ("HTTP", "HTTPS"):
            out["HealthCheckPath"] = self.health_check_path
        return out


@dataclass
class Listener:
    """A listener: port ranges and a protocol on an accelerator."""

    arn: str
    accelerator_arn: str
    port_ranges: list[dict[str, int]]
    protocol: str
    client_affinity: str
    endpoint_groups: dict[str, EndpointGroup] = field(default_factory=dict)

    def accepts(self, port: int) -> bool:
        return any(r["FromPort"] <= port <= r["ToPort"] for r in self.port_ranges)

    def describe(self) -> dict[str, Any]:
        return {
            "ListenerArn": self.arn,
            "PortRanges": [dict(r) for r in self.port_ranges],
            "Protocol": self.protocol,
            "ClientAffinity": self.client_affinity,
        }


@dataclass
class Accelerator:
    """A standard accelerator."""

    arn: str
    name: str
    ip_address_type: str
    enabled: bool
    ip_addresses: list[str]
    ipv6_addresses: list[str]
    dns_name: str
    created_at: float
    modified_at: float
    token: str
    listeners: dict[str, Listener] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=lambda: {"FlowLogsEnabled": False})

    def status(self, now: float) -> str:
        return "IN_PROGRESS" if now < self.modified_at + DEPLOY_SECONDS else "DEPLOYED"

    def describe(self, now: float) -> dict[str, Any]:
        ip_sets = [
            {"IpFamily": "IPv4", "IpAddresses": list(self.ip_addresses), "IpAddressFamily": "IPv4"}
        ]
        out: dict[str, Any] = {
            "AcceleratorArn": self.arn,
            "Name": self.name,
            "IpAddressType": self.ip_address_type,
            "Enabled": self.enabled,
            "IpSets": ip_sets,
            "DnsName": self.dns_name,
            "Status": self.status(now),
            "CreatedTime": self.created_at,
            "LastModifiedTime": self.modified_at,
            "Events": [],
        }
        if self.ip_address_type == "DUAL_STACK":
            ip_sets.append(
                {
                    "IpFamily": "IPv6",
                    "IpAddresses": list(self.ipv6_addresses),
                    "IpAddressFamily": "IPv6",
                }
            )
            out["DualStackDnsName"] = self.dns_name.replace(
                ".awsglobalaccelerator.com", ".dualstack.awsglobalaccelerator.com"
            )
        return out


def _hex(n: int) -> str:
    return "".join(mock_random.choice("0123456789abcdef") for _ in range(n))


def _page(items: list[Any], params: Mapping[str, Any]) -> tuple[list[Any], str | None]:
    token = params.get("NextToken")
    try:
        start = int(token) if token else 0
    except ValueError:
        raise InvalidNextTokenException("The next token is invalid.") from None
    size = int(params.get("MaxResults") or 100)
    if not 1 <= size <= 100:
        raise InvalidArgumentException("MaxResults must be between 1 and 100.")
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


def _world() -> EdgeWorld:
    from labkit.services.edge.patch import world

    return world()


class GlobalAcceleratorBackend(BaseBackend):
    """Accelerators, listeners and endpoint groups of one account."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.accelerators: dict[str, Accelerator] = {}
        self.listeners: dict[str, Listener] = {}
        self.endpoint_groups: dict[str, EndpointGroup] = {}
        self.tags: dict[str, list[dict[str, str]]] = {}

    # -- lookups -------------------------------------------------------------------------------
    def get_accelerator(self, arn: str) -> Accelerator:
        if arn not in self.accelerators:
            raise AcceleratorNotFoundException(f"Accelerator {arn} not found.")
        return self.accelerators[arn]

    def get_listener(self, arn: str) -> Listener:
        if arn not in self.listeners:
            raise ListenerNotFoundException(f"Listener {arn} not found.")
        return self.listeners[arn]

    def get_endpoint_group(self, arn: str) -> EndpointGroup:
        if arn not in self.endpoint_groups:
            raise EndpointGroupNotFoundException(f"Endpoint group {arn} not found.")
        return self.endpoint_groups[arn]

    # -- accelerators --------------------------------------------------------------------------
    def create_accelerator(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``CreateAccelerator``: see the API reference of the same name."""
        now = time.time()
        name = str(params.get("Name", ""))
        if not _NAME.match(name):
            raise InvalidArgumentException(
                "The name can have a maximum of 64 characters, must contain only alphanumeric "
                "characters, periods (.), or hyphens (-), and must not begin or end with a "
                "hyphen or period."
            )
        token = str(params.get("IdempotencyToken", ""))
        for existing in self.accelerators.values():
            if token and existing.token == token:
                return {"Accelerator": existing.describe(now)}
        ip_type = str(params.get("IpAddressType") or "IPV4")
        if ip_type not in ("IPV4", "DUAL_STACK"):
            raise InvalidArgumentException(f"IpAddressType {ip_type} is not supported.")
        count = int(facts.value("global_accelerator.static_ipv4_addresses"))
        given = [str(ip) for ip in params.get("IpAddresses") or []]
        if len(given) > count:
            raise InvalidArgumentException(f"You can specify at most {count} IP addresses.")
        pools = ("75.2", "99.83", "13.248", "15.197")
        addresses = given + [
            f"{pools[i % len(pools)]}.{mock_random.randint(0, 255)}.{mock_random.randint(1, 254)}"
            for i in range(len(given), count)
        ]
        ipv6 = [f"2600:9000:{_hex(4)}::{_hex(4)}" for _ in range(count)]
        accelerator_id = str(mock_random.uuid4())
        arn = f"arn:aws:globalaccelerator::{self.account_id}:accelerator/{accelerator_id}"
        accelerator = Accelerator(
            arn=arn,
            name=name,
            ip_address_type=ip_type,
            enabled=bool(params.get("Enabled", True)),
            ip_addresses=addresses,
            ipv6_addresses=ipv6,
            dns_name=f"a{_hex(16)}.awsglobalaccelerator.com",
            created_at=now,
            modified_at=now,
            token=token,
        )
        self.accelerators[arn] = accelerator
        self.tags[arn] = list(params.get("Tags") or [])
        return {"Accelerator": accelerator.describe(now)}

    def describe_accelerator(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``DescribeAccelerator``: see the API reference of the same name."""
        accelerator = self.get_accelerator(str(params.get("AcceleratorArn")))
        return {"Accelerator": accelerator.describe(time.time())}

    def list_accelerators(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``ListAccelerators``: see the API reference of the same name."""
        now = time.time()
        page, token = _page(list(self.accelerators.values()), params)
        out: dict[str, Any] = {"Accelerators": [a.describe(now) for a in page]}
        if token:
            out["NextToken"] = token
        return out

    def update_accelerator(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``UpdateAccelerator``: see the API reference of the same name."""
        accelerator = self.get_accelerator(str(params.get("AcceleratorArn")))
        now = time.time()
        if "Name" in params:
            if not _NAME.match(str(params["Name"])):
                raise InvalidArgumentException("The accelerator name is not valid.")
            accelerator.name = str(params["Name"])
        if "Enabled" in params:
            accelerator.enabled = bool(params["Enabled"])
        if "IpAddressType" in params:
            accelerator.ip_address_type = str(params["IpAddressType"])
        accelerator.modified_at = now
        return {"Accelerator": accelerator.describe(now)}

    def delete_accelerator(self, params: Mapping[str, Any]) -> None:
        """``DeleteAccelerator``: see the API reference of the same name."""
        accelerator = self.get_accelerator(str(params.get("AcceleratorArn")))
        if accelerator.enabled:
            raise AcceleratorNotDisabledException(
                "The accelerator must be disabled before you can delete it."
            )
        if accelerator.listeners:
            raise AssociatedListenerFoundException(
                "The accelerator still has listeners: delete them first."
            )
        del self.accelerators[accelerator.arn]
        self.tags.pop(accelerator.arn, None)

    def describe_accelerator_attributes(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``DescribeAcceleratorAttributes``: see the API reference of the same name."""
        accelerator = self.get_accelerator(str(params.get("AcceleratorArn")))
        return {"AcceleratorAttributes": dict(accelerator.attributes)}

    def update_accelerator_attributes(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``UpdateAcceleratorAttributes``: see the API reference of the same name."""
        accelerator = self.get_accelerator(str(params.get("AcceleratorArn")))
        for name in ("FlowLogsEnabled", "FlowLogsS3Bucket", "FlowLogsS3Prefix"):
            if name in params:
                accelerator.attributes[name] = params[name]
        if accelerator.attributes.get("FlowLogsEnabled") and not accelerator.attributes.get(
            "FlowLogsS3Bucket"
        ):
            raise InvalidArgumentException("FlowLogsS3Bucket is required to enable flow logs.")
        return {"AcceleratorAttributes": dict(accelerator.attributes)}

    # -- listeners -------------------------------------------------------------------------------
    def _port_ranges(self, ranges: Any) -> list[dict[str, int]]:
        parsed = []
        for r in ranges or []:
            low, high = int(r.get("FromPort", 0)), int(r.get("ToPort", 0))
            if not (1 <= low <= high <= 65535):
                raise InvalidPortRangeException(
                    "The port numbers are outside the range of valid port numbers (1-65535), "
                    "or FromPort is greater than ToPort."
                )
            parsed.append({"FromPort": low, "ToPort": high})
        if not parsed:
            raise InvalidPortRangeException("A listener needs at least one port range.")
        return parsed

    def _protocol(self, value: Any) -> str:
        protocol = str(value or "TCP")
        if protocol not in ("TCP", "UDP"):
            raise InvalidArgumentException(f"Protocol {protocol} is not supported (TCP or UDP).")
        return protocol

    def _affinity(self, value: Any) -> str:
        affinity = str(value or "NONE")
        if affinity not in ("NONE", "SOURCE_IP"):
            raise InvalidArgumentException("ClientAffinity must be NONE or SOURCE_IP.")
        return affinity

    def create_listener(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``CreateListener``: see the API reference of the same name."""
        accelerator = self.get_accelerator(str(params.get("AcceleratorArn")))
        listener = Listener(
            arn=f"{accelerator.arn}/listener/{_hex(8)}",
            accelerator_arn=accelerator.arn,
            port_ranges=self._port_ranges(params.get("PortRanges")),
            protocol=self._protocol(params.get("Protocol")),
            client_affinity=self._affinity(params.get("ClientAffinity")),
        )
        for other in accelerator.listeners.values():
            if other.protocol == listener.protocol and any(
                a["FromPort"] <= b["ToPort"] and b["FromPort"] <= a["ToPort"]
                for a in other.port_ranges
                for b in listener.port_ranges
            ):
                raise InvalidPortRangeException(
                    "The port range overlaps a port range of another listener."
                )
        accelerator.listeners[listener.arn] = listener
        self.listeners[listener.arn] = listener
        return {"Listener": listener.describe()}

    def describe_listener(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``DescribeListener``: see the API reference of the same name."""
        return {"Listener": self.get_listener(str(params.get("ListenerArn"))).describe()}

    def list_listeners(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``ListListeners``: see the API reference of the same name."""
        accelerator = self.get_accelerator(str(params.get("AcceleratorArn")))
        page, token = _page(list(accelerator.listeners.values()), params)
        out: dict[str, Any] = {"Listeners": [listener.describe() for listener in page]}
        if token:
            out["NextToken"] = token
        return out

    def update_listener(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``UpdateListener``: see the API reference of the same name."""
        listener = self.get_listener(str(params.get("ListenerArn")))
        if "PortRanges" in params:
            listener.port_ranges = self._port_ranges(params["PortRanges"])
        if "Protocol" in params:
            listener.protocol = self._protocol(params["Protocol"])
        if "ClientAffinity" in params:
            listener.client_affinity = self._affinity(params["ClientAffinity"])
        return {"Listener": listener.describe()}

    def delete_listener(self, params: Mapping[str, Any]) -> None:
        """``DeleteListener``: see the API reference of the same name."""
        listener = self.get_listener(str(params.get("ListenerArn")))
        if listener.endpoint_groups:
            raise AssociatedEndpointGroupFoundException(
                "The listener still has endpoint groups: delete them first."
            )
        del self.listeners[listener.arn]
        self.accelerators[listener.accelerator_arn].listeners.pop(listener.arn, None)

    # -- endpoint groups -------------------------------------------------------------------------
    def _endpoints(
        self, configs: Any, region: str, now: float, existing: Mapping[str, Endpoint]
    ) -> dict[str, Endpoint]:
        low = int(facts.value("global_accelerator.endpoint_weight_min"))
        high = int(facts.value("global_accelerator.endpoint_weight_max"))
        default = int(facts.value("global_accelerator.endpoint_weight_default"))
        endpoints: dict[str, Endpoint] = {}
        for config in configs or []:
            endpoint_id = str(config.get("EndpointId", ""))
            if not endpoint_id:
                raise InvalidArgumentException("EndpointId is required.")
            arn_region = _ARN_REGION.match(endpoint_id)
            if arn_region and arn_region.group(1) != region:
                raise InvalidArgumentException(
                    f"The endpoint {endpoint_id} is not in the endpoint group's Region {region}."
                )
            weight = int(config.get("Weight", default))
            if not low <= weight <= high:
                raise InvalidArgumentException(f"Weight must be between {low} and {high}.")
            preserve = config.get("ClientIPPreservationEnabled")
            if preserve is None:
                preserve = bool(arn_region) or endpoint_id.startswith("i-")
            previous = existing.get(endpoint_id)
            endpoints[endpoint_id] = Endpoint(
                endpoint_id, weight, bool(preserve), previous.added_at if previous else now
            )
        return endpoints

    def _health_settings(self, group: EndpointGroup, params: Mapping[str, Any]) -> None:
        if "TrafficDialPercentage" in params:
            dial = float(params["TrafficDialPercentage"])
            low = float(facts.value("global_accelerator.traffic_dial_min"))
            high = float(facts.value("global_accelerator.traffic_dial_max"))
            if not low <= dial <= high:
                raise InvalidArgumentException(
                    f"TrafficDialPercentage must be between {low:g} and {high:g}."
                )
            group.traffic_dial = dial
        if "HealthCheckIntervalSeconds" in params:
            allowed = [
                int(n)
                for n in re.findall(
                    r"\d+", str(facts.value("global_accelerator.health_check_interval_options"))
                )
            ]
            interval = int(params["HealthCheckIntervalSeconds"])
            if interval not in allowed:
                raise InvalidArgumentException(
                    f"HealthCheckIntervalSeconds must be one of {', '.join(map(str, allowed))}."
                )
            group.interval = interval
        if "ThresholdCount" in params:
            threshold = int(params["ThresholdCount"])
            low_t = int(facts.value("global_accelerator.threshold_count_min"))
            high_t = int(facts.value("global_accelerator.threshold_count_max"))
            if not low_t <= threshold <= high_t:
                raise InvalidArgumentException(
                    f"ThresholdCount must be between {low_t} and {high_t}."
                )
            group.threshold = threshold
        if "HealthCheckProtocol" in params:
            protocol = str(params["HealthCheckProtocol"])
            if protocol not in ("TCP", "HTTP", "HTTPS"):
                raise InvalidArgumentException("HealthCheckProtocol must be TCP, HTTP or HTTPS.")
            group.health_check_protocol = protocol
        if "HealthCheckPort" in params:
            port = int(params["HealthCheckPort"])
            if not 1 <= port <= 65535:
                raise InvalidArgumentException("HealthCheckPort must be between 1 and 65535.")
            group.health_check_port = port
        if "HealthCheckPath" in params:
            group.health_check_path = str(params["HealthCheckPath"])
        if "PortOverrides" in params:
            group.port_overrides = [
                {"ListenerPort": int(p["ListenerPort"]), "EndpointPort": int(p["EndpointPort"])}
                for p in params["PortOverrides"] or []
            ]

    def create_endpoint_group(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``CreateEndpointGroup``: see the API reference of the same name."""
        listener = self.get_listener(str(params.get("ListenerArn")))
        region = str(params.get("EndpointGroupRegion", ""))
        if region not in AWS_REGIONS:
            raise InvalidArgumentException(f"{region!r} is not a valid AWS Region.")
        if any(g.region == region for g in listener.endpoint_groups.values()):
            raise EndpointGroupAlreadyExistsException(
                f"An endpoint group for {region} already exists for this listener."
            )
        now = time.time()
        group = EndpointGroup(
            arn=f"{listener.arn}/endpoint-group/{_hex(12)}",
            listener_arn=listener.arn,
            region=region,
            traffic_dial=float(facts.value("global_accelerator.traffic_dial_max")),
            health_check_port=listener.port_ranges[0]["FromPort"],
            health_check_protocol="TCP",
            health_check_path="/",
            interval=int(facts.value("global_accelerator.health_check_interval_default")),
            threshold=int(facts.value("global_accelerator.threshold_count_default")),
            port_overrides=[],
            created_at=now,
        )
        self._health_settings(group, params)
        group.endpoints = self._endpoints(params.get("EndpointConfigurations"), region, now, {})
        listener.endpoint_groups[group.arn] = group
        self.endpoint_groups[group.arn] = group
        return {"EndpointGroup": group.describe(now, _world())}

    def describe_endpoint_group(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``DescribeEndpointGroup``: see the API reference of the same name."""
        group = self.get_endpoint_group(str(params.get("EndpointGroupArn")))
        return {"EndpointGroup": group.describe(time.time(), _world())}

    def list_endpoint_groups(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``ListEndpointGroups``: see the API reference of the same name."""
        listener = self.get_listener(str(params.get("ListenerArn")))
        now, state = time.time(), _world()
        page, token = _page(list(listener.endpoint_groups.values()), params)
        out: dict[str, Any] = {"EndpointGroups": [g.describe(now, state) for g in page]}
        if token:
            out["NextToken"] = token
        return out

    def update_endpoint_group(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``UpdateEndpointGroup``: see the API reference of the same name."""
        group = self.get_endpoint_group(str(params.get("EndpointGroupArn")))
        now = time.time()
        self._health_settings(group, params)
        if "EndpointConfigurations" in params:
            group.endpoints = self._endpoints(
                params["EndpointConfigurations"], group.region, now, group.endpoints
            )
        return {"EndpointGroup": group.describe(now, _world())}

    def delete_endpoint_group(self, params: Mapping[str, Any]) -> None:
        """``DeleteEndpointGroup``: see the API reference of the same name."""
        group = self.get_endpoint_group(str(params.get("EndpointGroupArn")))
        del self.endpoint_groups[group.arn]
        self.listeners[group.listener_arn].endpoint_groups.pop(group.arn, None)

    def add_endpoints(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``AddEndpoints``: see the API reference of the same name."""
        group = self.get_endpoint_group(str(params.get("EndpointGroupArn")))
        now = time.time()
        added = self._endpoints(
            params.get("EndpointConfigurations"), group.region, now, group.endpoints
        )
        group.endpoints.update(added)
        state = _world()
        described = group.describe(now, state)["EndpointDescriptions"]
        return {
            "EndpointDescriptions": [d for d in described if d["EndpointId"] in added],
            "EndpointGroupArn": group.arn,
        }

    def remove_endpoints(self, params: Mapping[str, Any]) -> None:
        """``RemoveEndpoints``: see the API reference of the same name."""
        group = self.get_endpoint_group(str(params.get("EndpointGroupArn")))
        for identifier in params.get("EndpointIdentifiers") or []:
            endpoint_id = str(identifier.get("EndpointId", ""))
            if endpoint_id not in group.endpoints:
                raise EndpointNotFoundException(f"Endpoint {endpoint_id} not found.")
            del group.endpoints[endpoint_id]

    # -- tags ------------------------------------------------------------------------------------
    def _tagged(self, arn: str) -> list[dict[str, str]]:
        base = arn.split("/listener/")[0]
        if base not in self.accelerators:
            raise AcceleratorNotFoundException(f"Accelerator {base} not found.")
        return self.tags.setdefault(arn, [])

    def tag_resource(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``TagResource``: see the API reference of the same name."""
        tags = self._tagged(str(params.get("ResourceArn")))
        for tag in params.get("Tags") or []:
            tags[:] = [t for t in tags if t["Key"] != tag["Key"]] + [
                {"Key": str(tag["Key"]), "Value": str(tag["Value"])}
            ]
        return {}

    def untag_resource(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``UntagResource``: see the API reference of the same name."""
        tags = self._tagged(str(params.get("ResourceArn")))
        keys = set(params.get("TagKeys") or [])
        tags[:] = [t for t in tags if t["Key"] not in keys]
        return {}

    def list_tags_for_resource(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """``ListTagsForResource``: see the API reference of the same name."""
        return {"Tags": list(self._tagged(str(params.get("ResourceArn"))))}


__all__ = [
    "DEPLOY_SECONDS",
    "Accelerator",
    "Endpoint",
    "EndpointGroup",
    "GlobalAcceleratorBackend",
    "Listener",
    "observed_health",
]
