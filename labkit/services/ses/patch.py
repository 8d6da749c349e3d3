"""SES in the sandbox: every email SES accepts is delivered to the sandbox mailbox.

moto keeps what SES sends in a list on its backend (``sent_messages``) that no learner reads; AWS
delivers it to each recipient's inbox. Here each recipient (``To``, ``Cc`` and ``Bcc``) of
``SendEmail``, ``SendTemplatedEmail`` and ``SendBulkTemplatedEmail`` (the template rendered with
each destination's data) and ``SendRawEmail``, through the SES v1 API or SES v2's ``SendEmail``
(which moto answers with the same backend), gets a :class:`~labkit.sandbox.mailbox.Message` in
:func:`lab.mailbox <labkit.sandbox.mailbox.mailbox>`, stamped with the lab clock. A message SES
refuses (an unverified identity, a quota, too many recipients) delivers nothing.
https://docs.aws.amazon.com/ses/latest/APIReference/API_SendEmail.html

So a Step Functions task that emails an approval link with its task token
(``arn:aws:states:::aws-sdk:ses:sendEmail.waitForTaskToken``) reaches a mailbox the learner can
open, copy the link from, and answer.

Each copy keeps the text and the HTML body the request carried (moto keeps one of them), the
message id SES returned, and what became of it: ``delivered``, or for the mailbox simulator's
addresses ``bounced`` or ``complained`` (:mod:`labkit.services.ses.sim_sending`). The SES sandbox's
rules, quotas and notifications are :mod:`labkit.services.ses.patch_sending`, wrapped around this.
"""

from __future__ import annotations

import contextvars
import email
import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from email.message import Message as MimeMessage
from email.utils import getaddresses, parseaddr
from typing import TYPE_CHECKING, Any

from moto.ses.models import SESBackend
from moto.ses.responses import EmailResponse
from moto.ses.template import parse_template
from moto.sesv2.responses import SESV2Response

from labkit.sandbox.mailbox import Message, mailbox
from labkit.services.ses.sim_sending import scenario, status_of

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox


#: What the request being answered asked for beyond what moto hands its backend: both bodies
#: (moto keeps the HTML one when there are two) and the configuration set.
_REQUEST: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "labkit_ses_request", default=None
)


@contextmanager
def request_content(text: str, html: str, configuration_set: str) -> Iterator[None]:
    """Let the backend see the request's text and HTML bodies and configuration set."""
    token = _REQUEST.set({"text": text, "html": html, "configuration_set": configuration_set})
    try:
        yield
    finally:
        _REQUEST.reset(token)


def requested() -> dict[str, str]:
    """The request's bodies and configuration set (empty strings outside a request)."""
    return _REQUEST.get() or {"text": "", "html": "", "configuration_set": ""}


def destination_addresses(destinations: Any) -> list[str]:
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


def _part(raw: MimeMessage, wanted: str) -> str | None:
    """The first ``wanted`` part (``text/plain``, ``text/html``) of a MIME message, decoded."""
    parts = list(raw.walk()) if raw.is_multipart() else [raw]
    for part in parts:
        if part.get_content_type() == wanted:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                charset = part.get_content_charset() or "utf-8"
                return payload.decode(charset, "replace")
            return str(part.get_payload())
    return None


def _text_of(raw: MimeMessage) -> str:
    """The plain-text part of a MIME message (the HTML part when there is no text)."""
    for wanted in ("text/plain", "text/html"):
        found = _part(raw, wanted)
        if found is not None:
            return found
    return ""


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Deliver what moto's SES sends to the sandbox mailbox (undone by ``stack``)."""

    def deliver(
        backend: SESBackend,
        source: str,
        to: list[str],
        subject: str,
        body: str,
        *,
        html: str = "",
        message_id: str = "",
    ) -> None:
        sender = parseaddr(source)[1] or source
        arn = identity_arn(backend, sender)
        box, now = mailbox(sandbox), sandbox.clock.now
        for address in to:
            box.deliver(
                Message(
                    address,
                    subject,
                    body,
                    now,
                    sender,
                    "email",
                    arn,
                    html,
                    status_of(address),
                    message_id,
                )
            )
            if scenario(address) == "ooto":
                # The recipient's provider answers the sender (RFC 3834 auto-reply).
                reply = f"I am out of the office and will reply when I am back.\n\n> {subject}"
                box.deliver(
                    Message(sender, f"Out of office: {subject}", reply, now, address, "email", "")
                )

    original_send = SESBackend.send_email
    original_templated = SESBackend.send_templated_email
    original_raw = SESBackend.send_raw_email
    original_bulk = SESBackend.send_bulk_templated_email

    def send_email(
        self: SESBackend, source: str, subject: str, body: str, destinations: Any
    ) -> Any:
        message = original_send(self, source, subject, body, destinations)
        asked = requested()
        text = asked["text"] or ("" if asked["html"] else str(body or ""))
        deliver(
            self,
            source,
            destination_addresses(destinations),
            str(subject or ""),
            text,
            html=asked["html"],
            message_id=str(message.id),
        )
        return message

    def send_templated_email(
        self: SESBackend, source: str, template: str, template_data: str, destinations: Any
    ) -> Any:
        message = original_templated(self, source, template, template_data, destinations)
        subject, body, html = render_template(self, template, template_data)
        deliver(
            self,
            source,
            destination_addresses(destinations),
            subject,
            body,
            html=html,
            message_id=str(message.id),
        )
        return message

    def send_bulk_templated_email(
        self: SESBackend, source: str, template: str, template_data: str, destinations: Any
    ) -> Any:
        message = original_bulk(self, source, template, template_data, destinations)
        for entry, message_id in zip(destinations, message.ids, strict=False):
            data = bulk_data(template_data, entry.get("ReplacementTemplateData"))
            subject, body, html = render_template(self, template, data)
            to = destination_addresses(entry.get("Destination") or {})
            deliver(self, source, to, subject, body, html=html, message_id=str(message_id))
        return message

    def send_raw_email(
        self: SESBackend, source: str, destinations: list[str], raw_data: str
    ) -> Any:
        given = list(destinations or [])
        message = original_raw(self, source, destinations, raw_data)
        parsed = email.message_from_string(raw_data)
        headers = [parsed[h] for h in ("To", "Cc", "Bcc") if h in parsed]
        to = destination_addresses(given) + [a for _, a in getaddresses(headers) if a]
        unique = list(dict.fromkeys(to))
        sender = source or parseaddr(str(parsed["From"] or ""))[1]
        text = _part(parsed, "text/plain")
        html = _part(parsed, "text/html") or ""
        deliver(
            self,
            sender,
            unique,
            str(parsed["Subject"] or ""),
            text if text is not None else ("" if html else _text_of(parsed)),
            html=html,
            message_id=str(message.id),
        )
        return message

    _capture_requests(stack)
    for name, func in (
        ("send_email", send_email),
        ("send_templated_email", send_templated_email),
        ("send_raw_email", send_raw_email),
        ("send_bulk_templated_email", send_bulk_templated_email),
    ):
        original = SESBackend.__dict__[name]
        setattr(SESBackend, name, func)
        stack.callback(setattr, SESBackend, name, original)


