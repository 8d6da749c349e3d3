"""An Aurora cluster as HTML and as text: writer and readers, AZs, the volume's six copies,
connections, and Serverless v2 capacity over lab time.

Plain functions over a :class:`ClusterSnapshot` (built by
:func:`labkit.services.rds.patch_aurora.snapshot`). Words and symbols carry every distinction,
never colour: ``✎ writer`` / ``◇ reader``, a copy ``● ok`` / ``✗ LOST``, the volume
``writes ✓`` / ``writes ✗ (read-only)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from labkit.views.base import Column, Group, esc, panel_html, panel_text, table_html, text_table


@dataclass(frozen=True)
class InstanceRow:
    """One instance of the cluster."""

    identifier: str
    role: str  # "writer" or "reader"
    zone: str
    instance_class: str
    tier: int
    sessions: int
    acu: float | None = None


@dataclass(frozen=True)
class ClusterSnapshot:
    """What the view shows of one cluster at one lab instant."""

    identifier: str
    engine: str
    now: float
    status: str
    writer_endpoint: str
    reader_endpoint: str
    instances: tuple[InstanceRow, ...]
    copies: tuple[tuple[str, int, bool], ...]
    can_write: bool
    can_read: bool
    connections: int
    max_connections: int
    failovers: tuple[tuple[float, str, str], ...] = ()
    acu_history: tuple[tuple[str, tuple[tuple[float, float], ...]], ...] = ()
    acu_cost: float = 0.0
    clone_of: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


COLUMNS = (
    Column("instance", mono=True),
    Column("role"),
    Column("AZ", mono=True),
    Column("class", mono=True),
    Column("tier"),
    Column("sessions"),
    Column("ACUs"),
)


def _time(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%H:%M:%S")


def _rows(snapshot: ClusterSnapshot) -> list[Group]:
    rows = tuple(
        (
            row.identifier,
            "✎ writer" if row.role == "writer" else "◇ reader",
            row.zone,
            row.instance_class,
            str(row.tier),
            str(row.sessions),
            "-" if row.acu is None else f"{row.acu:g}",
        )
        for row in snapshot.instances
    )
    return [Group("instances", f"{len(rows)} (1 writer, {max(0, len(rows) - 1)} readers)", rows)]


def volume_line(snapshot: ClusterSnapshot) -> str:
    """The six copies by AZ and what the quorums allow, in words."""
    zones: dict[str, list[str]] = {}
    for zone, _n, up in snapshot.copies:
        zones.setdefault(zone, []).append("● ok" if up else "✗ LOST")
    alive = sum(1 for _, _, up in snapshot.copies if up)
    parts = " | ".join(f"{zone}: {' '.join(marks)}" for zone, marks in zones.items())
    writes = "writes ✓" if snapshot.can_write else "writes ✗ (read-only: below 4 of 6)"
    reads = "reads ✓" if snapshot.can_read else "reads ✗ (below 3 of 6)"
    return f"volume {alive}/6 copies: {parts} · {writes} · {reads}"


def capacity_lines(snapshot: ClusterSnapshot) -> list[str]:
    """Serverless v2 capacity over lab time, one line per instance."""
    lines = []
    for identifier, history in snapshot.acu_history:
        steps = " → ".join(f"{acu:g} ACU @{_time(t)}" for t, acu in history)
        lines.append(f"{identifier}: {steps}")
    if snapshot.acu_history:
        lines.append(f"ACU-hours so far cost ${snapshot.acu_cost:.4f}")
    return lines


def _lines(snapshot: ClusterSnapshot) -> list[str]:
    lines = [
        f"writer endpoint {snapshot.writer_endpoint}",
        f"reader endpoint {snapshot.reader_endpoint} (spreads new connections over the readers)",
        volume_line(snapshot),
        f"connections {snapshot.connections} of max_connections {snapshot.max_connections}",
    ]
    if snapshot.clone_of:
        lines.append(f"copy-on-write clone of {snapshot.clone_of}")
    for t, old, new in snapshot.failovers:
        lines.append(f"failover @{_time(t)}: writer {old or '?'} → {new or '?'}")
    lines.extend(capacity_lines(snapshot))
    lines.extend(snapshot.notes)
    return lines


def render_text(snapshot: ClusterSnapshot, *, notice: str = "", hint: str = "") -> str:
    """The cluster as plain text."""
    table = text_table(COLUMNS, _rows(snapshot))
    return panel_text(
        f"Aurora cluster {snapshot.identifier}",
        [*table, *_lines(snapshot)],
        subheading=f"{snapshot.engine} · {snapshot.status} · lab time {_time(snapshot.now)}",
        notice=notice,
        hint=hint,
    )


def render_html(snapshot: ClusterSnapshot, *, notice: str = "", hint: str = "") -> str:
    """The cluster as HTML."""
    body = table_html(COLUMNS, _rows(snapshot))
    body += "".join(f"<div>{esc(line)}</div>" for line in _lines(snapshot))
    return panel_html(
        kind="aurora",
        heading=f"Aurora cluster {snapshot.identifier}",
        subheading=f"{snapshot.engine} · {snapshot.status} · lab time {_time(snapshot.now)}",
        body=body,
        notice=notice,
        hint=hint,
    )


def as_dict(snapshot: ClusterSnapshot) -> dict[str, Any]:
    """The snapshot as plain data (what a widget syncs)."""
    return asdict(snapshot)


def from_dict(data: Mapping[str, Any]) -> ClusterSnapshot:
    """A snapshot back from :func:`as_dict`'s plain data."""
    values = dict(data)
    values["instances"] = tuple(InstanceRow(**row) for row in values["instances"])
    for name in ("copies", "failovers", "notes"):
        values[name] = tuple(tuple(x) if isinstance(x, list) else x for x in values[name])
    values["acu_history"] = tuple(
        (name, tuple(tuple(step) for step in steps)) for name, steps in values["acu_history"]
    )
    return ClusterSnapshot(**values)
