"""The lab clock: virtual time that moves only when told, and the events it runs on the way."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone

import pytest

from labkit.clock import DEFAULT_START, Clock, Process
from labkit.errors import ClockError, LabkitError

T0 = datetime(2030, 6, 1, 12, 0, 0, tzinfo=timezone.utc)


def test_now_is_timezone_aware_and_starts_at_the_fixed_default() -> None:
    clock = Clock()
    assert clock.now.tzinfo is not None
    assert clock.now.utcoffset() == timedelta(0)
    assert clock.now == DEFAULT_START
    assert clock.elapsed == timedelta(0)


def test_start_time_can_be_chosen_but_must_be_timezone_aware() -> None:
    assert Clock(T0).now == T0
    with pytest.raises(ClockError, match="timezone"):
        Clock(datetime(2030, 1, 1))


def test_advance_takes_seconds_and_timedeltas() -> None:
    clock = Clock(T0)
    assert clock.advance(30) == T0 + timedelta(seconds=30)
    assert clock.advance(1.5) == T0 + timedelta(seconds=31.5)
    assert clock.advance(timedelta(minutes=2)) == T0 + timedelta(seconds=151.5)
    assert clock.elapsed == timedelta(seconds=151.5)
    assert clock.timestamp == (T0 + timedelta(seconds=151.5)).timestamp()


@pytest.mark.parametrize("bad", [-1, -0.001, timedelta(seconds=-5)])
def test_time_never_goes_backwards(bad: float | timedelta) -> None:
    clock = Clock(T0)
    clock.advance(10)
    with pytest.raises(ClockError, match="forward"):
        clock.advance(bad)
    assert clock.now == T0 + timedelta(seconds=10)


def test_advance_to_the_past_is_refused_and_clock_error_is_a_labkit_error() -> None:
    clock = Clock(T0)
    clock.advance(60)
    with pytest.raises(ClockError) as info:
        clock.advance_to(T0)
    assert isinstance(info.value, LabkitError)
    assert clock.now == T0 + timedelta(seconds=60)


@pytest.mark.parametrize("bad", ["10", None, True])
def test_a_duration_must_be_a_number_or_timedelta(bad: object) -> None:
    with pytest.raises(ClockError):
        Clock(T0).advance(bad)  # type: ignore[arg-type]


def test_events_run_in_time_order_at_their_own_instant() -> None:
    clock = Clock(T0)
    seen: list[tuple[str, float]] = []

    def note(name: str) -> None:
        seen.append((name, clock.elapsed.total_seconds()))

    clock.call_later(30, lambda: note("c"))
    clock.call_later(10, lambda: note("a"))
    clock.call_at(T0 + timedelta(seconds=20), lambda: note("b"))
    clock.call_later(100, lambda: note("late"))
    clock.advance(50)
    assert seen == [("a", 10.0), ("b", 20.0), ("c", 30.0)]
    assert clock.elapsed == timedelta(seconds=50)


def test_events_at_the_same_instant_run_first_in_first_out() -> None:
    clock = Clock(T0)
    seen: list[int] = []
    for i in range(5):
        clock.call_later(10, functools.partial(seen.append, i))
    clock.advance(10)
    assert seen == [0, 1, 2, 3, 4]


def test_advance_zero_runs_what_is_due_now() -> None:
    clock = Clock(T0)
    seen: list[str] = []
    clock.call_later(0, lambda: seen.append("now"))
    assert seen == []
    clock.advance(0)
    assert seen == ["now"]


def test_events_scheduled_during_an_advance_run_in_the_same_advance() -> None:
    clock = Clock(T0)
    seen: list[tuple[str, float]] = []

    def first() -> None:
        seen.append(("first", clock.elapsed.total_seconds()))
        clock.call_later(5, lambda: seen.append(("nested", clock.elapsed.total_seconds())))
        clock.call_later(500, lambda: seen.append(("beyond", clock.elapsed.total_seconds())))

    clock.call_later(10, first)
    clock.call_later(12, lambda: seen.append(("second", clock.elapsed.total_seconds())))
    clock.advance(60)
    assert seen == [("first", 10.0), ("second", 12.0), ("nested", 15.0)]
    clock.advance(500)
    assert seen[-1] == ("beyond", 510.0)


def test_cancelled_events_never_run() -> None:
    clock = Clock(T0)
    seen: list[str] = []
    keep = clock.call_later(10, lambda: seen.append("keep"))
    drop = clock.call_later(5, lambda: seen.append("drop"))
    drop.cancel()
    drop.cancel()  # twice is harmless
    assert list(clock.pending()) == [keep]
    assert clock.next_event_time == keep.at
    clock.advance(20)
    assert seen == ["keep"]
    assert clock.next_event_time is None


def test_every_repeats_until_its_handle_is_cancelled() -> None:
    clock = Clock(T0)
    ticks: list[float] = []
    handle = clock.every(10, lambda: ticks.append(clock.elapsed.total_seconds()))
    clock.advance(35)
    assert ticks == [10.0, 20.0, 30.0]
    handle.cancel()
    clock.advance(100)
    assert ticks == [10.0, 20.0, 30.0]


def test_every_can_be_cancelled_from_its_own_callback() -> None:
    clock = Clock(T0)
    ticks: list[float] = []

    def tick() -> None:
        ticks.append(clock.elapsed.total_seconds())
        if len(ticks) == 2:
            handle.cancel()

    handle = clock.every(timedelta(seconds=7), tick)
    clock.advance(100)
    assert ticks == [7.0, 14.0]


@pytest.mark.parametrize("bad", [0, -3])
def test_every_needs_a_positive_interval(bad: int) -> None:
    with pytest.raises(ClockError):
        Clock(T0).every(bad, lambda: None)


def test_processes_are_generators_that_yield_how_long_to_wait() -> None:
    clock = Clock(T0)
    log: list[tuple[str, float]] = []

    def worker(name: str, pause: float | timedelta) -> Process:
        for _ in range(3):
            log.append((name, clock.elapsed.total_seconds()))
            yield pause

    clock.process(worker("fast", 10))
    clock.process(worker("slow", timedelta(seconds=25)))
    clock.advance(0)
    assert log == [("fast", 0.0), ("slow", 0.0)]
    clock.advance(60)
    assert log == [
        ("fast", 0.0),
        ("slow", 0.0),
        ("fast", 10.0),
        ("fast", 20.0),
        ("slow", 25.0),
        ("slow", 50.0),
    ]
    # Both generators are exhausted: nothing is left on the clock.
    clock.advance(1000)
    assert clock.next_event_time is None


def test_watch_listeners_see_every_move_until_unwatched() -> None:
    clock = Clock(T0)
    seen: list[datetime] = []
    unwatch = clock.watch(seen.append)
    clock.call_later(5, lambda: None)
    clock.advance(10)
    # The listener sees the stop at the event (t+5) and the final time (t+10).
    assert seen == [T0 + timedelta(seconds=5), T0 + timedelta(seconds=10)]
    clock.advance(0)  # no movement, no notification
    assert len(seen) == 2
    unwatch()
    unwatch()  # twice is harmless
    clock.advance(10)
    assert len(seen) == 2


def test_advance_to_runs_due_events_and_lands_exactly() -> None:
    clock = Clock(T0)
    seen: list[float] = []
    clock.call_later(30, lambda: seen.append(clock.elapsed.total_seconds()))
    target = T0 + timedelta(minutes=2)
    assert clock.advance_to(target) == target
    assert seen == [30.0]
    # Epoch seconds are accepted too.
    assert clock.advance_to(target.timestamp() + 1) == target + timedelta(seconds=1)


def test_run_next_jumps_straight_to_the_next_event() -> None:
    clock = Clock(T0)
    seen: list[str] = []
    event = clock.call_later(42, lambda: seen.append("x"))
    assert clock.run_next() is event
    assert seen == ["x"]
    assert clock.elapsed == timedelta(seconds=42)
    assert clock.run_next() is None


def test_call_at_in_the_past_runs_at_the_next_advance_without_moving_back() -> None:
    clock = Clock(T0)
    clock.advance(100)
    seen: list[float] = []
    clock.call_at(T0, lambda: seen.append(clock.elapsed.total_seconds()))
    clock.advance(0)
    assert seen == [100.0]


def test_a_nested_advance_inside_a_callback_never_moves_time_back() -> None:
    clock = Clock(T0)
    seen: list[float] = []
    clock.call_later(10, lambda: clock.advance(50))
    clock.call_later(20, lambda: seen.append(clock.elapsed.total_seconds()))
    clock.advance(30)
    # The event due at +20 ran inside the nested advance (at +20); time then stands at +60.
    assert seen == [20.0]
    assert clock.elapsed == timedelta(seconds=60)
