"""Lambda that runs the learner's Python handlers, in process, on the lab clock.

Stock moto without Docker never runs a function: ``invoke`` echoes the payload and every trigger
fires into nothing. This patch replaces moto's invoke with
:mod:`labkit.services.awslambda.sim_runtime`
(execution environments, cold and warm starts, timeouts, logs and errors as AWS reports them) and
adds what the Lambda service does around the runtime:

- ``Invoke``: ``RequestResponse`` runs now and answers with the handler's result (or the error
  object and ``X-Amz-Function-Error: Unhandled``); ``LogType=Tail`` returns the last 4 KB of the
  log; ``Event`` answers 202 and runs at the lab clock's next tick (``lab.clock.advance(0)`` or any
  later advance), retrying a failed event twice, one and then two minutes later, as Lambda does,
  then sending it to its destinations and dead-letter queue
  (:mod:`labkit.services.awslambda.patch_destinations`); ``DryRun`` answers 204.
  https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
  https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html
- Concurrency: each running invocation holds an execution environment; reserved concurrency
  (``put_function_concurrency``; 0 throttles every call) and the account's limit throttle with
  ``TooManyRequestsException`` and its ``Reason``. In one process only nested invocations (a
  handler invoking a function) run at the same time.
  https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html
- Logs: every invocation writes ``START``/``END``/``REPORT`` and the handler's output to the
  ``/aws/lambda/<name>`` group in CloudWatch Logs, one stream per execution environment.
- Configuration: environment variables over 4 KB in total are refused at create and update with
  Lambda's ``InvalidParameterValueException``; a ``Timeout`` over 900 seconds or a ``MemorySize``
  outside 128..10,240 MB with its ``ValidationException`` (stock moto accepts any number).

State lives on moto's Lambda backend (``backend.labkit_lambda``), so ``lab.reset()`` and a check's
isolated world cover it. Triggers (SQS, Kinesis, DynamoDB Streams, S3, SNS) are in
:mod:`labkit.services.awslambda.patch_triggers`.
"""

from __future__ import annotations

import base64
import binascii
import json
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from moto.awslambda.exceptions import (
    InvalidParameterValueException,
    LambdaClientError,
    ValidationException,
)
from moto.awslambda.models import LambdaBackend, LambdaFunction
from moto.awslambda.responses import LambdaResponse
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.exceptions import JsonRESTError
from moto.moto_api._internal import mock_random

from labkit import facts
from labkit.services.awslambda.sim_runtime import EnvironmentPool, FunctionConfig, InvokeResult

if TYPE_CHECKING:
    from labkit.clock import Clock
    from labkit.sandbox.session import Sandbox
    from labkit.services.awslambda.patch_destinations import QueuedEvent


def _async_retry_delays() -> tuple[float, float]:
    """How long after a failed asynchronous attempt Lambda tries again (first, second retry).

    https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
    """
    return (
        float(facts.value("lambda.async_retry_first_delay")),
        float(facts.value("lambda.async_retry_second_delay")),
    )


class TooManyRequestsException(JsonRESTError):
    """Lambda's throttling error, with the ``Reason`` boto3 exposes."""

    code = 429

    def __init__(self, reason: str) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")
        self.reason = reason
        self.description = json.dumps(
            {
                "__type": "TooManyRequestsException",
                "message": "Rate Exceeded.",
                "Reason": reason,
                "Type": "User",
            }
        )


class RequestTooLargeException(JsonRESTError):
    """An invocation payload over Lambda's limit."""

    code = 413

    def __init__(self, limit: int) -> None:
        super().__init__(
            "RequestTooLargeException",
            f"Request must be smaller than {limit} bytes for the Invoke operation",
        )


class InvalidRequestContentException(JsonRESTError):
    """A payload that is not JSON."""

    code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(
            "InvalidRequestContentException",
            f"Could not parse request body into json: Could not parse payload into json: {detail}",
        )


class SettingsValidationException(ValidationException):
    """Lambda's ``ValidationException`` naming every setting out of range, as AWS lists them.

    moto's own class words one error; AWS counts them ("2 validation errors detected: ...; ...").
    """

    def __init__(self, errors: list[str]) -> None:
        count = f"{len(errors)} validation error{'s' if len(errors) > 1 else ''} detected"
        LambdaClientError.__init__(self, "ValidationException", f"{count}: {'; '.join(errors)}")


