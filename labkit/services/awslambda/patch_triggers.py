"""What invokes Lambda functions besides ``Invoke``: event source mappings, S3 and SNS, on the lab
clock and with the events AWS documents.

Pollers (event source mappings) run on the lab clock, so ``lab.clock.advance(...)`` drives them:

- **SQS**: a new message wakes the mapping's poller at the clock's next tick. It receives up to
  ``BatchSize`` messages (waiting up to ``MaximumBatchingWindowInSeconds`` of lab time to fill the
  batch), invokes the function synchronously, deletes the batch on success and leaves it in flight
  on failure, so the messages come back after the queue's visibility timeout and, after
  ``maxReceiveCount`` receives, go to the dead-letter queue. With ``ReportBatchItemFailures`` only
  the messages named in ``batchItemFailures`` come back.
  https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
  https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
- **Kinesis and DynamoDB Streams**: each mapping reads its stream in order from its starting
  position (``TRIM_HORIZON`` or ``LATEST``), ``BatchSize`` records per invocation. A failed batch
  blocks the stream and is retried (after 1 s, doubling up to a minute: labkit's choice, AWS does
  not document its back-off) until it succeeds or ``MaximumRetryAttempts`` is used up; with
  ``ReportBatchItemFailures`` the retry starts at the first failed record.
  https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html
  https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html

Pushes are asynchronous invocations, as in AWS: an S3 notification or an SNS message for a
``lambda`` subscription queues an ``Event`` invocation that runs at the clock's next tick (run
``lab.clock.advance(0)`` to let it happen), with the documented event shapes.
https://docs.aws.amazon.com/lambda/latest/dg/with-s3.html
https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html

moto invokes a function synchronously inside ``send_message``/``put_record``/``put_item`` with
made-up events; the patches here switch that off and poll instead. State (a mapping's stream
position, its scheduled poll) lives on moto's ``EventSourceMapping`` objects.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, unquote_plus

from moto.awslambda.models import EventSourceMapping, LambdaBackend
from moto.dynamodb.models.table import StreamShard
from moto.kinesis.models import Stream
from moto.moto_api._internal import mock_random
from moto.sns.models import Subscription
from moto.sqs.models import Queue

from labkit.services.awslambda import patch_filters as lambda_filters
from labkit.services.awslambda.patch import (
    TooManyRequestsException,
    invoke_async,
    lambda_backend,
    run_invocation,
    state_of,
)

if TYPE_CHECKING:
    from labkit.clock import Clock
    from labkit.sandbox.session import Sandbox

#: Lambda polls a stream shard about once a second.
STREAM_POLL_INTERVAL = 1.0
#: labkit's back-off ceiling for a failing stream batch (AWS does not document one).
STREAM_RETRY_CEILING = 60.0
#: After a failed SQS batch labkit's poller waits this long before it looks again (the messages
#: themselves come back only after their visibility timeout).
SQS_FAILURE_PAUSE = 1.0


# -- scheduling ------------------------------------------------------------------------------
def _backend_of(esm: EventSourceMapping) -> LambdaBackend:
    return lambda_backend(esm.account_id, esm.region)


def _live(esm: EventSourceMapping) -> bool:
    try:
        backend = _backend_of(esm)
    except Exception:
        return False
    return bool(backend._event_source_mappings.get(esm.uuid) is esm and esm.enabled)


def wake(esm: EventSourceMapping, delay: float = 0.0) -> None:
    """Make sure the mapping polls ``delay`` seconds from now (or sooner)."""
    if not _live(esm):
        return
    clock: Clock = state_of(_backend_of(esm)).clock_of()
    at = clock.timestamp + delay
    pending = getattr(esm, "labkit_poll", None)
    if pending is not None and not pending.cancelled and pending.at <= at:
        return
    if pending is not None:
        pending.cancel()
    esm.labkit_poll = clock.call_at(at, lambda: _poll(esm), label=f"lambda-esm:{esm.uuid}")  # type: ignore[attr-defined]


def _poll(esm: EventSourceMapping) -> None:
    esm.labkit_poll = None  # type: ignore[attr-defined]
    if not _live(esm):
        return
    service = esm._get_service_source_from_arn()
    if service.startswith("sqs"):
        _poll_sqs(esm)
    elif service == "kinesis":
        _poll_stream(esm, _kinesis_batch)
    elif service == "dynamodb":
        _poll_stream(esm, _dynamodb_batch)


def _invoke_batch(esm: EventSourceMapping, event: dict[str, Any]) -> tuple[bool, Any]:
    """Invoke the mapping's function synchronously; ``(succeeded, parsed response)``."""
    backend = _backend_of(esm)
    try:
        fn = backend.get_function(esm.function_arn)
    except Exception:
        return False, None
    try:
        result = run_invocation(
            backend, fn, event, source=f"event-source-mapping:{esm.uuid}", invocation_type="ESM"
        )
    except TooManyRequestsException:
        return False, None
    if result.function_error:
        return False, None
    try:
        return True, json.loads(result.payload or b"null")
    except ValueError:
        return True, None


