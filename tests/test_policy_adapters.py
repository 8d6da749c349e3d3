"""The three readers (SQS queue policies, S3 bucket policies, Lambda function policies) as thin
adapters over labkit.policy: their own cases, run through the real modules, and the places where
the engine is stricter than the old readers because AWS is."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from labkit.services.awslambda import access as lambda_permissions
from labkit.services.s3 import patch_access as s3_access
from labkit.services.sqs import access as sqs_policy

QUEUE = "arn:aws:sqs:us-east-1:123456789012:q"
TOPIC = "arn:aws:sns:us-east-1:123456789012:t"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:f"


# -- SQS -----------------------------------------------------------------------------------------
def _queue_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


SQS_BASE = {"Effect": "Allow", "Principal": "*", "Action": "SQS:SendMessage", "Resource": QUEUE}


@pytest.mark.parametrize(
    ("condition", "allowed"),
    [
        ({"ArnEquals": {"aws:SourceArn": TOPIC}}, True),
        ({"ArnLike": {"AWS:SOURCEARN": "arn:aws:sns:*:123456789012:*"}}, True),
        ({"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:*:other-*"}}, False),
        ({"StringLike": {"aws:SourceArn": "arn:aws:sns:*"}}, True),
        ({"StringEquals": {"aws:SourceAccount": ["111122223333", "123456789012"]}}, True),
        ({"Bool": {"aws:SecureTransport": "true"}}, True),
        ({"StringEquals": {"aws:SourceVpce": "vpce-1"}}, False),
        ({"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}, True),
        ({"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}}, True),
        ({"Null": {"aws:SourceVpce": "true"}}, True),
        ({"ArnNotEquals": {"aws:SourceArn": TOPIC}}, False),
        ({"NumericLessThan": {"aws:SourceAccount": "2"}}, False),
    ],
)
def test_sqs_conditions(condition: dict[str, Any], allowed: bool) -> None:
    request = sqs_policy.sns_delivery_request(QUEUE, TOPIC)
    decision = sqs_policy.evaluate(
        _queue_policy({**SQS_BASE, "Sid": "S", "Condition": condition}), request
    )
    assert decision.allowed is allowed
    assert decision.statement == ("S" if allowed else "")
    assert decision.detail is not None and len(decision.detail.statements) == 1


@pytest.mark.parametrize(
    ("change", "sns", "account"),
    [
        ({"Action": "sqs:*"}, True, True),
        ({"Action": ["sqs:Receive*", "sqs:Send*"]}, True, True),
        ({"Action": "sqs:ReceiveMessage"}, False, True),  # the account's root user: full access
        ({"Action": None, "NotAction": "sqs:DeleteQueue"}, True, True),
        ({"Action": "*", "Resource": "arn:aws:sqs:us-east-1:123456789012:x"}, False, True),
        ({"Action": "*", "Resource": "arn:aws:sqs:*:*:*"}, True, True),
        ({"Principal": {"AWS": "123456789012"}}, False, True),
        ({"Principal": {"Service": "sns.amazonaws.com"}}, True, True),
        ({"Effect": "Deny", "Sid": "No"}, False, False),
    ],
)
def test_sqs_elements(change: dict[str, Any], sns: bool, account: bool) -> None:
    statement = {k: v for k, v in {**SQS_BASE, **change}.items() if v is not None}
    policy = json.dumps(_queue_policy(statement))
    topic = sqs_policy.sns_delivery_request(QUEUE, TOPIC)
    root = sqs_policy.Request(action="sqs:SendMessage", resource=QUEUE, account="123456789012")
    assert sqs_policy.evaluate(policy, topic).allowed is sns
    assert sqs_policy.evaluate(policy, root).allowed is account
    if "Sid" in change:
        assert sqs_policy.evaluate(policy, topic).statement == "No"


def test_sqs_another_account_needs_the_queue_policy_to_name_it() -> None:
    other = sqs_policy.Request(action="sqs:SendMessage", resource=QUEUE, account="444455556666")
    named = {**SQS_BASE, "Principal": {"AWS": "444455556666"}}
    assert sqs_policy.evaluate(_queue_policy(named), other).allowed
    mine = {**SQS_BASE, "Principal": {"AWS": "123456789012"}}
    refused = sqs_policy.evaluate(_queue_policy(mine), other)
    assert not refused.allowed and "444455556666" in refused.reason


def test_sqs_a_request_nobody_signed_is_anonymous() -> None:
    # Neither a service nor an account: a caller with no credentials, whom only a policy naming
    # "*" lets in (never "the root user of account ''").
    anonymous = sqs_policy.Request(action="sqs:SendMessage", resource=QUEUE)
    open_to_all = sqs_policy.evaluate(_queue_policy(SQS_BASE), anonymous)
    assert open_to_all.allowed and open_to_all.statement
    scoped = {**SQS_BASE, "Condition": {"ArnEquals": {"aws:SourceArn": TOPIC}}}
    assert not sqs_policy.evaluate(_queue_policy(scoped), anonymous).allowed
    mine = {**SQS_BASE, "Principal": {"AWS": "123456789012"}}
    assert not sqs_policy.evaluate(_queue_policy(mine), anonymous).allowed


def test_sqs_missing_empty_and_malformed_policies() -> None:
    request = sqs_policy.sns_delivery_request(QUEUE, TOPIC)
    for nothing in (None, "", {"Version": "2012-10-17", "Statement": []}):
        decision = sqs_policy.evaluate(nothing, request)
        assert not decision.allowed and decision.reason == sqs_policy.NO_POLICY
    broken = sqs_policy.evaluate("{not json", request)
    assert not broken.allowed and broken.statement == ""
    assert "not valid JSON" in broken.reason


def test_sqs_explains_the_near_miss() -> None:
    request = sqs_policy.sns_delivery_request(QUEUE, "arn:aws:sns:us-east-1:123456789012:other")
    policy = _queue_policy(
        {**SQS_BASE, "Sid": "AllowTopic", "Condition": {"ArnEquals": {"aws:SourceArn": TOPIC}}}
    )
    decision = sqs_policy.evaluate(policy, request)
    assert not decision.allowed
    assert decision.statement == ""  # sns.py appends its hint when this is empty
    assert "`AllowTopic` of the queue's policy comes closest" in decision.reason
    (note,) = decision.notes
    assert "AllowTopic" in note and "aws:SourceArn" in note and TOPIC in note


# -- S3 ------------------------------------------------------------------------------------------
DISTRIBUTION = "arn:aws:cloudfront::123456789012:distribution/E1"
OAC = {
    "Effect": "Allow",
    "Principal": {"Service": "cloudfront.amazonaws.com"},
    "Action": "s3:GetObject",
    "Resource": "arn:aws:s3:::site/*",
    "Condition": {"StringEquals": {"AWS:SourceArn": DISTRIBUTION}},
}
OAI = "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2"
PUBLIC = {
    "Effect": "Allow",
    "Principal": "*",
    "Action": "s3:GetObject",
    "Resource": "arn:aws:s3:::site/*",
}
HTTPS_ONLY = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": "arn:aws:s3:::site/*",
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
ALLOW, DENY, NEUTRAL = s3_access.Decision.ALLOW, s3_access.Decision.DENY, s3_access.Decision.NEUTRAL


@pytest.mark.parametrize(
    ("statements", "principal", "context", "expected"),
    [
        ([OAC], s3_access.CLOUDFRONT_SERVICE, {"aws:SourceArn": DISTRIBUTION}, ALLOW),
        ([OAC], s3_access.CLOUDFRONT_SERVICE, {"aws:SourceArn": DISTRIBUTION + "X"}, NEUTRAL),
        ([OAC], s3_access.ANONYMOUS, {}, NEUTRAL),
        (
            [{**OAC, "Principal": {"AWS": OAI}, "Condition": {}}],
            s3_access.Principal("aws", OAI),
            {},
            ALLOW,
        ),
        ([PUBLIC], s3_access.ANONYMOUS, {"aws:SecureTransport": "true"}, ALLOW),
        ([PUBLIC, HTTPS_ONLY], s3_access.ANONYMOUS, {"aws:SecureTransport": "false"}, DENY),
        ([PUBLIC, HTTPS_ONLY], s3_access.ANONYMOUS, {"aws:SecureTransport": "true"}, ALLOW),
        ([{**PUBLIC, "Action": "s3:ListBucket"}], s3_access.ANONYMOUS, {}, NEUTRAL),
        (
            [{**PUBLIC, "Principal": {"AWS": "123456789012"}}],
            s3_access.Principal("aws", "arn:aws:iam::123456789012:root"),
            {},
            ALLOW,
        ),
    ],
)
def test_s3_decide(
    statements: list[dict[str, Any]],
    principal: s3_access.Principal,
    context: dict[str, str],
    expected: s3_access.Decision,
) -> None:
    policy = json.dumps({"Version": "2012-10-17", "Statement": statements})
    args = (policy, "s3:GetObject", "arn:aws:s3:::site/index.html", principal)
    assert s3_access.decide(*args, context) is expected
    assert s3_access.decide(None, *args[1:], context) is NEUTRAL


def test_s3_arn_like_matches_component_by_component() -> None:
    # ArnLike matches component by component on AWS; the old reader's fnmatch crossed colons,
    # so "arn:aws:cloudfront::*" let every distribution in. The engine does not.
    arn_like = {**OAC, "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:cloudfront::*"}}}
    policy = json.dumps({"Version": "2012-10-17", "Statement": [arn_like]})
    args = (policy, "s3:GetObject", "arn:aws:s3:::site/a", s3_access.CLOUDFRONT_SERVICE)
    assert s3_access.decide(*args, {"aws:SourceArn": DISTRIBUTION}) is NEUTRAL
    fixed = {**OAC, "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:cloudfront::*:*"}}}
    policy = json.dumps({"Version": "2012-10-17", "Statement": [fixed]})
    assert s3_access.decide(policy, *args[1:], {"aws:SourceArn": DISTRIBUTION}) is ALLOW


def _bucket(*statements: dict[str, Any], restrict: bool = False) -> Any:
    policy = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    block = SimpleNamespace(restrict_public_buckets=restrict)
    return SimpleNamespace(
        policy=policy.encode() if statements else None, public_access_block=block
    )


def _key(public: bool) -> Any:
    return SimpleNamespace(acl=SimpleNamespace(public_read=public))


def test_s3_anonymous_reads_policy_then_block_public_access_then_acl() -> None:
    arn = "arn:aws:s3:::site/a"
    answer = s3_access.read_answer(_bucket(PUBLIC), _key(False), arn)
    assert answer.decision is ALLOW and "Statement 1 of the bucket's policy allows" in answer.reason
    denied = s3_access.read_answer(_bucket(PUBLIC, HTTPS_ONLY), _key(True), arn, https=False)
    assert denied.decision is DENY and "explicit deny" in denied.reason
    restricted = s3_access.read_answer(_bucket(PUBLIC, restrict=True), _key(False), arn)
    assert restricted.decision is DENY and "RestrictPublicBuckets" in restricted.reason
    assert "ACL does not grant public read" in restricted.reason
    by_acl = s3_access.read_answer(_bucket(OAC), _key(True), arn)
    assert by_acl.decision is ALLOW and "ACL grants public read" in by_acl.reason
    nothing = s3_access.read_answer(_bucket(), None, arn)
    assert nothing.decision is DENY and "there is none" in nothing.reason
    assert s3_access.anonymous_may_read(_bucket(OAC), None, arn, https=True) is DENY


def test_s3_origin_access_control_explained() -> None:
    bucket = _bucket(OAC)
    other = DISTRIBUTION.replace("E1", "E9")
    answer = s3_access.read_answer(
        bucket, _key(False), "arn:aws:s3:::site/a", s3_access.CLOUDFRONT_SERVICE,
        {"aws:SourceArn": other},
    )  # fmt: skip
    assert answer.decision is DENY
    assert "comes closest" in answer.reason and other in answer.reason


# -- Lambda --------------------------------------------------------------------------------------
def _fn(*statements: dict[str, Any]) -> Any:
    return SimpleNamespace(
        function_arn=FUNCTION, policy=SimpleNamespace(statements=list(statements))
    )


def _allow(**extra: Any) -> dict[str, Any]:
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": FUNCTION,
    }
    statement.update(extra)
    return statement


@pytest.mark.parametrize(
    ("statement", "allowed"),
    [
        (_allow(), True),
        (_allow(Condition={"ArnLike": {"AWS:SourceArn": TOPIC}}), True),
        (_allow(Condition={"ArnLike": {"AWS:SourceArn": "arn:aws:sns:*:*:t*"}}), True),
        (_allow(Condition={"ArnLike": {"AWS:SourceArn": "arn:aws:sns:*:*:other"}}), False),
        (_allow(Condition={"StringEquals": {"AWS:SourceAccount": "999999999999"}}), False),
        (_allow(Principal={"Service": "s3.amazonaws.com"}), False),
        (_allow(Principal="*"), True),
        (_allow(Action="lambda:GetFunction"), False),
        (_allow(Action=["lambda:GetFunction", "lambda:*"]), True),
        (_allow(Action="lambda:Invoke*"), True),  # the old reader knew only exact actions
        (_allow(Resource=FUNCTION + "-other"), False),  # ... and never read Resource
        (_allow(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), False),
        # an account (as Lambda stores one given to add_permission) is not the SNS service
        (_allow(Principal={"AWS": "arn:aws:iam::123456789012:root"}), False),
    ],
)
def test_lambda_may_invoke(statement: dict[str, Any], allowed: bool) -> None:
    kwargs = {"service": "sns.amazonaws.com", "source_arn": TOPIC, "account_id": "123456789012"}
    fn = _fn(statement)
    assert lambda_permissions.may_invoke(fn, **kwargs) is allowed
    decision = lambda_permissions.invoke_decision(fn, **kwargs)
    assert decision.allowed is allowed and "the function's policy" in decision.reason


def test_lambda_reads_what_the_sandbox_stores(lab: Any) -> None:
    # add_permission through the sandbox (moto's decoding, with labkit's Lambda patch): the
    # statement shape the reader meets, as GetPolicy returns it on AWS.
    from lambda_support import create

    arn = create(lab, "f", "def handler(event, context):\n    return 1\n")
    lam = lab.client("lambda")
    lam.add_permission(
        FunctionName="f",
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::uploads",
        SourceAccount="123456789012",
    )
    lam.add_permission(
        FunctionName="f",
        StatementId="acct",
        Action="lambda:InvokeFunction",
        Principal="444455556666",
    )
    stored = json.loads(lam.get_policy(FunctionName=arn)["Policy"])["Statement"]
    # AWS stores an account principal as its root ARN (moto kept the bare id).
    assert stored[1]["Principal"] == {"AWS": "arn:aws:iam::444455556666:root"}
    from labkit.services.awslambda.patch import lambda_backend

    fn = lambda_backend("123456789012", lab.sandbox.region).get_function("f")
    document = lambda_permissions.policy_document(fn)
    assert document is not None and document["Statement"][1]["Principal"] == stored[1]["Principal"]
    kwargs = {"service": "s3.amazonaws.com", "account_id": "123456789012"}
    assert lambda_permissions.may_invoke(fn, source_arn="arn:aws:s3:::uploads", **kwargs)
    refused = lambda_permissions.invoke_decision(fn, source_arn="arn:aws:s3:::other", **kwargs)
    assert not refused.allowed and "`s3`" in refused.reason and "AWS:SourceArn" in refused.reason
