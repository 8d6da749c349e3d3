"""labkit grade on the serverless API lab: sample submissions, and the checks fed directly.

Each sample in tests/submissions/serverless_api/ is a jupytext percent file of a notebook a
learner might hand in, graded in a fresh kernel as `labkit grade` does. More alternatives and
mistakes are fed to the checks directly (functions in a namespace, no kernel), which is quicker:
every correct alternative must pass, and every plausible mistake must fail with a hint that names
what happened. The checks call the learner's API over HTTP at its invoke URL and try as outsiders
(no key, forged and expired tokens, another user, a guest, another identity pool).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import serverless_api_answers as answers
from grading_support import grade_samples, said, statuses
from serverless_api_answers import GOOD

import labkit
from labkit.grading.notebook import Submission
from labkit.lab import Lab
from labkit.labs import catalog

SAMPLES = Path(__file__).resolve().parent / "submissions" / "serverless_api"
CHECKS = ["public_api", "orders_auth", "own_files", "products_cache", "ingest"]


@pytest.fixture
def api_lab() -> Iterator[Lab]:
    lab = labkit.start("serverless_api", quiet=True)
    yield lab
    lab.stop()


def run(lab: Lab, check: str, **functions: Any) -> tuple[str, str]:
    result = lab.check(check, {**GOOD, **functions})
    return result.status, f"{result.message} Hint: {result.hint}"


def test_the_lab_comes_after_the_step_functions_lab() -> None:
    labs = list(catalog())
    assert labs.index("serverless_api") == labs.index("stepfunctions") + 1
    assert [c.name for c in catalog()["serverless_api"].checks] == CHECKS


def test_the_reference_answers_pass_every_check(api_lab: Lab) -> None:
    for check in CHECKS:
        status, text = run(api_lab, check)
        assert status == "passed", (check, text)


# -- the sample notebooks -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Submission]:
    return grade_samples(SAMPLES, tmp_path_factory)


@pytest.mark.parametrize("sample", ["passing_alternative", "passing_resources"])
def test_correct_alternatives_pass_every_check(graded: dict[str, Submission], sample: str) -> None:
    sub = graded[sample]
    assert sub.error is None and not sub.notes, sub.text()
    assert statuses(sub) == dict.fromkeys(CHECKS, "passed"), sub.text()
    assert sub.score == sub.max_score == 10


def test_no_key_no_group_check_whole_folder_no_caching_escaped_data(
    graded: dict[str, Submission],
) -> None:
    sub = graded["open_and_trusting"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed"), sub.text()
    assert "without an API key answered 200" in said(sub, "public_api")
    assert "apiKeyRequired=True" in said(sub, "public_api")
    assert "who is not in `admins`, answered 200" in said(sub, "orders_auth")
    assert "cognito:groups" in said(sub, "orders_auth")
    assert "could read ben@example.com's" in said(sub, "own_files")
    assert "lets every user into every prefix" in said(sub, "own_files")
    assert "150 of 150 requests" in said(sub, "products_cache")
    assert "caching/enabled" in said(sub, "products_cache")
    assert "SerializationException" in said(sub, "ingest")
    assert "is not base64" in said(sub, "ingest")


def test_stage_throttle_no_codes_no_listing_no_cache_key_one_partition_key(
    graded: dict[str, Submission],
) -> None:
    sub = graded["limits_everyone"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed"), sub.text()
    assert "paid customers are limited too" in said(sub, "public_api")
    assert "stage-wide throttle" in said(sub, "public_api")
    assert "sent no confirmation code" in said(sub, "orders_auth")
    assert "AutoVerifiedAttributes" in said(sub, "orders_auth")
    assert "tried to list their own" in said(sub, "own_files")
    assert "s3:prefix" in said(sub, "own_files")
    assert "one cached answer serves every category" in said(sub, "products_cache")
    assert "cacheKeyParameters" in said(sub, "products_cache")
    assert "every event lands on one shard" in said(sub, "ingest")


def test_weekly_quota_unverified_token_open_trust_open_refresh_wide_role(
    graded: dict[str, Submission],
) -> None:
    sub = graded["trusts_the_token"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed"), sub.text()
    assert "its quota is not per day" in said(sub, "public_api")
    assert "its claims edited to add `admins`" in said(sub, "orders_auth")
    assert "only decodes the token" in said(sub, "orders_auth")
    assert "trusts every identity pool" in said(sub, "own_files")
    assert "cognito-identity.amazonaws.com:aud" in said(sub, "own_files")
    assert "An anonymous `Cache-Control: max-age=0`" in said(sub, "products_cache")
    assert "requireAuthorizationForCacheControl" in said(sub, "products_cache")
    assert "may also put records into `payments`" in said(sub, "ingest")


def test_prod_only_plans_no_password_flow_nosy_guests_hour_cache_no_responses(
    graded: dict[str, Submission],
) -> None:
    sub = graded["prod_only"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed"), sub.text()
    assert "refused on the dev stage" in said(sub, "public_api")
    assert "USER_PASSWORD_AUTH flow not enabled" in said(sub, "orders_auth")
    assert "ALLOW_USER_PASSWORD_AUTH" in said(sub, "orders_auth")
    assert "A guest (no sign-in) could read" in said(sub, "own_files")
    assert "unauthenticated role" in said(sub, "own_files")
    assert "cache still answered it" in said(sub, "products_cache")
    assert "ttlInSeconds" in said(sub, "products_cache")
    assert "answered 500" in said(sub, "ingest")
    assert "integration response for 200" in said(sub, "ingest")


# -- alternatives -------------------------------------------------------------------------------
def keys_by_id_as_tuple(apig: Any, api_id: str) -> tuple[str, str]:
    """Plans made empty and given their stages and limits later; keys returned by id."""
    ids = []
    for name in ("paid", "free"):
        plan = apig.create_usage_plan(name=name)["id"]
        operations = [
            {"op": "add", "path": "/apiStages", "value": f"{api_id}:{stage}"}
            for stage in ("dev", "prod")
        ]
        if name == "free":
            operations += [
                {"op": "replace", "path": "/throttle/rateLimit", "value": "2"},
                {"op": "replace", "path": "/throttle/burstLimit", "value": "5"},
                {"op": "replace", "path": "/quota/limit", "value": "100"},
                {"op": "replace", "path": "/quota/period", "value": "DAY"},
            ]
        apig.update_usage_plan(usagePlanId=plan, patchOperations=operations)
        key = apig.create_api_key(name=name, enabled=True, value=f"{name}-key-0123456789abcdef")
        apig.create_usage_plan_key(usagePlanId=plan, keyId=key["id"], keyType="API_KEY")
        ids.append(key["id"])
    return ids[1], ids[0]


def method_throttled_keys(apig: Any, api_id: str) -> dict[str, Any]:
    """The free plan's throttle set per method, on each stage; keys returned as responses."""
    limit = {"/products/GET": {"rateLimit": 2, "burstLimit": 5}}
    free_plan = apig.create_usage_plan(
        name="free",
        apiStages=[{"apiId": api_id, "stage": s, "throttle": limit} for s in ("dev", "prod")],
        quota={"limit": 100, "period": "DAY"},
    )
    paid_plan = apig.create_usage_plan(
        name="paid", apiStages=[{"apiId": api_id, "stage": s} for s in ("dev", "prod")]
    )
    keys = {}
    for name, plan in (("free", free_plan), ("paid", paid_plan)):
        keys[name] = apig.create_api_key(name=name, enabled=True)
        apig.create_usage_plan_key(
            usagePlanId=plan["id"], keyId=keys[name]["id"], keyType="API_KEY"
        )
    return keys