def _reports_failures(esm: EventSourceMapping) -> bool:
    return "ReportBatchItemFailures" in (esm.function_response_types or [])


def _failed_ids(response: Any, known: set[str]) -> set[str] | None:
    """The ids a partial batch response names; ``None`` means "the whole batch failed" (an id
    that is empty or not in the batch makes Lambda treat the whole batch as failed)."""
    if not isinstance(response, dict) or not response.get("batchItemFailures"):
        return set()
    ids: set[str] = set()
    for item in response["batchItemFailures"]:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not ident or ident not in known:
            return None
        ids.add(str(ident))
    return ids


# -- SQS --------------------------------------------------------------------------------------
def _queue_of(esm: EventSourceMapping) -> tuple[Any, Queue] | None:
    from moto.sqs.models import sqs_backends

    from labkit.services.sqs.patch import queue_by_arn

    queue = queue_by_arn(esm.event_source_arn)
    return (sqs_backends[queue.account_id][queue.region], queue) if queue is not None else None


def _sqs_available(queue: Queue, now: float) -> tuple[int, float | None]:
    """How many messages are receivable now, and when the next one becomes receivable."""
    from labkit.services.sqs.patch import next_availability

    return int(queue.approximate_number_of_messages), next_availability(queue, now)


def _poll_sqs(esm: EventSourceMapping) -> None:
    found = _queue_of(esm)
    if found is None:
        return
    sqs, queue = found
    now = time.time()
    available, upcoming = _sqs_available(queue, now)
    if available == 0:
        if upcoming is not None:
            wake(esm, max(0.0, upcoming - now))
        return
    window = float(esm.max_batch_window or 0)
    if window > 0 and available < esm.batch_size:
        opened = getattr(esm, "labkit_window_opened", None)
        if opened is None:
            esm.labkit_window_opened = now  # type: ignore[attr-defined]
            wake(esm, window)
            return
        if now < opened + window:
            wake(esm, opened + window - now)
            return
    esm.labkit_window_opened = None  # type: ignore[attr-defined]
    visibility = queue.visibility_timeout  # type: ignore[attr-defined]
    messages = sqs.receive_message(queue.name, esm.batch_size, 0, visibility, ["All"])
    if not messages:
        wake(esm, SQS_FAILURE_PAUSE)
        return
    records = [_sqs_record(m, queue, esm) for m in messages]
    kept = lambda_filters.keep(esm, records)
    for m in [m for m, k in zip(messages, kept, strict=True) if not k]:
        sqs.delete_message(queue.name, m.receipt_handle)  # AWS deletes what no filter matches
    messages = [m for m, k in zip(messages, kept, strict=True) if k]
    if not messages:
        wake(esm, 0.0)
        return
    event = {"Records": [r for r, k in zip(records, kept, strict=True) if k]}
    ok, response = _invoke_batch(esm, event)
    if ok:
        failed: set[str] | None = set()
        if _reports_failures(esm):
            failed = _failed_ids(response, {m.id for m in messages})
        if failed is not None:
            for m in messages:
                if m.id not in failed:
                    sqs.delete_message(queue.name, m.receipt_handle)
        wake(esm, 0.0 if not failed else SQS_FAILURE_PAUSE)
    else:
        wake(esm, SQS_FAILURE_PAUSE)


