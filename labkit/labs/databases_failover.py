"""The databases lab's ``failover`` check: an order writer that survives a Multi-AZ failover
without losing (or doubling) a committed order.

The learner writes ``save_order(connect, clock, order)``: ``connect()`` opens a new DB-API
connection to the instance's endpoint (it raises while the endpoint does not answer), ``clock``
is the lab clock (wait with ``clock.advance(seconds)``: nothing sleeps), ``order`` a dict with
``order_id``, ``customer`` and ``total_cents``. The table ``orders (order_id TEXT PRIMARY KEY,
customer TEXT, total_cents INTEGER)`` exists. ``save_order`` returns once the order is committed.

In a world of its own the check creates the Multi-AZ instance ``orders-db`` and saves orders
through ``save_order``; twice, a forced failover (``RebootDBInstance(ForceFailover=True)``)
strikes in the middle of a save, as one does on AWS
(https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.MultiAZ.Failover.html): open
connections drop at once and the endpoint refuses new ones for ``rds.multi_az_failover_seconds``
of lab time.

- the first strikes **just after** the server committed, before the client heard so: the commit
  raises, though the order is in; a retry must not fail on, or double, it;
- the second strikes **before** the commit: the transaction is rolled back, and only a retry
  that runs it again on a new connection saves the order.

Afterwards every order is in the table exactly once, with its total. ``save_order`` may not
spin: more than :data:`MAX_TRIES_PER_SECOND` connection attempts in one lab second, or more than
:data:`MAX_WAIT` seconds of lab time on one order, and the check gives up.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from labkit import facts
from labkit.grading.checks import CheckContext, CheckFailed, short
from labkit.labs.databases_support import (
    CountingConnection,
    Opened,
    create_postgres,
    execute,
    raw_connect,
    rows,
)

INSTANCE = "orders-db"
ORDERS = tuple(
    {"order_id": f"o-{n}", "customer": customer, "total_cents": 1000 + 111 * n}
    for n, customer in enumerate(("ana", "ben", "cai", "ana", "dan", "ben", "eve"), start=1)
)
#: The order whose save meets the first failover (after the commit), and the second (before).
AFTER_COMMIT, BEFORE_COMMIT = 3, 5
MAX_TRIES_PER_SECOND = 50
MAX_WAIT = 900.0

RETRY_HINT = (
    "A failover drops every open connection and the endpoint refuses new ones until it "
    "completes (up to two minutes): catch the driver's error (`pg8000.InterfaceError`, "
    "`pg8000.DatabaseError`, and a socket's `ConnectionResetError`, which pg8000 can let "
    "through), wait (`clock.advance(5)`), open a **new** connection with "
    "`connect()`, and run the whole transaction again."
)
IDEMPOTENT_HINT = (
    "The connection can drop after the server committed but before your code heard it: the "
    "retry then finds the order already there. Make the write idempotent: `INSERT ... ON "
    "CONFLICT (order_id) DO NOTHING`, or treat a duplicate key on retry as done."
)


class _GiveUp(BaseException):
    """Raised through the learner's code to stop a retry loop that would never end."""


def check_failover(ctx: CheckContext) -> None:
    """Every order committed exactly once through two failovers."""
    with Opened() as opened:
        _check(ctx, opened)


def _check(ctx: CheckContext, opened: Opened) -> None:
    save_order = ctx.function("save_order")
    rds = ctx.client("rds")
    instance = create_postgres(ctx, INSTANCE, MultiAZ=True)
    admin = opened.add(raw_connect(instance))
    execute(
        admin,
        "CREATE TABLE orders (order_id TEXT PRIMARY KEY, customer TEXT NOT NULL, "
        "total_cents INTEGER NOT NULL)",
    )
    admin.close()
    outage = float(facts.value("rds.multi_az_failover_seconds"))
    state: dict[str, Any] = {"armed": None, "tries": Counter(), "started": 0.0, "opened": 0}

    def failover() -> None:
        state["armed"] = None
        rds.reboot_db_instance(DBInstanceIdentifier=INSTANCE, ForceFailover=True)

    def before_commit() -> None:
        if state["armed"] == "before":
            failover()  # the session ends: the commit below meets a dead connection

    def after_commit() -> None:
        if state["armed"] == "after":
            failover()
            import pg8000

            # The server committed; the acknowledgement never reached the client.
            raise pg8000.InterfaceError("network error: the connection was closed by the server")

    def connect() -> Any:
        now = ctx.clock.timestamp
        state["tries"][now] += 1
        if state["tries"][now] > MAX_TRIES_PER_SECOND:
            raise _GiveUp(
                f"`save_order` called `connect()` {MAX_TRIES_PER_SECOND} times within one "
                "second of lab time while the endpoint was failing over."
            )
        if now - state["started"] > MAX_WAIT:
            raise _GiveUp(
                f"`save_order` was still trying after {MAX_WAIT:.0f} s of lab time; the "
                f"failover takes {outage:.0f} s."
            )
        state["opened"] += 1
        return CountingConnection(
            opened.add(raw_connect(instance)),
            "primary",
            before_commit=before_commit,
            after_commit=after_commit,
        )

    def save(order: dict[str, Any], arm: str | None) -> None:
        state["armed"], state["started"] = arm, ctx.clock.timestamp
        try:
            ctx.call(save_order, connect, ctx.clock, dict(order))
        except CheckFailed as failed:
            # The learner's own exception: say which half of a retry it lacks.
            failed.hint = IDEMPOTENT_HINT if "duplicate key" in failed.message else RETRY_HINT
            raise
        except _GiveUp as give_up:
            ctx.fail(
                str(give_up),
                hint="Wait between tries on the lab clock (`clock.advance(5)`), and open a new "
                "connection each time: a dropped connection never comes back."
                if "times within" in str(give_up)
                else RETRY_HINT,
            )
        if state["armed"] is not None:
            ctx.fail(
                f"`save_order({order['order_id']!r})` returned without committing anything "
                "(the check plays its failover at the commit).",
                hint="Commit the order (`conn.commit()`) before returning.",
            )

    for number, order in enumerate(ORDERS, start=1):
        arm = "after" if number == AFTER_COMMIT else "before" if number == BEFORE_COMMIT else None
        save(order, arm)
        ctx.clock.advance(1)
    ctx.clock.advance(outage)
    check = opened.add(raw_connect(instance))
    found = Counter(
        {r[0]: r[1] for r in rows(check, "SELECT order_id, COUNT(*) FROM orders GROUP BY 1")}
    )
    totals = dict(rows(check, "SELECT order_id, total_cents FROM orders"))
    check.close()
    for number, order in enumerate(ORDERS, start=1):
        oid = order["order_id"]
        if found[oid] == 0:
            ctx.fail(
                f"Order {oid} is not in the table: `save_order` returned, but its transaction "
                "was never committed"
                + (" (the failover struck before its commit)." if number == BEFORE_COMMIT else "."),
                hint=RETRY_HINT,
            )
        if totals.get(oid) != order["total_cents"]:
            ctx.fail(
                f"Order {oid} has total {short(totals.get(oid))}, not {order['total_cents']}.",
                hint="Store the order's `total_cents` as given.",
            )
    extra = sorted(set(totals) - {o["order_id"] for o in ORDERS})
    if extra:
        ctx.fail(
            f"The table holds orders the check never saved: {extra[:5]}.",
            hint="Write the `order_id` you are given as the row's key.",
        )
