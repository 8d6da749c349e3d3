"""Shared helpers of the edge tests (CloudFront, Global Accelerator, S3 replication).

``with_edge_facts`` supplies the AWS facts the edge simulators read that ``facts.toml`` did not
have yet when they were written; a fact the table has always wins, so this shim does nothing
once the table carries them. Each entry names the AWS page that documents the value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import MappingProxyType
from typing import Any

import pytest

import labkit.facts

PENDING_FACTS: dict[str, tuple[Any, str]] = {
    "cloudfront.caching_optimized_min_ttl": (
        1,
        "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html",
    ),
    "cloudfront.error_caching_min_ttl": (
        10,
        "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/HTTPStatusCodes.html",
    ),
    "global_accelerator.failover_endpoint_groups": (
        3,
        "https://docs.aws.amazon.com/global-accelerator/latest/dg/about-endpoints-endpoint-weights.unhealthy-endpoints.html",
    ),
    "global_accelerator.threshold_count_min": (
        1,
        "https://docs.aws.amazon.com/global-accelerator/latest/api/API_EndpointGroup.html",
    ),
    "global_accelerator.threshold_count_max": (
        10,
        "https://docs.aws.amazon.com/global-accelerator/latest/api/API_EndpointGroup.html",
    ),
}


@pytest.fixture
def with_edge_facts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The fact table plus the pending edge facts it does not have yet."""
    real = labkit.facts.table()
    extra = {
        fact_id: labkit.facts.Fact(fact_id, value, "", fact_id, source, "2026-11-27")
        for fact_id, (value, source) in PENDING_FACTS.items()
        if fact_id not in real
    }
    merged = MappingProxyType({**real, **extra})
    monkeypatch.setattr(labkit.facts, "table", lambda: merged)
    yield


SITE = "edge-lab-site"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"


def distribution_config(
    *,
    bucket: str = SITE,
    region: str = "us-east-1",
    oac_id: str = "",
    reference: str = "ref",
    price_class: str = "PriceClass_All",
    geo: dict[str, Any] | None = None,
    behavior: dict[str, Any] | None = None,
    root: str = "index.html",
) -> dict[str, Any]:
    """A distribution with one S3 origin, as a learner would write it."""
    origin: dict[str, Any] = {
        "Id": "site",
        "DomainName": f"{bucket}.s3.{region}.amazonaws.com",
        "S3OriginConfig": {"OriginAccessIdentity": ""},
    }
    if oac_id:
        origin["OriginAccessControlId"] = oac_id
    config: dict[str, Any] = {
        "CallerReference": reference,
        "Comment": "edge lab",
        "Enabled": True,
        "DefaultRootObject": root,
        "Origins": {"Quantity": 1, "Items": [origin]},
        "DefaultCacheBehavior": behavior
        or {
            "TargetOriginId": "site",
            "ViewerProtocolPolicy": "redirect-to-https",
            "CachePolicyId": CACHING_OPTIMIZED,
        },
        "PriceClass": price_class,
    }
    if geo is not None:
        config["Restrictions"] = {"GeoRestriction": geo}
    return config


def oac_policy(bucket: str, distribution_arn: str) -> str:
    """The bucket policy the CloudFront console proposes for origin access control."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AllowCloudFrontServicePrincipal",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                    "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
                }
            ],
        }
    )


def public_policy(bucket: str) -> str:
    """A bucket policy that lets anyone read objects."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            ],
        }
    )
