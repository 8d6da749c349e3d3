"""Whether a queue's access policy lets a service (or an account) send to it, asked of the one
policy engine (:mod:`labkit.policy`).

An SNS topic delivers to an SQS queue only when the queue's access policy allows it: a statement
with ``Effect: Allow`` whose principal covers the SNS service (``{"Service":
"sns.amazonaws.com"}``, ``"*"`` or ``{"AWS": "*"}``), whose action covers ``sqs:SendMessage``,
whose resource covers the queue, and whose conditions (usually ``ArnEquals``/``ArnLike`` on
``aws:SourceArn`` naming the topic) hold. A matching ``Deny`` wins over any allow; with no matching
allow the request is denied implicitly. An account principal (``{"AWS": "123456789012"}``) names
IAM identities of that account, not the SNS service.

Sources:
https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html (step 2, the
queue policy), https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html.

This module keeps the small request/decision vocabulary SNS delivery, S3 notifications and the
decoupling checks speak, and translates it to and from :func:`labkit.policy.evaluate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit import policy as engine
from labkit.policy import arn_account

SNS_SERVICE = "sns.amazonaws.com"
#: How explanations name a queue's access policy.
POLICY_NAME = "the queue's policy"
NO_POLICY = "The queue has no access policy, so nothing may send to it."


@dataclass(frozen=True)
class Request:
    """What is being asked of the queue.

    Attributes:
        action: e.g. ``sqs:SendMessage``.
        resource: The queue's ARN.
        service: The service principal that asks (``sns.amazonaws.com``), or ``""``.
        account: The account that asks (its root user, which is what an account principal
            names), when no service asks; ``""`` with no service either is an anonymous caller.
        context: Condition keys of the request (``aws:SourceArn``, ``aws:SourceAccount``, ...).
    """

    action: str
    resource: str
    service: str = ""
    account: str = ""
    context: Mapping[str, str] = field(default_factory=dict)

    def as_engine_request(self) -> engine.Request:
        """The same request in the engine's terms."""
        if self.service:
            principal = engine.Principal.service(self.service)
        elif self.account:
            principal = engine.Principal.root(self.account)
        else:  # nobody signed it: an anonymous caller, who only a resource policy can let in
            principal = engine.Principal.anonymous()
        return engine.Request(principal, self.action, self.resource, context=dict(self.context))


@dataclass(frozen=True)
class Decision:
    """The outcome of evaluating a queue's policy for one request.

    Attributes:
        allowed: Whether the request is allowed.
        reason: One sentence a learner can act on (the engine's: which statement decided, or
            that none did and which came closest).
        statement: The Sid (or ``statement N``) of the deciding statement, ``""`` when none
            decided (an implicit deny, or the root user's own access).
        notes: Why each statement that concerns the action did not apply.
        detail: The engine's full decision (every statement's verdict); ``None`` when the queue
            has no policy.
    """

    allowed: bool
    reason: str
    statement: str = ""
    notes: tuple[str, ...] = ()
    detail: engine.Decision | None = field(default=None, compare=False, repr=False)


def service_delivery_request(
    queue_arn: str, *, service: str, source_arn: str, source_account: str
) -> Request:
    """The request an AWS service makes when it sends a message to a queue for ``source_arn``."""
    return Request(
        action="sqs:SendMessage",
        resource=queue_arn,
        service=service,
        context={
            "aws:SourceArn": source_arn,
            "aws:SourceAccount": source_account,
            "aws:SecureTransport": "true",
        },
    )


def sns_delivery_request(queue_arn: str, topic_arn: str) -> Request:
    """The request SNS makes when it delivers a message from ``topic_arn`` to a queue."""
    return service_delivery_request(
        queue_arn, service=SNS_SERVICE, source_arn=topic_arn, source_account=arn_account(topic_arn)
    )


def evaluate(policy: Mapping[str, Any] | str | None, request: Request) -> Decision:
    """Evaluate a queue's access policy for ``request`` with :func:`labkit.policy.evaluate`.

    Args:
        policy: The policy document (a dict or its JSON text); ``None`` or empty for none.
        request: What is asked.
    """
    document = engine.load_policy(policy or "{}", name=POLICY_NAME)
    if not policy or (not document.error and not document.statements):
        # moto keeps a queue without a policy as ``{"Statement": []}``; AWS shows none.
        return Decision(False, NO_POLICY)
    decision = engine.evaluate(request.as_engine_request(), resource_policy=document)
    deciding = decision.deciding[0] if decision.deciding else None
    name = "" if deciding is None else deciding.sid or f"statement {deciding.index}"
    reason = decision.reason
    if decision.problems and not decision.allowed:
        problems = "; ".join(decision.problems)
        reason += f" {problems[:1].upper()}{problems[1:]}."
    return Decision(decision.allowed, reason, name, decision.notes, decision)


__all__ = [
    "NO_POLICY",
    "POLICY_NAME",
    "SNS_SERVICE",
    "Decision",
    "Request",
    "evaluate",
    "service_delivery_request",
    "sns_delivery_request",
]
