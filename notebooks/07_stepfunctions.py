# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Step Functions: workflows you can watch
#
# **AWS Step Functions** runs **workflows**: a **state machine** written in the **Amazon States
# Language** (JSON) says which steps run, in which order, what each passes to the next, and what
# happens when one fails. Step Functions runs each **execution** of it, remembers where it is
# (for up to a year), retries, waits, and draws it as a graph with the path it took. The code of
# each step stays small (a Lambda function, one call to a service); the workflow holds the
# order, the waiting and the error handling that would otherwise be tangled through it.
#
# This lesson follows a shop's orders. You will see:
#
# 1. states and executions on the lab clock, and the **graph view**;
# 2. the **data flow** between states (JSONPath and JSONata);
# 3. **tasks**, errors, **Retry** and **Catch**;
# 4. **Parallel** and **Map**;
# 5. **callbacks**: a task token sent by email for a human approval, and its timeout;
# 6. **Standard or Express**: semantics and cost.

# %%
import json

import labkit
from labkit.facts import fact
from labkit.labs import stepfunctions_shop as shop
from labkit.services.stepfunctions.sim_pricing import Workload, compare

lab = labkit.start("stepfunctions")
sfn = lab.client("stepfunctions")
ROLE = shop.ROLE_ARN  # the role executions run as (the sandbox does not check it)


def create(name, definition, **kwargs):
    """Create the state machine (replacing one of that name) and return its ARN."""
    return shop.create_machine(sfn, name, definition, **kwargs)


# %% [markdown]
# ## 1. States, executions and the lab clock
#
# A definition names its first state (`StartAt`) and its **states**, each with a `Type`: **Pass**
# (passes or shapes data), **Task** (does work), **Choice** (branches on the data), **Wait**
# (seconds, until a time), **Parallel** and **Map** (run branches, or the same steps per item),
# **Succeed** and **Fail** (end). Each state says where to go `Next`, or `End`.
#
# The shop's first workflow checks an order: large orders wait a minute (for a fraud check to
# settle) and every order ends up "accepted".

# %%
check_order = {
    "Comment": "Accept an order; large ones after a pause",
    "StartAt": "Large?",
    "States": {
        "Large?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.amount", "NumericGreaterThan": 1000, "Next": "Settle"}],
            "Default": "Accept",
        },
        "Settle": {"Type": "Wait", "Seconds": 60, "Next": "Accept"},
        "Accept": {"Type": "Pass", "Result": "accepted", "ResultPath": "$.status", "End": True},
    },
}
checker = create("check-order", check_order)
started = sfn.start_execution(
    stateMachineArn=checker, name="order-1", input=json.dumps({"order_id": "o-1", "amount": 5000})
)
print(sfn.describe_execution(executionArn=started["executionArn"])["status"])

# %% [markdown]
# The execution is **running**: it waits in `Settle`. Nothing sleeps in the sandbox: a Wait runs
# on the **lab clock**. Here is the graph at this moment (a held view: it keeps this moment). Each
# state says how it went, in words and a symbol; the path taken is drawn thick; click an entry
# for its input and output.

# %%
lab.execution_view("check-order", hold=True)

# %% [markdown]
# A **live** view of the same machine follows its newest execution after every cell. Move the
# clock past the Wait and the execution succeeds:

# %%
live = lab.execution_view("check-order")
lab.clock.advance(60)
described = sfn.describe_execution(executionArn=started["executionArn"])
print(described["status"], described["output"])
live

# %% [markdown]
# Every step is recorded in the execution's **history**, as events:

# %%
history = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
for event in history:
    print(event["id"], event["type"])
print(fact("step_functions.standard_history_max_events"))
print(fact("step_functions.standard_max_duration"))

# %% [markdown]
# An execution's **name** is unique per state machine for 90 days: starting `order-1` again
# with another input, or once it has ended, is refused, which makes a start **idempotent**: a
# client that retries a start cannot run an order twice.

# %%
print(fact("step_functions.execution_name_reuse"))
try:
    sfn.start_execution(stateMachineArn=checker, name="order-1", input='{"amount": 1}')
