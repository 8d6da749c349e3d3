"""FSx file systems: read-only snapshots, and the Lustre file system behind an id.

Reads moto's FSx backends through :mod:`labkit.sandbox.backends` (none is created by looking);
each Lustre file system the patch created carries its :class:`~.sim_lustre.LustreFileSystem`.
"""

from __future__ import annotations

from typing import Any

from labkit.errors import LabkitError
from labkit.sandbox.backends import existing
from labkit.services.fsx.sim_lustre import LustreFileSystem

#: Attribute of a moto FileSystem holding its :class:`~.sim_lustre.LustreFileSystem`.
LUSTRE = "_labkit_lustre"


class UnknownFileSystemError(LabkitError):
    """No Lustre file system with that id (or ARN, or DNS name)."""

    code = "FileSystemNotFound"


def mount(file_system: str) -> LustreFileSystem:
    """The Lustre file system ``file_system`` (id, ARN or DNS name), as a client mounts it:
    ``listdir``, ``stat``, ``read_bytes`` (lazy load), ``open``, ``write_bytes`` and ``root``."""
    names = []
    for _region, backend in existing("fsx"):
        for fs in list(getattr(backend, "file_systems", {}).values()):
            names.append(fs.file_system_id)
            if file_system in (fs.file_system_id, fs.resource_arn, fs.dns_name):
                lustre: LustreFileSystem | None = getattr(fs, LUSTRE, None)
                if lustre is None:
                    raise UnknownFileSystemError(
                        f"{file_system} is an FSx for {fs.file_system_type} file system: the "
                        "sandbox mounts Lustre file systems"
                    )
                return lustre
    raise UnknownFileSystemError(
        f"There is no FSx file system {file_system!r} (file systems: {', '.join(names) or 'none'})"
    )


def snapshot() -> list[dict[str, Any]]:
    """Every Lustre file system: deployment, throughput, links, and each file's state."""
    found = []
    for region, backend in existing("fsx"):
        for fs in list(getattr(backend, "file_systems", {}).values()):
            lustre = getattr(fs, LUSTRE, None)
            if lustre is None:
                continue
            found.append(
                {
                    "id": fs.file_system_id,
                    "region": region,
                    "deployment": lustre.deployment,
                    "capacity_gib": lustre.capacity_gib,
                    "throughput_mbps": lustre.throughput,
                    "links": [(link.fs_path, link.import_url) for link in lustre.links],
                    "files": {
                        path: "loaded" if state.loaded else "released"
                        for path, state in sorted(lustre.files.items())
                    },
                    "loads": len(lustre.loads),
                    "exported": len(lustre.exported),
                    # For the FSx view: each lazy load and each exported path, oldest first.
                    "load_log": [(load.path, load.size, load.seconds) for load in lustre.loads],
                    "exported_paths": list(lustre.exported),
                }
            )
    return found
