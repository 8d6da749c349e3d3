"""Who may read an S3 object: bucket policies evaluated for a principal, as S3 does.

moto evaluates a bucket policy without looking at the ``Principal`` element: any ``Allow``
statement that matches the action makes an anonymous ``GET`` succeed. So the policy that origin
access control (OAC) asks for, "allow ``cloudfront.amazonaws.com`` when ``AWS:SourceArn`` is my
distribution", makes the bucket public in stock moto. This module asks the one policy engine
(:func:`labkit.policy.evaluate`) instead, for a given principal and request context
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-auth-workflow-object-operation.html,
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html):

- an explicit ``Deny`` that applies wins;
- otherwise an ``Allow`` that applies grants;
- otherwise an anonymous request is allowed only by an object ACL that grants public read.

It also patches moto's anonymous object reads to use it (:func:`anonymous_reads_checked`). Signed
requests from the bucket owner's account are left to moto, as IAM would allow them on AWS.
:func:`explain` and :func:`read_answer` say why, in the engine's words.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any
from uuid import uuid4

from moto.s3.responses import S3Response

from labkit import policy as engine

#: How explanations name a bucket policy.
POLICY_NAME = "the bucket's policy"
_ACCOUNT_ID = re.compile(r"\d{12}")


class Decision(Enum):
    """What a policy says about a request."""

    ALLOW = "allow"
    DENY = "deny"
    NEUTRAL = "neutral"


@dataclass(frozen=True)
class Principal:
    """Who is asking.

    Attributes:
        kind: ``anonymous``, ``service`` (an AWS service principal) or ``aws`` (an IAM ARN or
            account).
        value: The service name (``cloudfront.amazonaws.com``) or ARN.
    """

    kind: str
    value: str = ""

    def as_engine_principal(self) -> engine.Principal:
        """The same caller in the engine's terms."""
        if self.kind == "anonymous":
            return engine.Principal.anonymous()
        if self.kind == "service":
            return engine.Principal.service(self.value)
        if _ACCOUNT_ID.fullmatch(self.value):
            return engine.Principal.root(self.value)
        account = engine.arn_account(self.value)
        if self.value.endswith(":root") and _ACCOUNT_ID.fullmatch(account):
            return engine.Principal.root(account)
        # An IAM user, or CloudFront's origin access identity (``arn:aws:iam::cloudfront:user/
        # CloudFront Origin Access Identity E2``): a principal the bucket policy names by ARN.
        # No account: the bucket policy's grant is the whole answer for it here.
        return engine.Principal("user", arn=self.value, name=self.value.rsplit("/", 1)[-1])


ANONYMOUS = Principal("anonymous")
CLOUDFRONT_SERVICE = Principal("service", "cloudfront.amazonaws.com")


@dataclass(frozen=True)
class ReadAnswer:
    """Whether a read is allowed, and why, in a sentence.

    Attributes:
        decision: ``ALLOW`` or ``DENY`` (an object read has no neutral outcome).
        reason: Why, naming the deciding statement or the object's ACL.
    """

    decision: Decision
    reason: str


def explain(
    policy: bytes | str | None,
    action: str,
    resource: str,
    principal: Principal,
    context: Mapping[str, str] | None = None,
) -> engine.Decision:
    """The engine's decision for ``principal`` doing ``action`` on ``resource`` under a bucket
    policy (``None`` for none), with every statement's verdict."""
    request = engine.Request(
        principal.as_engine_principal(), action, resource, context=dict(context or {})
    )
    document = engine.load_policy(policy, name=POLICY_NAME) if policy else None
    return engine.evaluate(request, resource_policy=document)


def decide(
    policy: bytes | str | None,
    action: str,
    resource: str,
    principal: Principal,
    context: Mapping[str, str] | None = None,
) -> Decision:
    """What a bucket policy says about ``principal`` doing ``action`` on ``resource``.

    Args:
        policy: The bucket policy document (JSON), or ``None``.
        action: E.g. ``s3:GetObject``.
        resource: E.g. ``arn:aws:s3:::bucket/key``.
        principal: Who asks.
        context: Condition keys (any case) and their values, e.g. ``{"aws:SourceArn": ...}``.
    """
    if not policy:
        return Decision.NEUTRAL
    return Decision(explain(policy, action, resource, principal, context).verdict("resource"))


