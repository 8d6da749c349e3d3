"""The IaC lab's ``stack_set`` and ``drift`` checks: one stack everywhere, and drift put back.

``stack_set``: the learner's ``deploy_everywhere(cloudformation, template_body, accounts,
regions)`` deploys the template to every account and Region given, with a StackSet whose
operation stops after one failure. The check gives two accounts and three Regions, plays a
failure in the first account of the second Region (a table of the template's name is already
there, so that instance's stack rolls back), runs the lab clock until the operation ends and
asks: both instances of the first Region deployed, the failing one failed, and no other instance
was attempted (AWS: "If the operation is stopped in a Region, CloudFormation doesn't attempt the
operation in any subsequent Regions",
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_StackSetOperationPreferences.html).

``drift``: the check deploys :data:`RUNTIME_TEMPLATE` as ``orders-runtime`` (a queue and a
table), sends three orders into the queue, then changes both by hand (the queue's visibility
timeout, the table's capacity). The learner's ``bring_back(cloudformation, stack_name)`` must
leave the stack ``IN_SYNC`` with the template's values, the queue's messages still there.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from labkit.grading.checks import CheckContext

ACCOUNTS = ["111111111111", "222222222222"]
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]
#: The instance the check makes fail: the first account, in the second Region.
FAILING = (ACCOUNTS[0], REGIONS[1])
FLEET_TABLE = "orders"

FLEET_TEMPLATE = """\
Resources:
  OrdersTable:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: orders
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - AttributeName: order_id
          AttributeType: S
      KeySchema:
        - AttributeName: order_id
          KeyType: HASH
"""

RUNTIME_STACK = "orders-runtime"
RUNTIME_TEMPLATE = """\
Resources:
  OrderQueue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: order-queue
      VisibilityTimeout: 60
  OrdersTable:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: orders
      BillingMode: PROVISIONED
      ProvisionedThroughput:
        ReadCapacityUnits: 10
        WriteCapacityUnits: 5
      AttributeDefinitions:
        - AttributeName: order_id
          AttributeType: S
      KeySchema:
        - AttributeName: order_id
          KeyType: HASH
