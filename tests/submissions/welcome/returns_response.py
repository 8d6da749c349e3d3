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
# Plausible mistakes: create_inbox returns the whole create_queue response, handle_one breaks on
# an empty queue (KeyError), and the note says something else.

# %%
import labkit

lab = labkit.start("welcome")
s3 = lab.client("s3")


# %%
def create_inbox(sqs):
    return sqs.create_queue(QueueName="welcome-inbox", Attributes={"VisibilityTimeout": "60"})


# %%
def handle_one(sqs, queue_url):
    message = sqs.receive_message(QueueUrl=queue_url)["Messages"][0]
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return message["Body"]


# %%
s3.create_bucket(Bucket="welcome-notes")
s3.put_object(Bucket="welcome-notes", Key="hello.txt", Body="Hello!")
