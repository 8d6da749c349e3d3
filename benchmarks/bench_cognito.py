"""Cognito benchmarks: user-pool sign-in, token checks and identity-pool credentials in S3.

Prints (median milliseconds per call, labkit beside stock moto where both can do it):
- ``InitiateAuth`` (USER_PASSWORD_AUTH): labkit signs with the pool's own RSA keys, moto with one
  shared key;
- a pool's first sign-in (labkit makes the pool's two 2048-bit keys then);
- ``sim_tokens.verify`` of an ID token (plain-Python RS256) and a JWKS fetch with ``requests``;
- ``GetId`` + ``GetCredentialsForIdentity`` with a user-pool login;
- an S3 ``GetObject`` with the owner's credentials (labkit's identity check passes it to moto),
  and with identity-pool credentials (decided by the policy engine with the role's policies).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import support

PASSWORD = "Corr3ct-Horse!"
BUCKET = "bench-files"
SUB = "${cognito-identity.amazonaws.com:sub}"


def per_call(fn: Callable[[int], Any], calls: int, batches: int = 5) -> float:
    """Median milliseconds per call over ``batches`` batches of ``calls`` calls."""
    return statistics.median(support.timed(fn, calls, batches))


def _pool(idp: Any) -> tuple[str, str]:
    pool = idp.create_user_pool(PoolName="bench")["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool,
        ClientName="web",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool, Username="alice", MessageAction="SUPPRESS")
    idp.admin_set_user_password(
        UserPoolId=pool, Username="alice", Password=PASSWORD, Permanent=True
    )
    return pool, client


def _sign_in(idp: Any, client: str) -> dict[str, Any]:
    result: dict[str, Any] = idp.initiate_auth(
        ClientId=client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    return result


def stock() -> dict[str, float]:
    import boto3
    from moto import mock_aws

    with mock_aws():
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        idp, s3 = session.client("cognito-idp"), session.client("s3")
        _, client = _pool(idp)
        _sign_in(idp, client)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="k", Body=b"x" * 1024)
        return {
            "sign_in": per_call(lambda _: _sign_in(idp, client), 50),
            "s3_owner": per_call(lambda _: s3.get_object(Bucket=BUCKET, Key="k"), 100),
        }


def labkit_figures() -> dict[str, float]:
    import requests

    import labkit
    from labkit.services.cognitoidp.sim_tokens import TrustedPool, issuer_url, verify

    lab = labkit.start(quiet=True)
    try:
        idp, identity, iam, s3 = (
            lab.client(s) for s in ("cognito-idp", "cognito-identity", "iam", "s3")
        )
        pool, client = _pool(idp)
        started = time.perf_counter()
        tokens = _sign_in(idp, client)
        first = (time.perf_counter() - started) * 1000
        url = f"https://cognito-idp.us-east-1.amazonaws.com/{pool}/.well-known/jwks.json"
        jwks = requests.get(url, timeout=5).json()
        trusted = TrustedPool.from_jwks(issuer_url("us-east-1", pool), jwks)
        now = lab.clock.now
        figures = {
            "first_sign_in": first,
            "sign_in": per_call(lambda _: _sign_in(idp, client), 50),
            "verify": per_call(lambda _: verify(tokens["IdToken"], trusted, now=now), 500),
            "jwks": per_call(lambda _: requests.get(url, timeout=5), 100),
        }
        provider = f"cognito-idp.us-east-1.amazonaws.com/{pool}"
        ipool = identity.create_identity_pool(
            IdentityPoolName="files",
            AllowUnauthenticatedIdentities=False,
            CognitoIdentityProviders=[{"ProviderName": provider, "ClientId": client}],
        )["IdentityPoolId"]
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {"cognito-identity.amazonaws.com:aud": ipool}},
                }
            ],
        }
        role = iam.create_role(RoleName="user", AssumeRolePolicyDocument=json.dumps(trust))
        own = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{BUCKET}/private/{SUB}/*",
                }
            ],
        }
        iam.put_role_policy(RoleName="user", PolicyName="own", PolicyDocument=json.dumps(own))
        identity.set_identity_pool_roles(
            IdentityPoolId=ipool, Roles={"authenticated": role["Role"]["Arn"]}
        )
        logins = {provider: tokens["IdToken"]}

        def credentials(_: int) -> dict[str, Any]:
            found = identity.get_id(IdentityPoolId=ipool, Logins=logins)["IdentityId"]
            answer: dict[str, Any] = identity.get_credentials_for_identity(
                IdentityId=found, Logins=logins
            )
            return answer

        figures["credentials"] = per_call(credentials, 20)
        answer = credentials(0)
        me, creds = answer["IdentityId"], answer["Credentials"]
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="k", Body=b"x" * 1024)
        s3.put_object(Bucket=BUCKET, Key=f"private/{me}/k", Body=b"x" * 1024)
        user_s3 = lab.client(
            "s3",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretKey"],
            aws_session_token=creds["SessionToken"],
        )
        figures["s3_owner"] = per_call(lambda _: s3.get_object(Bucket=BUCKET, Key="k"), 100)
        figures["s3_identity"] = per_call(
            lambda _: user_s3.get_object(Bucket=BUCKET, Key=f"private/{me}/k"), 100
        )
        return figures
    finally:
        lab.stop()


def main() -> None:
    raw = stock()
    mine = labkit_figures()
    rows = [
        ("InitiateAuth USER_PASSWORD_AUTH", mine["sign_in"], raw["sign_in"]),
        ("first sign-in of a pool (makes its keys)", mine["first_sign_in"], None),
        ("verify(ID token), plain-Python RS256", mine["verify"], None),
        ("requests.get(jwks.json)", mine["jwks"], None),
        ("GetId + GetCredentialsForIdentity", mine["credentials"], None),
        ("S3 GetObject, owner credentials", mine["s3_owner"], raw["s3_owner"]),
        ("S3 GetObject, identity-pool role session", mine["s3_identity"], None),
    ]
    print("Cognito (median ms per call)          labkit    stock moto")
    for label, ours, theirs in rows:
        other = f"{theirs:10.3f}" if theirs is not None else "         -"
        print(f"  {label:<42} {ours:8.3f} {other}")


if __name__ == "__main__":
    main()
