"""StackSet operations on the lab clock: concurrency, failure tolerance and Region order.

A StackSet operation deploys one stack instance per account and Region. AWS runs it Region by
Region (``RegionConcurrencyType`` ``SEQUENTIAL``, the default, in ``RegionOrder`` first) or all
Regions at once (``PARALLEL``); within a Region it works on at most ``MaxConcurrentCount`` accounts
at a time (or ``MaxConcurrentPercentage`` of them, rounded down but at least one), 1 by default.
``FailureToleranceCount`` (or ``FailureTolerancePercentage``, rounded down), 0 by default (both
defaults in the fact table, ``cloudformation.stackset_*_default``), is "the number of accounts, per
Region, for which this operation can fail before CloudFormation stops the operation in that Region.
If the operation is stopped in a Region, CloudFormation doesn't attempt the operation in any
subsequent Regions." In the default ``STRICT_FAILURE_TOLERANCE`` mode the concurrency starts at the
lower of ``MaxConcurrentCount`` and ``FailureToleranceCount + 1`` and is "reduced proportionally by
the number of failures", so that failures never exceed the tolerance by more than one;
``SOFT_FAILURE_TOLERANCE`` keeps the concurrency whatever fails
(https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperationPreferences.html).
Count and percentage of the same setting are exclusive ("You must specify either ... but not
both").

How long one stack instance takes is not an AWS number: the sandbox gives each the same
:data:`INSTANCE_SECONDS` of lab time, so that concurrency shows on the clock (two at a time
finish in half the time of one at a time). An instance's stack is deployed when its time is up.

Plain Python: no moto, no Jupyter. The caller supplies ``deploy(account, region)``, which
deploys one instance and returns why it failed (or ``None``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from labkit import facts
from labkit.clock import Clock
from labkit.errors import LabkitError

#: Lab seconds one stack instance takes to deploy (a sandbox model, not an AWS figure).
INSTANCE_SECONDS = 60.0


class OperationPreferencesError(LabkitError):
    """Operation preferences that AWS refuses (the message says which and why)."""

    code = "ValidationError"


@dataclass(frozen=True)
class OperationPreferences:
    """``StackSetOperationPreferences`` as given (``None`` where not given)."""

    max_concurrent_count: int | None = None
    max_concurrent_percentage: int | None = None
    failure_tolerance_count: int | None = None
    failure_tolerance_percentage: int | None = None
    region_concurrency_type: str = "SEQUENTIAL"
    region_order: tuple[str, ...] = ()
    concurrency_mode: str = "STRICT_FAILURE_TOLERANCE"

    @classmethod
    def from_api(cls, given: Mapping[str, Any] | None) -> OperationPreferences:
        """Read the API's dictionary, refusing what AWS refuses."""
        given = dict(given or {})

        def number(name: str, low: int, high: int | None) -> int | None:
            if given.get(name) is None:
                return None
            try:
                value = int(given[name])
            except (TypeError, ValueError):
                raise OperationPreferencesError(f"{name} must be a whole number.") from None
            if value < low or (high is not None and value > high):
                limit = f"between {low} and {high}" if high is not None else f"at least {low}"
                raise OperationPreferencesError(f"{name} must be {limit}, not {value}.")
            return value

        prefs = cls(
            max_concurrent_count=number("MaxConcurrentCount", 1, None),
            max_concurrent_percentage=number("MaxConcurrentPercentage", 1, 100),
            failure_tolerance_count=number("FailureToleranceCount", 0, None),
            failure_tolerance_percentage=number("FailureTolerancePercentage", 0, 100),
            region_concurrency_type=str(given.get("RegionConcurrencyType") or "SEQUENTIAL"),
            region_order=tuple(str(r) for r in given.get("RegionOrder") or ()),
            concurrency_mode=str(given.get("ConcurrencyMode") or "STRICT_FAILURE_TOLERANCE"),
        )
        for a, b in (
            ("MaxConcurrentCount", "MaxConcurrentPercentage"),
            ("FailureToleranceCount", "FailureTolerancePercentage"),
        ):
            if given.get(a) is not None and given.get(b) is not None:
                raise OperationPreferencesError(f"Specify either {a} or {b}, not both.")
        if prefs.region_concurrency_type not in ("SEQUENTIAL", "PARALLEL"):
            raise OperationPreferencesError(
                "RegionConcurrencyType must be SEQUENTIAL or PARALLEL, "
                f"not {prefs.region_concurrency_type}."
            )
        return prefs

    def max_concurrent(self, accounts: int) -> int:
        """Accounts worked on at once in a Region of ``accounts`` accounts (before failures)."""
        if self.max_concurrent_percentage is not None:
            return max(1, math.floor(accounts * self.max_concurrent_percentage / 100))
        if self.max_concurrent_count is not None:
            return self.max_concurrent_count
        return int(facts.fact("cloudformation.stackset_max_concurrent_default").value)

    def tolerance(self, accounts: int) -> int:
        """Failures a Region of ``accounts`` accounts may have before the operation stops."""
        if self.failure_tolerance_percentage is not None:
            return math.floor(accounts * self.failure_tolerance_percentage / 100)
        if self.failure_tolerance_count is not None:
            return self.failure_tolerance_count
        return int(facts.fact("cloudformation.stackset_failure_tolerance_default").value)

    def concurrency(self, accounts: int, failures: int) -> int:
        """Accounts that may run at once after ``failures`` failures in the Region."""
        top = self.max_concurrent(accounts)
        if self.concurrency_mode == "SOFT_FAILURE_TOLERANCE":
            return top
        return max(0, min(top, self.tolerance(accounts) + 1 - failures))

    def ordered_regions(self, regions: list[str]) -> list[str]:
        """The Regions in the order the operation visits them: ``RegionOrder`` first."""
        first = [r for r in self.region_order if r in regions]
        return first + [r for r in regions if r not in first]


