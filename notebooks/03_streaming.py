# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Streaming: Kinesis Data Streams and Amazon Data Firehose
#
# SQS hands each message to one consumer, which deletes it. SNS pushes each message to every
# subscriber once. **Kinesis Data Streams** does something else: it keeps an **ordered log** of
# records for a while, and any number of consumer applications read it at their own pace, each
# remembering where it is, and may read it again. That is what streaming means here: GPS
# readings from trucks, clicks, logs, metrics, flowing all the time.
#
# This lesson follows a fleet of trucks that report their position. You will see:
#
# 1. the Kinesis family of services;
# 2. streams, **shards** and **partition keys**: where a record goes and what order means;
# 3. what one shard can take, and what happens beyond it;
# 4. a **hot partition key**, plotted against the shard limit;
# 5. provisioned and on-demand streams, and **resharding**;
# 6. **consumers** that read every shard in order and checkpoint;
# 7. **retention** and **replay**, and iterators that expire;
# 8. **Amazon Data Firehose**: buffered, compressed delivery to S3;
# 9. the ordering decision: Kinesis shards or SQS FIFO message groups.

# %%
import gzip
import hashlib
import json

from botocore.exceptions import ClientError

import labkit
from labkit.facts import fact
from labkit.services.firehose.patch import error_output_prefix
from labkit.services.kinesis.sim_load import (
    TruckFleet,
    records,
    shard_index,
    ticks,
    uniform_ranges,
)
from labkit.services.kinesis.state import record_throughput
from labkit.services.kinesis.view_throughput import plot_throughput, throughput_text
from labkit.services.kinesis.widget import stream_view

lab = labkit.start("streaming")
kinesis = lab.client("kinesis")

# %% [markdown]
# ## 1. The Kinesis family
#
# - **Kinesis Data Streams** ingests and stores ordered records; you write the consumers (or use
#   Lambda, Firehose or Managed Service for Apache Flink as consumers).
# - **Amazon Data Firehose** loads a stream of records into a data store (S3, Redshift through
#   S3, OpenSearch, Splunk, Datadog, an HTTP endpoint), without code. The course notes call it
#   *Kinesis Data Firehose*: AWS renamed it.
# - **Kinesis Data Analytics** ran SQL or Apache Flink over streams. The notes list it as it
#   was: its SQL flavour is discontinued, and the Flink flavour is now **Amazon Managed Service
#   for Apache Flink**.
# - **Kinesis Video Streams** ingests and stores video.

# %%
print(fact("firehose.service_name"))
print(fact("kinesis_analytics.sql_discontinued"))

# %% [markdown]
# ## 2. Streams, shards and partition keys
#
# A stream is made of **shards**. Each shard owns a range of a 128-bit number space, the
# **hash key** space, and together the open shards cover all of it. A new stream splits it into
# equal ranges:

# %%
kinesis.create_stream(StreamName="trucks", ShardCount=4)
for shard in kinesis.list_shards(StreamName="trucks")["Shards"]:
    start = int(shard["HashKeyRange"]["StartingHashKey"])
    end = int(shard["HashKeyRange"]["EndingHashKey"]) + 1
    print(f"{shard['ShardId']}: hash keys {start / 2**128:.0%} to {end / 2**128:.0%} of the space")

# %% [markdown]
# A producer sends a **record**: a data blob and a **partition key**, a string it chooses.
# Kinesis computes the **MD5 hash** of the partition key, reads it as a 128-bit number, and
# writes the record to the shard whose range holds that number. The same key therefore always
# goes to the same shard (as long as the shards do not change). Let us do the arithmetic for
# truck `T-00042`, then ask Kinesis:

# %%
key = "T-00042"
hashed = int.from_bytes(hashlib.md5(key.encode("utf-8")).digest(), "big")
print(f"MD5({key!r}) = {hashed}, {hashed / 2**128:.1%} of the way through the space")
print("so it belongs to shard number", shard_index(key, uniform_ranges(4)))

answer = kinesis.put_record(StreamName="trucks", Data=b'{"truck_id": "T-00042"}', PartitionKey=key)
print("Kinesis wrote it to", answer["ShardId"], "with sequence number", answer["SequenceNumber"])

