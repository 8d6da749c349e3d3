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
# A correct submission written differently from the solution: the order id alone as partition
# key with the time and event type as sort key; on-demand capacity; a session store on the
# client API with its TTL attribute named `ttl`, read with a Query that filters expired
# sessions; DAX reads that turn strongly consistent for the user who wrote (writes go straight
# to DynamoDB); a restore by ARN to two seconds before the bad batch, returned as an ARN; and
# a global table made by ARN, with a path that catches any BotoCoreError.

# %%
from datetime import timedelta

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import BotoCoreError

import labkit

lab = labkit.start("dynamodb")


# %%
def event_key(event):
    return {"pk": event["order_id"], "sk": event["at"] + "|" + event["type"]}


# %%
def create_catalog(dynamodb, autoscaling):
    dynamodb.meta.client.create_table(
        TableName="catalog",
        AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


# %%
def create_sessions_table(dynamodb):
    client = dynamodb.meta.client
    client.create_table(
        TableName="sessions",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    )
    client.get_waiter("table_exists").wait(TableName="sessions")
    client.update_time_to_live(
        TableName="sessions", TimeToLiveSpecification={"AttributeName": "ttl", "Enabled": True}
    )


def save_session(dynamodb, session_id, user_id, clock):
    dynamodb.meta.client.put_item(
        TableName="sessions",
        Item={"id": session_id, "user_id": user_id, "ttl": int(clock.timestamp + 1800)},
    )


def load_session(dynamodb, session_id, clock):
    found = dynamodb.Table("sessions").query(
        KeyConditionExpression=Key("id").eq(session_id),
        FilterExpression=Attr("ttl").gt(int(clock.timestamp)),
    )["Items"]
    return found[0] if found else None


# %%
def save_profile(dax, dynamodb, profile):
    dynamodb.Table("profiles").put_item(Item=profile)


def load_profile(dax, dynamodb, user_id, viewer):
    own = viewer == user_id
    return dax.Table("profiles").get_item(Key={"user_id": user_id}, ConsistentRead=own).get("Item")


# %%
def protect(dynamodb, table_name):
    dynamodb.meta.client.update_continuous_backups(
        TableName=table_name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )


def recover(dynamodb, table_name, bad_at):
    client = dynamodb.meta.client
    arn = client.describe_table(TableName=table_name)["Table"]["TableArn"]
    restored = client.restore_table_to_point_in_time(
        SourceTableArn=arn,
        TargetTableName="ledger-before-incident",
        RestoreDateTime=bad_at - timedelta(seconds=2),
    )["TableDescription"]
    protect(dynamodb, restored["TableName"])
    return restored["TableArn"]


# %%
def make_global(dynamodb, table_name, replica_region):
    arn = dynamodb.Table(table_name).table_arn
    dynamodb.meta.client.update_table(
        TableName=arn, ReplicaUpdates=[{"Create": {"RegionName": replica_region}}]
    )


def put_order(regions, order):
    last = None
    for name in regions:
        try:
            return regions[name].Table("orders").put_item(Item=order)
        except BotoCoreError as error:
            last = error
    raise last


def get_order(regions, order_id):
    last = None
    for name in regions:
        try:
            return regions[name].Table("orders").get_item(Key={"order_id": order_id}).get("Item")
        except BotoCoreError as error:
            last = error
    raise last
