"""The analytics lab: a data lake queried with Athena, shaped by Glue, loaded into Redshift,
logs searched in OpenSearch, and a dashboard that refreshes.

Every check runs in an empty world with a lake of its own (:mod:`.analytics_support`):

- ``raw_table``, ``etl_job``, ``cost_budget``, ``dashboard`` (:mod:`.analytics_lake`);
- ``warehouse``, ``incident`` (:mod:`.analytics_warehouse`).
"""

from __future__ import annotations

from labkit.grading.checks import Check
from labkit.labs.analytics_lake import (
    BUDGET_SHARE,
    check_cost_budget,
    check_dashboard,
    check_etl_job,
    check_raw_table,
)
from labkit.labs.analytics_warehouse import check_incident, check_warehouse
from labkit.labs.spec import LabSpec

#: Checks that crawl, run jobs and queries on real engines: a few seconds each.
LAKE_CHECK_TIMEOUT = 90.0

LAB = LabSpec(
    id="analytics",
    title="Analytics: a data lake with Athena, Glue, Redshift, OpenSearch, QuickSight and EMR",
    lesson="notebooks/12_analytics.ipynb",
    lesson_source="notebooks/12_analytics.py",
    exercise="exercises/12_analytics.ipynb",
    solution="solutions/12_analytics.ipynb",
    source="solutions/12_analytics.py",
    checks=(
        Check(
            name="raw_table",
            title="catalog_raw makes raw.orders over the raw JSON with every day's partition, and "
            "orders_per_day counts each day's distinct orders with Athena",
            points=2,
            run=check_raw_table,
            hint="A crawler over s3://shop-lake/raw/orders/ (or CREATE EXTERNAL TABLE and MSCK "
            "REPAIR TABLE), then count(DISTINCT order_id) per dt.",
            isolated=True,
            timeout=LAKE_CHECK_TIMEOUT,
        ),
        Check(
            name="etl_job",
            title="create_etl_job makes a Glue job that writes partitioned, compressed Parquet, "
            "and whose second run processes only the new files",
            points=2,
            run=check_etl_job,
            hint="job.new_objects with job bookmarks enabled, job.write_parquet with "
            "partition_by=['dt'] and a compression.",
            isolated=True,
            timeout=LAKE_CHECK_TIMEOUT,
        ),
        Check(
            name="cost_budget",
            title=f"revenue_on answers a day's revenue scanning at most {BUDGET_SHARE:.0%} of "
            "that day's Parquet bytes",
            points=2,
            run=check_cost_budget,
            hint="curated.orders, WHERE dt = the day, only the columns the answer needs.",
            isolated=True,
            timeout=LAKE_CHECK_TIMEOUT,
        ),
        Check(
            name="warehouse",
            title="load_warehouse loads orders and customers with COPY, REPORT_SQL's join "
            "moves no row between slices, and spectrum_report answers from the lake unloaded",
            points=2,
            run=check_warehouse,
            hint="DISTKEY on the join column (or DISTSTYLE ALL for customers), COPY ... "
            "PARQUET and CSV IGNOREHEADER 1, an external schema for Spectrum.",
            isolated=True,
            timeout=LAKE_CHECK_TIMEOUT,
        ),
        Check(
            name="incident",
            title="incident_errors returns exactly the checkout errors of the incident's window "
            "from the OpenSearch domain",
            points=2,
            run=check_incident,
            hint="bool filters on service, level and ts, with a size above 10.",
            isolated=True,
            timeout=LAKE_CHECK_TIMEOUT,
        ),
        Check(
            name="dashboard",
            title="daily_metrics returns each day's paid orders and revenue from Athena, and a "
            "call after a new day arrives includes it",
            points=2,
            run=check_dashboard,
            hint="Refresh the partitions, then one grouped query per call.",
            isolated=True,
            timeout=LAKE_CHECK_TIMEOUT,
        ),
    ),
)
