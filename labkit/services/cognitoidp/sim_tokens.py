"""JSON Web Tokens as a Cognito user pool issues them, and the checks a resource server makes.

A user pool signs its ID and access tokens with RS256 (RSA PKCS#1 v1.5 over SHA-256) and
publishes the public keys as a JSON Web Key Set at
``https://cognito-idp.<region>.amazonaws.com/<pool-id>/.well-known/jwks.json``; the token's
header names the key by ``kid``. AWS's guide to verifying a token
(https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html)
asks a resource server to:

1. decode the three parts (header, payload, signature) and find the key whose ``kid`` matches;
2. check the signature with that key;
3. check ``exp`` against the current time (here: the lab clock);
4. check the issuer ``iss`` is the pool, the audience (``aud`` of an ID token, ``client_id`` of
   an access token) is an app client it trusts, and ``token_use`` is the kind it expects.

:func:`verify` does exactly that, in plain Python (the RSA check is one modular exponentiation),
and says which step failed with a typed error. :class:`PoolKeys` holds a pool's signing keys
(private; generated with ``cryptography``) and :func:`sign` makes tokens with them, so the
sandbox's tokens are real JWTs that any JWT library verifies against the pool's JWKS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from labkit.errors import LabkitError

#: The DER prefix of a SHA-256 ``DigestInfo`` (RFC 8017, section 9.2, note 1).
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


# -- errors ---------------------------------------------------------------------------------


class TokenError(LabkitError):
    """A token a resource server must refuse; ``code`` says which check failed."""

    code = "InvalidToken"


class MalformedTokenError(TokenError):
    """Not three base64url parts of JSON, or not signed with RS256."""

    code = "MalformedToken"


class UnknownKeyError(TokenError):
    """The header's ``kid`` is none of the pool's keys (another pool's token, or forged)."""

    code = "UnknownKey"


class BadSignatureError(TokenError):
    """The signature does not match the pool's key: the token was forged or altered."""

    code = "BadSignature"


class TokenExpiredError(TokenError):
    """``exp`` is at or before the current (lab) time."""

    code = "TokenExpired"


class WrongIssuerError(TokenError):
    """``iss`` is not this pool."""

    code = "WrongIssuer"


class WrongAudienceError(TokenError):
    """The token was issued to another app client."""

    code = "WrongAudience"


class WrongTokenUseError(TokenError):
    """An ID token where an access token was expected, or the other way round."""

    code = "WrongTokenUse"


# -- encoding -------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    """Base64url without padding, as JWTs write it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """The bytes of a base64url string with or without padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_b64(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass(frozen=True)
class DecodedToken:
    """A token's parts, decoded but not verified.

    Attributes:
        header: The JOSE header (``kid``, ``alg``).
        claims: The payload.
        signing_input: ``header.payload`` as sent (what the signature covers).
        signature: The signature bytes.
    """

    header: Mapping[str, Any]
    claims: Mapping[str, Any]
    signing_input: bytes
    signature: bytes


def decode(token: str) -> DecodedToken:
    """Split and decode a JWT without checking it.

    Raises:
        MalformedTokenError: Not a JWS in compact form with JSON header and payload.
    """
    if not isinstance(token, str):
        raise MalformedTokenError(f"A token is a string; got {type(token).__name__}.")
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise MalformedTokenError(
            f"A JWT has three parts separated by dots; this one has {len(parts)}."
        )
    try:
        header = json.loads(unb64url(parts[0]))
        claims = json.loads(unb64url(parts[1]))
        signature = unb64url(parts[2])
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedTokenError(f"The token's parts are not base64url JSON ({exc}).") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise MalformedTokenError("The token's header and payload must be JSON objects.")
    return DecodedToken(header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature)


# -- keys -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicKey:
    """An RSA public key as a JWK names it."""

    kid: str
    n: int
    e: int

    def jwk(self) -> dict[str, str]:
        """The key as a JSON Web Key, in the fields and order Cognito publishes."""
        return {
            "alg": "RS256",
            "e": _int_b64(self.e),
            "kid": self.kid,
            "kty": "RSA",
            "n": _int_b64(self.n),
            "use": "sig",
        }

    def verifies(self, signing_input: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's RS256 signature of ``signing_input``."""
        size = (self.n.bit_length() + 7) // 8
        if len(signature) != size:
            return False
        recovered = pow(int.from_bytes(signature, "big"), self.e, self.n).to_bytes(size, "big")
        digest = _SHA256_DIGEST_INFO + hashlib.sha256(signing_input).digest()
        expected = b"\x00\x01" + b"\xff" * (size - len(digest) - 3) + b"\x00" + digest
        return hmac.compare_digest(recovered, expected)


@dataclass(frozen=True)
class TrustedPool:
    """What a resource server knows of a user pool: its issuer URL and its public keys.

    Build one from the JWKS document served at the pool's well-known URL with
    :meth:`from_jwks`.
    """

    issuer: str
    keys: Mapping[str, PublicKey] = field(default_factory=dict)

    @classmethod
    def from_jwks(cls, issuer: str, jwks: Mapping[str, Any]) -> TrustedPool:
        """The pool whose keys ``jwks`` (``{"keys": [...]}``) lists.

        Raises:
            MalformedTokenError: ``jwks`` is not a JWKS of RSA keys.
        """
        keys: dict[str, PublicKey] = {}
        try:
            for jwk in jwks["keys"]:
                if jwk.get("kty") != "RSA":
                    continue
                key = PublicKey(
                    str(jwk["kid"]),
                    int.from_bytes(unb64url(jwk["n"]), "big"),
                    int.from_bytes(unb64url(jwk["e"]), "big"),
                )
                keys[key.kid] = key
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedTokenError(f"Not a JSON Web Key Set ({exc!r}).") from exc
        return cls(issuer.rstrip("/"), keys)


def issuer_url(region: str, pool_id: str) -> str:
    """A user pool's ``iss`` claim (also the base of its well-known URLs)."""
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


class PoolKeys:
    """A user pool's two signing keys: one signs ID tokens, the other access tokens (AWS
    publishes two keys per pool). Generated on first use: RSA key generation costs tens of
    milliseconds, which a pool that never signs anybody in should not pay."""

    def __init__(self, pool_id: str) -> None:
        self._pool_id = pool_id
        self._private: dict[str, Any] = {}

    def _ensure(self) -> dict[str, Any]:
        if not self._private:
            from cryptography.hazmat.primitives.asymmetric import rsa

            for use in ("id", "access"):
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                numbers = key.public_key().public_numbers()
                # A kid derived from the key, like AWS's base64 digest-looking kids.
                kid = b64url(hashlib.sha256(str(numbers.n).encode()).digest())[:43] + "="
                self._private[use] = (kid, key)
        return self._private

    def public(self) -> list[PublicKey]:
        """The public keys (ID-token key first)."""
        out = []
        for kid, key in self._ensure().values():
            numbers = key.public_key().public_numbers()
            out.append(PublicKey(kid, numbers.n, numbers.e))
        return out

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set the pool serves."""
        return {"keys": [key.jwk() for key in self.public()]}

    def sign(self, claims: Mapping[str, Any], token_use: str) -> str:
        """A compact RS256 JWS of ``claims``, signed with the key for ``token_use``."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        kid, key = self._ensure()["id" if token_use == "id" else "access"]
        header = b64url(json.dumps({"kid": kid, "alg": "RS256"}, separators=(",", ":")).encode())
        payload = b64url(json.dumps(dict(claims), separators=(",", ":")).encode())
        signing_input = f"{header}.{payload}".encode("ascii")
        signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return f"{header}.{payload}.{b64url(signature)}"


# -- verification ---------------------------------------------------------------------------


def verify(
    token: str,
    pool: TrustedPool,
    *,
    audience: str | None = None,
    token_use: str | None = None,
    now: datetime | float,
) -> dict[str, Any]:
    """The token's claims, if a resource server trusting ``pool`` should accept it.

    Args:
        token: The JWT (an ID or access token).
        pool: The pool's issuer and public keys.
        audience: The app client id to insist on (``aud`` of an ID token, ``client_id`` of an
            access token); ``None`` accepts any client of the pool.
        token_use: ``"id"`` or ``"access"`` to insist on one kind; ``None`` accepts both.
        now: The current time (the lab clock's ``now`` or an epoch timestamp).

    Raises:
        MalformedTokenError, UnknownKeyError, BadSignatureError, TokenExpiredError,
        WrongIssuerError, WrongAudienceError, WrongTokenUseError: In the order AWS's guide
            checks, the first check that fails.
    """
    decoded = decode(token)
    if decoded.header.get("alg") != "RS256":
        raise MalformedTokenError(
            f"Cognito signs with RS256; this token says alg={decoded.header.get('alg')!r}."
        )
    key = pool.keys.get(str(decoded.header.get("kid")))
    if key is None:
        raise UnknownKeyError(
            f"No key with kid={decoded.header.get('kid')!r} in the pool's JWKS: the token was "
            "not issued by this user pool."
        )
    if not key.verifies(decoded.signing_input, decoded.signature):
        raise BadSignatureError(
            "The signature does not match the pool's public key: the token was forged or "
            "changed after it was issued."
        )
    claims = dict(decoded.claims)
    moment = now.timestamp() if isinstance(now, datetime) else float(now)
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or moment >= exp:
        raise TokenExpiredError(
            f"The token expired {_ago(moment - float(exp or 0))} ago (exp={exp})."
        )
    if claims.get("iss") != pool.issuer:
        raise WrongIssuerError(f"iss is {claims.get('iss')!r}, not {pool.issuer!r}.")
    use = claims.get("token_use")
    if token_use is not None and use != token_use:
        raise WrongTokenUseError(f"Expected an {token_use} token; this is an {use} token.")
    issued_to = claims.get("aud") if use == "id" else claims.get("client_id")
    if audience is not None and issued_to != audience:
        raise WrongAudienceError(
            f"The token was issued to app client {issued_to!r}, not {audience!r}."
        )
    return claims


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


__all__ = [
    "BadSignatureError",
    "DecodedToken",
    "MalformedTokenError",
    "PoolKeys",
    "PublicKey",
    "TokenError",
    "TokenExpiredError",
    "TrustedPool",
    "UnknownKeyError",
    "WrongAudienceError",
    "WrongIssuerError",
    "WrongTokenUseError",
    "b64url",
    "decode",
    "issuer_url",
    "unb64url",
    "verify",
]
