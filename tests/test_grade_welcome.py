"""labkit grade on the welcome lab: the solution, the exercise and sample submissions.

Each sample submission in tests/submissions/welcome/ is a jupytext percent file of a notebook a
learner might hand in; the test turns it into a .ipynb and grades it in a fresh kernel, as
`labkit grade` does.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from grading_support import grade_samples, said, statuses

from labkit.grading.notebook import Submission, grade_notebook

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = Path(__file__).resolve().parent / "submissions" / "welcome"


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Submission]:
    return grade_samples(SAMPLES, tmp_path_factory)


def test_a_correct_alternative_passes_every_check(graded: dict[str, Submission]) -> None:
    sub = graded["passing_alternative"]
    assert sub.error is None
    assert statuses(sub) == {
        "inbox_queue": "passed",
        "handle_one": "passed",
        "notes_bucket": "passed",
    }
    assert sub.score == sub.max_score == 4


def test_forgetting_to_delete_fails_only_handle_one(graded: dict[str, Submission]) -> None:
    sub = graded["forgot_delete"]
    assert statuses(sub) == {
        "inbox_queue": "passed",
        "handle_one": "failed",
        "notes_bucket": "passed",
    }
    assert "delete_message" in said(sub, "handle_one")
    assert sub.score == 2


def test_default_visibility_whole_message_and_wrong_key(graded: dict[str, Submission]) -> None:
    sub = graded["default_visibility"]
    assert set(statuses(sub).values()) == {"failed"}
    assert "VisibilityTimeout" in said(sub, "inbox_queue")
    assert "30 s" in said(sub, "inbox_queue")
    assert 'message["Body"]' in said(sub, "handle_one")
    assert "hello.txt" in said(sub, "notes_bucket")


def test_returning_responses_and_key_errors(graded: dict[str, Submission]) -> None:
    sub = graded["returns_response"]
    assert statuses(sub) == {
        "inbox_queue": "failed",
        "handle_one": "failed",
        "notes_bucket": "failed",
    }
    assert "QueueUrl" in said(sub, "inbox_queue")
    assert "get('Messages', [])" in said(sub, "handle_one")
    assert "'Hello!'" in said(sub, "notes_bucket")


def test_raising_looping_and_broken_cells_are_failed_checks(graded: dict[str, Submission]) -> None:
    sub = graded["broken_code"]
    assert sub.error is None
    assert set(statuses(sub).values()) == {"failed"}
    assert "ClientError" in said(sub, "inbox_queue") or "InvalidParameter" in said(
        sub, "inbox_queue"
    )
    assert "longer than" in said(sub, "handle_one")
    assert any("raised an error" in note for note in sub.notes)


def test_cli_passes_the_solution_and_fails_the_exercise_cleanly(tmp_path: Path) -> None:
    solution = ROOT / "solutions" / "01_welcome.ipynb"
    exercise = ROOT / "exercises" / "01_welcome.ipynb"
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (solution, exercise)}

    ok = subprocess.run(
        [sys.executable, "-m", "labkit.cli", "grade", "--json", str(solution)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    report = json.loads(ok.stdout)
    (sub,) = report["submissions"]
    assert set(sub) == {"path", "lab", "score", "max_score", "error", "checks"}
    assert sub["lab"] == "welcome" and sub["error"] is None
    assert sub["score"] == sub["max_score"] == 4
    assert all(
        set(c) == {"name", "passed", "points", "max_points", "message"} for c in sub["checks"]
    )

    bad = subprocess.run(
        [sys.executable, "-m", "labkit.cli", "grade", "--json", str(exercise)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert bad.returncode == 1
    (sub,) = json.loads(bad.stdout)["submissions"]
    assert sub["error"] is None
    assert sub["score"] == 0
    for check in sub["checks"]:
        assert not check["passed"]
        assert "Hint:" in check["message"]
        # Failing cleanly: the check saw the unfinished stub, not an internal error.
        assert "could not finish" not in check["message"]

    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (solution, exercise)}
    assert before == after


def test_unreadable_and_unknown_notebooks_are_reported_not_raised(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not json", encoding="utf-8")
    sub = grade_notebook(broken)
    assert sub.error and "notebook" in sub.error
    stranger = tmp_path / "stranger.ipynb"
    stranger.write_text(
        json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}),
        encoding="utf-8",
    )
    sub = grade_notebook(stranger)
    assert sub.error and "which lab" in sub.error
    assert not sub.passed


def test_correct_answers_unlike_the_solution_pass(graded: dict[str, Submission]) -> None:
    # An http:// queue URL, a one-second long poll with a batch delete, a str note in another
    # region; and the resource API, get_queue_url, AttributeNames=["All"] and upload_fileobj.
    for name in ("passing_http_url", "passing_get_queue_url"):
        sub = graded[name]
        assert sub.error is None, sub.error
        assert set(statuses(sub).values()) == {"passed"}, name


def test_receiving_ten_says_the_others_are_hidden(graded: dict[str, Submission]) -> None:
    sub = graded["receives_ten"]
    assert set(statuses(sub).values()) == {"failed"}
    assert "`welcome_inbox`, not `welcome-inbox`" in said(sub, "inbox_queue")
    handle = said(sub, "handle_one")
    assert "received 2 messages and returned only one" in handle
    assert "visibility timeout" in handle and "MaxNumberOfMessages=1" in handle
    assert "Did you finish" not in handle
    assert "'Hello labkit'" in said(sub, "notes_bucket")


def test_purging_says_the_others_were_deleted(graded: dict[str, Submission]) -> None:
    sub = graded["purges_queue"]
    assert statuses(sub) == {
        "inbox_queue": "passed",
        "handle_one": "failed",
        "notes_bucket": "passed",
    }
    handle = said(sub, "handle_one")
    assert "deleted without being returned" in handle and "purge_queue" in handle
    assert "Did you finish" not in handle


def test_a_fifo_inbox_and_a_bytes_body(graded: dict[str, Submission]) -> None:
    sub = graded["returns_bytes"]
    assert statuses(sub)["inbox_queue"] == "failed"
    assert "standard queue" in said(sub, "inbox_queue")
    handle = said(sub, "handle_one")
    assert "a bytes" in handle and ".encode()" in handle
    assert "Did you finish" not in handle
