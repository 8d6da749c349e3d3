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
# - Writes replace items with the same key; **condition expressions** make them safe.
# - Pick DynamoDB for known, key-based access at any scale; a relational database for joins
#   and ad-hoc queries, a search, graph or analytics service for those jobs.
