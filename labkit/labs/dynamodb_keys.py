"""The DynamoDB lab's ``event_key`` check: a key design that keeps every event and never throttles.

The check creates a provisioned table of its own (partition key ``pk``, sort key ``sk``, both
strings), writes a skewed workload of order events (:mod:`labkit.labs.dynamodb_workload`) with
the learner's ``event_key(event)``, one second of lab time at a time, and then asks three things:

- every event is its own item (no two events got the same primary key, which would overwrite);
- a ``Query`` on the partition key of an order's events returns them, in time order;
- no write was throttled: a key value lives in one partition, and a partition serves at most
  its share of the table's capacity (1,000 WCU at most), so a key that concentrates the writes
  (the flagship store, the reseller, the day) throttles while the table's total is unused.
"""

from __future__ import annotations

import importlib
from collections import Counter
from typing import Any

from botocore.exceptions import ClientError

from labkit import facts
from labkit.grading.checks import CheckContext, short
from labkit.labs.dynamodb_workload import OrderEvent, OrderEvents

EVENTS_TABLE = "order-events"
#: The table's provisioned write capacity: more than the workload needs in total.
EVENTS_WCU = 4_000
EVENTS_RCU = 3_000
#: New events a second, and for how long (lab time).
EVENTS_RATE = 200
EVENTS_SECONDS = 15
#: Padding that makes each event item about 9.5 KB, so each write costs 10 WCU: the workload
#: needs 2,000 WCU a second in all, half the table's 4,000 (few large items keep the check's
#: wall time low, and the headroom lets any well-spread key pass).
EVENT_PAYLOAD = 9_300
#: Write units each event item costs.
EVENT_WCU = 10
#: Orders whose events the check reads back with Query.
SAMPLE_ORDERS = 12
KEY_ATTRIBUTES = ("pk", "sk")


def events_table(dynamodb: Any, name: str = EVENTS_TABLE) -> None:
    """Create the check's (and the lesson's) event table with a ``dynamodb`` client."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        ProvisionedThroughput={"ReadCapacityUnits": EVENTS_RCU, "WriteCapacityUnits": EVENTS_WCU},
    )


def partitions() -> int:
    """How many partitions the check's table has (AWS: enough for its throughput, at most
    3,000 RCU and 1,000 WCU each), as the capacity simulator lays it out."""
    sim = importlib.import_module("labkit.services.dynamodb.sim_capacity")
    return int(sim.provisioned_partitions(EVENTS_RCU, EVENTS_WCU))


def partition_of(key_value: str) -> int:
    """The partition of the check's table that holds partition key value ``key_value``."""
    sim = importlib.import_module("labkit.services.dynamodb.sim_capacity")
    return int(sim.partition_of(sim.key_hash({"S": key_value}), partitions()))


def _kind(value: object) -> str:
    if value is None:
        return "None"
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name} ({short(value)})"


def _key_problem(key: object) -> tuple[str, str]:
    """What is wrong with one returned key, and the hint; ``("", "")`` when it is usable."""
    if key is None:
        return "None", "Did you finish the function (replace the `...`) and `return` the key?"
    if not isinstance(key, dict):
        return _kind(key), (
            "Return the item's primary key as a dict of the table's key attributes: `{\"pk\": "
            '..., "sk": ...}`, both strings (the table declares them as type S).'
        )
    missing = [name for name in KEY_ATTRIBUTES if name not in key]
    if missing:
        return f"a dict without {' and '.join(f'`{m}`' for m in missing)} ({short(key)})", (
            "The table's primary key is the partition key `pk` and the sort key `sk`: every "
            "item needs both (a table with a sort key has a composite primary key)."
        )
    for name in KEY_ATTRIBUTES:
        value = key[name]
        if not isinstance(value, str):
            return f"a `{name}` that is {_kind(value)}", (
                f"The table declares `{name}` as a string (type S): DynamoDB refuses a key "
                f"attribute of another type. Build it as text, for example "
                f'`f"ORDER#{{event["order_id"]}}"`.'
            )
        if not value:
            return f"an empty `{name}`", "Key attributes cannot be empty strings."
    limit = int(facts.value("dynamodb.partition_key_max"))
    if len(key["pk"].encode()) > limit:
        return "a `pk` longer than DynamoDB allows", (
            f"A partition key value is at most {limit:,} bytes: the order id is enough."
        )
    return "", ""


