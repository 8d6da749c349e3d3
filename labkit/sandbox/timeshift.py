"""Make the whole process, moto included, read the lab clock.

moto reads time from ``datetime`` and ``time`` in many places (visibility timeouts, delays,
deduplication windows, token expiry), so the sandbox freezes the process's wall clock at the lab
clock's time with time-machine (a C-level patch, cheap per call) and moves it whenever the lab
clock moves. ``time.monotonic`` and ``time.perf_counter`` are left alone, so timeouts and
benchmarks still measure real elapsed time.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from types import ModuleType

from labkit.clock import Clock


def _import_time_machine() -> ModuleType:
    """Import time-machine without the pytest it imports for its optional fixture.

    Importing pytest costs about a third of a second, more than a lab's whole start-up budget
    allows; labkit never uses the fixture. Where pytest is already imported (a test run), nothing
    changes.
    """
    if "time_machine" in sys.modules or "pytest" in sys.modules:
        import time_machine

        return time_machine
    sys.modules["pytest"] = None  # type: ignore[assignment]  # makes `import pytest` fail
    try:
        import time_machine
    finally:
        del sys.modules["pytest"]
    return time_machine


time_machine = _import_time_machine()


class ProcessTime:
    """Keeps the process's wall clock equal to one lab clock at a time.

    The clock followed can be switched (a check's isolated world runs on its own clock and the
    learner's clock is untouched by it).
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._traveller = time_machine.travel(clock.now, tick=False)
        self._coordinates = self._traveller.start()
        self._unwatch = clock.watch(self._coordinates.move_to)

    @property
    def clock(self) -> Clock:
        """The clock the process follows now."""
        return self._clock

    def follow(self, clock: Clock) -> None:
        """Follow ``clock`` from now on (its time may be earlier than the current one)."""
        self._unwatch()
        self._clock = clock
        self._coordinates.move_to(clock.now)
        self._unwatch = clock.watch(self._coordinates.move_to)

    def stop(self) -> None:
        """Give the process its real wall clock back."""
        self._unwatch()
        self._traveller.stop()


@contextmanager
def process_time(clock: Clock) -> Iterator[ProcessTime]:
    """Freeze the process's time at ``clock`` for the ``with`` block."""
    binding = ProcessTime(clock)
    try:
        yield binding
    finally:
        binding.stop()


def wall_now() -> datetime:
    """The real current time, even while a lab freezes the process clock."""
    if not time_machine.escape_hatch.is_travelling():
        return datetime.now(tz=timezone.utc)
    real: datetime = time_machine.escape_hatch.datetime.datetime.now(tz=timezone.utc)
    return real
