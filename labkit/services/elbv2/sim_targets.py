"""Instance and IP targets of an Application Load Balancer: health states and who gets a request.

From https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html:

- every ``HealthCheckIntervalSeconds`` the load balancer sends ``GET HealthCheckPath`` to each
  registered target; a response whose status the ``Matcher`` lists (``"200"``, ``"200,202"``,
  ``"200-299"``) passes, anything else (another status, nothing listening) fails;
- a newly registered target is ``initial`` until it passes one health check (``healthy``);
  ``UnhealthyThresholdCount`` consecutive failures take a target out (``unhealthy``), and
  ``HealthyThresholdCount`` consecutive passes bring it back;
- requests go to healthy targets only, round robin (the default algorithm); when no target is
  healthy, the load balancer fails open and routes to all of them.

Reason codes as ``DescribeTargetHealth`` gives them:
https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetHealth.html.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: ``DescribeTargetHealth``'s reason codes and descriptions for the states simulated here.
REASONS = {
    "Elb.InitialHealthChecking": "Initial health checks in progress",
    "Target.ResponseCodeMismatch": "Health checks failed with these codes: [{code}]",
    "Target.FailedHealthChecks": "Health checks failed",
}


@dataclass
class TargetState:
    """One registered target's health.

    Attributes:
        target_id: The instance id or IP address.
        port: The port the load balancer sends requests to.
        state: ``initial``, ``healthy`` or ``unhealthy``.
        reason: The reason code (``None`` when healthy).
        description: The reason in words.
        passes: Consecutive passed checks.
        fails: Consecutive failed checks.
        served: Requests routed to it.
    """

    target_id: str
    port: int
    state: str = "initial"
    reason: str | None = "Elb.InitialHealthChecking"
    description: str | None = REASONS["Elb.InitialHealthChecking"]
    passes: int = 0
    fails: int = 0
    served: int = 0

    @property
    def key(self) -> tuple[str, int]:
        """The target as registered: id and port."""
        return (self.target_id, self.port)

    def record(
        self, passed: bool, status: int | None, *, healthy_after: int, unhealthy_after: int
    ) -> bool:
        """Take one health check's result; whether the state changed."""
        before = self.state
        if passed:
            self.passes, self.fails = self.passes + 1, 0
            if self.state == "initial" or (
                self.state == "unhealthy" and self.passes >= healthy_after
            ):
                self.state, self.reason, self.description = "healthy", None, None
            return self.state != before
        self.fails, self.passes = self.fails + 1, 0
        if self.state != "unhealthy" and self.fails < unhealthy_after:
            return False  # still in service (or still initial) until the threshold
        self.state = "unhealthy"
        if status is None:
            self.reason = "Target.FailedHealthChecks"
            self.description = REASONS["Target.FailedHealthChecks"]
        else:
            self.reason = "Target.ResponseCodeMismatch"
            self.description = REASONS["Target.ResponseCodeMismatch"].format(code=status)
        return self.state != before


def matches(matcher: str, status: int) -> bool:
    """Whether ``status`` is one the target group's ``Matcher.HttpCode`` accepts."""
    for part in str(matcher or "200").split(","):
        low, _, high = part.strip().partition("-")
        if not low.isdigit():
            continue
        if int(low) <= status <= int(high if high.isdigit() else low):
            return True
    return False


def routable(targets: Sequence[TargetState]) -> list[TargetState]:
    """The targets a request may go to: the healthy ones, or all of them (fail open)."""
    healthy = [t for t in targets if t.state == "healthy"]
    return healthy or list(targets)


class RoundRobin:
    """The default routing algorithm: each request to the next target in turn."""

    def __init__(self) -> None:
        self._next = 0

    def pick(self, targets: Sequence[TargetState]) -> TargetState | None:
        """The next target of ``targets`` (``None`` when empty)."""
        if not targets:
            return None
        chosen = targets[self._next % len(targets)]
        self._next += 1
        return chosen


__all__ = ["REASONS", "RoundRobin", "TargetState", "matches", "routable"]
