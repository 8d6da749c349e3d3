"""What a Glue crawler infers from an S3 path: tables, formats, schemas, Hive partitions.

Plain Python and DuckDB (no moto). A crawler's S3 target is crawled as Glue describes
(https://docs.aws.amazon.com/glue/latest/dg/crawler-s3-folder-table-partition.html), in the
simple shape a lake usually has:

- objects directly under the include path, or under ``key=value`` folders, make one table named
  after the include path's last folder; each distinct ``key=value/...`` folder path is a
  partition, the keys (in path order) are the partition keys, typed ``string``;
- otherwise each first-level folder of the include path is a table of its own, crawled the same
  way;
- the format comes from the file name (``.parquet``, ``.json``, ``.csv``) or its first bytes;
  the schema from one sample object per table, read by DuckDB (a CSV header becomes the column
  names and ``skip.header.line.count`` 1); files whose names start with ``_`` or ``.`` are
  skipped, as Hive does.

Only one object per table is read, so crawling 10,000 objects is a listing and a few reads.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb

#: labkit's model of a crawl's length on the lab clock: a start-up plus a little per object.
CRAWL_BASE_SECONDS = 45.0
CRAWL_SECONDS_PER_OBJECT = 0.01

_GLUE_TYPES = {
    "VARCHAR": "string",
    "BIGINT": "bigint",
    "INTEGER": "int",
    "SMALLINT": "smallint",
    "TINYINT": "tinyint",
    "DOUBLE": "double",
    "FLOAT": "float",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
}

SERDES = {
    "parquet": (
        "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    ),
    "json": (
        "org.openx.data.jsonserde.JsonSerDe",
        "org.apache.hadoop.mapred.TextInputFormat",
    ),
    "csv": (
        "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
        "org.apache.hadoop.mapred.TextInputFormat",
    ),
}


@dataclass
class InferredTable:
    """A table the crawler found."""

    name: str
    location: str
    format: str
    columns: list[tuple[str, str]]
    partition_keys: list[str] = field(default_factory=list)
    partitions: dict[tuple[str, ...], str] = field(default_factory=dict)
    header: bool = False
    objects: int = 0

    def table_input(self) -> dict[str, Any]:
        """The ``TableInput`` Glue's ``CreateTable`` takes for this table."""
        serde, input_format = SERDES[self.format]
        serde_info: dict[str, Any] = {"SerializationLibrary": serde}
        parameters = {"classification": self.format, "labkit:crawled": "true"}
        if self.format == "csv":
            serde_info["Parameters"] = {"field.delim": ","}
            if self.header:
                parameters["skip.header.line.count"] = "1"
        return {
            "Name": self.name,
            "StorageDescriptor": {
                "Columns": [{"Name": n, "Type": t} for n, t in self.columns],
                "Location": self.location,
                "InputFormat": input_format,
                "SerdeInfo": serde_info,
            },
            "PartitionKeys": [{"Name": k, "Type": "string"} for k in self.partition_keys],
            "TableType": "EXTERNAL_TABLE",
            "Parameters": parameters,
        }


def glue_type(duck: str) -> str:
    """The Glue (Hive) type a crawler gives a column DuckDB read as ``duck``."""
    upper = duck.upper()
    if upper in _GLUE_TYPES:
        return _GLUE_TYPES[upper]
    if upper.startswith("DECIMAL"):
        return upper.lower()
    if upper.startswith("TIMESTAMP"):
        return "timestamp"
    text = duck.strip()
    if text.endswith("[]"):
        return f"array<{glue_type(text[:-2])}>"
    if upper.startswith("STRUCT(") and text.endswith(")"):
        fields = []
        for item in _split_top(text[len("STRUCT(") : -1]):
            name, _, kind = item.strip().partition(" ")
            # Glue keeps a nested field's spelling; Athena's JSON SerDe matches it ignoring case.
            fields.append(f"{name.strip(chr(34))}:{glue_type(kind)}")
        return f"struct<{','.join(fields)}>"
    if upper.startswith("MAP(") and text.endswith(")"):
        key, value = _split_top(text[len("MAP(") : -1])
        return f"map<{glue_type(key)},{glue_type(value)}>"
    return "string"


