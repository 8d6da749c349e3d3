"""Managed Service for Apache Flink in the sandbox: applications created with boto3 run a job on
the lab clock, reading a Kinesis stream and writing to Kinesis, Firehose or Lambda.

The two examples of issue 20 are computed end to end from a Kinesis stream and compared with the
same figures computed in plain Python from the events: a per-minute average per sensor that stays
right with events up to 30 s late, and the top five products per five-minute sliding window.
One sandbox serves the module; each test uses its own streams and applications.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

import labkit
from labkit.lab import Lab
from labkit.services.flink.deploy import upload_application
from labkit.services.flink.patch_connectors import (
    FlinkKinesisConsumer,
    KinesisFirehoseSink,
    KinesisStreamsSink,
    LambdaSink,
    PartitionKeyGenerator,
    SimpleStringSchema,
)
from labkit.services.flink.sim_operator import AggregateFunction, OutputTag
from labkit.services.flink.sim_stream import StreamExecutionEnvironment
from labkit.services.flink.sim_time import Duration, Time
from labkit.services.flink.sim_watermarks import WatermarkStrategy
from labkit.services.flink.sim_windows import SlidingEventTimeWindows, TumblingEventTimeWindows
from labkit.services.flink.state import application_snapshot

ROLE = "arn:aws:iam::123456789012:role/flink"
BUCKET = "flink-code"
MINUTE = 60_000


@pytest.fixture(autouse=True)
def no_sandbox_left_running() -> None:
    """The module's one sandbox keeps running between its tests (conftest stops leftovers)."""


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    lab.client("s3").create_bucket(Bucket=BUCKET)
    yield lab
    lab.stop()


def run_app(lab: Lab, name: str, main: Any) -> Any:
    """Upload ``main``, create the application and start it; returns the client."""
    kda = lab.client("kinesisanalyticsv2")
    code = upload_application(main, bucket=BUCKET, key=f"{name}.zip")
    kda.create_application(
        ApplicationName=name,
        RuntimeEnvironment="FLINK-1_20",
        ServiceExecutionRole=ROLE,
        ApplicationConfiguration={"ApplicationCodeConfiguration": code},
    )
    kda.start_application(ApplicationName=name)
    return kda


def read_stream(lab: Lab, stream: str) -> list[Any]:
    kinesis = lab.client("kinesis")
    out = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        out += [
            json.loads(r["Data"]) for r in kinesis.get_records(ShardIterator=iterator)["Records"]
        ]
    return out


def now_ms(lab: Lab) -> int:
    return round(lab.clock.timestamp * 1000)


# -- the control plane --------------------------------------------------------------------------
def test_applications_start_stop_and_delete_as_aws_runs_them(lab: Lab) -> None:
    kinesis = lab.client("kinesis")
    kinesis.create_stream(StreamName="cp-in", ShardCount=1)

    def main() -> None:
        env = StreamExecutionEnvironment.get_execution_environment()
        env.add_source(FlinkKinesisConsumer("cp-in", SimpleStringSchema())).add_sink(lambda v: None)
        env.execute("passthrough")

    kda = lab.client("kinesisanalyticsv2")
    code = upload_application(main, bucket=BUCKET, key="cp.zip")
    created = kda.create_application(
        ApplicationName="cp",
        RuntimeEnvironment="FLINK-1_20",
        ServiceExecutionRole=ROLE,
        ApplicationConfiguration={"ApplicationCodeConfiguration": code},
    )["ApplicationDetail"]
    assert created["ApplicationStatus"] == "READY"  # stock moto says STARTING forever
    idle_view = lab.window_view("cp", hold=True)
    assert "○ not running: start it with start_application" in idle_view.to_text()
    idle_view.close()
    with pytest.raises(ClientError, match="ResourceInUseException"):
        kda.create_application(
            ApplicationName="cp", RuntimeEnvironment="FLINK-1_20", ServiceExecutionRole=ROLE
        )
    with pytest.raises(ClientError, match="ResourceInUseException"):
        kda.stop_application(ApplicationName="cp")
    kda.start_application(ApplicationName="cp")
    detail = kda.describe_application(ApplicationName="cp")["ApplicationDetail"]
    assert detail["ApplicationStatus"] == "RUNNING"
    with pytest.raises(ClientError, match="ResourceInUseException"):
        kda.start_application(ApplicationName="cp")
    kda.stop_application(ApplicationName="cp")
    assert (
        kda.describe_application(ApplicationName="cp")["ApplicationDetail"]["ApplicationStatus"]
        == "READY"
    )
    kda.delete_application(ApplicationName="cp", CreateTimestamp=detail["CreateTimestamp"])
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        kda.describe_application(ApplicationName="cp")


