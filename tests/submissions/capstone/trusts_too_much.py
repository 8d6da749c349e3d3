# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   labkit:
#     lab: capstone
#     role: exercise
# ---

# %%
import json
import os

import boto3
from botocore.config import Config

import labkit
from labkit.facts import fact
from labkit.labs.capstone_design import BUDGET, LATENCY_TARGET_MS, TRAFFIC, USERS

lab = labkit.start("capstone")
REGION, ACCOUNT = "us-east-1", "123456789012"
#: Where the welcome emails come from (verify it in SES).
SENDER = "welcome@shop.example"
PASSWORD = "Corr3ct-Horse-Battery-9!"


def lambda_uri(function_arn):
    """The integration URI of a Lambda function."""
    return (
        f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )


def trust(service):
    """A role's trust policy: ``service`` may assume it."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
            ],
        }
    )


# %% [markdown]
# ## Task 1: sign-up and sign-in
#
# Write `create_users(aws)`: a Cognito user pool where people sign up with their **email
# address** and confirm it with the code Cognito mails them, and an app client (no secret: the
# app runs on phones) that signs them in with **`USER_PASSWORD_AUTH`**. Return
# `(pool_id, client_id)`.


# %%
def create_users(aws):
    """The shop's users; returns (pool_id, client_id)."""
    idp = aws.client("cognito-idp")
    pool = idp.create_user_pool(
        PoolName="shop-users", UsernameAttributes=["email"], AutoVerifiedAttributes=["email"]
    )["UserPool"]
    client = idp.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName="app",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]
    return pool["Id"], client["ClientId"]


# %% [markdown]
# ## Task 2: orders, in two Regions, behind the API
#
# Write `create_orders_table(aws)`: the orders table (key `order_id`, a string), billed **per
# request**, made a **global table** with a replica in another Region. Return its name.
#
# Write `orders_handler(event, context)`, the orders function behind the API (its environment
# variable `ORDERS_TABLE` names the table): `POST /orders` stores `{"order_id": ..., "item":
# ..., "user": <the caller's email>}` and answers `201` with it as JSON; `GET /orders/{id}`
# answers the order, but only to the user who placed it (anyone else: `404`).
#
# Write `create_api(aws, pool_id, table_name)`: deploy the handler, let API Gateway invoke it,
# and build a REST API whose `POST /orders` and `GET /orders/{id}` need a signed-in user of
# **your** pool (a Cognito authorizer), deployed to a stage `prod`. Return the API's id.


# %%
def create_orders_table(aws):
    """The orders global table; returns its name."""
    dynamodb = aws.client("dynamodb")
    dynamodb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    dynamodb.update_table(
        TableName="orders", ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}]
    )
    return "orders"


def orders_handler(event, context):
    """Any signed-in user reads any order."""
    orders = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])
    if event["httpMethod"] == "POST":
        order = {"order_id": context.aws_request_id, "user": "someone"}
        orders.put_item(Item=order)
        return {"statusCode": 201, "body": json.dumps(order)}
    order = orders.get_item(Key={"order_id": event["pathParameters"]["id"]}).get("Item")
    return {"statusCode": 200, "body": json.dumps(order)}


