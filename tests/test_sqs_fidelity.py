"""SQS behaviours AWS has and stock moto lacks, each shown on both.

Every test runs one scenario twice: first on stock moto (a plain ``mock_aws()``, outside any lab,
its clock frozen with time-machine and moved by hand), then in a labkit sandbox on the lab clock.
The labkit run must show what AWS does; the stock run must not, so the test documents the gap.
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

RETENTION_MIN = facts.value("sqs.retention_min")
RETENTION_MAX = facts.value("sqs.retention_max")
DEDUP_INTERVAL = facts.value("sqs.fifo_dedup_interval")


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


def lab_world(lab: Lab) -> World:
    return World(client=lab.client, advance=lambda seconds: lab.clock.advance(seconds))


def counts(sqs: Any, url: str) -> tuple[int, int, int]:
    """(visible, in flight, delayed), as GetQueueAttributes reports them."""
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        int(attributes["ApproximateNumberOfMessagesDelayed"]),
    )


def bodies(messages: list[dict[str, Any]]) -> list[str]:
    return [m["Body"] for m in messages]


# -- retention ------------------------------------------------------------------------------
def retention_scenario(world: World) -> dict[str, Any]:
    sqs = world.client("sqs")
    url = sqs.create_queue(
        QueueName="short-lived", Attributes={"MessageRetentionPeriod": str(RETENTION_MIN)}
    )["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="old-1")
    sqs.send_message(QueueUrl=url, MessageBody="old-in-flight")
    held = sqs.receive_message(QueueUrl=url, VisibilityTimeout=600)["Messages"]
    world.advance(RETENTION_MIN / 2)
    sqs.send_message(QueueUrl=url, MessageBody="young")
    before = counts(sqs, url)
    world.advance(RETENTION_MIN / 2 + 1)  # the first two are now past the retention period
    after = counts(sqs, url)
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return {"held": bodies(held), "before": before, "after": after, "received": bodies(received)}


def test_expired_messages_leave_the_counts_as_well_as_the_receives(
    start_lab: Callable[[], Lab],
) -> None:
    with stock_moto() as world:
        stock = retention_scenario(world)
    labkit_run = retention_scenario(lab_world(start_lab()))

    assert labkit_run["held"] == ["old-1"]
    assert labkit_run["before"] == (2, 1, 0)
    # AWS deletes a message once it is older than the retention period, in flight or not.
    assert labkit_run["after"] == (1, 0, 0)
    assert labkit_run["received"] == ["young"]
    # Stock moto still counts both expired messages.
    assert stock["after"] == (2, 1, 0)
    assert stock["after"] != labkit_run["after"]


def test_shortening_the_retention_period_expires_older_messages(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="a")
    lab.clock.advance(3 * RETENTION_MIN)
    sqs.send_message(QueueUrl=url, MessageBody="b")
    assert counts(sqs, url) == (2, 0, 0)
    sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"MessageRetentionPeriod": str(2 * RETENTION_MIN)}
    )
    assert counts(sqs, url) == (1, 0, 0)
    assert bodies(sqs.receive_message(QueueUrl=url)["Messages"]) == ["b"]


def retention_range_scenario(world: World) -> dict[str, str]:
    sqs = world.client("sqs")
    outcome: dict[str, str] = {}
    url = sqs.create_queue(QueueName="ok")["QueueUrl"]
    attempts: list[tuple[str, Callable[[], Any]]] = [
        (
            "create-below",
            lambda: sqs.create_queue(
                QueueName="below", Attributes={"MessageRetentionPeriod": str(RETENTION_MIN - 1)}
            ),
        ),
        (
            "create-above",
            lambda: sqs.create_queue(
                QueueName="above", Attributes={"MessageRetentionPeriod": str(RETENTION_MAX + 1)}
            ),
        ),
        (
            "set-below",
            lambda: sqs.set_queue_attributes(
                QueueUrl=url, Attributes={"MessageRetentionPeriod": str(RETENTION_MIN - 1)}
            ),
        ),
        (
            "set-not-a-number",
            lambda: sqs.set_queue_attributes(
                QueueUrl=url, Attributes={"MessageRetentionPeriod": "a day"}
            ),
        ),
        (
            "create-min",
            lambda: sqs.create_queue(
                QueueName="min", Attributes={"MessageRetentionPeriod": str(RETENTION_MIN)}
            ),
        ),
        (
            "set-max",
            lambda: sqs.set_queue_attributes(
                QueueUrl=url, Attributes={"MessageRetentionPeriod": str(RETENTION_MAX)}
            ),
        ),
    ]
    for name, attempt in attempts:
        try:
            attempt()
            outcome[name] = "accepted"
        except ClientError as error:
            outcome[name] = (
                f"{error.response['Error']['Code']}: {error.response['Error']['Message']}"
            )
        except Exception as error:  # stock moto fails some inputs with a raw Python error
            outcome[name] = f"raw {type(error).__name__}"
    outcome["ok-period"] = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["MessageRetentionPeriod"]
    )["Attributes"]["MessageRetentionPeriod"]
    return outcome


def test_retention_period_outside_the_documented_range_is_refused(
    start_lab: Callable[[], Lab],
) -> None:
    with stock_moto() as world:
        stock = retention_range_scenario(world)
    labkit_run = retention_range_scenario(lab_world(start_lab()))

    refused = "InvalidAttributeValue: Invalid value for the parameter MessageRetentionPeriod."
    for name in ("create-below", "create-above", "set-below", "set-not-a-number"):
        assert labkit_run[name] == refused, name
    assert labkit_run["create-min"] == "accepted"
    assert labkit_run["set-max"] == "accepted"
    assert labkit_run["ok-period"] == str(RETENTION_MAX)  # the refused change left no trace
    # Stock moto takes 59 seconds (and more than 14 days).
    assert stock["create-below"] == "accepted"
    assert stock["set-below"] == "accepted"


# -- FIFO deduplication ---------------------------------------------------------------------
def dedup_after_delete_scenario(world: World) -> dict[str, Any]:
    sqs = world.client("sqs")
    url = sqs.create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]

    def send(body: str, dedup: str) -> None:
        sqs.send_message(
            QueueUrl=url, MessageBody=body, MessageGroupId="g", MessageDeduplicationId=dedup
        )

    def drain() -> list[str]:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        for message in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return bodies(got)

    send("order 1", "order-1")
    first = drain()
    world.advance(60)
    send("order 1 (resent)", "order-1")  # within the interval, after the delete
    resent = drain()
    world.advance(DEDUP_INTERVAL)
    send("order 1 (much later)", "order-1")
    later = drain()
    return {"first": first, "resent": resent, "later": later}


def test_fifo_deduplication_id_stays_taken_after_its_message_is_deleted(
    start_lab: Callable[[], Lab],
) -> None:
    with stock_moto() as world:
        stock = dedup_after_delete_scenario(world)
    labkit_run = dedup_after_delete_scenario(lab_world(start_lab()))

    assert labkit_run == {
        "first": ["order 1"],
        "resent": [],  # accepted but not delivered: AWS keeps tracking the id after the delete
        "later": ["order 1 (much later)"],
    }
    assert stock["resent"] == ["order 1 (resent)"]


def test_content_based_deduplication_survives_the_delete_and_scope_can_be_per_group(
    lab: Lab,
) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(
        QueueName="content.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="a")
    got = sqs.receive_message(QueueUrl=url)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="b")
    assert counts(sqs, url) == (0, 0, 0)  # queue scope: the same body in another group too

    scoped = sqs.create_queue(
        QueueName="scoped.fifo",
        Attributes={
            "FifoQueue": "true",
            "DeduplicationScope": "messageGroup",
            "FifoThroughputLimit": "perMessageGroupId",
        },
    )["QueueUrl"]
    for group in ("a", "b", "a"):
        sqs.send_message(
            QueueUrl=scoped, MessageBody=group, MessageGroupId=group, MessageDeduplicationId="x"
        )
    assert counts(sqs, scoped) == (2, 0, 0)  # one per group


# -- FIFO order -----------------------------------------------------------------------------
def fifo_timeout_order_scenario(world: World) -> list[list[str]]:
    sqs = world.client("sqs")
    url = sqs.create_queue(
        QueueName="steps.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    for body in ("step 1", "step 2", "step 3"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="job")
    seen = [
        bodies(
            sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=5)[
                "Messages"
            ]
        )
    ]
    world.advance(6)  # both time out together, nobody deleted them
    for _ in range(3):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=5)
        seen.append(bodies(got.get("Messages", [])))
        world.advance(6)
    return seen


def test_fifo_messages_that_time_out_together_come_back_in_order(
    start_lab: Callable[[], Lab],
) -> None:
    with stock_moto() as world:
        stock = fifo_timeout_order_scenario(world)
    labkit_run = fifo_timeout_order_scenario(lab_world(start_lab()))

    # AWS keeps a group's order: the unhandled messages come back first, in order.
    assert labkit_run[0] == ["step 1", "step 2"]
    assert labkit_run[1] == ["step 1", "step 2", "step 3"]
    # Stock moto skips "step 1" and hands out the later steps ahead of it.
    assert stock[1][0] == "step 2"
    assert "step 1" not in stock[1]


# -- queue attributes -----------------------------------------------------------------------
def _policy_for(sqs: Any, url: str) -> str:
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    statement = {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": arn}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def keeps_policy_scenario(world: World) -> bool:
    sqs = world.client("sqs")
    url = sqs.create_queue(QueueName="kept")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": _policy_for(sqs, url)})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "5"})
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return "Policy" in attributes


def test_set_queue_attributes_keeps_the_policy_it_is_not_given(
    start_lab: Callable[[], Lab],
) -> None:
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html
    with stock_moto() as world:
        assert not keeps_policy_scenario(world), "stock moto erases the policy"
    assert keeps_policy_scenario(lab_world(start_lab()))


def test_an_empty_policy_removes_the_policy(start_lab: Callable[[], Lab]) -> None:
    sqs = start_lab().client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": _policy_for(sqs, url)})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert "Policy" not in attributes


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DelaySeconds", str(facts.value("sqs.delay_max") + 1)),
        ("DelaySeconds", "-1"),
        ("VisibilityTimeout", str(facts.value("sqs.visibility_timeout_max") + 1)),
        ("MaximumMessageSize", str(facts.value("sqs.max_message_size") + 1)),
        ("MaximumMessageSize", str(facts.value("sqs.max_message_size_setting_min") - 1)),
        ("ReceiveMessageWaitTimeSeconds", str(facts.value("sqs.long_poll_wait_max") + 1)),
        ("DelaySeconds", "soon"),
        ("Policy", "{not json"),
        ("Policy", "[]"),
    ],
)
def test_out_of_range_attributes_get_aws_error(
    start_lab: Callable[[], Lab], name: str, value: str
) -> None:
    sqs = start_lab().client("sqs")
    with pytest.raises(ClientError) as created:
        sqs.create_queue(QueueName="early", Attributes={name: value})
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    with pytest.raises(ClientError) as changed:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={name: value})
    for error in (created.value, changed.value):
        assert error.response["Error"]["Code"] == "InvalidAttributeValue"
        assert error.response["Error"]["Message"] == f"Invalid value for the parameter {name}."


def test_the_largest_documented_values_are_accepted(start_lab: Callable[[], Lab]) -> None:
    sqs = start_lab().client("sqs")
    highest = {
        "DelaySeconds": str(facts.value("sqs.delay_max")),
        "VisibilityTimeout": str(facts.value("sqs.visibility_timeout_max")),
        "MaximumMessageSize": str(facts.value("sqs.max_message_size")),
        "ReceiveMessageWaitTimeSeconds": str(facts.value("sqs.long_poll_wait_max")),
    }
    url = sqs.create_queue(QueueName="q", Attributes=highest)["QueueUrl"]
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert {k: got[k] for k in highest} == highest


def test_a_refused_call_changes_nothing(start_lab: Callable[[], Lab]) -> None:
    sqs = start_lab().client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    with pytest.raises(ClientError):
        sqs.set_queue_attributes(
            QueueUrl=url,
            Attributes={
                "VisibilityTimeout": "60",
                "DelaySeconds": str(facts.value("sqs.delay_max") + 1),
            },
        )
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    assert got["Attributes"]["VisibilityTimeout"] == str(
        facts.value("sqs.visibility_timeout_default")
    )


@pytest.mark.parametrize(
    "count",
    [facts.value("sqs.max_receive_count_min") - 1, facts.value("sqs.max_receive_count_max") + 1],
)
def test_a_max_receive_count_out_of_range_is_refused(
    start_lab: Callable[[], Lab], count: int
) -> None:
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue.html
    sqs = start_lab().client("sqs")
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": count})
    with pytest.raises(ClientError) as refused:
        sqs.create_queue(QueueName="q", Attributes={"RedrivePolicy": redrive})
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidParameterValue"
    assert f"Invalid value for maxReceiveCount: {count}" in error["Message"]
    within = json.dumps(
        {
            "deadLetterTargetArn": dlq_arn,
            "maxReceiveCount": facts.value("sqs.max_receive_count_max"),
        }
    )
    sqs.create_queue(QueueName="q", Attributes={"RedrivePolicy": within})


def test_a_long_poll_beyond_the_maximum_gets_aws_message(start_lab: Callable[[], Lab]) -> None:
    sqs = start_lab().client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    wait = facts.value("sqs.long_poll_wait_max") + 1
    with pytest.raises(ClientError) as refused:
        sqs.receive_message(QueueUrl=url, WaitTimeSeconds=wait)
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidParameterValue"
    assert error["Message"] == (
        f"Value {wait} for parameter WaitTimeSeconds is invalid. "
        f"Reason: Must be >= 0 and <= {wait - 1}, if provided."
    )


# -- RedriveAllowPolicy ----------------------------------------------------------------------------
def _redrive(dlq_arn: str) -> str:
    return json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})


def test_stock_moto_ignores_a_dead_letter_queue_that_refuses_every_source() -> None:
    with stock_moto() as world:
        sqs = world.client("sqs")
        deny = json.dumps({"redrivePermission": "denyAll"})
        dlq = sqs.create_queue(QueueName="dlq", Attributes={"RedriveAllowPolicy": deny})
        arn = sqs.get_queue_attributes(QueueUrl=dlq["QueueUrl"], AttributeNames=["QueueArn"])
        sqs.create_queue(
            QueueName="src", Attributes={"RedrivePolicy": _redrive(arn["Attributes"]["QueueArn"])}
        )  # accepted: the gap the labkit patch closes


def test_a_dead_letter_queue_refuses_the_sources_its_redrive_allow_policy_excludes(
    start_lab: Callable[[], Lab],
) -> None:
    sqs = start_lab().client("sqs")
    source_arn = "arn:aws:sqs:us-east-1:123456789012:src"
    policies = {
        "deny": {"redrivePermission": "denyAll"},
        "others": {"redrivePermission": "byQueue", "sourceQueueArns": [source_arn + "-other"]},
        "mine": {"redrivePermission": "byQueue", "sourceQueueArns": [source_arn]},
        "all": {"redrivePermission": "allowAll"},
    }
    arns = {}
    for name, policy in policies.items():
        url = sqs.create_queue(
            QueueName=f"dlq-{name}", Attributes={"RedriveAllowPolicy": json.dumps(policy)}
        )["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert json.loads(attributes["RedriveAllowPolicy"]) == policy  # AWS returns it
        arns[name] = attributes["QueueArn"]
    for name in ("deny", "others"):
        with pytest.raises(ClientError) as refused:
            sqs.create_queue(QueueName="src", Attributes={"RedrivePolicy": _redrive(arns[name])})
        assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
        assert "does not allow this queue" in refused.value.response["Error"]["Message"]
    assert sqs.list_queues().get("QueueUrls", []) == [
        sqs.get_queue_url(QueueName=f"dlq-{n}")["QueueUrl"] for n in policies
    ]  # a refused CreateQueue creates nothing
    url = sqs.create_queue(QueueName="src")["QueueUrl"]
    with pytest.raises(ClientError):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": _redrive(arns["deny"])})
    for name in ("mine", "all"):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": _redrive(arns[name])})
    with pytest.raises(ClientError) as bad:
        sqs.create_queue(
            QueueName="dlq-bad",
            Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "nobody"})},
        )
    assert "redrivePermission" in bad.value.response["Error"]["Message"]
