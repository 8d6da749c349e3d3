# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   labkit:
#     lab: welcome
#     role: exercise
# ---

# %% [markdown]
# Plausible mistakes: the queue is FIFO; handle_one returns the body encoded as bytes.

# %%
import labkit

lab = labkit.start("welcome")


# %%
def create_inbox(sqs):
    return sqs.create_queue(
        QueueName="welcome-inbox.fifo",
        Attributes={"FifoQueue": "true", "VisibilityTimeout": "60"},
    )["QueueUrl"]


# %%
def handle_one(sqs, queue_url):
    messages = sqs.receive_message(QueueUrl=queue_url).get("Messages", [])
    if not messages:
        return None
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
    return messages[0]["Body"].encode()


# %%
s3 = lab.client("s3")
s3.create_bucket(Bucket="welcome-notes")
s3.put_object(Bucket="welcome-notes", Key="hello.txt", Body="Hello, labkit!")
