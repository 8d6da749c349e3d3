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
# A correct pipeline written differently from the solution: the resource API, attributes set after
# creation, one message at a time with a visibility heartbeat, a policy with a wildcard principal
# and ArnLike, subscription attributes set one by one, and a safety margin on the target.

# %%
import json

import labkit

lab = labkit.start("decoupling")

WORK_SECONDS = 40


# %%
def create_order_queues(sqs):
    resource = lab.resource("sqs")
    dlq = resource.create_queue(QueueName="orders-dead.fifo", Attributes={"FifoQueue": "true"})
    queue = resource.create_queue(
        QueueName="orders.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )
    queue.set_attributes(Attributes={"VisibilityTimeout": "45"})
    queue.set_attributes(
        Attributes={
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq.attributes["QueueArn"], "maxReceiveCount": "3"}
            )
        }
    )
    return queue.url


# %%
def consume(sqs, queue_url, handle):
    got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=10)
    handled = 0
    for message in got.get("Messages", []):
        receipt = message["ReceiptHandle"]
        # Heartbeat: make sure the message stays hidden for the whole work.
        sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=WORK_SECONDS + 15
        )
        try:
            handle(message["Body"])
        except Exception:
            # Give it back at once: the next round retries it (and counts the receive).
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=0
            )
            return handled
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=receipt)
        handled += 1
    return handled


# %%
def connect(sns, sqs, topic_arn, shipping_url, billing_url):
    topic = lab.resource("sns").Topic(topic_arn)
    for url in (shipping_url, billing_url):
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][
            "QueueArn"
        ]
        policy = {
            "Version": "2012-10-17",
            "Id": "fan-out",
            "Statement": [
                {
                    "Sid": "OnlyOurTopic",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": ["sqs:SendMessage"],
                    "Resource": arn,
                    "Condition": {"ArnLike": {"aws:SourceArn": topic_arn}},
                }
            ],
        }
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        subscription = topic.subscribe(Protocol="sqs", Endpoint=arn)
        if url == shipping_url:
            subscription.set_attributes(
                AttributeName="FilterPolicyScope", AttributeValue="MessageBody"
            )
            subscription.set_attributes(
                AttributeName="FilterPolicy", AttributeValue='{"delivery": ["ship"]}'
            )
            subscription.set_attributes(AttributeName="RawMessageDelivery", AttributeValue="true")


# %%
def backlog_target(seconds_per_message, max_wait, launch_seconds):
    # Keep a quarter of the remaining wait as a margin.
    return 0.75 * (max_wait - launch_seconds) / seconds_per_message
