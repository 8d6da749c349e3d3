"""QuickSight in the sandbox: data sets over Athena, SPICE refreshes on the lab clock, the view."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import labkit
from labkit.errors import LabkitError
from labkit.lab import Lab
from labkit.services.quicksight.sim_spice import INGEST_BASE_SECONDS

ACCOUNT = "123456789012"


@pytest.fixture(autouse=True)
def no_sandbox_left_running() -> None:
    """The module's one sandbox keeps running between its tests (conftest stops leftovers)."""


def put_day(lab: Lab, day: str, revenue: float, orders: int) -> None:
    body = json.dumps({"day": day, "revenue": revenue, "orders": orders})
    lab.client("s3").put_object(Bucket="lake", Key=f"daily/{day}.json", Body=body.encode())


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    lab.client("s3").create_bucket(Bucket="lake")
    lab.client("s3").create_bucket(Bucket="results")
    for n in range(1, 4):
        put_day(lab, f"2026-01-0{n}", n * 10.5, n)
    lab.client("glue").create_database(DatabaseInput={"Name": "shop"})
    athena = lab.client("athena")
    qid = athena.start_query_execution(
        QueryString="CREATE EXTERNAL TABLE daily (day string, revenue double, orders bigint) "
        "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://lake/daily/'",
        QueryExecutionContext={"Database": "shop"},
        ResultConfiguration={"OutputLocation": "s3://results/"},
    )["QueryExecutionId"]
    lab.clock.advance(5)
    state = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"]
    assert state == "SUCCEEDED"
    lab.client("quicksight").create_data_source(
        AwsAccountId=ACCOUNT,
        DataSourceId="athena",
        Name="Athena",
        Type="ATHENA",
        DataSourceParameters={"AthenaParameters": {"WorkGroup": "primary"}},
    )
    yield lab
    lab.stop()


def source_arn(lab: Lab) -> str:
    arn: str = lab.client("quicksight").describe_data_source(
        AwsAccountId=ACCOUNT, DataSourceId="athena"
    )["DataSource"]["Arn"]
    return arn


def relational(lab: Lab) -> dict[str, Any]:
    return {
        "t": {
            "RelationalTable": {
                "DataSourceArn": source_arn(lab),
                "Schema": "shop",
                "Name": "daily",
                "InputColumns": [
                    {"Name": "day", "Type": "STRING"},
                    {"Name": "orders", "Type": "INTEGER"},
                ],
            }
        }
    }


def custom(lab: Lab, sql: str) -> dict[str, Any]:
    return {
        "t": {
            "CustomSql": {
                "DataSourceArn": source_arn(lab),
                "Name": "q",
                "SqlQuery": sql,
                "Columns": [{"Name": "day", "Type": "STRING"}],
            }
        }
    }


def ingestion(lab: Lab, data_set: str, ingestion_id: str) -> dict[str, Any]:
    found: dict[str, Any] = lab.client("quicksight").describe_ingestion(
        AwsAccountId=ACCOUNT, DataSetId=data_set, IngestionId=ingestion_id
    )["Ingestion"]
    return found


