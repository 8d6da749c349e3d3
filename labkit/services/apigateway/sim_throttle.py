"""Throttling and quotas of REST APIs: token buckets and usage-plan quotas on the lab clock.

API Gateway throttles with the token bucket algorithm (a token per request; ``rate`` tokens a
second flow in, up to ``burst``), and applies its limits in this order:

1. per-client (per API key) and per-method limits of the usage plan for the API stage;
2. per-method limits of the stage (method settings, or ``*/*`` for every method);
3. the account's limit per Region (10,000 requests a second, burst 5,000 by default);

a request that finds a bucket empty is refused with 429 ``{"message":"Too Many Requests"}``.
A usage plan's quota (requests per ``DAY``, ``WEEK`` or ``MONTH`` per key, periods in UTC,
``offset`` moving a week's start from Sunday or a month's from its first day) answers 429
``{"message":"Limit Exceeded"}`` once used up.
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
https://docs.aws.amazon.com/apigateway/latest/api/API_QuotaSettings.html

A request charges every bucket that applies only when all of them have a token, so a refused
request costs nothing; the quota counts requests that got through the buckets.

Plain Python: no moto, no Jupyter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone


@dataclass
class TokenBucket:
    """A token bucket: ``rate`` tokens a second, at most ``burst``; full when made.

    Attributes:
        rate: Tokens added per second.
        burst: The bucket's size.
        tokens: Tokens in it at ``updated``.
        updated: When ``tokens`` was last brought up to date (epoch seconds).
    """

    rate: float
    burst: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, rate: float, burst: float, now: float) -> TokenBucket:
        """A bucket holding ``burst`` tokens at ``now``."""
        return cls(rate, burst, float(burst), now)

    def refill(self, now: float) -> float:
        """Bring the bucket to ``now`` and return its tokens."""
        if now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
        return self.tokens

    def retune(self, rate: float, burst: float, now: float) -> None:
        """New limits (a changed setting takes effect as a fresh bucket, full)."""
        self.rate, self.burst = rate, burst
        self.tokens, self.updated = float(burst), now


def period_start(now: float, period: str, offset: int = 0) -> float:
    """When the quota period that holds ``now`` began (UTC).

    ``DAY`` starts at midnight; ``WEEK`` on Sunday plus ``offset`` days; ``MONTH`` on day
    ``1 + offset``.
    """
    when = datetime.fromtimestamp(now, tz=timezone.utc)
    midnight = when.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "WEEK":
        days_since_sunday = (midnight.weekday() + 1) % 7
        start = midnight - timedelta(days=(days_since_sunday - offset) % 7)
    elif period == "MONTH":
        start = midnight.replace(day=1) + timedelta(days=offset)
        if start > midnight:
            previous = (midnight.replace(day=1) - timedelta(days=1)).replace(day=1)
            start = previous + timedelta(days=offset)
    else:
        start = midnight
    return start.timestamp()


def period_end(start: float, period: str) -> float:
    """When the quota period that began at ``start`` ends."""
    begin = datetime.fromtimestamp(start, tz=timezone.utc)
    if period == "WEEK":
        return (begin + timedelta(days=7)).timestamp()
    if period == "MONTH":
        month = begin.month % 12 + 1
        year = begin.year + (1 if begin.month == 12 else 0)
        return begin.replace(year=year, month=month).timestamp()
    return (begin + timedelta(days=1)).timestamp()


@dataclass
class Quota:
    """A key's use of its usage plan's quota in the current period."""

    limit: int
    period: str
    offset: int
    start: float
    used: int = 0

    def roll(self, now: float) -> None:
        """Start a new period when ``now`` is past this one."""
        start = period_start(now, self.period, self.offset)
        if start != self.start:
            self.start, self.used = start, 0

    @property
    def remaining(self) -> int:
        """Requests left in this period."""
        return max(0, self.limit - self.used)


@dataclass(frozen=True)
class Limit:
    """One bucket a request must pass: which, and its limits."""

    key: tuple[str, ...]
    label: str
    rate: float
    burst: float


@dataclass(frozen=True)
class ThrottleResult:
    """What the throttle step decided.

    Attributes:
        allowed: Whether the request goes on.
        message: AWS's message when refused (``Too Many Requests`` or ``Limit Exceeded``).
        bucket: The bucket (or quota) that decided, with what it holds after.
        reason: Why, in words.
    """

    allowed: bool
    message: str = ""
    bucket: str = ""
    reason: str = ""


@dataclass
class Buckets:
    """Token buckets and quotas by key (an API's, or an account's), and each usage-plan key's
    requests per UTC day (``GetUsage``).

    Attributes:
        buckets: Token buckets by key.
        quotas: Quota counters by key.
        usage: Requests that got through, by ``(plan id, API key id, YYYY-MM-DD)``.
    """

    buckets: dict[tuple[str, ...], TokenBucket] = field(default_factory=dict)
    quotas: dict[tuple[str, ...], Quota] = field(default_factory=dict)
    usage: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def count_use(self, plan_id: str, key_id: str, now: float) -> None:
        """One more request of ``key_id`` through ``plan_id`` on ``now``'s UTC day."""
        day = datetime.fromtimestamp(now, tz=timezone.utc).strftime("%Y-%m-%d")
        key = (plan_id, key_id, day)
        self.usage[key] = self.usage.get(key, 0) + 1

    def bucket(self, limit: Limit, now: float) -> TokenBucket:
        """The bucket for ``limit`` (made full on first use; retuned if its limits changed)."""
        found = self.buckets.get(limit.key)
        if found is None:
            found = self.buckets[limit.key] = TokenBucket.full(limit.rate, limit.burst, now)
        elif (found.rate, found.burst) != (limit.rate, limit.burst):
            found.retune(limit.rate, limit.burst, now)
        return found

    def quota(
        self, key: tuple[str, ...], limit: int, period: str, offset: int, now: float
    ) -> Quota:
        """The quota counter for ``key``, rolled to ``now``'s period."""
        found = self.quotas.get(key)
        if found is None or (found.limit, found.period, found.offset) != (limit, period, offset):
            used = found.used if found is not None else 0
            found = Quota(limit, period, offset, period_start(now, period, offset), used)
            self.quotas[key] = found
        found.roll(now)
        return found


