"""Helpers for the ECS tests: a cluster, roles, an image pushed from an app, a Fargate web
service behind a load balancer."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from elbv2_support import listener, load_balancer

from labkit.services.ecr.deploy import push_image

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
EXECUTION = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "ecr:GetAuthorizationToken",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            "Resource": "*",
        }
    ],
}


def role(lab: Any, name: str, policy: dict[str, Any] | None = None, trust: Any = None) -> str:
    """A role ECS tasks may assume, with ``policy`` inline; its ARN."""
    iam = lab.client("iam")
    arn = str(
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust or TRUST))["Role"][
            "Arn"
        ]
    )
    if policy is not None:
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    return arn


def image(lab: Any, app: Callable[..., Any], repository: str = "web", tag: str = "v1") -> str:
    """Push ``app`` to a new (or existing) repository; the image URI."""
    ecr = lab.client("ecr")
    with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
        ecr.create_repository(repositoryName=repository)
    return push_image(app, repository=repository, tag=tag).uri


def network(lab: Any) -> tuple[list[str], str]:
    """Two subnets and a security group of a new VPC."""
    ec2 = lab.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{i}.0/24", AvailabilityZone=f"us-east-1{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    sg = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
    return subnets, sg


def fargate_definition(
    lab: Any,
    uri: str,
    *,
    family: str = "web",
    port: int | None = 8080,
    cpu: str = "256",
    memory: str = "512",
    task_role: str | None = None,
    execution_role: str | None = "",
    environment: list[dict[str, str]] | None = None,
    secrets: list[dict[str, str]] | None = None,
    log_group: str | None = None,
) -> str:
    """A Fargate task definition of one container running ``uri``; its ARN (with an execution
    role that may pull and log unless ``execution_role`` names one, or is ``None``: none)."""
    container: dict[str, Any] = {"name": "app", "image": uri, "essential": True}
    if port is not None:
        container["portMappings"] = [{"containerPort": port, "protocol": "tcp"}]
    if environment:
        container["environment"] = environment
    if secrets:
        container["secrets"] = secrets
    if log_group:
        container["logConfiguration"] = {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group,
                "awslogs-region": "us-east-1",
                "awslogs-stream-prefix": "app",
            },
        }
    args: dict[str, Any] = {
        "family": family,
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": cpu,
        "memory": memory,
        "containerDefinitions": [container],
    }
    if task_role:
        args["taskRoleArn"] = task_role
    if execution_role == "":  # by default, a role that may pull images and write logs
        execution_role = role(lab, f"{family}-exec", EXECUTION)
    if execution_role:
        args["executionRoleArn"] = execution_role
    ecs = lab.client("ecs")
    return str(ecs.register_task_definition(**args)["taskDefinition"]["taskDefinitionArn"])


def web_service(
    lab: Any, app: Callable[..., Any], *, count: int = 2, name: str = "web"
) -> tuple[str, str, str]:
    """A Fargate service of ``count`` tasks running ``app`` behind a new load balancer;
    ``(load balancer URL, target group ARN, cluster name)``."""
    lb = load_balancer(lab, name=f"{name}-lb")
    subnets, sg = network(lab)
    elb = lab.client("elbv2")
    vpc = lab.client("ec2").describe_subnets(SubnetIds=subnets)["Subnets"][0]["VpcId"]
    tg = elb.create_target_group(
        Name=f"tg-{name}",
        Protocol="HTTP",
        Port=8080,
        VpcId=vpc,
        TargetType="ip",
        HealthCheckPath="/health",
    )["TargetGroups"][0]["TargetGroupArn"]
    listener(lab, lb, [{"Type": "forward", "TargetGroupArn": tg}])
    ecs = lab.client("ecs")
    ecs.create_cluster(clusterName="apps")
    task_def = fargate_definition(lab, image(lab, app, repository=name), family=name)
    ecs.create_service(
        cluster="apps",
        serviceName=name,
        taskDefinition=task_def,
        desiredCount=count,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}},
        loadBalancers=[{"targetGroupArn": tg, "containerName": "app", "containerPort": 8080}],
    )
    return f"http://{lb['DNSName']}/", str(tg), "apps"
