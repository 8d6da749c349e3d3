"""The cluster view as a live widget: a cluster's instances, tasks, targets and scaling over lab
time, refreshed after every cell, with a history to step back through and ``hold()``.

A view, not a model: :class:`ClusterWidget` reads :func:`labkit.services.ecs.state.snapshot` and
renders it with :mod:`labkit.services.ecs.view`. Create it with ``lab.cluster_view(cluster)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import Any as AnyTrait
from traitlets import Unicode

from labkit.services.ecs.view import render_html, render_text, resolve_cluster
from labkit.widgets.base import LiveView

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox


class ClusterWidget(LiveView):
    """An ECS cluster, refreshed after every cell.

    Args:
        sandbox: The sandbox it lives in.
        cluster: The cluster's name.
        **kwargs: Passed to ``LiveView`` (``hold=True`` keeps this moment).
    """

    #: The snapshot (a :class:`~labkit.services.ecs.state.ClusterSnapshot`; kept in Python,
    #: the page gets its rendering).
    snap = AnyTrait(None)
    #: The cluster shown.
    cluster = Unicode("").tag(sync=True)

    def __init__(self, sandbox: Sandbox, cluster: str, **kwargs: Any) -> None:
        self._sandbox = sandbox
        self._cluster = cluster
        super().__init__(**kwargs)
        self.cluster = cluster
        self.add_class("labkit-cluster-view")

    def is_live(self) -> bool:
        """Whether the sandbox still runs."""
        return bool(self._sandbox.running)

    def lab_now(self) -> float:
        """The lab clock now (epoch seconds)."""
        return float(self._sandbox.clock.timestamp)

    def snapshot(self) -> dict[str, Any]:
        """The cluster, read now (the last picture stays when the cluster is gone)."""
        from labkit.services.ecs.state import snapshot

        found = snapshot(self._cluster, self._sandbox.clock.timestamp)
        return {"snap": found if found is not None else self.snap}

    def stopped_notice(self) -> str:
        """What a view of a stopped lab says."""
        return "This lab has stopped: the view shows the cluster as it last saw it."

    def to_html(self) -> str:
        """The view as self-contained HTML."""
        if self.snap is None:
            return ""
        return render_html(self.snap, notice=self.notice, hint=self._hint())

    def to_text(self) -> str:
        """The view as plain text."""
        if self.snap is None:
            return "Cluster view (not read yet)"
        return render_text(self.snap, notice=self.notice, hint=self._hint())


def cluster_view(sandbox: Sandbox, cluster: str | None, *, hold: bool = False) -> ClusterWidget:
    """A live view of ``cluster`` (name or ARN; the only cluster when there is one).

    Raises:
        UnknownClusterError: No such cluster (or several, and none named).
    """
    # Resolved before the widget exists: a widget whose construction fails cannot be closed.
    name = resolve_cluster(cluster, sandbox.clock.timestamp)
    return ClusterWidget(sandbox, name, hold=hold)


__all__ = ["ClusterWidget", "cluster_view"]
