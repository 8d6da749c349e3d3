"""DataSync tasks as HTML and as text: each execution over lab time, what moved, what was skipped.

Plain functions over :func:`labkit.services.datasync.state.snapshot`. Status is a word
(``TRANSFERRING``, ``✓ SUCCESS``, ``✗ ERROR`` with the files that failed verification), and the
counters say how much of the folder was left alone as unchanged: the point of an incremental
sync. Never colour alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from labkit.views.base import (
    Column,
    Group,
    Panel,
    esc,
    panel_html,
    panel_text,
    plural,
    table_html,
    text_table,
)

Row = Mapping[str, Any]

_COLUMNS = (
    Column("started (lab time)"),
    Column("status"),
    Column("files moved"),
    Column("skipped as unchanged"),
    Column("deleted"),
    Column("bytes moved"),
    Column("verified"),
)


def _at(t: float) -> str:
    return f"{datetime.fromtimestamp(t, tz=timezone.utc):%Y-%m-%d %H:%M:%S}"


def _status(e: Row) -> str:
    if e["status"] == "SUCCESS":
        return "✓ SUCCESS"
    if e["status"] == "ERROR":
        return "✗ ERROR: " + ", ".join(e["failures"][:3]) + " differ"
    return "… " + str(e["status"])


def _groups(state: Row) -> list[Group]:
    groups = []
    for task in state["tasks"]:
        rows = tuple(
            (
                _at(e["started"]),
                _status(e),
                f"{e['transferred']:,}",
                f"{e['skipped']:,}",
                f"{e['deleted']:,}",
                f"{e['bytes']:,}",
                f"{e['verified']:,}",
            )
            for e in task["executions"]
        ) or (("never run",) + ("",) * 6,)
        every = f", {task['schedule']}" if task["schedule"] else ", no schedule"
        title = f"{task['name']}: {task['source']} → {task['target']}{every}"
        groups.append(Group(title, plural(len(task["executions"]), "execution"), rows))
    return groups


def heading(state: Row) -> str:
    """The view's heading line."""
    return f"DataSync · {plural(len(state['tasks']), 'task')}"


def render_html(state: Row, *, notice: str = "", hint: str = "") -> str:
    """Tasks and executions as self-contained HTML."""
    body = (
        table_html(_COLUMNS, _groups(state))
        if state["tasks"]
        else f"<div>{esc('No DataSync task in the sandbox.')}</div>"
    )
    return panel_html(
        kind="datasync",
        heading=heading(state),
        subheading=f"{_at(state['at'])} UTC lab time",
        body=body,
        notice=notice,
        hint=hint,
    )


def render_text(state: Row, *, notice: str = "", hint: str = "") -> str:
    """Tasks and executions as plain text."""
    lines = (
        text_table(_COLUMNS, _groups(state))
        if state["tasks"]
        else ["No DataSync task in the sandbox."]
    )
    return panel_text(
        heading(state),
        lines,
        subheading=f"{_at(state['at'])} UTC lab time",
        notice=notice,
        hint=hint,
    )


class SyncView(Panel):
    """DataSync tasks at one moment, shown as HTML in Jupyter and as text elsewhere."""

    def __init__(self, state: Row) -> None:
        super().__init__(state, render_html, render_text)


def sync_view(task: str | None, now: float) -> SyncView:
    """Every task's executions as of ``now``; only ``task`` (name or ARN) when given."""
    from labkit.services.datasync.state import snapshot

    state = dict(snapshot(now))
    if task is not None:
        state["tasks"] = [t for t in state["tasks"] if task in (t["name"], t["arn"])]
    return SyncView(state)
