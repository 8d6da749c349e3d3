"""The stack view: a resource tree with status and drift, the events, and the StackSet grid."""

from __future__ import annotations

import pytest

from labkit.lab import Lab
from labkit.services.cloudformation.state import StackNotFoundError
from labkit.services.cloudformation.view import status_mark

PIPELINE = """
Resources:
  Topic: {Type: AWS::SNS::Topic, Properties: {TopicName: orders}}
  Queue: {Type: AWS::SQS::Queue, Properties: {QueueName: billing, VisibilityTimeout: 30}}
  Sub:
    Type: AWS::SNS::Subscription
    Properties: {TopicArn: !Ref Topic, Protocol: sqs, Endpoint: !GetAtt Queue.Arn}
"""


def test_the_tree_shows_status_and_marks_drift_in_words(lab: Lab) -> None:
    cfn = lab.client("cloudformation")
    cfn.create_stack(StackName="pipeline", TemplateBody=PIPELINE)
    sqs = lab.client("sqs")
    url = sqs.get_queue_url(QueueName="billing")["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "99"})
    cfn.detect_stack_drift(StackName="pipeline")
    view = lab.stack_view("pipeline", hold=True)
    text = view.to_text()
    assert "Drift: ✎ DRIFTED (Queue changed outside the stack)" in text
    assert "/VisibilityTimeout: 30 → 99" in text
    assert "└─ Sub" in text  # the subscription hangs from what it refers to
    assert "✓ CREATE_COMPLETE" in text
    html = view.to_html()
    assert "labkit-stack" in html and "✎ MODIFIED" in html and "└─ Sub" in html


def test_a_rolled_back_stack_says_why(lab: Lab) -> None:
    lab.client("sqs").create_queue(QueueName="billing", Attributes={"VisibilityTimeout": "5"})
    cfn = lab.client("cloudformation")
    cfn.create_stack(StackName="pipeline", TemplateBody=PIPELINE)
    text = lab.stack_view("pipeline", hold=True).to_text()
    assert "Status: ↺ ROLLBACK_COMPLETE" in text
    assert "✗ CREATE_FAILED" in text and "↺ DELETE_COMPLETE" in text


def test_a_stackset_is_a_grid_of_accounts_by_regions(lab: Lab) -> None:
    cfn = lab.client("cloudformation")
    cfn.create_stack_set(
        StackSetName="orders", TemplateBody="Resources:\n  Q: {Type: AWS::SQS::Queue}\n"
    )
    cfn.create_stack_instances(
        StackSetName="orders",
        Accounts=["111111111111", "222222222222"],
        Regions=["us-east-1", "eu-west-1"],
        OperationPreferences={"MaxConcurrentCount": 2, "FailureToleranceCount": 1},
    )
    lab.clock.advance(61)
    text = lab.stack_view("orders", hold=True).to_text()
    assert "us-east-1" in text.splitlines()[2] and "eu-west-1" in text.splitlines()[2]
    assert text.count("✓ SUCCEEDED") == 2
    assert text.count("… RUNNING (OUTDATED)") == 2
    assert "2 of 4 done, 2 running" in text
    assert "labkit-stackset" in lab.stack_view("orders", hold=True).to_html()


def test_an_unknown_name_says_what_exists(lab: Lab) -> None:
    lab.client("cloudformation").create_stack(StackName="pipeline", TemplateBody=PIPELINE)
    with pytest.raises(StackNotFoundError, match="none"):
        lab.stack_view("nope")


@pytest.mark.parametrize(
    ("status", "mark"),
    [
        ("CREATE_FAILED", "✗"),
        ("ROLLBACK_COMPLETE", "↺"),
        ("UPDATE_IN_PROGRESS", "…"),
        ("CREATE_COMPLETE", "✓"),
        ("PENDING", "○"),
        ("CANCELLED", "–"),
    ],
)
def test_every_status_has_a_symbol_and_its_words(status: str, mark: str) -> None:
    assert status_mark(status) == f"{mark} {status}"
