# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Decoupling: SQS and SNS
#
# Two services that talk to each other can be **coupled** in two ways:
#
# - **synchronously**: the buying service calls the shipping service and waits for its answer;
# - **asynchronously**: the buying service leaves the order in a **queue** and carries on; the
#   shipping service takes orders from the queue when it can.
#
# AWS offers three models for the second way, and this course has a lab for each:
#
# - **SQS**, the queue model: a message is handled by one consumer, then deleted (this lab);
# - **SNS**, the publish/subscribe model: one message, many receivers (this lab);
# - **Kinesis**, the streaming model: an ordered log that many readers replay (the streaming lab).
#
# This lesson runs against labkit's sandbox (moto, made faithful where the course needs it) on
# the **lab clock**: time moves only when a cell says so, so a visibility timeout or a retention
# period of days takes no real time. The **queue view** shows a queue from the inside as your cells
# run: which messages are visible, which are in flight and for how long still, which are delayed,
# which went to the dead-letter queue. Real AWS never shows you that much.
#
# Every AWS number comes from labkit's fact table, with its documentation page: `fact(...)`
# prints both.

# %%
import json
import re

from IPython.display import display

import labkit
from labkit.facts import fact, value
from labkit.services.sns.widget import topic_view
from labkit.services.sqs import sim_coupling as coupling
from labkit.services.sqs import sim_scaling as scaling
from labkit.services.sqs.view_plots import coupling_plot, scaling_plot
from labkit.services.sqs.widget import queue_view

lab = labkit.start("decoupling")
sqs = lab.client("sqs")
sns = lab.client("sns")

# %% [markdown]
# ## 1. A traffic spike: calling directly or through a queue
#
# The notes warn that "if 1 service suddenly spikes it can have problem". Here is what the
# problem is. A shop's buying service hands each order to a shipping service whose workers ship
# a fixed number of orders per second. Then a spike: for a minute, customers order several times
# faster than shipping can ship.
#
# `coupling.compare` runs the same orders (same seed) through both designs on a lab clock:
#
# - **synchronous**: the buying service calls shipping and gives up after a timeout; the
#   customer gets an error. Shipping has a line of calls waiting for a worker; when the line is
#   full it refuses calls at once. It does not know that a caller gave up, so it still ships
#   that order later: work nobody waits for any more.
# - **through a queue**: the buying service sends the order to a queue and tells the customer at
#   once; the same workers take orders from the queue.

# %%
spike = coupling.Spike(base_rate=4, peak_rate=20, start=60, length=60, duration=360)
shipping = coupling.Shipping(workers=4, seconds_per_order=0.5)
sync_run, queue_run = coupling.compare(spike, shipping, timeout=3, max_waiting=200, seed=7)

fig = coupling_plot(sync_run, queue_run)
print(sync_run.summary())
print(queue_run.summary())
print()
print(coupling.text_table([sync_run, queue_run], every=30))

# %% [markdown]
# With a direct call, every order beyond shipping's capacity fails while the spike lasts, and
# failures go on after it: the line is full of orders whose customers already gave up, so even
# normal orders time out behind them (the **wasted** work). A slow or failing shipping service
# becomes the buying service's failure.
#
# Through the queue, no order fails. The queue takes the spike as a **backlog** and shipping
# works it off at its own pace after the spike; what grows is the time an order waits before it
# ships. The two services are **decoupled**: each can slow down, fail, restart or scale without
# the other noticing, as long as the queue holds the messages in between.

# %% [markdown]
# ## 2. A standard queue: producers, consumers and a glass box
#
# **Producers** send messages to a queue (one or many producers); **consumers** poll the queue,
# handle what they receive, and **delete** it. A queue is created with a few settings; those not
# given take their defaults:

# %%
orders_url = sqs.create_queue(QueueName="orders")["QueueUrl"]
attributes = sqs.get_queue_attributes(QueueUrl=orders_url, AttributeNames=["All"])["Attributes"]
for name in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "MaximumMessageSize"):
    print(f"{name:24s} {attributes[name]}")
print()
for fact_id in ("sqs.visibility_timeout_default", "sqs.retention_default", "sqs.max_message_size"):
    print(fact(fact_id))

# %% [markdown]
# The notes say "each message is less than 256kb". That was the limit until 2025; it is now
# **1 MiB** (body and attributes together), as the fact above says. The queue view shows the
# queue as the lab clock stands, and follows it after every cell you run; it keeps each state it
# showed, and its step control (`◀ earlier`, `later ▶`) goes back through them. Further down,
# `orders_view.hold()` shows the queue **held** at the moment its cell ran: it stays as the text
# around it describes, however you run the notebook.

# %%
orders_view = queue_view(lab, "orders")
orders_view

# %% [markdown]
# Two producers send orders; `send_message_batch` sends up to ten messages in one call, and one
# more is refused:

# %%
print(fact("sqs.batch_max_messages"))
sqs.send_message(QueueUrl=orders_url, MessageBody=json.dumps({"order": 1, "from": "web"}))
batch = [
    {"Id": str(n), "MessageBody": json.dumps({"order": n, "from": "mobile"})} for n in range(2, 12)
]
sqs.send_message_batch(QueueUrl=orders_url, Entries=batch)
try:
    sqs.send_message_batch(
        QueueUrl=orders_url,
        Entries=[
            {"Id": str(n), "MessageBody": "x"} for n in range(value("sqs.batch_max_messages") + 1)
        ],
    )
