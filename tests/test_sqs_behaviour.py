"""moto's SQS behaviours, run through labkit's indexed queues.

labkit keeps each queue's messages in an indexed store while a lab runs (so that calls cost the
same at any depth). These tests check that every behaviour moto had survives: standard and FIFO
queues, batches, visibility timeouts, delays, dead-letter queues, purge, attributes, long polling.

The first tests are differential: a seeded random sequence of calls runs on stock moto (a plain
``mock_aws()``, its clock frozen and moved by hand) and in a lab, and both must answer the same.
The sequences avoid the places where labkit is deliberately closer to AWS than moto (retention,
deduplication after a delete); those have their own tests in ``test_sqs_fidelity.py``.
"""

from __future__ import annotations

import json
import random
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
from labkit.clock import DEFAULT_START
from labkit.lab import Lab


@dataclass
class World:
    """An AWS to run a scenario in: a client factory and a way to let time pass."""

    client: Callable[[str], Any]
    advance: Callable[[float], None]


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


def arn_of(sqs: Any, url: str) -> str:
    return str(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    )


# -- differential: stock moto and labkit answer the same ------------------------------------
def _shown(message: dict[str, Any]) -> tuple[Any, ...]:
    attributes = dict(message.get("Attributes", {}))
    attributes.pop("SequenceNumber", None)  # random digits
    return (
        message["Body"],
        message["MD5OfBody"],
        tuple(sorted(attributes.items())),
        json.dumps(message.get("MessageAttributes", {}), sort_keys=True),
        message.get("MD5OfMessageAttributes"),
    )


