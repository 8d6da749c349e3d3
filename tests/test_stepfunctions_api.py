"""Step Functions through boto3 in the sandbox: moto's control plane with labkit's interpreter,
the execution APIs in AWS's shapes, tasks that reach the sandbox's Lambda, SQS, SNS and DynamoDB,
task tokens, activities, Standard and Express."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from lambda_support import create

from labkit.lab import Lab
from labkit.views.inventory import render_text

ROLE = "arn:aws:iam::123456789012:role/sfn-role"


def machine(lab: Lab, definition: dict[str, Any], name: str = "m", **kwargs: Any) -> str:
    sfn = lab.client("stepfunctions")
    return str(
        sfn.create_state_machine(
            name=name, definition=json.dumps(definition), roleArn=ROLE, **kwargs
        )["stateMachineArn"]
    )


def start(lab: Lab, arn: str, data: Any = None, **kwargs: Any) -> str:
    sfn = lab.client("stepfunctions")
    return str(
        sfn.start_execution(stateMachineArn=arn, input=json.dumps(data or {}), **kwargs)[
            "executionArn"
        ]
    )


def describe(lab: Lab, arn: str) -> dict[str, Any]:
    return dict(lab.client("stepfunctions").describe_execution(executionArn=arn))


def history(lab: Lab, arn: str) -> list[dict[str, Any]]:
    return list(lab.client("stepfunctions").get_execution_history(executionArn=arn)["events"])


# -- definitions ----------------------------------------------------------------------------------
def test_create_and_update_refuse_invalid_definitions(lab: Lab) -> None:
    sfn = lab.client("stepfunctions")
    bad = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Missing"}}}
    with pytest.raises(ClientError) as caught:
        machine(lab, bad)
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidDefinition"
    assert (
        "MISSING_TRANSITION_TARGET: Missing 'Next' target: Missing at /States/A/Next"
        in (error["Message"])
    )
    arn = machine(lab, {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    with pytest.raises(ClientError) as update:
        sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(bad))
    assert update.value.response["Error"]["Code"] == "InvalidDefinition"
    assert sfn.list_state_machines()["stateMachines"][0]["name"] == "m"
    same = {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}
    assert machine(lab, same) == arn  # idempotent
    edited = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 2, "End": True}}}
    with pytest.raises(ClientError) as exists:
        machine(lab, edited)
    assert exists.value.response["Error"]["Code"] == "StateMachineAlreadyExists"


def test_express_machines_refuse_what_express_cannot_do(lab: Lab) -> None:
    token_task = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": "q", "MessageBody.$": "$$.Task.Token"},
                "End": True,
            }
        },
    }
    with pytest.raises(ClientError) as caught:
        machine(lab, token_task, type="EXPRESS")
    assert "Express state machine does not support" in caught.value.response["Error"]["Message"]
    assert machine(lab, token_task, name="standard")


def test_validate_state_machine_definition(lab: Lab) -> None:
    sfn = lab.client("stepfunctions")
    ok = sfn.validate_state_machine_definition(
        definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}})
    )
    assert (ok["result"], ok["diagnostics"]) == ("OK", [])
    bad = sfn.validate_state_machine_definition(definition='{"States": {}}')
    assert bad["result"] == "FAIL"
    assert bad["diagnostics"][0]["code"] == "SCHEMA_VALIDATION_FAILED"
    assert bad["diagnostics"][0]["severity"] == "ERROR"
    warned = {
        "StartAt": "A",
        "States": {"A": {"Type": "Pass", "Parameters": {"x": "$.x"}, "End": True}},
    }
    quiet = sfn.validate_state_machine_definition(definition=json.dumps(warned))
    assert (quiet["result"], quiet["diagnostics"]) == ("OK", [])
    loud = sfn.validate_state_machine_definition(definition=json.dumps(warned), severity="WARNING")
    assert loud["result"] == "OK"
    assert [d["code"] for d in loud["diagnostics"]] == ["NO_DOLLAR"]


# -- executions, history --------------------------------------------------------------------------
WAIT_THEN_PASS = {
    "StartAt": "Hold",
    "States": {
        "Hold": {"Type": "Wait", "Seconds": 90, "Next": "Done"},
        "Done": {"Type": "Pass", "Parameters": {"got.$": "$.n"}, "End": True},
    },
}


def test_execution_runs_on_the_lab_clock_and_reports_in_aws_shapes(lab: Lab) -> None:
    arn = machine(lab, WAIT_THEN_PASS)
    ex = start(lab, arn, {"n": 3}, name="first")
    assert ex.endswith(":execution:m:first")
    assert describe(lab, ex)["status"] == "RUNNING"
    lab.clock.advance(89)
    assert describe(lab, ex)["status"] == "RUNNING"
    lab.clock.advance(1)
    done = describe(lab, ex)
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == {"got": 3}
    assert (done["stopDate"] - done["startDate"]).total_seconds() == 90
    events = history(lab, ex)
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "WaitStateEntered",
        "WaitStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert [e["id"] for e in events] == list(range(1, 7))
    assert [e["previousEventId"] for e in events] == list(range(6))
    assert events[0]["executionStartedEventDetails"]["roleArn"] == ROLE
    assert events[3]["stateEnteredEventDetails"]["name"] == "Done"
    assert json.loads(events[4]["stateExitedEventDetails"]["output"]) == {"got": 3}
    assert events[2]["timestamp"] == done["stopDate"]
    reverse = lab.client("stepfunctions").get_execution_history(
        executionArn=ex, reverseOrder=True, includeExecutionData=False, maxResults=2
    )
    assert [e["type"] for e in reverse["events"]] == ["ExecutionSucceeded", "PassStateExited"]
    assert "output" not in reverse["events"][1]["stateExitedEventDetails"]
    assert reverse["nextToken"]


def test_list_stop_and_names(lab: Lab) -> None:
    sfn = lab.client("stepfunctions")
    arn = machine(lab, WAIT_THEN_PASS)
    first = start(lab, arn, {"n": 1}, name="order-1")
    assert start(lab, arn, {"n": 1}, name="order-1") == first  # idempotent while running
    with pytest.raises(ClientError) as again:
        start(lab, arn, {"n": 2}, name="order-1")
    assert again.value.response["Error"]["Code"] == "ExecutionAlreadyExists"
    second = start(lab, arn, {"n": 2})
    sfn.stop_execution(executionArn=second, error="Cancelled", cause="customer asked")
    stopped = describe(lab, second)
    assert (stopped["status"], stopped["error"], stopped["cause"]) == (
        "ABORTED",
        "Cancelled",
        "customer asked",
    )
    running = sfn.list_executions(stateMachineArn=arn, statusFilter="RUNNING")["executions"]
    assert [e["executionArn"] for e in running] == [first]
    assert len(sfn.list_executions(stateMachineArn=arn)["executions"]) == 2
    assert sfn.describe_state_machine_for_execution(executionArn=first)["name"] == "m"
    assert "2 executions" in render_text(lab.resources())  # the sandbox view counts them
    with pytest.raises(ClientError) as missing:
        describe(lab, first + "-nope")
    assert missing.value.response["Error"]["Code"] == "ExecutionDoesNotExist"


def test_reset_stops_the_old_executions(lab: Lab) -> None:
    arn = machine(lab, WAIT_THEN_PASS)
    start(lab, arn, {"n": 1})
    lab.reset()
    assert lab.client("stepfunctions").list_state_machines()["stateMachines"] == []
    assert lab.clock.next_event_time is None


# -- Express --------------------------------------------------------------------------------------
def test_express_sync_execution_and_what_express_does_not_keep(lab: Lab) -> None:
    sfn = lab.client("stepfunctions")
    arn = machine(lab, WAIT_THEN_PASS, name="fast", type="EXPRESS")
    before = lab.clock.now
    result = sfn.start_sync_execution(stateMachineArn=arn, input='{"n": 5}')
    assert result["status"] == "SUCCEEDED" and json.loads(result["output"]) == {"got": 5}
    assert (lab.clock.now - before).total_seconds() == 90
    assert result["billingDetails"] == {
        "billedMemoryUsedInMB": 64,
        "billedDurationInMilliseconds": 90000,
    }
    with pytest.raises(ClientError) as listing:
        sfn.list_executions(stateMachineArn=arn)
    assert listing.value.response["Error"]["Code"] == "StateMachineTypeNotSupported"
    with pytest.raises(ClientError) as described:
        describe(lab, result["executionArn"])
    assert described.value.response["Error"]["Code"] == "InvalidArn"
    with pytest.raises(ClientError) as stopped:
        sfn.stop_execution(executionArn=result["executionArn"])
    assert stopped.value.response["Error"]["Code"] == "InvalidArn"
    standard = machine(lab, WAIT_THEN_PASS, name="slow")
    with pytest.raises(ClientError) as sync_standard:
        sfn.start_sync_execution(stateMachineArn=standard, input="{}")
    assert sync_standard.value.response["Error"]["Code"] == "StateMachineTypeNotSupported"


def test_express_sync_execution_times_out_after_five_minutes(lab: Lab) -> None:
    arn = machine(
        lab,
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}},
        type="EXPRESS",
    )
    result = lab.client("stepfunctions").start_sync_execution(stateMachineArn=arn)
    assert (result["status"], result["error"]) == ("TIMED_OUT", "States.Timeout")
    assert (result["stopDate"] - result["startDate"]).total_seconds() == 300


# -- tasks reach the sandbox's services -----------------------------------------------------------
HANDLER = """
def lambda_handler(event, context):
    if event.get("card") == "declined":
        raise RuntimeError("card declined")
    return {"charged": event["amount"] * 100}
