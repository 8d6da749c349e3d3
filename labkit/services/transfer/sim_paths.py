"""Where a Transfer Family user's SFTP paths land in S3: home directories and logical mappings.

AWS (https://docs.aws.amazon.com/transfer/latest/userguide/logical-dir-mappings.html):

- ``HomeDirectoryType=PATH`` (the default): the SFTP path *is* the S3 path, ``/bucket/key``; the
  user starts in ``HomeDirectory`` (``/bucket/prefix``) but may ``cd /`` and walk anywhere the
  role allows. A home directory alone does not fence a user in.
- ``HomeDirectoryType=LOGICAL``: the user sees only the ``HomeDirectoryMappings``' entries; each
  ``Entry`` (a virtual path) stands for its ``Target`` (``/bucket/prefix``). ``[{"Entry": "/",
  "Target": "/bucket/home/alice"}]`` is a chroot: ``/`` is alice's folder and ``..`` cannot climb
  above it, because Transfer Family resolves relative elements before anything reaches S3.

Plain Python: :class:`HomeMap` turns a path the client sent (relative to the working directory,
with ``.`` and ``..``) into a :class:`Place`: an S3 bucket and key, or a virtual directory (a
logical path above the entries, or ``/`` of a PATH user, which lists nothing here).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from labkit.errors import LabkitError


class HomeDirectoryError(LabkitError):
    """A home directory or mapping that AWS would refuse (not ``/bucket/...``)."""

    code = "InvalidHomeDirectory"


@dataclass(frozen=True)
class Place:
    """Where one SFTP path lands.

    Attributes:
        path: The normalised path as the user sees it (``/reports/q1.csv``).
        bucket: The S3 bucket; ``""`` for a virtual directory.
        key: The S3 key (no leading slash); ``""`` for a bucket's top.
        children: For a virtual directory, the names it holds (logical entries below it).
    """

    path: str
    bucket: str = ""
    key: str = ""
    children: tuple[str, ...] = ()

    @property
    def virtual(self) -> bool:
        """Whether the path is a directory made of mappings alone (nothing in S3)."""
        return not self.bucket


def split_target(target: str) -> tuple[str, str]:
    """``/bucket/a/b`` -> ``("bucket", "a/b")``; raises :class:`HomeDirectoryError`."""
    if not target.startswith("/") or len(target.strip("/")) == 0:
        raise HomeDirectoryError(
            f"{target!r} is not an S3 path: write it as /bucket-name or /bucket-name/folder"
        )
    bucket, _, key = target.strip("/").partition("/")
    return bucket, key.strip("/")


def _join(prefix: str, rest: str) -> str:
    return "/".join(p for p in (prefix.strip("/"), rest.strip("/")) if p)


@dataclass(frozen=True)
class HomeMap:
    """One user's view of S3 over SFTP.

    Attributes:
        home: The path the user starts in (as the user sees it).
        mappings: For a LOGICAL user, ``(entry, target)`` pairs; empty for a PATH user.
        logical: Whether the user is fenced into the mappings.
    """

    home: str
    mappings: tuple[tuple[str, str], ...] = ()
    logical: bool = False

    @classmethod
    def for_user(
        cls,
        home_directory: str | None,
        home_directory_type: str | None,
        mappings: Sequence[Mapping[str, str]] | None,
    ) -> HomeMap:
        """The map of a Transfer Family user as ``DescribeUser`` reports it."""
        if (home_directory_type or "PATH").upper() == "LOGICAL":
            pairs = tuple(
                (posixpath.normpath("/" + m["Entry"].strip("/")), m["Target"])
                for m in (mappings or [])
            )
            for _, target in pairs:
                split_target(target)
            return cls(home=posixpath.normpath(home_directory or "/"), mappings=pairs, logical=True)
        home = home_directory or "/"
        if home != "/":
            split_target(home)
        return cls(home=posixpath.normpath("/" + home.strip("/")))

    def normalise(self, path: str, cwd: str | None = None) -> str:
        """``path`` made absolute against ``cwd`` (the home by default), ``..`` resolved: never
        above ``/``, so a chrooted user cannot climb out of it."""
        base = cwd or self.home
        joined = path if path.startswith("/") else posixpath.join(base, path or ".")
        normal = posixpath.normpath("/" + joined.lstrip("/"))
        return "/" if normal in ("", "//") else normal

    def place(self, path: str, cwd: str | None = None) -> Place | None:
        """Where ``path`` lands; ``None`` when it is outside everything the user can see."""
        normal = self.normalise(path, cwd)
        if not self.logical:
            if normal == "/":
                return Place("/", children=())
            bucket, _, key = normal.lstrip("/").partition("/")
            return Place(normal, bucket, key)
        best: tuple[str, str] | None = None
        for entry, target in self.mappings:
            inside = normal == entry or normal.startswith(entry.rstrip("/") + "/")
            if inside and (best is None or len(entry) > len(best[0])):
                best = (entry, target)
        if best is not None:
            entry, target = best
            bucket, prefix = split_target(target)
            rest = normal[len(entry) :] if entry != "/" else normal
            return Place(normal, bucket, _join(prefix, rest))
        # Above the entries: a virtual directory listing the next path element of each.
        below = normal.rstrip("/") + "/"
        children = sorted(
            {e[len(below) :].split("/", 1)[0] for e, _ in self.mappings if e.startswith(below)}
        )
        if children:
            return Place(normal, children=tuple(children))
        return None
