"""Stacks and StackSets as HTML and as text: a resource tree, the events, drift, the grid.

Plain functions over the plain-dict form of a :class:`~.state.StackSnapshot` or
:class:`~.state.StackSetSnapshot` (what the widget syncs). Words and symbols carry every
distinction, never colour: a status reads ``✓ CREATE_COMPLETE``, ``✗ CREATE_FAILED``,
``↺ DELETE_COMPLETE`` (undone by a rollback or a deletion), ``… IN_PROGRESS``; drift reads
``✎ MODIFIED`` with each property's expected and actual value, ``✗ DELETED``, ``✓ in sync``.
A StackSet is a grid of accounts by Regions, each cell an instance's status in words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from labkit.views.base import (
    Column,
    Group,
    lines_html,
    panel_html,
    panel_text,
    plural,
    snapshot_state,
    table_html,
    text_table,
)

Row = Mapping[str, Any]

#: How many of the latest events the view lists.
EVENTS_SHOWN = 30

_RESOURCE_COLUMNS = (
    Column("resource (tree: what it refers to)", mono=True),
    Column("type", mono=True),
    Column("status"),
    Column("drift"),
    Column("physical id / reason", mono=True),
)
_EVENT_COLUMNS = (
    Column("lab time"),
    Column("resource", mono=True),
    Column("status"),
    Column("reason"),
)


def cloudformation_state(snapshot: Any) -> dict[str, Any]:
    """A snapshot as the plain dict the widget keeps (``{}`` for none)."""
    return snapshot_state(snapshot)


def status_mark(status: str) -> str:
    """A status with the symbol that says what kind it is."""
    if status.endswith("_FAILED") or status == "FAILED":
        symbol = "✗"
    elif "ROLLBACK" in status or status.startswith("DELETE_"):
        symbol = "↺"
    elif status.endswith("IN_PROGRESS") or status in ("RUNNING", "STOPPING"):
        symbol = "…"
    elif status.endswith("_COMPLETE") or status in ("SUCCEEDED", "CURRENT"):
        symbol = "✓"
    elif status in ("PENDING", "NOT_CREATED"):
        symbol = "○"
    else:
        symbol = "–"
    return f"{symbol} {status}"


DRIFT_MARKS = {
    "MODIFIED": "✎ MODIFIED",
    "DELETED": "✗ DELETED",
    "IN_SYNC": "✓ in sync",
    "NOT_CHECKED": "· not checked",
    "": "",
}


def _tree(resources: Sequence[Row]) -> list[tuple[int, Row]]:
    """Resources depth first under what they refer to, with their depth."""
    by_id = {r["logical_id"]: r for r in resources}
    children: dict[str, list[Row]] = {}
    for r in resources:
        parent = r["parent"] if r["parent"] in by_id else ""
        children.setdefault(parent, []).append(r)
    out: list[tuple[int, Row]] = []
    seen: set[str] = set()

    def walk(parent: str, depth: int) -> None:
        for child in children.get(parent, []):
            if child["logical_id"] in seen:
                continue
            seen.add(child["logical_id"])
            out.append((depth, child))
            walk(child["logical_id"], depth + 1)

    walk("", 0)
    out += [(0, r) for r in resources if r["logical_id"] not in seen]
    return out


def _resource_rows(state: Row) -> tuple[tuple[str, ...], ...]:
    rows: list[tuple[str, ...]] = []
    for depth, r in _tree(state["resources"]):
        name = ("   " * (depth - 1) + "└─ " if depth else "") + r["logical_id"]
        detail = r["reason"] or r["physical_id"]
        if r["differences"]:
            detail = "; ".join(r["differences"])
        rows.append(
            (
                str(name),
                str(r["resource_type"]),
                status_mark(r["status"]),
                str(DRIFT_MARKS.get(r["drift"], r["drift"])),
                str(detail),
            )
        )
    return tuple(rows)


def _time(at: float) -> str:
    return f"{datetime.fromtimestamp(at, tz=timezone.utc):%H:%M:%S}" if at else ""


def _event_rows(state: Row) -> tuple[tuple[str, ...], ...]:
    events = state["events"][-EVENTS_SHOWN:]
    return tuple(
        (_time(e["at"]), e["logical_id"], status_mark(e["status"]), e["reason"]) for e in events
    )


def stack_summary(state: Row) -> list[str]:
    """The stack in words: status, reason, drift."""
    lines = [f"Status: {status_mark(state['status'])}"]
    if state["reason"]:
        lines.append(f"Why: {state['reason']}")
    drift = state["drift"]
    drifted = [r["logical_id"] for r in state["resources"] if r["drift"] in ("MODIFIED", "DELETED")]
    if drift == "DRIFTED":
        lines.append(f"Drift: ✎ DRIFTED ({', '.join(drifted)} changed outside the stack)")
    elif drift == "IN_SYNC":
        lines.append("Drift: ✓ in sync at the last detection")
    else:
        lines.append("Drift: not checked yet (detect_stack_drift)")
    return lines


def _stack_groups(state: Row) -> tuple[list[Group], list[Group]]:
    resources = [
        Group("Resources", plural(len(state["resources"]), "resource"), _resource_rows(state))
    ]
    shown = min(len(state["events"]), EVENTS_SHOWN)
    events = [
        Group("Events, oldest first", f"last {shown} of {len(state['events'])}", _event_rows(state))
    ]
    return resources, events


def _heading(state: Row) -> tuple[str, str]:
    if state["kind"] == "stackset":
        return f"StackSet {state['name']}", f"{state['permission_model']} · " + _time(state["now"])
    return f"Stack {state['name']}", f"{state['region']} · account {state['account']} · " + _time(
        state["now"]
    )


# -- StackSets ------------------------------------------------------------------------------------
def _cell(state: Row, account: str, region: str) -> str:
    for i in state["instances"]:
        if i["account"] == account and i["region"] == region:
            return status_mark(i["detailed"]) + (" (OUTDATED)" if i["status"] == "OUTDATED" else "")
    return "· no instance"


def _grid(state: Row) -> tuple[tuple[Column, ...], list[Group]]:
    columns = (Column("account", mono=True), *(Column(r) for r in state["regions"]))
    rows = tuple((a, *(_cell(state, a, r) for r in state["regions"])) for a in state["accounts"])
    return columns, [Group("Stack instances", plural(len(state["instances"]), "instance"), rows)]


def _operation_lines(state: Row) -> list[str]:
    return [
        f"Operation {o['operation_id'][:8]} {o['action']}: {status_mark(o['status'])}, "
        f"{o['done']} of {o['total']} done, {o['running']} running"
        for o in state["operations"]
    ]


def _failure_lines(state: Row) -> list[str]:
    return [
        f"✗ {i['account']} {i['region']}: {i['reason']}"
        for i in state["instances"]
        if i["detailed"] == "FAILED" and i["reason"]
    ]


# -- rendering ------------------------------------------------------------------------------------
def render_html(state: Row, *, notice: str = "", hint: str = "") -> str:
    """A stack (resource tree, events) or a StackSet (grid) as self-contained HTML."""
    heading, sub = _heading(state)
    if state["kind"] == "stackset":
        columns, groups = _grid(state)
        body = lines_html(_operation_lines(state)) + table_html(columns, groups)
        body += lines_html(_failure_lines(state))
        kind = "stackset"
    else:
        resources, events = _stack_groups(state)
        body = lines_html(stack_summary(state))
        body += table_html(_RESOURCE_COLUMNS, resources) + table_html(_EVENT_COLUMNS, events)
        kind = "stack"
    return panel_html(
        kind=kind, heading=heading, subheading=sub, body=body, notice=notice, hint=hint
    )


def render_text(state: Row, *, notice: str = "", hint: str = "") -> str:
    """The same as plain text."""
    heading, sub = _heading(state)
    if state["kind"] == "stackset":
        columns, groups = _grid(state)
        lines = [*_operation_lines(state), *text_table(columns, groups), *_failure_lines(state)]
    else:
        resources, events = _stack_groups(state)
        lines = [*stack_summary(state), ""]
        lines += text_table(_RESOURCE_COLUMNS, resources)
        lines += ["", *text_table(_EVENT_COLUMNS, events)]
    return panel_text(heading, lines, subheading=sub, notice=notice, hint=hint)


__all__ = ["DRIFT_MARKS", "cloudformation_state", "render_html", "render_text", "status_mark"]
