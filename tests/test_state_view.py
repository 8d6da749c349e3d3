"""The base of the service views that picture one state: what every such view does the same way.

A small view over a stand-in sandbox (a clock and a running flag) proves the shared parts once:
the state is read at creation and checked before it is shown, the text form says what is missing
before the first read, a stopped sandbox is said in words and stops the view refreshing, and a
view that forgets a renderer is refused when it is made.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from traitlets import TraitError

from labkit.widgets.state_view import StateView

KEYS = frozenset({"count", "now"})


class CounterView(StateView):
    """Pictures a counter the test changes."""

    shows = "the counter as it last saw it"
    title = "Counter view"
    css_class = "labkit-counter-view"
    state_keys = KEYS

    def __init__(self, sandbox: Any, source: dict[str, int], **kwargs: Any) -> None:
        self._source = source
        super().__init__(sandbox, auto_refresh=False, **kwargs)

    def read(self) -> dict[str, Any]:
        return {"count": self._source["count"], "now": self.lab_now()}

    def html_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        return f"<p>{notice} count {state['count']} {hint}</p>"

    def text_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        return f"{notice} count {state['count']} {hint}".strip()


def _sandbox() -> SimpleNamespace:
    return SimpleNamespace(running=True, clock=SimpleNamespace(timestamp=1_767_600_000.0))


def test_reads_at_creation_refreshes_and_dates_by_the_lab_clock() -> None:
    sandbox, source = _sandbox(), {"count": 1}
    view = CounterView(sandbox, source)
    assert view.state == {"count": 1, "now": 1_767_600_000.0}
    assert "labkit-counter-view" in view._dom_classes
    source["count"] = 2
    sandbox.clock.timestamp += 5
    view.refresh()
    assert "count 2" in view.to_text() and "count 2" in view.to_html()
    assert view.moment is not None and view.moment.at == 1_767_600_005.0


def test_a_state_with_the_wrong_keys_never_gets_in() -> None:
    view = CounterView(_sandbox(), {"count": 1})
    with pytest.raises(TraitError, match=r"missing: now; unexpected: colour"):
        view.state = {"count": 3, "colour": "red"}
    with pytest.raises(TraitError, match="expected a dict"):
        view.state = [1]
    assert view.state["count"] == 1


def test_before_the_first_read_the_text_says_so() -> None:
    view = CounterView(_sandbox(), {"count": 1})
    view.state = {}
    assert view.to_text() == "Counter view (not read yet)"
    assert view.to_html() == ""


def test_a_stopped_sandbox_is_said_in_words_and_the_view_keeps_its_last_state() -> None:
    sandbox, source = _sandbox(), {"count": 4}
    view = CounterView(sandbox, source)
    sandbox.running = False
    source["count"] = 99
    view.refresh()
    assert "This lab has stopped: the view shows the counter as it last saw it." in view.to_text()
    assert "count 4" in view.to_text()


def test_a_view_without_a_renderer_is_refused_when_made() -> None:
    class Half(StateView):
        shows, title, css_class = "it", "Half view", "labkit-half-view"

        def read(self) -> dict[str, Any]:
            return {}

        def html_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
            return ""

    with pytest.raises(TypeError, match="text_of"):
        Half(_sandbox())  # type: ignore[abstract]


def test_a_panel_shows_html_and_text_of_the_same_moment() -> None:
    from labkit.views.base import Panel

    panel = Panel({"n": 3}, lambda s: f"<b>{s['n']}</b>", lambda s: f"n = {s['n']}")
    bundle = panel._repr_mimebundle_()
    assert bundle == {"text/html": "<b>3</b>", "text/plain": "n = 3"}
    assert str(panel) == repr(panel) == "n = 3" and panel._repr_html_() == "<b>3</b>"
    assert panel.state is panel.snapshot