def _split_top(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def file_format(key: str, head: bytes) -> str:
    """``parquet``, ``json`` or ``csv`` from the name, else from the first bytes."""
    name = key.lower().rsplit("/", 1)[-1]
    for compression in (".gz", ".bz2", ".snappy", ".zst"):
        name = name.removesuffix(compression)
    # The last extension decides (``x.parquet.json`` is JSON).
    kind = {"parquet": "parquet", "json": "json", "jsonl": "json", "csv": "csv"}.get(
        name.rsplit(".", 1)[-1] if "." in name else ""
    )
    if kind:
        return kind
    if head.startswith(b"PAR1"):
        return "parquet"
    return "json" if head.lstrip().startswith(b"{") else "csv"


def sample_schema(kind: str, body: bytes) -> tuple[list[tuple[str, str]], bool]:
    """Columns of one object (``(name, Glue type)``) and whether a CSV object has a header."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, f"sample.{kind}")
        with open(path, "wb") as handle:
            handle.write(body)
        con = duckdb.connect(":memory:")
        try:
            reader = {
                "parquet": f"read_parquet('{path}')",
                "json": f"read_json('{path}', format = 'newline_delimited')",
                "csv": f"read_csv('{path}')",
            }[kind]
            described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
            header = False
            if kind == "csv":
                sniffed = con.execute(f"SELECT HasHeader FROM sniff_csv('{path}')").fetchone()
                header = bool(sniffed and sniffed[0])
        finally:
            con.close()
    columns = [(str(row[0]).lower(), glue_type(str(row[1]))) for row in described]
    if kind != "parquet":
        # Glue's classifiers read dates in text as strings; DuckDB's sniffer would say date.
        columns = [(n, "string" if t in ("date", "timestamp") else t) for n, t in columns]
    if kind == "csv" and not header:
        columns = [(f"col{i}", kind_) for i, (_, kind_) in enumerate(columns)]
    return columns, header


def _visible(key: str) -> bool:
    name = key.rsplit("/", 1)[-1]
    return bool(name) and not name.startswith(("_", ".")) and not key.endswith("_$folder$")


def crawl(
    bucket: str,
    prefix: str,
    objects: list[tuple[str, int]],
    read: Callable[[str], bytes],
    *,
    table_prefix: str = "",
) -> list[InferredTable]:
    """Tables under ``s3://bucket/prefix`` given its objects ``(key, size)`` and a reader."""
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    groups: dict[str, list[list[str]]] = {}
    relative = [
        key[len(prefix) :].split("/")
        for key, _ in objects
        if key.startswith(prefix) and _visible(key)
    ]
    nested = bool(relative) and all(len(parts) > 1 and "=" not in parts[0] for parts in relative)
    root_name = prefix.rstrip("/").rsplit("/", 1)[-1] or bucket
    for parts in relative:
        if nested:
            groups.setdefault(parts[0], []).append(parts[1:])
        else:
            groups.setdefault("", []).append(parts)
    tables = []
    for folder, files in sorted(groups.items()):
        base = f"{prefix}{folder}/" if folder else prefix
        first = files[0]
        key = base + "/".join(first)
        body = read(key)
        kind = file_format(key, body[:4])
        columns, header = sample_schema(kind, body)
        keys = [segment.split("=", 1)[0].lower() for segment in first[:-1] if "=" in segment]
        name = (table_prefix + (folder or root_name)).lower().replace("-", "_")
        table = InferredTable(
            name=name,
            location=f"s3://{bucket}/{base}",
            format=kind,
            columns=[c for c in columns if c[0] not in keys],
            partition_keys=keys,
            header=header,
            objects=len(files),
        )
        if keys:
            for parts in files:
                hive = [p for p in parts[:-1] if "=" in p]
                if len(hive) != len(keys):
                    continue
                values = tuple(p.split("=", 1)[1] for p in hive)
                table.partitions[values] = f"s3://{bucket}/{base}{'/'.join(hive)}/"
        tables.append(table)
    return tables


def crawl_seconds(object_count: int) -> float:
    """How long a crawl of ``object_count`` objects runs on the lab clock (labkit's model)."""
    return CRAWL_BASE_SECONDS + CRAWL_SECONDS_PER_OBJECT * object_count
