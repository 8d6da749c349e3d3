"""Event source mapping filters (``FilterCriteria``) decide which records reach the function.

Stock moto stores ``FilterCriteria`` and ignores it: every record is delivered, any number of
filters is accepted. As in AWS, labkit applies the filters: SQS messages that match no filter are
deleted unseen, stream records that match none are skipped, and more than five filters are refused.
https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from lambda_support import create, events_of

from labkit.lab import Lab
from labkit.services.awslambda import patch_filters as lambda_filters

RECORDER = """
import json
def lambda_handler(event, context):
    print(json.dumps(event))
    return {}
"""


def _bodies(lab: Lab) -> list[list[str]]:
    return [[r["body"] for r in e["Records"]] for e in events_of(lab)]


def _queue(lab: Lab, name: str, **attributes: str) -> tuple[str, str]:
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def _counts(lab: Lab, url: str) -> tuple[int, int]:
    attrs = lab.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    a = attrs["Attributes"]
    return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


def _filters(*patterns: dict[str, Any]) -> dict[str, Any]:
    return {"Filters": [{"Pattern": json.dumps(p)} for p in patterns]}


def _send(lab: Lab, url: str, *bodies: Any) -> None:
    for body in bodies:
        text = body if isinstance(body, str) else json.dumps(body)
        lab.client("sqs").send_message(QueueUrl=url, MessageBody=text)


# -- SQS ------------------------------------------------------------------------------------------
def test_sqs_unmatched_messages_are_deleted_not_delivered_nor_dead_lettered(lab: Lab) -> None:
    create(lab, "rec", RECORDER)
    dlq_url, dlq_arn = _queue(lab, "orders-dlq")
    url, arn = _queue(
        lab,
        "orders",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}),
    )
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="rec",
        BatchSize=10,
        FilterCriteria=_filters({"body": {"kind": ["order"]}}),
    )
    _send(
        lab, url, {"kind": "order", "n": 1}, {"kind": "refund", "n": 2}, {"kind": "order", "n": 3}
    )
    lab.clock.advance(1)
    assert [[json.loads(b)["n"] for b in batch] for batch in _bodies(lab)] == [[1, 3]]
    assert _counts(lab, url) == (0, 0)  # the refund is gone: not waiting, not in flight
    lab.clock.advance(120)
    assert _counts(lab, url) == (0, 0) and _counts(lab, dlq_url) == (0, 0)
    assert len(events_of(lab)) == 1


def test_sqs_batch_with_no_match_does_not_invoke(lab: Lab) -> None:
    create(lab, "rec", RECORDER)
    url, arn = _queue(lab, "orders")
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="rec",
        FilterCriteria=_filters({"body": {"kind": ["order"]}}),
    )
    _send(lab, url, {"kind": "refund"}, {"kind": "audit"})
    lab.clock.advance(5)
    assert events_of(lab) == []
    assert _counts(lab, url) == (0, 0)
    # The function never ran, so Lambda never created its log group.
    groups = lab.client("logs").describe_log_groups()["logGroups"]
    assert "/aws/lambda/rec" not in {g["logGroupName"] for g in groups}


def test_sqs_body_is_json_only_when_the_message_is_json(lab: Lab) -> None:
    create(lab, "rec", RECORDER)
    url, arn = _queue(lab, "orders")
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="rec",
        FilterCriteria=_filters(
            {"body": {"kind": ["order"]}},  # a JSON pattern: only JSON bodies can match
            {"body": [{"prefix": "order"}]},  # a plain-string pattern: only plain bodies match
        ),
    )
    _send(lab, url, '{"kind": "order"}', "order-42", '"order-in-quotes"', '{"note": "order-1"}')
    lab.clock.advance(1)
    # '"order-in-quotes"' is JSON but not an object, so it is matched as the plain string it is
    # not; '{"note": ...}' is a JSON object, so the plain-string pattern cannot match it.
    assert _bodies(lab) == [['{"kind": "order"}', "order-42"]]
    assert _counts(lab, url) == (0, 0)


def test_sqs_record_is_kept_if_any_filter_matches(lab: Lab) -> None:
    create(lab, "rec", RECORDER)
    url, arn = _queue(lab, "orders")
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="rec",
        BatchSize=10,
        FilterCriteria=_filters(
            {"body": {"total": [{"numeric": [">", 100]}]}},
            {"body": {"country": [{"anything-but": ["FR", "DE"]}], "vip": [True]}},
        ),
    )
    _send(
        lab,
        url,
        {"id": "big", "total": 150, "country": "FR"},  # first filter
        {"id": "vip", "total": 10, "country": "US", "vip": True},  # second filter
        {"id": "small", "total": 10, "country": "US"},  # neither
        {"id": "vip-fr", "total": 10, "country": "FR", "vip": True},  # neither
    )
    lab.clock.advance(1)
    assert [[json.loads(b)["id"] for b in batch] for batch in _bodies(lab)] == [["big", "vip"]]


def test_too_many_or_invalid_filters_are_refused(lab: Lab) -> None:
    create(lab, "rec", RECORDER)
    _, arn = _queue(lab, "orders")
    client = lab.client("lambda")
    six = _filters(*({"body": {"n": [i]}} for i in range(6)))
    with pytest.raises(ClientError) as info:
        client.create_event_source_mapping(
            EventSourceArn=arn, FunctionName="rec", FilterCriteria=six
        )
    assert info.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert client.list_event_source_mappings()["EventSourceMappings"] == []
    with pytest.raises(ClientError) as info:
        client.create_event_source_mapping(
            EventSourceArn=arn, FunctionName="rec", FilterCriteria={"Filters": [{"Pattern": "{"}]}
        )
    assert info.value.response["Error"]["Code"] == "InvalidParameterValueException"
    five = _filters(*({"body": {"n": [i]}} for i in range(5)))
    uuid = client.create_event_source_mapping(
        EventSourceArn=arn, FunctionName="rec", FilterCriteria=five
    )["UUID"]
    with pytest.raises(ClientError) as info:
        client.update_event_source_mapping(UUID=uuid, FilterCriteria=six)
    assert info.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert len(client.get_event_source_mapping(UUID=uuid)["FilterCriteria"]["Filters"]) == 5


def test_update_event_source_mapping_changes_and_removes_filters(lab: Lab) -> None:
    create(lab, "rec", RECORDER)
    url, arn = _queue(lab, "orders")
    client = lab.client("lambda")
    uuid = client.create_event_source_mapping(
        EventSourceArn=arn, FunctionName="rec", FilterCriteria=_filters({"body": ["a"]})
    )["UUID"]
    _send(lab, url, "a", "b")
    lab.clock.advance(1)
    client.update_event_source_mapping(UUID=uuid, FilterCriteria=_filters({"body": ["b"]}))
    _send(lab, url, "a", "b")
    lab.clock.advance(1)
    client.update_event_source_mapping(UUID=uuid, FilterCriteria={})  # no filters: all pass
    _send(lab, url, "a", "b")
    lab.clock.advance(1)
    assert _bodies(lab) == [["a"], ["b"], ["a", "b"]]


# -- streams --------------------------------------------------------------------------------------
def test_kinesis_filters_decoded_json_data_and_skips_the_rest(lab: Lab) -> None:
    create(lab, "rec", RECORDER)
    kinesis = lab.client("kinesis")
    kinesis.create_stream(StreamName="readings", ShardCount=1)
    arn = kinesis.describe_stream(StreamName="readings")["StreamDescription"]["StreamARN"]
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="rec",
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        FilterCriteria=_filters(
            {"partitionKey": ["sensor-1"], "data": {"temp": [{"numeric": [">=", 30]}]}}
        ),
    )
    puts = [
        ("sensor-1", json.dumps({"temp": 35}).encode()),
        ("sensor-1", json.dumps({"temp": 20}).encode()),
        ("sensor-2", json.dumps({"temp": 40}).encode()),
        ("sensor-1", b"temp=99"),  # not JSON: a JSON pattern for data cannot match it
        ("sensor-1", json.dumps({"temp": 30}).encode()),
    ]
    for key, data in puts:
        kinesis.put_record(StreamName="readings", Data=data, PartitionKey=key)
    lab.clock.advance(1)
    delivered = [
        [json.loads(base64.b64decode(r["kinesis"]["data"])) for r in e["Records"]]
        for e in events_of(lab)
    ]
    assert delivered == [[{"temp": 35}, {"temp": 30}]]
    # The iterator moved past the skipped records: new records alone come next.
    kinesis.put_record(
        StreamName="readings", Data=json.dumps({"temp": 50}).encode(), PartitionKey="sensor-1"
    )
    kinesis.put_record(StreamName="readings", Data=b"{}", PartitionKey="sensor-1")
    lab.clock.advance(1)
    assert len(events_of(lab)) == 2
    assert [
        json.loads(base64.b64decode(r["kinesis"]["data"])) for r in events_of(lab)[1]["Records"]
    ] == [{"temp": 50}]
    lab.clock.advance(10)
    assert len(events_of(lab)) == 2


def test_dynamodb_stream_filters_on_event_name_and_new_image(lab: Lab) -> None:
    create(lab, "rec", RECORDER)
    ddb = lab.client("dynamodb")
    table = ddb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    stream_arn = table["TableDescription"]["LatestStreamArn"]
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn,
        FunctionName="rec",
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        FilterCriteria=_filters(
            {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"status": {"S": ["NEW"]}}}}
        ),
    )
    ddb.put_item(TableName="orders", Item={"id": {"S": "1"}, "status": {"S": "NEW"}})
    ddb.put_item(TableName="orders", Item={"id": {"S": "2"}, "status": {"S": "DRAFT"}})
    ddb.put_item(TableName="orders", Item={"id": {"S": "1"}, "status": {"S": "NEW"}})  # MODIFY
    ddb.delete_item(TableName="orders", Key={"id": {"S": "2"}})
    ddb.put_item(TableName="orders", Item={"id": {"S": "3"}, "status": {"S": "NEW"}})
    lab.clock.advance(1)
    (event,) = events_of(lab)
    assert [(r["eventName"], r["dynamodb"]["Keys"]["id"]["S"]) for r in event["Records"]] == [
        ("INSERT", "1"),
        ("INSERT", "3"),
    ]
    lab.clock.advance(10)
    assert len(events_of(lab)) == 1


def test_stream_data_pattern_must_be_a_json_object(lab: Lab) -> None:
    create(lab, "rec", RECORDER)
    kinesis = lab.client("kinesis")
    kinesis.create_stream(StreamName="readings", ShardCount=1)
    arn = kinesis.describe_stream(StreamName="readings")["StreamDescription"]["StreamARN"]
    with pytest.raises(ClientError) as info:
        lab.client("lambda").create_event_source_mapping(
            EventSourceArn=arn,
            FunctionName="rec",
            StartingPosition="TRIM_HORIZON",
            FilterCriteria=_filters({"data": ["plain"]}),
        )
    assert info.value.response["Error"]["Code"] == "InvalidParameterValueException"


# -- the matcher on plain records -----------------------------------------------------------------
class _Mapping:
    """A stand-in for moto's EventSourceMapping: just what ``keep`` reads."""

    def __init__(self, arn: str, *patterns: dict[str, Any]) -> None:
        self.event_source_arn = arn
        self.filter_criteria = _filters(*patterns) if patterns else None

    def _get_service_source_from_arn(self) -> str:
        return self.event_source_arn.split(":")[2]


