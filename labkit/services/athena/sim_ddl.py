"""The Hive DDL statements the sandbox's Athena runs on the Glue Data Catalog (plain Python).

Athena runs DDL in its Hive metastore, the Glue Data Catalog
(https://docs.aws.amazon.com/athena/latest/ug/ddl-reference.html). The sandbox parses the
statements a lake lesson needs into commands the patch applies to moto's catalog:

- ``CREATE DATABASE|SCHEMA [IF NOT EXISTS] name``
- ``MSCK REPAIR TABLE [db.]name``: every ``key=value/...`` folder under the table's location
  that the catalog lacks becomes a partition
  (https://docs.aws.amazon.com/athena/latest/ug/msck-repair-table.html);
- ``ALTER TABLE [db.]name ADD [IF NOT EXISTS] PARTITION (k = 'v', ...) [LOCATION 's3://...']``
  (several ``PARTITION`` clauses allowed);
- ``SHOW DATABASES``, ``SHOW TABLES [IN db]``, ``SHOW PARTITIONS [db.]name``.

- ``CREATE EXTERNAL TABLE [IF NOT EXISTS] [db.]name (col type, ...) [PARTITIONED BY (...)]
  [ROW FORMAT DELIMITED FIELDS TERMINATED BY 'c' | ROW FORMAT SERDE 'class'
  [WITH SERDEPROPERTIES (...)]] [STORED AS PARQUET|TEXTFILE|JSONFILE] LOCATION 's3://...'
  [TBLPROPERTIES (...)]`` (https://docs.aws.amazon.com/athena/latest/ug/create-table.html),
  and ``DROP TABLE [IF EXISTS]`` (the data stays in S3, as for every external table).

DDL is not billed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from labkit.services.athena.sim_engine import QueryError

_NAME = r"`?\"?([A-Za-z0-9_]+)`?\"?"
_QUALIFIED = rf"(?:{_NAME}\.)?{_NAME}"


@dataclass
class Ddl:
    """One parsed statement: what to do, to which database and table, with what."""

    action: str
    database: str = ""
    table: str = ""
    if_not_exists: bool = False
    partitions: list[tuple[dict[str, str], str]] = field(default_factory=list)
    table_input: dict[str, Any] = field(default_factory=dict)


def is_ddl(sql: str) -> bool:
    """Whether ``sql`` starts with a DDL keyword (Athena's ``StatementType`` ``DDL``)."""
    first = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    return first in ("CREATE", "MSCK", "ALTER", "SHOW", "DROP", "DESCRIBE")


def parse(sql: str, default_database: str) -> Ddl:
    """The command a DDL statement asks for; ``QueryError`` for what the sandbox does not run."""
    text = sql.strip().rstrip(";").strip()
    flags = re.IGNORECASE | re.DOTALL
    if m := re.fullmatch(
        rf"CREATE\s+(?:DATABASE|SCHEMA)\s+(IF\s+NOT\s+EXISTS\s+)?{_NAME}.*", text, flags
    ):
        return Ddl("create_database", database=m.group(2).lower(), if_not_exists=bool(m.group(1)))
    if m := re.fullmatch(rf"MSCK\s+REPAIR\s+TABLE\s+{_QUALIFIED}", text, flags):
        return Ddl(
            "repair", database=(m.group(1) or default_database).lower(), table=m.group(2).lower()
        )
    if m := re.fullmatch(r"SHOW\s+(?:DATABASES|SCHEMAS)(?:\s+LIKE\s+.*)?", text, flags):
        return Ddl("show_databases")
    if m := re.fullmatch(rf"SHOW\s+TABLES(?:\s+(?:IN|FROM)\s+{_NAME})?", text, flags):
        return Ddl("show_tables", database=(m.group(1) or default_database).lower())
    if m := re.fullmatch(rf"SHOW\s+PARTITIONS\s+{_QUALIFIED}", text, flags):
        return Ddl(
            "show_partitions",
            database=(m.group(1) or default_database).lower(),
            table=m.group(2).lower(),
        )
    if m := re.fullmatch(
        rf"ALTER\s+TABLE\s+{_QUALIFIED}\s+ADD\s+(IF\s+NOT\s+EXISTS\s+)?(.*)", text, flags
    ):
        command = Ddl(
            "add_partitions",
            database=(m.group(1) or default_database).lower(),
            table=m.group(2).lower(),
            if_not_exists=bool(m.group(3)),
        )
        clauses = re.findall(
            r"PARTITION\s*\(([^)]*)\)\s*(?:LOCATION\s+'([^']*)')?", m.group(4), flags
        )
        if not clauses:
            raise QueryError(
                "SYNTAX_ERROR",
                "line 1:1: ADD expects PARTITION (key = 'value', ...)",
                error_type=1004,
            )
        for spec, location in clauses:
            values = {}
            for pair in spec.split(","):
                key, _, value = pair.partition("=")
                values[key.strip().strip("`").lower()] = value.strip().strip("'\"")
            command.partitions.append((values, location))
        return command
    if m := re.fullmatch(rf"DROP\s+TABLE\s+(IF\s+EXISTS\s+)?{_QUALIFIED}", text, flags):
        return Ddl(
            "drop_table",
            database=(m.group(2) or default_database).lower(),
            table=m.group(3).lower(),
            if_not_exists=bool(m.group(1)),
        )
    if re.match(r"CREATE\s+EXTERNAL\s+TABLE\s", text, flags):
        return _create_table(text, default_database)
    keyword = " ".join(text.split()[:2]).upper()
    raise QueryError(
        "NOT_SUPPORTED",
        f"{keyword} is not simulated by the sandbox's Athena (it runs CREATE DATABASE, CREATE "
        "EXTERNAL TABLE, DROP TABLE, MSCK REPAIR TABLE, ALTER TABLE ADD PARTITION and SHOW)",
    )


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


def _parenthesized(text: str, start: int) -> tuple[str, int]:
    """The text inside the parentheses opening at ``start``, and the index after them."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i], i + 1
    raise QueryError("SYNTAX_ERROR", "line 1:1: unbalanced parentheses", error_type=1004)


def _columns(spec: str) -> list[dict[str, str]]:
    columns = []
    for item in _split_top(spec):
        item = re.sub(r"\s+COMMENT\s+'[^']*'\s*$", "", item, flags=re.IGNORECASE)
        name, _, kind = item.strip().partition(" ")
        if not kind.strip():
            raise QueryError(
                "SYNTAX_ERROR", f"line 1:1: column {name} has no type", error_type=1004
            )
        columns.append({"Name": name.strip('`"').lower(), "Type": re.sub(r"\s+", "", kind).lower()})
    return columns


def _properties(spec: str) -> dict[str, str]:
    return {k: v for k, v in re.findall(r"'([^']*)'\s*=\s*'([^']*)'", spec)}


_STORED = {
    "parquet": ("parquet", "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"),
    "textfile": ("csv", "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"),
    "jsonfile": ("json", "org.openx.data.jsonserde.JsonSerDe"),
}


def _create_table(text: str, default_database: str) -> Ddl:
    flags = re.IGNORECASE | re.DOTALL
    head = re.match(
        rf"CREATE\s+EXTERNAL\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?{_QUALIFIED}\s*", text, flags
    )
    if head is None or head.end() >= len(text) or text[head.end()] != "(":
        raise QueryError(
            "SYNTAX_ERROR",
            "line 1:1: CREATE EXTERNAL TABLE name (column type, ...)",
            error_type=1004,
        )
    spec, after = _parenthesized(text, head.end())
    rest = text[after:]
    columns = _columns(spec)
    partition_keys: list[dict[str, str]] = []
    if m := re.search(r"PARTITIONED\s+BY\s*\(", rest, flags):
        keys, _ = _parenthesized(rest, m.end() - 1)
        partition_keys = _columns(keys)
    location = re.search(r"LOCATION\s+'([^']*)'", rest, flags)
    if location is None:
        raise QueryError(
            "SYNTAX_ERROR", "line 1:1: an external table needs LOCATION 's3://...'", error_type=1004
        )
    classification, serde = "csv", _STORED["textfile"][1]
    serde_params: dict[str, str] = {}
    if m := re.search(r"STORED\s+AS\s+(\w+)", rest, flags):
        kind = m.group(1).lower()
        if kind not in _STORED:
            raise QueryError(
                "NOT_SUPPORTED",
                f"STORED AS {kind.upper()}: the sandbox reads PARQUET, TEXTFILE and JSONFILE",
            )
        classification, serde = _STORED[kind]
    if m := re.search(r"ROW\s+FORMAT\s+SERDE\s+'([^']*)'", rest, flags):
        serde = m.group(1)
        lowered = serde.lower()
        classification = (
            "json" if "json" in lowered else "parquet" if "parquet" in lowered else "csv"
        )
    if m := re.search(r"FIELDS\s+TERMINATED\s+BY\s+'([^']*)'", rest, flags):
        serde_params["field.delim"] = m.group(1).encode().decode("unicode_escape")
    if m := re.search(r"WITH\s+SERDEPROPERTIES\s*\(", rest, flags):
        serde_params.update(_properties(_parenthesized(rest, m.end() - 1)[0]))
    parameters = {"classification": classification, "EXTERNAL": "TRUE"}
    if m := re.search(r"TBLPROPERTIES\s*\(", rest, flags):
        parameters.update(_properties(_parenthesized(rest, m.end() - 1)[0]))
    name = head.group(3).lower()
    return Ddl(
        "create_table",
        database=(head.group(2) or default_database).lower(),
        table=name,
        if_not_exists=bool(head.group(1)),
        table_input={
            "Name": name,
            "TableType": "EXTERNAL_TABLE",
            "StorageDescriptor": {
                "Columns": columns,
                "Location": location.group(1),
                "SerdeInfo": {"SerializationLibrary": serde, "Parameters": serde_params},
            },
            "PartitionKeys": partition_keys,
            "Parameters": parameters,
        },
    )


def hive_folders(
    keys: list[str], prefix: str, partition_keys: list[str]
) -> dict[tuple[str, ...], str]:
    """``values -> folder`` of every ``k1=v1/k2=v2/`` folder under ``prefix`` (keys in order)."""
    found: dict[tuple[str, ...], str] = {}
    for key in keys:
        folders = key[len(prefix) :].split("/")[:-1]
        if len(folders) < len(partition_keys):
            continue
        head = folders[: len(partition_keys)]
        pairs = [f.split("=", 1) for f in head]
        if all(
            len(p) == 2 and p[0].lower() == k for p, k in zip(pairs, partition_keys, strict=True)
        ):
            found.setdefault(tuple(p[1] for p in pairs), prefix + "/".join(head) + "/")
    return found
