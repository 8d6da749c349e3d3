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
# A correct submission written differently from the solution: resources by path, the API
# returned by name, usage plans created empty and patched (keys returned by id, as a tuple), a
# client with a secret and usernames that are not emails, access tokens with a scope, a handler
# answering 401 to non-admins, guests with a role of their own and a managed policy, caching
# turned on for the one method, an administrator key as a tuple, and the stream named by a
# stage variable.

# %%
import json

import labkit

lab = labkit.start("serverless_api")
REGION = "us-east-1"
ACCOUNT = "123456789012"


def path_id(apig, api_id, path):
    """The resource at `path`, created with its parents when missing."""
    known = {r["path"]: r["id"] for r in apig.get_resources(restApiId=api_id)["items"]}
    parent = "/"
    for part in path.strip("/").split("/"):
        here = parent.rstrip("/") + "/" + part
        if here not in known:
            made = apig.create_resource(restApiId=api_id, parentId=known[parent], pathPart=part)
            known[here] = made["id"]
        parent = here
    return known[path]


def to_function(apig, api_id, resource_id, verb, function_arn):
    apig.put_integration(
        restApiId=api_id,
        resourceId=resource_id,
        httpMethod=verb,
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations",
    )


# %%
def create_public_api(apig, function_arn):
    api_id = apig.create_rest_api(name="shop-public", description="catalog for partners")["id"]
    products = path_id(apig, api_id, "/products")
    apig.put_method(
        restApiId=api_id,
        resourceId=products,
        httpMethod="GET",
        authorizationType="NONE",
        apiKeyRequired=True,
    )
    to_function(apig, api_id, products, "GET", function_arn)
    for stage in ("dev", "prod"):
        apig.create_deployment(restApiId=api_id, stageName=stage)
    return "shop-public"


def create_keys(apig, api_id):
    ids = {}
    for tier in ("paid", "free"):
        plan = apig.create_usage_plan(name=f"{tier}-tier")["id"]
        operations = [
            {"op": "add", "path": "/apiStages", "value": f"{api_id}:{stage}"}
            for stage in ("dev", "prod")
        ]
        if tier == "free":
            operations += [
                {"op": "replace", "path": "/throttle/rateLimit", "value": "2"},
                {"op": "replace", "path": "/throttle/burstLimit", "value": "5"},
                {"op": "replace", "path": "/quota/limit", "value": "100"},
                {"op": "replace", "path": "/quota/period", "value": "DAY"},
            ]
        apig.update_usage_plan(usagePlanId=plan, patchOperations=operations)
        key = apig.create_api_key(name=tier, enabled=True, value=f"{tier}-0123456789abcdefghij")
        apig.create_usage_plan_key(usagePlanId=plan, keyId=key["id"], keyType="API_KEY")
        ids[tier] = key["id"]
    return ids["free"], ids["paid"]


# %%
def create_user_pool(idp):
    pool = idp.create_user_pool(
        PoolName="customers",
        AutoVerifiedAttributes=["email"],
        Policies={"PasswordPolicy": {"MinimumLength": 12, "RequireSymbols": True}},
    )["UserPool"]
    client = idp.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName="backend",
        GenerateSecret=True,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]
    idp.create_group(UserPoolId=pool["Id"], GroupName="admins", Precedence=1)
    return {"UserPoolId": pool["Id"], "ClientId": client["ClientId"]}


def orders_handler(event, context):
    claims = event["requestContext"]["authorizer"]["claims"]
    is_admin = "admins" in str(claims.get("cognito:groups", "")).split(",")
    if event["httpMethod"] == "DELETE" and not is_admin:
        return {"statusCode": 401, "body": json.dumps({"error": "not an admin"})}
    return {"statusCode": 201, "body": json.dumps({"ok": True, "user": claims["sub"]})}


def create_orders_api(apig, pool_arn, function_arn):
    api_id = apig.create_rest_api(name="orders")["id"]
    authorizer = apig.create_authorizer(
        restApiId=api_id,
        name="customers",
        type="COGNITO_USER_POOLS",
        providerARNs=[pool_arn],
        identitySource="method.request.header.Authorization",
    )["id"]
    for path, verb in (("/orders", "POST"), ("/orders/{id}", "DELETE")):
        resource = path_id(apig, api_id, path)
        apig.put_method(
            restApiId=api_id,
            resourceId=resource,
            httpMethod=verb,
            authorizationType="COGNITO_USER_POOLS",
            authorizerId=authorizer,
            authorizationScopes=["aws.cognito.signin.user.admin"],
        )
        to_function(apig, api_id, resource, verb, function_arn)
    apig.create_deployment(restApiId=api_id, stageName="prod")
    return f"https://{api_id}.execute-api.{REGION}.amazonaws.com/prod"


