"""Snowball Edge jobs on the lab clock: a small client-like API over a lifecycle simulator.

moto 5.2.5 has no Snowball (``lab.client("snowball")`` raises ``NotSimulatedError``). This
module keeps jobs in plain Python with the calls a learner would make, in boto3's shapes:
``create_job``, ``describe_job``, ``list_jobs``, ``cancel_job``, ``get_snowball_usage``.

A job's ``JobState`` follows the lab clock through AWS's states (the ``JobState`` values of the
API: https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/snowball/aws.sdk.kotlin.services.snowball.model/-job-state):

- IMPORT: New, PreparingAppliance, PreparingShipment, InTransitToCustomer, WithCustomer (you copy
  the data onto the device), InTransitToAWS, WithAWSSortingFacility, WithAWS, InProgress (AWS
  imports into S3), Complete;
- EXPORT: New, InProgress (AWS copies from S3 onto the device), PreparingAppliance,
  PreparingShipment, InTransitToCustomer, WithCustomer, InTransitToAWS, WithAWSSortingFacility,
  WithAWS (AWS erases the device), Complete.

How long each phase takes is the course's assumption (:class:`Phases`), not an AWS figure. Job
types are AWS's (IMPORT into S3, EXPORT out of S3, LOCAL_USE): there is no Region-to-Region job,
and a job moves at most one device's capacity (a bigger data set needs more jobs).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit import facts
from labkit.errors import LabkitError

TB = 10**12
DAY = 86_400.0
JOB_TYPES = ("IMPORT", "EXPORT", "LOCAL_USE")
#: Device kinds offered today (the Snowball API's SnowballType values for them).
DEVICE_KINDS = {
    "V3_5S": "Snowball Edge Storage Optimized 210 TB",
    "V3_5C": "Snowball Edge Compute Optimized",
}
IMPORT_STATES = (
    "New",
    "PreparingAppliance",
    "PreparingShipment",
    "InTransitToCustomer",
    "WithCustomer",
    "InTransitToAWS",
    "WithAWSSortingFacility",
    "WithAWS",
    "InProgress",
    "Complete",
)
EXPORT_STATES = (
    "New",
    "InProgress",
    "PreparingAppliance",
    "PreparingShipment",
    "InTransitToCustomer",
    "WithCustomer",
    "InTransitToAWS",
    "WithAWSSortingFacility",
    "WithAWS",
    "Complete",
)


class SnowballError(LabkitError):
    """A Snowball request AWS would refuse (``InvalidInputCombinationException`` and kin)."""

    code = "InvalidInputCombinationException"


class JobNotFoundError(LabkitError):
    """No job of that id."""

    code = "InvalidResourceException"


@dataclass(frozen=True)
class Phases:
    """How long each phase of a job takes, in days (the course's assumptions).

    ``copy_tb_per_day`` is how fast data goes onto the device at the site and into S3 at AWS
    (both copies are bounded by the site's and AWS's copy rates, not by shipping).
    """

    order_days: float = 0.5
    prepare_days: float = 1.0
    ship_days: float = 2.0
    sort_days: float = 1.0
    copy_tb_per_day: float = 40.0

    def copy_seconds(self, size_bytes: float) -> float:
        """Seconds to copy ``size_bytes`` on or off a device."""
        return size_bytes / TB / self.copy_tb_per_day * DAY

    def durations(self, job_type: str, size_bytes: float) -> dict[str, float]:
        """Seconds spent in each state (Complete last, open-ended)."""
        copy = self.copy_seconds(size_bytes)
        spans = {
            "New": self.order_days * DAY,
            "PreparingAppliance": self.prepare_days * DAY,
            "PreparingShipment": self.order_days * DAY,
            "InTransitToCustomer": self.ship_days * DAY,
            "WithCustomer": copy if job_type == "IMPORT" else copy / 2 + self.order_days * DAY,
            "InTransitToAWS": self.ship_days * DAY,
            "WithAWSSortingFacility": self.sort_days * DAY,
            "WithAWS": self.order_days * DAY,
            "InProgress": copy,
        }
        return spans

    def total_seconds(self, size_bytes: float, job_type: str = "IMPORT") -> float:
        """Seconds from ordering to Complete."""
        return sum(self.durations(job_type, size_bytes).values())


DEFAULT_PHASES = Phases()


@dataclass
class Job:
    """One Snowball job."""

    job_id: str
    job_type: str
    bucket_arn: str
    snowball_type: str
    size_bytes: float
    created: float
    phases: Phases
    cancelled_at: float | None = None
    history: list[tuple[str, float]] = field(default_factory=list)

    def states(self) -> tuple[str, ...]:
        return IMPORT_STATES if self.job_type == "IMPORT" else EXPORT_STATES

    def timeline(self) -> list[tuple[str, float]]:
        """``(state, start time)`` for every state of the job."""
        spans = self.phases.durations(self.job_type, self.size_bytes)
        t = self.created
        out = []
        for state in self.states():
            out.append((state, t))
            t += spans.get(state, 0.0)
        return out

    def state_at(self, now: float) -> str:
        """The job's state at lab time ``now``."""
        if self.cancelled_at is not None and now >= self.cancelled_at:
            return "Cancelled"
        current = "New"
        for state, start in self.timeline():
            if now >= start:
                current = state
        return current


class SnowballJobs:
    """Snowball jobs of one sandbox, in boto3's shapes, on ``now()`` (the lab clock).

    Args:
        now: The lab time as epoch seconds (``lambda: lab.clock.timestamp``).
        region: The jobs' Region.
        phases: The phase durations (the course's assumptions).
    """

    def __init__(
        self, now: Callable[[], float], region: str = "us-east-1", phases: Phases = DEFAULT_PHASES
    ) -> None:
        self._now = now
        self.region = region
        self.phases = phases
        self.jobs: dict[str, Job] = {}
        self._ids = itertools.count(1)

    def create_job(
        self,
        *,
        JobType: str,
        Resources: Mapping[str, Any],
        SnowballType: str = "V3_5S",
        DataSizeBytes: float = 0,
        **_: Any,
    ) -> dict[str, str]:
        """Order a device (``Resources={"S3Resources": [{"BucketArn": ...}]}``); boto3's
        parameter names, plus labkit's ``DataSizeBytes``: how much the job moves."""
        if JobType not in JOB_TYPES:
            raise SnowballError(
                f"JobType {JobType!r} does not exist: a Snowball job is IMPORT (into S3), EXPORT "
                "(out of S3) or LOCAL_USE; there is no Region-to-Region job (use S3 replication "
                "or DataSync between Regions)"
            )
        if SnowballType not in DEVICE_KINDS:
            raise SnowballError(
                f"SnowballType {SnowballType!r} is not offered: "
                + ", ".join(f"{k} ({v})" for k, v in DEVICE_KINDS.items())
            )
        buckets = [r.get("BucketArn", "") for r in Resources.get("S3Resources", [])]
        if JobType != "LOCAL_USE" and not any(b.startswith("arn:aws:s3:::") for b in buckets):
            raise SnowballError(
                "an IMPORT or EXPORT job names its S3 bucket: "
                "Resources={'S3Resources': [{'BucketArn': 'arn:aws:s3:::my-bucket'}]}"
            )
        capacity = float(facts.value("snowball.storage_optimized_capacity_tb")) * TB
        if SnowballType == "V3_5S" and DataSizeBytes > capacity:
            raise SnowballError(
                f"{DataSizeBytes / TB:,.1f} TB does not fit one device ({capacity / TB:,.0f} TB): "
                "create one job per device"
            )
        job_id = f"JID{next(self._ids):08d}-0000-0000-0000-{int(self._now()):012d}"
        self.jobs[job_id] = Job(
            job_id,
            JobType,
            buckets[0] if buckets else "",
            SnowballType,
            DataSizeBytes,
            self._now(),
            self.phases,
        )
        return {"JobId": job_id}

    def _job(self, job_id: str) -> Job:
        if job_id not in self.jobs:
            raise JobNotFoundError(f"There is no Snowball job {job_id!r}.")
        return self.jobs[job_id]

    def describe_job(self, *, JobId: str) -> dict[str, Any]:
        """The job's metadata, its state as of now."""
        job = self._job(JobId)
        return {
            "JobMetadata": {
                "JobId": job.job_id,
                "JobType": job.job_type,
                "JobState": job.state_at(self._now()),
                "SnowballType": job.snowball_type,
                "Resources": {"S3Resources": [{"BucketArn": job.bucket_arn}]},
            }
        }

    def list_jobs(self) -> dict[str, Any]:
        """Every job with its state now."""
        now = self._now()
        return {
            "JobListEntries": [
                {"JobId": j.job_id, "JobState": j.state_at(now), "JobType": j.job_type}
                for j in self.jobs.values()
            ]
        }

    def cancel_job(self, *, JobId: str) -> dict[str, Any]:
        """Cancel a job; AWS allows it only before the device is prepared (state New)."""
        job = self._job(JobId)
        state = job.state_at(self._now())
        if state != "New":
            raise SnowballError(
                f"job {JobId} is {state}: a job can be cancelled only while it is New"
            )
        job.cancelled_at = self._now()
        return {}

    def get_snowball_usage(self) -> dict[str, int]:
        """Devices in use (not Complete nor Cancelled) against the account's limit."""
        now = self._now()
        busy = sum(
            1 for j in self.jobs.values() if j.state_at(now) not in ("Complete", "Cancelled")
        )
        return {
            "SnowballLimit": int(facts.value("snowball.default_device_limit")),
            "SnowballsInUse": busy,
        }
