"""The Amazon States Language pieces of labkit's Step Functions interpreter, without moto:
JSONPath, intrinsic functions, JSONata, Choice rules and definition diagnostics."""

from __future__ import annotations

import json
import random

import pytest

from labkit.services.stepfunctions import (
    sim_choice,
    sim_definition,
    sim_jsonata,
    sim_paths,
)
from labkit.services.stepfunctions.sim_dataflow import Scope, apply_result_path
from labkit.services.stepfunctions.sim_errors import (
    ALL,
    HEARTBEAT_TIMEOUT,
    RUNTIME,
    TASK_FAILED,
    TIMEOUT,
    InvalidDefinitionError,
    StatesError,
    matches,
)

DATA = {
    "order": {"id": "o-1", "items": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 5}]},
    "total": 42,
    "tags": ["x", "y"],
}


def scope(variables: dict[str, object] | None = None) -> Scope:
    context = {"Execution": {"Id": "arn:exec", "Name": "run-1"}, "State": {"Name": "S"}}
    return Scope(context, variables or {}, random.Random(7))


# -- JSONPath ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", DATA),
        ("$.total", 42),
        ("$.order.items[1].sku", "b"),
        ("$['order']['id']", "o-1"),
        ("$.order.items[-1].qty", 5),
        ("$.tags.length()", 2),
        ("$.order.items[*].sku", ["a", "b"]),
        ("$..sku", ["a", "b"]),
        ("$.order.items[?(@.qty > 3)].sku", ["b"]),
        ("$.order.items[?(@.qty > 1 && @.sku == 'a')].qty", [2]),
        ("$.order.items[0:1].sku", ["a"]),
        ("$.tags[0,1]", ["x", "y"]),
        ("$.order.nothing[*]", []),
    ],
)
def test_paths_select_as_jayway_does(path: str, expected: object) -> None:
    assert sim_paths.parse(path).get(DATA) == expected


def test_a_definite_path_to_nothing_is_a_runtime_error_with_aws_cause() -> None:
    with pytest.raises(StatesError) as caught:
        scope().select("$.missing", {"a": 1}, "InputPath")
    assert caught.value.error == RUNTIME
    assert "The JSONPath '$.missing' specified for the field 'InputPath'" in caught.value.cause
    assert '{"a":1}' in caught.value.cause


def test_context_object_and_variables_are_paths_too() -> None:
    s = scope({"limit": {"max": 9}})
    assert s.select("$$.Execution.Name", {}, "x") == "run-1"
    assert s.select("$limit.max", {}, "x") == 9


def test_result_path_merges_into_a_copy_and_null_discards() -> None:
    raw = {"a": {"b": 1}}
    out = apply_result_path({"ResultPath": "$.a.c"}, raw, 5)
    assert out == {"a": {"b": 1, "c": 5}} and raw == {"a": {"b": 1}}
    assert apply_result_path({"ResultPath": None}, raw, 5) is raw
    assert apply_result_path({}, raw, 5) == 5
    assert apply_result_path({"ResultPath": "$.new.deep"}, {}, 1) == {"new": {"deep": 1}}


def test_result_path_through_a_string_is_a_match_failure() -> None:
    with pytest.raises(StatesError) as caught:
        apply_result_path({"ResultPath": "$.a.b"}, {"a": "text"}, 1)
    assert caught.value.error == "States.ResultPathMatchFailure"


def test_parameters_template_fills_dollar_fields() -> None:
    template = {
        "id.$": "$.order.id",
        "static": {"nested.$": "$.total"},
        "exec.$": "$$.Execution.Id",
        "list": [{"first.$": "$.tags[0]"}],
        "msg.$": "States.Format('Order {} has {} items', $.order.id, States.ArrayLength($.tags))",
    }
    assert scope().template(template, DATA, "Parameters") == {
        "id": "o-1",
        "static": {"nested": 42},
        "exec": "arn:exec",
        "list": [{"first": "x"}],
        "msg": "Order o-1 has 2 items",
    }


