"""DataSync's data plane on moto's control plane: task executions that really copy files.

moto 5.2.5 keeps S3 and SMB locations and tasks, but has no NFS location, copies nothing, and
walks an execution's status one step per ``DescribeTaskExecution`` call. Here:

- ``CreateLocationNfs`` (and ``CreateLocationSmb``): the on-premises share is a folder on this
  machine, ``Subdirectory`` its path (the agent and server name are kept, not contacted);
- ``StartTaskExecution`` from an NFS, SMB or S3 location (a bucket's objects under its prefix,
  each with the modification time DataSync stored, else its own) to an S3, EFS or FSx for
  Lustre location (:mod:`.patch_locations`: those file systems' locations) runs
  :func:`.sim_sync.run` with the task's ``Options``: only changed files move (size and
  modification time), then verification; files land in the sandbox's S3 with their modification
  time and checksum as object metadata (in a file system: with their modification time); with
  ``BytesPerSecond`` the execution is ``TRANSFERRING`` for ``bytes / BytesPerSecond`` seconds
  of lab time (what will move is worked out at the start; the files arrive at the end), then
  ``SUCCESS`` (or ``ERROR`` when verification failed);
- ``DescribeTaskExecution`` reports AWS's counters (``FilesTransferred``, ``FilesSkipped``,
  ``FilesDeleted``, ``FilesVerified``, ``BytesTransferred``) and ``Result``;
- ``CreateTask(Schedule={"ScheduleExpression": "rate(24 hours)"})`` starts an execution every
  interval of lab time (``rate(...)`` expressions, and daily ``cron(M H * * ? *)`` ones at that
  UTC time; other ``cron(...)`` is refused as not simulated).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.datasync import models as ds_models
from moto.datasync import responses as ds_responses
from moto.datasync.exceptions import InvalidRequestException
from moto.s3.models import s3_backends

from labkit.services.datasync import patch_locations
from labkit.services.datasync.sim_sync import (
    CHECKSUM,
    MTIME,
    Destination,
    FileEntry,
    Options,
    Report,
    SyncOptionError,
    run,
)
from labkit.services.datasync.state import RUN

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT = {"minute": 60, "hour": 3600, "day": 86_400}


def _s3() -> Any:
    return s3_backends[DEFAULT_ACCOUNT_ID]["global"]


class _S3Destination:
    """An S3 location, read and written through moto's S3 backend in process."""

    def __init__(self, sandbox: Sandbox, bucket: str, prefix: str) -> None:
        self._sandbox = sandbox
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def entries(self) -> dict[str, FileEntry]:
        buckets = _s3().buckets
        if self.bucket not in buckets:
            raise SyncOptionError(f"the destination bucket {self.bucket} does not exist")
        found: dict[str, FileEntry] = {}
        keys = buckets[self.bucket].keys
        for name in list(keys):
            if not name.startswith(self.prefix) or name.endswith("/"):
                continue
            key = keys[name]
            meta = key.metadata
            rel = name[len(self.prefix) :]
            found[rel] = FileEntry(
                rel,
                int(key.size),
                int(meta.get(f"x-amz-meta-{MTIME}", -1)),
                str(meta.get(f"x-amz-meta-{CHECKSUM}", "")),
            )
        return found

    def write(self, entry: FileEntry, data: bytes) -> None:
        # moto's backend call, not a boto3 request: a thousand times cheaper per object (a
        # first sync of 10,000 files), and S3's notifications and labkit's replication both
        # hook the backend's put_object, so they still see the object.
        key = _s3().put_object(self.bucket, self.prefix + entry.path, data)
        key.set_metadata(
            {f"x-amz-meta-{MTIME}": str(entry.mtime), f"x-amz-meta-{CHECKSUM}": entry.checksum}
        )

    def delete(self, path: str) -> None:
        _s3().delete_object(self.bucket, self.prefix + path)


