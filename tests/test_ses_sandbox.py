"""The SES sandbox in the lab: verified recipients only, the daily quota and the sending rate on
the lab clock, the mailbox simulator with its notifications, and production access."""

from __future__ import annotations

import json
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from typing import Any

import pytest
from botocore.exceptions import ClientError

from labkit.facts import value
from labkit.lab import Lab
from labkit.services.ses.patch_sending import set_production_access
from labkit.services.ses.sim_sending import SendingAccount, scenario, status_of

SHOP = "shop@example.com"


def _send(lab: Lab, *to: str, source: str = SHOP, **extra: Any) -> dict[str, Any]:
    return lab.client("ses").send_email(  # type: ignore[no-any-return]
        Source=source,
        Destination={"ToAddresses": list(to)},
        Message={"Subject": {"Data": "Welcome"}, "Body": {"Text": {"Data": "Hello"}}},
        **extra,
    )


def _refusal(lab: Lab, *to: str, source: str = SHOP) -> dict[str, str]:
    with pytest.raises(ClientError) as refused:
        _send(lab, *to, source=source)
    return refused.value.response["Error"]  # type: ignore[no-any-return]


def _queue_on_topic(lab: Lab, name: str) -> tuple[str, str]:
    """A topic with a queue subscribed (raw delivery): ``(topic ARN, queue URL)``."""
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name=name)["TopicArn"]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
    )
    return topic, url


def _received(lab: Lab, url: str) -> list[dict[str, Any]]:
    got = lab.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in got.get("Messages", [])]


# -- verified identities -------------------------------------------------------------------------
def test_an_unverified_recipient_is_refused_in_the_words_of_aws(lab: Lab) -> None:
    lab.client("ses").verify_email_identity(EmailAddress=SHOP)
    error = _refusal(lab, "ana@example.org", "bob@example.net")
    assert error["Code"] == "MessageRejected"
    assert error["Message"] == (
        "Email address is not verified. The following identities failed the check in region "
        "US-EAST-1: ana@example.org, bob@example.net"
    )
    assert len(lab.mailbox) == 0


def test_an_unverified_sender_is_named_first_and_nothing_is_sent(lab: Lab) -> None:
    lab.client("ses").verify_email_identity(EmailAddress="ana@example.org")
    error = _refusal(lab, "ana@example.org", source="Shop <nobody@example.com>")
    assert error["Message"].endswith("in region US-EAST-1: nobody@example.com")
    assert lab.client("ses").get_send_quota()["SentLast24Hours"] == 0


@pytest.mark.parametrize(
    "verify",
    [
        lambda ses: ses.verify_email_identity(EmailAddress="ana@example.org"),
        lambda ses: ses.verify_domain_identity(Domain="example.org"),
        lambda ses: ses.verify_email_address(EmailAddress="ana@example.org"),
    ],
    ids=["address", "domain", "legacy-address"],
)
def test_a_recipient_verified_any_way_aws_allows_gets_the_mail(lab: Lab, verify: Any) -> None:
    ses = lab.client("ses")
    ses.verify_email_identity(EmailAddress=SHOP)
    verify(ses)
    _send(lab, "Ana <ana@example.org>")
    mail = lab.mailbox.latest("ana@example.org")
    assert mail is not None and mail.status == "delivered" and mail.message_id


def test_the_simulator_needs_no_verification_and_spares_the_daily_quota(lab: Lab) -> None:
    ses = lab.client("ses")
    ses.verify_email_identity(EmailAddress=SHOP)
    _send(lab, "success@simulator.amazonses.com")
    assert ses.get_send_quota()["SentLast24Hours"] == 0
    assert [m.status for m in lab.mailbox] == ["delivered"]