def test_sql_applications_are_retired(lab: Lab) -> None:
    kda = lab.client("kinesisanalyticsv2")
    with pytest.raises(ClientError, match=r"InvalidArgumentException.*2025-10-15"):
        kda.create_application(
            ApplicationName="legacy-sql", RuntimeEnvironment="SQL-1_0", ServiceExecutionRole=ROLE
        )


def test_an_application_without_runnable_code_does_not_start(lab: Lab) -> None:
    kda = lab.client("kinesisanalyticsv2")
    kda.create_application(
        ApplicationName="no-code", RuntimeEnvironment="FLINK-1_20", ServiceExecutionRole=ROLE
    )
    with pytest.raises(ClientError, match="has no code"):
        kda.start_application(ApplicationName="no-code")
    lab.client("s3").put_object(Bucket=BUCKET, Key="foreign.zip", Body=b"PK not ours")
    foreign = {
        "CodeContent": {
            "S3ContentLocation": {"BucketARN": f"arn:aws:s3:::{BUCKET}", "FileKey": "foreign.zip"}
        },
        "CodeContentType": "ZIPFILE",
    }
    kda.create_application(
        ApplicationName="foreign",
        RuntimeEnvironment="FLINK-1_20",
        ServiceExecutionRole=ROLE,
        ApplicationConfiguration={"ApplicationCodeConfiguration": foreign},
    )
    with pytest.raises(ClientError, match="upload_application"):
        kda.start_application(ApplicationName="foreign")

    def no_job() -> None:
        StreamExecutionEnvironment.get_execution_environment()

    with pytest.raises(ClientError, match=r"env\.execute\(\)"):
        run_app(lab, "no-job", no_job)


# -- example 1: per-minute average per sensor, right with events up to 30 s late ----------------
class Average(AggregateFunction):
    def create_accumulator(self) -> tuple[float, int]:
        return (0.0, 0)

    def add(self, value: Any, acc: tuple[float, int]) -> tuple[float, int]:
        return (acc[0] + value["value"], acc[1] + 1)

    def get_result(self, acc: tuple[float, int]) -> float:
        return acc[0] / acc[1]

    def merge(self, a: tuple[float, int], b: tuple[float, int]) -> tuple[float, int]:
        return (a[0] + b[0], a[1] + b[1])


