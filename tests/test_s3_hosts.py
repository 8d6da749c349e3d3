"""A bucket may be named like another service's endpoint, as on S3 (moto routed it elsewhere)."""

from __future__ import annotations

import pytest

from labkit.lab import Lab
from labkit.sandbox.s3_hosts import path_style


@pytest.mark.parametrize("name", ["logs", "kinesis", "events"])
def test_a_bucket_named_like_a_service_is_an_ordinary_bucket(lab: Lab, name: str) -> None:
    s3 = lab.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="app/2026/01/05.log", Body=b"started")
    assert s3.get_object(Bucket=name, Key="app/2026/01/05.log")["Body"].read() == b"started"
    listed = s3.list_objects_v2(Bucket=name, Prefix="app/")["Contents"]
    assert [o["Key"] for o in listed] == ["app/2026/01/05.log"]
    s3.delete_object(Bucket=name, Key="app/2026/01/05.log")
    s3.delete_bucket(Bucket=name)
    assert name not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    # The service the name belongs to still answers at its own endpoint.
    if name == "logs":
        lab.client("logs").create_log_group(logGroupName="app")
        assert lab.client("logs").describe_log_groups()["logGroups"][0]["logGroupName"] == "app"


def test_only_urls_another_service_would_claim_are_rewritten() -> None:
    assert path_style("https://logs.s3.amazonaws.com/k?list-type=2") == (
        "https://s3.amazonaws.com/logs/k?list-type=2"
    )
    assert path_style("https://logs.s3.eu-west-1.amazonaws.com/") == (
        "https://s3.eu-west-1.amazonaws.com/logs/"
    )
    assert path_style("https://logs.s3.amazonaws.com?location") == (
        "https://s3.amazonaws.com/logs/?location"
    )
    assert path_style("https://photos.s3.amazonaws.com/k") is None  # S3 gets it already
    assert path_style("https://logs.s3-accelerate.amazonaws.com/k") is None  # its own route
    assert path_style("https://logs.us-east-1.amazonaws.com/") is None  # CloudWatch Logs itself
