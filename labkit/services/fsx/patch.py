"""FSx on moto's control plane: Lustre file systems linked to the sandbox's S3.

moto 5.2.5 keeps file systems but answers without ``Lifecycle``, ``CreationTime`` or
``OwnerId`` (which AWS always returns, and which code that waits for ``AVAILABLE`` reads), drops
a Lustre file system's ``ImportPath``/``ExportPath``, has no data repository associations or
tasks, and links nothing. Here:

- ``CreateFileSystem`` answers ``Lifecycle`` ``CREATING`` (``AVAILABLE`` from then on),
  ``CreationTime``, ``OwnerId`` and the Lustre configuration AWS reports
  (``DataRepositoryConfiguration`` with ``ImportPath``, ``ExportPath`` by default
  ``s3://<bucket>/FSxLustre<creation time>``, ``AutoImportPolicy``; ``MountName``;
  ``PerUnitStorageThroughput``), checks ``DeploymentType`` and ``PerUnitStorageThroughput`` as
  AWS does, and gives a Lustre file system a folder (:mod:`.sim_lustre`) whose files are the
  import path's objects, metadata first;
- ``CreateDataRepositoryAssociation`` / ``DescribeDataRepositoryAssociations`` link a file
  system path to an S3 path (``BatchImportMetaDataOnCreate``, ``S3.AutoImportPolicy``,
  ``S3.AutoExportPolicy``);
- ``CreateDataRepositoryTask`` (``EXPORT_TO_REPOSITORY``, ``IMPORT_METADATA_FROM_REPOSITORY``)
  runs at once and reports ``SUCCEEDED`` with its counts; ``DescribeDataRepositoryTasks``;
- whenever the lab clock moves, auto-export takes new and changed files to S3 and auto-import
  brings new and changed objects in;
- ``DeleteFileSystem`` deletes the folder.

Open a file system's files with :func:`labkit.services.fsx.state.mount`.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import JsonRESTError
from moto.fsx import models as fsx_models
from moto.fsx import responses as fsx_responses
from moto.fsx.exceptions import FileSystemNotFound

from labkit.services.fsx.sim_lustre import (
    Link,
    LustreError,
    LustreFileSystem,
    ObjectInfo,
    split_s3,
)
from labkit.services.fsx.state import LUSTRE

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox


class _BadRequest(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("BadRequest", message)


class _S3:
    """The sandbox's S3 through moto's backend, in process (as DataSync writes it)."""

    def __init__(self, account: str) -> None:
        from moto.s3.models import s3_backends

        self._s3 = s3_backends[account]["global"]

    def _bucket(self, bucket: str) -> Any:
        if bucket not in self._s3.buckets:
            raise LustreError(f"The linked bucket {bucket} does not exist")
        return self._s3.buckets[bucket]

    @staticmethod
    def _info(key: Any) -> ObjectInfo:
        modified = key.last_modified
        if modified.tzinfo is None:
            modified = modified.replace(tzinfo=timezone.utc)
        return ObjectInfo(int(key.size), modified.timestamp())

    def list(self, bucket: str, prefix: str) -> dict[str, ObjectInfo]:
        keys = self._bucket(bucket).keys
        return {name: self._info(keys[name]) for name in list(keys) if name.startswith(prefix)}

    def get(self, bucket: str, key: str) -> bytes:
        data: bytes = self._bucket(bucket).keys[key].value
        return data

    def put(self, bucket: str, key: str, data: bytes) -> ObjectInfo:
        self._bucket(bucket)
        return self._info(self._s3.put_object(bucket, key, data))

    def delete(self, bucket: str, key: str) -> None:
        self._s3.delete_object(bucket, key)


def _events(policy: Any) -> tuple[str, ...]:
    if isinstance(policy, dict):
        return tuple(str(e) for e in policy.get("Events") or ())
    if policy in ("NEW", "NEW_CHANGED", "NEW_CHANGED_DELETED"):
        return {"NEW": ("NEW",), "NEW_CHANGED": ("NEW", "CHANGED")}.get(
            str(policy), ("NEW", "CHANGED", "DELETED")
        )
    return ()


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).isoformat()


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Link Lustre file systems to S3 while ``sandbox`` runs."""
    stack.enter_context(_patched(sandbox))


