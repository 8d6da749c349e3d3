# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   labkit:
#     lab: serverless_api
#     role: exercise
# ---

# %% [markdown]
# Another correct submission: the prod deployment reused for dev, keys returned as
# `create_api_key`'s answers, ID tokens that live 30 minutes, the groups read with a helper, the
# identity pool's whole answer returned, a larger cache that refuses unauthorized refreshes with
# 403, the administrator's whole `create_access_key` answer, and `create_rest_api`'s answers
# returned instead of ids.

# %%
import json

import labkit

lab = labkit.start("serverless_api")
REGION = "us-east-1"
ACCOUNT = "123456789012"
LAMBDA = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{}/invocations"


def child(apig, api_id, parent, part):
    return apig.create_resource(restApiId=api_id, parentId=parent, pathPart=part)["id"]


def root_of(apig, api_id):
    return next(r["id"] for r in apig.get_resources(restApiId=api_id)["items"] if r["path"] == "/")


# %%
def create_public_api(apig, function_arn):
    api = apig.create_rest_api(name="storefront", endpointConfiguration={"types": ["REGIONAL"]})
    products = child(apig, api["id"], root_of(apig, api["id"]), "products")
    apig.put_method(
        restApiId=api["id"],
        resourceId=products,
        httpMethod="GET",
        authorizationType="NONE",
        apiKeyRequired=True,
    )
    apig.put_integration(
        restApiId=api["id"],
        resourceId=products,
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=LAMBDA.format(function_arn),
    )
    prod = apig.create_deployment(restApiId=api["id"], stageName="prod", description="v1")
    apig.create_stage(restApiId=api["id"], stageName="dev", deploymentId=prod["id"])
    return api


def create_keys(apig, api_id):
    stages = [{"apiId": api_id, "stage": "prod"}, {"apiId": api_id, "stage": "dev"}]
    free_plan = apig.create_usage_plan(
        name="Free",
        apiStages=stages,
        throttle={"burstLimit": 5, "rateLimit": 2.0},
        quota={"limit": 100, "offset": 0, "period": "DAY"},
    )
    paid_plan = apig.create_usage_plan(name="Paid", apiStages=stages)
    free = apig.create_api_key(name="alice-free", enabled=True)
    paid = apig.create_api_key(name="bob-paid", enabled=True)
    apig.create_usage_plan_key(usagePlanId=free_plan["id"], keyId=free["id"], keyType="API_KEY")
    apig.create_usage_plan_key(usagePlanId=paid_plan["id"], keyId=paid["id"], keyType="API_KEY")
    return {"free": free, "paid": paid}


# %%
def create_user_pool(idp):
    pool_id = idp.create_user_pool(
        PoolName="shoppers",
        UsernameAttributes=["email"],
        AutoVerifiedAttributes=["email"],
        UsernameConfiguration={"CaseSensitive": False},
    )["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="spa",
        ExplicitAuthFlows=[
            "ALLOW_USER_PASSWORD_AUTH",
            "ALLOW_USER_SRP_AUTH",
            "ALLOW_REFRESH_TOKEN_AUTH",
        ],
        IdTokenValidity=30,
        AccessTokenValidity=30,
        TokenValidityUnits={"IdToken": "minutes", "AccessToken": "minutes"},
    )["UserPoolClient"]["ClientId"]
    for group in ("admins", "staff"):
        idp.create_group(UserPoolId=pool_id, GroupName=group)
    return pool_id, client_id


def groups_of(event):
    text = event["requestContext"]["authorizer"]["claims"].get("cognito:groups") or ""
    return {g.strip() for g in text.strip("[]").split(",") if g.strip()}


def orders_handler(event, context):
    if event["httpMethod"] == "DELETE":
        if "admins" not in groups_of(event):
            return {"statusCode": 403, "body": '{"message": "Forbidden"}'}
        order = event["pathParameters"]["id"]
        return {"statusCode": 200, "body": json.dumps({"deleted": order})}
    order = json.loads(event.get("body") or "{}")
    return {"statusCode": 201, "body": json.dumps({"created": order})}


def create_orders_api(apig, pool_arn, function_arn):
    api = apig.create_rest_api(name="orders-api")
    api_id = api["id"]
    auth = apig.create_authorizer(
        restApiId=api_id,
        name="pool",
        type="COGNITO_USER_POOLS",
        providerARNs=[pool_arn],
        identitySource="method.request.header.Authorization",
        authorizerResultTtlInSeconds=300,
    )
    orders = child(apig, api_id, root_of(apig, api_id), "orders")
    one = child(apig, api_id, orders, "{id}")
    for resource, verb in ((orders, "POST"), (one, "DELETE")):
        apig.put_method(
            restApiId=api_id,
            resourceId=resource,
            httpMethod=verb,
            authorizationType="COGNITO_USER_POOLS",
            authorizerId=auth["id"],
        )
        apig.put_integration(
            restApiId=api_id,
            resourceId=resource,
            httpMethod=verb,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=LAMBDA.format(function_arn),
        )
    apig.create_deployment(restApiId=api_id, stageName="prod")
    return api


