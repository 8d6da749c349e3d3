"""One Redshift database on a real engine: an embedded DuckDB database per cluster.

A :class:`Warehouse` holds a cluster's tables in its own in-memory DuckDB database and runs
statements the way Redshift answers them through the Data API: PostgreSQL-style SQL as written,
Redshift's own statements through :mod:`.sim_sql` (COPY and UNLOAD against the sandbox's S3,
storage clauses recorded as layouts, Spectrum schemas over the Glue Data Catalog), and for a
SELECT the model of :mod:`.sim_layout` (rows a join redistributes, blocks zone maps skip).

Spectrum reads external tables with Athena's reader (:mod:`labkit.services.athena.sim_engine`:
the catalog's objects through :mod:`labkit.services.athena.sim_lakefs`, every byte counted), so
the bytes a Spectrum query scans are measured, not estimated.

The learner's SQL never reaches the local disk or the network: DuckDB's local file system is
disabled, UNLOAD and snapshots go through an in-memory file system, S3 through the sandbox.

Errors read as Redshift's (``ERROR: relation "x" does not exist``); DuckDB's dialect shows where
it differs from Redshift's (functions only one of them has), as the lesson says.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import fsspec  # type: ignore[import-untyped]

from labkit.services.athena.sim_engine import (
    QueryError,
    TableDef,
    json_key_spellings,
    schema_file,
    table_files,
    view_sql,
)
from labkit.services.athena.sim_lakefs import (
    LakeFileSystem,
    ObjectStore,
    ScanCounter,
    virtual_path,
)
from labkit.services.redshift import sim_layout, sim_sql
from labkit.services.redshift.sim_layout import BlockScan, JoinMove, quote
from labkit.services.redshift.sim_sql import Layout, RedshiftSqlError

#: ``allow(role_arn, action, bucket, key)``: ``None`` when the role may, else why not.
Allow = Callable[[str, str, str, str], "str | None"]
#: ``find(database, table)`` in the Glue Data Catalog.
Catalog = Callable[[str, str], "TableDef | None"]
#: ``put(bucket, key, body)`` into the sandbox's S3.
Put = Callable[[str, str, bytes], None]

_MEMORY = fsspec.filesystem("memory")

#: DuckDB's type names as Redshift names them in ``ColumnMetadata.typeName``.
_TYPE_NAMES = {
    "BOOLEAN": "bool",
    "SMALLINT": "int2",
    "INTEGER": "int4",
    "BIGINT": "int8",
    "HUGEINT": "numeric",
    "FLOAT": "float4",
    "DOUBLE": "float8",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "VARCHAR": "varchar",
}


def redshift_type(duck: str) -> str:
    """Redshift's type name for a DuckDB type (``DECIMAL(10,2)`` is ``numeric``)."""
    upper = duck.upper()
    if upper.startswith("DECIMAL"):
        return "numeric"
    return _TYPE_NAMES.get(upper, "varchar")


@dataclass
class Context:
    """What a statement may reach outside the database.

    Attributes:
        store: The sandbox's S3 objects (reads).
        put: Writes an object to the sandbox's S3.
        allow: The policy engine's answer for an IAM role's S3 action.
        cluster_roles: The IAM roles associated with the cluster (``IamRoles``).
        catalog: The Glue Data Catalog of the cluster's account and Region.
        slices: Slices of the cluster; slices_per_node those of one node.
    """

    store: ObjectStore
    put: Put
    allow: Allow
    cluster_roles: tuple[str, ...]
    catalog: Catalog
    slices: int
    slices_per_node: int


@dataclass
class Outcome:
    """A finished statement.

    Attributes:
        columns: ``(name, Redshift type name)`` of the result.
        rows: The result's rows (Python values).
        has_result_set: Whether the statement returns rows (a SELECT).
        rows_affected: Rows inserted, loaded, unloaded, updated or deleted.
        error: Redshift's ``ERROR:`` line, for a failed statement.
        joins: What each equi-join redistributed (:mod:`.sim_layout`).
        blocks: What zone maps skipped for each range predicate on a local table.
        spectrum_bytes: Bytes Spectrum read from S3 for external tables.
        kind: ``SELECT``, ``COPY``, ``UNLOAD``, ``DDL``, ``DML`` or ``UTILITY``.
    """

    columns: list[tuple[str, str]] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    has_result_set: bool = False
    rows_affected: int = 0
    error: str | None = None
    joins: list[JoinMove] = field(default_factory=list)
    blocks: list[BlockScan] = field(default_factory=list)
    spectrum_bytes: int = 0
    kind: str = "UTILITY"


