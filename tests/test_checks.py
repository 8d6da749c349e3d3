"""Checks: whatever the learner's code does, a check ends with a result and a hint.

Bad inputs (exceptions, endless loops, sleeps, wrong types, unfinished ``...``, missing names)
each give a failed :class:`CheckResult` with a hint, never an exception escaping and never a hang.
The welcome lab's own checks pass a correct solution and fail plausible wrong ones.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

import labkit
from labkit.errors import LabkitError, UnknownCheckError
from labkit.grading import Check, CheckContext, CheckResult, ScoreReport, run_check
from labkit.lab import CheckFailedError, Lab

# -- a watchdog, so that a broken time limit fails its test instead of hanging the run ---------


class Hung(BaseException):
    """The learner's code was not stopped by the check's time limit."""


@pytest.fixture
def watchdog() -> Iterator[None]:
    """Interrupt the main thread after 20 s: a check with a 1 s limit must be long done by then."""
    if not hasattr(signal, "pthread_kill"):
        pytest.skip("needs POSIX signals")
    main = threading.main_thread().ident
    assert main is not None

    def on_signal(signum: int, frame: object) -> None:
        raise Hung("the check's time limit did not stop the learner's code")

    previous = signal.signal(signal.SIGUSR1, on_signal)
    timer = threading.Timer(20, signal.pthread_kill, args=(main, signal.SIGUSR1))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        signal.signal(signal.SIGUSR1, previous)


# -- a check of our own, built with the Check dataclass -----------------------------------------

GENERAL_HINT = "Write solve() so that it returns the queue's name."


def _calls_solve_without_aws(ctx: CheckContext) -> None:
    ctx.call(ctx.function("solve"), None, returns=str)


def _calls_solve(ctx: CheckContext) -> None:
    solve = ctx.function("solve")
    answer = ctx.call(solve, ctx.client("sqs"), returns=str)
    ctx.expect(answer == "orders", f"solve() returned {answer!r}", hint="Return 'orders'.")


def _reads_answer(ctx: CheckContext) -> None:
    ctx.expect(ctx.value("answer", types=int) == 42, "wrong answer")


def _check(run: Callable[[CheckContext], None] = _calls_solve, **kwargs: Any) -> Check:
    # Checks whose learner code returns get the default limit, so that a slow first boto3
    # client cannot make them time out; the endless ones ask for 1 s.
    options: dict[str, Any] = {"hint": GENERAL_HINT}
    options.update(kwargs)
    return Check(name="solve", title="solve() works", points=1, run=run, **options)


def _run(lab: Lab, namespace: dict[str, Any], check: Check | None = None) -> CheckResult:
    return run_check(check or _check(), lab_id="welcome", namespace=namespace, sandbox=lab.sandbox)


def _assert_failed_with_hint(result: CheckResult) -> None:
    assert not result.passed
    assert result.status in ("failed", "error")
    assert result.points == 0
    assert result.hint.strip(), "a failed check must say what to try"


def test_a_correct_function_passes(welcome: Lab) -> None:
    result = _run(welcome, {"solve": lambda sqs: "orders"})
    assert result.passed
    assert result.points == 1
    assert result.hint == ""


def test_learner_raising_value_error_fails_with_a_hint(welcome: Lab) -> None:
    def solve(sqs: Any) -> str:
        raise ValueError("bad queue name")

    result = _run(welcome, {"solve": solve})
    _assert_failed_with_hint(result)
    assert "ValueError" in result.message
    assert "bad queue name" in result.message


def test_learner_hitting_an_aws_error_fails_with_the_error_code_in_the_hint(welcome: Lab) -> None:
    def solve(sqs: Any) -> str:
        url: str = sqs.get_queue_url(QueueName="no-such-queue")["QueueUrl"]
        return url

    result = _run(welcome, {"solve": solve})
    _assert_failed_with_hint(result)
    assert "raised QueueDoesNotExist" in result.message
    assert "AWS.SimpleQueueService.NonExistentQueue" in result.hint


def test_learner_raising_a_hand_made_client_error_fails(welcome: Lab) -> None:
    def solve(sqs: Any) -> str:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "SendMessage")

    result = _run(welcome, {"solve": solve})
    _assert_failed_with_hint(result)
    assert "AccessDenied" in result.hint


def _endless(sqs: Any) -> str:
    while True:
        pass


def _endless_swallowing(sqs: Any) -> str:
    while True:
        try:
            while True:
                pass
        except Exception:  # what a learner writes to "keep the worker alive"
            continue


def _sleeps(sqs: Any) -> str:
    time.sleep(1000)
    return "orders"


@pytest.mark.usefixtures("watchdog")
@pytest.mark.parametrize("solve", [_endless, _endless_swallowing, _sleeps])
def test_code_that_never_returns_is_stopped_by_the_time_limit(
    welcome: Lab, solve: Callable[[Any], str]
) -> None:
    alarm_handler = signal.getsignal(signal.SIGALRM)
    result = _run(welcome, {"solve": solve}, _check(_calls_solve_without_aws, timeout=1))
    _assert_failed_with_hint(result)
    assert "1 s limit" in result.message
    assert "loop" in result.hint
    # The alarm is gone and its handler put back: nothing interrupts the test afterwards.
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert signal.getsignal(signal.SIGALRM) is alarm_handler


def test_a_sleeping_loop_with_a_bare_except_is_stopped(welcome: Lab) -> None:
    ran_to_the_end: list[bool] = []

    def solve(sqs: Any) -> str:
        give_up = time.perf_counter() + 2  # the test's own bound, so it cannot hang
        while time.perf_counter() < give_up:
            try:  # noqa: SIM105 - the learner's code, as learners write it
                time.sleep(0.5)  # "poll every half second"
            except:  # noqa: E722 - what some learners write to "keep the worker alive"
                pass
        ran_to_the_end.append(True)
        return "orders"

    result = _run(welcome, {"solve": solve}, _check(_calls_solve_without_aws, timeout=1))
    _assert_failed_with_hint(result)
    assert ran_to_the_end == [], "the time limit did not stop the loop"


@pytest.mark.usefixtures("watchdog")
def test_an_isolated_check_that_times_out_still_restores_the_learner(welcome: Lab) -> None:
    sqs = welcome.client("sqs")
    sqs.create_queue(QueueName="learners-queue")
    before = welcome.clock.now

    def solve(sqs: Any) -> str:
        sqs.create_queue(QueueName="made-during-check")
        while True:
            pass

    result = _run(welcome, {"solve": solve}, _check(isolated=True, timeout=1))
    _assert_failed_with_hint(result)
    assert "1 s limit" in result.message
    assert welcome.clock.now == before
    urls = sqs.list_queues()["QueueUrls"]
    assert [u.rsplit("/", 1)[-1] for u in urls] == ["learners-queue"]


def test_wrong_return_type_fails(welcome: Lab) -> None:
    result = _run(welcome, {"solve": lambda sqs: {"QueueUrl": "orders"}})
    _assert_failed_with_hint(result)
    assert "returned a dict" in result.message
    assert "str" in result.message


def test_returning_none_fails_with_a_hint_about_return(welcome: Lab) -> None:
    def solve(sqs: Any) -> None:
        sqs.create_queue(QueueName="orders")  # forgot the return

    result = _run(welcome, {"solve": solve})
    _assert_failed_with_hint(result)
    assert "returned None" in result.message
    assert "return" in result.hint


def test_a_wrong_value_fails_with_the_checks_own_hint(welcome: Lab) -> None:
    result = _run(welcome, {"solve": lambda sqs: "payments"})
    _assert_failed_with_hint(result)
    assert result.hint == "Return 'orders'."


def test_a_value_still_ellipsis_fails(welcome: Lab) -> None:
    result = _run(welcome, {"answer": ...}, _check(_reads_answer))
    _assert_failed_with_hint(result)
    assert "`answer` is still `...`" in result.message


def test_a_value_of_the_wrong_type_fails(welcome: Lab) -> None:
    result = _run(welcome, {"answer": "42"}, _check(_reads_answer))
    _assert_failed_with_hint(result)
    assert "str" in result.message and "int" in result.message


def test_a_missing_value_fails(welcome: Lab) -> None:
    result = _run(welcome, {}, _check(_reads_answer))
    _assert_failed_with_hint(result)
    assert "no variable called `answer`" in result.message


def test_a_function_body_still_ellipsis_fails_before_the_check_runs(welcome: Lab) -> None:
    def solve(sqs: Any) -> str:  # type: ignore[empty-body]
        """Return the queue's name."""
        # YOUR CODE HERE
        ...

    ran: list[str] = []

    def builds_first(ctx: CheckContext) -> None:
        solve = ctx.function("solve")
        ran.append("built")  # what a check does after fetching the function: its world
        ctx.call(solve, None)

    result = _run(welcome, {"solve": solve}, _check(builds_first))
    _assert_failed_with_hint(result)
    assert result.status == "failed"
    assert "`solve` is not written yet: its body is still `...`" in result.message
    assert "Replace the `...` in `def solve`" in result.hint
    assert ran == []  # said before the check built anything


