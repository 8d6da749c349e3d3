# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Serverless API: API Gateway and Cognito, called over HTTP
#
# **Amazon API Gateway** puts an HTTPS front door on code and services that have none of their
# own: a **REST API** is a tree of resources (`/products`, `/orders/{id}`) with methods, each
# **integrated** with a backend (a Lambda function, an AWS service such as Kinesis, an HTTP
# endpoint, or a mock). API Gateway decides who may call (API keys, **Cognito** sign-in, IAM
# signatures), how often (throttling and quotas), and answers repeated reads from a **cache**.
# **Amazon Cognito** signs users up and in (a **user pool** issues signed tokens) and trades
# their sign-in for AWS credentials of a role (an **identity pool**).
#
# In the sandbox every API is served at its real **invoke URL**, so you call it with
# `requests` as any client would, and `lab.api_trace(api)` shows what AWS hides: for each
# request, which step decided what. This lesson builds a shop's API:
#
# 1. resources, methods, integrations, **deployments and stages**;
# 2. **API keys, usage plans, throttling and quotas** on the lab clock;
# 3. **Cognito user pools**: sign-up, codes, sign-in, tokens, and an authorizer that checks them;
# 4. **identity pools**: each user's own files in S3;
# 5. the **stage cache**, and who may refresh it;
# 6. an **AWS service integration**: click events straight into Kinesis.
# 7. the same **user pool** signing users in for an **Application Load Balancer**.

# %%
import base64
import json
import re

import requests

import labkit
from labkit.facts import fact
from labkit.labs.serverless_api_support import catalog_handler

lab = labkit.start("serverless_api")
apig = lab.client("apigateway")
iam = lab.client("iam")
REGION, ACCOUNT = "us-east-1", "123456789012"


def invoke_url(api_id, stage, path=""):
    """Where API Gateway serves `path` of a stage."""
    return f"https://{api_id}.execute-api.{REGION}.amazonaws.com/{stage}{path}"


def lambda_uri(function_arn):
    """The integration URI of a Lambda function."""
    return (
        f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )


# %% [markdown]
# ## 1. A REST API, its integration, deployments and stages
#
# The shop's catalog is a Lambda function (its code is `catalog_handler`: it answers the products
# of a category, and an `answer` id that is new on every call). An API is built in three steps:
# a **resource** (`/products`), a **method** on it (`GET`, with how callers are authorized), and
# the method's **integration** (here `AWS_PROXY`: the whole request goes to the function as its
# event, and its answer comes back as the response). API Gateway may only invoke a function
# whose **resource policy** lets it (`add_permission` for `apigateway.amazonaws.com`; the console
# adds it for you, the API does not, and without it every request answers 500).

# %%
catalog_arn = lab.deploy_function(catalog_handler, "catalog")
lab.client("lambda").add_permission(
    FunctionName=catalog_arn,
    StatementId="apigateway-invoke",
    Action="lambda:InvokeFunction",
    Principal="apigateway.amazonaws.com",
    SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:*",
)
shop = apig.create_rest_api(name="shop")["id"]
root = apig.get_resources(restApiId=shop)["items"][0]["id"]
products = apig.create_resource(restApiId=shop, parentId=root, pathPart="products")["id"]
apig.put_method(restApiId=shop, resourceId=products, httpMethod="GET", authorizationType="NONE")
apig.put_integration(
    restApiId=shop,
    resourceId=products,
    httpMethod="GET",
    type="AWS_PROXY",
    integrationHttpMethod="POST",
    uri=lambda_uri(catalog_arn),
)
print(requests.get(invoke_url(shop, "dev", "/products")).status_code, "before any deployment")

# %% [markdown]
# Nothing answers yet: what you build is a draft until a **deployment** (a snapshot of the API)
# reaches a **stage** (`dev`, `prod`: a named URL with its own settings). Deploy the same
# snapshot to two stages, and call both.

# %%
deployment = apig.create_deployment(restApiId=shop, stageName="dev")["id"]
apig.create_stage(restApiId=shop, stageName="prod", deploymentId=deployment)
for stage in ("dev", "prod"):
    answer = requests.get(invoke_url(shop, stage, "/products"), params={"category": "books"})
    print(stage, answer.status_code, answer.json()["products"])

