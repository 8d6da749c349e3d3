"""A token inspector: what a Cognito token says, what each claim means, and how long it has left.

``inspect_token(token, now=lab.clock.now)`` decodes an ID or access token (without trusting it),
explains every claim in the words of AWS's token guide
(https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-id-token.html,
https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html),
and, when the issuing pool is in the sandbox, checks the signature against that pool's keys.
The snapshot renders itself in a notebook (HTML and text, see
:mod:`labkit.services.cognitoidp.view`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from labkit.sandbox.backends import existing_services
from labkit.services.cognitoidp.sim_tokens import (
    TokenError,
    TokenExpiredError,
    TrustedPool,
    decode,
    issuer_url,
    verify,
)

#: What each claim means, for a learner.
CLAIM_MEANINGS: Mapping[str, str] = {
    "sub": "The user's unique, permanent id in the pool (a UUID); use it, not the name, as a key.",
    "iss": "The user pool that issued the token; its public keys are at iss + "
    "/.well-known/jwks.json.",
    "aud": "The app client this ID token was issued to; a server checks it is its own.",
    "client_id": "The app client this access token was issued to (access tokens have no aud).",
    "token_use": "id: who the user is, for your app; access: what the user may do, for APIs.",
    "auth_time": "When the user signed in with a password; refreshed tokens keep it.",
    "iat": "When this token was issued.",
    "exp": "When this token expires; from then on servers must refuse it.",
    "jti": "This token's own unique id.",
    "origin_jti": "The sign-in session it descends from; every refreshed token shares it.",
    "event_id": "The sign-in event that produced the session.",
    "cognito:username": "The user's name in the pool (may be changed by an alias; sub may not).",
    "username": "The user's name in the pool.",
    "cognito:groups": "The pool groups the user belongs to: authorizers can allow by group.",
    "cognito:roles": "The IAM roles of the user's groups; an identity pool can hand one out.",
    "cognito:preferred_role": "The role of the user's group with the lowest precedence: what "
    "an identity pool's token role mapping gives.",
    "scope": "What the token may be used for; aws.cognito.signin.user.admin lets it call the "
    "pool's self-service operations (GetUser, ChangePassword).",
    "version": "The access token's format version.",
    "email": "The user's email address attribute.",
    "email_verified": "Whether the user proved they own the email address (a confirmation code).",
    "phone_number": "The user's phone number attribute.",
    "phone_number_verified": "Whether the user proved they own the phone number.",
}
HEADER_MEANINGS: Mapping[str, str] = {
    "kid": "Which of the pool's keys signed it (a pool has one key for ID tokens, one for "
    "access tokens).",
    "alg": "The signature algorithm: RS256, an RSA signature over a SHA-256 digest.",
}
_TIMES = ("auth_time", "iat", "exp")


@dataclass(frozen=True)
class ClaimRow:
    """One claim: its name, its value as text, and what it means."""

    name: str
    value: str
    meaning: str


@dataclass(frozen=True)
class TokenSnapshot:
    """What one token says at one moment of the lab clock.

    Attributes:
        kind: ``id``, ``access`` or ``""`` when the token does not say.
        header: The header, as rows.
        claims: The claims, as rows (times written out in UTC).
        now: The lab time the snapshot was taken at.
        expires_at: ``exp`` as a time, or ``None``.
        seconds_left: Seconds until ``exp`` (negative once expired), or ``None``.
        signature: ``valid``, ``invalid: <why>`` or ``not checked: <why>``.
        error: Why the token could not be decoded at all (then everything else is empty).
    """

    kind: str
    header: tuple[ClaimRow, ...]
    claims: tuple[ClaimRow, ...]
    now: datetime
    expires_at: datetime | None
    seconds_left: float | None
    signature: str
    error: str = ""

    @property
    def expired(self) -> bool:
        """Whether ``exp`` has passed at :attr:`now`."""
        return self.seconds_left is not None and self.seconds_left <= 0

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from labkit.services.cognitoidp.view import token_html, token_text

        return {"text/plain": token_text(self), "text/html": token_html(self)}

    def __str__(self) -> str:
        from labkit.services.cognitoidp.view import token_text

        return token_text(self)


def _when(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return str(value)
    moment = datetime.fromtimestamp(float(value), tz=timezone.utc)
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC ({int(value)})"


def _value(name: str, value: Any) -> str:
    if name in _TIMES:
        return _when(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _meaning(name: str) -> str:
    if name.startswith("custom:"):
        return "A custom attribute of the pool's schema."
    return CLAIM_MEANINGS.get(name, "A user attribute the app client may read.")


def trusted_pool(issuer: str) -> TrustedPool | None:
    """The sandbox user pool named by ``issuer`` (its ``iss`` URL), as a resource server trusts
    it: its issuer and public keys, for :func:`~labkit.services.cognitoidp.sim_tokens.verify`.
    ``None`` when no such pool exists; no keys when it has not signed anything yet (so every
    token claiming to be its own is refused)."""
    pool_id = issuer.rstrip("/").rsplit("/", 1)[-1]
    for service, region, backend in existing_services():
        if service != "cognito-idp":
            continue
        pool = getattr(backend, "user_pools", {}).get(pool_id)
        if pool is None or issuer.rstrip("/") != issuer_url(region, pool_id):
            continue
        keys = getattr(pool, "labkit_keys", None)
        if keys is None:
            return TrustedPool(issuer.rstrip("/"))
        return TrustedPool.from_jwks(issuer, keys.jwks())
    return None


def inspect_token(
    token: str, *, now: datetime | float, pool: TrustedPool | None = None
) -> TokenSnapshot:
    """A snapshot of ``token`` at ``now`` (pass ``lab.clock.now``).

    Args:
        token: An ID or access token.
        now: The lab time.
        pool: The issuing pool's keys; by default the sandbox's pool named by ``iss``.
    """
    moment = (
        now if isinstance(now, datetime) else datetime.fromtimestamp(float(now), tz=timezone.utc)
    )
    try:
        decoded = decode(token)
    except TokenError as exc:
        return TokenSnapshot("", (), (), moment, None, None, "not checked", str(exc))
    header = tuple(
        ClaimRow(k, str(v), HEADER_MEANINGS.get(k, "")) for k, v in decoded.header.items()
    )
    claims = tuple(ClaimRow(k, _value(k, v), _meaning(k)) for k, v in decoded.claims.items())
    exp = decoded.claims.get("exp")
    expires = (
        datetime.fromtimestamp(float(exp), tz=timezone.utc)
        if isinstance(exp, (int, float))
        else None
    )
    left = (expires - moment).total_seconds() if expires is not None else None
    trusted = pool if pool is not None else trusted_pool(str(decoded.claims.get("iss", "")))
    if trusted is None:
        signature = "not checked: the issuing pool is not in this sandbox"
    else:
        try:
            verify(token, trusted, now=float(exp or 0) - 1)
            signature = "valid (matches the pool's public key)"
        except TokenExpiredError:
            signature = "valid (matches the pool's public key)"
        except TokenError as exc:
            signature = f"invalid: {exc}"
    kind = str(decoded.claims.get("token_use", ""))
    return TokenSnapshot(kind, header, claims, moment, expires, left, signature)


__all__ = ["CLAIM_MEANINGS", "ClaimRow", "TokenSnapshot", "inspect_token", "trusted_pool"]