class Warehouse:
    """One cluster's database: tables in DuckDB, their layouts, its external schemas."""

    def __init__(self) -> None:
        self.con = duckdb.connect(":memory:", config={"threads": 2})
        self.counter = ScanCounter()
        self.lake: LakeFileSystem | None = None
        self.con.register_filesystem(_MEMORY)
        self.layouts: dict[str, Layout] = {}
        self.external: dict[str, sim_sql.ExternalSchema] = {}
        #: The model's figures, kept until a statement changes data (zone maps are written with
        #: the blocks; a join's placement changes only with the rows).
        self._zones: dict[tuple[str, str, int, Layout], list[tuple[Any, Any]]] = {}
        self._moves: dict[tuple[Any, ...], JoinMove] = {}
        for setting in (
            "CREATE SCHEMA IF NOT EXISTS public",
            "SET schema = 'public'",
            "SET autoinstall_known_extensions = false",
            "SET autoload_known_extensions = false",
        ):
            self.con.execute(setting)
        self._lock_down()

    def _lock_down(self) -> None:
        # The learner's SQL reads S3 through the sandbox only, never the local disk.
        self.con.execute("SET disabled_filesystems = 'LocalFileSystem'")

    @staticmethod
    def table_key(name: str) -> str:
        """A table's name without the default ``public.`` schema, lower case."""
        name = name.lower()
        return name.removeprefix("public.")

    def tables(self) -> list[tuple[str, int]]:
        """``(table, rows)`` of the local tables."""
        found = self.con.execute(
            "SELECT schema_name, table_name, estimated_size FROM duckdb_tables() "
            "ORDER BY schema_name, table_name"
        ).fetchall()
        out = []
        for schema, name, _ in found:
            full = self.table_key(f"{schema}.{name}")
            row = self.con.execute(f"SELECT count(*) FROM {quote(f'{schema}.{name}')}").fetchone()
            out.append((full, int(row[0]) if row else 0))
        return out

    def layout(self, table: str) -> Layout:
        """The layout recorded for ``table`` (``AUTO`` without a sort key when none was)."""
        return self.layouts.get(self.table_key(table), Layout())

    # ---- running statements ----------------------------------------------------------------

    def run(self, sql: str, ctx: Context) -> Outcome:
        """Run one statement; its error is the outcome's ``error``, never raised."""
        outcome = Outcome()
        try:
            command = sim_sql.parse(sql)
            if not (isinstance(command, sim_sql.Plain) and _reads_only(command.sql)):
                self._zones.clear()
                self._moves.clear()
            if isinstance(command, sim_sql.Copy):
                outcome.kind = "COPY"
                outcome.rows_affected = self._copy(command, ctx)
            elif isinstance(command, sim_sql.Unload):
                outcome.kind = "UNLOAD"
                outcome.rows_affected = self._unload(command, ctx)
            elif isinstance(command, sim_sql.ExternalSchema):
                outcome.kind = "DDL"
                self._external_schema(command, ctx)
            elif isinstance(command, sim_sql.CreateTable):
                outcome.kind = "DDL"
                self.con.execute(command.sql)
                self.layouts[self.table_key(command.table)] = command.layout
            else:
                self._plain(command.sql, ctx, outcome)
        except RedshiftSqlError as err:
            outcome.error = err.message
        except QueryError as err:
            outcome.error = f"ERROR: Spectrum Scan Error: {err.reason}"
        except duckdb.Error as err:
            outcome.error = redshift_error(err)
        return outcome

    def _plain(self, sql: str, ctx: Context, outcome: Outcome) -> None:
        first = re.match(r"\s*\(?\s*(\w+)", sql)
        keyword = first.group(1).upper() if first else ""
        shape = sim_layout.shape(self.con, sql) if keyword in ("SELECT", "WITH") else None
        if shape is not None:
            self._bind_external(shape, ctx)
        self.counter.reset()
        result = self.con.execute(sql)
        outcome.spectrum_bytes = self.counter.total
        if keyword == "DROP":
            name = re.search(r"TABLE\s+(?:IF\s+EXISTS\s+)?([\w.\"]+)", sql, re.IGNORECASE)
            if name:
                self.layouts.pop(self.table_key(name.group(1).replace('"', "")), None)
        if result.description and keyword in ("SELECT", "WITH", "VALUES", "SHOW", "TABLE"):
            outcome.kind = "SELECT"
            outcome.has_result_set = True
            outcome.columns = [(str(d[0]), redshift_type(str(d[1]))) for d in result.description]
            outcome.rows = [tuple(r) for r in result.fetchall()]
            outcome.rows_affected = len(outcome.rows)
            if shape is not None:
                self._model(shape, ctx, outcome)
            return
        if keyword in ("INSERT", "UPDATE", "DELETE", "MERGE"):
            outcome.kind = "DML"
            row = result.fetchone() if result.description else None
            outcome.rows_affected = int(row[0]) if row and isinstance(row[0], int) else 0
        elif keyword in ("CREATE", "DROP", "ALTER", "TRUNCATE"):
            outcome.kind = "DDL"

    # ---- COPY and UNLOAD -------------------------------------------------------------------

    def _role_may(self, role: str, ctx: Context, statement: str) -> None:
        if role == "default" and ctx.cluster_roles:
            return
        if role not in ctx.cluster_roles:
            raise RedshiftSqlError(
                f"ERROR: User is not authorized to assume IAM Role {role} ({statement}: the role "
                "is not associated with the cluster; add it with IamRoles or "
                "modify_cluster_iam_roles)"
            )

    def _objects(self, bucket: str, prefix: str, ctx: Context) -> list[tuple[str, int]]:
        try:
            listed = ctx.store.list(bucket, prefix)
        except KeyError as err:
            raise RedshiftSqlError(
                f"ERROR: S3ServiceException:The specified bucket does not exist,Status 404 "
                f"(bucket {bucket})"
            ) from err
        found = [(k, s) for k, s in listed if not k.endswith("/") and s > 0]
        if not found:
            raise RedshiftSqlError(
                f"ERROR: The specified S3 prefix '{prefix}' does not exist (s3://{bucket}/{prefix})"
            )
        return found

    def _refuse(self, role: str, action: str, bucket: str, key: str, ctx: Context) -> None:
        chosen = ctx.cluster_roles[0] if role == "default" else role
        refusal = ctx.allow(chosen, action, bucket, key)
        if refusal is not None:
            raise RedshiftSqlError(
                f"ERROR: S3ServiceException:Access Denied,Status 403,Error AccessDenied ({refusal})"
            )

    def _copy(self, command: sim_sql.Copy, ctx: Context) -> int:
        self._role_may(command.role, ctx, "COPY")
        target = command.table
        described = self.con.execute(f"DESCRIBE {quote(target)}").fetchall()
        columns = list(command.columns) or [str(r[0]) for r in described]
        types = {str(r[0]): str(r[1]) for r in described}
        objects = self._objects(command.bucket, command.prefix, ctx)
        for key, _ in objects:
            self._refuse(command.role, "s3:GetObject", command.bucket, key, ctx)
        self._ensure_lake(ctx)
        paths = "[" + ", ".join(f"'{virtual_path(command.bucket, k)}'" for k, _ in objects) + "]"
        names = ", ".join(quote(c) for c in columns)
        if command.format == "parquet":
            source = f"SELECT * FROM read_parquet({paths})"
        elif command.format == "json":
            typed = ", ".join(f"'{c}': '{types.get(c, 'VARCHAR')}'" for c in columns)
            source = (
                f"SELECT {names} FROM read_json({paths}, format = 'newline_delimited', "
                f"columns = {{{typed}}})"
            )
        else:
            raw = ", ".join(f"'{c}': 'VARCHAR'" for c in columns)
            delimiter = command.delimiter.replace("'", "''")
            # Redshift's NULL string is \N; an empty field is an empty string for a text
            # column (unless EMPTYASNULL) and NULL for any other.
            picked = ", ".join(
                quote(c)
                if types.get(c, "VARCHAR") == "VARCHAR" and not command.empty_as_null
                else f"NULLIF({quote(c)}, '') AS {quote(c)}"
                for c in columns
            )
            source = (
                f"SELECT {picked} FROM read_csv({paths}, columns = {{{raw}}}, "
                f"header = false, skip = {command.ignore_header}, delim = '{delimiter}', "
                "auto_detect = false, quote = '\"', nullstr = '\\N')"
            )
        before = self._rows(target)
        try:
            self.con.execute(f"INSERT INTO {quote(target)} ({names}) {source}")
        except duckdb.ConversionException as err:
            raise RedshiftSqlError(
                "ERROR: Load into table '"
                f"{self.table_key(target)}' failed. Check 'sys_load_error_detail' system table "
                f"for details. ({str(err).splitlines()[0]})"
            ) from err
        return self._rows(target) - before

    def _rows(self, table: str) -> int:
        row = self.con.execute(f"SELECT count(*) FROM {quote(table)}").fetchone()
        return int(row[0]) if row else 0

    def _unload(self, command: sim_sql.Unload, ctx: Context) -> int:
        self._role_may(command.role, ctx, "UNLOAD")
        self._refuse(command.role, "s3:PutObject", command.bucket, command.prefix, ctx)
        shape = sim_layout.shape(self.con, command.query)
        if shape is not None:
            self._bind_external(shape, ctx)
        total = self.con.execute(f"SELECT count(*) FROM ({command.query})").fetchone()
        count = int(total[0]) if total else 0
        parts = ctx.slices if command.parallel else 1
        options = {
            "parquet": "FORMAT PARQUET",
            "csv": f"FORMAT CSV, HEADER {str(command.header).lower()}",
            "json": "FORMAT JSON",
            "text": f"FORMAT CSV, DELIMITER '|', HEADER {str(command.header).lower()}, QUOTE ''",
        }[command.format]
        suffix = ".parquet" if command.format == "parquet" else ""
        folder = f"unload-{uuid.uuid4().hex}"
        try:
            for part in range(parts):
                if command.parallel and count == 0 and part > 0:
                    break
                where = f"WHERE (__n % {parts}) = {part}" if parts > 1 else ""
                query = (
                    f"SELECT * EXCLUDE (__n) FROM (SELECT *, row_number() OVER () - 1 AS __n "
                    f"FROM ({command.query})) {where}"
                )
                path = f"memory://{folder}/{part}"
                self.con.execute(f"COPY ({query}) TO '{path}' ({options})")
                name = f"{part:04d}_part_00{suffix}" if command.parallel else f"000{suffix}"
                body = _MEMORY.cat_file(f"/{folder}/{part}")
                ctx.put(command.bucket, command.prefix + name, body)
        finally:
            if _MEMORY.exists(f"/{folder}"):
                _MEMORY.rm(f"/{folder}", recursive=True)
        return count

    # ---- Spectrum --------------------------------------------------------------------------

    def _ensure_lake(self, ctx: Context) -> None:
        if self.lake is None:
            self.lake = LakeFileSystem(ctx.store, self.counter)
            self.con.register_filesystem(self.lake)
        self.lake.store = ctx.store

    def _external_schema(self, command: sim_sql.ExternalSchema, ctx: Context) -> None:
        self._role_may(command.role, ctx, "CREATE EXTERNAL SCHEMA")
        if command.schema in self.external or command.schema == "public":
            if command.if_not_exists:
                return
            raise RedshiftSqlError(f'ERROR: Schema "{command.schema}" already exists')
        self.external[command.schema] = command
        self.con.execute(f"CREATE SCHEMA {quote(command.schema)}")

    def _bind_external(self, shape: sim_layout.Shape, ctx: Context) -> None:
        for full in set(shape.tables.values()):
            schema, _, name = full.rpartition(".")
            external = self.external.get(schema)
            if external is None:
                continue
            table = ctx.catalog(external.database, name)
            if table is None:
                raise RedshiftSqlError(f'ERROR: relation "{full}" does not exist')
            self._ensure_lake(ctx)
            assert self.lake is not None
            paths, entries, _ = table_files(table, ctx.store)
            for path, _, _ in entries:
                bucket, _, key = path.split("/-/", 1)[1].partition("/")
                self._refuse(external.role, "s3:GetObject", bucket, key, ctx)
            spellings = (
                json_key_spellings(table, ctx.store, paths[0] if paths else None)
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
                self.lake.memory[schema_path] = schema_file(table)
                paths = [schema_path, *paths]
            if not paths:
                raise RedshiftSqlError(f"ERROR: Spectrum Scan Error: {full} has no objects in S3")
            self.con.execute(
                f"CREATE OR REPLACE VIEW {quote(full)} AS {view_sql(table, paths, spellings)}"
            )

    # ---- the model -------------------------------------------------------------------------

    def _local(self, shape: sim_layout.Shape, alias: str, column: str) -> str | None:
        """The local table an ``alias.column`` names (``None``: external, or not a table)."""
        candidates = [shape.tables[alias]] if alias in shape.tables else list(shape.tables.values())
        for full in candidates:
            if full.rpartition(".")[0] in self.external:
                continue
            try:
                described = self.con.execute(f"DESCRIBE {quote(full)}").fetchall()
            except duckdb.Error:
                continue
            if column in [str(r[0]).lower() for r in described]:
                return full
        return None

    def _model(self, shape: sim_layout.Shape, ctx: Context, outcome: Outcome) -> None:
        for (la, lc), (ra, rc) in shape.joins:
            left, right = self._local(shape, la, lc), self._local(shape, ra, rc)
            if left and right and left != right:
                sides = ((left, self.layout(left), lc), (right, self.layout(right), rc))
                key = (*sides, ctx.slices, ctx.slices_per_node)
                if key not in self._moves:
                    self._moves[key] = sim_layout.join_move(
                        self.con, sides[0], sides[1], ctx.slices, ctx.slices_per_node
                    )
                outcome.joins.append(self._moves[key])
        for alias, column, low, high, text in shape.ranges:
            table = self._local(shape, alias, column)
            if table:
                layout = self.layout(table)
                zone_key = (table, column, ctx.slices, layout)
                if zone_key not in self._zones:
                    self._zones[zone_key] = sim_layout.zone_map(
                        self.con, table, layout, column, ctx.slices
                    )
                outcome.blocks.append(
                    sim_layout.block_scan(
                        self.con, table, layout, column, (low, high), text, self._zones[zone_key]
                    )
                )

    # ---- snapshots -------------------------------------------------------------------------

    def clone(self) -> Warehouse:
        """A copy of the database (a snapshot's data, or a cluster restored from one)."""
        copy = Warehouse()
        copy.layouts = dict(self.layouts)
        copy.external = dict(self.external)
        folder = f"snapshot-{uuid.uuid4().hex}"
        try:
            names = [
                str(row[0])
                for row in self.con.execute(
                    "SELECT DISTINCT schema_name FROM duckdb_tables()"
                ).fetchall()
            ]
            for name in [*names, *self.external]:
                copy.con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(name)}")
            tables = self.con.execute(
                "SELECT schema_name, table_name, sql FROM duckdb_tables()"
            ).fetchall()
            for index, (schema, name, ddl) in enumerate(tables):
                full = quote(f"{schema}.{name}")
                path = f"memory://{folder}/{index}.parquet"
                self.con.execute(f"COPY {full} TO '{path}' (FORMAT PARQUET)")
                copy.con.execute(f"SET schema = '{schema}'")
                copy.con.execute(str(ddl))
                copy.con.execute(f"INSERT INTO {full} SELECT * FROM read_parquet('{path}')")
            copy.con.execute("SET schema = 'public'")
        finally:
            if _MEMORY.exists(f"/{folder}"):
                _MEMORY.rm(f"/{folder}", recursive=True)
        return copy


