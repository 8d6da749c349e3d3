"""The network guard's sandbox endpoints: a served name reaches its route's target, nothing else."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from labkit.errors import NetworkBlockedError
from labkit.sandbox.netguard import network_guard, serve_endpoint

NAME = "db.example1.us-east-1.rds.amazonaws.com"


class _Route:
    def __init__(self, port: int) -> None:
        self.port = port
        self.refuse = False

    def target(self, port: int) -> tuple[str, int]:
        if self.refuse or port != 5432:
            raise ConnectionRefusedError("refused by the route")
        return "127.0.0.1", self.port


@pytest.fixture
def server() -> Iterator[socket.socket]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def answer() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        conn.sendall(b"hello")
        conn.close()

    threading.Thread(target=answer, daemon=True).start()
    yield listener
    listener.close()


def test_a_served_name_connects_to_its_target(server: socket.socket) -> None:
    route = _Route(server.getsockname()[1])
    withdraw = serve_endpoint(NAME, route)
    try:
        with network_guard(), socket.create_connection((NAME, 5432), timeout=5) as conn:
            assert conn.recv(5) == b"hello"
    finally:
        withdraw()


def test_a_route_may_refuse_and_other_names_stay_blocked(server: socket.socket) -> None:
    route = _Route(server.getsockname()[1])
    withdraw = serve_endpoint(NAME, route)
    try:
        with network_guard():
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((NAME, 3306), timeout=5)
            route.refuse = True
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((NAME, 5432), timeout=5)
            with pytest.raises(NetworkBlockedError):
                socket.create_connection(("other." + NAME, 5432), timeout=5)
    finally:
        withdraw()
    with network_guard(), pytest.raises(NetworkBlockedError):
        socket.getaddrinfo(NAME, 5432)  # withdrawn: an ordinary outside name again
