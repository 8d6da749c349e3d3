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
# Identifiers and types: the receipt handle reported instead of the message id, a correct
# mapping, the size stored as a string, and json.dumps of a DynamoDB item holding Decimals.

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
    failures = []
    for record in event["Records"]:
        try:
            order = json.loads(record["body"])
            if not isinstance(order.get("id"), str) or order.get("qty", 0) < 1:
                raise ValueError("invalid order")
            table.put_item(Item={"id": order["id"], "item": order["item"], "qty": order["qty"]})
        except (ValueError, AttributeError, TypeError):
            failures.append({"itemIdentifier": record["receiptHandle"]})
    return {"batchItemFailures": failures}


# %%
def connect_queue(lambda_client, function_name, queue_arn):
    response = lambda_client.create_event_source_mapping(
        EventSourceArn=queue_arn,
        FunctionName=function_name,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    return response["UUID"]


# %%
def record_upload(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    for record in event["Records"]:
        table.put_item(
            Item={
                "key": unquote_plus(record["s3"]["object"]["key"]),
                "bucket": record["s3"]["bucket"]["name"],
                "size": str(record["s3"]["object"]["size"]),
            }
        )


# %%
def get_order(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    item = table.get_item(Key={"id": event["pathParameters"]["id"]}).get("Item")
    if item is None:
        return {"statusCode": 404, "body": json.dumps({"message": "not found"})}
    return {"statusCode": 200, "body": json.dumps(item)}
