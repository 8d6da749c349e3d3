"""DataSync locations on AWS file systems: EFS and FSx for Lustre, as the sandbox holds them.

moto 5.2.5's DataSync has S3 and SMB locations only. Here, with AWS's request and response
shapes (https://docs.aws.amazon.com/datasync/latest/userguide/API_CreateLocationEfs.html,
API_DescribeLocationEfs.html, API_CreateLocationFsxLustre.html,
API_DescribeLocationFsxLustre.html):

- ``CreateLocationEfs(EfsFilesystemArn, Ec2Config={SubnetArn, SecurityGroupArns},
  Subdirectory, AccessPointArn, FileSystemAccessRoleArn, InTransitEncryption)``: the file system
  must exist and have a mount target in the subnet's Availability Zone (the subnet "must be in
  the same Availability Zone as at least one mount target",
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-datasync-locationefs-ec2config.html);
  an access point or a role needs ``InTransitEncryption=TLS1_2`` (API_CreateLocationEfs.html).
  ``LocationUri`` is ``efs://<region>.<file-system-id>/<subdirectory>/``, AWS's
  ``TYPE://GLOBAL_ID/SUBDIR`` (API_LocationListEntry.html). An execution writes into the file
  system's real folder (:func:`labkit.services.ecs.patch_volumes.efs_folder`), the one every ECS
  task mounting the file system sees; the subdirectory (below the access point's root directory,
  with an access point) is a folder inside it.
- ``CreateLocationFsxLustre(FsxFilesystemArn, SecurityGroupArns, Subdirectory)``: the file
  system must be an FSx for Lustre one; ``LocationUri`` is
  ``fsxl://<region>.<file-system-id>/<subdirectory>/``. An execution writes into the Lustre file
  system (:func:`labkit.services.fsx.state.mount` shows the files). DataSync is one more client
  writing files: on a file system linked to S3 it exports nothing itself. What it wrote reaches
  the bucket as any new or changed file does, through the file system's own export: an
  ``AutoExportPolicy`` on the data repository association (``NEW``/``CHANGED`` events) or an
  ``EXPORT_TO_REPOSITORY`` data repository task
  (https://docs.aws.amazon.com/fsx/latest/LustreGuide/export-changed-data-meta-dra.html).
- A file system that does not exist is refused with DataSync's ``InvalidRequestException``
  (the one client error its API documents; the message is labkit's). FSx for Windows File
  Server, NetApp ONTAP and OpenZFS locations are refused as not simulated.

Not modelled: the security groups' rules (NFS port 2049, Lustre ports), IAM authorization of
the mount, POSIX ownership and permissions.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moto.datasync import responses as ds_responses
from moto.datasync.exceptions import InvalidRequestException

from labkit.errors import LabkitError
from labkit.sandbox.backends import existing_in
from labkit.services.datasync.sim_sync import (
    Destination,
    FileEntry,
    FolderDestination,
    SyncOptionError,
    scan,
)

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox
    from labkit.services.fsx.sim_lustre import LustreFileSystem

_EFS_ARN = re.compile(
    r"^arn:aws[\w-]*:elasticfilesystem:([a-z0-9-]+):(\d{12}):file-system/(fs-\w+)$"
)
_FSX_ARN = re.compile(r"^arn:aws[\w-]*:fsx:([a-z0-9-]+):(\d{12}):file-system/(fs-\w+)$")
_SUBNET_ARN = re.compile(r"^arn:aws[\w-]*:ec2:([a-z0-9-]*):(\d{12}):subnet/(subnet-\w+)$")
_ACCESS_POINT_ARN = re.compile(
    r"^arn:aws[\w-]*:elasticfilesystem:[a-z0-9-]+:\d{12}:access-point/(fsap-\w+)$"
)

#: The other FSx location types DataSync has, and what AWS calls the file system.
_NOT_SIMULATED = {
    "create_location_fsx_windows": "FSx for Windows File Server",
    "create_location_fsx_ontap": "FSx for NetApp ONTAP",
    "create_location_fsx_open_zfs": "FSx for OpenZFS",
}


def _refuse(message: str) -> InvalidRequestException:
    return InvalidRequestException(message)


def _parts(path: str) -> list[str]:
    """A path's folders, without ``.`` and ``..`` (a subdirectory cannot leave its root)."""
    return [p for p in path.split("/") if p not in ("", ".", "..")]


