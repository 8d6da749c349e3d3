"""What an SNS topic holds: a read-only snapshot of its fan-out, for views and checks.

A :class:`TopicSnapshot` describes an SNS topic: its subscriptions with their filter policies, raw
delivery and whether the subscribed queue's policy lets the topic deliver, and for each message
published which subscription got it, which one's filter dropped it and why a delivery failed, from
the topic's delivery log (:mod:`labkit.services.sns.patch_log`). Real AWS shows none of this at
once: it is the lab's glass box. Reading changes nothing and creates no backend or topic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labkit.services.sns.patch import delivery_decision, failed_deliveries
from labkit.services.sns.patch_log import (
    DELIVERED,
    FAILED,
    FILTERED,
    LoggedMessage,
    delivery_log,
    logged_count,
)
from labkit.services.sqs.state import LIMIT, is_true, preview

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

#: How many messages of a topic's delivery log a snapshot carries (a view shows the last few;
#: the whole log is :func:`labkit.services.sns.patch.delivery_log`).
LOG_SHOWN = 5
#: A fan-out outcome for a subscription made after the message was published.
NOT_SUBSCRIBED = "not subscribed yet"


@dataclass(frozen=True)
class Outcome:
    """What became of one published message at one subscription.

    Attributes:
        subscription: The subscription's ARN.
        endpoint: Where it delivers (a queue's name, an address).
        result: ``delivered``, ``filtered out``, ``failed``, ``not delivered in the sandbox``
            (email, SMS, ...) or ``not subscribed yet`` (the subscription came later).
        detail: Why (the filter policy, the failure's reason), ``""`` when delivered.
    """

    subscription: str
    endpoint: str
    result: str
    detail: str


@dataclass(frozen=True)
class Publication:
    """One message published to the topic.

    Attributes:
        message_id: The id ``Publish`` returned.
        preview: The start of the message.
        attributes: Its message attributes, as ``name=value`` text.
        group: Its message group (FIFO topics), else ``None``.
        outcomes: One per subscription of the topic.
    """

    message_id: str
    preview: str
    attributes: str
    group: str | None
    outcomes: tuple[Outcome, ...]


@dataclass(frozen=True)
class SubscriptionInfo:
    """One subscription of a topic.

    Attributes:
        arn: Its ARN.
        protocol: ``sqs``, ``lambda``, ``email``, ...
        endpoint: Its endpoint (a queue's ARN, ...).
        target: A short name for the endpoint (the queue's name).
        raw: Whether raw message delivery is on.
        filter_policy: The filter policy as compact JSON, ``""`` when none.
        filter_scope: ``MessageAttributes`` or ``MessageBody`` (``""`` without a policy).
        allowed: SQS: whether the queue's access policy lets the topic deliver now; ``None``
            for other protocols.
        access: SQS: the reason, in a sentence.
        failures: How many deliveries failed.
        last_failure: The reason of the latest failure, ``""`` when none.
    """

    arn: str
    protocol: str
    endpoint: str
    target: str
    raw: bool
    filter_policy: str
    filter_scope: str
    allowed: bool | None
    access: str
    failures: int
    last_failure: str


@dataclass(frozen=True)
class TopicSnapshot:
    """A topic and what became of what was published to it.

    Attributes:
        name: Its name.
        arn: Its ARN.
        fifo: Whether it is a FIFO topic.
        content_based_deduplication: FIFO: whether the body's hash is the deduplication id.
        now: The lab time of the snapshot (epoch seconds).
        subscriptions: Its subscriptions.
        published: How many messages were published (duplicates a FIFO topic dropped excluded).
        publications: The last :data:`LIMIT` of them, oldest first.
        log: The last :data:`LOG_SHOWN` messages of the topic's delivery log (duplicates
            included), oldest first: what became of each at each subscription it had then.
        logged: How many messages the delivery log has seen.
    """

    name: str
    arn: str
    fifo: bool
    content_based_deduplication: bool
    now: float
    subscriptions: tuple[SubscriptionInfo, ...]
    published: int
    publications: tuple[Publication, ...]
    log: tuple[LoggedMessage, ...]
    logged: int


# -- topics -------------------------------------------------------------------------------------
def topic_names(sandbox: Sandbox) -> list[str]:
    """The names of the sandbox's topics, sorted."""
    return sorted(arn.split(":")[-1] for arn in sandbox.backend("sns").topics)


def find_topic(sandbox: Sandbox, ref: str) -> Any | None:
    """moto's topic called ``ref`` (a name or an ARN), or ``None``."""
    topics = sandbox.backend("sns").topics
    if ref in topics:
        return topics[ref]
    return next((t for t in topics.values() if t.name == ref.split(":")[-1]), None)


def _attributes_text(attributes: dict[str, Any] | None) -> str:
    parts = []
    for name, value in (attributes or {}).items():
        shown = (
            value.get("Value", value.get("StringValue", "")) if isinstance(value, dict) else value
        )
        parts.append(f"{name}={shown}")
    return ", ".join(parts)


def _target(endpoint: str) -> str:
    return endpoint.split(":")[-1] if endpoint.startswith("arn:") else endpoint


def _filter_text(subscription: Any) -> tuple[str, str]:
    policy = subscription._filter_policy
    if not policy:
        return "", ""
    scope = str(subscription.attributes.get("FilterPolicyScope") or "MessageAttributes")
    return json.dumps(policy, separators=(",", ":"), sort_keys=True), scope


def topic_snapshot(
    sandbox: Sandbox, ref: str, *, limit: int = LIMIT, log_limit: int = LOG_SHOWN
) -> TopicSnapshot | None:
    """The topic called ``ref`` (name or ARN) and what became of its messages; ``None`` if missing.

    Which subscription got which message comes from the topic's delivery log, as it happened. A
    message the log no longer keeps is worked out from the subscriptions as they are now: each
    one's filter policy against the message, and the failures SNS recorded on it.
    """
    topic = find_topic(sandbox, ref)
    if topic is None:
        return None
    backend = sandbox.backend("sns")
    subscriptions = [s for s in backend.subscriptions.values() if s.topic.arn == topic.arn]
    infos = []
    failed_ids: dict[str, dict[str, str]] = {}
    for sub in subscriptions:
        failures = failed_deliveries(sub)
        failed_ids[sub.arn] = {f.message_id: f"{f.code}: {f.reason}" for f in failures}
        allowed: bool | None = None
        access = ""
        if sub.protocol == "sqs":
            decision = delivery_decision(sub)
            if decision is None:
                allowed, access = False, f"The queue {_target(sub.endpoint)} does not exist."
            else:
                allowed, access = decision.allowed, decision.reason
        policy, scope = _filter_text(sub)
        infos.append(
            SubscriptionInfo(
                arn=sub.arn,
                protocol=sub.protocol,
                endpoint=sub.endpoint,
                target=_target(sub.endpoint),
                raw=is_true(sub.attributes.get("RawMessageDelivery", False)),
                filter_policy=policy,
                filter_scope=scope,
                allowed=allowed,
                access=access,
                failures=len(failures),
                last_failure=failures[-1].reason if failures else "",
            )
        )
    log = delivery_log(topic)
    logged = {entry.message_id: entry for entry in log}
    sent = list(topic.sent_notifications)
    publications = []
    for message_id, message, _subject, attributes, group in sent[-limit:]:
        entry = logged.get(str(message_id))
        outcomes = []
        for sub, info in zip(subscriptions, infos, strict=True):
            if entry is not None:
                result, detail = _logged_outcome(entry, sub.arn)
            else:
                result, detail = _derived_outcome(sub, info, message_id, message, attributes,
                                                  failed_ids)  # fmt: skip
            outcomes.append(Outcome(sub.arn, info.target, result, detail))
        publications.append(
            Publication(
                message_id=str(message_id),
                preview=preview(message),
                attributes=_attributes_text(attributes),
                group=group,
                outcomes=tuple(outcomes),
            )
        )
    return TopicSnapshot(
        name=topic.name,
        arn=topic.arn,
        fifo=is_true(topic.fifo_topic),
        content_based_deduplication=is_true(topic.content_based_deduplication),
        now=sandbox.clock.timestamp,
        subscriptions=tuple(infos),
        published=len(sent),
        publications=tuple(publications),
        log=tuple(log[-log_limit:]) if log_limit > 0 else (),
        logged=logged_count(topic),
    )


def _logged_outcome(entry: LoggedMessage, subscription_arn: str) -> tuple[str, str]:
    """``(result, detail)`` of a subscription for a message, as the delivery log has it."""
    found = next((o for o in entry.outcomes if o.subscription == subscription_arn), None)
    if found is None:
        return NOT_SUBSCRIBED, "The subscription did not exist when the message was published."
    if found.result == FILTERED:
        return FILTERED, f"{found.scope} {found.filter_policy}"
    if found.result == FAILED:
        return FAILED, f"{found.code}: {found.reason}"
    if found.result == DELIVERED:
        return DELIVERED, ""
    return found.result, found.reason


def _derived_outcome(
    sub: Any,
    info: SubscriptionInfo,
    message_id: str,
    message: str,
    attributes: dict[str, Any] | None,
    failed_ids: dict[str, dict[str, str]],
) -> tuple[str, str]:
    """``(result, detail)`` worked out from the subscription as it is now (no log entry)."""
    matcher = sub._filter_policy_matcher
    if matcher is not None and not matcher.matches(attributes, message):
        return FILTERED, f"{info.filter_scope} {info.filter_policy}"
    if message_id in failed_ids[sub.arn]:
        return FAILED, failed_ids[sub.arn][message_id]
    return DELIVERED, ""


__all__ = [
    "LOG_SHOWN",
    "NOT_SUBSCRIBED",
    "Outcome",
    "Publication",
    "SubscriptionInfo",
    "TopicSnapshot",
    "find_topic",
    "topic_names",
    "topic_snapshot",
]
