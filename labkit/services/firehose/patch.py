"""Amazon Data Firehose to S3 as AWS runs it: buffering, compression, key layout, Kinesis source.

Stock moto writes one S3 object per ``PutRecord``/``PutRecordBatch`` call, ignores
``BufferingHints`` and ``CompressionFormat``, and never delivers from a Kinesis data stream. This
patch, on the lab clock, for S3 and ExtendedS3 destinations:

- buffers incoming records and delivers one object when the buffer reaches
  ``BufferingHints.SizeInMBs`` MiB or when ``IntervalInSeconds`` have passed since its oldest
  record, whichever comes first ("The condition satisfied first triggers data delivery to Amazon
  S3", https://docs.aws.amazon.com/firehose/latest/dev/basic-deliver.html); defaults 5 MiB and
  300 s (https://docs.aws.amazon.com/firehose/latest/APIReference/API_BufferingHints.html). The
  interval flush is a lab clock event, so it happens as the clock passes it; an interval of 0
  delivers at once. The size counts incoming (uncompressed) bytes;
- concatenates records exactly as given, adding no separator: "Firehose concatenates multiple
  incoming records ... You might want to add a record separator at the end of each record"
  (basic-deliver.html, "Data delivery format");
- compresses with GZIP (a real gzip member, key ending ``.gz``) or ZIP;
- names objects ``<evaluated prefix><stream>-<version>-<yyyy>-<MM>-<dd>-<HH>-<mm>-<ss>-<uuid>
  <extension>`` with the default prefix ``YYYY/MM/dd/HH/`` in UTC, evaluated at the approximate
  arrival time of the oldest record in the object
  (https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html,
  https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html), including custom ``Prefix``
  and ``ErrorOutputPrefix`` expressions (``!{timestamp:...}``, ``!{firehose:random-string}``,
  ``!{firehose:error-output-type}``), their semantic rules, and ``CustomTimeZone``;
- reads a Kinesis data stream given as ``KinesisStreamSourceConfiguration``: records written to
  the stream from the moment the delivery stream exists ("Firehose starts reading data from the
  LATEST position") reach S3 through the same buffer, and each such read counts against the
  source shards' shared read limits ("Each call from any Kinesis Data Firehose delivery stream or
  other consumer application counts against the overall throttling limit for the shard");
  ``PutRecord``/``PutRecordBatch`` on such a delivery stream fail as on AWS ("This operation is
  not permitted on KinesisStreamAsSource delivery stream type.").

Not simulated: Lambda data transformation and format conversion (so no record ever takes the
error path; :func:`error_output_prefix` evaluates where it would go), dynamic partitioning,
SNAPPY compression, and the 24-hour limit on retrying a failing delivery (a delivery whose bucket
is missing stays buffered and is retried every buffer interval).

State lives on moto's ``DeliveryStream`` objects, so ``lab.reset()`` and isolated worlds cover it.
"""

from __future__ import annotations

import base64
import gzip
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import ServiceException
from moto.firehose.exceptions import InvalidArgumentException, ValidationException
from moto.firehose.models import FirehoseBackend, firehose_backends
from moto.kinesis.models import kinesis_backends
from moto.moto_api._internal import mock_random
from moto.s3.models import s3_backends

from labkit import facts
from labkit.clock import Clock, ScheduledEvent
from labkit.errors import LabkitError
from labkit.services.kinesis.patch import add_record_listener, patched, remove_record_listener

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox
    from labkit.services.firehose.patch_destinations import Destinations