except sfn.exceptions.ExecutionAlreadyExists as err:
    print(err.response["Error"]["Code"])

# %% [markdown]
# ## 2. Data flow: what each state sees and passes on
#
# A state receives a JSON **input** and produces an **output**, the next state's input. In the
# classic **JSONPath** style, five fields shape it, in this order:
#
# 1. `InputPath` picks part of the input (`$.order`);
# 2. `Parameters` builds the task's arguments (`"key.$": "$.path"` takes a value;
#    `$$` is the **context object**: the execution, the state, a task token);
# 3. `ResultSelector` picks from the task's result;
# 4. `ResultPath` places the result in the input (`$.charge`), replaces it (`$`, the default), or
#    drops it (`null`);
# 5. `OutputPath` picks what goes on.
#
# Intrinsic functions (`States.Format`, `States.MathAdd`, `States.UUID`, ...) compute values.

# %%
shape = {
    "StartAt": "Shape",
    "States": {
        "Shape": {
            "Type": "Pass",
            "InputPath": "$.order",
            "Parameters": {
                "id.$": "$.order_id",
                "label.$": "States.Format('Order {} for {}', $.order_id, $.customer)",
                "execution.$": "$$.Execution.Name",
            },
            "ResultPath": "$.shaped",
            "End": True,
        }
    },
}
order = {"order": {"order_id": "o-2", "customer": "ana", "amount": 30}}
out = shop.run(sfn, lab.clock, create("shape", shape), order, name="shape-1")
print(json.dumps(json.loads(out["output"]), indent=2))

# %% [markdown]
# Since 2024 a state machine may use **JSONata** instead (`"QueryLanguage": "JSONata"`): `{% %}`
# expressions compute `Arguments` and `Output` from `$states.input` (and `$states.result`), and
# `Assign` keeps **variables** for later states. Same result, one language:

# %%
shape_jsonata = {
    "QueryLanguage": "JSONata",
    "StartAt": "Shape",
    "States": {
        "Shape": {
            "Type": "Pass",
            "Assign": {"customer": "{% $states.input.order.customer %}"},
            "Output": {
                "id": "{% $states.input.order.order_id %}",
                "label": "{% 'Order ' & $states.input.order.order_id & ' for ' & "
                "$states.input.order.customer %}",
                "total": "{% $states.input.order.amount * 1.2 %}",
            },
            "End": True,
        }
    },
}
out = shop.run(sfn, lab.clock, create("shape-jsonata", shape_jsonata), order)
print(out["output"])

# %% [markdown]
# ## 3. Tasks, errors, Retry and Catch
#
# A **Task** state does work: it invokes a Lambda function, or calls a service directly
# (`arn:aws:states:::sqs:sendMessage`, `dynamodb:putItem`, `sns:publish`, any AWS API through
# `aws-sdk:`). The shop's functions: `charge-card` (fails with `CardDeclined` for a declined
# card, with `GatewayBusy` while the payment gateway is down), `ship-order`, `refund-charge`.

# %%
functions = shop.deploy_shop(lab.sandbox)
flaky = shop.deploy_shop(lab.sandbox, down_for=10, suffix="-flaky")["charge-card"]
print(json.dumps(functions, indent=2))

# %% [markdown]
# A task that fails fails the execution, unless the state handles it:
#
# - **Retry**: for errors in `ErrorEquals`, try again after `IntervalSeconds`, each wait
#   `BackoffRate` times longer, at most `MaxAttempts` times (`MaxDelaySeconds` caps a wait,
#   `JitterStrategy: FULL` spreads the retries of many executions);
# - **Catch**: for errors in `ErrorEquals`, go to another state, with the error placed by
#   `ResultPath`.
#
# Error names are the function's own (`GatewayBusy`, the exception's class), or Step Functions'
# (`States.Timeout`, `States.TaskFailed`: any task failure, `States.ALL`: anything). Retry only
# what can succeed later: `States.ALL` would retry a declined card too. A retrier that leaves a
# field out gets its default:

