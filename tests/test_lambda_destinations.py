"""What Lambda does with an asynchronous event after its attempts: dead-letter queues,
destinations, the maximum event age.

Stock moto stores ``PutFunctionEventInvokeConfig`` (appending one per call, answering with the
first), forgets ``DeadLetterConfig`` and never sends anything anywhere; each test here shows what
AWS does instead. The record shape is the documented example's
(https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from lambda_support import create, lambda_state

import labkit
from labkit import facts
from labkit.lab import Lab
from labkit.services.awslambda.patch import lambda_backend
from labkit.services.awslambda.patch_destinations import deliveries

# The documented example invocation record (an event that failed three attempts).
DOCUMENTED_RECORD: dict[str, Any] = {
    "version": "1.0",
    "timestamp": "2019-11-14T18:16:05.568Z",
    "requestContext": {
        "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
        "functionArn": "arn:aws:lambda:us-east-2:123456789012:function:my-function:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    },
    "requestPayload": {"ORDER_IDS": ["9e07af03-ce31-4ff3-xmpl-36dce652cb4f"]},
    "responseContext": {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    },
    "responsePayload": {
        "errorMessage": "RequestId: e4b46cbf-b738-xmpl-8880-a18cdf61200e Process exited before "
        "completing request"
    },
}

# Fails when the event says so; counts its calls in the execution environment.
FLAKY = """
CALLS = 0
def lambda_handler(event, context):
    global CALLS
    CALLS += 1
    if event.get("fail") or CALLS <= event.get("fail_first", 0):
        raise ValueError(event.get("why", "no"))
    return {"ok": True, "calls": CALLS}
"""

RECORDER = """
import json
def lambda_handler(event, context):
    print(json.dumps(event))
