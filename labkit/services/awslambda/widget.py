"""The invocation view: a live timeline of a lab's Lambda invocations.

A view, not a model: it reads :func:`labkit.services.awslambda.state.sandbox_snapshot`, keeps what
it read in synced traitlets, and renders them with :mod:`labkit.services.awslambda.view`.
Create it with
:func:`invocation_view` (``invocation_view(lab)``, or ``invocation_view(lab, "orders")`` for one
function).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import Dict, Float, List, TraitError, Unicode, validate

from labkit.services.awslambda.view import (
    INVOCATION_FIELDS,
    THROTTLE_FIELDS,
    as_state,
    render_html,
    render_text,
)
from labkit.widgets.base import LiveView

if TYPE_CHECKING:
    from labkit.lab import Lab


def check_rows(value: Any, fields: tuple[str, ...], what: str) -> list[dict[str, Any]]:
    """``value`` if it is a list of dicts with exactly ``fields``.

    Raises:
        TraitError: Saying which entry is wrong and what is expected.
    """
    if not isinstance(value, list):
        raise TraitError(f"{what} must be a list of dicts, not {type(value).__name__}.")
    expected = set(fields)
    for i, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise TraitError(f"{what}[{i}] must be a dict, not {type(entry).__name__}.")
        if set(entry) != expected:
            missing = ", ".join(sorted(expected - set(entry))) or "none"
            extra = ", ".join(sorted(map(str, set(entry) - expected))) or "none"
            raise TraitError(
                f"{what}[{i}] must have exactly the keys {', '.join(fields)} "
                f"(missing: {missing}; unexpected: {extra})."
            )
        if not isinstance(entry["at"], (int, float)) or isinstance(entry["at"], bool):
            raise TraitError(f"{what}[{i}]: at must be a number (epoch seconds).")
    return value


class InvocationView(LiveView):
    """The lab's Lambda invocations: a summary per function, a timeline and the latest events.

    Args:
        lab: The lab whose invocations to show.
        function: Only this function, when given.
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``ipywidgets.VBox``.
    """

    #: The invocations, oldest first (fields of :data:`INVOCATION_FIELDS`).
    invocations = List(Dict()).tag(sync=True)
    #: The throttled attempts, oldest first (fields of :data:`THROTTLE_FIELDS`).
    throttles = List(Dict()).tag(sync=True)
    #: The lab time of the snapshot (epoch seconds).
    now = Float(0.0).tag(sync=True)
    #: The function shown, or empty for all.
    function = Unicode("").tag(sync=True)

    def __init__(
        self, lab: Lab, function: str | None = None, *, auto_refresh: bool = True, **kwargs: Any
    ) -> None:
        self._lab = lab
        self._only = function or ""
        super().__init__(auto_refresh=auto_refresh, **kwargs)
        self.add_class("labkit-invocation-view")

    @validate("invocations")
    def _validate_invocations(self, proposal: Any) -> list[dict[str, Any]]:
        return check_rows(proposal["value"], INVOCATION_FIELDS, "invocations")

    @validate("throttles")
    def _validate_throttles(self, proposal: Any) -> list[dict[str, Any]]:
        return check_rows(proposal["value"], THROTTLE_FIELDS, "throttles")

    def is_live(self) -> bool:
        """Whether the lab's sandbox still runs."""
        return self._lab.running

    def lab_now(self) -> float:
        """The lab clock now (epoch seconds)."""
        return self._lab.sandbox.clock.timestamp

    def snapshot(self) -> dict[str, Any]:
        """The invocations and throttles recorded so far, read now."""
        from labkit.services.awslambda.state import sandbox_snapshot

        state = as_state(sandbox_snapshot(self._lab.sandbox, function=self._only or None))
        return {
            "invocations": state["invocations"],
            "throttles": state["throttles"],
            "now": state["now"],
            "function": self._only,
        }

    def stopped_notice(self) -> str:
        """What a view of a stopped lab says."""
        return (
            "This lab has stopped: the view shows the invocations it last saw and no longer "
            "updates."
        )

    def to_html(self) -> str:
        """The invocations as self-contained HTML (summary, SVG timeline, latest events)."""
        return render_html(
            self.invocations, self.throttles, now=self.now, notice=self.notice, hint=self._hint()
        )

    def to_text(self) -> str:
        """The invocations as plain text (summary, a letter timeline, latest events)."""
        return render_text(
            self.invocations, self.throttles, now=self.now, notice=self.notice, hint=self._hint()
        )


def invocation_view(lab: Lab, function: str | None = None, *, hold: bool = False) -> InvocationView:
    """A live view of ``lab``'s Lambda invocations (of one ``function``, when given); with
    ``hold``, held at the moment of this call (see ``LiveView.hold``)."""
    return InvocationView(lab, function, hold=hold)


__all__ = ["InvocationView", "invocation_view"]