# %%
for name in ("interval_default", "max_attempts_default", "backoff_rate_default"):
    print(fact(f"step_functions.retry_{name}"))

# %%
charge = {
    "StartAt": "Charge card",
    "States": {
        "Charge card": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": flaky, "Payload.$": "$"},
            "OutputPath": "$.Payload",
            "Retry": [
                {
                    "ErrorEquals": ["GatewayBusy"],
                    "IntervalSeconds": 1,
                    "BackoffRate": 2,
                    "MaxAttempts": 4,
                }
            ],
            "Catch": [
                {"ErrorEquals": ["CardDeclined"], "ResultPath": "$.error", "Next": "Declined"}
            ],
            "End": True,
        },
        "Declined": {"Type": "Fail", "Error": "PaymentDeclined", "CausePath": "$.error.Cause"},
    },
}
charger = create("charge", charge)
paid = shop.run(sfn, lab.clock, charger, {"order_id": "o-3", "amount": 30, "card": "4242"})
print(paid["status"], paid["output"], f"after {shop.seconds(paid):g} s")

# %% [markdown]
# The gateway was down for ten seconds: the task was retried after 1, 2, 4 and 8 seconds, and
# the fifth attempt, 15 seconds in, succeeded. The graph says how often each state was retried
# and how long it took in lab time:

# %%
lab.execution_view("charge", hold=True)

# %% [markdown]
# A declined card is not retried: the catcher sends it to `Declined`, which fails the execution
# with the reason. The state that caught the error says so:

# %%
declined = shop.run(sfn, lab.clock, charger, {"order_id": "o-4", "amount": 30, "card": "declined"})
print(declined["status"], shop.reason(declined)[:80])
lab.execution_view("charge", hold=True)

# %% [markdown]
# ## 4. Parallel and Map
#
# **Parallel** runs fixed branches at once and outputs the list of their outputs. **Map** runs
# the same steps (its `ItemProcessor`) for each item of a list (`ItemsPath`), and outputs the
# list of results; `MaxConcurrency` bounds how many items run at once (0: as many as it can),
# for a service behind it that cannot take more. A **distributed** Map
# (`ProcessorConfig.Mode: DISTRIBUTED`) reads millions of items from S3 (`ItemReader`) and runs
# each batch as a child execution.

# %%
each_item = {
    "StartAt": "Each item",
    "States": {
        "Each item": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "MaxConcurrency": 2,
            "ItemProcessor": {
                "StartAt": "Price",
                "States": {
                    "Price": {
                        "Type": "Pass",
                        "Parameters": {"sku.$": "$.sku", "total.$": "States.MathAdd($.qty, 0)"},
                        "End": True,
                    }
                },
            },
            "End": True,
        }
    },
}
items = {"items": [{"sku": "tea", "qty": 2}, {"sku": "cup", "qty": 1}, {"sku": "pot", "qty": 1}]}
out = shop.run(sfn, lab.clock, create("each-item", each_item), items)
print(out["output"])
lab.execution_view("each-item", hold=True)

# %% [markdown]
# ## 5. Callbacks: a human approval by email
#
# A task whose resource ends in **`.waitForTaskToken`** makes its call with a **task token**
# (`$$.Task.Token`) and then waits until someone calls `SendTaskSuccess` (with the output) or
# `SendTaskFailure` (with an error, which Retry and Catch see) with that token. The someone can
# be a person, as in AWS's human-approval sample: a Lambda function emails the manager two
# links that carry the token, and the links reach an API (API Gateway and another function) that
# answers the waiting task. `TimeoutSeconds` bounds the wait: without it a token waits as long
# as the execution may run.
#
# First the API the links point to: `GET /answer?action=approve|reject&token=...`.

# %%
import os
import re
import urllib.parse

import boto3
import requests