def test_per_minute_average_per_sensor_stays_right_with_events_up_to_30_s_late(lab: Lab) -> None:
    kinesis = lab.client("kinesis")
    kinesis.create_stream(StreamName="readings", ShardCount=2)
    kinesis.create_stream(StreamName="averages", ShardCount=1)

    def main() -> None:
        env = StreamExecutionEnvironment.get_execution_environment()
        readings = (
            env.add_source(FlinkKinesisConsumer("readings", SimpleStringSchema()))
            .map(json.loads)
            .assign_timestamps_and_watermarks(
                WatermarkStrategy.for_bounded_out_of_orderness(
                    Duration.of_seconds(30)
                ).with_timestamp_assigner(lambda e, _t: e["ts"])
            )
        )

        def label(key: str, context: Any, averages: Any) -> Any:
            for avg in averages:
                yield json.dumps({"sensor": key, "minute": context.window().start, "avg": avg})

        averages = (
            readings.key_by(lambda e: e["sensor"])
            .window(TumblingEventTimeWindows.of(Time.minutes(1)))
            .aggregate(Average(), label)
        )
        averages.sink_to(
            KinesisStreamsSink.builder()
            .set_stream_name("averages")
            .set_serialization_schema(SimpleStringSchema())
            .set_partition_key_generator(PartitionKeyGenerator.fixed())
            .build()
        )
        env.execute("per-minute averages")

    run_app(lab, "averages", main)
    rng = random.Random(3)
    start = now_ms(lab) - now_ms(lab) % MINUTE + MINUTE
    lab.clock.advance((start - now_ms(lab)) / 1000)
    events: list[dict[str, Any]] = []
    for second in range(240):
        for sensor in ("s1", "s2", "s3"):
            events.append(
                {"sensor": sensor, "ts": start + second * 1000, "value": rng.uniform(10, 30)}
            )
    # Each event is written at its own time plus a delay of up to 30 s (out of order); one more
    # is 45 s late, beyond the bound, and must not change a result.
    arrivals: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        arrivals[event["ts"] + rng.choice((0, 0, 0, 5_000, 29_000))].append(event)
    too_late = {"sensor": "s1", "ts": start + 10_000, "value": 1_000.0}
    arrivals[start + 115_000].append(too_late)
    for at in sorted(arrivals):
        lab.clock.advance(max(0, at - now_ms(lab)) / 1000)
        kinesis.put_records(
            StreamName="readings",
            Records=[{"Data": json.dumps(e), "PartitionKey": e["sensor"]} for e in arrivals[at]],
        )
    lab.clock.advance(5)
    expected: dict[tuple[str, int], list[float]] = defaultdict(list)
    for event in events:
        expected[(event["sensor"], event["ts"] - event["ts"] % MINUTE)].append(event["value"])
    results = {(r["sensor"], r["minute"]): r["avg"] for r in read_stream(lab, "averages")}
    # The last minute is still open: its watermark has not passed yet.
    done = {k: v for k, v in expected.items() if k[1] + MINUTE <= start + 240_000 - 30_000}
    assert set(results) == set(done)
    for key, values in done.items():
        assert results[key] == pytest.approx(sum(values) / len(values))
    snap = application_snapshot("averages", now=lab.clock.timestamp)
    assert snap.windows[0].late_dropped == 1 and snap.windows[0].late[0].timestamp == too_late["ts"]

    # -- example 2: top five products per five-minute sliding window -------------------------------
    # The window view of this job (it was a separate test reading this one's application).
    view = lab.window_view("averages", hold=True)
    text, page = view.to_text(), view.to_html()
    view.close()
    assert "Watermark" in text and "✗ dropped" in text and "● on time" in text
    assert "Emitted results" in text and "● s1:" in text  # the plot's points, as text
    assert "<svg" in page and "labkit-flink" in page and "■ s2" in page  # shapes, not colour


class CountPerProduct(AggregateFunction):
    def create_accumulator(self) -> int:
        return 0

    def add(self, value: Any, acc: int) -> int:
        return acc + 1

    def get_result(self, acc: int) -> int:
        return acc

    def merge(self, a: int, b: int) -> int:
        return a + b


def test_top_five_products_per_five_minute_sliding_window_to_firehose(lab: Lab) -> None:
    kinesis = lab.client("kinesis")
    kinesis.create_stream(StreamName="orders", ShardCount=1)
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="top-products")
    lab.client("firehose").create_delivery_stream(
        DeliveryStreamName="top5",
        ExtendedS3DestinationConfiguration={
            "BucketARN": "arn:aws:s3:::top-products",
            "RoleARN": ROLE,
            "BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 1},
        },
    )

    def main() -> None:
        env = StreamExecutionEnvironment.get_execution_environment()
        orders = (
            env.add_source(FlinkKinesisConsumer("orders", SimpleStringSchema()))
            .map(json.loads)
            .assign_timestamps_and_watermarks(
                WatermarkStrategy.for_bounded_out_of_orderness(
                    Duration.of_seconds(5)
                ).with_timestamp_assigner(lambda e, _t: e["ts"])
            )
        )
        five_every_one = SlidingEventTimeWindows.of(Time.minutes(5), Time.minutes(1))

        def with_window(product: str, context: Any, counts: Any) -> Any:
            for count in counts:
                yield (context.window().end, product, count)

        counts = (
            orders.key_by(lambda e: e["product"])
            .window(five_every_one)
            .aggregate(CountPerProduct(), with_window)
        )

        def top_five(context: Any, rows: Any) -> Any:
            ranked = sorted(rows, key=lambda r: (-r[2], r[1]))[:5]
            yield json.dumps({"end": context.window().end, "top": [r[1] for r in ranked]}) + "\n"

        # Each count carries its window's last millisecond, so a one-minute tumbling window
        # gathers exactly the counts of one sliding window.
        top = counts.window_all(TumblingEventTimeWindows.of(Time.minutes(1))).process(top_five)
        top.sink_to(
            KinesisFirehoseSink.builder()
            .set_delivery_stream_name("top5")
            .set_serialization_schema(SimpleStringSchema())
            .build()
        )
        env.execute("top five")

    run_app(lab, "top-products", main)
    rng = random.Random(5)
    weights = {f"p{i}": 1 + (i * 7) % 11 for i in range(12)}
    start = now_ms(lab) - now_ms(lab) % MINUTE + MINUTE
    lab.clock.advance((start - now_ms(lab)) / 1000)
    orders = []
    for second in range(0, 600, 2):
        product = rng.choices(list(weights), weights=list(weights.values()))[0]
        orders.append({"product": product, "ts": start + second * 1000})
        lab.clock.advance(max(0, start + second * 1000 - now_ms(lab)) / 1000)
        kinesis.put_record(StreamName="orders", Data=json.dumps(orders[-1]), PartitionKey=product)
    lab.clock.advance(120)
    results = {}
    for obj in s3.list_objects_v2(Bucket="top-products").get("Contents", []):
        body = s3.get_object(Bucket="top-products", Key=obj["Key"])["Body"].read().decode()
        for line in body.splitlines():
            row = json.loads(line)
            results[row["end"]] = row["top"]
    assert results, "nothing reached S3 through Firehose"
    for end, top in results.items():
        window = Counter(o["product"] for o in orders if end - 5 * MINUTE <= o["ts"] < end)
        expected = [p for p, _ in sorted(window.items(), key=lambda kv: (-kv[1], kv[0]))[:5]]
        assert top == expected, f"window ending {end}"
    # Every slide whose watermark has passed is there: the first window ends one minute in.
    last_event = start + 598_000
    assert sorted(results) == list(range(start + MINUTE, last_event - 5_000 + 1, MINUTE))


