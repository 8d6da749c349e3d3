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
# Plausible mistakes, one per task: one window for all sensors (not keyed); the top three
# instead of five; only the first partition of each batch processed, then everything committed;
# a choice without a reason.

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


# %%
# The Mean aggregate these samples share (tests/grading_support.py puts it here).
# sample-include: parts/setup.py


# %%
def sensor_averages():
    env = StreamExecutionEnvironment.get_execution_environment()
    late = OutputTag("late")

    def for_every_sensor(context, readings):
        readings = list(readings)
        mean = sum(r["value"] for r in readings) / len(readings)
        for sensor in sorted({r["sensor"] for r in readings}):
            yield json.dumps(
                {"sensor": sensor, "window_start": context.window().start, "avg": mean}
            )

    averages = (
        readings_source(env, 30)
        .window_all(TumblingEventTimeWindows.of(Time.minutes(1)))
        .side_output_late_data(late)
        .process(for_every_sensor)
    )
    averages.sink_to(sink("averages"))
    env.execute("not keyed")


# %%
def top_products():
    env = StreamExecutionEnvironment.get_execution_environment()

    def rank(context, rows):
        best = sorted(rows, key=lambda row: (-row[2], row[1]))[:3]
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
    env.execute("top three")


# %%
CONSUMERS = 5


def consume_batch(consumer, process):
    batch = consumer.poll(timeout_ms=200)
    if batch:
        first = next(iter(batch.values()))
        for record in first:
            process(record)
        consumer.commit()


# %%
CHOICES = {
    "scan_history": ("msk", ""),
    "clickstream": ("kinesis", "on-demand scaling"),
}
