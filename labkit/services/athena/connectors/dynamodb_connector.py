"""A ready Athena connector over the sandbox's DynamoDB tables (like AWS's DynamoDB connector).

AWS's prebuilt Amazon DynamoDB connector shows every table of the account and Region in the
schema ``default`` and infers each table's columns from a sample of its items when no Glue table
describes it (https://docs.aws.amazon.com/athena/latest/ug/connectors-dynamodb.html). This one does
the same with the sandbox's DynamoDB (boto3 inside the function, as the connector uses the SDK):

- ``ListSchemas``: ``["default"]``; ``ListTables``: the tables (lower-cased names, as Athena
  sees them);
- ``GetTable``: columns inferred from a ``Scan`` of up to :data:`SAMPLE_ITEMS` items: ``S`` is
  ``string``, ``N`` is ``bigint`` when every sampled value is whole and ``double`` otherwise
  (AWS's connector reads numbers as ``decimal``), ``BOOL`` is ``boolean``, anything else
  (maps, lists, sets, binary) ``string`` holding its JSON;
- ``ReadRecords``: a full ``Scan`` (paginated), nothing pushed down.

Deploy it as a function and name it in a data catalog::

    from labkit.services.athena.connectors import dynamodb_connector

    arn = lab.deploy_function(dynamodb_connector.lambda_handler, name="ddb-connector")
    lab.client("athena").create_data_catalog(
        Name="ddb", Type="LAMBDA", Parameters={"function": arn}
    )

Each request prints one line, so the function's logs show what Athena asked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from labkit.services.athena.connectors.sdk import respond, schema_of

#: Items the schema inference samples (AWS's connector samples a table's items likewise).
SAMPLE_ITEMS = 100

SCHEMA = "default"


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The function to deploy: it hands each request to :func:`handle`."""
    from labkit.services.athena.connectors.dynamodb_connector import handle

    return handle(event, context)


def _client() -> Any:
    import boto3

    return boto3.client("dynamodb")


def _tables(client: Any) -> dict[str, str]:
    """``lower-cased name -> DynamoDB name`` of every table."""
    names: dict[str, str] = {}
    for page in client.get_paginator("list_tables").paginate():
        for name in page.get("TableNames", []):
            names[str(name).lower()] = str(name)
    return names


def _scan(client: Any, table: str, limit: int | None = None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**kwargs)
        items.extend(page.get("Items", []))
        if limit is not None and len(items) >= limit:
            return items[:limit]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _plain(value: Mapping[str, Any]) -> Any:
    """A DynamoDB attribute value as JSON (numbers as int or float)."""
    kind, raw = next(iter(value.items()))
    if kind == "S":
        return raw
    if kind == "N":
        number = Decimal(str(raw))
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "BOOL":
        return bool(raw)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: _plain(v) for k, v in raw.items()}
    if kind == "L":
        return [_plain(v) for v in raw]
    if kind in ("SS", "NS"):
        return sorted(raw)
    return str(raw)


def infer_columns(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(column, Glue type)`` of sampled items, in order of first appearance."""
    kinds: dict[str, set[str]] = {}
    for item in items:
        for name, value in item.items():
            kind, raw = next(iter(value.items()))
            if kind == "N":
                whole = Decimal(str(raw)) == Decimal(str(raw)).to_integral_value()
                kind = "N" if whole else "F"
            kinds.setdefault(name.lower(), set()).add(kind)
    columns = []
    for name, seen in kinds.items():
        if seen <= {"S", "NULL"}:
            columns.append((name, "string"))
        elif seen <= {"N", "NULL"}:
            columns.append((name, "bigint"))
        elif seen <= {"N", "F", "NULL"}:
            columns.append((name, "double"))
        elif seen <= {"BOOL", "NULL"}:
            columns.append((name, "boolean"))
        else:
            columns.append((name, "string"))
    return columns


def _row(item: Mapping[str, Any], columns: list[tuple[str, str]]) -> dict[str, Any]:
    lowered = {k.lower(): v for k, v in item.items()}
    row: dict[str, Any] = {}
    for name, kind in columns:
        value = _plain(lowered[name]) if name in lowered else None
        if kind == "string" and value is not None and not isinstance(value, str):
            value = json.dumps(value)
        row[name] = value
    return row


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer one Athena request from the account's DynamoDB tables."""
    kind = event.get("@type")
    client = _client()
    print(f"{kind} for catalog {event.get('catalogName')}")
    if kind == "ListSchemasRequest":
        return respond(event, schemas=[SCHEMA])
    if kind == "ListTablesRequest":
        if event.get("schemaName") != SCHEMA:
            return respond(event, tables=[], nextToken=None)
        listed = [{"schemaName": SCHEMA, "tableName": n} for n in sorted(_tables(client))]
        return respond(event, tables=listed, nextToken=None)
    if kind in ("GetTableRequest", "ReadRecordsRequest"):
        name = event.get("tableName") or {}
        wanted = str(name.get("tableName", "")).lower()
        tables = _tables(client)
        if name.get("schemaName") != SCHEMA or wanted not in tables:
            raise ValueError(f"Table {name.get('schemaName')}.{wanted} not found")
        if kind == "GetTableRequest":
            columns = infer_columns(_scan(client, tables[wanted], SAMPLE_ITEMS))
            return respond(event, tableName=name, schema=schema_of(columns), partitionColumns=[])
        fields = (event.get("schema") or {}).get("fields") or []
        columns = [(str(f["name"]), str(f["type"])) for f in fields]
        items = _scan(client, tables[wanted])
        print(f"read {len(items)} items of {tables[wanted]}")
        return respond(
            event, records={"schema": schema_of(columns), "rows": [_row(i, columns) for i in items]}
        )
    return respond(event)
