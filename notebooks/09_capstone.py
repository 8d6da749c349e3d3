# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Capstone: serverless architectures, built together
#
# The earlier labs each met a few services. Real systems join them, and AWS's serverless
# reference architectures show the usual ways:
#
# 1. **A website**: its files in a private S3 bucket, served worldwide by **CloudFront**, which
#    alone may read the bucket (an **origin access control**).
# 2. **A mobile back end**: a **REST API on API Gateway** (HTTPS), users signed up and in by
#    **Cognito**, the logic in **Lambda**, the data in **DynamoDB global tables** (a copy in
#    each of several Regions), hot reads answered by **DAX**.
# 3. **Welcome emails**: a new item in the users table appears on its **DynamoDB stream**; the
#    stream **invokes a function**, whose **role** lets it send through **SES**.
# 4. **Uploads**: phones send photos to S3 through **Transfer Acceleration** (the nearest edge
#    location, then AWS's own network); S3 events can then start **Lambda** or fill an **SQS**
#    queue for the work that follows.
#
# None of these runs a server you manage, and each part scales and bills by use. What holds
# them together is **wiring** (a stream mapped to a function, an origin, an integration, an
# authorizer) and **permissions** (a role, a bucket policy, a function policy). This lesson
# builds a small shop with all four, and draws it with `lab.map()`: a diagram read from the
# sandbox itself, so a missing permission shows as a broken edge.

# %%
import json
import os

import boto3
import requests
from botocore.config import Config

import labkit
from labkit import edge
from labkit.facts import fact, value

lab = labkit.start("capstone")
REGION, ACCOUNT = "us-east-1", "123456789012"
PASSWORD = "Corr3ct-Horse-Battery-9!"


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
# ## 1. Data first: a global table and a users table with a stream
#
# The orders live in a **global table**: each write lands in one Region and is copied to the
# others, usually within a second, and every replica takes reads and writes. The users table
# keeps a **stream** of its changes for 24 hours: that is what will send the welcome email.

# %%
print(fact("dynamodb.global_table_replication_typical"))
dynamodb = lab.client("dynamodb")
dynamodb.create_table(
    TableName="orders",
    KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
    StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
)
dynamodb.update_table(TableName="orders", ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}])
users = dynamodb.create_table(
    TableName="users",
    KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
    StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
)["TableDescription"]
print(users["LatestStreamArn"])

# %% [markdown]
# ## 2. The welcome email: Streams → Lambda → SES
#
# The function's **execution role** is what lets it act: here, read the stream and send email.
# SES starts every account in its **sandbox**: it sends only to verified addresses, at most a
# few hundred a day. A welcome email goes to strangers, so the shop asks for **production
# access** (AWS reviews the request in about a day; the sandbox grants it at once).

# %%
print(fact("ses.sandbox_max_24_hour_send"))
print(fact("ses.sandbox_max_send_rate"))

# %%
SENDER = "welcome@shop.example"


def welcome_handler(event, context):
    """Welcome each new user (an INSERT on the users table's stream) by email."""
    ses = boto3.client("ses")
    for record in event["Records"]:
        if record["eventName"] == "INSERT":
            ses.send_email(
                Source=SENDER,
                Destination={"ToAddresses": [record["dynamodb"]["NewImage"]["email"]["S"]]},
                Message={
                    "Subject": {"Data": "Welcome to the shop"},
                    "Body": {"Text": {"Data": "Your account is ready."}},
                },
            )


iam = lab.client("iam")
role = iam.create_role(RoleName="welcome", AssumeRolePolicyDocument=trust("lambda.amazonaws.com"))
iam.put_role_policy(
    RoleName="welcome",
    PolicyName="send-welcome",
    PolicyDocument=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "ses:SendEmail", "Resource": "*"},
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
lab.client("ses").verify_email_identity(EmailAddress=SENDER)
lab.client("sesv2").put_account_details(
    MailType="TRANSACTIONAL",
    WebsiteURL="https://shop.example",
    UseCaseDescription="One welcome email to each customer who signs up.",
    ProductionAccessEnabled=True,
)
welcome = lab.deploy_function(welcome_handler, "welcome", constants={"SENDER": SENDER})
lam = lab.client("lambda")
lam.update_function_configuration(FunctionName=welcome, Role=role["Role"]["Arn"])
lam.create_event_source_mapping(
    EventSourceArn=users["LatestStreamArn"], FunctionName=welcome, StartingPosition="LATEST"
)

# %% [markdown]
# A new profile, and a few lab seconds for the stream to be polled:

# %%
dynamodb.put_item(
    TableName="users", Item={"user_id": {"S": "ana"}, "email": {"S": "ana@example.com"}}
)
lab.clock.advance(5)
lab.mailbox_view("ana@example.com", hold=True)

