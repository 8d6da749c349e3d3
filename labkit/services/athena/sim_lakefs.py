"""The file system DuckDB reads the lake through: S3 objects in-process, every byte counted.

Athena bills the bytes it reads from S3 (https://aws.amazon.com/athena/pricing/), so the sandbox
measures them where they are read: DuckDB opens each object through this fsspec file system, and
each ranged read adds what it returned to the query's counter. A Parquet query that needs two
columns of one row group reads the footer and those column chunks only, and is billed for that; a
CSV or JSON query reads whole objects. Nothing is estimated.

Paths are virtual: ``lakes3://v/<key>=<value>/.../-/<bucket>/<object key>``. The segments before
``/-/`` carry the Hive partition values the *catalog* gives the object's partition (DuckDB's
``hive_partitioning`` reads them from the path, and prunes on them before opening a file), so a
partition whose location has no ``key=value`` folders still works as in Athena.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol
from urllib.parse import quote

import fsspec  # type: ignore[import-untyped]
from fsspec.spec import AbstractBufferedFile  # type: ignore[import-untyped]

PROTOCOL = "lakes3"
_ROOT = f"{PROTOCOL}://v/"
_SPLIT = "/-/"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class ObjectStore(Protocol):
    """What the engine needs of S3: sizes, ranged reads and listings (no network)."""

    def size(self, bucket: str, key: str) -> int:
        """The object's size in bytes."""

    def read(self, bucket: str, key: str, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the object."""

    def list(self, bucket: str, prefix: str) -> list[tuple[str, int]]:
        """``(key, size)`` of every object under ``prefix``, in key order."""


class ScanLimitExceeded(Exception):
    """The query read past its workgroup's ``BytesScannedCutoffPerQuery``."""

    def __init__(self, limit: int, scanned: int) -> None:
        super().__init__(f"read {scanned} bytes, past the cutoff of {limit}")
        self.limit = limit
        self.scanned = scanned


@dataclass
class ScanCounter:
    """Bytes read per object during one query (thread-safe: DuckDB reads in parallel)."""

    limit: int | None = None
    by_path: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, path: str, count: int, size: int) -> None:
        """Count ``count`` bytes read of the object at ``path`` (``size`` bytes long).

        A range read twice (DuckDB reads a Parquet footer when it plans and again when it scans)
        counts once at most: an object never counts for more than its size, as in Athena, whose
        engine keeps what it has read.
        """
        with self._lock:
            self.by_path[path] = min(size, self.by_path.get(path, 0) + count)
            total = sum(self.by_path.values())
        if self.limit is not None and total > self.limit:
            raise ScanLimitExceeded(self.limit, total)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.by_path.values())

    def reset(self) -> None:
        with self._lock:
            self.by_path.clear()


def virtual_path(bucket: str, key: str, partition: dict[str, str] | None = None) -> str:
    """The path DuckDB is given for an object (with its catalog partition values, if any)."""
    parts = "".join(
        f"{quote(name, safe='')}={quote(value, safe='')}/"
        for name, value in (partition or {}).items()
    )
    return f"{_ROOT}{parts}-/{bucket}/{key}"


def object_of(path: str) -> tuple[str, str]:
    """``(bucket, key)`` behind a virtual path."""
    text = path.split("://", 1)[-1]
    rest = text.split(_SPLIT, 1)[1] if _SPLIT in text else text.split("/-/", 1)[-1]
    if rest.startswith("-/"):
        rest = rest[2:]
    bucket, _, key = rest.partition("/")
    return bucket, key


class _LakeFile(AbstractBufferedFile):  # type: ignore[misc]
    """One object opened for reading; every fetched range is counted."""

    def _fetch_range(self, start: int, end: int) -> bytes:
        fs: LakeFileSystem = self.fs
        if self.path in fs.memory:
            # Engine-made files (a table's empty schema file) are not S3 objects: never billed.
            return fs.memory[self.path][start:end]
        bucket, key = object_of(self.path)
        data = fs.store.read(bucket, key, start, end)
        fs.counter.add(self.path, len(data), self.size)
        return data


class LakeFileSystem(fsspec.AbstractFileSystem):  # type: ignore[misc]
    """fsspec file system over an :class:`ObjectStore`, counting the bytes read into a counter."""

    protocol = PROTOCOL
    cachable = False

    def __init__(self, store: ObjectStore, counter: ScanCounter, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store = store
        self.counter = counter
        #: Files the engine made itself, by virtual path (not in S3, not counted).
        self.memory: dict[str, bytes] = {}

    def _strip(self, path: str) -> str:
        return path if path.startswith(f"{PROTOCOL}://") else f"{PROTOCOL}://{path}"

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        full = self._strip(path)
        if full in self.memory:
            return {"name": full, "size": len(self.memory[full]), "type": "file"}
        bucket, key = object_of(full)
        try:
            size = self.store.size(bucket, key)
        except KeyError as err:
            raise FileNotFoundError(full) from err
        return {"name": full, "size": size, "type": "file"}

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        info = self.info(path)
        return [info] if detail else [info["name"]]

    def glob(self, path: str, **kwargs: Any) -> list[str]:
        # Paths given to DuckDB are exact; a glob pattern is not one of ours.
        return [self._strip(path)] if self.exists(path) else []

    def modified(self, path: str) -> datetime:
        # DuckDB asks to decide whether a cached block is stale; the lake's objects do not change
        # during one query.
        return _EPOCH

    def exists(self, path: str, **kwargs: Any) -> bool:
        try:
            self.info(path)
        except FileNotFoundError:
            return False
        return True

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> _LakeFile:
        if "r" not in mode:
            raise PermissionError("the lake is read-only to queries")
        full = self._strip(path)
        # No read-ahead: a read of n bytes fetches n bytes, so the counter is what DuckDB asked for.
        size = self.info(full)["size"]
        return _LakeFile(self, full, mode, block_size=0, cache_type="none", size=size)


StoreFactory = Callable[[], ObjectStore]
