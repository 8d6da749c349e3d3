"""What a Kinesis data stream and its Firehose delivery streams hold: read-only snapshots for views.

A :class:`StreamSnapshot` describes a stream as the lab clock stands: each shard with its hash key
range, whether it is open or closed, its parents and children after a reshard, how many records it
holds (records past the retention period are left out, as ``GetRecords`` would leave them out),
which partition keys fill it, its newest records with their sequence numbers, where each consumer's
checkpoint stands in it, and its throughput meter (the last second against its limits, throttled
calls since it was created). A :class:`DeliverySnapshot` describes a Firehose delivery stream's
buffer filling up and the objects it delivered to S3.

Snapshots stay cheap with a hundred thousand records in a stream: they aggregate (records per
slot of a fixed number of slots, counts per partition key) instead of copying records, and each
shard keeps a small index of its records' sequence numbers and keys that is brought
up to date incrementally (new records appended, trimmed ones dropped) on moto's ``Shard`` object,
so that ``lab.reset()`` and a check's isolated world cover it like every other piece of state.

Reading never creates a backend, a stream, a meter or a buffer, and never trims a record.
"""

from __future__ import annotations

import base64
import binascii
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from labkit import facts
from labkit.clock import Clock, ScheduledEvent
from labkit.sandbox.backends import DEFAULT_ACCOUNT_ID, existing_in
from labkit.services.firehose.patch import s3_destination
from labkit.services.kinesis.sim_throughput import ShardLimits, ShardMeter, ShardUsage

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

HASH_SPACE = 2**128
#: How many slots a lane of the view has: a shard's records are grouped into at most this many.
SLOTS = 40
#: How many of a shard's newest records a snapshot lists one by one.
RECENT = 6
#: How many partition keys of the stream a snapshot names (the rest are "other keys").
TOP_KEYS = 8
#: A checkpoint that says a consumer finished a closed shard.
SHARD_END = "SHARD_END"


# -- snapshots ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RecordInfo:
    """One record, as the view lists it.

    Attributes:
        sequence: Its sequence number (a string, as the API returns it).
        partition_key: Its partition key.
        at: When it arrived, lab time as epoch seconds.
        preview: The start of its data, as text.
    """

    sequence: str
    partition_key: str
    at: float
    preview: str


@dataclass(frozen=True)
class Slot:
    """A run of consecutive records of one shard (one mark on a lane of the view).

    Attributes:
        count: How many records.
        key: The partition key of most of them, or ``""`` when no key has half of them.
        key_count: How many of them have ``key``.
    """

    count: int
    key: str
    key_count: int


@dataclass(frozen=True)
class ShardInfo:
    """One shard of a stream.

    Attributes:
        shard_id: Its id.
        starting_hash: The first hash key it takes.
        ending_hash: The last hash key it takes.
        open: Whether new records can land in it (a split or merge closes its parents).
        parent: The shard it was split from or merged from, if any.
        adjacent_parent: The other parent of a merge, if any.
        children: The shards a split or merge of this one opened.
        records: Records it holds within the retention period.
        expired: Records older than the retention period still in memory (no longer readable).
        first_sequence: Sequence number of its oldest readable record (``""`` when empty).
        last_sequence: Sequence number of its newest record (``""`` when empty).
        first_at: Arrival of its oldest readable record (epoch seconds), or ``None``.
        last_at: Arrival of its newest record, or ``None``.
        keys: Its busiest partition keys with their record counts, busiest first.
        distinct_keys: How many different partition keys it holds.
        slots: Its records in order, grouped into runs of ``records_per_slot``.
        recent: Its newest records, oldest first.
        positions: How many of its records each consumer has read (by checkpoint).
        usage: Its throughput meter now.
    """

    shard_id: str
    starting_hash: int
    ending_hash: int
    open: bool
    parent: str | None
    adjacent_parent: str | None
    children: tuple[str, ...]
    records: int
    expired: int
    first_sequence: str
    last_sequence: str
    first_at: float | None
    last_at: float | None
    keys: tuple[tuple[str, int], ...]
    distinct_keys: int
    slots: tuple[Slot, ...]
    recent: tuple[RecordInfo, ...]
    positions: Mapping[str, int]
    usage: ShardUsage

    @property
    def hash_share(self) -> float:
        """The share of the hash key space this shard covers."""
        return (self.ending_hash - self.starting_hash + 1) / HASH_SPACE


