"""Cognito identity pools as AWS runs them: user-pool sign-in or guest access, traded for the
temporary credentials of the pool's authenticated or unauthenticated role.

moto 5.2.5 keeps identity pools but little of what they do: ``SetIdentityPoolRoles`` raises
``NotImplementedError``, ``GetId`` ignores ``Logins`` and guest access (and gives the same user a
new identity every time), and ``GetCredentialsForIdentity`` returns one fixed key for everybody.
This module makes the enhanced (simplified) authflow faithful
(https://docs.aws.amazon.com/cognito/latest/developerguide/authentication-flow.html,
https://docs.aws.amazon.com/cognito/latest/developerguide/role-trust-and-permissions.html):

- ``SetIdentityPoolRoles`` / ``GetIdentityPoolRoles`` keep the ``authenticated`` and
  ``unauthenticated`` role ARNs;
- ``GetId`` with a user-pool ID token in ``Logins`` (key
  ``cognito-idp.<region>.amazonaws.com/<pool-id>``) checks the token as AWS does (signature
  against the user pool's keys, expiry on the lab clock, audience = an app client the identity
  pool lists in ``CognitoIdentityProviders``) and returns the same identity id for the same user
  every time; without ``Logins`` it makes a guest identity, only if the pool allows
  unauthenticated identities;
- ``GetCredentialsForIdentity`` picks the role (authenticated with a valid login for that
  identity, else unauthenticated), checks that the role's trust policy lets
  ``cognito-identity.amazonaws.com`` assume it for this pool (``cognito-identity.amazonaws.com:aud``
  and ``:amr``, asked of the one policy engine), and issues one hour of temporary credentials for
  the session ``CognitoIdentityCredentials`` (:func:`labkit.sandbox.signers.issue`), which the
  sandbox then enforces with the role's policies and
  ``${cognito-identity.amazonaws.com:sub}`` = the identity id.
"""

from __future__ import annotations

import contextlib
import json
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timezone
from typing import TYPE_CHECKING, Any

from moto.cognitoidentity.responses import CognitoIdentityResponse
from moto.core.exceptions import JsonRESTError
from moto.moto_api._internal import mock_random

from labkit import facts
from labkit import policy as engine
from labkit.sandbox import signers
from labkit.services.cognitoidentity.sim_rolemapping import RoleMappingError, choose_role
from labkit.services.cognitoidp.patch import pool_keys
from labkit.services.cognitoidp.sim_tokens import (
    TokenError,
    TokenExpiredError,
    TrustedPool,
    WrongAudienceError,
    decode,
    issuer_url,
    verify,
)

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

PROVIDER = "cognito-identity.amazonaws.com"
#: The role session name AWS gives identity-pool credentials.
SESSION_NAME = "CognitoIdentityCredentials"
_BAD_CONFIG = "Invalid identity pool configuration. Check assigned IAM roles for this pool."


@dataclass(frozen=True)
class Identity:
    """One identity of a pool: a guest, or a user of a login provider.

    Attributes:
        identity_id: ``region:uuid``.
        pool_id: The identity pool.
        provider: The login provider (``cognito-idp.<region>.amazonaws.com/<pool-id>``); ``""``
            for a guest.
        subject: The user's ``sub`` at that provider; ``""`` for a guest.
    """

    identity_id: str
    pool_id: str
    provider: str = ""
    subject: str = ""


def _error(code: str, message: str) -> JsonRESTError:
    return JsonRESTError(code, message)


def _state(pool: Any) -> dict[str, Any]:
    found: dict[str, Any] | None = getattr(pool, "labkit_state", None)
    if found is None:
        found = pool.labkit_state = {"roles": {}, "identities": {}, "by_login": {}}
    return found


def _pools() -> list[Any]:
    from labkit.sandbox.backends import existing_services

    return [
        pool
        for service, _, backend in existing_services()
        if service == "cognito-identity"
        for pool in backend.identity_pools.values()
    ]


def _pool(pool_id: str) -> Any:
    for pool in _pools():
        if pool.identity_pool_id == pool_id:
            return pool
    raise _error("ResourceNotFoundException", f"IdentityPool '{pool_id}' not found.")


def _identity(identity_id: str) -> tuple[Any, Identity]:
    for pool in _pools():
        found = _state(pool)["identities"].get(identity_id)
        if found is not None:
            return pool, found
    raise _error("ResourceNotFoundException", f"Identity '{identity_id}' not found.")


