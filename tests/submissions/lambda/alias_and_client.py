# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   labkit:
#     lab: lambda
#     role: exercise
# ---

# %% [markdown]
# A correct submission unlike the solution: DynamoDB's low-level types (`{"S": ...}`,
# `{"N": ...}`) through the client, the mapping made on an alias of a published version through a
# partial ARN with a batching window and a larger batch, the key decoded through the
# `urllib.parse` module, and Decimals converted by hand in the API handler.

# %%
import json
import os
import urllib.parse
from decimal import Decimal

import boto3

import labkit

lab = labkit.start("lambda")


# %%
def process_orders(event, context):
    dynamodb = boto3.client("dynamodb")
    failures = []
    for record in event["Records"]:
        try:
            order = json.loads(record["body"])
        except ValueError:
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        good = (
            isinstance(order, dict)
            and isinstance(order.get("id"), str)
            and type(order.get("qty")) is int
            and order["qty"] >= 1
        )
        if not good:
            failures.append({"itemIdentifier": record["messageId"]})
            continue
        dynamodb.put_item(
            TableName=os.environ["TABLE_NAME"],
            Item={
                "id": {"S": order["id"]},
                "item": {"S": str(order.get("item"))},
                "qty": {"N": str(order["qty"])},
            },
        )
    return {"batchItemFailures": failures}


# %%
def connect_queue(lambda_client, function_name, queue_arn):
    arn = lambda_client.get_function(FunctionName=function_name)["Configuration"]["FunctionArn"]
    account = arn.split(":")[4]
    version = lambda_client.publish_version(FunctionName=function_name)["Version"]
    lambda_client.create_alias(FunctionName=function_name, Name="live", FunctionVersion=version)
    mapping = lambda_client.create_event_source_mapping(
        EventSourceArn=queue_arn,
        FunctionName=f"{account}:function:{function_name}:live",
        BatchSize=20,
        MaximumBatchingWindowInSeconds=2,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    return mapping["UUID"]


# %%
def record_upload(event, context):
    dynamodb = boto3.client("dynamodb")
    for record in event["Records"]:
        dynamodb.put_item(
            TableName=os.environ["TABLE_NAME"],
            Item={
                "key": {"S": urllib.parse.unquote_plus(record["s3"]["object"]["key"])},
                "bucket": {"S": record["s3"]["bucket"]["name"]},
                "size": {"N": str(record["s3"]["object"]["size"])},
            },
        )


# %%
def get_order(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    order_id = event["pathParameters"]["id"]
    item = table.get_item(Key={"id": order_id}).get("Item")
    if not item:
        return {"statusCode": 404, "body": json.dumps({"message": "not found"})}
    plain = {k: int(v) if isinstance(v, Decimal) else v for k, v in item.items()}
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(plain),
    }
