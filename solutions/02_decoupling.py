# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Decoupling exercise: an order pipeline
#
# You build the back end of a small shop, piece by piece:
#
# 1. a **FIFO order queue** with a **dead-letter queue**;
# 2. a **consumer** that long-polls, handles each order, deletes it, and survives an order it can
#    never handle (a poison message);
# 3. an **SNS fan-out** that sends every order to billing and only the orders to ship to
#    shipping;
# 4. a **scaling target** that keeps every order's wait short during a traffic spike.
#
# Each task is a function that a check calls in an empty sandbox of its own, with its own lab
# clock. Write your code where it says `# YOUR CODE HERE` (replace the `...`), run the cell, try
# it in the cell below, then run the check. Any correct way passes (the client or the resource
# API, attributes set at creation or afterwards): the checks judge what your pipeline does.
#
# The lesson (`notebooks/02_decoupling.ipynb`) shows every call you need.

# %%
import json

import labkit
from labkit.facts import fact
from labkit.services.sns.widget import topic_view
from labkit.services.sqs import sim_scaling as queue_scaling
from labkit.services.sqs.view_plots import scaling_plot
from labkit.services.sqs.widget import queue_view

lab = labkit.start("decoupling")
sqs = lab.client("sqs")
sns = lab.client("sns")

WORK_SECONDS = 40  # handling one order takes up to this long (lab time)
MAX_RECEIVES = 3  # receives before a message goes to the dead-letter queue
print(fact("sqs.visibility_timeout_default"))
print(fact("sqs.long_poll_wait_max"))

# %% [markdown]
# ## Task 1: the order queue and its dead-letter queue
#
# Write `create_order_queues(sqs)` so that it creates:
#
# - a FIFO dead-letter queue (for example `orders-dlq.fifo`: the dead-letter queue of a FIFO
#   queue must be a FIFO queue too);
# - the FIFO queue **`orders.fifo`**, which delivers each order as soon as it is sent (no
#   delay), whose **visibility timeout** covers the work on one order (`WORK_SECONDS`), and whose
#   **redrive policy** moves a message to the dead-letter queue after `MAX_RECEIVES` receives (the
#   dead-letter queue must allow that: leave its `RedriveAllowPolicy` out, or allow this queue);
#
# and returns the URL of `orders.fifo`. Order ids will serve as deduplication ids, so you do not
# need content-based deduplication (you may turn it on).


# %%
def create_order_queues(sqs):
    """Create `orders.fifo` and its FIFO dead-letter queue; return the order queue's URL."""
    ### BEGIN SOLUTION
    dlq_url = sqs.create_queue(QueueName="orders-dlq.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVES}
    response = sqs.create_queue(
        QueueName="orders.fifo",
        Attributes={
            "FifoQueue": "true",
            "VisibilityTimeout": str(WORK_SECONDS + 20),
            "RedrivePolicy": json.dumps(redrive),
        },
    )
    return response["QueueUrl"]
    ### END SOLUTION


# %% [markdown]
# Try it (the queue view below follows the queue as you run cells):

# %%
order_url = create_order_queues(sqs)
print("order queue:", order_url)
orders_view = queue_view(lab, "orders.fifo")
orders_view

# %%
lab.check("order_queues")

# %% [markdown]
# ## Task 2: a consumer that survives a poison message
#
# Write `consume(sqs, queue_url, handle)`: one round of a consumer. It must
#
# - **long-poll**: pass `WaitTimeSeconds` (above zero, at most the maximum printed at the top) to
#   `receive_message`, so that a call on an empty queue waits for the next order instead of
#   returning at once (the check's first order arrives a second after it calls `consume`);
# - call **`handle(message["Body"])`** for each message received, in the order received;
#   handling one order takes up to `WORK_SECONDS` of lab time, and no message may become visible
#   again while it is being handled (so mind the visibility timeout if you receive several at
#   once);
# - **delete** each message once `handle` returned;
# - survive an order `handle` cannot handle: `handle` raises an exception for it. Do not let the
#   exception escape, and do not delete that message: SQS delivers it again, and after
#   `MAX_RECEIVES` receives moves it to the dead-letter queue. Some orders fail once and succeed
#   when tried again; none may be lost, and none handled twice.
#
# Return how many orders you handled. The check calls `consume` again and again on a queue of
# orders from four customers (one message group each), with one poison order and one that fails
# once.


# %%
def consume(sqs, queue_url, handle):
    """Receive (long-polling), handle and delete; leave what `handle` failed on."""
    ### BEGIN SOLUTION
    batch = 10
    response = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=batch,
        WaitTimeSeconds=20,
        # The last message of a batch waits for the others: the timeout covers them all.
        VisibilityTimeout=batch * WORK_SECONDS + 30,
    )
    handled = 0
    for message in response.get("Messages", []):
        try:
            handle(message["Body"])
        except Exception as error:
            print("could not handle, left in the queue:", error)
            continue
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        handled += 1
    return handled
    ### END SOLUTION


# %% [markdown]
# Try it on your own queue: two orders and a poison one, a `handle` that works `WORK_SECONDS` of
# lab time per order, and a few rounds of your consumer. Watch the poison order's receive count
# grow in the queue view, and the order land in the dead-letter queue.


# %%
def demo_handle(body):
    order = json.loads(body)
    lab.clock.advance(WORK_SECONDS)
    if order["order_id"] == "poison":
        raise ValueError("nobody can ship to this address")
    print(f"shipped {order['order_id']} at lab time {lab.clock.now:%H:%M:%S}")


