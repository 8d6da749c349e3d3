"""EMR step scripts written with the PySpark API, run by sqlframe over DuckDB on the sandbox's S3.

A step ``spark-submit s3://bucket/job.py arg ...`` runs an unchanged PySpark script: its
``from pyspark.sql import SparkSession`` and ``from pyspark.sql import functions as F`` resolve,
*for that script only*, to sqlframe (https://github.com/eakmanrq/sqlframe: the PySpark DataFrame
API translated to SQL and executed by DuckDB). Nothing is swapped in ``sys.modules``: the
script's own ``__import__`` routes ``pyspark.*``, so a notebook that imports real PySpark is left
alone.

``spark.read`` and ``df.write`` take ``s3://`` paths as Spark on EMR does:

- a read of ``s3://bucket/prefix`` reads every object under the prefix as a folder (names starting
  with ``_`` or ``.`` skipped, as Hadoop's input formats do; a ``*`` glob in the path works), with
  Hive partition folders (``day=2026-01-05/``) as columns; bytes come through the same counting
  file system Athena reads with (:mod:`labkit.services.athena.sim_lakefs`), so the step knows
  what it read;
- a write to ``s3://bucket/prefix`` honours the save mode (``errorifexists``, Spark's default,
  ``overwrite``, ``append``, ``ignore``), ``partitionBy`` (``key=value/`` folders, the column
  left out of the files) and ``compression``, and stores ``part-00000-<uuid>.c000.<codec>.parquet``
  objects and an empty ``_SUCCESS`` marker, named as Spark names them.

No network is used: every byte goes through the sandbox's in-process S3.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import sys
import tempfile
import traceback
import types
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import cached_property
from typing import Any, Protocol

import duckdb
import sqlframe
from sqlframe.base.session import _BaseSession
from sqlframe.duckdb import (
    Column,
    DuckDBDataFrame,
    DuckDBDataFrameReader,
    DuckDBDataFrameWriter,
    DuckDBGroupedData,
    DuckDBSession,
    Row,
    Window,
    WindowSpec,
)
from sqlframe.duckdb import functions as sqlframe_functions
from sqlframe.duckdb import types as sqlframe_types

from labkit.services.athena.sim_lakefs import LakeFileSystem, ObjectStore, ScanCounter, virtual_path

ENGINE = "sqlframe"
SAVE_MODES = ("errorifexists", "error", "overwrite", "append", "ignore")
#: Spark's file suffix for each output format and compression codec.
_PARQUET_CODECS = {"snappy": "snappy", "gzip": "gz", "zstd": "zstd", "none": "", "uncompressed": ""}
_TEXT_CODECS = {"none": "", "uncompressed": "", "gzip": "gz"}
#: Reader options Spark takes that change nothing here (DuckDB infers types and header lines).
_IGNORED_READ_OPTIONS = {"inferSchema", "mode", "samplingRatio", "recursiveFileLookup"}


def engine_name() -> str:
    """What runs a step by default, as its log states it."""
    return (
        f"sqlframe {_version(sqlframe)} (the PySpark DataFrame API) on DuckDB {duckdb.__version__}"
    )


def _version(module: Any) -> str:
    try:
        from importlib.metadata import version

        return version(module.__name__)
    except Exception:  # an editable or vendored install without metadata
        return "unknown"


class WritableStore(ObjectStore, Protocol):
    """The sandbox's S3 as a step needs it: read, list, write and delete objects."""

    def put(self, bucket: str, key: str, body: bytes) -> None:
        """Store ``body`` at ``s3://bucket/key``."""

    def delete(self, bucket: str, key: str) -> None:
        """Delete ``s3://bucket/key``."""


class AnalysisException(Exception):
    """What Spark raises for a path that does not exist or an output path already written."""


# A script's traceback names it as PySpark does.
AnalysisException.__module__ = "pyspark.errors"


def split_url(url: str) -> tuple[str, str]:
    """``(bucket, key)`` of an ``s3://`` (or ``s3a://``/``s3n://``) URL."""
    for scheme in ("s3://", "s3a://", "s3n://"):
        if url.startswith(scheme):
            bucket, _, key = url[len(scheme) :].partition("/")
            return bucket, key
    raise AnalysisException(f"not an S3 path: {url!r} (the sandbox's EMR reads s3://bucket/key)")


