"""SNS behaviours AWS has and stock moto lacks, each shown on both.

Every gap test runs one scenario twice: first on stock moto (a plain ``mock_aws()``, outside any
lab, its clock frozen with time-machine and moved by hand), then in a labkit sandbox. The labkit
run must show what AWS does; the stock run must not.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import time_machine
from botocore.exceptions import ClientError
from moto import mock_aws

import labkit
from labkit import facts
from labkit.clock import DEFAULT_START
from labkit.lab import Lab
from labkit.services.sns.patch import failed_deliveries, topic_failed_deliveries
from labkit.services.sqs.access import Request, evaluate, sns_delivery_request

DEDUP_INTERVAL = facts.value("sns.fifo_dedup_interval")


@dataclass
class World:
    """An AWS to run a scenario in: a client factory and a way to let time pass."""

    client: Callable[[str], Any]
    advance: Callable[[float], object]


@contextmanager
def stock_moto() -> Iterator[World]:
    """Stock moto, no labkit: the process clock frozen at the lab's start, moved by hand."""
    with time_machine.travel(DEFAULT_START, tick=False) as traveller, mock_aws():
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        yield World(client=session.client, advance=traveller.shift)


@pytest.fixture
def start_lab() -> Iterator[Callable[[], Lab]]:
    """Starts a free-play lab when the test asks (after its stock-moto part), stops it after."""
    labs: list[Lab] = []

    def start() -> Lab:
        lab = labkit.start(quiet=True)
        labs.append(lab)
        return lab

    yield start
    for lab in labs:
        lab.stop()


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def lab_world(lab: Lab) -> World:
    return World(client=lab.client, advance=lambda seconds: lab.clock.advance(seconds))


def make_queue(sqs: Any, name: str, **attributes: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def allow_topic(
    sqs: Any,
    url: str,
    queue_arn: str,
    topic_arn: str,
    *,
    principal: Any = None,
    condition: Any = "ArnEquals",
    extra: list[dict[str, Any]] | None = None,
) -> None:
    """Give the queue the policy AWS's guide shows (or a variant of it)."""
    statement: dict[str, Any] = {
        "Sid": "topic-to-queue",
        "Effect": "Allow",
        "Principal": principal if principal is not None else {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
    }
    if condition:
        statement["Condition"] = {condition: {"aws:SourceArn": topic_arn}}
    policy = {"Version": "2012-10-17", "Statement": [statement, *(extra or [])]}
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})


def drain(sqs: Any, url: str) -> list[str]:
    got: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return got
        for message in messages:
            got.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def notification_text(body: str) -> str:
    return str(json.loads(body)["Message"])


# -- the queue's access policy --------------------------------------------------------------
def no_policy_scenario(world: World) -> list[str]:
    sns, sqs = world.client("sns"), world.client("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    url, arn = make_queue(sqs, "billing")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="order 1")  # accepted either way
    return [notification_text(b) for b in drain(sqs, url)]


def test_a_queue_without_a_policy_for_the_topic_receives_nothing(
    start_lab: Callable[[], Lab],
) -> None:
    with stock_moto() as world:
        stock = no_policy_scenario(world)
    lab = start_lab()
    labkit_run = no_policy_scenario(lab_world(lab))

    assert labkit_run == []  # AWS: SNS may not send to a queue that does not allow it
    assert stock == ["order 1"]

    (failure,) = topic_failed_deliveries(
        lab.sandbox.backend("sns"), "arn:aws:sns:us-east-1:123456789012:orders"
    )
    assert failure.code == "AccessDenied"
    assert failure.endpoint == "arn:aws:sqs:us-east-1:123456789012:billing"
    assert "no access policy" in failure.reason
    assert "sns.amazonaws.com" in failure.reason  # it says what to allow
    assert failure.at == lab.clock.timestamp


def test_the_documented_policy_lets_the_topic_deliver(lab: Lab) -> None:
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    url, arn = make_queue(sqs, "billing")
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]
    sns.publish(TopicArn=topic, Message="before")
    allow_topic(sqs, url, arn, topic)
    sns.publish(TopicArn=topic, Message="after")
    assert [notification_text(b) for b in drain(sqs, url)] == ["after"]
    backend = lab.sandbox.backend("sns")
    assert [f.code for f in failed_deliveries(backend.subscriptions[subscription])] == [
        "AccessDenied"
    ]


