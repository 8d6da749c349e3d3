"""SQS as the course needs it: long polling on the lab clock, AWS's retention and deduplication,
and calls that cost the same at any queue depth.

- Long polling: stock moto waits for ``WaitTimeSeconds`` in real time (and forever when time is
  frozen). In a lab the wait happens on the lab clock instead: the call returns at once, with the
  clock moved to the moment a message became available, or by the whole wait when none did.
- Depth: stock moto scans every message of a queue, asking the clock about each, on every call.
  While the sandbox runs, each queue's messages live in a :class:`MessageStore` (indexes by
  availability time, receipt handle and FIFO group) attached to moto's own ``Queue`` object, and
  moto's ``Queue`` and ``SQSBackend`` methods that touched the list use it instead. The messages
  are moto's own ``Message`` objects; received copies are shallow, not deep.
- Retention: a message past the queue's ``MessageRetentionPeriod`` is gone, from receives and
  from the ``Approximate*`` counts.
- Attributes: checked against their documented ranges, and ``SetQueueAttributes`` keeps the
  access policy unless it names it (:mod:`labkit.services.sqs.patch_attributes`).
- FIFO deduplication: a deduplication id stays taken for the whole interval even after its
  message was deleted ("Amazon SQS continues tracking the deduplication ID even after the message
  has been received and deleted",
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-key-terms.html),
  per queue or per message group as ``DeduplicationScope`` says.
- Dead-letter queues: a standard queue's message keeps its enqueue time when it moves to the
  DLQ, a FIFO queue's message starts afresh (https://docs.aws.amazon.com/AWSSimpleQueueService/
  latest/SQSDeveloperGuide/setting-up-dead-letter-queue-retention.html).
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from moto.core.utils import camelcase_to_underscores, unix_time, unix_time_millis
from moto.moto_api._internal import mock_random
from moto.settings import sqs_enforce_strict_queue_purge_behaviour
from moto.sqs import models as sqs_models
from moto.sqs.exceptions import (
    InvalidParameterValue,
    PurgeQueueInProgress,
    ReceiptHandleIsInvalid,
)
from moto.sqs.models import Message, Queue, SQSBackend, _filter_message_attributes, sqs_backends

from labkit import facts
from labkit.clock import Clock
from labkit.services.sqs.patch_attributes import validated_attributes
from labkit.services.sqs.sim_store import AVAILABLE, INFLIGHT, MessageStore

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

_STORE = "_labkit_store"
# The length of moto's receipt handles (moto.sqs.utils.generate_receipt_handle).
_RECEIPT_HANDLE_LENGTH = 185


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install the SQS patches for ``sandbox``."""
    stack.enter_context(validated_attributes())
    stack.enter_context(indexed_queues())
    # Long polling wraps whichever receive is installed, so it goes on last.
    stack.enter_context(long_polling_on(lambda: sandbox.clock))


# -- the store of a queue -------------------------------------------------------------------
def queue_by_arn(arn: str) -> Queue | None:
    """moto's queue named by ``arn`` (``arn:aws:sqs:region:account:name``), or ``None``."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        return None
    region, account, name = parts[3], parts[4], parts[5]
    queue: Queue | None = sqs_backends[account][region].queues.get(name)
    return queue


def store_of(queue: Queue) -> MessageStore:
    """The indexed messages of ``queue`` (created on first use, kept on the queue itself)."""
    store: MessageStore | None = queue.__dict__.get(_STORE)
    if store is None:
        store = MessageStore(fifo=bool(getattr(queue, "fifo_queue", False)))
        queue.__dict__[_STORE] = store
    return store


def _retention_ms(queue: Queue) -> float:
    return float(queue.message_retention_period) * 1000.0  # type: ignore[attr-defined]


def _current(queue: Queue) -> tuple[MessageStore, float]:
    """The queue's store brought to the current instant, and that instant (ms)."""
    store = store_of(queue)
    now = unix_time_millis()
    for message in store.advance(now, _retention_ms(queue)):
        # An expired message is deleted: deleting it again is harmless, as after a delete.
        queue.deleted_messages.update(h for h in message.all_receipt_handles if h)
    return store, now


def _dedup_interval_ms() -> float:
    return float(facts.value("sqs.fifo_dedup_interval")) * 1000.0


