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
# A correct pipeline written unlike the solution: the resource API throughout (queues, messages,
# topic and subscriptions), the queue URL looked up with `get_queue_url`, a long poll set on the
# queue itself, a policy with the owner's statement next to `{"AWS": "*"}` scoped to the topic,
# and a Decimal as the target.

# %%
import json
from decimal import Decimal

import labkit

lab = labkit.start("decoupling")

WORK_SECONDS = 40


# %%
def create_order_queues(sqs):
    resource = lab.resource("sqs")
    dlq = resource.create_queue(QueueName="orders-dlq.fifo", Attributes={"FifoQueue": "true"})
    redrive = {"maxReceiveCount": 3, "deadLetterTargetArn": dlq.attributes["QueueArn"]}
    resource.create_queue(
        QueueName="orders.fifo",
        Attributes={
            "FifoQueue": "true",
            "ContentBasedDeduplication": "true",
            "ReceiveMessageWaitTimeSeconds": "20",
            "VisibilityTimeout": "120",
            "RedrivePolicy": json.dumps(redrive),
        },
    )
    return sqs.get_queue_url(QueueName="orders.fifo")["QueueUrl"]


# %%
def consume(sqs, queue_url, handle):
    queue = lab.resource("sqs").Queue(queue_url)
    count = 0
    for message in queue.receive_messages(
        MaxNumberOfMessages=2, WaitTimeSeconds=5, VisibilityTimeout=2 * WORK_SECONDS + 10
    ):
        try:
            handle(message.body)
        except Exception:
            continue
        message.delete()
        count += 1
    return count


# %%
def connect(sns, sqs, topic_arn, shipping_url, billing_url):
    owner = topic_arn.split(":")[4]
    topic = lab.resource("sns").Topic(topic_arn)
    for url, attributes in (
        (billing_url, {}),
        (
            shipping_url,
            {
                "RawMessageDelivery": "true",
                "FilterPolicy": json.dumps({"delivery": ["ship"]}),
                "FilterPolicyScope": "MessageBody",
            },
        ),
    ):
        queue = lab.resource("sqs").Queue(url)
        arn = queue.attributes["QueueArn"]
        queue.set_attributes(
            Attributes={
                "Policy": json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "__owner_statement",
                                "Effect": "Allow",
                                "Principal": {"AWS": f"arn:aws:iam::{owner}:root"},
                                "Action": "SQS:*",
                                "Resource": arn,
                            },
                            {
                                "Sid": "topic",
                                "Effect": "Allow",
                                "Principal": {"AWS": "*"},
                                "Action": "SQS:SendMessage",
                                "Resource": arn,
                                "Condition": {"ArnLike": {"aws:SourceArn": topic_arn}},
                            },
                        ],
                    }
                )
            }
        )
        topic.subscribe(Protocol="sqs", Endpoint=arn, Attributes=attributes)


# %%
def backlog_target(seconds_per_message, max_wait, launch_seconds):
    return Decimal(str(max_wait - launch_seconds)) / Decimal(str(seconds_per_message))
