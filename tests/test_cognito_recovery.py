"""Forgotten passwords, client secrets and expired tokens in a user's own operations."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from labkit.sandbox.mailbox import mailbox

if TYPE_CHECKING:
    from labkit.lab import Lab

PASSWORD = "Corr3ct-Horse!"
NEW_PASSWORD = "N3w-Battery-Staple"


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = exc.value.response["Error"]
    return error["Code"], error["Message"]


def _confirmed_user(lab: Lab, **pool_options: Any) -> tuple[Any, str, str]:
    idp = lab.client("cognito-idp")
    pool_id = idp.create_user_pool(
        PoolName="shop", AutoVerifiedAttributes=["email"], **pool_options
    )["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.sign_up(
        ClientId=client_id,
        Username="alice",
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": "alice@example.com"}],
    )
    code = mailbox(lab).latest("alice@example.com").code  # type: ignore[union-attr]
    idp.confirm_sign_up(ClientId=client_id, Username="alice", ConfirmationCode=code)
    return idp, pool_id, client_id


def _sign_in(idp: Any, client_id: str, password: str = PASSWORD) -> dict[str, Any]:
    result: dict[str, Any] = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "alice", "PASSWORD": password},
    )["AuthenticationResult"]
    return result


def test_a_forgotten_password_is_reset_with_the_mailed_code(lab: Lab) -> None:
    idp, _, client_id = _confirmed_user(lab)
    answer = idp.forgot_password(ClientId=client_id, Username="alice")
    assert answer["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
    assert len(mailbox(lab).messages("alice@example.com")) == 2
    code = mailbox(lab).latest("alice@example.com").code  # type: ignore[union-attr]
    assert code is not None
    with pytest.raises(ClientError) as exc:
        idp.confirm_forgot_password(
            ClientId=client_id, Username="alice", ConfirmationCode=code, Password="weak"
        )
    assert _error(exc)[0] == "InvalidPasswordException"
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(ClientError) as exc:
        idp.confirm_forgot_password(
            ClientId=client_id, Username="alice", ConfirmationCode=wrong, Password=NEW_PASSWORD
        )
    assert _error(exc)[0] == "CodeMismatchException"
    idp.confirm_forgot_password(
        ClientId=client_id, Username="alice", ConfirmationCode=code, Password=NEW_PASSWORD
    )
    assert _sign_in(idp, client_id, NEW_PASSWORD)["AccessToken"]
    with pytest.raises(ClientError) as exc:
        _sign_in(idp, client_id, PASSWORD)
    assert _error(exc)[0] == "NotAuthorizedException"


def test_a_recovery_code_expires_after_an_hour(lab: Lab) -> None:
    idp, _, client_id = _confirmed_user(lab)
    idp.forgot_password(ClientId=client_id, Username="alice")
    code = mailbox(lab).latest("alice@example.com").code  # type: ignore[union-attr]
    lab.clock.advance(3600)
    with pytest.raises(ClientError) as exc:
        idp.confirm_forgot_password(
            ClientId=client_id, Username="alice", ConfirmationCode=code, Password=NEW_PASSWORD
        )
    assert _error(exc)[0] == "ExpiredCodeException"


def test_recovery_needs_a_verified_address_and_admin_only_refuses(lab: Lab) -> None:
    idp, pool_id, client_id = _confirmed_user(
        lab,
        AccountRecoverySetting={"RecoveryMechanisms": [{"Name": "admin_only", "Priority": 1}]},
    )
    with pytest.raises(ClientError) as exc:
        idp.forgot_password(ClientId=client_id, Username="alice")
    assert _error(exc) == ("NotAuthorizedException", "Contact administrator to reset password.")
    other = lab.client("cognito-idp")
    pool = other.create_user_pool(PoolName="unverified")["UserPool"]["Id"]
    client = other.create_user_pool_client(UserPoolId=pool, ClientName="c")["UserPoolClient"][
        "ClientId"
    ]
    other.sign_up(
        ClientId=client,
        Username="bob",
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": "bob@example.com"}],
    )
    with pytest.raises(ClientError) as exc:
        other.forgot_password(ClientId=client, Username="bob")
    assert _error(exc)[0] == "InvalidParameterException"
    del pool_id


def test_a_client_with_a_secret_needs_the_secret_hash(lab: Lab) -> None:
    idp, pool_id, _ = _confirmed_user(lab)
    client = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="server",
        GenerateSecret=True,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"],
    )["UserPoolClient"]
    client_id, secret = client["ClientId"], client["ClientSecret"]
    params = {"USERNAME": "alice", "PASSWORD": PASSWORD}
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters=params)
    assert _error(exc) == (
        "NotAuthorizedException",
        f"Client {client_id} is configured with secret but SECRET_HASH was not received",
    )
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={**params, "SECRET_HASH": "bm90LWl0"},
        )
    assert _error(exc)[1] == f"Unable to verify secret hash for client {client_id}"
    digest = hmac.new(secret.encode(), ("alice" + client_id).encode(), hashlib.sha256).digest()
    good = base64.b64encode(digest).decode()
    answer = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={**params, "SECRET_HASH": good},
    )
    assert answer["AuthenticationResult"]["AccessToken"]


def test_an_expired_access_token_cannot_change_the_password_or_attributes(lab: Lab) -> None:
    idp, _, client_id = _confirmed_user(lab)
    token = _sign_in(idp, client_id)["AccessToken"]
    lab.clock.advance(3600)
    calls = (
        lambda: idp.change_password(
            AccessToken=token, PreviousPassword=PASSWORD, ProposedPassword=NEW_PASSWORD
        ),
        lambda: idp.update_user_attributes(
            AccessToken=token, UserAttributes=[{"Name": "name", "Value": "Alice"}]
        ),
        lambda: idp.global_sign_out(AccessToken=token),
    )
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call()
        assert _error(exc) == ("NotAuthorizedException", "Access Token has expired")
    assert _sign_in(idp, client_id)["AccessToken"]


def test_sign_out_and_revocation_end_the_tokens(lab: Lab) -> None:
    idp, pool_id, client_id = _confirmed_user(lab)
    idp.update_user_pool_client(
        UserPoolId=pool_id,
        ClientId=client_id,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )
    first, second = _sign_in(idp, client_id), _sign_in(idp, client_id)
    idp.revoke_token(Token=first["RefreshToken"], ClientId=client_id)
    with pytest.raises(ClientError) as exc:
        idp.get_user(AccessToken=first["AccessToken"])
    assert _error(exc) == ("NotAuthorizedException", "Access Token has been revoked")
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(
            ClientId=client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": first["RefreshToken"]},
        )
    assert _error(exc)[0] == "NotAuthorizedException"
    # The other session is untouched until the user signs out everywhere.
    assert idp.get_user(AccessToken=second["AccessToken"])["Username"] == "alice"
    idp.global_sign_out(AccessToken=second["AccessToken"])
    with pytest.raises(ClientError) as exc:
        idp.change_password(
            AccessToken=second["AccessToken"],
            PreviousPassword=PASSWORD,
            ProposedPassword=NEW_PASSWORD,
        )
    assert _error(exc) == ("NotAuthorizedException", "Access Token has been revoked")
