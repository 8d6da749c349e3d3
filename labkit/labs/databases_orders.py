"""The databases lab's ``orders_replica`` check: an order schema on RDS, with a read replica that
serves the reports and never serves a user their own order stale.

The learner writes four functions; every connection is a DB-API connection (pg8000) to a real
PostgreSQL behind an RDS endpoint:

- ``create_schema(conn)``: the tables, on the primary;
- ``place_order(conn, customer, items)``: one order (``items`` is a list of ``{"sku", "qty",
  "price_cents"}``) in one transaction; returns the order's id (any value);
- ``my_orders(primary, replica, customer)``: the ids of the customer's orders, for the page the
  customer sees right after ordering;
- ``sales_report(primary, replica)``: revenue in cents by SKU (``{sku: cents}``), for the
  finance team, who must not load the primary.

In a world of its own the check creates the instance ``shop``, calls ``create_schema``, creates
the read replica ``shop-reports`` (lagging :data:`~labkit.services.rds.sim_backups.
DEFAULT_REPLICA_LAG` seconds of lab time), places orders on the lab clock, and asks:

- right after ``ana`` places an order, ``my_orders`` lists it, with her earlier ones and none of
  anyone else's (a replica would still miss it);
- once the replica has caught up, ``sales_report`` returns each SKU's revenue (quantity times
  price, over every order) and runs no statement on the primary.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from labkit.grading.checks import CheckContext, short
from labkit.labs.databases_support import (
    CountingConnection,
    Opened,
    create_postgres,
    raw_connect,
)

PRIMARY = "shop"
REPLICA = "shop-reports"
#: Orders the check places first: (customer, [(sku, qty, price in cents)]).
ORDERS = (
    ("ana", [("book", 1, 1250), ("pen", 3, 199)]),
    ("ben", [("lamp", 1, 3999)]),
    ("ana", [("pen", 10, 199)]),
    ("cai", [("book", 2, 1250), ("lamp", 1, 3999)]),
    ("ben", [("mug", 4, 850)]),
)
LATE = ("ana", [("mug", 1, 850), ("book", 1, 1250)])


def _lag() -> float:
    from labkit.services.rds.sim_backups import DEFAULT_REPLICA_LAG

    return DEFAULT_REPLICA_LAG


def _items(spec: list[tuple[str, int, int]]) -> list[dict[str, Any]]:
    return [{"sku": sku, "qty": qty, "price_cents": price} for sku, qty, price in spec]


def _ids(ctx: CheckContext, got: Any) -> list[str]:
    if got is None or isinstance(got, (str, bytes)) or not hasattr(got, "__iter__"):
        ctx.fail(
            f"`my_orders` returned {short(got)}, not a list of order ids.",
            hint="Return the ids `place_order` returned for the customer's orders, e.g. "
            "`[row[0] for row in cursor.fetchall()]`.",
        )
    return [str(i[0] if isinstance(i, (tuple, list)) and len(i) == 1 else i) for i in got]


def _cents(value: Any) -> int | None:
    try:
        return int(Decimal(str(value)))
    except Exception:  # a learner's value of any type
        return None


def check_orders_replica(ctx: CheckContext) -> None:
    """The user's page reads fresh from the primary; the report reads the replica."""
    with Opened() as opened:
        _check(ctx, opened)


