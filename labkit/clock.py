"""The lab clock: virtual time that only moves when a lab says so.

A lab never sleeps. Visibility timeouts, delays, TTLs, retention and buffering all hang on this
clock, and the sandbox makes moto read its time too. It is a small discrete-event scheduler in the
style of simpy: an explicit heap of events, callbacks that run when time passes them, and
processes written as generators that yield how long to wait.

The clock is plain Python (no moto, no Jupyter), so simulators and tests use it directly.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from labkit.errors import ClockError

#: Where every lab's clock starts unless told otherwise: a fixed instant, so that timestamps in a
#: notebook's outputs repeat from run to run.
DEFAULT_START = datetime(2026, 1, 5, 9, 0, 0, tzinfo=timezone.utc)

Duration = float | int | timedelta
Instant = datetime | float | int
Listener = Callable[[datetime], None]


def _seconds(value: Duration) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ClockError(
            f"A duration must be a number of seconds or a datetime.timedelta, not {value!r}."
        )
    return float(value)


def _epoch(value: Instant) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ClockError(
                "Give the clock a timezone-aware datetime (for example with tzinfo=timezone.utc); "
                f"{value!r} has no timezone."
            )
        return value.timestamp()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ClockError(f"An instant must be a datetime or epoch seconds, not {value!r}.")
    return float(value)


@dataclass(order=True)
class ScheduledEvent:
    """A callback that runs when the clock reaches ``at`` (epoch seconds).

    Events at the same instant run in the order they were scheduled.
    """

    at: float
    seq: int
    callback: Callable[[], object] = field(compare=False)
    label: str = field(default="", compare=False)
    cancelled: bool = field(default=False, compare=False)
    # A repeating event's handle points at its pending repetition, so cancelling the handle
    # removes that entry too (and nothing stale is reported by next_event_time or pending()).
    _pending: ScheduledEvent | None = field(default=None, compare=False, repr=False)

    def cancel(self) -> None:
        """Stop this event from running; cancelling twice is harmless."""
        self.cancelled = True
        if self._pending is not None:
            self._pending.cancel()

    @property
    def when(self) -> datetime:
        """The instant this event runs, as a timezone-aware datetime."""
        return datetime.fromtimestamp(self.at, tz=timezone.utc)


Process = Generator[Duration, None, None]


class Clock:
    """Virtual time for one lab.

    Args:
        start: The instant the clock starts at (timezone-aware). Defaults to
            :data:`DEFAULT_START` so that outputs are reproducible.

    Example:
        >>> clock = Clock()
        >>> fired = []
        >>> _ = clock.call_later(30, lambda: fired.append(clock.elapsed.total_seconds()))
        >>> _ = clock.advance(60)
        >>> fired
        [30.0]
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._start = _epoch(start if start is not None else DEFAULT_START)
        self._t = self._start
        self._heap: list[ScheduledEvent] = []
        self._seq = itertools.count()
        self._listeners: list[Listener] = []

    # -- reading the time -------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        """The current lab time, timezone-aware (UTC)."""
        return datetime.fromtimestamp(self._t, tz=timezone.utc)

    @property
    def timestamp(self) -> float:
        """The current lab time as epoch seconds."""
        return self._t

    @property
    def start(self) -> datetime:
        """The instant this clock started at."""
        return datetime.fromtimestamp(self._start, tz=timezone.utc)

    @property
    def elapsed(self) -> timedelta:
        """How much lab time has passed since the clock started."""
        return timedelta(seconds=self._t - self._start)

    # -- moving it --------------------------------------------------------------------------
    def advance(self, by: Duration) -> datetime:
        """Move time forward, running every event that falls due on the way, in order.

        Args:
            by: Seconds (int or float) or a ``timedelta``. Zero runs the events that are due now.

        Returns:
            The new current time.

        Raises:
            ClockError: If ``by`` is negative or not a duration: time only moves forward.
        """
        seconds = _seconds(by)
        if seconds < 0:
            raise ClockError(
                f"The lab clock only moves forward; advance({seconds:g}) would go back in time."
            )
        return self._run_until(self._t + seconds)

    def advance_to(self, when: Instant) -> datetime:
        """Move time forward to ``when`` (a datetime or epoch seconds), running due events.

        Raises:
            ClockError: If ``when`` is in the lab's past.
        """
        target = _epoch(when)
        if target < self._t:
            raise ClockError(
                f"The lab clock is already at {self.now.isoformat()}; it cannot go back to "
                f"{datetime.fromtimestamp(target, tz=timezone.utc).isoformat()}."
            )
        return self._run_until(target)

    def run_next(self) -> ScheduledEvent | None:
        """Advance exactly to the next pending event and run it; ``None`` when there is none."""
        self._drop_cancelled()
        if not self._heap:
            return None
        event = self._heap[0]
        self._run_until(event.at)
        return event

    def _run_until(self, target: float) -> datetime:
        while True:
            self._drop_cancelled()
            if not self._heap or self._heap[0].at > target:
                break
            event = heapq.heappop(self._heap)
            # A callback may itself have advanced the clock past this event (nested advance):
            # never move backwards.
            self._set(max(self._t, event.at))
            event.callback()
        self._set(max(self._t, target))
        return self.now

    def _set(self, t: float) -> None:
        if t == self._t:
            return
        self._t = t
        now = self.now
        for listener in list(self._listeners):
            listener(now)

    def _drop_cancelled(self) -> None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)

    # -- scheduling -------------------------------------------------------------------------
    def call_at(
        self, when: Instant, callback: Callable[[], object], *, label: str = ""
    ) -> ScheduledEvent:
        """Run ``callback`` when the clock reaches ``when``; an instant in the past runs at the
        next advance."""
        at = max(_epoch(when), self._t)
        event = ScheduledEvent(at, next(self._seq), callback, label)
        heapq.heappush(self._heap, event)
        return event

    def call_later(
        self, delay: Duration, callback: Callable[[], object], *, label: str = ""
    ) -> ScheduledEvent:
        """Run ``callback`` after ``delay`` (seconds or timedelta) of lab time."""
        seconds = _seconds(delay)
        if seconds < 0:
            raise ClockError(f"A delay cannot be negative ({seconds:g} s).")
        return self.call_at(self._t + seconds, callback, label=label)

    def every(
        self, interval: Duration, callback: Callable[[], object], *, label: str = ""
    ) -> ScheduledEvent:
        """Run ``callback`` every ``interval`` of lab time, first after one interval.

        Returns:
            The first event; cancelling it stops the repetition.
        """
        seconds = _seconds(interval)
        if seconds <= 0:
            raise ClockError(f"A repeating interval must be positive, not {seconds:g} s.")

        # The returned handle is the first heap entry; later repetitions are fresh entries that
        # check the handle's flag, so cancelling the handle stops the whole series.
        def tick() -> None:
            if handle.cancelled:
                return
            callback()
            if not handle.cancelled:
                repetition = ScheduledEvent(self._t + seconds, next(self._seq), tick, label)
                handle._pending = repetition
                heapq.heappush(self._heap, repetition)

        handle = ScheduledEvent(self._t + seconds, next(self._seq), tick, label)
        heapq.heappush(self._heap, handle)
        return handle

    def process(self, generator: Process, *, label: str = "") -> ScheduledEvent:
        """Run a generator as a process: it yields how long to wait before it continues.

        The first step runs at the current time on the next advance (``advance(0)`` runs it).

        Example:
            >>> clock = Clock()
            >>> seen = []
            >>> def producer():
            ...     for i in range(3):
            ...         seen.append(i)
            ...         yield 10
            >>> _ = clock.process(producer())
            >>> _ = clock.advance(25)
            >>> seen
            [0, 1, 2]
        """

        def step() -> None:
            try:
                delay = next(generator)
            except StopIteration:
                return
            self.call_later(delay, step, label=label)

        return self.call_at(self._t, step, label=label)

    # -- looking inside ---------------------------------------------------------------------
    @property
    def next_event_time(self) -> float | None:
        """Epoch seconds of the next pending event, or ``None``."""
        self._drop_cancelled()
        return self._heap[0].at if self._heap else None

    def pending(self) -> Iterator[ScheduledEvent]:
        """The pending events in the order they will run."""
        return iter(sorted(e for e in self._heap if not e.cancelled))

    def watch(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(now)`` every time the clock moves; returns a function that stops it."""
        self._listeners.append(listener)

        def unwatch() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unwatch

    def __repr__(self) -> str:
        return (
            f"Clock(now={self.now.isoformat()}, elapsed={self.elapsed}, pending={len(self._heap)})"
        )