def random_session(world: World, seed: int, *, fifo: bool, groups: int) -> list[Any]:
    """A seeded random sequence of SQS calls; returns everything the calls answered."""
    rng = random.Random(seed)
    sqs = world.client("sqs")
    suffix = ".fifo" if fifo else ""
    fifo_attrs = {"FifoQueue": "true"} if fifo else {}
    dlq = sqs.create_queue(QueueName=f"dlq{suffix}", Attributes=fifo_attrs)["QueueUrl"]
    url = sqs.create_queue(
        QueueName=f"work{suffix}",
        Attributes={
            **fifo_attrs,
            "VisibilityTimeout": "20",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 2}
            ),
        },
    )["QueueUrl"]
    held: list[str] = []
    log: list[Any] = []
    sent = 0

    def entry(i: int) -> dict[str, Any]:
        item: dict[str, Any] = {"MessageBody": f"m{i}-{rng.randint(0, 9)}"}
        if rng.random() < 0.4:
            item["MessageAttributes"] = {
                "color": {"DataType": "String", "StringValue": rng.choice(["red", "blue"])},
                "count": {"DataType": "Number", "StringValue": str(rng.randint(1, 99))},
            }
        if fifo:
            item["MessageGroupId"] = f"g{rng.randrange(groups)}"
            item["MessageDeduplicationId"] = f"d{i}"
        elif rng.random() < 0.3:
            item["DelaySeconds"] = rng.choice([1, 5, 30])
        return item

    def call(name: str, operation: Callable[..., Any], **request: Any) -> Any:
        try:
            return operation(QueueUrl=url, **request)
        except ClientError as error:
            log.append((name, "error", error.response["Error"]["Code"]))
            return None

    ops = ["send", "batch", "receive", "delete", "delete_batch", "change", "advance", "counts"]
    weights = [12, 5, 20, 10, 4, 5, 12, 6]
    for _ in range(160):
        op = rng.choices([*ops, "purge", "bad"], weights=[*weights, 1, 2])[0]
        if op == "send":
            item = entry(sent)
            sent += 1
            answer = call("send", sqs.send_message, **item)
            if answer is not None:
                log.append(
                    ("send", answer["MD5OfMessageBody"], answer.get("MD5OfMessageAttributes"))
                )
        elif op == "batch":
            items = []
            for n in range(rng.randint(1, 10)):
                items.append({"Id": f"e{n}", **entry(sent)})
                sent += 1
            answer = call("batch", sqs.send_message_batch, Entries=items)
            if answer is not None:
                log.append(("batch", sorted(s["Id"] for s in answer["Successful"])))
        elif op == "receive":
            request: dict[str, Any] = {
                # FIFO: one at a time. When two messages of a group time out together, stock
                # moto hands out the second before the first (AWS keeps the order; see
                # test_sqs_fidelity.py), so batches would differ on purpose.
                "MaxNumberOfMessages": 1 if fifo else rng.randint(1, 10),
                "AttributeNames": ["All"],
            }
            visibility = rng.choice([None, 0, 1, 5, 20])
            if visibility is not None:
                request["VisibilityTimeout"] = visibility
            names = rng.choice([None, ["All"], ["color"], ["co.*"], [".*"]])
            if names is not None:
                request["MessageAttributeNames"] = names
            answer = call("receive", sqs.receive_message, **request)
            if answer is not None:
                got = answer.get("Messages", [])
                held.extend(m["ReceiptHandle"] for m in got)
                log.append(("receive", [_shown(m) for m in got]))
        elif op == "delete" and held:
            handle = held.pop(rng.randrange(len(held)))
            call("delete", sqs.delete_message, ReceiptHandle=handle)
            log.append(("delete",))
        elif op == "delete_batch" and held:
            chosen = rng.sample(held, min(len(held), rng.randint(1, 4)))
            answer = call(
                "delete_batch",
                sqs.delete_message_batch,
                Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(chosen)],
            )
            if answer is not None:
                log.append(
                    (
                        "delete_batch",
                        sorted(s["Id"] for s in answer.get("Successful", [])),
                        sorted((f["Id"], f["Code"]) for f in answer.get("Failed", [])),
                    )
                )
        elif op == "change" and held:
            handle = rng.choice(held)
            # (Not 0: labkit makes the message visible at once, as AWS does; stock moto only
            # once the frozen clock moves. test_change_visibility_to_zero covers it.)
            seconds = rng.choice([1, 3, 40])
            call(
                "change",
                sqs.change_message_visibility,
                ReceiptHandle=handle,
                VisibilityTimeout=seconds,
            )
            log.append(("change", seconds))
        elif op == "advance":
            seconds = rng.choice([0.5, 1, 3, 5, 10, 20, 21, 45])
            world.advance(seconds)
            log.append(("advance", seconds))
        elif op == "counts":
            log.append(("counts", counts(sqs, url), counts(sqs, dlq)))
        elif op == "purge":
            call("purge", sqs.purge_queue)
            log.append(("purge",))
        elif op == "bad":
            # An invalid receipt handle, and (FIFO) a per-message delay, are refused alike.
            call("bad-delete", sqs.delete_message, ReceiptHandle="nope")
            if fifo:
                call(
                    "bad-delay",
                    sqs.send_message,
                    MessageBody="x",
                    MessageGroupId="g0",
                    MessageDeduplicationId="bad",
                    DelaySeconds=5,
                )
    # Drain what is left, letting every timeout run out.
    for queue in (url, dlq):
        world.advance(60)
        drained: list[Any] = []
        while True:
            got = sqs.receive_message(
                QueueUrl=queue, MaxNumberOfMessages=1 if fifo else 10, AttributeNames=["All"]
            ).get("Messages", [])
            if not got:
                break
            drained.extend(_shown(m) for m in got)
            sqs.delete_message_batch(
                QueueUrl=queue,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)
                ],
            )
        log.append(("drained", queue.rsplit("/", 1)[-1], drained))
    return log


