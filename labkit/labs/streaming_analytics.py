"""The streaming analytics lab: windows over streams on Managed Service for Apache Flink, a
Kafka consumer group on MSK, and Kinesis or MSK for a workload.

Every check but the choice runs the learner's code in an empty world of its own, with its own
clock:

- ``late_averages``: the per-minute average per sensor, right with readings up to 30 s late;
  later ones go to a side output (:mod:`labkit.labs.streaming_analytics_windows`);
- ``top_products``: the five products ordered most per five-minute window sliding by a minute,
  ties by name (:mod:`labkit.labs.streaming_analytics_windows`);
- ``consumer_group``: a group that keeps up with its topic and processes every record exactly
  once through a consumer stopped mid-batch (:mod:`labkit.labs.streaming_analytics_group`);
- ``stream_choice``: Kinesis or MSK for two workloads, with the reason that decides
  (:mod:`labkit.labs.streaming_analytics_choice`).
"""

from __future__ import annotations

from labkit.grading.checks import Check
from labkit.labs.spec import LabSpec
from labkit.labs.streaming_analytics_choice import check_stream_choice
from labkit.labs.streaming_analytics_group import PARTITIONS, check_consumer_group
from labkit.labs.streaming_analytics_windows import (
    ALLOWED_LATE,
    check_late_averages,
    check_top_products,
)

#: Checks that run a Flink application over minutes of lab time (a few wall seconds).
WINDOW_CHECK_TIMEOUT = 120.0
#: The group check waits (bounded) for real Kafka clients in threads.
GROUP_CHECK_TIMEOUT = 150.0

LAB = LabSpec(
    id="streaming_analytics",
    title="Streaming analytics: Flink windows with late events, Kafka consumer groups on MSK, "
    "Kinesis or MSK",
    lesson="notebooks/14_streaming_analytics.ipynb",
    lesson_source="notebooks/14_streaming_analytics.py",
    exercise="exercises/14_streaming_analytics.ipynb",
    solution="solutions/14_streaming_analytics.ipynb",
    source="solutions/14_streaming_analytics.py",
    checks=(
        Check(
            name="late_averages",
            title=f"sensor_averages: the average per sensor per minute counts readings up to "
            f"{ALLOWED_LATE} s late, and later ones go to a side output",
            points=2,
            run=check_late_averages,
            hint=f"Event time from the reading's `ts`, a watermark "
            f"`for_bounded_out_of_orderness(Duration.of_seconds({ALLOWED_LATE}))`, "
            "`key_by` sensor, one-minute tumbling windows, `side_output_late_data`.",
            isolated=True,
            timeout=WINDOW_CHECK_TIMEOUT,
        ),
        Check(
            name="top_products",
            title="top_products: the five products ordered most in every five-minute window "
            "sliding by one minute, ties by name",
            points=2,
            run=check_top_products,
            hint="Count per product in SlidingEventTimeWindows.of(Time.minutes(5), "
            "Time.minutes(1)), then rank each window's counts by (-count, name) and keep five.",
            isolated=True,
            timeout=WINDOW_CHECK_TIMEOUT,
        ),
        Check(
            name="consumer_group",
            title=f"CONSUMERS and consume_batch: a group that keeps up with {PARTITIONS} "
            "partitions and processes every record exactly once when a consumer stops mid-batch",
            points=2,
            run=check_consumer_group,
            hint="Poll, process every record, then commit (`consumer.commit()`); as many "
            "consumers as the rate needs, no more than the partitions.",
            isolated=True,
            timeout=GROUP_CHECK_TIMEOUT,
        ),
        Check(
            name="stream_choice",
            title="CHOICES: Kinesis or MSK for each workload, with the requirement that decides",
            points=2,
            run=check_stream_choice,
            hint="Compare each workload's retention, scaling, record size, consumers and "
            "ordering with what you measured of Kinesis and MSK.",
        ),
    ),
)
