"""Step Functions in the sandbox: moto's control plane, labkit's interpreter for executions.

moto keeps state machines and activities (create, describe, list, update, delete, tags); this
patch answers every execution API from :mod:`labkit.services.stepfunctions.sim_engine` on the lab
clock (see the package docstring for why moto's own execution is replaced):

- ``CreateStateMachine``/``UpdateStateMachine`` refuse an invalid definition with
  ``InvalidDefinition`` and AWS's diagnostics; ``ValidateStateMachineDefinition`` returns them.
- ``StartExecution``, ``StartSyncExecution`` (Express only), ``StopExecution``,
  ``DescribeExecution``, ``ListExecutions``, ``GetExecutionHistory`` and
  ``DescribeStateMachineForExecution`` (Standard only, as AWS documents for the last four).
- ``SendTaskSuccess``/``SendTaskFailure``/``SendTaskHeartbeat``; ``GetActivityTask`` long-polls
  for up to 60 seconds of lab time, moving the clock as a waiting worker would see it move.
https://docs.aws.amazon.com/step-functions/latest/apireference/API_Operations.html

State lives on moto's backend (``backend.labkit_sfn``), so ``lab.reset()`` and a check's isolated
world cover it; a reset also stops the old executions' timers.
"""

from __future__ import annotations

import re
import weakref
from contextlib import ExitStack
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import moto.backend_index
import moto.stepfunctions.urls
from moto.core.exceptions import AWSError
from moto.core.responses import ActionResult, EmptyResult
from moto.stepfunctions.models import StepFunctionBackend, stepfunctions_backends
from moto.stepfunctions.responses import StepFunctionResponse

from labkit import facts
from labkit.services.stepfunctions import sim_definition
from labkit.services.stepfunctions.patch_integrations import SandboxIntegrations
from labkit.services.stepfunctions.sim_engine import EXPRESS, STANDARD, Engine, MachineRecord
from labkit.services.stepfunctions.sim_errors import (
    ExecutionError,
    InvalidDefinitionError,
    TaskTokenError,
)
from labkit.services.stepfunctions.sim_execution import Execution

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

_ERRORS: dict[str, type[AWSError]] = {}
_NOT_FOR_EXPRESS = "This API action is not supported by EXPRESS state machines."


def api_error(code: str, message: str) -> AWSError:
    """moto's error response with AWS's exception name."""
    if code not in _ERRORS:
        _ERRORS[code] = type(code, (AWSError,), {"TYPE": code, "STATUS": 400})
    return _ERRORS[code](message)


def _date(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=timezone.utc)


def _check(definition: str | None, machine_type: str | None) -> None:
    if definition is None:
        return
    try:
        sim_definition.parse(definition, machine_type=machine_type or STANDARD)
    except InvalidDefinitionError as err:
        raise api_error("InvalidDefinition", err.message) from None


