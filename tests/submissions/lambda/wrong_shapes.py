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
# Right ideas, wrong shapes: batchItemFailures as a list of message ids (strings), the whole
# create_event_source_mapping response returned, `unquote` instead of `unquote_plus`, and 200
# with a null body for an order that does not exist.

# %%
import json
import os
from urllib.parse import unquote

import boto3

import labkit

lab = labkit.start("lambda")


# %%
def process_orders(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    failed = []
    for record in event["Records"]:
        try:
            order = json.loads(record["body"])
            if not order.get("id") or order.get("qty", 0) < 1:
                raise ValueError("invalid order")
            table.put_item(Item={"id": order["id"], "item": order["item"], "qty": order["qty"]})
        except Exception:
            failed.append(record["messageId"])
    return {"batchItemFailures": failed}


# %%
def connect_queue(lambda_client, function_name, queue_arn):
    return lambda_client.create_event_source_mapping(
        EventSourceArn=queue_arn,
        FunctionName=function_name,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )


# %%
def record_upload(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    for record in event["Records"]:
        table.put_item(
            Item={
                "key": unquote(record["s3"]["object"]["key"]),
                "bucket": record["s3"]["bucket"]["name"],
                "size": record["s3"]["object"]["size"],
            }
        )


# %%
def get_order(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    item = table.get_item(Key={"id": event["pathParameters"]["id"]}).get("Item")
    return {"statusCode": 200, "body": json.dumps(item, default=int)}
