"""Who signed this request: the role session behind sandbox-issued temporary credentials.

On AWS every signed request carries its access key id (``Credential=ASIA.../date/region/
service/aws4_request`` in the ``Authorization`` header, or ``X-Amz-Credential`` in a presigned
URL), and IAM decides it with the policies of whoever that key belongs to. moto lets every
request through. labkit keeps moto's answer for the learner's own (fake, long-term) credentials,
and for temporary credentials the sandbox itself issued (:func:`issue`: a Cognito identity
pool's ``GetCredentialsForIdentity``; and STS's ``AssumeRole`` family) it says who signed
(:func:`signer_of`), so a service patch can ask the one policy engine with that role's identity
policies, the session policy and the session's context keys
(``cognito-identity.amazonaws.com:sub``, ...).

The credentials are moto's own STS sessions (``sts.get_caller_identity`` with them names the
assumed role, as on AWS); the context keys ride on moto's session object, so ``lab.reset()`` and
a check's isolated world cover them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

from moto.core.base_backend import BackendDict

from labkit import policy as engine
from labkit.policy.document import Policy

_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")
# Every key :func:`issue` ever made in this process. The sessions themselves live on moto's
# objects (reset and isolation remove them); this only lets :func:`forgotten` tell a key that
# no longer exists (after lab.reset(), or from a check's world) from one the learner made up.
_ISSUED: set[str] = set()


@dataclass(frozen=True)
class Signer:
    """The role session behind a request's temporary credentials.

    Attributes:
        access_key_id: The key the request was signed with.
        principal: The session, as the policy engine sees it
            (``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``).
        role_arn: The role's ARN.
        expires_at: When the credentials expire (lab clock).
        context: Request-context keys the session adds (``cognito-identity.amazonaws.com:sub``).
        policies: The role's identity-based policies (inline and attached), named.
        session_policy: The policy passed when the role was assumed, if any: the session may
            do only what both it and the role's policies allow.
    """

    access_key_id: str
    principal: engine.Principal
    role_arn: str
    expires_at: datetime
    context: Mapping[str, str] = field(default_factory=dict)
    policies: tuple[Policy, ...] = ()
    session_policy: Policy | None = None

    @property
    def expired(self) -> bool:
        """Whether the credentials have expired (on the lab clock the process follows)."""
        return time.time() >= self.expires_at.timestamp()


def access_key_of(headers: Mapping[str, Any], url: str = "") -> str | None:
    """The access key id a request was signed with (a SigV4 or SigV2 header, or a presigned
    URL of either), if any."""
    authorization = str(headers.get("Authorization") or headers.get("authorization") or "")
    found = _CREDENTIAL.search(authorization)
    if found:
        return found.group(1)
    if authorization.startswith("AWS "):  # signature version 2: "AWS AKID:signature"
        return authorization[4:].split(":", 1)[0] or None
    query = parse_qs(urlsplit(url).query)
    credential = (query.get("X-Amz-Credential") or [""])[0]
    # A presigned URL: SigV4 names the key in X-Amz-Credential, SigV2 (boto3's default for S3
    # presigning) in AWSAccessKeyId.
    return credential.split("/", 1)[0] or (query.get("AWSAccessKeyId") or [""])[0] or None


def _sts_sessions() -> list[Any]:
    sessions: list[Any] = []
    for backend_dict in list(BackendDict._instances):  # type: ignore[misc]
        if backend_dict.service_name != "sts":
            continue
        for account in list(dict.values(backend_dict)):
            for backend in list(dict.values(account)):
                sessions.extend(getattr(backend, "assumed_roles", []))
    return sessions


def role_policies(role_arn: str) -> tuple[Policy, ...]:
    """The identity policies (inline and the default version of each managed one) of the role
    ``role_arn``; none for a role IAM no longer holds."""
    from moto.iam.models import iam_backends

    account = engine.arn_account(role_arn)
    if account not in iam_backends:
        return ()
    try:
        role = iam_backends[account]["aws"].get_role_by_arn(role_arn)
    except Exception:
        return ()  # a role deleted after the credentials were issued grants nothing
    name = role.name
    found = [
        engine.load_policy(
            document, name=f"inline policy `{policy}` of role {name}", kind="identity"
        )
        for policy, document in role.policies.items()
    ]
    for arn, managed in role.managed_policies.items():
        version = next((v for v in managed.versions if v.is_default), None)
        if version is not None:
            found.append(
                engine.load_policy(version.document, name=f"managed policy {arn}", kind="identity")
            )
    return tuple(found)


def signer_of(headers: Mapping[str, Any], url: str = "") -> Signer | None:
    """The sandbox-issued role session that signed a request, or ``None`` (unsigned, or signed
    with the learner's own credentials, which stay moto's business).

    Sessions of STS (``AssumeRole``, ``AssumeRoleWithWebIdentity``, ...) count too: on AWS they
    carry their role's permissions, narrowed by the session policy passed when assuming it.
    """
    key = access_key_of(headers, url)
    if not key or not key.startswith("ASIA"):
        return None
    for session in _sts_sessions():
        if session.access_key_id != key:
            continue
        _ISSUED.add(key)
        role_name = session.role_arn.rsplit("/", 1)[-1]
        principal = engine.Principal.role_session(
            session.account_id, role_name, session.session_name
        )
        expires = session.expiration
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=timezone.utc)
        inline = getattr(session, "policy", None)
        return Signer(
            key,
            principal,
            session.role_arn,
            expires,
            dict(getattr(session, "labkit_context", {})),
            role_policies(session.role_arn),
            engine.load_policy(inline, name="the session policy", kind="identity")
            if inline
            else None,
        )
    return None


def issue(
    role_arn: str,
    session_name: str,
    duration: int,
    context: Mapping[str, str],
    *,
    region: str = "us-east-1",
) -> Any:
    """New temporary credentials for a session of ``role_arn`` (as STS's
    ``AssumeRoleWithWebIdentity`` makes them), whose requests :func:`signer_of` recognises.

    Returns:
        moto's session object (``access_key_id``, ``secret_access_key``, ``session_token``,
        ``expiration``).
    """
    from moto.sts.models import sts_backends

    account = engine.arn_account(role_arn) or "123456789012"
    backend = sts_backends[account]["aws"]
    session = backend.assume_role_with_web_identity(
        region_name=region,
        role_session_name=session_name,
        role_arn=role_arn,
        policy=None,
        duration=duration,
        external_id=None,
    )
    # On moto's own session object: reset and a check's isolated world cover it.
    session.labkit_context = dict(context)  # type: ignore[attr-defined]
    _ISSUED.add(session.access_key_id)
    return session


def forgotten(headers: Mapping[str, Any], url: str = "") -> bool:
    """Whether a request is signed with credentials the sandbox issued that no longer exist
    (AWS answers ``InvalidAccessKeyId``; they must not fall back to the owner's rights)."""
    key = access_key_of(headers, url)
    return bool(key and key in _ISSUED and signer_of(headers, url) is None)


__all__ = ["Signer", "access_key_of", "forgotten", "issue", "role_policies", "signer_of"]
