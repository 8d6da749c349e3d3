"""Lambda invocations as HTML, as text and as a plot: a timeline of cold and warm starts, durations,
errors, throttles and concurrency.

Plain functions over a snapshot kept as plain dicts (what the invocation widget syncs), made from
:class:`labkit.services.awslambda.state.InvocationSnapshot` by :func:`as_state`. Nothing here reads
AWS. Shapes and words carry every distinction, never colour alone: a cold start is a hollow square
and the letter ``C``, a warm one a dot and ``w``, a failure a cross and ``E`` (``T`` for a
timeout), a throttle a hollow triangle and ``!``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from labkit.views.base import (
    Column,
    Group,
    esc,
    notice_html,
    panel_html,
    plural,
    table_html,
    text_table,
)

if TYPE_CHECKING:
    from labkit.services.awslambda.state import InvocationSnapshot

#: The fields of one invocation in the synced state.
INVOCATION_FIELDS: tuple[str, ...] = (
    "at",
    "function",
    "trigger",
    "cold",
    "duration_ms",
    "init_ms",
    "status",
    "error_type",
    "concurrency",
)
#: The fields of one throttle in the synced state.
THROTTLE_FIELDS: tuple[str, ...] = ("at", "function", "trigger", "reason")

#: How many of the latest events the tables list.
RECENT = 12

LEGEND = "C cold start · w warm start · E error · T timeout · ! throttled"
LEGEND_SHAPES = (
    "□ cold start · ● warm start · ✕ error or timeout (inside □ when cold) · ▽ throttled · "
    "bars: concurrency when it started"
)
EXAMPLE = 'lab.client("lambda").invoke(FunctionName="...", Payload=b"{}")'

SUMMARY_COLUMNS: tuple[Column, ...] = (
    Column("function", mono=True),
    Column("invocations"),
    Column("cold"),
    Column("warm"),
    Column("errors"),
    Column("timeouts"),
    Column("throttled"),
    Column("peak concurrency"),
    Column("duration avg / max"),
)
RECENT_COLUMNS: tuple[Column, ...] = (
    Column("lab time"),
    Column("function", mono=True),
    Column("trigger"),
    Column("start"),
    Column("duration"),
    Column("result"),
    Column("concurrency"),
)

Row = Mapping[str, Any]


# -- the state -------------------------------------------------------------------------------------
def as_state(snapshot: InvocationSnapshot) -> dict[str, Any]:
    """A snapshot as plain values: ``invocations``, ``throttles`` (lists of dicts), ``start``
    and ``now`` (epoch seconds), which is what the widget keeps and syncs."""
    return {
        "invocations": [
            {
                "at": i.at,
                "function": i.function,
                "trigger": i.trigger,
                "cold": i.cold,
                "duration_ms": round(i.duration_ms, 3),
                "init_ms": None if i.init_ms is None else round(i.init_ms, 3),
                "status": i.status,
                "error_type": i.error_type or "",
                "concurrency": i.concurrency,
            }
            for i in snapshot.invocations
        ],
        "throttles": [
            {"at": t.at, "function": t.function, "trigger": t.trigger, "reason": t.reason}
            for t in snapshot.throttles
        ],
        "start": snapshot.start,
        "now": snapshot.now,
    }


def _clock(at: float) -> str:
    return datetime.fromtimestamp(at, tz=timezone.utc).strftime("%H:%M:%S")


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"


def _symbol(row: Row) -> str:
    if row["status"] == "timeout":
        return "T"
    if row["status"] != "success":
        return "E"
    return "C" if row["cold"] else "w"


def _result(row: Row) -> str:
    if row["status"] == "success":
        return "✓ success"
    if row["status"] == "timeout":
        return "✕ timed out"
    return f"✕ {row['error_type'] or row['status']}"


#: Short words for the ``Reason`` of a ``TooManyRequestsException``.
_REASONS = {
    "ReservedFunctionConcurrentInvocationLimitExceeded": "reserved concurrency",
    "ConcurrentInvocationLimitExceeded": "account limit",
}


def _throttled(row: Row) -> str:
    return f"! throttled: {_REASONS.get(str(row['reason']), str(row['reason']))}"


def _functions(invocations: Sequence[Row], throttles: Sequence[Row]) -> list[str]:
    events = sorted(
        [(float(r["at"]), n, str(r["function"])) for n, r in enumerate(invocations)]
        + [
            (float(r["at"]), len(invocations) + n, str(r["function"]))
            for n, r in enumerate(throttles)
        ]
    )
    return list(dict.fromkeys(name for _, _, name in events))


def _events(invocations: Sequence[Row], throttles: Sequence[Row]) -> list[tuple[str, Row]]:
    """Invocations and throttles in time order (a stable merge: recorded order within an
    instant)."""
    merged = [("invocation", r) for r in invocations] + [("throttle", r) for r in throttles]
    return sorted(merged, key=lambda e: float(e[1]["at"]))


# -- summary ---------------------------------------------------------------------------------------
def summary_groups(invocations: Sequence[Row], throttles: Sequence[Row]) -> list[Group]:
    """The summary table: one row per function, in one group."""
    rows: list[tuple[str, ...]] = []
    functions = _functions(invocations, throttles)
    for name in functions:
        mine = [r for r in invocations if r["function"] == name]
        durations = [float(r["duration_ms"]) for r in mine]
        cold = sum(1 for r in mine if r["cold"])
        rows.append(
            (
                name,
                str(len(mine)),
                str(cold),
                str(len(mine) - cold),
                str(sum(1 for r in mine if r["status"] not in ("success", "timeout"))),
                str(sum(1 for r in mine if r["status"] == "timeout")),
                str(sum(1 for r in throttles if r["function"] == name)),
                str(max((int(r["concurrency"]) for r in mine), default=0)),
                (
                    f"{_ms(sum(durations) / len(durations))} / {_ms(max(durations))}"
                    if durations
                    else "–"
                ),
            )
        )
    return [Group("per function", plural(len(functions), "function"), tuple(rows))]


def recent_groups(invocations: Sequence[Row], throttles: Sequence[Row], limit: int) -> list[Group]:
    """The latest ``limit`` events as one group of rows, oldest first."""
    events = _events(invocations, throttles)
    shown = events[-limit:] if limit else events
    rows: list[tuple[str, ...]] = []
    for kind, r in shown:
        if kind == "throttle":
            rows.append(
                (_clock(r["at"]), r["function"], r["trigger"], "–", "–", _throttled(r), "–")
            )
            continue
        start = "cold" if r["cold"] else "warm"
        if r["cold"] and r.get("init_ms") is not None:
            start += f" (init {_ms(float(r['init_ms']))})"
        rows.append(
            (
                _clock(r["at"]),
                r["function"],
                r["trigger"],
                start,
                _ms(float(r["duration_ms"])),
                _result(r),
                str(r["concurrency"]),
            )
        )
    title = "latest events" if len(events) > len(shown) else "events"
    count = (
        f"{len(shown)} of {len(events)}"
        if len(events) > len(shown)
        else plural(len(shown), "event")
    )
    return [Group(title, count, tuple(rows))]


def heading(invocations: Sequence[Row], throttles: Sequence[Row]) -> str:
    """``Lambda invocations: 5 in 2 functions, 1 throttled``, or ``... none yet``."""
    functions = _functions(invocations, throttles)
    if not functions:
        return "Lambda invocations: none yet"
    text = f"Lambda invocations: {len(invocations)} in {plural(len(functions), 'function')}"
    if throttles:
        text += f", {len(throttles)} throttled"
    return text


def strip(invocations: Sequence[Row], throttles: Sequence[Row], function: str) -> str:
    """One function's events as letters in time order (``C w w E !``)."""
    events = _events(
        [r for r in invocations if r["function"] == function],
        [r for r in throttles if r["function"] == function],
    )
    return " ".join("!" if kind == "throttle" else _symbol(r) for kind, r in events)


