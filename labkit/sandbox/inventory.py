"""What the sandbox holds: the learner's resources, by service, read straight from moto.

Real AWS has no single view of everything in an account; the sandbox can show one. Reading never
creates backends or resources (only services already in use are looked at).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from labkit.sandbox.backends import DEFAULT_ACCOUNT_ID, existing_services


@dataclass(frozen=True)
class Resource:
    """One resource in the sandbox.

    Attributes:
        service: The AWS service (``sqs``, ``s3``, ...).
        kind: What sort of resource (``queue``, ``bucket``, ...).
        name: Its name.
        region: Its region (``global`` for global services).
        detail: A short description of its state (message counts, item counts, ...).
    """

    service: str
    kind: str
    name: str
    region: str
    detail: str


def _row(service: str, kind: str, name: str, detail: str, *, region: str) -> Resource:
    return Resource(service=service, kind=kind, name=name, region=region, detail=detail)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _sqs(backend: Any, region: str) -> Iterator[Resource]:
    for name, queue in sorted(backend.queues.items()):
        kind = "FIFO queue" if queue.fifo_queue else "queue"
        detail = (
            f"{queue.approximate_number_of_messages} visible · "
            f"{queue.approximate_number_of_messages_not_visible} in flight · "
            f"{queue.approximate_number_of_messages_delayed} delayed"
        )
        yield _row("sqs", kind, name, detail, region=region)


def _sns(backend: Any, region: str) -> Iterator[Resource]:
    subscriptions = list(backend.subscriptions.values())
    for arn, topic in sorted(backend.topics.items()):
        count = sum(1 for s in subscriptions if s.topic.arn == arn)
        yield _row("sns", "topic", topic.name, _plural(count, "subscription"), region=region)


def _s3(backend: Any, region: str) -> Iterator[Resource]:
    for name, bucket in sorted(backend.buckets.items()):
        # moto keeps S3 in one partition-wide backend, but every bucket lives in a region.
        where = getattr(bucket, "region_name", "") or region
        count = _plural(len(list(bucket.keys.keys())), "object")
        yield _row("s3", "bucket", name, count, region=where)


def _dynamodb(backend: Any, region: str) -> Iterator[Resource]:
    for name, table in sorted(backend.tables.items()):
        yield _row("dynamodb", "table", name, _plural(len(table), "item"), region=region)


def _dax(backend: Any, region: str) -> Iterator[Resource]:
    for name, cluster in sorted(backend.clusters.items()):
        nodes = _plural(len(cluster.nodes), "node")
        yield _row("dax", "cluster", name, f"{cluster.node_type}, {nodes}", region=region)


def _kinesis(backend: Any, region: str) -> Iterator[Resource]:
    for name, stream in sorted(backend.streams.items()):
        open_shards = [s for s in stream.shards.values() if s.is_open]
        yield _row(
            "kinesis", "stream", name, _plural(len(open_shards), "open shard"), region=region
        )


def _lambda(backend: Any, region: str) -> Iterator[Resource]:
    for fn in backend.list_functions():
        yield _row(
            "lambda",
            "function",
            fn.function_name,
            f"{fn.run_time} · {fn.memory_size} MB",
            region=region,
        )


def _stepfunctions(backend: Any, region: str) -> Iterator[Resource]:
    for sm in backend.state_machines:
        yield _row(
            "stepfunctions",
            "state machine",
            sm.name,
            _plural(len(getattr(sm, "executions", [])), "execution"),
            region=region,
        )


def _cognito(backend: Any, region: str) -> Iterator[Resource]:
    for pool in backend.user_pools.values():
        yield _row(
            "cognito-idp", "user pool", pool.name, _plural(len(pool.users), "user"), region=region
        )


def _apigateway(backend: Any, region: str) -> Iterator[Resource]:
    for api in backend.apis.values():
        yield _row(
            "apigateway",
            "REST API",
            api.name,
            _plural(len(api.resources), "resource"),
            region=region,
        )


def _firehose(backend: Any, region: str) -> Iterator[Resource]:
    for name in sorted(backend.delivery_streams):
        yield _row("firehose", "delivery stream", name, "", region=region)


def _cloudfront(backend: Any, region: str) -> Iterator[Resource]:
    from labkit.services.cloudfront.patch import edge_caches

    for dist in backend.distributions.values():
        # The edge caches live on the distribution (the CloudFront patch keeps one per edge
        # location that has answered); an edge location holding nothing is not counted.
        held = [len(cache) for cache in edge_caches(dist.distribution_id).values()]
        held = [n for n in held if n]
        detail = (
            f"{dist.status} · {dist.distribution_config.PriceClass or 'PriceClass_All'} · "
            f"{_plural(sum(held), 'cached object')} at {_plural(len(held), 'edge location')}"
        )
        yield _row("cloudfront", "distribution", dist.domain_name, detail, region=region)


def _globalaccelerator(backend: Any, region: str) -> Iterator[Resource]:
    # labkit's own backend (moto has no Global Accelerator), in a BackendDict like moto's: its
    # API answers only in us-west-2, but an accelerator is global, and is shown as such.
    for accelerator in backend.accelerators.values():
        listeners = list(accelerator.listeners.values())
        regions = sorted({g.region for lis in listeners for g in lis.endpoint_groups.values()})
        detail = (
            f"{', '.join(accelerator.ip_addresses)} · {_plural(len(listeners), 'listener')} · "
            + (f"endpoint groups in {', '.join(regions)}" if regions else "no endpoint group")
        )
        yield _row("globalaccelerator", "accelerator", accelerator.name, detail, region="global")


_COLLECTORS: dict[str, Callable[[Any, str], Iterator[Resource]]] = {
    "sqs": _sqs,
    "sns": _sns,
    "s3": _s3,
    "dynamodb": _dynamodb,
    "dax": _dax,
    "kinesis": _kinesis,
    "lambda": _lambda,
    "stepfunctions": _stepfunctions,
    "cognito-idp": _cognito,
    "apigateway": _apigateway,
    "firehose": _firehose,
    "cloudfront": _cloudfront,
    "globalaccelerator": _globalaccelerator,
}


def inventory(*, account_id: str = DEFAULT_ACCOUNT_ID) -> list[Resource]:
    """Every resource of the services in use, sorted by service, region and name."""
    rows: list[Resource] = []
    for service, region, backend in existing_services(account_id):
        collect = _COLLECTORS.get(service)
        if collect is None:
            continue
        shown = "global" if region == "aws" else region
        try:
            rows.extend(collect(backend, shown))
        except Exception as exc:  # moto internals change between versions; say so, go on
            rows.append(Resource(service, "?", "(unreadable)", shown, repr(exc)))
    rows.sort(key=lambda r: (r.service, r.region, r.kind, r.name))
    return rows
