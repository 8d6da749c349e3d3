"""The three readers labkit has today, re-expressed as thin adapters over labkit.policy.

Each adapter below is what the reader's module would become; the tests run the readers' own
cases through both and check that they agree, and pin down where the engine is stricter because
AWS is (and the old reader was not).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import pytest

from labkit import policy as engine
from labkit.services.awslambda import access as lambda_permissions
from labkit.services.s3 import patch_access as s3_access
from labkit.services.sqs import access as sqs_policy

QUEUE = "arn:aws:sqs:us-east-1:123456789012:q"
TOPIC = "arn:aws:sns:us-east-1:123456789012:t"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:f"


# -- adapters ----------------------------------------------------------------------------------
def sqs_evaluate(policy: Mapping[str, Any] | str | None, request: sqs_policy.Request) -> Any:
    """``sqs_policy.evaluate`` over the engine (same Request in, same Decision fields out)."""
    if not policy:
        return sqs_policy.Decision(
            False, "The queue has no access policy, so nothing may send to it."
        )
    # The old ``account`` meant "some IAM identity of that account, allowed if the queue's
    # policy names the account"; no production caller uses it. The account's root user is
    # what an account principal names, and the queue policy's own verdict is the old answer
    # (for a service principal it is also the engine's full answer).
    principal = (
        engine.Principal.service(request.service)
        if request.service
        else engine.Principal.root(request.account)
    )
    decision = engine.evaluate(
        engine.Request(principal, request.action, request.resource, context=request.context),
        resource_policy=engine.load_policy(policy, name="the queue's policy"),
    )
    verdict = decision.verdict("resource")
    if verdict == "neutral":
        return sqs_policy.Decision(False, decision.reason, "", decision.notes)
    effect = "Deny" if verdict == "deny" else "Allow"
    ref = next(r.ref for r in decision.statements if r.applies and r.effect == effect)
    name = ref.sid or f"statement {ref.index}"
    return sqs_policy.Decision(verdict == "allow", decision.reason, name)


def s3_decide(
    policy: bytes | str | None,
    action: str,
    resource: str,
    principal: s3_access.Principal,
    context: Mapping[str, str] | None = None,
) -> s3_access.Decision:
    """``s3_access.decide`` over the engine: the bucket policy's own verdict."""
    if not policy:
        return s3_access.Decision.NEUTRAL
    caller = {
        "anonymous": engine.Principal.anonymous(),
        "service": engine.Principal.service(principal.value),
    }.get(principal.kind) or engine.Principal("user", arn=principal.value)
    decision = engine.evaluate(
        engine.Request(caller, action, resource, context=dict(context or {})),
        resource_policy=engine.load_policy(policy, name="the bucket's policy"),
    )
    return s3_access.Decision(decision.verdict("resource"))


def lambda_may_invoke(fn: Any, *, service: str, source_arn: str, account_id: str) -> bool:
    """``lambda_permissions.may_invoke`` over the engine, reading moto's ``fn.policy``."""
    statements = list(getattr(getattr(fn, "policy", None), "statements", None) or [])
    if not statements:
        return False
    for statement in statements:
        # moto keeps an account principal given as a bare id as a string; AWS stores
        # {"AWS": "arn:aws:iam::ID:root"}.
        if isinstance(statement.get("Principal"), str) and statement["Principal"] != "*":
            statement = statement | {"Principal": {"AWS": statement["Principal"]}}
    request = engine.Request(
        engine.Principal.service(service),
        "lambda:InvokeFunction",
        getattr(fn, "function_arn", FUNCTION),
        context={"aws:SourceArn": source_arn, "aws:SourceAccount": account_id},
    )
    document = {"Version": "2012-10-17", "Statement": statements}
    return engine.evaluate(request, resource_policy=document).allowed


# -- SQS -----------------------------------------------------------------------------------------
def _queue_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


