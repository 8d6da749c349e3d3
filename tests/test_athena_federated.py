"""Athena federated queries: a LAMBDA data catalog's connector joined with the lake, its bytes
counted, its invocations logged, and a connector that fails failing the query with its words."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from labkit.lab import Lab
from labkit.services.athena import state, view
from labkit.services.athena.connectors import dynamodb_connector, sdk

ORDERS = [
    {"order_id": 1, "customer": "ana", "amount": 10.5},
    {"order_id": 2, "customer": "bo", "amount": 20.0},
    {"order_id": 3, "customer": "ana", "amount": 5.0},
]


def _lake(lab: Lab) -> None:
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="lake")
    s3.create_bucket(Bucket="results")
    body = "".join(json.dumps(o) + "\n" for o in ORDERS)
    s3.put_object(Bucket="lake", Key="orders/part-0.json", Body=body.encode())
    glue = lab.client("glue")
    glue.create_database(DatabaseInput={"Name": "shop"})
    glue.create_table(
        DatabaseName="shop",
        TableInput={
            "Name": "orders",
            "StorageDescriptor": {
                "Columns": [
                    {"Name": "order_id", "Type": "int"},
                    {"Name": "customer", "Type": "string"},
                    {"Name": "amount", "Type": "double"},
                ],
                "Location": "s3://lake/orders/",
            },
            "Parameters": {"classification": "json"},
        },
    )


def _customers(lab: Lab) -> None:
    ddb = lab.client("dynamodb")
    ddb.create_table(
        TableName="Customers",
        KeySchema=[{"AttributeName": "customer", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "customer", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for name, tier, since in (("ana", "gold", 2019), ("bo", "silver", 2023)):
        ddb.put_item(
            TableName="Customers",
            Item={"customer": {"S": name}, "tier": {"S": tier}, "since": {"N": str(since)}},
        )


def _query(lab: Lab, sql: str, **context: str) -> dict[str, Any]:
    athena = lab.client("athena")
    qid = athena.start_query_execution(
        QueryString=sql,
        QueryExecutionContext={"Database": "shop", **context},
        ResultConfiguration={"OutputLocation": "s3://results/"},
    )["QueryExecutionId"]
    lab.clock.advance(10)
    execution: dict[str, Any] = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
    execution["id"] = qid
    if execution["Status"]["State"] == "SUCCEEDED":
        rows = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
        execution["rows"] = [[d.get("VarCharValue") for d in r["Data"]] for r in rows]
    return execution


def test_a_dynamodb_table_joins_the_lake_and_its_bytes_are_counted(lab: Lab) -> None:
    _lake(lab)
    _customers(lab)
    arn = lab.deploy_function(dynamodb_connector.lambda_handler, name="ddb-connector")
    lab.client("athena").create_data_catalog(
        Name="ddb", Type="LAMBDA", Parameters={"function": arn}
    )
    joined = _query(
        lab,
        'SELECT o.order_id, c.tier, c.since FROM orders o JOIN "ddb"."default"."customers" c '
        "ON o.customer = c.customer ORDER BY o.order_id",
    )
    assert joined["rows"] == [
        ["order_id", "tier", "since"],
        ["1", "gold", "2019"],
        ["2", "silver", "2023"],
        ["3", "gold", "2019"],
    ]
    # Scanned: the lake's object plus what the connector's ReadRecords returned to Athena.
    lake_only = _query(lab, "SELECT o.order_id, o.customer FROM orders o")
    read_records = lab.client("lambda").invoke(
        FunctionName="ddb-connector",
        Payload=json.dumps(
            {
                "@type": "ReadRecordsRequest",
                "catalogName": "ddb",
                "queryId": "q",
                "identity": {},
                "tableName": {"schemaName": "default", "tableName": "customers"},
                "schema": sdk.schema_of(
                    [("customer", "string"), ("tier", "string"), ("since", "bigint")]
                ),
            }
        ),
    )
    returned = len(read_records["Payload"].read())
    scanned = joined["Statistics"]["DataScannedInBytes"]
    assert scanned == lake_only["Statistics"]["DataScannedInBytes"] + returned
    # Only the columns a query names are asked of the connector, and billed.
    every_column = _query(lab, 'SELECT * FROM "ddb"."default"."customers"')
    one_column = _query(lab, 'SELECT tier FROM "ddb"."default"."customers"')
    assert len(every_column["rows"][0]) == 3
    assert sorted(one_column["rows"][1:]) == [
        ["gold"],
        ["silver"],
    ]
    every_scanned = every_column["Statistics"]["DataScannedInBytes"]
    assert 0 < one_column["Statistics"]["DataScannedInBytes"] < every_scanned
    # The query view tells the federated table from the lake's.
    snapshot = state.query_snapshot(joined["id"], lab.clock.timestamp, region=lab.sandbox.region)
    shown = view.query_text(snapshot)
    assert "ddb.default.customers" in shown
    assert "read by its Lambda connector" in shown
    assert "read by its Lambda connector" not in view.query_text(
        state.query_snapshot(lake_only["id"], lab.clock.timestamp, region=lab.sandbox.region)
    )
    # Every request Athena sent is an invocation in the function's logs.
    logs = lab.client("logs")
    group = "/aws/lambda/ddb-connector"
    text = "".join(
        event["message"]
        for stream in logs.describe_log_streams(logGroupName=group)["logStreams"]
        for event in logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])[
            "events"
        ]
    )
    for request in ("ListSchemasRequest", "ListTablesRequest", "GetTableRequest"):
        assert f"{request} for catalog ddb" in text
    assert "read 2 items of Customers" in text
    # Names that are not there fail as Athena says.
    missing = _query(lab, 'SELECT * FROM "ddb"."default"."suppliers"')
    assert missing["Status"]["StateChangeReason"].startswith("TABLE_NOT_FOUND")
    no_schema = _query(lab, 'SELECT * FROM "ddb"."sales"."customers"')
    assert no_schema["Status"]["StateChangeReason"].startswith("SCHEMA_NOT_FOUND")
    no_catalog = _query(lab, 'SELECT * FROM "mysql"."default"."customers"')
    assert no_catalog["Status"]["StateChangeReason"].startswith("CATALOG_NOT_FOUND")


def stock_connector(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A connector written by hand, with the SDK's helpers: one table of stock levels."""
    columns = [("sku", "string"), ("stock", "bigint")]
    rows = [{"sku": "A-1", "stock": 3}, {"sku": "B-2", "stock": 0}]
    return sdk.serve(event, {("inventory", "stock"): (columns, rows)})


