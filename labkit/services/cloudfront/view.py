"""A CloudFront distribution as HTML and as text: its caches by edge location, and its requests.

Plain functions over snapshots kept as plain dicts (what the widget syncs), made from
:mod:`labkit.services.cloudfront.state` snapshots by :func:`distribution_state`. Nothing here reads
AWS. An accelerator's view is :mod:`labkit.services.globalaccelerator.view`; latency plots are
:mod:`labkit.services.edge.view`.

Words and symbols carry every distinction, never colour: a fresh cache entry says ``fresh`` and
its TTL left, a stale one ``stale``, an invalidated one ``invalidated``; a request geo
restriction refused is marked ``⊘ blocked``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from labkit.views.base import (
    RULE,
    SHADE,
    SMALL,
    Column,
    Group,
    esc,
    notice_html,
    panel_html,
    plain,
    plural,
    table_html,
    text_table,
)

Row = Mapping[str, Any]

#: How many cache entries a card lists before it says "and N more".
ENTRIES_SHOWN = 6
#: How many of the latest requests the request table lists.
REQUESTS_SHOWN = 10
#: Width of a hit-ratio window in the "over time" line, in seconds of the trace.
WINDOW_SECONDS = 60.0

GEO_WORDS = {"whitelist": "allow list", "blacklist": "block list", "none": "none"}
EXAMPLE = 'requests.get(f"https://{domain}/index.html")'


# -- state ----------------------------------------------------------------------------------
def distribution_state(snapshot: Any) -> dict[str, Any]:
    """A :class:`~labkit.services.cloudfront.state.DistributionSnapshot` as plain values."""
    state: dict[str, Any] = plain(snapshot)
    for pop in state["pops"]:
        total = pop["hits"] + pop["refresh_hits"] + pop["misses"] + pop["errors"]
        pop["requests"] = total
    return state


# -- small words ------------------------------------------------------------------------------
def duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``23 h 59 min``, ``364 d``: a TTL in the largest sensible units."""
    s = round(seconds)
    if s < 120:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min" + (f" {s % 60} s" if s % 60 and s < 600 else "")
    if s < 2 * 86400:
        return f"{s // 3600} h" + (f" {s % 3600 // 60} min" if s % 3600 // 60 else "")
    return f"{s // 86400} d" + (f" {s % 86400 // 3600} h" if s % 86400 // 3600 else "")


def _pct(ratio: float) -> str:
    return f"{ratio:.0%}"


def _clock(at: float) -> str:
    return datetime.fromtimestamp(at, tz=timezone.utc).strftime("%H:%M:%S")


def entry_state(entry: Row) -> str:
    """An entry's state in words: fresh with its TTL left, stale, or invalidated."""
    if entry["invalidated"]:
        return "✕ invalidated: the next request fetches it again"
    if entry["ttl_left"] > 0:
        return f"✓ fresh, {duration(entry['ttl_left'])} left"
    return "◌ stale: the next request asks the origin"


def _geo_text(state: Row) -> str:
    kind = str(state["geo_type"])
    if kind == "none" or not state["geo_countries"]:
        return "geo restriction: none"
    return f"geo restriction: {GEO_WORDS.get(kind, kind)} {', '.join(state['geo_countries'])}"


def heading(state: Row) -> str:
    """``CloudFront E123 (d1.cloudfront.net): 42 requests at 3 edge locations, 90% hits``."""
    pops = state["pops"]
    total = sum(p["requests"] for p in pops)
    head = f"CloudFront {state['id']} ({state['domain']})"
    if not total:
        # Requests refused before any cache (geo restriction, methods) are in the log only.
        logged = len(state.get("recent") or ())
        return head + (
            f": {plural(logged, 'request')}, none reached a cache" if logged else ": no request yet"
        )
    hits = sum(p["hits"] for p in pops)
    return (
        f"{head}: {plural(total, 'request')} at {plural(len(pops), 'edge location')}, "
        f"{_pct(hits / total)} answered from the cache"
    )


def subheading(state: Row) -> str:
    """Lab time, price class, geo restriction, and whether it is disabled."""
    parts = [f"lab time {datetime.fromtimestamp(state['now'], tz=timezone.utc):%H:%M:%S} UTC"]
    parts.append(str(state["price_class"]))
    parts.append(_geo_text(state))
    if not state["enabled"]:
        parts.append("DISABLED")
    return " · ".join(parts)


def by_region(pops: Sequence[Row]) -> list[tuple[str, list[Row]]]:
    """The edge locations grouped by pricing region, in the order they come."""
    grouped: dict[str, list[Row]] = {}
    for pop in pops:
        grouped.setdefault(str(pop["pricing_region"]) or "other", []).append(pop)
    return list(grouped.items())


def pop_line(pop: Row) -> str:
    """``LHR61-P1 · London: 30 requests, 27 hits, 2 refresh hits, 1 miss (90% hits)``."""
    parts = [plural(pop["hits"], "hit")]
    if pop["refresh_hits"]:
        parts.append(plural(pop["refresh_hits"], "refresh hit"))
    parts.append(plural(pop["misses"], "miss", "misses"))
    if pop["errors"]:
        parts.append(plural(pop["errors"], "error"))
    total = pop["requests"]
    ratio = f" ({_pct(pop['hits'] / total)} hits)" if total else ""
    return f"{pop['pop']} · {pop['city']}: {plural(total, 'request')}, {', '.join(parts)}{ratio}"


def _entry_label(entry: Row) -> str:
    variant = f" [{entry['variant']}]" if entry["variant"] else ""
    status = "" if entry["status"] == 200 else f" ({entry['status']})"
    return f"{entry['path']}{variant}{status}"


# -- traces -------------------------------------------------------------------------------------
def window_for(requests: Sequence[Row]) -> float:
    """A window that gives a trace about a dozen points: 10 s, 30 s, 60 s or 300 s."""
    times = [float(r["at"]) for r in requests]
    span = max(times) - min(times) if times else 0.0
    for window in (10.0, 30.0, WINDOW_SECONDS):
        if span <= 12 * window:
            return window
    return 5 * WINDOW_SECONDS


def hit_ratio_over_time(
    requests: Sequence[Row], window: float | None = None
) -> list[tuple[float, float, int]]:
    """``(window start, share of Hit, requests)`` per ``window`` seconds of the traces (by
    default :func:`window_for` the requests)."""
    window = window or window_for(requests)
    buckets: dict[int, list[Row]] = {}
    for r in requests:
        buckets.setdefault(int(float(r["at"]) // window), []).append(r)
    return [
        (k * window, sum(1 for r in rs if r["cache"] == "Hit") / len(rs), len(rs))
        for k, rs in sorted(buckets.items())
    ]


def went_source(state: Row) -> tuple[str, list[Row]]:
    """The requests "which viewer went where" counts: the traces' when traces were handed in,
    else the distribution's latest requests; and what to call them."""
    if state["requests"]:
        return "traced requests", list(state["requests"])
    return "latest requests", list(state["recent"])


def where_viewers_went(requests: Sequence[Row]) -> list[tuple[str, str, int, int, int, float]]:
    """``(viewer, edge location, requests, hits, blocked, mean latency ms)`` per pair."""
    pairs: dict[tuple[str, str], list[Row]] = {}
    for r in requests:
        pairs.setdefault((str(r["viewer"]), str(r["pop"]) or "(none)"), []).append(r)
    rows = []
    for (viewer, pop), rs in pairs.items():
        answered = [float(r["latency_ms"]) for r in rs if r["status"]]
        rows.append(
            (
                viewer,
                pop,
                len(rs),
                sum(1 for r in rs if r["cache"] == "Hit"),
                sum(1 for r in rs if r["blocked"]),
                sum(answered) / len(answered) if answered else 0.0,
            )
        )
    return rows


def request_mark(r: Row) -> str:
    """A request's outcome in words: ``⊘ blocked (geo)``, ``✓ Hit``, ``✕ 403 Error``, ..."""
    if r["blocked"]:
        return "⊘ blocked by geo restriction (403)"
    if not r["status"]:
        return "✕ no answer"
    if r["status"] >= 400:
        return f"✕ {r['status']} {r['cache']}".rstrip()
    return f"✓ {r['cache'] or r['status']}"


# -- HTML -----------------------------------------------------------------------------------
_CARD = (
    f"border:1px solid {RULE};border-radius:4px;padding:4px 8px;margin:4px 6px 4px 0;"
    "min-width:300px;max-width:560px;flex:1 1 340px;text-align:left"
)


def _card_html(pop: Row) -> str:
    entries = list(pop["entries"])
    shown = entries[-ENTRIES_SHOWN:]
    lines = "".join(
        f'<div style="margin:1px 0;text-align:left"><code style="white-space:nowrap">'
        f"{esc(_entry_label(e))}</code> "
        f'<span style="{SMALL};white-space:nowrap">age {esc(duration(e["age"]))}</span> · '
        f'<span style="white-space:nowrap">{esc(entry_state(e))}</span></div>'
        for e in shown
    )
    more = (
        f'<div style="{SMALL}">and {len(entries) - len(shown)} more</div>'
        if len(entries) > len(shown)
        else ""
    )
    empty = f'<div style="{SMALL}">empty cache</div>' if not entries else ""
    return (
        f'<div style="{_CARD}"><div style="font-weight:600">{esc(pop["pop"])} · '
        f"{esc(pop['city'])}</div>"
        f'<div style="{SMALL}">{esc(pop_line(pop).split(": ", 1)[1])}</div>'
        f"{lines}{more}{empty}</div>"
    )


def grid_html(pops: Sequence[Row]) -> str:
    """Edge locations as cards in a grid, one row of cards per pricing region."""
    parts = []
    for region, members in by_region(pops):
        cards = "".join(_card_html(p) for p in members)
        parts.append(
            f'<div style="margin-top:6px"><div style="font-weight:600;background:{SHADE};'
            f'padding:2px 6px">{esc(region)} · {esc(plural(len(members), "edge location"))}'
            f'</div><div style="display:flex;flex-wrap:wrap">{cards}</div></div>'
        )
    return "".join(parts)


def sparkline_svg(series: Sequence[tuple[float, float, int]]) -> str:
    """Hit ratio over time as an inline SVG: dots joined by a line, 0 % and 100 % marked."""
    if not series:
        return ""
    w, h, left, top = 520, 90, 44, 8
    span = max(series[-1][0] - series[0][0], 1.0)
    plot_w, plot_h = w - left - 10, h - top - 22

    def xy(t: float, ratio: float) -> tuple[float, float]:
        return left + (t - series[0][0]) / span * plot_w, top + (1 - ratio) * plot_h

    points = [xy(t, r) for t, r, _ in series]
    path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(points))
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="currentColor"><title>'
        f"{esc(f'{t:.0f} s: {r:.0%} hits of {n}')}</title></circle>"
        for (x, y), (t, r, n) in zip(points, series, strict=True)
    )
    axis = (
        f'<text x="{left - 6}" y="{top + 4}" font-size="10" text-anchor="end" '
        f'fill="currentColor">100%</text><text x="{left - 6}" y="{top + plot_h + 4}" '
        f'font-size="10" text-anchor="end" fill="currentColor">0%</text>'
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" '
        f'stroke="currentColor" stroke-opacity="0.4"/>'
        f'<text x="{left}" y="{h - 4}" font-size="10" fill="currentColor">'
        f"{series[0][0]:.0f} s</text>"
        f'<text x="{left + plot_w}" y="{h - 4}" font-size="10" text-anchor="end" '
        f'fill="currentColor">{series[-1][0]:.0f} s into the trace</text>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" '
        f'aria-label="Hit ratio over time" style="display:block;max-width:100%;color:inherit">'
        f'{axis}<path d="{path}" fill="none" stroke="currentColor" stroke-width="1.5"/>'
        f"{dots}</svg>"
    )


VIEWER_COLUMNS = (
    Column("viewer"),
    Column("country"),
    Column("edge location", mono=True),
    Column("hit latency"),
    Column("geo restriction"),
)
WENT_COLUMNS = (
    Column("viewer"),
    Column("edge location", mono=True),
    Column("requests"),
    Column("hits"),
    Column("blocked"),
    Column("mean latency"),
)
REQUEST_COLUMNS = (
    Column("lab time"),
    Column("viewer"),
    Column("path", mono=True),
    Column("edge location", mono=True),
    Column("outcome"),
    Column("latency"),
)
INVALIDATION_COLUMNS = (Column("id", mono=True), Column("paths", mono=True), Column("status"))


def _viewer_groups(state: Row) -> list[Group]:
    rows = tuple(
        (
            v["viewer"],
            v["country"],
            f"{v['pop']} ({v['city']})",
            f"{v['hit_ms']:.0f} ms",
            "⊘ blocked (403)" if v["blocked"] else "✓ allowed",
        )
        for v in state["viewers"]
    )
    return [Group("viewers now", plural(len(rows), "viewer"), rows)] if rows else []


def _went_groups(state: Row) -> list[Group]:
    source, requests = went_source(state)
    rows = tuple(
        (viewer, pop, str(n), str(hits), f"⊘ {blocked}" if blocked else "0", f"{ms:.0f} ms")
        for viewer, pop, n, hits, blocked, ms in where_viewers_went(requests)
    )
    title = f"which viewer went where, {source}"
    return [Group(title, plural(len(rows), "pair"), rows)] if rows else []


def _request_path(r: Row) -> str:
    method = str(r.get("method") or "")
    return f"{method} {r['path']}" if method and method != "GET" else str(r["path"])


def _request_groups(state: Row, limit: int) -> list[Group]:
    """The latest requests of the distribution's log (every request, whoever sent it)."""
    requests = list(state["recent"])
    shown = requests[-limit:] if limit else requests
    rows = tuple(
        (
            _clock(r["at"]),
            r["viewer"],
            _request_path(r),
            r["pop"] or "–",
            request_mark(r),
            f"{r['latency_ms']:.0f} ms" if r["status"] else "–",
        )
        for r in shown
    )
    blocked = sum(1 for r in requests if r["blocked"])
    count = f"{len(shown)} of the {len(requests)} kept" + (
        f", {blocked} blocked" if blocked else ""
    )
    return [Group("latest requests", count, rows)] if rows else []


def _invalidation_groups(state: Row) -> list[Group]:
    rows = tuple(
        (
            i["id"],
            ", ".join(i["paths"]),
            ("◌ in progress" if i["status"] == "InProgress" else "✓ completed")
            + f" (takes effect at {_clock(i['effective_at'])})",
        )
        for i in state["invalidations"]
    )
    return [Group("invalidations", plural(len(rows), "invalidation"), rows)] if rows else []


def render_html(state: Row, *, notice: str = "", hint: str = "") -> str:
    """A distribution's edge as self-contained HTML: caches by region, viewers, its latest
    requests (whoever sent them) and the traces handed in.

    Args:
        state: :func:`distribution_state` of a snapshot.
        notice: Something the reader must know first, shown above.
        hint: A sentence added at the end (how the view updates).
    """
    body = notice_html("⚠", notice) if notice else ""
    body += f'<div style="{SMALL}">origins: {esc("; ".join(state["origins"]) or "none")}</div>'
    if state["pops"]:
        body += grid_html(state["pops"])
    elif state.get("recent"):
        body += '<div style="margin-top:4px">No edge location has cached anything yet.</div>'
    else:
        body += (
            '<div style="margin-top:4px">No edge location has cached anything yet. Send a '
            f"request, for example <code>{esc(EXAMPLE)}</code>.</div>"
        )
    if state["invalidations"]:
        body += table_html(INVALIDATION_COLUMNS, _invalidation_groups(state))
    if state["viewers"]:
        body += table_html(VIEWER_COLUMNS, _viewer_groups(state))
    if state["requests"]:
        window = window_for(state["requests"])
        series = hit_ratio_over_time(state["requests"], window)
        body += (
            f'<div style="margin-top:6px;font-weight:600">Traced requests: share answered '
            f"from the cache (Hit) per {window:.0f} s</div>" + sparkline_svg(series)
        )
    for columns, groups in (
        (WENT_COLUMNS, _went_groups(state)),
        (REQUEST_COLUMNS, _request_groups(state, REQUESTS_SHOWN)),
    ):
        if groups:
            body += table_html(columns, groups)
    if hint:
        body += f'<div style="{SMALL};margin-top:4px">{esc(hint)}</div>'
    return panel_html(kind="cache", heading=heading(state), subheading=subheading(state), body=body)


def render_text(state: Row, *, notice: str = "", hint: str = "") -> str:
    """The same as plain text: one block per pricing region, one line per cached entry."""
    lines = [f"{heading(state)} · {subheading(state)}"]
    if notice:
        lines.append(f"⚠ {notice}")
    lines.append("origins: " + ("; ".join(state["origins"]) or "none"))
    if not state["pops"]:
        lines.append(
            "No edge location has cached anything yet."
            + ("" if state.get("recent") else f" Send a request: {EXAMPLE}")
        )
    for region, members in by_region(state["pops"]):
        lines.append("")
        lines.append(f"[{region}]")
        for pop in members:
            lines.append(f"  {pop_line(pop)}")
            entries = list(pop["entries"])
            for e in entries[-ENTRIES_SHOWN:]:
                lines.append(f"    {_entry_label(e)}  age {duration(e['age'])}  {entry_state(e)}")
            if len(entries) > ENTRIES_SHOWN:
                lines.append(f"    and {len(entries) - ENTRIES_SHOWN} more")
    for columns, groups in (
        (INVALIDATION_COLUMNS, _invalidation_groups(state)),
        (VIEWER_COLUMNS, _viewer_groups(state)),
    ):
        if groups:
            lines.append("")
            lines.extend(text_table(columns, groups))
    if state["requests"]:
        lines.append("")
        window = window_for(state["requests"])
        series = hit_ratio_over_time(state["requests"], window)
        lines.append(
            f"hit ratio per {window:.0f} s of traced requests: "
            + "  ".join(f"{t:.0f}s {r:.0%}" for t, r, _ in series)
        )
    for traffic_columns, traffic in (
        (WENT_COLUMNS, _went_groups(state)),
        (REQUEST_COLUMNS, _request_groups(state, REQUESTS_SHOWN)),
    ):
        if traffic:
            lines.append("")
            lines.extend(text_table(traffic_columns, traffic))
    if hint:
        lines.append(hint)
    return "\n".join(lines)


__all__ = [
    "by_region",
    "distribution_state",
    "duration",
    "entry_state",
    "hit_ratio_over_time",
    "render_html",
    "render_text",
    "request_mark",
    "where_viewers_went",
]
