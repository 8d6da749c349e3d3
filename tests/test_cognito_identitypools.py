"""Identity pools: sign-in or guest access traded for role credentials the sandbox enforces."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from labkit.sandbox.mailbox import mailbox
from labkit.services.cognitoidp.sim_tokens import PoolKeys, b64url, decode

if TYPE_CHECKING:
    from labkit.lab import Lab

PASSWORD = "Corr3ct-Horse!"
BUCKET = "user-files"
OWN_PREFIX = f"arn:aws:s3:::{BUCKET}/private/${{cognito-identity.amazonaws.com:sub}}/*"


@dataclass
class World:
    lab: Lab
    idp: Any
    identity: Any
    pool_id: str
    client_id: str
    provider: str
    identity_pool: str


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = exc.value.response["Error"]
    return error["Code"], error["Message"]


def _trust(identity_pool: str, amr: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {"cognito-identity.amazonaws.com:aud": identity_pool},
                        "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr},
                    },
                }
            ],
        }
    )


def _world(lab: Lab, *, guests: bool = True, roles: bool = True) -> World:
    idp, identity, iam = (
        lab.client("cognito-idp"),
        lab.client("cognito-identity"),
        lab.client("iam"),
    )
    pool_id = idp.create_user_pool(PoolName="app", AutoVerifiedAttributes=["email"])["UserPool"][
        "Id"
    ]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="web",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    provider = f"cognito-idp.us-east-1.amazonaws.com/{pool_id}"
    identity_pool = identity.create_identity_pool(
        IdentityPoolName="files",
        AllowUnauthenticatedIdentities=guests,
        CognitoIdentityProviders=[{"ProviderName": provider, "ClientId": client_id}],
    )["IdentityPoolId"]
    lab.client("s3").create_bucket(Bucket=BUCKET)
    if roles:
        signed_in = iam.create_role(
            RoleName="files-user", AssumeRolePolicyDocument=_trust(identity_pool, "authenticated")
        )["Role"]["Arn"]
        guest = iam.create_role(
            RoleName="files-guest",
            AssumeRolePolicyDocument=_trust(identity_pool, "unauthenticated"),
        )["Role"]["Arn"]
        own = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject"],
                    "Resource": OWN_PREFIX,
                },
                {
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": f"arn:aws:s3:::{BUCKET}",
                    "Condition": {
                        "StringLike": {
                            "s3:prefix": "private/${cognito-identity.amazonaws.com:sub}/*"
                        }
                    },
                },
            ],
        }
        public = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{BUCKET}/public/*",
                }
            ],
        }
        iam.put_role_policy(RoleName="files-user", PolicyName="own", PolicyDocument=json.dumps(own))
        iam.put_role_policy(
            RoleName="files-guest", PolicyName="public", PolicyDocument=json.dumps(public)
        )
        identity.set_identity_pool_roles(
            IdentityPoolId=identity_pool,
            Roles={"authenticated": signed_in, "unauthenticated": guest},
        )
    return World(lab, idp, identity, pool_id, client_id, provider, identity_pool)


def _id_token(world: World, name: str) -> str:
    email = f"{name}@example.com"
    if not mailbox(world.lab).messages(email):
        world.idp.sign_up(
            ClientId=world.client_id,
            Username=name,
            Password=PASSWORD,
            UserAttributes=[{"Name": "email", "Value": email}],
        )
        code = mailbox(world.lab).latest(email).code  # type: ignore[union-attr]
        world.idp.confirm_sign_up(ClientId=world.client_id, Username=name, ConfirmationCode=code)
    result = world.idp.initiate_auth(
        ClientId=world.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD},
    )
    return str(result["AuthenticationResult"]["IdToken"])


def _s3_as(world: World, credentials: dict[str, Any]) -> Any:
    return world.lab.client(
        "s3",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretKey"],
        aws_session_token=credentials["SessionToken"],
    )


def _user_credentials(world: World, name: str) -> tuple[str, dict[str, Any]]:
    token = _id_token(world, name)
    logins = {world.provider: token}
    identity_id = world.identity.get_id(IdentityPoolId=world.identity_pool, Logins=logins)[
        "IdentityId"
    ]
    credentials = world.identity.get_credentials_for_identity(
        IdentityId=identity_id, Logins=logins
    )["Credentials"]
    return identity_id, credentials


def _user(world: World, name: str) -> tuple[str, Any]:
    identity_id, credentials = _user_credentials(world, name)
    return identity_id, _s3_as(world, credentials)


def _guest(world: World) -> tuple[str, Any]:
    identity_id = world.identity.get_id(IdentityPoolId=world.identity_pool)["IdentityId"]
    credentials = world.identity.get_credentials_for_identity(IdentityId=identity_id)["Credentials"]
    return identity_id, _s3_as(world, credentials)


def _denied(call: Any) -> str:
    with pytest.raises(ClientError) as exc:
        call()
    return _error(exc)[0]


def test_each_user_reaches_only_their_own_prefix_and_the_guest_only_public(lab: Lab) -> None:
    world = _world(lab)
    alice, alice_s3 = _user(world, "alice")
    bob, bob_s3 = _user(world, "bob")
    assert alice != bob
    for me, client in ((alice, alice_s3), (bob, bob_s3)):
        client.put_object(Bucket=BUCKET, Key=f"private/{me}/notes.txt", Body=me.encode())
        body = client.get_object(Bucket=BUCKET, Key=f"private/{me}/notes.txt")["Body"].read()
        assert body == me.encode()
        listed = client.list_objects_v2(Bucket=BUCKET, Prefix=f"private/{me}/")["Contents"]
        assert [o["Key"] for o in listed] == [f"private/{me}/notes.txt"]
    # Each other's prefix: read, write and list are refused.
    for client, other in ((alice_s3, bob), (bob_s3, alice)):
        key = f"private/{other}/notes.txt"
        assert _denied(lambda c=client, k=key: c.get_object(Bucket=BUCKET, Key=k)) == "AccessDenied"
        assert (
            _denied(lambda c=client, k=key: c.put_object(Bucket=BUCKET, Key=k, Body=b"x"))
            == "AccessDenied"
        )
        prefix = f"private/{other}/"
        assert (
            _denied(lambda c=client, p=prefix: c.list_objects_v2(Bucket=BUCKET, Prefix=p))
            == "AccessDenied"
        )
    # The other's file is untouched; the owner's account still sees everything.
    owner = lab.client("s3")
    body = owner.get_object(Bucket=BUCKET, Key=f"private/{alice}/notes.txt")["Body"].read()
    assert body == alice.encode()
    owner.put_object(Bucket=BUCKET, Key="public/welcome.txt", Body=b"hello")
    _, guest_s3 = _guest(world)
    assert guest_s3.get_object(Bucket=BUCKET, Key="public/welcome.txt")["Body"].read() == b"hello"
    key = f"private/{alice}/notes.txt"
    assert _denied(lambda: guest_s3.get_object(Bucket=BUCKET, Key=key)) == "AccessDenied"
    assert (
        _denied(lambda: guest_s3.put_object(Bucket=BUCKET, Key="public/x", Body=b"x"))
        == "AccessDenied"
    )


def test_the_same_user_always_gets_the_same_identity_and_the_role_session(lab: Lab) -> None:
    world = _world(lab)
    first = _id_token(world, "alice")
    lab.clock.advance(60)
    second = _id_token(world, "alice")
    ids = {
        world.identity.get_id(IdentityPoolId=world.identity_pool, Logins={world.provider: t})[
            "IdentityId"
        ]
        for t in (first, second)
    }
    assert len(ids) == 1
    (identity_id,) = ids
    credentials = world.identity.get_credentials_for_identity(
        IdentityId=identity_id, Logins={world.provider: second}
    )["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    left = credentials["Expiration"].timestamp() - lab.clock.now.timestamp()
    assert left == 3600
    sts = lab.client(
        "sts",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretKey"],
        aws_session_token=credentials["SessionToken"],
    )
    arn = sts.get_caller_identity()["Arn"]
    assert arn == "arn:aws:sts::123456789012:assumed-role/files-user/CognitoIdentityCredentials"


def test_guests_are_refused_when_the_pool_does_not_allow_them(lab: Lab) -> None:
    world = _world(lab, guests=False)
    with pytest.raises(ClientError) as exc:
        world.identity.get_id(IdentityPoolId=world.identity_pool)
    assert _error(exc) == (
        "NotAuthorizedException",
        "Unauthenticated access is not supported for this identity pool.",
    )


def test_bad_logins_are_refused(lab: Lab) -> None:
    world = _world(lab)
    token = _id_token(world, "alice")
    other_client = world.idp.create_user_pool_client(UserPoolId=world.pool_id, ClientName="other")[
        "UserPoolClient"
    ]["ClientId"]
    world.idp.update_user_pool_client(
        UserPoolId=world.pool_id,
        ClientId=other_client,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )
    stranger = world.idp.initiate_auth(
        ClientId=other_client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    header, payload, _ = token.split(".")
    forged_sig = PoolKeys("forger").sign(dict(decode(token).claims), "id").split(".")[2]
    altered = dict(decode(token).claims, sub="someone-else")
    cases = {
        "forged": f"{header}.{payload}.{forged_sig}",
        "altered": f"{header}.{b64url(json.dumps(altered).encode())}.{token.split('.')[2]}",
        "access token": stranger["AccessToken"],
        "other client": stranger["IdToken"],
    }
    for name, bad in cases.items():
        with pytest.raises(ClientError) as exc:
            world.identity.get_id(IdentityPoolId=world.identity_pool, Logins={world.provider: bad})
        code, message = _error(exc)
        assert code == "NotAuthorizedException", name
        assert message.startswith("Invalid login token."), name
    lab.clock.advance(3600)
    with pytest.raises(ClientError) as exc:
        world.identity.get_id(IdentityPoolId=world.identity_pool, Logins={world.provider: token})
    assert "Token expired" in _error(exc)[1]
    unknown = "cognito-idp.us-east-1.amazonaws.com/us-east-1_unknown"
    with pytest.raises(ClientError) as exc:
        world.identity.get_id(IdentityPoolId=world.identity_pool, Logins={unknown: token})
    assert _error(exc)[0] == "NotAuthorizedException"


def test_an_authenticated_identity_needs_its_login_for_credentials(lab: Lab) -> None:
    world = _world(lab)
    alice = _id_token(world, "alice")
    bob = _id_token(world, "bob")
    identity_id = world.identity.get_id(
        IdentityPoolId=world.identity_pool, Logins={world.provider: alice}
    )["IdentityId"]
    for logins in ({}, {world.provider: bob}):
        with pytest.raises(ClientError) as exc:
            world.identity.get_credentials_for_identity(IdentityId=identity_id, Logins=logins)
        assert _error(exc)[0] == "NotAuthorizedException"


def test_a_pool_without_roles_or_with_an_untrusting_role_gives_no_credentials(lab: Lab) -> None:
    world = _world(lab, roles=False)
    guest = world.identity.get_id(IdentityPoolId=world.identity_pool)["IdentityId"]
    with pytest.raises(ClientError) as exc:
        world.identity.get_credentials_for_identity(IdentityId=guest)
    assert _error(exc) == (
        "InvalidIdentityPoolConfigurationException",
        "Invalid identity pool configuration. Check assigned IAM roles for this pool.",
    )
    # A role whose trust policy names another identity pool is not assumed for this one.
    iam = lab.client("iam")
    role = iam.create_role(
        RoleName="elsewhere",
        AssumeRolePolicyDocument=_trust("us-east-1:00000000-0000-0000-0000-000000000000", "*"),
    )["Role"]["Arn"]
    world.identity.set_identity_pool_roles(
        IdentityPoolId=world.identity_pool, Roles={"unauthenticated": role}
    )
    with pytest.raises(ClientError) as exc:
        world.identity.get_credentials_for_identity(IdentityId=guest)
    assert _error(exc)[0] == "InvalidIdentityPoolConfigurationException"
    roles = world.identity.get_identity_pool_roles(IdentityPoolId=world.identity_pool)
    assert roles["Roles"] == {"unauthenticated": role}


def test_credentials_expire_on_the_lab_clock(lab: Lab) -> None:
    world = _world(lab)
    me, client = _user(world, "alice")
    client.put_object(Bucket=BUCKET, Key=f"private/{me}/a.txt", Body=b"a")
    lab.clock.advance(3600)
    with pytest.raises(ClientError) as exc:
        client.get_object(Bucket=BUCKET, Key=f"private/{me}/a.txt")
    assert _error(exc) == ("ExpiredToken", "The provided token has expired.")


def test_a_bucket_policy_deny_still_wins_over_the_roles_allow(lab: Lab) -> None:
    world = _world(lab)
    me, client = _user(world, "alice")
    client.put_object(Bucket=BUCKET, Key=f"private/{me}/a.txt", Body=b"a")
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "NoListingForAppUsers",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{BUCKET}",
                "Condition": {"StringLike": {"aws:PrincipalArn": "*:role/files-user"}},
            }
        ],
    }
    owner = lab.client("s3")
    owner.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(deny))
    prefix = f"private/{me}/"
    assert _denied(lambda: client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)) == "AccessDenied"
    # The deny names the role's sessions only: the owner still lists.
    assert owner.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["KeyCount"] == 1


def test_presigned_urls_carry_the_signers_rights(lab: Lab) -> None:
    import requests
    from botocore.config import Config

    world = _world(lab)
    alice, alice_s3 = _user(world, "alice")
    _, bob = _user_credentials(world, "bob")
    bob_s3 = _s3_as(world, bob)
    key = f"private/{alice}/photo.jpg"
    alice_s3.put_object(Bucket=BUCKET, Key=key, Body=b"jpeg")
    params = {"Bucket": BUCKET, "Key": key}
    own = alice_s3.generate_presigned_url("get_object", Params=params)
    assert requests.get(own, timeout=5).content == b"jpeg"
    # Bob's URL (signature version 2, boto3's default, and version 4) is refused.
    stolen = bob_s3.generate_presigned_url("get_object", Params=params)
    assert requests.get(stolen, timeout=5).status_code == 403
    v4 = lab.client(
        "s3",
        config=Config(signature_version="s3v4"),
        aws_access_key_id=bob["AccessKeyId"],
        aws_secret_access_key=bob["SecretKey"],
        aws_session_token=bob["SessionToken"],
    )
    reply = requests.get(v4.generate_presigned_url("get_object", Params=params), timeout=5)
    assert reply.status_code == 403 and b"AccessDenied" in reply.content


def test_the_lab_reads_its_mailbox(lab: Lab) -> None:
    world = _world(lab)
    _id_token(world, "carol")
    message = lab.mailbox.latest("carol@example.com")
    assert message is not None and message.code is not None
    assert message.sender == "no-reply@verificationemail.com"


def test_credentials_from_before_a_reset_do_not_fall_back_to_the_owners_rights(lab: Lab) -> None:
    world = _world(lab)
    _, client = _user(world, "alice")
    lab.reset()
    owner = lab.client("s3")
    owner.create_bucket(Bucket=BUCKET)
    owner.put_object(Bucket=BUCKET, Key="secret.txt", Body=b"s")
    with pytest.raises(ClientError) as exc:
        client.get_object(Bucket=BUCKET, Key="secret.txt")
    assert _error(exc)[0] == "InvalidAccessKeyId"


def test_deleting_many_objects_is_decided_key_by_key(lab: Lab) -> None:
    world = _world(lab)
    iam = lab.client("iam")
    delete_own = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:DeleteObject", "Resource": OWN_PREFIX}],
    }
    iam.put_role_policy(
        RoleName="files-user", PolicyName="delete-own", PolicyDocument=json.dumps(delete_own)
    )
    alice, alice_s3 = _user(world, "alice")
    bob, bob_s3 = _user(world, "bob")
    alice_s3.put_object(Bucket=BUCKET, Key=f"private/{alice}/a.txt", Body=b"a")
    bob_s3.put_object(Bucket=BUCKET, Key=f"private/{bob}/b.txt", Body=b"b")
    answer = alice_s3.delete_objects(
        Bucket=BUCKET,
        Delete={"Objects": [{"Key": f"private/{alice}/a.txt"}, {"Key": f"private/{bob}/b.txt"}]},
    )
    assert [d["Key"] for d in answer.get("Deleted", [])] == [f"private/{alice}/a.txt"]
    assert [(e["Key"], e["Code"]) for e in answer.get("Errors", [])] == [
        (f"private/{bob}/b.txt", "AccessDenied")
    ]
    left = lab.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]
    assert [o["Key"] for o in left] == [f"private/{bob}/b.txt"]
