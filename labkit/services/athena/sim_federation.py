"""Athena federated queries: a data catalog of type LAMBDA read through its connector function.

An Athena data catalog of type ``LAMBDA`` (``create_data_catalog(Type="LAMBDA", Parameters=
{"function": arn})``, or ``metadata-function`` and ``record-function`` for two functions) names a
*data source connector*: a Lambda function that speaks the Athena Query Federation SDK's wire
protocol (https://docs.aws.amazon.com/athena/latest/ug/connect-data-source-federation-sdk.html).
A query that names ``"catalog"."schema"."table"`` makes Athena invoke it to learn the table and
read its rows, then joins them with the lake's tables in the same engine
(https://docs.aws.amazon.com/athena/latest/ug/federated-queries.html).

The sandbox speaks a reduced form of that protocol; every request and response is JSON with the
SDK's ``@type``, ``identity`` (``id``, ``principal``, ``account``, ``arn``, ``tags``,
``groups``), ``catalogName``, ``queryId`` and, in responses, ``requestType``:

=====================  =========================================================================
``ListSchemasRequest``  -> ``ListSchemasResponse``: ``schemas`` (names)
``ListTablesRequest``   ``schemaName`` -> ``ListTablesResponse``: ``tables``
                        (``[{"schemaName", "tableName"}]``)
``GetTableRequest``     ``tableName`` (``{"schemaName", "tableName"}``) -> ``GetTableResponse``:
                        ``schema`` ``{"fields": [{"name", "type"}]}``, ``partitionColumns``
``ReadRecordsRequest``  ``tableName``, ``schema``, ``split``, ``constraints`` ->
                        ``ReadRecordsResponse``: ``records`` ``{"schema", "rows": [{...}]}``
=====================  =========================================================================

What is simplified, and how:

- Schemas: the SDK sends Apache Arrow schemas; here a schema is a list of fields whose ``type``
  is a Glue / Hive type name (``string``, ``bigint``, ``double``, ``boolean``,
  ``decimal(10,2)``...). Records: the SDK sends Arrow blocks (or spills them to S3 and answers
  ``RemoteReadRecordsResponse``); here ``rows`` is a JSON list of objects.
- Splits: the SDK plans with ``GetTableLayoutRequest`` and ``GetSplitsRequest`` and reads each
  split with its own ``ReadRecordsRequest``; here there is one split per table
  (``{"spillLocation": null, "properties": {}}``), so those two requests are not sent.
- Constraints: the SDK pushes the query's predicates down in ``constraints``; here
  ``constraints`` is ``{"summary": {}}`` (nothing pushed down: the connector returns every row
  and the engine filters). Projection is pushed down: ``schema`` lists the columns the query
  names (every column for a ``*``; the first one when it names none, as ``count(*)``).
- The order of calls is the sandbox's: ``ListSchemas`` and ``ListTables`` (so that a missing
  schema or table fails as ``SCHEMA_NOT_FOUND`` / ``TABLE_NOT_FOUND``), ``GetTable``, then
  ``ReadRecords``; each is one invocation, in the function's logs.

Bytes: Athena bills a federated query for the bytes it scans aggregated across all data sources,
with the minimum per query of any query (``athena.federated_min_billed_per_query``); from a
connector, that is what the connector returns to Athena, so the sandbox counts the bytes of each
``ReadRecordsResponse`` payload. The Lambda invocations are billed by Lambda, separately.

A connector that raises fails the query with ``GENERIC_USER_ERROR`` and its message, in the form
Athena reports a connector's exception (``Encountered an exception[<type>] from your
LambdaFunction[<arn>] executed in context[<request>] with message[<message>]``).
Plain Python, no moto: the patch hands in the function that invokes Lambda.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit.services.athena.sim_engine import FederatedTable, QueryError, duckdb_type

#: ``invoke(function_arn, event) -> (payload bytes, failed)``: one synchronous Lambda invocation.
Invoke = Callable[[str, dict[str, Any]], tuple[bytes, bool]]

#: Request type -> (response type, requestType, whether it is a metadata request).
REQUESTS = {
    "ListSchemasRequest": ("ListSchemasResponse", "LIST_SCHEMAS"),
    "ListTablesRequest": ("ListTablesResponse", "LIST_TABLES"),
    "GetTableRequest": ("GetTableResponse", "GET_TABLE"),
    "ReadRecordsRequest": ("ReadRecordsResponse", "READ_RECORDS"),
}


def connector_functions(parameters: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(metadata function, record function)`` of a LAMBDA catalog's ``Parameters``.

    ``function`` names one function for both; ``metadata-function`` and ``record-function`` name
    two (https://docs.aws.amazon.com/athena/latest/APIReference/API_CreateDataCatalog.html).
    """
    params = {str(k).lower(): str(v) for k, v in (parameters or {}).items()}
    one = params.get("function")
    metadata = params.get("metadata-function") or one
    records = params.get("record-function") or one
    if not metadata or not records:
        return None
    return metadata, records


@dataclass
class Call:
    """One invocation of a connector, for the query view."""

    request: str
    function: str
    failed: bool
    payload_bytes: int


