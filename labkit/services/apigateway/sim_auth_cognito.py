"""A ``COGNITO_USER_POOLS`` authorizer of a REST API, as API Gateway runs it (plain Python).

https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-integrate-with-cognito.html
and https://repost.aws/knowledge-center/api-gateway-cognito-401-unauthorized. For each request
to a method with this authorizer API Gateway:

1. reads the token from the identity source (``method.request.header.Authorization`` unless
   the authorizer names another header); none → 401 ``{"message":"Unauthorized"}``;
2. checks it is a JWT signed by one of the authorizer's user pools (``providerARNs``: the key
   named by ``kid`` in the pool's JWKS, the signature, ``iss``); otherwise 401;
3. checks ``exp`` against the clock (here the lab clock); an expired token gets 401
   ``{"message":"The incoming token has expired"}``;
4. if the authorizer has an ``identityValidationExpression``, matches the token's audience
   (``aud`` of an ID token; ``client_id`` of an access token, which has no ``aud``) against it:
   this is how a REST API's user-pool authorizer is pinned to one app client; no match → 401;
5. without ``authorizationScopes`` on the method, wants an **ID token** (an access token is
   refused, 401); with them, wants an **access token** whose ``scope`` holds at least one of the
   method's scopes (an ID token, or none of the scopes → 401);
6. then, when the API has a resource policy, that policy must explicitly allow the caller
   (the flow for Cognito and a resource policy: deny or silence → 403).

The integration gets the token's claims in ``requestContext.authorizer.claims``, every value a
string as API Gateway passes them (``exp``/``iat`` written like Java's ``Date.toString()``:
``Mon Dec 07 10:08:11 UTC 2026``; a list such as ``cognito:groups`` joined with commas), so a
function can allow ``DELETE`` only to the ``admins`` group.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from labkit.policy.document import Policy
from labkit.services.apigateway.sim_auth import (
    TOKEN_EXPIRED,
    AuthVerdict,
    anonymous_request,
    denied_message,
    verdict_of,
)
from labkit.services.cognitoidp.sim_tokens import (
    MalformedTokenError,
    TokenError,
    TokenExpiredError,
    TrustedPool,
    decode,
    verify,
)

DECIDER = "COGNITO_USER_POOLS"
#: The identity source when the authorizer names none.
DEFAULT_IDENTITY_SOURCE = "method.request.header.Authorization"
_POOL_ARN = re.compile(r"arn:aws[a-z-]*:cognito-idp:(?P<region>[^:]+):\d{12}:userpool/(?P<id>.+)$")
#: Claims API Gateway writes as dates, not epoch seconds.
_DATE_CLAIMS = ("exp", "iat")


@dataclass(frozen=True)
class CognitoAuthorizer:
    """A user-pool authorizer as ``GetAuthorizer`` shows it.

    Attributes:
        id: The authorizer's id.
        name: Its name.
        provider_arns: The user pools whose tokens it accepts.
        identity_source: Where the token is (``method.request.header.<name>``).
        identity_validation_expression: A regular expression the token's audience must match.
    """

    id: str
    name: str
    provider_arns: tuple[str, ...]
    identity_source: str = DEFAULT_IDENTITY_SOURCE
    identity_validation_expression: str | None = None

    @classmethod
    def from_api(cls, authorizer: Mapping[str, Any]) -> CognitoAuthorizer:
        """From ``GetAuthorizer``'s shape (``id``, ``name``, ``providerARNs``, ...)."""
        return cls(
            str(authorizer.get("id", "")),
            str(authorizer.get("name", "")),
            tuple(str(a) for a in authorizer.get("providerARNs") or ()),
            str(authorizer.get("identitySource") or DEFAULT_IDENTITY_SOURCE),
            authorizer.get("identityValidationExpression") or None,
        )

    @property
    def header(self) -> str:
        """The request header that carries the token."""
        source = self.identity_source.split(",")[0].strip()
        prefix = "method.request.header."
        return source[len(prefix) :] if source.startswith(prefix) else "Authorization"

    def pool_ids(self) -> dict[str, str]:
        """``{pool id: provider ARN}`` for the ARNs that name user pools."""
        found: dict[str, str] = {}
        for arn in self.provider_arns:
            m = _POOL_ARN.match(arn)
            if m:
                found[m["id"]] = arn
        return found


def claims_context(claims: Mapping[str, Any]) -> dict[str, str]:
    """The claims as ``requestContext.authorizer.claims`` carries them: every value a string."""
    out: dict[str, str] = {}
    for name, value in claims.items():
        if name in _DATE_CLAIMS and isinstance(value, (int, float)):
            when = datetime.fromtimestamp(value, tz=timezone.utc)
            out[name] = when.strftime("%a %b %d %H:%M:%S UTC %Y")
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            out[name] = ",".join(str(v) for v in value)
        else:
            out[name] = str(value)
    return out