def render_template(backend: SESBackend, template: str, template_data: str) -> tuple[str, str, str]:
    """A stored template's subject, text and HTML rendered with ``template_data`` (JSON)."""
    info = backend.templates.get(template) or {}
    try:
        data = _as_text(json.loads(template_data or "{}"))
    except ValueError:
        data = {}
    return (
        parse_template(str(info.get("subject_part") or ""), data),
        parse_template(str(info.get("text_part") or ""), data),
        parse_template(str(info.get("html_part") or ""), data),
    )


def bulk_data(default: str, replacement: str | None) -> str:
    """One destination's template data: its replacement values over the default ones."""
    try:
        merged = dict(json.loads(default or "{}"))
        merged.update(json.loads(replacement or "{}"))
    except (ValueError, TypeError):
        return replacement or default
    return json.dumps(merged)


def identity_arn(backend: SESBackend, sender: str) -> str:
    """The ARN of the identity that allows ``sender``: the address itself when it is verified,
    else its domain."""
    identity = sender if sender in backend.email_identities else sender.split("@", 1)[-1]
    return f"arn:aws:ses:{backend.region_name}:{backend.account_id}:identity/{identity}"


def _capture_requests(stack: ExitStack) -> None:
    """Wrap the v1 and v2 ``SendEmail`` handlers so the backend sees both bodies."""
    original_v1 = EmailResponse.__dict__["send_email"]
    original_v2 = SESV2Response.__dict__["send_email"]

    def send_email_v1(self: EmailResponse) -> Any:
        with request_content(
            str(self._get_param("Message.Body.Text.Data") or ""),
            str(self._get_param("Message.Body.Html.Data") or ""),
            str(self._get_param("ConfigurationSetName") or ""),
        ):
            return original_v1(self)

    def send_email_v2(self: SESV2Response) -> Any:
        try:
            params = json.loads(self.body or "{}")
        except ValueError:
            params = {}
        body = ((params.get("Content") or {}).get("Simple") or {}).get("Body") or {}
        with request_content(
            str((body.get("Text") or {}).get("Data") or ""),
            str((body.get("Html") or {}).get("Data") or ""),
            str(params.get("ConfigurationSetName") or ""),
        ):
            return original_v2(self)

    def send_raw_v1(self: EmailResponse) -> Any:
        with request_content("", "", str(self._get_param("ConfigurationSetName") or "")):
            return original_raw_v1(self)

    def send_templated_v1(self: EmailResponse) -> Any:
        with request_content("", "", str(self._get_param("ConfigurationSetName") or "")):
            return original_templated_v1(self)

    def send_bulk_v1(self: EmailResponse) -> Any:
        with request_content("", "", str(self._get_param("ConfigurationSetName") or "")):
            return original_bulk_v1(self)

    original_raw_v1 = EmailResponse.__dict__["send_raw_email"]
    original_templated_v1 = EmailResponse.__dict__["send_templated_email"]
    original_bulk_v1 = EmailResponse.__dict__["send_bulk_templated_email"]
    for cls, name, func, original in (
        (EmailResponse, "send_email", send_email_v1, original_v1),
        (SESV2Response, "send_email", send_email_v2, original_v2),
        (EmailResponse, "send_raw_email", send_raw_v1, original_raw_v1),
        (EmailResponse, "send_templated_email", send_templated_v1, original_templated_v1),
        (EmailResponse, "send_bulk_templated_email", send_bulk_v1, original_bulk_v1),
    ):
        setattr(cls, name, func)
        stack.callback(setattr, cls, name, original)