SQS_BASE = {"Effect": "Allow", "Principal": "*", "Action": "SQS:SendMessage", "Resource": QUEUE}
SQS_CONDITIONS = [
    {"ArnEquals": {"aws:SourceArn": TOPIC}},
    {"ArnLike": {"AWS:SOURCEARN": "arn:aws:sns:*:123456789012:*"}},
    {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:*:other-*"}},
    {"StringLike": {"aws:SourceArn": "arn:aws:sns:*"}},
    {"StringEquals": {"aws:SourceAccount": ["111122223333", "123456789012"]}},
    {"Bool": {"aws:SecureTransport": "true"}},
    {"StringEquals": {"aws:SourceVpce": "vpce-1"}},
    {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}},
    {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}},
    {"Null": {"aws:SourceVpce": "true"}},
    {"ArnNotEquals": {"aws:SourceArn": TOPIC}},
]


@pytest.mark.parametrize("condition", SQS_CONDITIONS)
def test_sqs_adapter_agrees_on_conditions(condition: dict[str, Any]) -> None:
    request = sqs_policy.sns_delivery_request(QUEUE, TOPIC)
    policy = _queue_policy({**SQS_BASE, "Condition": condition})
    old, new = sqs_policy.evaluate(policy, request), sqs_evaluate(policy, request)
    assert (old.allowed, old.statement) == (new.allowed, new.statement)


@pytest.mark.parametrize(
    "change",
    [
        {"Action": "sqs:*"},
        {"Action": ["sqs:Receive*", "sqs:Send*"]},
        {"Action": "sqs:ReceiveMessage"},
        {"Action": None, "NotAction": "sqs:DeleteQueue"},
        {"Action": "*", "Resource": "arn:aws:sqs:us-east-1:123456789012:x"},
        {"Action": "*", "Resource": "arn:aws:sqs:*:*:*"},
        {"Principal": {"AWS": "123456789012"}},
        {"Principal": {"Service": "sns.amazonaws.com"}},
        {"Effect": "Deny", "Sid": "No"},
    ],
)
def test_sqs_adapter_agrees_on_elements(change: dict[str, Any]) -> None:
    statement = {k: v for k, v in {**SQS_BASE, **change}.items() if v is not None}
    policy = json.dumps(_queue_policy(statement))
    for request in (
        sqs_policy.sns_delivery_request(QUEUE, TOPIC),
        sqs_policy.Request(action="sqs:SendMessage", resource=QUEUE, account="123456789012"),
    ):
        old, new = sqs_policy.evaluate(policy, request), sqs_evaluate(policy, request)
        assert (old.allowed, old.statement) == (new.allowed, new.statement)


def test_sqs_adapter_missing_and_malformed_policies() -> None:
    request = sqs_policy.sns_delivery_request(QUEUE, TOPIC)
    assert not sqs_evaluate(None, request).allowed
    broken = sqs_evaluate("{not json", request)
    assert not broken.allowed and broken.statement == ""


def test_sqs_adapter_explains_like_the_old_reader() -> None:
    request = sqs_policy.sns_delivery_request(QUEUE, "arn:aws:sns:us-east-1:123456789012:other")
    policy = _queue_policy(
        {**SQS_BASE, "Sid": "AllowTopic", "Condition": {"ArnEquals": {"aws:SourceArn": TOPIC}}}
    )
    old, new = sqs_policy.evaluate(policy, request), sqs_evaluate(policy, request)
    assert not old.allowed and not new.allowed
    assert old.statement == new.statement == ""  # sns.py appends its hint when this is empty
    assert len(old.notes) == len(new.notes) == 1
    assert "AllowTopic" in new.notes[0] and "aws:SourceArn" in new.notes[0]


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