def two_deployments_by_name(apig: Any, function_arn: str) -> str:
    api = apig.create_rest_api(name="shop-v2")["id"]
    answers.proxy_method(apig, api, "/products", "GET", function_arn, apiKeyRequired=True)
    for stage in ("dev", "prod"):
        apig.create_deployment(restApiId=api, stageName=stage)
    return "shop-v2"


def pool_with_secret_and_names(idp: Any) -> dict[str, str]:
    """No email sign-in names (the email is only an attribute), a client with a secret."""
    pool = idp.create_user_pool(PoolName="shop", AutoVerifiedAttributes=["email"])["UserPool"]
    client = idp.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName="server",
        GenerateSecret=True,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]
    idp.create_group(UserPoolId=pool["Id"], GroupName="admins", Precedence=1)
    return {"UserPoolId": pool["Id"], "ClientId": client["ClientId"]}


def scoped_orders_api(apig: Any, pool_arn: str, function_arn: str) -> str:
    """Both methods want an access token with the user's own scope."""
    api = apig.create_rest_api(name="orders")["id"]
    authorizer = apig.create_authorizer(
        restApiId=api,
        name="users",
        type="COGNITO_USER_POOLS",
        providerARNs=[pool_arn],
        identitySource="method.request.header.Authorization",
    )["id"]
    secured = {
        "authorizationType": "COGNITO_USER_POOLS",
        "authorizerId": authorizer,
        "authorizationScopes": ["aws.cognito.signin.user.admin"],
    }
    answers.proxy_method(apig, api, "/orders", "POST", function_arn, **secured)
    answers.proxy_method(apig, api, "/orders/{id}", "DELETE", function_arn, **secured)
    apig.create_deployment(restApiId=api, stageName="prod")
    return f"https://{api}.execute-api.us-east-1.amazonaws.com/prod"


