"""A DMS replication task as HTML and as text: status, replication lag, rows moved by table.

Plain functions over :func:`labkit.services.dms.state.snapshot`, in the style of the DataSync
and Transfer views. Status is a word with a symbol (``▶ running``, ``■ stopped`` with AWS's stop
reason, ``✗ failed`` with the reason), the lag is a number of seconds with what is waiting, and
each table's row says how many rows the full load moved and how many inserts, updates and
deletes followed. Never colour alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from labkit.errors import LabkitError
from labkit.services.dms.state import snapshot, task_names
from labkit.views.base import (
    Column,
    Group,
    Panel,
    lines_html,
    panel_html,
    panel_text,
    plural,
    table_html,
    text_table,
)

Row = Mapping[str, Any]

_TABLES = (
    Column("source table", mono=True),
    Column("target", mono=True),
    Column("state"),
    Column("full load rows"),
    Column("inserts"),
    Column("updates"),
    Column("deletes"),
    Column("waiting"),
)
_BATCHES = (Column("applied (lab time)"), Column("changes"), Column("lag (s)"))


def _at(t: float) -> str:
    return f"{datetime.fromtimestamp(t, tz=timezone.utc):%Y-%m-%d %H:%M:%S}"


def status_line(state: Row) -> str:
    """The task's status in words, with a symbol."""
    status = state["status"]
    if status == "running":
        return f"▶ running ({state['migration_type']})"
    if status == "failed":
        return f"✗ failed: {state['failure']}"
    if status == "stopped":
        reason = str(state["stop_reason"]).replace("Stop Reason ", "")
        return f"■ stopped ({reason})" if reason else "■ stopped"
    return f"… {status}"


def summary_lines(state: Row) -> list[str]:
    """Status, lag and what is waiting, in sentences."""
    lines = [f"Status: {status_line(state)}."]
    if state["delay"] is not None and state["migration_type"] != "full-load":
        lines.append(
            f"Replication lag: {state['lag']:g} s "
            f"({plural(state['pending'], 'change')} waiting for the next batch; "
            f"the target takes a batch every {state['delay']:g} s of lab time)."
        )
        if state["pending"] and state["status"] == "stopped":
            lines.append("Changes not yet applied stay at the source until the task resumes.")
    total = sum(t["full_load_rows"] for t in state["tables"])
    changes = sum(t["inserts"] + t["updates"] + t["deletes"] for t in state["tables"])
    lines.append(
        f"Moved: {plural(total, 'row')} in the full load, {plural(changes, 'change')} since, "
        f"over {plural(len(state['tables']), 'table')}."
    )
    return lines


def _tables(state: Row) -> list[Group]:
    rows = tuple(
        (
            t["source"],
            t["target"],
            t["state"],
            f"{t['full_load_rows']:,}",
            f"{t['inserts']:,}",
            f"{t['updates']:,}",
            f"{t['deletes']:,}",
            f"{t['pending']:,}",
        )
        for t in state["tables"]
    ) or (("no table moved yet",) + ("",) * 7,)
    return [Group("Tables", plural(len(state["tables"]), "table"), rows)]


def _batches(state: Row) -> list[Group]:
    rows = tuple(
        (_at(b["at"]), f"{b['changes']:,}", f"{b['lag']:g}") for b in state["batches"]
    ) or (("no change applied yet", "", ""),)
    return [
        Group("CDC batches (latest 20)", plural(len(state["batches"]), "batch", "batches"), rows)
    ]


def heading(state: Row) -> str:
    """The view's heading line."""
    return f"DMS task {state['task']}"


def render_html(state: Row, *, notice: str = "", hint: str = "") -> str:
    """The task as self-contained HTML."""
    body = lines_html(summary_lines(state)) + table_html(_TABLES, _tables(state))
    if state["migration_type"] != "full-load":
        body += table_html(_BATCHES, _batches(state))
    return panel_html(
        kind="dms",
        heading=heading(state),
        subheading=f"{_at(state['at'])} UTC lab time",
        body=body,
        notice=notice,
        hint=hint,
    )


def render_text(state: Row, *, notice: str = "", hint: str = "") -> str:
    """The task as plain text."""
    lines = [*summary_lines(state), "", *text_table(_TABLES, _tables(state))]
    if state["migration_type"] != "full-load":
        lines += ["", *text_table(_BATCHES, _batches(state))]
    return panel_text(
        heading(state),
        lines,
        subheading=f"{_at(state['at'])} UTC lab time",
        notice=notice,
        hint=hint,
    )


class UnknownTaskError(LabkitError):
    """No replication task of that name (or more than one, and none named)."""

    code = "UnknownReplicationTask"


class DmsView(Panel):
    """A task at one moment, shown as HTML in Jupyter and as text elsewhere."""

    def __init__(self, state: Row) -> None:
        super().__init__(state, render_html, render_text)


def dms_view(task: str | None, now: float) -> DmsView:
    """The view of ``task`` (identifier or ARN; the only task when there is one)."""
    names = task_names()
    if task is None and len(names) != 1:
        raise UnknownTaskError(
            "Name the replication task: the sandbox has "
            + (f"{len(names)} tasks ({', '.join(names)})." if names else "none yet.")
        )
    state = snapshot(task, now)
    if state is None:
        raise UnknownTaskError(
            f"There is no DMS replication task {task!r} (tasks: {', '.join(names) or 'none'})."
        )
    return DmsView(state)


__all__ = ["DmsView", "UnknownTaskError", "dms_view", "render_html", "render_text"]
