"""labkit.policy beside moto's own evaluator (moto.iam.access_control.IAMPolicy), to keep the
report honest: where moto is faithful they agree; where moto is not, labkit follows AWS."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.iam.access_control import IAMPolicy, PermissionResult

from labkit.policy import Principal, Request, evaluate

A = "111122223333"
QUEUE = f"arn:aws:sqs:us-east-1:{A}:orders"


def _moto(statement: dict[str, Any], action: str = "sqs:SendMessage") -> bool:
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    return IAMPolicy(policy).is_action_permitted(action, QUEUE) is PermissionResult.PERMITTED


def _labkit(statement: dict[str, Any], action: str = "sqs:SendMessage", **context: Any) -> bool:
    request = Request(Principal.user(A, "alice"), action, QUEUE, context=context)
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    return evaluate(request, identity_policies=[policy]).allowed


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": QUEUE},
        {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
        {"Effect": "Allow", "Action": ["sqs:Receive*"], "Resource": "*"},
        {"Effect": "Allow", "NotAction": "sqs:DeleteQueue", "Resource": QUEUE},
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": f"arn:aws:sqs:*:{A}:other"},
        {"Effect": "Deny", "Action": "sqs:SendMessage", "Resource": QUEUE},
    ],
)
def test_agree_on_plain_actions_and_resources(statement: dict[str, Any]) -> None:
    assert _labkit(statement) == _moto(statement)


def test_moto_ignores_operators_it_does_not_know_labkit_does_not() -> None:
    # moto evaluates StringEquals only and passes every other operator.
    statement = {
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": QUEUE,
        "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    }
    assert _moto(statement)
    assert not _labkit(statement, **{"aws:SourceIp": "203.0.113.9"})
    assert _labkit(statement, **{"aws:SourceIp": "10.1.2.3"})


def test_moto_actions_are_case_sensitive_aws_actions_are_not() -> None:
    statement = {"Effect": "Allow", "Action": "SQS:sendmessage", "Resource": QUEUE}
    assert not _moto(statement)
    assert _labkit(statement)
