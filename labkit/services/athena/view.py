"""The lake and an Athena query as HTML and as text.

Plain functions over the dicts of :mod:`.state`. Words and symbols carry every distinction, never
colour: a partition the catalog holds reads ``✓ registered``, a ``key=value`` folder it does not
``✗ not in the catalog (Athena skips it)``; a table a query read ``● read``, partitions it never
opened ``○ pruned``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labkit.errors import LabkitError
from labkit.views.base import (
    Column,
    Group,
    Panel,
    lines_html,
    panel_html,
    panel_text,
    plural,
    table_html,
    text_table,
)

Row = Mapping[str, Any]

_TABLE_COLUMNS = (
    Column("partition / folder", mono=True),
    Column("in the catalog"),
    Column("objects"),
    Column("size"),
)
_SCAN_COLUMNS = (
    Column("table", mono=True),
    Column("format"),
    Column("partitions"),
    Column("objects opened"),
    Column("bytes read"),
)


def size_text(count: int) -> str:
    """Bytes in the largest unit that keeps a number of at least 1 (``1.5 MB``)."""
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"  # pragma: no cover - the loop returns at GB


def _schema(table: Row) -> str:
    cols = ", ".join(f"{n} {t}" for n, t in table["columns"])
    keys = ", ".join(f"{n} {t}" for n, t in table["partition_keys"])
    return f"columns: {cols}" + (f" · partitioned by: {keys}" if keys else " · not partitioned")


def _table_groups(snapshot: Row) -> list[Group]:
    groups = []
    for table in snapshot["tables"]:
        rows: list[tuple[str, ...]] = []
        for partition in table["partitions"]:
            label = "/".join(
                f"{k}={v}"
                for (k, _), v in zip(table["partition_keys"], partition["values"], strict=False)
            )
            rows.append(
                (label, "✓ registered", str(partition["objects"]), size_text(partition["bytes"]))
            )
        for label, count in table["unregistered"]:
            rows.append((label, "✗ not in the catalog (Athena skips it)", str(count), ""))
        if not table["partition_keys"]:
            rows.append(
                ("(whole table)", "✓ table", str(table["objects"]), size_text(table["bytes"]))
            )
        formats = ", ".join(f"{n} {kind}" for kind, n in table["file_formats"]) or "no objects"
        groups.append(
            Group(
                title=f"{table['database']}.{table['name']} ({table['format']}) at "
                f"{table['location']}",
                count=f"{plural(table['objects'], 'object')}, {size_text(table['bytes'])}; "
                f"files: {formats}",
                rows=tuple(rows),
            )
        )
    return groups


def lake_html(snapshot: Row) -> str:
    """The lake: each catalog table, its schema, partitions and objects."""
    if not snapshot["tables"]:
        body = lines_html(["The Glue Data Catalog holds no table yet (create one, or crawl S3)."])
    else:
        schemas = lines_html(
            f"{t['database']}.{t['name']}: {_schema(t)}" for t in snapshot["tables"]
        )
        body = schemas + table_html(_TABLE_COLUMNS, _table_groups(snapshot))
    return panel_html(
        kind="lake",
        heading="The data lake",
        subheading=f"{plural(len(snapshot['tables']), 'table')} · {snapshot['region']}",
        body=body,
    )


def lake_text(snapshot: Row) -> str:
    """The text twin of :func:`lake_html`."""
    if not snapshot["tables"]:
        lines = ["The Glue Data Catalog holds no table yet (create one, or crawl S3)."]
    else:
        lines = [f"{t['database']}.{t['name']}: {_schema(t)}" for t in snapshot["tables"]]
        lines += text_table(_TABLE_COLUMNS, _table_groups(snapshot), group_label="table")
    return panel_text(
        "The data lake",
        lines,
        subheading=f"{plural(len(snapshot['tables']), 'table')} · {snapshot['region']}",
    )


def _scan_rows(query: Row) -> tuple[tuple[str, ...], ...]:
    rows = []
    for scan in query["scans"]:
        total = scan["partitions_total"]
        read = scan["partitions_read"]
        parts = f"● {read} of {total} read, ○ {total - read} pruned" if total else "not partitioned"
        files = f"{scan['files_read']} of {scan['files_total']}"
        if scan["format"] == "lambda":
            # A federated table: no files, the rows its connector's ReadRecords returned.
            parts, files = "federated: read by its Lambda connector", "ReadRecords response"
        rows.append(
            (
                scan["table"],
                scan["format"],
                parts,
                files,
                f"{size_text(scan['bytes_read'])} of {size_text(scan['bytes_total'])}",
            )
        )
    return tuple(rows)


def _summary(query: Row) -> list[str]:
    lines = [f"{query['state']} · {query['query']}"]
    if query["error"]:
        lines.append(f"✗ {query['error']}")
    lines.append(
        f"scanned {size_text(query['bytes_scanned'])} ({query['bytes_scanned']} bytes); billed "
        f"{size_text(query['bytes_billed'])} (whole MB, 10 MB at least; failed queries free): "
        f"${query['cost_usd']:.8f}"
    )
    if query["output"]:
        lines.append(f"results: {query['output']} ({plural(query['rows'], 'row')})")
    return lines


def _preview(query: Row) -> list[str]:
    if not query["columns"]:
        return []
    header = [Column(name) for name, _ in query["columns"]]
    rows = tuple(tuple("NULL" if v is None else str(v) for v in row) for row in query["preview"])
    shown = f"first {len(rows)} of {query['rows']}"
    return text_table(header, [Group("preview", shown, rows)])


def query_html(query: Row) -> str:
    """One query: state, partitions pruned, bytes scanned and billed, cost, a preview."""
    body = lines_html(_summary(query))
    body += table_html(
        _SCAN_COLUMNS, [Group("read", plural(len(query["scans"]), "table"), _scan_rows(query))]
    )
    if query["columns"]:
        header = [Column(name) for name, _ in query["columns"]]
        rows = tuple(
            tuple("NULL" if v is None else str(v) for v in row) for row in query["preview"]
        )
        body += table_html(
            header, [Group("preview", f"first {len(rows)} of {query['rows']}", rows)]
        )
    return panel_html(
        kind="athena-query",
        heading=f"Athena query {query['id'][:8]}",
        subheading=f"{query['database']} · workgroup {query['workgroup']}",
        body=body,
    )


def query_text(query: Row) -> str:
    """The text twin of :func:`query_html`."""
    lines = _summary(query)
    lines += text_table(
        _SCAN_COLUMNS, [Group("read", plural(len(query["scans"]), "table"), _scan_rows(query))]
    )
    lines += _preview(query)
    return panel_text(
        f"Athena query {query['id'][:8]}",
        lines,
        subheading=f"{query['database']} · workgroup {query['workgroup']}",
    )


class UnknownQueryError(LabkitError):
    """No Athena query with that id (or none run yet)."""

    code = "UnknownQuery"


def lake_view(region: str) -> Panel:
    """The lake now: each catalog table's schema, partitions (registered or not) and objects."""
    from labkit.services.athena.state import lake_snapshot

    return Panel(lake_snapshot(region=region), lake_html, lake_text)


def query_view(execution_id: str | None, now: float, region: str) -> Panel:
    """One Athena query (the latest when ``execution_id`` is ``None``)."""
    from labkit.services.athena.state import query_ids, query_snapshot

    if execution_id is None:
        ids = query_ids(region=region)
        if not ids:
            raise UnknownQueryError("No Athena query has run in this lab yet.")
        execution_id = ids[-1]
    snapshot = query_snapshot(execution_id, now, region=region)
    if snapshot is None:
        raise UnknownQueryError(f"There is no Athena query {execution_id!r} in {region}.")
    return Panel(snapshot, query_html, query_text)
