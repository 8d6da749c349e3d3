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
# Plausible mistakes: the day as partition key (every event of the day on one key), capacity
# provisioned for the steady load with no auto scaling, session expiry in milliseconds
# (JavaScript's Date.now() habit), a profile reader that skips DAX, a restore to the latest
# restorable time, and a global table whose path only ever calls us-east-1.

# %%
import labkit

lab = labkit.start("dynamodb")


# %%
def event_key(event):
    return {"pk": event["day"], "sk": f"{event['order_id']}#{event['at']}"}


# %%
def create_catalog(dynamodb, autoscaling):
    dynamodb.create_table(
        TableName="catalog",
        KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 75, "WriteCapacityUnits": 30},
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
    now_ms = int(clock.timestamp * 1000)
    dynamodb.Table("sessions").put_item(
        Item={"session_id": session_id, "user_id": user_id, "expires_at": now_ms + 1800 * 1000}
    )


def load_session(dynamodb, session_id, clock):
    item = dynamodb.Table("sessions").get_item(Key={"session_id": session_id}).get("Item")
    if item is None or item["expires_at"] <= clock.timestamp * 1000:
        return None
    return item


# %%
def save_profile(dax, dynamodb, profile):
    dax.Table("profiles").put_item(Item=profile)


def load_profile(dax, dynamodb, user_id, viewer):
    return dynamodb.Table("profiles").get_item(Key={"user_id": user_id}).get("Item")


# %%
def protect(dynamodb, table_name):
    dynamodb.meta.client.update_continuous_backups(
        TableName=table_name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )


def recover(dynamodb, table_name, bad_at):
    dynamodb.meta.client.restore_table_to_point_in_time(
        SourceTableName=table_name,
        TargetTableName="ledger-restored",
        UseLatestRestorableTime=True,
    )
    protect(dynamodb, "ledger-restored")
    return "ledger-restored"


# %%
def make_global(dynamodb, table_name, replica_region):
    dynamodb.meta.client.update_table(
        TableName=table_name, ReplicaUpdates=[{"Create": {"RegionName": replica_region}}]
    )


def put_order(regions, order):
    regions["us-east-1"].Table("orders").put_item(Item=order)


def get_order(regions, order_id):
    return regions["us-east-1"].Table("orders").get_item(Key={"order_id": order_id}).get("Item")
