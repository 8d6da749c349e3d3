"""Amazon Data Firehose to S3 as AWS runs it: each test shows behaviour stock moto lacks."""

from __future__ import annotations

import gzip
import re
from datetime import datetime, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

from labkit.lab import Lab
from labkit.services.firehose.patch import (
    error_output_prefix,
    firehose_buffer,
    java_datetime_format,
    object_prefix,
)

BUCKET = "lab-firehose-bucket"
ROLE = "arn:aws:iam::123456789012:role/firehose"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture
def s3(lab: Lab) -> Any:
    s3 = lab.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return s3


def create(lab: Lab, name: str = "hose", **destination: Any) -> None:
    config = {"BucketARN": f"arn:aws:s3:::{BUCKET}", "RoleARN": ROLE, **destination}
    lab.client("firehose").create_delivery_stream(
        DeliveryStreamName=name, ExtendedS3DestinationConfiguration=config
    )


def keys(s3: Any, prefix: str = "") -> list[str]:
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return [o["Key"] for o in listing.get("Contents", [])]


def body(s3: Any, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())


def put(lab: Lab, *records: bytes, name: str = "hose") -> None:
    lab.client("firehose").put_record_batch(
        DeliveryStreamName=name, Records=[{"Data": r} for r in records]
    )


# -- buffering ----------------------------------------------------------------------------------
def test_records_wait_for_the_buffer_interval_then_arrive_as_one_object(lab: Lab, s3: Any) -> None:
    create(lab, BufferingHints={"SizeInMBs": 5, "IntervalInSeconds": 60})
    put(lab, b'{"n":1}')
    lab.clock.advance(30)
    lab.client("firehose").put_record(DeliveryStreamName="hose", Record={"Data": b'{"n":2}'})
    lab.clock.advance(29)
    assert keys(s3) == []
    lab.clock.advance(1)  # 60 s after the oldest record
    [key] = keys(s3)
    # Concatenated as given: Firehose adds no separator between records.
    assert body(s3, key) == b'{"n":1}{"n":2}'


def test_the_default_buffer_is_5_mib_or_300_seconds(lab: Lab, s3: Any) -> None:
    create(lab)
    hints = lab.client("firehose").describe_delivery_stream(DeliveryStreamName="hose")[
        "DeliveryStreamDescription"
    ]["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert hints["BufferingHints"] == {"SizeInMBs": 5, "IntervalInSeconds": 300}
    assert hints["CompressionFormat"] == "UNCOMPRESSED"
    put(lab, b"a")
    lab.clock.advance(299)
    assert keys(s3) == []
    lab.clock.advance(1)
    assert len(keys(s3)) == 1


def test_a_full_buffer_is_delivered_at_once(lab: Lab, s3: Any) -> None:
    create(lab, BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 900})
    chunk = b"x" * 400_000
    put(lab, chunk, chunk)
    assert keys(s3) == []
    put(lab, chunk, b"tail")  # the third chunk crosses 1 MiB: delivered now
    [key] = keys(s3)
    assert len(body(s3, key)) == 1_200_000
    assert firehose_buffer(lab.sandbox, "hose").records == [b"tail"]


def test_gzip_objects_are_real_gzip_ending_in_gz(lab: Lab, s3: Any) -> None:
    create(lab, CompressionFormat="GZIP", BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 60})
    put(lab, b"line 1\n", b"line 2\n")
    lab.clock.advance(60)
    [key] = keys(s3)
    assert key.endswith(".gz")
    raw = body(s3, key)
    assert raw[:2] == b"\x1f\x8b"
    assert gzip.decompress(raw) == b"line 1\nline 2\n"


def test_zero_interval_delivers_each_batch_at_once(lab: Lab, s3: Any) -> None:
    create(lab, CompressionFormat="GZIP", BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 0})
    put(lab, b"a", b"b")
    put(lab, b"c")
    assert sorted(gzip.decompress(body(s3, k)) for k in keys(s3)) == [b"ab", b"c"]


# -- keys ---------------------------------------------------------------------------------------
def test_the_default_key_is_the_utc_hour_then_name_version_time_uuid(lab: Lab, s3: Any) -> None:
    create(lab, BufferingHints={"SizeInMBs": 5, "IntervalInSeconds": 120})
    lab.clock.advance(59 * 60 + 30)  # 09:59:30
    put(lab, b"a")
    assert keys(s3) == []
    lab.clock.advance(120)  # delivered at 10:01:30, named after the oldest record
    [key] = keys(s3)
    assert re.fullmatch(rf"2026/01/05/09/hose-1-2026-01-05-09-59-30-{UUID}", key)


def test_a_prefix_without_timestamp_expressions_gets_the_time_appended(lab: Lab, s3: Any) -> None:
    create(
        lab,
        Prefix="raw/!{firehose:random-string}/",
        ErrorOutputPrefix="errors/!{firehose:error-output-type}/",
        BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 60},
    )
    put(lab, b"a")
    lab.clock.advance(60)
    [key] = keys(s3)
    assert re.fullmatch(
        rf"raw/[0-9a-f-]{{11}}/2026/01/05/09/hose-1-2026-01-05-09-00-00-{UUID}", key
    )