except sqs.exceptions.ClientError as error:
    print(f"refused: {error.response['Error']['Code']} - {error.response['Error']['Message']}")

# %% [markdown]
# And the size limit, at its edge:

# %%
limit = value("sqs.max_message_size")
for size in (limit, limit + 1):
    try:
        sqs.send_message(QueueUrl=orders_url, MessageBody="x" * size)
        print(f"{size:,} bytes: accepted")
    except sqs.exceptions.ClientError as error:
        print(f"{size:,} bytes: refused ({error.response['Error']['Message']})")

# %% [markdown]
# Bigger payloads go to S3, with only their key in the message. Now the queue holds a dozen
# messages, all **available** (`●` in the view's lane):

# %%
orders_view.hold()

# %% [markdown]
# A **consumer loop**: receive up to ten messages at a time, handle each, and **delete** each one
# handled, with the receipt handle of that receive. Receiving does not remove a message: it only
# hides it for a while (section 3). A message that is never deleted comes back.


# %%
def handle(body):
    """What the shipping service does with one order."""
    return f"shipped {len(body)} bytes"


def consume_all(sqs, queue_url):
    """Receive, handle and delete until the queue is empty; how many messages were handled."""
    handled = 0
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not messages:
            return handled
        for message in messages:
            handle(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            handled += 1


print(fact("sqs.receive_max_messages"))
print(f"handled {consume_all(sqs, orders_url)} messages")
orders_view.hold()

# %% [markdown]
# ### At least once: duplicates happen
#
# A standard queue delivers every message **at least once**. AWS keeps copies of each message on
# several servers, and now and then a consumer receives a message twice. More often the duplicate
# comes from the consumer itself: it crashes after its work but before `delete_message`, and the
# message comes back after its visibility timeout. The lab clock shows that second case:

# %%
sqs.send_message(QueueUrl=orders_url, MessageBody=json.dumps({"order": 42}))
first = sqs.receive_message(QueueUrl=orders_url)["Messages"][0]
# ... the consumer ships order 42, then crashes before it can delete the message ...
lab.clock.advance(value("sqs.visibility_timeout_default") + 1)
again = sqs.receive_message(QueueUrl=orders_url, MessageSystemAttributeNames=["All"])["Messages"][0]
print(f"same message: {first['MessageId'] == again['MessageId']}")
print(f"times received: {again['Attributes']['ApproximateReceiveCount']}")

# %% [markdown]
# So a consumer must be **idempotent**: handling the same message twice must do no harm, for
# example by remembering the order ids it already shipped. A standard queue also keeps only a
# best-effort order (FIFO queues, section 7, keep order and remove duplicates).

# %%
shipped = set()


def ship_once(body):
    order = json.loads(body)["order"]
    if order in shipped:
        return f"order {order}: already shipped, nothing to do"
    shipped.add(order)
    return f"order {order}: shipped"


sqs.delete_message(QueueUrl=orders_url, ReceiptHandle=again["ReceiptHandle"])
print(ship_once(first["Body"]))
print(ship_once(again["Body"]))

# %% [markdown]
# ### Retention: how long an unhandled message stays
#
# A message nobody deletes is kept for the queue's **retention period**, then deleted by SQS. The
# notes say "14 days max, 1 day is okay": the maximum is right; the default is 4 days, and the
# smallest setting is a minute:

# %%
for fact_id in ("sqs.retention_min", "sqs.retention_default", "sqs.retention_max"):
    print(fact(fact_id))

short_url = sqs.create_queue(
    QueueName="short-lived", Attributes={"MessageRetentionPeriod": str(value("sqs.retention_min"))}
)["QueueUrl"]
sqs.send_message(QueueUrl=short_url, MessageBody="read me within a minute")
lab.clock.advance(value("sqs.retention_min") + 1)
counts = sqs.get_queue_attributes(QueueUrl=short_url, AttributeNames=["All"])["Attributes"]
print(f"messages left after a minute: {counts['ApproximateNumberOfMessages']}")
try:
    sqs.set_queue_attributes(
        QueueUrl=short_url,
        Attributes={"MessageRetentionPeriod": str(value("sqs.retention_min") - 1)},
    )
except sqs.exceptions.ClientError as error:
    print(f"a shorter period is refused: {error.response['Error']['Code']}")
queue_view(lab, "short-lived", hold=True)

# %% [markdown]
# ### Access policies
#
# Who may use a queue is decided by IAM policies (on your own users and roles) and by the
# queue's own **access policy**, a resource policy. The access policy is what lets **another
# account** or **an AWS service** (SNS, S3 event notifications, EventBridge) send to your queue.
# Without one, only identities of the queue's own account can use it. This one lets the account
# `111122223333` send orders to a queue of its own, and nothing else:

# %%
partner_url = sqs.create_queue(QueueName="partner-orders")["QueueUrl"]
partner_arn = sqs.get_queue_attributes(QueueUrl=partner_url, AttributeNames=["QueueArn"])[
    "Attributes"
]["QueueArn"]
partner_policy = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "PartnerMaySendOrders",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "sqs:SendMessage",
            "Resource": partner_arn,
        }
    ],
}
sqs.set_queue_attributes(QueueUrl=partner_url, Attributes={"Policy": json.dumps(partner_policy)})
queue_view(lab, "partner-orders", hold=True)

