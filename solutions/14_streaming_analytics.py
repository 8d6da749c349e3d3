# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Streaming analytics exercise: late readings, top products, a consumer group, a choice
#
# You write two Managed Service for Apache Flink applications (with labkit's PyFlink-shaped API,
# as in the lesson), a Kafka consumer loop for a consumer group on MSK, and choose Kinesis or MSK
# for two workloads.
#
# Write your code where it says `# YOUR CODE HERE` (replace the `...`), run the cell, then run
# the check below it. Each check runs your code in an empty sandbox of its own, with a lab clock
# of its own: it creates the streams (or the MSK cluster and topic), deploys your function as an
# application, sends its own data, some of it late, and compares what your job wrote with the
# right answer.

# %%
import json

import labkit
from labkit.services.flink import (
    AggregateFunction,
    Duration,
    FlinkKinesisConsumer,
    KinesisStreamsSink,
    OutputTag,
    SimpleStringSchema,
    SlidingEventTimeWindows,
    StreamExecutionEnvironment,
    Time,
    TumblingEventTimeWindows,
    WatermarkStrategy,
)

lab = labkit.start("streaming_analytics")

# %% [markdown]
# ## Task 1: a per-minute average per sensor, right with late readings
#
# Write `sensor_averages()`, an application's code: it builds a job and ends with
# `env.execute(...)`. The job reads the Kinesis stream **`readings`**: each record is JSON
# `{"sensor": "s-north", "ts": 1767225600000, "value": 21.4}` (`ts` in epoch milliseconds, when
# the reading was taken). Readings arrive **up to 30 s late**; a few arrive later than that.
#
# - Write to the Kinesis stream **`averages`** one JSON record per sensor and minute:
#   `{"sensor": ..., "window_start": <the minute's start, epoch ms>, "avg": <the average>}`.
# - Every reading up to 30 s late counts in its minute; a reading later than that must not
#   change an average, and must go to a **side output**, not be dropped.
#
# If a minute is emitted more than once, the check keeps the last result.


# %%
def sensor_averages():
    """Build the per-minute average job on `readings` -> `averages` and execute it."""
    ### BEGIN SOLUTION
    env = StreamExecutionEnvironment.get_execution_environment()
    too_late = OutputTag("too-late")

    class Mean(AggregateFunction):
        def create_accumulator(self):
            return (0.0, 0)

        def add(self, reading, acc):
            return (acc[0] + reading["value"], acc[1] + 1)

        def get_result(self, acc):
            return acc[0] / acc[1]

        def merge(self, a, b):
            return (a[0] + b[0], a[1] + b[1])

    def as_record(sensor, context, means):
        for mean in means:
            yield json.dumps(
                {"sensor": sensor, "window_start": context.window().start, "avg": mean}
            )

    averages = (
        env.add_source(FlinkKinesisConsumer("readings", SimpleStringSchema()))
        .map(json.loads)
        .assign_timestamps_and_watermarks(
            WatermarkStrategy.for_bounded_out_of_orderness(
                Duration.of_seconds(30)
            ).with_timestamp_assigner(lambda reading, _: reading["ts"])
        )
        .key_by(lambda reading: reading["sensor"])
        .window(TumblingEventTimeWindows.of(Time.minutes(1)))
        .side_output_late_data(too_late)
        .aggregate(Mean(), as_record)
    )
    averages.sink_to(KinesisStreamsSink.builder().set_stream_name("averages").build())
    averages.get_side_output(too_late).map(json.dumps).sink_to(
        KinesisStreamsSink.builder().set_stream_name("averages-late").build()
    )
    env.execute("sensor averages")
    ### END SOLUTION


# %%
lab.check("late_averages")

# %% [markdown]
# ## Task 2: the top five products per five-minute sliding window
#
# Write `top_products()`: its job reads the Kinesis stream **`orders`** (JSON
# `{"product": "tea", "ts": <epoch ms>, "order_id": "o-1"}`; orders arrive at most **10 s out of
# order**) and, for **every five-minute window, one starting each minute**, writes to the stream
# **`top-products`** one JSON record `{"window_end": <epoch ms>, "top": [five product names]}`:
# the five products ordered most in the window, the most ordered first. **Ties** (the same
# count) go by product name, alphabetically. A window with fewer than five products lists what
# it has.


