"""Athena's types and errors on DuckDB: Glue types as DuckDB types, results as Athena writes them.

Split from :mod:`.sim_engine` (which re-exports every name here): the type mapping and the error
class are shared by the engine, the federated connectors' schemas and Redshift Spectrum.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass
class QueryError(Exception):
    """A failed query, with Athena's error name, message and AthenaError codes."""

    name: str
    message: str
    category: int = 2
    error_type: int = 1000

    def __post_init__(self) -> None:
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        """``StateChangeReason`` as Athena words it (``NAME: message``)."""
        return f"{self.name}: {self.message}"


# -- types ------------------------------------------------------------------------------------
_SIMPLE = {
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "char": "VARCHAR",
    "int": "INTEGER",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "double": "DOUBLE",
    "float": "FLOAT",
    "real": "FLOAT",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "binary": "BLOB",
}


def _split_top(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "<(":
            depth += 1
        elif ch in ">)":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def duckdb_type(glue_type: str) -> str:
    """The DuckDB type of a Glue type: ``array<struct<a:int>>`` is ``STRUCT(a INTEGER)[]``."""
    text = glue_type.strip()
    lower = text.lower()
    if lower in _SIMPLE:
        return _SIMPLE[lower]
    base = lower.split("(", 1)[0].split("<", 1)[0].strip()
    if base in ("varchar", "char"):
        return "VARCHAR"
    if base == "decimal":
        return text.upper()
    if base == "array":
        return duckdb_type(text[text.index("<") + 1 : text.rindex(">")]) + "[]"
    if base == "map":
        key, value = _split_top(text[text.index("<") + 1 : text.rindex(">")])
        return f"MAP({duckdb_type(key)}, {duckdb_type(value)})"
    if base == "struct":
        fields = []
        for item in _split_top(text[text.index("<") + 1 : text.rindex(">")]):
            name, _, kind = item.partition(":")
            fields.append(f'"{name.strip()}" {duckdb_type(kind)}')
        return f"STRUCT({', '.join(fields)})"
    raise QueryError("HIVE_UNSUPPORTED_FORMAT", f"Unsupported Hive type: {glue_type}")


def athena_type(duck: str) -> str:
    """The type name Athena's ``ColumnInfo`` gives for a DuckDB result type."""
    upper = duck.upper()
    table = {
        "VARCHAR": "varchar",
        "INTEGER": "integer",
        "BIGINT": "bigint",
        "HUGEINT": "bigint",
        "SMALLINT": "smallint",
        "TINYINT": "tinyint",
        "DOUBLE": "double",
        "FLOAT": "float",
        "BOOLEAN": "boolean",
        "DATE": "date",
        "TIMESTAMP": "timestamp",
        "BLOB": "varbinary",
    }
    if upper in table:
        return table[upper]
    if upper.startswith("DECIMAL"):
        return "decimal"
    if upper.endswith("[]"):
        return "array"
    if upper.startswith("STRUCT"):
        return "row"
    if upper.startswith("MAP"):
        return "map"
    if upper.startswith("TIMESTAMP"):
        return "timestamp"
    return "varchar"


def athena_text(value: Any) -> str | None:
    """A value as ``GetQueryResults`` and the results CSV write it (``None`` for NULL)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if isinstance(value, (dt.date, Decimal, int, float)):
        return str(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, default=str)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)
