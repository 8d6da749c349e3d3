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
    """POST /orders and GET /orders/{id}, for signed-in users."""
    orders = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])
    user = event["requestContext"]["authorizer"]["claims"]["email"]
    if event["httpMethod"] == "POST":
        body = json.loads(event.get("body") or "{}")
        order = {"order_id": context.aws_request_id, "item": body.get("item", ""), "user": user}
        orders.put_item(Item=order)
        return {"statusCode": 201, "body": json.dumps(order)}
    order = orders.get_item(Key={"order_id": event["pathParameters"]["id"]}).get("Item")
    if order is None or order["user"] != user:
        return {"statusCode": 404, "body": json.dumps({"message": "No such order"})}
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
    """The users table, its stream and the welcome function; returns the table's name."""
    users = aws.client("dynamodb").create_table(
        TableName="users",
        KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]
    iam = aws.client("iam")
    role = iam.create_role(
        RoleName="welcome", AssumeRolePolicyDocument=trust("lambda.amazonaws.com")
    )
    iam.put_role_policy(
        RoleName="welcome",
        PolicyName="send-welcome",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "ses:SendEmail",
                        "Resource": f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{SENDER}",
                    },
                    {
                        "Effect": "Allow",
                        "Action": [
                            "dynamodb:GetRecords",
                            "dynamodb:GetShardIterator",
                            "dynamodb:DescribeStream",
                            "dynamodb:ListStreams",
                        ],
                        "Resource": users["LatestStreamArn"],
                    },
                ],
            }
        ),
    )
    aws.client("ses").verify_email_identity(EmailAddress=SENDER)
    aws.client("sesv2").put_account_details(
        MailType="TRANSACTIONAL",
        WebsiteURL="https://shop.example",
        UseCaseDescription="One welcome email to each customer who signs up.",
        ProductionAccessEnabled=True,
    )
    function = aws.deploy_function(welcome_handler, "welcome", constants={"SENDER": SENDER})
    lam = aws.client("lambda")
    lam.update_function_configuration(FunctionName=function, Role=role["Role"]["Arn"])
    lam.create_event_source_mapping(
        EventSourceArn=users["LatestStreamArn"], FunctionName=function, StartingPosition="LATEST"
    )
    return "users"


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
    """The orders' DAX cluster; returns its name."""
    aws.client("dax").create_cluster(
        ClusterName="orders-cache",
        NodeType="dax.t3.small",
        ReplicationFactor=3,
        IamRoleArn=f"arn:aws:iam::{ACCOUNT}:role/DAXServiceRole",
        Description=f"In front of {table_name}",
    )
    return "orders-cache"


def read_order(dax, order_id):
    """The order, from DAX's query cache."""
    found = dax.Table("orders").query(KeyConditionExpression=Key("order_id").eq(order_id))
    return found["Items"][0] if found["Items"] else None


def get_order(regions, order_id):
    """Each Region in turn until one answers."""
    errors = []
    for name in regions:
        try:
            answer = regions[name].Table("orders").get_item(Key={"order_id": order_id})
        except Exception as error:  # a Region that is down
            errors.append(f"{name}: {error}")
            continue
        return answer.get("Item")
    raise RuntimeError("; ".join(errors))


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
    """The website; returns the distribution's id."""
    s3, cf = aws.client("s3"), aws.client("cloudfront")
    bucket = "shop-website-files"
    s3.create_bucket(Bucket=bucket)
    control = cf.create_origin_access_control(
        OriginAccessControlConfig={
            "Name": "website",
            "SigningProtocol": "sigv4",
            "SigningBehavior": "always",
            "OriginAccessControlOriginType": "s3",
        }
    )["OriginAccessControl"]["Id"]
    site = cf.create_distribution(
        DistributionConfig={
            "CallerReference": "shop-website",
            "Comment": "The shop's website",
            "Enabled": True,
            "DefaultRootObject": "index.html",
            "PriceClass": "PriceClass_All",
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "files",
                        "DomainName": f"{bucket}.s3.{REGION}.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                        "OriginAccessControlId": control,
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "files",
                "ViewerProtocolPolicy": "redirect-to-https",
                "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",  # CachingOptimized
            },
        }
    )["Distribution"]
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudfront.amazonaws.com"},
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{bucket}/*",
                        "Condition": {"StringEquals": {"AWS:SourceArn": site["ARN"]}},
                    }
                ],
            }
        ),
    )
    return site["Id"]


def create_uploads(aws):
    """The photos' bucket; returns its name."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="shop-photo-uploads")
    s3.put_bucket_accelerate_configuration(
        Bucket="shop-photo-uploads", AccelerateConfiguration={"Status": "Enabled"}
    )
    return "shop-photo-uploads"


def upload_photo(aws, bucket, key, body):
    """Through the accelerate endpoint, as a stream."""
    client = aws.client(
        "s3", region_name="us-east-1", config=Config(s3={"use_accelerate_endpoint": True})
    )
    client.put_object(Bucket=bucket, Key=key, Body=io.BytesIO(body), ContentType="image/jpeg")


# %%
import io

from boto3.dynamodb.conditions import Key

# %% [markdown]
# ## The whole system
#
# `build(aws)` calls your tasks and returns what they made; every check runs it in a world of
# its own. (Names, ids or ARNs all work as its values.)


# %%
def build(aws):
    """The whole shop; only the two tables named (the checks find the rest)."""
    pool_id, _ = create_users(aws)
    orders = create_orders_table(aws)
    create_api(aws, pool_id, orders)
    create_cache(aws, orders)
    create_website(aws)
    create_uploads(aws)
    return {"orders": orders, "users": create_welcome(aws)}


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
