"""ECS capacity providers, decided as AWS documents them: plain Python on the lab clock.

:mod:`labkit.services.ecs.patch_capacity` feeds this module the cluster's state once a minute of
lab time and applies what it returns to the capacity provider's Auto Scaling group.

**Capacity provider strategy** (:func:`parse_strategy`, :func:`choose`): each item names a
provider with an optional ``base`` (at most one item may have one: the first ``base`` tasks go
there) and a ``weight`` (after the base, tasks are shared in proportion to the weights; a weight
of 0 is never used, and at least one item must weigh more than 0).

**CapacityProviderReservation** (:func:`reservation`): ``M / N x 100``, where ``N`` is the number
of instances in the group and ``M`` the number it needs: the instances running at least one
task, plus, while tasks wait in ``PROVISIONING``, the instances a ``binpack`` of those tasks onto
empty instances of the group's type needs (:func:`instances_needed`), within
``minimumScalingStepSize`` and ``maximumScalingStepSize``. Tasks too big for an empty instance
are left out (the group cannot run them; with only such tasks the metric stays at 100). With no
instance at all, the metric is 100 without tasks waiting and 200 with some.

**Managed scaling** (:func:`decide`), the target tracking policy ECS attaches to the group: above
``targetCapacity`` the group's desired capacity becomes ``ceil(M x 100 / targetCapacity)`` (within
the group's maximum), unless an instance is still within its ``instanceWarmupPeriod`` (or not yet
registered); after :data:`facts` ``ecs_capacity.scale_in_minutes`` minutes below the target, it
falls toward that figure by at least one instance and at most half of them a minute.

Sources: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cluster-auto-scaling.html
(managed scale-out and scale-in behaviour, the metric, the 15 data points before a scale-in),
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cluster-capacity-providers.html
(base and weight), https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ManagedScaling.html
(ranges and defaults), https://aws.amazon.com/blogs/containers/deep-dive-on-amazon-ecs-cluster-auto-scaling/
(M, N and the special cases when N is 0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labkit import facts
from labkit.errors import LabkitError

SCALE_OUT = "scale-out"
SCALE_IN = "scale-in"
#: The capacity providers every cluster may use on Fargate (reserved names).
FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


class CapacityError(LabkitError):
    """A capacity provider, or a strategy, that AWS refuses (the message is AWS's answer)."""

    code = "InvalidParameterException"


# -- the strategy ------------------------------------------------------------------------------
@dataclass(frozen=True)
class StrategyItem:
    """One item of a capacity provider strategy."""

    provider: str
    base: int = 0
    weight: int = 0


def parse_strategy(
    items: Sequence[Mapping[str, Any]], associated: Sequence[str], *, default: bool = False
) -> list[StrategyItem]:
    """A strategy as AWS accepts it, or :class:`CapacityError` with AWS's message.

    Args:
        items: ``capacityProviderStrategy`` as given (``capacityProvider``, ``base``,
            ``weight``).
        associated: The capacity providers associated with the cluster.
        default: Whether this is the cluster's default strategy (its message says so).
    """
    parsed = [
        StrategyItem(
            str(i.get("capacityProvider", "")), int(i.get("base") or 0), int(i.get("weight") or 0)
        )
        for i in items
    ]
    most = int(facts.value("ecs_capacity.strategy_max_providers"))
    if len(parsed) > most:
        raise CapacityError(
            f"The specified capacity provider strategy cannot contain more than {most} capacity "
            "providers."
        )
    for item in parsed:
        if item.provider not in associated:
            raise CapacityError(
                "The specified capacity provider strategy cannot contain a capacity provider that "
                "is not associated with the cluster. Associate the capacity provider with the "
                f"cluster or specify a valid capacity provider and try again. ({item.provider})"
            )
    if sum(1 for i in parsed if i.base) > 1:
        raise CapacityError(
            "The specified capacity provider strategy has more than one capacity provider with a "
            "base value. Only one capacity provider in a strategy can have a base defined."
        )
    fargate = [i.provider in FARGATE_PROVIDERS for i in parsed]
    if any(fargate) and not all(fargate):
        raise CapacityError(
            "The specified capacity provider strategy cannot contain both Auto Scaling group "
            "capacity providers and Fargate capacity providers."
        )
    if parsed and not any(i.weight > 0 for i in parsed):
        which = "default capacity provider strategy" if default else "capacity provider strategy"
        fix = (
            "Update the cluster's default capacity provider strategy or specify a valid capacity "
            "provider strategy"
            if default
            else "Specify a valid capacity provider strategy"
        )
        raise CapacityError(
            f"There are no capacity providers with a weight value greater than zero defined in "
            f"the {which}. At least one capacity provider must have a weight value greater than "
            f"zero specified. {fix} and try again."
        )
    return parsed


def choose(strategy: Sequence[StrategyItem], counts: Mapping[str, int]) -> str:
    """The provider the next task goes to, given how many tasks each already has.

    The base comes first; after it each provider's share of the tasks beyond the base follows
    its weight (ties go to the item listed first).

    Example:
        >>> s = [StrategyItem("a", base=1, weight=1), StrategyItem("b", weight=4)]
        >>> counts: dict[str, int] = {}
        >>> for _ in range(6):
        ...     p = choose(s, counts)
        ...     counts[p] = counts.get(p, 0) + 1
        >>> counts
        {'a': 2, 'b': 4}
    """
    for item in strategy:
        if item.base and counts.get(item.provider, 0) < item.base:
            return item.provider
    weighted = [i for i in strategy if i.weight > 0]
    return min(
        weighted,
        key=lambda i: (counts.get(i.provider, 0) - i.base) / i.weight,
    ).provider


# -- managed scaling ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ManagedScaling:
    """A capacity provider's ``managedScaling`` (with AWS's defaults)."""

    enabled: bool
    target: int = 100
    min_step: int = 1
    max_step: int = 10_000
    warmup: int = 300

    @classmethod
    def parse(cls, body: Mapping[str, Any] | None) -> ManagedScaling:
        """From ``managedScaling`` as given, or :class:`CapacityError` for a value out of
        range (API_ManagedScaling.html)."""
        body = body or {}
        values: dict[str, int] = {}
        warmup = int(facts.value("ecs_capacity.instance_warmup_default_seconds"))
        for name, low, high, default in (
            ("targetCapacity", 1, 100, 100),
            ("minimumScalingStepSize", 1, 10_000, 1),
            ("maximumScalingStepSize", 1, 10_000, 10_000),
            ("instanceWarmupPeriod", 0, 10_000, warmup),
        ):
            raw = body.get(name)
            value = default if raw is None else raw
            try:
                number = int(value)
            except (TypeError, ValueError):
                number = low - 1
            if not low <= number <= high or isinstance(value, bool):
                raise CapacityError(
                    f"The managed scaling {name} value '{value}' is not valid. Specify a value "
                    f"from {low} to {high} and try again."
                )
            values[name] = number
        if values["minimumScalingStepSize"] > values["maximumScalingStepSize"]:
            raise CapacityError(
                "The managed scaling minimumScalingStepSize value must be less than or equal to "
                "the maximumScalingStepSize value."
            )
        status = str(body.get("status") or "DISABLED")
        return cls(
            status == "ENABLED",
            values["targetCapacity"],
            values["minimumScalingStepSize"],
            values["maximumScalingStepSize"],
            values["instanceWarmupPeriod"],
        )


def instances_needed(tasks: Sequence[tuple[int, int]], cpu: int, memory: int) -> int:
    """How many empty instances of ``cpu`` units and ``memory`` MiB a binpack of ``tasks``
    (each ``(cpu, memory)``) needs; tasks that fit no empty instance are left out.

    Example:
        >>> instances_needed([(1024, 1024)] * 5, 2048, 4096)  # two a t3.medium
        3
        >>> instances_needed([(4096, 512)], 2048, 4096)  # too big: never placed
        0
    """
    free: list[list[int]] = []
    for task_cpu, task_memory in sorted(tasks, reverse=True):
        if task_cpu > cpu or task_memory > memory:
            continue
        # Binpack: the instance with the least room left that still fits it.
        fits = [f for f in free if f[0] >= task_cpu and f[1] >= task_memory]
        if fits:
            spot = min(fits, key=lambda f: (f[1], f[0]))
        else:
            spot = [cpu, memory]
            free.append(spot)
        spot[0] -= task_cpu
        spot[1] -= task_memory
    return len(free)


def reservation(needed: int, running: int) -> float:
    """``CapacityProviderReservation``: ``needed / running x 100`` (100 or 200 when nothing
    runs).

    Example:
        >>> reservation(3, 2), reservation(1, 4), reservation(0, 0), reservation(2, 0)
        (150.0, 25.0, 100.0, 200.0)
    """
    if running == 0:
        return float(facts.value("ecs_capacity.reservation_no_instances")) if needed else 100.0
    return round(needed / running * 100, 3)


@dataclass(frozen=True)
class Picture:
    """One minute's look at a capacity provider's group.

    Attributes:
        instances: ``N``: instances in the group (booting ones too).
        busy: Registered instances running at least one task.
        waiting: ``(cpu, memory)`` of each task waiting in ``PROVISIONING``.
        instance_cpu: CPU units of one instance of the group's type.
        instance_memory: Memory (MiB) of one.
        warming: Whether an instance is within its warm-up or not registered yet.
        minimum: The group's ``MinSize``.
        maximum: The group's ``MaxSize``.
    """

    instances: int
    busy: int
    waiting: tuple[tuple[int, int], ...]
    instance_cpu: int
    instance_memory: int
    warming: bool
    minimum: int
    maximum: int


def needed(picture: Picture, scaling: ManagedScaling) -> int:
    """``M``: the instances the group needs now (see the module docstring)."""
    extra = instances_needed(picture.waiting, picture.instance_cpu, picture.instance_memory)
    if extra:
        return picture.instances + max(scaling.min_step, min(scaling.max_step, extra))
    if picture.waiting:
        return picture.instances  # only tasks no instance can hold: the metric stays at 100
    return picture.busy


@dataclass(frozen=True)
class Decision:
    """What managed scaling does to the group's desired capacity after a minute."""

    direction: str
    old: int
    new: int
    reservation: float


def decide(
    picture: Picture, scaling: ManagedScaling, minutes_below: int
) -> tuple[float, Decision | None]:
    """The metric for this minute and the scaling it causes, if any.

    Args:
        picture: The group now.
        scaling: The provider's managed scaling.
        minutes_below: Consecutive minutes (this one included) the metric has been below the
            target.

    Example:
        >>> p = Picture(0, 0, ((1024, 1024),) * 3, 2048, 4096, False, 0, 10)
        >>> metric, d = decide(p, ManagedScaling(True), 0)
        >>> metric, d.new
        (200.0, 2)
    """
    m = needed(picture, scaling)
    metric = reservation(m, picture.instances)
    n = picture.instances
    wanted = math.ceil(m * 100 / scaling.target)
    if metric > scaling.target:
        if picture.warming:
            return metric, None  # scale-out waits until new instances have warmed up
        new = min(max(wanted, n + 1), picture.maximum)
        return metric, Decision(SCALE_OUT, n, new, metric) if new > n else None
    patience = int(facts.value("ecs_capacity.scale_in_minutes"))
    if metric < scaling.target and minutes_below >= patience:
        floor = max(wanted, picture.minimum)
        step = max(1, n // 2)
        new = max(floor, n - step)
        return metric, Decision(SCALE_IN, n, new, metric) if new < n else None
    return metric, None


__all__ = [
    "FARGATE_PROVIDERS",
    "SCALE_IN",
    "SCALE_OUT",
    "CapacityError",
    "Decision",
    "ManagedScaling",
    "Picture",
    "StrategyItem",
    "choose",
    "decide",
    "instances_needed",
    "needed",
    "parse_strategy",
    "reservation",
]
