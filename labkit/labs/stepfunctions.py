"""The Step Functions lab: an order workflow with retries, a saga, a Map, a human approval, and
Standard or Express.

Every check creates the learner's state machine from their definition function in an empty
world of its own, with its own clock, runs orders of its own through it, and judges what
happened (which functions were called with what, how the execution ended, how long it took in
lab time), never the definition's text: Retry on the task or a Catch loop, JSONPath or JSONata,
email or queue, all pass when they behave.

- ``payment``: retries with backoff that ride out a gateway outage within a time budget,
  without retrying a declined card (:mod:`labkit.labs.stepfunctions_orders`);
- ``saga``: a shipment that fails after payment is compensated by a refund, and the execution
  fails with the reason (:mod:`labkit.labs.stepfunctions_orders`);
- ``packing``: a Map over an order's items, as many at a time as the warehouse has robots
  (:mod:`labkit.labs.stepfunctions_callbacks`);
- ``approval``: orders above an amount wait for a human (SendTaskSuccess or SendTaskFailure),
  and are rejected after 24 hours of lab time (:mod:`labkit.labs.stepfunctions_callbacks`);
- ``workflow_type``: Standard or Express for workloads, by semantics and cost
  (:mod:`labkit.labs.stepfunctions_types`).
"""

from __future__ import annotations

from labkit.grading.checks import Check
from labkit.labs.spec import LabSpec
from labkit.labs.stepfunctions_callbacks import (
    ITEMS,
    LIMIT,
    PACK_BUDGET,
    ROBOTS,
    check_approval,
    check_packing,
)
from labkit.labs.stepfunctions_orders import BUDGET, OUTAGE, check_payment, check_saga
from labkit.labs.stepfunctions_types import check_workflow_type

#: Deploying the shop's functions and running a day of lab time take a few seconds here.
CHECK_TIMEOUT = 60.0

LAB = LabSpec(
    id="stepfunctions",
    title="Step Functions: retries, sagas, Map, human approval, Standard or Express",
    lesson="notebooks/07_stepfunctions.ipynb",
    lesson_source="notebooks/07_stepfunctions.py",
    exercise="exercises/07_stepfunctions.ipynb",
    solution="solutions/07_stepfunctions.ipynb",
    source="solutions/07_stepfunctions.py",
    checks=(
        Check(
            name="payment",
            title=f"payment_definition: the payment rides out a {OUTAGE}-second gateway outage "
            f"and gives up on a dead one within {BUDGET} s, backing off; a declined card is "
            "tried once and the execution fails saying so",
            points=2,
            run=check_payment,
            hint="A Retry on GatewayBusy only, with IntervalSeconds, BackoffRate and MaxAttempts "
            f"that outlast {OUTAGE} s and stop before {BUDGET} s.",
            isolated=True,
            timeout=CHECK_TIMEOUT,
        ),
        Check(
            name="saga",
            title="order_definition: charge, then ship; when shipping fails the charge is "
            "refunded and the execution fails with the reason",
            points=2,
            run=check_saga,
            hint="A Catch on the shipping task (ResultPath keeps the charge), a refund task "
            "given the charge_id, then a Fail state naming the shipping failure.",
            isolated=True,
            timeout=CHECK_TIMEOUT,
        ),
        Check(
            name="packing",
            title=f"packing_definition: each of an order's {ITEMS} items packed once by the "
            f"warehouse's {ROBOTS} robots (a callback per item), never more than {ROBOTS} at a "
            f"time, within {PACK_BUDGET} s",
            points=2,
            run=check_packing,
            hint=f"A Map with MaxConcurrency {ROBOTS} whose item processor sends the item and "
            "its task token with sqs:sendMessage.waitForTaskToken.",
            isolated=True,
            timeout=CHECK_TIMEOUT,
        ),
        Check(
            name="approval",
            title=f"approval_definition: orders above {LIMIT} wait for a human's "
            "SendTaskSuccess (charged) or SendTaskFailure (not), and are rejected after 24 "
            "hours of lab time without an answer",
            points=2,
            run=check_approval,
            hint="A Choice on the amount, a .waitForTaskToken task with TimeoutSeconds 86400 "
            "whose errors (rejection, States.Timeout) lead to a Fail state.",
            isolated=True,
            timeout=CHECK_TIMEOUT,
        ),
        Check(
            name="workflow_type",
            title="choose_type: Standard or Express for each workload, by what Express cannot "
            "do (five minutes, callbacks, exactly once) and then by cost",
            points=2,
            run=check_workflow_type,
            hint="Standard when an execution runs past five minutes, waits for a callback or "
            "must not repeat a step; otherwise the cheaper (sim_pricing.compare).",
            isolated=True,
        ),
    ),
)
