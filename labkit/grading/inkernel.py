"""The part of ``labkit grade`` that runs inside the submission's kernel, after its cells.

The grader armed a :class:`~labkit.grading.tamper.Guard` in this kernel before any learner code
ran. Here the guard puts back anything the notebook changed in labkit, then every check of the
lab (hidden ones included) runs on the kernel's real namespace and sandbox; after each check the
guard looks again, so learner code that tampers while a check calls it voids that check. The
results go to a file the grader named, signed with the guard's key: nothing the notebook printed
or saved counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labkit.errors import LabkitError
from labkit.grading.results import CheckResult, as_json_ready
from labkit.grading.runner import run_check
from labkit.grading.tamper import Guard, armed


def grading_cell_source(lab_id: str, result_path: str) -> str:
    """The code the grader runs (silently) in the kernel after the submission's own cells.

    It goes through the armed guard, which puts labkit back before this module is even looked
    up, so a notebook that replaced :func:`grade_here` is still graded by the real one.
    """
    return (
        f'__import__("labkit.grading.tamper", fromlist=["armed"])'
        f".armed().grade({lab_id!r}, {result_path!r})\n"
    )


def grade_here(
    lab_id: str,
    result_path: str,
    namespace: Mapping[str, Any] | None = None,
    *,
    found: list[str] | None = None,
) -> None:
    """Grade this kernel against the checks of ``lab_id``; write the signed results.

    Args:
        lab_id: The lab to grade against.
        result_path: Where the grader reads the results.
        namespace: The learner's variables; by default the kernel's user namespace as it was
            when the guard was armed.
        found: Changes the guard already found (and undid) before this function was called.

    Raises:
        LabkitError: When no guard was armed (only the grader may call this).
    """
    guard = armed()
    if guard is None:
        raise LabkitError("labkit grade arms the kernel before grading; this one was not armed.")
    with guard.quiet_threads():
        payload = _grade(guard, lab_id, namespace, list(found or []))
    guard.write_signed(result_path, payload)


def _grade(
    guard: Guard, lab_id: str, namespace: Mapping[str, Any] | None, flags: list[str]
) -> dict[str, Any]:
    flags += guard.verify()
    spec = guard.specs.get(lab_id)
    if spec is None:
        return {"lab": lab_id, "error": f"no lab called {lab_id!r} here", "flags": flags}
    ns = namespace if namespace is not None else guard.namespace
    if ns is None:
        return {"lab": lab_id, "error": "the learner's namespace is unknown", "flags": flags}
    lab, notes = _grading_lab(spec)
    flags += guard.unshadow(lab.sandbox, "the lab's sandbox")
    results: list[dict[str, Any]] = []
    for check in spec.checks:
        flags += guard.verify()
        result = run_check(check, lab_id=spec.id, namespace=ns, sandbox=lab.sandbox)
        during = guard.verify()
        if during:
            flags += [f"while check {check.name!r} ran: {what}" for what in during]
            result = CheckResult(
                lab=spec.id,
                name=check.name,
                title=check.title,
                status="error",
                points=0.0,
                max_points=check.points,
                message="This check cannot count: code it called changed labkit's grading code "
                "while it ran.",
                hint="Checks call your functions; those functions must not modify labkit.",
                hidden=check.hidden,
            )
        results.append(as_json_ready(result))
    return {
        "lab": spec.id,
        "notes": notes,
        "flags": list(dict.fromkeys(flags)),
        "results": results,
    }


def _grading_lab(spec: Any) -> tuple[Any, list[str]]:
    """The learner's running lab when it is this one, else a fresh one (and why)."""
    from labkit import start
    from labkit.lab import Lab
    from labkit.sandbox.session import running_sandbox

    notes: list[str] = []
    sandbox = running_sandbox()
    if sandbox is not None and sandbox.lab_id == spec.id:
        return Lab(spec, clock=sandbox.lab_clock, sandbox=sandbox), notes
    if sandbox is None:
        notes.append(f"The notebook never started the lab (labkit.start({spec.id!r})).")
    else:
        notes.append(f"The notebook ran lab {sandbox.lab_id!r}, not {spec.id!r}.")
    fresh = start(quiet=True)
    fresh.sandbox.lab_id = spec.id
    return Lab(spec, clock=fresh.clock, sandbox=fresh.sandbox), notes
