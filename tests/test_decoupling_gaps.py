"""Gaps found while writing the decoupling lab, in files other engineers own.

Each test states what AWS does (with the documentation it follows). They were written as strict
xfails against the sandbox of the time; the gaps are closed now, and the tests stay to keep them
closed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

import labkit
from labkit.clock import Clock
from labkit.lab import Lab


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def queue_arn(sqs: Any, url: str) -> str:
    return str(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    )


def allow_everyone(sqs: Any, url: str) -> None:
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "sqs:SendMessage",
        "Resource": queue_arn(sqs, url),
    }
    sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"Policy": json.dumps({"Statement": [statement]})}
    )


def test_setting_other_attributes_keeps_the_access_policy(lab: Lab) -> None:
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html:
    # the call changes the attributes it is given.
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    allow_everyone(sqs, url)
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "60"})
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert "Policy" in attrs


def test_a_filter_policy_scope_set_after_the_policy_is_applied(lab: Lab) -> None:
    # https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering-scope.html: the scope
    # decides whether the policy reads the attributes or the body.
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="t")["TopicArn"]
    url = sqs.create_queue(QueueName="shipping")["QueueUrl"]
    allow_everyone(sqs, url)
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(sqs, url))[
        "SubscriptionArn"
    ]
    sns.set_subscription_attributes(
        SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue='{"delivery": ["ship"]}'
    )
    sns.set_subscription_attributes(
        SubscriptionArn=sub, AttributeName="FilterPolicyScope", AttributeValue="MessageBody"
    )
    sns.publish(TopicArn=topic, Message=json.dumps({"delivery": "ship"}))
    assert sqs.receive_message(QueueUrl=url).get("Messages"), "the body matches the policy"


def test_a_queue_delay_beyond_fifteen_minutes_is_refused(lab: Lab) -> None:
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html:
    # DelaySeconds 0 to 900.
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    with pytest.raises(ClientError):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "901"})


def test_a_queue_visibility_timeout_beyond_twelve_hours_is_refused(lab: Lab) -> None:
    # Same page: VisibilityTimeout 0 to 43,200 seconds.
    sqs = lab.client("sqs")
    with pytest.raises(ClientError):
        sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "43201"})


def test_a_maximum_message_size_beyond_one_mib_is_refused_later_too(lab: Lab) -> None:
    # Same page: MaximumMessageSize 1,024 to 1,048,576 bytes.
    sqs = lab.client("sqs")
    with pytest.raises(ClientError):
        sqs.create_queue(QueueName="early", Attributes={"MaximumMessageSize": str(2 * 1048576)})
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    with pytest.raises(ClientError):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"MaximumMessageSize": str(2 * 1048576)})


def test_a_max_receive_count_below_one_is_refused(lab: Lab) -> None:
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue.html:
    # maximum receives 1 to 1,000.
    sqs = lab.client("sqs")
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    redrive = {"deadLetterTargetArn": queue_arn(sqs, dlq), "maxReceiveCount": 0}
    with pytest.raises(ClientError):
        sqs.create_queue(QueueName="q", Attributes={"RedrivePolicy": json.dumps(redrive)})


def test_a_policy_that_is_not_json_is_refused_with_an_aws_error(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    with pytest.raises(ClientError):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": "{not json"})


def test_a_cancelled_repetition_leaves_nothing_pending() -> None:
    clock = Clock()
    ticks: list[float] = []
    handle = clock.every(1, lambda: ticks.append(clock.timestamp))
    clock.advance(3)
    handle.cancel()
    assert clock.next_event_time is None
    assert list(clock.pending()) == []
