"""The analytics lab's lake checks: the raw table, the Glue job, queries on a budget, the dashboard.

Each check builds a lake of its own (its own seed and days, see :mod:`.analytics_support`) in an
empty world and asks the learner's functions about it:

- ``raw_table``: ``catalog_raw(glue, athena)`` makes ``raw.orders`` over the raw JSON with every
  day's partition; ``orders_per_day(athena)`` answers with Athena: distinct orders per day;
- ``etl_job``: ``create_etl_job(glue, s3)`` makes a Glue job the check runs twice, with a new day
  of raw files in between: the second run processes only the new files; both write Hive
  partitioned (``dt=``), compressed Parquet under ``curated/orders/``;
- ``cost_budget``: ``revenue_on(athena, day)`` answers from ``curated.orders`` scanning at most
  :data:`BUDGET_SHARE` of the day's Parquet bytes (Athena bills what it scans,
  https://aws.amazon.com/athena/pricing/);
- ``dashboard``: ``daily_metrics(athena)`` returns each day's paid orders and revenue; the check
  adds a day of curated files (not in the catalog yet) and calls it again.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import duckdb

from labkit.grading.checks import CheckContext, CheckFailed, short
from labkit.labs import analytics_support as lake_data
from labkit.labs.analytics_support import (
    CURATED_DB,
    CURATED_PREFIX,
    CURATED_URL,
    LAKE,
    RAW_DB,
    RAW_URL,
    TABLE,
    Lake,
)

#: A query on a budget may scan at most this share of the bytes of the day's Parquet objects.
BUDGET_SHARE = 0.4
#: Lab seconds a check lets a crawl or a job run take (the sandbox models minutes at most).
RUN_WAIT = 900.0
CENT = 0.011


def _days(start: str, count: int) -> list[str]:
    days = [start]
    while len(days) < count:
        days.append(lake_data.next_day(days[-1]))
    return days


def _query_ids(ctx: CheckContext) -> list[str]:
    from labkit.services.athena.state import query_ids

    return query_ids(region=_region(ctx))


def _region(ctx: CheckContext) -> str:
    return str(getattr(ctx.sandbox, "region", "us-east-1"))


def _snapshots(ctx: CheckContext, ids: list[str]) -> list[dict[str, Any]]:
    from labkit.services.athena.state import query_snapshot

    found = []
    for qid in ids:
        snap = query_snapshot(qid, ctx.clock.timestamp, region=_region(ctx))
        if snap is not None:
            found.append(snap)
    return found


def _new_queries(ctx: CheckContext, before: list[str]) -> list[dict[str, Any]]:
    seen = set(before)
    return _snapshots(ctx, [q for q in _query_ids(ctx) if q not in seen])


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _by_day(ctx: CheckContext, answer: Any, name: str) -> dict[str, Any]:
    if not isinstance(answer, dict):
        ctx.fail(
            f"`{name}` returned a {type(answer).__name__} ({short(answer)}), not a dict by day.",
            hint="Return a dict whose keys are the days as 'YYYY-MM-DD' strings.",
        )
    return {str(k)[:10]: v for k, v in answer.items()}


def _partition_days(glue: Any, database: str) -> list[str]:
    try:
        pages = glue.get_paginator("get_partitions").paginate(
            DatabaseName=database, TableName=TABLE
        )
        return sorted(p["Values"][0] for page in pages for p in page["Partitions"])
    except glue.exceptions.EntityNotFoundException:
        return []


# -- task 1: the raw table and the questions -----------------------------------------------------
RAW_HINT = (
    "One table `raw.orders` whose location is the orders' prefix (s3://shop-lake/raw/orders/), "
    "partitioned by dt, with every day's partition: a crawler over that prefix (wait until it "
    "is READY again), or CREATE EXTERNAL TABLE ... PARTITIONED BY (dt string) then MSCK REPAIR "
    "TABLE. Count each order once: the ingest delivers some twice."
)


def check_raw_table(ctx: CheckContext) -> None:
    """``catalog_raw`` + ``orders_per_day`` answer distinct orders per day on the check's lake."""
    catalog_raw = ctx.function("catalog_raw")
    orders_per_day = ctx.function("orders_per_day")
    lake = lake_data.make_lake(1207, _days("2026-05-10", 4))
    s3, glue, athena = ctx.client("s3"), ctx.client("glue"), ctx.client("athena")
    lake_data.write_raw(s3, lake)
    ctx.call(catalog_raw, glue, athena)
    try:
        table = glue.get_table(DatabaseName=RAW_DB, Name=TABLE)["Table"]
    except (glue.exceptions.EntityNotFoundException, Exception) as err:
        names = _table_names(glue)
        ctx.fail(
            f"After `catalog_raw` there is no table `{RAW_DB}.{TABLE}` "
            f"({type(err).__name__}); the catalog holds: {', '.join(names) or 'no table'}.",
            hint="A crawler writes its tables when its crawl ends: wait in `catalog_raw` until "
            "get_crawler says READY again. " + RAW_HINT,
        )
    location = str(table.get("StorageDescriptor", {}).get("Location", ""))
    expected = lake.orders_per_day()
    before = _query_ids(ctx)
    try:
        returned = ctx.call(orders_per_day, athena)
    except CheckFailed as failed:
        _wrong_location(ctx, location, failed.message)
        raise
    answer = _by_day(ctx, returned, "orders_per_day")
    queries = _new_queries(ctx, before)
    got = {day: _number(v) for day, v in answer.items()}
    if got == {d: float(n) for d, n in expected.items()}:
        ctx.expect(
            any(q["state"] == "SUCCEEDED" for q in queries),
            "`orders_per_day` answered right without a query in Athena.",
            hint="Answer with Athena: start_query_execution, then read get_query_results.",
        )
        return
    _wrong_location(
        ctx,
        location,
        f"The answers were {_short_days(got)}, the lake's are {_short_days(expected)}.",
    )
    missing = [d for d in expected if d not in got]
    registered = _partition_days(glue, RAW_DB)
    unregistered = [d for d in lake.days if d not in registered]
    if missing and unregistered:
        ctx.fail(
            f"No answer for {', '.join(missing)}: those days are in S3 "
            f"({RAW_URL}dt=.../) but not partitions of `{RAW_DB}.{TABLE}`, so Athena reads "
            "none of their objects.",
            hint="Add every day's partition after the data is there: run a crawler over the "
            "prefix and wait until it is READY, or run MSCK REPAIR TABLE orders in Athena. "
            "Partitions written by hand for the days you saw miss the days to come.",
        )
    rows = {day: len(lake.rows(day)) for day in lake.days}
    if all(got.get(d) == float(rows[d]) for d in lake.days):
        day = lake.days[0]
        ctx.fail(
            f"`orders_per_day` counts every delivered row: {rows[day]:g} on {day}, where "
            f"{expected[day]} distinct orders were placed.",
            hint="The ingest delivers some orders twice (the same order_id in part-1.json): "
            "count(DISTINCT order_id), or deduplicate before counting.",
        )
    ctx.fail(
        f"`orders_per_day` answered {_short_days(got)}; the check's lake has "
        f"{_short_days(expected)} distinct orders per day.",
        hint=RAW_HINT,
    )


