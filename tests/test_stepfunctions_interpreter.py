"""labkit's Step Functions interpreter on the lab clock, without moto: every state type, the data
flow, retries and catchers, timeouts and heartbeats, task tokens and activities."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from labkit.clock import Clock
from labkit.services.stepfunctions.sim_engine import Engine, MachineRecord, ServiceError
from labkit.services.stepfunctions.sim_execution import Execution

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:"
FN = "arn:aws:lambda:us-east-1:123456789012:function:"


class FakeAws:
    """Integrations for the tests: Lambda functions as Python callables, a log of calls."""

    def __init__(self) -> None:
        self.functions: dict[str, Callable[[Any], Any]] = {}
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def call(self, service: str, action: str, params: dict[str, Any]) -> Any:
        self.calls.append((service, action, params))
        if service == "lambda":
            name = str(params["FunctionName"]).rsplit(":", 1)[-1]
            if name not in self.functions:
                raise ServiceError("ResourceNotFoundException", f"Function not found: {name}")
            try:
                payload = self.functions[name](params["Payload"])
            except Exception as exc:  # as the Lambda runtime reports a handler's exception
                return {
                    "StatusCode": 200,
                    "FunctionError": "Unhandled",
                    "Payload": {"errorMessage": str(exc), "errorType": type(exc).__name__},
                }
            return {"StatusCode": 200, "Payload": payload, "ExecutedVersion": "$LATEST"}
        if service == "sqs" and action == "sendMessage":
            return {"MessageId": f"m-{len(self.calls)}", "MD5OfMessageBody": "x"}
        if service == "dynamodb" and action == "putItem":
            if params.get("ConditionExpression"):
                raise ServiceError(
                    "ConditionalCheckFailedException", "The conditional request failed"
                )
            return {}
        raise ServiceError("UnknownOperationException", f"{service}:{action}")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def aws() -> FakeAws:
    return FakeAws()


@pytest.fixture
def engine(clock: Clock, aws: FakeAws) -> Engine:
    machines: dict[str, MachineRecord] = {}
    eng = Engine(lambda: clock, aws, machines.get)
    eng.test_machines = machines  # type: ignore[attr-defined]
    return eng


def machine(
    engine: Engine, definition: dict[str, Any], name: str = "m", kind: str = "STANDARD"
) -> MachineRecord:
    record = MachineRecord(ARN + name, name, json.dumps(definition), "arn:aws:iam::1:role/r", kind)
    engine.test_machines[record.arn] = record  # type: ignore[attr-defined]
    return record


def run(engine: Engine, definition: dict[str, Any], data: Any = None, **kwargs: Any) -> Execution:
    return engine.start(machine(engine, definition, **kwargs), None, json.dumps(data or {}))


def one(state: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"StartAt": "S", "States": {"S": {**state, "End": True}}, **top}


def types(ex: Execution) -> list[str]:
    return [e["type"] for e in ex.events]


# -- Pass and the JSONPath data flow --------------------------------------------------------------
def test_pass_data_flow_in_aws_order(engine: Engine) -> None:
    ex = run(
        engine,
        one(
            {
                "Type": "Pass",
                "InputPath": "$.order",
                "Parameters": {
                    "id.$": "$.id",
                    "doubled.$": "States.MathAdd($.n, $.n)",
                    "exec.$": "$$.Execution.Name",
                },
                "ResultPath": "$.order.summary",
                "OutputPath": "$.order",
            }
        ),
        {"order": {"id": "o1", "n": 4}, "other": 1},
    )
    assert ex.status == "SUCCEEDED"
    assert ex.output == {"id": "o1", "n": 4, "summary": {"id": "o1", "doubled": 8, "exec": ex.name}}


def test_pass_result_and_null_paths(engine: Engine) -> None:
    assert run(engine, one({"Type": "Pass", "Result": {"r": 1}}), {"a": 1}).output == {"r": 1}
    assert run(engine, one({"Type": "Pass", "Result": 1, "ResultPath": None}), {"a": 1}).output == {
        "a": 1
    }
    assert run(engine, one({"Type": "Pass", "InputPath": None}), {"a": 1}).output == {}
    assert run(engine, one({"Type": "Pass", "OutputPath": None}), {"a": 1}).output == {}


def test_a_missing_input_path_fails_the_execution_with_states_runtime(engine: Engine) -> None:
    ex = run(engine, one({"Type": "Pass", "InputPath": "$.missing"}), {"a": 1})
    assert (ex.status, ex.error) == ("FAILED", "States.Runtime")
    assert "could not be found in the input" in str(ex.cause)


def test_variables_assign_and_read_in_jsonpath(engine: Engine) -> None:
    ex = run(
        engine,
        {
            "StartAt": "A",
            "States": {
                "A": {
                    "Type": "Pass",
                    "Result": {"v": 7},
                    "Assign": {"kept.$": "$.v", "fixed": "x"},
                    "Next": "B",
                },
                "B": {
                    "Type": "Pass",
                    "Parameters": {"got.$": "$kept", "also.$": "$fixed"},
                    "End": True,
                },
            },
        },
    )
    assert ex.output == {"got": 7, "also": "x"}
    assert ex.events[2]["stateExitedEventDetails"]["assignedVariables"] == {
        "kept": "7",
        "fixed": '"x"',
    }


# -- JSONata --------------------------------------------------------------------------------------
def test_jsonata_arguments_output_assign(engine: Engine, aws: FakeAws) -> None:
    aws.functions["price"] = lambda p: {"total": p["qty"] * 3}
    ex = run(
        engine,
        {
            "QueryLanguage": "JSONata",
            "StartAt": "Price",
            "States": {
                "Price": {
                    "Type": "Task",
                    "Resource": FN + "price",
                    "Arguments": {"qty": "{% $states.input.qty %}"},
                    "Assign": {
                        "total": "{% $states.result.total %}",
                        "seen": "{% $states.input.qty %}",
                    },
                    "Output": {"paid": "{% $states.result.total > 5 %}"},
                    "Next": "Echo",
                },
                "Echo": {
                    "Type": "Pass",
                    "Output": {
                        "total": "{% $total %}",
                        "seen": "{% $seen %}",
                        "paid": "{% $states.input.paid %}",
                    },
                    "End": True,
                },
            },
        },
        {"qty": 4},
    )
    assert ex.output == {"total": 12, "seen": 4, "paid": True}
    assert aws.calls[0][2]["Payload"] == {"qty": 4}


def test_jsonata_assign_sees_variables_as_they_were(engine: Engine) -> None:
    ex = run(
        engine,
        {
            "QueryLanguage": "JSONata",
            "StartAt": "A",
            "States": {
                "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B"},
                "B": {
                    "Type": "Pass",
                    "Assign": {"x": "{% $x + 1 %}"},
                    "Output": "{% $x %}",
                    "Next": "C",
                },
                "C": {
                    "Type": "Pass",
                    "Output": {"before": "{% $states.input %}", "now": "{% $x %}"},
                    "End": True,
                },
            },
        },
    )
    assert ex.output == {"before": 1, "now": 2}


def test_jsonata_choice_wait_fail(engine: Engine, clock: Clock) -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Condition": "{% $states.input.n > 10 %}",
                        "Next": "Big",
                        "Output": {"n": "{% $states.input.n %}"},
                    }
                ],
                "Default": "Small",
            },
            "Big": {"Type": "Wait", "Seconds": "{% $states.input.n %}", "Next": "Done"},
            "Small": {
                "Type": "Fail",
                "Error": "TooSmall",
                "Cause": "{% 'n was ' & $string($states.input.n) %}",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    big = run(engine, definition, {"n": 30})
    clock.advance(29)
    assert big.status == "RUNNING"
    clock.advance(1)
    assert (big.status, big.output) == ("SUCCEEDED", {"n": 30})
    small = run(engine, definition, {"n": 3})
    assert (small.status, small.error, small.cause) == ("FAILED", "TooSmall", "n was 3")


# -- Choice ---------------------------------------------------------------------------------------
def test_choice_default_and_no_match(engine: Engine) -> None:
    definition = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [
                            {"Variable": "$.n", "IsNumeric": True},
                            {"Variable": "$.n", "NumericGreaterThan": 5},
                        ],
                        "Next": "Hi",
                    },
                ],
                "Default": "Lo",
            },
            "Hi": {"Type": "Pass", "Result": "hi", "End": True},
            "Lo": {"Type": "Pass", "Result": "lo", "End": True},
        },
    }
    assert run(engine, definition, {"n": 9}).output == "hi"
    assert run(engine, definition, {"n": "9"}).output == "lo"
    # Without a Default (Lo still reachable through a second rule): no rule matches.
    choice = definition["States"]["C"]  # type: ignore[index]
    del choice["Default"]
    choice["Choices"].append({"Variable": "$.n", "StringEquals": "low", "Next": "Lo"})
    ex = run(engine, definition, {"n": 1}, name="nodefault")
    assert (ex.status, ex.error) == ("FAILED", "States.NoChoiceMatched")


# -- Wait -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("state", "data", "seconds"),
    [
        ({"Seconds": 30}, {}, 30),
        ({"SecondsPath": "$.s"}, {"s": 45}, 45),
        ({"Timestamp": "2026-01-05T09:01:00Z"}, {}, 60),
        ({"TimestampPath": "$.t"}, {"t": "2026-01-05T09:02:00.000Z"}, 120),
        ({"Timestamp": "2020-01-01T00:00:00Z"}, {}, 0),
    ],
)
def test_wait_forms_wait_on_the_lab_clock(
    engine: Engine, clock: Clock, state: dict[str, Any], data: Any, seconds: int
) -> None:
    ex = run(engine, one({"Type": "Wait", **state}), data)
    if seconds:
        clock.advance(seconds - 1)
        assert ex.status == "RUNNING"
    clock.advance(1)
    assert ex.status == "SUCCEEDED" and ex.stop == clock.start.timestamp() + seconds


def test_wait_with_a_bad_seconds_path_fails(engine: Engine) -> None:
    ex = run(engine, one({"Type": "Wait", "SecondsPath": "$.s"}), {"s": "soon"})
    assert (ex.status, ex.error) == ("FAILED", "States.Runtime")


# -- Succeed and Fail -----------------------------------------------------------------------------
def test_fail_with_error_and_cause_paths(engine: Engine) -> None:
    ex = run(
        engine,
        {
            "StartAt": "F",
            "States": {
                "F": {
                    "Type": "Fail",
                    "ErrorPath": "$.e",
                    "CausePath": "States.Format('bad {}', $.id)",
                }
            },
        },
        {"e": "Custom", "id": 3},
    )
    assert (ex.status, ex.error, ex.cause) == ("FAILED", "Custom", "bad 3")
    assert types(ex)[-2:] == ["FailStateEntered", "ExecutionFailed"]


def test_succeed_filters_its_output(engine: Engine) -> None:
    ex = run(
        engine,
        {"StartAt": "S", "States": {"S": {"Type": "Succeed", "OutputPath": "$.keep"}}},
        {"keep": {"k": 1}, "drop": 2},
    )
    assert ex.output == {"k": 1}


# -- Parallel -------------------------------------------------------------------------------------
def test_parallel_branches_run_at_once_and_output_in_order(engine: Engine, clock: Clock) -> None:
    def branch(s: int) -> dict[str, Any]:  # state names are unique across branches
        return {
            "StartAt": f"W{s}",
            "States": {
                f"W{s}": {"Type": "Wait", "Seconds": s, "Next": f"R{s}"},
                f"R{s}": {"Type": "Pass", "Result": s, "End": True},
            },
        }

    ex = run(
        engine,
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Parallel",
                    "Branches": [branch(30), branch(10)],
                    "ResultSelector": {"both.$": "$"},
                    "End": True,
                }
            },
        },
    )
    clock.advance(30)
    assert ex.status == "SUCCEEDED" and ex.output == {"both": [30, 10]}
    assert ex.stop == clock.start.timestamp() + 30
    # History: each branch chains its own events; the Parallel's end follows the last branch's.
    by_id = {e["id"]: e for e in ex.events}
    done = next(e for e in ex.events if e["type"] == "ParallelStateSucceeded")
    last = by_id[done["previousEventId"]]
    assert last["type"] == "PassStateExited" and "30" in last["stateExitedEventDetails"]["output"]
    r10 = next(e for e in ex.events if e["type"] == "PassStateEntered" and "R10" in str(e))
    assert by_id[r10["previousEventId"]]["type"] == "WaitStateExited"


def test_a_failed_branch_stops_the_others_and_is_caught_by_name(
    engine: Engine, clock: Clock
) -> None:
    ex = run(
        engine,
        {
            "StartAt": "P",
            "States": {
                "P": {
                    "Type": "Parallel",
                    "Branches": [
                        {
                            "StartAt": "Slow",
                            "States": {"Slow": {"Type": "Wait", "Seconds": 100, "End": True}},
                        },
                        {
                            "StartAt": "Boom",
                            "States": {"Boom": {"Type": "Fail", "Error": "Boom", "Cause": "b"}},
                        },
                    ],
                    "Catch": [{"ErrorEquals": ["Boom"], "ResultPath": "$.err", "Next": "Handled"}],
                    "Next": "Handled",
                },
                "Handled": {"Type": "Pass", "End": True},
            },
        },
        {"in": 1},
    )
    assert ex.status == "SUCCEEDED"
    assert ex.output == {"in": 1, "err": {"Error": "Boom", "Cause": "b"}}
    slow = next(r for r in ex.runs if r.name == "Slow")
    assert slow.status == "ABORTED"
    assert "WaitStateAborted" in types(ex) and "ParallelStateFailed" in types(ex)


# -- Map ------------------------------------------------------------------------------------------
def test_map_item_selector_and_context(engine: Engine) -> None:
    ex = run(
        engine,
        one(
            {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {
                    "i.$": "$$.Map.Item.Index",
                    "v.$": "$$.Map.Item.Value",
                    "tax.$": "$.tax",
                },
                "ItemProcessor": {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": True}}},
                "ResultPath": "$.out",
            }
        ),
        {"items": ["a", "b"], "tax": 2},
    )
    assert ex.output["out"] == [{"i": 0, "v": "a", "tax": 2}, {"i": 1, "v": "b", "tax": 2}]


@pytest.mark.parametrize(("limit", "duration"), [(1, 40), (2, 20), (0, 10)])
def test_map_max_concurrency_bounds_iterations_in_lab_time(
    engine: Engine, clock: Clock, limit: int, duration: int
) -> None:
    ex = run(
        engine,
        one(
            {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": limit,
                "ItemProcessor": {
                    "StartAt": "W",
                    "States": {"W": {"Type": "Wait", "Seconds": 10, "End": True}},
                },
            }
        ),
        {"items": [1, 2, 3, 4]},
        name=f"mc{limit}",
    )
    clock.advance(100)
    assert ex.status == "SUCCEEDED"
    assert ex.stop - ex.start == duration
    waits = [r for r in ex.runs if r.name == "W"]
    most = max(
        sum(1 for o in waits if o.entered_at <= w.entered_at < (o.exited_at or 0)) for w in waits
    )
    assert most == (limit or 4)


def test_inline_map_fails_on_first_failed_item(engine: Engine) -> None:
    ex = run(
        engine,
        one(
            {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "StartAt": "C",
                    "States": {
                        "C": {
                            "Type": "Choice",
                            "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "F"}],
                            "Default": "OK",
                        },
                        "F": {"Type": "Fail", "Error": "Two"},
                        "OK": {"Type": "Succeed"},
                    },
                },
            }
        ),
        {"items": [1, 2, 3]},
        name="m2",
    )
    assert (ex.status, ex.error) == ("FAILED", "Two")
    assert "MapIterationFailed" in types(ex) and "MapStateFailed" in types(ex)


@pytest.mark.parametrize(
    ("tolerance", "status"),
    [
        ({"ToleratedFailureCount": 1}, "SUCCEEDED"),
        ({"ToleratedFailurePercentage": 20}, "FAILED"),
        ({"ToleratedFailurePercentage": 50}, "SUCCEEDED"),
    ],
)
def test_distributed_map_tolerates_failures(
    engine: Engine, tolerance: dict[str, int], status: str
) -> None:
    ex = run(
        engine,
        one(
            {
                "Type": "Map",
                "ItemsPath": "$.items",
                **tolerance,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "C",
                    "States": {
                        "C": {
                            "Type": "Choice",
                            "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "F"}],
                            "Default": "OK",
                        },
                        "F": {"Type": "Fail", "Error": "Two", "Cause": "two"},
                        "OK": {"Type": "Succeed"},
                    },
                },
            }
        ),
        {"items": [1, 2, 3]},
    )
    assert ex.status == status
    if status == "SUCCEEDED":
        assert ex.output == [1, {"Error": "Two", "Cause": "two"}, 3]
    else:
        assert ex.error == "States.ExceedToleratedFailureThreshold"


# -- Task: Lambda, retries and catchers -----------------------------------------------------------
class Flaky:
    def __init__(self, failures: int, error: type[Exception] = ConnectionError) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    def __call__(self, payload: Any) -> Any:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(f"attempt {self.calls}")
        return {"ok": self.calls}


def test_lambda_invoke_integration_result_shape(engine: Engine, aws: FakeAws) -> None:
    aws.functions["f"] = lambda p: {"got": p}
    ex = run(
        engine,
        one(
            {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "f", "Payload.$": "$"},
                "ResultSelector": {"body.$": "$.Payload"},
            }
        ),
        {"x": 1},
    )
    assert ex.output == {"body": {"got": {"x": 1}}}
    assert types(ex)[2:5] == ["TaskScheduled", "TaskStarted", "TaskSucceeded"]
    assert ex.events[2]["taskScheduledEventDetails"]["resourceType"] == "lambda"


def test_bare_function_arn_returns_the_payload(engine: Engine, aws: FakeAws) -> None:
    aws.functions["f"] = lambda p: p["n"] + 1
    ex = run(engine, one({"Type": "Task", "Resource": FN + "f"}), {"n": 1})
    assert ex.output == 2
    assert "LambdaFunctionSucceeded" in types(ex)


def test_retry_backoff_on_the_lab_clock(engine: Engine, aws: FakeAws, clock: Clock) -> None:
    aws.functions["pay"] = flaky = Flaky(3)
    ex = run(
        engine,
        one(
            {
                "Type": "Task",
                "Resource": FN + "pay",
                "Retry": [
                    {
                        "ErrorEquals": ["ConnectionError"],
                        "IntervalSeconds": 2,
                        "BackoffRate": 3,
                        "MaxAttempts": 3,
                    }
                ],
            }
        ),
    )
    assert flaky.calls == 1
    clock.advance(2)
    assert flaky.calls == 2
    clock.advance(6)
    assert flaky.calls == 3
    clock.advance(17)
    assert flaky.calls == 3 and ex.status == "RUNNING"
    clock.advance(1)
    assert (ex.status, ex.output, flaky.calls) == ("SUCCEEDED", {"ok": 4}, 4)
    assert ex.runs[0].retries == 3
    assert ex.transitions == 4  # each retry is a billed state transition


def test_retry_gives_up_after_max_attempts_and_max_delay_caps(
    engine: Engine, aws: FakeAws, clock: Clock
) -> None:
    aws.functions["pay"] = flaky = Flaky(10)
    ex = run(
        engine,
        one(
            {
                "Type": "Task",
                "Resource": FN + "pay",
                "Retry": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "IntervalSeconds": 10,
                        "BackoffRate": 10,
                        "MaxAttempts": 2,
                        "MaxDelaySeconds": 15,
                    }
                ],
            }
        ),
    )
    clock.advance(10)
    assert flaky.calls == 2
    clock.advance(15)
    assert flaky.calls == 3 and ex.status == "FAILED" and ex.error == "ConnectionError"


def test_full_jitter_is_seeded_and_within_the_delay(clock: Clock, aws: FakeAws) -> None:
    delays = []
    for _ in range(2):
        c = Clock()
        eng = Engine(lambda c=c: c, aws)
        aws.functions["pay"] = flaky = Flaky(1)
        rec = MachineRecord(
            ARN + "j",
            "j",
            json.dumps(
                one(
                    {
                        "Type": "Task",
                        "Resource": FN + "pay",
                        "Retry": [
                            {
                                "ErrorEquals": ["States.ALL"],
                                "IntervalSeconds": 100,
                                "JitterStrategy": "FULL",
                            }
                        ],
                    }
                )
            ),
            "r",
        )
        ex = eng.start(rec, "x", "{}")
        c.advance(100)
        assert ex.status == "SUCCEEDED" and flaky.calls == 2
        delays.append(ex.stop - ex.start)
    assert delays[0] == delays[1] and 0 <= delays[0] < 100


def test_retriers_are_matched_in_order_and_counted_apart(
    engine: Engine, aws: FakeAws, clock: Clock
) -> None:
    aws.functions["v"] = Flaky(5, ValueError)
    ex = run(
        engine,
        one(
            {
                "Type": "Task",
                "Resource": FN + "v",
                "Retry": [
                    {"ErrorEquals": ["ValueError"], "MaxAttempts": 0},
                    {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5},
                ],
            }
        ),
    )
    clock.advance(1)
    assert ex.status == "FAILED" and ex.runs[0].retries == 0


def test_catch_rules(engine: Engine, aws: FakeAws) -> None:
    aws.functions["v"] = Flaky(1, ValueError)
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": FN + "v",
                "Catch": [
                    {"ErrorEquals": ["KeyError"], "Next": "Wrong"},
                    {
                        "ErrorEquals": ["States.TaskFailed"],
                        "ResultPath": "$.error",
                        "Next": "Refund",
                    },
                ],
                "End": True,
            },
            "Wrong": {"Type": "Fail", "Error": "Wrong"},
            "Refund": {"Type": "Pass", "End": True},
        },
    }
    ex = run(engine, definition, {"order": 1})
    assert ex.status == "SUCCEEDED"
    assert ex.output["order"] == 1 and ex.output["error"]["Error"] == "ValueError"
    assert json.loads(ex.output["error"]["Cause"])["errorMessage"] == "attempt 1"
    assert ex.runs[0].status == "CAUGHT"


def test_service_errors_are_named_by_service(engine: Engine) -> None:
    ex = run(
        engine,
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::dynamodb:putItem",
                    "Parameters": {
                        "TableName": "t",
                        "Item": {},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    },
                    "Catch": [
                        {"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "Next": "X"}
                    ],
                    "End": True,
                },
                "X": {"Type": "Pass", "End": True},
            },
        },
        {},
        name="ddb",
    )
    assert (
        ex.status == "SUCCEEDED"
        and ex.output["Error"] == "DynamoDB.ConditionalCheckFailedException"
    )
    missing = run(engine, one({"Type": "Task", "Resource": FN + "nothing"}), name="nofn")
    assert missing.error == "Lambda.ResourceNotFoundException"


def test_runtime_errors_are_never_caught(engine: Engine, aws: FakeAws) -> None:
    aws.functions["f"] = lambda p: p
    ex = run(
        engine,
        {
            "StartAt": "T",
            "States": {
                "T": {
                    "Type": "Task",
                    "Resource": FN + "f",
                    "InputPath": "$.nope",
                    "Retry": [{"ErrorEquals": ["States.ALL"]}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "X"}],
                    "End": True,
                },
                "X": {"Type": "Pass", "End": True},
            },
        },
    )
    assert (ex.status, ex.error) == ("FAILED", "States.Runtime")
    assert aws.calls == []
