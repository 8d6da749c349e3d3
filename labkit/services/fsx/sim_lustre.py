"""An FSx for Lustre file system linked to S3: lazy load on first read, export of changed files.

As AWS documents it (https://docs.aws.amazon.com/fsx/latest/LustreGuide/create-dra-linked-data-repo.html,
https://docs.aws.amazon.com/fsx/latest/LustreGuide/overview-dra-data-repo.html):

- a file system is linked to S3 by a **data repository association** (a file system path such
  as ``/ns1`` and an S3 path ``s3://bucket/prefix``) or, the older way, by ``ImportPath`` (and
  ``ExportPath``, by default ``s3://<import bucket>/FSxLustre<creation time>``) at creation;
- at link time (``BatchImportMetaDataOnCreate``, or always with ``ImportPath``) only the
  objects' **metadata** is imported: every object shows up as a file with its name, size and
  modification time, but its data stays in S3;
- the **first read** of a file loads its data from S3 (lazy load); later reads are local;
- files created or changed on the file system are **exported** back to S3 by a data repository
  task (``EXPORT_TO_REPOSITORY``) or automatically (an ``AutoExportPolicy`` with ``NEW``,
  ``CHANGED``, ``DELETED`` events); an ``AutoImportPolicy`` brings new and changed S3 objects in.

Here the file system is a real folder on this machine (:attr:`LustreFileSystem.root`): a loaded
file is an ordinary file there, and a file the learner writes into the folder with plain Python
is found by the next export. A file not yet loaded is not in the folder: list and read through
:class:`LustreFileSystem` (``listdir``, ``stat``, ``read_bytes``, ``open``), which loads it
first, as a Lustre client's read would. (A FUSE mount would make plain ``open()`` lazy too; it
is not portable to Windows and macOS.)

Throughput is a model of what AWS documents per TiB of storage (:func:`throughput_mbps`): a
lazy load of ``n`` bytes is recorded as taking ``n / throughput`` seconds of lab time.

Plain Python: the S3 side is a :class:`Repository` the patch provides (the sandbox's S3).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from labkit import facts
from labkit.errors import LabkitError

DEPLOYMENT_TYPES = ("SCRATCH_1", "SCRATCH_2", "PERSISTENT_1", "PERSISTENT_2")
EVENTS = ("NEW", "CHANGED", "DELETED")


class LustreError(LabkitError):
    """A request FSx refuses (``BadRequest``)."""

    code = "BadRequest"


class FileNotOnFileSystemError(LabkitError, FileNotFoundError):
    """A path that is neither loaded nor in a linked repository."""

    code = "FileNotFound"


def throughput_mbps(deployment: str, capacity_gib: int, per_unit: int | None = None) -> float:
    """The file system's baseline throughput in MB/s: MB/s per TiB times TiB of storage.

    Raises :class:`LustreError` for a ``PerUnitStorageThroughput`` the deployment type does not
    offer (scratch types have a fixed rate; persistent types must choose one).
    """
    if deployment not in DEPLOYMENT_TYPES:
        raise LustreError(f"DeploymentType must be one of {', '.join(DEPLOYMENT_TYPES)}")
    if deployment.startswith("SCRATCH"):
        if per_unit is not None:
            raise LustreError("PerUnitStorageThroughput is only for PERSISTENT deployment types")
        rate = int(facts.fact("fsx.lustre_scratch_throughput_per_tib").value)
    else:
        name = "1" if deployment == "PERSISTENT_1" else "2"
        choices = tuple(facts.fact(f"fsx.lustre_persistent_{name}_throughput_per_tib").value)
        if per_unit is None or per_unit not in choices:
            raise LustreError(
                f"{deployment} needs PerUnitStorageThroughput of "
                f"{', '.join(str(c) for c in choices)} MB/s/TiB, not {per_unit}"
            )
        rate = per_unit
    return rate * capacity_gib / 1024


@dataclass(frozen=True)
class ObjectInfo:
    """An S3 object's metadata: size and modification time (epoch seconds)."""

    size: int
    mtime: float


class Repository(Protocol):
    """The S3 side of a link (the patch's view of the sandbox's S3)."""

    def list(self, bucket: str, prefix: str) -> dict[str, ObjectInfo]:
        """Every object under ``prefix``, by key."""
        ...

    def get(self, bucket: str, key: str) -> bytes:
        """An object's data."""
        ...

    def put(self, bucket: str, key: str, data: bytes) -> ObjectInfo:
        """Store an object; returns its metadata as stored."""
        ...

    def delete(self, bucket: str, key: str) -> None:
        """Remove an object."""
        ...


