"""The states of the Amazon States Language, run on the lab clock.

Each state runs as AWS documents it, in both query languages:

- JSONPath: ``InputPath`` -> ``Parameters`` -> work -> ``ResultSelector`` -> ``ResultPath`` ->
  ``OutputPath`` (:mod:`.sim_dataflow`); ``Assign`` sees the result (Task, Parallel, Map) or the
  filtered input (other states) as ``$``.
  https://docs.aws.amazon.com/step-functions/latest/dg/concepts-input-output-filtering.html
- JSONata: ``$states.input`` -> ``Arguments`` -> work (``$states.result``) -> ``Assign`` and
  ``Output`` (both see the variables as they were when the state was entered).
  https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html

Retries wait ``IntervalSeconds * BackoffRate ** attempt`` (capped by ``MaxDelaySeconds``; with
``JitterStrategy: FULL`` a seeded random share of it) on the lab clock, then catchers put
``{"Error", "Cause"}`` at their ``ResultPath``.
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from labkit import facts
from labkit.services.stepfunctions import sim_choice, sim_jsonata
from labkit.services.stepfunctions.sim_dataflow import Scope, apply_result_path, dumps, field
from labkit.services.stepfunctions.sim_definition import JSONATA, Machine, State
from labkit.services.stepfunctions.sim_errors import (
    DATA_LIMIT_EXCEEDED,
    NO_CHOICE_MATCHED,
    RUNTIME,
    StatesError,
    matches,
)
from labkit.services.stepfunctions.sim_execution import (
    ABORTED,
    FAILED,
    SUCCEEDED,
    Execution,
    StateRun,
    iso,
)
from labkit.services.stepfunctions.sim_runtime import Cancelled, Future, Process

if TYPE_CHECKING:
    from labkit.services.stepfunctions.sim_engine import Engine

Gen = Generator[Future, Any, Any]
_CAUGHT = "CAUGHT"
#: Retrier defaults (error-handling page above), from the fact table.
_DEFAULT_INTERVAL = float(facts.value("step_functions.retry_interval_default"))
_DEFAULT_ATTEMPTS = int(facts.value("step_functions.retry_max_attempts_default"))
_DEFAULT_BACKOFF = float(facts.value("step_functions.retry_backoff_rate_default"))


class Frame:
    """Where a (sub-)machine runs: its execution, its place in containers, its variables and
    the last history event on its branch (the next event's ``previousEventId``)."""

    __slots__ = ("branch", "execution", "last_event", "map_item", "variables")

    def __init__(
        self,
        execution: Execution,
        variables: dict[str, Any],
        branch: tuple[tuple[str, int], ...] = (),
        map_item: tuple[int, Any] | None = None,
        last_event: int = 0,
    ) -> None:
        self.execution = execution
        self.variables = variables
        self.branch = branch
        self.map_item = map_item
        self.last_event = last_event

    def child(self, kind: str, index: int, map_item: tuple[int, Any] | None = None) -> Frame:
        """A frame for a Parallel branch or a Map iteration: it reads the outer variables and
        assigns its own."""
        return Frame(
            self.execution,
            dict(self.variables),
            (*self.branch, (kind, index)),
            map_item,
            self.last_event,
        )


class StateContext:
    """One entry into a state: its context object, scope and run record."""

    __slots__ = ("context", "frame", "run", "scope", "state")

    def __init__(self, interpreter: Interpreter, frame: Frame, state: State, run: StateRun):
        self.frame = frame
        self.state = state
        self.run = run
        self.context = interpreter.context_object(frame, state, run)
        self.scope = Scope(self.context, frame.variables, frame.execution.rng)

    def states(self, raw_input: Any, **extra: Any) -> dict[str, Any]:
        """JSONata's bindings: ``$states`` and every variable in scope."""
        return {
            **self.frame.variables,
            "states": {"input": raw_input, "context": self.context, **extra},
        }


class Interpreter:
    """Runs machines and states for one :class:`~.sim_engine.Engine`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._max_events = int(facts.value("step_functions.standard_history_max_events"))
        self._max_payload = int(facts.value("step_functions.max_payload"))

    # -- context object ---------------------------------------------------------------------
    def context_object(self, frame: Frame, state: State, run: StateRun) -> dict[str, Any]:
        """``$$`` / ``$states.context`` for this entry into ``state``.
        https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html
        """
        ex = frame.execution
        context: dict[str, Any] = {
            "Execution": {
                "Id": ex.arn,
                "Input": self.engine.parsed_input(ex),
                "Name": ex.name,
                "RoleArn": ex.role_arn,
                "StartTime": iso(ex.start),
                "RedriveCount": 0,
            },
            "State": {
                "EnteredTime": iso(run.entered_at),
                "Name": state.name,
                "RetryCount": run.retries,
            },
            "StateMachine": {"Id": ex.machine_arn, "Name": ex.machine_name},
        }
        # ``Map.Item`` is not here: AWS offers it to a Map's ItemSelector only (sim_map adds it
        # there); states inside an iteration get the item's index only if ItemSelector passes it.
        return context

    # -- machines ---------------------------------------------------------------------------
    def run_machine(self, frame: Frame, machine: Machine, data: Any) -> Gen:
        """Run from ``StartAt`` to an end; returns the last state's output."""
        name: str | None = machine.start_at
        while name is not None:
            state = machine.states[name]
            name, data = yield from self.run_state(frame, state, data)
        return data

    def run_state(self, frame: Frame, state: State, raw_input: Any) -> Gen:
        """Enter, run and exit one state; returns ``(next state or None, output)``."""
        ex = frame.execution
        clock = self.engine.scheduler.clock
        ex.transitions += 1
        self._guard(ex, clock.timestamp)
        run = StateRun(state.name, state.type, frame.branch, clock.timestamp, raw_input)
        ex.runs.append(run)
        self.event(
            frame,
            f"{state.type}StateEntered",
            {"name": state.name, "input": dumps(raw_input), "inputDetails": {"truncated": False}},
        )
        ctx = StateContext(self, frame, state, run)
        try:
            handler = getattr(self, "_" + state.type.lower())
            nxt, output, assigned = yield from handler(ctx, raw_input)
        except StatesError as err:
            run.status, run.error, run.cause = FAILED, err.error, err.cause
            run.exited_at = clock.timestamp
            raise
        except (GeneratorExit, Cancelled):
            run.status, run.exited_at = ABORTED, clock.timestamp
            raise
        if assigned:
            frame.variables.update(assigned)
        if run.status != _CAUGHT:
            run.status = SUCCEEDED
        run.exited_at, run.output, run.next = clock.timestamp, output, nxt
        text = dumps(output)
        if len(text.encode()) > self._max_payload:
            run.status, run.error = FAILED, DATA_LIMIT_EXCEEDED
            raise StatesError(
                DATA_LIMIT_EXCEEDED,
                f"The state '{state.name}' returned an output of {len(text.encode()):,} bytes, "
                f"more than the {self._max_payload:,} bytes Step Functions allows.",
            )
        if state.type != "Fail":
            details: dict[str, Any] = {
                "name": state.name,
                "output": text,
                "outputDetails": {"truncated": False},
            }
            if assigned:
                details["assignedVariables"] = {k: dumps(v) for k, v in assigned.items()}
                details["assignedVariablesDetails"] = {"truncated": False}
            self.event(frame, f"{state.type}StateExited", details)
        return nxt, output

    def _guard(self, ex: Execution, now: float) -> None:
        """Stop an execution that would never end: a Standard one at AWS's history limit, an
        Express one (no history) after as many transitions in one lab instant, which on the lab
        clock would loop forever (AWS would run it until its five minutes are up)."""
        if ex.keep_history:
            if len(ex.events) + 2 > self._max_events:
                raise StatesError(
                    RUNTIME,
                    f"The execution reached the limit of {self._max_events:,} events in its "
                    "history, and Step Functions failed it (a loop without an end?).",
                )
            return
        if now != ex.instant:
            ex.instant, ex.instant_transitions = now, 0
        ex.instant_transitions += 1
        if ex.instant_transitions > self._max_events:
            raise StatesError(
                RUNTIME,
                f"labkit stopped this Express execution after {self._max_events:,} state "
                "transitions without the lab clock moving: on the lab clock it would never end "
                "(AWS would run it until its five-minute limit).",
            )

    def event(self, frame: Frame, kind: str, details: dict[str, Any] | None) -> int:
        """Record a history event on ``frame``'s branch."""
        ex = frame.execution
        if not ex.keep_history:
            return 0
        frame.last_event = ex.record(
            kind, details, self.engine.scheduler.clock.timestamp, frame.last_event
        )
        return frame.last_event

    # -- helpers shared by the state types ----------------------------------------------------
    def _next(self, state: State) -> str | None:
        return None if state.end else state.next

    def _assign(
        self, ctx: StateContext, spec: Any, data: Any, bindings: dict[str, Any] | None
    ) -> dict[str, Any]:
        if not spec:
            return {}
        if ctx.state.query_language == JSONATA:
            assert bindings is not None
            out = sim_jsonata.template(spec, bindings, ctx.frame.execution.rng, field="Assign")
        else:
            out = ctx.scope.template(spec, data, "Assign")
        if not isinstance(out, dict):
            raise StatesError(RUNTIME, "The field 'Assign' must be an object.")
        return out

    def _jsonata(self, ctx: StateContext, key: str, bindings: dict[str, Any], default: Any) -> Any:
        if key not in ctx.state.spec:
            return default
        return sim_jsonata.template(
            ctx.state.spec[key], bindings, ctx.frame.execution.rng, field=key
        )

    def _filtered(self, ctx: StateContext, raw_input: Any) -> Any:
        return ctx.scope.filter_path(field(ctx.state.spec, "InputPath"), raw_input, "InputPath")

    def _output_path(self, ctx: StateContext, data: Any) -> Any:
        return ctx.scope.filter_path(field(ctx.state.spec, "OutputPath"), data, "OutputPath")

    # -- Pass, Succeed, Fail ------------------------------------------------------------------
    def _pass(self, ctx: StateContext, raw: Any) -> Gen:
        spec = ctx.state.spec
        if ctx.state.query_language == JSONATA:
            bindings = ctx.states(raw)
            output = self._jsonata(ctx, "Output", bindings, raw)
            return (
                self._next(ctx.state),
                output,
                self._assign(ctx, spec.get("Assign"), raw, bindings),
            )
        data = self._filtered(ctx, raw)
        if "Parameters" in spec:
            data = ctx.scope.template(spec["Parameters"], data, "Parameters")
        result = spec.get("Result", data)
        assigned = self._assign(ctx, spec.get("Assign"), result, None)
        output = self._output_path(ctx, apply_result_path(spec, raw, result))
        return self._next(ctx.state), output, assigned
        yield  # a generator, like every handler

    def _succeed(self, ctx: StateContext, raw: Any) -> Gen:
        if ctx.state.query_language == JSONATA:
            return None, self._jsonata(ctx, "Output", ctx.states(raw), raw), {}
        return None, self._output_path(ctx, self._filtered(ctx, raw)), {}
        yield

    def _fail(self, ctx: StateContext, raw: Any) -> Gen:
        spec = ctx.state.spec
        if ctx.state.query_language == JSONATA:
            bindings = ctx.states(raw)
            error = self._jsonata(ctx, "Error", bindings, None)
            cause = self._jsonata(ctx, "Cause", bindings, None)
        else:
            error = (
                ctx.scope.dynamic(spec["ErrorPath"], raw, "ErrorPath")
                if "ErrorPath" in spec
                else spec.get("Error")
            )
            cause = (
                ctx.scope.dynamic(spec["CausePath"], raw, "CausePath")
                if "CausePath" in spec
                else spec.get("Cause")
            )
        for name, value in (("Error", error), ("Cause", cause)):
            if value is not None and not isinstance(value, str):
                raise StatesError(
                    RUNTIME,
                    f"The {name} of Fail state '{ctx.state.name}' must be "
                    f"a string, not {dumps(value)}",
                )
        raise StatesError(error or "", cause or "")
        yield

    # -- Choice -----------------------------------------------------------------------------
    def _choice(self, ctx: StateContext, raw: Any) -> Gen:
        spec = ctx.state.spec
        if ctx.state.query_language == JSONATA:
            bindings = ctx.states(raw)
            for rule in spec["Choices"]:
                held = sim_jsonata.evaluate(
                    rule.get("Condition", "{% false %}"),
                    bindings,
                    ctx.frame.execution.rng,
                    field="Condition",
                )
                if not isinstance(held, bool):
                    raise StatesError(
                        "States.QueryEvaluationError",
                        f"The Condition of a choice rule must be a boolean, not {dumps(held)}",
                    )
                if held:
                    assigned = {
                        **self._assign(ctx, spec.get("Assign"), raw, bindings),
                        **self._assign(ctx, rule.get("Assign"), raw, bindings),
                    }
                    output = (
                        sim_jsonata.template(
                            rule["Output"], bindings, ctx.frame.execution.rng, field="Output"
                        )
                        if "Output" in rule
                        else self._jsonata(ctx, "Output", bindings, raw)
                    )
                    return rule["Next"], output, assigned
            return self._choice_default(ctx, raw, bindings)
        data = self._filtered(ctx, raw)
        for rule in spec["Choices"]:
            if sim_choice.matches(rule, data, ctx.scope):
                assigned = {
                    **self._assign(ctx, spec.get("Assign"), data, None),
                    **self._assign(ctx, rule.get("Assign"), data, None),
                }
                return rule["Next"], self._output_path(ctx, data), assigned
        return self._choice_default(ctx, data, None)
        yield

    def _choice_default(
        self, ctx: StateContext, data: Any, bindings: dict[str, Any] | None
    ) -> tuple[str, Any, dict[str, Any]]:
        spec = ctx.state.spec
        if "Default" not in spec:
            raise StatesError(
                NO_CHOICE_MATCHED,
                f"No Matches! Choice state '{ctx.state.name}' had no rule that "
                "matched and no Default.",
            )
        assigned = self._assign(ctx, spec.get("Assign"), data, bindings)
        if bindings is not None:
            return spec["Default"], self._jsonata(ctx, "Output", bindings, data), assigned
        return spec["Default"], self._output_path(ctx, data), assigned

    # -- Wait -------------------------------------------------------------------------------
    def _wait(self, ctx: StateContext, raw: Any) -> Gen:
        spec = ctx.state.spec
        clock = self.engine.scheduler.clock
        bindings: dict[str, Any] | None = None
        if ctx.state.query_language == JSONATA:
            bindings = ctx.states(raw)
            data = raw
            seconds = self._jsonata(ctx, "Seconds", bindings, None)
            stamp = self._jsonata(ctx, "Timestamp", bindings, None)
        else:
            data = self._filtered(ctx, raw)
            seconds = (
                ctx.scope.select(spec["SecondsPath"], data, "SecondsPath")
                if "SecondsPath" in spec
                else spec.get("Seconds")
            )
            stamp = (
                ctx.scope.select(spec["TimestampPath"], data, "TimestampPath")
                if "TimestampPath" in spec
                else spec.get("Timestamp")
            )
        if stamp is not None:
            when = sim_choice.parse_timestamp(stamp)
            if when is None:
                raise StatesError(
                    RUNTIME,
                    f"The Timestamp of Wait state '{ctx.state.name}' is "
                    f"not an RFC 3339 timestamp: {dumps(stamp)}",
                )
            delay = _until(when, clock.timestamp)
        else:
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
                raise StatesError(
                    RUNTIME,
                    f"The Seconds of Wait state '{ctx.state.name}' must "
                    f"be a non-negative integer, not {dumps(seconds)}",
                )
            delay = float(seconds)
        try:
            yield self.engine.scheduler.sleep(
                delay, ctx.frame.execution.timers, label=f"Wait {ctx.state.name}"
            )
        except GeneratorExit:
            self.event(ctx.frame, "WaitStateAborted", None)
            raise
        assigned = self._assign(ctx, spec.get("Assign"), data, bindings)
        if bindings is not None:
            return self._next(ctx.state), self._jsonata(ctx, "Output", bindings, raw), assigned
        return self._next(ctx.state), self._output_path(ctx, data), assigned

    # -- Task, Parallel, Map: the work, then retries and catchers -------------------------------
    def _task(self, ctx: StateContext, raw: Any) -> Gen:
        return (yield from self._with_errors(ctx, raw, self._task_attempt))

    def _parallel(self, ctx: StateContext, raw: Any) -> Gen:
        return (yield from self._with_errors(ctx, raw, self._parallel_attempt))

    def _map(self, ctx: StateContext, raw: Any) -> Gen:
        return (yield from self._with_errors(ctx, raw, self._map_attempt))

    def _with_errors(self, ctx: StateContext, raw: Any, attempt: Any) -> Gen:
        spec = ctx.state.spec
        retriers = spec.get("Retry") or []
        counts = [0] * len(retriers)
        while True:
            try:
                result = yield from attempt(ctx, raw)
                return self._finish(ctx, raw, result)
            except StatesError as err:
                index = next(
                    (i for i, r in enumerate(retriers) if matches(r["ErrorEquals"], err.error)),
                    None,
                )
                if index is not None:
                    retrier = retriers[index]
                    if counts[index] < int(retrier.get("MaxAttempts", _DEFAULT_ATTEMPTS)):
                        delay = self._delay(ctx, retrier, counts[index])
                        counts[index] += 1
                        ctx.run.retries += 1
                        # Each retry is a state transition, as AWS bills it.
                        ctx.frame.execution.transitions += 1
                        ctx.context["State"]["RetryCount"] = ctx.run.retries
                        yield self.engine.scheduler.sleep(
                            delay, ctx.frame.execution.timers, label=f"Retry {ctx.state.name}"
                        )
                        continue
                caught = yield from self._catch(ctx, raw, err)
                if caught is None:
                    raise
                return caught

    def _delay(self, ctx: StateContext, retrier: dict[str, Any], attempt: int) -> float:
        interval = float(retrier.get("IntervalSeconds", _DEFAULT_INTERVAL))
        delay = interval * float(retrier.get("BackoffRate", _DEFAULT_BACKOFF)) ** attempt
        if "MaxDelaySeconds" in retrier:
            delay = min(delay, float(retrier["MaxDelaySeconds"]))
        if retrier.get("JitterStrategy") == "FULL":
            delay = ctx.frame.execution.rng.uniform(0, delay)
        return delay

    def _catch(self, ctx: StateContext, raw: Any, err: StatesError) -> Gen:
        for catcher in ctx.state.spec.get("Catch") or []:
            if not matches(catcher["ErrorEquals"], err.error):
                continue
            error_output = {"Error": err.error, "Cause": err.cause}
            ctx.run.status, ctx.run.error, ctx.run.cause = _CAUGHT, err.error, err.cause
            if ctx.state.query_language == JSONATA:
                bindings = ctx.states(raw, errorOutput=error_output)
                output = (
                    sim_jsonata.template(
                        catcher["Output"], bindings, ctx.frame.execution.rng, field="Output"
                    )
                    if "Output" in catcher
                    else error_output
                )
                assigned = self._assign(ctx, catcher.get("Assign"), raw, bindings)
            else:
                assigned = self._assign(ctx, catcher.get("Assign"), error_output, None)
                output = apply_result_path(catcher, raw, error_output)
            return catcher["Next"], output, assigned
        return None
        yield

    def _finish(self, ctx: StateContext, raw: Any, result: Any) -> tuple[Any, Any, Any]:
        spec = ctx.state.spec
        if ctx.state.query_language == JSONATA:
            bindings = ctx.states(raw, result=result)
            output = self._jsonata(ctx, "Output", bindings, result)
            return (
                self._next(ctx.state),
                output,
                self._assign(ctx, spec.get("Assign"), raw, bindings),
            )
        if "ResultSelector" in spec:
            result = ctx.scope.template(spec["ResultSelector"], result, "ResultSelector")
        assigned = self._assign(ctx, spec.get("Assign"), result, None)
        output = self._output_path(ctx, apply_result_path(spec, raw, result))
        return self._next(ctx.state), output, assigned

    def _arguments(self, ctx: StateContext, raw: Any) -> Any:
        """The effective input of a Task or Parallel (``InputPath`` + ``Parameters``, or
        JSONata's ``Arguments``)."""
        spec = ctx.state.spec
        if ctx.state.query_language == JSONATA:
            return self._jsonata(ctx, "Arguments", ctx.states(raw), raw)
        data = self._filtered(ctx, raw)
        if "Parameters" in spec:
            data = ctx.scope.template(spec["Parameters"], data, "Parameters")
        return data

    def _task_attempt(self, ctx: StateContext, raw: Any) -> Gen:
        resource = self.engine.tasks.prepare(ctx)
        arguments = self._arguments(ctx, raw)
        return (yield from self.engine.tasks.run(self, ctx, resource, arguments, raw))

    def _parallel_attempt(self, ctx: StateContext, raw: Any) -> Gen:
        arguments = self._arguments(ctx, raw)
        self.event(ctx.frame, "ParallelStateStarted", None)
        frames = [ctx.frame.child("Parallel", i) for i in range(len(ctx.state.branches))]
        children = [
            self.engine.spawn(ctx.frame.execution, self.run_machine(frame, branch, arguments))
            for frame, branch in zip(frames, ctx.state.branches, strict=True)
        ]
        try:
            results = yield from self._gather(ctx, children)
        except StatesError:
            ctx.frame.last_event = max(f.last_event for f in frames)
            self.event(ctx.frame, "ParallelStateFailed", None)
            raise
        except GeneratorExit:
            self.event(ctx.frame, "ParallelStateAborted", None)
            raise
        # The branches' last events come before the Parallel's own end in its history.
        ctx.frame.last_event = max(f.last_event for f in frames)
        self.event(ctx.frame, "ParallelStateSucceeded", None)
        return results

    def _gather(self, ctx: StateContext, children: list[Process]) -> Gen:
        """Wait for every child; the first failure cancels the others and is raised."""
        remaining = dict(enumerate(children))
        try:
            while remaining:
                finished = [k for k, p in remaining.items() if p.done]
                if not finished:
                    finished = [(yield first_done(remaining))]
                for key in finished:
                    error = remaining.pop(key).error
                    if error is not None:
                        raise error
            return [child.value for child in children]
        finally:
            for child in children:
                self.engine.scheduler.cancel(child)

    # -- Map --------------------------------------------------------------------------------
    def _map_attempt(self, ctx: StateContext, raw: Any) -> Gen:
        from labkit.services.stepfunctions.sim_map import run_map

        return (yield from run_map(self, ctx, raw))


def first_done(processes: dict[int, Process]) -> Future:
    """A future that resolves with the key of the first of ``processes`` to finish."""
    future = Future()

    def resolver(key: int) -> Callable[[Future], None]:
        def resolve(_done: Future) -> None:
            future.set_result(key)

        return resolve

    for key, process in processes.items():
        process.add_done(resolver(key))
    return future


def _until(when: datetime, now: float) -> float:
    return max(0.0, when.timestamp() - now)
