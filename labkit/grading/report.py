"""The class summary: pass rate per check, score distribution, most-failed checks.

Printed after a batch by ``labkit grade`` and written as a small HTML page (``--html``) with the
score distribution as a PNG beside it (and inside it, so the page works on its own when mailed).
Hidden checks appear here like any other: this report is for instructors.
"""

from __future__ import annotations

import base64
import html
import io
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from labkit.grading.notebook import Submission
from labkit.grading.outputs import atomic_write


@dataclass(frozen=True)
class CheckStats:
    """How a class did on one check."""

    lab: str
    name: str
    title: str
    max_points: float
    passed: int
    graded: int
    hidden: bool = False

    @property
    def failed(self) -> int:
        """Notebooks in which the check ran and did not pass."""
        return self.graded - self.passed

    @property
    def rate(self) -> float:
        """Share of the notebooks in which it ran that passed it (0 to 1)."""
        return self.passed / self.graded if self.graded else 0.0


@dataclass(frozen=True)
class ClassSummary:
    """What a batch of submissions adds up to."""

    total: int
    graded: int
    passed: int
    errors: list[tuple[str, str]] = field(default_factory=list)
    flagged: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    checks: list[CheckStats] = field(default_factory=list)
    scores: dict[str, list[float]] = field(default_factory=dict)
    max_scores: dict[str, float] = field(default_factory=dict)

    @property
    def most_failed(self) -> list[CheckStats]:
        """Checks most notebooks failed, worst first (only checks someone failed)."""
        failing = [c for c in self.checks if c.failed]
        return sorted(failing, key=lambda c: (-c.failed, c.rate, c.name))[:3]


def summarize(subs: Sequence[Submission]) -> ClassSummary:
    """Add up a batch of graded submissions."""
    stats: dict[tuple[str, str], dict[str, object]] = {}
    scores: dict[str, list[float]] = {}
    max_scores: dict[str, float] = {}
    for sub in subs:
        if sub.lab is None or not sub.results:
            continue
        scores.setdefault(sub.lab, []).append(sub.score)
        max_scores[sub.lab] = sub.max_score
        for result in sub.results:
            entry = stats.setdefault(
                (sub.lab, result.name),
                {
                    "title": result.title,
                    "max": result.max_points,
                    "hidden": result.hidden,
                    "passed": 0,
                    "graded": 0,
                },
            )
            entry["graded"] = int(str(entry["graded"])) + 1
            entry["passed"] = int(str(entry["passed"])) + int(result.passed)
    checks = [
        CheckStats(
            lab=lab,
            name=name,
            title=str(entry["title"]),
            max_points=float(str(entry["max"])),
            passed=int(str(entry["passed"])),
            graded=int(str(entry["graded"])),
            hidden=bool(entry["hidden"]),
        )
        for (lab, name), entry in stats.items()
    ]
    return ClassSummary(
        total=len(subs),
        graded=sum(1 for s in subs if s.results and s.error is None),
        passed=sum(1 for s in subs if s.passed),
        errors=[(s.path, s.error) for s in subs if s.error],
        flagged=[(s.path, s.flags) for s in subs if s.flags],
        checks=checks,
        scores=scores,
        max_scores=max_scores,
    )


def _bar(rate: float, width: int = 20) -> str:
    filled = round(rate * width)
    return "█" * filled + "·" * (width - filled)


def summary_text(summary: ClassSummary) -> str:
    """The class summary as plain text."""
    lines = [
        f"Class summary: {summary.total} notebook(s); {summary.passed} passed every check, "
        f"{len(summary.errors)} could not be graded fully, {len(summary.flagged)} flagged "
        "for review."
    ]
    for lab, values in summary.scores.items():
        top = summary.max_scores.get(lab, 0.0)
        lines.append(
            f"  {lab}: mean {statistics.fmean(values):.2f}/{top:g}, median "
            f"{statistics.median(values):g}/{top:g} over {len(values)} notebook(s)"
        )
    if summary.checks:
        lines.append("Pass rate by check:")
        width = max(len(f"{c.lab}/{c.name}") for c in summary.checks)
        for c in summary.checks:
            label = f"{c.lab}/{c.name}".ljust(width)
            hidden = " (hidden)" if c.hidden else ""
            lines.append(
                f"  {label}  {_bar(c.rate)} {c.passed:>3}/{c.graded:<3} {c.rate:4.0%}{hidden}"
            )
    if summary.most_failed:
        several = len(summary.scores) > 1
        worst = ", ".join(
            f"{f'{c.lab}/' if several else ''}{c.name} ({c.failed} failed)"
            for c in summary.most_failed
        )
        lines.append(f"Most failed: {worst}")
    for path, error in summary.errors[:20]:
        lines.append(f"  ⚠ {path}: {error}")
    if len(summary.errors) > 20:
        lines.append(f"  … and {len(summary.errors) - 20} more errors")
    for path, flags in summary.flagged[:20]:
        more = f" (+{len(flags) - 1} more)" if len(flags) > 1 else ""
        lines.append(f"  ⚑ {path}: {flags[0]}{more}")
    return "\n".join(lines)


