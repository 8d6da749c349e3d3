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
# A correct submission unlike the solution: the Table resource's batch writer, the mapping made
# with the function's full ARN and a batch size of 3, with partial batch responses turned on
# afterwards by `update_event_source_mapping`, the upload's size taken from the event as it is,
# and `json.dumps(..., default=...)` in the API handler.

# %%
import json
import os
from urllib.parse import unquote_plus

import boto3

import labkit

lab = labkit.start("lambda")


# %%
def process_orders(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    failed = []
    with table.batch_writer() as batch:
        for record in event["Records"]:
            try:
                order = json.loads(record["body"])
                qty = order["qty"]
                if not isinstance(order["id"], str):
                    raise TypeError("id")
                if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
                    raise ValueError("qty")
            except (ValueError, TypeError, KeyError):
                failed.append(record["messageId"])
                continue
            batch.put_item(Item={"id": order["id"], "item": order["item"], "qty": qty})
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}


# %%
def connect_queue(lambda_client, function_name, queue_arn):
    function_arn = lambda_client.get_function(FunctionName=function_name)["Configuration"][
        "FunctionArn"
    ]
    uuid = lambda_client.create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName=function_arn, BatchSize=3
    )["UUID"]
    lambda_client.update_event_source_mapping(
        UUID=uuid, FunctionResponseTypes=["ReportBatchItemFailures"]
    )
    return uuid


# %%
def record_upload(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    with table.batch_writer() as batch:
        for record in event["Records"]:
            s3 = record["s3"]
            batch.put_item(
                Item={
                    "key": unquote_plus(s3["object"]["key"]),
                    "bucket": s3["bucket"]["name"],
                    "size": s3["object"]["size"],
                }
            )


# %%
def get_order(event, context):
    response = boto3.client("dynamodb").get_item(
        TableName=os.environ["TABLE_NAME"], Key={"id": {"S": event["pathParameters"]["id"]}}
    )
    if "Item" not in response:
        return {"statusCode": 404, "body": json.dumps({"message": "order not found"})}
    item = (
        boto3.resource("dynamodb")
        .Table(os.environ["TABLE_NAME"])
        .get_item(Key={"id": event["pathParameters"]["id"]})["Item"]
    )
    return {"statusCode": 200, "body": json.dumps(item, default=float)}
