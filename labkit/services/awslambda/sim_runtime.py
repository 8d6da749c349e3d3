"""An in-process Lambda runtime for Python handlers: execution environments, cold and warm starts,
the context object, timeouts, logs and errors as AWS's Python runtime produces them.

Plain Python (no moto): the sandbox's Lambda patch turns moto's functions into
:class:`FunctionConfig` and hands the results back to moto and CloudWatch Logs.

What an :class:`ExecutionEnvironment` reproduces (Python runtime, text log format):

- Init once per environment: the handler's module (and its module-level code) is imported at the
  environment's first invocation, with an ``INIT_START`` log line and ``Init Duration`` in the
  ``REPORT`` line; later invocations in the same environment are warm.
  https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html
- The context object's attributes as the runtime sets them (``memory_limit_in_mb`` and
  ``function_version`` are strings, read from the environment variables).
  https://docs.aws.amazon.com/lambda/latest/dg/python-context.html
- ``print`` lines and ``logging`` records (``[LEVEL]\\ttime\\trequest id\\tmessage``; the root
  logger stays at WARNING unless the code lowers it, and ``logging.basicConfig`` does nothing
  because the runtime already installed a handler).
  https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html
- Errors: an exception becomes ``{"errorMessage", "errorType", "requestId", "stackTrace"}`` with
  frames under ``/var/task``; init failures are ``Runtime.ImportModuleError``,
  ``Runtime.HandlerNotFound``, ``Runtime.UserCodeSyntaxError``; a result that is not JSON is
  ``Runtime.MarshalError``; a timeout is ``Sandbox.Timedout`` and ``Status: timeout`` in the
  ``REPORT`` line; ``sys.exit`` is ``Runtime.ExitError``. After a timeout or an exit the
  environment is thrown away, so the next invocation is a cold start.
  https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html

Time: log timestamps come from ``now()`` (the lab clock inside a lab); durations are wall time,
because that is what learner code really spends, and the timeout counts running time (wall time
less the time a busy machine kept the handler waiting for a CPU: :mod:`labkit.running_time`).
"""

from __future__ import annotations

import base64
import contextlib
import decimal
import io
import json
import math
import shutil
import sys
import tempfile
import time
import traceback
import uuid
import weakref
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO, cast

from labkit.services.awslambda.sim_isolation import (
    RUN_LOCK,
    CodeSpace,
    HandlerTimeout,
    LambdaLogHandler,
    LineSink,
    WallLimit,
    process_state,
)

#: Not an AWS number: the notebook's process is shared, so real memory use cannot be measured per
#: function. ``Max Memory Used`` reports this modelled figure (a small Python function on Lambda
#: reports about as much) plus the size of the code.
MODELLED_RUNTIME_MB = 36

#: The text format's indentation of stack-trace lines in the ``[ERROR]`` log event (the runtime
#: replaces leading spaces with no-break spaces so CloudWatch keeps them).
_TRACE_INDENT = "\u00a0"


@dataclass(frozen=True)
class FunctionConfig:
    """What the runtime needs to know about one function version."""

    name: str
    arn: str
    version: str
    handler: str
    runtime: str
    timeout: float
    memory_mb: int
    region: str
    code: bytes
    code_sha256: str
    environment: Mapping[str, str] = field(default_factory=dict)
    init_timeout: float = 10.0

    @property
    def log_group(self) -> str:
        """The CloudWatch Logs group Lambda writes to."""
        return f"/aws/lambda/{self.name}"

    @property
    def fingerprint(self) -> tuple[Any, ...]:
        """Changes whenever code or configuration changes: environments of an older fingerprint
        are never reused (Lambda starts new ones after an update)."""
        return (
            self.code_sha256,
            self.handler,
            self.runtime,
            self.timeout,
            self.memory_mb,
            tuple(sorted(self.environment.items())),
        )


@dataclass(frozen=True)
class LogEvent:
    """One CloudWatch Logs event."""

    timestamp: int
    message: str


