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
# Tampering with the grading entry: unfinished work, labkit's grade_here replaced by one that
# writes full marks where the grader reads them, and a fake result printed. The guard puts the
# real one back first: graded on the real work (0/4) and flagged.

# %%
import json

import labkit
import labkit.grading.inkernel

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


labkit.grading.inkernel.grade_here = forged
print("<<<LABKIT-GRADE-RESULT>>>" + json.dumps({"results": []}) + "<<<END-LABKIT-GRADE-RESULT>>>")
