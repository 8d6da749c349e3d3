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
# Plausible mistakes, one per task: a retry every second, forty times (a dead gateway is
# hammered), no compensation at all (the charge of an order that cannot ship is kept), the whole
# order in every pack request (every robot packs the first item), a rejection caught into
# Succeed, and a yes/no answer instead of the workflow type.

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
        {"ErrorEquals": ["GatewayBusy"], "IntervalSeconds": 1, "BackoffRate": 1, "MaxAttempts": 40}
    ]
    return {"StartAt": "Charge", "States": {"Charge": invoke(charge_arn, Retry=retry, End=True)}}


# %%
def order_definition(charge_arn, ship_arn, refund_arn):
    return {
        "StartAt": "Charge",
        "States": {
            "Charge": invoke(charge_arn, ResultPath="$.charge", Next="Ship"),
            "Ship": invoke(ship_arn, ResultPath="$.shipment", End=True),
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
                "ResultPath": "$.boxes",
                "ItemProcessor": {
                    "StartAt": "Ask",
                    "States": {
                        "Ask": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                            "Parameters": {
                                "QueueUrl": queue_url,
                                "MessageBody": {
                                    "order.$": "$$.Execution.Input",
                                    "token.$": "$$.Task.Token",
                                },
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
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Not approved"}],
                "Next": "Charge",
            },
            "Charge": invoke(charge_arn, End=True),
            "Not approved": {"Type": "Succeed"},
        },
    }


# %%
def choose_type(workload):
    return workload.seconds <= 300