# -- sinks, shards and the view ---------------------------------------------------------------
def test_an_idle_shard_holds_the_watermark_until_with_idleness_releases_it(lab: Lab) -> None:
    kinesis = lab.client("kinesis")
    fired: dict[str, int] = {}
    for idle in (False, True):
        stream = f"clicks-{idle}".lower()
        kinesis.create_stream(StreamName=stream, ShardCount=2)

        def main(stream: str = stream, idle: bool = idle) -> None:
            env = StreamExecutionEnvironment.get_execution_environment()
            strategy = WatermarkStrategy.for_monotonous_timestamps()
            if idle:
                strategy = strategy.with_idleness(Duration.of_seconds(10))
            consumer = FlinkKinesisConsumer(stream, SimpleStringSchema())
            clicks = env.from_source(consumer, strategy, "clicks")  # per-shard watermarks
            clicks.window_all(TumblingEventTimeWindows.of(Time.minutes(1))).process(
                lambda context, elements: [len(list(elements))]
            ).add_sink(lambda v: None)
            env.execute("clicks")

        run_app(lab, f"clicks-{str(idle).lower()}", main)
        for _ in range(150):  # one partition key: every record lands on one shard
            kinesis.put_record(StreamName=stream, Data=b"click", PartitionKey="same")
            lab.clock.advance(1)
        snap = application_snapshot(f"clicks-{str(idle).lower()}", now=lab.clock.timestamp)
        fired[stream] = len(snap.windows[0].firings)
        assert len(snap.sources[0].splits) == 2
    assert fired == {"clicks-false": 0, "clicks-true": 2}


def test_late_readings_reach_a_lambda_function_through_the_side_output(lab: Lab) -> None:
    kinesis = lab.client("kinesis")
    kinesis.create_stream(StreamName="temps", ShardCount=1)

    def late_handler(event: Any, context: Any) -> dict[str, Any]:
        return {"late": event}

    lab.deploy_function(late_handler, name="late-readings")
    sink = LambdaSink("late-readings", invocation_type="RequestResponse")

    def main() -> None:
        env = StreamExecutionEnvironment.get_execution_environment()
        late = OutputTag("late")
        temps = env.add_source(FlinkKinesisConsumer("temps", SimpleStringSchema())).map(json.loads)
        temps = temps.assign_timestamps_and_watermarks(
            WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(
                lambda e, _t: e["ts"]
            )
        )
        maxima = (
            temps.key_by(lambda e: e["sensor"])
            .window(TumblingEventTimeWindows.of(Time.minutes(1)))
            .side_output_late_data(late)
            .reduce(lambda a, b: a if a["value"] >= b["value"] else b)
        )
        maxima.add_sink(lambda v: None)
        maxima.get_side_output(late).sink_to(sink)
        env.execute("late readings")

    run_app(lab, "temps", main)
    t = now_ms(lab)
    for ts in (t, t + 70_000, t + 1_000):  # the third is behind the watermark
        kinesis.put_record(
            StreamName="temps",
            Data=json.dumps({"sensor": "a", "ts": ts, "value": 1}),
            PartitionKey="a",
        )
        lab.clock.advance(1)
    assert sink.sent == 1 and sink.failed == 0
    view = lab.window_view("temps", hold=True)
    text = view.to_text()
    assert "→ side output 'late'" in text and "1 → side output" in text
    view.close()