def test_production_access_lifts_the_recipient_rule_and_raises_the_quotas(lab: Lab) -> None:
    ses, v2 = lab.client("ses"), lab.client("sesv2")
    ses.verify_email_identity(EmailAddress=SHOP)
    assert v2.get_account()["ProductionAccessEnabled"] is False
    v2.put_account_details(
        MailType="TRANSACTIONAL",
        WebsiteURL="https://shop.example.com",
        UseCaseDescription="Welcome emails to customers who sign up",
        ProductionAccessEnabled=True,
    )
    account = v2.get_account()
    assert account["ProductionAccessEnabled"] is True
    assert account["Details"]["ReviewDetails"]["Status"] == "GRANTED"
    quota = ses.get_send_quota()
    assert quota["Max24HourSend"] == value("ses.production_max_24_hour_send")
    assert quota["MaxSendRate"] == value("ses.production_max_send_rate")
    _send(lab, "anyone@example.org")
    assert lab.mailbox.latest("anyone@example.org") is not None
    # The sender must still be verified out of the sandbox.
    assert _refusal(lab, "anyone@example.org", source="x@elsewhere.example")["Code"] == (
        "MessageRejected"
    )


def test_the_lab_switch_puts_the_account_back_in_the_sandbox(lab: Lab) -> None:
    lab.client("ses").verify_email_identity(EmailAddress=SHOP)
    set_production_access(True)
    _send(lab, "anyone@example.org")
    set_production_access(False)
    lab.clock.advance(1)
    assert _refusal(lab, "anyone@example.org")["Code"] == "MessageRejected"


# -- quotas on the lab clock ---------------------------------------------------------------------
def test_one_recipient_a_second_in_the_sandbox(lab: Lab) -> None:
    ses = lab.client("ses")
    ses.verify_domain_identity(Domain="example.com")
    _send(lab, "ana@example.com")
    error = _refusal(lab, "bob@example.com")
    assert (error["Code"], error["Message"]) == ("Throttling", "Maximum sending rate exceeded.")
    lab.clock.advance(0.5)
    assert _refusal(lab, "bob@example.com")["Code"] == "Throttling"
    lab.clock.advance(0.5)
    _send(lab, "bob@example.com")
    assert [m.to for m in lab.mailbox] == ["ana@example.com", "bob@example.com"]


def test_the_simulator_counts_against_the_rate(lab: Lab) -> None:
    lab.client("ses").verify_email_identity(EmailAddress=SHOP)
    _send(lab, "success@simulator.amazonses.com")
    assert _refusal(lab, "bounce@simulator.amazonses.com")["Code"] == "Throttling"


def test_the_daily_quota_slides_over_24_hours_of_lab_time(lab: Lab) -> None:
    ses = lab.client("ses")
    ses.verify_domain_identity(Domain="example.com")
    quota = int(value("ses.sandbox_max_24_hour_send"))
    for n in range(quota):
        _send(lab, f"user{n}@example.com")
        lab.clock.advance(60)
    assert ses.get_send_quota()["SentLast24Hours"] == quota
    error = _refusal(lab, "late@example.com")
    assert (error["Code"], error["Message"]) == ("Throttling", "Daily message quota exceeded.")
    # The simulator does not count against the daily quota, so it still goes.
    _send(lab, "success@simulator.amazonses.com")
    # 24 hours after the first send it leaves the window, and one more recipient fits.
    lab.clock.advance(24 * 3600 - quota * 60 + 1)
    _send(lab, "late@example.com")
    assert ses.get_send_quota()["SentLast24Hours"] == quota


def test_quotas_count_recipients_not_messages(lab: Lab) -> None:
    lab.client("ses").verify_domain_identity(Domain="example.com")
    _send(lab, "a@example.com", "b@example.com")  # one message after a quiet second goes
    assert lab.client("ses").get_send_quota()["SentLast24Hours"] == 2
    lab.clock.advance(1)
    _send(lab, "c@example.com")