@pytest.mark.parametrize(
    ("seed", "fifo", "groups"),
    [(1, False, 1), (2, False, 1), (3, False, 1), (4, True, 1), (5, True, 3), (6, True, 2)],
)
def test_random_sessions_answer_as_stock_moto_does(
    start_lab: Callable[[], Lab], seed: int, fifo: bool, groups: int
) -> None:
    with stock_moto() as world:
        stock = random_session(world, seed, fifo=fifo, groups=groups)
    labkit_run = random_session(lab_world(start_lab()), seed, fifo=fifo, groups=groups)
    for step, (theirs, ours) in enumerate(zip(stock, labkit_run, strict=False)):
        assert ours == theirs, f"step {step}"
    assert len(labkit_run) == len(stock)
    # The sequence did exercise the queues.
    assert any(item[0] == "receive" and item[1] for item in labkit_run)
    assert any(item[0] == "drained" and item[2] for item in labkit_run)


# -- standard queues ------------------------------------------------------------------------
def test_messages_come_back_after_the_visibility_timeout_and_counts_follow(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="q", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
    assert bodies(first) == ["a", "b"]
    assert counts(sqs, url) == (1, 2, 0)
    lab.clock.advance(30)
    assert counts(sqs, url) == (1, 2, 0)  # visible only strictly after the timeout
    lab.clock.advance(0.01)
    assert counts(sqs, url) == (3, 0, 0)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])
    assert bodies(again["Messages"]) == ["a", "b", "c"]  # queue order is kept
    assert [m["Attributes"]["ApproximateReceiveCount"] for m in again["Messages"]] == [
        "2",
        "2",
        "1",
    ]


def test_change_message_visibility_hides_and_reveals(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="a")
    handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    assert counts(sqs, url) == (1, 0, 0)
    handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=300)
    lab.clock.advance(100)
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None
    lab.clock.advance(201)
    assert bodies(sqs.receive_message(QueueUrl=url)["Messages"]) == ["a"]
    with pytest.raises(ClientError) as error:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle="nope", VisibilityTimeout=5)
    assert error.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"


def test_delays_per_message_and_per_queue(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="q", Attributes={"DelaySeconds": "10"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="queue-delay")
    sqs.send_message(QueueUrl=url, MessageBody="no-delay", DelaySeconds=0)
    sqs.send_message(QueueUrl=url, MessageBody="long-delay", DelaySeconds=60)
    assert counts(sqs, url) == (1, 0, 2)
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]) == [
        "no-delay"
    ]
    lab.clock.advance(10)
    assert counts(sqs, url) == (1, 1, 1)
    lab.clock.advance(50)  # the long delay is over, and the received one timed out at 30 s
    assert counts(sqs, url) == (3, 0, 0)


def test_change_visibility_to_zero_makes_the_message_receivable_at_once(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="a")
    handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    # No lab time has passed, yet the message is back, as AWS documents for 0.
    assert bodies(sqs.receive_message(QueueUrl=url)["Messages"]) == ["a"]


def test_deleting_twice_is_harmless_and_an_unknown_handle_is_refused(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="a")
    handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    result = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[{"Id": "old", "ReceiptHandle": handle}, {"Id": "bad", "ReceiptHandle": "x"}],
    )
    assert [s["Id"] for s in result["Successful"]] == ["old"]
    assert [(f["Id"], f["Code"]) for f in result["Failed"]] == [("bad", "ReceiptHandleIsInvalid")]
    assert counts(sqs, url) == (0, 0, 0)


def test_purge_empties_the_queue_and_refuses_a_second_purge_within_a_minute(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(10)]
    )
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3)
    sqs.purge_queue(QueueUrl=url)
    assert counts(sqs, url) == (0, 0, 0)
    with pytest.raises(ClientError) as error:
        sqs.purge_queue(QueueUrl=url)
    assert error.value.response["Error"]["Code"] == "AWS.SimpleQueueService.PurgeQueueInProgress"
    lab.clock.advance(61)
    sqs.purge_queue(QueueUrl=url)
    sqs.send_message(QueueUrl=url, MessageBody="after")
    assert bodies(sqs.receive_message(QueueUrl=url)["Messages"]) == ["after"]