class _S3Source:
    """An S3 location as a source: its objects under the prefix, with the modification time
    DataSync stored with them, or the object's own (its last modification) otherwise."""

    def __init__(self, bucket: str, prefix: str) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def entries(self) -> dict[str, FileEntry]:
        buckets = _s3().buckets
        if self.bucket not in buckets:
            raise SyncOptionError(f"the source bucket {self.bucket} does not exist")
        found: dict[str, FileEntry] = {}
        keys = buckets[self.bucket].keys
        for name in list(keys):
            if not name.startswith(self.prefix) or name.endswith("/"):
                continue
            key = keys[name]
            stored = key.metadata.get(f"x-amz-meta-{MTIME}")
            modified = key.last_modified
            if modified.tzinfo is None:
                modified = modified.replace(tzinfo=timezone.utc)
            mtime = int(stored) if stored is not None else int(modified.timestamp())
            rel = name[len(self.prefix) :]
            found[rel] = FileEntry(rel, int(key.size), mtime)
        return found

    def read(self, path: str) -> bytes:
        data: bytes = _s3().buckets[self.bucket].keys[self.prefix + path].value
        return data


class _Preview:
    """A destination that records what would be written and writes nothing (PREPARING)."""

    def __init__(self, real: Destination) -> None:
        self._entries = real.entries()

    def entries(self) -> dict[str, FileEntry]:
        return self._entries

    def write(self, entry: FileEntry, data: bytes) -> None:
        self._entries[entry.path] = entry

    def delete(self, path: str) -> None:
        self._entries.pop(path, None)


def _folder(location: Any) -> Path:
    subdirectory = str(location.metadata.get("Subdirectory") or "")
    return Path(subdirectory)


def _source(location: Any) -> Path | _S3Source:
    """What an execution reads: the share's folder (NFS, SMB) or the bucket (S3)."""
    if location.typ == "S3":
        return _S3Source(*_s3_target(location))
    return _folder(location)


def _s3_target(location: Any) -> tuple[str, str]:
    rest = str(location.uri)[len("s3://") :]
    bucket, _, prefix = rest.partition("/")
    return bucket, prefix


def _destination(sandbox: Sandbox, location: Any) -> Destination | None:
    """Where an execution to ``location`` writes; ``None`` for a type not simulated."""
    if location.typ == "S3":
        bucket, prefix = _s3_target(location)
        return _S3Destination(sandbox, bucket, prefix)
    return patch_locations.destination(location)


#: A daily cron expression in EventBridge's syntax, in UTC (``cron(0 2 * * ? *)``: 02:00 every
#: day), as DataSync takes it (https://docs.aws.amazon.com/datasync/latest/userguide/task-scheduling.html).
_DAILY_CRON = re.compile(r"^cron\((\d{1,2})\s+(\d{1,2})\s+(?:\*\s+\*\s+\?|\?\s+\*\s+\*)\s+\*\)$")


def _daily_cron(expression: str) -> tuple[int, int] | None:
    """``(hour, minute)`` of a daily cron expression; ``None`` for anything else."""
    match = _DAILY_CRON.match(expression.strip())
    if not match or int(match.group(2)) > 23 or int(match.group(1)) > 59:
        return None
    return int(match.group(2)), int(match.group(1))


def _seconds(expression: str) -> float:
    match = _RATE.match(expression.strip())
    if not match:
        if _daily_cron(expression) is not None:
            return 86_400.0
        raise InvalidRequestException(
            f"ScheduleExpression {expression!r}: the sandbox runs rate(N minutes|hours|days) "
            "schedules and daily cron(M H * * ? *) ones; other cron(...) is not simulated"
        )
    unit = match.group(2).rstrip("s")
    return int(match.group(1)) * _UNIT[unit]


