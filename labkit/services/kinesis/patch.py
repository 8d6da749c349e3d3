"""Kinesis Data Streams as AWS runs it: shard limits, retention, iterator expiry, resharding.

Stock moto accepts any rate, keeps every record forever, never expires an iterator, writes into
closed parent shards after a split, and lets ``DescribeStreamSummary`` and ``ListShards``
disagree after ``UpdateShardCount``. This patch, on the lab clock:

- meters every shard (:mod:`labkit.services.kinesis.sim_throughput`): ``PutRecord`` raises
  ``ProvisionedThroughputExceededException`` past 1 MiB/s or 1,000 records/s on the record's
  shard; ``PutRecords`` fails only the records that do not fit (``FailedRecordCount``, per-record
  ``ErrorCode``/``ErrorMessage``) and writes the others; ``GetRecords`` raises the same error past
  five calls per second or 2 MiB/s shared by all standard consumers of the shard;
- trims records older than the stream's retention period (24 h unless changed) so that
  ``GetRecords`` no longer returns them, and expires shard iterators five minutes after they
  were issued (``ExpiredIteratorException`` with AWS's message);
- reshards as AWS does: a split or merge closes its parents (they keep their records until
  retention trims them) and opens children with ``ParentShardId``/``AdjacentParentShardId``;
  ``UpdateShardCount`` (uniform scaling) splits and merges into equal hash ranges, refuses more
  than double or less than half the open shards, and keeps ``OpenShardCount`` equal to the open
  shards ``ListShards`` shows; new records go to open shards only;
- at the end of a closed shard ``GetRecords`` returns no ``NextShardIterator`` and lists
  ``ChildShards``.

On-demand streams: AWS says a shard "supports 1 MB/s and 1000 records per second for writes and
2 MB/s for reads in both on-demand and provisioned capacity modes"
(https://docs.aws.amazon.com/streams/latest/dev/working-with-streams.html), and a new on-demand
stream starts with 4 MB/s of write capacity
(https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html). moto gives an
on-demand stream four shards, so metering its shards gives exactly that starting capacity. The
automatic scaling of on-demand streams (new shards after sustained traffic) is not simulated: an
on-demand stream keeps its starting capacity, and its hot partition keys throttle as they would.

Resharding itself is in :mod:`labkit.services.kinesis.patch_resharding`. All state lives on
moto's ``Stream`` and ``Shard`` objects, so ``lab.reset()`` and a check's isolated world cover it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from bisect import bisect_right
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.kinesis.exceptions import InvalidArgumentError, ShardNotFoundError
from moto.kinesis.models import KinesisBackend, Record, Shard, Stream
from moto.kinesis.responses import KinesisResponse
from moto.kinesis.utils import decompose_shard_iterator

from labkit import facts
from labkit.clock import Clock
from labkit.services.kinesis.patch_listing import (
    deregister_stream_consumer,
    find_stream_by_arn,
    list_shards,
    stamp_shards,
)
from labkit.services.kinesis.patch_resharding import (
    HASH_SPACE,
    current_sequence,
    merge_shards,
    split_shard,
    start_key,
    update_shard_count,
)
from labkit.services.kinesis.sim_throughput import ShardLimits, ShardMeter, ShardUsage

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

#: A listener gets ``(shard, record, size)`` for each record written in one call; returning
#: ``False`` unsubscribes it (Firehose uses this to read a stream it has as its source).
RecordListener = Callable[[list[tuple[Any, Any, int]]], bool]


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install the Kinesis Data Streams patches for ``sandbox``."""
    stack.enter_context(kinesis_fidelity(lambda: sandbox.clock))


# -- errors AWS returns -------------------------------------------------------------------------
class ProvisionedThroughputExceededError(JsonRESTError):
    """A shard's write or read limit was exceeded."""

    def __init__(self, message: str) -> None:
        super().__init__("ProvisionedThroughputExceededException", message)


class ExpiredIteratorError(JsonRESTError):
    """A shard iterator used more than five minutes after it was issued."""

    def __init__(self, issued: float, now: float, lifetime: float) -> None:
        # AWS's message, as kinesalite's tests record it against the real service:
        # "Iterator expired. The iterator was created at time Fri Dec 04 22:01:34 UTC 2015 while
        # right now it is ... which is further in the future than the tolerated delay of 300000
        # milliseconds." (Java Date.toString format, always UTC).
        super().__init__(
            "ExpiredIteratorException",
            f"Iterator expired. The iterator was created at time {_java_date(issued)} while "
            f"right now it is {_java_date(now)} which is further in the future than the "
            f"tolerated delay of {int(lifetime * 1000)} milliseconds.",
        )


