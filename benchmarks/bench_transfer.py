"""Transfer Family benchmark: an SFTP upload to a sandbox server against a plain local SFTP server.

Both sides are paramiko's server mode on loopback with the same client (paramiko ``SFTPClient``,
``putfo`` of 10 MB), so the ratio is labkit's cost: the endpoint name's routing, the policy
engine's answer for ``s3:PutObject`` and storing the object in the sandbox's S3. The plain server
writes to a temporary folder. Stock moto has no SFTP endpoint at all.

Prints median wall seconds of 5 uploads each, and the ratio. Target (issue 21): within 2x.

Also DataSync: an execution over a local folder of 10,000 files of which 1 % changed, to the
sandbox's S3 (the first, full run too). Target (issue 21): under 5 s. Stock moto copies nothing.
"""

from __future__ import annotations

import io
import json
import os
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paramiko

SIZE = 10 * 1024 * 1024
RUNS = 5


class _PlainLogin(paramiko.ServerInterface):  # type: ignore[misc]
    def __init__(self, key: paramiko.PKey) -> None:
        self.key = key

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        same = key.get_base64() == self.key.get_base64()
        return int(paramiko.AUTH_SUCCESSFUL if same else paramiko.AUTH_FAILED)

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return int(paramiko.OPEN_SUCCEEDED)


class _Handle(paramiko.SFTPHandle):  # type: ignore[misc]
    pass


class _PlainFiles(paramiko.SFTPServerInterface):  # type: ignore[misc]
    root = ""

    def canonicalize(self, path: str) -> str:
        return "/" + path.strip("/.")

    def open(self, path: str, flags: int, attr: Any) -> Any:
        handle = _Handle(flags)
        f = open(os.path.join(self.root, path.strip("/")), "wb")  # noqa: SIM115
        handle.writefile = f
        handle.readfile = f
        return handle

    def stat(self, path: str) -> Any:
        return paramiko.SFTPAttributes.from_stat(os.stat(os.path.join(self.root, path.strip("/"))))


def plain_server(root: str, client_key: paramiko.PKey) -> int:
    """A plain paramiko SFTP server on a temp folder; returns its port."""
    _PlainFiles.root = root
    host = paramiko.ECDSAKey.generate()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)

    def serve() -> None:
        while True:
            conn, _ = listener.accept()
            transport = paramiko.Transport(conn)
            transport.add_server_key(host)
            transport.set_subsystem_handler("sftp", paramiko.SFTPServer, _PlainFiles)
            transport.start_server(server=_PlainLogin(client_key))

    threading.Thread(target=serve, daemon=True).start()
    port: int = listener.getsockname()[1]
    return port


def upload_times(host: str, port: int, key: paramiko.PKey, user: str) -> list[float]:
    ssh = paramiko.SSHClient()
    ssh.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    ssh.connect(host, port, username=user, pkey=key, allow_agent=False, look_for_keys=False)
    sftp = ssh.open_sftp()
    data = os.urandom(SIZE)
    times = []
    for run in range(RUNS):
        started = time.perf_counter()
        sftp.putfo(io.BytesIO(data), f"upload-{run}.bin", confirm=False)
        sftp.stat(f"upload-{run}.bin")  # the upload is complete once it is visible
        times.append(time.perf_counter() - started)
    ssh.close()
    return times


def datasync_times(lab: Any) -> tuple[float, float]:
    """Wall seconds of a full and of an incremental (1 % changed) DataSync execution."""
    ds = lab.client("datasync")
    lab.client("s3").create_bucket(Bucket="nightly")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for i in range(10_000):
            (root / f"f{i:05d}.dat").write_bytes(b"d" * 64)
        source = ds.create_location_nfs(
            ServerHostname="nas.example",
            Subdirectory=folder,
            OnPremConfig={"AgentArns": ["arn:aws:datasync:us-east-1:123456789012:agent/agent-1"]},
        )["LocationArn"]
        target = ds.create_location_s3(
            S3BucketArn="arn:aws:s3:::nightly",
            S3Config={"BucketAccessRoleArn": "arn:aws:iam::123456789012:role/ds"},
        )["LocationArn"]
        task = ds.create_task(SourceLocationArn=source, DestinationLocationArn=target)["TaskArn"]
        started = time.perf_counter()
        ds.start_task_execution(TaskArn=task)
        first = time.perf_counter() - started
        for i in range(0, 10_000, 100):
            (root / f"f{i:05d}.dat").write_bytes(b"changed")
            os.utime(root / f"f{i:05d}.dat", (2_000_000_000, 2_000_000_000))
        started = time.perf_counter()
        ds.start_task_execution(TaskArn=task)
        return first, time.perf_counter() - started


def main() -> None:
    import labkit
    from labkit.services.transfer.state import sftp_endpoint

    key = paramiko.ECDSAKey.generate()
    with tempfile.TemporaryDirectory() as root:
        plain = statistics.median(upload_times("127.0.0.1", plain_server(root, key), key, "u"))

    lab = labkit.start(quiet=True)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "transfer.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    access = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::drop"},
            {"Effect": "Allow", "Action": "s3:*Object", "Resource": "arn:aws:s3:::drop/*"},
        ],
    }
    lab.client("s3").create_bucket(Bucket="drop")
    iam = lab.client("iam")
    role = iam.create_role(RoleName="sftp", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName="sftp", PolicyName="s3", PolicyDocument=json.dumps(access))
    server = lab.client("transfer").create_server()["ServerId"]
    lab.client("transfer").create_user(
        ServerId=server,
        UserName="partner",
        Role=role["Role"]["Arn"],
        HomeDirectoryType="LOGICAL",
        HomeDirectoryMappings=[{"Entry": "/", "Target": "/drop/partner"}],
        SshPublicKeyBody=f"{key.get_name()} {key.get_base64()}",
    )
    host, port = sftp_endpoint(server)
    sandbox = statistics.median(upload_times(host, port, key, "partner"))
    first, incremental = datasync_times(lab)
    lab.stop()
    print(f"SFTP upload of 10 MB, plain paramiko server on a temp dir: {plain:.3f} s (median)")
    print(f"SFTP upload of 10 MB, Transfer Family server in the sandbox: {sandbox:.3f} s (median)")
    print(f"ratio sandbox/plain: {sandbox / plain:.2f}x (target: within 2x)")
    print(f"DataSync, 10,000 files, first full run: {first:.2f} s")
    print(f"DataSync, 10,000 files, 1 % changed: {incremental:.2f} s (target: under 5 s)")


if __name__ == "__main__":
    main()
