"""A Managed Flink application's windows as HTML and as text: watermark, open windows, late
events, firings, and a plot of what the sinks emitted.

Plain functions over the plain-dict form of an :class:`~.state.ApplicationSnapshot` (what the
widget syncs). Words and symbols carry every distinction, never colour: a firing is ``● on
time`` or ``↻ late firing`` (an update of an earlier result), a late element ``✗ dropped`` or
``→ side output 'tag'``; in the plot each series has its own marker shape (``●``, ``■``, ``▲``,
``◆``) named in the legend, and the plot's points are also listed in the text form.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from labkit.views.base import (
    Column,
    Group,
    esc,
    lines_html,
    panel_html,
    panel_text,
    plural,
    snapshot_state,
    table_html,
    text_table,
)

Row = Mapping[str, Any]

#: Marker shapes of the plot's series, in order (the legend names each).
MARKERS = ("●", "■", "▲", "◆", "▼", "★")
#: How many series the plot draws (the others are listed as not drawn).
SERIES_SHOWN = len(MARKERS)

_OPEN_COLUMNS = (
    Column("key", mono=True),
    Column("window (event time)"),
    Column("elements"),
    Column("state"),
)
_LATE_COLUMNS = (
    Column("key", mono=True),
    Column("event time"),
    Column("watermark then"),
    Column("arrived"),
    Column("what happened"),
)
_FIRING_COLUMNS = (
    Column("key", mono=True),
    Column("window"),
    Column("fired at watermark"),
    Column("kind"),
    Column("result", mono=True),
)


def flink_state(snapshot: Any) -> dict[str, Any]:
    """A snapshot as the plain dict the widget keeps (``{}`` for none)."""
    return snapshot_state(snapshot)


def clock(ms: int | None) -> str:
    """``09:01:29.999`` (UTC) for epoch milliseconds; ``none yet`` for no watermark."""
    if ms is None:
        return "none yet"
    if ms >= 2**63 - 1:
        return "end of input"
    at = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return f"{at:%H:%M:%S}.{ms % 1000:03d}"


def span(start: int, end: int) -> str:
    """``[09:00:00, 09:01:00)``."""
    return (
        f"[{clock(start)[:8]}, {clock(end)[:8]})"
        if start % 1000 == 0 == end % 1000
        else (f"[{clock(start)}, {clock(end)})")
    )


def heading(state: Row) -> str:
    """``Managed Flink application sensors``."""
    return f"Managed Flink application {state['name']}"


def subheading(state: Row) -> str:
    """Status, runtime, lab time."""
    at = datetime.fromtimestamp(state["now"], tz=timezone.utc) if state["now"] else None
    when = f" · lab time {at:%H:%M:%S}" if at else ""
    return f"{state['status']} · {state['runtime']}{when}"


def summary_lines(state: Row) -> list[str]:
    """The job, its failure, its sources' watermarks and each window operator's, in words."""
    if not state["job"]:
        what = (
            "not running: start it with start_application"
            if state["status"] == "READY"
            else "no job running"
        )
        return [f"○ {what}."]
    lines = [f"Job {state['job']!r}."]
    if state["failure"]:
        lines.append(f"✗ FAILED: {state['failure']} (the job stopped; fix the code and restart).")
    for source in state["sources"]:
        mark = (
            f"watermark {clock(source['watermark'])}"
            if source["splits"]
            else "its timestamps and watermarks are assigned after it"
        )
        line = f"Source {source['label']}: {plural(source['records'], 'record')} read · {mark}"
        if source["splits"]:
            parts = []
            for split, mark in sorted(source["splits"].items()):
                idle = " (idle, left out)" if split in source["idle"] else ""
                parts.append(f"{split} {clock(mark)}{idle}")
            # A split is a Kinesis shard or a Kafka partition (Flink's word for both).
            line += " = the lowest of its splits': " + ", ".join(parts)
        lines.append(line + ".")
    for n, window in enumerate(state["windows"], start=1):
        late = (
            f"late elements go to side output {window['late_output']!r}"
            if window["late_output"]
            else "late elements are dropped"
        )
        lateness = (
            f"allowed lateness {window['allowed_lateness'] / 1000:g} s"
            if window["allowed_lateness"]
            else "no allowed lateness"
        )
        lines.append(
            f"Windows #{n}: {window['assigner']}, {lateness}, {late}. Watermark "
            f"{clock(window['watermark'])}: a window fires once the watermark reaches its last "
            f"millisecond (end − 1 ms)."
        )
        lines.append(
            f"  {plural(window['elements'], 'element')} in · "
            f"{plural(window['open_total'], 'window')} holding state · late: "
            f"{window['late_dropped']} ✗ dropped, {window['late_to_side']} → side output."
        )
    for sink in state["sinks"]:
        sent = ""
        if sink["sent"] is not None:
            sent = f" · {sink['sent']} written, {sink['failed']} failed"
        errors = f" · last error: {sink['errors'][-1]}" if sink["errors"] else ""
        lines.append(f"Sink {sink['label']}: {plural(sink['emitted'], 'result')}{sent}{errors}.")
    return lines


def _open_groups(window: Row) -> list[Group]:
    rows = []
    for w in window["open"]:
        if w["fired"]:
            kept = (
                f"✓ fired {w['fired']}×, kept for late elements until watermark "
                f"{clock(w['kept_until'])}"
            )
        else:
            kept = f"○ open: fires at watermark {clock(w['end'] - 1)}"
        rows.append((w["key"], span(w["start"], w["end"]), str(w["elements"]), kept))
    more = window["open_total"] - len(window["open"])
    if more > 0:
        rows.append((f"… {more} more", "", "", ""))
    return [Group("Windows holding state", plural(window["open_total"], "window"), tuple(rows))]


def _late_rows(window: Row) -> tuple[tuple[str, ...], ...]:
    return tuple(
        (
            e["key"],
            clock(e["timestamp"]),
            clock(e["watermark"]),
            clock(e["at"])[:8],
            f"→ side output {window['late_output']!r}" if e["to_side_output"] else "✗ dropped",
        )
        for e in window["late"][-12:]
    )


def _firing_rows(window: Row) -> tuple[tuple[str, ...], ...]:
    return tuple(
        (
            f["key"],
            span(f["start"], f["end"]),
            clock(f["watermark"]),
            "↻ late firing (updates an earlier result)" if f["late"] else "● on time",
            f["results"],
        )
        for f in window["firings"][-12:]
    )


# -- the plot -----------------------------------------------------------------------------------
def series(state: Row) -> dict[str, list[tuple[int, float]]]:
    """Every sink's points by series name, in event-time order."""
    out: dict[str, list[tuple[int, float]]] = {}
    for sink in state["sinks"]:
        for p in sink["points"]:
            out.setdefault(p["series"], []).append((p["at"], p["value"]))
    for points in out.values():
        points.sort()
    return out


