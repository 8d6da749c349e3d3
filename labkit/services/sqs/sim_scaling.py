"""Scaling consumers on queue depth: a backlog-per-instance target driving an Auto Scaling group.

AWS's recipe for scaling an Auto Scaling group of queue consumers is a **target tracking** policy
on the **backlog per instance**: the queue's ``ApproximateNumberOfMessagesVisible`` divided by the
group's number of ``InService`` instances. Its target is the longest acceptable wait divided by the
time one instance takes per message: with 10 s acceptable and 0.1 s per message, each instance may
have 100 messages waiting for it
(https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-using-sqs-queue.html).

moto publishes no SQS metrics to CloudWatch and evaluates no alarms, so a lab cannot watch a real
group follow a real queue. This module simulates both on a :class:`~labkit.clock.Clock`:

- messages arrive at a rate that follows a :class:`Workload` (a steady rate, a ramp up to a spike,
  the spike, a ramp down), drawn from a seeded ``random.Random``;
- each ``InService`` instance handles one message every ``seconds_per_message``;
- once per metric period (SQS sends its metrics to CloudWatch once a minute) the policy reads the
  backlog per instance and computes the capacity that would bring it to the target,
  ``ceil(visible messages / target)``, within the group's minimum and maximum;
- it scales **out** at once: new instances start, and count as ``InService`` (and work) only after
  ``launch_seconds``; it scales **in** only after the group has been larger than needed for
  ``scale_in_periods`` periods in a row, and then by at most ``scale_in_step`` of the group at a
  time, because target tracking scales out proportionally as fast as it can but scales in more
  gradually, to keep the application available
  (https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-scaling-target-tracking.html). How
  AWS does that is its own business (it manages the alarms); here both are parameters of the
  model.

Plain Python, no moto. AWS numbers come from :mod:`labkit.facts`.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from labkit import facts
from labkit.clock import Clock


def metric_interval() -> float:
    """Seconds between two data points of an SQS metric (the policy's evaluation period)."""
    return float(facts.value("cloudwatch.sqs_metric_interval"))


def recommended_target(seconds_per_message: float, acceptable_wait: float) -> float:
    """AWS's formula: the backlog per instance that one instance clears in ``acceptable_wait``."""
    if seconds_per_message <= 0 or acceptable_wait <= 0:
        raise ValueError("Both times must be positive.")
    return acceptable_wait / seconds_per_message


@dataclass(frozen=True)
class Workload:
    """Messages per second over time, and what one message costs to handle.

    Attributes:
        base_rate: Messages per second outside the spike.
        peak_rate: Messages per second at the top of the spike.
        spike_start: When the ramp up starts (seconds from the start).
        ramp: How long the rate takes to climb to the peak (and to fall back).
        spike_length: How long the peak lasts.
        duration: The whole run (seconds).
        seconds_per_message: Time one instance needs for one message.
    """

    base_rate: float = 20.0
    peak_rate: float = 200.0
    spike_start: float = 300.0
    ramp: float = 120.0
    spike_length: float = 600.0
    duration: float = 2400.0
    seconds_per_message: float = 0.1

    def __post_init__(self) -> None:
        if min(self.base_rate, self.peak_rate) < 0:
            raise ValueError("Message rates cannot be negative.")
        if self.seconds_per_message <= 0 or self.duration <= 0:
            raise ValueError("The run and the work per message need positive durations.")
        if min(self.ramp, self.spike_length, self.spike_start) < 0:
            raise ValueError("The spike's times cannot be negative.")

    def rate_at(self, t: float) -> float:
        """Messages per second at ``t`` seconds into the run."""
        up = self.spike_start
        top = up + self.ramp
        down = top + self.spike_length
        end = down + self.ramp
        if t < up or t >= end:
            return self.base_rate
        if t < top:
            return self.base_rate + (self.peak_rate - self.base_rate) * (t - up) / self.ramp
        if t < down:
            return self.peak_rate
        return self.peak_rate - (self.peak_rate - self.base_rate) * (t - down) / self.ramp

    @property
    def per_instance(self) -> float:
        """Messages per second one instance handles."""
        return 1.0 / self.seconds_per_message


@dataclass(frozen=True)
class Group:
    """The Auto Scaling group of consumers.

    Attributes:
        min_size: Fewest instances.
        max_size: Most instances.
        initial: Instances in service at the start.
        launch_seconds: From launch to ``InService`` (boot, warm-up): a launching instance is
            paid for but handles nothing.
        scale_in_periods: Evaluation periods in a row the group must be larger than needed
            before the policy removes instances.
        scale_in_step: The largest share of the group one scale-in removes (at least one
            instance).
    """

    min_size: int = 1
    max_size: int = 40
    initial: int = 3
    launch_seconds: float = 120.0
    scale_in_periods: int = 3
    scale_in_step: float = 0.2

    def __post_init__(self) -> None:
        if not 0 <= self.min_size <= self.initial <= self.max_size or self.max_size < 1:
            raise ValueError("The group needs 0 <= min_size <= initial <= max_size, max_size >= 1.")
        if self.launch_seconds < 0 or self.scale_in_periods < 1:
            raise ValueError("launch_seconds cannot be negative; scale_in_periods is at least 1.")
        if not 0 < self.scale_in_step <= 1:
            raise ValueError("scale_in_step is a share of the group, above 0 and at most 1.")


@dataclass(frozen=True)
class Sample:
    """The queue and the group at the end of one second.

    Attributes:
        t: The second.
        rate: The workload's rate then (messages per second).
        arrivals: Messages sent in that second.
        backlog: Messages visible in the queue (waiting).
        in_service: Instances handling messages.
        launching: Instances started but not in service yet.
        oldest: Age of the oldest waiting message (seconds; 0 when none waits).
    """

    t: int
    rate: float
    arrivals: int
    backlog: int
    in_service: int
    launching: int
    oldest: float


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of the policy.

    Attributes:
        t: When (seconds).
        backlog: Visible messages then.
        in_service: Instances in service then.
        metric: Backlog per instance (``inf`` with no instance in service).
        desired: The capacity the policy asked for.
        action: What it did, in words.
    """

    t: int
    backlog: int
    in_service: int
    metric: float
    desired: int
    action: str


@dataclass(frozen=True)
class ScalingRun:
    """A whole run: second by second, and every evaluation of the policy."""

    workload: Workload
    group: Group
    target: float
    samples: tuple[Sample, ...]
    evaluations: tuple[Evaluation, ...]

    @property
    def max_backlog(self) -> int:
        """The deepest the queue got."""
        return max((s.backlog for s in self.samples), default=0)

    @property
    def max_wait(self) -> float:
        """The longest any message waited before an instance took it (seconds)."""
        return max((s.oldest for s in self.samples), default=0.0)

    @property
    def peak_instances(self) -> int:
        """The most instances running (in service or launching) at once."""
        return max((s.in_service + s.launching for s in self.samples), default=0)

    @property
    def instance_minutes(self) -> float:
        """Instance time paid for (launching instances included), in minutes."""
        return sum(s.in_service + s.launching for s in self.samples) / 60.0

    @property
    def final_backlog(self) -> int:
        """Messages still waiting at the end."""
        return self.samples[-1].backlog if self.samples else 0

    def summary(self) -> str:
        """One line: how deep, how long, how many instances."""
        target = f"{self.target:,.0f}" if self.target >= 10 else f"{self.target:.3g}"
        return (
            f"target {target} per instance: deepest backlog {self.max_backlog:,d}, "
            f"longest wait {self.max_wait:,.0f} s, up to {self.peak_instances} instances, "
            f"{self.instance_minutes:,.0f} instance-minutes"
        )

    def table(self, *, every: int = 120) -> str:
        """The run as text: one row every ``every`` seconds."""
        rows = [["time", "msgs/s", "backlog", "in service", "launching", "oldest wait"]]
        for sample in self.samples[::every]:
            rows.append(
                [
                    f"{sample.t // 60:>3d}:{sample.t % 60:02d}",
                    f"{sample.rate:,.0f}",
                    f"{sample.backlog:,d}",
                    str(sample.in_service),
                    str(sample.launching),
                    f"{sample.oldest:,.0f} s",
                ]
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw: exact for small means, the normal approximation for large ones."""
    if mean <= 0:
        return 0
    if mean < 30:
        limit, k, p = math.exp(-mean), 0, 1.0
        while True:
            p *= rng.random()
            if p <= limit:
                return k
            k += 1
    return max(0, round(rng.gauss(mean, math.sqrt(mean))))


class _Simulation:
    def __init__(
        self, workload: Workload, target: float, group: Group, seed: int, clock: Clock
    ) -> None:
        self.workload = workload
        self.target = target
        self.group = group
        self.rng = random.Random(seed)
        self.clock = clock
        self.t0 = clock.timestamp
        self.waiting: deque[list[float]] = deque()  # [arrival second, count], oldest first
        self.backlog = 0
        self.in_service = group.initial
        self.launching: list[float] = []  # when each launching instance enters service
        self.credit = 0.0  # work left over from the previous second (a fraction of a message)
        self.low_periods = 0
        self.samples: list[Sample] = []
        self.evaluations: list[Evaluation] = []

    def second(self) -> None:
        t = round(self.clock.timestamp - self.t0) - 1  # the second that just ended
        now = t + 1
        ready = [at for at in self.launching if at <= now]
        if ready:
            self.in_service += len(ready)
            self.launching = [at for at in self.launching if at > now]
        rate = self.workload.rate_at(t)
        arrivals = _poisson(self.rng, rate)
        if arrivals:
            self.waiting.append([float(t), float(arrivals)])
            self.backlog += arrivals
        self.credit += self.in_service * self.workload.per_instance
        while self.waiting and self.credit >= 1.0:
            cohort = self.waiting[0]
            take = min(cohort[1], math.floor(self.credit))
            cohort[1] -= take
            self.credit -= take
            self.backlog -= int(take)
            if cohort[1] <= 0:
                self.waiting.popleft()
        if not self.waiting:
            self.credit = 0.0  # idle instances do not bank work for later
        oldest = now - self.waiting[0][0] if self.waiting else 0.0
        self.samples.append(
            Sample(t, rate, arrivals, self.backlog, self.in_service, len(self.launching), oldest)
        )

    def evaluate(self) -> None:
        now = round(self.clock.timestamp - self.t0)
        metric = self.backlog / self.in_service if self.in_service else math.inf
        group = self.group
        desired = min(group.max_size, max(group.min_size, math.ceil(self.backlog / self.target)))
        capacity = self.in_service + len(self.launching)
        if desired > capacity:
            self.launching.extend([now + group.launch_seconds] * (desired - capacity))
            self.low_periods = 0
            action = f"launch {desired - capacity}"
        elif desired < capacity:
            self.low_periods += 1
            if self.low_periods >= group.scale_in_periods:
                step = max(1, math.floor(capacity * group.scale_in_step))
                remove = min(capacity - desired, self.in_service, step)
                self.in_service -= remove
                self.low_periods = 0
                action = f"terminate {remove}"
            else:
                action = f"wait ({self.low_periods}/{group.scale_in_periods} low periods)"
        else:
            self.low_periods = 0
            action = "hold"
        self.evaluations.append(
            Evaluation(now, self.backlog, self.in_service, metric, desired, action)
        )


def simulate(
    workload: Workload | None = None,
    target: float = 100.0,
    *,
    group: Group | None = None,
    seed: int = 0,
    clock: Clock | None = None,
) -> ScalingRun:
    """Run the workload through a group scaled by a backlog-per-instance target.

    Args:
        workload: The traffic and the work per message (a default spike when ``None``).
        target: The backlog per instance the policy tracks (messages).
        group: The Auto Scaling group (defaults when ``None``).
        seed: Seed of the arrivals.
        clock: The clock to run on (a new one when ``None``); it moves ``workload.duration``.

    Raises:
        ValueError: If ``target`` is not a positive number.
    """
    if isinstance(target, bool) or not isinstance(target, (int, float)):
        raise ValueError(f"The target must be a number of messages per instance, not {target!r}.")
    if not target > 0 or math.isinf(target):
        raise ValueError(f"The target must be a positive number of messages, not {target!r}.")
    workload = workload or Workload()
    group = group or Group()
    clock = clock or Clock()
    sim = _Simulation(workload, float(target), group, seed, clock)
    period = metric_interval()
    # Two repeating events on the clock: the world every second, the policy every period. At a
    # shared instant the second runs first (it was scheduled first), so the policy sees it.
    tick = clock.every(1, sim.second, label="queue and consumers")
    evaluation = clock.every(period, sim.evaluate, label="target tracking")
    try:
        clock.advance(int(workload.duration))
    finally:
        tick.cancel()
        evaluation.cancel()
    return ScalingRun(workload, group, float(target), tuple(sim.samples), tuple(sim.evaluations))


def sweep(
    targets: Sequence[float],
    workload: Workload | None = None,
    *,
    group: Group | None = None,
    seed: int = 0,
) -> list[ScalingRun]:
    """One run per target, same workload and seed (to compare targets)."""
    return [simulate(workload, target, group=group, seed=seed) for target in targets]


__all__ = [
    "Evaluation",
    "Group",
    "Sample",
    "ScalingRun",
    "Workload",
    "metric_interval",
    "recommended_target",
    "simulate",
    "sweep",
]
