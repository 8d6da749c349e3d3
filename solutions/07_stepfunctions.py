# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Step Functions exercise: a shop's order workflow
#
# A web shop runs its orders as **Step Functions** workflows. You write the state machines: a
# **payment** that rides out a flaky gateway without retrying what can never succeed, a
# **saga** that refunds a payment when shipping fails, a **Map** that packs an order's items
# with the warehouse's four robots, a **human approval** for large orders, and the choice of
# **Standard or Express** for the shop's workloads.
#
# Each task asks for a function that returns a state machine definition (a dict, or its JSON
# text). The check creates your state machine in an empty sandbox of its own, runs orders of its
# own through it on the lab clock, and looks at what happened: which functions were called, how
# often, how the execution ended, how long it took. JSONPath or JSONata, a Retry or a Catch
# loop: whatever behaves right passes.
#
# The shop's Lambda functions (their code is in `labkit.labs.stepfunctions_shop`):
#
# - `charge-card` charges the order's card and returns `{"charge_id": "ch-<order>", ...}`.
#   A card whose number starts with `declined` fails with **`CardDeclined`**; while the payment
#   gateway is down, every call fails with **`GatewayBusy`**.
# - `ship-order` books a carrier (`{"tracking": ...}`); it fails with **`CannotShip`** for an
#   address in Atlantis.
# - `refund-charge` refunds a payment: its event must carry the `charge_id`.
#
# Each finds the order (the object with an `order_id`) anywhere in its event.

# %%
import json
import re

import labkit
from labkit.facts import fact
from labkit.labs import stepfunctions_shop as shop
from labkit.labs.stepfunctions_callbacks import tokens_in
from labkit.services.stepfunctions.sim_pricing import Workload, compare

lab = labkit.start("stepfunctions")
sfn = lab.client("stepfunctions")
functions = shop.deploy_shop(lab.sandbox)  # the shop's functions, by name
print(json.dumps(functions, indent=2))


# %%
def try_machine(name, definition, order):
    """Create (or replace) the state machine `name`, run `order` through it to its end on the lab
    clock, and print how it ended."""
    if definition is None or definition is ...:
        print(f"{name}: the definition is not written yet.")
        return None
    arn = shop.create_machine(sfn, name, definition)
    out = shop.run(sfn, lab.clock, arn, order)
    print(out["status"], out.get("output") or shop.reason(out), f"({shop.seconds(out):g} s)")
    return out


def newest_graph(name):
    """The graph view of the machine's newest execution (if it exists)."""
    names = [m["name"] for m in sfn.list_state_machines()["stateMachines"]]
    return lab.execution_view(name) if name in names else None


# %% [markdown]
# ## Task 1: a payment that rides out a flaky gateway
#
# The payment gateway has **outages of up to 25 seconds**: during one, `charge-card` fails with
# `GatewayBusy`, and a later try succeeds. A **declined card** (`CardDeclined`) never succeeds,
# however often it is tried. Write `payment_definition(charge_arn)`: a workflow whose input is an
# order (`{"order_id", "amount", "card", "address"}`) and which
#
# - charges the card with `charge-card` (its ARN is `charge_arn`) and outputs its answer (the
#   `charge_id` must be in the execution's output);
# - **retries with backoff** while the gateway is busy: it rides out a 25-second outage, and
#   when the gateway stays down it **gives up within 120 seconds**, after **at most 10 calls**;
# - **never retries a declined card**: the execution fails, saying the card was declined.

# %%
for name in ("interval_default", "max_attempts_default", "backoff_rate_default"):
    print(fact(f"step_functions.retry_{name}"))


# %%
def payment_definition(charge_arn):
    """The payment workflow's definition."""
    ### BEGIN SOLUTION
    return {
        "Comment": "Charge the order's card, riding out a busy gateway",
        "StartAt": "Charge card",
        "States": {
            "Charge card": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": charge_arn, "Payload.$": "$"},
                "OutputPath": "$.Payload",
                # 2, 4, 8, 16 and 32 s between the attempts: 62 s in all, six calls.
                "Retry": [
                    {
                        "ErrorEquals": ["GatewayBusy"],
                        "IntervalSeconds": 2,
                        "BackoffRate": 2,
                        "MaxAttempts": 5,
                    }
                ],
                "End": True,
            }
        },
    }
    ### END SOLUTION


# %% [markdown]
# Try it with a gateway that is down for the next 25 seconds of lab time, then with a declined
# card, and look at the execution: each retry is on the graph.

# %%
flaky = shop.deploy_shop(lab.sandbox, down_for=25, suffix="-flaky")["charge-card"]
try_machine("payment", payment_definition(flaky), {"order_id": "o-1", "amount": 30, "card": "4242"})
try_machine(
    "payment", payment_definition(flaky), {"order_id": "o-2", "amount": 30, "card": "declined-1"}
)
newest_graph("payment")

# %%
lab.check("payment")

