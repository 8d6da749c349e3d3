"""The table view: a DynamoDB table's capacity, partitions, indexes, TTL and stream (HTML, text).

Renders the plain state of :func:`table_state` (a :class:`~labkit.services.dynamodb.state.
TableSnapshot` as JSON-able values). Nothing here reads moto or the clock. Sections:

- **Capacity**: consumed against the limit second by second for the last minute, writes and reads
  each as an SVG bar chart with the limit as a labelled dashed line and throttled seconds marked
  with a cross and a count (never colour alone), and the same as text lines.
- **Partitions**: each partition's share of the hash space, the items and busiest keys it holds,
  what it served this second against its share, its burst balance, and its throttles; a
  partition that throttled is marked ``✕ throttled`` in words.
- **Indexes**, **TTL** (items whose TTL has passed and are still readable, and the next ones),
  **Stream** (newest records; ``by DynamoDB (TTL)`` for service deletions).
- **Replicas**: rendered by the global-tables view (``view_global``) and passed in as
  ``replicas_html``/``replicas_text``; shown where the section belongs, absent without them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from labkit.views.base import (
    MONO,
    RULE,
    SMALL,
    Column,
    Group,
    esc,
    panel_html,
    panel_text,
    plural,
    snapshot_state,
    snapshot_time,
    table_html,
    text_table,
)

#: Width and height of one capacity chart, in SVG units.
CHART_W = 480
CHART_H = 90
THROTTLE_MARK = "✕"


#: What a table without GSIs or LSIs shows where its indexes would be.
NO_INDEX = "No secondary index."


def table_state(snapshot: Any) -> dict[str, Any]:
    """A table snapshot as the plain values the widget syncs (``{}`` for ``None``)."""
    return snapshot_state(snapshot)


def _units(value: float) -> str:
    return f"{value:,.1f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"


def _clock(second: float) -> str:
    return f"{datetime.fromtimestamp(second, tz=timezone.utc):%H:%M:%S}"


def capacity_words(state: Mapping[str, Any]) -> str:
    """``provisioned 5 RCU / 5 WCU`` or ``on-demand: serves up to 12,000 RRU / 4,000 WRU now``."""
    read_limit, write_limit = state["limit"]
    if state["on_demand"]:
        return (
            f"on-demand: serves up to {_units(read_limit)} read / {_units(write_limit)} write "
            "units per second now (double its previous peak)"
        )
    read, write = state["provisioned"]
    return f"provisioned {_units(read)} RCU / {_units(write)} WCU"


def _size(size: int) -> str:
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size} B"


def summary_line(state: Mapping[str, Any]) -> str:
    """Items, size, partitions and throttles in one line."""
    approx = "≈" if state["sampled"] else ""
    read_thr, write_thr = state["throttled"]
    parts = [
        plural(state["item_count"], "item"),
        f"{approx}{_size(state['size_bytes'])}",
        plural(state["partition_count"], "partition"),
        f"{THROTTLE_MARK} {write_thr} writes and {read_thr} reads throttled since creation"
        if read_thr or write_thr
        else "nothing throttled",
    ]
    return " · ".join(parts)


def scaling_lines(state: Mapping[str, Any]) -> list[str]:
    """Auto scaling policies and their latest changes, in words."""
    lines = []
    for policy in state.get("autoscaling", ()):
        lines.append(
            f"Auto scaling ({policy['resource']}, {policy['kind']}s): target "
            f"{policy['target']:g} % utilization, between {_units(policy['minimum'])} and "
            f"{_units(policy['maximum'])} units"
        )
        for at, direction, old, new in policy["activities"]:
            arrow = "▲" if direction == "scale-out" else "▼"
            lines.append(f"  {arrow} {_clock(at)} {direction}: {_units(old)} → {_units(new)} units")
        if not policy["activities"]:
            lines.append("  no change yet")
    return lines


# -- capacity chart -----------------------------------------------------------------------------
def _chart_svg(seconds: Sequence[Mapping[str, Any]], kind: str) -> str:
    """Bars of units consumed per second, the limit as a dashed line, crosses on throttles."""
    if not seconds:
        return ""
    values = [float(s[kind]) for s in seconds]
    limits = [float(s[f"{kind}_limit"]) for s in seconds]
    throttles = [int(s[f"{kind}_throttled"]) for s in seconds]
    top = max([*values, *limits, 1.0]) * 1.15
    n = len(seconds)
    bar_w = CHART_W / n
    plot_h = CHART_H - 14

    def y(value: float) -> float:
        return plot_h - value / top * (plot_h - 4)

    bars = []
    for i, (value, thr) in enumerate(zip(values, throttles, strict=True)):
        x = i * bar_w
        if value > 0:
            bars.append(
                f'<rect x="{x + 0.5:.1f}" y="{y(value):.1f}" width="{max(bar_w - 1, 1):.1f}" '
                f'height="{plot_h - y(value):.1f}" fill="currentColor" fill-opacity="0.45">'
                f"<title>{esc(_clock(seconds[i]['second']))}: {_units(value)} units</title></rect>"
            )
        if thr:
            bars.append(
                f'<text x="{x + bar_w / 2:.1f}" y="9" font-size="9" text-anchor="middle" '
                f'fill="currentColor">{THROTTLE_MARK}<title>{thr} throttled at '
                f"{esc(_clock(seconds[i]['second']))}</title></text>"
            )
    limit = limits[-1]
    line = (
        f'<line x1="0" x2="{CHART_W}" y1="{y(limit):.1f}" y2="{y(limit):.1f}" '
        f'stroke="currentColor" stroke-dasharray="5,3" stroke-width="1"/>'
        f'<text x="{CHART_W - 2}" y="{max(y(limit) - 2, 18):.1f}" font-size="9" '
        f'text-anchor="end" fill="currentColor">limit {_units(limit)}/s</text>'
    )
    axis = (
        f'<line x1="0" x2="{CHART_W}" y1="{plot_h}" y2="{plot_h}" stroke="{RULE}"/>'
        f'<text x="0" y="{CHART_H - 2}" font-size="9" fill="currentColor">'
        f"{esc(_clock(seconds[0]['second']))}</text>"
        f'<text x="{CHART_W}" y="{CHART_H - 2}" font-size="9" text-anchor="end" '
        f'fill="currentColor">{esc(_clock(seconds[-1]["second"]))} (now)</text>'
    )
    label = f"{kind} units consumed per second against the limit; {THROTTLE_MARK} marks throttles"
    return (
        f'<svg role="img" aria-label="{esc(label)}" viewBox="0 0 {CHART_W} {CHART_H}" '
        f'width="{CHART_W}" height="{CHART_H}" style="display:block;max-width:100%">'
        f"<title>{esc(label)}</title>{''.join(bars)}{line}{axis}</svg>"
    )


def capacity_lines(seconds: Sequence[Mapping[str, Any]], kind: str) -> list[str]:
    """The chart as text: one line per second that served or throttled anything."""
    busy = [s for s in seconds if s[kind] or s[f"{kind}_throttled"]]
    if not busy:
        return [f"  {kind}s: none in the last {len(seconds)} s"]
    lines = []
    for s in busy:
        thr = s[f"{kind}_throttled"]
        mark = f"  {THROTTLE_MARK} {thr} throttled" if thr else ""
        lines.append(
            f"  {_clock(s['second'])}  {kind} {_units(s[kind])} of {_units(s[f'{kind}_limit'])}"
            f" units/s{mark}"
        )
    return lines


# -- partitions ---------------------------------------------------------------------------------
PARTITION_COLUMNS = (
    Column("partition"),
    Column("hash range", mono=True),
    Column("items"),
    Column("busiest keys", mono=True),
    Column("this second (read / write)"),
    Column("serves /s (read / write)"),
    Column("burst (read / write)"),
    Column("throttled"),
)


def _pair(values: Sequence[float]) -> str:
    return f"{_units(values[0])} / {_units(values[1])}"


def partition_rows(state: Mapping[str, Any]) -> tuple[tuple[str, ...], ...]:
    """One row per partition."""
    approx = "≈" if state["sampled"] else ""
    rows = []
    for p in state["partitions"]:
        if state["sampled"]:
            keys = ", ".join(k for k, _ in p["keys"])
            keys += " … (sampled)" if p["distinct_keys"] > len(p["keys"]) else ""
        else:
            keys = ", ".join(f"{k} ({n:,})" for k, n in p["keys"])
            more = p["distinct_keys"] - len(p["keys"])
            keys += f" +{more:,} more" if more > 0 else ""
        read_thr, write_thr = p["throttled"]
        throttled = (
            f"{THROTTLE_MARK} throttled: {write_thr} writes, {read_thr} reads"
            if read_thr or write_thr
            else "none"
        )
        rows.append(
            (
                f"#{p['index']}",
                f"{p['start'][:6]}…–{p['end'][:6]}…",
                f"{approx}{p['items']:,}",
                keys or "(empty)",
                _pair(p["used"]),
                _pair(p["rate"]),
                _pair(p["burst"]),
                throttled,
            )
        )
    return tuple(rows)


# -- indexes, TTL, stream -----------------------------------------------------------------------
INDEX_COLUMNS = (
    Column("index", mono=True),
    Column("kind"),
    Column("keys", mono=True),
    Column("projection"),
    Column("capacity"),
    Column("not yet in the index"),
    Column("throttled"),
)


def index_rows(state: Mapping[str, Any]) -> tuple[tuple[str, ...], ...]:
    """One row per secondary index."""
    rows = []
    for index in state["indexes"]:
        if index["kind"] == "local":
            capacity = "the table's"
        elif index["provisioned"] is None:
            capacity = "on-demand"
        else:
            capacity = f"{_pair(index['provisioned'])} RCU / WCU"
        read_thr, write_thr = index["throttled"]
        rows.append(
            (
                index["name"],
                index["kind"],
                ", ".join(index["keys"]),
                index["projection"],
                capacity,
                plural(index["pending"], "write") if index["pending"] else "none (caught up)",
                f"{THROTTLE_MARK} {write_thr} writes, {read_thr} reads"
                if read_thr or write_thr
                else "none",
            )
        )
    return tuple(rows)


def ttl_lines(state: Mapping[str, Any]) -> list[str]:
    """What TTL will delete, in words."""
    if not state["ttl_attribute"]:
        return [f"TTL is off ({state['ttl_status'].lower()})."]
    approx = "≈" if state["sampled"] else ""
    lines = [
        f"TTL attribute {state['ttl_attribute']}: {approx}{state['ttl_eligible']:,} expired "
        "items still readable until the background deletion (filter on the attribute)."
    ]
    now = state["now"]
    for entry in state["ttl_items"]:
        when = _clock(entry["expires"])
        if entry["eligible"]:
            lines.append(f"  ⌛ {entry['key']}: expired at {when}, awaiting deletion")
        else:
            left = entry["expires"] - now
            lines.append(f"  ◷ {entry['key']}: expires at {when} (in {left:,.0f} s)")
    return lines


def stream_lines(state: Mapping[str, Any]) -> list[str]:
    """The stream's newest records, in words."""
    if not state["stream_view_type"]:
        return ["No stream."]
    lines = [
        f"Stream ({state['stream_view_type']}): {plural(state['stream_record_count'], 'record')}"
    ]
    for record in state["stream_records"]:
        who = " by DynamoDB (TTL)" if record["by_service"] else ""
        at = f" at {_clock(record['at'])}" if record["at"] else ""
        lines.append(f"  {record['event']} {record['key']}{at}{who} · #{record['sequence'][-6:]}")
    return lines