def test_sending_state_belongs_to_the_check_world(lab: Lab) -> None:
    lab.client("ses").verify_domain_identity(Domain="example.com")
    _send(lab, "a@example.com")
    with lab.sandbox.isolated():
        ses = lab.client("ses")
        ses.verify_domain_identity(Domain="example.com")
        assert ses.get_send_quota()["SentLast24Hours"] == 0
        _send(lab, "b@example.com")  # not throttled by the learner's send
    assert lab.client("ses").get_send_quota()["SentLast24Hours"] == 1


# -- the mailbox simulator -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("address", "status"),
    [
        ("success@simulator.amazonses.com", "delivered"),
        ("bounce@simulator.amazonses.com", "bounced"),
        ("bounce+signup-42@simulator.amazonses.com", "bounced"),
        ("complaint@simulator.amazonses.com", "complained"),
        ("ooto@simulator.amazonses.com", "delivered"),
        ("suppressionlist@simulator.amazonses.com", "bounced"),
        ("bounce-team@example.com", "delivered"),
        ("success@simulator.example.com", "delivered"),
    ],
)
def test_each_simulator_address_has_its_fate(address: str, status: str) -> None:
    assert status_of(address) == status
    assert (scenario(address) is None) == address.endswith("example.com")


def test_bounces_and_complaints_reach_the_identitys_topics(lab: Lab) -> None:
    ses = lab.client("ses")
    ses.verify_domain_identity(Domain="example.com")
    bounces, bounce_queue = _queue_on_topic(lab, "bounces")
    complaints, complaint_queue = _queue_on_topic(lab, "complaints")
    ses.set_identity_notification_topic(
        Identity="example.com", NotificationType="Bounce", SnsTopic=bounces
    )
    ses.set_identity_notification_topic(
        Identity="example.com", NotificationType="Complaint", SnsTopic=complaints
    )
    sent = _send(lab, "bounce@simulator.amazonses.com")
    lab.clock.advance(1)
    _send(lab, "complaint@simulator.amazonses.com")
    lab.clock.advance(1)
    _send(lab, "success@simulator.amazonses.com")  # no Delivery topic: no notification

    [bounce] = _received(lab, bounce_queue)
    assert bounce["notificationType"] == "Bounce"
    assert bounce["mail"]["messageId"] == sent["MessageId"]
    assert bounce["mail"]["source"] == SHOP
    assert bounce["bounce"]["bounceType"] == "Permanent"
    assert bounce["bounce"]["bouncedRecipients"][0]["emailAddress"] == (
        "bounce@simulator.amazonses.com"
    )
    [complaint] = _received(lab, complaint_queue)
    assert complaint["notificationType"] == "Complaint"
    assert complaint["complaint"]["complainedRecipients"] == [
        {"emailAddress": "complaint@simulator.amazonses.com"}
    ]


def test_an_address_identitys_topics_override_its_domains(lab: Lab) -> None:
    ses = lab.client("ses")
    ses.verify_domain_identity(Domain="example.com")
    ses.verify_email_identity(EmailAddress=SHOP)
    domain_topic, domain_queue = _queue_on_topic(lab, "domain-deliveries")
    own_topic, own_queue = _queue_on_topic(lab, "shop-deliveries")
    ses.set_identity_notification_topic(
        Identity="example.com", NotificationType="Delivery", SnsTopic=domain_topic
    )
    ses.set_identity_notification_topic(
        Identity=SHOP, NotificationType="Delivery", SnsTopic=own_topic
    )
    _send(lab, "success@simulator.amazonses.com")
    assert [n["notificationType"] for n in _received(lab, own_queue)] == ["Delivery"]
    assert _received(lab, domain_queue) == []


def test_feedback_forwarding_mails_a_bounce_back_unless_turned_off(lab: Lab) -> None:
    ses = lab.client("ses")
    ses.verify_email_identity(EmailAddress=SHOP)
    _send(lab, "bounce@simulator.amazonses.com")
    back = lab.mailbox.latest(SHOP)
    assert back is not None and back.sender == "MAILER-DAEMON@amazonses.com"
    ses.set_identity_feedback_forwarding_enabled(Identity=SHOP, ForwardingEnabled=False)
    lab.clock.advance(1)
    _send(lab, "bounce@simulator.amazonses.com")
    assert len(lab.mailbox.messages(SHOP)) == 1


