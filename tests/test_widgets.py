"""The sandbox view widget: validated state, refresh, display data and auto-refresh in IPython."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets import TraitError
from traitlets.config import Config

import labkit
from labkit.widgets.base import EVENT, HISTORY, LIVE_HINT, REFRESH_HINT, AfterEachCell, LiveView
from labkit.widgets.resource_view import ResourceView
from labkit.widgets.sandbox_view import SandboxView

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def lab():
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


@pytest.fixture
def shell(tmp_path, monkeypatch):
    """A real IPython shell (what a kernel runs), with its files in a temporary directory."""
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path))
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)
    yield shell
    InteractiveShell.clear_instance()


def _labkit_callbacks(shell):
    return [cb for cb in shell.events.callbacks[EVENT] if isinstance(cb, AfterEachCell)]


def _names(view):
    return [r["name"] for r in view.resources]


GOOD = {"service": "sqs", "kind": "queue", "name": "q", "region": "us-east-1", "detail": ""}


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("not a list", "list"),
        ([["sqs", "queue"]], "expected a dict"),
        ([GOOD, {k: v for k, v in GOOD.items() if k != "region"}], "missing: region"),
        ([{**GOOD, "colour": "red"}], "unexpected: colour"),
        ([{**GOOD, "name": 7}], "name must be strings"),
    ],
)
def test_the_synced_state_rejects_malformed_resources(lab, bad, says):
    view = SandboxView(lab)
    with pytest.raises(TraitError, match=says):
        view.resources = bad
    assert view.resources == []  # the rejected value never got in
    view.resources = [GOOD]
    assert view.resources == [GOOD]


def test_refresh_picks_up_a_new_queue(lab):
    view = SandboxView(lab)
    assert view.resources == []
    assert "AWS sandbox: empty" in view.to_text()
    lab.client("sqs").create_queue(QueueName="orders")
    assert view.resources == []  # outside IPython nothing refreshes on its own
    view.refresh()
    assert view.resources == [
        {
            "service": "sqs",
            "kind": "queue",
            "name": "orders",
            "region": "us-east-1",
            "detail": "0 visible · 0 in flight · 0 delayed",
        }
    ]
    assert "orders" in view.children[0].value  # the rendered HTML follows the state


def test_outside_ipython_the_view_works_and_says_how_to_update(lab):
    view = lab.view()
    assert isinstance(view, SandboxView)
    assert not view.following
    assert "Call .refresh() on this view to update it." in view.to_text()


def test_display_data_has_widget_html_and_text(lab):
    lab.client("s3").create_bucket(Bucket="photos")
    view = SandboxView(lab)
    bundle = view._repr_mimebundle_()
    assert set(bundle) == {WIDGET_VIEW, "text/html", "text/plain"}
    assert bundle[WIDGET_VIEW]["model_id"] == view.model_id
    assert "photos" in bundle["text/html"] and "<table" in bundle["text/html"]
    assert "photos" in bundle["text/plain"] and "<" not in bundle["text/plain"]


def test_ipython_shows_the_static_form_once_the_widget_is_closed(lab, shell):
    lab.client("s3").create_bucket(Bucket="photos")
    view = SandboxView(lab)
    data, _ = shell.display_formatter.format(view)
    assert {WIDGET_VIEW, "text/html", "text/plain"} <= set(data)
    view.close()
    data, _ = shell.display_formatter.format(view)
    assert WIDGET_VIEW not in data
    assert "photos" in data["text/html"] and "photos" in data["text/plain"]


def test_the_view_refreshes_after_every_cell(lab, shell):
    shell.user_ns["lab"] = lab
    view = SandboxView(lab)
    assert view.following
    shell.run_cell('lab.client("sqs").create_queue(QueueName="orders")')
    assert _names(view) == ["orders"]
    shell.run_cell(
        'lab.client("sqs").send_message(QueueUrl=lab.client("sqs").get_queue_url('
        'QueueName="orders")["QueueUrl"], MessageBody="hi")'
    )
    assert view.resources[0]["detail"].startswith("1 visible")
    shell.run_cell("raise ValueError('a cell that fails')")
    shell.run_cell("lab.reset()")
    assert view.resources == []


def test_one_callback_however_many_views_and_it_goes_with_the_last(lab, shell):
    shell.user_ns["lab"] = lab
    for _ in range(3):
        shell.run_cell("v = lab.view()\nv")
    views = [v for v in _labkit_callbacks(shell)[0].views]
    assert len(_labkit_callbacks(shell)) == 1
    assert len(views) == 3
    views[0].close()
    views[1].close()
    assert len(_labkit_callbacks(shell)) == 1
    shell.run_cell('lab.client("s3").create_bucket(Bucket="late")')
    assert _names(views[2]) == ["late"] and _names(views[0]) == []
    views[2].close()
    assert _labkit_callbacks(shell) == []
    assert not views[2].following


def test_refreshing_twice_or_displaying_twice_does_not_register_again(lab, shell):
    view = SandboxView(lab)
    view.refresh()
    shell.display_formatter.format(view)
    shell.run_cell("pass")
    (refresher,) = _labkit_callbacks(shell)
    assert refresher.views == [view]
    view.close()
    view.close()
    assert _labkit_callbacks(shell) == []


def test_a_stopped_lab_unregisters_and_keeps_its_last_picture(shell):
    old = labkit.start(quiet=True)
    try:
        shell.user_ns["lab"] = old
        shell.run_cell('lab.client("sqs").create_queue(QueueName="old-queue")')
        view = SandboxView(old)
        new = labkit.start(quiet=True)  # replaces (and stops) the first lab
        new.client("sqs").create_queue(QueueName="new-queue")
        shell.run_cell("pass")
        assert _labkit_callbacks(shell) == []
        assert _names(view) == ["old-queue"]  # never the new lab's resources
        assert "This lab has stopped" in view.notice
        assert "no longer updates" in view.to_text()
        assert "Call .refresh()" not in view.to_text()
        new.stop()
    finally:
        old.stop()


def test_a_failing_read_is_shown_in_the_view_not_under_every_cell(lab, shell, capsys):
    lab.client("sqs").create_queue(QueueName="orders")
    view = SandboxView(lab)

    def broken():
        raise RuntimeError("moto changed")

    lab.resources = broken
    shell.run_cell("pass")
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    assert "RuntimeError: moto changed" in view.notice
    assert _names(view) == ["orders"]  # the last good snapshot stays
    del lab.resources
    shell.run_cell("pass")
    assert view.notice == ""
    view.close()


def test_in_ipython_a_displayed_view_prints_the_text_table(lab, shell, capsys):
    lab.client("dynamodb").create_table(
        TableName="users",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    shell.user_ns["lab"] = lab
    shell.run_cell("lab.view()")
    out = capsys.readouterr().out
    assert "AWS sandbox: 1 resource in 1 service" in out
    assert "DynamoDB (1 resource)" in out
    for callback in _labkit_callbacks(shell):
        for view in list(callback.views):
            view.close()


class _NoText(LiveView):
    """A view that forgot ``to_text``."""

    def is_live(self):
        return True

    def snapshot(self):
        return {}

    def to_html(self):
        return "<b>ok</b>"


class _NoRead(ResourceView):
    """A resource view that forgot how to read its resource."""

    kind = "thing"

    def names(self):
        return []

    def to_html(self):
        return ""

    def to_text(self):
        return ""


def test_a_view_missing_a_method_of_the_pattern_cannot_be_created(lab):
    from ipywidgets.widgets.widget import _instances

    before = len(_instances)
    with pytest.raises(TypeError, match="to_text"):
        _NoText(auto_refresh=False)
    with pytest.raises(TypeError, match="read"):
        _NoRead(lab, auto_refresh=False)
    assert len(_instances) == before  # refused before a widget model was opened

    class Complete(_NoText):
        def to_text(self):
            return "ok"

    view = Complete(auto_refresh=False)
    assert (str(view), view.to_html()) == ("ok", "<b>ok</b>")
    view.close()


# -- history and held moments --------------------------------------------------------------
def _queue(lab, name):
    return lab.client("sqs").create_queue(QueueName=name)["QueueUrl"]


def test_each_change_is_kept_with_its_lab_time_and_the_learner_can_step_back(lab, shell):
    shell.user_ns["lab"] = lab
    view = SandboxView(lab)
    assert len(view.history) == 1 and view.children == (view._display,)  # nothing to step to
    shell.run_cell('lab.client("sqs").create_queue(QueueName="first")')
    shell.run_cell("pass")  # nothing changed: no new state
    shell.run_cell("lab.clock.advance(65)")  # only the lab time moved
    shell.run_cell('lab.client("sqs").create_queue(QueueName="second")')
    assert [_names(lab_state) for lab_state in _states(view)] == [
        [],
        ["first"],
        ["first"],
        ["first", "second"],
    ]
    times = [m.at for m in view.history]
    assert times[0] == times[1] == times[2] - 65 == times[3] - 65
    assert "As of lab time 09:01:05 — state 4 of 4." in view.to_text()

    controls = view.children[1]
    controls.earlier.click()
    controls.earlier.click()
    assert _names(view) == ["first"]  # the traits hold the state shown
    assert "first" in view._display.value and "second" not in view._display.value
    text = view.to_text()
    assert "As of lab time 09:00:00 — state 2 of 4 (an earlier state" in text
    controls.slider.value = 1
    assert _names(view) == [] and "state 1 of 4" in view.to_text()
    assert controls.earlier.disabled and not controls.latest.disabled

    # A cell that changes the sandbox while the learner looks back: kept, not shown.
    shell.run_cell('lab.client("sqs").create_queue(QueueName="third")')
    assert len(view.history) == 5 and _names(view) == []
    assert "state 1 of 5" in view.to_text()
    controls.latest.click()
    assert _names(view) == ["first", "second", "third"]
    assert controls.later.disabled and "state 5 of 5." in view.to_text()
    view.close()


def _states(view):
    return [SimpleNamespace(resources=m.state["resources"]) for m in view.history]


def test_at_the_latest_state_the_view_follows_and_refresh_always_goes_back_to_now(lab):
    view = SandboxView(lab)
    _queue(lab, "a")
    view.refresh()
    view.show_state(0)
    _queue(lab, "b")
    view.refresh()  # asked for now: shows now, whatever was picked
    assert _names(view) == ["a", "b"]
    assert view.children[1].slider.value == 3


def test_the_history_is_bounded_and_keeps_the_newest_states(lab):
    view = SandboxView(lab)
    for i in range(HISTORY + 5):
        _queue(lab, f"q{i:03d}")
        view.refresh()
    assert len(view.history) == HISTORY
    assert _names(view)[-1] == f"q{HISTORY + 4:03d}"
    assert len(view.history[0].state["resources"]) == 6  # the oldest five states dropped
    assert f"state {HISTORY} of {HISTORY}." in view.to_text()


def test_a_held_view_keeps_the_moment_of_its_cell(lab, shell):
    shell.user_ns["lab"] = lab
    live = SandboxView(lab)
    shell.run_cell('lab.client("sqs").create_queue(QueueName="then")')
    shell.run_cell("held = lab.view().hold()\nheld")
    held = shell.user_ns["held"]
    assert type(held) is SandboxView and held.held and not held.following
    assert not live.held and live.following  # the live view goes on
    shell.run_cell(
        'lab.reset()\nlab.clock.advance(30)\nlab.client("s3").create_bucket(Bucket="bbb")'
    )
    held.refresh()
    assert _names(held) == ["then"] and _names(live) == ["bbb"]
    text = held.to_text()
    assert "‖ Held as of lab time 09:00:00" in text and "does not update" in text
    assert LIVE_HINT not in text and len(held.children) == 1  # no step control
    assert held.hold() is held
    assert "Held as of lab time 09:00:00" in held._repr_mimebundle_()["text/html"]
    assert repr(held).startswith("<SandboxView (held)")


def test_holding_takes_the_moment_now_even_when_the_live_view_looked_back(lab):
    live = SandboxView(lab)
    _queue(lab, "a")
    live.refresh()
    live.show_state(0)
    _queue(lab, "b")
    held = live.hold()
    assert _names(held) == ["a", "b"] and len(held.history) == 1


def test_a_held_view_of_a_stopped_lab_keeps_its_last_picture():
    old = labkit.start(quiet=True)
    try:
        _queue(old, "kept")
        view = SandboxView(old)
        old.stop()
        held = view.hold()
        assert _names(held) == ["kept"] and held.held
        assert "Held as of lab time" in held.to_text()
    finally:
        old.stop()


def test_a_view_without_a_clock_says_which_state_without_a_time():
    class Counter(LiveView):
        count = 0

        def is_live(self):
            return True

        def snapshot(self):
            Counter.count += 1
            return {"notice": ""} if Counter.count < 2 else {}

        def to_html(self):
            return self._hint()

        def to_text(self):
            return self._hint()

    view = Counter(auto_refresh=False)
    assert view.to_text() == REFRESH_HINT  # one state, no time: nothing to say about it
    assert view.hold().to_text().startswith("‖ Held as of the moment its cell ran")