def record_of(machine: Any) -> MachineRecord:
    """The engine's view of a moto state machine."""
    return MachineRecord(
        machine.arn,
        machine.name,
        machine.definition,
        machine.roleArn,
        (machine.type or STANDARD).upper(),
    )


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Patch moto's Step Functions for ``sandbox`` (undone by ``stack``)."""
    engines: weakref.WeakSet[Engine] = weakref.WeakSet()

    def engine_of(backend: StepFunctionBackend) -> Engine:
        engine: Engine | None = backend.__dict__.get("labkit_sfn")
        if engine is None:

            def machines(arn: str) -> MachineRecord | None:
                for machine in backend.state_machines:
                    if machine.arn == arn:
                        return record_of(machine)
                return None

            def started(execution: Execution) -> None:
                # moto's state machine lists its executions too (the sandbox view counts them).
                for machine in backend.state_machines:
                    if machine.arn == execution.machine_arn:
                        executions: list[Any] = machine.executions
                        executions.append(execution)

            engine = Engine(
                lambda: sandbox.clock,
                SandboxIntegrations(sandbox, backend.region_name),
                machines,
                region=backend.region_name,
                account=backend.account_id,
                seed=sandbox.seed,
                on_start=started,
            )
            backend.__dict__["labkit_sfn"] = engine
            engines.add(engine)
        return engine

    def shutdown() -> None:
        # The old world's executions must not wake up after a reset and call its services.
        for engine in list(engines):
            for execution in list(engine.executions.values()):
                for timer in execution.timers:
                    timer.cancel()

    sandbox.on_reset(shutdown)

    # StartSyncExecution goes to sync-states.<region>.amazonaws.com, which moto does not route.
    sync_base = r"https?://sync-states\.(.+)\.amazonaws.com"
    sync_route = ("stepfunctions", re.compile(sync_base))
    moto.stepfunctions.urls.url_bases.append(sync_base)
    moto.backend_index.backend_url_patterns.append(sync_route)
    stack.callback(moto.stepfunctions.urls.url_bases.remove, sync_base)
    stack.callback(moto.backend_index.backend_url_patterns.remove, sync_route)

    def patched(cls: type, name: str, func: Any) -> None:
        original = cls.__dict__.get(name)
        setattr(cls, name, func)
        if original is None:
            stack.callback(delattr, cls, name)
        else:
            stack.callback(setattr, cls, name, original)

    # -- the control plane: moto's plain backend ----------------------------------------------
    # The sandbox asks moto for its executing backend (``execute_state_machine``), whose module
    # loads an ANTLR parser for about four seconds; executions are labkit's, so every request is
    # answered by the plain backend, which holds the same state machines and activities.
    def stepfunction_backend(self: StepFunctionResponse) -> StepFunctionBackend:
        return stepfunctions_backends[self.current_account][self.region]

    patched(StepFunctionResponse, "stepfunction_backend", property(stepfunction_backend))

    original_create = StepFunctionBackend.create_state_machine
    original_update = StepFunctionBackend.update_state_machine

    def create_state_machine(
        self: StepFunctionBackend, name: str, definition: str, roleArn: str, **kwargs: Any
    ) -> Any:
        _check(definition, kwargs.get("sm_type"))
        # Idempotent only for the same definition and type (a different role or tags are
        # ignored); moto would hand back the old machine, and a learner who re-runs a cell with
        # an edited definition would keep running the old one without a word.
        # https://docs.aws.amazon.com/step-functions/latest/apireference/API_CreateStateMachine.html
        for machine in self.state_machines:
            if machine.name == name and (
                machine.definition != definition
                or (machine.type or STANDARD).upper() != (kwargs.get("sm_type") or STANDARD).upper()
            ):
                raise api_error(
                    "StateMachineAlreadyExists", f"State Machine Already Exists: '{machine.arn}'"
                )
        return original_create(self, name, definition, roleArn, **kwargs)

    def update_state_machine(
        self: StepFunctionBackend, arn: str, definition: str | None = None, **kwargs: Any
    ) -> Any:
        machine = self.describe_state_machine(arn)
        _check(definition, machine.type)
        return original_update(self, arn, definition, **kwargs)

    patched(StepFunctionBackend, "create_state_machine", create_state_machine)
    patched(StepFunctionBackend, "update_state_machine", update_state_machine)

    # -- responses --------------------------------------------------------------------------
    def backend(response: StepFunctionResponse) -> StepFunctionBackend:
        return response.stepfunction_backend

    def execution(response: StepFunctionResponse, arn: str) -> Execution:
        """A Standard execution by ARN (AWS describes, lists, stops and tells the history of
        Standard executions only)."""
        found = engine_of(backend(response)).executions.get(arn)
        if found is None:
            if ":express:" in arn:
                raise api_error("InvalidArn", f"Invalid Arn: '{_NOT_FOR_EXPRESS}'")
            raise api_error("ExecutionDoesNotExist", f"Execution Does Not Exist: '{arn}'")
        if found.machine_type == EXPRESS:
            raise api_error("InvalidArn", f"Invalid Arn: '{_NOT_FOR_EXPRESS}'")
        return found

    def start(response: StepFunctionResponse, sync: bool) -> Execution:
        machine = backend(response).describe_state_machine(response._get_param("stateMachineArn"))
        record = record_of(machine)
        if sync and record.type != EXPRESS:
            raise api_error(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            )
        engine = engine_of(backend(response))
        name = response._get_param("name")
        text = response._get_param("input", if_none="{}")
        try:
            if sync:
                return engine.run_sync(record, name, text)
            return engine.start(record, name, text)
        except ExecutionError as err:
            raise api_error(err.api_code, err.message) from None

    def start_execution(self: StepFunctionResponse) -> ActionResult:
        ex = start(self, sync=False)
        return ActionResult({"executionArn": ex.arn, "startDate": _date(ex.start)})

    def start_sync_execution(self: StepFunctionResponse) -> ActionResult:
        ex = start(self, sync=True)
        out = _described(ex)
        out.pop("redriveCount", None)
        out.pop("redriveStatus", None)
        out["billingDetails"] = Engine.billing(ex)
        return ActionResult(out)

    def describe_execution(self: StepFunctionResponse) -> ActionResult:
        return ActionResult(_described(execution(self, self._get_param("executionArn"))))

    def describe_state_machine_for_execution(self: StepFunctionResponse) -> ActionResult:
        ex = execution(self, self._get_param("executionArn"))
        return self._describe_state_machine(ex.machine_arn)

    def stop_execution(self: StepFunctionResponse) -> ActionResult:
        ex = execution(self, self._get_param("executionArn"))
        engine_of(backend(self)).stop(ex.arn, self._get_param("error"), self._get_param("cause"))
        return ActionResult({"stopDate": _date(ex.stop or ex.start)})

    def list_executions(self: StepFunctionResponse) -> ActionResult:
        machine = backend(self).describe_state_machine(self._get_param("stateMachineArn"))
        if (machine.type or STANDARD).upper() == EXPRESS:
            raise api_error("StateMachineTypeNotSupported", _NOT_FOR_EXPRESS)
        found = engine_of(backend(self)).list_executions(
            machine.arn, self._get_param("statusFilter")
        )
        page, token = _page(found, self._get_int_param("maxResults"), self._get_param("nextToken"))
        rows = []
        for ex in page:
            row: dict[str, Any] = {
                "executionArn": ex.arn,
                "stateMachineArn": ex.machine_arn,
                "name": ex.name,
                "status": ex.status,
                "startDate": _date(ex.start),
            }
            if ex.stop is not None:
                row["stopDate"] = _date(ex.stop)
            rows.append(row)
        out: dict[str, Any] = {"executions": rows}
        if token:
            out["nextToken"] = token
        return ActionResult(out)

    def get_execution_history(self: StepFunctionResponse) -> ActionResult:
        ex = execution(self, self._get_param("executionArn"))
        events = [dict(e, timestamp=_date(e["timestamp"])) for e in ex.events]
        if self._get_param("reverseOrder"):
            events.reverse()
        if self._get_param("includeExecutionData") is False:
            events = [_without_data(e) for e in events]
        page, token = _page(events, self._get_int_param("maxResults"), self._get_param("nextToken"))
        out: dict[str, Any] = {"events": page}
        if token:
            out["nextToken"] = token
        return ActionResult(out)

    def tokens(call: Any) -> None:
        try:
            call()
        except TaskTokenError as err:
            raise api_error(err.api_code, err.message) from None

    def send_task_success(self: StepFunctionResponse) -> ActionResult:
        engine = engine_of(backend(self))
        tokens(
            lambda: engine.send_task_success(
                self._get_param("taskToken"), self._get_param("output")
            )
        )
        return EmptyResult()

    def send_task_failure(self: StepFunctionResponse) -> ActionResult:
        engine = engine_of(backend(self))
        tokens(
            lambda: engine.send_task_failure(
                self._get_param("taskToken"), self._get_param("error"), self._get_param("cause")
            )
        )
        return EmptyResult()

    def send_task_heartbeat(self: StepFunctionResponse) -> ActionResult:
        engine = engine_of(backend(self))
        tokens(lambda: engine.send_task_heartbeat(self._get_param("taskToken")))
        return EmptyResult()

    def get_activity_task(self: StepFunctionResponse) -> ActionResult:
        arn = self._get_param("activityArn")
        backend(self).describe_activity(arn)  # ActivityDoesNotExist as moto says it
        engine = engine_of(backend(self))
        clock = sandbox.clock
        deadline = clock.timestamp + float(facts.value("step_functions.activity_poll_wait"))
        while True:
            task = engine.poll_activity(arn, self._get_param("workerName"))
            if task is not None or clock.timestamp >= deadline:
                return ActionResult(task or {})
            # Nothing yet: move to the next event of the lab (which may schedule a task),
            # or to the end of the long poll.
            nxt = clock.next_event_time
            clock.advance_to(nxt if nxt is not None and nxt <= deadline else deadline)

    def validate_state_machine_definition(self: StepFunctionResponse) -> ActionResult:
        kind = (self._get_param("type") or STANDARD).upper()
        _, diagnostics = sim_definition.analyse(
            self._get_param("definition") or "", machine_type=kind
        )
        wanted = self._get_param("severity") or "ERROR"
        shown = [d.as_api() for d in diagnostics if wanted == "WARNING" or d.severity == "ERROR"]
        limit = self._get_int_param("maxResults") or 100
        failed = any(d.severity == "ERROR" for d in diagnostics)
        return ActionResult(
            {
                "result": "FAIL" if failed else "OK",
                "diagnostics": shown[:limit],
                "truncated": len(shown) > limit,
            }
        )

    for name, func in {
        "start_execution": start_execution,
        "start_sync_execution": start_sync_execution,
        "describe_execution": describe_execution,
        "describe_state_machine_for_execution": describe_state_machine_for_execution,
        "stop_execution": stop_execution,
        "list_executions": list_executions,
        "get_execution_history": get_execution_history,
        "send_task_success": send_task_success,
        "send_task_failure": send_task_failure,
        "send_task_heartbeat": send_task_heartbeat,
        "get_activity_task": get_activity_task,
        "validate_state_machine_definition": validate_state_machine_definition,
    }.items():
        patched(StepFunctionResponse, name, func)


def _described(ex: Execution) -> dict[str, Any]:
    out = ex.describe()
    out["startDate"] = _date(ex.start)
    if ex.stop is not None:
        out["stopDate"] = _date(ex.stop)
    return out


def _without_data(event: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in event.items():
        if isinstance(value, dict) and key.endswith("EventDetails"):
            value = {
                k: v
                for k, v in value.items()
                if k not in ("input", "output", "inputDetails", "outputDetails")
            }
        out[key] = value
    return out


def _page(items: list[Any], size: int | None, token: str | None) -> tuple[list[Any], str | None]:
    start = int(token) if token and token.isdigit() else 0
    size = size or 1000
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)
