"""SNS as the course needs it: queue access policies on delivery, and FIFO topic deduplication.

- SNS to SQS: AWS delivers a message to a subscribed queue only when the queue's access policy
  allows the topic to send to it (https://docs.aws.amazon.com/sns/latest/dg/
  subscribe-sqs-queue-to-sns-topic.html, step 2). Stock moto delivers regardless. Here delivery is
  refused unless :mod:`labkit.services.sqs.access` allows it; a refused (or otherwise
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
- Delivery log: every message a topic accepts (``Publish`` and ``PublishBatch``, standard and
  FIFO) is logged on moto's ``Topic`` with what became of it at each subscription: delivered,
  filtered out (on which scope, and why), failed (why), or not delivered in the sandbox (email,
  SMS, ...); see :mod:`labkit.services.sns.patch_log` and :func:`delivery_log`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
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
from labkit.errors import NetworkBlockedError
from labkit.services.awslambda.access import invoke_decision
from labkit.services.sns import patch_log as sns_log
from labkit.services.sns.patch_log import DeliveryOutcome
from labkit.services.sns.patch_log import delivery_log as delivery_log  # the accessor
from labkit.services.sqs.access import (
    SNS_SERVICE,
    Decision,
    evaluate,
    sns_delivery_request,
)

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


def _endpoint_account(subscription: Subscription) -> str:
    """The account of the subscribed queue: its ARN's, which may not be the topic's."""
    parts = subscription.endpoint.split(":")
    return parts[4] if len(parts) == 6 and parts[4] else str(subscription.account_id)


def _queue_of(subscription: Subscription) -> tuple[Any, str]:
    """The queue the subscription names (or ``None``), and its name.

    The queue lives in the account its ARN names: a topic may deliver to a queue of another
    account (https://docs.aws.amazon.com/sns/latest/dg/sns-send-message-to-sqs-cross-account.html).
    """
    parts = subscription.endpoint.split(":")
    name, region = parts[-1], parts[3] if len(parts) > 3 else ""
    backend = sqs_backends[_endpoint_account(subscription)][region]
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
    """Patch moto's SNS: queue policies on delivery, FIFO topic deduplication, the delivery log."""
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
        def send() -> None:
            # Stock moto sends to the queue of that name in the topic's own account; AWS sends
            # to the account the queue's ARN names. moto reads the account from the
            # subscription, so for the send it is the queue's.
            account = self.account_id
            if self.protocol == "sqs":
                self.account_id = _endpoint_account(self)
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
            finally:
                self.account_id = account

        # A message the filter policy drops is no delivery attempt at all.
        matcher = self._filter_policy_matcher
        if matcher is not None and not matcher.matches(message_attributes, message):
            sns_log.note(
                self, message_id, sns_log.filtered(self, matcher, message_attributes, message)
            )
            return None
        if self.protocol == "sqs":
            result = _to_queue(self, message_id, send)
        elif self.protocol == "lambda":
            result = _to_function(self, send)
        elif self.protocol in ("http", "https"):
            result = _to_http(self, message_id, send)
        else:
            send()  # moto delivers nothing for the other protocols
            result = sns_log.outcome(
                self, sns_log.NOT_DELIVERED, sns_log.not_delivered_reason(self.protocol)
            )
        sns_log.note(self, message_id, result)
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
        key: Any = None
        if _is_true(self.fifo_topic):
            if deduplication_id is None and _is_true(self.content_based_deduplication):
                deduplication_id = hashlib.sha256(message.encode("utf-8")).hexdigest()
            if deduplication_id is not None:
                key, first = _seen_within_interval(self, group_id, deduplication_id)
                if first is not None:
                    # Accepted but not delivered: a duplicate within the interval.
                    message_id = str(mock_random.uuid4())
                    sns_log.log_duplicate(
                        self,
                        message_id,
                        first,
                        message,
                        subject,
                        message_attributes,
                        group_id,
                        deduplication_id,
                    )
                    return message_id
        with sns_log.recording(
            self, message, subject, message_attributes, group_id, deduplication_id
        ) as ids:
            message_id = original_publish(
                self,
                message,
                subject=subject,
                message_attributes=message_attributes,
                group_id=group_id,
                deduplication_id=deduplication_id,
                message_structure=message_structure,
            )
            ids.append(message_id)
        if key is not None:
            until, _ = self.__dict__[DEDUP][key]
            self.__dict__[DEDUP][key] = (until, message_id)
        return message_id

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


def _seen_within_interval(
    topic: Topic, group_id: str | None, deduplication_id: str
) -> tuple[Any, str | None]:
    """The deduplication key, and the id of the message that had it within the interval.

    The id is ``None`` when no message had it: the key is then recorded, until the interval ends
    (the caller adds the new message's id once ``Publish`` knows it).
    """
    dedup: dict[Any, tuple[float, str]] | None = topic.__dict__.get(DEDUP)
    if dedup is None:
        dedup = topic.__dict__[DEDUP] = {}
    now = unix_time()
    for old in [k for k, (until, _) in dedup.items() if until <= now]:
        del dedup[old]
    scope = str(getattr(topic, "fifo_throughput_scope", "Topic") or "Topic")
    key: Any = (group_id, deduplication_id) if scope == "MessageGroup" else deduplication_id
    if key in dedup:
        return key, dedup[key][1]
    dedup[key] = (now + float(facts.value("sns.fifo_dedup_interval")), "")
    return key, None


# -- one delivery attempt per protocol -----------------------------------------------------------
def _to_queue(
    subscription: Subscription, message_id: str, send: Callable[[], None]
) -> DeliveryOutcome:
    """Deliver to an SQS queue if its access policy lets the topic; record a failure."""

    def fail(code: str, reason: str, notes: tuple[str, ...] = ()) -> DeliveryOutcome:
        _record(
            subscription,
            FailedDelivery(
                message_id,
                subscription.topic.arn,
                subscription.endpoint,
                code,
                reason,
                unix_time(),
                notes,
            ),
        )
        return sns_log.outcome(subscription, sns_log.FAILED, reason, code=code, notes=notes)

    decision = delivery_decision(subscription)
    if decision is None:
        return fail("QueueDoesNotExist", f"The queue {subscription.endpoint} does not exist.")
    if not decision.allowed:
        hint = (
            " To let the topic deliver, add a statement to the queue's policy: Effect Allow, "
            'Principal {"Service": "sns.amazonaws.com"}, Action sqs:SendMessage, Resource '
            f"the queue's ARN, Condition ArnEquals aws:SourceArn {subscription.topic.arn}."
        )
        return fail(
            "AccessDenied",
            decision.reason + ("" if decision.statement else hint),
            decision.notes,
        )
    try:
        send()
    except SQSException as error:
        # SQS refused the message (size, attributes, FIFO parameters): AWS reports that in
        # delivery logs, never to the publisher.
        return fail(error.code, f"SQS refused the message: {error.message}")
    raw = _is_true(subscription.attributes.get("RawMessageDelivery", False))
    form = "the message itself (raw delivery)" if raw else "wrapped in an SNS envelope"
    return sns_log.outcome(
        subscription,
        sns_log.DELIVERED,
        f"In the queue {sns_log.target(subscription.endpoint)}, {form}.",
    )


def _to_function(subscription: Subscription, send: Callable[[], None]) -> DeliveryOutcome:
    """Invoke a Lambda function (the trigger patch queues the invocation); say which."""
    name = sns_log.target(subscription.endpoint)
    fn = _function(subscription)
    decision = (
        None
        if fn is None
        else invoke_decision(
            fn,
            service=SNS_SERVICE,
            source_arn=subscription.topic.arn,
            account_id=subscription.topic.account_id,
        )
    )
    if decision is not None and not decision.allowed:
        # Lambda refuses SNS's invocation; AWS reports it only in delivery status logs.
        return sns_log.outcome(
            subscription,
            sns_log.FAILED,
            f"The function {name}'s resource-based policy does not let sns.amazonaws.com "
            f"invoke it for this topic, so Lambda refused the invocation. {decision.reason} "
            "Add a permission: "
            "add_permission(Action='lambda:InvokeFunction', Principal='sns.amazonaws.com', "
            f"SourceArn='{subscription.topic.arn}').",
            code="AccessDeniedException",
        )
    send()
    if fn is None:
        return sns_log.outcome(
            subscription,
            sns_log.FAILED,
            f"The function {name} does not exist, so Lambda refused the invocation (AWS would "
            "retry, then drop the message or send it to the subscription's dead-letter queue).",
            code="ResourceNotFoundException",
        )
    # https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html: SNS invokes asynchronously.
    return sns_log.outcome(
        subscription,
        sns_log.DELIVERED,
        f"Invoked the function {name} asynchronously: the invocation runs at the lab clock's "
        "next tick (lab.clock.advance(0)).",
    )


def _function(subscription: Subscription) -> Any:
    """moto's function the subscription names, or ``None`` when there is none."""
    # Imported here: Lambda's models are heavy, and reading a topic's state needs none of them.
    from labkit.services.awslambda.patch import lambda_backend

    try:
        backend = lambda_backend(subscription.account_id, subscription.endpoint.split(":")[3])
        return backend.get_function(subscription.endpoint)
    except Exception:
        return None


def _to_http(
    subscription: Subscription, message_id: str, send: Callable[[], None]
) -> DeliveryOutcome:
    """POST to the endpoint: a server on this machine gets it; any other is refused.

    The refusal (the network guard's) still reaches the publisher, as it did before the log
    existed, so the learner sees at once why; the log keeps it too.
    """
    try:
        send()
    except NetworkBlockedError as error:
        sns_log.note(
            subscription,
            message_id,
            sns_log.outcome(
                subscription,
                sns_log.NOT_DELIVERED,
                f"{error} (AWS would POST the message to {subscription.endpoint} once the "
                "subscription is confirmed.)",
            ),
        )
        raise
    except Exception as error:
        sns_log.note(
            subscription,
            message_id,
            sns_log.outcome(
                subscription,
                sns_log.FAILED,
                f"The endpoint did not take the message: {error}",
                code=type(error).__name__,
            ),
        )
        raise
    return sns_log.outcome(
        subscription,
        sns_log.DELIVERED,
        f"POSTed to {subscription.endpoint}, a server on this machine.",
    )
