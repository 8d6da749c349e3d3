"""Shared helpers of the edge tests (CloudFront, Global Accelerator, S3 replication)."""

from __future__ import annotations

import json
from typing import Any

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
