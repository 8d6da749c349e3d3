"""Grading sample submissions as ``labkit grade`` does, for the ``test_grade_<lab>.py`` modules.

Each sample in ``tests/submissions/<lab>/`` is a jupytext percent file of a notebook a learner
might hand in; it is written out as a ``.ipynb`` and graded in a fresh kernel.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest

from labkit.grading.batch import grade_many
from labkit.grading.notebook import Submission


def as_notebook(source: Path, into: Path) -> Path:
    """Write the sample ``source`` as a .ipynb in ``into``."""
    target = into / f"{source.stem}.ipynb"
    jupytext.write(jupytext.read(source), target, fmt="ipynb")
    return target


def grade_samples(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Submission]:
    """Every sample in the folder ``samples``, graded, by file stem."""
    folder = tmp_path_factory.mktemp(f"{samples.name}-samples")
    paths = [as_notebook(path, folder) for path in sorted(samples.glob("*.py"))]
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
