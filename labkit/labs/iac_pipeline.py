"""The IaC lab's ``pipeline`` and ``keep_table`` checks: templates that deploy and updates that
keep data.

``pipeline``: the learner's ``PIPELINE_TEMPLATE`` (a YAML or JSON string, a dict, or the path of
a template file; any logical ids and resource names) deploys the decoupling lab's order pipeline:
a topic, a queue subscribed to it with a queue policy that lets only that topic send, and a
dead-letter queue behind the queue. In a world of its own the check creates the stack, publishes
an order to the stack's topic and expects it in the queue; then, as outsiders, a second topic of
the account and a topic of another account publish to the queue (nothing may arrive), and the
queue's policy is asked whether an anonymous caller may send directly.

``keep_table``: the check deploys :data:`ORDERS_TABLE_TEMPLATE` as the stack ``orders-db`` and
writes orders into its table; the learner's ``update_orders_table(cloudformation, stack_name)``
must change the stack so that the table is on-demand with a global secondary index
``by-customer`` on ``customer_id``, through CloudFormation (the stack is not drifted) and without
replacing the table (every order is still there, and the index finds them).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from labkit.grading.checks import CheckContext, short

PIPELINE_STACK = "orders-pipeline"
TABLE_STACK = "orders-db"
TABLE = "orders"
INDEX = "by-customer"
#: Orders the check writes before the learner's update (and expects after it).
ORDERS = 12

ORDERS_TABLE_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Description: The shop's orders table.
Resources:
  OrdersTable:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: orders
      BillingMode: PROVISIONED
      ProvisionedThroughput:
        ReadCapacityUnits: 5
        WriteCapacityUnits: 5
      AttributeDefinitions:
        - AttributeName: order_id
          AttributeType: S
      KeySchema:
        - AttributeName: order_id
          KeyType: HASH
"""


def template_body(value: Any) -> str:
    """The template text of ``value``: a body (YAML or JSON), a dict, or a template file's path."""
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, Path):
        return value.read_text()
    if isinstance(value, str):
        stripped = value.strip()
        if "\n" not in stripped and stripped.endswith((".yaml", ".yml", ".json", ".template")):
            return Path(stripped).read_text()
        return value
    raise TypeError(type(value).__name__)


def _stack_failed(ctx: CheckContext, cfn: Any, stack: str, hint: str) -> None:
    """Fail with the first failed resource's reason when ``stack`` did not complete."""
    status = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
    if status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        return
    events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    failed = [e for e in events if str(e.get("ResourceStatus", "")).endswith("_FAILED")]
    why = (
        f" {failed[-1]['LogicalResourceId']} failed: {failed[-1].get('ResourceStatusReason')}"
        if failed
        else ""
    )
    ctx.fail(f"The stack `{stack}` ended {status}.{why}", hint=hint)


ENDPOINT_HINT = (
    "An SQS subscription's Endpoint is the queue's ARN (`!GetAtt Queue.Arn`); `!Ref Queue` gives "
    "its URL, which SNS refuses as an endpoint."
)
NO_POLICY_HINT = (
    "SNS delivers to a queue only if the queue's policy lets it: add an AWS::SQS::QueuePolicy "
    "on the queue that allows `sqs:SendMessage` to the principal `sns.amazonaws.com`, with the "
    "condition `ArnEquals: {aws:SourceArn: !Ref Topic}`."
)
ONLY_TOPIC_HINT = (
    "Let only the pipeline's topic send: the queue policy's statement needs the condition "
    "`ArnEquals` (or `ArnLike`) on `aws:SourceArn` with the topic's ARN (`!Ref Topic`), and a "
    "principal of `sns.amazonaws.com`, not `*` alone."
)
DLQ_HINT = (
    "A dead-letter queue is a second queue that the order queue's `RedrivePolicy` points to: "
    "`RedrivePolicy: {deadLetterTargetArn: !GetAtt DeadLetterQueue.Arn, maxReceiveCount: 5}`."
)


def _resources(cfn: Any, stack: str, kind: str) -> list[str]:
    summaries = cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    return [r["PhysicalResourceId"] for r in summaries if r["ResourceType"] == kind]