class LambdaState:
    """labkit's Lambda state for one account and Region (kept on moto's backend object)."""

    def __init__(self, root: Path, clock_of: Callable[[], Clock]) -> None:
        self.pool = EnvironmentPool(root, now=time.time, new_id=lambda: mock_random.uuid4().hex)
        weakref.finalize(self, shutil.rmtree, str(root), True)
        self.clock_of = clock_of
        #: The account's concurrency quota; a lab may lower it (new accounts start lower).
        self.account_concurrency: int = int(facts.value("lambda.concurrency_default"))
        #: Every invocation of this account and Region, oldest first (views and checks read it).
        self.history: list[InvocationRecord] = []
        #: Invocations refused with ``TooManyRequestsException``, oldest first (recorded for
        #: :mod:`labkit.services.awslambda.state`, see :func:`_record_throttle`).
        self.throttles: list[ThrottleRecord] = []


class InvocationRecord:
    """One invocation as the Lambda service saw it (for views and checks).

    ``concurrency`` is how many execution environments of the account and Region were running an
    invocation when this one started, itself included.
    """

    __slots__ = ("concurrency", "function_name", "invocation_type", "result", "source", "time")

    def __init__(
        self,
        function_name: str,
        invocation_type: str,
        source: str,
        result: InvokeResult,
        at: float,
        concurrency: int = 1,
    ) -> None:
        self.function_name = function_name
        self.invocation_type = invocation_type
        self.source = source
        self.result = result
        self.time = at
        self.concurrency = concurrency

    def __repr__(self) -> str:
        cold = "cold" if self.result.cold else "warm"
        return (
            f"<Invocation {self.function_name} {self.invocation_type} from {self.source}: "
            f"{self.result.status}, {cold}, {self.result.duration_ms:.1f} ms>"
        )


class ThrottleRecord(NamedTuple):
    """One invocation Lambda refused for want of concurrency (for views and checks)."""

    function_name: str
    invocation_type: str
    source: str
    reason: str
    time: float


def state_of(backend: LambdaBackend) -> LambdaState:
    """labkit's state on a Lambda backend (created on first use)."""
    state: LambdaState | None = getattr(backend, "labkit_lambda", None)
    if state is None:
        factory: Callable[[], LambdaState] | None = getattr(LambdaBackend, "_labkit_factory", None)
        if factory is None:
            raise RuntimeError("labkit's Lambda patch is not installed")
        state = factory()
        backend.labkit_lambda = state  # type: ignore[attr-defined]
    return state


def lambda_backend(account_id: str, region: str) -> LambdaBackend:
    """moto's Lambda backend as moto itself picks it (the no-Docker one in a lab)."""
    from moto.awslambda.utils import get_backend

    return get_backend(account_id, region)


def function_config(fn: LambdaFunction) -> FunctionConfig:
    """What the runtime needs from moto's function object."""
    return FunctionConfig(
        name=fn.function_name,
        arn=fn.function_arn.rsplit(":", 1)[0] if fn.version != "$LATEST" else fn.function_arn,
        version=str(fn.version),
        handler=str(fn.handler or ""),
        runtime=str(fn.run_time or "python3.12"),
        timeout=float(fn.timeout),
        memory_mb=int(fn.memory_size),
        region=fn.region,
        code=bytes(getattr(fn, "code_bytes", b"") or b""),
        code_sha256=str(getattr(fn, "code_sha_256", "")),
        environment={str(k): str(v) for k, v in (fn.environment_vars or {}).items()},
        init_timeout=float(facts.value("lambda.init_timeout")),
    )


def _throttle_check(backend: LambdaBackend, state: LambdaState, fn: LambdaFunction) -> None:
    """Raise ``TooManyRequestsException`` when no concurrency is left for ``fn``."""
    running = state.pool.busy(fn.function_name)
    reserved = fn.reserved_concurrency
    if reserved is not None and str(reserved) != "":
        if running >= int(reserved):
            raise TooManyRequestsException("ReservedFunctionConcurrentInvocationLimitExceeded")
        return
    reserved_total = sum(
        int(f.reserved_concurrency)
        for f in backend.list_functions()
        if f.reserved_concurrency not in (None, "")
    )
    unreserved_running = sum(
        state.pool.busy(f.function_name)
        for f in backend.list_functions()
        if f.reserved_concurrency in (None, "")
    )
    if unreserved_running >= state.account_concurrency - reserved_total:
        raise TooManyRequestsException("ConcurrentInvocationLimitExceeded")