# -- moto Queue, indexed --------------------------------------------------------------------
def _messages_get(self: Queue) -> list[Message]:
    return store_of(self).messages()


def _messages_set(self: Queue, value: list[Message]) -> None:
    # Queue.__init__ (and stock purge) assign a list: start a fresh store with what was given.
    self.__dict__.pop(_STORE, None)
    if value:
        store = store_of(self)
        now = unix_time_millis()
        for message in value:
            store.append(message, now)


def _visible_messages(self: Queue) -> list[Message]:
    store, _ = _current(self)
    return store.messages_in(AVAILABLE)


def _pending_messages(self: Queue) -> set[Message]:
    store, _ = _current(self)
    return set(store.messages_in(INFLIGHT))


def _pending_message_groups(self: Queue) -> set[str]:
    store, _ = _current(self)
    return store.inflight_groups()


def _number_delayed(self: Queue) -> int:
    return _current(self)[0].delayed_count


def _number_not_visible(self: Queue) -> int:
    return _current(self)[0].inflight_count


def _number_available(self: Queue) -> int:
    return _current(self)[0].available_count


def _make_attributes() -> Callable[[Queue], dict[str, Any]]:
    names = {
        name: camelcase_to_underscores(name)
        for name in Queue.BASE_ATTRIBUTES + Queue.FIFO_ATTRIBUTES + Queue.KMS_ATTRIBUTES
    }

    def attributes(self: Queue) -> dict[str, Any]:
        # moto's Queue.attributes, with the attribute names converted once instead of per call
        # and the store brought up to date once (it is read several times per sent message).
        store, _ = _current(self)
        counts = {
            "ApproximateNumberOfMessages": store.available_count,
            "ApproximateNumberOfMessagesDelayed": store.delayed_count,
            "ApproximateNumberOfMessagesNotVisible": store.inflight_count,
        }
        result: dict[str, Any] = {}
        for attribute in self.BASE_ATTRIBUTES:
            if attribute in counts:
                result[attribute] = counts[attribute]
            else:
                result[attribute] = getattr(self, names[attribute])
        if self.fifo_queue:
            for attribute in self.FIFO_ATTRIBUTES:
                result[attribute] = getattr(self, names[attribute])
        if self.kms_master_key_id:  # type: ignore[attr-defined]
            for attribute in self.KMS_ATTRIBUTES:
                result[attribute] = getattr(self, names[attribute])
        policy = self.policy
        if policy:
            result["Policy"] = policy
        if self.redrive_policy:
            result["RedrivePolicy"] = json.dumps(self.redrive_policy)
        # moto keeps a dead-letter queue's RedriveAllowPolicy but never returns it; AWS does.
        allow = getattr(self, "redrive_allow_policy", None)
        if allow:
            result["RedriveAllowPolicy"] = allow if isinstance(allow, str) else json.dumps(allow)
        for key, value in result.items():
            if isinstance(value, bool):
                result[key] = str(value).lower()
        return result

    return attributes


def _receipt_handle() -> str:
    """moto's receipt handle (185 lowercase letters from moto's seeded random), drawn in one
    call instead of 185: it was the largest cost of a receive."""
    return "".join(mock_random.choices(string.ascii_lowercase, k=_RECEIPT_HANDLE_LENGTH))


def _dedup_key(queue: Queue, message: Message) -> Any:
    if getattr(queue, "deduplication_scope", "queue") == "messageGroup":
        return (message.group_id, message.deduplication_id)
    return message.deduplication_id


def _add_message(self: Queue, message: Message) -> None:
    store, now = _current(self)
    if self.fifo_queue and message.deduplication_id is not None:
        sent = float(message.sent_timestamp or now)
        if not store.record_dedup(_dedup_key(self, message), sent, _dedup_interval_ms()):
            return  # accepted, not delivered: a duplicate within the interval
    store.append(message, now)
    _feed_event_source_mappings(self)


def _enqueue_dead_letter(queue: Queue, message: Message, enqueued_ms: float) -> None:
    store, now = _current(queue)
    # Standard queues keep the original enqueue time, FIFO queues start afresh.
    store.append(message, now, enqueued_ms=now if queue.fifo_queue else enqueued_ms)
    _feed_event_source_mappings(queue)