def _wrong_location(ctx: CheckContext, location: str, what: str) -> None:
    """Fail naming the table's location when it is not the orders' prefix."""
    if location.rstrip("/") + "/" == RAW_URL:
        return
    ctx.fail(
        f"`{RAW_DB}.{TABLE}` reads {location or 'no location'}, not the orders' prefix "
        f"{RAW_URL}. {what}",
        hint="A table reads every object under its location: give it exactly the prefix of "
        "the orders (s3://shop-lake/raw/orders/), not a folder above it (customers and "
        "rejected orders live beside it) nor one day below it.",
    )


def _short_days(values: dict[str, Any]) -> str:
    shown = ", ".join(f"{d}: {_fmt(v)}" for d, v in sorted(values.items()))
    return "{" + shown + "}"


def _fmt(value: Any) -> str:
    number = _number(value)
    if number is None:
        return repr(value)
    return f"{number:g}" if number == int(number) else f"{number:.2f}"


def _table_names(glue: Any) -> list[str]:
    names = []
    for db in glue.get_databases()["DatabaseList"]:
        for table in glue.get_tables(DatabaseName=db["Name"])["TableList"]:
            names.append(f"{db['Name']}.{table['Name']}")
    return names


# -- task 2: the Glue job -----------------------------------------------------------------------
ETL_HINT = (
    "A job whose script reads job.new_objects('s3://shop-lake/raw/orders/') (only new files "
    "with '--job-bookmark-option': 'job-bookmark-enable' in DefaultArguments) and calls "
    "job.write_parquet(..., 's3://shop-lake/curated/orders/', partition_by=['dt'], "
    "compression='snappy')."
)