class KinesisValidationError(JsonRESTError):
    """A request that fails a documented size or count constraint."""

    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


def _check_partition_key(key: Any, where: str, longest: int) -> None:
    # moto answers a long key with a bare "partition_key"; AWS's request validation names the
    # field and the limit, which is what a learner needs to see.
    if isinstance(key, str) and len(key) > longest:
        raise KinesisValidationError(
            f"1 validation error detected: Value '{key}' at '{where}' failed to satisfy "
            f"constraint: Member must have length less than or equal to {longest}"
        )


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _java_date(epoch: float) -> str:
    """``Mon Jan 05 09:00:00 UTC 2026``: Java's Date.toString in UTC, independent of locale."""
    d = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return f"{_DAYS[d.weekday()]} {_MONTHS[d.month - 1]} {d:%d %H:%M:%S} UTC {d.year}"


# -- configuration ------------------------------------------------------------------------------
@dataclass(frozen=True)
class KinesisLimits:
    """The documented numbers this patch enforces, read once from ``labkit.facts``."""

    shard: ShardLimits
    iterator_lifetime: float
    getrecords_max_records: int
    getrecords_max_bytes: int
    putrecords_max_records: int
    putrecords_max_request_bytes: int
    max_record_size: int
    partition_key_max: int
    scale_up_factor: float
    scale_down_factor: float
    max_shards: int

    @classmethod
    def from_facts(cls) -> KinesisLimits:
        """Read every limit from the fact table."""
        v = facts.value
        return cls(
            shard=ShardLimits.from_facts(),
            iterator_lifetime=float(v("kinesis.shard_iterator_expiry")),
            getrecords_max_records=int(v("kinesis.getrecords_max_records")),
            getrecords_max_bytes=int(v("kinesis.getrecords_max_bytes")),
            putrecords_max_records=int(v("kinesis.putrecords_max_records")),
            putrecords_max_request_bytes=int(v("kinesis.putrecords_max_request_bytes")),
            max_record_size=int(v("kinesis.max_record_size_default")),
            partition_key_max=int(v("kinesis.partition_key_max_length")),
            scale_up_factor=float(v("kinesis.update_shard_count_max_scale_up_factor")),
            scale_down_factor=float(v("kinesis.update_shard_count_min_scale_down_factor")),
            max_shards=int(v("kinesis.update_shard_count_max_shards")),
        )


# -- state on moto's objects --------------------------------------------------------------------
def shard_meter(shard: Any, limits: ShardLimits | None = None) -> ShardMeter:
    """The throughput meter of a moto ``Shard`` (created on first use)."""
    meter: ShardMeter | None = getattr(shard, "labkit_meter", None)
    if meter is None:
        meter = ShardMeter(limits or ShardLimits.from_facts())
        shard.labkit_meter = meter
    return meter


def stream_usage(stream: Any, now: float) -> dict[str, ShardUsage]:
    """Per-shard usage of a moto ``Stream`` at ``now``: last second against limits, throttles.

    Shards that were never written or read show zero usage.
    """
    return {shard_id: shard_meter(shard).usage(now) for shard_id, shard in stream.shards.items()}


def throughput(
    sandbox: Sandbox, stream_name: str, *, region: str | None = None
) -> dict[str, ShardUsage]:
    """Per-shard usage of the stream called ``stream_name`` now (for views and checks)."""
    stream = sandbox.backend("kinesis", region=region).describe_stream(None, stream_name)
    return stream_usage(stream, sandbox.clock.timestamp)


def add_record_listener(stream: Any, key: str, listener: RecordListener) -> None:
    """Call ``listener`` with every batch of records written to ``stream`` from now on."""
    listeners: dict[str, RecordListener] | None = getattr(stream, "labkit_listeners", None)
    if listeners is None:
        listeners = {}
        stream.labkit_listeners = listeners
    listeners[key] = listener


def remove_record_listener(stream: Any, key: str) -> None:
    """Stop calling the listener registered under ``key``."""
    listeners: dict[str, RecordListener] | None = getattr(stream, "labkit_listeners", None)
    if listeners:
        listeners.pop(key, None)


