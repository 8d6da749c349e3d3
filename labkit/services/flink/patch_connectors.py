"""Connectors between a Flink job and the sandbox: Kinesis in; Kinesis, Firehose, Lambda out.

Names and shapes are PyFlink's Kinesis connector's
(``pyflink.datastream.connectors.kinesis``: ``FlinkKinesisConsumer``, ``KinesisStreamsSink``,
``KinesisFirehoseSink``, ``PartitionKeyGenerator``; ``SimpleStringSchema`` from
``pyflink.common.serialization``). Flink has no Lambda connector; :class:`LambdaSink` is labkit's
own sink that invokes a function per element through the sandbox's Lambda.

The source reads the records written to a moto stream through the Kinesis patch's record
listeners (the same machinery Firehose reads a stream with), so each record reaches the job at
its lab arrival time, carrying its ``ApproximateArrivalTimestamp`` as its record timestamp. Each
open shard is a split; given a strategy through ``env.from_source``, each split has its own
watermark and the source's is the lowest, so a shard with no records holds the windows back
unless ``with_idleness`` is set ("Watermarks can only advance when all shards of a subtask
continuously deliver records", PyFlink's ``FlinkKinesisConsumer`` reference,
https://nightlies.apache.org/flink/flink-docs-master/api/python/reference/pyflink.datastream/api/pyflink.datastream.connectors.kinesis.FlinkKinesisConsumer.html;
AWS's "How watermark strategies and idle shards affect time windows",
https://docs.aws.amazon.com/managed-flink/latest/java/best-practices.html). The consumer follows
resharding (new shards become splits, closed ones end). A listener counts as a consumer of the
shard's shared read limits. Starting positions: ``LATEST`` (the connector's default) and
``TRIM_HORIZON`` (``flink.stream.initpos``).

Sinks buffer what a poll produces and write it after the poll, in batches of the API's maximum
(500 records for ``PutRecords`` and ``PutRecordBatch``), as Flink's async sinks batch. Records
AWS refuses (throttling) are counted on the sink and not retried (Flink's sink would retry them).
"""

from __future__ import annotations

import base64
import json
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from labkit.clock import Clock
from labkit.errors import LabkitError
from labkit.services.flink.sim_stream import SourceNode, clock_provider
from labkit.services.kinesis.patch import add_record_listener, remove_record_listener

_BATCH = 500


class ConnectorError(LabkitError):
    """A connector that cannot run (no such stream, no sandbox, bad setting)."""

    code = "FlinkConnectorError"


def _sandbox() -> Any:
    from labkit.sandbox.session import running_sandbox

    sandbox = running_sandbox()
    if sandbox is None:
        raise ConnectorError("Start a lab first (labkit.start(...)): connectors use its AWS.")
    return sandbox


def _lab_clock() -> Clock | None:
    from labkit.sandbox.session import running_sandbox

    sandbox = running_sandbox()
    return sandbox.clock if sandbox is not None else None


# A job defined in a notebook runs on the lab's clock, once anything of the sandbox's connectors
# is imported (the Managed Flink patch registers the same for applications' code).
if _lab_clock not in clock_provider:
    clock_provider.append(_lab_clock)


class SimpleStringSchema:
    """UTF-8 strings in and out (``pyflink.common.serialization.SimpleStringSchema``)."""

    def serialize(self, value: Any) -> bytes:
        """``value`` as bytes (it must be a string, as in Flink)."""
        if not isinstance(value, str):
            raise ConnectorError(
                f"SimpleStringSchema serializes strings; the job emitted {type(value).__name__} "
                f"{value!r}. Map it to a string first (json.dumps(...))."
            )
        return value.encode("utf-8")

    def deserialize(self, message: bytes) -> str:
        """``message`` decoded as UTF-8."""
        return message.decode("utf-8")


