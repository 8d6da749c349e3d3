"""The architecture map as SVG inside HTML, and as text: what ``lab.map()`` shows.

Plain functions over a snapshot: an :class:`~labkit.sandbox.architecture.ArchitectureMap`, or the
same as plain values (what the widget keeps). Nothing here reads AWS.

The layout is deterministic (the same sandbox draws the same picture, byte for byte): AWS
diagrams' grouping, outside-in from top to bottom. Endpoints outside AWS stand in a band above
the AWS Cloud box; inside it, the account's edge services (CloudFront, Global Accelerator) stand in
a band across the top, then one box per Region, stacked, each with its front door, compute,
integration and data columns, at the same x in every Region. Nodes are ordered within a column to
keep wired nodes level, and an edge that skips a column runs through the gaps between nodes.
Colour never carries meaning: a broken edge is dashed and marked ✗ with its status in words, a
missing resource is a dashed box that says so, and the table and the text form under the picture
list every edge with its reason.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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

# Sized so that a Region with every tier, two of them split, fits a notebook's ~1,000 pixels.
NODE_W, NODE_H = 140, 54
COL_GAP, SUB_GAP, ROW_GAP, BAND_GAP = 44, 32, 14, 26
PAD, HEAD = 14, 24
#: Characters of a name on one line of a node (11 px monospace in NODE_W less its margins).
NAME_CHARS = 18

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
    """Where everything stands: each node's top-left corner by id, the group boxes, the size, and
    the nodes standing in a band across the top (outside AWS, edge locations) with the y of the
    lane under each band that their edges follow."""

    places: dict[str, tuple[float, float]]
    boxes: tuple[Box, ...]
    width: float
    height: float
    lanes: dict[str, float] = field(default_factory=dict)


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


def _band(
    nodes: Sequence[Mapping[str, Any]], x: float, y: float, title: str, *, dashed: bool
) -> tuple[dict[str, tuple[float, float]], Box]:
    """A row of nodes in a titled box whose top-left corner is ``(x, y)``."""
    places = {n["id"]: (x + PAD + i * (NODE_W + COL_GAP), y + HEAD) for i, n in enumerate(nodes)}
    wide = len(nodes) * (NODE_W + COL_GAP) - COL_GAP + 2 * PAD
    return places, Box(x, y, max(wide, 190.0), HEAD + NODE_H + PAD, title, dashed)


def layout(state: Mapping[str, Any]) -> Layout:
    """Place every node: a pure function of the snapshot (its nodes, and its edges to untangle
    them).

    Endpoints outside AWS stand in a band above the AWS Cloud box, and the edge locations in a
    band across its top, so that the Regions below have the picture's whole width: a notebook is
    about 1,000 pixels wide and a Region with every tier fills most of it.
    """
    by_column = columns(state)
    outside = by_column.get((0, "", 0, 0), [])
    edge = by_column.get((1, "", 0, 0), [])
    regions = sorted({key[1] for key in by_column if key[0] == 2})
    places: dict[str, tuple[float, float]] = {}
    lanes: dict[str, float] = {}
    boxes: list[Box] = []
    right: float = 0.0
    y: float = PAD
    if outside:
        found, box = _band(outside, PAD, y, "Outside AWS", dashed=True)
        places.update(found)
        boxes.append(box)
        lanes.update(dict.fromkeys(found, box.y + box.h + BAND_GAP / 2))
        right = box.x + box.w
        y = box.y + box.h + BAND_GAP
    cloud_top = y
    inner_x = PAD + PAD
    y += HEAD
    if edge:
        found, box = _band(edge, inner_x, y, "Edge locations (global)", dashed=False)
        places.update(found)
        boxes.append(box)
        lanes.update(dict.fromkeys(found, box.y + box.h + BAND_GAP / 2))
        right = max(right, box.x + box.w + PAD)
        y = box.y + box.h + BAND_GAP
    # One set of columns for every Region: a tier stands at the same x in each, so an edge between
    # Regions (a table and its replica) runs down its own column instead of across the picture.
    # The two halves of a split tier stand closer than two tiers do.
    column_x: dict[tuple[int, int], float] = {}
    cx = inner_x + PAD
    previous: tuple[int, int] | None = None
    for tier, sub in sorted({(key[2], key[3]) for key in by_column if key[0] == 2}):
        if previous is not None:
            cx += NODE_W + (SUB_GAP if previous[0] == tier else COL_GAP)
        column_x[tier, sub] = cx
        previous = (tier, sub)
    width = cx + NODE_W + PAD - inner_x if column_x else 0.0
    for region in regions:
        tallest: float = 0.0
        tiers: dict[int, list[tuple[float, float]]] = {}
        for key, column in by_column.items():
            if key[0] != 2 or key[1] != region:
                continue
            x = column_x[key[2], key[3]]
            for i, node in enumerate(column):
                places[node["id"]] = (x, y + 2 * HEAD + i * (NODE_H + ROW_GAP))
            tiers.setdefault(key[2], []).append((x, _column_height(len(column))))
            tallest = max(tallest, _column_height(len(column)))
        for tier, spans in tiers.items():
            # A tier split in two (a topic and the queues it feeds) keeps one box around both.
            title = REGION_TIERS[tier] if tier < len(REGION_TIERS) else "other"
            left = min(x for x, _ in spans)
            wide = max(x for x, _ in spans) + NODE_W - left
            high = HEAD + max(h for _, h in spans)
            boxes.append(Box(left - 4, y + HEAD + 2, wide + 8, high, title, dashed=True))
        height = 2 * HEAD + tallest + PAD + 6
        boxes.append(Box(inner_x, y, width, height, f"Region {region}"))
        right = max(right, inner_x + width + PAD)
        y += height + PAD
    right = max(right, inner_x + 260)  # room for the Cloud box's title
    account = state["account"]
    cloud = Box(PAD, cloud_top, right - PAD, y - cloud_top, f"AWS Cloud · account {account}")
    return Layout(places, (cloud, *boxes), right + PAD, y + PAD, lanes)


# -- SVG ------------------------------------------------------------------------------------------
def _box_svg(box: Box) -> str:
    dash = ' stroke-dasharray="4 3"' if box.dashed else ""
    return (
        f'<rect x="{box.x:.0f}" y="{box.y:.0f}" width="{box.w:.0f}" height="{box.h:.0f}" rx="6" '
        f'fill="none" stroke="{RULE}"{dash}/>'
        f'<text x="{box.x + 8:.0f}" y="{box.y + 16:.0f}" font-size="12" font-weight="600" '
        f'fill="currentColor">{esc(box.title)}</text>'
    )


def _wrap(text: str, width: int = NAME_CHARS) -> tuple[str, str]:
    """A name on two lines of ``width`` characters, broken after a separator where one is near."""
    text = clean(text)
    if len(text) <= width:
        return text, ""
    cut = max((text.rfind(sep, 0, width) for sep in "-_.@/:· "), default=-1) + 1
    if cut < width // 2:
        cut = width
    return text[:cut], _short(text[cut:], width)


def _node_svg(node: Mapping[str, Any], x: float, y: float) -> str:
    missing = bool(node.get("missing"))
    dash = ' stroke-dasharray="5 3"' if missing else ""
    title = f"{_label(node)} in {node['region']}" + (": not in the sandbox" if missing else "")
    first, second = _wrap(("✗ missing: " if missing else "") + str(node["name"]))
    name = f'<tspan x="{x + 8:.0f}" dy="0">{esc(first)}</tspan>'
    if second:
        name += f'<tspan x="{x + 8:.0f}" dy="14">{esc(second)}</tspan>'
    return (
        f'<g class="labkit-map-node"><title>{esc(title)}</title>'
        f'<rect x="{x:.0f}" y="{y:.0f}" width="{NODE_W}" height="{NODE_H}" rx="4" '
        f'fill="{SHADE}" stroke="currentColor" stroke-opacity="0.6"{dash}/>'
        f'<text x="{x + 8:.0f}" y="{y + 16:.0f}" font-size="10.5" fill="currentColor" '
        f'opacity="0.8">{esc(_short(node["service"] + " · " + node["kind"], 23))}</text>'
        f'<text x="{x + 8:.0f}" y="{y + 33:.0f}" font-size="11" fill="currentColor" '
        f'style="{MONO}">{name}</text></g>'
    )


def _tag(edge: Mapping[str, Any]) -> tuple[str, str]:
    """The words on an edge (its symbol and count, or its status) and its tooltip."""
    symbol, words, _ = mark(edge["status"])
    count = edge.get("count")
    tag = symbol + (f" {count}" if count is not None and edge["status"] == "ok" else "")
    if edge["status"] != "ok":
        tag = f"{symbol} {words.lower()}"
    return tag, f"{edge['kind']} {edge['label']}: {words}. {edge['flow']}. {edge['reason']}"


def _lane_path(
    a: tuple[float, float], b: tuple[float, float], lane: float, down: bool
) -> tuple[str, float, float]:
    """A path between a node in a top band and one below it, through the gaps: along the lane
    under the band, then down (or up) the gap beside the lower node, never across another node.
    Returns the path and where its label goes."""
    if down:  # a stands in the band: leave from its bottom, enter b from its left side
        sx, sy = a[0] + NODE_W / 2, a[1] + NODE_H
        gx = b[0] - SUB_GAP / 2
        ty = b[1] + NODE_H / 2
        path = f"M{sx:.0f},{sy:.0f} V{lane:.0f} H{gx:.0f} V{ty:.0f} H{b[0]:.0f}"
        return path, sx + 4, lane - 4
    sy = a[1] + NODE_H / 2  # b stands in the band: leave a's right side, enter b's bottom
    gx = a[0] + NODE_W + SUB_GAP / 2
    tx, ty = b[0] + NODE_W / 2, b[1] + NODE_H
    path = f"M{a[0] + NODE_W:.0f},{sy:.0f} H{gx:.0f} V{lane:.0f} H{tx:.0f} V{ty:.0f}"
    return path, tx + 4, lane - 4


def _free_level(y1: float, y2: float, blocked: Sequence[tuple[float, float]]) -> float:
    """The height for a horizontal run that crosses none of the ``blocked`` spans of y: ``y1`` or
    ``y2`` when free (one bend fewer), else the middle of the free gap with the least climb."""
    spans = sorted(blocked)
    merged: list[list[float]] = []
    for top, bottom in spans:
        if merged and top <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], bottom)
        else:
            merged.append([top, bottom])

    def free(y: float) -> bool:
        return all(not top <= y <= bottom for top, bottom in merged)

    for y in (y1, y2):
        if free(y):
            return y
    # Between two rows, or under the lowest; above the highest only at a cost, since the tiers'
    # titles stand there.
    gaps = [((a[1] + b[0]) / 2, 0.0) for a, b in itertools.pairwise(merged)]
    if merged:
        gaps += [(merged[0][0] - ROW_GAP / 2, float(HEAD)), (merged[-1][1] + ROW_GAP / 2, 0.0)]
    best = min(gaps, key=lambda g: (abs(g[0] - y1) + abs(g[0] - y2) + g[1], g[0]))
    return best[0]


def _gap_path(
    start: tuple[float, float], end: tuple[float, float], placed: Layout
) -> tuple[str, float, float]:
    """An edge from ``start`` to ``end`` (points on the facing sides of two nodes columns apart):
    out into the gap beside its node, up or down that gap to a height where no node stands in the
    columns between, across, and in. Returns the path and where its label goes."""
    (x1, y1), (x2, y2) = start, end
    low, high = min(x1, x2), max(x1, x2)
    between = [(y - 3, y + NODE_H + 3) for x, y in placed.places.values() if low < x < high]
    level = _free_level(y1, y2, between)
    step = SUB_GAP / 2 if x2 > x1 else -SUB_GAP / 2
    path = f"M{x1:.0f},{y1:.0f} H{x1 + step:.0f} V{level:.0f} H{x2 - step:.0f} V{y2:.0f} H{x2:.0f}"
    return path, (x1 + x2) / 2, level - 4


def _edge_svg(
    edge: Mapping[str, Any],
    a: tuple[float, float],
    b: tuple[float, float],
    arrow: str,
    lane: int,
    placed: Layout,
) -> str:
    _, _, dashed = mark(edge["status"])
    tag, title = _tag(edge)
    ax, ay = a
    bx, by = b
    band_a, band_b = placed.lanes.get(edge["source"]), placed.lanes.get(edge["target"])
    anchor = "middle"
    if band_a is not None and (band_b is None or by > ay + NODE_H):
        path, lx, ly = _lane_path(a, b, band_a + (lane % 3 - 1) * 5, down=True)
        anchor = "start"
    elif band_b is not None and band_a is None:
        path, lx, ly = _lane_path(a, b, band_b + (lane % 3 - 1) * 5, down=False)
        anchor = "start"
    else:
        # Leave from the side facing the target; enter the target's facing side.
        if bx >= ax + NODE_W:
            x1, x2 = ax + NODE_W, bx
        elif bx + NODE_W <= ax:
            x1, x2 = ax, bx + NODE_W
        else:  # same column: leave and enter on the right, bowing outwards
            x1 = x2 = ax + NODE_W
        y1, y2 = ay + NODE_H / 2 + (lane % 3 - 1) * 6, by + NODE_H / 2
        bow = 30 + 8 * (lane % 3) if x1 == x2 else 0
        mx = (x1 + x2) / 2 + bow
        path = f"M{x1:.0f},{y1:.0f} C{mx:.0f},{y1:.0f} {mx:.0f},{y2:.0f} {x2:.0f},{y2:.0f}"
        lx, ly = (x1 + x2) / 2 + bow * 0.75, (y1 + y2) / 2 - 4
        if abs(x2 - x1) > COL_GAP + 1:
            # It skips a column: a path through the gaps, never across the nodes between.
            path, lx, ly = _gap_path((x1, y1), (x2, y2), placed)
    dash = ' stroke-dasharray="6 4"' if dashed else ""
    return (
        f'<g class="labkit-map-edge" data-status="{esc(edge["status"])}"><title>{esc(title)}'
        f'</title><path d="{path}" fill="none" stroke="currentColor" stroke-width="1.4"{dash} '
        f'marker-end="url(#{arrow})"/>'
        f'<text x="{lx:.0f}" y="{ly:.0f}" font-size="11" text-anchor="{anchor}" '
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
            parts.append(_edge_svg(edge, a, b, arrow, lane, placed))
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
        # Shrinks to a narrow notebook, down to 80 % (then it scrolls): text stays readable.
        f'style="font-family:inherit;color:inherit;max-width:100%;height:auto;'
        f'min-width:{placed.width * 0.8:.0f}px">'
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
