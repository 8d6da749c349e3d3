"""S3 event notifications to SQS: AWS validates the queue (exists, policy lets S3 send) up front."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from labkit.lab import Lab


def _queue(lab: Lab, name: str = "uploads-queue") -> tuple[str, str]:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def _allow(lab: Lab, url: str, arn: str, principal: Any, source: str) -> None:
    statement = {
        "Effect": "Allow",
        "Principal": principal,
        "Action": "sqs:SendMessage",
        "Resource": arn,
        "Condition": {"ArnLike": {"aws:SourceArn": source}},
    }
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    lab.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})


def _notify(lab: Lab, arn: str, bucket: str = "uploads") -> None:
    lab.client("s3").put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )


def _bodies(lab: Lab, url: str) -> list[dict[str, Any]]:
    messages = lab.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


@pytest.fixture
def bucket(lab: Lab) -> str:
    lab.client("s3").create_bucket(Bucket="uploads")
    return "uploads"


def test_a_queue_without_a_policy_is_refused_and_nothing_is_configured(
    lab: Lab, bucket: str
) -> None:
    url, arn = _queue(lab)
    with pytest.raises(ClientError) as refused:
        _notify(lab, arn)
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidArgument"
    # AWS's message, then labkit's reason from the policy engine.
    assert error["Message"].startswith(
        "Unable to validate the following destination configurations"
    )
    assert "(labkit: The queue has no access policy" in error["Message"]
    assert error["ArgumentName"] == arn
    assert "do not allow S3 to publish" in error["ArgumentValue"]
    config = lab.client("s3").get_bucket_notification_configuration(Bucket=bucket)
    assert "QueueConfigurations" not in config
    lab.client("s3").put_object(Bucket=bucket, Key="a.txt", Body=b"x")
    assert _bodies(lab, url) == []


def test_a_queue_that_does_not_exist_is_refused(lab: Lab, bucket: str) -> None:
    with pytest.raises(ClientError) as refused:
        _notify(lab, "arn:aws:sqs:us-east-1:123456789012:no-such-queue")
    assert refused.value.response["Error"]["ArgumentValue"] == (
        "The destination queue does not exist"
    )


def test_a_policy_for_another_bucket_is_refused(lab: Lab, bucket: str) -> None:
    url, arn = _queue(lab)
    _allow(lab, url, arn, {"Service": "s3.amazonaws.com"}, "arn:aws:s3:::other-bucket")
    with pytest.raises(ClientError):
        _notify(lab, arn)


@pytest.mark.parametrize(
    "principal",
    [{"Service": "s3.amazonaws.com"}, "*", {"AWS": "*"}],
    ids=["service", "star", "aws-star"],
)
def test_a_policy_that_lets_the_bucket_send_is_accepted_and_events_arrive(
    lab: Lab, bucket: str, principal: Any
) -> None:
    url, arn = _queue(lab)
    _allow(lab, url, arn, principal, f"arn:aws:s3:::{bucket}")
    _notify(lab, arn)
    # S3 sends a test event when the configuration is put, then one per matching event.
    assert [b.get("Event") for b in _bodies(lab, url)] == ["s3:TestEvent"]
    lab.client("s3").put_object(Bucket=bucket, Key="a.txt", Body=b"x")
    records = [r for b in _bodies(lab, url) for r in b.get("Records", [])]
    assert [(r["eventName"], r["s3"]["object"]["key"]) for r in records] == [
        ("ObjectCreated:Put", "a.txt")
    ]


# -- Lambda destinations ------------------------------------------------------------------------
HANDLER = "def lambda_handler(event, context):\n    return len(event['Records'])\n"


def _notify_function(lab: Lab, arn: str, bucket: str = "uploads") -> None:
    lab.client("s3").put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )


def _permit(lab: Lab, name: str, **condition: str) -> None:
    lab.client("lambda").add_permission(
        FunctionName=name,
        StatementId=f"s3-{len(condition)}",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        **condition,
    )


def test_a_function_s3_may_not_invoke_is_refused(lab: Lab, bucket: str) -> None:
    from lambda_support import create

    arn = create(lab, "on-upload", HANDLER)
    with pytest.raises(ClientError) as refused:
        _notify_function(lab, arn)
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidArgument"
    assert error["Message"].startswith(
        "Unable to validate the following destination configurations"
    )
    why = "(labkit: No statement allows s3.amazonaws.com to lambda:InvokeFunction"
    assert why in error["Message"]
    assert error["ArgumentValue"] == f"Not authorized to invoke function [{arn}]"
    config = lab.client("s3").get_bucket_notification_configuration(Bucket=bucket)
    assert "LambdaFunctionConfigurations" not in config


def test_a_permission_for_another_bucket_or_account_is_refused(lab: Lab, bucket: str) -> None:
    from lambda_support import create

    arn = create(lab, "on-upload", HANDLER)
    _permit(lab, "on-upload", SourceArn="arn:aws:s3:::other-bucket")
    with pytest.raises(ClientError):
        _notify_function(lab, arn)
    _permit(lab, "on-upload", SourceArn=f"arn:aws:s3:::{bucket}", SourceAccount="999999999999")
    with pytest.raises(ClientError):
        _notify_function(lab, arn)


def test_a_missing_function_is_refused(lab: Lab, bucket: str) -> None:
    with pytest.raises(ClientError) as refused:
        _notify_function(lab, "arn:aws:lambda:us-east-1:123456789012:function:nowhere")
    assert refused.value.response["Error"]["ArgumentValue"] == (
        "The destination Lambda function does not exist"
    )


@pytest.mark.parametrize(
    "condition",
    [
        {},
        {"SourceArn": "arn:aws:s3:::uploads"},
        {"SourceArn": "arn:aws:s3:::upl*", "SourceAccount": "123456789012"},
    ],
    ids=["any-bucket", "this-bucket", "wildcard-and-account"],
)
def test_a_permitted_function_is_configured_and_invoked(
    lab: Lab, bucket: str, condition: dict[str, str]
) -> None:
    from lambda_support import create, lambda_state

    arn = create(lab, "on-upload", HANDLER)
    _permit(lab, "on-upload", **condition)
    _notify_function(lab, arn)
    lab.client("s3").put_object(Bucket=bucket, Key="a.txt", Body=b"x")
    lab.clock.advance(0)  # S3 invokes asynchronously
    runs = [h for h in lambda_state(lab).history if h.function_name == "on-upload"]
    assert len(runs) == 1
