"""Glue Data Catalog tables as the Athena engine reads them (plain Python, no moto)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from labkit.services.athena.sim_engine import Partition, TableDef


def table_format(table: Mapping[str, Any]) -> str:
    """``csv``, ``json`` or ``parquet``: from ``classification``, else the SerDe or input format."""
    params = {str(k).lower(): str(v).lower() for k, v in (table.get("Parameters") or {}).items()}
    storage = table.get("StorageDescriptor") or {}
    serde = str((storage.get("SerdeInfo") or {}).get("SerializationLibrary") or "").lower()
    input_format = str(storage.get("InputFormat") or "").lower()
    classification = params.get("classification", "")
    if classification in ("csv", "json", "parquet"):
        return classification
    if "parquet" in serde or "parquet" in input_format:
        return "parquet"
    if "json" in serde:
        return "json"
    return "csv"


def table_def(
    database: str, table: Mapping[str, Any], partitions: Iterable[Mapping[str, Any]]
) -> TableDef:
    """The engine's view of a Glue table (``GetTable``'s ``Table``) and its partitions."""
    storage = table.get("StorageDescriptor") or {}
    params = dict(table.get("Parameters") or {})
    serde_params = dict((storage.get("SerdeInfo") or {}).get("Parameters") or {})
    location = str(storage.get("Location") or "")
    parts = []
    for partition in partitions:
        where = str((partition.get("StorageDescriptor") or {}).get("Location") or "")
        values = tuple(str(v) for v in partition.get("Values") or [])
        if not where:
            # A partition without a location lives where Hive would put it.
            keys = [k["Name"] for k in table.get("PartitionKeys") or []]
            where = (
                location.rstrip("/")
                + "/"
                + "/".join(f"{k}={v}" for k, v in zip(keys, values, strict=False))
            )
        parts.append(Partition(values, where))
    return TableDef(
        database=database,
        name=str(table["Name"]).lower(),
        columns=tuple(
            (str(c["Name"]).lower(), str(c.get("Type") or "string"))
            for c in storage.get("Columns") or []
        ),
        location=location,
        format=table_format(table),
        partition_keys=tuple(
            (str(k["Name"]).lower(), str(k.get("Type") or "string"))
            for k in table.get("PartitionKeys") or []
        ),
        partitions=tuple(parts),
        delimiter=str(serde_params.get("field.delim") or serde_params.get("separatorChar") or ","),
        skip_header=int(str(params.get("skip.header.line.count") or "0")),
    )