def run_invocation(
    backend: LambdaBackend,
    fn: LambdaFunction,
    event: Any,
    *,
    invoked_arn: str | None = None,
    invocation_type: str = "RequestResponse",
    source: str = "invoke",
    client_context: Any = None,
    request_id: str | None = None,
) -> InvokeResult:
    """Run one invocation of ``fn`` now and write its log to CloudWatch Logs.

    ``request_id`` is given for a retried asynchronous event, which keeps its request id.

    Raises:
        TooManyRequestsException: No concurrency left (reserved or the account's).
    """
    state = state_of(backend)
    try:
        _throttle_check(backend, state, fn)
    except TooManyRequestsException as throttled:
        _record_throttle(state, fn, invocation_type, source, throttled)
        raise
    config = function_config(fn)
    if not config.code:
        raise InvalidParameterValueException(
            f"Function {fn.function_name} has no code that labkit can run (give Code.ZipFile)."
        )
    env = state.pool.acquire(config)
    request_id = request_id or str(mock_random.uuid4())
    concurrency = state.pool.busy() + 1  # the environments running now, this one included
    result = env.invoke(event, request_id, invoked_arn or fn.function_arn, client_context)
    _write_logs(fn, result)
    state.history.append(
        InvocationRecord(
            fn.function_name, invocation_type, source, result, time.time(), concurrency
        )
    )
    return result


# -- recording for labkit.services.awslambda.state (the invocation view) --------------------------
def _record_throttle(
    state: LambdaState,
    fn: LambdaFunction,
    invocation_type: str,
    source: str,
    throttled: TooManyRequestsException,
) -> None:
    """Remember a throttled invocation: a throttle never reaches the runtime, so without this the
    invocation view could not show it."""
    state.throttles.append(
        ThrottleRecord(fn.function_name, invocation_type, source, throttled.reason, time.time())
    )


def _write_logs(fn: LambdaFunction, result: InvokeResult) -> None:
    logs = fn.logs_backend
    group = f"/aws/lambda/{fn.function_name}"
    logs.ensure_log_group(group)
    logs.ensure_log_stream(group, result.log_stream)
    logs.put_log_events(
        group,
        result.log_stream,
        [{"timestamp": e.timestamp, "message": e.message} for e in result.logs],
    )


def parse_payload(body: Any) -> Any:
    """The event a caller sent (``{}`` when it sent nothing).

    Raises:
        InvalidRequestContentException: The payload is not JSON.
    """
    if body is None or body in (b"", ""):
        return {}
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        return json.loads(body)
    except ValueError as e:
        raise InvalidRequestContentException(str(e)) from None


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    lowered = name.lower()
    for key, value in dict(headers).items():
        if str(key).lower() == lowered:
            return str(value)
    return None


def _client_context(raw: str | None) -> Any:
    if not raw:
        return None
    try:
        return json.loads(base64.b64decode(raw))
    except (ValueError, binascii.Error):
        return None


def invoke_async(
    backend: LambdaBackend,
    fn: LambdaFunction,
    event: Any,
    *,
    source: str = "invoke",
    attempt: int = 0,
    delay: float = 0.0,
    queued: QueuedEvent | None = None,
) -> None:
    """Queue an asynchronous invocation on the lab clock (``delay`` seconds from now).

    A failed attempt is retried ``MaximumRetryAttempts`` times (two by default), one and then two
    minutes later; a throttled one is retried with growing waits. The attempt runs only if the
    function still exists in this world when its time comes. What happens to the event after
    its last attempt (destinations, dead-letter queue, ``MaximumEventAgeInSeconds``) is in
    :mod:`labkit.services.awslambda.patch_destinations`; ``queued`` carries the event across its
    attempts (its request id, age and invoke count).
    """
    from labkit.services.awslambda import patch_destinations as outcome

    state = state_of(backend)
    clock = state.clock_of()
    backend_ref = weakref.ref(backend)
    name, qualifier = fn.function_name, None if fn.version == "$LATEST" else str(fn.version)
    queued = queued if queued is not None else outcome.QueuedEvent(event, clock.timestamp)

    def run() -> None:
        live = backend_ref()
        if live is None:
            return
        try:
            current = live.get_function(name, qualifier)
        except Exception:
            return  # Deleted (or the world was reset) before its turn.
        if outcome.expired(current, queued):
            outcome.failed(live, current, queued, outcome.EVENT_AGE_EXCEEDED)
            return
        try:
            result = run_invocation(
                live,
                current,
                event,
                invocation_type="Event",
                source=source,
                request_id=queued.request_id,
            )
        except TooManyRequestsException:
            if outcome.throttled_for_good(live, current, queued):
                return
            wait = min(300.0, max(1.0, delay * 2))
            invoke_async(
                live, current, event, source=source, attempt=attempt, delay=wait, queued=queued
            )
            return
        queued.ran(result)
        if result.function_error is None:
            outcome.succeeded(live, current, queued)
            return
        retries = _max_retries(current)
        if attempt < retries:
            invoke_async(
                live,
                current,
                event,
                source=source,
                attempt=attempt + 1,
                delay=_async_retry_delays()[min(attempt, 1)],
                queued=queued,
            )
        else:
            outcome.failed(live, current, queued, outcome.RETRIES_EXHAUSTED)

    clock.call_later(delay, run, label=f"lambda:{name}:event")


