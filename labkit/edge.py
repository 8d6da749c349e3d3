"""The edge lab's toolbox: where the viewer is, servers behind origins, outages, traffic, views.

Use it with ``from labkit import edge`` once a lab runs. Nothing here has logic of its own: each
name is the function of the simulator that does the work, loaded the first time you use it (so
``import labkit`` stays light).

Where requests come from
    ``edge.viewer("Tokyo")``: a ``with`` block whose requests come from Tokyo.
    ``edge.set_viewer("FR-Paris")``: from now on (``None``: back to the sandbox's Region).
    A single request can say ``headers={"X-Labkit-Viewer": "Sydney"}`` instead.

Servers and outages
    ``edge.serve(host, handler)``: stand up a server for an HTTP origin (an ALB or EC2 name) or
    an accelerator endpoint (an instance id); ``handler(request)`` returns
    ``(status, headers, body)``.
    ``edge.fail_region("eu-west-1")`` / ``edge.restore_region(...)``: a Region goes down or comes
    back, from now on, on the lab clock.
    ``edge.fail_endpoint(id)`` / ``edge.restore_endpoint(id)``: the same for one endpoint.

Traffic
    ``edge.fetch(url, viewer_at="London")``: one request, without an HTTP library.
    ``edge.replay([(seconds, url, city), ...])``: a traffic trace on the lab clock; its report
    has ``hit_ratio``, ``by("served_by")``, ``latency_percentile(95)``, ``summary()``.

Looking inside
    ``edge.edge_caches(distribution_id)``: each edge location's cache, by POP id.
    ``edge.route_for(accelerator_arn, "Paris")``: where Global Accelerator sends a viewer now.
    ``edge.cache_view(distribution_id, viewers=[...], traces=[...])``: a live view of the caches.
    ``edge.accelerator_view(accelerator_arn, viewers=[...])``: a live view of an accelerator.
    ``edge.set_replication_lag(seconds)``: fix S3 replication's lag (``None``: labkit's model).

S3 Transfer Acceleration
    ``edge.uploads(bucket)``: each upload with its uploader's city (the viewer), the edge
    location, and its modelled time straight to the Region and accelerated.
    ``edge.upload_estimate(size, "Sydney", "us-east-1")``: the same model for any upload.
    ``edge.acceleration_view(bucket, cities=[...])``: a live view of both, by city.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labkit.services.cloudfront.patch import edge_caches as edge_caches
    from labkit.services.cloudfront.widget import cache_view as cache_view
    from labkit.services.edge.patch import (
        current_viewer as current_viewer,
    )
    from labkit.services.edge.patch import (
        fail_endpoint as fail_endpoint,
    )
    from labkit.services.edge.patch import (
        fail_region as fail_region,
    )
    from labkit.services.edge.patch import fetch as fetch
    from labkit.services.edge.patch import replay as replay
    from labkit.services.edge.patch import (
        restore_endpoint as restore_endpoint,
    )
    from labkit.services.edge.patch import (
        restore_region as restore_region,
    )
    from labkit.services.edge.patch import serve as serve
    from labkit.services.edge.patch import set_viewer as set_viewer
    from labkit.services.edge.patch import viewer as viewer
    from labkit.services.globalaccelerator.patch import route_for as route_for
    from labkit.services.globalaccelerator.widget import accelerator_view as accelerator_view
    from labkit.services.s3.patch_accelerate import uploads as uploads
    from labkit.services.s3.patch_replication import (
        set_replication_lag as set_replication_lag,
    )
    from labkit.services.s3.sim_acceleration import upload_estimate as upload_estimate
    from labkit.services.s3.widget import acceleration_view as acceleration_view

#: Each name of this module and the module that defines it.
_SOURCES: dict[str, str] = {
    "viewer": "labkit.services.edge.patch",
    "set_viewer": "labkit.services.edge.patch",
    "current_viewer": "labkit.services.edge.patch",
    "serve": "labkit.services.edge.patch",
    "fail_region": "labkit.services.edge.patch",
    "restore_region": "labkit.services.edge.patch",
    "fail_endpoint": "labkit.services.edge.patch",
    "restore_endpoint": "labkit.services.edge.patch",
    "fetch": "labkit.services.edge.patch",
    "replay": "labkit.services.edge.patch",
    "edge_caches": "labkit.services.cloudfront.patch",
    "route_for": "labkit.services.globalaccelerator.patch",
    "set_replication_lag": "labkit.services.s3.patch_replication",
    "uploads": "labkit.services.s3.patch_accelerate",
    "upload_estimate": "labkit.services.s3.sim_acceleration",
    "acceleration_view": "labkit.services.s3.widget",
    "cache_view": "labkit.services.cloudfront.widget",
    "accelerator_view": "labkit.services.globalaccelerator.widget",
}

__all__ = sorted(_SOURCES)


def __getattr__(name: str) -> Any:
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(
            f"labkit.edge has no {name!r}; it has {', '.join(__all__)} (help(labkit.edge) says "
            "what each does)."
        )
    # Looked up on every use rather than stored in this module: grading checks that labkit's
    # modules do not change while a check runs, and the import is cached by Python anyway.
    return getattr(importlib.import_module(source), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
