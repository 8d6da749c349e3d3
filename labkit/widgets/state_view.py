"""What most service views share: one state, read from a lab's sandbox, drawn by two renderers.

A :class:`StateView` follows a sandbox: it is live while the sandbox runs, dates each state by the
lab clock, keeps the picture in one synced ``state`` trait (checked before it is shown) and hands
it to the service's view module for HTML and text. A subclass says what it shows and how to read
and render it::

    class DaxView(StateView):
        shows = "the caches as it last saw them"     # in "the view shows ..." once stopped
        title = "DAX cache view"                     # the text form before the first read
        css_class = "labkit-dax-view"
        state_keys = _STATE_KEYS                     # or override check() for other rules

        def read(self) -> dict[str, Any]: ...        # the state now, as plain values
        def html_of(self, state, *, notice, hint): return render_html(state, ...)
        def text_of(self, state, *, notice, hint): return render_text(state, ...)

The subclass keeps what it reads from (a name, a Region, options) on itself *before* calling
``super().__init__``, which reads the first state.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from traitlets import Dict, TraitError, validate

from labkit.widgets.base import LiveView

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox


def check_keys(value: Any, keys: frozenset[str] | None, what: str = "state") -> dict[str, Any]:
    """``value`` if it is a dict (with exactly ``keys`` unless ``None``; ``{}`` before the first
    read), else a TraitError saying what is missing or unexpected."""
    if not isinstance(value, dict):
        raise TraitError(f"{what} must be a dict, not {type(value).__name__}.")
    if value and keys is not None and set(value) != keys:
        missing = ", ".join(sorted(keys - set(value))) or "none"
        extra = ", ".join(sorted(map(str, set(value) - keys))) or "none"
        raise TraitError(f"{what} has the wrong keys (missing: {missing}; unexpected: {extra}).")
    return value


class StateView(LiveView):
    """A live view of something in a sandbox, pictured by one state dict.

    Args:
        sandbox: The sandbox it lives in.
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``LiveView`` (``hold=True`` keeps this moment).
    """

    #: What a stopped view still shows, after "the view shows" ("the caches as it last saw them").
    shows: ClassVar[str]
    #: The view's name, which its text form says before the first read.
    title: ClassVar[str]
    #: The CSS class of the view's box (``labkit-<what>-view``).
    css_class: ClassVar[str]
    #: The keys every state has, exactly; ``None`` when :meth:`check` decides otherwise.
    state_keys: ClassVar[frozenset[str] | None] = None

    #: The picture, as plain values (see the service's view module); ``{}`` before the first read.
    state = Dict().tag(sync=True)

    def __init__(self, sandbox: Sandbox, *, auto_refresh: bool = True, **kwargs: Any) -> None:
        self._sandbox = sandbox
        super().__init__(auto_refresh=auto_refresh, **kwargs)
        self.add_class(self.css_class)

    # -- what a subclass provides -----------------------------------------------------------
    @abstractmethod
    def read(self) -> dict[str, Any]:
        """The state now, read from the sandbox."""

    @abstractmethod
    def html_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        """``state`` as self-contained HTML."""

    @abstractmethod
    def text_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        """``state`` as plain text."""

    def check(self, value: Any) -> dict[str, Any]:
        """``value`` if it can be the state, else a TraitError saying why."""
        return check_keys(value, self.state_keys)

    # -- the rest of a LiveView -------------------------------------------------------------
    @validate("state")
    def _validate_state(self, proposal: Any) -> dict[str, Any]:
        return self.check(proposal["value"])

    def is_live(self) -> bool:
        """Whether the sandbox still runs."""
        return bool(self._sandbox.running)

    def lab_now(self) -> float:
        """The lab clock now (epoch seconds)."""
        return float(self._sandbox.clock.timestamp)

    def snapshot(self) -> dict[str, Any]:
        """The state, read now."""
        return {"state": self.read()}

    def stopped_notice(self) -> str:
        """What a view of a stopped lab says."""
        return f"This lab has stopped: the view shows {self.shows}."

    def to_html(self) -> str:
        """The state as self-contained HTML (empty before the first read)."""
        if not self.state:
            return ""
        return self.html_of(self.state, notice=self.notice, hint=self._hint())

    def to_text(self) -> str:
        """The state as plain text."""
        if not self.state:
            return f"{self.title} (not read yet)"
        return self.text_of(self.state, notice=self.notice, hint=self._hint())


__all__ = ["StateView", "check_keys"]