def charge(
    limits: list[tuple[Buckets, Limit]],
    now: float,
    quota: tuple[Buckets, tuple[str, ...], int, str, int] | None = None,
) -> ThrottleResult:
    """Take a token from every bucket in ``limits`` and count one request against ``quota``
    (``(buckets, key, limit, period, offset)``), or refuse at the first that has none."""
    held: list[tuple[Limit, TokenBucket]] = []
    for owner, limit in limits:
        bucket = owner.bucket(limit, now)
        if bucket.refill(now) < 1.0:
            return ThrottleResult(
                False,
                "Too Many Requests",
                f"{limit.label}: {bucket.tokens:.2f} of {limit.burst:g} tokens",
                f"{limit.label} is out of tokens (rate {limit.rate:g}/s, burst {limit.burst:g})",
            )
        held.append((limit, bucket))
    counter = None
    if quota is not None:
        owner, key, size, period, offset = quota
        counter = owner.quota(key, size, period, offset, now)
        if counter.used >= counter.limit:
            return ThrottleResult(
                False,
                "Limit Exceeded",
                f"quota: {counter.used} of {counter.limit} per {period}",
                f"the usage plan's quota of {counter.limit} requests per {period} is used up",
            )
        counter.used += 1
    for _, bucket in held:
        bucket.tokens -= 1.0
    shown = ", ".join(f"{lim.label}: {b.tokens:.2f}/{lim.burst:g}" for lim, b in held)
    if counter is not None:
        shown += (
            f"{', ' if shown else ''}quota: {counter.used}/{counter.limit} per {counter.period}"
        )
    return ThrottleResult(True, "", shown, "")
