# %%
import json

import labkit

lab = labkit.start("serverless_api")
REGION = "us-east-1"
ACCOUNT = "123456789012"


def lambda_uri(function_arn):
    return (
        f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )


def add(apig, api_id, path_part, parent=None):
    parent = parent or apig.get_resources(restApiId=api_id)["items"][0]["id"]
    return apig.create_resource(restApiId=api_id, parentId=parent, pathPart=path_part)["id"]


def proxy(apig, api_id, resource, verb, function_arn, **method):
    method.setdefault("authorizationType", "NONE")
    apig.put_method(restApiId=api_id, resourceId=resource, httpMethod=verb, **method)
    apig.put_integration(
        restApiId=api_id,
        resourceId=resource,
        httpMethod=verb,
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=lambda_uri(function_arn),
    )


def plans(apig, api_id, free_limits, stages=("dev", "prod")):
    keys = {}
    for tier, limits in (("free", free_limits), ("paid", {})):
        plan = apig.create_usage_plan(
            name=tier, apiStages=[{"apiId": api_id, "stage": s} for s in stages], **limits
        )
        key = apig.create_api_key(name=tier, enabled=True)
        apig.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
        keys[tier] = key["value"]
    return keys


def pool(idp, **client):
    pool_id = idp.create_user_pool(
        PoolName="shop", UsernameAttributes=["email"], AutoVerifiedAttributes=["email"]
    )["UserPool"]["Id"]
    client.setdefault("ExplicitAuthFlows", ["ALLOW_USER_PASSWORD_AUTH"])
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="web", **client)[
        "UserPoolClient"
    ]["ClientId"]
    idp.create_group(UserPoolId=pool_id, GroupName="admins")
    return pool_id, client_id


def cognito_api(apig, pool_arn, function_arn, secure_delete=True):
    api_id = apig.create_rest_api(name="orders")["id"]
    auth = apig.create_authorizer(
        restApiId=api_id,
        name="users",
        type="COGNITO_USER_POOLS",
        providerARNs=[pool_arn],
        identitySource="method.request.header.Authorization",
    )["id"]
    secured = {"authorizationType": "COGNITO_USER_POOLS", "authorizerId": auth}
    orders = add(apig, api_id, "orders")
    proxy(apig, api_id, orders, "POST", function_arn, **secured)
    one = add(apig, api_id, "{id}", orders)
    proxy(apig, api_id, one, "DELETE", function_arn, **(secured if secure_delete else {}))
    apig.create_deployment(restApiId=api_id, stageName="prod")
    return api_id


def identity_pool(identity, iam, user_pool_id, client_id, policy, aud=True, guest_policy=None):
    pool_id = identity.create_identity_pool(
        IdentityPoolName="files",
        AllowUnauthenticatedIdentities=guest_policy is not None,
        CognitoIdentityProviders=[
            {
                "ProviderName": f"cognito-idp.{REGION}.amazonaws.com/{user_pool_id}",
                "ClientId": client_id,
            }
        ],
    )["IdentityPoolId"]
    roles = {}
    for kind, document in (("authenticated", policy), ("unauthenticated", guest_policy)):
        if document is None:
            continue
        condition = {"ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": kind}}
        if aud:
            condition["StringEquals"] = {"cognito-identity.amazonaws.com:aud": pool_id}
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": condition,
                }
            ],
        }
        name = f"files-{kind}"
        roles[kind] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))[
            "Role"
        ]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="files", PolicyDocument=json.dumps(document))
    identity.set_identity_pool_roles(IdentityPoolId=pool_id, Roles=roles)
    return pool_id


def own_prefix(bucket, list_too=True):
    me = "${cognito-identity.amazonaws.com:sub}"
    statements = [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": f"arn:aws:s3:::{bucket}/private/{me}/*",
        }
    ]
    if list_too:
        statements.append(
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{bucket}",
                "Condition": {"StringLike": {"s3:prefix": f"private/{me}/*"}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def catalog_api(apig, function_arn, settings, cache_key=True):
    api_id = apig.create_rest_api(name="catalog")["id"]
    products = add(apig, api_id, "products")
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
        uri=lambda_uri(function_arn),
        cacheKeyParameters=["method.request.querystring.category"] if cache_key else [],
    )
    apig.create_deployment(
        restApiId=api_id, stageName="prod", cacheClusterEnabled=True, cacheClusterSize="0.5"
    )
    if settings:
        apig.update_stage(
            restApiId=api_id,
            stageName="prod",
            patchOperations=[{"op": "replace", "path": p, "value": v} for p, v in settings.items()],
        )
    return api_id


def cache_admin(iam, actions):
    iam.create_user(UserName="ops")
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
    }
    iam.put_user_policy(UserName="ops", PolicyName="ops", PolicyDocument=json.dumps(policy))
    return iam.create_access_key(UserName="ops")


def ingest_api(apig, iam, stream_name, template, resource=None, responses=True):
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
    role = iam.create_role(RoleName="ingest", AssumeRolePolicyDocument=json.dumps(trust))
    target = resource or f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{stream_name}"
    put = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "kinesis:PutRecord", "Resource": target}],
    }
    iam.put_role_policy(RoleName="ingest", PolicyName="put", PolicyDocument=json.dumps(put))
    api_id = apig.create_rest_api(name="ingest")["id"]
    events = add(apig, api_id, "events")
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
        requestTemplates={"application/json": template.replace("STREAM", stream_name)},
    )
    if responses:
        apig.put_method_response(
            restApiId=api_id, resourceId=events, httpMethod="POST", statusCode="200"
        )
        apig.put_integration_response(
            restApiId=api_id, resourceId=events, httpMethod="POST", statusCode="200"
        )
    apig.create_deployment(restApiId=api_id, stageName="prod")
    return api_id


GOOD_TEMPLATE = (
    '{"StreamName": "STREAM", "Data": "$util.base64Encode($input.body)", '
    '"PartitionKey": "$input.path(\'$.user\')"}'
)
