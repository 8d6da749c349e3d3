# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # DynamoDB: keys, capacity, TTL, global tables, recovery and DAX
#
# **Amazon DynamoDB** is a serverless key-value and document database: there is no server to
# size or patch, a table grows without limit, and a request is answered in single-digit
# milliseconds whatever the table's size, as long as the work spreads over its **partitions**.
# In exchange, you design the table around the questions you will ask it: DynamoDB has no joins
# and no ad-hoc queries across tables, and an item is at most 400 KB.
#
# This lesson follows a web shop. You will see:
#
# 1. tables, items and **primary keys**: partition keys, sort keys, item collections;
# 2. **secondary indexes**: global (GSI) and local (LSI);
# 3. **capacity**: read and write units, partitions, throttling, on-demand and auto scaling;
# 4. **time**: Time to Live, streams, global tables and point-in-time recovery;
# 5. **DAX**, the cache in front of DynamoDB, and what it can show stale;
# 6. **which database** for which job.

# %%
from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

import labkit
from labkit.facts import fact

lab = labkit.start("dynamodb")
dynamodb = lab.client("dynamodb")

# %% [markdown]
# ## 1. Tables, items and primary keys
#
# A **table** holds **items**; an item is a set of **attributes** (strings, numbers, binary,
# booleans, lists, maps, sets), and apart from its key, each item may have different ones: no
# schema to migrate when the shop adds a field. The limits that shape a design:

# %%
for name in ("dynamodb.item_size_max", "dynamodb.partition_key_max", "dynamodb.sort_key_max"):
    print(fact(name))

# %% [markdown]
# Each item is found by its **primary key**, declared when the table is created. It is either
#
# - a **partition key** alone (a *simple* primary key): DynamoDB hashes the value to choose the
#   **partition** (a slice of storage and throughput) that stores the item; or
# - a **partition key and a sort key** (a *composite* primary key): the partition key still
#   chooses the partition, and the items that share a partition key value, an **item
#   collection**, are stored together, **sorted by the sort key**.
#
# Only the key attributes are declared (`AttributeDefinitions`). The shop keeps customers and
# their orders in one table: the customer's id as the partition key, and a sort key that says
# what the item is (`PROFILE`, or `ORDER#` and the time it was placed).

# %%
dynamodb.create_table(
    TableName="shop",
    KeySchema=[
        {"AttributeName": "pk", "KeyType": "HASH"},  # the partition key
        {"AttributeName": "sk", "KeyType": "RANGE"},  # the sort key
    ],
    AttributeDefinitions=[
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ],
    BillingMode="PAY_PER_REQUEST",
)
shop = lab.resource("dynamodb").Table("shop")  # the resource API: plain Python values
shop.put_item(Item={"pk": "CUST#ana", "sk": "PROFILE", "name": "Ana", "city": "Lisbon"})
for placed, total, status in (
    ("2026-11-02T10:15", 42, "shipped"),
    ("2026-11-20T18:40", 17, "open"),
    ("2026-11-27T09:05", 99, "open"),
):
    shop.put_item(
        Item={"pk": "CUST#ana", "sk": f"ORDER#{placed}", "total": total, "status": status}
    )
shop.put_item(Item={"pk": "CUST#ben", "sk": "PROFILE", "name": "Ben", "city": "Oslo"})
shop.put_item(Item={"pk": "CUST#ben", "sk": "ORDER#2026-11-21T12:00", "total": 5, "status": "open"})

# %% [markdown]
# `lab.table_view(table)` draws a table as the sandbox sees it: its items, its capacity, and its
# **partitions** with the keys each one holds (section 3 explains them). This view is **live**:
# it follows `shop` as the lesson goes on (the index section 2 adds appears in it), and its
# **◀ earlier** button steps back to the moments it has seen, such as this one: six items and
# no index yet.

# %%
lab.table_view("shop")

# %% [markdown]
# **GetItem** reads one item by its whole primary key. **Query** reads an item collection: one
# partition key value, optionally narrowed by a condition on the sort key (`=`, `<`, `BETWEEN`,
# `begins_with`), in sort-key order (`ScanIndexForward=False` for the reverse). Ana's orders,
# newest first, are one Query:

# %%
orders = shop.query(
    KeyConditionExpression=Key("pk").eq("CUST#ana") & Key("sk").begins_with("ORDER#"),
    ScanIndexForward=False,
)["Items"]
for order in orders:
    print(order["sk"], order["total"], order["status"])

# %% [markdown]
# A **Scan** reads every item of the table (in pages of at most 1 MB) and filters afterwards:
# it costs the whole table's reads however few items it keeps. A `FilterExpression` on a Query
# or a Scan also filters *after* reading, so it saves network, not capacity.

# %%
print(fact("dynamodb.query_scan_page_max_bytes"))
scanned = shop.scan(
    FilterExpression="#s = :open",
    ExpressionAttributeNames={"#s": "status"},
    ExpressionAttributeValues={":open": "open"},
    ReturnConsumedCapacity="TOTAL",
)
print(f"{scanned['ScannedCount']} items read to return {scanned['Count']}")

# %% [markdown]
# A put with the same primary key **replaces** the item: keys must be unique per item. A
# **condition expression** makes the write conditional, checked atomically by DynamoDB: here,
# "only if no item has this key yet".

# %%
try:
    shop.put_item(
        Item={"pk": "CUST#ana", "sk": "PROFILE", "name": "Someone else"},
        ConditionExpression="attribute_not_exists(pk)",
    )
except ClientError as error:
    print(error.response["Error"]["Code"], "- Ana's profile is untouched:")
print(shop.get_item(Key={"pk": "CUST#ana", "sk": "PROFILE"})["Item"]["name"])

# %% [markdown]
# ## 2. Secondary indexes
#
# A Query needs a partition key value. To ask "which orders are open?" without a Scan, add a
# **secondary index**: DynamoDB keeps a copy of (some of) the table's attributes under another
# key, and you Query the index.
#
# | | global secondary index (GSI) | local secondary index (LSI) |
# |---|---|---|
# | key | any partition key and sort key | the table's partition key, another sort key |
# | created | any time (`update_table`) | only with the table |
# | reads | eventually consistent only | eventually or strongly consistent |
# | capacity | its own (provisioned tables: its own RCU/WCU) | the table's |
# | per table | 20 by default (a quota) | 5 |
# | size | unlimited | each item collection at most 10 GB |
#
# A GSI is updated **asynchronously** after each write to the table, which is why it offers no
# strongly consistent reads; and on a provisioned table, a GSI without enough write capacity
# throttles the **table's** writes.