def test_ooto_delivers_and_answers_the_sender(lab: Lab) -> None:
    lab.client("ses").verify_email_identity(EmailAddress=SHOP)
    _send(lab, "ooto@simulator.amazonses.com")
    reply = lab.mailbox.latest(SHOP)
    assert reply is not None and reply.subject == "Out of office: Welcome"
    assert reply.sender == "ooto@simulator.amazonses.com"


def test_a_configuration_sets_event_destination_gets_send_and_bounce_events(lab: Lab) -> None:
    ses = lab.client("ses")
    ses.verify_email_identity(EmailAddress=SHOP)
    topic, queue = _queue_on_topic(lab, "events")
    ses.create_configuration_set(ConfigurationSet={"Name": "tracked"})
    ses.create_configuration_set_event_destination(
        ConfigurationSetName="tracked",
        EventDestination={
            "Name": "to-sns",
            "Enabled": True,
            "MatchingEventTypes": ["send", "bounce"],
            "SNSDestination": {"TopicARN": topic},
        },
    )
    _send(lab, "bounce@simulator.amazonses.com", ConfigurationSetName="tracked")
    assert [e["eventType"] for e in _received(lab, queue)] == ["Send", "Bounce"]
    lab.clock.advance(1)
    with pytest.raises(ClientError) as missing:
        _send(lab, "success@simulator.amazonses.com", ConfigurationSetName="nope")
    assert missing.value.response["Error"]["Code"] == "ConfigurationSetDoesNotExist"


# -- what the mailbox keeps ----------------------------------------------------------------------
def test_both_bodies_are_kept_for_v1_v2_and_raw(lab: Lab) -> None:
    ses = lab.client("ses")
    ses.verify_domain_identity(Domain="example.com")
    body = {"Text": {"Data": "plain words"}, "Html": {"Data": "<p>rich <b>words</b></p>"}}
    ses.send_email(
        Source=SHOP,
        Destination={"ToAddresses": ["a@example.com"]},
        Message={"Subject": {"Data": "v1"}, "Body": body},
    )
    lab.clock.advance(1)
    lab.client("sesv2").send_email(
        FromEmailAddress=SHOP,
        Destination={"ToAddresses": ["b@example.com"]},
        Content={"Simple": {"Subject": {"Data": "v2"}, "Body": body}},
    )
    lab.clock.advance(1)
    raw = MIMEMultipart("alternative")
    raw["Subject"], raw["From"], raw["To"] = "raw", SHOP, "c@example.com"
    raw.attach(MIMEText("plain words", "plain"))
    raw.attach(MIMEText("<p>rich <b>words</b></p>", "html"))
    ses.send_raw_email(RawMessage={"Data": raw.as_string()})
    for to in ("a@example.com", "b@example.com", "c@example.com"):
        mail = lab.mailbox.latest(to)
        assert mail is not None
        assert (mail.body.strip(), mail.html.strip()) == ("plain words", "<p>rich <b>words</b></p>")


def test_the_sending_account_model_on_its_own() -> None:
    account = SendingAccount()
    account.record(0.0, ["a@example.com"])
    assert account.sent_last_24_hours(10.0) == 1
    assert account.sent_last_second(0.5) == 1 and account.sent_last_second(1.0) == 0
    assert account.sent_last_24_hours(24 * 3600.0) == 0


