"""SQS queue attributes checked and kept as AWS does.

- ``SetQueueAttributes`` changes the attributes it is given and no others
  (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html).
  Stock moto assigns ``Policy = attributes.get("Policy")``, so any call without ``Policy`` erased
  the queue's access policy. Here only a ``Policy`` key changes it; an empty string removes it.
- Numeric attributes outside their documented range (same page) are refused, in ``CreateQueue``
  and ``SetQueueAttributes`` alike, with AWS's ``InvalidAttributeValue`` "Invalid value for the
  parameter X.": ``DelaySeconds``, ``MaximumMessageSize``, ``MessageRetentionPeriod``,
  ``ReceiveMessageWaitTimeSeconds`` and ``VisibilityTimeout``. Stock moto checks only
  ``MaximumMessageSize``, and only in ``CreateQueue``.
- A ``Policy`` that is not a JSON object is refused with the same error (stock moto let a
  ``JSONDecodeError`` escape as a Python traceback).
- A ``RedrivePolicy`` whose ``maxReceiveCount`` is outside 1 to 1,000
  (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue.html)
  is refused with ``InvalidParameterValue``.
- A dead-letter queue's ``RedriveAllowPolicy`` is enforced where AWS documents it: a source queue
  may name the queue in its ``RedrivePolicy`` only when ``redrivePermission`` is ``allowAll`` (the
  default), or ``byQueue`` with the source among ``sourceQueueArns``; ``denyAll`` refuses every
  source (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html,
  ``RedriveAllowPolicy``). A refused ``RedrivePolicy`` gets ``InvalidParameterValue``, and a
  ``redrivePermission`` other than those three is refused too. Stock moto stored the policy and
  ignored it.
- ``ReceiveMessage`` with ``WaitTimeSeconds`` out of range says what AWS says ("Reason: Must be
  >= 0 and <= 20, if provided."), not moto's garbled, HTML-escaped reversal of it.

Every check runs before anything is changed, so a refused call changes nothing, as on AWS.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from moto.sqs.exceptions import InvalidAttributeValue, InvalidParameterValue, SQSException
from moto.sqs.models import Queue, sqs_backends
from moto.sqs.responses import SQSResponse

from labkit import facts

# Attribute -> (fact id of the lowest value, fact id of the highest), or a literal 0 where AWS
# documents the range as starting at zero and the fact table has no entry for it.
_RANGES: dict[str, tuple[str | int, str]] = {
    "DelaySeconds": (0, "sqs.delay_max"),
    "MaximumMessageSize": ("sqs.max_message_size_setting_min", "sqs.max_message_size"),
    "MessageRetentionPeriod": ("sqs.retention_min", "sqs.retention_max"),
    "ReceiveMessageWaitTimeSeconds": (0, "sqs.long_poll_wait_max"),
    "VisibilityTimeout": ("sqs.visibility_timeout_min", "sqs.visibility_timeout_max"),
}

_WAIT_ERROR = re.compile(r"Value (\S+) for parameter WaitTimeSeconds is invalid")


def _bound(bound: str | int) -> int:
    return bound if isinstance(bound, int) else int(facts.value(bound))


def _check_range(name: str, value: Any) -> None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidAttributeValue(name) from None
    low, high = _RANGES[name]
    if not _bound(low) <= number <= _bound(high):
        raise InvalidAttributeValue(name)


def _check_policy(value: Any) -> None:
    if not value:
        return  # no policy (an empty string removes the queue's policy)
    try:
        document = json.loads(value) if isinstance(value, str) else value
    except ValueError:
        raise InvalidAttributeValue("Policy") from None
    if not isinstance(document, dict):
        raise InvalidAttributeValue("Policy")


def _check_redrive(value: Any) -> None:
    """Refuse a ``maxReceiveCount`` outside the documented range (moto checks the rest)."""
    try:
        policy = json.loads(value) if isinstance(value, str) and value else value
    except ValueError:
        return  # moto's own error for JSON that is not JSON
    if not isinstance(policy, dict) or "maxReceiveCount" not in policy:
        return
    given = policy["maxReceiveCount"]
    low = int(facts.value("sqs.max_receive_count_min"))
    high = int(facts.value("sqs.max_receive_count_max"))
    try:
        count = int(given)
    except (TypeError, ValueError):
        count = None
    if count is None or not low <= count <= high:
        shown = value if isinstance(value, str) else json.dumps(value)
        raise InvalidParameterValue(
            f"Value {shown} for parameter RedrivePolicy is invalid. Reason: Invalid value for "
            f"maxReceiveCount: {given}, valid values are from {low} to {high} both inclusive."
        )


#: The values of ``redrivePermission`` (same page).
REDRIVE_PERMISSIONS = ("allowAll", "denyAll", "byQueue")


def _json_object(value: Any) -> dict[str, Any] | None:
    try:
        document = json.loads(value) if isinstance(value, str) and value else value
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def redrive_refusal(allow_policy: Any, source_arn: str) -> str | None:
    """Why a dead-letter queue with ``allow_policy`` refuses ``source_arn``, or ``None``.

    Args:
        allow_policy: The dead-letter queue's ``RedriveAllowPolicy`` (JSON text, a dict or
            ``None``; none means ``allowAll``).
        source_arn: The ARN of the queue whose ``RedrivePolicy`` names the dead-letter queue.
    """
    policy = _json_object(allow_policy)
    if not policy:
        return None
    permission = policy.get("redrivePermission", "allowAll")
    if permission == "denyAll":
        return "its RedriveAllowPolicy is denyAll: no source queue may use it as dead-letter queue"
    if permission == "byQueue":
        allowed = policy.get("sourceQueueArns") or []
        if source_arn not in allowed:
            listed = ", ".join(str(a) for a in allowed) or "no queue"
            return f"its RedriveAllowPolicy is byQueue and lists {listed}, not {source_arn}"
    return None


def _check_redrive_allowed(queue: Queue, value: Any) -> None:
    """Refuse a ``RedrivePolicy`` naming a dead-letter queue that does not allow ``queue``."""
    policy = _json_object(value)
    if not policy or not isinstance(policy.get("deadLetterTargetArn"), str):
        return  # moto's own errors for a policy without a target
    target = policy["deadLetterTargetArn"]
    backend = sqs_backends[queue.account_id][queue.region]
    dlq = next((q for q in backend.queues.values() if q.queue_arn == target), None)
    if dlq is None:
        return  # moto's own error for a target that does not exist
    refusal = redrive_refusal(getattr(dlq, "redrive_allow_policy", None), queue.queue_arn)
    if refusal is not None:
        shown = value if isinstance(value, str) else json.dumps(value)
        raise InvalidParameterValue(
            f"Value {shown} for parameter RedrivePolicy is invalid. Reason: the dead-letter "
            f"queue {target} does not allow this queue to send it messages: {refusal}."
        )


def _check_redrive_allow_policy(value: Any) -> None:
    if value is None or value == "":
        return
    policy = _json_object(value)
    if policy is None or policy.get("redrivePermission", "allowAll") not in REDRIVE_PERMISSIONS:
        shown = value if isinstance(value, str) else json.dumps(value)
        raise InvalidParameterValue(
            f"Value {shown} for parameter RedriveAllowPolicy is invalid. Reason: "
            f"redrivePermission must be one of {', '.join(REDRIVE_PERMISSIONS)}."
        )


def check_attributes(attributes: dict[str, Any]) -> None:
    """Raise AWS's error for the first attribute of ``attributes`` AWS would refuse."""
    for name, value in attributes.items():
        if name in _RANGES:
            _check_range(name, value)
        elif name == "Policy":
            _check_policy(value)
        elif name == "RedrivePolicy" and value is not None:
            _check_redrive(value)
        elif name == "RedriveAllowPolicy":
            _check_redrive_allow_policy(value)