def test_a_custom_prefix_with_expressions(lab: Lab, s3: Any) -> None:
    create(
        lab,
        Prefix="year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/",
        ErrorOutputPrefix="errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/",
        BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 60},
    )
    put(lab, b"a")
    lab.clock.advance(60)
    [key] = keys(s3)
    assert re.fullmatch(rf"year=2026/month=01/day=05/hose-1-2026-01-05-09-00-00-{UUID}", key)


@pytest.mark.parametrize(
    ("prefix", "error_prefix"),
    [
        ("logs/!{timestamp:yyyy}/", None),  # expressions need an ErrorOutputPrefix
        ("logs/", "errors/!{timestamp:yyyy}/"),  # an expression but no error-output-type
        ("logs/!{firehose:error-output-type}/", "errors/!{firehose:error-output-type}/"),
        ("logs/!{nope:x}/", "errors/!{firehose:error-output-type}/"),
    ],
)
def test_invalid_prefixes_are_refused(
    lab: Lab, s3: Any, prefix: str, error_prefix: str | None
) -> None:
    extra = {"ErrorOutputPrefix": error_prefix} if error_prefix else {}
    with pytest.raises(ClientError) as excinfo:
        create(lab, Prefix=prefix, **extra)
    assert excinfo.value.response["Error"]["Code"] == "InvalidArgumentException"


def test_buffer_hints_beyond_the_documented_range_are_refused(lab: Lab, s3: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        create(lab, BufferingHints={"SizeInMBs": 129, "IntervalInSeconds": 60})
    assert excinfo.value.response["Error"]["Code"] == "ValidationException"


def test_the_version_in_keys_follows_update_destination(lab: Lab, s3: Any) -> None:
    create(lab, BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 60})
    firehose = lab.client("firehose")
    description = firehose.describe_delivery_stream(DeliveryStreamName="hose")[
        "DeliveryStreamDescription"
    ]
    firehose.update_destination(
        DeliveryStreamName="hose",
        CurrentDeliveryStreamVersionId=description["VersionId"],
        DestinationId=description["Destinations"][0]["DestinationId"],
        ExtendedS3DestinationUpdate={"BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 120}},
    )
    put(lab, b"a")
    lab.clock.advance(60)
    assert keys(s3) == []  # the new interval applies
    lab.clock.advance(60)
    [key] = keys(s3)
    assert "/hose-2-" in key


def test_prefix_evaluation_follows_the_documented_examples() -> None:
    # https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html, "Example prefixes".
    when = datetime(2018, 7, 6, 23, 30, tzinfo=timezone.utc)
    assert (
        object_prefix(
            "myPrefix/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"
            "hour=!{timestamp:HH}/",
            when,
        )
        == "myPrefix/year=2018/month=07/day=06/hour=23/"
    )
    assert (
        error_output_prefix(
            None,
            "myErrorPrefix/!{timestamp:'year='yyyy'/month='MM'/day='dd'/hour='HH}/"
            "!{firehose:error-output-type}",
            when,
            "processing-failed",
        )
        == "myErrorPrefix/year=2018/month=07/day=06/hour=23/processing-failed"
    )
    assert object_prefix(None, when) == "2018/07/06/23/"
    assert error_output_prefix("myFirehosePrefix/", None, when, "processing-failed") == (
        "myFirehosePrefix/processing-failed/2018/07/06/23/"
    )
    assert java_datetime_format("yy-M-d H:m:s 'at' ''", when) == "18-7-6 23:30:0 at '"


# -- Kinesis data stream as source --------------------------------------------------------------
def kinesis_source(lab: Lab, **destination: Any) -> Any:
    kinesis = lab.client("kinesis")
    kinesis.create_stream(StreamName="events", ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName="events")["StreamDescriptionSummary"][
        "StreamARN"
    ]
    kinesis.put_record(StreamName="events", Data=b"before\n", PartitionKey="k")
    config = {"BucketARN": f"arn:aws:s3:::{BUCKET}", "RoleARN": ROLE, **destination}
    lab.client("firehose").create_delivery_stream(
        DeliveryStreamName="from-kinesis",
        DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": arn, "RoleARN": ROLE},
        ExtendedS3DestinationConfiguration=config,
    )
    return kinesis


def test_records_put_into_a_source_stream_reach_s3_through_the_buffer(lab: Lab, s3: Any) -> None:
    kinesis = kinesis_source(lab, BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 60})
    kinesis.put_records(
        StreamName="events",
        Records=[{"Data": f"event {i}\n".encode(), "PartitionKey": f"k{i}"} for i in range(3)],
    )
    kinesis.put_record(StreamName="events", Data=b"event 3\n", PartitionKey="k")
    assert keys(s3) == []
    lab.clock.advance(60)
    [key] = keys(s3)
    assert key.startswith("2026/01/05/09/from-kinesis-1-2026-01-05-09-00-00-")
    # Firehose starts at LATEST: the record written before it existed is not delivered.
    assert body(s3, key) == b"event 0\nevent 1\nevent 2\nevent 3\n"


