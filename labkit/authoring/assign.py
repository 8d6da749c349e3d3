"""Generate notebooks from their sources: one source of truth per lab.

Authors edit diff-friendly jupytext percent files (``notebooks/NN_lab.py`` for a lesson,
``solutions/NN_lab.py`` for a worked solution). ``labkit assign`` writes from them:

- the lesson notebook and the solution notebook (the same cells);
- the exercise notebook: the solution with every ``### BEGIN SOLUTION`` … ``### END SOLUTION``
  block (nbgrader's markers) replaced by a ``...`` placeholder, and cells tagged ``solution``
  dropped;
- the course index notebook, from the catalog.

Generated notebooks carry no outputs, no execution counts and cell ids derived from their
content, so regenerating them changes nothing unless a source changed. They are stored as
JupyterLab saves them (its JSON layout and the kernel metadata it writes on opening), so a
learner who only opens and reads one is not asked to save it. ``labkit assign --check``
fails when what is committed differs from what the sources generate.
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jupytext
import nbformat

from labkit.errors import AssignError
from labkit.labs import catalog
from labkit.labs.spec import LabSpec

BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION\s*$")
END = re.compile(r"^[ \t]*### END SOLUTION\s*$")
PLACEHOLDER = "# YOUR CODE HERE"
SOLUTION_TAG = "solution"
INDEX = "notebooks/00_index.ipynb"

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}

#: The Python the course's reference environment runs (CI, and `make setup` on the machines the
#: course is built on). JupyterLab replaces a notebook's ``language_info`` with the kernel's as
#: soon as the kernel starts, and marks the notebook modified unless nothing changed. Measured in
#: JupyterLab 4.6 (tests/browser): ``kernelspec`` already matched and nothing else is rewritten,
#: but ``language_info`` with only the version-independent fields below still dirties the
#: notebook, because the kernel adds ``version`` (its exact ``platform.python_version()``).
#: So the version is stored, a constant rather than the interpreter running ``labkit assign``
#: (``assign --check`` must not depend on who runs it): with this Python opening a notebook
#: changes nothing; with another one JupyterLab only changes this field, as before. Bump it with
#: the reference Python, then run ``labkit assign``.
PYTHON_VERSION = "3.11.7"

#: What ipykernel reports as ``language_info`` (all but ``version`` is the same for every
#: CPython 3 kernel).
LANGUAGE_INFO = {
    "codemirror_mode": {"name": "ipython", "version": 3},
    "file_extension": ".py",
    "mimetype": "text/x-python",
    "name": "python",
    "nbconvert_exporter": "python",
    "pygments_lexer": "ipython3",
    "version": PYTHON_VERSION,
}


@dataclass(frozen=True)
class Generated:
    """One notebook that a source generates: where it goes and its exact text."""

    path: str
    text: str


def strip_solutions(source: str, *, where: str = "") -> str:
    """Replace every solution block of a code cell with a ``...`` placeholder.

    Args:
        source: A code cell's source.
        where: Where the cell is, for error messages.

    Raises:
        AssignError: On an unclosed or unopened block.
    """
    out: list[str] = []
    inside = False
    indent = ""
    for number, line in enumerate(source.splitlines(), start=1):
        begin = BEGIN.match(line)
        if begin:
            if inside:
                raise AssignError(f"{where}: line {number} opens a solution block inside another.")
            inside, indent = True, begin.group("indent")
            out.append(f"{indent}{PLACEHOLDER}")
            out.append(f"{indent}...")
        elif END.match(line):
            if not inside:
                raise AssignError(f"{where}: line {number} closes a solution block never opened.")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise AssignError(f"{where}: a solution block is never closed with ### END SOLUTION.")
    return "\n".join(out)


def _cell_id(cell: Any, seen: set[str]) -> str:
    digest = hashlib.sha1(f"{cell.cell_type}\n{cell.source}".encode()).hexdigest()
    length = 8
    while digest[:length] in seen and length < len(digest):
        length += 2
    seen.add(digest[:length])
    return digest[:length]


def _clean(nb: Any, *, lab: str | None, role: str) -> Any:
    """Normalise a notebook: no outputs, content-derived ids, fixed metadata."""
    seen: set[str] = set()
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(cell.source)
        elif cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(cell.source)
        else:
            new = nbformat.v4.new_raw_cell(cell.source)
        tags = [t for t in cell.metadata.get("tags", []) if t != SOLUTION_TAG]
        if tags:
            new.metadata["tags"] = tags
        new.id = _cell_id(new, seen)
        cells.append(new)
    out = nbformat.v4.new_notebook(cells=cells)
    out.metadata = {
        "kernelspec": dict(KERNELSPEC),
        "language_info": copy.deepcopy(LANGUAGE_INFO),
    }
    if lab is not None:
        out.metadata["labkit"] = {"lab": lab, "role": role}
    return out


def _dump(nb: Any) -> str:
    nbformat.validate(nb)
    # nbformat's own writer: sources as lists of lines, sorted keys, one-space indent, as
    # JupyterLab saves notebooks, so a learner's save changes nothing but what they typed.
    text: str = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def _read_source(root: Path, relative: str) -> Any:
    path = root / relative
    if not path.exists():
        raise AssignError(f"The source {relative} does not exist.")
    return jupytext.reads(path.read_text(encoding="utf-8"), fmt="py:percent")


def exercise_from(solution: Any, *, where: str) -> Any:
    """The exercise version of a solution notebook."""
    nb = nbformat.v4.new_notebook()
    for cell in solution.cells:
        if SOLUTION_TAG in cell.metadata.get("tags", []):
            continue
        copy = nbformat.from_dict(dict(cell))
        if cell.cell_type == "code":
            copy.source = strip_solutions(cell.source, where=where)
        nb.cells.append(copy)
    return nb


def generate_lab(spec: LabSpec, *, root: Path) -> list[Generated]:
    """Everything one lab's sources generate."""
    lesson = _read_source(root, spec.lesson_source)
    solution = _read_source(root, spec.source)
    exercise = exercise_from(solution, where=spec.source)
    return [
        Generated(spec.lesson, _dump(_clean(lesson, lab=spec.id, role="lesson"))),
        Generated(spec.solution, _dump(_clean(solution, lab=spec.id, role="solution"))),
        Generated(spec.exercise, _dump(_clean(exercise, lab=spec.id, role="exercise"))),
    ]


