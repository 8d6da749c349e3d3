"""Condition operators, set operators, missing keys and policy variables, as AWS documents them."""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from typing import Any

import pytest

from labkit.policy import Principal, Request, evaluate

A = "111122223333"
BUCKET = "arn:aws:s3:::data"


def allowed(
    condition: dict[str, Any],
    context: dict[str, Any] | None = None,
    *,
    principal: Principal | None = None,
    resource: str = f"{BUCKET}/k",
    statement_resource: str = f"{BUCKET}/*",
    version: str | None = "2012-10-17",
) -> bool:
    statement = {
        "Effect": "Allow",
        "Action": "s3:GetObject",
        "Resource": statement_resource,
        "Condition": condition,
    }
    policy: dict[str, Any] = {"Statement": [statement]}
    if version:
        policy["Version"] = version
    request = Request(
        principal or Principal.user(A, "alice"),
        "s3:GetObject",
        resource,
        resource_account=A,
        context=context or {},
    )
    return evaluate(request, identity_policies=[policy]).allowed


TOPIC_T = f"arn:aws:sns:us-east-1:{A}:t"


# -- every operator: a true case, a false case ---------------------------------------------------
CASES = [
    # operator, policy value, request value, expected
    ("StringEquals", "Blue", "Blue", True),
    ("StringEquals", "Blue", "blue", False),
    ("StringNotEquals", "Blue", "Red", True),
    ("StringNotEquals", "Blue", "Blue", False),
    ("StringEqualsIgnoreCase", "Blue", "bLUE", True),
    ("StringEqualsIgnoreCase", "Blue", "Red", False),
    ("StringNotEqualsIgnoreCase", "Blue", "Red", True),
    ("StringNotEqualsIgnoreCase", "Blue", "BLUE", False),
    ("StringLike", "home/*/docs/?.txt", "home/alice/docs/a.txt", True),
    ("StringLike", "home/*", "Home/alice", False),
    ("StringNotLike", "tmp/*", "home/a", True),
    ("StringNotLike", "tmp/*", "tmp/a", False),
    ("NumericEquals", "10", "10.0", True),
    ("NumericEquals", "10", "11", False),
    ("NumericNotEquals", "10", "11", True),
    ("NumericNotEquals", "10", "10", False),
    ("NumericLessThan", "10", "9.5", True),
    ("NumericLessThan", "10", "10", False),
    ("NumericLessThanEquals", "10", "10", True),
    ("NumericLessThanEquals", "10", "11", False),
    ("NumericGreaterThan", "10", "11", True),
    ("NumericGreaterThan", "10", "10", False),
    ("NumericGreaterThanEquals", "10", "10", True),
    ("NumericGreaterThanEquals", "10", "-3", False),
    ("NumericEquals", "10", "ten", False),  # not a number: no match
    ("DateEquals", "2024-05-01T12:00:00Z", "2024-05-01T14:00:00+02:00", True),
    ("DateEquals", "2024-05-01T12:00:00Z", "2024-05-01T12:00:01Z", False),
    ("DateNotEquals", "2024-05-01", "2024-05-02", True),
    ("DateNotEquals", "2024-05-01", "2024-05-01T00:00:00Z", False),
    ("DateLessThan", "2024-06-01T00:00:00Z", "2024-05-31T23:59:59Z", True),
    ("DateLessThan", "2024-06-01T00:00:00Z", "1717200000", False),  # epoch = 2024-06-01
    ("DateLessThanEquals", "1717200000", "2024-06-01T00:00:00Z", True),
    ("DateLessThanEquals", "1717200000", "2024-06-01T00:00:01Z", False),
    ("DateGreaterThan", "2024-01-01", "2024-01-01T00:00:01Z", True),
    ("DateGreaterThan", "2024-01-01", "2023-12-31T23:59:59Z", False),
    ("DateGreaterThanEquals", "2024-01-01T00:00:00.500Z", "2024-01-01T00:00:00.5Z", True),
    ("DateGreaterThanEquals", "2024-01-01", "2023-12-31", False),
    ("DateEquals", "2024-01-01", "not a date", False),
    ("Bool", "true", "true", True),
    ("Bool", "true", "TRUE", True),
    ("Bool", "false", "true", False),
    ("BinaryEquals", base64.b64encode(b"\x00\x01").decode(), b"\x00\x01", True),
    ("BinaryEquals", base64.b64encode(b"\x00\x01").decode(), b"\x00\x02", False),
    ("IpAddress", "203.0.113.0/24", "203.0.113.7", True),
    ("IpAddress", "203.0.113.0/24", "198.51.100.7", False),
    ("IpAddress", "203.0.113.7", "203.0.113.7", True),  # no prefix: /32
    ("IpAddress", "2001:DB8:1234:5678::/64", "2001:db8:1234:5678::1", True),
    ("IpAddress", "2001:DB8:1234:5678::/64", "203.0.113.7", False),
    ("NotIpAddress", "10.0.0.0/8", "203.0.113.7", True),
    ("NotIpAddress", "10.0.0.0/8", "10.1.2.3", False),
    ("ArnEquals", TOPIC_T, TOPIC_T, True),
    ("ArnEquals", TOPIC_T, TOPIC_T[:-1] + "u", False),
    ("ArnLike", "arn:aws:sns:*:111122223333:*", "arn:aws:sns:eu-west-1:111122223333:t", True),
    ("ArnLike", "arn:aws:sns:*:111122223333:*", "arn:aws:sns:eu-west-1:999999999999:t", False),
    ("ArnNotEquals", "arn:aws:sns:*:*:t", "arn:aws:sns:us-east-1:111122223333:u", True),
    ("ArnNotEquals", "arn:aws:sns:*:*:t", "arn:aws:sns:us-east-1:111122223333:t", False),
    ("ArnNotLike", "arn:aws:s3:::logs-*", "arn:aws:s3:::data", True),
    ("ArnNotLike", "arn:aws:s3:::logs-*", "arn:aws:s3:::logs-1", False),
]  # fmt: skip