def test_put_record_on_a_kinesis_sourced_delivery_stream_is_refused(lab: Lab, s3: Any) -> None:
    kinesis_source(lab)
    with pytest.raises(ClientError) as excinfo:
        put(lab, b"x", name="from-kinesis")
    assert excinfo.value.response["Error"] == {
        "Code": "InvalidArgumentException",
        "Message": "This operation is not permitted on KinesisStreamAsSource delivery stream type.",
    }


def test_firehose_reading_a_stream_uses_one_of_its_five_reads_a_second(lab: Lab, s3: Any) -> None:
    from botocore.config import Config

    kinesis_source(lab)
    kinesis = lab.sandbox.session().client(
        "kinesis", config=Config(retries={"total_max_attempts": 1})
    )
    iterator = kinesis.get_shard_iterator(
        StreamName="events", ShardId="shardId-000000000000", ShardIteratorType="LATEST"
    )["ShardIterator"]
    for _ in range(4):
        iterator = kinesis.get_records(ShardIterator=iterator)["NextShardIterator"]
    with pytest.raises(ClientError) as excinfo:
        kinesis.get_records(ShardIterator=iterator)
    assert excinfo.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"


# -- isolation ----------------------------------------------------------------------------------
def test_reset_drops_what_was_buffered(lab: Lab, s3: Any) -> None:
    create(lab, BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 60})
    put(lab, b"before reset")
    lab.reset()
    s3 = lab.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    create(lab, BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 120})
    lab.clock.advance(60)
    assert keys(s3) == []  # the old stream's pending delivery went with the reset
    put(lab, b"after reset")
    assert keys(s3) == []
    lab.clock.advance(120)
    assert [body(s3, k) for k in keys(s3)] == [b"after reset"]


def test_a_checks_isolated_world_leaves_the_learners_buffer_alone(lab: Lab, s3: Any) -> None:
    create(lab, BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 60})
    put(lab, b"learner")
    assert keys(s3) == []
    with lab.sandbox.isolated() as world:
        world.client("s3").create_bucket(Bucket=BUCKET)
        create(lab, BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 60})
        put(lab, b"check")
        world.clock.advance(60)
        assert [body(world.client("s3"), k) for k in keys(world.client("s3"))] == [b"check"]
    assert keys(s3) == []
    lab.clock.advance(60)
    assert [body(s3, k) for k in keys(s3)] == [b"learner"]


def test_a_missing_bucket_keeps_the_data_buffered_until_it_exists(lab: Lab) -> None:
    create(lab, BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 60})
    put(lab, b"kept")  # accepted: delivery to S3 happens later, and is retried
    lab.clock.advance(60)
    buffer = firehose_buffer(lab.sandbox, "hose")
    assert buffer.records == [b"kept"]
    assert buffer.last_error is not None and buffer.last_error.startswith("NoSuchBucket")
    s3 = lab.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    lab.clock.advance(60)
    assert [body(s3, k) for k in keys(s3)] == [b"kept"]
    assert firehose_buffer(lab.sandbox, "hose").last_error is None


@pytest.mark.parametrize(
    ("created_with", "update"),
    [
        ("S3DestinationConfiguration", "ExtendedS3DestinationUpdate"),
        ("ExtendedS3DestinationConfiguration", "S3DestinationUpdate"),
        ("S3DestinationConfiguration", "S3DestinationUpdate"),
    ],
)
def test_update_destination_merges_into_the_s3_destination_whichever_spelling(
    lab: Lab, s3: Any, created_with: str, update: str
) -> None:
    # "If the destination type is the same, Firehose merges the configuration parameters
    # specified with the destination configuration that already exists" (UpdateDestination).
    firehose = lab.client("firehose")
    firehose.create_delivery_stream(
        DeliveryStreamName="hose",
        **{
            created_with: {
                "BucketARN": f"arn:aws:s3:::{BUCKET}",
                "RoleARN": ROLE,
                "Prefix": "kept/",
            }
        },
    )
    description = firehose.describe_delivery_stream(DeliveryStreamName="hose")[
        "DeliveryStreamDescription"
    ]
    firehose.update_destination(
        DeliveryStreamName="hose",
        CurrentDeliveryStreamVersionId=description["VersionId"],
        DestinationId=description["Destinations"][0]["DestinationId"],
        **{update: {"BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 1}}},
    )
    destination = firehose.describe_delivery_stream(DeliveryStreamName="hose")[
        "DeliveryStreamDescription"
    ]["Destinations"][0]
    for described in ("S3DestinationDescription", "ExtendedS3DestinationDescription"):
        if described in destination:
            assert destination[described]["RoleARN"] == ROLE
            assert destination[described]["Prefix"] == "kept/"
            assert destination[described]["BufferingHints"]["IntervalInSeconds"] == 60
    put(lab, b"a")
    lab.clock.advance(60)
    assert [k.split("/")[0] for k in keys(s3)] == ["kept"]
