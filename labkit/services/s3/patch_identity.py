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
- ``DeleteObjects`` is decided key by key (a refused key comes back as an ``AccessDenied``
  error of the response, the others are deleted);
- expired credentials get ``ExpiredToken`` ("The provided token has expired."), and issued
  credentials that no longer exist (after ``lab.reset()``) ``InvalidAccessKeyId``, never the
  owner's rights.

Requests signed with any other credentials, and unsigned ones, are left as they were.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from moto.iam.access_control import PermissionResult
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


def _signer(response: Any) -> signers.Signer | None:
    """Who signed the request ``response`` handles, if the sandbox issued the credentials."""
    url = getattr(response, "uri", "") or ""
    signer = signers.signer_of(response.headers, url)
    if signer is None:
        if signers.forgotten(response.headers, url):
            raise InvalidAccessKeyIdError()
        return None
    if signer.expired:
        raise ExpiredTokenError()
    return signer


def evaluate(
    response: Any,
    signer: signers.Signer,
    action: str,
    bucket_name: str | None,
    key_name: str | None,
) -> engine.Decision:
    """The engine's decision for ``signer`` doing ``action`` on a bucket or one of its keys."""
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


def decide(response: Any, bucket_name: str | None, key_name: str | None) -> engine.Decision | None:
    """The engine's decision for the request ``response`` (moto's ``S3Response``) is handling,
    or ``None`` when it was not signed with sandbox-issued temporary credentials."""
    signer = _signer(response)
    if signer is None:
        return None
    moto_action = str(response.data.get("Action") or "")
    action = "s3:" + _IAM_ACTION.get(moto_action, moto_action)
    return evaluate(response, signer, action, bucket_name, key_name)


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Decide S3 requests signed with sandbox-issued credentials while ``sandbox`` runs."""
    del sandbox
    original = S3Response._authenticate_and_authorize_s3_action

    def authorize(
        self: S3Response, bucket_name: str | None = None, key_name: str | None = None
    ) -> None:
        if self.data.get("Action") == "DeleteObject" and key_name is None:
            # DeleteObjects: S3 decides each key (delete_keys below), not the whole request.
            _signer(self)
            original(self, bucket_name=bucket_name, key_name=key_name)
            return
        decision = decide(self, bucket_name, key_name)
        if decision is not None and not decision.allowed:
            if bucket_name:
                raise BucketAccessDeniedError(bucket=bucket_name)
            raise S3AccessDeniedError()
        original(self, bucket_name=bucket_name, key_name=key_name)

    original_delete_keys = S3Response._bucket_response_delete_keys

    def delete_keys(self: S3Response, bucket_name: str, authenticated: bool = True) -> Any:
        signer = _signer(self)
        if signer is None or not authenticated:
            return original_delete_keys(self, bucket_name, authenticated)
        bucket = self.backend.get_bucket(bucket_name)
        moto_permission = bucket.get_permission
        prefix = f"arn:aws:s3:::{bucket_name}/"

        def permission(action: str, resource: str) -> Any:
            # moto asks this once per key of the request; each key gets S3's own answer.
            key = resource[len(prefix) :] if resource.startswith(prefix) else None
            if not evaluate(self, signer, "s3:DeleteObject", bucket_name, key).allowed:
                return PermissionResult.DENIED
            return moto_permission(action, resource)

        bucket.get_permission = permission  # type: ignore[method-assign]
        try:
            return original_delete_keys(self, bucket_name, authenticated)
        finally:
            del bucket.get_permission

    S3Response._authenticate_and_authorize_s3_action = authorize  # type: ignore[method-assign,assignment]
    S3Response._bucket_response_delete_keys = delete_keys  # type: ignore[method-assign]

    def undo() -> None:
        S3Response._authenticate_and_authorize_s3_action = original  # type: ignore[method-assign]
        S3Response._bucket_response_delete_keys = original_delete_keys  # type: ignore[method-assign]

    stack.callback(undo)


__all__ = [
    "ExpiredTokenError",
    "InvalidAccessKeyIdError",
    "decide",
    "evaluate",
    "install",
]
