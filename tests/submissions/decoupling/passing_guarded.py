# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   labkit:
#     lab: decoupling
#     role: exercise
# ---

# %% [markdown]
# A correct pipeline written unlike the solution: the order queue first and its redrive policy
# set afterwards, a dead-letter queue that allows only this source (byQueue), numbers as
# strings; a consumer that long-polls one second at a time in batches of five with a batch
# visibility heartbeat and a batch delete; an open Allow guarded by a Deny for every other
# source; and a numpy integer as the target.

# %%
import json

import numpy as np

import labkit

lab = labkit.start("decoupling")

WORK_SECONDS = 40


# %%
def create_order_queues(sqs):
    url = sqs.create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["QueueArn"]
    allow = {"redrivePermission": "byQueue", "sourceQueueArns": [arn]}
    dlq = sqs.create_queue(
        QueueName="orders-dead-letters.fifo",
        Attributes={"FifoQueue": "true", "RedriveAllowPolicy": json.dumps(allow)},
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "VisibilityTimeout": "300",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
        },
    )
    return url


# %%
def consume(sqs, queue_url, handle):
    done = 0
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=5, WaitTimeSeconds=1)
        messages = got.get("Messages", [])
        if not messages:
            return done
        # Heartbeat: every message of the batch stays hidden while the ones before it are
        # handled.
        sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {
                    "Id": str(i),
                    "ReceiptHandle": m["ReceiptHandle"],
                    "VisibilityTimeout": (len(messages) + 1) * WORK_SECONDS,
                }
                for i, m in enumerate(messages)
            ],
        )
        handled = []
        for message in messages:
            try:
                handle(message["Body"])
            except Exception:
                continue
            handled.append(message)
        if handled:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(handled)
                ],
            )
        done += len(handled)
        if len(handled) < len(messages):
            return done  # leave the failed ones to come back later


# %%
def connect(sns, sqs, topic_arn, shipping_url, billing_url):
    for url in (billing_url, shipping_url):
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Send",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "sqs:SendMessage",
                    "Resource": arn,
                },
                {
                    "Sid": "OnlyOrderEvents",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sqs:SendMessage",
                    "Resource": arn,
                    "Condition": {"ArnNotEquals": {"aws:SourceArn": topic_arn}},
                },
            ],
        }
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        sub = sns.subscribe(
            TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, ReturnSubscriptionArn=True
        )["SubscriptionArn"]
        if url == shipping_url:
            for name, value in (
                ("FilterPolicy", json.dumps({"delivery": ["ship"]})),
                ("FilterPolicyScope", "MessageBody"),
                ("RawMessageDelivery", "True"),
            ):
                sns.set_subscription_attributes(
                    SubscriptionArn=sub, AttributeName=name, AttributeValue=value
                )


# %%
def backlog_target(seconds_per_message, max_wait, launch_seconds):
    return np.int64((max_wait - launch_seconds) // seconds_per_message)
