"""What a workload costs as a Standard or as an Express workflow, from AWS's published prices.

- Standard: every state transition (retries included) costs the same; a monthly free tier of
  transitions comes off first.
- Express: every execution started is a request, plus its duration (rounded up to 100 ms) times
  its memory (in 64-MB chunks) in GB-seconds.
https://aws.amazon.com/step-functions/pricing/

A workload that Express cannot run (longer than five minutes, or waiting for a task token or a
``.sync`` child) is priced as Standard only, with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from labkit import facts


@dataclass(frozen=True)
class Workload:
    """A month of executions of one workflow.

    Attributes:
        executions: Executions started per month.
        transitions: State transitions per execution (retries included).
        seconds: How long one execution runs.
        memory_mb: Memory an Express execution uses (billed in 64-MB chunks).
        waits_for_callbacks: Whether it uses ``.waitForTaskToken`` or ``.sync`` (Standard only).
    """

    executions: int
    transitions: int
    seconds: float
    memory_mb: int = 64
    waits_for_callbacks: bool = False


@dataclass(frozen=True)
class Price:
    """One workflow type's monthly price for a workload, in US dollars.

    Attributes:
        type: ``STANDARD`` or ``EXPRESS``.
        total: The monthly price (``None`` when this type cannot run the workload).
        parts: What makes it up, in words and dollars.
        why_not: Why this type cannot run the workload ("" when it can).
    """

    type: str
    total: float | None
    parts: tuple[tuple[str, float], ...] = ()
    why_not: str = ""


def standard(load: Workload) -> Price:
    """A Standard workflow's price: transitions past the free tier."""
    free = int(facts.value("step_functions.standard_free_transitions"))
    per = float(facts.value("step_functions.standard_price_per_transition"))
    billed = max(0, load.executions * load.transitions - free)
    cost = billed * per
    return Price("STANDARD", cost, ((f"{billed:,} transitions past the {free:,} free", cost),))


def express(load: Workload) -> Price:
    """An Express workflow's price: requests and GB-seconds (``None`` if Express cannot)."""
    limit = float(facts.value("step_functions.express_max_duration"))
    if load.seconds > limit:
        return Price(
            "EXPRESS",
            None,
            why_not=f"an execution runs {load.seconds:g} s, longer than Express's {limit:g} s",
        )
    if load.waits_for_callbacks:
        return Price("EXPRESS", None, why_not="Express does not support .waitForTaskToken or .sync")
    step_ms = int(facts.value("step_functions.express_billing_duration_increment"))
    chunk = int(facts.value("step_functions.express_billing_memory_increment"))
    billed_ms = max(step_ms, math.ceil(load.seconds * 1000 / step_ms) * step_ms)
    memory_gb = math.ceil(max(load.memory_mb, 1) / chunk) * chunk / 1024
    gb_seconds = load.executions * billed_ms / 1000 * memory_gb
    requests = load.executions * float(facts.value("step_functions.express_price_per_request"))
    duration = gb_seconds * float(facts.value("step_functions.express_price_per_gb_second"))
    return Price(
        "EXPRESS",
        requests + duration,
        (
            (f"{load.executions:,} requests", requests),
            (f"{gb_seconds:,.1f} GB-seconds", duration),
        ),
    )


def compare(load: Workload) -> tuple[Price, Price]:
    """Both prices, Standard first."""
    return standard(load), express(load)
