"""S3 requests signed with sandbox-issued temporary credentials, decided as IAM decides them.

moto lets every signed request through (IAM evaluation is off in a sandbox, and the learner's own
credentials stay allowed, as an account's administrator is on AWS). A request signed with
temporary credentials the sandbox issued (a Cognito identity pool's role session, or an STS
``AssumeRole`` session; see :mod:`labkit.sandbox.signers`) is decided here instead, by the one
policy engine, before moto acts on it (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-auth-workflow-object-operation.html):

- the caller is the role session (``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``), its
  identity policies those of the role (inline and attached), the bucket's policy the resource
  policy; an explicit deny wins, else an allow from either grants (same account), else
  ``AccessDenied``; a session policy passed to ``AssumeRole`` must allow it too;
- the request context has the session's keys (``cognito-identity.amazonaws.com:sub`` = the
  identity id, so ``private/${cognito-identity.amazonaws.com:sub}/*`` names the caller's own
  prefix), ``s3:prefix`` and ``s3:delimiter`` of a listing, and ``aws:SecureTransport``;
- the action is IAM's name for the operation (``s3:GetObject`` for GET and HEAD of an object,
  ``s3:ListBucket`` for a listing or HEAD of a bucket, ``s3:PutObject``, ``s3:DeleteObject``, ...);
- expired credentials get ``ExpiredToken`` ("The provided token has expired."), and issued
  credentials that no longer exist (after ``lab.reset()``) ``InvalidAccessKeyId``, never the
  owner's rights.

Requests signed with any other credentials, and unsigned ones, are left as they were.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from moto.s3.exceptions import BucketAccessDeniedError, S3AccessDeniedError, S3ClientError
from moto.s3.responses import S3Response

from labkit import policy as engine
from labkit.sandbox import signers

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

#: moto's action names whose IAM action is another one.
_IAM_ACTION = {"HeadBucket": "ListBucket", "HeadObject": "GetObject"}


class ExpiredTokenError(S3ClientError):
    """S3's answer to a request signed with expired temporary credentials."""

    code = "ExpiredToken"

    def __init__(self) -> None:
        super().__init__("ExpiredToken", "The provided token has expired.")


class InvalidAccessKeyIdError(S3ClientError):
    """S3's answer to a key that does not exist (sandbox-issued credentials after a reset)."""

    code = "InvalidAccessKeyId"

    def __init__(self) -> None:
        super().__init__(
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        )


def decide(response: Any, bucket_name: str | None, key_name: str | None) -> engine.Decision | None:
    """The engine's decision for the request ``response`` (moto's ``S3Response``) is handling,
    or ``None`` when it was not signed with sandbox-issued temporary credentials."""
    url = getattr(response, "uri", "") or ""
    signer = signers.signer_of(response.headers, url)
    if signer is None:
        if signers.forgotten(response.headers, url):
            raise InvalidAccessKeyIdError()
        return None
    if signer.expired:
        raise ExpiredTokenError()
    moto_action = str(response.data.get("Action") or "")
    action = "s3:" + _IAM_ACTION.get(moto_action, moto_action)
    path = f"{bucket_name or '*'}/{key_name}" if key_name else (bucket_name or "*")
    resource = f"arn:aws:s3:::{path}"
    context: dict[str, Any] = dict(signer.context)
    query = getattr(response, "querystring", {}) or {}
    if action == "s3:ListBucket":
        for name in ("prefix", "delimiter"):
            if name in query:
                context[f"s3:{name}"] = query[name][0]
    context["aws:SecureTransport"] = str(getattr(response, "uri", "")).startswith("https")
    bucket = response.backend.buckets.get(bucket_name) if bucket_name else None
    owner = getattr(bucket, "account_id", "") or signer.principal.account
    request = engine.Request(
        signer.principal, action, resource, resource_account=owner, context=context
    )
    policy = getattr(bucket, "policy", None)
    decision = engine.evaluate(
        request,
        identity_policies=signer.policies,
        resource_policy=engine.load_policy(policy, name="the bucket's policy") if policy else None,
    )
    if decision.allowed and signer.session_policy is not None:
        # A session policy narrows the role's permissions: both must allow.
        narrowed = engine.evaluate(request, identity_policies=[signer.session_policy])
        if not narrowed.allowed:
            return narrowed
    return decision


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Decide S3 requests signed with sandbox-issued credentials while ``sandbox`` runs."""
    del sandbox
    original = S3Response._authenticate_and_authorize_s3_action

    def authorize(
        self: S3Response, bucket_name: str | None = None, key_name: str | None = None
    ) -> None:
        decision = decide(self, bucket_name, key_name)
        if decision is not None and not decision.allowed:
            if bucket_name:
                raise BucketAccessDeniedError(bucket=bucket_name)
            raise S3AccessDeniedError()
        original(self, bucket_name=bucket_name, key_name=key_name)

    S3Response._authenticate_and_authorize_s3_action = authorize  # type: ignore[method-assign,assignment]

    def undo() -> None:
        S3Response._authenticate_and_authorize_s3_action = original  # type: ignore[method-assign]

    stack.callback(undo)


__all__ = ["ExpiredTokenError", "InvalidAccessKeyIdError", "decide", "install"]