"""

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def _queue(lab: Lab, name: str, **attributes: str) -> tuple[str, str]:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def _drain(lab: Lab, url: str) -> list[dict[str, Any]]:
    sqs = lab.client("sqs")
    got: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return got
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        got.extend(batch)


def _depth(lab: Lab, url: str) -> int:
    attrs = lab.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def _send_event(lab: Lab, name: str, event: Any, **kwargs: Any) -> None:
    response = lab.client("lambda").invoke(
        FunctionName=name, InvocationType="Event", Payload=json.dumps(event), **kwargs
    )
    assert response["StatusCode"] == 202


def _attempts(lab: Lab, name: str) -> list[Any]:
    return [h for h in lambda_state(lab).history if h.function_name == name]


def _start_ids(lab: Lab, name: str) -> list[str]:
    events = lab.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    return [e["message"].split()[2] for e in events if e["message"].startswith("START RequestId:")]


def _now_iso(lab: Lab) -> str:
    now = lab.clock.now.astimezone(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _retry_delays() -> tuple[int, int]:
    return (
        int(facts.value("lambda.async_retry_first_delay")),
        int(facts.value("lambda.async_retry_second_delay")),
    )


# -- dead-letter queues -------------------------------------------------------------------------
def test_sqs_dead_letter_queue_gets_the_event_after_the_third_attempt_fails(lab: Lab) -> None:
    dlq_url, dlq_arn = _queue(lab, "orders-dlq")
    create(lab, "flaky", FLAKY)
    lam = lab.client("lambda")
    lam.update_function_configuration(FunctionName="flaky", DeadLetterConfig={"TargetArn": dlq_arn})
    config = lam.get_function_configuration(FunctionName="flaky")
    assert config["DeadLetterConfig"] == {"TargetArn": dlq_arn}  # stock moto forgets it

    event = {"fail": True, "why": "card declined", "order": 7}
    _send_event(lab, "flaky", event)
    first, second = _retry_delays()
    lab.clock.advance(0)
    assert len(_attempts(lab, "flaky")) == 1 and _depth(lab, dlq_url) == 0
    lab.clock.advance(first - 1)
    assert len(_attempts(lab, "flaky")) == 1
    lab.clock.advance(1)  # one minute after the first attempt
    assert len(_attempts(lab, "flaky")) == 2 and _depth(lab, dlq_url) == 0
    lab.clock.advance(second - 1)
    assert len(_attempts(lab, "flaky")) == 2 and _depth(lab, dlq_url) == 0
    lab.clock.advance(1)  # two minutes after the second: the last attempt fails
    assert len(_attempts(lab, "flaky")) == 3
    assert lab.clock.elapsed.total_seconds() == first + second

    [message] = _drain(lab, dlq_url)
    assert json.loads(message["Body"]) == event  # the event as it came, no envelope
    ids = _start_ids(lab, "flaky")
    assert len(ids) == 3 and len(set(ids)) == 1  # every retry keeps the request id
    assert message["MessageAttributes"] == {
        "RequestID": {"StringValue": ids[0], "DataType": "String"},
        "ErrorCode": {"StringValue": "200", "DataType": "Number"},
        "ErrorMessage": {"StringValue": "card declined", "DataType": "String"},
    }
    lab.clock.advance(3600)
    assert _depth(lab, dlq_url) == 0 and len(_attempts(lab, "flaky")) == 3


def test_sns_dead_letter_topic_publishes_the_event_with_the_attributes(lab: Lab) -> None:
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic_arn = sns.create_topic(Name="failed-orders")["TopicArn"]
    url, queue_arn = _queue(lab, "ops-inbox")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    create(lab, "flaky", FLAKY, DeadLetterConfig={"TargetArn": topic_arn})

    _send_event(lab, "flaky", {"fail": True, "why": "out of stock"})
    lab.clock.advance(sum(_retry_delays()))
    [message] = _drain(lab, url)
    envelope = json.loads(message["Body"])
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == topic_arn
    assert json.loads(envelope["Message"]) == {"fail": True, "why": "out of stock"}
    assert envelope["MessageAttributes"] == {
        "RequestID": {"Type": "String", "Value": _start_ids(lab, "flaky")[0]},
        "ErrorCode": {"Type": "Number", "Value": "200"},
        "ErrorMessage": {"Type": "String", "Value": "out of stock"},
    }


def test_no_retries_sends_at_once_and_the_error_message_is_cut_to_1_kb(lab: Lab) -> None:
    dlq_url, dlq_arn = _queue(lab, "dlq")
    create(lab, "flaky", FLAKY, DeadLetterConfig={"TargetArn": dlq_arn})
    lab.client("lambda").put_function_event_invoke_config(
        FunctionName="flaky", MaximumRetryAttempts=0
    )
    _send_event(lab, "flaky", {"fail": True, "why": "é" * 1000})  # 2,000 bytes of UTF-8
    lab.clock.advance(0)
    assert len(_attempts(lab, "flaky")) == 1
    [message] = _drain(lab, dlq_url)
    error_message = message["MessageAttributes"]["ErrorMessage"]["StringValue"]
    limit = int(facts.value("lambda.dlq_error_message_max"))
    assert len(error_message.encode("utf-8")) == limit and error_message == "é" * (limit // 2)
    lab.clock.advance(3600)
    assert len(_attempts(lab, "flaky")) == 1


def test_a_published_version_keeps_the_dead_letter_queue_it_had(lab: Lab) -> None:
    old_url, old_arn = _queue(lab, "v1-dlq")
    new_url, new_arn = _queue(lab, "latest-dlq")
    create(lab, "flaky", FLAKY, DeadLetterConfig={"TargetArn": old_arn})
    lam = lab.client("lambda")
    lam.put_function_event_invoke_config(FunctionName="flaky", MaximumRetryAttempts=0)
    version = lam.publish_version(FunctionName="flaky")["Version"]
    lam.update_function_configuration(FunctionName="flaky", DeadLetterConfig={"TargetArn": new_arn})
    _send_event(lab, "flaky", {"fail": True, "v": version}, Qualifier=version)
    _send_event(lab, "flaky", {"fail": True, "v": "$LATEST"})
    lab.clock.advance(0)
    assert [json.loads(m["Body"])["v"] for m in _drain(lab, old_url)] == [version]
    assert [json.loads(m["Body"])["v"] for m in _drain(lab, new_url)] == ["$LATEST"]
    # An empty TargetArn removes the dead-letter queue.
    lam.update_function_configuration(FunctionName="flaky", DeadLetterConfig={"TargetArn": ""})
    assert "DeadLetterConfig" not in lam.get_function_configuration(FunctionName="flaky")
    _send_event(lab, "flaky", {"fail": True})
    lab.clock.advance(0)
    assert _depth(lab, new_url) == 0


# -- destinations -------------------------------------------------------------------------------
def test_on_success_and_on_failure_records_reach_sqs_in_the_documented_shape(lab: Lab) -> None:
    ok_url, ok_arn = _queue(lab, "succeeded")
    bad_url, bad_arn = _queue(lab, "failed")
    fn_arn = create(lab, "flaky", FLAKY)
    lab.client("lambda").put_function_event_invoke_config(
        FunctionName="flaky",
        DestinationConfig={
            "OnSuccess": {"Destination": ok_arn},
            "OnFailure": {"Destination": bad_arn},
        },
    )
    _send_event(lab, "flaky", {"order": 1})
    lab.clock.advance(0)
    [ok] = _drain(lab, ok_url)
    success = json.loads(ok["Body"])
    assert list(success) == list(DOCUMENTED_RECORD)
    assert list(success["requestContext"]) == list(DOCUMENTED_RECORD["requestContext"])
    assert success["version"] == DOCUMENTED_RECORD["version"]
    assert success["timestamp"] == _now_iso(lab)
    assert success["requestContext"] == {
        "requestId": _start_ids(lab, "flaky")[0],
        "functionArn": f"{fn_arn}:$LATEST",
        "condition": "Success",
        "approximateInvokeCount": 1,
    }
    assert success["requestPayload"] == {"order": 1}
    assert success["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert success["responsePayload"] == {"ok": True, "calls": 1}
    assert _depth(lab, bad_url) == 0

    _send_event(lab, "flaky", {"fail": True, "why": "boom"})
    lab.clock.advance(0)
    start = lab.clock.now
    lab.clock.advance(sum(_retry_delays()))
    [bad] = _drain(lab, bad_url)
    failure = json.loads(bad["Body"])
    assert list(failure) == list(DOCUMENTED_RECORD)
    assert list(failure["requestContext"]) == list(DOCUMENTED_RECORD["requestContext"])
    assert list(failure["responseContext"]) == list(DOCUMENTED_RECORD["responseContext"])
    assert TIMESTAMP.fullmatch(failure["timestamp"])
    sent = datetime.strptime(failure["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert (sent.replace(tzinfo=timezone.utc) - start).total_seconds() == sum(_retry_delays())
    context = failure["requestContext"]
    assert context["condition"] == "RetriesExhausted"
    assert (
        context["approximateInvokeCount"]
        == DOCUMENTED_RECORD["requestContext"]["approximateInvokeCount"]
    )
    assert context["functionArn"] == f"{fn_arn}:$LATEST"
    assert failure["responseContext"] == DOCUMENTED_RECORD["responseContext"]
    payload = failure["responsePayload"]
    assert payload["errorType"] == "ValueError" and payload["errorMessage"] == "boom"
    assert payload["requestId"] == context["requestId"]
    assert "MessageAttributes" not in bad  # a destination record carries no attributes
    assert _depth(lab, ok_url) == 0


def test_lambda_destination_is_invoked_asynchronously_with_the_record(lab: Lab) -> None:
    create(lab, "recorder", RECORDER)
    recorder_arn = lab.client("lambda").get_function(FunctionName="recorder")["Configuration"][
        "FunctionArn"
    ]
    create(lab, "flaky", FLAKY)
    lab.client("lambda").put_function_event_invoke_config(
        FunctionName="flaky",
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": recorder_arn}},
    )
    _send_event(lab, "flaky", {"fail": True})
    lab.clock.advance(_retry_delays()[0])
    [call] = _attempts(lab, "recorder")
    assert call.invocation_type == "Event" and call.source == "destination"
    events = lab.client("logs").filter_log_events(logGroupName="/aws/lambda/recorder")["events"]
    [record] = [json.loads(e["message"]) for e in events if e["message"].startswith("{")]
    assert list(record) == list(DOCUMENTED_RECORD)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestPayload"] == {"fail": True}


def test_eventbridge_destination_gets_a_lambda_event_with_the_record_as_detail(lab: Lab) -> None:
    events = lab.client("events")
    bus_arn = events.create_event_bus(Name="results")["EventBusArn"]
    url, queue_arn = _queue(lab, "audit")
    events.put_rule(
        Name="all-results", EventBusName="results", EventPattern=json.dumps({"source": ["lambda"]})
    )
    events.put_targets(
        Rule="all-results", EventBusName="results", Targets=[{"Id": "q", "Arn": queue_arn}]
    )
    fn_arn = create(lab, "flaky", FLAKY)
    lab.client("lambda").put_function_event_invoke_config(
        FunctionName="flaky", DestinationConfig={"OnSuccess": {"Destination": bus_arn}}
    )
    _send_event(lab, "flaky", {"order": 2})
    lab.clock.advance(0)
    [message] = _drain(lab, url)
    event = json.loads(message["Body"])
    assert event["source"] == "lambda"
    assert event["detail-type"] == "Lambda Function Invocation Result - Success"
    assert event["resources"] == [f"{fn_arn}:$LATEST", bus_arn]
    assert event["detail"]["requestContext"]["condition"] == "Success"
    assert event["detail"]["responsePayload"] == {"ok": True, "calls": 1}


def test_dead_letter_queue_and_on_failure_destination_both_receive_a_failed_event(
    lab: Lab,
) -> None:
    dlq_url, dlq_arn = _queue(lab, "dlq")
    bad_url, bad_arn = _queue(lab, "failed")
    ok_url, ok_arn = _queue(lab, "succeeded")
    create(lab, "flaky", FLAKY, DeadLetterConfig={"TargetArn": dlq_arn})
    lab.client("lambda").put_function_event_invoke_config(
        FunctionName="flaky",
        MaximumRetryAttempts=0,
        DestinationConfig={
            "OnSuccess": {"Destination": ok_arn},
            "OnFailure": {"Destination": bad_arn},
        },
    )
    _send_event(lab, "flaky", {"fail": True})
    lab.clock.advance(0)
    [raw] = _drain(lab, dlq_url)
    [record] = _drain(lab, bad_url)
    assert json.loads(raw["Body"]) == {"fail": True}  # the DLQ: the event only
    assert json.loads(record["Body"])["requestPayload"] == {"fail": True}  # the full record
    assert _depth(lab, ok_url) == 0
    # A success goes to OnSuccess only: the dead-letter queue is for failures.
    _send_event(lab, "flaky", {})
    lab.clock.advance(0)
    assert (_depth(lab, ok_url), _depth(lab, bad_url), _depth(lab, dlq_url)) == (1, 0, 0)
    kinds = [(d.kind, d.condition, d.delivered) for d in deliveries(_backend(lab))]
    assert kinds == [
        ("on-failure", "RetriesExhausted", True),
        ("dead-letter", "RetriesExhausted", True),
        ("on-success", "Success", True),
    ]


def test_nothing_is_delivered_while_retries_are_pending(lab: Lab) -> None:
    dlq_url, dlq_arn = _queue(lab, "dlq")
    bad_url, bad_arn = _queue(lab, "failed")
    ok_url, ok_arn = _queue(lab, "succeeded")
    create(lab, "flaky", FLAKY, DeadLetterConfig={"TargetArn": dlq_arn})
    lab.client("lambda").put_function_event_invoke_config(
        FunctionName="flaky",
        DestinationConfig={
            "OnSuccess": {"Destination": ok_arn},
            "OnFailure": {"Destination": bad_arn},
        },
    )
    _send_event(lab, "flaky", {"fail_first": 2})  # fails twice, then succeeds
    first, second = _retry_delays()
    for step in (0, first, second - 1):
        lab.clock.advance(step)
        assert (_depth(lab, ok_url), _depth(lab, bad_url), _depth(lab, dlq_url)) == (0, 0, 0)
    lab.clock.advance(1)
    assert (_depth(lab, bad_url), _depth(lab, dlq_url)) == (0, 0)
    [ok] = _drain(lab, ok_url)
    record = json.loads(ok["Body"])
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responsePayload"] == {"ok": True, "calls": 3}


# -- maximum event age --------------------------------------------------------------------------
def test_an_event_older_than_its_maximum_age_is_not_retried_and_fails_as_event_age_exceeded(
    lab: Lab,
) -> None:
    first, second = _retry_delays()
    max_age = first + second - 60  # passes between the second and the third attempt
    dlq_url, dlq_arn = _queue(lab, "dlq")
    bad_url, bad_arn = _queue(lab, "failed")
    create(lab, "flaky", FLAKY, DeadLetterConfig={"TargetArn": dlq_arn})
    lab.client("lambda").put_function_event_invoke_config(
        FunctionName="flaky",
        MaximumEventAgeInSeconds=max_age,
        DestinationConfig={"OnFailure": {"Destination": bad_arn}},
    )
    _send_event(lab, "flaky", {"fail": True})
    lab.clock.advance(first)
    assert len(_attempts(lab, "flaky")) == 2 and _depth(lab, bad_url) == 0
    lab.clock.advance(second)  # the third attempt comes due: the event is too old
    assert len(_attempts(lab, "flaky")) == 2
    [bad] = _drain(lab, bad_url)
    record = json.loads(bad["Body"])
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert [json.loads(m["Body"]) for m in _drain(lab, dlq_url)] == [{"fail": True}]


def test_a_throttled_event_is_discarded_after_the_default_six_hours(lab: Lab) -> None:
    bad_url, bad_arn = _queue(lab, "failed")
    create(lab, "busy", FLAKY)
    lam = lab.client("lambda")
    lam.put_function_event_invoke_config(
        FunctionName="busy", DestinationConfig={"OnFailure": {"Destination": bad_arn}}
    )
    lambda_state(lab).account_concurrency = 0  # every attempt is throttled, and retried
    _send_event(lab, "busy", {"order": 3})
    age = float(facts.value("lambda.async_event_age_default"))
    lab.clock.advance(age - 1)
    assert _depth(lab, bad_url) == 0 and lambda_state(lab).throttles
    lab.clock.advance(3600)
    [bad] = _drain(lab, bad_url)
    record = json.loads(bad["Body"])
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert _attempts(lab, "busy") == []


def test_reserved_concurrency_zero_sends_new_events_to_on_failure_without_retries(
    lab: Lab,
) -> None:
    dlq_url, dlq_arn = _queue(lab, "dlq")
    bad_url, bad_arn = _queue(lab, "failed")
    create(lab, "paused", FLAKY, DeadLetterConfig={"TargetArn": dlq_arn})
    lam = lab.client("lambda")
    lam.put_function_event_invoke_config(
        FunctionName="paused", DestinationConfig={"OnFailure": {"Destination": bad_arn}}
    )
    lam.put_function_concurrency(FunctionName="paused", ReservedConcurrentExecutions=0)
    _send_event(lab, "paused", {"order": 4})
    lab.clock.advance(0)
    assert [json.loads(m["Body"]) for m in _drain(lab, dlq_url)] == [{"order": 4}]
    assert _depth(lab, bad_url) == 1
    lab.clock.advance(3600)
    assert len(lambda_state(lab).throttles) == 1  # tried once, not again


# -- configuration ------------------------------------------------------------------------------
def test_put_replaces_the_configuration_and_update_changes_only_what_it_names(lab: Lab) -> None:
    _, bad_arn = _queue(lab, "failed")
    _, ok_arn = _queue(lab, "succeeded")
    create(lab, "flaky", FLAKY)
    lam = lab.client("lambda")
    lam.put_function_event_invoke_config(
        FunctionName="flaky",
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": bad_arn}},
    )
    lam.put_function_event_invoke_config(FunctionName="flaky", MaximumRetryAttempts=1)
    config = lam.get_function_event_invoke_config(FunctionName="flaky")
    assert config["MaximumRetryAttempts"] == 1  # stock moto still answers 0
    assert "OnFailure" not in config.get("DestinationConfig", {})
    lam.update_function_event_invoke_config(
        FunctionName="flaky", DestinationConfig={"OnSuccess": {"Destination": ok_arn}}
    )
    lam.update_function_event_invoke_config(
        FunctionName="flaky", DestinationConfig={"OnFailure": {"Destination": bad_arn}}
    )
    config = lam.get_function_event_invoke_config(FunctionName="flaky")
    assert config["MaximumRetryAttempts"] == 1
    assert config["DestinationConfig"] == {
        "OnSuccess": {"Destination": ok_arn},
        "OnFailure": {"Destination": bad_arn},
    }
    assert (
        len(
            lam.list_function_event_invoke_configs(FunctionName="flaky")[
                "FunctionEventInvokeConfigs"
            ]
        )
        == 1
    )
    _send_event(lab, "flaky", {"fail": True})
    lab.clock.advance(3600)
    assert len(_attempts(lab, "flaky")) == 2  # the one retry the configuration allows


def test_settings_out_of_range_are_refused_with_lambdas_validation_error(lab: Lab) -> None:
    create(lab, "flaky", FLAKY)
    retries_min = int(facts.value("lambda.async_retries_min"))
    age_min = int(facts.value("lambda.async_event_age_min"))
    age_max = int(facts.value("lambda.async_event_age_max"))
    # The SDK refuses values under the minimums before sending; the service checks them too.
    unchecked = lab.client("lambda", config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as info:
        unchecked.put_function_event_invoke_config(
            FunctionName="flaky",
            MaximumRetryAttempts=retries_min - 1,
            MaximumEventAgeInSeconds=age_min - 1,
        )
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert info.value.response["Error"]["Message"] == (
        f"2 validation errors detected: Value '{retries_min - 1}' at 'maximumRetryAttempts' "
        f"failed to satisfy constraint: Member must have value greater than or equal to "
        f"{retries_min}; Value '{age_min - 1}' at 'maximumEventAgeInSeconds' failed to satisfy "
        f"constraint: Member must have value greater than or equal to {age_min}"
    )
    with pytest.raises(ClientError) as info:
        lab.client("lambda").update_function_event_invoke_config(
            FunctionName="flaky", MaximumEventAgeInSeconds=age_max + 1
        )
    assert info.value.response["Error"]["Message"] == (
        f"1 validation error detected: Value '{age_max + 1}' at 'maximumEventAgeInSeconds' "
        f"failed to satisfy constraint: Member must have value less than or equal to {age_max}"
    )
    with pytest.raises(ClientError):
        lab.client("lambda").get_function_event_invoke_config(FunctionName="flaky")


def test_a_fifo_queue_destination_is_not_delivered_to_and_the_reason_is_kept(lab: Lab) -> None:
    url, arn = _queue(lab, "failed.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    create(lab, "flaky", FLAKY)
    lab.client("lambda").put_function_event_invoke_config(
        FunctionName="flaky",
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": arn}},
    )
    _send_event(lab, "flaky", {"fail": True})
    lab.clock.advance(0)
    assert _depth(lab, url) == 0
    [delivery] = deliveries(_backend(lab))
    assert (delivery.kind, delivery.target, delivery.delivered) == ("on-failure", arn, False)
    assert "FIFO" in delivery.reason


def _backend(lab: Lab) -> Any:
    return lambda_backend("123456789012", lab.sandbox.region)
