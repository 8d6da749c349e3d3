"""The learner's progress as a notebook shows it: ``labkit.progress()`` in the course index.

It reads the progress file (``$LABKIT_HOME/progress.json``, see :mod:`labkit.grading.progress`)
and the lab catalog, nothing else: no sandbox starts, so the index stays quick to run. The
result displays as an HTML table in Jupyter and as plain text anywhere else; passed and not yet
passed checks differ by symbol and word, never by colour alone.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.grading.progress import load_progress, progress_path

PASSED = "✔ passed"
NOT_YET = "· not yet"
HIDDEN = "graded when you hand in"


@dataclass(frozen=True)
class CheckProgress:
    """One check of a lab and whether it has passed."""

    name: str
    title: str
    points: float
    passed: bool
    hidden: bool = False

    @property
    def state(self) -> str:
        """The check's state in words (with its symbol)."""
        if self.passed:
            return PASSED
        return f"{NOT_YET} ({HIDDEN})" if self.hidden else NOT_YET


@dataclass(frozen=True)
class LabProgress:
    """One lab: its checks, and the points earned of the points it has."""

    id: str
    title: str
    checks: tuple[CheckProgress, ...]

    @property
    def passed(self) -> int:
        """Checks passed."""
        return sum(1 for c in self.checks if c.passed)

    @property
    def earned(self) -> float:
        """Points of the checks passed."""
        return sum(c.points for c in self.checks if c.passed)

    @property
    def max_score(self) -> float:
        """Points of every check."""
        return sum(c.points for c in self.checks)

    @property
    def started(self) -> bool:
        """Whether any check of this lab has passed."""
        return self.passed > 0


@dataclass(frozen=True)
class ProgressReport:
    """Every lab's progress, for display in a notebook (``_repr_mimebundle_``) or as text."""

    labs: tuple[LabProgress, ...]
    path: Path

    @property
    def empty(self) -> bool:
        """Whether no check has passed yet."""
        return not any(lab.started for lab in self.labs)

    def text(self) -> str:
        """The plain-text form."""
        lines = ["Your progress (checks passed):"]
        if self.empty:
            lines.append(_START_TEXT)
        for lab in self.labs:
            lines.append(
                f"{lab.id}: {lab.passed}/{len(lab.checks)} checks passed, "
                f"{lab.earned:g}/{lab.max_score:g} points"
            )
            lines.extend(f"  {c.state}  {c.name}" for c in lab.checks)
        lines.append(f"(kept in {self.path})")
        return "\n".join(lines)

    def html(self) -> str:
        """The HTML form: one row per lab, its checks listed with symbol and word."""
        esc = html.escape
        rows = []
        for lab in self.labs:
            checks = "".join(
                f"<li>{esc(c.state)} <code>{esc(c.name)}</code>: {esc(c.title)}</li>"
                for c in lab.checks
            )
            rows.append(
                f"<tr><td><b>{esc(lab.title)}</b> (<code>{esc(lab.id)}</code>)</td>"
                f"<td style='text-align:right'>{lab.passed}/{len(lab.checks)}</td>"
                f"<td style='text-align:right'>{lab.earned:g}/{lab.max_score:g}</td>"
                f"<td><ul style='margin:0'>{checks}</ul></td></tr>"
            )
        start = f"<p>{esc(_START_TEXT)}</p>" if self.empty else ""
        return (
            "<div class='labkit-progress'><p><b>Your progress</b> (checks passed)</p>"
            f"{start}<table><thead><tr><th>lab</th><th>checks passed</th><th>points</th>"
            f"<th>checks</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
            f"<p><small>Kept in <code>{esc(str(self.path))}</code>. Run this cell again to "
            "refresh it.</small></p></div>"
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": self.text(), "text/html": self.html()}

    def __repr__(self) -> str:
        return self.text()


_START_TEXT = (
    "No check has passed yet. Start with the first lesson, then run the exercise's "
    "`lab.check(...)` cells: every check you pass is recorded here."
)


def progress(*, path: Path | None = None) -> ProgressReport:
    """The learner's progress in every lab of the course (no sandbox is started).

    Args:
        path: The progress file; ``$LABKIT_HOME/progress.json`` by default.
    """
    from labkit.labs import catalog

    target = path or progress_path()
    recorded = load_progress(path=target)
    labs = []
    for lab_id, spec in catalog().items():
        passed = recorded.get(lab_id, {})
        labs.append(
            LabProgress(
                id=lab_id,
                title=spec.title,
                checks=tuple(
                    CheckProgress(
                        name=c.name,
                        title=c.title,
                        points=c.points,
                        passed=c.name in passed,
                        hidden=c.hidden,
                    )
                    for c in spec.checks
                ),
            )
        )
    return ProgressReport(tuple(labs), target)
