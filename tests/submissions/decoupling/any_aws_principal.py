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
# Plausible mistake: each queue's policy allows the principal `{"AWS": "*"}` with no condition,
# which is everyone, not the topic.

# %%
import json

import labkit

lab = labkit.start("decoupling")

WORK_SECONDS = 40


# %%
def create_order_queues(sqs):
    dlq = sqs.create_queue(QueueName="orders-dlq.fifo", Attributes={"FifoQueue": "true"})
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq["QueueUrl"], AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    return sqs.create_queue(
        QueueName="orders.fifo",
        Attributes={
            "FifoQueue": "true",
            "VisibilityTimeout": "60",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}),
        },
    )["QueueUrl"]


# %%
def consume(sqs, queue_url, handle):
    got = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=20, VisibilityTimeout=90
    )
    for message in got.get("Messages", []):
        try:
            handle(message["Body"])
        except Exception:
            continue
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


# %%
def connect(sns, sqs, topic_arn, shipping_url, billing_url):
    for url in (shipping_url, billing_url):
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        statements = [
            {
                "Sid": "EveryAws",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
            }
        ]
        policy = {"Version": "2012-10-17", "Statement": statements}
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        attributes = {}
        if url == shipping_url:
            attributes = {
                "RawMessageDelivery": "true",
                "FilterPolicyScope": "MessageBody",
                "FilterPolicy": json.dumps({"delivery": ["ship"]}),
            }
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)


# %%
def backlog_target(seconds_per_message, max_wait, launch_seconds):
    return (max_wait - launch_seconds) / seconds_per_message