@dataclass
class LambdaConnector:
    """A data catalog of type LAMBDA, as the engine's :class:`~.sim_engine.FederatedSource`."""

    catalog: str
    metadata_function: str
    record_function: str
    invoke: Invoke
    identity: dict[str, Any]
    query_id: str
    calls: list[Call] = field(default_factory=list)

    def _request(self, kind: str, **fields: Any) -> dict[str, Any]:
        return {
            "@type": kind,
            "identity": self.identity,
            "catalogName": self.catalog,
            "queryId": self.query_id,
            **fields,
        }

    def call(self, kind: str, **fields: Any) -> tuple[dict[str, Any], int]:
        """Invoke the connector with one request: ``(response, payload size in bytes)``."""
        function = self.record_function if kind == "ReadRecordsRequest" else self.metadata_function
        payload, failed = self.invoke(function, self._request(kind, **fields))
        self.calls.append(Call(kind, function, failed, len(payload)))
        if failed:
            try:
                error = json.loads(payload or b"{}")
            except ValueError:
                error = {"errorMessage": payload.decode("utf-8", "replace")}
            error = error if isinstance(error, dict) else {"errorMessage": str(error)}
            raise QueryError(
                "GENERIC_USER_ERROR",
                f"Encountered an exception[{error.get('errorType', 'Exception')}] from your "
                f"LambdaFunction[{function}] executed in context[{kind}] with "
                f"message[{error.get('errorMessage', '')}]",
            )
        expected, request_type = REQUESTS[kind]
        try:
            body = json.loads(payload or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("@type") != expected:
            got = body.get("@type") if isinstance(body, dict) else type(body).__name__
            raise QueryError(
                "GENERIC_INTERNAL_ERROR",
                f"The connector LambdaFunction[{function}] answered {kind} with {got!r}, not a "
                f'{expected} (a JSON object with "@type": "{expected}", "requestType": '
                f'"{request_type}")',
            )
        return body, len(payload)

    def schemas(self) -> list[str]:
        """The connector's schemas (``ListSchemasRequest``)."""
        body, _ = self.call("ListSchemasRequest")
        return [str(s) for s in body.get("schemas") or []]

    def tables(self, schema: str) -> list[str]:
        """The tables of one schema (``ListTablesRequest``)."""
        body, _ = self.call("ListTablesRequest", schemaName=schema, nextToken=None, pageSize=-1)
        return [
            str(t.get("tableName", "")) if isinstance(t, dict) else str(t)
            for t in body.get("tables") or []
        ]

    def columns(self, schema: str, name: str) -> tuple[tuple[str, str], ...]:
        """The table's columns (``GetTableRequest``), as ``(name, Glue type)``."""
        table_name = {"schemaName": schema, "tableName": name}
        body, _ = self.call("GetTableRequest", tableName=table_name)
        fields = (body.get("schema") or {}).get("fields") or []
        columns = []
        for item in fields:
            column = (str(item.get("name", "")).lower(), str(item.get("type") or "string"))
            duckdb_type(column[1])  # an unknown type fails here, with Athena's error
            columns.append(column)
        if not columns:
            raise QueryError(
                "GENERIC_INTERNAL_ERROR",
                f"The connector's GetTableResponse for {schema}.{name} has no fields",
            )
        return tuple(columns)

    def table(
        self, schema: str, name: str, wanted: frozenset[str] | None = None
    ) -> FederatedTable | None:
        """The table with its rows (the engine's ``FederatedSource``), reading only the
        ``wanted`` columns (``None``: all)."""
        schemas = {s.lower(): s for s in self.schemas()}
        if schema.lower() not in schemas:
            raise QueryError(
                "SCHEMA_NOT_FOUND",
                f"Schema '{self.catalog}.{schema}' does not exist",
                error_type=1006,
            )
        real_schema = schemas[schema.lower()]
        tables = {t.lower(): t for t in self.tables(real_schema)}
        if name.lower() not in tables:
            return None
        real_name = tables[name.lower()]
        columns = self.columns(real_schema, real_name)
        if wanted is not None:
            columns = tuple(c for c in columns if c[0] in wanted) or columns[:1]
        schema_json = {"fields": [{"name": c, "type": t} for c, t in columns]}
        body, size = self.call(
            "ReadRecordsRequest",
            tableName={"schemaName": real_schema, "tableName": real_name},
            schema=schema_json,
            split={"spillLocation": None, "properties": {}},
            constraints={"summary": {}},
        )
        rows = (body.get("records") or {}).get("rows") or []
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise QueryError(
                "GENERIC_INTERNAL_ERROR",
                "The connector's ReadRecordsResponse records.rows is not a list of objects",
            )
        names = [c for c, _ in columns]
        kept = [{c: _lower_keys(row).get(c) for c in names} for row in rows]
        function = self.record_function.rsplit(":", 1)[-1]
        return FederatedTable(columns, kept, size, source=f"lambda:{function}")


def _lower_keys(row: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in row.items()}


__all__ = ["REQUESTS", "Call", "Invoke", "LambdaConnector", "connector_functions"]
