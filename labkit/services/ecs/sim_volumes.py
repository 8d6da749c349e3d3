"""EFS volumes as a container sees them: its mount points, resolved to real shared folders.

There are no containers and no NFS in the sandbox, so an EFS file system is a real folder on
the notebook's machine (one per file system, made at its first mount and removed when the
sandbox stops; an access point or ``rootDirectory`` is a folder inside it). A task's container
reaches it through :func:`mounted`: the path the task definition's ``mountPoints`` give
(``containerPath``) becomes the real path, so two tasks, on Fargate or EC2, read each other's
files. The patch tells each container its mounts in the variable :data:`MOUNTS_VARIABLE`
(labkit's, not AWS's), which is how :func:`mounted` finds them while the container's code runs.

Plain Python: :mod:`labkit.services.ecs.patch_volumes` reads the task definition and EFS.
"""

from __future__ import annotations

import json
import os
import posixpath
from pathlib import Path

from labkit.errors import LabkitError

#: The variable that tells a container's code its mounts: ``{containerPath: [folder, "ro"|"rw"]}``.
MOUNTS_VARIABLE = "LABKIT_MOUNTS"


class NotMountedError(LabkitError):
    """The path is under none of the container's mount points (or no container is running)."""

    code = "NotMounted"


class ReadOnlyMountError(LabkitError):
    """A write to a mount point the task definition made read-only."""

    code = "ReadOnlyMount"


def mounted(path: str, *, write: bool = False) -> Path:
    """The real path of ``path`` inside the running container's EFS mounts.

    Args:
        path: An absolute path in the container (``/mnt/shared/notes.txt``).
        write: The caller means to write: a ``readOnly`` mount point refuses it.

    Raises:
        NotMountedError: ``path`` is under no mount point of this container.
        ReadOnlyMountError: ``write`` to a read-only mount point.
    """
    mounts: dict[str, list[str]] = json.loads(os.environ.get(MOUNTS_VARIABLE) or "{}")
    clean = posixpath.normpath("/" + path.lstrip("/"))
    for point in sorted(mounts, key=len, reverse=True):
        base = posixpath.normpath(point)
        if clean == base or clean.startswith(base.rstrip("/") + "/"):
            folder, mode = mounts[point]
            if write and mode == "ro":
                raise ReadOnlyMountError(f"{point} is mounted read-only (mountPoints readOnly).")
            rest = clean[len(base) :].lstrip("/")
            return Path(folder, *rest.split("/")) if rest else Path(folder)
    where = ", ".join(sorted(mounts)) or "none"
    raise NotMountedError(f"{path} is not on a mounted volume (this container's mounts: {where}).")


__all__ = ["MOUNTS_VARIABLE", "NotMountedError", "ReadOnlyMountError", "mounted"]
