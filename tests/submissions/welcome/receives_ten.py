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
# Plausible mistakes: the queue named with an underscore; handle_one receives ten messages and
# deletes only the one it returns; the note says something else.

# %%
import labkit

lab = labkit.start("welcome")


# %%
def create_inbox(sqs):
    return sqs.create_queue(QueueName="welcome_inbox", Attributes={"VisibilityTimeout": "60"})[
        "QueueUrl"
    ]


# %%
def handle_one(sqs, queue_url):
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    if not messages:
        return None
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
    return messages[0]["Body"]


# %%
s3 = lab.client("s3")
s3.create_bucket(Bucket="welcome-notes")
s3.put_object(Bucket="welcome-notes", Key="hello.txt", Body="Hello labkit")
