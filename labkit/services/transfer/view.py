"""A Transfer Family server's SFTP activity as HTML and as text: who signed in, what moved where.

Plain functions over :func:`labkit.services.transfer.state.snapshot`. Each event says in words
whether it worked (``✓ done``) or not (``✗ refused`` with AWS's reason: the key that did not
match, the policy that denied the S3 action), and where in S3 a path landed, so a learner sees a
chroot at work (``/report.csv`` landing in ``s3://drop/ana/report.csv``). Never colour alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labkit.views.base import (
    Column,
    Group,
    Panel,
    esc,
    lines_html,
    panel_html,
    panel_text,
    plural,
    table_html,
    text_table,
)

Row = Mapping[str, Any]
#: How many of the latest events the view lists.
EVENTS_SHOWN = 50

_COLUMNS = (
    Column("user", mono=True),
    Column("operation"),
    Column("path (as the user sees it)", mono=True),
    Column("landed in S3", mono=True),
    Column("outcome"),
)


def heading(state: Row) -> str:
    """The view's heading line."""
    return f"Transfer Family server {state['server_id']}"


def subheading(state: Row) -> str:
    """Where clients connect."""
    return f"SFTP at {state['host']} port {state['port']}"


def summary_lines(state: Row) -> list[str]:
    """Sign-ins, uploads and refusals, in sentences."""
    events = state["events"]
    logins = [e for e in events if e["operation"] == "login"]
    uploads = [e for e in events if e["operation"] == "upload" and e["ok"]]
    refused = [e for e in events if not e["ok"]]
    users = sorted({e["user"] for e in logins if e["ok"]})
    return [
        f"Sign-ins: {plural(sum(e['ok'] for e in logins), 'successful sign-in')}"
        + (f" ({', '.join(users)})" if users else "")
        + f", {plural(sum(not e['ok'] for e in logins), 'refused sign-in')}.",
        f"Uploads: {plural(len(uploads), 'file')}, {sum(e['size'] for e in uploads):,} bytes.",
        f"Refused operations: {len(refused)}.",
    ]


def _outcome(event: Row) -> str:
    if event["ok"]:
        return "✓ done" + (f", {event['size']:,} bytes" if event["size"] else "")
    return f"✗ refused: {event['detail']}"


def _groups(state: Row) -> list[Group]:
    events = state["events"][-EVENTS_SHOWN:]
    rows = tuple(
        (e["user"], e["operation"], e["path"] or "-", e["s3"] or "-", _outcome(e)) for e in events
    )
    hidden = len(state["events"]) - len(events)
    title = "Latest events" + (f" ({hidden} earlier not listed)" if hidden else "")
    return [Group(title, plural(len(state["events"]), "event"), rows)]


def render_html(state: Row, *, notice: str = "", hint: str = "") -> str:
    """The server's activity as self-contained HTML."""
    body = lines_html(summary_lines(state))
    if state["events"]:
        body += table_html(_COLUMNS, _groups(state))
    else:
        body += f"<div>{esc('No client has connected yet.')}</div>"
    return panel_html(
        kind="transfer",
        heading=heading(state),
        subheading=subheading(state),
        body=body,
        notice=notice,
        hint=hint,
    )


def render_text(state: Row, *, notice: str = "", hint: str = "") -> str:
    """The server's activity as plain text."""
    lines = [*summary_lines(state), ""]
    if state["events"]:
        lines += text_table(_COLUMNS, _groups(state))
    else:
        lines.append("No client has connected yet.")
    return panel_text(heading(state), lines, subheading=subheading(state), notice=notice, hint=hint)


class TransferView(Panel):
    """A server's activity at one moment, shown as HTML in Jupyter and as text elsewhere."""

    def __init__(self, state: Row) -> None:
        super().__init__(state, render_html, render_text)


def transfer_view(server: str | None = None) -> TransferView:
    """The view of ``server`` (id or ARN; the only SFTP server when there is one)."""
    from labkit.services.transfer.state import ServerNotFoundError, servers_serving, snapshot

    if server is None:
        known = servers_serving()
        if len(known) != 1:
            raise ServerNotFoundError("(none named)", known)
        server = known[0]
    return TransferView(snapshot(server))
