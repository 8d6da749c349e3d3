"""SNS as the course needs it: queue access policies on delivery, and FIFO topic deduplication.

- SNS to SQS: AWS delivers a message to a subscribed queue only when the queue's access policy
  allows the topic to send to it (https://docs.aws.amazon.com/sns/latest/dg/
  subscribe-sqs-queue-to-sns-topic.html, step 2). Stock moto delivers regardless. Here delivery is
  refused unless :mod:`labkit.sandbox.services.sqs_policy` allows it; a refused (or otherwise
  failed) delivery never reaches the publisher, as in AWS, and is recorded with its reason on
  moto's ``Subscription`` object, in ``labkit_failed_deliveries``, so a view can say why a queue
  stayed empty.
- FIFO topics: a message whose deduplication id (given, or the SHA-256 of the body when the topic
  has ``ContentBasedDeduplication``) was published within the interval is accepted but not
  delivered, across the topic or per message group as ``FifoThroughputScope`` says, and the id
  travels with the message to the subscribed FIFO queues
  (https://docs.aws.amazon.com/sns/latest/dg/fifo-message-dedup.html). Stock moto applies
  neither; the state lives on moto's ``Topic`` object (``labkit_dedup``).
- Filter policy scope: the scope decides whether the filter policy reads the message attributes
  or the body (https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering-scope.html),
  whichever of ``FilterPolicy`` and ``FilterPolicyScope`` is set last. Stock moto rebuilds the
  filter only when ``FilterPolicy`` is set, so a scope set afterwards was reported but not
  applied.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moto.core.utils import unix_time
from moto.moto_api._internal import mock_random
from moto.sns.exceptions import SNSInvalidParameter, SNSNotFoundError
from moto.sns.models import SNSBackend, Subscription, Topic
from moto.sns.utils import FilterPolicyMatcher
from moto.sqs.exceptions import SQSException
from moto.sqs.models import sqs_backends

from labkit import facts
from labkit.sandbox.services.sqs_policy import Decision, evaluate, sns_delivery_request

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

FAILED = "labkit_failed_deliveries"
DEDUP = "labkit_dedup"
# The values FilterPolicyScope takes (https://docs.aws.amazon.com/sns/latest/api/API_SetSubscriptionAttributes.html).
_SCOPES = ("MessageAttributes", "MessageBody")


@dataclass(frozen=True)
class FailedDelivery:
    """A message that SNS accepted but could not deliver to one subscription.

    Attributes:
        message_id: The id ``Publish`` returned.
        topic_arn: Where it was published.
        endpoint: The subscription's endpoint (the queue's ARN).
        code: Short cause: ``AccessDenied``, ``QueueDoesNotExist`` or the error code SQS gave.
        reason: What happened, in a sentence a learner can act on.
        at: Lab time of the attempt (epoch seconds).
        notes: For ``AccessDenied``: why each statement of the queue's policy did not apply.
    """

    message_id: str
    topic_arn: str
    endpoint: str
    code: str
    reason: str
    at: float
    notes: tuple[str, ...] = ()


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install the SNS patches for ``sandbox``."""
    stack.enter_context(faithful_sns())


def failed_deliveries(subscription: Subscription) -> list[FailedDelivery]:
    """The deliveries of ``subscription`` that failed, oldest first (empty when none)."""
    return list(getattr(subscription, FAILED, []))


def topic_failed_deliveries(backend: SNSBackend, topic_arn: str) -> list[FailedDelivery]:
    """Every failed delivery of the topic's current subscriptions, oldest first."""
    found: list[FailedDelivery] = []
    for subscription in backend.subscriptions.values():
        if subscription.topic.arn == topic_arn:
            found.extend(failed_deliveries(subscription))
    return sorted(found, key=lambda f: f.at)


def _record(subscription: Subscription, failure: FailedDelivery) -> None:
    records: list[FailedDelivery] | None = subscription.__dict__.get(FAILED)
    if records is None:
        records = subscription.__dict__[FAILED] = []
    records.append(failure)


def _queue_of(subscription: Subscription) -> tuple[Any, str]:
    """The queue moto would deliver to (or ``None``), and its name."""
    parts = subscription.endpoint.split(":")
    name, region = parts[-1], parts[3] if len(parts) > 3 else ""
    backend = sqs_backends[subscription.account_id][region]
    return backend.queues.get(name), name


def delivery_decision(subscription: Subscription) -> Decision | None:
    """Whether SNS may deliver to the subscription's queue now; ``None`` when it is missing."""
    queue, _ = _queue_of(subscription)
    if queue is None:
        return None
    request = sns_delivery_request(queue.queue_arn, subscription.topic.arn)
    return evaluate(queue._policy_json, request)