@contextmanager
def validated_attributes() -> Iterator[None]:
    """Patch moto's SQS so that queue attributes are checked and kept as AWS does."""
    original_set_attributes = Queue._set_attributes
    original_receive = SQSResponse.receive_message

    def set_attributes(self: Queue, attributes: dict[str, Any], now: float | None = None) -> None:
        check_attributes(attributes)
        if attributes.get("RedrivePolicy"):
            _check_redrive_allowed(self, attributes["RedrivePolicy"])
        if "Policy" in attributes:
            original_set_attributes(self, attributes, now)
            return
        # moto would reset the policy to its empty default: keep the one the queue has.
        kept = self._policy_json
        original_set_attributes(self, attributes, now)
        self._policy_json = kept

    def receive_message(self: SQSResponse) -> Any:
        try:
            return original_receive(self)
        except SQSException as error:
            found = _WAIT_ERROR.search(error.message or "")
            if error.code != "InvalidParameterValue" or found is None:
                raise
            high = int(facts.value("sqs.long_poll_wait_max"))
            raise InvalidParameterValue(
                f"Value {found.group(1)} for parameter WaitTimeSeconds is invalid. "
                f"Reason: Must be >= 0 and <= {high}, if provided."
            ) from None

    with ExitStack() as stack:
        Queue._set_attributes = set_attributes  # type: ignore[method-assign]
        stack.callback(setattr, Queue, "_set_attributes", original_set_attributes)
        SQSResponse.receive_message = receive_message  # type: ignore[method-assign]
        stack.callback(setattr, SQSResponse, "receive_message", original_receive)
        yield
