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
# A correct submission written differently from the solution: averages with a watermark that
# follows the largest timestamp and an allowed lateness of 30 s (late readings re-fire their
# minute; the last result counts), a ProcessWindowFunction over the readings, the window's end
# written instead of its start; the top five from one window_all over sliding windows with a
# Counter, written with the window's start and [name, count] pairs; a consumer that commits
# each record's own offset after processing it; the choices as dicts with free-text reasons.

# %%
import json
import statistics
from collections import Counter

from kafka import OffsetAndMetadata, TopicPartition

import labkit
from labkit.services.flink import (
    FlinkKinesisConsumer,
    KinesisStreamsSink,
    OutputTag,
    ProcessAllWindowFunction,
    ProcessWindowFunction,
    SimpleStringSchema,
    SlidingEventTimeWindows,
    StreamExecutionEnvironment,
    Time,
    TumblingEventTimeWindows,
    WatermarkStrategy,
)

lab = labkit.start("streaming_analytics")


# %%
class MeanOfMinute(ProcessWindowFunction):
    def process(self, key, context, elements):
        values = [reading["value"] for reading in elements]
        yield json.dumps(
            {"sensor": key, "window_end": context.window().end, "average": statistics.fmean(values)}
        )


def sensor_averages():
    env = StreamExecutionEnvironment.get_execution_environment()
    late = OutputTag("later-than-30s")
    strategy = WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(
        lambda reading, _: reading["ts"]
    )
    windows = (
        env.add_source(FlinkKinesisConsumer("readings", SimpleStringSchema()))
        .map(json.loads)
        .assign_timestamps_and_watermarks(strategy)
        .key_by(lambda reading: reading["sensor"])
        .window(TumblingEventTimeWindows.of(Time.seconds(60)))
        .allowed_lateness(30_000)
        .side_output_late_data(late)
        .process(MeanOfMinute())
    )
    windows.sink_to(
        KinesisStreamsSink.builder()
        .set_stream_name("averages")
        .set_serialization_schema(SimpleStringSchema())
        .build()
    )
    windows.get_side_output(late).add_sink(lambda reading: None)
    env.execute("averages with allowed lateness")


# %%
class TopFive(ProcessAllWindowFunction):
    def process(self, context, elements):
        counts = Counter(order["product"] for order in elements)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        yield json.dumps(
            {"window_start": context.window().start, "products": [list(p) for p in ranked[:5]]}
        )


def top_products():
    env = StreamExecutionEnvironment.get_execution_environment()
    from labkit.services.flink import Duration

    strategy = WatermarkStrategy.for_bounded_out_of_orderness(
        Duration.of_seconds(20)
    ).with_timestamp_assigner(lambda order, _: order["ts"])
    (
        env.add_source(FlinkKinesisConsumer("orders", SimpleStringSchema()))
        .map(json.loads)
        .assign_timestamps_and_watermarks(strategy)
        .window_all(SlidingEventTimeWindows.of(Time.minutes(5), Time.minutes(1)))
        .process(TopFive())
        .sink_to(KinesisStreamsSink.builder().set_stream_name("top-products").build())
    )
    env.execute("top five, one window")


# %%
CONSUMERS = 6


def consume_batch(consumer, process):
    for records in consumer.poll(timeout_ms=250, max_records=25).values():
        for record in records:
            process(record)
            consumer.commit(
                {
                    TopicPartition(record.topic, record.partition): OffsetAndMetadata(
                        record.offset + 1, "", -1
                    )
                }
            )


# %%
CHOICES = {
    "scan_history": {
        "service": "Amazon MSK Serverless",
        "reason": "two years of replay: Kinesis keeps records 365 days at most",
    },
    "clickstream": {"service": "MSK Serverless", "reason": "no brokers to size for the TV peak"},
}
