"""Gaps found in the Kinesis fidelity layer while writing the streaming lab (owned elsewhere).

Each test states what AWS documents; each was red against the fidelity layer until it was fixed.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from labkit.lab import Lab


def test_get_records_refuses_a_limit_above_10000(lab: Lab) -> None:
    # "Specify a value of up to 10,000. If you specify a value that is greater than 10,000,
    # GetRecords throws InvalidArgumentException."
    # (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetRecords.html)
    kinesis = lab.client("kinesis")
    kinesis.create_stream(StreamName="s", ShardCount=1)
    kinesis.put_record(StreamName="s", Data=b"x", PartitionKey="a")
    iterator = kinesis.get_shard_iterator(
        StreamName="s", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    with pytest.raises(ClientError) as excinfo:
        kinesis.get_records(ShardIterator=iterator, Limit=10_001)
    assert excinfo.value.response["Error"]["Code"] == "InvalidArgumentException"
