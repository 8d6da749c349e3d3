# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Serverless API exercise: a shop's API, its users and their files
#
# A web shop opens its catalog and its orders to the world through **API Gateway**. You build a
# **public API** with dev and prod stages whose free customers are throttled and metered while
# paying ones are not; **sign-up and sign-in** with a Cognito user pool, so that only signed-in
# users order and only admins cancel; **per-user storage** with an identity pool; a **cached**
# catalog that only an administrator can refresh; and an **ingestion endpoint** that writes
# click events straight into Kinesis.
#
# Each task asks for functions that build something with the boto3 clients they are given and
# return it. The check runs them in an empty sandbox of its own, with a lab clock of its own,
# and then calls your API **over HTTP at its invoke URL** with `requests`, as a browser would:
# as your customers, and as outsiders (no key, a guessed key, an edited or expired token,
# another user, a guest). Whatever behaves right passes.
#
# Write your code where it says `# YOUR CODE HERE` (replace the `...`), run the cell and the
# "Try it" cell below it, then run the check.
#
# The shop's **catalog function** answers `GET /products?category=...` with the category's
# products and an `answer` id that is new on every call (so you can tell a cached answer from a
# fresh one). Its code is `catalog_handler` in `labkit.labs.serverless_api_support`. The
# functions the checks deploy (the catalog, your `orders_handler`) already let API Gateway invoke
# them (`add_permission`, as the cell below does for yours).

# %%
import json

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import labkit
from labkit.facts import fact
from labkit.labs.serverless_api_support import catalog_handler

lab = labkit.start("serverless_api")
apig = lab.client("apigateway")
iam = lab.client("iam")
idp = lab.client("cognito-idp")
identity = lab.client("cognito-identity")
REGION, ACCOUNT = "us-east-1", "123456789012"
lam = lab.client("lambda")


def let_api_gateway_invoke(function_arn):
    """The function's resource policy lets API Gateway invoke it, for any API of the account."""
    lam.add_permission(
        FunctionName=function_arn,
        StatementId="apigateway-invoke",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:*",
    )


catalog_arn = lab.deploy_function(catalog_handler, "catalog")
let_api_gateway_invoke(catalog_arn)
print(catalog_arn)


# %%
def invoke_url(api_id, stage, path=""):
    """Where API Gateway serves `path` of a stage (inside the sandbox)."""
    return f"https://{api_id}.execute-api.{REGION}.amazonaws.com/{stage}{path}"


def lambda_uri(function_arn):
    """The integration URI of a Lambda function."""
    return (
        f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )


def add_resource(apig, api_id, path_part):
    """A resource `/<path_part>` under the API's root."""
    root = apig.get_resources(restApiId=api_id)["items"][0]["id"]
    return apig.create_resource(restApiId=api_id, parentId=root, pathPart=path_part)["id"]


# %% [markdown]
# ## Task 1: a public API with a free and a paid tier
#
# Write `create_public_api(apig, function_arn)`: a REST API whose `GET /products` calls the
# catalog function (`function_arn`, a Lambda proxy integration), **requires an API key**, and is
# deployed to two stages, **`dev`** and **`prod`**. Return the API's id.
#
# Then write `create_keys(apig, api_id)`: two usage plans covering **both stages**, each with
# one API key, and return `{"free": ..., "paid": ...}` (each key's value or id):
#
# - **free**: at most **2 requests a second** with bursts of **5**, and **100 requests a day**;
#   above them API Gateway answers `429 Too Many Requests` (or `429 Limit Exceeded` for the
#   quota);
# - **paid**: no limit of its own.
#
# The check calls `GET /products` with no key and a guessed key (both must get 403), floods the
# paid key, and spends the free key's burst, its rate and its daily quota on the lab clock.

# %%
print(fact("api_gateway.account_throttle_rps"))
print(fact("api_gateway.account_burst"))


# %%
def create_public_api(apig, function_arn):
    """The shop's public API; returns its id."""
    ### BEGIN SOLUTION
    api_id = apig.create_rest_api(name="shop")["id"]
    products = add_resource(apig, api_id, "products")
    apig.put_method(
        restApiId=api_id,
        resourceId=products,
        httpMethod="GET",
        authorizationType="NONE",
        apiKeyRequired=True,
    )
    apig.put_integration(
        restApiId=api_id,
        resourceId=products,
        httpMethod="GET",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=lambda_uri(function_arn),
    )
    deployment = apig.create_deployment(restApiId=api_id, stageName="dev")["id"]
    apig.create_stage(restApiId=api_id, stageName="prod", deploymentId=deployment)
    return api_id
    ### END SOLUTION


