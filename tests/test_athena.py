"""Athena in the sandbox: queries run by DuckDB over the Glue catalog and S3, billed by reads."""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import tempfile
from typing import Any

import duckdb
import pytest

from labkit.lab import Lab
from labkit.services.athena.sim_execution import billed_bytes, query_cost

DAYS = ("2024-01-01", "2024-01-02", "2024-01-03")


@functools.cache
def _parquet(rows: int, seed: int) -> bytes:
    con = duckdb.connect()
    # A folder of this test's own: xdist workers build the same files at once.
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "sample.parquet")
        con.execute(
            f"COPY (SELECT i AS id, 'user' || (i % 7) AS usr, i * 1.5 + {seed} AS amount, "
            f"md5(i::VARCHAR) AS note FROM range({rows}) t(i)) TO '{path}' "
            "(FORMAT PARQUET, ROW_GROUP_SIZE 10000)"
        )
        with open(path, "rb") as handle:
            return handle.read()


def _lake(lab: Lab) -> dict[str, Any]:
    s3 = lab.client("s3")
    glue = lab.client("glue")
    s3.create_bucket(Bucket="lake")
    s3.create_bucket(Bucket="results")
    glue.create_database(DatabaseInput={"Name": "shop"})
    sizes = {}
    for n, day in enumerate(DAYS):
        body = _parquet(30000, n)
        sizes[day] = len(body)
        s3.put_object(Bucket="lake", Key=f"sales/dt={day}/part-0.parquet", Body=body)
        lines = "\n".join(
            json.dumps({"id": i, "kind": "click" if i % 2 else "view", "ms": i * 10})
            for i in range(50)
        )
        s3.put_object(Bucket="lake", Key=f"events/day={day}/e.json", Body=lines.encode())
    s3.put_object(Bucket="lake", Key="sales/dt=2024-01-04/part-0.parquet", Body=_parquet(10, 9))
    s3.put_object(
        Bucket="lake",
        Key="people/people.csv",
        Body=b"id,name,age\n1,ana,34\n2,bo,not-a-number\n3,cy,51\n",
    )
    columns = [
        {"Name": "id", "Type": "bigint"},
        {"Name": "usr", "Type": "string"},
        {"Name": "amount", "Type": "double"},
        {"Name": "note", "Type": "string"},
    ]
    glue.create_table(
        DatabaseName="shop",
        TableInput={
            "Name": "sales",
            "StorageDescriptor": {
                "Columns": columns,
                "Location": "s3://lake/sales/",
                "SerdeInfo": {
                    "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde."
                    "ParquetHiveSerDe"
                },
            },
            "PartitionKeys": [{"Name": "dt", "Type": "string"}],
            "Parameters": {"classification": "parquet"},
        },
    )
    for day in DAYS:  # 2024-01-04 is in S3 but not in the catalog
        glue.create_partition(
            DatabaseName="shop",
            TableName="sales",
            PartitionInput={
                "Values": [day],
                "StorageDescriptor": {"Location": f"s3://lake/sales/dt={day}/"},
            },
        )
    glue.create_table(
        DatabaseName="shop",
        TableInput={
            "Name": "events",
            "StorageDescriptor": {
                "Columns": [
                    {"Name": "id", "Type": "int"},
                    {"Name": "kind", "Type": "string"},
                    {"Name": "ms", "Type": "bigint"},
                ],
                "Location": "s3://lake/events/",
                "SerdeInfo": {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe"},
            },
            "PartitionKeys": [{"Name": "day", "Type": "date"}],
        },
    )
    for day in DAYS:
        glue.create_partition(
            DatabaseName="shop",
            TableName="events",
            PartitionInput={"Values": [day]},  # no location: Hive's place under the table
        )
    glue.create_table(
        DatabaseName="shop",
        TableInput={
            "Name": "people",
            "StorageDescriptor": {
                "Columns": [
                    {"Name": "id", "Type": "int"},
                    {"Name": "name", "Type": "string"},
                    {"Name": "age", "Type": "int"},
                ],
                "Location": "s3://lake/people",
                "SerdeInfo": {
                    "SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                    "Parameters": {"field.delim": ","},
                },
            },
            "Parameters": {"classification": "csv", "skip.header.line.count": "1"},
        },
    )
    return sizes


def _run(lab: Lab, sql: str, **kwargs: Any) -> dict[str, Any]:
    athena = lab.client("athena")
    args: dict[str, Any] = {
        "QueryString": sql,
        "QueryExecutionContext": {"Database": "shop"},
        "ResultConfiguration": {"OutputLocation": "s3://results/q/"},
    }
    args.update(kwargs)
    qid = athena.start_query_execution(**args)["QueryExecutionId"]
    lab.clock.advance(60)
    execution: dict[str, Any] = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
    return execution


def _rows(lab: Lab, qid: str) -> list[list[str | None]]:
    athena = lab.client("athena")
    rows = []
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=qid):
        for row in page["ResultSet"]["Rows"]:
            rows.append([d.get("VarCharValue") for d in row["Data"]])
    return rows