def _feed_event_source_mappings(queue: Queue) -> None:
    """moto's Lambda event source mappings poll a queue when a message arrives (as stock)."""
    if not queue.lambda_event_source_mappings:
        return
    backend: SQSBackend = sqs_backends[queue.account_id][queue.region]
    for arn, esm in list(queue.lambda_event_source_mappings.items()):
        if not esm.enabled:
            continue
        # Lambda polls without waiting: a long poll here would move the lab clock in a send.
        messages = _receive(
            backend,
            queue.name,
            esm.batch_size,
            0,
            queue.visibility_timeout,  # type: ignore[attr-defined]
        )
        from moto.awslambda.utils import get_backend

        ok = get_backend(queue.account_id, queue.region).send_sqs_batch(
            arn, messages, queue.queue_arn
        )
        for m in messages:
            handle = str(m.receipt_handle)
            if ok:
                backend.delete_message(queue.name, handle)
            else:
                backend.change_message_visibility(queue.name, handle, 0)


def _delete_message(self: Queue, receipt_handle: str) -> None:
    if receipt_handle in self.deleted_messages:
        return  # already deleted: deleting again is harmless
    store, _ = _current(self)
    message = store.find(receipt_handle)
    if message is None:
        raise ReceiptHandleIsInvalid()
    store.remove(message)
    self.deleted_messages.update(h for h in message.all_receipt_handles if h)


# -- moto SQSBackend, indexed ---------------------------------------------------------------
def _receive(
    self: SQSBackend,
    queue_name: str,
    count: int,
    wait_seconds_timeout: int,
    visibility_timeout: int,
    message_attribute_names: list[str] | None = None,
) -> list[Message]:
    """moto's receive without the wait (long polling wraps it on the lab clock)."""
    queue = self.get_queue(queue_name)
    store, now = _current(queue)
    dlq = queue.dead_letter_queue
    redrive = queue.redrive_policy if dlq is not None else None
    dead: list[tuple[Message, float]] = []
    received = store.receive(
        now,
        count,
        visibility_timeout,
        max_receive_count=redrive["maxReceiveCount"] if redrive else None,
        dead_letters=dead,
    )
    for message, enqueued in dead:
        _enqueue_dead_letter(dlq, message, enqueued)  # type: ignore[arg-type]
    names = message_attribute_names or []
    result = []
    for message in received:
        # A shallow copy is enough: only its message_attributes are replaced (filtered). It is
        # made without moto's BaseModel.__new__, which would keep every copy alive in its
        # instance registry.
        shown = object.__new__(type(message))
        shown.__dict__.update(message.__dict__)
        _filter_message_attributes(shown, names)
        result.append(shown)
    return result


def _change_message_visibility(
    self: SQSBackend, queue_name: str, receipt_handle: str, visibility_timeout: int
) -> None:
    queue = self.get_queue(queue_name)
    store, now = _current(queue)
    message = store.find(receipt_handle)
    if message is None:
        raise ReceiptHandleIsInvalid()
    # moto's check, unchanged: the total visibility timeout counts from the message's sending.
    limit = int(facts.value("sqs.visibility_timeout_max"))
    given = now + int(visibility_timeout) * 1000
    if given - float(message.sent_timestamp or 0) > limit * 1000:
        raise InvalidParameterValue(
            f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: "
            f"Total VisibilityTimeout for the message is beyond the limit [{limit} seconds]"
        )
    message.change_visibility(visibility_timeout)
    if int(visibility_timeout) == 0:
        # "0 makes the message visible immediately"; moto counts it visible only strictly after
        # visible_at, which never comes while the lab clock stands still.
        message.visible_at = now - 1.0
    store.reconsider(message, now)


def _purge_queue(self: SQSBackend, queue_name: str) -> None:
    queue = self.get_queue(queue_name)
    now = unix_time()
    if (
        sqs_enforce_strict_queue_purge_behaviour()
        and queue.last_purged_at is not None
        and now - queue.last_purged_at < 60
    ):
        raise PurgeQueueInProgress(queue.name)
    queue.last_purged_at = now
    store_of(queue).clear()


def _patch(stack: ExitStack, owner: type, name: str, value: Any) -> None:
    missing = object()
    original = owner.__dict__.get(name, missing)
    setattr(owner, name, value)

    def undo() -> None:
        if original is missing:
            delattr(owner, name)
        else:
            setattr(owner, name, original)

    stack.callback(undo)


