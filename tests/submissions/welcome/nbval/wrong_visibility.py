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
# nbval recipe sample: every answer right but one: the queue keeps the default 30 s visibility
# timeout. Only the inbox_queue check cell (and the score cell) may fail.

# %% [markdown]
# # Welcome exercise
#
# Three small tasks to try the sandbox, the lab clock and checks. Write your code where it says
# `# YOUR CODE HERE` (replace the `...`), run the cell, then run the check below it. A check
# tells you what it found and, when something is not right yet, gives a hint.

# %%
import labkit

lab = labkit.start("welcome")
sqs = lab.client("sqs")
s3 = lab.client("s3")
lab.view()

# %% [markdown]
# ## Task 1: an inbox queue
#
# Write `create_inbox(sqs)` so that it creates a standard SQS queue named `welcome-inbox` whose
# **visibility timeout is 60 seconds**, and returns the queue's URL.
#
# The check calls your function with an SQS client in an empty sandbox of its own.


# %%
def create_inbox(sqs):
    """Create the `welcome-inbox` queue with a 60 s visibility timeout; return its URL."""
    response = sqs.create_queue(QueueName="welcome-inbox")
    return response["QueueUrl"]


# %%
lab.check("inbox_queue")

# %% [markdown]
# ## Task 2: handle one message
#
# Write `handle_one(sqs, queue_url)`: receive **one** message from the queue, **delete** it, and
# return its body (a string). When the queue is empty, return `None`.
#
# The check sends two messages, calls your function twice, then fast-forwards the lab clock past
# the visibility timeout to see whether any message comes back.


# %%
def handle_one(sqs, queue_url):
    """Receive one message, delete it, return its body; None when the queue is empty."""
    response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=20)
    messages = response.get("Messages", [])
    if not messages:
        return None
    message = messages[0]
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return message["Body"]


# %% [markdown]
# Try it on a queue of your own before you check:

# %%
demo_url = sqs.create_queue(QueueName="demo")["QueueUrl"]
sqs.send_message(QueueUrl=demo_url, MessageBody="hello")
print(handle_one(sqs, demo_url))

# %%
lab.check("handle_one")

# %% [markdown]
# ## Task 3: a bucket in your sandbox
#
# This check looks at **your own** sandbox. Create an S3 bucket named `welcome-notes` and put an
# object with the key `hello.txt` whose content is the text `Hello, labkit!`.

# %%
s3.create_bucket(Bucket="welcome-notes")
s3.put_object(Bucket="welcome-notes", Key="hello.txt", Body="Hello, labkit!")

# %%
lab.check("notes_bucket")

# %% [markdown]
# ## Your score

# %%
lab.score()

# %% [markdown]
# ## Summary
#
# - A function you write is checked by **calling it** in a clean sandbox, so any correct way of
#   writing it passes.
# - Receiving a message hides it for the visibility timeout; only `delete_message` removes it.
# - Some checks look at what you built in **your** sandbox; `lab.reset()` would clear it.
