"""labkit grade on the streaming lab: sample submissions, and the checks against many mistakes.

Each sample submission in tests/submissions/streaming/ is a jupytext percent file of a notebook a
learner might hand in; it is graded in a fresh kernel, as `labkit grade` does. The mistakes are
also fed to the checks directly (functions in a namespace, no kernel), which covers more of them
quickly: every correct alternative must pass and every plausible mistake must fail with a hint
that names it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from grading_support import grade_samples, said, statuses

import labkit
from labkit.grading.notebook import Submission
from labkit.lab import Lab

SAMPLES = Path(__file__).resolve().parent / "submissions" / "streaming"
CHECKS = ("partition_key", "producer", "consumer", "archive")


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Submission]:
    return grade_samples(SAMPLES, tmp_path_factory)


# -- the sample notebooks -----------------------------------------------------------------------
def test_a_correct_alternative_passes_every_check(graded: dict[str, Submission]) -> None:
    sub = graded["passing_alternative"]
    assert sub.error is None and not sub.notes
    assert statuses(sub) == dict.fromkeys(CHECKS, "passed")
    assert sub.score == sub.max_score == 10


@pytest.mark.parametrize("sample", ["passing_arn_spelling", "passing_filtered_listing"])
def test_more_correct_alternatives_pass_every_check(
    graded: dict[str, Submission], sample: str
) -> None:
    sub = graded[sample]
    assert sub.error is None and not sub.notes
    assert statuses(sub) == dict.fromkeys(CHECKS, "passed"), [said(sub, name) for name in CHECKS]
    assert sub.score == sub.max_score == 10


def test_bytes_key_positional_retry_at_latest_and_another_role(
    graded: dict[str, Submission],
) -> None:
    sub = graded["open_shards_filter"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed")
    assert "returned a bytes" in said(sub, "partition_key")
    assert "must be a string, not bytes" in said(sub, "partition_key")
    assert "more than once" in said(sub, "producer")
    assert "same positions" in said(sub, "producer")
    assert "ShardFilter AT_LATEST" in said(sub, "consumer")
    assert "parents closed by a reshard still hold records" in said(sub, "consumer")
    assert "role/firehose-delivery" in said(sub, "archive")
    assert "`role_arn` argument wherever a role is asked for" in said(sub, "archive")


def test_int_key_single_retry_stopped_early_and_prefix_without_slash(
    graded: dict[str, Submission],
) -> None:
    sub = graded["stopped_early"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed")
    assert "returned an int" in said(sub, "partition_key")
    assert "str(...)" in said(sub, "partition_key")
    assert "never reached the stream" in said(sub, "producer")
    assert "until none is left" in said(sub, "producer")
    assert "while GetRecords said MillisBehindLatest" in said(sub, "consumer")
    assert "records remain after the page" in said(sub, "consumer")
    assert "TRIM_HORIZON" not in said(sub, "consumer")
    assert "Prefix=" in said(sub, "archive")


def test_hot_key_whole_batch_retry_open_shards_and_direct_put(
    graded: dict[str, Submission],
) -> None:
    sub = graded["hot_key"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed")
    assert "1 distinct key" in said(sub, "partition_key")
    assert "hot partition key" in said(sub, "partition_key")
    assert "more than once" in said(sub, "producer")
    assert "ErrorCode" in said(sub, "producer")
    assert "were missing" in said(sub, "consumer")
    assert "closed" in said(sub, "consumer")
    assert "KinesisStreamAsSource" in said(sub, "archive")


def test_random_key_ignored_failures_children_first_and_no_gzip(
    graded: dict[str, Submission],
) -> None:
    sub = graded["random_key"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed")
    assert "several shards" in said(sub, "partition_key")
    assert "never reached the stream" in said(sub, "producer")
    assert "FailedRecordCount" in said(sub, "producer")
    assert "in the order 3, 4, 5, 0, 1, 2" in said(sub, "consumer")
    assert "parents before children" in said(sub, "consumer")
    assert "GZIP" in said(sub, "archive")


def test_region_key_busy_retry_lost_checkpoints_and_default_buffer(
    graded: dict[str, Submission],
) -> None:
    sub = graded["region_key"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed")
    assert "5 distinct keys" in said(sub, "partition_key")
    assert "busiest shard" in said(sub, "partition_key")
    assert "without waiting" in said(sub, "producer")
    assert "time.sleep" in said(sub, "producer")
    assert "already returned" in said(sub, "consumer")
    assert "AFTER_SEQUENCE_NUMBER" in said(sub, "consumer")
    assert "300 s (the default)" in said(sub, "archive")


def test_iterators_as_checkpoints_and_no_error_prefix(graded: dict[str, Submission]) -> None:
    sub = graded["iterator_checkpoints"]
    assert statuses(sub) == {
        "partition_key": "passed",
        "producer": "passed",
        "consumer": "failed",
        "archive": "failed",
    }
    assert "ExpiredIteratorException" in said(sub, "consumer")
    assert "not iterators" in said(sub, "consumer")
    assert "trucks/raw/processing-failed" in said(sub, "archive")
    assert sub.score == 5


# -- the checks, directly -----------------------------------------------------------------------
def good_partition_key(reading: dict[str, Any]) -> str:
    return str(reading["truck_id"])


def good_put_all(kinesis: Any, stream_name: str, records: list[Any], clock: Any) -> None:
    pending = list(records)
    while pending:
        batch, pending = pending[:500], pending[500:]
        delay = 0.1
        while batch:
            response = kinesis.put_records(StreamName=stream_name, Records=batch)
            batch = [
                r for r, res in zip(batch, response["Records"], strict=True) if "ErrorCode" in res
            ]
            if batch:
                clock.advance(delay)
                delay *= 2


def read_shards(
    kinesis: Any, stream: str, checkpoints: dict[str, str], shards: list[dict[str, Any]]
) -> list[Any]:
    out = []
    for shard in shards:
        sid = shard["ShardId"]
        where: dict[str, str] = {"ShardIteratorType": "TRIM_HORIZON"}
        if sid in checkpoints:
            where = {
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                "StartingSequenceNumber": checkpoints[sid],
            }
        iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=sid, **where)[
            "ShardIterator"
        ]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator)
            for record in page["Records"]:
                out.append(record)
                checkpoints[sid] = record["SequenceNumber"]
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return out


def good_read_new(kinesis: Any, stream_name: str, checkpoints: dict[str, str]) -> list[Any]:
    shards = kinesis.list_shards(StreamName=stream_name)["Shards"]
    return read_shards(kinesis, stream_name, checkpoints, shards)


def archive(**change: Any) -> Callable[..., None]:
    def create_archive(firehose: Any, stream_arn: str, bucket_arn: str, role_arn: str) -> None:
        destination = {
            "BucketARN": bucket_arn,
            "RoleARN": role_arn,
            "Prefix": "trucks/raw/",
            "ErrorOutputPrefix": "trucks/errors/",
            "CompressionFormat": "GZIP",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
            **change.get("destination", {}),
        }
        for key in change.get("drop", ()):
            destination.pop(key)
        firehose.create_delivery_stream(
            DeliveryStreamName=change.get("name", "truck-archive"),
            DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": role_arn},
            ExtendedS3DestinationConfiguration=destination,
        )

    return create_archive


GOOD = {
    "partition_key": good_partition_key,
    "put_all": good_put_all,
    "read_new": good_read_new,
    "create_archive": archive(),
}


@pytest.fixture
def streaming() -> Iterator[Lab]:
    lab = labkit.start("streaming", quiet=True)
    yield lab
    lab.stop()


def run(lab: Lab, check: str, **functions: Any) -> tuple[str, str]:
    result = lab.check(check, {**GOOD, **functions})
    return result.status, f"{result.message} {result.hint}"


def test_the_reference_functions_pass_every_check(streaming: Lab) -> None:
    for check in CHECKS:
        assert run(streaming, check)[0] == "passed", check


# Correct alternatives.
def hashed_key(reading: dict[str, Any]) -> str:
    return uuid.uuid5(uuid.NAMESPACE_URL, str(reading["truck_id"])).hex


def put_one_by_one(kinesis: Any, stream_name: str, records: list[Any], clock: Any) -> None:
    for record in records:
        while True:
            try:
                kinesis.put_record(
                    StreamName=stream_name,
                    Data=record["Data"],
                    PartitionKey=record["PartitionKey"],
                )
                break
            except ClientError:
                clock.advance(0.5)


def sorted_by_lineage(kinesis: Any, stream_name: str, checkpoints: dict[str, str]) -> list[Any]:
    shards = kinesis.list_shards(StreamName=stream_name)["Shards"]
    shards.sort(key=lambda s: int(s["ShardId"].rsplit("-", 1)[1]))
    return read_shards(kinesis, stream_name, checkpoints, shards)


def data_only(kinesis: Any, stream_name: str, checkpoints: dict[str, str]) -> list[bytes]:
    return [r["Data"] for r in good_read_new(kinesis, stream_name, checkpoints)]


def arn_of(kinesis: Any, stream_name: str) -> str:
    summary = kinesis.describe_stream_summary(StreamName=stream_name)["StreamDescriptionSummary"]
    return str(summary["StreamARN"])


def batches_of_100_by_arn(kinesis: Any, stream_name: str, records: list[Any], clock: Any) -> None:
    arn = arn_of(kinesis, stream_name)
    pending = list(records)
    while pending:
        batch, pending = pending[:100], pending[100:]
        while batch:
            results = kinesis.put_records(StreamARN=arn, Records=batch)["Records"]
            batch = [r for r, res in zip(batch, results, strict=True) if res.get("ErrorCode")]
            if batch:
                clock.advance(0.25)


def limited_reader(limit: int, stop_below: int = 1) -> Callable[..., list[Any]]:
    """A consumer that reads pages of ``limit`` records and stops a shard once
    MillisBehindLatest is below ``stop_below`` (1: the exercise's rule, caught up)."""

    def read_new(kinesis: Any, stream_name: str, checkpoints: dict[str, str]) -> list[Any]:
        out = []
        for shard in kinesis.list_shards(StreamName=stream_name)["Shards"]:
            sid = shard["ShardId"]
            where: dict[str, str] = {"ShardIteratorType": "TRIM_HORIZON"}
            if sid in checkpoints:
                where = {
                    "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                    "StartingSequenceNumber": checkpoints[sid],
                }
            iterator = kinesis.get_shard_iterator(StreamName=stream_name, ShardId=sid, **where)[
                "ShardIterator"
            ]
            while iterator:
                page = kinesis.get_records(ShardIterator=iterator, Limit=limit)
                for record in page["Records"]:
                    out.append(record)
                    checkpoints[sid] = record["SequenceNumber"]
                if page["MillisBehindLatest"] < stop_below:
                    break
                iterator = page.get("NextShardIterator")
        return out

    return read_new


def described_by_arn(kinesis: Any, stream_name: str, checkpoints: dict[str, str]) -> list[Any]:
    arn = arn_of(kinesis, stream_name)
    shards = kinesis.describe_stream(StreamARN=arn)["StreamDescription"]["Shards"]
    return read_shards(kinesis, stream_name, checkpoints, shards)


def paged_one_shard_at_a_time(
    kinesis: Any, stream_name: str, checkpoints: dict[str, str]
) -> list[Any]:
    page = kinesis.list_shards(StreamName=stream_name, MaxResults=1)
    shards = list(page["Shards"])
    while "NextToken" in page:
        page = kinesis.list_shards(NextToken=page["NextToken"], MaxResults=1)
        shards += page["Shards"]
    return read_shards(kinesis, stream_name, checkpoints, shards)


def filtered(shard_filter: dict[str, Any]) -> Callable[..., list[Any]]:
    def read_new(kinesis: Any, stream_name: str, checkpoints: dict[str, str]) -> list[Any]:
        shards = kinesis.list_shards(StreamName=stream_name, ShardFilter=shard_filter)["Shards"]
        return read_shards(kinesis, stream_name, checkpoints, shards)

    return read_new


def paged_naming_the_stream(
    kinesis: Any, stream_name: str, checkpoints: dict[str, str]
) -> list[Any]:
    page = kinesis.list_shards(StreamName=stream_name, MaxResults=2)
    shards = list(page["Shards"])
    while "NextToken" in page:
        page = kinesis.list_shards(StreamName=stream_name, NextToken=page["NextToken"])
        shards += page["Shards"]
    return read_shards(kinesis, stream_name, checkpoints, shards)


def settings_later(update: str, **create: Any) -> Callable[..., None]:
    """An archive created with ``create`` and given its buffer (and the rest) by
    ``update_destination`` with the ``update`` spelling."""

    def create_archive(firehose: Any, stream_arn: str, bucket_arn: str, role_arn: str) -> None:
        firehose.create_delivery_stream(
            DeliveryStreamName="truck-archive",
            DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": role_arn},
            **{
                key: {"RoleARN": role_arn, "BucketARN": bucket_arn, **value}
                for key, value in create.items()
            },
        )
        description = firehose.describe_delivery_stream(DeliveryStreamName="truck-archive")[
            "DeliveryStreamDescription"
        ]
        firehose.update_destination(
            DeliveryStreamName="truck-archive",
            CurrentDeliveryStreamVersionId=description["VersionId"],
            DestinationId=description["Destinations"][0]["DestinationId"],
            **{
                update: {
                    "BufferingHints": {"IntervalInSeconds": 60, "SizeInMBs": 3},
                    "CompressionFormat": "GZIP",
                    "ErrorOutputPrefix": "trucks/errors/",
                }
            },
        )

    return create_archive


def with_roles(source: str | None = None, destination: str | None = None) -> Callable[..., None]:
    def create_archive(firehose: Any, stream_arn: str, bucket_arn: str, role_arn: str) -> None:
        firehose.create_delivery_stream(
            DeliveryStreamName="truck-archive",
            DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={
                "KinesisStreamARN": stream_arn,
                "RoleARN": source or role_arn,
            },
            ExtendedS3DestinationConfiguration={
                "BucketARN": bucket_arn,
                "RoleARN": destination or role_arn,
                "Prefix": "trucks/raw/",
                "ErrorOutputPrefix": "trucks/errors/",
                "CompressionFormat": "GZIP",
                "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
            },
        )

    return create_archive


@pytest.mark.parametrize(
    ("check", "functions"),
    [
        ("partition_key", {"partition_key": hashed_key}),
        (
            "partition_key",
            {"partition_key": lambda r: hashlib.sha256(r["truck_id"].encode()).hexdigest()[:32]},
        ),
        ("partition_key", {"partition_key": lambda r: "-".join(("truck", r["truck_id"]))}),
        ("producer", {"put_all": batches_of_100_by_arn}),
        ("consumer", {"read_new": limited_reader(20)}),
        ("consumer", {"read_new": described_by_arn}),
        ("consumer", {"read_new": paged_one_shard_at_a_time}),
        ("consumer", {"read_new": filtered({"Type": "FROM_TRIM_HORIZON"})}),
        ("consumer", {"read_new": filtered({"Type": "FROM_TIMESTAMP", "Timestamp": 0})}),
        (
            "archive",
            {
                "create_archive": settings_later(
                    "ExtendedS3DestinationUpdate",
                    S3DestinationConfiguration={"Prefix": "trucks/raw/"},
                )
            },
        ),
        (
            "archive",
            {
                "create_archive": settings_later(
                    "S3DestinationUpdate",
                    ExtendedS3DestinationConfiguration={"Prefix": "trucks/raw/"},
                )
            },
        ),
        ("partition_key", {"partition_key": lambda r: f"{r['region']}/{r['truck_id']}"}),
        ("producer", {"put_all": put_one_by_one}),
        ("consumer", {"read_new": sorted_by_lineage}),
        ("consumer", {"read_new": data_only}),
        ("archive", {"create_archive": archive(destination={"CompressionFormat": "GZIP"})}),
        (
            "archive",
            {
                "create_archive": archive(
                    destination={
                        "Prefix": "trucks/raw/!{timestamp:yyyy}/",
                        "ErrorOutputPrefix": "trucks/errors/!{firehose:error-output-type}/",
                        "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 30},
                    }
                )
            },
        ),
    ],
)
def test_correct_alternatives_pass(streaming: Lab, check: str, functions: dict[str, Any]) -> None:
    status, text = run(streaming, check, **functions)
    assert status == "passed", text


# Plausible mistakes, each with what the feedback must name.
def key_of_time(reading: dict[str, Any]) -> str:
    return str(reading["at"])


def one_call(kinesis: Any, stream_name: str, records: list[Any], clock: Any) -> None:
    kinesis.put_records(StreamName=stream_name, Records=records)


def single_no_retry(kinesis: Any, stream_name: str, records: list[Any], clock: Any) -> None:
    for record in records:
        kinesis.put_record(
            StreamName=stream_name, Data=record["Data"], PartitionKey=record["PartitionKey"]
        )


def tiny_backoff(kinesis: Any, stream_name: str, records: list[Any], clock: Any) -> None:
    pending = list(records)
    while pending:
        response = kinesis.put_records(StreamName=stream_name, Records=pending[:500])
        results = zip(pending[:500], response["Records"], strict=True)
        refused = [r for r, res in results if "ErrorCode" in res]
        pending = refused + pending[500:]
        if refused:
            clock.advance(0.001)


def until_no_iterator(kinesis: Any, stream_name: str, checkpoints: dict[str, str]) -> list[Any]:
    out = []
    for shard in kinesis.list_shards(StreamName=stream_name)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream_name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator)
            out.extend(page["Records"])
            iterator = page.get("NextShardIterator")
    return out


