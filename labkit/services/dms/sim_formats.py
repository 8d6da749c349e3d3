"""How DMS writes rows at each kind of target: S3 object names and CSV/Parquet files, Kinesis
records, DynamoDB items.

As AWS documents them:

- S3 (https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Target.S3.html): a full load
  writes ``<BucketFolder>/<schema>/<table>/LOAD00000001.csv`` (``.parquet`` with
  ``DataFormat=parquet``); changes go to files named by the time they were written
  (``<schema>/<table>/20261207-1134010000.csv``) whose first column ``Op`` is ``I``, ``U`` or
  ``D``; a full-load file has no ``Op`` column unless ``IncludeOpForFullLoad``; a first line of
  column names only with ``AddColumnName``; ``CsvDelimiter`` (``,``) and ``CsvRowDelimiter``
  (``\\n``).
- Kinesis (https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Target.Kinesis.html): one JSON
  record per row, ``{"data": {...}, "metadata": {"timestamp", "record-type": "data",
  "operation": "load" | "insert" | "update" | "delete", "partition-key-type", "schema-name",
  "table-name", "transaction-id"}}``, partitioned by the row's primary key (prefixed with
  ``schema.table.`` when ``PartitionIncludeSchemaTable``; by ``schema.table`` for a table without
  a primary key).
- DynamoDB (https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Target.DynamoDB.html): one item
  per row, the source's primary key as the table's key.

Plain Python (Parquet through DuckDB, already a labkit dependency).
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

#: The first full-load file of a table (DMS numbers them; the sandbox writes one per table).
LOAD_FILE = "LOAD00000001"


def s3_prefix(folder: str, schema: str, table: str) -> str:
    """``<BucketFolder>/<schema>/<table>/`` (no leading folder when there is none)."""
    parts = [p for p in (folder.strip("/"), schema, table) if p]
    return "/".join(parts) + "/"


def cdc_file_name(at: float) -> str:
    """A CDC file's name from the lab time it was written: ``yyyymmdd-hhmmssffff``."""
    moment = datetime.fromtimestamp(at, tz=timezone.utc)
    return moment.strftime("%Y%m%d-%H%M%S") + f"{moment.microsecond // 100:04d}"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def csv_bytes(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    header: bool = False,
    delimiter: str = ",",
    row_delimiter: str = "\n",
) -> bytes:
    """Rows as DMS's CSV (no header unless ``header``; empty for NULL)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=row_delimiter)
    if header:
        writer.writerow(columns)
    for row in rows:
        writer.writerow([_text(v) for v in row])
    return out.getvalue().encode("utf-8")


def parquet_bytes(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """Rows as one Parquet file (values typed as DuckDB infers them from Python values)."""
    import duckdb

    con = duckdb.connect()
    try:
        if rows:
            types = []
            for i in range(len(columns)):
                sample = next((r[i] for r in rows if r[i] is not None), None)
                if isinstance(sample, bool):
                    types.append("BOOLEAN")
                elif isinstance(sample, int):
                    types.append("BIGINT")
                elif isinstance(sample, float):
                    types.append("DOUBLE")
                else:
                    types.append("VARCHAR")
        else:
            types = ["VARCHAR"] * len(columns)
        names = [f'"{c.replace(chr(34), chr(34) * 2)}"' for c in columns]
        con.execute(
            "CREATE TABLE t ("
            + ", ".join(f"{n} {t}" for n, t in zip(names, types, strict=True))
            + ")"
        )
        converted = [
            [
                v if (t != "VARCHAR" or v is None) else _text(v)
                for v, t in zip(row, types, strict=True)
            ]
            for row in rows
        ]
        if converted:
            marks = ", ".join("?" for _ in columns)
            con.executemany(f"INSERT INTO t VALUES ({marks})", converted)
        fd, path = tempfile.mkstemp(suffix=".parquet")
        os.close(fd)
        try:
            con.execute(f"COPY t TO '{path}' (FORMAT parquet)")
            with open(path, "rb") as handle:
                return handle.read()
        finally:
            os.unlink(path)
    finally:
        con.close()


def kinesis_record(
    *,
    data: Mapping[str, Any],
    operation: str,
    schema: str,
    table: str,
    key: Sequence[str],
    at: float,
    transaction_id: int | None = None,
    include_schema_table: bool = False,
) -> tuple[str, str]:
    """``(partition key, JSON record)`` for one row."""
    moment = datetime.fromtimestamp(at, tz=timezone.utc)
    metadata: dict[str, Any] = {
        "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}Z",
        "record-type": "data",
        "operation": operation,
        "partition-key-type": "primary-key" if key else "schema-table",
        "schema-name": schema,
        "table-name": table,
    }
    if transaction_id is not None:
        metadata["transaction-id"] = transaction_id
    if key:
        partition = ".".join(_text(data.get(k)) for k in key)
        if include_schema_table:
            partition = f"{schema}.{table}.{partition}"
    else:
        partition = f"{schema}.{table}"
    return partition, json.dumps({"data": dict(data), "metadata": metadata}, default=str)


def dynamodb_item(row: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A row as a DynamoDB item in the wire format (NULL columns left out)."""
    item: dict[str, dict[str, Any]] = {}
    for name, value in row.items():
        if value is None:
            continue
        if isinstance(value, bool):
            item[name] = {"BOOL": value}
        elif isinstance(value, (int, float)):
            item[name] = {"N": repr(value) if isinstance(value, float) else str(value)}
        elif isinstance(value, (dict, list)):
            item[name] = {"S": json.dumps(value, separators=(",", ":"))}
        else:
            item[name] = {"S": str(value)}
    return item