def test_a_query_reads_only_its_partition_and_columns(lab: Lab) -> None:
    sizes = _lake(lab)
    one = _run(lab, "SELECT count(*) AS n, sum(amount) AS total FROM sales WHERE dt = '2024-01-02'")
    assert one["Status"]["State"] == "SUCCEEDED"
    rows = _rows(lab, one["QueryExecutionId"])
    assert rows[0] == ["n", "total"]
    assert rows[1][0] == "30000"
    scanned_one = one["Statistics"]["DataScannedInBytes"]
    # One partition's footer and one column: well under that partition's object.
    assert 0 < scanned_one < sizes["2024-01-02"] / 2
    every = _run(lab, "SELECT * FROM sales")
    scanned_all = every["Statistics"]["DataScannedInBytes"]
    # Every column of the three registered partitions; the unregistered one is not read.
    assert scanned_all == sum(sizes.values())
    rows = _rows(lab, every["QueryExecutionId"])
    assert len(rows) == 1 + 3 * 30000
    assert len({tuple(r) for r in rows[1:]}) == 3 * 30000  # pages neither repeat nor skip


def test_results_land_in_the_output_location_as_athena_writes_them(lab: Lab) -> None:
    _lake(lab)
    done = _run(lab, "SELECT id, name, age FROM people ORDER BY id")
    location = done["ResultConfiguration"]["OutputLocation"]
    assert location == f"s3://results/q/{done['QueryExecutionId']}.csv"
    body = lab.client("s3").get_object(Bucket="results", Key=location.split("/", 3)[3])["Body"]
    text = body.read().decode()
    assert text.splitlines()[0] == '"id","name","age"'
    # A value the text SerDe cannot read as int is NULL, as in Athena: an empty field.
    assert list(csv.reader(io.StringIO(text)))[2] == ["2", "bo", ""]
    assert _rows(lab, done["QueryExecutionId"])[2] == ["2", "bo", None]


def test_json_partitions_without_locations_and_date_keys(lab: Lab) -> None:
    _lake(lab)
    done = _run(
        lab,
        "SELECT kind, count(*) AS n FROM events WHERE day >= DATE '2024-01-02' "
        "GROUP BY kind ORDER BY kind",
    )
    assert done["Status"]["State"] == "SUCCEEDED", done["Status"]
    assert _rows(lab, done["QueryExecutionId"])[1:] == [["click", "50"], ["view", "50"]]


@pytest.mark.parametrize(
    ("sql", "name"),
    [
        ("SELECT * FRM sales", "SYNTAX_ERROR"),
        ("SELECT * FROM nosuch", "TABLE_NOT_FOUND"),
        ("SELECT * FROM other.sales", "SCHEMA_NOT_FOUND"),
        ("SELECT nosuch FROM sales", "COLUMN_NOT_FOUND"),
        ("SELECT date_parse('2024', '%Y')", "FUNCTION_NOT_FOUND"),
        ("SELECT * FROM read_parquet('s3://lake/sales/*')", "NOT_SUPPORTED"),
    ],
)
def test_errors_as_athena_words_them(lab: Lab, sql: str, name: str) -> None:
    _lake(lab)
    failed = _run(lab, sql)
    assert failed["Status"]["State"] == "FAILED"
    assert failed["Status"]["StateChangeReason"].startswith(f"{name}: ")
    assert failed["Status"]["AthenaError"]["ErrorCategory"] == 2
    with pytest.raises(lab.client("athena").exceptions.InvalidRequestException):
        lab.client("athena").get_query_results(QueryExecutionId=failed["QueryExecutionId"])


def test_states_follow_the_lab_clock(lab: Lab) -> None:
    _lake(lab)
    athena = lab.client("athena")
    qid = athena.start_query_execution(
        QueryString="SELECT 1",
        ResultConfiguration={"OutputLocation": "s3://results/"},
    )["QueryExecutionId"]
    state = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"]
    assert state == "QUEUED"
    with pytest.raises(athena.exceptions.InvalidRequestException, match="not yet finished"):
        athena.get_query_results(QueryExecutionId=qid)
    lab.clock.advance(0.5)
    state = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"]
    assert state == "RUNNING"
    lab.clock.advance(5)
    state = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"]
    assert state == "SUCCEEDED"