def _write_second(
    dynamodb: Any, items: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], ClientError | None]:
    """Write one second's items in batches of 25 (no retry); the items DynamoDB did not take."""
    size = int(facts.value("dynamodb.batch_write_max_items"))
    refused: list[dict[str, Any]] = []
    for start in range(0, len(items), size):
        batch = items[start : start + size]
        try:
            response = dynamodb.batch_write_item(
                RequestItems={EVENTS_TABLE: [{"PutRequest": {"Item": i}} for i in batch]}
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("ProvisionedThroughputExceededException", "ThrottlingException"):
                refused.extend(batch)
                continue
            return refused, exc
        unprocessed = response.get("UnprocessedItems", {}).get(EVENTS_TABLE, [])
        refused.extend(r["PutRequest"]["Item"] for r in unprocessed)
    return refused, None


def _item(event: OrderEvent, key: dict[str, str]) -> dict[str, Any]:
    item: dict[str, Any] = {name: {"S": value} for name, value in event.as_dict().items()}
    item["payload"] = {"S": "x" * EVENT_PAYLOAD}
    item["pk"] = {"S": key["pk"]}
    item["sk"] = {"S": key["sk"]}
    return item


HOT_KEY_HINT = (
    "A partition key value lives in one partition, and a partition serves at most its share of "
    "the table's capacity (never more than 1,000 WCU a second), however much the table has. A "
    "key that many events share (a store, a customer, a day, an event type) sends them all to "
    "one partition, which throttles while the others idle. Use a partition key with many values "
    "that spread the writes evenly, such as the order id, and put what orders the events (the "
    "time) in the sort key."
)
COLLISION_HINT = (
    "An item's primary key is its partition key and sort key together: a second item with the "
    "same pair replaces the first (PutItem overwrites). Make the pair unique per event: for "
    "example the order id as partition key and the event's time (then its id) as sort key."
)
ORDER_HINT = (
    "Within a partition key value, Query returns items sorted by the sort key (as text for a "
    "string sort key). Put the event's time first in the sort key (`at` is ISO 8601, which "
    "sorts as text in time order), so an order's events come back in the order they happened."
)
COLLECTION_HINT = (
    "Items that share a partition key value form an item collection, and one Query reads it. "
    "Give every event of an order the same partition key (the order id, or something that "
    "contains it), and tell its events apart with the sort key."
)


def check_event_key(ctx: CheckContext) -> None:
    """``event_key(event)`` keeps every event, lets one Query read an order's events in time
    order, and spreads a skewed workload so that no write throttles."""
    event_key = ctx.function("event_key")
    workload = OrderEvents(EVENTS_RATE, EVENTS_SECONDS)
    keys: dict[str, dict[str, str]] = {}
    for event in workload.events:
        got = ctx.call(event_key, event.as_dict())
        problem, hint = _key_problem(got)
        if problem:
            ctx.fail(f"`event_key` returned {problem} for {short(event.as_dict(), 90)}.", hint=hint)
        keys[event.event_id] = {"pk": str(got["pk"]), "sk": str(got["sk"])}

    # Two events with one primary key: the second write replaces the first.
    seen: dict[tuple[str, str], OrderEvent] = {}
    for event in workload.events:
        pair = (keys[event.event_id]["pk"], keys[event.event_id]["sk"])
        if pair in seen:
            first = seen[pair]
            lost = len(workload.events) - len({(k["pk"], k["sk"]) for k in keys.values()})
            ctx.fail(
                f"{first.event_id} ({first.order_id} {first.type}) and {event.event_id} "
                f"({event.order_id} {event.type}) both got pk={pair[0]!r}, sk={pair[1]!r}: the "
                f"second write overwrote the first, and {lost:,} of {len(workload.events):,} "
                "events would be lost that way.",
                hint=COLLISION_HINT,
            )
        seen[pair] = event

    dynamodb = ctx.client("dynamodb")
    events_table(dynamodb)
    start = ctx.clock.timestamp
    throttled: Counter[str] = Counter()
    written: Counter[str] = Counter()
    first_throttle: float | None = None
    for second, group in workload.by_second():
        ctx.clock.advance_to(start + second)
        items = [_item(e, keys[e.event_id]) for e in group]
        written.update(i["pk"]["S"] for i in items)
        refused, error = _write_second(dynamodb, items)
        if error is not None:
            message = error.response.get("Error", {})
            ctx.fail(
                f"DynamoDB refused the events' keys (the first was "
                f"{short(keys[workload.events[0].event_id])}): {message.get('Code')}: "
                f"{message.get('Message')}",
                hint="Keep keys short strings: the order id and the event's time are enough.",
            )
        if refused and first_throttle is None:
            first_throttle = float(second)
        throttled.update(i["pk"]["S"] for i in refused)
    if throttled:
        total = sum(written.values())
        hot, hot_writes = written.most_common(1)[0]
        count = partitions()
        on_hot = sum(n for key, n in written.items() if partition_of(key) == partition_of(hot))
        distinct = len(written)
        ctx.fail(
            f"{sum(throttled.values()):,} of {total:,} writes were throttled (the first in second "
            f"{first_throttle:g}), although the table has {EVENTS_WCU:,} WCU and the workload "
            f"needs about {EVENTS_RATE * EVENT_WCU:,} a second. The partition key {hot!r} took "
            f"{hot_writes / total:.0%} of the writes; its partition (partition "
            f"{partition_of(hot)} of {count}) took {on_hot / total:.0%} of them, but serves at "
            f"most {EVENTS_WCU / count:,.0f} WCU a second, 1/{count} of the table's. "
            f"{distinct:,} distinct partition key value{'s' if distinct != 1 else ''} in all.",
            hint=HOT_KEY_HINT,
        )
    _expect_queries(ctx, dynamodb, workload, keys)


def _query_collection(ctx: CheckContext, dynamodb: Any, pk: str) -> list[tuple[str, str]]:
    """``(event_id, order_id)`` of every item a Query on ``pk`` returns, in its order (waiting
    on the lab clock when the check's own reads throttle)."""
    got: list[tuple[str, str]] = []
    page: dict[str, Any] = {}
    while True:
        try:
            response = dynamodb.query(
                TableName=EVENTS_TABLE,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": pk}},
                ProjectionExpression="order_id, event_id",
                **page,
            )
        except ClientError as exc:
            if (
                exc.response.get("Error", {}).get("Code")
                != "ProvisionedThroughputExceededException"
            ):
                raise
            ctx.clock.advance(1)
            continue
        got += [(i["event_id"]["S"], i["order_id"]["S"]) for i in response["Items"]]
        if "LastEvaluatedKey" not in response:
            return got
        page = {"ExclusiveStartKey": response["LastEvaluatedKey"]}


def _expect_queries(
    ctx: CheckContext,
    dynamodb: Any,
    workload: OrderEvents,
    keys: dict[str, dict[str, str]],
) -> None:
    """A Query on each sampled order's partition key returns its events, in time order."""
    orders = [events for events in workload.orders().values() if len(events) >= 3]
    collections: dict[str, list[tuple[str, str]]] = {}
    step = max(1, len(orders) // SAMPLE_ORDERS)
    for events in orders[::step][:SAMPLE_ORDERS]:
        order_id = events[0].order_id
        pks = {keys[e.event_id]["pk"] for e in events}
        if len(pks) > 1:
            ctx.fail(
                f"The {len(events)} events of {order_id} got {len(pks)} different partition "
                f"keys ({', '.join(repr(p) for p in sorted(pks)[:3])}), so no single Query "
                "returns them.",
                hint=COLLECTION_HINT,
            )
        pk = pks.pop()
        if pk not in collections:
            collections[pk] = _query_collection(ctx, dynamodb, pk)
        got = [event_id for event_id, order in collections[pk] if order == order_id]
        wanted = [e.event_id for e in events]
        if sorted(got) != sorted(wanted):
            ctx.fail(
                f"A Query on pk={pk!r} returned {len(got)} of the {len(wanted)} events of "
                f"{order_id}.",
                hint=COLLECTION_HINT,
            )
        if got != wanted:
            by_id = {e.event_id: e for e in events}
            came = ", ".join(by_id[i].type for i in got)
            ctx.fail(
                f"A Query on pk={pk!r} returned the events of {order_id} in the order {came} "
                f"(sort keys {', '.join(repr(keys[i]['sk']) for i in got[:4])}), not in the "
                f"order they happened ({', '.join(e.type for e in events)}).",
                hint=ORDER_HINT,
            )
