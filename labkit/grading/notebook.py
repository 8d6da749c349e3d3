"""Grade one notebook: run it in a fresh kernel, then run its lab's checks from this package.

The grade comes from the checks installed with labkit, run on the learner's live namespace after
the notebook's own cells, never from outputs or code stored in the notebook: stored outputs are
not even sent to the kernel, the notebook's check cells are ordinary cells, and the results come
back signed over a channel the notebook cannot write to unnoticed. The submission file is read
once and never written.

:func:`grade_notebook` grades a single notebook; :mod:`labkit.grading.batch` grades many at once
on several workers (and is what ``labkit grade`` uses).
"""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from labkit.grading.inkernel import grading_cell_source
from labkit.grading.kernels import (
    INTERRUPT_GRACE,
    Kernel,
    KernelDied,
    KernelError,
    Launcher,
    ReplyTimeout,
)
from labkit.grading.results import CheckResult
from labkit.grading.tamper import claimed_passes, read_signed, static_flags
from labkit.grading.timelimit import DEFAULT_CELL_TIMEOUT as DEFAULT_CELL_TIMEOUT
from labkit.labs import catalog
from labkit.labs.spec import LabSpec

#: Wall seconds a notebook's own cells may take in all (the checks have their own limits).
DEFAULT_TIMEOUT = 600.0


