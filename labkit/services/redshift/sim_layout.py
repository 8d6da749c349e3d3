"""What distribution and sort keys do to a query, computed from the table's real rows.

A model, not Redshift's planner, built on what AWS documents:

- **Slices.** A cluster's compute nodes are divided into slices (per node type, facts
  ``redshift.slices_per_node.*``); every row lives on one slice
  (https://docs.aws.amazon.com/redshift/latest/dg/c_choosing_dist_sort.html). ``KEY``
  distribution places a row by a hash of its distribution key; ``EVEN`` deals rows round-robin;
  ``ALL`` keeps a copy of the whole table on every node; ``AUTO`` starts as ``ALL`` for a small
  table and changes to ``EVEN`` (or ``KEY``) as it grows: the sandbox models it as ``EVEN``.
  Here a row's slice is ``hash(distkey) % slices`` (``KEY``) or ``rowid % slices`` (``EVEN``).
- **Joins.** For an equi-join, matching rows must be on the same slice. When both tables are
  distributed on the join columns the join is collocated (``DS_DIST_NONE``); when the inner is
  ``ALL`` nothing moves (``DS_DIST_ALL_NONE``); otherwise the rows of the table(s) not distributed
  on the join column are redistributed (``DS_DIST_INNER``, ``DS_DIST_OUTER``, ``DS_DIST_BOTH``)
  (https://docs.aws.amazon.com/redshift/latest/dg/c_data_redistribution.html). The sandbox counts
  the rows whose slice (and node) under the table's distribution differs from the slice the join
  key hashes to: the rows that really would move. Redshift may broadcast a small inner table
  instead (``DS_BCAST_INNER``); the model does not choose broadcasts.
- **Zone maps.** Redshift stores each column in 1 MB blocks and keeps each block's minimum and
  maximum; a range-restricted predicate skips the blocks whose range cannot match, which works
  well when the rows are sorted on that column: the sort key
  (https://docs.aws.amazon.com/redshift/latest/dg/t_Sorting_data.html). The sandbox groups each
  slice's rows (in sort-key order, or load order without a sort key) into blocks of
  ``1 MB / width`` rows (the column's uncompressed width: Redshift compresses, so its blocks hold
  more rows) and counts the blocks whose min/max exclude the predicate's range.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import duckdb

from labkit.services.redshift.sim_sql import Layout

#: Redshift's block size (https://docs.aws.amazon.com/redshift/latest/dg/t_Sorting_data.html).
BLOCK_BYTES = 1024 * 1024
_WIDTHS = {
    "BOOLEAN": 1,
    "TINYINT": 1,
    "SMALLINT": 2,
    "INTEGER": 4,
    "DATE": 4,
    "FLOAT": 4,
    "REAL": 4,
    "BIGINT": 8,
    "DOUBLE": 8,
    "TIMESTAMP": 8,
    "TIMESTAMP WITH TIME ZONE": 8,
    "HUGEINT": 16,
}


@dataclass(frozen=True)
class JoinMove:
    """What a join's redistribution moved.

    Attributes:
        left: ``table.column`` of the outer side; right likewise for the inner side.
        strategy: Redshift's name for the step (``DS_DIST_NONE``, ``DS_DIST_INNER``, ...).
        rows_moved: Rows sent to another slice.
        rows_between_nodes: Of those, rows sent to another node (over the network).
        rows_total: Rows of the tables joined.
    """

    left: str
    right: str
    strategy: str
    rows_moved: int
    rows_between_nodes: int
    rows_total: int


@dataclass(frozen=True)
class BlockScan:
    """Zone maps for one range predicate on one table's column.

    Attributes:
        table: The table; column the predicate's column; predicate its text.
        sorted_on: Whether the column leads the table's sort key.
        blocks_total: The column's blocks over all slices.
        blocks_skipped: Blocks whose min/max exclude the range.
    """

    table: str
    column: str
    predicate: str
    sorted_on: bool
    blocks_total: int
    blocks_skipped: int


def quote(name: str) -> str:
    """A DuckDB identifier (``schema.table`` quoted part by part)."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split("."))


def slice_sql(layout: Layout, slices: int) -> str:
    """The SQL expression of a row's slice under ``layout`` (ALL: slice 0 of each node)."""
    if layout.diststyle == "KEY" and layout.distkey:
        return f"(hash(CAST({quote(layout.distkey)} AS VARCHAR)) % {slices})"
    if layout.diststyle == "ALL":
        return "0"
    return f"(rowid % {slices})"


