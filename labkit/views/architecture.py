"""The architecture map as SVG inside HTML, and as text: what ``lab.map()`` shows.

Plain functions over a snapshot: an :class:`~labkit.sandbox.architecture.ArchitectureMap`, or the
same as plain values (what the widget keeps). Nothing here reads AWS.

The layout is deterministic (the same sandbox draws the same picture, byte for byte): AWS
diagrams' grouping, outside-in from left to right. Endpoints outside AWS stand left of the AWS
Cloud box; inside it, the account's edge services (CloudFront, Global Accelerator) come first,
then one box per Region, stacked, each with its front door, compute, integration and data
columns. Nodes keep the snapshot's order within a column. Colour never carries meaning: a broken
edge is dashed and marked ✗ with its status in words, a missing resource is a dashed box that
says so, and the table and the text form under the picture list every edge with its reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labkit.views.base import (
    MONO,
    RULE,
    SHADE,
    Column,
    Group,
    clean,
    esc,
    panel_html,
    plain,
    plural,
    snapshot_time,
    table_html,
    text_table,
)

#: What each edge status looks like: a symbol, words, and whether the line is dashed.
STATUS_MARKS: Mapping[str, tuple[str, str, bool]] = {
    "ok": ("✓", "allowed", False),
    "broken": ("✗", "BROKEN", True),
    "missing": ("✗", "MISSING", True),
    "denied on AWS": ("⚠", "DENIED ON AWS", True),
    "disabled": ("⊘", "disabled", True),
}

#: The columns of a Region box, left to right.
REGION_TIERS: tuple[str, ...] = ("front door", "compute", "integration", "data")

NODE_W, NODE_H = 168, 46
COL_GAP, ROW_GAP = 56, 14
PAD, HEAD = 14, 24

COLUMNS: tuple[Column, ...] = (
    Column("from", mono=True),
    Column("to", mono=True),
    Column("what"),
    Column("status"),
    Column("flowed"),
    Column("why"),
)

#: How to read the picture, in words (shown under it).
LEGEND = (
    "Solid arrow ✓: the call is allowed (the number is what went along it). Dashed arrow: "
    "✗ broken (a policy refuses it), ✗ missing (it names what the sandbox lacks), ⚠ denied on "
    "AWS (the sandbox lets it pass, AWS would not), ⊘ disabled. The table says why."
)

EXAMPLE = 'lab.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)'


def as_state(snapshot: Any) -> dict[str, Any]:
    """A map (or its plain form) as plain values: ``{"account", "nodes", "edges", "now",
    "problems"}``."""
    state = plain(snapshot) if not isinstance(snapshot, Mapping) else dict(snapshot)
    return {
        "account": str(state.get("account", "")),
        "nodes": list(state.get("nodes", [])),
        "edges": list(state.get("edges", [])),
        "now": float(state.get("now", 0.0) or 0.0),
        "problems": list(state.get("problems", [])),
    }


def mark(status: str) -> tuple[str, str, bool]:
    """``(symbol, words, dashed)`` of an edge status."""
    return STATUS_MARKS.get(status, ("?", status, True))


def _short(text: str, limit: int = 24) -> str:
    text = clean(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _label(node: Mapping[str, Any]) -> str:
    service, kind = str(node["service"]), str(node["kind"])
    what = service if kind.lower() in service.lower() else f"{service} {kind}"
    return f"{node['name']} ({what})"


# -- layout ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Box:
    """A rectangle on the picture with a title (the AWS Cloud, a Region, a tier)."""

    x: float
    y: float
    w: float
    h: float
    title: str
    dashed: bool = False


@dataclass(frozen=True)
class Layout:
    """Where everything stands: each node's top-left corner by id, the group boxes, the size."""

    places: dict[str, tuple[float, float]]
    boxes: tuple[Box, ...]
    width: float
    height: float


def _column_height(count: int) -> float:
    return count * NODE_H + max(0, count - 1) * ROW_GAP


#: A column of the picture: (0 outside AWS | 1 edge | 2 Region, Region, tier rank, sub-column).
ColumnKey = tuple[int, str, int, int]