def test_a_function_that_does_nothing_on_purpose_is_an_answer() -> None:
    from labkit.grading.checks import is_placeholder

    def passes(event: Any) -> None:
        """Ignore the event."""
        pass

    def ellipsis_then_code(event: Any) -> Any:
        ...
        return event

    def written_on_one_line(event: Any) -> Any: ...

    assert not is_placeholder(passes)
    assert not is_placeholder(ellipsis_then_code)
    assert not is_placeholder(lambda event: ...)
    assert not is_placeholder(print)  # no source to read: no verdict
    assert is_placeholder(written_on_one_line)


def test_a_missing_function_fails(welcome: Lab) -> None:
    result = _run(welcome, {"something_else": print})
    _assert_failed_with_hint(result)
    assert "no function called `solve`" in result.message
    assert "def solve" in result.hint


def test_a_name_bound_to_a_non_callable_fails(welcome: Lab) -> None:
    result = _run(welcome, {"solve": "orders"})
    _assert_failed_with_hint(result)
    assert "should be a function" in result.message
    assert "str" in result.message


def test_a_bug_in_the_check_itself_becomes_an_error_result(welcome: Lab) -> None:
    def broken(ctx: CheckContext) -> None:
        raise KeyError("oops")

    result = _run(welcome, {}, _check(broken))
    _assert_failed_with_hint(result)
    assert result.status == "error"
    assert "KeyError" in result.message