def decide(
    authorizer: CognitoAuthorizer,
    header_value: str | None,
    *,
    pool: Callable[[str], TrustedPool | None],
    scopes: Sequence[str],
    now: float,
    method_arn: str,
    resource_policy: Policy | None = None,
    context_keys: Mapping[str, Any] | None = None,
    owner: str = "",
) -> AuthVerdict:
    """Whether a request with ``header_value`` in the token header gets in, and why.

    Args:
        authorizer: The method's authorizer.
        header_value: The token header as sent (``None`` when absent).
        pool: The trusted pool (issuer and public keys) for a provider ARN, or ``None`` when
            that pool no longer exists.
        scopes: The method's ``authorizationScopes``.
        now: The lab clock (epoch seconds).
        method_arn: The method ARN of the request (for the resource policy).
        resource_policy: The API's resource policy, if it has one.
        context_keys: Condition keys of the request (``aws:SourceIp``, ...).
        owner: The account that owns the API.
    """
    name = f"user-pool authorizer {authorizer.name or authorizer.id}"
    token = (header_value or "").strip()
    if token[:7].lower() == "bearer ":
        # The Cognito guide sends tokens as bearer tokens; the bare token works as well.
        token = token[7:].strip()
    if not token:
        return AuthVerdict.unauthorized(
            DECIDER, f"{name}: no token in the {authorizer.header} header"
        )
    try:
        claims = decode(token).claims
    except MalformedTokenError as exc:
        return AuthVerdict.unauthorized(DECIDER, f"{name}: not a token ({exc.message})")
    issuer = str(claims.get("iss", ""))
    pool_id = issuer.rsplit("/", 1)[-1]
    arn = authorizer.pool_ids().get(pool_id)
    trusted = pool(arn) if arn else None
    if trusted is None:
        return AuthVerdict.unauthorized(
            DECIDER,
            f"{name}: the token was issued by {issuer or 'no issuer'}, which is not one of the "
            f"authorizer's user pools ({', '.join(authorizer.provider_arns) or 'none'})",
        )
    try:
        verified = verify(token, trusted, now=now)
    except TokenExpiredError as exc:
        return AuthVerdict.unauthorized(DECIDER, f"{name}: {exc.message}", message=TOKEN_EXPIRED)
    except TokenError as exc:
        return AuthVerdict.unauthorized(DECIDER, f"{name}: {exc.message}")
    use = verified.get("token_use")
    audience = verified.get("aud") if use == "id" else verified.get("client_id")
    pattern = authorizer.identity_validation_expression
    if pattern and not _matches(pattern, str(audience or "")):
        return AuthVerdict.unauthorized(
            DECIDER,
            f"{name}: the token was issued to app client {audience!r}, which does not match "
            f"the authorizer's identityValidationExpression {pattern!r}",
        )
    refusal = _scope_refusal(name, use, verified, scopes)
    if refusal:
        return AuthVerdict.unauthorized(DECIDER, refusal)
    who = str(verified.get("cognito:username") or verified.get("username") or verified.get("sub"))
    accepted = f"{name} accepted the {use} token of {who}"
    if scopes:
        accepted += f" (scope {verified.get('scope')!r} meets {', '.join(scopes)})"
    # The integration sees the claims alone (no principalId) under requestContext.authorizer.
    fields: dict[str, Any] = {"context": {"claims": claims_context(verified)}}
    if resource_policy is not None:
        request = anonymous_request(method_arn, context_keys or {}, owner)
        verdict, why = verdict_of(resource_policy, request)
        if verdict != "allow":
            return AuthVerdict.forbidden(
                DECIDER,
                f"{accepted}, but {why}: with a user-pool authorizer the resource policy must "
                "explicitly allow",
                denied_message("anonymous", method_arn, explicit=verdict == "deny"),
                **fields,
            )
        accepted += f"; {why}"
    return AuthVerdict.allow(DECIDER, accepted, **fields)


def _scope_refusal(name: str, use: Any, claims: Mapping[str, Any], scopes: Sequence[str]) -> str:
    if not scopes:
        if use != "id":
            return (
                f"{name}: the method has no authorizationScopes, so API Gateway reads the token "
                f"as an ID token, and this is an {use} token"
            )
        return ""
    if use != "access":
        return (
            f"{name}: the method asks for scopes ({', '.join(scopes)}), which only an access "
            f"token carries, and this is an {use} token"
        )
    held = str(claims.get("scope") or "").split()
    if not set(held) & set(scopes):
        return (
            f"{name}: the access token's scopes ({', '.join(held) or 'none'}) include none of "
            f"the method's ({', '.join(scopes)})"
        )
    return ""


def _matches(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:
        return False


__all__ = [
    "DECIDER",
    "DEFAULT_IDENTITY_SOURCE",
    "CognitoAuthorizer",
    "claims_context",
    "decide",
]
