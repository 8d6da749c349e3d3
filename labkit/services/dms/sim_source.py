"""A DMS source endpoint on PostgreSQL: the tables, a consistent full load, and captured changes.

DMS connects as the endpoint's user, with its password, to its ``ServerName:Port`` and
``DatabaseName``, as AWS does (the sandbox's network guard routes an RDS endpoint's name to that
instance's PostgreSQL; a wrong password is PostgreSQL's own refusal).

**Change data capture uses triggers into a change table, not logical decoding.** On AWS, DMS
reads PostgreSQL's write-ahead log through a logical replication slot, which needs
``wal_level=logical`` (RDS: ``rds.logical_replication=1`` in the parameter group, then a
reboot). The embedded engine supports logical decoding, but the RDS sandbox starts every server
with ``wal_level=replica`` (its WAL archive drives point-in-time restore and replicas), and
changing that means restarting a server this module does not own, dropping the learner's
connections. So when a task starts, DMS creates (as the endpoint's user, who must own the
tables, as DMS's PostgreSQL user needs rights on them) one ``AFTER INSERT OR UPDATE OR DELETE``
row trigger per selected table, writing each change with its operation and row images as JSONB
into a change table ``public.awsdms_cdc_<task>``, numbered by a sequence in the order the
statements ran. A task reads that table from its checkpoint, and deletes what it has applied:
changes made while a task is stopped wait there, as they would in a replication slot.

The full load and the start of capture are one consistent cut: in one ``REPEATABLE READ``
transaction the selected tables are locked (``SHARE ROW EXCLUSIVE``, before the snapshot is
taken), the triggers created, then the rows read; a change is either in the load or captured,
never both, never neither.

Plain Python over ``pg8000`` (no moto): the patch builds one :class:`PostgresSource` per task.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

from labkit.errors import LabkitError

#: Schemas DMS never migrates (the catalog) and the prefix of its own objects.
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
CONTROL_PREFIX = "awsdms_"

_FUNCTION = """
CREATE OR REPLACE FUNCTION public.awsdms_capture() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    EXECUTE format('INSERT INTO public.%I (schema_name, table_name, op, old_row)
                    VALUES ($1, $2, ''D'', $3)', TG_ARGV[0])
      USING TG_TABLE_SCHEMA, TG_TABLE_NAME, to_jsonb(OLD);
    RETURN OLD;
  ELSIF TG_OP = 'UPDATE' THEN
    EXECUTE format('INSERT INTO public.%I (schema_name, table_name, op, new_row, old_row)
                    VALUES ($1, $2, ''U'', $3, $4)', TG_ARGV[0])
      USING TG_TABLE_SCHEMA, TG_TABLE_NAME, to_jsonb(NEW), to_jsonb(OLD);
  ELSE
    EXECUTE format('INSERT INTO public.%I (schema_name, table_name, op, new_row)
                    VALUES ($1, $2, ''I'', $3)', TG_ARGV[0])
      USING TG_TABLE_SCHEMA, TG_TABLE_NAME, to_jsonb(NEW);
  END IF;
  RETURN NEW;
END $$
"""


class SourceError(LabkitError):
    """The source database refused DMS (connection, password, rights)."""

    code = "SourceError"


@dataclass(frozen=True)
class Change:
    """One captured row change.

    Attributes:
        seq: Its place in the order the statements ran.
        schema, table: The source table.
        op: ``I``, ``U`` or ``D`` (DMS's ``Op`` values).
        row: The row after the change (before it, for a delete).
        old: The row before an update (``None`` otherwise).
        txid: The source transaction's id.
    """

    seq: int
    schema: str
    table: str
    op: str
    row: dict[str, Any]
    old: dict[str, Any] | None
    txid: int


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, table: str) -> str:
    """``"schema"."table"``, quoted."""
    return f"{_ident(schema)}.{_ident(table)}"


class PostgresSource:
    """One task's connection to its source database.

    Args:
        host, port, user, password, database: The source endpoint's settings.
        change_table: The name of this task's change table (``awsdms_cdc_...``).
    """

    def __init__(
        self, *, host: str, port: int, user: str, password: str, database: str, change_table: str
    ) -> None:
        import pg8000.native

        self.change_table = change_table
        #: The newest change before the last :meth:`load`'s snapshot (already in the load).
        self.watermark = 0
        try:
            self._conn = pg8000.native.Connection(
                user, host=host, port=int(port), password=password, database=database, timeout=30
            )
        except LabkitError as error:
            raise SourceError(
                f"Cannot connect to the source endpoint {host}:{port}: {error}"
            ) from None
        except Exception as error:  # pg8000's and the socket's own errors
            raise SourceError(
                f"Cannot connect to the source endpoint {host}:{port} as {user}: "
                f"{_pg_message(error)}"
            ) from None

    def close(self) -> None:
        """Close the connection (capture stays: changes keep collecting while stopped)."""
        with contextlib.suppress(Exception):
            self._conn.close()

    def run(self, sql: str, **params: Any) -> list[list[Any]]:
        """Run SQL on the source; PostgreSQL's refusal as a :class:`SourceError`."""
        try:
            rows: list[list[Any]] = self._conn.run(sql, **params) or []
        except Exception as error:
            with contextlib.suppress(Exception):
                self._conn.run("ROLLBACK")
            raise SourceError(f"The source refused DMS: {_pg_message(error)}") from None
        return rows

    def tables(self) -> list[tuple[str, str]]:
        """Every user table (schema, name), DMS's own control tables left out."""
        rows = self.run(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema <> ALL(:system) "
            "ORDER BY 1, 2",
            system=list(SYSTEM_SCHEMAS),
        )
        return [(s, t) for s, t in rows if not t.startswith(CONTROL_PREFIX)]

    def columns(self, schema: str, table: str) -> tuple[list[str], list[str]]:
        """The table's columns in order, and its primary-key columns."""
        columns = self.run(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position",
            s=schema,
            t=table,
        )
        key = self.run(
            "SELECT a.attname FROM pg_index i "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
            "WHERE i.indrelid = CAST(:q AS regclass) AND i.indisprimary "
            "ORDER BY array_position(i.indkey::int2[], a.attnum)",
            q=qualified(schema, table),
        )
        return [c[0] for c in columns], [k[0] for k in key]

    def _ensure_change_table(self) -> None:
        self.run(
            f"CREATE TABLE IF NOT EXISTS public.{_ident(self.change_table)} ("
            "seq bigserial PRIMARY KEY, schema_name text NOT NULL, table_name text NOT NULL, "
            "op char(1) NOT NULL, new_row jsonb, old_row jsonb, "
            "txid bigint NOT NULL DEFAULT txid_current())"
        )
        self.run(_FUNCTION)

    def _trigger_sql(self, schema: str, table: str) -> str:
        name = _ident(self.change_table)
        return (
            f"DROP TRIGGER IF EXISTS {name} ON {qualified(schema, table)}; "
            f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON "
            f"{qualified(schema, table)} FOR EACH ROW EXECUTE FUNCTION "
            f"public.awsdms_capture('{self.change_table}')"
        )

    def start_capture(self, tables: list[tuple[str, str]]) -> None:
        """Capture changes to ``tables`` from now on (a CDC-only task)."""
        self._ensure_change_table()
        for schema, table in tables:
            for statement in self._trigger_sql(schema, table).split("; "):
                self.run(statement)

    def load(
        self, tables: list[tuple[str, str]], *, capture: bool
    ) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """Every row of ``tables`` at one instant (ordered by primary key when there is one);
        with ``capture``, changes after that instant are captured (one consistent cut)."""
        if capture:
            self._ensure_change_table()
        rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.run("START TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        try:
            if tables:
                # LOCK before any query: the transaction's snapshot is taken after it.
                names = ", ".join(qualified(s, t) for s, t in tables)
                self.run(f"LOCK TABLE {names} IN SHARE ROW EXCLUSIVE MODE")
            if capture:
                for schema, table in tables:
                    for statement in self._trigger_sql(schema, table).split("; "):
                        self.run(statement)
            # Changes already in the table came before this snapshot (an earlier run's).
            self.watermark = self.max_seq() if capture else 0
            for schema, table in tables:
                _columns, key = self.columns(schema, table)
                order = " ORDER BY " + ", ".join(f"t.{_ident(k)}" for k in key) if key else ""
                # One JSON array, parsed in one call: a hundred times fewer Python-level steps
                # than a row at a time (the same JSON values as the change table's JSONB).
                found = self.run(
                    f"SELECT coalesce(json_agg(t{order}), '[]')::text "
                    f"FROM {qualified(schema, table)} t"
                )
                rows[(schema, table)] = json.loads(found[0][0])
            self.run("COMMIT")
        except SourceError:
            raise
        return rows

    def max_seq(self) -> int:
        """The newest captured change's sequence number (0 when none is waiting)."""
        rows = self.run(f"SELECT coalesce(max(seq), 0) FROM public.{_ident(self.change_table)}")
        return int(rows[0][0])

    def changes(self, after: int) -> list[Change]:
        """Captured changes after sequence number ``after``, in order."""
        found = self.run(
            "SELECT seq, schema_name, table_name, op, new_row, old_row, txid FROM "
            f"public.{_ident(self.change_table)} WHERE seq > :after ORDER BY seq",
            after=after,
        )
        return [
            Change(
                seq=int(seq),
                schema=str(schema),
                table=str(table),
                op=str(op),
                row=dict(new if op != "D" else old),
                old=dict(old) if op == "U" and old is not None else None,
                txid=int(txid),
            )
            for seq, schema, table, op, new, old, txid in found
        ]

    def checkpoint(self, upto: int) -> None:
        """Forget changes up to ``upto``: they have reached the target."""
        self.run(f"DELETE FROM public.{_ident(self.change_table)} WHERE seq <= :upto", upto=upto)

    def drop_capture(self, tables: list[tuple[str, str]]) -> None:
        """Remove this task's triggers and change table (the task is deleted)."""
        for schema, table in tables:
            with contextlib.suppress(SourceError):
                self.run(
                    f"DROP TRIGGER IF EXISTS {_ident(self.change_table)} "
                    f"ON {qualified(schema, table)}"
                )
        with contextlib.suppress(SourceError):
            self.run(f"DROP TABLE IF EXISTS public.{_ident(self.change_table)}")


def _pg_message(error: Exception) -> str:
    """PostgreSQL's message from a pg8000 error (its fields dict), else the error's text."""
    args = getattr(error, "args", ())
    if args and isinstance(args[0], dict):
        fields = args[0]
        return f"{fields.get('M', '')} ({fields.get('C', '')})".strip()
    return str(error)