def _uri(scheme: str, region: str, fs_id: str, subdirectory: str) -> str:
    rest = "/".join(_parts(subdirectory))
    return f"{scheme}://{region}.{fs_id}/{rest + '/' if rest else ''}"


# -- EFS -----------------------------------------------------------------------------------------
def _efs_backend(account: str, region: str) -> Any:
    return next(iter(existing_in("efs", account, region)), None)


def _efs_file_system(account: str, region: str, fs_id: str) -> Any:
    backend = _efs_backend(account, region)
    fs = getattr(backend, "file_systems_by_id", {}).get(fs_id) if backend else None
    if fs is None:
        raise SyncOptionError(
            f"The EFS file system {fs_id} does not exist in account {account}, {region}."
        )
    return fs


def _subnet_zone(account: str, region: str, subnet_arn: str) -> str:
    match = _SUBNET_ARN.match(subnet_arn or "")
    if not match:
        raise _refuse(
            f"Ec2Config.SubnetArn {subnet_arn!r} is not a subnet ARN "
            "(arn:aws:ec2:<region>:<account>:subnet/subnet-...)."
        )
    from moto.ec2.exceptions import InvalidSubnetIdError

    for backend in existing_in("ec2", account, region):
        with contextlib.suppress(InvalidSubnetIdError):
            return str(backend.get_subnet(match.group(3)).availability_zone)
    raise _refuse(f"The subnet {match.group(3)} does not exist in {region}.")


def _efs_root(meta: dict[str, Any]) -> Path:
    """The folder a location's files go to: the file system's, the access point's root, the
    subdirectory."""
    from labkit.services.ecs.patch_volumes import efs_folder

    account, region, fs_id = meta["Account"], meta["Region"], meta["FileSystemId"]
    fs = _efs_file_system(account, region, fs_id)
    root = efs_folder(fs, account, region)
    point_id = meta.get("AccessPointId")
    if point_id:
        point = getattr(_efs_backend(account, region), "access_points", {}).get(point_id)
        if point is None:
            raise SyncOptionError(f"The access point {point_id} does not exist any more.")
        root = root.joinpath(*_parts(str((point.root_directory or {}).get("Path", "/"))))
    return root.joinpath(*_parts(str(meta.get("Subdirectory") or "")))


def create_location_efs(self: Any, sandbox: Sandbox) -> str:
    """``CreateLocationEfs``: checks the file system, mount target and access point."""
    arn = str(self._get_param("EfsFilesystemArn") or "")
    match = _EFS_ARN.match(arn)
    if not match:
        raise _refuse(
            f"EfsFilesystemArn {arn!r} is not an EFS file system ARN "
            "(arn:aws:elasticfilesystem:<region>:<account>:file-system/fs-...)."
        )
    region, account, fs_id = match.groups()
    try:
        fs = _efs_file_system(account, region, fs_id)
    except SyncOptionError as error:
        raise _refuse(error.message) from None
    ec2 = self._get_param("Ec2Config") or {}
    zone = _subnet_zone(account, region, str(ec2.get("SubnetArn") or ""))
    zones = {str(target.availability_zone_name) for target in fs.iter_mount_targets()}
    if zone not in zones:
        raise _refuse(
            f"The EFS file system {fs_id} has no mount target in {zone}, the subnet's "
            f"Availability Zone (mount targets in: {', '.join(sorted(zones)) or 'none'}); "
            "create one there (efs.create_mount_target) or use a subnet in its zone."
        )
    if not ec2.get("SecurityGroupArns"):
        raise _refuse("Ec2Config.SecurityGroupArns needs at least one security group ARN.")
    point_arn = self._get_param("AccessPointArn")
    role = self._get_param("FileSystemAccessRoleArn")
    encryption = self._get_param("InTransitEncryption")
    if (point_arn or role) and encryption != "TLS1_2":
        raise _refuse(
            "With AccessPointArn or FileSystemAccessRoleArn, InTransitEncryption must be TLS1_2."
        )
    point_id = ""
    if point_arn:
        point_match = _ACCESS_POINT_ARN.match(str(point_arn))
        point = getattr(_efs_backend(account, region), "access_points", {}).get(
            point_match.group(1) if point_match else ""
        )
        if point is None or point.file_system_id != fs_id:
            raise _refuse(f"AccessPointArn {point_arn} is not an access point of {fs_id}.")
        point_id = point.access_point_id
    subdirectory = str(self._get_param("Subdirectory") or "")
    metadata = {
        "Account": account,
        "Region": region,
        "FileSystemId": fs_id,
        "Subdirectory": subdirectory,
        "Ec2Config": {
            "SubnetArn": ec2.get("SubnetArn"),
            "SecurityGroupArns": list(ec2["SecurityGroupArns"]),
        },
        "AccessPointArn": point_arn,
        "AccessPointId": point_id,
        "FileSystemAccessRoleArn": role,
        "InTransitEncryption": encryption,
        "CreationTime": sandbox.clock.timestamp,
    }
    uri = _uri("efs", region, fs_id, subdirectory)
    location_arn = self.datasync_backend.create_location(uri, metadata=metadata, typ="EFS")
    return json.dumps({"LocationArn": location_arn})


