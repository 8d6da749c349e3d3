"""The "Which DB?" report as HTML and as text: each workload, the service chosen, what broke.

Plain functions over :class:`~.sim_workloads.Verdict` lists. Words and symbols carry every
distinction, never colour: ``✓ works`` or ``✗ broke`` and the reasons in words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from labkit.services.dbchoice.sim_workloads import WORKLOADS, Verdict, duration, evaluate
from labkit.views.base import Column, Group, Panel, panel_html, panel_text, table_html, text_table

_COLUMNS = (Column("service"), Column("result"), Column("what happened"))


def _groups(verdicts: Sequence[Verdict]) -> list[Group]:
    groups = []
    for v in verdicts:
        service = v.service + (f" {v.config}" if v.config else "")
        if v.ok:
            rows: tuple[tuple[str, ...], ...] = (
                (
                    service,
                    "✓ works",
                    f"{v.operations} operations, slowest {duration(v.slowest_ms)}",
                ),
            )
        else:
            rows = tuple(
                (service if i == 0 else "", "✗ broke" if i == 0 else "", reason)
                for i, reason in enumerate(v.broke)
            )
        groups.append(Group(v.workload, "works" if v.ok else f"{len(v.broke)} broke", rows))
    return groups


def _summary(verdicts: Sequence[Verdict]) -> str:
    good = sum(v.ok for v in verdicts)
    return f"{good} of {len(verdicts)} workloads work on the service chosen for them"


def report_html(verdicts: Sequence[Verdict]) -> str:
    """The report as HTML."""
    return panel_html(
        kind="dbchoice",
        heading="Which DB? — workloads run against the models",
        subheading=_summary(verdicts),
        body=table_html(_COLUMNS, _groups(verdicts)),
    )


def report_text(verdicts: Sequence[Verdict]) -> str:
    """The report as plain text."""
    lines = text_table(_COLUMNS, _groups(verdicts), group_label="workload")
    return panel_text(
        "Which DB? — workloads run against the models", lines, subheading=_summary(verdicts)
    )


class Report(Panel):
    """Verdicts that show themselves in a notebook (HTML, with text beside) and in a terminal."""

    def __init__(self, verdicts: list[Verdict]) -> None:
        super().__init__(verdicts, report_html, report_text)

    @property
    def verdicts(self) -> list[Verdict]:
        """One verdict per workload, in the course's order."""
        return self.snapshot  # type: ignore[no-any-return]


def which_db(assignment: Mapping[str, Any]) -> Report:
    """Run the course's workloads against the services ``assignment`` gives them (any left
    out are reported as unassigned)."""
    return Report(evaluate(WORKLOADS, assignment))