# %% [markdown]
# ## 3. The mobile back end: Cognito, API Gateway, Lambda
#
# A **user pool** signs users up (it mails a code to confirm the address) and in, and issues
# signed tokens. A **Cognito authorizer** on the API checks each request's token before the
# function runs: no token, an edited one or another pool's gets `401`, and the function reads
# who called from the claims.

# %%
idp = lab.client("cognito-idp")
pool = idp.create_user_pool(
    PoolName="shop-users", UsernameAttributes=["email"], AutoVerifiedAttributes=["email"]
)["UserPool"]
client_id = idp.create_user_pool_client(
    UserPoolId=pool["Id"], ClientName="app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
)["UserPoolClient"]["ClientId"]


def orders_handler(event, context):
    """POST /orders: store the caller's order in the global table."""
    user = event["requestContext"]["authorizer"]["claims"]["email"]
    order = {"order_id": context.aws_request_id, "user": user, "item": "lamp"}
    boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"]).put_item(Item=order)
    return {"statusCode": 201, "body": json.dumps(order)}


orders_fn = lab.deploy_function(orders_handler, "orders", environment={"ORDERS_TABLE": "orders"})
lam.add_permission(
    FunctionName=orders_fn,
    StatementId="apigateway-invoke",
    Action="lambda:InvokeFunction",
    Principal="apigateway.amazonaws.com",
    SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:*",
)
apig = lab.client("apigateway")
api = apig.create_rest_api(name="shop")["id"]
authorizer = apig.create_authorizer(
    restApiId=api,
    name="shop-users",
    type="COGNITO_USER_POOLS",
    providerARNs=[pool["Arn"]],
    identitySource="method.request.header.Authorization",
)["id"]
root = apig.get_resources(restApiId=api)["items"][0]["id"]
resource = apig.create_resource(restApiId=api, parentId=root, pathPart="orders")["id"]
apig.put_method(
    restApiId=api,
    resourceId=resource,
    httpMethod="POST",
    authorizationType="COGNITO_USER_POOLS",
    authorizerId=authorizer,
)
apig.put_integration(
    restApiId=api,
    resourceId=resource,
    httpMethod="POST",
    type="AWS_PROXY",
    integrationHttpMethod="POST",
    uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{orders_fn}/invocations",
)
apig.create_deployment(restApiId=api, stageName="prod")
orders_url = f"https://{api}.execute-api.{REGION}.amazonaws.com/prod/orders"

# %% [markdown]
# Ben signs up, confirms with the code from his mailbox, signs in and orders; an anonymous
# caller is turned away by API Gateway before the function runs.

# %%
idp.sign_up(
    ClientId=client_id,
    Username="ben@example.com",
    Password=PASSWORD,
    UserAttributes=[{"Name": "email", "Value": "ben@example.com"}],
)
code = lab.mailbox.latest("ben@example.com").code
idp.confirm_sign_up(ClientId=client_id, Username="ben@example.com", ConfirmationCode=code)
tokens = idp.initiate_auth(
    ClientId=client_id,
    AuthFlow="USER_PASSWORD_AUTH",
    AuthParameters={"USERNAME": "ben@example.com", "PASSWORD": PASSWORD},
)["AuthenticationResult"]
placed = requests.post(orders_url, headers={"Authorization": tokens["IdToken"]})
print("Ben:", placed.status_code, placed.text)
print("nobody:", requests.post(orders_url).status_code)

# %% [markdown]
# ## 4. DAX in front of the table, and a Region that fails
#
# **DAX** keeps recently read items in memory in front of DynamoDB: microseconds for a hit
# instead of milliseconds. It runs on nodes you pay for by the hour; AWS recommends at least
# three for production, so that one node failing leaves the cache serving.

# %%
print(fact("dax.production_min_nodes"))
lab.client("dax").create_cluster(
    ClusterName="orders-cache",
    NodeType="dax.t3.small",
    ReplicationFactor=3,
    IamRoleArn=f"arn:aws:iam::{ACCOUNT}:role/DAXServiceRole",
)

# %% [markdown]
# With the home Region down, boto3 cannot reach its endpoint at all; the replica in
# `eu-west-1` still has Ben's order (replication ran on the lab clock).

# %%
lab.clock.advance(30)
order_id = placed.json()["order_id"]
edge.fail_region(REGION)
try:
    eu = lab.resource("dynamodb", region_name="eu-west-1").Table("orders")
    print("from eu-west-1:", eu.get_item(Key={"order_id": order_id}).get("Item"))
finally:
    edge.restore_region(REGION)

# %% [markdown]
# ## 5. The website and the uploads
#
# The website's bucket stays private; CloudFront signs its requests to S3 (an origin access
# control) and the bucket policy lets only that distribution read. Uploads go to another private
# bucket with **Transfer Acceleration**: a phone in Sydney talks to the edge location next door,
# and the bytes cross the Pacific on AWS's network.

