"""An SNS topic's fan-out as HTML and as text: subscriptions, filters, and which message went where.

Two tables. The **subscriptions**: each endpoint with its protocol, its filter policy and the
policy's scope (message attributes or message body), raw message delivery, and, for an SQS queue,
whether the queue's access policy lets the topic deliver (``✓ allowed`` or ``✗ denied`` with the
reason). The **fan-out**: one row per message published, one column per subscription, saying
``✓ delivered``, ``– filtered out`` or ``✗ failed``; the reasons of failures are listed below it.

Plain functions over a snapshot kept as plain values (what the topic widget syncs), made from
:class:`labkit.sandbox.queue_inspect.TopicSnapshot` by :func:`topic_state`. Nothing here reads
AWS. Symbols and words carry every distinction, never colour.
"""

from __future__ import annotations

from typing import Any

from labkit.views.base import (
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

DELIVERED = "✓ delivered"
FILTERED = "– filtered out"
FAILED = "✗ failed"
EXAMPLE = 'sns.publish(TopicArn=topic_arn, Message="...")'

SUBSCRIPTION_COLUMNS: tuple[Column, ...] = (
    Column("#"),
    Column("endpoint", mono=True),
    Column("protocol"),
    Column("filter policy", mono=True),
    Column("raw delivery"),
    Column("may the topic deliver?"),
)


def topic_state(snapshot: Any) -> dict[str, Any]:
    """A :class:`~labkit.sandbox.queue_inspect.TopicSnapshot` as plain values (``{}`` for none)."""
    return snapshot_state(snapshot)


def heading(state: Row, name: str = "") -> str:
    """The view's heading."""
    if not state:
        return f"SNS topic {name}: not found" if name else "Topic view: no topic yet"
    kind = "FIFO topic" if state["fifo"] else "standard topic"
    return f"SNS {kind} {state['name']}"


def summary_line(state: Row) -> str:
    """How many subscriptions and messages."""
    published = plural(state["published"], "message")
    shown = len(state["publications"])
    tail = f" (the last {shown} below)" if shown < state["published"] else ""
    dedup = ""
    if state["fifo"]:
        dedup = " · content-based deduplication " + (
            "on" if state["content_based_deduplication"] else "off"
        )
    return (
        f"{plural(len(state['subscriptions']), 'subscription')} · {published} published"
        f"{tail}{dedup}"
    )


def _filter(sub: Row) -> str:
    if not sub["filter_policy"]:
        return "none (gets every message)"
    scope = "body" if sub["filter_scope"] == "MessageBody" else "attributes"
    return f"on {scope}: {sub['filter_policy']}"


def _access(sub: Row) -> str:
    if sub["allowed"] is None:
        return "-"
    if sub["allowed"]:
        return f"✓ allowed ({sub['access']})"
    return f"✗ denied: {sub['access']}"


def subscription_rows(state: Row) -> list[tuple[str, ...]]:
    """The subscriptions as table rows."""
    return [
        (
            str(i),
            sub["target"],
            sub["protocol"],
            _filter(sub),
            "on (the message itself)" if sub["raw"] else "off (an SNS envelope)",
            _access(sub),
        )
        for i, sub in enumerate(state["subscriptions"], start=1)
    ]


def _fan_columns(state: Row) -> tuple[Column, ...]:
    subs = [Column(f"{i} {s['target']}") for i, s in enumerate(state["subscriptions"], start=1)]
    return (Column("message", mono=True), Column("attributes", mono=True), *subs)


def outcome_words(outcome: Row) -> str:
    """One outcome in words (with its symbol)."""
    if outcome["result"] == "delivered":
        return DELIVERED
    if outcome["result"] == "filtered out":
        return FILTERED
    code = str(outcome["detail"]).split(":", 1)[0]
    return f"{FAILED} ({code})"


def fan_rows(state: Row) -> list[tuple[str, ...]]:
    """One row per message: where it went."""
    rows: list[tuple[str, ...]] = []
    for p in state["publications"]:
        group = f" [{p['group']}]" if p.get("group") else ""
        rows.append(
            (
                f"{short_id(p['message_id'])} {p['preview']}{group}",
                p["attributes"] or "-",
                *(outcome_words(o) for o in p["outcomes"]),
            )
        )
    return rows


def failure_reasons(state: Row) -> list[str]:
    """Each distinct reason a delivery failed, with the endpoints it failed for."""
    seen: dict[str, dict[str, int]] = {}
    for p in state["publications"]:
        for o in p["outcomes"]:
            if o["result"] == "failed":
                endpoints = seen.setdefault(str(o["detail"]), {})
                endpoints[o["endpoint"]] = endpoints.get(o["endpoint"], 0) + 1
    lines = []
    for detail, endpoints in seen.items():
        where = ", ".join(f"{e} ({plural(n, 'message')})" for e, n in endpoints.items())
        lines.append(f"✗ {where}: {detail}")
    return lines


def render_text(
    state: Row, *, name: str = "", now: float | None = None, notice: str = "", hint: str = ""
) -> str:
    """The topic as plain text."""
    lines: list[str] = []
    if not state:
        lines.append(f"Create a topic, subscribe queues, then publish: {EXAMPLE}")
    else:
        lines.append(summary_line(state))
        if state["subscriptions"]:
            lines += text_table(
                SUBSCRIPTION_COLUMNS,
                [Group("subscriptions", str(len(state["subscriptions"])),
                       tuple(subscription_rows(state)))],
            )  # fmt: skip
        else:
            lines.append("No subscription: a message published now reaches nobody.")
        if state["publications"] and state["subscriptions"]:
            lines.append("")
            lines += text_table(
                _fan_columns(state),
                [Group("fan-out", plural(len(state["publications"]), "message"),
                       tuple(fan_rows(state)))],
            )  # fmt: skip
            lines += failure_reasons(state)
    return panel_text(
        heading(state, name),
        lines,
        subheading=snapshot_time(state, now),
        notice=notice,
        hint=hint,
    )


def render_html(
    state: Row, *, name: str = "", now: float | None = None, notice: str = "", hint: str = ""
) -> str:
    """The topic as self-contained HTML."""
    if not state:
        body = (
            "<div>Create a topic, subscribe queues, then publish: "
            f"<code>{esc(EXAMPLE)}</code></div>"
        )
    else:
        body = lines_html([summary_line(state)])
        if state["subscriptions"]:
            body += table_html(
                SUBSCRIPTION_COLUMNS,
                [Group("subscriptions", plural(len(state["subscriptions"]), "subscription"),
                       tuple(subscription_rows(state)))],
            )  # fmt: skip
        else:
            body += "<div>No subscription: a message published now reaches nobody.</div>"
        if state["publications"] and state["subscriptions"]:
            body += table_html(
                _fan_columns(state),
                [Group("fan-out: where each message went",
                       plural(len(state["publications"]), "message"), tuple(fan_rows(state)))],
            )  # fmt: skip
            body += lines_html(failure_reasons(state))
    return panel_html(
        kind="topic",
        heading=heading(state, name),
        subheading=snapshot_time(state, now),
        body=body,
        notice=notice,
        hint=hint,
    )


def render(snapshot: Any, *, name: str = "", hint: str = "") -> tuple[str, str]:
    """``(html, text)`` of a snapshot (for a static display without a widget)."""
    state = topic_state(snapshot)
    return render_html(state, name=name, hint=hint), render_text(state, name=name, hint=hint)


__all__ = [
    "DELIVERED",
    "FAILED",
    "FILTERED",
    "failure_reasons",
    "fan_rows",
    "heading",
    "outcome_words",
    "render",
    "render_html",
    "render_text",
    "subscription_rows",
    "topic_state",
]