@pytest.mark.parametrize(
    ("principal", "condition", "delivered"),
    [
        ({"Service": "sns.amazonaws.com"}, "ArnEquals", True),
        ({"Service": ["lambda.amazonaws.com", "sns.amazonaws.com"]}, "ArnLike", True),
        ("*", "ArnLike", True),
        ({"AWS": "*"}, "ArnEquals", True),
        ({"AWS": "*"}, None, True),  # no condition: any topic (allowed, if unwise)
        ({"Service": "s3.amazonaws.com"}, "ArnEquals", False),  # another service
        ({"AWS": "arn:aws:iam::123456789012:root"}, "ArnEquals", False),  # an account, not SNS
        ({"AWS": "123456789012"}, None, False),
    ],
)
def test_principal_forms(lab: Lab, principal: Any, condition: str | None, delivered: bool) -> None:
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    url, arn = make_queue(sqs, "billing")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    allow_topic(sqs, url, arn, topic, principal=principal, condition=condition)
    sns.publish(TopicArn=topic, Message="m")
    assert (drain(sqs, url) != []) is delivered


def test_conditions_must_name_this_topic(lab: Lab) -> None:
    sns, sqs = lab.client("sns"), lab.client("sqs")
    orders = sns.create_topic(Name="orders")["TopicArn"]
    refunds = sns.create_topic(Name="refunds")["TopicArn"]
    url, arn = make_queue(sqs, "billing")
    for topic in (orders, refunds):
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    allow_topic(sqs, url, arn, orders)
    sns.publish(TopicArn=orders, Message="from orders")
    sns.publish(TopicArn=refunds, Message="from refunds")
    assert [notification_text(b) for b in drain(sqs, url)] == ["from orders"]
    (failure,) = topic_failed_deliveries(lab.sandbox.backend("sns"), refunds)
    assert failure.code == "AccessDenied"
    assert any(orders in note and refunds in note for note in failure.notes)

    # A wildcard in the ARN's last part covers both topics.
    allow_topic(sqs, url, arn, "arn:aws:sns:us-east-1:123456789012:*", condition="ArnLike")
    sns.publish(TopicArn=refunds, Message="from refunds again")
    assert [notification_text(b) for b in drain(sqs, url)] == ["from refunds again"]


def test_a_deny_statement_wins_over_an_allow(lab: Lab) -> None:
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    url, arn = make_queue(sqs, "billing")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    deny = {
        "Sid": "no-sns",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sqs:*",
        "Resource": arn,
        "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
    }
    allow_topic(sqs, url, arn, topic, extra=[deny])
    sns.publish(TopicArn=topic, Message="m")
    assert drain(sqs, url) == []
    (failure,) = topic_failed_deliveries(lab.sandbox.backend("sns"), topic)
    assert "no-sns" in failure.reason


def test_raw_delivery_and_filter_policies_keep_working(lab: Lab) -> None:
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    url, arn = make_queue(sqs, "big-orders")
    allow_topic(sqs, url, arn, topic)
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={
            "RawMessageDelivery": "true",
            "FilterPolicy": json.dumps({"size": ["big"]}),
        },
    )
    for size in ("small", "big"):
        sns.publish(
            TopicArn=topic,
            Message=f"a {size} order",
            MessageAttributes={"size": {"DataType": "String", "StringValue": size}},
        )
    got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in got] == ["a big order"]  # raw: the message itself
    assert got[0]["MessageAttributes"]["size"]["StringValue"] == "big"
    # A message the filter dropped was never a delivery attempt.
    assert topic_failed_deliveries(lab.sandbox.backend("sns"), topic) == []


