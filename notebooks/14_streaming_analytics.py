# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Streaming analytics: windows over streams with Managed Service for Apache Flink
#
# DRAFT (issue 20, part 1): the engine, sandbox and views exist; the lab's checks, exercise and
# solution come next. This draft runs in a free-play sandbox.
#
# Kinesis Data Streams keeps an ordered log of records (lesson 03). Analytics on that log asks
# questions over **time**: the average temperature per sensor per minute, the five products
# ordered most in the last five minutes. This lesson answers them with **Amazon Managed Service
# for Apache Flink**, AWS's service for running Apache Flink applications. You will see:
#
# 1. which service: Kinesis Data Analytics for SQL is retired;
# 2. a Flink job: source, timestamps and watermarks, keyed windows, a sink;
# 3. **event time** against **processing time**;
# 4. **watermarks** and **late events**: dropped, sent to a side output, or allowed;
# 5. **sliding windows**: the top five products per five minutes;
# 6. the window view: open windows, the watermark, late events, a live plot.

# %%
import json
import random

import labkit
from labkit.facts import fact
from labkit.services.flink import (
    AggregateFunction,
    Duration,
    FlinkKinesisConsumer,
    KinesisStreamsSink,
    OutputTag,
    PartitionKeyGenerator,
    SimpleStringSchema,
    SlidingEventTimeWindows,
    StreamExecutionEnvironment,
    Time,
    TumblingEventTimeWindows,
    WatermarkStrategy,
    upload_application,
)

lab = labkit.start()
kinesis = lab.client("kinesis")
s3 = lab.client("s3")
flink = lab.client("kinesisanalyticsv2")  # the API kept its old name
ROLE = "arn:aws:iam::123456789012:role/flink-app"

# %% [markdown]
# ## 1. Which service
#
# The course notes list "Kinesis Data Analytics: for SQL, for Apache Flink". Both names are
# history: the Flink flavour is now Amazon Managed Service for Apache Flink, and the SQL flavour
# is being discontinued. The API is still `kinesisanalyticsv2`.

# %%
for key in (
    "flink.service_name",
    "flink.sql_applications_no_new_after",
    "flink.sql_applications_deleted_from",
):
    print(fact(key))

# %% [markdown]
# The lab clock is in January 2026, so creating a SQL application fails, as it would on AWS:

# %%
try:
    flink.create_application(
        ApplicationName="legacy", RuntimeEnvironment="SQL-1_0", ServiceExecutionRole=ROLE
    )
except flink.exceptions.InvalidArgumentException as error:
    print(error)

# %% [markdown]
# ## 2. A Flink job: per-minute average per sensor
#
# There is no JVM here, so the job is written with labkit's Python API, shaped like PyFlink's
# DataStream API (the same names: `StreamExecutionEnvironment`, `WatermarkStrategy`, `key_by`,
# `window`, `aggregate`) and with Flink's window semantics. The application's code is a function;
# `upload_application` zips it into S3, as you would upload a PyFlink application's zip.
#
# - The **source** reads the `readings` stream (each shard from its latest record on).
# - **Timestamps** come from each reading's own `ts` (event time); the **watermark** trails the
#   largest timestamp seen by 30 s: readings up to 30 s out of order still count.
# - The readings are **keyed** by sensor and put in **tumbling one-minute windows**.
# - An `AggregateFunction` keeps a running sum and count per window: one small accumulator per
#   window, not every reading.

# %%
kinesis.create_stream(StreamName="readings", ShardCount=2)
kinesis.create_stream(StreamName="averages", ShardCount=1)
s3.create_bucket(Bucket="flink-apps")


class Average(AggregateFunction):
    def create_accumulator(self):
        return (0.0, 0)

    def add(self, reading, acc):
        return (acc[0] + reading["value"], acc[1] + 1)

    def get_result(self, acc):
        return round(acc[0] / acc[1], 2)

    def merge(self, a, b):
        return (a[0] + b[0], a[1] + b[1])


def per_minute_average():
    env = StreamExecutionEnvironment.get_execution_environment()
    late = OutputTag("late-readings")
    readings = (
        env.add_source(FlinkKinesisConsumer("readings", SimpleStringSchema()))
        .map(json.loads)
        .assign_timestamps_and_watermarks(
            WatermarkStrategy.for_bounded_out_of_orderness(
                Duration.of_seconds(30)
            ).with_timestamp_assigner(lambda reading, _: reading["ts"])
        )
    )

    def label(sensor, context, averages):
        for avg in averages:
            yield json.dumps({"sensor": sensor, "minute": context.window().start, "avg": avg})

    averages = (
        readings.key_by(lambda reading: reading["sensor"])
        .window(TumblingEventTimeWindows.of(Time.minutes(1)))
        .side_output_late_data(late)
        .aggregate(Average(), label)
    )
    averages.sink_to(
        KinesisStreamsSink.builder()
        .set_stream_name("averages")
        .set_serialization_schema(SimpleStringSchema())
        .set_partition_key_generator(PartitionKeyGenerator.fixed())
        .build()
    )
    averages.get_side_output(late).add_sink(lambda reading: None)
    env.execute("per-minute averages")


