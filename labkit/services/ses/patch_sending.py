"""SES's sandbox in the lab: verified recipients only, the sending quota and rate, the mailbox
simulator's notifications, and production access as a switch.

moto checks only that the sender is verified, in words of its own, counts every recipient against
a quota it never enforces, and publishes feedback only for a *domain* identity, to whichever
simulator word appears anywhere in an address (``success-team@example.com`` counts as a
success). Here, around moto's send operations (SES v1 ``SendEmail``, ``SendTemplatedEmail``,
``SendRawEmail``, and v2 ``SendEmail``, which moto answers with v1's backend):

- before the send, :meth:`~labkit.services.ses.sim_sending.SendingAccount.check` refuses it as
  AWS does: ``MessageRejected`` "Email address is not verified. The following identities failed
  the check in region US-EAST-1: ..." naming every unverified sender and (in the sandbox)
  recipient, ``Throttling`` "Daily message quota exceeded." and "Maximum sending rate exceeded."
  on the lab clock (https://docs.aws.amazon.com/ses/latest/dg/troubleshoot-error-messages.html,
  https://docs.aws.amazon.com/ses/latest/dg/manage-sending-quotas-errors.html);
- after it, each recipient's copy (see :mod:`labkit.services.ses.patch`) leads to the
  notifications SES publishes: to the SNS topics ``SetIdentityNotificationTopic`` set on the
  sending address (else its domain), and to a named configuration set's SNS event destination;
  with feedback forwarding on (the default), bounces and complaints are also mailed back to the
  sender (https://docs.aws.amazon.com/ses/latest/dg/monitor-sending-activity-using-notifications-email.html);
- ``GetSendQuota`` and v2 ``GetAccount`` report the quotas and what was sent in the past 24 hours
  on the lab clock; v2 ``PutAccountDetails`` with ``ProductionAccessEnabled`` takes the account
  out of the sandbox. On AWS a person reviews that request within about a day; the lab grants it
  at once, and :func:`set_production_access` is the same switch for a lesson.

Not simulated: sending authorization policies, the account-level suppression list, bounce and
complaint rates pausing the account, the 10 MB message size.
"""

from __future__ import annotations

import email
import inspect
import json
import re
import warnings
from contextlib import ExitStack
from email.utils import getaddresses
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import ServiceException
from moto.ses.exceptions import ConfigurationSetDoesNotExist, MessageRejectedError
from moto.ses.models import SESBackend, SESQuota, ses_backends
from moto.sesv2.responses import SESV2Response
from moto.sns.models import sns_backends

from labkit.errors import SandboxNotRunningError
from labkit.sandbox.mailbox import Message, mailbox
from labkit.services.ses.patch import (
    destination_addresses,
    identity_arn,
    render_template,
    requested,
)
from labkit.services.ses.sim_sending import (
    EVENTS_BY_STATUS,
    STATE_KEY,
    SendingAccount,
    SendingRefused,
    SentMail,
    address_of,
    notification,
    status_of,
)

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox


class ThrottlingError(ServiceException):
    """SES's answer when a quota is reached (``Throttling``, HTTP 400)."""

    code = "Throttling"


def account(backend: SESBackend) -> SendingAccount:
    """The sending state of ``backend``'s account and Region (created on first use)."""
    state = backend.__dict__.get(STATE_KEY)
    if not isinstance(state, SendingAccount):
        state = SendingAccount()
        backend.__dict__[STATE_KEY] = state
    return state


def set_production_access(
    enabled: bool = True, *, region: str | None = None, sandbox: Sandbox | None = None
) -> None:
    """Take the lab's SES account out of the sandbox (``enabled=False``: back in).

    Args:
        enabled: Production access on or off.
        region: The Region (SES's sandbox is per Region); the sandbox's Region by default.
        sandbox: The running sandbox (found when ``None``).
    """
    from moto.core.models import DEFAULT_ACCOUNT_ID

    from labkit.sandbox.session import running_sandbox

    sandbox = sandbox or running_sandbox()
    if sandbox is None:
        raise SandboxNotRunningError()
    backend = ses_backends[DEFAULT_ACCOUNT_ID][region or sandbox.region]
    account(backend).production_access = bool(enabled)


def _refuse(exc: SendingRefused) -> ServiceException:
    if exc.code == "Throttling":
        return ThrottlingError(str(exc.message))
    return MessageRejectedError(str(exc.message))


def _publish(topic_arn: str, message: str) -> None:
    """Publish to an SNS topic by ARN; a topic that is gone loses the notification, as on AWS."""
    parts = topic_arn.split(":")
    if len(parts) < 6:
        return
    region, account_id = parts[3], parts[4]
    backend = sns_backends[account_id][region]
    if topic_arn not in backend.topics:
        return
    backend.publish(message, arn=topic_arn)


def _identity_topics(backend: SESBackend, sender: str) -> dict[str, Any]:
    """Notification settings of the identity that sends: the address if it has any, else its
    domain (an address's settings override its domain's)."""
    topics: dict[str, dict[str, Any]] = backend.sns_topics
    bare = address_of(sender)
    for identity in (bare, bare.lower(), bare.rpartition("@")[2].lower()):
        if identity in topics:
            return topics[identity]
    return {}