def plot_svg(state: Row, *, width: int = 560, height: int = 200) -> str:
    """The emitted values against event time as an inline SVG: a line and a marker shape per
    series, axes labelled in words; ``""`` when nothing plottable was emitted."""
    data = series(state)
    if not data:
        return ""
    names = sorted(data)[:SERIES_SHOWN]
    xs = [x for n in names for x, _ in data[n]]
    ys = [y for n in names for _, y in data[n]]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y1 = y0 + 1
    left, right, top, bottom = 48, 12, 10, 28

    def px(x: int) -> float:
        return left + (x - x0) / (x1 - x0) * (width - left - right)

    def py(y: float) -> float:
        return top + (1 - (y - y0) / (y1 - y0)) * (height - top - bottom)

    parts = [
        f'<svg role="img" aria-label="{esc("emitted values over event time")}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'style="font:11px sans-serif;fill:currentColor;stroke:currentColor">',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" '
        'stroke-opacity="0.5"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke-opacity="0.5"/>',
        f'<text x="{left}" y="{height - 8}" stroke="none">{esc(clock(x0)[:8])}</text>',
        f'<text x="{width - right}" y="{height - 8}" text-anchor="end" stroke="none">'
        f"{esc(clock(x1)[:8])} (event time)</text>",
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end" stroke="none">{y1:.4g}</text>',
        f'<text x="{left - 4}" y="{height - bottom}" text-anchor="end" stroke="none">'
        f"{y0:.4g}</text>",
    ]
    for name, marker in zip(names, MARKERS, strict=False):
        points = data[name]
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke-opacity="0.6"/>')
        for x, y in points:
            parts.append(
                f'<text x="{px(x):.1f}" y="{py(y) + 4:.1f}" text-anchor="middle" stroke="none">'
                f"{marker}<title>{esc(name)}: {y:.4g} at {esc(clock(x))}</title></text>"
            )
    parts.append("</svg>")
    legend = " · ".join(f"{m} {n}" for n, m in zip(names, MARKERS, strict=False))
    hidden = len(data) - len(names)
    if hidden > 0:
        legend += f" · {hidden} more series not drawn"
    return (
        '<div style="margin:6px 0"><div style="font-weight:600">Emitted results</div>'
        + "".join(parts)
        + f"<div>{esc(legend)}</div></div>"
    )