@pytest.mark.parametrize(("operator", "wanted", "value", "expected"), CASES)
def test_operator(operator: str, wanted: str, value: Any, expected: bool) -> None:
    assert allowed({operator: {"test:Key": wanted}}, {"test:key": value}) is expected


def test_datetime_context_values_and_json_types_in_policies() -> None:
    now = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)
    assert allowed({"DateLessThan": {"aws:CurrentTime": "2025-01-01"}}, {"aws:CurrentTime": now})
    assert allowed({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": True})
    assert allowed({"NumericLessThanEquals": {"s3:max-keys": 10}}, {"s3:max-keys": 7})


def test_arn_like_matches_component_by_component_unlike_string_like() -> None:
    # AWS's own example: StringLike matches, ArnLike does not.
    pattern = "arn:aws:someservice:*:111122223333:finance/*"
    value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/doc.txt"
    assert allowed({"StringLike": {"aws:SourceArn": pattern}}, {"aws:SourceArn": value})
    assert not allowed({"ArnLike": {"aws:SourceArn": pattern}}, {"aws:SourceArn": value})


# -- several values, keys and operators -----------------------------------------------------------
def test_values_are_or_keys_and_operators_are_and() -> None:
    context = {"aws:SourceAccount": A, "aws:SecureTransport": "true"}
    assert allowed({"StringEquals": {"aws:SourceAccount": ["999999999999", A]}}, context)
    both = {"StringEquals": {"aws:SourceAccount": A}, "Bool": {"aws:SecureTransport": "true"}}
    assert allowed(both, context)
    assert not allowed({**both, "Bool": {"aws:SecureTransport": "false"}}, context)
    two_keys = {"StringEquals": {"aws:SourceAccount": A, "aws:SourceVpce": "vpce-1"}}
    assert not allowed(two_keys, context)


def test_negated_operators_with_several_values_must_match_none() -> None:
    condition = {"StringNotEquals": {"aws:PrincipalTag/role": ["audit", "security"]}}
    assert not allowed(condition, {"aws:PrincipalTag/role": "audit"})
    assert allowed(condition, {"aws:PrincipalTag/role": "dev"})


def test_condition_keys_are_case_insensitive_values_are_not() -> None:
    assert allowed({"StringEquals": {"AWS:SOURCEACCOUNT": A}}, {"aws:sourceaccount": A})
    assert not allowed({"StringEquals": {"aws:SourceAccount": "ABC"}}, {"aws:SourceAccount": "abc"})


# -- missing keys, IfExists, Null -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("StringEquals", False),
        ("StringLike", False),
        ("NumericLessThan", False),
        ("DateGreaterThan", False),
        ("Bool", False),
        ("IpAddress", False),
        ("ArnLike", False),
        ("BinaryEquals", False),
        # Negated operators: "the right key is not present, the condition is true".
        ("StringNotEquals", True),
        ("StringNotLike", True),
        ("ArnNotLike", True),
        ("NotIpAddress", True),
        ("NumericNotEquals", True),
        ("DateNotEquals", True),
        # ...IfExists: "If the key is not present, evaluate the condition element as true".
        ("StringEqualsIfExists", True),
        ("ArnLikeIfExists", True),
        ("NumericLessThanIfExists", True),
        ("BoolIfExists", True),
    ],
)
def test_missing_key(operator: str, expected: bool) -> None:
    assert allowed({operator: {"test:Missing": "1"}}, {}) is expected