def _run_job(ctx: CheckContext, glue: Any, name: str, which: str) -> dict[str, Any]:
    try:
        run_id = glue.start_job_run(JobName=name)["JobRunId"]
    except Exception as err:  # the learner's job may not exist or not start
        ctx.fail(f"The {which} run of job `{name}` did not start: {err}", hint=ETL_HINT)
    ctx.clock.advance(RUN_WAIT)
    run: dict[str, Any] = glue.get_job_run(JobName=name, RunId=run_id)["JobRun"]
    if run["JobRunState"] != "SUCCEEDED":
        ctx.fail(
            f"The {which} run of job `{name}` ended {run['JobRunState']}: "
            f"{run.get('ErrorMessage', 'no error message')}",
            hint=ETL_HINT,
        )
    return run


def _curated(s3: Any) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=LAKE, Prefix="curated/"):
        for item in page.get("Contents", []):
            found[item["Key"]] = s3.get_object(Bucket=LAKE, Key=item["Key"])["Body"].read()
    return found


def parquet_facts(body: bytes) -> tuple[int, set[str]] | None:
    """Rows and column codecs of a Parquet object (``None``: not Parquet)."""
    if body[:4] != b"PAR1":
        return None
    con = duckdb.connect()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "o.parquet")
        with open(path, "wb") as handle:
            handle.write(body)
        try:
            rows = con.execute(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()
            codecs = con.execute(
                f"SELECT DISTINCT compression FROM parquet_metadata('{path}')"
            ).fetchall()
        except duckdb.Error:
            return None
    return (int(rows[0]) if rows else 0, {str(c[0]).upper() for c in codecs})


def _day_of(key: str) -> str | None:
    for folder in key.split("/")[:-1]:
        if folder.startswith("dt="):
            return folder[3:13]
    return None


def check_etl_job(ctx: CheckContext) -> None:
    """Two runs with a new day between: the second processes only it; Parquet, dt=, compressed."""
    create = ctx.function("create_etl_job")
    lake = lake_data.make_lake(2208, _days("2026-06-01", 2), per_day=300)
    s3, glue = ctx.client("s3"), ctx.client("glue")
    lake_data.write_raw(s3, lake)
    name = ctx.call(create, glue, s3, returns=str)
    _run_job(ctx, glue, name, "first")
    first = _curated(s3)
    _check_objects(ctx, lake, first, lake.days, "first")
    new_day = lake_data.next_day(lake.days[-1])
    lake_data.add_day(lake, new_day, per_day=300)
    new_keys = lake_data.write_raw_day(s3, lake, new_day)
    _run_job(ctx, glue, name, "second")
    after = _curated(s3)
    added = {k: v for k, v in after.items() if k not in first}
    rewritten = sorted({d for k in added if (d := _day_of(k)) and d != new_day})
    runs = _runs(ctx, name)
    read_second = runs[-1]["read"] if runs else None
    if rewritten:
        ctx.fail(
            f"The second run read {read_second} objects, where only the {len(new_keys)} new "
            f"files of {new_day} were new, and wrote {', '.join(rewritten)} again: those rows "
            "are now in the curated lake twice.",
            hint="Job bookmarks remember what a successful run processed: set "
            "'--job-bookmark-option': 'job-bookmark-enable' in the job's DefaultArguments and "
            "read job.new_objects(...), which then lists only the objects no run processed.",
        )
    _check_objects(ctx, lake, after, lake.days, "second")


def _runs(ctx: CheckContext, name: str) -> list[dict[str, Any]]:
    from labkit.services.glue.state import etl_snapshot

    for job in etl_snapshot(region=_region(ctx))["jobs"]:
        if job["name"] == name:
            return list(job["runs"])
    return []


def _check_objects(
    ctx: CheckContext, lake: Lake, objects: dict[str, bytes], days: list[str], which: str
) -> None:
    inside = {k: v for k, v in objects.items() if k.startswith(CURATED_PREFIX)}
    if not inside:
        elsewhere = sorted(objects)[:3]
        ctx.fail(
            f"After the {which} run nothing is under {CURATED_URL}"
            + (f"; the job wrote {', '.join(elsewhere)}" if elsewhere else "")
            + ".",
            hint=ETL_HINT,
        )
    rows: dict[str, int] = {}
    for key, body in sorted(inside.items()):
        facts = parquet_facts(body)
        if facts is None:
            ctx.fail(f"{key} is not a Parquet object.", hint=ETL_HINT)
        count, codecs = facts
        day = _day_of(key)
        if day is None:
            ctx.fail(
                f"{key} is not under a dt=<day>/ folder: Athena can prune nothing in a table "
                "whose objects are not partitioned.",
                hint="Write with partition_by=['dt'] (the day of each order): one folder "
                "dt=YYYY-MM-DD/ a day, which Athena skips when a query names other days.",
            )
        if codecs & {"UNCOMPRESSED"} or not codecs:
            ctx.fail(
                f"{key} is Parquet without compression (codec {', '.join(sorted(codecs))}).",
                hint="Pass compression='snappy' (or 'gzip', 'zstd'): compressed columns are "
                "fewer bytes to store and to scan.",
            )
        rows[day] = rows.get(day, 0) + count
    for day in days:
        allowed = {len(lake.rows(day)), len(lake.unique(day))}
        ctx.expect(
            rows.get(day) in allowed,
            f"After the {which} run dt={day}/ holds {rows.get(day, 0)} rows; the raw files of "
            f"that day hold {len(lake.rows(day))} ({len(lake.unique(day))} distinct orders).",
            hint=ETL_HINT,
        )


# -- task 3: on a budget --------------------------------------------------------------------------
def build_curated(ctx: CheckContext, lake: Lake, *, raw_table: bool = False) -> dict[str, int]:
    """The curated Parquet of every day and ``curated.orders`` (and ``raw.orders``); the bytes
    of each day's objects."""
    s3, glue = ctx.client("s3"), ctx.client("glue")
    lake_data.write_raw(s3, lake)
    sizes = {day: lake_data.write_curated_day(s3, lake, day) for day in lake.days}
    lake_data.catalog_table(glue, CURATED_DB, CURATED_URL, "parquet", lake.days)
    if raw_table:
        lake_data.catalog_table(glue, RAW_DB, RAW_URL, "json", lake.days)
    return sizes


def _revenue_with_duplicates(lake: Lake, day: str) -> float:
    return round(sum(o.amount for o in lake.rows(day) if o.status == "paid"), 2)


def _revenue_all_statuses(lake: Lake, day: str) -> float:
    return round(sum(o.amount for o in lake.unique(day).values()), 2)


def _revenue_mistake(lake: Lake, day: str, got: float) -> str | None:
    if abs(got - _revenue_with_duplicates(lake, day)) < CENT:
        return (
            "it adds the orders delivered twice twice: deduplicate on order_id first "
            "(SELECT DISTINCT order_id, amount ... in a subquery)"
        )
    if abs(got - _revenue_all_statuses(lake, day)) < CENT:
        return "it counts refunded orders too: revenue is status = 'paid' only"
    return None


def check_cost_budget(ctx: CheckContext) -> None:
    """``revenue_on`` answers right and scans at most the budget of the day's Parquet bytes."""
    revenue_on = ctx.function("revenue_on")
    lake = lake_data.make_lake(3309, _days("2026-07-01", 4))
    sizes = build_curated(ctx, lake, raw_table=True)
    day = lake.days[2]
    budget = int(BUDGET_SHARE * sizes[day])
    before = _query_ids(ctx)
    got = _number(ctx.call(revenue_on, ctx.client("athena"), day))
    queries = _new_queries(ctx, before)
    expected = lake.revenue(day)
    if got is None or abs(got - expected) >= CENT:
        mistake = _revenue_mistake(lake, day, got) if got is not None else None
        ctx.fail(
            f"`revenue_on(athena, {day!r})` returned {got}; that day's paid orders, each once, "
            f"come to {expected:.2f}" + (f": {mistake}." if mistake else "."),
            hint="Sum amount over the day's distinct paid orders of curated.orders.",
        )
    ctx.expect(
        queries,
        "`revenue_on` answered without a query in Athena.",
        hint="Ask Athena (start_query_execution on curated.orders).",
    )
    scanned = sum(int(q["bytes_scanned"]) for q in queries)
    if scanned <= budget:
        return
    scans = [s for q in queries for s in q["scans"]]
    json_scans = [s for s in scans if s["format"] == "json"]
    detail = f"{scanned:,} bytes scanned, over the budget of {budget:,} ({BUDGET_SHARE:.0%} of "
    detail += f"the {sizes[day]:,} bytes of {day}'s Parquet)"
    if json_scans:
        scan = json_scans[0]
        ctx.fail(
            f"{detail}: {scan['bytes_read']:,} of them from the JSON table {scan['table']}.",
            hint="Query the curated Parquet table (curated.orders): JSON is read whole, every "
            "field of every line, while Parquet lets Athena read only the columns named.",
        )
    unpruned = [s for s in scans if s["partitions_total"] and s["partitions_read"] > 1]
    if unpruned:
        scan = unpruned[0]
        ctx.fail(
            f"{detail}: the query read {scan['partitions_read']} of {scan['partitions_total']} "
            f"partitions of {scan['table']}.",
            hint="Filter on the partition key (WHERE dt = '<day>'): Athena then opens only that "
            "day's folder. A filter on another column (ts) reads every day to find out.",
        )
    ctx.fail(
        f"{detail}: the query read one partition, but more of its columns than the answer needs.",
        hint="Name only the columns the answer needs (order_id, amount, status), never "
        "SELECT *: Parquet is stored column by column, and Athena reads the columns named.",
    )


# -- task 6: the dashboard ----------------------------------------------------------------------
def _metrics(ctx: CheckContext, answer: Any) -> dict[str, tuple[float, float] | None]:
    found: dict[str, tuple[float, float] | None] = {}
    for day, value in _by_day(ctx, answer, "daily_metrics").items():
        if isinstance(value, dict):
            pair = (value.get("orders"), value.get("revenue"))
        elif isinstance(value, (list, tuple)) and len(value) == 2:
            pair = (value[0], value[1])
        else:
            pair = (None, None)
        orders, revenue = _number(pair[0]), _number(pair[1])
        found[day] = None if orders is None or revenue is None else (orders, revenue)
    return found


def _same(got: tuple[float, float] | None, want: tuple[int, float]) -> bool:
    return got is not None and got[0] == want[0] and abs(got[1] - want[1]) < CENT


DASHBOARD_HINT = (
    "Each call asks Athena again (no cached answer), after bringing the catalog up to date "
    "(MSCK REPAIR TABLE orders, or a crawl), and returns {day: (paid orders, revenue)} for "
    "every day, each order once."
)


def check_dashboard(ctx: CheckContext) -> None:
    """``daily_metrics`` is right, and right again after the check adds a day."""
    daily_metrics = ctx.function("daily_metrics")
    lake = lake_data.make_lake(4410, _days("2026-08-01", 3), per_day=400)
    build_curated(ctx, lake)
    athena = ctx.client("athena")
    _expect_metrics(ctx, lake, ctx.call(daily_metrics, athena), "first call")
    new_day = lake_data.next_day(lake.days[-1])
    lake_data.add_day(lake, new_day, per_day=400)
    lake_data.write_curated_day(ctx.client("s3"), lake, new_day)
    ctx.clock.advance(24 * 3600)
    before = _query_ids(ctx)
    answer = ctx.call(daily_metrics, athena)
    queries = _new_queries(ctx, before)
    got = _metrics(ctx, answer)
    if new_day not in got:
        if not queries:
            ctx.fail(
                f"After a new day ({new_day}) arrived, `daily_metrics` ran no query: it "
                "answered from a cache, without the new day.",
                hint=DASHBOARD_HINT,
            )
        registered = _partition_days(ctx.client("glue"), CURATED_DB)
        if new_day not in registered:
            ctx.fail(
                f"After a new day ({new_day}) arrived in S3, `daily_metrics` asked Athena again "
                "but the day is not a partition of curated.orders, so Athena read none of it.",
                hint="Bring the partitions up to date before the query: MSCK REPAIR TABLE "
                "orders (in the curated database), a crawl, or ALTER TABLE ADD PARTITION for "
                "the days in S3.",
            )
    _expect_metrics(ctx, lake, answer, "second call, after a new day")


def _expect_metrics(ctx: CheckContext, lake: Lake, answer: Any, which: str) -> None:
    got = _metrics(ctx, answer)
    want = lake.daily_metrics()
    wrong = [d for d in want if not _same(got.get(d), want[d])]
    if not wrong:
        return
    day = wrong[0]
    value = got.get(day)
    mistake = None
    if value is not None:
        mistake = _revenue_mistake(lake, day, value[1])
        if value[0] == sum(1 for o in lake.rows(day) if o.status == "paid"):
            mistake = "it counts the orders delivered twice twice: count(DISTINCT order_id)"
        elif value[0] == len(lake.unique(day)):
            mistake = "it counts refunded orders too: paid orders only"
    shown = "nothing" if value is None else f"({_fmt(value[0])}, {_fmt(value[1])})"
    ctx.fail(
        f"In the {which}, {day} is {shown}; the lake has {want[day][0]} paid orders worth "
        f"{want[day][1]:.2f}" + (f": {mistake}." if mistake else "."),
        hint=DASHBOARD_HINT,
    )


__all__ = [
    "BUDGET_SHARE",
    "build_curated",
    "check_cost_budget",
    "check_dashboard",
    "check_etl_job",
    "check_raw_table",
    "parquet_facts",
]
