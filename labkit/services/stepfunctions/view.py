"""A state machine drawn as a graph, with an execution's path on it: HTML (inline SVG) and text.

States are boxes, transitions arrows (``Next`` solid, a Choice rule labelled with its condition,
``Default`` labelled "otherwise", a catcher dashed and labelled with the errors it catches);
Parallel branches and a Map's item processor are drawn inside their state's box. With an
execution, each state says in words and a symbol how it went (``✓ succeeded``, ``✗ failed``,
``⚑ caught``, ``… running``, ``■ stopped``, ``· not reached``), how often it was retried and how
long it took in lab time; the transitions taken are drawn thick, the states never reached dashed.
Each state's input and output are one click away (a ``<details>`` per entry, no script) and one
line away in the text form. Colour never carries meaning.

Plain functions over :mod:`labkit.services.stepfunctions.state` snapshots; nothing here reads AWS.
The layout is layered: a state sits one row below the first state that leads to it (a breadth-first
walk from ``StartAt``), loops go back up along the side.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from labkit.services.stepfunctions.state import (
    Branch,
    ExecutionSnapshot,
    MachineGraph,
    StateVisit,
)
from labkit.views.base import MONO, RULE, SHADE, esc, panel_html, panel_text, plural

#: Words and symbols of a state's status (the symbol is never the only sign).
STATUS = {
    "SUCCEEDED": ("✓", "succeeded"),
    "FAILED": ("✗", "failed"),
    "CAUGHT": ("⚑", "caught an error"),
    "RUNNING": ("…", "running"),
    "ABORTED": ("■", "stopped"),
    None: ("·", "not reached"),
}
LEGEND = (
    "✓ succeeded · ✗ failed · ⚑ caught an error · … running · ■ stopped · · not reached; "
    "thick: the path taken; dashed arrows: catchers"
)
_NODE_W, _NODE_H, _GAP_X, _GAP_Y, _PAD, _HEAD, _LANE = 168, 44, 28, 46, 12, 22, 10
_PREVIEW = 160
#: An arrow label's room (px) and the width of one of its characters (10-px text).
_LABEL_ROOM, _LABEL_CHAR = 150, 6.0


@dataclass
class _Box:
    """A laid-out state: where it is, how big, and what is inside it (containers)."""

    name: str
    x: float = 0.0
    y: float = 0.0
    w: float = _NODE_W
    h: float = _NODE_H
    inner: list[_Layout] = field(default_factory=list)


@dataclass
class _Layout:
    graph: MachineGraph
    branch: Branch
    boxes: dict[str, _Box]
    ranks: dict[str, int]
    w: float = 0.0
    h: float = 0.0
    body_w: float = 0.0


def _sideways(ranks: dict[str, int], source: str, target: str) -> bool:
    """Whether an arrow goes along the side: back up (a loop), or down past other rows."""
    return ranks[target] <= ranks[source] or ranks[target] > ranks[source] + 1


def _ranks(graph: MachineGraph) -> dict[str, int]:
    """Each state's row: the longest way to it from ``StartAt`` once the edges that loop back
    (found by a depth-first walk) are set aside; unreachable states go last."""
    targets: dict[str, list[str]] = {}
    for edge in graph.edges:
        if graph.node(edge.target) is not None:
            targets.setdefault(edge.source, []).append(edge.target)
    forward: dict[str, list[str]] = {}
    colour: dict[str, int] = {}
    order: list[str] = []  # reverse post-order: a topological order of the forward edges
    if graph.node(graph.start_at) is not None:
        colour[graph.start_at] = 1
        stack = [(graph.start_at, iter(targets.get(graph.start_at, [])))]
        while stack:
            name, children = stack[-1]
            child = next(children, None)
            if child is None:
                colour[name] = 2
                order.append(name)
                stack.pop()
            elif colour.get(child) == 1:
                continue  # a loop back to a state still on the walk
            else:
                forward.setdefault(name, []).append(child)
                if child not in colour:
                    colour[child] = 1
                    stack.append((child, iter(targets.get(child, []))))
    out: dict[str, int] = {}
    for name in reversed(order):
        out.setdefault(name, 0)
        for child in forward.get(name, []):
            out[child] = max(out.get(child, 0), out[name] + 1)
    last = max(out.values(), default=-1)
    for node in graph.nodes:
        if node.name not in out:
            last += 1
            out[node.name] = last
    return out


def _layout(graph: MachineGraph, branch: Branch) -> _Layout:
    ranks = _ranks(graph)
    boxes: dict[str, _Box] = {}
    for node in graph.nodes:
        box = _Box(node.name)
        inner = graph.branches(node.name)
        if inner:
            kind = "Map" if node.type == "Map" else "Parallel"
            box.inner = [_layout(g, (*branch, (kind, i))) for i, g in enumerate(inner)]
            box.w = max(
                _NODE_W,
                sum(lay.w for lay in box.inner) + _PAD * (len(box.inner) + 1),
            )
            box.h = _HEAD + max(lay.h for lay in box.inner) + 2 * _PAD
        boxes[node.name] = box
    rows: dict[int, list[_Box]] = {}
    for name, rank in ranks.items():
        rows.setdefault(rank, []).append(boxes[name])
    widths = {r: sum(b.w for b in row) + _GAP_X * (len(row) - 1) for r, row in rows.items()}
    total_w = max(widths.values(), default=_NODE_W)
    y = 0.0
    for rank in sorted(rows):
        row = rows[rank]
        x = (total_w - widths[rank]) / 2
        for box in row:
            box.x, box.y = x, y
            x += box.w + _GAP_X
        y += max(b.h for b in row) + _GAP_Y
    # Room on the right for the arrows that go along the side: loops, and transitions that
    # skip rows (drawn straight they would cross the states between), one lane each.
    lanes = sum(
        1 for e in graph.edges if e.target in ranks and _sideways(ranks, e.source, e.target)
    )
    width = total_w + _GAP_X + _LANE * lanes
    # ... and for the arrows' labels, which start beside their arrow and read to the right: a
    # label cut off by the drawing's edge would hide which condition or error an arrow is for.
    for e in graph.edges:
        src, dst = boxes.get(e.source), boxes.get(e.target)
        if not e.label or src is None or dst is None or e.target not in ranks:
            continue
        if _sideways(ranks, e.source, e.target):
            start = src.x + src.w + 4
        else:
            start = (src.x + src.w / 2 + dst.x + dst.w / 2) / 2 + 4
        width = max(width, start + _LABEL_CHAR * len(_fit(e.label, _LABEL_ROOM)))
    return _Layout(graph, branch, boxes, ranks, width, max(y - _GAP_Y, 0.0), total_w)


# -- execution lookups ----------------------------------------------------------------------------
def _visits(execution: ExecutionSnapshot | None, name: str, branch: Branch) -> list[StateVisit]:
    if execution is None:
        return []
    if any(kind == "Map" for kind, _ in branch):
        # A Map's processor is one drawing for every item: gather the items' visits.
        depth = len(branch)
        prefix = branch[:-1]
        return [
            v
            for v in execution.visits
            if v.name == name
            and len(v.branch) == depth
            and v.branch[:-1] == prefix
            and v.branch[-1][0] == branch[-1][0]
        ]
    return [v for v in execution.visits if v.name == name and v.branch == branch]


def _status_words(visits: Sequence[StateVisit]) -> tuple[str, str]:
    """Symbol and words for a state's visits (several items of a Map are counted)."""
    if not visits:
        return STATUS[None]
    if len({v.branch for v in visits}) > 1:
        counts: dict[str, int] = {}
        for v in visits:
            counts[v.status] = counts.get(v.status, 0) + 1
        words = ", ".join(f"{n} {STATUS[s][1]}" for s, n in sorted(counts.items()))
        worst = next((s for s in ("FAILED", "RUNNING", "CAUGHT") if s in counts), "SUCCEEDED")
        return STATUS[worst][0], words
    return STATUS[visits[-1].status]