# -- intrinsic functions ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("States.Format('{} \\{literal\\} {}', 'a', $.total)", "a {literal} 42"),
        ("States.Format('{}', $.order.items[0])", '{"sku":"a","qty":2}'),
        ("States.StringToJson('{\"k\": [1]}')", {"k": [1]}),
        ("States.JsonToString($.tags)", '["x","y"]'),
        ("States.Array(1, 'two', $.total, null, true)", [1, "two", 42, None, True]),
        ("States.ArrayPartition(States.ArrayRange(1, 5, 1), 2)", [[1, 2], [3, 4], [5]]),
        ("States.ArrayContains($.tags, 'y')", True),
        ("States.ArrayRange(10, 1, -4)", [10, 6, 2]),
        ("States.ArrayGetItem($.tags, 1)", "y"),
        ("States.ArrayLength($.order.items)", 2),
        ("States.ArrayUnique(States.Array(1, 2, 1, 2, 3))", [1, 2, 3]),
        ("States.Base64Encode('Data to encode')", "RGF0YSB0byBlbmNvZGU="),
        ("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", "Data to encode"),
        (
            "States.Hash('input data', 'SHA-1')",
            "aaff4a450a104cd177d28d18d74485e8cae074b7",
        ),
        ("States.JsonMerge($.order, States.StringToJson('{\"id\": 2}'), false)", None),
        ("States.MathAdd($.total, -2)", 40),
        (
            "States.StringSplit('This.is+a,test=string', '.+,=')",
            ["This", "is", "a", "test", "string"],
        ),
    ],
)
def test_intrinsic_functions(call: str, expected: object) -> None:
    value = scope().dynamic(call, DATA, "x.$")
    if call.startswith("States.JsonMerge"):
        assert value == {"id": 2, "items": DATA["order"]["items"]}  # type: ignore[index]
    else:
        assert value == expected


def test_random_and_uuid_are_seeded() -> None:
    first = [scope().dynamic(c, {}, "x") for c in ("States.UUID()", "States.MathRandom(1, 999)")]
    again = [scope().dynamic(c, {}, "x") for c in ("States.UUID()", "States.MathRandom(1, 999)")]
    assert first == again
    assert len(str(first[0])) == 36 and str(first[0])[14] == "4"
    assert 1 <= int(str(first[1])) < 999
    seeded = {scope().dynamic("States.MathRandom(0, 1000, 5)", {}, "x") for _ in range(3)}
    assert len(seeded) == 1


@pytest.mark.parametrize(
    "call",
    [
        "States.ArrayGetItem($.tags, 5)",
        "States.MathAdd('a', 1)",
        "States.Format('{} {}', 'only one')",
        "States.Hash('x', 'CRC32')",
        "States.ArrayRange(1, 5000, 1)",
        "States.Nope(1)",
    ],
)
def test_bad_intrinsic_calls_are_intrinsic_failures(call: str) -> None:
    with pytest.raises(StatesError) as caught:
        scope().dynamic(call, DATA, "x.$")
    assert caught.value.error == "States.IntrinsicFailure"


# -- JSONata ----------------------------------------------------------------------------------
def test_jsonata_templates_bind_states_and_variables() -> None:
    bindings = {"states": {"input": DATA, "context": {"Execution": {"Name": "r"}}}, "rate": 2}
    out = sim_jsonata.template(
        {
            "total": "{% $states.input.total * $rate %}",
            "skus": "{% $states.input.order.items.sku %}",
            "name": "{% $states.context.Execution.Name %}",
            "plain": "not an expression",
            "parts": "{% $partition([1,2,3], 2) %}",
        },
        bindings,
        random.Random(1),
        field="Arguments",
    )
    assert out == {
        "total": 84,
        "skus": ["a", "b"],
        "name": "r",
        "plain": "not an expression",
        "parts": [[1, 2], [3]],
    }


def test_jsonata_undefined_and_broken_are_query_evaluation_errors() -> None:
    for source in ("{% $states.input.nothing %}", "{% $states.input.( %}"):
        with pytest.raises(StatesError) as caught:
            sim_jsonata.evaluate(
                source, {"states": {"input": {}}}, random.Random(1), field="Output"
            )
        assert caught.value.error == "States.QueryEvaluationError"


