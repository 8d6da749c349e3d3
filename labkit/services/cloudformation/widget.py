"""The stack view: a live picture of a CloudFormation stack or StackSet.

A view, not a model. :class:`StackView` reads :func:`labkit.services.cloudformation.state.
stack_snapshot` (resources as a tree with status and drift, the events) or
:func:`~labkit.services.cloudformation.state.stackset_snapshot` (a grid of accounts by Regions
with each instance's status, the operations), keeps it in a synced traitlet and renders it with
:mod:`labkit.services.cloudformation.view`. Create it with ``lab.stack_view(name)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import TraitError, Unicode

from labkit.services.cloudformation.view import cloudformation_state, render_html, render_text
from labkit.widgets.state_view import StateView, check_keys

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox


class StackView(StateView):
    """A stack or a StackSet, refreshed after every cell.

    Args:
        sandbox: The sandbox it lives in.
        name: The stack's or StackSet's name.
        kind: ``stack`` or ``stackset``.
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``LiveView`` (``hold=True`` keeps this moment).
    """

    shows = "the stack as it last saw it"
    title = "Stack view"
    css_class = "labkit-stack-view"

    #: The stack or StackSet shown.
    name = Unicode("").tag(sync=True)

    def __init__(
        self, sandbox: Sandbox, name: str, kind: str, *, auto_refresh: bool = True, **kwargs: Any
    ) -> None:
        self._name = name
        self._kind = kind
        super().__init__(sandbox, auto_refresh=auto_refresh, **kwargs)
        self.name = name

    def check(self, value: Any) -> dict[str, Any]:
        """A stack's or a StackSet's snapshot (``kind`` says which), or ``{}``."""
        state = check_keys(value, None)
        if state and state.get("kind") not in ("stack", "stackset"):
            raise TraitError("state must be a stack's or a StackSet's snapshot.")
        return state

    def read(self) -> dict[str, Any]:
        """The stack or StackSet, read now."""
        from labkit.services.cloudformation.state import stack_snapshot, stackset_snapshot

        now = self._sandbox.clock.timestamp
        read = stackset_snapshot if self._kind == "stackset" else stack_snapshot
        return cloudformation_state(read(self._name, now=now))

    def html_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        """The view as self-contained HTML."""
        return render_html(state, notice=notice, hint=hint)

    def text_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        """The view as plain text."""
        return render_text(state, notice=notice, hint=hint)


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
