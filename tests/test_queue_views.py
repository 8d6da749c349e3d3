"""The queue and topic glass box: snapshots of the sandbox, their renderers and the live widgets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets import TraitError
from traitlets.config import Config

import labkit
from labkit.lab import Lab
from labkit.services.sns import view as topic_render
from labkit.services.sns.state import topic_names, topic_snapshot
from labkit.services.sns.widget import TopicView, check_topic, topic_view
from labkit.services.sqs import view as queue_render
from labkit.services.sqs.state import message_state, policy_statements, queue_names, queue_snapshot
from labkit.services.sqs.widget import QueueView, check_queue, queue_view
from labkit.widgets.base import EVENT, AfterEachCell


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


@pytest.fixture
def shell(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path))
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)
    yield shell
    InteractiveShell.clear_instance()


def arn_of(sqs: Any, url: str) -> str:
    return str(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    )


def fifo_with_dlq(sqs: Any, *, receives: int = 2) -> tuple[str, str]:
    dlq = sqs.create_queue(QueueName="orders-dlq.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    redrive = {"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": receives}
    url = sqs.create_queue(
        QueueName="orders.fifo",
        Attributes={
            "FifoQueue": "true",
            "ContentBasedDeduplication": "true",
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    return url, dlq


# -- queue snapshots ----------------------------------------------------------------------------
def test_states_time_left_receive_counts_and_ages_follow_the_lab_clock(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="orders", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="first")
    sqs.send_message(QueueUrl=url, MessageBody="second")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    sqs.receive_message(QueueUrl=url)  # takes "first"
    lab.clock.advance(10)

    snap = queue_snapshot(lab.sandbox, "orders")
    assert snap is not None
    assert (snap.available, snap.in_flight, snap.delayed) == (1, 1, 1)
    first, second, later = snap.messages
    assert (first.preview, first.state, first.receive_count) == ("first", "in flight", 1)
    assert first.seconds_left == pytest.approx(20)
    assert first.age == pytest.approx(10)
    assert (second.state, second.seconds_left, second.receive_count) == ("available", None, 0)
    assert later.state == "delayed" and later.seconds_left == pytest.approx(50)
    assert snap.oldest_age == pytest.approx(10)
    assert snap.retention == 345600 and snap.visibility_timeout == 30

    lab.clock.advance(21)  # the visibility timeout and ... not yet the delay
    snap = queue_snapshot(lab.sandbox, url)  # by URL too
    assert snap is not None
    assert [m.state for m in snap.messages] == ["available", "available", "delayed"]
    # The counts agree with what SQS itself answers.
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert int(attrs["ApproximateNumberOfMessages"]) == snap.available
    assert int(attrs["ApproximateNumberOfMessagesDelayed"]) == snap.delayed


def test_fifo_groups_mark_the_blocked_group_and_its_waiting_messages(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url, _ = fifo_with_dlq(sqs)
    for body, group in [("a1", "ana"), ("b1", "ben"), ("a2", "ana")]:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
    sqs.receive_message(QueueUrl=url)  # a1: ana's group is now blocked
    snap = queue_snapshot(lab.sandbox, arn_of(sqs, url))  # by ARN too
    assert snap is not None and snap.fifo
    assert snap.blocked_groups == ("ana",)
    ana, ben = snap.groups
    assert (ana.group_id, ana.messages, ana.in_flight, ana.blocked) == ("ana", 2, 1, True)
    assert ana.seconds_left == pytest.approx(30)
    assert (ben.blocked, ben.in_flight) == (False, 0)
    by_body = {m.preview: m for m in snap.messages}
    assert by_body["a2"].blocked and not by_body["b1"].blocked
    assert by_body["a1"].group == "ana" and by_body["a1"].deduplication_id


def test_messages_moved_to_the_dead_letter_queue_show_on_both_queues(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url, dlq = fifo_with_dlq(sqs, receives=2)
    sqs.send_message(QueueUrl=url, MessageBody="poison", MessageGroupId="p")
    for _ in range(3):  # two receives without a delete, then the one that moves it
        sqs.receive_message(QueueUrl=url)
        lab.clock.advance(31)
    snap = queue_snapshot(lab.sandbox, "orders.fifo")
    assert snap is not None
    assert snap.total == 0
    assert (snap.dead_letter_queue, snap.max_receive_count) == ("orders-dlq.fifo", 2)
    assert snap.dead_letters is not None
    (dead,) = snap.dead_letters.messages
    assert (dead.preview, dead.receive_count) == ("poison", 2)
    dlq_snap = queue_snapshot(lab.sandbox, dlq)
    assert dlq_snap is not None and dlq_snap.sources == ("orders.fifo",)


def test_expired_messages_are_counted_and_not_listed(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="brief", Attributes={"MessageRetentionPeriod": "60"})[
        "QueueUrl"
    ]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    lab.clock.advance(30)
    sqs.send_message(QueueUrl=url, MessageBody="new")
    lab.clock.advance(31)
    snap = queue_snapshot(lab.sandbox, "brief")
    assert snap is not None
    assert [m.preview for m in snap.messages] == ["new"]
    assert snap.expired == 1 and snap.total == 1
    assert snap.messages[0].retention_left == pytest.approx(29)


def test_reading_changes_nothing(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="brief", Attributes={"MessageRetentionPeriod": "60"})[
        "QueueUrl"
    ]
    sqs.send_message(QueueUrl=url, MessageBody="old")
    sqs.receive_message(QueueUrl=url)
    lab.clock.advance(61)
    queue = lab.sandbox.backend("sqs").queues["brief"]
    store = queue.__dict__["_labkit_store"]
    before = (len(store), store.expired_count, store.inflight_count)
    for _ in range(3):
        queue_snapshot(lab.sandbox, "brief")
        message_state(lab.sandbox, "brief", "old")
    assert (len(store), store.expired_count, store.inflight_count) == before
    assert queue_snapshot(lab.sandbox, "missing") is None
    assert "missing" not in lab.sandbox.backend("sqs").queues


def test_listing_limits_and_message_state(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="deep")["QueueUrl"]
    for start in range(0, 60, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "MessageBody": f"m{start + i}"} for i in range(10)],
        )
    snap = queue_snapshot(lab.sandbox, "deep", limit=5)
    assert snap is not None
    assert [m.preview for m in snap.messages] == ["m0", "m1", "m2", "m3", "m4"]
    assert snap.more == 55 and snap.total == 60
    sqs.receive_message(QueueUrl=url)
    assert message_state(lab.sandbox, "deep", "m0") == ("in flight", 30.0, 1)
    assert message_state(lab.sandbox, "deep", "m9") == ("available", None, 0)
    assert message_state(lab.sandbox, "deep", "nope") is None
    assert queue_names(lab.sandbox) == ["deep"]


def test_access_policies_in_words() -> None:
    policy = {
        "Statement": [
            {
                "Sid": "TopicMaySend",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": "arn:aws:sqs:us-east-1:123456789012:q",
                "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:1:t"}},
            },
            {"Effect": "Deny", "Principal": "*", "Action": ["sqs:DeleteQueue", "sqs:Purge*"]},
        ]
    }
    allow, deny = policy_statements(json.dumps(policy))
    assert (allow.sid, allow.effect, allow.principal) == ("TopicMaySend", "Allow",
                                                          "sns.amazonaws.com")  # fmt: skip
    assert allow.condition == "aws:SourceArn ArnEquals arn:aws:sns:us-east-1:1:t"
    assert (deny.sid, deny.action) == ("statement 2", "sqs:DeleteQueue, sqs:Purge*")
    assert policy_statements(None) == ()
    assert policy_statements("{bad")[0].condition == "the policy is not valid JSON"


# -- topic snapshots ----------------------------------------------------------------------------
def allow_topic(sqs: Any, url: str, topic_arn: str) -> None:
    statement = {
        "Sid": "TopicMaySend",
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": arn_of(sqs, url),
        "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
    }
    sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"Policy": json.dumps({"Statement": [statement]})}
    )


def test_a_topic_says_which_message_went_where_and_why_one_failed(lab: Lab) -> None:
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    ship = sqs.create_queue(QueueName="shipping")["QueueUrl"]
    bill = sqs.create_queue(QueueName="billing")["QueueUrl"]
    allow_topic(sqs, ship, topic)  # billing has no policy
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn_of(sqs, ship),
        Attributes={
            "FilterPolicy": json.dumps({"delivery": ["ship"]}),
            "FilterPolicyScope": "MessageBody",
            "RawMessageDelivery": "true",
        },
    )
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn_of(sqs, bill))
    for delivery in ("ship", "pickup"):
        sns.publish(
            TopicArn=topic,
            Message=json.dumps({"delivery": delivery}),
            MessageAttributes={"size": {"DataType": "String", "StringValue": "big"}},
        )

    snap = topic_snapshot(lab.sandbox, "orders")
    assert snap is not None and not snap.fifo
    shipping, billing = snap.subscriptions
    assert (shipping.target, shipping.raw, shipping.allowed) == ("shipping", True, True)
    assert (shipping.filter_policy, shipping.filter_scope) == ('{"delivery":["ship"]}',
                                                               "MessageBody")  # fmt: skip
    assert billing.allowed is False and "no access policy" in billing.access
    assert billing.failures == 2 and "sns.amazonaws.com" in billing.last_failure
    assert snap.published == 2
    shipped, picked = snap.publications
    assert shipped.attributes == "size=big"
    assert [(o.endpoint, o.result) for o in shipped.outcomes] == [
        ("shipping", "delivered"),
        ("billing", "failed"),
    ]
    assert [o.result for o in picked.outcomes] == ["filtered out", "failed"]
    assert picked.outcomes[0].detail == 'MessageBody {"delivery":["ship"]}'
    assert picked.outcomes[1].detail.startswith("AccessDenied: ")
    assert topic_snapshot(lab.sandbox, topic) is not None  # by ARN
    assert topic_snapshot(lab.sandbox, "nope") is None
    assert topic_names(lab.sandbox) == ["orders"]


def test_a_fifo_topic_lists_only_what_it_did_not_deduplicate(lab: Lab) -> None:
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(
        Name="pay.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"}
    )["TopicArn"]
    url = sqs.create_queue(QueueName="ledger.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    allow_topic(sqs, url, topic)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn_of(sqs, url))
    for step in ("charge", "charge", "ship"):
        sns.publish(TopicArn=topic, Message=step, MessageGroupId="ana")
    snap = topic_snapshot(lab.sandbox, "pay.fifo")
    assert snap is not None and snap.fifo and snap.content_based_deduplication
    assert [(p.preview, p.group) for p in snap.publications] == [("charge", "ana"),
                                                                  ("ship", "ana")]  # fmt: skip


# -- renderers ----------------------------------------------------------------------------------
def test_the_queue_renders_as_words_and_symbols_in_html_and_text(lab: Lab) -> None:
    sqs = lab.client("sqs")
    url, _ = fifo_with_dlq(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="<script>alert(1)</script>", MessageGroupId="g")
    sqs.send_message(QueueUrl=url, MessageBody="next", MessageGroupId="g")
    sqs.receive_message(QueueUrl=url)
    html, text = queue_render.render(queue_snapshot(lab.sandbox, "orders.fifo"))
    for output in (html, text):
        assert "FIFO queue orders.fifo" in output
        assert "in flight: visible again in 30 s" in output
        assert "blocked" in output and "waits" in output
        assert "Dead-letter queue: orders-dlq.fifo, after 2 receives" in output
        assert "Access policy: none" in output
    assert "lane: ◐◌" in text
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'class="labkit-view labkit-queue"' in html
    assert "color:" not in html.replace("color:inherit", "")  # no colour carries meaning
    empty_html, empty_text = queue_render.render(None, name="ghost")
    assert "Queue ghost: not found" in empty_text and "send_message" in empty_html


def test_durations_for_readers() -> None:
    assert [queue_render.duration(s) for s in (0, 0.4, 45, 250, 3600, 345600, None)] == [
        "0 s", "0.4 s", "45 s", "4 min 10 s", "1 h", "4 days", "-",
    ]  # fmt: skip


def test_the_topic_renders_its_fan_out(lab: Lab) -> None:
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    url = sqs.create_queue(QueueName="billing")["QueueUrl"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn_of(sqs, url))
    sns.publish(TopicArn=topic, Message="o1")
    html, text = topic_render.render(topic_snapshot(lab.sandbox, "orders"))
    for output in (html, text):
        assert "SNS standard topic orders" in output
        assert "✗ denied" in output and "✗ failed (AccessDenied)" in output
        assert "none (gets every message)" in output
    assert "✗ billing (1 message): AccessDenied" in text
    _, nothing = topic_render.render(None, name="t")
    assert "SNS topic t: not found" in nothing


# -- widgets ------------------------------------------------------------------------------------
def test_the_queue_view_validates_its_state_and_says_when_the_lab_stopped() -> None:
    lab = labkit.start(quiet=True)
    sqs = lab.client("sqs")
    sqs.create_queue(QueueName="only")
    view = QueueView(lab, auto_refresh=False)  # the only queue
    assert view.queue["name"] == "only" and view.name == "only"
    with pytest.raises(TraitError, match="wrong keys"):
        view.queue = {"name": "x"}
    assert check_queue({}) == {}
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="only")["QueueUrl"], MessageBody="m")
    bundle = view._repr_mimebundle_()  # displaying it again takes a fresh snapshot
    assert bundle is not None and "● 1 available" in bundle["text/plain"]
    lab.stop()
    view.refresh()
    assert "This lab has stopped" in view.to_text()
    assert "● 1 available" in view.to_html()
    view.close()


def test_the_topic_view_follows_cells_in_ipython(lab: Lab, shell: InteractiveShell) -> None:
    sns = lab.client("sns")
    view = topic_view(lab, "orders")
    assert "SNS topic orders: not found" in view.to_text()
    refresher = AfterEachCell.of(shell)
    assert refresher is not None and view in refresher.views and view.following
    topic = sns.create_topic(Name="orders")["TopicArn"]
    sns.publish(TopicArn=topic, Message="hello")
    shell.events.trigger(EVENT, None)
    assert "1 message published" in view.to_text()
    assert "updates after each cell" in view.to_html()
    with pytest.raises(TraitError):
        check_topic({"name": "x"})
    view.close()
    assert not view.following
    queue = queue_view(lab)  # no queue yet: an empty view that says what to do
    assert "no queue yet" in queue.to_text()
    queue.close()
    assert isinstance(view, TopicView)


def test_held_queue_and_topic_views_keep_their_moment_and_live_ones_step_back(lab: Lab) -> None:
    sqs, sns = lab.client("sqs"), lab.client("sns")
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    topic = sns.create_topic(Name="events")["TopicArn"]
    live = queue_view(lab, "orders")
    sqs.send_message(QueueUrl=url, MessageBody="one")
    sqs.receive_message(QueueUrl=url)
    in_flight = live.hold()
    held_topic = topic_view(lab, "events", hold=True)
    sns.publish(TopicArn=topic, Message="hello")
    lab.clock.advance(31)
    live.refresh()
    assert isinstance(in_flight, QueueView) and isinstance(held_topic, TopicView)
    assert "◐ 1 in flight" in in_flight.to_text() and "visible again in 30 s" in in_flight.to_text()
    assert "0 messages published" in held_topic.to_text()
    for view in (in_flight, held_topic):
        assert "Held as of lab time 09:00:00" in view.to_text()
        assert "Held as of lab time 09:00:00" in view.to_html()
    assert "● 1 available" in live.to_text()
    live.show_state(-2)
    assert "◐ 1 in flight" in live.to_text() and "(an earlier state" in live.to_html()
    # The learner-facing names take the same argument.
    assert lab.queue_view("orders").hold().held
