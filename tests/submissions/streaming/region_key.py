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
# Plausible mistakes: the region as partition key (five values for four shards), a producer that
# retries at once and "waits" with time.sleep (the lab clock never moves), a consumer that
# forgets its checkpoints (reads everything again after a restart), and a delivery stream left
# with the default buffering.

# %%
import time

import labkit

lab = labkit.start("streaming")


# %%
def partition_key(reading):
    return reading["region"]


# %%
def put_all(kinesis, stream_name, records, clock):
    pending = list(records)
    while pending:
        batch, pending = pending[:500], pending[500:]
        while batch:
            response = kinesis.put_records(StreamName=stream_name, Records=batch)
            batch = [r for r, res in zip(batch, response["Records"]) if "ErrorCode" in res]
            if batch:
                time.sleep(0.01)


# %%
def read_new(kinesis, stream_name, checkpoints):
    out = []
    for shard in kinesis.list_shards(StreamName=stream_name)["Shards"]:
        it = kinesis.get_shard_iterator(
            StreamName=stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while it:
            page = kinesis.get_records(ShardIterator=it)
            out.extend(page["Records"])
            if not page["Records"]:
                break
            it = page.get("NextShardIterator")
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
            "CompressionFormat": "GZIP",
        },
    )
