"""The DAX cache view: a live picture of a DAX cluster's item and query caches.

A view, not a model. :class:`DaxView` reads :func:`labkit.services.dax.state.cluster_snapshot`
(entries with the TTL they have left, hits and misses, which entries are stale, recent requests
with their modelled latency), keeps it in a synced traitlet and renders it with
:mod:`labkit.services.dax.view`. Create it with ``lab.dax_view(cluster)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import Dict, TraitError, Unicode, validate

from labkit.services.dax.view import dax_state, render_html, render_text
from labkit.widgets.base import LiveView

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

_STATE_KEYS = frozenset(
    {
        "name",
        "node_type",
        "nodes",
        "parameter_group",
        "item_ttl",
        "query_ttl",
        "memory_bytes",
        "used_bytes",
        "item_hits",
        "item_misses",
        "query_hits",
        "query_misses",
        "evictions",
        "entries",
        "requests",
        "now",
    }
)


class DaxView(LiveView):
    """A DAX cluster's caches, refreshed after every cell.

    Args:
        sandbox: The sandbox the cluster lives in.
        cluster: The cluster's name (:func:`dax_view` finds it from a name, an ARN or nothing).
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``LiveView`` (``hold=True`` keeps this moment).
    """

    #: The snapshot (see :func:`labkit.services.dax.view.dax_state`).
    state = Dict().tag(sync=True)
    #: The cluster shown.
    cluster = Unicode("").tag(sync=True)

    def __init__(
        self,
        sandbox: Sandbox,
        cluster: str,
        *,
        auto_refresh: bool = True,
        **kwargs: Any,
    ) -> None:
        self._sandbox = sandbox
        self._cluster = cluster
        super().__init__(auto_refresh=auto_refresh, **kwargs)
        self.cluster = self._cluster
        self.add_class("labkit-dax-view")

    @validate("state")
    def _validate_state(self, proposal: Any) -> dict[str, Any]:
        value = proposal["value"]
        if not isinstance(value, dict):
            raise TraitError(f"state must be a dict, not {type(value).__name__}.")
        if value and set(value) != _STATE_KEYS:
            raise TraitError(f"state has the wrong keys: {sorted(value)}.")
        return value

    def is_live(self) -> bool:
        """Whether the sandbox still runs."""
        return bool(self._sandbox.running)

    def lab_now(self) -> float:
        """The lab clock now (epoch seconds)."""
        return float(self._sandbox.clock.timestamp)

    def snapshot(self) -> dict[str, Any]:
        """The cluster's caches, read now."""
        from labkit.services.dax.state import cluster_snapshot

        snap = cluster_snapshot(self._cluster, now=self._sandbox.clock.timestamp)
        return {"state": dax_state(snap)}

    def stopped_notice(self) -> str:
        """What a view of a stopped lab says."""
        return "This lab has stopped: the view shows the caches as it last saw them."

    def to_html(self) -> str:
        """The caches as self-contained HTML."""
        if not self.state:
            return ""
        return render_html(self.state, notice=self.notice, hint=self._hint())

    def to_text(self) -> str:
        """The caches as plain text."""
        if not self.state:
            return "DAX cache view (not read yet)"
        return render_text(self.state, notice=self.notice, hint=self._hint())


def dax_view(sandbox: Sandbox, cluster: str | None = None, *, hold: bool = False) -> DaxView:
    """A live view of a DAX cluster's caches (name or ARN; the only one when ``None``); with
    ``hold``, held at the moment of this call.

    Raises:
        DaxClusterNotFoundError: No such cluster, or several and none named.
    """
    from labkit.services.dax.state import find_cluster

    # Found before the widget exists: a widget whose construction fails cannot be closed cleanly.
    return DaxView(sandbox, find_cluster(cluster).name, hold=hold)


__all__ = ["DaxView", "dax_view"]
