"""Fargate's task sizes and what a task costs: plain Python, numbers from ``facts.toml``.

A task definition that requires Fargate (``requiresCompatibilities`` holds ``FARGATE``, even
with ``EC2`` beside it) must name a task-level ``cpu`` and ``memory`` from AWS's table of
combinations; RegisterTaskDefinition refuses anything else with a ``ClientException``
(https://docs.aws.amazon.com/AmazonECS/latest/userguide/task-cpu-memory-error.html):

- a ``cpu`` that is not one of 256, 512, 1024, 2048, 4096, 8192, 16384 units:
  "Invalid 'cpu' setting for task.";
- a ``memory`` that this ``cpu`` does not allow: "No Fargate configuration exists for given
  values: ..." (the message Terraform and the CLI print).

``cpu`` may be written in units (``"256"``) or vCPU (``"0.25 vCPU"``), ``memory`` in MiB
(``"512"``) or GB (``"1 GB"``, ``"1GB"``); both are converted to integers at registration.

Pricing (https://aws.amazon.com/fargate/pricing/): per vCPU-hour and per GB-hour requested, from
the image pull to the task's end, rounded up to the second, with a one-minute minimum (Linux).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from labkit import facts
from labkit.errors import LabkitError

#: Memory (MiB) each Fargate task CPU value allows: (lowest, highest, step); 256 CPU lists
#: three values that are not evenly stepped, written out.
_MEMORY: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}


class TaskSizeError(LabkitError):
    """A task size Fargate does not offer (ECS answers ``ClientException`` with this message)."""

    code = "ClientException"


@dataclass(frozen=True)
class TaskSize:
    """A task's CPU (units, 1024 = 1 vCPU) and memory (MiB)."""

    cpu: int
    memory: int

    @property
    def vcpu(self) -> float:
        """The CPU in vCPU."""
        return self.cpu / 1024

    @property
    def memory_gb(self) -> float:
        """The memory in GB (as Fargate prices it: 1 GB = 1024 MiB)."""
        return self.memory / 1024


def parse_cpu(value: object) -> int | None:
    """CPU units from ``"256"``, ``256`` or ``"0.25 vCPU"``; ``None`` when absent or unreadable."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    found = re.fullmatch(r"(\d+(?:\.\d+)?)\s*vcpu", text, re.IGNORECASE)
    if found:
        return int(float(found.group(1)) * 1024)
    return int(text) if text.isdigit() else None


def parse_memory(value: object) -> int | None:
    """MiB from ``"512"``, ``512`` or ``"1 GB"``; ``None`` when absent or unreadable."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    found = re.fullmatch(r"(\d+(?:\.\d+)?)\s*gb", text, re.IGNORECASE)
    if found:
        return int(float(found.group(1)) * 1024)
    return int(text) if text.isdigit() else None


def memory_choices(cpu: int) -> tuple[int, ...]:
    """The memory values (MiB) Fargate offers with ``cpu`` units (empty for an invalid CPU)."""
    return _MEMORY.get(cpu, ())


def fargate_size(cpu: object, memory: object) -> TaskSize:
    """The task size of a Fargate task definition, or :class:`TaskSizeError` with AWS's message.

    Args:
        cpu: The task-level ``cpu`` as written in the task definition.
        memory: The task-level ``memory`` as written.
    """
    units = parse_cpu(cpu)
    mib = parse_memory(memory)
    if units is None or mib is None:
        missing = "cpu" if units is None else "memory"
        raise TaskSizeError(
            "Fargate requires that 'cpu' be defined at the task level."
            if missing == "cpu"
            else "Fargate requires that 'memory' be defined at the task level."
        )
    if units not in _MEMORY:
        raise TaskSizeError("Invalid 'cpu' setting for task.")
    if mib not in _MEMORY[units]:
        raise TaskSizeError(
            f"No Fargate configuration exists for given values: {units} CPU, {mib} memory. "
            "See the Amazon ECS documentation for the valid values."
        )
    return TaskSize(units, mib)


def task_cost(size: TaskSize, seconds: float) -> float:
    """What a Linux/x86 Fargate task of ``size`` costs for ``seconds`` of run time (US dollars):
    per second, rounded up, one minute at least."""
    billed = max(math.ceil(seconds), int(facts.value("fargate.minimum_billed_seconds")))
    per_hour = size.vcpu * float(
        facts.value("fargate.price_per_vcpu_hour")
    ) + size.memory_gb * float(facts.value("fargate.price_per_gb_hour"))
    return per_hour * billed / 3600


__all__ = [
    "TaskSize",
    "TaskSizeError",
    "fargate_size",
    "memory_choices",
    "parse_cpu",
    "parse_memory",
    "task_cost",
]
