"""ListShards, MillisBehindLatest and stream consumers as AWS documents them (stock moto differs).

The stream of most tests is resharded twice on the lab clock: two shards (00, 01) open at its
creation, split into four (02-05) 10 s later, merged back into two (06, 07) 10 s after that.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from labkit.lab import Lab

ACCOUNT = "123456789012"


def client(lab: Lab) -> Any:
    return lab.sandbox.session().client("kinesis", config=Config(retries={"total_max_attempts": 1}))


def resharded(lab: Lab) -> tuple[Any, dict[str, float]]:
    """The twice-resharded stream ``s`` and the lab times of its steps."""
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=2)
    times = {"created": lab.clock.timestamp}
    lab.clock.advance(10)
    times["split"] = lab.clock.timestamp
    kinesis.update_shard_count(StreamName="s", TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    lab.clock.advance(10)
    times["merged"] = lab.clock.timestamp
    kinesis.update_shard_count(StreamName="s", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    lab.clock.advance(10)
    return kinesis, times


def ids(response: dict[str, Any]) -> list[str]:
    return [s["ShardId"].removeprefix("shardId-0000000000") for s in response["Shards"]]


def listed(kinesis: Any, **kwargs: Any) -> list[str]:
    return ids(kinesis.list_shards(StreamName="s", **kwargs))


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]


# -- ShardFilter, one test per type -------------------------------------------------------------
def test_without_a_filter_every_shard_within_retention_is_listed(lab: Lab) -> None:
    kinesis, _ = resharded(lab)
    everything = ["00", "01", "02", "03", "04", "05", "06", "07"]
    assert listed(kinesis) == everything
    assert listed(kinesis, ShardFilter={"Type": "FROM_TRIM_HORIZON"}) == everything


def test_at_latest_lists_only_the_open_shards(lab: Lab) -> None:
    kinesis, _ = resharded(lab)
    shards = kinesis.list_shards(StreamName="s", ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert ids({"Shards": shards}) == ["06", "07"]
    assert all("EndingSequenceNumber" not in s["SequenceNumberRange"] for s in shards)


def test_at_trim_horizon_lists_the_shards_open_at_the_oldest_data(lab: Lab) -> None:
    kinesis, _ = resharded(lab)
    assert listed(kinesis, ShardFilter={"Type": "AT_TRIM_HORIZON"}) == ["00", "01"]


def test_after_shard_id_lists_the_shards_that_follow_it(lab: Lab) -> None:
    kinesis, _ = resharded(lab)
    shard = "shardId-000000000003"
    assert listed(kinesis, ShardFilter={"Type": "AFTER_SHARD_ID", "ShardId": shard}) == [
        "04",
        "05",
        "06",
        "07",
    ]
    assert listed(kinesis, ExclusiveStartShardId=shard) == ["04", "05", "06", "07"]


def test_at_timestamp_lists_the_shards_open_at_that_instant(lab: Lab) -> None:
    kinesis, times = resharded(lab)
    between = times["split"] + 5
    assert listed(kinesis, ShardFilter={"Type": "AT_TIMESTAMP", "Timestamp": between}) == [
        "02",
        "03",
        "04",
        "05",
    ]
    # At the instant of the split both the parents (closing) and the children (opening) count.
    at_split = datetime.fromtimestamp(times["split"], tz=timezone.utc)
    assert listed(kinesis, ShardFilter={"Type": "AT_TIMESTAMP", "Timestamp": at_split}) == [
        "00",
        "01",
        "02",
        "03",
        "04",
        "05",
    ]


def test_from_timestamp_lists_shards_closed_since_and_every_open_one(lab: Lab) -> None:
    kinesis, times = resharded(lab)
    since = times["split"] + 5
    assert listed(kinesis, ShardFilter={"Type": "FROM_TIMESTAMP", "Timestamp": since}) == [
        "02",
        "03",
        "04",
        "05",
        "06",
        "07",
    ]
    # Before the trim horizon it is "corrected to TRIM_HORIZON": every shard still held.
    assert len(listed(kinesis, ShardFilter={"Type": "FROM_TIMESTAMP", "Timestamp": 0})) == 8


def test_closed_shards_past_retention_are_no_longer_listed(lab: Lab) -> None:
    kinesis, _ = resharded(lab)
    lab.clock.advance(24 * 3600)
    assert listed(kinesis) == ["06", "07"]
    assert listed(kinesis, ShardFilter={"Type": "AT_TRIM_HORIZON"}) == ["06", "07"]


@pytest.mark.parametrize(
    ("shard_filter", "says"),
    [
        ({"Type": "AFTER_SHARD_ID"}, "needs a ShardId"),
        ({"Type": "AT_TIMESTAMP"}, "needs a Timestamp"),
        ({"Type": "FROM_TIMESTAMP"}, "needs a Timestamp"),
        ({"Type": "AT_LATEST", "ShardId": "shardId-000000000000"}, "only be used with"),
        ({"Type": "AT_LATEST", "Timestamp": 1}, "only be used with"),
    ],
)
def test_a_filter_without_what_its_type_needs_is_refused(
    lab: Lab, shard_filter: dict[str, Any], says: str
) -> None:
    kinesis, _ = resharded(lab)
    with pytest.raises(ClientError) as excinfo:
        kinesis.list_shards(StreamName="s", ShardFilter=shard_filter)
    code, message = error_of(excinfo)
    assert code == "InvalidArgumentException"
    assert says in message


# -- paging -------------------------------------------------------------------------------------
def test_max_results_pages_with_a_next_token_that_keeps_the_filter(lab: Lab) -> None:
    kinesis, _ = resharded(lab)
    arn = kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["StreamARN"]
    page = kinesis.list_shards(
        StreamARN=arn, MaxResults=3, ShardFilter={"Type": "FROM_TIMESTAMP", "Timestamp": 0}
    )
    seen = [ids(page)]
    while "NextToken" in page:
        page = kinesis.list_shards(NextToken=page["NextToken"], MaxResults=3)
        seen.append(ids(page))
    assert seen == [["00", "01", "02"], ["03", "04", "05"], ["06", "07"]]


@pytest.mark.parametrize(
    "named",
    [
        {"StreamName": "s"},
        {"StreamARN": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/s"},
        {"ExclusiveStartShardId": "shardId-000000000001"},
        {"ShardFilter": {"Type": "AT_LATEST"}},
    ],
)
def test_a_next_token_with_the_stream_or_a_filter_is_refused(
    lab: Lab, named: dict[str, Any]
) -> None:
    kinesis, _ = resharded(lab)
    token = kinesis.list_shards(StreamName="s", MaxResults=1)["NextToken"]
    with pytest.raises(ClientError) as excinfo:
        kinesis.list_shards(NextToken=token, **named)
    assert error_of(excinfo) == (
        "InvalidArgumentException",
        f"NextToken and {next(iter(named))} cannot be provided together.",
    )


def test_a_next_token_expires_after_300_seconds(lab: Lab) -> None:
    kinesis, _ = resharded(lab)
    token = kinesis.list_shards(StreamName="s", MaxResults=1)["NextToken"]
    lab.clock.advance(300)
    assert ids(kinesis.list_shards(NextToken=token, MaxResults=1)) == ["01"]
    lab.clock.advance(1)
    with pytest.raises(ClientError) as excinfo:
        kinesis.list_shards(NextToken=token)
    assert error_of(excinfo)[0] == "ExpiredNextTokenException"


def test_a_token_listshards_did_not_issue_is_an_invalid_argument(lab: Lab) -> None:
    kinesis, _ = resharded(lab)
    with pytest.raises(ClientError) as excinfo:
        kinesis.list_shards(NextToken="not-a-token")
    assert error_of(excinfo)[0] == "InvalidArgumentException"


def test_max_results_above_10000_is_refused(lab: Lab) -> None:
    kinesis, _ = resharded(lab)
    with pytest.raises(ClientError) as excinfo:
        kinesis.list_shards(StreamName="s", MaxResults=10_001)
    assert error_of(excinfo)[0] == "InvalidArgumentException"


def test_neither_name_nor_arn_is_refused(lab: Lab) -> None:
    kinesis, _ = resharded(lab)
    with pytest.raises(ClientError) as excinfo:
        kinesis.list_shards()
    assert error_of(excinfo)[0] == "InvalidArgumentException"


# -- MillisBehindLatest -------------------------------------------------------------------------
def test_millis_behind_latest_is_zero_only_once_the_reader_has_caught_up(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="one", ShardCount=1)
    kinesis.put_records(
        StreamName="one", Records=[{"Data": b"r%d" % i, "PartitionKey": "k"} for i in range(20)]
    )
    iterator = kinesis.get_shard_iterator(
        StreamName="one", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    pages = []
    while True:
        page = kinesis.get_records(ShardIterator=iterator, Limit=7)
        pages.append((len(page["Records"]), page["MillisBehindLatest"]))
        if page["MillisBehindLatest"] == 0:
            break
        iterator = page["NextShardIterator"]
    # Written at one lab instant, the records left are still records behind: at least 1 ms.
    assert [n for n, _ in pages] == [7, 7, 6]
    assert all(behind >= 1 for _, behind in pages[:-1]) and pages[-1][1] == 0


def test_millis_behind_latest_is_the_age_of_the_oldest_record_still_to_read(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="one", ShardCount=1)
    kinesis.put_record(StreamName="one", Data=b"old", PartitionKey="k")
    lab.clock.advance(4)
    kinesis.put_record(StreamName="one", Data=b"older-than-now", PartitionKey="k")
    lab.clock.advance(3)
    iterator = kinesis.get_shard_iterator(
        StreamName="one", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    page = kinesis.get_records(ShardIterator=iterator, Limit=1)
    assert page["MillisBehindLatest"] == 3000
    page = kinesis.get_records(ShardIterator=page["NextShardIterator"], Limit=1)
    assert page["MillisBehindLatest"] == 0


# -- consumers ----------------------------------------------------------------------------------
MISSING = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/nope"


@pytest.mark.parametrize(
    ("operation", "kwargs"),
    [
        ("list_stream_consumers", {"StreamARN": MISSING}),
        ("register_stream_consumer", {"StreamARN": MISSING, "ConsumerName": "c"}),
        ("describe_stream_consumer", {"StreamARN": MISSING, "ConsumerName": "c"}),
    ],
)
def test_consumer_operations_on_a_missing_stream_are_resource_not_found(
    lab: Lab, operation: str, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ClientError) as excinfo:
        getattr(client(lab), operation)(**kwargs)
    assert error_of(excinfo)[0] == "ResourceNotFoundException"


def test_deregistering_by_stream_and_name_removes_that_consumer_only(lab: Lab) -> None:
    kinesis = client(lab)
    kinesis.create_stream(StreamName="s", ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName="s")["StreamDescriptionSummary"]["StreamARN"]
    consumers = {
        name: kinesis.register_stream_consumer(StreamARN=arn, ConsumerName=name)["Consumer"]
        for name in ("a", "b", "c")
    }
    kinesis.deregister_stream_consumer(StreamARN=arn, ConsumerName="a")
    kinesis.deregister_stream_consumer(ConsumerARN=consumers["c"]["ConsumerARN"])
    names = [c["ConsumerName"] for c in kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]]
    assert names == ["b"]
    described = kinesis.describe_stream_consumer(ConsumerARN=consumers["b"]["ConsumerARN"])
    assert described["ConsumerDescription"]["StreamARN"] == arn
