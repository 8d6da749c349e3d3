"""What an SQS queue holds: a read-only snapshot for views and checks.

A :class:`QueueSnapshot` describes a queue as the lab clock stands: how many messages are visible,
in flight (received, hidden until their visibility timeout ends), delayed, and how many outlived
the retention period; each message's receive count, age and, when it is hidden, the time left
before it shows again; for a FIFO queue its message groups, a group with a message in flight
marked as blocked; the dead-letter queue its redrive policy names, with the messages moved there;
and who the queue's access policy lets send to it. Real AWS shows none of this at once: it is the
lab's glass box. An SNS topic's snapshot is :mod:`labkit.services.sns.state`.

Reading changes nothing: a message's state is computed from its own fields at the clock's instant
(moto's boundaries: hidden while ``now <= visible_at``, delayed while ``now < delayed_until``)
without bringing the queue's store up to date, and no backend, queue or store is created.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

#: The attribute of moto's Queue where labkit keeps the queue's indexed messages.
_STORE = "_labkit_store"
#: How many messages a snapshot lists one by one (the counts always cover all of them).
LIMIT = 25
#: How many characters of a body a snapshot keeps.
PREVIEW = 60

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
        content_based_deduplication=is_true(getattr(queue, "content_based_deduplication", False)),
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


def is_true(value: Any) -> bool:
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


__all__ = [
    "AVAILABLE",
    "DELAYED",
    "IN_FLIGHT",
    "LIMIT",
    "GroupInfo",
    "MessageInfo",
    "QueueSnapshot",
    "Statement",
    "find_queue",
    "is_true",
    "message_state",
    "policy_statements",
    "preview",
    "queue_names",
    "queue_snapshot",
]
