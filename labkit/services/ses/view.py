"""The mailbox as HTML and as text: what was sent, by whom, to whom, and what became of it.

Plain functions over the plain-dict form of :func:`mailbox_state` (what the widget syncs). Every
message shows its sender, recipient, subject, lab time, and status in words with a symbol
(``✓ delivered``, ``✗ bounced``, ``⚑ complained (marked as spam)``), never colour alone.

Bodies are other people's content, so neither form ever runs what they hold:

- the text body is escaped into a ``<pre>``;
- the HTML body is drawn in an ``<iframe sandbox srcdoc=...>``: an empty ``sandbox`` attribute
  forbids scripts, forms, plugins, pop-ups and navigation of the page around it, and gives the
  frame an origin of its own, so a ``<script>`` in an email is shown but never runs
  (https://html.spec.whatwg.org/multipage/iframe-embed-object.html#attr-iframe-sandbox). Below it
  the HTML source, escaped, for when a front end strips frames;
- the text form renders the HTML body as text (tags dropped, ``script`` and ``style`` content
  skipped).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from html.parser import HTMLParser
from typing import Any

from labkit.services.ses.sim_sending import STATUS_MARKS
from labkit.views.base import (
    MONO,
    RULE,
    Column,
    Group,
    esc,
    lines_html,
    panel_html,
    panel_text,
    plural,
    table_html,
    text_table,
)

Row = Mapping[str, Any]

#: How many messages the view shows with their bodies (the newest); older ones are counted.
SHOWN = 25
#: How many characters of a body the text form prints.
TEXT_BODY_CHARS = 600

_COLUMNS = (
    Column("#"),
    Column("lab time"),
    Column("status"),
    Column("from", mono=True),
    Column("to", mono=True),
    Column("subject"),
)


def mailbox_state(
    messages: Iterable[Any], *, now: float | None = None, to: str | None = None
) -> dict[str, Any]:
    """The plain dict the widget keeps: every message (oldest first) as plain values.

    Args:
        messages: :class:`~labkit.sandbox.mailbox.Message` objects.
        now: The lab clock now (epoch seconds).
        to: Only messages to this address are shown (``""``: all).
    """
    rows = [
        {
            "to": m.to,
            "sender": m.sender,
            "subject": m.subject,
            "text": m.body,
            "html": m.html,
            "sent_at": m.sent_at.timestamp(),
            "status": m.status,
            "channel": m.channel,
            "source": m.source,
            "message_id": m.message_id,
        }
        for m in messages
    ]
    return {"now": now or 0.0, "to": to or "", "messages": rows}


def status_words(status: str) -> str:
    """``✓ delivered``, ``✗ bounced``, ``⚑ complained (marked as spam)``."""
    return STATUS_MARKS.get(status, status)


class _TextOfHtml(HTMLParser):
    """Collects the text of an HTML document, skipping ``script`` and ``style``."""

    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "table"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skipping += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.parts.append(f"[{href}] ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skipping:
            self._skipping -= 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_as_text(document: str) -> str:
    """What an HTML body says, as text: tags dropped, links as ``[href] text``, no script."""
    parser = _TextOfHtml()
    parser.feed(document)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _when(at: float) -> str:
    return f"{datetime.fromtimestamp(at, tz=timezone.utc):%H:%M:%S}" if at else ""


def heading(state: Row) -> str:
    """``Mailbox`` or ``Mailbox of ana@example.com``."""
    return f"Mailbox of {state['to']}" if state["to"] else "Mailbox"


def subheading(state: Row) -> str:
    """How many messages, by status; the lab time."""
    messages: Sequence[Row] = state["messages"]
    counts: dict[str, int] = {}
    for m in messages:
        counts[m["status"]] = counts.get(m["status"], 0) + 1
    parts = [plural(len(messages), "message")]
    parts += [f"{n} {status}" for status, n in counts.items() if status != "delivered"]
    when = _when(state["now"])
    return " · ".join(parts + ([f"lab time {when}"] if when else []))


def _shown(state: Row) -> list[tuple[int, Row]]:
    messages = list(enumerate(state["messages"], start=1))
    return messages[-SHOWN:]


def _rows(state: Row) -> tuple[tuple[str, ...], ...]:
    return tuple(
        (
            str(n),
            _when(m["sent_at"]),
            status_words(m["status"]),
            m["sender"] or "—",
            m["to"],
            m["subject"] or ("(text message)" if m["channel"] == "sms" else "(no subject)"),
        )
        for n, m in reversed(_shown(state))
    )


def _body_html(n: int, m: Row) -> str:
    parts = []
    if m["text"]:
        parts.append(
            f'<div style="opacity:0.8">Text body</div><pre style="{MONO};white-space:pre-wrap;'
            f'margin:2px 0 6px 0">{esc(m["text"])}</pre>'
        )
    if m["html"]:
        # sandbox="" : no script, no forms, no navigation, an opaque origin.
        parts.append(
            '<div style="opacity:0.8">HTML body, drawn in a sandboxed frame (scripts never '
            "run)</div>"
            f'<iframe sandbox="" referrerpolicy="no-referrer" title="HTML body of message {n}" '
            f'srcdoc="{esc(m["html"])}" style="width:100%;max-width:720px;height:220px;'
            f'border:1px solid {RULE};background:white"></iframe>'
            f'<details><summary>HTML source</summary><pre style="{MONO};white-space:pre-wrap">'
            f"{esc(m['html'])}</pre></details>"
        )
    if not parts:
        parts.append('<div style="opacity:0.8">(empty body)</div>')
    return (
        f'<details style="margin:4px 0;border-left:3px solid {RULE};padding-left:8px">'
        f"<summary>#{n} · {esc(status_words(m['status']))} · {esc(m['to'])} · "
        f"{esc(m['subject'] or '(no subject)')}</summary>{''.join(parts)}</details>"
    )


def _older(state: Row) -> int:
    return max(0, len(state["messages"]) - SHOWN)


def render_html(state: Row, *, notice: str = "", hint: str = "") -> str:
    """The mailbox as self-contained HTML (no script of its own, bodies sandboxed)."""
    if not state["messages"]:
        body = lines_html(["No message has been sent in this lab yet."])
    else:
        group = Group("Newest first", plural(len(_shown(state)), "message"), _rows(state))
        older = _older(state)
        body = table_html(_COLUMNS, [group])
        if older:
            body += lines_html([f"… and {plural(older, 'older message')} not shown."])
        body += "".join(_body_html(n, m) for n, m in reversed(_shown(state)))
    return panel_html(
        kind="mailbox",
        heading=heading(state),
        subheading=subheading(state),
        body=body,
        notice=notice,
        hint=hint,
    )


def _clip(text: str) -> str:
    return text if len(text) <= TEXT_BODY_CHARS else text[:TEXT_BODY_CHARS] + " …"


def render_text(state: Row, *, notice: str = "", hint: str = "") -> str:
    """The mailbox as plain text: the table, then each message's body (HTML as text)."""
    lines: list[str] = []
    if not state["messages"]:
        lines.append("No message has been sent in this lab yet.")
    else:
        group = Group("Newest first", plural(len(_shown(state)), "message"), _rows(state))
        lines += text_table(_COLUMNS, [group])
        older = _older(state)
        if older:
            lines.append(f"… and {plural(older, 'older message')} not shown.")
        for n, m in reversed(_shown(state)):
            lines.append(f"#{n} {status_words(m['status'])} · {m['to']} · {m['subject']}")
            if m["text"]:
                lines += ["  " + line for line in _clip(m["text"]).splitlines()]
            if m["html"]:
                lines.append("  HTML body, as text:")
                lines += ["  " + line for line in _clip(html_as_text(m["html"])).splitlines()]
    return panel_text(heading(state), lines, subheading=subheading(state), notice=notice, hint=hint)


__all__ = [
    "SHOWN",
    "html_as_text",
    "mailbox_state",
    "render_html",
    "render_text",
    "status_words",
]
