"""The part of ``labkit grade`` that runs inside the submission's kernel, after its cells.

It finds the learner's running lab (or starts the right one when the notebook never did), runs
every check of the lab, hidden ones included, on the kernel's real namespace, and returns plain
JSON-ready data for the grader process to read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labkit.grading.results import as_json_ready

MARKER_START = "<<<LABKIT-GRADE-RESULT>>>"
MARKER_END = "<<<END-LABKIT-GRADE-RESULT>>>"


def grade_here(lab_id: str, namespace: Mapping[str, Any]) -> dict[str, Any]:
    """Grade ``namespace`` against the checks of ``lab_id`` in this process."""
    from labkit import start
    from labkit.lab import Lab
    from labkit.labs import get_lab
    from labkit.sandbox.session import running_sandbox

    spec = get_lab(lab_id)
    notes: list[str] = []
    sandbox = running_sandbox()
    if sandbox is not None and sandbox.lab_id == lab_id:
        lab = Lab(spec, clock=sandbox.lab_clock, sandbox=sandbox)
    else:
        if sandbox is None:
            notes.append(f"The notebook never started the lab (labkit.start({lab_id!r})).")
        else:
            notes.append(f"The notebook ran lab {sandbox.lab_id!r}, not {lab_id!r}.")
        lab = start(lab_id, quiet=True)
    report = lab.grade(namespace)
    return {
        "lab": lab_id,
        "notes": notes,
        "results": [as_json_ready(r) for r in report.results],
    }


def grading_cell_source(lab_id: str) -> str:
    """The code the grader runs in the kernel after the submission's own cells."""
    return (
        "import json as _labkit_json\n"
        "from labkit.grading.inkernel import grade_here as _labkit_grade_here\n"
        f"print({MARKER_START!r} + _labkit_json.dumps(_labkit_grade_here({lab_id!r}, globals()))"
        f" + {MARKER_END!r})\n"
    )
