"""Where to connect to a Transfer Family server, and what its clients did: read-only snapshots.

A server's endpoint is ``<server-id>.server.transfer.<region>.amazonaws.com`` port 22 (AWS's
API reference: "server endpoints are in the form server.transfer.region.amazonaws.com"). In the
sandbox that name resolves while the lab runs (the network guard routes it to the server's
loopback port), so a learner connects exactly as on AWS::

    host, port = labkit.services.transfer.state.sftp_endpoint(server_id)
    ssh = paramiko.SSHClient()
    ssh.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    ssh.connect(host, port, username="ana", pkey=key)
    ssh.open_sftp().put("report.csv", "report.csv")

A client outside the Python process (the ``sftp`` command) cannot use the name; it connects to
:attr:`SftpEndpoint.loopback` instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from labkit.errors import LabkitError
from labkit.sandbox.backends import DEFAULT_ACCOUNT_ID, existing
from labkit.services.transfer.sim_sftp import Event, SftpService

#: The attribute of a moto Transfer server that holds its SFTP service (see the patch).
SERVICE_ATTRIBUTE = "_labkit_sftp"
#: SFTP's port on a Transfer Family endpoint.
SFTP_PORT = 22


class ServerNotFoundError(LabkitError):
    """No Transfer Family server of that id serves SFTP in the sandbox."""

    code = "TransferServerNotFound"

    def __init__(self, server_id: str, known: list[str]) -> None:
        super().__init__(
            f"There is no Transfer Family server {server_id!r} serving SFTP in the sandbox. "
            f"Known: {', '.join(known) or 'none'}."
        )


def endpoint_name(server_id: str, region: str) -> str:
    """The endpoint host name AWS gives a server."""
    return f"{server_id}.server.transfer.{region}.amazonaws.com"


@dataclass(frozen=True)
class SftpEndpoint:
    """Where an SFTP client connects.

    Attributes:
        host: The server's endpoint name (resolves inside the lab's Python process).
        port: 22, as on AWS.
        loopback: ``(address, port)`` for a client outside the process.
    """

    host: str
    port: int
    loopback: tuple[str, int]

    def __iter__(self) -> Iterator[Any]:
        # ``host, port = sftp_endpoint(...)``
        return iter((self.host, self.port))


def _servers(account_id: str = DEFAULT_ACCOUNT_ID) -> Iterator[tuple[str, str, Any]]:
    for region, backend in existing("transfer", account_id):
        for server_id, server in list(getattr(backend, "servers", {}).items()):
            yield region, server_id, server


def service(server_id: str) -> SftpService:
    """The SFTP service of a server (by id or ARN)."""
    wanted = server_id.rsplit("/", 1)[-1]
    known = []
    for _region, found, server in _servers():
        running = getattr(server, SERVICE_ATTRIBUTE, None)
        if isinstance(running, SftpService):
            known.append(found)
            if found == wanted:
                return running
    raise ServerNotFoundError(server_id, known)


def sftp_endpoint(server_id: str) -> SftpEndpoint:
    """Where to connect to a server (by id or ARN)."""
    running = service(server_id)
    for region, found, _server in _servers():
        if found == running.server_id:
            return SftpEndpoint(
                endpoint_name(found, region), SFTP_PORT, ("127.0.0.1", running.port)
            )
    raise ServerNotFoundError(server_id, [])  # pragma: no cover - service() found it


def events(server_id: str) -> list[Event]:
    """What the server's clients did, oldest first (logins, uploads, denials...)."""
    return list(service(server_id).log)


def snapshot(server_id: str) -> dict[str, Any]:
    """What the transfer view shows: the endpoint and every client event, as plain data."""
    running = service(server_id)
    endpoint = sftp_endpoint(server_id)
    return {
        "server_id": running.server_id,
        "host": endpoint.host,
        "port": endpoint.port,
        "events": [
            {
                "user": e.user,
                "operation": e.operation,
                "path": e.path,
                "s3": f"s3://{e.bucket}/{e.key}" if e.bucket else "",
                "ok": e.ok,
                "detail": e.detail,
                "size": e.size,
            }
            for e in running.log
        ],
    }


def servers_serving() -> list[str]:
    """The id of every server that serves SFTP in the sandbox."""
    return [
        found
        for _region, found, server in _servers()
        if isinstance(getattr(server, SERVICE_ATTRIBUTE, None), SftpService)
    ]