def describe_location_efs(self: Any) -> str:
    """``DescribeLocationEfs``: AWS's response (optional fields only when set)."""
    location = self.datasync_backend._get_location(self._get_param("LocationArn"), "EFS")
    meta = location.metadata
    answer: dict[str, Any] = {
        "LocationArn": location.arn,
        "LocationUri": location.uri,
        "Ec2Config": meta["Ec2Config"],
        "CreationTime": meta["CreationTime"],
    }
    for key in ("AccessPointArn", "FileSystemAccessRoleArn", "InTransitEncryption"):
        if meta.get(key):
            answer[key] = meta[key]
    return json.dumps(answer)


# -- FSx for Lustre ------------------------------------------------------------------------------
class LustreDestination:
    """A folder of an FSx for Lustre file system as a DataSync destination.

    Its files are those in the file system's folder and those imported from S3 but not loaded
    yet (metadata only: their size and time compare, their data stays in S3 until read).
    Written files keep the source's modification time; the file system's export takes them to
    S3 if it is linked (see the module's docstring).
    """

    def __init__(self, lustre: LustreFileSystem, subdirectory: str) -> None:
        self._lustre = lustre
        self._base = "/".join(_parts(subdirectory))

    def _full(self, path: str) -> str:
        return f"{self._base}/{path}" if self._base else path

    def entries(self) -> dict[str, FileEntry]:
        """Every file under the subdirectory, loaded or not."""
        folder = self._lustre.root / self._base
        found = scan(folder) if folder.is_dir() else {}
        prefix = self._base + "/" if self._base else ""
        for path, state in list(self._lustre.files.items()):
            if state.loaded or not path.startswith(prefix):
                continue
            rel = path[len(prefix) :]
            found.setdefault(rel, FileEntry(rel, state.size, int(state.mtime)))
        return found

    def write(self, entry: FileEntry, data: bytes) -> None:
        """Write one file on the file system, with the source's modification time."""
        full = self._full(entry.path)
        self._lustre.write_bytes(full, data)
        os.utime(self._lustre.root / full, (entry.mtime, entry.mtime))

    def delete(self, path: str) -> None:
        """Remove one file from the file system."""
        full = self._full(path)
        (self._lustre.root / full).unlink(missing_ok=True)
        self._lustre.files.pop(full, None)


def _fsx_file_system(arn: str) -> tuple[str, str, Any]:
    match = _FSX_ARN.match(arn)
    if not match:
        raise _refuse(
            f"FsxFilesystemArn {arn!r} is not an FSx file system ARN "
            "(arn:aws:fsx:<region>:<account>:file-system/fs-...)."
        )
    region, account, fs_id = match.groups()
    for backend in existing_in("fsx", account, region):
        fs = getattr(backend, "file_systems", {}).get(fs_id)
        if fs is not None:
            return region, fs_id, fs
    raise _refuse(f"The FSx file system {fs_id} does not exist in account {account}, {region}.")


