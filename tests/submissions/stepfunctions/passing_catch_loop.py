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
# A correct submission written differently from the solution: the payment retries with a Catch
# loop (a counter, a Choice and a Wait) instead of Retry, tasks name the Lambda ARN directly (no
# lambda:invoke), the saga catches only CannotShip, the Map uses the older Iterator and
# ItemSelector spellings, the approval lets a rejection or a timeout fail the execution without
# a catcher, and choose_type asks sim_pricing which types can run a workload.

# %%
import labkit
from labkit.services.stepfunctions import sim_pricing

lab = labkit.start("stepfunctions")


# %%
def payment_definition(charge_arn):
    return {
        "StartAt": "Start count",
        "States": {
            "Start count": {
                "Type": "Pass",
                "Result": {"value": 0},
                "ResultPath": "$.attempts",
                "Next": "Charge",
            },
            "Charge": {
                "Type": "Task",
                "Resource": charge_arn,
                "ResultPath": "$.charge",
                "Catch": [
                    {"ErrorEquals": ["GatewayBusy"], "ResultPath": "$.busy", "Next": "Again?"}
                ],
                "End": True,
            },
            "Again?": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.attempts.value", "NumericLessThan": 5, "Next": "Back off"}
                ],
                "Default": "Gateway down",
            },
            "Back off": {"Type": "Wait", "Seconds": 10, "Next": "Count"},
            "Count": {
                "Type": "Pass",
                "Parameters": {"value.$": "States.MathAdd($.attempts.value, 1)"},
                "ResultPath": "$.attempts",
                "Next": "Charge",
            },
            "Gateway down": {"Type": "Fail", "Error": "GatewayDown", "Cause": "Gave up."},
        },
    }


# %%
def order_definition(charge_arn, ship_arn, refund_arn):
    return {
        "StartAt": "Charge",
        "States": {
            "Charge": {
                "Type": "Task",
                "Resource": charge_arn,
                "ResultPath": "$.payment",
                "Next": "Ship",
            },
            "Ship": {
                "Type": "Task",
                "Resource": ship_arn,
                "ResultPath": "$.parcel",
                "Catch": [
                    {
                        "ErrorEquals": ["CannotShip"],
                        "ResultPath": "$.shipping_error",
                        "Next": "Refund",
                    }
                ],
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
            "Refund": {
                "Type": "Task",
                "Resource": refund_arn,
                "Parameters": {"charge.$": "$.payment.charge_id"},
                "ResultPath": None,
                "Next": "Shipping failed",
            },
            "Shipping failed": {
                "Type": "Fail",
                "Error": "ShippingFailed",
                "Cause": "The order could not be shipped; its payment was refunded.",
            },
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
                "ItemSelector": {"sku.$": "$$.Map.Item.Value.sku", "order.$": "$.order_id"},
                "MaxConcurrency": 4,
                "Iterator": {
                    "StartAt": "Request robot",
                    "States": {
                        "Request robot": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                            "Parameters": {
                                "QueueUrl": queue_url,
                                "MessageBody": {"TaskToken.$": "$$.Task.Token", "Sku.$": "$.sku"},
                            },
                            "HeartbeatSeconds": 600,
                            "End": True,
                        }
                    },
                },
                "ResultPath": "$.boxes",
                "End": True,
            }
        },
    }


# %%
def approval_definition(charge_arn, queue_url, approver):
    return {
        "StartAt": "Small?",
        "States": {
            "Small?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.amount", "NumericLessThanEquals": 1000, "Next": "Pay"}],
                "Default": "Wait for manager",
            },
            "Wait for manager": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {
                    "QueueUrl": queue_url,
                    "MessageBody": {
                        "taskToken.$": "$$.Task.Token",
                        "orderId.$": "$.order_id",
                        "amount.$": "$.amount",
                    },
                },
                "TimeoutSeconds": 24 * 60 * 60,
                "ResultPath": "$.decision",
                "Next": "Pay",
            },
            "Pay": {"Type": "Task", "Resource": charge_arn, "End": True},
        },
    }


# %%
def choose_type(workload):
    express = sim_pricing.express(workload)
    if express.total is None or workload.exactly_once:
        return "STANDARD"
    return min((sim_pricing.standard(workload), express), key=lambda p: p.total).type