def test_a_spice_data_set_shows_what_its_last_refresh_copied(lab: Lab) -> None:
    qs = lab.client("quicksight")
    made = qs.create_data_set(
        AwsAccountId=ACCOUNT,
        DataSetId="daily-spice",
        Name="Daily orders",
        ImportMode="SPICE",
        PhysicalTableMap=relational(lab),
    )
    first = made["IngestionId"]
    assert ingestion(lab, "daily-spice", first)["IngestionStatus"] == "INITIALIZED"
    with pytest.raises(LabkitError):  # no completed ingestion: no rows, so no column yet
        lab.dashboard_view("daily-spice", x="day", y="nope")
    lab.clock.advance(INGEST_BASE_SECONDS + 1)
    done = ingestion(lab, "daily-spice", first)
    assert done["IngestionStatus"] == "COMPLETED"
    assert done["RowInfo"]["RowsIngested"] == 3
    view = lab.dashboard_view("daily-spice", x="day", y="orders")
    assert view.points == [("2026-01-01", 1.0), ("2026-01-02", 2.0), ("2026-01-03", 3.0)]

    # New data in the lake: not on the dashboard until a refresh completes.
    put_day(lab, "2026-01-04", 42.0, 4)
    assert len(lab.dashboard_view("daily-spice", x="day", y="orders").points) == 3
    qs.create_ingestion(
        AwsAccountId=ACCOUNT, DataSetId="daily-spice", IngestionId="refresh-1",
        IngestionType="FULL_REFRESH",
    )  # fmt: skip
    with pytest.raises(qs.exceptions.LimitExceededException):
        qs.create_ingestion(AwsAccountId=ACCOUNT, DataSetId="daily-spice", IngestionId="again")
    assert "⏳ refresh refresh-1 running" in str(
        lab.dashboard_view("daily-spice", x="day", y="orders")
    )
    lab.clock.advance(INGEST_BASE_SECONDS + 1)
    after = lab.dashboard_view("daily-spice", x="day", y="orders")
    assert after.points[-1] == ("2026-01-04", 4.0)
    html = after._repr_html_()
    assert "data:image/png;base64," in html and "2026-01-04" in html  # chart and table
    bundle = after._repr_mimebundle_()  # the text form rides along: the chart's numbers
    assert bundle["text/html"] == html and "2026-01-04" in bundle["text/plain"]
    described = qs.describe_data_set(AwsAccountId=ACCOUNT, DataSetId="daily-spice")["DataSet"]
    assert described["OutputColumns"] == [
        {"Name": "day", "Type": "STRING"},
        {"Name": "orders", "Type": "INTEGER"},
    ]
    assert described["ConsumedSpiceCapacityInBytes"] > 0
    listed = qs.list_ingestions(AwsAccountId=ACCOUNT, DataSetId="daily-spice")["Ingestions"]
    assert [i["IngestionId"] for i in listed] == ["refresh-1", first]


def test_direct_query_reads_the_lake_each_time(lab: Lab) -> None:
    qs = lab.client("quicksight")
    qs.create_data_set(
        AwsAccountId=ACCOUNT,
        DataSetId="daily-direct",
        Name="Daily revenue",
        ImportMode="DIRECT_QUERY",
        PhysicalTableMap=custom(lab, "SELECT day, revenue FROM shop.daily WHERE revenue > 20"),
    )
    before = lab.dashboard_view("daily-direct", x="day", y="revenue", kind="line").points
    put_day(lab, "2026-01-09", 77.0, 7)
    after = lab.dashboard_view("daily-direct", x="day", y="revenue").points
    assert after == [*before, ("2026-01-09", 77.0)]
    with pytest.raises(qs.exceptions.InvalidParameterValueException, match="DIRECT_QUERY"):
        qs.create_ingestion(AwsAccountId=ACCOUNT, DataSetId="daily-direct", IngestionId="x")


def test_a_refresh_of_a_bad_query_fails_with_its_reason(lab: Lab) -> None:
    qs = lab.client("quicksight")
    made = qs.create_data_set(
        AwsAccountId=ACCOUNT,
        DataSetId="broken",
        Name="Broken",
        ImportMode="SPICE",
        PhysicalTableMap=custom(lab, "SELECT day FROM shop.no_such_table"),
    )
    lab.clock.advance(INGEST_BASE_SECONDS + 1)
    failed = ingestion(lab, "broken", made["IngestionId"])
    assert failed["IngestionStatus"] == "FAILED"
    assert failed["ErrorInfo"]["Type"] == "SQL_TABLE_NOT_FOUND"
    assert "no_such_table" in failed["ErrorInfo"]["Message"]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"ImportMode": "CACHED"}, "InvalidParameterValueException"),
        ({"PhysicalTableMap": {}}, "InvalidParameterValueException"),
        ({"DataSetId": "daily-spice"}, "ResourceExistsException"),
    ],
)
def test_bad_data_sets_are_refused(lab: Lab, change: dict[str, Any], error: str) -> None:
    qs = lab.client("quicksight")
    if change.get("DataSetId") == "daily-spice" and not any(
        d["DataSetId"] == "daily-spice"
        for d in qs.list_data_sets(AwsAccountId=ACCOUNT)["DataSetSummaries"]
    ):
        qs.create_data_set(
            AwsAccountId=ACCOUNT, DataSetId="daily-spice", Name="x", ImportMode="SPICE",
            PhysicalTableMap=relational(lab),
        )  # fmt: skip
    args = {
        "AwsAccountId": ACCOUNT,
        "DataSetId": "refused",
        "Name": "Refused",
        "ImportMode": "SPICE",
        "PhysicalTableMap": relational(lab),
        **change,
    }
    with pytest.raises(qs.exceptions.ClientError) as caught:
        qs.create_data_set(**args)
    assert caught.value.response["Error"]["Code"] == error


