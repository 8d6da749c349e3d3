"""Reference answers of the serverless API lab, as plain functions: the checks are fed these
(and variations of them) directly in tests/test_grade_serverless_api.py."""

from __future__ import annotations

import json
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"


def lambda_uri(arn: str) -> str:
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"


def resource(apig: Any, api: str, path: str) -> str:
    """The id of ``path`` in ``api``, created (with its parents) when missing."""
    ids = {r["path"]: r["id"] for r in apig.get_resources(restApiId=api)["items"]}
    parent = "/"
    for part in [p for p in path.split("/") if p]:
        here = f"{parent.rstrip('/')}/{part}"
        if here not in ids:
            ids[here] = apig.create_resource(restApiId=api, parentId=ids[parent], pathPart=part)[
                "id"
            ]
        parent = here
    return str(ids[path])


def proxy_method(apig: Any, api: str, path: str, verb: str, arn: str, **method: Any) -> str:
    res = resource(apig, api, path)
    method.setdefault("authorizationType", "NONE")
    apig.put_method(restApiId=api, resourceId=res, httpMethod=verb, **method)
    apig.put_integration(
        restApiId=api,
        resourceId=res,
        httpMethod=verb,
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=lambda_uri(arn),
    )
    return res


# -- task 1 -----------------------------------------------------------------------------------
def create_public_api(apig: Any, function_arn: str) -> str:
    api = str(apig.create_rest_api(name="shop")["id"])
    proxy_method(apig, api, "/products", "GET", function_arn, apiKeyRequired=True)
    deployment = apig.create_deployment(restApiId=api, stageName="dev")["id"]
    apig.create_stage(restApiId=api, stageName="prod", deploymentId=deployment)
    return api


def plans(free: dict[str, Any]) -> Any:
    def create_keys(apig: Any, api_id: str) -> dict[str, str]:
        keys = {}
        for name, limits in (("free", free), ("paid", {})):
            stages = [{"apiId": api_id, "stage": s} for s in ("dev", "prod")]
            plan = apig.create_usage_plan(name=name, apiStages=stages, **limits)
            key = apig.create_api_key(name=f"{name}-customer", enabled=True)
            apig.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
            keys[name] = key["value"]
        return keys

    return create_keys


FREE = {
    "throttle": {"rateLimit": 2, "burstLimit": 5},
    "quota": {"limit": 100, "period": "DAY"},
}
create_keys = plans(FREE)


# -- task 2 -----------------------------------------------------------------------------------
def create_user_pool(idp: Any) -> tuple[str, str]:
    pool = idp.create_user_pool(
        PoolName="shop-users", UsernameAttributes=["email"], AutoVerifiedAttributes=["email"]
    )["UserPool"]["Id"]
    client = idp.create_user_pool_client(
        UserPoolId=pool,
        ClientName="web",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.create_group(UserPoolId=pool, GroupName="admins")
    return pool, client


def orders_handler(event: Any, context: Any) -> Any:
    claims = event["requestContext"]["authorizer"]["claims"]
    groups = claims.get("cognito:groups", "").replace(",", " ").strip("[]").split()
    if event["httpMethod"] == "DELETE" and "admins" not in groups:
        return {"statusCode": 403, "body": json.dumps({"message": "admins only"})}
    return {"statusCode": 200, "body": json.dumps({"by": claims["email"]})}


def create_orders_api(apig: Any, pool_arn: str, function_arn: str) -> str:
    api = str(apig.create_rest_api(name="orders")["id"])
    authorizer = apig.create_authorizer(
        restApiId=api,
        name="users",
        type="COGNITO_USER_POOLS",
        providerARNs=[pool_arn],
        identitySource="method.request.header.Authorization",
    )["id"]
    secured = {"authorizationType": "COGNITO_USER_POOLS", "authorizerId": authorizer}
    proxy_method(apig, api, "/orders", "POST", function_arn, **secured)
    proxy_method(apig, api, "/orders/{id}", "DELETE", function_arn, **secured)
    apig.create_deployment(restApiId=api, stageName="prod")
    return api


# -- task 3 -----------------------------------------------------------------------------------
def trust(identity_pool: str, amr: str = "authenticated") -> str:
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


def own_prefix(bucket: str) -> dict[str, Any]:
    me = "${cognito-identity.amazonaws.com:sub}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": f"arn:aws:s3:::{bucket}/private/{me}/*",
            },
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{bucket}",
                "Condition": {"StringLike": {"s3:prefix": f"private/{me}/*"}},
            },
        ],
    }