def latest(kinesis: Any, stream_name: str, checkpoints: dict[str, str]) -> list[Any]:
    out = []
    for shard in kinesis.list_shards(StreamName=stream_name)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream_name, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
        )["ShardIterator"]
        out.extend(kinesis.get_records(ShardIterator=iterator)["Records"])
    return out


def nothing(*_: Any) -> None:
    return None


@pytest.mark.parametrize(
    ("check", "functions", "names"),
    [
        ("partition_key", {"partition_key": key_of_time}, "several shards"),
        ("partition_key", {"partition_key": lambda r: None}, "returned None"),
        (
            "partition_key",
            {"partition_key": lambda r: "x" * 300},
            "refused the readings' partition keys",
        ),
        ("partition_key", {"partition_key": lambda r: ""}, "non-empty string"),
        ("producer", {"put_all": one_call}, "at most 500 records"),
        ("producer", {"put_all": single_no_retry}, "Catch the ClientError"),
        ("producer", {"put_all": tiny_backoff}, "too fast"),
        ("producer", {"put_all": nothing}, "made no write call"),
        ("consumer", {"read_new": until_no_iterator}, "MillisBehindLatest"),
        ("consumer", {"read_new": latest}, "TRIM_HORIZON"),
        ("consumer", {"read_new": nothing}, "returned None"),
        ("consumer", {"read_new": filtered({"Type": "AT_LATEST"})}, "ShardFilter AT_LATEST"),
        (
            "consumer",
            {"read_new": filtered({"Type": "AT_LATEST"})},
            "parents closed by a reshard still hold records",
        ),
        ("consumer", {"read_new": limited_reader(10, stop_below=1000)}, "records remain"),
        ("consumer", {"read_new": limited_reader(7)}, "Limit=7"),
        (
            "consumer",
            {"read_new": paged_naming_the_stream},
            "NextToken and StreamName cannot be provided together",
        ),
        ("partition_key", {"partition_key": lambda r: r["truck_id"].encode()}, "not bytes"),
        ("partition_key", {"partition_key": lambda r: len(r["truck_id"])}, "str(...)"),
        (
            "archive",
            {"create_archive": with_roles(source="arn:aws:iam::123456789012:role/reader")},
            "KinesisStreamSourceConfiguration's RoleARN",
        ),
        (
            "archive",
            {"create_archive": with_roles(destination="arn:aws:iam::123456789012:role/other")},
            "role/other",
        ),
        ("archive", {"create_archive": archive(name="archive")}, "not `truck-archive`"),
        ("archive", {"create_archive": archive(destination={"Prefix": "raw/"})}, "Prefix="),
        (
            "archive",
            {
                "create_archive": archive(
                    destination={"BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}}
                )
            },
            "IntervalInSeconds=60",
        ),
        (
            "archive",
            {"create_archive": archive(destination={"ErrorOutputPrefix": "errors/"})},
            "trucks/errors/",
        ),
        ("archive", {"create_archive": nothing}, "no delivery stream"),
    ],
)
def test_plausible_mistakes_fail_with_a_hint_that_names_them(
    streaming: Lab, check: str, functions: dict[str, Any], names: str
) -> None:
    status, text = run(streaming, check, **functions)
    assert status == "failed", text
    assert names in text


def test_a_check_leaves_the_learners_sandbox_and_clock_alone(streaming: Lab) -> None:
    kinesis = streaming.client("kinesis")
    kinesis.create_stream(StreamName="mine", ShardCount=1)
    before = streaming.clock.now
    for check in CHECKS:
        run(streaming, check)
    assert streaming.clock.now == before
    assert kinesis.list_streams()["StreamNames"] == ["mine"]
    kinesis.delete_stream(StreamName="mine")
