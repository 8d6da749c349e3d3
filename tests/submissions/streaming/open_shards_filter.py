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
# Plausible mistakes: a partition key sent as bytes, a producer that retries the first
# FailedRecordCount records of a batch (as if the refused ones came first), a consumer that lists
# only the open shards with `ShardFilter={"Type": "AT_LATEST"}`, and a delivery stream whose S3
# destination uses a role other than the one passed in.

# %%
import labkit

lab = labkit.start("streaming")


# %%
def partition_key(reading):
    return reading["truck_id"].encode("utf-8")


# %%
def put_all(kinesis, stream_name, records, clock):
    for start in range(0, len(records), 500):
        batch = records[start : start + 500]
        while batch:
            failed = kinesis.put_records(StreamName=stream_name, Records=batch)["FailedRecordCount"]
            batch = batch[:failed]
            if batch:
                clock.advance(0.5)


# %%
def read_new(kinesis, stream_name, checkpoints):
    out = []
    listed = kinesis.list_shards(StreamName=stream_name, ShardFilter={"Type": "AT_LATEST"})
    for shard in listed["Shards"]:
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
            page = kinesis.get_records(ShardIterator=iterator)
            out += page["Records"]
            if page["Records"]:
                checkpoints[sid] = page["Records"][-1]["SequenceNumber"]
            if page["MillisBehindLatest"] == 0:
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
            "RoleARN": "arn:aws:iam::123456789012:role/firehose-delivery",
            "BucketARN": bucket_arn,
            "Prefix": "trucks/raw/",
            "ErrorOutputPrefix": "trucks/errors/",
            "CompressionFormat": "GZIP",
            "BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 5},
        },
    )