def _check(ctx: CheckContext, opened: Opened) -> None:
    create_schema = ctx.function("create_schema")
    place_order = ctx.function("place_order")
    my_orders = ctx.function("my_orders")
    sales_report = ctx.function("sales_report")
    rds = ctx.client("rds")
    instance = create_postgres(ctx, PRIMARY, BackupRetentionPeriod=1)
    primary = CountingConnection(opened.add(raw_connect(instance)), "primary")
    ctx.call(create_schema, primary)
    primary.commit()  # a schema left uncommitted would not reach the replica
    info = rds.create_db_instance_read_replica(
        DBInstanceIdentifier=REPLICA, SourceDBInstanceIdentifier=PRIMARY
    )["DBInstance"]
    replica = CountingConnection(opened.add(raw_connect(info)), "replica")
    placed: dict[str, list[str]] = {}
    revenue: Counter[str] = Counter()
    for customer, spec in ORDERS:
        order_id = ctx.call(place_order, primary, customer, _items(spec))
        if order_id is None:
            ctx.fail(
                "`place_order` returned None, not the new order's id.",
                hint="Return the order's id, e.g. with `INSERT ... RETURNING id`.",
            )
        placed.setdefault(customer, []).append(str(order_id))
        for sku, qty, price in spec:
            revenue[sku] += qty * price
    ctx.clock.advance(_lag() + 1)  # the replica has every order so far

    customer, spec = LATE
    new_id = str(ctx.call(place_order, primary, customer, _items(spec)))
    placed[customer].append(new_id)
    for sku, qty, price in spec:
        revenue[sku] += qty * price
    got = _ids(ctx, ctx.call(my_orders, primary, replica, customer))
    if new_id not in got:
        stale = set(got) == set(placed[customer][:-1])
        ctx.fail(
            f"Right after {customer} placed order {new_id}, `my_orders` returned {short(got)}"
            + (
                ": every order but the new one, as the replica has them "
                f"(it lags {_lag():g} s of lab time behind the primary)."
                if stale
                else f"; her orders are {placed[customer]}."
            ),
            hint="A read replica is asynchronous: a read right after a write can return the old "
            "data. Read a user's own orders from the primary (or wait until the replica has "
            "replayed past the write); send only reports to the replica."
            if stale
            else "Select the customer's orders (all of them) and return their ids.",
        )
    if sorted(got) != sorted(placed[customer]):
        ctx.fail(
            f"`my_orders(..., {customer!r})` returned {short(got, 120)}; her orders are "
            f"{placed[customer]}.",
            hint="Return the ids of every order of this customer, and no one else's.",
        )
    other = _ids(ctx, ctx.call(my_orders, primary, replica, "ben"))
    if sorted(other) != sorted(placed["ben"]):
        ctx.fail(
            f"`my_orders(..., 'ben')` returned {short(other, 120)}; his orders are "
            f"{placed['ben']}.",
            hint="Filter by the customer: `WHERE customer = %s`.",
        )

    ctx.clock.advance(_lag() + 1)  # the report may read the replica: it has caught up
    before = len(primary.statements), len(replica.statements)
    report = ctx.call(sales_report, primary, replica)
    on_primary = primary.statements[before[0] :]
    if on_primary:
        ctx.fail(
            f"`sales_report` ran {len(on_primary)} statement(s) on the primary, e.g. "
            f"{short(on_primary[0], 80)}.",
            hint="Reports go to the read replica (`replica`): that is what it is for, and the "
            "primary keeps its capacity for orders. A report may be a few seconds old.",
        )
    if len(replica.statements) == before[1]:
        ctx.fail(
            "`sales_report` ran no statement on the replica.",
            hint="Query the replica: `replica.cursor().execute(...)`, then return the totals.",
        )
    if not isinstance(report, dict):
        ctx.fail(
            f"`sales_report` returned {short(report)}, not a dict of revenue by SKU.",
            hint="Return `{sku: revenue_in_cents}`, e.g. `dict(cursor.fetchall())`.",
        )
    found = {str(k): _cents(v) for k, v in report.items()}
    if found != dict(revenue):
        wrong = sorted(sku for sku in set(found) | set(revenue) if found.get(sku) != revenue[sku])
        counts = Counter[str]()
        for _, spec_ in ORDERS:
            for sku, _qty, price in spec_:
                counts[sku] += price
        for sku, _qty, price in LATE[1]:
            counts[sku] += price
        unmultiplied = all(found.get(sku) == counts[sku] for sku in revenue)
        ctx.fail(
            f"`sales_report` returned {short(report, 160)}; each SKU's revenue is "
            f"{dict(revenue)} (wrong for {', '.join(wrong)}).",
            hint="Revenue is quantity times price: `SUM(qty * price_cents)`."
            if unmultiplied
            else "Sum quantity times price over every order line, grouped by SKU; were all "
            "the orders committed (`conn.commit()` in `place_order`)?",
        )
