"""SES's sending rules on the lab clock: the sandbox, the quotas, the mailbox simulator.

- **The sandbox.** A new account may send only to verified identities (addresses, or addresses at
  verified domains) and to the mailbox simulator, at most 200 recipients per 24 hours and one per
  second (https://docs.aws.amazon.com/ses/latest/dg/quotas.html; the numbers are in
  :mod:`labkit.facts`). Production access lifts the recipient rule and raises both quotas; AWS
  sets the raised quotas per use case, so labkit uses the long-documented starting values.
- **Quotas count recipients, not messages**, each in a window that slides on the lab clock: the
  daily quota over the past 24 hours, the rate over the past second. A call that would pass
  either is refused whole, and nothing of it is sent. One reading labkit adds: after a second in
  which nothing was sent, one message goes through whatever its number of recipients (a token
  bucket holds at least one message), so that ``To`` plus ``Cc`` is never refused forever.
- **The mailbox simulator**
  (https://docs.aws.amazon.com/ses/latest/dg/send-an-email-from-console.html#send-email-simulator):
  ``success@``, ``bounce@``, ``ooto@``, ``complaint@`` and ``suppressionlist@`` at
  ``simulator.amazonses.com`` (with an optional ``+label`` before the ``@``). They need no
  verification, count against the sending rate but not the daily quota, and answer as a mailbox
  provider would: delivered, a hard bounce (SMTP 550 5.1.1), delivered with an out-of-office
  reply to the sender, delivered and then marked as spam, or a hard bounce as if the address
  were on the suppression list.

:func:`notification` builds the JSON SES publishes to an identity's SNS topics
(https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html) and, with ``event=True``,
to a configuration set's event destination
(https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parseaddr
from typing import Any

from labkit.errors import LabkitError
from labkit.facts import value

#: The mailbox simulator's domain.
SIMULATOR_DOMAIN = "simulator.amazonses.com"

#: Where a sending account is kept on moto's SES backend object (reset and isolation cover it).
STATE_KEY = "labkit_sending"

#: The window of the daily quota and of the sending rate, seconds.
DAY_SECONDS = 24 * 3600.0
RATE_WINDOW_SECONDS = 1.0

#: What each simulator address does: (status, what the recipient's provider answers).
SCENARIOS: dict[str, tuple[str, str]] = {
    "success": ("delivered", "accepted and delivered"),
    "bounce": ("bounced", "rejected with SMTP 550 5.1.1 (unknown user): a hard bounce"),
    "ooto": ("delivered", "delivered, and an out-of-office reply went back to the sender"),
    "complaint": ("complained", "delivered, then the recipient marked it as spam"),
    "suppressionlist": (
        "bounced",
        "hard bounce: SES treats the address as on the suppression list",
    ),
}

#: Every status a recipient's copy can have, with the mark views show beside it.
STATUS_MARKS: dict[str, str] = {
    "delivered": "✓ delivered",
    "bounced": "✗ bounced",
    "complained": "⚑ complained (marked as spam)",
}


class SendingRefused(LabkitError):
    """SES refuses a send: an unverified identity in the sandbox, or a quota reached.

    Attributes:
        code: The AWS error code (``MessageRejected`` or ``Throttling``).
    """

    code = "MessageRejected"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def address_of(text: str) -> str:
    """The bare address of ``"Ana <ana@example.com>"`` (lower-cased domain kept as written)."""
    return (parseaddr(str(text))[1] or str(text)).strip()


def scenario(address: str) -> str | None:
    """The simulator scenario of ``address`` (``bounce+x@simulator.amazonses.com`` → ``bounce``),
    or ``None`` for an ordinary address."""
    local, _, domain = address_of(address).rpartition("@")
    if domain.lower() != SIMULATOR_DOMAIN:
        return None
    name = local.split("+", 1)[0].lower()
    return name if name in SCENARIOS else None


def status_of(address: str) -> str:
    """``delivered``, ``bounced`` or ``complained``: what becomes of a copy sent to ``address``."""
    found = scenario(address)
    return SCENARIOS[found][0] if found else "delivered"


def is_verified(address: str, identities: set[str] | frozenset[str]) -> bool:
    """Whether ``address`` is a verified identity or at a verified domain (any case)."""
    bare = address_of(address).lower()
    known = {i.lower() for i in identities}
    return bare in known or bare.rpartition("@")[2] in known


@dataclass
class SendingAccount:
    """One account's SES sending state in one Region (kept on moto's SES backend object).

    Attributes:
        production_access: Out of the sandbox (PutAccountDetails, or the lab's switch).
        sends: ``(lab time, recipients, counted against the daily quota)`` of every accepted send.
        refused: How many sends were refused (for GetSendStatistics' ``Rejects``).
    """

    production_access: bool = False
    sends: list[tuple[float, int, int]] = field(default_factory=list)
    refused: int = 0

    @property
    def max_24_hour_send(self) -> int:
        """The daily quota, recipients per 24 hours."""
        key = "production" if self.production_access else "sandbox"
        return int(value(f"ses.{key}_max_24_hour_send"))

    @property
    def max_send_rate(self) -> int:
        """The sending rate, recipients per second."""
        key = "production" if self.production_access else "sandbox"
        return int(value(f"ses.{key}_max_send_rate"))

    def sent_last_24_hours(self, now: float) -> int:
        """Recipients counted against the daily quota in the 24 hours up to ``now``."""
        return sum(daily for at, _, daily in self.sends if now - at < DAY_SECONDS)

    def sent_last_second(self, now: float) -> int:
        """Recipients (simulator included) sent in the second up to ``now``."""
        return sum(n for at, n, _ in self.sends if now - at < RATE_WINDOW_SECONDS)

    def check(
        self,
        now: float,
        recipients: list[str],
        *,
        sender: str,
        identities: set[str] | frozenset[str],
        region: str,
    ) -> None:
        """Refuse the send as SES would, or return (nothing recorded: :meth:`record` does that).

        Raises:
            SendingRefused: ``MessageRejected`` naming every unverified identity (the sender
                always; recipients too in the sandbox, the simulator excepted), or ``Throttling``
                when the daily quota or the sending rate would be passed.
        """
        failed: list[str] = []
        if sender and not is_verified(sender, identities):
            failed.append(address_of(sender))
        if not self.production_access:
            failed += [
                address_of(r)
                for r in recipients
                if scenario(r) is None and not is_verified(r, identities)
            ]
        if failed:
            self.refused += 1
            names = ", ".join(dict.fromkeys(failed))
            raise SendingRefused(
                "MessageRejected",
                "Email address is not verified. The following identities failed the check in "
                f"region {region.upper()}: {names}",
            )
        daily = sum(1 for r in recipients if scenario(r) is None)
        if daily and self.sent_last_24_hours(now) + daily > self.max_24_hour_send:
            self.refused += 1
            raise SendingRefused("Throttling", "Daily message quota exceeded.")
        recent = self.sent_last_second(now)
        if recent and recent + len(recipients) > self.max_send_rate:
            self.refused += 1
            raise SendingRefused("Throttling", "Maximum sending rate exceeded.")

    def record(self, now: float, recipients: list[str]) -> None:
        """Count an accepted send against the quotas."""
        daily = sum(1 for r in recipients if scenario(r) is None)
        self.sends.append((now, len(recipients), daily))
        # Older than a day counts for nothing: keep the list short in long labs.
        self.sends = [s for s in self.sends if now - s[0] < DAY_SECONDS]


# -- notifications -------------------------------------------------------------------------------
def iso(timestamp: float) -> str:
    """``2026-01-05T09:00:00.000Z`` (SES's timestamps)."""
    at = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class SentMail:
    """What a notification says about the mail it concerns.

    Attributes:
        message_id: The id SendEmail returned.
        source: The sender address.
        source_arn: The identity that allowed the send.
        account: The sending account.
        destination: Every recipient of the message.
        subject: Its subject.
        sent_at: Lab time of the send.
    """

    message_id: str
    source: str
    source_arn: str
    account: str
    destination: tuple[str, ...]
    subject: str
    sent_at: float


#: Notification types by what became of a recipient's copy, in the order SES sends them.
EVENTS_BY_STATUS: dict[str, tuple[str, ...]] = {
    "delivered": ("Delivery",),
    "bounced": ("Bounce",),
    "complained": ("Delivery", "Complaint"),
}


def _detail(kind: str, recipient: str, at: str) -> dict[str, Any]:
    feedback = f"{uuid.uuid4().hex}-000000"
    if kind == "Bounce":
        suppressed = scenario(recipient) == "suppressionlist"
        entry: dict[str, Any] = {"emailAddress": recipient, "action": "failed", "status": "5.1.1"}
        entry["diagnosticCode"] = (
            "Amazon SES has suppressed sending to this address because it has a recent history "
            "of bouncing as an invalid address."
            if suppressed
            else "smtp; 550 5.1.1 user unknown"
        )
        return {
            "bounceType": "Permanent",
            "bounceSubType": "Suppressed" if suppressed else "General",
            "bouncedRecipients": [entry],
            "timestamp": at,
            "feedbackId": feedback,
            "reportingMTA": "dns; amazonses.com"
            if suppressed
            else "dsn; a8-96.smtp-out.amazonses.com",
        }
    if kind == "Complaint":
        return {
            "complainedRecipients": [{"emailAddress": recipient}],
            "timestamp": at,
            "feedbackId": feedback,
            "userAgent": "Amazon SES Mailbox Simulator",
            "complaintFeedbackType": "abuse",
            "arrivalDate": at,
        }
    if kind == "Delivery":
        return {
            "timestamp": at,
            "processingTimeMillis": 412,
            "recipients": [recipient],
            "smtpResponse": "250 2.6.0 Message received",
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
        }
    return {}  # Send: an empty object


def notification(kind: str, mail: SentMail, recipient: str = "", *, event: bool = False) -> str:
    """The JSON SES publishes for ``kind`` (``Delivery``, ``Bounce``, ``Complaint``; ``Send``
    for event publishing) about ``recipient``'s copy of ``mail``.

    Args:
        event: Event publishing's form (``eventType``) rather than an identity notification's
            (``notificationType``).
    """
    import json

    at = iso(mail.sent_at)
    body: dict[str, Any] = {
        "eventType" if event else "notificationType": kind,
        "mail": {
            "timestamp": at,
            "source": mail.source,
            "sourceArn": mail.source_arn,
            "sendingAccountId": mail.account,
            "messageId": mail.message_id,
            "destination": list(mail.destination),
            "headersTruncated": False,
            "commonHeaders": {
                "from": [mail.source],
                "to": list(mail.destination),
                "messageId": mail.message_id,
                "subject": mail.subject,
            },
        },
        kind.lower(): _detail(kind, recipient, at),
    }
    return json.dumps(body)


__all__ = [
    "EVENTS_BY_STATUS",
    "SCENARIOS",
    "SIMULATOR_DOMAIN",
    "STATE_KEY",
    "STATUS_MARKS",
    "SendingAccount",
    "SendingRefused",
    "SentMail",
    "address_of",
    "is_verified",
    "notification",
    "scenario",
    "status_of",
]