def _base_column(node: Mapping[str, Any]) -> ColumnKey:
    if node["service"] == "Outside AWS":
        return (0, "", 0, 0)
    if node["region"] == "global":
        return (1, "", 0, 0)
    tier = node["tier"]
    return (2, node["region"], REGION_TIERS.index(tier) if tier in REGION_TIERS else 9, 0)


def columns(state: Mapping[str, Any], sweeps: int = 2) -> dict[ColumnKey, list[Mapping[str, Any]]]:
    """The nodes by column, each column ordered so that wired nodes stand level.

    A tier whose nodes feed one another (a topic and its queues, a table and its stream) splits
    in two: the nodes fed by another of their tier stand in a second column, right of the rest,
    so that their edges run left to right. Each sweep then sorts every column by the mean row of
    each node's neighbours (the barycentre heuristic of layered drawing), a node without
    neighbours keeping its row; ties keep the snapshot's order,
    so the result depends on the snapshot alone.
    """
    nodes = list(state["nodes"])
    base = {n["id"]: _base_column(n) for n in nodes}
    neighbours: dict[str, list[str]] = {n["id"]: [] for n in nodes}
    feeders: set[str] = set()
    fed: set[str] = set()
    for edge in state["edges"]:
        source, target = edge["source"], edge["target"]
        if source in neighbours and target in neighbours and source != target:
            neighbours[source].append(target)
            neighbours[target].append(source)
            if base[source] == base[target] and base[source][0] == 2:
                feeders.add(source)
                fed.add(target)
    found: dict[ColumnKey, list[Mapping[str, Any]]] = {}
    for node in nodes:
        key = base[node["id"]]
        split = key[0] == 2 and node["id"] in fed and node["id"] not in feeders
        found.setdefault((*key[:3], 1 if split else 0), []).append(node)

    def centre(row: Mapping[str, int], index: int, node: Mapping[str, Any]) -> tuple[float, int]:
        rows = [row[other] for other in neighbours[node["id"]]]
        return (sum(rows) / len(rows) if rows else float(index), index)

    for _ in range(sweeps):
        row = {n["id"]: i for column in found.values() for i, n in enumerate(column)}
        for key, column in found.items():
            ranked = sorted(enumerate(column), key=lambda item: centre(row, *item))
            found[key] = [n for _, n in ranked]
            # The next column follows this one's new order (sorting all at once would swap
            # both ends of a crossing and keep it).
            row.update({n["id"]: i for i, n in enumerate(found[key])})
    return {key: found[key] for key in sorted(found)}


def layout(state: Mapping[str, Any]) -> Layout:
    """Place every node: a pure function of the snapshot (its nodes, and its edges to untangle
    them)."""
    by_column = columns(state)
    outside = by_column.get((0, "", 0, 0), [])
    edge = by_column.get((1, "", 0, 0), [])
    regions = sorted({key[1] for key in by_column if key[0] == 2})
    places: dict[str, tuple[float, float]] = {}
    boxes: list[Box] = []
    x: float = PAD
    top: float = PAD + HEAD
    if outside:
        for i, node in enumerate(outside):
            places[node["id"]] = (x, top + HEAD + i * (NODE_H + ROW_GAP))
        height = HEAD + _column_height(len(outside)) + 10
        boxes.append(Box(x - 6, top, NODE_W + 12, height, "Outside AWS", dashed=True))
        x += NODE_W + COL_GAP
    cloud_x = x
    x += PAD
    inner_top = top + HEAD
    if edge:
        for i, node in enumerate(edge):
            places[node["id"]] = (x + PAD, inner_top + HEAD + i * (NODE_H + ROW_GAP))
        height = HEAD + _column_height(len(edge)) + PAD
        boxes.append(Box(x, inner_top, NODE_W + 2 * PAD, height, "Edge locations (global)"))
        x += NODE_W + 2 * PAD + COL_GAP
    region_x = x
    y: float = inner_top
    widest: float = 0.0
    for region in regions:
        tallest: float = 0.0
        cx = region_x + PAD
        for key, column in by_column.items():
            if key[0] != 2 or key[1] != region:
                continue
            for i, node in enumerate(column):
                places[node["id"]] = (cx, y + 2 * HEAD + i * (NODE_H + ROW_GAP))
            title = REGION_TIERS[key[2]] if key[2] < len(REGION_TIERS) else "other"
            height = HEAD + _column_height(len(column))
            boxes.append(Box(cx - 4, y + HEAD + 2, NODE_W + 8, height, title, dashed=True))
            tallest = max(tallest, _column_height(len(column)))
            cx += NODE_W + COL_GAP
        width = cx - COL_GAP + PAD - region_x
        height = 2 * HEAD + tallest + PAD + 6
        boxes.append(Box(region_x, y, width, height, f"Region {region}"))
        widest = max(widest, width)
        y += height + PAD
    right = max(region_x + widest, x - COL_GAP if not regions else 0) + PAD
    bottom = max([y] + [b.y + b.h + PAD for b in boxes])
    account = state["account"]
    cloud = Box(cloud_x, top, right - cloud_x, bottom - top, f"AWS Cloud · account {account}")
    return Layout(places, (cloud, *boxes), right + PAD, bottom + PAD)