def _relative(from_file: str, to_file: str) -> str:
    base = Path(from_file).parent
    return Path(*[".."] * len(base.parts), to_file).as_posix() if base.parts else to_file


def index_notebook(labs: list[LabSpec]) -> Generated:
    """The course index: every lab with links to its lesson, exercise and solution."""
    rows = [
        "| # | lab | lesson | exercise | solution | checks |",
        "|---|---|---|---|---|---|",
    ]
    for number, spec in enumerate(labs, start=1):
        links = [
            f"[{label}]({_relative(INDEX, path)})"
            for label, path in (
                ("lesson", spec.lesson),
                ("exercise", spec.exercise),
                ("solution", spec.solution),
            )
        ]
        rows.append(
            f"| {number} | **{spec.title}** (`{spec.id}`) | {' | '.join(links)} | "
            f"{len(spec.checks)} checks, {spec.max_score:g} points |"
        )
    intro = (
        "# AWS architecture labs\n\n"
        "Welcome! Each lab has a **lesson** to read and run, an **exercise** to fill in, and a "
        "**solution** to compare with once you are done. Everything runs on this machine "
        "against a simulated AWS: no account, no bill, no internet.\n\n"
        "Start with the first lesson. In every notebook, run the cells from the top "
        "(Shift+Enter runs one cell).\n\n" + "\n".join(rows) + "\n\n"
        "## Your progress\n\n"
        "Run the cell below to see the checks you have passed in each lab (it starts no lab, "
        "so it is quick). `labkit progress` in a terminal shows the same."
    )
    # Only the call, no output saved: each learner sees their own progress when they run it.
    show = "import labkit\n\nlabkit.progress()"
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell(intro), nbformat.v4.new_code_cell(show)]
    )
    return Generated(INDEX, _dump(_clean(nb, lab=None, role="index")))


def generate_all(*, root: Path) -> list[Generated]:
    """Everything the course's sources generate."""
    labs = list(catalog().values())
    out: list[Generated] = [index_notebook(labs)]
    for spec in labs:
        out.extend(generate_lab(spec, root=root))
    return out


def assign(*, root: Path, check: bool = False) -> list[str]:
    """Write (or with ``check``, compare) every generated notebook.

    Args:
        root: The repository root.
        check: Only compare; write nothing.

    Returns:
        The paths (relative to ``root``) that were written, or with ``check`` that differ.
    """
    changed: list[str] = []
    for item in generate_all(root=root):
        target = root / item.path
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == item.text:
            continue
        changed.append(item.path)
        if not check:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(item.text, encoding="utf-8")
    return changed