"""
#: What the check sets by hand.
DRIFTED_VISIBILITY = "5"
DRIFTED_CAPACITY = 1
MESSAGES = 3


def _occupy(ctx: CheckContext, account: str, region: str) -> None:
    """A table named as the template's, made by hand in ``account``/``region``."""
    from labkit.sandbox.accounts import client_in_account

    ddb = client_in_account(ctx.sandbox, "dynamodb", account, region=region)
    ddb.create_table(
        TableName=FLEET_TABLE,
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


STOP_HINT = (
    "Leave FailureToleranceCount at 0 (or say so) and deploy Region by Region "
    "(RegionConcurrencyType SEQUENTIAL, the default) one account at a time in the default "
    "STRICT_FAILURE_TOLERANCE mode: then the first failure stops the operation, and nothing "
    "after it starts."
)
TOLERANCE_HINT = (
    "FailureToleranceCount (or FailureTolerancePercentage) is how many accounts per Region may "
    "fail before the operation stops: 1 (or 50 % of two accounts) lets one fail and goes on."
)
PARALLEL_HINT = (
    "With RegionConcurrencyType PARALLEL every Region runs at once, so a failure stops only its "
    "own Region: the others are already deploying."
)
SOFT_HINT = (
    "SOFT_FAILURE_TOLERANCE keeps MaxConcurrentCount accounts deploying whatever fails; in "
    "STRICT_FAILURE_TOLERANCE mode the concurrency is at most the tolerance plus one."
)
EVERYWHERE_HINT = (
    "One StackSet (create_stack_set with the template) and one create_stack_instances call with "
    "Accounts=accounts and Regions=regions: every account in every Region."
)


def check_stack_set(ctx: CheckContext) -> None:
    """``deploy_everywhere`` deploys to 2 accounts x 3 Regions and stops after one failure."""
    from labkit.services.cloudformation.sim_stacksets import INSTANCE_SECONDS

    deploy = ctx.function("deploy_everywhere")
    _occupy(ctx, *FAILING)
    cfn = ctx.client("cloudformation")
    ctx.call(deploy, cfn, FLEET_TEMPLATE, list(ACCOUNTS), list(REGIONS))
    ctx.clock.advance(INSTANCE_SECONDS * (len(ACCOUNTS) * len(REGIONS) + 2))
    sets = [s["StackSetName"] for s in cfn.list_stack_sets(Status="ACTIVE")["Summaries"]]
    if not sets:
        ctx.fail("`deploy_everywhere` made no StackSet.", hint=EVERYWHERE_HINT)
    results: dict[tuple[str, str], tuple[str, str]] = {}
    for name in sets:
        for op in cfn.list_stack_set_operations(StackSetName=name)["Summaries"]:
            found = cfn.list_stack_set_operation_results(
                StackSetName=name, OperationId=op["OperationId"]
            )["Summaries"]
            for r in found:
                results[(r["Account"], r["Region"])] = (r["Status"], r.get("StatusReason", ""))
    asked = set(results)
    wanted = {(a, r) for a in ACCOUNTS for r in REGIONS}
    if asked != wanted:
        missing = sorted(wanted - asked)
        ctx.fail(
            f"The StackSet's operations cover {len(asked & wanted)} of the 6 account-Region "
            f"pairs (missing {', '.join(f'{a}/{r}' for a, r in missing[:3])}"
            + (", ..." if len(missing) > 3 else "")
            + ").",
            hint=EVERYWHERE_HINT,
        )
    first = [results[(a, REGIONS[0])][0] for a in ACCOUNTS]
    if results[FAILING][0] != "FAILED":
        ctx.fail(
            f"The instance in {FAILING[0]}/{FAILING[1]}, where a table `{FLEET_TABLE}` already "
            f"exists, ended {results[FAILING][0]}.",
            hint=EVERYWHERE_HINT,
        )
    attempted_after = sorted(
        f"{a}/{r}"
        for (a, r), (status, _) in results.items()
        if r != REGIONS[0] and (a, r) != FAILING and status in ("SUCCEEDED", "FAILED")
    )
    if attempted_after:
        neighbour = f"{ACCOUNTS[1]}/{FAILING[1]}"
        later = [t for t in attempted_after if t != neighbour]
        if neighbour in attempted_after and later:
            why, hint = "a failure was tolerated and it went on", TOLERANCE_HINT
        elif later:
            why, hint = "the later Region ran at the same time as the failing one", PARALLEL_HINT
        else:
            why, hint = "the other account of that Region was deployed alongside", SOFT_HINT
        ctx.fail(
            f"After the instance in {FAILING[0]}/{FAILING[1]} failed, the operation still "
            f"deployed {', '.join(attempted_after)}: it did not stop after one failure ({why}).",
            hint=hint + " " + STOP_HINT,
        )
    if first != ["SUCCEEDED", "SUCCEEDED"]:
        ctx.fail(
            f"The instances of the first Region, {REGIONS[0]}, ended {first}: the operation "
            "should have deployed them before reaching the failure.",
            hint="Deploy the Regions in the order given (RegionOrder=regions, or the Regions "
            "list as given) so that the first Region is done first.",
        )


DRIFT_HINT = (
    "detect_stack_drift, then describe_stack_resource_drifts(StackResourceDriftStatusFilters="
    "['MODIFIED']): each drift's ExpectedProperties is what the template says. Put those values "
    "back with the service's own API (set_queue_attributes, update_table). An update_stack with "
    "the same template changes nothing: CloudFormation updates only what the template changes, "
    'and refuses an update that changes nothing ("No updates are to be performed.").'
)
KEEP_HINT = (
    "Bring the resources back, do not replace them: deleting and re-creating the stack (or the "
    "queue) loses the messages the queue holds."
)


def check_drift(ctx: CheckContext) -> None:
    """``bring_back`` makes the stack IN_SYNC again with the template's values, keeping data."""
    repair = ctx.function("bring_back")
    cfn = ctx.client("cloudformation")
    sqs = ctx.client("sqs")
    ddb = ctx.client("dynamodb")
    cfn.create_stack(StackName=RUNTIME_STACK, TemplateBody=RUNTIME_TEMPLATE)
    url = sqs.get_queue_url(QueueName="order-queue")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    for number in range(MESSAGES):
        sqs.send_message(QueueUrl=url, MessageBody=f'{{"order_id": "o-{number}"}}')
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": DRIFTED_VISIBILITY})
    ddb.update_table(
        TableName="orders",
        ProvisionedThroughput={
            "ReadCapacityUnits": DRIFTED_CAPACITY,
            "WriteCapacityUnits": DRIFTED_CAPACITY,
        },
    )
    # An update with the stack's own template is refused (ValidationError "No updates are to
    # be performed."): the drift hint says why that cannot bring anything back.
    ctx.call(repair, cfn, RUNTIME_STACK, hints={ClientError: DRIFT_HINT})
    stacks = [s["StackName"] for s in cfn.describe_stacks()["Stacks"]]
    if RUNTIME_STACK not in stacks:
        ctx.fail(f"The stack `{RUNTIME_STACK}` is gone.", hint=KEEP_HINT)
    drift_id = cfn.detect_stack_drift(StackName=RUNTIME_STACK)["StackDriftDetectionId"]
    status = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=drift_id)
    drifts = cfn.describe_stack_resource_drifts(
        StackName=RUNTIME_STACK, StackResourceDriftStatusFilters=["MODIFIED", "DELETED"]
    )["StackResourceDrifts"]
    if status.get("StackDriftStatus") != "IN_SYNC" or drifts:
        what = "; ".join(
            f"{d['LogicalResourceId']}: "
            + ", ".join(
                f"{p['PropertyPath']} is {p['ActualValue']}, the template says {p['ExpectedValue']}"
                for p in d.get("PropertyDifferences", [])
            )
            for d in drifts
        )
        # The check only created the stack: an UPDATE event is the learner's.
        events = cfn.describe_stack_events(StackName=RUNTIME_STACK)["StackEvents"]
        updated = any(str(e.get("ResourceStatus", "")).startswith("UPDATE") for e in events)
        note = (
            " Your function updated the stack, which left the drifted resources as they were."
            if updated
            else ""
        )
        ctx.fail(
            f"After `bring_back`, the stack is {status.get('StackDriftStatus')}: {what}.{note}",
            hint=DRIFT_HINT,
        )
    now = sqs.get_queue_url(QueueName="order-queue")["QueueUrl"]
    now_arn = sqs.get_queue_attributes(QueueUrl=now, AttributeNames=["All"])["Attributes"]
    held = int(now_arn.get("ApproximateNumberOfMessages", "0"))
    if now_arn["QueueArn"] != arn or held < MESSAGES:
        ctx.fail(
            f"The stack is IN_SYNC, but the order queue holds {held} of the {MESSAGES} orders "
            "it held before: it was replaced, not brought back.",
            hint=KEEP_HINT,
        )
