"""Write an Athena data source connector: the reduced Query Federation SDK protocol.

A connector is a Lambda handler ``handler(event, context)``; Athena sends it one request per
invocation (``event["@type"]``) and reads the response it returns. :func:`respond` builds a
response of the right type; :func:`serve` answers every request from a dict of tables, so a small
connector is::

    from labkit.services.athena.connectors import sdk

    def handler(event, context):
        columns = [("sku", "string"), ("stock", "bigint")]
        rows = [{"sku": "A-1", "stock": 3}, {"sku": "B-2", "stock": 0}]
        return sdk.serve(event, {("inventory", "stock"): (columns, rows)})

The wire format is described (and its simplifications listed) in
:mod:`labkit.services.athena.sim_federation`. Runs inside the sandbox's Lambda runtime.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

#: Request type -> (response type, requestType).
RESPONSES = {
    "PingRequest": ("PingResponse", "PING"),
    "ListSchemasRequest": ("ListSchemasResponse", "LIST_SCHEMAS"),
    "ListTablesRequest": ("ListTablesResponse", "LIST_TABLES"),
    "GetTableRequest": ("GetTableResponse", "GET_TABLE"),
    "ReadRecordsRequest": ("ReadRecordsResponse", "READ_RECORDS"),
}

Columns = Sequence[tuple[str, str]]
Rows = Sequence[Mapping[str, Any]] | Callable[[], Sequence[Mapping[str, Any]]]


class UnknownRequest(ValueError):
    """A request this connector does not answer (its ``@type`` is not one of :data:`RESPONSES`)."""


def respond(event: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
    """The response to ``event``: its ``@type``, ``requestType`` and ``catalogName``, plus
    ``fields`` (``schemas=``, ``tables=``, ``schema=``, ``records=``...)."""
    kind = str(event.get("@type", ""))
    if kind not in RESPONSES:
        raise UnknownRequest(f"Unsupported request type {kind!r}")
    response_type, request_type = RESPONSES[kind]
    return {
        "@type": response_type,
        "catalogName": event.get("catalogName"),
        "requestType": request_type,
        **fields,
    }


def schema_of(columns: Columns) -> dict[str, Any]:
    """The reduced schema of ``(name, Glue type)`` columns: ``{"fields": [{"name", "type"}]}``."""
    return {"fields": [{"name": name, "type": kind} for name, kind in columns]}


def serve(
    event: Mapping[str, Any], tables: Mapping[tuple[str, str], tuple[Columns, Rows]]
) -> dict[str, Any]:
    """Answer any request from ``{(schema, table): (columns, rows)}`` (rows: a list, or a function
    returning one, called only for ``ReadRecordsRequest``)."""
    kind = event.get("@type")
    if kind == "ListSchemasRequest":
        return respond(event, schemas=sorted({schema for schema, _ in tables}))
    if kind == "ListTablesRequest":
        wanted = event.get("schemaName")
        names = [
            {"schemaName": schema, "tableName": table}
            for schema, table in sorted(tables)
            if schema == wanted
        ]
        return respond(event, tables=names, nextToken=None)
    if kind in ("GetTableRequest", "ReadRecordsRequest"):
        name = event.get("tableName") or {}
        key = (str(name.get("schemaName")), str(name.get("tableName")))
        if key not in tables:
            raise KeyError(f"No table {key[0]}.{key[1]}")
        columns, rows = tables[key]
        if kind == "GetTableRequest":
            return respond(event, tableName=name, schema=schema_of(columns), partitionColumns=[])
        listed = rows() if callable(rows) else rows
        return respond(
            event, records={"schema": schema_of(columns), "rows": [dict(r) for r in listed]}
        )
    return respond(event)
