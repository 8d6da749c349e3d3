"""A Redshift statement as HTML and as text: SQL, node slices, rows redistributed, blocks skipped.

Plain functions over the dict of :func:`.state.statement_snapshot`. Words and symbols carry every
distinction, never colour: a collocated join reads ``✓ collocated (nothing moved)``, a join that
moved rows ``⇄ redistributed``; a zone-map scan ``✓ sorted on <column>`` or ``✗ not the sort
key``; a failed statement ``✗ FAILED`` with Redshift's error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labkit.services.redshift.state import statement_snapshot
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

_JOIN_COLUMNS = (
    Column("join", mono=True),
    Column("step"),
    Column("rows to another slice"),
    Column("of those, to another node"),
)
_BLOCK_COLUMNS = (
    Column("predicate", mono=True),
    Column("table"),
    Column("sort key?"),
    Column("blocks skipped"),
)


def _summary(snap: Row) -> list[str]:
    status = snap["status"]
    mark = "✓" if status == "FINISHED" else "✗"
    lines = [
        f"{mark} {status} · {snap['kind'] or 'statement'} · {snap['rows']} rows",
        f"SQL: {snap['sql']}",
        f"Cluster {snap['cluster']} ({snap['region']}): {plural(snap['nodes'], 'node')}, "
        f"{snap['slices']} slices",
    ]
    if snap["error"]:
        lines.append(f"Error: {snap['error']}")
    if snap["spectrum_bytes"]:
        cost = f"≈ ${snap['spectrum_cost']:.6f}"
        lines.append(f"Spectrum read {snap['spectrum_bytes']:,} bytes from S3 ({cost})")
    return lines


def _joins(snap: Row) -> list[Group]:
    rows = []
    for join in snap["joins"]:
        moved = join["rows_moved"]
        step = (
            "✓ collocated (nothing moved)" if not moved else f"⇄ redistributed ({join['strategy']})"
        )
        if not moved and join["strategy"] == "DS_DIST_ALL_NONE":
            step = "✓ replicated table (DISTSTYLE ALL)"
        rows.append(
            (
                f"{join['left']} = {join['right']}",
                step,
                f"{moved:,} of {join['rows_total']:,}",
                f"{join['rows_between_nodes']:,}",
            )
        )
    return [Group("joins", plural(len(rows), "join"), tuple(rows))] if rows else []


def _blocks(snap: Row) -> list[Group]:
    rows = tuple(
        (
            block["predicate"],
            block["table"],
            f"✓ sorted on {block['column']}" if block["sorted_on"] else "✗ not the sort key",
            f"{block['blocks_skipped']} of {block['blocks_total']}",
        )
        for block in snap["blocks"]
    )
    return [Group("zone maps", plural(len(rows), "predicate"), rows)] if rows else []


def _preview_rows(snap: Row) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple("NULL" if v is None else str(v) for v in row) for row in snap["preview"])


def statement_html(snap: Row) -> str:
    """The statement as HTML."""
    body = lines_html(_summary(snap))
    if snap["joins"]:
        body += table_html(_JOIN_COLUMNS, _joins(snap))
    if snap["blocks"]:
        body += table_html(_BLOCK_COLUMNS, _blocks(snap))
    if snap["columns"]:
        rows = _preview_rows(snap)
        body += table_html(
            [Column(name) for name, _ in snap["columns"]],
            [Group("preview", f"first {len(rows)} of {snap['rows']}", rows)],
        )
    return panel_html(
        kind="redshift-query",
        heading=f"Redshift statement {snap['id'][:8]}",
        subheading=f"{snap['database']} on {snap['cluster']}",
        body=body,
    )


def statement_text(snap: Row) -> str:
    """The text twin of :func:`statement_html`."""
    lines = _summary(snap)
    if snap["joins"]:
        lines += text_table(_JOIN_COLUMNS, _joins(snap))
    if snap["blocks"]:
        lines += text_table(_BLOCK_COLUMNS, _blocks(snap))
    if snap["columns"]:
        rows = _preview_rows(snap)
        lines += text_table(
            [Column(name) for name, _ in snap["columns"]],
            [Group("preview", f"first {len(rows)} of {snap['rows']}", rows)],
        )
    return panel_text(
        f"Redshift statement {snap['id'][:8]}",
        lines,
        subheading=f"{snap['database']} on {snap['cluster']}",
    )


class RedshiftView(Panel):
    """A statement at one moment, shown as HTML in Jupyter and as text elsewhere."""

    def __init__(self, snap: Row) -> None:
        super().__init__(snap, statement_html, statement_text)


def redshift_view(statement: str | None = None) -> RedshiftView:
    """The view of a Data API statement (its ``Id``; the latest when ``None``)."""
    return RedshiftView(statement_snapshot(statement))


__all__ = ["RedshiftView", "redshift_view", "statement_html", "statement_text"]
