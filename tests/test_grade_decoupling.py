"""labkit grade on the decoupling lab: sample submissions, graded as `labkit grade` grades them.

Each sample in tests/submissions/decoupling/ is a jupytext percent file of a notebook a learner
might hand in: one correct pipeline written differently from the solution, and several with the
mistakes the checks are meant to catch. (The solution and the exercise themselves are graded by
tests/test_labs.py.)
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest

from labkit.grading.notebook import Submission, grade_notebook
from labkit.labs import catalog

SAMPLES = Path(__file__).resolve().parent / "submissions" / "decoupling"
CHECKS = ("order_queues", "consumer", "fan_out", "scaling")


def as_notebook(source: Path, into: Path) -> Path:
    target = into / f"{source.stem}.ipynb"
    jupytext.write(jupytext.read(source), target, fmt="ipynb")
    return target


def statuses(sub: Submission) -> dict[str, str]:
    return {r.name: r.status for r in sub.results}


def said(sub: Submission, name: str) -> str:
    result = next(r for r in sub.results if r.name == name)
    return f"{result.message} {result.hint}"


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Submission]:
    folder = tmp_path_factory.mktemp("decoupling-samples")
    return {
        path.stem: grade_notebook(as_notebook(path, folder), cell_timeout=60)
        for path in sorted(SAMPLES.glob("*.py"))
    }


def expect(sub: Submission, failing: set[str]) -> None:
    assert sub.error is None and not sub.notes, (sub.error, sub.notes)
    assert statuses(sub) == {c: ("failed" if c in failing else "passed") for c in CHECKS}
    spec = catalog()["decoupling"]
    points = {c.name: c.points for c in spec.checks}
    assert sub.score == sum(points[c] for c in CHECKS if c not in failing)


def test_a_correct_pipeline_written_differently_passes_every_check(
    graded: dict[str, Submission],
) -> None:
    sub = graded["passing_alternative"]
    expect(sub, set())
    assert sub.score == sub.max_score == catalog()["decoupling"].max_score


def test_forgetting_to_delete_ships_orders_twice(graded: dict[str, Submission]) -> None:
    sub = graded["forgot_delete"]
    expect(sub, {"consumer"})
    assert "handled more than once" in said(sub, "consumer")
    assert "delete_message" in said(sub, "consumer")


def test_a_visibility_timeout_shorter_than_the_work(graded: dict[str, Submission]) -> None:
    sub = graded["short_visibility"]
    expect(sub, {"order_queues", "consumer"})
    assert "visibility timeout is 30 s" in said(sub, "order_queues")
    assert "up to 40 s" in said(sub, "order_queues")
    consumer = said(sub, "consumer")
    assert "became visible again" in consumer and "20 s of visibility left" in consumer
    assert "VisibilityTimeout=" in consumer


def test_a_missing_queue_policy_and_a_target_without_launch_time(
    graded: dict[str, Submission],
) -> None:
    sub = graded["no_queue_policy"]
    expect(sub, {"fan_out", "scaling"})
    fan_out = said(sub, "fan_out")
    assert "AccessDenied" in fan_out and "no access policy" in fan_out
    assert "sns.amazonaws.com" in fan_out and "aws:SourceArn" in fan_out
    scaling = said(sub, "scaling")
    assert "max_wait / seconds_per_message, ignoring the launch time" in scaling
    assert "limit 180 s" in scaling


def test_a_filter_on_the_wrong_scope_and_an_inverted_target(
    graded: dict[str, Submission],
) -> None:
    sub = graded["wrong_filter_scope"]
    expect(sub, {"fan_out", "scaling"})
    fan_out = said(sub, "fan_out")
    assert "received nothing" in fan_out and "(MessageAttributes)" in fan_out
    assert '"FilterPolicyScope": "MessageBody"' in fan_out
    scaling = said(sub, "scaling")
    assert "instance-minutes" in scaling and "budget" in scaling
    assert "not the other way round" in scaling


def test_a_standard_dead_letter_queue_an_escaping_exception_and_envelopes(
    graded: dict[str, Submission],
) -> None:
    sub = graded["poison_escapes"]
    expect(sub, {"order_queues", "consumer", "fan_out"})
    assert "InvalidParameterCombination" in said(sub, "order_queues")
    assert "must be a FIFO queue too" in said(sub, "order_queues")
    consumer = said(sub, "consumer")
    assert "raised OrderError" in consumer and "do NOT delete" in consumer
    assert "RawMessageDelivery" in said(sub, "fan_out")
