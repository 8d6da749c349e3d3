"""Glue ETL jobs as Python functions, with job bookmarks (plain Python and DuckDB, no moto).

A job's script (``Command.ScriptLocation``, a ``.py`` object in S3, as Glue takes it) defines
``main(job)``; ``StartJobRun`` calls it with a :class:`JobContext`. The context stands in for
what a Glue script gets from ``awsglue`` and Spark, in a few plain calls:

- ``job.args``: the run's arguments (``DefaultArguments`` overridden by ``Arguments``), without
  the leading ``--``;
- ``job.new_objects("s3://bucket/prefix/")``: the objects to process. With job bookmarks
  enabled (``--job-bookmark-option job-bookmark-enable``) that is only the objects no successful
  run has processed yet, as Glue's bookmarks for S3 sources do
  (https://docs.aws.amazon.com/glue/latest/dg/monitor-continuations.html); otherwise all;
- ``job.read(objects, format)``: a DuckDB relation over those objects (``json``, ``csv``,
  ``parquet``);
- ``job.sql(query, **relations)``: DuckDB SQL over relations named in the query;
- ``job.write_parquet(relation, "s3://bucket/prefix/", partition_by=[...],
  compression="snappy")``: Hive-partitioned, compressed Parquet objects written to S3, named
  ``part-<run>-<n>.<compression>.parquet`` so that a later run adds files beside them.

The bookmark (the objects processed) is committed when ``main`` returns; a run that raises
commits nothing, so its objects are processed again by the next run (``job-bookmark-pause``
reads as enabled but commits nothing).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import duckdb

from labkit.services.athena.sim_lakefs import LakeFileSystem, ObjectStore, ScanCounter, virtual_path

#: labkit's model of a run's length on the lab clock: start-up plus time per byte read.
RUN_BASE_SECONDS = 60.0
BYTES_PER_SECOND = 50 * 1024 * 1024
COMPRESSIONS = ("snappy", "gzip", "zstd", "uncompressed")
#: Attributes on moto's FakeJob (its bookmark) and FakeJobRun (what the run did).
BOOKMARK_ATTR = "_labkit_bookmark"
REPORT_ATTR = "_labkit_report"


class JobError(Exception):
    """A job script's mistake, reported as the run's ``ErrorMessage``."""


class WritableStore(ObjectStore, Protocol):
    """An object store the job can also write to."""

    def put(self, bucket: str, key: str, body: bytes) -> None:
        """Store ``body`` at ``s3://bucket/key``."""


@dataclass
class Bookmark:
    """Which objects (``s3://bucket/key`` with the size seen) successful runs have processed."""

    processed: dict[str, int] = field(default_factory=dict)


def _split(url: str) -> tuple[str, str]:
    if not url.startswith("s3://"):
        raise JobError(f"not an S3 URL: {url!r} (write it as s3://bucket/prefix/)")
    bucket, _, key = url[len("s3://") :].partition("/")
    return bucket, key


@dataclass
class RunReport:
    """What a run did: objects read and written, bytes read, its error."""

    read_objects: list[str] = field(default_factory=list)
    written_objects: list[str] = field(default_factory=list)
    bytes_read: int = 0
    error: str = ""


