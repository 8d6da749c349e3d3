"""An instructor's own PostgreSQL behind the sandbox's RDS endpoints, instead of the embedded one.

A workshop may run PostgreSQL itself (a server per learner next to each JupyterHub session, say)
and set ``LABKIT_POSTGRES_URL=postgresql://ADMIN:PASSWORD@HOST:PORT/postgres`` for the kernels.
Every ``Engine='postgres'`` instance the learner creates then gets its master user and its
database on that server, and its endpoint leads there: the learner's SQL runs on the real server
the instructor chose, through the same boto3 calls and endpoint names.

What needs labkit to own the server's files is refused with a clear reason instead: read replicas,
point-in-time restores and snapshot restores replay the write-ahead log the embedded engine
archives. The instance class's ``max_connections`` is the instructor's server's own setting. A
Multi-AZ failover still drops the open sessions of the instance's master user and flips the
endpoint's zone, as with the embedded engine (whose standby shares the primary's server too).

The administrator's account must be able to create roles and databases. Instances of several
learners sharing one server would share its roles: give each learner their own server.

Plain Python (no moto): the RDS patch calls it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from labkit.errors import LabkitError

#: The environment variable that names an instructor's PostgreSQL server.
URL_VARIABLE = "LABKIT_POSTGRES_URL"


class ExternalServerError(LabkitError):
    """``LABKIT_POSTGRES_URL`` is malformed, or its server refused labkit's administrator."""

    code = "ExternalServerError"


def configured_url() -> str | None:
    """The instructor's server URL, when the course is set to use one."""
    return os.environ.get(URL_VARIABLE) or None


@dataclass
class ExternalServer:
    """One instance's database and master user on the instructor's server.

    Attributes:
        host: The server's host name or address.
        port: Its port.
        admin_user: The administrator labkit connects as (from the URL).
        admin_password: That user's password.
        admin_database: The database the administrator connects to.
    """

    host: str
    port: int
    admin_user: str
    admin_password: str = field(repr=False)
    admin_database: str = "postgres"
    created_database: str | None = None
    master_user: str | None = None

    @classmethod
    def from_url(cls, url: str) -> ExternalServer:
        """The server ``url`` names (``postgresql://USER:PASSWORD@HOST:PORT/DATABASE``)."""
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres") or not parts.hostname:
            raise ExternalServerError(
                f"{URL_VARIABLE} must look like postgresql://USER:PASSWORD@HOST:5432/postgres "
                f"(got {parts.scheme or 'no scheme'}://{parts.hostname or '?'})"
            )
        try:
            port = parts.port or 5432
        except ValueError as error:
            raise ExternalServerError(f"{URL_VARIABLE} has a bad port: {error}") from error
        return cls(
            host=parts.hostname,
            port=port,
            admin_user=unquote(parts.username or "postgres"),
            admin_password=unquote(parts.password or ""),
            admin_database=unquote(parts.path.lstrip("/")) or "postgres",
        )

    def query(self, sql: str, **params: Any) -> list[list[Any]]:
        """Run SQL as the administrator (a connection per call: these are rare control calls)."""
        import pg8000.native

        try:
            connection = pg8000.native.Connection(
                self.admin_user,
                host=self.host,
                port=self.port,
                password=self.admin_password or None,
                database=self.admin_database,
                timeout=30,
            )
        except Exception as error:
            raise ExternalServerError(
                f"labkit could not connect to the server {URL_VARIABLE} names "
                f"({self.host}:{self.port} as {self.admin_user}): {error}"
            ) from error
        try:
            rows: list[list[Any]] = connection.run(sql, **params) or []
            return rows
        finally:
            connection.close()

    def provision(self, user: str, password: str, database: str | None) -> None:
        """Create (or re-password) the master user and, if named, its database."""
        quoted = password.replace("'", "''")
        exists = self.query("SELECT 1 FROM pg_roles WHERE rolname = :n", n=user)
        verb = "ALTER" if exists else "CREATE"
        self.query(f"{verb} ROLE \"{user}\" WITH LOGIN CREATEDB CREATEROLE PASSWORD '{quoted}'")
        self.master_user = user
        new = database and database != self.admin_database
        if new and not self.query("SELECT 1 FROM pg_database WHERE datname = :n", n=database):
            self.query(f'CREATE DATABASE "{database}" OWNER "{user}"')
            self.created_database = database

    def set_password(self, user: str, password: str) -> None:
        """``ModifyDBInstance(MasterUserPassword=...)``."""
        quoted = password.replace("'", "''")
        self.query(f"ALTER ROLE \"{user}\" WITH PASSWORD '{quoted}'")

    def terminate_connections(self) -> None:
        """End the master user's sessions (a failover or reboot drops them)."""
        if self.master_user:
            self.query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE usename = :u AND pid <> pg_backend_pid()",
                u=self.master_user,
            )

    def destroy(self, *, keep_archive: bool = False) -> None:
        """Drop the database this instance created (``DeleteDBInstance``); the roles stay."""
        del keep_archive  # nothing is archived here: snapshots need the embedded engine
        if self.created_database:
            self.terminate_connections()
            self.query(f'DROP DATABASE IF EXISTS "{self.created_database}"')
            self.created_database = None


def needs_embedded(identifier: str, what: str) -> str:
    """Why ``what`` (a replica, a restore) of instance ``identifier`` cannot be done here."""
    return (
        f"{what} of {identifier} needs labkit's embedded PostgreSQL (it replays the write-ahead "
        f"log labkit archives), and this course runs instances on the server {URL_VARIABLE} "
        f"names. Unset {URL_VARIABLE} to try it."
    )
