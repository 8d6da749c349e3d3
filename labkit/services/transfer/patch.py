"""Transfer Family's data plane on moto's control plane: a real SFTP server per server.

moto 5.2.5 keeps servers, users and SSH public keys (``CreateServer``, ``CreateUser``,
``ImportSshPublicKey``, ``Describe*``, ``Delete*``) but nothing answers at a server's endpoint.
Here:

- ``CreateServer`` with SFTP among its protocols starts an SFTP server (:mod:`.sim_sftp`,
  paramiko's server mode) on a loopback port, and serves the endpoint name AWS gives it,
  ``<server-id>.server.transfer.<region>.amazonaws.com`` port 22, through the network guard: a
  real SFTP client (``paramiko.SSHClient().connect(host, 22, ...)``) reaches it by that name
  while the lab runs, and nothing else on the network;
- files go to the sandbox's S3 in process (through the sandbox's own S3 client, so S3's event
  notifications and replication see SFTP uploads as they see any other ``PutObject``);
- users, keys, home directories and roles are read from moto at each login and each operation's
  permission is asked of the policy engine (:mod:`.access`);
- ``CreateServer`` refuses what AWS refuses: FTP or FTPS on a ``PUBLIC`` endpoint or with
  service-managed users, FTPS without a certificate
  (https://docs.aws.amazon.com/transfer/latest/APIReference/API_CreateServer.html);
- ``DeleteServer`` stops its SFTP server; the lab stopping stops them all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from moto.transfer import models as transfer_models
from moto.transfer.exceptions import TransferError

from labkit.sandbox import netguard
from labkit.services.transfer import access
from labkit.services.transfer.sim_paths import HomeDirectoryError, HomeMap
from labkit.services.transfer.sim_sftp import Account, ObjectInfo, SftpService
from labkit.services.transfer.state import SERVICE_ATTRIBUTE, SFTP_PORT, endpoint_name

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox


class InvalidRequest(TransferError):
    """AWS's ``InvalidRequestException`` for a server configuration it refuses."""

    def __init__(self, message: str) -> None:
        super().__init__("InvalidRequestException", message)


def _text(value: Any) -> str:
    # moto keeps some fields as str-valued enums.
    return str(getattr(value, "value", value) or "")


class _S3Store:
    """The sandbox's S3, through its own client (in process: no network)."""

    def __init__(self, sandbox: Sandbox, region: str) -> None:
        self._sandbox = sandbox
        self._region = region

    def _s3(self) -> Any:
        return self._sandbox.client("s3", self._region)

    def bucket_exists(self, bucket: str) -> bool:
        try:
            self._s3().head_bucket(Bucket=bucket)
        except Exception:
            return False
        return True

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        try:
            found = self._s3().head_object(Bucket=bucket, Key=key)
        except Exception:
            return None
        return ObjectInfo(key, int(found["ContentLength"]), found["LastModified"].timestamp())

    def get(self, bucket: str, key: str) -> bytes | None:
        try:
            body: bytes = self._s3().get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception:
            return None
        return body

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self._s3().put_object(Bucket=bucket, Key=key, Body=data)

    def delete(self, bucket: str, key: str) -> None:
        self._s3().delete_object(Bucket=bucket, Key=key)

    def listing(self, bucket: str, prefix: str) -> list[ObjectInfo]:
        pages = self._s3().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [
            ObjectInfo(o["Key"], int(o["Size"]), o["LastModified"].timestamp())
            for page in pages
            for o in page.get("Contents", [])
        ]


class _Route:
    """The network guard's route for one server's endpoint name: its SFTP port, while the
    server exists in the current world and is ONLINE."""

    def __init__(self, backend: Any, server_id: str, service: SftpService) -> None:
        self._backend = backend
        self._server_id = server_id
        self._service = service

    def target(self, port: int) -> tuple[str, int]:
        server = self._backend.servers.get(self._server_id)
        if server is None or getattr(server, SERVICE_ATTRIBUTE, None) is not self._service:
            raise ConnectionRefusedError(f"no Transfer Family server {self._server_id}")
        if port != SFTP_PORT:
            raise ConnectionRefusedError(
                f"{self._server_id} serves SFTP on port {SFTP_PORT}, not {port}"
            )
        if _text(server.state) != "ONLINE":
            raise ConnectionRefusedError(f"{self._server_id} is {_text(server.state)}")
        return ("127.0.0.1", self._service.port)