def create_keys(apig, api_id):
    """A free and a paid plan with a key each; returns {"free": key, "paid": key}."""
    ### BEGIN SOLUTION
    tiers = {
        "free": {
            "throttle": {"rateLimit": 2, "burstLimit": 5},
            "quota": {"limit": 100, "period": "DAY"},
        },
        "paid": {},
    }
    keys = {}
    for tier, limits in tiers.items():
        plan = apig.create_usage_plan(
            name=tier,
            apiStages=[{"apiId": api_id, "stage": stage} for stage in ("dev", "prod")],
            **limits,
        )
        key = apig.create_api_key(name=f"{tier}-customer", enabled=True)
        apig.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
        keys[tier] = key["value"]
    return keys
    ### END SOLUTION


# %% [markdown]
# Try it: six requests at one moment with each key, and the API's request trace (which bucket
# each request took its token from, and which were refused).

# %%
shop_api = create_public_api(apig, catalog_arn)
keys = create_keys(apig, shop_api) if shop_api else None
if keys:
    for tier in ("free", "paid"):
        codes = [
            requests.get(
                invoke_url(shop_api, "prod", "/products"), headers={"x-api-key": keys[tier]}
            ).status_code
            for _ in range(6)
        ]
        print(tier, codes)
    print("no key:", requests.get(invoke_url(shop_api, "prod", "/products")).status_code)
    lab.api_trace(shop_api, hold=True)

# %%
lab.check("public_api")

# %% [markdown]
# ## Task 2: sign-up, sign-in and who may do what
#
# Write `create_user_pool(idp)`: a user pool where people **sign up with their email address**
# and confirm it with the code Cognito mails them (in the sandbox: `lab.mailbox`), an app
# client that signs them in with **`USER_PASSWORD_AUTH`**, and a group **`admins`**. Return
# `(pool_id, client_id)`.
#
# Write `orders_handler(event, context)`, the orders backend (the check deploys it), and
# `create_orders_api(apig, pool_arn, function_arn)`: `POST /orders` and
# `DELETE /orders/{id}` on a **`prod`** stage, both through the handler, so that
#
# - only **signed-in users** (the token in the `Authorization` header) may post an order, and
#   only members of **`admins`** may delete one;
# - a token whose claims were **edited**, one signed by **another key**, one from **another
#   pool** and one **past its expiry** (on the lab clock) are refused with **401**.
#
# Return the API's id. The check signs two users up through your client, puts one in `admins`,
# forges and ages tokens itself, and calls the API. (To decide in a Lambda authorizer of your
# own instead, give `create_orders_api` a fourth parameter, `deploy`: `deploy(handler)` deploys
# your function where the check runs, lets API Gateway invoke it, and returns its ARN.)

# %%
print(fact("cognito.id_token_validity_default"))


