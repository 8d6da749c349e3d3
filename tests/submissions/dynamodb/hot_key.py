# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   labkit:
#     lab: dynamodb
#     role: exercise
# ---

# %% [markdown]
# Plausible mistakes: the store as partition key (the flagship store is a hot key), the
# default 5 RCU/5 WCU of a tutorial, a session table whose TTL was never turned on, profile
# edits written straight to DynamoDB while reads go through DAX, no point-in-time recovery
# before the accident, and a "replica" created as a separate table in the other Region.

# %%
from datetime import timedelta

import boto3
from botocore.exceptions import EndpointConnectionError

import labkit

lab = labkit.start("dynamodb")


# %%
def event_key(event):
    return {"pk": event["store"], "sk": f"{event['at']}#{event['event_id']}"}


# %%
def create_catalog(dynamodb, autoscaling):
    dynamodb.create_table(
        TableName="catalog",
        KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )


# %%
def create_sessions_table(dynamodb):
    dynamodb.create_table(
        TableName="sessions",
        KeySchema=[{"AttributeName": "session_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "session_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def save_session(dynamodb, session_id, user_id, clock):
    dynamodb.Table("sessions").put_item(
        Item={
            "session_id": session_id,
            "user_id": user_id,
            "expires_at": int(clock.timestamp) + 1800,
        }
    )


def load_session(dynamodb, session_id, clock):
    item = dynamodb.Table("sessions").get_item(Key={"session_id": session_id}).get("Item")
    if item is None or item["expires_at"] <= clock.timestamp:
        return None
    return item


# %%
def save_profile(dax, dynamodb, profile):
    dynamodb.Table("profiles").put_item(Item=profile)


def load_profile(dax, dynamodb, user_id, viewer):
    return dax.Table("profiles").get_item(Key={"user_id": user_id}).get("Item")


# %%
def protect(dynamodb, table_name):
    pass  # "DynamoDB keeps backups anyway"


def recover(dynamodb, table_name, bad_at):
    dynamodb.meta.client.restore_table_to_point_in_time(
        SourceTableName=table_name,
        TargetTableName="ledger-restored",
        RestoreDateTime=bad_at - timedelta(seconds=1),
    )
    return "ledger-restored"


# %%
def make_global(dynamodb, table_name, replica_region):
    home = dynamodb.meta.client.describe_table(TableName=table_name)["Table"]
    other = boto3.resource("dynamodb", region_name=replica_region)
    other.create_table(
        TableName=table_name,
        KeySchema=home["KeySchema"],
        AttributeDefinitions=home["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
    )


def put_order(regions, order):
    for resource in regions.values():
        try:
            return resource.Table("orders").put_item(Item=order)
        except EndpointConnectionError:
            continue


def get_order(regions, order_id):
    for resource in regions.values():
        try:
            return resource.Table("orders").get_item(Key={"order_id": order_id}).get("Item")
        except EndpointConnectionError:
            continue
