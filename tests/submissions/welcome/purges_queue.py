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
# Plausible mistake: handle_one empties the queue with purge_queue once it has its message.

# %%
import labkit

lab = labkit.start("welcome")


# %%
def create_inbox(sqs):
    return sqs.create_queue(QueueName="welcome-inbox", Attributes={"VisibilityTimeout": "60"})[
        "QueueUrl"
    ]


# %%
def handle_one(sqs, queue_url):
    messages = sqs.receive_message(QueueUrl=queue_url).get("Messages", [])
    if not messages:
        return None
    sqs.purge_queue(QueueUrl=queue_url)
    return messages[0]["Body"]


# %%
s3 = lab.client("s3")
s3.create_bucket(Bucket="welcome-notes")
s3.put_object(Bucket="welcome-notes", Key="hello.txt", Body="Hello, labkit!")