@dataclass
class InvokeResult:
    """What one invocation produced.

    Attributes:
        request_id: The invocation's request id.
        payload: The response payload (JSON bytes), or the error object for a failed invocation.
        function_error: ``"Unhandled"`` when the function failed (the ``X-Amz-Function-Error``
            header), else ``None``.
        status: ``success``, ``error`` (an exception or an init failure), ``timeout`` or
            ``exit`` (the code called ``sys.exit``).
        logs: The log events, ``START`` to ``REPORT``.
        duration_ms: Wall time of the handler (capped at the timeout).
        init_duration_ms: Wall time of the init phase for a cold start, else ``None``.
        environment_id: Which execution environment ran it.
        log_stream: The CloudWatch Logs stream of that environment.
    """

    request_id: str
    payload: bytes
    function_error: str | None
    status: str
    logs: list[LogEvent]
    duration_ms: float
    init_duration_ms: float | None
    environment_id: str
    log_stream: str

    @property
    def cold(self) -> bool:
        """Whether this invocation started a new execution environment."""
        return self.init_duration_ms is not None

    def log_text(self) -> str:
        """The invocation's log as text, one event per line."""
        return "".join(
            e.message if e.message.endswith("\n") else e.message + "\n" for e in self.logs
        )

    def log_tail(self, limit: int) -> str:
        """The last ``limit`` bytes of the log, base64-encoded (``LogType=Tail``)."""
        return base64.b64encode(self.log_text().encode("utf-8")[-limit:]).decode("ascii")


class _LambdaJSONEncoder(json.JSONEncoder):
    """The runtime's encoder: ``Decimal`` (what DynamoDB's resource API returns) is a number."""

    def default(self, o: Any) -> Any:
        if isinstance(o, decimal.Decimal):
            if o.is_nan():
                return math.nan
            return int(o) if o == o.to_integral_value() else float(o)
        return super().default(o)


def marshal_response(value: Any) -> bytes:
    """The handler's return value as the runtime sends it (bytes are sent as they are).

    Raises:
        TypeError: When the value cannot be serialised to JSON.
    """
    if isinstance(value, bytes):
        return value
    return _LambdaJSONEncoder().encode(value).encode("utf-8")


def error_object(
    message: str, error_type: str, stack_trace: list[str], request_id: str
) -> dict[str, Any]:
    """The error object the Python runtime reports for a failed invocation."""
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": stack_trace,
    }


def error_log_message(error: Mapping[str, Any]) -> str:
    """The ``[ERROR]`` log event the Python runtime writes for an error object."""
    head = "[ERROR]"
    if error.get("errorType"):
        head += " " + str(error["errorType"])
    if error.get("errorMessage"):
        head += (":" if error.get("errorType") else "") + " " + str(error["errorMessage"])
    lines = [head, "Traceback (most recent call last):"]
    for element in error.get("stackTrace") or []:
        for line in str(element).splitlines() or [""]:
            stripped = line.lstrip(" ")
            lines.append(_TRACE_INDENT * (len(line) - len(stripped)) + stripped)
    return "\n".join(lines)


class LambdaContext:
    """The context object handed to a Python handler, with the attributes the runtime sets.

    https://docs.aws.amazon.com/lambda/latest/dg/python-context.html
    """

    def __init__(
        self,
        *,
        aws_request_id: str,
        function_name: str,
        function_version: str,
        invoked_function_arn: str,
        memory_limit_in_mb: str,
        log_group_name: str,
        log_stream_name: str,
        deadline: float,
        client_context: Any = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.aws_request_id = aws_request_id
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = memory_limit_in_mb
        self.log_group_name = log_group_name
        self.log_stream_name = log_stream_name
        self.identity = _CognitoIdentity()
        self.client_context = client_context
        self.tenant_id: str | None = None
        self._deadline = deadline
        self._log = log

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds of wall time left before the function times out."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def log(self, msg: object) -> None:
        """Write ``msg`` to the function's log without a newline of its own."""
        if self._log is not None:
            self._log(str(msg))

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"client_context={self.client_context},identity={self.identity}])"
        )


