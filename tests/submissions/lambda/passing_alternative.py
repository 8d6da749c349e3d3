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
# A correct submission written differently from the solution: the DynamoDB client API instead of
# the resource API, a helper function and a module constant next to the handler, a function
# imported under another name, a smaller batch size, and DynamoDB's JSON converted by hand.

# %%
import json
import os
from urllib.parse import unquote_plus as decode_key

import boto3

import labkit

lab = labkit.start("lambda")

MIN_QTY = 1


# %%
def parse_order(body):
    """The order in a message body, or None when it is not a valid order."""
    try:
        order = json.loads(body)
    except json.JSONDecodeError:
        return None
    if not isinstance(order, dict):
        return None
    order_id, qty = order.get("id"), order.get("qty")
    if not order_id or not isinstance(order_id, str):
        return None
    if type(qty) is not int or qty < MIN_QTY:
        return None
    return order


def process_orders(event, context):
    client = boto3.client("dynamodb")
    table = os.environ.get("TABLE_NAME", "orders")
    bad = []
    for record in event["Records"]:
        order = parse_order(record["body"])
        if order is None:
            bad.append(record["messageId"])
            continue
        client.put_item(
            TableName=table,
            Item={
                "id": {"S": order["id"]},
                "item": {"S": str(order.get("item", ""))},
                "qty": {"N": str(order["qty"])},
            },
        )
    return {"batchItemFailures": [{"itemIdentifier": i} for i in bad]}


# %%
def connect_queue(lambda_client, function_name, queue_arn):
    mapping = lambda_client.create_event_source_mapping(
        FunctionName=function_name,
        EventSourceArn=queue_arn,
        BatchSize=5,
        MaximumBatchingWindowInSeconds=0,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    return mapping["UUID"]


# %%
def record_upload(event, context):
    client = boto3.client("dynamodb")
    for record in event["Records"]:
        s3 = record["s3"]
        client.put_item(
            TableName=os.environ["TABLE_NAME"],
            Item={
                "key": {"S": decode_key(s3["object"]["key"])},
                "bucket": {"S": s3["bucket"]["name"]},
                "size": {"N": str(s3["object"]["size"])},
            },
        )


# %%
def get_order(event, context):
    wanted = event["pathParameters"]["id"]
    found = boto3.client("dynamodb").get_item(
        TableName=os.environ["TABLE_NAME"], Key={"id": {"S": wanted}}
    )
    if "Item" not in found:
        return {"statusCode": 404, "body": json.dumps({"error": "no such order", "id": wanted})}
    item = found["Item"]
    order = {"id": item["id"]["S"], "item": item["item"]["S"], "qty": int(item["qty"]["N"])}
    return {"statusCode": 200, "body": json.dumps(order)}
