"""Network or Snowball: how long moving a data set takes each way.

Over the network: ``bytes x 8 / (bandwidth x utilisation)``; a link is never fully yours, so the
utilisation (the share of the link the transfer really gets) matters as much as the bandwidth.

By Snowball Edge: the job's whole lifecycle (:mod:`.sim_jobs`): preparing and shipping the
device, copying onto it at the site, shipping it back and importing into S3. Devices hold
``snowball.storage_optimized_capacity_tb`` each (a larger data set needs several jobs, run in
parallel here). The phase durations are the course's assumptions
(:data:`~.sim_jobs.DEFAULT_PHASES`), not AWS figures: AWS publishes no shipping times.

AWS: Snowball Edge is no longer offered to new customers (``snowball.availability``); AWS points
them to DataSync online and to AWS Data Transfer Terminal. The arithmetic stays the lesson.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from labkit import facts
from labkit.errors import LabkitError
from labkit.services.snowball.sim_jobs import DEFAULT_PHASES, Phases

TB = 10**12
DAY = 86_400.0


class CalculatorInputError(LabkitError):
    """A size, bandwidth or utilisation the calculator cannot use."""

    code = "BadTransferEstimate"


def device_capacity_bytes() -> int:
    """Usable capacity of one Snowball Edge Storage Optimized device, in bytes."""
    return int(float(facts.value("snowball.storage_optimized_capacity_tb")) * TB)


def network_seconds(size_bytes: float, bandwidth_bps: float, utilisation: float = 0.8) -> float:
    """Seconds to send ``size_bytes`` over a link of ``bandwidth_bps`` bits per second of which
    the transfer gets ``utilisation`` (0 < u <= 1)."""
    if size_bytes < 0:
        raise CalculatorInputError(f"size must be 0 or more bytes, not {size_bytes}")
    if bandwidth_bps <= 0:
        raise CalculatorInputError(
            f"bandwidth must be positive (bits per second), not {bandwidth_bps}"
        )
    if not 0 < utilisation <= 1:
        raise CalculatorInputError(
            f"utilisation is the share of the link the transfer gets: between 0 (excluded) and 1, "
            f"not {utilisation} (write 80 % as 0.8)"
        )
    return size_bytes * 8 / (bandwidth_bps * utilisation)


def devices_needed(size_bytes: float) -> int:
    """How many Snowball Edge devices (jobs) a data set fills."""
    return max(1, math.ceil(size_bytes / device_capacity_bytes()))


def snowball_seconds(size_bytes: float, phases: Phases = DEFAULT_PHASES) -> float:
    """Seconds from ordering to the data being in S3, devices working in parallel."""
    per_device = min(size_bytes, device_capacity_bytes())
    return phases.total_seconds(per_device)


@dataclass(frozen=True)
class Estimate:
    """Both ways for one data set, and which one to choose.

    Attributes:
        size_bytes: The data set.
        network_seconds: Over the network.
        snowball_seconds: By Snowball Edge (all devices in parallel).
        devices: Devices (jobs) needed.
        choice: ``network`` or ``snowball``: the faster, or the one that meets the deadline.
        meets_deadline: Whether the choice finishes before the deadline (True without one).
    """

    size_bytes: float
    network_seconds: float
    snowball_seconds: float
    devices: int
    choice: str
    meets_deadline: bool

    def text(self) -> str:
        """One line for a learner."""
        return (
            f"{self.size_bytes / TB:,.1f} TB: network {self.network_seconds / DAY:,.1f} days, "
            f"Snowball {self.snowball_seconds / DAY:,.1f} days on {self.devices} device(s): "
            f"choose {self.choice}" + ("" if self.meets_deadline else " (misses the deadline)")
        )


def estimate(
    size_bytes: float,
    bandwidth_bps: float,
    *,
    utilisation: float = 0.8,
    deadline_seconds: float | None = None,
    phases: Phases = DEFAULT_PHASES,
) -> Estimate:
    """Network against Snowball for one data set (the faster wins; a deadline only one of them
    meets picks that one)."""
    net = network_seconds(size_bytes, bandwidth_bps, utilisation)
    snow = snowball_seconds(size_bytes, phases)
    choice = "network" if net <= snow else "snowball"
    chosen = min(net, snow)
    meets = deadline_seconds is None or chosen <= deadline_seconds
    return Estimate(size_bytes, net, snow, devices_needed(size_bytes), choice, meets)
