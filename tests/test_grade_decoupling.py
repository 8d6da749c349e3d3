"""labkit grade on the decoupling lab: sample submissions, graded as `labkit grade` grades them.

Each sample in tests/submissions/decoupling/ is a jupytext percent file of a notebook a learner
might hand in: one correct pipeline written differently from the solution, and several with the
mistakes the checks are meant to catch. (The solution and the exercise themselves are graded by
tests/test_labs.py.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from grading_support import grade_samples, said, statuses

from labkit.grading.notebook import Submission
from labkit.labs import catalog

SAMPLES = Path(__file__).resolve().parent / "submissions" / "decoupling"
CHECKS = ("order_queues", "consumer", "fan_out", "scaling")


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Submission]:
    return grade_samples(SAMPLES, tmp_path_factory)


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


def test_correct_pipelines_unlike_the_solution_pass(graded: dict[str, Submission]) -> None:
    # byQueue dead-letter queue and a redrive policy set afterwards, 1 s polls in batches of five,
    # Allow-plus-Deny policy, attributes set one by one, a numpy target; and the resource API, a
    # queue-level long poll, the owner's statement beside {"AWS": "*"}, a Decimal target.
    for name in ("passing_guarded", "passing_resources"):
        expect(graded[name], set())


def test_a_url_as_dlq_target_short_polling_an_open_policy_and_a_string(
    graded: dict[str, Submission],
) -> None:
    sub = graded["url_as_dlq_target"]
    expect(sub, set(CHECKS))
    order_queues = said(sub, "order_queues")
    assert "not a queue ARN" in order_queues and "not its URL" in order_queues
    consumer = said(sub, "consumer")
    assert "did not ask to wait" in consumer and "WaitTimeSeconds" in consumer
    fan_out = said(sub, "fan_out")
    assert "second topic of your account" in fan_out and "let it in: Anyone" in fan_out
    assert "'120' (a str)" in said(sub, "scaling")


def test_a_dlq_that_refuses_its_source_and_a_policy_for_any_topic(
    graded: dict[str, Submission],
) -> None:
    sub = graded["deny_all_dlq"]
    expect(sub, {"order_queues", "fan_out", "scaling"})
    order_queues = said(sub, "order_queues")
    assert "denyAll" in order_queues and "byQueue" in order_queues
    assert "let it in: AnyTopic" in said(sub, "fan_out")
    assert "-120" in said(sub, "scaling") and "positive" in said(sub, "scaling")


def test_a_delay_on_the_order_queue_and_a_policy_for_the_whole_account(
    graded: dict[str, Submission],
) -> None:
    sub = graded["delayed_orders"]
    expect(sub, {"order_queues", "fan_out"})
    order_queues = said(sub, "order_queues")
    assert "right after it was sent" in order_queues and "DelaySeconds=30" in order_queues
    assert "visibility timeout" not in order_queues
    assert "let it in: MyAccount" in said(sub, "fan_out")
    assert "aws:SourceAccount` alone" in said(sub, "fan_out")


def test_over_permissive_policies_let_outsiders_in(graded: dict[str, Submission]) -> None:
    sub = graded["any_aws_principal"]
    expect(sub, {"fan_out"})
    assert "let it in: EveryAws" in said(sub, "fan_out")

    sub = graded["wildcard_topic"]
    expect(sub, {"fan_out", "scaling"})
    fan_out = said(sub, "fan_out")
    assert "topic of another account (210987654321)" in fan_out and "ByName" in fan_out
    assert "returned None" in said(sub, "scaling")

    sub = graded["partner_account"]
    expect(sub, {"fan_out", "scaling"})
    fan_out = said(sub, "fan_out")
    assert "another account (210987654321) call SendMessage" in fan_out
    assert "let it in: Partner" in fan_out
    assert "True (a bool)" in said(sub, "scaling")
