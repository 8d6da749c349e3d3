"""CloudFormation refuses IAM resources deployed without the capability that acknowledges them, as
AWS does (moto deploys them without asking)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from labkit.lab import Lab

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def role_template(name: str | None = None) -> str:
    properties: dict[str, object] = {"AssumeRolePolicyDocument": TRUST}
    if name:
        properties["RoleName"] = name
    return json.dumps(
        {"Resources": {"Worker": {"Type": "AWS::IAM::Role", "Properties": properties}}}
    )


def refused(call: object, **kwargs: object) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)  # type: ignore[operator]
    error = caught.value.response["Error"]
    assert error["Code"] == "InsufficientCapabilitiesException"
    return str(error["Message"])


def test_an_iam_role_needs_an_acknowledgement(lab: Lab) -> None:
    cfn = lab.client("cloudformation")
    message = refused(cfn.create_stack, StackName="w", TemplateBody=role_template())
    assert message == "Requires capabilities : [CAPABILITY_IAM]"
    assert not [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == "w"]
    cfn.create_stack(StackName="w", TemplateBody=role_template(), Capabilities=["CAPABILITY_IAM"])
    assert cfn.describe_stacks(StackName="w")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def test_a_named_role_needs_the_named_capability(lab: Lab) -> None:
    cfn = lab.client("cloudformation")
    body = role_template("worker-role")
    message = refused(
        cfn.create_stack, StackName="n", TemplateBody=body, Capabilities=["CAPABILITY_IAM"]
    )
    assert message == "Requires capabilities : [CAPABILITY_NAMED_IAM]"
    cfn.create_stack(StackName="n", TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"])
    assert lab.client("iam").get_role(RoleName="worker-role")["Role"]["RoleName"] == "worker-role"


def test_updates_change_sets_and_stack_sets_ask_too(lab: Lab) -> None:
    cfn = lab.client("cloudformation")
    queue = json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
    cfn.create_stack(StackName="s", TemplateBody=queue)  # no IAM: nothing to acknowledge
    refused(cfn.update_stack, StackName="s", TemplateBody=role_template())
    refused(cfn.create_change_set, StackName="s", ChangeSetName="c", TemplateBody=role_template())
    refused(cfn.create_stack_set, StackSetName="fleet", TemplateBody=role_template())
    cfn.create_stack_set(
        StackSetName="fleet", TemplateBody=role_template(), Capabilities=["CAPABILITY_IAM"]
    )