def join_move(
    con: duckdb.DuckDBPyConnection,
    left: tuple[str, Layout, str],
    right: tuple[str, Layout, str],
    slices: int,
    slices_per_node: int,
) -> JoinMove:
    """The redistribution an equi-join ``left.col = right.col`` needs, counted on the real rows.

    ``left`` and ``right`` are ``(table, layout, join column)``.
    """
    (lt, ll, lc), (rt, rl, rc) = left, right
    left_ok = ll.diststyle == "KEY" and ll.distkey == lc
    right_ok = rl.diststyle == "KEY" and rl.distkey == rc
    totals = [_count(con, lt), _count(con, rt)]
    moving: list[tuple[str, Layout, str]] = []
    if rl.diststyle == "ALL" or ll.diststyle == "ALL" or (left_ok and right_ok):
        strategy = "DS_DIST_ALL_NONE" if "ALL" in (rl.diststyle, ll.diststyle) else "DS_DIST_NONE"
    elif left_ok:
        strategy, moving = "DS_DIST_INNER", [right]
    elif right_ok:
        strategy, moving = "DS_DIST_OUTER", [left]
    else:
        strategy, moving = "DS_DIST_BOTH", [left, right]
    moved = between = 0
    for table, layout, column in moving:
        now = slice_sql(layout, slices)
        target = f"(hash(CAST({quote(column)} AS VARCHAR)) % {slices})"
        row = con.execute(
            f"SELECT count(*) FILTER (WHERE {now} != {target}), "
            f"count(*) FILTER (WHERE {now} // {slices_per_node} != {target} // {slices_per_node})"
            f" FROM {quote(table)}"
        ).fetchone()
        moved += int(row[0]) if row else 0
        between += int(row[1]) if row else 0
    return JoinMove(f"{lt}.{lc}", f"{rt}.{rc}", strategy, moved, between, sum(totals))


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {quote(table)}").fetchone()
    return int(row[0]) if row else 0


def column_width(con: duckdb.DuckDBPyConnection, table: str, column: str) -> int:
    """Bytes a value of ``table.column`` takes uncompressed (text: its mean length + 4)."""
    kind = _column_type(con, table, column)
    if kind in _WIDTHS:
        return _WIDTHS[kind]
    if kind.startswith("DECIMAL"):
        return 8
    row = con.execute(
        f"SELECT avg(strlen(CAST({quote(column)} AS VARCHAR))) FROM {quote(table)}"
    ).fetchone()
    return max(1, int((row[0] or 0) if row else 0) + 4)


def _column_type(con: duckdb.DuckDBPyConnection, table: str, column: str) -> str:
    schema, _, name = table.rpartition(".")
    row = con.execute(
        "SELECT data_type FROM information_schema.columns WHERE table_name = ? AND column_name = ?"
        + (" AND table_schema = ?" if schema else ""),
        [name, column, *([schema] if schema else [])],
    ).fetchone()
    return str(row[0]).upper() if row else "VARCHAR"


