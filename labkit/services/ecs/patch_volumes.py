"""Task definition volumes that mount: EFS file systems as real shared folders, bind mounts.

A container's ``mountPoints`` name volumes of its task definition. At task start labkit
resolves each to a real folder (:mod:`labkit.services.ecs.sim_volumes` says how the container's
code reaches it):

- ``efsVolumeConfiguration``: the file system must exist in EFS with a mount target (else the
  task stops with AWS's ``ResourceInitializationError: failed to invoke EFS utils commands to
  set up EFS volumes ...``); its folder is one per file system for the whole sandbox, so every
  task that mounts it, on Fargate or on EC2, sees the same files; ``rootDirectory`` or the
  access point's root directory (``authorizationConfig.accessPointId``) is a folder inside it;
- a volume without configuration (a bind mount) is a folder of the task alone, shared by its
  containers;
- a ``mountPoints`` entry naming no volume of the task definition stops the task.

S3 is an API, not a file system: ECS's ``Volume`` has no S3 type, so a task definition with an
S3 volume is refused before it reaches ECS (boto3's parameter validation, as against AWS).

Not modelled: IAM authorization of the mount (``iam: ENABLED`` against the file system policy),
POSIX users and permissions of access points, EFS throughput.

Sources: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/efs-volumes.html,
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_EFSVolumeConfiguration.html,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from labkit.services.ecs.patch_start import StartFailure
from labkit.services.ecs.sim_volumes import MOUNTS_VARIABLE

#: Folders made so far (file systems and bind mounts), removed when the sandbox stops.
_FOLDERS: dict[str, Path] = {}


def cleanup() -> None:
    """Remove every folder the sandbox's volumes used (at sandbox stop)."""
    for folder in _FOLDERS.values():
        shutil.rmtree(folder, ignore_errors=True)
    _FOLDERS.clear()


def _folder(key: str) -> Path:
    folder = _FOLDERS.get(key)
    if folder is None:
        folder = _FOLDERS[key] = Path(tempfile.mkdtemp(prefix="labkit-volume-"))
    return folder


def _inside(root: Path, path: str) -> Path:
    parts = [p for p in path.split("/") if p not in ("", ".", "..")]
    folder = root.joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _efs_failure(fs_id: str, region: str) -> StartFailure:
    return StartFailure(
        "ResourceInitializationError: failed to invoke EFS utils commands to set up EFS "
        f'volumes: stderr: Failed to resolve "{fs_id}.efs.{region}.amazonaws.com" - check '
        "that your file system ID is correct, and ensure that the VPC has an EFS mount target "
        "for this file system ID."
    )


def efs_folder(fs: Any, account: str, region: str) -> Path:
    """The real folder behind EFS file system ``fs`` (moto's model), made now if nothing has
    used it yet: the one every task mounting it sees, and the one DataSync writes into."""
    return _folder(f"efs/{account}/{region}/{fs.file_system_id}/{id(fs)}")


def _efs(config: dict[str, Any], account: str, region: str) -> Path:
    from moto.efs.models import efs_backends

    fs_id = str(config.get("fileSystemId", ""))
    backend = efs_backends[account][region]
    fs = backend.file_systems_by_id.get(fs_id)
    if fs is None or not fs.number_of_mount_targets:
        raise _efs_failure(fs_id, region)
    root = efs_folder(fs, account, region)
    access = (config.get("authorizationConfig") or {}).get("accessPointId")
    if access:
        point = backend.access_points.get(str(access))
        if point is None or point.file_system_id != fs_id:
            raise StartFailure(
                "ResourceInitializationError: failed to invoke EFS utils commands to set up "
                f"EFS volumes: stderr: access point {access} does not belong to {fs_id}"
            )
        return _inside(root, str((point.root_directory or {}).get("Path", "/")))
    return _inside(root, str(config.get("rootDirectory") or "/"))


def environment(
    task_def: Any, definition: dict[str, Any], task_id: str, account: str, region: str
) -> dict[str, str]:
    """The variable telling a container its mounts (empty when it has none)."""
    points = definition.get("mountPoints") or []
    if not points:
        return {}
    volumes = {str(v.get("name")): v for v in task_def.volumes or []}
    mounts: dict[str, list[str]] = {}
    for point in points:
        name = str(point.get("sourceVolume", ""))
        volume = volumes.get(name)
        if volume is None:
            raise StartFailure(
                f"CannotCreateContainerError: mount point of container "
                f"{definition.get('name')} names volume {name!r}, which the task definition "
                "does not define"
            )
        config = volume.get("efsVolumeConfiguration")
        # An EFS file system is shared by every task; a bind mount is the task's own.
        folder = _efs(config, account, region) if config else _folder(f"task/{task_id}/{name}")
        mode = "ro" if point.get("readOnly") else "rw"
        mounts[str(point.get("containerPath", ""))] = [str(folder), mode]
    return {MOUNTS_VARIABLE: json.dumps(mounts)}


__all__ = ["cleanup", "efs_folder", "environment"]
