"""Executions on the lab clock: start, stop, describe, list, history, task tokens, activities,
Standard and Express.

- Standard: exactly-once start for a name (the same name and input while running returns the same
  execution; otherwise ``ExecutionAlreadyExists``), a history of every event, up to one year.
- Express: at-least-once (a name may be started again), no history through the API
  (``DescribeExecution``, ``GetExecutionHistory`` and ``ListExecutions`` are for Standard
  machines), up to five minutes; ``StartSyncExecution`` waits for the end (moving the lab
  clock, as a caller would wait) and reports the billed duration.
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-standard-vs-express.html
https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartSyncExecution.html

The engine is plain Python: AWS calls that tasks make go through an :class:`Integrations` object
(the sandbox's patch passes one that calls its boto3 clients), and state machines are looked up
through a function, so the control plane stays moto's.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Protocol

from labkit import facts
from labkit.clock import Clock
from labkit.services.stepfunctions import sim_definition
from labkit.services.stepfunctions.sim_dataflow import dumps
from labkit.services.stepfunctions.sim_errors import (
    RUNTIME,
    TIMEOUT,
    ExecutionError,
    StatesError,
    TaskTokenError,
)
from labkit.services.stepfunctions.sim_execution import (
    ABORTED,
    FAILED,
    RUNNING,
    SUCCEEDED,
    TIMED_OUT,
    Execution,
    TaskWait,
    iso,
)
from labkit.services.stepfunctions.sim_interpreter import Frame, Interpreter, StateContext
from labkit.services.stepfunctions.sim_runtime import Future, Process, Scheduler
from labkit.services.stepfunctions.sim_tasks import Tasks, service_error

STANDARD, EXPRESS = "STANDARD", "EXPRESS"


class ServiceError(Exception):
    """An AWS service's error answer to an integration call (``code`` as the API names it)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Integrations(Protocol):
    """How tasks reach other AWS services (the sandbox's patch implements it with boto3)."""

    def call(self, service: str, action: str, params: dict[str, Any]) -> Any:
        """Make one API call; ``lambda``/``invoke`` answers ``{"StatusCode", "Payload"
        (parsed), "ExecutedVersion", "FunctionError"?}``.

        Raises:
            ServiceError: The service refused the call.
        """
        ...


@dataclass(frozen=True)
class MachineRecord:
    """What the control plane knows of a state machine."""

    arn: str
    name: str
    definition: str
    role_arn: str
    type: str = STANDARD


def max_duration(machine_type: str) -> float:
    """How long an execution may run (Standard one year, Express five minutes)."""
    key = (
        "step_functions.express_max_duration"
        if machine_type == EXPRESS
        else ("step_functions.standard_max_duration")
    )
    return float(facts.value(key))


