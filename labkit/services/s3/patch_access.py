"""Who may read an S3 object: bucket policies evaluated for a principal, as S3 does.

moto evaluates a bucket policy without looking at the ``Principal`` element: any ``Allow``
statement that matches the action makes an anonymous ``GET`` succeed. So the policy that origin
access control (OAC) asks for, "allow ``cloudfront.amazonaws.com`` when ``AWS:SourceArn`` is my
distribution", makes the bucket public in stock moto. This module evaluates statements for a
given principal and request context
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-auth-workflow-object-operation.html,
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html):

- an explicit ``Deny`` that applies wins;
- otherwise an ``Allow`` that applies grants;
- otherwise an anonymous request is allowed only by an object ACL that grants public read.

It also patches moto's anonymous object reads to use it (:func:`anonymous_reads_checked`). Signed
requests from the bucket owner's account are left to moto, as IAM would allow them on AWS.
Supported condition operators: the ``String*``, ``Arn*`` and ``Bool`` families, with
``...IfExists``; a statement with any other operator never applies.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from typing import Any
from uuid import uuid4

from moto.s3.responses import S3Response


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


ANONYMOUS = Principal("anonymous")
CLOUDFRONT_SERVICE = Principal("service", "cloudfront.amazonaws.com")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


@lru_cache(maxsize=256)
def _parse(policy: bytes | str) -> tuple[dict[str, Any], ...]:
    try:
        document = json.loads(policy)
    except (ValueError, TypeError):
        return ()
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    return tuple(s for s in _as_list(statements) if isinstance(s, dict))


def _principal_matches(element: Any, principal: Principal) -> bool:
    if element == "*":
        return True
    if not isinstance(element, dict):
        return False
    for kind, values in element.items():
        listed = [str(v) for v in _as_list(values)]
        if kind == "AWS" and "*" in listed:
            return True
        if kind == "Service" and principal.kind == "service" and principal.value in listed:
            return True
        if kind == "AWS" and principal.kind == "aws" and principal.value in listed:
            return True
    return False


def _any_match(patterns: Any, value: str, *, case: bool) -> bool:
    for pattern in _as_list(patterns):
        text = str(pattern)
        if case:
            if fnmatch.fnmatchcase(value, text):
                return True
        elif fnmatch.fnmatchcase(value.lower(), text.lower()):
            return True
    return False


def _condition_holds(operator: str, key: str, expected: Any, context: Mapping[str, str]) -> bool:
    if_exists = operator.endswith("IfExists")
    op = operator[: -len("IfExists")] if if_exists else operator
    actual = context.get(key.lower())
    if actual is None:
        return if_exists or op.startswith(("StringNot", "ArnNot"))
    wanted = [str(v) for v in _as_list(expected)]
    if op == "StringEquals":
        return actual in wanted
    if op == "StringNotEquals":
        return actual not in wanted
    if op == "StringEqualsIgnoreCase":
        return actual.lower() in (w.lower() for w in wanted)
    if op == "StringNotEqualsIgnoreCase":
        return actual.lower() not in (w.lower() for w in wanted)
    if op in ("StringLike", "ArnLike", "ArnEquals"):
        return any(fnmatch.fnmatchcase(actual, w) for w in wanted)
    if op in ("StringNotLike", "ArnNotLike", "ArnNotEquals"):
        return not any(fnmatch.fnmatchcase(actual, w) for w in wanted)
    if op == "Bool":
        return actual.lower() in (w.lower() for w in wanted)
    return False  # an operator labkit does not evaluate: the statement does not apply


def _applies(
    statement: Mapping[str, Any],
    action: str,
    resource: str,
    principal: Principal,
    context: Mapping[str, str],
) -> bool:
    if "Principal" in statement:
        if not _principal_matches(statement["Principal"], principal):
            return False
    elif "NotPrincipal" in statement:
        if _principal_matches(statement["NotPrincipal"], principal):
            return False
    else:
        return False  # a resource policy statement names its principal
    if "Action" in statement:
        if not _any_match(statement["Action"], action, case=False):
            return False
    elif "NotAction" in statement and _any_match(statement["NotAction"], action, case=False):
        return False
    if "Resource" in statement:
        if not _any_match(statement["Resource"], resource, case=True):
            return False
    elif "NotResource" in statement and _any_match(statement["NotResource"], resource, case=True):
        return False
    conditions = statement.get("Condition") or {}
    if not isinstance(conditions, dict):
        return False
    for operator, pairs in conditions.items():
        if not isinstance(pairs, dict):
            return False
        for key, expected in pairs.items():
            if not _condition_holds(str(operator), str(key), expected, context):
                return False
    return True


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
    lowered = {k.lower(): v for k, v in (context or {}).items()}
    allowed = False
    for statement in _parse(policy):
        if not _applies(statement, action, resource, principal, lowered):
            continue
        if statement.get("Effect") == "Deny":
            return Decision.DENY
        if statement.get("Effect") == "Allow":
            allowed = True
    return Decision.ALLOW if allowed else Decision.NEUTRAL


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


def anonymous_may_read(bucket: Any, key: Any, resource: str, *, https: bool) -> Decision:
    """Whether an unsigned request may read an object: the policy, then the object's ACL."""
    decision = decide(
        bucket.policy,
        "s3:GetObject",
        resource,
        ANONYMOUS,
        {"aws:SecureTransport": "true" if https else "false"},
    )
    if decision is Decision.DENY:
        return decision
    if decision is Decision.ALLOW and not public_policy_restricted(bucket):
        return decision
    acl = getattr(key, "acl", None)
    if key is not None and acl is not None and acl.public_read:
        return Decision.ALLOW
    return Decision.DENY


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
    "Decision",
    "Principal",
    "access_denied",
    "anonymous_may_read",
    "anonymous_reads_checked",
    "decide",
    "public_policy_restricted",
]
