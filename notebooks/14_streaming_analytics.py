# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Streaming analytics: Flink windows over streams, and Kafka on MSK
#
# Kinesis Data Streams keeps an ordered log of records (lesson 03). Analytics on that log asks
# questions over **time**: the average temperature per sensor per minute, the five products
# ordered most in the last five minutes. This lesson answers them with **Amazon Managed Service
# for Apache Flink**, AWS's service for running Apache Flink applications, then meets the other
# log AWS runs, **Apache Kafka on Amazon MSK**, and compares the two by trying them. You will see:
#
# 1. which service: Kinesis Data Analytics for SQL is retired;
# 2. a Flink job: source, timestamps and watermarks, keyed windows, a sink;
# 3. **event time** against **processing time**, **watermarks** and **late events**: dropped,
#    sent to a side output, or allowed; the window view: open windows, the watermark, late
#    events, a live plot;
# 4. **sliding windows**: the top five products per five minutes;
# 5. **Kafka on MSK**: topics with partitions, keyed producers, a consumer group that commits
#    after processing and rebalances when a consumer leaves; the topic view;
# 6. **Kinesis or MSK**: record size, retention, shards against partitions, consumers, measured.

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

lab = labkit.start("streaming_analytics")
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
lab.window_view("averages", hold=True)

# %% [markdown]
# The view (held: it keeps this moment) shows each window that still holds state, the
# watermark, and the late readings: each
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
# The window view of `top-products` is live: it follows the application as the lab goes on. It
# shows the sliding windows that still hold counts (each order sits in five of them), the
# ranking windows, and what the sink wrote for each window that closed.
#
# ## 5. Kafka on Amazon MSK
#
# **Amazon MSK** runs Apache Kafka: a cluster of brokers (provisioned, you choose how many and
# how big) or **MSK Serverless** (no brokers to choose; clients must use IAM). The control plane
# is the `kafka` API; the data plane is Kafka's own protocol, which the real `kafka-python`
# client speaks here to brokers embedded in the sandbox.

# %%
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

msk = lab.client("kafka")
SUBNETS = ["subnet-a", "subnet-b", "subnet-c"]
cluster_arn = msk.create_cluster(
    ClusterName="shop",
    KafkaVersion="3.6.0",
    NumberOfBrokerNodes=3,
    BrokerNodeGroupInfo={"InstanceType": "kafka.m5.large", "ClientSubnets": SUBNETS},
    EncryptionInfo={"EncryptionInTransit": {"ClientBroker": "TLS_PLAINTEXT"}},
)["ClusterArn"]
boot = msk.get_bootstrap_brokers(ClusterArn=cluster_arn)["BootstrapBrokerString"]
serverless = msk.create_cluster_v2(
    ClusterName="events",
    Serverless={
        "VpcConfigs": [{"SubnetIds": SUBNETS}],
        "ClientAuthentication": {"Sasl": {"Iam": {"Enabled": True}}},
    },
)
print("provisioned:", boot.split(",")[0], "...")
print("serverless: ", msk.get_bootstrap_brokers(ClusterArn=serverless["ClusterArn"]))
print(fact("msk.serverless_requires_iam"))

# %% [markdown]
# A **topic** has **partitions**, each an ordered log replicated to `replication_factor`
# brokers. A producer sends each record with a **key**; records with the same key go to the
# same partition, so they stay in order. `acks="all"` waits for every in-sync replica;
# `enable_idempotence=True` makes a retried send land once.

# %%
admin = KafkaAdminClient(bootstrap_servers=boot)
admin.create_topics([NewTopic("clicks", num_partitions=4, replication_factor=3)])
producer = KafkaProducer(bootstrap_servers=boot, acks="all", enable_idempotence=True)
for i in range(200):
    producer.send("clicks", key=f"user-{i % 7}".encode(), value=json.dumps({"n": i}).encode())
producer.flush()

# %% [markdown]
# A **consumer group** shares a topic's partitions among its consumers: each partition goes to
# exactly one consumer of the group, so a group of two reads four partitions two by two, and a
# fifth consumer would get nothing. Each consumer **commits** the offset it has processed up to;
# when a consumer leaves, the group **rebalances** and its partitions go to the others, which
# start at the committed offsets. Commit **after** processing: what was committed was done.
#
# Here each consumer of the group `billing` runs its loop in a thread of its own (a real
# deployment runs each in its own process): poll, process, commit.

# %%
import threading
import time


def consumer():
    return KafkaConsumer(
        bootstrap_servers=boot,
        group_id="billing",
        auto_offset_reset="earliest",
        enable_auto_commit=False,  # we commit, after processing
        max_poll_interval_ms=4000,  # a rebalance waits at most 4 s for a member
        heartbeat_interval_ms=100,
        session_timeout_ms=30000,
    )


processed = {"first": [], "second": []}
members = {"first": consumer(), "second": consumer()}
stops = {name: threading.Event() for name in members}


def run(name):
    member = members[name]
    member.subscribe(["clicks"])
    while not stops[name].is_set():
        batch = member.poll(timeout_ms=100)
        for records in batch.values():
            processed[name].extend(json.loads(r.value)["n"] for r in records)
        if batch:
            member.commit()  # after processing: what is committed was done


