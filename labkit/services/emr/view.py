"""An EMR cluster as HTML and as text: its state, nodes by role, and its steps in order.

Plain functions over the dict of :func:`.state.cluster_snapshot`. Words and symbols carry every
distinction, never colour: ``✓ COMPLETED``, ``✗ FAILED`` (with the script's error), ``▶ RUNNING``,
``… PENDING``, ``⊘ CANCELLED``; a cluster ``■ TERMINATED`` or ``✗ TERMINATED_WITH_ERRORS``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labkit.services.emr.state import cluster_snapshot
from labkit.views.base import (
    Column,
    Group,
    Panel,
    lines_html,
    panel_html,
    panel_text,
    table_html,
    text_table,
)

Row = Mapping[str, Any]
SYMBOLS = {
    "COMPLETED": "✓",
    "FAILED": "✗",
    "RUNNING": "▶",
    "PENDING": "…",
    "CANCELLED": "⊘",
    "STARTING": "⏳",
    "WAITING": "⏸",
    "TERMINATED": "■",
    "TERMINATED_WITH_ERRORS": "✗",
}
_STEP_COLUMNS = (
    Column("#"),
    Column("step"),
    Column("state"),
    Column("on failure", mono=True),
    Column("lab time"),
    Column("engine / why it failed"),
)


def _state(state: str) -> str:
    return f"{SYMBOLS.get(state, '•')} {state}"


def _summary(snap: Row) -> list[str]:
    ended = str(snap["state"]).startswith("TERMINATED")
    reason = f" ({snap['reason']})" if snap["reason"] and ended else ""
    nodes = ", ".join(f"{role} {count} × {kind}" for role, count, kind in snap["nodes"])
    after = (
        "stays up when its steps are done (KeepJobFlowAliveWhenNoSteps)"
        if snap["keep_alive"]
        else "shuts down when its steps are done"
    )
    return [
        f"Cluster: {_state(snap['state'])}{reason} · {after}",
        f"Nodes: {nodes or 'none listed'}" + (f" · {snap['release']}" if snap["release"] else ""),
        f"Step logs: {snap['log_uri'] or 'no LogUri: not archived'}",
    ]


def _steps(snap: Row) -> list[Group]:
    rows = []
    for n, step in enumerate(snap["steps"], start=1):
        when = f"{step['started']}–{step['ended']}" if step["started"] else ""
        detail = step["reason"] or step["engine"]
        rows.append(
            (
                str(n),
                step["name"],
                _state(step["state"]),
                step["action_on_failure"],
                when,
                detail,
            )
        )
    return [Group("steps", f"{len(rows)} in order", tuple(rows))]


def cluster_html(snap: Row) -> str:
    """The cluster as HTML."""
    return panel_html(
        kind="emr-cluster",
        heading=f"EMR cluster {snap['name']}",
        subheading=f"{snap['id']} · {snap['region']}",
        body=lines_html(_summary(snap)) + table_html(_STEP_COLUMNS, _steps(snap)),
    )


def cluster_text(snap: Row) -> str:
    """The text twin of :func:`cluster_html`."""
    return panel_text(
        f"EMR cluster {snap['name']}",
        [*_summary(snap), *text_table(_STEP_COLUMNS, _steps(snap))],
        subheading=f"{snap['id']} · {snap['region']}",
    )


class ClusterView(Panel):
    """A cluster at one moment, shown as HTML in Jupyter and as text elsewhere."""

    def __init__(self, snap: Row) -> None:
        super().__init__(snap, cluster_html, cluster_text)


def emr_view(cluster: str | None = None) -> ClusterView:
    """The view of a cluster (id, ARN or name; the newest when ``None``)."""
    return ClusterView(cluster_snapshot(cluster))


__all__ = ["ClusterView", "cluster_html", "cluster_text", "emr_view"]
