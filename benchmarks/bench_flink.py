"""Flink window engine benchmark: a windowed aggregation over 1,000,000 events.

Prints, measured in the same run:
- labkit's engine (``labkit.services.flink``) computing a per-minute average per sensor
  (tumbling event-time windows, 30 s bounded out-of-orderness) over 1,000,000 events from 100
  sensors, arriving 1,000 per 200 ms of lab time, so watermarks advance and windows fire as they
  would in a running job;
- a plain-Python baseline doing the same arithmetic with a dict of windows (no watermark
  generator, triggers, timers or late handling), and the ratio of the two;
- the same engine with sliding windows (5 min every 1 min: five windows per event) for scale.

Target (issue 20): the windowed aggregation over 1,000,000 events in under 10 s of wall time.
"""

from __future__ import annotations

import os
import random
import sys
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

EVENTS = 1_000_000
SENSORS = 100
BATCH = 1_000
MINUTE = 60_000
TARGET_S = 10.0


def make_events() -> list[tuple[str, int, float]]:
    """``(sensor, event ms, value)``: 10 ms apart, shuffled by up to 30 s within each batch."""
    rng = random.Random(7)
    start = 1_767_603_600_000
    events = [
        (f"s{i % SENSORS}", start + i * 10 - rng.randrange(0, 30_000), rng.random() * 40)
        for i in range(EVENTS)
    ]
    return events


class BatchSource:
    """Offers the events ``BATCH`` at a time, one batch per 200 ms of lab time."""

    def __init__(self, events: list[tuple[str, int, float]]) -> None:
        self.events = events

    def start(self, feed: Any) -> None:
        clock = feed.runtime.clock
        t0 = clock.timestamp
        for n, first in enumerate(range(0, len(self.events), BATCH)):
            batch = [(e, None, "0") for e in self.events[first : first + BATCH]]
            clock.call_at(t0 + n * 0.2, lambda b=batch: feed.offer(b))
        clock.call_at(t0 + (len(self.events) // BATCH) * 0.2, feed.finish)

    def stop(self) -> None:
        pass


class Average:
    def create_accumulator(self) -> tuple[float, int]:
        return (0.0, 0)

    def add(self, value: tuple[str, int, float], acc: tuple[float, int]) -> tuple[float, int]:
        return (acc[0] + value[2], acc[1] + 1)

    def get_result(self, acc: tuple[float, int]) -> float:
        return acc[0] / acc[1]

    def merge(self, a: tuple[float, int], b: tuple[float, int]) -> tuple[float, int]:
        return (a[0] + b[0], a[1] + b[1])


def engine(events: list[tuple[str, int, float]], sliding: bool) -> tuple[float, float, int]:
    from labkit.clock import Clock
    from labkit.services.flink.sim_stream import StreamExecutionEnvironment
    from labkit.services.flink.sim_time import Duration, Time
    from labkit.services.flink.sim_watermarks import WatermarkStrategy
    from labkit.services.flink.sim_windows import (
        SlidingEventTimeWindows,
        TumblingEventTimeWindows,
    )

    env = StreamExecutionEnvironment(Clock())
    strategy = WatermarkStrategy.for_bounded_out_of_orderness(
        Duration.of_seconds(30)
    ).with_timestamp_assigner(lambda e, _t: e[1])
    assigner = (
        SlidingEventTimeWindows.of(Time.minutes(5), Time.minutes(1))
        if sliding
        else TumblingEventTimeWindows.of(Time.minutes(1))
    )
    results: list[float] = []
    stream = env.from_source(BatchSource(events), strategy, "bench")
    stream.key_by(lambda e: e[0]).window(assigner).aggregate(Average()).add_sink(results.append)
    started, cpu = time.perf_counter(), time.process_time()
    env.execute("bench")
    return time.perf_counter() - started, time.process_time() - cpu, len(results)


def baseline(events: list[tuple[str, int, float]]) -> tuple[float, float, int]:
    """The same per-minute averages with a dict of windows, firing by a trailing watermark."""
    started, cpu = time.perf_counter(), time.process_time()
    windows: dict[tuple[str, int], list[float]] = {}
    results: list[float] = []
    high = -(2**63)
    for first in range(0, len(events), BATCH):
        for key, ts, value in events[first : first + BATCH]:
            start = ts - ts % MINUTE
            if start + MINUTE - 1 <= high - 30_001:
                continue  # late
            acc = windows.get((key, start))
            if acc is None:
                windows[(key, start)] = [value, 1]
            else:
                acc[0] += value
                acc[1] += 1
            if ts > high:
                high = ts
        mark = high - 30_001
        for window_key in [k for k in windows if k[1] + MINUTE - 1 <= mark]:
            total, count = windows.pop(window_key)
            results.append(total / count)
    for total, count in windows.values():
        results.append(total / count)
    return time.perf_counter() - started, time.process_time() - cpu, len(results)


def main() -> int:
    events = make_events()
    engine_s, engine_cpu, engine_n = engine(events, sliding=False)
    base_s, base_cpu, base_n = baseline(events)
    print(f"events: {EVENTS:,} from {SENSORS} sensors, {BATCH:,} per 200 ms of lab time")
    print("(wall s / CPU s of this process: on a shared machine the wall time includes waiting)")
    print(
        f"labkit engine, tumbling 1 min average per sensor: {engine_s:.2f} / {engine_cpu:.2f} s "
        f"({engine_n:,} windows)"
    )
    print(
        f"plain-Python dict of windows, same averages:      {base_s:.2f} / {base_cpu:.2f} s "
        f"({base_n:,} windows)"
    )
    print(f"ratio engine / baseline (CPU): {engine_cpu / base_cpu:.1f}x")
    slide_s, slide_cpu, slide_n = engine(events, sliding=True)
    print(
        f"labkit engine, sliding 5 min every 1 min:         {slide_s:.2f} / {slide_cpu:.2f} s "
        f"({slide_n:,} windows)"
    )
    verdict = "met" if engine_s < TARGET_S else "MISSED"
    print(f"target: tumbling aggregation under {TARGET_S:.0f} s of wall time: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
