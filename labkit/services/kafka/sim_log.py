"""A Kafka topic's partitions as in-memory logs: offsets, ordering, idempotent appends, retention.

Plain Python (no moto, no sockets): the broker (:mod:`.sim_broker`) calls it; views and tests read
it. A partition's log is the list of record batches producers sent, stored as the bytes they came
in (Kafka's record batch format v2, "magic 2"), the way a Kafka broker keeps them on disk: the
broker only writes the batch's base offset into its header (bytes 0-8, outside the batch's CRC,
which covers the attributes onwards:
https://kafka.apache.org/documentation/#recordbatch), so a fetch returns the stored bytes
unchanged and the client checks the producer's CRC itself.

Retention runs on the **lab clock**: each batch remembers the lab time it was appended, and a
batch older than ``retention.ms`` (or beyond ``retention.bytes`` per partition, oldest first) is
deleted whole. Kafka deletes whole log segments by their newest record timestamp; the records'
own timestamps here are the producer's wall-clock ``CreateTime``, which the lab clock does not
drive, so the append time stands in for them (a batch is the sandbox's segment).
"""

from __future__ import annotations

import bisect
import struct
import uuid
from dataclasses import dataclass, field

#: Bytes of a v2 record batch header before its records.
BATCH_HEADER = 61
_MAGIC_AT = 16
_LAST_DELTA_AT = 23
_FIRST_TS_AT = 27
_MAX_TS_AT = 35
_PRODUCER_ID_AT = 43
_BASE_SEQ_AT = 53
_COUNT_AT = 57