# %% [markdown]
# `lab.api_trace(api)` is a **live view** of the API's requests: stage, route, who decided about
# access and why, the throttle bucket, the cache, the integration, status and latency. It
# updates after every cell; its step control (◀ earlier) goes back to what it showed before.
# Right now it holds the two requests above, one on each stage, both answered 200 (the one
# before the deployment reached no stage, so no stage traced it).

# %%
trace = lab.api_trace(shop)
trace

# %% [markdown]
# ## 2. API keys, usage plans, throttling and quotas
#
# An **API key** identifies a customer, not a user: it is no authentication (anybody who reads
# it can use it). A **usage plan** says which stages its keys may call and how much: a
# **throttle** (a token bucket: `burstLimit` tokens, refilled at `rateLimit` a second) and a
# **quota** (requests a day, week or month). Over the throttle API Gateway answers
# `429 Too Many Requests`; over the quota `429 Limit Exceeded`. Without any plan, the account's
# limits apply to all its APIs together:

# %%
print(fact("api_gateway.account_throttle_rps"))
print(fact("api_gateway.account_burst"))

# %% [markdown]
# The method must **require** a key (`apiKeyRequired`) for plans to apply; a change to a method
# needs a new deployment.

# %%
apig.put_method(
    restApiId=shop,
    resourceId=products,
    httpMethod="GET",
    authorizationType="NONE",
    apiKeyRequired=True,
)
apig.put_integration(
    restApiId=shop,
    resourceId=products,
    httpMethod="GET",
    type="AWS_PROXY",
    integrationHttpMethod="POST",
    uri=lambda_uri(catalog_arn),
)
apig.create_deployment(restApiId=shop, stageName="prod")
plan = apig.create_usage_plan(
    name="free",
    apiStages=[{"apiId": shop, "stage": "prod"}],
    throttle={"rateLimit": 2, "burstLimit": 5},
    quota={"limit": 20, "period": "DAY"},
)
free_key = apig.create_api_key(name="free-customer", enabled=True)
apig.create_usage_plan_key(usagePlanId=plan["id"], keyId=free_key["id"], keyType="API_KEY")


def get_products(key=None):
    headers = {"x-api-key": key} if key else {}
    return requests.get(invoke_url(shop, "prod", "/products"), headers=headers)


print("no key:", get_products().status_code, get_products().json())
print("6 at once:", [get_products(free_key["value"]).status_code for _ in range(6)])

# %% [markdown]
# Five requests emptied the bucket and the sixth was refused with 429, before it reached the
# function. The trace, held at this moment, shows the bucket's level after each request, and
# the refusal ("out of tokens"):

# %%
lab.api_trace(shop, hold=True)

# %% [markdown]
# Time refills the bucket: a second of lab time gives two tokens. The quota counts every
# request that got through, whatever the throttle, until midnight UTC.

# %%
lab.clock.advance(1)
print("a second later:", [get_products(free_key["value"]).status_code for _ in range(3)])
answered = 7
while answered < 25:
    lab.clock.advance(1)
    reply = get_products(free_key["value"])
    if reply.status_code != 200:
        break
    answered += 1
print(f"after {answered} requests today:", reply.status_code, reply.json())

# %% [markdown]
# ## 3. Cognito user pools: sign-up, sign-in and tokens
#
# A **user pool** is a user directory. Users **sign up** (the pool's password policy applies),
# **confirm** with a code Cognito sends them (in the sandbox it lands in `lab.mailbox`), and
# **sign in** through an **app client**; the pool then issues three **JSON Web Tokens**: an
# **ID token** (who the user is, for your app), an **access token** (what they may do, for
# APIs) and a **refresh token** (for new ones). Each is signed with the pool's private key;
# anyone can check the signature with its public keys (JWKS).

# %%
idp = lab.client("cognito-idp")
pool = idp.create_user_pool(
    PoolName="shop-users", UsernameAttributes=["email"], AutoVerifiedAttributes=["email"]
)["UserPool"]
client_id = idp.create_user_pool_client(
    UserPoolId=pool["Id"],
    ClientName="web",
    ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
)["UserPoolClient"]["ClientId"]
idp.create_group(UserPoolId=pool["Id"], GroupName="admins")
PASSWORD = "Corr3ct-Horse-Battery-9!"


