"""What SNS did with each message published to a topic: the topic's delivery log.

AWS tells a publisher only that a message was accepted. What became of it at each subscription
is visible, if at all, in CloudWatch: counts (``NumberOfNotificationsDelivered``,
``NumberOfNotificationsFilteredOut``, ``NumberOfNotificationsFailed``,
https://docs.aws.amazon.com/sns/latest/dg/sns-monitoring-using-cloudwatch.html) and, once someone
sets up delivery status logging for a protocol, one log line per delivery attempt
(https://docs.aws.amazon.com/sns/latest/dg/sns-topic-attributes.html); a message a filter policy
drops is never logged, only counted. labkit keeps the whole story per message instead, the
course's glass box: for every message ``Publish`` or ``PublishBatch`` accepted, its id, lab time,
subject and the start of its body, and for each subscription the topic had then, one outcome:

- ``delivered``: the queue took it, the Lambda function was invoked (asynchronously, as AWS does),
  the local HTTP server answered;
- ``filtered out``: the subscription's filter policy did not match, on the scope it reads
  (message attributes or body), with what did not match;
- ``failed``: the attempt failed (the queue's access policy denies the topic, the queue or the
  function does not exist, SQS refused the message), with the reason;
- ``not delivered in the sandbox``: a protocol labkit does not deliver (email, SMS, mobile push,
  Firehose, an HTTP endpoint off this machine), with the reason.

A FIFO topic's duplicate (same deduplication id within the interval) is logged too, as accepted
and delivered to no subscription. The log lives on moto's ``Topic`` object, so ``lab.reset()``
and a check's isolated world cover it, and keeps the last :data:`LOG_SIZE` messages.
:mod:`labkit.services.sns.patch` writes it; :func:`delivery_log` reads it.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from moto.core.utils import unix_time
from moto.sns.models import Subscription, Topic
from moto.sns.utils import FilterPolicyMatcher

#: How many messages each topic's log keeps (labkit's choice, not an AWS limit). A lesson
#: publishes tens of messages and a view shows the last few; the bound keeps a loop that publishes
#: thousands (a load test) from growing the lab's memory without end, as moto's own list does.
LOG_SIZE = 100
#: How many characters of a message's body the log keeps (enough to recognise it).
PREVIEW_CHARS = 60

DELIVERED = "delivered"
FILTERED = "filtered out"
FAILED = "failed"
NOT_DELIVERED = "not delivered in the sandbox"
#: Every outcome, in the order a view explains them.
RESULTS = (DELIVERED, FILTERED, FAILED, NOT_DELIVERED)

#: Attributes of moto's Topic where the log lives (see the module's docstring).
LOG = "labkit_delivery_log"
LOGGED = "labkit_delivery_logged"
_PENDING = "labkit_delivery_pending"

#: Why labkit delivers nothing for these protocols (AWS would).
_NOT_DELIVERED = {
    "email": "The sandbox sends no email. (In AWS an email subscription gets nothing until "
    "someone confirms it from the email SNS sends.)",
    "email-json": "The sandbox sends no email. (In AWS an email subscription gets nothing until "
    "someone confirms it from the email SNS sends.)",
    "sms": "The sandbox sends no text messages.",
    "application": "The sandbox reaches no mobile push service (APNs, FCM, ...).",
    "firehose": "labkit does not deliver from SNS to a Firehose stream.",
}


@dataclass(frozen=True)
class DeliveryOutcome:
    """What became of one message at one subscription.

    Attributes:
        subscription: The subscription's ARN.
        protocol: ``sqs``, ``lambda``, ``email``, ...
        endpoint: Its endpoint (a queue's or function's ARN, an address).
        target: A short name for the endpoint (the queue's or the function's name).
        result: One of :data:`RESULTS`.
        reason: Why, in a sentence a learner can act on.
        code: For ``failed``: ``AccessDenied``, ``QueueDoesNotExist``, ... (else ``""``).
        scope: For ``filtered out``: the scope the filter policy read, ``MessageAttributes``
            or ``MessageBody`` (else ``""``).
        filter_policy: For ``filtered out``: the filter policy then, as compact JSON.
        notes: For ``AccessDenied``: why each statement of the queue's policy did not apply.
    """

    subscription: str
    protocol: str
    endpoint: str
    target: str
    result: str
    reason: str
    code: str = ""
    scope: str = ""
    filter_policy: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoggedMessage:
    """One message a topic accepted, and what became of it at each subscription.

    Attributes:
        message_id: The id ``Publish`` returned.
        topic_arn: The topic.
        at: Lab time of the publish (epoch seconds).
        subject: Its subject, ``""`` when none.
        preview: The start of its body, on one line.
        attributes: Its message attributes as ``name=value`` text, ``""`` when none.
        group_id: FIFO topics: its message group, else ``""``.
        deduplication_id: FIFO topics: its deduplication id (given or the body's hash), else ``""``.
        duplicate_of: FIFO topics: the id of the message with the same deduplication id that the
            topic accepted within the interval; this one then went nowhere. ``""`` otherwise.
        error: What made ``Publish`` itself fail part-way (the sandbox refused a connection),
            ``""`` when it did not; subscriptions after that one were not tried.
        outcomes: One per subscription the topic tried, in the order SNS tried them.
    """

    message_id: str
    topic_arn: str
    at: float
    subject: str
    preview: str
    attributes: str
    group_id: str
    deduplication_id: str
    duplicate_of: str
    error: str
    outcomes: tuple[DeliveryOutcome, ...]

    def count(self, result: str) -> int:
        """How many subscriptions had ``result``."""
        return sum(1 for o in self.outcomes if o.result == result)


def delivery_log(topic: Topic) -> list[LoggedMessage]:
    """The last :data:`LOG_SIZE` messages the topic accepted, oldest first (empty when none)."""
    return list(topic.__dict__.get(LOG, ()))


def logged_count(topic: Topic) -> int:
    """How many messages the topic's log has seen (including those it no longer keeps)."""
    return int(topic.__dict__.get(LOGGED, 0))


def _append(topic: Topic, entry: LoggedMessage) -> None:
    log: deque[LoggedMessage] | None = topic.__dict__.get(LOG)
    if log is None:
        log = topic.__dict__[LOG] = deque(maxlen=LOG_SIZE)
    log.append(entry)
    topic.__dict__[LOGGED] = logged_count(topic) + 1


def preview(text: object, limit: int = PREVIEW_CHARS) -> str:
    """The start of ``text`` on one line, with an ellipsis when cut."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def attributes_text(attributes: dict[str, Any] | None) -> str:
    """Message attributes (as moto passes them to a topic) as ``name=value, ...``."""
    parts = []
    for name, value in (attributes or {}).items():
        shown = (
            value.get("Value", value.get("StringValue", "")) if isinstance(value, dict) else value
        )
        parts.append(f"{name}={shown}")
    return ", ".join(parts)


def target(endpoint: str) -> str:
    """A short name for an endpoint: the last part of an ARN, else the endpoint itself."""
    if endpoint.startswith("arn:"):
        parts = endpoint.split(":")
        # A function ARN with a version or alias ends function:name:qualifier.
        if len(parts) == 8 and parts[5] == "function":
            return f"{parts[6]}:{parts[7]}"
        return parts[-1]
    return endpoint


# -- writing the log (for labkit.services.sns.patch) -------------------------------------------
@contextmanager
def recording(
    topic: Topic,
    message: str,
    subject: str | None,
    attributes: dict[str, Any] | None,
    group_id: str | None,
    deduplication_id: str | None,
) -> Iterator[list[str]]:
    """Collect the outcomes of one publish to ``topic``; log the message when it ends.

    Yields a list to put the message's id in once ``Publish`` knows it (a delivery attempt
    also tells it, through :func:`note`). A publish that raises is logged with the error when at
    least one subscription was tried (the others got the message already), and not at all
    otherwise.
    """
    outer = topic.__dict__.get(_PENDING)
    pending: list[Any] = []  # the message id (as it becomes known) and the outcomes
    topic.__dict__[_PENDING] = pending
    message_id: list[str] = []
    error = ""
    try:
        yield message_id
    except Exception as failure:
        error = f"{type(failure).__name__}: {failure}"
        raise
    finally:
        topic.__dict__[_PENDING] = outer
        outcomes = tuple(o for o in pending if isinstance(o, DeliveryOutcome))
        ids = message_id or [o for o in pending if isinstance(o, str)]
        if ids and (not error or outcomes):
            _append(
                topic,
                LoggedMessage(
                    message_id=ids[0],
                    topic_arn=topic.arn,
                    at=unix_time(),
                    subject=subject or "",
                    preview=preview(message),
                    attributes=attributes_text(attributes),
                    group_id=group_id or "",
                    deduplication_id=deduplication_id or "",
                    duplicate_of="",
                    error=error,
                    outcomes=outcomes,
                ),
            )


def log_duplicate(
    topic: Topic,
    message_id: str,
    first_id: str,
    message: str,
    subject: str | None,
    attributes: dict[str, Any] | None,
    group_id: str | None,
    deduplication_id: str,
) -> None:
    """Log a FIFO topic's duplicate: accepted, delivered to no subscription."""
    _append(
        topic,
        LoggedMessage(
            message_id=message_id,
            topic_arn=topic.arn,
            at=unix_time(),
            subject=subject or "",
            preview=preview(message),
            attributes=attributes_text(attributes),
            group_id=group_id or "",
            deduplication_id=deduplication_id,
            duplicate_of=first_id,
            error="",
            outcomes=(),
        ),
    )


