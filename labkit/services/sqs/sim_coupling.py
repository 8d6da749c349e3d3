"""Synchronous versus asynchronous coupling under a traffic spike, simulated on a lab clock.

A buying service takes orders and hands each to a shipping service, in one of two ways:

- **synchronously**: the buying service calls the shipping service and waits for its answer. The
  shipping service has a fixed number of workers; a call that finds them all busy waits in its
  line (of bounded length: a full line refuses the call at once) and the buying service gives up
  after its timeout, so the customer's order fails. The shipping service does not know the
  caller gave up: it still ships that order when its turn comes, work nobody waits for any more
  (**wasted**), which keeps the line long after the spike has passed.
- **through a queue**: the buying service sends the order to a queue and answers the customer at
  once; the same workers take orders from the queue as fast as they can. A spike makes the
  queue deeper (a backlog) and orders ship later, but none is refused.

Plain Python on a :class:`~labkit.clock.Clock` (its own, or one given): arrivals form a Poisson
process whose rate follows a :class:`Spike`, service times are exponential around their mean,
both drawn from a ``random.Random(seed)``, so a run is the same every time. The numbers are a
model's (no AWS limit appears here); what matters is the shape of the two curves.
"""

from __future__ import annotations

import functools
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from labkit.clock import Clock, Process

Style = Literal["synchronous", "queue"]
STYLES: tuple[Style, ...] = ("synchronous", "queue")


@dataclass(frozen=True)
class Spike:
    """Orders per second over time: a steady rate with one spike.

    Attributes:
        base_rate: Orders per second outside the spike.
        peak_rate: Orders per second during the spike.
        start: When the spike starts (seconds from the start of the run).
        length: How long it lasts (seconds).
        duration: How long the whole run lasts (seconds).
    """

    base_rate: float = 4.0
    peak_rate: float = 20.0
    start: float = 60.0
    length: float = 60.0
    duration: float = 360.0

    def __post_init__(self) -> None:
        if self.base_rate < 0 or self.peak_rate < 0:
            raise ValueError("Order rates cannot be negative.")
        if self.duration <= 0 or self.length < 0 or self.start < 0:
            raise ValueError("The run needs a positive duration and a spike inside it.")

    def rate_at(self, t: float) -> float:
        """Orders per second at ``t`` seconds into the run."""
        return self.peak_rate if self.start <= t < self.start + self.length else self.base_rate

    @property
    def max_rate(self) -> float:
        """The highest rate of the run."""
        return max(self.base_rate, self.peak_rate)


@dataclass(frozen=True)
class Shipping:
    """The shipping service.

    Attributes:
        workers: How many orders it works on at once.
        seconds_per_order: Mean time one worker needs for one order.
    """

    workers: int = 4
    seconds_per_order: float = 0.5

    def __post_init__(self) -> None:
        if self.workers < 1 or self.seconds_per_order <= 0:
            raise ValueError("The shipping service needs at least one worker and a positive time.")

    @property
    def capacity(self) -> float:
        """Orders per second it can ship when every worker is busy."""
        return self.workers / self.seconds_per_order


@dataclass(frozen=True)
class Second:
    """What happened in one second of a run.

    Attributes:
        t: The second (0 is the first).
        arrivals: Orders customers placed in it.
        accepted: Orders of this second the buying service confirmed to the customer (in time).
        failed: Orders of this second that failed (timed out, or refused by a full line).
        shipped: Orders the shipping service finished in this second (wasted ones included).
        backlog: Orders waiting for a worker at the end of the second.
        wait: Synchronous: the mean time customers of this second waited for an answer (those
            who gave up count with the timeout). Queue: the age of the oldest order waiting.
    """

    t: int
    arrivals: int
    accepted: int
    failed: int
    shipped: int
    backlog: int
    wait: float