# %% [markdown]
# Kinesis answers with a **sequence number**: within a shard, sequence numbers grow in the order
# records were written, and consumers read a shard in that order. **Ordering is per shard**:
# there is no order between records of different shards.
#
# The **stream view** shows it: one lane per shard, each mark a record (oldest left) labelled
# with a letter for its partition key; the meters on the right show the last second of writes
# (W) and reads (R) against the shard's limit. It updates after every cell, and keeps each state
# it showed: its step control (`◀ earlier`, `later ▶`) goes back through them. Further down,
# `view.hold()` shows the stream **held** at the moment its cell ran, as the text around it
# describes it, and `hold=True` does the same for a new view.

# %%
dashboard = {}  # a consumer's checkpoints: shard id -> last sequence number it processed
view = stream_view(lab, "trucks", consumers={"dashboard": dashboard})
view

# %% [markdown]
# Six trucks now report every five seconds for twenty seconds, with their `truck_id` as the
# partition key. The simulator (`TruckFleet`) is seeded, so the run is the same every time; the
# lab clock moves to each reading's time before it is sent.

# %%
six = TruckFleet(6, seed=1)
start = lab.clock.timestamp
for at, group in ticks(six.readings(seconds=20, every=5)):
    lab.clock.advance_to(start + at)
    response = kinesis.put_records(
        StreamName="trucks", Records=records(group, lambda r: r["truck_id"])
    )
print(f"{len(six.readings(seconds=20, every=5))} readings sent; lab time is now {lab.clock.now}")

# %% [markdown]
# Read each shard from its beginning (`TRIM_HORIZON`): every truck's readings come in order
# (`seq0`, `seq1`, ...) because each truck stays on one shard, but each shard interleaves its
# trucks in its own way, and nothing orders one shard against another. (The `T-00042` record
# sent above is there too: it has no `seq`. And with only six keys, MD5 left one shard empty.)