@contextmanager
def faithful_sns() -> Iterator[None]:
    """Patch moto's SNS: queue policies on delivery, FIFO topic deduplication."""
    original_deliver = Subscription.publish
    original_publish = Topic.publish
    original_set_attribute = SNSBackend.set_subscription_attributes

    def set_subscription_attribute(self: SNSBackend, arn: str, name: str, value: Any) -> None:
        if name != "FilterPolicyScope":
            return original_set_attribute(self, arn, name, value)
        subscription = _subscription(self, arn)
        if value not in _SCOPES:
            raise SNSInvalidParameter(
                f"Invalid parameter: Attributes Reason: FilterPolicyScope: Invalid value "
                f"[{value}]. Please use either {' or '.join(_SCOPES)}"
            )
        policy = getattr(subscription, "_filter_policy", None)
        if policy:
            # Checked against the new scope before anything changes (nesting, for one, is
            # allowed only for MessageBody), then the filter is rebuilt for it.
            self._validate_filter_policy(policy, scope=value)
        original_set_attribute(self, arn, name, value)
        if policy:
            subscription._filter_policy_matcher = FilterPolicyMatcher(policy, value)
        return None

    def deliver(
        self: Subscription,
        message: str,
        message_id: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        message_structure: str | None = None,
    ) -> None:
        if self.protocol != "sqs":
            return original_deliver(
                self,
                message,
                message_id,
                subject=subject,
                message_attributes=message_attributes,
                group_id=group_id,
                deduplication_id=deduplication_id,
                message_structure=message_structure,
            )
        # A message the filter policy drops is no delivery attempt at all.
        matcher = self._filter_policy_matcher
        if matcher is not None and not matcher.matches(message_attributes, message):
            return None

        def fail(code: str, reason: str, notes: tuple[str, ...] = ()) -> None:
            _record(
                self,
                FailedDelivery(
                    message_id, self.topic.arn, self.endpoint, code, reason, unix_time(), notes
                ),
            )

        decision = delivery_decision(self)
        if decision is None:
            fail("QueueDoesNotExist", f"The queue {self.endpoint} does not exist.")
            return None
        if not decision.allowed:
            hint = (
                " To let the topic deliver, add a statement to the queue's policy: Effect Allow, "
                'Principal {"Service": "sns.amazonaws.com"}, Action sqs:SendMessage, Resource '
                f"the queue's ARN, Condition ArnEquals aws:SourceArn {self.topic.arn}."
            )
            fail(
                "AccessDenied",
                decision.reason + ("" if decision.statement else hint),
                decision.notes,
            )
            return None
        try:
            original_deliver(
                self,
                message,
                message_id,
                subject=subject,
                message_attributes=message_attributes,
                group_id=group_id,
                deduplication_id=deduplication_id,
                message_structure=message_structure,
            )
        except SQSException as error:
            # SQS refused the message (size, attributes, FIFO parameters): AWS reports that in
            # delivery logs, never to the publisher.
            fail(error.code, f"SQS refused the message: {error.message}")
        return None

    def publish(
        self: Topic,
        message: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        message_structure: str | None = None,
    ) -> str:
        if _is_true(self.fifo_topic):
            if deduplication_id is None and _is_true(self.content_based_deduplication):
                deduplication_id = hashlib.sha256(message.encode("utf-8")).hexdigest()
            if deduplication_id is not None and not _first_within_interval(
                self, group_id, deduplication_id
            ):
                # Accepted but not delivered: a duplicate within the interval.
                return str(mock_random.uuid4())
        return original_publish(
            self,
            message,
            subject=subject,
            message_attributes=message_attributes,
            group_id=group_id,
            deduplication_id=deduplication_id,
            message_structure=message_structure,
        )

    with ExitStack() as stack:
        Subscription.publish = deliver  # type: ignore[method-assign]
        stack.callback(setattr, Subscription, "publish", original_deliver)
        Topic.publish = publish  # type: ignore[method-assign]
        stack.callback(setattr, Topic, "publish", original_publish)
        SNSBackend.set_subscription_attributes = set_subscription_attribute  # type: ignore[method-assign]
        stack.callback(setattr, SNSBackend, "set_subscription_attributes", original_set_attribute)
        yield


def _subscription(backend: SNSBackend, arn: str) -> Subscription:
    for subscription in backend.subscriptions.values():
        if subscription.arn == arn:
            return subscription
    raise SNSNotFoundError(f"Subscription with arn {arn} not found")


def _is_true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _first_within_interval(topic: Topic, group_id: str | None, deduplication_id: str) -> bool:
    """Record ``deduplication_id``; ``False`` when it was already seen within the interval."""
    dedup: dict[Any, float] | None = topic.__dict__.get(DEDUP)
    if dedup is None:
        dedup = topic.__dict__[DEDUP] = {}
    now = unix_time()
    for old in [k for k, until in dedup.items() if until <= now]:
        del dedup[old]
    scope = str(getattr(topic, "fifo_throughput_scope", "Topic") or "Topic")
    key: Any = (group_id, deduplication_id) if scope == "MessageGroup" else deduplication_id
    if key in dedup:
        return False
    dedup[key] = now + float(facts.value("sns.fifo_dedup_interval"))
    return True
