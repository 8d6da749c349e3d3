"""More of the interpreter's rules, without moto: retry defaults, timeouts from paths and
expressions, JSONata in containers and catchers, variable scopes, the context object, item
batching, and stopping an execution that waits for a token."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_stepfunctions_interpreter import FN, FakeAws, Flaky, machine, one, run, types

from labkit.clock import Clock
from labkit.services.stepfunctions.sim_engine import Engine
from labkit.services.stepfunctions.sim_errors import TaskTokenError


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


def test_retry_defaults_are_one_second_doubling_three_times(
    engine: Engine, aws: FakeAws, clock: Clock
) -> None:
    aws.functions["f"] = flaky = Flaky(100)
    seen: list[float] = []
    inner = flaky.__call__

    def record(payload: Any) -> Any:
        seen.append(clock.elapsed.total_seconds())
        return inner(payload)

    aws.functions["f"] = record
    ex = run(
        engine,
        one(
            {"Type": "Task", "Resource": FN + "f", "Retry": [{"ErrorEquals": ["ConnectionError"]}]}
        ),
    )
    clock.advance(100)
    assert seen == [0, 1, 3, 7]
    assert (ex.status, ex.error) == ("FAILED", "ConnectionError")


def test_retry_count_is_in_the_context_object(engine: Engine, aws: FakeAws, clock: Clock) -> None:
    counts: list[int] = []

    def fn(payload: Any) -> Any:
        counts.append(payload["try"])
        if payload["try"] < 2:
            raise ConnectionError("again")
        return "ok"

    aws.functions["f"] = fn
    run(
        engine,
        one(
            {
                "Type": "Task",
                "Resource": FN + "f",
                "Parameters": {"try.$": "$$.State.RetryCount"},
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "BackoffRate": 1}],
            }
        ),
    )
    clock.advance(5)
    assert counts == [0, 1, 2]


def test_task_failed_does_not_catch_a_timeout(engine: Engine, aws: FakeAws, clock: Clock) -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": "q", "MessageBody.$": "$$.Task.Token"},
                "TimeoutSeconds": 10,
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Succeed"},
        },
    }
    ex = run(engine, definition)
    clock.advance(10)
    assert (ex.status, ex.error) == ("FAILED", "States.Timeout")


@pytest.mark.parametrize(
    ("spec", "data", "timeout"),
    [
        ({"TimeoutSecondsPath": "$.t"}, {"t": 30}, 30),
        (
            {"TimeoutSeconds": "{% $states.input.t * 2 %}", "QueryLanguage": "JSONata"},
            {"t": 15},
            30,
        ),
    ],
)
def test_timeouts_from_paths_and_expressions(
    engine: Engine, clock: Clock, spec: dict[str, Any], data: Any, timeout: int
) -> None:
    params = (
        {"Arguments": {"QueueUrl": "q", "MessageBody": "{% $states.context.Task.Token %}"}}
        if "QueryLanguage" in spec
        else {"Parameters": {"QueueUrl": "q", "MessageBody.$": "$$.Task.Token"}}
    )
    ex = run(
        engine,
        one(
            {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                **params,
                **spec,
            }
        ),
        data,
    )
    clock.advance(timeout - 1)
    assert ex.status == "RUNNING"
    clock.advance(1)
    assert ex.error == "States.Timeout"


def test_an_activity_without_heartbeats_times_out(engine: Engine, clock: Clock) -> None:
    activity = "arn:aws:states:us-east-1:123456789012:activity:slow"
    ex = run(
        engine,
        one(
            {
                "Type": "Task",
                "Resource": activity,
                "HeartbeatSeconds": 10,
                "Retry": [
                    {
                        "ErrorEquals": ["States.HeartbeatTimeout"],
                        "MaxAttempts": 1,
                        "IntervalSeconds": 5,
                    }
                ],
            }
        ),
    )
    clock.advance(1000)  # nobody polls: heartbeats only count once a worker has the task
    assert ex.status == "RUNNING"
    assert engine.poll_activity(activity) is not None
    clock.advance(10)
    assert ex.status == "RUNNING" and ex.runs[0].retries == 1
    clock.advance(5)
    second = engine.poll_activity(activity)
    assert second is not None
    clock.advance(10)
    assert (ex.status, ex.error) == ("FAILED", "States.HeartbeatTimeout")
    assert types(ex).count("ActivityTimedOut") == 2


def test_stopping_an_execution_forgets_its_token(engine: Engine, aws: FakeAws) -> None:
    ex = run(
        engine,
        one(
            {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": "q", "MessageBody.$": "$$.Task.Token"},
            }
        ),
    )
    token = str(aws.calls[-1][2]["MessageBody"])
    engine.stop(ex.arn)
    with pytest.raises(TaskTokenError) as caught:
        engine.send_task_success(token, "{}")
    assert caught.value.api_code == "TaskTimedOut"
    assert ex.runs[0].status == "ABORTED"


def test_jsonata_parallel_map_and_catch(engine: Engine, aws: FakeAws) -> None:
    aws.functions["f"] = Flaky(10, KeyError)
    ex = run(
        engine,
        {
            "QueryLanguage": "JSONata",
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Parallel",
                    "Arguments": {"base": "{% $states.input.base %}"},
                    "Branches": [
                        {
                            "StartAt": "M",
                            "States": {
                                "M": {
                                    "Type": "Map",
                                    "Items": "{% [1, 2, 3] %}",
                                    "ItemSelector": {
                                        "v": "{% $states.context.Map.Item.Value"
                                        " * $states.input.base %}"
                                    },
                                    "ItemProcessor": {
                                        "StartAt": "X",
                                        "States": {
                                            "X": {
                                                "Type": "Pass",
                                                "Output": "{% $states.input.v %}",
                                                "End": True,
                                            }
                                        },
                                    },
                                    "Output": "{% $sum($states.result) %}",
                                    "End": True,
                                }
                            },
                        },
                        {
                            "StartAt": "T",
                            "States": {
                                "T": {
                                    "Type": "Task",
                                    "Resource": FN + "f",
                                    "Catch": [
                                        {
                                            "ErrorEquals": ["KeyError"],
                                            "Assign": {"why": "{% $states.errorOutput.Error %}"},
                                            "Output": {"failed": "{% $states.errorOutput.Error %}"},
                                            "Next": "After",
                                        }
                                    ],
                                    "End": True,
                                },
                                "After": {
                                    "Type": "Pass",
                                    "Output": {
                                        "failed": "{% $states.input.failed %}",
                                        "why": "{% $why %}",
                                    },
                                    "End": True,
                                },
                            },
                        },
                    ],
                    "Output": {
                        "sum": "{% $states.result[0] %}",
                        "other": "{% $states.result[1] %}",
                    },
                    "End": True,
                }
            },
        },
        {"base": 10},
    )
    assert ex.status == "SUCCEEDED", ex.cause
    assert ex.output == {"sum": 60, "other": {"failed": "KeyError", "why": "KeyError"}}


def test_inner_scopes_read_outer_variables_but_do_not_leak(engine: Engine) -> None:
    ex = run(
        engine,
        {
            "QueryLanguage": "JSONata",
            "StartAt": "Set",
            "States": {
                "Set": {"Type": "Pass", "Assign": {"rate": 3}, "Next": "M"},
                "M": {
                    "Type": "Map",
                    "Items": "{% [1, 2] %}",
                    "ItemProcessor": {
                        "StartAt": "X",
                        "States": {
                            "X": {
                                "Type": "Pass",
                                "Assign": {"inner": 1},
                                "Output": "{% $states.input * $rate %}",
                                "End": True,
                            }
                        },
                    },
                    "Next": "After",
                },
                "After": {
                    "Type": "Pass",
                    "Output": {"items": "{% $states.input %}", "leaked": "{% $exists($inner) %}"},
                    "End": True,
                },
            },
        },
    )
    assert ex.output == {"items": [3, 6], "leaked": False}


def test_item_batcher_groups_items(engine: Engine) -> None:
    ex = run(
        engine,
        one(
            {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemBatcher": {"MaxItemsPerBatch": 2, "BatchInput": {"job": "j"}},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "X",
                    "States": {"X": {"Type": "Pass", "End": True}},
                },
            }
        ),
        {"items": [1, 2, 3]},
    )
    assert ex.output == [{"job": "j", "Items": [1, 2]}, {"job": "j", "Items": [3]}]


def test_context_object_fields(engine: Engine, clock: Clock) -> None:
    clock.advance(5)
    ex = run(engine, one({"Type": "Pass", "Parameters": {"ctx.$": "$$"}}), {"k": "v"}, name="ctx")
    ctx = ex.output["ctx"]
    assert ctx["Execution"]["Input"] == {"k": "v"} and ctx["Execution"]["Name"] == ex.name
    assert ctx["Execution"]["StartTime"] == "2026-01-05T09:00:05.000Z"
    assert ctx["State"] == {"EnteredTime": "2026-01-05T09:00:05.000Z", "Name": "S", "RetryCount": 0}
    assert ctx["StateMachine"]["Name"] == "ctx"


def test_jsonata_wait_timestamp_and_choice_default_output(engine: Engine, clock: Clock) -> None:
    ex = run(
        engine,
        {
            "QueryLanguage": "JSONata",
            "StartAt": "W",
            "States": {
                "W": {"Type": "Wait", "Timestamp": "{% $states.input.at %}", "Next": "C"},
                "C": {
                    "Type": "Choice",
                    "Choices": [{"Condition": "{% false %}", "Next": "D"}],
                    "Default": "D",
                    "Output": {"chose": "default"},
                },
                "D": {"Type": "Succeed"},
            },
        },
        {"at": "2026-01-05T10:00:00Z"},
    )
    clock.advance(3599)
    assert ex.status == "RUNNING"
    clock.advance(1)
    assert ex.output == {"chose": "default"}


def test_a_non_boolean_condition_is_a_query_evaluation_error(engine: Engine) -> None:
    ex = run(
        engine,
        {
            "QueryLanguage": "JSONata",
            "StartAt": "C",
            "States": {
                "C": {"Type": "Choice", "Choices": [{"Condition": "{% 'yes' %}", "Next": "D"}]},
                "D": {"Type": "Succeed"},
            },
        },
    )
    assert ex.error == "States.QueryEvaluationError"


def test_map_of_a_non_array_fails(engine: Engine) -> None:
    ex = run(
        engine,
        one(
            {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}},
            }
        ),
        {"items": "nope"},
    )
    assert ex.error == "States.Runtime"


def test_express_start_is_at_least_once_standard_exactly_once(engine: Engine) -> None:
    standard = machine(engine, one({"Type": "Pass"}), name="s")
    express = machine(engine, one({"Type": "Pass"}), name="e", kind="EXPRESS")
    assert engine.start(express, "n", "{}") is not engine.start(express, "n", "{}")
    engine.start(standard, "n", "{}")
    with pytest.raises(Exception) as again:
        engine.start(standard, "n", "{}")
    assert "Execution Already Exists" in str(again.value)


def test_invalid_input_is_refused(engine: Engine) -> None:
    with pytest.raises(Exception) as caught:
        engine.start(machine(engine, one({"Type": "Pass"})), None, "{not json")
    assert getattr(caught.value, "api_code", "") == "InvalidExecutionInput"


def test_result_selector_with_intrinsics(engine: Engine, aws: FakeAws) -> None:
    aws.functions["f"] = lambda p: {"items": [1, 2, 2]}
    ex = run(
        engine,
        one(
            {
                "Type": "Task",
                "Resource": FN + "f",
                "ResultSelector": {
                    "unique.$": "States.ArrayUnique($.items)",
                    "n.$": "States.ArrayLength($.items)",
                },
                "ResultPath": "$.r",
                "OutputPath": "$.r",
            }
        ),
        {"x": 1},
    )
    assert ex.output == {"unique": [1, 2], "n": 3}
    assert json.loads(ex.events[-2]["stateExitedEventDetails"]["output"]) == ex.output


def test_a_task_that_waits_for_a_sync_express_execution(engine: Engine, aws: FakeAws) -> None:
    # A handler that calls StartSyncExecution from inside a step: the nested execution must run
    # (and its Wait pass on the lab clock) while the outer step is still on the call stack.
    inner = machine(
        engine,
        one({"Type": "Wait", "Seconds": 3, "OutputPath": "$.v"}),
        name="inner",
        kind="EXPRESS",
    )

    def handler(payload: Any) -> Any:
        child = engine.run_sync(inner, None, json.dumps({"v": payload["v"] * 2}))
        return {"status": child.status, "out": child.output}

    aws.functions["sync"] = handler
    ex = run(engine, one({"Type": "Task", "Resource": FN + "sync"}), {"v": 21}, name="outer")
    assert (ex.status, ex.output) == ("SUCCEEDED", {"status": "SUCCEEDED", "out": 42})


LOOP = {
    "StartAt": "Again",
    "States": {
        "Again": {"Type": "Pass", "Next": "Check"},
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "End"}],
            "Default": "Again",
        },
        "End": {"Type": "Succeed"},
    },
}


@pytest.mark.parametrize("kind", ["STANDARD", "EXPRESS"])
def test_a_loop_without_an_end_is_stopped(engine: Engine, kind: str) -> None:
    ex = engine.start(machine(engine, LOOP, kind=kind), None, "{}")
    assert (ex.status, ex.error) == ("FAILED", "States.Runtime")
    if kind == "STANDARD":
        assert len(ex.events) <= 25000 and "25,000 events" in str(ex.cause)
    else:
        assert "without the lab clock moving" in str(ex.cause)


def test_an_output_over_256_kib_exceeds_the_data_limit(engine: Engine) -> None:
    ex = run(
        engine,
        one({"Type": "Pass", "Parameters": {"big.$": "$.text"}}),
        {"text": "x" * 300_000},
    )
    assert (ex.status, ex.error) == ("FAILED", "States.DataLimitExceeded")


def test_map_item_context_is_for_the_item_selector_only(engine: Engine) -> None:
    inside = {
        "StartAt": "X",
        "States": {"X": {"Type": "Pass", "Parameters": {"i.$": "$$.Map.Item.Index"}, "End": True}},
    }
    ex = run(
        engine,
        one({"Type": "Map", "ItemsPath": "$.items", "ItemProcessor": inside}),
        {"items": [1]},
    )
    assert (ex.status, ex.error) == ("FAILED", "States.Runtime")
    passed = run(
        engine,
        one(
            {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {"i.$": "$$.Map.Item.Index"},
                "ItemProcessor": {"StartAt": "Y", "States": {"Y": {"Type": "Pass", "End": True}}},
            }
        ),
        {"items": ["a", "b"]},
        name="sel",
    )
    assert passed.output == [{"i": 0}, {"i": 1}]


def test_heartbeat_seconds_from_a_path(engine: Engine, aws: FakeAws, clock: Clock) -> None:
    ex = run(
        engine,
        one(
            {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": "q", "MessageBody.$": "$$.Task.Token"},
                "HeartbeatSecondsPath": "$.beat",
            }
        ),
        {"beat": 20},
    )
    token = str(aws.calls[-1][2]["MessageBody"])
    clock.advance(19)
    engine.send_task_heartbeat(token)
    clock.advance(19)  # 38 s: 19 s after the heartbeat
    assert ex.status == "RUNNING"
    clock.advance(1)  # 20 s after it
    assert ex.error == "States.HeartbeatTimeout"
