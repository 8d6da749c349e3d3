"""The token inspector: decoded claims with their meaning, time left on the lab clock."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from labkit.sandbox.mailbox import mailbox
from labkit.services.cognitoidp.sim_tokens import PoolKeys, b64url
from labkit.services.cognitoidp.state import inspect_token

if TYPE_CHECKING:
    from labkit.lab import Lab

PASSWORD = "Corr3ct-Horse!"


def _tokens(lab: Lab) -> dict[str, str]:
    idp = lab.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="p", AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.sign_up(
        ClientId=client,
        Username="alice",
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": "alice@example.com"}],
    )
    code = mailbox(lab).latest("alice@example.com").code  # type: ignore[union-attr]
    idp.confirm_sign_up(ClientId=client, Username="alice", ConfirmationCode=code)
    idp.create_group(UserPoolId=pool, GroupName="admins")
    idp.admin_add_user_to_group(UserPoolId=pool, Username="alice", GroupName="admins")
    result = idp.initiate_auth(
        ClientId=client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    return {"id": result["IdToken"], "access": result["AccessToken"]}


def test_the_inspector_explains_each_claim_and_counts_down_on_the_lab_clock(lab: Lab) -> None:
    tokens = _tokens(lab)
    lab.clock.advance(1200)
    snapshot = inspect_token(tokens["id"], now=lab.clock.now)
    assert snapshot.kind == "id" and snapshot.seconds_left == 2400 and not snapshot.expired
    names = {row.name: row for row in snapshot.claims}
    assert names["cognito:groups"].value == "admins"
    assert "app client" in names["aud"].meaning
    assert "UTC" in names["exp"].value
    assert snapshot.signature.startswith("valid")
    bundle = snapshot._repr_mimebundle_()
    assert "valid for 40 min" in bundle["text/plain"]
    assert "cognito:groups" in bundle["text/html"] and "labkit-token" in bundle["text/html"]
    lab.clock.advance(2400)
    later = inspect_token(tokens["access"], now=lab.clock.now)
    assert later.kind == "access" and later.expired
    text = str(later)
    assert "✗ expired 0 s ago" in text and "client_id" in text


def test_a_forged_token_reads_but_its_signature_is_called_invalid(lab: Lab) -> None:
    real = _tokens(lab)["id"]
    header, payload, _ = real.split(".")
    claims = json.loads(b64url_decode(payload))
    claims["cognito:groups"] = ["admins", "root"]
    forged_payload = b64url(json.dumps(claims).encode())
    forged_sig = PoolKeys("forger").sign(claims, "id").split(".")[2]
    snapshot = inspect_token(f"{header}.{forged_payload}.{forged_sig}", now=lab.clock.now)
    assert snapshot.signature.startswith("invalid")
    assert "✗ signature invalid" in snapshot._repr_mimebundle_()["text/html"]


def test_garbage_is_named_not_a_crash(lab: Lab) -> None:
    snapshot = inspect_token("not.a.token!", now=lab.clock.now)
    assert snapshot.error and "not a readable token" in str(snapshot)
    assert "not a readable token" in snapshot._repr_mimebundle_()["text/html"]


def b64url_decode(text: str) -> bytes:
    from labkit.services.cognitoidp.sim_tokens import unb64url

    return unb64url(text)


def test_trusted_pool_reads_a_sandbox_pools_keys_for_a_verifier(lab: Lab) -> None:
    from labkit.services.cognitoidp.sim_tokens import UnknownKeyError, decode, issuer_url, verify
    from labkit.services.cognitoidp.state import trusted_pool

    tokens = _tokens(lab)
    issuer = decode(tokens["id"]).claims["iss"]
    trusted = trusted_pool(issuer)
    assert trusted is not None and len(trusted.keys) == 2
    assert verify(tokens["access"], trusted, token_use="access", now=lab.clock.now)["username"]
    assert trusted_pool(issuer_url("us-east-1", "us-east-1_nothere")) is None
    assert trusted_pool(issuer.replace("us-east-1.amazonaws", "eu-west-1.amazonaws")) is None
    idp = lab.client("cognito-idp")
    quiet = idp.create_user_pool(PoolName="quiet")["UserPool"]["Id"]
    empty = trusted_pool(issuer_url("us-east-1", quiet))
    assert empty is not None and not empty.keys
    with pytest.raises(UnknownKeyError):
        verify(tokens["id"], empty, now=lab.clock.now)


def test_the_lab_inspects_a_token_as_of_its_clock(lab: Lab) -> None:
    tokens = _tokens(lab)
    lab.clock.advance(600)
    snapshot = lab.inspect_token(tokens["id"])
    assert snapshot.seconds_left == 3000 and snapshot.signature.startswith("valid")
    assert "valid for 50 min" in str(snapshot)
    lab.clock.advance(3000)
    assert lab.inspect_token(tokens["id"]).expired