def sign_up_and_in(email):
    """Sign up, confirm with the mailed code, sign in: the user's tokens."""
    idp.sign_up(
        ClientId=client_id,
        Username=email,
        Password=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": email}],
    )
    code = lab.mailbox.latest(email).code
    idp.confirm_sign_up(ClientId=client_id, Username=email, ConfirmationCode=code)
    return idp.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]


ben = sign_up_and_in("ben@example.com")
print(lab.mailbox.latest("ben@example.com"))

# %% [markdown]
# `lab.inspect_token(token)` decodes a token without trusting it: each claim and what it
# means, whether the pool's key signed it, and the time it has left on the lab clock. An ID
# token lives an hour by default:

# %%
print(fact("cognito.id_token_validity_default"))
lab.inspect_token(ben["IdToken"])

# %% [markdown]
# A **Cognito authorizer** makes API Gateway check the token in the `Authorization` header
# itself (here on `GET /me` of a second API, `account`): the signature against the pool's keys,
# the issuer, and `exp`. Only then does the request reach the backend, with the token's claims
# in `requestContext.authorizer.claims`.

# %%
account = apig.create_rest_api(name="account")["id"]
account_root = apig.get_resources(restApiId=account)["items"][0]["id"]
authorizer = apig.create_authorizer(
    restApiId=account,
    name="shop-users",
    type="COGNITO_USER_POOLS",
    providerARNs=[pool["Arn"]],
    identitySource="method.request.header.Authorization",
)["id"]
me = apig.create_resource(restApiId=account, parentId=account_root, pathPart="me")["id"]
apig.put_method(
    restApiId=account,
    resourceId=me,
    httpMethod="GET",
    authorizationType="COGNITO_USER_POOLS",
    authorizerId=authorizer,
)
apig.put_integration(
    restApiId=account,
    resourceId=me,
    httpMethod="GET",
    type="AWS_PROXY",
    integrationHttpMethod="POST",
    uri=lambda_uri(catalog_arn),
)
apig.create_deployment(restApiId=account, stageName="dev")
me_url = invoke_url(account, "dev", "/me")
print("no token:", requests.get(me_url).status_code)
print("ben's token:", requests.get(me_url, headers={"Authorization": ben["IdToken"]}).status_code)

# %% [markdown]
# A token is readable by anyone: what protects it is the signature. Ben edits his token to put
# himself in `admins` (the payload is only base64); the signature no longer matches, and the
# authorizer refuses it with 401 before the function runs. An hour later (lab time) his genuine
# token has expired, and is refused too. The trace, held now, says why each was refused:

# %%
head, payload, signature = ben["IdToken"].split(".")
claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
claims["cognito:groups"] = ["admins"]
forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
forged = f"{head}.{forged_payload}.{signature}"
print("edited token:", requests.get(me_url, headers={"Authorization": forged}).status_code)
lab.clock.advance(3600)
late = requests.get(me_url, headers={"Authorization": ben["IdToken"]})
print("an hour later:", late.status_code, late.json())
lab.api_trace(account, hold=True)

# %% [markdown]
# The inspector agrees: the token's time is up.

# %%
lab.inspect_token(ben["IdToken"])

# %% [markdown]
# ## 4. Identity pools: each user's own files
#
# An **identity pool** trades a sign-in (a user pool's ID token, or none, for guests) for
# temporary AWS credentials of a role. Each user gets an **identity id**, and a policy can name
# it with the variable `${cognito-identity.amazonaws.com:sub}`: one role then gives every user
# a prefix of their own. The role must trust only this identity pool (the `aud` condition).

