"""A real SFTP server on a loopback port, for one Transfer Family server, over S3.

paramiko's server mode speaks the SSH and SFTP protocols; this module decides what each request
means for a Transfer Family user (AWS: https://docs.aws.amazon.com/transfer/latest/userguide/
sftp-for-transfer-family.html, service-managed users authenticate with SSH keys only):

- authentication: public keys only, against the user's ``SshPublicKeys`` (read at each login,
  so a key imported later counts); a user whose role Transfer Family cannot assume cannot log in;
- paths: through the user's :class:`~.sim_paths.HomeMap` (a LOGICAL user cannot leave the
  mappings; ``..`` stops at ``/``);
- every file operation is an S3 call made with the user's role, asked first of the policy engine
  through :attr:`Account.allow`: ``open`` for reading is ``s3:GetObject``, for writing
  ``s3:PutObject``, listing and ``stat`` are ``s3:ListBucket`` (with ``s3:prefix``), ``remove``
  is ``s3:DeleteObject``, ``rename`` all three, ``mkdir`` puts a zero-byte ``folder/`` object;
  a denial is SFTP's "permission denied", and the reason is kept in :attr:`SftpService.log`.

No moto here: the S3 side is an :class:`ObjectStore` the patch provides. An upload is buffered
and stored as one object when the client closes the file, as S3 stores whole objects.
"""

from __future__ import annotations

import contextlib
import io
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import paramiko

from labkit.services.transfer.sim_paths import HomeMap, Place

#: ``allow(action, bucket, key)`` -> ``None`` when allowed, else why not (a sentence).
Allow = Callable[[str, str, str], "str | None"]


@dataclass(frozen=True)
class ObjectInfo:
    """One S3 object as a listing shows it."""

    key: str
    size: int
    modified: float


class ObjectStore(Protocol):
    """The S3 the server writes to (the sandbox's, in process)."""

    def bucket_exists(self, bucket: str) -> bool:
        """Whether the bucket exists."""
        ...

    def head(self, bucket: str, key: str) -> ObjectInfo | None:
        """The object, or ``None``."""
        ...

    def get(self, bucket: str, key: str) -> bytes | None:
        """The object's bytes, or ``None``."""
        ...

    def put(self, bucket: str, key: str, data: bytes) -> None:
        """Store an object."""
        ...

    def delete(self, bucket: str, key: str) -> None:
        """Delete an object (no error when absent)."""
        ...

    def listing(self, bucket: str, prefix: str) -> list[ObjectInfo]:
        """Every object whose key starts with ``prefix``."""
        ...


@dataclass(frozen=True)
class Account:
    """A Transfer Family user as the server sees it at login.

    Attributes:
        name: The user name.
        keys: The user's SSH public keys (``ssh-ed25519 AAAA... comment``).
        home: Where the user's paths land.
        allow: The role's (and session policy's) answer for one S3 action.
        refusal: Why the user cannot log in at all (a role Transfer Family cannot assume);
            ``""`` when they can.
    """

    name: str
    keys: tuple[str, ...]
    home: HomeMap
    allow: Allow
    refusal: str = ""


#: ``directory(user_name)`` -> the user, read from the control plane now; ``None`` if unknown.
Directory = Callable[[str], "Account | None"]


@dataclass(frozen=True)
class Event:
    """One thing a client did (or tried), for views, checks and hints.

    Attributes:
        user: The user name.
        operation: ``login``, ``upload``, ``download``, ``list``, ``stat``, ``remove``,
            ``rename``, ``mkdir``, ``rmdir``.
        path: The path as the user sent it, normalised.
        bucket: The S3 bucket it landed in (``""`` when it landed nowhere).
        key: The S3 key.
        ok: Whether it succeeded.
        detail: Why it failed, or what it did (bytes stored).
        size: Bytes moved.
    """

    user: str
    operation: str
    path: str
    bucket: str = ""
    key: str = ""
    ok: bool = True
    detail: str = ""
    size: int = 0


def key_matches(offered: paramiko.PKey, stored: str) -> bool:
    """Whether a key the client proved it holds is one of the user's stored public keys."""
    parts = stored.split()
    if len(parts) < 2:
        return False
    return bool(parts[0] == offered.get_name() and parts[1] == offered.get_base64())


_host_key: list[paramiko.PKey] = []
_host_key_lock = threading.Lock()


def host_key() -> paramiko.PKey:
    """The servers' host key: one per process (ECDSA, quick to make)."""
    with _host_key_lock:
        if not _host_key:
            _host_key.append(paramiko.ECDSAKey.generate())
        return _host_key[0]