def test_the_view_names_a_missing_column_and_an_unknown_data_set(lab: Lab) -> None:
    lab.client("quicksight").create_data_set(
        AwsAccountId=ACCOUNT, DataSetId="cols", Name="c", ImportMode="DIRECT_QUERY",
        PhysicalTableMap=relational(lab),
    )  # fmt: skip
    with pytest.raises(LabkitError, match="no column 'revenue'"):
        lab.dashboard_view("cols", x="day", y="revenue")
    with pytest.raises(LabkitError, match="must be a number"):
        lab.dashboard_view("cols", x="orders", y="day")
    with pytest.raises(LabkitError, match="No QuickSight data set 'nope'"):
        lab.dashboard_view("nope", x="day", y="orders")


def run_athena(lab: Lab, sql: str) -> None:
    """``sql`` in the database shop, finished."""
    athena = lab.client("athena")
    qid = athena.start_query_execution(
        QueryString=sql,
        QueryExecutionContext={"Database": "shop"},
        ResultConfiguration={"OutputLocation": "s3://results/"},
    )["QueryExecutionId"]
    lab.clock.advance(5)
    status = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
    assert status["State"] == "SUCCEEDED", status


def test_a_refresh_reads_only_the_partitions_the_catalog_holds(lab: Lab) -> None:
    # The lesson's dashboard: a new dt= folder shows after MSCK REPAIR and a refresh, not before.
    s3, qs = lab.client("s3"), lab.client("quicksight")

    def put_partition(day: str, amounts: list[float]) -> None:
        lines = [json.dumps({"order_id": f"{day}-{n}", "amount": a}) for n, a in enumerate(amounts)]
        body = "\n".join(lines)
        s3.put_object(Bucket="lake", Key=f"parts/dt={day}/part-0.json", Body=body.encode())

    put_partition("2026-02-01", [1.0, 2.0])
    put_partition("2026-02-02", [4.0])
    run_athena(
        lab,
        "CREATE EXTERNAL TABLE parted (order_id string, amount double) PARTITIONED BY (dt string) "
        "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://lake/parts/'",
    )
    run_athena(lab, "MSCK REPAIR TABLE parted")
    qs.create_data_set(
        AwsAccountId=ACCOUNT,
        DataSetId="parted-spice",
        Name="Revenue per partition",
        ImportMode="SPICE",
        PhysicalTableMap={
            "t": {
                "CustomSql": {
                    "DataSourceArn": source_arn(lab),
                    "Name": "per day",
                    "SqlQuery": "SELECT dt, sum(amount) AS revenue FROM shop.parted GROUP BY dt",
                    "Columns": [
                        {"Name": "dt", "Type": "STRING"},
                        {"Name": "revenue", "Type": "DECIMAL"},
                    ],
                }
            }
        },
    )
    lab.clock.advance(INGEST_BASE_SECONDS + 1)
    first = [("2026-02-01", 3.0), ("2026-02-02", 4.0)]
    assert lab.dashboard_view("parted-spice", x="dt", y="revenue").points == first

    put_partition("2026-02-03", [8.0, 16.0])

    def refresh(ingestion_id: str) -> list[tuple[str, float | None]]:
        qs.create_ingestion(
            AwsAccountId=ACCOUNT, DataSetId="parted-spice", IngestionId=ingestion_id
        )
        lab.clock.advance(INGEST_BASE_SECONDS + 1)
        assert ingestion(lab, "parted-spice", ingestion_id)["IngestionStatus"] == "COMPLETED"
        points: list[tuple[str, float | None]] = lab.dashboard_view(
            "parted-spice", x="dt", y="revenue"
        ).points
        return points

    assert refresh("before-repair") == first  # the folder is in S3, not in the catalog
    run_athena(lab, "MSCK REPAIR TABLE parted")
    assert refresh("after-repair") == [*first, ("2026-02-03", 24.0)]
