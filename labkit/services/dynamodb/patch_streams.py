"""DynamoDB Streams as AWS runs them: what a record holds, 24 hours of retention, iterator expiry.

moto writes a stream record for every view type faithfully in shape (measured with moto 5.2.5:
``KEYS_ONLY`` has only ``Keys``; ``NEW_IMAGE`` adds ``NewImage`` except on ``REMOVE``;
``OLD_IMAGE`` adds ``OldImage`` except on ``INSERT``; ``NEW_AND_OLD_IMAGES`` both where they
exist). What differs from AWS, and what this patch changes while a lab runs:

- a ``PutItem`` or ``UpdateItem`` that leaves the item exactly as it was writes no record
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html: "If you perform
  a PutItem or UpdateItem operation that does not change any data in an item, DynamoDB Streams
  does not write a stream record for that operation"); moto wrote a ``MODIFY``;
- ``awsRegion`` is the table's Region (moto always said ``us-east-1``) and ``eventVersion`` is
  ``1.1``, as records from the service read
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.Lambda.Tutorial.html);
- records older than 24 hours (``dynamodb.stream_retention``) are trimmed: ``GetRecords`` no
  longer returns them, ``TRIM_HORIZON`` starts after them, and an iterator or sequence number
  that points at a trimmed record raises ``TrimmedDataAccessException``
  (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetShardIterator.html);
- a shard iterator expires 15 minutes after it was issued (``dynamodb.stream_iterator_expiry``,
  ``ExpiredIteratorException``), and ``GetRecords`` takes at most 1,000 records per call
  (``dynamodb.stream_getrecords_max_records``,
  https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_streams_GetRecords.html).

Trimmed records stay in moto's list (only reads skip them): the Lambda lab's trigger
(:mod:`labkit.services.awslambda.patch_triggers`) keeps its position in that list by index.
State lives on moto's ``StreamRecord`` and ``ShardIterator`` objects.
"""

from __future__ import annotations

from bisect import bisect_left
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import JsonRESTError
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import StreamShard
from moto.dynamodbstreams.models import DynamoDBStreamsBackend, ShardIterator

from labkit import facts

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

_AT = "labkit_at"
_ISSUED = "labkit_issued"


class ExpiredIteratorError(JsonRESTError):
    """A shard iterator used more than 15 minutes after it was issued."""

    def __init__(self) -> None:
        # AWS's wording of the exception (botocore's ExpiredIteratorException reference).
        super().__init__(
            "ExpiredIteratorException", "The provided iterator exceeds the maximum age allowed."
        )


class TrimmedDataAccessError(JsonRESTError):
    """A read that points at a record older than the 24-hour retention."""

    def __init__(self) -> None:
        super().__init__(
            "TrimmedDataAccessException",
            "The operation attempted to read past the oldest stream record in a shard.",
        )


class StreamsValidationError(JsonRESTError):
    """A request outside a documented constraint."""

    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install the DynamoDB Streams patches for ``sandbox``."""
    retention = float(facts.value("dynamodb.stream_retention"))
    lifetime = float(facts.value("dynamodb.stream_iterator_expiry"))
    most = int(facts.value("dynamodb.stream_getrecords_max_records"))

    def now() -> float:
        return sandbox.clock.timestamp

    add = StreamShard.add
    iterator_init = ShardIterator.__init__
    iterator_get = ShardIterator.get
    backend_get_records = DynamoDBStreamsBackend.get_records

    def shard_add(self: StreamShard, old: Item | None, new: Item | None) -> None:
        if old is not None and new is not None and old == new:
            return  # nothing changed: AWS writes no record
        before = len(self.items)
        add(self, old, new)
        if len(self.items) > before:
            record = self.items[-1]
            record.record["awsRegion"] = self.table.region_name
            record.record["eventVersion"] = "1.1"
            record.__dict__[_AT] = now()

    def iterator_init_on_clock(
        self: ShardIterator,
        streams_backend: DynamoDBStreamsBackend,
        stream_shard: StreamShard,
        shard_iterator_type: str,
        sequence_number: int | None = None,
    ) -> None:
        first = first_untrimmed(stream_shard, now() - retention)
        if shard_iterator_type in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            if sequence_number is None:
                raise StreamsValidationError(
                    f"SequenceNumber is required for ShardIteratorType {shard_iterator_type}"
                )
            wanted = int(sequence_number) + (shard_iterator_type == "AFTER_SEQUENCE_NUMBER")
            if wanted < first:
                raise TrimmedDataAccessError()
        iterator_init(self, streams_backend, stream_shard, shard_iterator_type, sequence_number)
        if shard_iterator_type == "TRIM_HORIZON":
            self.sequence_number = first
        self.__dict__[_ISSUED] = now()

    def iterator_get_on_clock(self: ShardIterator, limit: int = 1000) -> dict[str, Any]:
        if now() - float(self.__dict__.get(_ISSUED, now())) > lifetime:
            raise ExpiredIteratorError()
        if self.sequence_number < first_untrimmed(self.stream_shard, now() - retention):
            raise TrimmedDataAccessError()
        result: dict[str, Any] = iterator_get(self, limit)
        return result

    def get_records(self: DynamoDBStreamsBackend, iterator_arn: str, limit: int) -> dict[str, Any]:
        if limit is not None and not 1 <= int(limit) <= most:
            raise StreamsValidationError(
                f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy "
                f"constraint: Member must have value less than or equal to {most}"
            )
        if iterator_arn not in self.shard_iterators:
            raise StreamsValidationError("Invalid ShardIterator")
        result: dict[str, Any] = backend_get_records(self, iterator_arn, limit)
        return result

    StreamShard.add = shard_add  # type: ignore[method-assign]
    ShardIterator.__init__ = iterator_init_on_clock  # type: ignore[method-assign]
    ShardIterator.get = iterator_get_on_clock  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_records = get_records  # type: ignore[method-assign]

    def undo() -> None:
        StreamShard.add = add  # type: ignore[method-assign]
        ShardIterator.__init__ = iterator_init  # type: ignore[method-assign]
        ShardIterator.get = iterator_get  # type: ignore[method-assign]
        DynamoDBStreamsBackend.get_records = backend_get_records  # type: ignore[method-assign]

    stack.callback(undo)


def record_time(record: Any) -> float:
    """The lab time a moto ``StreamRecord`` was written (epoch seconds)."""
    at = record.__dict__.get(_AT)
    if at is None:
        created = record.record["dynamodb"]["ApproximateCreationDateTime"]
        at = created.timestamp()
        record.__dict__[_AT] = at
    return float(at)


def first_untrimmed(shard: Any, cutoff: float) -> int:
    """The sequence number of the oldest record written at or after ``cutoff`` (or the next one
    to be written, when every record is older)."""
    items = shard.items
    index = bisect_left(items, cutoff, key=record_time)
    return int(shard.starting_sequence_number) + index


def live_records(shard: Any, now: float) -> list[Any]:
    """The records of a moto ``StreamShard`` still within retention at ``now`` (for views)."""
    cutoff = now - float(facts.value("dynamodb.stream_retention"))
    start = first_untrimmed(shard, cutoff) - int(shard.starting_sequence_number)
    return list(shard.items[start:])


__all__ = [
    "ExpiredIteratorError",
    "TrimmedDataAccessError",
    "first_untrimmed",
    "install",
    "live_records",
    "record_time",
]