def _is_s3(path: object) -> bool:
    return isinstance(path, str) and path.startswith(("s3://", "s3a://", "s3n://"))


def _hidden(relative: str) -> bool:
    return any(part.startswith(("_", ".")) for part in relative.split("/") if part)


@dataclass
class StepIO:
    """What one script run read and wrote (the step's log and its modeled length use it)."""

    store: WritableStore
    counter: ScanCounter = field(default_factory=ScanCounter)
    read_paths: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    def objects(self, url: str) -> list[tuple[str, str]]:
        """``(bucket, key)`` of the objects a read of ``url`` covers, in key order."""
        bucket, key = split_url(url)
        pattern = "*" in key or "?" in key
        prefix = key.split("*", 1)[0].split("?", 1)[0] if pattern else key
        try:
            listed = self.store.list(bucket, prefix.rsplit("/", 1)[0] if pattern else prefix)
        except KeyError as err:
            raise AnalysisException(f"[PATH_NOT_FOUND] Path does not exist: {url}.") from err
        found: list[tuple[str, str]] = []
        for name, size in listed:
            if pattern:
                base = name.split("/")
                depth = len(key.rstrip("/").split("/"))
                if not fnmatchcase("/".join(base[:depth]), key.rstrip("/")):
                    continue
                relative = "/".join(base[depth - 1 :])
            elif name == key:
                relative = name.rsplit("/", 1)[-1]
            elif name.startswith(key.rstrip("/") + "/") or not key:
                relative = name[len(key.rstrip("/")) :]
            else:
                continue
            if _hidden(relative) or name.endswith("/") or name.endswith("_$folder$"):
                continue
            if size == 0 and name.endswith("/"):
                continue
            found.append((bucket, name))
        if not found:
            raise AnalysisException(f"[PATH_NOT_FOUND] Path does not exist: {url}.")
        return found


class LakeReader(DuckDBDataFrameReader):
    """``spark.read`` over ``s3://`` paths in the sandbox's S3."""

    def load(
        self,
        path: str | list[str] | None = None,
        format: str | None = None,
        schema: Any = None,
        **options: Any,
    ) -> DuckDBDataFrame:
        paths = [path] if isinstance(path, str) else list(path or [])
        if not any(_is_s3(p) for p in paths):
            return super().load(path=path, format=format, schema=schema, **options)
        io_: StepIO = self.session._labkit_io  # type: ignore[attr-defined]
        merged = {**self.state_options, **options}
        fmt = (format or self.state_format_to_read or "parquet").lower()
        virtual: list[str] = []
        hive = False
        for url in paths:
            io_.read_paths.append(url)
            for bucket, key in io_.objects(url):
                virtual.append(virtual_path(bucket, key))
                hive = hive or any("=" in part for part in key.split("/")[:-1])
        engine_options: dict[str, Any] = {}
        for name, value in merged.items():
            if name in _IGNORED_READ_OPTIONS:
                continue
            if fmt == "csv" and name == "header":
                engine_options["header"] = str(value).lower() == "true"
            elif fmt == "csv" and name in ("sep", "delimiter"):
                engine_options["delim"] = value
            elif fmt == "json" and name == "multiLine":
                engine_options["format"] = "array" if str(value).lower() == "true" else "auto"
            else:
                raise AnalysisException(
                    f"the sandbox's Spark engine does not take the read option {name!r} "
                    f"(it takes header and sep for CSV, multiLine for JSON)"
                )
        header = False
        if fmt == "csv":
            # As Spark: the first line is data unless header is true, and every column is a
            # string unless inferSchema is true.
            header = bool(engine_options.setdefault("header", False))
            if str(merged.get("inferSchema", "false")).lower() != "true" and schema is None:
                engine_options["all_varchar"] = True
        if hive:
            engine_options["hive_partitioning"] = True
        self.state_options = {}
        loaded = super().load(path=virtual, format=fmt, schema=schema, **engine_options)
        if fmt == "csv" and not header and schema is None:
            # Spark names a header-less CSV file's columns _c0, _c1, ...
            loaded = loaded.toDF(*[f"_c{n}" for n in range(len(loaded.columns))])
        return loaded


