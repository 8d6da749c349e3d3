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
# Plausible mistakes: one partition key for the whole fleet (a hot shard), a producer that
# resends the whole batch when some records fail (duplicates), a consumer that reads only the
# open shards (the parents' records are lost after a reshard), and a Direct PUT delivery stream
# that never reads the Kinesis stream.

# %%
import labkit

lab = labkit.start("streaming")


# %%
def partition_key(reading):
    return "truck-fleet"


# %%
def put_all(kinesis, stream_name, records, clock):
    for start in range(0, len(records), 500):
        batch = records[start : start + 500]
        while kinesis.put_records(StreamName=stream_name, Records=batch)["FailedRecordCount"]:
            clock.advance(1)


# %%
def read_new(kinesis, stream_name, checkpoints):
    out = []
    for shard in kinesis.list_shards(StreamName=stream_name)["Shards"]:
        if "EndingSequenceNumber" in shard["SequenceNumberRange"]:
            continue  # closed: "nothing to read there any more"
        sid = shard["ShardId"]
        args = {"ShardIteratorType": "TRIM_HORIZON"}
        if sid in checkpoints:
            args = {
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                "StartingSequenceNumber": checkpoints[sid],
            }
        it = kinesis.get_shard_iterator(StreamName=stream_name, ShardId=sid, **args)[
            "ShardIterator"
        ]
        records = kinesis.get_records(ShardIterator=it)["Records"]
        out += records
        if records:
            checkpoints[sid] = records[-1]["SequenceNumber"]
    return out


# %%
def create_archive(firehose, stream_arn, bucket_arn, role_arn):
    firehose.create_delivery_stream(
        DeliveryStreamName="truck-archive",
        ExtendedS3DestinationConfiguration={
            "RoleARN": role_arn,
            "BucketARN": bucket_arn,
            "Prefix": "trucks/raw/",
            "ErrorOutputPrefix": "trucks/errors/",
            "CompressionFormat": "GZIP",
            "BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 5},
        },
    )
