"""ECS service auto scaling, decided on the lab clock: the CPU model, target tracking, steps.

Plain Python: :mod:`labkit.services.ecs.patch_scaling` feeds it the lab's state once a minute
and applies what it returns as the service's ``desiredCount``.

**CPU model** (there are no real processes to measure). A task's CPU use is what its apps
declare: each request a container's WSGI app answers costs the app's ``cpu_seconds_per_request``
attribute (if the image's callable has one) or :data:`REQUEST_CPU_SECONDS` of one vCPU, and a
long-running command uses its callable's ``cpu_seconds_per_minute`` (default 0) while it runs. The
service's ``CPUUtilization`` for a minute is, as ECS defines it, the CPU its tasks used over the
CPU they reserve: ``sum(cpu seconds used) / sum(task vCPUs x 60) x 100``, at most 100 per task.
So 600 requests a minute at 0.05 s on one 0.25-vCPU task is 30 CPU-seconds of 15: 100 %.

**Target tracking** (``ECSServiceAverageCPUUtilization``) is the DynamoDB decision applied to
tasks: the alarms AWS creates scale out after :data:`facts` ``ecs.autoscaling_scale_out_minutes``
minutes above the target and in after ``ecs.autoscaling_scale_in_minutes`` minutes below 90 % of
it; the new count is ``ceil(busiest minute's task-equivalents x 100 / target)`` within the
scalable target's minimum and maximum; cooldowns default to 300 s for ECS.

**Step scaling** (:func:`step`): the alarm's breach (metric minus threshold) picks the step
adjustment whose interval holds it; ``ChangeInCapacity``, ``ExactCapacity`` or
``PercentChangeInCapacity`` (with ``MinAdjustmentMagnitude``) gives the new count.

Sources: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-autoscaling-targettracking.html,
https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html,
https://docs.aws.amazon.com/autoscaling/application/userguide/step-scaling-policy-overview.html,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-actions.html (an alarm with
an Auto Scaling action invokes it again each period it stays in ALARM).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labkit import facts
from labkit.services.dynamodb.sim_capacity_autoscaling import Decision, Policy, decide

#: Not an AWS number: CPU seconds (of one vCPU) a request costs when the app declares none.
REQUEST_CPU_SECONDS = 0.05
#: CPU units in one vCPU (ECS's unit).
UNITS_PER_VCPU = 1024
#: The CPU a task counts as reserving when its definition reserves none (EC2, no ``cpu``).
DEFAULT_TASK_UNITS = 1024

SCALE_OUT = "scale-out"
SCALE_IN = "scale-in"


def request_cost(entry: Any) -> float:
    """CPU seconds one request to the image ``entry`` costs (its declared figure or the
    default)."""
    declared = getattr(entry, "cpu_seconds_per_request", None)
    if isinstance(declared, int | float) and not isinstance(declared, bool) and declared >= 0:
        return float(declared)
    return REQUEST_CPU_SECONDS


def command_cost(entry: Any) -> float:
    """CPU seconds a minute the long-running command ``entry`` declares (0 when it declares
    none)."""
    declared = getattr(entry, "cpu_seconds_per_minute", None)
    if isinstance(declared, int | float) and not isinstance(declared, bool) and declared >= 0:
        return float(declared)
    return 0.0


def utilization(used_seconds: Sequence[float], units: Sequence[int], seconds: float) -> float:
    """The service's CPU utilization (percent) over ``seconds``.

    Args:
        used_seconds: CPU seconds each running task used in the period.
        units: Each task's reserved CPU units.
        seconds: The period's length.

    Example:
        >>> utilization([30.0], [256], 60)
        100.0
        >>> utilization([3.0, 0.0], [256, 256], 60)
        10.0
    """
    reserved = [(u or DEFAULT_TASK_UNITS) / UNITS_PER_VCPU * seconds for u in units]
    if not reserved:
        return 0.0
    used = sum(min(s, r) for s, r in zip(used_seconds, reserved, strict=True))
    return round(used / sum(reserved) * 100, 3)


def tracking_policy(body: Mapping[str, Any], minimum: float, maximum: float) -> Policy:
    """The target tracking rules of a policy configuration (``TargetValue``, cooldowns)."""
    target = float(body.get("TargetValue", 75.0))
    cooldown = float(facts.value("ecs.autoscaling_default_cooldown_seconds"))
    ratio = float(facts.value("ecs.autoscaling_scale_in_ratio"))
    return Policy(
        target=target,
        minimum=minimum,
        maximum=maximum,
        scale_out_minutes=int(facts.value("ecs.autoscaling_scale_out_minutes")),
        scale_in_minutes=int(facts.value("ecs.autoscaling_scale_in_minutes")),
        scale_in_margin=target * (1 - ratio),
        scale_out_cooldown=float(body.get("ScaleOutCooldown", cooldown)),
        scale_in_cooldown=float(body.get("ScaleInCooldown", cooldown)),
        disable_scale_in=bool(body.get("DisableScaleIn", False)),
    )


def track(
    minutes: Sequence[tuple[float, int]],
    desired: int,
    policy: Policy,
    *,
    since_scale_out: float = math.inf,
    since_scale_in: float = math.inf,
) -> Decision | None:
    """What target tracking does after a minute, or ``None``.

    Args:
        minutes: ``(utilization percent, running tasks)`` of each complete minute, newest last.
        desired: The desired count now.
        policy: From :func:`tracking_policy`.

    Example:
        >>> p = Policy(target=50, minimum=1, maximum=10, scale_out_minutes=3)
        >>> track([(90.0, 2)] * 3, 2, p).capacity  # 1.8 tasks' worth of CPU at 50 %
        4
    """
    equivalents = [u * n / 100 for u, n in minutes]
    return decide(
        equivalents,
        float(desired),
        policy,
        since_scale_out=since_scale_out,
        since_scale_in=since_scale_in,
    )


@dataclass(frozen=True)
class StepResult:
    """A step scaling decision: the adjustment chosen and the new count."""

    adjustment: float
    capacity: int


def step(
    config: Mapping[str, Any],
    breach: float,
    current: int,
    minimum: int,
    maximum: int,
    *,
    above: bool = True,
) -> StepResult | None:
    """The new desired count a step scaling policy asks for, or ``None`` (no step matches).

    Args:
        config: ``StepScalingPolicyConfiguration``.
        breach: The alarm's metric value minus its threshold.
        current: The desired count now.
        minimum: The scalable target's minimum.
        maximum: Its maximum.
        above: Whether the alarm fires above its threshold (``GreaterThan...``): then a
            step's lower bound is inclusive; for an alarm below its threshold the upper one is.

    Example:
        >>> cfg = {"AdjustmentType": "ChangeInCapacity", "StepAdjustments": [
        ...     {"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 100,
        ...      "ScalingAdjustment": 1},
        ...     {"MetricIntervalLowerBound": 100, "ScalingAdjustment": 3}]}
        >>> step(cfg, 150, 2, 1, 10)
        StepResult(adjustment=3.0, capacity=5)
    """
    chosen: float | None = None
    for entry in config.get("StepAdjustments") or []:
        lower = entry.get("MetricIntervalLowerBound")
        upper = entry.get("MetricIntervalUpperBound")
        low = -math.inf if lower is None else float(lower)
        high = math.inf if upper is None else float(upper)
        inside = low <= breach < high if above else low < breach <= high
        if inside:
            chosen = float(entry.get("ScalingAdjustment", 0))
            break
    if chosen is None:
        return None
    kind = config.get("AdjustmentType", "ChangeInCapacity")
    if kind == "ExactCapacity":
        wanted = int(chosen)
    elif kind == "PercentChangeInCapacity":
        change = current * chosen / 100
        # AWS rounds a change above 1 (in size) toward zero, and one below 1 up to 1.
        delta = int(change) if abs(change) >= 1 else int(math.copysign(1, change)) if change else 0
        magnitude = int(config.get("MinAdjustmentMagnitude") or 0)
        if magnitude and 0 < abs(delta) < magnitude:
            delta = int(math.copysign(magnitude, delta))
        wanted = current + delta
    else:
        wanted = current + int(chosen)
    return StepResult(chosen, max(minimum, min(maximum, wanted)))


def breaches(operator: str, value: float, threshold: float) -> bool:
    """Whether ``value`` breaches ``threshold`` under a CloudWatch ``ComparisonOperator``."""
    return {
        "GreaterThanThreshold": value > threshold,
        "GreaterThanOrEqualToThreshold": value >= threshold,
        "LessThanThreshold": value < threshold,
        "LessThanOrEqualToThreshold": value <= threshold,
    }.get(operator, False)


def alarm_state(
    operator: str, threshold: float, values: Sequence[float], periods: int, to_alarm: int
) -> str:
    """``ALARM``, ``OK`` or ``INSUFFICIENT_DATA`` for the newest ``periods`` values.

    Example:
        >>> alarm_state("GreaterThanThreshold", 10, [5, 20, 30], 2, 2)
        'ALARM'
        >>> alarm_state("GreaterThanThreshold", 10, [20], 2, 2)
        'INSUFFICIENT_DATA'
    """
    window = list(values)[-periods:]
    if len(window) < periods:
        return "INSUFFICIENT_DATA"
    breaching = sum(1 for v in window if breaches(operator, v, threshold))
    return "ALARM" if breaching >= to_alarm else "OK"


__all__ = [
    "REQUEST_CPU_SECONDS",
    "SCALE_IN",
    "SCALE_OUT",
    "StepResult",
    "alarm_state",
    "breaches",
    "command_cost",
    "request_cost",
    "step",
    "track",
    "tracking_policy",
    "utilization",
]
