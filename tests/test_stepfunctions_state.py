"""Snapshots of Step Functions for the graph view: machines as graphs, executions as visits."""

from __future__ import annotations

import json
from typing import Any

from labkit.lab import Lab
from labkit.services.stepfunctions import state

ROLE = "arn:aws:iam::123456789012:role/sfn-role"
ORDER = {
    "StartAt": "Check",
    "States": {
        "Check": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.amount", "NumericGreaterThan": 100, "Next": "Both"},
                {
                    "And": [
                        {"Variable": "$.amount", "IsPresent": True},
                        {"Variable": "$.rush", "BooleanEquals": True},
                    ],
                    "Next": "Items",
                },
            ],
            "Default": "Done",
        },
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 5, "End": True}}},
                {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}},
            ],
            "ResultPath": None,
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done"}],
            "Next": "Items",
        },
        "Items": {
            "Type": "Map",
            "ItemsPath": "$$.Execution.Input.items",
            "ItemProcessor": {
                "StartAt": "Pack",
                "States": {"Pack": {"Type": "Pass", "End": True}},
            },
            "ResultPath": "$.packed",
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}


def test_a_definition_as_a_graph() -> None:
    g = state.graph(ORDER)
    assert g.start_at == "Check" and g.size() == 7
    assert [(n.name, n.type, n.start, n.end) for n in g.nodes] == [
        ("Check", "Choice", True, False),
        ("Both", "Parallel", False, False),
        ("Items", "Map", False, False),
        ("Done", "Succeed", False, True),
    ]
    kinds = {(e.source, e.target, e.kind) for e in g.edges}
    assert kinds == {
        ("Check", "Both", "choice"),
        ("Check", "Items", "choice"),
        ("Check", "Done", "default"),
        ("Both", "Done", "catch"),
        ("Both", "Items", "next"),
        ("Items", "Done", "next"),
    }
    labels = [e.label for e in g.edges if e.kind == "choice"]
    assert labels[0] == "$.amount NumericGreaterThan 100"
    assert labels[1] == "($.amount IsPresent true and $.rush BooleanEquals true)"
    assert [b.start_at for b in g.branches("Both")] == ["A", "B"]
    assert g.branches("Items")[0].node("Pack") is not None


def run(lab: Lab, data: dict[str, Any]) -> str:
    sfn = lab.client("stepfunctions")
    arn = sfn.create_state_machine(name="orders", definition=json.dumps(ORDER), roleArn=ROLE)[
        "stateMachineArn"
    ]
    return str(sfn.start_execution(stateMachineArn=arn, input=json.dumps(data))["executionArn"])


def test_an_execution_as_visits_on_the_lab_clock(lab: Lab) -> None:
    arn = run(lab, {"amount": 500, "items": ["x", "y"]})
    running = state.execution(arn)
    assert running is not None and running.status == "RUNNING"
    assert running.status_of("Both") == "RUNNING"
    assert running.status_of("A", (("Parallel", 0),)) == "RUNNING"
    assert running.status_of("B", (("Parallel", 1),)) == "SUCCEEDED"
    assert running.status_of("Items") is None
    lab.clock.advance(5)
    done = state.execution(arn)
    assert done is not None and done.status == "SUCCEEDED"
    assert done.path() == ["Check", "Both", "Items", "Done"]
    both = done.visits_of("Both")[0]
    assert both.seconds == 5 and both.next == "Items" and both.input["amount"] == 500
    assert done.path((("Map", 1),)) == ["Pack"]
    assert done.visits_of("Pack")[1].output == "y"
    assert done.transitions == 8 and done.history_events > 8
    graph = state.machine_graph("orders")
    assert graph is not None and graph.arn.endswith(":stateMachine:orders")
    assert [e.arn for e in state.executions("orders")] == [arn]


def test_retries_and_caught_errors_show_in_visits(lab: Lab) -> None:
    sfn = lab.client("stepfunctions")
    definition = {
        "StartAt": "Pay",
        "States": {
            "Pay": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "missing", "Payload": {}},
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 3, "MaxAttempts": 2}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Refund"}],
                "End": True,
            },
            "Refund": {"Type": "Pass", "End": True},
        },
    }
    arn = sfn.create_state_machine(name="pay", definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    ex = sfn.start_execution(stateMachineArn=arn)["executionArn"]
    lab.clock.advance(9)
    snap = state.execution(ex)
    assert snap is not None and snap.path() == ["Pay", "Refund"]
    pay = snap.visits_of("Pay")[0]
    assert (pay.status, pay.retries, pay.error, pay.seconds) == (
        "CAUGHT",
        2,
        "Lambda.ResourceNotFoundException",
        9,
    )
    assert pay.next == "Refund"