def score_plot_png(summary: ClassSummary) -> bytes:
    """The score distribution as a PNG (bars per score; percent bins when labs are mixed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(6.4, 3.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    if len(summary.scores) == 1:
        ((lab, values),) = summary.scores.items()
        top = summary.max_scores.get(lab, max(values, default=0.0))
        whole = all(float(v).is_integer() for v in (*values, top))
        # Every whole score from 0 to the top, so a gap in the class shows as a gap.
        points = (
            [float(p) for p in range(int(top) + 1)]
            if whole and top <= 40
            else sorted({*values, 0.0, top})
        )
        counts = [sum(1 for v in values if v == p) for p in points]
        axes.bar([f"{p:g}" for p in points], counts, color="#3b6ea8")
        axes.set_xlabel(f"score (points out of {top:g})")
        axes.set_title(f"Scores in {lab} ({len(values)} notebooks)")
    else:
        percents = [
            100 * v / summary.max_scores[lab] if summary.max_scores.get(lab) else 0.0
            for lab, values in summary.scores.items()
            for v in values
        ]
        axes.hist(percents, bins=list(range(0, 101, 10)), color="#3b6ea8", edgecolor="white")
        axes.set_xlabel("score (% of the lab's points)")
        axes.set_title(f"Scores ({len(percents)} notebooks, {len(summary.scores)} labs)")
    axes.set_ylabel("notebooks")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def summary_html(
    subs: Sequence[Submission], summary: ClassSummary, png: bytes, png_name: str
) -> str:
    """The HTML page of the class summary (the PNG embedded, and named for reference)."""
    esc = html.escape
    rows = []
    for c in summary.checks:
        hidden = " <em>(hidden)</em>" if c.hidden else ""
        rows.append(
            f"<tr><td>{esc(c.lab)}</td><td><code>{esc(c.name)}</code>{hidden}</td>"
            f"<td>{esc(c.title)}</td><td class=n>{c.passed}/{c.graded}</td>"
            f"<td class=n>{c.rate:.0%}</td><td><span class=bar style='width:{c.rate * 100:.0f}%'>"
            "</span></td></tr>"
        )
    subs_rows = []
    for s in subs:
        state = "error" if s.error else "passed" if s.passed else "not all passed"
        detail = "".join(f"<div>⚑ {esc(f)}</div>" for f in s.flags)
        if s.error:
            detail = f"<div>⚠ {esc(s.error)}</div>" + detail
        failed = ", ".join(r.name for r in s.results if not r.passed)
        subs_rows.append(
            f"<tr><td>{esc(s.path)}</td><td>{esc(s.lab or '?')}</td>"
            f"<td class=n>{s.score:g}/{s.max_score:g}</td><td>{esc(state)}</td>"
            f"<td>{esc(failed)}</td><td>{detail}</td></tr>"
        )
    worst = "".join(
        f"<li><code>{esc(c.name)}</code> ({esc(c.lab)}): failed in {c.failed} of {c.graded} "
        f"notebooks. {esc(c.title)}</li>"
        for c in summary.most_failed
    )
    means = "".join(
        f"<li>{esc(lab)}: mean {statistics.fmean(v):.2f}/{summary.max_scores.get(lab, 0):g}, "
        f"median {statistics.median(v):g}/{summary.max_scores.get(lab, 0):g}</li>"
        for lab, v in summary.scores.items()
    )
    image = base64.b64encode(png).decode("ascii")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>labkit grade: class summary</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #1f2328; max-width: 70em; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border-bottom: 1px solid #d0d7de; padding: 4px 10px; text-align: left; }}
td {{ vertical-align: top; }}
td.n {{ text-align: right; white-space: nowrap; }}
.bar {{ display: inline-block; height: 10px; background: #3b6ea8; min-width: 1px; }}
td:last-child {{ min-width: 8em; }}
</style></head><body>
<h1>Class summary</h1>
<p>{summary.total} notebook(s): <b>{summary.passed}</b> passed every check,
<b>{len(summary.errors)}</b> could not be graded fully, <b>{len(summary.flagged)}</b> flagged for
review.</p>
<ul>{means}</ul>
<h2>Score distribution</h2>
<img src="data:image/png;base64,{image}" alt="Score distribution (also in {esc(png_name)})">
<h2>Checks most learners failed</h2>
<ul>{worst or "<li>None: every check passed everywhere it ran.</li>"}</ul>
<h2>Pass rate by check</h2>
<table><thead><tr><th>lab</th><th>check</th><th>what it looks for</th><th>passed</th>
<th>rate</th><th></th></tr></thead><tbody>{"".join(rows)}</tbody></table>
<h2>Notebooks</h2>
<table><thead><tr><th>notebook</th><th>lab</th><th>score</th><th>result</th>
<th>checks not passed</th><th>errors and flags</th></tr></thead>
<tbody>{"".join(subs_rows)}</tbody></table>
<p><small>Hidden checks are listed here: this page is for instructors, not for learners.</small></p>
</body></html>
"""


def write_html_report(
    path: str | os.PathLike[str], subs: Sequence[Submission], summary: ClassSummary | None = None
) -> tuple[Path, Path]:
    """Write the HTML summary and the PNG beside it (same name, ``.png``).

    Returns:
        The HTML and PNG paths.
    """
    target = Path(path)
    summary = summary or summarize(subs)
    png = score_plot_png(summary)
    png_path = atomic_write(target.with_suffix(".png"), png)
    html_path = atomic_write(target, summary_html(subs, summary, png, png_path.name))
    return html_path, png_path
