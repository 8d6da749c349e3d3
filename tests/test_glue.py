"""Glue crawlers in the sandbox: tables, formats, schemas and Hive partitions inferred from S3."""

from __future__ import annotations

import json

from labkit.lab import Lab
from labkit.services.glue.sim_crawler import crawl


def _events(day: str, n: int) -> bytes:
    return "\n".join(
        json.dumps({"id": i, "kind": "click", "ms": i * 3, "day_seen": day}) for i in range(n)
    ).encode()


def _crawler(lab: Lab, path: str) -> None:
    glue = lab.client("glue")
    glue.create_database(DatabaseInput={"Name": "raw"})
    glue.create_crawler(
        Name="lake",
        Role="arn:aws:iam::123456789012:role/crawler",
        DatabaseName="raw",
        Targets={"S3Targets": [{"Path": path}]},
    )


def test_a_crawl_makes_a_partitioned_table_athena_can_query(lab: Lab) -> None:
    s3 = lab.client("s3")
    glue = lab.client("glue")
    s3.create_bucket(Bucket="lake")
    s3.create_bucket(Bucket="results")
    for day in ("2024-05-01", "2024-05-02"):
        s3.put_object(Bucket="lake", Key=f"events/dt={day}/part.json", Body=_events(day, 20))
    s3.put_object(Bucket="lake", Key="events/_SUCCESS", Body=b"")
    _crawler(lab, "s3://lake/events/")
    glue.start_crawler(Name="lake")
    assert glue.get_crawler(Name="lake")["Crawler"]["State"] == "RUNNING"
    assert glue.get_tables(DatabaseName="raw")["TableList"] == []  # not before the crawl ends
    lab.clock.advance(120)
    assert glue.get_crawler(Name="lake")["Crawler"]["State"] == "READY"
    table = glue.get_table(DatabaseName="raw", Name="events")["Table"]
    columns = {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}
    assert columns == {"id": "bigint", "kind": "string", "ms": "bigint", "day_seen": "string"}
    assert [k["Name"] for k in table["PartitionKeys"]] == ["dt"]
    partitions = glue.get_partitions(DatabaseName="raw", TableName="events")["Partitions"]
    assert sorted(p["Values"][0] for p in partitions) == ["2024-05-01", "2024-05-02"]

    # A new day, a second crawl: the new partition is added.
    s3.put_object(Bucket="lake", Key="events/dt=2024-05-03/part.json", Body=_events("x", 5))
    glue.start_crawler(Name="lake")
    lab.clock.advance(120)
    partitions = glue.get_partitions(DatabaseName="raw", TableName="events")["Partitions"]
    assert len(partitions) == 3

    athena = lab.client("athena")
    qid = athena.start_query_execution(
        QueryString="SELECT count(*) FROM events WHERE dt > '2024-05-01'",
        QueryExecutionContext={"Database": "raw"},
        ResultConfiguration={"OutputLocation": "s3://results/"},
    )["QueryExecutionId"]
    lab.clock.advance(10)
    rows = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
    assert rows[1]["Data"][0]["VarCharValue"] == "25"


def test_folders_of_a_prefix_become_tables_and_csv_headers_names() -> None:
    objects = {
        "raw/users/u.csv": b"id,name\n1,ana\n2,bo\n",
        "raw/orders/o.parquet.json": b'{"order": 1, "total": 2.5}\n',
    }
    tables = crawl(
        "b", "raw/", sorted((k, len(v)) for k, v in objects.items()), objects.__getitem__
    )
    by_name = {t.name: t for t in tables}
    assert set(by_name) == {"users", "orders"}
    assert by_name["users"].columns == [("id", "bigint"), ("name", "string")]
    assert by_name["users"].table_input()["Parameters"]["skip.header.line.count"] == "1"
    assert by_name["orders"].format == "json"
    assert by_name["users"].partition_keys == []


def test_a_crawl_of_ten_thousand_objects_finds_one_table_of_a_hundred_partitions() -> None:
    # Its speed (target < 5 s) is a benchmark figure: benchmarks/bench_athena.py.
    body = b'{"a": 1}\n'
    objects = [(f"big/k={i % 100}/f{i}.json", len(body)) for i in range(10_000)]
    tables = crawl("b", "big/", objects, lambda key: body)
    assert len(tables) == 1 and len(tables[0].partitions) == 100


SCRIPT = b"""
def main(job):
    objects = job.new_objects(job.args["source"])
    if not objects:
        return
    raw = job.read(objects, "json")
    daily = job.sql("SELECT id, kind, ms, day_seen AS dt FROM raw", raw=raw)
    job.write_parquet(daily, job.args["target"], partition_by=["dt"], compression="snappy")
"""


def _job(lab: Lab, bookmarks: str, script: bytes = SCRIPT) -> None:
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="lake")
    s3.create_bucket(Bucket="code")
    s3.put_object(Bucket="code", Key="etl.py", Body=script)
    lab.client("glue").create_job(
        Name="to-parquet",
        Role="arn:aws:iam::123456789012:role/etl",
        Command={"Name": "glueetl", "ScriptLocation": "s3://code/etl.py"},
        DefaultArguments={
            "--job-bookmark-option": bookmarks,
            "--source": "s3://lake/raw/",
            "--target": "s3://lake/curated/events/",
        },
    )