# -- Choice rules -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"Variable": "$.total", "NumericEquals": 42}, True),
        ({"Variable": "$.total", "NumericGreaterThanEquals": 43}, False),
        ({"Variable": "$.total", "NumericLessThanPath": "$.limit"}, True),
        ({"Variable": "$.total", "StringEquals": "42"}, False),
        ({"Variable": "$.name", "StringMatches": "log-*.txt"}, True),
        ({"Variable": "$.name", "StringMatches": "log-\\*.txt"}, False),
        ({"Variable": "$.name", "StringGreaterThan": "log-"}, True),
        ({"Variable": "$.flag", "BooleanEquals": False}, True),
        ({"Variable": "$.when", "TimestampLessThan": "2026-01-05T10:00:00Z"}, True),
        ({"Variable": "$.when", "TimestampEqualsPath": "$.when"}, True),
        ({"Variable": "$.nothing", "IsPresent": False}, True),
        ({"Variable": "$.none", "IsNull": True}, True),
        ({"Variable": "$.total", "IsNumeric": True}, True),
        ({"Variable": "$.name", "IsString": True}, True),
        ({"Variable": "$.flag", "IsBoolean": True}, True),
        ({"Variable": "$.when", "IsTimestamp": True}, True),
        ({"Variable": "$.short", "TimestampGreaterThan": "2026-01-05T09:00:00Z"}, True),
        (
            {
                "And": [
                    {"Variable": "$.total", "NumericGreaterThan": 10},
                    {"Not": {"Variable": "$.flag", "BooleanEquals": True}},
                ]
            },
            True,
        ),
        (
            {
                "Or": [
                    {"Variable": "$.total", "NumericLessThan": 10},
                    {"Variable": "$.name", "StringEquals": "other"},
                ]
            },
            False,
        ),
    ],
)
def test_choice_operators(rule: dict[str, object], expected: bool) -> None:
    data = {
        "total": 42,
        "limit": 50,
        "name": "log-1.txt",
        "flag": False,
        "when": "2026-01-05T09:00:00.123Z",
        "short": "2026-01-05T09:00:00.5Z",
        "none": None,
    }
    assert sim_choice.matches(rule, data, scope()) is expected


def test_choice_on_a_missing_variable_is_a_runtime_error() -> None:
    with pytest.raises(StatesError) as caught:
        sim_choice.matches({"Variable": "$.x", "StringEquals": "a"}, {}, scope())
    assert caught.value.error == RUNTIME


# -- Retry/Catch matching ---------------------------------------------------------------------
def test_error_matching_rules() -> None:
    assert matches([ALL], "MyError")
    assert matches([TASK_FAILED], "MyError") and matches([TASK_FAILED], HEARTBEAT_TIMEOUT)
    assert not matches([TASK_FAILED], TIMEOUT)
    assert matches([TIMEOUT], TIMEOUT)
    assert not matches([ALL], RUNTIME) and not matches([RUNTIME], RUNTIME)
    assert not matches(["Other"], "MyError")


# -- definitions ------------------------------------------------------------------------------
def codes(definition: object, **kwargs: str) -> list[tuple[str, str]]:
    text = definition if isinstance(definition, str) else json.dumps(definition)
    _, diagnostics = sim_definition.analyse(text, **kwargs)
    return [(d.code, d.location) for d in diagnostics if d.severity == "ERROR"]


def test_a_valid_definition_has_no_diagnostics() -> None:
    machine = sim_definition.parse(
        json.dumps(
            {
                "StartAt": "A",
                "States": {
                    "A": {
                        "Type": "Choice",
                        "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "B"}],
                        "Default": "C",
                    },
                    "B": {
                        "Type": "Parallel",
                        "Branches": [
                            {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
                        ],
                        "Next": "C",
                    },
                    "C": {"Type": "Succeed"},
                },
            }
        )
    )
    assert [s.name for s in machine.walk()] == ["A", "B", "P", "C"]


def test_definition_diagnostics_follow_aws() -> None:
    assert codes("{not json") == [("INVALID_JSON_DESCRIPTION", "")]
    assert codes({"States": {"A": {"Type": "Pass", "End": True}}}) == [
        ("SCHEMA_VALIDATION_FAILED", "/")
    ]
    # As AWS reports it: the missing target, and every state it leaves unreachable.
    assert codes({"StartAt": "X", "States": {"A": {"Type": "Pass", "End": True}}}) == [
        ("MISSING_TRANSITION_TARGET", "/StartAt"),
        ("MISSING_TRANSITION_TARGET", "/States/A"),
    ]
    unreachable = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Next": "Nope"},
            "B": {"Type": "Pass", "End": True},
        },
    }
    assert codes(unreachable) == [
        ("MISSING_TRANSITION_TARGET", "/States/A/Next"),
        ("MISSING_TRANSITION_TARGET", "/States/B"),
    ]
    loop = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A"}}}
    assert codes(loop) == [("MISSING_END_STATE", "/States")]
    bad_task = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "x", "End": True}}}
    assert codes(bad_task) == [("INVALID_RESOURCE", "/States/T/Resource")]
    token = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "End": True,
            }
        },
    }
    assert codes(token) == []
    assert codes(token, machine_type="EXPRESS") == [
        ("SCHEMA_VALIDATION_FAILED", "/States/T/Resource")
    ]


