"""Edge benchmarks: CloudFront and Global Accelerator in the sandbox, against raw moto.

Prints:
- a cached CloudFront hit: wall time per request with ``requests.get``, ``urllib.request.urlopen``
  and labkit's direct ``edge.fetch``; and a miss (origin read from S3);
- raw moto in the same run: ``requests.get`` of the same object from S3 (what a learner could do
  without labkit; moto serves nothing at ``*.cloudfront.net``);
- a 10,000-request CloudFront trace (8 viewer cities, 50 objects, one request every 0.5 s of lab
  time) and a 10,000-request Global Accelerator trace, each run with ``edge.replay``.

Targets (the edge issue): a cached hit under 2 ms of wall time per request; a 10,000-request
trace under 10 s.
"""

from __future__ import annotations

import json
import statistics
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import requests
import support

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CITIES = ["Tokyo", "Paris", "New York", "Sydney", "Sao Paulo", "Mumbai", "London", "Berlin"]
BUCKET = "bench-site"
OBJECTS = 50


def per_call(fn: Callable[[int], Any], calls: int, batches: int) -> float:
    """Median milliseconds per call over ``batches`` batches of ``calls`` calls."""
    return statistics.median(support.timed(fn, calls, batches))


def _site(s3: Any) -> None:
    s3.create_bucket(Bucket=BUCKET)
    for i in range(OBJECTS):
        s3.put_object(Bucket=BUCKET, Key=f"p{i}.html", Body=b"x" * 2048, ContentType="text/html")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/*",
            }
        ],
    }
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))


def raw_moto_s3_get(calls: int, batches: int) -> float:
    """Per-request ms of requests.get on an S3 object under plain moto."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        _site(s3)
        url = f"https://{BUCKET}.s3.amazonaws.com/p1.html"
        assert requests.get(url).status_code == 200
        return per_call(lambda i: requests.get(url), calls, batches)


def labkit_edge(calls: int, batches: int) -> dict[str, float]:
    """Per-request and per-trace figures of labkit's edge."""
    import labkit
    from labkit.services.edge import patch as edge

    lab = labkit.start(quiet=True)
    try:
        s3 = lab.client("s3")
        _site(s3)
        cf = lab.client("cloudfront")
        dist = cf.create_distribution(
            DistributionConfig={
                "CallerReference": "bench",
                "Comment": "",
                "Enabled": True,
                "Origins": {
                    "Quantity": 1,
                    "Items": [
                        {
                            "Id": "s3",
                            "DomainName": f"{BUCKET}.s3.us-east-1.amazonaws.com",
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                        }
                    ],
                },
                "DefaultCacheBehavior": {
                    "TargetOriginId": "s3",
                    "ViewerProtocolPolicy": "allow-all",
                    "CachePolicyId": CACHING_OPTIMIZED,
                },
            }
        )["Distribution"]
        domain = dist["DomainName"]
        url = f"https://{domain}/p1.html"
        assert requests.get(url).headers["X-Cache"].startswith("Miss")
        figures: dict[str, float] = {}
        figures["hit_requests"] = per_call(lambda i: requests.get(url), calls, batches)
        assert requests.get(url).headers["X-Cache"].startswith("Hit")

        def urlopen(i: int) -> None:
            with urllib.request.urlopen(url) as answer:
                answer.read()

        urlopen(0)
        figures["hit_urllib"] = per_call(urlopen, calls, batches)
        figures["hit_fetch"] = per_call(lambda i: edge.fetch(url), calls, batches)
        counter = iter(range(10**9))
        figures["miss_requests"] = per_call(
            lambda i: requests.get(
                f"https://{domain}/p{next(counter) % OBJECTS}.html?v={i}",
                headers={"X-Labkit-Viewer": CITIES[i % len(CITIES)]},
            ),
            calls,
            batches,
        )

        trace = [
            (i * 0.5, f"https://{domain}/p{i % OBJECTS}.html", CITIES[i % len(CITIES)])
            for i in range(10_000)
        ]
        t = time.perf_counter()
        report = edge.replay(trace)
        figures["cf_trace_s"] = time.perf_counter() - t
        figures["cf_trace_hit_ratio"] = report.hit_ratio

        ga = lab.client("globalaccelerator", region="us-west-2")
        accelerator = ga.create_accelerator(Name="bench", IdempotencyToken="b")["Accelerator"]
        listener = ga.create_listener(
            AcceleratorArn=accelerator["AcceleratorArn"],
            PortRanges=[{"FromPort": 80, "ToPort": 80}],
            Protocol="TCP",
            IdempotencyToken="l",
        )["Listener"]
        for n, region in enumerate(("us-east-1", "eu-west-1", "ap-northeast-1")):
            ga.create_endpoint_group(
                ListenerArn=listener["ListenerArn"],
                EndpointGroupRegion=region,
                IdempotencyToken=region,
                EndpointConfigurations=[{"EndpointId": f"i-0{n}{j}abcdef"} for j in range(2)],
            )
        lab.clock.advance(120)
        ga_trace = [
            (i * 0.5, f"http://{accelerator['DnsName']}/", CITIES[i % len(CITIES)])
            for i in range(10_000)
        ]
        t = time.perf_counter()
        edge.replay(ga_trace)
        figures["ga_trace_s"] = time.perf_counter() - t
        return figures
    finally:
        lab.stop()


def row(label: str, value: float, unit: str, note: str = "") -> None:
    """One line of the report."""
    print(f"  {label:<52} {value:8.3f} {unit}{'  ' + note if note else ''}")


def main() -> None:
    calls, batches = 200, 5
    figures = labkit_edge(calls, batches)
    raw = raw_moto_s3_get(calls, batches)
    print("Edge benchmarks (median of batches; wall time)")
    row("raw moto: requests.get of an S3 object", raw, "ms/request")
    ratio = figures["hit_requests"] / raw
    row(
        "labkit CloudFront hit, requests.get",
        figures["hit_requests"],
        "ms/request",
        f"(target < 2 ms; {ratio:.2f}x raw moto's S3 GET)",
    )
    row("labkit CloudFront hit, urllib.request.urlopen", figures["hit_urllib"], "ms/request")
    row("labkit CloudFront hit, edge.fetch (no HTTP stack)", figures["hit_fetch"], "ms/request")
    row("labkit CloudFront miss (S3 origin), requests.get", figures["miss_requests"], "ms/request")
    row(
        "10,000-request CloudFront trace (edge.replay)",
        figures["cf_trace_s"],
        "s",
        f"(target < 10 s; hit ratio {figures['cf_trace_hit_ratio']:.0%})",
    )
    row("10,000-request Global Accelerator trace (edge.replay)", figures["ga_trace_s"], "s")


if __name__ == "__main__":
    main()
