"""The architecture map's nodes: every resource the sandbox holds, read from moto's backends.

One reader per service, as :mod:`labkit.sandbox.inventory` reads them, but each node carries the
id the wiring names it by (its ARN, mostly), its Region and its tier on the map. Reading creates
no backend and no resource. A service whose moto internals cannot be read is reported in words
(``problems``) rather than failing the whole map.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from labkit.sandbox.architecture import Node, plural
from labkit.sandbox.backends import existing_services

#: How AWS names each service on the map (moto's backend name -> title).
TITLES: dict[str, str] = {
    "apigateway": "API Gateway",
    "cloudfront": "CloudFront",
    "cognito-identity": "Cognito identity pools",
    "cognito-idp": "Cognito user pools",
    "dax": "DAX",
    "dynamodb": "DynamoDB",
    "firehose": "Data Firehose",
    "globalaccelerator": "Global Accelerator",
    "kinesis": "Kinesis Data Streams",
    "lambda": "Lambda",
    "s3": "S3",
    "ses": "SES",
    "sns": "SNS",
    "sqs": "SQS",
    "stepfunctions": "Step Functions",
}


def api_id(region: str, rest_api_id: str) -> str:
    """The map id of a REST API (its ARN)."""
    return f"arn:aws:apigateway:{region}::/restapis/{rest_api_id}"


def bucket_id(name: str) -> str:
    """The map id of a bucket (its ARN)."""
    return f"arn:aws:s3:::{name}"


def stream_id(table: Any) -> str:
    """The map id of a table's DynamoDB stream (its ARN), ``""`` when the stream is off."""
    spec = getattr(table, "stream_specification", None) or {}
    label = getattr(table, "latest_stream_label", None)
    if not spec.get("StreamEnabled") or not label:
        return ""
    return f"{table.table_arn}/stream/{label}"


def ses_id(region: str, identity: str) -> str:
    """The map id of an SES identity (an address or a domain has no ARN of its own here)."""
    return f"ses:{region}:{identity}"


def _sqs(backend: Any, region: str) -> Iterator[Node]:
    for name, queue in sorted(backend.queues.items()):
        kind = "FIFO queue" if queue.fifo_queue else "queue"
        detail = f"{queue.approximate_number_of_messages} visible"
        yield Node(queue.queue_arn, "SQS", kind, name, region, "integration", detail)


def _sns(backend: Any, region: str) -> Iterator[Node]:
    for arn, topic in sorted(backend.topics.items()):
        yield Node(arn, "SNS", "topic", topic.name, region, "integration")


def _s3(backend: Any, region: str) -> Iterator[Node]:
    for name, bucket in sorted(backend.buckets.items()):
        # moto keeps S3 in one partition-wide backend, but every bucket lives in a Region.
        where = getattr(bucket, "region_name", "") or "us-east-1"
        count = plural(len(list(bucket.keys.keys())), "object")
        yield Node(bucket_id(name), "S3", "bucket", name, where, "data", count)


def _dynamodb(backend: Any, region: str) -> Iterator[Node]:
    for name, table in sorted(backend.tables.items()):
        yield Node(
            table.table_arn, "DynamoDB", "table", name, region, "data", plural(len(table), "item")
        )
        stream = stream_id(table)
        if stream:
            view = str((table.stream_specification or {}).get("StreamViewType", ""))
            yield Node(stream, "DynamoDB", "stream", f"{name} stream", region, "data", view)


def _dax(backend: Any, region: str) -> Iterator[Node]:
    for name, cluster in sorted(backend.clusters.items()):
        detail = f"{cluster.node_type}, {plural(len(cluster.nodes), 'node')}"
        yield Node(cluster.arn, "DAX", "cluster", name, region, "data", detail)


def _kinesis(backend: Any, region: str) -> Iterator[Node]:
    for name, stream in sorted(backend.streams.items()):
        shards = sum(1 for s in stream.shards.values() if s.is_open)
        yield Node(
            stream.arn,
            "Kinesis Data Streams",
            "stream",
            name,
            region,
            "integration",
            plural(shards, "open shard"),
        )


