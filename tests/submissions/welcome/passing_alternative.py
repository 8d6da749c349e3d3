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
# A correct submission written differently from the solution: the resource API, the attribute
# set after creation, no long polling, and the bucket made with boto3.resource.

# %%
import boto3

import labkit

lab = labkit.start("welcome")


# %%
def create_inbox(sqs):
    url = sqs.create_queue(QueueName="welcome-inbox")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "60"})
    return url


# %%
def handle_one(sqs, queue_url):
    queue = boto3.resource("sqs").Queue(queue_url)
    for message in queue.receive_messages(MaxNumberOfMessages=1):
        body = message.body
        message.delete()
        return body
    return None


# %%
bucket = boto3.resource("s3").create_bucket(Bucket="welcome-notes")
bucket.put_object(Key="hello.txt", Body=b"Hello, labkit!\n")