# %%
def create_user_pool(idp):
    """The shop's users; returns (pool_id, client_id)."""
    ### BEGIN SOLUTION
    pool_id = idp.create_user_pool(
        PoolName="shop-users", UsernameAttributes=["email"], AutoVerifiedAttributes=["email"]
    )["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="web",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    idp.create_group(UserPoolId=pool_id, GroupName="admins")
    return pool_id, client_id
    ### END SOLUTION


def orders_handler(event, context):
    """POST /orders and DELETE /orders/{id}, behind the user pool's authorizer."""
    ### BEGIN SOLUTION
    claims = event["requestContext"]["authorizer"]["claims"]
    # API Gateway passes the groups as one string ("admins", or several joined by commas).
    groups = claims.get("cognito:groups", "").replace(",", " ").strip("[]").split()
    if event["httpMethod"] == "DELETE" and "admins" not in groups:
        return {"statusCode": 403, "body": json.dumps({"message": "admins only"})}
    return {"statusCode": 200, "body": json.dumps({"by": claims["email"]})}
    ### END SOLUTION


def create_orders_api(apig, pool_arn, function_arn):
    """The orders API, for signed-in users; returns its id."""
    ### BEGIN SOLUTION
    api_id = apig.create_rest_api(name="orders")["id"]
    authorizer = apig.create_authorizer(
        restApiId=api_id,
        name="shop-users",
        type="COGNITO_USER_POOLS",
        providerARNs=[pool_arn],
        identitySource="method.request.header.Authorization",
    )["id"]
    orders = add_resource(apig, api_id, "orders")
    one = apig.create_resource(restApiId=api_id, parentId=orders, pathPart="{id}")["id"]
    for resource, verb in ((orders, "POST"), (one, "DELETE")):
        apig.put_method(
            restApiId=api_id,
            resourceId=resource,
            httpMethod=verb,
            authorizationType="COGNITO_USER_POOLS",
            authorizerId=authorizer,
        )
        apig.put_integration(
            restApiId=api_id,
            resourceId=resource,
            httpMethod=verb,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=lambda_uri(function_arn),
        )
    apig.create_deployment(restApiId=api_id, stageName="prod")
    return api_id
    ### END SOLUTION


# %% [markdown]
# Try it: sign Ana up, read her code from the mailbox, sign her in, look inside her ID token,
# and order with it.

# %%
PASSWORD = "Corr3ct-Horse-Battery-9!"
made = create_user_pool(idp)
tokens = None
if made:
    pool_id, client_id = made
    idp.sign_up(
        ClientId=client_id,
        Username="ana@example.com",
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": "ana@example.com"}],
    )
    code = lab.mailbox.latest("ana@example.com").code
    idp.confirm_sign_up(ClientId=client_id, Username="ana@example.com", ConfirmationCode=code)
    tokens = idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ana@example.com", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]
    orders_arn = lab.deploy_function(orders_handler, "orders")
    let_api_gateway_invoke(orders_arn)
    pool_arn = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Arn"]
    orders_api = create_orders_api(apig, pool_arn, orders_arn)
    if orders_api:
        order = requests.post(
            invoke_url(orders_api, "prod", "/orders"),
            json={"item": "lamp"},
            headers={"Authorization": tokens["IdToken"]},
        )
        print("signed in:", order.status_code, order.text)
        print("anonymous:", requests.post(invoke_url(orders_api, "prod", "/orders")).status_code)
tokens and lab.inspect_token(tokens["IdToken"])

# %%
lab.check("orders_auth")

# %% [markdown]
# ## Task 3: each user's own files
#
# The shop keeps each user's files in the bucket the check passes as `bucket`, under
# `private/<identity id>/`, where the identity id is the user's id in an **identity pool**.
# Write `create_identity_pool(identity, iam, user_pool_id, client_id, bucket)`: an identity
# pool that signs in the user pool's users (`user_pool_id`, app client `client_id`) and gives
# them the credentials of a role with which each user can **read, write and list only their
# own prefix**. Nobody else's; a guest (if you let guests in at all) reaches no user's files;
# and the role must trust only **your** identity pool. Return the identity pool's id.

# %%
print(fact("cognito.identity_credentials_validity"))


# %%
def create_identity_pool(identity, iam, user_pool_id, client_id, bucket):
    """Per-user storage; returns the identity pool's id."""
    ### BEGIN SOLUTION
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
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {"cognito-identity.amazonaws.com:aud": pool},
                    "ForAnyValue:StringLike": {
                        "cognito-identity.amazonaws.com:amr": "authenticated"
                    },
                },
            }
        ],
    }
    me = "${cognito-identity.amazonaws.com:sub}"
    own = {
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
    role = iam.create_role(RoleName="shop-user", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(
        RoleName="shop-user", PolicyName="own-files", PolicyDocument=json.dumps(own)
    )
    identity.set_identity_pool_roles(
        IdentityPoolId=pool, Roles={"authenticated": role["Role"]["Arn"]}
    )
    return pool
    ### END SOLUTION


# %% [markdown]
# Try it: trade Ana's ID token for credentials, and write a file as her.

# %%
if tokens:
    lab.client("s3").create_bucket(Bucket="user-files")
    files_pool = create_identity_pool(identity, iam, pool_id, client_id, "user-files")
    if files_pool:
        logins = {f"cognito-idp.{REGION}.amazonaws.com/{pool_id}": tokens["IdToken"]}
        ana_id = identity.get_id(IdentityPoolId=files_pool, Logins=logins)["IdentityId"]
        found = identity.get_credentials_for_identity(IdentityId=ana_id, Logins=logins)
        ana_s3 = lab.client(
            "s3",
            aws_access_key_id=found["Credentials"]["AccessKeyId"],
            aws_secret_access_key=found["Credentials"]["SecretKey"],
            aws_session_token=found["Credentials"]["SessionToken"],
        )
        ana_s3.put_object(Bucket="user-files", Key=f"private/{ana_id}/notes.txt", Body=b"hi")
        print("Ana wrote", f"private/{ana_id}/notes.txt")

# %%
lab.check("own_files")

# %% [markdown]
# ## Task 4: a cached catalog
#
# `GET /products?category=...` is the shop's busiest request. Write
# `create_catalog_api(apig, function_arn)`: a public `GET /products` through the catalog
# function on a **`prod`** stage whose **cache** answers it, **per category**, for **300
# seconds** (the default TTL), so that a load of requests reaches the function once per
# category. Return the API's id.
#
# Then write `create_cache_admin(iam, api_id)`: an IAM user who may **refresh** the cache (a
# request with `Cache-Control: max-age=0`, signed with Signature Version 4), and return its
# access key (`create_access_key`'s answer). Nobody else may: an anonymous `max-age=0`, or one
# from an IAM user allowed only to invoke the API, must change nothing.

# %%
print(fact("api_gateway.cache_ttl_default"))
print(fact("api_gateway.cache_ttl_max"))


# %%
def create_catalog_api(apig, function_arn):
    """The cached catalog; returns its id."""
    ### BEGIN SOLUTION
    api_id = apig.create_rest_api(name="catalog")["id"]
    products = add_resource(apig, api_id, "products")
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
        cacheKeyParameters=["method.request.querystring.category"],
    )
    apig.create_deployment(
        restApiId=api_id, stageName="prod", cacheClusterEnabled=True, cacheClusterSize="0.5"
    )
    apig.update_stage(
        restApiId=api_id,
        stageName="prod",
        patchOperations=[{"op": "replace", "path": "/*/*/caching/enabled", "value": "true"}],
    )
    return api_id
    ### END SOLUTION


def create_cache_admin(iam, api_id):
    """The one IAM user who may refresh the catalog's cache; returns its access key."""
    ### BEGIN SOLUTION
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
        UserName="catalog-admin", PolicyName="refresh-catalog", PolicyDocument=json.dumps(policy)
    )
    return iam.create_access_key(UserName="catalog-admin")
    ### END SOLUTION