def test_a_workgroup_output_location_and_cutoff(lab: Lab) -> None:
    _lake(lab)
    athena = lab.client("athena")
    with pytest.raises(athena.exceptions.InvalidRequestException, match="output location"):
        athena.start_query_execution(QueryString="SELECT 1")
    # The smallest cutoff Athena takes is 10,000,000 bytes: a CSV table of about 12 MB passes it.
    line = b"0123456789" * 10 + b"\n"
    lab.client("s3").put_object(Bucket="lake", Key="big/big.csv", Body=line * 120_000)
    lab.client("glue").create_table(
        DatabaseName="shop",
        TableInput={
            "Name": "big",
            "StorageDescriptor": {
                "Columns": [{"Name": "text", "Type": "string"}],
                "Location": "s3://lake/big/",
            },
            "Parameters": {"classification": "csv"},
        },
    )
    cutoff = 10_000_000
    athena.create_work_group(
        Name="capped",
        Configuration={
            "ResultConfiguration": {"OutputLocation": "s3://results/capped/"},
            "EnforceWorkGroupConfiguration": True,
            "BytesScannedCutoffPerQuery": cutoff,
        },
    )
    small = _run(lab, "SELECT * FROM sales WHERE dt = '2024-01-01'", WorkGroup="capped")
    assert small["Status"]["State"] == "SUCCEEDED"
    assert small["ResultConfiguration"]["OutputLocation"].startswith("s3://results/capped/")
    big = _run(lab, "SELECT count(*) FROM big", WorkGroup="capped")
    assert big["Status"]["State"] == "CANCELLED"
    assert "bytes scanned limit" in big["Status"]["StateChangeReason"]


def test_price_has_a_ten_megabyte_minimum() -> None:
    mb = 1024 * 1024
    assert billed_bytes(1) == 10 * mb
    assert billed_bytes(10 * mb + 1) == 11 * mb
    assert query_cost(1) == query_cost(10 * mb)
    assert query_cost(1024**4) == pytest.approx(5.0)
    assert query_cost(1024**4, billed=False) == 0.0


def test_ddl_repairs_adds_and_shows_partitions(lab: Lab) -> None:
    _lake(lab)
    athena = lab.client("athena")

    def run(sql: str) -> tuple[str, list[str]]:
        qid = athena.start_query_execution(
            QueryString=sql,
            QueryExecutionContext={"Database": "shop"},
            ResultConfiguration={"OutputLocation": "s3://results/ddl/"},
        )["QueryExecutionId"]
        lab.clock.advance(10)
        execution = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        if execution["Status"]["State"] != "SUCCEEDED":
            return execution["Status"]["StateChangeReason"], []
        kind = "DML" if sql.startswith("SELECT") else "DDL"
        assert execution["StatementType"] == kind
        rows = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
        return "SUCCEEDED", [r["Data"][0].get("VarCharValue", "") for r in rows]

    assert run("SHOW PARTITIONS sales")[1] == [f"dt={d}" for d in DAYS]
    state, rows = run("MSCK REPAIR TABLE sales")
    assert state == "SUCCEEDED"
    assert rows[-1] == "Repair: Added partition to metastore sales:dt=2024-01-04"
    assert "dt=2024-01-04" in run("SHOW PARTITIONS sales")[1]
    # The repaired partition is read; an unaliased expression is named _col0, as in Athena.
    assert run("SELECT count(*) FROM sales WHERE dt = '2024-01-04'")[1] == ["_col0", "10"]
    state, _ = run("ALTER TABLE events ADD PARTITION (day = '2024-01-09')")
    assert state == "SUCCEEDED"
    reason, _ = run("ALTER TABLE events ADD PARTITION (day = '2024-01-09')")
    assert reason.startswith("ALREADY_EXISTS")
    assert run("ALTER TABLE events ADD IF NOT EXISTS PARTITION (day = '2024-01-09')")[0] == (
        "SUCCEEDED"
    )
    assert run("SHOW TABLES")[1] == ["events", "people", "sales"]
    assert run("CREATE DATABASE curated")[0] == "SUCCEEDED"
    names = [d["Name"] for d in lab.client("glue").get_databases()["DatabaseList"]]
    assert "curated" in names
    assert run("CREATE EXTERNAL TABLE t (a int)")[0].startswith("SYNTAX_ERROR")  # no LOCATION
    assert run("CREATE TABLE t (a int)")[0].startswith("NOT_SUPPORTED")  # Athena: Iceberg only


