"""Managed Flink reads and writes Kafka topics on MSK (issue 20's "a Kinesis stream or a Kafka
topic"): ``KafkaSource`` and ``KafkaSink`` against the embedded brokers, with records produced and
consumed by the real kafka-python client.

One sandbox and one MSK cluster serve the module; each test uses its own topics. Real-time waits
(a consumer reading what the sink appended) are bounded by a deadline, never a sleep-and-assert.
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

import labkit
from labkit.lab import Lab
from labkit.services.flink.deploy import upload_application
from labkit.services.flink.patch_connectors import ConnectorError, SimpleStringSchema
from labkit.services.flink.patch_kafka import (
    KafkaOffsetResetStrategy,
    KafkaOffsetsInitializer,
    KafkaSource,
)
from labkit.services.flink.patch_kafka_sink import (
    DeliveryGuarantee,
    KafkaRecordSerializationSchema,
    KafkaSink,
)
from labkit.services.flink.sim_operator import AggregateFunction, OutputTag
from labkit.services.flink.sim_stream import JobClient, StreamExecutionEnvironment
from labkit.services.flink.sim_time import Duration, Time
from labkit.services.flink.sim_watermarks import WatermarkStrategy
from labkit.services.flink.sim_windows import TumblingEventTimeWindows
from labkit.services.kafka.state import clusters, snapshot

ROLE = "arn:aws:iam::123456789012:role/flink"
BUCKET = "flink-kafka-code"
MINUTE = 60_000
SUBNETS = ["subnet-a", "subnet-b", "subnet-c"]


@pytest.fixture(autouse=True)
def no_sandbox_left_running() -> None:
    """The module's one sandbox keeps running between its tests (conftest stops leftovers)."""


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    lab.client("s3").create_bucket(Bucket=BUCKET)
    yield lab
    lab.stop()


