"""Athena's query engine in the sandbox: catalog tables read by DuckDB from the sandbox's S3.

A query names tables of the Glue Data Catalog. For each table it names, the engine lists the
objects the table covers (under its ``Location``; for a partitioned table, under each partition
the catalog holds, so objects of unregistered partitions are not read, as in Athena) and gives
them to DuckDB as a view of the table's declared columns, read by the table's format (CSV through
the text SerDe, JSON lines, Parquet). Partition values come from the catalog; DuckDB prunes
partitions on them before opening a file, and reads only the columns and row groups a Parquet
query needs. What DuckDB reads is counted by :mod:`.sim_lakefs`: that is ``DataScannedInBytes``.

Athena runs Trino SQL; the sandbox runs DuckDB's. Where they differ (the lesson says so):

- ``/`` on integers divides as Trino does (``5 / 2`` is ``2``): DuckDB's ``integer_division``.
- Text formats: a value that does not parse as its column's type reads as NULL in both (the
  sandbox casts with ``TRY_CAST``); quoted CSV fields are unquoted by DuckDB, while Athena's
  ``LazySimpleSerDe`` keeps the quotes (``OpenCSVSerde`` removes them).
- Trino-only functions (``date_parse``, ``from_iso8601_timestamp``, ``approx_distinct``,
  ``element_at`` on maps...) fail here with ``FUNCTION_NOT_FOUND``; DuckDB-only ones
  (``strptime``, ``list_*``) work here and fail on Athena.
- Trino refuses to compare a varchar with an integer (``TYPE_MISMATCH``); DuckDB casts.
- Table functions (``read_csv``, ``read_parquet``...) are DuckDB's, not Athena's: refused.
- An expression without an alias is named ``_col0``, ``_col1``... as Trino names it (DuckDB
  would name it after its text).
- DDL is not DuckDB's: the statements a lake needs run on the catalog (:mod:`.sim_ddl`).

Errors are reported as Athena words them: ``SYNTAX_ERROR``, ``TABLE_NOT_FOUND``,
``SCHEMA_NOT_FOUND``, ``COLUMN_NOT_FOUND``, ``FUNCTION_NOT_FOUND``, ``NOT_SUPPORTED``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import duckdb

from labkit.services.athena.sim_lakefs import (
    LakeFileSystem,
    ObjectStore,
    ScanCounter,
    ScanLimitExceeded,
    object_of,
    virtual_path,
)

# Re-exported: these lived here before the split, and callers import them from the engine.
from labkit.services.athena.sim_types import QueryError as QueryError
from labkit.services.athena.sim_types import athena_text as athena_text
from labkit.services.athena.sim_types import athena_type as athena_type
from labkit.services.athena.sim_types import duckdb_type as duckdb_type

FORMATS = ("csv", "json", "parquet")


@dataclass(frozen=True)
class Partition:
    """One catalog partition: its values (in partition-key order) and its S3 location."""

    values: tuple[str, ...]
    location: str


@dataclass(frozen=True)
class TableDef:
    """A catalog table as the engine needs it (read from Glue by the patch, or built in tests).

    Attributes:
        database: The Glue database.
        name: The table's name.
        columns: ``(name, Glue type)`` of the data columns, in order.
        location: ``s3://bucket/prefix/`` of the data.
        format: ``csv``, ``json`` or ``parquet``.
        partition_keys: ``(name, Glue type)`` of the partition keys.
        partitions: The partitions the catalog holds (only these are read).
        delimiter: The field delimiter of a CSV table.
        skip_header: Header lines to skip per CSV object (``skip.header.line.count``).
        hidden_keys: Partition keys the caller may not read (Lake Formation): not in the view.
    """

    database: str
    name: str
    columns: tuple[tuple[str, str], ...]
    location: str
    format: str
    partition_keys: tuple[tuple[str, str], ...] = ()
    partitions: tuple[Partition, ...] = ()
    delimiter: str = ","
    skip_header: int = 0
    hidden_keys: tuple[str, ...] = ()


@dataclass
class TableScan:
    """What a query read of one table."""

    table: str
    format: str
    partitions_total: int
    partitions_read: int
    files_total: int
    files_read: int
    bytes_total: int
    bytes_read: int


@dataclass
class QueryOutcome:
    """A finished query: its result, or its error, and what it read."""

    columns: list[tuple[str, str]] = field(default_factory=list)
    rows: list[tuple[str | None, ...]] = field(default_factory=list)
    bytes_scanned: int = 0
    scans: list[TableScan] = field(default_factory=list)
    error: QueryError | None = None
    cancelled: bool = False
    statement_type: str = "DML"


Catalog = Callable[[str, str], "TableDef | None"]
DatabaseExists = Callable[[str], bool]
#: The columns the caller may read of ``(database, table)``: ``None`` when Lake Formation does
#: not govern the table (IAM alone decides), an empty set when the caller has no SELECT on it.
ColumnGrants = Callable[[str, str], "frozenset[str] | None"]


@dataclass(frozen=True)
class CellGrant:
    """One Lake Formation grant's share of a table, as the engine applies it.

    Attributes:
        columns: The columns (partition keys included) the grant covers.
        rows: The rows it covers, as a DuckDB predicate (a data cells filter's row filter);
            ``None`` for every row (a grant on the table, or ``AllRowsWildcard``).
    """

    columns: frozenset[str]
    rows: str | None = None


#: Lake Formation's grants to the caller on ``(database, table)``: ``None`` when Lake Formation
#: does not govern the table (IAM alone decides), an empty tuple when the caller holds none.
TableAccess = Callable[[str, str], "tuple[CellGrant, ...] | None"]


@dataclass
class FederatedTable:
    """A table a federated catalog's connector returned: its columns, rows and bytes read.

    Attributes:
        columns: ``(name, Glue type)`` in the connector's order.
        rows: One dict per row (column name -> JSON value).
        bytes_read: What Athena counts as scanned from the source for this table.
        source: Where the rows came from (for the query view: ``lambda:<function>``).
    """

    columns: tuple[tuple[str, str], ...]
    rows: list[dict[str, Any]]
    bytes_read: int
    source: str = ""


class FederatedSource(Protocol):
    """A data source connection of an Athena data catalog (a Lambda connector)."""

    def table(
        self, schema: str, name: str, wanted: frozenset[str] | None = None
    ) -> FederatedTable | None:
        """The table ``schema.name`` with its rows, or ``None`` when the source has no such table.

        ``wanted`` names the columns the query may use (``None``: every column): Athena asks a
        connector for those only, so the columns left out are neither read nor billed.

        Raises:
            QueryError: The connector failed (its message becomes the query's error).
        """


# -- the query --------------------------------------------------------------------------------
def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table_refs(
    con: duckdb.DuckDBPyConnection, sql: str
) -> tuple[list[tuple[str, str, str]], bool, frozenset[str] | None]:
    """``(catalog, schema, table)`` the query names (not its CTEs), whether it calls a table
    function, and every name its column references use (``None`` when it selects a ``*``); the
    catalog and schema are empty where the query leaves them out."""
    try:
        tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])  # type: ignore[index]
    except duckdb.Error as err:  # pragma: no cover - json_serialize_sql reports errors in the tree
        raise QueryError("SYNTAX_ERROR", str(err)) from err
    if tree.get("error"):
        raise _syntax_error(sql, str(tree.get("error_message", "")))
    refs: list[tuple[str, str, str]] = []
    ctes: set[str] = set()
    calls_function = False
    names: set[str] = set()
    star = False

    def walk(node: Any) -> None:
        nonlocal calls_function, star
        if isinstance(node, dict):
            if node.get("class") == "COLUMN_REF":
                names.update(str(n).lower() for n in node.get("column_names") or [])
            if node.get("class") == "STAR":
                star = True
            if node.get("type") == "BASE_TABLE":
                refs.append(
                    (
                        str(node.get("catalog_name") or ""),
                        str(node.get("schema_name") or ""),
                        str(node.get("table_name")),
                    )
                )
            if node.get("type") == "TABLE_FUNCTION":
                calls_function = True
            cte_map = node.get("cte_map")
            if isinstance(cte_map, dict):
                for entry in cte_map.get("map", []):
                    ctes.add(str(entry.get("key", "")).lower())
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(tree.get("statements", []))
    kept = [(c, s, t) for c, s, t in refs if c or s or t.lower() not in ctes]
    return list(dict.fromkeys(kept)), calls_function, None if star else frozenset(names)


def _position(sql: str, token: str) -> str:
    index = sql.find(token) if token else -1
    if index < 0:
        return "line 1:1"
    line = sql.count("\n", 0, index) + 1
    column = index - (sql.rfind("\n", 0, index) + 1) + 1
    return f"line {line}:{column}"


def _syntax_error(sql: str, message: str) -> QueryError:
    first = message.split("\n", 1)[0].replace("Parser Error: ", "")
    near = re.search(r'at or near "([^"]*)"', first)
    token = near.group(1) if near else ""
    where = _position(sql, token)
    text = f"mismatched input '{token}'" if token else first
    return QueryError("SYNTAX_ERROR", f"{where}: {text}", error_type=1004)


def table_files(
    table: TableDef, store: ObjectStore
) -> tuple[list[str], list[tuple[str, int, str]], dict[str, int]]:
    """The virtual paths of a table's objects; per object its path, size and partition name."""
    entries: list[tuple[str, int, str]] = []
    partition_sizes: dict[str, int] = {}
    if table.partition_keys:
        for partition in table.partitions:
            values = dict(zip([k for k, _ in table.partition_keys], partition.values, strict=False))
            label = "/".join(f"{k}={v}" for k, v in values.items())
            partition_sizes.setdefault(label, 0)
            for bucket, key, size in _objects(partition.location, store):
                entries.append((virtual_path(bucket, key, values), size, label))
                partition_sizes[label] += size
    else:
        for bucket, key, size in _objects(table.location, store):
            entries.append((virtual_path(bucket, key), size, ""))
    return [path for path, _, _ in entries], entries, partition_sizes


def _objects(location: str, store: ObjectStore) -> Iterator[tuple[str, str, int]]:
    if not location.startswith("s3://"):
        raise QueryError(
            "HIVE_METASTORE_ERROR", f"Table location is not an S3 location: {location}"
        )
    bucket, _, prefix = location[len("s3://") :].partition("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    try:
        listed = store.list(bucket, prefix)
    except KeyError as err:
        raise QueryError(
            "HIVE_CANNOT_OPEN_SPLIT",
            f"The specified bucket does not exist: {bucket}",
        ) from err
    for key, size in listed:
        name = key.rsplit("/", 1)[-1]
        # Hive (and so Athena) skips files whose names start with _ or . (markers, checksums),
        # and "folders" (keys ending in /).
        if not name or name.startswith(("_", ".")) or key.endswith("_$folder$"):
            continue
        yield bucket, key, size


def _granted(table: TableDef, columns: frozenset[str] | None) -> TableDef:
    """The table as the caller may see it under Lake Formation's grants."""
    if columns is None:
        return table
    if not columns:
        raise QueryError(
            "PERMISSION_DENIED",
            f"Insufficient Lake Formation permission(s): Required Select on {table.name}",
            error_type=1000,
        )
    return replace(
        table,
        columns=tuple(c for c in table.columns if c[0] in columns),
        hidden_keys=tuple(k for k, _ in table.partition_keys if k not in columns),
    )


def restricted_view(table: TableDef, grants: Sequence[CellGrant], inner: str) -> str:
    """The view of ``table`` a caller holding ``grants`` sees, over ``inner`` (the whole table).

    Lake Formation's grants add up: a column shows if some grant covers it, a row if some grant
    covers it, and a cell only if one grant covers both its column and its row (other cells of a
    visible row read NULL): the sandbox's reading of cell-level security
    (https://docs.aws.amazon.com/lake-formation/latest/dg/data-filtering.html). No grant with a
    column fails the query as Athena does.
    """
    every = [c for c, _ in table.columns] + [k for k, _ in table.partition_keys]
    visible = [c for c in every if any(c in g.columns for g in grants)]
    if not visible:
        raise QueryError(
            "PERMISSION_DENIED",
            f"Insufficient Lake Formation permission(s): Required Select on {table.name}",
            error_type=1000,
        )
    exprs = []
    for column in visible:
        covering = [g for g in grants if column in g.columns]
        if any(g.rows is None for g in covering):
            exprs.append(_quote(column))
        else:
            rows = " OR ".join(f"({g.rows})" for g in covering)
            exprs.append(f"CASE WHEN {rows} THEN {_quote(column)} END AS {_quote(column)}")
    counted = [g for g in grants if g.columns]
    where = ""
    if not any(g.rows is None for g in counted):
        where = " WHERE " + " OR ".join(f"({g.rows})" for g in counted)
    return f"SELECT {', '.join(exprs)} FROM ({inner}) AS lf_table{where}"


def federated_view(table: FederatedTable, path: str) -> str:
    """A view over a federated table's rows, written as JSON lines at ``path`` (engine-made)."""
    if not table.rows:
        cols = ", ".join(f"CAST(NULL AS {duckdb_type(t)}) AS {_quote(c)}" for c, t in table.columns)
        return f"SELECT {cols} LIMIT 0"
    typed = ", ".join(
        f"'{c.replace(chr(39), chr(39) * 2)}': '{duckdb_type(t)}'" for c, t in table.columns
    )
    source = f"read_json(['{path}'], format = 'newline_delimited', columns = {{{typed}}})"
    return f"SELECT {', '.join(_quote(c) for c, _ in table.columns)} FROM {source}"


_SCHEMA_FILES: dict[str, bytes] = {}


def schema_file(table: TableDef) -> bytes:
    """An empty Parquet file with the table's declared columns.

    DuckDB binds a multi-file Parquet scan to its first file's schema, reading that file's footer
    before it prunes partitions; Athena plans from the catalog and reads no file to do so. The
    scan's first file is this one, made in memory and never billed, so every counted byte is one
    the query needed.
    """
    types = ", ".join(f"CAST(NULL AS {duckdb_type(t)}) AS {_quote(c)}" for c, t in table.columns)
    if types not in _SCHEMA_FILES:
        import os
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            target = os.path.join(folder, "schema.parquet")
            con = duckdb.connect(":memory:")
            try:
                con.execute(f"COPY (SELECT {types} LIMIT 0) TO '{target}' (FORMAT PARQUET)")
            finally:
                con.close()
            with open(target, "rb") as handle:
                _SCHEMA_FILES[types] = handle.read()
    return _SCHEMA_FILES[types]


#: Bytes of a JSON table's first object read (unbilled) to learn how its keys are spelled.
JSON_KEY_SAMPLE = 64 * 1024


def json_key_spellings(table: TableDef, store: ObjectStore, first: str | None) -> dict[str, str]:
    """``column -> key as the data spells it`` for a JSON table.

    The catalog's column names are lower case (Glue lowers them), while the data may say
    ``userId``; Athena's JSON SerDe matches keys ignoring case, DuckDB's reader does not. A
    sample of the first object tells the spelling (read outside the query: not billed).
    """
    if first is None:
        return {}
    bucket, key = object_of(first)
    try:
        size = store.size(bucket, key)
        head = store.read(bucket, key, 0, min(size, JSON_KEY_SAMPLE))
    except KeyError:
        return {}
    spellings: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").splitlines()[:50]:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            for name in record:
                spellings.setdefault(str(name).lower(), str(name))
    return spellings


def view_sql(table: TableDef, paths: list[str], spellings: dict[str, str] | None = None) -> str:
    files = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"
    hive = ""
    if table.partition_keys:
        types = ", ".join(f"'{k}': '{duckdb_type(t)}'" for k, t in table.partition_keys)
        hive = f", hive_partitioning = true, hive_types = {{{types}}}, hive_types_autocast = false"
    else:
        hive = ", hive_partitioning = false"
    keys = [_quote(k) for k, _ in table.partition_keys if k not in table.hidden_keys]
    if table.format == "csv":
        raw = ", ".join(f"'{c}': 'VARCHAR'" for c, _ in table.columns)
        header = str(table.skip_header > 0).lower()
        source = (
            f"read_csv({files}, columns = {{{raw}}}, header = {header}, "
            f"delim = '{table.delimiter}', null_padding = true, strict_mode = false, "
            f"auto_detect = false{hive})"
        )
        cols = [
            f"TRY_CAST({_quote(c)} AS {duckdb_type(t)}) AS {_quote(c)}" for c, t in table.columns
        ]
    elif table.format == "json":
        spelled = {c: (spellings or {}).get(c, c) for c, _ in table.columns}
        typed = ", ".join(
            f"'{spelled[c].replace(chr(39), chr(39) * 2)}': '{duckdb_type(t)}'"
            for c, t in table.columns
        )
        source = f"read_json({files}, format = 'newline_delimited', columns = {{{typed}}}{hive})"
        cols = [f"{_quote(spelled[c])} AS {_quote(c)}" for c, _ in table.columns]
    else:
        source = f"read_parquet({files}{hive})"
        cols = [f"CAST({_quote(c)} AS {duckdb_type(t)}) AS {_quote(c)}" for c, t in table.columns]
    return f"SELECT {', '.join(cols + keys)} FROM {source}"


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _column_name(name: str, index: int) -> str:
    """Athena's name for a result column: an expression without an alias is ``_col<index>``.

    DuckDB names such a column after its text (``count_star()``, ``sum(amount)``); Trino does
    not, so a learner's code that reads ``_col0`` works in both.
    """
    return name if _IDENTIFIER.fullmatch(name) else f"_col{index}"


_STATEMENT = re.compile(r"^\s*(?:--[^\n]*\n\s*)*(\w+)", re.IGNORECASE)


def _error_from(err: Exception, sql: str, db_names: Sequence[str]) -> QueryError:
    text = str(err)
    first = text.split("\n", 1)[0]
    if isinstance(err, duckdb.ParserException):
        return _syntax_error(sql, text)
    column = re.search(r'Referenced column "([^"]+)" not found', first) or re.search(
        r'column "([^"]+)" (?:not found|does not exist)', first, re.IGNORECASE
    )
    if column:
        name = column.group(1)
        return QueryError(
            "COLUMN_NOT_FOUND",
            f"{_position(sql, name)}: Column '{name}' cannot be resolved or requester is not "
            "authorized to access requested resources",
            error_type=1006,
        )
    function = re.search(r"Scalar Function with name (\w+) does not exist", first) or re.search(
        r"Function with name (\w+) does not exist", first
    )
    if function:
        name = function.group(1)
        return QueryError(
            "FUNCTION_NOT_FOUND",
            f"{_position(sql, name)}: Function '{name}' not registered (the sandbox runs DuckDB's "
            "functions; see the lesson on dialects)",
            error_type=1006,
        )
    if isinstance(err, (duckdb.ConversionException, duckdb.InvalidInputException)):
        return QueryError("INVALID_CAST_ARGUMENT", first, error_type=1001)
    if isinstance(err, duckdb.BinderException):
        return QueryError("TYPE_MISMATCH", first, error_type=1006)
    return QueryError("GENERIC_USER_ERROR", first)


def _connect(fs: LakeFileSystem) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:", config={"threads": 2})
    con.register_filesystem(fs)
    # Trino divides integers as integers; the learner's query never touches the local disk
    # or the network; DuckDB's cache of remote blocks is off so that every read is counted.
    for setting in (
        "SET integer_division = true",
        "SET enable_external_file_cache = false",
        # DuckDB would push a view's TRY_CAST into the CSV reader as a strict cast, failing a
        # query on a bad value where Athena's text SerDe reads NULL.
        "SET disabled_optimizers = 'type_pushdown'",
        "SET autoinstall_known_extensions = false",
        "SET autoload_known_extensions = false",
        "SET disabled_filesystems = 'LocalFileSystem'",
    ):
        try:
            con.execute(setting)
        except duckdb.Error:  # pragma: no cover - a setting older DuckDB versions lack
            continue
    return con


def _empty_view(table: TableDef) -> str:
    cols = ", ".join(
        f"CAST(NULL AS {duckdb_type(t)}) AS {_quote(c)}"
        for c, t in table.columns + table.partition_keys
        if c not in table.hidden_keys
    )
    return f"SELECT {cols} LIMIT 0"


def run_query(
    sql: str,
    *,
    database: str,
    catalog: Catalog,
    database_exists: DatabaseExists,
    store: ObjectStore,
    scan_limit: int | None = None,
    catalog_name: str = "awsdatacatalog",
    column_grants: ColumnGrants | None = None,
    table_access: TableAccess | None = None,
    federated: Mapping[str, FederatedSource] | None = None,
    default_catalog: str | None = None,
) -> QueryOutcome:
    """Run ``sql`` as Athena would, against the catalog's tables and the store's objects.

    Args:
        sql: The query (one statement, Trino SQL as far as DuckDB shares it).
        database: The query's default database (``QueryExecutionContext.Database``).
        catalog: Finds a table by ``(database, name)``; ``None`` if the catalog has none.
        database_exists: Whether the catalog has a database.
        store: The S3 objects.
        scan_limit: The workgroup's ``BytesScannedCutoffPerQuery``: past it the query is cancelled.
        catalog_name: Named in error messages, as Athena does.
        column_grants: Lake Formation's column grants for the caller: a table it governs shows
            only the granted columns (``SELECT *`` returns those; naming another column fails
            with ``COLUMN_NOT_FOUND``, "cannot be resolved or requester is not authorized", as
            Athena words it); no grant at all fails the query.
        table_access: Lake Formation's grants for the caller, data cells filters included
            (:func:`restricted_view`); used instead of ``column_grants`` when given.
        federated: The data catalogs of type LAMBDA by lower-case name: a table named
            ``"catalog"."schema"."table"`` is read through its connector.
        default_catalog: The catalog of a table named without one
            (``QueryExecutionContext.Catalog``); ``catalog_name`` by default.

    Returns:
        The outcome: columns and rows, or the error; bytes scanned in either case.
    """
    counter = ScanCounter()
    fs = LakeFileSystem(store, counter)
    outcome = QueryOutcome()
    statement = (_STATEMENT.match(sql) or [None, ""])[1]
    keyword = str(statement).upper()
    if keyword not in ("SELECT", "WITH", "VALUES", "TABLE", "("):
        outcome.error = QueryError(
            "NOT_SUPPORTED",
            f"the sandbox's Athena runs queries (SELECT, WITH); {keyword or 'this statement'} "
            "is not simulated: define tables in the Glue Data Catalog (create_table or a crawler)",
            error_type=1000,
        )
        return outcome
    con = _connect(fs)
    glue_catalog = catalog_name.lower()
    sources = {k.lower(): v for k, v in (federated or {}).items()}
    default = (default_catalog or glue_catalog).lower()
    federated_bytes: dict[str, int] = {}
    entries_by_table: dict[str, tuple[TableDef, list[tuple[str, int, str]], dict[str, int]]] = {}
    try:
        refs, calls_function, referenced = _table_refs(con, sql)
        if calls_function:
            raise QueryError(
                "NOT_SUPPORTED",
                "table functions (read_csv, read_parquet, ...) are DuckDB's, not Athena's: "
                "query the catalog's tables",
            )
        con.execute(f"ATTACH ':memory:' AS {_quote(glue_catalog)}")
        # A federated catalog is attached only when the query names it: a catalog that shares a
        # name with a Glue database would otherwise make ``shop.orders`` ambiguous to DuckDB.
        attached = {glue_catalog}
        if default not in attached and default in sources:
            con.execute(f"ATTACH ':memory:' AS {_quote(default)}")
            attached.add(default)
        for catalog_ref, schema, name in refs:
            db = (schema or database).lower()
            in_catalog = (catalog_ref or default).lower()
            if in_catalog != glue_catalog:
                if in_catalog not in sources:
                    raise QueryError(
                        "CATALOG_NOT_FOUND",
                        f"{_position(sql, catalog_ref or name)}: Catalog '{in_catalog}' does not "
                        "exist",
                        error_type=1006,
                    )
                if f"{in_catalog}.{db}.{name.lower()}" in federated_bytes:
                    continue  # named twice: one call of the connector
                found = sources[in_catalog].table(db, name.lower(), referenced)
                if found is None:
                    raise QueryError(
                        "TABLE_NOT_FOUND",
                        f"{_position(sql, name)}: Table '{in_catalog}.{db}.{name.lower()}' does "
                        "not exist",
                        error_type=1006,
                    )
                if in_catalog not in attached:
                    con.execute(f"ATTACH ':memory:' AS {_quote(in_catalog)}")
                    attached.add(in_catalog)
                full = f"{_quote(in_catalog)}.{_quote(db)}.{_quote(name.lower())}"
                path = virtual_path("-federated-", f"{in_catalog}/{db}/{name.lower()}.json")
                fs.memory[path] = "".join(
                    json.dumps(row, default=str) + "\n" for row in found.rows
                ).encode()
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(in_catalog)}.{_quote(db)}")
                con.execute(f"CREATE OR REPLACE VIEW {full} AS {federated_view(found, path)}")
                federated_bytes[f"{in_catalog}.{db}.{name.lower()}"] = found.bytes_read
                continue
            if not database_exists(db):
                raise QueryError(
                    "SCHEMA_NOT_FOUND",
                    f"{_position(sql, schema or name)}: Schema '{db}' does not exist",
                    error_type=1006,
                )
            table = catalog(db, name.lower())
            if table is None:
                raise QueryError(
                    "TABLE_NOT_FOUND",
                    f"{_position(sql, name)}: Table '{catalog_name}.{db}.{name.lower()}' does "
                    "not exist",
                    error_type=1006,
                )
            if f"{db}.{table.name}" in entries_by_table:
                continue  # named twice (with and without its catalog): one view
            grants = table_access(db, table.name) if table_access is not None else None
            if grants is None and column_grants is not None:
                table = _granted(table, column_grants(db, table.name))
            paths, entries, partition_sizes = table_files(table, store)
            spellings = (
                json_key_spellings(table, store, paths[0] if paths else None)
                if table.format == "json"
                else {}
            )
            if table.format == "parquet" and paths:
                first = dict(
                    zip(
                        [k for k, _ in table.partition_keys],
                        table.partitions[0].values if table.partitions else (),
                        strict=False,
                    )
                )
                schema_path = virtual_path("-schema-", f"{table.name}.parquet", first)
                fs.memory[schema_path] = schema_file(table)
                paths = [schema_path, *paths]
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(glue_catalog)}.{_quote(db)}")
            label = f"{db}.{table.name}"
            target = f"{_quote(glue_catalog)}.{_quote(db)}.{_quote(table.name)}"
            if grants is not None:
                inner = view_sql(table, paths, spellings) if paths else _empty_view(table)
                con.execute(f"CREATE VIEW {target} AS {restricted_view(table, grants, inner)}")
            elif paths:
                con.execute(f"CREATE VIEW {target} AS {view_sql(table, paths, spellings)}")
            else:
                # An empty table (no objects yet): its columns, no rows.
                cols = ", ".join(
                    f"CAST(NULL AS {duckdb_type(t)}) AS {_quote(c)}"
                    for c, t in table.columns + table.partition_keys
                    if c not in table.hidden_keys
                )
                con.execute(f"CREATE VIEW {target} AS SELECT {cols} LIMIT 0")
            entries_by_table[label] = (table, entries, partition_sizes)
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(default)}.{_quote(database.lower())}")
        con.execute(f"USE {_quote(default)}.{_quote(database.lower())}")
        # Creating views reads Parquet footers to bind them: the query itself reads again.
        counter.reset()
        counter.limit = scan_limit
        # What the connectors returned counts as scanned, with the lake's bytes (and the cutoff).
        for label, size in federated_bytes.items():
            counter.add(f"federated://{label}", size, size)
        result = con.execute(sql)
        description = result.description or []
        fetched = result.fetchall()
        outcome.columns = [
            (_column_name(str(d[0]), i), athena_type(str(d[1]))) for i, d in enumerate(description)
        ]
        outcome.rows = [tuple(athena_text(v) for v in row) for row in fetched]
    except QueryError as err:
        outcome.error = err
    except ScanLimitExceeded as err:
        outcome.cancelled = True
        outcome.error = QueryError(
            "QUERY_CANCELLED",
            f"Query cancelled! -- bytes scanned limit was exceeded ({err.limit} bytes)",
        )
    except duckdb.Error as err:
        cause = err.__cause__ or err.__context__
        if isinstance(cause, ScanLimitExceeded) or "bytes, past the cutoff" in str(err):
            outcome.cancelled = True
            limit = scan_limit or 0
            outcome.error = QueryError(
                "QUERY_CANCELLED",
                f"Query cancelled! -- bytes scanned limit was exceeded ({limit} bytes)",
            )
        else:
            outcome.error = _error_from(err, sql, [database])
    finally:
        con.close()
    outcome.bytes_scanned = counter.total
    for label, size in federated_bytes.items():
        outcome.scans.append(
            TableScan(
                table=label,
                format="lambda",
                partitions_total=0,
                partitions_read=0,
                files_total=1,
                files_read=1,
                bytes_total=size,
                bytes_read=counter.by_path.get(f"federated://{label}", 0),
            )
        )
    read_paths = set(counter.by_path)
    for label, (table, entries, partition_sizes) in entries_by_table.items():
        read = [(p, s, part) for p, s, part in entries if p in read_paths]
        outcome.scans.append(
            TableScan(
                table=label,
                format=table.format,
                partitions_total=len(partition_sizes),
                partitions_read=len({part for _, _, part in read if part}),
                files_total=len(entries),
                files_read=len(read),
                bytes_total=sum(s for _, s, _ in entries),
                bytes_read=sum(counter.by_path.get(p, 0) for p, _, _ in read),
            )
        )
    return outcome


def bucket_key(path: str) -> tuple[str, str]:
    """``(bucket, key)`` behind a path the engine gave DuckDB."""
    return object_of(path)