_MIB = 1024 * 1024
_KINESIS_SOURCE = "KinesisStreamAsSource"
_EXPRESSION = re.compile(r"!\{([^:{}]+):([^{}]*)\}")
_EXTENSIONS = {"GZIP": ".gz", "ZIP": ".zip"}


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install the Firehose patches for ``sandbox`` (S3, then OpenSearch and Redshift)."""
    # Imported here: patch_destinations builds on this module.
    from labkit.services.firehose.patch_destinations import destinations

    others = stack.enter_context(destinations(sandbox))
    stack.enter_context(
        firehose_fidelity(lambda: sandbox.clock, lambda: sandbox.running, others=others)
    )


class UnsupportedFirehoseFeature(LabkitError):
    """A Firehose setting that labs do not simulate."""

    code = "UnsupportedFirehoseFeature"


# -- the buffer ---------------------------------------------------------------------------------
@dataclass
class FirehoseBuffer:
    """What a delivery stream holds for its S3 destination, and what it has delivered.

    Attributes:
        records: The buffered records' data, oldest first.
        size: Buffered bytes (as received, before compression).
        oldest_arrival: Epoch seconds at which the oldest buffered record arrived.
        flush_at: Epoch seconds of the pending interval delivery, if any.
        objects_delivered: S3 objects written so far.
        records_delivered: Records delivered so far.
        bytes_delivered: Bytes (before compression) delivered so far.
        last_error: Why the last delivery failed, if it did (e.g. a missing bucket).
        keys: Keys of the objects delivered so far, oldest first.
    """

    records: list[bytes] = field(default_factory=list)
    size: int = 0
    oldest_arrival: float | None = None
    flush_at: float | None = None
    objects_delivered: int = 0
    records_delivered: int = 0
    bytes_delivered: int = 0
    last_error: str | None = None
    keys: list[str] = field(default_factory=list)
    event: ScheduledEvent | None = field(default=None, repr=False)
    generation: int = 0


def buffer_of(delivery_stream: Any) -> FirehoseBuffer:
    """The buffer of a moto ``DeliveryStream`` (for views and checks)."""
    buffer: FirehoseBuffer | None = getattr(delivery_stream, "labkit_buffer", None)
    if buffer is None:
        buffer = FirehoseBuffer()
        delivery_stream.labkit_buffer = buffer
    return buffer


def firehose_buffer(sandbox: Sandbox, name: str, *, region: str | None = None) -> FirehoseBuffer:
    """The buffer of the delivery stream called ``name``."""
    backend = sandbox.backend("firehose", region=region)
    return buffer_of(backend.delivery_streams[name])


def s3_destination(delivery_stream: Any) -> dict[str, Any] | None:
    """The (Extended) S3 destination configuration of a delivery stream, or ``None``."""
    destination = delivery_stream.destinations[0]
    config = destination.get("ExtendedS3") or destination.get("S3")
    return config if isinstance(config, dict) else None


# -- prefixes and keys --------------------------------------------------------------------------
_JAVA_FIELDS = {"y": "year", "M": "month", "d": "day", "H": "hour", "m": "minute", "s": "second"}


def java_datetime_format(pattern: str, when: datetime) -> str:
    """Format ``when`` with a Java DateTimeFormatter pattern (the subset Firehose prefixes use).

    Letters ``y M d H m s`` are numeric fields padded to their repeat count (``yy`` is the
    two-digit year); text in single quotes is literal and ``''`` is a quote
    (https://docs.oracle.com/javase/8/docs/api/java/time/format/DateTimeFormatter.html).

    Raises:
        ValueError: For a pattern letter outside that subset.
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "'":
            end = pattern.find("'", i + 1)
            if end == i + 1:
                out.append("'")
                i += 2
                continue
            if end < 0:
                raise ValueError(f"unterminated quote in {pattern!r}")
            out.append(pattern[i + 1 : end])
            i = end + 1
        elif char.isalpha():
            j = i
            while j < len(pattern) and pattern[j] == char:
                j += 1
            count = j - i
            if char not in _JAVA_FIELDS:
                raise ValueError(f"unsupported pattern letter {char!r} in {pattern!r}")
            value = getattr(when, _JAVA_FIELDS[char])
            if char == "y" and count == 2:
                out.append(f"{value % 100:02d}")
            else:
                out.append(f"{value:0{count}d}")
            i = j
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _has_expressions(prefix: str | None) -> bool:
    return bool(prefix) and "!{" in str(prefix)


def _random_string() -> str:
    # "Evaluates to a random string of 11 characters" (s3-prefixes.html); moto's seeded random
    # keeps keys the same from run to run.
    return str(mock_random.uuid4())[:11]


def _evaluate(template: str, when: datetime, error_type: str | None) -> str:
    def replace(match: re.Match[str]) -> str:
        namespace, value = match.group(1), match.group(2)
        if namespace == "timestamp":
            return java_datetime_format(value, when)
        if namespace == "firehose" and value == "random-string":
            return _random_string()
        if namespace == "firehose" and value == "error-output-type" and error_type:
            return error_type
        raise ValueError(f"unsupported expression !{{{namespace}:{value}}}")

    return _EXPRESSION.sub(replace, template)


def _default_time_prefix(when: datetime) -> str:
    return java_datetime_format("yyyy/MM/dd/HH/", when)


def object_prefix(prefix: str | None, when: datetime) -> str:
    """The evaluated ``Prefix`` for an object whose oldest record arrived at ``when``.

    "If you specify a prefix that doesn't contain a timestamp namespace expression, Firehose
    appends the expression !{timestamp:yyyy/MM/dd/HH/} to the value in the Prefix field"
    (https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html), so no prefix at all gives
    the default ``YYYY/MM/dd/HH/``.
    """
    template = prefix or ""
    if "!{timestamp:" not in template:
        template += "!{timestamp:yyyy/MM/dd/HH/}"
    return _evaluate(template, when, None)


def error_output_prefix(
    prefix: str | None, error_prefix: str | None, when: datetime, error_type: str
) -> str:
    """Where records that fail (``processing-failed``, ...) would be written.

    "ErrorOutputPrefix can be null only if Prefix contains no expressions. In this case, Prefix
    evaluates to <specified-prefix>YYYY/MM/DD/HH/ and ErrorOutputPrefix evaluates to
    <specified-prefix><error-output-type>YYYY/MM/DD/HH/" (s3-prefixes.html; the doc's example
    table puts a slash after the error type, as here).
    """
    if not error_prefix:
        return f"{prefix or ''}{error_type}/{_default_time_prefix(when)}"
    template = error_prefix
    if "!{timestamp:" not in template:
        template += "!{timestamp:yyyy/MM/dd/HH/}"
    return _evaluate(template, when, error_type)


def validate_prefixes(prefix: str | None, error_prefix: str | None) -> None:
    """Apply the semantic rules of s3-prefixes.html, raising the error AWS returns.

    The rules are AWS's; the messages' wording is not documented and is labkit's.
    """
    for name, value in (("Prefix", prefix), ("ErrorOutputPrefix", error_prefix)):
        if not value:
            continue
        # "The sequence !{ can only appear in !{namespace:value} expressions."
        if value.count("!{") != len(_EXPRESSION.findall(value)):
            raise InvalidArgumentException(
                f"{name} {value!r} is invalid: '!{{' may only start a !{{namespace:value}} "
                "expression."
            )
        for namespace, expression in _EXPRESSION.findall(value):
            if namespace == "timestamp":
                try:
                    java_datetime_format(expression, datetime(2000, 1, 1))
                except ValueError as exc:
                    raise InvalidArgumentException(f"{name} {value!r} is invalid: {exc}.") from exc
            elif namespace == "firehose" and expression in ("random-string", "error-output-type"):
                pass
            elif namespace in ("partitionKeyFromQuery", "partitionKeyFromLambda"):
                raise UnsupportedFirehoseFeature(
                    "Dynamic partitioning (!{partitionKeyFromQuery:...}) is not simulated in "
                    "labs; use !{timestamp:...} and !{firehose:random-string} expressions."
                )
            else:
                raise InvalidArgumentException(
                    f"{name} {value!r} is invalid: unknown expression "
                    f"!{{{namespace}:{expression}}}."
                )
    if prefix and "!{firehose:error-output-type}" in prefix:
        raise InvalidArgumentException(
            "The !{firehose:error-output-type} expression can only be used in ErrorOutputPrefix."
        )
    if _has_expressions(prefix) and not error_prefix:
        raise InvalidArgumentException(
            "ErrorOutputPrefix cannot be null or empty when Prefix contains expressions."
        )
    if _has_expressions(error_prefix) and "!{firehose:error-output-type}" not in str(error_prefix):
        raise InvalidArgumentException(
            "ErrorOutputPrefix must contain at least one !{firehose:error-output-type} "
            "expression when it contains expressions."
        )


def _zone(config: dict[str, Any]) -> tzinfo:
    name = config.get("CustomTimeZone")
    if not name or name == "UTC":
        return timezone.utc
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def object_key(delivery_stream: Any, config: dict[str, Any], oldest_arrival: float) -> str:
    """The S3 key of an object whose oldest record arrived at ``oldest_arrival``."""
    when = datetime.fromtimestamp(oldest_arrival, tz=_zone(config))
    compression = config.get("CompressionFormat") or "UNCOMPRESSED"
    extension = config.get("FileExtension") or _EXTENSIONS.get(compression, "")
    return (
        f"{object_prefix(config.get('Prefix'), when)}{delivery_stream.delivery_stream_name}-"
        f"{delivery_stream.version_id}-{when:%Y-%m-%d-%H-%M-%S}-{mock_random.uuid4()}"
        f"{extension}"
    )


def _compress(data: bytes, compression: str, oldest_arrival: float, name: str) -> bytes:
    if compression == "GZIP":
        # The gzip header's mtime is the lab time, so objects repeat from run to run.
        return gzip.compress(data, mtime=int(oldest_arrival))
    if compression == "ZIP":
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            stamp = datetime.fromtimestamp(oldest_arrival, tz=timezone.utc).timetuple()[:6]
            archive.writestr(zipfile.ZipInfo(name, date_time=stamp), data)
        return out.getvalue()
    return data


# -- configuration checks -----------------------------------------------------------------------
@dataclass(frozen=True)
class FirehoseLimits:
    """The documented numbers this patch uses, read once from ``labkit.facts``."""

    size_default: int
    size_min: int
    size_max: int
    interval_default: int
    interval_min: int
    interval_max: int
    batch_max_records: int
    record_max_bytes: int

    @classmethod
    def from_facts(cls) -> FirehoseLimits:
        """Read every number from the fact table."""
        v = facts.value
        return cls(
            size_default=int(v("firehose.buffer_size_default")),
            size_min=int(v("firehose.buffer_size_min")),
            size_max=int(v("firehose.buffer_size_max")),
            interval_default=int(v("firehose.buffer_interval_default")),
            interval_min=int(v("firehose.buffer_interval_min")),
            interval_max=int(v("firehose.buffer_interval_max")),
            batch_max_records=int(v("firehose.putrecordbatch_max_records")),
            record_max_bytes=int(v("firehose.max_record_size")),
        )


def _check_destination(config: dict[str, Any] | None, where: str, lim: FirehoseLimits) -> None:
    """Fill AWS's defaults into an S3 destination configuration and check it."""
    if not config:
        return
    hints = config.setdefault(
        "BufferingHints",
        {"SizeInMBs": lim.size_default, "IntervalInSeconds": lim.interval_default},
    )
    hints.setdefault("SizeInMBs", lim.size_default)
    hints.setdefault("IntervalInSeconds", lim.interval_default)
    for member, low, high in (
        ("SizeInMBs", lim.size_min, lim.size_max),
        ("IntervalInSeconds", lim.interval_min, lim.interval_max),
    ):
        value = int(hints[member])
        path = f"{where}.bufferingHints.{member[0].lower()}{member[1:]}"
        if value > high:
            raise ValidationException(
                f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy "
                f"constraint: Member must have value less than or equal to {high}"
            )
        if value < low:
            raise ValidationException(
                f"1 validation error detected: Value '{value}' at '{path}' failed to satisfy "
                f"constraint: Member must have value greater than or equal to {low}"
            )
    compression = config.setdefault("CompressionFormat", "UNCOMPRESSED")
    if compression not in ("UNCOMPRESSED", "GZIP", "ZIP"):
        raise UnsupportedFirehoseFeature(
            f"CompressionFormat {compression} is not simulated in labs; use GZIP, ZIP or "
            "UNCOMPRESSED."
        )
    validate_prefixes(config.get("Prefix"), config.get("ErrorOutputPrefix"))


# -- the patches --------------------------------------------------------------------------------
@contextmanager
def firehose_fidelity(
    clock_of: Callable[[], Clock],
    alive: Callable[[], bool],
    limits: FirehoseLimits | None = None,
    others: Destinations | None = None,
) -> Iterator[None]:
    """Patch moto's Firehose for the ``with`` block.

    Args:
        clock_of: Returns the clock that is current (a check's isolated world has its own).
        alive: Whether the sandbox still runs (a pending delivery of a stopped sandbox is
            dropped).
        limits: The numbers to use; AWS's (from ``labkit.facts``) by default.
        others: The OpenSearch and Redshift destinations (:mod:`.patch_destinations`), which
            share this buffer and deliver themselves.
    """
    lim = limits or FirehoseLimits.from_facts()

    def buffered(delivery_stream: Any) -> dict[str, Any] | None:
        """The configuration whose BufferingHints buffer the stream (``None``: moto's way)."""
        found = s3_destination(delivery_stream)
        return found if found is not None or others is None else others.buffering(delivery_stream)

    def still_there(backend: FirehoseBackend, delivery_stream: Any) -> bool:
        current = firehose_backends[backend.account_id][backend.region_name]
        return (
            bool(alive())
            and current.delivery_streams.get(delivery_stream.delivery_stream_name)
            is delivery_stream
        )

    def deliver(backend: FirehoseBackend, delivery_stream: Any) -> None:
        """Write the buffer as one S3 object; on failure keep it and retry an interval later."""
        buffer = buffer_of(delivery_stream)
        config = s3_destination(delivery_stream)
        hints = buffered(delivery_stream)
        if buffer.event is not None:
            buffer.event.cancel()
            buffer.event = None
            buffer.flush_at = None
        if not buffer.records or hints is None or buffer.oldest_arrival is None:
            return
        data = b"".join(buffer.records)
        key: str | None
        try:
            if config is None and others is not None:
                key = others.deliver(
                    backend, delivery_stream, buffer.records, buffer.oldest_arrival
                )
            else:
                compression = hints.get("CompressionFormat") or "UNCOMPRESSED"
                key = object_key(delivery_stream, hints, buffer.oldest_arrival)
                body = _compress(data, compression, buffer.oldest_arrival, key.rsplit("/", 1)[-1])
                bucket = str(hints["BucketARN"]).split(":")[-1]
                s3_backends[backend.account_id][backend.partition].put_object(bucket, key, body)
        except ServiceException as exc:
            # AWS keeps retrying a failing S3 delivery (basic-deliver.html, "Data delivery
            # failure handling"); retry at the next interval.
            buffer.last_error = f"{exc.code}: {exc.message}"
            schedule(backend, delivery_stream, clock_of().timestamp + _interval(hints, 1))
            return
        buffer.records_delivered += len(buffer.records)
        buffer.bytes_delivered += len(data)
        if key is not None:
            buffer.objects_delivered += 1
            buffer.keys.append(key)
        buffer.last_error = None
        buffer.records = []
        buffer.size = 0
        buffer.oldest_arrival = None
        buffer.generation += 1

    def schedule(backend: FirehoseBackend, delivery_stream: Any, at: float) -> None:
        buffer = buffer_of(delivery_stream)
        generation = buffer.generation

        def fire() -> None:
            if not still_there(backend, delivery_stream) or buffer.generation != generation:
                return
            buffer.event = None
            deliver(backend, delivery_stream)

        if buffer.event is not None:
            buffer.event.cancel()
        buffer.event = clock_of().call_at(
            at, fire, label=f"firehose flush {delivery_stream.delivery_stream_name}"
        )
        buffer.flush_at = at

    def accept(
        backend: FirehoseBackend, delivery_stream: Any, items: list[tuple[bytes, float]]
    ) -> None:
        """Add records to the buffer; deliver on size (at once) or interval (clock event)."""
        config = buffered(delivery_stream)
        if config is None:
            return
        buffer = buffer_of(delivery_stream)
        size_limit = int(config["BufferingHints"]["SizeInMBs"]) * _MIB
        interval = _interval(config, 0)
        for data, arrival in items:
            if buffer.oldest_arrival is None:
                buffer.oldest_arrival = arrival
                if interval > 0:
                    schedule(backend, delivery_stream, arrival + interval)
            buffer.records.append(data)
            buffer.size += len(data)
            # After a failed delivery the scheduled retry delivers; do not retry per record.
            if buffer.size >= size_limit and buffer.last_error is None:
                deliver(backend, delivery_stream)
        if interval == 0 and buffer.records and buffer.last_error is None:
            deliver(backend, delivery_stream)

    original_create = FirehoseBackend.create_delivery_stream

    def create_delivery_stream(
        self: FirehoseBackend,
        region: str,
        delivery_stream_name: str,
        delivery_stream_type: str,
        kinesis_stream_source_configuration: dict[str, Any],
        delivery_stream_encryption_configuration_input: dict[str, Any],
        s3_destination_configuration: dict[str, Any],
        extended_s3_destination_configuration: dict[str, Any],
        *rest: Any,
    ) -> str:
        _check_destination(s3_destination_configuration, "s3DestinationConfiguration", lim)
        _check_destination(
            extended_s3_destination_configuration, "extendedS3DestinationConfiguration", lim
        )
        source = None
        if delivery_stream_type == _KINESIS_SOURCE and kinesis_stream_source_configuration:
            source = _find_kinesis_stream(kinesis_stream_source_configuration)
        arn: str = original_create(
            self,
            region,
            delivery_stream_name,
            delivery_stream_type,
            kinesis_stream_source_configuration,
            delivery_stream_encryption_configuration_input,
            s3_destination_configuration,
            extended_s3_destination_configuration,
            *rest,
        )
        delivery_stream = self.delivery_streams[delivery_stream_name]
        buffer_of(delivery_stream)
        if source is not None:
            backend = self

            def listener(written: list[tuple[Any, Any, int]]) -> bool:
                if not still_there(backend, delivery_stream):
                    return False
                accept(
                    backend,
                    delivery_stream,
                    [
                        (base64.b64decode(record.data), record.created_at)
                        for _, record, _ in written
                    ],
                )
                return True

            # Registered now, so only records written from now on are read: LATEST.
            add_record_listener(source, arn, listener)
        return arn

    original_put_record_batch = FirehoseBackend.put_record_batch

    def put_record_batch(
        self: FirehoseBackend, delivery_stream_name: str, records: list[dict[str, bytes]]
    ) -> dict[str, Any]:
        delivery_stream = self.delivery_streams.get(delivery_stream_name)
        if delivery_stream is None:
            return original_put_record_batch(self, delivery_stream_name, records)
        if delivery_stream.delivery_stream_type == _KINESIS_SOURCE:
            # https://docs.aws.amazon.com/firehose/latest/dev/writing-with-kinesis-streams.html:
            # "the Firehose PutRecord and PutRecordBatch operations are disabled".
            raise InvalidArgumentException(
                "This operation is not permitted on KinesisStreamAsSource delivery stream type."
            )
        if buffered(delivery_stream) is None:
            return original_put_record_batch(self, delivery_stream_name, records)
        if len(records) > lim.batch_max_records:
            raise ValidationException(
                "1 validation error detected: Value at 'records' failed to satisfy constraint: "
                f"Member must have length less than or equal to {lim.batch_max_records}"
            )
        for position, record in enumerate(records, start=1):
            if len(record.get("Data", b"")) > lim.record_max_bytes:
                raise ValidationException(
                    f"1 validation error detected: Value at 'records.{position}.member.data' "
                    "failed to satisfy constraint: Member must have length less than or equal "
                    f"to {lim.record_max_bytes}"
                )
        now = clock_of().timestamp
        accept(self, delivery_stream, [(bytes(r.get("Data", b"")), now) for r in records])
        return {
            "FailedPutCount": 0,
            "Encrypted": False,
            "RequestResponses": [{"RecordId": str(mock_random.uuid4())} for _ in records],
        }

    original_delete = FirehoseBackend.delete_delivery_stream

    def delete_delivery_stream(self: FirehoseBackend, delivery_stream_name: str) -> None:
        delivery_stream = self.delivery_streams.get(delivery_stream_name)
        if delivery_stream is not None:
            buffer = buffer_of(delivery_stream)
            if buffer.event is not None:
                buffer.event.cancel()
            if delivery_stream.source:
                source = _find_kinesis_stream(delivery_stream.source, required=False)
                if source is not None:
                    remove_record_listener(source, delivery_stream.delivery_stream_arn)
        original_delete(self, delivery_stream_name)

    original_describe = FirehoseBackend.describe_delivery_stream

    def describe_delivery_stream(
        self: FirehoseBackend, delivery_stream_name: str
    ) -> dict[str, Any]:
        # moto describes every attribute of the stream object: leave labkit's out.
        result: dict[str, Any] = original_describe(self, delivery_stream_name)
        result["DeliveryStreamDescription"].pop("LabkitBuffer", None)
        return result

    original_update = FirehoseBackend.update_destination

    def update_destination(self: FirehoseBackend, delivery_stream_name: str, *args: Any) -> None:
        delivery_stream = self.delivery_streams.get(delivery_stream_name)
        # args: current version id, destination id, S3 update, ExtendedS3 update, ...
        s3_update, extended_update = args[2], args[3]
        final: dict[str, Any] | None = None
        for update, where in (
            (s3_update, "s3DestinationUpdate"),
            (extended_update, "extendedS3DestinationUpdate"),
        ):
            if update and delivery_stream is not None:
                merged = {**(final or s3_destination(delivery_stream) or {}), **update}
                merged["BufferingHints"] = dict(merged.get("BufferingHints") or {})
                _check_destination(merged, where, lim)
                update.setdefault("BufferingHints", merged["BufferingHints"])
                final = merged
        original_update(self, delivery_stream_name, *args)
        if final is not None and delivery_stream is not None:
            _merge_s3_update(delivery_stream, str(args[1]), final)

    original_log_event = FirehoseBackend.send_log_event

    def send_log_event(
        self: FirehoseBackend,
        delivery_stream_arn: str,
        filter_name: str,
        log_group_name: str,
        log_stream_name: str,
        log_events: list[dict[str, Any]],
    ) -> None:
        # CloudWatch Logs subscription data goes through the buffer like any record (moto wrote
        # it straight to S3).
        delivery_stream = self.lookup_name_from_arn(delivery_stream_arn)
        if delivery_stream is None or buffered(delivery_stream) is None:
            original_log_event(
                self, delivery_stream_arn, filter_name, log_group_name, log_stream_name, log_events
            )
            return
        import json

        payload = {
            "logEvents": log_events,
            "logGroup": log_group_name,
            "logStream": log_stream_name,
            "messageType": "DATA_MESSAGE",
            "owner": self.account_id,
            "subscriptionFilters": [filter_name],
        }
        data = gzip.compress(json.dumps(payload, separators=(",", ":")).encode("utf-8"), mtime=0)
        accept(self, delivery_stream, [(data, clock_of().timestamp)])

    patches: list[tuple[type, str, Any]] = [
        (FirehoseBackend, "create_delivery_stream", create_delivery_stream),
        (FirehoseBackend, "put_record_batch", put_record_batch),
        (FirehoseBackend, "delete_delivery_stream", delete_delivery_stream),
        (FirehoseBackend, "describe_delivery_stream", describe_delivery_stream),
        (FirehoseBackend, "update_destination", update_destination),
        (FirehoseBackend, "send_log_event", send_log_event),
    ]
    with patched(patches):
        yield


#: ExtendedS3 members that an S3 destination's description does not have.
_EXTENDED_ONLY = (
    "ProcessingConfiguration",
    "S3BackupMode",
    "S3BackupConfiguration",
    "DataFormatConversionConfiguration",
    "DynamicPartitioningConfiguration",
    "FileExtension",
    "CustomTimeZone",
)


def _merge_s3_update(delivery_stream: Any, destination_id: str, final: dict[str, Any]) -> None:
    """Keep an updated S3 destination whole, whichever of the two spellings the update used.

    An S3 destination and an ExtendedS3 one are one destination type on AWS (a delivery stream
    created with S3DestinationConfiguration describes an ExtendedS3DestinationDescription too),
    and "If the destination type is the same, Firehose merges the configuration parameters
    specified with the destination configuration that already exists on the delivery stream"
    (https://docs.aws.amazon.com/firehose/latest/APIReference/API_UpdateDestination.html). moto
    drops the bucket, role and prefix when an ExtendedS3DestinationUpdate meets an S3
    destination, and keeps the ExtendedS3 configuration unchanged after an S3DestinationUpdate.
    """
    for destination in delivery_stream.destinations:
        if destination.get("destination_id") != destination_id:
            continue
        if "ExtendedS3" in destination:
            destination["ExtendedS3"] = dict(final)
        if "S3" in destination or "ExtendedS3" not in destination:
            destination["S3"] = {k: v for k, v in final.items() if k not in _EXTENDED_ONLY}


def _interval(config: dict[str, Any], minimum: int) -> int:
    return max(int(config["BufferingHints"]["IntervalInSeconds"]), minimum)


def _find_kinesis_stream(source: dict[str, Any], *, required: bool = True) -> Any:
    """The moto Kinesis stream a ``KinesisStreamSourceConfiguration`` names."""
    arn = str(source.get("KinesisStreamARN", ""))
    parts = arn.split(":")
    stream = None
    if len(parts) == 6 and parts[5].startswith("stream/"):
        backend = kinesis_backends[parts[4]][parts[3]]
        stream = backend.streams.get(parts[5].split("/", 1)[1])
        if stream is not None and stream.arn != arn:
            stream = None
    if stream is None and required:
        # AWS refuses a source stream that does not exist; the wording is labkit's.
        raise InvalidArgumentException(
            f"The Kinesis stream {arn} does not exist. Create it before the delivery stream."
        )
    return stream


__all__ = [
    "FirehoseBuffer",
    "FirehoseLimits",
    "UnsupportedFirehoseFeature",
    "buffer_of",
    "error_output_prefix",
    "firehose_buffer",
    "install",
    "java_datetime_format",
    "object_key",
    "object_prefix",
    "s3_destination",
    "validate_prefixes",
]
