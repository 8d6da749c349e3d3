"""The Step Functions lab's ``workflow_type`` check: Standard or Express, by semantics and cost.

The learner writes ``choose_type(workload)``, returning ``"STANDARD"`` or ``"EXPRESS"`` for a
:class:`Workload`. The check asks it about workloads of its own; the answer is right when:

- Express cannot run the workload: an execution longer than Express's five minutes, a task that
  waits for a callback (``.waitForTaskToken``, ``.sync``), or side effects that must happen
  exactly once (Express runs at least once: a retried start may run a step again): Standard;
- otherwise the cheaper of the two at the published prices
  (:func:`labkit.services.stepfunctions.sim_pricing.compare`).
https://docs.aws.amazon.com/step-functions/latest/dg/choosing-workflow-type.html
"""

from __future__ import annotations

from dataclasses import dataclass

from labkit import facts
from labkit.grading.checks import CheckContext
from labkit.services.stepfunctions.sim_pricing import Workload as PricedWorkload
from labkit.services.stepfunctions.sim_pricing import compare


@dataclass(frozen=True)
class Workload(PricedWorkload):
    """A month of one workflow, as the exercise describes it.

    Attributes (besides :class:`~labkit.services.stepfunctions.sim_pricing.Workload`'s):
        name: What it is.
        exactly_once: Whether running a step twice would do harm (charge a card twice).
    """

    name: str = ""
    exactly_once: bool = False


#: The workloads the check asks about (the exercise describes the first two).
WORKLOADS = (
    Workload(30_000_000, 4, 0.3, 64, name="telemetry: clean and store each sensor reading"),
    Workload(
        200_000,
        12,
        2 * 86400,
        waits_for_callbacks=True,
        exactly_once=True,
        name="order fulfilment: pay, wait for the warehouse, ship",
    ),
    Workload(30, 20, 40 * 60, name="nightly report over every store"),
    Workload(
        500_000,
        6,
        90,
        waits_for_callbacks=True,
        name="card confirmation waiting up to two minutes for the bank's callback",
    ),
    Workload(1_000_000, 5, 1.0, exactly_once=True, name="card charging behind an API"),
    Workload(1_000, 3, 280, 1024, name="a monthly batch of long video checks"),
    Workload(5_000_000, 6, 2.0, 128, name="thumbnails for uploaded images"),
    Workload(100_000, 10, 0.5, name="address validation on sign-up"),
)


def right_type(load: Workload) -> tuple[str, str]:
    """The right type for ``load``, and why in words."""
    limit = float(facts.value("step_functions.express_max_duration"))
    if load.seconds > limit:
        return "STANDARD", f"an execution runs {load.seconds:g} s, past Express's {limit:g} s"
    if load.waits_for_callbacks:
        return "STANDARD", "it waits for a callback, which Express does not support"
    if load.exactly_once:
        return "STANDARD", "its steps must run exactly once, and Express runs at least once"
    standard, express = compare(load)
    assert standard.total is not None and express.total is not None
    if express.total < standard.total:
        return "EXPRESS", (
            f"Express costs ${express.total:,.2f} a month, Standard ${standard.total:,.2f}"
        )
    return "STANDARD", (
        f"Standard costs ${standard.total:,.2f} a month, Express ${express.total:,.2f}"
    )


def check_workflow_type(ctx: CheckContext) -> None:
    """``choose_type`` picks the type each workload can run on, and the cheaper one when both
    can."""
    choose = ctx.function("choose_type")
    wrong = []
    for load in WORKLOADS:
        answer = ctx.call(choose, load)
        kind = answer.strip().upper() if isinstance(answer, str) else ""
        if kind not in ("STANDARD", "EXPRESS"):
            ctx.fail(
                f"`choose_type` returned {answer!r} for {load.name}: 'STANDARD' or 'EXPRESS' "
                "is expected.",
                hint="Return the workflow type as CreateStateMachine's `type` takes it.",
            )
        right, why = right_type(load)
        if kind != right:
            wrong.append(f"{load.name}: {kind}, but {right} ({why})")
    if wrong:
        ctx.fail(
            f"`choose_type` chose wrong for {len(wrong)} of {len(WORKLOADS)} workloads: "
            + "; ".join(wrong)
            + ".",
        )
