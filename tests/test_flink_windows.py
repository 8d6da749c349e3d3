"""The window engine's Flink semantics, without a sandbox: assignment, watermarks, lateness.

Each test states the Flink rule it checks (Flink's "Windows" and "Generating Watermarks" pages)
and drives the engine on its own clock, so nothing here sleeps or touches moto.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from labkit.clock import Clock
from labkit.services.flink.sim_operator import OutputTag, WindowOperator
from labkit.services.flink.sim_stream import StreamExecutionEnvironment, TimedCollectionSource
from labkit.services.flink.sim_time import Duration, FlinkArgumentError, Time
from labkit.services.flink.sim_watermarks import BoundedOutOfOrdernessWatermarks, WatermarkStrategy
from labkit.services.flink.sim_windows import (
    EventTimeSessionWindows,
    MissingTimestampError,
    SlidingEventTimeWindows,
    TimeWindow,
    TumblingEventTimeWindows,
    TumblingProcessingTimeWindows,
)

MINUTE = 60_000


def by_ts(bound_s: float = 0) -> WatermarkStrategy:
    """Bounded out-of-orderness on ``(key, ts, value)`` tuples."""
    return WatermarkStrategy.for_bounded_out_of_orderness(
        Duration.of_seconds(bound_s)
    ).with_timestamp_assigner(lambda e, _t: e[1])


def count_per_window(key: Any, context: Any, elements: Any) -> list[tuple[Any, int, int]]:
    return [(key, context.window().start, len(list(elements)))]


def timed_job(
    arrivals: Sequence[tuple[Any, ...]],
    assigner: Any,
    *,
    bound_s: float = 0,
    lateness: Any = 0,
    late_tag: OutputTag | None = None,
) -> tuple[list[Any], list[Any], WindowOperator]:
    """Run a keyed window job whose elements arrive at lab times; returns results, side, op."""
    env = StreamExecutionEnvironment(Clock())
    stream = env.from_source(TimedCollectionSource(arrivals), by_ts(bound_s), "test")
    windowed = stream.key_by(lambda e: e[0]).window(assigner).allowed_lateness(lateness)
    if late_tag is not None:
        windowed = windowed.side_output_late_data(late_tag)
    result = windowed.process(count_per_window)
    out: list[Any] = []
    side: list[Any] = []
    result.add_sink(out.append)
    if late_tag is not None:
        result.get_side_output(late_tag).add_sink(side.append)
    job = env.execute("test")
    return out, side, job.window_operators[0]


# -- assignment ---------------------------------------------------------------------------------
def test_tumbling_windows_are_aligned_to_the_epoch_plus_offset() -> None:
    one_minute = TumblingEventTimeWindows.of(Time.minutes(1))
    assert one_minute.assign_windows(61_500) == [TimeWindow(60_000, 120_000)]
    assert one_minute.assign_windows(-1) == [TimeWindow(-60_000, 0)]
    shifted = TumblingEventTimeWindows.of(Time.minutes(1), Time.seconds(15))
    assert shifted.assign_windows(61_500) == [TimeWindow(15_000, 75_000)]
    assert TimeWindow(0, 60_000).max_timestamp() == 59_999


def test_a_sliding_window_puts_one_element_in_size_over_slide_windows_newest_first() -> None:
    five_every_one = SlidingEventTimeWindows.of(Time.minutes(5), Time.minutes(1))
    windows = five_every_one.assign_windows(7 * MINUTE + 30_000)
    assert [w.start // MINUTE for w in windows] == [7, 6, 5, 4, 3]
    assert all(w.end - w.start == 5 * MINUTE for w in windows)
    assert all(w.start <= 7.5 * MINUTE < w.end for w in windows)


def test_sessions_merge_when_an_element_bridges_the_gap() -> None:
    # A 30 s bound keeps every session open until the end of input.
    arrivals = [(0, ("u", 0)), (0, ("u", 5_000)), (0, ("u", 20_000)), (1, ("u", 12_000))]
    gap = EventTimeSessionWindows.with_gap(Time.seconds(10))
    out, _, _ = timed_job(arrivals, gap, bound_s=30)
    assert out == [("u", 0, 4)]  # 12 s touches [0, 15 s) and [20 s, 30 s): one session
    out, _, _ = timed_job(arrivals[:3], gap, bound_s=30)
    assert out == [("u", 0, 2), ("u", 20_000, 1)]
    # Without the bound, [0, 15 s) fired at the first watermark (19.999 s): the bridging element
    # can only join [20 s, 30 s), as in Flink, where a fired session's state is gone.
    out, _, _ = timed_job(arrivals, gap)
    assert out == [("u", 0, 2), ("u", 12_000, 2)]


def test_sessions_merge_aggregate_accumulators() -> None:
    class Total:
        def create_accumulator(self) -> int:
            return 0

        def add(self, value: Any, acc: int) -> int:
            return acc + int(value[2])

        def get_result(self, acc: int) -> int:
            return acc

        def merge(self, a: int, b: int) -> int:
            return a + b

    env = StreamExecutionEnvironment(Clock())
    data = [("u", 0, 1), ("u", 30_000, 2), ("u", 15_000, 4)]  # the third joins both sessions
    stream = env.from_collection(data).assign_timestamps_and_watermarks(by_ts())
    sessions = stream.key_by(lambda e: e[0]).window(
        EventTimeSessionWindows.with_gap(Time.seconds(20))
    )
    assert list(sessions.aggregate(Total()).execute_and_collect()) == [7]


# -- watermarks ---------------------------------------------------------------------------------
def test_bounded_out_of_orderness_trails_the_largest_timestamp_by_the_bound_and_1_ms() -> None:
    generator = BoundedOutOfOrdernessWatermarks(30_000)
    generator.on_event(100_000)
    generator.on_event(90_000)  # out of order: the maximum stays
    assert generator.on_periodic_emit() == 100_000 - 30_000 - 1


def test_a_window_fires_when_the_watermark_reaches_its_last_millisecond() -> None:
    # Window [0, 60 s) with a 30 s bound: an event at 89.999 s brings the watermark to 59.998 s
    # (not yet), one at 90 s to 59.999 s = end - 1 (fires).
    arrivals = [(0, ("a", 1_000)), (1, ("a", 89_999)), (2, ("a", 90_000)), (3, ("a", 200_000))]
    env = StreamExecutionEnvironment(Clock())
    stream = env.from_source(TimedCollectionSource(arrivals), by_ts(30), "t")
    result = (
        stream.key_by(lambda e: e[0])
        .window(TumblingEventTimeWindows.of(Time.minutes(1)))
        .process(count_per_window)
    )
    out: list[Any] = []
    result.add_sink(out.append)
    job = env.execute_async("t")
    env.clock.advance(1.5)
    assert out == []
    assert job.window_operators[0].watermark == 59_998
    env.clock.advance(1)
    assert out == [("a", 0, 1)]


def test_elements_within_one_watermark_interval_are_read_before_the_watermark_moves() -> None:
    # 90 s then 10 s arrive at 50 ms and 150 ms, inside one 200 ms interval: the watermark is
    # emitted after both, so the 10 s element is on time.
    arrivals = [(0.05, ("a", 90_000)), (0.15, ("a", 10_000)), (5, ("a", 300_000))]
    out, _, op = timed_job(arrivals, TumblingEventTimeWindows.of(Time.minutes(1)), bound_s=30)
    assert ("a", 0, 1) in out and op.late_dropped == 0
    # Across the interval boundary (50 ms, then 250 ms) the watermark came between: late.
    arrivals = [(0.05, ("a", 90_000)), (0.25, ("a", 10_000)), (5, ("a", 300_000))]
    out, _, op = timed_job(arrivals, TumblingEventTimeWindows.of(Time.minutes(1)), bound_s=30)
    assert ("a", 0, 1) not in out and op.late_dropped == 1


def test_an_empty_split_holds_the_watermark_until_it_is_idle() -> None:
    arrivals = [
        (0, ("a", 1_000), "shard-0"),
        (1, ("a", 300_000), "shard-0"),
        (2, ("b", 1, "x"), "shard-1"),
    ]
    for idle, fired_before_shard_1 in ((None, False), (Duration.of_seconds(0.5), True)):
        env = StreamExecutionEnvironment(Clock())
        strategy = by_ts()
        if idle is not None:
            strategy = strategy.with_idleness(idle)
        source = TimedCollectionSource(arrivals)
        stream = env.from_source(source, strategy, "shards")
        result = (
            stream.key_by(lambda e: e[0])
            .window(TumblingEventTimeWindows.of(Time.minutes(1)))
            .process(count_per_window)
        )
        out: list[Any] = []
        result.add_sink(out.append)
        env.execute_async("t")
        env.clock.advance(1.5)
        assert (("a", 0, 1) in out) is fired_before_shard_1


# -- lateness -----------------------------------------------------------------------------------
LATE_ARRIVALS = [
    (0, ("a", 10_000)),
    (1, ("a", 95_000)),  # watermark 64.999 s: window [0, 60 s) fires with 1 element
    (2, ("a", 20_000)),  # late for [0, 60 s)
    (3, ("a", 500_000)),  # ends everything
]


def test_late_elements_are_dropped_by_default() -> None:
    out, _, op = timed_job(LATE_ARRIVALS, TumblingEventTimeWindows.of(Time.minutes(1)), bound_s=30)
    assert ("a", 0, 1) in out and ("a", 0, 2) not in out
    assert op.late_dropped == 1 and op.late[0].timestamp == 20_000


def test_late_elements_go_to_the_side_output_when_asked() -> None:
    late = OutputTag("late")
    out, side, op = timed_job(
        LATE_ARRIVALS, TumblingEventTimeWindows.of(Time.minutes(1)), bound_s=30, late_tag=late
    )
    assert side == [("a", 20_000)]
    assert op.late_to_side == 1 and op.late_dropped == 0
    assert [r for r in out if r[1] == 0] == [("a", 0, 1)]


def test_allowed_lateness_fires_the_window_again_with_the_late_element() -> None:
    out, _, op = timed_job(
        LATE_ARRIVALS,
        TumblingEventTimeWindows.of(Time.minutes(1)),
        bound_s=30,
        lateness=Time.seconds(10),
    )
    assert [r for r in out if r[1] == 0] == [("a", 0, 1), ("a", 0, 2)]
    firings = [f for f in op.firings if f.window.start == 0]
    assert [f.late for f in firings] == [False, True]
    assert op.late_dropped == 0


def test_past_the_allowed_lateness_an_element_is_late_again() -> None:
    arrivals = [(0, ("a", 10_000)), (1, ("a", 200_000)), (2, ("a", 20_000)), (3, ("a", 900_000))]
    out, _, op = timed_job(
        arrivals, TumblingEventTimeWindows.of(Time.minutes(1)), bound_s=30, lateness=10_000
    )
    assert [r for r in out if r[1] == 0] == [("a", 0, 1)]
    assert op.late_dropped == 1


def test_a_sliding_window_element_is_late_only_when_every_window_is_done() -> None:
    # Windows of 2 min every 1 min: 70 s belongs to [0, 2 min) and [1 min, 3 min). With the
    # watermark at 149.999 s the first is done, the second still open: the element counts there.
    arrivals = [(0, ("a", 150_000)), (1, ("a", 70_000)), (2, ("a", 900_000))]
    out, _, op = timed_job(arrivals, SlidingEventTimeWindows.of(Time.minutes(2), Time.minutes(1)))
    assert ("a", MINUTE, 2) in out and op.late_dropped == 0


# -- processing time ----------------------------------------------------------------------------
def test_processing_time_windows_follow_the_lab_clock_not_the_events() -> None:
    clock = Clock()
    start_ms = round(clock.timestamp * 1000)
    # Event timestamps say "an hour ago"; processing time puts both where they arrive.
    arrivals = [(1, ("a", 0)), (61, ("a", 0)), (62, ("a", 0))]
    env = StreamExecutionEnvironment(clock)
    stream = env.from_source(TimedCollectionSource(arrivals), by_ts(), "t")
    result = (
        stream.key_by(lambda e: e[0])
        .window(TumblingProcessingTimeWindows.of(Time.minutes(1)))
        .process(count_per_window)
    )
    out: list[Any] = []
    result.add_sink(out.append)
    env.execute_async("t")
    clock.advance(59)
    assert out == []  # the first minute has not ended on the clock
    clock.advance(200)
    minute = start_ms - start_ms % MINUTE
    assert out == [("a", minute, 1), ("a", minute + MINUTE, 2)]


def test_event_time_puts_an_out_of_order_event_where_it_happened() -> None:
    # Arrives last, happened first: event time counts it in the first minute.
    data = [("a", 70_000), ("a", 80_000), ("a", 5_000)]
    env = StreamExecutionEnvironment(Clock())
    stream = env.from_collection(data).assign_timestamps_and_watermarks(by_ts(30))
    windows = stream.key_by(lambda e: e[0]).window(TumblingEventTimeWindows.of(Time.minutes(1)))
    assert sorted(windows.process(count_per_window).execute_and_collect()) == [
        ("a", 0, 1),
        ("a", MINUTE, 2),
    ]


# -- functions and errors -----------------------------------------------------------------------
def test_reduce_and_window_all() -> None:
    env = StreamExecutionEnvironment(Clock())
    data = [("a", 1_000, 3), ("b", 2_000, 4), ("a", 61_000, 5)]
    stream = env.from_collection(data).assign_timestamps_and_watermarks(by_ts())
    keyed = stream.key_by(lambda e: e[0]).window(TumblingEventTimeWindows.of(Time.minutes(1)))
    sums = keyed.reduce(lambda x, y: (x[0], x[1], x[2] + y[2]))
    assert sorted(e[2] for e in sums.execute_and_collect()) == [3, 4, 5]
    env = StreamExecutionEnvironment(Clock())
    stream = env.from_collection(data).assign_timestamps_and_watermarks(by_ts())
    every = stream.window_all(TumblingEventTimeWindows.of(Time.minutes(1))).process(
        lambda ctx, els: [sum(e[2] for e in els)]
    )
    assert list(every.execute_and_collect()) == [7, 5]


def test_window_results_carry_the_window_s_last_millisecond() -> None:
    env = StreamExecutionEnvironment(Clock())
    stream = env.from_collection([("a", 1_000)]).assign_timestamps_and_watermarks(by_ts())
    counted = (
        stream.key_by(lambda e: e[0])
        .window(TumblingEventTimeWindows.of(Time.minutes(1)))
        .process(count_per_window)
    )
    again = counted.window_all(TumblingEventTimeWindows.of(Time.minutes(1))).process(
        lambda ctx, els: [(ctx.window().start, list(els))]
    )
    assert list(again.execute_and_collect()) == [(0, [("a", 0, 1)])]


def test_an_event_time_window_without_timestamps_says_what_is_missing() -> None:
    env = StreamExecutionEnvironment(Clock())
    windows = (
        env.from_collection([1])
        .key_by(lambda e: e)
        .window(TumblingEventTimeWindows.of(Time.minutes(1)))
    )
    windows.reduce(lambda a, b: a).add_sink(lambda v: None)
    with pytest.raises(MissingTimestampError, match="assign_timestamps_and_watermarks"):
        env.execute()


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (lambda: TumblingEventTimeWindows.of(Time.minutes(1), Time.minutes(2)), "abs(offset)"),
        (lambda: SlidingEventTimeWindows.of(Time.minutes(1), 0), "slide"),
        (lambda: EventTimeSessionWindows.with_gap(0), "0 < size"),
        (lambda: WatermarkStrategy.for_bounded_out_of_orderness("30s"), "Duration"),
        (lambda: TumblingEventTimeWindows.of(1.5), "milliseconds"),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments_get_flink_s_reason(build: Any, words: str) -> None:
    with pytest.raises(FlinkArgumentError, match=words.replace("(", r"\(").replace(")", r"\)")):
        build()


def test_a_union_s_watermark_is_the_lowest_of_its_inputs() -> None:
    clock = Clock()
    env = StreamExecutionEnvironment(clock)
    fast = env.from_source(
        TimedCollectionSource([(0, ("a", 200_000)), (9, ("a", 400_000))]), by_ts(), "fast"
    )
    slow = env.from_source(
        TimedCollectionSource([(0, ("a", 10_000)), (9, ("a", 400_000))]), by_ts(), "slow"
    )
    result = (
        fast.union(slow)
        .key_by(lambda e: e[0])
        .window(TumblingEventTimeWindows.of(Time.minutes(1)))
        .process(count_per_window)
    )
    out: list[Any] = []
    result.add_sink(out.append)
    job = env.execute_async("union")
    clock.advance(1)
    # fast is at 199.999 s, slow at 9.999 s: only windows before 9.999 s could fire (none).
    assert out == [] and job.window_operators[0].watermark == 9_999
    clock.advance(10)
    assert ("a", 0, 1) in out and ("a", 180_000, 1) in out
