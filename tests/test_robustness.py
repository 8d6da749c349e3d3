"""One broken submission never spoils a batch.

Malformed JSON, a file that is JSON but no notebook, an empty notebook, a notebook of another
lab, a missing file, a kernel that dies (``os._exit``, ``exit()``), an endless loop that stops
on an interrupt and one that does not, a cell that prints 100 MB, a notebook slower than its
time limit, a notebook that writes files: each gets a clear error or a score, and the good
notebooks in the same batch are graded as usual. Grading writes nothing into the submissions'
folder.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nbformat
import pytest

from labkit.grading.batch import grade_many
from labkit.grading.notebook import Submission

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "01_welcome.ipynb"
CELL_TIMEOUT = 6.0
TIMEOUT = 30.0


def with_cell(folder: Path, name: str, source: str, *, at: int = 4) -> Path:
    """The worked solution with one extra code cell at position ``at``."""
    nb = nbformat.read(SOLUTION, as_version=4)
    nb.cells.insert(at, nbformat.v4.new_code_cell(source))
    target = folder / f"{name}.ipynb"
    nbformat.write(nb, target)
    return target


def raw(folder: Path, name: str, text: str) -> Path:
    target = folder / f"{name}.ipynb"
    target.write_text(text, encoding="utf-8")
    return target


def empty_notebook(lab: str) -> str:
    return json.dumps(
        {"cells": [], "metadata": {"labkit": {"lab": lab}}, "nbformat": 4, "nbformat_minor": 5}
    )


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Submission], list[str]]:
    folder = tmp_path_factory.mktemp("class")
    paths = [
        raw(folder, "malformed", '{"cells": [, "nbformat": 4'),
        raw(folder, "not_a_notebook", "[1, 2, 3]"),
        raw(folder, "empty", empty_notebook("welcome")),
        raw(folder, "other_lab", empty_notebook("s3-static-site")),
        folder / "missing.ipynb",
        with_cell(folder, "os_exit", "import os\nos._exit(3)"),
        with_cell(folder, "exit_call", "exit()"),
        with_cell(folder, "endless_loop", "while True:\n    pass"),
        with_cell(
            folder,
            "stubborn_loop",
            "import time\nwhile True:\n    try:\n        time.sleep(0.05)\n"
            "    except BaseException:\n        pass",
        ),
        with_cell(folder, "prints_100mb", "print('x' * 100_000_000)"),
        with_cell(folder, "writes_files", "open('left-behind.txt', 'w').write('x')"),
        SOLUTION,
        with_cell(folder, "good", "print('an ordinary extra cell')"),
    ]
    before = digests(folder)
    solution_before = hashlib.sha256(SOLUTION.read_bytes()).hexdigest()
    subs = grade_many(paths, workers=2, cell_timeout=CELL_TIMEOUT, timeout=TIMEOUT)
    assert hashlib.sha256(SOLUTION.read_bytes()).hexdigest() == solution_before
    after = digests(folder)
    assert after == before, "grading wrote to the submissions' folder"
    named = {Path(s.path).stem if s.path != str(SOLUTION) else "solution": s for s in subs}
    return named, [s.path for s in subs]


def test_every_submission_gets_an_answer_in_the_order_given(
    batch: tuple[dict[str, Submission], list[str]],
) -> None:
    _, order = batch
    assert len(order) == 13
    assert Path(order[0]).stem == "malformed" and Path(order[-1]).stem == "good"


def test_good_submissions_in_a_broken_batch_are_graded_as_usual(
    batch: tuple[dict[str, Submission], list[str]],
) -> None:
    named, _ = batch
    for name in ("solution", "good"):
        sub = named[name]
        assert sub.passed and sub.score == 4, sub.text()
        assert not sub.notes and not sub.flags


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("malformed", "not a readable notebook"),
        ("not_a_notebook", "not a readable notebook"),
        ("other_lab", "for lab 's3-static-site', which this labkit does not have"),
        ("missing", "no such file"),
        ("os_exit", "kernel died while running code cell 3"),
        ("exit_call", "asked the kernel to exit"),
        ("stubborn_loop", "could not be stopped"),
    ],
)
def test_unusable_submissions_get_a_clear_error(
    batch: tuple[dict[str, Submission], list[str]], name: str, words: str
) -> None:
    sub = batch[0][name]
    assert sub.error is not None and words in sub.error, sub.error
    assert sub.score == 0 and not sub.passed


def test_an_empty_notebook_is_scored_zero_with_reasons(
    batch: tuple[dict[str, Submission], list[str]],
) -> None:
    sub = batch[0]["empty"]
    assert sub.error is None and sub.score == 0 and len(sub.results) == 3
    assert "The notebook has no code cells." in sub.notes
    assert any("never started the lab" in n for n in sub.notes)
    assert all("no function" in r.message or "no bucket" in r.message for r in sub.results)


def test_an_endless_loop_is_interrupted_and_the_rest_graded(
    batch: tuple[dict[str, Submission], list[str]],
) -> None:
    sub = batch[0]["endless_loop"]
    assert sub.error is None and sub.score == 4
    assert any(f"longer than {CELL_TIMEOUT:g} s and was interrupted" in n for n in sub.notes)


def test_printing_100_mb_does_not_matter(batch: tuple[dict[str, Submission], list[str]]) -> None:
    sub = batch[0]["prints_100mb"]
    assert sub.passed and sub.score == 4


def test_files_a_notebook_writes_stay_out_of_the_submissions(
    batch: tuple[dict[str, Submission], list[str]],
) -> None:
    # The batch fixture already compared every file in the class folder before and after.
    assert batch[0]["writes_files"].passed


def test_the_time_limit_per_notebook_stops_the_rest_of_its_cells(tmp_path: Path) -> None:
    nb = nbformat.read(SOLUTION, as_version=4)
    for _ in range(3):
        nb.cells.insert(4, nbformat.v4.new_code_cell("import time\ntime.sleep(2)"))
    target = tmp_path / "slow.ipynb"
    nbformat.write(nb, target)
    (sub,) = grade_many([target], workers=1, cell_timeout=CELL_TIMEOUT, timeout=3)
    assert sub.error is None
    assert any("ran past the 3 s limit" in n and "not run" in n for n in sub.notes), sub.notes
    # The cells after the limit never ran: the checks that need them fail, with a score.
    assert sub.score < 4 and sub.results
