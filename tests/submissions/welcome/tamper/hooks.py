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
# Watching the grader: a correct solution that also installs an audit hook (to see the grading
# code run) and a trace function. Real grade: 4/4, flagged; the hook is refused.

# %%
import sys

import labkit

lab = labkit.start("welcome")
s3 = lab.client("s3")
seen = []


# %%
def create_inbox(sqs):
    return sqs.create_queue(QueueName="welcome-inbox", Attributes={"VisibilityTimeout": "60"})[
        "QueueUrl"
    ]


def handle_one(sqs, queue_url):
    messages = sqs.receive_message(QueueUrl=queue_url).get("Messages", [])
    if not messages:
        return None
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
    return messages[0]["Body"]


# %%
s3.create_bucket(Bucket="welcome-notes")
s3.put_object(Bucket="welcome-notes", Key="hello.txt", Body="Hello, labkit!")

# %%
sys.addaudithook(lambda event, args: seen.append(event))


def tracer(frame, event, arg):
    return None


sys.settrace(tracer)
