"""EFS mounted into ECS tasks: a real shared folder per file system that tasks on Fargate and
on EC2 both see, access points and root directories as folders inside it, bind mounts per task,
and what cannot be mounted (a missing file system, S3)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from ecs_support import fargate_definition, image, network

import labkit
from labkit.lab import Lab
from labkit.services.ecs.sim_volumes import NotMountedError, ReadOnlyMountError, mounted

#: What the reader saw, and errors the apps met (the apps run in this process).
SEEN: list[str] = []


def writer() -> int:
    """Writes a note to the shared folder and exits."""
    mounted("/mnt/shared/notes.txt", write=True).write_text("from fargate\n")
    return 0


def reader() -> int:
    """Reads the note (the EC2 task)."""
    SEEN.append(mounted("/data/notes.txt").read_text())
    try:
        mounted("/data/other.txt", write=True)
    except ReadOnlyMountError as refused:
        SEEN.append(refused.code)
    try:
        mounted("/tmp/x")
    except NotMountedError as refused:
        SEEN.append(refused.code)
    return 0


@pytest.fixture
def lab() -> Iterator[Lab]:
    SEEN.clear()
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


def _file_system(lab: Lab, subnet: str) -> str:
    efs = lab.client("efs")
    fs = efs.create_file_system(CreationToken="shared")["FileSystemId"]
    efs.create_mount_target(FileSystemId=fs, SubnetId=subnet)
    return str(fs)


def _fargate_writer(lab: Lab, volume: dict[str, Any], subnets: list[str], sg: str) -> str:
    ecs = lab.client("ecs")
    base = fargate_definition(lab, image(lab, writer, repository="writer"), family="w", port=None)
    found = ecs.describe_task_definition(taskDefinition=base)["taskDefinition"]
    container = dict(found["containerDefinitions"][0])
    container["mountPoints"] = [{"sourceVolume": "shared", "containerPath": "/mnt/shared"}]
    arn = ecs.register_task_definition(
        family="w",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        executionRoleArn=found["executionRoleArn"],
        containerDefinitions=[container],
        volumes=[{"name": "shared", **volume}],
    )["taskDefinition"]["taskDefinitionArn"]
    task = ecs.run_task(
        cluster="jobs",
        taskDefinition=arn,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}},
    )["tasks"][0]
    return str(task["taskArn"])


def _ec2_reader(lab: Lab, volume: dict[str, Any]) -> str:
    ec2 = lab.client("ec2")
    ecs = lab.client("ecs")
    instance = ec2.run_instances(
        ImageId=ec2.describe_images()["Images"][0]["ImageId"],
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.medium",
    )["Instances"][0]["InstanceId"]
    ecs.register_container_instance(
        cluster="jobs", instanceIdentityDocument=json.dumps({"instanceId": instance})
    )
    arn = ecs.register_task_definition(
        family="r",
        requiresCompatibilities=["EC2"],
        containerDefinitions=[
            {
                "name": "reader",
                "image": image(lab, reader, repository="reader"),
                "memory": 256,
                "mountPoints": [
                    {"sourceVolume": "efs", "containerPath": "/data", "readOnly": True}
                ],
            }
        ],
        volumes=[{"name": "efs", **volume}],
    )["taskDefinition"]["taskDefinitionArn"]
    task = ecs.run_task(cluster="jobs", taskDefinition=arn, launchType="EC2")["tasks"][0]
    return str(task["taskArn"])


def _stopped(lab: Lab, arn: str) -> dict[str, Any]:
    return dict(lab.client("ecs").describe_tasks(cluster="jobs", tasks=[arn])["tasks"][0])


def test_a_fargate_task_and_an_ec2_task_share_an_efs_file_system(lab: Lab) -> None:
    lab.client("ecs").create_cluster(clusterName="jobs")
    subnets, sg = network(lab)
    fs = _file_system(lab, subnets[0])
    volume = {"efsVolumeConfiguration": {"fileSystemId": fs}}
    written = _fargate_writer(lab, volume, subnets, sg)
    assert _stopped(lab, written)["containers"][0]["exitCode"] == 0
    read = _ec2_reader(lab, volume)
    assert _stopped(lab, read)["containers"][0]["exitCode"] == 0
    assert SEEN == ["from fargate\n", "ReadOnlyMount", "NotMounted"]


def test_an_access_point_is_a_folder_inside_the_file_system(lab: Lab) -> None:
    lab.client("ecs").create_cluster(clusterName="jobs")
    subnets, sg = network(lab)
    fs = _file_system(lab, subnets[0])
    efs = lab.client("efs")
    point = efs.create_access_point(
        FileSystemId=fs, RootDirectory={"Path": "/team"}, ClientToken="t"
    )["AccessPointId"]
    _fargate_writer(
        lab,
        {
            "efsVolumeConfiguration": {
                "fileSystemId": fs,
                "transitEncryption": "ENABLED",
                "authorizationConfig": {"accessPointId": point},
            }
        },
        subnets,
        sg,
    )
    # The same file system's /team, mounted by root directory, holds the note; its root not.
    _ec2_reader(lab, {"efsVolumeConfiguration": {"fileSystemId": fs, "rootDirectory": "/team"}})
    assert SEEN[0] == "from fargate\n"
    SEEN.clear()
    read = _ec2_reader(lab, {"efsVolumeConfiguration": {"fileSystemId": fs}})
    assert SEEN == []  # /notes.txt is not at the root: the reader failed
    assert _stopped(lab, read)["containers"][0]["exitCode"] == 1


def test_a_file_system_without_a_mount_target_stops_the_task_with_aws_reason(lab: Lab) -> None:
    lab.client("ecs").create_cluster(clusterName="jobs")
    subnets, sg = network(lab)
    fs = lab.client("efs").create_file_system(CreationToken="lonely")["FileSystemId"]
    arn = _fargate_writer(lab, {"efsVolumeConfiguration": {"fileSystemId": fs}}, subnets, sg)
    task = _stopped(lab, arn)
    assert task["lastStatus"] == "STOPPED"
    assert task["stoppedReason"].startswith("ResourceInitializationError: failed to invoke EFS")
    assert f"{fs}.efs.us-east-1.amazonaws.com" in task["stoppedReason"]


def test_s3_is_not_a_volume_type(lab: Lab) -> None:
    with pytest.raises(botocore.exceptions.ParamValidationError, match="s3VolumeConfiguration"):
        lab.client("ecs").register_task_definition(
            family="s3",
            containerDefinitions=[{"name": "a", "image": "x", "memory": 128}],
            volumes=[{"name": "bucket", "s3VolumeConfiguration": {"bucket": "b"}}],  # type: ignore[list-item]
        )


def test_the_folders_are_removed_when_the_sandbox_stops() -> None:
    lab = labkit.start(quiet=True)
    try:
        lab.client("ecs").create_cluster(clusterName="jobs")
        subnets, sg = network(lab)
        fs = _file_system(lab, subnets[0])
        _fargate_writer(lab, {"efsVolumeConfiguration": {"fileSystemId": fs}}, subnets, sg)
        from labkit.services.ecs import patch_volumes

        folders = [Path(p) for p in patch_volumes._FOLDERS.values()]
        assert folders and all(f.exists() for f in folders)
    finally:
        lab.stop()
    assert not any(f.exists() for f in folders)