SQS_ARN = "arn:aws:sqs:us-east-1:123456789012:q"


@pytest.mark.parametrize(
    ("rule", "value", "kept"),
    [
        (["a", "b"], "b", True),
        (["a", "b"], "c", False),
        ([{"prefix": "ord-"}], "ord-1", True),
        ([{"prefix": "ord-"}], "x-ord-1", False),
        ([{"suffix": ".png"}], "cat.png", True),
        ([{"suffix": ".png"}], "cat.jpg", False),
        ([{"anything-but": ["x", "y"]}], "z", True),
        ([{"anything-but": ["x", "y"]}], "x", False),
        ([{"numeric": [">", 10, "<=", 20]}], 20, True),
        ([{"numeric": [">", 10, "<=", 20]}], 21, False),
        ([{"numeric": ["=", 5]}], "5", False),  # numeric rules match numbers only
        ([{"exists": True}], "anything", True),
        ([None], None, True),
        ([""], "", True),
    ],
)
def test_pattern_rules_on_an_sqs_json_body(rule: list[Any], value: Any, kept: bool) -> None:
    mapping = _Mapping(SQS_ARN, {"body": {"detail": {"field": rule}}})
    record = {"body": json.dumps({"detail": {"field": value}})}
    assert lambda_filters.keep(mapping, [record]) == [kept]  # type: ignore[arg-type]


def test_exists_false_and_no_filters() -> None:
    absent = _Mapping(SQS_ARN, {"body": {"tag": [{"exists": False}]}})
    records = [{"body": json.dumps({"tag": 1})}, {"body": json.dumps({"other": 1})}]
    assert lambda_filters.keep(absent, records) == [False, True]  # type: ignore[arg-type]
    assert lambda_filters.keep(_Mapping(SQS_ARN), records) == [True, True]  # type: ignore[arg-type]
