# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lambda exercise: an order pipeline without servers
#
# You build the serverless back end of a small shop, one Lambda handler at a time:
#
# 1. `process_orders`: an **SQS-triggered** order processor that stores good orders and reports
#    the bad messages, so that only they are retried and end in the dead-letter queue;
# 2. `connect_queue`: the **event source mapping** that makes SQS call it;
# 3. `record_upload`: an **S3 upload** handler that writes each upload's metadata to DynamoDB;
# 4. `get_order`: the handler behind **API Gateway** `GET /orders/{id}`, answering 200 or 404
#    with a JSON body.
#
# Write your code where it says `# YOUR CODE HERE` (replace the `...`). The checks deploy your
# handlers in an empty sandbox of their own, trigger them the way AWS would (a queue, an upload,
# an HTTP request) and look at what happened. Each handler reads the name of its table from the
# environment variable `TABLE_NAME`, as real functions do.
#
# Start the lab:

# %%
import json
import os  # your handlers read os.environ

import boto3  # your handlers create their clients
import requests

import labkit

lab = labkit.start("lambda")
dynamodb = lab.client("dynamodb")
lam = lab.client("lambda")
sqs = lab.client("sqs")


def make_table(name, key):
    """A DynamoDB table with a string partition key (on-demand capacity)."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


make_table("orders", "id")
make_table("uploads", "key")

# %% [markdown]
# ## Task 1: an order processor that reports partial batch failures
#
# An SQS event source mapping hands your function a **batch** of messages
# (`event["Records"]`, each with a `messageId` and a `body`). Each body should be an order, a
# JSON object such as `{"id": "o-1", "item": "book", "qty": 2}`.
#
# Write `process_orders(event, context)`:
#
# - a **good** order (a JSON object with a string `id` and a whole-number `qty` of at least 1)
#   is written to the DynamoDB table named by `os.environ["TABLE_NAME"]`, with its `id`, `item`
#   and `qty`;
# - every other message is **reported** as failed: return
#   `{"batchItemFailures": [{"itemIdentifier": <its messageId>}, ...]}` (an empty list when all
#   went well).
#
# Do **not** raise for a bad message: an exception fails the whole batch, so the good orders
# would come back with the bad ones.


# %%
def process_orders(event, context):
    """Store each good order; report the bad messages so that only they are retried."""
    ### BEGIN SOLUTION
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    failures = []
    for record in event["Records"]:
        try:
            order = json.loads(record["body"])
            if not isinstance(order, dict) or not isinstance(order.get("id"), str):
                raise ValueError("an order is a JSON object with a string id")
            qty = order.get("qty")
            if not isinstance(qty, int) or isinstance(qty, bool) or qty < 1:
                raise ValueError("qty must be a whole number of at least 1")
            table.put_item(Item={"id": order["id"], "item": order.get("item"), "qty": qty})
        except ValueError as error:  # json.JSONDecodeError is a ValueError too
            print(f"bad message {record['messageId']}: {error}")
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
    ### END SOLUTION


# %% [markdown]
# Try it: deploy it and invoke it with a hand-made batch of two messages, one good, one bad.

# %%
lab.deploy_function(process_orders, "process-orders", environment={"TABLE_NAME": "orders"})
batch = {
    "Records": [
        {"messageId": "m-1", "body": json.dumps({"id": "o-1", "item": "book", "qty": 2})},
        {"messageId": "m-2", "body": "not JSON"},
    ]
}
tried = lam.invoke(FunctionName="process-orders", Payload=json.dumps(batch))
print("function error:", tried.get("FunctionError"))
print("returned:", json.loads(tried["Payload"].read()))

# %%
lab.check("order_processor")

# %% [markdown]
# ## Task 2: connect the queue
#
# Write `connect_queue(lambda_client, function_name, queue_arn)`: create the **event source
# mapping** that lets Lambda poll the queue and call the function, and return the mapping's
# `UUID`. Lambda reads your `batchItemFailures` only if the mapping says so: set
# `FunctionResponseTypes=["ReportBatchItemFailures"]`.


# %%
def connect_queue(lambda_client, function_name, queue_arn):
    """Map the queue to the function with partial batch responses; return the mapping's UUID."""
    ### BEGIN SOLUTION
    response = lambda_client.create_event_source_mapping(
        EventSourceArn=queue_arn,
        FunctionName=function_name,
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    return response["UUID"]
    ### END SOLUTION


# %% [markdown]
# Try it: a queue whose messages go to a dead-letter queue after two receives, two good orders
# and one bad message. The lab clock drives Lambda's poller: each `advance` lets it run.

# %%
dlq_url = sqs.create_queue(QueueName="orders-dlq")["QueueUrl"]
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
    "QueueArn"
]
queue_url = sqs.create_queue(
    QueueName="orders-queue",
    Attributes={
        "VisibilityTimeout": "30",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
    },
)["QueueUrl"]
queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
    "QueueArn"
]
print("mapping:", connect_queue(lam, "process-orders", queue_arn))