# -- SVG ------------------------------------------------------------------------------------------
def _box_svg(box: Box) -> str:
    dash = ' stroke-dasharray="4 3"' if box.dashed else ""
    return (
        f'<rect x="{box.x:.0f}" y="{box.y:.0f}" width="{box.w:.0f}" height="{box.h:.0f}" rx="6" '
        f'fill="none" stroke="{RULE}"{dash}/>'
        f'<text x="{box.x + 8:.0f}" y="{box.y + 16:.0f}" font-size="12" font-weight="600" '
        f'fill="currentColor">{esc(box.title)}</text>'
    )


def _node_svg(node: Mapping[str, Any], x: float, y: float) -> str:
    missing = bool(node.get("missing"))
    dash = ' stroke-dasharray="5 3"' if missing else ""
    title = f"{_label(node)} in {node['region']}" + (": not in the sandbox" if missing else "")
    second = ("✗ missing: " if missing else "") + str(node["name"])
    return (
        f'<g class="labkit-map-node"><title>{esc(title)}</title>'
        f'<rect x="{x:.0f}" y="{y:.0f}" width="{NODE_W}" height="{NODE_H}" rx="4" '
        f'fill="{SHADE}" stroke="currentColor" stroke-opacity="0.6"{dash}/>'
        f'<text x="{x + 8:.0f}" y="{y + 17:.0f}" font-size="11" fill="currentColor" '
        f'opacity="0.8">{esc(_short(node["service"] + " · " + node["kind"], 26))}</text>'
        f'<text x="{x + 8:.0f}" y="{y + 35:.0f}" font-size="12" fill="currentColor" '
        f'style="{MONO}">{esc(_short(second))}</text></g>'
    )


def _edge_svg(
    edge: Mapping[str, Any], a: tuple[float, float], b: tuple[float, float], arrow: str, lane: int
) -> str:
    symbol, words, dashed = mark(edge["status"])
    ax, ay = a
    bx, by = b
    # Leave from the side facing the target; enter the target's facing side.
    if bx >= ax + NODE_W:
        x1, x2 = ax + NODE_W, bx
    elif bx + NODE_W <= ax:
        x1, x2 = ax, bx + NODE_W
    else:  # same column: leave and enter on the right, bowing outwards
        x1 = x2 = ax + NODE_W
    y1, y2 = ay + NODE_H / 2 + (lane % 3 - 1) * 6, by + NODE_H / 2
    bow = 40 + 12 * (lane % 3) if x1 == x2 else 0
    mx = (x1 + x2) / 2 + bow
    path = f"M{x1:.0f},{y1:.0f} C{mx:.0f},{y1:.0f} {mx:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
    ly = (y1 + y2) / 2 - 4
    if abs(x2 - x1) > NODE_W + 2 * COL_GAP:
        # It skips a column: arc over the boxes between, through the gap above their row.
        over = min(y1, y2) - NODE_H - (lane % 3) * 4
        step = COL_GAP if x2 > x1 else -COL_GAP
        path = (
            f"M{x1:.0f},{y1:.0f} C{x1 + step:.0f},{over:.0f} {x2 - step:.0f},{over:.0f} "
            f"{x2:.0f},{y2:.0f}"
        )
        ly = over + NODE_H / 4
    dash = ' stroke-dasharray="6 4"' if dashed else ""
    count = edge.get("count")
    tag = symbol + (f" {count}" if count is not None and edge["status"] == "ok" else "")
    if edge["status"] != "ok":
        tag = f"{symbol} {words.lower()}"
    title = f"{edge['kind']} {edge['label']}: {words}. {edge['flow']}. {edge['reason']}"
    lx = (x1 + x2) / 2 + bow * 0.75
    return (
        f'<g class="labkit-map-edge" data-status="{esc(edge["status"])}"><title>{esc(title)}'
        f'</title><path d="{path}" fill="none" stroke="currentColor" stroke-width="1.4"{dash} '
        f'marker-end="url(#{arrow})"/>'
        f'<text x="{lx:.0f}" y="{ly:.0f}" font-size="11" text-anchor="middle" '
        'fill="currentColor">'
        f"{esc(tag)}</text></g>"
    )


