"""The SNS delivery log: what became of each published message at each subscription.

AWS tells a publisher only that a message was accepted; labkit's glass box logs, per message,
which subscription got it, which one's filter policy dropped it (on which scope) and why a
delivery failed. These tests publish through boto3 and read the log with
:func:`labkit.services.sns.patch.delivery_log` and through the topic view.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from lambda_support import create, lambda_state

import labkit
from labkit.errors import NetworkBlockedError
from labkit.lab import Lab
from labkit.services.sns import view as topic_render
from labkit.services.sns.patch import delivery_log
from labkit.services.sns.patch_log import (
    DELIVERED,
    FAILED,
    FILTERED,
    LOG_SIZE,
    NOT_DELIVERED,
    LoggedMessage,
    logged_count,
)
from labkit.services.sns.state import topic_snapshot
from labkit.services.sns.widget import topic_view

HANDLER = "def lambda_handler(event, context):\n    return None\n"


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def make_queue(lab: Lab, name: str, *, allow_topic: str = "", **attributes: str) -> str:
    """A queue (its ARN); with ``allow_topic``, a policy that lets that topic send to it."""
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = str(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    )
    if allow_topic:
        statement = {
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": allow_topic}},
        }
        policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
    return arn


def log_of(lab: Lab, topic_arn: str) -> list[LoggedMessage]:
    return delivery_log(lab.sandbox.backend("sns").topics[topic_arn])


def outcomes(entry: LoggedMessage) -> dict[str, str]:
    """Each subscription's result, by its endpoint's short name."""
    return {o.target: o.result for o in entry.outcomes}


def kind(value: str) -> dict[str, Any]:
    return {"kind": {"DataType": "String", "StringValue": value}}


def orders_topic(lab: Lab) -> str:
    """A topic with a filtered queue (attributes), a body-filtered queue, and a denied queue."""
    sns = lab.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    shipping = make_queue(lab, "shipping", allow_topic=topic)
    audit = make_queue(lab, "audit", allow_topic=topic)
    billing = make_queue(lab, "billing")  # no policy: the topic may not send to it
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=shipping,
        Attributes={"FilterPolicy": json.dumps({"kind": ["ship"]})},
    )
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=audit,
        Attributes={
            "FilterPolicy": json.dumps({"total": [{"numeric": [">", 100]}]}),
            "FilterPolicyScope": "MessageBody",
        },
    )
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=billing)
    return str(topic)


# -- outcomes per subscription --------------------------------------------------------------------
def test_each_subscription_says_delivered_filtered_out_or_denied(lab: Lab) -> None:
    sns = lab.client("sns")
    topic = orders_topic(lab)
    lab.clock.advance(30)
    first = sns.publish(
        TopicArn=topic,
        Message=json.dumps({"total": 250}),
        Subject="big order",
        MessageAttributes=kind("ship"),
    )["MessageId"]
    second = sns.publish(
        TopicArn=topic, Message=json.dumps({"total": 5}), MessageAttributes=kind("pickup")
    )["MessageId"]

    big, small = log_of(lab, topic)
    assert (big.message_id, small.message_id) == (first, second)
    assert big.subject == "big order" and big.preview == '{"total": 250}'
    assert big.attributes == "kind=ship" and big.at == lab.clock.timestamp
    assert outcomes(big) == {"shipping": DELIVERED, "audit": DELIVERED, "billing": FAILED}
    assert outcomes(small) == {"shipping": FILTERED, "audit": FILTERED, "billing": FAILED}

    shipping, audit, billing = small.outcomes
    assert shipping.scope == "MessageAttributes"
    assert "attribute kind is 'pickup'" in shipping.reason and '["ship"]' in shipping.reason
    assert audit.scope == "MessageBody" and "total is 5" in audit.reason
    assert billing.code == "AccessDenied" and "sns.amazonaws.com" in billing.reason
    assert big.outcomes[0].reason == "In the queue shipping, wrapped in an SNS envelope."
    # What the queues really hold agrees with the log.
    sqs = lab.client("sqs")
    for name, expected in (("shipping", 1), ("audit", 1), ("billing", 0)):
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        held = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        assert int(held["Attributes"]["ApproximateNumberOfMessages"]) == expected


def test_a_missing_attribute_and_a_deleted_queue_are_named(lab: Lab) -> None:
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = orders_topic(lab)
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName="billing")["QueueUrl"])
    sns.publish(TopicArn=topic, Message="not json")
    (entry,) = log_of(lab, topic)
    shipping, audit, billing = entry.outcomes
    assert "the message has no attribute 'kind'" in shipping.reason
    assert "the body is not JSON" in audit.reason
    assert (billing.result, billing.code) == (FAILED, "QueueDoesNotExist")


def test_protocols_the_sandbox_does_not_deliver_say_so(lab: Lab) -> None:
    sns = lab.client("sns")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
    sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint="+15555550100")
    sns.publish(TopicArn=topic, Message="disk full")
    (entry,) = log_of(lab, topic)
    email, sms = entry.outcomes
    assert (email.result, email.target, email.protocol) == (
        NOT_DELIVERED,
        "ops@example.com",
        "email",
    )
    assert "sends no email" in email.reason
    assert sms.result == NOT_DELIVERED and "no text messages" in sms.reason

    # An HTTP endpoint off this machine: the network guard still refuses at once (the publisher
    # sees it), and the log keeps what happened, with the error.
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint="http://example.com/hook")
    with pytest.raises(NetworkBlockedError):
        sns.publish(TopicArn=topic, Message="second")
    _, refused = log_of(lab, topic)
    assert [o.result for o in refused.outcomes] == [NOT_DELIVERED] * 3
    assert "example.com" in refused.outcomes[2].reason
    assert refused.error.startswith("NetworkBlockedError")


def test_a_lambda_subscription_names_the_function_it_invoked(lab: Lab) -> None:
    fn_arn = create(lab, "notify", HANDLER)
    sns = lab.client("sns")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn_arn)
    sns.publish(TopicArn=topic, Message="refused")  # no permission for SNS yet
    lab.client("lambda").add_permission(
        FunctionName="notify",
        StatementId="sns",
        Action="lambda:InvokeFunction",
        Principal="sns.amazonaws.com",
        SourceArn=topic,
    )
    sns.publish(TopicArn=topic, Message="one")
    lab.clock.advance(0)  # SNS invokes asynchronously
    events = [h for h in lambda_state(lab).history if h.function_name == "notify"]
    assert len(events) == 1  # "one" only: "refused" never reached the function
    lab.client("lambda").delete_function(FunctionName="notify")
    sns.publish(TopicArn=topic, Message="two")
    refused, invoked, missing = log_of(lab, topic)
    (denied,) = refused.outcomes
    assert (denied.result, denied.code) == (FAILED, "AccessDeniedException")
    assert "does not let sns.amazonaws.com invoke it" in denied.reason
    (call,) = invoked.outcomes
    assert (call.result, call.target, call.protocol) == (DELIVERED, "notify", "lambda")
    assert "Invoked the function notify asynchronously" in call.reason
    (gone,) = missing.outcomes
    assert (gone.result, gone.code) == (FAILED, "ResourceNotFoundException")
    assert "notify does not exist" in gone.reason


# -- FIFO topics and PublishBatch -----------------------------------------------------------------
def test_a_fifo_topic_logs_groups_and_the_duplicates_it_dropped(lab: Lab) -> None:
    sns = lab.client("sns")
    topic = sns.create_topic(
        Name="pay.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"}
    )["TopicArn"]
    ledger = make_queue(lab, "ledger.fifo", allow_topic=topic, FifoQueue="true")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=ledger)
    ids = [
        sns.publish(TopicArn=topic, Message=step, MessageGroupId="ana")["MessageId"]
        for step in ("charge", "charge", "ship")
    ]
    charge, again, ship = log_of(lab, topic)
    assert [e.message_id for e in (charge, again, ship)] == ids
    assert charge.group_id == "ana" and len(charge.deduplication_id) == 64  # the body's SHA-256
    assert outcomes(charge) == {"ledger.fifo": DELIVERED} == outcomes(ship)
    assert again.duplicate_of == charge.message_id and again.outcomes == ()
    assert charge.duplicate_of == "" == ship.duplicate_of


def test_publish_batch_logs_every_entry(lab: Lab) -> None:
    sns = lab.client("sns")
    topic = orders_topic(lab)
    response = sns.publish_batch(
        TopicArn=topic,
        PublishBatchRequestEntries=[
            {"Id": "a", "Message": json.dumps({"total": 500}), "MessageAttributes": kind("ship")},
            {"Id": "b", "Message": "plain", "Subject": "hello"},
        ],
    )
    ids = [ok["MessageId"] for ok in response["Successful"]]
    a, b = log_of(lab, topic)
    assert [a.message_id, b.message_id] == ids
    assert outcomes(a) == {"shipping": DELIVERED, "audit": DELIVERED, "billing": FAILED}
    assert outcomes(b) == {"shipping": FILTERED, "audit": FILTERED, "billing": FAILED}
    assert b.subject == "hello"


def test_a_fifo_publish_batch_logs_its_duplicates(lab: Lab) -> None:
    sns = lab.client("sns")
    topic = sns.create_topic(Name="pay.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    entries = [
        {"Id": str(i), "Message": "m", "MessageGroupId": "g", "MessageDeduplicationId": dedup}
        for i, dedup in enumerate(("x", "x", "y"))
    ]
    sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=entries)
    first, duplicate, other = log_of(lab, topic)
    assert duplicate.duplicate_of == first.message_id
    assert (first.deduplication_id, other.deduplication_id) == ("x", "y")
    assert other.duplicate_of == "" and other.outcomes == ()  # no subscription: reached nobody


# -- bounded, and covered by reset and isolated worlds --------------------------------------------
def test_the_log_keeps_only_the_last_messages(lab: Lab) -> None:
    sns = lab.client("sns")
    topic = sns.create_topic(Name="busy")["TopicArn"]
    for i in range(LOG_SIZE + 3):
        sns.publish(TopicArn=topic, Message=f"m{i}")
    log = log_of(lab, topic)
    assert len(log) == LOG_SIZE
    assert log[0].preview == "m3" and log[-1].preview == f"m{LOG_SIZE + 2}"
    assert logged_count(lab.sandbox.backend("sns").topics[topic]) == LOG_SIZE + 3
    snap = topic_snapshot(lab.sandbox, "busy")
    assert snap is not None and snap.logged == LOG_SIZE + 3
    assert [e.preview for e in snap.log] == [f"m{i}" for i in range(LOG_SIZE - 2, LOG_SIZE + 3)]


def test_reset_and_isolated_worlds_have_their_own_logs(lab: Lab) -> None:
    sns = lab.client("sns")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    sns.publish(TopicArn=topic, Message="learner's")
    with lab.sandbox.isolated():
        inner = lab.client("sns")
        same = inner.create_topic(Name="orders")["TopicArn"]
        assert same == topic and log_of(lab, topic) == []
        inner.publish(TopicArn=same, Message="check's")
        assert [e.preview for e in log_of(lab, topic)] == ["check's"]
    assert [e.preview for e in log_of(lab, topic)] == ["learner's"]

    lab.reset()
    with pytest.raises(ClientError, match="NotFound"):
        sns.publish(TopicArn=topic, Message="gone")
    sns.create_topic(Name="orders")
    assert log_of(lab, topic) == []
    snap = topic_snapshot(lab.sandbox, "orders")
    assert snap is not None and snap.log == () and snap.logged == 0


# -- the topic view -------------------------------------------------------------------------------
def test_the_view_shows_each_messages_outcomes_in_words(lab: Lab) -> None:
    sns = lab.client("sns")
    topic = orders_topic(lab)
    first = sns.publish(
        TopicArn=topic,
        Message=json.dumps({"total": 5}),
        MessageAttributes=kind("ship"),
        Subject="small",
    )["MessageId"]
    second = sns.publish(TopicArn=topic, Message=json.dumps({"total": 7}))["MessageId"]
    late = make_queue(lab, "late", allow_topic=topic)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=late)

    html, text = topic_render.render(topic_snapshot(lab.sandbox, "orders"))
    log_part = text[text.index("Delivery log") :]
    assert "Delivery log: all 2 messages" in log_part
    assert f'{first[:8]} “{{"total": 5}}” · subject small · attributes kind=ship' in log_part
    assert "1 delivered, 1 filtered out, 1 failed" in log_part
    lines = log_part.splitlines()
    row = next(line for line in lines if "✓ delivered" in line)
    assert "shipping (sqs)" in row and "In the queue shipping" in row
    row = next(line for line in lines if "– filtered out (on body)" in line)
    assert "audit (sqs)" in row and "total is 5" in row
    row = next(line for line in lines if "✗ failed (AccessDenied)" in line)
    assert "billing (sqs)" in row
    # The second message's denial refers to the first instead of repeating the reason.
    assert f"The same reason as for {first[:8]} above." in log_part
    assert f"{second[:8]}" in log_part and "late (sqs)" not in log_part
    # The fan-out, from the log: the queue subscribed later did not exist then.
    assert "· not subscribed yet" in text

    expected = (
        "Delivery log",
        "✓ delivered",
        "– filtered out (on attributes)",
        "✗ failed (AccessDenied)",
        "subject small",
    )
    for words in expected:
        assert words in html
    assert "color:" not in html.replace("color:inherit", "")  # no colour carries meaning

    view = topic_view(lab, "orders")
    assert "Delivery log: all 2 messages" in view.to_text()
    assert len(view.topic["log"]) == 2 and view.topic["logged"] == 2
    view.close()


def test_the_view_names_a_duplicate_and_a_message_to_nobody(lab: Lab) -> None:
    sns = lab.client("sns")
    topic = sns.create_topic(
        Name="pay.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"}
    )["TopicArn"]
    first = sns.publish(TopicArn=topic, Message="charge", MessageGroupId="ana")["MessageId"]
    sns.publish(TopicArn=topic, Message="charge", MessageGroupId="ana")
    _, text = topic_render.render(topic_snapshot(lab.sandbox, "pay.fifo"))
    assert "no subscription then: it reached nobody" in text
    assert f"= duplicate of {first[:8]}" in text and "delivered to no subscription" in text
    assert "group ana" in text
