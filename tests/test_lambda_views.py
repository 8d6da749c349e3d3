"""The invocation view: what the runtime recorded, the renderers and the live widget.

lambda_inspect reads the record the Lambda patch keeps on moto's backend (cold and warm starts,
durations, errors, throttles, concurrency); the renderers show it as HTML (an SVG timeline and
tables) and as text; the widget keeps it live.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import matplotlib
import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets import TraitError
from traitlets.config import Config

import labkit
from labkit.lab import Lab
from labkit.services.awslambda.state import sandbox_snapshot, snapshot
from labkit.services.awslambda.view import as_state, plot, render_html, render_text, strip
from labkit.services.awslambda.widget import InvocationView, invocation_view

matplotlib.use("Agg")

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


@pytest.fixture
def shell(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path))
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)
    yield shell
    InteractiveShell.clear_instance()


def checkout(event, context):  # type: ignore[no-untyped-def]
    if event.get("fail"):
        raise ValueError("card declined")
    return {"ok": True}


def nest(event, context):  # type: ignore[no-untyped-def]
    import boto3

    if event["depth"] == 0:
        return "leaf"
    inner = boto3.client("lambda").invoke(
        FunctionName="nest", Payload=json.dumps({"depth": event["depth"] - 1})
    )
    return json.loads(inner["Payload"].read())


def _invoke(lab: Lab, name: str, event: Any = None) -> None:
    lab.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event or {}))


# -- lambda_inspect ----------------------------------------------------------------------------
def test_the_record_has_cold_and_warm_starts_results_and_errors(lab: Lab) -> None:
    lab.deploy_function(checkout)
    _invoke(lab, "checkout")
    lab.clock.advance(30)
    _invoke(lab, "checkout")
    _invoke(lab, "checkout", {"fail": True})
    first, second, third = sandbox_snapshot(lab.sandbox).invocations
    assert (first.cold, second.cold, third.cold) == (True, False, False)
    assert first.init_ms is not None and second.init_ms is None
    assert first.at == lab.clock.start.timestamp() and second.at == first.at + 30
    assert first.response == {"ok": True} and first.status == "success"
    assert (third.status, third.error_type, third.error_message) == (
        "error",
        "ValueError",
        "card declined",
    )
    assert third.failed and not second.failed
    assert {i.trigger for i in (first, second, third)} == {"Invoke"}
    assert first.environment_id == third.environment_id


def test_throttles_are_recorded_with_their_reason(lab: Lab) -> None:
    lab.deploy_function(checkout)
    lab.client("lambda").put_function_concurrency(
        FunctionName="checkout", ReservedConcurrentExecutions=0
    )
    with pytest.raises(lab.client("lambda").exceptions.TooManyRequestsException):
        _invoke(lab, "checkout")
    snap = sandbox_snapshot(lab.sandbox)
    assert snap.invocations == ()
    (throttle,) = snap.throttles
    assert throttle.function == "checkout" and throttle.trigger == "Invoke"
    assert throttle.reason == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert snap.functions() == ["checkout"]


def test_nested_invocations_show_concurrency(lab: Lab) -> None:
    lab.deploy_function(nest)
    _invoke(lab, "nest", {"depth": 2})
    invocations = sandbox_snapshot(lab.sandbox).invocations
    # Recorded as they finish: the innermost first, which started when two were running.
    assert [i.concurrency for i in invocations] == [3, 2, 1]
    assert all(i.cold for i in invocations)


def test_triggers_are_named_by_their_event_source(lab: Lab) -> None:
    arn = lab.deploy_function(checkout)
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    lab.client("lambda").create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=arn)
    sqs.send_message(QueueUrl=url, MessageBody="{}")
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="drop")
    lab.client("lambda").add_permission(
        FunctionName=arn,
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::drop",
    )
    s3.put_bucket_notification_configuration(
        Bucket="drop",
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )
    s3.put_object(Bucket="drop", Key="a.txt", Body=b"a")
    lab.clock.advance(1)
    snap = sandbox_snapshot(lab.sandbox)
    assert sorted((i.trigger, i.invocation_type) for i in snap.invocations) == [
        ("S3", "Event"),
        ("SQS", "ESM"),
    ]


def test_the_record_follows_reset_and_isolated_worlds(lab: Lab) -> None:
    lab.deploy_function(checkout)
    _invoke(lab, "checkout")
    with lab.sandbox.isolated() as world:
        assert snapshot(clock=world.clock).invocations == ()
        lab.deploy_function(checkout)
        _invoke(lab, "checkout")
        assert len(snapshot(clock=world.clock).invocations) == 1
    assert len(sandbox_snapshot(lab.sandbox).invocations) == 1
    lab.reset()
    assert sandbox_snapshot(lab.sandbox).invocations == ()


def test_reading_creates_no_backend(lab: Lab) -> None:
    from moto.awslambda_simple.models import lambda_simple_backends

    assert "123456789012" not in dict.keys(lambda_simple_backends)
    assert snapshot().invocations == ()
    assert "123456789012" not in dict.keys(lambda_simple_backends)


def test_snapshot_filters(lab: Lab) -> None:
    lab.deploy_function(checkout)
    lab.deploy_function(checkout, "other")
    _invoke(lab, "checkout")
    lab.clock.advance(10)
    _invoke(lab, "other")
    snap = sandbox_snapshot(lab.sandbox)
    assert snap.functions() == ["checkout", "other"]
    assert [i.function for i in snap.of("other").invocations] == ["other"]
    assert [i.function for i in snap.since(snap.start + 5).invocations] == ["other"]


# -- renderers ---------------------------------------------------------------------------------
def _row(**fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "at": 1767603600.0,
        "function": "orders",
        "trigger": "SQS",
        "cold": False,
        "duration_ms": 1.5,
        "init_ms": None,
        "status": "success",
        "error_type": "",
        "concurrency": 1,
    }
    row.update(fields)
    return row


ROWS = [
    _row(cold=True, init_ms=12.0),
    _row(at=1767603601.0),
    _row(at=1767603602.0, status="error", error_type="KeyError"),
    _row(at=1767603603.0, status="timeout", error_type="Sandbox.Timedout", duration_ms=3000),
    _row(at=1767603603.0, function="api", trigger="API Gateway", cold=True, concurrency=2),
]
THROTTLES = [
    {
        "at": 1767603604.0,
        "function": "orders",
        "trigger": "Invoke",
        "reason": "ConcurrentInvocationLimitExceeded",
    }
]


def test_text_has_a_summary_a_letter_timeline_and_the_latest_events() -> None:
    text = render_text(ROWS, THROTTLES, now=1767603610.0)
    assert text.splitlines()[0] == (
        "Lambda invocations: 5 in 2 functions, 1 throttled · lab time 2026-01-05 09:00:10 UTC"
    )
    assert strip(ROWS, THROTTLES, "orders") == "C w E T !"
    assert strip(ROWS, THROTTLES, "api") == "C"
    assert "! throttled: account limit" in text
    assert "cold (init 12.0 ms)" in text and "✕ KeyError" in text and "✕ timed out" in text
    summary = next(line for line in text.splitlines() if line.startswith("per function"))
    words = summary.split()
    at = words.index("orders")
    # invocations, cold, warm, errors, timeouts, throttled, peak concurrency
    assert words[at + 1 : at + 8] == ["4", "1", "3", "1", "1", "1", "1"]
    assert "<" not in text


def test_html_shows_shapes_and_words_and_is_self_contained() -> None:
    page = render_html(ROWS, THROTTLES, now=1767603610.0, hint="This view updates.")
    assert "<svg" in page and "<rect" in page and "<polygon" in page and "<circle" in page
    assert "□ cold start" in page and "▽ throttled" in page
    assert "Invocation timeline" in page and "This view updates." in page
    for external in ("<script", "<link", "<style", "href=", "src=", "url("):
        assert external not in page


def test_html_escapes_what_it_shows() -> None:
    page = render_html([_row(function="<b>x</b>", error_type="<i>", status="error")])
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert "<i>" not in page


def test_nothing_yet_says_so_and_what_to_do() -> None:
    assert "No invocation yet" in render_text([])
    page = render_html([], notice="The lab has stopped.")
    assert "No invocation yet" in page and "The lab has stopped." in page
    assert "<svg" not in page


def test_the_table_lists_only_the_latest_events_when_asked() -> None:
    text = render_text(ROWS, THROTTLES, limit=2)
    assert "latest events (2 of 6)" in text
    assert text.count("09:00:0") == 2


def test_plot_draws_three_panels_with_labelled_markers() -> None:
    figure = plot(ROWS, THROTTLES, start=1767603600.0)
    lanes, took, conc = figure.axes
    labels = [t.get_text() for t in lanes.get_legend().get_texts()]
    assert labels == ["cold start", "warm start", "error", "timeout", "throttled"]
    assert [t.get_text() for t in lanes.get_yticklabels()] == ["orders", "api"]
    assert took.get_ylabel() == "ms (wall)" and conc.get_ylabel() == "concurrency"
    assert conc.get_ylim()[1] >= 2


# -- the widget --------------------------------------------------------------------------------
def test_the_widget_shows_the_labs_invocations_and_refreshes(lab: Lab) -> None:
    view = invocation_view(lab)
    assert view.invocations == [] and "No invocation yet" in view.to_text()
    lab.deploy_function(checkout)
    _invoke(lab, "checkout")
    assert view.invocations == []  # outside IPython nothing refreshes on its own
    view.refresh()
    (row,) = view.invocations
    assert row["function"] == "checkout" and row["cold"] is True
    assert "Call .refresh() on this view to update it." in view.to_text()
    bundle = view._repr_mimebundle_()
    assert set(bundle) == {WIDGET_VIEW, "text/html", "text/plain"}
    assert "checkout" in bundle["text/html"] and "checkout" in bundle["text/plain"]


def test_the_widget_can_follow_one_function(lab: Lab) -> None:
    lab.deploy_function(checkout)
    lab.deploy_function(checkout, "other")
    _invoke(lab, "checkout")
    _invoke(lab, "other")
    view = InvocationView(lab, "other")
    assert [r["function"] for r in view.invocations] == ["other"]
    assert view.function == "other"


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("nope", "dict"),
        ([["x"]], "expected a dict"),
        ([{k: v for k, v in _row().items() if k != "status"}], "missing: status"),
        ([{**_row(), "at": "noon"}], "at must be a number"),
    ],
)
def test_the_synced_state_rejects_malformed_rows(lab: Lab, bad: Any, says: str) -> None:
    view = InvocationView(lab)
    with pytest.raises(TraitError, match=says):
        view.invocations = bad
    assert view.invocations == []


def test_the_widget_refreshes_after_every_cell_and_stops_with_the_lab(
    lab: Lab, shell: InteractiveShell
) -> None:
    shell.user_ns["lab"] = lab
    lab.deploy_function(checkout)
    view = InvocationView(lab)
    assert view.following
    shell.run_cell('lab.client("lambda").invoke(FunctionName="checkout", Payload=b"{}")')
    assert len(view.invocations) == 1
    lab.stop()
    shell.run_cell("1 + 1")
    assert not view.following and "stopped" in view.notice
    assert len(view.invocations) == 1


def test_as_state_round_trips_through_the_widget(lab: Lab) -> None:
    lab.deploy_function(checkout)
    _invoke(lab, "checkout", {"fail": True})
    state = as_state(sandbox_snapshot(lab.sandbox))
    view = InvocationView(lab, auto_refresh=False)
    assert view.invocations == state["invocations"]
    assert state["invocations"][0]["error_type"] == "ValueError"


def test_timeline_ticks_fall_on_round_clock_times() -> None:
    start = 1767603600.0  # 09:00:00
    page = render_html([_row(at=start + 0.5), _row(at=start + 244.5)])
    assert ">09:01:00<" in page and ">09:04:00<" in page
    assert ">09:00:23<" not in page


def test_a_held_invocation_view_keeps_the_invocations_so_far(lab: Lab) -> None:
    lab.deploy_function(checkout, "checkout")
    _invoke(lab, "checkout", {"ok": True})
    held = invocation_view(lab, hold=True)
    live = invocation_view(lab)
    _invoke(lab, "checkout", {"ok": True})
    live.refresh()
    held.refresh()
    assert isinstance(held, InvocationView) and held.held
    assert len(held.invocations) == 1 and len(live.invocations) == 2
    assert "Held as of lab time" in held.to_text() and "state 2 of 2" in live.to_text()