# %%
s3, cf = lab.client("s3"), lab.client("cloudfront")
s3.create_bucket(Bucket="shop-site")
s3.put_object(Bucket="shop-site", Key="index.html", Body=b"<h1>Shop</h1>", ContentType="text/html")
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
                    "Id": "site",
                    "DomainName": f"shop-site.s3.{REGION}.amazonaws.com",
                    "S3OriginConfig": {"OriginAccessIdentity": ""},
                    "OriginAccessControlId": control,
                }
            ],
        },
        "DefaultCacheBehavior": {
            "TargetOriginId": "site",
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
        },
    }
)["Distribution"]
s3.put_bucket_policy(
    Bucket="shop-site",
    Policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::shop-site/*",
                    "Condition": {"StringEquals": {"AWS:SourceArn": site["ARN"]}},
                }
            ],
        }
    ),
)
page = edge.fetch(f"https://{site['DomainName']}/index.html", viewer_at="Tokyo")
print("through CloudFront:", page.status, page.served_by, f"{page.latency_ms:.0f} ms")
print(
    "straight from S3:", requests.get("https://shop-site.s3.amazonaws.com/index.html").status_code
)

# %%
s3.create_bucket(Bucket="shop-uploads")
s3.put_bucket_accelerate_configuration(
    Bucket="shop-uploads", AccelerateConfiguration={"Status": "Enabled"}
)
fast = lab.client("s3", config=Config(s3={"use_accelerate_endpoint": True}))
with edge.viewer("Sydney"):
    fast.put_object(Bucket="shop-uploads", Key="photos/ben.jpg", Body=b"\xff" * 5_000_000)
print(edge.uploads("shop-uploads")[-1].estimate.summary())
edge.acceleration_view("shop-uploads", cities=["Sydney", "London", "New York"], hold=True)

# %% [markdown]
# ## 6. The map of what you built
#
# `lab.map()` reads the sandbox and draws it: the edge network, then each Region's front door,
# compute, integration and data, with every piece of wiring, the permission that allows it and
# what flowed along it. A held view keeps this moment; its text form lists the same edges.

# %%
shop_map = lab.map(hold=True)
shop_map

# %%
print(shop_map.to_text())

# %% [markdown]
# Every email the shop sent so far, Cognito's codes and SES's welcome alike: a live view, which
# keeps up as more are sent.

# %%
lab.mailbox_view()

# %% [markdown]
# ## 7. Judging a design: cost and latency
#
# An architecture also has a bill and a speed. The bill of a serverless design is mostly per
# request (API Gateway, Lambda, on-demand DynamoDB, SES), plus what is always on (here DAX's
# nodes, every hour of the month). The exercise's design checks price a described month with
# the fact table:

# %%
hours = value("aws_pricing.hours_per_month")
print(f"3 million API calls: ${3 * value('api_gateway.rest_price_per_million_requests'):.2f}")
print(f"3 DAX nodes all month: ${3 * hours * value('dax.node_hour_price_t3_small'):.2f}")
print(f"20,000 welcome emails: ${20 * value('ses.price_per_thousand_emails'):.2f}")

# %% [markdown]
# And speed: CloudFront's **price class** decides which edge locations serve a distribution.
# `PriceClass_100` uses only North America and Europe: cheaper, but a visitor in Sydney then
# crosses the world for every page.

# %%
from labkit.services.edge.sim_locations import nearest_cloudfront_edge, place, rtt_ms

for price_class in ("PriceClass_All", "PriceClass_100"):
    pop = nearest_cloudfront_edge(place("Sydney"), price_class)
    print(price_class, pop.code, f"{rtt_ms(place('Sydney'), pop.place):.0f} ms round trip")

# %% [markdown]
# ## Summary
#
# - Serverless architectures are services joined by **wiring** (streams mapped to functions,
#   origins, integrations, authorizers, replicas) and **permissions** (execution roles, bucket
#   and function policies); `lab.map()` draws both from the sandbox, with what flowed.
# - A **mobile back end**: Cognito signs users up and in; API Gateway checks their tokens; Lambda
#   acts for them; DynamoDB **global tables** keep a copy per Region, and **DAX** answers hot
#   reads from memory.
# - **Welcome emails**: a table's **stream** invokes a function through an event source
#   mapping; its **role** must allow `ses:SendEmail`, and SES must be out of its **sandbox** to
#   mail addresses nobody verified.
# - **Websites** stay in private buckets that only CloudFront reads (origin access control);
#   **uploads** from far away go faster through **Transfer Acceleration**.
# - A design is judged by its behaviour, its **monthly bill** (per request, plus what is always
#   on) and its **slowest user**; a single Region, a one-node cache or a public bucket are weak
#   spots.