class SftpService:
    """One Transfer Family server's SFTP endpoint: a listening loopback socket and its sessions.

    Args:
        server_id: The Transfer Family server's id (for messages).
        directory: Looks users up at login.
        store: The S3 the files go to.
        online: Whether the server accepts logins now (a stopped server refuses).
    """

    def __init__(
        self,
        server_id: str,
        directory: Directory,
        store: ObjectStore,
        online: Callable[[], bool] = lambda: True,
    ) -> None:
        self.server_id = server_id
        self.directory = directory
        self.store = store
        self.online = online
        self.log: list[Event] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port: int = self._listener.getsockname()[1]
        self._transports: list[paramiko.Transport] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._accept, name=f"labkit-sftp-{server_id}", daemon=True
        )
        self._thread.start()

    def record(self, event: Event) -> None:
        """Keep one event (sessions run on their own threads; list.append is atomic)."""
        self.log.append(event)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed: the service stopped
            if self._stopped.is_set():
                conn.close()
                return
            transport = paramiko.Transport(conn)
            transport.add_server_key(host_key())
            transport.set_subsystem_handler("sftp", paramiko.SFTPServer, _Files, self)
            self._transports = [t for t in self._transports if t.is_active()] + [transport]
            try:
                transport.start_server(server=_Login(self))
            except (paramiko.SSHException, EOFError, OSError):
                transport.close()

    def stop(self) -> None:
        """Close the listener and every open session (the lab stopped or the server was
        deleted)."""
        self._stopped.set()
        try:
            # A blocked accept() does not wake when another thread closes its socket: connect
            # once so it returns and sees the stop.
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            self._listener.close()
        finally:
            for transport in self._transports:
                transport.close()
            self._thread.join(timeout=5)


class _Login(paramiko.ServerInterface):  # type: ignore[misc]
    """Who may open a session: the user's SSH keys, and a role Transfer Family can assume."""

    def __init__(self, service: SftpService) -> None:
        self.service = service
        self.account: Account | None = None

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        service = self.service
        if not service.online():
            service.record(Event(username, "login", "", ok=False, detail="the server is OFFLINE"))
            return int(paramiko.AUTH_FAILED)
        account = service.directory(username)
        if account is None:
            detail = f"server {service.server_id} has no user {username!r}"
        elif not any(key_matches(key, stored) for stored in account.keys):
            detail = (
                f"the key offered ({key.get_name()}) is not one of {username}'s SSH public keys"
                if account.keys
                else f"{username} has no SSH public key (add one with ImportSshPublicKey or "
                "CreateUser(SshPublicKeyBody=...))"
            )
        elif account.refusal:
            detail = account.refusal
        else:
            self.account = account
            service.record(Event(username, "login", account.home.home))
            return int(paramiko.AUTH_SUCCESSFUL)
        service.record(Event(username, "login", "", ok=False, detail=detail))
        return int(paramiko.AUTH_FAILED)

    def check_auth_password(self, username: str, password: str) -> int:
        # Service-managed users have SSH keys only (passwords need a custom identity provider).
        self.service.record(
            Event(
                username,
                "login",
                "",
                ok=False,
                detail="service-managed users sign in with an SSH key, never a password",
            )
        )
        return int(paramiko.AUTH_FAILED)

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return int(paramiko.OPEN_SUCCEEDED)
        return int(paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED)