@dataclass(frozen=True)
class Submission:
    """The grade of one notebook.

    Attributes:
        path: The notebook, as given.
        lab: The lab it belongs to (``None`` when that could not be told).
        results: One result per check of the lab.
        max_score: Points available in the lab.
        error: Why the notebook could not be graded fully, or ``None``.
        notes: Things worth knowing that do not stop grading.
        flags: Signs that the notebook tried to change its grade (each was undone or voided
            the result it touched); for the instructor to review.
        duration: Wall seconds grading took.
    """

    path: str
    lab: str | None
    results: tuple[CheckResult, ...] = field(default_factory=tuple)
    max_score: float = 0.0
    error: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    flags: tuple[str, ...] = field(default_factory=tuple)
    duration: float = 0.0

    @property
    def score(self) -> float:
        """Points earned."""
        return sum(r.points for r in self.results)

    @property
    def passed(self) -> bool:
        """Whether every check passed and nothing went wrong."""
        return self.error is None and bool(self.results) and all(r.passed for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``labkit grade --json``.

        ``flags`` is there only when the notebook was flagged, so the document of an ordinary
        class keeps exactly the shape it always had.
        """
        data: dict[str, Any] = {
            "path": self.path,
            "lab": self.lab,
            "score": self.score,
            "max_score": self.max_score,
            "error": self.error,
            "checks": [r.to_dict() for r in self.results],
        }
        if self.flags:
            data["flags"] = list(self.flags)
        return data

    def text(self) -> str:
        """What ``labkit grade`` prints for this notebook."""
        head = (
            f"{self.path} ({self.lab or 'unknown lab'}): {self.score:g}/{self.max_score:g} points"
        )
        lines = [head]
        if self.error:
            lines.append(f"  ⚠ ERROR {self.error}")
        lines.extend(f"  ⚑ FLAG {f}" for f in self.flags)
        lines.extend(f"  note: {n}" for n in self.notes)
        for r in self.results:
            lines.extend("  " + line for line in r.text().splitlines())
        return "\n".join(lines)


def identify_lab(nb: Any, path: Path) -> str | None:
    """Which lab a notebook belongs to: its metadata, else its file name."""
    labs = catalog()
    lab = _metadata_lab(nb)
    if lab is not None and lab in labs:
        return lab
    for spec in labs.values():
        if path.name in (Path(spec.exercise).name, Path(spec.solution).name):
            return spec.id
    return None


def _metadata_lab(nb: Any) -> str | None:
    meta = nb.get("metadata", {}).get("labkit", {})
    lab = meta.get("lab") if isinstance(meta, dict) else None
    return lab if isinstance(lab, str) and lab else None


@dataclass
class Prepared:
    """A notebook read and understood, ready to run."""

    shown: str
    spec: LabSpec
    sources: list[str]
    claimed: set[str]
    notes: list[str]
    flags: list[str]


def prepare(
    path: str | Path, *, lab: str | None = None, specs: Mapping[str, LabSpec] | None = None
) -> Prepared | Submission:
    """Read a notebook and find its lab; a :class:`Submission` with the error when that fails."""
    shown = str(path)
    file = Path(path)
    labs = dict(catalog()) if specs is None else dict(specs)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        return Submission(shown, lab, error=f"cannot read the file: {exc.strerror or exc}")
    try:
        with warnings.catch_warnings():
            # Duplicate cell ids and the like: nbformat mends them in memory, grading is not
            # affected, and the warning would only clutter the grader's output.
            warnings.simplefilter("ignore")
            nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        cells = list(nb.cells)
    except Exception as exc:  # anything a broken file can make nbformat raise
        return Submission(
            shown, lab, error=f"not a readable notebook (malformed JSON?): {_short(exc)}"
        )
    known = ", ".join(labs)
    declared = _metadata_lab(nb)
    if lab is not None:
        if lab not in labs:
            return Submission(shown, lab, error=f"there is no lab {lab!r} (known labs: {known})")
        if declared is not None and declared != lab and declared in labs:
            return Submission(
                shown,
                declared,
                error=f"this notebook is for lab {declared!r}, not {lab!r} (its metadata says "
                "so); grade it against its own lab or check it is the right file",
            )
        lab_id = lab
    elif declared is not None:
        if declared not in labs:
            return Submission(
                shown,
                declared,
                error=f"this notebook is for lab {declared!r}, which this labkit does not have "
                f"(known labs: {known}); update labkit, or pass --lab to grade it anyway",
            )
        lab_id = declared
    else:
        found = identify_lab(nb, file)
        if found is None or found not in labs:
            return Submission(
                shown,
                None,
                error=f"cannot tell which lab this notebook belongs to (known labs: {known}); "
                "pass --lab",
            )
        lab_id = found
    sources = [
        str(c.get("source", ""))
        for c in cells
        if isinstance(c, Mapping) and c.get("cell_type") == "code"
    ]
    notes = [] if sources else ["The notebook has no code cells."]
    return Prepared(
        shown=shown,
        spec=labs[lab_id],
        sources=sources,
        claimed=claimed_passes([c for c in cells if isinstance(c, Mapping)]),
        notes=notes,
        flags=static_flags(sources),
    )


def _short(exc: BaseException, limit: int = 300) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_line(source: str) -> str:
    line = next((s.strip() for s in source.splitlines() if s.strip()), "")
    return line if len(line) <= 60 else line[:59] + "…"


async def run_prepared(
    prep: Prepared,
    launcher: Launcher,
    workdir: Path,
    *,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT,
    timeout: float = DEFAULT_TIMEOUT,
    checks: Sequence[str] = (),
) -> Submission:
    """Run a prepared notebook in a fresh kernel from ``launcher`` and grade it.

    Args:
        prep: The notebook, from :func:`prepare`.
        launcher: Where kernels come from.
        workdir: An empty folder of this submission's own (the kernel works in ``work/``).
        cell_timeout: Wall seconds one cell may run before it is interrupted.
        timeout: Wall seconds all of the notebook's cells may take together.
        checks: Instructor lab specs the kernel must load (``module:NAME``).
    """
    started = time.perf_counter()
    notes = list(prep.notes)
    flags = list(prep.flags)
    (workdir / "work").mkdir(parents=True, exist_ok=True)
    try:
        kernel, key = await launcher.kernel(workdir, checks=tuple(checks))
    except KernelError as exc:
        return _done(prep, started, notes, flags, error=f"could not start a kernel: {exc}")
    try:
        error = await _run_cells(kernel, prep, cell_timeout, timeout, notes)
        if error is not None:
            return _done(prep, started, notes, flags, error=error)
        payload, error = await _run_checks(kernel, prep.spec, workdir, key)
    finally:
        await kernel.kill()
    if payload is None:
        if error and "signed" in error:
            flags.append(
                "tampering: the results the grader received did not come from labkit's checks "
                "(their signature does not match)"
            )
            error = f"the results could not be verified: {error}"
        return _done(prep, started, notes, flags, error=error)
    results = tuple(CheckResult(**r) for r in payload.get("results", []))
    notes.extend(str(n) for n in payload.get("notes", []))
    flags.extend(f"tampering: {f}" for f in payload.get("flags", []))
    passed = {r.name for r in results if r.passed}
    stale = sorted(prep.claimed - passed)
    if stale:
        listed = ", ".join(f"`{n}`" for n in stale)
        flags.append(
            f"the saved outputs show {listed} as passed, but it fails when the notebook runs "
            "(outputs pasted, edited or stale)"
        )
    return _done(prep, started, notes, flags, error=payload.get("error"), results=results)


def _done(
    prep: Prepared,
    started: float,
    notes: list[str],
    flags: list[str],
    *,
    error: str | None = None,
    results: tuple[CheckResult, ...] = (),
) -> Submission:
    return Submission(
        prep.shown,
        prep.spec.id,
        results=results,
        max_score=prep.spec.max_score,
        error=error,
        notes=tuple(dict.fromkeys(notes)),
        flags=tuple(dict.fromkeys(flags)),
        duration=time.perf_counter() - started,
    )


async def _run_cells(
    kernel: Kernel, prep: Prepared, cell_timeout: float, timeout: float, notes: list[str]
) -> str | None:
    """Run the notebook's code cells in order; an error string when the kernel is lost."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    errors: list[str] = []
    for number, source in enumerate(prep.sources, start=1):
        if not source.strip():
            continue
        where = f"code cell {number} (`{_first_line(source)}`)"
        left = deadline - loop.time()
        if left <= 0:
            notes.append(
                f"The notebook's cells ran past the {timeout:g} s limit; {where} and the cells "
                "after it were not run."
            )
            break
        limit = min(cell_timeout, left)
        msg_id = kernel.client.execute(
            source, store_history=True, allow_stdin=False, stop_on_error=False
        )
        try:
            reply = await kernel.reply(msg_id, limit)
        except KernelDied:
            return (
                f"the kernel died while running {where}: the code ended the process "
                "(os._exit, exit(), a crash or no memory left), so nothing could be checked"
            )
        except ReplyTimeout:
            out_of_time = limit < cell_timeout  # the notebook's limit, not the cell's
            await kernel.interrupt()
            try:
                await kernel.reply(msg_id, INTERRUPT_GRACE)
            except KernelDied:
                return f"the kernel died when {where} was interrupted"
            except ReplyTimeout:
                spent = f"the notebook's {timeout:g} s" if out_of_time else f"{cell_timeout:g} s"
                return (
                    f"{where} ran past {spent} limit and could not be stopped (it ignores "
                    "interrupts), so nothing could be checked"
                )
            if out_of_time:
                notes.append(
                    f"The notebook's cells ran past the {timeout:g} s limit: {where} was "
                    "interrupted and the cells after it were not run."
                )
                break
            notes.append(
                f"{where[0].upper()}{where[1:]} ran longer than {cell_timeout:g} s and was "
                "interrupted."
            )
            continue
        content = reply.get("content", {})
        if any(p.get("source") == "ask_exit" for p in content.get("payload", []) or []):
            return (
                f"{where} asked the kernel to exit (exit() or quit()), which ends the notebook "
                "there, so nothing could be checked"
            )
        if content.get("status") == "error":
            errors.append(f"{where}: {content.get('ename')}: {_clip(content.get('evalue', ''))}")
    if errors:
        shown = "; ".join(errors[:3]) + ("; …" if len(errors) > 3 else "")
        notes.append(f"{len(errors)} cell(s) raised an error while the notebook ran: {shown}")
    return None


def _clip(text: str, limit: int = 120) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def _run_checks(
    kernel: Kernel, spec: LabSpec, workdir: Path, key: str
) -> tuple[dict[str, Any] | None, str | None]:
    """Run the lab's checks in the kernel; the signed payload, or why there is none."""
    result = workdir / "result.json"
    budget = sum(c.timeout for c in spec.checks) + 60.0
    msg_id = kernel.client.execute(
        grading_cell_source(spec.id, str(result)),
        silent=True,
        store_history=False,
        allow_stdin=False,
        stop_on_error=False,
    )
    try:
        reply = await kernel.reply(msg_id, budget)
    except KernelDied:
        return None, "the kernel died while the checks ran (code a check called ended it)"
    except ReplyTimeout:
        return None, f"the checks did not finish within {budget:g} s"
    content = reply.get("content", {})
    try:
        text = result.read_text(encoding="utf-8")
    except OSError:
        if content.get("status") == "error":
            return (
                None,
                f"the checks could not run: {content.get('ename')}: "
                f"{_clip(content.get('evalue', ''))}",
            )
        return None, "the checks produced no result"
    return read_signed(text, key)


def grade_notebook(
    path: str | Path,
    *,
    lab: str | None = None,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT,
    kernel_name: str = "python3",
    timeout: float = DEFAULT_TIMEOUT,
    checks: Sequence[str] = (),
    fork: bool | None = None,
) -> Submission:
    """Execute a notebook headless in a fresh kernel and grade it with its lab's checks.

    Args:
        path: The notebook.
        lab: The lab to grade against; by default read from the notebook's metadata or name.
        cell_timeout: Wall seconds one cell may run before it is interrupted.
        kernel_name: The Jupyter kernel to run it in.
        timeout: Wall seconds the notebook's cells may take together.
        checks: Instructor lab specs to grade with (``module:NAME`` or ``file.py:NAME``).
        fork: Fork the kernel from a warm template (default: when possible).

    Returns:
        The submission's grade; problems are reported in it, never raised.
    """
    from labkit.grading.batch import grade_many

    (sub,) = grade_many(
        [path],
        workers=1,
        lab=lab,
        cell_timeout=cell_timeout,
        timeout=timeout,
        kernel_name=kernel_name,
        checks=checks,
        fork=fork,
    )
    return sub
