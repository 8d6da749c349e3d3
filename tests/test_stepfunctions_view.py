"""The Step Functions graph view: a machine and an execution's path, as HTML and as text."""

from __future__ import annotations

import json

from labkit.lab import Lab
from labkit.services.stepfunctions import state, view

ROLE = "arn:aws:iam::123456789012:role/sfn-role"
RETRY_LOOP = {
    "StartAt": "Pay",
    "States": {
        "Pay": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "missing", "Payload": {"card": "<4242>"}},
            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Again?"}],
            "End": True,
        },
        "Again?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.tries", "NumericLessThan": 1, "Next": "Pay"}],
            "Default": "Refund",
        },
        "Refund": {"Type": "Pass", "End": True},
        "Never": {"Type": "Pass", "Next": "Refund"},
    },
}


def test_a_graph_without_an_execution() -> None:
    definition = dict(RETRY_LOOP)
    definition["States"] = {k: v for k, v in RETRY_LOOP["States"].items() if k != "Never"}  # type: ignore[attr-defined]
    g = state.graph(definition, name="pay")
    text = view.render_text(g)
    assert text.splitlines()[0] == "State machine pay · Standard · 3 states"
    assert "▶ Pay (Task)" in text
    assert "→ Again? (catch States.ALL)" in text
    assert "→ Pay [$.tries NumericLessThan 1]" in text and "→ Refund (otherwise)" in text
    html = view.render_html(g)
    assert 'class="labkit-view labkit-stepfunctions"' in html and "<svg" in html
    assert html.count("<rect") == 3 and "<details" not in html
    assert 'stroke-dasharray="5 4"' in html  # the catcher's arrow is dashed


def test_an_execution_on_the_graph(lab: Lab) -> None:
    sfn = lab.client("stepfunctions")
    definition = {k: v for k, v in RETRY_LOOP.items()}
    definition["States"] = {k: v for k, v in RETRY_LOOP["States"].items() if k != "Never"}  # type: ignore[attr-defined]
    arn = sfn.create_state_machine(name="pay", definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"tries": 5, "note": "<b>"}))[
        "executionArn"
    ]
    lab.clock.advance(1)
    g, e = state.machine_graph("pay"), state.execution(ex)
    assert g is not None and e is not None
    text = view.render_text(g, e)
    assert "execution" in text.splitlines()[0] and "✓ succeeded" in text.splitlines()[0]
    assert "Pay (Task) ⚑ caught an error · 1 retry · 1 s · Lambda.ResourceNotFoundException" in text
    assert "⇒ Again? (catch States.ALL)" in text  # the path taken
    assert "⇒ Refund (otherwise)" in text and "→ Pay [$.tries NumericLessThan 1]" in text
    assert 'input  {"tries":5,"note":"<b>"}' in text
    html = view.render_html(g, e)
    assert html.count("<details") == 3  # one per entry: Pay, Again?, Refund
    assert "<b>" not in html and "&lt;b&gt;" in html  # inputs are escaped
    assert 'stroke-width="2.5"' in html  # taken arrows and visited states are thick
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "caught an error" in svg and "not reached" not in svg


def test_unreached_states_and_map_items(lab: Lab) -> None:
    sfn = lab.client("stepfunctions")
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "StartAt": "Check",
                    "States": {
                        "Check": {
                            "Type": "Choice",
                            "Choices": [{"Variable": "$", "NumericEquals": 0, "Next": "Zero"}],
                            "Default": "Ok",
                        },
                        "Zero": {"Type": "Fail", "Error": "Zero"},
                        "Ok": {"Type": "Succeed"},
                    },
                },
                "Catch": [{"ErrorEquals": ["Zero"], "Next": "Later"}],
                "End": True,
            },
            "Later": {"Type": "Pass", "End": True},
            "Unused": {"Type": "Pass", "Next": "Later"},
        },
    }
    definition["States"].pop("Unused")  # type: ignore[attr-defined]
    arn = sfn.create_state_machine(name="each", definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"items": [1, 2]}))[
        "executionArn"
    ]
    text = view.render_text(state.graph(definition, name="each"), state.execution(ex))
    assert "Check (Choice) ✓ 2 succeeded" in text  # one drawing for every item
    assert "Zero (Fail) · not reached" in text and "Later (Pass) · not reached" in text


def test_fifty_states_render() -> None:
    states: dict[str, object] = {f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} for i in range(49)}
    states["S49"] = {"Type": "Succeed"}
    g = state.graph({"StartAt": "S0", "States": states})
    assert view.render_html(g).count("<rect") == 50
    assert len(view.render_text(g).splitlines()) == 1 + 50 + 49 + 1


def test_arrow_labels_fit_inside_the_drawing() -> None:
    """A Choice's condition and an "otherwise" along the side end before the SVG's edge."""
    import re

    definition = {
        "StartAt": "Large?",
        "States": {
            "Large?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.amount", "NumericGreaterThan": 1000, "Next": "Wait"}],
                "Default": "Accept",
            },
            "Wait": {"Type": "Wait", "Seconds": 60, "Next": "Accept"},
            "Accept": {"Type": "Pass", "End": True},
        },
    }
    html = view.render_html(state.graph(definition, name="check"))
    width = float(re.search(r'<svg[^>]* width="(\d+)"', html).group(1))  # type: ignore[union-attr]
    labels = re.findall(r'<text x="(\d+)" y="\d+" font-size="10"[^>]*>([^<]+)</text>', html)
    drawn = sorted(text for _, text in labels)
    assert drawn[0].startswith("$.amount Numeric") and drawn[1] == "otherwise", drawn
    for x, text in labels:
        assert float(x) + 6.0 * len(text) <= width, (text, x, width)


def test_a_lambda_error_reads_as_its_message() -> None:
    """An entry shows a Lambda function's error message, not its error object's stack trace."""
    from datetime import datetime, timezone

    at = datetime(2026, 1, 5, tzinfo=timezone.utc)
    cause = json.dumps(
        {"errorMessage": "The card was declined.", "errorType": "CardDeclined", "stackTrace": ["x"]}
    )
    visit = state.StateVisit(
        "Charge", "Task", (), "FAILED", at, at, 0, {}, None, "CardDeclined", cause, None
    )
    execution = state.ExecutionSnapshot(
        "arn",
        "e",
        "m",
        "STANDARD",
        "FAILED",
        at,
        at,
        {},
        None,
        "CardDeclined",
        cause,
        (visit,),
        1,
        4,
    )
    definition = {"StartAt": "Charge", "States": {"Charge": {"Type": "Pass", "End": True}}}
    text = view.render_text(state.graph(definition), execution)
    assert "Charge · failed · 0 s · CardDeclined: The card was declined." in text
    assert "stackTrace" not in text