# -- the SVG timeline ------------------------------------------------------------------------------
_W, _LEFT, _RIGHT, _LANE, _TOP, _STEP = 660, 150, 20, 30, 8, 9


#: Tick spacings in seconds: round values on a clock.
_TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400)


def _ticks(first: float, span: float, most: int = 5) -> list[float]:
    """Instants on round clock values between ``first`` and ``first + span`` (at most ``most``)."""
    step = next((s for s in _TICK_STEPS if span / s <= most), _TICK_STEPS[-1])
    at = -(-first // step) * step  # the first multiple of the step at or after ``first``
    found: list[float] = []
    while at <= first + span + 1e-9:
        found.append(at)
        at += step
    return found or [first]


def _x_scale(first: float, last: float) -> tuple[float, float]:
    span = max(last - first, 1.0)
    return first, span


def timeline_svg(invocations: Sequence[Row], throttles: Sequence[Row]) -> str:
    """An inline SVG: one lane per function over lab time, a concurrency lane below, ticks in lab
    clock time. Events of the same instant sit side by side. Drawn in ``currentColor``."""
    functions = _functions(invocations, throttles)
    if not functions:
        return ""
    events = _events(invocations, throttles)
    first, span = _x_scale(float(events[0][1]["at"]), float(events[-1][1]["at"]))
    plot_w = _W - _LEFT - _RIGHT
    conc_h = 40
    height = _TOP + _LANE * len(functions) + conc_h + 34
    peak = max([int(r["concurrency"]) for r in invocations] or [1])
    parts: list[str] = []
    used: dict[tuple[int, int], int] = {}

    def x_of(at: float, lane: int) -> float:
        base = _LEFT + (at - first) / span * (plot_w - 10 * _STEP)
        slot = round(base)
        n = used.get((lane, slot), 0)
        used[(lane, slot)] = n + 1
        return base + n * _STEP

    for lane, name in enumerate(functions):
        y = _TOP + lane * _LANE + _LANE / 2
        label = name if len(name) <= 20 else name[:19] + "…"
        parts.append(
            f'<text x="{_LEFT - 8}" y="{y + 4:.1f}" text-anchor="end" font-size="12" '
            f'fill="currentColor" style="font-family:monospace">{esc(label)}</text>'
            f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="currentColor" stroke-opacity="0.2"/>'
        )
    conc_base = _TOP + _LANE * len(functions) + conc_h
    parts.append(
        f'<text x="{_LEFT - 8}" y="{conc_base - 4}" text-anchor="end" font-size="12" '
        f'fill="currentColor">concurrency (peak {peak})</text>'
        f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{conc_base}" y2="{conc_base}" '
        f'stroke="currentColor" stroke-opacity="0.5"/>'
    )
    for kind, r in events:
        lane = functions.index(str(r["function"]))
        y = _TOP + lane * _LANE + _LANE / 2
        x = x_of(float(r["at"]), lane)
        if kind == "throttle":
            tip = f"{_clock(r['at'])} {r['function']}: throttled ({r['reason']})"
            parts.append(
                f'<polygon points="{x - 5:.1f},{y - 5:.1f} {x + 5:.1f},{y - 5:.1f} {x:.1f},'
                f'{y + 5:.1f}" fill="none" stroke="currentColor" stroke-width="1.5">'
                f"<title>{esc(tip)}</title></polygon>"
            )
            continue
        start = "cold" if r["cold"] else "warm"
        tip = (
            f"{_clock(r['at'])} {r['function']} ({r['trigger']}): {start} start, "
            f"{_ms(float(r['duration_ms']))}, {_result(r)}, concurrency {r['concurrency']}"
        )
        shape = ""
        if r["cold"]:
            shape += (
                f'<rect x="{x - 5:.1f}" y="{y - 5:.1f}" width="10" height="10" fill="none" '
                f'stroke="currentColor" stroke-width="1.5"/>'
            )
        if r["status"] != "success":
            shape += (
                f'<path d="M{x - 4:.1f},{y - 4:.1f}L{x + 4:.1f},{y + 4:.1f}M{x - 4:.1f},'
                f'{y + 4:.1f}L{x + 4:.1f},{y - 4:.1f}" stroke="currentColor" stroke-width="2"/>'
            )
        elif not r["cold"]:
            shape += f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="currentColor"/>'
        parts.append(f"<g><title>{esc(tip)}</title>{shape}</g>")
        bar = (conc_h - 6) * int(r["concurrency"]) / peak
        parts.append(
            f'<rect x="{x - 2:.1f}" y="{conc_base - bar:.1f}" width="4" height="{bar:.1f}" '
            f'fill="currentColor" fill-opacity="0.6"><title>{esc(tip)}</title></rect>'
        )
    for at in _ticks(first, span):
        x = _LEFT + (at - first) / span * (plot_w - 10 * _STEP)
        parts.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{conc_base}" y2="{conc_base + 4}" '
            f'stroke="currentColor"/><text x="{x:.1f}" y="{conc_base + 16}" font-size="11" '
            f'text-anchor="middle" fill="currentColor">{_clock(at)}</text>'
        )
    parts.append(
        f'<text x="{_W - _RIGHT}" y="{conc_base + 30}" font-size="11" text-anchor="end" '
        f'fill="currentColor">lab time (UTC)</text>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{height}" '
        f'viewBox="0 0 {_W} {height}" role="img" aria-label="Invocation timeline" '
        f'style="display:block;margin:6px 0;max-width:100%;color:inherit">{"".join(parts)}</svg>'
    )