# %%
for name in (
    "dynamodb.gsi_per_table_default",
    "dynamodb.lsi_per_table",
    "dynamodb.item_collection_max_with_lsi",
):
    print(fact(name))

dynamodb.update_table(
    TableName="shop",
    AttributeDefinitions=[
        {"AttributeName": "status", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ],
    GlobalSecondaryIndexUpdates=[
        {
            "Create": {
                "IndexName": "by-status",
                "KeySchema": [
                    {"AttributeName": "status", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["total"]},
            }
        }
    ],
)
open_orders = shop.query(IndexName="by-status", KeyConditionExpression=Key("status").eq("open"))
for order in open_orders["Items"]:
    print(order["pk"], order["sk"], order["total"])

# %% [markdown]
# Only items that have the index's key attributes appear in it (the profiles have no `status`):
# a **sparse index**. And a strongly consistent read of a GSI is refused:

# %%
try:
    shop.query(
        IndexName="by-status", KeyConditionExpression=Key("status").eq("open"), ConsistentRead=True
    )
except ClientError as error:
    print(error.response["Error"]["Message"])

# %% [markdown]
# ## 3. Capacity: partitions, keys and throttling
#
# A DynamoDB table is spread over **partitions**. DynamoDB hashes each item's **partition key**
# and keeps the item on the partition whose share of the hash space holds that hash, so all the
# items of one key value live together, on one partition. A partition holds up to 10 GB and
# serves at most 3,000 read units and 1,000 write units per second, however much capacity the
# table has. A provisioned table gets enough partitions for its capacity
# (`ceil(RCU / 3000 + WCU / 1000)`, and one per 10 GB) and **splits its provisioned capacity
# evenly across them**.
#
# Real AWS hides all of this: you see a table, its provisioned capacity and, when something
# goes wrong, `ProvisionedThroughputExceededException`. The sandbox meters every partition
# second by second on the lab clock, and `lab.table_view(table)` shows you the partitions, the
# keys they hold and what each one served.

# %%
from botocore.exceptions import ClientError

from labkit.facts import fact

for fact_id in (
    "dynamodb.partition_max_rcu",
    "dynamodb.partition_max_wcu",
    "dynamodb.partition_max_bytes",
    "dynamodb.rcu_strong_read_bytes",
    "dynamodb.wcu_write_bytes",
    "dynamodb.burst_seconds",
):
    print(fact(fact_id))

ddb = lab.client("dynamodb")

# %% [markdown]
# ### A hot key throttles while the table is idle
#
# A fleet of sensors writes readings to a table keyed by sensor id. It is provisioned with
# 2,000 write units per second, which gives it three partitions of about 666 WCU each. One
# sensor (`sensor-7`) is misbehaving and sends eighty 10 KB readings in one second: 800 write
# units, far less than the table's 2,000. Watch what happens.

# %%
ddb.create_table(
    TableName="readings",
    KeySchema=[
        {"AttributeName": "sensor", "KeyType": "HASH"},
        {"AttributeName": "at", "KeyType": "RANGE"},
    ],
    AttributeDefinitions=[
        {"AttributeName": "sensor", "AttributeType": "S"},
        {"AttributeName": "at", "AttributeType": "N"},
    ],
    ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 2000},
)
reading = "x" * 10_000  # a 10 KB reading costs 10 write units


def send(sensor: str, count: int) -> tuple[int, list[ClientError]]:
    """Write ``count`` readings of ``sensor`` now; how many were accepted, and the refusals."""
    accepted, refused = 0, []
    for i in range(count):
        try:
            ddb.put_item(
                TableName="readings",
                Item={"sensor": {"S": sensor}, "at": {"N": str(i)}, "data": {"S": reading}},
            )
            accepted += 1
        except ClientError as error:
            refused.append(error)
    return accepted, refused


accepted, refused = send("sensor-7", 80)
print(f"accepted {accepted}, throttled {len(refused)}")
print(refused[0].response["Error"]["Code"], "-", refused[0].response["Error"]["Message"])
print(refused[0].response["ThrottlingReasons"])
lab.table_view("readings", hold=True)

# %% [markdown]
# 66 readings got in (660 units, all that partition's share for this second allows), the rest
# were refused with `ProvisionedThroughputExceededException`. The reason,
# `TableWriteKeyRangeThroughputExceeded`, says it: one **key range** (one partition) was over
# its limit. In the view, one partition is marked **✕ throttled** and holds `sensor-7`; the
# other two served nothing, and the table used a third of its capacity. **Adding capacity does
# not help a hot key**: past 1,000 WCU a single partition key value cannot go, on any table.
#
# The fix is in the key design. Spreading one sensor's writes over several key values (**write
# sharding**: `sensor-7#0` ... `sensor-7#9`, a suffix chosen per write) puts them on every
# partition. A reader then queries the ten shards and merges them. The same 800 units now fit:

# %%
lab.clock.advance(1)  # a new second
accepted = 0
for i in range(80):
    shard = f"sensor-7#{i % 10}"
    ddb.put_item(
        TableName="readings",
        Item={"sensor": {"S": shard}, "at": {"N": str(i)}, "data": {"S": reading}},
    )
    accepted += 1
print("accepted", accepted, "of 80")
lab.table_view("readings", hold=True)

# %% [markdown]
# ### Capacity math, as DynamoDB counts it
#
# Every data call can tell you what it cost: pass `ReturnConsumedCapacity="TOTAL"` (or
# `"INDEXES"` for a breakdown by index). The rules:
#
# - an item's size is its attribute **names plus values** (a string by its UTF-8 bytes, a number
#   by about one byte per two digits, lists and maps 3 bytes plus 1 per element);
# - a **write** costs one unit per started 1 KB of the larger of the old and the new item;
# - a **strongly consistent read** costs one unit per started 4 KB, an **eventually consistent**
#   read half of that, a **transactional** read or write double;
# - `Query` and `Scan` add up the sizes of every item they **evaluate** (a `FilterExpression`
#   drops items after they were read and paid for) and round the total up once.

# %%
ddb.create_table(
    TableName="profiles",
    KeySchema=[{"AttributeName": "user", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "user", "AttributeType": "S"}],
    ProvisionedThroughput={"ReadCapacityUnits": 100, "WriteCapacityUnits": 100},
)
bio = "b" * 5_000  # about 5 KB


def cost(response: dict) -> float:
    return response["ConsumedCapacity"]["CapacityUnits"]


put = ddb.put_item(
    TableName="profiles",
    Item={"user": {"S": "ada"}, "bio": {"S": bio}},
    ReturnConsumedCapacity="TOTAL",
)
key = {"user": {"S": "ada"}}
strong = ddb.get_item(
    TableName="profiles", Key=key, ConsistentRead=True, ReturnConsumedCapacity="TOTAL"
)
eventual = ddb.get_item(TableName="profiles", Key=key, ReturnConsumedCapacity="TOTAL")
transactional = ddb.transact_get_items(
    TransactItems=[{"Get": {"TableName": "profiles", "Key": key}}], ReturnConsumedCapacity="TOTAL"
)
print("write of ~5 KB:            ", cost(put), "WCU")
print("strongly consistent read:  ", cost(strong), "RCU  (5 KB -> two 4 KB blocks)")
print("eventually consistent read:", cost(eventual), "RCU")
print("transactional read:        ", transactional["ConsumedCapacity"][0]["CapacityUnits"], "RCU")

# %% [markdown]
# ### Global secondary indexes: their own capacity, a step behind
#
# A **global secondary index** (GSI) is a copy of the table's items keyed differently, with its
# own partitions and its **own capacity**. DynamoDB updates it asynchronously, so a read of the
# index (always eventually consistent) may not see a write yet. And when an index has too little
# write capacity, DynamoDB **throttles writes to the table** until the index keeps up
# (*back-pressure*): give every GSI at least the table's write capacity.

# %%
ddb.create_table(
    TableName="tickets",
    KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    AttributeDefinitions=[
        {"AttributeName": "id", "AttributeType": "S"},
        {"AttributeName": "status", "AttributeType": "S"},
    ],
    ProvisionedThroughput={"ReadCapacityUnits": 10, "WriteCapacityUnits": 10},
    GlobalSecondaryIndexes=[
        {
            "IndexName": "by-status",
            "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
            "ProvisionedThroughput": {"ReadCapacityUnits": 10, "WriteCapacityUnits": 1},
        }
    ],
)


def open_tickets() -> list[str]:
    found = ddb.query(
        TableName="tickets",
        IndexName="by-status",
        KeyConditionExpression="#s = :open",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":open": {"S": "open"}},
    )
    return [item["id"]["S"] for item in found["Items"]]


