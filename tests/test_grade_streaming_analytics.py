"""labkit grade on the streaming analytics lab: sample submissions, and the choice check against
more answers.

Each sample submission in tests/submissions/streaming_analytics/ is a jupytext percent file of a
notebook a learner might hand in; it is graded in a fresh kernel, as `labkit grade` does: its
Flink code runs as Managed Flink applications on the check's own late and out-of-order data, and
its consumer loop in a Kafka consumer group on MSK's embedded brokers. Two are correct and
written unlike the solution; four make a plausible mistake in every task, and each check must
fail with the hint that names it. The samples are graded once for the module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from grading_support import grade_samples, said, statuses

import labkit
from labkit.grading.notebook import Submission
from labkit.lab import Lab

SAMPLES = Path(__file__).resolve().parent / "submissions" / "streaming_analytics"
CHECKS = ("late_averages", "top_products", "consumer_group", "stream_choice")


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Submission]:
    return grade_samples(SAMPLES, tmp_path_factory)


@pytest.mark.parametrize("sample", ["passing_lateness", "passing_reduce"])
def test_correct_alternatives_pass_every_check(graded: dict[str, Submission], sample: str) -> None:
    sub = graded[sample]
    assert sub.error is None and not sub.notes
    assert statuses(sub) == dict.fromkeys(CHECKS, "passed"), [said(sub, name) for name in CHECKS]
    assert sub.score == sub.max_score == 8


def test_processing_time_tumbling_commit_before_kinesis_for_two_years(
    graded: dict[str, Submission],
) -> None:
    sub = graded["processing_time"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed"), [said(sub, n) for n in CHECKS]
    assert "the minute they arrived (processing time)" in said(sub, "late_averages")
    assert "TumblingEventTimeWindows" in said(sub, "late_averages")
    assert "No ranking for the window ending" in said(sub, "top_products")
    assert "not tumbling windows" in said(sub, "top_products")
    assert "committed offsets of records it had not processed yet" in said(sub, "consumer_group")
    assert "Commit after processing" in said(sub, "consumer_group")
    assert "at most 365 days" in said(sub, "stream_choice")


def test_dropped_late_no_tie_rule_never_commits_provisioned_msk_for_a_peak(
    graded: dict[str, Submission],
) -> None:
    sub = graded["dropped_late"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed"), [said(sub, n) for n in CHECKS]
    assert "were dropped and 0 went to a side output" in said(sub, "late_averages")
    assert "side_output_late_data" in said(sub, "late_averages")
    assert "among products with the same count" in said(sub, "top_products")
    assert "Ties go by product name" in said(sub, "top_products")
    assert "never committed" in said(sub, "consumer_group")
    assert "clickstream on MSK (provisioned)" in said(sub, "stream_choice")
    assert "sizes nothing" in said(sub, "stream_choice")


def test_waits_too_long_ascending_too_few_consumers_wrong_reason(
    graded: dict[str, Submission],
) -> None:
    sub = graded["waits_too_long"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed"), [said(sub, n) for n in CHECKS]
    assert "more than 30 s late were counted" in said(sub, "late_averages")
    assert "Wait at most 30 s" in said(sub, "late_averages")
    assert "the least ordered came first" in said(sub, "top_products")
    assert "the lag grows by 700 records every second" in said(sub, "consumer_group")
    assert "'record size: scans are large' (record_size) is not what decides" in said(
        sub, "stream_choice"
    )
    assert "retention" in said(sub, "stream_choice")


def test_unkeyed_top_three_part_of_a_batch_empty_reason(graded: dict[str, Submission]) -> None:
    sub = graded["unkeyed"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed"), [said(sub, n) for n in CHECKS]
    assert "do not follow the sensors" in said(sub, "late_averages")
    assert "key_by" in said(sub, "late_averages")
    assert "3 products instead of 5" in said(sub, "top_products")
    assert "passed only some records to `process`" in said(sub, "consumer_group")
    assert "every record of every partition" in said(sub, "consumer_group")
    assert "the reason is empty" in said(sub, "stream_choice")


# -- the choice and consumer-count checks, directly (no engine, no kernel) -----------------------
@pytest.fixture
def analytics_lab() -> Iterator[Lab]:
    lab = labkit.start("streaming_analytics", quiet=True)
    yield lab
    lab.stop()


GOOD: dict[str, Any] = {
    "scan_history": ("msk", "retention"),
    "clickstream": ("kinesis", "scaling"),
}


@pytest.mark.parametrize(
    ("change", "said_part"),
    [
        ({"scan_history": ("pulsar", "retention")}, "does not know"),
        ({"clickstream": {"service": "amazon msk", "reason": "scaling"}}, "sizes nothing"),
        ({"clickstream": ("msk serverless", "ordering per user")}, "is not what decides"),
        ({"scan_history": "msk"}, "the reason is empty"),
    ],
)
def test_the_choice_check_names_what_is_wrong(
    analytics_lab: Lab, change: dict[str, Any], said_part: str
) -> None:
    result = analytics_lab.check("stream_choice", {"CHOICES": {**GOOD, **change}})
    assert result.status == "failed"
    assert said_part in f"{result.message} {result.hint}"


@pytest.mark.parametrize(
    "answer",
    [
        GOOD,
        {
            "scan_history": {"service": "MSK Serverless", "reason": "replay two years"},
            "clickstream": ["MSK Serverless", "no brokers to size for the peak"],
        },
    ],
)
def test_the_choice_check_passes_fitting_answers(
    analytics_lab: Lab, answer: dict[str, Any]
) -> None:
    assert analytics_lab.check("stream_choice", {"CHOICES": answer}).status == "passed"


def test_more_consumers_than_partitions_are_idle(analytics_lab: Lab) -> None:
    result = analytics_lab.check(
        "consumer_group", {"CONSUMERS": 8, "consume_batch": lambda consumer, process: None}
    )
    assert result.status == "failed"
    assert "2 of them get no partition and sit idle" in result.message
