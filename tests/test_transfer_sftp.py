"""Transfer Family in the sandbox: a real SFTP client against a server backed by S3."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from typing import Any

import botocore.exceptions
import paramiko
import pytest

from labkit.errors import LabkitError
from labkit.lab import Lab
from labkit.services.transfer.sim_paths import HomeMap
from labkit.services.transfer.state import events, service, sftp_endpoint

BUCKET = "partners-drop"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "transfer.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
WHOLE_BUCKET = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"},
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
            "Resource": f"arn:aws:s3:::{BUCKET}/*",
        },
    ],
}


def role(
    lab: Lab, name: str = "sftp-partners", policy: Any = WHOLE_BUCKET, trust: Any = TRUST
) -> str:
    iam = lab.client("iam")
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    iam.put_role_policy(RoleName=name, PolicyName="s3", PolicyDocument=json.dumps(policy))
    return arn


def public_key(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.get_base64()} partner@example.com"


@pytest.fixture
def server(lab: Lab) -> str:
    lab.client("s3").create_bucket(Bucket=BUCKET)
    server_id: str = lab.client("transfer").create_server(Protocols=["SFTP"])["ServerId"]
    return server_id


def chrooted(lab: Lab, server_id: str, name: str, key: paramiko.PKey, arn: str) -> None:
    lab.client("transfer").create_user(
        ServerId=server_id,
        UserName=name,
        Role=arn,
        HomeDirectoryType="LOGICAL",
        HomeDirectoryMappings=[{"Entry": "/", "Target": f"/{BUCKET}/{name}"}],
        SshPublicKeyBody=public_key(key),
    )


def connect(server_id: str, user: str, key: paramiko.PKey) -> paramiko.SFTPClient:
    host, port = sftp_endpoint(server_id)
    ssh = paramiko.SSHClient()
    ssh.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    ssh.connect(host, port, username=user, pkey=key, allow_agent=False, look_for_keys=False)
    sftp = ssh.open_sftp()
    return sftp


@pytest.fixture
def keys() -> Iterator[dict[str, paramiko.PKey]]:
    yield {"ana": paramiko.ECDSAKey.generate(), "bob": paramiko.ECDSAKey.generate()}


def test_an_upload_over_sftp_lands_in_the_users_s3_folder(
    lab: Lab, server: str, keys: dict[str, paramiko.PKey]
) -> None:
    chrooted(lab, server, "ana", keys["ana"], role(lab))
    sftp = connect(server, "ana", keys["ana"])
    sftp.putfo(io.BytesIO(b"id,total\n1,9\n"), "orders.csv")
    body = lab.client("s3").get_object(Bucket=BUCKET, Key="ana/orders.csv")["Body"].read()
    assert body == b"id,total\n1,9\n"
    assert sftp.listdir(".") == ["orders.csv"]
    out = io.BytesIO()
    sftp.getfo("orders.csv", out)
    assert out.getvalue() == body
    sftp.mkdir("archive")
    sftp.rename("orders.csv", "archive/orders.csv")
    assert sorted(sftp.listdir("/")) == ["archive"]
    assert sftp.listdir("archive") == ["orders.csv"]
    assert sftp.stat("archive/orders.csv").st_size == len(body)
    sftp.remove("archive/orders.csv")
    assert sftp.listdir("archive") == []


def test_a_chrooted_partner_cannot_climb_out_nor_see_another_partner(
    lab: Lab, server: str, keys: dict[str, paramiko.PKey]
) -> None:
    arn = role(lab)
    chrooted(lab, server, "ana", keys["ana"], arn)
    chrooted(lab, server, "bob", keys["bob"], arn)
    connect(server, "ana", keys["ana"]).putfo(io.BytesIO(b"ana's"), "secret.txt")
    bob = connect(server, "bob", keys["bob"])
    assert bob.listdir("/") == []
    assert bob.listdir("../..") == []  # ".." stops at the chroot
    assert bob.normalize("../../ana") == "/ana"  # ... which is bob's own folder, not ana's
    with pytest.raises(FileNotFoundError):
        bob.stat("../ana/secret.txt")
    bob.putfo(io.BytesIO(b"bob's"), "../ana/secret.txt")
    # bob's write went to bob's folder: ana's file is untouched.
    s3 = lab.client("s3")
    assert s3.get_object(Bucket=BUCKET, Key="ana/secret.txt")["Body"].read() == b"ana's"
    assert s3.get_object(Bucket=BUCKET, Key="bob/ana/secret.txt")["Body"].read() == b"bob's"


def test_a_path_home_directory_alone_does_not_fence_a_partner_in(
    lab: Lab, server: str, keys: dict[str, paramiko.PKey]
) -> None:
    arn = role(lab)
    transfer = lab.client("transfer")
    for name in ("ana", "bob"):
        transfer.create_user(
            ServerId=server,
            UserName=name,
            Role=arn,
            HomeDirectory=f"/{BUCKET}/{name}",
            SshPublicKeyBody=public_key(keys[name]),
        )
    connect(server, "ana", keys["ana"]).putfo(io.BytesIO(b"ana's"), "secret.txt")
    bob = connect(server, "bob", keys["bob"])
    assert bob.getcwd() is None and bob.normalize(".") == f"/{BUCKET}/bob"
    # The role allows the whole bucket, so bob reads ana's file: the mistake the lab shows.
    out = io.BytesIO()
    bob.getfo(f"/{BUCKET}/ana/secret.txt", out)
    assert out.getvalue() == b"ana's"


def test_a_session_policy_with_transfer_variables_fences_users_by_the_role(
    lab: Lab, server: str, keys: dict[str, paramiko.PKey]
) -> None:
    scope = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": "arn:aws:s3:::${transfer:HomeBucket}",
                "Condition": {"StringLike": {"s3:prefix": ["${transfer:HomeFolder}/*"]}},
            },
            {
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject"],
                "Resource": "arn:aws:s3:::${transfer:HomeDirectory}/*",
            },
        ],
    }
    arn = role(lab)
    for name in ("ana", "bob"):
        lab.client("transfer").create_user(
            ServerId=server,
            UserName=name,
            Role=arn,
            HomeDirectory=f"/{BUCKET}/{name}",
            Policy=json.dumps(scope),
            SshPublicKeyBody=public_key(keys[name]),
        )
    connect(server, "ana", keys["ana"]).putfo(io.BytesIO(b"ana's"), "secret.txt")
    bob = connect(server, "bob", keys["bob"])
    with pytest.raises(PermissionError):
        bob.getfo(f"/{BUCKET}/ana/secret.txt", io.BytesIO())
    with pytest.raises(PermissionError):
        bob.listdir(f"/{BUCKET}/ana")
    bob.putfo(io.BytesIO(b"mine"), "mine.txt")
    denied = [e for e in events(server) if not e.ok]
    assert denied and "session policy of bob" in denied[0].detail


def test_permissions_come_from_the_role(
    lab: Lab, server: str, keys: dict[str, paramiko.PKey]
) -> None:
    read_only = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"},
        ],
    }
    chrooted(lab, server, "ana", keys["ana"], role(lab, policy=read_only))
    sftp = connect(server, "ana", keys["ana"])
    with pytest.raises(PermissionError):
        sftp.putfo(io.BytesIO(b"x"), "upload.txt")
    assert "Contents" not in lab.client("s3").list_objects_v2(Bucket=BUCKET)
    failure = events(server)[-1]
    assert (failure.operation, failure.ok, failure.key) == ("upload", False, "ana/upload.txt")
    assert "s3:PutObject" in failure.detail


def test_only_the_users_keys_sign_in(lab: Lab, server: str, keys: dict[str, paramiko.PKey]) -> None:
    chrooted(lab, server, "ana", keys["ana"], role(lab))
    with pytest.raises(paramiko.AuthenticationException):
        connect(server, "ana", keys["bob"])
    with pytest.raises(paramiko.AuthenticationException):
        connect(server, "nobody", keys["ana"])
    # A key imported later counts at the next login.
    lab.client("transfer").import_ssh_public_key(
        ServerId=server, UserName="ana", SshPublicKeyBody=public_key(keys["bob"])
    )
    assert connect(server, "ana", keys["bob"]).listdir("/") == []
    failures = [e.detail for e in events(server) if e.operation == "login" and not e.ok]
    assert "not one of ana's SSH public keys" in failures[0]
    assert "no user 'nobody'" in failures[1]


def test_a_role_transfer_cannot_assume_refuses_the_login(
    lab: Lab, server: str, keys: dict[str, paramiko.PKey]
) -> None:
    lambda_trust = json.loads(json.dumps(TRUST).replace("transfer.", "lambda."))
    chrooted(lab, server, "ana", keys["ana"], role(lab, trust=lambda_trust))
    with pytest.raises(paramiko.AuthenticationException):
        connect(server, "ana", keys["ana"])
    assert "cannot assume" in events(server)[-1].detail


def test_the_endpoint_serves_port_22_only_while_the_server_exists(
    lab: Lab, server: str, keys: dict[str, paramiko.PKey]
) -> None:
    endpoint = sftp_endpoint(server)
    assert endpoint.host == f"{server}.server.transfer.us-east-1.amazonaws.com"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((endpoint.host, 2222), timeout=5)
    running = service(server)
    lab.client("transfer").delete_server(ServerId=server)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((endpoint.host, 22), timeout=5)
    with pytest.raises(OSError):  # the listener is closed too
        socket.create_connection(endpoint.loopback, timeout=5)
    assert running.log == []


def test_stopping_the_lab_stops_the_sftp_server(lab: Lab, server: str) -> None:
    loopback = sftp_endpoint(server).loopback
    socket.create_connection(loopback, timeout=5).close()
    lab.stop()
    with pytest.raises(OSError):
        socket.create_connection(loopback, timeout=5)


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        ({"Protocols": ["FTP"]}, "EndpointType VPC"),
        ({"Protocols": ["FTPS"], "EndpointType": "VPC"}, "identity provider"),
        (
            {"Protocols": ["FTPS"], "EndpointType": "VPC", "IdentityProviderType": "AWS_LAMBDA"},
            "Certificate",
        ),
    ],
)
def test_ftp_and_ftps_are_refused_where_aws_refuses_them(
    lab: Lab, arguments: dict[str, Any], words: str
) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        lab.client("transfer").create_server(**arguments)
    assert raised.value.response["Error"]["Code"] == "InvalidRequestException"
    assert words in raised.value.response["Error"]["Message"]


def test_logical_mappings_resolve_like_transfer_family() -> None:
    home = HomeMap.for_user(
        None,
        "LOGICAL",
        [
            {"Entry": "/in", "Target": "/drop/ana/incoming"},
            {"Entry": "/reports/2026", "Target": "/reports/ana"},
        ],
    )
    assert home.place("/in/a.csv") is not None
    place = home.place("/in/sub/../a.csv")
    assert place is not None and (place.bucket, place.key) == ("drop", "ana/incoming/a.csv")
    top = home.place("/")
    assert top is not None and top.virtual and top.children == ("in", "reports")
    reports = home.place("/reports")
    assert reports is not None and reports.children == ("2026",)
    assert home.place("/etc/passwd") is None
    assert home.place("../../in/x") is not None  # ".." never climbs above "/"


def test_the_view_shows_where_paths_landed_and_why_a_request_was_refused(
    lab: Lab, server: str, keys: dict[str, paramiko.PKey]
) -> None:
    from labkit.services.transfer import view
    from labkit.services.transfer.state import snapshot

    assert "No client has connected yet." in view.render_text(snapshot(server))
    chrooted(lab, server, "ana", keys["ana"], role(lab))
    connect(server, "ana", keys["ana"]).putfo(io.BytesIO(b"12345"), "report.csv")
    with pytest.raises(paramiko.AuthenticationException):
        connect(server, "ana", keys["bob"])
    state = snapshot(server)
    text = view.render_text(state)
    assert f"s3://{BUCKET}/ana/report.csv" in text and "✓ done, 5 bytes" in text
    assert "✗ refused: the key offered" in text
    assert "1 successful sign-in (ana), 1 refused sign-in" in text
    html = view.render_html(state)
    assert f"s3://{BUCKET}/ana/report.csv" in html and "✗ refused" in html


def test_the_lab_tells_where_to_connect(lab: Lab, server: str) -> None:
    host, port = lab.sftp_endpoint(f"arn:aws:transfer:us-east-1:123456789012:server/{server}")
    assert (host, port) == (f"{server}.server.transfer.us-east-1.amazonaws.com", 22)
    with pytest.raises(LabkitError, match="'s-nope' serving SFTP"):
        lab.sftp_endpoint("s-nope")