def test_if_exists_still_checks_a_present_key() -> None:
    assert allowed({"StringEqualsIfExists": {"ec2:InstanceType": "t3.*"}}, {}) is True
    condition = {"StringLikeIfExists": {"ec2:InstanceType": "t3.*"}}
    assert allowed(condition, {"ec2:InstanceType": "t3.micro"})
    assert not allowed(condition, {"ec2:InstanceType": "m5.large"})


def test_null() -> None:
    assert allowed({"Null": {"aws:TokenIssueTime": "true"}}, {})
    assert not allowed({"Null": {"aws:TokenIssueTime": "true"}}, {"aws:TokenIssueTime": "x"})
    assert allowed({"Null": {"aws:TokenIssueTime": "false"}}, {"aws:TokenIssueTime": "x"})
    assert not allowed({"Null": {"aws:TokenIssueTime": "false"}}, {})
    assert allowed({"Null": {"aws:TagKeys": "true"}}, {"aws:TagKeys": []})  # empty is null


def test_unknown_or_misused_operators_make_the_statement_not_apply() -> None:
    for operator in ("StringEqualz", "ForSomeValues:StringEquals", "NullIfExists", "IfExists"):
        assert not allowed({operator: {"aws:SourceAccount": A}}, {"aws:SourceAccount": A})


# -- multivalued keys: ForAllValues / ForAnyValue -------------------------------------------------
def test_for_all_values() -> None:
    condition = {"ForAllValues:StringEquals": {"aws:TagKeys": ["Department", "CostCenter"]}}
    assert allowed(condition, {"aws:TagKeys": ["Department"]})
    assert allowed(condition, {"aws:TagKeys": ["Department", "CostCenter"]})
    assert not allowed(condition, {"aws:TagKeys": ["Department", "Environment"]})
    # "It also returns true if there are no context keys in the request" (or an empty set).
    assert allowed(condition, {})
    assert allowed(condition, {"aws:TagKeys": []})
    # The documented guard: Null false.
    guarded = {**condition, "Null": {"aws:TagKeys": "false"}}
    assert not allowed(guarded, {})
    assert allowed(guarded, {"aws:TagKeys": ["Department"]})


def test_for_any_value() -> None:
    condition = {"ForAnyValue:StringLike": {"aws:TagKeys": "Cost*"}}
    assert allowed(condition, {"aws:TagKeys": ["Owner", "CostCenter"]})
    assert not allowed(condition, {"aws:TagKeys": ["Owner"]})
    assert not allowed(condition, {})  # a missing key: false
    assert not allowed(condition, {"aws:TagKeys": []})  # an empty set: false
    assert allowed({"ForAnyValue:StringLikeIfExists": {"aws:TagKeys": "Cost*"}}, {})


