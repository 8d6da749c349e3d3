"""The migration lab's ``drop_zone`` check: partners upload over SFTP, each into their own folder.

The learner writes ``drop_zone(transfer, iam, bucket, partners)``: a Transfer Family SFTP server
on which each partner in ``partners`` (name -> SSH public key) signs in with their key and lands
in a folder of their own in ``bucket`` (it exists), seeing nothing of the other partners. It
returns the server's id (or ARN; nothing, when it makes only one server).

The check proves it as the partners and an outsider would, with a real SFTP client (paramiko) at
the server's endpoint (``<id>.server.transfer.<region>.amazonaws.com`` port 22):

- each partner signs in with their key and uploads a file to where they start; the file lands in
  the bucket under a folder named after that partner (``<name>/`` or ``.../<name>/``);
- the other partner cannot read it, list it or overwrite it by any path: the S3-style path
  ``/bucket/<key>``, a path relative to their own folder (``../ana/...``), the logical path
  ``/ana/...``;
- a key the server does not know is refused, for a partner's name and for an unknown name.

Any design that fences the partners passes: logical home directories (a chroot), or PATH home
directories with a session policy or a role scoped by ``${transfer:UserName}``. A PATH home
directory alone does not fence anyone in, and the check says who read what.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

from labkit.grading.checks import CheckContext

BUCKET = "partner-drop"
PARTNERS = ("ana", "bob")

FENCE_HINT = (
    "A home directory is where a partner starts, not a fence: with HomeDirectoryType 'LOGICAL' "
    "and HomeDirectoryMappings=[{'Entry': '/', 'Target': f'/{bucket}/{name}'}] the partner's "
    "'/' is their folder and nothing above it exists for them (or scope the role with a session "
    "policy using ${transfer:UserName})."
)
LOGIN_HINT = (
    "Each partner is a user of the server (create_user with UserName, Role, and "
    "SshPublicKeyBody=the partner's key); the role's trust policy lets transfer.amazonaws.com "
    "call sts:AssumeRole, and its policy lets it use the bucket (s3:ListBucket on the bucket, "
    "s3:PutObject and s3:GetObject on its objects)."
)


def _keys() -> dict[str, Any]:
    import paramiko

    return {name: paramiko.ECDSAKey.generate() for name in (*PARTNERS, "outsider")}


def _public(key: Any, who: str) -> str:
    return f"{key.get_name()} {key.get_base64()} {who}@partner.example"


def _connect(server_id: str, user: str, key: Any) -> tuple[Any, Any]:
    """``(ssh, sftp)`` signed in as ``user``; raises when the server refuses."""
    import paramiko

    from labkit.services.transfer.state import sftp_endpoint

    host, port = sftp_endpoint(server_id)
    ssh = paramiko.SSHClient()
    ssh.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        ssh.connect(
            host,
            port,
            username=user,
            pkey=key,
            allow_agent=False,
            look_for_keys=False,
            timeout=10,
            banner_timeout=10,
            auth_timeout=10,
        )
        sftp = ssh.open_sftp()
    except Exception:
        ssh.close()
        raise
    return ssh, sftp


def _refusal(server_id: str, user: str) -> str:
    from labkit.services.transfer.state import events

    refused = [e for e in events(server_id) if e.user == user and not e.ok]
    return refused[-1].detail if refused else ""


def _server_id(ctx: CheckContext, answer: object) -> str:
    transfer = ctx.client("transfer")
    servers = [str(s["ServerId"]) for s in transfer.list_servers()["Servers"]]
    if isinstance(answer, str) and answer.rsplit("/", 1)[-1] in servers:
        return answer.rsplit("/", 1)[-1]
    if isinstance(answer, dict) and str(answer.get("ServerId", "")) in servers:
        return str(answer["ServerId"])
    if len(servers) == 1:
        return servers[0]
    ctx.fail(
        f"`drop_zone` returned {answer!r} and made {len(servers)} servers: the check cannot tell "
        "which one the partners use.",
        hint="Return the server's id (create_server(...)['ServerId']).",
    )


def _landed(server_id: str, user: str, path: str) -> str:
    """The S3 key a user's successful upload of ``path`` landed at (``""`` if none)."""
    from labkit.services.transfer.state import events

    for e in reversed(events(server_id)):
        if e.user == user and e.operation == "upload" and e.ok and e.path.endswith(path):
            return e.key
    return ""


