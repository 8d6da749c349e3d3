"""Standard against Express prices, from the fact table."""

from __future__ import annotations

import pytest

from labkit import facts
from labkit.services.stepfunctions.sim_pricing import Workload, compare, express, standard


def test_standard_bills_transitions_past_the_free_tier() -> None:
    per = facts.value("step_functions.standard_price_per_transition")
    free = facts.value("step_functions.standard_free_transitions")
    price = standard(Workload(executions=10_000, transitions=5, seconds=1))
    assert price.total == pytest.approx((50_000 - free) * per)
    assert standard(Workload(executions=100, transitions=5, seconds=1)).total == 0


def test_express_bills_requests_and_rounded_gb_seconds() -> None:
    per_request = facts.value("step_functions.express_price_per_request")
    per_gbs = facts.value("step_functions.express_price_per_gb_second")
    price = express(Workload(executions=1_000_000, transitions=5, seconds=0.25, memory_mb=100))
    # 0.25 s bills as 0.3 s; 100 MB bills as two 64-MB chunks (0.125 GB).
    assert price.total == pytest.approx(1_000_000 * per_request + 1_000_000 * 0.3 * 0.125 * per_gbs)


def test_the_cheaper_type_depends_on_the_workload() -> None:
    busy = Workload(executions=5_000_000, transitions=8, seconds=0.5)
    std, exp = compare(busy)
    assert exp.total is not None and std.total is not None and exp.total < std.total
    long_approval = Workload(
        executions=1_000, transitions=4, seconds=86_400, waits_for_callbacks=True
    )
    std, exp = compare(long_approval)
    assert exp.total is None and "300" in exp.why_not and std.total is not None
    callbacks = express(Workload(executions=10, transitions=4, seconds=2, waits_for_callbacks=True))
    assert callbacks.total is None and ".waitForTaskToken" in callbacks.why_not