# %%
for shard in kinesis.list_shards(StreamName="trucks")["Shards"]:
    iterator = kinesis.get_shard_iterator(
        StreamName="trucks", ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    got = kinesis.get_records(ShardIterator=iterator)["Records"]
    order = [f"{r['PartitionKey']}:seq{json.loads(r['Data']).get('seq', '?')}" for r in got]
    print(shard["ShardId"], " ".join(order) or "(empty)")

# %% [markdown]
# ## 3. What one shard can take
#
# Capacity comes in shards. Each shard accepts writes up to a size and a record count per
# second, and serves reads up to a size per second and a number of `GetRecords` calls per second.
# The course notes garble the read side ("2MB/sec, or 2MB/sec per share"): the read limit is
# **shared by all standard consumers** of the shard, and only **enhanced fan-out** gives each
# registered consumer its own.

# %%
for fact_id in (
    "kinesis.shard_write_bytes_per_second",
    "kinesis.shard_write_records_per_second",
    "kinesis.shard_read_bytes_per_second",
    "kinesis.shard_read_transactions_per_second",
    "kinesis.getrecords_max_bytes",
    "kinesis.putrecords_max_records",
    "kinesis.efo_read_bytes_per_second_per_consumer",
    "kinesis.efo_max_consumers_per_stream",
):
    print(fact(fact_id))

# %% [markdown]
# Past the write limit, Kinesis refuses the records that do not fit with
# `ProvisionedThroughputExceededException`. `put_records` does **not** raise: it writes what fits,
# counts the refused records in `FailedRecordCount`, and marks each one with an `ErrorCode`. A
# producer must look at every response. On a stream of one shard, three batches of 500 records
# in the same second:

# %%
kinesis.create_stream(StreamName="one", ShardCount=1)
batch = [{"Data": b"x" * 100, "PartitionKey": f"k{i}"} for i in range(500)]
for attempt in range(3):
    response = kinesis.put_records(StreamName="one", Records=batch)
    print(f"batch {attempt + 1}: FailedRecordCount = {response['FailedRecordCount']}")
refused = next(r for r in response["Records"] if "ErrorCode" in r)
print(refused["ErrorCode"], "-", refused["ErrorMessage"])

lab.clock.advance(1)
response = kinesis.put_records(StreamName="one", Records=batch)
print(f"one second later: FailedRecordCount = {response['FailedRecordCount']}")

# %% [markdown]
# Reads have their own limit: a sixth `GetRecords` call on the same shard within one second is
# refused, whoever makes it (that is why consumers poll each shard about once a second).

# %%
iterator = kinesis.get_shard_iterator(
    StreamName="one", ShardId="shardId-000000000000", ShardIteratorType="LATEST"
)["ShardIterator"]
for call in range(1, 7):
    try:
        iterator = kinesis.get_records(ShardIterator=iterator, Limit=1)["NextShardIterator"]
        print(f"GetRecords call {call}: served")
    except ClientError as error:
        print(f"GetRecords call {call}: {error.response['Error']['Code']}")

# %% [markdown]
# **Enhanced fan-out** is the other way to read: a consumer registers with
# `register_stream_consumer` and Kinesis **pushes** records to it over HTTP/2
# (`SubscribeToShard`), with its own read throughput per shard, so consumers no longer share the
# shard's limit (there is a maximum number of registered consumers per stream, printed above).
# The sandbox does not simulate the push itself (`SubscribeToShard`); the labs read with
# `GetRecords`, the standard, shared way.

# %% [markdown]
# ## 4. A hot partition key
#
# A partition key decides the shard, so a key that many records share puts all of them on one
# shard. Here 3,000 trucks report every two seconds into a stream of two shards: first with the
# truck id as the key, then (the mistake) with one key for the whole fleet. A recorder samples
# the shards' meters once a second of lab time.

# %%
kinesis.create_stream(StreamName="fleet", ShardCount=2)
fleet = TruckFleet(3000, seed=7)
recorder = record_throughput(lab.sandbox, "fleet")
start = lab.clock.timestamp
for at, group in ticks(fleet.readings(seconds=8, every=2)):
    lab.clock.advance_to(start + at)
    key_of = (lambda r: r["truck_id"]) if at < 4 else (lambda r: "fleet")
    entries = records(group, key_of)
    for i in range(0, len(entries), 500):
        kinesis.put_records(StreamName="fleet", Records=entries[i : i + 500])
lab.clock.advance(1.5)
recorder.stop()
print(throughput_text(recorder.samples))

# %%
figure = plot_throughput(
    recorder.samples, title="3,000 trucks: truck-id keys for 4 s, then one key for the fleet"
)

# %% [markdown]
# With the truck id as key, both shards carry about half the load, below the limit. With one
# key, everything lands on one shard: it runs at its limit and **refuses the rest** (the
# crosses), while the other shard sits idle. Adding shards would not help: one key always maps to
# one shard. The stream view shows the same thing as a lane full of one letter and a count of
# throttled records (✕):

# %%
stream_view(lab, "fleet", hold=True)

# %% [markdown]
# The fix is a key with **many values** that still groups what must stay in order: the truck
# id. A single truck that sends more than one shard can take (a faulty sensor) is a hot key on
# its own; no choice of shards helps it, only fewer or smaller records from that truck.

# %% [markdown]
# ## 5. Provisioned or on-demand, and adding shards
#
# - **Provisioned**: you choose the number of shards and pay per shard-hour; when the stream is
#   not enough, you add shards (the notes: "add more shard if it's not enough").
# - **On-demand**: Kinesis manages the shards and scales with the traffic; you pay per GB. A new
#   on-demand stream starts with the capacity below and grows after sustained traffic (the
#   sandbox gives an on-demand stream its starting four shards and does not grow it).

# %%
for fact_id in (
    "kinesis.on_demand_default_write_throughput",
    "kinesis.on_demand_max_write_throughput",
    "kinesis.update_shard_count_max_scale_up_factor",
    "kinesis.update_shard_count_calls_per_24h",
):
    print(fact(fact_id))

# %% [markdown]
# Changing a provisioned stream's shard count is **resharding**. `update_shard_count` does it
# with splits and merges (`split_shard` cuts one shard's hash range in two; `merge_shards` joins
# two adjacent ones). A reshard **closes** the old shards (the parents) and opens new ones (the
# children): parents keep their records until retention removes them, and new records go to the
# children only. Double the `trucks` stream and watch the view: four lanes close, eight open.

# %%
kinesis.update_shard_count(StreamName="trucks", TargetShardCount=8, ScalingType="UNIFORM_SCALING")
start = lab.clock.timestamp
for at, group in ticks(six.readings(seconds=10, every=5, first_seq=4)):
    lab.clock.advance_to(start + at)
    kinesis.put_records(StreamName="trucks", Records=records(group, lambda r: r["truck_id"]))
for shard in kinesis.list_shards(StreamName="trucks")["Shards"]:
    closed = "EndingSequenceNumber" in shard["SequenceNumberRange"]
    print(
        shard["ShardId"],
        "closed" if closed else "open  ",
        "parent:",
        shard.get("ParentShardId", "-"),
    )
view.hold()

# %% [markdown]
# A truck's older readings are now in a closed parent and its newer ones in a child. To read
# them **in order across a reshard**, a consumer reads a parent **to its end** before the
# children. At the end of a closed shard `GetRecords` returns no `NextShardIterator` and names
# the `ChildShards`:

# %%
iterator = kinesis.get_shard_iterator(
    StreamName="trucks", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
)["ShardIterator"]
response = kinesis.get_records(ShardIterator=iterator)
print(len(response["Records"]), "records in the closed parent")
print("NextShardIterator" in response, "<- no next iterator: the shard has ended")
print("children:", [child["ShardId"] for child in response["ChildShards"]])

# %% [markdown]
# ## 6. Consumers: every shard, in order, with checkpoints
#
# A consumer application reads **every shard**, each in order, and **checkpoints**: it stores
# the sequence number of the last record it processed in each shard, so that after a crash or a
# deploy it carries on with `AFTER_SEQUENCE_NUMBER` instead of starting over. Here the
# `dashboard` consumer processes two records of shard 0 and checkpoints (its marker ▲1 moves in
# the view); after a "restart" it carries on from the checkpoint.

# %%
iterator = kinesis.get_shard_iterator(
    StreamName="trucks", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
)["ShardIterator"]
for record in kinesis.get_records(ShardIterator=iterator, Limit=2)["Records"]:
    dashboard["shardId-000000000000"] = record["SequenceNumber"]
print("checkpoint:", dashboard)

# ... the consumer restarts: only the checkpoint survives.
iterator = kinesis.get_shard_iterator(
    StreamName="trucks",
    ShardId="shardId-000000000000",
    ShardIteratorType="AFTER_SEQUENCE_NUMBER",
    StartingSequenceNumber=dashboard["shardId-000000000000"],
)["ShardIterator"]
rest = kinesis.get_records(ShardIterator=iterator)["Records"]
print("after the restart it reads", [r["SequenceNumber"] for r in rest])
view.hold()

# %% [markdown]
# Real consumers rarely do this by hand. The **Kinesis Client Library** (KCL) gives each worker
# a lease on some shards, keeps checkpoints in a DynamoDB table and reads parents before
# children. A **Lambda** function with an event source mapping on the stream gets the same:
# Lambda polls each shard, invokes the function with a batch of records in order, and retries a
# failed batch (which holds up that shard until it succeeds or expires). Other consumers:
# Firehose, Managed Service for Apache Flink. One consumer application processes a shard with
# one worker at a time, so the number of shards bounds a consumer's parallelism.

# %% [markdown]
# ## 7. Retention, replay, and iterators that expire
#
# A stream keeps records for its **retention period**, 24 hours unless you raise it; you can
# raise it up to a year. Within it any consumer can **replay**: read again from the oldest
# record (`TRIM_HORIZON`) or from a moment (`AT_TIMESTAMP`), for example after a consumer bug
# processed records wrongly.

# %%
print(fact("kinesis.retention_default"))
print(fact("kinesis.retention_max"))

# %% [markdown]
# A consumer bug starts at 09:10 and is fixed at 09:12: replay from 09:10 with `AT_TIMESTAMP`
# (here on the `one` stream, written to at 09:10, 09:11 and 09:12).

# %%
for minute in (10, 11, 12):
    lab.clock.advance_to(lab.clock.start.timestamp() + minute * 60)
    kinesis.put_record(StreamName="one", Data=f"09:{minute}".encode(), PartitionKey="clock")
bug_started = lab.clock.start.timestamp() + 10 * 60
iterator = kinesis.get_shard_iterator(
    StreamName="one",
    ShardId="shardId-000000000000",
    ShardIteratorType="AT_TIMESTAMP",
    Timestamp=bug_started,
)["ShardIterator"]
replayed = kinesis.get_records(ShardIterator=iterator)["Records"]
print("replayed:", [r["Data"].decode() for r in replayed])

# %% [markdown]
# A **shard iterator expires** five minutes after it is issued (the fact below): a consumer
# that stops for longer must ask for a new one, which is one more reason to checkpoint sequence
# numbers and not iterators.

# %%
print(fact("kinesis.shard_iterator_expiry"))
lab.clock.advance(fact("kinesis.shard_iterator_expiry").value + 1)
try:
    kinesis.get_records(ShardIterator=iterator)
except ClientError as error:
    print(error.response["Error"]["Code"], "-", error.response["Error"]["Message"])

# %% [markdown]
# And past the retention period records are gone, replay or not. Move the clock a day on:

# %%
lab.clock.advance(fact("kinesis.retention_default").value)
iterator = kinesis.get_shard_iterator(
    StreamName="one", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
)["ShardIterator"]
print("records left in `one`:", len(kinesis.get_records(ShardIterator=iterator)["Records"]))

# %% [markdown]
# ## 8. Amazon Data Firehose: streams into S3
#
# Firehose takes records (sent to it directly, or read from a Kinesis data stream) and delivers
# them to a destination in **near real time**: it **buffers** records and writes one object when
# the buffer reaches its **size** or its **interval**, whichever comes first. It can **compress**
# (GZIP), transform records with a Lambda function, and convert formats. The notes say the
# interval has a one-minute minimum: that is out of date, it can now be zero (no buffering).

# %%
for fact_id in (
    "firehose.buffer_size_default",
    "firehose.buffer_size_min",
    "firehose.buffer_size_max",
    "firehose.buffer_interval_default",
    "firehose.buffer_interval_min",
    "firehose.buffer_interval_max",
    "firehose.s3_default_prefix",
):
    print(fact(fact_id))

# %% [markdown]
# A delivery stream that reads the `trucks` stream and lands GZIP objects under `lesson/raw/`,
# buffering for one minute. The stream view now shows its buffer filling under the lanes. (A
# day has passed since the first readings: they are past retention, and the lanes show only the
# new ones.)

# %%
s3 = lab.client("s3")
firehose = lab.client("firehose")
role = "arn:aws:iam::123456789012:role/firehose-lesson"
s3.create_bucket(Bucket="lesson-archive")
trucks_arn = kinesis.describe_stream_summary(StreamName="trucks")["StreamDescriptionSummary"][
    "StreamARN"
]
firehose.create_delivery_stream(
    DeliveryStreamName="trucks-to-s3",
    DeliveryStreamType="KinesisStreamAsSource",
    KinesisStreamSourceConfiguration={"KinesisStreamARN": trucks_arn, "RoleARN": role},
    ExtendedS3DestinationConfiguration={
        "BucketARN": "arn:aws:s3:::lesson-archive",
        "RoleARN": role,
        "Prefix": "lesson/raw/",
        "ErrorOutputPrefix": "lesson/errors/!{firehose:error-output-type}/",
        "CompressionFormat": "GZIP",
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
    },
)
start = lab.clock.timestamp
for at, group in ticks(six.readings(seconds=30, every=5, first_seq=100)):
    lab.clock.advance_to(start + at)
    kinesis.put_records(StreamName="trucks", Records=records(group, lambda r: r["truck_id"]))
view.hold()

# %% [markdown]
# Thirty seconds in, nothing is in S3: the readings wait in the buffer. A minute after the
# oldest one arrived, Firehose writes them as **one** GZIP object, named after the time prefix
# it appends (`YYYY/MM/dd/HH/`, UTC) and the stream:

# %%
lab.clock.advance(60)
for item in s3.list_objects_v2(Bucket="lesson-archive").get("Contents", []):
    body = s3.get_object(Bucket="lesson-archive", Key=item["Key"])["Body"].read()
    lines = gzip.decompress(body).decode().splitlines()
    print(item["Key"])
    print(f"  {item['Size']:,} bytes compressed, {len(lines)} readings; first: {lines[0]}")
view.hold()

# %% [markdown]
# Firehose concatenates records as they are, without separators: the readings here end with a
# newline because the producer put one there.
#
# **Failed records.** When Firehose cannot process records (a Lambda transformation fails, a
# format conversion fails), it writes them under the **error output prefix**, not with the
# data, so that queries over `lesson/raw/` never read broken records; an S3 **backup** can also
# keep every source record. The sandbox delivers without transformations, so no record fails
# here, but this is where they would go:

# %%
print(
    error_output_prefix(
        "lesson/raw/",
        "lesson/errors/!{firehose:error-output-type}/",
        lab.clock.now,
        "processing-failed",
    )
)
without = error_output_prefix("lesson/raw/", None, lab.clock.now, "processing-failed")
print(without, "(without an error output prefix: inside the data's prefix)")

# %% [markdown]
# ## 9. Ordering: Kinesis shards or SQS FIFO message groups?
#
# Both keep records in order **per key**: Kinesis per partition key (within its shard), an SQS
# FIFO queue per **message group id**. The notes put the choice as "a dynamic number of groups:
# SQS FIFO; 10k trucks: Kinesis; a lot of consumers: FIFO, because the number of shards is
# limited". More precisely:
#
# - **Order is kept per**: partition key in Kinesis (a shard holds many keys); message group id
#   in SQS FIFO.
# - **A record is read**: by every consumer application, again and again within retention, in
#   Kinesis; by one consumer, then deleted, in SQS.
# - **Parallel workers of one consumer**: at most one per shard in Kinesis, so you size the
#   shards; in SQS FIFO one per message group in flight, so it grows with the number of groups
#   (this is the notes' "dynamic number of groups").
# - **Throughput**: per shard in Kinesis, add shards for more; per queue in SQS FIFO (printed
#   below), with a high-throughput mode for more.
# - **Replay**: Kinesis can (`TRIM_HORIZON`, `AT_TIMESTAMP`); SQS cannot.
#
# 10,000 trucks fit both: as partition keys over a handful of shards, or as 10,000 message
# groups. Choose **Kinesis** when several applications read the same data, you need replay, or
# the volume is large and steady; choose **SQS FIFO** when each message is a task to do once and
# the number of workers should follow the number of groups without managing shards.

# %%
for fact_id in (
    "sqs.fifo_tps_per_api_action",
    "sqs.fifo_batched_msgs_per_second",
    "sqs.fifo_high_throughput_tps",
    "kinesis.shard_write_records_per_second",
):
    print(fact(fact_id))

# %% [markdown]
# The numbers of this lesson, in one place:

# %%
for fact_id in (
    "kinesis.shard_write_bytes_per_second",
    "kinesis.shard_write_records_per_second",
    "kinesis.shard_read_bytes_per_second",
    "kinesis.shard_read_transactions_per_second",
    "kinesis.efo_read_bytes_per_second_per_consumer",
    "kinesis.retention_default",
    "kinesis.retention_max",
    "kinesis.shard_iterator_expiry",
    "firehose.buffer_interval_min",
    "firehose.buffer_interval_max",
):
    print(fact(fact_id))

# %% [markdown]
# ## Summary
#
# - A Kinesis data stream is an ordered log split into **shards**; the **MD5 hash of the
#   partition key** picks the shard, and **order holds per shard** (sequence numbers), not across
#   the stream.
# - A shard takes a fixed write rate (bytes and records per second) and serves a read rate and a
#   number of `GetRecords` calls per second **shared by all standard consumers**; **enhanced
#   fan-out** gives each registered consumer its own read rate.
# - Past a limit, records are refused with `ProvisionedThroughputExceededException`;
#   `put_records` reports it per record in `FailedRecordCount`, so producers retry the refused
#   records with backoff.
# - A **hot partition key** overloads one shard while the others idle: use a key with many values
#   that groups what must stay in order (the truck id).
# - **Provisioned** streams are resized by resharding (split, merge, `update_shard_count`): parents
#   close and keep their records, children open; read parents to their end before children.
#   **On-demand** streams scale by themselves.
# - Consumers read every shard in order and **checkpoint sequence numbers**, since iterators
#   expire within minutes. Records stay for the **retention period** (a day by default, up to a
#   year) and can be **replayed** from `TRIM_HORIZON` or `AT_TIMESTAMP`.
# - **Firehose** buffers records by size and interval and delivers compressed objects to S3 under
#   a prefix, reading a Kinesis stream or direct puts; failed records go under an error prefix.
# - Per-key order: **Kinesis** for many readers, replay and steady volume; **SQS FIFO** message
#   groups for tasks done once by a pool of workers that follows the number of groups.
#
# Next: open the **streaming exercise** (`exercises/03_streaming.ipynb`).