def _event_topic(backend: SESBackend, name: str, kind: str) -> str | None:
    """The SNS topic of configuration set ``name``'s event destination for ``kind`` events."""
    destination = backend.config_set_event_destination.get(name) or {}
    if not destination or str(destination.get("Enabled", "true")).lower() == "false":
        return None
    types = destination.get("MatchingEventTypes") or []
    if isinstance(types, dict):
        types = list(types.values())
    if kind.lower() not in {str(t).lower() for t in types}:
        return None
    sns = destination.get("SNSDestination") or {}
    topic = sns.get("TopicARN") if isinstance(sns, dict) else None
    return str(topic) if topic else None


def _forward(sandbox: Sandbox, kind: str, mail: SentMail, recipient: str) -> None:
    """Mail a bounce or complaint back to the sender (feedback forwarding)."""
    if kind == "Bounce":
        sender, subject = "MAILER-DAEMON@amazonses.com", "Delivery Status Notification (Failure)"
        text = f"An error occurred while trying to deliver the mail to {recipient}: 550 5.1.1."
    else:
        sender, subject = "complaints@email-abuse.amazonses.com", f"Complaint: {mail.subject}"
        text = f"{recipient} marked your message {mail.message_id} as spam."
    box = mailbox(sandbox)
    box.deliver(Message(mail.source, subject, text, sandbox.clock.now, sender, "email", ""))