def _listeners(stream: Any) -> dict[str, RecordListener]:
    return getattr(stream, "labkit_listeners", None) or {}


def _next_sequence(stream: Any) -> int:
    """The next sequence number of ``stream``.

    Sequence numbers are per stream and only grow, so children of a split or merge continue
    above their parents, as AWS's do ("sequence numbers for the same partition key generally
    increase over time", https://docs.aws.amazon.com/streams/latest/dev/key-concepts.html).
    A counter on the stream keeps them growing after retention trims a shard empty.
    """
    seq = current_sequence(stream) + 1
    stream.labkit_sequence = seq
    return seq


def _data_size(data: str | None) -> int:
    """Decoded size of base64 ``data`` without decoding it (moto keeps record data as base64)."""
    if not data:
        return 0
    pad = 2 if data.endswith("==") else 1 if data.endswith("=") else 0
    return len(data) * 3 // 4 - pad


def _record_size(partition_key: str, data: str | None) -> int:
    # The limits count the data blob and the partition key
    # (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html).
    return _data_size(data) + len(partition_key.encode("utf-8"))


def _trim(shard: Any, cutoff: float) -> None:
    """Drop the records of ``shard`` that arrived before ``cutoff`` (retention), oldest first.

    Records are in arrival order, so this stops at the first one that is kept: O(1) amortized.
    """
    records = shard.records
    while records:
        first = next(iter(records))
        if records[first].created_at >= cutoff:
            return
        del records[first]


def _retention_cutoff(stream: Any, now: float) -> float:
    return now - float(stream.retention_period_hours) * 3600.0


def _route(stream: Any, partition_key: str, explicit_hash_key: str | None) -> Any:
    """The open shard whose hash key range holds the record's key (MD5 of the partition key).

    moto scans every shard, closed ones included, and misses keys equal to a range's end; this
    binary-searches the open shards, whose ranges cover the whole 128-bit space
    (https://docs.aws.amazon.com/streams/latest/dev/key-concepts.html).
    """
    if not isinstance(partition_key, str) or len(partition_key) > 256:
        raise InvalidArgumentError("partition_key")
    if explicit_hash_key:
        try:
            key = int(explicit_hash_key)
        except ValueError as exc:
            raise InvalidArgumentError("explicit_hash_key") from exc
        if not 0 <= key < HASH_SPACE:
            raise InvalidArgumentError("explicit_hash_key")
    else:
        key = int.from_bytes(hashlib.md5(partition_key.encode("utf-8")).digest(), "big")
    version = len(stream.shards)  # shards are only ever added, so the count versions the set
    router = getattr(stream, "labkit_router", None)
    if router is None or router[0] != version:
        open_shards = sorted((s for s in stream.shards.values() if s.is_open), key=start_key)
        router = (version, [s.starting_hash for s in open_shards], open_shards)
        stream.labkit_router = router
    return router[2][bisect_right(router[1], key) - 1]


# -- iterators ----------------------------------------------------------------------------------
def _compose_iterator(stream_name: str, shard_id: str, last_sequence: int, issued: float) -> str:
    raw = f"{stream_name}:{shard_id}:{last_sequence}:{round(issued * 1000)}"
    return base64.b64encode(raw.encode("utf-8")).decode("ascii")


def _decompose_iterator(iterator: str, now: float) -> tuple[str, str, int, float]:
    try:
        parts = base64.b64decode(iterator.encode("ascii"), validate=False).decode().split(":")
        if len(parts) == 4:
            return parts[0], parts[1], int(parts[2]), int(parts[3]) / 1000.0
        if len(parts) == 3:  # issued before the patch (stock moto's format): no issue time
            return parts[0], parts[1], int(parts[2]), now
    except (ValueError, UnicodeError, binascii.Error):
        pass
    raise InvalidArgumentError("Invalid ShardIterator.")


def _child_shards(stream: Any, shard_id: str) -> list[dict[str, Any]]:
    children = []
    for shard in stream.shards.values():
        parents = [p for p in (shard.parent, shard.adjacent_parent) if p]
        if shard_id in parents:
            children.append(
                {
                    "ShardId": shard.shard_id,
                    "ParentShards": parents,
                    "HashKeyRange": {
                        "StartingHashKey": str(shard.starting_hash),
                        "EndingHashKey": str(shard.ending_hash),
                    },
                }
            )
    return children


