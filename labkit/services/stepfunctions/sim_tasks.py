"""Task states: what a ``Resource`` ARN calls, the three integration patterns, and the timers.

- ``arn:aws:lambda:...:function:NAME`` (the bare ARN): the function's payload is the result;
  history says ``LambdaFunction*``.
- ``arn:aws:states:::SERVICE:ACTION`` (optimized integrations: ``lambda:invoke``,
  ``sqs:sendMessage``, ``sns:publish``, ``dynamodb:getItem|putItem|updateItem|deleteItem``,
  ``states:startExecution``) and ``arn:aws:states:::aws-sdk:SERVICE:ACTION``: the service's
  response is the result; history says ``Task*``.
- Patterns: request-response (the call's answer), ``.sync``/``.sync:2`` (a child execution's end;
  ``:2`` parses its output), ``.waitForTaskToken`` (the call is made with ``$$.Task.Token``, then
  the task waits for ``SendTaskSuccess``/``SendTaskFailure``).
- ``arn:aws:states:REGION:ACCOUNT:activity:NAME``: the input waits for a worker's
  ``GetActivityTask``; the worker answers with the token it was given.
- ``TimeoutSeconds`` (default 99999999) and ``HeartbeatSeconds`` (and their ``Path`` forms, or
  JSONata expressions) run on the lab clock: ``States.Timeout``, ``States.HeartbeatTimeout``.
https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html
https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-activities.html

A failed Lambda function fails the task with its ``errorType`` as the error name and the error
payload (JSON) as the cause; a service's own error is ``<Service>.<Code>`` (``Lambda.
ResourceNotFoundException``, ``DynamoDB.ConditionalCheckFailedException``).
https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html
"""

from __future__ import annotations

import base64
import re
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labkit import facts
from labkit.services.stepfunctions import sim_jsonata
from labkit.services.stepfunctions.sim_dataflow import dumps
from labkit.services.stepfunctions.sim_definition import JSONATA
from labkit.services.stepfunctions.sim_errors import (
    HEARTBEAT_TIMEOUT,
    RUNTIME,
    TASK_FAILED,
    TIMEOUT,
    StatesError,
)
from labkit.services.stepfunctions.sim_execution import SUCCEEDED, TaskWait
from labkit.services.stepfunctions.sim_runtime import Future

if TYPE_CHECKING:
    from labkit.services.stepfunctions.sim_engine import Engine
    from labkit.services.stepfunctions.sim_interpreter import Interpreter, StateContext

Gen = Generator[Future, Any, Any]

_SERVICE_PREFIX = {
    "lambda": "Lambda",
    "sqs": "SQS",
    "sns": "SNS",
    "dynamodb": "DynamoDB",
    "states": "StepFunctions",
    "s3": "S3",
}
_ARN = re.compile(
    r"^arn:aws[a-z-]*:(?P<service>[a-z0-9-]+):(?P<region>[^:]*):(?P<account>[^:]*):"
    r"(?P<rest>.*)$"
)


@dataclass(frozen=True)
class Resource:
    """A Task's ``Resource``, taken apart.

    Attributes:
        kind: ``function`` (a bare Lambda ARN), ``service`` (optimized or aws-sdk) or
            ``activity``.
        service: ``lambda``, ``sqs``, ... or ``aws-sdk:<service>``.
        action: The API action (``invoke``, ``sendMessage``...).
        pattern: ``""``, ``sync``, ``sync:2`` or ``waitForTaskToken``.
    """

    arn: str
    kind: str
    service: str
    action: str
    pattern: str = ""

    @property
    def history_type(self) -> str:
        """``resourceType`` in history events."""
        return self.service

    @property
    def history_name(self) -> str:
        """``resource`` in history events."""
        return f"{self.action}.{self.pattern}" if self.pattern else self.action


def parse_resource(arn: str) -> Resource:
    """Take a ``Resource`` ARN apart.

    Raises:
        StatesError: ``States.Runtime`` for an ARN no Task can call.
    """
    m = _ARN.match(arn)
    if not m:
        raise StatesError(RUNTIME, f"Invalid resource ARN: {arn}")
    service, rest = m.group("service"), m.group("rest")
    if service == "lambda" and rest.startswith("function:"):
        return Resource(arn, "function", "lambda", "invoke")
    if service == "states" and rest.startswith("activity:"):
        return Resource(arn, "activity", "activity", "activity")
    if service == "states" and not m.group("region"):
        base, _, pattern = rest.partition(".")
        parts = base.split(":")
        if parts[0] == "aws-sdk" and len(parts) == 3:
            return Resource(arn, "service", f"aws-sdk:{parts[1]}", parts[2], pattern)
        if len(parts) == 2:
            return Resource(arn, "service", parts[0], parts[1], pattern)
    raise StatesError(RUNTIME, f"Invalid resource ARN: {arn}")