def svg(state: Mapping[str, Any]) -> str:
    """The map as an inline SVG element (no script, no external reference)."""
    placed = layout(state)
    digest = hashlib.sha1(repr((state["nodes"], state["edges"])).encode()).hexdigest()[:8]
    arrow = f"labkit-map-arrow-{digest}"
    parts = [_box_svg(box) for box in placed.boxes]
    for lane, edge in enumerate(state["edges"]):
        a, b = placed.places.get(edge["source"]), placed.places.get(edge["target"])
        if a is not None and b is not None:
            parts.append(_edge_svg(edge, a, b, arrow, lane))
    for node in state["nodes"]:
        if node["id"] in placed.places:
            parts.append(_node_svg(node, *placed.places[node["id"]]))
    broken = sum(1 for e in state["edges"] if e["status"] != "ok")
    summary = (
        f"Architecture map: {plural(len(state['nodes']), 'resource')}, "
        f"{plural(len(state['edges']), 'connection')}, {broken} not working."
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{esc(summary)}" '
        f'width="{placed.width:.0f}" height="{placed.height:.0f}" '
        f'viewBox="0 0 {placed.width:.0f} {placed.height:.0f}" '
        'style="font-family:inherit;color:inherit">'
        f'<defs><marker id="{arrow}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="currentColor"/></marker></defs>'
        f"{''.join(parts)}</svg>"
    )


# -- tables and text ------------------------------------------------------------------------------
def heading(state: Mapping[str, Any]) -> str:
    """``Architecture map: 12 resources, 9 connections (2 not working)``."""
    if not state["nodes"]:
        return "Architecture map: empty"
    edges = state["edges"]
    bad = sum(1 for e in edges if e["status"] != "ok")
    tail = f" ({bad} not working)" if bad else ""
    return (
        f"Architecture map: {plural(len(state['nodes']), 'resource')}, "
        f"{plural(len(edges), 'connection')}{tail}"
    )


def edge_rows(state: Mapping[str, Any]) -> list[Group]:
    """The edges as table groups, one group per kind of wiring, problems first."""
    names = {n["id"]: n for n in state["nodes"]}
    by_kind: dict[str, list[tuple[str, ...]]] = {}
    ordered = sorted(state["edges"], key=lambda e: (e["status"] == "ok", e["kind"]))
    for edge in ordered:
        symbol, words, _ = mark(edge["status"])
        source, target = names.get(edge["source"]), names.get(edge["target"])
        by_kind.setdefault(edge["kind"], []).append(
            (
                source["name"] if source else edge["source"],
                target["name"] if target else edge["target"],
                edge["label"],
                f"{symbol} {words}",
                edge["flow"] or "not recorded",
                edge["reason"],
            )
        )
    return [
        Group(kind, plural(len(rows), "connection"), tuple(rows)) for kind, rows in by_kind.items()
    ]