# %%
def role_trusting(iam, name, pool, amr):
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {"cognito-identity.amazonaws.com:aud": pool},
                    "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": amr},
                },
            }
        ],
    }
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]


def create_identity_pool(identity, iam, user_pool_id, client_id, bucket):
    pool = identity.create_identity_pool(
        IdentityPoolName="customer_files",
        AllowUnauthenticatedIdentities=True,
        CognitoIdentityProviders=[
            {
                "ProviderName": f"cognito-idp.{REGION}.amazonaws.com/{user_pool_id}",
                "ClientId": client_id,
            }
        ],
    )["IdentityPoolId"]
    sub = "${cognito-identity.amazonaws.com:sub}"
    own = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OwnObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                "Resource": [f"arn:aws:s3:::{bucket}/private/{sub}/*"],
            },
            {
                "Sid": "ListOwnPrefix",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}"],
                "Condition": {"StringLike": {"s3:prefix": [f"private/{sub}/", f"private/{sub}/*"]}},
            },
        ],
    }
    arn = iam.create_policy(PolicyName="customer-own-files", PolicyDocument=json.dumps(own))
    users = role_trusting(iam, "customer", pool, "authenticated")
    iam.attach_role_policy(RoleName="customer", PolicyArn=arn["Policy"]["Arn"])
    guests = role_trusting(iam, "visitor", pool, "unauthenticated")
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
    iam.put_role_policy(RoleName="visitor", PolicyName="public", PolicyDocument=json.dumps(public))
    identity.set_identity_pool_roles(
        IdentityPoolId=pool, Roles={"authenticated": users["Arn"], "unauthenticated": guests["Arn"]}
    )
    return "customer_files"


# %%
def create_catalog_api(apig, function_arn):
    api_id = apig.create_rest_api(name="catalog")["id"]
    products = path_id(apig, api_id, "/products")
    apig.put_method(
        restApiId=api_id,
        resourceId=products,
        httpMethod="GET",
        authorizationType="NONE",
        requestParameters={"method.request.querystring.category": True},
    )
    apig.put_integration(
        restApiId=api_id,
        resourceId=products,
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations",
        cacheKeyParameters=["method.request.querystring.category"],
    )
    apig.create_deployment(restApiId=api_id, stageName="prod")
    apig.update_stage(
        restApiId=api_id,
        stageName="prod",
        patchOperations=[
            {"op": "replace", "path": "/cacheClusterEnabled", "value": "true"},
            {"op": "replace", "path": "/cacheClusterSize", "value": "0.5"},
            {"op": "replace", "path": "/~1products/GET/caching/enabled", "value": "true"},
            {"op": "replace", "path": "/~1products/GET/caching/ttlInSeconds", "value": "300"},
        ],
    )
    return api_id


def create_cache_admin(iam, api_id):
    iam.create_user(UserName="ops")
    flush = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "execute-api:InvalidateCache", "Resource": "*"}
        ],
    }
    iam.put_user_policy(UserName="ops", PolicyName="flush", PolicyDocument=json.dumps(flush))
    key = iam.create_access_key(UserName="ops")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


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
    role = iam.create_role(RoleName="clicks-writer", AssumeRolePolicyDocument=json.dumps(trust))
    write = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["kinesis:PutRecord", "kinesis:PutRecords"],
                "Resource": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{stream_name}",
            }
        ],
    }
    iam.put_role_policy(
        RoleName="clicks-writer", PolicyName="write", PolicyDocument=json.dumps(write)
    )
    template = """{
    "StreamName": "$stageVariables.stream",
    "Data": "$util.base64Encode($input.json('$'))",
    "PartitionKey": "$input.path('$.user')"
}"""
    api_id = apig.create_rest_api(name="ingest")["id"]
    events = path_id(apig, api_id, "/events")
    apig.put_method(
        restApiId=api_id, resourceId=events, httpMethod="POST", authorizationType="NONE"
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
        passthroughBehavior="NEVER",
    )
    apig.put_method_response(
        restApiId=api_id, resourceId=events, httpMethod="POST", statusCode="200"
    )
    apig.put_integration_response(
        restApiId=api_id,
        resourceId=events,
        httpMethod="POST",
        statusCode="200",
        responseTemplates={"application/json": '{"accepted": true}'},
    )
    apig.create_deployment(restApiId=api_id, stageName="prod", variables={"stream": stream_name})
    return api_id
