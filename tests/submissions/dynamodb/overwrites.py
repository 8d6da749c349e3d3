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
# Plausible mistakes: the order id with the day as sort key (an order's events overwrite each
# other), capacity provisioned "to be safe" far above the peak, session expiry stored as an
# ISO date string, profiles read with a Query through DAX (the query cache does not see
# write-through), a restored table left without point-in-time recovery, and a make_global that
# only turns on streams, as the legacy global tables required.

# %%
from datetime import timedelta

from boto3.dynamodb.conditions import Key
from botocore.exceptions import EndpointConnectionError

import labkit

lab = labkit.start("dynamodb")


# %%
def event_key(event):
    return {"pk": event["order_id"], "sk": event["day"]}


# %%
def create_catalog(dynamodb, autoscaling):
    dynamodb.create_table(
        TableName="catalog",
        KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 2000, "WriteCapacityUnits": 1000},
    )


# %%
def create_sessions_table(dynamodb):
    dynamodb.create_table(
        TableName="sessions",
        KeySchema=[{"AttributeName": "session_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "session_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.meta.client.update_time_to_live(
        TableName="sessions",
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
    )


def save_session(dynamodb, session_id, user_id, clock):
    expires = (clock.now + timedelta(seconds=1800)).isoformat()
    dynamodb.Table("sessions").put_item(
        Item={"session_id": session_id, "user_id": user_id, "expires_at": expires}
    )


def load_session(dynamodb, session_id, clock):
    item = dynamodb.Table("sessions").get_item(Key={"session_id": session_id}).get("Item")
    if item is None or item["expires_at"] <= clock.now.isoformat():
        return None
    return item


# %%
def save_profile(dax, dynamodb, profile):
    dax.Table("profiles").put_item(Item=profile)


def load_profile(dax, dynamodb, user_id, viewer):
    items = dax.Table("profiles").query(KeyConditionExpression=Key("user_id").eq(user_id))
    return items["Items"][0] if items["Items"] else None


# %%
def protect(dynamodb, table_name):
    dynamodb.meta.client.update_continuous_backups(
        TableName=table_name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )


def recover(dynamodb, table_name, bad_at):
    response = dynamodb.meta.client.restore_table_to_point_in_time(
        SourceTableName=table_name,
        TargetTableName="ledger-restored",
        RestoreDateTime=bad_at - timedelta(seconds=1),
    )
    return response["TableDescription"]["TableName"]


# %%
def make_global(dynamodb, table_name, replica_region):
    dynamodb.meta.client.update_table(
        TableName=table_name,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
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
