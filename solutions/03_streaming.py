# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Streaming exercise: a telemetry pipeline for 10,000 trucks
#
# Every truck of a fleet sends a GPS reading every few seconds. You build the pipeline that
# carries them: the **partition key** that decides where each reading goes, a **producer** that
# survives a burst, a **consumer** that reads every shard in order and remembers where it
# stopped, and a **Firehose** delivery stream that archives the readings in S3.
#
# Write your code where it says `# YOUR CODE HERE` (replace the `...`), run the cell, then run
# the check below it. Each check calls your function in an empty sandbox of its own, with a
# lab clock of its own, and tells you what it found.

# %%
import gzip

import labkit
from labkit.facts import fact
from labkit.services.kinesis.sim_load import TruckFleet, hottest_share, spread
from labkit.services.kinesis.widget import stream_view

lab = labkit.start("streaming")
kinesis = lab.client("kinesis")
firehose = lab.client("firehose")
s3 = lab.client("s3")
fleet = TruckFleet(10_000)
print(fleet.readings(seconds=5, every=5)[0].as_dict())

# %% [markdown]
# ## Task 1: a partition key for the fleet
#
# Write `partition_key(reading)`: given one reading (a dict like the one printed above), return
# the partition key to put it into the stream with.
#
# - Each truck's readings must be processed **in order** (its `seq`), and Kinesis keeps order
#   only **within a shard**.
# - The load must **spread** over the shards: no shard may take more than one and a half times
#   its fair share.
#
# The check sends readings from 10,000 trucks into a 4-shard stream with your key and
# measures where they land.


# %%
def partition_key(reading):
    """The partition key of one truck reading (a string of 1 to 256 characters)."""
    ### BEGIN SOLUTION
    return reading["truck_id"]
    ### END SOLUTION


# %% [markdown]
# Try it without AWS: `spread` hashes keys with MD5 as Kinesis does and counts the readings per
# shard of a new 4-shard stream.

# %%
sample = fleet.readings(seconds=10, every=5)
keys = [partition_key(r.as_dict()) for r in sample]
if all(isinstance(k, str) for k in keys):
    counts = spread(keys, 4)
    print("readings per shard:", counts, f"· the busiest takes {hottest_share(counts):.0%}")
else:
    print("partition_key does not return a string yet.")

# %%
lab.check("partition_key")

# %% [markdown]
# ## Task 2: a producer that loses nothing in a burst
#
# When trucks come out of a tunnel they send what they recorded meanwhile, all at once. Write
# `put_all(kinesis, stream_name, records, clock)` that writes every entry of `records` (dicts
# with `Data` and `PartitionKey`, ready for `put_records`) into the stream **exactly once**:
#
# - `put_records` takes at most 500 records per call;
# - a shard over its limit does not make `put_records` raise: the response has
#   `FailedRecordCount` > 0, and each refused record's entry in `response["Records"]` has an
#   `ErrorCode`. The other records are written.
# - Back off before retrying with `clock.advance(seconds)`: the lab clock is the only time
#   (`time.sleep` would not move it).
#
# The check sends a 1,500-record burst (about 1.5 KB each) into a stream of one shard.

# %%
print(fact("kinesis.putrecords_max_records"))
print(fact("kinesis.shard_write_bytes_per_second"))


# %%
def put_all(kinesis, stream_name, records, clock):
    """Write every record into the stream exactly once, retrying refused ones with backoff."""
    ### BEGIN SOLUTION
    pending = list(records)
    while pending:
        batch, pending = pending[:500], pending[500:]
        delay = 0.1
        while batch:
            response = kinesis.put_records(StreamName=stream_name, Records=batch)
            if response["FailedRecordCount"] == 0:
                break
            # Retry only the refused records: the others are in the stream already.
            batch = [
                record
                for record, result in zip(batch, response["Records"], strict=True)
                if "ErrorCode" in result
            ]
            clock.advance(delay)
            delay = min(delay * 2, 5.0)
    ### END SOLUTION