def answer_approval(event, context):
    """API Gateway calls this for a click on a link: answer the waiting task with its token."""
    query = event["queryStringParameters"] or {}
    states = boto3.client("stepfunctions")
    if query.get("action") == "approve":
        states.send_task_success(taskToken=query["token"], output=json.dumps({"approved": True}))
    else:
        states.send_task_failure(
            taskToken=query["token"], error="ManagerSaidNo", cause="The manager clicked Reject"
        )
    answered = "approved" if query.get("action") == "approve" else "rejected"
    return {"statusCode": 200, "body": f"Thank you: the order is {answered}."}


apig = lab.client("apigateway")
answer_arn = lab.deploy_function(answer_approval)
api = apig.create_rest_api(name="approvals")["id"]
root = apig.get_resources(restApiId=api)["items"][0]["id"]
answer = apig.create_resource(restApiId=api, parentId=root, pathPart="answer")["id"]
apig.put_method(restApiId=api, resourceId=answer, httpMethod="GET", authorizationType="NONE")
apig.put_integration(
    restApiId=api,
    resourceId=answer,
    httpMethod="GET",
    type="AWS_PROXY",
    integrationHttpMethod="POST",
    uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{answer_arn}/invocations",
)
lab.client("lambda").add_permission(  # API Gateway may invoke the function
    FunctionName="answer_approval",
    StatementId="approvals-api",
    Action="lambda:InvokeFunction",
    Principal="apigateway.amazonaws.com",
)
apig.create_deployment(restApiId=api, stageName="prod")
ANSWER_URL = f"https://{api}.execute-api.us-east-1.amazonaws.com/prod/answer"

# %% [markdown]
# Then the function that asks: it gets the token in its event and sends the email through SES
# (in the sandbox every email lands in `lab.mailbox`). A token may hold `+`, `/` and `=`, so the
# links quote it. The state machine passes the token and waits: a Catch turns a rejection, or a
# timeout, into a failed execution.


# %%
def ask_manager(event, context):
    """Email the manager an approve link and a reject link that carry the task token."""
    token = urllib.parse.quote(event["token"], safe="")
    link = f"{os.environ['ANSWER_URL']}?token={token}&action="
    boto3.client("ses").send_email(
        Source="shop@example.com",
        Destination={"ToAddresses": ["boss@example.com"]},
        Message={
            "Subject": {"Data": f"Approve order {event['order']['order_id']}?"},
            "Body": {"Text": {"Data": f"Approve: {link}approve\nReject: {link}reject"}},
        },
    )


print(fact("step_functions.task_default_timeout"))
lab.client("ses").verify_domain_identity(Domain="example.com")
ask_arn = lab.deploy_function(ask_manager, environment={"ANSWER_URL": ANSWER_URL})
approval = {
    "StartAt": "Ask manager",
    "States": {
        "Ask manager": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {
                "FunctionName": ask_arn,
                "Payload": {"token.$": "$$.Task.Token", "order.$": "$"},
            },
            "TimeoutSeconds": 86400,
            "ResultPath": "$.approval",
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.why", "Next": "Rejected"}],
            "Next": "Charge",
        },
        "Charge": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": functions["charge-card"], "Payload.$": "$"},
            "OutputPath": "$.Payload",
            "End": True,
        },
        "Rejected": {"Type": "Fail", "Error": "Rejected", "CausePath": "$.why.Error"},
    },
}
approver = create("approval", approval)
asked = sfn.start_execution(
    stateMachineArn=approver, input=json.dumps({"order_id": "o-5", "amount": 5000, "card": "1"})
)
mail = lab.mailbox.latest("boss@example.com")
print(mail.subject)
print(mail.body[:100] + "...")

# %% [markdown]
# The email is in the manager's mailbox and the execution is waiting, for as long as the
# manager takes (two hours here):

# %%
lab.clock.advance(2 * 3600)
lab.execution_view("approval", hold=True)

# %% [markdown]
# The manager clicks **Approve**: an ordinary HTTP request to the API, whose function calls
# `SendTaskSuccess` with the token. The execution goes on and charges the card:

# %%
approve_link = re.search(r"Approve: (\S+)", mail.body)[1]
print(requests.get(approve_link).text)
print(sfn.describe_execution(executionArn=asked["executionArn"])["status"])

