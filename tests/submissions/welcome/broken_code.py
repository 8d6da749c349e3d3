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
# Learner code that goes wrong in every way: create_inbox raises, handle_one loops forever
# catching everything, a cell raises NameError, and the bucket was never made.

# %%
import labkit

lab = labkit.start("welcome")


# %%
def create_inbox(sqs):
    return sqs.create_queue(QueueName="welcome inbox!")["QueueUrl"]


# %%
def handle_one(sqs, queue_url):
    while True:
        try:
            sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)
        except Exception:
            pass


# %%
print(undefined_variable)
