"""The DAX cache view: a live picture of a DAX cluster's item and query caches.

A view, not a model. :class:`DaxView` reads :func:`labkit.services.dax.state.cluster_snapshot`
(entries with the TTL they have left, hits and misses, which entries are stale, recent requests
with their modelled latency), keeps it in a synced traitlet and renders it with
:mod:`labkit.services.dax.view`. Create it with ``lab.dax_view(cluster)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import Unicode

from labkit.services.dax.view import dax_state, render_html, render_text
from labkit.widgets.state_view import StateView

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


class DaxView(StateView):
    """A DAX cluster's caches, refreshed after every cell.

    Args:
        sandbox: The sandbox the cluster lives in.
        cluster: The cluster's name (:func:`dax_view` finds it from a name, an ARN or nothing).
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``LiveView`` (``hold=True`` keeps this moment).
    """

    shows = "the caches as it last saw them"
    title = "DAX cache view"
    css_class = "labkit-dax-view"
    state_keys = _STATE_KEYS

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
        self._cluster = cluster
        super().__init__(sandbox, auto_refresh=auto_refresh, **kwargs)
        self.cluster = self._cluster

    def read(self) -> dict[str, Any]:
        """The cluster's caches, read now."""
        from labkit.services.dax.state import cluster_snapshot

        snap = cluster_snapshot(self._cluster, now=self._sandbox.clock.timestamp)
        return dax_state(snap)

    def html_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        """The caches as self-contained HTML."""
        return render_html(state, notice=notice, hint=hint)

    def text_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        """The caches as plain text."""
        return render_text(state, notice=notice, hint=hint)


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