def test_invalid_definitions_raise_with_aws_message() -> None:
    with pytest.raises(InvalidDefinitionError) as caught:
        sim_definition.parse('{"StartAt": "X", "States": {"A": {"Type": "Pass", "End": true}}}')
    assert str(caught.value).startswith(
        "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: X "
        "at /StartAt"
    )
    assert 'State "A" is not reachable.' in str(caught.value)


@pytest.mark.parametrize(
    ("state", "where"),
    [
        ({"Type": "Pass"}, "/States/A"),
        ({"Type": "Pass", "End": True, "Next": "A"}, "/States/A"),
        ({"Type": "Bogus", "End": True}, "/States/A/Type"),
        ({"Type": "Wait", "End": True}, "/States/A"),
        ({"Type": "Wait", "Seconds": -1, "End": True}, "/States/A/Seconds"),
        ({"Type": "Pass", "InputPath": "nope", "End": True}, "/States/A/InputPath"),
        ({"Type": "Pass", "ResultPath": "$.a[*]", "End": True}, "/States/A/ResultPath"),
        (
            {"Type": "Pass", "Parameters": {"x.$": "States.Nope()"}, "End": True},
            "/States/A/Parameters/x.$",
        ),
        ({"Type": "Pass", "Unknown": 1, "End": True}, "/States/A/Unknown"),
        (
            {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                "End": True,
                "Retry": [{"ErrorEquals": ["States.ALL", "X"]}],
            },
            "/States/A/Retry/0/ErrorEquals",
        ),
        (
            {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                "End": True,
                "TimeoutSeconds": 5,
                "HeartbeatSeconds": 10,
            },
            "/States/A/HeartbeatSeconds",
        ),
        ({"Type": "Pass", "Output": "{% 1 %}", "End": True}, "/States/A/Output"),
    ],
)
def test_schema_problems_are_located(state: dict[str, object], where: str) -> None:
    found = codes({"StartAt": "A", "States": {"A": state}})
    assert ("SCHEMA_VALIDATION_FAILED", where) in found


def test_state_names_are_unique_across_the_whole_machine() -> None:
    inner = {"StartAt": "Same", "States": {"Same": {"Type": "Pass", "End": True}}}
    definition = {
        "StartAt": "Same",
        "States": {
            "Same": {"Type": "Parallel", "Branches": [inner], "End": True},
        },
    }
    assert ("DUPLICATE_STATE_NAME", "/States/Same") in codes(definition)


@pytest.mark.parametrize(
    ("retrier", "field"),
    [
        ({"IntervalSeconds": 0}, "IntervalSeconds"),
        ({"MaxAttempts": -1}, "MaxAttempts"),
        ({"BackoffRate": 0.5}, "BackoffRate"),
        ({"JitterStrategy": "SOME"}, "JitterStrategy"),
    ],
)
def test_retrier_numbers_are_checked(retrier: dict[str, object], field: str) -> None:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:1:function:f",
        "Retry": [{"ErrorEquals": ["X"], **retrier}],
        "End": True,
    }
    assert ("SCHEMA_VALIDATION_FAILED", f"/States/A/Retry/0/{field}") in codes(
        {"StartAt": "A", "States": {"A": task}}
    )


def test_a_path_without_dollar_is_a_warning_only() -> None:
    text = json.dumps(
        {
            "StartAt": "A",
            "States": {"A": {"Type": "Pass", "Parameters": {"id": "$.id"}, "End": True}},
        }
    )
    machine, diagnostics = sim_definition.analyse(text)
    assert machine is not None
    assert [(d.code, d.severity) for d in diagnostics] == [("NO_DOLLAR", "WARNING")]
