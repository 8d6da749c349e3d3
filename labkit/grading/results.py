"""Check results as typed values that show themselves in Jupyter (HTML) and terminals (text).

Pass and fail are told apart by a symbol and a word, never by colour alone.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from labkit.views.base import rich

Status = Literal["passed", "failed", "error"]

_SYMBOL = {"passed": "✔", "failed": "✘", "error": "⚠"}
_COLOUR = {"passed": "#1a7f37", "failed": "#b42318", "error": "#9a6700"}
# JupyterLab's table style right-aligns every cell; prose reads from the left.
_LEFT = "text-align:left;vertical-align:top"


def _fmt_points(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class CheckResult:
    """What one check found.

    Attributes:
        lab: The lab id.
        name: The check's name (what ``lab.check(name)`` takes).
        title: What the check looks for, in a learner's words.
        status: ``passed``, ``failed`` (the work is not right yet) or ``error`` (the check could
            not run, for example a missing function).
        points: Points earned.
        max_points: Points available.
        message: What was found.
        hint: What to try next (empty when passed).
        duration: Wall seconds the check took.
        hidden: Whether the check is hidden from learners (only ``labkit grade`` runs it).
    """

    lab: str
    name: str
    title: str
    status: Status
    points: float
    max_points: float
    message: str
    hint: str = ""
    duration: float = 0.0
    hidden: bool = False

    @property
    def passed(self) -> bool:
        """Whether the check passed."""
        return self.status == "passed"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by ``labkit grade --json``."""
        return {
            "name": self.name,
            "passed": self.passed,
            "points": self.points,
            "max_points": self.max_points,
            "message": self.message if not self.hint else f"{self.message} Hint: {self.hint}",
        }

    def text(self) -> str:
        """A short plain-text form: one line, plus the hint when there is one."""
        head = (
            f"{_SYMBOL[self.status]} {self.status.upper()} {self.name} "
            f"({_fmt_points(self.points)}/{_fmt_points(self.max_points)}): {self.title}"
        )
        lines = [head]
        if self.message:
            lines.append(f"  {self.message}")
        if self.hint:
            lines.append(f"  Hint: {self.hint}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text())

    def _repr_html_(self) -> str:
        colour = _COLOUR[self.status]
        hint = (
            f'<div style="margin-top:4px"><b>Hint:</b> {rich(self.hint)}</div>' if self.hint else ""
        )
        message = f"<div>{rich(self.message)}</div>" if self.message else ""
        return (
            f'<div class="labkit-check labkit-{self.status}" style="border-left:4px solid '
            f'{colour};padding:4px 10px;margin:4px 0;font-family:sans-serif">'
            f'<div><span aria-hidden="true">{_SYMBOL[self.status]}</span> '
            f"<b>{self.status.upper()}</b> <code>{html.escape(self.name)}</code> "
            f"({_fmt_points(self.points)}/{_fmt_points(self.max_points)} points): "
            f"{rich(self.title)}</div>{message}{hint}</div>"
        )


@dataclass(frozen=True)
class ScoreReport:
    """The results of several checks of one lab, shown as a table."""

    lab: str
    results: tuple[CheckResult, ...] = field(default_factory=tuple)
    hidden_count: int = 0
    hidden_points: float = 0.0

    @property
    def score(self) -> float:
        """Points earned."""
        return sum(r.points for r in self.results)

    @property
    def max_score(self) -> float:
        """Points available in the checks that ran."""
        return sum(r.max_points for r in self.results)

    @property
    def all_passed(self) -> bool:
        """Whether every check that ran passed (hidden checks that did not run excluded)."""
        return all(r.passed for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form."""
        return {
            "lab": self.lab,
            "score": self.score,
            "max_score": self.max_score,
            "checks": [r.to_dict() for r in self.results],
        }

    def _summary(self) -> str:
        passed = sum(r.passed for r in self.results)
        line = (
            f"{self.lab}: {passed}/{len(self.results)} checks passed, "
            f"{_fmt_points(self.score)}/{_fmt_points(self.max_score)} points"
        )
        if self.hidden_count:
            one = self.hidden_count == 1
            line += (
                f"; {self.hidden_count} hidden check{'' if one else 's'} worth "
                f"{_fmt_points(self.hidden_points)} "
                f"point{'' if self.hidden_points == 1 else 's'} "
                f"run{'s' if one else ''} only when your work is graded"
            )
        return line

    def text(self) -> str:
        """A plain-text table."""
        lines = [self._summary()]
        lines.extend(r.text() for r in self.results)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text())

    def _repr_html_(self) -> str:
        rows = []
        for r in self.results:
            colour = _COLOUR[r.status]
            detail = rich(r.message)
            if r.hint:
                detail += f"<br><b>Hint:</b> {rich(r.hint)}"
            rows.append(
                f"<tr><td style='{_LEFT};color:{colour};white-space:nowrap'>"
                f"{_SYMBOL[r.status]} {r.status}</td>"
                f"<td style='{_LEFT}'><code>{html.escape(r.name)}</code></td>"
                f"<td style='{_LEFT}'>{rich(r.title)}</td>"
                f"<td style='text-align:right'>{_fmt_points(r.points)}/"
                f"{_fmt_points(r.max_points)}</td><td style='{_LEFT}'>{detail}</td></tr>"
            )
        heads = "".join(
            f"<th style='{'text-align:right' if h == 'points' else _LEFT}'>{h}</th>"
            for h in ("result", "check", "what it looks for", "points", "details")
        )
        return (
            "<div class='labkit-score' style='font-family:sans-serif'>"
            f"<p><b>{html.escape(self._summary())}</b></p>"
            f"<table><thead><tr>{heads}</tr></thead><tbody>"
            + "".join(rows)
            + "</tbody></table></div>"
        )


def as_json_ready(result: CheckResult) -> dict[str, Any]:
    """Every field of a result, for files that keep everything (progress, reports)."""
    return asdict(result)