def _reads_only(sql: str) -> bool:
    """Whether a statement only reads (SELECT, WITH ... SELECT, SHOW)."""
    first = re.match(r"\s*\(?\s*(\w+)", sql)
    word = first.group(1).upper() if first else ""
    if word == "WITH":
        return not re.search(r"\b(INSERT|UPDATE|DELETE|MERGE)\b", sql, re.IGNORECASE)
    return word in ("SELECT", "SHOW", "VALUES", "TABLE", "DESCRIBE", "EXPLAIN")


def redshift_error(err: duckdb.Error) -> str:
    """A DuckDB error as Redshift words it (``ERROR: relation "x" does not exist``)."""
    first = str(err).split("\n", 1)[0]
    table = re.search(r"Table with name ([^ ]+) does not exist", first)
    if table:
        return f'ERROR: relation "{table.group(1).lower()}" does not exist'
    column = re.search(r'Referenced column "([^"]+)" not found', first)
    if column:
        return f'ERROR: column "{column.group(1)}" does not exist'
    if isinstance(err, duckdb.ParserException):
        near = re.search(r'at or near "([^"]*)"', first)
        return f'ERROR: syntax error at or near "{near.group(1) if near else ""}"'
    exists = re.search(r'Table with name "?([^" ]+)"? already exists', first)
    if exists:
        return f'ERROR: relation "{exists.group(1).lower()}" already exists'
    function = re.search(r"Function with name (\w+) does not exist", first)
    if function:
        return (
            f"ERROR: function {function.group(1)} does not exist (the sandbox runs DuckDB's "
            "functions; see the lesson on dialects)"
        )
    return "ERROR: " + re.sub(r"^\w+ Error: ", "", first)
