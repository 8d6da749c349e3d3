"""Grade notebooks: run each in a fresh kernel, then run its lab's checks from this package.

The grade comes from the checks installed with labkit, run on the learner's live namespace after
the notebook's own cells, never from outputs stored in the notebook. The submission file is read
once and never written.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from labkit.errors import LabkitError
from labkit.grading.inkernel import MARKER_END, MARKER_START, grading_cell_source
from labkit.grading.results import CheckResult
from labkit.labs import catalog, get_lab

DEFAULT_CELL_TIMEOUT = 120.0


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
    """

    path: str
    lab: str | None
    results: tuple[CheckResult, ...] = field(default_factory=tuple)
    max_score: float = 0.0
    error: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def score(self) -> float:
        """Points earned."""
        return sum(r.points for r in self.results)

    @property
    def passed(self) -> bool:
        """Whether every check passed and nothing went wrong."""
        return self.error is None and bool(self.results) and all(r.passed for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``labkit grade --json``."""
        return {
            "path": self.path,
            "lab": self.lab,
            "score": self.score,
            "max_score": self.max_score,
            "error": self.error,
            "checks": [r.to_dict() for r in self.results],
        }

    def text(self) -> str:
        """What ``labkit grade`` prints for this notebook."""
        head = (
            f"{self.path} ({self.lab or 'unknown lab'}): {self.score:g}/{self.max_score:g} points"
        )
        lines = [head]
        if self.error:
            lines.append(f"  ⚠ ERROR {self.error}")
        lines.extend(f"  note: {n}" for n in self.notes)
        for r in self.results:
            lines.extend("  " + line for line in r.text().splitlines())
        return "\n".join(lines)


def identify_lab(nb: Any, path: Path) -> str | None:
    """Which lab a notebook belongs to: its metadata, else its file name."""
    meta = nb.get("metadata", {}).get("labkit", {})
    lab = meta.get("lab") if isinstance(meta, dict) else None
    labs = catalog()
    if isinstance(lab, str) and lab in labs:
        return lab
    for spec in labs.values():
        if path.name in (Path(spec.exercise).name, Path(spec.solution).name):
            return spec.id
    return None


def grade_notebook(
    path: str | Path,
    *,
    lab: str | None = None,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT,
    kernel_name: str = "python3",
) -> Submission:
    """Execute a notebook headless in a fresh kernel and grade it with its lab's checks.

    Args:
        path: The notebook.
        lab: The lab to grade against; by default read from the notebook's metadata or name.
        cell_timeout: Wall seconds one cell may run before it is interrupted.
        kernel_name: The Jupyter kernel to run it in.

    Returns:
        The submission's grade; problems are reported in it, never raised.
    """
    shown = str(path)
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        return Submission(shown, lab, error=f"cannot read the file: {exc.strerror or exc}")
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        return Submission(shown, lab, error=f"not a readable notebook (malformed JSON?): {exc}")
    lab_id = lab or identify_lab(nb, file)
    if lab_id is None:
        known = ", ".join(catalog())
        return Submission(
            shown,
            None,
            error=f"cannot tell which lab this notebook belongs to (known labs: {known}); "
            "pass --lab",
        )
    try:
        spec = get_lab(lab_id)
    except LabkitError as exc:
        return Submission(shown, lab_id, error=str(exc))
    code_cells = [c for c in nb.cells if c.get("cell_type") == "code"]
    notes: list[str] = []
    if not code_cells:
        notes.append("The notebook has no code cells.")
    payload, error = _execute(nb, file, lab_id, cell_timeout, kernel_name, notes)
    results: tuple[CheckResult, ...] = ()
    if payload is not None:
        results = tuple(CheckResult(**r) for r in payload["results"])
        notes.extend(payload.get("notes", []))
    return Submission(
        shown,
        lab_id,
        results=results,
        max_score=spec.max_score,
        error=error,
        notes=tuple(notes),
    )


def _kernel_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"LABKIT_CHECKS": "show", "LABKIT_PROGRESS": "off"})
    # The grader may itself run under pytest; the kernel must not think it is nbval.
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


def _execute(
    nb: Any, file: Path, lab_id: str, cell_timeout: float, kernel_name: str, notes: list[str]
) -> tuple[dict[str, Any] | None, str | None]:
    for cell in nb.cells:  # stored outputs never count: start from none
        if cell.get("cell_type") == "code":
            cell.outputs = []
            cell.execution_count = None
    client = NotebookClient(
        nb,
        timeout=cell_timeout,
        kernel_name=kernel_name,
        allow_errors=True,
        interrupt_on_timeout=True,
        # The kernel's own start-up chatter (e.g. its TCP transport warning) is not the
        # grader's business.
        extra_arguments=["--log-level=ERROR"],
        resources={"metadata": {"path": str(file.parent.resolve())}},
    )
    failed_cells = 0
    try:
        with client.setup_kernel(env=_kernel_env()):
            for index, cell in enumerate(list(nb.cells)):
                if cell.get("cell_type") != "code":
                    continue
                try:
                    client.execute_cell(cell, index)
                except CellTimeoutError:
                    notes.append(
                        f"Cell {index + 1} ran longer than {cell_timeout:g} s and was stopped."
                    )
                if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
                    failed_cells += 1
            grading = nbformat.v4.new_code_cell(grading_cell_source(lab_id))
            nb.cells.append(grading)
            client.execute_cell(grading, len(nb.cells) - 1)
    except DeadKernelError:
        return None, "the kernel died while running the notebook (os._exit, a crash or no memory)"
    except CellTimeoutError:
        return None, f"grading took longer than {cell_timeout:g} s"
    except Exception as exc:  # a kernel that cannot start, a broken environment
        return None, f"could not run the notebook: {type(exc).__name__}: {exc}"
    if failed_cells:
        notes.append(f"{failed_cells} cell(s) raised an error while the notebook ran.")
    return _read_payload(nb.cells[-1])


_PAYLOAD = re.compile(re.escape(MARKER_START) + r"(.*?)" + re.escape(MARKER_END), re.S)


def _read_payload(cell: Any) -> tuple[dict[str, Any] | None, str | None]:
    text = "".join(
        o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream"
    )
    match = _PAYLOAD.search(text)
    if match:
        return json.loads(match.group(1)), None
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if errors:
        return (
            None,
            f"the checks could not run: {errors[0].get('ename')}: {errors[0].get('evalue')}",
        )
    return None, "the checks produced no result"
