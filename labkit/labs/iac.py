"""The infrastructure-as-code lab: CloudFormation templates, change sets, StackSets and drift.

Every check runs in an empty world of its own, with its own clock:

- ``pipeline``: the learner's template deploys the decoupling lab's order pipeline (topic, queue
  with a queue policy, dead-letter queue); an order published reaches the queue, and no other
  topic can send (:mod:`labkit.labs.iac_pipeline`);
- ``keep_table``: the learner's update makes the orders table on-demand with a new index
  through its stack, without replacing it (:mod:`labkit.labs.iac_pipeline`);
- ``stack_set``: one StackSet in two accounts and three Regions that stops after one failure
  (:mod:`labkit.labs.iac_fleet`);
- ``drift``: what was changed by hand is found and brought back (:mod:`labkit.labs.iac_fleet`).
"""

from __future__ import annotations

from labkit.grading.checks import Check
from labkit.labs.iac_fleet import RUNTIME_STACK, check_drift, check_stack_set
from labkit.labs.iac_pipeline import INDEX, TABLE, check_keep_table, check_pipeline
from labkit.labs.spec import LabSpec

#: Checks that deploy stacks: the first template cfn-lint reads in a process costs seconds.
STACK_CHECK_TIMEOUT = 60.0

LAB = LabSpec(
    id="iac",
    title="Infrastructure as code: CloudFormation, change sets, StackSets and drift",
    lesson="notebooks/13_iac.ipynb",
    lesson_source="notebooks/13_iac.py",
    exercise="exercises/13_iac.ipynb",
    solution="solutions/13_iac.ipynb",
    source="solutions/13_iac.py",
    checks=(
        Check(
            name="pipeline",
            title="PIPELINE_TEMPLATE deploys a topic and a queue with a dead-letter queue: an "
            "order published reaches the queue, and no other topic or account can send to it",
            points=2,
            run=check_pipeline,
            hint="A topic, two queues (the order queue's RedrivePolicy names the other), a "
            "subscription with the queue's ARN as Endpoint, and a queue policy for "
            "sns.amazonaws.com with aws:SourceArn equal to the topic.",
            isolated=True,
            timeout=STACK_CHECK_TIMEOUT,
        ),
        Check(
            name="keep_table",
            title=f"update_orders_table makes `{TABLE}` on-demand with the index `{INDEX}` "
            "through its stack, keeping the table and its items",
            points=2,
            run=check_keep_table,
            hint="Update the stack with a template that keeps TableName and KeySchema; look at "
            "the change set's Replacement before executing it.",
            isolated=True,
            timeout=STACK_CHECK_TIMEOUT,
        ),
        Check(
            name="stack_set",
            title="deploy_everywhere deploys one StackSet to two accounts in three Regions, "
            "and the operation stops after one failure",
            points=2,
            run=check_stack_set,
            hint="create_stack_set, then create_stack_instances with every account and Region, "
            "Regions one after another and no failure tolerated.",
            isolated=True,
            timeout=STACK_CHECK_TIMEOUT,
        ),
        Check(
            name="drift",
            title=f"bring_back finds what was changed by hand in `{RUNTIME_STACK}` and puts the "
            "template's values back: the stack is IN_SYNC, its data kept",
            points=2,
            run=check_drift,
            hint="Detect drift, read each drifted resource's expected properties and set them "
            "with the service's API.",
            isolated=True,
            timeout=STACK_CHECK_TIMEOUT,
        ),
    ),
)
