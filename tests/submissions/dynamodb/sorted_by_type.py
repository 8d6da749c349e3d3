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
# Plausible mistakes: the event type as sort key (an order's events come back in alphabetical
# order), auto scaling with a 90 % target (no headroom for the ramp), a session reader that
# trusts TTL to have deleted expired sessions, every profile read strongly consistent (DAX
# passes them all to DynamoDB), a restore to the instant the bad batch started, and a failover
# that catches ClientError (an endpoint that does not answer raises no ClientError).

# %%
from botocore.exceptions import ClientError

import labkit

lab = labkit.start("dynamodb")


# %%
def event_key(event):
    return {"pk": f"ORDER#{event['order_id']}", "sk": event["type"]}


# %%
def create_catalog(dynamodb, autoscaling):
    dynamodb.create_table(
        TableName="catalog",
        KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 56, "WriteCapacityUnits": 23},
    )
    for dimension, low in (("Read", 56), ("Write", 23)):
        autoscaling.register_scalable_target(
            ServiceNamespace="dynamodb",
            ResourceId="table/catalog",
            ScalableDimension=f"dynamodb:table:{dimension}CapacityUnits",
            MinCapacity=low,
            MaxCapacity=1000,
        )
        autoscaling.put_scaling_policy(
            PolicyName=f"{dimension.lower()}-90",
            ServiceNamespace="dynamodb",
            ResourceId="table/catalog",
            ScalableDimension=f"dynamodb:table:{dimension}CapacityUnits",
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 90.0,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": f"DynamoDB{dimension}CapacityUtilization"
                },
            },
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
    dynamodb.Table("sessions").put_item(
        Item={
            "session_id": session_id,
            "user_id": user_id,
            "expires_at": int(clock.timestamp) + 1800,
        }
    )


def load_session(dynamodb, session_id, clock):
    return dynamodb.Table("sessions").get_item(Key={"session_id": session_id}).get("Item")


# %%
def save_profile(dax, dynamodb, profile):
    dax.Table("profiles").put_item(Item=profile)


def load_profile(dax, dynamodb, user_id, viewer):
    table = dax.Table("profiles")
    return table.get_item(Key={"user_id": user_id}, ConsistentRead=True).get("Item")


# %%
def protect(dynamodb, table_name):
    dynamodb.meta.client.update_continuous_backups(
        TableName=table_name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )


def recover(dynamodb, table_name, bad_at):
    dynamodb.meta.client.restore_table_to_point_in_time(
        SourceTableName=table_name, TargetTableName="ledger-restored", RestoreDateTime=bad_at
    )
    protect(dynamodb, "ledger-restored")
    return "ledger-restored"


# %%
def make_global(dynamodb, table_name, replica_region):
    dynamodb.meta.client.update_table(
        TableName=table_name, ReplicaUpdates=[{"Create": {"RegionName": replica_region}}]
    )


def put_order(regions, order):
    for resource in regions.values():
        try:
            return resource.Table("orders").put_item(Item=order)
        except ClientError:
            continue


def get_order(regions, order_id):
    for resource in regions.values():
        try:
            return resource.Table("orders").get_item(Key={"order_id": order_id}).get("Item")
        except ClientError:
            continue