# -- the whole view -----------------------------------------------------------------------------
def _heading(state: Mapping[str, Any], name: str) -> str:
    return f"DynamoDB table {state.get('name') or name}"


def _section(title: str, body: str) -> str:
    return (
        f'<div style="margin-top:8px;border-top:1px solid {RULE};padding-top:4px">'
        f'<div style="font-weight:600">{esc(title)}</div>{body}</div>'
    )


def _lines_html(lines: Sequence[str]) -> str:
    return "".join(
        f'<div style="margin:1px 0;{MONO if line.startswith("  ") else ""}">{esc(line)}</div>'
        for line in lines
    )


def render_html(
    state: Mapping[str, Any],
    *,
    name: str = "",
    now: float | None = None,
    notice: str = "",
    hint: str = "",
    replicas_html: str = "",
) -> str:
    """The table as self-contained HTML."""
    if not state:
        body = f'<div style="{SMALL}">No such table{": " + esc(name) if name else ""}.</div>'
        return panel_html(
            kind="table", heading="DynamoDB table", body=body, notice=notice, hint=hint
        )
    seconds = state["seconds"]
    capacity = (
        f"<div>{esc(capacity_words(state))}</div>"
        f'<div style="{SMALL}">{esc(summary_line(state))}</div>'
        f"{_lines_html(scaling_lines(state))}"
        f'<div style="margin-top:4px">Writes, last {len(seconds)} s</div>'
        f"{_chart_svg(seconds, 'write')}"
        f'<div style="margin-top:4px">Reads, last {len(seconds)} s</div>'
        f"{_chart_svg(seconds, 'read')}"
    )
    partitions = table_html(
        PARTITION_COLUMNS,
        [Group("Partitions", plural(state["partition_count"], "partition"), partition_rows(state))],
    )
    if state["sampled"]:
        partitions += (
            f'<div style="{SMALL}">≈: counted on an evenly spaced sample of the items.</div>'
        )
    body = _section("Capacity", capacity) + _section(
        "Partitions (which keys live where)", partitions
    )
    if state["indexes"]:
        indexes = table_html(
            INDEX_COLUMNS,
            [
                Group(
                    "Indexes", plural(len(state["indexes"]), "index", "indexes"), index_rows(state)
                )
            ],
        )
        body += _section("Secondary indexes", indexes)
    else:
        body += _section("Secondary indexes", _lines_html([NO_INDEX]))
    body += _section("Time to live", _lines_html(ttl_lines(state)))
    body += _section("Stream", _lines_html(stream_lines(state)))
    if replicas_html:
        body += _section("Replicas", replicas_html)
    return panel_html(
        kind="table",
        heading=_heading(state, name),
        subheading=snapshot_time(state, now),
        body=body,
        notice=notice,
        hint=hint,
    )


