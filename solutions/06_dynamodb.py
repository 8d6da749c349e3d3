# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # DynamoDB exercise: a shop's order events, sessions, cache and disaster recovery
#
# A web shop keeps its data in DynamoDB. You design the **key** of its order-event table so that
# a skewed day of traffic never throttles, give its catalog the **capacity** for a promotion,
# build a **session store** whose sessions expire with Time to Live, put **DAX** in front of the
# profiles without ever showing a user their own old profile, undo a bad batch write with
# **point-in-time recovery**, and make the orders table a **global table** that keeps serving
# when its Region fails.
#
# Write your code where it says `# YOUR CODE HERE` (replace the `...`), run the cell, then run
# the check below it. Each check calls your functions in an empty sandbox of its own, with a lab
# clock of its own, and tells you what it found.

# %%
from collections import Counter
from datetime import timedelta

from amazondax import AmazonDaxClient
from botocore.exceptions import BotoCoreError, EndpointConnectionError

import labkit
from labkit import edge
from labkit.facts import fact
from labkit.labs.dynamodb_workload import OrderEvents

lab = labkit.start("dynamodb")
dynamodb = lab.resource("dynamodb")  # its meta.client takes plain Python values too
events = OrderEvents(rate=200, seconds=15)
print(events.events[0].as_dict())

# %% [markdown]
# ## Task 1: a key for the order events
#
# Every change to an order is an **event** (a dict like the one printed above). The table
# `order-events` has a composite primary key: the partition key **`pk`** and the sort key
# **`sk`**, both strings, and 4,000 WCU of provisioned write capacity. Write
# `event_key(event)`: return the event's key, `{"pk": ..., "sk": ...}`, so that
#
# - every event is **its own item** (two events with the same `pk` and `sk` would overwrite);
# - **one Query** on a partition key returns an order's events **in the order they happened**
#   (items with the same partition key are sorted by their sort key);
# - the shop's traffic **never throttles**. Half of the orders come from one flagship store, a
#   reseller places over a third of them, and every event of the day has the same `day`. A
#   partition key value lives in one partition, and a partition serves at most 1,000 WCU a
#   second, however much capacity the table has.
#
# The check writes 200 events a second for 15 seconds (about 9.5 KB, 10 WCU, each) with your key.

# %%
print(fact("dynamodb.wcu_write_bytes"))
print(fact("dynamodb.partition_key_max"))


# %%
def event_key(event):
    """The primary key of an order event's item: {"pk": ..., "sk": ...}."""
    ### BEGIN SOLUTION
    return {"pk": f"ORDER#{event['order_id']}", "sk": f"{event['at']}#{event['event_id']}"}
    ### END SOLUTION


# %% [markdown]
# Try it without AWS: how many events would the busiest partition key value take?

# %%
sample = [event_key(e.as_dict()) for e in events.events[:3_000]]
if all(isinstance(k, dict) and "pk" in k for k in sample):
    busiest, count = Counter(k["pk"] for k in sample).most_common(1)[0]
    print(f"{len(set(k['pk'] for k in sample)):,} partition key values; the busiest,")
    print(f"{busiest!r}, takes {count / len(sample):.1%} of the events")
else:
    print("event_key does not return a key yet.")

# %%
lab.check("event_key")

# %% [markdown]
# ## Task 2: capacity for the catalog, and a promotion
#
# The shop's product catalog is read all day: **100 eventually consistent reads a second** of
# items up to 4 KB, and **20 writes a second** of items up to 1 KB. Every few weeks a
# **promotion** multiplies the reads by four and the writes by three; it ramps up over three
# minutes and lasts a few more. Write `create_catalog(dynamodb, autoscaling)`: create the table
# **`catalog`** (partition key `sku`, a string) with capacity that
#
# - never throttles a request, through the steady load and the promotion;
# - costs **no more than on-demand** would for the same requests.
#
# `autoscaling` is boto3's `application-autoscaling` client. Work out the units first: an
# eventually consistent read of up to 4 KB is half a read unit, a write of up to 1 KB one
# write unit. Then choose: on-demand (`BillingMode="PAY_PER_REQUEST"`), or provisioned
# capacity with headroom above the steady load and **target tracking auto scaling** that
# follows the promotion (it adds capacity after two minutes above its target; until then the
# table lives on its headroom and its burst capacity).
#
# The check runs the steady load for five minutes, then the promotion, second by second on
# the lab clock, and prices the run with the fact table's prices.