def deleted_queue_scenario(world: World) -> str:
    sns, sqs = world.client("sns"), world.client("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    url, arn = make_queue(sqs, "gone")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sqs.delete_queue(QueueUrl=url)
    try:
        sns.publish(TopicArn=topic, Message="m")
        return "published"
    except ClientError as error:
        return str(error.response["Error"]["Code"])


def test_a_deleted_queue_does_not_make_publish_fail(start_lab: Callable[[], Lab]) -> None:
    with stock_moto() as world:
        stock = deleted_queue_scenario(world)
    lab = start_lab()
    assert deleted_queue_scenario(lab_world(lab)) == "published"
    assert (
        stock == "AWS.SimpleQueueService.NonExistentQueue"
    )  # the publisher sees the queue's error
    (failure,) = topic_failed_deliveries(
        lab.sandbox.backend("sns"), "arn:aws:sns:us-east-1:123456789012:orders"
    )
    assert failure.code == "QueueDoesNotExist"


# -- FIFO topics ----------------------------------------------------------------------------
def fifo_topic_scenario(world: World) -> dict[str, Any]:
    sns, sqs = world.client("sns"), world.client("sqs")
    topic = sns.create_topic(
        Name="orders.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"}
    )["TopicArn"]
    # A standard queue may subscribe to a FIFO topic; it does not deduplicate by itself.
    url, arn = make_queue(sqs, "audit")
    allow_topic(sqs, url, arn, topic)
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
    )
    outcome: dict[str, Any] = {}
    for _ in range(3):
        sns.publish(TopicArn=topic, Message="order 1 placed", MessageGroupId="order-1")
    # An explicit id overrides the content hash: different bodies, one delivery.
    for body in ("order 2 placed", "order 2 placed (retry)"):
        sns.publish(
            TopicArn=topic, Message=body, MessageGroupId="order-2", MessageDeduplicationId="o2"
        )
    outcome["within"] = sorted(drain(sqs, url))
    world.advance(DEDUP_INTERVAL)
    sns.publish(TopicArn=topic, Message="order 1 placed", MessageGroupId="order-1")
    outcome["after"] = drain(sqs, url)
    return outcome


def test_fifo_topic_deduplicates_before_fanning_out(start_lab: Callable[[], Lab]) -> None:
    with stock_moto() as world:
        stock = fifo_topic_scenario(world)
    labkit_run = fifo_topic_scenario(lab_world(start_lab()))

    assert labkit_run == {
        "within": ["order 1 placed", "order 2 placed"],
        "after": ["order 1 placed"],  # the interval is over
    }
    assert len(stock["within"]) == 5  # stock moto delivers every duplicate


def content_dedup_to_fifo_queue_scenario(world: World) -> dict[str, Any]:
    sns, sqs = world.client("sns"), world.client("sqs")
    topic = sns.create_topic(
        Name="orders.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"}
    )["TopicArn"]
    # The queue itself has no content-based deduplication: the topic's id must travel along.
    url, arn = make_queue(sqs, "billing.fifo", FifoQueue="true")
    allow_topic(sqs, url, arn, topic)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    outcome: dict[str, Any] = {}
    try:
        for _ in range(2):
            sns.publish(TopicArn=topic, Message="order 1 placed", MessageGroupId="order-1")
        outcome["publish"] = "ok"
    except ClientError as error:
        outcome["publish"] = error.response["Error"]["Code"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
        "Messages", []
    )
    outcome["received"] = [
        (notification_text(m["Body"]), m["Attributes"].get("MessageDeduplicationId")) for m in got
    ]
    return outcome


