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
# Plausible slips: the processor converts what it should report (a string `qty`, a numeric
# `id`), `connect_queue` returns the mapping's ARN instead of its UUID, the upload handler stores
# the bucket's ARN instead of its name, and the API answers 404 with a plain-text body.

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
            qty = int(order["qty"])  # "2" becomes 2: the task asks to report it instead
            if qty < 1:
                raise ValueError("qty")
            table.put_item(Item={"id": str(order["id"]), "item": order["item"], "qty": qty})
        except (ValueError, KeyError, TypeError):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


# %%
def connect_queue(lambda_client, function_name, queue_arn):
    response = lambda_client.create_event_source_mapping(
        EventSourceArn=queue_arn,
        FunctionName=function_name,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    return response["EventSourceMappingArn"]


# %%
def record_upload(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    for record in event["Records"]:
        table.put_item(
            Item={
                "key": unquote_plus(record["s3"]["object"]["key"]),
                "bucket": record["s3"]["bucket"]["arn"],
                "size": record["s3"]["object"]["size"],
            }
        )


# %%
def get_order(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    item = table.get_item(Key={"id": event["pathParameters"]["id"]}).get("Item")
    if item is None:
        return {"statusCode": 404, "body": "order not found"}
    return {"statusCode": 200, "body": json.dumps(item, default=int)}
