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
# A correct submission that names every resource by its ARN: an MD5-hashed key, batches of 100
# sent with `StreamARN`, a consumer that pages `list_shards` (StreamARN, `MaxResults=2`, then
# `NextToken` alone, as AWS requires) and reads with `Limit=20` until MillisBehindLatest is 0,
# and a delivery stream created with the S3 destination whose buffer, compression and error
# prefix are set afterwards with `update_destination`.

# %%
import hashlib

import labkit

lab = labkit.start("streaming")


# %%
def partition_key(reading):
    return hashlib.md5(reading["truck_id"].encode("utf-8")).hexdigest()


# %%
def stream_arn_of(kinesis, stream_name):
    summary = kinesis.describe_stream_summary(StreamName=stream_name)
    return summary["StreamDescriptionSummary"]["StreamARN"]


def put_all(kinesis, stream_name, records, clock):
    arn = stream_arn_of(kinesis, stream_name)
    for start in range(0, len(records), 100):
        batch = records[start : start + 100]
        wait = 0.05
        while batch:
            results = kinesis.put_records(StreamARN=arn, Records=batch)["Records"]
            batch = [r for r, res in zip(batch, results) if "ErrorCode" in res]
            if batch:
                clock.advance(wait)
                wait = min(wait * 3, 2.0)


# %%
def all_shards(kinesis, arn):
    page = kinesis.list_shards(StreamARN=arn, MaxResults=2)
    shards = list(page["Shards"])
    while page.get("NextToken"):
        page = kinesis.list_shards(NextToken=page["NextToken"], MaxResults=2)
        shards += page["Shards"]
    return shards


def read_new(kinesis, stream_name, checkpoints):
    arn = stream_arn_of(kinesis, stream_name)
    out = []
    for shard in all_shards(kinesis, arn):  # shard id order: parents before children
        sid = shard["ShardId"]
        start = {"ShardIteratorType": "TRIM_HORIZON"}
        if sid in checkpoints:
            start = {
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                "StartingSequenceNumber": checkpoints[sid],
            }
        iterator = kinesis.get_shard_iterator(StreamARN=arn, ShardId=sid, **start)["ShardIterator"]
        while iterator:
            page = kinesis.get_records(StreamARN=arn, ShardIterator=iterator, Limit=20)
            for record in page["Records"]:
                out.append(record)
                checkpoints[sid] = record["SequenceNumber"]
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
        S3DestinationConfiguration={
            "RoleARN": role_arn,
            "BucketARN": bucket_arn,
            "Prefix": "trucks/raw/",
        },
    )
    described = firehose.describe_delivery_stream(DeliveryStreamName="truck-archive")
    description = described["DeliveryStreamDescription"]
    firehose.update_destination(
        DeliveryStreamName="truck-archive",
        CurrentDeliveryStreamVersionId=description["VersionId"],
        DestinationId=description["Destinations"][0]["DestinationId"],
        ExtendedS3DestinationUpdate={
            "BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 2},
            "CompressionFormat": "GZIP",
            "ErrorOutputPrefix": "trucks/errors/",
        },
    )