@dataclass
class InstanceResult:
    """One account and Region of an operation (``StackSetOperationResultSummary``)."""

    account: str
    region: str
    status: str = "PENDING"  # PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED
    reason: str | None = None
    started: datetime | None = None
    ended: datetime | None = None


Deploy = Callable[[str, str], "str | None"]


@dataclass
class Operation:
    """One StackSet operation, run on ``clock``.

    Attributes:
        operation_id: Its id.
        action: ``CREATE``, ``UPDATE`` or ``DELETE``.
        preferences: How to run it.
        results: Each account and Region, in the order they were given.
        status: ``RUNNING``, ``SUCCEEDED``, ``FAILED`` or ``STOPPED``.
    """

    operation_id: str
    action: str
    preferences: OperationPreferences
    results: list[InstanceResult]
    clock: Clock = field(repr=False)
    deploy: Deploy = field(repr=False)
    seconds: float = INSTANCE_SECONDS
    status: str = "RUNNING"
    created: datetime | None = None
    ended: datetime | None = None
    on_end: Callable[[Operation], None] | None = field(default=None, repr=False)
    _regions: list[str] = field(default_factory=list, repr=False)
    _stopped_regions: set[str] = field(default_factory=set, repr=False)
    _open: set[str] = field(default_factory=set, repr=False)

    def start(self) -> Operation:
        """Begin: the first Region (or every Region, in parallel) starts now."""
        self.created = self.clock.now
        regions: list[str] = []
        for result in self.results:
            if result.region not in regions:
                regions.append(result.region)
        self._regions = self.preferences.ordered_regions(regions)
        if not self.results:
            self._finish()
        elif self.preferences.region_concurrency_type == "PARALLEL":
            for region in self._regions:
                self._open.add(region)
                self._fill(region)
        else:
            self._open.add(self._regions[0])
            self._fill(self._regions[0])
        return self

    def in_region(self, region: str) -> list[InstanceResult]:
        """The results of one Region."""
        return [r for r in self.results if r.region == region]

    def running(self) -> list[InstanceResult]:
        """Instances being deployed right now."""
        return [r for r in self.results if r.status == "RUNNING"]

    def stop(self) -> None:
        """``StopStackSetOperation``: running instances finish, nothing new starts."""
        if self.status != "RUNNING":
            return
        self.status = "STOPPING"
        for result in self.results:
            if result.status == "PENDING":
                result.status = "CANCELLED"
                result.reason = "Cancelled since the operation was stopped"
        if not self.running():
            self._finish()

    # -- running ------------------------------------------------------------------------------
    def _fill(self, region: str) -> None:
        results = self.in_region(region)
        failures = sum(1 for r in results if r.status == "FAILED")
        allowed = self.preferences.concurrency(len(results), failures)
        running = sum(1 for r in results if r.status == "RUNNING")
        for result in results:
            if running >= allowed:
                break
            if result.status == "PENDING":
                result.status = "RUNNING"
                result.started = self.clock.now
                running += 1
                self.clock.call_later(
                    self.seconds,
                    functools.partial(self._done, result),
                    label=f"StackSet instance {r_label(result)}",
                )
        if running == 0:
            self._region_over(region)

    def _done(self, result: InstanceResult) -> None:
        reason = self.deploy(result.account, result.region)
        result.ended = self.clock.now
        result.status = "FAILED" if reason else "SUCCEEDED"
        result.reason = reason
        region = result.region
        results = self.in_region(region)
        failures = sum(1 for r in results if r.status == "FAILED")
        if failures > self.preferences.tolerance(len(results)) and region not in (
            self._stopped_regions
        ):
            self._stopped_regions.add(region)
            for other in results:
                if other.status == "PENDING":
                    other.status = "CANCELLED"
                    other.reason = "Cancelled since failure tolerance has exceeded"
        if self.status == "STOPPING":
            if not self.running():
                self._finish()
            return
        self._fill(region)

    def _region_over(self, region: str) -> None:
        if region not in self._open:
            return
        self._open.discard(region)
        if self.preferences.region_concurrency_type != "PARALLEL":
            later = self._regions[self._regions.index(region) + 1 :]
            if region in self._stopped_regions:
                for result in self.results:
                    if result.region in later and result.status == "PENDING":
                        result.status = "CANCELLED"
                        result.reason = "Cancelled since failure tolerance has exceeded"
            elif later:
                self._open.add(later[0])
                self._fill(later[0])
                return
        if not self._open:
            self._finish()

    def _finish(self) -> None:
        if self.status == "STOPPING":
            self.status = "STOPPED"
        else:
            self.status = "FAILED" if self._stopped_regions else "SUCCEEDED"
        self.ended = self.clock.now
        if self.on_end is not None:
            self.on_end(self)


def r_label(result: InstanceResult) -> str:
    """``account/region`` of a result, for labels and views."""
    return f"{result.account}/{result.region}"


def targets(accounts: list[str], regions: list[str]) -> list[InstanceResult]:
    """One pending result per account and Region, Region by Region as AWS lists them."""
    return [InstanceResult(a, r) for r in regions for a in accounts]
