"""labkit grade on the containers lab: sample submissions, and the sandbox under the checks.

Each sample in tests/submissions/containers/ is a jupytext percent file of a notebook a learner
might hand in, graded in a fresh kernel as `labkit grade` does: the two correct ones are written
unlike the solution (three or four tasks, sizes in words, a health path set later, a listener on
8080; exact-capacity or percentage steps; a managed policy on one object, roles by name, an
execution role with exactly ECS's actions; an access point or a root directory; App Runner on its
default port or with its own scaling; the job by family or with 3 GB), and each of the other four
makes one plausible mistake per task, which must fail with its hint.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from grading_support import grade_samples, said, statuses

import labkit
from labkit.grading.notebook import Submission
from labkit.lab import Lab
from labkit.labs import containers_apps as apps
from labkit.labs.containers_support import execution_role, make_network, push

SAMPLES = Path(__file__).resolve().parent / "submissions" / "containers"
CHECKS = ("web_service", "queue_workers", "task_role", "shared_files", "app_runner", "long_job")


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Submission]:
    return grade_samples(SAMPLES, tmp_path_factory)


# -- the sample notebooks -----------------------------------------------------------------------
@pytest.mark.parametrize("sample", ["passing_resources", "passing_percent"])
def test_correct_alternatives_pass_every_check(graded: dict[str, Submission], sample: str) -> None:
    sub = graded[sample]
    assert sub.error is None and not sub.notes
    assert statuses(sub) == dict.fromkeys(CHECKS, "passed"), [said(sub, name) for name in CHECKS]
    assert sub.score == sub.max_score == 10


def test_one_task_cpu_scaling_s3_star_one_volume_port_80_lambda(
    graded: dict[str, Submission],
) -> None:
    sub = graded["one_task"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed")
    assert "the service had 1 running task when it crashed" in said(sub, "web_service")
    assert "desiredCount=2" in said(sub, "web_service")
    assert "scaling policies: TargetTrackingScaling" in said(sub, "queue_workers")
    assert "CPU says nothing about the backlog" in said(sub, "queue_workers")
    assert "put shop-reports succeeded" in said(sub, "task_role")
    assert "no s3:*" in said(sub, "task_role")
    assert "this container's mounts: none" in said(sub, "shared_files")
    assert "a volume on one service only" in said(sub, "shared_files")
    assert "port 80, but the app listens on 8080" in said(sub, "app_runner")
    assert "is a Lambda function" in said(sub, "long_job")
    assert "900 s at most), and the job needs 1200 s" in said(sub, "long_job")


def test_health_path_max_one_any_bucket_s3_volume_paused_oversized(
    graded: dict[str, Submission],
) -> None:
    sub = graded["health_path"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed")
    assert "health check (GET /healthz) fails" in said(sub, "web_service")
    assert "stopped by ECS for failing ELB health checks" in said(sub, "web_service")
    assert "HealthCheckPath='/health'" in said(sub, "web_service")
    assert "MaxCapacity is 1" in said(sub, "queue_workers")
    assert "get payroll-exports succeeded" in said(sub, "task_role")
    assert "s3VolumeConfiguration" in said(sub, "shared_files")
    assert "S3 is an API" in said(sub, "shared_files")
    assert "is PAUSED, not RUNNING" in said(sub, "app_runner")
    assert "over the $20 budget" in said(sub, "long_job")
    assert "4 vCPU and 8 GB" in said(sub, "long_job")


def test_unattached_no_scale_in_execution_role_only_bind_mount_public_image_small_task(
    graded: dict[str, Submission],
) -> None:
    sub = graded["unattached"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed")
    assert "is not attached to a target group" in said(sub, "web_service")
    assert "loadBalancers=" in said(sub, "web_service")
    assert "still runs 5 tasks" in said(sub, "queue_workers")
    assert "negative ScalingAdjustment" in said(sub, "queue_workers")
    assert "Without a task role" in said(sub, "task_role")
    assert "NoCredentialsError" in said(sub, "task_role")
    assert "the reader never found it" in said(sub, "shared_files")
    assert "same fileSystemId" in said(sub, "shared_files")
    assert "ImageRepositoryType 'ECR'" in said(sub, "app_runner")
    assert "The task has 512 MiB; the job needs 2048 MiB" in said(sub, "long_job")


def test_ec2_launch_queue_url_objects_only_other_path_port_8000_no_execution_role(
    graded: dict[str, Submission],
) -> None:
    sub = graded["ec2_launch"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed")
    assert "No Container Instances" in said(sub, "web_service")
    assert "launchType='FARGATE'" in said(sub, "web_service")
    assert "no alarm on that queue's backlog ran a scaling policy" in said(sub, "queue_workers")
    assert "by its name, not its URL" in said(sub, "queue_workers")
    assert "list shop-reports: AccessDenied" in said(sub, "task_role")
    assert "listing is an action on the bucket" in said(sub, "task_role")
    assert "this container's mounts: /mnt/notes" in said(sub, "shared_files")
    assert "port 8000" in said(sub, "app_runner")
    assert "execution role ARN" in said(sub, "long_job")
    assert "executionRoleArn" in said(sub, "long_job")


# -- the sandbox under the checks: an app with no task role on Fargate ----------------------------
@pytest.fixture
def lab() -> Iterator[Lab]:
    apps.reset()
    lab = labkit.start("containers", quiet=True)
    yield lab
    lab.stop()


def test_an_app_without_a_task_role_has_no_credentials_on_fargate(lab: Lab) -> None:
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="shop-reports")
    network = make_network(lab)
    ecs = lab.client("ecs")
    ecs.create_cluster(clusterName="reports")
    definition = ecs.register_task_definition(
        family="reader",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        executionRoleArn=execution_role(lab),
        containerDefinitions=[
            {
                "name": "reader",
                "image": push(lab, apps.report_reader, "reader"),
                "environment": [
                    {"name": "REPORTS_BUCKET", "value": "shop-reports"},
                    {"name": "OTHER_BUCKET", "value": "shop-reports"},
                ],
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.run_task(
        cluster="reports",
        taskDefinition=definition,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": network["subnets"],
                "securityGroups": [network["security_group"]],
            }
        },
    )
    outcomes = {what.split(": ")[1] for _task, what in apps.SEEN["report_reader"]}
    assert outcomes == {"NoCredentialsError"}  # not the notebook's own identity
    assert s3.list_objects_v2(Bucket="shop-reports").get("KeyCount") == 0  # nothing written