@pytest.mark.parametrize(
    ("statements", "principal", "context"),
    [
        ([OAC], s3_access.CLOUDFRONT_SERVICE, {"aws:SourceArn": DISTRIBUTION}),
        ([OAC], s3_access.CLOUDFRONT_SERVICE, {"aws:SourceArn": DISTRIBUTION + "X"}),
        ([OAC], s3_access.ANONYMOUS, {}),
        (
            [{**OAC, "Principal": {"AWS": OAI}, "Condition": {}}],
            s3_access.Principal("aws", OAI),
            {},
        ),
        ([PUBLIC], s3_access.ANONYMOUS, {"aws:SecureTransport": "true"}),
        ([PUBLIC, HTTPS_ONLY], s3_access.ANONYMOUS, {"aws:SecureTransport": "false"}),
        ([PUBLIC, HTTPS_ONLY], s3_access.ANONYMOUS, {"aws:SecureTransport": "true"}),
        ([{**PUBLIC, "Action": "s3:ListBucket"}], s3_access.ANONYMOUS, {}),
    ],
)
def test_s3_adapter_agrees(
    statements: list[dict[str, Any]], principal: s3_access.Principal, context: dict[str, str]
) -> None:
    policy = json.dumps({"Version": "2012-10-17", "Statement": statements})
    args = (policy, "s3:GetObject", "arn:aws:s3:::site/index.html", principal)
    old = s3_access.decide(*args, {k.lower(): v for k, v in context.items()})
    assert s3_decide(*args, context) is old


def test_s3_adapter_is_stricter_where_aws_is() -> None:
    # ArnLike matches component by component on AWS; the old reader's fnmatch crossed colons.
    arn_like = {**OAC, "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:cloudfront::*"}}}
    policy = json.dumps({"Version": "2012-10-17", "Statement": [arn_like]})
    args = (policy, "s3:GetObject", "arn:aws:s3:::site/a", s3_access.CLOUDFRONT_SERVICE)
    context = {"aws:SourceArn": DISTRIBUTION}
    assert s3_access.decide(*args, {"aws:sourcearn": DISTRIBUTION}) is s3_access.Decision.ALLOW
    assert s3_decide(*args, context) is s3_access.Decision.NEUTRAL


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


LAMBDA_CASES = [
    _allow(),
    _allow(Condition={"ArnLike": {"AWS:SourceArn": TOPIC}}),
    _allow(Condition={"ArnLike": {"AWS:SourceArn": "arn:aws:sns:*:*:t*"}}),
    _allow(Condition={"ArnLike": {"AWS:SourceArn": "arn:aws:sns:*:*:other"}}),
    _allow(Condition={"StringEquals": {"AWS:SourceAccount": "999999999999"}}),
    _allow(Principal={"Service": "s3.amazonaws.com"}),
    _allow(Principal="*"),
    _allow(Action="lambda:GetFunction"),
    _allow(Action=["lambda:GetFunction", "lambda:*"]),
    _allow(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
]


@pytest.mark.parametrize("statement", LAMBDA_CASES)
def test_lambda_adapter_agrees(statement: dict[str, Any]) -> None:
    kwargs = {"service": "sns.amazonaws.com", "source_arn": TOPIC, "account_id": "123456789012"}
    fn = _fn(statement)
    assert lambda_may_invoke(fn, **kwargs) == lambda_permissions.may_invoke(fn, **kwargs)


def test_lambda_adapter_reads_what_moto_stores() -> None:
    # moto's own add_permission decoding, without a mocked account: the statement shape the
    # adapter will meet (Sid, Principal {"Service": ...}, Condition ArnLike AWS:SourceArn).
    from moto.awslambda.policy import Policy as MotoPolicy

    parent = SimpleNamespace(function_arn=FUNCTION, policy=None)
    moto_policy = MotoPolicy(parent)
    moto_policy.add_statement(
        json.dumps(
            {
                "StatementId": "s3",
                "Action": "lambda:InvokeFunction",
                "Principal": "s3.amazonaws.com",
                "SourceArn": "arn:aws:s3:::uploads",
                "SourceAccount": "123456789012",
            }
        )
    )
    fn = SimpleNamespace(function_arn=FUNCTION, policy=moto_policy)
    kwargs = {"service": "s3.amazonaws.com", "account_id": "123456789012"}
    assert lambda_may_invoke(fn, source_arn="arn:aws:s3:::uploads", **kwargs)
    assert not lambda_may_invoke(fn, source_arn="arn:aws:s3:::other", **kwargs)
