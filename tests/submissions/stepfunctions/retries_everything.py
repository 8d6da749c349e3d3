# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   labkit:
#     lab: stepfunctions
#     role: exercise
# ---

# %% [markdown]
# Plausible mistakes, one per task: a Retry on States.ALL (a declined card is retried), a
# catcher on the payment too (a declined card leads to a refund of nothing), a Map without
# MaxConcurrency (twelve requests for four robots), approval from 1,000 on (NumericGreaterThan
# Equals), and Express chosen for a workload whose steps must run exactly once.

# %%
import labkit
from labkit.services.stepfunctions.sim_pricing import compare

lab = labkit.start("stepfunctions")


def invoke(arn, **extra):
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": arn, "Payload.$": "$"},
        "ResultSelector": {"result.$": "$.Payload"},
        **extra,
    }


# %%
def payment_definition(charge_arn):
    return {
        "StartAt": "Charge",
        "States": {
            "Charge": invoke(
                charge_arn,
                Retry=[{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 2, "MaxAttempts": 5}],
                End=True,
            )
        },
    }


# %%
def order_definition(charge_arn, ship_arn, refund_arn):
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Refund"}]
    return {
        "StartAt": "Charge",
        "States": {
            "Charge": invoke(charge_arn, ResultPath="$.charge", Catch=catch, Next="Ship"),
            "Ship": invoke(ship_arn, ResultPath="$.shipment", Catch=catch, End=True),
            "Refund": invoke(refund_arn, ResultPath="$.refund", Next="Failed"),
            "Failed": {"Type": "Fail", "Error": "ShippingFailed"},
        },
    }


# %%
def packing_definition(queue_url):
    return {
        "StartAt": "Pack",
        "States": {
            "Pack": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "StartAt": "Ask",
                    "States": {
                        "Ask": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                            "Parameters": {
                                "QueueUrl": queue_url,
                                "MessageBody": {"item.$": "$", "token.$": "$$.Task.Token"},
                            },
                            "End": True,
                        }
                    },
                },
                "End": True,
            }
        },
    }


# %%
def approval_definition(charge_arn, queue_url, approver):
    return {
        "StartAt": "Big?",
        "States": {
            "Big?": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.amount", "NumericGreaterThanEquals": 1000, "Next": "Ask"}
                ],
                "Default": "Charge",
            },
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {
                    "QueueUrl": queue_url,
                    "MessageBody": {"order.$": "$", "token.$": "$$.Task.Token"},
                },
                "TimeoutSeconds": 86400,
                "ResultPath": "$.approval",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "No"}],
                "Next": "Charge",
            },
            "Charge": invoke(charge_arn, End=True),
            "No": {"Type": "Fail", "Error": "Rejected"},
        },
    }


# %%
def choose_type(workload):
    standard, express = compare(workload)
    if express.total is None:
        return "STANDARD"
    return "EXPRESS" if express.total < standard.total else "STANDARD"
