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
# Plausible mistakes: a numeric partition key (Python's hash of the truck id), a producer that
# retries the refused records once, a tenth of a second later, and then gives up, a consumer
# that reads pages of 10 and stops once it is "less than a second behind" (MillisBehindLatest
# < 1000), and a prefix without its trailing slash.

# %%
import labkit

lab = labkit.start("streaming")


# %%
def partition_key(reading):
    return abs(hash(reading["truck_id"]))


# %%
def put_all(kinesis, stream_name, records, clock):
    for start in range(0, len(records), 500):
        batch = records[start : start + 500]
        results = kinesis.put_records(StreamName=stream_name, Records=batch)["Records"]
        refused = [r for r, res in zip(batch, results) if "ErrorCode" in res]
        if refused:
            clock.advance(0.1)
            kinesis.put_records(StreamName=stream_name, Records=refused)


# %%
def read_new(kinesis, stream_name, checkpoints):
    out = []
    for shard in kinesis.list_shards(StreamName=stream_name)["Shards"]:
        sid = shard["ShardId"]
        args = {"ShardIteratorType": "TRIM_HORIZON"}
        if sid in checkpoints:
            args = {
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                "StartingSequenceNumber": checkpoints[sid],
            }
        iterator = kinesis.get_shard_iterator(StreamName=stream_name, ShardId=sid, **args)[
            "ShardIterator"
        ]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10)
            out += page["Records"]
            if page["Records"]:
                checkpoints[sid] = page["Records"][-1]["SequenceNumber"]
            if page["MillisBehindLatest"] < 1000:
                break  # less than a second behind: caught up
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
            "Prefix": "trucks/raw",
            "ErrorOutputPrefix": "trucks/errors/",
            "CompressionFormat": "GZIP",
            "BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 5},
        },
    )
