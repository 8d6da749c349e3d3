"""AWS managed policies exist in the sandbox, as in every AWS account, built when first asked for.

AWS's own Lambda getting-started code attaches
``arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole`` to the function's role;
stock moto answered ``NoSuchEntity``.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

import labkit
from labkit.lab import Lab
from labkit.services.iam.patch import catalogue, entry

BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


def _iam_backend(lab: Lab) -> Any:
    return lab.sandbox.backend("iam", region="global")


def _role(iam: Any, name: str = "fn-role") -> str:
    return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"])


def test_starting_a_lab_does_not_load_iam(lab: Lab) -> None:
    assert "iam" not in lab.sandbox.patches


def test_get_policy_of_an_aws_managed_policy(lab: Lab) -> None:
    policy = lab.client("iam").get_policy(PolicyArn=BASIC)["Policy"]
    assert policy["PolicyName"] == "AWSLambdaBasicExecutionRole"
    assert policy["Arn"] == BASIC
    assert policy["Path"] == "/service-role/"
    version = lab.client("iam").get_policy_version(
        PolicyArn=BASIC, VersionId=policy["DefaultVersionId"]
    )["PolicyVersion"]
    document = version["Document"]
    document = json.loads(document) if isinstance(document, str) else document
    actions = {a for s in document["Statement"] for a in s["Action"]}
    assert {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"} <= actions


def test_lambdas_getting_started_code_attaches_the_basic_execution_role(lab: Lab) -> None:
    iam = boto3.client("iam")  # AWS's example uses a plain client
    _role(iam)
    iam.attach_role_policy(RoleName="fn-role", PolicyArn=BASIC)
    attached = iam.list_attached_role_policies(RoleName="fn-role")["AttachedPolicies"]
    assert attached == [{"PolicyName": "AWSLambdaBasicExecutionRole", "PolicyArn": BASIC}]
    assert iam.get_policy(PolicyArn=BASIC)["Policy"]["AttachmentCount"] == 1
    iam.detach_role_policy(RoleName="fn-role", PolicyArn=BASIC)
    assert iam.list_attached_role_policies(RoleName="fn-role")["AttachedPolicies"] == []
    assert iam.get_policy(PolicyArn=BASIC)["Policy"]["AttachmentCount"] == 0


def test_users_and_groups_can_attach_them_too(lab: Lab) -> None:
    iam = lab.client("iam")
    iam.create_user(UserName="ana")
    iam.create_group(GroupName="readers")
    readonly = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    iam.attach_user_policy(UserName="ana", PolicyArn=readonly)
    iam.attach_group_policy(GroupName="readers", PolicyArn=readonly)
    assert iam.get_policy(PolicyArn=readonly)["Policy"]["AttachmentCount"] == 2


def test_a_policy_aws_does_not_have_is_still_no_such_entity(lab: Lab) -> None:
    iam = lab.client("iam")
    _role(iam)
    missing = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRol"
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_policy(PolicyArn=missing)
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.attach_role_policy(RoleName="fn-role", PolicyArn=missing)
    # the right name under the wrong path is another ARN
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/AWSLambdaBasicExecutionRole")


def test_list_policies_scope_aws_lists_every_one_and_local_only_the_accounts(lab: Lab) -> None:
    iam = lab.client("iam")
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    mine = iam.create_policy(PolicyName="mine", PolicyDocument=json.dumps(document))
    pages = iam.get_paginator("list_policies").paginate(Scope="AWS")
    aws = [p["Arn"] for page in pages for p in page["Policies"]]
    assert BASIC in aws
    assert len(aws) == len(set(aws)) == len(catalogue())
    assert mine["Policy"]["Arn"] not in aws
    local = [p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"]]
    assert local == [mine["Policy"]["Arn"]]


def test_a_lookup_builds_one_policy_not_the_whole_catalogue(lab: Lab) -> None:
    lab.client("iam").get_policy(PolicyArn=BASIC)
    built = _iam_backend(lab).aws_managed_policies
    assert [p.arn for p in built] == [BASIC]


def test_the_policies_survive_a_reset_and_attachments_do_not(lab: Lab) -> None:
    iam = lab.client("iam")
    _role(iam)
    iam.attach_role_policy(RoleName="fn-role", PolicyArn=BASIC)
    lab.reset()
    assert iam.get_policy(PolicyArn=BASIC)["Policy"]["AttachmentCount"] == 0


def test_an_isolated_world_has_them(lab: Lab) -> None:
    with lab.sandbox.isolated() as world:
        iam = world.client("iam")
        _role(iam)
        iam.attach_role_policy(RoleName="fn-role", PolicyArn=BASIC)
    assert lab.client("iam").get_policy(PolicyArn=BASIC)["Policy"]["AttachmentCount"] == 0


def test_iam_reached_first_through_lambda_still_has_them() -> None:
    lab = labkit.start(quiet=True)
    try:
        lab.client("lambda").list_functions()  # Lambda's models reach IAM's backend directly
        assert "iam" in lab.sandbox.patches
        iam = lab.client("iam")
        _role(iam)
        iam.attach_role_policy(RoleName="fn-role", PolicyArn=BASIC)
    finally:
        lab.stop()


def test_one_entry_is_read_alone_and_agrees_with_the_full_catalogue() -> None:
    key = "policy/service-role/AWSLambdaBasicExecutionRole"
    assert entry(key) == catalogue()[key]
    assert entry("policy/NoSuchPolicyAnywhere") is None