# %% [markdown]
# Section 9 shows the most common use, and the most common mistake: an SNS topic may deliver to
# a queue only when the queue's policy lets it.
#
# ## 3. The visibility timeout
#
# When a consumer receives a message, SQS does not remove it: it **hides** it from other
# consumers for the **visibility timeout**, the time the consumer has to handle and delete it. The
# message is **in flight**. If the timeout runs out first, the message becomes visible again and
# another consumer receives it.

# %%
print(fact("sqs.visibility_timeout_default"))
print(fact("sqs.visibility_timeout_max"))
sqs.send_message(QueueUrl=orders_url, MessageBody=json.dumps({"order": 7}))
received = sqs.receive_message(QueueUrl=orders_url)["Messages"][0]
lab.clock.advance(10)
orders_view.hold()

# %% [markdown]
# The view counts down (`◐ in flight: visible again in 20 s`). A consumer that needs longer asks
# for more time with `ChangeMessageVisibility`: the new timeout counts from now. Consumers doing
# long work call it regularly (a heartbeat). It cannot go past the maximum, counted from when the
# message was first received:

# %%
sqs.change_message_visibility(
    QueueUrl=orders_url, ReceiptHandle=received["ReceiptHandle"], VisibilityTimeout=120
)
lab.clock.advance(60)
state = sqs.get_queue_attributes(QueueUrl=orders_url, AttributeNames=["All"])["Attributes"]
print(f"60 s later, still in flight: {state['ApproximateNumberOfMessagesNotVisible']}")
try:
    sqs.change_message_visibility(
        QueueUrl=orders_url,
        ReceiptHandle=received["ReceiptHandle"],
        VisibilityTimeout=value("sqs.visibility_timeout_max") + 1,
    )
except sqs.exceptions.ClientError as error:
    print(f"refused: {error.response['Error']['Message']}")
_ = sqs.delete_message(QueueUrl=orders_url, ReceiptHandle=received["ReceiptHandle"])

# %% [markdown]
# ### A timeout shorter than the work
#
# Two consumers, A and B, poll the same queue; shipping one order takes 45 s, and the queue keeps
# the default timeout. A receives the order and starts; while A works, B polls every 5 s. The
# clock's scheduler runs B's polls while A's work moves time forward:

# %%
sqs.send_message(QueueUrl=orders_url, MessageBody=json.dumps({"order": 8}))
log = []


def at():
    return f"{lab.clock.timestamp - started:4.0f} s"


def consumer_b():
    for message in sqs.receive_message(QueueUrl=orders_url).get("Messages", []):
        log.append(f"{at()}  B ships {message['Body']}")
        sqs.delete_message(QueueUrl=orders_url, ReceiptHandle=message["ReceiptHandle"])


started = lab.clock.timestamp
a_message = sqs.receive_message(QueueUrl=orders_url)["Messages"][0]
log.append(f"{at()}  A starts {a_message['Body']}")
polling = lab.clock.every(5, consumer_b)
lab.clock.advance(45)  # A's work
polling.cancel()
log.append(f"{at()}  A ships {a_message['Body']}")
sqs.delete_message(QueueUrl=orders_url, ReceiptHandle=a_message["ReceiptHandle"])
print("\n".join(log))

# %% [markdown]
# The order shipped twice. Set the visibility timeout longer than the work takes (on the queue,
# on each `receive_message` with `VisibilityTimeout=`, or by extending it while working), and
# keep consumers idempotent anyway. Too long has a cost too: a message whose consumer crashed
# stays hidden until the timeout ends.
#
# ## 4. Long polling: fewer empty answers
#
# `ReceiveMessage` **short-polls** by default: it answers at once, empty when nothing is there.
# A consumer that loops then pays for one empty call after another. With **long polling**
# (`WaitTimeSeconds` above zero, up to the maximum printed below, or the queue's
# `ReceiveMessageWaitTimeSeconds`) SQS holds the
# call open until a message arrives or the wait ends. In the lab the wait happens on the lab
# clock: the call returns at once with the clock moved.

# %%
print(fact("sqs.long_poll_wait_max"))
print(fact("sqs.long_poll_wait_default"))

# %% [markdown]
# Five lab minutes, six orders arriving at scattered times. botocore's event hooks count the
# `ReceiveMessage` calls each consumer makes (a short-polling consumer that waits 1 s between
# empty answers, the polite kind).

# %%
quiet_url = sqs.create_queue(QueueName="quiet-hours")["QueueUrl"]
calls = {"count": 0, "empty": 0}


def count_call(**kwargs):
    calls["count"] += 1


def count_empty(parsed, **kwargs):
    if not parsed.get("Messages"):
        calls["empty"] += 1


sqs.meta.events.register("before-call.sqs.ReceiveMessage", count_call)
sqs.meta.events.register("after-call.sqs.ReceiveMessage", count_empty)


