"""Refuse every connection that would leave this machine while a lab runs.

moto hands URLs it does not recognise to the real network (SNS http subscriptions, API Gateway
HTTP integrations, a client with a custom ``endpoint_url``). The guard stops them at three doors,
each at once and with a :class:`~labkit.errors.NetworkBlockedError` that names the host:

- botocore: a request that moto did not answer would go to the network; refused before sending
  (otherwise botocore wraps the error and retries with back-off, which is not "at once");
- name resolution: ``socket.getaddrinfo`` for a non-local name (a DNS query leaves the machine);
- ``socket.socket.connect`` / ``connect_ex`` to a non-loopback address, and datagrams
  (``sendto`` / ``sendmsg``) sent to one without a connect;
- the other resolvers (``gethostbyname``, ``gethostbyname_ex``, ``gethostbyaddr``).

Proxy settings are cleared while a lab runs (see ``environment.py``): a proxy on loopback would
otherwise fetch from the network on the lab's behalf.

Loopback stays open so local servers (a JupyterLab, a test server) keep working.

Sandbox endpoints (an RDS instance's ``*.rds.amazonaws.com`` name) are the one exception to "a
name is never resolved": a service registers a :class:`Route` for its endpoint's name with
:func:`serve_endpoint`; resolving that name gives a placeholder loopback address, and connecting
to it connects to wherever the route points now (the engine's loopback port), or is refused when
the route says so (an instance failing over). Nothing else is reachable by name.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol
from urllib.parse import urlsplit

from moto.core.botocore_stubber import BotocoreStubber

from labkit.errors import NetworkBlockedError

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


class Route(Protocol):
    """Where a connection to one sandbox endpoint goes (see :func:`serve_endpoint`)."""

    def target(self, port: int) -> tuple[str, int]:
        """The real ``(host, port)`` to connect to; raises ``ConnectionRefusedError`` to refuse."""
        ...


# Endpoint name -> route, and the placeholder address each name resolves to. Placeholders are in
# 127.77.0.0/16 and are only ever translated, never connected to (macOS has 127.0.0.1 alone).
_routes: dict[str, Route] = {}
_placeholders: dict[str, str] = {}
_names_by_placeholder: dict[str, str] = {}


def serve_endpoint(name: str, route: Route) -> Callable[[], None]:
    """Make ``name`` reachable through the guard; returns the function that withdraws it."""
    key = name.lower().rstrip(".")
    _routes[key] = route
    if key not in _placeholders:
        n = len(_placeholders) + 1
        address = f"127.77.{n // 250 % 250}.{n % 250 + 1}"
        _placeholders[key] = address
        _names_by_placeholder[address] = key

    def withdraw() -> None:
        if _routes.get(key) is route:
            del _routes[key]

    return withdraw


#: Servers outside this machine the course was told to use (an instructor's PostgreSQL, named by
#: ``LABKIT_POSTGRES_URL``): the one exception to "nothing leaves the machine", made by whoever
#: runs the course, never by a learner's code. (host lowercased, port).
_remote: set[tuple[str, int]] = set()


def allow_remote(host: str, port: int) -> Callable[[], None]:
    """Let the lab reach ``host:port`` and look ``host`` up; returns what withdraws that."""
    key = (host.lower(), int(port))
    _remote.add(key)

    def withdraw() -> None:
        _remote.discard(key)

    return withdraw


def _remote_allowed(host: object, port: int | None = None) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.lower()
    return any(h == name and (port is None or p == port) for h, p in _remote)


def _routed(host: object) -> str | None:
    """The endpoint name ``host`` stands for (the name itself or its placeholder), if served."""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return None
    key = host.lower().rstrip(".")
    key = _names_by_placeholder.get(key, key)
    return key if key in _routes else None


def is_local_host(host: object) -> bool:
    """Whether ``host`` (a name or an address) stays on this machine."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").split("%", 1)[0].lower()
    if name in ("", "0.0.0.0", "::") or name in _LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _address_host(address: Any) -> tuple[object, int | None]:
    if isinstance(address, tuple) and address:
        port = address[1] if len(address) > 1 and isinstance(address[1], int) else None
        return address[0], port
    return address, None


@contextmanager
def network_guard() -> Iterator[None]:
    """Install the guard for the duration of the ``with`` block."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_sendto = socket.socket.sendto
    real_sendmsg = socket.socket.sendmsg
    real_getaddrinfo = socket.getaddrinfo
    real_resolvers = {
        name: getattr(socket, name)
        for name in ("gethostbyname", "gethostbyname_ex", "gethostbyaddr")
    }
    real_stub_call = BotocoreStubber.__call__

    def check(sock: socket.socket, address: Any, via: str) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return  # Unix sockets and the like never leave the machine.
        host, port = _address_host(address)
        if not is_local_host(host) and not _remote_allowed(host, port):
            raise NetworkBlockedError(str(host), port, via=via)

    def translate(sock: socket.socket, address: Any) -> Any:
        # A sandbox endpoint: connect to where its route points now.
        host, port = _address_host(address)
        name = _routed(host)
        if name is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
            return address
        return _routes[name].target(port or 0)

    def connect(self: socket.socket, address: Any) -> None:
        address = translate(self, address)
        check(self, address, "socket connect")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        try:
            address = translate(self, address)
        except ConnectionRefusedError:
            return errno.ECONNREFUSED
        check(self, address, "socket connect")
        return real_connect_ex(self, address)

    def sendto(self: socket.socket, data: Any, *args: Any) -> int:
        # sendto(data, address) or sendto(data, flags, address): a datagram needs no connect.
        check(self, args[-1], "datagram")
        return real_sendto(self, data, *args)

    def sendmsg(self: socket.socket, buffers: Any, *args: Any) -> int:
        if len(args) >= 3 and args[2] is not None:
            check(self, args[2], "datagram")
        return real_sendmsg(self, buffers, *args)

    def resolver(name: str) -> Any:
        real = real_resolvers[name]

        def resolve(host: Any, *args: Any) -> Any:
            name = _routed(host)
            if name is not None:
                host = _placeholders[name]
            if not is_local_host(host) and not _remote_allowed(host):
                raise NetworkBlockedError(str(host), via="name lookup")
            return real(host, *args)

        return resolve

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = _routed(host)
        if name is not None:
            host = _placeholders[name]
        if not is_local_host(host) and not _remote_allowed(host):
            raise NetworkBlockedError(
                str(host), port if isinstance(port, int) else None, via="name lookup"
            )
        return real_getaddrinfo(host, port, *args, **kwargs)

    def stub_call(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        response = real_stub_call(self, event_name, request, **kwargs)
        if response is None and self.enabled:
            host = urlsplit(request.url).hostname
            if not is_local_host(host):
                raise NetworkBlockedError(
                    str(host), via=f"AWS request {request.method} {request.url}"
                )
        return response

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    socket.socket.sendto = sendto  # type: ignore[method-assign,assignment]
    socket.socket.sendmsg = sendmsg  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = getaddrinfo
    for name in real_resolvers:
        setattr(socket, name, resolver(name))
    BotocoreStubber.__call__ = stub_call  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]
        socket.socket.sendto = real_sendto  # type: ignore[method-assign]
        socket.socket.sendmsg = real_sendmsg  # type: ignore[method-assign]
        socket.getaddrinfo = real_getaddrinfo
        for name, real in real_resolvers.items():
            setattr(socket, name, real)
        BotocoreStubber.__call__ = real_stub_call  # type: ignore[method-assign]