"""


def test_lambda_tasks_run_the_handler(lab: Lab) -> None:
    fn = create(lab, "charge", HANDLER)
    arn = machine(
        lab,
        {
            "StartAt": "Charge",
            "States": {
                "Charge": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": "charge", "Payload.$": "$"},
                    "ResultSelector": {"cents.$": "$.Payload.charged", "code.$": "$.StatusCode"},
                    "ResultPath": "$.payment",
                    "Catch": [
                        {"ErrorEquals": ["RuntimeError"], "ResultPath": "$.why", "Next": "Refused"}
                    ],
                    "Next": "Again",
                },
                "Again": {"Type": "Task", "Resource": fn, "InputPath": "$", "End": True},
                "Refused": {"Type": "Pass", "End": True},
            },
        },
    )
    ok = describe(lab, start(lab, arn, {"amount": 2}))
    assert json.loads(ok["output"]) == {"charged": 200}
    refused = json.loads(
        describe(lab, start(lab, arn, {"amount": 2, "card": "declined"}))["output"]
    )
    assert refused["why"]["Error"] == "RuntimeError"
    assert json.loads(refused["why"]["Cause"])["errorMessage"] == "card declined"


def test_sqs_sns_and_dynamodb_integrations(lab: Lab) -> None:
    queue = lab.client("sqs").create_queue(QueueName="orders")["QueueUrl"]
    topic = lab.client("sns").create_topic(Name="news")["TopicArn"]
    lab.client("dynamodb").create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    arn = machine(
        lab,
        {
            "StartAt": "Put",
            "States": {
                "Put": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::dynamodb:putItem",
                    "Parameters": {"TableName": "orders", "Item": {"id": {"S.$": "$.id"}}},
                    "ResultPath": None,
                    "Next": "Get",
                },
                "Get": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::dynamodb:getItem",
                    "Parameters": {"TableName": "orders", "Key": {"id": {"S.$": "$.id"}}},
                    "ResultSelector": {"id.$": "$.Item.id.S"},
                    "Next": "Send",
                },
                "Send": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage",
                    "Parameters": {"QueueUrl": queue, "MessageBody.$": "$"},
                    "ResultPath": "$.sent",
                    "Next": "Publish",
                },
                "Publish": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sns:publish",
                    "Parameters": {"TopicArn": topic, "Message": "done"},
                    "ResultSelector": {"id.$": "$.MessageId"},
                    "ResultPath": "$.published",
                    "End": True,
                },
            },
        },
    )
    out = json.loads(describe(lab, start(lab, arn, {"id": "o-7"}))["output"])
    assert out["id"] == "o-7" and out["sent"]["MessageId"] and out["published"]["id"]
    body = lab.client("sqs").receive_message(QueueUrl=queue)["Messages"][0]["Body"]
    assert json.loads(body) == {"id": "o-7"}
    item = lab.client("dynamodb").get_item(TableName="orders", Key={"id": {"S": "o-7"}})
    assert item["Item"]["id"]["S"] == "o-7"
    change = machine(
        lab,
        {
            "StartAt": "Update",
            "States": {
                "Update": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::dynamodb:updateItem",
                    "Parameters": {
                        "TableName": "orders",
                        "Key": {"id": {"S": "o-7"}},
                        "UpdateExpression": "SET shipped = :yes",
                        "ExpressionAttributeValues": {":yes": {"BOOL": True}},
                        "ReturnValues": "ALL_NEW",
                    },
                    "ResultSelector": {"shipped.$": "$.Attributes.shipped.BOOL"},
                    "Next": "Delete",
                },
                "Delete": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::dynamodb:deleteItem",
                    "Parameters": {"TableName": "orders", "Key": {"id": {"S": "o-7"}}},
                    "ResultPath": None,
                    "End": True,
                },
            },
        },
        name="change",
    )
    changed = describe(lab, start(lab, change))
    assert json.loads(changed["output"]) == {"shipped": True}
    assert "Item" not in lab.client("dynamodb").get_item(
        TableName="orders", Key={"id": {"S": "o-7"}}
    )


# -- task tokens: a human approval ----------------------------------------------------------------
def approval(lab: Lab) -> tuple[str, str]:
    queue = lab.client("sqs").create_queue(QueueName="approvals")["QueueUrl"]
    arn = machine(
        lab,
        {
            "StartAt": "Ask",
            "States": {
                "Ask": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {
                        "QueueUrl": queue,
                        "MessageBody": {"token.$": "$$.Task.Token", "order.$": "$.order"},
                    },
                    "TimeoutSeconds": 86400,
                    "HeartbeatSeconds": 43200,
                    "Catch": [{"ErrorEquals": ["States.Timeout", "Rejected"], "Next": "Rejected"}],
                    "Next": "Ship",
                },
                "Ship": {"Type": "Succeed"},
                "Rejected": {"Type": "Fail", "Error": "OrderRejected"},
            },
        },
        name="approval",
    )
    return arn, queue


def token(lab: Lab, queue: str) -> str:
    body = lab.client("sqs").receive_message(QueueUrl=queue)["Messages"][0]["Body"]
    return str(json.loads(body)["token"])


def test_an_approval_resumes_the_execution(lab: Lab) -> None:
    sfn = lab.client("stepfunctions")
    arn, queue = approval(lab)
    ex = start(lab, arn, {"order": "o-1"})
    task_token = token(lab, queue)
    lab.clock.advance(3600)
    sfn.send_task_heartbeat(taskToken=task_token)
    sfn.send_task_success(taskToken=task_token, output=json.dumps({"approved": True}))
    done = describe(lab, ex)
    assert (done["status"], json.loads(done["output"])) == ("SUCCEEDED", {"approved": True})
    types = [e["type"] for e in history(lab, ex)]
    assert types[2:6] == ["TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded"]
    with pytest.raises(ClientError) as late:
        sfn.send_task_success(taskToken=task_token, output="{}")
    assert late.value.response["Error"]["Code"] == "TaskTimedOut"
    with pytest.raises(ClientError) as invalid:
        sfn.send_task_failure(taskToken="not-a-token")
    assert invalid.value.response["Error"]["Code"] == "InvalidToken"


def test_a_rejection_and_an_unanswered_approval(lab: Lab) -> None:
    sfn = lab.client("stepfunctions")
    arn, queue = approval(lab)
    rejected = start(lab, arn, {"order": "o-2"})
    sfn.send_task_failure(taskToken=token(lab, queue), error="Rejected", cause="too dear")
    assert describe(lab, rejected)["error"] == "OrderRejected"
    ignored = start(lab, arn, {"order": "o-3"})
    token(lab, queue)
    for _ in range(2):
        lab.clock.advance(43199)
        assert describe(lab, ignored)["status"] == "RUNNING"
        sfn.send_task_heartbeat(taskToken=token_of_history(lab, ignored))
    lab.clock.advance(2)
    assert describe(lab, ignored)["error"] == "OrderRejected"
    timed_out = [e for e in history(lab, ignored) if e["type"] == "TaskTimedOut"]
    assert timed_out[0]["taskTimedOutEventDetails"]["error"] == "States.Timeout"


def token_of_history(lab: Lab, ex: str) -> str:
    scheduled = next(e for e in history(lab, ex) if e["type"] == "TaskScheduled")
    params = json.loads(scheduled["taskScheduledEventDetails"]["parameters"])
    return str(params["MessageBody"]["token"])


# -- activities: AWS's getting-started worker -----------------------------------------------------
def test_the_getting_started_activity_worker_runs(lab: Lab) -> None:
    sfn = lab.client("stepfunctions")
    activity = sfn.create_activity(name="get-greeting")["activityArn"]
    arn = machine(
        lab,
        {
            "Comment": "An example using a Task state.",
            "StartAt": "getGreeting",
            "TimeoutSeconds": 300,
            "States": {"getGreeting": {"Type": "Task", "Resource": activity, "End": True}},
        },
    )
    ex = start(lab, arn, {"who": "AWS Step Functions"})

    # The worker of the tutorial: poll, greet, answer.
    task = sfn.get_activity_task(activityArn=activity, workerName="greeter")
    greeting = f"Hello, {json.loads(task['input'])['who']}!"
    sfn.send_task_success(taskToken=task["taskToken"], output=json.dumps({"greeting": greeting}))
    assert json.loads(describe(lab, ex)["output"]) == {"greeting": "Hello, AWS Step Functions!"}
    started = next(e for e in history(lab, ex) if e["type"] == "ActivityStarted")
    assert started["activityStartedEventDetails"]["workerName"] == "greeter"

    before = lab.clock.now
    empty = sfn.get_activity_task(activityArn=activity, workerName="greeter")
    assert "taskToken" not in empty
    assert (lab.clock.now - before).total_seconds() == 60


def test_a_long_poll_wakes_when_an_execution_schedules_a_task(lab: Lab) -> None:
    sfn = lab.client("stepfunctions")
    activity = sfn.create_activity(name="later")["activityArn"]
    arn = machine(
        lab,
        {
            "StartAt": "W",
            "States": {
                "W": {"Type": "Wait", "Seconds": 20, "Next": "T"},
                "T": {"Type": "Task", "Resource": activity, "End": True},
            },
        },
    )
    start(lab, arn, {"n": 1})
    before = lab.clock.now
    task = sfn.get_activity_task(activityArn=activity)
    assert json.loads(task["input"]) == {"n": 1}
    assert (lab.clock.now - before).total_seconds() == 20
    with pytest.raises(ClientError) as unknown:
        sfn.get_activity_task(activityArn=activity + "-nope")
    assert unknown.value.response["Error"]["Code"] == "ActivityDoesNotExist"


# -- nested executions ----------------------------------------------------------------------------
def test_start_execution_sync_through_the_api(lab: Lab) -> None:
    child = machine(lab, WAIT_THEN_PASS, name="child")
    parent = machine(
        lab,
        {
            "StartAt": "Run",
            "States": {
                "Run": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::states:startExecution.sync:2",
                    "Parameters": {"StateMachineArn": child, "Input": {"n.$": "$.n"}},
                    "OutputPath": "$.Output",
                    "End": True,
                }
            },
        },
        name="parent",
    )
    ex = start(lab, parent, {"n": 9})
    lab.clock.advance(90)
    assert json.loads(describe(lab, ex)["output"]) == {"got": 9}
    children = lab.client("stepfunctions").list_executions(stateMachineArn=child)["executions"]
    assert children[0]["status"] == "SUCCEEDED"
