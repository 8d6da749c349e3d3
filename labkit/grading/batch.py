"""Grade a class: many notebooks on several workers, each in a fresh kernel of its own.

``labkit grade`` calls :func:`grade_many`. Folders are searched for notebooks; every submission
gets its own kernel (forked from a warm template where possible, see
:mod:`labkit.grading.kernels`), its own working folder and a wall-time limit; a submission that
breaks (bad JSON, a dying kernel, an endless loop) gets a clear error and the others are graded
as usual. Nothing is written next to the submissions: kernels work in a temporary folder that is
removed at the end.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from labkit.errors import UnknownLabError
from labkit.grading.kernels import grading_env, start_launcher
from labkit.grading.notebook import (
    DEFAULT_CELL_TIMEOUT,
    DEFAULT_TIMEOUT,
    Prepared,
    Submission,
    prepare,
    run_prepared,
)
from labkit.labs import catalog
from labkit.labs.spec import LabSpec


def default_workers() -> int:
    """The machine's cores available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def collect(paths: Sequence[str | Path]) -> list[Path | Submission]:
    """The notebooks to grade, in the order given: files as they are, folders searched.

    Folders are searched recursively for ``*.ipynb``, skipping hidden folders (such as
    ``.ipynb_checkpoints``). A path that does not exist becomes a :class:`Submission` with the
    error; a notebook named twice is graded once.
    """
    found: list[Path | Submission] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            found.append(path)

    for item in paths:
        path = Path(item)
        if path.is_dir():
            for notebook in sorted(path.rglob("*.ipynb")):
                relative = notebook.relative_to(path).parts
                if not any(part.startswith(".") for part in relative):
                    add(notebook)
        elif path.exists():
            add(path)
        else:
            found.append(Submission(str(item), None, error="no such file or folder"))
    return found


