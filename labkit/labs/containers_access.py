"""The containers lab's ``task_role`` and ``shared_files`` checks.

``task_role``: the learner's ``reader_roles(aws, bucket)`` returns the names or ARNs of a task
role and a task execution role for the report reader
(:func:`~labkit.labs.containers_apps.report_reader`). The check runs the reader on Fargate with
those roles: the app's own calls must list and read ``bucket``; as outsiders, the same app must
fail to read another bucket and to write to ``bucket``; the execution role must pull the image
and write the logs, and must not do the app's work (the reader run with it as its task role
reads nothing).

``shared_files``: the learner's ``share_notes(aws, cluster, file_system_id, writer_image,
reader_image, network)`` runs two services, the note writer and the note reader, that share the
EFS file system mounted at ``/mnt/shared``. After three minutes of lab time the reader must have
read the writer's note.
"""

from __future__ import annotations

from typing import Any

import botocore.exceptions

from labkit.grading.checks import CheckContext, short
from labkit.labs import containers_apps as apps
from labkit.labs.containers_support import (
    execution_role,
    make_network,
    push,
    role_arn,
    services,
)

REPORTS = "shop-reports"
OTHER = "payroll-exports"
LOG_GROUP = "/ecs/reports"


def check_task_role(ctx: CheckContext) -> None:
    """The report reader reads its bucket and nothing else, by its task role only."""
    aws = ctx.sandbox
    apps.reset()
    s3 = ctx.client("s3")
    for bucket in (REPORTS, OTHER):
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="latest.csv", Body=b"day,total\n1,100\n")
    ctx.client("logs").create_log_group(logGroupName=LOG_GROUP)
    network = make_network(aws)
    image = push(aws, apps.report_reader, "report-reader")
    ctx.client("ecs").create_cluster(clusterName="reports")
    answer = ctx.call(ctx.function("reader_roles"), aws, REPORTS, returns=(tuple, list))
    ctx.expect(
        len(answer) == 2,
        f"`reader_roles` returned {short(answer)}: a pair (task role, execution role) is expected.",
    )
    task_role = role_arn(ctx, answer[0]) if answer[0] else ""
    exec_role = role_arn(ctx, answer[1]) if answer[1] else ""
    ctx.expect(
        exec_role,
        "There is no execution role: ECS cannot pull the image from ECR or send the logs.",
        hint="A second role that ecs-tasks.amazonaws.com may assume, with the managed policy "
        "AmazonECSTaskExecutionRolePolicy.",
    )
    outcomes = _run_reader(ctx, network, image, task_role, exec_role)
    if not task_role:
        ctx.fail(
            f"Without a task role the app's calls have no permissions: {_said(outcomes)}.",
            hint="The app's own calls (S3 here) use the **task role** (taskRoleArn); the "
            "execution role is for ECS's work: pulling the image, writing logs, reading secrets.",
        )
    wanted = {f"list {REPORTS}": "ok", f"get {REPORTS}": "ok"}
    missing = {k: v for k, v in wanted.items() if outcomes.get(k) != "ok"}
    if missing:
        ctx.fail(
            f"The app could not read its bucket with the task role: {_said(outcomes)}.",
            hint=f"Allow s3:ListBucket on arn:aws:s3:::{REPORTS} (the bucket) and s3:GetObject "
            f"on arn:aws:s3:::{REPORTS}/* (its objects): listing is an action on the bucket.",
        )
    leaks = [k for k in (f"get {OTHER}", f"put {REPORTS}") if outcomes.get(k) == "ok"]
    if leaks:
        ctx.fail(
            f"The task role lets the app do more than read its bucket: {', '.join(leaks)} "
            f"succeeded ({_said(outcomes)}).",
            hint=f"Only s3:ListBucket and s3:GetObject, and only on {REPORTS} and its objects: "
            "no s3:*, no Resource '*'.",
        )
    if exec_role != task_role:
        as_exec = _run_reader(ctx, network, image, exec_role, exec_role)
        if as_exec.get(f"get {REPORTS}") == "ok" or as_exec.get(f"list {REPORTS}") == "ok":
            ctx.fail(
                "The execution role can read the reports bucket too: anything running with it "
                f"could do the app's work ({_said(as_exec)}).",
                hint="Keep S3 permissions off the execution role: it only pulls the image and "
                "writes logs (AmazonECSTaskExecutionRolePolicy).",
            )
    else:
        ctx.fail(
            "The task role and the execution role are the same role: ECS's permissions and "
            "the app's are mixed in one.",
            hint="Two roles: a task role for the app's S3 reads, an execution role for ECR "
            "and logs.",
        )