def test_fifo_topic_gives_its_deduplication_id_to_fifo_queues(
    start_lab: Callable[[], Lab],
) -> None:
    with stock_moto() as world:
        stock = content_dedup_to_fifo_queue_scenario(world)
    labkit_run = content_dedup_to_fifo_queue_scenario(lab_world(start_lab()))

    ((text, dedup_id),) = labkit_run["received"]
    assert labkit_run["publish"] == "ok"
    assert text == "order 1 placed"
    assert dedup_id is not None and len(dedup_id) == 64  # SHA-256 of the body
    # Stock moto passes no id, and the queue's refusal reaches the publisher.
    assert stock["publish"] == "InvalidParameterValue"


def test_fifo_topic_deduplication_scope_can_be_per_message_group(lab: Lab) -> None:
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(
        Name="scoped.fifo",
        Attributes={
            "FifoTopic": "true",
            "ContentBasedDeduplication": "true",
            "FifoThroughputScope": "MessageGroup",
        },
    )["TopicArn"]
    url, arn = make_queue(sqs, "audit")
    allow_topic(sqs, url, arn, topic)
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
    )
    for group in ("a", "b", "a"):
        sns.publish(TopicArn=topic, Message="same body", MessageGroupId=group)
    assert drain(sqs, url) == ["same body", "same body"]  # once per group


def test_publish_batch_deduplicates_too(lab: Lab) -> None:
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(
        Name="batch.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"}
    )["TopicArn"]
    url, arn = make_queue(sqs, "audit")
    allow_topic(sqs, url, arn, topic)
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
    )
    answer = sns.publish_batch(
        TopicArn=topic,
        PublishBatchRequestEntries=[
            {"Id": str(i), "Message": "same", "MessageGroupId": "g"} for i in range(3)
        ],
    )
    assert len(answer["Successful"]) == 3  # accepted...
    assert drain(sqs, url) == ["same"]  # ...delivered once