# %% [markdown]
# A click on **Reject** calls `SendTaskFailure`; the catcher sends the execution to `Rejected`:

# %%
declined = sfn.start_execution(
    stateMachineArn=approver, input=json.dumps({"order_id": "o-7", "amount": 7000, "card": "1"})
)
reject_link = re.search(r"Reject: (\S+)", lab.mailbox.latest("boss@example.com").body)[1]
print(requests.get(reject_link).text)
print(shop.reason(sfn.describe_execution(executionArn=declined["executionArn"])))

# %% [markdown]
# An approval nobody answers fails with `States.Timeout` after `TimeoutSeconds`, here 24 hours
# of lab time, and the catcher rejects the order. `SendTaskHeartbeat` and `HeartbeatSeconds`
# do the same for a long task that must prove it is alive.

# %%
forgotten = sfn.start_execution(
    stateMachineArn=approver, input=json.dumps({"order_id": "o-6", "amount": 9000, "card": "1"})
)
lab.clock.advance(86400)
print(shop.reason(sfn.describe_execution(executionArn=forgotten["executionArn"])))

# %% [markdown]
# **Activities** are the same pattern for workers that poll: a task whose resource is an
# activity ARN waits until a worker calls `GetActivityTask` (a long poll of up to 60 s), does the
# work and answers with the token it got.

# %%
print(fact("step_functions.activity_poll_wait"))

# %% [markdown]
# ## 6. Standard or Express
#
# A state machine is created as one of two **types**, for good:
#
# | | Standard | Express |
# |---|---|---|
# | runs an execution | exactly once | at least once (asynchronous), at most once (synchronous) |
# | for up to | a year | five minutes |
# | history | `GetExecutionHistory`, 90 days | CloudWatch Logs only |
# | callbacks, `.sync` | yes | no |
# | price | per state transition | per request and GB-second of duration |
#
# Express suits many short, idempotent executions (streams, APIs); Standard long-running or
# non-idempotent ones (payments, approvals). `StartSyncExecution` runs an Express workflow and
# answers with its result:

# %%
for name in (
    "step_functions.express_max_duration",
    "step_functions.standard_execution_semantics",
    "step_functions.express_execution_semantics",
    "step_functions.standard_price_per_transition",
    "step_functions.express_price_per_request",
):
    print(fact(name))
express = create("shape-express", shape, machine_type="EXPRESS")
print(sfn.start_sync_execution(stateMachineArn=express, input=json.dumps(order))["output"])

# %% [markdown]
# What a month costs either way: 30 million short executions are far cheaper as Express, a few
# thousand long ones as Standard.

# %%
for load in (Workload(30_000_000, 4, 0.3), Workload(1_000, 3, 280, 1024)):
    standard, express_price = compare(load)
    print(f"{load.executions:>11,} executions of {load.seconds:g} s:")
    for price in (standard, express_price):
        total = f"${price.total:,.2f}" if price.total is not None else price.why_not
        print(f"    {price.type:<8} {total}")

# %% [markdown]
# ## Summary
#
# - A state machine (Amazon States Language) holds a workflow's order, waits and error handling;
#   Step Functions runs each execution, keeps its history and draws its path.
# - Data flows through `InputPath`, `Parameters`, `ResultSelector`, `ResultPath` and
#   `OutputPath` (JSONPath), or `Arguments`, `Output` and `Assign` (JSONata).
# - Retry what can succeed later, with a bounded backoff; Catch what cannot, into a state that
#   compensates or fails with the reason.
# - Parallel runs branches, Map runs steps per item (`MaxConcurrency` bounds them; a
#   distributed Map reads items from S3).
# - `.waitForTaskToken` waits for someone (a person clicking a link in an email, a worker
#   reading a queue) to answer with `SendTaskSuccess`/`SendTaskFailure`, here through an API
#   Gateway endpoint; `TimeoutSeconds` decides when silence means no.
# - Standard: exactly once, up to a year, history, priced per transition. Express: at least
#   once, five minutes, priced per request and duration.
