"""Timestamps and watermarks: ``WatermarkStrategy`` as Flink's "Generating Watermarks" page has it.

Rules from https://nightlies.apache.org/flink/flink-docs-stable/docs/dev/datastream/event-time/generating_watermarks/
and the generators it describes:

- A ``TimestampAssigner`` gives each element its event time in epoch milliseconds
  (``extract_timestamp(value, record_timestamp)``; the record timestamp is the source's own, for
  Kinesis the record's approximate arrival time).
- ``for_bounded_out_of_orderness(bound)`` tracks the largest timestamp seen and emits the watermark
  ``max - bound - 1`` periodically ("the watermark lags behind the max timestamp seen in the
  stream by a fixed amount of time"); ``for_monotonous_timestamps()`` is the same with a bound of
  zero. The watermark means "no element with a timestamp at or below it will come any more";
  elements that still do are late.
- Periodic generators emit every ``auto_watermark_interval`` of processing time (200 ms by
  default, ``ExecutionConfig.setAutoWatermarkInterval``), not on every element.
- With several inputs (Kinesis shards, union), an operator's watermark is the minimum of its
  inputs' (Flink's "Timely Stream Processing" page,
  https://nightlies.apache.org/flink/flink-docs-stable/docs/concepts/time/: "the operator's
  current event time is the minimum of the input streams' event times");
  an input idle for longer than ``with_idleness`` is left out of that minimum, so one quiet shard
  does not hold every window open.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from labkit.services.flink.sim_time import MIN_TIMESTAMP, FlinkArgumentError, millis


class TimestampAssigner(ABC):
    """Gives an element its event time (override ``extract_timestamp``)."""

    @abstractmethod
    def extract_timestamp(self, value: Any, record_timestamp: int) -> int:
        """The element's event time in epoch milliseconds."""


def _as_assigner(assigner: Any) -> Callable[[Any, int], int]:
    """A two-argument function from a ``TimestampAssigner`` or a lambda of one or two arguments."""
    extract = getattr(assigner, "extract_timestamp", None)
    if extract is not None:
        return extract  # type: ignore[no-any-return]
    if not callable(assigner):
        raise FlinkArgumentError(
            "with_timestamp_assigner takes a TimestampAssigner or a function "
            f"(value, record_timestamp) -> epoch milliseconds, not {assigner!r}."
        )
    try:
        params = [
            p
            for p in inspect.signature(assigner).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        ]
    except (TypeError, ValueError):
        params = []
    if len(params) == 1:
        return lambda value, _record: assigner(value)
    return assigner  # type: ignore[no-any-return]


class WatermarkGenerator:
    """Tracks event time for one input and says what the watermark is."""

    def on_event(self, timestamp: int) -> None:
        """Note an element's timestamp."""

    def on_periodic_emit(self) -> int:
        """The watermark to emit now (``MIN_TIMESTAMP`` when there is none yet)."""
        return MIN_TIMESTAMP


class BoundedOutOfOrdernessWatermarks(WatermarkGenerator):
    """Flink's generator: watermark = largest timestamp seen - bound - 1 ms."""

    def __init__(self, bound: int) -> None:
        self.bound = bound
        # Flink starts at Long.MIN_VALUE + bound + 1 so that the first emit is Long.MIN_VALUE.
        self.max_timestamp = MIN_TIMESTAMP + bound + 1

    def on_event(self, timestamp: int) -> None:
        if timestamp > self.max_timestamp:
            self.max_timestamp = timestamp

    def on_periodic_emit(self) -> int:
        return self.max_timestamp - self.bound - 1


