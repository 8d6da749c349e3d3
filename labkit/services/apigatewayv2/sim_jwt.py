"""A JWT authorizer of an HTTP API, as API Gateway runs it (plain Python).

https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html: for a
route with a JWT authorizer API Gateway

1. reads the token from the identity source (``$request.header.Authorization``), the token alone
   or after ``Bearer``; none → ``401 {"message":"Unauthorized"}``;
2. decodes it and checks its algorithm (RSA only) and signature with the issuer's JWKS key
   named by ``kid``;
3. checks the claims: ``iss`` equals the authorizer's issuer; ``aud`` (or, only when there is no
   ``aud``, ``client_id``) is one of its audiences; ``exp`` after now; ``nbf`` and ``iat`` before
   now; each failure → 401, with a ``www-authenticate: Bearer ... error="invalid_token"
   error_description="..."`` header saying why
   (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-jwt.html);
4. when the route has ``AuthorizationScopes``, the token's ``scope`` (or ``scp``) must hold at
   least one of them; else ``403 {"message":"Forbidden"}`` (``error="insufficient_scope"``).

A Cognito user pool's ID token carries ``aud`` (the app client); its access token carries
``client_id`` and ``scope`` and no ``aud``, so both pass an authorizer whose audience is the app
client id, and only the access token can meet a route's scopes.

The integration gets ``requestContext.authorizer.jwt``: ``claims`` (values as strings, a list
written ``[a b]``) and ``scopes``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from labkit.services.apigatewayv2.sim_http import AuthorizerSpec, AuthResult, message
from labkit.services.cognitoidp.sim_tokens import (
    BadSignatureError,
    MalformedTokenError,
    TokenError,
    TokenExpiredError,
    TrustedPool,
    UnknownKeyError,
    decode,
    verify,
)

DECIDER = "JWT"


def _refused(status: int, reason: str, description: str, scopes: Sequence[str] = ()) -> AuthResult:
    error = "insufficient_scope" if status == 403 else "invalid_token"
    header = f'Bearer scope="{" ".join(scopes)}" error="{error}" error_description="{description}"'
    text = "Forbidden" if status == 403 else "Unauthorized"
    return AuthResult(False, message(status, text, **{"www-authenticate": header}), reason, DECIDER)


def token_from(source: str, headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The value an identity source (``$request.header.X`` or ``$request.querystring.x``)
    names."""
    if source.startswith("$request.header."):
        wanted = source[len("$request.header.") :].lower()
        return next((v for k, v in headers.items() if k.lower() == wanted), None)
    if source.startswith("$request.querystring."):
        return query.get(source[len("$request.querystring.") :])
    return None


def claims_context(claims: Mapping[str, Any]) -> dict[str, str]:
    """The claims as ``requestContext.authorizer.jwt.claims`` carries them."""
    out: dict[str, str] = {}
    for name, value in claims.items():
        if isinstance(value, (list, tuple)):
            out[name] = "[" + " ".join(str(v) for v in value) + "]"
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        else:
            out[name] = str(value)
    return out


def decide(
    authorizer: AuthorizerSpec,
    token: str | None,
    *,
    jwks: Callable[[str], TrustedPool | None],
    scopes: Sequence[str],
    now: float,
) -> AuthResult:
    """Whether a request carrying ``token`` (the identity source's value) gets in.

    Args:
        authorizer: The route's JWT authorizer.
        token: The identity source's value (``None`` when absent).
        jwks: The issuer's keys for an issuer URL (``None`` when nothing answers there).
        scopes: The route's ``AuthorizationScopes``.
        now: The lab clock (epoch seconds).
    """
    name = f"JWT authorizer {authorizer.name or authorizer.id}"
    text = (token or "").strip()
    if text[:7].lower() == "bearer ":
        text = text[7:].strip()
    if not text:
        reason = f"{name}: no token in {', '.join(authorizer.identity_source)}"
        return AuthResult(False, message(401, "Unauthorized"), reason, DECIDER)
    try:
        decoded = decode(text)
    except MalformedTokenError as exc:
        return _refused(401, f"{name}: not a JWT ({exc.message})", "token is malformed")
    alg = str(decoded.header.get("alg", ""))
    if not alg.startswith("RS"):
        return _refused(
            401, f"{name}: alg {alg!r} (only RSA is accepted)", f"signing method {alg} is invalid"
        )
    claims = decoded.claims
    issuer = authorizer.issuer.rstrip("/")
    if str(claims.get("iss", "")).rstrip("/") != issuer:
        return _refused(
            401,
            f"{name}: iss is {claims.get('iss')!r}, the authorizer trusts {issuer!r}",
            "the token has an invalid issuer",
        )
    keys = jwks(issuer)
    if keys is None:
        return _refused(
            401,
            f"{name}: nothing serves a JWKS for issuer {issuer!r} in the sandbox",
            "unable to retrieve the issuer's keys",
        )
    try:
        verified = verify(text, keys, now=now)
    except TokenExpiredError as exc:
        return _refused(401, f"{name}: {exc.message}", "the token has expired")
    except (UnknownKeyError, BadSignatureError) as exc:
        return _refused(401, f"{name}: {exc.message}", "the token has an invalid signature")
    except TokenError as exc:
        return _refused(401, f"{name}: {exc.message}", "the token is invalid")
    for claim in ("nbf", "iat"):
        value = verified.get(claim)
        if isinstance(value, (int, float)) and value > now:
            return _refused(
                401,
                f"{name}: {claim} {value} is after now",
                f"the token's {claim} is in the future",
            )
    audience = verified.get("aud") if "aud" in verified else verified.get("client_id")
    if authorizer.audience and str(audience) not in authorizer.audience:
        where = "aud" if "aud" in verified else "client_id"
        return _refused(
            401,
            f"{name}: {where} {audience!r} is not one of the audiences "
            f"({', '.join(authorizer.audience)})",
            "the token does not have a valid audience",
        )
    held = str(verified.get("scope") or verified.get("scp") or "").split()
    if scopes and not set(held) & set(scopes):
        return _refused(
            403,
            f"{name}: the token's scopes ({', '.join(held) or 'none'}) include none of the "
            f"route's ({', '.join(scopes)})",
            f"expected scopes: [{' '.join(scopes)}]",
            scopes,
        )
    who = verified.get("username") or verified.get("cognito:username") or verified.get("sub")
    reason = f"{name} accepted the {verified.get('token_use', 'JWT')} token of {who}"
    if scopes:
        reason += f" (scope {' '.join(held)!r} meets {', '.join(scopes)})"
    context = {"jwt": {"claims": claims_context(verified), "scopes": held or None}}
    return AuthResult(True, None, reason, DECIDER, context)


__all__ = ["DECIDER", "claims_context", "decide", "token_from"]
