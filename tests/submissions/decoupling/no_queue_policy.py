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
# Plausible mistakes: the queues are subscribed but never given an access policy, so SNS may not
# deliver to them; and the scaling target is AWS's formula without room for the launch time.

# %%
import json

import labkit

lab = labkit.start("decoupling")


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
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=20).get("Messages", [])
    for message in messages:
        try:
            handle(message["Body"])
        except Exception:
            continue
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return len(messages)


# %%
def connect(sns, sqs, topic_arn, shipping_url, billing_url):
    for url, attributes in (
        (billing_url, {}),
        (
            shipping_url,
            {
                "RawMessageDelivery": "true",
                "FilterPolicyScope": "MessageBody",
                "FilterPolicy": json.dumps({"delivery": ["ship"]}),
            },
        ),
    ):
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attributes)


# %%
def backlog_target(seconds_per_message, max_wait, launch_seconds):
    return max_wait / seconds_per_message
