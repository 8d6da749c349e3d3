"""Secure Remote Password (SRP-6a) as Cognito runs it for ``USER_SRP_AUTH``: both sides.

With SRP the password never travels: the client proves it knows it by a signature that only the
password (and the server's one-time challenge) can produce. Cognito's variant (the one the AWS
SDKs, Amplify and ``amazon-cognito-identity-js`` speak) uses the 3072-bit group of RFC 5054 with
``g = 2``, SHA-256, and derives a 16-byte key with HKDF (info ``"Caldera Derived Key"``):

1. client: random ``a``, sends ``SRP_A = g^a mod N``;
2. server: salt ``s``, verifier ``v = g^x`` with ``x = H(s | H(poolname | user | ":" | password))``,
   random ``b``, answers ``SRP_B = k·v + g^b mod N``, ``SALT`` and a ``SECRET_BLOCK``;
3. both: ``u = H(A | B)``; the client computes ``S = (B - k·g^x)^(a + u·x)``, the server
   ``S = (A·v^u)^b`` (the same number); key = HKDF(S, salt=u);
4. client: ``PASSWORD_CLAIM_SIGNATURE = HMAC(key, poolname | user | secret block | timestamp)``;
   the server recomputes it and compares.

``poolname`` is the part of the pool id after the ``_``. Plain Python (``pow`` on big integers):
the sandbox's server side and any client (a test, a lesson) share this module.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

N_HEX = (
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF"
)
N = int(N_HEX, 16)
G = 2
_INFO = b"Caldera Derived Key\x01"


def pad_hex(value: int | str) -> str:
    """Hex of ``value`` as Cognito pads it: even length, and a leading ``00`` when the first
    digit would read as a sign bit."""
    text = value if isinstance(value, str) else f"{value:x}"
    if len(text) % 2:
        return "0" + text
    if text[0] in "89ABCDEFabcdef":
        return "00" + text
    return text


def _hex_hash(hex_text: str) -> str:
    return hashlib.sha256(bytes.fromhex(hex_text)).hexdigest()


K = int(_hex_hash("00" + N_HEX + "0" + f"{G:x}"), 16)


def pool_name(pool_id: str) -> str:
    """The part of a user pool id after the Region (``us-east-1_AbC`` → ``AbC``)."""
    return pool_id.split("_", 1)[1]


def private_x(pool_id: str, user_id: str, password: str, salt_hex: str) -> int:
    """``x = H(salt | H(poolname | user | ":" | password))``."""
    inner = hashlib.sha256(f"{pool_name(pool_id)}{user_id}:{password}".encode()).hexdigest()
    return int(_hex_hash(pad_hex(salt_hex) + inner), 16)


def scrambler(big_a: int, big_b: int) -> int:
    """``u = H(A | B)``."""
    return int(_hex_hash(pad_hex(big_a) + pad_hex(big_b)), 16)


def derive_key(shared: int, u: int) -> bytes:
    """The 16-byte key both sides derive from ``S`` with HKDF-SHA256 (salt ``u``)."""
    prk = hmac.new(bytes.fromhex(pad_hex(u)), bytes.fromhex(pad_hex(shared)), hashlib.sha256)
    return hmac.new(prk.digest(), _INFO, hashlib.sha256).digest()[:16]


def claim_signature(
    key: bytes, pool_id: str, user_id: str, secret_block: str, timestamp: str
) -> str:
    """``PASSWORD_CLAIM_SIGNATURE`` (base64) over the pool, user, secret block and timestamp."""
    message = (
        pool_name(pool_id).encode()
        + user_id.encode()
        + base64.standard_b64decode(secret_block)
        + timestamp.encode()
    )
    return base64.standard_b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def timestamp_of(moment_text: str) -> str:
    """Cognito's timestamp spelling: ``Mon Dec 7 06:50:21 UTC 2026`` (no zero-padded day)."""
    return re.sub(r" 0(\d) ", r" \1 ", moment_text)


@dataclass(frozen=True)
class ServerChallenge:
    """The server's half of one SRP exchange, kept until the client answers."""

    pool_id: str
    user_id: str
    salt_hex: str
    verifier: int
    small_b: int
    big_a: int
    big_b: int

    @classmethod
    def start(
        cls,
        pool_id: str,
        user_id: str,
        password: str,
        big_a_hex: str,
        *,
        salt_hex: str,
        small_b: int,
    ) -> ServerChallenge:
        """The challenge for a client that sent ``SRP_A``.

        Raises:
            ValueError: ``SRP_A`` is not a valid group element (``A mod N == 0``).
        """
        big_a = int(big_a_hex, 16)
        if big_a % N == 0:
            raise ValueError("SRP_A is not valid")
        verifier = pow(G, private_x(pool_id, user_id, password, salt_hex), N)
        big_b = (K * verifier + pow(G, small_b, N)) % N
        return cls(pool_id, user_id, salt_hex, verifier, small_b, big_a, big_b)

    def expected_signature(self, secret_block: str, timestamp: str) -> str:
        """The signature a client that knows the password sends."""
        u = scrambler(self.big_a, self.big_b)
        shared = pow(self.big_a * pow(self.verifier, u, N), self.small_b, N)
        key = derive_key(shared, u)
        return claim_signature(key, self.pool_id, self.user_id, secret_block, timestamp)

    def accepts(self, signature: str, secret_block: str, timestamp: str) -> bool:
        """Whether ``signature`` proves the password (constant-time comparison)."""
        expected = self.expected_signature(secret_block, timestamp)
        return hmac.compare_digest(expected.encode(), str(signature).encode())


def client_signature(
    pool_id: str,
    user_id: str,
    password: str,
    *,
    small_a: int,
    salt_hex: str,
    big_b_hex: str,
    secret_block: str,
    timestamp: str,
) -> str:
    """What an SRP client sends as ``PASSWORD_CLAIM_SIGNATURE`` (for tests and lessons).

    Args:
        pool_id: The user pool id.
        user_id: ``USER_ID_FOR_SRP`` from the challenge.
        password: The password the client believes in.
        small_a: The client's secret ``a`` (it sent ``SRP_A = g^a mod N``).
        salt_hex: ``SALT`` from the challenge.
        big_b_hex: ``SRP_B`` from the challenge.
        secret_block: ``SECRET_BLOCK`` from the challenge.
        timestamp: The timestamp it also sends as ``TIMESTAMP``.
    """
    big_a = pow(G, small_a, N)
    big_b = int(big_b_hex, 16)
    u = scrambler(big_a, big_b)
    x = private_x(pool_id, user_id, password, salt_hex)
    shared = pow((big_b - K * pow(G, x, N)) % N, small_a + u * x, N)
    return claim_signature(derive_key(shared, u), pool_id, user_id, secret_block, timestamp)


__all__ = [
    "G",
    "K",
    "N",
    "ServerChallenge",
    "claim_signature",
    "client_signature",
    "derive_key",
    "pad_hex",
    "pool_name",
    "private_x",
    "scrambler",
    "timestamp_of",
]