# -- the policy evaluator on its own --------------------------------------------------------
QUEUE = "arn:aws:sqs:us-east-1:123456789012:q"
TOPIC = "arn:aws:sns:us-east-1:123456789012:t"


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_evaluator_condition_operators_and_missing_keys() -> None:
    request = sns_delivery_request(QUEUE, TOPIC)
    base = {"Effect": "Allow", "Principal": "*", "Action": "SQS:SendMessage", "Resource": QUEUE}

    def allowed(condition: dict[str, Any]) -> bool:
        return evaluate(policy({**base, "Condition": condition}), request).allowed

    assert allowed({"ArnEquals": {"aws:SourceArn": TOPIC}})
    assert allowed({"ArnLike": {"AWS:SOURCEARN": "arn:aws:sns:*:123456789012:*"}})  # key case
    assert not allowed({"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:*:other-*"}})
    assert allowed({"StringLike": {"aws:SourceArn": "arn:aws:sns:*"}})
    assert allowed({"StringEquals": {"aws:SourceAccount": ["111122223333", "123456789012"]}})
    assert allowed({"Bool": {"aws:SecureTransport": "true"}})
    # A key the request does not carry: false, except for negated operators and IfExists.
    assert not allowed({"StringEquals": {"aws:SourceVpce": "vpce-1"}})
    assert allowed({"StringNotEquals": {"aws:SourceVpce": "vpce-1"}})
    assert allowed({"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}})
    assert allowed({"Null": {"aws:SourceVpce": "true"}})
    assert not allowed({"ArnNotEquals": {"aws:SourceArn": TOPIC}})


def test_evaluator_actions_resources_and_defaults() -> None:
    request = sns_delivery_request(QUEUE, TOPIC)
    allow = {"Effect": "Allow", "Principal": "*", "Resource": QUEUE}
    assert evaluate(policy({**allow, "Action": "sqs:*"}), request).allowed
    assert evaluate(policy({**allow, "Action": ["sqs:Receive*", "sqs:Send*"]}), request).allowed
    assert not evaluate(policy({**allow, "Action": "sqs:ReceiveMessage"}), request).allowed
    assert evaluate(policy({**allow, "NotAction": "sqs:DeleteQueue"}), request).allowed
    other_queue = {**allow, "Action": "*", "Resource": "arn:aws:sqs:us-east-1:123456789012:x"}
    assert not evaluate(policy(other_queue), request).allowed
    assert evaluate(
        policy({**allow, "Action": "*", "Resource": "arn:aws:sqs:*:*:*"}), request
    ).allowed
    assert not evaluate(None, request).allowed
    assert not evaluate("{not json", request).allowed
    # An IAM user of the account is matched by an account principal (not SNS).
    user = Request(action="sqs:SendMessage", resource=QUEUE, account="123456789012")
    account_only = {**allow, "Action": "sqs:SendMessage", "Principal": {"AWS": "123456789012"}}
    assert evaluate(policy(account_only), user).allowed
    assert not evaluate(policy(account_only), request).allowed


# -- filter policy scope --------------------------------------------------------------------
def scope_set_last_scenario(world: World) -> list[str]:
    sns, sqs = world.client("sns"), world.client("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    url, arn = make_queue(sqs, "shipping")
    allow_topic(sqs, url, arn, topic)
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]
    sns.set_subscription_attributes(
        SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue='{"delivery": ["ship"]}'
    )
    sns.set_subscription_attributes(
        SubscriptionArn=sub, AttributeName="FilterPolicyScope", AttributeValue="MessageBody"
    )
    sns.publish(TopicArn=topic, Message=json.dumps({"delivery": "ship"}))
    sns.publish(TopicArn=topic, Message=json.dumps({"delivery": "collect"}))
    return [json.loads(notification_text(body))["delivery"] for body in drain(sqs, url)]


def test_a_filter_policy_scope_set_last_is_applied(start_lab: Callable[[], Lab]) -> None:
    # https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering-scope.html
    with stock_moto() as world:
        assert scope_set_last_scenario(world) == [], "stock moto still reads the attributes"
    assert scope_set_last_scenario(lab_world(start_lab())) == ["ship"]


def test_an_unknown_filter_policy_scope_is_refused(lab: Lab) -> None:
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    _, arn = make_queue(sqs, "shipping")
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]
    with pytest.raises(ClientError) as refused:
        sns.set_subscription_attributes(
            SubscriptionArn=sub, AttributeName="FilterPolicyScope", AttributeValue="Body"
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameter"


# -- topics of another account ---------------------------------------------------------------------
def test_a_topic_of_another_account_delivers_only_where_the_queue_policy_lets_it(
    start_lab: Callable[[], Lab],
) -> None:
    from labkit.sandbox.accounts import OUTSIDER_ACCOUNT, client_in_account

    lab = start_lab()
    sqs = lab.client("sqs")
    other_sns = client_in_account(lab.sandbox, "sns")
    topic = other_sns.create_topic(Name="partner-events")["TopicArn"]
    assert topic.split(":")[4] == OUTSIDER_ACCOUNT
    assert lab.client("sns").list_topics().get("Topics", []) == []  # not in the learner's account
    urls = {n: sqs.create_queue(QueueName=n)["QueueUrl"] for n in ("open", "closed")}
    for name, url in urls.items():
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        source = topic if name == "open" else topic.replace(OUTSIDER_ACCOUNT, "123456789012")
        statement = {
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": source}},
        }
        sqs.set_queue_attributes(
            QueueUrl=url, Attributes={"Policy": json.dumps({"Statement": [statement]})}
        )
        other_sns.subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
        )
    other_sns.publish(TopicArn=topic, Message="from the partner")
    got = {
        name: [m["Body"] for m in sqs.receive_message(QueueUrl=url).get("Messages", [])]
        for name, url in urls.items()
    }
    # Stock moto sends to a queue of that name in the topic's own account, which does not exist.
    assert got == {"open": ["from the partner"], "closed": []}