def run_consumer(wait_seconds, minutes=5, arrivals=(15, 70, 75, 145, 205, 280)):
    """Poll for ``minutes`` of lab time while orders arrive; (calls, empty calls, received)."""
    start = lab.clock.timestamp
    for at in arrivals:
        lab.clock.call_at(start + at, lambda: sqs.send_message(QueueUrl=quiet_url, MessageBody="o"))
    calls.update(count=0, empty=0)
    got = 0
    while lab.clock.timestamp < start + minutes * 60:
        messages = sqs.receive_message(
            QueueUrl=quiet_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        ).get("Messages", [])
        for message in messages:
            sqs.delete_message(QueueUrl=quiet_url, ReceiptHandle=message["ReceiptHandle"])
        got += len(messages)
        if not messages and wait_seconds == 0:
            lab.clock.advance(1)  # the short-polling consumer sleeps a second
    return calls["count"], calls["empty"], got


for wait in (0, value("sqs.long_poll_wait_max")):
    made, empty, got = run_consumer(wait)
    print(
        f"WaitTimeSeconds={wait:2d}: {made:4d} ReceiveMessage calls, {empty:4d} empty, {got} orders"
    )
sqs.meta.events.unregister("before-call.sqs.ReceiveMessage", count_call)
sqs.meta.events.unregister("after-call.sqs.ReceiveMessage", count_empty)

# %% [markdown]
# Same orders, a small fraction of the calls (SQS bills per request), and each order is picked up
# the moment it arrives instead of up to a second later.
#
# ## 5. Delay queues
#
# A **delay** postpones a new message's delivery: for every message of a **delay queue**
# (`DelaySeconds` on the queue) or for one message (`DelaySeconds` on `send_message`). A delayed
# message is in the queue but cannot be received yet (`◷` in the view).

# %%
print(fact("sqs.delay_max"))
sqs.send_message(
    QueueUrl=orders_url, MessageBody=json.dumps({"order": 9, "note": "ship after the cooling-off"}),
    DelaySeconds=value("sqs.delay_max"),
)  # fmt: skip
try:
    sqs.send_message(
        QueueUrl=orders_url, MessageBody="too late", DelaySeconds=value("sqs.delay_max") + 1
    )
except sqs.exceptions.ClientError as error:
    print(f"refused: {error.response['Error']['Message']}")
print(f"receivable now: {len(sqs.receive_message(QueueUrl=orders_url).get('Messages', []))}")
lab.clock.advance(600)
orders_view.hold()

# %%
lab.clock.advance(value("sqs.delay_max") - 600)
print(f"receivable now: {consume_all(sqs, orders_url)}")

# %% [markdown]
# ## 6. Dead-letter queues
#
# A **poison message** is one its consumer can never handle (a malformed order, an address that
# does not exist). Never deleted, it comes back after every visibility timeout, forever (well,
# until retention ends it), and costs a receive each time. A **dead-letter queue** (DLQ) sets it
# aside: the source queue's **redrive policy** names the DLQ and a `maxReceiveCount`; a message
# received that many times without a delete moves to the DLQ at its next receive.

# %%
print(fact("sqs.max_receive_count_min"))
print(fact("sqs.max_receive_count_max"))
dlq_url = sqs.create_queue(
    QueueName="orders-dlq",
    # A standard queue's message keeps its first enqueue time in the DLQ, so give the DLQ a
    # longer retention than the source queue, or messages expire there early.
    Attributes={"MessageRetentionPeriod": str(value("sqs.retention_max"))},
)["QueueUrl"]
dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
    "QueueArn"
]
sqs.set_queue_attributes(
    QueueUrl=orders_url,
    Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}),
        "VisibilityTimeout": "60",
    },
)
sqs.send_message(QueueUrl=orders_url, MessageBody=json.dumps({"order": 10, "address": None}))
sqs.send_message(QueueUrl=orders_url, MessageBody=json.dumps({"order": 11, "address": "Main St"}))