def check_pipeline(ctx: CheckContext) -> None:
    """The learner's template deploys a topic → queue pipeline with a DLQ that only the topic
    feeds."""
    from labkit.labs.decoupling import _attributes, _drain
    from labkit.sandbox.accounts import OUTSIDER_ACCOUNT, client_in_account
    from labkit.services.sqs.access import Request, evaluate

    given = ctx.value("PIPELINE_TEMPLATE", types=(str, dict, Path))
    try:
        body = template_body(given)
    except OSError as error:
        ctx.fail(
            f"`PIPELINE_TEMPLATE` names a file that cannot be read ({error}).",
            hint="Give the template's text, a dict, or the path of a template file that exists.",
        )
    cfn = ctx.client("cloudformation")
    try:
        # The check deploys the learner's template, so it acknowledges IAM resources as whoever
        # deploys a template must (AWS refuses them without the capability).
        cfn.create_stack(
            StackName=PIPELINE_STACK,
            TemplateBody=body,
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        )
    except ClientError as error:
        ctx.fail(
            f"CloudFormation refused the template: {error.response['Error']['Message']}",
            hint="Fix what the linter names (each finding says the line), then deploy again.",
        )
    events = cfn.describe_stack_events(StackName=PIPELINE_STACK)["StackEvents"]
    refused = [
        e
        for e in events
        if e.get("ResourceStatus") == "CREATE_FAILED"
        and e.get("ResourceType") == "AWS::SNS::Subscription"
        and "endpoint" in str(e.get("ResourceStatusReason", "")).lower()
    ]
    _stack_failed(
        ctx,
        cfn,
        PIPELINE_STACK,
        ENDPOINT_HINT
        if refused
        else "The failed resource's reason says what AWS refused; fix it and deploy again.",
    )
    topics = _resources(cfn, PIPELINE_STACK, "AWS::SNS::Topic")
    queues = _resources(cfn, PIPELINE_STACK, "AWS::SQS::Queue")
    if len(topics) != 1 or len(queues) < 2:
        ctx.fail(
            f"The stack deployed {len(topics)} topic(s) and {len(queues)} queue(s); the "
            "pipeline needs one topic, the order queue and its dead-letter queue.",
            hint=DLQ_HINT,
        )
    sqs = ctx.client("sqs")
    sns = ctx.client("sns")
    attrs = {url: _attributes(sqs, url) for url in queues}
    arns = {attrs[url]["QueueArn"]: url for url in queues}
    fed = [url for url in queues if "RedrivePolicy" in attrs[url]]
    if not fed:
        ctx.fail(
            "No queue of the stack has a RedrivePolicy: nothing sends failed orders aside.",
            hint=DLQ_HINT,
        )
    queue = fed[0]
    target = json.loads(attrs[queue]["RedrivePolicy"]).get("deadLetterTargetArn")
    if target not in arns or arns[target] == queue:
        ctx.fail(
            f"The order queue's dead-letter target is {short(target)}, not another queue of "
            "the stack.",
            hint=DLQ_HINT,
        )
    topic = topics[0]
    sns.publish(TopicArn=topic, Message=json.dumps({"order_id": "o-1001"}))
    got = _drain(sqs, queue)
    if not any("o-1001" in b for b in got):
        policy = attrs[queue].get("Policy")
        subscribed = [
            s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        ]
        if attrs[queue]["QueueArn"] not in subscribed:
            ctx.fail(
                f"An order published to `{topic}` never reached the order queue: the topic's "
                f"subscriptions are {subscribed or 'none'}.",
                hint=ENDPOINT_HINT,
            )
        ctx.fail(
            f"An order published to `{topic}` never reached the order queue, which is "
            "subscribed: "
            + ("it has no queue policy." if not policy else "its policy does not let it in."),
            hint=NO_POLICY_HINT,
        )
    outsider_sns = client_in_account(ctx.sandbox, "sns", OUTSIDER_ACCOUNT)
    queue_arn = attrs[queue]["QueueArn"]
    for who, client in (
        ("a second topic of your account", sns),
        (f"a topic of another account ({OUTSIDER_ACCOUNT})", outsider_sns),
    ):
        other = client.create_topic(Name="intruder")["TopicArn"]
        client.subscribe(TopicArn=other, Protocol="sqs", Endpoint=queue_arn)
        client.publish(TopicArn=other, Message=json.dumps({"order_id": "intruder"}))
        if _drain(sqs, queue):
            ctx.fail(
                f"A message published to {who}, `{other}`, reached the order queue: its policy "
                f"lets that topic send too, not only `{topic}`.",
                hint=ONLY_TOPIC_HINT,
            )
    policy = _attributes(sqs, queue).get("Policy")
    request = Request(
        action="sqs:SendMessage",
        resource=queue_arn,
        account="",
        context={"aws:SecureTransport": "true"},
    )
    if evaluate(policy, request).allowed:
        ctx.fail(
            "The order queue's policy lets an anonymous caller call SendMessage on it directly.",
            hint=ONLY_TOPIC_HINT,
        )


