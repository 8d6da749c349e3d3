"""The coupling simulation: a spike through a synchronous chain and through a queue."""

from __future__ import annotations

import pytest

from labkit.clock import Clock
from labkit.services.sqs import sim_coupling as coupling
from labkit.services.sqs.sim_coupling import Shipping, Spike

SPIKE = Spike(base_rate=4, peak_rate=20, start=60, length=60, duration=360)
SHIPPING = Shipping(workers=4, seconds_per_order=0.5)


@pytest.fixture(scope="module")
def runs() -> tuple[coupling.CouplingRun, coupling.CouplingRun]:
    return coupling.compare(SPIKE, SHIPPING, timeout=3, max_waiting=200, seed=7)


def window(run: coupling.CouplingRun, start: int, end: int, field: str) -> int:
    return sum(getattr(s, field) for s in run.seconds[start:end])


def test_both_designs_see_exactly_the_same_orders(
    runs: tuple[coupling.CouplingRun, coupling.CouplingRun],
) -> None:
    sync, queue = runs
    assert [s.arrivals for s in sync.seconds] == [s.arrivals for s in queue.seconds]
    assert len(sync.seconds) == int(SPIKE.duration)
    # The spike really is a spike: several times the base rate while it lasts.
    assert window(sync, 60, 120, "arrivals") > 3 * window(sync, 0, 60, "arrivals")


def test_a_run_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    first = coupling.simulate("synchronous", SPIKE, SHIPPING, seed=3)
    again = coupling.simulate("synchronous", SPIKE, SHIPPING, seed=3)
    other = coupling.simulate("synchronous", SPIKE, SHIPPING, seed=4)
    assert first == again
    assert [s.arrivals for s in first.seconds] != [s.arrivals for s in other.seconds]


def test_the_queue_refuses_nothing_and_works_the_backlog_off_after_the_spike(
    runs: tuple[coupling.CouplingRun, coupling.CouplingRun],
) -> None:
    _, queue = runs
    assert queue.failed == 0
    assert queue.accepted == queue.arrivals
    # The backlog grows during the spike (more than shipping can do) and is gone at the end.
    excess = (SPIKE.peak_rate - SHIPPING.capacity) * SPIKE.length
    assert queue.max_backlog > 0.6 * excess
    assert queue.seconds[-1].backlog <= 10
    peak_at = max(queue.seconds, key=lambda s: s.backlog).t
    assert SPIKE.start + SPIKE.length - 5 <= peak_at <= SPIKE.start + SPIKE.length + 5
    # What grows is the wait: the oldest order waits far longer than one order's work.
    assert queue.max_wait > 30 * SHIPPING.seconds_per_order
    assert queue.shipped >= queue.arrivals - 10


def test_the_synchronous_chain_fails_in_the_spike_and_after_it(
    runs: tuple[coupling.CouplingRun, coupling.CouplingRun],
) -> None:
    sync, _ = runs
    assert window(sync, 0, 60, "failed") == 0  # below capacity, every call is answered
    during = window(sync, 60, 120, "failed")
    assert during > 0.5 * window(sync, 60, 120, "arrivals")
    # Calls whose callers gave up still occupy the workers: failures go on after the spike.
    assert window(sync, 120, 150, "failed") > 0.3 * window(sync, 120, 150, "arrivals")
    assert sync.wasted > 0
    assert sync.max_backlog == 200  # the line filled up
    assert window(sync, 300, 360, "failed") <= 2  # and recovered
    assert sync.accepted + sync.failed >= sync.arrivals - 5


def test_without_a_spike_both_designs_answer_nearly_every_order() -> None:
    calm = Spike(base_rate=4, peak_rate=4, start=0, length=0, duration=120)
    sync, queue = coupling.compare(calm, SHIPPING, seed=1)
    assert queue.failed == 0
    # Service times vary (exponential): a rare order takes longer than the timeout even when
    # the service is not overloaded.
    assert sync.failed <= 0.01 * sync.arrivals


def test_a_run_moves_the_clock_it_is_given_by_the_duration() -> None:
    clock = Clock()
    coupling.simulate("queue", SPIKE, SHIPPING, clock=clock)
    assert clock.elapsed.total_seconds() == SPIKE.duration


def test_bad_parameters_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="style"):
        coupling.simulate("carrier pigeon")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative"):
        Spike(base_rate=-1)
    with pytest.raises(ValueError, match="worker"):
        Shipping(workers=0)
    with pytest.raises(ValueError, match="timeout"):
        coupling.simulate("synchronous", timeout=0)


def test_summaries_and_the_text_table(
    runs: tuple[coupling.CouplingRun, coupling.CouplingRun],
) -> None:
    sync, queue = runs
    assert "wasted" in sync.summary() and "failed" in sync.summary()
    assert "oldest order waited" in queue.summary()
    table = coupling.text_table([sync, queue], every=60).splitlines()
    assert table[0].split() == ["second", "placed", "sync", "failed", "sync", "waiting",
                                "queue", "failed", "queue", "waiting"]  # fmt: skip
    assert len(table) == 2 + int(SPIKE.duration) // 60
    assert coupling.text_table([]) == ""