ddb.put_item(TableName="tickets", Item={"id": {"S": "t1"}, "status": {"S": "open"}})
print("index right after the write:", open_tickets())
lab.clock.advance(1)
print("a second later:             ", open_tickets())
ddb.put_item(TableName="tickets", Item={"id": {"S": "t2"}, "status": {"S": "open"}})
try:
    ddb.put_item(TableName="tickets", Item={"id": {"S": "t3"}, "status": {"S": "open"}})
except ClientError as error:
    print("table write refused:", error.response["ThrottlingReasons"][0]["reason"])
lab.table_view("tickets", hold=True)

# %% [markdown]
# ### Provisioned, burst, and on-demand
#
# **Provisioned** capacity is what you pay for each hour, used or not. A partition keeps the
# capacity it did not use for up to five minutes as **burst capacity**, so a short spike above
# the provisioned rate goes through. AWS gives burst on a best-effort basis: plan without it.
#
# A table of 5 WCU that was idle for a minute has 300 units saved up. A spike of 10 KB writes
# (10 units each) gets 30 writes through in one second instead of none:

# %%
ddb.create_table(
    TableName="orders",
    KeySchema=[{"AttributeName": "order", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "order", "AttributeType": "S"}],
    ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
)
lab.clock.advance(60)
spike = 0
for i in range(40):
    try:
        ddb.put_item(TableName="orders", Item={"order": {"S": f"o{i}"}, "data": {"S": reading}})
        spike += 1
    except ClientError:
        break
print("writes of 10 units that got through in one second:", spike)
lab.table_view("orders", hold=True)

# %% [markdown]
# **Batch writes** do not fail as a whole when the table is busy: what did not fit comes back
# as `UnprocessedItems`, in the shape you sent it. Send those again after a pause that grows
# (**exponential backoff**); in the sandbox the pause is lab time.

# %%
requests = [
    {"PutRequest": {"Item": {"order": {"S": f"batch-{i}"}, "status": {"S": "new"}}}}
    for i in range(25)
]
pending = {"orders": requests}
pause = 1
while pending:
    lab.clock.advance(pause)
    response = ddb.batch_write_item(RequestItems=pending)
    pending = response["UnprocessedItems"]
    left = len(pending.get("orders", []))
    print(f"after {pause:>2} s: {25 - left:>2} of 25 written, {left} unprocessed")
    pause = min(pause * 2, 8)

# %% [markdown]
# **On-demand** tables (`BillingMode="PAY_PER_REQUEST"`) have no capacity to set: you pay per
# request. A new on-demand table serves up to 4,000 write and 12,000 read units per second at
# once; it then serves up to **double its previous peak**, and throttling "can still occur if the
# throughput exceeds twice the previous peak within the same 30 minutes". On-demand does not
# lift the partition limit: a hot key still stops at 1,000 write units per second.

# %%
for fact_id in (
    "dynamodb.on_demand_initial_writes",
    "dynamodb.on_demand_peak_multiplier",
    "dynamodb.on_demand_peak_window",
):
    print(fact(fact_id))

