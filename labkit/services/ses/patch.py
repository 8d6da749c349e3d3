"""SES in the sandbox: every email SES accepts is delivered to the sandbox mailbox.

moto keeps what SES sends in a list on its backend (``sent_messages``) that no learner reads; AWS
delivers it to each recipient's inbox. Here each recipient (``To``, ``Cc`` and ``Bcc``) of
``SendEmail``, ``SendTemplatedEmail`` (the template rendered with its data) and
``SendRawEmail``, through the SES v1 API or SES v2's ``SendEmail`` (which moto answers with the
same backend), gets a :class:`~labkit.sandbox.mailbox.Message` in :func:`lab.mailbox
<labkit.sandbox.mailbox.mailbox>`, stamped with the lab clock. A message SES refuses (an
unverified sender, too many recipients) is refused as before and delivers nothing.
https://docs.aws.amazon.com/ses/latest/APIReference/API_SendEmail.html

So a Step Functions task that emails an approval link with its task token
(``arn:aws:states:::aws-sdk:ses:sendEmail.waitForTaskToken``) reaches a mailbox the learner can
open, copy the link from, and answer.

Left as moto has it: an account in the SES sandbox may, on AWS, only send to verified addresses
(or the mailbox simulator); moto checks the sender only, and so does the lab.
"""

from __future__ import annotations

import email
import json
from contextlib import ExitStack
from email.message import Message as MimeMessage
from email.utils import getaddresses, parseaddr
from typing import TYPE_CHECKING, Any

from moto.ses.models import SESBackend
from moto.ses.template import parse_template

from labkit.sandbox.mailbox import Message, mailbox

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox


def _recipients(destinations: Any) -> list[str]:
    """Every address of an SES ``Destination`` (a dict of lists) or a raw email's list."""
    if isinstance(destinations, dict):
        found = [
            a
            for key in ("ToAddresses", "CcAddresses", "BccAddresses")
            for a in destinations.get(key) or []
        ]
    else:
        found = list(destinations or [])
    # "Ana <ana@example.com>" is delivered to ana@example.com.
    return [parseaddr(str(a))[1] or str(a) for a in found]


def _as_text(value: Any) -> Any:
    """Template data with scalars as the text a template shows (moto's renderer takes strings
    only; SES renders ``{{amount}}`` of ``900`` as ``900``)."""
    if isinstance(value, dict):
        return {k: _as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_text(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def _text_of(raw: MimeMessage) -> str:
    """The plain-text part of a MIME message (the HTML part when there is no text)."""
    parts = list(raw.walk()) if raw.is_multipart() else [raw]
    for wanted in ("text/plain", "text/html"):
        for part in parts:
            if part.get_content_type() == wanted:
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    charset = part.get_content_charset() or "utf-8"
                    return payload.decode(charset, "replace")
                return str(part.get_payload())
    return ""


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Deliver what moto's SES sends to the sandbox mailbox (undone by ``stack``)."""

    def deliver(backend: SESBackend, source: str, to: list[str], subject: str, body: str) -> None:
        sender = parseaddr(source)[1] or source
        # The identity that allowed it: the address itself, or its verified domain.
        identity = sender if sender in backend.email_identities else sender.split("@", 1)[-1]
        arn = f"arn:aws:ses:{backend.region_name}:{backend.account_id}:identity/{identity}"
        box, now = mailbox(sandbox), sandbox.clock.now
        for address in to:
            box.deliver(Message(address, subject, body, now, sender, "email", arn))

    original_send = SESBackend.send_email
    original_templated = SESBackend.send_templated_email
    original_raw = SESBackend.send_raw_email

    def send_email(
        self: SESBackend, source: str, subject: str, body: str, destinations: Any
    ) -> Any:
        message = original_send(self, source, subject, body, destinations)
        deliver(self, source, _recipients(destinations), str(subject or ""), str(body or ""))
        return message

    def send_templated_email(
        self: SESBackend, source: str, template: str, template_data: str, destinations: Any
    ) -> Any:
        message = original_templated(self, source, template, template_data, destinations)
        info = self.templates.get(template) or {}
        try:
            data = _as_text(json.loads(template_data or "{}"))
        except ValueError:
            data = {}
        subject = parse_template(str(info.get("subject_part") or ""), data)
        body = parse_template(str(info.get("text_part") or info.get("html_part") or ""), data)
        deliver(self, source, _recipients(destinations), subject, body)
        return message

    def send_raw_email(
        self: SESBackend, source: str, destinations: list[str], raw_data: str
    ) -> Any:
        given = list(destinations or [])
        message = original_raw(self, source, destinations, raw_data)
        parsed = email.message_from_string(raw_data)
        headers = [parsed[h] for h in ("To", "Cc", "Bcc") if h in parsed]
        to = _recipients(given) + [a for _, a in getaddresses(headers) if a]
        unique = list(dict.fromkeys(to))
        sender = source or parseaddr(str(parsed["From"] or ""))[1]
        deliver(self, sender, unique, str(parsed["Subject"] or ""), _text_of(parsed))
        return message

    for name, func in (
        ("send_email", send_email),
        ("send_templated_email", send_templated_email),
        ("send_raw_email", send_raw_email),
    ):
        original = SESBackend.__dict__[name]
        setattr(SESBackend, name, func)
        stack.callback(setattr, SESBackend, name, original)