# %% [markdown]
# ## Task 2: a saga that refunds when shipping fails
#
# An order is charged, then shipped. Shipping can fail after the payment succeeded (no carrier
# goes to Atlantis): then the customer must get their money back. Write
# `order_definition(charge_arn, ship_arn, refund_arn)`: a workflow that
#
# - charges the card, then ships the order; a good order succeeds, charged and shipped once;
# - when **shipping fails**, refunds the charge with `refund-charge` (its event must carry the
#   `charge_id` that `charge-card` returned), and then **ends failed**, its error or cause saying
#   that shipping failed;
# - when the **payment fails**, ships nothing and refunds nothing.


# %%
def order_definition(charge_arn, ship_arn, refund_arn):
    """The order workflow's definition, with its compensation."""

    ### BEGIN SOLUTION
    def call(arn):
        return {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": arn, "Payload.$": "$"},
            "ResultSelector": {"result.$": "$.Payload"},
        }

    return {
        "StartAt": "Charge card",
        "States": {
            "Charge card": {**call(charge_arn), "ResultPath": "$.charge", "Next": "Ship order"},
            "Ship order": {
                **call(ship_arn),
                "ResultPath": "$.shipment",
                "Catch": [
                    {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Refund"}
                ],
                "End": True,
            },
            "Refund": {**call(refund_arn), "ResultPath": "$.refund", "Next": "Shipping failed"},
            "Shipping failed": {
                "Type": "Fail",
                "Error": "ShippingFailed",
                "CausePath": "$.error.Cause",
            },
        },
    }
    ### END SOLUTION


# %%
try_machine(
    "orders",
    order_definition(functions["charge-card"], functions["ship-order"], functions["refund-charge"]),
    {"order_id": "o-3", "amount": 30, "card": "4242", "address": "Atlantis"},
)
newest_graph("orders")

# %%
lab.check("saga")

# %% [markdown]
# ## Task 3: packing an order's items, four at a time
#
# The warehouse has **four packing robots**. They take **pack requests** from the SQS queue
# whose URL is `queue_url`: one request per item, a JSON message body carrying the item (its
# `sku`) and a **task token**. A robot packs the item in 20 seconds, then answers with
# `SendTaskSuccess` (`{"sku": ..., "box": ...}`). A request sent while all four are busy waits in
# the queue. Write `packing_definition(queue_url)`: a workflow whose input is an order with
# `items` (a list of `{"sku", "qty"}`) that
#
# - sends **one pack request per item**, each item once, and waits for its robot's answer
#   (`.waitForTaskToken`);
# - never has **more than four** requests waiting at once, yet keeps the robots busy: twelve
#   items are packed within **120 seconds**;
# - keeps every item's answer (its box) in the execution's output.


# %%
def packing_definition(queue_url):
    """The packing workflow's definition."""
    ### BEGIN SOLUTION
    return {
        "StartAt": "Pack items",
        "States": {
            "Pack items": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 4,
                "ResultPath": "$.packed",
                "ItemProcessor": {
                    "StartAt": "Ask a robot",
                    "States": {
                        "Ask a robot": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                            "Parameters": {
                                "QueueUrl": queue_url,
                                "MessageBody": {"item.$": "$", "token.$": "$$.Task.Token"},
                            },
                            "TimeoutSeconds": 3600,
                            "End": True,
                        }
                    },
                },
                "End": True,
            }
        },
    }
    ### END SOLUTION


# %% [markdown]
# Try it: be the robots yourself. Read the requests, answer each with its token.

# %%
sqs = lab.client("sqs")
queue_url = sqs.create_queue(QueueName="pack-requests")["QueueUrl"]
items = [{"sku": f"sku-{n}", "qty": 1} for n in range(6)]
definition = packing_definition(queue_url)
if definition is not None:
    packing = shop.create_machine(sfn, "packing", definition)
    order = {"order_id": "o-4", "items": items}
    run = sfn.start_execution(stateMachineArn=packing, input=json.dumps(order))
    for second in (0, 20, 40):
        lab.clock.advance(20)
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            token = next(iter(tokens_in(message["Body"])), None)
            sku = re.search(r"sku-\d+", message["Body"])
            if token and sku:
                print(f"{second:>2} s: a robot packs {sku.group()}")
                box = json.dumps({"sku": sku.group(), "box": "bx-" + sku.group()})
                sfn.send_task_success(taskToken=token, output=box)
    print(sfn.describe_execution(executionArn=run["executionArn"])["status"])

# %%
lab.check("packing")

# %% [markdown]
# ## Task 4: a human approves large orders
#
# Orders **above 1,000** need a manager's approval before the card is charged. Write
# `approval_definition(charge_arn, queue_url, approver)`: a workflow whose input is an order that
#
# - charges an order of 1,000 or less at once, asking nobody;
# - for a larger order, **sends its task token** to the manager, either as a message to the SQS
#   queue `queue_url`, or by **email** to the address `approver` (through SES:
#   `arn:aws:states:::aws-sdk:ses:sendEmail.waitForTaskToken`, from any `@example.com`
#   address), and waits;
# - charges the order once when the manager **approves** (`SendTaskSuccess`), and never when
#   they **reject** it (`SendTaskFailure`): the execution then fails;
# - **rejects by default** an order nobody answered within **24 hours** of lab time.

