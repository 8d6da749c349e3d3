# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Welcome: the sandbox, the lab clock and checks
#
# Every lab in this course runs against a **simulated AWS that lives inside this notebook**.
# You use the same `boto3` calls you would use against real AWS, but nothing leaves your machine:
# there is no account to create, no bill, and no internet needed.
#
# This lesson shows the four things every lab stands on:
#
# 1. **the sandbox**: AWS services you can call, and look inside;
# 2. **the lab clock**: time you fast-forward instead of waiting for;
# 3. **checks**: instant, specific feedback on what you built;
# 4. **reset**: a clean slate whenever you want one.
#
# Run each cell from the top with **Shift+Enter**.

# %% [markdown]
# ## 1. The sandbox
#
# `labkit.start("welcome")` starts the sandbox for this lab and returns a `lab` object.
# Everything AWS lives inside it.

# %%
import boto3

import labkit
from labkit.facts import fact

lab = labkit.start("welcome")

# %% [markdown]
# `lab.client("sqs")` gives you an ordinary boto3 client for Amazon SQS (the Simple Queue
# Service). A plain `boto3.client("sqs")` works just the same while the lab runs.

# %%
sqs = lab.client("sqs")
queue_url = sqs.create_queue(QueueName="greetings")["QueueUrl"]
print(queue_url)

# %%
same_sandbox = boto3.client("sqs")
print(same_sandbox.list_queues()["QueueUrls"])

# %% [markdown]
# Real AWS has no single view of everything in an account. The sandbox does: `lab.view()` shows
# what the sandbox holds, and updates after every cell you run. Keep it in view while you work:
# it keeps each state it showed, and its step control (`◀ earlier`, `later ▶`) goes back through
# them, so nothing you saw is lost when a later cell changes the sandbox.

# %%
lab.view()

# %% [markdown]
# ## 2. The lab clock
#
# When a consumer **receives** a message from a queue, SQS does not delete it. It hides it for
# the queue's **visibility timeout**, so that no other consumer handles it at the same time. If
# the consumer does not delete the message before the timeout ends, the message becomes visible
# again and is delivered once more.

# %%
visibility = fact("sqs.visibility_timeout_default")
print(visibility)

# %%
sqs.send_message(QueueUrl=queue_url, MessageBody="hello, queue")

first = sqs.receive_message(QueueUrl=queue_url)
print("first receive: ", [m["Body"] for m in first.get("Messages", [])])

second = sqs.receive_message(QueueUrl=queue_url)
print("second receive:", [m["Body"] for m in second.get("Messages", [])], "(hidden: in flight)")

# %% [markdown]
# On real AWS you would now wait 30 seconds. In a lab you **fast-forward** the lab clock instead.
# The simulated AWS sees the same time, so the message comes back exactly as it would on AWS.

# %%
print("lab time before:", lab.clock.now)
lab.clock.advance(visibility.value + 1)
print("lab time after: ", lab.clock.now)

third = sqs.receive_message(QueueUrl=queue_url)
print("third receive: ", [m["Body"] for m in third.get("Messages", [])], "(visible again)")

# %% [markdown]
# The lab clock also makes **long polling** instant. A receive with `WaitTimeSeconds=20` on an
# empty queue waits up to 20 seconds on AWS. Here it returns at once, and the lab clock shows that
# 20 seconds of lab time passed.

# %%
for message in third.get("Messages", []):
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

before = lab.clock.now
empty = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=20)
print("messages:", empty.get("Messages", []))
print("lab time that passed:", lab.clock.now - before)

# %% [markdown]
# ## 3. Never the internet
#
# A lab never talks to real AWS or to any other machine. Credentials are fake, and any
# connection that would leave your computer is refused at once, with a message that says so.

# %%
import requests

try:
    requests.get("https://example.com", timeout=5)
except labkit.LabkitError as refused:
    print(refused)

# %% [markdown]
# ## 4. Checks and hints
#
# Each exercise comes with **checks**. A check does not read your code or your printed output:
# it *runs* what you built, the way AWS would use it, and tells you what it found. When something
# is not right yet, it gives you a hint that points at the likely mistake.
#
# You run a check with `lab.check("name")`, or all of them with `lab.score()`. The welcome
# exercise has three checks; here is one of them, `notes_bucket`, which looks for a bucket in
# your sandbox. Let us make it pass:

# %%
s3 = lab.client("s3")
s3.create_bucket(Bucket="welcome-notes")
s3.put_object(Bucket="welcome-notes", Key="hello.txt", Body="Hello, labkit!")

lab.check("notes_bucket")

# %% [markdown]
# A failed check shows **FAILED** with what it found and a **Hint**. Checks that need a clean
# slate (for example one that calls your function to create a queue) run in a separate, empty
# sandbox, so your own queues and buckets are never touched by checking.

# %% [markdown]
# ## 5. Reset
#
# `lab.reset()` deletes everything in the sandbox. Your variables, your files and the lab clock
# stay as they are.

# %%
lab.reset()
print(sqs.list_queues().get("QueueUrls", []), "queues after reset")
print("lab time is still", lab.clock.now)

# %% [markdown]
# ## Summary
#
# - `lab = labkit.start("welcome")` starts a sandbox of simulated AWS; `lab.client(...)` and
#   plain `boto3` both work inside it, and `lab.view()` shows what it holds.
# - SQS hides a received message for the visibility timeout; it comes back unless you delete it.
# - `lab.clock.advance(seconds)` fast-forwards time; AWS in the sandbox follows the lab clock,
#   and long polls return at once.
# - Nothing leaves your machine: connections outside it are refused.
# - `lab.check(name)` and `lab.score()` test what you built and give hints; `lab.reset()` starts
#   over.
#
# Next: open the **welcome exercise** (`exercises/01_welcome.ipynb`) and make its three checks
# pass.
