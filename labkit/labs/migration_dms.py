"""The migration lab's ``cut_over`` check: a DMS task that moves a table and keeps it in step.

The learner writes ``migrate_orders(dms, source)``: ``source`` holds what a DMS source endpoint
needs (``ServerName``, ``Port``, ``Username``, ``Password``, ``DatabaseName``) for an RDS for
PostgreSQL database whose table ``public.orders`` the shop still writes to. The function moves
that table into DynamoDB with DMS and keeps replicating every change until the cut-over.

The check makes the database (a real PostgreSQL behind an RDS endpoint, as in the databases
lab) with :data:`ROWS` orders, calls the function, then writes to the source as the shop keeps
doing after the load: inserts, updates and deletes. It lets a minute of lab time pass (DMS
commits changes to DynamoDB within ``dms.commit_timeout``) and compares the DynamoDB table with
the source row by row, column by column. On a difference it says what the task did (never
started, failed and why, stopped after the full load, started with CDC only, a table or column
mapped away) from DMS's own answers (``DescribeReplicationTasks``, ``DescribeEndpoints``). Any
way to the same data passes: all tables or only ``orders`` selected, the table or its columns
renamed, a replication instance of any class, the endpoint's settings one by one or as the dict.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from labkit.grading.checks import CheckContext
from labkit.labs.databases_support import MASTER_PASSWORD, MASTER_USER, Opened, create_postgres

ROWS = 40
INSERTS = (101, 102, 103)
UPDATES = (2, 7)
DELETES = (5, 9)
COLUMNS = ("id", "customer", "status", "total_cents")

TYPE_HINT = (
    "MigrationType 'full-load-and-cdc': DMS copies the table as it is (the full load), then "
    "applies every insert, update and delete made at the source until you stop the task at "
    "cut-over. 'full-load' stops after the copy; 'cdc' copies only what changes after it starts."
)
START_HINT = (
    "Creating a replication task does not run it: start it with start_replication_task("
    "ReplicationTaskArn=..., StartReplicationTaskType='start-replication')."
)
MAPPING_HINT = (
    "TableMappings is JSON with a selection rule that includes the table: {'rules': [{"
    "'rule-type': 'selection', 'rule-id': '1', 'rule-name': 'orders', 'object-locator': "
    "{'schema-name': 'public', 'table-name': 'orders'}, 'rule-action': 'include'}]}; a "
    "transformation that removes a column loses that column's data."
)
TARGET_HINT = (
    "The target endpoint is DynamoDB: create_endpoint(EndpointType='target', "
    "EngineName='dynamodb', ...). DMS makes a table per source table, keyed by its primary key."
)


def _seed(conn: Any) -> None:
    cur = conn.cursor()
    cur.execute(
        "CREATE TABLE orders (id int PRIMARY KEY, customer text NOT NULL, status text NOT NULL, "
        "total_cents int NOT NULL)"
    )
    cur.execute(
        "INSERT INTO orders SELECT g, 'customer-' || mod(g, 7), 'paid', g * 125 "
        "FROM generate_series(1, %s) g",
        (ROWS,),
    )
    cur.execute("CREATE TABLE carts (id int PRIMARY KEY, items int)")
    cur.execute("INSERT INTO carts VALUES (1, 3)")
    conn.commit()


def _write_after_load(conn: Any) -> None:
    cur = conn.cursor()
    for i in INSERTS:
        cur.execute("INSERT INTO orders VALUES (%s, %s, 'paid', %s)", (i, f"late-{i}", i * 99))
    for i in UPDATES:
        cur.execute("UPDATE orders SET status = 'refunded', total_cents = 0 WHERE id = %s", (i,))
    for i in DELETES:
        cur.execute("DELETE FROM orders WHERE id = %s", (i,))
    conn.commit()


def _source_rows(conn: Any) -> dict[str, dict[str, str]]:
    cur = conn.cursor()
    cur.execute(f"SELECT {', '.join(COLUMNS)} FROM orders")
    rows = {str(r[0]): {c: str(v) for c, v in zip(COLUMNS, r, strict=True)} for r in cur.fetchall()}
    conn.commit()
    return rows


def _plain(value: Any) -> str:
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return str(int(value))
    return str(value)


def _target_rows(ctx: CheckContext) -> tuple[str, dict[str, dict[str, str]]]:
    """The DynamoDB table the orders went to (``""`` when none) and its items by id."""
    ddb = ctx.resource("dynamodb")
    names = [t.name for t in ddb.tables.all()]
    name = "orders" if "orders" in names else next((n for n in names if "order" in n), "")
    if not name:
        return "", {}
    items = []
    table = ddb.Table(name)
    answer = table.scan()
    items += answer["Items"]
    while "LastEvaluatedKey" in answer:
        answer = table.scan(ExclusiveStartKey=answer["LastEvaluatedKey"])
        items += answer["Items"]
    rows = {_plain(i.get("id")): {k: _plain(v) for k, v in i.items()} for i in items}
    return name, rows


def _tasks(ctx: CheckContext) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ctx.client("dms").describe_replication_tasks()["ReplicationTasks"]
    return found


def _explain(ctx: CheckContext, tasks: list[dict[str, Any]]) -> None:
    """Fail with what the learner's task did, when that alone says why the data differ."""
    if not tasks:
        ctx.fail("`migrate_orders` made no DMS replication task.", hint=TYPE_HINT)
    dms = ctx.client("dms")
    for task in tasks:
        name, status = task["ReplicationTaskIdentifier"], task["Status"]
        kind = task["MigrationType"]
        if status == "ready":
            ctx.fail(
                f"The replication task `{name}` was never started (status ready).", hint=START_HINT
            )
        if status == "failed":
            ctx.fail(
                f"The replication task `{name}` failed: {task.get('LastFailureMessage', '')}",
                hint="The source endpoint takes the database's ServerName, Port, Username, "
                "Password and DatabaseName as given in `source`; EngineName 'postgres'.",
            )
        endpoints = dms.describe_endpoints(
            Filters=[{"Name": "endpoint-arn", "Values": [task["TargetEndpointArn"]]}]
        )["Endpoints"]
        engine = endpoints[0]["EngineName"] if endpoints else "?"
        if engine != "dynamodb":
            ctx.fail(
                f"The replication task `{name}` writes to {engine}, not DynamoDB.", hint=TARGET_HINT
            )
        if kind == "full-load":
            ctx.fail(
                f"The replication task `{name}` is {kind}: it copied the table and stopped "
                f"({task.get('StopReason', status)}), so the {len(INSERTS)} inserts, "
                f"{len(UPDATES)} updates and {len(DELETES)} deletes made after the load never "
                "reached DynamoDB.",
                hint=TYPE_HINT,
            )
        if kind == "cdc":
            ctx.fail(
                f"The replication task `{name}` is {kind}: it replicates changes from its start "
                f"on, so the {ROWS} orders already in the table were never copied.",
                hint=TYPE_HINT,
            )
        if status == "stopped":
            ctx.fail(
                f"The replication task `{name}` was stopped ({task.get('StopReason', '')}) "
                "before the cut-over: changes made since wait at the source.",
                hint="Keep the task running until the cut-over; stopping it is the cut-over.",
            )