ddb.create_table(
    TableName="clicks",
    KeySchema=[{"AttributeName": "page", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "page", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
hot = 0
for _ in range(110):
    try:
        ddb.put_item(TableName="clicks", Item={"page": {"S": "home"}, "data": {"S": reading}})
        hot += 1
    except ClientError as error:
        print(f"after {hot} writes of 10 units: {error.response['Error']['Message'][:60]}...")
        break
lab.table_view("clicks", hold=True)

# %% [markdown]
# ### Auto scaling on the clock
#
# Provisioned tables can follow their traffic with **Application Auto Scaling**: register the
# table's capacity as a scalable target (with a minimum and a maximum) and attach a **target
# tracking** policy (keep write utilization at 50 %, say). DynamoDB reports consumed capacity
# per minute; auto scaling **scales out** after utilization stays above the target for 2
# consecutive minutes, and **scales in** only after 15 quiet minutes: out fast, in slowly.
# A spike shorter than that is absorbed by burst capacity or throttled.

# %%
print(fact("dynamodb.autoscaling_scale_out_minutes"))
print(fact("dynamodb.autoscaling_scale_in_minutes"))

lab.clock.advance(300)  # five quiet minutes: the spike above is history
scaling = lab.client("application-autoscaling")
scaling.register_scalable_target(
    ServiceNamespace="dynamodb",
    ResourceId="table/orders",
    ScalableDimension="dynamodb:table:WriteCapacityUnits",
    MinCapacity=5,
    MaxCapacity=100,
)
scaling.put_scaling_policy(
    PolicyName="orders-writes",
    ServiceNamespace="dynamodb",
    ResourceId="table/orders",
    ScalableDimension="dynamodb:table:WriteCapacityUnits",
    PolicyType="TargetTrackingScaling",
    TargetTrackingScalingPolicyConfiguration={
        "TargetValue": 50.0,
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "DynamoDBWriteCapacityUtilization"
        },
    },
)


def write_units() -> int:
    table = ddb.describe_table(TableName="orders")["Table"]
    return table["ProvisionedThroughput"]["WriteCapacityUnits"]


# Three minutes of steady traffic: one 5 KB order (5 WCU) per second, the whole 5 WCU.
for second in range(180):
    ddb.put_item(TableName="orders", Item={"order": {"S": f"s{second}"}, "data": {"S": bio}})
    lab.clock.advance(1)
    if second % 60 == 59:
        print(f"after {second + 1:>3} s: {write_units()} WCU provisioned")
lab.table_view("orders", hold=True)

# %%
lab.clock.advance(16 * 60)  # a quiet quarter of an hour
print("after 16 quiet minutes:", write_units(), "WCU provisioned")

# %% [markdown]
# ### Writes done right: conditions, optimistic locking, transactions
#
# A `PutItem` replaces whatever item has the same key. A **condition expression** makes the
# write happen only if the item is as you expect; otherwise DynamoDB refuses it with
# `ConditionalCheckFailedException` (and still charges the write units).
#
# **Optimistic locking** uses that with a version number: read the item, change it, and write it
# back only if its version is still the one you read, incrementing it. Of two writers who read
# the same version, the second one's write fails instead of silently undoing the first.

# %%
ddb.put_item(
    TableName="profiles",
    Item={"user": {"S": "grace"}, "city": {"S": "New York"}, "version": {"N": "1"}},
    ConditionExpression="attribute_not_exists(#u)",  # create only: never overwrite a user
    ExpressionAttributeNames={"#u": "user"},
)


def move(user: str, city: str, read_version: int) -> None:
    ddb.update_item(
        TableName="profiles",
        Key={"user": {"S": user}},
        UpdateExpression="SET city = :city, version = :next",
        ConditionExpression="version = :read",
        ExpressionAttributeValues={
            ":city": {"S": city},
            ":next": {"N": str(read_version + 1)},
            ":read": {"N": str(read_version)},
        },
    )


move("grace", "Boston", read_version=1)  # writer A read version 1: saved, now version 2
try:
    move("grace", "Denver", read_version=1)  # writer B also read version 1
except ClientError as error:
    print("writer B:", error.response["Error"]["Code"], "- read again and retry")
print(ddb.get_item(TableName="profiles", Key={"user": {"S": "grace"}})["Item"]["city"])

# %% [markdown]
# A **transaction** (`TransactWriteItems`, up to 100 actions) succeeds or fails as a whole. A
# transfer between two accounts checks the balance and moves the money in one step; when a
# condition fails, nothing is written and `CancellationReasons` says which action failed
# (`None` for the others). Transactions cost double capacity.

# %%
ddb.create_table(
    TableName="accounts",
    KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
for account, balance in (("alice", 100), ("bob", 20)):
    ddb.put_item(TableName="accounts", Item={"id": {"S": account}, "balance": {"N": str(balance)}})


def transfer(source: str, target: str, amount: int) -> None:
    ddb.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": "accounts",
                    "Key": {"id": {"S": source}},
                    "UpdateExpression": "SET balance = balance - :a",
                    "ConditionExpression": "balance >= :a",
                    "ExpressionAttributeValues": {":a": {"N": str(amount)}},
                }
            },
            {
                "Update": {
                    "TableName": "accounts",
                    "Key": {"id": {"S": target}},
                    "UpdateExpression": "SET balance = balance + :a",
                    "ExpressionAttributeValues": {":a": {"N": str(amount)}},
                }
            },
        ],
        ReturnConsumedCapacity="TOTAL",
    )


transfer("alice", "bob", 30)
try:
    transfer("bob", "alice", 500)
except ClientError as error:
    print(error.response["Error"]["Code"])
    print([reason["Code"] for reason in error.response["CancellationReasons"]])
for account in ("alice", "bob"):
    item = ddb.get_item(TableName="accounts", Key={"id": {"S": account}}, ConsistentRead=True)
    print(account, item["Item"]["balance"]["N"])

# %% [markdown]
# ### What real AWS hides, and what the sandbox simplifies
#
# - AWS does not show partitions, which keys live where, or per-second consumption (CloudWatch
#   reports per minute); the sandbox's table view does, so that a hot key is visible.
# - AWS's partition hash is not published; the sandbox places keys by MD5, so placements repeat
#   but differ from AWS's.
# - Burst capacity and on-demand scaling are best effort on AWS; the sandbox always grants them
#   as documented. AWS's *adaptive capacity* (a hot partition borrowing unused table capacity,
#   up to the same 1,000/3,000 per partition) is not simulated.
# - Auto scaling acts at the end of the minute that crosses its threshold; on AWS, alarms and
#   the table update can take a few minutes more.

# %% [markdown]
# ## 4. Time: TTL, streams, global tables, recovery and table classes
#
# Everything in this part happens *over time*: items that expire, changes that flow out of a
# table, writes that travel between Regions, and the past you can restore. Nothing sleeps: the
# lab clock moves when you say so (`lab.clock.advance(seconds)`), and DynamoDB in the sandbox
# follows it. Python's own clock follows it too, so `time.time()` in your code reads lab time.

# %%
import time

from botocore.exceptions import EndpointConnectionError

from labkit import edge
from labkit.facts import fact
from labkit.services.dynamodb.sim_pricing import compare

ddb = lab.client("dynamodb")
streams = lab.client("dynamodbstreams")


def show_stream(table: str, last: int = 10) -> None:
    """Print the newest records of a table's stream: event, keys, images, who made it."""
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    for record in streams.get_records(ShardIterator=iterator)["Records"][-last:]:
        change = record["dynamodb"]
        images = [name for name in ("OldImage", "NewImage") if name in change]
        who = record.get("userIdentity", {}).get("PrincipalId", "a caller")
        shown = images or "keys only"
        print(f"{record['eventName']:7} {change['Keys']}  images: {shown}  by {who}")