class Engine:
    """Every execution of one account and Region.

    Args:
        clock_of: Returns the lab clock now current.
        integrations: Reaches other services; ``None`` fails every service task.
        machines: Looks a state machine up by ARN (for ``states:startExecution``).
        region, account: Where the engine runs (ARNs, history).
        seed: Seeds tokens, ``States.UUID``, ``States.MathRandom`` and retry jitter.
        on_start: Told of every execution that starts (the control plane keeps a list).
    """

    def __init__(
        self,
        clock_of: Callable[[], Clock],
        integrations: Integrations | None = None,
        machines: Callable[[str], MachineRecord | None] | None = None,
        *,
        region: str = "us-east-1",
        account: str = "123456789012",
        seed: int = 42,
        on_start: Callable[[Execution], None] | None = None,
    ) -> None:
        self.scheduler = Scheduler(clock_of)
        self._on_start = on_start
        self.integrations = integrations
        self._machines = machines or (lambda arn: None)
        self.region = region
        self.account = account
        self.rng = random.Random(seed)
        self.interpreter = Interpreter(self)
        self.tasks = Tasks(self)
        self.executions: dict[str, Execution] = {}
        self.by_machine: dict[str, list[Execution]] = {}
        self.tokens: dict[str, TaskWait] = {}
        self.finished_tokens: set[str] = set()
        self.activities: dict[str, deque[TaskWait]] = {}
        self._parsed: dict[str, sim_definition.Machine] = {}
        self._inputs: dict[str, Any] = {}

    # -- starting ---------------------------------------------------------------------------
    def machine(self, record: MachineRecord) -> sim_definition.Machine:
        """The parsed definition (cached by its text)."""
        key = record.type + record.definition
        if key not in self._parsed:
            self._parsed[key] = sim_definition.parse(record.definition, machine_type=record.type)
        return self._parsed[key]

    def start(
        self,
        record: MachineRecord,
        name: str | None = None,
        input_text: str = "{}",
        *,
        parent_token: str | None = None,
    ) -> Execution:
        """Start an execution; it runs at once until it first waits.

        Raises:
            ExecutionError: ``InvalidExecutionInput``, ``ExecutionAlreadyExists``,
                ``InvalidName``.
        """
        try:
            data = json.loads(input_text)
        except ValueError as exc:
            raise ExecutionError(
                "InvalidExecutionInput", f"Invalid State Machine Execution Input: '{exc}'"
            ) from None
        name = name or str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        if len(name) > 80:
            raise ExecutionError("InvalidName", f"Invalid Name: '{name}'")
        earlier = [e for e in self.by_machine.get(record.arn, []) if e.name == name]
        if record.type == STANDARD and earlier:
            same = earlier[0]
            if same.running and same.input_text == input_text:
                return same
            raise ExecutionError(
                "ExecutionAlreadyExists", f"Execution Already Exists: '{same.arn}'"
            )
        machine = self.machine(record)
        clock = self.scheduler.clock
        suffix = (
            f"express:{record.name}:{name}:{uuid.UUID(int=self.rng.getrandbits(128))}"
            if record.type == EXPRESS
            else f"execution:{record.name}:{name}"
        )
        ex = Execution(
            arn=f"arn:aws:states:{self.region}:{self.account}:{suffix}",
            name=name,
            machine_arn=record.arn,
            machine_name=record.name,
            machine_type=record.type,
            role_arn=record.role_arn,
            input_text=input_text,
            start=clock.timestamp,
            rng=random.Random(self.rng.getrandbits(64)),
            parent_token=parent_token,
            keep_history=record.type == STANDARD,
        )
        self._inputs[ex.arn] = data
        self.executions[ex.arn] = ex
        self.by_machine.setdefault(record.arn, []).append(ex)
        if self._on_start is not None:
            self._on_start(ex)
        if ex.keep_history:
            ex.record(
                "ExecutionStarted",
                {
                    "input": input_text,
                    "inputDetails": {"truncated": False},
                    "roleArn": record.role_arn,
                },
                clock.timestamp,
                0,
            )
        limit = machine.timeout_seconds or max_duration(record.type)
        ex.timers.append(
            clock.call_later(
                limit,
                lambda: self._end(
                    ex,
                    TIMED_OUT,
                    TIMEOUT,
                    "The execution ran longer than its TimeoutSeconds."
                    if machine.timeout_seconds
                    else "The execution reached its maximum duration.",
                ),
                label=f"Timeout {ex.name}",
            )
        )
        ex.process = self.scheduler.spawn(self._main(ex, machine, data))
        # Started from inside another execution's step (a handler calling StartExecution), it
        # still runs to its first wait before the call returns, as it does from a notebook.
        self.scheduler.settle()
        return ex

    def parsed_input(self, ex: Execution) -> Any:
        """The execution's input as JSON data (``$$.Execution.Input``)."""
        return self._inputs.get(ex.arn)

    def spawn(self, ex: Execution, body: Generator[Future, Any, Any]) -> Process:
        """Run a branch or an iteration of ``ex`` (stopped with it)."""
        process = self.scheduler.spawn(body)
        ex.children.append(process)
        return process

    def _main(
        self, ex: Execution, machine: sim_definition.Machine, data: Any
    ) -> Generator[Future, Any, None]:
        frame = Frame(ex, ex.variables, last_event=len(ex.events))
        try:
            output = yield from self.interpreter.run_machine(frame, machine, data)
        except StatesError as err:
            self._end(ex, FAILED, err.error, err.cause, previous=frame.last_event)
            return
        except Exception as exc:  # a fault of labkit's or a learner's input: fail, never hang
            self._end(
                ex, FAILED, RUNTIME, f"{type(exc).__name__}: {exc}", previous=frame.last_event
            )
            return
        ex.output = output
        self._end(ex, SUCCEEDED, previous=frame.last_event)

    def _end(
        self,
        ex: Execution,
        status: str,
        error: str | None = None,
        cause: str | None = None,
        previous: int | None = None,
    ) -> None:
        if not ex.running:
            return
        clock = self.scheduler.clock
        ex.status, ex.stop = status, clock.timestamp
        ex.error, ex.cause = error, cause
        for timer in ex.timers:
            timer.cancel()
        # Top down: a container's state closes first (and records that it was aborted), then
        # whatever of its branches and iterations is left.
        for process in [*([ex.process] if ex.process else []), *ex.children]:
            self.scheduler.cancel(process)
        for wait in list(ex.waits):
            self.forget_token(wait)
        if ex.keep_history:
            last = previous if previous is not None else len(ex.events)
            if status == SUCCEEDED:
                ex.record(
                    "ExecutionSucceeded",
                    {"output": dumps(ex.output), "outputDetails": {"truncated": False}},
                    clock.timestamp,
                    last,
                )
            else:
                kind = {
                    FAILED: "ExecutionFailed",
                    TIMED_OUT: "ExecutionTimedOut",
                    ABORTED: "ExecutionAborted",
                }[status]
                details = {k: v for k, v in (("error", error), ("cause", cause)) if v is not None}
                ex.record(kind, details, clock.timestamp, last)
        ex.done.set_result(ex)

    # -- the API ----------------------------------------------------------------------------
    def get(self, arn: str) -> Execution:
        """The execution with ``arn``.

        Raises:
            ExecutionError: ``ExecutionDoesNotExist``.
        """
        ex = self.executions.get(arn)
        if ex is None:
            raise ExecutionError("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'")
        return ex

    def stop(self, arn: str, error: str | None = None, cause: str | None = None) -> Execution:
        """``StopExecution``: the execution ends ``ABORTED`` (a no-op once it has ended)."""
        ex = self.get(arn)
        self._end(ex, ABORTED, error, cause)
        return ex

    def run_sync(self, record: MachineRecord, name: str | None, input_text: str) -> Execution:
        """``StartSyncExecution``: start, then move the lab clock until the execution ends."""
        ex = self.start(record, name, input_text)
        clock = self.scheduler.clock
        while ex.running:
            self.scheduler.settle()
            if not ex.running:
                break
            nxt = clock.next_event_time
            if nxt is None:  # nothing left that could end it: it would time out
                clock.advance_to(ex.start + max_duration(record.type))
                continue
            clock.advance_to(nxt)
        return ex

    @staticmethod
    def billing(ex: Execution) -> dict[str, int]:
        """Express billing of one execution: duration rounded up to 100 ms, 64 MB memory
        (https://aws.amazon.com/step-functions/pricing/)."""
        step = int(facts.value("step_functions.express_billing_duration_increment"))
        memory = int(facts.value("step_functions.express_billing_memory_increment"))
        duration_ms = max(0.0, ((ex.stop or ex.start) - ex.start) * 1000)
        return {
            "billedMemoryUsedInMB": memory,
            "billedDurationInMilliseconds": max(step, math.ceil(duration_ms / step) * step),
        }

    def start_child(self, params: dict[str, Any], ctx: StateContext) -> Execution:
        """``states:startExecution`` from a task."""
        arn = params.get("StateMachineArn")
        record = self._machines(str(arn))
        if record is None:
            raise service_error(
                "states", "StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'"
            )
        child_input = params.get("Input", {})
        if not isinstance(child_input, str):
            child_input = dumps(child_input)
        try:
            return self.start(
                record, params.get("Name"), child_input, parent_token=ctx.frame.execution.arn
            )
        except ExecutionError as err:
            raise service_error("states", err.api_code, err.message) from None

    def sync_output(self, child: Execution, *, parse: bool) -> dict[str, Any]:
        """A ``.sync`` task's result: the child as ``DescribeExecution`` says, PascalCase."""
        out: dict[str, Any] = {
            "ExecutionArn": child.arn,
            "StateMachineArn": child.machine_arn,
            "Name": child.name,
            "Status": child.status,
            "StartDate": int(child.start * 1000),
            "StopDate": int((child.stop or child.start) * 1000),
            "Input": self._inputs.get(child.arn) if parse else child.input_text,
            "InputDetails": {"Included": True},
        }
        if child.status == SUCCEEDED:
            out["Output"] = child.output if parse else dumps(child.output)
            out["OutputDetails"] = {"Included": True}
        if child.error is not None:
            out["Error"] = child.error
        if child.cause is not None:
            out["Cause"] = child.cause
        return out

    # -- calls to other services --------------------------------------------------------------
    def call_service(self, service: str, action: str, params: dict[str, Any]) -> Any:
        """Call another service through the integrations; its errors as task errors."""
        if self.integrations is None:
            raise StatesError(RUNTIME, f"No AWS services are connected for {service}:{action}")
        try:
            return self.integrations.call(service, action, params)
        except ServiceError as err:
            raise service_error(service, err.code, err.message) from None

    def invoke_lambda(self, params: dict[str, Any]) -> dict[str, Any]:
        """Invoke a function (``FunctionName``, ``Payload``, ``Qualifier``...); a function
        error becomes the task's error: its ``errorType``, the error payload as the cause."""
        response = self.call_service("lambda", "invoke", params)
        if response.get("FunctionError"):
            body = response.get("Payload")
            error = body.get("errorType") if isinstance(body, dict) else None
            raise StatesError(str(error or response["FunctionError"]), dumps(body))
        return dict(response)

    # -- task tokens --------------------------------------------------------------------------
    def register_token(self, token: str, ex: Execution, heartbeat: float | None) -> TaskWait:
        """Make ``token`` answerable by ``SendTask*``."""
        wait = TaskWait(token, ex, Future(), heartbeat)
        self.tokens[token] = wait
        ex.waits.append(wait)
        return wait

    def forget_token(self, wait: TaskWait | None) -> None:
        """The task no longer waits: later ``SendTask*`` calls get ``TaskTimedOut``."""
        if wait is None:
            return
        if wait.heartbeat is not None:
            wait.heartbeat.cancel()
        if wait.token and self.tokens.pop(wait.token, None) is not None:
            self.finished_tokens.add(wait.token)
        if wait in wait.execution.waits:
            wait.execution.waits.remove(wait)
        queue = self.activities.get(wait.activity_arn)
        if queue is not None and wait in queue:
            queue.remove(wait)

    def restart_heartbeat(self, wait: TaskWait) -> None:
        """(Re)start the heartbeat timer of a started task."""
        if wait.heartbeat is not None:
            wait.heartbeat.cancel()
            wait.heartbeat = None
        if (
            wait.heartbeat_seconds
            and wait.on_heartbeat is not None
            and (wait.kind != "activity" or wait.started)
        ):
            wait.heartbeat = self.scheduler.clock.call_later(
                wait.heartbeat_seconds, wait.on_heartbeat, label="Heartbeat"
            )
            wait.execution.timers.append(wait.heartbeat)

    def _waiting(self, token: str) -> TaskWait:
        if not isinstance(token, str) or not token:
            raise TaskTokenError("InvalidToken", "Invalid Token: 'Empty token'")
        wait = self.tokens.get(token)
        if wait is None:
            if token in self.finished_tokens:
                raise TaskTokenError(
                    "TaskTimedOut", "Task Timed Out: 'Provided task does not exist anymore'"
                )
            raise TaskTokenError("InvalidToken", f"Invalid Token: '{token[:60]}'")
        return wait

    def send_task_success(self, token: str, output: str) -> None:
        """``SendTaskSuccess``: the waiting task succeeds with ``output`` (JSON text).

        Raises:
            TaskTokenError: ``InvalidToken``, ``TaskTimedOut``, ``InvalidOutput``.
        """
        wait = self._waiting(token)
        try:
            value = json.loads(output)
        except (TypeError, ValueError) as exc:
            raise TaskTokenError("InvalidOutput", f"Invalid Output: '{exc}'") from None
        self.forget_token(wait)
        wait.future.set_result(value)

    def send_task_failure(
        self, token: str, error: str | None = None, cause: str | None = None
    ) -> None:
        """``SendTaskFailure``: the waiting task fails with ``error`` and ``cause``."""
        wait = self._waiting(token)
        self.forget_token(wait)
        wait.future.set_error(StatesError(error or "", cause or ""))

    def send_task_heartbeat(self, token: str) -> None:
        """``SendTaskHeartbeat``: the task's heartbeat timer starts again."""
        self.restart_heartbeat(self._waiting(token))

    # -- activities ---------------------------------------------------------------------------
    def schedule_activity(
        self, arn: str, ctx: StateContext, data: Any, heartbeat: float | None
    ) -> TaskWait:
        """Queue a task for the activity's workers."""
        wait = TaskWait(
            "",
            ctx.frame.execution,
            Future(),
            heartbeat,
            activity_arn=arn,
            input=data,
            kind="activity",
            frame=ctx.frame,
        )
        ctx.frame.execution.waits.append(wait)
        self.activities.setdefault(arn, deque()).append(wait)
        return wait

    def poll_activity(self, arn: str, worker_name: str | None = None) -> dict[str, str] | None:
        """Hand the oldest queued task of the activity to a worker (``None`` when none waits)."""
        self.scheduler.settle()
        queue = self.activities.get(arn)
        if not queue:
            return None
        wait = queue.popleft()
        from labkit.services.stepfunctions.sim_tasks import _token

        wait.token = _token(self)
        wait.started = True
        self.tokens[wait.token] = wait
        self.interpreter.event(
            wait.frame, "ActivityStarted", {"workerName": worker_name} if worker_name else {}
        )
        self.restart_heartbeat(wait)
        return {"taskToken": wait.token, "input": dumps(wait.input)}

    # -- reading --------------------------------------------------------------------------
    def list_executions(self, machine_arn: str, status: str | None = None) -> list[Execution]:
        """The machine's executions, newest first."""
        found = [
            e for e in self.by_machine.get(machine_arn, []) if status is None or e.status == status
        ]
        return sorted(found, key=lambda e: e.start, reverse=True)

    def history(self, arn: str) -> list[dict[str, Any]]:
        """``GetExecutionHistory``'s events (timestamps as epoch seconds)."""
        return list(self.get(arn).events)


__all__ = [
    "EXPRESS",
    "RUNNING",
    "STANDARD",
    "Engine",
    "Integrations",
    "MachineRecord",
    "ServiceError",
    "iso",
]
