"""What Lambda costs: requests plus compute in GB-seconds, priced with the fact table.

Lambda bills two things (https://aws.amazon.com/lambda/pricing/):

- **requests**: every invocation, priced per million (``lambda.price_per_million_requests``);
- **duration**: memory (in GB, 1,024 MB each) times billed duration (in seconds), the
  *GB-seconds*, priced per GB-second (``lambda.price_per_gb_second_x86``, the x86 price of the
  first volume tier).

The calculator takes the *billed* duration, the figure of each invocation's ``REPORT`` log line
(``Billed Duration``), which already includes Lambda's rounding up. It leaves out what the fact
table does not hold: the free tier, Arm prices, volume tiers, ephemeral storage above the free
amount and provisioned concurrency. Plain Python: no moto.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from labkit import facts
from labkit.errors import LabkitError

#: Megabytes in the gigabyte of a GB-second: the pricing page's examples divide by 1,024
#: ("3,000,000 * 512MB/1024 = 1,500,000 GB-s"). https://aws.amazon.com/lambda/pricing/
MB_PER_GB = 1024
MS_PER_SECOND = 1000
PER_MILLION = 1_000_000


class PricingError(LabkitError):
    """A workload the calculator cannot price as given."""

    code = "PricingError"


@dataclass(frozen=True)
class LambdaCost:
    """The price of a workload.

    Attributes:
        requests: Invocations.
        duration_ms: Billed duration of one invocation, in milliseconds.
        memory_mb: Configured memory, in MB.
        gb_seconds: Compute used: memory in GB times billed seconds, over all requests.
        request_cost: USD for the requests.
        compute_cost: USD for the GB-seconds.
    """

    requests: int
    duration_ms: float
    memory_mb: int
    gb_seconds: float
    request_cost: float
    compute_cost: float

    @property
    def total(self) -> float:
        """USD in all."""
        return self.request_cost + self.compute_cost

    def text(self) -> str:
        """The bill, one line per item."""
        return (
            f"{self.requests:,} requests x {self.duration_ms:g} ms at {self.memory_mb:,} MB\n"
            f"  requests: ${self.request_cost:,.4f}\n"
            f"  compute:  {self.gb_seconds:,.1f} GB-s = ${self.compute_cost:,.4f}\n"
            f"  total:    ${self.total:,.4f}"
        )

    def __str__(self) -> str:
        return self.text()


def _check(requests: int, duration_ms: float, memory_mb: int) -> None:
    if requests < 0:
        raise PricingError(f"requests must be zero or more, not {requests}.")
    if duration_ms < 0:
        raise PricingError(f"duration_ms must be zero or more, not {duration_ms}.")
    low, high = int(facts.value("lambda.memory_min")), int(facts.value("lambda.memory_max"))
    if not low <= memory_mb <= high:
        raise PricingError(
            f"Lambda memory is between {low:,} MB and {high:,} MB; {memory_mb:,} MB cannot be "
            "configured, so it has no price."
        )
    longest = float(facts.value("lambda.timeout_max")) * MS_PER_SECOND
    if duration_ms > longest:
        raise PricingError(
            f"An invocation runs at most {longest:,.0f} ms (the maximum timeout); "
            f"{duration_ms:,} ms cannot happen."
        )


def gb_seconds(requests: int, duration_ms: float, memory_mb: int) -> float:
    """Compute of ``requests`` invocations of ``duration_ms`` (billed) each at ``memory_mb``."""
    return requests * (memory_mb / MB_PER_GB) * (duration_ms / MS_PER_SECOND)


def price(requests: int, duration_ms: float, memory_mb: int) -> LambdaCost:
    """What ``requests`` invocations cost, each billed ``duration_ms`` at ``memory_mb``.

    Args:
        requests: Invocations (in a month, say).
        duration_ms: Billed duration of one invocation (``Billed Duration`` of its REPORT line).
        memory_mb: The function's memory setting.

    Raises:
        PricingError: A negative count or duration, a memory Lambda does not offer, or a
            duration beyond the maximum timeout.

    Example:
        >>> cost = price(3_000_000, 120, 512)
        >>> round(cost.gb_seconds)
        180000
    """
    _check(requests, duration_ms, memory_mb)
    per_request = float(facts.value("lambda.price_per_million_requests")) / PER_MILLION
    per_gb_second = float(facts.value("lambda.price_per_gb_second_x86"))
    used = gb_seconds(requests, duration_ms, memory_mb)
    return LambdaCost(
        requests=requests,
        duration_ms=duration_ms,
        memory_mb=memory_mb,
        gb_seconds=used,
        request_cost=requests * per_request,
        compute_cost=used * per_gb_second,
    )


def cost_table(
    requests: int, durations_ms: Iterable[float], memories_mb: Iterable[int]
) -> list[LambdaCost]:
    """:func:`price` for each pair of duration and memory (zipped), for plots and tables."""
    return [
        price(requests, d, m) for d, m in zip(list(durations_ms), list(memories_mb), strict=True)
    ]


def cpu_bound_duration(duration_ms_at: float, memory_at: int, memory_mb: int) -> float:
    """A model, not an AWS number: the duration of CPU-bound code at another memory setting.

    Lambda gives a function CPU in proportion to its memory, so code limited by CPU runs about
    as much faster as memory grows (until it cannot use more cores). This model keeps it simple:
    duration falls in inverse proportion to memory.
    https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
    """
    return duration_ms_at * memory_at / memory_mb


__all__ = [
    "LambdaCost",
    "PricingError",
    "cost_table",
    "cpu_bound_duration",
    "gb_seconds",
    "price",
]
