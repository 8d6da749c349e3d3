"""An SNS topic's fan-out as HTML and as text: subscriptions, filters, and which message went where.

Two tables. The **subscriptions**: each endpoint with its protocol, its filter policy and the
policy's scope (message attributes or message body), raw message delivery, and, for an SQS queue,
whether the queue's access policy lets the topic deliver (``✓ allowed`` or ``✗ denied`` with the
reason). The **fan-out**: one row per message published, one column per subscription, saying
``✓ delivered``, ``– filtered out``, ``✗ failed``, ``○ not delivered in the sandbox`` (email,
SMS, ...) or ``· not subscribed yet``; the reasons of failures are listed below it. The **delivery
log**: the last few messages the topic accepted, each with its lab time, id, subject and body, and
for every subscription the topic had then, the outcome and why (which scope a filter policy read
and what did not match, why a delivery failed, which function was invoked), duplicates a FIFO
topic dropped included.

Plain functions over a snapshot kept as plain values (what the topic widget syncs), made from
:class:`labkit.services.sns.state.TopicSnapshot` by :func:`topic_state`. Nothing here reads
AWS. Symbols and words carry every distinction, never colour.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from labkit.views.base import (
    Column,
    Group,
    Row,
    clean,
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
    width,
)

DELIVERED = "✓ delivered"
FILTERED = "– filtered out"
FAILED = "✗ failed"
NOT_DELIVERED = "○ not delivered in the sandbox"
NOT_SUBSCRIBED = "· not subscribed yet"
DUPLICATE = "= duplicate"
#: The words of each result (as :mod:`labkit.services.sns.patch_log` names them) with a symbol.
RESULT_WORDS = {
    "delivered": DELIVERED,
    "filtered out": FILTERED,
    "failed": FAILED,
    "not delivered in the sandbox": NOT_DELIVERED,
    "not subscribed yet": NOT_SUBSCRIBED,
}
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
    """A :class:`~labkit.services.sns.state.TopicSnapshot` as plain values (``{}`` for none)."""
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
    if outcome["result"] == "failed":
        code = str(outcome["detail"]).split(":", 1)[0]
        return f"{FAILED} ({code})"
    return RESULT_WORDS.get(str(outcome["result"]), str(outcome["result"]))


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


# -- the delivery log ----------------------------------------------------------------------------
LOG_COLUMNS: tuple[Column, ...] = (
    Column("outcome"),
    Column("subscription", mono=True),
    Column("why"),
)


def _clock(at: float) -> str:
    return f"{datetime.fromtimestamp(at, tz=timezone.utc):%H:%M:%S}"


def log_title(state: Row) -> str:
    """The delivery log's heading."""
    shown, logged = len(state["log"]), state["logged"]
    which = f"the last {shown} of {logged}" if shown < logged else f"all {shown}"
    return f"Delivery log: {which} messages, oldest first, each as it happened"


def log_heading(entry: Row) -> str:
    """One logged message: lab time, id, body, then subject, attributes and group."""
    parts = [f"{_clock(entry['at'])} {short_id(entry['message_id'])} “{entry['preview']}”"]
    if entry["subject"]:
        parts.append(f"subject {entry['subject']}")
    if entry["attributes"]:
        parts.append(f"attributes {entry['attributes']}")
    if entry["group_id"]:
        parts.append(f"group {entry['group_id']}")
    return " · ".join(parts)


def log_summary(entry: Row) -> str:
    """What became of one logged message, in a few words."""
    if entry["duplicate_of"]:
        return (
            f"{DUPLICATE} of {short_id(entry['duplicate_of']) or 'an earlier message'} (same "
            "deduplication id within the interval): accepted, delivered to no subscription"
        )
    if entry["error"]:
        return f"⚠ Publish failed part-way ({entry['error']}); later subscriptions were not tried"
    if not entry["outcomes"]:
        return "no subscription then: it reached nobody"
    counts: dict[str, int] = {}
    for outcome in entry["outcomes"]:
        counts[outcome["result"]] = counts.get(outcome["result"], 0) + 1
    # A fixed order (delivered first), whatever order the subscriptions came in.
    order = list(RESULT_WORDS)
    ranked = sorted(counts.items(), key=lambda c: order.index(c[0]) if c[0] in order else 99)
    return ", ".join(f"{n} {result}" for result, n in ranked)


def log_words(outcome: Row) -> str:
    """One subscription's outcome in the log, in words with its symbol."""
    words = RESULT_WORDS.get(str(outcome["result"]), str(outcome["result"]))
    if outcome["result"] == "failed" and outcome["code"]:
        return f"{words} ({outcome['code']})"
    if outcome["result"] == "filtered out" and outcome["scope"]:
        scope = "body" if outcome["scope"] == "MessageBody" else "attributes"
        return f"{words} (on {scope})"
    return words


def log_rows(entry: Row, seen: dict[tuple[str, str], str] | None = None) -> list[tuple[str, ...]]:
    """One row per subscription the message met: outcome, subscription, why.

    Args:
        entry: The logged message.
        seen: Reasons already shown, by (subscription, reason), with the message they were shown
            for; a reason shown before is referred to instead of repeated (a queue whose policy
            denies the topic fails the same way for every message). Updated here.
    """
    rows: list[tuple[str, ...]] = []
    for o in entry["outcomes"]:
        why = str(o["reason"])
        if seen is not None and o["result"] != "delivered":
            key = (str(o["subscription"]), why)
            if key in seen:
                why = f"The same reason as for {seen[key]} above."
            else:
                seen[key] = short_id(entry["message_id"])
        rows.append((log_words(o), f"{o['target']} ({o['protocol']})", why))
    return rows


def log_lines(state: Row) -> list[str]:
    """The delivery log as indented plain text."""
    lines = [log_title(state)]
    seen: dict[tuple[str, str], str] = {}
    for entry in state["log"]:
        lines.append(f"• {log_heading(entry)}: {log_summary(entry)}")
        rows = log_rows(entry, seen)
        if not rows:
            continue
        widths = [max(width(r[i]) for r in rows) for i in range(2)]
        for outcome, where, why in rows:
            pad = [c + " " * (w - width(c)) for c, w in zip((outcome, where), widths, strict=True)]
            lines.append(clean(f"    {pad[0]}  {pad[1]}  {why}"))
    return lines


def log_html(state: Row) -> str:
    """The delivery log as a table, one group of rows per message."""
    seen: dict[tuple[str, str], str] = {}
    groups = [
        Group(log_heading(entry), log_summary(entry), tuple(log_rows(entry, seen)))
        for entry in state["log"]
    ]
    return lines_html([log_title(state)]) + table_html(LOG_COLUMNS, groups)


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
        if state.get("log"):
            lines.append("")
            lines += log_lines(state)
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
        if state.get("log"):
            body += log_html(state)
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
    "DUPLICATE",
    "FAILED",
    "FILTERED",
    "NOT_DELIVERED",
    "NOT_SUBSCRIBED",
    "RESULT_WORDS",
    "failure_reasons",
    "fan_rows",
    "heading",
    "log_html",
    "log_lines",
    "log_rows",
    "outcome_words",
    "render",
    "render_html",
    "render_text",
    "subscription_rows",
    "topic_state",
]
