"""Cognito user pools in the sandbox: password rules, codes by mail, sign-in, tokens on a clock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import requests
from botocore.exceptions import ClientError

from labkit.sandbox.mailbox import mailbox
from labkit.services.cognitoidp.sim_tokens import TrustedPool, decode, issuer_url, verify

if TYPE_CHECKING:
    from labkit.lab import Lab

PASSWORD = "Corr3ct-Horse!"


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = exc.value.response["Error"]
    return error["Code"], error["Message"]


def _pool(lab: Lab, **options: Any) -> tuple[Any, str, str]:
    idp = lab.client("cognito-idp")
    options.setdefault("AutoVerifiedAttributes", ["email"])
    pool_id = idp.create_user_pool(PoolName="shop", **options)["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="web",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    return idp, pool_id, client_id


def _sign_up(lab: Lab, idp: Any, client_id: str, name: str = "alice") -> str:
    email = f"{name}@example.com"
    idp.sign_up(
        ClientId=client_id,
        Username=name,
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": email}],
    )
    message = mailbox(lab).latest(email)
    assert message is not None and message.code is not None
    idp.confirm_sign_up(ClientId=client_id, Username=name, ConfirmationCode=message.code)
    return email


def _sign_in(idp: Any, client_id: str, name: str = "alice") -> dict[str, Any]:
    result: dict[str, Any] = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    return result


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Sh0rt!", "Password not long enough"),
        ("ALLUPPER1!", "Password must have lowercase characters"),
        ("alllower1!", "Password must have uppercase characters"),
        ("NoDigits!!", "Password must have numeric characters"),
        ("NoSymbols12", "Password must have symbol characters"),
    ],
)
def test_sign_up_names_the_password_rule_broken(lab: Lab, password: str, rule: str) -> None:
    idp, _, client_id = _pool(lab)
    with pytest.raises(ClientError) as exc:
        idp.sign_up(ClientId=client_id, Username="alice", Password=password)
    assert _error(exc) == (
        "InvalidPasswordException",
        f"Password did not conform with policy: {rule}",
    )


def test_a_relaxed_policy_accepts_what_the_default_refuses(lab: Lab) -> None:
    policy = {
        "MinimumLength": 6,
        "RequireUppercase": False,
        "RequireLowercase": True,
        "RequireNumbers": False,
        "RequireSymbols": False,
    }
    idp, _, client_id = _pool(lab, Policies={"PasswordPolicy": policy})
    answer = idp.sign_up(ClientId=client_id, Username="alice", Password="simple")
    assert answer["UserConfirmed"] is False


def test_sign_up_mails_a_code_that_confirms_the_user(lab: Lab) -> None:
    idp, pool_id, client_id = _pool(lab)
    answer = idp.sign_up(
        ClientId=client_id,
        Username="alice",
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": "alice@example.com"}],
    )
    assert answer["CodeDeliveryDetails"] == {
        "Destination": "a***@e***",
        "DeliveryMedium": "EMAIL",
        "AttributeName": "email",
    }
    message = mailbox(lab).latest("alice@example.com")
    assert message is not None and message.subject == "Your verification code"
    assert message.code is not None and message.code in message.body
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD},
        )
    assert _error(exc)[0] == "UserNotConfirmedException"
    idp.confirm_sign_up(ClientId=client_id, Username="alice", ConfirmationCode=message.code)
    user = idp.admin_get_user(UserPoolId=pool_id, Username="alice")
    attributes = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert user["UserStatus"] == "CONFIRMED" and attributes["email_verified"] == "true"


def test_a_wrong_code_is_refused_and_the_user_stays_unconfirmed(lab: Lab) -> None:
    idp, pool_id, client_id = _pool(lab)
    idp.sign_up(
        ClientId=client_id,
        Username="alice",
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": "alice@example.com"}],
    )
    code = mailbox(lab).latest("alice@example.com").code  # type: ignore[union-attr]
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(ClientError) as exc:
        idp.confirm_sign_up(ClientId=client_id, Username="alice", ConfirmationCode=wrong)
    assert _error(exc) == (
        "CodeMismatchException",
        "Invalid verification code provided, please try again.",
    )
    status = idp.admin_get_user(UserPoolId=pool_id, Username="alice")["UserStatus"]
    assert status == "UNCONFIRMED"


def test_a_code_expires_after_a_day_and_a_resent_one_works(lab: Lab) -> None:
    idp, _, client_id = _pool(lab)
    idp.sign_up(
        ClientId=client_id,
        Username="alice",
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": "alice@example.com"}],
    )
    old = mailbox(lab).latest("alice@example.com").code  # type: ignore[union-attr]
    lab.clock.advance(24 * 3600)
    with pytest.raises(ClientError) as exc:
        idp.confirm_sign_up(ClientId=client_id, Username="alice", ConfirmationCode=old)
    assert _error(exc)[0] == "ExpiredCodeException"
    sent = idp.resend_confirmation_code(ClientId=client_id, Username="alice")
    assert sent["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
    assert len(mailbox(lab).messages("alice@example.com")) == 2
    new = mailbox(lab).latest("alice@example.com").code  # type: ignore[union-attr]
    idp.confirm_sign_up(ClientId=client_id, Username="alice", ConfirmationCode=new)


def test_a_pool_that_verifies_nothing_sends_no_code(lab: Lab) -> None:
    idp, _, client_id = _pool(lab, AutoVerifiedAttributes=[])
    answer = idp.sign_up(
        ClientId=client_id,
        Username="alice",
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": "alice@example.com"}],
    )
    assert "CodeDeliveryDetails" not in answer
    assert mailbox(lab).messages() == []


def test_mail_sent_in_a_checks_world_stays_there_and_reset_empties_the_mailbox(lab: Lab) -> None:
    idp, _, client_id = _pool(lab)
    with lab.sandbox.isolated():
        inner_idp, _, inner_client = _pool(lab)
        inner_idp.sign_up(
            ClientId=inner_client,
            Username="bob",
            Password=PASSWORD,
            UserAttributes=[{"Name": "email", "Value": "bob@example.com"}],
        )
        assert len(mailbox(lab)) == 1
    assert mailbox(lab).messages() == []
    idp.sign_up(
        ClientId=client_id,
        Username="alice",
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": "alice@example.com"}],
    )
    assert [m.to for m in mailbox(lab)] == ["alice@example.com"]
    lab.reset()
    assert len(mailbox(lab)) == 0


def test_tokens_are_jwts_signed_by_the_pools_own_keys_served_at_its_jwks_url(lab: Lab) -> None:
    from joserfc import jwt
    from joserfc.jwk import KeySet

    idp, pool_id, client_id = _pool(lab)
    _sign_up(lab, idp, client_id)
    tokens = _sign_in(idp, client_id)
    reply = requests.get(
        f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}/.well-known/jwks.json", timeout=5
    )
    assert reply.status_code == 200
    jwks = reply.json()
    assert len(jwks["keys"]) == 2 and all(k["kid"] != "dummy" for k in jwks["keys"])
    # An independent JWT library accepts them with the served keys.
    keys = KeySet.import_key_set(jwks)
    id_claims = jwt.decode(tokens["IdToken"], keys).claims
    access_claims = jwt.decode(tokens["AccessToken"], keys).claims
    assert id_claims["aud"] == client_id and "client_id" not in id_claims
    assert access_claims["client_id"] == client_id and "aud" not in access_claims
    assert id_claims["iss"] == access_claims["iss"] == issuer_url("us-east-1", pool_id)
    # ID and access tokens are signed by the pool's two different keys.
    assert decode(tokens["IdToken"]).header["kid"] != decode(tokens["AccessToken"]).header["kid"]
    other = requests.get(
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_nothere/.well-known/jwks.json",
        timeout=5,
    )
    assert other.status_code == 404


def test_another_pools_keys_do_not_verify_this_pools_tokens(lab: Lab) -> None:
    idp, pool_id, client_id = _pool(lab)
    _, other_pool, _ = _pool(lab)
    _sign_up(lab, idp, client_id)
    token = _sign_in(idp, client_id)["IdToken"]
    url = "https://cognito-idp.us-east-1.amazonaws.com/{}/.well-known/jwks.json"
    other_keys = requests.get(url.format(other_pool), timeout=5).json()
    from labkit.services.cognitoidp.sim_tokens import UnknownKeyError

    with pytest.raises(UnknownKeyError):
        verify(token, TrustedPool.from_jwks(issuer_url("us-east-1", pool_id), other_keys), now=0)


def test_claims_follow_the_lab_clock_and_the_clients_validity(lab: Lab) -> None:
    idp, pool_id, _ = _pool(lab)
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="short",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        AccessTokenValidity=15,
        IdTokenValidity=2,
        TokenValidityUnits={"AccessToken": "minutes", "IdToken": "hours"},
    )["UserPoolClient"]["ClientId"]
    _sign_up(lab, idp, client_id)
    lab.clock.advance(600)
    tokens = _sign_in(idp, client_id)
    now = int(lab.clock.now.timestamp())
    access = decode(tokens["AccessToken"]).claims
    ident = decode(tokens["IdToken"]).claims
    assert access["iat"] == access["auth_time"] == now and access["exp"] == now + 15 * 60
    assert ident["exp"] == now + 2 * 3600
    assert tokens["ExpiresIn"] == 15 * 60


def test_token_validity_outside_aws_ranges_is_refused(lab: Lab) -> None:
    idp, pool_id, _ = _pool(lab)
    for settings in (
        {"AccessTokenValidity": 2, "TokenValidityUnits": {"AccessToken": "minutes"}},
        {"IdTokenValidity": 2, "TokenValidityUnits": {"IdToken": "days"}},
        {"RefreshTokenValidity": 3651, "TokenValidityUnits": {"RefreshToken": "days"}},
        {"RefreshTokenValidity": 30, "TokenValidityUnits": {"RefreshToken": "minutes"}},
    ):
        with pytest.raises(ClientError) as exc:
            idp.create_user_pool_client(UserPoolId=pool_id, ClientName="bad", **settings)
        assert _error(exc)[0] == "InvalidParameterException"


def test_groups_appear_in_both_tokens(lab: Lab) -> None:
    idp, pool_id, client_id = _pool(lab)
    _sign_up(lab, idp, client_id)
    for group in ("admins", "buyers"):
        idp.create_group(UserPoolId=pool_id, GroupName=group)
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username="alice", GroupName=group)
    tokens = _sign_in(idp, client_id)
    assert decode(tokens["IdToken"]).claims["cognito:groups"] == ["admins", "buyers"]
    assert decode(tokens["AccessToken"]).claims["cognito:groups"] == ["admins", "buyers"]


def test_an_expired_access_token_is_refused_and_a_refresh_renews_it(lab: Lab) -> None:
    idp, _, client_id = _pool(lab)
    _sign_up(lab, idp, client_id)
    tokens = _sign_in(idp, client_id)
    signed_in_at = decode(tokens["AccessToken"]).claims["auth_time"]
    assert idp.get_user(AccessToken=tokens["AccessToken"])["Username"] == "alice"
    lab.clock.advance(3600)
    with pytest.raises(ClientError) as exc:
        idp.get_user(AccessToken=tokens["AccessToken"])
    assert _error(exc) == ("NotAuthorizedException", "Access Token has expired")
    renewed = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]},
    )["AuthenticationResult"]
    assert "RefreshToken" not in renewed
    claims = decode(renewed["AccessToken"]).claims
    assert claims["auth_time"] == signed_in_at and claims["iat"] == signed_in_at + 3600
    assert idp.get_user(AccessToken=renewed["AccessToken"])["Username"] == "alice"


def test_an_expired_refresh_token_is_refused(lab: Lab) -> None:
    idp, _, client_id = _pool(lab)
    _sign_up(lab, idp, client_id)
    tokens = _sign_in(idp, client_id)
    lab.clock.advance(30 * 86400)
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(
            ClientId=client_id,
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"]},
        )
    assert _error(exc) == ("NotAuthorizedException", "Refresh Token has expired")


def test_a_garbage_access_token_is_invalid(lab: Lab) -> None:
    idp, _, _ = _pool(lab)
    with pytest.raises(ClientError) as exc:
        idp.get_user(AccessToken="not-a-token")
    assert _error(exc) == ("NotAuthorizedException", "Invalid Access Token")


def test_a_client_without_the_password_flow_refuses_it(lab: Lab) -> None:
    idp, pool_id, _ = _pool(lab)
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="srp-only")[
        "UserPoolClient"
    ]["ClientId"]
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD},
        )
    assert _error(exc) == (
        "InvalidParameterException",
        "USER_PASSWORD_AUTH flow not enabled for this client",
    )


def test_an_unknown_user_looks_like_a_wrong_password(lab: Lab) -> None:
    idp, _, client_id = _pool(lab)
    _sign_up(lab, idp, client_id)
    answers = []
    for name, password in (("nobody", PASSWORD), ("alice", "Wr0ng-password!")):
        with pytest.raises(ClientError) as exc:
            idp.initiate_auth(
                ClientId=client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": name, "PASSWORD": password},
            )
        answers.append(_error(exc))
    assert answers == [("NotAuthorizedException", "Incorrect username or password.")] * 2
