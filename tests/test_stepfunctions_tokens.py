"""labkit's Step Functions interpreter, without moto: task tokens with timeouts and heartbeats,
activities, and executions (names, stop, timeouts, child executions)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_stepfunctions_interpreter import FakeAws, machine, one, run, types

from labkit.clock import Clock
from labkit.services.stepfunctions.sim_engine import Engine
from labkit.services.stepfunctions.sim_errors import ExecutionError, TaskTokenError


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def aws() -> FakeAws:
    return FakeAws()


@pytest.fixture
def engine(clock: Clock, aws: FakeAws) -> Engine:
    machines: dict[str, Any] = {}
    eng = Engine(lambda: clock, aws, machines.get)
    eng.test_machines = machines  # type: ignore[attr-defined]
    return eng


# -- task tokens, timeouts, heartbeats ------------------------------------------------------------
APPROVAL = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {
                "QueueUrl": "q",
                "MessageBody": {"token.$": "$$.Task.Token", "order.$": "$"},
            },
            "TimeoutSeconds": 86400,
            "HeartbeatSeconds": 3600,
            "Catch": [
                {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.why", "Next": "Rejected"},
                {"ErrorEquals": ["Rejected"], "ResultPath": "$.why", "Next": "Rejected"},
            ],
            "Next": "Approved",
        },
        "Approved": {"Type": "Succeed"},
        "Rejected": {"Type": "Fail", "Error": "Rejected"},
    },
}


def token_of(aws: FakeAws) -> str:
    return str(aws.calls[-1][2]["MessageBody"]["token"])


def test_wait_for_task_token_success(engine: Engine, aws: FakeAws, clock: Clock) -> None:
    ex = run(engine, APPROVAL, {"amount": 500})
    clock.advance(3000)
    assert ex.status == "RUNNING"
    engine.send_task_success(token_of(aws), json.dumps({"approved": True}))
    clock.advance(0)
    assert (ex.status, ex.output) == ("SUCCEEDED", {"approved": True})
    assert "TaskSubmitted" in types(ex)
    with pytest.raises(TaskTokenError) as late:
        engine.send_task_success(token_of(aws), "{}")
    assert late.value.api_code == "TaskTimedOut"


def test_wait_for_task_token_failure_is_caught_by_its_name(engine: Engine, aws: FakeAws) -> None:
    ex = run(engine, APPROVAL)
    engine.send_task_failure(token_of(aws), "Rejected", "too expensive")
    assert ex.status == "FAILED" and ex.error == "Rejected"
    assert any(r.name == "Ask" and r.status == "CAUGHT" for r in ex.runs)


def test_heartbeats_keep_a_task_alive_until_its_timeout(
    engine: Engine, aws: FakeAws, clock: Clock
) -> None:
    ex = run(engine, APPROVAL)
    token = token_of(aws)
    for _ in range(24):
        clock.advance(3599)
        engine.send_task_heartbeat(token)
    assert ex.status == "RUNNING"
    clock.advance(86400 - 24 * 3599)
    assert ex.status == "FAILED"
    assert next(r for r in ex.runs if r.name == "Ask").error == "States.Timeout"
    assert "TaskTimedOut" in types(ex)


def test_a_missed_heartbeat_is_a_heartbeat_timeout(
    engine: Engine, aws: FakeAws, clock: Clock
) -> None:
    definition = json.loads(json.dumps(APPROVAL))
    definition["States"]["Ask"]["Catch"].insert(
        0, {"ErrorEquals": ["States.HeartbeatTimeout"], "Next": "Approved"}
    )
    ex = run(engine, definition)
    clock.advance(3599)
    assert ex.status == "RUNNING"
    clock.advance(1)
    assert ex.status == "SUCCEEDED"
    assert ex.runs[0].error == "States.HeartbeatTimeout"


def test_unknown_tokens(engine: Engine) -> None:
    for token, code in (("", "InvalidToken"), ("nope", "InvalidToken")):
        with pytest.raises(TaskTokenError) as caught:
            engine.send_task_success(token, "{}")
        assert caught.value.api_code == code


# -- activities -----------------------------------------------------------------------------------
ACTIVITY = "arn:aws:states:us-east-1:123456789012:activity:greet"


def test_activity_worker_round_trip(engine: Engine, clock: Clock) -> None:
    ex = run(
        engine,
        one({"Type": "Task", "Resource": ACTIVITY, "HeartbeatSeconds": 60, "TimeoutSeconds": 300}),
        {"who": "Ada"},
    )
    assert engine.poll_activity(ACTIVITY + "x") is None
    task = engine.poll_activity(ACTIVITY, "worker-1")
    assert task is not None and json.loads(task["input"]) == {"who": "Ada"}
    assert engine.poll_activity(ACTIVITY) is None
    clock.advance(59)
    engine.send_task_heartbeat(task["taskToken"])
    clock.advance(59)
    engine.send_task_success(task["taskToken"], '{"greeting": "Hello, Ada"}')
    assert (ex.status, ex.output) == ("SUCCEEDED", {"greeting": "Hello, Ada"})
    assert types(ex)[2:6] == [
        "ActivityScheduled",
        "ActivityStarted",
        "ActivitySucceeded",
        "TaskStateExited",
    ]
    assert ex.events[3]["activityStartedEventDetails"] == {"workerName": "worker-1"}


def test_an_activity_nobody_polls_times_out(engine: Engine, clock: Clock) -> None:
    ex = run(engine, one({"Type": "Task", "Resource": ACTIVITY, "TimeoutSeconds": 300}))
    clock.advance(300)
    assert (ex.status, ex.error) == ("FAILED", "States.Timeout")
    assert engine.poll_activity(ACTIVITY) is None
    assert "ActivityTimedOut" in types(ex)


# -- executions: names, stop, timeouts, child executions ------------------------------------------
def test_standard_names_are_exactly_once(engine: Engine, clock: Clock) -> None:
    record = machine(engine, one({"Type": "Wait", "Seconds": 10}))
    first = engine.start(record, "order-1", '{"a": 1}')
    assert engine.start(record, "order-1", '{"a": 1}') is first
    with pytest.raises(ExecutionError) as other:
        engine.start(record, "order-1", '{"a": 2}')
    assert other.value.api_code == "ExecutionAlreadyExists"
    clock.advance(10)
    with pytest.raises(ExecutionError):
        engine.start(record, "order-1", '{"a": 1}')


def test_express_names_may_repeat_and_keep_no_history(engine: Engine) -> None:
    record = machine(engine, one({"Type": "Pass"}), kind="EXPRESS")
    a = engine.start(record, "same", "{}")
    b = engine.start(record, "same", "{}")
    assert a is not b and a.arn != b.arn and ":express:" in a.arn
    assert a.events == [] and a.runs


def test_execution_timeout_and_stop(engine: Engine, clock: Clock) -> None:
    ex = run(engine, {"TimeoutSeconds": 5, **one({"Type": "Wait", "Seconds": 10})})
    clock.advance(5)
    assert (ex.status, ex.error) == ("TIMED_OUT", "States.Timeout")
    assert types(ex)[-1] == "ExecutionTimedOut"
    other = run(engine, one({"Type": "Wait", "Seconds": 10}), name="s")
    engine.stop(other.arn, "Cancelled", "by a test")
    clock.advance(20)
    assert (other.status, other.error) == ("ABORTED", "Cancelled")
    assert types(other)[-2:] == ["WaitStateAborted", "ExecutionAborted"]


def test_express_executions_end_after_five_minutes(engine: Engine, clock: Clock) -> None:
    ex = run(engine, one({"Type": "Wait", "Seconds": 600}), kind="EXPRESS")
    clock.advance(300)
    assert ex.status == "TIMED_OUT"


def test_start_execution_sync_waits_for_the_child(engine: Engine, clock: Clock) -> None:
    child = machine(engine, one({"Type": "Wait", "Seconds": 30, "OutputPath": "$.x"}), name="child")
    parent = run(
        engine,
        one(
            {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {"StateMachineArn": child.arn, "Input": {"x": 5}},
                "ResultSelector": {"out.$": "$.Output", "status.$": "$.Status"},
            }
        ),
        name="parent",
    )
    clock.advance(29)
    assert parent.status == "RUNNING"
    clock.advance(1)
    assert (parent.status, parent.output) == ("SUCCEEDED", {"out": 5, "status": "SUCCEEDED"})
    failing = machine(
        engine, {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}, name="bad"
    )
    p2 = run(
        engine,
        one(
            {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync",
                "Parameters": {"StateMachineArn": failing.arn},
            }
        ),
        name="p2",
    )
    assert (p2.status, p2.error) == ("FAILED", "States.TaskFailed")


def test_a_thousand_transitions_in_zero_lab_time(engine: Engine, clock: Clock) -> None:
    states = {f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} for i in range(999)}
    states["S999"] = {"Type": "Pass", "End": True}
    ex = run(engine, {"StartAt": "S0", "States": states}, {"n": 1})
    assert ex.status == "SUCCEEDED" and ex.transitions == 1000 and len(ex.events) == 2002
    assert clock.elapsed.total_seconds() == 0


def test_stopping_inside_nested_containers_aborts_every_level(engine: Engine, clock: Clock) -> None:
    activity = "arn:aws:states:us-east-1:123456789012:activity:nested"
    inner = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10, "End": True}}},
                    {
                        "StartAt": "T",
                        "States": {"T": {"Type": "Task", "Resource": activity, "End": True}},
                    },
                ],
                "End": True,
            }
        },
    }
    ex = run(
        engine,
        one({"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2, "ItemProcessor": inner}),
        {"items": [1, 2, 3]},
    )
    clock.advance(5)
    task = engine.poll_activity(activity, "w")
    assert task is not None
    engine.stop(ex.arn)
    assert ex.status == "ABORTED"
    assert {r.status for r in ex.runs} == {"ABORTED"}  # the Map itself too
    kinds = types(ex)
    assert kinds.index("MapStateAborted") < kinds.index("ExecutionAborted")
    assert kinds.count("ParallelStateAborted") == 2 and kinds.count("WaitStateAborted") == 2
    clock.advance(100)
    assert not list(clock.pending())
    with pytest.raises(TaskTokenError):
        engine.send_task_success(task["taskToken"], "{}")