class LogError(Exception):
    """A batch the log refuses, with Kafka's error name and code."""

    def __init__(self, name: str, code: int, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.error_code = code
        self.message = message


@dataclass
class Batch:
    """One stored record batch."""

    base_offset: int
    last_offset: int
    data: bytearray
    appended_at: float  # lab time (epoch seconds)
    max_timestamp: int  # the batch's own newest record timestamp (ms)
    count: int


@dataclass
class _Producer:
    """An idempotent producer's last batch on one partition (for retries of it)."""

    base_sequence: int
    last_sequence: int
    base_offset: int


def split_batches(records: bytes | bytearray | memoryview) -> list[bytearray]:
    """The record batches in a produce request's ``records`` bytes.

    Raises:
        LogError: a batch is not magic 2 or is cut short (``CORRUPT_MESSAGE``).
    """
    view = memoryview(records)
    out: list[bytearray] = []
    at = 0
    while at < len(view):
        if len(view) - at < BATCH_HEADER:
            raise LogError("CORRUPT_MESSAGE", 2, "a record batch is cut short")
        (length,) = struct.unpack_from(">i", view, at + 8)
        end = at + 12 + length
        if end > len(view) or view[at + _MAGIC_AT] != 2:
            raise LogError(
                "CORRUPT_MESSAGE", 2, "only record batches of format v2 (magic 2) are accepted"
            )
        out.append(bytearray(view[at:end]))
        at = end
    return out


@dataclass
class PartitionLog:
    """One partition: its replicas (broker ids, leader first) and its log."""

    topic: str
    index: int
    replicas: list[int]
    batches: list[Batch] = field(default_factory=list)
    log_start_offset: int = 0
    next_offset: int = 0  # the log end offset (and high watermark: every replica is in sync)
    size: int = 0
    _last_offsets: list[int] = field(default_factory=list)
    _producers: dict[int, _Producer] = field(default_factory=dict)

    @property
    def leader(self) -> int:
        """The broker id that leads this partition."""
        return self.replicas[0]

    def append(self, batch: bytearray, now: float) -> int:
        """Store ``batch`` at the end of the log; returns its base offset.

        An idempotent producer's retry of its last batch (same producer id and base sequence) is
        not stored again: the first copy's offset comes back, as Kafka does. A sequence gap is
        ``OUT_OF_ORDER_SEQUENCE_NUMBER``.
        """
        count = struct.unpack_from(">i", batch, _LAST_DELTA_AT)[0] + 1
        (producer_id,) = struct.unpack_from(">q", batch, _PRODUCER_ID_AT)
        (base_sequence,) = struct.unpack_from(">i", batch, _BASE_SEQ_AT)
        if producer_id >= 0 and base_sequence >= 0:
            known = self._producers.get(producer_id)
            if known is not None and known.base_sequence == base_sequence:
                return known.base_offset
            if known is not None and base_sequence != (known.last_sequence + 1) % 2**31:
                raise LogError(
                    "OUT_OF_ORDER_SEQUENCE_NUMBER",
                    45,
                    f"producer {producer_id} sent sequence {base_sequence}, expected "
                    f"{known.last_sequence + 1}",
                )
        base = self.next_offset
        struct.pack_into(">q", batch, 0, base)
        (max_ts,) = struct.unpack_from(">q", batch, _MAX_TS_AT)
        self.batches.append(Batch(base, base + count - 1, batch, now, max_ts, count))
        self._last_offsets.append(base + count - 1)
        self.next_offset = base + count
        self.size += len(batch)
        if producer_id >= 0 and base_sequence >= 0:
            self._producers[producer_id] = _Producer(base_sequence, base_sequence + count - 1, base)
        return base

    def read(self, offset: int, max_bytes: int) -> bytes:
        """Stored batches from the one holding ``offset``, up to about ``max_bytes``.

        The first batch is returned whole even past ``max_bytes`` (Kafka does, so that a
        consumer can always make progress); the client skips records before ``offset``.
        """
        i = bisect.bisect_left(self._last_offsets, offset)
        parts: list[bytes | bytearray] = []
        total = 0
        while i < len(self.batches):
            data = self.batches[i].data
            if parts and total + len(data) > max_bytes:
                break
            parts.append(data)
            total += len(data)
            i += 1
        return b"".join(parts)

    def offset_for_time(self, timestamp_ms: int) -> tuple[int, int]:
        """``(offset, timestamp)`` of the first batch with a record at or after ``timestamp_ms``.

        ``-1`` is "latest" (the log end offset), ``-2`` "earliest" (the log start offset);
        ``(-1, -1)`` when no record is that new, as ListOffsets answers.
        """
        if timestamp_ms == -1:
            return self.next_offset, -1
        if timestamp_ms == -2:
            return self.log_start_offset, -1
        for batch in self.batches:
            if batch.max_timestamp >= timestamp_ms:
                return batch.base_offset, batch.max_timestamp
        return -1, -1

    def enforce_retention(self, now: float, retention_ms: int, retention_bytes: int) -> int:
        """Delete batches past retention (time on the lab clock, then size); returns how many.

        ``-1`` means unlimited, as in Kafka's ``retention.ms`` and ``retention.bytes``.
        """
        dropped = 0
        while self.batches:
            oldest = self.batches[0]
            too_old = retention_ms >= 0 and (now - oldest.appended_at) * 1000 > retention_ms
            too_big = retention_bytes >= 0 and self.size > retention_bytes
            if not (too_old or too_big):
                break
            self.batches.pop(0)
            self._last_offsets.pop(0)
            self.size -= len(oldest.data)
            self.log_start_offset = oldest.last_offset + 1
            dropped += 1
        return dropped

    def records(self) -> list[tuple[int, bytes | None, bytes | None]]:
        """Every retained record as ``(offset, key, value)``, decoded (for views and tests)."""
        from kafka.record import MemoryRecords  # type: ignore[import-untyped]

        out: list[tuple[int, bytes | None, bytes | None]] = []
        for batch in self.batches:
            memory = MemoryRecords(bytes(batch.data))
            while True:
                decoded = memory.next_batch()
                if decoded is None:
                    break
                for record in decoded:
                    out.append((record.offset, record.key, record.value))
        return out


@dataclass
class Topic:
    """A topic: its partitions and its configuration (Kafka's config names)."""

    name: str
    partitions: list[PartitionLog]
    replication_factor: int
    configs: dict[str, str] = field(default_factory=dict)
    topic_id: uuid.UUID = field(default_factory=uuid.uuid4)

    def config_int(self, name: str, default: int) -> int:
        """A numeric config, or ``default`` when unset or not a number."""
        try:
            return int(self.configs[name])
        except (KeyError, ValueError):
            return default