# -- source -------------------------------------------------------------------------------------
class FlinkKinesisConsumer:
    """Reads a Kinesis data stream of the sandbox (``env.add_source`` or ``env.from_source``).

    Args:
        streams: The stream's name (or a list with one name).
        deserializer: Turns a record's bytes into an element (``SimpleStringSchema()``).
        config_props: ``aws.region`` and ``flink.stream.initpos`` (``LATEST`` or
            ``TRIM_HORIZON``).
    """

    def __init__(
        self,
        streams: str | list[str],
        deserializer: Any = None,
        config_props: dict[str, str] | None = None,
    ) -> None:
        names = [streams] if isinstance(streams, str) else list(streams)
        if len(names) != 1:
            raise ConnectorError("labkit's FlinkKinesisConsumer reads one stream.")
        self.stream_name = names[0]
        self.deserializer = deserializer
        self.config = dict(config_props or {})
        position = self.config.get("flink.stream.initpos", "LATEST")
        if position not in ("LATEST", "TRIM_HORIZON"):
            raise ConnectorError(
                f"flink.stream.initpos {position!r}: the sandbox reads from LATEST or TRIM_HORIZON."
            )
        self.position = position
        self._stream: Any = None
        self._key = f"flink-{uuid.uuid4().hex}"
        self._stopped = False

    def _decode(self, data: str) -> Any:
        raw = base64.b64decode(data) if data else b""
        if self.deserializer is None:
            return raw
        deserialize = getattr(self.deserializer, "deserialize", self.deserializer)
        return deserialize(raw)

    def start(self, feed: SourceNode) -> None:
        """Subscribe to the stream's records (and read what it holds, from TRIM_HORIZON)."""
        sandbox = _sandbox()
        name = (
            self.stream_name.rsplit("/", 1)[-1]
            if self.stream_name.startswith("arn:")
            else (self.stream_name)
        )
        backend = sandbox.backend("kinesis", region=self.config.get("aws.region"))
        try:
            stream = backend.describe_stream(None, name)
        except Exception as exc:  # moto's ResourceNotFoundException
            raise ConnectorError(
                f"The Kinesis stream {name!r} does not exist in this lab: create it first."
            ) from exc
        self._stream = stream
        for shard in stream.shards.values():
            if shard.is_open:
                feed.add_split(shard.shard_id)
        if self.position == "TRIM_HORIZON":
            existing = [
                (self._decode(r.data), round(r.created_at * 1000), shard.shard_id)
                for shard in stream.shards.values()
                for r in shard.records.values()
            ]
            if existing:
                feed.offer(existing)

        def listener(batch: list[tuple[Any, Any, int]]) -> bool:
            if self._stopped:
                return False
            # Resharding: shards opened since are new splits, closed ones have ended (records
            # go to open shards only, so a closed shard has nothing left to read here).
            for shard in stream.shards.values():
                if shard.is_open:
                    feed.add_split(shard.shard_id)
                else:
                    feed.remove_split(shard.shard_id)
            feed.offer(
                (self._decode(record.data), round(record.created_at * 1000), shard.shard_id)
                for shard, record, _ in batch
            )
            return True

        add_record_listener(stream, self._key, listener)

    def stop(self) -> None:
        """Unsubscribe."""
        self._stopped = True
        if self._stream is not None:
            remove_record_listener(self._stream, self._key)


# -- sinks --------------------------------------------------------------------------------------
class BufferedSink(ABC):
    """Collects a poll's elements and writes them in batches after it (Flink's async sink).
    Each sink writes a batch its own way (:meth:`_write`)."""

    label = "sink"

    def __init__(self) -> None:
        self.buffer: list[Any] = []
        self.sent = 0
        self.failed = 0
        self.errors: list[str] = []

    def invoke(self, value: Any) -> None:
        """Buffer one element."""
        self.buffer.append(value)

    def flush(self) -> None:
        """Write what is buffered."""
        batch, self.buffer = self.buffer, []
        for start in range(0, len(batch), _BATCH):
            self._write(batch[start : start + _BATCH])

    @abstractmethod
    def _write(self, batch: list[Any]) -> None:
        """Send ``batch`` to the sink's destination, counting what was sent and refused."""

    def _note(self, error: str) -> None:
        self.errors.append(error)
        del self.errors[:-20]