# %%
print(fact("dynamodb.rcu_strong_read_bytes"))
print(fact("dynamodb.rcu_eventual_reads_per_unit"))
print(fact("dynamodb.price_rcu_hour_standard"))
print(fact("dynamodb.price_read_request_million_standard"))


# %%
def create_catalog(dynamodb, autoscaling):
    """Create `catalog` with capacity for the steady load and the promotion."""
    ### BEGIN SOLUTION
    # Steady: 100 reads x 0.5 = 50 RCU, 20 writes x 1 = 20 WCU; at a 70 % target that is
    # about 72 RCU and 29 WCU provisioned, and auto scaling follows the promotion.
    dynamodb.create_table(
        TableName="catalog",
        KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 72, "WriteCapacityUnits": 29},
    )
    for kind, minimum in (("Read", 72), ("Write", 29)):
        autoscaling.register_scalable_target(
            ServiceNamespace="dynamodb",
            ResourceId="table/catalog",
            ScalableDimension=f"dynamodb:table:{kind}CapacityUnits",
            MinCapacity=minimum,
            MaxCapacity=1000,
        )
        autoscaling.put_scaling_policy(
            PolicyName=f"catalog-{kind.lower()}s",
            ServiceNamespace="dynamodb",
            ResourceId="table/catalog",
            ScalableDimension=f"dynamodb:table:{kind}CapacityUnits",
            PolicyType="TargetTrackingScaling",
            TargetTrackingScalingPolicyConfiguration={
                "TargetValue": 70.0,
                "PredefinedMetricSpecification": {
                    "PredefinedMetricType": f"DynamoDB{kind}CapacityUtilization"
                },
            },
        )
    ### END SOLUTION


# %%
lab.check("capacity")

# %% [markdown]
# ## Task 3: a session store that forgets
#
# The shop keeps each visitor's web session in DynamoDB. A session lives **30 minutes** from
# when it is saved. Write:
#
# - `create_sessions_table(dynamodb)`: create the table **`sessions`** with the session id (a
#   string) as its key, and turn on **Time to Live** so that DynamoDB deletes expired sessions;
# - `save_session(dynamodb, session_id, user_id, clock)`: store the session with its `user_id`
#   and its expiry;
# - `load_session(dynamodb, session_id, clock)`: return the session's item (a dict with its
#   `user_id`), or `None` when there is none **or it has expired**.
#
# `dynamodb` is a boto3 DynamoDB resource (`dynamodb.meta.client` is a client that takes plain
# Python values, as the resource does), `clock` the lab clock: `clock.timestamp` is the time now
# in epoch seconds. TTL reads a **Number** of **epoch seconds**, and deletes expired items in the
# background, not at the second.

# %%
print(fact("dynamodb.ttl_deletion_typical"))


