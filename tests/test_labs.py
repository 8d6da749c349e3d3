"""Every lab: the worked solution passes every check; the exercise fails every check cleanly.

"Cleanly" means each check reports the unfinished work with a hint, and no cell of the exercise
raises: a learner who opens the exercise and runs it top to bottom sees no errors.

The solution is graded without its cells that only call ``lab.check``/``lab.score``: they run the
same checks the grader runs afterwards, so each check ran three times (the cells, ``lab.score()``,
the grader) where once proves the same. The exercise keeps them: that they report cleanly, and
raise nothing, is what its test is about.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from grading_support import as_notebook

from labkit.grading.notebook import grade_notebook
from labkit.labs import catalog

ROOT = Path(__file__).resolve().parent.parent
LABS = list(catalog())


@pytest.mark.parametrize("lab_id", LABS)
def test_solution_passes_every_check(lab_id: str, tmp_path: Path) -> None:
    spec = catalog()[lab_id]
    source = (ROOT / spec.solution).with_suffix(".py")
    sub = grade_notebook(as_notebook(source, tmp_path, check_cells=False))
    assert sub.error is None
    assert not sub.notes, sub.notes
    assert [r.name for r in sub.results] == [c.name for c in spec.checks]
    assert all(r.passed for r in sub.results), sub.text()


@pytest.mark.parametrize("lab_id", LABS)
def test_exercise_fails_every_check_cleanly(lab_id: str) -> None:
    spec = catalog()[lab_id]
    sub = grade_notebook(ROOT / spec.exercise)
    assert sub.error is None
    assert not sub.notes, sub.notes  # no cell raised
    assert sub.results and sub.score == 0
    for result in sub.results:
        assert result.status == "failed", result.text()
        assert result.hint, result.text()
