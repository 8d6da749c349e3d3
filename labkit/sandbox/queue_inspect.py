"""What an SQS queue and an SNS topic hold: read-only snapshots for views and checks.

A :class:`QueueSnapshot` describes a queue as the lab clock stands: how many messages are visible,
in flight (received, hidden until their visibility timeout ends), delayed, and how many outlived
the retention period; each message's receive count, age and, when it is hidden, the time left
before it shows again; for a FIFO queue its message groups, a group with a message in flight
marked as blocked; the dead-letter queue its redrive policy names, with the messages moved there;
and who the queue's access policy lets send to it. A :class:`TopicSnapshot` describes an SNS topic:
its subscriptions with their filter policies, raw delivery and whether the subscribed queue's policy
lets the topic deliver, and for each message published which subscription got it, which one's
filter dropped it and why a delivery failed, from the topic's delivery log
(:mod:`labkit.sandbox.services.sns_log`). Real AWS shows none of this at once: it is the lab's
glass box.

Reading changes nothing: a message's state is computed from its own fields at the clock's instant
(moto's boundaries: hidden while ``now <= visible_at``, delayed while ``now < delayed_until``)
without bringing the queue's store up to date, and no backend, queue or store is created.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labkit.sandbox.services.sns import delivery_decision, failed_deliveries
from labkit.sandbox.services.sns_log import (
    DELIVERED,
    FAILED,
    FILTERED,
    LoggedMessage,
    delivery_log,
    logged_count,
)

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

#: The attribute of moto's Queue where labkit keeps the queue's indexed messages.
_STORE = "_labkit_store"
#: How many messages a snapshot lists one by one (the counts always cover all of them).
LIMIT = 25
#: How many characters of a body a snapshot keeps.
PREVIEW = 60
#: How many messages of a topic's delivery log a snapshot carries (a view shows the last few;
#: the whole log is :func:`labkit.sandbox.services.sns.delivery_log`).
LOG_SHOWN = 5
#: A fan-out outcome for a subscription made after the message was published.
NOT_SUBSCRIBED = "not subscribed yet"

AVAILABLE = "available"
IN_FLIGHT = "in flight"
DELAYED = "delayed"


# -- snapshots ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class MessageInfo:
    """One message, as a view lists it.

    Attributes:
        message_id: Its id.
        preview: The start of its body.
        state: ``available``, ``in flight`` or ``delayed``.
        receive_count: How many times it was received.
        age: Seconds since it was first sent.
        seconds_left: In flight: seconds until it is visible again; delayed: until it can be
            received; ``None`` when available.
        group: Its message group (FIFO), else ``None``.
        deduplication_id: Its deduplication id (FIFO), else ``None``.
        blocked: FIFO: available, but its group has a message in flight, so it waits.
        retention_left: Seconds before the retention period deletes it.
    """

    message_id: str
    preview: str
    state: str
    receive_count: int
    age: float
    seconds_left: float | None
    group: str | None
    deduplication_id: str | None
    blocked: bool
    retention_left: float


@dataclass(frozen=True)
class GroupInfo:
    """One message group of a FIFO queue.

    Attributes:
        group_id: The group's id.
        messages: How many messages it holds.
        in_flight: How many of them are in flight.
        blocked: Whether a message in flight holds the rest of the group back.
        head: The id of the group's first message (the next one it delivers).
        seconds_left: When blocked, seconds until the in-flight message shows again.
    """

    group_id: str
    messages: int
    in_flight: int
    blocked: bool
    head: str
    seconds_left: float | None


@dataclass(frozen=True)
class Statement:
    """One statement of an access policy, in words.

    Attributes:
        sid: Its Sid (or its position).
        effect: ``Allow`` or ``Deny``.
        principal: Who it is about.
        action: Which actions.
        condition: Its condition in words, ``""`` when none.
    """

    sid: str
    effect: str
    principal: str
    action: str
    condition: str


@dataclass(frozen=True)
class QueueSnapshot:
    """A queue as the lab clock stands.

    Attributes:
        name: Its name.
        url: Its URL.
        arn: Its ARN.
        fifo: Whether it is a FIFO queue.
        now: The lab time of the snapshot (epoch seconds).
        visibility_timeout: Seconds a received message stays hidden (queue default).
        retention: Seconds a message is kept.
        delay: Seconds a new message stays delayed (queue default).
        receive_wait: The queue's default long-poll wait (``ReceiveMessageWaitTimeSeconds``).
        content_based_deduplication: FIFO: whether the body's hash is the deduplication id.
        available: Messages that can be received now.
        in_flight: Messages received and hidden.
        delayed: Messages not deliverable yet.
        expired: Messages the retention period deleted.
        oldest_age: Age of the oldest message (seconds), ``None`` when empty.
        messages: The first :data:`LIMIT` messages, in queue order.
        more: How many messages the list leaves out.
        groups: FIFO: every message group, blocked ones first.
        dead_letter_queue: The name of the queue its redrive policy names, ``""`` when none.
        max_receive_count: The redrive policy's maxReceiveCount (0 when none).
        dead_letters: The dead-letter queue's snapshot (its messages), when there is one.
        sources: Queues whose redrive policy names this queue (it is their dead-letter queue).
        policy: The access policy's statements, in words (empty when there is no policy).
    """

    name: str
    url: str
    arn: str
    fifo: bool
    now: float
    visibility_timeout: int
    retention: int
    delay: int
    receive_wait: int
    content_based_deduplication: bool
    available: int
    in_flight: int
    delayed: int
    expired: int
    oldest_age: float | None
    messages: tuple[MessageInfo, ...]
    more: int
    groups: tuple[GroupInfo, ...]
    dead_letter_queue: str
    max_receive_count: int
    dead_letters: QueueSnapshot | None
    sources: tuple[str, ...]
    policy: tuple[Statement, ...]

    @property
    def total(self) -> int:
        """Every message the queue holds."""
        return self.available + self.in_flight + self.delayed

    @property
    def blocked_groups(self) -> tuple[str, ...]:
        """FIFO: the groups held back by a message in flight."""
        return tuple(g.group_id for g in self.groups if g.blocked)

    def message(self, message_id: str) -> MessageInfo | None:
        """The listed message with this id, if it is listed."""
        return next((m for m in self.messages if m.message_id == message_id), None)


@dataclass(frozen=True)
class Outcome:
    """What became of one published message at one subscription.

    Attributes:
        subscription: The subscription's ARN.
        endpoint: Where it delivers (a queue's name, an address).
        result: ``delivered``, ``filtered out``, ``failed``, ``not delivered in the sandbox``
            (email, SMS, ...) or ``not subscribed yet`` (the subscription came later).
        detail: Why (the filter policy, the failure's reason), ``""`` when delivered.
    """

    subscription: str
    endpoint: str
    result: str
    detail: str


@dataclass(frozen=True)
class Publication:
    """One message published to the topic.

    Attributes:
        message_id: The id ``Publish`` returned.
        preview: The start of the message.
        attributes: Its message attributes, as ``name=value`` text.
        group: Its message group (FIFO topics), else ``None``.
        outcomes: One per subscription of the topic.
    """

    message_id: str
    preview: str
    attributes: str
    group: str | None
    outcomes: tuple[Outcome, ...]


@dataclass(frozen=True)
class SubscriptionInfo:
    """One subscription of a topic.

    Attributes:
        arn: Its ARN.
        protocol: ``sqs``, ``lambda``, ``email``, ...
        endpoint: Its endpoint (a queue's ARN, ...).
        target: A short name for the endpoint (the queue's name).
        raw: Whether raw message delivery is on.
        filter_policy: The filter policy as compact JSON, ``""`` when none.
        filter_scope: ``MessageAttributes`` or ``MessageBody`` (``""`` without a policy).
        allowed: SQS: whether the queue's access policy lets the topic deliver now; ``None``
            for other protocols.
        access: SQS: the reason, in a sentence.
        failures: How many deliveries failed.
        last_failure: The reason of the latest failure, ``""`` when none.
    """

    arn: str
    protocol: str
    endpoint: str
    target: str
    raw: bool
    filter_policy: str
    filter_scope: str
    allowed: bool | None
    access: str
    failures: int
    last_failure: str


@dataclass(frozen=True)
class TopicSnapshot:
    """A topic and what became of what was published to it.

    Attributes:
        name: Its name.
        arn: Its ARN.
        fifo: Whether it is a FIFO topic.
        content_based_deduplication: FIFO: whether the body's hash is the deduplication id.
        now: The lab time of the snapshot (epoch seconds).
        subscriptions: Its subscriptions.
        published: How many messages were published (duplicates a FIFO topic dropped excluded).
        publications: The last :data:`LIMIT` of them, oldest first.
        log: The last :data:`LOG_SHOWN` messages of the topic's delivery log (duplicates
            included), oldest first: what became of each at each subscription it had then.
        logged: How many messages the delivery log has seen.
    """

    name: str
    arn: str
    fifo: bool
    content_based_deduplication: bool
    now: float
    subscriptions: tuple[SubscriptionInfo, ...]
    published: int
    publications: tuple[Publication, ...]
    log: tuple[LoggedMessage, ...]
    logged: int


# -- queues -------------------------------------------------------------------------------------
def queue_names(sandbox: Sandbox) -> list[str]:
    """The names of the sandbox's queues, sorted."""
    return sorted(sandbox.backend("sqs").queues)


def _name_of(ref: str) -> str:
    """A queue's name from its name, URL or ARN."""
    ref = ref.strip().rstrip("/")
    if ref.startswith("arn:"):
        return ref.split(":")[-1]
    return ref.rsplit("/", 1)[-1]


def find_queue(sandbox: Sandbox, ref: str) -> Any | None:
    """moto's queue called ``ref`` (a name, URL or ARN), or ``None``."""
    return sandbox.backend("sqs").queues.get(_name_of(ref))


def _entries(queue: Any) -> Iterator[tuple[Any, float]]:
    """(message, enqueued_ms) for every message of the queue, in queue order, read-only."""
    store = queue.__dict__.get(_STORE)
    if store is not None:
        for message, _, enqueued in store.iter_entries():
            yield message, float(enqueued)
        return
    # Outside a lab's patches the messages are moto's plain list.
    for message in queue.__dict__.get("_messages", []) or []:
        yield message, float(message.sent_timestamp or 0)


def _state(message: Any, now_ms: float) -> tuple[str, float | None]:
    delayed_until = float(message.delayed_until or 0.0)
    if now_ms < delayed_until:
        return DELAYED, (delayed_until - now_ms) / 1000.0
    visible_at = float(message.visible_at or 0.0)
    if not now_ms > visible_at:
        return IN_FLIGHT, (visible_at - now_ms) / 1000.0
    return AVAILABLE, None


def message_state(sandbox: Sandbox, ref: str, body: str) -> tuple[str, float | None, int] | None:
    """``(state, seconds_left, receive_count)`` of the queue's message whose body is ``body``.

    ``None`` when the queue has no such message (deleted, moved, expired or never sent). With
    several such messages, the first in queue order.
    """
    queue = find_queue(sandbox, ref)
    if queue is None:
        return None
    now_ms = sandbox.clock.timestamp * 1000.0
    retention_ms = float(queue.message_retention_period) * 1000.0
    for message, enqueued in _entries(queue):
        if message.body == body and enqueued + retention_ms > now_ms:
            state, left = _state(message, now_ms)
            return state, left, int(message.approximate_receive_count)
    return None


def preview(text: object, limit: int = PREVIEW) -> str:
    """The start of ``text`` on one line, with an ellipsis when cut."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def queue_snapshot(
    sandbox: Sandbox, ref: str, *, limit: int = LIMIT, _follow_dlq: bool = True
) -> QueueSnapshot | None:
    """The queue called ``ref`` (name, URL or ARN) as the lab clock stands; ``None`` if missing.

    Args:
        sandbox: The running sandbox.
        ref: The queue's name, URL or ARN.
        limit: How many messages to list one by one (counts always cover all).
    """
    queue = find_queue(sandbox, ref)
    if queue is None:
        return None
    now = sandbox.clock.timestamp
    now_ms = now * 1000.0
    retention_ms = float(queue.message_retention_period) * 1000.0
    fifo = bool(queue.fifo_queue)

    counts = {AVAILABLE: 0, IN_FLIGHT: 0, DELAYED: 0}
    expired = 0
    rows: list[tuple[Any, str, float | None, float]] = []
    groups: dict[str, list[Any]] = {}  # group -> [messages, in flight, head id, seconds left]
    oldest: float | None = None
    total = 0
    for message, enqueued in _entries(queue):
        if enqueued + retention_ms <= now_ms:
            expired += 1  # past retention: gone at the queue's next call
            continue
        state, left = _state(message, now_ms)
        counts[state] += 1
        total += 1
        sent = float(message.sent_timestamp or enqueued)
        age = max(0.0, (now_ms - sent) / 1000.0)
        oldest = age if oldest is None else max(oldest, age)
        if fifo:
            key = str(message.group_id)
            group = groups.setdefault(key, [0, 0, message.id, None])
            group[0] += 1
            if state == IN_FLIGHT:
                group[1] += 1
                group[3] = left if group[3] is None else min(group[3], left or 0.0)
        if len(rows) < limit:
            rows.append((message, state, left, (enqueued + retention_ms - now_ms) / 1000.0))
    expired += int(getattr(queue.__dict__.get(_STORE), "expired_count", 0))

    messages = tuple(
        MessageInfo(
            message_id=str(m.id),
            preview=preview(m.body),
            state=state,
            receive_count=int(m.approximate_receive_count),
            age=round(max(0.0, (now_ms - float(m.sent_timestamp or now_ms)) / 1000.0), 3),
            seconds_left=None if left is None else round(left, 3),
            group=str(m.group_id) if fifo and m.group_id is not None else None,
            deduplication_id=str(m.deduplication_id) if fifo and m.deduplication_id else None,
            blocked=fifo and state == AVAILABLE and groups.get(str(m.group_id), [0, 0])[1] > 0,
            retention_left=round(retention_left, 3),
        )
        for m, state, left, retention_left in rows
    )
    group_infos = tuple(
        sorted(
            (
                GroupInfo(
                    group_id=key,
                    messages=info[0],
                    in_flight=info[1],
                    blocked=info[1] > 0,
                    head=str(info[2]),
                    seconds_left=None if info[3] is None else round(info[3], 3),
                )
                for key, info in groups.items()
            ),
            key=lambda g: (not g.blocked, g.group_id),
        )
    )

    dlq = queue.dead_letter_queue
    redrive = queue.redrive_policy or {}
    dead_letters = None
    if dlq is not None and _follow_dlq:
        dead_letters = queue_snapshot(sandbox, dlq.name, limit=limit, _follow_dlq=False)
    sources = tuple(
        sorted(
            q.name
            for q in sandbox.backend("sqs").queues.values()
            if q.dead_letter_queue is not None and q.dead_letter_queue.name == queue.name
        )
    )
    return QueueSnapshot(
        name=queue.name,
        url=f"https://sqs.{queue.region}.amazonaws.com/{queue.account_id}/{queue.name}",
        arn=queue.queue_arn,
        fifo=fifo,
        now=now,
        visibility_timeout=int(queue.visibility_timeout),
        retention=int(queue.message_retention_period),
        delay=int(queue.delay_seconds),
        receive_wait=int(queue.receive_message_wait_time_seconds),
        content_based_deduplication=_is_true(getattr(queue, "content_based_deduplication", False)),
        available=counts[AVAILABLE],
        in_flight=counts[IN_FLIGHT],
        delayed=counts[DELAYED],
        expired=expired,
        oldest_age=None if oldest is None else round(oldest, 3),
        messages=messages,
        more=max(0, total - len(messages)),
        groups=group_infos,
        dead_letter_queue=dlq.name if dlq is not None else "",
        max_receive_count=int(redrive.get("maxReceiveCount", 0) or 0) if dlq is not None else 0,
        dead_letters=dead_letters,
        sources=sources,
        policy=policy_statements(queue._policy_json),
    )


def _is_true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


# -- access policies in words -------------------------------------------------------------------
def _words(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k} {_words(v)}" for k, v in value.items())
    return str(value)


def policy_statements(policy: Any) -> tuple[Statement, ...]:
    """The statements of an access policy (a dict or its JSON text), in words."""
    if isinstance(policy, str):
        try:
            policy = json.loads(policy) if policy else {}
        except ValueError:
            return (Statement("?", "?", "?", "?", "the policy is not valid JSON"),)
    if not isinstance(policy, dict):
        return ()
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    out = []
    for index, statement in enumerate(statements):
        if not isinstance(statement, dict):
            continue
        principal = statement.get("Principal", statement.get("NotPrincipal"))
        if isinstance(principal, dict):
            principal = _words(list(_flatten(principal.values())))
        conditions = []
        for operator, tests in (statement.get("Condition") or {}).items():
            if isinstance(tests, dict):
                conditions += [f"{key} {operator} {_words(v)}" for key, v in tests.items()]
        out.append(
            Statement(
                sid=str(statement.get("Sid") or f"statement {index + 1}"),
                effect=str(statement.get("Effect", "?")),
                principal=_words(principal),
                action=_words(statement.get("Action", statement.get("NotAction"))),
                condition="; ".join(conditions),
            )
        )
    return tuple(out)


def _flatten(values: Iterable[Any]) -> Iterator[Any]:
    for value in values:
        if isinstance(value, (list, tuple)):
            yield from value
        else:
            yield value


# -- topics -------------------------------------------------------------------------------------
def topic_names(sandbox: Sandbox) -> list[str]:
    """The names of the sandbox's topics, sorted."""
    return sorted(arn.split(":")[-1] for arn in sandbox.backend("sns").topics)


def find_topic(sandbox: Sandbox, ref: str) -> Any | None:
    """moto's topic called ``ref`` (a name or an ARN), or ``None``."""
    topics = sandbox.backend("sns").topics
    if ref in topics:
        return topics[ref]
    return next((t for t in topics.values() if t.name == ref.split(":")[-1]), None)


def _attributes_text(attributes: dict[str, Any] | None) -> str:
    parts = []
    for name, value in (attributes or {}).items():
        shown = (
            value.get("Value", value.get("StringValue", "")) if isinstance(value, dict) else value
        )
        parts.append(f"{name}={shown}")
    return ", ".join(parts)


def _target(endpoint: str) -> str:
    return endpoint.split(":")[-1] if endpoint.startswith("arn:") else endpoint


def _filter_text(subscription: Any) -> tuple[str, str]:
    policy = subscription._filter_policy
    if not policy:
        return "", ""
    scope = str(subscription.attributes.get("FilterPolicyScope") or "MessageAttributes")
    return json.dumps(policy, separators=(",", ":"), sort_keys=True), scope


def topic_snapshot(
    sandbox: Sandbox, ref: str, *, limit: int = LIMIT, log_limit: int = LOG_SHOWN
) -> TopicSnapshot | None:
    """The topic called ``ref`` (name or ARN) and what became of its messages; ``None`` if missing.

    Which subscription got which message comes from the topic's delivery log, as it happened. A
    message the log no longer keeps is worked out from the subscriptions as they are now: each
    one's filter policy against the message, and the failures SNS recorded on it.
    """
    topic = find_topic(sandbox, ref)
    if topic is None:
        return None
    backend = sandbox.backend("sns")
    subscriptions = [s for s in backend.subscriptions.values() if s.topic.arn == topic.arn]
    infos = []
    failed_ids: dict[str, dict[str, str]] = {}
    for sub in subscriptions:
        failures = failed_deliveries(sub)
        failed_ids[sub.arn] = {f.message_id: f"{f.code}: {f.reason}" for f in failures}
        allowed: bool | None = None
        access = ""
        if sub.protocol == "sqs":
            decision = delivery_decision(sub)
            if decision is None:
                allowed, access = False, f"The queue {_target(sub.endpoint)} does not exist."
            else:
                allowed, access = decision.allowed, decision.reason
        policy, scope = _filter_text(sub)
        infos.append(
            SubscriptionInfo(
                arn=sub.arn,
                protocol=sub.protocol,
                endpoint=sub.endpoint,
                target=_target(sub.endpoint),
                raw=_is_true(sub.attributes.get("RawMessageDelivery", False)),
                filter_policy=policy,
                filter_scope=scope,
                allowed=allowed,
                access=access,
                failures=len(failures),
                last_failure=failures[-1].reason if failures else "",
            )
        )
    log = delivery_log(topic)
    logged = {entry.message_id: entry for entry in log}
    sent = list(topic.sent_notifications)
    publications = []
    for message_id, message, _subject, attributes, group in sent[-limit:]:
        entry = logged.get(str(message_id))
        outcomes = []
        for sub, info in zip(subscriptions, infos, strict=True):
            if entry is not None:
                result, detail = _logged_outcome(entry, sub.arn)
            else:
                result, detail = _derived_outcome(sub, info, message_id, message, attributes,
                                                  failed_ids)  # fmt: skip
            outcomes.append(Outcome(sub.arn, info.target, result, detail))
        publications.append(
            Publication(
                message_id=str(message_id),
                preview=preview(message),
                attributes=_attributes_text(attributes),
                group=group,
                outcomes=tuple(outcomes),
            )
        )
    return TopicSnapshot(
        name=topic.name,
        arn=topic.arn,
        fifo=_is_true(topic.fifo_topic),
        content_based_deduplication=_is_true(topic.content_based_deduplication),
        now=sandbox.clock.timestamp,
        subscriptions=tuple(infos),
        published=len(sent),
        publications=tuple(publications),
        log=tuple(log[-log_limit:]) if log_limit > 0 else (),
        logged=logged_count(topic),
    )


def _logged_outcome(entry: LoggedMessage, subscription_arn: str) -> tuple[str, str]:
    """``(result, detail)`` of a subscription for a message, as the delivery log has it."""
    found = next((o for o in entry.outcomes if o.subscription == subscription_arn), None)
    if found is None:
        return NOT_SUBSCRIBED, "The subscription did not exist when the message was published."
    if found.result == FILTERED:
        return FILTERED, f"{found.scope} {found.filter_policy}"
    if found.result == FAILED:
        return FAILED, f"{found.code}: {found.reason}"
    if found.result == DELIVERED:
        return DELIVERED, ""
    return found.result, found.reason


def _derived_outcome(
    sub: Any,
    info: SubscriptionInfo,
    message_id: str,
    message: str,
    attributes: dict[str, Any] | None,
    failed_ids: dict[str, dict[str, str]],
) -> tuple[str, str]:
    """``(result, detail)`` worked out from the subscription as it is now (no log entry)."""
    matcher = sub._filter_policy_matcher
    if matcher is not None and not matcher.matches(attributes, message):
        return FILTERED, f"{info.filter_scope} {info.filter_policy}"
    if message_id in failed_ids[sub.arn]:
        return FAILED, failed_ids[sub.arn][message_id]
    return DELIVERED, ""


__all__ = [
    "AVAILABLE",
    "DELAYED",
    "IN_FLIGHT",
    "LIMIT",
    "LOG_SHOWN",
    "NOT_SUBSCRIBED",
    "GroupInfo",
    "MessageInfo",
    "Outcome",
    "Publication",
    "QueueSnapshot",
    "Statement",
    "SubscriptionInfo",
    "TopicSnapshot",
    "find_queue",
    "find_topic",
    "message_state",
    "policy_statements",
    "preview",
    "queue_names",
    "queue_snapshot",
    "topic_names",
    "topic_snapshot",
]
