"""Grading speed: labkit grade against executing the same notebooks with ``pytest --nbval-lax``.

Measured in one run, on this machine:

1. nbval: each distinct sample notebook executed once with ``pytest --nbval-lax`` (a fresh
   pytest and kernel each, one at a time): the wall time per notebook.
2. labkit, one at a time: the same notebooks graded with one worker (each in a fresh kernel,
   then every check): wall time per notebook, with the kernel template's one-off warm-up shown
   apart and amortised over the batch.
3. labkit, a class: 100 submissions of the welcome lab (the samples, repeated) graded with the
   default workers (the machine's cores): total wall time and wall time per submission.

The samples are the welcome solution and exercise and four sample submissions (correct, and
three with typical mistakes). Run with ``make grade-bench``
(or ``.venv/bin/python benchmarks/bench_grading.py``).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jupytext

from labkit.grading.batch import default_workers, grade_many

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "submissions" / "welcome"
CLASS_SIZE = 100


def sample_notebooks(folder: Path) -> list[Path]:
    notebooks = []
    for name in ("passing_alternative", "forgot_delete", "default_visibility", "returns_response"):
        target = folder / f"{name}.ipynb"
        jupytext.write(jupytext.read(SAMPLES / f"{name}.py"), target, fmt="ipynb")
        notebooks.append(target)
    for source in ("solutions/01_welcome.ipynb", "exercises/01_welcome.ipynb"):
        target = folder / f"{Path(source).parent.name}_{Path(source).name}"
        shutil.copy(ROOT / source, target)
        notebooks.append(target)
    return notebooks


def nbval_seconds(notebook: Path) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    env["LABKIT_PROGRESS"] = "off"
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "-q",
            "-p",
            "no:cacheprovider",
            str(notebook),
        ],
        cwd=notebook.parent,
        env=env,
        capture_output=True,
        check=False,
    )
    return time.perf_counter() - started


def timed_grading(paths: list[Path], workers: int) -> tuple[float, float, list[float]]:
    """Total wall seconds, the template's warm-up seconds, and each submission's seconds."""
    from labkit.grading import kernels

    warmups: list[float] = []
    original = kernels.ForkServer.start.__func__  # type: ignore[attr-defined]

    async def recording(cls: type, **kwargs: object) -> object:
        # Wall time from asking for the template to its first kernel being possible.
        started = time.perf_counter()
        server = await original(cls, **kwargs)
        warmups.append(time.perf_counter() - started)
        return server

    kernels.ForkServer.start = classmethod(recording)  # type: ignore[assignment,method-assign]
    try:
        started = time.perf_counter()
        subs = grade_many(paths, workers=workers)
        total = time.perf_counter() - started
    finally:
        kernels.ForkServer.start = classmethod(original)  # type: ignore[assignment,method-assign]
    failed = [s for s in subs if s.error]
    if failed:
        raise SystemExit(f"grading errors: {[(s.path, s.error) for s in failed]}")
    return total, sum(warmups), [s.duration for s in subs]


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="labkit-bench-"))
    try:
        notebooks = sample_notebooks(folder)
        cpus, workers = os.cpu_count(), default_workers()
        print(f"Grading benchmark on {cpus} CPU(s), {workers} worker(s) by default")
        print(f"samples: {', '.join(p.stem for p in notebooks)}\n")

        nbval = [nbval_seconds(p) for p in notebooks]
        per_nbval = statistics.fmean(nbval)
        print(f"1. pytest --nbval-lax, one notebook at a time: {per_nbval:.2f} s per notebook")
        print("   " + ", ".join(f"{p.stem} {s:.2f}" for p, s in zip(notebooks, nbval, strict=True)))

        total, warmup, _ = timed_grading(notebooks, workers=1)
        serial = (total - warmup) / len(notebooks)
        print(
            f"2. labkit grade, one worker: {serial:.2f} s per notebook after a one-off "
            f"{warmup:.1f} s template warm-up ({total:.1f} s for {len(notebooks)} notebooks)"
        )
        amortised = serial + warmup / CLASS_SIZE
        print(
            f"   per notebook with the warm-up spread over a class of {CLASS_SIZE}: "
            f"{amortised:.2f} s = {amortised / per_nbval:.2f}x nbval"
        )

        klass = folder / "class"
        klass.mkdir()
        paths = []
        for index in range(CLASS_SIZE):
            source = notebooks[index % len(notebooks)]
            target = klass / f"learner{index:03d}" / source.name
            target.parent.mkdir()
            shutil.copy(source, target)
            paths.append(target)
        total, warmup, durations = timed_grading(paths, workers=default_workers())
        print(
            f"3. labkit grade, {CLASS_SIZE} submissions on {default_workers()} worker(s): "
            f"{total:.1f} s wall ({total / 60:.2f} min; warm-up {warmup:.1f} s), "
            f"{total / CLASS_SIZE:.2f} s per submission = {total / CLASS_SIZE / per_nbval:.2f}x "
            "nbval's time per notebook"
        )
        print(
            f"   each submission's own time (kernel fork to signed result, {default_workers()} "
            f"at once): median {statistics.median(durations):.2f} s, max {max(durations):.2f} s"
        )
        print(
            f"\nper-submission cost vs nbval: {amortised / per_nbval:.2f}x one at a time, "
            f"{total / CLASS_SIZE / per_nbval:.2f}x in a class batch (target: at most 1.3x)"
        )
        print(f"100 submissions: {total:.1f} s (target: under 180 s)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
