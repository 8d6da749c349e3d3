"""The policy engine: AWS's evaluation logic (deny wins, who must allow), elements, explanations."""

from __future__ import annotations

import json
from typing import Any

import pytest

from labkit.policy import (
    Decision,
    Policy,
    PolicyError,
    Principal,
    Request,
    evaluate,
    load_policy,
    parse_policy,
)

A = "111122223333"  # the resource's account
B = "444455556666"  # another account
QUEUE = f"arn:aws:sqs:us-east-1:{A}:orders"
TOPIC = f"arn:aws:sns:us-east-1:{A}:events"
ALICE = Principal.user(A, "alice")
BOB = Principal.user(B, "bob")


def doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> dict[str, Any]:
    policy: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        policy["Version"] = version
    return policy


def allow(**extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": QUEUE, **extra}


def deny(**extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": "sqs:SendMessage", "Resource": QUEUE, **extra}


def send(principal: Principal = ALICE, **context: Any) -> Request:
    return Request(principal, "sqs:SendMessage", QUEUE, context=context)


def by_identity(request: Request, *statements: dict[str, Any]) -> Decision:
    return evaluate(request, identity_policies=[doc(*statements)])


def by_resource(request: Request, *statements: dict[str, Any]) -> Decision:
    return evaluate(request, resource_policy=doc(*statements))


# -- deny, allow, default ------------------------------------------------------------------------
def test_default_is_implicit_deny() -> None:
    decision = evaluate(send())
    assert not decision.allowed
    assert decision.kind == "implicit-deny"
    assert decision.deciding == ()


def test_explicit_deny_beats_allow_in_the_same_and_in_another_policy() -> None:
    decision = by_identity(send(), allow(), deny(Sid="NoSend"))
    assert (decision.allowed, decision.kind) == (False, "explicit-deny")
    assert decision.deciding[0].sid == "NoSend"
    assert "`NoSend`" in decision.reason
    # A deny in the resource policy beats an identity allow (and vice versa).
    both = evaluate(
        send(),
        identity_policies=[doc(allow())],
        resource_policy=doc(deny(Principal="*")),
    )
    assert both.kind == "explicit-deny"
    assert both.deciding[0].kind == "resource"


def test_allow_names_the_deciding_statement_by_sid_or_position() -> None:
    decision = by_identity(send(), {**allow(), "Action": "s3:*"}, allow(Sid="Send"))
    assert decision.allowed and decision.kind == "allow"
    assert decision.deciding[0].sid == "Send"
    assert "`Send`" in decision.reason
    unnamed = by_identity(send(), {**allow(), "Action": "s3:*"}, allow())
    assert unnamed.deciding[0].index == 2
    assert "statement 2" in unnamed.reason.lower()


def test_a_decision_is_truthy_only_when_allowed() -> None:
    assert by_identity(send(), allow())
    assert not by_identity(send(), deny())


def test_statement_as_a_single_object_and_policy_as_json_text_or_bytes() -> None:
    text = json.dumps({"Version": "2012-10-17", "Statement": allow()})
    assert evaluate(send(), identity_policies=[text]).allowed
    assert evaluate(send(), identity_policies=[text.encode()]).allowed


# -- Action / Resource / Principal wildcards and their Not* forms -------------------------------
@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        ("sqs:SendMessage", True),
        ("SQS:sendmessage", True),  # actions are case-insensitive
        ("sqs:*", True),
        ("sqs:Send*", True),
        ("sqs:SendMessag?", True),
        ("sqs:Send?", False),
        ("*", True),
        (["sqs:ReceiveMessage", "sqs:Send*"], True),
        ("sqs:ReceiveMessage", False),
        ("sns:SendMessage", False),
    ],
)
def test_action_wildcards(action: Any, allowed: bool) -> None:
    assert by_identity(send(), allow(Action=action)).allowed is allowed