def _serialize(schema: Any, value: Any) -> bytes:
    if schema is None:
        return value if isinstance(value, bytes) else json.dumps(value).encode("utf-8")
    serialize = getattr(schema, "serialize", schema)
    out = serialize(value)
    return out if isinstance(out, bytes) else str(out).encode("utf-8")


class PartitionKeyGenerator:
    """How the Kinesis sink picks each record's partition key."""

    @staticmethod
    def fixed() -> Callable[[Any], str]:
        """One key for every record (Flink's fixed generator keys by subtask: one here)."""
        return lambda _value: "0"

    @staticmethod
    def random() -> Callable[[Any], str]:
        """A random key per record (spreads records over the shards)."""
        return lambda _value: uuid.uuid4().hex


class KinesisStreamsSink(BufferedSink):
    """Writes elements to a Kinesis data stream with ``PutRecords``."""

    def __init__(
        self,
        stream: str,
        schema: Any,
        key: Callable[[Any], str],
        region: str | None,
        fail_on_error: bool,
    ) -> None:
        super().__init__()
        self.stream = stream
        self.schema = schema
        self.key = key
        self.region = region
        self.fail_on_error = fail_on_error
        self.label = f"Kinesis stream {stream.rsplit('/', 1)[-1]}"

    @staticmethod
    def builder() -> KinesisStreamsSinkBuilder:
        """Start building a sink."""
        return KinesisStreamsSinkBuilder()

    def _write(self, batch: list[Any]) -> None:
        client = (
            _sandbox().client("kinesis", region=self.region)
            if self.region
            else (_sandbox().client("kinesis"))
        )
        records = [
            {"Data": _serialize(self.schema, v), "PartitionKey": str(self.key(v))} for v in batch
        ]
        where = (
            {"StreamARN": self.stream}
            if self.stream.startswith("arn:")
            else {"StreamName": self.stream}
        )
        try:
            answer = client.put_records(Records=records, **where)
        except Exception as exc:
            self.failed += len(batch)
            self._note(str(exc))
            if self.fail_on_error:
                raise
            return
        failed = int(answer.get("FailedRecordCount", 0))
        self.failed += failed
        self.sent += len(batch) - failed
        if failed:
            codes = {r.get("ErrorCode") for r in answer["Records"] if r.get("ErrorCode")}
            self._note(f"{failed} record(s) refused: {', '.join(sorted(map(str, codes)))}")


class KinesisStreamsSinkBuilder:
    """``KinesisStreamsSink.builder()...build()``."""

    def __init__(self) -> None:
        self._stream: str | None = None
        self._schema: Any = None
        self._key: Callable[[Any], str] = PartitionKeyGenerator.random()
        self._region: str | None = None
        self._fail = False

    def set_stream_name(self, stream_name: str) -> KinesisStreamsSinkBuilder:
        """The stream to write to."""
        self._stream = stream_name
        return self

    def set_stream_arn(self, stream_arn: str) -> KinesisStreamsSinkBuilder:
        """The stream to write to, by ARN."""
        self._stream = stream_arn
        return self

    def set_serialization_schema(self, schema: Any) -> KinesisStreamsSinkBuilder:
        """How an element becomes the record's bytes."""
        self._schema = schema
        return self

    def set_partition_key_generator(self, generator: Any) -> KinesisStreamsSinkBuilder:
        """Each record's partition key (a ``PartitionKeyGenerator`` or a function)."""
        self._key = getattr(generator, "apply", generator)
        return self

    def set_kinesis_client_properties(self, props: dict[str, str]) -> KinesisStreamsSinkBuilder:
        """Client settings: ``aws.region``."""
        self._region = props.get("aws.region")
        return self

    def set_fail_on_error(self, fail_on_error: bool) -> KinesisStreamsSinkBuilder:
        """Fail the job when a write fails."""
        self._fail = bool(fail_on_error)
        return self

    def build(self) -> KinesisStreamsSink:
        """The sink."""
        if not self._stream:
            raise ConnectorError("KinesisStreamsSink needs set_stream_name(...) or set_stream_arn.")
        return KinesisStreamsSink(self._stream, self._schema, self._key, self._region, self._fail)


