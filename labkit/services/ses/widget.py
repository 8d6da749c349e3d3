"""The mailbox view: a live picture of the mail (and text messages) sent in the sandbox.

A view, not a model. :class:`MailboxView` reads the sandbox's mailbox
(:func:`~labkit.sandbox.mailbox.mailbox`: what SES and Cognito sent, with each copy's status),
keeps it in a synced traitlet and renders it with :mod:`labkit.services.ses.view`. Create it
with ``lab.mailbox_view()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import Dict, TraitError, Unicode, validate

from labkit.services.ses.view import mailbox_state, render_html, render_text
from labkit.widgets.base import LiveView

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

_STATE_KEYS = frozenset({"now", "to", "messages"})


class MailboxView(LiveView):
    """The sandbox's mailbox, refreshed after every cell.

    Args:
        sandbox: The sandbox whose mail to show.
        to: Only the messages to this address (``None``: every message).
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``LiveView`` (``hold=True`` keeps this moment).
    """

    #: The snapshot (see :func:`labkit.services.ses.view.mailbox_state`).
    state = Dict().tag(sync=True)
    #: The address shown (empty: all).
    address = Unicode("").tag(sync=True)

    def __init__(
        self,
        sandbox: Sandbox,
        to: str | None = None,
        *,
        auto_refresh: bool = True,
        **kwargs: Any,
    ) -> None:
        self._sandbox = sandbox
        self._to = (to or "").strip()
        super().__init__(auto_refresh=auto_refresh, **kwargs)
        self.address = self._to
        self.add_class("labkit-mailbox-view")

    @validate("state")
    def _validate_state(self, proposal: Any) -> dict[str, Any]:
        value = proposal["value"]
        if not isinstance(value, dict):
            raise TraitError(f"state must be a dict, not {type(value).__name__}.")
        if value and set(value) != _STATE_KEYS:
            raise TraitError(f"state has the wrong keys: {sorted(value)}.")
        return value

    def is_live(self) -> bool:
        """Whether the sandbox still runs."""
        return bool(self._sandbox.running)

    def lab_now(self) -> float:
        """The lab clock now (epoch seconds)."""
        return float(self._sandbox.clock.timestamp)

    def snapshot(self) -> dict[str, Any]:
        """The mailbox, read now."""
        from labkit.sandbox.mailbox import mailbox

        box = mailbox(self._sandbox)
        messages = box.messages(self._to or None)
        return {"state": mailbox_state(messages, now=self._sandbox.clock.timestamp, to=self._to)}

    def stopped_notice(self) -> str:
        """What a view of a stopped lab says."""
        return "This lab has stopped: the view shows the mailbox as it last saw it."

    def to_html(self) -> str:
        """The mailbox as self-contained HTML."""
        if not self.state:
            return ""
        return render_html(self.state, notice=self.notice, hint=self._hint())

    def to_text(self) -> str:
        """The mailbox as plain text."""
        if not self.state:
            return "Mailbox view (not read yet)"
        return render_text(self.state, notice=self.notice, hint=self._hint())


def mailbox_view(sandbox: Sandbox, to: str | None = None, *, hold: bool = False) -> MailboxView:
    """A live view of the sandbox's mailbox (only mail to ``to`` when given); with ``hold``,
    held at the moment of this call."""
    return MailboxView(sandbox, to, hold=hold)


__all__ = ["MailboxView", "mailbox_view"]
