"""The network guard: while a lab runs, nothing leaves this machine, and it says so at once.

These tests try to reach addresses off this machine on purpose. So that a broken guard can never
let a packet or a DNS query out, a test-only safety net is installed *under* the guard for this
module: it refuses every non-loopback connection and name lookup with :class:`Escaped`, a
different error, which fails the test instead of touching the network.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import requests

import labkit
from labkit.errors import LabkitError
from labkit.lab import Lab

# A bound, not a timing benchmark: "at once" means no connection attempt and no time-out. The
# attempts below allow the network TIMEOUT seconds; refused at once is far under it even on a
# loaded machine (a 1 s bound failed once at 1.6 s when CI ran two test processes per core).
TIMEOUT = 30
AT_ONCE = TIMEOUT / 3


class Escaped(BaseException):
    """A connection got past labkit's guard (raised by the test's safety net instead of sending)."""


def _stays_local(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host is None or host in ("", "localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host).strip("[]")).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def safety_net(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse non-loopback traffic below labkit's guard, whatever the guard does."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def refuse(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _stays_local(address[0]):
            raise Escaped(f"connection to {address!r} got past labkit's network guard")

    def connect(self: socket.socket, address: Any) -> None:
        refuse(self, address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        refuse(self, address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _stays_local(host):
            raise Escaped(f"name lookup of {host!r} got past labkit's network guard")
        return real_getaddrinfo(host, *args, **kwargs)

    def lookup(name: str) -> Callable[..., Any]:
        real = getattr(socket, name)

        def guarded(host: Any, *args: Any) -> Any:
            if not _stays_local(host):
                raise Escaped(f"{name}({host!r}) got past labkit's network guard")
            return real(host, *args)

        return guarded

    def sender(name: str) -> Callable[..., Any]:
        real = getattr(socket.socket, name)

        def guarded(self: socket.socket, *args: Any) -> Any:
            address = args[-1] if name == "sendto" else (args[2] if len(args) > 2 else None)
            if isinstance(address, tuple) and not _stays_local(address[0]):
                raise Escaped(f"{name} to {address!r} got past labkit's network guard")
            return real(self, *args)

        return guarded

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    for name in ("gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
        monkeypatch.setattr(socket, name, lookup(name))
    for name in ("sendto", "sendmsg"):
        monkeypatch.setattr(socket.socket, name, sender(name))


def _blocked(attempt: Callable[[], object]) -> tuple[labkit.NetworkBlockedError, float]:
    started = time.perf_counter()
    with pytest.raises(labkit.NetworkBlockedError) as info:
        attempt()
    return info.value, time.perf_counter() - started


def test_network_blocked_error_is_a_labkit_error() -> None:
    assert issubclass(labkit.NetworkBlockedError, LabkitError)


def test_raw_socket_connection_is_refused_at_once(lab: Lab) -> None:
    error, took = _blocked(lambda: socket.create_connection(("203.0.113.5", 80), timeout=TIMEOUT))
    assert "203.0.113.5" in str(error)
    assert error.host == "203.0.113.5"
    assert took < AT_ONCE


def test_socket_connect_to_an_address_is_refused(lab: Lab) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        error, took = _blocked(lambda: sock.connect(("203.0.113.5", 443)))
        assert error.host == "203.0.113.5"
        assert error.port == 443
        with pytest.raises(labkit.NetworkBlockedError):
            sock.connect_ex(("203.0.113.5", 443))
    assert took < AT_ONCE


def test_requests_is_refused_at_once(lab: Lab) -> None:
    error, took = _blocked(lambda: requests.get("http://example.com", timeout=TIMEOUT))
    assert "example.com" in str(error)
    assert took < AT_ONCE


def test_urllib_is_refused_at_once(lab: Lab) -> None:
    error, took = _blocked(lambda: urllib.request.urlopen("http://example.com", timeout=TIMEOUT))
    assert "example.com" in str(error)
    assert took < AT_ONCE


def test_boto3_client_with_a_real_endpoint_is_refused_at_once(lab: Lab) -> None:
    client = boto3.client("sqs", endpoint_url="https://example.org")
    error, took = _blocked(client.list_queues)
    assert "example.org" in str(error)
    assert took < AT_ONCE


def test_sns_delivery_to_an_http_subscription_is_refused_at_once(lab: Lab) -> None:
    sns = lab.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint="http://example.com/hook")
    error, took = _blocked(lambda: sns.publish(TopicArn=topic, Message="order placed"))
    assert "example.com" in str(error)
    assert took < AT_ONCE


def test_sandbox_aws_calls_still_work_under_the_guard(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="local")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="stays here")
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "stays here"


class LoopbackServer:
    """A TCP server on 127.0.0.1 that answers each connection with ``reply`` and keeps what it
    received (the first chunk of each connection)."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.received: list[bytes] = []
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen()
        self._server.settimeout(0.05)  # so that the thread notices close() soon
        self.host, self.port = self._server.getsockname()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                if self.reply.startswith(b"HTTP/"):
                    with contextlib.suppress(OSError):
                        self.received.append(conn.recv(4096))
                conn.sendall(self.reply)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=TIMEOUT)
        self._server.close()