def orders_by_group_list(event: Any, context: Any) -> Any:
    """Access tokens carry no email; answers 401 (not 403) to a non-admin."""
    claims = event["requestContext"]["authorizer"]["claims"]
    admin = "admins" in str(claims.get("cognito:groups", "")).split(",")
    if event["httpMethod"] == "DELETE" and not admin:
        return {"statusCode": 401, "body": json.dumps({"message": "admins only"})}
    return {"statusCode": 201, "body": json.dumps({"ok": True})}


def verified_gate(event: Any, context: Any) -> Any:
    """A TOKEN authorizer: Cognito verifies the access token (GetUser checks its signature and
    expiry), then the verified token's groups decide DELETE."""
    import base64

    import boto3

    token = event.get("authorizationToken", "")
    try:
        user = boto3.client("cognito-idp", region_name="us-east-1").get_user(AccessToken=token)
    except Exception:
        raise Exception("Unauthorized") from None
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    verb = event["methodArn"].split("/")[2]
    allowed = verb != "DELETE" or "admins" in claims.get("cognito:groups", [])
    statement = {
        "Action": "execute-api:Invoke",
        "Effect": "Allow" if allowed else "Deny",
        "Resource": event["methodArn"],
    }
    return {
        "principalId": user["Username"],
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
    }


def trusting_gate(event: Any, context: Any) -> Any:
    """A TOKEN authorizer that decodes the token and believes it (no signature check)."""
    import base64

    token = event.get("authorizationToken", "")
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except Exception:
        raise Exception("Unauthorized") from None
    verb = event["methodArn"].split("/")[2]
    allowed = verb != "DELETE" or "admins" in claims.get("cognito:groups", [])
    statement = {
        "Action": "execute-api:Invoke",
        "Effect": "Allow" if allowed else "Deny",
        "Resource": event["methodArn"],
    }
    return {
        "principalId": claims.get("sub", "?"),
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
    }


def accept_all(event: Any, context: Any) -> Any:
    """The orders backend behind an authorizer that has decided everything already."""
    return {"statusCode": 200, "body": json.dumps({"ok": True})}


def gated_orders_api(gate: Any) -> Any:
    def create_orders_api(apig: Any, pool_arn: str, function_arn: str, deploy: Any) -> str:
        gate_arn = deploy(gate)
        api = str(apig.create_rest_api(name="orders")["id"])
        authorizer = apig.create_authorizer(
            restApiId=api,
            name="gate",
            type="TOKEN",
            authorizerUri=answers.lambda_uri(gate_arn),
            identitySource="method.request.header.Authorization",
            authorizerResultTtlInSeconds=0,
        )["id"]
        custom = {"authorizationType": "CUSTOM", "authorizerId": authorizer}
        answers.proxy_method(apig, api, "/orders", "POST", function_arn, **custom)
        answers.proxy_method(apig, api, "/orders/{id}", "DELETE", function_arn, **custom)
        apig.create_deployment(restApiId=api, stageName="prod")
        return api

    return create_orders_api


