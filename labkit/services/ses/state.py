"""What SES holds now: identities and where their notifications go, configuration sets and their
event destinations, and each Region's sending account. Read-only, for views, checks and the map.

:func:`ses_snapshot` reads every Region of the sandbox's account that has an SES backend (none is
created by asking). An identity's ``topics`` are the SNS topics ``SetIdentityNotificationTopic``
set (by notification type); a configuration set's destinations name their SNS topic, so a reader
can draw SES → SNS wiring without knowing moto.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labkit.sandbox import backends
from labkit.services.ses.sim_sending import STATE_KEY, SendingAccount

#: Notification types an identity can send to SNS.
NOTIFICATION_TYPES = ("Bounce", "Complaint", "Delivery")


@dataclass(frozen=True)
class IdentityInfo:
    """One verified identity.

    Attributes:
        name: The address or domain.
        kind: ``EmailAddress`` or ``Domain``.
        region: Its Region (identities are per Region).
        arn: ``arn:aws:ses:REGION:ACCOUNT:identity/NAME``.
        topics: SNS topic ARN by notification type (``Bounce``, ``Complaint``, ``Delivery``).
        forwarding: Whether bounces and complaints are also mailed back to the sender.
    """

    name: str
    kind: str
    region: str
    arn: str
    topics: dict[str, str]
    forwarding: bool


@dataclass(frozen=True)
class EventDestinationInfo:
    """A configuration set's event destination.

    Attributes:
        name: Its name.
        enabled: Whether it publishes.
        event_types: The event types it matches (lower case, as the API spells them).
        topic: Its SNS topic ARN (``""`` for a destination of another kind).
    """

    name: str
    enabled: bool
    event_types: tuple[str, ...]
    topic: str


@dataclass(frozen=True)
class ConfigurationSetInfo:
    """A configuration set and its event destination (moto keeps one per set)."""

    name: str
    region: str
    destinations: tuple[EventDestinationInfo, ...]


@dataclass(frozen=True)
class SendingInfo:
    """One Region's sending account.

    Attributes:
        region: The Region.
        production_access: Out of the sandbox.
        max_24_hour_send: The daily quota (recipients).
        max_send_rate: The sending rate (recipients per second).
        sent_last_24_hours: Recipients counted against the daily quota in the past 24 hours.
        refused: Sends refused so far (unverified identities, quotas).
    """

    region: str
    production_access: bool
    max_24_hour_send: int
    max_send_rate: int
    sent_last_24_hours: int
    refused: int


@dataclass(frozen=True)
class SesSnapshot:
    """Everything :func:`ses_snapshot` read."""

    identities: tuple[IdentityInfo, ...]
    configuration_sets: tuple[ConfigurationSetInfo, ...]
    accounts: tuple[SendingInfo, ...]


def _destination(raw: dict[str, Any]) -> EventDestinationInfo:
    types = raw.get("MatchingEventTypes") or []
    if isinstance(types, dict):
        types = list(types.values())
    sns = raw.get("SNSDestination") or {}
    return EventDestinationInfo(
        name=str(raw.get("Name") or ""),
        enabled=str(raw.get("Enabled", "true")).lower() != "false",
        event_types=tuple(str(t).lower() for t in types),
        topic=str(sns.get("TopicARN") or "") if isinstance(sns, dict) else "",
    )


def ses_snapshot(now: float = 0.0) -> SesSnapshot:
    """What SES holds in every Region of the running sandbox's account.

    Args:
        now: The lab clock (epoch seconds), for what was sent in the past 24 hours.
    """
    identities: list[IdentityInfo] = []
    sets: list[ConfigurationSetInfo] = []
    accounts: list[SendingInfo] = []
    for region, backend in sorted(backends.existing("ses"), key=lambda found: found[0]):
        topics: dict[str, dict[str, Any]] = backend.sns_topics
        for name, identity in backend.email_identities.items():
            settings = topics.get(name, {})
            identities.append(
                IdentityInfo(
                    name=name,
                    kind="EmailAddress" if identity.identity_type == "EMAIL_ADDRESS" else "Domain",
                    region=region,
                    arn=f"arn:aws:ses:{region}:{backend.account_id}:identity/{name}",
                    topics={t: str(settings[t]) for t in NOTIFICATION_TYPES if settings.get(t)},
                    forwarding=bool(settings.get("feedback_forwarding_enabled", True)),
                )
            )
        for name in backend.config_sets:
            raw = backend.config_set_event_destination.get(name)
            sets.append(
                ConfigurationSetInfo(
                    name=name,
                    region=region,
                    destinations=(_destination(raw),) if raw else (),
                )
            )
        state = backend.__dict__.get(STATE_KEY)
        account = state if isinstance(state, SendingAccount) else SendingAccount()
        accounts.append(
            SendingInfo(
                region=region,
                production_access=account.production_access,
                max_24_hour_send=account.max_24_hour_send,
                max_send_rate=account.max_send_rate,
                sent_last_24_hours=account.sent_last_24_hours(now),
                refused=account.refused,
            )
        )
    return SesSnapshot(tuple(identities), tuple(sets), tuple(accounts))


__all__ = [
    "ConfigurationSetInfo",
    "EventDestinationInfo",
    "IdentityInfo",
    "SendingInfo",
    "SesSnapshot",
    "ses_snapshot",
]