def _sqs_record(m: Any, queue: Queue, esm: EventSourceMapping) -> dict[str, Any]:
    attributes = {
        "ApproximateReceiveCount": str(m.approximate_receive_count),
        "SentTimestamp": str(m.sent_timestamp),
        "SenderId": str(m.sender_id),
        "ApproximateFirstReceiveTimestamp": str(m.approximate_first_receive_timestamp),
    }
    if queue.fifo_queue:
        attributes["SequenceNumber"] = str(m.sequence_number)
        attributes["MessageGroupId"] = str(m.group_id)
        attributes["MessageDeduplicationId"] = str(m.deduplication_id)
    message_attributes = {}
    for name, attr in (m.message_attributes or {}).items():
        entry: dict[str, Any] = {
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": attr.get("DataType"),
        }
        if "StringValue" in attr:
            entry["stringValue"] = attr["StringValue"]
        if "BinaryValue" in attr:
            value = attr["BinaryValue"]
            entry["binaryValue"] = (
                value if isinstance(value, str) else base64.b64encode(value).decode()
            )
        message_attributes[name] = entry
    return {
        "messageId": m.id,
        "receiptHandle": m.receipt_handle,
        "body": m.body,
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": m.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.queue_arn,
        "awsRegion": queue.region,
    }


# -- streams ------------------------------------------------------------------------------------
Batch = tuple[list[dict[str, Any]], list[str], Callable[[int], None]]


def _poll_stream(
    esm: EventSourceMapping, read: Callable[[EventSourceMapping], Batch | None]
) -> None:
    batch = read(esm)
    if batch is None:
        return
    records, ids, advance = batch
    if not records:
        return
    window = float(esm.max_batch_window or 0)
    now = time.time()
    if window > 0 and len(records) < esm.batch_size:
        opened = getattr(esm, "labkit_window_opened", None)
        if opened is None:
            esm.labkit_window_opened = now  # type: ignore[attr-defined]
            wake(esm, window)
            return
        if now < opened + window:
            wake(esm, opened + window - now)
            return
    esm.labkit_window_opened = None  # type: ignore[attr-defined]
    # Filtered-out records are skipped: the iterator moves past them with the batch.
    where = [i for i, k in enumerate(lambda_filters.keep(esm, records)) if k]
    if not where:
        advance(len(records))
        wake(esm, 0.0)
        return
    kept_ids = [ids[i] for i in where]
    ok, response = _invoke_batch(esm, {"Records": [records[i] for i in where]})
    failed_at: int | None = None
    if ok and _reports_failures(esm):
        failed = _failed_ids(response, set(kept_ids))
        if failed is None:
            ok = False
        elif failed:
            failed_at = where[min(kept_ids.index(i) for i in failed)]
    if ok and failed_at is None:
        advance(len(records))
        esm.labkit_attempts = 0  # type: ignore[attr-defined]
        wake(esm, 0.0)
        return
    if failed_at:
        advance(failed_at)
    attempts = int(getattr(esm, "labkit_attempts", 0)) + 1
    esm.labkit_attempts = attempts  # type: ignore[attr-defined]
    limit = esm.max_retry_attempts
    if limit is not None and int(limit) >= 0 and attempts > int(limit):
        # Retries used up: Lambda discards the batch (or sends its description to an on-failure
        # destination, which labkit does not model) and moves on.
        advance(len(records))
        esm.labkit_attempts = 0  # type: ignore[attr-defined]
        wake(esm, 0.0)
        return
    wake(esm, min(STREAM_RETRY_CEILING, STREAM_POLL_INTERVAL * 2 ** (attempts - 1)))