# %% [markdown]
# Try it: the same category three times, then a refresh signed by the administrator.

# %%
catalog_api = create_catalog_api(apig, catalog_arn)
admin = create_cache_admin(iam, catalog_api) if catalog_api else None
if admin:
    books = invoke_url(catalog_api, "prod", "/products?category=books")
    print([requests.get(books).json()["answer"][:8] for _ in range(3)])
    key = admin["AccessKey"]
    refresh = AWSRequest(method="GET", url=books, headers={"Cache-Control": "max-age=0"})
    SigV4Auth(
        Credentials(key["AccessKeyId"], key["SecretAccessKey"]), "execute-api", REGION
    ).add_auth(refresh)
    print(
        "refreshed:",
        requests.get(books, headers=dict(refresh.headers.items())).json()["answer"][:8],
    )
    lab.api_trace(catalog_api, hold=True)

# %%
lab.check("products_cache")

# %% [markdown]
# ## Task 5: click events straight into Kinesis
#
# The shop's pages post click events (`{"user": "ana", "page": "/home", ...}`) to
# `POST /events`. Write `create_ingest_api(apig, iam, stream_name)`: an API that puts each
# event into the Kinesis data stream `stream_name` **without a Lambda function**: an `AWS`
# integration with Kinesis `PutRecord`, whose mapping template makes the record's data the
# posted JSON and its **partition key the event's `user`**, through a role that API Gateway
# assumes and that may write **only into that stream**. Deploy it to **`prod`** and return the
# API's id.


# %%
def create_ingest_api(apig, iam, stream_name):
    """The click-event endpoint; returns its id."""
    ### BEGIN SOLUTION
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
    role = iam.create_role(RoleName="events-to-kinesis", AssumeRolePolicyDocument=json.dumps(trust))
    put = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "kinesis:PutRecord",
                "Resource": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{stream_name}",
            }
        ],
    }
    iam.put_role_policy(
        RoleName="events-to-kinesis", PolicyName="put-clicks", PolicyDocument=json.dumps(put)
    )
    template = json.dumps(
        {
            "StreamName": stream_name,
            "Data": "$util.base64Encode($input.body)",
            "PartitionKey": "$input.path('$.user')",
        }
    )
    api_id = apig.create_rest_api(name="events")["id"]
    events = add_resource(apig, api_id, "events")
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
    )
    apig.put_method_response(
        restApiId=api_id, resourceId=events, httpMethod="POST", statusCode="200"
    )
    apig.put_integration_response(
        restApiId=api_id, resourceId=events, httpMethod="POST", statusCode="200"
    )
    apig.create_deployment(restApiId=api_id, stageName="prod")
    return api_id
    ### END SOLUTION


# %% [markdown]
# Try it: post an event and read the stream back.

# %%
kinesis = lab.client("kinesis")
kinesis.create_stream(StreamName="clicks", ShardCount=1)
events_api = create_ingest_api(apig, iam, "clicks")
if events_api:
    posted = requests.post(
        invoke_url(events_api, "prod", "/events"), json={"user": "ana", "page": "/home"}
    )
    print(posted.status_code, posted.text)
    shard = kinesis.list_shards(StreamName="clicks")["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName="clicks", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    for record in kinesis.get_records(ShardIterator=iterator)["Records"]:
        print(record["PartitionKey"], record["Data"])

# %%
lab.check("ingest")

# %% [markdown]
# ## Your score

# %%
lab.score()