def wait_for(condition, seconds=30):
    """Real clients in threads: wait (at most `seconds` of wall time) until `condition()`."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


threads = {name: threading.Thread(target=run, args=(name,)) for name in members}
for thread in threads.values():
    thread.start()
wait_for(
    lambda: (
        all(m.assignment() for m in members.values())
        and sum(len(v) for v in processed.values()) == 200
    )
)
for name, member in members.items():
    print(name, "owns", sorted(tp.partition for tp in member.assignment()))
print({name: len(values) for name, values in processed.items()}, "records processed")

# %% [markdown]
# Now the first consumer leaves (it stops and closes, so it tells the group), more records
# arrive, and the second consumer takes all four partitions from the committed offsets: nothing
# is read twice and nothing is missed.

# %%
stops["first"].set()
threads["first"].join()
members["first"].close()
for i in range(200, 300):
    producer.send("clicks", key=f"user-{i % 7}".encode(), value=json.dumps({"n": i}).encode())
producer.flush()
wait_for(lambda: len(processed["first"]) + len(processed["second"]) == 300)
every = sorted(processed["first"] + processed["second"])
print("second owns", sorted(tp.partition for tp in members["second"].assignment()))
print("each record processed once:", every == list(range(300)))
lab.kafka_view("shop")

# %% [markdown]
# The topic view lists each partition with its leader, replicas and offsets, and each consumer
# group with the owner of each partition, its committed offset and its **lag** (records not yet
# processed): 0 everywhere, each marked ✓. Under it, the group's rebalances over lab time: who
# joined or left, and who got which partitions.
#
# ## 6. Kinesis or MSK: measure them
#
# Both keep an ordered, replayable log; they differ in limits you can try. Each cell below
# records what happened in `measured`, and the comparison at the end is built from it.

# %%
measured = {}
kinesis.create_stream(StreamName="measure", ShardCount=1)
try:  # a record just over 1 MiB
    kinesis.put_record(StreamName="measure", Data=b"x" * (1024 * 1024 + 1), PartitionKey="a")
    measured["kinesis record over 1 MiB"] = "accepted"
except kinesis.exceptions.ClientError as error:
    measured["kinesis record over 1 MiB"] = f"refused: {error.response['Error']['Code']}"
try:  # keep records a year and a day
    kinesis.increase_stream_retention_period(StreamName="measure", RetentionPeriodHours=8761)
    measured["kinesis retention 8761 h"] = "accepted"
except kinesis.exceptions.InvalidArgumentException as error:
    measured["kinesis retention 8761 h"] = f"refused: {error.response['Error']['Message']}"
admin.create_topics(
    [
        NewTopic(
            "scans", num_partitions=2, replication_factor=3, topic_configs={"retention.ms": "-1"}
        )
    ]
)
measured["kafka topic retention.ms=-1"] = "accepted: kept until deleted"
kinesis.update_shard_count(StreamName="measure", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
lab.clock.advance(60)
kinesis.update_shard_count(StreamName="measure", TargetShardCount=1, ScalingType="UNIFORM_SCALING")
measured["kinesis shards 1 -> 2 -> 1"] = "accepted both ways"
for what, result in measured.items():
    print(f"{what:32} {result}")

# %% [markdown]
# What you measured, with the numbers behind it:
#
# - **Record size**: a Kinesis record is at most 1 MiB by default (a stream can raise it to
#   10 MiB); a Kafka topic sets its own `max.message.bytes` (MSK Serverless up to 8 MiB).
# - **Retention**: Kinesis keeps records at most 365 days; a Kafka topic keeps them as long as
#   `retention.ms` says, without limit if it is -1 (MSK Serverless too).
# - **Shards and partitions**: a Kinesis stream scales its shards up *and down* (or on its own,
#   on-demand); a Kafka topic's partitions can only be added (Kafka has no way to remove one),
#   and on a provisioned cluster the brokers are yours to size.
# - **Consumers**: all standard consumers of a shard share its read throughput; enhanced
#   fan-out gives each of a few consumers its own. Every Kafka consumer group reads the whole
#   topic at its own pace.

# %%
for key in (
    "kinesis.max_record_size_default",
    "kinesis.max_record_size_configurable",
    "msk.serverless_max_message_bytes",
    "kinesis.retention_max",
    "msk.serverless_retention_unlimited",
    "kinesis.shard_read_bytes_per_second",
    "kinesis.efo_max_consumers_per_stream",
):
    print(fact(key))
producer.close()
stops["second"].set()
threads["second"].join()
members["second"].close()
admin.close()

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
# - **MSK** runs Kafka: a topic's partitions are ordered logs; keys keep a customer's records
#   in one partition; a consumer group gives each partition to one consumer, so consumers beyond
#   the partitions sit idle; commit **after** processing and a rebalance loses nothing.
# - **Kinesis or MSK**: decided by what one cannot do: records over 10 MiB, retention past
#   365 days, brokers to size, partitions that only grow, consumers sharing a shard's reads.