def _reads(sftp: Any, path: str) -> bytes | None:
    out = io.BytesIO()
    try:
        sftp.getfo(path, out)
    except Exception:
        return None
    return out.getvalue()


def _lists(sftp: Any, path: str) -> list[str]:
    try:
        return list(sftp.listdir(path))
    except Exception:
        return []


def check_drop_zone(ctx: CheckContext) -> None:
    """Each partner uploads into their own folder; the other and outsiders are refused."""
    make = ctx.function("drop_zone")
    keys = _keys()
    ctx.client("s3").create_bucket(Bucket=BUCKET)
    partners = {name: _public(keys[name], name) for name in PARTNERS}
    answer = ctx.call(make, ctx.client("transfer"), ctx.client("iam"), BUCKET, dict(partners))
    server = _server_id(ctx, answer)
    s3 = ctx.client("s3")
    opened: list[Any] = []
    try:
        landed: dict[str, str] = {}
        clients: dict[str, Any] = {}
        for name in PARTNERS:
            try:
                ssh, sftp = _connect(server, name, keys[name])
            except Exception as error:
                why = (_refusal(server, name) or f"{type(error).__name__}: {error}").rstrip(".")
                ctx.fail(
                    f"Partner {name} could not sign in with their key: {why}.", hint=LOGIN_HINT
                )
            opened.append(ssh)
            clients[name] = sftp
            upload = f"invoice-from-{name}.csv"
            try:
                sftp.putfo(io.BytesIO(f"{name},42\n".encode()), upload)
            except Exception as error:
                why = (_refusal(server, name) or str(error)).rstrip(".")
                ctx.fail(
                    f"Partner {name} signed in but could not upload {upload}: {why}.",
                    hint=LOGIN_HINT,
                )
            key = _landed(server, name, upload)
            folder = key.rsplit("/", 1)[0] if "/" in key else ""
            if folder.rsplit("/", 1)[-1] != name:
                ctx.fail(
                    f"Partner {name}'s upload landed at s3://{BUCKET}/{key}: not in a folder of "
                    f"their own (`{name}/`).",
                    hint=FENCE_HINT,
                )
            landed[name] = key
        ana, bob = PARTNERS
        target = landed[ana]
        file = target.rsplit("/", 1)[-1]
        tries = [f"/{BUCKET}/{target}", f"../{ana}/{file}", f"/{ana}/{file}", file]
        for path in tries:
            if _reads(clients[bob], path) == f"{ana},42\n".encode():
                ctx.fail(
                    f"Partner {bob} read {ana}'s file s3://{BUCKET}/{target} through the path "
                    f"{path}.",
                    hint=FENCE_HINT,
                )
        folder = target.rsplit("/", 1)[0]
        for path in (f"/{BUCKET}/{folder}", f"../{ana}", f"/{ana}", "/"):
            if file in _lists(clients[bob], path):
                ctx.fail(f"Partner {bob} sees {ana}'s file {file} listing {path}.", hint=FENCE_HINT)
        for path in tries[:3]:
            with contextlib.suppress(Exception):
                clients[bob].putfo(io.BytesIO(b"overwritten"), path)
        body = s3.get_object(Bucket=BUCKET, Key=target)["Body"].read()
        if body != f"{ana},42\n".encode():
            ctx.fail(
                f"Partner {bob} overwrote {ana}'s file s3://{BUCKET}/{target}.", hint=FENCE_HINT
            )
        for user in (ana, "mallory"):
            try:
                ssh, _sftp = _connect(server, user, keys["outsider"])
            except Exception:
                continue
            opened.append(ssh)
            ctx.fail(
                f"A key the server was never given signed in as {user!r}.",
                hint="Give each user only their partner's key (SshPublicKeyBody), and no "
                "password identity provider.",
            )
    finally:
        for ssh in opened:
            with contextlib.suppress(Exception):
                ssh.close()
        # The server's SFTP listener lives until the lab stops; this world's is of no more use.
        with contextlib.suppress(Exception):
            ctx.client("transfer").delete_server(ServerId=server)
