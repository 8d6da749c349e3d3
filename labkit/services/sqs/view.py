"""An SQS queue as HTML and as text: its messages by state, its FIFO groups, its dead letters.

The view starts with a **lane**: one mark per message in queue order (the first ones), so that a
backlog, messages in flight and a blocked FIFO group can be seen at a glance:

- ``●`` available (a consumer receiving now gets it);
- ``◐`` in flight (received, hidden until its visibility timeout ends; the table says how long);
- ``◷`` delayed (not deliverable yet);
- ``◌`` available but waiting: a FIFO message whose group has a message in flight.

Then the counts, the queue's settings, its dead-letter queue and access policy in words, the FIFO
groups (a blocked group is marked ``⊘ blocked`` and says for how long), the messages one by one
(receive count, age, time left) and the messages moved to the dead-letter queue.

Plain functions over a snapshot kept as plain values (what the queue widget syncs), made from
:class:`labkit.services.sqs.state.QueueSnapshot` by :func:`queue_state`. Nothing here reads
AWS. Symbols and words carry every distinction, never colour.
"""

from __future__ import annotations

from typing import Any

from labkit.views.base import (
    MONO,
    Column,
    Group,
    Row,
    esc,
    lines_html,
    panel_html,
    panel_text,
    plural,
    short_id,
    snapshot_state,
    snapshot_time,
    table_html,
    text_table,
)

AVAILABLE = "●"
IN_FLIGHT = "◐"
DELAYED = "◷"
WAITING = "◌"
BLOCKED = "⊘"
LEGEND = (
    f"{AVAILABLE} available · {IN_FLIGHT} in flight (received, hidden) · {DELAYED} delayed · "
    f"{WAITING} waits for its FIFO group"
)
#: How many marks the lane shows at most.
LANE = 60
EXAMPLE = 'sqs.send_message(QueueUrl=url, MessageBody="...")'

MESSAGE_COLUMNS: tuple[Column, ...] = (
    Column("#"),
    Column("message", mono=True),
    Column("body", mono=True),
    Column("state"),
    Column("received"),
    Column("age"),
)
GROUP_COLUMNS: tuple[Column, ...] = (
    Column("group", mono=True),
    Column("messages"),
    Column("in flight"),
    Column("state"),
)
DEAD_COLUMNS: tuple[Column, ...] = (
    Column("message", mono=True),
    Column("body", mono=True),
    Column("received"),
    Column("age"),
)


# -- the state ----------------------------------------------------------------------------------
def queue_state(snapshot: Any) -> dict[str, Any]:
    """A :class:`~labkit.services.sqs.state.QueueSnapshot` as plain values (``{}`` for none)."""
    return snapshot_state(snapshot)