def create_location_fsx_lustre(self: Any, sandbox: Sandbox) -> str:
    """``CreateLocationFsxLustre``: the file system must be an FSx for Lustre one."""
    region, fs_id, fs = _fsx_file_system(str(self._get_param("FsxFilesystemArn") or ""))
    if fs.file_system_type != "LUSTRE":
        raise _refuse(
            f"{fs_id} is an FSx {fs.file_system_type} file system, not Lustre: "
            "CreateLocationFsxLustre takes an FSx for Lustre file system."
        )
    groups = self._get_param("SecurityGroupArns") or []
    if not groups:
        raise _refuse("SecurityGroupArns needs at least one security group ARN.")
    subdirectory = str(self._get_param("Subdirectory") or "")
    metadata = {
        "FileSystemId": fs_id,
        "Subdirectory": subdirectory,
        "SecurityGroupArns": list(groups),
        "CreationTime": sandbox.clock.timestamp,
    }
    uri = _uri("fsxl", region, fs_id, subdirectory)
    location_arn = self.datasync_backend.create_location(uri, metadata=metadata, typ="FSX_LUSTRE")
    return json.dumps({"LocationArn": location_arn})


def describe_location_fsx_lustre(self: Any) -> str:
    """``DescribeLocationFsxLustre``: AWS's response."""
    location = self.datasync_backend._get_location(self._get_param("LocationArn"), "FSX_LUSTRE")
    meta = location.metadata
    return json.dumps(
        {
            "LocationArn": location.arn,
            "LocationUri": location.uri,
            "SecurityGroupArns": meta["SecurityGroupArns"],
            "CreationTime": meta["CreationTime"],
        }
    )


def _not_simulated(kind: str) -> Any:
    def refuse(self: Any) -> str:
        raise _refuse(
            f"DataSync locations on {kind} are not simulated in the sandbox: its DataSync "
            "targets are S3, EFS (CreateLocationEfs) and FSx for Lustre "
            "(CreateLocationFsxLustre)."
        )

    return refuse


# -- executions ----------------------------------------------------------------------------------
def destination(location: Any) -> Destination | None:
    """Where an execution to ``location`` writes (EFS or FSx for Lustre); ``None`` for other
    types. Raises :class:`SyncOptionError` when the file system is gone."""
    if location.typ == "EFS":
        return FolderDestination(_efs_root(location.metadata))
    if location.typ == "FSX_LUSTRE":
        from labkit.services.fsx.state import mount

        try:
            lustre = mount(location.metadata["FileSystemId"])
        except LabkitError as error:
            raise SyncOptionError(error.message) from None
        return LustreDestination(lustre, str(location.metadata.get("Subdirectory") or ""))
    return None


def _cleanup_volumes() -> None:
    # The EFS folders are ECS's (its patch removes them at stop); DataSync may have made one
    # in a lab that never started a task, so it removes them too if that module was loaded.
    volumes = sys.modules.get("labkit.services.ecs.patch_volumes")
    if volumes is not None:
        volumes.cleanup()


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Add EFS and FSx for Lustre locations while ``sandbox`` runs."""
    stack.enter_context(_patched(sandbox))
    stack.callback(_cleanup_volumes)


@contextlib.contextmanager
def _patched(sandbox: Sandbox) -> Iterator[None]:
    response_cls = ds_responses.DataSyncResponse
    added: dict[str, Any] = {
        "create_location_efs": lambda self: create_location_efs(self, sandbox),
        "describe_location_efs": describe_location_efs,
        "create_location_fsx_lustre": lambda self: create_location_fsx_lustre(self, sandbox),
        "describe_location_fsx_lustre": describe_location_fsx_lustre,
        **{name: _not_simulated(kind) for name, kind in _NOT_SIMULATED.items()},
    }
    for name, function in added.items():
        setattr(response_cls, name, function)
    try:
        yield
    finally:
        for name in added:
            delattr(response_cls, name)
