"""labkit grade on the analytics lab: sample submissions graded once, and the views the lesson
shows.

Each sample in tests/submissions/analytics/ is a jupytext percent file of a notebook a learner
might hand in, graded in a fresh kernel as `labkit grade` does, against lakes the checks build
for themselves (other seeds, other days). The two correct ones are written unlike the solution
(Athena DDL or the Glue API for the raw table; zstd or gzip jobs; GROUP BY or a window function
to keep each order once; DISTSTYLE ALL or KEY on both tables, a CTE report; logs paged with
from/size or sized to hits.total; partitions added from an S3 listing or by a crawler); each of
the other four makes one plausible mistake per task, which must fail with its hint.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from grading_support import grade_samples, said, statuses

from labkit.grading.notebook import Submission
from labkit.lab import Lab
from labkit.labs import analytics_support as shop
from labkit.services.athena.view import UnknownQueryError

SAMPLES = Path(__file__).resolve().parent / "submissions" / "analytics"
CHECKS = ("raw_table", "etl_job", "cost_budget", "warehouse", "incident", "dashboard")


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Submission]:
    return grade_samples(SAMPLES, tmp_path_factory)


# -- the sample notebooks -----------------------------------------------------------------------
@pytest.mark.parametrize("sample", ["passing_ddl", "passing_api"])
def test_correct_alternatives_pass_every_check(graded: dict[str, Submission], sample: str) -> None:
    sub = graded[sample]
    assert sub.error is None and not sub.notes
    assert statuses(sub) == dict.fromkeys(CHECKS, "passed"), [said(sub, name) for name in CHECKS]
    assert sub.score == sub.max_score == 12


def test_counted_rows_no_bookmarks_select_star_header_row_ten_hits_cached(
    graded: dict[str, Submission],
) -> None:
    sub = graded["counts_rows"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed"), [said(sub, n) for n in CHECKS]
    assert "counts every delivered row: 630 on 2026-05-10" in said(sub, "raw_table")
    assert "count(DISTINCT order_id)" in said(sub, "raw_table")
    assert "wrote 2026-06-01, 2026-06-02 again" in said(sub, "etl_job")
    assert "job-bookmark-enable" in said(sub, "etl_job")
    assert "more of its columns than the answer needs" in said(sub, "cost_budget")
    assert "never SELECT *" in said(sub, "cost_budget")
    assert "header line was loaded as a customer" in said(sub, "warehouse")
    assert "IGNOREHEADER 1" in said(sub, "warehouse")
    assert "returned 10 ids" in said(sub, "incident")
    assert "returns the first 10 hits" in said(sub, "incident")
    assert "ran no query: it answered from a cache" in said(sub, "dashboard")


def test_wrong_prefix_unpartitioned_json_table_order_key_text_match_no_refresh(
    graded: dict[str, Submission],
) -> None:
    sub = graded["wrong_prefix"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed"), [said(sub, n) for n in CHECKS]
    assert "reads s3://shop-lake/raw/, not the orders' prefix" in said(sub, "raw_table")
    assert "customers and rejected orders live beside it" in said(sub, "raw_table")
    assert "is not under a dt=<day>/ folder" in said(sub, "etl_job")
    assert "partition_by=['dt']" in said(sub, "etl_job")
    assert "from the JSON table raw.orders" in said(sub, "cost_budget")
    assert "bytes scanned, over the budget" in said(sub, "cost_budget")
    assert "rows are redistributed to another slice" in said(sub, "warehouse")
    assert "DISTKEY (customer_id)" in said(sub, "warehouse")
    assert "WARN logs whose message mentions an error" in said(sub, "incident")
    assert "is not a partition of curated.orders" in said(sub, "dashboard")
    assert "MSCK REPAIR TABLE" in said(sub, "dashboard")


def test_hand_partitions_uncompressed_ts_filter_local_report_lower_case_refunds(
    graded: dict[str, Submission],
) -> None:
    sub = graded["hand_partitions"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed"), [said(sub, n) for n in CHECKS]
    assert "are in S3" in said(sub, "raw_table")
    assert "not partitions of `raw.orders`" in said(sub, "raw_table")
    assert "Partitions written by hand" in said(sub, "raw_table")
    assert "codec UNCOMPRESSED" in said(sub, "etl_job")
    assert "read 4 of 4 partitions of curated.orders" in said(sub, "cost_budget")
    assert "WHERE dt = '<day>'" in said(sub, "cost_budget")
    assert "read 0 bytes from S3" in said(sub, "warehouse")
    assert "CREATE EXTERNAL SCHEMA" in said(sub, "warehouse")
    assert "the query matched nothing" in said(sub, "incident")
    assert "ERROR, not error" in said(sub, "incident")
    assert "counts refunded orders too" in said(sub, "dashboard")


def test_unwaited_crawl_wrong_target_duplicates_refunded_report_whole_day_rows(
    graded: dict[str, Submission],
) -> None:
    sub = graded["not_waiting"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed"), [said(sub, n) for n in CHECKS]
    assert "no table `raw.orders`" in said(sub, "raw_table")
    assert "wait in `catalog_raw` until" in said(sub, "raw_table")
    assert "nothing is under s3://shop-lake/curated/orders/" in said(sub, "etl_job")
    assert "the job wrote curated/dt=" in said(sub, "etl_job")
    assert "adds the orders delivered twice twice" in said(sub, "cost_budget")
    assert "(refunded orders included)" in said(sub, "warehouse")
    assert "6 checkout errors outside the window" in said(sub, "incident")
    assert "counts the orders delivered twice twice" in said(sub, "dashboard")


# -- the views the lesson wires ------------------------------------------------------------------
def test_the_lake_query_and_etl_views_show_what_the_lesson_says(lab: Lab) -> None:
    s3, glue, athena = lab.client("s3"), lab.client("glue"), lab.client("athena")
    with pytest.raises(UnknownQueryError):
        lab.query_view()
    lake = shop.make_lake(7, ["2026-03-01", "2026-03-02"], per_day=50)
    shop.write_raw(s3, lake)
    shop.catalog_table(glue, shop.RAW_DB, shop.RAW_URL, "json", lake.days[:1])
    text = str(lab.lake_view())
    assert "dt=2026-03-01" in text and "✓ registered" in text
    assert "dt=2026-03-02" in text and "✗ not in the catalog (Athena skips it)" in text
    assert "labkit-lake" in lab.lake_view()._repr_html_()
    qid = athena.start_query_execution(
        QueryString="SELECT count(DISTINCT order_id) AS n FROM orders",
        QueryExecutionContext={"Database": shop.RAW_DB},
        ResultConfiguration={"OutputLocation": shop.RESULTS_URL},
    )["QueryExecutionId"]
    lab.clock.advance(10)
    view = lab.query_view()
    assert view.snapshot["id"] == qid
    assert "● 1 of 1 read, ○ 0 pruned" in str(view)
    assert str(len(lake.unique("2026-03-01"))) in str(view)
    assert "labkit-athena-query" in view._repr_html_()
    with pytest.raises(UnknownQueryError):
        lab.query_view("no-such-query")
    assert "No crawler." in str(lab.etl_view())
    glue.create_crawler(
        Name="raw-orders",
        Role="arn:aws:iam::123456789012:role/crawler",
        DatabaseName=shop.RAW_DB,
        Targets={"S3Targets": [{"Path": shop.RAW_URL}]},
    )
    glue.start_crawler(Name="raw-orders")
    lab.clock.advance(120)
    etl = lab.etl_view()
    assert "crawler raw-orders: ✓ READY" in str(etl)
    assert "labkit-glue-etl" in etl._repr_html_()
    # The crawl registered the second day: the lake view no longer marks it.
    assert "✗ not in the catalog" not in str(lab.lake_view())


def test_a_text_predicate_in_redshift_finishes_and_is_read_against_zone_maps(lab: Lab) -> None:
    # It failed the whole statement before (DuckDB 2.0 has no octet_length(VARCHAR)).
    lake = shop.make_lake(8, ["2026-03-01"], per_day=40)
    role = shop.make_warehouse(lab.client, lake)
    data = lab.client("redshift-data")

    def run(sql: str) -> dict[str, object]:
        sid = data.execute_statement(ClusterIdentifier=shop.CLUSTER, Database="dev", Sql=sql)
        return dict(data.describe_statement(Id=sid["Id"]))

    run(
        "CREATE TABLE orders (order_id VARCHAR(20), customer_id VARCHAR(8), amount FLOAT8, "
        "status VARCHAR(10), ts VARCHAR(30)) SORTKEY (status)"
    )
    run(f"COPY orders FROM '{shop.WAREHOUSE_ORDERS_URL}' IAM_ROLE '{role}' PARQUET")
    counted = run("SELECT count(*) FROM orders WHERE status = 'paid'")
    assert counted["Status"] == "FINISHED", counted.get("Error")
    text = str(lab.redshift_view(str(counted["Id"])))
    assert "status = 'paid'" in text and "✓ sorted on status" in text