class JobContext:
    """What a job script's ``main(job)`` is given."""

    def __init__(
        self,
        *,
        run_id: str,
        args: dict[str, str],
        store: WritableStore,
        bookmark: Bookmark,
    ) -> None:
        self.run_id = run_id
        self.args = {k.removeprefix("--"): v for k, v in args.items()}
        option = self.args.get("job-bookmark-option", "job-bookmark-disable")
        self.bookmarks_enabled = option in ("job-bookmark-enable", "job-bookmark-pause")
        self.commit_bookmark = option == "job-bookmark-enable"
        self._store = store
        self._bookmark = bookmark
        self._counter = ScanCounter()
        self._fs = LakeFileSystem(store, self._counter)
        self.con = duckdb.connect(":memory:")
        self.con.register_filesystem(self._fs)
        self.report = RunReport()
        self._seen: dict[str, int] = {}
        self._written = 0

    def new_objects(self, url: str) -> list[str]:
        """``s3://`` URLs of the objects under ``url`` this run should process."""
        bucket, prefix = _split(url)
        try:
            listed = self._store.list(bucket, prefix)
        except KeyError as err:
            raise JobError(f"The specified bucket does not exist: {bucket}") from err
        found = []
        for key, size in listed:
            name = key.rsplit("/", 1)[-1]
            if not name or name.startswith(("_", ".")):
                continue
            where = f"s3://{bucket}/{key}"
            if self.bookmarks_enabled and self._bookmark.processed.get(where) == size:
                continue
            self._seen[where] = size
            found.append(where)
        return found

    def read(self, objects: list[str], format: str = "json") -> duckdb.DuckDBPyRelation:
        """A relation over ``objects`` (from :meth:`new_objects`) read as ``format``."""
        if not objects:
            raise JobError("no objects to read: check job.new_objects(...) first")
        paths = [virtual_path(*_split(url)) for url in objects]
        for url in objects:
            self._seen.setdefault(url, self._store.size(*_split(url)))
        self.report.read_objects += objects
        listed = "[" + ", ".join(f"'{p}'" for p in paths) + "]"
        readers = {
            "json": f"read_json({listed}, format = 'newline_delimited')",
            "csv": f"read_csv({listed})",
            "parquet": f"read_parquet({listed})",
        }
        if format not in readers:
            raise JobError(f"format {format!r}: the sandbox's jobs read json, csv or parquet")
        return self.con.sql(f"SELECT * FROM {readers[format]}")

    def sql(self, query: str, **relations: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
        """DuckDB SQL over the named relations (``job.sql("SELECT ... FROM raw", raw=rel)``)."""
        for name, relation in relations.items():
            self.con.register(name, relation)
        return self.con.sql(query)

    def write_parquet(
        self,
        relation: duckdb.DuckDBPyRelation,
        url: str,
        *,
        partition_by: list[str] | tuple[str, ...] = (),
        compression: str = "snappy",
    ) -> list[str]:
        """Write ``relation`` as Parquet under ``url``; returns the ``s3://`` URLs written."""
        bucket, prefix = _split(url)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        if compression not in COMPRESSIONS:
            raise JobError(f"compression {compression!r}: one of {', '.join(COMPRESSIONS)}")
        missing = [c for c in partition_by if c not in relation.columns]
        if missing:
            raise JobError(f"partition_by names columns the data lacks: {', '.join(missing)}")
        written = []
        with tempfile.TemporaryDirectory() as folder:
            options = f"FORMAT PARQUET, COMPRESSION {compression.upper()}"
            if partition_by:
                keys = ", ".join(f'"{c}"' for c in partition_by)
                options += f", PARTITION_BY ({keys}), FILENAME_PATTERN 'part-{{i}}'"
                target = folder
            else:
                target = os.path.join(folder, "part-0.parquet")
            self.con.register("_labkit_out", relation)
            self.con.execute(f"COPY _labkit_out TO '{target}' ({options})")
            for root, _, files in os.walk(folder):
                for file in sorted(files):
                    relative = os.path.relpath(os.path.join(root, file), folder).replace(
                        os.sep, "/"
                    )
                    stem = relative.rsplit("/", 1)
                    name = f"part-{self.run_id[-8:]}-{self._written}.{compression}.parquet"
                    self._written += 1
                    key = prefix + (f"{stem[0]}/{name}" if len(stem) == 2 else name)
                    with open(os.path.join(root, file), "rb") as handle:
                        self._store.put(bucket, key, handle.read())
                    written.append(f"s3://{bucket}/{key}")
        self.report.written_objects += written
        return written

    def finish(self, ok: bool) -> None:
        """End the run: commit the bookmark if it succeeded and bookmarks commit."""
        self.report.bytes_read = self._counter.total
        if ok and self.commit_bookmark:
            for url in self.report.read_objects:
                self._bookmark.processed[url] = self._seen.get(url, 0)
        self.con.close()


def run_script(source: str, job: JobContext) -> RunReport:
    """Run a job script (defining ``main(job)``) with ``job``; errors go in the report."""
    scope: dict[str, Any] = {"__name__": "__glue_job__", "job": job}
    ok = False
    try:
        exec(compile(source, "job_script.py", "exec"), scope)
        main: Callable[[JobContext], object] | None = scope.get("main")
        if not callable(main):
            raise JobError("the job script defines no main(job) function")
        main(job)
        ok = True
    except Exception as err:  # any failure of the script fails the run
        job.report.error = f"{type(err).__name__}: {err}"
    finally:
        job.finish(ok)
    return job.report


def run_seconds(report: RunReport) -> float:
    """How long a run takes on the lab clock (labkit's model)."""
    return RUN_BASE_SECONDS + report.bytes_read / BYTES_PER_SECOND