class _Denied(Exception):
    """An operation the user may not do (mapped to an SFTP status)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _attributes(name: str, size: int, modified: float, directory: bool) -> paramiko.SFTPAttributes:
    attrs = paramiko.SFTPAttributes()
    attrs.filename = name
    attrs.st_size = size
    attrs.st_mtime = int(modified)
    attrs.st_atime = int(modified)
    attrs.st_mode = 0o040755 if directory else 0o100644
    return attrs


class _Upload(paramiko.SFTPHandle):  # type: ignore[misc]
    """A file being written: buffered, stored as one S3 object on close."""

    def __init__(self, flags: int, commit: Callable[[bytes], None], initial: bytes = b"") -> None:
        super().__init__(flags)
        self.buffer = io.BytesIO(initial)
        self.writefile = self.buffer
        self.readfile = self.buffer
        self._commit = commit

    def stat(self) -> Any:
        return _attributes("", len(self.buffer.getbuffer()), 0, False)

    def chattr(self, attr: Any) -> int:
        return int(paramiko.SFTP_OK)

    def close(self) -> None:
        data = self.buffer.getvalue()
        super().close()
        self._commit(data)


class _Download(paramiko.SFTPHandle):  # type: ignore[misc]
    def __init__(self, flags: int, data: bytes, modified: float) -> None:
        super().__init__(flags)
        self.readfile = io.BytesIO(data)
        self._size = len(data)
        self._modified = modified

    def stat(self) -> Any:
        return _attributes("", self._size, self._modified, False)


class _Files(paramiko.SFTPServerInterface):  # type: ignore[misc]
    """SFTP requests of one logged-in user, answered from S3."""

    def __init__(self, server: _Login, service: SftpService, *args: Any, **kwargs: Any) -> None:
        super().__init__(server, *args, **kwargs)
        self.service = service
        account = server.account
        assert account is not None  # the subsystem opens only after a successful login
        self.account: Account = account

    # -- helpers ----------------------------------------------------------------------------
    def _place(self, path: str) -> Place:
        place = self.account.home.place(path)
        if place is None:
            raise _Denied(paramiko.SFTP_NO_SUCH_FILE, f"{path} is outside your directories")
        return place

    def _allow(self, action: str, place: Place, key: str | None = None) -> None:
        reason = self.account.allow(action, place.bucket, place.key if key is None else key)
        if reason is not None:
            raise _Denied(paramiko.SFTP_PERMISSION_DENIED, reason)

    def _run(self, operation: str, path: str, body: Callable[[], Any]) -> Any:
        try:
            return body()
        except _Denied as denied:
            place = self.account.home.place(path)
            self.service.record(
                Event(
                    self.account.name,
                    operation,
                    self.account.home.normalise(path),
                    place.bucket if place else "",
                    place.key if place else "",
                    ok=False,
                    detail=denied.detail,
                )
            )
            return denied.status

    def _event(self, operation: str, place: Place, size: int = 0, detail: str = "") -> None:
        self.service.record(
            Event(
                self.account.name,
                operation,
                place.path,
                place.bucket,
                place.key,
                size=size,
                detail=detail,
            )
        )

    def _is_directory(self, place: Place) -> bool:
        if place.virtual:
            return True
        store = self.service.store
        if not place.key:
            return store.bucket_exists(place.bucket)
        return bool(store.listing(place.bucket, place.key.rstrip("/") + "/"))

    # -- SFTP -------------------------------------------------------------------------------
    def canonicalize(self, path: str) -> str:
        return self.account.home.normalise(path)

    def list_folder(self, path: str) -> Any:
        def body() -> list[paramiko.SFTPAttributes]:
            place = self._place(path)
            if place.virtual:
                self._event("list", place)
                return [_attributes(c, 0, 0, True) for c in place.children]
            if not self.service.store.bucket_exists(place.bucket):
                raise _Denied(paramiko.SFTP_NO_SUCH_FILE, f"there is no bucket {place.bucket}")
            prefix = place.key.rstrip("/") + "/" if place.key else ""
            self._allow("s3:ListBucket", place, prefix)
            found: dict[str, paramiko.SFTPAttributes] = {}
            for item in self.service.store.listing(place.bucket, prefix):
                rest = item.key[len(prefix) :]
                if not rest:
                    continue  # the folder's own marker object
                name, slash, _ = rest.partition("/")
                if slash:
                    found.setdefault(name, _attributes(name, 0, item.modified, True))
                else:
                    found[name] = _attributes(name, item.size, item.modified, False)
            home = self.account.home
            roots = {home.home, *(entry for entry, _ in home.mappings)}
            # S3 has no folders: a home or a mapping's target with nothing in it yet is empty.
            if (
                not found
                and place.path not in roots
                and place.key
                and not self._is_directory(place)
            ):
                raise _Denied(paramiko.SFTP_NO_SUCH_FILE, f"no folder {place.path}")
            self._event("list", place, detail=f"{len(found)} entries")
            return [found[name] for name in sorted(found)]

        return self._run("list", path, body)

    def stat(self, path: str) -> Any:
        def body() -> paramiko.SFTPAttributes:
            place = self._place(path)
            name = place.path.rsplit("/", 1)[-1]
            if place.virtual:
                return _attributes(name, 0, 0, True)
            self._allow("s3:ListBucket", place)
            info = self.service.store.head(place.bucket, place.key) if place.key else None
            if info is not None:
                return _attributes(name, info.size, info.modified, False)
            if self._is_directory(place):
                return _attributes(name, 0, 0, True)
            raise _Denied(paramiko.SFTP_NO_SUCH_FILE, f"no such file {place.path}")

        return self._run("stat", path, body)

    lstat = stat

    def open(self, path: str, flags: int, attr: Any) -> Any:
        writing = bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC))

        def body() -> paramiko.SFTPHandle:
            place = self._place(path)
            if place.virtual or not place.key:
                raise _Denied(paramiko.SFTP_PERMISSION_DENIED, f"{place.path} is a directory")
            store = self.service.store
            if not store.bucket_exists(place.bucket):
                raise _Denied(paramiko.SFTP_NO_SUCH_FILE, f"there is no bucket {place.bucket}")
            if not writing:
                self._allow("s3:GetObject", place)
                data = store.get(place.bucket, place.key)
                if data is None:
                    raise _Denied(paramiko.SFTP_NO_SUCH_FILE, f"no such file {place.path}")
                info = store.head(place.bucket, place.key)
                self._event("download", place, len(data))
                return _Download(flags, data, info.modified if info else 0)
            self._allow("s3:PutObject", place)
            initial = b""
            if flags & os.O_APPEND or (flags & os.O_RDWR and not flags & os.O_TRUNC):
                self._allow("s3:GetObject", place)
                initial = store.get(place.bucket, place.key) or b""

            def commit(data: bytes) -> None:
                store.put(place.bucket, place.key, data)
                self._event("upload", place, len(data))

            handle = _Upload(flags, commit, initial)
            if flags & os.O_APPEND:
                handle.buffer.seek(0, io.SEEK_END)
            return handle

        return self._run("upload" if writing else "download", path, body)

    def remove(self, path: str) -> int:
        def body() -> int:
            place = self._place(path)
            if place.virtual or not place.key:
                raise _Denied(paramiko.SFTP_PERMISSION_DENIED, f"{place.path} is a directory")
            self._allow("s3:DeleteObject", place)
            if self.service.store.head(place.bucket, place.key) is None:
                raise _Denied(paramiko.SFTP_NO_SUCH_FILE, f"no such file {place.path}")
            self.service.store.delete(place.bucket, place.key)
            self._event("remove", place)
            return int(paramiko.SFTP_OK)

        result: int = self._run("remove", path, body)
        return result

    def rename(self, oldpath: str, newpath: str) -> int:
        def body() -> int:
            old, new = self._place(oldpath), self._place(newpath)
            if old.virtual or new.virtual or not old.key or not new.key:
                raise _Denied(paramiko.SFTP_PERMISSION_DENIED, "cannot rename a directory root")
            self._allow("s3:GetObject", old)
            self._allow("s3:PutObject", new)
            self._allow("s3:DeleteObject", old)
            store = self.service.store
            data = store.get(old.bucket, old.key)
            if data is None:
                raise _Denied(paramiko.SFTP_NO_SUCH_FILE, f"no such file {old.path}")
            store.put(new.bucket, new.key, data)
            store.delete(old.bucket, old.key)
            self._event("rename", new, len(data), detail=f"from {old.path}")
            return int(paramiko.SFTP_OK)

        result: int = self._run("rename", oldpath, body)
        return result

    def mkdir(self, path: str, attr: Any) -> int:
        def body() -> int:
            place = self._place(path)
            if place.virtual or not place.key:
                raise _Denied(paramiko.SFTP_PERMISSION_DENIED, f"{place.path} already exists")
            marker = place.key.rstrip("/") + "/"
            self._allow("s3:PutObject", place, marker)
            self.service.store.put(place.bucket, marker, b"")
            self._event("mkdir", place)
            return int(paramiko.SFTP_OK)

        result: int = self._run("mkdir", path, body)
        return result

    def rmdir(self, path: str) -> int:
        def body() -> int:
            place = self._place(path)
            if place.virtual or not place.key:
                raise _Denied(paramiko.SFTP_PERMISSION_DENIED, f"cannot remove {place.path}")
            marker = place.key.rstrip("/") + "/"
            inside = [
                i for i in self.service.store.listing(place.bucket, marker) if i.key != marker
            ]
            if inside:
                raise _Denied(paramiko.SFTP_FAILURE, f"{place.path} is not empty")
            self._allow("s3:DeleteObject", place, marker)
            self.service.store.delete(place.bucket, marker)
            self._event("rmdir", place)
            return int(paramiko.SFTP_OK)

        result: int = self._run("rmdir", path, body)
        return result

    def chattr(self, path: str, attr: Any) -> int:
        # S3 keeps no POSIX modes or times set by clients: accepted and ignored.
        return int(paramiko.SFTP_OK)


__all__ = ["Account", "Directory", "Event", "ObjectInfo", "ObjectStore", "SftpService", "host_key"]