def _run_reader(
    ctx: CheckContext, network: dict[str, Any], image: str, task_role: str, exec_role: str
) -> dict[str, str]:
    """Run the reader once with the two roles; what its calls answered, by attempt."""
    apps.SEEN.pop("report_reader", None)
    ecs = ctx.client("ecs")
    args: dict[str, Any] = {
        "family": "report-reader",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "executionRoleArn": exec_role,
        "containerDefinitions": [
            {
                "name": "reader",
                "image": image,
                "essential": True,
                "environment": [
                    {"name": "REPORTS_BUCKET", "value": REPORTS},
                    {"name": "OTHER_BUCKET", "value": OTHER},
                ],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": LOG_GROUP,
                        "awslogs-region": "us-east-1",
                        "awslogs-stream-prefix": "reader",
                    },
                },
            }
        ],
    }
    if task_role:
        args["taskRoleArn"] = task_role
    try:
        definition = ecs.register_task_definition(**args)["taskDefinition"]["taskDefinitionArn"]
        answer = ecs.run_task(
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
    except botocore.exceptions.ClientError as refused:
        ctx.fail(
            f"ECS refused the reader's task with your roles: {refused}",
            hint="Both roles must trust ecs-tasks.amazonaws.com (sts:AssumeRole).",
        )
    task = answer["tasks"][0] if answer["tasks"] else None
    if task is not None:
        task = ecs.describe_tasks(cluster="reports", tasks=[task["taskArn"]])["tasks"][0]
    if task is None or not apps.SEEN.get("report_reader"):
        reason = (task or {}).get("stoppedReason") or short(answer.get("failures"))
        ctx.fail(
            f"The reader's task never ran its code: {reason}",
            hint="The execution role pulls the image and writes the logs: give it "
            "AmazonECSTaskExecutionRolePolicy (ecr:GetAuthorizationToken, ecr:BatchGetImage, "
            "ecr:GetDownloadUrlForLayer, logs:CreateLogStream, logs:PutLogEvents).",
        )
    return dict(what.split(": ", 1) for _task, what in apps.SEEN["report_reader"])


def _said(outcomes: dict[str, str]) -> str:
    return "; ".join(f"{k}: {v}" for k, v in outcomes.items())


# -- shared_files -------------------------------------------------------------------------------
#: A bucket is no volume type. (Amazon S3 Files, a file system in front of a bucket, is one:
#: s3filesVolumeConfiguration, https://docs.aws.amazon.com/AmazonECS/latest/developerguide/
#: specify-s3files-config.html; a separate resource the sandbox does not simulate.)
S3_HINT = (
    "S3 is an API (get_object, put_object), not a file system: a task definition cannot "
    "mount a bucket. Mount the EFS file system: a volume with "
    "efsVolumeConfiguration={'fileSystemId': ...} and a mountPoint at "
    f"{apps.SHARED_PATH} in both task definitions."
)


def check_shared_files(ctx: CheckContext) -> None:
    """The note writer's and the note reader's services share one EFS folder."""
    aws = ctx.sandbox
    apps.reset()
    network = make_network(aws)
    efs = ctx.client("efs")
    fs = efs.create_file_system(CreationToken="notes")["FileSystemId"]
    for subnet in network["subnets"]:
        efs.create_mount_target(FileSystemId=fs, SubnetId=subnet)
    ctx.client("ecs").create_cluster(clusterName="notes")
    writer = push(aws, apps.note_writer, "note-writer")
    reader = push(aws, apps.note_reader, "note-reader")
    execution_role(aws)
    ctx.call(
        ctx.function("share_notes"),
        aws,
        "notes",
        fs,
        writer,
        reader,
        network,
        hints={botocore.exceptions.ParamValidationError: S3_HINT},
    )
    found = [s for s in services(ctx) if s["status"] == "ACTIVE"]
    ctx.expect(
        len(found) >= 2,
        f"`share_notes` created {len(found)} ECS service{'s' if len(found) != 1 else ''}: "
        "the writer and the reader each run as a service.",
        hint="ecs.create_service twice (one per task definition), on Fargate in the network's "
        "subnets.",
    )
    for _ in range(3):
        ctx.clock.advance(60)
    wrote = [what for _t, what in apps.SEEN.get("note_writer", [])]
    read = [what for _t, what in apps.SEEN.get("note_reader", [])]
    ctx.expect(
        wrote and read,
        f"In three minutes the writer ran {len(wrote)} times and the reader {len(read)} times.",
        hint="Both services need desiredCount >= 1 and task definitions that run their images.",
    )
    if any(w.startswith("wrote") for w in wrote) and any(r.startswith("read") for r in read):
        return
    if not any(w.startswith("wrote") for w in wrote):
        ctx.fail(
            f"The writer could not write its note: {wrote[-1]}",
            hint=f"Mount the EFS volume in the writer's container at {apps.SHARED_PATH}, "
            "writable (readOnly false).",
        )
    if any("NotMounted" in r for r in read):
        ctx.fail(
            f"The writer wrote its note, but the reader has no volume at {apps.SHARED_PATH}: "
            f"{read[-1]}",
            hint="Both task definitions need the EFS volume (efsVolumeConfiguration with the "
            f"file system id) and a mountPoint at {apps.SHARED_PATH}: a volume on one service "
            "only is a folder no other task sees.",
        )
    ctx.fail(
        f"The writer wrote its note, but the reader never found it ({read[-1]}): the two "
        "tasks mounted different folders.",
        hint="Both volumes must be the same EFS file system (efsVolumeConfiguration, same "
        "fileSystemId and root): a volume without it is a folder of each task's own.",
    )