for body in (
    json.dumps({"id": "o-2", "item": "lamp", "qty": 1}),
    json.dumps({"id": "o-3", "item": "desk", "qty": 0}),
    json.dumps({"id": "o-4", "item": "pen", "qty": 12}),
):
    sqs.send_message(QueueUrl=queue_url, MessageBody=body)


def queue_counts(url):
    """(visible, in flight) messages of a queue."""
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


for seconds in (1, 31, 31, 31):
    lab.clock.advance(seconds)
    print(
        f"after {lab.clock.elapsed}: queue (visible, in flight) = {queue_counts(queue_url)}, "
        f"dead-letter queue = {queue_counts(dlq_url)}"
    )
print("orders stored:", sorted(i["id"]["S"] for i in dynamodb.scan(TableName="orders")["Items"]))

# %%
lab.check("queue_trigger")

# %% [markdown]
# ## Task 3: record uploads
#
# S3 can invoke a function for every new object. Write `record_upload(event, context)`: for
# each record of the S3 event, write an item to the table named by `os.environ["TABLE_NAME"]`
# with
#
# - `key`: the object's key, **URL-decoded** (an S3 event writes `holiday photos/a.jpg` as
#   `holiday+photos/a.jpg`: decode it with `urllib.parse.unquote_plus`);
# - `bucket`: the bucket's name;
# - `size`: the object's size in bytes, as a number.

# %%
from urllib.parse import unquote_plus  # for your handler


def record_upload(event, context):
    """Write each uploaded object's decoded key, bucket and size to DynamoDB."""
    ### BEGIN SOLUTION
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    for record in event["Records"]:
        table.put_item(
            Item={
                "key": unquote_plus(record["s3"]["object"]["key"]),
                "bucket": record["s3"]["bucket"]["name"],
                "size": record["s3"]["object"]["size"],
            }
        )
    ### END SOLUTION


# %% [markdown]
# Try it: the handler uses `unquote_plus`, a name imported in the notebook, so the package needs
# that import line (`imports=[...]`). S3 may invoke the function only once its policy lets it
# (`add_permission`), and it invokes it **asynchronously**: it runs at the lab clock's next tick.

# %%
upload_arn = lab.deploy_function(
    record_upload,
    "record-upload",
    environment={"TABLE_NAME": "uploads"},
    imports=["from urllib.parse import unquote_plus"],
)
s3 = lab.client("s3")
s3.create_bucket(Bucket="photo-uploads")
lam.add_permission(
    FunctionName="record-upload",
    StatementId="photo-uploads-may-invoke",
    Action="lambda:InvokeFunction",
    Principal="s3.amazonaws.com",
    SourceArn="arn:aws:s3:::photo-uploads",
    SourceAccount="123456789012",
)
s3.put_bucket_notification_configuration(
    Bucket="photo-uploads",
    NotificationConfiguration={
        "LambdaFunctionConfigurations": [
            {"LambdaFunctionArn": upload_arn, "Events": ["s3:ObjectCreated:*"]}
        ]
    },
)
s3.put_object(Bucket="photo-uploads", Key="holiday photos/beach day.jpg", Body=b"sand")
lab.clock.advance(0)
print(dynamodb.scan(TableName="uploads")["Items"])

# %%
lab.check("upload_metadata")