# %%
def create_identity_pool(identity, iam, user_pool_id, client_id, bucket):
    created = identity.create_identity_pool(
        IdentityPoolName="shopper_storage",
        AllowUnauthenticatedIdentities=False,
        AllowClassicFlow=False,
        CognitoIdentityProviders=[
            {
                "ProviderName": f"cognito-idp.{REGION}.amazonaws.com/{user_pool_id}",
                "ClientId": client_id,
                "ServerSideTokenCheck": False,
            }
        ],
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        "cognito-identity.amazonaws.com:aud": created["IdentityPoolId"]
                    },
                    "ForAnyValue:StringLike": {
                        "cognito-identity.amazonaws.com:amr": "authenticated"
                    },
                },
            }
        ],
    }
    role = iam.create_role(RoleName="shopper", AssumeRolePolicyDocument=json.dumps(trust))
    me = "${cognito-identity.amazonaws.com:sub}"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:*Object",
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
    iam.put_role_policy(RoleName="shopper", PolicyName="mine", PolicyDocument=json.dumps(policy))
    identity.set_identity_pool_roles(
        IdentityPoolId=created["IdentityPoolId"], Roles={"authenticated": role["Role"]["Arn"]}
    )
    return created


# %%
def create_catalog_api(apig, function_arn):
    api = apig.create_rest_api(name="catalog-cached")
    api_id = api["id"]
    products = child(apig, api_id, root_of(apig, api_id), "products")
    apig.put_method(
        restApiId=api_id,
        resourceId=products,
        httpMethod="GET",
        authorizationType="NONE",
        requestParameters={"method.request.querystring.category": False},
    )
    apig.put_integration(
        restApiId=api_id,
        resourceId=products,
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=LAMBDA.format(function_arn),
        cacheKeyParameters=["method.request.querystring.category"],
        cacheNamespace="products",
    )
    apig.create_deployment(
        restApiId=api_id, stageName="prod", cacheClusterEnabled=True, cacheClusterSize="1.6"
    )
    settings = {
        "/*/*/caching/enabled": "true",
        "/*/*/caching/ttlInSeconds": "300",
        "/*/*/caching/requireAuthorizationForCacheControl": "true",
        "/*/*/caching/unauthorizedCacheControlHeaderStrategy": "FAIL_WITH_403",
    }
    apig.update_stage(
        restApiId=api_id,
        stageName="prod",
        patchOperations=[{"op": "replace", "path": p, "value": v} for p, v in settings.items()],
    )
    return api


def create_cache_admin(iam, api_id):
    iam.create_user(UserName="catalog-ops")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["execute-api:InvalidateCache"],
                "Resource": [f"arn:aws:execute-api:*:*:{api_id}/*"],
            }
        ],
    }
    iam.put_user_policy(UserName="catalog-ops", PolicyName="ops", PolicyDocument=json.dumps(policy))
    return iam.create_access_key(UserName="catalog-ops")


# %%
def create_ingest_api(apig, iam, stream_name):
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "apigateway.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = iam.create_role(RoleName="ingest-kinesis", AssumeRolePolicyDocument=json.dumps(trust))
    policy = iam.create_policy(
        PolicyName="put-one-stream",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "kinesis:PutRecord",
                        "Resource": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{stream_name}",
                    }
                ],
            }
        ),
    )
    iam.attach_role_policy(RoleName="ingest-kinesis", PolicyArn=policy["Policy"]["Arn"])
    api = apig.create_rest_api(name="events-in")
    api_id = api["id"]
    events = child(apig, api_id, root_of(apig, api_id), "events")
    apig.put_method(
        restApiId=api_id, resourceId=events, httpMethod="POST", authorizationType="NONE"
    )
    template = (
        '#set($event = $input.path("$"))\n'
        "{\n"
        f'  "StreamName": "{stream_name}",\n'
        '  "PartitionKey": "$event.user",\n'
        '  "Data": "$util.base64Encode($input.json(\'$\'))"\n'
        "}"
    )
    apig.put_integration(
        restApiId=api_id,
        resourceId=events,
        httpMethod="POST",
        type="AWS",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{REGION}:kinesis:action/PutRecord",
        credentials=role["Role"]["Arn"],
        requestTemplates={"application/json": template},
    )
    for status, pattern in (("200", None), ("400", "4\\d{2}")):
        apig.put_method_response(
            restApiId=api_id, resourceId=events, httpMethod="POST", statusCode=status
        )
        extra = {"selectionPattern": pattern} if pattern else {}
        apig.put_integration_response(
            restApiId=api_id, resourceId=events, httpMethod="POST", statusCode=status, **extra
        )
    apig.create_deployment(restApiId=api_id, stageName="prod")
    return api
