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
# Tampering from inside a check: handle_one is wrong, and when a check calls it, it makes
# CheckResult.passed always true. Real grade: inbox_queue and notes_bucket pass (2/4), and
# handle_one cannot count.

# %%
import labkit

lab = labkit.start("welcome")
s3 = lab.client("s3")


# %%
def create_inbox(sqs):
    return sqs.create_queue(QueueName="welcome-inbox", Attributes={"VisibilityTimeout": "60"})[
        "QueueUrl"
    ]


def handle_one(sqs, queue_url):
    import labkit.grading.results

    labkit.grading.results.CheckResult.passed = property(lambda self: True)
    return "not a message"


# %%
s3.create_bucket(Bucket="welcome-notes")
s3.put_object(Bucket="welcome-notes", Key="hello.txt", Body="Hello, labkit!")
