"""A PostgreSQL connection pool that speaks the wire protocol: what RDS Proxy does for the engine.

Plain Python (no moto): the RDS Proxy patch (:mod:`.patch_proxy`) starts one :class:`PoolProxy`
per proxy and the network guard sends connections to the proxy's endpoint here.

What RDS Proxy does (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.html,
https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-connections.html):

- **Clients connect to the proxy, not to the database.** A client's login is checked by the
  proxy itself: the password of a database user whose Secrets Manager secret the proxy holds, or
  an IAM authentication token when the proxy requires IAM (the token is sent as the password, in
  clear text, which is why AWS makes TLS mandatory then). A client connection costs the
  database nothing.
- **Database connections are pooled.** The proxy opens at most ``MaxConnectionsPercent`` of the
  database's ``max_connections`` and lends one to a client for one transaction (multiplexing):
  borrowed at the first message of a transaction, returned when the server is idle again
  (``ReadyForQuery`` with status ``I``). A client that waits for one waits in a queue.
- **Pinning.** A client that changes its session's state (``SET`` outside a transaction, a named
  prepared statement, ``LISTEN``, a temporary table, advisory locks) is pinned to its database
  connection until it disconnects, as AWS does; :attr:`ClientSession.pinned_by` says why.

One thread per proxy runs a ``selectors`` loop over every client and server socket; server
connections are opened (and authenticated with SCRAM) with pg8000, then their sockets are used
raw. The queue has no borrow timeout on the lab clock: a client waits until a connection frees.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Protocol codes of the first message a client sends.
_SSL_REQUEST = 80877103
_GSS_REQUEST = 80877104
_CANCEL_REQUEST = 80877102
_PROTOCOL_3 = 196608

#: Wall seconds a client waits for a pooled connection before the proxy refuses it.
BORROW_WAIT = 2.0

#: Statements that change session state: the client is pinned (rds-proxy-pinning).
_PINNING = re.compile(
    r"^\s*(SET\s+(?!LOCAL\b)|RESET\b|LISTEN\b|PREPARE\b|DECLARE\b.*\bWITH\s+HOLD\b|"
    r"CREATE\s+(GLOBAL\s+|LOCAL\s+)?TEMP(ORARY)?\b|SELECT\s+pg_advisory_lock\b)",
    re.IGNORECASE | re.DOTALL,
)


def _message(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def error_response(code: str, message: str, severity: str = "FATAL") -> bytes:
    """A PostgreSQL ``ErrorResponse`` (what the client's driver raises)."""
    fields = f"S{severity}\0V{severity}\0C{code}\0M{message}\0\0".encode()
    return _message(b"E", fields)


@dataclass
class ServerConnection:
    """One pooled connection to the database.

    Attributes:
        user: The database user it is logged in as.
        database: The database it is connected to.
        sock: Its socket.
        client: The client session borrowing it, or ``None`` when idle in the pool.
    """

    user: str
    database: str
    sock: socket.socket
    driver: Any = None
    client: ClientSession | None = None
    outstanding: int = 0
    status: bytes = b"I"
    buffer: bytearray = field(default_factory=bytearray)
    transactions: int = 0


@dataclass
class ClientSession:
    """One client connected to the proxy.

    Attributes:
        sock: The client's socket.
        user: The user it logged in as.
        database: The database it asked for.
        pinned_by: Why it is pinned to one database connection, or ``""``.
    """

    sock: socket.socket
    phase: str = "startup"
    user: str = ""
    database: str = ""
    buffer: bytearray = field(default_factory=bytearray)
    pending: bytearray = field(default_factory=bytearray)
    server: ServerConnection | None = None
    pinned_by: str = ""
    waiting: bool = False
    waiting_since: float = 0.0


#: ``login(user, password, database)``: ``None`` to let the client in, or why not.
Login = Callable[[str, str, str], str | None]
#: ``credentials(user)``: the password the proxy logs in to the database with, or ``None``.
Credentials = Callable[[str], str | None]


@dataclass
class ProxyStats:
    """What a proxy has done (for views and checks)."""

    clients: int = 0
    clients_total: int = 0
    refused: list[str] = field(default_factory=list)
    server_connections: int = 0
    server_connections_max: int = 0
    borrows: int = 0
    waits: int = 0
    pinned: int = 0


class PoolProxy:
    """A listening proxy with a pool of database connections.

    Args:
        name: The proxy's name (for messages).
        target: Where the database is now: ``(host, port)``, or raises ``ConnectionRefusedError``.
        login: Checks a client's login.
        credentials: The password of a database user the proxy holds a secret for.
        pool_size: The most database connections the proxy may hold (asked at every borrow).
    """

    def __init__(
        self,
        name: str,
        *,
        target: Callable[[], tuple[str, int]],
        login: Login,
        credentials: Credentials,
        pool_size: Callable[[], int],
    ) -> None:
        self.name = name
        self._target = target
        self._login = login
        self._credentials = credentials
        self._pool_size = pool_size
        self.stats = ProxyStats()
        self.servers: list[ServerConnection] = []
        self.clients: list[ClientSession] = []
        self._queue: list[ClientSession] = []
        self._statuses: dict[str, str] = {}
        self._keys = itertools.count(1)
        self._selector = selectors.DefaultSelector()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(256)
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._listener, selectors.EVENT_READ, ("listen", None))
        self._selector.register(self._wake_r, selectors.EVENT_READ, ("wake", None))
        self._lock = threading.RLock()
        self._settle_waiters: list[threading.Event] = []
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"rds-proxy-{name}", daemon=True)
        self._thread.start()

    # -- lifecycle ----------------------------------------------------------------------------
    def stop(self) -> None:
        """Close every connection and stop listening."""
        self._stopping = True
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        self._thread.join(timeout=5)
        for sock in (self._listener, self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                sock.close()

    def settled(self, timeout: float = 5.0) -> None:
        """Return once the proxy's loop has handled everything its sockets held when called.

        A client that closes its connection has its end-of-file waiting on the proxy's socket at
        once (loopback); the loop reads it on its next round. A check that counts open client
        sessions calls this first, so the count never depends on the loop's timing.
        """
        done = threading.Event()
        with self._lock:
            self._settle_waiters.append(done)
        with contextlib.suppress(OSError):
            self._wake_w.send(b"s")
        done.wait(timeout)

    def drop_all(self) -> None:
        """End every client and database connection (the database failed over or went away)."""
        with self._lock:
            for client in list(self.clients):
                self._close_client(client)
            for server in list(self.servers):
                self._close_server(server)

    # -- the loop -----------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping:
            with self._lock:
                self._expire_waits()
            with self._lock:
                # Waiters that asked before this round: its select sees what they wait for.
                waiters, self._settle_waiters = self._settle_waiters, []
            for key, _mask in self._selector.select(timeout=0.1 if self._queue else 0.5):
                kind, owner = key.data
                with self._lock:
                    try:
                        if kind == "listen":
                            self._accept()
                        elif kind == "wake":
                            with contextlib.suppress(OSError):
                                self._wake_r.recv(64)
                        elif kind == "client":
                            self._client_readable(owner)
                        elif kind == "server":
                            self._server_readable(owner)
                    except OSError:
                        if kind == "client":
                            self._close_client(owner)
                        elif kind == "server":
                            self._server_lost(owner)
                    except Exception as error:  # never let one connection stop the proxy
                        if kind == "client":
                            self.stats.refused.append(f"{owner.user}: {error!r}")
                            self._refuse(owner, "XX000", f"proxy error: {error!r}")
                        elif kind == "server":
                            self._server_lost(owner)
            for waiter in waiters:
                waiter.set()
        with self._lock:
            self.drop_all()
            with contextlib.suppress(Exception):
                self._selector.close()

    def _accept(self) -> None:
        try:
            sock, _ = self._listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(True)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = ClientSession(sock)
        self.clients.append(client)
        self.stats.clients = len(self.clients)
        self.stats.clients_total += 1
        self._selector.register(sock, selectors.EVENT_READ, ("client", client))

    # -- clients ------------------------------------------------------------------------------
    def _client_readable(self, client: ClientSession) -> None:
        data = client.sock.recv(65536)
        if not data:
            self._close_client(client)
            return
        client.buffer += data
        if client.phase == "startup":
            self._startup(client)
        if client.phase == "password":
            self._password(client)
        if client.phase == "ready":
            self._forward_client(client)

    def _startup(self, client: ClientSession) -> None:
        while client.phase == "startup" and len(client.buffer) >= 8:
            length, code = struct.unpack("!ii", client.buffer[:8])
            if len(client.buffer) < length:
                return
            body = bytes(client.buffer[8:length])
            del client.buffer[:length]
            if code in (_SSL_REQUEST, _GSS_REQUEST):
                client.sock.sendall(b"N")  # no TLS in the sandbox: the driver goes on in clear
                continue
            if code != _PROTOCOL_3:
                self._close_client(client)
                return
            parts = body.split(b"\0")
            params = dict(zip(parts[0::2], parts[1::2], strict=False))
            client.user = params.get(b"user", b"").decode()
            client.database = params.get(b"database", b"").decode() or client.user
            client.phase = "password"
            client.sock.sendall(_message(b"R", struct.pack("!i", 3)))  # clear-text password

    def _password(self, client: ClientSession) -> None:
        if len(client.buffer) < 5:
            return
        kind = client.buffer[:1]
        (length,) = struct.unpack("!i", client.buffer[1:5])
        if len(client.buffer) < length + 1:
            return
        body = bytes(client.buffer[5 : length + 1])
        del client.buffer[: length + 1]
        if kind != b"p":
            self._refuse(client, "08P01", "expected a password message")
            return
        password = body.rstrip(b"\0").decode("utf-8", "replace")
        why = self._login(client.user, password, client.database)
        if why is not None:
            self.stats.refused.append(f"{client.user}: {why}")
            self._refuse(client, "28P01", why)
            return
        if not self._statuses:
            # The first client: learn the server's parameters (encoding, version...) for it.
            server = self._open_server(client.user, client.database)
            if isinstance(server, str):
                self.stats.refused.append(f"{client.user}: {server}")
                self._refuse(client, "08006", server)
                return
        client.phase = "ready"
        out = bytearray(_message(b"R", struct.pack("!i", 0)))
        for key, value in self._statuses.items():
            out += _message(b"S", key.encode() + b"\0" + value.encode() + b"\0")
        out += _message(b"K", struct.pack("!ii", next(self._keys), 0))
        out += _message(b"Z", b"I")
        client.sock.sendall(out)

    def _refuse(self, client: ClientSession, code: str, message: str) -> None:
        with contextlib.suppress(OSError):
            client.sock.sendall(error_response(code, message))
        self._close_client(client)

    def _forward_client(self, client: ClientSession) -> None:
        while len(client.buffer) >= 5:
            kind = bytes(client.buffer[:1])
            (length,) = struct.unpack("!i", client.buffer[1:5])
            if len(client.buffer) < length + 1:
                break
            message = bytes(client.buffer[: length + 1])
            del client.buffer[: length + 1]
            if kind == b"X":  # Terminate
                self._close_client(client)
                return
            if not client.pinned_by:
                client.pinned_by = _pins(kind, message[5:])
                if client.pinned_by:
                    self.stats.pinned += 1
            client.pending += message
        self._flush(client)

    def _flush(self, client: ClientSession) -> None:
        if not client.pending:
            return
        if client.server is None and not self._borrow(client):
            return
        server = client.server
        assert server is not None
        data = bytes(client.pending)
        client.pending.clear()
        server.outstanding += _count_syncs(data)
        server.sock.sendall(data)

    # -- the pool -----------------------------------------------------------------------------
    def _borrow(self, client: ClientSession) -> bool:
        for server in self.servers:
            if (
                server.client is None
                and server.user == client.user
                and server.database == client.database
            ):
                self._lend(server, client)
                return True
        if len(self.servers) >= self._pool_size():
            # Room is made by closing an idle connection of another user, else the client waits.
            idle = next((s for s in self.servers if s.client is None), None)
            if idle is None:
                if not client.waiting:
                    client.waiting = True
                    client.waiting_since = time.monotonic()
                    self.stats.waits += 1
                    self._queue.append(client)
                return False
            self._close_server(idle)
        opened = self._open_server(client.user, client.database)
        if isinstance(opened, str):
            self._refuse(client, "08006", opened)
            return False
        self._lend(opened, client)
        return True

    def _expire_waits(self) -> None:
        """Refuse clients that waited :data:`BORROW_WAIT` wall seconds for a connection.

        RDS Proxy refuses after ``ConnectionBorrowTimeout`` (120 s by default). Here the learner's
        code runs in one thread: a client that waits is usually waiting for connections that
        other sessions of that same thread hold (pinned, or in an open transaction), which no
        amount of waiting frees; so the wait is short, in wall time, and the refusal says why.
        """
        now = time.monotonic()
        for client in list(self._queue):
            if now - client.waiting_since < BORROW_WAIT:
                continue
            pinned = sum(1 for s in self.servers if s.client is not None and s.client.pinned_by)
            self.stats.refused.append(f"{client.user}: timed out waiting for a connection")
            self._queue.remove(client)
            client.waiting = False
            client.pending.clear()  # the statement is not run; the session stays open
            message = (
                f"timed out waiting to acquire a database connection: all {len(self.servers)} "
                f"of the proxy's connections are lent ({pinned} pinned to their clients by "
                "session state, the others in open transactions)"
            )
            try:
                client.sock.sendall(
                    error_response("08006", message, "ERROR") + _message(b"Z", b"I")
                )
            except OSError:
                self._close_client(client)

    def _lend(self, server: ServerConnection, client: ClientSession) -> None:
        server.client = client
        client.server = server
        client.waiting = False
        self.stats.borrows += 1

    def _open_server(self, user: str, database: str) -> ServerConnection | str:
        import pg8000.native

        password = self._credentials(user)
        if password is None:
            return f"the proxy {self.name} holds no secret for user {user}"
        try:
            host, port = self._target()
            driver = pg8000.native.Connection(
                user, host=host, port=port, password=password, database=database, timeout=30
            )
        except ConnectionRefusedError as error:
            return f"the proxy {self.name} cannot reach its target: {error}"
        except Exception as error:  # pg8000's DatabaseError, InterfaceError: said to the client
            return f"the proxy {self.name} could not connect to the database: {_said(error)}"
        if not self._statuses:
            self._statuses = {
                _text(k): _text(v) for k, v in dict(driver.parameter_statuses).items()
            }
        sock: socket.socket = driver._usock
        sock.setblocking(True)
        with contextlib.suppress(OSError):  # a Unix socket has no Nagle to turn off
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        server = ServerConnection(user, database, sock, driver)
        self.servers.append(server)
        self.stats.server_connections = len(self.servers)
        self.stats.server_connections_max = max(
            self.stats.server_connections_max, len(self.servers)
        )
        self._selector.register(sock, selectors.EVENT_READ, ("server", server))
        return server

    def _server_readable(self, server: ServerConnection) -> None:
        data = server.sock.recv(65536)
        if not data:
            self._server_lost(server)
            return
        server.buffer += data
        while len(server.buffer) >= 5:
            kind = server.buffer[:1]
            (length,) = struct.unpack("!i", server.buffer[1:5])
            if len(server.buffer) < length + 1:
                break
            if kind == b"Z":
                server.outstanding = max(0, server.outstanding - 1)
                server.status = bytes(server.buffer[5:6])
            del server.buffer[: length + 1]
        client = server.client
        if client is not None:
            try:
                client.sock.sendall(data)
            except OSError:
                self._close_client(client)
                return
        if (
            client is not None
            and not client.pinned_by
            and server.outstanding == 0
            and server.status == b"I"
            and not server.buffer
        ):
            self._release(server)

    def _release(self, server: ServerConnection) -> None:
        client = server.client
        if client is not None:
            client.server = None
        server.client = None
        server.transactions += 1
        while self._queue:
            waiting = self._queue.pop(0)
            if waiting in self.clients and waiting.server is None:
                waiting.waiting = False
                self._flush(waiting)
                if waiting.server is not None or waiting.waiting:
                    break

    def _server_lost(self, server: ServerConnection) -> None:
        client = server.client
        self._close_server(server)
        if client is not None:
            # The database ended the session (failover, reboot): the client's transaction is
            # gone, and so is its connection, as on AWS when the writer changes mid-transaction.
            with contextlib.suppress(OSError):
                client.sock.sendall(
                    error_response("57P01", "terminating connection: the database went away")
                )
            self._close_client(client)

    def _close_server(self, server: ServerConnection) -> None:
        if server in self.servers:
            self.servers.remove(server)
        self.stats.server_connections = len(self.servers)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(server.sock)
        with contextlib.suppress(OSError):
            server.sock.sendall(_message(b"X", b""))
        with contextlib.suppress(OSError):
            server.sock.close()
        if server.client is not None:
            server.client.server = None
            server.client = None

    def _close_client(self, client: ClientSession) -> None:
        if client in self.clients:
            self.clients.remove(client)
        self.stats.clients = len(self.clients)
        with contextlib.suppress(ValueError):
            self._queue.remove(client)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(client.sock)
        with contextlib.suppress(OSError):
            client.sock.close()
        server = client.server
        client.server = None
        if server is not None:
            server.client = None
            if client.pinned_by or server.status != b"I" or server.outstanding:
                # Mid-transaction or with session state: never lent to anyone else.
                self._close_server(server)
            else:
                self._release(server)


def _pins(kind: bytes, body: bytes) -> str:
    """Why this client message pins its session to one database connection, or ``""``."""
    if kind == b"Q":
        sql = body.rstrip(b"\0").decode("utf-8", "replace")
        match = _PINNING.match(sql)
        if match:
            return f"the statement {match.group(0).strip().upper()!r} changes session state"
    elif kind == b"P" and not body.startswith(b"\0"):
        name = body.split(b"\0", 1)[0].decode("utf-8", "replace")
        return f"the named prepared statement {name!r}"
    elif kind == b"P":
        sql = body[1:].split(b"\0", 1)[0].decode("utf-8", "replace")
        match = _PINNING.match(sql)
        if match:
            return f"the statement {match.group(0).strip().upper()!r} changes session state"
    return ""


def _count_syncs(data: bytes) -> int:
    """How many ``ReadyForQuery`` answers the client messages in ``data`` will get."""
    count = 0
    at = 0
    while at + 5 <= len(data):
        kind = data[at : at + 1]
        (length,) = struct.unpack("!i", data[at + 1 : at + 5])
        if kind in (b"Q", b"S"):
            count += 1
        at += length + 1
    return count


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _said(error: Exception) -> str:
    args = error.args[0] if error.args else error
    if isinstance(args, dict):
        return str(args.get("M", args))
    return str(args)