def _kinesis_stream(esm: EventSourceMapping) -> Stream | None:
    from moto.kinesis.models import kinesis_backends

    parts = esm.event_source_arn.split(":")
    backend = kinesis_backends[parts[4]][parts[3]]
    for stream in backend.streams.values():
        if stream.arn == esm.event_source_arn:
            return stream
    return None


def _start_positions(esm: EventSourceMapping, heads: dict[str, int]) -> dict[str, int]:
    positions: dict[str, int] | None = getattr(esm, "labkit_positions", None)
    if positions is None:
        latest = (esm.starting_position or "TRIM_HORIZON") == "LATEST"
        positions = {key: (head if latest else 0) for key, head in heads.items()}
        esm.labkit_positions = positions  # type: ignore[attr-defined]
    return positions


def _kinesis_batch(esm: EventSourceMapping) -> Batch | None:
    stream = _kinesis_stream(esm)
    if stream is None:
        return None
    positions = _start_positions(
        esm, {s.shard_id: s.get_max_sequence_number() for s in stream.shards.values()}
    )
    role = _backend_of(esm).get_function(esm.function_arn).role
    for shard in stream.shards.values():
        done = positions.setdefault(shard.shard_id, 0)
        pending = [r for seq, r in shard.records.items() if seq > done][: esm.batch_size]
        if not pending:
            continue
        records = [
            {
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": r.partition_key,
                    "sequenceNumber": str(r.sequence_number),
                    "data": r.data,
                    "approximateArrivalTimestamp": round(r.created_at, 3),
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": f"{shard.shard_id}:{r.sequence_number}",
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": role,
                "awsRegion": esm.region,
                "eventSourceARN": stream.arn,
            }
            for r in pending
        ]
        shard_id = shard.shard_id

        def advance(n: int, shard_id: str = shard_id, pending: list[Any] = pending) -> None:
            if n > 0:
                positions[shard_id] = pending[n - 1].sequence_number

        return records, [str(r.sequence_number) for r in pending], advance
    return [], [], lambda n: None


def _dynamodb_shard(esm: EventSourceMapping) -> StreamShard | None:
    from moto.dynamodb.models import dynamodb_backends

    parts = esm.event_source_arn.split(":")
    table_name = parts[5].split("/")[1]
    table = dynamodb_backends[parts[4]][parts[3]].tables.get(table_name)
    if table is None or table.stream_shard is None:
        return None
    shard: StreamShard = table.stream_shard
    return shard


def _dynamodb_batch(esm: EventSourceMapping) -> Batch | None:
    from moto.core.utils import unix_time

    shard = _dynamodb_shard(esm)
    if shard is None:
        return None
    positions = _start_positions(esm, {"shard": len(shard.items)})
    done = positions["shard"]
    pending = shard.items[done : done + esm.batch_size]
    records = []
    for item in pending:
        record = item.to_json()
        dynamodb = dict(record["dynamodb"])
        created = dynamodb.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            dynamodb["ApproximateCreationDateTime"] = round(unix_time(created))
        event = {
            "eventID": record["eventID"],
            "eventName": record["eventName"],
            "eventVersion": record["eventVersion"],
            "eventSource": "aws:dynamodb",
            "awsRegion": esm.region,
            "dynamodb": dynamodb,
            "eventSourceARN": esm.event_source_arn,
        }
        identity = record.get("userIdentity")
        if identity:
            # A TTL deletion: Lambda's event spells GetRecords' PrincipalId/Type in lower camel
            # case (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html).
            event["userIdentity"] = {
                "type": identity.get("Type"),
                "principalId": identity.get("PrincipalId"),
            }
        records.append(event)

    def advance(n: int) -> None:
        positions["shard"] = done + n

    return records, [str(r["dynamodb"]["SequenceNumber"]) for r in records], advance


# -- pushes: S3 and SNS -----------------------------------------------------------------------
def _s3_to_lambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
    """S3 → Lambda: an asynchronous invocation with the documented event."""
    backend = lambda_backend(account_id, region_name)
    try:
        fn = backend.get_function(fn_arn)
    except Exception:
        return  # As in moto and AWS: the upload succeeds whatever happens to the notification.
    invoke_async(backend, fn, _complete_s3_event(event_body, account_id), source="s3")


