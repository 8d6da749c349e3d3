"""Whether a queue's access policy lets a service send to it, as AWS evaluates it.

An SNS topic delivers to an SQS queue only when the queue's access policy allows it: a statement
with ``Effect: Allow`` whose principal covers the SNS service (``{"Service":
"sns.amazonaws.com"}``, ``"*"`` or ``{"AWS": "*"}``), whose action covers ``sqs:SendMessage``,
whose resource covers the queue, and whose conditions (usually ``ArnEquals``/``ArnLike`` on
``aws:SourceArn`` naming the topic) hold. A matching ``Deny`` statement wins over any allow; with
no matching allow the request is denied implicitly. A policy grants nothing to a principal it
does not name: an account principal (``{"AWS": "123456789012"}``) is an IAM identity of that
account, not the SNS service.

Sources:
https://docs.aws.amazon.com/sns/latest/dg/subscribe-sqs-queue-to-sns-topic.html (step 2, the
queue policy), https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
(deny wins, default deny), https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
(operators; a condition on a key the request lacks is false, except for negated operators and
``...IfExists``).

Plain Python, no moto: :func:`evaluate` takes the policy document and the request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

SNS_SERVICE = "sns.amazonaws.com"


@dataclass(frozen=True)
class Request:
    """What is being asked of the queue.

    Attributes:
        action: e.g. ``sqs:SendMessage``.
        resource: The queue's ARN.
        service: The service principal that asks (``sns.amazonaws.com``), or ``""``.
        account: The account of an IAM principal that asks, or ``""``.
        context: Condition keys of the request (``aws:SourceArn``, ``aws:SourceAccount``, ...).
    """

    action: str
    resource: str
    service: str = ""
    account: str = ""
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """The outcome of evaluating a policy for one request.

    Attributes:
        allowed: Whether the request is allowed.
        reason: One sentence a learner can act on.
        statement: The Sid (or position) of the deciding statement, ``""`` for an implicit deny.
        notes: Why each statement that mentions the action did not apply.
    """

    allowed: bool
    reason: str
    statement: str = ""
    notes: tuple[str, ...] = ()


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
    topic_account = topic_arn.split(":")[4] if topic_arn.count(":") >= 5 else ""
    return service_delivery_request(
        queue_arn, service=SNS_SERVICE, source_arn=topic_arn, source_account=topic_account
    )


def evaluate(policy: Mapping[str, Any] | str | None, request: Request) -> Decision:
    """Evaluate a resource policy for ``request``: explicit deny, then allow, else deny.

    Args:
        policy: The policy document (a dict or its JSON text); ``None`` or empty for none.
        request: What is asked.
    """
    if policy is None or policy == "":
        return Decision(False, "The queue has no access policy, so nothing may send to it.")
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return Decision(False, "The queue's access policy is not valid JSON.")
    statements = policy.get("Statement", []) if isinstance(policy, Mapping) else []
    if isinstance(statements, Mapping):
        statements = [statements]
    if not statements:
        return Decision(False, "The queue has no access policy, so nothing may send to it.")
    allow: str | None = None
    notes: list[str] = []
    for index, statement in enumerate(statements):
        if not isinstance(statement, Mapping):
            continue
        name = str(statement.get("Sid") or f"statement {index + 1}")
        miss = _why_not(statement, request)
        effect = str(statement.get("Effect", "")).lower()
        if miss is None:
            if effect == "deny":
                return Decision(False, f"{name} of the queue's policy denies it.", name)
            if effect == "allow" and allow is None:
                allow = name
        elif _mentions(statement, request.action):
            notes.append(f"{name}: {miss}")
    if allow is not None:
        return Decision(True, f"{allow} of the queue's policy allows it.", allow)
    who = request.service or f"account {request.account}"
    reason = (
        f"No statement of the queue's policy allows {who} to {request.action} on {request.resource}"
    )
    source = request.context.get("aws:SourceArn")
    reason += f" from {source}." if source else "."
    return Decision(False, reason, "", tuple(notes))


# -- matching -------------------------------------------------------------------------------
def _why_not(statement: Mapping[str, Any], request: Request) -> str | None:
    """``None`` when the statement applies to the request, else why it does not."""
    if "NotPrincipal" in statement:
        if _principal_matches(statement["NotPrincipal"], request):
            return "its NotPrincipal excludes the sender"
    elif not _principal_matches(statement.get("Principal"), request):
        return f"its Principal does not include {request.service or request.account}"
    if "NotAction" in statement:
        if _any_match(_as_list(statement["NotAction"]), request.action, ignore_case=True):
            return f"its NotAction excludes {request.action}"
    elif not _any_match(_as_list(statement.get("Action")), request.action, ignore_case=True):
        return f"its Action does not include {request.action}"
    if "NotResource" in statement:
        if any(_arn_matches(p, request.resource) for p in _as_list(statement["NotResource"])):
            return "its NotResource excludes the queue"
    elif "Resource" in statement and not any(
        _arn_matches(p, request.resource) for p in _as_list(statement["Resource"])
    ):
        return f"its Resource does not match {request.resource}"
    return _condition_fails(statement.get("Condition"), request.context)


def _mentions(statement: Mapping[str, Any], action: str) -> bool:
    actions = _as_list(statement.get("Action", statement.get("NotAction")))
    return _any_match(actions, action, ignore_case=True)


def _principal_matches(principal: Any, request: Request) -> bool:
    if principal is None:
        return False
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    for kind, values in principal.items():
        for value in _as_list(values):
            if kind == "AWS":
                if value == "*":
                    return True
                if request.account and _account_of(value) == request.account:
                    return True
            elif kind == "Service" and request.service and value.lower() == request.service.lower():
                return True
    return False


def _account_of(principal: str) -> str:
    if re.fullmatch(r"\d{12}", principal):
        return principal
    parts = principal.split(":")
    return parts[4] if len(parts) >= 6 and parts[2] == "iam" else ""


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


@lru_cache(maxsize=512)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _like(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _wildcard(pattern, ignore_case).fullmatch(value) is not None


def _any_match(patterns: Sequence[str], value: str, *, ignore_case: bool = False) -> bool:
    return any(_like(p, value, ignore_case=ignore_case) for p in patterns)


def _arn_matches(pattern: str, arn: str) -> bool:
    """ArnLike/ArnEquals: each of the six colon-separated parts is matched on its own."""
    if pattern == "*":
        return True
    want = pattern.split(":", 5)
    have = arn.split(":", 5)
    if len(want) != 6 or len(have) != 6:
        return False
    return all(_like(w, h) for w, h in zip(want, have, strict=True))


_NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals",
            "ArnNotLike"}  # fmt: skip


def _condition_fails(condition: Any, context: Mapping[str, str]) -> str | None:
    if not condition:
        return None
    if not isinstance(condition, Mapping):
        return "its Condition is not an object"
    keys = {k.lower(): v for k, v in context.items()}
    for raw_operator, tests in condition.items():
        operator = str(raw_operator)
        quantifier = ""
        if ":" in operator:
            quantifier, operator = operator.split(":", 1)
        if_exists = operator.endswith("IfExists")
        if if_exists:
            operator = operator[: -len("IfExists")]
        if not isinstance(tests, Mapping):
            return f"its Condition {raw_operator} is not an object"
        for key, expected in tests.items():
            value = keys.get(str(key).lower())
            wanted = _as_list(expected)
            if operator == "Null":
                is_null = value is None
                if not any((w.lower() == "true") == is_null for w in wanted):
                    return f"its Condition Null on {key} does not hold"
                continue
            if value is None:
                if if_exists or operator in _NEGATED or quantifier == "ForAllValues":
                    continue
                return f"its Condition {raw_operator} needs {key}, which this request lacks"
            ok = _operator_holds(operator, value, wanted)
            if ok is None:
                return f"labkit cannot evaluate the condition operator {raw_operator}"
            if not ok:
                return (
                    f"its Condition {raw_operator} {key} expects "
                    f"{' or '.join(wanted) if wanted else 'nothing'}, but it is {value}"
                )
    return None


def _operator_holds(operator: str, value: str, wanted: list[str]) -> bool | None:
    if operator == "StringEquals":
        return value in wanted
    if operator == "StringNotEquals":
        return value not in wanted
    if operator == "StringEqualsIgnoreCase":
        return value.lower() in {w.lower() for w in wanted}
    if operator == "StringNotEqualsIgnoreCase":
        return value.lower() not in {w.lower() for w in wanted}
    if operator == "StringLike":
        return _any_match(wanted, value)
    if operator == "StringNotLike":
        return not _any_match(wanted, value)
    if operator in ("ArnEquals", "ArnLike"):
        return any(_arn_matches(w, value) for w in wanted)
    if operator in ("ArnNotEquals", "ArnNotLike"):
        return not any(_arn_matches(w, value) for w in wanted)
    if operator == "Bool":
        return value.lower() in {w.lower() for w in wanted}
    return None