def note(subscription: Subscription, message_id: str, outcome: DeliveryOutcome) -> None:
    """Add the outcome of one delivery attempt to the publish being recorded, if any."""
    pending: list[Any] | None = subscription.topic.__dict__.get(_PENDING)
    if pending is None:
        return  # a delivery outside Publish (nothing labkit does today): not logged
    if not any(isinstance(p, str) for p in pending):
        pending.append(message_id)
    pending.append(outcome)


def outcome(
    subscription: Subscription,
    result: str,
    reason: str,
    *,
    code: str = "",
    scope: str = "",
    notes: tuple[str, ...] = (),
) -> DeliveryOutcome:
    """A :class:`DeliveryOutcome` of ``subscription``."""
    return DeliveryOutcome(
        subscription=subscription.arn,
        protocol=subscription.protocol,
        endpoint=subscription.endpoint,
        target=target(subscription.endpoint),
        result=result,
        reason=reason,
        code=code,
        scope=scope,
        notes=notes,
    )


def not_delivered_reason(protocol: str) -> str:
    """Why labkit delivers nothing to a subscription of ``protocol``."""
    return _NOT_DELIVERED.get(protocol, f"labkit does not deliver to {protocol} subscriptions.")


# -- why a filter policy did not match -----------------------------------------------------------
def filtered(
    subscription: Subscription,
    matcher: FilterPolicyMatcher,
    attributes: dict[str, Any] | None,
    message: str,
) -> DeliveryOutcome:
    """The ``filtered out`` outcome: the scope, the policy, and which of its keys did not match.

    A filter policy matches when every one of its top-level keys matches
    (https://docs.aws.amazon.com/sns/latest/dg/and-or-logic.html), so each
    key is tried alone, with moto's own matcher, to name the ones that failed.
    """
    scope = matcher.filter_policy_scope
    policy = matcher.filter_policy
    where = "message body" if scope == "MessageBody" else "message attributes"
    compact = json.dumps(policy, separators=(",", ":"), sort_keys=True)
    rules = dict(_policy_keys(matcher))
    misses = [
        _miss(key, rules[key], scope, attributes, message)
        for key in keys_that_fail(matcher, attributes, message)
    ]
    why = "; ".join(misses) if misses else "the message does not match it"
    reason = f"Its filter policy on the {where}, {compact}, does not match: {why}."
    return replace(outcome(subscription, FILTERED, reason), scope=scope, filter_policy=compact)


