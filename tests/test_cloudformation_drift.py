"""Drift detection and deletion policies of CloudFormation stacks in the sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from labkit.lab import Lab
from labkit.services.cloudformation.patch_drift import compare

STACK = """
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties: {QueueName: orders, VisibilityTimeout: 30}
  Topic:
    Type: AWS::SNS::Topic
    Properties: {DisplayName: Orders}
  Table:
    Type: AWS::DynamoDB::Table
    DeletionPolicy: Retain
    Properties:
      TableName: orders
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      ProvisionedThroughput: {ReadCapacityUnits: 1, WriteCapacityUnits: 1}
  Bucket:
    Type: AWS::S3::Bucket
"""


def deploy(lab: Lab) -> Any:
    cfn = lab.client("cloudformation")
    cfn.create_stack(StackName="shop", TemplateBody=STACK)
    return cfn


def detect(cfn: Any) -> tuple[str, dict[str, dict[str, Any]]]:
    detection = cfn.detect_stack_drift(StackName="shop")["StackDriftDetectionId"]
    status = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
    assert status["DetectionStatus"] == "DETECTION_COMPLETE"
    drifts = cfn.describe_stack_resource_drifts(StackName="shop")["StackResourceDrifts"]
    return status["StackDriftStatus"], {d["LogicalResourceId"]: d for d in drifts}


def queue_url(lab: Lab) -> str:
    return str(lab.client("sqs").get_queue_url(QueueName="orders")["QueueUrl"])


def test_a_fresh_stack_is_in_sync(lab: Lab) -> None:
    cfn = deploy(lab)
    status, drifts = detect(cfn)
    assert status == "IN_SYNC"
    assert {k: d["StackResourceDriftStatus"] for k, d in drifts.items()} == {
        "Queue": "IN_SYNC",
        "Topic": "IN_SYNC",
        "Table": "IN_SYNC",
        "Bucket": "IN_SYNC",
    }
    info = cfn.describe_stacks(StackName="shop")["Stacks"][0]["DriftInformation"]
    assert info["StackDriftStatus"] == "IN_SYNC"


def test_a_change_by_hand_is_found_and_bringing_it_back_clears_it(lab: Lab) -> None:
    cfn = deploy(lab)
    sqs = lab.client("sqs")
    sqs.set_queue_attributes(QueueUrl=queue_url(lab), Attributes={"VisibilityTimeout": "90"})
    lab.client("dynamodb").update_table(
        TableName="orders",
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 1},
    )
    status, drifts = detect(cfn)
    assert status == "DRIFTED"
    assert drifts["Queue"]["StackResourceDriftStatus"] == "MODIFIED"
    assert drifts["Queue"]["PropertyDifferences"] == [
        {
            "PropertyPath": "/VisibilityTimeout",
            "ExpectedValue": "30",
            "ActualValue": "90",
            "DifferenceType": "NOT_EQUAL",
        }
    ]
    (table,) = drifts["Table"]["PropertyDifferences"]
    assert table["PropertyPath"] == "/ProvisionedThroughput/ReadCapacityUnits"
    assert drifts["Topic"]["StackResourceDriftStatus"] == "IN_SYNC"
    only = cfn.describe_stack_resource_drifts(
        StackName="shop", StackResourceDriftStatusFilters=["MODIFIED"]
    )["StackResourceDrifts"]
    assert {d["LogicalResourceId"] for d in only} == {"Queue", "Table"}

    sqs.set_queue_attributes(QueueUrl=queue_url(lab), Attributes={"VisibilityTimeout": "30"})
    _, drifts = detect(cfn)
    assert drifts["Queue"]["StackResourceDriftStatus"] == "IN_SYNC"
    assert drifts["Table"]["StackResourceDriftStatus"] == "MODIFIED"


def test_a_resource_deleted_by_hand_is_deleted(lab: Lab) -> None:
    cfn = deploy(lab)
    lab.client("sqs").delete_queue(QueueUrl=queue_url(lab))
    status, drifts = detect(cfn)
    assert status == "DRIFTED"
    assert drifts["Queue"]["StackResourceDriftStatus"] == "DELETED"


def test_one_resource_can_be_checked_alone(lab: Lab) -> None:
    cfn = deploy(lab)
    lab.client("sns").set_topic_attributes(
        TopicArn=lab.client("sns").list_topics()["Topics"][0]["TopicArn"],
        AttributeName="DisplayName",
        AttributeValue="Shop",
    )
    drift = cfn.detect_stack_resource_drift(StackName="shop", LogicalResourceId="Topic")
    assert drift["StackResourceDrift"]["StackResourceDriftStatus"] == "MODIFIED"


def test_deletion_policy_retain_keeps_the_table(lab: Lab) -> None:
    cfn = deploy(lab)
    cfn.delete_stack(StackName="shop")
    assert lab.client("dynamodb").list_tables()["TableNames"] == ["orders"]
    assert lab.client("sqs").list_queues().get("QueueUrls", []) == []


def test_numbers_and_booleans_compare_by_value() -> None:
    assert compare({"A": 30, "B": "true"}, {"A": "30", "B": True}) == []
    assert [d.kind for d in compare({"A": {"B": 1}}, {"A": {}})] == ["REMOVE"]


KEPT = """
Resources:
  Kept:
    Type: AWS::SQS::Queue
    DeletionPolicy: {policy}
    Properties: {{QueueName: kept}}
  Taken:
    Type: AWS::SNS::Topic
    DependsOn: Kept
    Properties: {{TopicName: {topic}}}
