"""SRP sign-in (USER_SRP_AUTH): the password is proved, never sent, and a wrong one is refused."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from labkit.services.cognitoidp import sim_srp
from labkit.services.cognitoidp.sim_tokens import decode

if TYPE_CHECKING:
    from labkit.lab import Lab

PASSWORD = "Corr3ct-Horse!"


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = exc.value.response["Error"]
    return error["Code"], error["Message"]


def _pool(lab: Lab, **client_options: Any) -> tuple[Any, str, str]:
    idp = lab.client("cognito-idp")
    pool_id = idp.create_user_pool(PoolName="app")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="web", **client_options)[
        "UserPoolClient"
    ]["ClientId"]
    idp.admin_create_user(UserPoolId=pool_id, Username="alice", MessageAction="SUPPRESS")
    idp.admin_set_user_password(
        UserPoolId=pool_id, Username="alice", Password=PASSWORD, Permanent=True
    )
    return idp, pool_id, client_id


def _srp(idp: Any, pool_id: str, client_id: str, password: str) -> dict[str, Any]:
    """A client's whole SRP sign-in, as the AWS SDKs and Amplify do it."""
    small_a = secrets.randbits(256)
    big_a = pow(sim_srp.G, small_a, sim_srp.N)
    challenge = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_SRP_AUTH",
        AuthParameters={"USERNAME": "alice", "SRP_A": f"{big_a:x}"},
    )
    assert challenge["ChallengeName"] == "PASSWORD_VERIFIER"
    params = challenge["ChallengeParameters"]
    now = datetime.now(timezone.utc)
    timestamp = sim_srp.timestamp_of(now.strftime("%a %b %d %H:%M:%S UTC %Y"))
    signature = sim_srp.client_signature(
        pool_id,
        params["USER_ID_FOR_SRP"],
        password,
        small_a=small_a,
        salt_hex=params["SALT"],
        big_b_hex=params["SRP_B"],
        secret_block=params["SECRET_BLOCK"],
        timestamp=timestamp,
    )
    answer: dict[str, Any] = idp.respond_to_auth_challenge(
        ClientId=client_id,
        ChallengeName="PASSWORD_VERIFIER",
        ChallengeResponses={
            "USERNAME": params["USER_ID_FOR_SRP"],
            "PASSWORD_CLAIM_SECRET_BLOCK": params["SECRET_BLOCK"],
            "PASSWORD_CLAIM_SIGNATURE": signature,
            "TIMESTAMP": timestamp,
        },
    )
    return answer


def test_the_right_password_signs_in_with_srp(lab: Lab) -> None:
    idp, pool_id, client_id = _pool(lab)
    result = _srp(idp, pool_id, client_id, PASSWORD)["AuthenticationResult"]
    assert decode(result["AccessToken"]).claims["username"] == "alice"
    assert idp.get_user(AccessToken=result["AccessToken"])["Username"] == "alice"


def test_a_wrong_password_is_refused_as_in_the_password_flow(lab: Lab) -> None:
    idp, pool_id, client_id = _pool(lab)
    with pytest.raises(ClientError) as exc:
        _srp(idp, pool_id, client_id, "Wr0ng-Horse!")
    assert _error(exc) == ("NotAuthorizedException", "Incorrect username or password.")


def test_the_challenge_is_real_and_single_use(lab: Lab) -> None:
    idp, pool_id, client_id = _pool(lab)
    small_a = secrets.randbits(256)
    big_a = pow(sim_srp.G, small_a, sim_srp.N)
    params = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_SRP_AUTH",
        AuthParameters={"USERNAME": "alice", "SRP_A": f"{big_a:x}"},
    )["ChallengeParameters"]
    assert 0 < int(params["SRP_B"], 16) < sim_srp.N
    timestamp = "Mon Jan 5 09:00:00 UTC 2026"
    responses = {
        "USERNAME": "alice",
        "PASSWORD_CLAIM_SECRET_BLOCK": params["SECRET_BLOCK"],
        "PASSWORD_CLAIM_SIGNATURE": sim_srp.client_signature(
            pool_id,
            "alice",
            PASSWORD,
            small_a=small_a,
            salt_hex=params["SALT"],
            big_b_hex=params["SRP_B"],
            secret_block=params["SECRET_BLOCK"],
            timestamp=timestamp,
        ),
        "TIMESTAMP": timestamp,
    }
    idp.respond_to_auth_challenge(
        ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=responses
    )
    with pytest.raises(ClientError) as exc:
        idp.respond_to_auth_challenge(
            ClientId=client_id, ChallengeName="PASSWORD_VERIFIER", ChallengeResponses=responses
        )
    assert _error(exc)[0] == "NotAuthorizedException"


def test_srp_is_refused_by_a_client_that_allows_only_passwords(lab: Lab) -> None:
    idp, _, client_id = _pool(lab, ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_SRP_AUTH",
            AuthParameters={"USERNAME": "alice", "SRP_A": "abc"},
        )
    assert _error(exc) == (
        "InvalidParameterException",
        "USER_SRP_AUTH flow not enabled for this client",
    )


def test_an_invalid_srp_a_is_refused(lab: Lab) -> None:
    idp, _, client_id = _pool(lab)
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_SRP_AUTH",
            AuthParameters={"USERNAME": "alice", "SRP_A": f"{sim_srp.N:x}"},
        )
    assert _error(exc)[0] == "InvalidParameterException"


def test_client_and_server_sides_agree_on_the_shared_key() -> None:
    pool_id, password, salt = "us-east-1_Example", "pa55word!", "0123456789abcdef"
    small_a, small_b = secrets.randbits(256), secrets.randbits(256)
    big_a = pow(sim_srp.G, small_a, sim_srp.N)
    server = sim_srp.ServerChallenge.start(
        pool_id, "bob", password, f"{big_a:x}", salt_hex=salt, small_b=small_b
    )
    block = "c2VjcmV0LWJsb2Nr"
    args = {"small_a": small_a, "salt_hex": salt, "big_b_hex": f"{server.big_b:x}"}
    good = sim_srp.client_signature(
        pool_id, "bob", password, secret_block=block, timestamp="t", **args
    )
    bad = sim_srp.client_signature(
        pool_id, "bob", "not-it", secret_block=block, timestamp="t", **args
    )
    assert server.accepts(good, block, "t")
    assert not server.accepts(bad, block, "t")
    assert not server.accepts(good, block, "another time")
