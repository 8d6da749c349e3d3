"""Where ECS places a task on EC2 container instances: plain Python over free capacity.

From https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement.html and
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement-strategies.html:

- an instance can take a task when its free CPU and memory cover the task's and none of the
  task's fixed host ports is taken (a ``hostPort`` of 0 is dynamic and never conflicts);
- constraints filter first (``distinctInstance``: no other task of the same group there);
- strategies order the rest, in the order given: ``binpack`` on ``cpu`` or ``memory`` (the
  instance with the least of it left), ``spread`` on a field (``instanceId`` or
  ``attribute:ecs.availability-zone``: the value with the fewest tasks of the group), ``random``;
  without a strategy, RunTask spreads over Availability Zones;
- nothing fits: RunTask answers a failure ``RESOURCE:CPU``, ``RESOURCE:MEMORY`` or
  ``RESOURCE:PORTS`` for the closest instance, and a service keeps the task waiting with the
  event "unable to place a task because no container instance met all of its requirements".
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Instance:
    """A container instance as placement sees it.

    Attributes:
        arn: Its container instance ARN.
        ec2_id: The EC2 instance id.
        zone: Its Availability Zone.
        cpu: Registered CPU units.
        memory: Registered memory (MiB).
        used_cpu: CPU reserved by its tasks.
        used_memory: Memory reserved by its tasks.
        ports: Host ports taken.
        groups: Tasks placed there, by group (``service:web``, ``family:worker``).
    """

    arn: str
    ec2_id: str
    zone: str
    cpu: int
    memory: int
    used_cpu: int = 0
    used_memory: int = 0
    ports: set[int] = field(default_factory=set)
    groups: dict[str, int] = field(default_factory=dict)

    @property
    def free_cpu(self) -> int:
        """CPU units not reserved."""
        return self.cpu - self.used_cpu

    @property
    def free_memory(self) -> int:
        """Memory (MiB) not reserved."""
        return self.memory - self.used_memory

    @property
    def task_count(self) -> int:
        """How many tasks it runs."""
        return sum(self.groups.values())


@dataclass(frozen=True)
class Need:
    """What one task reserves: CPU units, memory (MiB), fixed host ports, its group."""

    cpu: int
    memory: int
    ports: tuple[int, ...] = ()
    group: str = ""


@dataclass(frozen=True)
class Placement:
    """Where a task goes, or why it cannot go anywhere (``instance`` is ``None``).

    Attributes:
        instance: The chosen instance.
        reason: ``RESOURCE:CPU``, ``RESOURCE:MEMORY``, ``RESOURCE:PORTS`` or
            ``MemberOf``/``distinctInstance`` (a constraint), when none fits.
        closest: The instance that came closest, for the message.
    """

    instance: Instance | None
    reason: str = ""
    closest: Instance | None = None

    def message(self, service: str) -> str:
        """The service event ECS writes when a task cannot be placed."""
        what = {
            "RESOURCE:CPU": "has insufficient CPU units available",
            "RESOURCE:MEMORY": "has insufficient memory available",
            "RESOURCE:PORTS": "is already using a port required by your task",
        }.get(self.reason, "does not satisfy the placement constraints")
        closest = self.closest.arn.rsplit("/", 1)[-1] if self.closest else "(none registered)"
        return (
            f"service {service} was unable to place a task because no container instance met "
            f"all of its requirements. The closest matching container-instance {closest} "
            f"{what}. For more information, see the Troubleshooting section of the Amazon ECS "
            "Developer Guide."
        )


def _misfit(instance: Instance, need: Need) -> str:
    if need.cpu > instance.free_cpu:
        return "RESOURCE:CPU"
    if need.memory > instance.free_memory:
        return "RESOURCE:MEMORY"
    if any(p in instance.ports for p in need.ports if p):
        return "RESOURCE:PORTS"
    return ""


def _field_value(instance: Instance, name: str) -> str:
    lowered = name.lower()
    if lowered in ("instanceid", "host"):
        return instance.ec2_id
    if lowered == "attribute:ecs.availability-zone":
        return instance.zone
    return ""


def place(
    instances: Sequence[Instance],
    need: Need,
    *,
    strategy: Sequence[Mapping[str, Any]] = (),
    constraints: Sequence[Mapping[str, Any]] = (),
    rng: random.Random | None = None,
) -> Placement:
    """Choose an instance for a task (see the module docstring)."""
    if not instances:
        return Placement(None, "MISSING", None)
    fits: list[Instance] = []
    closest: tuple[int, Instance, str] | None = None
    for instance in instances:
        misfit = _misfit(instance, need)
        if not misfit:
            for constraint in constraints:
                if str(constraint.get("type", "")) == "distinctInstance" and instance.groups.get(
                    need.group
                ):
                    misfit = "distinctInstance"
        if misfit:
            score = min(instance.free_cpu - need.cpu, instance.free_memory - need.memory)
            if closest is None or score > closest[0]:
                closest = (score, instance, misfit)
            continue
        fits.append(instance)
    if not fits:
        assert closest is not None
        return Placement(None, closest[2], closest[1])
    steps = list(strategy) or [{"type": "spread", "field": "attribute:ecs.availability-zone"}]
    chooser = rng or random.Random(0)
    # Strategies are applied in order: sort by the last one first (a stable sort keeps ties).
    for step in reversed(steps):
        kind = str(step.get("type", "")).lower()
        name = str(step.get("field", ""))
        if kind == "binpack":
            key = "memory" if name.lower() != "cpu" else "cpu"
            fits.sort(key=lambda i: i.free_memory if key == "memory" else i.free_cpu)
        elif kind == "spread":
            counts: dict[str, int] = {}
            for instance in instances:
                value = _field_value(instance, name)
                counts[value] = counts.get(value, 0) + instance.groups.get(need.group, 0)
            fits.sort(key=lambda i: counts.get(_field_value(i, name), 0))
        elif kind == "random":
            chooser.shuffle(fits)
    return Placement(fits[0])


def reserve(instance: Instance, need: Need) -> None:
    """Take a placed task's resources on ``instance``."""
    instance.used_cpu += need.cpu
    instance.used_memory += need.memory
    instance.ports.update(p for p in need.ports if p)
    instance.groups[need.group] = instance.groups.get(need.group, 0) + 1


def release(instance: Instance, need: Need) -> None:
    """Give a stopped task's resources back."""
    instance.used_cpu -= need.cpu
    instance.used_memory -= need.memory
    instance.ports.difference_update(p for p in need.ports if p)
    left = instance.groups.get(need.group, 0) - 1
    if left > 0:
        instance.groups[need.group] = left
    else:
        instance.groups.pop(need.group, None)


__all__ = ["Instance", "Need", "Placement", "place", "release", "reserve"]
