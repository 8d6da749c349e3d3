"""Gaps the engine's other tests leave: values an operator cannot read, every operator tried both
ways, cross-account requests nothing allows, variables AWS would not recognise, principals."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from test_policy_conditions import CASES

from labkit.policy import Principal, Request, evaluate
from labkit.policy.conditions import OPERATORS

A = "111122223333"
B = "444455556666"
OBJECT = "arn:aws:s3:::data/k"


def decide(condition: dict[str, Any], context: dict[str, Any]) -> Any:
    statement = {
        "Sid": "S",
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::data/*",
        "Condition": condition,
    }
    request = Request(Principal.user(A, "alice"), "s3:GetObject", OBJECT, context=context)
    return evaluate(
        request, identity_policies=[{"Version": "2012-10-17", "Statement": [statement]}]
    )


def test_every_operator_is_tried_with_a_match_and_a_miss() -> None:
    seen = {(operator, expected) for operator, _, _, expected in CASES}
    for operator in OPERATORS:
        assert (operator, True) in seen and (operator, False) in seen, operator


@pytest.mark.parametrize(
    ("operator", "wanted", "value", "says"),
    [
        ("IpAddress", "10.0.0.0/8", "not-an-ip", "is not an IP address"),
        ("IpAddress", "10.0.0.0/33", "10.0.0.1", "is not an IP address or CIDR range"),
        ("NotIpAddress", "10.0.0.0/8", "10.0.0", "is not an IP address"),
        ("DateLessThan", "2024-13-01", "2024-01-01", "is not a valid date"),
        ("DateLessThan", "2024-01-01", "soon", "neither an ISO 8601 date nor epoch"),
        ("DateGreaterThan", "2024-01-01", "2024-01-01T9", "is not an ISO 8601 date"),
        ("BinaryEquals", "%%%", base64.b64encode(b"x").decode(), "is not base64"),
        ("NumericLessThan", "ten", "3", "is not a number"),
    ],
)
def test_values_an_operator_cannot_read_make_the_condition_false_and_say_so(
    operator: str, wanted: str, value: str, says: str
) -> None:
    decision = decide({operator: {"test:Key": wanted}}, {"test:Key": value})
    assert not decision.allowed
    (result,) = decision.statements
    assert result.failed == "condition" and says in result.reason


def test_cross_account_with_nothing_allowing_names_the_near_miss() -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Partner",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{B}:user/carol"},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::data/*",
            }
        ],
    }
    bob = Principal.user(B, "bob")
    decision = evaluate(
        Request(bob, "s3:GetObject", OBJECT, resource_account=A), resource_policy=policy
    )
    assert (decision.allowed, decision.kind) == (False, "implicit-deny")
    assert "`Partner` of the resource policy comes closest" in decision.reason
    assert bob.arn in decision.reason


def test_a_variable_aws_would_not_recognise_matches_nothing() -> None:
    for broken in ("${}", "${aws:user name}"):
        statement = {
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::data/{broken}",
        }
        request = Request(Principal.user(A, "alice"), "s3:GetObject", "arn:aws:s3:::data/alice")
        decision = evaluate(
            request, identity_policies=[{"Version": "2012-10-17", "Statement": [statement]}]
        )
        assert not decision.allowed
        assert "has no value" in decision.statements[0].reason


def test_principal_wildcards_inside_an_arn_name_nobody_and_lists_are_described() -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ["arn:aws:iam::*:root", f"arn:aws:iam::{B}:user/*"]},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::data/*",
            }
        ],
    }
    decision = evaluate(
        Request(Principal.root(B), "s3:GetObject", OBJECT, resource_account=A),
        resource_policy=policy,
    )
    assert not decision.allowed
    reason = decision.statements[0].reason
    assert "arn:aws:iam::*:root, arn:aws:iam::444455556666:user/*" in reason