# %% [markdown]
# ### TTL: a session store that forgets
#
# Web sessions should vanish after a while. DynamoDB's **Time to Live** deletes an item once
# the epoch-seconds Number in its TTL attribute has passed, for free (no write capacity). But not
# at that second: AWS deletes expired items in the background, **typically within two days**,
# and until then reads, queries and scans still return them. The TTL process also ignores an
# attribute that is not a Number, and an expiry more than five years in the past.

# %%
print(fact("dynamodb.ttl_deletion_typical"))
print(fact("dynamodb.ttl_max_past"))

ddb.create_table(
    TableName="sessions",
    KeySchema=[{"AttributeName": "session_id", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "session_id", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
    StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
)
ddb.update_time_to_live(
    TableName="sessions",
    TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
)
now = int(time.time())
for user in ("ana", "bo", "cy"):
    ddb.put_item(
        TableName="sessions",
        Item={
            "session_id": {"S": f"s-{user}"},
            "user": {"S": user},
            "expires_at": {"N": str(now + 30 * 60)},  # thirty minutes from now
        },
    )

# %% [markdown]
# Thirty-one minutes later every session has expired. Is it gone?

# %%
lab.clock.advance(31 * 60)
stale = ddb.get_item(TableName="sessions", Key={"session_id": {"S": "s-ana"}}).get("Item")
print("get_item still returns:", stale)

# %% [markdown]
# It is still there, and an app that trusts `get_item` would log Ana in with an expired
# session. Until the background delete, **filter on the TTL attribute yourself**: compare it
# with the current time on every read (a `FilterExpression` for queries and scans, a check in
# code after `get_item`).


# %%
def live_session(session_id: str) -> dict | None:
    """The session, or None if it is missing or expired (deleted or not)."""
    item = ddb.get_item(TableName="sessions", Key={"session_id": {"S": session_id}}).get("Item")
    if item is None or float(item["expires_at"]["N"]) <= time.time():
        return None
    return item


print("live_session:", live_session("s-ana"))
live = ddb.scan(
    TableName="sessions",
    FilterExpression="expires_at > :now",
    ExpressionAttributeValues={":now": {"N": str(int(time.time()))}},
)
print("scan with the filter finds", live["Count"], "live sessions of", live["ScannedCount"])

# %% [markdown]
# Now let two days pass, an hour at a time. The background process deletes each session at its
# own moment, and each deletion goes into the stream as a `REMOVE` **made by the DynamoDB
# service** (`userIdentity` `dynamodb.amazonaws.com`), not by a caller: that is how a stream
# consumer tells an expiry from a user's logout.

# %%
left = ddb.scan(TableName="sessions")["Count"]
for hour in range(1, 49):
    lab.clock.advance(3600)
    now_left = ddb.scan(TableName="sessions")["Count"]
    if now_left != left:
        print(f"{hour:2} h later: {now_left} sessions left; the newest stream record:")
        show_stream("sessions", last=1)
        left = now_left
lab.table_view("sessions", hold=True)

# %% [markdown]
# ### Streams: what each view type records
#
# A stream records every change to a table's items, in order per item, for **24 hours**. Its
# **view type** decides what a record carries: `KEYS_ONLY` (just the key), `NEW_IMAGE` (the item
# after the change), `OLD_IMAGE` (before), or `NEW_AND_OLD_IMAGES` (both). A write that changes
# nothing writes no record at all. Here is the same insert, update and delete through each type.

# %%
print(fact("dynamodb.stream_retention"))
for view in ("KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
    name = f"orders-{view.lower().replace('_', '-')}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view},
    )
    ddb.put_item(TableName=name, Item={"id": {"S": "o1"}, "qty": {"N": "1"}})
    ddb.put_item(TableName=name, Item={"id": {"S": "o1"}, "qty": {"N": "1"}})  # no change
    ddb.update_item(
        TableName=name,
        Key={"id": {"S": "o1"}},
        UpdateExpression="SET qty = :q",
        ExpressionAttributeValues={":q": {"N": "2"}},
    )
    ddb.delete_item(TableName=name, Key={"id": {"S": "o1"}})
    print(f"--- {view}")
    show_stream(name)

# %% [markdown]
# Choose the smallest view your consumer needs: an audit log wants `NEW_AND_OLD_IMAGES`, a cache
# invalidator `KEYS_ONLY`. A consumer that falls more than 24 hours behind loses records for
# good: older records are trimmed and `TRIM_HORIZON` starts after them.
#
# ### Global tables: one table, several Regions, last writer wins
#
# A **global table** (current version 2019.11.21) keeps a replica of a table in each Region you
# add, and every replica takes reads *and* writes. You add a Region with `UpdateTable`'s
# `ReplicaUpdates`, on a table that may already hold data. The old advice "enable streams before
# creating a global table" was a rule of the legacy 2017.11.29 version; the current one does not
# need it. (A provisioned table needs write auto scaling first; this one is on-demand.)

# %%
print(fact("dynamodb.global_tables_current_version"))
print(fact("dynamodb.global_tables_streams_required_first"))
print(fact("dynamodb.global_table_replication_typical"))

ddb.create_table(
    TableName="carts",
    KeySchema=[{"AttributeName": "user", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "user", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
described = ddb.update_table(
    TableName="carts", ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}]
)["TableDescription"]
print(described["GlobalTableVersion"], described["Replicas"])
us = ddb
eu = lab.client("dynamodb", region_name="eu-west-1")


def cart(client: object, user: str = "ana") -> dict | None:
    """The user's cart as the client's Region has it now."""
    return client.get_item(TableName="carts", Key={"user": {"S": user}}).get("Item")


# %% [markdown]
# Replication is **asynchronous**: a write is acknowledged in its own Region and reaches the
# others "usually within a second". Read it in Ireland at once, then a second later.

# %%
us.put_item(TableName="carts", Item={"user": {"S": "ana"}, "items": {"N": "1"}})
print("in eu-west-1 at once:   ", cart(eu))
lab.clock.advance(1)
print("in eu-west-1 1 s later: ", cart(eu))

# %% [markdown]
# **A lost update.** Ana's cart is open on her laptop (served from us-east-1) and her phone
# (served from eu-west-1). Both read `items = 1` and both add one thing within the same second,
# before either write has replicated. Each Region accepts its write. Then replication meets a
# conflict and resolves it **last writer wins**: the write with the later timestamp replaces the
# other *everywhere*, and nobody is told. Ana added two things; her cart holds one more.

# %%
laptop = {"user": {"S": "ana"}, "items": {"N": "2"}, "from": {"S": "laptop"}}
phone = {"user": {"S": "ana"}, "items": {"N": "2"}, "from": {"S": "phone"}}
us.put_item(TableName="carts", Item=laptop)
eu.put_item(TableName="carts", Item=phone)
lab.clock.advance(1)
for client in (us, eu):
    print(client.meta.region_name, cart(client))
lab.table_view("carts", hold=True)

# %% [markdown]
# Both Regions agree, and the laptop's write is gone from both: the view lists the lost update.
# Global tables suit data where the last write *should* win (a profile, a setting), or where
# each item is written in one Region only (route each user to a home Region). A counter or a
# cart that several Regions update at once needs another design: `ADD` to an attribute is still
# an item-level write, so it loses the same way.
#
# **A Region fails.** With `edge.fail_region`, eu-west-1 goes dark: every call to DynamoDB there
# fails as an unreachable endpoint does, while us-east-1 keeps serving reads and writes. An app
# that fails over to another Region keeps working; writes for Ireland wait and arrive when it
# comes back.

# %%
edge.fail_region("eu-west-1")
try:
    cart(eu)
except EndpointConnectionError as error:
    print("eu-west-1:", error)
us.put_item(TableName="carts", Item={"user": {"S": "bo"}, "items": {"N": "5"}})
print("us-east-1 still serves:", cart(us, "bo"))
lab.clock.advance(600)
lab.table_view("carts", hold=True)

# %%
edge.restore_region("eu-west-1")
lab.clock.advance(15)
print("eu-west-1 caught up:", cart(eu, "bo"))

# %% [markdown]
# ### Point-in-time recovery: undo a bad batch write
#
# With **PITR** on, DynamoDB can restore a table to any second of the last 35 days, into a
# **new** table (the damaged one is left as it is). The latest second you can restore to trails
# the present by about five minutes.

# %%
print(fact("dynamodb.pitr_window"))
print(fact("dynamodb.pitr_latest_restorable_lag"))

ddb.create_table(
    TableName="prices",
    KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
ddb.update_continuous_backups(
    TableName="prices", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
)
for sku, cents in (("apple", 120), ("bread", 250), ("milk", 99)):
    ddb.put_item(TableName="prices", Item={"sku": {"S": sku}, "cents": {"N": str(cents)}})
lab.clock.advance(60)
before_the_mistake = lab.clock.now
lab.clock.advance(5)

# A price import with a bug: every price in dollars instead of cents, and one product dropped.
ddb.batch_write_item(
    RequestItems={
        "prices": [
            {"PutRequest": {"Item": {"sku": {"S": "apple"}, "cents": {"N": "1.2"}}}},
            {"PutRequest": {"Item": {"sku": {"S": "bread"}, "cents": {"N": "2.5"}}}},
            {"DeleteRequest": {"Key": {"sku": {"S": "milk"}}}},
        ]
    }
)
window = ddb.describe_continuous_backups(TableName="prices")["ContinuousBackupsDescription"]
print(window["PointInTimeRecoveryDescription"])

# %% [markdown]
# The mistake happened a moment ago, but the latest restorable time is five minutes back, before
# PITR has even seen it. Wait five minutes, then restore to the second before the batch.

# %%
lab.clock.advance(300)
ddb.restore_table_to_point_in_time(
    SourceTableName="prices",
    TargetTableName="prices-restored",
    RestoreDateTime=before_the_mistake,
)
for table in ("prices", "prices-restored"):
    rows = {i["sku"]["S"]: i["cents"]["N"] for i in ddb.scan(TableName=table)["Items"]}
    print(f"{table:16}", dict(sorted(rows.items())))

# %% [markdown]
# The restored table has the same keys, indexes and capacity mode, but not the TTL setting,
# streams or PITR of its source: set those again before you point the app at it. PITR also
# feeds **exports to S3** (`export_table_to_point_in_time`, DynamoDB JSON under
# `AWSDynamoDB/<export id>/data/`), which the analytics lab queries later.
#
# ### Table classes: Standard or Standard-IA
#
# A table's **class** changes what its bill is made of. **Standard-Infrequent Access** stores
# data for 60 % less and charges 25 % more per read and write. It pays off where storage
# dominates: an order history kept for years and rarely read. A hot table with little data
# belongs in Standard. The calculator prices both from the fact table (us-east-1 list prices).

# %%
for price in ("storage_gb_month", "write_request_million", "read_request_million"):
    print(fact(f"dynamodb.price_{price}_standard"))
    print(fact(f"dynamodb.price_{price}_standard_ia"))

archive = compare(storage_gb=2000, write_units=5_000_000, read_units=20_000_000)
print(archive.text(), end="\n\n")
hot = compare(storage_gb=5, write_units=400_000_000, read_units=3_000_000_000)
print(hot.text())

# %%
ddb.update_table(TableName="prices", TableClass="STANDARD_INFREQUENT_ACCESS")
print(ddb.describe_table(TableName="prices")["Table"]["TableClassSummary"])

# %% [markdown]
# ### Summary: time
#
# - **TTL** deletes expired items for free, in the background, typically within two days: until
#   then reads return them, so filter on the TTL attribute. Its deletions reach the stream as the
#   DynamoDB service's.
# - **Streams** keep 24 hours of changes; the view type decides whether a record holds the key,
#   the new item, the old one or both. A write that changes nothing records nothing.
# - **Global tables** replicate every write to every Region, usually within a second, and
#   resolve conflicts last writer wins: concurrent updates to one item lose one silently. A
#   failed Region stops answering; the others keep serving, and it catches up when it returns.
# - **PITR** restores any second of the last 35 days (up to about five minutes ago) into a new
#   table: the way back from a bad batch write.
# - **Standard-IA** trades cheaper storage for dearer requests: choose it when storage dominates.

# %% [markdown]
# ## 5. DAX: a cache in front of DynamoDB
#
# **DynamoDB Accelerator (DAX)** is an in-memory cache that speaks DynamoDB's API. Your code
# sends `GetItem`, `Query`, `PutItem`... to a DAX **cluster** instead of to DynamoDB; DAX
# answers reads from memory when it can and passes everything else to your table. A cache
# hit takes **microseconds**, a DynamoDB read **single-digit milliseconds**.
#
# A DAX cluster keeps **two caches**, and most surprises come from mixing them up:
#
# | | item cache | query cache |
# |---|---|---|
# | holds the results of | `GetItem`, `BatchGetItem` | `Query`, `Scan` |
# | keyed by | the item's primary key | the request's parameters |
# | a write **through DAX** | updates it (write-through) | **does not touch it** |
# | a write straight to DynamoDB | leaves it stale until its TTL | leaves it stale until its TTL |
# | lives for | `record-ttl-millis` (5 min by default) | `query-ttl-millis` (5 min) |
#
# Both keep **negative entries** (a read that found nothing caches "nothing"), both are evicted
# least-recently-used first when the node's memory is full, and **strongly consistent reads
# are never cached**: DAX passes them to DynamoDB.

# %%
from amazondax import AmazonDaxClient

from labkit.facts import fact

for fact_id in (
    "dax.item_cache_ttl_default",
    "dax.query_cache_ttl_default",
    "dax.write_through_updates_query_cache",
    "dax.strongly_consistent_reads_cached",
    "dax.negative_caching",
    "dax.lru_eviction",
):
    print(fact(fact_id))

# %% [markdown]
# ### A table and a cluster
#
# A table of user profiles, and a DAX cluster in front of it. The cluster is created with the
# `dax` control-plane client of boto3, like any AWS resource. One small node is enough here;
# for production AWS recommends at least three nodes in different Availability Zones (a write
# reaches the primary node's cache first and the other nodes usually within a second, so two
# readers may briefly see different values). On AWS a new cluster takes minutes to become
# `available`; in the sandbox it is available at the first `describe_clusters`.

# %%
ddb = lab.client("dynamodb")
ddb.create_table(
    TableName="user_profiles",
    KeySchema=[{"AttributeName": "user", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "user", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
for user, city in [("ada", "London"), ("grace", "New York"), ("linus", "Helsinki")]:
    ddb.put_item(TableName="user_profiles", Item={"user": {"S": user}, "city": {"S": city}})

dax_control = lab.client("dax")
dax_control.create_cluster(
    ClusterName="profiles-cache",
    NodeType="dax.t3.small",
    ReplicationFactor=1,
    IamRoleArn="arn:aws:iam::123456789012:role/DAXServiceRole",
)
cluster = dax_control.describe_clusters(ClusterNames=["profiles-cache"])["Clusters"][0]
endpoint = cluster["ClusterDiscoveryEndpoint"]["URL"]
print(cluster["Status"], cluster["NodeType"], endpoint)
print(fact("dax.node_memory").title, "->", fact("dax.node_memory").value["dax.t3.small"], "bytes")

# %% [markdown]
# ### Reading through DAX
#
# Your code talks to the cluster with the **DAX client** (`pip install amazon-dax-client`,
# imported as `amazondax`): `AmazonDaxClient(endpoint_url=...)` has the same methods and
# answers as boto3's DynamoDB client, and `AmazonDaxClient.resource(endpoint_url=...)` as
# boto3's resource. This code runs unchanged against a real cluster; in the sandbox the same
# client is answered by labkit's DAX, and nothing leaves your machine.
#
# The first read of an item is a **miss** (DAX asks DynamoDB, keeps the answer, returns it);
# the second is a **hit**. The view shows each request's outcome and its latency.

# %%
dax = AmazonDaxClient(endpoint_url=endpoint)
profiles = AmazonDaxClient.resource(endpoint_url=endpoint).Table("user_profiles")

print(dax.get_item(TableName="user_profiles", Key={"user": {"S": "ada"}})["Item"])
print(profiles.get_item(Key={"user": "ada"})["Item"])  # the resource: same cache
print(profiles.get_item(Key={"user": "nobody"}).get("Item"))  # a miss that finds nothing...
print(profiles.get_item(Key={"user": "nobody"}).get("Item"))  # ...cached as a negative entry
lab.dax_view("profiles-cache", hold=True)

# %% [markdown]
# A hit costs DynamoDB nothing (no read capacity is consumed); a miss costs a DynamoDB read
# plus the trip through DAX. The latencies come from labkit's **model** of what AWS documents
# (microseconds for a hit, single-digit milliseconds for DynamoDB):

# %%
print(fact("dax.hit_latency"))
print(fact("dax.miss_latency"))

# %% [markdown]
# ### A user who does not see their own change
#
# Ada moves to Paris. The profile service saves the change **straight to DynamoDB** (with the
# ordinary boto3 client), then shows Ada her profile, read **through DAX**. DAX does not know
# the table changed: it still holds London, and will until the entry's TTL runs out. Ada sees
# her old city. The view marks the entry **✗ STALE**: it differs from the table now.

# %%
ddb.update_item(
    TableName="user_profiles",
    Key={"user": {"S": "ada"}},
    UpdateExpression="SET city = :c",
    ExpressionAttributeValues={":c": {"S": "Paris"}},
)
print("Ada sees:", profiles.get_item(Key={"user": "ada"})["Item"]["city"])
lab.dax_view("profiles-cache", hold=True)

# %% [markdown]
# Two fixes, each with its price:
#
# 1. **Write through DAX.** A write sent to DAX goes to DynamoDB first and then, once DynamoDB
#    has it, into the item cache. The next read is a hit with the new value. (A write through
#    DAX takes more of the cluster's resources than a cache hit.)
# 2. **Read with `ConsistentRead=True`** right after a write. DAX passes a strongly
#    consistent read to DynamoDB and does **not** cache the answer: it is always current, costs
#    a full read capacity unit per 4 KB and takes milliseconds. The cached entry stays as it
#    was.

# %%
profiles.update_item(  # fix 1: the same update, sent through DAX
    Key={"user": "grace"},
    UpdateExpression="SET city = :c",
    ExpressionAttributeValues={":c": "Boston"},
)
print("Grace sees:", profiles.get_item(Key={"user": "grace"})["Item"]["city"])

fresh = profiles.get_item(Key={"user": "ada"}, ConsistentRead=True)  # fix 2
print("Ada, strongly consistent:", fresh["Item"]["city"])
print("Ada, eventually consistent:", profiles.get_item(Key={"user": "ada"})["Item"]["city"])
print(fact("dax.write_resource_factor"))
lab.dax_view("profiles-cache", hold=True)

# %% [markdown]
# ### The query cache does not see writes, even through DAX
#
# A `Query` is cached by its parameters, and a write does not know which cached queries would
# now answer differently. So even a write **through** DAX leaves a cached query result as it
# was until the query TTL expires it. Below, Linus's profile is queried, then changed through
# DAX: `GetItem` sees the change at once (item cache, write-through), the same `Query` does
# not (query cache).

# %%
by_user = {
    "KeyConditionExpression": "#u = :u",
    "ExpressionAttributeNames": {"#u": "user"},
    "ExpressionAttributeValues": {":u": "linus"},
}
print("query:", profiles.query(**by_user)["Items"][0]["city"])
profiles.put_item(Item={"user": "linus", "city": "Portland"})  # through DAX
print("get_item after the write:", profiles.get_item(Key={"user": "linus"})["Item"]["city"])
print("query after the write:   ", profiles.query(**by_user)["Items"][0]["city"])
lab.dax_view("profiles-cache", hold=True)

# %% [markdown]
# Five minutes later (the default query TTL) the cached result has expired and the query
# reads DynamoDB again:

# %%
lab.clock.advance(300)
print("query five minutes later:", profiles.query(**by_user)["Items"][0]["city"])

# %% [markdown]
# ### Choosing the TTLs
#
# The TTLs live in the cluster's **parameter group**: `record-ttl-millis` for the item cache
# and `query-ttl-millis` for the query cache. A shorter TTL means fresher data and more
# misses. An item TTL of 0 means entries never expire by time (only eviction or a write
# through DAX replaces them); a query TTL of 0 turns the query cache off.

# %%
dax_control.create_parameter_group(ParameterGroupName="profiles-fresh")
dax_control.update_parameter_group(
    ParameterGroupName="profiles-fresh",
    ParameterNameValues=[
        {"ParameterName": "record-ttl-millis", "ParameterValue": "60000"},
        {"ParameterName": "query-ttl-millis", "ParameterValue": "0"},
    ],
)
dax_control.update_cluster(ClusterName="profiles-cache", ParameterGroupName="profiles-fresh")
for p in dax_control.describe_parameters(ParameterGroupName="profiles-fresh")["Parameters"]:
    print(p["ParameterName"], p["ParameterValue"], p["ChangeType"])
print(fact("dax.ttl_parameters"))
lab.dax_view("profiles-cache", hold=True)

# %% [markdown]
# ### DAX or ElastiCache?
#
# The notes say "DAX is better than ElastiCache; ElastiCache stores aggregation results".
# Neither is better in general; they cache different things:
#
# - **DAX** caches **DynamoDB read results**, items and query/scan responses, and nothing
#   else. It needs no cache code: you swap the client, and writes through DAX keep the item
#   cache current. It only helps eventually consistent reads of DynamoDB.
# - **ElastiCache** (Valkey, Redis OSS, Memcached) is a general in-memory store your code fills
#   and invalidates itself. It is where a value your application **computes** goes (a
#   leaderboard, a sum over many items, a rendered page), whatever its source, and what several
#   services share (sessions).
#
# So: repeated reads of the same DynamoDB items or queries, with no code change, point to DAX;
# caching computed results, or data that is not DynamoDB's, points to ElastiCache.

# %%
print(fact("dax.elasticache_use"))

# %% [markdown]
# ## 6. Which database?
#
# The course notes end with a "Which DB?" list. This is its DynamoDB half: when DynamoDB is the
# right tool, and when another one is.
#
# **DynamoDB** fits when the questions are known in advance and each is answered by a key: a
# session store, a shopping cart, a user profile, order events, game state, device data. It
# serves them in single-digit milliseconds at any scale, without servers, with on-demand or
# provisioned capacity, TTL, streams, global tables and point-in-time recovery. Its limits:
# items of at most 400 KB, no joins, no ad-hoc queries (a new question needs a new index, or a
# Scan), and transactions of at most 100 items.
#
# | the job | look first at |
# |---|---|
# | relational data, joins, ad-hoc SQL, transactions across many rows | **RDS** or **Aurora** |
# | key-value or document data at any scale, known access patterns | **DynamoDB** |
# | an in-memory cache or store (sub-millisecond), any database | **ElastiCache** |
# | a read cache for DynamoDB with the DynamoDB API (microseconds) | **DAX** |
# | MongoDB-compatible documents | **DocumentDB** |
# | Cassandra-compatible wide columns | **Keyspaces** |
# | graphs (relationships) | **Neptune** |
# | time series | **Timestream** |
# | full-text search, log analytics | **OpenSearch Service** |
# | analytics (OLAP) over large data | **Redshift**, or **Athena** on S3 |
# | large objects, archives | **S3**, S3 Glacier storage classes |
#
# The notes say "DAX is better than ElastiCache": it is not a matter of better. DAX only
# caches DynamoDB, speaks its API (no code to write beyond changing the client) and keeps its
# item cache up to date for writes made through it; ElastiCache caches anything (including
# computed results, such as aggregations) but your code fills and invalidates it.

# %%
print(fact("dynamodb.typical_latency"))
print(fact("dax.read_latency"))
print(fact("dynamodb.transaction_max_items"))

# %% [markdown]
# ## Summary
#
# - A DynamoDB table is designed around its questions: the **partition key** chooses the
#   partition, the **sort key** orders an **item collection**, and one **Query** reads it;
#   a Scan reads everything.
# - A **GSI** is a copy under another key, updated asynchronously (eventually consistent
#   reads), added at any time, with its own capacity; an **LSI** shares the partition key, is
#   created with the table, and limits each item collection to 10 GB.
# - Writes replace items with the same key; **condition expressions**, a version attribute and
#   **transactions** make them safe.
# - **Capacity** is counted in 4 KB reads and 1 KB writes and served by partitions of at most
#   3,000 reads and 1,000 writes a second each: a hot partition key throttles while the table's
#   total sits unused. Burst capacity, on-demand tables and auto scaling absorb load that the
#   keys spread; nothing absorbs a key that does not.
# - **TTL** deletes expired items in the background (filter them on read), **streams** keep
#   24 hours of changes, **global tables** replicate every write to other Regions (last writer
#   wins), and **point-in-time recovery** restores any second of the last 35 days into a new
#   table.
# - **DAX** answers eventually consistent reads from memory; its item cache follows writes made
#   through it, its query cache and writes made around it do not, until their TTLs run out.
# - Pick DynamoDB for known, key-based access at any scale; a relational database for joins
#   and ad-hoc queries, a search, graph or analytics service for those jobs.