def public_policy_restricted(bucket: Any) -> bool:
    """Whether Block Public Access's ``RestrictPublicBuckets`` is on for ``bucket``: then only
    AWS service principals and the owner's account benefit from a public policy."""
    block = getattr(bucket, "public_access_block", None)
    return bool(block is not None and getattr(block, "restrict_public_buckets", False))


def access_denied(resource: str = "") -> tuple[int, dict[str, str], bytes]:
    """S3's ``AccessDenied`` error response."""
    request_id = uuid4().hex[:16].upper()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<Error><Code>AccessDenied</Code><Message>Access Denied</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>{uuid4().hex}</HostId></Error>"
    ).encode()
    return 403, {"Content-Type": "application/xml", "x-amz-request-id": request_id}, body


def read_answer(
    bucket: Any,
    key: Any,
    resource: str,
    principal: Principal = ANONYMOUS,
    context: Mapping[str, str] | None = None,
    *,
    https: bool = True,
) -> ReadAnswer:
    """Whether ``principal`` may ``GET`` an object of ``bucket`` (moto's), and why: the bucket
    policy, then (for an anonymous caller) Block Public Access and the object's ACL."""
    keys = {"aws:SecureTransport": "true" if https else "false", **(context or {})}
    decision = explain(bucket.policy, "s3:GetObject", resource, principal, keys)
    verdict = decision.verdict("resource") if bucket.policy else "neutral"
    if verdict == "deny":
        return ReadAnswer(Decision.DENY, decision.reason)
    if verdict == "allow":
        if principal != ANONYMOUS or not public_policy_restricted(bucket):
            return ReadAnswer(Decision.ALLOW, decision.reason)
        why = (
            f"{decision.reason[:-1]}, but Block Public Access (RestrictPublicBuckets) keeps a "
            "public policy from anonymous callers"
        )
    else:
        why = decision.reason[:-1] if decision.reason.endswith(".") else decision.reason
    if principal != ANONYMOUS:
        return ReadAnswer(Decision.DENY, why + ".")
    acl = getattr(key, "acl", None)
    if key is not None and acl is not None and acl.public_read:
        return ReadAnswer(Decision.ALLOW, "The object's ACL grants public read.")
    return ReadAnswer(Decision.DENY, why + "; and the object's ACL does not grant public read.")


def anonymous_may_read(bucket: Any, key: Any, resource: str, *, https: bool) -> Decision:
    """Whether an unsigned request may read an object: the policy, then the object's ACL."""
    return read_answer(bucket, key, resource, ANONYMOUS, https=https).decision


@contextmanager
def anonymous_reads_checked() -> Iterator[None]:
    """Make moto evaluate bucket policies for unsigned ``GET``/``HEAD`` object requests with the
    anonymous principal (and deny what S3 would deny), while the ``with`` block runs."""
    original = S3Response._key_response

    def key_response(self: S3Response, request: Any, full_url: str) -> Any:
        signed = "Authorization" in request.headers or "Signature=" in full_url
        if request.method in ("GET", "HEAD") and not signed:
            bucket_name = self.parse_bucket_name_from_url(request, full_url)
            bucket = self.backend.buckets.get(bucket_name)
            if bucket is not None and bucket.policy:
                key_name = self.parse_key_name()
                key = bucket.keys.get(key_name) if key_name in bucket.keys else None
                resource = f"arn:{bucket.partition}:s3:::{bucket_name}/{key_name}"
                decision = anonymous_may_read(
                    bucket, key, resource, https=full_url.startswith("https")
                )
                if decision is not Decision.ALLOW:
                    return access_denied(resource)
        return original(self, request, full_url)

    S3Response._key_response = key_response  # type: ignore[method-assign]
    try:
        yield
    finally:
        S3Response._key_response = original  # type: ignore[method-assign]


__all__ = [
    "ANONYMOUS",
    "CLOUDFRONT_SERVICE",
    "POLICY_NAME",
    "Decision",
    "Principal",
    "ReadAnswer",
    "access_denied",
    "anonymous_may_read",
    "anonymous_reads_checked",
    "decide",
    "explain",
    "public_policy_restricted",
    "read_answer",
]