def test_negated_set_operators() -> None:
    condition = {"ForAllValues:StringNotEquals": {"aws:TagKeys": ["Secret"]}}
    assert allowed(condition, {"aws:TagKeys": ["Owner", "Team"]})
    assert not allowed(condition, {"aws:TagKeys": ["Owner", "Secret"]})
    any_not = {"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["Secret"]}}
    assert allowed(any_not, {"aws:TagKeys": ["Owner", "Secret"]})
    assert not allowed(any_not, {"aws:TagKeys": ["Secret"]})


# -- policy variables -----------------------------------------------------------------------------
ALICE = Principal.user(A, "alice", unique_id="AIDAEXAMPLE", tags={"team": "blue"})


def test_username_in_resource() -> None:
    home = f"{BUCKET}/home/${{aws:username}}/*"
    assert allowed({}, principal=ALICE, resource=f"{BUCKET}/home/alice/a", statement_resource=home)
    assert not allowed(
        {}, principal=ALICE, resource=f"{BUCKET}/home/bob/a", statement_resource=home
    )


def test_userid_and_principal_tag_in_resource_and_conditions() -> None:
    assert allowed(
        {"StringEquals": {"s3:ExistingObjectTag/owner": "${aws:userid}"}},
        {"s3:ExistingObjectTag/owner": "AIDAEXAMPLE"},
        principal=ALICE,
    )
    tagged = f"{BUCKET}/${{aws:PrincipalTag/team}}/*"
    assert allowed({}, principal=ALICE, resource=f"{BUCKET}/blue/x", statement_resource=tagged)
    assert not allowed({}, principal=ALICE, resource=f"{BUCKET}/red/x", statement_resource=tagged)


def test_a_variable_without_a_value() -> None:
    untagged = Principal.user(A, "eve")
    tagged = f"{BUCKET}/${{aws:PrincipalTag/team}}/*"
    # In a Resource: matches no resource.
    assert not allowed({}, principal=untagged, resource=f"{BUCKET}/x/y", statement_resource=tagged)
    # Roles have no aws:username.
    session = Principal.role_session(A, "app", "s1")
    home = f"{BUCKET}/home/${{aws:username}}/*"
    assert not allowed({}, principal=session, resource=f"{BUCKET}/home//a", statement_resource=home)
    # In a condition: positive operators do not match, negated ones do.
    context = {"s3:ExistingObjectTag/team": "blue"}
    equal = {"StringEquals": {"s3:ExistingObjectTag/team": "${aws:PrincipalTag/team}"}}
    not_equal = {"StringNotEquals": {"s3:ExistingObjectTag/team": "${aws:PrincipalTag/team}"}}
    assert not allowed(equal, context, principal=untagged)
    assert allowed(not_equal, context, principal=untagged)
    assert allowed(equal, context, principal=ALICE)
    assert not allowed(not_equal, context, principal=ALICE)


def test_default_values() -> None:
    resource = f"{BUCKET}-${{aws:PrincipalTag/team, 'company-wide'}}/*"
    untagged = Principal.user(A, "eve")
    assert allowed(
        {},
        principal=untagged,
        resource="arn:aws:s3:::data-company-wide/x",
        statement_resource=resource,
    )
    assert allowed(
        {}, principal=ALICE, resource="arn:aws:s3:::data-blue/x", statement_resource=resource
    )
    assert not allowed(
        {},
        principal=ALICE,
        resource="arn:aws:s3:::data-company-wide/x",
        statement_resource=resource,
    )
    quoted = {"StringEquals": {"test:Key": "${test:Nothing, 'it''s'}"}}
    assert allowed(quoted, {"test:Key": "it's"})


def test_special_characters_and_literal_substitution() -> None:
    # ${*} is a literal asterisk, not a wildcard.
    star = {"StringLike": {"test:Key": "a${*}b"}}
    assert allowed(star, {"test:Key": "a*b"})
    assert not allowed(star, {"test:Key": "axxb"})
    assert allowed({"StringLike": {"test:Key": "what${?}"}}, {"test:Key": "what?"})
    assert allowed({"StringEquals": {"test:Key": "cost${$}"}}, {"test:Key": "cost$"})
    # A substituted value is literal even if it holds wildcard characters.
    odd = Principal.user(A, "a*")
    home = f"{BUCKET}/home/${{aws:username}}/*"
    assert not allowed({}, principal=odd, resource=f"{BUCKET}/home/ab/x", statement_resource=home)
    assert allowed({}, principal=odd, resource=f"{BUCKET}/home/a*/x", statement_resource=home)


def test_any_context_key_as_a_variable_and_cognito_sub() -> None:
    sub = "us-east-1:0f0e-1234"
    session = Principal.role_session(A, "Cognito_Auth", "CognitoIdentityCredentials")
    home = f"{BUCKET}/private/${{cognito-identity.amazonaws.com:sub}}/*"
    context = {"cognito-identity.amazonaws.com:sub": sub}
    assert allowed(
        {},
        context,
        principal=session,
        resource=f"{BUCKET}/private/{sub}/a",
        statement_resource=home,
    )
    assert not allowed(
        {},
        context,
        principal=session,
        resource=f"{BUCKET}/private/other/a",
        statement_resource=home,
    )
    source = {"ArnEquals": {"test:Expected": "${aws:SourceArn}"}}
    topic = f"arn:aws:sns:us-east-1:{A}:t"
    assert allowed(source, {"aws:SourceArn": topic, "test:Expected": topic})


def test_multivalued_keys_are_not_substituted() -> None:
    condition = {"StringEquals": {"test:Key": "${aws:TagKeys}"}}
    assert not allowed(condition, {"aws:TagKeys": ["x"], "test:Key": "x"})


def test_version_2008_or_none_reads_variables_literally() -> None:
    home = f"{BUCKET}/home/${{aws:username}}/*"
    for version in ("2008-10-17", None):
        assert not allowed(
            {}, principal=ALICE, resource=f"{BUCKET}/home/alice/a", statement_resource=home,
            version=version,
        )  # fmt: skip
        assert allowed(
            {}, principal=ALICE, resource=f"{BUCKET}/home/${{aws:username}}/a",
            statement_resource=home, version=version,
        )  # fmt: skip


def test_variables_are_not_expanded_for_numeric_operators() -> None:
    condition = {"NumericEquals": {"s3:max-keys": "${test:Limit}"}}
    assert not allowed(condition, {"s3:max-keys": "5", "test:Limit": "5"})