@dataclass(frozen=True)
class StreamSnapshot:
    """A Kinesis data stream as the lab clock stands.

    Attributes:
        name: The stream's name.
        arn: Its ARN.
        mode: ``PROVISIONED`` or ``ON_DEMAND``.
        status: Its status (``ACTIVE``, ...).
        retention_hours: Its retention period.
        at: The instant of the snapshot (epoch seconds).
        shards: Every shard, in the order they were created.
        records_per_slot: How many records one slot of a lane stands for.
        top_keys: The stream's busiest partition keys with their record counts.
        distinct_keys: How many different partition keys the stream holds.
        consumers: The consumers whose checkpoints were given, in order.
    """

    name: str
    arn: str
    mode: str
    status: str
    retention_hours: int
    at: float
    shards: tuple[ShardInfo, ...]
    records_per_slot: int
    top_keys: tuple[tuple[str, int], ...]
    distinct_keys: int
    consumers: tuple[str, ...]

    @property
    def records(self) -> int:
        """Readable records in all shards."""
        return sum(s.records for s in self.shards)

    @property
    def open_shards(self) -> list[ShardInfo]:
        """The shards new records can land in."""
        return [s for s in self.shards if s.open]

    def shard(self, shard_id: str) -> ShardInfo:
        """The shard called ``shard_id``."""
        for shard in self.shards:
            if shard.shard_id == shard_id:
                return shard
        raise KeyError(shard_id)


@dataclass(frozen=True)
class DeliverySnapshot:
    """A Firehose delivery stream to S3: its buffer and what it delivered.

    Attributes:
        name: The delivery stream's name.
        source: ``DirectPut`` or the name of the Kinesis data stream it reads.
        bucket: The destination bucket.
        prefix: The configured ``Prefix`` (``""`` when none).
        error_prefix: The configured ``ErrorOutputPrefix`` (``""`` when none).
        compression: ``UNCOMPRESSED``, ``GZIP`` or ``ZIP``.
        size_limit: Buffer size that triggers a delivery, in bytes.
        interval: Buffer interval that triggers a delivery, in seconds.
        buffered_bytes: Bytes waiting in the buffer.
        buffered_records: Records waiting in the buffer.
        oldest_arrival: When the oldest buffered record arrived (epoch seconds), or ``None``.
        flush_at: When the buffer will be delivered at the latest, or ``None``.
        objects_delivered: S3 objects written so far.
        records_delivered: Records delivered so far.
        bytes_delivered: Bytes (before compression) delivered so far.
        last_error: Why the last delivery failed, if it did.
        keys: Keys of the newest delivered objects, oldest first.
        at: The instant of the snapshot.
    """

    name: str
    source: str
    bucket: str
    prefix: str
    error_prefix: str
    compression: str
    size_limit: int
    interval: int
    buffered_bytes: int
    buffered_records: int
    oldest_arrival: float | None
    flush_at: float | None
    objects_delivered: int
    records_delivered: int
    bytes_delivered: int
    last_error: str | None
    keys: tuple[str, ...]
    at: float


_KEY = attrgetter("partition_key")
_AT = attrgetter("created_at")
_SEQ = attrgetter("sequence_number")


# -- the per-shard index ------------------------------------------------------------------------
class ShardIndex:
    """The records of a shard and their partition keys, in order, kept in step with moto's
    ``shard.records`` (an ordered dict by sequence number: records are appended, and retention
    trims the oldest) by :meth:`sync`, which only looks at what changed.

    A record's sequence number and arrival time are read from the record when needed, by
    bisection: reading an attribute of each of 100,000 records scattered in memory is what costs.
    """

    __slots__ = ("counts", "keys", "records")

    def __init__(self) -> None:
        self.records: list[Any] = []
        #: Each record's partition key (the record's own string, not a copy).
        self.keys: list[str] = []
        self.counts: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self.records)

    def seq(self, position: int) -> int:
        """The sequence number of the record at ``position``."""
        return int(self.records[position].sequence_number)

    def _clear(self) -> None:
        self.keys, self.records = [], []
        self.counts = Counter()

    def _append(self, recs: list[Any]) -> None:
        keys = list(map(_KEY, recs))  # a C-level loop
        self.keys.extend(keys)
        self.records.extend(recs)
        self.counts.update(keys)

    def sync(self, records: Mapping[int, Any]) -> None:
        """Bring the index up to date with ``records`` (sequence number -> moto ``Record``)."""
        if not records:
            if self.records:
                self._clear()
            return
        first = next(iter(records))
        if self.records and self.seq(0) != first:
            cut = bisect_left(self.records, first, key=_SEQ)
            if cut >= len(self.records) or self.seq(cut) != first:
                self._clear()
            else:
                # Retention trimmed the oldest records: forget them.
                self.counts.subtract(self.keys[:cut])
                self.counts += Counter()  # drops the keys that reached zero
                del self.keys[:cut], self.records[:cut]
        if not self.records:
            self._append(list(records.values()))
        else:
            newest = self.seq(-1)
            fresh: list[int] = []
            for seq in reversed(records):
                if seq <= newest:
                    break
                fresh.append(seq)
            if fresh:
                fresh.reverse()
                self._append([records[seq] for seq in fresh])
        if len(self.records) != len(records):  # something else changed it: start again
            self._clear()
            self._append(list(records.values()))


