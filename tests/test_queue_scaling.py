"""The queue-scaling simulation: a backlog-per-instance target driving an Auto Scaling group."""

from __future__ import annotations

import math

import pytest

from labkit import facts
from labkit.clock import Clock
from labkit.services.sqs import sim_scaling as qs

WORKLOAD = qs.Workload(
    base_rate=4, peak_rate=40, ramp=600, spike_length=600, duration=3000, seconds_per_message=0.5
)
GROUP = qs.Group(launch_seconds=120)


@pytest.fixture(scope="module")
def formula_run() -> qs.ScalingRun:
    return qs.simulate(WORKLOAD, qs.recommended_target(0.5, 180), group=GROUP)


def test_the_recommended_target_is_aws_formula() -> None:
    # https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-using-sqs-queue.html: 10 s
    # acceptable, 0.1 s per message -> 100 messages per instance.
    assert qs.recommended_target(0.1, 10) == pytest.approx(100)
    with pytest.raises(ValueError):
        qs.recommended_target(0, 10)


def test_the_workload_ramps_up_holds_and_ramps_down() -> None:
    w = WORKLOAD
    assert w.rate_at(0) == w.base_rate
    assert w.rate_at(w.spike_start + w.ramp / 2) == pytest.approx((w.base_rate + w.peak_rate) / 2)
    assert w.rate_at(w.spike_start + w.ramp + 1) == w.peak_rate
    end = w.spike_start + 2 * w.ramp + w.spike_length
    assert w.rate_at(end - w.ramp / 2) == pytest.approx((w.base_rate + w.peak_rate) / 2)
    assert w.rate_at(end + 1) == w.base_rate
    assert w.per_instance == 2


def test_the_policy_evaluates_once_per_metric_period_and_the_clock_moves(
    formula_run: qs.ScalingRun,
) -> None:
    period = qs.metric_interval()
    assert period == facts.value("cloudwatch.sqs_metric_interval")
    times = [e.t for e in formula_run.evaluations]
    assert times == [int(period * (i + 1)) for i in range(len(times))]
    assert len(times) == int(WORKLOAD.duration // period)
    assert len(formula_run.samples) == int(WORKLOAD.duration)
    clock = Clock()
    qs.simulate(WORKLOAD, 100, group=GROUP, clock=clock)
    assert clock.elapsed.total_seconds() == WORKLOAD.duration


def test_new_instances_work_only_after_their_launch_time(formula_run: qs.ScalingRun) -> None:
    first = next(e for e in formula_run.evaluations if e.action.startswith("launch"))
    launched = int(first.action.split()[1])
    before = formula_run.samples[first.t - 1].in_service
    ready_at = first.t + int(GROUP.launch_seconds)
    assert formula_run.samples[ready_at - 2].in_service <= before
    assert formula_run.samples[ready_at - 2].launching >= launched
    assert formula_run.samples[ready_at].in_service >= before + launched


def test_the_group_stays_within_its_size_and_scales_in_gradually() -> None:
    group = qs.Group(min_size=2, max_size=15, initial=2, launch_seconds=60, scale_in_step=0.2)
    run = qs.simulate(WORKLOAD, 5, group=group)
    sizes = [s.in_service + s.launching for s in run.samples]
    assert max(sizes) == group.max_size  # a small target asks for more than the maximum
    assert min(sizes) >= group.min_size
    for e in run.evaluations:
        if e.action.startswith("terminate"):
            removed = int(e.action.split()[1])
            assert removed <= max(1, math.floor((e.in_service + removed) * group.scale_in_step))


def test_the_target_trades_waiting_against_instances() -> None:
    small, formula, huge = qs.sweep([60, 360, 10_000], WORKLOAD, group=GROUP)
    assert small.max_wait < formula.max_wait < huge.max_wait
    assert small.instance_minutes > formula.instance_minutes > huge.instance_minutes
    assert small.peak_instances > huge.peak_instances
    # A target that leaves room for the launch time keeps the wait under the acceptable 180 s.
    margin = qs.simulate(WORKLOAD, (180 - 120) / 0.5, group=GROUP)
    assert margin.max_wait <= 180 < formula.max_wait


def test_every_message_is_handled_when_the_group_can_keep_up(formula_run: qs.ScalingRun) -> None:
    sent = sum(s.arrivals for s in formula_run.samples)
    assert sent > 0.9 * sum(WORKLOAD.rate_at(t) for t in range(int(WORKLOAD.duration)))
    assert formula_run.final_backlog == 0


def test_a_run_repeats_for_its_seed() -> None:
    assert qs.simulate(WORKLOAD, 100, group=GROUP, seed=5) == qs.simulate(
        WORKLOAD, 100, group=GROUP, seed=5
    )
    assert qs.simulate(WORKLOAD, 100, group=GROUP, seed=5) != qs.simulate(
        WORKLOAD, 100, group=GROUP, seed=6
    )


@pytest.mark.parametrize("target", [0, -5, math.inf, True, None, "100"])
def test_a_target_that_is_not_a_positive_number_is_refused(target: object) -> None:
    with pytest.raises(ValueError, match="target"):
        qs.simulate(WORKLOAD, target, group=GROUP)  # type: ignore[arg-type]


def test_bad_groups_and_workloads_are_refused() -> None:
    with pytest.raises(ValueError):
        qs.Group(min_size=5, initial=2)
    with pytest.raises(ValueError):
        qs.Group(scale_in_step=0)
    with pytest.raises(ValueError):
        qs.Workload(seconds_per_message=0)


def test_summary_and_table(formula_run: qs.ScalingRun) -> None:
    assert "per instance" in formula_run.summary()
    assert "instance-minutes" in formula_run.summary()
    lines = formula_run.table(every=600).splitlines()
    assert lines[0].split()[:3] == ["time", "msgs/s", "backlog"]
    assert len(lines) == 2 + int(WORKLOAD.duration) // 600
    assert "0.01 per instance" in qs.simulate(WORKLOAD, 0.01, group=GROUP).summary()
