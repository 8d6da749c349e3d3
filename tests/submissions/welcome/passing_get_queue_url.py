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
# A correct submission unlike the solution: the attribute set afterwards through the resource
# API, the URL looked up with `get_queue_url`, a receive that asks for every attribute, and the
# note uploaded from a file object.

# %%
import io

import labkit

lab = labkit.start("welcome")


# %%
def create_inbox(sqs):
    lab.resource("sqs").create_queue(QueueName="welcome-inbox").set_attributes(
        Attributes={"VisibilityTimeout": "60"}
    )
    return sqs.get_queue_url(QueueName="welcome-inbox")["QueueUrl"]


# %%
def handle_one(sqs, queue_url):
    response = sqs.receive_message(QueueUrl=queue_url, AttributeNames=["All"])
    if "Messages" not in response:
        return None
    message = response["Messages"][0]
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return message["Body"]


# %%
s3 = lab.client("s3")
s3.create_bucket(Bucket="welcome-notes")
s3.upload_fileobj(io.BytesIO(b"Hello, labkit!"), "welcome-notes", "hello.txt")
