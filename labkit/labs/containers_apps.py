"""The images of the containers lab: the apps the learner deploys and the checks run.

There is no Docker in the sandbox: an image is a Python callable pushed to ECR with
:func:`labkit.services.ecr.deploy.push_image` (a WSGI app, or a command of no arguments). The apps
run in the notebook's process, so what they saw is kept in module globals (:data:`SEEN`) for the
checks and the lesson to read, and :data:`CRASH` lets a check crash a task's container as a bad
deploy or a bug would.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Generator, Iterator
from typing import Any

from labkit.services.ecs.sim_volumes import NotMountedError, ReadOnlyMountError, mounted

#: The port every web app of the lab listens on (what a container definition's portMappings say).
APP_PORT = 8080
#: The health check path of :func:`shop_api`.
HEALTH_PATH = "/health"
#: The shared folder the EFS apps expect, and the note the writer leaves there.
SHARED_PATH = "/mnt/shared"
NOTE = "notes.txt"
#: Lab seconds the index job works (20 minutes: longer than Lambda's 15-minute limit).
JOB_SECONDS = 1200

#: What the apps saw, by app: each entry a (task id, what happened) pair.
SEEN: dict[str, list[tuple[str, str]]] = {}
#: Crash switches: a task id (or ``"next"``, the next task asked) whose container exits.
CRASH: set[str] = set()

StartResponse = Callable[..., Any]


def _task_id() -> str:
    """The running task's id (from ECS's metadata URI), or ``local`` outside a task."""
    uri = os.environ.get("ECS_CONTAINER_METADATA_URI_V4", "")
    return uri.rsplit("/", 1)[-1] or "local"


def seen(app: str, what: str) -> None:
    """Record what ``app`` saw in the task it runs in."""
    SEEN.setdefault(app, []).append((_task_id(), what))


def shop_api(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
    """The shop's product API: ``GET /products`` lists products, ``/health`` says ok.

    Any other path answers 404, as a web framework does.
    """
    path = environ.get("PATH_INFO", "/")
    me = _task_id()
    if path != HEALTH_PATH and (me in CRASH or "next" in CRASH):  # a request, not a check
        CRASH.discard(me)
        CRASH.discard("next")
        seen("shop_api", "crashed")
        sys.exit(1)  # the process dies: ECS sees the essential container exit
    if path == HEALTH_PATH:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    if path in ("/", "/products"):
        body = json.dumps({"products": ["mug", "tee", "cap"], "task": me}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]


shop_api.port = APP_PORT  # type: ignore[attr-defined]


def queue_worker() -> Iterator[int]:
    """The order worker's command: it runs until ECS stops it, waking every minute."""
    seen("queue_worker", "started")
    while True:
        yield 60


def report_reader() -> int:
    """Reads the reports bucket with the task role, and tries what it must not do.

    It reads ``REPORTS_BUCKET`` (list, then get ``latest.csv``), then tries to read
    ``OTHER_BUCKET`` and to write to ``REPORTS_BUCKET``; each outcome is recorded as
    ``action bucket: ok`` or ``action bucket: <error code>``.
    """
    import boto3
    import botocore.exceptions

    s3 = boto3.client("s3")
    bucket = os.environ.get("REPORTS_BUCKET", "")
    other = os.environ.get("OTHER_BUCKET", "")
    attempts: list[tuple[str, Callable[[], Any]]] = [
        (f"list {bucket}", lambda: s3.list_objects_v2(Bucket=bucket)),
        (f"get {bucket}", lambda: s3.get_object(Bucket=bucket, Key="latest.csv")["Body"].read()),
        (f"get {other}", lambda: s3.get_object(Bucket=other, Key="latest.csv")["Body"].read()),
        (f"put {bucket}", lambda: s3.put_object(Bucket=bucket, Key="hacked.csv", Body=b"x")),
    ]
    for label, attempt in attempts:
        try:
            attempt()
        except botocore.exceptions.ClientError as refused:
            outcome = str(refused.response.get("Error", {}).get("Code", "error"))
        except botocore.exceptions.BotoCoreError as failed:
            outcome = type(failed).__name__
        else:
            outcome = "ok"
        print(f"{label}: {outcome}")
        seen("report_reader", f"{label}: {outcome}")
    return 0


def note_writer() -> Iterator[int]:
    """Writes a note into the shared folder every minute, then keeps running."""
    minute = 0
    while True:
        try:
            mounted(f"{SHARED_PATH}/{NOTE}", write=True).write_text(f"note {minute}\n")
            seen("note_writer", f"wrote note {minute}")
        except (NotMountedError, ReadOnlyMountError) as refused:
            seen("note_writer", f"{refused.code}: {refused}")
        minute += 1
        yield 60


def note_reader() -> Iterator[int]:
    """Reads the writer's note from the shared folder every minute."""
    while True:
        try:
            text = mounted(f"{SHARED_PATH}/{NOTE}").read_text().strip()
            seen("note_reader", f"read {text}")
        except FileNotFoundError:
            seen("note_reader", "no note")
        except (NotMountedError, ReadOnlyMountError) as refused:
            seen("note_reader", f"{refused.code}: {refused}")
        yield 60


def index_job() -> Generator[int, None, int]:
    """Rebuilds the search index: :data:`JOB_SECONDS` of work, then exits 0."""
    seen("index_job", "started")
    for _ in range(JOB_SECONDS // 60):
        yield 60
    seen("index_job", "finished")
    return 0


def index_handler(event: Any, context: Any) -> dict[str, Any]:
    """The same job as a Lambda handler (it would need :data:`JOB_SECONDS` to finish)."""
    del event, context
    return {"finished": False, "needs_seconds": JOB_SECONDS}


def reset() -> None:
    """Forget what the apps saw and disarm every crash."""
    SEEN.clear()
    CRASH.clear()