# %%
def create_sessions_table(dynamodb):
    """Create the `sessions` table with Time to Live on the sessions' expiry."""
    ### BEGIN SOLUTION
    table = dynamodb.create_table(
        TableName="sessions",
        KeySchema=[{"AttributeName": "session_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "session_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table.wait_until_exists()
    dynamodb.meta.client.update_time_to_live(
        TableName="sessions",
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
    )
    ### END SOLUTION


def save_session(dynamodb, session_id, user_id, clock):
    """Store a session that expires 30 minutes from now."""
    ### BEGIN SOLUTION
    dynamodb.Table("sessions").put_item(
        Item={
            "session_id": session_id,
            "user_id": user_id,
            "expires_at": int(clock.timestamp) + 1800,
        }
    )
    ### END SOLUTION


def load_session(dynamodb, session_id, clock):
    """The session's item, or None when there is none or it has expired."""
    ### BEGIN SOLUTION
    item = dynamodb.Table("sessions").get_item(Key={"session_id": session_id}).get("Item")
    # TTL deletes in the background, days later at worst: until then the item is still there.
    if item is None or item["expires_at"] <= clock.timestamp:
        return None
    return item
    ### END SOLUTION


# %% [markdown]
# Try it: save a session, move the clock past its expiry, and compare what the table still
# holds with what `load_session` returns.

# %%
if "sessions" not in dynamodb.meta.client.list_tables()["TableNames"]:
    create_sessions_table(dynamodb)
save_session(dynamodb, "s-demo", "ana", lab.clock)
lab.clock.advance(1801)
if "sessions" in dynamodb.meta.client.list_tables()["TableNames"]:
    raw = dynamodb.Table("sessions").get_item(Key={"session_id": "s-demo"}).get("Item")
    print("the table still holds:", raw)
print("load_session returns:", load_session(dynamodb, "s-demo", lab.clock))

# %%
lab.check("sessions")

# %% [markdown]
# ## Task 4: profiles through DAX, and users who see their own changes
#
# The shop's `profiles` table (key `user_id`) is read far more than it is written, so reads go
# through a **DAX** cluster. Write:
#
# - `save_profile(dax, dynamodb, profile)`: store `profile` (a dict with `user_id`, `city` and
#   `version`), replacing the user's profile;
# - `load_profile(dax, dynamodb, user_id, viewer)`: return the profile item of `user_id` as
#   `viewer` (a user id) should see it.
#
# `dax` is the DAX client's resource, `AmazonDaxClient.resource(endpoint_url=...)`, `dynamodb`
# boto3's DynamoDB resource: both have `.Table("profiles")`, with the same methods. Two rules:
#
# - a user who saved their profile and then looks at it (`viewer == user_id`) must **always see
#   that save**, never the version DAX had cached before;
# - the reads go **through DAX**: most loads must be answered from its cache.
#
# The check runs a read-heavy mix: many viewers look at popular profiles, and now and then a
# user edits their own profile and looks at it.

# %%
print(fact("dax.item_cache_ttl_default"))
print(fact("dax.write_through_updates_query_cache"))


# %%
def save_profile(dax, dynamodb, profile):
    """Store a user's profile."""
    ### BEGIN SOLUTION
    # Through DAX: it writes to DynamoDB, then puts the new item in its item cache.
    dax.Table("profiles").put_item(Item=profile)
    ### END SOLUTION


def load_profile(dax, dynamodb, user_id, viewer):
    """The profile of `user_id`, as `viewer` should see it."""
    ### BEGIN SOLUTION
    # GetItem is served by the item cache, which a write through DAX keeps current (a Query
    # would be served by the query cache, which writes do not update).
    return dax.Table("profiles").get_item(Key={"user_id": user_id}).get("Item")
    ### END SOLUTION


# %% [markdown]
# Try it: a cluster in front of a small `profiles` table. Ana looks at her profile, saves a new
# city, and looks again; the DAX view shows the item cache after it.

# %%
dax_control = lab.client("dax")
if "profiles" not in dynamodb.meta.client.list_tables()["TableNames"]:
    profiles = dynamodb.create_table(
        TableName="profiles",
        KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    profiles.put_item(Item={"user_id": "ana", "city": "Lisbon", "version": 0})
    dax_control.create_cluster(
        ClusterName="profiles-demo",
        NodeType="dax.t3.small",
        ReplicationFactor=1,
        IamRoleArn="arn:aws:iam::123456789012:role/DAXServiceRole",
    )
cluster = dax_control.describe_clusters(ClusterNames=["profiles-demo"])["Clusters"][0]
dax = AmazonDaxClient.resource(endpoint_url=cluster["ClusterDiscoveryEndpoint"]["URL"])
print("before:", load_profile(dax, dynamodb, "ana", "ben"))
save_profile(dax, dynamodb, {"user_id": "ana", "city": "Paris", "version": 1})
print("Ana sees:", load_profile(dax, dynamodb, "ana", "ana"))
lab.dax_view("profiles-demo", hold=True)

# %%
lab.check("dax_reads")

# %% [markdown]
# ## Task 5: undo a bad batch write with point-in-time recovery
#
# The shop's `ledger` table is precious. Write:
#
# - `protect(dynamodb, table_name)`: what the table needs **before** anything goes wrong;
# - `recover(dynamodb, table_name, bad_at)`: a faulty job wrote a bad batch (zeroed amounts and
#   junk entries) starting at `bad_at` (a UTC `datetime`). Restore the table **as it was just
#   before** the batch, and return the restored table (its name, its ARN or the `Table`).
#
# Point-in-time recovery restores to any second of its window into a **new** table. The
# restored table does not inherit the source's PITR setting: turn it on there too. The check
# notices the accident a quarter of an hour after it happened.

# %%
print(fact("dynamodb.pitr_window"))
print(fact("dynamodb.pitr_latest_restorable_lag"))


# %%
def protect(dynamodb, table_name):
    """Prepare the table so that any second of the last 35 days can be restored."""
    ### BEGIN SOLUTION
    dynamodb.meta.client.update_continuous_backups(
        TableName=table_name,
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )
    ### END SOLUTION


def recover(dynamodb, table_name, bad_at):
    """Restore the table as it was just before `bad_at`; return the restored table."""
    ### BEGIN SOLUTION
    target = f"{table_name}-restored"
    dynamodb.meta.client.restore_table_to_point_in_time(
        SourceTableName=table_name,
        TargetTableName=target,
        # Writes made at RestoreDateTime count: go back one second before the bad batch.
        RestoreDateTime=bad_at - timedelta(seconds=1),
    )
    protect(dynamodb, target)  # a restored table starts without PITR
    return target
    ### END SOLUTION


# %%
lab.check("pitr_restore")

# %% [markdown]
# ## Task 6: a global table that survives a Region
#
# The `orders` table lives in us-east-1. Make it a **global table** that keeps serving when
# us-east-1 fails:
#
# - `make_global(dynamodb, table_name, replica_region)`: add a replica of the table in
#   `replica_region` (`dynamodb` is a DynamoDB resource in the table's Region);
# - `put_order(regions, order)` and `get_order(regions, order_id)`: write an order (a dict with
#   `order_id`) and read one back (the item, or None), where `regions` maps each Region name to
#   a DynamoDB resource in that Region, in order of preference. When a Region does not answer,
#   use the next one.
#
# The check writes orders, lets replication catch up, fails us-east-1 with
# `edge.fail_region("us-east-1")`, then reads the earlier orders and writes a new one.

# %%
print(fact("dynamodb.global_tables_streams_required_first"))


# %%
def make_global(dynamodb, table_name, replica_region):
    """Add a replica of the table in `replica_region` (global tables, version 2019.11.21)."""
    ### BEGIN SOLUTION
    dynamodb.meta.client.update_table(
        TableName=table_name, ReplicaUpdates=[{"Create": {"RegionName": replica_region}}]
    )
    ### END SOLUTION


def put_order(regions, order):
    """Write the order in the first Region that answers."""
    ### BEGIN SOLUTION
    for resource in regions.values():
        try:
            resource.Table("orders").put_item(Item=order)
            return
        except (EndpointConnectionError, BotoCoreError):
            continue  # that Region's endpoint does not answer: try the next one
    raise RuntimeError("no Region answered")
    ### END SOLUTION


def get_order(regions, order_id):
    """Read the order from the first Region that answers (None if it does not exist)."""
    ### BEGIN SOLUTION
    for resource in regions.values():
        try:
            return resource.Table("orders").get_item(Key={"order_id": order_id}).get("Item")
        except (EndpointConnectionError, BotoCoreError):
            continue
    raise RuntimeError("no Region answered")
    ### END SOLUTION


# %% [markdown]
# Try it: a global `orders` table, an order, and us-east-1 failing.

# %%
home = lab.resource("dynamodb", region_name="us-east-1")
regions = {r: lab.resource("dynamodb", region_name=r) for r in ("us-east-1", "eu-west-1")}
if "orders" not in home.meta.client.list_tables()["TableNames"]:
    home.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    make_global(home, "orders", "eu-west-1")
replicas = home.meta.client.describe_table(TableName="orders")["Table"].get("Replicas", [])
print("replicas:", [r["RegionName"] for r in replicas])
if replicas:
    put_order(regions, {"order_id": "order-demo", "total": 42})
    lab.clock.advance(5)
    edge.fail_region("us-east-1")
    print("with us-east-1 down:", get_order(regions, "order-demo"))
    edge.restore_region("us-east-1")

# %%
lab.check("global_table")

# %% [markdown]
# ## Your score

# %%
lab.score()

# %% [markdown]
# ## Summary
#
# - A partition key with many evenly used values (the order id) spreads writes over the
#   partitions; a value many items share (a store, a customer, a day) makes a hot partition
#   that throttles while the table's total capacity is unused.
# - Items that share a partition key form an item collection, sorted by the sort key: one
#   Query reads it in that order, and the pair (partition key, sort key) must be unique.
# - Capacity is worked out in units (4 KB per read unit, half for eventually consistent reads;
#   1 KB per write unit); on-demand absorbs a spike at a higher price per request, provisioned
#   capacity with target tracking auto scaling follows it if it has headroom.
# - Time to Live deletes expired items in the background, days later at worst: readers must
#   check the expiry themselves.
# - DAX keeps its item cache current only for writes made through it; a reader who must see
#   their own write uses write-through or a strongly consistent read, which DAX passes to
#   DynamoDB. Queries are served by the query cache, which no write updates.
# - Point-in-time recovery must be on before the accident; a restore creates a new table at the
#   second you choose, without the source's PITR, TTL or auto scaling settings.
# - A global table's replicas all serve reads and writes; a client that moves to the next
#   Region when one does not answer keeps working through a Regional outage.
