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
# a skewed day of traffic never throttles, and build a **session store** whose sessions expire
# with Time to Live.
#
# Write your code where it says `# YOUR CODE HERE` (replace the `...`), run the cell, then run
# the check below it. Each check calls your functions in an empty sandbox of its own, with a lab
# clock of its own, and tells you what it found.

# %%
from collections import Counter

import labkit
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
# ## Task 2: a session store that forgets
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
# - Time to Live deletes expired items in the background, days later at worst: readers must
#   check the expiry themselves.