def create_identity_pool(
    identity: Any, iam: Any, user_pool_id: str, client_id: str, bucket: str
) -> str:
    pool = identity.create_identity_pool(
        IdentityPoolName="files",
        AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[
            {
                "ProviderName": f"cognito-idp.{REGION}.amazonaws.com/{user_pool_id}",
                "ClientId": client_id,
            }
        ],
    )["IdentityPoolId"]
    role = iam.create_role(RoleName="files-user", AssumeRolePolicyDocument=trust(pool))["Role"]
    iam.put_role_policy(
        RoleName="files-user",
        PolicyName="own-prefix",
        PolicyDocument=json.dumps(own_prefix(bucket)),
    )
    identity.set_identity_pool_roles(IdentityPoolId=pool, Roles={"authenticated": role["Arn"]})
    return str(pool)


# -- task 4 -----------------------------------------------------------------------------------
def create_catalog_api(apig: Any, function_arn: str) -> str:
    api = str(apig.create_rest_api(name="catalog")["id"])
    res = resource(apig, api, "/products")
    apig.put_method(
        restApiId=api,
        resourceId=res,
        httpMethod="GET",
        authorizationType="NONE",
        requestParameters={"method.request.querystring.category": False},
    )
    apig.put_integration(
        restApiId=api,
        resourceId=res,
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=lambda_uri(function_arn),
        cacheKeyParameters=["method.request.querystring.category"],
    )
    apig.create_deployment(
        restApiId=api, stageName="prod", cacheClusterEnabled=True, cacheClusterSize="0.5"
    )
    apig.update_stage(
        restApiId=api,
        stageName="prod",
        patchOperations=[{"op": "replace", "path": "/*/*/caching/enabled", "value": "true"}],
    )
    return api


def create_cache_admin(iam: Any, api_id: str) -> Any:
    iam.create_user(UserName="catalog-admin")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "execute-api:InvalidateCache",
                "Resource": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/prod/GET/products",
            }
        ],
    }
    iam.put_user_policy(
        UserName="catalog-admin", PolicyName="flush", PolicyDocument=json.dumps(policy)
    )
    return iam.create_access_key(UserName="catalog-admin")


# -- task 5 -----------------------------------------------------------------------------------
KINESIS_TEMPLATE = """{
  "StreamName": "%s",
  "Data": "$util.base64Encode($input.body)",
  "PartitionKey": "$input.path('$.user')"
}"""


def kinesis_role(iam: Any, stream_name: str, resource_arn: str | None = None) -> str:
    trust_apigw = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "apigateway.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    arn = iam.create_role(RoleName="ingest", AssumeRolePolicyDocument=json.dumps(trust_apigw))[
        "Role"
    ]["Arn"]
    target = resource_arn or f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{stream_name}"
    put = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kinesis:PutRecord", "Resource": target}],
    }
    iam.put_role_policy(RoleName="ingest", PolicyName="put", PolicyDocument=json.dumps(put))
    return str(arn)


def ingest_api(template: str, resource_arn: str | None = None) -> Any:
    def create_ingest_api(apig: Any, iam: Any, stream_name: str) -> str:
        role = kinesis_role(iam, stream_name, resource_arn)
        api = str(apig.create_rest_api(name="ingest")["id"])
        res = resource(apig, api, "/events")
        apig.put_method(restApiId=api, resourceId=res, httpMethod="POST", authorizationType="NONE")
        apig.put_integration(
            restApiId=api,
            resourceId=res,
            httpMethod="POST",
            type="AWS",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:{REGION}:kinesis:action/PutRecord",
            credentials=role,
            requestTemplates={"application/json": template.replace("%s", stream_name)},
        )
        apig.put_method_response(restApiId=api, resourceId=res, httpMethod="POST", statusCode="200")
        apig.put_integration_response(
            restApiId=api, resourceId=res, httpMethod="POST", statusCode="200"
        )
        apig.create_deployment(restApiId=api, stageName="prod")
        return api

    return create_ingest_api


create_ingest_api = ingest_api(KINESIS_TEMPLATE)

GOOD: dict[str, Any] = {
    "create_public_api": create_public_api,
    "create_keys": create_keys,
    "create_user_pool": create_user_pool,
    "orders_handler": orders_handler,
    "create_orders_api": create_orders_api,
    "create_identity_pool": create_identity_pool,
    "create_catalog_api": create_catalog_api,
    "create_cache_admin": create_cache_admin,
    "create_ingest_api": create_ingest_api,
}