def node_lines(state: Mapping[str, Any]) -> list[str]:
    """Every node, grouped as the picture groups them (edge, each Region's tiers)."""
    lines: list[str] = []
    groups: dict[str, list[Mapping[str, Any]]] = {}
    tiers = ("edge", *REGION_TIERS)

    def where_first(node: Mapping[str, Any]) -> tuple[int, str, int]:
        # Outside AWS, then the edge, then each Region (by name) tier by tier: the picture's order.
        outside = node["service"] == "Outside AWS"
        rank = tiers.index(node["tier"]) if node["tier"] in tiers else len(tiers)
        return (0 if outside else 1 if node["region"] == "global" else 2, node["region"], rank)

    for node in sorted(state["nodes"], key=where_first):
        where = (
            "Outside AWS"
            if node["service"] == "Outside AWS"
            else "Edge (global)"
            if node["region"] == "global"
            else f"Region {node['region']} · {node['tier']}"
        )
        groups.setdefault(where, []).append(node)
    for where, nodes in groups.items():
        lines.append(f"{where}:")
        for node in nodes:
            missing = "✗ MISSING (not in the sandbox) " if node.get("missing") else ""
            detail = f" · {node['detail']}" if node.get("detail") and not missing else ""
            lines.append(f"  {missing}{clean(_label(node))}{clean(detail)}")
    return lines


def _lab_time(now: float) -> str:
    return snapshot_time({"now": now})


def render_html(snapshot: Any, *, notice: str = "", hint: str = "") -> str:
    """The map: the picture, then every connection in a table with its status and reason."""
    state = as_state(snapshot)
    if not state["nodes"]:
        body = (
            '<div style="margin-top:4px">Nothing to draw yet: create resources and wire them, for '
            f"example <code>{esc(EXAMPLE)}</code>.</div>"
        )
        return panel_html(
            kind="map",
            heading=heading(state),
            subheading=_lab_time(state["now"]),
            body=body,
            notice=notice,
            hint=hint,
        )
    body = f'<div style="overflow-x:auto;margin-top:4px">{svg(state)}</div>'
    body += f'<div style="opacity:0.85;margin:2px 0">{esc(LEGEND)}</div>'
    groups = edge_rows(state)
    if groups:
        body += table_html(COLUMNS, groups)
    else:
        body += '<div style="margin-top:4px">No connections yet: nothing is wired together.</div>'
    for problem in state["problems"]:
        body += f'<div style="margin-top:4px">⚠ labkit could not read: {esc(problem)}</div>'
    return panel_html(
        kind="map",
        heading=heading(state),
        subheading=_lab_time(state["now"]),
        body=body,
        notice=notice,
        hint=hint,
    )


def render_text(snapshot: Any, *, notice: str = "", hint: str = "") -> str:
    """The same map as text: every resource by where it stands, then every connection."""
    state = as_state(snapshot)
    when = _lab_time(state["now"])
    lines = [heading(state) + (f" · {when}" if when else "")]
    if notice:
        lines.append(f"! {notice}")
    if not state["nodes"]:
        lines.append("Nothing to draw yet: create resources and wire them, for example")
        lines.append(f"    {EXAMPLE}")
    else:
        lines.extend(node_lines(state))
        groups = edge_rows(state)
        if groups:
            lines.append("Connections:")
            lines.extend(text_table(COLUMNS, groups, group_label="wiring"))
        else:
            lines.append("No connections yet: nothing is wired together.")
        lines.extend(f"⚠ labkit could not read: {p}" for p in state["problems"])
    if hint:
        lines.append(hint)
    return "\n".join(lines)


def edge_words(edges: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per edge (``✗ BROKEN SNS subscription ...``), for hints and checks."""
    return [
        f"{mark(e['status'])[0]} {mark(e['status'])[1]} {e['kind']} {e['label']}: {e['reason']}"
        for e in edges
    ]


__all__ = [
    "COLUMNS",
    "STATUS_MARKS",
    "as_state",
    "columns",
    "edge_rows",
    "edge_words",
    "heading",
    "layout",
    "mark",
    "node_lines",
    "render_html",
    "render_text",
    "svg",
]