REPLACED_HINT = (
    "TableName and KeySchema require replacement: CloudFormation makes a new table and deletes "
    "the old one with its items. Keep both as they are; BillingMode, ProvisionedThroughput, "
    "AttributeDefinitions and GlobalSecondaryIndexes update in place (the change set's "
    "`Replacement: False`)."
)
INDEX_HINT = (
    "Add `GlobalSecondaryIndexes` with IndexName `by-customer`, KeySchema "
    "`[{AttributeName: customer_id, KeyType: HASH}]` and a Projection, plus `customer_id` "
    "(type S) in AttributeDefinitions; on-demand is `BillingMode: PAY_PER_REQUEST` without "
    "ProvisionedThroughput."
)
BY_HAND_HINT = (
    "Change the table through its stack (update_stack or a change set with the new template): "
    "a change made with the DynamoDB API is drift, and the stack's next update puts it back."
)


def check_keep_table(ctx: CheckContext) -> None:
    """``update_orders_table`` makes the stack's table on-demand with the index, keeping it."""
    update = ctx.function("update_orders_table")
    cfn = ctx.client("cloudformation")
    ddb = ctx.client("dynamodb")
    cfn.create_stack(StackName=TABLE_STACK, TemplateBody=ORDERS_TABLE_TEMPLATE)
    before = ddb.describe_table(TableName=TABLE)["Table"]
    for number in range(ORDERS):
        ctx.clock.advance(1)  # within the table's 5 WCU
        ddb.put_item(
            TableName=TABLE,
            Item={
                "order_id": {"S": f"o-{number:03d}"},
                "customer_id": {"S": f"c-{number % 3}"},
            },
        )
    ctx.call(update, cfn, TABLE_STACK)
    stack = cfn.describe_stacks(StackName=TABLE_STACK)["Stacks"][0]
    status = stack["StackStatus"]
    if status == "UPDATE_ROLLBACK_COMPLETE":
        ctx.fail(
            f"Your update of `{TABLE_STACK}` failed and rolled back "
            f"({stack.get('StackStatusReason', '')}): the change requires replacing the table, "
            "and CloudFormation cannot replace a custom-named resource under the same name.",
            hint=REPLACED_HINT,
        )
    if status != "UPDATE_COMPLETE":
        drift_id = cfn.detect_stack_drift(StackName=TABLE_STACK)["StackDriftDetectionId"]
        drift = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=drift_id)
        ctx.fail(
            f"The stack `{TABLE_STACK}` is {status}: your function never updated it"
            + (
                ", and the table was changed by hand (drift detection says DRIFTED)."
                if drift.get("StackDriftStatus") == "DRIFTED"
                else "."
            ),
            hint=BY_HAND_HINT,
        )
    tables = ddb.list_tables()["TableNames"]
    physical = _resources(cfn, TABLE_STACK, "AWS::DynamoDB::Table")
    name = physical[0] if physical else TABLE
    if name not in tables:
        ctx.fail(f"The stack's table `{name}` does not exist.", hint=REPLACED_HINT)
    now = ddb.describe_table(TableName=name)["Table"]
    count = ddb.scan(TableName=name, ConsistentRead=True)["Count"]
    if name != TABLE or now["TableArn"] != before["TableArn"] or count < ORDERS:
        ctx.fail(
            f"The table was replaced: the stack's table is now `{name}` with {count} of the "
            f"{ORDERS} orders (the old `{TABLE}` "
            + ("is gone)." if TABLE not in tables else "is no longer the stack's).")
            + " Replacing a table loses its items.",
            hint=REPLACED_HINT,
        )
    drift_id = cfn.detect_stack_drift(StackName=TABLE_STACK)["StackDriftDetectionId"]
    drift = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=drift_id)
    if drift.get("StackDriftStatus") == "DRIFTED":
        ctx.fail(
            "The table changed, but not through its stack: drift detection says the stack is "
            "DRIFTED (its template still describes the old table).",
            hint=BY_HAND_HINT,
        )
    billing = now.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    indexes = {g["IndexName"]: g for g in now.get("GlobalSecondaryIndexes", [])}
    if billing != "PAY_PER_REQUEST" or INDEX not in indexes:
        ctx.fail(
            f"`{TABLE}` kept its {count} orders, but its billing mode is {billing} and its "
            f"global secondary indexes are {sorted(indexes) or 'none'}.",
            hint=INDEX_HINT,
        )
    keys = [k["AttributeName"] for k in indexes[INDEX]["KeySchema"] if k["KeyType"] == "HASH"]
    found = (
        ddb.query(
            TableName=TABLE,
            IndexName=INDEX,
            KeyConditionExpression="#c = :c",
            ExpressionAttributeNames={"#c": "customer_id"},
            ExpressionAttributeValues={":c": {"S": "c-1"}},
        )["Count"]
        if keys == ["customer_id"]
        else 0
    )
    if found != ORDERS // 3:
        ctx.fail(
            f"The index `{INDEX}` (partition key {keys}) found {found} of customer c-1's "
            f"{ORDERS // 3} orders.",
            hint=INDEX_HINT,
        )
