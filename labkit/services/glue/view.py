"""Glue's crawlers and jobs as HTML and as text: crawl state, job runs, what bookmarks remember.

Words and symbols, never colour alone: a run ``✓ SUCCEEDED``, ``✗ FAILED`` (with the error),
``… RUNNING``; a bookmark lists how many objects it remembers as processed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labkit.views.base import (
    Column,
    Group,
    Panel,
    lines_html,
    panel_html,
    panel_text,
    plural,
    table_html,
    text_table,
)

Row = Mapping[str, Any]

_MARKS = {"SUCCEEDED": "✓", "FAILED": "✗", "RUNNING": "…", "STARTING": "…", "READY": "✓"}
_RUN_COLUMNS = (
    Column("run", mono=True),
    Column("state"),
    Column("objects read"),
    Column("objects written"),
    Column("error"),
)


def _mark(state: str) -> str:
    return f"{_MARKS.get(state, '·')} {state}"


def _crawler_lines(snapshot: Row) -> list[str]:
    return [
        f"crawler {c['name']}: {_mark(c['state'])} (last crawl: {c['last'] or 'none'}) · "
        f"{', '.join(c['targets'])} → database {c['database']}"
        for c in snapshot["crawlers"]
    ]


def _job_groups(snapshot: Row) -> list[Group]:
    groups = []
    for job in snapshot["jobs"]:
        rows = tuple(
            (
                run["id"][:12],
                _mark(str(run["state"])),
                str(run["read"]),
                str(run["written"]),
                run["error"],
            )
            for run in job["runs"]
        )
        remembered = plural(len(job["processed"]), "object")
        groups.append(
            Group(
                title=f"job {job['name']} ({job['script']})",
                count=f"{job['bookmarks']}; bookmark remembers {remembered}",
                rows=rows,
            )
        )
    return groups


def _empty(snapshot: Row) -> bool:
    return not snapshot["crawlers"] and not snapshot["jobs"]


def etl_html(snapshot: Row) -> str:
    """Crawlers and jobs, with runs and bookmarks."""
    body = lines_html(_crawler_lines(snapshot) or ["No crawler."])
    if snapshot["jobs"]:
        body += table_html(_RUN_COLUMNS, _job_groups(snapshot))
    return panel_html(
        kind="glue-etl", heading="Glue crawlers and jobs", subheading=snapshot["region"], body=body
    )


def etl_text(snapshot: Row) -> str:
    """The text twin of :func:`etl_html`."""
    lines = _crawler_lines(snapshot) or ["No crawler."]
    if snapshot["jobs"]:
        lines += text_table(_RUN_COLUMNS, _job_groups(snapshot), group_label="job")
    return panel_text("Glue crawlers and jobs", lines, subheading=snapshot["region"])


def etl_view(region: str) -> Panel:
    """Glue now: crawlers and their last crawl, jobs with their runs and what bookmarks hold."""
    from labkit.services.glue.state import etl_snapshot

    return Panel(etl_snapshot(region=region), etl_html, etl_text)
