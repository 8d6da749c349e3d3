"""S3 replication on the lab clock (stock moto stores the rules and never copies anything)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

import labkit
from labkit import facts
from labkit.lab import Lab
from labkit.services.s3.patch_replication import (
    BASE_LAG_SECONDS,
    LAG_SPREAD_SECONDS,
    replication_lag,
    set_replication_lag,
)

ROLE = "arn:aws:iam::123456789012:role/replication"
MAX_LAG = BASE_LAG_SECONDS + LAG_SPREAD_SECONDS + 1


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def _buckets(lab: Lab, *, dest_versioned: bool = True) -> Any:
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="src")
    s3.create_bucket(Bucket="dst", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_bucket_versioning(Bucket="src", VersioningConfiguration={"Status": "Enabled"})
    if dest_versioned:
        s3.put_bucket_versioning(Bucket="dst", VersioningConfiguration={"Status": "Enabled"})
    return s3


def _rule(**extra: Any) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "ID": "all",
        "Priority": 1,
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "DeleteMarkerReplication": {"Status": "Disabled"},
        "Destination": {"Bucket": "arn:aws:s3:::dst"},
    }
    rule.update(extra)
    return rule


def _replicate(s3: Any, *rules: dict[str, Any]) -> None:
    s3.put_bucket_replication(
        Bucket="src", ReplicationConfiguration={"Role": ROLE, "Rules": list(rules or [_rule()])}
    )


def _exists(s3: Any, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError:
        return False
    return True


def test_a_new_object_is_copied_after_a_lag(lab: Lab) -> None:
    s3 = _buckets(lab)
    _replicate(s3)
    put = s3.put_object(Bucket="src", Key="a.txt", Body=b"hello", ContentType="text/plain")
    assert s3.head_object(Bucket="src", Key="a.txt")["ReplicationStatus"] == "PENDING"
    assert not _exists(s3, "dst", "a.txt")  # stock moto: never there at all
    lab.clock.advance(MAX_LAG)
    assert s3.head_object(Bucket="src", Key="a.txt")["ReplicationStatus"] == "COMPLETED"
    replica = s3.head_object(Bucket="dst", Key="a.txt")
    assert replica["ReplicationStatus"] == "REPLICA"
    assert replica["VersionId"] == put["VersionId"]
    assert replica["ContentType"] == "text/plain"
    assert s3.get_object(Bucket="dst", Key="a.txt")["Body"].read() == b"hello"


def test_the_lag_is_not_zero_and_a_lesson_can_fix_it(lab: Lab) -> None:
    s3 = _buckets(lab)
    _replicate(s3)
    set_replication_lag(600)
    s3.put_object(Bucket="src", Key="slow.txt", Body=b"x")
    lab.clock.advance(BASE_LAG_SECONDS)
    assert not _exists(s3, "dst", "slow.txt")
    lab.clock.advance(599 - BASE_LAG_SECONDS)
    assert not _exists(s3, "dst", "slow.txt")
    lab.clock.advance(1)
    assert _exists(s3, "dst", "slow.txt")


def test_objects_written_before_the_rule_are_not_replicated(lab: Lab) -> None:
    s3 = _buckets(lab)
    s3.put_object(Bucket="src", Key="old.txt", Body=b"old")
    _replicate(s3)
    lab.clock.advance(MAX_LAG)
    assert not _exists(s3, "dst", "old.txt")
    assert "ReplicationStatus" not in s3.head_object(Bucket="src", Key="old.txt")


def test_filters_select_by_prefix_and_tags(lab: Lab) -> None:
    s3 = _buckets(lab)
    _replicate(
        s3,
        _rule(Filter={"And": {"Prefix": "logs/", "Tags": [{"Key": "keep", "Value": "yes"}]}}),
    )
    s3.put_object(Bucket="src", Key="logs/a", Body=b"1", Tagging="keep=yes")
    s3.put_object(Bucket="src", Key="logs/b", Body=b"2", Tagging="keep=no")
    s3.put_object(Bucket="src", Key="img/c", Body=b"3", Tagging="keep=yes")
    lab.clock.advance(MAX_LAG)
    assert _exists(s3, "dst", "logs/a")
    assert not _exists(s3, "dst", "logs/b")
    assert not _exists(s3, "dst", "img/c")
    tags = s3.get_object_tagging(Bucket="dst", Key="logs/a")["TagSet"]
    assert tags == [{"Key": "keep", "Value": "yes"}]


def test_delete_markers_follow_the_rule_setting(lab: Lab) -> None:
    s3 = _buckets(lab)
    _replicate(s3, _rule(DeleteMarkerReplication={"Status": "Enabled"}))
    s3.put_object(Bucket="src", Key="gone.txt", Body=b"x")
    lab.clock.advance(MAX_LAG)
    s3.delete_object(Bucket="src", Key="gone.txt")
    assert _exists(s3, "dst", "gone.txt")
    lab.clock.advance(MAX_LAG)
    assert not _exists(s3, "dst", "gone.txt")


def test_delete_markers_stay_behind_by_default(lab: Lab) -> None:
    s3 = _buckets(lab)
    _replicate(s3)
    s3.put_object(Bucket="src", Key="kept.txt", Body=b"x")
    lab.clock.advance(MAX_LAG)
    s3.delete_object(Bucket="src", Key="kept.txt")
    lab.clock.advance(MAX_LAG)
    assert _exists(s3, "dst", "kept.txt")


def test_a_destination_without_versioning_fails_replication(lab: Lab) -> None:
    s3 = _buckets(lab, dest_versioned=False)
    _replicate(s3)
    s3.put_object(Bucket="src", Key="a.txt", Body=b"x")
    lab.clock.advance(MAX_LAG)
    assert s3.head_object(Bucket="src", Key="a.txt")["ReplicationStatus"] == "FAILED"
    assert not _exists(s3, "dst", "a.txt")


def test_replicas_are_not_replicated_again(lab: Lab) -> None:
    s3 = _buckets(lab)
    s3.create_bucket(Bucket="third")
    s3.put_bucket_versioning(Bucket="third", VersioningConfiguration={"Status": "Enabled"})
    _replicate(s3)
    s3.put_bucket_replication(
        Bucket="dst",
        ReplicationConfiguration={
            "Role": ROLE,
            "Rules": [_rule(Destination={"Bucket": "arn:aws:s3:::third"})],
        },
    )
    s3.put_object(Bucket="src", Key="a.txt", Body=b"x")
    lab.clock.advance(3 * MAX_LAG)
    assert _exists(s3, "dst", "a.txt")
    assert not _exists(s3, "third", "a.txt")


def test_replication_time_control_caps_the_lag(lab: Lab) -> None:
    backend = lab.sandbox.backend("s3", region="global")
    plain = _rule()
    rtc = _rule(
        Destination={
            "Bucket": "arn:aws:s3:::dst",
            "ReplicationTime": {"Status": "Enabled", "Time": {"Minutes": 15}},
        }
    )
    huge = 100 * 1024**3  # 100 GiB: far longer than 15 minutes at the modelled transfer rate
    target = facts.value("s3.rtc_replication_time")
    assert replication_lag(backend, plain, "src", "k", "v1", huge) > target
    assert replication_lag(backend, rtc, "src", "k", "v1", huge) == target == 900
    small = replication_lag(backend, rtc, "src", "k", "v1", 10)
    assert BASE_LAG_SECONDS <= small <= BASE_LAG_SECONDS + LAG_SPREAD_SECONDS + 1


def test_the_configuration_reads_back_as_it_was_put(lab: Lab) -> None:
    s3 = _buckets(lab)
    rule = _rule(
        Filter={"And": {"Prefix": "logs/", "Tags": [{"Key": "k", "Value": "v"}]}},
        DeleteMarkerReplication={"Status": "Enabled"},
    )
    _replicate(s3, rule)
    got = s3.get_bucket_replication(Bucket="src")["ReplicationConfiguration"]["Rules"][0]
    assert got["Filter"] == rule["Filter"]  # stock moto answers {"Prefix": ""}
    assert got["DeleteMarkerReplication"] == {"Status": "Enabled"}  # stock moto: Disabled


def test_reset_cancels_pending_copies(lab: Lab) -> None:
    s3 = _buckets(lab)
    _replicate(s3)
    s3.put_object(Bucket="src", Key="a.txt", Body=b"x")
    lab.reset()
    s3 = _buckets(lab)
    lab.clock.advance(MAX_LAG)
    assert not _exists(s3, "dst", "a.txt")