def test_a_failing_job_stops_and_says_why(lab: Lab) -> None:
    kinesis = lab.client("kinesis")
    kinesis.create_stream(StreamName="bad-in", ShardCount=1)

    def main() -> None:
        env = StreamExecutionEnvironment.get_execution_environment()
        env.add_source(FlinkKinesisConsumer("bad-in", SimpleStringSchema())).map(
            json.loads
        ).add_sink(lambda v: None)
        env.execute("parses json")

    run_app(lab, "bad", main)
    kinesis.put_record(StreamName="bad-in", Data=b"not json", PartitionKey="k")
    lab.clock.advance(1)  # the failure stays in the job: the clock is not broken
    snap = application_snapshot("bad", now=lab.clock.timestamp)
    assert snap.failure is not None and snap.failure.startswith("JSONDecodeError")
    assert "✗ FAILED" in lab.window_view("bad", hold=True).to_text()


def test_trim_horizon_reads_what_the_stream_already_holds_and_the_view_follows(lab: Lab) -> None:
    kinesis = lab.client("kinesis")
    kinesis.create_stream(StreamName="backlog", ShardCount=1)
    t = now_ms(lab)
    for n in range(3):
        kinesis.put_record(
            StreamName="backlog", Data=json.dumps({"n": n, "ts": t + n}), PartitionKey="k"
        )
    seen: dict[str, list[int]] = {"LATEST": [], "TRIM_HORIZON": []}
    for position, got in seen.items():

        def main(position: str = position, got: list[int] = got) -> None:
            env = StreamExecutionEnvironment.get_execution_environment()
            consumer = FlinkKinesisConsumer(
                "backlog", SimpleStringSchema(), {"flink.stream.initpos": position}
            )
            env.add_source(consumer).map(json.loads).add_sink(lambda e: got.append(e["n"]))
            env.execute("backlog")

        run_app(lab, f"backlog-{position.lower().replace('_', '-')}", main)
    view = lab.window_view("backlog-latest")  # live: refreshed on demand here
    kinesis.put_record(StreamName="backlog", Data=json.dumps({"n": 3, "ts": t}), PartitionKey="k")
    lab.clock.advance(1)
    view.refresh()
    assert "1 record read" in view.to_text()
    view.close()
    assert seen == {"LATEST": [3], "TRIM_HORIZON": [0, 1, 2, 3]}


def test_a_shard_closed_by_resharding_no_longer_holds_the_watermark(lab: Lab) -> None:
    kinesis = lab.client("kinesis")
    kinesis.create_stream(StreamName="resharded", ShardCount=1)

    def main() -> None:
        env = StreamExecutionEnvironment.get_execution_environment()
        consumer = FlinkKinesisConsumer("resharded", SimpleStringSchema())
        strategy = WatermarkStrategy.for_monotonous_timestamps().with_timestamp_assigner(
            lambda e, _t: json.loads(e)["ts"]
        )
        env.from_source(consumer, strategy, "resharded").window_all(
            TumblingEventTimeWindows.of(Time.minutes(1))
        ).process(lambda context, elements: [len(list(elements))]).add_sink(lambda v: None)
        env.execute("resharded")

    run_app(lab, "resharded", main)
    t = now_ms(lab)
    kinesis.put_record(StreamName="resharded", Data=json.dumps({"ts": t}), PartitionKey="a")
    lab.clock.advance(1)
    kinesis.update_shard_count(
        StreamName="resharded", TargetShardCount=2, ScalingType="UNIFORM_SCALING"
    )
    for key in ("a", "b", "c", "d", "e", "f"):  # reaches both new shards
        kinesis.put_record(
            StreamName="resharded", Data=json.dumps({"ts": t + 120_000}), PartitionKey=key
        )
    lab.clock.advance(1)
    snap = application_snapshot("resharded", now=lab.clock.timestamp)
    assert len(snap.sources[0].splits) == 2  # the two open children; the parent has ended
    assert len(snap.windows[0].firings) == 1