# %% [markdown]
# Try it on a stream of your own: how long did the burst take on the lab clock?

# %%
kinesis.create_stream(StreamName="burst-demo", ShardCount=1)
burst = fleet.burst(1_500, trucks=150)
entries = [{"Data": r.data(history=70), "PartitionKey": r.truck_id} for r in burst]
before = lab.clock.now
put_all(kinesis, "burst-demo", entries, lab.clock)
print("lab time the burst took:", lab.clock.now - before)
stream_view(lab, "burst-demo", hold=True)  # the stream as the burst left it

# %%
lab.check("producer")

# %% [markdown]
# ## Task 3: a consumer that reads in order and checkpoints
#
# Write `read_new(kinesis, stream_name, checkpoints)`: return the records of the stream that the
# consumer has not processed yet, oldest first, and record its progress in `checkpoints` (a dict
# you keep: shard id -> the sequence number of the last record you returned from that shard).
#
# - The stream may have been **resharded**: closed parent shards keep their records, and a truck's
#   older readings are in a parent while its newer ones are in a child. Read a parent before its
#   children, and list the closed shards too (`ShardFilter={"Type": "AT_LATEST"}` lists only the
#   open ones).
# - The consumer may **restart** with only `checkpoints` (iterators expire after five minutes).
# - An **open** shard always returns a `NextShardIterator`: stop reading it when you have caught
#   up (`MillisBehindLatest` is 0, or a call returns no records). While `MillisBehindLatest` is
#   above 0, records remain after the page you got (a page ends at its `Limit`).
#
# The check reshards its stream twice and restarts your consumer in between.

# %%
print(fact("kinesis.shard_iterator_expiry"))


# %%
def read_new(kinesis, stream_name, checkpoints):
    """The records not processed yet, every shard in order; updates `checkpoints`."""
    ### BEGIN SOLUTION
    got = []
    shards = kinesis.list_shards(StreamName=stream_name)["Shards"]
    done = set()
    # Parents before children: a shard waits until the shards it came from are read.
    while len(done) < len(shards):
        for shard in shards:
            shard_id = shard["ShardId"]
            parents = {shard.get("ParentShardId"), shard.get("AdjacentParentShardId")}
            known = {s["ShardId"] for s in shards}
            if shard_id in done or (parents & known) - done:
                continue
            if shard_id in checkpoints:
                iterator = kinesis.get_shard_iterator(
                    StreamName=stream_name,
                    ShardId=shard_id,
                    ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                    StartingSequenceNumber=checkpoints[shard_id],
                )["ShardIterator"]
            else:
                iterator = kinesis.get_shard_iterator(
                    StreamName=stream_name, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            while iterator:
                response = kinesis.get_records(ShardIterator=iterator)
                for record in response["Records"]:
                    got.append(record)
                    checkpoints[shard_id] = record["SequenceNumber"]
                if not response["Records"] or response["MillisBehindLatest"] == 0:
                    break  # at the tip of an open shard (a closed one ends without iterator)
                iterator = response.get("NextShardIterator")
            done.add(shard_id)
    return got
    ### END SOLUTION


# %% [markdown]
# Try it: write readings of 50 trucks, read them, reshard, write more, and read again. The
# stream view marks where your checkpoints stand in each shard (▲1).

# %%
kinesis.create_stream(StreamName="telemetry", ShardCount=2)
demo = TruckFleet(50, seed=3)


def send(readings):
    kinesis.put_records(
        StreamName="telemetry",
        Records=[{"Data": r.data(), "PartitionKey": r.truck_id} for r in readings],
    )


send(demo.burst(100))
checkpoints = {}
got = read_new(kinesis, "telemetry", checkpoints) or []
print(len(got), "records read; checkpoints:", checkpoints)
kinesis.update_shard_count(
    StreamName="telemetry", TargetShardCount=4, ScalingType="UNIFORM_SCALING"
)
send(demo.burst(100, first_seq=2))
lab.clock.advance(1)
got = read_new(kinesis, "telemetry", checkpoints) or []
print(len(got), "new records read after the reshard")
view = stream_view(lab, "telemetry", consumers={"read_new": checkpoints}, hold=True)
view

# %%
lab.check("consumer")

# %% [markdown]
# ## Task 4: archive the stream in S3 with Firehose
#
# Write `create_archive(firehose, stream_arn, bucket_arn, role_arn)` that creates the delivery
# stream **`truck-archive`**, which:
#
# - reads the Kinesis data stream `stream_arn` (not Direct PUT);
# - delivers to the bucket `bucket_arn` under the prefix **`trucks/raw/`**, **GZIP**-compressed;
# - buffers for **60 seconds**, so that readings arrive within a minute, in few objects;
# - keeps records it fails to deliver as they are apart, under **`trucks/errors/`**.
#
# Use `role_arn` wherever a role is asked for.

# %%
print(fact("firehose.buffer_interval_default"))
print(fact("firehose.buffer_interval_min"))


# %%
def create_archive(firehose, stream_arn, bucket_arn, role_arn):
    """Create the `truck-archive` delivery stream: Kinesis stream -> S3, GZIP, 60 s buffer."""
    ### BEGIN SOLUTION
    firehose.create_delivery_stream(
        DeliveryStreamName="truck-archive",
        DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": role_arn},
        ExtendedS3DestinationConfiguration={
            "BucketARN": bucket_arn,
            "RoleARN": role_arn,
            "Prefix": "trucks/raw/",
            "ErrorOutputPrefix": "trucks/errors/!{firehose:error-output-type}/",
            "CompressionFormat": "GZIP",
            "BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": 60},
        },
    )
    ### END SOLUTION


