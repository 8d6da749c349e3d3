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
# Plausible mistakes, one per task: two quick retries (the gateway is still down when they run
# out), a catcher without ResultPath (the error replaces the state, and the refund has no
# charge_id), a Map one item at a time, an approval without TimeoutSeconds (it waits a year),
# and Standard for everything.

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
    retry = [{"ErrorEquals": ["GatewayBusy"], "IntervalSeconds": 1, "MaxAttempts": 2}]
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
                Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Refund"}],
                End=True,
            ),
            "Refund": invoke(refund_arn, Next="Failed"),
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
                "MaxConcurrency": 1,
                "ResultPath": "$.boxes",
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
    return "STANDARD"
