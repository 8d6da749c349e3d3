"""Tamper resistance: a notebook is graded on its real work, whatever it does to the grading.

Two layers are tested:

- the guard on its own, in this process: it notices each kind of change to labkit (a replaced
  function, a patched class attribute, swapped code, a mutated frozen check, a rebound builtin,
  a replaced module) and puts the original back;
- whole notebooks graded by ``labkit grade``'s machinery: the sample submissions in
  ``tests/submissions/welcome/tamper/`` each try one way to change their grade, and notebooks
  built here paste passing outputs, edit or delete their check cells, and reorder or duplicate
  cells. Each must get the grade its real work earns, and be flagged where it tried to change it.
"""

from __future__ import annotations

import builtins
import copy
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import jupytext
import nbformat
import pytest

import labkit.grading.runner as runner_module
import labkit.labs.welcome as welcome_module
from labkit.grading.batch import grade_many
from labkit.grading.notebook import Submission
from labkit.grading.results import CheckResult
from labkit.grading.tamper import Guard, claimed_passes, read_signed, static_flags
from labkit.labs import catalog

ROOT = Path(__file__).resolve().parent.parent
TAMPER = Path(__file__).resolve().parent / "submissions" / "welcome" / "tamper"
SOLUTION = ROOT / "solutions" / "01_welcome.ipynb"
EXERCISE = ROOT / "exercises" / "01_welcome.ipynb"


# -- the guard on its own ----------------------------------------------------------------------
@pytest.fixture
def guard() -> Iterator[Guard]:
    """A guard over this process's labkit; whatever a test changed is put back afterwards."""
    guard = Guard("test-key", dict(catalog()))
    yield guard
    guard.verify()


def test_an_untouched_labkit_has_nothing_to_report(guard: Guard) -> None:
    assert guard.verify() == []


def test_replaced_functions_and_patched_classes_are_reported_and_put_back(guard: Guard) -> None:
    original_run_check = runner_module.run_check
    original_passed = vars(CheckResult)["passed"]
    runner_module.run_check = lambda *a, **k: None
    CheckResult.passed = property(lambda self: True)  # type: ignore[method-assign,assignment]
    # A name added to a module's globals shadows the builtin for that module's code.
    runner_module.isinstance = lambda *a: True  # type: ignore[attr-defined]

    found = guard.verify()

    assert "labkit.grading.runner.run_check was replaced" in found
    assert "labkit.grading.results.CheckResult.passed was replaced" in found
    assert "labkit.grading.runner.isinstance was added" in found
    assert runner_module.run_check is original_run_check
    assert vars(CheckResult)["passed"] is original_passed
    assert "isinstance" not in vars(runner_module)
    assert guard.verify() == []


def test_swapped_code_mutated_checks_builtins_and_modules_are_put_back(guard: Guard) -> None:
    check_code = welcome_module.check_inbox_queue.__code__
    first = welcome_module.LAB.checks[0]
    points = first.points
    original_sorted = builtins.sorted
    results = sys.modules["labkit.grading.results"]

    welcome_module.check_inbox_queue.__code__ = (lambda ctx: None).__code__
    object.__setattr__(first, "points", 100)
    builtins.sorted = lambda values: []  # type: ignore[assignment]
    sys.modules["labkit.grading.results"] = object()  # type: ignore[assignment]

    found = guard.verify()

    assert "the code of labkit.labs.welcome.check_inbox_queue was changed" in found
    assert "check 'inbox_queue' of the 'welcome' lab was changed" in found
    assert "the builtin sorted was replaced" in found
    assert "sys.modules['labkit.grading.results'] was replaced" in found
    assert welcome_module.check_inbox_queue.__code__ is check_code
    assert first.points == points
    assert builtins.sorted is original_sorted
    assert sys.modules["labkit.grading.results"] is results


def test_the_guard_works_even_when_the_builtins_it_needs_were_replaced(guard: Guard) -> None:
    original = builtins.sorted, builtins.set, builtins.len
    builtins.sorted = lambda values: ["garbage"]  # type: ignore[assignment]
    builtins.set = lambda *a: {"garbage"}  # type: ignore[assignment,misc]
    builtins.len = lambda value: -1  # type: ignore[assignment]
    try:
        found = guard.verify()
    finally:
        builtins.sorted, builtins.set, builtins.len = original  # type: ignore[misc]
    assert {"the builtin sorted was replaced", "the builtin len was replaced"} <= set(found)


