"""The streaming analytics lab's window checks: ``late_averages`` and ``top_products``.

Each deploys the learner's application code (a function that builds a Flink job with labkit's
PyFlink-shaped API and calls ``env.execute()``) as a Managed Service for Apache Flink
application in an empty world, feeds the input stream with readings or orders of its own on the
lab clock, then reads what the job wrote to its output stream and compares it with what Flink's
event-time semantics give for those records. Nothing is compared with the solution's code: any
job whose output is right passes (bounded out-of-orderness or allowed lateness, ``aggregate`` or
``process``, one window or two).

``late_averages``: three sensors report every second for five minutes into ``readings``. Most
readings arrive at once, some 5 to 30 s late; a few, near the end of a minute, arrive 45 s late.
The average per sensor per minute must count every reading up to 30 s late and none later, and
the later ones must go to a side output, not be dropped. When a window emits more than once
(allowed lateness re-fires it), the last result counts, as a sink that upserts would keep it.

``top_products``: orders of ten products for ten minutes into ``orders``, at most 10 s out of
order. For every five-minute window sliding by one minute, the five products ordered most, ties
ranked by product name.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from typing import Any

from labkit.grading.checks import CheckContext, short
from labkit.labs.streaming_analytics_support import (
    deploy,
    epoch_ms,
    feed,
    field,
    job_failure,
    json_records,
    late_counts,
    minute_label,
)

SENSORS = (("s-north", 21.0), ("s-east", 24.0), ("s-south", 18.0))
MINUTES = 5
#: Minutes whose averages are compared (the last one is still open for late readings).
CHECKED_MINUTES = 4
#: How late a reading may be and still count, and how late the too-late ones are (seconds).
ALLOWED_LATE = 30
TOO_LATE = 45
#: Seconds of a minute (and sensor) whose reading arrives too late: near the minute's end, so the
#: watermark has passed the window when it comes.
TOO_LATE_AT = ((52, 0), (55, 1), (58, 2))

PRODUCTS = ("anise", "basil", "cocoa", "dill", "fennel", "ginger", "mint", "sage", "tea", "zaatar")
ORDER_MINUTES = 10
WINDOW_MS = 300_000
SLIDE_MS = 60_000
OUT_OF_ORDER = 10
TOP = 5

AVERAGE_FIELDS = ("avg", "average", "mean", "value")
SENSOR_FIELDS = ("sensor", "sensor_id", "key")
START_FIELDS = ("window_start", "minute", "start")
END_FIELDS = ("window_end", "end")
TOP_FIELDS = ("top", "products", "top_products", "top5")


def _first_minute(ctx: CheckContext) -> int:
    now_ms = round(ctx.clock.timestamp * 1000)
    return now_ms - now_ms % 60_000 + 120_000


# -- late_averages ------------------------------------------------------------------------------
def readings(
    start: int,
) -> tuple[dict[int, list[dict[str, Any]]], list[tuple[dict[str, Any], int]]]:
    """The readings by arrival time, and each reading with its delay in seconds."""
    rng = random.Random(20)
    arrivals: dict[int, list[dict[str, Any]]] = defaultdict(list)
    every: list[tuple[dict[str, Any], int]] = []
    too_late = set(TOO_LATE_AT)
    for second in range(MINUTES * 60):
        for index, (sensor, base) in enumerate(SENSORS):
            ts = start + second * 1000 + 150 * index
            value = round(base + rng.uniform(-3, 3), 2)
            if (second % 60, index) in too_late and second // 60 < CHECKED_MINUTES:
                delay = TOO_LATE
            else:
                delay = rng.choice((0, 0, 0, 0, 0, 5, 12, 20, 27, ALLOWED_LATE))
            reading = {"sensor": sensor, "ts": ts, "value": value, "pk": sensor}
            arrivals[ts + delay * 1000].append(reading)
            every.append((reading, delay))
    return arrivals, every


def _averages(groups: dict[tuple[str, int], list[float]]) -> dict[tuple[str, int], float]:
    return {key: sum(values) / len(values) for key, values in groups.items()}


def expected_averages(
    every: list[tuple[dict[str, Any], int]], start: int, *, limit: float, by_arrival: bool = False
) -> dict[tuple[str, int], float]:
    """Averages per (sensor, minute start) of readings at most ``limit`` s late."""
    groups: dict[tuple[str, int], list[float]] = defaultdict(list)
    for reading, delay in every:
        if delay > limit:
            continue
        at = reading["ts"] + (delay * 1000 if by_arrival else 0)
        minute = at - at % 60_000
        if start <= minute < start + CHECKED_MINUTES * 60_000:
            groups[(reading["sensor"], minute)].append(reading["value"])
    return _averages(groups)


def _close(got: dict[tuple[str, int], float], want: dict[tuple[str, int], float]) -> bool:
    return all(key in got and abs(got[key] - value) <= 0.011 for key, value in want.items())


def _close_on_common(
    got: dict[tuple[str, int], float],
    other: dict[tuple[str, int], float],
    want: dict[tuple[str, int], float],
) -> bool:
    """``got`` agrees with ``other`` (and not with ``want``) on the windows both have."""
    common = [key for key in other if key in got]
    return (
        bool(common)
        and all(abs(got[k] - other[k]) <= 0.011 for k in common)
        and any(abs(got[k] - want[k]) > 0.011 for k in common if k in want)
    )


def check_late_averages(ctx: CheckContext) -> None:
    """The learner's per-minute averages per sensor, with late readings, are Flink's."""
    main = ctx.function("sensor_averages")
    start = _first_minute(ctx)
    deploy(ctx, main, "sensor-averages", ("readings", "averages"))
    arrivals, every = readings(start)
    feed(ctx, "readings", arrivals)
    failure = job_failure(ctx, "sensor-averages")
    if failure:
        ctx.fail(
            f"The job of `sensor_averages` failed while readings arrived: {failure}",
            hint="Run it on a few readings in a lab first; a reading is a JSON object with "
            "`sensor`, `ts` (epoch ms) and `value`.",
        )
    got: dict[tuple[str, int], float] = {}
    for record in json_records(ctx, "averages", "sensor_averages"):
        sensor = field(ctx, record, SENSOR_FIELDS, "sensor", "averages")
        avg = field(ctx, record, AVERAGE_FIELDS, "average", "averages")
        if any(name in record for name in START_FIELDS):
            bound = field(ctx, record, START_FIELDS, "window start", "averages")
            window = epoch_ms(ctx, bound, "window start", "averages")
        else:
            bound = field(ctx, record, END_FIELDS + START_FIELDS, "window start", "averages")
            window = epoch_ms(ctx, bound, "window end", "averages") - 60_000
        if isinstance(avg, bool) or not isinstance(avg, (int, float)):
            ctx.fail(
                f"An average in `averages` is {short(avg)}, not a number.",
                hint="Write the average as a number (`round(total / count, 2)`).",
            )
        got[(str(sensor), window)] = float(avg)  # the last result of a window counts
    want = expected_averages(every, start, limit=ALLOWED_LATE)
    if not got:
        ctx.fail(
            "Nothing reached the stream `averages` after five minutes of readings.",
            hint="Sink the averages to the Kinesis stream `averages` (KinesisStreamsSink), and "
            "key and window the readings by their own `ts` (event time) with a watermark.",
        )
    if not _close(got, want):
        _explain_averages(ctx, got, want, every, start)
    to_side, dropped = late_counts(ctx, "sensor-averages")
    too_late = sum(1 for _, delay in every if delay > ALLOWED_LATE)
    if to_side < too_late:
        ctx.fail(
            f"The averages are right, but of the {too_late} readings more than "
            f"{ALLOWED_LATE} s late, {dropped} were dropped and {to_side} went to a side output.",
            hint="Keep what comes too late: `.side_output_late_data(OutputTag('late'))` on the "
            "windowed stream, and read it with `.get_side_output(tag)`.",
        )


def _explain_averages(
    ctx: CheckContext,
    got: dict[tuple[str, int], float],
    want: dict[tuple[str, int], float],
    every: list[tuple[dict[str, Any], int]],
    start: int,
) -> None:
    missing = [key for key in want if key not in got]
    if len(missing) == len(want):
        seen = ", ".join(sorted({s for s, _ in got})[:4])
        minutes = ", ".join(minute_label(m) for m in sorted({m for _, m in got})[:4])
        ctx.fail(
            f"No average in `averages` is for a sensor and minute the check sent (it found "
            f"sensors {seen or 'none'} and minutes {minutes or 'none'}; it sent "
            f"{', '.join(s for s, _ in SENSORS)} from {minute_label(start)}).",
            hint="Key by the reading's `sensor`, and write the window's start "
            "(`context.window().start`, epoch ms) as `window_start`.",
        )
    if _close_on_common(got, expected_averages(every, start, limit=10**9), want):
        ctx.fail(
            f"Readings more than {ALLOWED_LATE} s late were counted in their minute: the job "
            "waits too long.",
            hint=f"Wait at most {ALLOWED_LATE} s: `for_bounded_out_of_orderness("
            f"Duration.of_seconds({ALLOWED_LATE}))`, or `allowed_lateness` of "
            f"{ALLOWED_LATE} s, not more.",
        )
    if _close_on_common(got, expected_averages(every, start, limit=10**9, by_arrival=True), want):
        ctx.fail(
            "The averages group the readings by the minute they arrived (processing time), "
            "not by their own `ts`.",
            hint="Use event time: TumblingEventTimeWindows, with a WatermarkStrategy whose "
            "timestamp assigner returns the reading's `ts`.",
        )
    by_minute: dict[int, set[float]] = defaultdict(set)
    for (_, minute), value in got.items():
        by_minute[minute].add(round(value, 2))
    if len({s for s, _ in got}) < len(SENSORS) or all(len(v) == 1 for v in by_minute.values()):
        ctx.fail(
            "The averages do not follow the sensors: one value per minute for all of them.",
            hint="Key the readings by sensor before the window: `.key_by(lambda r: r['sensor'])`.",
        )
    if missing:
        sensor, minute = missing[0]
        ctx.fail(
            f"No average for {sensor} in the minute from {minute_label(minute)} "
            f"({len(missing)} of {len(want)} averages are missing).",
            hint="Every minute with readings must be emitted once the watermark passes its "
            "end: check the window size (one minute) and that the job writes every result.",
        )
    sensor, minute = next(k for k, v in want.items() if abs(got[k] - v) > 0.011)
    delays = [d for r, d in every if r["sensor"] == sensor and r["ts"] - r["ts"] % 60_000 == minute]
    on_time = sum(1 for d in delays if d == 0)
    late = sum(1 for d in delays if 0 < d <= ALLOWED_LATE)
    ctx.fail(
        f"{sensor}, minute from {minute_label(minute)}: the job wrote {got[(sensor, minute)]:.2f}; "
        f"the average of its readings up to {ALLOWED_LATE} s late is {want[(sensor, minute)]:.2f} "
        f"({on_time} on time, "
        f"{late} late by 5-{ALLOWED_LATE} s).",
        hint=f"Readings up to {ALLOWED_LATE} s late must count: a watermark "
        f"`for_bounded_out_of_orderness(Duration.of_seconds({ALLOWED_LATE}))` (or "
        f"`allowed_lateness` of {ALLOWED_LATE} s); the average is the sum of the values over "
        "their count.",
    )


# -- top_products -------------------------------------------------------------------------------
def orders(start: int) -> tuple[dict[int, list[dict[str, Any]]], list[dict[str, Any]]]:
    """The orders by arrival time, and every order."""
    rng = random.Random(5)
    arrivals: dict[int, list[dict[str, Any]]] = defaultdict(list)
    every: list[dict[str, Any]] = []
    # The first minute's orders come in reverse alphabetical order, so that a ranking that keeps
    # the order of arrival for ties is told apart from one by name.
    for minute in range(ORDER_MINUTES):
        batch = [p for p in PRODUCTS for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4)))]
        if minute == 0:
            batch.sort(reverse=True)
        else:
            rng.shuffle(batch)
        step = 60_000 // (len(batch) + 1)
        for i, product in enumerate(batch):
            ts = start + minute * 60_000 + (i + 1) * step
            delay = rng.choice((0, 0, 0, 2, 5, OUT_OF_ORDER)) * 1000
            order = {"product": product, "ts": ts, "order_id": f"o-{minute}-{i}", "pk": product}
            arrivals[ts + delay].append(order)
            every.append(order)
    return arrivals, every


def expected_top(every: list[dict[str, Any]], start: int) -> dict[int, list[str]]:
    """For each window end the check compares, the five products ranked by count then name."""
    out: dict[int, list[str]] = {}
    cutoff = start + (ORDER_MINUTES - 1) * 60_000
    end = start + SLIDE_MS
    while end <= cutoff:
        counts = Counter(o["product"] for o in every if end - WINDOW_MS <= o["ts"] < end)
        if counts:
            out[end] = [p for p, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]]
        end += SLIDE_MS
    return out


def _names(ctx: CheckContext, value: Any) -> list[str]:
    if not isinstance(value, list):
        ctx.fail(
            f"The top products in `top-products` are {short(value)}, not a list.",
            hint="Write the five products as a list, the most ordered first.",
        )
    names: list[str] = []
    for item in value:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, (list, tuple)) and item and isinstance(item[0], str):
            names.append(item[0])
        elif isinstance(item, dict) and isinstance(item.get("product"), str):
            names.append(item["product"])
        else:
            ctx.fail(
                f"An entry of a top list is {short(item)}: neither a product name, "
                "[product, count] nor {'product': ...}.",
                hint="Write each entry as the product's name (or [name, count]).",
            )
    return names


def check_top_products(ctx: CheckContext) -> None:
    """The five most ordered products per five-minute window sliding by a minute."""
    main = ctx.function("top_products")
    start = _first_minute(ctx)
    deploy(ctx, main, "top-products", ("orders", "top-products"))
    arrivals, every = orders(start)
    feed(ctx, "orders", arrivals)
    failure = job_failure(ctx, "top-products")
    if failure:
        ctx.fail(
            f"The job of `top_products` failed while orders arrived: {failure}",
            hint="Run it on a few orders in a lab first; an order is a JSON object with "
            "`product`, `ts` (epoch ms) and `order_id`.",
        )
    got: dict[int, list[str]] = {}
    for record in json_records(ctx, "top-products", "top_products"):
        if any(name in record for name in END_FIELDS):
            end = epoch_ms(
                ctx,
                field(ctx, record, END_FIELDS, "window end", "top-products"),
                "window end",
                "top-products",
            )
        else:
            bound = field(ctx, record, END_FIELDS + START_FIELDS, "window end", "top-products")
            end = epoch_ms(ctx, bound, "window start", "top-products") + WINDOW_MS
        got[end] = _names(ctx, field(ctx, record, TOP_FIELDS, "top list", "top-products"))
    want = expected_top(every, start)
    if not got:
        ctx.fail(
            "Nothing reached the stream `top-products` after ten minutes of orders.",
            hint="Sink the ranking to the Kinesis stream `top-products`, with event-time "
            "windows on the order's `ts` and a watermark.",
        )
    missing = [end for end in want if end not in got]
    if missing:
        five_only = all(end % WINDOW_MS == 0 for end in got)
        ctx.fail(
            f"No ranking for the window ending {minute_label(missing[0])} ({len(missing)} of "
            f"{len(want)} windows missing; the job wrote windows ending "
            f"{', '.join(minute_label(e) for e in sorted(got)[:6])}).",
            hint="A new five-minute window starts every minute: "
            "SlidingEventTimeWindows.of(Time.minutes(5), Time.minutes(1)), not tumbling windows."
            if five_only
            else "Write each window's end (`context.window().end`, epoch ms) as `window_end`, "
            "one record per window.",
        )
    for end, top in want.items():
        mine = got[end]
        if mine == top:
            continue
        counts = Counter(o["product"] for o in every if end - WINDOW_MS <= o["ts"] < end)
        shown = ", ".join(f"{p} {counts[p]}" for p in top)
        said = (
            f"for the window ending {minute_label(end)} the job wrote {mine}; the counts are "
            f"{shown}"
        )
        if len(mine) != len(top):
            ctx.fail(
                f"{said}: {len(mine)} products instead of {len(top)}.",
                hint="Keep the first five after sorting: `[:5]`.",
            )
        if mine == list(reversed(sorted(counts, key=lambda p: (-counts[p], p))))[:TOP] or (
            counts[mine[0]] < counts[mine[-1]]
        ):
            ctx.fail(
                f"{said}: the least ordered came first.",
                hint="Sort by count, highest first: `key=lambda row: (-count, name)`.",
            )
        if sorted(mine) != sorted(top) and {counts[p] for p in mine} == {counts[p] for p in top}:
            ctx.fail(
                f"{said}: among products with the same count, {mine[-1]} was kept over "
                f"{next(p for p in top if p not in mine)}.",
                hint="Ties go by product name, alphabetically: sort by `(-count, name)`.",
            )
        if [counts[p] for p in mine] == [counts[p] for p in top]:
            ctx.fail(
                f"{said}: products with the same count are not in name order.",
                hint="Ties go by product name, alphabetically: sort by `(-count, name)`.",
            )
        ctx.fail(
            f"{said}: the ranking does not follow those counts.",
            hint=f"Count every order in the window by its own `ts`; orders come up to "
            f"{OUT_OF_ORDER} s out of order, so the watermark must wait that long "
            f"(`for_bounded_out_of_orderness(Duration.of_seconds({OUT_OF_ORDER}))`).",
        )


__all__ = ["check_late_averages", "check_top_products", "expected_averages", "expected_top"]
