"""Step Functions benchmarks: labkit's interpreter against moto's own execution, same run.

Prints the wall time of one execution of 1,000 state transitions, start to end:
- a chain of 1,000 Pass states, and a loop of 500 rounds of Pass (``States.MathAdd``) and Choice,
  labkit through boto3 in the sandbox vs stock moto 5.2.5 with ``execute_state_machine`` (which
  runs the execution on a thread the caller polls with ``DescribeExecution``);
- the same loop in JSONata (stock moto fails every JSONata expression: its JSONata needs a JVM);
- a ``Wait`` of 2 seconds: labkit moves the lab clock (``lab.clock.advance``), stock moto sleeps;
- the graph view (HTML and text) of a 50-state machine with an execution on it (moto has none).

Targets (issue 15): 1,000 state transitions in under 1 s of wall time; the graph view of a
50-state machine in under 200 ms.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

ROLE = "arn:aws:iam::123456789012:role/sfn"


def chain() -> dict[str, Any]:
    """1,000 Pass states, one after another."""
    states: dict[str, Any] = {
        f"S{i}": {"Type": "Pass", "Parameters": {"n.$": "$.n", "i": i}, "Next": f"S{i + 1}"}
        for i in range(999)
    }
    states["S999"] = {"Type": "Pass", "End": True}
    return {"StartAt": "S0", "States": states}


def loop() -> dict[str, Any]:
    """500 rounds of a counter (Pass with an intrinsic) and a Choice: 1,000 transitions."""
    return {
        "StartAt": "Count",
        "States": {
            "Count": {
                "Type": "Pass",
                "Parameters": {"n.$": "States.MathAdd($.n, 1)"},
                "Next": "More?",
            },
            "More?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericLessThan": 500, "Next": "Count"}],
                "Default": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }


def jsonata_loop() -> dict[str, Any]:
    """The same loop in JSONata (Output, Assign and a Condition each round)."""
    return {
        "QueryLanguage": "JSONata",
        "StartAt": "Count",
        "States": {
            "Count": {
                "Type": "Pass",
                "Output": {"n": "{% $states.input.n + 1 %}"},
                "Assign": {"last": "{% $states.input.n %}"},
                "Next": "More?",
            },
            "More?": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $states.input.n < 500 %}", "Next": "Count"}],
                "Default": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }


def wait() -> dict[str, Any]:
    return {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 2, "End": True}}}


STOCK = r"""
import json, sys, time
from moto import mock_aws
import boto3
definitions = json.loads(sys.argv[1])
out = {}
with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    for name, definition in definitions.items():
        arn = sfn.create_state_machine(name=name, definition=json.dumps(definition),
                                       roleArn=sys.argv[2])["stateMachineArn"]
        t = time.perf_counter()
        ex = sfn.start_execution(stateMachineArn=arn, input='{"n": 0}')["executionArn"]
        while sfn.describe_execution(executionArn=ex)["status"] == "RUNNING":
            time.sleep(0.005)
        out[name] = [time.perf_counter() - t, sfn.describe_execution(executionArn=ex)["status"]]
print(json.dumps(out))
"""


def fifty() -> dict[str, Any]:
    """50 states: Choices every tenth state, a Parallel and a Map with states inside."""
    states: dict[str, Any] = {}
    for i in range(44):
        nxt = f"S{i + 1}"
        if i % 10 == 5:
            states[f"S{i}"] = {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThan": 100, "Next": f"S{i + 2}"}],
                "Default": nxt,
            }
        else:
            states[f"S{i}"] = {"Type": "Pass", "Next": nxt}
    states["S44"] = {
        "Type": "Parallel",
        "Branches": [
            {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "End": True}}},
            {"StartAt": "B2", "States": {"B2": {"Type": "Pass", "End": True}}},
        ],
        "ResultPath": None,
        "Next": "S45",
    }
    states["S45"] = {
        "Type": "Map",
        "ItemsPath": "$.items",
        "ItemProcessor": {"StartAt": "I1", "States": {"I1": {"Type": "Pass", "End": True}}},
        "ResultPath": None,
        "Next": "S46",
    }
    states["S46"] = {"Type": "Succeed"}
    return {"StartAt": "S0", "States": states}


def view_seconds(lab: Any) -> float:
    """Wall time of the HTML and the text form of a 50-state machine with an execution."""
    from labkit.services.stepfunctions import state, view

    sfn = lab.client("stepfunctions")
    arn = sfn.create_state_machine(name="fifty", definition=json.dumps(fifty()), roleArn=ROLE)[
        "stateMachineArn"
    ]
    ex = sfn.start_execution(stateMachineArn=arn, input='{"n": 1, "items": [1, 2, 3]}')
    t = time.perf_counter()
    graph, execution = state.machine_graph("fifty"), state.execution(ex["executionArn"])
    assert graph is not None and graph.size() == 50
    view.render_html(graph, execution)
    view.render_text(graph, execution)
    return time.perf_counter() - t


def labkit_figures(definitions: dict[str, Any]) -> dict[str, list[Any]]:
    import labkit

    lab = labkit.start(quiet=True)
    try:
        sfn = lab.client("stepfunctions")
        out: dict[str, list[Any]] = {}
        for name, definition in definitions.items():
            arn = sfn.create_state_machine(
                name=name, definition=json.dumps(definition), roleArn=ROLE
            )["stateMachineArn"]
            t = time.perf_counter()
            ex = sfn.start_execution(stateMachineArn=arn, input='{"n": 0}')["executionArn"]
            if sfn.describe_execution(executionArn=ex)["status"] == "RUNNING":
                lab.clock.advance(2)
            status = sfn.describe_execution(executionArn=ex)["status"]
            out[name] = [time.perf_counter() - t, status]
        out["view"] = [view_seconds(lab), "50 states"]
        return out
    finally:
        lab.stop()


def main() -> None:
    definitions = {"chain": chain(), "loop": loop(), "jsonata": jsonata_loop(), "wait": wait()}
    stock = json.loads(
        subprocess.run(
            [sys.executable, "-c", STOCK, json.dumps(definitions), ROLE],
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    ours = labkit_figures(definitions)
    print("Step Functions (labkit's interpreter on the lab clock; stock moto runs a thread)")
    for name, words in (
        ("chain", "1,000 Pass states in a chain"),
        ("loop", "500 rounds of Pass + Choice"),
        ("jsonata", "the same rounds in JSONata"),
        ("wait", "Wait 2 s"),
    ):
        target = "   (target < 1 s)" if name != "wait" else ""
        # A ratio only where both ran the machine to the end: a failed stock run proves nothing.
        both = ours[name][1] == stock[name][1] == "SUCCEEDED" and stock[name][0] > 0
        ratio = f"   labkit/stock {ours[name][0] / stock[name][0]:.3f}x" if both else ""
        print(
            f"  {words:32} labkit {ours[name][0]:.3f} s ({ours[name][1]})"
            f"   stock {stock[name][0]:.3f} s ({stock[name][1]}){ratio}{target}"
        )
    print(
        f"  {'graph view, 50 states + execution':32} labkit {ours['view'][0] * 1000:.1f} ms"
        "   stock: no view   (target < 200 ms)"
    )


if __name__ == "__main__":
    main()