@contextmanager
def _module_global(module: Any, name: str, value: Any) -> Iterator[None]:
    original = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, original)


def _materialise_stores() -> None:
    """Give every queue a plain message list again (when the patches come off)."""
    for account in dict.values(sqs_backends):
        for backend in dict.values(account):
            for queue in backend.queues.values():
                store = queue.__dict__.pop(_STORE, None)
                if store is not None:
                    queue.__dict__["_messages"] = store.messages()
                    queue._pending_messages = set(store.messages_in(INFLIGHT))


@contextmanager
def indexed_queues() -> Iterator[None]:
    """Patch moto's SQS so that queues keep their messages in a :class:`MessageStore`."""
    with ExitStack() as stack:
        stack.callback(_materialise_stores)
        _patch(stack, Queue, "_messages", property(_messages_get, _messages_set))
        _patch(stack, Queue, "messages", property(_visible_messages))
        _patch(stack, Queue, "pending_messages", property(_pending_messages))
        _patch(stack, Queue, "pending_message_groups", property(_pending_message_groups))
        _patch(stack, Queue, "approximate_number_of_messages", property(_number_available))
        _patch(stack, Queue, "approximate_number_of_messages_delayed", property(_number_delayed))
        _patch(
            stack,
            Queue,
            "approximate_number_of_messages_not_visible",
            property(_number_not_visible),
        )
        _patch(stack, Queue, "attributes", property(_make_attributes()))
        _patch(stack, Queue, "add_message", _add_message)
        _patch(stack, Queue, "delete_message", _delete_message)
        _patch(stack, SQSBackend, "receive_message", _receive)
        _patch(stack, SQSBackend, "change_message_visibility", _change_message_visibility)
        _patch(stack, SQSBackend, "purge_queue", _purge_queue)
        stack.enter_context(_module_global(sqs_models, "generate_receipt_handle", _receipt_handle))
        yield


# -- long polling ---------------------------------------------------------------------------
def _available_at(message: Message) -> float:
    """Epoch seconds at which ``message`` becomes receivable (visible and not delayed).

    moto counts a message visible when now > visible_at and not delayed when now >=
    delayed_until (both in milliseconds), hence the extra millisecond.
    """
    visible_ms = float(message.visible_at) + 1.0
    delayed_ms = float(getattr(message, "delayed_until", 0.0) or 0.0)
    return max(visible_ms, delayed_ms) / 1000.0


def next_availability(queue: Queue, now: float) -> float | None:
    """The earliest future instant (epoch seconds) at which a message of ``queue`` becomes
    receivable."""
    if _STORE in queue.__dict__:
        store, _ = _current(queue)
        change_ms = store.next_change_ms()
        # One millisecond later, so that moto's boundaries (now > visible_at) are passed even
        # after the clock's microsecond rounding.
        at = None if change_ms is None else (change_ms + 1.0) / 1000.0
        return at if at is not None and at > now else None
    times = [t for t in (_available_at(m) for m in queue._messages) if t > now]
    return min(times) if times else None


@contextmanager
def long_polling_on(clock_of: Callable[[], Clock]) -> Iterator[None]:
    """Patch moto so that long polls wait on the lab clock.

    Args:
        clock_of: Returns the clock that is current (a check's isolated world has its own).
    """
    original = SQSBackend.receive_message

    def receive_message(
        self: SQSBackend,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[Any]:
        clock = clock_of()
        deadline = clock.timestamp + float(wait_seconds_timeout or 0)
        while True:
            result: list[Any] = original(
                self, queue_name, count, 0, visibility_timeout, message_attribute_names
            )
            if result or clock.timestamp >= deadline:
                return result
            # Nothing now: jump to whichever comes first within the wait, a message becoming
            # available or a scheduled event of the lab (which may send one).
            candidates = [
                t
                for t in (
                    next_availability(self.get_queue(queue_name), clock.timestamp),
                    clock.next_event_time,
                )
                if t is not None and t <= deadline
            ]
            clock.advance_to(min(candidates) if candidates else deadline)

    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
    try:
        yield
    finally:
        SQSBackend.receive_message = original  # type: ignore[method-assign]