# -- words --------------------------------------------------------------------------------------
def duration(seconds: float | None) -> str:
    """``45 s``, ``4 min 10 s``, ``3 h``, ``4 days``: a duration for a reader."""
    if seconds is None:
        return "-"
    s = max(0.0, float(seconds))
    if s < 1:
        return f"{s:.1f} s" if s else "0 s"
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        minutes, rest = divmod(round(s), 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    if s < 86400:
        hours, rest = divmod(round(s / 60), 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days = s / 86400
    return f"{days:.0f} days" if days == round(days) else f"{days:.1f} days"


def mark(message: Row) -> str:
    """The lane's mark of one message."""
    if message["state"] == "in flight":
        return IN_FLIGHT
    if message["state"] == "delayed":
        return DELAYED
    return WAITING if message.get("blocked") else AVAILABLE


def state_words(message: Row, visibility_timeout: int | None = None) -> str:
    """A message's state in words, with its symbol and the time left."""
    state = message["state"]
    left = message.get("seconds_left")
    if state == "in flight":
        of = f" of {duration(visibility_timeout)}" if visibility_timeout else ""
        return f"{IN_FLIGHT} in flight: visible again in {duration(left)}{of}"
    if state == "delayed":
        return f"{DELAYED} delayed: deliverable in {duration(left)}"
    if message.get("blocked"):
        return f"{WAITING} available, waits: group {message.get('group')} is blocked"
    return f"{AVAILABLE} available"


def heading(state: Row, name: str = "") -> str:
    """The view's heading."""
    if not state:
        return f"Queue {name}: not found" if name else "Queue view: no queue yet"
    kind = "FIFO queue" if state["fifo"] else "Standard queue"
    return f"{kind} {state['name']}"


def counts_line(state: Row) -> str:
    """How many messages are in each state."""
    parts = [
        f"{AVAILABLE} {state['available']} available",
        f"{IN_FLIGHT} {state['in_flight']} in flight",
        f"{DELAYED} {state['delayed']} delayed",
    ]
    dead = state.get("dead_letters")
    if dead:
        total = dead["available"] + dead["in_flight"] + dead["delayed"]
        parts.append(f"✝ {total} in the dead-letter queue")
    if state.get("expired"):
        parts.append(f"× {state['expired']} deleted by the retention period")
    if state.get("oldest_age") is not None:
        parts.append(f"oldest message {duration(state['oldest_age'])} old")
    return " · ".join(parts)


def settings_line(state: Row) -> str:
    """The queue's settings that decide how messages move."""
    parts = [
        f"visibility timeout {duration(state['visibility_timeout'])}",
        f"retention {duration(state['retention'])}",
        f"delivery delay {duration(state['delay'])}",
        f"receive wait {duration(state['receive_wait'])}"
        + (" (short polling)" if not state["receive_wait"] else " (long polling)"),
    ]
    if state["fifo"]:
        dedup = "on" if state["content_based_deduplication"] else "off"
        parts.append(f"content-based deduplication {dedup}")
    return "Settings: " + " · ".join(parts)


def dead_letter_line(state: Row) -> str:
    """The redrive policy (or its absence) and what the queue is a dead-letter queue for."""
    if state["dead_letter_queue"]:
        dead = state.get("dead_letters") or {}
        moved = dead.get("available", 0) + dead.get("in_flight", 0) + dead.get("delayed", 0)
        line = (
            f"Dead-letter queue: {state['dead_letter_queue']}, after "
            f"{plural(state['max_receive_count'], 'receive')} without a delete "
            f"({plural(moved, 'message')} there now)."
        )
    else:
        line = (
            "No dead-letter queue: a message that keeps failing comes back again and again "
            "until the retention period deletes it."
        )
    if state.get("sources"):
        line += f" This queue is the dead-letter queue of {', '.join(state['sources'])}."
    return line


def policy_lines(state: Row) -> list[str]:
    """The access policy in words, one line per statement."""
    statements = state.get("policy") or []
    if not statements:
        return [
            "Access policy: none. Only identities of the queue's own account whose IAM policies "
            "allow it may use the queue; no other service (SNS, S3 ...) may send to it."
        ]
    lines = []
    for s in statements:
        when = f" when {s['condition']}" if s["condition"] else ""
        lines.append(
            f"Access policy {s['sid']}: {s['effect']} {s['principal']} {s['action']}{when}"
        )
    return lines


def lane(state: Row) -> str:
    """One mark per listed message, in queue order (with ``+N`` when more are not listed)."""
    marks = "".join(mark(m) for m in state["messages"][:LANE])
    more = state["more"] + max(0, len(state["messages"]) - LANE)
    return (marks or "(empty)") + (f" +{more:,d}" if more else "")


def group_rows(state: Row) -> list[tuple[str, ...]]:
    """The FIFO groups as table rows."""
    rows: list[tuple[str, ...]] = []
    for g in state.get("groups", []):
        if g["blocked"]:
            words = (
                f"{BLOCKED} blocked: a message is in flight (visible again in "
                f"{duration(g['seconds_left'])}); the group's next messages wait"
            )
        else:
            words = f"{AVAILABLE} ready: its first message can be received"
        rows.append((g["group_id"], str(g["messages"]), str(g["in_flight"]), words))
    return rows


def message_rows(state: Row) -> list[tuple[str, ...]]:
    """The listed messages as table rows."""
    rows: list[tuple[str, ...]] = []
    for i, m in enumerate(state["messages"], start=1):
        group = f" [{m['group']}]" if m.get("group") else ""
        rows.append(
            (
                str(i),
                short_id(m["message_id"]),
                m["preview"] + group,
                state_words(m, state["visibility_timeout"]),
                f"{m['receive_count']}×",
                duration(m["age"]),
            )
        )
    return rows


def dead_rows(state: Row) -> list[tuple[str, ...]]:
    """The messages of the dead-letter queue as table rows."""
    dead = state.get("dead_letters") or {}
    return [
        (short_id(m["message_id"]), m["preview"], f"{m['receive_count']}×", duration(m["age"]))
        for m in dead.get("messages", [])
    ]


# -- rendering ----------------------------------------------------------------------------------
def render_text(
    state: Row, *, name: str = "", now: float | None = None, notice: str = "", hint: str = ""
) -> str:
    """The queue as plain text."""
    lines: list[str] = []
    if not state:
        lines.append(f"Create a queue, then send a message: {EXAMPLE}")
    else:
        lines += [
            f"lane: {lane(state)}",
            f"      {LEGEND}",
            counts_line(state),
            settings_line(state),
            dead_letter_line(state),
            *policy_lines(state),
        ]
        if state.get("groups"):
            lines.append("")
            lines += text_table(
                GROUP_COLUMNS,
                [Group("groups", plural(len(state["groups"]), "group"), tuple(group_rows(state)))],
            )
        if state["messages"]:
            lines.append("")
            more = f", {state['more']:,d} more not listed" if state["more"] else ""
            lines += text_table(
                MESSAGE_COLUMNS,
                [Group("messages", f"first {len(state['messages'])}{more}",
                       tuple(message_rows(state)))],
            )  # fmt: skip
        if dead_rows(state):
            lines.append("")
            lines += text_table(
                DEAD_COLUMNS,
                [Group(f"dead letters in {state['dead_letter_queue']}",
                       plural(len(dead_rows(state)), "message"), tuple(dead_rows(state)))],
            )  # fmt: skip
    return panel_text(
        heading(state, name),
        lines,
        subheading=snapshot_time(state, now),
        notice=notice,
        hint=hint,
    )


def _lane_html(state: Row) -> str:
    cells = []
    for m in state["messages"][:LANE]:
        words = state_words(m, state["visibility_timeout"])
        title = f"{short_id(m['message_id'])}: {words}; received {m['receive_count']}×"
        cells.append(
            f'<span title="{esc(title)}" style="display:inline-block;width:1.25em;'
            f'text-align:center">{esc(mark(m))}</span>'
        )
    more = state["more"] + max(0, len(state["messages"]) - LANE)
    tail = f' <span style="opacity:0.8">+{more:,d} more</span>' if more else ""
    body = "".join(cells) or '<span style="opacity:0.8">(empty)</span>'
    return (
        f'<div role="img" aria-label="{esc(lane(state))}" style="{MONO};font-size:1.15em;'
        f'margin:4px 0">{body}{tail}</div>'
        f'<div style="opacity:0.8;font-size:0.92em">{esc(LEGEND)}</div>'
    )


def render_html(
    state: Row, *, name: str = "", now: float | None = None, notice: str = "", hint: str = ""
) -> str:
    """The queue as self-contained HTML."""
    if not state:
        body = f"<div>Create a queue, then send a message: <code>{esc(EXAMPLE)}</code></div>"
    else:
        lines = [counts_line(state), settings_line(state), dead_letter_line(state)]
        body = _lane_html(state) + lines_html([*lines, *policy_lines(state)])
        if state.get("groups"):
            body += table_html(
                GROUP_COLUMNS,
                [Group("message groups", plural(len(state["groups"]), "group"),
                       tuple(group_rows(state)))],
            )  # fmt: skip
        if state["messages"]:
            more = f", {state['more']:,d} more not listed" if state["more"] else ""
            body += table_html(
                MESSAGE_COLUMNS,
                [Group("messages, in queue order", f"first {len(state['messages'])}{more}",
                       tuple(message_rows(state)))],
            )  # fmt: skip
        if dead_rows(state):
            body += table_html(
                DEAD_COLUMNS,
                [Group(f"dead letters in {state['dead_letter_queue']}",
                       plural(len(dead_rows(state)), "message"), tuple(dead_rows(state)))],
            )  # fmt: skip
    return panel_html(
        kind="queue",
        heading=heading(state, name),
        subheading=snapshot_time(state, now),
        body=body,
        notice=notice,
        hint=hint,
    )


def render(snapshot: Any, *, name: str = "", hint: str = "") -> tuple[str, str]:
    """``(html, text)`` of a snapshot (for a static display without a widget)."""
    state = queue_state(snapshot)
    return render_html(state, name=name, hint=hint), render_text(state, name=name, hint=hint)


__all__ = [
    "LEGEND",
    "duration",
    "heading",
    "lane",
    "mark",
    "queue_state",
    "render",
    "render_html",
    "render_text",
    "state_words",
]