# -- the two renderings ----------------------------------------------------------------------------
def _subheading(now: float | None) -> str:
    if not now:
        return ""
    return f"lab time {datetime.fromtimestamp(now, tz=timezone.utc):%Y-%m-%d %H:%M:%S} UTC"


def render_html(
    invocations: Sequence[Row],
    throttles: Sequence[Row] = (),
    *,
    now: float | None = None,
    notice: str = "",
    hint: str = "",
    limit: int = RECENT,
) -> str:
    """The invocations as self-contained HTML: a summary per function, the SVG timeline and the
    latest events.

    Args:
        invocations: Invocation dicts (:data:`INVOCATION_FIELDS`).
        throttles: Throttle dicts (:data:`THROTTLE_FIELDS`).
        now: The lab time of the snapshot (epoch seconds), shown beside the heading.
        notice: Something the reader must know first, shown above.
        hint: A sentence added under the view (how it updates).
        limit: How many of the latest events the table lists (0: all).
    """
    body = notice_html("⚠", notice) if notice else ""
    if not invocations and not throttles:
        tail = f" {esc(hint)}" if hint else ""
        body += (
            '<div style="margin-top:4px">No invocation yet. Invoke a function, for example '
            f"<code>{esc(EXAMPLE)}</code>, or send it an event.{tail}</div>"
        )
    else:
        body += table_html(SUMMARY_COLUMNS, summary_groups(invocations, throttles))
        body += timeline_svg(invocations, throttles)
        body += f'<div style="opacity:0.85">{esc(LEGEND_SHAPES)}</div>'
        body += table_html(RECENT_COLUMNS, recent_groups(invocations, throttles, limit))
        if hint:
            body += f'<div style="opacity:0.85;margin-top:4px">{esc(hint)}</div>'
    return panel_html(
        kind="invocations",
        heading=heading(invocations, throttles),
        subheading=_subheading(now),
        body=body,
    )


