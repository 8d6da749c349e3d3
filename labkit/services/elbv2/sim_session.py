"""Sign-in sessions of an Application Load Balancer and the user-claims JWT it signs.

After a user signs in through an ``authenticate-cognito`` action, the load balancer keeps a
session (the ``AWSELBAuthSessionCookie-0`` cookie names it) for ``SessionTimeout`` seconds
(default 604800, ``facts.toml``) and forwards each request with three headers
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-authenticate-users.html):

- ``x-amzn-oidc-accesstoken``: the access token from the token endpoint;
- ``x-amzn-oidc-identity``: the ``sub`` from the user info endpoint;
- ``x-amzn-oidc-data``: the user claims as a JWT signed by the load balancer with ES256 (ECDSA
  P-256 over SHA-256). Its header names the key (``kid``), ``signer`` (the load balancer's ARN),
  ``iss``, ``client`` and ``exp``; the public key is served as PEM at
  ``https://public-keys.auth.elb.{region}.amazonaws.com/{kid}``. AWS encodes the parts in base64url
  *with* ``=`` padding, which some strict JWT libraries refuse; labkit does the same.

Plain Python (``cryptography`` for the curve); the patch keeps sessions on moto's load balancer.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)


def b64_padded(data: bytes) -> str:
    """base64url with ``=`` padding, as the load balancer encodes its JWT's parts."""
    return base64.urlsafe_b64encode(data).decode("ascii")


def b64_decode(text: str) -> bytes:
    """base64url, padded or not."""
    text = text.rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class RegionSigner:
    """One Region's ES256 signing key (AWS rotates several; one is enough here)."""

    def __init__(self) -> None:
        self.kid = str(uuid.uuid4())
        self._key = ec.generate_private_key(ec.SECP256R1())

    def public_pem(self) -> str:
        """The public key as ``public-keys.auth.elb`` serves it (PEM, SubjectPublicKeyInfo)."""
        return (
            self._key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )

    def sign(self, header: dict[str, Any], claims: dict[str, Any]) -> str:
        """A JWT of ``claims`` with ``header`` (``alg``, ``kid`` and ``typ`` added)."""
        full = {"typ": "JWT", "kid": self.kid, "alg": "ES256", **header}
        signing_input = (
            f"{b64_padded(json.dumps(full, separators=(',', ':')).encode())}."
            f"{b64_padded(json.dumps(claims, separators=(',', ':')).encode())}"
        )
        der = self._key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")  # JWS: R || S, not DER
        return f"{signing_input}.{b64_padded(raw)}"


def verify_es256(token: str, public_pem: str) -> dict[str, Any]:
    """The claims of ``token`` if ``public_pem`` verifies its signature (else ``ValueError``),
    as a target application checks ``x-amzn-oidc-data``."""
    head, body, signature = token.split(".")
    key = serialization.load_pem_public_key(public_pem.encode("ascii"))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("not an EC public key")
    raw = b64_decode(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        key.verify(der, f"{head}.{body}".encode("ascii"), ec.ECDSA(hashes.SHA256()))
    except Exception as bad:
        raise ValueError("signature does not verify") from bad
    claims: dict[str, Any] = json.loads(b64_decode(body))
    return claims


@dataclass
class AuthSession:
    """One signed-in user's session at a load balancer."""

    client_id: str
    access_token: str
    claims: dict[str, Any]
    expires: float


@dataclass
class SessionBook:
    """A load balancer's sessions and the sign-ins under way (``state`` → where to return)."""

    sessions: dict[str, AuthSession] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)

    def begin(self, return_to: str) -> str:
        """A ``state`` for a sign-in that returns to ``return_to``."""
        state = secrets.token_urlsafe(24)
        self.pending[state] = return_to
        return state

    def open(self, session: AuthSession) -> str:
        """Keep ``session``; its cookie value."""
        value = secrets.token_urlsafe(32)
        self.sessions[value] = session
        return value

    def live(self, value: str | None, client_id: str, now: float) -> AuthSession | None:
        """The session ``value`` names, if it is for ``client_id`` and has not timed out."""
        session = self.sessions.get(value or "")
        if session is None or session.client_id != client_id:
            return None
        if now >= session.expires:
            del self.sessions[value or ""]
            return None
        return session


__all__ = [
    "AuthSession",
    "RegionSigner",
    "SessionBook",
    "b64_decode",
    "b64_padded",
    "verify_es256",
]
