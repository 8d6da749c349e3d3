"""Reading a function's resource-based policy: may this service invoke it for this source?"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from labkit.services.awslambda.access import may_invoke

TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"


def _fn(*statements: dict[str, Any]) -> Any:
    # The shape moto keeps: fn.policy.statements, each an IAM statement.
    return SimpleNamespace(policy=SimpleNamespace(statements=list(statements)))


def _allow(**extra: Any) -> dict[str, Any]:
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
    }
    statement.update(extra)
    return statement


def _may(fn: Any, source: str = TOPIC, account: str = "123456789012") -> bool:
    return may_invoke(fn, service="sns.amazonaws.com", source_arn=source, account_id=account)


def test_no_policy_means_no_service_may_invoke() -> None:
    assert not _may(_fn())
    assert not _may(SimpleNamespace(policy=None))


@pytest.mark.parametrize(
    ("statement", "allowed"),
    [
        (_allow(), True),
        (_allow(Condition={"ArnLike": {"AWS:SourceArn": TOPIC}}), True),
        (_allow(Condition={"ArnLike": {"AWS:SourceArn": "arn:aws:sns:*:*:al*"}}), True),
        (_allow(Condition={"ArnLike": {"AWS:SourceArn": "arn:aws:sns:*:*:other"}}), False),
        (_allow(Condition={"StringEquals": {"AWS:SourceAccount": "999999999999"}}), False),
        (_allow(Principal={"Service": "s3.amazonaws.com"}), False),
        (_allow(Principal="*"), True),
        (_allow(Action="lambda:GetFunction"), False),
        (_allow(Action=["lambda:GetFunction", "lambda:*"]), True),
        # A condition this reader cannot evaluate is not relied on.
        (_allow(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), False),
    ],
)
def test_one_statement(statement: dict[str, Any], allowed: bool) -> None:
    assert _may(_fn(statement)) is allowed


def test_an_explicit_deny_wins_over_an_allow() -> None:
    deny = _allow(Effect="Deny", Condition={"ArnLike": {"AWS:SourceArn": TOPIC}})
    assert not _may(_fn(_allow(), deny))
    assert _may(_fn(_allow(), deny), source="arn:aws:sns:us-east-1:123456789012:other")
