"""labkit assign: exercises generated from solutions, and drift detected."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from labkit.authoring.assign import assign, generate_all, strip_solutions
from labkit.errors import AssignError
from labkit.labs import catalog

ROOT = Path(__file__).resolve().parent.parent


def test_solution_blocks_become_placeholders_at_their_indentation() -> None:
    source = (
        "def f(x):\n"
        '    """Doc."""\n'
        "    ### BEGIN SOLUTION\n"
        "    y = x + 1\n"
        "    return y\n"
        "    ### END SOLUTION\n"
        "\n"
        "### BEGIN SOLUTION\n"
        "z = f(1)\n"
        "### END SOLUTION\n"
        "print('kept')"
    )
    assert strip_solutions(source) == (
        'def f(x):\n    """Doc."""\n    # YOUR CODE HERE\n    ...\n\n# YOUR CODE HERE\n...\n'
        "print('kept')"
    )


@pytest.mark.parametrize(
    "source",
    [
        "### BEGIN SOLUTION\nx = 1",
        "x = 1\n### END SOLUTION",
        "### BEGIN SOLUTION\n### BEGIN SOLUTION",
    ],
)
def test_unbalanced_markers_are_errors(source: str) -> None:
    with pytest.raises(AssignError):
        strip_solutions(source, where="demo.py")


def test_committed_notebooks_match_their_sources() -> None:
    assert assign(root=ROOT, check=True) == []


def test_generated_notebooks_have_no_outputs_and_stable_ids() -> None:
    first = generate_all(root=ROOT)
    second = generate_all(root=ROOT)
    assert [g.text for g in first] == [g.text for g in second]
    for item in first:
        nb = json.loads(item.text)
        ids = [c["id"] for c in nb["cells"]]
        assert len(ids) == len(set(ids))
        for cell in nb["cells"]:
            assert cell.get("outputs", []) == []
            assert cell.get("execution_count") is None


def test_exercises_hold_no_solution_code() -> None:
    for spec in catalog().values():
        text = (ROOT / spec.exercise).read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
        assert "YOUR CODE HERE" in text
        assert json.loads(text)["metadata"]["labkit"] == {"lab": spec.id, "role": "exercise"}


def test_check_reports_a_hand_edited_exercise(tmp_path: Path) -> None:
    for folder in ("notebooks", "solutions", "exercises"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    spec = catalog()["welcome"]
    edited = tmp_path / spec.exercise
    edited.write_text(edited.read_text(encoding="utf-8").replace("YOUR CODE HERE", "mine"))
    assert assign(root=tmp_path, check=True) == [spec.exercise]
    assert edited.read_text(encoding="utf-8").count("mine") > 0  # --check writes nothing
    assert assign(root=tmp_path) == [spec.exercise]
    assert assign(root=tmp_path, check=True) == []


def test_generated_notebooks_carry_the_metadata_jupyterlab_writes_on_opening() -> None:
    """JupyterLab copies the kernel's ``language_info`` into a notebook it opens: ipykernel's own.

    Equal metadata means opening a notebook does not mark it modified (the browser test checks
    that in JupyterLab). Only ``version`` depends on the Python: it is the course's reference one.
    """
    from ipykernel.ipkernel import IPythonKernel

    from labkit.authoring.assign import KERNELSPEC, PYTHON_VERSION

    kernel_info = {**IPythonKernel.language_info, "version": PYTHON_VERSION}
    for item in generate_all(root=ROOT):
        metadata = json.loads(item.text)["metadata"]
        assert metadata["language_info"] == kernel_info, item.path
        assert metadata["kernelspec"] == KERNELSPEC, item.path
