"""The analytics lab's warehouse and logs checks.

``warehouse``: in an empty world the check makes the two-node cluster, the extract in S3, the
Glue table ``lake.orders`` over it and a role Redshift may assume
(:func:`.analytics_support.make_warehouse`). The learner's ``load_warehouse(data, cluster,
role_arn)`` creates and loads ``orders`` and ``customers`` with ``COPY``; the check counts the
rows, runs ``REPORT_SQL`` (paid revenue per customer region) and reads the sandbox's model of
the join: with the distribution the learner chose, no row moves between slices
(https://docs.aws.amazon.com/redshift/latest/dg/c_data_redistribution.html). Then
``spectrum_report(data, cluster, role_arn)`` must give the same answer from the external table,
read from S3 by Spectrum, while the loaded tables stay as they were.

``incident``: a domain with a day of application logs; ``incident_errors(endpoint, start, end)``
must return the ids of exactly the checkout service's ERROR logs in the window, through the
domain's REST API.
"""

from __future__ import annotations

from typing import Any

from labkit.grading.checks import CheckContext, short
from labkit.labs import analytics_support as data_set
from labkit.labs.analytics_support import CLUSTER, INCIDENT_SERVICE

CENT = 0.011
WAREHOUSE_HINT = (
    "Distribute both tables on the join column (DISTKEY (customer_id)), or copy the small "
    "customers table to every node (DISTSTYLE ALL); COPY orders FROM "
    "'s3://shop-lake/warehouse/orders/' ... FORMAT AS PARQUET, COPY customers FROM "
    "'s3://shop-lake/raw/customers/' ... CSV IGNOREHEADER 1."
)


#: The report's join written plainly, for the slice model when REPORT_SQL hides it.
PROBE_SQL = (
    "SELECT c.region, count(*) FROM orders o JOIN customers c ON o.customer_id = c.customer_id "
    "GROUP BY c.region"
)


def _statement(data: Any, sql: str) -> dict[str, Any]:
    sid = data.execute_statement(ClusterIdentifier=CLUSTER, Database="dev", Sql=sql)["Id"]
    return dict(data.describe_statement(Id=sid))


def _scalar(data: Any, sql: str) -> Any:
    described = _statement(data, sql)
    if described["Status"] != "FINISHED":
        return None
    records = data.get_statement_result(Id=described["Id"])["Records"]
    return next(iter(records[0][0].values())) if records else None


def _field(value: dict[str, Any]) -> Any:
    return None if value.get("isNull") else next(iter(value.values()))


def _regions(ctx: CheckContext, data: Any, sid: str, label: str) -> dict[str, float]:
    """``{region: revenue}`` from a statement's result (its two columns in either order)."""
    records = data.get_statement_result(Id=sid)["Records"]
    found: dict[str, float] = {}
    for record in records:
        values = [_field(v) for v in record]
        # A DECIMAL sum comes back as a string: the region is the value that is no number.
        numbers = [n for v in values if (n := _as_number(v)) is not None]
        text = [v for v in values if isinstance(v, str) and _as_number(v) is None]
        if len(values) != 2 or len(text) != 1 or len(numbers) != 1:
            ctx.fail(
                f"{label} returned rows like {short(values)}: two columns are expected, the "
                "region and its revenue.",
                hint="SELECT c.region, sum(o.amount) ... GROUP BY c.region",
            )
        found[text[0]] = numbers[0]
    return found


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _region_revenue(lake: data_set.Lake, *, paid_only: bool) -> dict[str, float]:
    region = {cid: reg for cid, _, reg in lake.customers}
    totals: dict[str, float] = {}
    for day in lake.days:
        for order in lake.unique(day).values():
            if order.status == "paid" or not paid_only:
                where = region[order.customer_id]
                totals[where] = totals.get(where, 0.0) + order.amount
    return totals


def _same_regions(got: dict[str, float], want: dict[str, float]) -> bool:
    return set(got) == set(want) and all(abs(got[k] - want[k]) < CENT for k in want)