def test_results_are_signed_and_forgeries_are_refused(guard: Guard, tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    guard.write_signed(target, {"lab": "welcome", "results": []})
    payload, why = read_signed(target.read_text(), "test-key")
    assert why is None and payload == {"lab": "welcome", "results": []}

    payload, why = read_signed(target.read_text(), "another-key")
    assert payload is None and why is not None and "signed" in why

    forged = target.read_text().replace('\\"results\\": []', '\\"results\\": [1]')
    assert forged != target.read_text()
    payload, why = read_signed(forged, "test-key")
    assert payload is None and why is not None


def test_the_results_file_never_follows_a_planted_link(guard: Guard, tmp_path: Path) -> None:
    victim = tmp_path / "submission.ipynb"
    victim.write_text("learner's notebook")
    (tmp_path / "result.json.part").symlink_to(victim)
    guard.write_signed(tmp_path / "result.json", {"lab": "welcome"})
    assert victim.read_text() == "learner's notebook"
    assert not (tmp_path / "result.json").is_symlink()


def test_static_flags_name_the_grading_internals_a_notebook_touches() -> None:
    assert static_flags(["s3.create_bucket(Bucket='x')", "lab.check('notes_bucket')"]) == []
    (flag,) = static_flags(["import labkit.grading.runner as r\nr.run_check = f"])
    assert "`labkit.grading.runner`" in flag and "`run_check`" in flag


def test_claimed_passes_reads_text_and_html_outputs() -> None:
    passed = CheckResult("welcome", "inbox_queue", "t", "passed", 1, 1, "Well done.")
    failed = CheckResult("welcome", "handle_one", "t", "failed", 0, 2, "No.")
    cells = [
        {"outputs": [{"output_type": "stream", "text": passed.text()}]},
        {"outputs": [{"output_type": "display_data", "data": {"text/html": passed._repr_html_()}}]},
        {"outputs": [{"output_type": "display_data", "data": {"text/html": failed._repr_html_()}}]},
    ]
    assert claimed_passes(cells) == {"inbox_queue"}


# -- whole notebooks -------------------------------------------------------------------------
def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def code_cell_index(nb: nbformat.NotebookNode, needle: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and needle in c.source)


def pasted_outputs(folder: Path) -> Path:
    """The unfinished exercise with passing results pasted under every check cell."""
    nb = nbformat.read(EXERCISE, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "lab.check(" in cell.source:
            name = cell.source.split('lab.check("', 1)[1].split('"', 1)[0]
            result = CheckResult("welcome", name, name, "passed", 1, 1, "Well done.")
            cell.outputs = [
                nbformat.v4.new_output(
                    "execute_result",
                    data={"text/plain": result.text(), "text/html": result._repr_html_()},
                    execution_count=1,
                )
            ]
    target = folder / "pasted_outputs.ipynb"
    nbformat.write(nb, target)
    return target


def edited_check_cells(folder: Path) -> Path:
    """The exercise with every check cell replaced by a print that claims a pass."""
    nb = nbformat.read(EXERCISE, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "lab.check(" in cell.source:
            cell.source = 'print("✔ PASSED (all of them)")'
        elif cell.cell_type == "code" and "lab.score()" in cell.source:
            cell.source = 'print("4/4 points")'
    target = folder / "edited_checks.ipynb"
    nbformat.write(nb, target)
    return target


def deleted_check_cells(folder: Path) -> Path:
    """The solution with every check and score cell removed."""
    nb = nbformat.read(SOLUTION, as_version=4)
    nb.cells = [
        c
        for c in nb.cells
        if not (c.cell_type == "code" and ("lab.check(" in c.source or "lab.score(" in c.source))
    ]
    target = folder / "deleted_checks.ipynb"
    nbformat.write(nb, target)
    return target


def reordered_and_duplicated(folder: Path) -> Path:
    """The solution with the check cells moved to the top (before anything is defined), every
    cell duplicated with the same cell id, and a wrong create_inbox placed before the right one."""
    nb = nbformat.read(SOLUTION, as_version=4)
    checks = [c for c in nb.cells if c.cell_type == "code" and "lab.check(" in c.source]
    rest = [c for c in nb.cells if c not in checks]
    wrong = copy.deepcopy(nb.cells[code_cell_index(nb, "def create_inbox")])
    wrong.source = "def create_inbox(sqs):\n    return 'wrong'\n"
    ordered = checks + rest
    at = next(i for i, c in enumerate(ordered) if "def create_inbox" in c.source)
    ordered.insert(at, wrong)
    nb.cells = [copy.deepcopy(c) for c in ordered for _ in range(2)]
    target = folder / "reordered.ipynb"
    # Written as raw JSON: nbformat.write would quietly renumber the duplicated cell ids.
    target.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    assert len({c["id"] for c in nb.cells}) < len(nb.cells)
    return target


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Submission]:
    folder = tmp_path_factory.mktemp("tamper")
    paths = []
    for source in sorted(TAMPER.glob("*.py")):
        target = folder / f"{source.stem}.ipynb"
        jupytext.write(jupytext.read(source), target, fmt="ipynb")
        paths.append(target)
    paths += [
        pasted_outputs(folder),
        edited_check_cells(folder),
        deleted_check_cells(folder),
        reordered_and_duplicated(folder),
    ]
    before = {p: digest(p) for p in paths}
    subs = grade_many(paths, workers=2, cell_timeout=60)
    assert {p: digest(p) for p in paths} == before, "grading wrote to a submission"
    return {Path(s.path).stem: s for s in subs}


def statuses(sub: Submission) -> dict[str, str]:
    return {r.name: r.status for r in sub.results}


def tampering(sub: Submission) -> str:
    return "\n".join(f for f in sub.flags if f.startswith("tampering: "))


def test_replacing_the_check_runner_everywhere_changes_nothing(
    graded: dict[str, Submission],
) -> None:
    sub = graded["patch_runner"]
    assert sub.error is None
    assert set(statuses(sub).values()) == {"failed"} and sub.score == 0
    flags = tampering(sub)
    assert "labkit.grading.runner.run_check was replaced" in flags
    assert "labkit.lab.run_check was replaced" in flags
    assert "labkit.lab.Lab.grade was replaced" in flags


def test_patching_results_to_look_passed_changes_nothing(graded: dict[str, Submission]) -> None:
    sub = graded["patch_results"]
    assert statuses(sub) == {
        "inbox_queue": "passed",
        "handle_one": "failed",
        "notes_bucket": "passed",
    }
    assert sub.score == 2
    flags = tampering(sub)
    assert "CheckResult.passed was replaced" in flags
    assert "labkit.grading.results.as_json_ready was replaced" in flags


def test_neutering_the_labs_checks_and_builtins_changes_nothing(
    graded: dict[str, Submission],
) -> None:
    sub = graded["patch_checks"]
    assert sub.error is None
    assert statuses(sub)["handle_one"] == "failed"
    assert sub.score == 2 and sub.max_score == 4
    flags = tampering(sub)
    assert "the code of labkit.labs.welcome.check_handle_one was changed" in flags
    assert "check 'handle_one' of the 'welcome' lab was changed" in flags
    assert "labkit.labs.get_lab was replaced" in flags
    assert "the builtin sorted was replaced" in flags


def test_tampering_from_inside_a_check_voids_that_check(graded: dict[str, Submission]) -> None:
    sub = graded["patch_during_check"]
    assert statuses(sub) == {
        "inbox_queue": "passed",
        "handle_one": "error",
        "notes_bucket": "passed",
    }
    assert sub.score == 2
    assert "while check 'handle_one' ran" in tampering(sub)


def test_replacing_the_grading_entry_point_is_undone(graded: dict[str, Submission]) -> None:
    sub = graded["replace_grade_here"]
    assert sub.error is None
    assert set(statuses(sub).values()) == {"failed"} and sub.score == 0
    assert "labkit.grading.inkernel.grade_here was replaced" in tampering(sub)


def test_forged_results_are_refused_and_flagged(graded: dict[str, Submission]) -> None:
    sub = graded["forge_results"]
    assert sub.score == 0 and not sub.results
    assert sub.error is not None and "could not be verified" in sub.error
    assert "signature" in tampering(sub)


def test_watching_the_grader_is_refused_and_flagged(graded: dict[str, Submission]) -> None:
    sub = graded["hooks"]
    assert sub.score == 4 and sub.passed
    flags = tampering(sub)
    assert "audit hook (refused)" in flags
    assert "sys.settrace" in flags


def test_pasted_passing_outputs_do_not_count_and_are_flagged(
    graded: dict[str, Submission],
) -> None:
    sub = graded["pasted_outputs"]
    assert sub.error is None and sub.score == 0
    assert any("saved outputs show" in f and "`inbox_queue`" in f for f in sub.flags)


def test_edited_check_cells_do_not_change_the_grade(graded: dict[str, Submission]) -> None:
    sub = graded["edited_checks"]
    assert sub.error is None and sub.score == 0
    assert not tampering(sub)


def test_deleted_check_cells_do_not_change_the_grade(graded: dict[str, Submission]) -> None:
    sub = graded["deleted_checks"]
    assert sub.passed and sub.score == 4
    assert not sub.flags and not sub.notes


def test_reordered_and_duplicated_cells_are_graded_on_the_final_state(
    graded: dict[str, Submission],
) -> None:
    sub = graded["reordered"]
    assert sub.error is None
    # The check cells ran first (before anything was defined) and raised; the final state of
    # the notebook is right, so every check passes.
    assert sub.passed and sub.score == 4, sub.text()
    assert any("raised an error" in n for n in sub.notes)


def test_the_json_report_carries_flags_only_for_flagged_notebooks(
    graded: dict[str, Submission],
) -> None:
    flagged = graded["patch_runner"].to_dict()
    assert any("run_check was replaced" in f for f in flagged["flags"])
    assert "flags" not in graded["deleted_checks"].to_dict()


def test_kernels_started_the_ordinary_way_are_guarded_too(tmp_path: Path) -> None:
    notebook = tmp_path / "patch_runner.ipynb"
    jupytext.write(jupytext.read(TAMPER / "patch_runner.py"), notebook, fmt="ipynb")
    (sub,) = grade_many([notebook], workers=1, fork=False, cell_timeout=60)
    assert sub.error is None and sub.score == 0
    assert "labkit.grading.runner.run_check was replaced" in tampering(sub)