class LakeWriter(DuckDBDataFrameWriter):
    """``df.write`` to ``s3://`` paths: save modes, ``partitionBy``, Spark's file names."""

    def __init__(self, *args: Any, labkit_partition_by: tuple[str, ...] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        # sqlframe's copy() passes every attribute back to __init__ without its underscore.
        self._labkit_partition_by = tuple(labkit_partition_by)

    def partitionBy(self, *cols: str | list[str]) -> LakeWriter:
        """Write one ``column=value/`` folder per value of ``cols`` (PySpark's method)."""
        flat: list[str] = []
        for col in cols:
            flat += [col] if isinstance(col, str) else list(col)
        made: LakeWriter = self.copy(_labkit_partition_by=tuple(flat))
        return made

    def saveAsTable(
        self, name: str, format: str | None = None, mode: str | None = None
    ) -> LakeWriter:
        raise AnalysisException(
            "saveAsTable needs a metastore the sandbox's EMR does not run: write files with "
            "df.write.parquet('s3://bucket/prefix/') and catalog them with Glue"
        )

    def _write(self, path: str, mode: str | None, format: str = "parquet", **options: Any) -> None:
        io_: StepIO = self._df.session._labkit_io
        if not _is_s3(path):
            raise AnalysisException(
                f"write to {path!r}: steps in the sandbox write to s3://bucket/prefix/ paths"
            )
        mode = (mode or "errorifexists").lower()
        if mode not in SAVE_MODES:
            raise AnalysisException(f"Unknown save mode: {mode}. Accepted: {', '.join(SAVE_MODES)}")
        bucket, prefix = split_url(path)
        prefix = prefix.rstrip("/") + "/" if prefix else ""
        try:
            existing = [k for k, _ in io_.store.list(bucket, prefix)]
        except KeyError as err:
            raise AnalysisException(f"The specified bucket does not exist: {bucket}") from err
        if existing and mode in ("error", "errorifexists"):
            raise AnalysisException(
                f'[PATH_ALREADY_EXISTS] Path {path} already exists. Set mode as "overwrite" '
                "to overwrite the existing path."
            )
        if existing and mode == "ignore":
            return
        partition_by = list(self._labkit_partition_by)
        given = options.pop("partitionBy", None)
        if given:
            partition_by += [given] if isinstance(given, str) else list(given)
        fmt = format.lower()
        codec = str(options.pop("compression", "snappy" if fmt == "parquet" else "none")).lower()
        header = str(options.pop("header", "false")).lower() == "true"
        sep = options.pop("sep", None) or options.pop("delimiter", None)
        if options:
            raise AnalysisException(
                f"the sandbox's Spark engine does not take the write option(s) "
                f"{', '.join(sorted(options))}"
            )
        copy_options = self._copy_options(fmt, codec, header, sep)
        missing = [c for c in partition_by if c not in self._df.columns]
        if missing:
            raise AnalysisException(
                f"[UNRESOLVED_COLUMN] partition column(s) {', '.join(missing)} not in the "
                f"DataFrame's columns {', '.join(self._df.columns)}"
            )
        if partition_by:
            keys = ", ".join(f'"{c}"' for c in partition_by)
            copy_options += f", PARTITION_BY ({keys}), FILENAME_PATTERN 'part-{{i}}'"
        session = self._df.session
        expressions = self._df._get_expressions()
        for expression in expressions[:-1]:
            session._execute(session._to_sql(expression))
        sql = session._to_sql(expressions[-1])
        suffix = _suffix(fmt, codec)
        with tempfile.TemporaryDirectory() as folder:
            target = folder if partition_by else os.path.join(folder, "part-0")
            session._execute(f"COPY ({sql}) TO '{target}' ({copy_options})")
            made = _files(folder)
            if mode == "overwrite":
                for key in existing:
                    io_.store.delete(bucket, key)
            job = uuid.uuid4()
            for n, (relative, local) in enumerate(made):
                folder_part = relative.rsplit("/", 1)[0] + "/" if "/" in relative else ""
                key = f"{prefix}{folder_part}part-{n:05d}-{job}.c000{suffix}"
                with open(local, "rb") as handle:
                    io_.store.put(bucket, key, handle.read())
                io_.written.append(f"s3://{bucket}/{key}")
        io_.store.put(bucket, f"{prefix}_SUCCESS", b"")

    @staticmethod
    def _copy_options(fmt: str, codec: str, header: bool, sep: object) -> str:
        if fmt == "parquet":
            if codec not in _PARQUET_CODECS:
                raise AnalysisException(
                    f"Codec [{codec}] is not available for Parquet. Available codecs are "
                    f"{', '.join(_PARQUET_CODECS)}."
                )
            name = "uncompressed" if codec in ("none", "uncompressed") else codec
            return f"FORMAT PARQUET, COMPRESSION {name.upper()}"
        if codec not in _TEXT_CODECS:
            raise AnalysisException(f"Codec [{codec}] is not available here: none or gzip.")
        compression = "GZIP" if codec == "gzip" else "NONE"
        if fmt == "json":
            return f"FORMAT JSON, COMPRESSION {compression}"
        if fmt == "csv":
            delim = str(sep or ",").replace("'", "''")
            return (
                f"FORMAT CSV, HEADER {'true' if header else 'false'}, DELIMITER '{delim}', "
                f"COMPRESSION {compression}"
            )
        raise AnalysisException(
            f"the sandbox's Spark engine writes parquet, json or csv, not {fmt!r}"
        )


def _suffix(fmt: str, codec: str) -> str:
    if fmt == "parquet":
        code = _PARQUET_CODECS.get(codec, "")
        return f".{code}.parquet" if code else ".parquet"
    code = _TEXT_CODECS.get(codec, "")
    return f".{fmt}.{code}" if code else f".{fmt}"


def _files(folder: str) -> list[tuple[str, str]]:
    found = []
    for root, _, names in os.walk(folder):
        for name in sorted(names):
            local = os.path.join(root, name)
            found.append((os.path.relpath(local, folder).replace(os.sep, "/"), local))
    return sorted(found)


def _session_class(conn: duckdb.DuckDBPyConnection, io_: StepIO) -> type[DuckDBSession]:
    """A ``SparkSession`` class whose sessions read and write the sandbox's S3."""

    class SparkSession(DuckDBSession):
        _reader = LakeReader
        _writer = LakeWriter

        class Builder(DuckDBSession.Builder):
            @cached_property
            def session(self) -> SparkSession:
                made = SparkSession(conn=conn)
                made._labkit_io = io_  # type: ignore[attr-defined]
                return made

        builder = Builder()  # type: ignore[no-untyped-call]

    return SparkSession


def _module(name: str, **attrs: Any) -> types.ModuleType:
    made = types.ModuleType(name)
    made.__dict__.update(attrs)
    return made


def pyspark_modules(session_class: type[DuckDBSession]) -> dict[str, types.ModuleType]:
    """The ``pyspark`` modules a script sees, by dotted name, each pointing at sqlframe."""
    errors = _module("pyspark.errors", AnalysisException=AnalysisException)
    utils = _module("pyspark.sql.utils", AnalysisException=AnalysisException)
    window = _module("pyspark.sql.window", Window=Window, WindowSpec=WindowSpec)
    sql = _module(
        "pyspark.sql",
        SparkSession=session_class,
        DataFrame=DuckDBDataFrame,
        Column=Column,
        Row=Row,
        GroupedData=DuckDBGroupedData,
        DataFrameReader=LakeReader,
        DataFrameWriter=LakeWriter,
        Window=Window,
        WindowSpec=WindowSpec,
        functions=sqlframe_functions,
        types=sqlframe_types,
        window=window,
        utils=utils,
    )
    session = _module("pyspark.sql.session", SparkSession=session_class)
    dataframe = _module("pyspark.sql.dataframe", DataFrame=DuckDBDataFrame)
    column = _module("pyspark.sql.column", Column=Column)
    sql.session = session  # type: ignore[attr-defined]
    sql.dataframe = dataframe  # type: ignore[attr-defined]
    sql.column = column  # type: ignore[attr-defined]
    root = _module("pyspark", sql=sql, errors=errors, __version__="sqlframe")
    return {
        "pyspark": root,
        "pyspark.sql": sql,
        "pyspark.sql.functions": sqlframe_functions,
        "pyspark.sql.types": sqlframe_types,
        "pyspark.sql.window": window,
        "pyspark.sql.utils": utils,
        "pyspark.sql.session": session,
        "pyspark.sql.dataframe": dataframe,
        "pyspark.sql.column": column,
        "pyspark.errors": errors,
    }


def _importer(modules: dict[str, types.ModuleType]) -> Callable[..., Any]:
    real = builtins.__import__

    def scoped_import(
        name: str,
        globals: dict[str, Any] | None = None,
        locals: dict[str, Any] | None = None,
        fromlist: tuple[str, ...] | None = (),
        level: int = 0,
    ) -> Any:
        if level == 0 and (name == "pyspark" or name.startswith("pyspark.")):
            found = modules.get(name)
            if found is None:
                raise ModuleNotFoundError(
                    f"No module named {name!r} in the sandbox's PySpark engine (sqlframe): it "
                    f"has {', '.join(sorted(modules))}"
                )
            return found if fromlist else modules["pyspark"]
        return real(name, globals, locals, fromlist, level)

    return scoped_import


@dataclass
class ScriptOutcome:
    """What running a step's script did."""

    engine: str
    stdout: str = ""
    stderr: str = ""
    error: str = ""
    traceback: str = ""
    bytes_read: int = 0
    read_paths: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error


@contextlib.contextmanager
def _argv(argv: list[str]) -> Iterator[None]:
    saved = sys.argv
    sys.argv = argv
    try:
        yield
    finally:
        sys.argv = saved


def _failed(outcome: ScriptOutcome, failure: BaseException) -> None:
    if isinstance(failure, SystemExit):
        outcome.error = f"SystemExit: the script exited with status {failure.code}"
    else:
        outcome.error = f"{type(failure).__name__}: {failure}"
    lines = traceback.format_exception(type(failure), failure, failure.__traceback__)
    # Frames of labkit and sqlframe are not the learner's: keep the script's own.
    outcome.traceback = "".join(
        line
        for line in lines
        if "site-packages" not in line and f"labkit{os.sep}services" not in line
    )


def run_script(
    source: str, script_url: str, args: list[str], store: WritableStore
) -> ScriptOutcome:
    """Run a PySpark script's ``source`` with ``args`` on sqlframe over the sandbox's S3.

    The script runs as ``__main__`` (its ``if __name__ == "__main__":`` block runs) with
    ``sys.argv`` set as ``spark-submit`` sets it. Any exception fails the run; its type and
    message are the outcome's ``error``.
    """
    io_ = StepIO(store)
    outcome = ScriptOutcome(engine=engine_name())
    conn = duckdb.connect(":memory:")
    conn.register_filesystem(LakeFileSystem(store, io_.counter))
    session_class = _session_class(conn, io_)
    scoped = dict(vars(builtins))
    scoped["__import__"] = _importer(pyspark_modules(session_class))
    scope: dict[str, Any] = {"__name__": "__main__", "__file__": script_url, "__builtins__": scoped}
    out, err = io.StringIO(), io.StringIO()
    saved = _BaseSession._instance
    _BaseSession._instance = None
    try:
        with (
            _argv([script_url, *args]),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            exec(compile(source, script_url, "exec"), scope)
    except (Exception, SystemExit) as failure:  # any failure of the script fails the step
        # sys.exit() or sys.exit(0): spark-submit exits 0 and the step succeeds.
        if not (isinstance(failure, SystemExit) and failure.code in (None, 0)):
            _failed(outcome, failure)
    finally:
        _BaseSession._instance = saved
        with contextlib.suppress(Exception):
            conn.close()
    outcome.stdout = out.getvalue()
    outcome.stderr = err.getvalue()
    outcome.bytes_read = io_.counter.total
    outcome.read_paths = io_.read_paths
    outcome.written = io_.written
    return outcome
