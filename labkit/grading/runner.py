"""Run checks safely: learner code may raise, loop, or return anything, the runner survives."""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

from labkit.grading.checks import Check, CheckContext, CheckFailed, SandboxLike
from labkit.grading.results import CheckResult, ScoreReport
from labkit.grading.timelimit import TimeLimitExceeded, time_limit


class IsolatingSandbox(SandboxLike, Protocol):
    """A sandbox that can lend an empty world for the length of a check."""

    def isolated(self) -> AbstractContextManager[Any]: ...


def run_check(
    check: Check,
    *,
    lab_id: str,
    namespace: Mapping[str, Any],
    sandbox: IsolatingSandbox,
) -> CheckResult:
    """Run one check and turn whatever happens into a :class:`CheckResult`.

    Never raises for anything the learner's code does (exceptions, endless loops, wrong types,
    unfinished ``...``); a ``KeyboardInterrupt`` from the learner still stops it.
    """
    started = time.perf_counter()
    status, message, hint = "passed", "", ""
    try:
        world = sandbox.isolated() if check.isolated else nullcontext(sandbox)
        # The time limit covers the check only, never the isolated world's clean-up, so an
        # interruption cannot leave the learner's resources half restored.
        with world as active, time_limit(check.timeout):
            check.run(CheckContext(namespace, active, check))
        message = "Well done."
    except CheckFailed as failure:
        status, message, hint = failure.status, failure.message, failure.hint
    except TimeLimitExceeded:
        status = "failed"
        message = f"The check took longer than its {check.timeout:g} s limit and was stopped."
        hint = (
            "Your code may loop forever or wait for something that never happens. Make sure "
            "every loop ends (for example when a receive returns no messages)."
        )
    except Exception as exc:  # a learner error that escaped ctx.call, or a bug in the check
        status = "error"
        message = f"The check could not finish: {type(exc).__name__}: {exc}"
        hint = check.hint or "Run the cells above again from the top, then check again."
    if status == "passed":
        points = check.points
    else:
        points = 0.0
        hint = hint or check.hint
    return CheckResult(
        lab=lab_id,
        name=check.name,
        title=check.title,
        status=status,  # type: ignore[arg-type]
        points=points,
        max_points=check.points,
        message=message,
        hint=hint if status != "passed" else "",
        duration=time.perf_counter() - started,
        hidden=check.hidden,
    )


def run_checks(
    checks: tuple[Check, ...],
    *,
    lab_id: str,
    namespace: Mapping[str, Any],
    sandbox: IsolatingSandbox,
    include_hidden: bool = False,
) -> ScoreReport:
    """Run several checks in order; hidden ones only when ``include_hidden``."""
    visible = [c for c in checks if include_hidden or not c.hidden]
    skipped = [c for c in checks if c not in visible]
    results = tuple(
        run_check(c, lab_id=lab_id, namespace=namespace, sandbox=sandbox) for c in visible
    )
    return ScoreReport(
        lab=lab_id,
        results=results,
        hidden_count=len(skipped),
        hidden_points=sum(c.points for c in skipped),
    )