@pytest.mark.parametrize(
    ("resource", "allowed"),
    [
        (QUEUE, True),
        ("*", True),
        (f"arn:aws:sqs:*:{A}:*", True),
        ("arn:aws:sqs:us-east-1:*:ord?rs", True),
        ("arn:aws:sqs:us-east-1:*:ORDERS", False),  # resources are case-sensitive
        ("arn:aws:sqs:us-east-1:*:other", False),
        ("arn:aws:sqs:*", False),  # a wildcard stays within its ARN component
        ([f"arn:aws:sqs:us-east-1:{A}:x", QUEUE], True),
    ],
)
def test_resource_wildcards(resource: Any, allowed: bool) -> None:
    assert by_identity(send(), allow(Resource=resource)).allowed is allowed


def test_resource_part_of_an_arn_may_hold_colons_and_slashes() -> None:
    request = Request(ALICE, "s3:GetObject", "arn:aws:s3:::bucket/a:b/c.txt", resource_account=A)
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"}
    assert evaluate(request, identity_policies=[doc(statement)]).allowed


def test_not_action_and_not_resource() -> None:
    assert by_identity(
        send(), {"Effect": "Allow", "NotAction": "sqs:Delete*", "Resource": "*"}
    ).allowed
    assert not by_identity(
        send(), {"Effect": "Allow", "NotAction": "sqs:Send*", "Resource": "*"}
    ).allowed
    other = f"arn:aws:sqs:us-east-1:{A}:other"
    assert by_identity(send(), {"Effect": "Allow", "Action": "*", "NotResource": other}).allowed
    decision = by_identity(send(), {"Effect": "Allow", "Action": "*", "NotResource": QUEUE})
    assert not decision.allowed
    assert decision.statements[0].failed == "resource"
    # NotAction in a Deny: deny everything except ...
    guard = {"Effect": "Deny", "NotAction": "sqs:ReceiveMessage", "Resource": "*"}
    assert by_identity(send(), allow(), guard).kind == "explicit-deny"


@pytest.mark.parametrize(
    ("principal", "caller", "allowed"),
    [
        ("*", Principal.anonymous(), True),
        ({"AWS": "*"}, Principal.service("sns.amazonaws.com"), True),
        ({"AWS": "*"}, ALICE, True),
        ({"AWS": ALICE.arn}, ALICE, True),
        ({"AWS": [f"arn:aws:iam::{A}:user/carol", ALICE.arn]}, ALICE, True),
        ({"AWS": f"arn:aws:iam::{A}:user/carol"}, ALICE, False),
        ({"AWS": f"arn:aws:iam::{A}:user/*"}, ALICE, False),  # no partial wildcards
        ({"Service": "sns.amazonaws.com"}, Principal.service("sns.amazonaws.com"), True),
        ({"Service": "sns.amazonaws.com"}, Principal.service("s3.amazonaws.com"), False),
        ({"AWS": A}, Principal.service("sns.amazonaws.com"), False),  # an account is not SNS
        ({"AWS": A}, Principal.anonymous(), False),
        ({"CanonicalUser": "abc123"}, Principal("user", canonical_id="abc123"), True),
    ],
)
def test_principal_forms(principal: Any, caller: Principal, allowed: bool) -> None:
    assert by_resource(send(caller), allow(Principal=principal)).allowed is allowed


def test_role_arn_in_a_policy_names_every_session_of_the_role() -> None:
    session = Principal.role_session(A, "app", "task-1")
    assert session.arn == f"arn:aws:sts::{A}:assumed-role/app/task-1"
    assert by_resource(send(session), allow(Principal={"AWS": session.role_arn})).allowed
    assert by_resource(send(session), allow(Principal={"AWS": session.arn})).allowed
    other = Principal.role_session(A, "app", "task-2")
    assert not by_resource(send(other), allow(Principal={"AWS": session.arn})).allowed


def test_not_principal_in_a_deny_denies_everyone_else() -> None:
    guard = deny(NotPrincipal={"AWS": ALICE.arn})
    assert by_resource(send(ALICE), allow(Principal="*"), guard).allowed
    carol = Principal.user(A, "carol")
    assert by_resource(send(carol), allow(Principal="*"), guard).kind == "explicit-deny"