if order_url:
    for order_id, customer in [("t1", "tom"), ("poison", "pat"), ("t2", "tom")]:
        sqs.send_message(
            QueueUrl=order_url,
            MessageBody=json.dumps({"order_id": order_id, "customer": customer}),
            MessageGroupId=customer,
            MessageDeduplicationId=order_id,
        )
    for _ in range(6):
        consume(sqs, order_url, demo_handle)
orders_view

# %%
lab.check("consumer")

# %% [markdown]
# ## Task 3: fan-out with SNS
#
# The shop publishes each order to an SNS topic as JSON in the **message body**, for example
# `{"order_id": "o1", "delivery": "ship", "total": 25.0}`, where `delivery` is `ship`, `pickup`
# or `download`. It sets no message attributes.
#
# Write `connect(sns, sqs, topic_arn, shipping_url, billing_url)` so that:
#
# - the **billing** queue receives every order;
# - the **shipping** queue receives only the orders whose `delivery` is `ship`, and receives the
#   order JSON itself, not an SNS envelope (**raw message delivery**);
# - each queue's **access policy** lets this topic send to it (and only this topic: the check
#   also publishes from other topics, of your account and of another one, and asks whether a
#   stranger may call `SendMessage` directly; nothing of theirs may get in).
#
# The topic and both queues exist already; your function subscribes and configures.


# %%
def connect(sns, sqs, topic_arn, shipping_url, billing_url):
    """Subscribe billing (every order) and shipping (orders to ship, raw) to the topic."""
    ### BEGIN SOLUTION
    subscriptions = {
        billing_url: {},
        shipping_url: {
            "RawMessageDelivery": "true",
            "FilterPolicyScope": "MessageBody",
            "FilterPolicy": json.dumps({"delivery": ["ship"]}),
        },
    }
    for url, attributes in subscriptions.items():
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
                    "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
                }
            ],
        }
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)
    ### END SOLUTION


# %% [markdown]
# Try it: a topic and two queues in your sandbox, three orders, and the topic view.

# %%
demo_topic = sns.create_topic(Name="shop-orders")["TopicArn"]
demo_shipping = sqs.create_queue(QueueName="demo-shipping")["QueueUrl"]
demo_billing = sqs.create_queue(QueueName="demo-billing")["QueueUrl"]
connect(sns, sqs, demo_topic, demo_shipping, demo_billing)
for order_id, delivery in [("d1", "ship"), ("d2", "pickup"), ("d3", "ship")]:
    sns.publish(
        TopicArn=demo_topic,
        Message=json.dumps({"order_id": order_id, "delivery": delivery, "total": 25.0}),
    )
topic_view(lab, "shop-orders", hold=True)  # this moment: three orders fanned out

# %%
lab.check("fan_out")

# %% [markdown]
# ## Task 4: a scaling target
#
# The shipping consumers run in an Auto Scaling group with a target tracking policy on the
# **backlog per instance** (visible messages / instances in service). Write
# `backlog_target(seconds_per_message, max_wait, launch_seconds)`: the target (messages per
# instance) for consumers that need `seconds_per_message` per order, when no order may wait
# longer than `max_wait` seconds, and a new instance needs `launch_seconds` to start.
#
# The check runs the spike of `labkit.services.sqs.sim_scaling` with your target (two workloads):
# the longest wait must stay under `max_wait`, and the group may pay for at most twice the
# instance time the orders need. Try targets in the cell below and watch the instances follow the
# backlog.

# %%
print(fact("cloudwatch.sqs_metric_interval"))


def backlog_target(seconds_per_message, max_wait, launch_seconds):
    """Messages per instance for target tracking on the backlog per instance."""
    ### BEGIN SOLUTION
    # AWS's formula is acceptable wait / time per message; in a spike, new instances spend
    # their launch time starting while the backlog grows, so only the rest of the wait counts.
    return (max_wait - launch_seconds) / seconds_per_message
    ### END SOLUTION


# %%
workload = queue_scaling.Workload(
    base_rate=4, peak_rate=40, ramp=600, spike_length=600, duration=3000, seconds_per_message=0.5
)
group = queue_scaling.Group(launch_seconds=120)
target = backlog_target(workload.seconds_per_message, 180, group.launch_seconds)
if isinstance(target, (int, float)) and target > 0:
    run = queue_scaling.simulate(workload, target, group=group)
    fig = scaling_plot(run)
    print(run.summary())
    print(run.table(every=300))
else:
    print("backlog_target returned", repr(target), "- not a target yet")

# %%
lab.check("scaling")

# %% [markdown]
# ## Your score

# %%
lab.score()

# %% [markdown]
# ## Summary
#
# - A FIFO queue and its dead-letter queue are both FIFO; the redrive policy names the
#   dead-letter queue by its **ARN** and says after how many receives a message moves.
# - A consumer long-polls, handles, then deletes; it leaves what failed, so SQS retries it and
#   finally dead-letters it. Every receive counts, and the visibility timeout must cover the
#   work of everything received at once.
# - SNS delivers to a queue only with the queue's **access policy** allowing the topic; a filter
#   policy reads the attributes unless its scope says **MessageBody**; raw delivery drops the
#   envelope.
# - A backlog-per-instance target must leave room for the time new instances take to start.