# %%
print(fact("step_functions.task_default_timeout"))


# %%
def approval_definition(charge_arn, queue_url, approver):
    """The approval workflow's definition."""
    ### BEGIN SOLUTION
    return {
        "StartAt": "Large order?",
        "States": {
            "Large order?": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.amount", "NumericGreaterThan": 1000, "Next": "Ask manager"}
                ],
                "Default": "Charge card",
            },
            "Ask manager": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {
                    "QueueUrl": queue_url,
                    "MessageBody": {"order.$": "$", "token.$": "$$.Task.Token"},
                },
                "TimeoutSeconds": 86400,
                "ResultPath": "$.approval",
                "Catch": [
                    {"ErrorEquals": ["States.ALL"], "ResultPath": "$.why", "Next": "Rejected"}
                ],
                "Next": "Charge card",
            },
            "Charge card": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": charge_arn, "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "End": True,
            },
            "Rejected": {
                "Type": "Fail",
                "Error": "Rejected",
                "Cause": "The order was not approved.",
            },
        },
    }
    ### END SOLUTION


# %%
approvals = sqs.create_queue(QueueName="approvals")["QueueUrl"]
big = {"order_id": "o-5", "amount": 5000, "card": "4242"}
definition = approval_definition(functions["charge-card"], approvals, "boss@example.com")
if definition is not None:
    machine = shop.create_machine(sfn, "approvals", definition)
    waiting = sfn.start_execution(stateMachineArn=machine, input=json.dumps(big))["executionArn"]
    lab.clock.advance(3600)
    print("after an hour:", sfn.describe_execution(executionArn=waiting)["status"])
    lab.clock.advance(23 * 3600)
    print("after a day:", shop.reason(sfn.describe_execution(executionArn=waiting)))

# %%
lab.check("approval")

# %% [markdown]
# ## Task 5: Standard or Express
#
# Write `choose_type(workload)`: return `"STANDARD"` or `"EXPRESS"` for a month of one workflow,
# a `Workload` (`executions` a month, state `transitions` per execution, `seconds` an execution
# runs, `memory_mb`, `waits_for_callbacks`, and `exactly_once`: whether running a step twice
# would do harm). Choose the type that can run it, and of two that can, the cheaper;
# `compare(workload)` prices both from AWS's published prices. Two of the shop's workloads:
#
# - **telemetry**: 30 million sensor readings a month, each cleaned and stored by a workflow of
#   4 transitions that runs 0.3 s; storing a reading twice does no harm;
# - **order fulfilment**: 200,000 orders a month, 12 transitions each, waiting up to two days
#   for the warehouse's callback; a card must never be charged twice.

# %%
print(fact("step_functions.express_max_duration"))
print(fact("step_functions.express_execution_semantics"))
print(fact("step_functions.standard_execution_semantics"))
telemetry = Workload(30_000_000, 4, 0.3)
print(compare(telemetry))


# %%
def choose_type(workload):
    """'STANDARD' or 'EXPRESS' for the workload."""
    ### BEGIN SOLUTION
    limit = fact("step_functions.express_max_duration").value
    exactly_once = getattr(workload, "exactly_once", False)
    if workload.seconds > limit or workload.waits_for_callbacks or exactly_once:
        return "STANDARD"
    standard, express = compare(workload)
    return "EXPRESS" if express.total < standard.total else "STANDARD"
    ### END SOLUTION


# %%
lab.check("workflow_type")

# %% [markdown]
# ## Your score

# %%
lab.score()

# %% [markdown]
# ## Summary
#
# - A Retry names the errors that can succeed later (`GatewayBusy`) and bounds the wait
#   (`IntervalSeconds`, `BackoffRate`, `MaxAttempts`, `MaxDelaySeconds`); an error that never
#   succeeds (`CardDeclined`) is not retried: `States.ALL` and `States.TaskFailed` include it.
# - A saga undoes what succeeded when a later step fails: a Catch with a `ResultPath` keeps the
#   state (the charge) beside the error, a compensating task uses it, and a Fail state says why.
# - A Map runs its item processor per item; `MaxConcurrency` bounds how many run at once, to
#   what the service behind them can take.
# - `.waitForTaskToken` hands a token to someone outside (a queue, an email) and waits, up to a
#   year, unless `TimeoutSeconds` says less; `SendTaskSuccess`/`SendTaskFailure` resume it.
# - Express runs up to five minutes, at least once, priced by requests and duration; Standard
#   runs up to a year, exactly once, priced by state transitions and can wait for callbacks.