def test_keyboard_interrupt_still_propagates(welcome: Lab) -> None:
    def solve(sqs: Any) -> str:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(welcome, {"solve": solve})
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_keyboard_interrupt_in_an_isolated_check_restores_the_learner(welcome: Lab) -> None:
    welcome.client("sqs").create_queue(QueueName="learners-queue")

    def solve(sqs: Any) -> str:
        sqs.create_queue(QueueName="made-during-check")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _run(welcome, {"solve": solve}, _check(isolated=True))
    urls = welcome.client("sqs").list_queues()["QueueUrls"]
    assert [u.rsplit("/", 1)[-1] for u in urls] == ["learners-queue"]


def test_an_isolated_check_leaves_the_learners_resources_and_clock_untouched(
    welcome: Lab,
) -> None:
    sqs = welcome.client("sqs")
    url = sqs.create_queue(QueueName="learners-queue")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="learner's message")
    welcome.clock.advance(100)
    before = welcome.clock.now
    seen: dict[str, Any] = {}

    def meddles(ctx: CheckContext) -> None:
        inside = ctx.client("sqs")
        seen["queues"] = inside.list_queues().get("QueueUrls", [])
        inside.create_queue(QueueName="checks-queue")
        ctx.clock.advance(3600)
        seen["clock moved"] = ctx.clock.now - before

    result = _run(welcome, {}, _check(meddles, isolated=True))
    assert result.passed, result.text()
    assert seen["queues"] == []
    assert seen["clock moved"].total_seconds() == 3600
    assert welcome.clock.now == before
    assert sqs.list_queues()["QueueUrls"] == [url]
    got = sqs.receive_message(QueueUrl=url)["Messages"]
    assert [m["Body"] for m in got] == ["learner's message"]


# -- lab.check ----------------------------------------------------------------------------------


def test_unknown_check_name_raises(welcome: Lab) -> None:
    with pytest.raises(UnknownCheckError) as info:
        welcome.check("nope", {})
    assert isinstance(info.value, LabkitError)
    assert "inbox_queue" in str(info.value)


def test_free_play_has_no_checks(lab: Lab) -> None:
    with pytest.raises(LabkitError, match="free-play"):
        lab.check("inbox_queue", {})


