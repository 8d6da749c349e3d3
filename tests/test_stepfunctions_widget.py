"""lab.execution_view: the graph view live (following a machine's newest execution) and held."""

from __future__ import annotations

import json

import pytest

from labkit.lab import Lab
from labkit.services.stepfunctions.state import StateMachineNotFoundError

ROLE = "arn:aws:iam::123456789012:role/sfn-role"
WAIT_THEN_DONE = {
    "StartAt": "Hold",
    "States": {
        "Hold": {"Type": "Wait", "Seconds": 60, "Next": "Done"},
        "Done": {"Type": "Pass", "Result": {"ok": True}, "End": True},
    },
}


def _machine(lab: Lab, name: str = "orders") -> str:
    sfn = lab.client("stepfunctions")
    arn: str = sfn.create_state_machine(
        name=name, definition=json.dumps(WAIT_THEN_DONE), roleArn=ROLE
    )["stateMachineArn"]
    return arn


def _start(lab: Lab, arn: str, name: str) -> str:
    out: str = lab.client("stepfunctions").start_execution(
        stateMachineArn=arn, name=name, input=json.dumps({"order": name})
    )["executionArn"]
    return out


def test_a_live_view_follows_the_machines_newest_execution(lab: Lab) -> None:
    arn = _machine(lab)
    view = lab.execution_view("orders")
    assert "State machine orders" in view.to_text() and "execution" not in view.to_text()
    _start(lab, arn, "first")
    view.refresh()
    text = view.to_text()
    assert "execution first: … running" in text and "Hold (Wait) … running" in text
    held = view.hold()
    lab.clock.advance(60)
    view.refresh()
    assert "execution first: ✓ succeeded" in view.to_text()
    assert "Done (Pass) ✓ succeeded" in view.to_text()
    # The held copy keeps the moment it was taken, and says so.
    assert "… running" in held.to_text() and "Held as of lab time" in held.to_text()
    _start(lab, arn, "second")
    view.refresh()
    assert "execution second" in view.to_text() and len(view.history) == 4
    view.show_state(1)
    assert "execution first: … running" in view.to_text()


def test_an_execution_named_stays_that_execution(lab: Lab) -> None:
    arn = _machine(lab)
    first = _start(lab, arn, "first")
    lab.clock.advance(60)
    _start(lab, arn, "second")
    for what in (first, "first"):
        view = lab.execution_view(what, hold=True)
        assert "execution first: ✓ succeeded" in view.to_text()
        bundle = view._repr_mimebundle_()
        assert bundle["text/plain"] == view.to_text()
        assert "<svg" in bundle["text/html"] and "Held as of lab time" in bundle["text/html"]
    # Nothing named: the newest execution's machine.
    assert "execution second" in lab.execution_view().to_text()


def test_what_cannot_be_shown_is_said(lab: Lab) -> None:
    with pytest.raises(StateMachineNotFoundError, match="no state machine yet"):
        lab.execution_view()
    _machine(lab, "a")
    _machine(lab, "b")
    with pytest.raises(StateMachineNotFoundError, match="name the one"):
        lab.execution_view()
    with pytest.raises(StateMachineNotFoundError, match=r"'c'.*a, b"):
        lab.execution_view("c")
    view = lab.execution_view("a")
    lab.client("stepfunctions").delete_state_machine(stateMachineArn=view.machine_arn)
    view.refresh()
    assert view.to_text() == "The state machine a no longer exists."
    lab.stop()
    view.refresh()
    assert "This lab has stopped" in view.to_html()