def _first_run(expression: str, now: float, interval: float) -> float:
    """When a schedule first runs: one interval from now for a rate, the next H:M UTC for a
    daily cron."""
    daily = _daily_cron(expression)
    if daily is None:
        return now + interval
    hour, minute = daily
    today = datetime.fromtimestamp(now, tz=timezone.utc).replace(
        hour=hour, minute=minute, second=0, microsecond=0
    )
    first = today.timestamp()
    return first if first > now else first + 86_400


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Make DataSync executions copy files while ``sandbox`` runs."""
    stack.enter_context(_patched(sandbox))
    patch_locations.install(sandbox, stack)


def _report_json(execution: Any, task: Any, now: float) -> dict[str, Any]:
    report, started, ends, options = getattr(execution, RUN)
    assert isinstance(report, Report)
    status = "TRANSFERRING" if now < ends else report.status
    if status != "TRANSFERRING" and task is not None:
        task.status = "AVAILABLE"
    execution.status = status
    verify = "NONE" if options.verify_mode == "NONE" else report.status
    return {
        "TaskExecutionArn": execution.arn,
        "Status": status,
        "StartTime": datetime.fromtimestamp(started, tz=timezone.utc).isoformat(),
        "EstimatedFilesToTransfer": report.files_transferred,
        "EstimatedBytesToTransfer": report.bytes_transferred,
        "FilesTransferred": report.files_transferred,
        "FilesSkipped": report.files_skipped,
        "FilesDeleted": report.files_deleted,
        "FilesVerified": report.files_verified,
        "BytesTransferred": report.bytes_transferred,
        "BytesWritten": report.bytes_transferred,
        "Options": {
            "TransferMode": options.transfer_mode,
            "VerifyMode": options.verify_mode,
            "PreserveDeletedFiles": options.preserve_deleted_files,
            "OverwriteMode": options.overwrite_mode,
            "BytesPerSecond": options.bytes_per_second,
        },
        "Result": {
            "TransferStatus": "PENDING" if status == "TRANSFERRING" else "SUCCESS",
            "VerifyStatus": "PENDING" if status == "TRANSFERRING" else verify,
            **(
                {
                    "ErrorCode": "VerificationFailed",
                    "ErrorDetail": ", ".join(report.verify_failures),
                }
                if status == "ERROR"
                else {}
            ),
        },
    }


@contextlib.contextmanager
def _patched(sandbox: Sandbox) -> Iterator[None]:
    backend_cls = ds_models.DataSyncBackend
    response_cls = ds_responses.DataSyncResponse
    original_start = backend_cls.start_task_execution
    original_describe = response_cls.describe_task_execution
    original_create_task = response_cls.create_task
    original_create_smb = response_cls.create_location_smb
    schedules: list[Any] = []

    def create_location_nfs(self: Any) -> str:
        host = self._get_param("ServerHostname")
        subdirectory = self._get_param("Subdirectory") or ""
        metadata = {
            "Subdirectory": subdirectory,
            "ServerHostname": host,
            "OnPremConfig": self._get_param("OnPremConfig"),
            "MountOptions": self._get_param("MountOptions"),
        }
        uri = f"nfs://{host}/{subdirectory.lstrip('/')}"
        arn = self.datasync_backend.create_location(uri, metadata=metadata, typ="NFS")
        return json.dumps({"LocationArn": arn})

    def describe_location_nfs(self: Any) -> str:
        location = self.datasync_backend._get_location(self._get_param("LocationArn"), "NFS")
        return json.dumps(
            {
                "LocationArn": location.arn,
                "LocationUri": location.uri,
                "OnPremConfig": location.metadata.get("OnPremConfig"),
            }
        )

    def create_location_smb(self: Any) -> str:
        answer: str = original_create_smb(self)
        arn = json.loads(answer)["LocationArn"]
        location = self.datasync_backend.locations[arn]
        location.metadata["Subdirectory"] = self._get_param("Subdirectory") or ""
        return answer

    def start_task_execution(self: Any, task_arn: str) -> str:
        task = self.tasks.get(task_arn)
        now = sandbox.clock.timestamp
        current = self.task_executions.get(getattr(task, "current_task_execution_arn", None))
        ended = current is not None and hasattr(current, RUN) and now >= getattr(current, RUN)[2]
        if task is not None and ended:
            task.status = "AVAILABLE"  # the previous execution has ended on the lab clock
        arn: str = original_start(self, task_arn)
        task = self.tasks[task_arn]
        source = self.locations.get(task.source_location_arn)
        target = self.locations.get(task.destination_location_arn)
        if source is None or target is None or source.typ not in ("NFS", "SMB", "S3"):
            return arn
        if target.typ not in ("S3", "EFS", "FSX_LUSTRE"):
            return arn
        try:
            options = Options.from_api((task.metadata or {}).get("Options"))
            destination = _destination(sandbox, target)
            assert destination is not None  # S3, EFS and FSx for Lustre all have one
            # PREPARING: what would move, without moving it; the copy happens when the
            # bandwidth limit says it is done (at once without a limit).
            estimate = run(_source(source), _Preview(destination), options)
        except SyncOptionError as error:
            task.status = "AVAILABLE"
            raise InvalidRequestException(str(error)) from None
        execution = self.task_executions[arn]
        ends = now + estimate.seconds
        setattr(execution, RUN, [estimate, now, ends, options])
        root = _source(source)

        def transfer() -> None:
            getattr(execution, RUN)[0] = run(root, destination, options)

        if estimate.seconds > 0:
            sandbox.clock.call_at(ends, transfer)
        else:
            transfer()
        return arn

    def describe_task_execution(self: Any) -> str:
        arn = self._get_param("TaskExecutionArn")
        execution = self.datasync_backend._get_task_execution(arn)
        if not hasattr(execution, RUN):
            answer: str = original_describe(self)
            return answer
        task = self.datasync_backend.tasks.get(execution.task_arn)
        return json.dumps(_report_json(execution, task, sandbox.clock.timestamp))

    def create_task(self: Any) -> str:
        schedule = self._get_param("Schedule") or {}
        expression = schedule.get("ScheduleExpression")
        interval = _seconds(expression) if expression else None
        answer: str = original_create_task(self)
        if interval is not None:
            backend = self.datasync_backend
            task_arn = json.loads(answer)["TaskArn"]
            backend.tasks[task_arn].metadata["Schedule"] = schedule

            def tick() -> None:
                task = backend.tasks.get(task_arn)
                if task is not None:
                    with contextlib.suppress(InvalidRequestException):
                        backend.start_task_execution(task_arn)

            label = f"datasync {task_arn}"

            def first() -> None:
                tick()
                schedules.append(sandbox.clock.every(interval, tick, label=label))

            first_at = _first_run(str(expression), sandbox.clock.timestamp, interval)
            schedules.append(sandbox.clock.call_at(first_at, first, label=label))
        return answer

    backend_cls.start_task_execution = start_task_execution  # type: ignore[method-assign]
    response_cls.describe_task_execution = describe_task_execution  # type: ignore[method-assign]
    response_cls.create_task = create_task  # type: ignore[method-assign]
    response_cls.create_location_smb = create_location_smb  # type: ignore[method-assign]
    response_cls.create_location_nfs = create_location_nfs  # type: ignore[attr-defined]
    response_cls.describe_location_nfs = describe_location_nfs  # type: ignore[attr-defined]
    try:
        yield
    finally:
        backend_cls.start_task_execution = original_start  # type: ignore[method-assign]
        response_cls.describe_task_execution = original_describe  # type: ignore[method-assign]
        response_cls.create_task = original_create_task  # type: ignore[method-assign]
        response_cls.create_location_smb = original_create_smb  # type: ignore[method-assign]
        del response_cls.create_location_nfs  # type: ignore[attr-defined]
        del response_cls.describe_location_nfs  # type: ignore[attr-defined]
        for handle in schedules:
            handle.cancel()
