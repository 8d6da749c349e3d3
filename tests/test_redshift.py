"""Redshift in the sandbox through boto3: the Data API on a cluster's DuckDB database, COPY and
UNLOAD as the cluster's IAM role (asked of the policy engine), Spectrum over the Glue catalog,
snapshots copied to another Region and restored there with their data."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import duckdb
import pytest

from labkit.lab import Lab

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "redshift.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _role(lab: Lab, name: str, actions: list[str], trust: dict[str, Any] = TRUST) -> str:
    iam = lab.client("iam")
    arn = str(
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    )
    if actions:
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": actions,
                    "Resource": ["arn:aws:s3:::lake", "arn:aws:s3:::lake/*"],
                }
            ],
        }
        iam.put_role_policy(RoleName=name, PolicyName="s3", PolicyDocument=json.dumps(policy))
    return arn


def _parquet(sql: str) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "x.parquet")
        duckdb.connect().execute(f"COPY ({sql}) TO '{path}' (FORMAT PARQUET)")
        with open(path, "rb") as handle:
            return handle.read()


def _world(lab: Lab, roles: list[str] | None = None) -> dict[str, str]:
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="lake")
    s3.put_object(
        Bucket="lake",
        Key="sales/part-0.parquet",
        Body=_parquet(
            "SELECT i AS id, i % 10 AS cust, i * 0.5 AS amount, i % 2 = 0 AS paid "
            "FROM range(500) t(i)"
        ),
    )
    s3.put_object(Bucket="lake", Key="cust/c.csv", Body=b"0,ana\n1,bo\n2,\\N\n")
    s3.put_object(
        Bucket="lake",
        Key="events/e.json",
        Body=b'{"id": 1, "kind": "click"}\n{"id": 2, "kind": "view", "extra": 1}\n',
    )
    loader = _role(lab, "loader", ["s3:GetObject", "s3:ListBucket", "s3:PutObject"])
    lab.client("redshift").create_cluster(
        ClusterIdentifier="dw",
        NodeType="ra3.xlplus",
        NumberOfNodes=2,
        MasterUsername="admin",
        MasterUserPassword="Passw0rd1",
        IamRoles=[loader, *(roles or [])],
    )
    return {"loader": loader}


def _run(lab: Lab, sql: str, region: str = "us-east-1", cluster: str = "dw") -> dict[str, Any]:
    data = lab.client("redshift-data", region_name=region)
    sid = data.execute_statement(
        ClusterIdentifier=cluster, Database="dev", DbUser="admin", Sql=sql
    )["Id"]
    return dict(data.describe_statement(Id=sid))


def _ok(lab: Lab, sql: str, **kwargs: Any) -> dict[str, Any]:
    described = _run(lab, sql, **kwargs)
    assert described["Status"] == "FINISHED", described.get("Error")
    return described


def _records(lab: Lab, sid: str, region: str = "us-east-1") -> list[list[dict[str, Any]]]:
    result = lab.client("redshift-data", region_name=region).get_statement_result(Id=sid)
    return list(result["Records"])


def test_copy_then_query_returns_redshift_result_shapes(lab: Lab) -> None:
    roles = _world(lab)
    _ok(
        lab,
        "CREATE TABLE sales (id BIGINT, cust INT DISTKEY, amount DOUBLE PRECISION, paid BOOLEAN)",
    )
    _ok(lab, "CREATE TABLE cust (id INT, name VARCHAR(20)) DISTSTYLE ALL")
    loaded = _ok(
        lab, f"COPY sales FROM 's3://lake/sales/' IAM_ROLE '{roles['loader']}' FORMAT AS PARQUET"
    )
    assert loaded["ResultRows"] == 500 and loaded["HasResultSet"] is False
    _ok(lab, f"COPY cust FROM 's3://lake/cust/' IAM_ROLE '{roles['loader']}' CSV")
    described = _ok(
        lab,
        "SELECT s.id, c.name, s.amount, s.paid FROM sales s JOIN cust c ON s.cust = c.id "
        "WHERE s.id < 3 ORDER BY s.id",
    )
    assert described["HasResultSet"] and described["ResultRows"] == 3
    result = lab.client("redshift-data").get_statement_result(Id=described["Id"])
    assert [c["typeName"] for c in result["ColumnMetadata"]] == [
        "int8",
        "varchar",
        "float8",
        "bool",
    ]
    assert result["TotalNumRows"] == 3
    assert result["Records"][0] == [
        {"longValue": 0},
        {"stringValue": "ana"},
        {"doubleValue": 0.0},
        {"booleanValue": True},
    ]
    assert result["Records"][2][1] == {"isNull": True}


def test_copy_json_auto_matches_fields_by_name(lab: Lab) -> None:
    roles = _world(lab)
    _ok(lab, "CREATE TABLE events (kind VARCHAR(10), id INT)")
    _ok(
        lab,
        f"COPY events FROM 's3://lake/events/' IAM_ROLE '{roles['loader']}' FORMAT AS JSON 'auto'",
    )
    described = _ok(lab, "SELECT id, kind FROM events ORDER BY id")
    assert _records(lab, described["Id"]) == [
        [{"longValue": 1}, {"stringValue": "click"}],
        [{"longValue": 2}, {"stringValue": "view"}],
    ]


def test_copy_as_a_role_without_s3_read_fails_as_redshift_does(lab: Lab) -> None:
    writer = _role(lab, "writer", ["s3:PutObject"])
    _world(lab, roles=[writer])
    _ok(lab, "CREATE TABLE cust (id INT, name VARCHAR(20))")
    failed = _run(lab, f"COPY cust FROM 's3://lake/cust/' IAM_ROLE '{writer}' CSV")
    assert failed["Status"] == "FAILED"
    assert "S3ServiceException:Access Denied" in failed["Error"]
    assert "s3:GetObject" in failed["Error"]
    assert _records(lab, _ok(lab, "SELECT count(*) FROM cust")["Id"]) == [[{"longValue": 0}]]


def test_copy_as_a_role_the_cluster_does_not_have_or_that_distrusts_redshift_fails(
    lab: Lab,
) -> None:
    stranger = _role(lab, "stranger", ["s3:GetObject"])
    lambda_trust = json.loads(json.dumps(TRUST).replace("redshift", "lambda"))
    distrust = _role(lab, "distrust", ["s3:GetObject"], trust=lambda_trust)
    _world(lab, roles=[distrust])
    _ok(lab, "CREATE TABLE cust (id INT, name VARCHAR(20))")
    not_attached = _run(lab, f"COPY cust FROM 's3://lake/cust/' IAM_ROLE '{stranger}' CSV")
    assert not_attached["Status"] == "FAILED"
    assert "not associated with the cluster" in not_attached["Error"]
    untrusted = _run(lab, f"COPY cust FROM 's3://lake/cust/' IAM_ROLE '{distrust}' CSV")
    assert untrusted["Status"] == "FAILED" and "trust policy" in untrusted["Error"]


def test_unload_writes_parquet_parts_that_read_back(lab: Lab) -> None:
    roles = _world(lab)
    _ok(lab, "CREATE TABLE sales (id BIGINT, cust INT, amount DOUBLE PRECISION, paid BOOLEAN)")
    _ok(lab, f"COPY sales FROM 's3://lake/sales/' IAM_ROLE '{roles['loader']}' PARQUET")
    unloaded = _ok(
        lab,
        f"UNLOAD ('select * from sales where cust = ''3''') TO 's3://lake/out/s_' "
        f"IAM_ROLE '{roles['loader']}' FORMAT AS PARQUET",
    )
    assert unloaded["ResultRows"] == 50
    s3 = lab.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="lake", Prefix="out/")["Contents"]]
    # ra3.xlplus: 2 slices a node, 2 nodes: one part per slice.
    assert keys == [f"out/s_{n:04d}_part_00.parquet" for n in range(4)]
    total = 0
    for key in keys:
        body = s3.get_object(Bucket="lake", Key=key)["Body"].read()
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "p.parquet")
            with open(path, "wb") as handle:
                handle.write(body)
            row = duckdb.connect().execute(f"SELECT count(*) FROM '{path}'").fetchone()
            total += int(row[0]) if row else 0
    assert total == 50


def test_a_batch_runs_in_one_transaction_and_a_failure_rolls_it_back(lab: Lab) -> None:
    _world(lab)
    data = lab.client("redshift-data")
    good = data.batch_execute_statement(
        ClusterIdentifier="dw",
        Database="dev",
        Sqls=["CREATE TABLE t (id INT)", "INSERT INTO t VALUES (1), (2)", "SELECT count(*) FROM t"],
    )
    described = data.describe_statement(Id=good["Id"])
    assert [s["Status"] for s in described["SubStatements"]] == ["FINISHED"] * 3
    assert _records(lab, f"{good['Id']}:3") == [[{"longValue": 2}]]
    bad = data.batch_execute_statement(
        ClusterIdentifier="dw",
        Database="dev",
        Sqls=["INSERT INTO t VALUES (3)", "INSERT INTO nope VALUES (1)", "SELECT 1"],
    )
    described = data.describe_statement(Id=bad["Id"])
    assert described["Status"] == "FAILED"
    assert [s["Status"] for s in described["SubStatements"]] == ["FINISHED", "FAILED", "ABORTED"]
    assert described["Error"] == 'ERROR: relation "nope" does not exist'
    assert _records(lab, _ok(lab, "SELECT count(*) FROM t")["Id"]) == [[{"longValue": 2}]]
    listed = data.list_statements()["Statements"]
    assert [s["IsBatchStatement"] for s in listed][:2] == [False, True]


def test_parameters_are_bound_as_literals(lab: Lab) -> None:
    _world(lab)
    data = lab.client("redshift-data")
    sid = data.execute_statement(
        ClusterIdentifier="dw",
        Database="dev",
        Sql="SELECT :name AS who, length(:name) AS n",
        Parameters=[{"name": "name", "value": "o'neil"}],
    )["Id"]
    assert _records(lab, sid) == [[{"stringValue": "o'neil"}, {"longValue": 6}]]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"ClusterIdentifier": "nope", "Sql": "SELECT 1"}, "endpoint doesn't exist"),
        ({"WorkgroupName": "analytics", "Sql": "SELECT 1"}, "no Redshift Serverless"),
        ({"ClusterIdentifier": "dw", "Sql": "SELECT 1; SELECT 2"}, "BatchExecuteStatement"),
    ],
)
def test_requests_the_data_api_refuses(lab: Lab, kwargs: dict[str, str], words: str) -> None:
    _world(lab)
    with pytest.raises(Exception, match=words):
        lab.client("redshift-data").execute_statement(Database="dev", **kwargs)


def test_a_statement_without_rows_has_no_result(lab: Lab) -> None:
    _world(lab)
    described = _ok(lab, "CREATE TABLE t (id INT)")
    with pytest.raises(Exception, match="does not have result"):
        lab.client("redshift-data").get_statement_result(Id=described["Id"])


def test_spectrum_reads_the_catalogs_table_and_counts_the_bytes(lab: Lab) -> None:
    roles = _world(lab)
    glue = lab.client("glue")
    glue.create_database(DatabaseInput={"Name": "lakedb"})
    glue.create_table(
        DatabaseName="lakedb",
        TableInput={
            "Name": "sales",
            "StorageDescriptor": {
                "Columns": [
                    {"Name": "id", "Type": "bigint"},
                    {"Name": "cust", "Type": "int"},
                    {"Name": "amount", "Type": "double"},
                    {"Name": "paid", "Type": "boolean"},
                ],
                "Location": "s3://lake/sales/",
            },
            "Parameters": {"classification": "parquet"},
        },
    )
    _ok(lab, "CREATE TABLE cust (id INT, name VARCHAR(20))")
    _ok(lab, f"COPY cust FROM 's3://lake/cust/' IAM_ROLE '{roles['loader']}' CSV")
    _ok(
        lab,
        f"CREATE EXTERNAL SCHEMA lake FROM DATA CATALOG DATABASE 'lakedb' "
        f"IAM_ROLE '{roles['loader']}'",
    )
    described = _ok(
        lab,
        "SELECT c.name, count(*) FROM lake.sales s JOIN cust c ON s.cust = c.id "
        "GROUP BY 1 ORDER BY 1",
    )
    assert _records(lab, described["Id"]) == [
        [{"stringValue": "ana"}, {"longValue": 50}],
        [{"stringValue": "bo"}, {"longValue": 50}],
        [{"isNull": True}, {"longValue": 50}],
    ]
    from labkit.services.redshift.state import statement_snapshot

    snap = statement_snapshot(described["Id"])
    size = lab.client("s3").head_object(Bucket="lake", Key="sales/part-0.parquet")["ContentLength"]
    assert 0 < snap["spectrum_bytes"] <= size


def test_a_snapshot_copied_to_another_region_restores_with_its_data(lab: Lab) -> None:
    roles = _world(lab)
    _ok(lab, "CREATE TABLE cust (id INT, name VARCHAR(20)) DISTKEY (id)")
    _ok(lab, f"COPY cust FROM 's3://lake/cust/' IAM_ROLE '{roles['loader']}' CSV")
    redshift = lab.client("redshift")
    redshift.create_cluster_snapshot(SnapshotIdentifier="before-copy", ClusterIdentifier="dw")
    redshift.enable_snapshot_copy(ClusterIdentifier="dw", DestinationRegion="eu-west-1")
    redshift.create_cluster_snapshot(SnapshotIdentifier="nightly", ClusterIdentifier="dw")
    _ok(lab, "DELETE FROM cust")
    west = lab.client("redshift", region_name="eu-west-1")
    names = {s["SnapshotIdentifier"] for s in west.describe_cluster_snapshots()["Snapshots"]}
    assert names == {"nightly"}  # taken before copying was enabled: stays home
    west.restore_from_cluster_snapshot(ClusterIdentifier="dr", SnapshotIdentifier="nightly")
    described = _ok(lab, "SELECT count(*) FROM cust", region="eu-west-1", cluster="dr")
    assert _records(lab, described["Id"], region="eu-west-1") == [[{"longValue": 3}]]
    # The source cluster's later change is not in the copy; its own snapshot restores at home.
    redshift.restore_from_cluster_snapshot(
        ClusterIdentifier="back", SnapshotIdentifier="before-copy"
    )
    home = _ok(lab, "SELECT count(*) FROM cust", cluster="back")
    assert _records(lab, home["Id"]) == [[{"longValue": 3}]]


def test_results_page_with_a_next_token(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit.services.redshift import patch

    monkeypatch.setattr(patch, "PAGE_ROWS", 2)
    _world(lab)
    sid = _ok(lab, "SELECT * FROM range(5) t(i)")["Id"]
    data = lab.client("redshift-data")
    seen: list[int] = []
    token: str | None = None
    while True:
        page = data.get_statement_result(Id=sid, **({"NextToken": token} if token else {}))
        seen += [r[0]["longValue"] for r in page["Records"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == [0, 1, 2, 3, 4]


def test_the_view_shows_slices_redistribution_zone_maps_and_a_preview(lab: Lab) -> None:
    from labkit.services.redshift.state import UnknownStatementError

    roles = _world(lab)
    with pytest.raises(UnknownStatementError):
        lab.redshift_view()
    _ok(lab, "CREATE TABLE sales (id BIGINT, cust INT, amount FLOAT8, paid BOOLEAN) SORTKEY (id)")
    _ok(lab, "CREATE TABLE cust (id INT DISTKEY, name VARCHAR(20))")
    _ok(lab, f"COPY sales FROM 's3://lake/sales/' IAM_ROLE '{roles['loader']}' PARQUET")
    _ok(lab, f"COPY cust FROM 's3://lake/cust/' IAM_ROLE '{roles['loader']}' CSV")
    described = _ok(
        lab,
        "SELECT c.name, count(*) FROM sales s JOIN cust c ON s.cust = c.id "
        "WHERE s.id BETWEEN 10 AND 20 GROUP BY 1 ORDER BY 1",
    )
    view = lab.redshift_view(described["Id"])
    text = str(view)
    assert "2 nodes, 4 slices" in text
    assert "⇄ redistributed (DS_DIST_OUTER)" in text  # sales is EVEN (AUTO): it moves
    assert "✓ sorted on id" in text
    assert "first 3 of 3" in text and "NULL" in text
    html = view._repr_html_()
    assert "labkit-redshift-query" in html and "DS_DIST_OUTER" in html
    failed = _run(lab, "SELECT * FROM missing")
    assert "✗ FAILED" in str(lab.redshift_view()) and failed["Error"] in str(lab.redshift_view())