def check_warehouse(ctx: CheckContext) -> None:
    """Loaded rows, a report whose join moves no row, and the same report by Spectrum."""
    from labkit.services.redshift.state import statement_snapshot

    load = ctx.function("load_warehouse")
    report_sql = ctx.value("REPORT_SQL", types=str)
    spectrum_report = ctx.function("spectrum_report")
    lake = data_set.make_lake(5511, ["2026-09-01", "2026-09-02", "2026-09-03"], per_day=400)
    role = data_set.make_warehouse(ctx.client, lake)
    data = ctx.client("redshift-data")
    ctx.call(load, data, CLUSTER, role)
    expected_orders = sum(len(lake.unique(d)) for d in lake.days)
    counts = {}
    for table, rows in (("orders", expected_orders), ("customers", len(lake.customers))):
        got = _scalar(data, f"SELECT count(*) FROM {table}")
        counts[table] = got
        if got is None:
            ctx.fail(
                f"After `load_warehouse` the cluster has no table `{table}`.", hint=WAREHOUSE_HINT
            )
        if got == rows + 1 and table == "customers":
            ctx.fail(
                f"`customers` holds {got} rows, one more than the {rows} customers: the CSV's "
                "header line was loaded as a customer.",
                hint="The file starts with a header line: COPY ... CSV IGNOREHEADER 1.",
            )
        ctx.expect(
            got == rows,
            f"`{table}` holds {got} rows after `load_warehouse`; the extract has {rows}.",
            hint=WAREHOUSE_HINT,
        )
    report = _statement(data, report_sql)
    if report["Status"] != "FINISHED":
        ctx.fail(
            f"REPORT_SQL failed on the cluster: {report.get('Error')}",
            hint="Run it yourself with execute_statement and read describe_statement's Error.",
        )
    want = lake.region_revenue()
    got = _regions(ctx, data, report["Id"], "REPORT_SQL")
    every_status = _region_revenue(lake, paid_only=False)
    refunded = " (refunded orders included)" if _same_regions(got, every_status) else ""
    ctx.expect(
        _same_regions(got, want),
        f"REPORT_SQL answered {short(got, 200)}{refunded}; paid revenue per region is "
        f"{short(want, 200)}.",
        hint="Join orders to customers on customer_id, keep status = 'paid', sum amount per "
        "region.",
    )
    joins = statement_snapshot(report["Id"])["joins"]
    if not joins:
        # The sandbox's model reads joins of base tables; one through a CTE or a subquery is
        # not seen. The distribution is what is graded: the same join, written plainly.
        probe = _statement(data, PROBE_SQL)
        joins = statement_snapshot(probe["Id"])["joins"] if probe["Status"] == "FINISHED" else []
    for join in joins:
        if join["rows_moved"]:
            ctx.fail(
                f"The join {join['left']} = {join['right']} is {join['strategy']}: "
                f"{join['rows_moved']:,} of {join['rows_total']:,} rows are redistributed to "
                f"another slice ({join['rows_between_nodes']:,} of them to another node) every "
                "time the report runs.",
                hint=WAREHOUSE_HINT,
            )
    _check_spectrum(ctx, data, spectrum_report, role, want, counts)


