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
# A correct submission written differently from the solution: a prefixed key, smaller batches
# with a fixed one-second back-off, a consumer that follows `describe_stream` and walks each
# shard's lineage recursively, and the (older) S3 destination with expressions in its prefixes.

# %%
import labkit

lab = labkit.start("streaming")


# %%
def partition_key(reading):
    return "truck/" + str(reading["truck_id"])


# %%
def put_all(kinesis, stream_name, records, clock):
    queue = list(records)
    while queue:
        batch = queue[:250]
        response = kinesis.put_records(StreamName=stream_name, Records=batch)
        refused = [r for r, res in zip(batch, response["Records"]) if res.get("ErrorCode")]
        queue = refused + queue[250:]
        if response["FailedRecordCount"]:
            clock.advance(1.0)


# %%
def read_new(kinesis, stream_name, checkpoints):
    shards = kinesis.describe_stream(StreamName=stream_name)["StreamDescription"]["Shards"]
    by_id = {s["ShardId"]: s for s in shards}
    finished = set()
    out = []

    def drain(shard_id):
        if shard_id in finished:
            return
        shard = by_id[shard_id]
        for parent in (shard.get("ParentShardId"), shard.get("AdjacentParentShardId")):
            if parent in by_id:
                drain(parent)
        kind = {"ShardIteratorType": "TRIM_HORIZON"}
        if shard_id in checkpoints:
            kind = {
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                "StartingSequenceNumber": checkpoints[shard_id],
            }
        iterator = kinesis.get_shard_iterator(StreamName=stream_name, ShardId=shard_id, **kind)[
            "ShardIterator"
        ]
        while iterator is not None:
            page = kinesis.get_records(ShardIterator=iterator, Limit=100)
            out.extend(page["Records"])
            if page["Records"]:
                checkpoints[shard_id] = page["Records"][-1]["SequenceNumber"]
            if page.get("MillisBehindLatest", 0) == 0 and not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
        finished.add(shard_id)

    for shard in shards:
        drain(shard["ShardId"])
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
            "Prefix": "trucks/raw/!{timestamp:yyyy/MM/dd}/",
            "ErrorOutputPrefix": "trucks/errors/!{firehose:error-output-type}/!{timestamp:yyyy}/",
            "CompressionFormat": "GZIP",
            "BufferingHints": {"IntervalInSeconds": 45, "SizeInMBs": 1},
        },
    )
