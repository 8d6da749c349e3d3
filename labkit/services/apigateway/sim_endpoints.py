"""A REST API's endpoint type: who can reach it, and the way a request travels (plain Python).

https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-endpoint-types.html

- **EDGE** (the default): the invoke URL is served by CloudFront; a request enters at the edge
  location nearest the viewer and crosses AWS's backbone to the API's Region. The response
  carries CloudFront's ``Via``, ``X-Amz-Cf-Pop``, ``X-Amz-Cf-Id`` and ``X-Cache`` (an
  edge-optimized API is not cached at the edge: always a miss).
- **REGIONAL**: the request goes over the internet straight to the API's Region.
- **PRIVATE**: reachable only through an interface VPC endpoint for ``execute-api``
  (``https://{vpce-id}-{suffix}.execute-api.{region}.vpce.amazonaws.com`` with the API's id in
  ``x-apigw-api-id`` or ``Host``, or the alias ``{api-id}-{vpce-id}.execute-api...``); anything
  else gets ``403 {"message":"Forbidden"}``, as does a VPC endpoint used for a public API
  (https://repost.aws/knowledge-center/api-gateway-vpc-connections). A private API needs a
  resource policy; the VPC endpoint is ``aws:SourceVpce`` in it
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-private-api-test-invoke-url.html).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labkit.services.edge.sim_locations import (
    AWS_REGIONS,
    EDGE_PROCESSING_MS,
    EdgeLocation,
    Place,
    nearest_cloudfront_edge,
    rtt_ms,
)

EDGE, REGIONAL, PRIVATE = "EDGE", "REGIONAL", "PRIVATE"


@dataclass(frozen=True)
class EndpointConfig:
    """A REST API's ``endpointConfiguration``."""

    types: tuple[str, ...] = (EDGE,)
    vpc_endpoint_ids: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any] | None) -> EndpointConfig:
        """From ``{"types": [...], "vpcEndpointIds": [...]}`` (EDGE when absent)."""
        raw = raw or {}
        types = tuple(str(t).upper() for t in raw.get("types") or ()) or (EDGE,)
        return cls(types, tuple(str(v) for v in raw.get("vpcEndpointIds") or ()))

    @property
    def kind(self) -> str:
        """``EDGE``, ``REGIONAL`` or ``PRIVATE``."""
        return self.types[0]


def refusal(config: EndpointConfig, via_vpce: str | None, has_policy: bool) -> str | None:
    """Why the endpoint refuses a request (``None``: it goes on to the API's pipeline)."""
    if config.kind == PRIVATE:
        if via_vpce is None:
            return (
                "a PRIVATE API is reachable only through an interface VPC endpoint for "
                "execute-api, and this request did not come through one"
            )
        if not has_policy:
            return "a PRIVATE API needs a resource policy that allows its VPC endpoints"
        return None
    if via_vpce is not None:
        return (
            f"the request came through VPC endpoint {via_vpce}, which reaches only PRIVATE APIs; "
            f"this API is {config.kind}"
        )
    return None


@dataclass(frozen=True)
class Path:
    """How a request reached the API's Region.

    Attributes:
        kind: The endpoint type.
        edge: The edge location it entered at (EDGE only).
        latency_ms: The modelled network time (viewer to Region and back), milliseconds.
        detail: In words, for the trace.
    """

    kind: str
    edge: EdgeLocation | None
    latency_ms: float
    detail: str


def path(config: EndpointConfig, viewer: Place, region: str, via_vpce: str | None) -> Path:
    """The way a request from ``viewer`` travels to an API in ``region``."""
    home = AWS_REGIONS.get(region, AWS_REGIONS["us-east-1"])
    if config.kind == EDGE:
        pop = nearest_cloudfront_edge(viewer)
        ms = rtt_ms(viewer, pop.place) + EDGE_PROCESSING_MS
        ms += rtt_ms(pop.place, home, path="backbone")
        detail = f"viewer in {viewer.name} → edge {pop.pop} ({pop.place.name}) → {region}"
        return Path(EDGE, pop, ms, detail)
    if config.kind == PRIVATE:
        return Path(PRIVATE, None, 0.0, f"through VPC endpoint {via_vpce} inside {region}")
    ms = rtt_ms(viewer, home)
    return Path(REGIONAL, None, ms, f"viewer in {viewer.name} → {region} over the internet")


__all__ = ["EDGE", "PRIVATE", "REGIONAL", "EndpointConfig", "Path", "path", "refusal"]