@dataclass(frozen=True)
class CouplingRun:
    """One run of one style.

    Attributes:
        style: ``synchronous`` or ``queue``.
        spike: The traffic.
        shipping: The shipping service.
        timeout: The buying service's timeout (synchronous only).
        seconds: Second by second.
        wasted: Orders shipped for a caller that had already given up.
    """

    style: Style
    spike: Spike
    shipping: Shipping
    timeout: float
    seconds: tuple[Second, ...]
    wasted: int = 0

    @property
    def arrivals(self) -> int:
        """Orders placed."""
        return sum(s.arrivals for s in self.seconds)

    @property
    def accepted(self) -> int:
        """Orders confirmed to the customer."""
        return sum(s.accepted for s in self.seconds)

    @property
    def failed(self) -> int:
        """Orders that failed."""
        return sum(s.failed for s in self.seconds)

    @property
    def shipped(self) -> int:
        """Orders shipped by the end of the run (wasted ones included)."""
        return sum(s.shipped for s in self.seconds)

    @property
    def max_backlog(self) -> int:
        """The most orders that waited at once."""
        return max((s.backlog for s in self.seconds), default=0)

    @property
    def max_wait(self) -> float:
        """The longest wait of the run (see :attr:`Second.wait`)."""
        return max((s.wait for s in self.seconds), default=0.0)

    def summary(self) -> str:
        """One line: what customers saw and what the shipping service did."""
        share = self.failed / self.arrivals if self.arrivals else 0.0
        line = (
            f"{self.style:11s}  placed {self.arrivals:5,d}  confirmed {self.accepted:5,d}  "
            f"failed {self.failed:5,d} ({share:4.0%})  shipped {self.shipped:5,d}  "
            f"most waiting {self.max_backlog:4,d}"
        )
        if self.style == "synchronous":
            return line + f"  wasted {self.wasted:,d}"
        return line + f"  oldest order waited {self.max_wait:,.0f} s"


@dataclass
class _Order:
    arrived: float
    second: int
    gave_up: bool = False
    answered: bool = False


@dataclass
class _Tally:
    arrivals: int = 0
    accepted: int = 0
    failed: int = 0
    shipped: int = 0
    waits: list[float] = field(default_factory=list)


class _Run:
    """The state of one run while the clock moves."""

    def __init__(
        self,
        style: Style,
        spike: Spike,
        shipping: Shipping,
        timeout: float,
        max_waiting: int,
        seed: int,
        clock: Clock,
    ) -> None:
        self.style = style
        self.spike = spike
        self.shipping = shipping
        self.timeout = timeout
        self.max_waiting = max_waiting
        # Two generators, so that both styles see exactly the same orders at the same instants
        # however differently their workers draw service times.
        self.arrival_rng = random.Random(seed)
        self.service_rng = random.Random(f"{seed}-service")
        self.clock = clock
        self.t0 = clock.timestamp
        self.line: deque[_Order] = deque()
        self.idle = shipping.workers
        self.tallies = [_Tally() for _ in range(int(spike.duration))]
        self.backlog_at: list[int] = []
        self.oldest_at: list[float] = []
        self.wasted = 0

    def now(self) -> float:
        return self.clock.timestamp - self.t0

    def tally(self, second: int) -> _Tally:
        return self.tallies[min(max(second, 0), len(self.tallies) - 1)]

    # -- customers ------------------------------------------------------------------------------
    def arrivals(self) -> Process:
        """A process: the next order comes after an exponential gap at the current rate."""
        while True:
            t = self.now()
            if t >= self.spike.duration:
                return
            rate = self.spike.rate_at(t)
            if rate <= 0:
                # No orders until the rate changes: wait for the next change of the profile.
                changes = (self.spike.start, self.spike.start + self.spike.length)
                later = [c - t for c in changes if c > t]
                yield min(later) if later else self.spike.duration - t
                continue
            gap = self.arrival_rng.expovariate(rate)
            if t + gap >= self.spike.duration:
                return
            yield gap
            self.arrive()

    def arrive(self) -> None:
        t = self.now()
        order = _Order(arrived=t, second=int(t))
        tally = self.tally(order.second)
        tally.arrivals += 1
        if self.style == "queue":
            # SendMessage answers at once: the customer is told the order is taken.
            tally.accepted += 1
            order.answered = True
            self.line.append(order)
            self.dispatch()
            return
        if self.idle == 0 and len(self.line) >= self.max_waiting:
            tally.failed += 1  # refused at once: the shipping service's line is full
            tally.waits.append(0.0)
            order.answered = True
            return
        self.line.append(order)
        self.clock.call_later(self.timeout, lambda: self.give_up(order))
        self.dispatch()

    def give_up(self, order: _Order) -> None:
        if order.answered:
            return
        order.gave_up = True
        order.answered = True
        tally = self.tally(order.second)
        tally.failed += 1
        tally.waits.append(self.timeout)

    # -- workers --------------------------------------------------------------------------------
    def dispatch(self) -> None:
        while self.idle and self.line:
            order = self.line.popleft()
            self.idle -= 1
            service = self.service_rng.expovariate(1.0 / self.shipping.seconds_per_order)
            self.clock.call_later(service, functools.partial(self.finish, order))

    def finish(self, order: _Order) -> None:
        self.idle += 1
        t = self.now()
        self.tally(int(t)).shipped += 1
        if self.style == "synchronous":
            if order.gave_up:
                self.wasted += 1
            elif not order.answered:
                order.answered = True
                tally = self.tally(order.second)
                tally.accepted += 1
                tally.waits.append(t - order.arrived)
        self.dispatch()

    def sample(self) -> None:
        self.backlog_at.append(len(self.line))
        oldest = self.now() - self.line[0].arrived if self.line else 0.0
        self.oldest_at.append(oldest)

    def result(self) -> CouplingRun:
        seconds = []
        for t, tally in enumerate(self.tallies):
            if self.style == "queue":
                wait = self.oldest_at[t] if t < len(self.oldest_at) else 0.0
            else:
                wait = sum(tally.waits) / len(tally.waits) if tally.waits else 0.0
            seconds.append(
                Second(
                    t=t,
                    arrivals=tally.arrivals,
                    accepted=tally.accepted,
                    failed=tally.failed,
                    shipped=tally.shipped,
                    backlog=self.backlog_at[t] if t < len(self.backlog_at) else 0,
                    wait=round(wait, 3),
                )
            )
        return CouplingRun(
            style=self.style,
            spike=self.spike,
            shipping=self.shipping,
            timeout=self.timeout,
            seconds=tuple(seconds),
            wasted=self.wasted,
        )