class WatermarkStrategy:
    """How a stream gets event time: a timestamp assigner and a watermark generator."""

    def __init__(
        self,
        bound: int | None,
        assigner: Callable[[Any, int], int] | None = None,
        idleness: int | None = None,
    ) -> None:
        self.bound = bound
        self.assigner = assigner
        self.idleness = idleness

    @staticmethod
    def for_bounded_out_of_orderness(max_out_of_orderness: Any) -> WatermarkStrategy:
        """Watermarks that trail the largest timestamp seen by ``max_out_of_orderness``."""
        bound = millis(max_out_of_orderness, "max_out_of_orderness")
        if bound < 0:
            raise FlinkArgumentError("max_out_of_orderness cannot be negative.")
        return WatermarkStrategy(bound)

    @staticmethod
    def for_monotonous_timestamps() -> WatermarkStrategy:
        """Watermarks for timestamps that only grow (a bound of zero)."""
        return WatermarkStrategy(0)

    @staticmethod
    def no_watermarks() -> WatermarkStrategy:
        """Timestamps without watermarks: event-time windows never fire."""
        return WatermarkStrategy(None)

    def with_timestamp_assigner(self, timestamp_assigner: Any) -> WatermarkStrategy:
        """The same strategy, with each element's event time from ``timestamp_assigner``."""
        return WatermarkStrategy(self.bound, _as_assigner(timestamp_assigner), self.idleness)

    def with_idleness(self, idle_timeout: Any) -> WatermarkStrategy:
        """The same strategy, leaving an input out of the minimum after ``idle_timeout`` quiet."""
        return WatermarkStrategy(self.bound, self.assigner, millis(idle_timeout, "idle_timeout"))

    def create_generator(self) -> WatermarkGenerator:
        """A fresh generator for one input."""
        if self.bound is None:
            return WatermarkGenerator()
        return BoundedOutOfOrdernessWatermarks(self.bound)

    def describe(self) -> str:
        """A short description for views."""
        if self.bound is None:
            return "no watermarks"
        text = f"bounded out-of-orderness {self.bound} ms"
        if self.idleness is not None:
            text += f", idle after {self.idleness} ms"
        return text


class InputWatermarks:
    """The watermark of an operator with several inputs: the minimum over active ones.

    Each input keeps its own generator; an input with no element for ``idleness`` ms of
    processing time is idle and left out, and an input that has never had an element holds the
    minimum at ``MIN_TIMESTAMP`` (as an empty Kinesis shard does) unless idleness is set.
    """

    def __init__(self, strategy: WatermarkStrategy) -> None:
        self.strategy = strategy
        self.generators: dict[str, WatermarkGenerator] = {}
        self.last_seen: dict[str, int] = {}
        self.idle: set[str] = set()

    def add_input(self, name: str, now: int) -> None:
        """Register an input (a shard) before its first element."""
        if name not in self.generators:
            self.generators[name] = self.strategy.create_generator()
            self.last_seen[name] = now

    def remove_input(self, name: str) -> None:
        """Forget an input that has ended."""
        self.generators.pop(name, None)
        self.last_seen.pop(name, None)
        self.idle.discard(name)

    def on_event(self, name: str, timestamp: int, now: int) -> None:
        """Note an element of input ``name``."""
        generator = self.generators.get(name)
        if generator is None:
            self.add_input(name, now)
            generator = self.generators[name]
        generator.on_event(timestamp)
        self.last_seen[name] = now
        self.idle.discard(name)

    def emit(self, now: int) -> int | None:
        """The combined watermark now, or ``None`` when every input is idle."""
        idleness = self.strategy.idleness
        lowest: int | None = None
        for name, generator in self.generators.items():
            if idleness is not None and now - self.last_seen[name] >= idleness:
                self.idle.add(name)
                continue
            mark = generator.on_periodic_emit()
            if lowest is None or mark < lowest:
                lowest = mark
        return lowest

    def per_input(self) -> dict[str, int]:
        """Each input's own watermark (for views)."""
        return {name: g.on_periodic_emit() for name, g in self.generators.items()}


__all__ = [
    "BoundedOutOfOrdernessWatermarks",
    "InputWatermarks",
    "TimestampAssigner",
    "WatermarkGenerator",
    "WatermarkStrategy",
]
