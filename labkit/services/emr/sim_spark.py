"""The same step scripts on real Apache Spark in local mode, when pyspark is installed.

With ``LABKIT_EMR_ENGINE=spark`` (and the optional extra ``spark``: ``pip install labkit[spark]``,
Java 17 or newer) a step's script runs unchanged under real PySpark, ``local[*]``, in a child
process. Spark cannot reach the sandbox's S3 (that would need the hadoop-aws connector and a
network endpoint), so the buckets the script and its arguments name are mirrored to a temporary
folder, every ``s3://bucket/key`` path given to ``spark.read`` or ``df.write`` is read or written
there, and what the job wrote (new, changed or deleted files; Hadoop's ``.crc`` checksum files
left out) is copied back to S3 when it ends. The step's log says so.

``LABKIT_SPARK_PYTHON`` names a Python that has pyspark, when it is not this one's.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile

from labkit.services.emr.sim_pyspark import ScriptOutcome, WritableStore

#: ``LABKIT_EMR_ENGINE=spark`` runs steps on real Spark; anything else, or nothing, on sqlframe.
ENGINE_ENV = "LABKIT_EMR_ENGINE"
PYTHON_ENV = "LABKIT_SPARK_PYTHON"
#: A real Spark job's wall-clock limit here (a local run of a lesson's job takes seconds).
TIMEOUT_SECONDS = 900
_BUCKETS = re.compile(r"s3[an]?://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(?:/|\b)")

# Runs in the child: maps s3:// paths to the mirror, runs the script as __main__, says how it went.
_WRAPPER = r"""
import json, os, runpy, sys, traceback
root, result_file, script, url = sys.argv[1:5]
sys.argv = [url, *sys.argv[5:]]

def local(path):
    if isinstance(path, str):
        for scheme in ("s3://", "s3a://", "s3n://"):
            if path.startswith(scheme):
                return "file://" + os.path.join(root, path[len(scheme):])
        return path
    if isinstance(path, (list, tuple)):
        return [local(p) for p in path]
    return path

def mapped(method):
    def call(self, *args, **kwargs):
        args = [local(a) if i == 0 or method.__name__ == "parquet" else a
                for i, a in enumerate(args)]
        if "path" in kwargs:
            kwargs["path"] = local(kwargs["path"])
        return method(self, *args, **kwargs)
    call.__name__ = method.__name__
    return call

import pyspark
from pyspark.sql.readwriter import DataFrameReader, DataFrameWriter
for cls, names in ((DataFrameReader, ("load", "json", "csv", "parquet", "text", "orc")),
                   (DataFrameWriter, ("save", "json", "csv", "parquet", "text", "orc"))):
    for name in names:
        setattr(cls, name, mapped(getattr(cls, name)))
outcome = {"version": pyspark.__version__, "error": "", "traceback": ""}
try:
    runpy.run_path(script, run_name="__main__")
except SystemExit as stop:
    if stop.code not in (None, 0):
        outcome["error"] = f"SystemExit: the script exited with status {stop.code}"
except BaseException as failure:
    outcome["error"] = f"{type(failure).__name__}: {failure}".splitlines()[0]
    outcome["traceback"] = traceback.format_exc()
finally:
    try:
        from pyspark.sql import SparkSession
        active = SparkSession.getActiveSession()
        if active is not None:
            active.stop()
    except Exception:
        pass
    with open(result_file, "w") as handle:
        json.dump(outcome, handle)