def _complete_s3_event(event: dict[str, Any], account_id: str) -> dict[str, Any]:
    """Add the fields of the documented S3 event that moto leaves out.

    https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
    """
    for record in event.get("Records", []):
        record.setdefault("userIdentity", {"principalId": f"AWS:{account_id}"})
        record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
        request_id = mock_random.get_random_hex(16).upper()
        record.setdefault(
            "responseElements",
            {"x-amz-request-id": request_id, "x-amz-id-2": mock_random.get_random_hex(64)},
        )
        s3 = record.get("s3", {})
        s3.get("bucket", {}).setdefault("ownerIdentity", {"principalId": account_id})
        obj = s3.get("object", {})
        obj.setdefault("sequencer", f"{time.time_ns() // 1000:016X}")
        if "key" in obj:
            # URL-encoded as in S3's events ("red flower.jpg" → "red+flower.jpg"), but "/"
            # stays a "/" (moto encodes it too).
            obj["key"] = quote_plus(unquote_plus(str(obj["key"])), safe="/")
    return event


def _sns_record(
    sub: Subscription,
    message: str,
    message_id: str,
    subject: str | None,
    attributes: dict[str, Any] | None,
) -> dict[str, Any]:
    """The documented SNS → Lambda event record.

    https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html
    """
    region = sub.topic.arn.split(":")[3]
    now = datetime.fromtimestamp(time.time(), tz=timezone.utc)
    signature = base64.b64encode(
        hashlib.sha256(f"{message_id}{message}".encode()).digest()
    ).decode()
    return {
        "EventVersion": "1.0",
        "EventSubscriptionArn": sub.arn,
        "EventSource": "aws:sns",
        "Sns": {
            "SignatureVersion": "1",
            "Timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
            "Signature": signature,
            "SigningCertUrl": f"https://sns.{region}.amazonaws.com/"
            "SimpleNotificationService-labkit.pem",
            "MessageId": message_id,
            "Message": message,
            "MessageAttributes": {
                k: {"Type": v.get("Type"), "Value": v.get("Value")}
                for k, v in (attributes or {}).items()
            },
            "Type": "Notification",
            "UnsubscribeUrl": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe"
            f"&SubscriptionArn={sub.arn}",
            "TopicArn": sub.topic.arn,
            "Subject": subject,
        },
    }