def test_lab_check_uses_the_namespace_given_at_start() -> None:
    lab = labkit.start("welcome", quiet=True, namespace=dict(SOLUTION))
    try:
        assert lab.check("inbox_queue").passed
        assert not lab.check("inbox_queue", {}).passed  # an explicit namespace wins
    finally:
        lab.stop()


def test_lab_check_without_a_namespace_outside_jupyter_says_what_to_do(welcome: Lab) -> None:
    with pytest.raises(LabkitError, match=r"globals\(\)"):
        welcome.check("notes_bucket")


def test_lab_check_returns_the_failed_result_under_show(welcome: Lab) -> None:
    result = welcome.check("notes_bucket", {})
    assert isinstance(result, CheckResult)
    assert not result.passed
    assert "welcome-notes" in result.hint


def test_lab_check_raises_with_the_hint_under_raise(
    welcome: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABKIT_CHECKS", "raise")
    with pytest.raises(CheckFailedError) as info:
        welcome.check("notes_bucket", {})
    assert isinstance(info.value, LabkitError)
    assert not info.value.result.passed
    assert info.value.result.hint
    assert info.value.result.hint in str(info.value)


def test_lab_check_does_not_raise_for_a_pass_under_raise(
    welcome: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABKIT_CHECKS", "raise")
    _make_notes_bucket(welcome)
    assert welcome.check("notes_bucket", {}).passed


# -- how results look ---------------------------------------------------------------------------


def _visible_text(html: str) -> str:
    """What a reader sees without colour: the HTML with its tags and styles removed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _result(status: str) -> CheckResult:
    return CheckResult(
        lab="welcome",
        name="demo",
        title="the demo works",
        status=status,  # type: ignore[arg-type]
        points=1 if status == "passed" else 0,
        max_points=1,
        message="Found this.",
        hint="" if status == "passed" else "Try that.",
    )


def test_check_result_text_and_html_tell_pass_from_fail_without_colour() -> None:
    passed, failed = _result("passed"), _result("failed")
    assert "PASSED" in passed.text() and "✔" in passed.text()
    assert "FAILED" in failed.text() and "✘" in failed.text()
    assert "PASSED" not in failed.text() and "✔" not in failed.text()
    assert "Hint: Try that." in failed.text()
    assert "Hint" not in passed.text()
    assert str(failed) == failed.text()

    passed_seen = _visible_text(passed._repr_html_())
    failed_seen = _visible_text(failed._repr_html_())
    assert "PASSED" in passed_seen and "✔" in passed_seen
    assert "FAILED" in failed_seen and "✘" in failed_seen
    assert "Try that." in failed_seen


def test_check_result_html_escapes_learner_text() -> None:
    result = CheckResult(
        lab="welcome",
        name="demo",
        title="t",
        status="failed",
        points=0,
        max_points=1,
        message="returned '<script>alert(1)</script>'",
        hint="h",
    )
    assert "<script>" not in result._repr_html_()


def test_score_report_text_and_html_tell_pass_from_fail_without_colour() -> None:
    report = ScoreReport(lab="welcome", results=(_result("passed"), _result("failed")))
    assert report.score == 1 and report.max_score == 2 and not report.all_passed
    text = report.text()
    assert "1/2 checks passed" in text
    assert "✔ PASSED" in text and "✘ FAILED" in text
    seen = _visible_text(report._repr_html_())
    assert "✔ passed" in seen and "✘ failed" in seen
    assert "1/2 checks passed" in seen


def test_score_table_sets_its_own_alignment_prose_left_points_right() -> None:
    # JupyterLab's stylesheet right-aligns table cells unless a cell says otherwise.
    from html.parser import HTMLParser

    cells: list[tuple[str, str]] = []

    class Cells(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in ("td", "th"):
                cells.append((tag, dict(attrs).get("style") or ""))

    report = ScoreReport(lab="welcome", results=(_result("passed"), _result("failed")))
    Cells().feed(report._repr_html_())
    assert len(cells) == 15
    for row in range(3):
        styles = [style for _, style in cells[row * 5 : row * 5 + 5]]
        assert "text-align:right" in styles[3]
        assert all("text-align:left" in s for s in styles[:3] + styles[4:])


# -- the welcome lab's checks against a correct and wrong solutions -----------------------------


def create_inbox(sqs: Any) -> str:
    url: str = sqs.create_queue(QueueName="welcome-inbox", Attributes={"VisibilityTimeout": "60"})[
        "QueueUrl"
    ]
    return url


def handle_one(sqs: Any, queue_url: str) -> str | None:
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1).get("Messages", [])
    if not messages:
        return None
    message = messages[0]
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    body: str = message["Body"]
    return body


def _make_notes_bucket(lab: Lab, key: str = "hello.txt") -> None:
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="welcome-notes")
    s3.put_object(Bucket="welcome-notes", Key=key, Body=b"Hello, labkit!")


SOLUTION: dict[str, Any] = {"create_inbox": create_inbox, "handle_one": handle_one}


def test_the_welcome_solution_passes_every_check(welcome: Lab) -> None:
    _make_notes_bucket(welcome)
    report = welcome.check_all(dict(SOLUTION))
    assert [r.name for r in report.results] == ["inbox_queue", "handle_one", "notes_bucket"]
    assert report.all_passed, report.text()
    assert report.score == report.max_score == 4


def test_the_welcome_checks_do_not_leave_resources_in_the_learners_sandbox(welcome: Lab) -> None:
    _make_notes_bucket(welcome)
    welcome.check_all(dict(SOLUTION))
    assert "QueueUrls" not in welcome.client("sqs").list_queues()


def _forgot_delete(sqs: Any, queue_url: str) -> str | None:
    messages = sqs.receive_message(QueueUrl=queue_url).get("Messages", [])
    return messages[0]["Body"] if messages else None


def _default_visibility(sqs: Any) -> str:
    url: str = sqs.create_queue(QueueName="welcome-inbox")["QueueUrl"]
    return url


def _returns_the_dict(sqs: Any) -> Any:
    return sqs.create_queue(QueueName="welcome-inbox", Attributes={"VisibilityTimeout": "60"})


def _returns_the_message(sqs: Any, queue_url: str) -> Any:
    messages = sqs.receive_message(QueueUrl=queue_url).get("Messages", [])
    if not messages:
        return None
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
    return messages[0]


def _crashes_on_empty_queue(sqs: Any, queue_url: str) -> str:
    message = sqs.receive_message(QueueUrl=queue_url)["Messages"][0]
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    body: str = message["Body"]
    return body


@pytest.mark.parametrize(
    ("check", "replace", "expected_message", "expected_hint"),
    [
        ("handle_one", {"handle_one": _forgot_delete}, "came back", "delete_message"),
        ("inbox_queue", {"create_inbox": _default_visibility}, "30 s", "VisibilityTimeout"),
        ("inbox_queue", {"create_inbox": _returns_the_dict}, "URL", '["QueueUrl"]'),
        ("handle_one", {"handle_one": _returns_the_message}, "dict", '["Body"]'),
        ("handle_one", {"handle_one": _crashes_on_empty_queue}, "KeyError", "Messages"),
    ],
    ids=["forgot-delete", "default-visibility", "returns-dict", "returns-message", "empty-queue"],
)
def test_a_plausible_wrong_solution_fails_the_right_check(
    welcome: Lab,
    check: str,
    replace: dict[str, Callable[..., Any]],
    expected_message: str,
    expected_hint: str,
) -> None:
    _make_notes_bucket(welcome)
    namespace = {**SOLUTION, **replace}
    report = welcome.check_all(namespace)
    failed = [r.name for r in report.results if not r.passed]
    assert failed == [check], report.text()
    result = next(r for r in report.results if r.name == check)
    assert expected_message in result.message
    assert expected_hint in result.hint


def test_wrong_bucket_key_fails_the_notes_check(welcome: Lab) -> None:
    _make_notes_bucket(welcome, key="hello")
    report = welcome.check_all(dict(SOLUTION))
    assert [r.name for r in report.results if not r.passed] == ["notes_bucket"]
    result = welcome.check("notes_bucket", {})
    assert "`hello`" in result.message and "`hello.txt`" in result.message
    assert "extension" in result.hint


def test_notes_bucket_made_before_a_reset_is_gone(welcome: Lab) -> None:
    _make_notes_bucket(welcome)
    assert welcome.check("notes_bucket", {}).passed
    welcome.reset()
    result = welcome.check("notes_bucket", {})
    assert not result.passed
    assert "reset" in result.hint