def split_s3(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix/`` as ``(bucket, "prefix/")`` (``""`` for the whole bucket)."""
    if not url.startswith("s3://"):
        raise LustreError(f"A data repository path is an s3:// URL, not {url!r}")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    prefix = prefix.strip("/")
    return bucket, prefix + "/" if prefix else ""


@dataclass
class Link:
    """One file system path linked to one S3 path (an association, or ImportPath/ExportPath).

    Attributes:
        fs_path: Where in the file system (``/`` or ``/ns1``).
        import_url: Where files come from; export_url: where changed files go.
        auto_import, auto_export: The events each automatic policy covers.
        association_id: The DRA's id (empty for ImportPath).
    """

    fs_path: str
    import_url: str
    export_url: str
    auto_import: tuple[str, ...] = ()
    auto_export: tuple[str, ...] = ()
    association_id: str = ""

    def local(self, key_rest: str) -> str:
        """The file-system path of an object, given its key below the import prefix."""
        base = self.fs_path.strip("/")
        return f"{base}/{key_rest}" if base else key_rest


@dataclass
class FileState:
    """What the file system knows of one file.

    Attributes:
        size, mtime: As imported or last loaded/exported.
        loaded: Whether its data is in the folder (``False``: metadata only, "released").
        link: The link it came through (or will be exported through).
        key: Its S3 key, if it came from S3.
        synced: ``(size, mtime_ns)`` of the local file when it last matched S3.
    """

    size: int
    mtime: float
    loaded: bool
    link: Link | None
    key: str = ""
    synced: tuple[int, int] | None = None


@dataclass
class Load:
    """One lazy load: the path, the bytes and the lab seconds the throughput model gives it."""

    path: str
    size: int
    seconds: float


@dataclass
class LustreFileSystem:
    """One Lustre file system: its folder, its links to S3 and what each file's state is."""

    root: Path
    repository: Repository
    deployment: str
    capacity_gib: int
    per_unit: int | None = None
    links: list[Link] = field(default_factory=list)
    files: dict[str, FileState] = field(default_factory=dict)
    loads: list[Load] = field(default_factory=list)
    exported: list[str] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        """Baseline MB/s (see :func:`throughput_mbps`)."""
        return throughput_mbps(self.deployment, self.capacity_gib, self.per_unit)

    # -- linking and importing -----------------------------------------------------------------
    def link(self, link: Link, *, import_metadata: bool = True) -> int:
        """Add a link; with ``import_metadata``, every object there shows up as a file."""
        for other in self.links:
            if other.fs_path.strip("/") == link.fs_path.strip("/"):
                raise LustreError(f"The file system path {link.fs_path} is already linked")
        self.links.append(link)
        return self.import_metadata(link) if import_metadata else 0

    def import_metadata(self, link: Link | None = None) -> int:
        """Import (again) the metadata of new and changed objects; returns how many."""
        count = 0
        for each in [link] if link else self.links:
            bucket, prefix = split_s3(each.import_url)
            for key, info in sorted(self.repository.list(bucket, prefix).items()):
                if key.endswith("/"):
                    continue
                path = each.local(key[len(prefix) :])
                known = self.files.get(path)
                if known is not None and (known.size, known.mtime) == (info.size, info.mtime):
                    continue
                if known is not None and known.loaded and self._dirty(path, known):
                    continue  # changed here too: the file system's copy wins until exported
                if known is not None and known.loaded:
                    (self.root / path).unlink(missing_ok=True)  # stale: load again on read
                self.files[path] = FileState(info.size, info.mtime, False, each, key)
                count += 1
        return count

    def auto_import(self) -> int:
        """What an ``AutoImportPolicy`` does when S3 changes: new and changed objects."""
        links = [link for link in self.links if link.auto_import]
        return sum(self.import_metadata(link) for link in links)

    # -- reading -------------------------------------------------------------------------------
    def _state(self, path: str) -> FileState:
        path = path.strip("/")
        state = self.files.get(path)
        if state is None and (self.root / path).is_file():
            return self._adopt(path)
        if state is None:
            raise FileNotOnFileSystemError(f"No file /{path} on the file system")
        return state

    def _adopt(self, path: str) -> FileState:
        stat = (self.root / path).stat()
        # A file written where no S3 path is linked is the file system's own (never exported).
        state = FileState(stat.st_size, stat.st_mtime, True, self._find_link(path))
        self.files[path] = state
        return state

    def _find_link(self, path: str) -> Link | None:
        best: Link | None = None
        for link in self.links:
            base = link.fs_path.strip("/")
            if (not base or path == base or path.startswith(base + "/")) and (
                best is None or len(base) > len(best.fs_path.strip("/"))
            ):
                best = link
        return best

    def _load(self, path: str) -> Path:
        state = self._state(path)
        local = self.root / path.strip("/")
        if not state.loaded:
            assert state.link is not None  # a file not loaded came from a link's S3 path
            bucket, _prefix = split_s3(state.link.import_url)
            data = self.repository.get(bucket, state.key)
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(data)
            os.utime(local, (state.mtime, state.mtime))
            state.loaded = True
            stat = local.stat()
            state.synced = (stat.st_size, stat.st_mtime_ns)
            seconds = len(data) / (self.throughput * 1_000_000) if self.throughput else 0.0
            self.loads.append(Load(path.strip("/"), len(data), seconds))
        return local

    def read_bytes(self, path: str) -> bytes:
        """A file's data, loaded from S3 first if this is its first read."""
        return self._load(path).read_bytes()

    def open(self, path: str, mode: str = "r", **kwargs: Any) -> IO[Any]:
        """``open()`` a file on the file system (loaded first when read or appended to)."""
        local = self.root / path.strip("/")
        if path.strip("/") in self.files and ("r" in mode or "a" in mode or "+" in mode):
            local = self._load(path)
        local.parent.mkdir(parents=True, exist_ok=True)
        return open(local, mode, **kwargs)

    def write_bytes(self, path: str, data: bytes) -> None:
        """Write a file on the file system (new or replaced); the next export takes it to S3."""
        local = self.root / path.strip("/")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(data)
        state = self.files.get(path.strip("/"))
        if state is not None:
            state.loaded = True

    def stat(self, path: str) -> dict[str, Any]:
        """Size, modification time and whether the data is loaded (``released`` if not)."""
        state = self._state(path)
        local = self.root / path.strip("/")
        if state.loaded and local.is_file():
            stat = local.stat()
            size, mtime = stat.st_size, stat.st_mtime
        else:
            size, mtime = state.size, state.mtime
        return {
            "size": size,
            "mtime": mtime,
            "state": ("modified" if self._dirty(path.strip("/"), state) else "loaded")
            if state.loaded
            else "released",
        }

    def listdir(self, path: str = "/") -> list[str]:
        """Names in a folder: imported files (loaded or not) and files written here."""
        base = path.strip("/")
        names: set[str] = set()
        for known in self._all_paths():
            rest = known[len(base) + 1 :] if base else known
            if base and not known.startswith(base + "/"):
                continue
            names.add(rest.split("/", 1)[0])
        return sorted(names)

    def _all_paths(self) -> Iterator[str]:
        yield from list(self.files)
        for folder, _dirs, files in os.walk(self.root):
            for name in files:
                rel = Path(folder, name).relative_to(self.root).as_posix()
                if rel not in self.files:
                    yield rel

    # -- exporting -----------------------------------------------------------------------------
    def _dirty(self, path: str, state: FileState) -> bool:
        local = self.root / path
        if not local.is_file():
            return False
        stat = local.stat()
        return state.synced != (stat.st_size, stat.st_mtime_ns)

    def export(self, paths: list[str] | None = None, *, auto: bool = False) -> list[str]:
        """Export new and changed files (under ``paths``, or all) to S3; returns their paths.

        With ``auto`` only links with an ``AutoExportPolicy`` export, and only the events it
        names (``NEW`` for files that came from nowhere, ``CHANGED`` for changed ones).
        """
        for rel in list(self._all_paths()):
            if rel not in self.files and (self.root / rel).is_file():
                self._adopt(rel).synced = None
        done = []
        for rel, state in sorted(self.files.items()):
            if paths and not any(
                rel == p.strip("/") or rel.startswith(p.strip("/") + "/") for p in paths
            ):
                continue
            if not state.loaded or not self._dirty(rel, state):
                continue
            event = "CHANGED" if state.key else "NEW"
            if state.link is None:
                continue  # under no linked path: nowhere in S3 to go
            if auto and event not in state.link.auto_export:
                continue
            bucket, prefix = split_s3(state.link.export_url)
            base = state.link.fs_path.strip("/")
            rest = rel[len(base) + 1 :] if base else rel
            local = self.root / rel
            info = self.repository.put(bucket, prefix + rest, local.read_bytes())
            stat = local.stat()
            state.synced = (stat.st_size, stat.st_mtime_ns)
            if state.link.export_url == state.link.import_url:
                # The object is this file now: a later import must not take it for a change.
                state.size, state.mtime, state.key = info.size, info.mtime, prefix + rest
            done.append(rel)
        self.exported.extend(done)
        return done

    def destroy(self) -> None:
        """Delete the folder (the file system is deleted; S3 keeps what was exported)."""
        shutil.rmtree(self.root, ignore_errors=True)