def _detail(visits: Sequence[StateVisit]) -> str:
    if not visits:
        return ""
    last = visits[-1]
    parts = []
    if len(visits) > 1 and len({v.branch for v in visits}) == 1:
        parts.append(f"entered {len(visits)}×")
    retries = sum(v.retries for v in visits)
    if retries:
        parts.append(plural(retries, "retry", "retries"))
    if last.seconds is not None and len({v.branch for v in visits}) == 1:
        parts.append(f"{last.seconds:g} s")
    if last.error:
        parts.append(last.error)
    return " · ".join(parts)


def _taken(execution: ExecutionSnapshot | None) -> set[tuple[Branch, str, str]]:
    if execution is None:
        return set()
    out = set()
    for v in execution.visits:
        if v.next:
            branch = v.branch
            if any(kind == "Map" for kind, _ in branch):
                branch = (*branch[:-1], (branch[-1][0], 0))
            out.add((branch, v.name, v.next))
    return out


def _map_key(branch: Branch) -> Branch:
    return (*branch[:-1], (branch[-1][0], 0)) if branch and branch[-1][0] == "Map" else branch


# -- SVG ------------------------------------------------------------------------------------------
def _svg_layout(
    lay: _Layout, ox: float, oy: float, execution: ExecutionSnapshot | None, taken: set[Any]
) -> list[str]:
    out: list[str] = []
    offset = 0.0
    for node in lay.graph.nodes:
        box = lay.boxes[node.name]
        x, y = ox + offset + box.x, oy + box.y
        visits = _visits(execution, node.name, lay.branch)
        symbol, words = _status_words(visits)
        reached = bool(visits) or execution is None
        dash = "" if reached else ' stroke-dasharray="4 3"'
        stroke = 2.5 if visits else 1
        label = f"{node.name} ({node.type})"
        title = label + (f" — {words}" if execution is not None else "")
        if visits and visits[-1].output is not None:
            title += "\noutput: " + _preview(visits[-1].output)
        out.append(
            f'<g><title>{esc(title)}</title><rect x="{x:.0f}" y="{y:.0f}" width="{box.w:.0f}" '
            f'height="{box.h:.0f}" rx="6" fill="{SHADE}" stroke="currentColor" '
            f'stroke-width="{stroke}"{dash}/>'
        )
        text_y = y + (16 if box.inner else 18)
        marker = "▶ " if node.start else ""
        out.append(
            f'<text x="{x + 8:.0f}" y="{text_y:.0f}" font-size="12" font-weight="600" '
            f'fill="currentColor">{esc(_fit(marker + node.name, box.w))}</text>'
        )
        status = node.type if execution is None else f"{symbol} {words}"
        extra = _detail(visits)
        if not box.inner:
            out.append(
                f'<text x="{x + 8:.0f}" y="{y + 34:.0f}" font-size="11" fill="currentColor" '
                f'opacity="0.85">{esc(_fit(status + (" · " + extra if extra else ""), box.w))}'
                "</text>"
            )
        else:
            out.append(
                f'<text x="{x + box.w - 8:.0f}" y="{text_y:.0f}" font-size="11" '
                f'text-anchor="end" fill="currentColor" opacity="0.85">'
                f"{esc(_fit(status, box.w / 2))}</text>"
            )
            ix = x + _PAD
            for inner in box.inner:
                out.extend(_svg_layout(inner, ix, y + _HEAD + _PAD, execution, taken))
                ix += inner.w + _PAD
        out.append("</g>")
    lane = 0
    exits: dict[str, int] = {}
    entries: dict[str, int] = {}
    for edge in lay.graph.edges:
        src, dst = lay.boxes.get(edge.source), lay.boxes.get(edge.target)
        if src is None or dst is None:
            continue
        hot = (_map_key(lay.branch), edge.source, edge.target) in taken
        side = None
        spread = (0, 0)
        if _sideways(lay.ranks, edge.source, edge.target):
            side = ox + offset + lay.body_w + _GAP_X / 2 + _LANE * lane
            lane += 1
            # Arrows that leave (or reach) the same state on its side, one under the other.
            spread = (exits.get(edge.source, 0), entries.get(edge.target, 0))
            exits[edge.source] = spread[0] + 1
            entries[edge.target] = spread[1] + 1
        out.append(_arrow(src, dst, edge.kind, edge.label, (ox + offset, oy), hot, side, spread))
    return out