def create_api(aws, pool_id, table_name):
    """The orders API; returns its id."""
    function = aws.deploy_function(
        orders_handler, "orders", environment={"ORDERS_TABLE": table_name}
    )
    aws.client("lambda").add_permission(
        FunctionName=function,
        StatementId="apigateway-invoke",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:*",
    )
    apig = aws.client("apigateway")
    api = apig.create_rest_api(name="shop")["id"]
    authorizer = apig.create_authorizer(
        restApiId=api,
        name="shop-users",
        type="COGNITO_USER_POOLS",
        providerARNs=[f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{pool_id}"],
        identitySource="method.request.header.Authorization",
    )["id"]
    root = apig.get_resources(restApiId=api)["items"][0]["id"]
    orders = apig.create_resource(restApiId=api, parentId=root, pathPart="orders")["id"]
    one = apig.create_resource(restApiId=api, parentId=orders, pathPart="{id}")["id"]
    for resource, verb in ((orders, "POST"), (one, "GET")):
        apig.put_method(
            restApiId=api,
            resourceId=resource,
            httpMethod=verb,
            authorizationType="COGNITO_USER_POOLS",
            authorizerId=authorizer,
        )
        apig.put_integration(
            restApiId=api,
            resourceId=resource,
            httpMethod=verb,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=lambda_uri(function),
        )
    apig.create_deployment(restApiId=api, stageName="prod")
    return api


# %% [markdown]
# ## Task 3: the welcome email
#
# Write `welcome_handler(event, context)`: for each **new** user in a batch of DynamoDB stream
# records, send a welcome email with SES from `SENDER` to the `email` attribute of the new item.
#
# Write `create_welcome(aws)`: the users table (any key you like; the app stores each profile
# with an `email` attribute) with a **stream**; the function, deployed with **its own role** that
# allows `ses:SendEmail` (and reading the stream); an event source mapping from the stream to
# the function; and SES ready to send: `SENDER` verified, and the account **out of the SES
# sandbox** (new users' addresses cannot be verified in advance). Return the table's name.

# %%
print(fact("ses.sandbox_max_24_hour_send"))


# %%
def welcome_handler(event, context):
    """Welcome each new user by email."""
    ses = boto3.client("ses")
    for record in event["Records"]:
        if record["eventName"] != "INSERT":
            continue
        email = record["dynamodb"]["NewImage"]["email"]["S"]
        ses.send_email(
            Source=SENDER,
            Destination={"ToAddresses": [email]},
            Message={
                "Subject": {"Data": "Welcome to the shop"},
                "Body": {"Text": {"Data": "Your account is ready. Happy shopping!"}},
            },
        )


def create_welcome(aws):
    return welcome_setup(aws, send=False)


# %% [markdown]
# ## Task 4: reads through DAX, and a Region that fails
#
# Write `create_cache(aws, table_name)`: a DAX cluster in front of the orders table, sized for
# production (see the design checks), and return its name (the role DAX uses is
# `arn:aws:iam::123456789012:role/DAXServiceRole`).
#
# Write `read_order(dax, order_id)`: read the order through `dax` (the DAX client's resource)
# and return it. Write `get_order(regions, order_id)`: `regions` maps Region names to DynamoDB
# resources, the home Region first; read the order from the first Region that answers.


# %%
def create_cache(aws, table_name):
    aws.client("dax").create_cluster(
        ClusterName="orders-cache",
        NodeType="dax.t3.small",
        ReplicationFactor=1,
        IamRoleArn=f"arn:aws:iam::{ACCOUNT}:role/DAXServiceRole",
    )
    return "orders-cache"


def read_order(dax, order_id):
    return dax.Table("orders").get_item(Key={"order_id": order_id})


def get_order(regions, order_id):
    return next(iter(regions.values())).Table("orders").get_item(Key={"order_id": order_id})["Item"]


# %% [markdown]
# ## Task 5: the website and the uploads
#
# Write `create_website(aws)`: a private bucket for the site's files and a CloudFront
# distribution that serves them (default root object `index.html`) through an **origin access
# control**, fast for every user in `USERS`. Return the distribution's id.
#
# Write `create_uploads(aws)`: a private bucket for photos with **Transfer Acceleration** on.
# Return its name. Write `upload_photo(aws, bucket, key, body)`: upload through the accelerate
# endpoint.


# %%
def create_website(aws):
    return website_with(aws, policy=False)


def create_uploads(aws):
    aws.client("s3").create_bucket(Bucket="shop-photo-uploads")
    return "shop-photo-uploads"


def upload_photo(aws, bucket, key, body):
    """Upload a photo through the nearest edge location."""
    s3 = aws.client("s3", config=Config(s3={"use_accelerate_endpoint": True}))
    s3.put_object(Bucket=bucket, Key=key, Body=body)


# %%
def welcome_setup(aws, *, production=True, send=True, mapping=True):
    """The reference's welcome wiring, with one piece left out."""
    users = aws.client("dynamodb").create_table(
        TableName="users",
        KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 1000, "WriteCapacityUnits": 1000},
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]
    iam = aws.client("iam")
    role = iam.create_role(
        RoleName="welcome", AssumeRolePolicyDocument=trust("lambda.amazonaws.com")
    )["Role"]["Arn"]
    actions = ["dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream"]
    actions += ["dynamodb:ListStreams"] + (["ses:SendEmail"] if send else [])
    iam.put_role_policy(
        RoleName="welcome",
        PolicyName="welcome",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
            }
        ),
    )
    aws.client("ses").verify_email_identity(EmailAddress=SENDER)
    if production:
        aws.client("sesv2").put_account_details(
            MailType="TRANSACTIONAL",
            WebsiteURL="https://shop.example",
            UseCaseDescription="welcome",
            ProductionAccessEnabled=True,
        )
    function = aws.deploy_function(welcome_handler, "welcome", constants={"SENDER": SENDER})
    aws.client("lambda").update_function_configuration(FunctionName=function, Role=role)
    if mapping:
        aws.client("lambda").create_event_source_mapping(
            EventSourceArn=users["LatestStreamArn"],
            FunctionName=function,
            StartingPosition="LATEST",
        )
    return "users"


