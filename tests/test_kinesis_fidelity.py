"""Kinesis Data Streams as AWS runs it: each test shows behaviour that stock moto lacks."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from labkit.lab import Lab
from labkit.services.kinesis.patch import throughput

MIB = 1024 * 1024
HALF = 2**127
TOP = 2**128 - 1


def client(lab: Lab) -> Any:
    """A Kinesis client that does not retry, so each throttled call is seen exactly once."""
    return lab.sandbox.session().client("kinesis", config=Config(retries={"total_max_attempts": 1}))


def batch(n: int, size: int = 10, key: str = "k") -> list[dict[str, Any]]:
    return [{"Data": b"x" * size, "PartitionKey": f"{key}{i}"} for i in range(n)]


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


def first_shard(kinesis: Any, name: str) -> str:
    return str(kinesis.list_shards(StreamName=name)["Shards"][0]["ShardId"])


def read_all(kinesis: Any, name: str, shard_id: str) -> dict[str, Any]:
    iterator = kinesis.get_shard_iterator(
        StreamName=name, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    return dict(kinesis.get_records(ShardIterator=iterator))


# -- write limits -------------------------------------------------------------------------------
def test_put_record_past_1000_records_a_second_is_throttled(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=1)
    assert kinesis.put_records(StreamName="s", Records=batch(500))["FailedRecordCount"] == 0
    assert kinesis.put_records(StreamName="s", Records=batch(500))["FailedRecordCount"] == 0
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_record(StreamName="s", Data=b"x", PartitionKey="k")
    assert error_of(excinfo) == (
        "ProvisionedThroughputExceededException",
        "Rate exceeded for shard shardId-000000000000 in stream s under account 123456789012.",
    )
    lab.clock.advance(1)
    assert kinesis.put_record(StreamName="s", Data=b"x", PartitionKey="k")["ShardId"]


def test_put_record_past_1_mib_a_second_is_throttled(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=1)
    kinesis.put_record(StreamName="s", Data=b"x" * 1_000_000, PartitionKey="k")
    with pytest.raises(ClientError) as excinfo:
        kinesis.put_record(StreamName="s", Data=b"x" * 100_000, PartitionKey="k")
    assert error_of(excinfo)[0] == "ProvisionedThroughputExceededException"
    # The refused record used no capacity: a smaller one still fits in this second's 1 MiB.
    kinesis.put_record(StreamName="s", Data=b"x" * 48_000, PartitionKey="k")


def test_put_records_fails_only_the_records_that_do_not_fit(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=1)
    kinesis.put_records(StreamName="s", Records=batch(500))
    kinesis.put_records(StreamName="s", Records=batch(400))
    response = kinesis.put_records(StreamName="s", Records=batch(500))
    assert response["FailedRecordCount"] == 400
    ok, failed = response["Records"][:100], response["Records"][100:]
    assert all("SequenceNumber" in r and "ErrorCode" not in r for r in ok)
    assert {r["ErrorCode"] for r in failed} == {"ProvisionedThroughputExceededException"}
    assert failed[0]["ErrorMessage"] == (
        "Rate exceeded for shard shardId-000000000000 in stream s under account 123456789012."
    )
    lab.clock.advance(1)
    assert len(read_all(kinesis, "s", "shardId-000000000000")["Records"]) == 1000


def test_a_partition_key_over_256_characters_is_refused_naming_the_field(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="keys", ShardCount=1)
    longest = "k" * 256
    kinesis.put_record(StreamName="keys", Data=b"x", PartitionKey=longest)
    with pytest.raises(ClientError) as one:
        kinesis.put_record(StreamName="keys", Data=b"x", PartitionKey=longest + "k")
    code, message = error_of(one)
    assert code == "ValidationException"
    assert "at 'partitionKey'" in message
    assert message.endswith("less than or equal to 256")
    records = [{"Data": b"x", "PartitionKey": "a"}, {"Data": b"x", "PartitionKey": "é" * 257}]
    with pytest.raises(ClientError) as many:
        kinesis.put_records(StreamName="keys", Records=records)
    code, message = error_of(many)
    assert code == "ValidationException"
    assert "at 'records.2.member.partitionKey'" in message
    # The whole request is refused: the valid first record was not written either.
    stored = read_all(kinesis, "keys", first_shard(kinesis, "keys"))["Records"]
    assert [r["PartitionKey"] for r in stored] == [longest]


def test_a_hot_shard_throttles_while_the_other_shard_accepts(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=2)
    low = [{"Data": b"x", "PartitionKey": "p", "ExplicitHashKey": "1"}] * 500
    high = [{"Data": b"x", "PartitionKey": "p", "ExplicitHashKey": str(HALF + 1)}] * 250
    kinesis.put_records(StreamName="s", Records=low)
    kinesis.put_records(StreamName="s", Records=low)
    response = kinesis.put_records(StreamName="s", Records=low[:250] + high)
    assert response["FailedRecordCount"] == 250
    assert all("ErrorCode" in r for r in response["Records"][:250])
    assert {r["ShardId"] for r in response["Records"][250:]} == {"shardId-000000000001"}


def test_the_write_window_slides_over_one_second(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=1)
    kinesis.put_records(StreamName="s", Records=batch(500))
    lab.clock.advance(0.5)
    kinesis.put_records(StreamName="s", Records=batch(500))
    lab.clock.advance(0.5)  # the first 500 leave the window; the second 500 are still in it
    assert kinesis.put_records(StreamName="s", Records=batch(501)[:500])["FailedRecordCount"] == 0
    assert kinesis.put_records(StreamName="s", Records=batch(1))["FailedRecordCount"] == 1


def test_an_on_demand_stream_has_four_shards_of_capacity(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="od", StreamModeDetails={"StreamMode": "ON_DEMAND"})
    hot = [{"Data": b"x", "PartitionKey": "same-key"}] * 500
    kinesis.put_records(StreamName="od", Records=hot)
    kinesis.put_records(StreamName="od", Records=hot)
    # One partition key lands on one shard: 1,000 records/s, however many shards there are.
    assert kinesis.put_records(StreamName="od", Records=hot)["FailedRecordCount"] == 500
    lab.clock.advance(1)
    spread = kinesis.put_records(StreamName="od", Records=batch(500, key="spread-"))
    assert spread["FailedRecordCount"] == 0
    assert len({r["ShardId"] for r in spread["Records"]}) == 4


# -- read limits --------------------------------------------------------------------------------
def test_get_records_past_five_calls_a_second_is_throttled(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=1)
    kinesis.put_records(StreamName="s", Records=batch(10))
    iterator = kinesis.get_shard_iterator(
        StreamName="s", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    for _ in range(5):
        iterator = kinesis.get_records(ShardIterator=iterator, Limit=1)["NextShardIterator"]
    with pytest.raises(ClientError) as excinfo:
        kinesis.get_records(ShardIterator=iterator, Limit=1)
    assert error_of(excinfo) == (
        "ProvisionedThroughputExceededException",
        "Rate exceeded for Shard - 123456789012/s/shardId-000000000000",
    )
    lab.clock.advance(1)
    assert len(kinesis.get_records(ShardIterator=iterator, Limit=1)["Records"]) == 1


def test_reading_10_mib_blocks_the_shard_for_5_seconds(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=1)
    for _ in range(10):  # 10 x 1,048,000 bytes, one per second (the write limit)
        kinesis.put_record(StreamName="s", Data=b"x" * 1_047_999, PartitionKey="k")
        lab.clock.advance(1)
    got = read_all(kinesis, "s", "shardId-000000000000")
    assert len(got["Records"]) == 10
    lab.clock.advance(4.9)
    with pytest.raises(ClientError) as excinfo:
        kinesis.get_records(ShardIterator=got["NextShardIterator"])
    assert error_of(excinfo)[0] == "ProvisionedThroughputExceededException"
    lab.clock.advance(0.1)
    kinesis.get_records(ShardIterator=got["NextShardIterator"])


def test_standard_consumers_share_2_mib_a_second(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=1)
    for _ in range(2):  # 1 MiB a second, data plus partition key
        kinesis.put_record(StreamName="s", Data=b"x" * (MIB - 1), PartitionKey="k")
        lab.clock.advance(1)
    read_all(kinesis, "s", "shardId-000000000000")  # consumer A reads 2 MiB
    with pytest.raises(ClientError):
        read_all(kinesis, "s", "shardId-000000000000")  # consumer B, same second
    lab.clock.advance(1)
    assert len(read_all(kinesis, "s", "shardId-000000000000")["Records"]) == 2


# -- retention and iterators --------------------------------------------------------------------
def test_records_older_than_24_hours_are_gone(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=1)
    kinesis.put_record(StreamName="s", Data=b"old", PartitionKey="k")
    lab.clock.advance(24 * 3600 - 1)
    kinesis.put_record(StreamName="s", Data=b"new", PartitionKey="k")
    assert [r["Data"] for r in read_all(kinesis, "s", "shardId-000000000000")["Records"]] == [
        b"old",
        b"new",
    ]
    lab.clock.advance(2)
    assert [r["Data"] for r in read_all(kinesis, "s", "shardId-000000000000")["Records"]] == [
        b"new"
    ]


def test_retention_period_changes_are_honoured(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=1)
    kinesis.put_record(StreamName="s", Data=b"a", PartitionKey="k")
    kinesis.increase_stream_retention_period(StreamName="s", RetentionPeriodHours=48)
    lab.clock.advance(30 * 3600)
    assert len(read_all(kinesis, "s", "shardId-000000000000")["Records"]) == 1
    kinesis.decrease_stream_retention_period(StreamName="s", RetentionPeriodHours=24)
    lab.clock.advance(1)
    assert read_all(kinesis, "s", "shardId-000000000000")["Records"] == []


def test_increasing_retention_does_not_bring_expired_records_back(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=1)
    kinesis.put_record(StreamName="s", Data=b"a", PartitionKey="k")
    lab.clock.advance(25 * 3600)
    kinesis.increase_stream_retention_period(StreamName="s", RetentionPeriodHours=48)
    assert read_all(kinesis, "s", "shardId-000000000000")["Records"] == []


def test_a_shard_iterator_expires_five_minutes_after_it_is_issued(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=1)
    iterator = kinesis.get_shard_iterator(
        StreamName="s", ShardId="shardId-000000000000", ShardIteratorType="LATEST"
    )["ShardIterator"]
    lab.clock.advance(300)
    fresh = kinesis.get_records(ShardIterator=iterator)["NextShardIterator"]
    lab.clock.advance(1)
    with pytest.raises(ClientError) as excinfo:
        kinesis.get_records(ShardIterator=iterator)
    code, message = error_of(excinfo)
    assert code == "ExpiredIteratorException"
    assert message == (
        "Iterator expired. The iterator was created at time Mon Jan 05 09:00:00 UTC 2026 while "
        "right now it is Mon Jan 05 09:05:01 UTC 2026 which is further in the future than the "
        "tolerated delay of 300000 milliseconds."
    )
    # The iterator GetRecords returned is new: it has its own five minutes.
    kinesis.get_records(ShardIterator=fresh)


# -- resharding ---------------------------------------------------------------------------------
def open_shards(kinesis: Any, name: str) -> list[dict[str, Any]]:
    shards = kinesis.list_shards(StreamName=name)["Shards"]
    return [s for s in shards if "EndingSequenceNumber" not in s["SequenceNumberRange"]]


def ranges(shards: list[dict[str, Any]]) -> list[tuple[int, int]]:
    return [
        (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
        for s in shards
    ]


def open_count(kinesis: Any, name: str) -> int:
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    return int(summary["OpenShardCount"])


def test_doubling_splits_every_shard_and_the_parent_keeps_its_records(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=1)
    kinesis.put_records(StreamName="s", Records=batch(10))
    kinesis.update_shard_count(StreamName="s", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    children = open_shards(kinesis, "s")
    assert open_count(kinesis, "s") == len(children) == 2
    assert [c["ShardId"] for c in children] == ["shardId-000000000001", "shardId-000000000002"]
    assert {c["ParentShardId"] for c in children} == {"shardId-000000000000"}
    assert ranges(children) == [(0, HALF - 1), (HALF, TOP)]
    # The closed parent still holds its records; the children start empty.
    assert len(read_all(kinesis, "s", "shardId-000000000000")["Records"]) == 10
    for child in children:
        assert read_all(kinesis, "s", child["ShardId"])["Records"] == []
    # New records go to the children only.
    written = kinesis.put_records(StreamName="s", Records=batch(20))["Records"]
    assert {r["ShardId"] for r in written} == {c["ShardId"] for c in children}


def test_a_target_that_is_not_a_doubling_still_gives_equal_ranges(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=2)
    kinesis.update_shard_count(StreamName="s", TargetShardCount=3, ScalingType="UNIFORM_SCALING")
    shards = sorted(
        open_shards(kinesis, "s"), key=lambda s: int(s["HashKeyRange"]["StartingHashKey"])
    )
    assert open_count(kinesis, "s") == len(shards) == 3
    third = 2**128 // 3
    assert ranges(shards) == [(0, third - 1), (third, 2 * third - 1), (2 * third, TOP)]
    merged = shards[1]  # made of a piece of each original shard
    assert merged["ParentShardId"] and merged["AdjacentParentShardId"]
    lineage = {s["ShardId"]: s for s in kinesis.list_shards(StreamName="s")["Shards"]}
    for shard in shards:
        assert lineage[shard["ParentShardId"]]["SequenceNumberRange"].get("EndingSequenceNumber")


def test_halving_merges_neighbours(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=4)
    kinesis.put_records(StreamName="s", Records=batch(100))
    kinesis.update_shard_count(StreamName="s", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    shards = open_shards(kinesis, "s")
    assert open_count(kinesis, "s") == len(shards) == 2
    assert [(s["ParentShardId"], s["AdjacentParentShardId"]) for s in shards] == [
        ("shardId-000000000000", "shardId-000000000001"),
        ("shardId-000000000002", "shardId-000000000003"),
    ]
    assert ranges(shards) == [(0, HALF - 1), (HALF, TOP)]
    # Records are not copied into the merged shards: they stay in the parents.
    for shard in shards:
        assert read_all(kinesis, "s", shard["ShardId"])["Records"] == []


def test_update_shard_count_refuses_more_than_double_or_less_than_half(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=2)
    with pytest.raises(ClientError) as excinfo:
        kinesis.update_shard_count(
            StreamName="s", TargetShardCount=5, ScalingType="UNIFORM_SCALING"
        )
    assert error_of(excinfo) == (
        "LimitExceededException",
        "UpdateShardCount cannot scale up over double your current open shard count. "
        "Current open shard count: 2, Target shard count: 5",
    )
    kinesis.create_stream(StreamName="t", ShardCount=5)
    with pytest.raises(ClientError) as excinfo:
        kinesis.update_shard_count(
            StreamName="t", TargetShardCount=2, ScalingType="UNIFORM_SCALING"
        )
    assert error_of(excinfo)[0] == "LimitExceededException"


def test_records_go_to_open_shards_and_parents_keep_theirs(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=1)
    before = kinesis.put_record(StreamName="s", Data=b"before", PartitionKey="k")
    kinesis.update_shard_count(StreamName="s", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    after = kinesis.put_record(StreamName="s", Data=b"after", PartitionKey="k")
    assert after["ShardId"] != "shardId-000000000000"
    assert int(after["SequenceNumber"]) > int(before["SequenceNumber"])
    parent = read_all(kinesis, "s", "shardId-000000000000")
    assert [r["Data"] for r in parent["Records"]] == [b"before"]


def test_the_end_of_a_closed_shard_points_to_its_children(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=1)
    kinesis.put_record(StreamName="s", Data=b"a", PartitionKey="k")
    kinesis.split_shard(
        StreamName="s", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(HALF)
    )
    response = read_all(kinesis, "s", "shardId-000000000000")
    assert [r["Data"] for r in response["Records"]] == [b"a"]
    assert "NextShardIterator" not in response
    assert [c["ShardId"] for c in response["ChildShards"]] == [
        "shardId-000000000001",
        "shardId-000000000002",
    ]
    assert open_count(kinesis, "s") == 2


def test_merging_shards_that_are_not_adjacent_is_refused(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=3)
    with pytest.raises(ClientError) as excinfo:
        kinesis.merge_shards(
            StreamName="s",
            ShardToMerge="shardId-000000000000",
            AdjacentShardToMerge="shardId-000000000002",
        )
    assert error_of(excinfo) == (
        "InvalidArgumentException",
        "Shards shardId-000000000000 and shardId-000000000002 in stream s under account "
        "123456789012 are not an adjacent pair of shards eligible for merging",
    )


# -- reading the meters -------------------------------------------------------------------------
def test_the_meters_are_readable_per_shard(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=1)
    kinesis.put_records(StreamName="s", Records=batch(500, size=100))
    kinesis.put_records(StreamName="s", Records=batch(500, size=100))
    kinesis.put_records(StreamName="s", Records=batch(3, size=100))
    usage = throughput(lab.sandbox, "s")["shardId-000000000000"]
    assert usage.write_records == 1000
    assert usage.write_records_fraction == 1.0
    assert usage.throttled_writes == 3
    assert usage.limits.write_bytes_per_second == MIB
    lab.clock.advance(1)
    assert throughput(lab.sandbox, "s")["shardId-000000000000"].write_records == 0


def test_the_meters_live_on_the_stream_so_reset_clears_them(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=1)
    kinesis.put_records(StreamName="s", Records=batch(500))
    kinesis.put_records(StreamName="s", Records=batch(500))
    lab.reset()
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=1)
    assert kinesis.put_records(StreamName="s", Records=batch(500))["FailedRecordCount"] == 0
    assert kinesis.put_records(StreamName="s", Records=batch(501)[:500])["FailedRecordCount"] == 0
    assert kinesis.put_records(StreamName="s", Records=batch(1))["FailedRecordCount"] == 1
    assert throughput(lab.sandbox, "s")["shardId-000000000000"].throttled_writes == 1