def _user_pool(provider: str) -> Any:
    from labkit.sandbox.backends import existing_services

    host, _, pool_id = provider.partition("/")
    region = host.split(".")[1] if host.count(".") >= 2 else ""
    for service, found_region, backend in existing_services():
        if service == "cognito-idp" and found_region == region and pool_id in backend.user_pools:
            return backend.user_pools[pool_id]
    return None


def check_login(pool: Any, provider: str, token: str) -> dict[str, Any]:
    """The claims of a valid user-pool ID token for ``provider``, checked as the identity pool
    checks it; raises ``NotAuthorizedException`` otherwise."""
    clients = [
        p.get("ClientId")
        for p in pool.cognito_identity_providers or []
        if p.get("ProviderName") == provider
    ]
    user_pool = _user_pool(provider)
    if not clients or user_pool is None:
        raise _error(
            "NotAuthorizedException",
            "Token is not from a supported provider of this identity pool.",
        )
    host, _, pool_id = provider.partition("/")
    trusted = TrustedPool.from_jwks(
        issuer_url(host.split(".")[1], pool_id), pool_keys(user_pool).jwks()
    )
    now = time.time()
    try:
        claims = verify(token, trusted, now=now)
    except TokenExpiredError:
        exp = decode(token).claims.get("exp")
        raise _error(
            "NotAuthorizedException", f"Invalid login token. Token expired: {int(now)} >= {exp}"
        ) from None
    except TokenError as exc:
        raise _error("NotAuthorizedException", f"Invalid login token. {exc}") from None
    if claims.get("token_use") != "id" or "aud" not in claims:
        raise _error("NotAuthorizedException", "Invalid login token. Missing a required claim: aud")
    if claims["aud"] not in clients:
        error = WrongAudienceError("Incorrect token audience.")
        raise _error("NotAuthorizedException", f"Invalid login token. {error}")
    return claims


def _single_login(logins: dict[str, str] | None) -> tuple[str, str] | None:
    if not logins:
        return None
    provider, token = next(iter(logins.items()))
    return provider, token


def get_id(pool_id: str, logins: dict[str, str] | None) -> Identity:
    """``GetId``: the user's identity (the same one every time), or a new guest identity."""
    pool = _pool(pool_id)
    state = _state(pool)
    login = _single_login(logins)
    if login is None:
        if not pool.allow_unauthenticated_identities:
            raise _error(
                "NotAuthorizedException",
                "Unauthenticated access is not supported for this identity pool.",
            )
        found = Identity(f"{pool_id.split(':')[0]}:{mock_random.uuid4()}", pool_id)
    else:
        provider, token = login
        subject = str(check_login(pool, provider, token)["sub"])
        existing = state["by_login"].get((provider, subject))
        if existing is not None:
            return state["identities"][existing]  # type: ignore[no-any-return]
        identity_id = f"{pool_id.split(':')[0]}:{mock_random.uuid4()}"
        found = Identity(identity_id, pool_id, provider, subject)
        state["by_login"][(provider, subject)] = identity_id
    state["identities"][found.identity_id] = found
    return found


def _trust_allows(role_arn: str, pool_id: str, amr: tuple[str, ...], identity_id: str) -> bool:
    from moto.iam.models import iam_backends

    account = engine.arn_account(role_arn)
    try:
        role = iam_backends[account]["aws"].get_role_by_arn(role_arn)
    except Exception:
        return False
    request = engine.Request(
        engine.Principal.federated(PROVIDER),
        "sts:AssumeRoleWithWebIdentity",
        role_arn,
        context={
            f"{PROVIDER}:aud": pool_id,
            f"{PROVIDER}:amr": amr,
            f"{PROVIDER}:sub": identity_id,
        },
    )
    trust = engine.load_policy(role.assume_role_policy_document, name="the role's trust policy")
    return bool(engine.evaluate(request, resource_policy=trust))