# -- who must allow: same account, cross account, services, anonymous ---------------------------
def test_same_account_either_identity_or_resource_policy_suffices() -> None:
    assert by_identity(send(), allow()).allowed
    assert by_resource(send(), allow(Principal={"AWS": ALICE.arn})).allowed


def test_same_account_resource_policy_naming_only_the_account_delegates_to_iam() -> None:
    account_only = doc(allow(Sid="Account", Principal={"AWS": A}))
    decision = evaluate(send(), resource_policy=account_only)
    assert not decision.allowed
    assert "delegates" in decision.reason
    assert evaluate(send(), identity_policies=[doc(allow())], resource_policy=account_only).allowed
    # The account's root user is the account: it has full access unless denied.
    assert evaluate(send(Principal.root(A)), resource_policy=account_only).allowed
    assert evaluate(send(Principal.root(A))).allowed
    assert not by_resource(send(Principal.root(A)), deny(Principal="*")).allowed


def test_cross_account_needs_both_sides() -> None:
    grant = doc(allow(Sid="FromB", Principal={"AWS": B}))
    own = doc(allow(Sid="Mine"))
    both = evaluate(send(BOB), identity_policies=[own], resource_policy=grant)
    assert both.allowed
    assert {ref.kind for ref in both.deciding} == {"identity", "resource"}
    resource_only = evaluate(send(BOB), resource_policy=grant)
    assert not resource_only.allowed
    assert "another account" in resource_only.reason and B in resource_only.reason
    identity_only = evaluate(send(BOB), identity_policies=[own])
    assert not identity_only.allowed
    assert "the resource's policy" in identity_only.reason
    # The resource policy must name the other account (or the caller).
    wrong = doc(allow(Principal={"AWS": "999999999999"}))
    assert not evaluate(send(BOB), identity_policies=[own], resource_policy=wrong).allowed