def _fail(ctx: CheckContext, message: str, hint: str = "") -> None:
    _explain(ctx, _tasks(ctx))
    ctx.fail(message, hint=hint or TYPE_HINT)


def check_cut_over(ctx: CheckContext) -> None:
    """After a full load and the shop's changes since, DynamoDB holds what PostgreSQL holds."""
    migrate = ctx.function("migrate_orders")
    instance = create_postgres(ctx, "legacy-shop")
    endpoint = instance["Endpoint"]
    source = {
        "ServerName": endpoint["Address"],
        "Port": endpoint["Port"],
        "Username": MASTER_USER,
        "Password": MASTER_PASSWORD,
        "DatabaseName": "shop",
    }
    from labkit.labs.databases_support import raw_connect

    with Opened() as opened:
        conn = opened.add(raw_connect(instance))
        _seed(conn)
        ctx.call(migrate, ctx.client("dms"), dict(source))
        ctx.clock.advance(5)
        _write_after_load(conn)
        ctx.clock.advance(60)
        want = _source_rows(conn)
    name, got = _target_rows(ctx)
    if not name:
        _fail(ctx, "No DynamoDB table holds the orders after the migration.", MAPPING_HINT)
    missing = sorted(set(want) - set(got), key=int)
    extra = sorted(set(got) - set(want), key=lambda k: (len(k), k))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"{len(missing)} orders are missing (ids {', '.join(missing[:5])})")
        if extra:
            parts.append(
                f"{len(extra)} deleted at the source are still there ({', '.join(extra[:5])})"
            )
        _fail(
            ctx,
            f"DynamoDB table `{name}` holds {len(got)} orders, the source {len(want)}: "
            + "; ".join(parts)
            + ".",
        )
    differ = []
    for key, row in sorted(want.items(), key=lambda kv: int(kv[0])):
        if sorted(got[key].values()) == sorted(row.values()):
            continue  # every value there, a column renamed by a transformation rule at most
        for column, value in row.items():
            if got[key].get(column) != value:
                differ.append(f"order {key} {column}: {got[key].get(column, 'absent')} vs {value}")
    if differ:
        _fail(
            ctx,
            f"{len(differ)} values in DynamoDB table `{name}` differ from the source: "
            + "; ".join(differ[:3])
            + ".",
            MAPPING_HINT,
        )
