"""Windows and the assigners that put each element into them, as Flink defines them.

Rules from Flink's "Windows" page
(https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/datastream/operators/windows/)
and the assigners' code it describes:

- A window is ``[start, end)`` in epoch milliseconds; its last timestamp (``max_timestamp``) is
  ``end - 1``, and an event-time window fires when the watermark reaches it, i.e. passes
  ``end - 1`` ("the window is completely removed when the time (event or processing time) passes
  its end timestamp plus the user-specified allowed lateness").
- Tumbling windows are aligned to the epoch (plus an optional offset): ``start = t - (t - offset)
  mod size``, so ``Time.minutes(1)`` windows run ``[12:00, 12:01)``, ``[12:01, 12:02)``, ...
- Sliding windows of ``size`` every ``slide`` overlap, so one element is assigned to
  ``size / slide`` windows, newest first, as Flink's assigner lists them.
- A session window starts as ``[t, t + gap)`` for each element and merges with every window it
  intersects, so a session closes only after a gap with no element.
- Processing-time assigners do the same with the operator's current processing time (the lab
  clock) instead of the element's timestamp.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, NamedTuple

from labkit.services.flink.sim_time import MIN_TIMESTAMP, FlinkArgumentError, Time, millis


class MissingTimestampError(FlinkArgumentError):
    """An event-time window got an element without a timestamp (no watermark strategy)."""

    code = "MissingTimestamp"

    def __init__(self) -> None:
        # Flink's own message, with the PyFlink spelling of the method.
        super().__init__(
            "Record has Long.MIN_VALUE timestamp (= no timestamp marker). Is the time "
            "characteristic set to 'ProcessingTime', or did you forget to call "
            "'DataStream.assign_timestamps_and_watermarks(...)'?"
        )


class TimeWindow(NamedTuple):
    """The window ``[start, end)`` in epoch milliseconds (a tuple: cheap to build and hash)."""

    start: int
    end: int

    def max_timestamp(self) -> int:
        """The last millisecond that belongs to the window (``end - 1``)."""
        return self.end - 1

    def intersects(self, other: TimeWindow) -> bool:
        """Whether the windows overlap or touch (Flink's ``TimeWindow.intersects``)."""
        return self.start <= other.end and self.end >= other.start

    def cover(self, other: TimeWindow) -> TimeWindow:
        """The smallest window holding both."""
        return TimeWindow(min(self.start, other.start), max(self.end, other.end))


def window_start(timestamp: int, offset: int, size: int) -> int:
    """Flink's ``TimeWindow.getWindowStartWithOffset``: the aligned start holding ``timestamp``."""
    return timestamp - (timestamp - offset) % size


class WindowAssigner(ABC):
    """Puts an element into zero or more windows."""

    event_time = True
    merging = False

    @abstractmethod
    def assign_windows(self, timestamp: int) -> list[TimeWindow]:
        """The windows of an element with ``timestamp`` (event or processing time)."""

    @abstractmethod
    def describe(self) -> str:
        """A short description for views."""


class _Tumbling(WindowAssigner):
    def __init__(self, size: Any, offset: Any = None) -> None:
        self.size = millis(size, "The window size")
        self.offset = millis(offset, "The window offset") if offset is not None else 0
        if self.size <= 0 or abs(self.offset) >= self.size:
            raise FlinkArgumentError(
                f"{type(self).__name__} parameters must satisfy abs(offset) < size "
                f"(size {self.size} ms, offset {self.offset} ms)."
            )

    def assign_windows(self, timestamp: int) -> list[TimeWindow]:
        if timestamp == MIN_TIMESTAMP and self.event_time:
            raise MissingTimestampError()
        start = timestamp - (timestamp - self.offset) % self.size
        return [TimeWindow(start, start + self.size)]

    def describe(self) -> str:
        kind = "event" if self.event_time else "processing"
        return f"tumbling {_human(self.size)} ({kind} time)"


class _Sliding(WindowAssigner):
    def __init__(self, size: Any, slide: Any, offset: Any = None) -> None:
        self.size = millis(size, "The window size")
        self.slide = millis(slide, "The window slide")
        self.offset = millis(offset, "The window offset") if offset is not None else 0
        if self.size <= 0 or self.slide <= 0 or abs(self.offset) >= self.slide:
            raise FlinkArgumentError(
                f"{type(self).__name__} parameters must satisfy abs(offset) < slide and "
                f"size > 0 (size {self.size} ms, slide {self.slide} ms, offset {self.offset} ms)."
            )

    def assign_windows(self, timestamp: int) -> list[TimeWindow]:
        if timestamp == MIN_TIMESTAMP and self.event_time:
            raise MissingTimestampError()
        size, slide = self.size, self.slide
        start = timestamp - (timestamp - self.offset) % slide
        windows = []
        new = tuple.__new__  # skips the NamedTuple's Python-level __new__ (hot path)
        while start > timestamp - size:
            windows.append(new(TimeWindow, (start, start + size)))
            start -= slide
        return windows

    def describe(self) -> str:
        kind = "event" if self.event_time else "processing"
        return f"sliding {_human(self.size)} every {_human(self.slide)} ({kind} time)"


class _Session(WindowAssigner):
    merging = True

    def __init__(self, gap: Any = None, extractor: Callable[[Any], Any] | None = None) -> None:
        self.gap = millis(gap, "The session gap") if gap is not None else 0
        self.extractor = extractor
        if extractor is None and self.gap <= 0:
            raise FlinkArgumentError(
                f"{type(self).__name__} parameters must satisfy 0 < size (gap {self.gap} ms)."
            )

    def gap_for(self, value: Any) -> int:
        """The gap after ``value`` (fixed, or from the dynamic extractor)."""
        if self.extractor is None:
            return self.gap
        extract = getattr(self.extractor, "extract", self.extractor)
        gap = int(extract(value))
        if gap <= 0:
            raise FlinkArgumentError(
                f"Dynamic gap can not be less than or equal to 0 (got {gap} ms for {value!r})."
            )
        return gap

    def assign_session(self, value: Any, timestamp: int) -> TimeWindow:
        """The initial session window ``[t, t + gap)`` of one element."""
        if timestamp == MIN_TIMESTAMP and self.event_time:
            raise MissingTimestampError()
        return TimeWindow(timestamp, timestamp + self.gap_for(value))

    def assign_windows(self, timestamp: int) -> list[TimeWindow]:
        return [TimeWindow(timestamp, timestamp + self.gap)]

    def describe(self) -> str:
        kind = "event" if self.event_time else "processing"
        gap = "dynamic gap" if self.extractor is not None else f"gap {_human(self.gap)}"
        return f"session, {gap} ({kind} time)"


class TumblingEventTimeWindows(_Tumbling):
    """Fixed-size, non-overlapping windows on event time."""

    @staticmethod
    def of(size: Time | int, offset: Time | int | None = None) -> TumblingEventTimeWindows:
        """Windows of ``size``, aligned to the epoch plus ``offset``."""
        return TumblingEventTimeWindows(size, offset)


class TumblingProcessingTimeWindows(_Tumbling):
    """Fixed-size, non-overlapping windows on processing time (the lab clock)."""

    event_time = False

    @staticmethod
    def of(size: Time | int, offset: Time | int | None = None) -> TumblingProcessingTimeWindows:
        """Windows of ``size``, aligned to the epoch plus ``offset``."""
        return TumblingProcessingTimeWindows(size, offset)


class SlidingEventTimeWindows(_Sliding):
    """Windows of ``size`` starting every ``slide`` on event time (overlapping)."""

    @staticmethod
    def of(
        size: Time | int, slide: Time | int, offset: Time | int | None = None
    ) -> SlidingEventTimeWindows:
        """Windows of ``size`` every ``slide``."""
        return SlidingEventTimeWindows(size, slide, offset)


class SlidingProcessingTimeWindows(_Sliding):
    """Windows of ``size`` starting every ``slide`` on processing time."""

    event_time = False

    @staticmethod
    def of(
        size: Time | int, slide: Time | int, offset: Time | int | None = None
    ) -> SlidingProcessingTimeWindows:
        """Windows of ``size`` every ``slide``."""
        return SlidingProcessingTimeWindows(size, slide, offset)


class EventTimeSessionWindows(_Session):
    """Sessions on event time: a window closes after ``gap`` without elements."""

    @staticmethod
    def with_gap(size: Time | int) -> EventTimeSessionWindows:
        """Sessions separated by at least ``size`` of event time."""
        return EventTimeSessionWindows(size)

    @staticmethod
    def with_dynamic_gap(extractor: Any) -> EventTimeSessionWindows:
        """Sessions whose gap each element sets (``extractor.extract(value)`` in ms)."""
        return EventTimeSessionWindows(None, extractor)


class ProcessingTimeSessionWindows(_Session):
    """Sessions on processing time."""

    event_time = False

    @staticmethod
    def with_gap(size: Time | int) -> ProcessingTimeSessionWindows:
        """Sessions separated by at least ``size`` of processing time."""
        return ProcessingTimeSessionWindows(size)

    @staticmethod
    def with_dynamic_gap(extractor: Any) -> ProcessingTimeSessionWindows:
        """Sessions whose gap each element sets."""
        return ProcessingTimeSessionWindows(None, extractor)


def _human(ms: int) -> str:
    for unit, size in (("h", 3_600_000), ("min", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size} {unit}"
    return f"{ms} ms"


__all__ = [
    "EventTimeSessionWindows",
    "MissingTimestampError",
    "ProcessingTimeSessionWindows",
    "SlidingEventTimeWindows",
    "SlidingProcessingTimeWindows",
    "TimeWindow",
    "TumblingEventTimeWindows",
    "TumblingProcessingTimeWindows",
    "WindowAssigner",
    "window_start",
]