def shard_index(shard: Any) -> ShardIndex:
    """The up-to-date index of a moto ``Shard`` (kept on it as ``labkit_inspect_index``)."""
    index: ShardIndex | None = getattr(shard, "labkit_inspect_index", None)
    if index is None:
        index = ShardIndex()
        shard.labkit_inspect_index = index
    index.sync(shard.records)
    return index


# -- reading moto without creating anything -----------------------------------------------------
def find_stream(sandbox: Sandbox, name: str, *, region: str | None = None) -> Any:
    """moto's ``Stream`` called ``name`` (or with that ARN), or ``None``."""
    for backend in existing_in("kinesis", DEFAULT_ACCOUNT_ID, region or sandbox.region):
        for stream in backend.streams.values():
            if name in (stream.stream_name, stream.arn):
                return stream
    return None


def stream_names(sandbox: Sandbox, *, region: str | None = None) -> list[str]:
    """The names of the sandbox's Kinesis data streams."""
    names: list[str] = []
    for backend in existing_in("kinesis", DEFAULT_ACCOUNT_ID, region or sandbox.region):
        names.extend(sorted(backend.streams))
    return names


def _usage(shard: Any, now: float, limits: ShardLimits) -> ShardUsage:
    meter: ShardMeter | None = getattr(shard, "labkit_meter", None)
    return (meter or ShardMeter(limits)).usage(now)


def _preview(data: str | None, limit: int = 48) -> str:
    if not data:
        return ""
    try:
        raw = base64.b64decode(data)
    except (ValueError, binascii.Error):
        return ""
    text = raw[: limit * 4].decode("utf-8", "replace").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _position(index: ShardIndex, start: int, checkpoint: object) -> int | None:
    """How many of the shard's readable records come at or before ``checkpoint``."""
    if checkpoint == SHARD_END:
        return len(index) - start
    try:
        seq = int(str(checkpoint))
    except ValueError:
        return None
    return max(bisect_right(index.records, seq, key=_SEQ) - start, 0)


def _slots(keys: list[str], per_slot: int) -> tuple[Slot, ...]:
    out: list[Slot] = []
    for begin in range(0, len(keys), per_slot):
        chunk = keys[begin : begin + per_slot]
        key, count = Counter(chunk).most_common(1)[0]
        # A slot is marked with a key only when that key fills at least half of it.
        marked = count * 2 >= len(chunk)
        out.append(Slot(len(chunk), key if marked else "", count if marked else 0))
    return tuple(out)


