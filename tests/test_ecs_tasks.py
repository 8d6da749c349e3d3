"""ECS tasks run the app an image holds: environment, secrets, logs, exit codes, stop reasons,
task role against execution role, all on the lab clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from ecs_support import EXECUTION, fargate_definition, image, network, role

import labkit
from labkit.lab import Lab
from labkit.services.ecr.deploy import ImagePushError, push_image


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    lab.client("ecs").create_cluster(clusterName="jobs")
    yield lab
    lab.stop()


def _run(lab: Lab, task_def: str, count: int = 1) -> list[dict[str, Any]]:
    subnets, sg = network(lab)
    answer = lab.client("ecs").run_task(
        cluster="jobs",
        taskDefinition=task_def,
        launchType="FARGATE",
        count=count,
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}},
    )
    assert answer["failures"] == []
    return list(answer["tasks"])


def _describe(lab: Lab, task_arn: str) -> dict[str, Any]:
    return dict(lab.client("ecs").describe_tasks(cluster="jobs", tasks=[task_arn])["tasks"][0])


def _log(lab: Lab, group: str, task_arn: str) -> list[str]:
    stream = f"app/app/{task_arn.rsplit('/', 1)[-1]}"
    events = lab.client("logs").get_log_events(logGroupName=group, logStreamName=stream)
    return [e["message"] for e in events["events"]]


def report() -> int:
    """A command: prints what it was given and exits 3."""
    import os

    print("greeting", os.environ["GREETING"], "db", os.environ["DB_PASSWORD"])
    print("api key", os.environ["API_KEY"])
    return 3


def test_push_image_is_an_ecr_image(lab: Lab) -> None:
    uri = image(lab, report, repository="jobs", tag="v1")
    ecr = lab.client("ecr")
    described = ecr.describe_images(repositoryName="jobs")["imageDetails"]
    assert [d["imageTags"] for d in described] == [["v1"]]
    assert uri.endswith(".dkr.ecr.us-east-1.amazonaws.com/jobs:v1")
    with pytest.raises(ImagePushError, match="name unknown"):
        push_image(report, repository="missing", tag="v1")


def test_environment_secrets_logs_and_exit_code(lab: Lab) -> None:
    lab.client("logs").create_log_group(logGroupName="/ecs/jobs")
    lab.client("ssm").put_parameter(Name="/jobs/db", Value="s3cret", Type="SecureString")
    secret = lab.client("secretsmanager").create_secret(
        Name="api", SecretString=json.dumps({"key": "k-123"})
    )["ARN"]
    policy = json.loads(json.dumps(EXECUTION))
    policy["Statement"].append(
        {
            "Effect": "Allow",
            "Action": ["ssm:GetParameters", "secretsmanager:GetSecretValue"],
            "Resource": "*",
        }
    )
    task_def = fargate_definition(
        lab,
        image(lab, report, repository="jobs"),
        family="report",
        port=None,
        execution_role=role(lab, "exec", policy),
        environment=[{"name": "GREETING", "value": "hello"}],
        secrets=[
            {"name": "DB_PASSWORD", "valueFrom": "/jobs/db"},
            {"name": "API_KEY", "valueFrom": f"{secret}:key::"},
        ],
        log_group="/ecs/jobs",
    )
    task = _run(lab, task_def)[0]
    described = _describe(lab, task["taskArn"])
    assert described["lastStatus"] == "STOPPED"
    assert described["stoppedReason"] == "Essential container in task exited"
    assert described["stopCode"] == "EssentialContainerExited"
    assert described["containers"][0]["exitCode"] == 3
    assert _log(lab, "/ecs/jobs", task["taskArn"]) == [
        "greeting hello db s3cret",
        "api key k-123",
    ]


def test_a_command_that_raises_exits_1_with_its_traceback_logged(lab: Lab) -> None:
    def broken() -> None:
        raise RuntimeError("no input file")

    lab.client("logs").create_log_group(logGroupName="/ecs/jobs")
    task_def = fargate_definition(
        lab,
        image(lab, broken, repository="jobs"),
        family="broken",
        port=None,
        execution_role=role(lab, "exec", EXECUTION),
        log_group="/ecs/jobs",
    )
    task = _run(lab, task_def)[0]
    assert _describe(lab, task["taskArn"])["containers"][0]["exitCode"] == 1
    lines = _log(lab, "/ecs/jobs", task["taskArn"])
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-1] == "RuntimeError: no input file"


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("no log group", "The specified log group does not exist"),
        ("no ssm permission", "is not authorized to perform: ssm:GetParameters"),
        ("tag never pushed", "CannotPullContainerError"),
        ("no ecr permission", "is not authorized to perform: ecr:GetAuthorizationToken"),
    ],
)
def test_a_task_that_cannot_start_says_why(lab: Lab, case: str, reason: str) -> None:
    lab.client("ssm").put_parameter(Name="/jobs/db", Value="x", Type="String")
    if case != "no log group":
        lab.client("logs").create_log_group(logGroupName="/ecs/jobs")
    uri = image(lab, report, repository="jobs")
    ssm = {"Effect": "Allow", "Action": "ssm:GetParameters", "Resource": "*"}
    policy: dict[str, Any] = {"Version": "2012-10-17", "Statement": [*EXECUTION["Statement"], ssm]}
    if case == "no ssm permission":
        policy = EXECUTION
    if case == "no ecr permission":
        logs_only = {"Effect": "Allow", "Action": "logs:*", "Resource": "*"}
        policy = {"Version": "2012-10-17", "Statement": [logs_only, ssm]}
    args: dict[str, Any] = {
        "family": "job",
        "port": None,
        "execution_role": role(lab, "exec", policy),
        "secrets": [{"name": "DB_PASSWORD", "valueFrom": "/jobs/db"}],
        "log_group": "/ecs/jobs",
    }
    if case == "tag never pushed":
        uri = uri.replace(":v1", ":v2")
    task = _run(lab, fargate_definition(lab, uri, **args))[0]
    described = _describe(lab, task["taskArn"])
    assert described["lastStatus"] == "STOPPED"
    assert described["stopCode"] == "TaskFailedToStart"
    assert reason in described["stoppedReason"]


def test_a_long_running_command_steps_on_the_lab_clock(lab: Lab) -> None:
    def poller() -> Iterator[int]:
        for n in range(3):
            print("poll", n)
            yield 20
        return 0

    lab.client("logs").create_log_group(logGroupName="/ecs/jobs")
    task_def = fargate_definition(
        lab,
        image(lab, poller, repository="jobs"),
        family="poller",
        port=None,
        execution_role=role(lab, "exec", EXECUTION),
        log_group="/ecs/jobs",
    )
    task = _run(lab, task_def)[0]
    assert _describe(lab, task["taskArn"])["lastStatus"] == "RUNNING"
    lab.clock.advance(30)
    assert _log(lab, "/ecs/jobs", task["taskArn"]) == ["poll 0", "poll 1"]
    assert _describe(lab, task["taskArn"])["lastStatus"] == "RUNNING"
    lab.clock.advance(60)
    described = _describe(lab, task["taskArn"])
    assert (described["lastStatus"], described["containers"][0]["exitCode"]) == ("STOPPED", 0)
    events = lab.client("logs").get_log_events(
        logGroupName="/ecs/jobs", logStreamName=f"app/app/{task['taskArn'].rsplit('/', 1)[-1]}"
    )["events"]
    stamps = [e["timestamp"] for e in events]
    assert stamps[1] - stamps[0] == 20_000  # lab time between the steps


def test_stop_task_by_user(lab: Lab) -> None:
    def serve(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"up"]

    task = _run(lab, fargate_definition(lab, image(lab, serve, repository="web"), family="web"))[0]
    assert _describe(lab, task["taskArn"])["lastStatus"] == "RUNNING"
    lab.client("ecs").stop_task(cluster="jobs", task=task["taskArn"])
    described = _describe(lab, task["taskArn"])
    assert (described["lastStatus"], described["stopCode"]) == ("STOPPED", "UserInitiated")
    assert described["stoppedReason"] == "Task stopped by user"
    assert described["containers"][0]["exitCode"] == 143


def test_the_task_role_is_what_the_app_may_do(lab: Lab) -> None:
    s3 = lab.client("s3")
    for bucket in ("reports", "payroll"):
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="a.txt", Body=b"data of " + bucket.encode())
    read_reports = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::reports/*"}
        ],
    }

    def reader() -> int:
        import boto3

        client = boto3.client("s3")
        print(client.get_object(Bucket="reports", Key="a.txt")["Body"].read().decode())
        try:
            client.get_object(Bucket="payroll", Key="a.txt")
        except client.exceptions.ClientError as denied:
            print(denied.response["Error"]["Code"])
            return 0
        print("payroll read")
        return 1

    lab.client("logs").create_log_group(logGroupName="/ecs/jobs")
    task_def = fargate_definition(
        lab,
        image(lab, reader, repository="jobs"),
        family="reader",
        port=None,
        task_role=role(lab, "reader-task", read_reports),
        execution_role=role(lab, "exec", EXECUTION),
        log_group="/ecs/jobs",
    )
    task = _run(lab, task_def)[0]
    assert _log(lab, "/ecs/jobs", task["taskArn"]) == ["data of reports", "AccessDenied"]
    assert _describe(lab, task["taskArn"])["containers"][0]["exitCode"] == 0
    # The notebook's own credentials are back once the app's code has run.
    assert s3.get_object(Bucket="payroll", Key="a.txt")["Body"].read() == b"data of payroll"


def test_a_role_that_does_not_trust_ecs_tasks_is_refused(lab: Lab) -> None:
    lambda_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    task_def = fargate_definition(
        lab,
        image(lab, report, repository="jobs"),
        family="job",
        port=None,
        task_role=role(lab, "lambda-role", trust=lambda_trust),
    )
    subnets, sg = network(lab)
    with pytest.raises(ClientError) as refused:
        lab.client("ecs").run_task(
            cluster="jobs",
            taskDefinition=task_def,
            launchType="FARGATE",
            networkConfiguration={
                "awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}
            },
        )
    assert "ECS was unable to assume the role" in str(refused.value)


def test_the_task_role_decides_sqs_and_dynamodb_calls_too(lab: Lab) -> None:
    sqs = lab.client("sqs")
    orders = sqs.create_queue(QueueName="orders")["QueueUrl"]
    payments = sqs.create_queue(QueueName="payments")["QueueUrl"]
    lab.client("dynamodb").create_table(
        TableName="stock",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "Resource": "arn:aws:sqs:us-east-1:123456789012:orders",
            },
            {
                "Effect": "Allow",
                "Action": "dynamodb:GetItem",
                "Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/stock",
            },
        ],
    }

    def worker() -> int:
        import os

        import boto3

        queue = boto3.client("sqs")
        queue.send_message(QueueUrl=os.environ["ORDERS"], MessageBody="one")
        for call in (
            lambda: queue.send_message(QueueUrl=os.environ["PAYMENTS"], MessageBody="two"),
            lambda: boto3.client("dynamodb").put_item(TableName="stock", Item={"id": {"S": "a"}}),
        ):
            try:
                call()
            except queue.exceptions.ClientError as denied:
                print(denied.response["Error"]["Code"], denied.response["Error"]["Message"])
        boto3.client("dynamodb").get_item(TableName="stock", Key={"id": {"S": "a"}})
        return 0

    lab.client("logs").create_log_group(logGroupName="/ecs/jobs")
    task_def = fargate_definition(
        lab,
        image(lab, worker, repository="jobs"),
        family="worker",
        port=None,
        task_role=role(lab, "worker-task", policy),
        execution_role=role(lab, "exec", EXECUTION),
        environment=[{"name": "ORDERS", "value": orders}, {"name": "PAYMENTS", "value": payments}],
        log_group="/ecs/jobs",
    )
    task = _run(lab, task_def)[0]
    session = (
        f"arn:aws:sts::123456789012:assumed-role/worker-task/{task['taskArn'].rsplit('/', 1)[-1]}"
    )
    assert _log(lab, "/ecs/jobs", task["taskArn"]) == [
        f"AccessDenied User: {session} is not authorized to perform: sqs:SendMessage on "
        "resource: arn:aws:sqs:us-east-1:123456789012:payments because no identity-based "
        "policy allows the sqs:SendMessage action",
        f"AccessDeniedException User: {session} is not authorized to perform: "
        "dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/stock "
        "because no identity-based policy allows the dynamodb:PutItem action",
    ]
    assert _describe(lab, task["taskArn"])["containers"][0]["exitCode"] == 0
    received = sqs.receive_message(QueueUrl=orders)["Messages"]
    assert [m["Body"] for m in received] == ["one"]
    assert "Messages" not in sqs.receive_message(QueueUrl=payments)


def test_an_image_deleted_from_ecr_can_no_longer_be_pulled(lab: Lab) -> None:
    uri = image(lab, report, repository="jobs", tag="v1")
    push_image(report, repository="jobs", tag="stable")  # the same image under a second tag
    ecr = lab.client("ecr")
    tags = ecr.describe_images(repositoryName="jobs")["imageDetails"][0]["imageTags"]
    assert sorted(tags) == ["stable", "v1"]
    ecr.batch_delete_image(repositoryName="jobs", imageIds=[{"imageTag": "v1"}])
    ecr.batch_delete_image(repositoryName="jobs", imageIds=[{"imageTag": "stable"}])
    task = _run(lab, fargate_definition(lab, uri, family="job", port=None))[0]
    described = _describe(lab, task["taskArn"])
    assert described["stoppedReason"].startswith("CannotPullContainerError")
    assert described["stoppedReason"].endswith(f"{uri}: not found")