"""


def python() -> str:
    """The Python that runs real Spark."""
    return os.environ.get(PYTHON_ENV) or sys.executable


def available() -> bool:
    """Whether real pyspark can run here (in this Python, or the one :data:`PYTHON_ENV` names)."""
    if os.environ.get(PYTHON_ENV):
        return os.path.exists(os.environ[PYTHON_ENV])
    return importlib.util.find_spec("pyspark") is not None


def chosen_engine() -> str:
    """``"spark"`` when asked for with :data:`ENGINE_ENV`, otherwise ``"sqlframe"``."""
    return "spark" if os.environ.get(ENGINE_ENV, "").lower() == "spark" else "sqlframe"


def _mirror(store: WritableStore, buckets: set[str], root: str) -> dict[str, int]:
    seen: dict[str, int] = {}
    for bucket in sorted(buckets):
        try:
            listed = store.list(bucket, "")
        except KeyError:
            continue
        for key, size in listed:
            if key.endswith("/"):
                continue
            local = os.path.join(root, bucket, *key.split("/"))
            os.makedirs(os.path.dirname(local), exist_ok=True)
            with open(local, "wb") as handle:
                handle.write(store.read(bucket, key, 0, size))
            seen[f"{bucket}/{key}"] = os.stat(local).st_mtime_ns
    return seen


def _sync_back(store: WritableStore, root: str, before: dict[str, int]) -> list[str]:
    written: list[str] = []
    now: dict[str, int] = {}
    for folder, _, names in os.walk(root):
        for name in names:
            if name.endswith(".crc"):
                continue  # Hadoop's local checksum files: S3 has none
            local = os.path.join(folder, name)
            relative = os.path.relpath(local, root).replace(os.sep, "/")
            now[relative] = os.stat(local).st_mtime_ns
            if before.get(relative) != now[relative]:
                bucket, _, key = relative.partition("/")
                with open(local, "rb") as handle:
                    store.put(bucket, key, handle.read())
                written.append(f"s3://{relative}")
    for relative in sorted(set(before) - set(now)):
        bucket, _, key = relative.partition("/")
        store.delete(bucket, key)
    return sorted(written)


def run_script(
    source: str, script_url: str, args: list[str], store: WritableStore
) -> ScriptOutcome:
    """Run the script on real Spark in local mode over a mirror of the buckets it names."""
    outcome = ScriptOutcome(engine="Apache Spark (pyspark), local mode")
    if not available():
        outcome.error = (
            "ModuleNotFoundError: LABKIT_EMR_ENGINE=spark, but pyspark is not installed "
            "(pip install 'labkit[spark]', with Java 17 or newer)"
        )
        return outcome
    buckets = set(_BUCKETS.findall(" ".join([source, script_url, *args])))
    with tempfile.TemporaryDirectory() as folder:
        root = os.path.join(folder, "s3")
        os.makedirs(root)
        before = _mirror(store, buckets, root)
        script = os.path.join(folder, "script.py")
        wrapper = os.path.join(folder, "wrapper.py")
        result_file = os.path.join(folder, "result.json")
        with open(script, "w", encoding="utf-8") as handle:
            handle.write(source)
        with open(wrapper, "w", encoding="utf-8") as handle:
            handle.write(_WRAPPER)
        env = dict(os.environ)
        env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        env["PYSPARK_SUBMIT_ARGS"] = (
            "--master local[*] --conf spark.ui.enabled=false "
            "--conf spark.sql.session.timeZone=UTC pyspark-shell"
        )
        try:
            done = subprocess.run(
                [python(), wrapper, root, result_file, script, script_url, *args],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                env=env,
                cwd=folder,
            )
        except subprocess.TimeoutExpired:
            outcome.error = f"TimeoutError: Spark ran past {TIMEOUT_SECONDS} s"
            return outcome
        outcome.stdout, outcome.stderr = done.stdout, done.stderr
        try:
            with open(result_file, encoding="utf-8") as handle:
                result = json.load(handle)
        except (OSError, ValueError):
            outcome.error = f"SparkError: Spark exited with status {done.returncode}"
            return outcome
        outcome.engine = f"Apache Spark {result['version']} (pyspark), local mode"
        outcome.error = result["error"]
        outcome.traceback = result["traceback"]
        outcome.read_paths = sorted(f"s3://{b}/" for b in buckets)
        if outcome.ok:
            outcome.written = _sync_back(store, root, before)
    return outcome
