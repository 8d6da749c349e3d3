"""The token verifier a resource server (and later API Gateway's authorizer) uses: plain Python."""

from __future__ import annotations

import json
from typing import Any

import pytest

from labkit.services.cognitoidp import sim_tokens as t

POOL = "us-east-1_Example1"
ISSUER = t.issuer_url("us-east-1", POOL)
NOW = 1_767_603_600


@pytest.fixture(scope="module")
def keys() -> t.PoolKeys:
    return t.PoolKeys(POOL)


@pytest.fixture(scope="module")
def pool(keys: t.PoolKeys) -> t.TrustedPool:
    # As a resource server builds it: from the JWKS document, through JSON.
    return t.TrustedPool.from_jwks(ISSUER, json.loads(json.dumps(keys.jwks())))


def _claims(use: str = "id", **changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {"sub": "1111-2222", "iss": ISSUER, "token_use": use}
    claims["aud" if use == "id" else "client_id"] = "client-a"
    claims.update(iat=NOW, auth_time=NOW, exp=NOW + 3600)
    claims.update(changes)
    return claims


def test_a_genuine_token_verifies_and_returns_its_claims(
    keys: t.PoolKeys, pool: t.TrustedPool
) -> None:
    token = keys.sign(_claims(), "id")
    claims = t.verify(token, pool, audience="client-a", token_use="id", now=NOW + 10)
    assert claims["sub"] == "1111-2222"
    access = keys.sign(_claims("access"), "access")
    assert t.verify(access, pool, audience="client-a", now=NOW)["token_use"] == "access"


def test_a_token_signed_by_another_key_under_the_pools_kid_is_forged(
    keys: t.PoolKeys, pool: t.TrustedPool
) -> None:
    forger = t.PoolKeys("forger")
    genuine = t.decode(keys.sign(_claims(), "id"))
    forged = forger.sign(_claims(), "id")
    header, payload, signature = forged.split(".")
    # Same kid as the pool's ID-token key, so the verifier finds the key and checks the math.
    header = t.b64url(json.dumps(dict(genuine.header)).encode())
    with pytest.raises(t.BadSignatureError):
        t.verify(f"{header}.{payload}.{signature}", pool, now=NOW)


def test_a_token_whose_claims_were_changed_after_signing_is_refused(
    keys: t.PoolKeys, pool: t.TrustedPool
) -> None:
    header, _, signature = keys.sign(_claims(), "id").split(".")
    payload = t.b64url(json.dumps(_claims(**{"cognito:groups": ["admins"]})).encode())
    with pytest.raises(t.BadSignatureError):
        t.verify(f"{header}.{payload}.{signature}", pool, now=NOW)


def test_a_token_of_an_unknown_key_is_refused(pool: t.TrustedPool) -> None:
    stranger = t.PoolKeys("elsewhere").sign(_claims(), "id")
    with pytest.raises(t.UnknownKeyError):
        t.verify(stranger, pool, now=NOW)


def test_an_expired_token_is_refused_at_exp_on_the_given_clock(
    keys: t.PoolKeys, pool: t.TrustedPool
) -> None:
    token = keys.sign(_claims(), "id")
    t.verify(token, pool, now=NOW + 3599)
    with pytest.raises(t.TokenExpiredError) as exc:
        t.verify(token, pool, now=NOW + 3600)
    assert exc.value.code == "TokenExpired"


def test_wrong_audience_issuer_and_use_are_told_apart(
    keys: t.PoolKeys, pool: t.TrustedPool
) -> None:
    with pytest.raises(t.WrongAudienceError):
        t.verify(keys.sign(_claims(), "id"), pool, audience="client-b", now=NOW)
    with pytest.raises(t.WrongAudienceError):
        access = keys.sign(_claims("access"), "access")
        t.verify(access, pool, audience="client-b", now=NOW)
    with pytest.raises(t.WrongIssuerError):
        other = _claims(iss=t.issuer_url("us-east-1", "us-east-1_Other"))
        t.verify(keys.sign(other, "id"), pool, now=NOW)
    with pytest.raises(t.WrongTokenUseError):
        t.verify(keys.sign(_claims(), "id"), pool, token_use="access", now=NOW)


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b", "a.b.c.d", "e30.e30.", "!!!.e30.e30"],
)
def test_malformed_tokens_get_a_typed_error(pool: t.TrustedPool, token: str) -> None:
    with pytest.raises(t.TokenError):
        t.verify(token, pool, now=NOW)


def test_an_unsigned_alg_none_token_is_refused(pool: t.TrustedPool) -> None:
    header = t.b64url(json.dumps({"alg": "none", "kid": "x"}).encode())
    payload = t.b64url(json.dumps(_claims()).encode())
    with pytest.raises(t.MalformedTokenError):
        t.verify(f"{header}.{payload}.", pool, now=NOW)


def test_a_jwks_that_is_not_one_is_a_clear_error() -> None:
    with pytest.raises(t.MalformedTokenError):
        t.TrustedPool.from_jwks(ISSUER, {"nokeys": []})


def test_the_verifier_agrees_with_an_independent_jwt_library(keys: t.PoolKeys) -> None:
    from joserfc import jwt
    from joserfc.jwk import KeySet

    token = keys.sign(_claims(), "id")
    assert jwt.decode(token, KeySet.import_key_set(keys.jwks())).claims["sub"] == "1111-2222"
