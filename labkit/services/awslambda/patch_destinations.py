"""What Lambda does with an asynchronous event once it is done with it: destinations, the
dead-letter queue and the event's maximum age, on the lab clock.

Stock moto stores ``PutFunctionEventInvokeConfig`` and forgets ``DeadLetterConfig``; nothing is
ever delivered anywhere. Here, for every asynchronous invocation (``InvocationType=Event``, S3 and
SNS triggers; the retries themselves are in :func:`labkit.services.awslambda.patch.invoke_async`):

- **Destinations** (``Put``/``UpdateFunctionEventInvokeConfig`` with ``DestinationConfig``): when
  an attempt succeeds, ``OnSuccess`` receives an invocation record; when the event fails its last
  retry (condition ``RetriesExhausted``) or grows older than ``MaximumEventAgeInSeconds``
  (``EventAgeExceeded``), ``OnFailure`` does. The record has the documented fields (``version``,
  ``timestamp``, ``requestContext``, ``requestPayload``, ``responseContext``,
  ``responsePayload``). An SQS queue or SNS topic receives it as the message body, a Lambda
  function as the payload of an asynchronous invocation, an EventBridge bus as the ``detail`` of
  an event from ``source`` ``lambda``.
  https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
- **Dead-letter queue** (``DeadLetterConfig.TargetArn`` of ``CreateFunction`` or
  ``UpdateFunctionConfiguration``, an SQS queue or SNS topic): a failed event is sent as it came,
  with the message attributes ``RequestID`` (String), ``ErrorCode`` (Number, the HTTP status code)
  and ``ErrorMessage`` (String, the first 1 KB of the error message). It is part of the function's
  configuration, so a published version keeps the one it had.
  https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html#invocation-dlq
- **Maximum event age**: an event older than ``MaximumEventAgeInSeconds`` (six hours by default)
  when its next attempt comes due is not tried again. labkit checks the age when the attempt comes
  due (Lambda takes the event from its queue then), so the record is sent at that moment.
  https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
- **Configuration**: ``PutFunctionEventInvokeConfig`` replaces the configuration and
  ``UpdateFunctionEventInvokeConfig`` changes only what it names (stock moto appends one config per
  call and keeps answering with the first); values out of range are refused with Lambda's
  ``ValidationException`` (stock moto checks only the maximums, and the SDK only the minimums).

The AWS documentation does not say that a dead-letter queue and an on-failure destination exclude
each other: each is configured on its own and each receives a failed event, so labkit sends to
both. A retry keeps its request id, so the record's ``requestId`` is the one in every attempt's
log.

Delivery goes through moto's own SQS, SNS, Lambda and EventBridge backends, so a learner's
``receive_message`` sees it. On AWS the function's execution role needs ``sqs:SendMessage``,
``sns:Publish``, ``lambda:InvokeFunction`` or ``events:PutEvents`` on the target; labkit does not
simulate IAM here. A delivery that fails (the target does not exist, is a FIFO queue or topic,
refuses the message) is dropped, as in AWS (which counts it in ``DestinationDeliveryFailures`` or
``DeadLetterErrors``), and recorded with its reason in :func:`deliveries`.

State lives on moto's objects: the dead-letter target on the ``LambdaFunction``
(``labkit_dead_letter_target``), the delivery history on the Lambda backend
(``labkit_async_deliveries``), so ``lab.reset()`` and a check's isolated world cover them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NamedTuple

from moto.awslambda.models import EventInvokeConfig, LambdaBackend, LambdaFunction
from moto.core.exceptions import JsonRESTError, ServiceException
from moto.moto_api._internal import mock_random

from labkit import facts
from labkit.errors import LabkitError
from labkit.services.awslambda.patch import (
    SettingsValidationException,
    invoke_async,
    lambda_backend,
)

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox
    from labkit.services.awslambda.sim_runtime import InvokeResult

#: ``requestContext.condition`` of the invocation record.
SUCCESS = "Success"
RETRIES_EXHAUSTED = "RetriesExhausted"
EVENT_AGE_EXCEEDED = "EventAgeExceeded"

#: The invocation record format the record's ``version`` names.
RECORD_VERSION = "1.0"

_DEAD_LETTER = "labkit_dead_letter_target"
_DELIVERIES = "labkit_async_deliveries"

# EventBridge destination events (``source`` and ``detail-type``, per the developer guide).
_EVENTS_SOURCE = "lambda"
_EVENTS_DETAIL_TYPE = {
    True: "Lambda Function Invocation Result - Success",
    False: "Lambda Function Invocation Result - Failure",
}

# A throttle never reaches the runtime, so an event that was only ever throttled has no function
# response; its record and DLQ attributes carry the throttle's status (labkit's choice: AWS does
# not document this case).
_THROTTLED_STATUS = 429
_THROTTLED_MESSAGE = "Rate Exceeded."


class QueuedEvent:
    """One event in Lambda's asynchronous queue, followed across its attempts.

    Attributes:
        event: The event (the invocation's payload, parsed).
        request_id: The request id every attempt uses.
        enqueued_at: When the event was queued (epoch seconds of the lab clock).
        invoke_count: Attempts that reached the function (throttled ones do not).
        last_result: The latest attempt's result, ``None`` before the first.
    """

    __slots__ = ("enqueued_at", "event", "invoke_count", "last_result", "request_id")

    def __init__(self, event: Any, enqueued_at: float) -> None:
        self.event = event
        self.enqueued_at = enqueued_at
        self.request_id = str(mock_random.uuid4())
        self.invoke_count = 0
        self.last_result: InvokeResult | None = None

    def ran(self, result: InvokeResult) -> None:
        """Count an attempt that reached the function."""
        self.invoke_count += 1
        self.last_result = result


class Delivery(NamedTuple):
    """One record or event Lambda sent (or failed to send) after an asynchronous invocation.

    Attributes:
        time: When (epoch seconds of the lab clock).
        function_name: The function that was invoked.
        request_id: The invocation's request id.
        condition: ``Success``, ``RetriesExhausted`` or ``EventAgeExceeded``.
        kind: ``on-success``, ``on-failure`` or ``dead-letter``.
        target: The destination's or dead-letter queue's ARN.
        delivered: Whether the target accepted it.
        reason: Why it was not delivered (empty when it was).
    """

    time: float
    function_name: str
    request_id: str
    condition: str
    kind: str
    target: str
    delivered: bool
    reason: str = ""


class _DeliveryFailed(Exception):
    """A target that could not take a record (the reason is the message)."""


# -- reading the configuration ------------------------------------------------------------------
def _invoke_config(fn: LambdaFunction) -> dict[str, Any]:
    configs: list[EventInvokeConfig] = getattr(fn, "event_invoke_config", None) or []
    return dict(configs[0].config) if configs else {}


def max_event_age(fn: LambdaFunction) -> float:
    """The function's ``MaximumEventAgeInSeconds`` (six hours unless configured)."""
    value = _invoke_config(fn).get("MaximumEventAgeInSeconds")
    if value is None:
        value = facts.value("lambda.async_event_age_default")
    return float(value)


def expired(fn: LambdaFunction, queued: QueuedEvent) -> bool:
    """Whether the event is older than the function's maximum event age (read when an attempt
    comes due)."""
    return time.time() - queued.enqueued_at > max_event_age(fn)


def destination(fn: LambdaFunction, on_success: bool) -> str | None:
    """The ARN of the function's ``OnSuccess`` or ``OnFailure`` destination, if any."""
    config = _invoke_config(fn).get("DestinationConfig") or {}
    target = (config.get("OnSuccess" if on_success else "OnFailure") or {}).get("Destination")
    return str(target) if target else None


def dead_letter_target(fn: LambdaFunction) -> str | None:
    """The ARN of the function's dead-letter queue (``DeadLetterConfig.TargetArn``), if any."""
    target = fn.__dict__.get(_DEAD_LETTER)
    return str(target) if target else None


def deliveries(backend: LambdaBackend) -> list[Delivery]:
    """Every destination and dead-letter delivery of this account and Region, oldest first."""
    found: list[Delivery] = backend.__dict__.setdefault(_DELIVERIES, [])
    return found


# -- what happens after the last attempt --------------------------------------------------------
def succeeded(backend: LambdaBackend, fn: LambdaFunction, queued: QueuedEvent) -> None:
    """An attempt succeeded: send the record to ``OnSuccess``, if configured."""
    target = destination(fn, on_success=True)
    if target is not None:
        record = invocation_record(fn, queued, SUCCESS)
        _deliver(backend, fn, queued, SUCCESS, "on-success", target, record)


def failed(backend: LambdaBackend, fn: LambdaFunction, queued: QueuedEvent, condition: str) -> None:
    """The event is discarded (``condition`` says why): send the record to ``OnFailure`` and the
    event to the dead-letter queue, whichever are configured."""
    target = destination(fn, on_success=False)
    if target is not None:
        record = invocation_record(fn, queued, condition)
        _deliver(backend, fn, queued, condition, "on-failure", target, record)
    dead_letter = dead_letter_target(fn)
    if dead_letter is not None:
        _deliver(backend, fn, queued, condition, "dead-letter", dead_letter, None)


def throttled_for_good(backend: LambdaBackend, fn: LambdaFunction, queued: QueuedEvent) -> bool:
    """A throttled attempt of a function whose reserved concurrency is zero: Lambda sends the
    event to the dead-letter queue and ``OnFailure`` at once, without retries (then ``True``).

    The documentation does not give the record's condition for this case; labkit says
    ``RetriesExhausted``, with no attempt counted.
    https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
    """
    if str(fn.reserved_concurrency) != "0":
        return False
    failed(backend, fn, queued, RETRIES_EXHAUSTED)
    return True


def invocation_record(fn: LambdaFunction, queued: QueuedEvent, condition: str) -> dict[str, Any]:
    """The invocation record Lambda sends to a destination, field by field as documented.

    https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
    """
    now = datetime.fromtimestamp(time.time(), tz=timezone.utc)
    result = queued.last_result
    response_context: dict[str, Any] = {
        "statusCode": 200 if result is not None else _THROTTLED_STATUS,
        "executedVersion": str(fn.version),
    }
    if result is not None and result.function_error:
        response_context["functionError"] = result.function_error
    return {
        "version": RECORD_VERSION,
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "requestContext": {
            "requestId": queued.request_id,
            "functionArn": _qualified_arn(fn),
            "condition": condition,
            "approximateInvokeCount": queued.invoke_count,
        },
        "requestPayload": queued.event,
        "responseContext": response_context,
        "responsePayload": _response_payload(result),
    }


def _qualified_arn(fn: LambdaFunction) -> str:
    base = fn.function_arn if fn.version == "$LATEST" else fn.function_arn.rsplit(":", 1)[0]
    return f"{base}:{fn.version}"


def _response_payload(result: InvokeResult | None) -> Any:
    if result is None or not result.payload:
        return None
    try:
        return json.loads(result.payload)
    except ValueError:
        return result.payload.decode("utf-8", "replace")


def dead_letter_attributes(queued: QueuedEvent) -> dict[str, tuple[str, str]]:
    """The dead-letter message's attributes: name to ``(data type, value)``."""
    result = queued.last_result
    if result is None:
        code, message = _THROTTLED_STATUS, _THROTTLED_MESSAGE
    else:
        payload = _response_payload(result)
        code = 200  # the function ran: Invoke's status is 200, the error is the function's
        message = (
            str(payload.get("errorMessage"))
            if isinstance(payload, dict) and payload.get("errorMessage") is not None
            else str(result.function_error or "")
        )
    limit = int(facts.value("lambda.dlq_error_message_max"))
    message = message.encode("utf-8")[:limit].decode("utf-8", "ignore")
    return {
        "RequestID": ("String", queued.request_id),
        "ErrorCode": ("Number", str(code)),
        "ErrorMessage": ("String", message),
    }


# -- delivery through moto's backends -----------------------------------------------------------
def _deliver(
    backend: LambdaBackend,
    fn: LambdaFunction,
    queued: QueuedEvent,
    condition: str,
    kind: str,
    target: str,
    record: dict[str, Any] | None,
) -> None:
    """Send the record (or, for the dead-letter queue, the event) to ``target``; record how it
    went."""
    body = json.dumps(record if record is not None else queued.event)
    attributes = dead_letter_attributes(queued) if record is None else {}
    reason = ""
    try:
        service, region, account = _arn_parts(target)
        if service == "sqs":
            _to_sqs(target, account, region, body, attributes)
        elif service == "sns":
            _to_sns(target, account, region, body, attributes)
        elif service == "lambda" and record is not None:
            _to_lambda(target, account, region, record)
        elif service == "events" and record is not None:
            _to_eventbridge(target, account, region, fn, record, condition == SUCCESS)
        else:
            raise _DeliveryFailed(
                f"labkit cannot deliver to {target}: a dead-letter queue is an SQS queue or SNS "
                "topic; a destination is an SQS queue, SNS topic, Lambda function or EventBridge "
                "event bus."
            )
    except _DeliveryFailed as problem:
        reason = str(problem)
    except (ServiceException, JsonRESTError, LabkitError) as error:
        reason = f"{target} refused it: {_describe(error)}"
    deliveries(backend).append(
        Delivery(
            time.time(),
            fn.function_name,
            queued.request_id,
            condition,
            kind,
            target,
            not reason,
            reason,
        )
    )


def _describe(error: Exception) -> str:
    code = getattr(error, "code", None) or getattr(error, "error_type", "")
    message = getattr(error, "message", None) or str(error)
    return f"{code}: {message}" if isinstance(code, str) and code else str(message)


def _arn_parts(arn: str) -> tuple[str, str, str]:
    """``(service, region, account)`` of an ARN."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise _DeliveryFailed(f"{arn!r} is not an ARN.")
    return parts[2], parts[3], parts[4]


def _backend(service: str, account: str, region: str) -> Any:
    # Through moto.backends so that labkit's patches of that service are installed first.
    from moto.backends import get_backend

    backends: Any = get_backend(service)  # type: ignore[call-overload]
    return backends[account][region]


def _to_sqs(
    arn: str, account: str, region: str, body: str, attributes: dict[str, tuple[str, str]]
) -> None:
    sqs = _backend("sqs", account, region)
    name = arn.split(":")[5]
    queue = sqs.get_queue(name)
    if queue.fifo_queue:
        raise _DeliveryFailed(f"{arn} is a FIFO queue; Lambda sends only to standard queues.")
    sqs.send_message(
        name,
        body,
        message_attributes={
            key: {"DataType": kind, "StringValue": value}
            for key, (kind, value) in attributes.items()
        },
    )


def _to_sns(
    arn: str, account: str, region: str, body: str, attributes: dict[str, tuple[str, str]]
) -> None:
    sns = _backend("sns", account, region)
    topic = sns.get_topic(arn)
    if topic.fifo_topic:
        raise _DeliveryFailed(f"{arn} is a FIFO topic; Lambda sends only to standard topics.")
    sns.publish(
        body,
        arn=arn,
        message_attributes={
            key: {"Type": kind, "Value": value} for key, (kind, value) in attributes.items()
        },
    )


def _to_lambda(arn: str, account: str, region: str, record: dict[str, Any]) -> None:
    # The record is the payload of an asynchronous invocation of the destination function.
    target_backend = lambda_backend(account, region)
    target = target_backend.get_function(arn)
    invoke_async(target_backend, target, record, source="destination")


def _to_eventbridge(
    arn: str,
    account: str,
    region: str,
    fn: LambdaFunction,
    record: dict[str, Any],
    success: bool,
) -> None:
    events = _backend("events", account, region)
    events.describe_event_bus(arn.split("/")[-1])
    events.put_events(
        [
            {
                "Source": _EVENTS_SOURCE,
                "DetailType": _EVENTS_DETAIL_TYPE[success],
                "Detail": json.dumps(record),
                "EventBusName": arn,
                "Resources": [_qualified_arn(fn), arn],
            }
        ]
    )


# -- configuration ------------------------------------------------------------------------------
def _check_invoke_config(config: dict[str, Any]) -> None:
    """Refuse ``MaximumRetryAttempts`` or ``MaximumEventAgeInSeconds`` out of Lambda's range.

    The range is in the API reference; the wording is Lambda's ``ValidationException``, which moto
    already uses for the maximums.
    https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionEventInvokeConfig.html
    """
    errors: list[str] = []
    for key, member, low_id, high_id in (
        ("MaximumRetryAttempts", "maximumRetryAttempts", "async_retries_min", "async_retries_max"),
        (
            "MaximumEventAgeInSeconds",
            "maximumEventAgeInSeconds",
            "async_event_age_min",
            "async_event_age_max",
        ),
    ):
        value = config.get(key)
        if value is None:
            continue
        low = int(facts.value(f"lambda.{low_id}"))
        high = int(facts.value(f"lambda.{high_id}"))
        if int(value) < low:
            errors.append(_constraint(value, member, f"greater than or equal to {low}"))
        elif int(value) > high:
            errors.append(_constraint(value, member, f"less than or equal to {high}"))
    if errors:
        raise SettingsValidationException(errors)


def _constraint(value: Any, member: str, bound: str) -> str:
    return (
        f"Value '{value}' at '{member}' failed to satisfy constraint: "
        f"Member must have value {bound}"
    )


def _merged(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``UpdateFunctionEventInvokeConfig``: what the request names replaces what it does not
    touch (an ``OnSuccess`` given alone keeps the ``OnFailure`` there was)."""
    merged = dict(current)
    for key, value in update.items():
        if key == "DestinationConfig" and isinstance(value, dict):
            destinations = dict(merged.get(key) or {})
            destinations.update(value)
            merged[key] = destinations
        else:
            merged[key] = value
    return merged


def _set_dead_letter(fn: LambdaFunction, config: Any) -> None:
    # An empty TargetArn removes the dead-letter queue.
    target = (config or {}).get("TargetArn") if isinstance(config, dict) else None
    fn.__dict__[_DEAD_LETTER] = str(target) if target else None


# -- install ------------------------------------------------------------------------------------
def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install the destination and dead-letter patches (the Lambda patch calls this)."""
    original_init = LambdaFunction.__init__
    original_get_configuration = LambdaFunction.get_configuration
    original_update_configuration = LambdaFunction.update_configuration
    original_put = LambdaBackend.put_function_event_invoke_config
    original_update = LambdaBackend.update_function_event_invoke_config

    def init(
        self: LambdaFunction,
        account_id: str,
        spec: dict[str, Any],
        region: str,
        version: str | int = 1,
    ) -> None:
        original_init(self, account_id, spec, region, version)
        _set_dead_letter(self, spec.get("DeadLetterConfig"))

    def get_configuration(self: LambdaFunction, on_create: bool = False) -> dict[str, Any]:
        config = original_get_configuration(self, on_create)
        target = dead_letter_target(self)
        if target is not None:
            config["DeadLetterConfig"] = {"TargetArn": target}
        return config

    def update_configuration(self: LambdaFunction, updates: dict[str, Any]) -> dict[str, Any]:
        if "DeadLetterConfig" in updates:
            _set_dead_letter(self, updates["DeadLetterConfig"])
        return original_update_configuration(self, updates)

    def put_config(
        self: LambdaBackend, function_name: str, config: dict[str, Any]
    ) -> dict[str, Any]:
        _check_invoke_config(config)
        # Put replaces the whole configuration; moto would append a second one.
        self.get_function(function_name).event_invoke_config = []
        return original_put(self, function_name, config)

    def update_config(
        self: LambdaBackend, function_name: str, config: dict[str, Any]
    ) -> dict[str, Any]:
        _check_invoke_config(config)
        fn = self.get_function(function_name)
        merged = _merged(_invoke_config(fn), config)
        fn.event_invoke_config = []
        return original_put(self, function_name, merged)

    patches: list[tuple[type, str, Callable[..., Any], Callable[..., Any]]] = [
        (LambdaFunction, "__init__", init, original_init),
        (LambdaFunction, "get_configuration", get_configuration, original_get_configuration),
        (
            LambdaFunction,
            "update_configuration",
            update_configuration,
            original_update_configuration,
        ),
        (LambdaBackend, "put_function_event_invoke_config", put_config, original_put),
        (LambdaBackend, "update_function_event_invoke_config", update_config, original_update),
    ]
    for owner, name, patched, original in patches:
        setattr(owner, name, patched)
        stack.callback(setattr, owner, name, original)
