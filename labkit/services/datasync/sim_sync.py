"""One DataSync task execution: which files move, which are skipped, and what was verified.

As AWS documents (https://docs.aws.amazon.com/datasync/latest/userguide/API_Options.html):

- ``TransferMode=CHANGED`` (the default) moves only files that are new or whose size or
  modification time differ from the destination's; ``ALL`` moves everything;
- ``VerifyMode=POINT_IN_TIME_CONSISTENT`` (the default) checks the whole destination against the
  source at the end; ``ONLY_FILES_TRANSFERRED`` checks what moved; ``NONE`` checks nothing;
- ``PreserveDeletedFiles=PRESERVE`` (the default) keeps destination files deleted at the source;
  ``REMOVE`` deletes them;
- ``OverwriteMode=ALWAYS`` (the default) replaces changed files; ``NEVER`` leaves them;
- ``BytesPerSecond`` limits bandwidth (``-1``: as fast as the network allows); the execution
  takes ``bytes / BytesPerSecond`` seconds of lab time.

Plain Python: the source is a local folder (the on-premises NFS or SMB share) or a
:class:`Source` the patch provides (an S3 location), the destination
a :class:`Destination` the patch provides: the sandbox's S3, where each stored object carries the
file's modification time and a SHA-256 checksum in its metadata, as DataSync keeps metadata; or a
file system's folder (:class:`FolderDestination`, an EFS file system), where each file keeps the
source's modification time (``Mtime=PRESERVE``, the default of the same page).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from labkit.errors import LabkitError

#: Object metadata keys that carry a file's modification time and checksum.
MTIME = "file-mtime"
CHECKSUM = "file-sha256"


class SyncOptionError(LabkitError):
    """An option value DataSync does not accept."""

    code = "InvalidRequestException"


@dataclass(frozen=True)
class FileEntry:
    """One file: its path relative to the location's root, size and modification time."""

    path: str
    size: int
    mtime: int
    checksum: str = ""


class Source(Protocol):
    """Where files come from (an S3 location; a folder is a :class:`FolderSource`)."""

    def entries(self) -> dict[str, FileEntry]:
        """Every file there now, by relative path."""
        ...

    def read(self, path: str) -> bytes:
        """One file's data."""
        ...


class FolderSource:
    """A local folder as a source: the on-premises NFS or SMB share."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def entries(self) -> dict[str, FileEntry]:
        """Every file under the folder; raises :class:`SyncOptionError` if it is missing."""
        if not self.root.is_dir():
            raise SyncOptionError(f"the source location's folder {self.root} does not exist")
        return scan(self.root)

    def read(self, path: str) -> bytes:
        """One file's data."""
        return (self.root / path).read_bytes()


class Destination(Protocol):
    """Where files go (an S3 location, or a file system's folder)."""

    def entries(self) -> dict[str, FileEntry]:
        """Every file there now, by relative path (with the metadata it was written with)."""
        ...

    def write(self, entry: FileEntry, data: bytes) -> None:
        """Store one file with its metadata."""
        ...

    def delete(self, path: str) -> None:
        """Remove one file."""
        ...


class FolderDestination:
    """A file system's folder as a destination (an EFS file system, or a folder inside it).

    A file written here keeps the source's modification time, so the next execution compares
    size and time as it does against S3; there is no stored checksum (verification compares
    size and modification time, as for S3).
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def entries(self) -> dict[str, FileEntry]:
        """Every file under the folder (none when it does not exist yet)."""
        return scan(self.root) if self.root.is_dir() else {}

    def write(self, entry: FileEntry, data: bytes) -> None:
        """Write one file, with the source's modification time."""
        target = self.root / entry.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        os.utime(target, (entry.mtime, entry.mtime))

    def delete(self, path: str) -> None:
        """Remove one file."""
        (self.root / path).unlink(missing_ok=True)