def _policy_keys(matcher: FilterPolicyMatcher) -> list[tuple[str, Any]]:
    policy = matcher.filter_policy
    if not isinstance(policy, dict):
        return []
    return [
        (key, rule)
        for key, rule in policy.items()
        # "$or" combines keys: naming one of them would mislead, so it is not analysed.
        if not key.startswith("$")
    ]


def _miss(key: str, rule: Any, scope: str, attributes: dict[str, Any] | None, message: str) -> str:
    rule_text = json.dumps(rule, separators=(",", ":"), sort_keys=True)
    if scope == "MessageBody":
        try:
            body = json.loads(message)
        except ValueError:
            return "the body is not JSON, so no key of a body policy can match"
        if not isinstance(body, dict):
            return "the body is not a JSON object, so no key of a body policy can match"
        if key not in body:
            return f"the body has no {key!r} (the policy wants {rule_text})"
        shown = json.dumps(body[key], separators=(",", ":"), sort_keys=True)
        return f"{key} is {preview(shown, 40)}, the policy wants {rule_text}"
    attributes = attributes or {}
    if key not in attributes:
        return f"the message has no attribute {key!r} (the policy wants {rule_text})"
    value = attributes[key]
    shown = value.get("Value", "") if isinstance(value, dict) else value
    return f"attribute {key} is {preview(shown, 40)!r}, the policy wants {rule_text}"


def keys_that_fail(
    matcher: FilterPolicyMatcher, attributes: dict[str, Any] | None, message: str
) -> list[str]:
    """The top-level keys of the matcher's policy that do not match on their own."""
    failing = []
    for key, rule in _policy_keys(matcher):
        try:
            alone = FilterPolicyMatcher({key: rule}, matcher.filter_policy_scope)
            if not alone.matches(attributes, message):
                failing.append(key)
        except Exception:  # a rule moto cannot evaluate alone: say nothing about it
            continue
    return failing


__all__ = [
    "DELIVERED",
    "FAILED",
    "FILTERED",
    "LOG_SIZE",
    "NOT_DELIVERED",
    "PREVIEW_CHARS",
    "RESULTS",
    "DeliveryOutcome",
    "LoggedMessage",
    "attributes_text",
    "delivery_log",
    "filtered",
    "keys_that_fail",
    "log_duplicate",
    "logged_count",
    "not_delivered_reason",
    "note",
    "outcome",
    "preview",
    "recording",
    "target",
]
