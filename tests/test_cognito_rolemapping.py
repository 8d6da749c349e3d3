"""Group roles in ID tokens and identity pools' role mapping (by token, by rules)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from labkit.services.cognitoidentity.sim_rolemapping import RoleMappingError, choose_role
from labkit.services.cognitoidp.sim_tokens import decode

if TYPE_CHECKING:
    from labkit.lab import Lab

PASSWORD = "Corr3ct-Horse!"
ADMIN = "arn:aws:iam::123456789012:role/admin"
STAFF = "arn:aws:iam::123456789012:role/staff"
USER = "arn:aws:iam::123456789012:role/user"


def test_no_mapping_means_the_authenticated_role() -> None:
    assert choose_role(None, {"cognito:roles": [ADMIN]}, authenticated_role=USER) == USER


def test_token_mapping_prefers_the_preferred_role_then_a_custom_one_then_a_single_one() -> None:
    mapping = {"Type": "Token", "AmbiguousRoleResolution": "Deny"}
    claims = {"cognito:roles": [ADMIN, STAFF], "cognito:preferred_role": ADMIN}
    assert choose_role(mapping, claims, authenticated_role=USER) == ADMIN
    assert choose_role(mapping, claims, authenticated_role=USER, custom_role=STAFF) == STAFF
    with pytest.raises(RoleMappingError):
        choose_role(mapping, claims, authenticated_role=USER, custom_role=USER)
    assert choose_role(mapping, {"cognito:roles": [STAFF]}, authenticated_role=USER) == STAFF
    with pytest.raises(RoleMappingError):
        choose_role(mapping, {"cognito:roles": [ADMIN, STAFF]}, authenticated_role=USER)
    fallback = {"Type": "Token", "AmbiguousRoleResolution": "AuthenticatedRole"}
    assert choose_role(fallback, {}, authenticated_role=USER) == USER


@pytest.mark.parametrize(
    ("rule", "claims", "chosen"),
    [
        (
            {"Claim": "cognito:groups", "MatchType": "Contains", "Value": "admins"},
            {"cognito:groups": ["admins", "x"]},
            ADMIN,
        ),
        (
            {"Claim": "cognito:groups", "MatchType": "Contains", "Value": "admin"},
            {"cognito:groups": ["admins"]},
            USER,
        ),
        (
            {"Claim": "email", "MatchType": "Equals", "Value": "a@x.com"},
            {"email": "a@x.com"},
            ADMIN,
        ),
        ({"Claim": "email", "MatchType": "StartsWith", "Value": "a@"}, {"email": "a@x.com"}, ADMIN),
        (
            {"Claim": "email", "MatchType": "NotEqual", "Value": "a@x.com"},
            {"email": "b@x.com"},
            ADMIN,
        ),
        ({"Claim": "email", "MatchType": "NotEqual", "Value": "a@x.com"}, {}, USER),
    ],
)
def test_rules_pick_the_first_matching_role(
    rule: dict[str, str], claims: dict[str, Any], chosen: str
) -> None:
    mapping = {
        "Type": "Rules",
        "AmbiguousRoleResolution": "AuthenticatedRole",
        "RulesConfiguration": {"Rules": [{**rule, "RoleARN": ADMIN}]},
    }
    assert choose_role(mapping, claims, authenticated_role=USER) == chosen


def _trust(identity_pool: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {"cognito-identity.amazonaws.com:aud": identity_pool}
                    },
                }
            ],
        }
    )


def test_group_roles_reach_the_token_and_the_identity_pools_choice(lab: Lab) -> None:
    idp, identity, iam = (lab.client(s) for s in ("cognito-idp", "cognito-identity", "iam"))
    pool = idp.create_user_pool(PoolName="app")["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    provider = f"cognito-idp.us-east-1.amazonaws.com/{pool}"
    identity_pool = identity.create_identity_pool(
        IdentityPoolName="app",
        AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[{"ProviderName": provider, "ClientId": client}],
    )["IdentityPoolId"]
    for name in ("admin", "staff", "user"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust(identity_pool))
    idp.create_group(UserPoolId=pool, GroupName="admins", RoleArn=ADMIN, Precedence=1)
    idp.create_group(UserPoolId=pool, GroupName="staff", RoleArn=STAFF, Precedence=5)
    idp.admin_create_user(UserPoolId=pool, Username="ann", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool, Username="ann", Password=PASSWORD, Permanent=True)
    for group in ("admins", "staff"):
        idp.admin_add_user_to_group(UserPoolId=pool, Username="ann", GroupName=group)
    token = idp.initiate_auth(
        ClientId=client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ann", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]["IdToken"]
    claims = decode(token).claims
    assert claims["cognito:roles"] == [ADMIN, STAFF]
    assert claims["cognito:preferred_role"] == ADMIN

    def role_of(**extra: Any) -> str:
        logins = {provider: token}
        found = identity.get_id(IdentityPoolId=identity_pool, Logins=logins)["IdentityId"]
        creds = identity.get_credentials_for_identity(IdentityId=found, Logins=logins, **extra)[
            "Credentials"
        ]
        sts = lab.client(
            "sts",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretKey"],
            aws_session_token=creds["SessionToken"],
        )
        return str(sts.get_caller_identity()["Arn"]).split("/")[1]

    key = f"{provider}:{client}"
    identity.set_identity_pool_roles(IdentityPoolId=identity_pool, Roles={"authenticated": USER})
    assert role_of() == "user"
    identity.set_identity_pool_roles(
        IdentityPoolId=identity_pool,
        Roles={"authenticated": USER},
        RoleMappings={key: {"Type": "Token", "AmbiguousRoleResolution": "Deny"}},
    )
    assert role_of() == "admin"
    assert role_of(CustomRoleArn=STAFF) == "staff"
    with pytest.raises(ClientError) as exc:
        role_of(CustomRoleArn=USER)
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
    rules = {
        "Rules": [
            {"Claim": "cognito:groups", "MatchType": "Contains", "Value": "staff", "RoleARN": STAFF}
        ]
    }
    identity.set_identity_pool_roles(
        IdentityPoolId=identity_pool,
        Roles={"authenticated": USER},
        RoleMappings={
            key: {
                "Type": "Rules",
                "AmbiguousRoleResolution": "AuthenticatedRole",
                "RulesConfiguration": rules,
            }
        },
    )
    assert role_of() == "staff"