# %%
identity = lab.client("cognito-identity")
s3 = lab.client("s3")
s3.create_bucket(Bucket="user-files")
provider = f"cognito-idp.{REGION}.amazonaws.com/{pool['Id']}"
files_pool = identity.create_identity_pool(
    IdentityPoolName="files",
    AllowUnauthenticatedIdentities=False,
    CognitoIdentityProviders=[{"ProviderName": provider, "ClientId": client_id}],
)["IdentityPoolId"]
trust = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Federated": "cognito-identity.amazonaws.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {"cognito-identity.amazonaws.com:aud": files_pool},
                "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"},
            },
        }
    ],
}
own = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": "arn:aws:s3:::user-files/private/${cognito-identity.amazonaws.com:sub}/*",
        }
    ],
}
role = iam.create_role(RoleName="shop-user", AssumeRolePolicyDocument=json.dumps(trust))
iam.put_role_policy(RoleName="shop-user", PolicyName="own", PolicyDocument=json.dumps(own))
identity.set_identity_pool_roles(
    IdentityPoolId=files_pool, Roles={"authenticated": role["Role"]["Arn"]}
)


def files_of(tokens):
    """The user's identity id and an S3 client with their credentials."""
    logins = {provider: tokens["IdToken"]}
    found = identity.get_id(IdentityPoolId=files_pool, Logins=logins)["IdentityId"]
    credentials = identity.get_credentials_for_identity(IdentityId=found, Logins=logins)
    c = credentials["Credentials"]
    return found, lab.client(
        "s3",
        aws_access_key_id=c["AccessKeyId"],
        aws_secret_access_key=c["SecretKey"],
        aws_session_token=c["SessionToken"],
    )


ana_id, ana_s3 = files_of(sign_up_and_in("ana@example.com"))
cai_id, cai_s3 = files_of(sign_up_and_in("cai@example.com"))
ana_s3.put_object(Bucket="user-files", Key=f"private/{ana_id}/notes.txt", Body=b"Ana's notes")
try:
    cai_s3.get_object(Bucket="user-files", Key=f"private/{ana_id}/notes.txt")
except s3.exceptions.ClientError as refused:
    print("Cai reading Ana's notes:", refused.response["Error"]["Code"])

# %% [markdown]
# ## 5. The stage cache, and who may refresh it
#
# A stage can have a **cache**: a GET is answered from it for the TTL (300 s by default, an
# hour at most) without calling the backend. The cache key is the path, plus the parameters
# you list (`cacheKeyParameters`). A client can ask for a fresh answer with
# `Cache-Control: max-age=0`, but by default API Gateway honours it only for a caller whose
# IAM identity may `execute-api:InvalidateCache`: otherwise anyone could empty the cache.

# %%
print(fact("api_gateway.cache_ttl_default"))
print(fact("api_gateway.cache_ttl_max"))
catalog = apig.create_rest_api(name="catalog")["id"]
croot = apig.get_resources(restApiId=catalog)["items"][0]["id"]
cproducts = apig.create_resource(restApiId=catalog, parentId=croot, pathPart="products")["id"]
apig.put_method(
    restApiId=catalog,
    resourceId=cproducts,
    httpMethod="GET",
    authorizationType="NONE",
    requestParameters={"method.request.querystring.category": False},
)
apig.put_integration(
    restApiId=catalog,
    resourceId=cproducts,
    httpMethod="GET",
    type="AWS_PROXY",
    integrationHttpMethod="POST",
    uri=lambda_uri(catalog_arn),
    cacheKeyParameters=["method.request.querystring.category"],
)
apig.create_deployment(
    restApiId=catalog, stageName="prod", cacheClusterEnabled=True, cacheClusterSize="0.5"
)
apig.update_stage(
    restApiId=catalog,
    stageName="prod",
    patchOperations=[{"op": "replace", "path": "/*/*/caching/enabled", "value": "true"}],
)
books = invoke_url(catalog, "prod", "/products?category=books")
print([requests.get(books).json()["answer"][:8] for _ in range(3)])
anyone = requests.get(books, headers={"Cache-Control": "max-age=0"})
print(anyone.json()["answer"][:8], anyone.headers.get("Warning"))

# %% [markdown]
# One answer, three times: one miss, then hits. The anonymous `max-age=0` was ignored, with a
# warning. The catalog's trace, held now:

# %%
lab.api_trace(catalog, hold=True)

# %% [markdown]
# ## 6. Straight into Kinesis: an AWS service integration
#
# A method can call an AWS service itself, without a function in between: an integration of
# type `AWS` names the service action (`kinesis:action/PutRecord`), a **role** API Gateway
# assumes to call it, and a **mapping template** (Velocity, VTL) that turns the request into
# the service's request. Kinesis wants the record's bytes base64-encoded.

