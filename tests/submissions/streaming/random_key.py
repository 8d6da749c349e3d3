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
# Plausible mistakes: a random partition key "to spread the load" (a truck's readings land on
# different shards), a producer that never looks at FailedRecordCount, a consumer that reads the
# new (open) shards before the old ones, and a delivery stream without compression.

# %%
import uuid

import labkit

lab = labkit.start("streaming")


# %%
def partition_key(reading):
    return uuid.uuid4().hex


# %%
def put_all(kinesis, stream_name, records, clock):
    for start in range(0, len(records), 500):
        kinesis.put_records(StreamName=stream_name, Records=records[start : start + 500])


# %%
def read_new(kinesis, stream_name, checkpoints):
    shards = kinesis.list_shards(StreamName=stream_name)["Shards"]
    newest_first = sorted(shards, key=lambda s: s["ShardId"], reverse=True)
    out = []
    for shard in newest_first:
        sid = shard["ShardId"]
        if sid in checkpoints:
            it = kinesis.get_shard_iterator(
                StreamName=stream_name,
                ShardId=sid,
                ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                StartingSequenceNumber=checkpoints[sid],
            )["ShardIterator"]
        else:
            it = kinesis.get_shard_iterator(
                StreamName=stream_name, ShardId=sid, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        page = kinesis.get_records(ShardIterator=it)
        for record in page["Records"]:
            out.append(record)
            checkpoints[sid] = record["SequenceNumber"]
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
            "ErrorOutputPrefix": "trucks/errors/",
            "BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 5},
        },
    )
