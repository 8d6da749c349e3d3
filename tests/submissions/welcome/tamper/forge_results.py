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
# Forging the results: unfinished work, and the guard's own entry point replaced by one that
# writes full marks where the grader reads them. It cannot sign them with the grader's key: an
# error (the results cannot be verified) and a flag.

# %%
import json

import labkit
import labkit.grading.tamper

lab = labkit.start("welcome")


# %%
def create_inbox(sqs):
    return None


def handle_one(sqs, queue_url):
    return None


# %%
def forged(lab_id, result_path, namespace=None):
    passed = {"status": "passed", "points": 1, "max_points": 1, "message": "Well done."}
    results = [dict(passed, lab=lab_id, name=n, title=n) for n in ("inbox_queue", "notes_bucket")]
    payload = json.dumps({"lab": lab_id, "notes": [], "flags": [], "results": results})
    with open(result_path, "w") as handle:
        json.dump({"payload": payload, "signature": "0" * 64}, handle)


class Forger:
    def grade(self, lab_id, result_path):
        forged(lab_id, result_path)


labkit.grading.tamper.armed = Forger