def test_resource_account_for_arns_without_one() -> None:
    bucket_key = "arn:aws:s3:::photos/cat.jpg"
    grant = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/*"}
    same = Request(ALICE, "s3:GetObject", bucket_key)  # owner defaults to the caller's account
    assert evaluate(same, identity_policies=[doc(grant)]).allowed
    other = Request(ALICE, "s3:GetObject", bucket_key, resource_account=B)
    assert not evaluate(other, identity_policies=[doc(grant)]).allowed


def test_anonymous_and_services_only_through_the_resource_policy() -> None:
    anonymous = Principal.anonymous()
    assert by_resource(send(anonymous), allow(Principal="*")).allowed
    lonely = evaluate(send(anonymous), identity_policies=[doc(allow())])
    assert not lonely.allowed
    assert lonely.problems and "no identity-based policies" in lonely.problems[0]
    assert "only a resource policy" in lonely.reason
    sns = Principal.service("sns.amazonaws.com")
    assert not evaluate(send(sns)).allowed


def test_service_principal_with_source_arn_and_source_account() -> None:
    statement = allow(
        Sid="AllowTopic",
        Principal={"Service": "sns.amazonaws.com"},
        Condition={
            "ArnEquals": {"aws:SourceArn": TOPIC},
            "StringEquals": {"aws:SourceAccount": A},
        },
    )
    sns = Principal.service("sns.amazonaws.com")
    ok = send(sns, **{"aws:SourceArn": TOPIC, "aws:SourceAccount": A})
    assert by_resource(ok, statement).allowed
    other = f"arn:aws:sns:us-east-1:{A}:other-topic"
    decision = by_resource(send(sns, **{"aws:SourceArn": other, "aws:SourceAccount": A}), statement)
    assert not decision.allowed
    assert "aws:SourceArn" in decision.reason and TOPIC in decision.reason
    assert decision.notes and "`AllowTopic`" in decision.notes[0]
    wrong_account = send(sns, **{"aws:SourceArn": TOPIC, "aws:SourceAccount": B})
    assert not by_resource(wrong_account, statement).allowed
    assert not by_resource(send(sns), statement).allowed  # no source at all


def test_federated_principal_in_a_trust_policy() -> None:
    cognito = Principal.federated("cognito-identity.amazonaws.com")
    trust = {
        "Effect": "Allow",
        "Principal": {"Federated": "cognito-identity.amazonaws.com"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {"cognito-identity.amazonaws.com:aud": "us-east-1:pool"},
            "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"},
        },
    }
    role = f"arn:aws:iam::{A}:role/cognito-auth"
    ok = Request(
        cognito,
        "sts:AssumeRoleWithWebIdentity",
        role,
        context={
            "cognito-identity.amazonaws.com:aud": "us-east-1:pool",
            "cognito-identity.amazonaws.com:amr": ["authenticated", "cognito-idp"],
        },
    )
    assert evaluate(ok, resource_policy=doc(trust)).allowed
    guest = Request(
        cognito,
        "sts:AssumeRoleWithWebIdentity",
        role,
        context={
            "cognito-identity.amazonaws.com:aud": "us-east-1:pool",
            "cognito-identity.amazonaws.com:amr": ["unauthenticated"],
        },
    )
    assert not evaluate(guest, resource_policy=doc(trust)).allowed


# -- explanations ---------------------------------------------------------------------------------
def test_implicit_deny_explains_the_nearest_miss() -> None:
    decision = evaluate(
        send(),
        identity_policies=[
            load_policy(
                doc(
                    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                    allow(Sid="OnlyHttps", Condition={"Bool": {"aws:SecureTransport": "true"}}),
                ),
                name="identity policy `Writer`",
                kind="identity",
            )
        ],
    )
    assert not decision.allowed
    assert "`OnlyHttps` of identity policy `Writer`" in decision.reason
    assert "aws:SecureTransport" in decision.reason
    failed = {r.ref.index: r.failed for r in decision.statements}
    assert failed == {1: "action", 2: "condition"}


def test_per_statement_reasons_name_the_element_that_failed() -> None:
    sns = Principal.service("sns.amazonaws.com")
    decision = by_resource(
        send(sns),
        allow(Principal={"AWS": A}),
        allow(Principal="*", Resource=f"arn:aws:sqs:us-east-1:{A}:other"),
        allow(Principal="*", Condition={"StringEquals": {"aws:SourceVpce": "vpce-1"}}),
        allow(Principal="*", Condition={"StringEqualz": {"aws:SourceVpce": "vpce-1"}}),
    )
    reasons = [r.reason for r in decision.statements]
    assert [r.failed for r in decision.statements] == [
        "principal",
        "resource",
        "condition",
        "condition",
    ]
    assert "Principal" in reasons[0] and "sns.amazonaws.com" in reasons[0]
    assert "Resource" in reasons[1]
    assert "aws:SourceVpce" in reasons[2] and "StringEquals" in reasons[2]
    assert "StringEqualz" in reasons[3] and "does not define" in reasons[3]


# -- malformed input ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "document",
    [
        "{not json",
        b"\xff\xfe",
        "[1, 2]",
        {"Version": "2012-10-17"},
        {"Version": "2012-10-17", "Statement": "Allow everything"},
        {"Version": "2020-01-01", "Statement": []},
        {"Version": "2012-10-17", "Statement": [42]},
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "allow", "Action": "*", "Resource": "*"}],
        },
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": 7, "Resource": "*"}]},
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]},
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "s3:*", "Resource": "*"}],
        },
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": ["StringEquals"]}
            ],
        },
    ],
)
def test_malformed_policies_never_crash_and_say_why(document: Any) -> None:
    decision = evaluate(send(), identity_policies=[document])
    assert not decision.allowed
    assert decision.problems
    assert "malformed" in decision.problems[0]
    with pytest.raises(PolicyError) as error:
        parse_policy(document, kind="identity")
    assert error.value.message


def test_a_malformed_statement_does_not_hide_the_good_ones() -> None:
    decision = by_identity(send(), {"Effect": "Allow", "Action": ["sqs:*", 3]}, allow(Sid="Ok"))
    assert decision.allowed
    assert "statement 1" in decision.problems[0]
    assert decision.statements[0].failed == "invalid"


def test_principal_in_an_identity_policy_and_none_in_a_resource_policy_are_malformed() -> None:
    assert not by_identity(send(), allow(Principal="*")).allowed
    assert not by_resource(send(), allow()).allowed


def test_parse_policy_normalises() -> None:
    policy = parse_policy(doc(allow(Sid="A", Principal={"AWS": A})), name="the queue's policy")
    assert isinstance(policy, Policy)
    assert policy.name == "the queue's policy"
    statement = policy.statements[0]
    assert statement.action == ("sqs:SendMessage",)
    assert statement.principal == {"AWS": (A,)}
    assert load_policy(policy) is policy


# -- realistic cases, as today's callers meet them ------------------------------------------------
def test_sqs_queue_policy_lets_one_sns_topic_send() -> None:
    queue_policy = load_policy(
        doc(
            {
                "Sid": "AllowTopic",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": QUEUE,
                "Condition": {"ArnEquals": {"aws:SourceArn": TOPIC}},
            }
        ),
        name="the queue's policy",
    )
    sns = Principal.service("sns.amazonaws.com")

    def delivery(topic: str) -> Decision:
        context = {"aws:SourceArn": topic, "aws:SourceAccount": A, "aws:SecureTransport": "true"}
        return evaluate(send(sns, **context), resource_policy=queue_policy)

    ok = delivery(TOPIC)
    assert ok.allowed
    assert ok.reason == "Statement `AllowTopic` of the queue's policy allows it."
    other = delivery(f"arn:aws:sns:us-east-1:{A}:other-topic")
    assert not other.allowed
    assert other.reason.startswith("No statement allows sns.amazonaws.com to sqs:SendMessage")
    assert "`AllowTopic` of the queue's policy" in other.reason
    assert f"aws:SourceArn to equal {TOPIC}" in other.reason


def test_bucket_policy_for_cloudfront_origin_access_control() -> None:
    distribution = f"arn:aws:cloudfront::{A}:distribution/EDFDVBD6EXAMPLE"
    bucket_policy = load_policy(
        doc(
            {
                "Sid": "AllowCloudFrontServicePrincipalReadOnly",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::site-bucket/*",
                "Condition": {"StringEquals": {"AWS:SourceArn": distribution}},
            }
        ),
        name="the bucket's policy",
    )

    def read(principal: Principal, source: str | None) -> Decision:
        context = {"aws:SourceArn": source, "aws:SourceAccount": A} if source else {}
        request = Request(
            principal, "s3:GetObject", "arn:aws:s3:::site-bucket/index.html", A, context
        )
        return evaluate(request, resource_policy=bucket_policy)

    cloudfront = Principal.service("cloudfront.amazonaws.com")
    assert read(cloudfront, distribution).allowed
    assert not read(cloudfront, f"arn:aws:cloudfront::{B}:distribution/OTHER").allowed
    # The policy does not make the bucket public (moto's own evaluator would).
    anonymous = read(Principal.anonymous(), None)
    assert not anonymous.allowed
    assert anonymous.verdict("resource") == "neutral"


def test_lambda_permission_for_s3_with_arn_like_source() -> None:
    function = f"arn:aws:lambda:us-east-1:{A}:function:thumbnail"
    # What `lambda add-permission --principal s3.amazonaws.com --source-arn ...` stores.
    function_policy = load_policy(
        doc(
            {
                "Sid": "s3-invoke",
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "lambda:InvokeFunction",
                "Resource": function,
                "Condition": {
                    "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::uploads-*"},
                    "StringEquals": {"AWS:SourceAccount": A},
                },
            }
        ),
        name="the function's policy",
    )

    def invoke(bucket: str, account: str = A) -> Decision:
        context = {"aws:SourceArn": f"arn:aws:s3:::{bucket}", "aws:SourceAccount": account}
        s3 = Principal.service("s3.amazonaws.com")
        request = Request(s3, "lambda:InvokeFunction", function, context=context)
        return evaluate(request, resource_policy=function_policy)

    assert invoke("uploads-photos").allowed
    assert not invoke("downloads").allowed
    assert not invoke("uploads-photos", account=B).allowed
    sns = Request(Principal.service("sns.amazonaws.com"), "lambda:InvokeFunction", function)
    assert not evaluate(sns, resource_policy=function_policy).allowed
