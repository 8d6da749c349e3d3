"""The lake view and the Athena query view: HTML and text, words and symbols, never colour alone."""

from __future__ import annotations

from labkit.lab import Lab
from labkit.services.athena import state, view

LINES = b'{"id": 1, "kind": "click"}\n{"id": 2, "kind": "view"}\n'


def _lake(lab: Lab) -> None:
    s3 = lab.client("s3")
    glue = lab.client("glue")
    s3.create_bucket(Bucket="lake")
    s3.create_bucket(Bucket="results")
    for day in ("d1", "d2", "d3"):
        s3.put_object(Bucket="lake", Key=f"events/dt={day}/e.json", Body=LINES)
    glue.create_database(DatabaseInput={"Name": "raw"})
    glue.create_table(
        DatabaseName="raw",
        TableInput={
            "Name": "events",
            "StorageDescriptor": {
                "Columns": [{"Name": "id", "Type": "int"}, {"Name": "kind", "Type": "string"}],
                "Location": "s3://lake/events/",
            },
            "PartitionKeys": [{"Name": "dt", "Type": "string"}],
            "Parameters": {"classification": "json"},
        },
    )
    for day in ("d1", "d2"):  # d3 is left out of the catalog
        glue.create_partition(
            DatabaseName="raw", TableName="events", PartitionInput={"Values": [day]}
        )


def test_the_lake_view_shows_schemas_partitions_and_unregistered_folders(lab: Lab) -> None:
    _lake(lab)
    snapshot = state.lake_snapshot(region=lab.sandbox.region)
    text = view.lake_text(snapshot)
    html = view.lake_html(snapshot)
    assert "raw.events: columns: id int, kind string · partitioned by: dt string" in text
    assert "dt=d1" in text and "✓ registered" in text
    assert "dt=d3" in text and "✗ not in the catalog (Athena skips it)" in text
    assert "labkit-lake" in html and "✗ not in the catalog" in html


def test_the_query_view_shows_pruning_bytes_and_cost(lab: Lab) -> None:
    _lake(lab)
    athena = lab.client("athena")
    qid = athena.start_query_execution(
        QueryString="SELECT kind FROM events WHERE dt = 'd2'",
        QueryExecutionContext={"Database": "raw"},
        ResultConfiguration={"OutputLocation": "s3://results/"},
    )["QueryExecutionId"]
    lab.clock.advance(10)
    snapshot = state.query_snapshot(qid, lab.clock.timestamp, region=lab.sandbox.region)
    assert snapshot is not None
    assert snapshot["state"] == "SUCCEEDED"
    assert snapshot["bytes_scanned"] == len(LINES)
    assert snapshot["bytes_billed"] == 10 * 1024 * 1024
    text = view.query_text(snapshot)
    assert "● 1 of 2 read, ○ 1 pruned" in text
    assert f"scanned {len(LINES)} B" in text
    assert "click" in text and "view" in text
    assert "labkit-athena-query" in view.query_html(snapshot)
    assert state.query_ids(region=lab.sandbox.region) == [qid]
