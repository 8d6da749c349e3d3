"""The edge as HTML, as text and as plots: CloudFront's caches by edge location, and accelerators.

Plain functions over snapshots kept as plain dicts (what the widgets sync), made from
:mod:`labkit.sandbox.edge_inspect` snapshots by :func:`distribution_state` and
:func:`accelerator_state`. Nothing here reads AWS.

Words and symbols carry every distinction, never colour: a fresh cache entry says ``fresh`` and
its TTL left, a stale one ``stale``, an invalidated one ``invalidated``; a request geo
restriction refused is marked ``⊘ blocked``; plots tell lines apart by style and marker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime, timezone
from typing import Any

from labkit.views.base import (
    RULE,
    SHADE,
    Column,
    Group,
    esc,
    notice_html,
    panel_html,
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
def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def distribution_state(snapshot: Any) -> dict[str, Any]:
    """A :class:`~labkit.sandbox.edge_inspect.DistributionSnapshot` as plain, JSON-able values."""
    state: dict[str, Any] = _plain(snapshot)
    for pop in state["pops"]:
        total = pop["hits"] + pop["refresh_hits"] + pop["misses"] + pop["errors"]
        pop["requests"] = total
    return state


def accelerator_state(snapshot: Any) -> dict[str, Any]:
    """An :class:`~labkit.sandbox.edge_inspect.AcceleratorSnapshot` as plain values."""
    state: dict[str, Any] = _plain(snapshot)
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
_SMALL = "opacity:0.85;font-size:92%"


def _card_html(pop: Row) -> str:
    entries = list(pop["entries"])
    shown = entries[-ENTRIES_SHOWN:]
    lines = "".join(
        f'<div style="margin:1px 0;text-align:left"><code style="white-space:nowrap">'
        f"{esc(_entry_label(e))}</code> "
        f'<span style="{_SMALL};white-space:nowrap">age {esc(duration(e["age"]))}</span> · '
        f'<span style="white-space:nowrap">{esc(entry_state(e))}</span></div>'
        for e in shown
    )
    more = (
        f'<div style="{_SMALL}">and {len(entries) - len(shown)} more</div>'
        if len(entries) > len(shown)
        else ""
    )
    empty = f'<div style="{_SMALL}">empty cache</div>' if not entries else ""
    return (
        f'<div style="{_CARD}"><div style="font-weight:600">{esc(pop["pop"])} · '
        f"{esc(pop['city'])}</div>"
        f'<div style="{_SMALL}">{esc(pop_line(pop).split(": ", 1)[1])}</div>'
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
    body += f'<div style="{_SMALL}">origins: {esc("; ".join(state["origins"]) or "none")}</div>'
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
        body += f'<div style="{_SMALL};margin-top:4px">{esc(hint)}</div>'
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


# -- accelerators ------------------------------------------------------------------------------
GROUP_COLUMNS = (
    Column("Region"),
    Column("traffic dial"),
    Column("health checks"),
    Column("notices a failure within"),
    Column("endpoints (weight, health)", mono=True),
)
ROUTE_COLUMNS = (
    Column("viewer"),
    Column("enters at"),
    Column("goes to"),
    Column("why"),
    Column("answers"),
    Column("via accelerator"),
    Column("direct internet"),
)

_HEALTH = {"HEALTHY": "✓ healthy", "UNHEALTHY": "✕ unhealthy", "INITIAL": "◌ initial"}
_REASONS = {
    "nearest": "nearest Region",
    "traffic-dial": "traffic dial",
    "failover": "failover (nearest unhealthy)",
    "fail-open": "fail open (nothing healthy)",
    "refused": "refused: no listener",
}


def accelerator_heading(state: Row) -> str:
    """``Global Accelerator web: 2 static IPs 75.2.0.1, 99.83.0.1 (DEPLOYED)``."""
    ips = ", ".join(state["ip_addresses"])
    enabled = "" if state["enabled"] else ", disabled"
    return (
        f"Global Accelerator {state['name']}: {plural(len(state['ip_addresses']), 'static IP')} "
        f"{ips} ({state['status']}{enabled})"
    )


def _group_groups(state: Row) -> list[Group]:
    groups = []
    for listener in state["listeners"]:
        rows = tuple(
            (
                g["region"],
                f"{g['traffic_dial']:g} %",
                f"{g['health_check']}, every {g['interval']} s, {g['threshold']} in a row",
                f"{g['interval'] * g['threshold']} s",
                "; ".join(
                    f"{e['endpoint_id']} ({e['weight']}, {_HEALTH.get(e['health'], e['health'])})"
                    for e in g["endpoints"]
                )
                or "none",
            )
            for g in listener["groups"]
        )
        title = f"{listener['protocol']} listener, port {listener['ports']}"
        affinity = "" if listener["client_affinity"] == "NONE" else ", client affinity SOURCE_IP"
        groups.append(Group(title + affinity, plural(len(rows), "endpoint group"), rows))
    return groups


def _route_groups(state: Row) -> list[Group]:
    rows = tuple(
        (
            r["viewer"],
            r["edge"] or "–",
            f"{r['region']} {r['endpoint_id']}".strip() or "nowhere",
            _REASONS.get(r["reason"], r["reason"]),
            "✓ yes" if r["healthy"] else "✕ no (times out)",
            f"{r['latency_ms']:.0f} ms" if r["latency_ms"] else "–",
            f"{r['direct_ms']:.0f} ms" if r["direct_ms"] else "–",
        )
        for r in state["routes"]
    )
    return [Group("where a connection goes now", plural(len(rows), "viewer"), rows)] if rows else []


def accelerator_html(state: Row, *, notice: str = "", hint: str = "") -> str:
    """An accelerator as self-contained HTML: endpoint groups with health, and routes."""
    body = notice_html("⚠", notice) if notice else ""
    body += f'<div style="{_SMALL}">DNS name {esc(state["dns_name"])}</div>'
    groups = _group_groups(state)
    if groups:
        body += table_html(GROUP_COLUMNS, groups)
    else:
        body += (
            '<div style="margin-top:4px">No listener yet: create one with create_listener.</div>'
        )
    if state["routes"]:
        body += table_html(ROUTE_COLUMNS, _route_groups(state))
    if hint:
        body += f'<div style="{_SMALL};margin-top:4px">{esc(hint)}</div>'
    sub = f"lab time {datetime.fromtimestamp(state['now'], tz=timezone.utc):%H:%M:%S} UTC"
    return panel_html(
        kind="accelerator", heading=accelerator_heading(state), subheading=sub, body=body
    )


def accelerator_text(state: Row, *, notice: str = "", hint: str = "") -> str:
    """The same as aligned plain text."""
    sub = f"lab time {datetime.fromtimestamp(state['now'], tz=timezone.utc):%H:%M:%S} UTC"
    lines = [f"{accelerator_heading(state)} · {sub}", f"DNS name {state['dns_name']}"]
    if notice:
        lines.insert(1, f"⚠ {notice}")
    groups = _group_groups(state)
    if groups:
        lines.extend(text_table(GROUP_COLUMNS, groups, group_label="listener"))
    else:
        lines.append("No listener yet: create one with create_listener.")
    if state["routes"]:
        lines.append("")
        lines.extend(text_table(ROUTE_COLUMNS, _route_groups(state)))
    if hint:
        lines.append(hint)
    return "\n".join(lines)


# -- plots -------------------------------------------------------------------------------------
#: Hatches and markers that tell series apart without colour.
HATCHES = ("", "///", "...", "xx", "\\\\", "++")
STYLES = (("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"), ((0, (5, 1)), "v"), ((0, (1, 3)), "x"))


def latency_table(rows: Sequence[tuple[str, Mapping[str, float]]]) -> str:
    """The text form of :func:`latency_plot`: one line per viewer, one column per way."""
    ways = list(dict.fromkeys(w for _, values in rows for w in values))
    table = [["viewer", *ways]]
    table += [
        [viewer, *(f"{values[w]:.0f} ms" if w in values else "–" for w in ways)]
        for viewer, values in rows
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = []
    for n, row in enumerate(table):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def latency_plot(
    rows: Sequence[tuple[str, Mapping[str, float]]], *, title: str = "Latency per viewer"
) -> Any:
    """Horizontal bars: for each viewer, one bar per way of reaching the content (hatched
    differently, labelled with its value in ms). Print :func:`latency_table` beside it.

    Args:
        rows: ``(viewer, {way: milliseconds})`` pairs.
        title: The plot's title.

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    ways = list(dict.fromkeys(w for _, values in rows for w in values))
    n = max(len(ways), 1)
    fig, ax = plt.subplots(figsize=(9, 0.9 + (0.2 * n + 0.25) * len(rows)))
    height = 0.8 / n
    for k, way in enumerate(ways):
        ys = [i + k * height for i in range(len(rows))]
        values = [values.get(way, 0.0) for _, values in rows]
        bars = ax.barh(
            ys,
            values,
            height=height * 0.95,
            color="white",
            edgecolor="black",
            hatch=HATCHES[k % len(HATCHES)],
            label=way,
        )
        ax.bar_label(
            bars, labels=[f"{v:.0f} ms" if v else "" for v in values], padding=3, fontsize=8
        )
    ax.set_yticks([i + height * (n - 1) / 2 for i in range(len(rows))], [v for v, _ in rows])
    ax.invert_yaxis()
    ax.set_xlabel("modelled time to first byte (ms)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8, frameon=True)
    ax.set_xlim(0, max([v for _, values in rows for v in values.values()] + [1]) * 1.18)
    fig.tight_layout()
    return fig


def lines_plot(
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    percent: bool = False,
    marks: Sequence[tuple[float, str]] = (),
) -> Any:
    """Lines told apart by style and marker (hit ratio over time, traffic share per Region).

    Args:
        series: ``name -> [(x, y), ...]``.
        title: The title.
        xlabel: The x axis label.
        ylabel: The y axis label.
        percent: Show y (a share between 0 and 1) as percent.
        marks: ``(x, label)`` vertical lines to mark events (a deploy, a failure).

    Returns:
        The matplotlib figure.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.4))
    for k, (name, points) in enumerate(series.items()):
        line, marker = STYLES[k % len(STYLES)]
        ax.plot(
            [x for x, _ in points],
            [y * 100 if percent else y for _, y in points],
            linestyle=line,
            marker=marker,
            markevery=max(1, len(points) // 24),
            color="black",
            markersize=4,
            label=name,
        )
    for x, label in marks:
        ax.axvline(x, color="black", linewidth=0.8, linestyle=(0, (2, 2)))
        ax.annotate(
            label,
            (x, 0.0),
            xycoords=("data", "axes fraction"),
            fontsize=8,
            xytext=(3, 4),
            textcoords="offset points",
        )
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel + (" (%)" if percent else ""))
    if percent:
        ax.set_ylim(-3, 103)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


__all__ = [
    "accelerator_html",
    "accelerator_state",
    "accelerator_text",
    "by_region",
    "distribution_state",
    "duration",
    "entry_state",
    "hit_ratio_over_time",
    "latency_plot",
    "latency_table",
    "lines_plot",
    "render_html",
    "render_text",
    "request_mark",
    "where_viewers_went",
]
