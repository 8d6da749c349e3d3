"""Read-only snapshots of the lake (S3 objects under the catalog's tables) and of Athena queries.

Plain dicts for views and checks; moto's backends are read through :mod:`labkit.sandbox.backends`
(none is created by looking).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from labkit.sandbox.backends import DEFAULT_ACCOUNT_ID, existing, existing_in
from labkit.services.athena.sim_catalog import table_def
from labkit.services.athena.sim_execution import RECORDS, QueryRecord, billed_bytes

#: Rows of a result the query view previews.
PREVIEW_ROWS = 10


def _s3_objects(account_id: str, bucket: str, prefix: str) -> Iterator[tuple[str, int]]:
    for _, backend in existing("s3", account_id):
        found = getattr(backend, "buckets", {}).get(bucket)
        if found is None:
            continue
        for name in list(dict.keys(found.keys)):
            if not name.startswith(prefix):
                continue
            key = found.keys.get(name)
            size = getattr(key, "size", None)
            if size is not None and hasattr(key, "value"):
                yield name, int(size)


def _format_of(key: str) -> str:
    name = key.rsplit("/", 1)[-1].lower()
    for ext in ("parquet", "json", "csv"):
        if ext in name:
            return ext
    return "other"


def _split(url: str) -> tuple[str, str]:
    bucket, _, key = url.removeprefix("s3://").partition("/")
    return bucket, key


def lake_snapshot(
    account_id: str = DEFAULT_ACCOUNT_ID, region: str = "us-east-1"
) -> dict[str, Any]:
    """Every catalog table: schema, partitions, and the S3 objects under it (by format).

    A ``key=value`` folder under a partitioned table's location that the catalog does not hold
    is listed as unregistered: Athena reads none of its objects until the partition is added.
    """
    tables: list[dict[str, Any]] = []
    for glue in existing_in("glue", account_id, region):
        for db_name, database in sorted(getattr(glue, "databases", {}).items()):
            for name, table in sorted(database.tables.items()):
                info = table.as_dict()
                parts = [p.as_dict() for p in table.partitions.values()]
                tdef = table_def(db_name, info, parts)
                bucket, prefix = _split(tdef.location)
                if prefix and not prefix.endswith("/"):
                    prefix += "/"
                objects = list(_s3_objects(account_id, bucket, prefix))
                registered = []
                covered: set[str] = set()
                for partition in tdef.partitions:
                    pb, pp = _split(partition.location)
                    pp = pp if pp.endswith("/") else pp + "/"
                    inside = [(k, s) for k, s in objects if pb == bucket and k.startswith(pp)]
                    covered.update(k for k, _ in inside)
                    registered.append(
                        {
                            "values": list(partition.values),
                            "location": partition.location,
                            "objects": len(inside),
                            "bytes": sum(s for _, s in inside),
                        }
                    )
                unregistered: dict[str, int] = {}
                if tdef.partition_keys:
                    for key, _ in objects:
                        if key in covered:
                            continue
                        folders = key[len(prefix) :].split("/")[:-1]
                        hive = [f for f in folders if "=" in f]
                        if hive:
                            label = "/".join(hive)
                            unregistered[label] = unregistered.get(label, 0) + 1
                formats: dict[str, int] = {}
                for key, _ in objects:
                    formats[_format_of(key)] = formats.get(_format_of(key), 0) + 1
                tables.append(
                    {
                        "database": db_name,
                        "name": name,
                        "format": tdef.format,
                        "location": tdef.location,
                        "columns": [list(c) for c in tdef.columns],
                        "partition_keys": [list(k) for k in tdef.partition_keys],
                        "partitions": registered,
                        "unregistered": sorted(unregistered.items()),
                        "objects": len(objects),
                        "bytes": sum(s for _, s in objects),
                        "file_formats": sorted(formats.items()),
                    }
                )
    return {"account": account_id, "region": region, "tables": tables}


def _records(account_id: str, region: str) -> dict[str, QueryRecord]:
    for backend in existing_in("athena", account_id, region):
        found: dict[str, QueryRecord] = backend.__dict__.get(RECORDS, {})
        return found
    return {}


def query_snapshot(
    execution_id: str, now: float, account_id: str = DEFAULT_ACCOUNT_ID, region: str = "us-east-1"
) -> dict[str, Any] | None:
    """One query: its state, what it read of each table, bytes billed, cost, a preview."""
    record = _records(account_id, region).get(execution_id)
    if record is None:
        return None
    outcome = record.outcome
    return {
        "id": execution_id,
        "query": record.query,
        "database": record.database,
        "workgroup": record.workgroup,
        "state": record.state(now),
        "error": outcome.error.reason if outcome.error else "",
        "output": record.output_location,
        "bytes_scanned": outcome.bytes_scanned,
        "bytes_billed": billed_bytes(outcome.bytes_scanned) if record.billed else 0,
        "cost_usd": record.cost,
        "scans": [vars(scan).copy() for scan in outcome.scans],
        "columns": [list(c) for c in outcome.columns],
        "preview": [list(r) for r in outcome.rows[:PREVIEW_ROWS]],
        "rows": len(outcome.rows),
    }


def query_ids(account_id: str = DEFAULT_ACCOUNT_ID, region: str = "us-east-1") -> list[str]:
    """The ids of the queries the sandbox ran, oldest first."""
    records = _records(account_id, region)
    return sorted(records, key=lambda qid: records[qid].submitted)