# -- the patches --------------------------------------------------------------------------------
@contextmanager
def kinesis_fidelity(
    clock_of: Callable[[], Clock], limits: KinesisLimits | None = None
) -> Iterator[None]:
    """Patch moto's Kinesis for the ``with`` block.

    Args:
        clock_of: Returns the clock that is current (a check's isolated world has its own).
        limits: The numbers to enforce; AWS's (from ``labkit.facts``) by default.
    """
    lim = limits or KinesisLimits.from_facts()
    shard_limits = lim.shard

    def meter(shard: Any) -> ShardMeter:
        m: ShardMeter | None = getattr(shard, "labkit_meter", None)
        if m is None:
            m = ShardMeter(shard_limits)
            shard.labkit_meter = m
        return m

    def rate_exceeded(stream: Any, shard: Any) -> str:
        # PutRecordsResultEntry's ErrorMessage "includes the account ID, stream name, and shard
        # ID" (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecordsResultEntry.html);
        # the wording is the service's as users report it for PutRecord and PutRecords
        # (https://github.com/mhart/kinesalite/pull/87, https://github.com/rclark/kinesis-readable/issues/4).
        return (
            f"Rate exceeded for shard {shard.shard_id} in stream {stream.stream_name} "
            f"under account {stream.account_id}."
        )

    def write(stream: Any, pk: Any, ehk: Any, data: Any, now: float) -> tuple[Any, Any]:
        """Route, meter and store one record; ``(shard, None)`` when the shard refuses it."""
        shard = _route(stream, pk, ehk)
        if not meter(shard).admit_write(now, _record_size(pk, data)):
            return shard, None
        _trim(shard, _retention_cutoff(stream, now))
        seq = _next_sequence(stream)
        record = Record(pk, data, seq, ehk)
        shard.records[seq] = record
        return shard, record

    def after_write(stream: Any, written: list[tuple[Any, Any, int]], now: float) -> None:
        """What moto does after a write (Lambda triggers), and the record listeners."""
        if stream.lambda_event_source_mappings:
            from moto.awslambda.utils import get_backend

            for shard, record, _ in written:
                for arn, esm in stream.lambda_event_source_mappings.items():
                    get_backend(stream.account_id, arn.split(":")[3]).send_kinesis_message(
                        function_name=esm.function_arn,
                        kinesis_stream=stream.arn,
                        kinesis_data=record.data,
                        kinesis_shard_id=shard.shard_id,
                        kinesis_partition_key=record.partition_key,
                        kinesis_sequence_number=str(record.sequence_number),
                    )
        listeners = _listeners(stream)
        if listeners and written:
            for key, listener in list(listeners.items()):
                # Each listener reads what was written, against the shards' read limit.
                for shard, _, size in written:
                    meter(shard).charge_read(now, size)
                if listener(written) is False:
                    listeners.pop(key, None)

    def throttle_metric(backend: Any, stream: Any, name: str, count: int) -> None:
        from moto.cloudwatch.models import cloudwatch_backends

        cloudwatch_backends[backend.account_id][backend.region_name].put_metric_data(
            namespace="AWS/Kinesis",
            metric_data=[
                {
                    "MetricName": name,
                    "Value": count,
                    "Unit": "Count",
                    "Dimensions": [{"Name": "StreamName", "Value": stream.stream_name}],
                }
            ],
        )

    def stream_put_record(
        self: Stream, partition_key: str, explicit_hash_key: str, data: str
    ) -> tuple[str, str]:
        now = clock_of().timestamp
        shard, record = write(self, partition_key, explicit_hash_key, data, now)
        if record is None:
            raise ProvisionedThroughputExceededError(rate_exceeded(self, shard))
        after_write(self, [(shard, record, _record_size(partition_key, data))], now)
        return str(record.sequence_number), shard.shard_id

    def backend_put_record(
        self: KinesisBackend,
        stream_arn: str,
        stream_name: str,
        partition_key: str,
        explicit_hash_key: str,
        data: str,
    ) -> tuple[str, str]:
        stream = self.describe_stream(stream_arn=stream_arn, stream_name=stream_name)
        _check_partition_key(partition_key, "partitionKey", lim.partition_key_max)
        size = _record_size(partition_key or "", data)
        if size > lim.max_record_size:
            raise KinesisValidationError(
                "1 validation error detected: Value at 'data' failed to satisfy constraint: "
                f"Member must have length less than or equal to {lim.max_record_size}"
            )
        try:
            sequence_number, shard_id = stream.put_record(partition_key, explicit_hash_key, data)
        except ProvisionedThroughputExceededError:
            throttle_metric(self, stream, "WriteProvisionedThroughputExceeded", 1)
            raise
        self._send_stream_metrics(stream.stream_name, incoming_bytes=size, incoming_records=1)
        return sequence_number, shard_id

    def backend_put_records(
        self: KinesisBackend, stream_arn: str, stream_name: str, records: list[dict[str, Any]]
    ) -> dict[str, Any]:
        stream = self.describe_stream(stream_arn=stream_arn, stream_name=stream_name)
        # Request validation as AWS does it (moto's checks, with the documented numbers).
        if len(records) > lim.putrecords_max_records:
            raise KinesisValidationError(
                "1 validation error detected: Value at 'records' failed to satisfy constraint: "
                f"Member must have length less than or equal to {lim.putrecords_max_records}"
            )
        for position, record in enumerate(records, start=1):
            _check_partition_key(
                record.get("PartitionKey"),
                f"records.{position}.member.partitionKey",
                lim.partition_key_max,
            )
        sizes = [_record_size(r.get("PartitionKey") or "", r.get("Data")) for r in records]
        if sum(sizes) > lim.putrecords_max_request_bytes:
            raise InvalidArgumentError(
                f"Records size exceeds {lim.putrecords_max_request_bytes // 2**20} MB limit"
            )
        for position, size in enumerate(sizes, start=1):
            if size > lim.max_record_size:
                raise KinesisValidationError(
                    f"1 validation error detected: Value at 'records.{position}.member.data' "
                    "failed to satisfy constraint: Member must have length less than or equal "
                    f"to {lim.max_record_size}"
                )
        now = clock_of().timestamp
        results: list[dict[str, str]] = []
        written: list[tuple[Any, Any, int]] = []
        failed = 0
        accepted_bytes = 0
        # Each record is metered on its own shard, in order: a refused record uses no capacity,
        # so a later, smaller one may still fit, and the accepted ones are written
        # (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html).
        for record, size in zip(records, sizes, strict=True):
            shard, stored = write(
                stream,
                record.get("PartitionKey"),
                record.get("ExplicitHashKey"),
                record.get("Data"),
                now,
            )
            if stored is None:
                failed += 1
                results.append(
                    {
                        "ErrorCode": "ProvisionedThroughputExceededException",
                        "ErrorMessage": rate_exceeded(stream, shard),
                    }
                )
            else:
                accepted_bytes += size
                written.append((shard, stored, size))
                results.append(
                    {"SequenceNumber": str(stored.sequence_number), "ShardId": shard.shard_id}
                )
        after_write(stream, written, now)
        self._send_stream_metrics(
            stream.stream_name, incoming_bytes=accepted_bytes, incoming_records=len(written)
        )
        if failed:
            throttle_metric(self, stream, "WriteProvisionedThroughputExceeded", failed)
        return {"FailedRecordCount": failed, "Records": results}

    original_get_shard_iterator = KinesisBackend.get_shard_iterator

    def backend_get_shard_iterator(
        self: KinesisBackend,
        stream_arn: str | None,
        stream_name: str | None,
        shard_id: str,
        shard_iterator_type: str,
        starting_sequence_number: int,
        at_timestamp: Any,
    ) -> str:
        now = clock_of().timestamp
        stream = self.describe_stream(stream_arn=stream_arn, stream_name=stream_name)
        shard = stream.shards.get(shard_id)
        if shard is not None:
            _trim(shard, _retention_cutoff(stream, now))
        stock = original_get_shard_iterator(
            self,
            stream_arn,
            stream_name,
            shard_id,
            shard_iterator_type,
            starting_sequence_number,
            at_timestamp,
        )
        last = int(decompose_shard_iterator(stock)[2])
        # "A shard iterator expires 5 minutes after it is returned to the requester."
        # (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetShardIterator.html)
        return _compose_iterator(stream.stream_name, shard_id, last, now)

    def backend_get_records(
        self: KinesisBackend, stream_arn: str | None, shard_iterator: str, limit: int | None
    ) -> tuple[str | None, list[Any], int]:
        now = clock_of().timestamp
        if limit is not None and limit > lim.getrecords_max_records:
            # "If you specify a value that is greater than 10,000, GetRecords throws
            # InvalidArgumentException." (API_GetRecords.html)
            raise InvalidArgumentError(
                f"Value {limit} at 'limit' failed to satisfy constraint: Member must have value "
                f"less than or equal to {lim.getrecords_max_records}"
            )
        name, shard_id, last, issued = _decompose_iterator(shard_iterator, now)
        stream = self.describe_stream(stream_arn=stream_arn, stream_name=name)
        shard = stream.shards.get(shard_id)
        if shard is None:
            raise ShardNotFoundError(shard_id, stream=name, account_id=self.account_id)
        if now - issued > lim.iterator_lifetime:
            raise ExpiredIteratorError(issued, now, lim.iterator_lifetime)
        m = meter(shard)
        if m.admit_read(now, reserved_calls=len(_listeners(stream))) is not None:
            throttle_metric(self, stream, "ReadProvisionedThroughputExceeded", 1)
            # GetRecords throttling words it differently from writes, as reported from the
            # service: "Rate exceeded for Shard - 123456789012/<stream>/shardId-000000000000"
            # (https://github.com/risingwavelabs/risingwave/issues/7453).
            raise ProvisionedThroughputExceededError(
                f"Rate exceeded for Shard - {self.account_id}/{stream.stream_name}/{shard_id}"
            )
        # Records older than the retention period are gone
        # (https://docs.aws.amazon.com/streams/latest/dev/kinesis-extended-retention.html).
        _trim(shard, _retention_cutoff(stream, now))
        # "GetRecords can retrieve up to 10 MiB of data per call from a single shard, and up to
        # 10,000 records per call" (service-sizes-and-limits.html).
        max_records = limit or lim.getrecords_max_records
        out: list[Any] = []
        total = 0
        exhausted = True
        for seq, record in shard.records.items():
            if seq <= last:
                continue
            if len(out) >= max_records:
                exhausted = False
                break
            size = _record_size(record.partition_key, record.data)
            if out and total + size > lim.getrecords_max_bytes:
                exhausted = False
                break
            out.append(record)
            total += size
            last = seq
        m.record_read(now, total)
        # MillisBehindLatest is "how far behind current time the consumer is. A value of zero
        # indicates that record processing is caught up, and there are no new records to process
        # at this moment" (API_GetRecords.html): so it is zero only when nothing is left after
        # this page, and otherwise the age of the oldest record still to read, at least 1 ms
        # (records written at one lab instant are still records behind the reader).
        behind = 0
        if not exhausted:
            waiting = next(r for seq, r in shard.records.items() if seq > last)
            behind = max(1, round((now - waiting.created_at) * 1000))
        if not shard.is_open and exhausted:
            # "If the shard has been closed, the shard iterator can't return more data and
            # GetRecords returns null in NextShardIterator."
            # (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetRecords.html)
            return None, out, behind
        return _compose_iterator(stream.stream_name, shard_id, last, now), out, behind

    def response_get_records(self: KinesisResponse) -> ActionResult:
        stream_arn = self._get_param("StreamARN")
        shard_iterator = self._get_param("ShardIterator")
        limit = self._get_param("Limit")
        next_iterator, records, behind = self.kinesis_backend.get_records(
            stream_arn, shard_iterator, limit
        )
        body: dict[str, Any] = {
            "Records": [record.to_json() for record in records],
            "MillisBehindLatest": behind,
        }
        if next_iterator is not None:
            body["NextShardIterator"] = next_iterator
        else:
            # ChildShards is "returned in the GetRecords API's response only when the end of the
            # current shard is reached" (API_GetRecords.html).
            name, shard_id, _, _ = _decompose_iterator(shard_iterator, 0.0)
            stream = self.kinesis_backend.describe_stream(stream_arn=stream_arn, stream_name=name)
            body["ChildShards"] = _child_shards(stream, shard_id)
        return ActionResult(body)

    original_increase = KinesisBackend.increase_stream_retention_period

    def backend_increase_retention(
        self: KinesisBackend,
        stream_arn: str | None,
        stream_name: str | None,
        retention_period_hours: int,
    ) -> None:
        # Raising the retention period "does not make previous, expired data (older than the
        # stream's previous retention period) accessible" (IncreaseStreamRetentionPeriod API
        # reference), so trim under the old period first.
        stream = self.describe_stream(stream_arn=stream_arn, stream_name=stream_name)
        cutoff = _retention_cutoff(stream, clock_of().timestamp)
        for shard in stream.shards.values():
            _trim(shard, cutoff)
        original_increase(self, stream_arn, stream_name, retention_period_hours)

    # After each reshard, stamp the shards it opened and closed with the lab time, so that
    # ListShards can filter them by their lifetime.
    def stream_split_shard(self: Stream, shard_to_split: str, new_starting_hash_key: str) -> None:
        split_shard(self, shard_to_split, new_starting_hash_key)
        stamp_shards(self, clock_of().timestamp)

    def stream_merge_shards(
        self: Stream, shard_to_merge: str, adjacent_shard_to_merge: str
    ) -> None:
        merge_shards(self, shard_to_merge, adjacent_shard_to_merge)
        stamp_shards(self, clock_of().timestamp)

    def stream_update_shard_count(self: Stream, target_shard_count: int) -> None:
        update_shard_count(
            self,
            int(target_shard_count),
            max_shards=lim.max_shards,
            scale_up=lim.scale_up_factor,
            scale_down=lim.scale_down_factor,
        )
        stamp_shards(self, clock_of().timestamp)

    def response_list_shards(self: KinesisResponse) -> ActionResult:
        names = (
            "StreamName",
            "StreamARN",
            "NextToken",
            "ExclusiveStartShardId",
            "MaxResults",
            "ShardFilter",
            "StreamCreationTimestamp",
        )
        params = {name: self._get_param(name) for name in names}
        return ActionResult(list_shards(self.kinesis_backend, params, clock_of().timestamp))

    def backend_find_stream_by_arn(self: KinesisBackend, stream_arn: str) -> Stream:
        found: Stream = find_stream_by_arn(self, stream_arn)
        return found

    def backend_deregister_stream_consumer(
        self: KinesisBackend, stream_arn: str, consumer_name: str, consumer_arn: str
    ) -> None:
        deregister_stream_consumer(self, stream_arn, consumer_name, consumer_arn)

    original_shard_to_json = Shard.to_json

    def shard_to_json(self: Shard) -> dict[str, Any]:
        # AWS's sequence number range is fixed when a shard opens and closes; moto derives it
        # from the records still held, which retention trims.
        response: dict[str, Any] = original_shard_to_json(self)
        span = response["SequenceNumberRange"]
        span["StartingSequenceNumber"] = str(getattr(self, "labkit_starting_sequence", 0))
        if not self.is_open:
            ending = getattr(self, "labkit_ending_sequence", None)
            if ending is not None:
                span["EndingSequenceNumber"] = str(ending)
        return response

    patches: list[tuple[type, str, Any]] = [
        (Stream, "put_record", stream_put_record),
        (Stream, "split_shard", stream_split_shard),
        (Stream, "merge_shards", stream_merge_shards),
        (Stream, "update_shard_count", stream_update_shard_count),
        (Shard, "to_json", shard_to_json),
        (KinesisBackend, "put_record", backend_put_record),
        (KinesisBackend, "put_records", backend_put_records),
        (KinesisBackend, "get_shard_iterator", backend_get_shard_iterator),
        (KinesisBackend, "get_records", backend_get_records),
        (KinesisBackend, "increase_stream_retention_period", backend_increase_retention),
        (KinesisBackend, "_find_stream_by_arn", backend_find_stream_by_arn),
        (KinesisBackend, "deregister_stream_consumer", backend_deregister_stream_consumer),
        (KinesisResponse, "get_records", response_get_records),
        (KinesisResponse, "list_shards", response_list_shards),
    ]
    with patched(patches):
        yield


@contextmanager
def patched(patches: list[tuple[type, str, Any]]) -> Iterator[None]:
    """Set each ``owner.name = value`` for the block and put the originals back after it.

    Shared by the Kinesis and Firehose patches.
    """
    originals = [(owner, name, owner.__dict__[name]) for owner, name, _ in patches]
    try:
        for owner, name, value in patches:
            setattr(owner, name, value)
        yield
    finally:
        for owner, name, value in reversed(originals):
            setattr(owner, name, value)
