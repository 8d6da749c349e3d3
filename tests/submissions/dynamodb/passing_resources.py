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
# Another correct submission: write sharding (the store and one of 20 shards chosen from the
# order id) with the order id first in the sort key; provisioned capacity with auto scaling at
# a 60 % target; a session table on the resource API whose TTL is turned on after it exists,
# expiry from `clock.now`, read strongly consistent; writes through DAX with `update_item` on
# the DAX client; a restore one second before the bad batch returned as a Table resource; and
# a path that catches EndpointConnectionError and tries the Regions in name order.

# %%
import zlib
from datetime import timedelta

from botocore.exceptions import EndpointConnectionError

import labkit

lab = labkit.start("dynamodb")


# %%
def event_key(event):
    shard = zlib.crc32(event["order_id"].encode()) % 20
    return {
        "pk": f"{event['store']}#{shard:02d}",
        "sk": f"{event['order_id']}#{event['at']}#{event['event_id']}",
    }


# %%
def create_catalog(dynamodb, autoscaling):
    dynamodb.create_table(
        TableName="catalog",
        KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 90, "WriteCapacityUnits": 35},
    )
    for dimension, low, metric in (
        ("ReadCapacityUnits", 90, "DynamoDBReadCapacityUtilization"),
        ("WriteCapacityUnits", 35, "DynamoDBWriteCapacityUtilization"),
    ):
        autoscaling.register_scalable_target(
            ServiceNamespace="dynamodb",
            ResourceId="table/catalog",
            ScalableDimension=f"dynamodb:table:{dimension}",
            MinCapacity=low,
            MaxCapacity=2000,
        )
        autoscaling.put_scaling_policy(
            PolicyName=f"catalog-{dimension}",
            ServiceNamespace="dynamodb",
            ResourceId="table/catalog",
            ScalableDimension=f"dynamodb:table:{dimension}",
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 60.0,
                "PredefinedMetricSpecification": {"PredefinedMetricType": metric},
            },
        )


# %%
def create_sessions_table(dynamodb):
    table = dynamodb.create_table(
        TableName="sessions",
        KeySchema=[{"AttributeName": "sid", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sid", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table.wait_until_exists()
    table.meta.client.update_time_to_live(
        TableName=table.name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiry"},
    )


def save_session(dynamodb, session_id, user_id, clock):
    expiry = clock.now + timedelta(minutes=30)
    dynamodb.Table("sessions").put_item(
        Item={"sid": session_id, "user_id": user_id, "expiry": int(expiry.timestamp())}
    )


def load_session(dynamodb, session_id, clock):
    got = dynamodb.Table("sessions").get_item(Key={"sid": session_id}, ConsistentRead=True)
    item = got.get("Item")
    if item and item["expiry"] > clock.now.timestamp():
        return item
    return None


# %%
def save_profile(dax, dynamodb, profile):
    dax.Table("profiles").update_item(
        Key={"user_id": profile["user_id"]},
        UpdateExpression="SET city = :c, version = :v",
        ExpressionAttributeValues={":c": profile["city"], ":v": profile["version"]},
    )


def load_profile(dax, dynamodb, user_id, viewer):
    return dax.meta.client.get_item(TableName="profiles", Key={"user_id": user_id}).get("Item")


# %%
def protect(dynamodb, table_name):
    dynamodb.meta.client.update_continuous_backups(
        TableName=table_name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )


def recover(dynamodb, table_name, bad_at):
    dynamodb.meta.client.restore_table_to_point_in_time(
        SourceTableName=table_name,
        TargetTableName=f"{table_name}-restored",
        RestoreDateTime=bad_at - timedelta(seconds=1),
    )
    restored = dynamodb.Table(f"{table_name}-restored")
    restored.wait_until_exists()
    protect(dynamodb, restored.name)
    return restored


# %%
def make_global(dynamodb, table_name, replica_region):
    dynamodb.Table(table_name).update(ReplicaUpdates=[{"Create": {"RegionName": replica_region}}])


def _each_region(regions, action):
    for region in sorted(regions, key=lambda r: r != "us-east-1"):
        try:
            return action(regions[region].Table("orders"))
        except EndpointConnectionError:
            continue
    raise RuntimeError("every Region is down")


def put_order(regions, order):
    _each_region(regions, lambda table: table.put_item(Item=order))


def get_order(regions, order_id):
    return _each_region(regions, lambda t: t.get_item(Key={"order_id": order_id}).get("Item"))