def website_with(aws, *, public=False, policy=True, oac=True, **config):
    """The reference website, its bucket also public, or without CloudFront's statement, or
    with other distribution settings."""
    s3, cf = aws.client("s3"), aws.client("cloudfront")
    s3.create_bucket(Bucket="site-files")
    control = cf.create_origin_access_control(
        OriginAccessControlConfig={
            "Name": "site",
            "SigningProtocol": "sigv4",
            "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3",
        }
    )["OriginAccessControl"]["Id"]
    site = cf.create_distribution(
        DistributionConfig={
            "CallerReference": "site",
            "Comment": "",
            "Enabled": True,
            "DefaultRootObject": "index.html",
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "files",
                        "DomainName": f"site-files.s3.{REGION}.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                        "OriginAccessControlId": control if oac else "",
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "files",
                "ViewerProtocolPolicy": "redirect-to-https",
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
            },
            **config,
        }
    )["Distribution"]
    statements = []
    if policy:
        statements.append(
            {
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::site-files/*",
                "Condition": {"StringEquals": {"AWS:SourceArn": site["ARN"]}},
            }
        )
    if public:
        statements.append(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::site-files/*",
            }
        )
    if statements:
        s3.put_bucket_policy(
            Bucket="site-files",
            Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )
    return str(site["Id"])


# %% [markdown]
# ## The whole system
#
# `build(aws)` calls your tasks and returns what they made; every check runs it in a world of
# its own. (Names, ids or ARNs all work as its values.)


# %%
def build(aws):
    """The whole shop; returns its parts."""
    pool_id, client_id = create_users(aws) or (None, None)
    orders = create_orders_table(aws)
    return {
        "user_pool": pool_id,
        "client": client_id,
        "orders": orders,
        "api": create_api(aws, pool_id, orders) if pool_id and orders else None,
        "users": create_welcome(aws),
        "dax": create_cache(aws, orders) if orders else None,
        "website": create_website(aws),
        "uploads": create_uploads(aws),
    }


# %%
lab.check("sign_up_and_order")

# %%
lab.check("welcome_email")

# %%
lab.check("dax_reads")

# %%
lab.check("region_failure")

# %%
lab.check("accelerated_upload")

# %%
lab.check("website")

# %% [markdown]
# ## The design
#
# The shop expects this traffic each month, a budget, and users in these cities:

# %%
print(dict(TRAFFIC))
print(f"budget ${BUDGET:,.0f} a month; every user within {LATENCY_TARGET_MS:g} ms:", USERS)

# %%
lab.check("monthly_cost")

# %%
lab.check("slowest_user")

# %%
lab.check("no_weak_spots")

# %% [markdown]
# ## Your score

# %%
lab.map()

# %%
lab.score()