def identity_pool_with_guests_and_managed_policy(
    identity: Any, iam: Any, user_pool_id: str, client_id: str, bucket: str
) -> str:
    """Guests read public/ only; the users' policy is a managed policy; the pool's name is
    returned."""
    pool = identity.create_identity_pool(
        IdentityPoolName="files_with_guests",
        AllowUnauthenticatedIdentities=True,
        CognitoIdentityProviders=[
            {
                "ProviderName": f"cognito-idp.us-east-1.amazonaws.com/{user_pool_id}",
                "ClientId": client_id,
            }
        ],
    )["IdentityPoolId"]
    users = iam.create_role(RoleName="users", AssumeRolePolicyDocument=answers.trust(pool))
    policy = iam.create_policy(
        PolicyName="own-prefix", PolicyDocument=json.dumps(answers.own_prefix(bucket))
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="users", PolicyArn=policy)
    guests = iam.create_role(
        RoleName="guests", AssumeRolePolicyDocument=answers.trust(pool, "unauthenticated")
    )
    public = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/public/*",
            }
        ],
    }
    iam.put_role_policy(RoleName="guests", PolicyName="public", PolicyDocument=json.dumps(public))
    identity.set_identity_pool_roles(
        IdentityPoolId=pool,
        Roles={"authenticated": users["Role"]["Arn"], "unauthenticated": guests["Role"]["Arn"]},
    )
    return "files_with_guests"


def admin_as_tuple(iam: Any, api_id: str) -> tuple[str, str]:
    iam.create_user(UserName="ops")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "execute-api:InvalidateCache", "Resource": "*"},
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"},
        ],
    }
    iam.put_user_policy(UserName="ops", PolicyName="ops", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="ops")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


@pytest.mark.parametrize(
    ("check", "functions"),
    [
        ("public_api", {"create_keys": keys_by_id_as_tuple}),
        ("public_api", {"create_keys": method_throttled_keys}),
        ("public_api", {"create_public_api": two_deployments_by_name}),
        (
            "orders_auth",
            {
                "create_user_pool": pool_with_secret_and_names,
                "create_orders_api": scoped_orders_api,
                "orders_handler": orders_by_group_list,
            },
        ),
        (
            "orders_auth",
            {
                "create_orders_api": gated_orders_api(verified_gate),
                "orders_handler": accept_all,
            },
        ),
        ("own_files", {"create_identity_pool": identity_pool_with_guests_and_managed_policy}),
        ("products_cache", {"create_cache_admin": admin_as_tuple}),
        (
            "ingest",
            {
                "create_ingest_api": answers.ingest_api(
                    answers.KINESIS_TEMPLATE.replace("$input.body", "$input.json('$')")
                )
            },
        ),
    ],
)
def test_more_correct_alternatives_pass(api_lab: Lab, check: str, functions: Any) -> None:
    status, text = run(api_lab, check, **functions)
    assert status == "passed", text


# -- mistakes -----------------------------------------------------------------------------------
def open_products(apig: Any, function_arn: str) -> str:
    """Keys made, but the method does not require one."""
    api = str(apig.create_rest_api(name="shop")["id"])
    answers.proxy_method(apig, api, "/products", "GET", function_arn)
    deployment = apig.create_deployment(restApiId=api, stageName="dev")["id"]
    apig.create_stage(restApiId=api, stageName="prod", deploymentId=deployment)
    return api


def prod_only_keys(apig: Any, api_id: str) -> dict[str, str]:
    keys = {}
    for name, limits in (("free", answers.FREE), ("paid", {})):
        plan = apig.create_usage_plan(
            name=name, apiStages=[{"apiId": api_id, "stage": "prod"}], **limits
        )
        key = apig.create_api_key(name=name, enabled=True)
        apig.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
        keys[name] = key["value"]
    return keys


def stage_throttled(apig: Any, function_arn: str) -> str:
    """The limit put on the stage for everyone, not in the free plan."""
    api = answers.create_public_api(apig, function_arn)
    for stage in ("dev", "prod"):
        apig.update_stage(
            restApiId=api,
            stageName=stage,
            patchOperations=[
                {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "2"},
                {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "5"},
            ],
        )
    return api


def no_group_check(event: Any, context: Any) -> Any:
    return {"statusCode": 200, "body": json.dumps({"ok": True})}


def open_delete_api(apig: Any, pool_arn: str, function_arn: str) -> str:
    """POST secured; DELETE left open, trusting the handler to read the token."""
    api = str(apig.create_rest_api(name="orders")["id"])
    authorizer = apig.create_authorizer(
        restApiId=api,
        name="users",
        type="COGNITO_USER_POOLS",
        providerARNs=[pool_arn],
        identitySource="method.request.header.Authorization",
    )["id"]
    answers.proxy_method(
        apig,
        api,
        "/orders",
        "POST",
        function_arn,
        authorizationType="COGNITO_USER_POOLS",
        authorizerId=authorizer,
    )
    answers.proxy_method(apig, api, "/orders/{id}", "DELETE", function_arn)
    apig.create_deployment(restApiId=api, stageName="prod")
    return api


def decoding_handler(event: Any, context: Any) -> Any:
    """Reads the groups from the token itself, without checking its signature."""
    import base64

    token = (event.get("headers") or {}).get("Authorization") or ""
    if token.count(".") != 2:
        return {"statusCode": 401, "body": json.dumps({"message": "Unauthorized"})}
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    if event["httpMethod"] == "DELETE" and "admins" not in claims.get("cognito:groups", []):
        return {"statusCode": 403, "body": json.dumps({"message": "admins only"})}
    return {"statusCode": 200, "body": json.dumps({"ok": True})}


def pool_without_codes(idp: Any) -> tuple[str, str]:
    pool = idp.create_user_pool(PoolName="shop", UsernameAttributes=["email"])["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool, ClientName="web", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    idp.create_group(UserPoolId=pool, GroupName="admins")
    return pool, client


def pool_without_password_flow(idp: Any) -> tuple[str, str]:
    pool = idp.create_user_pool(
        PoolName="shop", UsernameAttributes=["email"], AutoVerifiedAttributes=["email"]
    )["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="web")["UserPoolClient"][
        "ClientId"
    ]
    idp.create_group(UserPoolId=pool, GroupName="admins")
    return pool, client


def identity_pool_with(policy: dict[str, Any], trust: Any = answers.trust) -> Any:
    def create_identity_pool(
        identity: Any, iam: Any, user_pool_id: str, client_id: str, bucket: str
    ) -> str:
        pool = identity.create_identity_pool(
            IdentityPoolName="files",
            AllowUnauthenticatedIdentities=False,
            CognitoIdentityProviders=[
                {
                    "ProviderName": f"cognito-idp.us-east-1.amazonaws.com/{user_pool_id}",
                    "ClientId": client_id,
                }
            ],
        )["IdentityPoolId"]
        role = iam.create_role(RoleName="files-user", AssumeRolePolicyDocument=trust(pool))
        iam.put_role_policy(
            RoleName="files-user", PolicyName="files", PolicyDocument=json.dumps(policy)
        )
        identity.set_identity_pool_roles(
            IdentityPoolId=pool, Roles={"authenticated": role["Role"]["Arn"]}
        )
        return str(pool)

    return create_identity_pool


def trust_any_pool(pool: str) -> str:
    document = json.loads(answers.trust(pool))
    del document["Statement"][0]["Condition"]["StringEquals"]
    return json.dumps(document)


WHOLE_PRIVATE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::user-files", "arn:aws:s3:::user-files/private/*"],
        }
    ],
}
NO_LIST = {
    "Version": "2012-10-17",
    "Statement": answers.own_prefix("user-files")["Statement"][:1],
}


def cache_setting(path: str, value: str) -> Any:
    def create_catalog_api(apig: Any, function_arn: str) -> str:
        api = answers.create_catalog_api(apig, function_arn)
        apig.update_stage(
            restApiId=api,
            stageName="prod",
            patchOperations=[{"op": "replace", "path": path, "value": value}],
        )
        return api

    return create_catalog_api


def catalog_without_cache_key(apig: Any, function_arn: str) -> str:
    api = str(apig.create_rest_api(name="catalog")["id"])
    answers.proxy_method(apig, api, "/products", "GET", function_arn)
    apig.create_deployment(
        restApiId=api, stageName="prod", cacheClusterEnabled=True, cacheClusterSize="0.5"
    )
    apig.update_stage(
        restApiId=api,
        stageName="prod",
        patchOperations=[{"op": "replace", "path": "/*/*/caching/enabled", "value": "true"}],
    )
    return api