class Progress:
    """A progress line on stderr: redrawn in place on a terminal, one line per notebook otherwise.

    Args:
        total: How many notebooks will be graded.
        stream: Where to write (stderr by default).
        enabled: Write nothing when false.
    """

    def __init__(self, total: int, *, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and total > 0
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done_count = 0
        self.failing = 0
        self.errors = 0
        self.flagged = 0
        self.started = time.monotonic()

    def message(self, text: str) -> None:
        """A line of its own (a note about the run)."""
        if self.enabled:
            self._clear()
            self.stream.write(text + "\n")
            self.stream.flush()

    def update(self, sub: Submission) -> None:
        """Count one graded notebook."""
        self.done_count += 1
        self.failing += not sub.passed
        self.errors += sub.error is not None
        self.flagged += bool(sub.flags)
        if not self.enabled:
            return
        if self.tty:
            width = 24
            filled = width * self.done_count // self.total
            bar = "#" * filled + "." * (width - filled)
            self.stream.write(f"\r[{bar}] {self._counts()}")
        else:
            state = "error" if sub.error else "passed" if sub.passed else "failing"
            flag = ", FLAGGED" if sub.flags else ""
            self.stream.write(
                f"[{self.done_count}/{self.total}] {sub.path}: {sub.score:g}/{sub.max_score:g} "
                f"({state}{flag})\n"
            )
        self.stream.flush()

    def finish(self) -> None:
        """End the progress display with a summary line."""
        if not self.enabled:
            return
        self._clear()
        self.stream.write(f"Graded {self._counts()}\n")
        self.stream.flush()

    def _counts(self) -> str:
        elapsed = time.monotonic() - self.started
        text = (
            f"{self.done_count}/{self.total} notebooks, {self.failing} not fully passing, "
            f"{self.errors} error(s), {self.flagged} flagged, {_clock(elapsed)}"
        )
        if 0 < self.done_count < self.total:
            left = elapsed / self.done_count * (self.total - self.done_count)
            text += f", about {_clock(left)} left"
        return text

    def _clear(self) -> None:
        if self.tty and self.done_count:
            self.stream.write("\r\x1b[K")


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


async def grade_async(
    paths: Sequence[str | Path],
    *,
    workers: int | None = None,
    lab: str | None = None,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT,
    timeout: float = DEFAULT_TIMEOUT,
    kernel_name: str = "python3",
    checks: Sequence[str] = (),
    fork: bool | None = None,
    progress: Progress | None = None,
) -> list[Submission]:
    """Grade notebooks concurrently; see :func:`grade_many` (this is its ``async`` form)."""
    from labkit.grading.tamper import load_spec

    specs: dict[str, LabSpec] = dict(catalog())
    for ref in checks:
        spec, _ = load_spec(ref)
        specs[spec.id] = spec
    if lab is not None and lab not in specs:
        raise UnknownLabError(lab, list(specs))
    slots: list[Path | Submission | Prepared] = []
    for item in collect(paths):
        slots.append(item if isinstance(item, Submission) else prepare(item, lab=lab, specs=specs))
    results: list[Submission | None] = [s if isinstance(s, Submission) else None for s in slots]
    pending = [(i, s) for i, s in enumerate(slots) if isinstance(s, Prepared)]
    if progress is None:
        progress = Progress(len(slots), enabled=False)
    for sub in results:
        if sub is not None:
            progress.update(sub)
    if pending:
        runtime = Path(tempfile.mkdtemp(prefix="labkit-grade-"))
        try:
            env = grading_env(home=runtime)
            launcher, why = await start_launcher(
                env=env, runtime=runtime, kernel_name=kernel_name, checks=tuple(checks), fork=fork
            )
            if why:
                progress.message(f"note: kernels start the ordinary (slower) way: {why}")
            queue: asyncio.Queue[tuple[int, Prepared]] = asyncio.Queue()
            for job in pending:
                queue.put_nowait(job)

            async def worker() -> None:
                while True:
                    try:
                        index, prep = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    sub = await run_prepared(
                        prep,
                        launcher,
                        runtime / f"{index:05d}",
                        cell_timeout=cell_timeout,
                        timeout=timeout,
                        checks=checks,
                    )
                    results[index] = sub
                    progress.update(sub)

            count = max(1, min(workers or default_workers(), len(pending)))
            try:
                await asyncio.gather(*(worker() for _ in range(count)))
            finally:
                await launcher.close()
        finally:
            shutil.rmtree(runtime, ignore_errors=True)
    progress.finish()
    return [sub for sub in results if sub is not None]


def grade_many(
    paths: Sequence[str | Path],
    *,
    workers: int | None = None,
    lab: str | None = None,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT,
    timeout: float = DEFAULT_TIMEOUT,
    kernel_name: str = "python3",
    checks: Sequence[str] = (),
    fork: bool | None = None,
    progress: Progress | None = None,
) -> list[Submission]:
    """Grade notebooks (files or folders of them), several at a time.

    Args:
        paths: Notebooks and folders of notebooks.
        workers: How many notebooks run at once (default: the machine's cores).
        lab: Grade every notebook against this lab (default: each notebook's own).
        cell_timeout: Wall seconds one cell may run before it is interrupted.
        timeout: Wall seconds all of a notebook's cells may take together.
        kernel_name: The Jupyter kernel to run them in.
        checks: Instructor lab specs to grade with (``module:NAME`` or ``file.py:NAME``); a
            spec replaces the course's lab of the same id.
        fork: Fork kernels from a warm template (default: when possible here).
        progress: Where to show progress (default: nowhere).

    Returns:
        One :class:`Submission` per notebook, in the order found; problems with a notebook are
        reported in it, never raised.

    Raises:
        LabkitError: For an unknown ``lab`` or a ``checks`` reference that cannot be loaded.
    """
    work = grade_async(
        paths,
        workers=workers,
        lab=lab,
        cell_timeout=cell_timeout,
        timeout=timeout,
        kernel_name=kernel_name,
        checks=checks,
        fork=fork,
        progress=progress,
    )
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    # Called from a running event loop (a Jupyter notebook): grade on a thread of its own.
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = asyncio.run(work)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, name="labkit-grade")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    result: list[Submission] = box["result"]
    return result
