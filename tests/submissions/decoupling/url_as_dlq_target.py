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
# Plausible mistakes: the redrive policy names the dead-letter queue by its URL; the consumer
# short-polls; each queue's policy lets anyone send (Principal `*`, no condition); the target is
# returned as a string.

# %%
import json

import labkit

lab = labkit.start("decoupling")

WORK_SECONDS = 40


# %%
def create_order_queues(sqs):
    dlq = sqs.create_queue(QueueName="orders-dlq.fifo", Attributes={"FifoQueue": "true"})
    return sqs.create_queue(
        QueueName="orders.fifo",
        Attributes={
            "FifoQueue": "true",
            "VisibilityTimeout": "60",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq["QueueUrl"], "maxReceiveCount": 3}
            ),
        },
    )["QueueUrl"]


# %%
def consume(sqs, queue_url, handle):
    got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, VisibilityTimeout=90)
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
                "Sid": "Anyone",
                "Effect": "Allow",
                "Principal": "*",
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
    return str(int((max_wait - launch_seconds) / seconds_per_message))
