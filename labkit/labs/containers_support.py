"""What the containers lab's checks share: a network to deploy into, images pushed from the
lab's apps, and reading back what the learner's calls created (any names they chose).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from labkit.grading.checks import CheckContext
from labkit.services.ecr.deploy import push_image

#: The trust policy of a role ECS tasks may assume (the checks' own roles).
ECS_TASKS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
#: AWS's managed policy for task execution roles: pull from ECR, write logs.
EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


def make_network(aws: Any) -> dict[str, Any]:
    """A VPC with two subnets in two Availability Zones and a security group, as the lab's
    ``network`` dict: ``vpc_id``, ``subnets``, ``security_group``."""
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"us-east-1{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    group = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)
    return {"vpc_id": vpc, "subnets": subnets, "security_group": group["GroupId"]}


def push(aws: Any, app: Callable[..., Any], repository: str, tag: str = "v1") -> str:
    """Push ``app`` to the ECR repository ``repository`` (made if missing); the image URI."""
    ecr = aws.client("ecr")
    with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
        ecr.create_repository(repositoryName=repository)
    return push_image(app, repository=repository, tag=tag).uri


def execution_role(aws: Any, name: str = "lab-task-execution") -> str:
    """A task execution role with AWS's managed execution policy (made on the first call); its
    ARN."""
    iam = aws.client("iam")
    with contextlib.suppress(iam.exceptions.NoSuchEntityException):
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(ECS_TASKS_TRUST))[
        "Role"
    ]["Arn"]
    iam.attach_role_policy(RoleName=name, PolicyArn=EXECUTION_POLICY)
    return str(arn)


def services(ctx: CheckContext) -> list[dict[str, Any]]:
    """Every ECS service in every cluster of the check's world."""
    ecs = ctx.client("ecs")
    found: list[dict[str, Any]] = []
    for cluster in ecs.list_clusters()["clusterArns"]:
        arns = ecs.list_services(cluster=cluster)["serviceArns"]
        if arns:
            found += ecs.describe_services(cluster=cluster, services=arns)["services"]
    return found


def tasks(ctx: CheckContext, cluster: str, status: str = "RUNNING", **filters: Any) -> list[Any]:
    """The tasks of ``cluster`` with ``status`` (``RUNNING`` or ``STOPPED``)."""
    ecs = ctx.client("ecs")
    arns = ecs.list_tasks(cluster=cluster, desiredStatus=status, **filters)["taskArns"]
    return list(ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"]) if arns else []


def role_arn(ctx: CheckContext, value: object) -> str:
    """A role's ARN from its name or ARN (as ECS accepts both)."""
    text = str(value)
    if text.startswith("arn:"):
        return text
    return str(ctx.client("iam").get_role(RoleName=text)["Role"]["Arn"])


def task_definition(ctx: CheckContext, value: object) -> dict[str, Any]:
    """A task definition from its ARN, ``family:revision`` or family (the latest ACTIVE)."""
    found = ctx.client("ecs").describe_task_definition(taskDefinition=str(value))
    return dict(found["taskDefinition"])