# %%
def top_products():
    """Build the top-five job on `orders` -> `top-products` and execute it."""
    ### BEGIN SOLUTION
    env = StreamExecutionEnvironment.get_execution_environment()
    orders = (
        env.add_source(FlinkKinesisConsumer("orders", SimpleStringSchema()))
        .map(json.loads)
        .assign_timestamps_and_watermarks(
            WatermarkStrategy.for_bounded_out_of_orderness(
                Duration.of_seconds(10)
            ).with_timestamp_assigner(lambda order, _: order["ts"])
        )
    )

    class Count(AggregateFunction):
        def create_accumulator(self):
            return 0

        def add(self, order, acc):
            return acc + 1

        def get_result(self, acc):
            return acc

        def merge(self, a, b):
            return a + b

    def per_window(product, context, counts):
        for count in counts:
            yield (context.window().end, product, count)

    counts = (
        orders.key_by(lambda order: order["product"])
        .window(SlidingEventTimeWindows.of(Time.minutes(5), Time.minutes(1)))
        .aggregate(Count(), per_window)
    )

    def rank(context, rows):
        by_end = {}
        for end, product, count in rows:
            by_end.setdefault(end, []).append((-count, product))
        for end, ranked in sorted(by_end.items()):
            top = [product for _, product in sorted(ranked)[:5]]
            yield json.dumps({"window_end": end, "top": top})

    top = counts.window_all(TumblingEventTimeWindows.of(Time.minutes(1))).process(rank)
    top.sink_to(KinesisStreamsSink.builder().set_stream_name("top-products").build())
    env.execute("top products")
    ### END SOLUTION


# %%
lab.check("top_products")

# %% [markdown]
# ## Task 3: a consumer group that keeps up and loses nothing
#
# The topic **`payments`** on MSK has **6 partitions**; its producers write **2,500 records/s**
# at peak, and one consumer processes **600 records/s**.
#
# - Set `CONSUMERS`: how many consumers the group `billing` runs so that it keeps up, with none
#   of them idle.
# - Write `consume_batch(consumer, process)`: **one round** of a consumer's loop. `consumer` is a
#   `kafka.KafkaConsumer` of the group, already subscribed, with auto-commit **off**; call
#   `process(record)` for each record you poll, and commit so that no record is lost or
#   processed twice when a consumer stops and the group rebalances.
#
# The check runs two consumers of the group, each calling your function in a loop, and stops one
# of them in the middle of a batch.

# %%
CONSUMERS = ...
### BEGIN SOLUTION
CONSUMERS = 5
### END SOLUTION


def consume_batch(consumer, process):
    """Poll one batch, process each record, commit."""
    ### BEGIN SOLUTION
    batch = consumer.poll(timeout_ms=200)
    for records in batch.values():
        for record in records:
            process(record)
    if batch:
        consumer.commit()  # after processing: a committed offset was processed
    ### END SOLUTION


# %%
lab.check("consumer_group")

# %% [markdown]
# ## Task 4: Kinesis or MSK
#
# Set `CHOICES`: for each workload, the service (`"kinesis"`, `"msk"` or `"msk serverless"`) and
# the **reason**: the requirement that rules the other out, in the words of what you measured in
# the lesson (retention, scaling, record size, consumers, ordering).
#
# - `scan_history`: scan metadata from 40 hospitals, 200 KB a record, 3 MB/s, ordered per
#   patient; every record kept for **two years** so that new models can replay the whole history.
# - `clickstream`: a shop's clicks, 2 KB each, 5 MB/s that jumps **tenfold for an hour** after a
#   TV ad; kept 24 hours, read by a Lambda function, Firehose and a Flink application; the team
#   runs no servers and **sizes nothing in advance**.

# %%
CHOICES = {"scan_history": (..., "..."), "clickstream": (..., "...")}
### BEGIN SOLUTION
CHOICES = {
    "scan_history": ("msk", "retention: Kinesis keeps a record at most 365 days"),
    "clickstream": ("kinesis", "scaling: an on-demand stream follows the peak, no brokers"),
}
### END SOLUTION

# %%
lab.check("stream_choice")

# %% [markdown]
# ## Your score

# %%
lab.score()

# %% [markdown]
# ## Summary
#
# - A window on **event time** with a watermark that waits 30 s counts every reading up to 30 s
#   late; what comes later goes to a **side output** instead of changing a result already
#   written.
# - **Sliding** windows put each order in five windows; ranking is a second step over each
#   window's counts, and ties need a rule.
# - A consumer group spreads partitions over its consumers: more consumers than partitions sit
#   idle. **Commit after processing**, so that a rebalance hands over only what was not done.
# - Kinesis or MSK is decided by a requirement one of them cannot meet: retention beyond 365
#   days, brokers someone must size, record size, consumers, ordering.
