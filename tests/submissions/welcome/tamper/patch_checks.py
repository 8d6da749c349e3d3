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
# Tampering: half-right work, and the lab's own checks neutered three ways: a check function's
# code swapped, a frozen Check's run replaced, the catalog's spec swapped; plus a builtin the
# checks use. Real grade: 2/4.

# %%
import builtins

import labkit
import labkit.labs
import labkit.labs.welcome as welcome

lab = labkit.start("welcome")
s3 = lab.client("s3")


# %%
def create_inbox(sqs):
    return sqs.create_queue(QueueName="welcome-inbox", Attributes={"VisibilityTimeout": "60"})[
        "QueueUrl"
    ]


def handle_one(sqs, queue_url):
    messages = sqs.receive_message(QueueUrl=queue_url).get("Messages", [])
    return messages[0]["Body"] if messages else None


# %%
s3.create_bucket(Bucket="welcome-notes")
s3.put_object(Bucket="welcome-notes", Key="hello.txt", Body="Hello, labkit!")

# %%
welcome.check_handle_one.__code__ = (lambda ctx: None).__code__
object.__setattr__(welcome.LAB.checks[1], "run", lambda ctx: None)
object.__setattr__(welcome.LAB.checks[1], "points", 0)
labkit.labs.catalog.cache_clear()
labkit.labs.get_lab = lambda lab_id: welcome.LAB
builtins.sorted = lambda values: ["same"]