def stream_snapshot(
    sandbox: Sandbox,
    name: str,
    *,
    consumers: Mapping[str, Mapping[str, object]] | None = None,
    slots: int = SLOTS,
    recent: int = RECENT,
    top: int = TOP_KEYS,
    region: str | None = None,
) -> StreamSnapshot | None:
    """The stream called ``name`` now, or ``None`` when there is no such stream.

    Args:
        sandbox: The running sandbox.
        name: The stream's name or ARN.
        consumers: Each consumer's checkpoints: consumer name -> {shard id -> sequence number of
            the last record it processed (or ``"SHARD_END"``)}.
        slots: Most slots per lane (records are grouped so that the fullest shard fits).
        recent: How many of each shard's newest records to list.
        top: How many of the stream's busiest partition keys to name.
        region: The stream's Region (the sandbox's by default).
    """
    stream = find_stream(sandbox, name, region=region)
    if stream is None:
        return None
    now = sandbox.clock.timestamp
    cutoff = now - float(stream.retention_period_hours) * 3600.0
    limits = ShardLimits.from_facts()
    shards = list(stream.shards.values())
    children: dict[str, list[str]] = {}
    for shard in shards:
        for parent in (shard.parent, shard.adjacent_parent):
            if parent:
                children.setdefault(parent, []).append(shard.shard_id)

    indexed = []
    for shard in shards:
        index = shard_index(shard)
        # Records older than the retention period are no longer readable.
        start = bisect_left(index.records, cutoff, key=_AT)
        indexed.append((shard, index, start))
    fullest = max((len(ix) - start for _, ix, start in indexed), default=0)
    per_slot = max(1, -(-fullest // max(slots, 1)))

    totals: Counter[str] = Counter()
    consumer_names = tuple(consumers or {})
    infos: list[ShardInfo] = []
    for shard, index, start in indexed:
        counts = Counter(index.keys[start:]) if start else index.counts
        totals.update(counts)
        visible = len(index) - start
        tail = index.records[len(index.records) - min(recent, visible) :] if visible else []
        positions: dict[str, int] = {}
        for consumer, checkpoints in (consumers or {}).items():
            if shard.shard_id in checkpoints:
                pos = _position(index, start, checkpoints[shard.shard_id])
                if pos is not None:
                    positions[consumer] = pos
        infos.append(
            ShardInfo(
                shard_id=shard.shard_id,
                starting_hash=int(shard.starting_hash),
                ending_hash=int(shard.ending_hash),
                open=bool(shard.is_open),
                parent=shard.parent or None,
                adjacent_parent=shard.adjacent_parent or None,
                children=tuple(children.get(shard.shard_id, ())),
                records=visible,
                expired=start,
                first_sequence=str(index.seq(start)) if visible else "",
                last_sequence=str(index.seq(-1)) if visible else "",
                first_at=float(index.records[start].created_at) if visible else None,
                last_at=float(index.records[-1].created_at) if visible else None,
                keys=tuple(counts.most_common(3)),
                distinct_keys=len(counts),
                slots=_slots(index.keys[start:], per_slot),
                recent=tuple(
                    RecordInfo(
                        sequence=str(r.sequence_number),
                        partition_key=r.partition_key,
                        at=float(r.created_at),
                        preview=_preview(r.data),
                    )
                    for r in tail
                ),
                positions=positions,
                usage=_usage(shard, now, limits),
            )
        )
    # Busiest first; equal counts in the order the keys first came, the same on every run.
    top_keys = totals.most_common(top)
    return StreamSnapshot(
        name=stream.stream_name,
        arn=stream.arn,
        mode=str(stream.stream_mode.get("StreamMode", "PROVISIONED")),
        status=str(stream.status),
        retention_hours=int(stream.retention_period_hours),
        at=now,
        shards=tuple(infos),
        records_per_slot=per_slot,
        top_keys=tuple(top_keys),
        distinct_keys=len(totals),
        consumers=consumer_names,
    )


# -- Firehose -----------------------------------------------------------------------------------
def _source_name(delivery_stream: Any) -> str:
    if delivery_stream.delivery_stream_type != "KinesisStreamAsSource":
        return "DirectPut"
    arn = str((delivery_stream.source or {}).get("KinesisStreamARN", ""))
    return arn.rsplit("/", 1)[-1] if "/" in arn else arn


def delivery_snapshots(
    sandbox: Sandbox,
    names: list[str] | None = None,
    *,
    source: str | None = None,
    recent: int = 3,
    region: str | None = None,
) -> list[DeliverySnapshot]:
    """The sandbox's Firehose delivery streams to S3 now, by name.

    Args:
        sandbox: The running sandbox.
        names: Only these delivery streams (all by default).
        source: Only those reading this Kinesis data stream (by name).
        recent: How many of the newest delivered keys to list.
        region: Their Region (the sandbox's by default).
    """
    now = sandbox.clock.timestamp
    size_default = int(facts.value("firehose.buffer_size_default"))
    interval_default = int(facts.value("firehose.buffer_interval_default"))
    out: list[DeliverySnapshot] = []
    for backend in existing_in("firehose", DEFAULT_ACCOUNT_ID, region or sandbox.region):
        for name, ds in sorted(backend.delivery_streams.items()):
            if names is not None and name not in names:
                continue
            if source is not None and _source_name(ds) != source:
                continue
            config = s3_destination(ds)
            if config is None:
                continue
            hints = config.get("BufferingHints") or {}
            buffer = getattr(ds, "labkit_buffer", None)
            keys: list[str] = list(buffer.keys[-recent:]) if buffer and recent else []
            out.append(
                DeliverySnapshot(
                    name=name,
                    source=_source_name(ds),
                    bucket=str(config.get("BucketARN", "")).split(":")[-1],
                    prefix=str(config.get("Prefix") or ""),
                    error_prefix=str(config.get("ErrorOutputPrefix") or ""),
                    compression=str(config.get("CompressionFormat") or "UNCOMPRESSED"),
                    size_limit=int(hints.get("SizeInMBs", size_default)) * 1024 * 1024,
                    interval=int(hints.get("IntervalInSeconds", interval_default)),
                    buffered_bytes=buffer.size if buffer else 0,
                    buffered_records=len(buffer.records) if buffer else 0,
                    oldest_arrival=buffer.oldest_arrival if buffer else None,
                    flush_at=buffer.flush_at if buffer else None,
                    objects_delivered=buffer.objects_delivered if buffer else 0,
                    records_delivered=buffer.records_delivered if buffer else 0,
                    bytes_delivered=buffer.bytes_delivered if buffer else 0,
                    last_error=buffer.last_error if buffer else None,
                    keys=tuple(keys),
                    at=now,
                )
            )
    return out


# -- throughput over time -----------------------------------------------------------------------
@dataclass(frozen=True)
class ThroughputSample:
    """Every shard's meter at one instant.

    Attributes:
        at: The instant (epoch seconds).
        shards: Shard id -> its usage over the second before ``at``.
    """

    at: float
    shards: Mapping[str, ShardUsage]


@dataclass
class ThroughputRecorder:
    """Samples a stream's shard meters every ``every`` seconds of lab time, while the clock moves.

    Create one with :func:`record_throughput`; read :attr:`samples`; :meth:`stop` it when done.
    Samples are taken half a period after each period starts (at 0.5 s, 1.5 s, ... by default):
    a meter counts the second before it is read, and a producer that writes at whole seconds of
    lab time then has each of its writes counted in exactly one sample.
    """

    sandbox: Sandbox
    stream: str
    every: float = 1.0
    samples: list[ThroughputSample] = field(default_factory=list)
    _event: ScheduledEvent | None = field(default=None, repr=False)
    _clock: Clock = field(init=False, repr=False)

    def sample(self) -> ThroughputSample | None:
        """Take a sample now (also done automatically every ``every`` seconds)."""
        stream = find_stream(self.sandbox, self.stream)
        if stream is None:
            return None
        now = self.sandbox.clock.timestamp
        limits = ShardLimits.from_facts()
        taken = ThroughputSample(
            at=now,
            shards={s.shard_id: _usage(s, now, limits) for s in stream.shards.values()},
        )
        self.samples.append(taken)
        return taken

    def _tick(self) -> None:
        self.sample()
        if self._event is not None:
            self._event = self._clock.call_at(
                self._event.at + self.every, self._tick, label=f"throughput of {self.stream}"
            )

    def start(self) -> ThroughputRecorder:
        """Sample every ``every`` seconds of lab time from now on."""
        if self._event is None:
            self._clock = self.sandbox.clock
            self._event = self._clock.call_later(
                self.every / 2, self._tick, label=f"throughput of {self.stream}"
            )
        return self

    def stop(self) -> None:
        """Stop sampling; the samples stay."""
        if self._event is not None:
            self._event.cancel()
            self._event = None


def record_throughput(sandbox: Sandbox, stream: str, *, every: float = 1.0) -> ThroughputRecorder:
    """Start sampling the shard meters of ``stream`` every ``every`` seconds of lab time."""
    return ThroughputRecorder(sandbox, stream, every).start()


__all__ = [
    "SHARD_END",
    "DeliverySnapshot",
    "RecordInfo",
    "ShardIndex",
    "ShardInfo",
    "Slot",
    "StreamSnapshot",
    "ThroughputRecorder",
    "ThroughputSample",
    "delivery_snapshots",
    "find_stream",
    "record_throughput",
    "shard_index",
    "stream_names",
    "stream_snapshot",
]