@pytest.fixture(scope="module")
def boot(lab: Lab) -> str:
    """The plaintext bootstrap string of the module's MSK cluster (created with boto3)."""
    kafka = lab.client("kafka")
    arn = kafka.create_cluster(
        ClusterName="sensors",
        KafkaVersion="3.6.0",
        NumberOfBrokerNodes=3,
        BrokerNodeGroupInfo={"InstanceType": "kafka.m5.large", "ClientSubnets": SUBNETS},
        EncryptionInfo={"EncryptionInTransit": {"ClientBroker": "TLS_PLAINTEXT"}},
    )["ClusterArn"]
    return str(kafka.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"])


def topics(boot: str, **partitions: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=boot)
    try:
        admin.create_topics([NewTopic(name, count, 3) for name, count in partitions.items()])
    finally:
        admin.close()


def until(condition: Callable[[], bool], seconds: float = 30) -> None:
    """Wait (real time, bounded) for the brokers' thread and the client to get there."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for Kafka records")
        time.sleep(0.02)


def read_topic(boot: str, topic: str, count: int) -> list[Any]:
    """``count`` JSON records of ``topic``, read with the real KafkaConsumer from the start."""
    reader = KafkaConsumer(bootstrap_servers=boot, auto_offset_reset="earliest")
    parts = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic) or {0}]
    reader.assign(parts)
    got: list[Any] = []

    def drain() -> bool:
        for records in reader.poll(timeout_ms=100).values():
            got.extend(json.loads(r.value) for r in records)
        return len(got) >= count

    until(drain)
    assert sum(reader.end_offsets(parts).values()) == count, "the topic holds more records"
    reader.close()
    return got


def now_ms(lab: Lab) -> int:
    return round(lab.clock.timestamp * 1000)


def source(boot: str, topic: str, start: Any = None, group: str = "flink") -> KafkaSource:
    builder = (
        KafkaSource.builder()
        .set_bootstrap_servers(boot)
        .set_topics(topic)
        .set_group_id(group)
        .set_value_only_deserializer(SimpleStringSchema())
    )
    if start is not None:
        builder = builder.set_starting_offsets(start)
    return builder.build()


def sink(boot: str, topic: str) -> KafkaSink:
    return (
        KafkaSink.builder()
        .set_bootstrap_servers(boot)
        .set_record_serializer(
            KafkaRecordSerializationSchema.builder()
            .set_topic(topic)
            .set_value_serialization_schema(SimpleStringSchema())
            .build()
        )
        .set_delivery_guarantee(DeliveryGuarantee.AT_LEAST_ONCE)
        .build()
    )


class Average(AggregateFunction):
    def create_accumulator(self) -> tuple[float, int]:
        return (0.0, 0)

    def add(self, value: Any, acc: tuple[float, int]) -> tuple[float, int]:
        return (acc[0] + value["value"], acc[1] + 1)

    def get_result(self, acc: tuple[float, int]) -> tuple[float, int]:
        return acc

    def merge(self, a: tuple[float, int], b: tuple[float, int]) -> tuple[float, int]:
        return (a[0] + b[0], a[1] + b[1])


# -- the end-to-end example ---------------------------------------------------------------------
def test_per_minute_averages_from_a_topic_to_a_topic_with_late_readings_aside(
    lab: Lab, boot: str
) -> None:
    topics(boot, readings=2, averages=1, late=1)

    def main(boot: str = boot) -> None:
        env = StreamExecutionEnvironment.get_execution_environment()
        readings = env.from_source(
            KafkaSource.builder()
            .set_bootstrap_servers(boot)
            .set_topics("readings")
            .set_group_id("averager")
            .set_starting_offsets(KafkaOffsetsInitializer.earliest())
            .set_value_only_deserializer(SimpleStringSchema())
            .build(),
            WatermarkStrategy.for_bounded_out_of_orderness(Duration.of_seconds(30)),
            "readings",
        ).map(json.loads)

        def label(key: str, context: Any, sums: Any) -> Any:
            for total, count in sums:
                yield json.dumps(
                    {"sensor": key, "minute": context.window().start, "avg": total / count}
                )

        late = OutputTag("late")
        averages = (
            readings.key_by(lambda r: r["sensor"])
            .window(TumblingEventTimeWindows.of(Time.minutes(1)))
            .side_output_late_data(late)
            .aggregate(Average(), label)
        )
        averages.sink_to(
            KafkaSink.builder()
            .set_bootstrap_servers(boot)
            .set_record_serializer(
                KafkaRecordSerializationSchema.builder()
                .set_topic("averages")
                .set_value_serialization_schema(SimpleStringSchema())
                .build()
            )
            .build()
        )
        averages.get_side_output(late).map(json.dumps).sink_to(
            KafkaSink.builder()
            .set_bootstrap_servers(boot)
            .set_record_serializer(
                KafkaRecordSerializationSchema.builder()
                .set_topic("late")
                .set_value_serialization_schema(SimpleStringSchema())
                .build()
            )
            .build()
        )
        env.execute("averages from Kafka")

    kda = lab.client("kinesisanalyticsv2")
    code = upload_application(main, bucket=BUCKET, key="kafka-averages.zip")
    kda.create_application(
        ApplicationName="kafka-averages",
        RuntimeEnvironment="FLINK-1_20",
        ServiceExecutionRole=ROLE,
        ApplicationConfiguration={"ApplicationCodeConfiguration": code},
    )
    kda.start_application(ApplicationName="kafka-averages")

    producer = KafkaProducer(bootstrap_servers=boot, acks="all")
    rng = random.Random(20)
    start = now_ms(lab) - now_ms(lab) % MINUTE + MINUTE
    lab.clock.advance((start - now_ms(lab)) / 1000)
    on_time: list[dict[str, Any]] = []
    late: list[dict[str, Any]] = []
    # Every 5 s for 5 minutes, each sensor's reading is written with a timestamp up to 20 s old
    # (out of order, within the 30 s bound); s1 on partition 0, s2 on partition 1.
    for step in range(60):
        lab.clock.advance_to((start + step * 5000) / 1000)
        for partition, sensor in enumerate(("s1", "s2")):
            reading = {
                "sensor": sensor,
                "ts": now_ms(lab) - rng.randrange(0, 20_000),
                "value": round(rng.uniform(10, 30), 3),
            }
            on_time.append(reading)
            producer.send(
                "readings",
                json.dumps(reading).encode(),
                key=sensor.encode(),
                partition=partition,
                timestamp_ms=reading["ts"],
            )
        if step == 40:  # a reading 3 minutes old: its window fired long ago
            old = {"sensor": "s1", "ts": now_ms(lab) - 180_000, "value": 999.0}
            late.append(old)
            producer.send("readings", json.dumps(old).encode(), partition=0, timestamp_ms=old["ts"])
        producer.flush()
    # Far-ahead readings on both partitions close every window of the five minutes.
    lab.clock.advance(5)
    for partition in (0, 1):
        closer = {"sensor": "closer", "ts": start + 10 * MINUTE, "value": 0.0}
        producer.send(
            "readings", json.dumps(closer).encode(), partition=partition, timestamp_ms=closer["ts"]
        )
    producer.flush()
    producer.close()
    lab.clock.advance(1)

    expected: dict[tuple[str, int], list[float]] = defaultdict(list)
    for reading in on_time:
        expected[(reading["sensor"], reading["ts"] - reading["ts"] % MINUTE)].append(
            reading["value"]
        )
    got = read_topic(boot, "averages", len(expected))
    assert {(r["sensor"], r["minute"]): round(r["avg"], 6) for r in got} == {
        key: round(sum(values) / len(values), 6) for key, values in expected.items()
    }
    assert read_topic(boot, "late", 1) == late
    detail = kda.describe_application(ApplicationName="kafka-averages")["ApplicationDetail"]
    assert detail["ApplicationStatus"] == "RUNNING"
    # The source committed what it read to its group, as Flink's does on checkpoints.
    (cluster,) = [c for c in clusters() if c.cluster_name == "sensors"]
    group = {g.group_id: g for g in snapshot(cluster).groups}["averager"]
    assert {(p.topic, p.index): p.lag for p in group.partitions} == {
        ("readings", 0): 0,
        ("readings", 1): 0,
    }
    kda.stop_application(ApplicationName="kafka-averages")


# -- starting offsets ---------------------------------------------------------------------------
def run(env: StreamExecutionEnvironment) -> JobClient:
    return env.execute_async("test job")


def test_latest_skips_what_the_topic_held_and_reads_records_as_the_clock_moves(
    lab: Lab, boot: str
) -> None:
    topics(boot, clicks=1)
    producer = KafkaProducer(bootstrap_servers=boot)
    for i in range(3):
        producer.send("clicks", f"old-{i}".encode())
    producer.flush()

    def job(start: Any, group: str) -> tuple[JobClient, list[tuple[int, str]]]:
        got: list[tuple[int, str]] = []
        env = StreamExecutionEnvironment.get_execution_environment()
        env.from_source(
            source(boot, "clicks", start, group=group),
            WatermarkStrategy.for_monotonous_timestamps(),
            "clicks",
        ).add_sink(lambda v: got.append((now_ms(lab), v)))
        return run(env), got

    latest, from_latest = job(KafkaOffsetsInitializer.latest(), "new")
    earliest, from_earliest = job(KafkaOffsetsInitializer.earliest(), "all")
    lab.clock.advance(1)
    assert [v for _, v in from_latest] == []
    assert [v for _, v in from_earliest] == ["old-0", "old-1", "old-2"]

    # Written while the clock stands still; read when it next moves, at the time of writing.
    written_at = now_ms(lab)
    producer.send("clicks", b"new-0")
    producer.send("clicks", b"new-1")
    producer.flush()
    lab.clock.advance(60)
    assert [v for _, v in from_latest] == ["new-0", "new-1"]
    assert [v for _, v in from_earliest][3:] == ["new-0", "new-1"]
    # Read at the next poll after the write (the 200 ms grid), not at the end of the advance.
    assert all(written_at <= at <= written_at + 200 for at, _ in from_latest)
    # The records' timestamps are their CreateTime: the producer's clock is the lab clock.
    (sink_node,) = latest.sinks
    assert [ts for _, ts, _ in sink_node.emitted] == [written_at, written_at]
    latest.cancel()
    earliest.cancel()
    producer.send("clicks", b"after-cancel")
    producer.flush()
    producer.close()
    lab.clock.advance(1)
    assert [v for _, v in from_latest] == ["new-0", "new-1"]


def test_committed_offsets_resume_where_the_group_left_off(lab: Lab, boot: str) -> None:
    topics(boot, orders=2)
    producer = KafkaProducer(bootstrap_servers=boot)
    for i in range(6):
        producer.send("orders", str(i).encode(), partition=i % 2)
    producer.flush()

    def job(start: Any) -> tuple[JobClient, list[str]]:
        got: list[str] = []
        env = StreamExecutionEnvironment.get_execution_environment()
        env.from_source(
            source(boot, "orders", start, group="billing"),
            WatermarkStrategy.no_watermarks(),
            "orders",
        ).add_sink(got.append)
        return run(env), got

    with pytest.raises(ConnectorError, match=r"no committed offset.*NONE"):
        job(KafkaOffsetsInitializer.committed_offsets())
    first, got = job(KafkaOffsetsInitializer.committed_offsets(KafkaOffsetResetStrategy.EARLIEST))
    lab.clock.advance(1)
    first.cancel()
    assert sorted(got) == ["0", "1", "2", "3", "4", "5"]
    for i in range(6, 10):
        producer.send("orders", str(i).encode(), partition=i % 2)
    producer.flush()
    producer.close()
    # A real consumer sees the group's committed offsets.
    reader = KafkaConsumer(bootstrap_servers=boot, group_id="billing", enable_auto_commit=False)
    assert [reader.committed(TopicPartition("orders", p)) for p in (0, 1)] == [3, 3]
    reader.close()
    second, resumed = job(KafkaOffsetsInitializer.committed_offsets())
    lab.clock.advance(1)
    second.cancel()
    assert sorted(resumed) == ["6", "7", "8", "9"]


# -- watermarks per partition -------------------------------------------------------------------
def test_each_partition_has_its_watermark_and_the_source_takes_the_lowest(
    lab: Lab, boot: str
) -> None:
    topics(boot, meters=2)
    counts: list[tuple[int, int]] = []
    env = StreamExecutionEnvironment.get_execution_environment()
    (
        env.from_source(
            source(boot, "meters"), WatermarkStrategy.for_monotonous_timestamps(), "meters"
        )
        .map(lambda v: 1)
        .window_all(TumblingEventTimeWindows.of(Time.minutes(1)))
        .process(lambda context, values: [(context.window().start, sum(values))])
        .add_sink(counts.append)
    )
    job = run(env)
    base = now_ms(lab) - now_ms(lab) % MINUTE + 10 * MINUTE
    producer = KafkaProducer(bootstrap_servers=boot)

    def write(partition: int, minute: int) -> None:
        producer.send("meters", b"x", partition=partition, timestamp_ms=base + minute * MINUTE)
        producer.flush()
        lab.clock.advance(1)

    write(0, 0)
    write(0, 3)  # partition 0 is at minute 3, partition 1 has nothing: no window fires
    (node,) = job.sources
    assert node.marks is not None
    assert node.marks.per_input()["meters-0"] == base + 3 * MINUTE - 1
    assert counts == []
    write(1, 1)  # partition 1 reaches minute 1: minute 0's window fires, not minute 1's
    assert counts == [(base, 1)]
    assert node.watermark == base + MINUTE - 1
    write(1, 5)  # now partition 0 (minute 3) is the lowest
    assert counts == [(base, 1), (base + MINUTE, 1)]
    assert node.watermark == base + 3 * MINUTE - 1
    producer.close()
    job.cancel()


# -- the sink and bad settings ------------------------------------------------------------------
def test_the_sink_keeps_element_timestamps_and_partitions_keys_as_the_kafka_producer(
    lab: Lab, boot: str
) -> None:
    topics(boot, keyed=3)
    base = now_ms(lab) - 3_600_000
    env = StreamExecutionEnvironment.get_execution_environment()
    keyed = (
        KafkaSink.builder()
        .set_bootstrap_servers(boot)
        .set_record_serializer(
            KafkaRecordSerializationSchema.builder()
            .set_topic("keyed")
            .set_key_serialization_schema(lambda v: v.split(":")[0].encode())
            .set_value_serialization_schema(SimpleStringSchema())
            .build()
        )
        .build()
    )
    values = [f"k{i % 5}:{i}" for i in range(15)]
    env.from_collection(values).assign_timestamps_and_watermarks(
        WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(
            lambda v: base + int(v.split(":")[1]) * 1000
        )
    ).sink_to(keyed)
    env.execute("keyed")
    reader = KafkaConsumer(bootstrap_servers=boot, auto_offset_reset="earliest")
    reader.assign([TopicPartition("keyed", p) for p in range(3)])
    seen: list[Any] = []

    def drain() -> bool:
        for records in reader.poll(timeout_ms=100).values():
            seen.extend(records)
        return len(seen) >= 15

    until(drain)
    reader.close()
    assert sorted(r.value.decode() for r in seen) == sorted(values)
    assert all(r.timestamp == base + int(r.value.split(b":")[1]) * 1000 for r in seen)
    # Each key lands where the real producer's default partitioner puts it.
    producer = KafkaProducer(bootstrap_servers=boot)
    where = {
        f"k{i}".encode(): producer.send("keyed", b"probe", key=f"k{i}".encode()).get(10).partition
        for i in range(5)
    }
    producer.close()
    assert {r.key: r.partition for r in seen} == where
    assert len(set(where.values())) > 1
    assert keyed.sent == 15 and keyed.failed == 0


def test_bad_settings_fail_with_a_message(lab: Lab, boot: str) -> None:
    with pytest.raises(ConnectorError, match="set_topics"):
        KafkaSource.builder().set_bootstrap_servers(boot).build()
    with pytest.raises(ConnectorError, match="EXACTLY_ONCE"):
        KafkaSink.builder().set_delivery_guarantee(DeliveryGuarantee.EXACTLY_ONCE)
    env = StreamExecutionEnvironment.get_execution_environment()
    env.from_source(
        source("b-1.nowhere.abc.c2.kafka.us-east-1.amazonaws.com:9092", "t"),
        WatermarkStrategy.no_watermarks(),
    ).add_sink(lambda v: None)
    with pytest.raises(ConnectorError, match="No MSK cluster"):
        run(env)
    env = StreamExecutionEnvironment.get_execution_environment()
    env.from_source(source(boot, "missing"), WatermarkStrategy.no_watermarks()).add_sink(print)
    with pytest.raises(ConnectorError, match="'missing' does not exist"):
        run(env)

    def main(boot: str = boot) -> None:
        env = StreamExecutionEnvironment.get_execution_environment()
        env.from_source(source(boot, "missing"), WatermarkStrategy.no_watermarks(), "x").add_sink(
            print
        )
        env.execute()

    kda = lab.client("kinesisanalyticsv2")
    code = upload_application(main, bucket=BUCKET, key="kafka-missing.zip")
    kda.create_application(
        ApplicationName="kafka-missing",
        RuntimeEnvironment="FLINK-1_20",
        ServiceExecutionRole=ROLE,
        ApplicationConfiguration={"ApplicationCodeConfiguration": code},
    )
    with pytest.raises(ClientError, match="'missing' does not exist"):
        kda.start_application(ApplicationName="kafka-missing")


def test_an_empty_partition_holds_the_windows_until_with_idleness_releases_it(
    lab: Lab, boot: str
) -> None:
    topics(boot, quiet=2)
    base = now_ms(lab) - now_ms(lab) % MINUTE + 20 * MINUTE
    producer = KafkaProducer(bootstrap_servers=boot)
    producer.send("quiet", b"x", partition=0, timestamp_ms=base)  # partition 1 stays empty
    producer.flush()
    fired: dict[bool, list[int]] = {}
    jobs = []
    for idle in (False, True):
        strategy = WatermarkStrategy.for_monotonous_timestamps()
        if idle:
            strategy = strategy.with_idleness(Duration.of_seconds(10))
        got = fired[idle] = []
        env = StreamExecutionEnvironment.get_execution_environment()
        (
            env.from_source(source(boot, "quiet", group=f"quiet-{idle}"), strategy, "quiet")
            .window_all(TumblingEventTimeWindows.of(Time.minutes(1)))
            .process(lambda context, values: [context.window().start])
            .add_sink(got.append)
        )
        jobs.append(run(env))
    lab.clock.advance(12)  # partition 1 has been quiet for 12 s: idle
    producer.send("quiet", b"x", partition=0, timestamp_ms=base + 2 * MINUTE)
    producer.flush()
    producer.close()
    lab.clock.advance(1)
    assert fired[False] == []  # the empty partition's watermark is the lowest
    assert fired[True] == [base]  # partition 0's watermark alone counts
    for job in jobs:
        job.cancel()


def test_a_bounded_source_ends_its_input_and_a_pattern_finds_new_topics(
    lab: Lab, boot: str
) -> None:
    topics(boot, **{"logs-a": 1})
    producer = KafkaProducer(bootstrap_servers=boot)
    for i in range(4):
        producer.send("logs-a", str(i).encode())
    producer.flush()
    env = StreamExecutionEnvironment.get_execution_environment()
    bounded = (
        KafkaSource.builder()
        .set_bootstrap_servers(boot)
        .set_topics("logs-a")
        .set_bounded(KafkaOffsetsInitializer.latest())
        .set_value_only_deserializer(SimpleStringSchema())
        .build()
    )
    collected = env.from_source(
        bounded, WatermarkStrategy.for_monotonous_timestamps(), "logs"
    ).execute_and_collect()
    assert list(collected) == ["0", "1", "2", "3"]
    (node,) = env.job.sources if env.job is not None else []
    assert node.finished and node.watermark == 2**63 - 1  # end of input: every window fires

    got: list[str] = []
    env = StreamExecutionEnvironment.get_execution_environment()
    env.from_source(
        KafkaSource.builder()
        .set_bootstrap_servers(boot)
        .set_topic_pattern("logs-.*")
        .set_value_only_deserializer(SimpleStringSchema())
        .build(),
        WatermarkStrategy.no_watermarks(),
        "all logs",
    ).add_sink(got.append)
    job = run(env)
    topics(boot, **{"logs-b": 1, "metrics": 1})
    producer.send("logs-b", b"b0")
    producer.send("metrics", b"m0")
    producer.flush()
    producer.close()
    lab.clock.advance(1)
    assert sorted(got) == ["0", "1", "2", "3", "b0"]
    job.cancel()


def test_records_to_a_missing_topic_are_counted_as_failed_with_the_reason(
    lab: Lab, boot: str
) -> None:
    nowhere = sink(boot, "not-created")
    env = StreamExecutionEnvironment.get_execution_environment()
    env.from_collection(["a", "b"]).sink_to(nowhere)
    env.execute("to nowhere")
    assert (nowhere.sent, nowhere.failed) == (0, 2)
    assert "'not-created' does not exist" in nowhere.errors[-1]
    topics(boot, spread=2)
    unkeyed = sink(boot, "spread")
    env = StreamExecutionEnvironment.get_execution_environment()
    env.from_collection(["n1", "n2"]).sink_to(unkeyed)
    env.execute("unkeyed")
    assert unkeyed.sent == 2
    assert sorted(read_topic_raw(boot, "spread", 2)) == [b"n1", b"n2"]


def read_topic_raw(boot: str, topic: str, count: int) -> list[bytes]:
    reader = KafkaConsumer(bootstrap_servers=boot, auto_offset_reset="earliest")
    reader.assign([TopicPartition(topic, p) for p in reader.partitions_for_topic(topic) or {0}])
    got: list[bytes] = []

    def drain() -> bool:
        for records in reader.poll(timeout_ms=100).values():
            got.extend(r.value for r in records)
        return len(got) >= count

    until(drain)
    reader.close()
    return got
