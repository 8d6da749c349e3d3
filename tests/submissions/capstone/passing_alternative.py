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
    """Usernames that are not emails (the email only an attribute), the pool named by ARN."""
    idp = aws.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="people", AutoVerifiedAttributes=["email"])["UserPool"]
    client = idp.create_user_pool_client(
        UserPoolId=pool["Id"], ClientName="phones", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]
    return pool["Arn"], client["ClientId"]


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
    """The table made through the resource API, its replica in us-west-2 added later with
    the client, returned as an ARN."""
    made = aws.resource("dynamodb").create_table(
        TableName="shop-orders",
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    aws.client("dynamodb").update_table(
        TableName="shop-orders", ReplicaUpdates=[{"Create": {"RegionName": "us-west-2"}}]
    )
    return str(made.table_arn)


def orders_handler(event, context):
    """The client API with typed attributes; the owner kept as the user's `sub`."""
    client = boto3.client("dynamodb")
    table = os.environ["ORDERS_TABLE"].rsplit("/", 1)[-1]
    claims = event["requestContext"]["authorizer"]["claims"]
    if event["httpMethod"] == "POST":
        order_id = "o-" + context.aws_request_id[:8]
        client.put_item(
            TableName=table,
            Item={"order_id": {"S": order_id}, "owner": {"S": claims["sub"]}},
        )
        return {"statusCode": 201, "body": json.dumps({"order_id": order_id})}
    found = client.get_item(TableName=table, Key={"order_id": {"S": event["pathParameters"]["id"]}})
    item = found.get("Item")
    if not item or item["owner"]["S"] != claims["sub"]:
        return {"statusCode": 403, "body": "{}"}
    return {"statusCode": 200, "body": json.dumps({"order_id": item["order_id"]["S"]})}


def create_api(aws, pool, table_name):
    """One stage, `v1`; the function deployed by name; the API returned as its invoke URL."""
    pool_arn = (
        pool
        if pool.startswith("arn:")
        else f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{pool}"
    )
    function = aws.deploy_function(
        orders_handler, "shop-orders-api", environment={"ORDERS_TABLE": table_name}
    )
    aws.client("lambda").add_permission(
        FunctionName="shop-orders-api",
        StatementId="api",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
    )
    apig = aws.client("apigateway")
    api = apig.create_rest_api(name="orders-api", endpointConfiguration={"types": ["REGIONAL"]})
    authorizer = apig.create_authorizer(
        restApiId=api["id"],
        name="pool",
        type="COGNITO_USER_POOLS",
        providerARNs=[pool_arn],
        identitySource="method.request.header.Authorization",
    )["id"]
    root = api["rootResourceId"]
    orders = apig.create_resource(restApiId=api["id"], parentId=root, pathPart="orders")["id"]
    one = apig.create_resource(restApiId=api["id"], parentId=orders, pathPart="{id}")["id"]
    uri = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function}/invocations"
    for resource, verb in ((one, "GET"), (orders, "POST")):
        apig.put_method(
            restApiId=api["id"],
            resourceId=resource,
            httpMethod=verb,
            authorizationType="COGNITO_USER_POOLS",
            authorizerId=authorizer,
        )
        apig.put_integration(
            restApiId=api["id"],
            resourceId=resource,
            httpMethod=verb,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=uri,
        )
    apig.create_deployment(restApiId=api["id"], stageName="v1")
    return f"https://{api['id']}.execute-api.{REGION}.amazonaws.com/v1"


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
    """SES's v2 API, HTML and text."""
    mail = boto3.client("sesv2")
    for record in event["Records"]:
        image = record["dynamodb"].get("NewImage")
        if record["eventName"] == "INSERT" and image:
            mail.send_email(
                FromEmailAddress="Shop <hello@shop.example>",
                Destination={"ToAddresses": [image["email"]["S"]]},
                Content={
                    "Simple": {
                        "Subject": {"Data": "Welcome!"},
                        "Body": {"Html": {"Data": "<p>Welcome</p>"}, "Text": {"Data": "Welcome"}},
                    }
                },
            )


def create_welcome(aws):
    """The users table keyed by email, a managed policy for the role, SES set up with v2."""
    table = aws.client("dynamodb").create_table(
        TableName="profiles",
        KeySchema=[{"AttributeName": "email", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "email", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    iam = aws.client("iam")
    role = iam.create_role(
        RoleName="mailer",
        AssumeRolePolicyDocument=trust("lambda.amazonaws.com"),
    )["Role"]
    policy = iam.create_policy(
        PolicyName="mailer",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["ses:SendEmail"], "Resource": "*"},
                    {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
                ],
            }
        ),
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="mailer", PolicyArn=policy)
    ses = aws.client("sesv2")
    ses.create_email_identity(EmailIdentity="hello@shop.example")
    ses.put_account_details(
        MailType="TRANSACTIONAL",
        WebsiteURL="https://shop.example",
        UseCaseDescription="welcome",
        ProductionAccessEnabled=True,
    )
    function = aws.deploy_function(welcome_handler, "mailer")
    aws.client("lambda").update_function_configuration(FunctionName="mailer", Role=role["Arn"])
    aws.client("lambda").create_event_source_mapping(
        EventSourceArn=table["LatestStreamArn"],
        FunctionName=function,
        StartingPosition="TRIM_HORIZON",
        BatchSize=1,
    )
    return str(table["LatestStreamArn"])


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
    """BatchGetItem through DAX (its item cache answers batches too)."""
    found = dax.batch_get_item(RequestItems={"shop-orders": {"Keys": [{"order_id": order_id}]}})
    items = found["Responses"].get("shop-orders", [])
    return items[0] if items else None


def get_order(regions, order_id):
    """Only connection failures move on; the table named by the Region's own ARN."""
    for region, resource in regions.items():
        try:
            return resource.Table("shop-orders").get_item(Key={"order_id": order_id})["Item"]
        except EndpointConnectionError:
            print(region, "is down")
    raise RuntimeError("no Region answered")


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
    """The managed transfer, through an accelerated client."""
    s3 = aws.client("s3", config=Config(s3={"use_accelerate_endpoint": True}))
    s3.upload_fileobj(io.BytesIO(body), bucket, key)


# %%
import io

from botocore.exceptions import EndpointConnectionError

# %% [markdown]
# ## The whole system
#
# `build(aws)` calls your tasks and returns what they made; every check runs it in a world of
# its own. (Names, ids or ARNs all work as its values.)


# %%
def build(aws):
    """The whole shop, its parts named by ARN, URL and domain."""
    pool_arn, client_id = create_users(aws)
    orders = create_orders_table(aws)
    dax = create_cache(aws, orders)
    site = aws.client("cloudfront").get_distribution(Id=create_website(aws))["Distribution"]
    return {
        "user_pool": pool_arn,
        "client": {"ClientId": client_id},
        "orders": orders,
        "api": create_api(aws, pool_arn, orders),
        "users": create_welcome(aws),
        "dax": f"arn:aws:dax:us-east-1:123456789012:cache/{dax}",
        "website": site["DomainName"],
        "uploads": f"arn:aws:s3:::{create_uploads(aws)}",
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
