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
# A correct submission unlike the solution: the attribute given at creation and the URL returned
# with `http://` (SQS accepts it), a one-second long poll with a one-entry batch delete, and the
# note put as a str with a newline in a bucket of another region.

# %%
import labkit

lab = labkit.start("welcome")


# %%
def create_inbox(sqs):
    url = sqs.create_queue(QueueName="welcome-inbox", Attributes={"VisibilityTimeout": "60"})[
        "QueueUrl"
    ]
    return url.replace("https://", "http://")


# %%
def handle_one(sqs, queue_url):
    got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=1)
    for message in got.get("Messages", []):
        sqs.delete_message_batch(
            QueueUrl=queue_url, Entries=[{"Id": "m", "ReceiptHandle": message["ReceiptHandle"]}]
        )
        return message["Body"]
    return None


# %%
s3 = lab.client("s3", region="eu-west-1")
s3.create_bucket(
    Bucket="welcome-notes", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
)
s3.put_object(Bucket="welcome-notes", Key="hello.txt", Body="Hello, labkit!\n")