# -- install -------------------------------------------------------------------------------------
def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install the trigger patches for ``sandbox``."""
    import moto.s3.notifications as s3_notifications

    original_add_message = Queue.add_message
    original_send_kinesis = LambdaBackend.send_kinesis_message
    original_send_dynamodb = LambdaBackend.send_dynamodb_items
    original_sub_publish = Subscription.publish
    original_s3_invoke = s3_notifications._invoke_awslambda
    original_create_esm = LambdaBackend.create_event_source_mapping
    original_update_esm = LambdaBackend.update_event_source_mapping

    def add_message(self: Queue, message: Any) -> None:
        original_add_message(self, message)
        delay = max(0.0, float(getattr(message, "delayed_until", 0) or 0) / 1000 - time.time())
        for esm in mappings_for(self.account_id, self.region, self.queue_arn):
            wake(esm, delay)

    # moto (and labkit's Kinesis patch) call these when a record arrives, to invoke the function
    # there and then with a made-up event; here they only wake the mapping's poller. Returning
    # None keeps moto's DynamoDB stream records in place for the poller (and GetRecords).
    def send_kinesis_message(self: LambdaBackend, *args: Any, **kwargs: Any) -> None:
        arn = kwargs.get("kinesis_stream", args[1] if len(args) > 1 else "")
        for esm in mappings_for(self.account_id, self.region_name, str(arn)):
            wake(esm, 0.0)

    def send_dynamodb_items(
        self: LambdaBackend, function_arn: str, items: list[Any], source: str
    ) -> None:
        for esm in mappings_for(self.account_id, self.region_name, source):
            wake(esm, 0.0)

    def sub_publish(
        self: Subscription,
        message: str,
        message_id: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if self.protocol != "lambda":
            original_sub_publish(self, message, message_id, subject, message_attributes, **kwargs)
            return
        matcher = self._filter_policy_matcher
        if matcher is not None and not matcher.matches(message_attributes, message):
            return
        if kwargs.get("message_structure") == "json":
            message = self._parse_message_structure(message, self.protocol)
        backend = lambda_backend(self.account_id, self.endpoint.split(":")[3])
        try:
            fn = backend.get_function(self.endpoint)
        except Exception:
            return
        event = {"Records": [_sns_record(self, message, message_id, subject, message_attributes)]}
        invoke_async(backend, fn, event, source="sns")

    def create_esm(self: LambdaBackend, spec: dict[str, Any]) -> EventSourceMapping:
        lambda_filters.validate(spec.get("FilterCriteria"), str(spec.get("EventSourceArn", "")))
        esm = original_create_esm(self, spec)
        service = esm._get_service_source_from_arn()
        if service.startswith("sqs"):
            # moto (and labkit's SQS patch) would invoke the function inside send_message; the
            # poller does it on the lab clock instead.
            found = _queue_of(esm)
            if found is not None:
                registry = found[1].lambda_event_source_mappings
                for key in [k for k, v in registry.items() if v is esm]:
                    del registry[key]
        else:
            _read_start(esm)
        wake(esm, 0.0)
        return esm

    def update_esm(
        self: LambdaBackend, uuid: str, spec: dict[str, Any]
    ) -> EventSourceMapping | None:
        current = self.get_event_source_mapping(uuid)
        if current is not None and "FilterCriteria" in spec:
            lambda_filters.validate(spec["FilterCriteria"], current.event_source_arn)
        esm = original_update_esm(self, uuid, spec)
        if esm is not None:
            wake(esm, 0.0)
        return esm

    Queue.add_message = add_message  # type: ignore[method-assign]
    LambdaBackend.send_kinesis_message = send_kinesis_message  # type: ignore[method-assign]
    LambdaBackend.send_dynamodb_items = send_dynamodb_items  # type: ignore[method-assign,assignment]
    Subscription.publish = sub_publish  # type: ignore[method-assign,assignment]
    s3_notifications._invoke_awslambda = _s3_to_lambda
    LambdaBackend.create_event_source_mapping = create_esm  # type: ignore[method-assign]
    LambdaBackend.update_event_source_mapping = update_esm  # type: ignore[method-assign]

    def undo() -> None:
        Queue.add_message = original_add_message  # type: ignore[method-assign]
        LambdaBackend.send_kinesis_message = original_send_kinesis  # type: ignore[method-assign]
        LambdaBackend.send_dynamodb_items = original_send_dynamodb  # type: ignore[method-assign]
        Subscription.publish = original_sub_publish  # type: ignore[method-assign]
        s3_notifications._invoke_awslambda = original_s3_invoke
        LambdaBackend.create_event_source_mapping = original_create_esm  # type: ignore[method-assign]
        LambdaBackend.update_event_source_mapping = original_update_esm  # type: ignore[method-assign]

    stack.callback(undo)


def mappings_for(account_id: str, region: str, arn: str) -> list[EventSourceMapping]:
    """The event source mappings that read ``arn``."""
    backend = lambda_backend(account_id, region)
    return [e for e in backend._event_source_mappings.values() if e.event_source_arn == arn]


def _read_start(esm: EventSourceMapping) -> None:
    """Fix a stream mapping's starting position when it is created (``LATEST`` means "from now")."""
    if esm._get_service_source_from_arn() == "kinesis":
        stream = _kinesis_stream(esm)
        if stream is not None:
            _start_positions(
                esm, {s.shard_id: s.get_max_sequence_number() for s in stream.shards.values()}
            )
    else:
        shard = _dynamodb_shard(esm)
        _start_positions(esm, {"shard": len(shard.items) if shard is not None else 0})
