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
# The Mean aggregate these samples share (tests/grading_support.py puts it here).
# sample-include: parts/setup.py


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