def plot_text(state: Row) -> list[str]:
    """The plotted points as text: one line per series, newest last."""
    data = series(state)
    lines = []
    for name, marker in zip(sorted(data)[:SERIES_SHOWN], MARKERS, strict=False):
        points = ", ".join(f"{clock(x)[:8]} {y:.4g}" for x, y in data[name][-8:])
        lines.append(f"{marker} {name}: {points}")
    return ["Emitted results (event time, value):", *lines] if lines else []


# -- the panels ---------------------------------------------------------------------------------
def render_html(state: Row, *, notice: str = "", hint: str = "") -> str:
    """The application's windows as self-contained HTML."""
    body = lines_html(summary_lines(state))
    for window in state["windows"]:
        body += table_html(_OPEN_COLUMNS, _open_groups(window))
        if window["late"]:
            body += table_html(
                _LATE_COLUMNS,
                [Group("Late elements", f"last {len(_late_rows(window))}", _late_rows(window))],
            )
        if window["firings"]:
            body += table_html(
                _FIRING_COLUMNS,
                [
                    Group(
                        "Recent firings", f"last {len(_firing_rows(window))}", _firing_rows(window)
                    )
                ],
            )
    body += plot_svg(state)
    return panel_html(
        kind="flink",
        heading=heading(state),
        subheading=subheading(state),
        body=body,
        notice=notice,
        hint=hint,
    )


def render_text(state: Row, *, notice: str = "", hint: str = "") -> str:
    """The application's windows as plain text."""
    lines = summary_lines(state)
    for window in state["windows"]:
        lines += ["", *text_table(_OPEN_COLUMNS, _open_groups(window))]
        if window["late"]:
            late = [Group("Late elements", f"last {len(_late_rows(window))}", _late_rows(window))]
            lines += ["", *text_table(_LATE_COLUMNS, late)]
        if window["firings"]:
            rows = _firing_rows(window)
            lines += [
                "",
                *text_table(_FIRING_COLUMNS, [Group("Recent firings", f"last {len(rows)}", rows)]),
            ]
    plotted = plot_text(state)
    if plotted:
        lines += ["", *plotted]
    return panel_text(heading(state), lines, subheading=subheading(state), notice=notice, hint=hint)


__all__ = [
    "MARKERS",
    "clock",
    "flink_state",
    "plot_svg",
    "plot_text",
    "render_html",
    "render_text",
    "series",
    "summary_lines",
]