# %%
kinesis = lab.client("kinesis")
kinesis.create_stream(StreamName="clicks", ShardCount=1)
to_kinesis = iam.create_role(
    RoleName="events-to-kinesis",
    AssumeRolePolicyDocument=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "apigateway.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    ),
)["Role"]["Arn"]
iam.put_role_policy(
    RoleName="events-to-kinesis",
    PolicyName="put",
    PolicyDocument=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "kinesis:PutRecord",
                    "Resource": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/clicks",
                }
            ],
        }
    ),
)
events = apig.create_resource(restApiId=shop, parentId=root, pathPart="events")["id"]
apig.put_method(restApiId=shop, resourceId=events, httpMethod="POST", authorizationType="NONE")
apig.put_integration(
    restApiId=shop,
    resourceId=events,
    httpMethod="POST",
    type="AWS",
    integrationHttpMethod="POST",
    uri=f"arn:aws:apigateway:{REGION}:kinesis:action/PutRecord",
    credentials=to_kinesis,
    requestTemplates={
        "application/json": json.dumps(
            {
                "StreamName": "clicks",
                "Data": "$util.base64Encode($input.body)",
                "PartitionKey": "$input.path('$.user')",
            }
        )
    },
)
apig.put_method_response(restApiId=shop, resourceId=events, httpMethod="POST", statusCode="200")
apig.put_integration_response(
    restApiId=shop, resourceId=events, httpMethod="POST", statusCode="200"
)
apig.create_deployment(restApiId=shop, stageName="dev")
posted = requests.post(invoke_url(shop, "dev", "/events"), json={"user": "ana", "page": "/home"})
print(posted.status_code, posted.json())
shard = kinesis.list_shards(StreamName="clicks")["Shards"][0]["ShardId"]
iterator = kinesis.get_shard_iterator(
    StreamName="clicks", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
)["ShardIterator"]
for record in kinesis.get_records(ShardIterator=iterator)["Records"]:
    print(record["PartitionKey"], record["Data"])

# %% [markdown]
# The live trace of the shop's API, shown in section 1, has followed every request since:
# keys, throttling and the Kinesis post. Press ◀ earlier to go back to its first two
# requests.

# %%
trace

# %% [markdown]
# ## 7. The same user pool signs users in for a load balancer
#
# An **Application Load Balancer** (ALB) can sign users in itself: a listener rule's
# `authenticate-cognito` action sends a browser without a session to the pool's **hosted UI**
# (a sign-in page at the pool's domain), takes the user back to `/oauth2/idpresponse`, trades
# the code for tokens, keeps a session cookie (`AWSELBAuthSessionCookie-0`), and then forwards
# each request with the user's claims in `x-amzn-oidc-data`: a JWT the load balancer signs
# (ES256; its public key is at `public-keys.auth.elb.<region>.amazonaws.com/<kid>`). The target
# here is a Lambda function; the load balancer may invoke it only once its policy allows
# `elasticloadbalancing.amazonaws.com` for the target group.


# %%
def whoami(event, context):
    """The claims the load balancer forwarded (its JWT's parts are base64url with padding)."""
    import base64
    import json

    data = event["headers"].get("x-amzn-oidc-data", "")
    claims = json.loads(base64.urlsafe_b64decode(data.split(".")[1])) if data else {}
    print("claims from the load balancer:", claims)
    body = json.dumps({"user": claims.get("email"), "claims": sorted(claims)})
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": body}


ec2, elb = lab.client("ec2"), lab.client("elbv2")
vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
subnets = [
    ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{az}")[
        "Subnet"
    ]["SubnetId"]
    for i, az in ((1, "a"), (2, "b"))
]
alb = elb.create_load_balancer(Name="staff", Subnets=subnets)["LoadBalancers"][0]
host = alb["DNSName"].lower()
whoami_arn = lab.deploy_function(whoami)
group = elb.create_target_group(Name="whoami", TargetType="lambda")["TargetGroups"][0]
lab.client("lambda").add_permission(
    FunctionName="whoami",
    StatementId="alb",
    Action="lambda:InvokeFunction",
    Principal="elasticloadbalancing.amazonaws.com",
    SourceArn=group["TargetGroupArn"],
)
elb.register_targets(TargetGroupArn=group["TargetGroupArn"], Targets=[{"Id": whoami_arn}])

