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
# A correct submission written differently from the solution: JSONata everywhere (Arguments,
# Output, Assign variables, Condition), definitions returned as JSON text, a gentler backoff
# capped by MaxDelaySeconds, the approval sent by email through SES with a link, and prices
# worked out by hand from the fact table.

# %%
import json
import math

import labkit
from labkit.facts import fact

lab = labkit.start("stepfunctions")


def invoke(arn, payload="{% $states.input %}"):
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {"FunctionName": arn, "Payload": payload},
    }


# %%
def payment_definition(charge_arn):
    return json.dumps(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "Pay",
            "States": {
                "Pay": {
                    **invoke(charge_arn),
                    "Output": "{% $states.result.Payload %}",
                    "Retry": [
                        {
                            "ErrorEquals": ["GatewayBusy"],
                            "IntervalSeconds": 5,
                            "BackoffRate": 1.5,
                            "MaxAttempts": 6,
                            "MaxDelaySeconds": 20,
                        }
                    ],
                    "End": True,
                }
            },
        }
    )


# %%
def order_definition(charge_arn, ship_arn, refund_arn):
    return json.dumps(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "Pay",
            "States": {
                "Pay": {
                    **invoke(charge_arn),
                    "Assign": {"payment": "{% $states.result.Payload %}"},
                    "Output": "{% $states.input %}",
                    "Next": "Ship",
                },
                "Ship": {
                    **invoke(ship_arn),
                    "Catch": [
                        {
                            "ErrorEquals": ["CannotShip"],
                            "Assign": {"why": "{% $states.errorOutput %}"},
                            "Next": "Give money back",
                        }
                    ],
                    "Output": "{% $states.result.Payload %}",
                    "End": True,
                },
                "Give money back": {
                    **invoke(refund_arn, {"charge_id": "{% $payment.charge_id %}"}),
                    "Next": "Not shipped",
                },
                "Not shipped": {
                    "Type": "Fail",
                    "Error": "CannotShip",
                    "Cause": "{% 'Refunded ' & $payment.charge_id & ': ' & $why.Cause %}",
                },
            },
        }
    )


# %%
def packing_definition(queue_url):
    return json.dumps(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "Robots",
            "States": {
                "Robots": {
                    "Type": "Map",
                    "Items": "{% $states.input.items %}",
                    "MaxConcurrency": 4,
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "INLINE"},
                        "StartAt": "Request",
                        "States": {
                            "Request": {
                                "Type": "Task",
                                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                                "Arguments": {
                                    "QueueUrl": queue_url,
                                    "MessageBody": "{% $string({'sku': $states.input.sku, "
                                    "'token': $states.context.Task.Token}) %}",
                                },
                                "End": True,
                            }
                        },
                    },
                    "Output": "{% {'order': $states.input.order_id, 'boxes': $states.result} %}",
                    "End": True,
                }
            },
        }
    )


# %%
def approval_definition(charge_arn, queue_url, approver):
    ask = "arn:aws:states:::aws-sdk:ses:sendEmail.waitForTaskToken"
    link = "https://shop.example.com/approve?token="
    return json.dumps(
        {
            "QueryLanguage": "JSONata",
            "StartAt": "Needs approval?",
            "States": {
                "Needs approval?": {
                    "Type": "Choice",
                    "Choices": [
                        {"Condition": "{% $states.input.amount > 1000 %}", "Next": "Email"}
                    ],
                    "Default": "Pay",
                },
                "Email": {
                    "Type": "Task",
                    "Resource": ask,
                    "Arguments": {
                        "Source": "orders@example.com",
                        "Destination": {"ToAddresses": [approver]},
                        "Message": {
                            "Subject": {"Data": "{% 'Approve ' & $states.input.order_id %}"},
                            "Body": {
                                "Text": {
                                    "Data": "{% '" + link + "' & $states.context.Task.Token %}"
                                }
                            },
                        },
                    },
                    "Output": "{% $states.input %}",
                    "TimeoutSeconds": 86400,
                    "Catch": [{"ErrorEquals": ["Rejected", "States.Timeout"], "Next": "No"}],
                    "Next": "Pay",
                },
                "Pay": {**invoke(charge_arn), "End": True},
                "No": {"Type": "Fail", "Error": "NotApproved"},
            },
        }
    )


# %%
def choose_type(workload):
    if workload.seconds > fact("step_functions.express_max_duration").value:
        return "Standard"
    if workload.waits_for_callbacks or workload.exactly_once:
        return "Standard"
    transitions = workload.executions * workload.transitions
    free = fact("step_functions.standard_free_transitions").value
    standard = (
        max(0, transitions - free) * fact("step_functions.standard_price_per_transition").value
    )
    billed_s = max(0.1, math.ceil(workload.seconds * 10) / 10)
    gb = math.ceil(workload.memory_mb / 64) * 64 / 1024
    express = workload.executions * (
        fact("step_functions.express_price_per_request").value
        + billed_s * gb * fact("step_functions.express_price_per_gb_second").value
    )
    return "express" if express < standard else "standard"
