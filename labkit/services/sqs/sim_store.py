"""Indexed storage for one SQS queue's messages, so that no call costs more at depth.

Stock moto keeps a queue's messages in one list and scans it, asking the clock about every
message, on every send, receive, delete and attribute read: a queue 2,000 messages deep answers
each call in tens of milliseconds. This store keeps the same messages (moto's own ``Message``
objects, with moto's fields) under indexes instead:

- a heap of messages that are waiting to become receivable (delayed, or in flight until their
  visibility timeout ends), ordered by the instant they do;
- the receivable messages in send order: a heap of messages for a standard queue, and for a FIFO
  queue one ordered lane per message group plus a heap of the groups whose first message is
  ready and which have nothing in flight;
- a dict from every receipt handle a message was given to the message;
- counters of delayed and in-flight messages (the ``Approximate*`` attributes);
- a heap by enqueue time for the retention period, and the FIFO deduplication ids of the last
  interval (kept after a message is deleted, as in AWS).

Time only moves forward in a lab, so a message changes state in heap order; each call first
"advances" the store to the current instant, which touches only the messages whose state changed.
Heap entries are never searched for: an entry whose message changed since it was pushed carries a
stale generation number and is skipped when it surfaces.

The boundaries follow moto exactly: a message is visible when ``now > visible_at`` and no longer
delayed when ``now >= delayed_until`` (milliseconds since the epoch).

This module is plain Python (it does not import moto); of moto's ``Message`` it uses
``visible_at``, ``delayed_until``, ``group_id``, ``receipt_handle``, ``all_receipt_handles``,
``approximate_receive_count`` and ``mark_received()``.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Iterator
from typing import Any

DELAYED = 0
INFLIGHT = 1
AVAILABLE = 2
DELETED = 3

#: State names, for views and error messages.
STATE_NAMES = {DELAYED: "delayed", INFLIGHT: "in flight", AVAILABLE: "available", DELETED: "gone"}


class _Entry:
    """The store's bookkeeping for one message."""

    __slots__ = ("enqueued_ms", "gen", "group", "message", "seq", "state")

    def __init__(self, message: Any, seq: int, enqueued_ms: float) -> None:
        self.message = message
        self.seq = seq
        self.gen = 0
        self.state = DELETED  # counted nowhere until the store files it
        self.enqueued_ms = enqueued_ms
        self.group: _Group | None = None


class _Group:
    """One FIFO message group: its messages in send order and how many are in flight."""

    __slots__ = ("entries", "inflight", "key", "queued_seq", "token")

    def __init__(self, key: str | None) -> None:
        self.key = key
        self.entries: deque[_Entry] = deque()
        self.inflight = 0
        # The token of this group's live entry in the ready-groups heap (0 when it has none) and
        # the first message that entry was filed under.
        self.token = 0
        self.queued_seq = -1


def _state_at(message: Any, now_ms: float) -> int:
    """The state a message's own fields give it at ``now_ms`` (moto's boundaries)."""
    if now_ms < float(message.delayed_until or 0.0):
        return DELAYED
    if not now_ms > float(message.visible_at or 0.0):
        return INFLIGHT
    return AVAILABLE


