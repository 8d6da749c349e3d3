"""What an execution remembers: its status, its history in AWS's event shapes, and each state's
run (status, retries, lab times, input and output) for views and checks.

History events have AWS's ``type`` names, ``id`` (from 1), ``previousEventId`` (the event before
it on the same branch) and one ``*EventDetails`` member named after the type.
https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html
https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from labkit.clock import ScheduledEvent
from labkit.services.stepfunctions.sim_runtime import Future, Process

RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED = (
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "TIMED_OUT",
    "ABORTED",
)

#: The details member of each event type, where it is not ``<lowerCamelType>EventDetails``.
_DETAILS_KEY = {
    **{
        f"{kind}StateEntered": "stateEnteredEventDetails"
        for kind in ("Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")
    },
    **{
        f"{kind}StateExited": "stateExitedEventDetails"
        for kind in ("Pass", "Task", "Choice", "Wait", "Succeed", "Parallel", "Map")
    },
    "MapIterationStarted": "mapIterationStartedEventDetails",
    "MapIterationSucceeded": "mapIterationSucceededEventDetails",
    "MapIterationFailed": "mapIterationFailedEventDetails",
    "MapIterationAborted": "mapIterationAbortedEventDetails",
}
#: Event types whose details member AWS leaves out.
_NO_DETAILS = {
    "ParallelStateStarted",
    "ParallelStateSucceeded",
    "ParallelStateFailed",
    "ParallelStateAborted",
    "MapStateSucceeded",
    "MapStateAborted",
    "WaitStateAborted",
}


def iso(epoch: float) -> str:
    """An instant as Step Functions writes it in the context object (ms and ``Z``)."""
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class StateRun:
    """One entry into one state: what a graph view highlights and a check inspects.

    Attributes:
        name: The state's name.
        type: Its type (Task, Pass, ...).
        branch: Where it ran: ``()`` at the top level, ``(("Parallel", i),)`` in branch ``i``,
            ``(("Map", i),)`` in iteration ``i`` (nested containers add more pairs).
        status: ``RUNNING``, ``SUCCEEDED``, ``FAILED``, ``CAUGHT`` (failed, then a catcher took
            over) or ``ABORTED``.
        entered_at, exited_at: Lab times (epoch seconds).
        retries: How many times it was retried.
        error, cause: The error it ended with, if any.
    """

    name: str
    type: str
    branch: tuple[tuple[str, int], ...]
    entered_at: float
    input: Any
    status: str = RUNNING
    exited_at: float | None = None
    output: Any = None
    retries: int = 0
    error: str = ""
    cause: str = ""
    next: str | None = None


@dataclass
class TaskWait:
    """A task waiting for its token (``.waitForTaskToken``, an activity) or a child execution.

    The interpreter waits on ``future``; ``SendTaskSuccess``/``SendTaskFailure`` resolve it,
    ``SendTaskHeartbeat`` restarts the heartbeat timer.
    """

    token: str
    execution: Execution
    future: Future
    heartbeat_seconds: float | None = None
    heartbeat: ScheduledEvent | None = None
    on_heartbeat: Any = None
    activity_arn: str = ""
    input: Any = None
    started: bool = False
    kind: str = "token"
    frame: Any = None


@dataclass
class Execution:
    """One execution of a state machine."""

    arn: str
    name: str
    machine_arn: str
    machine_name: str
    machine_type: str
    role_arn: str
    input_text: str
    start: float
    rng: random.Random
    status: str = RUNNING
    stop: float | None = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    runs: list[StateRun] = field(default_factory=list)
    variables: dict[str, Any] = field(default_factory=dict)
    timers: list[ScheduledEvent] = field(default_factory=list)
    process: Process | None = None
    children: list[Process] = field(default_factory=list)
    waits: list[TaskWait] = field(default_factory=list)
    done: Future = field(default_factory=Future)
    parent_token: str | None = None
    transitions: int = 0
    keep_history: bool = True
    instant: float = 0.0
    instant_transitions: int = 0

    @property
    def running(self) -> bool:
        """Whether the execution has not ended."""
        return self.status == RUNNING

    def record(self, kind: str, details: dict[str, Any] | None, when: float, previous: int) -> int:
        """Append a history event; returns its id."""
        event_id = len(self.events) + 1
        event: dict[str, Any] = {
            "timestamp": when,
            "type": kind,
            "id": event_id,
            "previousEventId": previous,
        }
        if kind not in _NO_DETAILS and details is not None:
            event[_DETAILS_KEY.get(kind) or kind[0].lower() + kind[1:] + "EventDetails"] = details
        self.events.append(event)
        return event_id

    def describe(self) -> dict[str, Any]:
        """The execution as ``DescribeExecution`` answers (dates as epoch seconds)."""
        from labkit.services.stepfunctions.sim_dataflow import dumps

        out: dict[str, Any] = {
            "executionArn": self.arn,
            "stateMachineArn": self.machine_arn,
            "name": self.name,
            "status": self.status,
            "startDate": self.start,
            "input": self.input_text,
            "inputDetails": {"included": True},
            "redriveCount": 0,
            "redriveStatus": "NOT_REDRIVABLE",
        }
        if self.stop is not None:
            out["stopDate"] = self.stop
        if self.status == SUCCEEDED:
            out["output"] = dumps(self.output)
            out["outputDetails"] = {"included": True}
        if self.error is not None:
            out["error"] = self.error
        if self.cause is not None:
            out["cause"] = self.cause
        return out
