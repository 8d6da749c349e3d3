"""A byte relay in front of PostgreSQL that marks each session as one Aurora Replica's.

Plain Python (no moto). An Aurora Replica reads the cluster volume the writer writes
(https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Replication.html), so in
the sandbox a replica's sessions go to the cluster's one engine, through this relay: it adds
``-c default_transaction_read_only=on -c labkit.instance=<replica>`` to the client's startup
message (so a write fails with PostgreSQL's own "cannot execute INSERT in a read-only
transaction", and ``aurora_db_instance_identifier()`` names the replica), then copies bytes both
ways. Authentication (SCRAM) passes through untouched: the engine checks the password.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
from collections.abc import Callable

_SSL_REQUEST = 80877103
_GSS_REQUEST = 80877104
_PROTOCOL_3 = 196608


def with_options(startup: bytes, options: str) -> bytes:
    """The startup message ``startup`` (length included) with ``options`` added."""
    body = startup[8:]
    parts = body.split(b"\0")
    pairs = dict(zip(parts[0:-2:2], parts[1:-2:2], strict=False))
    existing = pairs.get(b"options", b"").decode()
    pairs[b"options"] = (existing + " " + options).strip().encode()
    out = b"".join(k + b"\0" + v + b"\0" for k, v in pairs.items()) + b"\0"
    return struct.pack("!ii", len(out) + 8, _PROTOCOL_3) + out


class ReplicaRelay:
    """Listens on a loopback port; each connection is one replica's session on the engine.

    Args:
        target: Where the engine is now, and the replica this connection is for.
    """

    def __init__(self, target: Callable[[], tuple[tuple[str, int], str]]) -> None:
        self._target = target
        self._selector = selectors.DefaultSelector()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._selector.register(self._listener, selectors.EVENT_READ, None)
        self._pending: dict[socket.socket, bytearray] = {}
        self._peer: dict[socket.socket, socket.socket] = {}
        #: How many sessions each replica got (the reader endpoint's spread).
        self.sessions: dict[str, int] = {}
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="aurora-relay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close every session and stop listening."""
        self._stopping = True
        self._thread.join(timeout=5)
        with contextlib.suppress(OSError):
            self._listener.close()

    def _run(self) -> None:
        while not self._stopping:
            for key, _mask in self._selector.select(timeout=0.2):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    if sock is self._listener:
                        self._accept()
                    elif sock in self._pending:
                        self._startup(sock)
                    else:
                        self._pump(sock)
                except Exception:  # a broken session never stops the relay
                    self._close(sock)
        for sock in list(self._peer) + list(self._pending):
            self._close(sock)
        with contextlib.suppress(Exception):
            self._selector.close()

    def _accept(self) -> None:
        try:
            sock, _ = self._listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(True)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._pending[sock] = bytearray()
        self._selector.register(sock, selectors.EVENT_READ, None)

    def _startup(self, client: socket.socket) -> None:
        data = client.recv(65536)
        if not data:
            self._close(client)
            return
        buffer = self._pending[client]
        buffer += data
        while len(buffer) >= 8:
            length, code = struct.unpack("!ii", buffer[:8])
            if len(buffer) < length:
                return
            message = bytes(buffer[:length])
            del buffer[:length]
            if code in (_SSL_REQUEST, _GSS_REQUEST):
                client.sendall(b"N")
                continue
            (host, port), replica = self._target()
            server = socket.create_connection((host, port))
            server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            options = f"-c default_transaction_read_only=on -c labkit.instance={replica}"
            server.sendall(with_options(message, options) + bytes(buffer))
            self.sessions[replica] = self.sessions.get(replica, 0) + 1
            del self._pending[client]
            self._peer[client] = server
            self._peer[server] = client
            self._selector.register(server, selectors.EVENT_READ, None)
            return

    def _pump(self, sock: socket.socket) -> None:
        data = sock.recv(65536)
        if not data:
            self._close(sock)
            return
        self._peer[sock].sendall(data)

    def _close(self, sock: socket.socket) -> None:
        for each in (sock, self._peer.get(sock)):
            if each is None:
                continue
            self._pending.pop(each, None)
            self._peer.pop(each, None)
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(each)
            with contextlib.suppress(OSError):
                each.close()
