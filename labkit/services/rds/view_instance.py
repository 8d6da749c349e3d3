"""An RDS DB instance as HTML and as text: endpoint and status, Multi-AZ standby, failovers,
replicas and their lag, backups, and connections against ``max_connections``.

Plain functions over the dict :func:`labkit.services.rds.state.instance_snapshot` makes. Words
and symbols carry every distinction, never colour: ``● available`` / ``◌ rebooting``, a standby
``⇄ standby in us-east-1b`` / ``no standby (Single-AZ)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from labkit.views.base import lines_html, panel_html, panel_text

Row = Mapping[str, Any]


def _time(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%H:%M:%S")


def heading(state: Row) -> str:
    """The view's heading."""
    if state["source"]:
        return f"RDS read replica {state['identifier']} (of {state['source']})"
    return f"RDS DB instance {state['identifier']}"


def subheading(state: Row) -> str:
    """Engine, class, status and lab time."""
    mark = "●" if state["status"] == "available" else "◌"
    return (
        f"{state['engine']} · {state['instance_class']} · {mark} {state['status']} · "
        f"lab time {_time(state['now'])}"
    )


def lines(state: Row) -> list[str]:
    """Everything below the heading, one fact a line."""
    out = [f"endpoint {state['endpoint']}"]
    if state["standby_zone"]:
        out.append(f"primary in {state['zone']} ⇄ synchronous standby in {state['standby_zone']}")
    else:
        out.append(f"in {state['zone']}, no standby (Single-AZ)")
    out.append(f"connections {state['sessions']} of max_connections {state['max_connections']}")
    for name, count in sorted(state["lambda_connections"].items()):
        out.append(f"Lambda function {name} opened {count} connection(s) here directly")
    for t, old, new in state["failovers"]:
        out.append(f"failover @{_time(t)}: {old} → {new}")
    if state["replica_lag"] is not None:
        out.append(
            f"replays {state['source']}'s log {state['replica_lag']:g} s of lab time late "
            "(asynchronous: a read right after a write there can be old)"
        )
    if state["replicas"]:
        out.append(f"read replicas: {', '.join(state['replicas'])}")
    if state["backup_retention_days"] and state["earliest_restorable"] is None:
        out.append(f"automated backups kept {state['backup_retention_days']} day(s)")
    elif state["backup_retention_days"]:
        out.append(
            f"automated backups kept {state['backup_retention_days']} day(s): restorable from "
            f"{_time(state['earliest_restorable'])} to now, to the second"
        )
    else:
        out.append("automated backups off: no point-in-time restore")
    return out


def render_html(state: Row, *, notice: str = "", hint: str = "") -> str:
    """The instance as self-contained HTML."""
    return panel_html(
        kind="rds",
        heading=heading(state),
        subheading=subheading(state),
        body=lines_html(lines(state)),
        notice=notice,
        hint=hint,
    )


def render_text(state: Row, *, notice: str = "", hint: str = "") -> str:
    """The instance as plain text."""
    return panel_text(
        heading(state), lines(state), subheading=subheading(state), notice=notice, hint=hint
    )