@pytest.fixture
def loopback_server() -> Iterator[LoopbackServer]:
    """A server on 127.0.0.1 that says b"pong"."""
    server = LoopbackServer(b"pong")
    yield server
    server.close()


@pytest.fixture
def loopback_proxy() -> Iterator[LoopbackServer]:
    """An HTTP proxy on 127.0.0.1 that forwards nothing: it answers 502 and notes the request."""
    server = LoopbackServer(
        b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    yield server
    server.close()


def test_loopback_server_still_accepts_connections(
    lab: Lab, loopback_server: LoopbackServer
) -> None:
    port = loopback_server.port
    for address in [("127.0.0.1", port), ("localhost", port)]:
        with socket.create_connection(address, timeout=TIMEOUT) as conn:
            assert conn.recv(4) == b"pong"


def test_guard_is_removed_when_the_lab_stops() -> None:
    before = (socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex)
    lab = labkit.start(quiet=True)
    assert socket.getaddrinfo is not before[0]
    lab.stop()
    assert (socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex) == before
    # With the guard gone, a lookup reaches the layer below it (here the test's safety net).
    with pytest.raises(Escaped):
        socket.getaddrinfo("example.com", 80)


def test_guard_follows_the_newest_lab_and_leaves_with_it() -> None:
    before = socket.getaddrinfo
    first = labkit.start(quiet=True)
    second = labkit.start(quiet=True)
    with pytest.raises(labkit.NetworkBlockedError):
        socket.getaddrinfo("example.com", 80)
    first.stop()  # already replaced: stopping it again changes nothing
    with pytest.raises(labkit.NetworkBlockedError):
        socket.getaddrinfo("example.com", 80)
    second.stop()
    assert socket.getaddrinfo is before


def test_requests_to_a_loopback_server_still_work(lab: Lab, loopback_proxy: LoopbackServer) -> None:
    response = requests.get(f"http://127.0.0.1:{loopback_proxy.port}/health", timeout=TIMEOUT)
    assert response.status_code == 502
    assert loopback_proxy.received[0].startswith(b"GET /health ")


# -- ways around the guard ----------------------------------------------------------------------


def test_gethostbyname_is_refused(lab: Lab) -> None:
    with pytest.raises(labkit.NetworkBlockedError):
        socket.gethostbyname("example.com")


def test_udp_sendto_off_the_machine_is_refused(lab: Lab) -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock,
        pytest.raises(labkit.NetworkBlockedError),
    ):
        sock.sendto(b"ping", ("203.0.113.5", 53))


def test_a_loopback_proxy_cannot_carry_requests_off_the_machine(
    loopback_proxy: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy = f"http://127.0.0.1:{loopback_proxy.port}"
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    lab = labkit.start(quiet=True)
    try:
        with pytest.raises(labkit.NetworkBlockedError):
            requests.get("http://example.com/", timeout=TIMEOUT)
    finally:
        lab.stop()
    assert loopback_proxy.received == [], "the proxy was asked to fetch from the network"