"""


def queue_names(lab: Lab) -> list[str]:
    urls = lab.client("sqs").list_queues().get("QueueUrls", [])
    return [u.rsplit("/", 1)[-1] for u in urls]


@pytest.mark.parametrize("policy", ["Retain", "RetainExceptOnCreate"])
def test_kept_resources_are_skipped_on_delete(lab: Lab, policy: str) -> None:
    cfn = lab.client("cloudformation")
    cfn.create_stack(StackName="k", TemplateBody=KEPT.format(policy=policy, topic="t"))
    stack_id = cfn.describe_stacks(StackName="k")["Stacks"][0]["StackId"]
    cfn.delete_stack(StackName="k")
    assert queue_names(lab) == ["kept"]
    assert lab.client("sns").list_topics()["Topics"] == []
    events = cfn.describe_stack_events(StackName=stack_id)["StackEvents"]
    assert ("Kept", "DELETE_SKIPPED") in [
        (e["LogicalResourceId"], e["ResourceStatus"]) for e in events
    ]


@pytest.mark.parametrize(("policy", "left"), [("Retain", ["kept"]), ("RetainExceptOnCreate", [])])
def test_a_rollback_keeps_retain_but_not_retain_except_on_create(
    lab: Lab, policy: str, left: list[str]
) -> None:
    cfn = lab.client("cloudformation")
    # An SNS topic name with a space is refused: the stack fails after the queue was made.
    cfn.create_stack(StackName="k", TemplateBody=KEPT.format(policy=policy, topic="'bad name'"))
    assert cfn.describe_stacks(StackName="k")["Stacks"][0]["StackStatus"] == "ROLLBACK_COMPLETE"
    assert queue_names(lab) == left


DATABASE = """
Resources:
  Db:
    Type: AWS::RDS::DBInstance
    {policy}
    Properties:
      DBInstanceIdentifier: orders-db
      Engine: mysql
      DBInstanceClass: db.t3.micro
      AllocatedStorage: '20'
      MasterUsername: admin1
      MasterUserPassword: secret-password-1
"""


@pytest.mark.parametrize(
    ("policy", "snapshots"),
    [("DeletionPolicy: Snapshot", 1), ("", 1), ("DeletionPolicy: Delete", 0)],
)
def test_snapshot_takes_a_final_snapshot_and_is_rds_default(
    lab: Lab, policy: str, snapshots: int
) -> None:
    cfn = lab.client("cloudformation")
    cfn.create_stack(StackName="db", TemplateBody=DATABASE.format(policy=policy))
    cfn.delete_stack(StackName="db")
    rds = lab.client("rds")
    assert rds.describe_db_instances()["DBInstances"] == []
    found = rds.describe_db_snapshots()["DBSnapshots"]
    assert len(found) == snapshots
    if snapshots:
        assert found[0]["DBInstanceIdentifier"] == "orders-db"
