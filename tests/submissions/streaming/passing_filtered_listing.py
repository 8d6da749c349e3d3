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
# A correct submission written unlike the solution: a key that keeps the truck id inside a
# longer string, `put_record` one record at a time with a back-off only on throttling, a
# consumer that lists shards with `ShardFilter={"Type": "FROM_TRIM_HORIZON"}` and orders them by
# their lineage, reading each until a page comes back empty, and an ExtendedS3 destination
# created without buffering hints whose buffer is set later with an `S3DestinationUpdate`.

# %%
from botocore.exceptions import ClientError

import labkit

lab = labkit.start("streaming")


# %%
def partition_key(reading):
    return f"fleet:{reading['truck_id']}:gps"


# %%
def put_all(kinesis, stream_name, records, clock):
    for record in records:
        pause = 0.2
        while True:
            try:
                kinesis.put_record(
                    StreamName=stream_name,
                    Data=record["Data"],
                    PartitionKey=record["PartitionKey"],
                )
                break
            except ClientError as error:
                if error.response["Error"]["Code"] != "ProvisionedThroughputExceededException":
                    raise
                clock.advance(pause)
                pause = min(pause * 2, 3.0)


# %%
def lineage_order(shards):
    """Shards with every parent before its children (a topological order)."""
    by_id = {s["ShardId"]: s for s in shards}
    ordered, seen = [], set()

    def visit(shard):
        if shard["ShardId"] in seen:
            return
        seen.add(shard["ShardId"])
        for key in ("ParentShardId", "AdjacentParentShardId"):
            if shard.get(key) in by_id:
                visit(by_id[shard[key]])
        ordered.append(shard)

    for shard in sorted(shards, key=lambda s: s["ShardId"], reverse=True):
        visit(shard)
    return ordered


def read_new(kinesis, stream_name, checkpoints):
    listed = kinesis.list_shards(StreamName=stream_name, ShardFilter={"Type": "FROM_TRIM_HORIZON"})
    out = []
    for shard in lineage_order(listed["Shards"]):
        sid = shard["ShardId"]
        if sid in checkpoints:
            iterator = kinesis.get_shard_iterator(
                StreamName=stream_name,
                ShardId=sid,
                ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                StartingSequenceNumber=checkpoints[sid],
            )["ShardIterator"]
        else:
            iterator = kinesis.get_shard_iterator(
                StreamName=stream_name, ShardId=sid, ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=25)
            if not page["Records"]:
                break
            out.extend(page["Records"])
            checkpoints[sid] = page["Records"][-1]["SequenceNumber"]
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
            "ErrorOutputPrefix": "trucks/errors/!{firehose:error-output-type}/",
            "CompressionFormat": "GZIP",
        },
    )
    stream = firehose.describe_delivery_stream(DeliveryStreamName="truck-archive")
    stream = stream["DeliveryStreamDescription"]
    firehose.update_destination(
        DeliveryStreamName="truck-archive",
        CurrentDeliveryStreamVersionId=stream["VersionId"],
        DestinationId=stream["Destinations"][0]["DestinationId"],
        S3DestinationUpdate={"BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 5}},
    )
