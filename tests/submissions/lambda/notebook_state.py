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
# Handlers that lean on the notebook: the processor accepts qty 0 (and a string qty), the
# mapping is created
# disabled, the upload handler uses a table object made in the notebook (not in its package),
# and the API handler reads the id from the wrong place in the event.

# %%
import json
import os

import boto3

import labkit

lab = labkit.start("lambda")
uploads_table = boto3.resource("dynamodb").Table("uploads")


# %%
def process_orders(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    failures = []
    for record in event["Records"]:
        try:
            order = json.loads(record["body"])
            table.put_item(Item={"id": order["id"], "item": order["item"], "qty": order["qty"]})
        except Exception:
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


# %%
def connect_queue(lambda_client, function_name, queue_arn):
    response = lambda_client.create_event_source_mapping(
        EventSourceArn=queue_arn,
        FunctionName=function_name,
        Enabled=False,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    return response["UUID"]


# %%
def record_upload(event, context):
    for record in event["Records"]:
        uploads_table.put_item(
            Item={
                "key": record["s3"]["object"]["key"],
                "bucket": record["s3"]["bucket"]["name"],
                "size": record["s3"]["object"]["size"],
            }
        )


# %%
def get_order(event, context):
    table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])
    item = table.get_item(Key={"id": event["id"]}).get("Item")
    return {"statusCode": 200 if item else 404, "body": json.dumps(item or {}, default=int)}