def invoke_only_admin(iam: Any, api_id: str) -> Any:
    iam.create_user(UserName="ops")
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}],
    }
    iam.put_user_policy(UserName="ops", PolicyName="ops", PolicyDocument=json.dumps(policy))
    return iam.create_access_key(UserName="ops")["AccessKey"]


@pytest.mark.parametrize(
    ("check", "functions", "names"),
    [
        ("public_api", {"create_public_api": open_products}, "without an API key answered 200"),
        ("public_api", {"create_keys": prod_only_keys}, "refused on the dev stage"),
        ("public_api", {"create_public_api": stage_throttled}, "paid key was refused at request"),
        (
            "public_api",
            {"create_keys": answers.plans({"throttle": {"rateLimit": 2, "burstLimit": 5}})},
            "requests answered in one day (two a second)",
        ),
        (
            "public_api",
            {
                "create_keys": answers.plans(
                    {**answers.FREE, "quota": {"limit": 100, "period": "WEEK"}}
                )
            },
            "not per day",
        ),
        (
            "public_api",
            {
                "create_keys": answers.plans(
                    {**answers.FREE, "throttle": {"rateLimit": 2, "burstLimit": 10}}
                )
            },
            "got 10 requests answered at one moment",
        ),
        (
            "public_api",
            {
                "create_keys": answers.plans(
                    {**answers.FREE, "throttle": {"rateLimit": 1, "burstLimit": 5}}
                )
            },
            "refills at 1 a second",
        ),
        ("public_api", {"create_keys": lambda apig, api: None}, "not the two keys"),
        ("orders_auth", {"orders_handler": no_group_check}, "who is not in `admins`, answered 200"),
        (
            "orders_auth",
            {"create_orders_api": open_delete_api, "orders_handler": decoding_handler},
            "its claims edited to add `admins`",
        ),
        (
            "orders_auth",
            {
                "create_orders_api": gated_orders_api(trusting_gate),
                "orders_handler": no_group_check,
            },
            "its claims edited to add `admins`",
        ),
        ("orders_auth", {"create_user_pool": pool_without_codes}, "sent no confirmation code"),
        (
            "orders_auth",
            {"create_user_pool": pool_without_password_flow},
            "ALLOW_USER_PASSWORD_AUTH",
        ),
        (
            "own_files",
            {"create_identity_pool": identity_pool_with(WHOLE_PRIVATE)},
            "could read ben@example.com's",
        ),
        (
            "own_files",
            {"create_identity_pool": identity_pool_with(NO_LIST)},
            "tried to list their own",
        ),
        (
            "own_files",
            {
                "create_identity_pool": identity_pool_with(
                    answers.own_prefix("user-files"), trust_any_pool
                )
            },
            "trusts every identity pool",
        ),
        (
            "products_cache",
            {"create_catalog_api": catalog_without_cache_key},
            "one cached answer serves every category",
        ),
        (
            "products_cache",
            {"create_catalog_api": cache_setting("/*/*/caching/enabled", "false")},
            "150 of 150 requests",
        ),
        (
            "products_cache",
            {"create_catalog_api": cache_setting("/*/*/caching/ttlInSeconds", "3600")},
            "still answered it",
        ),
        (
            "products_cache",
            {"create_catalog_api": cache_setting("/*/*/caching/ttlInSeconds", "30")},
            "the TTL is shorter",
        ),
        (
            "products_cache",
            {
                "create_catalog_api": cache_setting(
                    "/*/*/caching/requireAuthorizationForCacheControl", "false"
                )
            },
            "An anonymous `Cache-Control: max-age=0`",
        ),
        ("products_cache", {"create_cache_admin": invoke_only_admin}, "did not refresh"),
        (
            "ingest",
            {
                "create_ingest_api": answers.ingest_api(
                    answers.KINESIS_TEMPLATE.replace(
                        "$util.base64Encode($input.body)", "$util.escapeJavaScript($input.body)"
                    )
                )
            },
            "is not base64",
        ),
        (
            "ingest",
            {
                "create_ingest_api": answers.ingest_api(
                    answers.KINESIS_TEMPLATE.replace("$input.path('$.user')", "events")
                )
            },
            "every event lands on one shard",
        ),
        (
            "ingest",
            {"create_ingest_api": answers.ingest_api(answers.KINESIS_TEMPLATE, "*")},
            "may also put records into `payments`",
        ),
    ],
)
def test_plausible_mistakes_fail_with_a_hint_that_names_them(
    api_lab: Lab, check: str, functions: dict[str, Any], names: str
) -> None:
    status, text = run(api_lab, check, **functions)
    assert status == "failed", text
    assert names in text


def test_a_stage_may_refuse_an_unauthorized_refresh_with_403(api_lab: Lab) -> None:
    strict = cache_setting("/*/*/caching/unauthorizedCacheControlHeaderStrategy", "FAIL_WITH_403")
    status, text = run(api_lab, "products_cache", create_catalog_api=strict)
    assert status == "passed", text


def test_a_check_leaves_the_learners_sandbox_and_clock_alone(api_lab: Lab) -> None:
    apig = api_lab.client("apigateway")
    mine = apig.create_rest_api(name="mine")["id"]
    before = api_lab.clock.now
    for check in ("public_api", "orders_auth"):  # a day of lab time; users signed up
        run(api_lab, check)
    assert api_lab.clock.now == before
    assert [a["id"] for a in apig.get_rest_apis()["items"]] == [mine]
    assert api_lab.mailbox.messages() == []
    assert api_lab.client("cognito-idp").list_user_pools(MaxResults=10)["UserPools"] == []
