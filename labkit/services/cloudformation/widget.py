"""The stack view: a live picture of a CloudFormation stack or StackSet.

A view, not a model. :class:`StackView` reads :func:`labkit.services.cloudformation.state.
stack_snapshot` (resources as a tree with status and drift, the events) or
:func:`~labkit.services.cloudformation.state.stackset_snapshot` (a grid of accounts by Regions
with each instance's status, the operations), keeps it in a synced traitlet and renders it with
:mod:`labkit.services.cloudformation.view`. Create it with ``lab.stack_view(name)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import Dict, TraitError, Unicode, validate

from labkit.services.cloudformation.view import cloudformation_state, render_html, render_text
from labkit.widgets.base import LiveView

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox


class StackView(LiveView):
    """A stack or a StackSet, refreshed after every cell.

    Args:
        sandbox: The sandbox it lives in.
        name: The stack's or StackSet's name.
        kind: ``stack`` or ``stackset``.
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``LiveView`` (``hold=True`` keeps this moment).
    """

    #: The snapshot (see :func:`labkit.services.cloudformation.view.cloudformation_state`).
    state = Dict().tag(sync=True)
    #: The stack or StackSet shown.
    name = Unicode("").tag(sync=True)

    def __init__(
        self, sandbox: Sandbox, name: str, kind: str, *, auto_refresh: bool = True, **kwargs: Any
    ) -> None:
        self._sandbox = sandbox
        self._name = name
        self._kind = kind
        super().__init__(auto_refresh=auto_refresh, **kwargs)
        self.name = name
        self.add_class("labkit-stack-view")

    @validate("state")
    def _validate_state(self, proposal: Any) -> dict[str, Any]:
        value = proposal["value"]
        if not isinstance(value, dict):
            raise TraitError(f"state must be a dict, not {type(value).__name__}.")
        if value and value.get("kind") not in ("stack", "stackset"):
            raise TraitError("state must be a stack's or a StackSet's snapshot.")
        return value

    def is_live(self) -> bool:
        """Whether the sandbox still runs."""
        return bool(self._sandbox.running)

    def lab_now(self) -> float:
        """The lab clock now (epoch seconds)."""
        return float(self._sandbox.clock.timestamp)

    def snapshot(self) -> dict[str, Any]:
        """The stack or StackSet, read now."""
        from labkit.services.cloudformation.state import stack_snapshot, stackset_snapshot

        now = self._sandbox.clock.timestamp
        read = stackset_snapshot if self._kind == "stackset" else stack_snapshot
        return {"state": cloudformation_state(read(self._name, now=now))}

    def stopped_notice(self) -> str:
        """What a view of a stopped lab says."""
        return "This lab has stopped: the view shows the stack as it last saw it."

    def to_html(self) -> str:
        """The view as self-contained HTML."""
        if not self.state:
            return ""
        return render_html(self.state, notice=self.notice, hint=self._hint())

    def to_text(self) -> str:
        """The view as plain text."""
        if not self.state:
            return "Stack view (not read yet)"
        return render_text(self.state, notice=self.notice, hint=self._hint())


def stack_view(sandbox: Sandbox, name: str, *, hold: bool = False) -> StackView:
    """A live view of the stack or StackSet called ``name`` (a stack first, then a StackSet).

    Raises:
        StackNotFoundError: Neither a stack nor a StackSet has that name.
    """
    from labkit.services.cloudformation.state import (
        StackNotFoundError,
        find_stack,
        find_stackset,
    )

    # Found before the widget exists: a widget whose construction fails cannot be closed cleanly.
    try:
        find_stack(name)
        kind = "stack"
    except StackNotFoundError:
        find_stackset(name)
        kind = "stackset"
    return StackView(sandbox, name, kind, hold=hold)


__all__ = ["StackView", "stack_view"]
