"""The mailbox view: a live picture of the mail (and text messages) sent in the sandbox.

A view, not a model. :class:`MailboxView` reads the sandbox's mailbox
(:func:`~labkit.sandbox.mailbox.mailbox`: what SES and Cognito sent, with each copy's status),
keeps it in a synced traitlet and renders it with :mod:`labkit.services.ses.view`. Create it
with ``lab.mailbox_view()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import Unicode

from labkit.services.ses.view import mailbox_state, render_html, render_text
from labkit.widgets.state_view import StateView

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

_STATE_KEYS = frozenset({"now", "to", "messages"})


class MailboxView(StateView):
    """The sandbox's mailbox, refreshed after every cell.

    Args:
        sandbox: The sandbox whose mail to show.
        to: Only the messages to this address (``None``: every message).
        auto_refresh: Refresh after every cell the learner runs.
        **kwargs: Passed to ``LiveView`` (``hold=True`` keeps this moment).
    """

    shows = "the mailbox as it last saw it"
    title = "Mailbox view"
    css_class = "labkit-mailbox-view"
    state_keys = _STATE_KEYS

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
        self._to = (to or "").strip()
        super().__init__(sandbox, auto_refresh=auto_refresh, **kwargs)
        self.address = self._to

    def read(self) -> dict[str, Any]:
        """The mailbox, read now."""
        from labkit.sandbox.mailbox import mailbox

        box = mailbox(self._sandbox)
        messages = box.messages(self._to or None)
        return mailbox_state(messages, now=self._sandbox.clock.timestamp, to=self._to)

    def html_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        """The mailbox as self-contained HTML."""
        return render_html(state, notice=notice, hint=hint)

    def text_of(self, state: dict[str, Any], *, notice: str, hint: str) -> str:
        """The mailbox as plain text."""
        return render_text(state, notice=notice, hint=hint)


def mailbox_view(sandbox: Sandbox, to: str | None = None, *, hold: bool = False) -> MailboxView:
    """A live view of the sandbox's mailbox (only mail to ``to`` when given); with ``hold``,
    held at the moment of this call."""
    return MailboxView(sandbox, to, hold=hold)


__all__ = ["MailboxView", "mailbox_view"]
