"""Grading sample submissions as ``labkit grade`` does, for the ``test_grade_<lab>.py`` modules.

Each sample in ``tests/submissions/<lab>/`` is a jupytext percent file of a notebook a learner
might hand in; it is written out as a ``.ipynb`` and graded in a fresh kernel.

A sample's cells that only ask for checks (``lab.check("name")``, ``lab.score()``) are left out
by default: the grader runs every check itself after the notebook's cells and ignores what those
cells printed, so running them first cost a capstone sample its checks twice more (two thirds of
its CPU) and changed no grade. That a notebook which runs its check cells before the grader is
graded the same is proved per lab by ``tests/test_labs.py`` (every solution calls its checks).

Samples of one lab that share the same cells (the helpers a learner wrote once and calls with
the right or the wrong arguments) keep them in one file beside them, ``parts/<name>.py``: a
code cell of comments with a line ``# sample-include: parts/<name>.py`` stands for that file's
cells, put in its place when the notebook is written out. The graded notebook is the whole
one a learner would hand in; the sample files differ only in what they are about.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import jupytext
import pytest

from labkit.grading.batch import grade_many
from labkit.grading.notebook import Submission

#: The ``Lab`` methods that only run checks and show their results.
CHECK_CALLS = frozenset({"check", "check_all", "score"})


def only_asks_for_checks(source: str) -> bool:
    """Whether a code cell does nothing but call ``<lab>.check(...)`` or ``<lab>.score(...)``."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return bool(body) and all(
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute)
        and isinstance(node.value.func.value, ast.Name)
        and node.value.func.attr in CHECK_CALLS
        for node in body
    )


#: The line of a code cell that stands for the cells of another file (relative to the sample).
INCLUDE = re.compile(r"# sample-include: (?P<path>\S+)")


def _included(cell: Any) -> str | None:
    """The path a cell of comments only includes (``None`` for any other cell)."""
    lines = cell.source.strip().splitlines() if cell.cell_type == "code" else []
    if not lines or not all(line.startswith("#") for line in lines):
        return None
    paths = [m["path"] for m in map(INCLUDE.fullmatch, lines) if m is not None]
    return paths[0] if len(paths) == 1 else None


def with_includes(notebook: Any, folder: Path) -> Any:
    """``notebook`` with each ``# sample-include: <path>`` cell replaced by that file's cells."""
    cells: list[Any] = []
    for cell in notebook.cells:
        path = _included(cell)
        if path is None:
            cells.append(cell)
            continue
        part = folder / path
        if not part.is_file():
            raise FileNotFoundError(f"{folder.name}: the included part {path} is missing")
        cells += jupytext.read(part).cells
    notebook.cells = cells
    return notebook


def as_notebook(source: Path, into: Path, *, check_cells: bool = True) -> Path:
    """Write the sample ``source`` as a .ipynb in ``into`` (its included parts in place; without
    its check-only cells unless ``check_cells``)."""
    notebook = with_includes(jupytext.read(source), source.parent)
    if not check_cells:
        notebook.cells = [
            cell
            for cell in notebook.cells
            if cell.cell_type != "code" or not only_asks_for_checks(cell.source)
        ]
    target = into / f"{source.stem}.ipynb"
    jupytext.write(notebook, target, fmt="ipynb")
    return target


def grade_samples(
    samples: Path, tmp_path_factory: pytest.TempPathFactory, *, check_cells: bool = False
) -> dict[str, Submission]:
    """Every sample in the folder ``samples``, graded, by file stem.

    Args:
        samples: The folder of jupytext percent samples.
        tmp_path_factory: pytest's, for the notebooks written out.
        check_cells: Keep the cells that only call ``lab.check``/``lab.score`` (see the module
            docstring for why they are left out by default).
    """
    folder = tmp_path_factory.mktemp(f"{samples.name}-samples")
    paths = [
        as_notebook(path, folder, check_cells=check_cells) for path in sorted(samples.glob("*.py"))
    ]
    # As `labkit grade` grades a class: one kernel template, each sample in a fresh fork of it.
    # One worker: xdist runs the grading modules side by side.
    return {Path(sub.path).stem: sub for sub in grade_many(paths, workers=1, cell_timeout=120)}


def statuses(sub: Submission) -> dict[str, str]:
    """Each check's status in ``sub``, by check name."""
    return {r.name: r.status for r in sub.results}


def said(sub: Submission, name: str) -> str:
    """What the check ``name`` told the learner: its message and its hint."""
    result = next(r for r in sub.results if r.name == name)
    return f"{result.message} Hint: {result.hint}"