def test_message_attributes_are_filtered_per_receive_and_kept_on_the_message(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    attributes = {
        "color": {"DataType": "String", "StringValue": "red"},
        "colour": {"DataType": "String", "StringValue": "rouge"},
        "size": {"DataType": "Number", "StringValue": "3"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    sent = sqs.send_message(QueueUrl=url, MessageBody="a", MessageAttributes=attributes)
    first = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["col.*"], VisibilityTimeout=0)
    assert sorted(first["Messages"][0]["MessageAttributes"]) == ["color", "colour"]
    second = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], VisibilityTimeout=0)
    message = second["Messages"][0]
    assert message["MessageAttributes"]["blob"]["BinaryValue"] == b"\x00\x01"
    assert message["MD5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]
    third = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)
    assert "MessageAttributes" not in third["Messages"][0]


def test_a_queue_thousands_deep_delivers_every_message_exactly_once(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="deep")["QueueUrl"]
    total = 2_000
    for start in range(0, total, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "MessageBody": str(start + i)} for i in range(10)],
        )
    assert counts(sqs, url) == (total, 0, 0)
    seen: list[int] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            break
        seen.extend(int(b) for b in bodies(got))
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)
            ],
        )
    assert seen == list(range(total))
    assert counts(sqs, url) == (0, 0, 0)


# -- dead-letter queues ---------------------------------------------------------------------
def test_dead_letter_queue_after_max_receive_count_keeps_the_enqueue_time(lab: Lab) -> None:
    sqs = lab.client("sqs")
    dlq = sqs.create_queue(QueueName="dlq", Attributes={"MessageRetentionPeriod": "300"})[
        "QueueUrl"
    ]
    url = sqs.create_queue(
        QueueName="q",
        Attributes={
            "VisibilityTimeout": "10",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 2}
            ),
        },
    )["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    for _ in range(2):
        assert bodies(sqs.receive_message(QueueUrl=url)["Messages"]) == ["poison"]
        lab.clock.advance(11)
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None  # moved, not delivered
    assert counts(sqs, url) == (0, 0, 0)
    assert counts(sqs, dlq) == (1, 0, 0)
    moved = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"], VisibilityTimeout=0)
    assert moved["Messages"][0]["Attributes"]["ApproximateReceiveCount"] == "3"
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [url]
    # A standard queue's message keeps its original enqueue time in the DLQ: 22 s have passed.
    lab.clock.advance(300 - 22)
    assert counts(sqs, dlq) == (0, 0, 0)


def test_fifo_dead_letter_queue_restarts_the_retention_clock(lab: Lab) -> None:
    sqs = lab.client("sqs")
    dlq = sqs.create_queue(
        QueueName="dlq.fifo", Attributes={"FifoQueue": "true", "MessageRetentionPeriod": "300"}
    )["QueueUrl"]
    url = sqs.create_queue(
        QueueName="q.fifo",
        Attributes={
            "FifoQueue": "true",
            "ContentBasedDeduplication": "true",
            "VisibilityTimeout": "10",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 1}
            ),
        },
    )["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="first", MessageGroupId="g")
    sqs.send_message(QueueUrl=url, MessageBody="second", MessageGroupId="g")
    assert bodies(sqs.receive_message(QueueUrl=url)["Messages"]) == ["first"]
    lab.clock.advance(11)
    # "first" goes to the DLQ; the group moves on to "second", in order.
    assert bodies(sqs.receive_message(QueueUrl=url)["Messages"]) == ["second"]
    assert counts(sqs, dlq) == (1, 0, 0)
    lab.clock.advance(299)  # 310 s after "first" was sent, 299 s after it moved
    assert counts(sqs, dlq) == (1, 0, 0)  # the period counts from the move
    lab.clock.advance(2)
    assert counts(sqs, dlq) == (0, 0, 0)


# -- FIFO -----------------------------------------------------------------------------------
def test_fifo_groups_keep_order_and_block_while_a_message_is_in_flight(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(
        QueueName="q.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    for body, group in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("a3", "a"), ("b2", "b")]:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
    batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3)["Messages"]
    assert bodies(batch) == ["a1", "b1", "a2"]  # queue order, several from one group
    # Both groups have messages in flight: nothing more until they are handled.
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") is None
    by_body = {m["Body"]: m["ReceiptHandle"] for m in batch}
    sqs.delete_message(QueueUrl=url, ReceiptHandle=by_body["b1"])
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]) == ["b2"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=by_body["a1"])
    # a2 is still in flight: group a stays blocked.
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") is None
    lab.clock.advance(31)  # every visibility timeout has run out: a2 comes back first
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]) == [
        "a2",
        "a3",
        "b2",
    ]