def _max_retries(fn: LambdaFunction) -> int:
    for config in getattr(fn, "event_invoke_config", []) or []:
        value = getattr(config, "config", {}).get("MaximumRetryAttempts")
        if value is not None:
            return int(value)
    return int(facts.value("lambda.async_retries_default"))


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install the Lambda patches (and the triggers) for ``sandbox``."""
    from labkit.services.awslambda import patch_destinations as lambda_destinations
    from labkit.services.awslambda import patch_names as lambda_names
    from labkit.services.awslambda import patch_triggers as lambda_triggers

    root = Path(tempfile.mkdtemp(prefix="labkit-lambda-"))
    stack.callback(shutil.rmtree, str(root), True)

    def clock_of() -> Clock:
        return sandbox.clock

    def factory() -> LambdaState:
        return LambdaState(Path(tempfile.mkdtemp(dir=root)), clock_of)

    original_invoke = LambdaSimpleBackend.invoke
    original_create = LambdaBackend.create_function
    original_update_config = LambdaBackend.update_function_configuration
    original_delete = LambdaBackend.delete_function

    def invoke(
        self: LambdaBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> bytes:
        fn = self.get_function(function_name, qualifier)
        invocation_type = _header(headers, "X-Amz-Invocation-Type") or "RequestResponse"
        size = len(body) if body else 0
        if invocation_type == "DryRun":
            return b""
        event = parse_payload(body)
        if invocation_type == "Event":
            limit = int(facts.value("lambda.async_payload_max"))
            if size > limit:
                raise RequestTooLargeException(limit)
            invoke_async(self, fn, event)
            return b""
        limit = int(facts.value("lambda.sync_payload_max"))
        if size > limit:
            raise RequestTooLargeException(limit)
        result = run_invocation(
            self,
            fn,
            event,
            invoked_arn=_invoked_arn(fn, function_name, qualifier),
            client_context=_client_context(_header(headers, "X-Amz-Client-Context")),
        )
        response_headers["x-amz-executed-version"] = str(fn.version)
        if result.function_error:
            response_headers["x-amz-function-error"] = result.function_error
        if (_header(headers, "X-Amz-Log-Type") or "None") == "Tail":
            response_headers["x-amz-log-result"] = result.log_tail(
                int(facts.value("lambda.log_tail_max"))
            )
        return result.payload

    def create_function(self: LambdaBackend, spec: dict[str, Any]) -> LambdaFunction:
        _check_settings(spec)
        _check_environment(spec.get("Environment", {}).get("Variables") or {})
        return original_create(self, spec)

    def update_function_configuration(
        self: LambdaBackend, function_name: str, qualifier: str, body: dict[str, Any]
    ) -> dict[str, Any] | None:
        _check_settings(body)
        if "Environment" in body:
            _check_environment(body["Environment"].get("Variables") or {})
        return original_update_config(self, function_name, qualifier, body)

    def delete_function(
        self: LambdaBackend, function_name: str, qualifier: str | None = None
    ) -> None:
        original_delete(self, function_name, qualifier)
        state = getattr(self, "labkit_lambda", None)
        if state is not None and qualifier is None:
            state.pool.discard(function_name.rsplit(":", 1)[-1])

    LambdaBackend._labkit_factory = staticmethod(factory)  # type: ignore[attr-defined]
    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
    LambdaBackend.create_function = create_function  # type: ignore[method-assign]
    LambdaBackend.update_function_configuration = update_function_configuration  # type: ignore[method-assign]
    LambdaBackend.delete_function = delete_function  # type: ignore[method-assign]

    def undo() -> None:
        LambdaSimpleBackend.invoke = original_invoke  # type: ignore[method-assign]
        LambdaBackend.create_function = original_create  # type: ignore[method-assign]
        LambdaBackend.update_function_configuration = original_update_config  # type: ignore[method-assign]
        LambdaBackend.delete_function = original_delete  # type: ignore[method-assign]
        del LambdaBackend._labkit_factory  # type: ignore[attr-defined]

    stack.callback(undo)
    stack.enter_context(qualifier_read())
    lambda_triggers.install(sandbox, stack)
    lambda_destinations.install(sandbox, stack)
    lambda_names.install(sandbox, stack)


@contextmanager
def qualifier_read() -> Iterator[None]:
    """Make ``Invoke`` honour its ``Qualifier`` query parameter.

    moto's response handler asks for ``qualifier`` while boto3 (and the API,
    https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html) send ``Qualifier``, so an
    invoke of version 1 or an alias would silently run ``$LATEST``.
    """
    original = LambdaResponse.invoke

    def invoke(self: LambdaResponse) -> Any:
        given = self.querystring.get("Qualifier")
        if given and "qualifier" not in self.querystring:
            self.querystring["qualifier"] = given
        return original(self)

    LambdaResponse.invoke = invoke  # type: ignore[method-assign]
    try:
        yield
    finally:
        LambdaResponse.invoke = original  # type: ignore[method-assign]


def _invoked_arn(fn: LambdaFunction, name: str, qualifier: str | None) -> str:
    base = fn.function_arn if fn.version == "$LATEST" else fn.function_arn.rsplit(":", 1)[0]
    if name.startswith("arn:") and name.count(":") == 7:
        return name
    return f"{base}:{qualifier}" if qualifier else base


def _check_settings(request: dict[str, Any]) -> None:
    """Refuse a ``Timeout`` or ``MemorySize`` beyond Lambda's limits, with Lambda's message.

    AWS answers ``ValidationException``: "1 validation error detected: Value '901' at 'timeout'
    failed to satisfy constraint: Member must have value less than or equal to 900" (and likewise
    at 'memorySize' with 10240, or "greater than or equal to 128"). boto3 itself refuses values
    under its model's minimums before sending; the service checks the rest. The API reference does
    not print the wording: it is Lambda's as recorded in failed deployments, e.g.
    https://github.com/covidatlas/li/pull/575 (timeout, 900). Limits:
    https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
    https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html
    https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
    """
    errors: list[str] = []
    timeout = request.get("Timeout")
    if timeout is not None:
        limit = int(facts.value("lambda.timeout_max"))
        if int(timeout) > limit:
            errors.append(_constraint(timeout, "timeout", f"less than or equal to {limit}"))
    memory = request.get("MemorySize")
    if memory is not None:
        low, high = int(facts.value("lambda.memory_min")), int(facts.value("lambda.memory_max"))
        if int(memory) < low:
            errors.append(_constraint(memory, "memorySize", f"greater than or equal to {low}"))
        elif int(memory) > high:
            errors.append(_constraint(memory, "memorySize", f"less than or equal to {high}"))
    if errors:
        raise SettingsValidationException(errors)


def _constraint(value: Any, member: str, bound: str) -> str:
    """One error of Lambda's validation message (AWS names the member in camelCase)."""
    return (
        f"Value '{value}' at '{member}' failed to satisfy constraint: "
        f"Member must have value {bound}"
    )


def _check_environment(variables: dict[str, Any]) -> None:
    """Refuse environment variables over Lambda's 4 KB total, with Lambda's message.

    Lambda measures the variables as compact JSON.
    https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
    """
    measured = json.dumps(variables, separators=(",", ":"))
    if len(measured.encode("utf-8")) > int(facts.value("lambda.env_vars_max_total")):
        raise InvalidParameterValueException(
            "Lambda was unable to configure your environment variables because the environment "
            f"variables you have provided exceeded the 4KB limit. String measured: {measured}"
        )