def notify(sandbox: Sandbox, backend: SESBackend, mail: SentMail, configuration_set: str) -> None:
    """Publish what SES publishes about each recipient's copy of ``mail``."""
    topics = _identity_topics(backend, mail.source)
    forwarding = bool(topics.get("feedback_forwarding_enabled", True))
    if configuration_set:
        topic = _event_topic(backend, configuration_set, "Send")
        if topic:
            _publish(topic, notification("Send", mail, event=True))
    for recipient in mail.destination:
        for kind in EVENTS_BY_STATUS[status_of(recipient)]:
            topic = topics.get(kind)
            if topic:
                _publish(str(topic), notification(kind, mail, recipient))
            if kind != "Delivery" and forwarding:
                _forward(sandbox, kind, mail, recipient)
            event_topic = (
                _event_topic(backend, configuration_set, kind) if configuration_set else None
            )
            if event_topic:
                _publish(event_topic, notification(kind, mail, recipient, event=True))


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Enforce the SES sandbox's rules around moto's sends (undone by ``stack``)."""

    def guarded(send: Any, recipients_of: Any, sender_of: Any, subject_of: Any) -> Any:
        signature = inspect.signature(send)

        def wrapper(self: SESBackend, *given: Any, **named: Any) -> Any:
            # moto's v2 responses call the v1 backend with keywords, its v1 responses by position.
            args = signature.bind(self, *given, **named).args[1:]
            recipients = [address_of(r) for r in recipients_of(self, *args)]
            sender = sender_of(self, *args)
            configuration_set = requested()["configuration_set"]
            if configuration_set and configuration_set not in self.config_sets:
                raise ConfigurationSetDoesNotExist(
                    f"Configuration set <{configuration_set}> does not exist."
                )
            state, now = account(self), sandbox.clock.timestamp
            try:
                state.check(
                    now,
                    recipients,
                    sender=sender,
                    identities=frozenset(self.email_identities),
                    region=self.region_name,
                )
            except SendingRefused as exc:
                raise _refuse(exc) from None
            message = send(self, *args)
            state.record(now, recipients)
            bare = address_of(sender)
            ids = getattr(message, "ids", None)
            # A bulk send is one message per destination, each with its own id.
            groups = (
                [
                    (str(i), [address_of(r) for r in destination_addresses(d["Destination"])])
                    for i, d in zip(ids, args[3], strict=False)
                ]
                if ids
                else [(str(message.id), recipients)]
            )
            for message_id, to in groups:
                mail = SentMail(
                    message_id=message_id,
                    source=bare,
                    source_arn=identity_arn(self, bare),
                    account=str(self.account_id),
                    destination=tuple(dict.fromkeys(to)),
                    subject=subject_of(self, *args),
                    sent_at=now,
                )
                notify(sandbox, self, mail, configuration_set)
            return message

        return wrapper

    def raw_recipients(self: SESBackend, source: Any, destinations: Any, raw: str) -> list[str]:
        parsed = email.message_from_string(raw)
        headers = [parsed[h] for h in ("To", "Cc", "Bcc") if h in parsed]
        return list(destinations or []) + [a for _, a in getaddresses(headers) if a]

    def raw_sender(self: SESBackend, source: Any, destinations: Any, raw: str) -> str:
        return str(source or email.message_from_string(raw)["From"] or "")

    def raw_subject(self: SESBackend, source: Any, destinations: Any, raw: str) -> str:
        return str(email.message_from_string(raw)["Subject"] or "")

    def templated_subject(self: SESBackend, source: Any, template: str, data: Any, *_: Any) -> str:
        return render_template(self, template, str(data or "{}"))[0]

    wrappers = {
        "send_email": guarded(
            SESBackend.send_email,
            lambda self, source, subject, body, destinations: destination_addresses(destinations),
            lambda self, source, *rest: str(source or ""),
            lambda self, source, subject, *rest: str(subject or ""),
        ),
        "send_templated_email": guarded(
            SESBackend.send_templated_email,
            lambda self, source, template, data, destinations: destination_addresses(destinations),
            lambda self, source, *rest: str(source or ""),
            templated_subject,
        ),
        "send_raw_email": guarded(
            SESBackend.send_raw_email, raw_recipients, raw_sender, raw_subject
        ),
        "send_bulk_templated_email": guarded(
            SESBackend.send_bulk_templated_email,
            lambda self, source, template, data, destinations: [
                a for d in destinations for a in destination_addresses(d.get("Destination") or {})
            ],
            lambda self, source, *rest: str(source or ""),
            templated_subject,
        ),
    }
    for name, func in wrappers.items():
        original = SESBackend.__dict__[name]
        setattr(SESBackend, name, func)
        stack.callback(setattr, SESBackend, name, original)

    # moto's own feedback (by domain, on any address containing "bounce") is replaced by notify.
    process = SESBackend.__dict__["__process_sns_feedback__"]
    SESBackend.__process_sns_feedback__ = lambda self, source, destinations: None  # type: ignore[method-assign]
    stack.callback(setattr, SESBackend, "__process_sns_feedback__", process)

    original_quota = SESBackend.__dict__["get_send_quota"]

    def get_send_quota(self: SESBackend) -> SESQuota:
        state = account(self)
        quota = SESQuota(state.sent_last_24_hours(sandbox.clock.timestamp))
        quota.max24_hour_send = state.max_24_hour_send
        quota.max_send_rate = state.max_send_rate
        return quota

    SESBackend.get_send_quota = get_send_quota  # type: ignore[method-assign]
    stack.callback(setattr, SESBackend, "get_send_quota", original_quota)

    # SES's service model has no Throttling shape (it is a common error), so moto warns on
    # each refusal it serialises; the code and message reach the caller all the same.
    quiet = ("ignore", re.compile(r"Exception\(ThrottlingError\)"), UserWarning, None, 0)
    warnings.filters.insert(0, quiet)  # type: ignore[attr-defined]
    warnings._filters_mutated()  # type: ignore[attr-defined]
    stack.callback(_unfilter, quiet)

    _install_account_api(sandbox, stack)


def _unfilter(entry: Any) -> None:
    if entry in warnings.filters:
        warnings.filters.remove(entry)  # type: ignore[attr-defined]
        warnings._filters_mutated()  # type: ignore[attr-defined]


def _install_account_api(sandbox: Sandbox, stack: ExitStack) -> None:
    """SES v2 ``GetAccount`` and ``PutAccountDetails`` (moto has neither)."""

    def core(response: SESV2Response) -> SESBackend:
        return ses_backends[response.current_account][response.region]

    def get_account(self: SESV2Response) -> str:
        backend = core(self)
        state = account(backend)
        details = backend.__dict__.get("labkit_account_details")
        body: dict[str, Any] = {
            "DedicatedIpAutoWarmupEnabled": False,
            "EnforcementStatus": "HEALTHY",
            "ProductionAccessEnabled": state.production_access,
            "SendingEnabled": True,
            "SendQuota": {
                "Max24HourSend": float(state.max_24_hour_send),
                "MaxSendRate": float(state.max_send_rate),
                "SentLast24Hours": float(state.sent_last_24_hours(sandbox.clock.timestamp)),
            },
        }
        if details:
            body["Details"] = details
        return json.dumps(body)

    def put_account_details(self: SESV2Response) -> str:
        params = json.loads(self.body or "{}")
        backend = core(self)
        details = {
            k: params[k]
            for k in ("MailType", "WebsiteURL", "ContactLanguage", "UseCaseDescription")
            if k in params
        }
        if "AdditionalContactEmailAddresses" in params:
            details["AdditionalContactEmailAddresses"] = params["AdditionalContactEmailAddresses"]
        if params.get("ProductionAccessEnabled"):
            # AWS Support reviews the request (about a day); the lab grants it at once.
            details["ReviewDetails"] = {"Status": "GRANTED", "CaseId": "labkit-sandbox"}
            account(backend).production_access = True
        backend.__dict__["labkit_account_details"] = details
        return "{}"

    for name, func in (("get_account", get_account), ("put_account_details", put_account_details)):
        before = SESV2Response.__dict__.get(name)  # a later moto may have its own
        setattr(SESV2Response, name, func)
        if before is None:
            stack.callback(delattr, SESV2Response, name)
        else:
            stack.callback(setattr, SESV2Response, name, before)


__all__ = ["ThrottlingError", "account", "install", "notify", "set_production_access"]