def _arrow(
    src: _Box,
    dst: _Box,
    kind: str,
    label: str,
    origin: tuple[float, float],
    hot: bool,
    side: float | None,
    spread: tuple[int, int],
) -> str:
    ox, oy = origin
    width = 2.5 if hot else 1
    dash = ' stroke-dasharray="5 4"' if kind == "catch" else ""
    if side is not None:
        # Out of the source's right side, along its lane, into the target's right side.
        sx, sy = ox + src.x + src.w, oy + src.y + 14 + 11 * spread[0]
        tx, ty = ox + dst.x + dst.w, oy + dst.y + 10 + 8 * spread[1]
        path = (
            f"M{sx:.0f},{sy:.0f} L{side:.0f},{sy:.0f} L{side:.0f},{ty:.0f} L{tx + 2:.0f},{ty:.0f}"
        )
        lx, ly = sx + 4, sy - 3
    else:
        x1, y1 = ox + src.x + src.w / 2, oy + src.y + src.h
        x2, y2 = ox + dst.x + dst.w / 2, oy + dst.y
        mid = (y1 + y2) / 2
        path = f"M{x1:.0f},{y1:.0f} C{x1:.0f},{mid:.0f} {x2:.0f},{mid:.0f} {x2:.0f},{y2 - 2:.0f}"
        lx, ly = (x1 + x2) / 2 + 4, mid
    text = (
        f'<text x="{lx:.0f}" y="{ly:.0f}" font-size="10" fill="currentColor" opacity="0.85">'
        f"{esc(_fit(label, _LABEL_ROOM))}</text>"
        if label
        else ""
    )
    return (
        f"<g><title>{esc(kind + (': ' + label if label else ''))}</title>"
        f'<path d="{path}" fill="none" stroke="currentColor" stroke-width="{width}"{dash} '
        f'marker-end="url(#labkit-sfn-arrow)"/>{text}</g>'
    )


