"""What Lambda did: a read-only snapshot of the invocations the sandbox's runtime recorded.

The Lambda patch (:mod:`labkit.services.awslambda.patch`) keeps every invocation of an account
and Region on moto's Lambda backend: when it ran on the lab clock, whether it started a new
execution environment (cold) or reused one (warm), how long the handler ran, how it ended, and how
many environments were busy when it started; and every invocation it throttled. This module reads
that record for views and checks. Reading never creates a backend or changes anything.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from labkit.sandbox.backends import DEFAULT_ACCOUNT_ID, existing_in

if TYPE_CHECKING:
    from labkit.clock import Clock
    from labkit.sandbox.session import Sandbox

DEFAULT_REGION = "us-east-1"

#: How the view names what invoked a function (the record's ``source`` prefix).
TRIGGER_NAMES = {
    "invoke": "Invoke",
    "s3": "S3",
    "sns": "SNS",
    "apigateway": "API Gateway",
    "sqs": "SQS",
    "kinesis": "Kinesis",
    "dynamodb": "DynamoDB Streams",
}


@dataclass(frozen=True)
class InvocationInfo:
    """One invocation, as the view and checks see it.

    Attributes:
        at: When it ran, lab time as epoch seconds.
        function: The function's name.
        invocation_type: ``RequestResponse``, ``Event`` (asynchronous) or ``ESM`` (an event source
            mapping's poller).
        source: What invoked it, as recorded (``invoke``, ``s3``, ``sns``, ``apigateway:<id>``,
            ``event-source-mapping:<uuid>``).
        trigger: The same in words (``Invoke``, ``SQS``, ``API Gateway``, ...).
        cold: Whether it started a new execution environment.
        duration_ms: How long the handler ran (wall time; the timeout when it timed out).
        init_ms: The init phase of a cold start, else ``None``.
        status: ``success``, ``error``, ``timeout`` or ``exit``.
        error_type: The error object's ``errorType`` when it failed.
        error_message: The error object's ``errorMessage`` when it failed.
        environment_id: The execution environment that ran it.
        concurrency: Environments of the account busy when it started, itself included.
        request_id: Its request id.
        response: The payload, parsed from JSON (the handler's result, or the error object);
            ``None`` when it is not JSON.
    """

    at: float
    function: str
    invocation_type: str
    source: str
    trigger: str
    cold: bool
    duration_ms: float
    init_ms: float | None
    status: str
    error_type: str | None
    error_message: str | None
    environment_id: str
    concurrency: int
    request_id: str
    response: Any

    @property
    def failed(self) -> bool:
        """Whether the invocation ended in an error (a timeout and an exit included)."""
        return self.status != "success"


@dataclass(frozen=True)
class ThrottleInfo:
    """One invocation Lambda refused with ``TooManyRequestsException``.

    Attributes:
        at: When, lab time as epoch seconds.
        function: The function's name.
        invocation_type: As in :class:`InvocationInfo`.
        source: As in :class:`InvocationInfo`.
        trigger: As in :class:`InvocationInfo`.
        reason: The exception's ``Reason`` (``ReservedFunctionConcurrentInvocationLimitExceeded``
            or ``ConcurrentInvocationLimitExceeded``).
    """

    at: float
    function: str
    invocation_type: str
    source: str
    trigger: str
    reason: str


@dataclass(frozen=True)
class InvocationSnapshot:
    """Every recorded invocation and throttle, oldest first, and the lab clock they refer to.

    Attributes:
        invocations: The invocations.
        throttles: The throttled attempts.
        start: The lab clock's start (epoch seconds): the timeline's zero.
        now: The lab time of the snapshot (epoch seconds).
    """

    invocations: tuple[InvocationInfo, ...]
    throttles: tuple[ThrottleInfo, ...]
    start: float
    now: float

    def functions(self) -> list[str]:
        """The functions that were invoked or throttled, in order of first appearance."""
        seen: dict[str, None] = {}
        events = sorted(
            [(i.at, n, i.function) for n, i in enumerate(self.invocations)]
            + [(t.at, n, t.function) for n, t in enumerate(self.throttles)]
        )
        for _, _, name in events:
            seen.setdefault(name, None)
        return list(seen)

    def of(self, function: str) -> InvocationSnapshot:
        """Only the invocations and throttles of ``function``."""
        return replace(
            self,
            invocations=tuple(i for i in self.invocations if i.function == function),
            throttles=tuple(t for t in self.throttles if t.function == function),
        )

    def since(self, at: float) -> InvocationSnapshot:
        """Only what happened at lab time ``at`` (epoch seconds) or later."""
        return replace(
            self,
            invocations=tuple(i for i in self.invocations if i.at >= at),
            throttles=tuple(t for t in self.throttles if t.at >= at),
        )


def _trigger(source: str, backend: Any) -> str:
    kind, _, ident = source.partition(":")
    if kind == "event-source-mapping":
        esm = getattr(backend, "_event_source_mappings", {}).get(ident)
        arn = str(getattr(esm, "event_source_arn", "")) if esm is not None else ""
        service = arn.split(":")[2] if arn.count(":") >= 2 else ""
        return TRIGGER_NAMES.get(service, "Event source mapping")
    return TRIGGER_NAMES.get(kind, kind or "Invoke")


def _parse(payload: bytes) -> Any:
    try:
        return json.loads(payload) if payload else None
    except ValueError:
        return None


def _invocation(record: Any, backend: Any) -> InvocationInfo:
    result = record.result
    response = _parse(result.payload)
    failed = result.status != "success"
    error = response if failed and isinstance(response, dict) else {}
    return InvocationInfo(
        at=float(record.time),
        function=str(record.function_name),
        invocation_type=str(record.invocation_type),
        source=str(record.source),
        trigger=_trigger(str(record.source), backend),
        cold=bool(result.cold),
        duration_ms=float(result.duration_ms),
        init_ms=None if result.init_duration_ms is None else float(result.init_duration_ms),
        status=str(result.status),
        error_type=str(error["errorType"]) if error.get("errorType") else None,
        error_message=str(error["errorMessage"]) if error.get("errorMessage") else None,
        environment_id=str(result.environment_id),
        concurrency=int(getattr(record, "concurrency", 1)),
        request_id=str(result.request_id),
        response=response,
    )


def snapshot(
    *,
    region: str = DEFAULT_REGION,
    clock: Clock | None = None,
    account_id: str = DEFAULT_ACCOUNT_ID,
    function: str | None = None,
) -> InvocationSnapshot:
    """The invocations and throttles recorded so far in one account and Region.

    Args:
        region: The Region whose functions to read.
        clock: The lab clock the times refer to (its start is the timeline's zero); without it,
            the first event is.
        account_id: The account.
        function: Only this function's invocations, when given.
    """
    invocations: list[InvocationInfo] = []
    throttles: list[ThrottleInfo] = []
    for backend in existing_in("lambda", account_id, region):
        state = getattr(backend, "labkit_lambda", None)
        if state is None:
            continue
        invocations.extend(_invocation(r, backend) for r in list(state.history))
        throttles.extend(
            ThrottleInfo(
                at=float(t.time),
                function=str(t.function_name),
                invocation_type=str(t.invocation_type),
                source=str(t.source),
                trigger=_trigger(str(t.source), backend),
                reason=str(t.reason),
            )
            for t in list(getattr(state, "throttles", []))
        )
    # Sorting is stable: records of the same instant keep the order the runtime recorded them in.
    invocations.sort(key=lambda i: i.at)
    throttles.sort(key=lambda t: t.at)
    times = [i.at for i in invocations] + [t.at for t in throttles]
    if clock is not None:
        start, now = clock.start.timestamp(), clock.timestamp
    else:
        start = min(times, default=0.0)
        now = max(times, default=start)
    snap = InvocationSnapshot(tuple(invocations), tuple(throttles), start, now)
    return snap.of(function) if function is not None else snap


def sandbox_snapshot(sandbox: Sandbox, *, function: str | None = None) -> InvocationSnapshot:
    """:func:`snapshot` of a sandbox's own Region, on its current clock."""
    return snapshot(region=sandbox.region, clock=sandbox.clock, function=function)


# -- function spellings ---------------------------------------------------------------------------
#: ``FunctionName``'s pattern in the Lambda API model (``NamespacedFunctionName``), anchored: a
#: name, a full ARN or a partial ARN (``123456789012:function:name``), each with an optional
#: version or alias. https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
FUNCTION_NAME = re.compile(
    r"^(?:arn:(?P<partition>aws[a-zA-Z-]*)?:lambda:)?"
    r"(?:(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d{1}):)?"
    r"(?:(?P<account>\d{12}):)?"
    r"(?P<function>function:)?"
    r"(?P<name>[a-zA-Z0-9-_\.]+)"
    r"(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?$"
)


@dataclass(frozen=True)
class FunctionRef:
    """One spelling of a function, parsed.

    Attributes:
        name: The function's name.
        qualifier: The version or alias appended to the spelling, if any.
        account: The account in the spelling (a full or partial ARN), if any.
        region: The Region in the spelling (a full ARN), if any.
        spelling: What the caller wrote.
    """

    name: str
    qualifier: str | None
    account: str | None
    region: str | None
    spelling: str

    @property
    def short(self) -> str:
        """``name`` or ``name:qualifier``."""
        return f"{self.name}:{self.qualifier}" if self.qualifier else self.name

    def arn(self, region: str, account: str, partition: str = "aws") -> str:
        """The function's ARN, qualified when the spelling was."""
        base = f"arn:{partition}:lambda:{region}:{account}:function:{self.name}"
        return f"{base}:{self.qualifier}" if self.qualifier else base

    def same_function(self, other: FunctionRef) -> bool:
        """Whether both name the same function and qualifier (``$LATEST`` is the unqualified
        function: both run the same code and configuration)."""
        return self.name == other.name and _latest(self.qualifier) == _latest(other.qualifier)


def _latest(qualifier: str | None) -> str | None:
    return None if qualifier in (None, "$LATEST") else qualifier


def split_function(spelling: str) -> FunctionRef | None:
    """Parse any spelling of a function Lambda accepts; ``None`` when it accepts none."""
    found = FUNCTION_NAME.match(spelling)
    # ":function:" needs the account before it, and a bare "function:name" would parse as the
    # name "function" with the qualifier "name".
    if found is None or (found["function"] and found["account"] is None):
        return None
    return FunctionRef(
        name=found["name"],
        qualifier=found["qualifier"],
        account=found["account"],
        region=found["region"],
        spelling=spelling,
    )


def function_name_in(spelling: str) -> str | None:
    """The function's name in any spelling (name, ARN, partial ARN, qualified or not)."""
    ref = split_function(spelling)
    return ref.name if ref is not None else None


__all__ = [
    "FUNCTION_NAME",
    "FunctionRef",
    "InvocationInfo",
    "InvocationSnapshot",
    "ThrottleInfo",
    "function_name_in",
    "sandbox_snapshot",
    "snapshot",
    "split_function",
]
