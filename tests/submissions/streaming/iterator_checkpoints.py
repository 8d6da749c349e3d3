# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   labkit:
#     lab: streaming
#     role: exercise
# ---

# %% [markdown]
# Mostly right, with two subtle mistakes: the consumer checkpoints shard iterators instead of
# sequence numbers (they expire after five minutes), and the delivery stream has no error output
# prefix, so failed records would land inside the data's prefix.

# %%
import labkit

lab = labkit.start("streaming")


# %%
def partition_key(reading):
    return reading["truck_id"]


# %%
def put_all(kinesis, stream_name, records, clock):
    for start in range(0, len(records), 500):
        batch, wait = records[start : start + 500], 0.2
        while batch:
            response = kinesis.put_records(StreamName=stream_name, Records=batch)
            batch = [r for r, res in zip(batch, response["Records"]) if "ErrorCode" in res]
            if batch:
                clock.advance(wait)
                wait *= 2


# %%
def read_new(kinesis, stream_name, checkpoints):
    out = []
    for shard in kinesis.list_shards(StreamName=stream_name)["Shards"]:
        sid = shard["ShardId"]
        iterator = checkpoints.get(sid)
        if iterator is None:
            iterator = kinesis.get_shard_iterator(
                StreamName=stream_name, ShardId=sid, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator)
            out.extend(page["Records"])
            if page.get("NextShardIterator"):
                checkpoints[sid] = page["NextShardIterator"]
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return out


# %%
def create_archive(firehose, stream_arn, bucket_arn, role_arn):
    firehose.create_delivery_stream(
        DeliveryStreamName="truck-archive",
        DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": role_arn},
        ExtendedS3DestinationConfiguration={
            "RoleARN": role_arn,
            "BucketARN": bucket_arn,
            "Prefix": "trucks/raw/",
            "CompressionFormat": "GZIP",
            "BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 5},
        },
    )