def _run(lab: Lab) -> dict[str, object]:
    glue = lab.client("glue")
    run_id = glue.start_job_run(JobName="to-parquet")["JobRunId"]
    assert glue.get_job_run(JobName="to-parquet", RunId=run_id)["JobRun"]["JobRunState"] == (
        "RUNNING"
    )
    lab.clock.advance(300)
    run: dict[str, object] = glue.get_job_run(JobName="to-parquet", RunId=run_id)["JobRun"]
    return run


def _curated(lab: Lab) -> list[str]:
    listed = lab.client("s3").list_objects_v2(Bucket="lake", Prefix="curated/")
    return [o["Key"] for o in listed.get("Contents", [])]


def test_a_bookmarked_job_processes_only_new_files(lab: Lab) -> None:
    _job(lab, "job-bookmark-enable")
    s3 = lab.client("s3")
    s3.put_object(Bucket="lake", Key="raw/a.json", Body=_events("2024-05-01", 10))
    s3.put_object(Bucket="lake", Key="raw/b.json", Body=_events("2024-05-02", 10))
    assert _run(lab)["JobRunState"] == "SUCCEEDED"
    first = _curated(lab)
    assert len(first) == 2
    assert all(k.endswith(".snappy.parquet") for k in first)
    assert {k.split("/")[2] for k in first} == {"dt=2024-05-01", "dt=2024-05-02"}
    body = s3.get_object(Bucket="lake", Key=first[0])["Body"].read()
    assert body[:4] == b"PAR1"

    s3.put_object(Bucket="lake", Key="raw/c.json", Body=_events("2024-05-03", 4))
    assert _run(lab)["JobRunState"] == "SUCCEEDED"
    added = sorted(set(_curated(lab)) - set(first))
    assert len(added) == 1 and "dt=2024-05-03" in added[0]  # only the new file was processed


def test_without_bookmarks_every_run_reprocesses_everything(lab: Lab) -> None:
    _job(lab, "job-bookmark-disable")
    lab.client("s3").put_object(Bucket="lake", Key="raw/a.json", Body=_events("d1", 3))
    _run(lab)
    _run(lab)
    assert len(_curated(lab)) == 2  # the same day written twice


def test_a_failing_script_fails_the_run_and_commits_no_bookmark(lab: Lab) -> None:
    broken = SCRIPT.replace(b'partition_by=["dt"]', b'partition_by=["nosuch"]')
    _job(lab, "job-bookmark-enable", broken)
    lab.client("s3").put_object(Bucket="lake", Key="raw/a.json", Body=_events("d1", 3))
    run = _run(lab)
    assert run["JobRunState"] == "FAILED"
    assert "nosuch" in str(run["ErrorMessage"])
    # Fix the script: the file is still new to the bookmark.
    lab.client("s3").put_object(Bucket="code", Key="etl.py", Body=SCRIPT)
    assert _run(lab)["JobRunState"] == "SUCCEEDED"
    assert len(_curated(lab)) == 1


def test_the_etl_view_shows_runs_and_what_the_bookmark_remembers(lab: Lab) -> None:
    from labkit.services.glue import state, view

    _job(lab, "job-bookmark-enable")
    lab.client("s3").put_object(Bucket="lake", Key="raw/a.json", Body=_events("d1", 3))
    _run(lab)
    _run(lab)
    snapshot = state.etl_snapshot(region=lab.sandbox.region)
    job = snapshot["jobs"][0]
    assert job["processed"] == ["s3://lake/raw/a.json"]
    assert [r["read"] for r in job["runs"]] == [1, 0]  # the second run found nothing new
    text = view.etl_text(snapshot)
    assert "bookmark remembers 1 object" in text and "✓ SUCCEEDED" in text
    assert "labkit-glue-etl" in view.etl_html(snapshot)


def test_a_poll_loop_that_sleeps_in_real_time_still_sees_the_crawl_end(lab: Lab) -> None:
    s3 = lab.client("s3")
    glue = lab.client("glue")
    s3.create_bucket(Bucket="lake")
    s3.put_object(Bucket="lake", Key="events/dt=d1/part.json", Body=_events("d1", 2))
    _crawler(lab, "s3://lake/events/")
    glue.start_crawler(Name="lake")
    states = [glue.get_crawler(Name="lake")["Crawler"]["State"] for _ in range(4)]
    assert states[0] == "RUNNING" and states[-1] == "READY"
    assert glue.get_table(DatabaseName="raw", Name="events")["Table"]["Name"] == "events"


def test_nested_json_becomes_structs_and_arrays_athena_reads(lab: Lab) -> None:
    s3 = lab.client("s3")
    glue = lab.client("glue")
    s3.create_bucket(Bucket="lake")
    s3.create_bucket(Bucket="results")
    body = b'{"user": {"userId": 1, "tags": ["a", "b"]}, "items": [{"price": 1.5}]}\n'
    s3.put_object(Bucket="lake", Key="orders/o.json", Body=body)
    _crawler(lab, "s3://lake/orders/")
    glue.start_crawler(Name="lake")
    lab.clock.advance(120)
    table = glue.get_table(DatabaseName="raw", Name="orders")["Table"]
    columns = {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}
    assert columns == {
        "user": "struct<userId:bigint,tags:array<string>>",
        "items": "array<struct<price:double>>",
    }
    athena = lab.client("athena")
    qid = athena.start_query_execution(
        QueryString="SELECT user.userId AS uid, items[1].price AS p FROM orders",
        QueryExecutionContext={"Database": "raw"},
        ResultConfiguration={"OutputLocation": "s3://results/"},
    )["QueryExecutionId"]
    lab.clock.advance(10)
    rows = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
    assert [d["VarCharValue"] for d in rows[1]["Data"]] == ["1", "1.5"]