def render_text(
    state: Mapping[str, Any],
    *,
    name: str = "",
    now: float | None = None,
    notice: str = "",
    hint: str = "",
    replicas_text: Sequence[str] = (),
) -> str:
    """The table as plain text."""
    if not state:
        return panel_text(
            "DynamoDB table",
            [f"No such table{': ' + name if name else ''}."],
            notice=notice,
            hint=hint,
        )
    seconds = state["seconds"]
    lines = [capacity_words(state), summary_line(state), *scaling_lines(state)]
    lines.append(f"Writes, last {len(seconds)} s:")
    lines += capacity_lines(seconds, "write")
    lines.append(f"Reads, last {len(seconds)} s:")
    lines += capacity_lines(seconds, "read")
    lines.append("Partitions (which keys live where):")
    lines += text_table(
        PARTITION_COLUMNS,
        [Group("Partitions", plural(state["partition_count"], "partition"), partition_rows(state))],
    )
    if state["indexes"]:
        lines.append("Secondary indexes:")
        lines += text_table(
            INDEX_COLUMNS, [Group("Indexes", str(len(state["indexes"])), index_rows(state))]
        )
    else:
        lines.append(NO_INDEX)
    lines += ttl_lines(state)
    lines += stream_lines(state)
    if replicas_text:
        lines.append("Replicas:")
        lines += list(replicas_text)
    return panel_text(
        _heading(state, name),
        lines,
        subheading=snapshot_time(state, now),
        notice=notice,
        hint=hint,
    )


__all__ = [
    "capacity_lines",
    "capacity_words",
    "index_rows",
    "partition_rows",
    "render_html",
    "render_text",
    "scaling_lines",
    "stream_lines",
    "summary_line",
    "table_state",
    "ttl_lines",
]
