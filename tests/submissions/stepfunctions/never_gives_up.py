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
# Plausible mistakes, one per task: ten doubling retries (a dead gateway keeps the order waiting
# for half an hour), a compensation that ends in Succeed (the lost order looks fine), a Map
# whose output is thrown away (ResultPath null), a timeout that approves by default, and Express
# for every workload it can run, whatever it costs or repeats.

# %%
import labkit

lab = labkit.start("stepfunctions")


def invoke(arn, **extra):
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": arn, "Payload.$": "$"},
        "ResultSelector": {"answer.$": "$.Payload"},
        **extra,
    }


# %%
def payment_definition(charge_arn):
    retry = [
        {"ErrorEquals": ["GatewayBusy"], "IntervalSeconds": 2, "BackoffRate": 2, "MaxAttempts": 10}
    ]
    return {"StartAt": "Charge", "States": {"Charge": invoke(charge_arn, Retry=retry, End=True)}}


# %%
def order_definition(charge_arn, ship_arn, refund_arn):
    return {
        "StartAt": "Charge",
        "States": {
            "Charge": invoke(charge_arn, ResultPath="$.charge", Next="Ship"),
            "Ship": invoke(
                ship_arn,
                ResultPath="$.shipment",
                Catch=[{"ErrorEquals": ["CannotShip"], "ResultPath": "$.error", "Next": "Refund"}],
                End=True,
            ),
            "Refund": invoke(refund_arn, ResultPath="$.refund", Next="Refunded"),
            "Refunded": {"Type": "Succeed"},
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
                "MaxConcurrency": 4,
                "ResultPath": None,
                "ItemProcessor": {
                    "StartAt": "Ask",
                    "States": {
                        "Ask": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                            "Parameters": {
                                "QueueUrl": queue_url,
                                "MessageBody": {"sku.$": "$.sku", "token.$": "$$.Task.Token"},
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
                "Choices": [{"Variable": "$.amount", "NumericGreaterThan": 1000, "Next": "Ask"}],
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
                "Catch": [
                    {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.late", "Next": "Charge"},
                    {"ErrorEquals": ["States.ALL"], "Next": "No"},
                ],
                "Next": "Charge",
            },
            "Charge": invoke(charge_arn, End=True),
            "No": {"Type": "Fail", "Error": "Rejected"},
        },
    }


# %%
def choose_type(workload):
    if workload.seconds <= 300 and not workload.waits_for_callbacks:
        return "EXPRESS"
    return "STANDARD"
