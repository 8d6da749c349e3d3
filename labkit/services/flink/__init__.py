"""Amazon Managed Service for Apache Flink: windows over streams, on the lab clock.

A job is written with a Python API shaped like PyFlink's DataStream API and runs with Flink's
window semantics (:mod:`.sim_stream`, :mod:`.sim_windows`, :mod:`.sim_watermarks`,
:mod:`.sim_operator`); connectors read and write the sandbox's Kinesis, Firehose and Lambda
(:mod:`.patch_connectors`) and MSK's Kafka topics (:mod:`.patch_kafka`,
:mod:`.patch_kafka_sink`); :func:`.deploy.upload_application` makes a function an
application's code, and ``kinesisanalyticsv2`` runs it (:mod:`.patch`). Everything a job needs
can be imported from here: ``from labkit.services.flink import StreamExecutionEnvironment, Time,
...``. Names are loaded when first used, so importing one simulator does not load moto.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Time": "sim_time",
    "Duration": "sim_time",
    "TimeWindow": "sim_windows",
    "TumblingEventTimeWindows": "sim_windows",
    "TumblingProcessingTimeWindows": "sim_windows",
    "SlidingEventTimeWindows": "sim_windows",
    "SlidingProcessingTimeWindows": "sim_windows",
    "EventTimeSessionWindows": "sim_windows",
    "ProcessingTimeSessionWindows": "sim_windows",
    "WatermarkStrategy": "sim_watermarks",
    "TimestampAssigner": "sim_watermarks",
    "OutputTag": "sim_operator",
    "ReduceFunction": "sim_operator",
    "AggregateFunction": "sim_operator",
    "ProcessWindowFunction": "sim_operator",
    "ProcessAllWindowFunction": "sim_operator",
    "StreamExecutionEnvironment": "sim_stream",
    "TimedCollectionSource": "sim_stream",
    "FlinkKinesisConsumer": "patch_connectors",
    "KinesisStreamsSink": "patch_connectors",
    "KinesisFirehoseSink": "patch_connectors",
    "LambdaSink": "patch_connectors",
    "PartitionKeyGenerator": "patch_connectors",
    "SimpleStringSchema": "patch_connectors",
    "KafkaSource": "patch_kafka",
    "KafkaSink": "patch_kafka_sink",
    "KafkaOffsetsInitializer": "patch_kafka",
    "KafkaOffsetResetStrategy": "patch_kafka",
    "KafkaTopicPartition": "patch_kafka",
    "KafkaRecordSerializationSchema": "patch_kafka_sink",
    "DeliveryGuarantee": "patch_kafka_sink",
    "upload_application": "deploy",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
