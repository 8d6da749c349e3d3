"""Lake Formation column grants enforced on Athena queries, tried as the analyst and outsiders."""

from __future__ import annotations

from typing import Any

from labkit.lab import Lab
from labkit.services.athena.sim_engine import TableDef
from labkit.services.athena.sim_grants import governed, granted_columns

LINES = (
    b'{"id": 1, "kind": "click", "email": "a@x.org"}\n'
    b'{"id": 2, "kind": "view", "email": "b@x.org"}\n'
)


def _setup(lab: Lab) -> None:
    s3 = lab.client("s3")
    glue = lab.client("glue")
    s3.create_bucket(Bucket="lake")
    s3.create_bucket(Bucket="results")
    s3.put_object(Bucket="lake", Key="events/dt=d1/e.json", Body=LINES)
    glue.create_database(DatabaseInput={"Name": "raw"})
    glue.create_table(
        DatabaseName="raw",
        TableInput={
            "Name": "events",
            "StorageDescriptor": {
                "Columns": [
                    {"Name": "id", "Type": "int"},
                    {"Name": "kind", "Type": "string"},
                    {"Name": "email", "Type": "string"},
                ],
                "Location": "s3://lake/events/",
            },
            "PartitionKeys": [{"Name": "dt", "Type": "string"}],
            "Parameters": {"classification": "json"},
        },
    )
    glue.create_partition(DatabaseName="raw", TableName="events", PartitionInput={"Values": ["d1"]})


def _user(lab: Lab, name: str) -> Any:
    iam = lab.client("iam")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return lab.client(
        "athena",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )


def _query(lab: Lab, athena: Any, sql: str) -> dict[str, Any]:
    qid = athena.start_query_execution(
        QueryString=sql,
        QueryExecutionContext={"Database": "raw"},
        ResultConfiguration={"OutputLocation": "s3://results/"},
    )["QueryExecutionId"]
    lab.clock.advance(10)
    execution: dict[str, Any] = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
    if execution["Status"]["State"] == "SUCCEEDED":
        rows = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
        execution["rows"] = [[d.get("VarCharValue") for d in r["Data"]] for r in rows]
    return execution


def test_column_grants_hide_what_was_not_granted(lab: Lab) -> None:
    _setup(lab)
    analyst = _user(lab, "analyst")
    outsider = _user(lab, "outsider")
    account = lab.client("sts").get_caller_identity()["Account"]
    # Before the location is registered, IAM alone decides: every column.
    assert _query(lab, analyst, "SELECT * FROM events")["rows"][0] == ["id", "kind", "email", "dt"]
    lf = lab.client("lakeformation")
    lf.register_resource(ResourceArn="arn:aws:s3:::lake/events", UseServiceLinkedRole=True)
    lf.grant_permissions(
        Principal={"DataLakePrincipalIdentifier": f"arn:aws:iam::{account}:user/analyst"},
        Resource={
            "TableWithColumns": {
                "DatabaseName": "raw",
                "Name": "events",
                "ColumnWildcard": {"ExcludedColumnNames": ["email"]},
            }
        },
        Permissions=["SELECT"],
    )
    seen = _query(lab, analyst, "SELECT * FROM events ORDER BY id")
    assert seen["rows"] == [["id", "kind", "dt"], ["1", "click", "d1"], ["2", "view", "d1"]]
    hidden = _query(lab, analyst, "SELECT email FROM events")
    assert hidden["Status"]["State"] == "FAILED"
    assert hidden["Status"]["StateChangeReason"].startswith("COLUMN_NOT_FOUND")
    assert "not authorized" in hidden["Status"]["StateChangeReason"]
    denied = _query(lab, outsider, "SELECT id FROM events")
    assert denied["Status"]["State"] == "FAILED"
    assert "Insufficient Lake Formation permission" in denied["Status"]["StateChangeReason"]


def test_grants_by_names_by_table_and_governed_paths() -> None:
    table = TableDef(
        "raw",
        "events",
        (("id", "int"), ("email", "string")),
        "s3://lake/events/",
        "json",
        (("dt", "string"),),
    )
    who = "arn:aws:iam::123456789012:user/a"
    by_names = {
        "Principal": {"DataLakePrincipalIdentifier": who},
        "Resource": {
            "TableWithColumns": {"DatabaseName": "raw", "Name": "events", "ColumnNames": ["id"]}
        },
        "Permissions": ["SELECT"],
    }
    whole = {
        "Principal": {"DataLakePrincipalIdentifier": who},
        "Resource": {"Table": {"DatabaseName": "raw", "TableWildcard": {}}},
        "Permissions": ["ALL"],
    }
    describe_only = dict(whole, Permissions=["DESCRIBE"])
    assert granted_columns(table, who, [by_names]) == {"id"}
    assert granted_columns(table, who, [whole]) == {"id", "email", "dt"}
    assert granted_columns(table, who, [describe_only]) == frozenset()
    assert granted_columns(table, "arn:aws:iam::123456789012:user/b", [whole]) == frozenset()
    assert governed("s3://lake/events/", ["arn:aws:s3:::lake"])
    assert not governed("s3://lake/eventsx/", ["arn:aws:s3:::lake/events"])
