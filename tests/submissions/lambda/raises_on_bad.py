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
# The most common mistakes: the processor raises on a bad message (failing the whole batch), the
# mapping lacks ReportBatchItemFailures, the S3 key is stored as the event spells it
# (URL-encoded), and the API returns the body as a dict instead of a JSON string.

# %%
import json
import os

import boto3

import labkit

lab = labkit.start("lambda")


# %%
def process_orders(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    for record in event["Records"]:
        order = json.loads(record["body"])  # raises on a body that is not JSON
        if "id" not in order or order.get("qty", 0) < 1:
            raise ValueError(f"bad order: {record['body']}")
        table.put_item(Item={"id": order["id"], "item": order["item"], "qty": order["qty"]})


# %%
def connect_queue(lambda_client, function_name, queue_arn):
    response = lambda_client.create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName=function_name, BatchSize=10
    )
    return response["UUID"]


# %%
def record_upload(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    for record in event["Records"]:
        table.put_item(
            Item={
                "key": record["s3"]["object"]["key"],
                "bucket": record["s3"]["bucket"]["name"],
                "size": record["s3"]["object"]["size"],
            }
        )


# %%
def get_order(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    item = table.get_item(Key={"id": event["pathParameters"]["id"]}).get("Item")
    if item is None:
        return {"statusCode": 404, "body": {"message": "not found"}}
    return {"statusCode": 200, "body": {"id": item["id"], "item": item["item"]}}