def _check_protocols(kwargs: dict[str, Any]) -> None:
    protocols = {_text(p) for p in (kwargs.get("protocols") or ["SFTP"])}
    endpoint = _text(kwargs.get("endpoint_type")) or "PUBLIC"
    identity = _text(kwargs.get("identity_provider_type")) or "SERVICE_MANAGED"
    if protocols & {"FTP", "FTPS"}:
        if endpoint != "VPC":
            raise InvalidRequest("FTP and FTPS servers need EndpointType VPC (never PUBLIC)")
        if identity == "SERVICE_MANAGED":
            raise InvalidRequest(
                "FTP and FTPS need an identity provider (AWS_DIRECTORY_SERVICE, AWS_LAMBDA or "
                "API_GATEWAY): service-managed users have SSH keys only"
            )
    if "FTPS" in protocols and not kwargs.get("certificate"):
        raise InvalidRequest("FTPS needs a Certificate (an ACM certificate ARN)")
    if "AS2" in protocols and endpoint != "VPC":
        raise InvalidRequest("AS2 servers need EndpointType VPC")


def _account(sandbox: Sandbox, backend: Any, server_id: str, user_name: str) -> Account | None:
    server = backend.servers.get(server_id)
    user = next((u for u in (server._users if server else []) if u.user_name == user_name), None)
    if user is None:
        return None
    mappings = [
        {"Entry": str(m.get("entry") or "/"), "Target": str(m.get("target") or "")}
        for m in user.home_directory_mappings
    ]
    keys = tuple(str(k.get("ssh_public_key_body") or "") for k in user.ssh_public_keys)
    region = backend.region_name

    def refuse(_action: str, _bucket: str, _key: str) -> str | None:
        return "signed out"

    try:
        home = HomeMap.for_user(user.home_directory, _text(user.home_directory_type), mappings)
    except HomeDirectoryError as error:
        return Account(user_name, keys, HomeMap("/"), refuse, refusal=str(error))
    refusal = access.login_refusal(sandbox.client, user.role, region)
    allow = access.s3_allow(
        sandbox.client,
        role_arn=user.role,
        user_name=user_name,
        home_directory=user.home_directory,
        session_policy=user.policy,
        region=region,
    )
    return Account(user_name, keys, home, allow, refusal=refusal)


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Serve SFTP at Transfer Family servers' endpoints while ``sandbox`` runs."""
    stack.enter_context(_patched(sandbox))


@contextlib.contextmanager
def _patched(sandbox: Sandbox) -> Iterator[None]:
    backend_cls = transfer_models.TransferBackend
    original_create = backend_cls.create_server
    original_delete = backend_cls.delete_server
    services: list[SftpService] = []
    withdrawals: list[Any] = []

    def create_server(self: Any, *args: Any, **kwargs: Any) -> str:
        _check_protocols(kwargs)
        server_id: str = original_create(self, *args, **kwargs)
        server = self.servers[server_id]
        if "SFTP" not in {_text(p) for p in (server.protocols or ["SFTP"])}:
            return server_id
        backend = self
        service = SftpService(
            server_id,
            directory=lambda name: _account(sandbox, backend, server_id, name),
            store=_S3Store(sandbox, self.region_name),
            online=lambda: _text(getattr(backend.servers.get(server_id), "state", "")) == "ONLINE",
        )
        services.append(service)
        setattr(server, SERVICE_ATTRIBUTE, service)
        name = endpoint_name(server_id, self.region_name)
        withdrawals.append(netguard.serve_endpoint(name, _Route(self, server_id, service)))
        return server_id

    def delete_server(self: Any, server_id: str) -> None:
        server = self.servers.get(server_id)
        original_delete(self, server_id)
        service = getattr(server, SERVICE_ATTRIBUTE, None)
        if isinstance(service, SftpService):
            service.stop()

    backend_cls.create_server = create_server  # type: ignore[method-assign]
    backend_cls.delete_server = delete_server  # type: ignore[method-assign]
    try:
        yield
    finally:
        backend_cls.create_server = original_create  # type: ignore[method-assign]
        backend_cls.delete_server = original_delete  # type: ignore[method-assign]
        for withdraw in withdrawals:
            withdraw()
        for service in services:
            service.stop()