def service_error(service: str, code: str, message: str) -> StatesError:
    """A service's error as a task reports it (``<Service>.<Code>``)."""
    name = service.split(":", 1)[1] if service.startswith("aws-sdk:") else service
    prefix = _SERVICE_PREFIX.get(name, name[:1].upper() + name[1:])
    return StatesError(f"{prefix}.{code}", message)


def _token(engine: Engine) -> str:
    # AWS's tokens are long opaque base64 strings; these are seeded, so runs repeat.
    return base64.b64encode(engine.rng.getrandbits(8 * 96).to_bytes(96, "big")).decode()


class Tasks:
    """Runs Task states for one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def prepare(self, ctx: StateContext) -> Resource:
        """Parse the resource; a ``.waitForTaskToken`` task gets its token now, so that its
        ``Parameters`` can read ``$$.Task.Token``."""
        resource = parse_resource(str(ctx.state.spec["Resource"]))
        if resource.pattern == "waitForTaskToken":
            ctx.context["Task"] = {"Token": _token(self.engine)}
        return resource

    def _seconds(self, ctx: StateContext, raw: Any, key: str) -> float | None:
        spec = ctx.state.spec
        value: Any
        if ctx.state.query_language == JSONATA and sim_jsonata.is_expression(spec.get(key)):
            value = sim_jsonata.evaluate(
                spec[key], ctx.states(raw), ctx.frame.execution.rng, field=key
            )
        elif f"{key}Path" in spec:
            value = ctx.scope.select(spec[f"{key}Path"], raw, f"{key}Path")
        else:
            value = spec.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise StatesError(
                RUNTIME,
                f"The {key} of Task state '{ctx.state.name}' must be a "
                f"positive integer, not {dumps(value)}",
            )
        return float(value)

    def run(
        self, interp: Interpreter, ctx: StateContext, resource: Resource, arguments: Any, raw: Any
    ) -> Gen:
        """One attempt of a Task; returns its result or raises its error."""
        timeout = self._seconds(ctx, raw, "TimeoutSeconds")
        heartbeat = self._seconds(ctx, raw, "HeartbeatSeconds")
        if resource.kind == "activity":
            return (yield from self._activity(interp, ctx, resource, arguments, timeout, heartbeat))
        if resource.kind == "function":
            return (yield from self._function(interp, ctx, resource, arguments, timeout))
        return (yield from self._service(interp, ctx, resource, arguments, timeout, heartbeat))

    # -- a bare Lambda ARN ----------------------------------------------------------------
    def _function(
        self,
        interp: Interpreter,
        ctx: StateContext,
        resource: Resource,
        arguments: Any,
        timeout: float | None,
    ) -> Gen:
        details: dict[str, Any] = {
            "resource": resource.arn,
            "input": dumps(arguments),
            "inputDetails": {"truncated": False},
        }
        if timeout:
            details["timeoutInSeconds"] = int(timeout)
        interp.event(ctx.frame, "LambdaFunctionScheduled", details)
        interp.event(ctx.frame, "LambdaFunctionStarted", None)
        try:
            response = self.engine.invoke_lambda(
                {"FunctionName": resource.arn, "Payload": arguments}
            )
        except StatesError as err:
            interp.event(
                ctx.frame, "LambdaFunctionFailed", {"error": err.error, "cause": err.cause}
            )
            raise
        payload = response["Payload"]
        interp.event(
            ctx.frame,
            "LambdaFunctionSucceeded",
            {"output": dumps(payload), "outputDetails": {"truncated": False}},
        )
        return payload
        yield

    # -- optimized and aws-sdk integrations -------------------------------------------------
    def _service(
        self,
        interp: Interpreter,
        ctx: StateContext,
        resource: Resource,
        arguments: Any,
        timeout: float | None,
        heartbeat: float | None,
    ) -> Gen:
        ex = ctx.frame.execution
        kind, name = resource.history_type, resource.history_name
        details: dict[str, Any] = {
            "resourceType": kind,
            "resource": name,
            "region": self.engine.region,
            "parameters": dumps(arguments),
        }
        if timeout:
            details["timeoutInSeconds"] = int(timeout)
        if heartbeat:
            details["heartbeatInSeconds"] = int(heartbeat)
        interp.event(ctx.frame, "TaskScheduled", details)
        interp.event(ctx.frame, "TaskStarted", {"resourceType": kind, "resource": name})
        wait: TaskWait | None = None
        if resource.pattern == "waitForTaskToken":
            wait = self.engine.register_token(ctx.context["Task"]["Token"], ex, heartbeat)
        try:
            if not isinstance(arguments, dict):
                raise StatesError(
                    RUNTIME,
                    f"The parameters of Task state '{ctx.state.name}' "
                    f"must be an object, not {dumps(arguments)}",
                )
            if resource.service == "states" and resource.action == "startExecution":
                child = self.engine.start_child(arguments, ctx)
                response: Any = {"ExecutionArn": child.arn, "StartDate": int(child.start * 1000)}
            else:
                if resource.service == "lambda" and resource.action == "invoke":
                    response = self.engine.invoke_lambda(arguments)
                else:
                    response = self.engine.call_service(
                        resource.service, resource.action, arguments
                    )
                child = None
            if resource.pattern in ("sync", "sync:2"):
                if child is None:
                    raise StatesError(
                        RUNTIME,
                        f"labkit runs .{resource.pattern} only for "
                        "states:startExecution, not for "
                        f"{resource.service}:{resource.action}",
                    )
                interp.event(
                    ctx.frame,
                    "TaskSubmitted",
                    {
                        "resourceType": kind,
                        "resource": name,
                        "output": dumps(response),
                        "outputDetails": {"truncated": False},
                    },
                )
                yield from self._wait(ctx, child.done, timeout, None)
                response = self.engine.sync_output(child, parse=resource.pattern == "sync:2")
                if child.status != SUCCEEDED:
                    raise StatesError(TASK_FAILED, dumps(response))
            elif wait is not None:
                interp.event(
                    ctx.frame,
                    "TaskSubmitted",
                    {
                        "resourceType": kind,
                        "resource": name,
                        "output": dumps(response),
                        "outputDetails": {"truncated": False},
                    },
                )
                response = yield from self._wait(ctx, wait.future, timeout, wait)
        except StatesError as err:
            self.engine.forget_token(wait)
            event = "TaskTimedOut" if err.error in (TIMEOUT, HEARTBEAT_TIMEOUT) else "TaskFailed"
            interp.event(
                ctx.frame,
                event,
                {"resourceType": kind, "resource": name, "error": err.error, "cause": err.cause},
            )
            raise
        except GeneratorExit:
            self.engine.forget_token(wait)
            raise
        interp.event(
            ctx.frame,
            "TaskSucceeded",
            {
                "resourceType": kind,
                "resource": name,
                "output": dumps(response),
                "outputDetails": {"truncated": False},
            },
        )
        return response

    def _wait(
        self, ctx: StateContext, future: Future, timeout: float | None, wait: TaskWait | None
    ) -> Gen:
        """Wait for ``future`` with the task's timeout and heartbeat on the lab clock."""
        clock = self.engine.scheduler.clock
        limit = timeout or float(facts.value("step_functions.task_default_timeout"))
        timer = clock.call_later(
            limit,
            lambda: future.set_error(StatesError(TIMEOUT, "")),
            label=f"Timeout {ctx.state.name}",
        )
        ctx.frame.execution.timers.append(timer)
        if wait is not None:
            wait.on_heartbeat = lambda: future.set_error(StatesError(HEARTBEAT_TIMEOUT, ""))
            self.engine.restart_heartbeat(wait)
        try:
            return (yield future)
        finally:
            timer.cancel()
            if wait is not None and wait.heartbeat is not None:
                wait.heartbeat.cancel()

    # -- activities ---------------------------------------------------------------------
    def _activity(
        self,
        interp: Interpreter,
        ctx: StateContext,
        resource: Resource,
        arguments: Any,
        timeout: float | None,
        heartbeat: float | None,
    ) -> Gen:
        details: dict[str, Any] = {
            "resource": resource.arn,
            "input": dumps(arguments),
            "inputDetails": {"truncated": False},
        }
        if timeout:
            details["timeoutInSeconds"] = int(timeout)
        if heartbeat:
            details["heartbeatInSeconds"] = int(heartbeat)
        interp.event(ctx.frame, "ActivityScheduled", details)
        wait = self.engine.schedule_activity(resource.arn, ctx, arguments, heartbeat)
        try:
            output = yield from self._wait(ctx, wait.future, timeout, wait)
        except StatesError as err:
            self.engine.forget_token(wait)
            event = (
                "ActivityTimedOut"
                if err.error in (TIMEOUT, HEARTBEAT_TIMEOUT)
                else "ActivityFailed"
            )
            interp.event(ctx.frame, event, {"error": err.error, "cause": err.cause})
            raise
        except GeneratorExit:
            self.engine.forget_token(wait)
            raise
        interp.event(
            ctx.frame,
            "ActivitySucceeded",
            {"output": dumps(output), "outputDetails": {"truncated": False}},
        )
        return output