code = upload_application(per_minute_average, bucket="flink-apps", key="averages.zip")
flink.create_application(
    ApplicationName="averages",
    RuntimeEnvironment="FLINK-1_20",
    ServiceExecutionRole=ROLE,
    ApplicationConfiguration={"ApplicationCodeConfiguration": code},
)
flink.start_application(ApplicationName="averages")
flink.describe_application(ApplicationName="averages")["ApplicationDetail"]["ApplicationStatus"]

# %% [markdown]
# ## 3. Readings arrive, some of them late
#
# Three sensors report every second for four minutes. Most readings arrive at once; some take
# 5 or 25 seconds (a flaky mobile link). The last reading of each of the first two minutes
# arrives 45 s late: more than the 30 s the watermark waits.

# %%
rng = random.Random(14)
now_ms = round(lab.clock.timestamp * 1000)
start = now_ms - now_ms % 60_000 + 60_000
arrivals = {}
for second in range(240):
    for sensor, base in (("s1", 20), ("s2", 24), ("s3", 18)):
        reading = {"sensor": sensor, "ts": start + second * 1000, "value": base + rng.random()}
        # The last reading of the first two minutes is 45 s late; the others at most 25 s.
        delay = 45_000 if second in (59, 119) else rng.choice((0, 0, 0, 5_000, 25_000))
        arrivals.setdefault(reading["ts"] + delay, []).append(reading)
for at in sorted(arrivals):
    lab.clock.advance(max(0, at - round(lab.clock.timestamp * 1000)) / 1000)
    kinesis.put_records(
        StreamName="readings",
        Records=[{"Data": json.dumps(r), "PartitionKey": r["sensor"]} for r in arrivals[at]],
    )
lab.clock.advance(5)
lab.window_view("averages")

# %% [markdown]
# The view shows each window that still holds state, the watermark, and the late readings: each
# reading that arrived after the watermark passed the end of its minute went to the side output
# `late-readings` (without `side_output_late_data` Flink drops them). Every result was emitted
# once, when the watermark reached the window's last millisecond.
#
# ## 4. Sliding windows: the top five products
#
# A sliding window of five minutes every minute puts each order in five windows. Count per
# product per window, then rank the counts of each window.


# %%
def top_five_products():
    env = StreamExecutionEnvironment.get_execution_environment()
    orders = (
        env.add_source(FlinkKinesisConsumer("orders", SimpleStringSchema()))
        .map(json.loads)
        .assign_timestamps_and_watermarks(
            WatermarkStrategy.for_bounded_out_of_orderness(
                Duration.of_seconds(5)
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

    def with_window(product, context, counts):
        for count in counts:
            yield (context.window().end, product, count)

    counts = (
        orders.key_by(lambda order: order["product"])
        .window(SlidingEventTimeWindows.of(Time.minutes(5), Time.minutes(1)))
        .aggregate(Count(), with_window)
    )

    def rank(context, rows):
        best = sorted(rows, key=lambda row: (-row[2], row[1]))[:5]
        yield json.dumps({"window_end": context.window().end, "top": [r[1] for r in best]})

    top = counts.window_all(TumblingEventTimeWindows.of(Time.minutes(1))).process(rank)
    top.sink_to(
        KinesisStreamsSink.builder()
        .set_stream_name("top-products")
        .set_serialization_schema(SimpleStringSchema())
        .build()
    )
    env.execute("top five")


kinesis.create_stream(StreamName="orders", ShardCount=1)
kinesis.create_stream(StreamName="top-products", ShardCount=1)
code = upload_application(top_five_products, bucket="flink-apps", key="top.zip")
flink.create_application(
    ApplicationName="top-products",
    RuntimeEnvironment="FLINK-1_20",
    ServiceExecutionRole=ROLE,
    ApplicationConfiguration={"ApplicationCodeConfiguration": code},
)
flink.start_application(ApplicationName="top-products")
products = [f"p{i}" for i in range(10)]
for _ in range(240):  # an order every 2 s for 8 minutes
    product = rng.choices(products, weights=range(1, 11))[0]
    now_ms = round(lab.clock.timestamp * 1000)
    order = {"product": product, "ts": now_ms}
    kinesis.put_record(StreamName="orders", Data=json.dumps(order), PartitionKey=product)
    lab.clock.advance(2)
lab.window_view("top-products")

# %% [markdown]
# ## Summary
#
# - Kinesis Data Analytics for SQL is retired; windowed analytics on AWS streams run on
#   **Amazon Managed Service for Apache Flink** (API `kinesisanalyticsv2`).
# - **Event time** is when something happened; **processing time** is when the job sees it.
#   Windows on event time give the same answer however late records arrive, within a bound.
# - A **watermark** says "nothing older than this is coming": with bounded out-of-orderness it
#   trails the largest timestamp by the bound (minus 1 ms), and a window fires when the
#   watermark reaches its last millisecond.
# - **Late events** are dropped by default; `side_output_late_data` keeps them, and
#   `allowed_lateness` keeps a window's state so that a late event fires it again.
# - **Tumbling** windows partition time; **sliding** windows overlap (an event in size/slide
#   windows); **session** windows close after a gap.