def test_send_message_batch_reports_duplicates_as_sent(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="b.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    entries = [
        {"Id": str(i), "MessageBody": f"m{i}", "MessageGroupId": "g", "MessageDeduplicationId": "d"}
        for i in range(3)
    ]
    response = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert len(response["Successful"]) == 3  # accepted...
    assert bodies(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]) == [
        "m0"
    ]  # ...but delivered once


def test_fifo_requires_a_group_and_a_deduplication_id_or_content_based(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="q.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    with pytest.raises(ClientError) as error:
        sqs.send_message(QueueUrl=url, MessageBody="x")
    assert error.value.response["Error"]["Code"] == "MissingParameter"
    with pytest.raises(ClientError) as error:
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g")
    assert error.value.response["Error"]["Code"] == "InvalidParameterValue"
    answer = sqs.send_message(
        QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="1"
    )
    assert answer["SequenceNumber"]


# -- long polling on the lab clock ----------------------------------------------------------
def test_long_poll_returns_when_a_delayed_message_becomes_available(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=7)
    start = lab.clock.timestamp
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)["Messages"]
    assert bodies(got) == ["later"]
    assert 7 <= lab.clock.timestamp - start < 7.1


def test_long_poll_waits_the_whole_time_on_an_empty_queue(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="q", Attributes={"ReceiveMessageWaitTimeSeconds": "20"})[
        "QueueUrl"
    ]
    start = lab.clock.timestamp
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None
    assert lab.clock.timestamp - start == 20


def test_long_poll_sees_a_message_sent_by_a_scheduled_lab_event(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    lab.clock.call_later(4, lambda: sqs.send_message(QueueUrl=url, MessageBody="event"))
    start = lab.clock.timestamp
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"]
    assert bodies(got) == ["event"]
    assert lab.clock.timestamp - start == 4


def test_long_poll_waits_for_an_in_flight_fifo_group(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(
        QueueName="q.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="1", MessageGroupId="g")
    sqs.send_message(QueueUrl=url, MessageBody="2", MessageGroupId="g")
    sqs.receive_message(QueueUrl=url, VisibilityTimeout=5)
    start = lab.clock.timestamp
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20, MaxNumberOfMessages=10)
    assert bodies(got["Messages"]) == ["1", "2"]
    assert 5 < lab.clock.timestamp - start < 5.1


# -- the store follows the sandbox ----------------------------------------------------------
def test_reset_and_isolated_worlds_cover_queue_contents(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="mine")
    with lab.sandbox.isolated() as world:
        other = world.client("sqs")
        assert other.list_queues().get("QueueUrls") is None
        inner = other.create_queue(QueueName="q")["QueueUrl"]
        other.send_message(QueueUrl=inner, MessageBody="check's")
        assert counts(other, inner) == (1, 0, 0)
    assert bodies(sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"]) == ["mine"]
    lab.reset()
    assert sqs.list_queues().get("QueueUrls") is None
