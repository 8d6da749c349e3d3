# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   labkit:
#     lab: streaming_analytics
#     role: exercise
# ---

# %% [markdown]
# Plausible mistakes, one per task: right averages, but late readings dropped (no side
# output); ranks sorted by count only, so ties keep the order products first came in; a
# consumer that never commits; a provisioned MSK cluster for a team that sizes nothing.

# %%
import json

import labkit
from labkit.services.flink import (
    AggregateFunction,
    Duration,
    FlinkKinesisConsumer,
    KinesisStreamsSink,
    SimpleStringSchema,
    SlidingEventTimeWindows,
    StreamExecutionEnvironment,
    Time,
    TumblingEventTimeWindows,
    WatermarkStrategy,
)

lab = labkit.start("streaming_analytics")


# %%
class Mean(AggregateFunction):
    def create_accumulator(self):
        return (0.0, 0)

    def add(self, reading, acc):
        return (acc[0] + reading["value"], acc[1] + 1)

    def get_result(self, acc):
        return acc[0] / acc[1]

    def merge(self, a, b):
        return (a[0] + b[0], a[1] + b[1])


class Count(AggregateFunction):
    def create_accumulator(self):
        return 0

    def add(self, order, acc):
        return acc + 1

    def get_result(self, acc):
        return acc

    def merge(self, a, b):
        return a + b


def readings_source(env, seconds):
    return (
        env.add_source(FlinkKinesisConsumer("readings", SimpleStringSchema()))
        .map(json.loads)
        .assign_timestamps_and_watermarks(
            WatermarkStrategy.for_bounded_out_of_orderness(
                Duration.of_seconds(seconds)
            ).with_timestamp_assigner(lambda reading, _: reading["ts"])
        )
    )


def orders_source(env):
    return (
        env.add_source(FlinkKinesisConsumer("orders", SimpleStringSchema()))
        .map(json.loads)
        .assign_timestamps_and_watermarks(
            WatermarkStrategy.for_bounded_out_of_orderness(
                Duration.of_seconds(10)
            ).with_timestamp_assigner(lambda order, _: order["ts"])
        )
    )


def with_start(sensor, context, means):
    for mean in means:
        yield json.dumps({"sensor": sensor, "window_start": context.window().start, "avg": mean})


def per_window(product, context, counts):
    for count in counts:
        yield (context.window().end, product, count)


def sink(name):
    return KinesisStreamsSink.builder().set_stream_name(name).build()


# %%
def sensor_averages():
    env = StreamExecutionEnvironment.get_execution_environment()
    (
        readings_source(env, 30)
        .key_by(lambda reading: reading["sensor"])
        .window(TumblingEventTimeWindows.of(Time.minutes(1)))
        .aggregate(Mean(), with_start)
        .sink_to(sink("averages"))
    )
    env.execute("no side output")


# %%
def top_products():
    env = StreamExecutionEnvironment.get_execution_environment()

    def rank(context, rows):
        best = sorted(rows, key=lambda row: row[2], reverse=True)[:5]
        yield json.dumps({"window_end": context.window().end, "top": [r[1] for r in best]})

    (
        orders_source(env)
        .key_by(lambda order: order["product"])
        .window(SlidingEventTimeWindows.of(Time.minutes(5), Time.minutes(1)))
        .aggregate(Count(), per_window)
        .window_all(TumblingEventTimeWindows.of(Time.minutes(1)))
        .process(rank)
        .sink_to(sink("top-products"))
    )
    env.execute("no tie rule")


# %%
CONSUMERS = 6


def consume_batch(consumer, process):
    for records in consumer.poll(timeout_ms=200).values():
        for record in records:
            process(record)


# %%
CHOICES = {
    "scan_history": ("msk", "retention beyond 365 days"),
    "clickstream": ("msk", "Kafka scales to any traffic"),
}