def test_create_external_table_then_query_it(lab: Lab) -> None:
    _lake(lab)

    def run(sql: str) -> dict[str, Any]:
        return _run(lab, sql)

    created = run(
        "CREATE EXTERNAL TABLE IF NOT EXISTS shop.ev2 (\n"
        "  id int COMMENT 'the event',\n  kind string,\n  ms bigint\n)\n"
        "PARTITIONED BY (day string)\n"
        "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'\n"
        "LOCATION 's3://lake/events/'\nTBLPROPERTIES ('has_encrypted_data'='false')"
    )
    assert created["Status"]["State"] == "SUCCEEDED", created["Status"]
    assert created["StatementType"] == "DDL"
    assert run("MSCK REPAIR TABLE ev2")["Status"]["State"] == "SUCCEEDED"
    counted = run("SELECT count(*) AS n FROM ev2 WHERE day = '2024-01-02'")
    assert _rows(lab, counted["QueryExecutionId"]) == [["n"], ["50"]]
    people = run(
        "CREATE EXTERNAL TABLE p2 (id int, name string, age int) ROW FORMAT DELIMITED "
        "FIELDS TERMINATED BY ',' LOCATION 's3://lake/people/' "
        "TBLPROPERTIES ('skip.header.line.count'='1')"
    )
    assert people["Status"]["State"] == "SUCCEEDED"
    ages = run("SELECT sum(age) AS s FROM p2")
    assert _rows(lab, ages["QueryExecutionId"]) == [["s"], ["85"]]
    again = run("CREATE EXTERNAL TABLE p2 (id int) LOCATION 's3://lake/people/'")
    assert again["Status"]["StateChangeReason"].startswith("ALREADY_EXISTS")
    assert run("DROP TABLE p2")["Status"]["State"] == "SUCCEEDED"
    assert run("DROP TABLE IF EXISTS p2")["Status"]["State"] == "SUCCEEDED"
    assert run("SELECT * FROM p2")["Status"]["StateChangeReason"].startswith("TABLE_NOT_FOUND")
    # The data stays in S3.
    assert lab.client("s3").list_objects_v2(Bucket="lake", Prefix="people/")["KeyCount"] == 1


def test_a_poll_loop_that_sleeps_in_real_time_still_ends(lab: Lab) -> None:
    _lake(lab)
    athena = lab.client("athena")
    qid = athena.start_query_execution(
        QueryString="SELECT count(*) FROM people",
        QueryExecutionContext={"Database": "shop"},
        ResultConfiguration={"OutputLocation": "s3://results/"},
    )["QueryExecutionId"]
    states = [
        athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]["State"]
        for _ in range(4)
    ]
    assert states[0] == "QUEUED" and states[-1] == "SUCCEEDED"


def test_json_keys_match_the_catalog_ignoring_case(lab: Lab) -> None:
    _lake(lab)
    s3 = lab.client("s3")
    s3.put_object(
        Bucket="lake", Key="camel/c.json", Body=b'{"userId": 7, "Kind": "x"}\n{"userId": 8}\n'
    )
    lab.client("glue").create_table(
        DatabaseName="shop",
        TableInput={
            "Name": "camel",
            "StorageDescriptor": {
                "Columns": [{"Name": "userid", "Type": "int"}, {"Name": "kind", "Type": "string"}],
                "Location": "s3://lake/camel/",
            },
            "Parameters": {"classification": "json"},
        },
    )
    done = _run(lab, "SELECT userid, kind FROM camel ORDER BY userid")
    assert _rows(lab, done["QueryExecutionId"]) == [["userid", "kind"], ["7", "x"], ["8", None]]


def test_parquet_row_groups_outside_a_filter_are_not_read(lab: Lab) -> None:
    _lake(lab)
    day = "dt = '2024-01-01'"
    every = _run(lab, f"SELECT sum(amount) FROM sales WHERE {day}")
    # ids rise through the file, 10,000 rows a row group: id < 100 touches the first group only.
    few = _run(lab, f"SELECT sum(amount) FROM sales WHERE {day} AND id < 100")
    assert few["Status"]["State"] == "SUCCEEDED"
    assert few["Statistics"]["DataScannedInBytes"] < every["Statistics"]["DataScannedInBytes"]


def test_a_stopped_query_is_cancelled(lab: Lab) -> None:
    _lake(lab)
    athena = lab.client("athena")
    qid = athena.start_query_execution(
        QueryString="SELECT count(*) FROM sales",
        QueryExecutionContext={"Database": "shop"},
        ResultConfiguration={"OutputLocation": "s3://results/"},
    )["QueryExecutionId"]
    athena.stop_query_execution(QueryExecutionId=qid)
    lab.clock.advance(60)
    status = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"]
    assert status["State"] == "CANCELLED"