def get_credentials(
    identity_id: str,
    logins: dict[str, str] | None,
    region: str,
    custom_role: str | None = None,
) -> Any:
    """``GetCredentialsForIdentity``: temporary credentials of the role this identity gets
    (the authenticated role, or the one the pool's role mapping chooses from the token)."""
    pool, identity = _identity(identity_id)
    roles = _state(pool)["roles"]
    amr: tuple[str, ...]
    if identity.provider:
        login = (logins or {}).get(identity.provider)
        claims = check_login(pool, identity.provider, login) if login is not None else {}
        if claims.get("sub") != identity.subject:
            raise _error(
                "NotAuthorizedException",
                "Logins don't match. Please include at least one valid login for this identity "
                "or identity pool.",
            )
        mapping = (
            _state(pool).get("role_mappings", {}).get(f"{identity.provider}:{claims.get('aud')}")
        )
        try:
            role_arn = choose_role(
                mapping,
                claims,
                authenticated_role=roles.get("authenticated"),
                custom_role=custom_role,
            )
        except RoleMappingError as exc:
            raise _error("AccessDeniedException", exc.message) from None
        amr = ("authenticated", identity.provider)
    else:
        if logins:
            raise _error(
                "NotAuthorizedException",
                "Logins don't match. Please include at least one valid login for this identity "
                "or identity pool.",
            )
        if not pool.allow_unauthenticated_identities:
            raise _error(
                "NotAuthorizedException",
                "Unauthenticated access is not supported for this identity pool.",
            )
        role_arn, amr = roles.get("unauthenticated"), ("unauthenticated",)
    if not role_arn or not _trust_allows(role_arn, identity.pool_id, amr, identity_id):
        raise _error("InvalidIdentityPoolConfigurationException", _BAD_CONFIG)
    return signers.issue(
        role_arn,
        SESSION_NAME,
        int(facts.value("cognito.identity_credentials_validity")),
        {
            f"{PROVIDER}:sub": identity_id,
            f"{PROVIDER}:aud": identity.pool_id,
            f"{PROVIDER}:amr": amr[0],
        },
        region=region,
    )


def _replace(stack: ExitStack, owner: Any, name: str, new: Any) -> None:
    original = owner.__dict__.get(name)
    setattr(owner, name, new)

    def undo() -> None:
        if original is None:
            with contextlib.suppress(AttributeError):
                delattr(owner, name)
        else:
            setattr(owner, name, original)

    stack.callback(undo)


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Answer the identity-pool operations above while ``sandbox`` runs."""
    del sandbox

    def set_identity_pool_roles(self: Any) -> str:
        pool = _pool(self._get_param("IdentityPoolId"))
        roles = dict(self._get_param("Roles") or {})
        unknown = sorted(set(roles) - {"authenticated", "unauthenticated"})
        if unknown:
            raise _error(
                "InvalidParameterException",
                f"Roles keys must be 'authenticated' or 'unauthenticated', not {unknown}.",
            )
        _state(pool)["roles"] = roles
        _state(pool)["role_mappings"] = self._get_param("RoleMappings") or {}
        return ""

    def get_identity_pool_roles(self: Any) -> str:
        pool_id = self._get_param("IdentityPoolId")
        state = _state(_pool(pool_id))
        answer: dict[str, Any] = {"IdentityPoolId": pool_id, "Roles": state["roles"]}
        if state.get("role_mappings"):
            answer["RoleMappings"] = state["role_mappings"]
        return json.dumps(answer)

    def get_id_response(self: Any) -> str:
        found = get_id(self._get_param("IdentityPoolId"), self._get_param("Logins"))
        # moto's own list, so ListIdentities shows it.
        listed = self.backend.pools_identities.get(found.pool_id, {}).get("Identities", [])
        if all(i.get("IdentityId") != found.identity_id for i in listed):
            listed.append({"IdentityId": found.identity_id})
        return json.dumps({"IdentityId": found.identity_id})

    def get_credentials_response(self: Any) -> str:
        identity_id = self._get_param("IdentityId")
        session = get_credentials(
            identity_id,
            self._get_param("Logins"),
            self.region,
            self._get_param("CustomRoleArn"),
        )
        return json.dumps(
            {
                "IdentityId": identity_id,
                "Credentials": {
                    "AccessKeyId": session.access_key_id,
                    "SecretKey": session.secret_access_key,
                    "SessionToken": session.session_token,
                    "Expiration": _epoch(session.expiration),
                },
            }
        )

    _replace(stack, CognitoIdentityResponse, "set_identity_pool_roles", set_identity_pool_roles)
    _replace(stack, CognitoIdentityResponse, "get_identity_pool_roles", get_identity_pool_roles)
    _replace(stack, CognitoIdentityResponse, "get_id", get_id_response)
    _replace(
        stack, CognitoIdentityResponse, "get_credentials_for_identity", get_credentials_response
    )


def _epoch(moment: Any) -> float:
    """Epoch seconds of moto's naive-UTC datetime."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return float(moment.timestamp())


__all__ = [
    "PROVIDER",
    "SESSION_NAME",
    "Identity",
    "check_login",
    "get_credentials",
    "get_id",
    "install",
]
