"""The sandbox's mailbox: where email and text messages sent inside a lab arrive.

AWS sends some messages to people, not to programs: Cognito mails a confirmation code when a user
signs up, SES sends what an application asks it to. In a lab nobody has an inbox, so every such
message lands here, and the learner reads it as a user would read their mail::

    box = mailbox(lab)                 # or mailbox(lab.sandbox)
    box.latest("alice@example.com").code   # "123456"

One mailbox per world: a check's isolated world runs on a clock of its own
(:meth:`labkit.sandbox.session.Sandbox.isolated`), so the mailbox is kept per clock, and mail sent
while a check runs never reaches the learner's mailbox (it vanishes with the check's world).
``lab.reset()`` empties the learner's mailbox, as it deletes every other AWS resource.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from labkit.clock import Clock

#: The digits a verification message carries (Cognito's ``{####}`` becomes six digits).
_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


@dataclass(frozen=True)
class Message:
    """One message as its recipient sees it.

    Attributes:
        to: The address (an email address, or a phone number for ``sms``).
        subject: The subject line (``""`` for a text message).
        body: The text.
        sent_at: When it was sent, on the lab clock.
        sender: Who sent it (``no-reply@verificationemail.com`` for Cognito's default sender).
        channel: ``email`` or ``sms``.
        source: The AWS resource that sent it (a user pool's ARN, an SES identity).
        html: The HTML body, when the message had one (``body`` is then its text part, which
            may be empty).
        status: What became of it: ``delivered``, or for SES's mailbox simulator ``bounced``
            (it never reached an inbox) or ``complained`` (delivered, then marked as spam).
        message_id: The id the sending service returned (SES's ``MessageId``), if any.
    """

    to: str
    subject: str
    body: str
    sent_at: datetime
    sender: str = ""
    channel: str = "email"
    source: str = ""
    html: str = ""
    status: str = "delivered"
    message_id: str = ""

    @property
    def code(self) -> str | None:
        """The six-digit code in the message, if it carries one."""
        found = _CODE.search(self.body)
        return found.group(1) if found else None

    def __str__(self) -> str:
        when = self.sent_at.strftime("%Y-%m-%d %H:%M:%S UTC")
        head = f"{self.channel} to {self.to} at {when}"
        return f"{head}: {self.subject}: {self.body}" if self.subject else f"{head}: {self.body}"


class Mailbox:
    """Every message delivered in one world, oldest first."""

    def __init__(self) -> None:
        self._messages: list[Message] = []

    def deliver(self, message: Message) -> None:
        """Put ``message`` in the mailbox (what an AWS service does when it sends one)."""
        self._messages.append(message)

    def messages(self, to: str | None = None) -> list[Message]:
        """The messages, oldest first; only those to ``to`` (any case) when given."""
        if to is None:
            return list(self._messages)
        wanted = to.strip().lower()
        return [m for m in self._messages if m.to.lower() == wanted]

    def latest(self, to: str | None = None) -> Message | None:
        """The newest message (to ``to`` when given), or ``None``."""
        found = self.messages(to)
        return found[-1] if found else None

    def clear(self) -> None:
        """Forget every message."""
        self._messages.clear()

    def __iter__(self) -> Iterator[Message]:
        return iter(list(self._messages))

    def __len__(self) -> int:
        return len(self._messages)

    def __repr__(self) -> str:
        if not self._messages:
            return "Mailbox(empty)"
        return "Mailbox(\n" + "\n".join(f"  {m}" for m in self._messages) + "\n)"


# A world is known by its clock; the weak keys let a check's world and its mail go together.
_BOXES: weakref.WeakKeyDictionary[Clock, Mailbox] = weakref.WeakKeyDictionary()
_RESET_HOOKED: weakref.WeakSet[Any] = weakref.WeakSet()


def mailbox(owner: Any) -> Mailbox:
    """The mailbox of the world ``owner`` runs in now.

    Args:
        owner: A running :class:`~labkit.sandbox.session.Sandbox`, or a lab (anything with a
            ``sandbox`` attribute).
    """
    sandbox = getattr(owner, "sandbox", owner)
    clock: Clock = sandbox.clock
    box = _BOXES.get(clock)
    if box is None:
        box = _BOXES[clock] = Mailbox()
    if sandbox not in _RESET_HOOKED:
        _RESET_HOOKED.add(sandbox)
        sandbox.on_reset(lambda: mailbox(sandbox).clear())
    return box


__all__ = ["Mailbox", "Message", "mailbox"]