@contextlib.contextmanager
def _patched(sandbox: Sandbox) -> Iterator[None]:
    backend_cls = fsx_models.FSxBackend
    fs_cls = fsx_models.FileSystem
    original_create = backend_cls.create_file_system
    original_delete = backend_cls.delete_file_system
    original_to_dict = fs_cls.to_dict
    folders: list[Path] = []
    watched: dict[int, Any] = {}

    def lustre_of(backend: Any, file_system_id: str) -> tuple[Any, LustreFileSystem]:
        fs = backend.file_systems.get(file_system_id)
        if fs is None:
            raise FileSystemNotFound(file_system_id)
        lustre: LustreFileSystem | None = getattr(fs, LUSTRE, None)
        if lustre is None:
            raise _BadRequest(f"{file_system_id} is not a Lustre file system")
        return fs, lustre

    def on_move(_now: datetime) -> None:
        from moto.fsx.models import fsx_backends

        for account in list(fsx_backends.values()):
            for backend in list(account.values()):
                for fs in list(backend.file_systems.values()):
                    lustre = getattr(fs, LUSTRE, None)
                    if lustre is not None:
                        with contextlib.suppress(LustreError):
                            lustre.export(auto=True)
                            lustre.auto_import()

    def watch_clock() -> None:
        clock = sandbox.clock
        if id(clock) not in watched:
            watched[id(clock)] = clock.watch(on_move)

    def create_file_system(self: Any, **kwargs: Any) -> Any:
        config = dict(kwargs.get("lustre_configuration") or {})
        lustre: LustreFileSystem | None = None
        if kwargs.get("file_system_type") == "LUSTRE":
            deployment = str(config.get("DeploymentType") or "SCRATCH_1")
            per_unit = config.get("PerUnitStorageThroughput")
            root = Path(tempfile.mkdtemp(prefix="labkit-fsx-"))
            try:
                lustre = LustreFileSystem(
                    root=root,
                    repository=_S3(self.account_id),
                    deployment=deployment,
                    capacity_gib=int(kwargs.get("storage_capacity") or 0),
                    per_unit=int(per_unit) if per_unit is not None else None,
                )
                lustre.throughput  # noqa: B018 - checks DeploymentType and throughput now
                import_path = config.get("ImportPath")
                if import_path:
                    bucket, _prefix = split_s3(str(import_path))
                    stamp = datetime.fromtimestamp(sandbox.clock.timestamp, tz=timezone.utc)
                    export = config.get("ExportPath") or (
                        f"s3://{bucket}/FSxLustre{stamp:%Y%m%dT%H%M%S}Z"
                    )
                    config["ExportPath"] = export
                    lustre.link(
                        Link(
                            "/",
                            str(import_path),
                            str(export),
                            auto_import=_events(config.get("AutoImportPolicy")),
                        )
                    )
            except LustreError as error:
                shutil.rmtree(root, ignore_errors=True)
                raise _BadRequest(str(error)) from None
            folders.append(root)
            kwargs["lustre_configuration"] = config
        fs: Any = original_create(self, **kwargs)
        fs.creation_time = sandbox.clock.timestamp
        fs.owner_id = self.account_id
        fs.lifecycle = "CREATING"  # the answer to CreateFileSystem; AVAILABLE afterwards
        fs.associations = []
        fs.tasks = []
        if lustre is not None:
            setattr(fs, LUSTRE, lustre)
            watch_clock()
        return fs

    def delete_file_system(self: Any, file_system_id: str, *args: Any, **kwargs: Any) -> Any:
        fs = self.file_systems.get(file_system_id)
        lustre = getattr(fs, LUSTRE, None)
        answer = original_delete(self, file_system_id, *args, **kwargs)
        if lustre is not None:
            lustre.destroy()
        return answer

    def to_dict(self: Any) -> dict[str, Any]:
        answer: dict[str, Any] = original_to_dict(self)
        answer["Lifecycle"] = getattr(self, "lifecycle", "AVAILABLE")
        self.lifecycle = "AVAILABLE"
        if hasattr(self, "creation_time"):
            answer["CreationTime"] = self.creation_time
            answer["OwnerId"] = self.owner_id
        lustre: LustreFileSystem | None = getattr(self, LUSTRE, None)
        if lustre is not None:
            config = dict(self.lustre_configuration or {})
            lustre_answer: dict[str, Any] = {
                "DeploymentType": lustre.deployment,
                "MountName": self.file_system_id.replace("fs-", "")[:8],
            }
            if lustre.per_unit is not None:
                lustre_answer["PerUnitStorageThroughput"] = lustre.per_unit
            if config.get("ImportPath"):
                lustre_answer["DataRepositoryConfiguration"] = {
                    "Lifecycle": "AVAILABLE",
                    "ImportPath": config["ImportPath"],
                    "ExportPath": config.get("ExportPath"),
                    "AutoImportPolicy": config.get("AutoImportPolicy") or "NONE",
                }
            answer["LustreConfiguration"] = lustre_answer
        return answer

    def association_dict(fs: Any, link: Link) -> dict[str, Any]:
        return {
            "AssociationId": link.association_id,
            "ResourceARN": fs.resource_arn.replace(
                f"file-system/{fs.file_system_id}", f"association/{fs.file_system_id}/"
            )
            + link.association_id,
            "FileSystemId": fs.file_system_id,
            "Lifecycle": "AVAILABLE",
            "FileSystemPath": link.fs_path,
            "DataRepositoryPath": link.import_url,
            "S3": {
                "AutoImportPolicy": {"Events": list(link.auto_import)},
                "AutoExportPolicy": {"Events": list(link.auto_export)},
            },
        }

    def create_data_repository_association(self: Any) -> str:
        params = json.loads(self.body)
        fs, lustre = lustre_of(self.fsx_backend, params.get("FileSystemId", ""))
        s3 = params.get("S3") or {}
        path = str(params.get("DataRepositoryPath") or "")
        link = Link(
            str(params.get("FileSystemPath") or "/"),
            path,
            path,
            auto_import=_events(s3.get("AutoImportPolicy")),
            auto_export=_events(s3.get("AutoExportPolicy")),
            association_id=f"dra-{uuid.uuid4().hex[:17]}",
        )
        try:
            lustre.link(link, import_metadata=bool(params.get("BatchImportMetaDataOnCreate")))
        except LustreError as error:
            raise _BadRequest(str(error)) from None
        fs.associations.append(link)
        answer = association_dict(fs, link)
        answer["BatchImportMetaDataOnCreate"] = bool(params.get("BatchImportMetaDataOnCreate"))
        return json.dumps({"Association": answer})

    def describe_data_repository_associations(self: Any) -> str:
        params = json.loads(self.body)
        wanted = set(params.get("AssociationIds") or ())
        found = []
        for fs in list(self.fsx_backend.file_systems.values()):
            for link in getattr(fs, "associations", []):
                if not wanted or link.association_id in wanted:
                    found.append(association_dict(fs, link))
        return json.dumps({"Associations": found})

    def create_data_repository_task(self: Any) -> str:
        params = json.loads(self.body)
        fs, lustre = lustre_of(self.fsx_backend, params.get("FileSystemId", ""))
        kind = str(params.get("Type") or "")
        paths = [str(p) for p in params.get("Paths") or ()]
        now = sandbox.clock.timestamp
        try:
            if kind == "EXPORT_TO_REPOSITORY":
                count = len(lustre.export(paths or None))
            elif kind == "IMPORT_METADATA_FROM_REPOSITORY":
                count = lustre.import_metadata()
            else:
                raise LustreError(
                    f"Type {kind!r} is not simulated: EXPORT_TO_REPOSITORY or "
                    "IMPORT_METADATA_FROM_REPOSITORY"
                )
        except LustreError as error:
            raise _BadRequest(str(error)) from None
        task = {
            "TaskId": f"task-{uuid.uuid4().hex[:17]}",
            "Lifecycle": "SUCCEEDED",
            "Type": kind,
            "CreationTime": now,
            "StartTime": now,
            "EndTime": now,
            "FileSystemId": fs.file_system_id,
            "Paths": paths,
            "Status": {"TotalCount": count, "SucceededCount": count, "FailedCount": 0},
            "Report": params.get("Report") or {"Enabled": False},
        }
        fs.tasks.append(task)
        return json.dumps({"DataRepositoryTask": task})

    def describe_data_repository_tasks(self: Any) -> str:
        params = json.loads(self.body)
        wanted = set(params.get("TaskIds") or ())
        found = [
            task
            for fs in list(self.fsx_backend.file_systems.values())
            for task in getattr(fs, "tasks", [])
            if not wanted or task["TaskId"] in wanted
        ]
        return json.dumps({"DataRepositoryTasks": found})

    response_cls = fsx_responses.FSxResponse
    added = {
        "create_data_repository_association": create_data_repository_association,
        "describe_data_repository_associations": describe_data_repository_associations,
        "create_data_repository_task": create_data_repository_task,
        "describe_data_repository_tasks": describe_data_repository_tasks,
    }
    backend_cls.create_file_system = create_file_system  # type: ignore[method-assign,assignment]
    backend_cls.delete_file_system = delete_file_system  # type: ignore[method-assign]
    fs_cls.to_dict = to_dict  # type: ignore[method-assign]
    for name, function in added.items():
        setattr(response_cls, name, function)
    try:
        yield
    finally:
        backend_cls.create_file_system = original_create  # type: ignore[method-assign]
        backend_cls.delete_file_system = original_delete  # type: ignore[method-assign]
        fs_cls.to_dict = original_to_dict  # type: ignore[method-assign]
        for name in added:
            delattr(response_cls, name)
        for stop in watched.values():
            stop()
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