# %% [markdown]
# Try it: create the archive for your `telemetry` stream, send readings, and move the clock a
# minute on. The view shows the buffer filling, then the object it delivered.

# %%
s3.create_bucket(Bucket="truck-archive-demo")
stream_arn = kinesis.describe_stream_summary(StreamName="telemetry")["StreamDescriptionSummary"][
    "StreamARN"
]
if "truck-archive" not in firehose.list_delivery_streams()["DeliveryStreamNames"]:
    create_archive(
        firehose,
        stream_arn,
        "arn:aws:s3:::truck-archive-demo",
        "arn:aws:iam::123456789012:role/firehose-truck-archive",
    )
kinesis.put_records(
    StreamName="telemetry",
    Records=[{"Data": r.data(), "PartitionKey": r.truck_id} for r in fleet.burst(50, trucks=50)],
)
lab.clock.advance(30)
view

# %%
lab.clock.advance(30)
for item in s3.list_objects_v2(Bucket="truck-archive-demo").get("Contents", []):
    body = s3.get_object(Bucket="truck-archive-demo", Key=item["Key"])["Body"].read()
    lines = gzip.decompress(body).splitlines() if body[:2] == b"\x1f\x8b" else body.splitlines()
    print(item["Key"], f"{item['Size']:,} bytes,", len(lines), "readings")

# %%
lab.check("archive")

# %% [markdown]
# ## Your score

# %%
lab.score()

# %% [markdown]
# ## Summary
#
# - A partition key with many values that is the same for all of one entity's records (the
#   truck id) keeps each entity's records in order on one shard and spreads the load; a constant
#   or low-cardinality key makes a hot shard, a changing key breaks the order.
# - `put_records` refuses records one by one: check `FailedRecordCount`, retry only the records
#   with an `ErrorCode`, and back off between attempts.
# - A consumer reads every shard, closed parents before their children, and checkpoints sequence
#   numbers (never iterators, which expire) so that it can restart where it stopped.
# - Firehose reads a stream and lands buffered, compressed objects under a prefix you choose,
#   with records it cannot deliver kept apart under an error prefix.