def _check_spectrum(
    ctx: CheckContext,
    data: Any,
    spectrum_report: Any,
    role: str,
    want: dict[str, float],
    counts: dict[str, Any],
) -> None:
    from labkit.services.redshift.state import statement_snapshot

    sid = ctx.call(spectrum_report, data, CLUSTER, role, returns=str)
    try:
        described = data.describe_statement(Id=sid)
    except Exception as err:  # not a statement id
        ctx.fail(
            f"`spectrum_report` returned {short(sid)}, which is not a statement's Id ({err}).",
            hint="Return execute_statement(...)['Id'] of the report's query.",
        )
    if described["Status"] != "FINISHED":
        ctx.fail(
            f"The Spectrum report failed: {described.get('Error')}",
            hint="CREATE EXTERNAL SCHEMA spectrum FROM DATA CATALOG DATABASE 'lake' IAM_ROLE "
            "'<role>', then query spectrum.orders.",
        )
    snap = statement_snapshot(sid)
    if snap["kind"] != "SELECT" or not snap["columns"]:
        ctx.fail(
            "`spectrum_report` returned the Id of a statement without rows "
            f"({snap['sql'][:60]!r}).",
            hint="Return the Id of the report's SELECT.",
        )
    got = _regions(ctx, data, sid, "The Spectrum report")
    ctx.expect(
        _same_regions(got, want),
        f"The Spectrum report answered {short(got, 200)}; it should match the loaded report's "
        f"{short(want, 200)}.",
        hint="The same report, with spectrum.orders (the lake's table) instead of orders.",
    )
    ctx.expect(
        snap["spectrum_bytes"] > 0,
        "The Spectrum report read 0 bytes from S3: it queried the tables loaded into the "
        "cluster, not the lake's table.",
        hint="Make an external schema over the Glue database 'lake' (CREATE EXTERNAL SCHEMA "
        "... FROM DATA CATALOG) and read its orders table: Spectrum reads S3 without loading.",
    )
    for table, before in counts.items():
        after = _scalar(data, f"SELECT count(*) FROM {table}")
        ctx.expect(
            after == before,
            f"`{table}` held {before} rows before `spectrum_report` and {after} after: "
            "Spectrum queries the files where they are, without loading them.",
            hint="No COPY or INSERT for the Spectrum report: SELECT from the external schema.",
        )


# -- task 5: the incident -------------------------------------------------------------------------
INCIDENT_HINT = (
    "A bool query with filters: term service = checkout, term level = ERROR (keyword fields "
    "match exactly, case included) and a range on ts (gte start, lt end); ask for every hit "
    "(size above the default 10) and return each hit's _id."
)


def check_incident(ctx: CheckContext) -> None:
    """``incident_errors`` returns exactly the incident's error logs, found through the API."""
    incident_errors = ctx.function("incident_errors")
    logs = data_set.make_logs(6612, day="2026-10-05", errors=23)
    endpoint = data_set.make_log_domain(ctx.client, logs)
    answer = ctx.call(incident_errors, endpoint, logs.start, logs.end, returns=(list, tuple, set))
    got = [str(a) for a in answer]
    want = set(logs.incident)
    if sorted(got) == sorted(want):
        return
    extra = [d for d in dict.fromkeys(got) if d not in want]
    missing = sorted(want - set(got))
    if len(got) != len(set(got)):
        ctx.fail(
            f"`incident_errors` returned {len(got)} ids, some more than once.",
            hint="Return each log's _id once.",
        )
    reasons = _why_extra(logs, extra)
    said = f"`incident_errors` returned {len(got)} ids; the incident has {len(want)} error logs"
    if extra:
        said += f"; {len(extra)} returned are not among them ({reasons})"
    if missing:
        said += f"; {len(missing)} of them are missing"
    if not extra and len(got) == 10:
        ctx.fail(
            said + ": exactly 10, the number of hits a search returns by default.",
            hint="A search returns the first 10 hits unless it asks for more: set size (up to "
            "10,000) or page with from/size.",
        )
    if not got and missing:
        ctx.fail(
            said + ": the query matched nothing.",
            hint="keyword fields (level, service) match exactly, case included: ERROR, not "
            "error. " + INCIDENT_HINT,
        )
    ctx.fail(said + ".", hint=INCIDENT_HINT)


def _why_extra(logs: data_set.LogDay, extra: list[str]) -> str:
    kinds: dict[str, int] = {}
    for doc_id in extra:
        doc = logs.documents.get(doc_id)
        if doc is None:
            kind = "not a document of the index"
        elif doc["level"] != "ERROR":
            kind = f"{doc['level']} logs whose message mentions an error"
        elif doc["service"] != INCIDENT_SERVICE:
            kind = "errors of other services"
        else:
            kind = "checkout errors outside the window"
        kinds[kind] = kinds.get(kind, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in kinds.items())


__all__ = ["check_incident", "check_warehouse"]