class _CognitoIdentity:
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self) -> None:
        self.cognito_identity_id: str | None = None
        self.cognito_identity_pool_id: str | None = None

    def __repr__(self) -> str:
        return (
            f"CognitoIdentity([cognito_identity_id={self.cognito_identity_id},"
            f"cognito_identity_pool_id={self.cognito_identity_pool_id}])"
        )


class _InitFailure(Exception):
    """The init phase failed; carries the error object and the status for the REPORT line."""

    def __init__(self, error: dict[str, Any], status: str = "error") -> None:
        super().__init__(error.get("errorMessage", ""))
        self.error = error
        self.status = status


class ExecutionEnvironment:
    """One Lambda execution environment: its code directory, its ``/tmp``, its imported handler.

    Args:
        config: The function version it runs.
        directory: A directory of its own (code in ``task/``, ``/tmp`` in ``tmp/``).
        env_id: Its id (32 hex characters, as in log stream names).
        now: Epoch seconds for log timestamps.
    """

    def __init__(
        self, config: FunctionConfig, directory: Path, env_id: str, now: Callable[[], float]
    ) -> None:
        self.config = config
        self.id = env_id
        self.directory = directory
        self.task_dir = directory / "task"
        self.tmp_dir = directory / "tmp"
        self._now = now
        self.task_dir.mkdir(parents=True)
        self.tmp_dir.mkdir()
        with zipfile.ZipFile(io.BytesIO(config.code)) as archive:
            archive.extractall(self.task_dir)
        self.code = CodeSpace(self.task_dir)
        self.handler: Callable[[Any, Any], Any] | None = None
        self.root_level = 30  # logging.WARNING: the runtime leaves the root logger's default.
        self.busy = False
        self.dead = False
        self.invocations = 0
        self.created_at = now()
        self.last_used = self.created_at
        day = datetime.fromtimestamp(self.created_at, tz=timezone.utc)
        self.log_stream = f"{day:%Y/%m/%d}/[{config.version}]{env_id}"
        self._events: list[LogEvent] = []
        self._request_id = ""

    # -- logging ----------------------------------------------------------------------------
    def _log(self, message: str) -> None:
        self._events.append(LogEvent(int(self._now() * 1000), message))

    def _environ(self) -> dict[str, str]:
        c = self.config
        runtime_dir = str(self.directory / "runtime")
        return {
            **c.environment,
            "_HANDLER": c.handler,
            "AWS_REGION": c.region,
            "AWS_DEFAULT_REGION": c.region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{c.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": c.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(c.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": c.version,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": c.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
            "LAMBDA_TASK_ROOT": str(self.task_dir),
            "LAMBDA_RUNTIME_DIR": runtime_dir,
        }

    @contextlib.contextmanager
    def _running(self, out: LineSink) -> Any:
        handler = LambdaLogHandler(self._log, lambda: self._request_id)

        def keep_level(level: int) -> None:
            self.root_level = level

        stream = cast(TextIO, out)
        with (
            self.code.active(),
            process_state(
                self._environ(), self.tmp_dir, stream, stream, handler, self.root_level, keep_level
            ),
        ):
            yield

    def _trace(self, tb: Any) -> list[str]:
        """Formatted frames of learner code, with its directory shown as ``/var/task``."""
        frames = [
            f for f in traceback.extract_tb(tb) if not f.filename.startswith(_THIS_PACKAGE_DIR)
        ]
        root = str(self.task_dir)
        summary = traceback.StackSummary.from_list(
            [
                (
                    f.filename.replace(root, "/var/task", 1),
                    f.lineno or 0,
                    f.name,
                    f.line,
                )
                for f in frames
            ]
        )
        return summary.format()

    # -- init -------------------------------------------------------------------------------
    def _initialize(self, out: LineSink) -> float:
        """Import the handler; returns the init duration in ms.

        Raises:
            _InitFailure: The init phase failed (the environment is dead).
        """
        c = self.config
        major_minor = c.runtime.removeprefix("python")
        self._log(
            f"INIT_START Runtime Version: python:{major_minor}.labkit\tRuntime Version ARN: "
            f"arn:aws:lambda:{c.region}::runtime:labkit-{c.runtime}"
        )
        start = time.perf_counter()
        limit = WallLimit(c.init_timeout)
        try:
            with self._running(out):
                limit.arm()
                try:
                    self.handler = self._load_handler()
                finally:
                    limit.disarm()
        except HandlerTimeout as exc:
            limit.disarm()
            if not limit.owns(exc):
                raise
            raise _InitFailure(
                {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"Init phase timed out after {c.init_timeout:.2f} seconds",
                },
                status="timeout",
            ) from None
        except SystemExit as exc:
            raise _InitFailure(_exit_error(exc, "")) from None
        finally:
            out.close_line()
        return (time.perf_counter() - start) * 1000

    def _load_handler(self) -> Callable[[Any, Any], Any]:
        import importlib

        handler = self.config.handler
        try:
            modname, fname = handler.rsplit(".", 1)
        except ValueError as e:
            raise _InitFailure(
                error_object(
                    f"Bad handler '{handler}': {e}", "Runtime.MalformedHandlerName", [], ""
                )
            ) from None
        try:
            if modname.split(".")[0] in sys.builtin_module_names:
                raise _InitFailure(
                    error_object(
                        f"Cannot use built-in module {modname} as a handler module",
                        "Runtime.BuiltInModuleConflict",
                        [],
                        "",
                    )
                )
            module = importlib.import_module(modname.replace("/", "."))
        except ImportError as e:
            raise _InitFailure(
                error_object(
                    f"Unable to import module '{modname}': {e}", "Runtime.ImportModuleError", [], ""
                )
            ) from None
        except SyntaxError as e:
            filename = str(e.filename or "").replace(str(self.task_dir), "/var/task", 1)
            trace = [f'  File "{filename}" Line {e.lineno}\n    {e.text}']
            raise _InitFailure(
                error_object(
                    f"Syntax error in module '{modname}': {e}",
                    "Runtime.UserCodeSyntaxError",
                    trace,
                    "",
                )
            ) from None
        except _InitFailure:
            raise
        except Exception as e:
            raise _InitFailure(
                error_object(str(e), type(e).__name__, self._trace(e.__traceback__), "")
            ) from None
        try:
            function: Callable[[Any, Any], Any] = getattr(module, fname)
        except AttributeError:
            raise _InitFailure(
                error_object(
                    f"Handler '{fname}' missing on module '{modname}'",
                    "Runtime.HandlerNotFound",
                    [],
                    "",
                )
            ) from None
        return function

    # -- invoke -----------------------------------------------------------------------------
    def invoke(
        self,
        event: Any,
        request_id: str,
        invoked_arn: str,
        client_context: Any = None,
    ) -> InvokeResult:
        """Run one invocation (the init phase first, on a new environment).

        Args:
            event: The event, already parsed from JSON.
            request_id: The invocation's request id.
            invoked_arn: The ARN the caller used (qualified if it named a version or alias).
            client_context: The decoded ``ClientContext``, if the caller sent one.
        """
        with RUN_LOCK:
            self.busy = True
            self._events = []
            self._request_id = request_id
            out = LineSink(self._log)
            try:
                return self._invoke(event, request_id, invoked_arn, client_context, out)
            finally:
                self.busy = False
                self.invocations += 1
                self.last_used = self._now()

    def _invoke(
        self, event: Any, request_id: str, invoked_arn: str, client_context: Any, out: LineSink
    ) -> InvokeResult:
        c = self.config
        init_ms: float | None = None
        init_error: _InitFailure | None = None
        if self.handler is None:
            init_start = time.perf_counter()
            try:
                init_ms = self._initialize(out)
            except _InitFailure as failure:
                init_ms = (time.perf_counter() - init_start) * 1000
                init_error = failure
                self.dead = True
                self._log(
                    "[WARNING]\t"
                    + _iso(self._now())
                    + "\t\tLAMBDA_WARNING: Unhandled exception. The most likely cause is an issue "
                    "in the function code."
                )
                if failure.status != "timeout":
                    self._log(error_log_message(failure.error))
                self._log(
                    f"INIT_REPORT Init Duration: {init_ms:.2f} ms\tPhase: init\tStatus: "
                    f"{failure.status}"
                    + (
                        f"\tError Type: {failure.error['errorType']}"
                        if failure.status == "error"
                        else ""
                    )
                )
        self._log(f"START RequestId: {request_id} Version: {c.version}")
        start = time.perf_counter()
        status = "success"
        error_type: str | None = None
        if init_error is not None:
            status = init_error.status
            error_type = init_error.error.get("errorType")
            payload = _dump(init_error.error)
        else:
            status, error_type, payload = self._run_handler(
                event, request_id, invoked_arn, client_context, out
            )
        duration_ms = (time.perf_counter() - start) * 1000
        if status == "timeout":
            duration_ms = c.timeout * 1000
        self._log(f"END RequestId: {request_id}")
        self._log(self._report(request_id, duration_ms, init_ms, status, error_type))
        return InvokeResult(
            request_id=request_id,
            payload=payload,
            function_error=None if status == "success" else "Unhandled",
            status=status,
            logs=list(self._events),
            duration_ms=duration_ms,
            init_duration_ms=init_ms,
            environment_id=self.id,
            log_stream=self.log_stream,
        )

    def _run_handler(
        self, event: Any, request_id: str, invoked_arn: str, client_context: Any, out: LineSink
    ) -> tuple[str, str | None, bytes]:
        c = self.config
        assert self.handler is not None
        context = LambdaContext(
            aws_request_id=request_id,
            function_name=c.name,
            function_version=c.version,
            invoked_function_arn=invoked_arn,
            memory_limit_in_mb=str(c.memory_mb),
            log_group_name=c.log_group,
            log_stream_name=self.log_stream,
            deadline=time.monotonic() + c.timeout,
            client_context=client_context,
            log=out.log,
        )
        limit = WallLimit(c.timeout)
        try:
            with self._running(out):
                limit.arm()
                try:
                    value = self.handler(event, context)
                finally:
                    limit.disarm()
        except HandlerTimeout as exc:
            limit.disarm()
            out.close_line()
            if not limit.owns(exc):
                raise
            self.dead = True
            return (
                "timeout",
                "Sandbox.Timedout",
                _dump(
                    {
                        "errorType": "Sandbox.Timedout",
                        "errorMessage": f"RequestId: {request_id} Error: Task timed out after "
                        f"{c.timeout:.2f} seconds",
                    }
                ),
            )
        except SystemExit as exc:
            out.close_line()
            self.dead = True
            return "exit", "Runtime.ExitError", _dump(_exit_error(exc, request_id))
        except Exception as exc:
            out.close_line()
            error = error_object(
                str(exc), type(exc).__name__, self._trace(exc.__traceback__), request_id
            )
            self._log(error_log_message(error))
            return "error", None, _dump(error)
        out.close_line()
        try:
            return "success", None, marshal_response(value)
        except (TypeError, ValueError) as exc:
            error = error_object(
                f"Unable to marshal response: {exc}", "Runtime.MarshalError", [], request_id
            )
            self._log(error_log_message(error))
            return "error", None, _dump(error)

    def _report(
        self,
        request_id: str,
        duration_ms: float,
        init_ms: float | None,
        status: str,
        error_type: str | None,
    ) -> str:
        c = self.config
        # Since 2025 the init phase of on-demand functions is billed like the handler:
        # https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/
        billed = math.ceil(duration_ms + (init_ms or 0.0))
        used = min(c.memory_mb, MODELLED_RUNTIME_MB + math.ceil(len(c.code) / 2**20))
        line = (
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {billed} ms\tMemory Size: {c.memory_mb} MB\t"
            f"Max Memory Used: {used} MB"
        )
        if init_ms is not None:
            line += f"\tInit Duration: {init_ms:.2f} ms"
        if status == "timeout":
            line += "\tStatus: timeout"
        elif status in ("exit",) or (status == "error" and error_type):
            line += f"\tStatus: error\tError Type: {error_type}"
        return line

    def destroy(self) -> None:
        """Remove the environment's directories; it never runs again."""
        self.dead = True
        self.handler = None
        self.code.modules.clear()
        shutil.rmtree(self.directory, ignore_errors=True)


def _exit_error(exc: SystemExit, request_id: str) -> dict[str, Any]:
    code = exc.code
    if isinstance(code, str):
        # Python prints a string exit argument to stderr and exits with status 1.
        print(code, file=sys.stderr)
        code = 1
    if code in (None, 0):
        reason = "Runtime exited without providing a reason"
    else:
        reason = f"Runtime exited with error: exit status {code}"
    prefix = f"RequestId: {request_id} Error: " if request_id else "Error: "
    return {"errorType": "Runtime.ExitError", "errorMessage": prefix + reason}


def _dump(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj).encode("utf-8")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


_THIS_PACKAGE_DIR = str(Path(__file__).resolve().parent)


class EnvironmentPool:
    """The execution environments of the functions of one account and Region.

    Args:
        root: Where environments get their directories; a temporary directory by default (removed
            when the pool is garbage-collected).
        now: Epoch seconds (the lab clock inside a lab).
        new_id: Makes environment ids (32 hex characters).
        idle_lifetime: Seconds of ``now()`` after which an idle environment is reclaimed (Lambda
            does this at a time it does not document); ``None`` keeps idle ones forever.
    """

    def __init__(
        self,
        root: Path | None = None,
        *,
        now: Callable[[], float] = time.time,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        idle_lifetime: float | None = None,
    ) -> None:
        if root is None:
            root = Path(tempfile.mkdtemp(prefix="labkit-lambda-"))
            weakref.finalize(self, shutil.rmtree, str(root), True)
        self.root = root
        self.now = now
        self.new_id = new_id
        self.idle_lifetime = idle_lifetime
        self._envs: dict[str, list[ExecutionEnvironment]] = {}

    def __deepcopy__(self, memo: dict[int, Any]) -> EnvironmentPool:
        # Environments hold modules and directories: a copied function starts with none.
        return EnvironmentPool(
            self.root, now=self.now, new_id=self.new_id, idle_lifetime=self.idle_lifetime
        )

    def environments(self, function_name: str) -> list[ExecutionEnvironment]:
        """The live environments of a function (all versions)."""
        return [e for e in self._envs.get(function_name, []) if not e.dead]

    def busy(self, function_name: str | None = None) -> int:
        """How many environments are running an invocation now (of one function, or all)."""
        names = [function_name] if function_name is not None else list(self._envs)
        return sum(1 for n in names for e in self._envs.get(n, []) if e.busy and not e.dead)

    def acquire(self, config: FunctionConfig) -> ExecutionEnvironment:
        """An idle environment of this exact code and configuration, or a new one (cold start)."""
        now = self.now()
        kept: list[ExecutionEnvironment] = []
        chosen: ExecutionEnvironment | None = None
        for env in self._envs.get(config.name, []):
            stale = env.config.fingerprint != config.fingerprint and env.config.version == (
                config.version
            )
            expired = (
                self.idle_lifetime is not None
                and not env.busy
                and now - env.last_used > self.idle_lifetime
            )
            if env.dead or (not env.busy and (stale or expired)):
                env.destroy()
                continue
            kept.append(env)
            if (
                chosen is None
                and not env.busy
                and env.config.version == config.version
                and env.config.fingerprint == config.fingerprint
            ):
                chosen = env
        if chosen is None:
            env_id = self.new_id()
            chosen = ExecutionEnvironment(config, self.root / env_id, env_id, self.now)
            kept.append(chosen)
        self._envs[config.name] = kept
        return chosen

    def discard(self, function_name: str) -> None:
        """Throw away every idle environment of a function (busy ones die when they finish)."""
        for env in self._envs.get(function_name, []):
            if not env.busy:
                env.destroy()
            else:
                env.dead = True
        self._envs.pop(function_name, None)

    def clear(self) -> None:
        """Throw away every environment."""
        for name in list(self._envs):
            self.discard(name)
