"""Sample submissions that share cells keep them in ``parts/``; the graded notebook is whole."""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest
from grading_support import as_notebook

SUBMISSIONS = Path(__file__).resolve().parent / "submissions"
INCLUDING = sorted(
    path for path in SUBMISSIONS.glob("*/*.py") if "# sample-include:" in path.read_text()
)


def test_some_samples_share_parts() -> None:
    assert {path.parent.name for path in INCLUDING} >= {"containers", "serverless_api"}


@pytest.mark.parametrize("sample", INCLUDING, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_an_included_part_stands_where_its_cell_was(sample: Path, tmp_path: Path) -> None:
    written = jupytext.read(as_notebook(sample, tmp_path))
    part = jupytext.read(sample.parent / "parts" / "setup.py")
    sources = [cell.source for cell in written.cells]
    assert not any("# sample-include:" in source for source in sources)
    assert all(c.source in sources for c in part.cells)
    # Everything the sample says of its own follows, in order.
    own = [c.source for c in jupytext.read(sample).cells if "# sample-include:" not in c.source]
    assert [s for s in sources if s in own] == own


def test_a_missing_part_is_named(tmp_path: Path) -> None:
    sample = tmp_path / "lab" / "mistake.py"
    sample.parent.mkdir()
    sample.write_text("# %%\n# sample-include: parts/nope.py\n\n# %%\nprint(1)\n")
    with pytest.raises(FileNotFoundError, match=r"parts/nope\.py is missing"):
        as_notebook(sample, tmp_path)


def test_a_cell_with_code_beside_the_line_is_left_as_it_is(tmp_path: Path) -> None:
    sample = tmp_path / "lab" / "mixed.py"
    sample.parent.mkdir()
    sample.write_text("# %%\n# sample-include: parts/nope.py\nx = 1\n")
    written = jupytext.read(as_notebook(sample, tmp_path / "lab"))
    assert written.cells[0].source == "# sample-include: parts/nope.py\nx = 1"
