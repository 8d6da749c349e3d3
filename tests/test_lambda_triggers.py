"""Triggers run real handlers with the events AWS documents, on the lab clock.

Stock moto invokes a function synchronously inside ``send_message``/``put_record`` with made-up
events (fixed SNS ids, one Kinesis record per call) and, without Docker, never runs it.
The field sets below are those of the example events in the Lambda developer guide.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from lambda_support import create, events_of, lambda_state

import labkit
from labkit.lab import Lab

RECORDER = """
import json
EVENTS = []
def lambda_handler(event, context):
    print(json.dumps(event))
    fail = [r["messageId"] for r in event.get("Records", []) if r.get("body") == "bad"]
    if any(r.get("body") == "crash" for r in event.get("Records", [])):
        raise RuntimeError("crash")
    return {"batchItemFailures": [{"itemIdentifier": i} for i in fail]}
"""


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


def _counts(lab: Lab, url: str) -> tuple[int, int]:
    attrs = lab.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    a = attrs["Attributes"]
    return int(a["ApproximateNumberOfMessages"]), int(a["ApproximateNumberOfMessagesNotVisible"])


SQS_RECORD_KEYS = {
    "messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
    "eventSource", "eventSourceARN", "awsRegion",
}  # fmt: skip


def test_sqs_mapping_delivers_documented_records_and_deletes_the_batch(lab: Lab) -> None:
    create(lab, "rec", RECORDER)
    url, arn = _queue(lab, "orders")
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="rec", BatchSize=10
    )
    sqs = lab.client("sqs")
    sqs.send_message(
        QueueUrl=url,
        MessageBody="hello",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "order"}},
    )
    assert events_of(lab) == []  # Lambda polls: nothing runs inside send_message
    lab.clock.advance(1)
    (event,) = events_of(lab)
    (record,) = event["Records"]
    assert set(record) == SQS_RECORD_KEYS
    assert record["body"] == "hello"
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == arn
    assert record["awsRegion"] == "us-east-1"
    assert set(record["attributes"]) == {
        "ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp",
    }  # fmt: skip
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"] == {
        "kind": {
            "stringValue": "order",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
    }
    assert record["md5OfBody"] == "5d41402abc4b2a76b9719d911017c592"
    assert _counts(lab, url) == (0, 0)


def test_sqs_batch_size_splits_the_queue_into_invocations(lab: Lab) -> None:
    create(lab, "rec", RECORDER)
    url, arn = _queue(lab, "orders")
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="rec", BatchSize=4
    )
    for i in range(10):
        lab.client("sqs").send_message(QueueUrl=url, MessageBody=f"m{i}")
    lab.clock.advance(1)
    assert [len(e["Records"]) for e in events_of(lab)] == [4, 4, 2]
    assert _counts(lab, url) == (0, 0)


def test_sqs_batching_window_waits_on_the_lab_clock(lab: Lab) -> None:
    create(lab, "rec", RECORDER)
    url, arn = _queue(lab, "orders")
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="rec", BatchSize=10, MaximumBatchingWindowInSeconds=20
    )
    lab.client("sqs").send_message(QueueUrl=url, MessageBody="a")
    lab.clock.advance(5)
    lab.client("sqs").send_message(QueueUrl=url, MessageBody="b")
    lab.clock.advance(10)
    assert events_of(lab) == []
    lab.clock.advance(5)
    assert [[r["body"] for r in e["Records"]] for e in events_of(lab)] == [["a", "b"]]


def test_partial_batch_response_returns_only_failed_messages_then_dead_letters_them(
    lab: Lab,
) -> None:
    create(lab, "rec", RECORDER)
    _, dlq_arn = _queue(lab, "orders-dlq")
    url, arn = _queue(
        lab,
        "orders",
        VisibilityTimeout="30",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}),
    )
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="rec",
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    for body in ("ok-1", "bad", "ok-2"):
        lab.client("sqs").send_message(QueueUrl=url, MessageBody=body)
    lab.clock.advance(1)
    assert _counts(lab, url) == (0, 1)  # the two good ones are deleted, "bad" is in flight
    lab.clock.advance(30)
    batches = [[r["body"] for r in e["Records"]] for e in events_of(lab)]
    assert batches == [["ok-1", "bad", "ok-2"], ["bad"]]
    assert events_of(lab)[1]["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"
    lab.clock.advance(31)
    dlq_url = lab.client("sqs").get_queue_url(QueueName="orders-dlq")["QueueUrl"]
    assert _counts(lab, url) == (0, 0)
    assert _counts(lab, dlq_url) == (1, 0)


def test_a_failing_batch_comes_back_whole_after_the_visibility_timeout(lab: Lab) -> None:
    create(lab, "rec", RECORDER)
    url, arn = _queue(lab, "orders", VisibilityTimeout="60")
    lab.client("lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName="rec")
    for body in ("a", "crash"):
        lab.client("sqs").send_message(QueueUrl=url, MessageBody=body)
    lab.clock.advance(1)
    assert _counts(lab, url) == (0, 2)
    lab.clock.advance(58)
    assert len(lambda_state(lab).history) == 1
    lab.clock.advance(2)
    assert len(lambda_state(lab).history) == 2


def test_a_disabled_mapping_does_not_poll(lab: Lab) -> None:
    create(lab, "rec", RECORDER)
    url, arn = _queue(lab, "orders")
    uuid = lab.client("lambda").create_event_source_mapping(
        EventSourceArn=arn, FunctionName="rec", Enabled=False
    )["UUID"]
    lab.client("sqs").send_message(QueueUrl=url, MessageBody="a")
    lab.clock.advance(10)
    assert events_of(lab) == []
    lab.client("lambda").update_event_source_mapping(UUID=uuid, Enabled=True)
    lab.clock.advance(1)
    assert len(events_of(lab)) == 1


def test_sns_delivers_the_documented_event_asynchronously(lab: Lab) -> None:
    fn_arn = create(lab, "rec", RECORDER)
    sns = lab.client("sns")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    lab.client("lambda").add_permission(
        FunctionName="rec",
        StatementId="sns",
        Action="lambda:InvokeFunction",
        Principal="sns.amazonaws.com",
        SourceArn=topic,
    )
    sub = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn_arn)["SubscriptionArn"]
    message_id = sns.publish(
        TopicArn=topic,
        Message="disk full",
        Subject="ops",
        MessageAttributes={"severity": {"DataType": "String", "StringValue": "high"}},
    )["MessageId"]
    assert events_of(lab) == []
    lab.clock.advance(0)
    (event,) = events_of(lab)
    (record,) = event["Records"]
    assert set(record) == {"EventVersion", "EventSubscriptionArn", "EventSource", "Sns"}
    assert record["EventSource"] == "aws:sns" and record["EventSubscriptionArn"] == sub
    assert set(record["Sns"]) == {
        "SignatureVersion", "Timestamp", "Signature", "SigningCertUrl", "MessageId", "Message",
        "MessageAttributes", "Type", "UnsubscribeUrl", "TopicArn", "Subject",
    }  # fmt: skip
    assert record["Sns"]["MessageId"] == message_id
    assert record["Sns"]["TopicArn"] == topic
    assert record["Sns"]["Message"] == "disk full" and record["Sns"]["Subject"] == "ops"
    assert record["Sns"]["MessageAttributes"] == {"severity": {"Type": "String", "Value": "high"}}
    assert record["Sns"]["Timestamp"] == "2026-01-05T09:00:00.000Z"


def test_s3_notification_delivers_the_documented_event(lab: Lab) -> None:
    fn_arn = create(lab, "rec", RECORDER)
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="uploads-bucket")
    lab.client("lambda").add_permission(
        FunctionName="rec",
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::uploads-bucket",
    )
    s3.put_bucket_notification_configuration(
        Bucket="uploads-bucket",
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"LambdaFunctionArn": fn_arn, "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )
    s3.put_object(Bucket="uploads-bucket", Key="photos/cat.jpg", Body=b"meow")
    lab.clock.advance(0)
    (record,) = events_of(lab)[-1]["Records"]
    assert set(record) == {
        "eventVersion", "eventSource", "awsRegion", "eventTime", "eventName", "userIdentity",
        "requestParameters", "responseElements", "s3",
    }  # fmt: skip
    assert record["eventSource"] == "aws:s3" and record["eventName"] == "ObjectCreated:Put"
    assert set(record["s3"]) == {"s3SchemaVersion", "configurationId", "bucket", "object"}
    assert set(record["s3"]["bucket"]) == {"name", "ownerIdentity", "arn"}
    assert set(record["s3"]["object"]) >= {"key", "size", "eTag", "sequencer"}
    assert record["s3"]["object"]["key"] == "photos/cat.jpg" and record["s3"]["object"]["size"] == 4


def test_dynamodb_stream_mapping_reads_from_its_starting_position(lab: Lab) -> None:
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
    ddb.put_item(TableName="orders", Item={"id": {"S": "before"}})
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName="rec", StartingPosition="LATEST"
    )
    ddb.put_item(TableName="orders", Item={"id": {"S": "1"}, "qty": {"N": "1"}})
    ddb.put_item(TableName="orders", Item={"id": {"S": "1"}, "qty": {"N": "2"}})
    lab.clock.advance(1)
    (event,) = events_of(lab)
    first, second = event["Records"]
    assert set(first) == {
        "eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb",
        "eventSourceARN",
    }  # fmt: skip
    assert (first["eventName"], second["eventName"]) == ("INSERT", "MODIFY")
    assert first["eventSource"] == "aws:dynamodb" and first["eventSourceARN"] == stream_arn
    assert set(second["dynamodb"]) >= {
        "Keys", "NewImage", "OldImage", "SequenceNumber", "SizeBytes", "StreamViewType",
        "ApproximateCreationDateTime",
    }  # fmt: skip
    assert second["dynamodb"]["OldImage"]["qty"] == {"N": "1"}
    assert isinstance(second["dynamodb"]["ApproximateCreationDateTime"], (int, float))


def test_a_kinesis_batch_whose_retries_are_used_up_is_left_behind_whole(lab: Lab) -> None:
    # With ReportBatchItemFailures Lambda checkpoints at the first failed record; once retries are
    # used up the rest of that batch is discarded and the shard moves on past all of it.
    source = (
        "import base64, json\n"
        "def lambda_handler(event, context):\n"
        "    print(json.dumps(event))\n"
        "    bad = [r['kinesis']['sequenceNumber'] for r in event['Records']\n"
        "           if base64.b64decode(r['kinesis']['data']) == b'bad']\n"
        "    return {'batchItemFailures': [{'itemIdentifier': s} for s in bad]}\n"
    )
    create(lab, "rec", source)
    kinesis = lab.client("kinesis")
    kinesis.create_stream(StreamName="orders", ShardCount=1)
    arn = kinesis.describe_stream(StreamName="orders")["StreamDescription"]["StreamARN"]
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="rec",
        StartingPosition="TRIM_HORIZON",
        BatchSize=4,
        MaximumRetryAttempts=0,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    for data in (b"a", b"b", b"bad", b"c"):
        kinesis.put_record(StreamName="orders", Data=data, PartitionKey="p")
    lab.clock.advance(5)
    kinesis.put_record(StreamName="orders", Data=b"d", PartitionKey="p")
    lab.clock.advance(5)
    batches = [
        [base64.b64decode(r["kinesis"]["data"]) for r in e["Records"]] for e in events_of(lab)
    ]
    assert batches == [[b"a", b"b", b"bad", b"c"], [b"d"]]


def test_kinesis_mapping_batches_records_in_order_and_retries_a_failure(lab: Lab) -> None:
    source = RECORDER.replace(
        'if any(r.get("body") == "crash"',
        'if any(base64.b64decode(r.get("kinesis", {}).get("data", "")) == b"crash"',
    ).replace("import json", "import json, base64")
    create(lab, "rec", source)
    kinesis = lab.client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=1)
    arn = kinesis.describe_stream(StreamName="clicks")["StreamDescription"]["StreamARN"]
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="rec",
        StartingPosition="TRIM_HORIZON",
        BatchSize=2,
        MaximumRetryAttempts=1,
    )
    for data in (b"a", b"b", b"crash", b"c"):
        kinesis.put_record(StreamName="clicks", Data=data, PartitionKey="p")
    lab.clock.advance(1)
    batches = [
        [base64.b64decode(r["kinesis"]["data"]) for r in e["Records"]] for e in events_of(lab)
    ]
    assert batches == [[b"a", b"b"], [b"crash", b"c"], [b"crash", b"c"]]
    lab.clock.advance(1)
    (record,) = events_of(lab)[0]["Records"][:1]
    assert set(record) == {
        "kinesis", "eventSource", "eventVersion", "eventID", "eventName", "invokeIdentityArn",
        "awsRegion", "eventSourceARN",
    }  # fmt: skip
    assert set(record["kinesis"]) == {
        "kinesisSchemaVersion", "partitionKey", "sequenceNumber", "data",
        "approximateArrivalTimestamp",
    }  # fmt: skip
    assert record["eventSource"] == "aws:kinesis" and record["eventName"] == "aws:kinesis:record"
    # One retry, then the failing batch is given up and the shard moves on.
    statuses = [h.result.status for h in lambda_state(lab).history]
    assert statuses == ["success", "error", "error"]
