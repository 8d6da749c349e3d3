"""What the databases lab's checks share: PostgreSQL instances in the check's world, and
connections that count what runs through them.

The learner's functions receive real pg8000 connections (DB-API 2.0) to real RDS endpoints,
wrapped in :class:`CountingConnection`: everything behaves as the driver does, and the check
learns how many statements ran on which endpoint (a report that reads the primary, a cache that
misses) without reading the learner's code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from labkit.grading.checks import CheckContext

MASTER_USER = "labadmin"
MASTER_PASSWORD = "lab-password-1"
DATABASE = "shop"


def create_postgres(ctx: CheckContext, identifier: str, **options: Any) -> dict[str, Any]:
    """A PostgreSQL DB instance in the check's world; its description."""
    options.setdefault("DBInstanceClass", "db.t3.micro")
    options.setdefault("AllocatedStorage", 20)
    options.setdefault("DBName", DATABASE)
    answer = ctx.client("rds").create_db_instance(
        DBInstanceIdentifier=identifier,
        Engine="postgres",
        MasterUsername=MASTER_USER,
        MasterUserPassword=MASTER_PASSWORD,
        **options,
    )
    return dict(answer["DBInstance"])


def raw_connect(instance: dict[str, Any]) -> Any:
    """A plain pg8000 connection to ``instance``'s endpoint as the master user."""
    import pg8000

    endpoint = instance["Endpoint"]
    conn = pg8000.connect(
        host=endpoint["Address"],
        port=endpoint["Port"],
        user=MASTER_USER,
        password=MASTER_PASSWORD,
        database=DATABASE,
    )
    # A pool's first health check. (A replica connection that has never run a statement was
    # seen to hold back the standby's replay in the sandbox: reported with issue 18.)
    conn.cursor().execute("SELECT 1")
    conn.commit()
    return conn


class Opened:
    """Every connection a check opened (or opened for the learner), closed when it ends.

    An unclosed socket is reported by Python's garbage collector as a ``ResourceWarning`` in
    whatever module happens to run then, which the grader's tamper guard sees as a change.
    """

    def __init__(self) -> None:
        self.connections: list[Any] = []

    def add(self, conn: Any) -> Any:
        """Keep ``conn`` to close it later; returns it."""
        self.connections.append(conn)
        return conn

    def __enter__(self) -> Opened:
        return self

    def __exit__(self, *exc: object) -> None:
        for conn in self.connections:
            with contextlib.suppress(Exception):
                conn.close()


def rows(conn: Any, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run a read as the check (its own connection) and end its transaction."""
    cursor = conn.cursor()
    if params:
        cursor.execute(sql, params)
    else:
        cursor.execute(sql)
    found = [tuple(row) for row in cursor.fetchall()]
    conn.commit()
    return found


def execute(conn: Any, *statements: str) -> None:
    """Run statements as the check and commit."""
    cursor = conn.cursor()
    for sql in statements:
        cursor.execute(sql)
    conn.commit()


class _CountingCursor:
    def __init__(self, cursor: Any, owner: CountingConnection) -> None:
        self._cursor = cursor
        self._owner = owner

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        self._owner.record(sql)
        return self._cursor.execute(sql, *args, **kwargs)

    def executemany(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        self._owner.record(sql)
        return self._cursor.executemany(sql, *args, **kwargs)

    def __iter__(self) -> Any:
        return iter(self._cursor)

    def __enter__(self) -> _CountingCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self._cursor.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class CountingConnection:
    """A DB-API connection that records each statement run through it.

    Args:
        conn: The driver's connection.
        label: Which endpoint it reaches (``primary``, ``replica``), for messages.
        before_commit: Called before each commit (a check plays a failover there).
        after_commit: Called after each commit.
    """

    def __init__(
        self,
        conn: Any,
        label: str,
        *,
        before_commit: Callable[[], None] | None = None,
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self._conn = conn
        self.label = label
        self.statements: list[str] = []
        self.before_commit = before_commit
        self.after_commit = after_commit

    def record(self, sql: str) -> None:
        """One statement ran."""
        self.statements.append(" ".join(str(sql).split()))

    @property
    def reads(self) -> int:
        """Statements that read (SELECT, WITH)."""
        return sum(s.upper().startswith(("SELECT", "WITH")) for s in self.statements)

    def cursor(self) -> _CountingCursor:
        """A cursor whose statements are counted."""
        return _CountingCursor(self._conn.cursor(), self)

    def run(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        """pg8000's ``run`` (named parameters), counted."""
        self.record(sql)
        return self._conn.run(sql, *args, **kwargs)

    def commit(self) -> None:
        """Commit (around the check's hooks)."""
        if self.before_commit is not None:
            self.before_commit()
        self._conn.commit()
        if self.after_commit is not None:
            self.after_commit()

    def __enter__(self) -> CountingConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self._conn.close()  # as pg8000's connection does

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)
