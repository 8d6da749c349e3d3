"""labkit grade on the Step Functions lab: sample submissions, the solution and the exercise.

Each sample in tests/submissions/stepfunctions/ is a jupytext percent file of a notebook a
learner might hand in, graded in a fresh kernel as `labkit grade` does. The checks create the
learner's state machines and run orders of their own through them on the lab clock, so these
tests show that correct alternatives (JSONata, a Catch loop instead of Retry, an email approval,
bare Lambda ARNs) pass, and that plausible mistakes fail with the hint that names them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from grading_support import grade_samples, said, statuses

from labkit.grading.notebook import Submission
from labkit.labs import catalog
from labkit.labs.stepfunctions_callbacks import tokens_in
from labkit.labs.stepfunctions_types import WORKLOADS, right_type

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = Path(__file__).resolve().parent / "submissions" / "stepfunctions"
CHECKS = ["payment", "saga", "packing", "approval", "workflow_type"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Submission]:
    return grade_samples(SAMPLES, tmp_path_factory)


def test_the_lab_comes_after_the_dynamodb_lab() -> None:
    labs = list(catalog())
    assert labs.index("stepfunctions") == labs.index("dynamodb") + 1
    assert [c.name for c in catalog()["stepfunctions"].checks] == CHECKS


@pytest.mark.parametrize("sample", ["passing_jsonata", "passing_catch_loop"])
def test_correct_alternatives_pass_every_check(graded: dict[str, Submission], sample: str) -> None:
    sub = graded[sample]
    assert sub.error is None and not sub.notes, sub.text()
    assert statuses(sub) == dict.fromkeys(CHECKS, "passed"), sub.text()
    assert sub.score == sub.max_score == 10


def test_retrying_and_catching_everything(graded: dict[str, Submission]) -> None:
    sub = graded["retries_everything"]
    assert sub.error is None, sub.text()
    assert set(statuses(sub).values()) == {"failed"}, sub.text()
    payment = said(sub, "payment")
    assert "declined card was tried 6 times" in payment and "not States.ALL" in payment
    saga = said(sub, "saga")
    assert "0 shipment(s) and 1 refund attempt(s)" in saga and "not on the payment" in saga
    packing = said(sub, "packing")
    assert "12 pack requests were waiting at once" in packing and "MaxConcurrency 4" in packing
    approval = said(sub, "approval")
    assert "exactly 1000" in approval and "NumericGreaterThanEquals" in approval
    types = said(sub, "workflow_type")
    assert "1 of 8" in types and "card charging" in types and "at least once" in types


def test_too_few_retries_a_lost_charge_one_robot_no_timeout(graded: dict[str, Submission]) -> None:
    sub = graded["too_timid"]
    assert set(statuses(sub).values()) == {"failed"}, sub.text()
    payment = said(sub, "payment")
    assert "after 3 call(s) over 3 s" in payment and "outlasts a 25-second outage" in payment
    saga = said(sub, "saga")
    assert "MissingChargeId" in saga and "ResultPath '$.error'" in saga
    packing = said(sub, "packing")
    assert "took 240 s with at most 1 at a time" in packing and "idle" in packing
    approval = said(sub, "approval")
    assert "still waiting" in approval and "TimeoutSeconds 86400" in approval
    types = said(sub, "workflow_type")
    assert "3 of 8" in types and "telemetry" in types and "Express costs" in types


def test_waiting_forever_hiding_failures_and_approving_by_default(
    graded: dict[str, Submission],
) -> None:
    sub = graded["never_gives_up"]
    assert set(statuses(sub).values()) == {"failed"}, sub.text()
    payment = said(sub, "payment")
    assert "ended FAILED after 2046 s" in payment and "within 120 s" in payment
    saga = said(sub, "saga")
    assert "ended SUCCEEDED" in saga and "a Succeed state there hides" in saga
    packing = said(sub, "packing")
    assert "lacks the box of 12 item(s)" in packing and "ResultPath" in packing
    approval = said(sub, "approval")
    assert "Unanswered for 24 hours" in approval and "charged 1 time(s)" in approval
    assert "not into the payment" in approval
    types = said(sub, "workflow_type")
    assert "card charging" in types and "video checks" in types and "Standard costs" in types


def test_hammering_no_compensation_whole_orders_and_a_bool(graded: dict[str, Submission]) -> None:
    sub = graded["hammers_and_leaks"]
    assert set(statuses(sub).values()) == {"failed"}, sub.text()
    payment = said(sub, "payment")
    assert "called it 41 times" in payment and "at most 10" in payment
    saga = said(sub, "saga")
    assert "never refunded" in saga and "CannotShip" in saga
    packing = said(sub, "packing")
    assert "packed twice: ['sku-000']" in packing and "$$.Execution.Input" in packing
    approval = said(sub, "approval")
    assert "Rejected (SendTaskFailure" in approval and "ended SUCCEEDED" in approval
    types = said(sub, "workflow_type")
    assert "returned True" in types and "'STANDARD' or 'EXPRESS'" in types


# -- the pieces, without a kernel --------------------------------------------------------------
TOKEN = "A" * 60 + "+/" + "b" * 64 + "=="


@pytest.mark.parametrize(
    "carrier",
    [
        json.dumps({"token": TOKEN, "sku": "s"}),
        json.dumps({"deep": [{"TaskToken": TOKEN}]}),
        f"Approve: https://shop.example.com/ok?token={TOKEN}",
        f"https://x.example/ok?token={TOKEN.replace('+', '%2B').replace('/', '%2F')}&order=o-1",
    ],
)
def test_a_task_token_is_found_however_it_is_carried(carrier: str) -> None:
    assert tokens_in(carrier) == [TOKEN]


def test_the_workloads_need_each_rule() -> None:
    """Each reason for a type decides at least one workload, and both types are right for some."""
    reasons = [right_type(load)[1] for load in WORKLOADS]
    for words in ("past Express's", "callback", "exactly once", "Express costs", "Standard costs"):
        assert any(words in reason for reason in reasons), words
    assert {right_type(load)[0] for load in WORKLOADS} == {"STANDARD", "EXPRESS"}