def _fit(text: str, room: float) -> str:
    most = max(4, int(room / 6.6))
    return text if len(text) <= most else text[: most - 1] + "…"


def _preview(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= _PREVIEW else text[: _PREVIEW - 1] + "…"


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def _heading(graph: MachineGraph, execution: ExecutionSnapshot | None) -> tuple[str, str]:
    heading = f"State machine {graph.name or '(definition)'}"
    sub = [graph.type.title(), plural(graph.size(), "state")]
    if execution is not None:
        symbol, _ = STATUS.get(execution.status, ("", ""))
        sub.append(f"execution {execution.name}: {symbol} {execution.status.lower()}".rstrip())
        if execution.error:
            sub.append(f"{execution.error}")
    return heading, " · ".join(sub)


def _readable_cause(cause: str) -> str:
    """A cause as a reader wants it: a Lambda function's error object (JSON with its stack
    trace) by its message; anything else as it is, cut to a preview's length."""
    try:
        parsed = json.loads(cause) if cause.startswith("{") else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("errorMessage"), str):
        cause = parsed["errorMessage"]
    return cause if len(cause) <= _PREVIEW else cause[: _PREVIEW - 1] + "…"


def _entry(v: StateVisit) -> str:
    where = " ".join(f"{kind.lower()} {i + 1}" for kind, i in v.branch)
    bits = [v.name, STATUS.get(v.status, ("", v.status.lower()))[1]]
    if v.seconds is not None:
        bits.append(f"{v.seconds:g} s")
    if where:
        bits.insert(1, where)
    if v.retries:
        bits.append(plural(v.retries, "retry", "retries"))
    if v.error:
        cause = _readable_cause(v.cause)
        bits.append(f"{v.error}: {cause}" if cause else v.error)
    return " · ".join(bits)


