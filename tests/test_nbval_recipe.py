"""The nbval recipe of the sample CI workflow grades a notebook: it fails exactly on wrong answers.

The test reads the nbval step of ``.github/workflows/grade.yml`` and runs that command, with its
environment, on two sample submissions (``tests/submissions/welcome/nbval/``): every answer right
(every cell passes), and one answer wrong (the run fails, and the only failing cells are the
check cells that look at that answer). It also checks what the README promises: without
``LABKIT_CHECKS`` set, check cells fail under pytest anyway.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "grade.yml"
SAMPLES = Path(__file__).resolve().parent / "submissions" / "welcome" / "nbval"


def nbval_step() -> dict[str, Any]:
    steps = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["grade"]["steps"]
    (step,) = [s for s in steps if "--nbval-lax" in s.get("run", "")]
    return dict(step)


def run_recipe(notebook: Path, tmp_path: Path, *, env: dict[str, str]) -> tuple[int, list[str]]:
    """Run the workflow's nbval command on ``notebook``; the exit code and the failed cells."""
    command = shlex.split(nbval_step()["run"].replace('"$SUBMISSIONS"', shlex.quote(str(notebook))))
    report = tmp_path / f"{notebook.stem}.xml"
    done = subprocess.run(
        [*command, f"--junitxml={report}", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    failed = [
        case.get("name", "")
        for case in ET.parse(report).getroot().iter("testcase")
        if case.find("failure") is not None or case.find("error") is not None
    ]
    return done.returncode, failed


def clean_env(**extra: str) -> dict[str, str]:
    # The kernel of the run must not inherit this test session's settings.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTEST_CURRENT_TEST", "LABKIT_CHECKS", "PYTEST_ADDOPTS")
    }
    env.update(extra)
    return env


def as_notebook(name: str, folder: Path) -> Path:
    target = folder / f"{name}.ipynb"
    jupytext.write(jupytext.read(SAMPLES / f"{name}.py"), target, fmt="ipynb")
    return target


def cell_sources(notebook: Path) -> list[str]:
    """Code cells' sources in nbval's numbering (its "Cell N" counts code cells from 0)."""
    nb = nbformat.read(notebook, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


def failed_sources(notebook: Path, failed: list[str]) -> list[str]:
    sources = cell_sources(notebook)
    return [sources[int(name.rsplit(" ", 1)[-1])] for name in failed]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nbval")


def test_the_workflow_runs_nbval_with_failing_check_cells() -> None:
    step = nbval_step()
    assert step["env"]["LABKIT_CHECKS"] == "raise"
    assert step["run"].startswith(".venv/bin/pytest --nbval-lax")


def test_a_correct_notebook_passes(workdir: Path) -> None:
    notebook = as_notebook("correct", workdir)
    code, failed = run_recipe(notebook, workdir, env=clean_env(**nbval_step()["env"]))
    assert code == 0 and failed == []


def test_a_wrong_answer_fails_exactly_its_check_cells(workdir: Path) -> None:
    notebook = as_notebook("wrong_visibility", workdir)
    code, failed = run_recipe(notebook, workdir, env=clean_env(**nbval_step()["env"]))
    assert code == 1
    assert failed_sources(notebook, failed) == ['lab.check("inbox_queue")', "lab.score()"]


def test_check_cells_fail_under_pytest_even_without_labkit_checks_set(workdir: Path) -> None:
    notebook = as_notebook("wrong_visibility", workdir)
    code, failed = run_recipe(notebook, workdir, env=clean_env())
    assert code == 1
    assert 'lab.check("inbox_queue")' in failed_sources(notebook, failed)
