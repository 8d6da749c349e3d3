"""Users an administrator creates: the invitation by mail, the first sign-in, expiry."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from labkit.lab import Lab

NEW_PASSWORD = "N3w-Battery-Staple"


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = exc.value.response["Error"]
    return error["Code"], error["Message"]


def _pool(lab: Lab) -> tuple[Any, str, str]:
    idp = lab.client("cognito-idp")
    pool_id = idp.create_user_pool(PoolName="staff")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    return idp, pool_id, client_id


def _invite(idp: Any, pool_id: str, **options: Any) -> None:
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username="dana",
        UserAttributes=[
            {"Name": "email", "Value": "dana@example.com"},
            {"Name": "phone_number", "Value": "+15550100"},
        ],
        **options,
    )


def _temporary_password(lab: Lab, to: str) -> str:
    message = lab.mailbox.latest(to)
    assert message is not None
    found = re.search(r"temporary password is (\S+)\.", message.body)
    assert found is not None and "dana" in message.body
    return found.group(1)


def _sign_in(idp: Any, client_id: str, password: str) -> dict[str, Any]:
    answer: dict[str, Any] = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "dana", "PASSWORD": password},
    )
    return answer


def test_the_invitation_mails_a_temporary_password_that_must_be_changed(lab: Lab) -> None:
    idp, pool_id, client_id = _pool(lab)
    _invite(idp, pool_id, DesiredDeliveryMediums=["EMAIL"])
    temporary = _temporary_password(lab, "dana@example.com")
    assert lab.mailbox.messages("+15550100") == []
    challenge = _sign_in(idp, client_id, temporary)
    assert challenge["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    tokens = idp.respond_to_auth_challenge(
        ClientId=client_id,
        ChallengeName="NEW_PASSWORD_REQUIRED",
        Session=challenge["Session"],
        ChallengeResponses={"USERNAME": "dana", "NEW_PASSWORD": NEW_PASSWORD},
    )["AuthenticationResult"]
    assert tokens["AccessToken"]
    assert "AuthenticationResult" in _sign_in(idp, client_id, NEW_PASSWORD)


def test_sms_is_the_default_medium_and_suppress_sends_nothing(lab: Lab) -> None:
    idp, pool_id, _ = _pool(lab)
    _invite(idp, pool_id)
    assert [m.channel for m in lab.mailbox] == ["sms"]
    assert _temporary_password(lab, "+15550100")
    idp.admin_create_user(UserPoolId=pool_id, Username="erin", MessageAction="SUPPRESS")
    assert len(lab.mailbox) == 1


def test_resend_replaces_the_temporary_password(lab: Lab) -> None:
    idp, pool_id, client_id = _pool(lab)
    _invite(idp, pool_id, DesiredDeliveryMediums=["EMAIL"])
    first = _temporary_password(lab, "dana@example.com")
    _invite(idp, pool_id, DesiredDeliveryMediums=["EMAIL"], MessageAction="RESEND")
    second = _temporary_password(lab, "dana@example.com")
    assert first != second
    with pytest.raises(ClientError) as exc:
        _sign_in(idp, client_id, first)
    assert _error(exc)[0] == "NotAuthorizedException"
    assert _sign_in(idp, client_id, second)["ChallengeName"] == "NEW_PASSWORD_REQUIRED"


def test_a_temporary_password_must_meet_the_policy(lab: Lab) -> None:
    idp, pool_id, _ = _pool(lab)
    with pytest.raises(ClientError) as exc:
        _invite(idp, pool_id, TemporaryPassword="short")
    assert _error(exc) == (
        "InvalidPasswordException",
        "Password did not conform with policy: Password not long enough",
    )


def test_a_temporary_password_expires_after_a_week(lab: Lab) -> None:
    idp, pool_id, client_id = _pool(lab)
    _invite(idp, pool_id, DesiredDeliveryMediums=["EMAIL"])
    temporary = _temporary_password(lab, "dana@example.com")
    lab.clock.advance(7 * 86400)
    with pytest.raises(ClientError) as exc:
        _sign_in(idp, client_id, temporary)
    assert _error(exc) == (
        "NotAuthorizedException",
        "Temporary password has expired and must be reset by an administrator.",
    )