def render_text(
    invocations: Sequence[Row],
    throttles: Sequence[Row] = (),
    *,
    now: float | None = None,
    notice: str = "",
    hint: str = "",
    limit: int = RECENT,
) -> str:
    """The same as aligned plain text, the timeline as one line of letters per function."""
    sub = _subheading(now)
    lines = [heading(invocations, throttles) + (f" · {sub}" if sub else "")]
    if notice:
        lines.append(f"⚠ {notice}")
    if not invocations and not throttles:
        lines.append("No invocation yet. Invoke a function, for example")
        lines.append(f"    {EXAMPLE}")
        if hint:
            lines.append(hint)
        return "\n".join(lines)
    lines.extend(text_table(SUMMARY_COLUMNS, summary_groups(invocations, throttles)))
    lines.append("")
    lines.append(f"timeline, oldest first ({LEGEND}):")
    functions = _functions(invocations, throttles)
    pad = max(len(f) for f in functions)
    lines.extend(f"  {f.ljust(pad)}  {strip(invocations, throttles, f)}" for f in functions)
    lines.append("")
    lines.extend(text_table(RECENT_COLUMNS, recent_groups(invocations, throttles, limit)))
    if hint:
        lines.append(hint)
    return "\n".join(lines)


# -- a plot ----------------------------------------------------------------------------------------
def plot(
    invocations: Sequence[Row], throttles: Sequence[Row] = (), *, start: float | None = None
) -> Any:
    """A matplotlib figure of the timeline: events per function over lab time (markers by kind),
    the time each invocation took (init included for a cold start), and concurrency. Print
    :func:`render_text` beside it for its text form.

    Events of the same instant are drawn side by side, a little to the right of each other, as
    they happened one after the other.

    Args:
        invocations: Invocation dicts.
        throttles: Throttle dicts.
        start: The zero of the time axis (epoch seconds); the first event when ``None``.

    Returns:
        The figure.
    """
    import matplotlib.pyplot as plt

    functions = _functions(invocations, throttles) or ["(none)"]
    events = _events(invocations, throttles)
    times = [float(r["at"]) for _, r in events]
    zero = start if start is not None else min(times, default=0.0)
    span = max(max(times, default=0.0) - min(times, default=0.0), 1.0)
    nudge = span / 120
    seen: dict[tuple[str, float], int] = {}
    placed: list[tuple[float, str, Row]] = []
    for kind, r in events:
        key = (str(r["function"]), float(r["at"]))
        n = seen.get(key, 0)
        seen[key] = n + 1
        placed.append((float(r["at"]) - zero + n * nudge, kind, r))

    fig, (lanes, took, conc) = plt.subplots(
        3,
        1,
        figsize=(9, 1.0 + 0.45 * len(functions) + 4.0),
        sharex=True,
        gridspec_kw={"height_ratios": [len(functions) * 0.5 + 0.7, 1.5, 1.0]},
    )
    styles = {
        "C": ("s", "none", "cold start"),
        "w": ("o", "black", "warm start"),
        "E": ("X", "black", "error"),
        "T": ("P", "black", "timeout"),
        "!": ("v", "none", "throttled"),
    }
    for letter, (marker, face, label) in styles.items():
        xs = [x for x, kind, r in placed if ("!" if kind == "throttle" else _symbol(r)) == letter]
        ys = [
            functions.index(str(r["function"]))
            for x, kind, r in placed
            if ("!" if kind == "throttle" else _symbol(r)) == letter
        ]
        if xs:
            lanes.scatter(
                xs, ys, marker=marker, facecolors=face, edgecolors="black", s=46, label=label
            )
    lanes.set_yticks(range(len(functions)), functions)
    lanes.set_ylim(len(functions) - 0.5, -0.5)
    lanes.set_title("Lambda invocations over lab time")
    if events:
        lanes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)

    for cold in (True, False):
        chosen = [
            (x, r) for x, kind, r in placed if kind == "invocation" and bool(r["cold"]) is cold
        ]
        if chosen:
            took.scatter(
                [x for x, _ in chosen],
                [float(r["duration_ms"]) + float(r["init_ms"] or 0) for _, r in chosen],
                marker="s" if cold else "o",
                facecolors="none" if cold else "black",
                edgecolors="black",
                s=30,
                label="cold: init + handler" if cold else "warm: handler only",
            )
    took.set_ylabel("ms (wall)")
    if invocations:
        took.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)

    steps = [(x, int(r["concurrency"])) for x, kind, r in placed if kind == "invocation"]
    if steps:
        conc.step([x for x, _ in steps], [c for _, c in steps], where="post", color="black")
        conc.plot([x for x, _ in steps], [c for _, c in steps], "k.", label="when one started")
    conc.set_ylabel("concurrency")
    conc.set_ylim(0, max([c for _, c in steps] or [1]) + 0.5)
    conc.set_xlabel("lab seconds" + (" since the lab started" if start is not None else ""))
    fig.tight_layout()
    return fig


__all__ = [
    "INVOCATION_FIELDS",
    "THROTTLE_FIELDS",
    "as_state",
    "plot",
    "render_html",
    "render_text",
    "strip",
    "timeline_svg",
]