class MessageStore:
    """The messages of one queue, indexed.

    Args:
        fifo: Whether the queue is a FIFO queue (per-group order and blocking).
    """

    def __init__(self, fifo: bool) -> None:
        self.fifo = fifo
        self._entries: dict[int, _Entry] = {}  # by id(message), in enqueue order
        self._seq = itertools.count()
        self._tokens = itertools.count(1)
        # (key_ms, kind, seq, gen, entry): kind DELAYED sorts before INFLIGHT at the same key,
        # because a delayed message is ready at ``now >= key`` and an in-flight one at
        # ``now > key``.
        self._pending: list[tuple[float, int, int, int, _Entry]] = []
        self._ready: list[tuple[int, int, _Entry]] = []  # standard: (seq, gen, entry)
        self._ready_groups: list[tuple[int, int, _Group]] = []  # FIFO: (head seq, token, group)
        self._groups: dict[str | None, _Group] = {}
        self._by_receipt: dict[str, _Entry] = {}
        self._retention: list[tuple[float, int, _Entry]] = []  # (enqueued_ms, seq, entry)
        self._delayed = 0
        self._inflight = 0
        #: FIFO deduplication: key -> end of its interval (ms), in the order they were recorded.
        self.dedup: dict[Any, float] = {}
        self._dedup_order: deque[tuple[float, Any]] = deque()
        #: How many messages were dropped because they outlived the retention period.
        self.expired_count = 0

    # -- reading ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, message: object) -> bool:
        return id(message) in self._entries

    @property
    def delayed_count(self) -> int:
        """Messages not receivable yet because of a delay (call :meth:`advance` first)."""
        return self._delayed

    @property
    def inflight_count(self) -> int:
        """Messages received and not yet visible again (call :meth:`advance` first)."""
        return self._inflight

    @property
    def available_count(self) -> int:
        """Messages visible and not delayed (call :meth:`advance` first)."""
        return len(self._entries) - self._delayed - self._inflight

    def messages(self) -> list[Any]:
        """Every message, in the order it entered the queue."""
        return [entry.message for entry in self._entries.values()]

    def messages_in(self, state: int) -> list[Any]:
        """The messages in ``state`` (DELAYED, INFLIGHT or AVAILABLE), in queue order."""
        return [e.message for e in self._entries.values() if e.state == state]

    def state_of(self, message: object) -> int:
        """The state of ``message`` (DELETED when it is not in the queue)."""
        entry = self._entries.get(id(message))
        return entry.state if entry is not None else DELETED

    def inflight_groups(self) -> set[str]:
        """FIFO: the message groups that have a message in flight."""
        return {g.key for g in self._groups.values() if g.inflight and g.key is not None}

    def find(self, receipt_handle: str) -> Any | None:
        """The message that was given ``receipt_handle`` on some receive, if it is still here."""
        entry = self._by_receipt.get(receipt_handle)
        return entry.message if entry is not None else None

    def next_change_ms(self) -> float | None:
        """When the next delayed or in-flight message becomes receivable (ms), if any."""
        pending = self._pending
        while pending and pending[0][3] != pending[0][4].gen:
            heapq.heappop(pending)
        return pending[0][0] if pending else None

    def enqueued_ms(self, message: object) -> float | None:
        """When ``message`` entered this queue, as its retention counts it (ms)."""
        entry = self._entries.get(id(message))
        return entry.enqueued_ms if entry is not None else None

    # -- time -------------------------------------------------------------------------------
    def advance(self, now_ms: float, retention_ms: float | None = None) -> list[Any]:
        """Bring every message to its state at ``now_ms``; drop those past ``retention_ms``.

        Returns:
            The messages dropped because they outlived the retention period.
        """
        expired: list[Any] = []
        if retention_ms is not None:
            retention = self._retention
            limit = now_ms - retention_ms
            while retention and retention[0][0] <= limit:
                _, _, entry = heapq.heappop(retention)
                if entry.state != DELETED and self._entries.get(id(entry.message)) is entry:
                    self.expired_count += 1
                    self._remove(entry)
                    expired.append(entry.message)
        pending = self._pending
        while pending:
            key, kind, _, gen, entry = pending[0]
            if gen != entry.gen:
                heapq.heappop(pending)
                continue
            if now_ms < key or (kind == INFLIGHT and now_ms == key):
                break
            heapq.heappop(pending)
            self._settle(entry, now_ms)
        return expired

    # -- changing ---------------------------------------------------------------------------
    def append(self, message: Any, now_ms: float, *, enqueued_ms: float | None = None) -> None:
        """Add ``message`` at the end of the queue.

        Args:
            message: moto's ``Message``.
            now_ms: The current instant.
            enqueued_ms: When the retention period starts (defaults to ``now_ms``).
        """
        if id(message) in self._entries:
            self._remove(self._entries[id(message)])  # the same message twice: keep the last
        entry = _Entry(message, next(self._seq), now_ms if enqueued_ms is None else enqueued_ms)
        self._entries[id(message)] = entry
        for handle in message.all_receipt_handles:
            if handle is not None:
                self._by_receipt[handle] = entry
        heapq.heappush(self._retention, (entry.enqueued_ms, entry.seq, entry))
        if self.fifo:
            key = message.group_id
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Group(key)
            group.entries.append(entry)
            entry.group = group
        self._enter(entry, _state_at(message, now_ms))
        if self.fifo and entry.group is not None:
            self._refresh_group(entry.group)

    def remove(self, message: object) -> bool:
        """Take ``message`` out of the queue; ``False`` when it was not in it."""
        entry = self._entries.get(id(message))
        if entry is None:
            return False
        self._remove(entry)
        return True

    def clear(self) -> list[Any]:
        """Remove every message (purge); deduplication ids stay. Returns what was removed."""
        removed = self.messages()
        self._entries.clear()
        self._pending.clear()
        self._ready.clear()
        self._ready_groups.clear()
        self._groups.clear()
        self._by_receipt.clear()
        self._retention.clear()
        self._delayed = 0
        self._inflight = 0
        return removed

    def reconsider(self, message: object, now_ms: float) -> None:
        """Re-read ``message``'s visibility after it was changed (ChangeMessageVisibility)."""
        entry = self._entries.get(id(message))
        if entry is None:
            return
        self._settle(entry, now_ms, force=True)

    def receive(
        self,
        now_ms: float,
        count: int,
        visibility_timeout: int | None,
        *,
        max_receive_count: int | None = None,
        dead_letters: list[Any] | None = None,
    ) -> list[Any]:
        """Receive up to ``count`` messages, as moto's ``receive_message`` picks them.

        Messages come in queue order; on a FIFO queue a group with a message in flight (before
        this call) is skipped, and a group's messages come in order. A message already received
        ``max_receive_count`` times is taken out and added to ``dead_letters`` instead, as
        ``(message, enqueued_ms)``.

        Args:
            now_ms: The current instant (call :meth:`advance` first).
            count: At most this many messages.
            visibility_timeout: Seconds each received message stays invisible.
            max_receive_count: The redrive policy's maxReceiveCount, when there is a DLQ.
            dead_letters: Where messages for the dead-letter queue go.
        """
        if self.fifo:
            return self._receive_fifo(
                now_ms, count, visibility_timeout, max_receive_count, dead_letters
            )
        result: list[Any] = []
        again: list[_Entry] = []
        ready = self._ready
        while ready and len(result) < count:
            _, gen, entry = heapq.heappop(ready)
            if gen != entry.gen or entry.state != AVAILABLE:
                continue
            if not self._still_available(entry, now_ms):
                continue
            if self._to_dead_letters(entry, max_receive_count, dead_letters):
                continue
            self._hand_out(entry, visibility_timeout, now_ms)
            result.append(entry.message)
            if entry.state == AVAILABLE:
                # Received without a visibility timeout: receivable again, but not twice in
                # one call.
                again.append(entry)
        for entry in again:
            if entry.state == AVAILABLE:
                heapq.heappush(ready, (entry.seq, entry.gen, entry))
        return result

    def record_dedup(self, key: Any, now_ms: float, interval_ms: float) -> bool:
        """Remember a FIFO deduplication id; ``False`` when it was seen within the interval."""
        order = self._dedup_order
        dedup = self.dedup
        while order and order[0][0] <= now_ms:
            until, old = order.popleft()
            if dedup.get(old) == until:
                del dedup[old]
        seen_until = dedup.get(key)
        if seen_until is not None and now_ms < seen_until:
            return False
        until = now_ms + interval_ms
        dedup[key] = until
        order.append((until, key))
        return True

    # -- internals --------------------------------------------------------------------------
    def _enter(self, entry: _Entry, state: int, *, file_ready: bool = True) -> None:
        """Put ``entry`` (counted nowhere) into ``state`` and the index that state needs.

        ``file_ready=False`` leaves a receivable message out of the ready heap (the caller files
        it later: a message received without a visibility timeout is not handed out twice in
        one call).
        """
        entry.gen += 1
        entry.state = state
        message = entry.message
        if state == DELAYED:
            self._delayed += 1
            heapq.heappush(
                self._pending,
                (float(message.delayed_until), DELAYED, entry.seq, entry.gen, entry),
            )
        elif state == INFLIGHT:
            self._inflight += 1
            if entry.group is not None:
                entry.group.inflight += 1
            heapq.heappush(
                self._pending,
                (float(message.visible_at), INFLIGHT, entry.seq, entry.gen, entry),
            )
        elif not self.fifo and file_ready:
            heapq.heappush(self._ready, (entry.seq, entry.gen, entry))

    def _leave(self, entry: _Entry) -> None:
        """Stop counting ``entry`` in its state (its heap entries go stale)."""
        entry.gen += 1
        if entry.state == DELAYED:
            self._delayed -= 1
        elif entry.state == INFLIGHT:
            self._inflight -= 1
            if entry.group is not None:
                entry.group.inflight -= 1
        entry.state = DELETED

    def _settle(self, entry: _Entry, now_ms: float, *, force: bool = False) -> None:
        """Move ``entry`` to the state its fields give it now."""
        state = _state_at(entry.message, now_ms)
        if state == entry.state and not force:
            return
        self._leave(entry)
        self._enter(entry, state)
        if entry.group is not None:
            self._refresh_group(entry.group)

    def _remove(self, entry: _Entry) -> None:
        self._leave(entry)
        del self._entries[id(entry.message)]
        for handle in entry.message.all_receipt_handles:
            if handle is not None and self._by_receipt.get(handle) is entry:
                del self._by_receipt[handle]
        group = entry.group
        if group is not None:
            if group.entries and group.entries[0] is entry:
                group.entries.popleft()
            else:
                group.entries.remove(entry)
            entry.group = None
            if not group.entries:
                group.token = 0
                del self._groups[group.key]
            else:
                self._refresh_group(group)

    def _still_available(self, entry: _Entry, now_ms: float) -> bool:
        # A ready entry whose fields say otherwise (the clock was moved back, or a field was
        # written from outside) goes back to where its fields put it.
        if _state_at(entry.message, now_ms) == AVAILABLE:
            return True
        self._settle(entry, now_ms, force=True)
        return False

    def _to_dead_letters(
        self, entry: _Entry, max_receive_count: int | None, dead_letters: list[Any] | None
    ) -> bool:
        if max_receive_count is None or dead_letters is None:
            return False
        if entry.message.approximate_receive_count < max_receive_count:
            return False
        self._remove(entry)
        dead_letters.append((entry.message, entry.enqueued_ms))
        return True

    def _hand_out(self, entry: _Entry, visibility_timeout: int | None, now_ms: float) -> None:
        message = entry.message
        message.mark_received(visibility_timeout=visibility_timeout)
        if message.receipt_handle is not None:
            self._by_receipt[message.receipt_handle] = entry
        self._leave(entry)
        self._enter(entry, _state_at(message, now_ms), file_ready=False)

    # -- FIFO -------------------------------------------------------------------------------
    def _refresh_group(self, group: _Group) -> None:
        """Put ``group`` in the ready-groups heap when it can deliver, take it out otherwise."""
        head = group.entries[0] if group.entries else None
        if group.inflight or head is None or head.state != AVAILABLE:
            group.token = 0
            return
        if group.token and group.queued_seq == head.seq:
            return  # already filed under this message
        token = next(self._tokens)
        group.token = token
        group.queued_seq = head.seq
        heapq.heappush(self._ready_groups, (head.seq, token, group))

    def _receive_fifo(
        self,
        now_ms: float,
        count: int,
        visibility_timeout: int | None,
        max_receive_count: int | None,
        dead_letters: list[Any] | None,
    ) -> list[Any]:
        # A merge, in queue order, of the lanes of the groups that can deliver: a group joins
        # when its first message comes before every lane's next one. Groups received from here
        # stay in the merge for the rest of the call (AWS hands out several messages of one
        # group in one batch); a group stops at a message that is not receivable.
        heap = self._ready_groups
        lanes: list[tuple[int, int, _Group]] = []  # (seq of next message, index, group)
        chosen: list[_Group] = []
        merged: set[int] = set()
        result: list[Any] = []
        while len(result) < count:
            while heap and (not lanes or heap[0][0] < lanes[0][0]):
                _, token, group = heapq.heappop(heap)
                if token != group.token:
                    continue
                group.token = 0  # this entry is used up; the group is filed again at the end
                if id(group) in merged:
                    continue
                if group.inflight or not group.entries or group.entries[0].state != AVAILABLE:
                    continue
                merged.add(id(group))
                chosen.append(group)
                heapq.heappush(lanes, (group.entries[0].seq, 0, group))
            if not lanes:
                break
            _, index, group = heapq.heappop(lanes)
            if index >= len(group.entries):
                continue
            entry = group.entries[index]
            if entry.state != AVAILABLE or not self._still_available(entry, now_ms):
                continue
            if self._to_dead_letters(entry, max_receive_count, dead_letters):
                # The group lost this message; its next one now sits at ``index``.
                if index < len(group.entries):
                    heapq.heappush(lanes, (group.entries[index].seq, index, group))
                continue
            self._hand_out(entry, visibility_timeout, now_ms)
            result.append(entry.message)
            if index + 1 < len(group.entries):
                heapq.heappush(lanes, (group.entries[index + 1].seq, index + 1, group))
        for group in chosen:
            group.token = 0
            if group.entries:
                self._refresh_group(group)
        return result

    def iter_entries(self) -> Iterator[tuple[Any, int, float]]:
        """(message, state, enqueued_ms) for every message, in queue order (for views)."""
        for entry in self._entries.values():
            yield entry.message, entry.state, entry.enqueued_ms