def simulate(
    style: Style,
    spike: Spike | None = None,
    shipping: Shipping | None = None,
    *,
    timeout: float = 3.0,
    max_waiting: int = 200,
    seed: int = 0,
    clock: Clock | None = None,
) -> CouplingRun:
    """Run one style through the spike on a clock.

    Args:
        style: ``synchronous`` (the buying service calls the shipping service and waits) or
            ``queue`` (it sends the order to a queue and answers at once).
        spike: The traffic (a default spike when ``None``).
        shipping: The shipping service (a default one when ``None``).
        timeout: Synchronous only: seconds the buying service waits before the order fails.
        max_waiting: Synchronous only: calls the shipping service lets wait for a worker; one
            more is refused at once.
        seed: Seed of the arrivals and service times.
        clock: The clock to run on (a new one when ``None``); it moves ``spike.duration``.

    Returns:
        The run, second by second.
    """
    if style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, not {style!r}.")
    if timeout <= 0 or max_waiting < 0:
        raise ValueError("The timeout must be positive and the line cannot be negative.")
    spike = spike or Spike()
    shipping = shipping or Shipping()
    clock = clock or Clock()
    run = _Run(style, spike, shipping, timeout, max_waiting, seed, clock)
    clock.process(run.arrivals(), label=f"{style} orders")
    for _ in range(int(spike.duration)):
        clock.advance(1)
        run.sample()
    return run.result()


def compare(
    spike: Spike | None = None,
    shipping: Shipping | None = None,
    *,
    timeout: float = 3.0,
    max_waiting: int = 200,
    seed: int = 0,
) -> tuple[CouplingRun, CouplingRun]:
    """The same traffic (same seed) through both styles: ``(synchronous, queue)``."""
    return (
        simulate(
            "synchronous", spike, shipping, timeout=timeout, max_waiting=max_waiting, seed=seed
        ),
        simulate("queue", spike, shipping, timeout=timeout, max_waiting=max_waiting, seed=seed),
    )


def text_table(runs: Sequence[CouplingRun], *, every: int = 30) -> str:
    """The runs side by side as text, one row per ``every`` seconds (sums over the rows)."""
    if not runs:
        return ""
    head = ["second", "placed"]
    for run in runs:
        short = "sync" if run.style == "synchronous" else "queue"
        head += [f"{short} failed", f"{short} waiting"]
    rows = [head]
    length = len(runs[0].seconds)
    for start in range(0, length, every):
        window = range(start, min(start + every, length))
        row = [
            f"{start:>3d}-{window[-1]:<3d}",
            str(sum(runs[0].seconds[t].arrivals for t in window)),
        ]
        for run in runs:
            row.append(str(sum(run.seconds[t].failed for t in window)))
            row.append(str(max(run.seconds[t].backlog for t in window)))
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


__all__ = [
    "STYLES",
    "CouplingRun",
    "Second",
    "Shipping",
    "Spike",
    "Style",
    "compare",
    "simulate",
    "text_table",
]
