"""Step Functions tasks against the sandbox's other services: a Map over S3 items, email through
an AWS SDK integration, and a Lambda function that answers its own task token."""

from __future__ import annotations

import json
from typing import Any

from lambda_support import create

from labkit.lab import Lab

ROLE = "arn:aws:iam::123456789012:role/sfn-role"


def run(lab: Lab, definition: dict[str, Any], data: Any = None, name: str = "m") -> dict[str, Any]:
    sfn = lab.client("stepfunctions")
    arn = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    ex = sfn.start_execution(stateMachineArn=arn, input=json.dumps(data or {}))["executionArn"]
    return dict(sfn.describe_execution(executionArn=ex))


def distributed(reader: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemReader": reader,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Seen",
                    "States": {"Seen": {"Type": "Pass", "End": True}},
                },
                "MaxConcurrency": 10,
                **extra,
                "End": True,
            }
        },
    }


def test_a_distributed_map_reads_its_items_from_s3(lab: Lab) -> None:
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="orders")
    s3.put_object(Bucket="orders", Key="list.json", Body=json.dumps([{"id": 1}, {"id": 2}]))
    s3.put_object(Bucket="orders", Key="rows.csv", Body="id,qty\na,1\nb,2\nc,3\n")
    as_json = run(
        lab,
        distributed(
            {
                "Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {"InputType": "JSON"},
                "Parameters": {"Bucket": "orders", "Key": "list.json"},
            }
        ),
        name="json",
    )
    assert json.loads(as_json["output"]) == [{"id": 1}, {"id": 2}]
    as_csv = run(
        lab,
        distributed(
            {
                "Resource": "arn:aws:states:::s3:getObject",
                "ReaderConfig": {
                    "InputType": "CSV",
                    "CSVHeaderLocation": "FIRST_ROW",
                    "MaxItems": 2,
                },
                "Parameters": {"Bucket": "orders", "Key": "rows.csv"},
            }
        ),
        name="csv",
    )
    assert json.loads(as_csv["output"]) == [{"id": "a", "qty": "1"}, {"id": "b", "qty": "2"}]
    listing = run(
        lab,
        distributed(
            {
                "Resource": "arn:aws:states:::s3:listObjectsV2",
                "Parameters": {"Bucket": "orders"},
            },
            ItemSelector={"key.$": "$$.Map.Item.Value.Key"},
        ),
        name="list",
    )
    assert json.loads(listing["output"]) == [{"key": "list.json"}, {"key": "rows.csv"}]
    missing = run(
        lab,
        distributed(
            {
                "Resource": "arn:aws:states:::s3:getObject",
                "Parameters": {"Bucket": "orders", "Key": "nope.json"},
            }
        ),
        name="missing",
    )
    assert missing["error"] == "States.ItemReaderFailed"
    assert "S3.NoSuchKey" in missing["cause"]


def test_an_approval_email_through_an_sdk_integration(lab: Lab) -> None:
    lab.client("ses").verify_email_identity(EmailAddress="shop@example.com")
    lab.client("ses").verify_email_identity(EmailAddress="boss@example.com")  # SES sandbox
    out = run(
        lab,
        {
            "StartAt": "Mail",
            "States": {
                "Mail": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:ses:sendEmail",
                    "Parameters": {
                        "Source": "shop@example.com",
                        "Destination": {"ToAddresses": ["boss@example.com"]},
                        "Message": {
                            "Subject": {"Data": "Approve?"},
                            "Body": {"Text": {"Data.$": "States.Format('Order {}', $.id)"}},
                        },
                    },
                    "End": True,
                }
            },
        },
        {"id": "o-9"},
    )
    assert out["status"] == "SUCCEEDED" and json.loads(out["output"])["MessageId"]
    unverified = run(
        lab,
        {
            "StartAt": "Mail",
            "States": {
                "Mail": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:ses:sendEmail",
                    "Parameters": {
                        "Source": "stranger@example.com",
                        "Destination": {"ToAddresses": ["boss@example.com"]},
                        "Message": {"Subject": {"Data": "x"}, "Body": {"Text": {"Data": "y"}}},
                    },
                    "End": True,
                }
            },
        },
        name="unverified",
    )
    assert unverified["status"] == "FAILED" and unverified["error"].startswith("Ses.")


CALLBACK = """
import json
import boto3

def lambda_handler(event, context):
    sfn = boto3.client("stepfunctions")
    sfn.send_task_success(taskToken=event["token"], output=json.dumps({"approved": event["n"] > 1}))
    return "sent"
"""


def test_a_function_answers_its_own_task_token(lab: Lab) -> None:
    create(lab, "approver", CALLBACK)
    out = run(
        lab,
        {
            "StartAt": "Ask",
            "States": {
                "Ask": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    "Parameters": {
                        "FunctionName": "approver",
                        "Payload": {"token.$": "$$.Task.Token", "n.$": "$.n"},
                    },
                    "End": True,
                }
            },
        },
        {"n": 5},
    )
    assert (out["status"], json.loads(out["output"])) == ("SUCCEEDED", {"approved": True})