def picky_consumer():
    """Ships orders with an address; fails (does not delete) on the others."""
    for message in sqs.receive_message(QueueUrl=orders_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        if json.loads(message["Body"])["address"] is None:
            continue  # handling failed: leave it, SQS will deliver it again
        sqs.delete_message(QueueUrl=orders_url, ReceiptHandle=message["ReceiptHandle"])


for _ in range(3):
    picky_consumer()
    lab.clock.advance(61)
orders_view.hold()

# %% [markdown]
# Order 10 was received three times; the view shows `3×`. The next receive moves it:

# %%
picky_consumer()
orders_view.hold()

# %% [markdown]
# ### Moving messages back (redrive)
#
# Once the bug is fixed, the dead letters should go back to the source queue. AWS offers this as
# **DLQ redrive**: the console's "Start DLQ redrive" button, or the API's `StartMessageMoveTask`,
# which moves the messages back at a rate you can set (the source queue's `RedriveAllowPolicy`
# says which queues may use it as a DLQ). The sandbox does not simulate that API, and says so with
# a `labkit.NotSimulatedError` that names the operation (never a traceback through moto):

# %%
try:
    orders_arn = sqs.get_queue_attributes(QueueUrl=orders_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=orders_arn)
except labkit.NotSimulatedError as error:
    print(error)

# %% [markdown]
# The same thing by hand, which works everywhere: receive from the DLQ, send to the source queue,
# and delete from the DLQ only once the send succeeded.


# %%
def redrive(sqs, from_url, to_url):
    moved = 0
    while True:
        messages = sqs.receive_message(QueueUrl=from_url, MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not messages:
            return moved
        for message in messages:
            sqs.send_message(QueueUrl=to_url, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=from_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1


print(f"moved back: {redrive(sqs, dlq_url, orders_url)}")
orders_view.hold()

# %% [markdown]
# The message came back as a new message (a new id, received `0×`). Handle it, and the queues are
# empty again:

# %%
print(f"handled: {consume_all(sqs, orders_url)}")
orders_view.hold()

# %% [markdown]
# ## 7. FIFO queues
#
# A **FIFO queue** (its name ends in `.fifo`) delivers **in order** and **exactly once**:
#
# - every message carries a **message group id**; order is kept **per group**, and while a
#   message of a group is in flight, the group's next messages wait (the group is **blocked**).
#   Different groups are independent, so consumers work on several groups in parallel;
# - every message has a **deduplication id** (given, or the SHA-256 of the body with
#   content-based deduplication); a second message with the same id within the interval is
#   accepted but not delivered, even after the first one was deleted.

# %%
print(fact("sqs.fifo_dedup_interval"))
payments_url = sqs.create_queue(
    QueueName="payments.fifo",
    Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
)["QueueUrl"]
for customer, step in [("ana", "reserve"), ("ben", "reserve"), ("ana", "charge"),
                       ("ana", "ship"), ("ben", "charge"), ("ben", "ship")]:  # fmt: skip
    sqs.send_message(
        QueueUrl=payments_url,
        MessageBody=json.dumps({"customer": customer, "step": step}),
        MessageGroupId=customer,
    )
first_payment = sqs.receive_message(QueueUrl=payments_url)["Messages"][0]
print(f"received: {first_payment['Body']}")
queue_view(lab, "payments.fifo", hold=True)

# %% [markdown]
# `ana`'s first message is in flight, so her group is blocked (`⊘`): a consumer receiving now
# gets `ben`'s messages, never `ana`'s "charge" before her "reserve" is done:

# %%
for message in sqs.receive_message(QueueUrl=payments_url, MaxNumberOfMessages=10)["Messages"]:
    print(f"received: {message['Body']}")
    sqs.delete_message(QueueUrl=payments_url, ReceiptHandle=message["ReceiptHandle"])
sqs.delete_message(QueueUrl=payments_url, ReceiptHandle=first_payment["ReceiptHandle"])
queue_view(lab, "payments.fifo", hold=True)

# %% [markdown]
# `ana`'s group is free again; her "charge" and "ship" follow, in order. Then deduplication:
# sending `ana`'s "reserve" again (a producer retrying after a timeout) is accepted, and not
# delivered, for the whole interval, even though the first copy was deleted. After the interval
# the same body is a new message:

# %%
print(f"handled: {consume_all(sqs, payments_url)}")
again = json.dumps({"customer": "ana", "step": "reserve"})


def available():
    attrs = sqs.get_queue_attributes(QueueUrl=payments_url, AttributeNames=["All"])["Attributes"]
    return attrs["ApproximateNumberOfMessages"]


sqs.send_message(QueueUrl=payments_url, MessageBody=again, MessageGroupId="ana")
print(f"within the interval, messages available: {available()}")
lab.clock.advance(value("sqs.fifo_dedup_interval"))
sqs.send_message(QueueUrl=payments_url, MessageBody=again, MessageGroupId="ana")
print(f"after the interval, messages available: {available()}")
print(f"handled: {consume_all(sqs, payments_url)}")

# %% [markdown]
# An explicit `MessageDeduplicationId` (an order id, a payment id) works the same way and takes
# precedence over the body: two different bodies with one id are one message, two equal bodies
# with different ids are two.

# %%
for body, dedup_id in [("charge 30 EUR", "pay-17"), ("charge 30 EUR (retry)", "pay-17"),
                       ("refund 5 EUR", "pay-18"), ("refund 5 EUR", "pay-19")]:  # fmt: skip
    sqs.send_message(
        QueueUrl=payments_url,
        MessageBody=body,
        MessageGroupId="ana",
        MessageDeduplicationId=dedup_id,
    )
received = []
while True:
    got = sqs.receive_message(QueueUrl=payments_url, MaxNumberOfMessages=10).get("Messages", [])
    if not got:
        break
    for message in got:
        received.append(message["Body"])
        sqs.delete_message(QueueUrl=payments_url, ReceiptHandle=message["ReceiptHandle"])
print(received)

# %% [markdown]
# ### FIFO throughput, and the notes' arithmetic
#
# The notes say: "SQS FIFO 300 message per second, if you activate batch mode for example 4 batch
# you have 1200 message per second (max 10 batch)". The limit is **300 calls per second per API
# action** (`SendMessage`, `ReceiveMessage` and `DeleteMessage` count separately), and a call may
# carry a batch of up to ten messages, so batching reaches ten times the figure, which is the
# documented one. Four messages per batch would give 1,200 only if every batch held exactly four.
# **High-throughput mode** (`DeduplicationScope=messageGroup`, `FifoThroughputLimit=
# perMessageGroupId`) goes far beyond, depending on the Region. Standard queues are the notes'
# "unlimited, no limit": nearly unlimited calls per second, though other quotas remain, such as
# the number of messages in flight at once:

# %%
for fact_id in (
    "sqs.fifo_tps_per_api_action",
    "sqs.batch_max_messages",
    "sqs.fifo_batched_msgs_per_second",
    "sqs.fifo_high_throughput_tps",
    "sqs.standard_throughput",
    "sqs.inflight_max_standard",
):
    print(fact(fact_id))
print(
    "300 calls/s x 10 messages per batch =",
    value("sqs.fifo_tps_per_api_action") * value("sqs.batch_max_messages"),
)

# %% [markdown]
# ### Ordering: SQS FIFO group ids or Kinesis shards?
#
# The notes: "if you want a dynamic number of groups, SQS FIFO group id is better; if you have
# 10k trucks, Kinesis Data Streams is better; but if you want a lot of consumers FIFO is better
# because the number of shards is limited". Both keep order per key (a group id, a partition
# key). With numbers, for 10,000 trucks each sending a reading a second:

# %%
trucks, per_truck = 10_000, 1
rate = trucks * per_truck
fifo_batched = value("sqs.fifo_batched_msgs_per_second")
shard_records = value("kinesis.shard_write_records_per_second")
print(f"{rate:,} readings/s")
print(f"SQS FIFO, normal mode: at most {fifo_batched:,} msg/s with batches -> too slow")
print(f"SQS FIFO, high-throughput mode: {value('sqs.fifo_high_throughput_tps'):,} calls/s "
      "in the largest Regions -> enough")  # fmt: skip
print(f"Kinesis: {shard_records:,} records/s per shard -> {-(-rate // shard_records)} shards")

# %% [markdown]
# - **SQS FIFO**: each message is consumed once, by one application. Parallelism comes from the
#   groups: each group is handled by one consumer at a time, so 10,000 trucks allow up to 10,000
#   consumers, and their number can change freely. This is the notes' "dynamic number of groups"
#   and "a lot of consumers".
# - **Kinesis**: records stay in the stream for its retention and **many applications** read them
#   independently, each from its own position, and can replay them. Within one application,
#   parallelism is one consumer per shard, and the shard count is what you provision (and pay).
#   For heavy telemetry read by several applications, as 10,000 trucks usually are, Kinesis fits.
#
# ## 8. Scaling consumers on queue depth
#
# The notes: "consumer: EC2, on-premises, Lambda, an ASG can scale up with a CloudWatch alarm from
# the queue length metric". AWS's recipe for an Auto Scaling group of consumers is a **target
# tracking** policy on the **backlog per instance**: visible messages divided by instances in
# service. Its target is the acceptable wait divided by the time one instance takes per message.
#
# moto publishes no SQS metrics and evaluates no alarms, so this part is a simulation on a lab
# clock (`labkit.services.sqs.sim_scaling`): orders ramp up to a spike and back; once per metric
# period the policy computes the capacity that brings the backlog per instance to the target, and
# launches instances, which start handling messages a launch time later. It removes instances
# more slowly, a few at a time, as target tracking does.

# %%
print(fact("cloudwatch.sqs_metric_interval"))
workload = scaling.Workload(
    base_rate=4, peak_rate=40, ramp=600, spike_length=600, duration=3000, seconds_per_message=0.5
)
group = scaling.Group(min_size=1, max_size=40, initial=3, launch_seconds=120)
acceptable_wait = 180
formula = scaling.recommended_target(workload.seconds_per_message, acceptable_wait)
runs = scaling.sweep([formula / 3, formula], workload, group=group)
fig = scaling_plot(runs)
for run in runs:
    print(run.summary())
print()
print(runs[-1].table(every=240))

# %% [markdown]
# Watch the instances follow the backlog, a launch time behind it:
#
# - With AWS's formula (acceptable wait / seconds per message), orders still wait longer than
#   acceptable in the spike: the formula assumes the instances exist, but new ones take their
#   launch time to start while the backlog keeps growing. A smaller target scales out earlier,
#   and pays for more instances.
# - The backlog cannot tell "just keeping up" from "idle": at the top of the spike the queue is
#   empty, the policy removes instances, the backlog comes back, and it adds them again.
#
# Try other targets (and other `launch_seconds`) in the cell above: the exercise asks for a
# target that keeps every order's wait under a limit without paying for idle instances.
#
# ## 9. SNS: one message, many receivers
#
# An **SNS topic** pushes each message a **publisher** sends to every **subscriber**. The notes'
# lists, checked: subscribers are SQS queues, Lambda functions, Data Firehose streams, HTTP(S)
# endpoints, email, SMS and mobile push. Here they are from the SNS API itself:

# %%
protocol_doc = sns.meta.service_model.operation_model("Subscribe").input_shape.members["Protocol"]
for item in protocol_doc.documentation.split("<li>")[1:]:
    print(" - " + re.sub(r"<[^>]+>", "", item).strip())

# %% [markdown]
# Publishers: your applications, and AWS services that send notifications to a topic: S3 event
# notifications, CloudWatch alarms, Auto Scaling group notifications, Lambda (code, or its
# asynchronous-invocation destinations), and many more. DynamoDB, listed in the notes, does not
# publish table changes to SNS itself: its **Streams** feed a Lambda function (or EventBridge
# Pipes), which may publish. SNS messages are small, and the notes' 256 KB is SNS's default:

# %%
print(fact("sns.max_message_size_default"))
print(fact("sns.max_message_size_configurable"))

# %% [markdown]
# ### Fan-out, and the queue policy it needs
#
# **Fan-out**: one topic, several queues, each with its own consumers; the shop publishes an order
# once and shipping, billing and analytics each get their copy. Each subscription may have a
# **filter policy**: the topic delivers a message to it only when the message matches. By default
# the policy reads the **message attributes**: analytics wants only big orders, flagged in an
# attribute. First without access policies, the classic mistake:

# %%
topic_arn = sns.create_topic(Name="order-events")["TopicArn"]
fan_urls, fan_arns, subscriptions = {}, {}, {}
filters = {"analytics": {"FilterPolicy": json.dumps({"size": ["big"]})}}
for name in ("shipping", "billing", "analytics"):
    fan_urls[name] = sqs.create_queue(QueueName=name)["QueueUrl"]
    fan_arns[name] = sqs.get_queue_attributes(QueueUrl=fan_urls[name], AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    subscriptions[name] = sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=fan_arns[name],
        Attributes=filters.get(name, {}),
    )["SubscriptionArn"]


def publish(order_id, delivery, size):
    sns.publish(
        TopicArn=topic_arn,
        Message=json.dumps({"order_id": order_id, "delivery": delivery}),
        MessageAttributes={"size": {"DataType": "String", "StringValue": size}},
    )


publish("o1", "ship", "big")
topic_view(lab, "order-events", hold=True)

# %% [markdown]
# `Publish` succeeded, yet no queue got anything: SNS may send to a queue only when the
# queue's access policy allows it, and the failure is never reported to the publisher. (AWS
# reports it in delivery logs, if you set them up; the view says why.) The policy allows the
# service principal `sns.amazonaws.com`, for this queue, **only** for this topic
# (`aws:SourceArn`): without that condition any topic of any account could fill the queue.
#
# The view's **delivery log**, under the fan-out, keeps each message's story as it happened:
# for every subscription ✓ delivered, – filtered out (on the attributes or the body, and which
# key did not match) or ✗ failed with the reason. AWS shows only counts in CloudWatch, or
# delivery status logs once you set them up.


# %%
def allow_topic(queue_url, queue_arn, topic_arn):
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TopicMaySend",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})


for name in ("shipping", "billing", "analytics"):
    allow_topic(fan_urls[name], fan_arns[name], topic_arn)
publish("o2", "ship", "small")
topic_view(lab, "order-events", hold=True)

# %% [markdown]
# Who else may send now? AWS never tells you in advance; the sandbox can. `lab.access` asks the same
# policy engine that decides every delivery above, and says which statement decided, or which came
# closest and why it did not apply. Our topic, then a topic of the same name in **another
# account**, then a caller with no credentials at all:

# %%
for source in (topic_arn, "arn:aws:sns:us-east-1:210987654321:order-events"):
    display(
        lab.access("shipping", "sqs:SendMessage", principal="sns.amazonaws.com", source_arn=source)
    )
lab.access("shipping", "sqs:SendMessage", principal="anonymous")

# %% [markdown]
# Every AWS service that sends to your queue needs such a statement. For an S3 bucket's event
# notifications it names the principal `s3.amazonaws.com` and the bucket's ARN
# (`arn:aws:s3:::bucket-name`) as `aws:SourceArn`. S3 checks it up front: while the queue's policy
# does not let the bucket send, `put_bucket_notification_configuration` fails with
# `InvalidArgument`, "Unable to validate the following destination configurations", and the
# error's `ArgumentValue` says which queue and why.

# %% [markdown]
# ### Filter policies on the body
#
# With `FilterPolicyScope` set to `MessageBody`, a filter policy reads the JSON **body** instead
# of the attributes. Shipping wants only the orders to ship, which the body says:

# %%
ship_sub = subscriptions["shipping"]
sns.set_subscription_attributes(
    SubscriptionArn=ship_sub, AttributeName="FilterPolicyScope", AttributeValue="MessageBody"
)
sns.set_subscription_attributes(
    SubscriptionArn=ship_sub,
    AttributeName="FilterPolicy",
    AttributeValue=json.dumps({"delivery": ["ship"]}),
)
publish("o3", "pickup", "small")
publish("o4", "ship", "big")
publish("o5", "download", "big")
topic_view(lab, "order-events", hold=True)

# %% [markdown]
# A filter on the wrong scope matches nothing: a policy `{"delivery": ["ship"]}` left on the
# default scope looks for a message **attribute** called `delivery`, which these messages do not
# have. The exercise checks that you pick the scope that matches where the data is.
#
# ### Raw message delivery
#
# By default a queue receives an SNS **envelope**: a JSON document whose `Message` field holds
# the message as a string, next to the topic, the id, a signature. With **raw message delivery**
# the queue receives the message itself (and its attributes as SQS message attributes):

# %%
envelope = sqs.receive_message(QueueUrl=fan_urls["billing"])["Messages"][0]["Body"]
print("billing, envelope: " + envelope[:160].replace("\n", " ") + " ...")
sns.set_subscription_attributes(
    SubscriptionArn=ship_sub, AttributeName="RawMessageDelivery", AttributeValue="true"
)
publish("o6", "ship", "small")
for message in sqs.receive_message(QueueUrl=fan_urls["shipping"], MaxNumberOfMessages=10)[
    "Messages"
]:
    print("shipping: " + message["Body"][:80].replace("\n", " "))

# %% [markdown]
# (The shipping queue holds envelopes from before the change and the raw `o6` after it.)
#
# ### FIFO topics to FIFO queues
#
# A **FIFO topic** (`.fifo`) keeps order per message group and deduplicates, like a FIFO queue,
# and delivers to FIFO queues (standard queues may subscribe too, without the ordering). Its
# throughput is lower than a standard topic's; the notes' "FIFO 3000" is the topic-scope figure:

# %%
print(fact("sns.fifo_topic_throughput"))
print(fact("sns.fifo_dedup_interval"))
fifo_topic = sns.create_topic(
    Name="payments.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"}
)["TopicArn"]
ledger_url = sqs.create_queue(QueueName="ledger.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
ledger_arn = sqs.get_queue_attributes(QueueUrl=ledger_url, AttributeNames=["QueueArn"])[
    "Attributes"
]["QueueArn"]
allow_topic(ledger_url, ledger_arn, fifo_topic)
sns.subscribe(
    TopicArn=fifo_topic,
    Protocol="sqs",
    Endpoint=ledger_arn,
    Attributes={"RawMessageDelivery": "true"},
)
for step in ("reserve", "charge", "charge", "ship"):  # a retried "charge"
    sns.publish(
        TopicArn=fifo_topic, Message=json.dumps({"customer": "ana", "step": step}),
        MessageGroupId="ana",
    )  # fmt: skip
ledger = []
while True:
    got = sqs.receive_message(QueueUrl=ledger_url, MaxNumberOfMessages=10).get("Messages", [])
    if not got:
        break
    for message in got:
        ledger.append(json.loads(message["Body"])["step"])
        sqs.delete_message(QueueUrl=ledger_url, ReceiptHandle=message["ReceiptHandle"])
print(f"ledger received: {ledger}")
topic_view(lab, "payments.fifo", hold=True)

# %% [markdown]
# The duplicate "charge" was dropped by the topic (content-based deduplication), and the ledger
# got the steps in order.
#
# ## The numbers of this lab
#
# Every limit the lesson used, from the fact table, with where it is documented:

# %%
for fact_id in (
    "sqs.max_message_size",
    "sqs.batch_max_messages",
    "sqs.retention_min",
    "sqs.retention_default",
    "sqs.retention_max",
    "sqs.visibility_timeout_default",
    "sqs.visibility_timeout_max",
    "sqs.long_poll_wait_max",
    "sqs.delay_max",
    "sqs.fifo_dedup_interval",
    "sqs.fifo_tps_per_api_action",
    "sqs.fifo_batched_msgs_per_second",
    "sns.max_message_size_default",
    "sns.fifo_topic_throughput",
):
    print(fact(fact_id))

# %% [markdown]
# ## Summary
#
# - **Synchronous** calls tie a service's availability and speed to the one it calls; a **queue**
#   absorbs a spike as a backlog and lets each side fail, scale and restart on its own.
# - A **standard queue** delivers at least once, in best-effort order: consumers receive, handle,
#   **delete**, and are idempotent. Messages may be much bigger than the notes say, batches are
#   small, and retention runs from a minute to two weeks.
# - The **visibility timeout** must cover the work (extend it with `ChangeMessageVisibility`), or
#   another consumer handles the message again.
# - **Long polling** saves most of the empty calls; **delays** hold new messages back.
# - A **dead-letter queue** sets aside what failed `maxReceiveCount` times; redrive moves it back
#   (`StartMessageMoveTask` on AWS, a receive-send-delete loop anywhere).
# - **FIFO queues** keep order per message group (a group with a message in flight is blocked)
#   and deduplicate within an interval, even after a delete; throughput is counted per API
#   action and multiplied by batching, far more in high-throughput mode. For many independent
#   readers and replay, Kinesis.
# - Consumers scale on the **backlog per instance**; the launch time eats into the acceptable
#   wait, so the target must leave room for it.
# - **SNS** fans a message out to every subscription whose **filter policy** (on attributes or on
#   the body) matches; a queue receives it only if its **access policy** lets the topic send
#   (and, with `aws:SourceArn`, only that topic: `lab.access` shows who else gets in);
#   **raw delivery** drops the envelope; FIFO topics feed FIFO queues in order.
#
# Next: the exercise (`exercises/02_decoupling.ipynb`) builds an order pipeline from these pieces.
