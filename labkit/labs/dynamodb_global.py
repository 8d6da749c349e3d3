"""The DynamoDB lab's ``global_table`` check: a global table that keeps serving when a Region fails.

The learner writes ``make_global(dynamodb, table_name, replica_region)`` (turn the table into a
global table with a replica in ``replica_region``) and a read/write path that takes one boto3
DynamoDB resource per Region, in order of preference: ``put_order(regions, order)`` and
``get_order(regions, order_id)``, where ``regions`` is a dict from Region name to resource. In a
world of its own the check creates the table ``orders`` in the home Region, calls
``make_global``, writes orders through the learner's path, lets replication catch up on the lab
clock, then fails the home Region with :func:`labkit.edge.fail_region` and asks:

- every order written before the failure can be read (from the surviving replica);
- an order written during the outage is stored, and can be read back;
- the replica is a real replica (version 2019.11.21: ``describe_table`` lists it), not a table
  of the same name that nothing copies to.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from labkit import edge
from labkit.grading.checks import CheckContext, CheckFailed, short

GLOBAL_TABLE = "orders"
HOME_REGION = "us-east-1"
REPLICA_REGION = "eu-west-1"
#: Orders written before the Region fails.
ORDERS_BEFORE = 12
#: Lab seconds the check waits after the last write before failing the Region: far more than
#: replication's lag ("usually within a second").
SETTLE = 30


def _regions(ctx: CheckContext) -> dict[str, Any]:
    return {r: ctx.resource("dynamodb", region_name=r) for r in (HOME_REGION, REPLICA_REGION)}


def _replicas(client: Any) -> list[str]:
    try:
        table = client.describe_table(TableName=GLOBAL_TABLE)["Table"]
    except ClientError:
        return []
    return [str(r.get("RegionName")) for r in table.get("Replicas", [])]


def _order(number: int) -> dict[str, Any]:
    return {"order_id": f"order-{number:03d}", "customer": f"cust-{number % 5}", "total": number}


NO_REPLICA_HINT = (
    "Add a replica to the table itself (global tables version 2019.11.21): "
    "`client.update_table(TableName=table_name, ReplicaUpdates=[{'Create': {'RegionName': "
    "replica_region}}])`. DynamoDB then creates the table in that Region, copies its items, and "
    "replicates every write both ways. A table created separately in the other Region (same name "
    "or not) is not a replica: nothing is copied to it."
)
FAILOVER_HINT = (
    "When a Region's endpoint does not answer, boto3 raises botocore's EndpointConnectionError "
    "(not a ClientError: there is no answer to read). Try the Regions in order: catch it "
    "(`from botocore.exceptions import EndpointConnectionError`, or BotoCoreError) and use the "
    "next Region's resource. A global table's replicas all accept reads and writes."
)


def _call(ctx: CheckContext, fn: Any, *args: Any, what: str, replicas: list[str]) -> Any:
    try:
        return ctx.call(fn, *args)
    except CheckFailed as failure:
        cause = failure.__cause__
        code = cause.response.get("Error", {}).get("Code") if isinstance(cause, ClientError) else ""
        if code == "ResourceNotFoundException" and REPLICA_REGION not in replicas:
            ctx.fail(
                f"With {HOME_REGION} down, {what} found no `{GLOBAL_TABLE}` table in "
                f"{REPLICA_REGION}: the table has no replica there.",
                hint=NO_REPLICA_HINT,
            )
        if cause is not None and type(cause).__name__ in (
            "EndpointConnectionError",
            "ConnectTimeoutError",
        ):
            ctx.fail(
                f"With {HOME_REGION} down, {what} raised {type(cause).__name__}: {cause}",
                hint=FAILOVER_HINT,
            )
        raise


def check_global_table(ctx: CheckContext) -> None:
    """The table has a replica, and the learner's path serves reads and writes from it while
    the home Region is down."""
    make_global = ctx.function("make_global")
    put_order = ctx.function("put_order")
    get_order = ctx.function("get_order")
    regions = _regions(ctx)
    home = regions[HOME_REGION]
    home.create_table(
        TableName=GLOBAL_TABLE,
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ctx.call(make_global, home, GLOBAL_TABLE, REPLICA_REGION)
    ctx.clock.advance(SETTLE)
    for number in range(ORDERS_BEFORE):
        ctx.call(put_order, dict(regions), _order(number))
        ctx.clock.advance(1)
    ctx.clock.advance(SETTLE)
    replicas = _replicas(home.meta.client)
    try:
        edge.fail_region(HOME_REGION)
        missing = []
        for number in range(ORDERS_BEFORE):
            wanted = _order(number)
            got = _call(
                ctx,
                get_order,
                dict(regions),
                wanted["order_id"],
                what=f"`get_order(regions, {wanted['order_id']!r})`",
                replicas=replicas,
            )
            if got is not None and not isinstance(got, dict):
                ctx.fail(
                    f"`get_order` returned {short(got)}, not the order (a dict) or None.",
                    hint="Return the item (`response.get('Item')`), not the whole response.",
                )
            if not got or got.get("order_id") != wanted["order_id"]:
                missing.append(wanted["order_id"])
        if missing:
            there = REPLICA_REGION in replicas
            ctx.fail(
                f"With {HOME_REGION} down, {len(missing)} of the {ORDERS_BEFORE} orders written "
                f"before the failure could not be read ({missing[0]} for one). The table's "
                + (
                    f"replicas: {', '.join(replicas)}."
                    if replicas
                    else f"description in {HOME_REGION} lists no replica."
                ),
                hint=FAILOVER_HINT if there else NO_REPLICA_HINT,
            )
        during = _order(ORDERS_BEFORE)
        _call(
            ctx,
            put_order,
            dict(regions),
            during,
            what="`put_order(regions, ...)`",
            replicas=replicas,
        )
        ctx.clock.advance(1)
        got = _call(
            ctx,
            get_order,
            dict(regions),
            during["order_id"],
            what="`get_order(regions, ...)`",
            replicas=replicas,
        )
        if not isinstance(got, dict) or got.get("order_id") != during["order_id"]:
            ctx.fail(
                f"With {HOME_REGION} down, an order written with `put_order` could not be read "
                f"back (`get_order` returned {short(got)}).",
                hint=FAILOVER_HINT,
            )
    finally:
        edge.restore_region(HOME_REGION)
