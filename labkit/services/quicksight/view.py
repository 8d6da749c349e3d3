"""A QuickSight visual of a data set: a chart (PNG) and the same numbers as a table.

The chart is one series in black, with its values written on it; the table under it holds every
number, so nothing is told by colour. The heading says where the rows come from: the SPICE copy
of a completed ingestion (and when), or a direct query run now; a refresh still running reads
``⏳ refresh … running``.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from labkit.errors import LabkitError
from labkit.services.quicksight.state import dashboard_snapshot
from labkit.views.base import (
    Column,
    Group,
    Panel,
    esc,
    lines_html,
    panel_html,
    panel_text,
    table_html,
    text_table,
)

Row = Mapping[str, Any]
CHART_KINDS = ("bar", "line")
#: Rows drawn at most (a visual's data points); the table says when more were left out.
MAX_POINTS = 60


class DashboardError(LabkitError):
    """A visual asked of columns the data set does not have, or of an unknown kind."""

    code = "DashboardError"


def _time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _source(snap: Row) -> list[str]:
    lines = []
    if snap["import_mode"] == "SPICE":
        if snap["refreshed_at"] is None:
            lines.append("SPICE: ✗ no completed ingestion yet: the visual is empty")
        else:
            lines.append(
                f"SPICE: ✓ copy from ingestion {snap['ingestion_id']}, completed "
                f"{_time(snap['refreshed_at'])} ({len(snap['rows'])} rows); data added to the "
                "lake since shows after the next refresh"
            )
    else:
        lines.append(f"DIRECT_QUERY: queried now, {len(snap['rows'])} rows")
    if snap["running"]:
        lines.append(f"⏳ refresh {snap['running']} running")
    if snap["error"]:
        lines.append(f"✗ last refresh failed: {snap['error']}")
    lines.append(f"SQL: {snap['sql']}")
    return lines


def _points(snap: Row, x: str, y: str) -> list[tuple[str, float | None]]:
    names = [name for name, _ in snap["columns"]]
    for wanted in (x, y):
        if wanted not in names:
            raise DashboardError(
                f"Data set {snap['data_set_id']} has no column {wanted!r} "
                f"(it has: {', '.join(names) or 'none yet'})."
            )
    xi, yi = names.index(x), names.index(y)
    kinds = dict(snap["columns"])
    if kinds[y] not in ("INTEGER", "DECIMAL"):
        raise DashboardError(f"Column {y!r} is {kinds[y]}: a visual's value must be a number.")
    points = [(str(row[xi]), None if row[yi] is None else float(row[yi])) for row in snap["rows"]]
    return sorted(points, key=lambda p: p[0])


def chart_png(snap: Row, x: str, y: str, kind: str = "bar") -> bytes:
    """The visual as PNG bytes (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    points = _points(snap, x, y)[:MAX_POINTS]
    fig = Figure(figsize=(7, 3.2))
    ax = fig.add_subplot()
    labels = [p[0] for p in points]
    values = [p[1] or 0.0 for p in points]
    if kind == "bar":
        bars = ax.bar(labels, values, color="0.25", edgecolor="black")
        ax.bar_label(bars, fmt="%g", fontsize="small")
    else:
        ax.plot(labels, values, color="black", marker="o")
        for label, value in zip(labels, values, strict=True):
            ax.annotate(f"{value:g}", (label, value), textcoords="offset points", xytext=(0, 5))
    ax.margins(y=0.15)  # room for the value written above the tallest bar
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"{snap['name']}: {y} by {x}")
    ax.tick_params(axis="x", labelrotation=45 if len(labels) > 6 else 0)
    ax.grid(True, axis="y", color="0.85", linewidth=0.6)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=90)
    return out.getvalue()


def _table(snap: Row, x: str, y: str) -> tuple[tuple[Column, ...], list[Group]]:
    points = _points(snap, x, y)
    rows = tuple((label, "—" if value is None else f"{value:g}") for label, value in points)
    note = f"{len(rows)} rows" + (f", first {MAX_POINTS} drawn" if len(rows) > MAX_POINTS else "")
    return (Column(x, mono=True), Column(y)), [Group(snap["data_set_id"], note, rows)]


def dashboard_html(snap: Row, x: str, y: str, kind: str = "bar") -> str:
    """The visual as HTML: the chart, the source of its rows, the table of its numbers."""
    columns, groups = _table(snap, x, y)
    body = lines_html(_source(snap))
    if snap["rows"]:
        png = base64.b64encode(chart_png(snap, x, y, kind)).decode("ascii")
        alt = f"{kind} chart of {y} by {x}: " + "; ".join(
            f"{label} {value}" for label, value in groups[0].rows[:MAX_POINTS]
        )
        body += f'<img src="data:image/png;base64,{png}" alt="{esc(alt)}" style="max-width:100%">'
    body += table_html(columns, groups)
    return panel_html(
        kind="quicksight-dashboard",
        heading=f"QuickSight visual: {y} by {x}",
        subheading=f"data set {snap['data_set_id']} ({snap['import_mode']}) · {snap['region']}",
        body=body,
    )


def dashboard_text(snap: Row, x: str, y: str) -> str:
    """The text twin of :func:`dashboard_html` (the table stands for the chart)."""
    columns, groups = _table(snap, x, y)
    return panel_text(
        f"QuickSight visual: {y} by {x}",
        [*_source(snap), *text_table(columns, groups)],
        subheading=f"data set {snap['data_set_id']} ({snap['import_mode']}) · {snap['region']}",
    )


class DashboardView(Panel):
    """A visual of a data set at one moment: HTML in Jupyter (with the table as its text form),
    text elsewhere."""

    def __init__(self, snap: Row, x: str, y: str, kind: str = "bar") -> None:
        if kind not in CHART_KINDS:
            raise DashboardError(f"kind={kind!r}: one of {', '.join(CHART_KINDS)}.")
        _points(snap, x, y)  # a wrong column is said now, not when the view is shown
        super().__init__(
            snap,
            lambda s: dashboard_html(s, x, y, kind),
            lambda s: dashboard_text(s, x, y),
        )
        self.x, self.y, self.kind = x, y, kind

    @property
    def points(self) -> list[tuple[str, float | None]]:
        """``(x, y)`` of every row, ordered by x: what the visual draws."""
        return _points(self.snapshot, self.x, self.y)


def dashboard_view(
    data_set: str | None, now: float, *, x: str, y: str, kind: str = "bar"
) -> DashboardView:
    """A visual of ``data_set`` (id or ARN; the only one when ``None``) at lab time ``now``."""
    return DashboardView(dashboard_snapshot(data_set, now), x, y, kind)


__all__ = ["DashboardError", "DashboardView", "chart_png", "dashboard_view"]