def render_html(
    graph: MachineGraph,
    execution: ExecutionSnapshot | None = None,
    *,
    notice: str = "",
    hint: str = "",
) -> str:
    """The graph (and the execution on it) as self-contained HTML with an inline SVG; ``notice``
    and ``hint`` as every view has them (the lab stopped; which moment is shown)."""
    lay = _layout(graph, ())
    taken = _taken(execution)
    w, h = lay.w + 2 * _PAD, lay.h + 2 * _PAD
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{w:.0f}" height="{h:.0f}" '
        f'viewBox="0 0 {w:.0f} {h:.0f}" style="max-width:100%;height:auto;color:inherit">'
        f"<title>{esc(_heading(graph, execution)[0])}</title>"
        '<defs><marker id="labkit-sfn-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerUnits="userSpaceOnUse" markerWidth="8" markerHeight="8" '
        'orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="currentColor"/></marker></defs>'
        + "".join(_svg_layout(lay, _PAD, _PAD, execution, taken))
        + "</svg>"
    )
    body = [f'<div style="overflow-x:auto">{svg}</div>']
    body.append(f'<div style="opacity:0.8;font-size:92%">{esc(LEGEND)}</div>')
    if execution is not None:
        for v in execution.visits:
            body.append(
                f'<details style="margin:1px 0"><summary>{esc(_entry(v))}</summary>'
                f'<div style="border-left:2px solid {RULE};padding-left:8px">'
                f'<div>input</div><pre style="{MONO};margin:0">{esc(_pretty(v.input))}</pre>'
                f'<div>output</div><pre style="{MONO};margin:0">'
                f"{esc(_pretty(v.output) if v.output is not None else '(none yet)')}</pre>"
                "</div></details>"
            )
    heading, sub = _heading(graph, execution)
    return panel_html(
        kind="stepfunctions",
        heading=heading,
        subheading=sub,
        body="".join(body),
        notice=notice,
        hint=hint,
    )


def _text_lines(
    lay: _Layout, execution: ExecutionSnapshot | None, indent: str, taken: set[Any]
) -> list[str]:
    lines: list[str] = []
    for node in sorted(lay.graph.nodes, key=lambda n: lay.ranks[n.name]):
        visits = _visits(execution, node.name, lay.branch)
        symbol, words = _status_words(visits)
        status = f" {symbol} {words}" if execution is not None else ""
        extra = _detail(visits)
        start = "▶ " if node.start else "  "
        lines.append(
            f"{indent}{start}{node.name} ({node.type}){status}" + (f" · {extra}" if extra else "")
        )
        for edge in lay.graph.edges:
            if edge.source != node.name:
                continue
            hot = (_map_key(lay.branch), edge.source, edge.target) in taken
            arrow = "⇒" if hot else "→"
            label = {"next": "", "default": " (otherwise)"}.get(edge.kind, f" [{edge.label}]")
            if edge.kind == "catch":
                label = f" (catch {edge.label})"
            lines.append(f"{indent}     {arrow} {edge.target}{label}")
        box = lay.boxes[node.name]
        for i, inner in enumerate(box.inner):
            title = "items" if node.type == "Map" else f"branch {i + 1}"
            lines.append(f"{indent}     ┆ {title}:")
            lines.extend(_text_lines(inner, execution, indent + "       ", taken))
    return lines


def render_text(
    graph: MachineGraph,
    execution: ExecutionSnapshot | None = None,
    *,
    notice: str = "",
    hint: str = "",
) -> str:
    """The same as plain text: states by row, arrows under each (``⇒`` where the execution
    went), then each entry with its input and output on one line each."""
    lay = _layout(graph, ())
    lines = _text_lines(lay, execution, "", _taken(execution))
    if execution is not None:
        lines.append("entries:")
        for v in execution.visits:
            lines.append(f"  {_entry(v)}")
            lines.append(f"      input  {_preview(v.input)}")
            if v.output is not None:
                lines.append(f"      output {_preview(v.output)}")
    heading, sub = _heading(graph, execution)
    if hint:
        lines.append(LEGEND)
    return panel_text(heading, lines, subheading=sub, notice=notice, hint=hint or LEGEND)