# -- what a reader sees ---------------------------------------------------------------------------
def test_the_snapshot_names_identities_topics_sets_and_quotas(lab: Lab) -> None:
    from labkit.services.ses.state import ses_snapshot

    ses = lab.client("ses")
    ses.verify_domain_identity(Domain="example.com")
    ses.verify_email_identity(EmailAddress=SHOP)
    topic, _ = _queue_on_topic(lab, "bounces")
    ses.set_identity_notification_topic(Identity=SHOP, NotificationType="Bounce", SnsTopic=topic)
    ses.create_configuration_set(ConfigurationSet={"Name": "tracked"})
    ses.create_configuration_set_event_destination(
        ConfigurationSetName="tracked",
        EventDestination={
            "Name": "to-sns",
            "Enabled": True,
            "MatchingEventTypes": ["delivery"],
            "SNSDestination": {"TopicARN": topic},
        },
    )
    _send(lab, "a@example.com")
    snap = ses_snapshot(lab.clock.timestamp)
    by_name = {i.name: i for i in snap.identities}
    assert by_name[SHOP].topics == {"Bounce": topic} and by_name[SHOP].kind == "EmailAddress"
    assert by_name["example.com"].kind == "Domain" and by_name["example.com"].topics == {}
    [tracked] = snap.configuration_sets
    assert [(d.name, d.event_types, d.topic) for d in tracked.destinations] == [
        ("to-sns", ("delivery",), topic)
    ]
    [account] = snap.accounts
    assert (account.region, account.sent_last_24_hours, account.production_access) == (
        "us-east-1",
        1,
        False,
    )


def test_reset_puts_the_account_back_in_the_sandbox_with_nothing_sent(lab: Lab) -> None:
    lab.client("ses").verify_domain_identity(Domain="example.com")
    set_production_access(True)
    _send(lab, "a@example.com")
    lab.reset()
    quota = lab.client("ses").get_send_quota()
    assert (quota["SentLast24Hours"], quota["Max24HourSend"]) == (
        0,
        value("ses.sandbox_max_24_hour_send"),
    )


def test_a_bulk_templated_send_follows_the_same_rules_per_destination(lab: Lab) -> None:
    ses = lab.client("ses")
    ses.verify_domain_identity(Domain="example.com")
    ses.create_template(
        Template={
            "TemplateName": "welcome",
            "SubjectPart": "Welcome, {{name}}",
            "TextPart": "Hello {{name}}, you are customer {{n}}.",
            "HtmlPart": "<p>Hello <b>{{name}}</b></p>",
        }
    )
    topic, queue = _queue_on_topic(lab, "bulk-bounces")
    ses.set_identity_notification_topic(
        Identity="example.com", NotificationType="Bounce", SnsTopic=topic
    )

    def bulk(*to: str) -> Any:
        return ses.send_bulk_templated_email(
            Source=SHOP,
            Template="welcome",
            DefaultTemplateData=json.dumps({"name": "friend", "n": 0}),
            Destinations=[
                {"Destination": {"ToAddresses": [a]}, "ReplacementTemplateData": json.dumps(d)}
                for a, d in zip(to, ({"name": "Ana", "n": 1}, {}), strict=False)
            ],
        )

    with pytest.raises(ClientError) as refused:
        bulk("ana@example.com", "eve@elsewhere.example")
    assert refused.value.response["Error"]["Message"].endswith(": eve@elsewhere.example")
    assert len(lab.mailbox) == 0
    sent = bulk("ana@example.com", "bounce@simulator.amazonses.com")
    ana = lab.mailbox.latest("ana@example.com")
    assert ana is not None and (ana.subject, ana.body) == (
        "Welcome, Ana",
        "Hello Ana, you are customer 1.",
    )
    assert ana.html == "<p>Hello <b>Ana</b></p>"
    assert ana.message_id == sent["Status"][0]["MessageId"]
    [bounce] = _received(lab, queue)
    assert bounce["mail"]["messageId"] == sent["Status"][1]["MessageId"]
    assert bounce["mail"]["destination"] == ["bounce@simulator.amazonses.com"]
    assert _refusal(lab, "ana@example.com")["Code"] == "Throttling"  # 2 recipients this second
