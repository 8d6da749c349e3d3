"""The sandbox view widget: validated state, refresh, display data and auto-refresh in IPython."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets import TraitError
from traitlets.config import Config

import labkit
from labkit.widgets.base import EVENT, AfterEachCell, LiveView
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
