"""DynamoDB auto scaling (Application Auto Scaling target tracking), decided minute by minute.

Plain Python: :mod:`labkit.services.dynamodb.patch_autoscaling` runs :func:`decide` once a minute
of lab time for each target tracking policy and applies what it returns with ``UpdateTable``.

What AWS documents (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/metrics-dimensions.html
and https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/AutoScaling.html):

- DynamoDB reports consumed capacity per minute; the policy's alarms compare utilization
  (consumed units per second over provisioned units) with the target value.
- **Scale out** when utilization is above the target for 2 consecutive minutes; **scale in**
  when it stays well below the target (the sandbox: 20 percentage points, as AWS's example of a
  70 % target scaling in at 50 %) for 15 consecutive minutes. Out fast, in slowly.
- The new capacity brings utilization back to the target: the busiest of the evaluated minutes
  divided by the target, kept within the scalable target's minimum and maximum.
- ``ScaleOutCooldown``/``ScaleInCooldown`` (default 0 for DynamoDB) hold a further change of the
  same direction back; ``DisableScaleIn`` stops scale-in.

Simplified: AWS's alarms may take a few minutes to fire and ``UpdateTable`` a few more to take
effect; the sandbox applies a decision at the end of the minute that triggered it, so the
lesson's timing is the documented minimum. Throttled requests are not consumed capacity, so a
table throttled at its limit shows 100 % utilization, as on AWS.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: Why a decision was made.
SCALE_OUT = "scale-out"
SCALE_IN = "scale-in"


@dataclass(frozen=True)
class Policy:
    """A target tracking policy on one capacity dimension (a table's or an index's reads or
    writes).

    Attributes:
        target: The target utilization, percent (``TargetValue``).
        minimum: The scalable target's ``MinCapacity``.
        maximum: The scalable target's ``MaxCapacity``.
        scale_out_minutes: Consecutive minutes above the target before scaling out.
        scale_in_minutes: Consecutive minutes below ``target - scale_in_margin`` before scaling in.
        scale_in_margin: Percentage points below the target that count as "well below".
        scale_out_cooldown: Seconds after a scale-out before another.
        scale_in_cooldown: Seconds after a scale-in before another.
        disable_scale_in: Never scale in.
    """

    target: float
    minimum: float
    maximum: float
    scale_out_minutes: int = 2
    scale_in_minutes: int = 15
    scale_in_margin: float = 20.0
    scale_out_cooldown: float = 0.0
    scale_in_cooldown: float = 0.0
    disable_scale_in: bool = False

    @classmethod
    def from_facts(cls, target: float, minimum: float, maximum: float, **kwargs: object) -> Policy:
        """A policy with AWS's alarm periods (from ``labkit.facts``)."""
        from labkit import facts

        return cls(
            target=target,
            minimum=minimum,
            maximum=maximum,
            scale_out_minutes=int(facts.value("dynamodb.autoscaling_scale_out_minutes")),
            scale_in_minutes=int(facts.value("dynamodb.autoscaling_scale_in_minutes")),
            scale_in_margin=float(facts.value("dynamodb.autoscaling_scale_in_margin")),
            **kwargs,  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class Decision:
    """A change of provisioned capacity.

    Attributes:
        direction: :data:`SCALE_OUT` or :data:`SCALE_IN`.
        capacity: The new provisioned units.
        utilization: The utilization (percent) of the minutes that triggered it, newest last.
    """

    direction: str
    capacity: float
    utilization: tuple[float, ...]


def decide(
    minutes: Sequence[float],
    provisioned: float,
    policy: Policy,
    *,
    since_scale_out: float = math.inf,
    since_scale_in: float = math.inf,
) -> Decision | None:
    """What the policy does after a minute, or ``None``.

    Args:
        minutes: Average units consumed per second in each complete minute, newest last.
        provisioned: The units provisioned now.
        policy: The policy.
        since_scale_out: Seconds since the last scale-out (cooldown).
        since_scale_in: Seconds since the last scale-in.

    Example:
        >>> p = Policy(target=70, minimum=5, maximum=100)
        >>> decide([9.0, 9.0], 10, p)
        Decision(direction='scale-out', capacity=13, utilization=(90.0, 90.0))
        >>> decide([9.0], 10, p) is None  # one minute is not enough
        True
    """
    if provisioned <= 0:
        return None
    utilization = [used / provisioned * 100 for used in minutes]
    out = utilization[-policy.scale_out_minutes :]
    if (
        len(out) == policy.scale_out_minutes
        and all(u > policy.target for u in out)
        and since_scale_out >= policy.scale_out_cooldown
    ):
        busiest = max(minutes[-policy.scale_out_minutes :])
        wanted = _within(math.ceil(busiest * 100 / policy.target), policy)
        if wanted > provisioned:
            return Decision(SCALE_OUT, wanted, tuple(round(u, 1) for u in out))
    low = utilization[-policy.scale_in_minutes :]
    if (
        not policy.disable_scale_in
        and len(low) == policy.scale_in_minutes
        and all(u < policy.target - policy.scale_in_margin for u in low)
        and since_scale_in >= policy.scale_in_cooldown
    ):
        busiest = max(minutes[-policy.scale_in_minutes :])
        wanted = _within(math.ceil(busiest * 100 / policy.target), policy)
        if wanted < provisioned:
            return Decision(SCALE_IN, wanted, tuple(round(u, 1) for u in low))
    return None


def _within(capacity: float, policy: Policy) -> float:
    return max(policy.minimum, min(policy.maximum, max(1, capacity)))


def minute_averages(per_second: Sequence[float], minutes: int) -> list[float]:
    """The average of each of the last ``minutes`` whole minutes of ``per_second`` values
    (oldest first; the list ends at the newest second)."""
    out = []
    end = len(per_second)
    for _ in range(minutes):
        start = end - 60
        if start < 0:
            break
        out.append(sum(per_second[start:end]) / 60)
        end = start
    return out[::-1]


__all__ = ["SCALE_IN", "SCALE_OUT", "Decision", "Policy", "decide", "minute_averages"]