# The pool from section 3 gets a hosted-UI domain and an app client for the load balancer.
idp.create_user_pool_domain(Domain="shop-staff", UserPoolId=pool["Id"])
alb_client = idp.create_user_pool_client(
    UserPoolId=pool["Id"],
    ClientName="alb",
    GenerateSecret=True,
    CallbackURLs=[f"https://{host}/oauth2/idpresponse"],
    AllowedOAuthFlows=["code"],
    AllowedOAuthScopes=["openid", "email"],
    AllowedOAuthFlowsUserPoolClient=True,
    SupportedIdentityProviders=["COGNITO"],
)["UserPoolClient"]["ClientId"]
certificate = lab.client("acm").request_certificate(DomainName=host)["CertificateArn"]
elb.create_listener(
    LoadBalancerArn=alb["LoadBalancerArn"],
    Protocol="HTTPS",
    Port=443,
    Certificates=[{"CertificateArn": certificate}],
    DefaultActions=[
        {
            "Type": "authenticate-cognito",
            "Order": 1,
            "AuthenticateCognitoConfig": {
                "UserPoolArn": pool["Arn"],
                "UserPoolClientId": alb_client,
                "UserPoolDomain": "shop-staff",
                "Scope": "openid email",
            },
        },
        {"Type": "forward", "Order": 2, "TargetGroupArn": group["TargetGroupArn"]},
    ],
)
first = requests.get(f"https://{host}/whoami", allow_redirects=False)
print(first.status_code, first.headers["Location"][:72], "...")

# %% [markdown]
# A browser follows that redirect to the sign-in form, posts it (with the form's `_csrf` field),
# and is sent back through `/oauth2/idpresponse` to the page it asked for. A `requests.Session`
# keeps the cookies as a browser does; from then on the session cookie is enough.

# %%
browser = requests.Session()
form = browser.get(f"https://{host}/whoami")
csrf = re.search(r'name="_csrf" value="([^"]+)"', form.text)[1]
page = browser.post(
    form.url, data={"_csrf": csrf, "username": "ben@example.com", "password": PASSWORD}
)
print(page.status_code, page.url)
print(page.json())
print("session cookie:", [c.name for c in browser.cookies if c.name.startswith("AWSELB")])
print(
    "again, no sign-in:", browser.get(f"https://{host}/whoami", allow_redirects=False).status_code
)

# %% [markdown]
# **ALB or API Gateway?** Choose an ALB when browsers sign in to a web application (it runs the
# whole hosted-UI sign-in and keeps the session) or when the targets are containers and
# instances as well as functions; choose API Gateway for APIs called with tokens, with
# per-method authorizers, API keys, usage plans, throttling and caching.

# %% [markdown]
# ## Summary
#
# - A REST API is resources, methods and integrations; nothing answers until a **deployment**
#   reaches a **stage**, and every change needs a new deployment.
# - **API keys** identify customers, they do not authenticate anyone; **usage plans** give
#   their keys a **throttle** (a token bucket: burst, then a rate) and a **quota**; API Gateway
#   answers `429` before the backend is called.
# - A **user pool** signs users up (confirmation codes) and in, and issues signed **JWTs**; a
#   **Cognito authorizer** checks the signature, the issuer and the expiry, so an edited or
#   expired token gets `401`. Groups arrive as the `cognito:groups` claim, for your code to act
#   on.
# - An **identity pool** trades a sign-in for a role's credentials; the policy variable
#   `${cognito-identity.amazonaws.com:sub}` gives every user their own prefix, and the role's
#   trust names the identity pool.
# - The **stage cache** answers GETs for its TTL, keyed by the path and the parameters you
#   list; `Cache-Control: max-age=0` is honoured only for callers allowed
#   `execute-api:InvalidateCache`.
# - An **AWS service integration** with a mapping template and a narrow role sends requests
#   straight into a service such as Kinesis: no function to run, pay for or scale.
# - An **ALB** with `authenticate-cognito` signs browsers in through the same user pool's
#   hosted UI, keeps a session cookie, and hands the target the user's claims in a JWT it
#   signs itself (`x-amzn-oidc-data`).
