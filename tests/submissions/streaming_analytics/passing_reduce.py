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
# A correct submission written differently from the solution: the source given its watermark
# strategy through from_source (per-shard watermarks), a reduce of (sum, count) pairs and a
# window function that writes `sensor_id`, `minute` and `mean`; the top five counted per product
# with a ProcessWindowFunction and ranked in a second window written with `end`; a consumer that
# iterates partition by partition and commits each partition's next offset after processing it;
# the choices as tuples, one with a list of reasons.

# %%
import json

from kafka import OffsetAndMetadata

import labkit
from labkit.services.flink import (
    Duration,
    FlinkKinesisConsumer,
    KinesisStreamsSink,
    OutputTag,
    ReduceFunction,
    SimpleStringSchema,
    SlidingEventTimeWindows,
    StreamExecutionEnvironment,
    Time,
    TumblingEventTimeWindows,
    WatermarkStrategy,
)

lab = labkit.start("streaming_analytics")


# %%
class SumCount(ReduceFunction):
    def reduce(self, a, b):
        return {"sensor": a["sensor"], "sum": a["sum"] + b["sum"], "n": a["n"] + b["n"]}


def sensor_averages():
    env = StreamExecutionEnvironment.get_execution_environment()
    strategy = WatermarkStrategy.for_bounded_out_of_orderness(
        Duration.of_millis(30_000)
    ).with_timestamp_assigner(lambda text, _: json.loads(text)["ts"])
    late = OutputTag("late")

    def finish(sensor, context, sums):
        for s in sums:
            yield json.dumps(
                {"sensor_id": sensor, "minute": context.window().start, "mean": s["sum"] / s["n"]}
            )

    stream = (
        env.from_source(FlinkKinesisConsumer("readings", SimpleStringSchema()), strategy, "in")
        .map(json.loads)
        .map(lambda r: {"sensor": r["sensor"], "sum": r["value"], "n": 1})
        .key_by(lambda r: r["sensor"])
        .window(TumblingEventTimeWindows.of(Time.minutes(1)))
        .side_output_late_data(late)
        .reduce(SumCount(), finish)
    )
    stream.sink_to(KinesisStreamsSink.builder().set_stream_name("averages").build())
    stream.get_side_output(late).print()
    env.execute("reduce")


# %%
def top_products():
    env = StreamExecutionEnvironment.get_execution_environment()
    strategy = WatermarkStrategy.for_bounded_out_of_orderness(
        Duration.of_seconds(15)
    ).with_timestamp_assigner(lambda order, _: order["ts"])

    def count(product, context, orders):
        yield {"end": context.window().end, "product": product, "n": len(list(orders))}

    def rank(context, counts):
        rows = sorted(counts, key=lambda c: (-c["n"], c["product"]))
        if rows:
            yield json.dumps({"end": rows[0]["end"], "top": [c["product"] for c in rows[:5]]})

    (
        env.add_source(FlinkKinesisConsumer("orders", SimpleStringSchema()))
        .map(json.loads)
        .assign_timestamps_and_watermarks(strategy)
        .key_by(lambda order: order["product"])
        .window(SlidingEventTimeWindows.of(Time.minutes(5), Time.minutes(1)))
        .process(count)
        .window_all(TumblingEventTimeWindows.of(Time.minutes(1)))
        .process(rank)
        .sink_to(KinesisStreamsSink.builder().set_stream_name("top-products").build())
    )
    env.execute("count then rank")


# %%
CONSUMERS = 5


def consume_batch(consumer, process):
    batch = consumer.poll(timeout_ms=300)
    for partition, records in batch.items():
        for record in records:
            process(record)
        consumer.commit({partition: OffsetAndMetadata(records[-1].offset + 1, None, -1)})


# %%
CHOICES = {
    "scan_history": ("kafka", ["retention of 730 days", "ordering per patient"]),
    "clickstream": ("Amazon Kinesis Data Streams", "on-demand capacity follows the peak"),
}