# %% [markdown]
# ## Task 4: an orders API
#
# API Gateway's **Lambda proxy integration** hands the function the whole HTTP request as an
# event (the `{id}` of the path is in `event["pathParameters"]["id"]`) and turns what it returns
# into the HTTP response: `{"statusCode": ..., "headers": {...}, "body": "<a string>"}`.
#
# Write `get_order(event, context)` for `GET /orders/{id}`: read the order from the table named
# by `os.environ["TABLE_NAME"]` and answer
#
# - **200** with the order as a JSON object (`id`, `item`, `qty`) when it exists;
# - **404** with a JSON object such as `{"message": "order o-9 not found"}` when it does not.
#
# DynamoDB returns numbers as `decimal.Decimal`, which `json.dumps` cannot write as it is.


# %%
def get_order(event, context):
    """GET /orders/{id}: 200 and the order as JSON, or 404 and a JSON message."""
    ### BEGIN SOLUTION
    order_id = event["pathParameters"]["id"]
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    item = table.get_item(Key={"id": order_id}).get("Item")
    headers = {"Content-Type": "application/json"}
    if item is None:
        message = {"message": f"order {order_id} not found"}
        return {"statusCode": 404, "headers": headers, "body": json.dumps(message)}
    return {"statusCode": 200, "headers": headers, "body": json.dumps(item, default=int)}
    ### END SOLUTION


# %% [markdown]
# Try it: a REST API with the resource `/orders/{id}`, a `GET` method and an `AWS_PROXY`
# integration, the permission that lets API Gateway invoke your function (without it every
# request answers 500), deployed to the stage `prod`. Requests to the stage's URL reach your
# function.

# %%
orders_arn = lab.deploy_function(get_order, "get-order", environment={"TABLE_NAME": "orders"})
apigw = lab.client("apigateway")
api_id = apigw.create_rest_api(name="orders-api")["id"]
root_id = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
orders_id = apigw.create_resource(restApiId=api_id, parentId=root_id, pathPart="orders")["id"]
order_id = apigw.create_resource(restApiId=api_id, parentId=orders_id, pathPart="{id}")["id"]
apigw.put_method(restApiId=api_id, resourceId=order_id, httpMethod="GET", authorizationType="NONE")
apigw.put_integration(
    restApiId=api_id,
    resourceId=order_id,
    httpMethod="GET",
    type="AWS_PROXY",
    integrationHttpMethod="POST",
    uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{orders_arn}/invocations",
)
account = lab.client("sts").get_caller_identity()["Account"]
lab.client("lambda").add_permission(  # API Gateway may invoke the function, for this API only
    FunctionName=orders_arn,
    StatementId="orders-api",
    Action="lambda:InvokeFunction",
    Principal="apigateway.amazonaws.com",
    SourceArn=f"arn:aws:execute-api:us-east-1:{account}:{api_id}/*",
)
apigw.create_deployment(restApiId=api_id, stageName="prod")
base_url = f"https://{api_id}.execute-api.us-east-1.amazonaws.com/prod"

for url_path in ("/orders/o-2", "/orders/o-404"):
    reply = requests.get(base_url + url_path, timeout=10)
    print(url_path, reply.status_code, reply.text)

# %%
lab.check("orders_api")

# %% [markdown]
# ## What ran
#
# Every invocation of this exercise, cold or warm, with its trigger and result:

# %%
from labkit.services.awslambda.widget import invocation_view

invocation_view(lab)

# %% [markdown]
# ## Your score

# %%
lab.score()

# %% [markdown]
# ## Summary
#
# - An SQS-triggered function gets a batch; raising fails the **whole** batch. Report the bad
#   messages in `batchItemFailures` (by `messageId`), and turn it on in the mapping with
#   `FunctionResponseTypes=["ReportBatchItemFailures"]`: then only they are retried and, after
#   `maxReceiveCount`, dead-lettered.
# - S3 invokes asynchronously, with the object key **URL-encoded**: decode it with
#   `unquote_plus`.
# - Behind an API Gateway proxy integration a function returns `statusCode`, `headers` and a
#   **string** `body`; an exception or a malformed result is a 502 for the caller.
# - A handler reads its configuration (table names) from environment variables and creates its
#   clients itself: the deployment package holds only what you put in it.
