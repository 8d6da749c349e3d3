"""What the sandbox holds: the learner's resources, by service, read straight from moto.

Real AWS has no single view of everything in an account; the sandbox can show one. Reading never
creates backends or resources (only services already in use are looked at).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from moto.core.base_backend import BackendDict
from moto.core.models import DEFAULT_ACCOUNT_ID


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


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _sqs(backend: Any) -> Iterator[tuple[str, str, str]]:
    for name, queue in sorted(backend.queues.items()):
        kind = "FIFO queue" if queue.fifo_queue else "queue"
        detail = (
            f"{queue.approximate_number_of_messages} visible · "
            f"{queue.approximate_number_of_messages_not_visible} in flight · "
            f"{queue.approximate_number_of_messages_delayed} delayed"
        )
        yield kind, name, detail


def _sns(backend: Any) -> Iterator[tuple[str, str, str]]:
    subscriptions = list(backend.subscriptions.values())
    for arn, topic in sorted(backend.topics.items()):
        count = sum(1 for s in subscriptions if s.topic.arn == arn)
        yield "topic", topic.name, _plural(count, "subscription")


def _s3(backend: Any) -> Iterator[tuple[str, str, str]]:
    for name, bucket in sorted(backend.buckets.items()):
        yield "bucket", name, _plural(len(list(bucket.keys.keys())), "object")


def _dynamodb(backend: Any) -> Iterator[tuple[str, str, str]]:
    for name, table in sorted(backend.tables.items()):
        yield "table", name, _plural(len(table), "item")


def _kinesis(backend: Any) -> Iterator[tuple[str, str, str]]:
    for name, stream in sorted(backend.streams.items()):
        open_shards = [s for s in stream.shards.values() if s.is_open]
        yield "stream", name, _plural(len(open_shards), "open shard")


def _lambda(backend: Any) -> Iterator[tuple[str, str, str]]:
    for fn in backend.list_functions():
        yield "function", fn.function_name, f"{fn.run_time} · {fn.memory_size} MB"


def _stepfunctions(backend: Any) -> Iterator[tuple[str, str, str]]:
    for sm in backend.state_machines:
        yield "state machine", sm.name, _plural(len(getattr(sm, "executions", [])), "execution")


def _cognito(backend: Any) -> Iterator[tuple[str, str, str]]:
    for pool in backend.user_pools.values():
        yield "user pool", pool.name, _plural(len(pool.users), "user")


def _apigateway(backend: Any) -> Iterator[tuple[str, str, str]]:
    for api in backend.apis.values():
        yield "REST API", api.name, _plural(len(api.resources), "resource")


def _firehose(backend: Any) -> Iterator[tuple[str, str, str]]:
    for name in sorted(backend.delivery_streams):
        yield "delivery stream", name, ""


def _cloudfront(backend: Any) -> Iterator[tuple[str, str, str]]:
    for dist in backend.distributions.values():
        yield "distribution", dist.domain_name, dist.status


_COLLECTORS: dict[str, Callable[[Any], Iterator[tuple[str, str, str]]]] = {
    "sqs": _sqs,
    "sns": _sns,
    "s3": _s3,
    "dynamodb": _dynamodb,
    "kinesis": _kinesis,
    "lambda": _lambda,
    "stepfunctions": _stepfunctions,
    "cognito-idp": _cognito,
    "apigateway": _apigateway,
    "firehose": _firehose,
    "cloudfront": _cloudfront,
}


def inventory(*, account_id: str = DEFAULT_ACCOUNT_ID) -> list[Resource]:
    """Every resource of the services in use, sorted by service, region and name."""
    rows: list[Resource] = []
    for backend_dict in list(BackendDict._instances):  # type: ignore[misc]
        collect = _COLLECTORS.get(backend_dict.service_name)
        if collect is None or account_id not in dict.keys(backend_dict):
            continue
        account = dict.__getitem__(backend_dict, account_id)
        for region, backend in list(dict.items(account)):
            shown = "global" if region == "aws" else region
            try:
                for kind, name, detail in collect(backend):
                    rows.append(Resource(backend_dict.service_name, kind, name, shown, detail))
            except Exception as exc:  # moto internals change between versions; say so, go on
                rows.append(
                    Resource(backend_dict.service_name, "?", "(unreadable)", shown, repr(exc))
                )
    rows.sort(key=lambda r: (r.service, r.region, r.kind, r.name))
    return rows