def _firehose(backend: Any, region: str) -> Iterator[Node]:
    for name, stream in sorted(backend.delivery_streams.items()):
        yield Node(
            stream.delivery_stream_arn,
            "Data Firehose",
            "delivery stream",
            name,
            region,
            "integration",
        )


def _lambda(backend: Any, region: str) -> Iterator[Node]:
    for fn in backend.list_functions():
        arn = str(fn.function_arn).split(":$LATEST")[0]
        yield Node(
            arn,
            "Lambda",
            "function",
            fn.function_name,
            region,
            "compute",
            f"{fn.run_time} · {fn.memory_size} MB",
        )


def _stepfunctions(backend: Any, region: str) -> Iterator[Node]:
    for sm in backend.state_machines:
        runs = plural(len(getattr(sm, "executions", [])), "execution")
        yield Node(sm.arn, "Step Functions", "state machine", sm.name, region, "compute", runs)


def _cognito(backend: Any, region: str) -> Iterator[Node]:
    for pool in backend.user_pools.values():
        yield Node(
            pool.arn,
            "Cognito user pools",
            "user pool",
            pool.name,
            region,
            "front door",
            plural(len(pool.users), "user"),
        )


def _identity(backend: Any, region: str) -> Iterator[Node]:
    for pool_id, pool in backend.identity_pools.items():
        yield Node(
            f"identitypool:{pool_id}",
            "Cognito identity pools",
            "identity pool",
            pool.identity_pool_name,
            region,
            "front door",
        )


def _apigateway(backend: Any, region: str) -> Iterator[Node]:
    for api in backend.apis.values():
        stages = sorted(getattr(api, "stages", {}) or {})
        detail = "stages: " + ", ".join(stages) if stages else "not deployed"
        yield Node(
            api_id(region, api.id),
            "API Gateway",
            "REST API",
            api.name,
            region,
            "front door",
            detail,
        )


def _cloudfront(backend: Any, region: str) -> Iterator[Node]:
    for dist in backend.distributions.values():
        yield Node(
            dist.arn,
            "CloudFront",
            "distribution",
            dist.domain_name,
            "global",
            "edge",
            str(dist.status),
        )


def _globalaccelerator(backend: Any, region: str) -> Iterator[Node]:
    for accelerator in backend.accelerators.values():
        yield Node(
            accelerator.arn,
            "Global Accelerator",
            "accelerator",
            accelerator.name,
            "global",
            "edge",
            ", ".join(accelerator.ip_addresses),
        )


def _ses(backend: Any, region: str) -> Iterator[Node]:
    identities = getattr(backend, "email_identities", {}) or {}
    for identity in sorted(identities):
        kind = "email identity" if "@" in identity else "domain identity"
        yield Node(ses_id(region, identity), "SES", kind, identity, region, "integration")


READERS: dict[str, Callable[[Any, str], Iterator[Node]]] = {
    "sqs": _sqs,
    "sns": _sns,
    "s3": _s3,
    "dynamodb": _dynamodb,
    "dax": _dax,
    "kinesis": _kinesis,
    "firehose": _firehose,
    "lambda": _lambda,
    "stepfunctions": _stepfunctions,
    "cognito-idp": _cognito,
    "cognito-identity": _identity,
    "apigateway": _apigateway,
    "cloudfront": _cloudfront,
    "globalaccelerator": _globalaccelerator,
    "ses": _ses,
}


def collect_nodes(account_id: str) -> tuple[list[Node], list[str]]:
    """Every resource of the services in use: ``(nodes, problems)`` (one node per id)."""
    found: dict[str, Node] = {}
    problems: list[str] = []
    for service, region, backend in existing_services(account_id):
        read = READERS.get(service)
        if read is None:
            continue
        try:
            for node in read(backend, region):
                found.setdefault(node.id, node)
        except Exception as exc:  # moto internals change between versions: say so, go on
            problems.append(f"{TITLES.get(service, service)} in {region}: {exc!r}")
    return list(found.values()), problems


__all__ = ["READERS", "TITLES", "api_id", "bucket_id", "collect_nodes", "ses_id", "stream_id"]