def zone_map(
    con: duckdb.DuckDBPyConnection, table: str, layout: Layout, column: str, slices: int
) -> list[tuple[Any, Any]]:
    """``(min, max)`` of each 1 MB block of ``table.column`` over every slice.

    Redshift keeps these as metadata when it writes a block; the sandbox computes them once per
    write (the warehouse caches them until the next statement that changes data).
    """
    per_block = max(1, BLOCK_BYTES // column_width(con, table, column))
    order = ", ".join(quote(c) for c in layout.sortkey) or "rowid"
    where = slice_sql(layout, slices)
    return [
        (row[0], row[1])
        for row in con.execute(
            f"WITH placed AS (SELECT {quote(column)} AS v, {where} AS s, "
            f"row_number() OVER (PARTITION BY {where} ORDER BY {order}) - 1 AS p "
            f"FROM {quote(table)}) SELECT min(v), max(v) FROM placed GROUP BY s, p // {per_block}"
        ).fetchall()
    ]


def block_scan(
    con: duckdb.DuckDBPyConnection,
    table: str,
    layout: Layout,
    column: str,
    bounds: tuple[str | None, str | None],
    predicate: str,
    zones: list[tuple[Any, Any]],
) -> BlockScan:
    """Blocks of ``table.column`` (``zones``: their min/max) a predicate ``lower <= column <=
    upper`` skips. ``bounds`` are SQL expressions (``None``: unbounded on that side)."""
    kind = _column_type(con, table, column)

    def value(expr: str | None) -> Any:
        if expr is None:
            return None
        row = con.execute(f"SELECT CAST(({expr}) AS {kind})").fetchone()
        return row[0] if row else None

    try:
        low, high = value(bounds[0]), value(bounds[1])
        skipped = sum(
            1
            for mn, mx in zones
            if mn is not None
            and ((low is not None and mx < low) or (high is not None and mn > high))
        )
    except (duckdb.Error, TypeError):
        # A bound that is not of the column's type: Redshift could not use the zone map either.
        skipped = 0
    return BlockScan(
        table=table,
        column=column,
        predicate=predicate,
        sorted_on=bool(layout.sortkey) and layout.sortkey[0] == column,
        blocks_total=len(zones),
        blocks_skipped=skipped,
    )


# ---- what a SELECT joins and filters on, read from DuckDB's own parse tree -----------------

_RANGE = {
    "COMPARE_GREATERTHAN": "lower",
    "COMPARE_GREATERTHANOREQUALTO": "lower",
    "COMPARE_LESSTHAN": "upper",
    "COMPARE_LESSTHANOREQUALTO": "upper",
    "COMPARE_EQUAL": "both",
}
_FLIP = {"lower": "upper", "upper": "lower", "both": "both"}


@dataclass(frozen=True)
class Shape:
    """The joins and range predicates of a SELECT.

    Attributes:
        tables: ``alias -> table`` of the base tables named.
        joins: ``((alias, column), (alias, column))`` equi-join pairs.
        ranges: ``(alias, column, lower SQL, upper SQL, text)`` predicates on constants.
    """

    tables: dict[str, str]
    joins: list[tuple[tuple[str, str], tuple[str, str]]]
    ranges: list[tuple[str, str, str | None, str | None, str]]


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _ref(node: dict[str, Any]) -> tuple[str, str] | None:
    if node.get("class") != "COLUMN_REF":
        return None
    names = [str(n).lower() for n in node.get("column_names") or []]
    return (names[-2] if len(names) > 1 else "", names[-1]) if names else None


def _constant(node: dict[str, Any]) -> bool:
    return not any(n.get("class") in ("COLUMN_REF", "SUBQUERY") for n in _walk(node))


def shape(con: duckdb.DuckDBPyConnection, sql: str) -> Shape | None:
    """The joins and ranges of ``sql`` (``None`` when DuckDB cannot parse it)."""
    try:
        row = con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
        tree = json.loads(row[0]) if row else {}
        empty_row = con.execute("SELECT json_serialize_sql('SELECT 1')").fetchone()
        empty = json.loads(empty_row[0]) if empty_row else {}
    except (duckdb.Error, ValueError):
        return None
    if tree.get("error"):
        return None
    tables: dict[str, str] = {}
    joins: list[tuple[tuple[str, str], tuple[str, str]]] = []
    ranges: list[tuple[str, str, str | None, str | None, str]] = []

    def text(node: dict[str, Any]) -> str:
        empty["statements"][0]["node"]["select_list"] = [node]
        out = con.execute("SELECT json_deserialize_sql(?)", [json.dumps(empty)]).fetchone()
        return str(out[0])[len("SELECT ") :] if out else ""

    for node in _walk(tree.get("statements") or []):
        if node.get("type") == "BASE_TABLE" and node.get("table_name"):
            name = str(node["table_name"]).lower()
            schema = str(node.get("schema_name") or "").lower()
            full = f"{schema}.{name}" if schema else name
            tables[str(node.get("alias") or name).lower()] = full
        kind = str(node.get("type") or "")
        if kind == "COMPARE_BETWEEN":
            ref = _ref(node.get("input") or {})
            if ref and _constant(node["lower"]) and _constant(node["upper"]):
                low, high = text(node["lower"]), text(node["upper"])
                ranges.append((*ref, low, high, f"{ref[1]} BETWEEN {low} AND {high}"))
        elif kind in _RANGE:
            left, right = _ref(node.get("left") or {}), _ref(node.get("right") or {})
            if kind == "COMPARE_EQUAL" and left and right:
                joins.append((left, right))
                continue
            side = _RANGE[kind]
            symbol = _SYMBOL[kind]
            if left and _constant(node.get("right") or {}):
                ref, value = left, text(node["right"])
            elif right and _constant(node.get("left") or {}):
                # ``5 < x`` is ``x > 5``.
                ref, value, side = right, text(node["left"]), _FLIP[side]
                symbol = _MIRROR.get(symbol, symbol)
            else:
                continue
            lower = value if side in ("lower", "both") else None
            upper = value if side in ("upper", "both") else None
            ranges.append((*ref, lower, upper, f"{ref[1]} {symbol} {value}"))
    return Shape(tables, joins, ranges)


_SYMBOL = {
    "COMPARE_GREATERTHAN": ">",
    "COMPARE_GREATERTHANOREQUALTO": ">=",
    "COMPARE_LESSTHAN": "<",
    "COMPARE_LESSTHANOREQUALTO": "<=",
    "COMPARE_EQUAL": "=",
}
_MIRROR = {">": "<", ">=": "<=", "<": ">", "<=": ">="}