def raw_connector(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A connector written without helpers, answering one request with the wrong type."""
    if event["@type"] == "ListSchemasRequest":
        return {"@type": "ListSchemasResponse", "schemas": ["inventory"]}
    if event["@type"] == "ListTablesRequest":
        return {"@type": "ListTablesResponse", "tables": [{"tableName": "stock"}]}
    return {"@type": "PingResponse"}


def broken_connector(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A connector whose source is down."""
    raise ConnectionError("inventory database refused the connection")


def test_connectors_written_by_hand_and_their_failures(lab: Lab) -> None:
    _lake(lab)
    athena = lab.client("athena")
    for name, handler in (
        ("stock", stock_connector),
        ("raw", raw_connector),
        ("broken", broken_connector),
    ):
        arn = lab.deploy_function(handler, name=f"{name}-connector")
        athena.create_data_catalog(Name=name, Type="LAMBDA", Parameters={"function": arn})
    # The query's context names the catalog: unqualified tables are its own.
    stock = _query(
        lab,
        "SELECT sku FROM stock WHERE stock = 0",
        Catalog="stock",
        Database="inventory",
    )
    assert stock["rows"] == [["sku"], ["B-2"]]
    assert stock["QueryExecutionContext"]["Catalog"] == "stock"

    failed = _query(lab, 'SELECT * FROM "broken"."inventory"."stock"')
    assert failed["Status"]["State"] == "FAILED"
    reason = failed["Status"]["StateChangeReason"]
    assert reason.startswith("GENERIC_USER_ERROR")
    assert "inventory database refused the connection" in reason
    assert "ConnectionError" in reason

    # A LAMBDA catalog names its function(s) as CreateDataCatalog documents, or is refused.
    for parameters in (
        {},
        {"metadata-function": arn},
        {"function": arn, "record-function": arn},
        {"function": "stock-connector"},
    ):
        with pytest.raises(ClientError) as refused:
            athena.create_data_catalog(Name="bad", Type="LAMBDA", Parameters=parameters)
        assert refused.value.response["Error"]["Code"] == "InvalidRequestException"

    wrong = _query(lab, 'SELECT * FROM "raw"."inventory"."stock"')
    assert wrong["Status"]["StateChangeReason"].startswith("GENERIC_INTERNAL_ERROR")
    assert "GetTableResponse" in wrong["Status"]["StateChangeReason"]