class KinesisFirehoseSink(BufferedSink):
    """Writes elements to an Amazon Data Firehose stream with ``PutRecordBatch``."""

    def __init__(self, name: str, schema: Any, region: str | None) -> None:
        super().__init__()
        self.name = name
        self.schema = schema
        self.region = region
        self.label = f"Firehose {name}"

    @staticmethod
    def builder() -> KinesisFirehoseSinkBuilder:
        """Start building a sink."""
        return KinesisFirehoseSinkBuilder()

    def _write(self, batch: list[Any]) -> None:
        sandbox = _sandbox()
        client = (
            sandbox.client("firehose", region=self.region)
            if self.region
            else (sandbox.client("firehose"))
        )
        try:
            answer = client.put_record_batch(
                DeliveryStreamName=self.name,
                Records=[{"Data": _serialize(self.schema, v)} for v in batch],
            )
        except Exception as exc:
            self.failed += len(batch)
            self._note(str(exc))
            return
        failed = int(answer.get("FailedPutCount", 0))
        self.failed += failed
        self.sent += len(batch) - failed


class KinesisFirehoseSinkBuilder:
    """``KinesisFirehoseSink.builder()...build()``."""

    def __init__(self) -> None:
        self._name: str | None = None
        self._schema: Any = None
        self._region: str | None = None

    def set_delivery_stream_name(self, name: str) -> KinesisFirehoseSinkBuilder:
        """The Firehose stream to write to."""
        self._name = name
        return self

    def set_serialization_schema(self, schema: Any) -> KinesisFirehoseSinkBuilder:
        """How an element becomes the record's bytes."""
        self._schema = schema
        return self

    def set_firehose_client_properties(self, props: dict[str, str]) -> KinesisFirehoseSinkBuilder:
        """Client settings: ``aws.region``."""
        self._region = props.get("aws.region")
        return self

    def build(self) -> KinesisFirehoseSink:
        """The sink."""
        if not self._name:
            raise ConnectorError("KinesisFirehoseSink needs set_delivery_stream_name(...).")
        return KinesisFirehoseSink(self._name, self._schema, self._region)


class LambdaSink(BufferedSink):
    """labkit's sink: invokes a Lambda function with each element as its JSON event.

    Args:
        function_name: The function's name or ARN.
        invocation_type: ``Event`` (asynchronous, the default) or ``RequestResponse``.
        region: The function's Region (the lab's by default).
    """

    def __init__(
        self, function_name: str, invocation_type: str = "Event", region: str | None = None
    ) -> None:
        super().__init__()
        if invocation_type not in ("Event", "RequestResponse"):
            raise ConnectorError("invocation_type is 'Event' or 'RequestResponse'.")
        self.function_name = function_name
        self.invocation_type = invocation_type
        self.region = region
        self.label = f"Lambda {function_name.rsplit(':', 1)[-1]}"

    def _write(self, batch: list[Any]) -> None:
        sandbox = _sandbox()
        client = (
            sandbox.client("lambda", region=self.region)
            if self.region
            else (sandbox.client("lambda"))
        )
        for value in batch:
            try:
                answer = client.invoke(
                    FunctionName=self.function_name,
                    InvocationType=self.invocation_type,
                    Payload=json.dumps(value).encode("utf-8"),
                )
            except Exception as exc:
                self.failed += 1
                self._note(str(exc))
                continue
            if answer.get("FunctionError"):
                self.failed += 1
                self._note(f"the function failed: {answer['FunctionError']}")
            else:
                self.sent += 1


__all__ = [
    "ConnectorError",
    "FlinkKinesisConsumer",
    "KinesisFirehoseSink",
    "KinesisStreamsSink",
    "LambdaSink",
    "PartitionKeyGenerator",
    "SimpleStringSchema",
]