@dataclass(frozen=True)
class Options:
    """A task's options (``Options=`` of CreateTask / StartTaskExecution)."""

    transfer_mode: str = "CHANGED"
    verify_mode: str = "POINT_IN_TIME_CONSISTENT"
    preserve_deleted_files: str = "PRESERVE"
    overwrite_mode: str = "ALWAYS"
    bytes_per_second: int = -1

    @classmethod
    def from_api(cls, raw: Mapping[str, object] | None) -> Options:
        """From the API's ``Options`` dict; raises :class:`SyncOptionError` on a bad value."""
        raw = dict(raw or {})
        allowed = {
            "TransferMode": ("CHANGED", "ALL"),
            "VerifyMode": ("POINT_IN_TIME_CONSISTENT", "ONLY_FILES_TRANSFERRED", "NONE"),
            "PreserveDeletedFiles": ("PRESERVE", "REMOVE"),
            "OverwriteMode": ("ALWAYS", "NEVER"),
        }
        for key, values in allowed.items():
            if key in raw and raw[key] not in values:
                raise SyncOptionError(f"{key} must be one of {', '.join(values)}, not {raw[key]!r}")
        rate = int(str(raw.get("BytesPerSecond", -1)))
        if rate == 0 or rate < -1:
            raise SyncOptionError(
                f"BytesPerSecond is a positive limit, or -1 for no limit; not {rate}"
            )
        return cls(
            str(raw.get("TransferMode", "CHANGED")),
            str(raw.get("VerifyMode", "POINT_IN_TIME_CONSISTENT")),
            str(raw.get("PreserveDeletedFiles", "PRESERVE")),
            str(raw.get("OverwriteMode", "ALWAYS")),
            rate,
        )


def scan(root: Path) -> dict[str, FileEntry]:
    """Every regular file under ``root`` (size and whole-second modification time)."""
    found: dict[str, FileEntry] = {}
    stack = [root]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as items:
            for item in items:
                if item.is_dir(follow_symlinks=False):
                    stack.append(Path(item.path))
                elif item.is_file(follow_symlinks=False):
                    stat = item.stat()
                    rel = Path(item.path).relative_to(root).as_posix()
                    found[rel] = FileEntry(rel, stat.st_size, int(stat.st_mtime))
    return found


def _changed(source: FileEntry, there: FileEntry | None) -> bool:
    return there is None or there.size != source.size or there.mtime != source.mtime


@dataclass
class Report:
    """What one execution did (the counters of DescribeTaskExecution).

    Attributes:
        files_transferred: Files copied.
        files_skipped: Files left alone because they were unchanged (or OverwriteMode NEVER).
        files_deleted: Destination files removed (PreserveDeletedFiles REMOVE).
        files_verified: Files whose checksum at the destination was checked.
        bytes_transferred: Bytes copied.
        verify_failures: Paths that did not match the source at verification.
        seconds: Lab seconds the transfer takes at the bandwidth limit (0 without one).
        transferred: The paths copied; skipped: the paths skipped.
    """

    files_transferred: int = 0
    files_skipped: int = 0
    files_deleted: int = 0
    files_verified: int = 0
    bytes_transferred: int = 0
    verify_failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    transferred: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """``SUCCESS``, or ``ERROR`` when verification found a difference."""
        return "ERROR" if self.verify_failures else "SUCCESS"


def _checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def run(root: Path | Source, destination: Destination, options: Options) -> Report:
    """Copy ``root`` (a folder, or another :class:`Source`) to ``destination`` as one execution
    with ``options`` would."""
    origin = FolderSource(root) if isinstance(root, Path) else root
    source = origin.entries()
    there = destination.entries()
    report = Report()
    for path in sorted(source):
        entry = source[path]
        existing = there.get(path)
        move = options.transfer_mode == "ALL" or _changed(entry, existing)
        if move and existing is not None and options.overwrite_mode == "NEVER":
            move = False
        if not move:
            report.files_skipped += 1
            report.skipped.append(path)
            continue
        data = origin.read(path)
        stored = FileEntry(path, len(data), entry.mtime, _checksum(data))
        destination.write(stored, data)
        report.files_transferred += 1
        report.bytes_transferred += len(data)
        report.transferred.append(path)
    if options.preserve_deleted_files == "REMOVE":
        for path in sorted(set(there) - set(source)):
            destination.delete(path)
            report.files_deleted += 1
    if options.verify_mode != "NONE":
        after = destination.entries()
        checked = (
            report.transferred
            if options.verify_mode == "ONLY_FILES_TRANSFERRED"
            else sorted(source)
        )
        for path in checked:
            stored_entry = after.get(path)
            if stored_entry is None or _changed(source[path], stored_entry):
                report.verify_failures.append(path)
            report.files_verified += 1
    if options.bytes_per_second > 0:
        report.seconds = report.bytes_transferred / options.bytes_per_second
    return report
