"""Architecture map benchmark: ``lab.map()`` on a 40-resource serverless sandbox.

Builds, with boto3 as a learner would, a sandbox of at least 40 resources wired in every way the
map draws (SNS subscriptions allowed and refused, event source mappings, S3 notifications, a
CloudFront distribution with OAC, a REST API with a Lambda integration and a Cognito authorizer,
a Step Functions workflow, a global table with a stream, Kinesis and Firehose, Lambda
destinations), sends traffic through it (so the delivery log, invocation history and API trace
hold entries), then prints the median and worst wall time, over several runs, of:

- reading the map (:func:`labkit.sandbox.architecture.build_map`: moto's backends, the policy
  engine on every edge, the counts);
- rendering it (the SVG and table as HTML, and the text form);
- the whole ``lab.map(hold=True)`` (what a learner's cell pays), and, for scale, ``lab.view()``
  (the sandbox inventory) on the same sandbox.

Target (issue 16): ``lab.map()`` renders a 40-resource sandbox in under 300 ms.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from collections.abc import Callable
from typing import Any

import support

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

RUNS = 15
TARGET_MS = 300.0


def build(lab: Any) -> None:
    """A serverless sandbox of 40+ resources, wired, with some traffic."""
    import architecture_support as a

    topics = []
    for i in range(4):
        topic, _ = a.topic_to_queue(lab, f"topic-{i}", f"fanout-{i}", allow=i != 3)
        topics.append(topic)
    for i in range(4):
        a.queue_to_function(lab, f"jobs-{i}", f"worker-{i}")
    for i in range(3):
        a.bucket_to_queue(lab, f"uploads-{i}", f"uploaded-{i}")
    a.site_behind_cloudfront(lab)
    api = a.api_to_function(lab)
    pool = lab.client("cognito-idp").create_user_pool(PoolName="customers")["UserPool"]["Arn"]
    lab.client("apigateway").create_authorizer(
        restApiId=api,
        name="users",
        type="COGNITO_USER_POOLS",
        providerARNs=[pool],
        identitySource="method.request.header.Authorization",
    )
    ddb = lab.client("dynamodb")
    for name in ("users", "orders", "carts"):
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )
    ddb.update_table(TableName="carts", ReplicaUpdates=[{"Create": {"RegionName": "eu-west-1"}}])
    welcome = a.function(lab, "welcome")
    stream = ddb.describe_table(TableName="users")["Table"]["LatestStreamArn"]
    lab.client("lambda").create_event_source_mapping(
        EventSourceArn=stream, FunctionName="welcome", StartingPosition="LATEST"
    )
    _, failed = a.queue(lab, "failed")
    lab.client("lambda").put_function_event_invoke_config(
        FunctionName="welcome", DestinationConfig={"OnFailure": {"Destination": failed}}
    )
    role = lab.client("iam").get_role(RoleName="lambda-role")["Role"]["Arn"]
    definition = {
        "StartAt": "Welcome",
        "States": {
            "Welcome": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": welcome},
                "End": True,
            }
        },
    }
    lab.client("stepfunctions").create_state_machine(
        name="signup", roleArn=role, definition=json.dumps(definition)
    )
    kinesis = lab.client("kinesis")
    kinesis.create_stream(StreamName="clicks", ShardCount=2)
    arn = kinesis.describe_stream(StreamName="clicks")["StreamDescription"]["StreamARN"]
    lab.client("s3").create_bucket(Bucket="archive")
    firehose_role = "arn:aws:iam::123456789012:role/firehose"
    lab.client("firehose").create_delivery_stream(
        DeliveryStreamName="to-archive",
        DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": arn, "RoleARN": firehose_role},
        ExtendedS3DestinationConfiguration={
            "BucketARN": "arn:aws:s3:::archive",
            "RoleARN": firehose_role,
        },
    )
    sns = lab.client("sns")
    for n in range(50):
        sns.publish(TopicArn=topics[n % 4], Message=f"message {n}")
    for n in range(20):
        ddb.put_item(TableName="carts", Item={"id": {"S": f"c{n}"}})
        ddb.put_item(TableName="users", Item={"id": {"S": f"u{n}"}})
    lab.clock.advance(5)


def timed(call: Callable[[], Any]) -> tuple[float, float]:
    """Median and worst milliseconds of ``call`` over :data:`RUNS` runs (after one warm-up)."""
    call()
    times = support.timed(lambda _i: call(), 1, RUNS)
    return statistics.median(times), max(times)


def main() -> int:
    import labkit
    from labkit.sandbox.architecture import build_map
    from labkit.views.architecture import as_state, render_html, render_text
    from labkit.views.base import snapshot_state

    lab = labkit.start(quiet=True)
    try:
        build(lab)
        built = build_map(now=lab.clock.timestamp)
        state = as_state(snapshot_state(built))
        resources = sum(1 for n in built.nodes if not n.missing and n.service != "Outside AWS")
        print(
            f"sandbox: {resources} resources, {len(built.edges)} connections, "
            f"{sum(1 for e in built.edges if e.status != 'ok')} not working"
        )
        read = timed(lambda: build_map(now=lab.clock.timestamp))
        draw = timed(lambda: (render_html(state), render_text(state)))
        whole = timed(lambda: lab.map(hold=True).to_html())
        inventory = timed(lambda: lab.view().to_html())
    finally:
        lab.stop()
    print(f"read the map (build_map):           median {read[0]:7.1f} ms, worst {read[1]:7.1f} ms")
    print(f"render it (HTML with SVG, text):    median {draw[0]:7.1f} ms, worst {draw[1]:7.1f} ms")
    print(
        f"lab.map(hold=True) end to end:      median {whole[0]:7.1f} ms, worst {whole[1]:7.1f} ms"
        f" (target < {TARGET_MS:.0f} ms)"
    )
    print(f"lab.view() (inventory), for scale:  median {inventory[0]:7.1f} ms")
    ok = resources >= 40 and whole[0] < TARGET_MS
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
