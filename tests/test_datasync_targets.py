"""DataSync to AWS file systems: a local share synced into EFS (seen by an ECS task that mounts
it) and into FSx for Lustre (seen through the file system's mount), only changes moving; file
systems that do not exist, and FSx types the sandbox does not simulate, refused."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from ecs_support import image, network

from labkit.lab import Lab
from labkit.services.ecs.sim_volumes import mounted
from labkit.services.fsx.state import mount

AGENT = {"AgentArns": ["arn:aws:datasync:us-east-1:123456789012:agent/agent-0b0addbeef44baca3"]}
ACCOUNT = "123456789012"
SEEN: list[str] = []


def reader() -> int:
    """An ECS task's app: reads what DataSync put on the EFS file system."""
    SEEN.append(mounted("/data/in/report-1.csv").read_text())
    return 0


def share(root: Path) -> Path:
    for i in range(3):
        (root / f"report-{i}.csv").write_text("x" * (i + 1))
    (root / "deep").mkdir()
    (root / "deep" / "notes.txt").write_text("nested")
    return root


def touch(path: Path, text: str) -> None:
    path.write_text(text)
    os.utime(path, (2_000_000_000, 2_000_000_000))


def nfs(lab: Lab, root: Path) -> str:
    arn: str = lab.client("datasync").create_location_nfs(
        ServerHostname="nas.corp.example", Subdirectory=str(root), OnPremConfig=AGENT
    )["LocationArn"]
    return arn


def execute(lab: Lab, source: str, target: str) -> tuple[str, dict[str, Any]]:
    ds = lab.client("datasync")
    task = ds.create_task(SourceLocationArn=source, DestinationLocationArn=target)["TaskArn"]
    return task, run(lab, task)


def run(lab: Lab, task: str) -> dict[str, Any]:
    ds = lab.client("datasync")
    arn = ds.start_task_execution(TaskArn=task)["TaskExecutionArn"]
    result: dict[str, Any] = ds.describe_task_execution(TaskExecutionArn=arn)
    return result


def efs(lab: Lab) -> tuple[str, list[str], str]:
    """An EFS file system with a mount target in the first subnet: its id, subnets, group."""
    subnets, sg = network(lab)
    client = lab.client("efs")
    fs = client.create_file_system(CreationToken="share")["FileSystemId"]
    client.create_mount_target(FileSystemId=fs, SubnetId=subnets[0])
    return str(fs), subnets, sg


def efs_location(lab: Lab, fs: str, subnet: str, sg: str, **extra: Any) -> str:
    arn: str = lab.client("datasync").create_location_efs(
        EfsFilesystemArn=f"arn:aws:elasticfilesystem:us-east-1:{ACCOUNT}:file-system/{fs}",
        Ec2Config={
            "SubnetArn": f"arn:aws:ec2:us-east-1:{ACCOUNT}:subnet/{subnet}",
            "SecurityGroupArns": [f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/{sg}"],
        },
        **extra,
    )["LocationArn"]
    return arn


def mount_point(lab: Lab, fs: str) -> Path:
    """The EFS file system's real folder, as an ECS task's mount finds it."""
    from moto.efs.models import efs_backends

    from labkit.services.ecs.patch_volumes import efs_folder

    model = efs_backends[ACCOUNT]["us-east-1"].file_systems_by_id[fs]
    return efs_folder(model, ACCOUNT, "us-east-1")


def lustre(lab: Lab, **config: Any) -> str:
    answer = lab.client("fsx").create_file_system(
        FileSystemType="LUSTRE",
        StorageCapacity=1200,
        SubnetIds=["subnet-0123456789abcdef0"],
        LustreConfiguration={"DeploymentType": "SCRATCH_2", **config},
    )
    return str(answer["FileSystem"]["FileSystemId"])


def lustre_location(lab: Lab, fs: str, subdirectory: str = "") -> str:
    arn: str = lab.client("datasync").create_location_fsx_lustre(
        FsxFilesystemArn=f"arn:aws:fsx:us-east-1:{ACCOUNT}:file-system/{fs}",
        SecurityGroupArns=[f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/sg-0a1b2c3d"],
        **({"Subdirectory": subdirectory} if subdirectory else {}),
    )["LocationArn"]
    return arn


def test_an_efs_target_gets_the_files_and_the_next_run_moves_only_the_change(
    lab: Lab, tmp_path: Path
) -> None:
    fs, subnets, sg = efs(lab)
    target = efs_location(lab, fs, subnets[0], sg, Subdirectory="/in")
    described = lab.client("datasync").describe_location_efs(LocationArn=target)
    assert described["LocationUri"] == f"efs://us-east-1.{fs}/in/"
    assert described["Ec2Config"]["SubnetArn"].endswith(subnets[0])
    task, first = execute(lab, nfs(lab, share(tmp_path)), target)
    assert (first["Status"], first["FilesTransferred"], first["FilesVerified"]) == ("SUCCESS", 4, 4)
    touch(tmp_path / "report-1.csv", "new numbers")
    second = run(lab, task)
    assert (second["FilesTransferred"], second["FilesSkipped"]) == (1, 3)
    assert second["BytesTransferred"] == len("new numbers")
    assert second["Result"]["VerifyStatus"] == "SUCCESS"


def test_an_ecs_task_mounting_the_file_system_reads_what_datasync_wrote(
    lab: Lab, tmp_path: Path
) -> None:
    SEEN.clear()
    fs, subnets, sg = efs(lab)
    execute(
        lab, nfs(lab, share(tmp_path)), efs_location(lab, fs, subnets[0], sg, Subdirectory="in")
    )
    ec2 = lab.client("ec2")
    ecs = lab.client("ecs")
    ecs.create_cluster(clusterName="jobs")
    instance = ec2.run_instances(
        ImageId=ec2.describe_images()["Images"][0]["ImageId"],
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.medium",
    )["Instances"][0]["InstanceId"]
    ecs.register_container_instance(
        cluster="jobs", instanceIdentityDocument=json.dumps({"instanceId": instance})
    )
    definition = ecs.register_task_definition(
        family="r",
        requiresCompatibilities=["EC2"],
        containerDefinitions=[
            {
                "name": "reader",
                "image": image(lab, reader, repository="reader"),
                "memory": 256,
                "mountPoints": [{"sourceVolume": "efs", "containerPath": "/data"}],
            }
        ],
        volumes=[{"name": "efs", "efsVolumeConfiguration": {"fileSystemId": fs}}],
    )["taskDefinition"]["taskDefinitionArn"]
    task = ecs.run_task(cluster="jobs", taskDefinition=definition, launchType="EC2")["tasks"][0]
    stopped = ecs.describe_tasks(cluster="jobs", tasks=[task["taskArn"]])["tasks"][0]
    assert stopped["containers"][0]["exitCode"] == 0
    assert SEEN == ["xx"]


def test_a_lustre_target_gets_the_files_and_a_linked_one_exports_only_by_its_own_export(
    lab: Lab, tmp_path: Path
) -> None:
    lab.client("s3").create_bucket(Bucket="results")
    fs = lustre(lab, ImportPath="s3://results/in", ExportPath="s3://results/out")
    target = lustre_location(lab, fs, "/incoming")
    described = lab.client("datasync").describe_location_fsx_lustre(LocationArn=target)
    assert described["LocationUri"] == f"fsxl://us-east-1.{fs}/incoming/"
    task, first = execute(lab, nfs(lab, share(tmp_path)), target)
    assert (first["Status"], first["FilesTransferred"]) == ("SUCCESS", 4)
    files = mount(fs)
    assert files.listdir("/incoming") == ["deep", "report-0.csv", "report-1.csv", "report-2.csv"]
    assert files.read_bytes("incoming/deep/notes.txt") == b"nested"
    # DataSync exported nothing: the bucket gets the files from the file system's export.
    s3 = lab.client("s3")
    assert s3.list_objects_v2(Bucket="results").get("KeyCount") == 0
    lab.client("fsx").create_data_repository_task(
        FileSystemId=fs, Type="EXPORT_TO_REPOSITORY", Report={"Enabled": False}
    )
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="results")["Contents"])
    assert "out/incoming/deep/notes.txt" in keys and len(keys) == 4
    touch(tmp_path / "report-2.csv", "changed")
    second = run(lab, task)
    assert (second["FilesTransferred"], second["FilesSkipped"]) == (1, 3)
    assert files.read_bytes("incoming/report-2.csv") == b"changed"


def test_a_lustre_target_compares_against_files_not_loaded_yet(lab: Lab, tmp_path: Path) -> None:
    lab.client("s3").create_bucket(Bucket="results")
    (tmp_path / "same.txt").write_text("abc")
    mtime = (tmp_path / "same.txt").stat().st_mtime
    fs = lustre(lab)
    target = lustre_location(lab, fs)
    task, first = execute(lab, nfs(lab, tmp_path), target)
    assert first["FilesTransferred"] == 1
    files = mount(fs)
    assert int(files.root.joinpath("same.txt").stat().st_mtime) == int(mtime)
    assert run(lab, task)["FilesSkipped"] == 1


def test_a_file_system_that_does_not_exist_is_refused(lab: Lab) -> None:
    ds = lab.client("datasync")
    subnets, sg = network(lab)
    with pytest.raises(ClientError) as refused:
        efs_location(lab, "fs-0123456789abcdef0", subnets[0], sg)
    assert refused.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "fs-0123456789abcdef0 does not exist" in str(refused.value)
    lab.client("fsx")  # an FSx backend with no file system in it
    with pytest.raises(ClientError, match="fs-0badbadbadbadbad0 does not exist"):
        lustre_location(lab, "fs-0badbadbadbadbad0")
    assert ds.list_locations()["Locations"] == []


def test_an_efs_file_system_without_a_mount_target_in_the_subnets_zone_is_refused(
    lab: Lab,
) -> None:
    fs, subnets, sg = efs(lab)  # its mount target is in subnets[0]'s zone only
    with pytest.raises(ClientError, match="no mount target in us-east-1b"):
        efs_location(lab, fs, subnets[1], sg)


def test_an_access_point_needs_tls(lab: Lab) -> None:
    fs, subnets, sg = efs(lab)
    point = lab.client("efs").create_access_point(
        FileSystemId=fs, RootDirectory={"Path": "/team"}, ClientToken="t"
    )["AccessPointArn"]
    with pytest.raises(ClientError, match="InTransitEncryption must be TLS1_2"):
        efs_location(lab, fs, subnets[0], sg, AccessPointArn=point)
    arn = efs_location(lab, fs, subnets[0], sg, AccessPointArn=point, InTransitEncryption="TLS1_2")
    described = lab.client("datasync").describe_location_efs(LocationArn=arn)
    assert described["AccessPointArn"] == point


def test_other_fsx_locations_are_refused_as_not_simulated(lab: Lab) -> None:
    ds = lab.client("datasync")
    group = [f"arn:aws:ec2:us-east-1:{ACCOUNT}:security-group/sg-0a1b2c3d"]
    fsx_arn = f"arn:aws:fsx:us-east-1:{ACCOUNT}:file-system/fs-0123456789abcdef0"
    with pytest.raises(ClientError, match="FSx for Windows File Server are not simulated"):
        ds.create_location_fsx_windows(
            FsxFilesystemArn=fsx_arn, SecurityGroupArns=group, User="admin", Password="x"
        )
    with pytest.raises(ClientError, match="FSx for OpenZFS are not simulated"):
        ds.create_location_fsx_open_zfs(
            FsxFilesystemArn=fsx_arn,
            SecurityGroupArns=group,
            Protocol={"NFS": {"MountOptions": {"Version": "AUTOMATIC"}}},
        )
    with pytest.raises(ClientError, match="FSx for NetApp ONTAP are not simulated"):
        ds.create_location_fsx_ontap(
            StorageVirtualMachineArn=(
                f"arn:aws:fsx:us-east-1:{ACCOUNT}:storage-virtual-machine/fs-0123456789abcdef0/"
                "svm-0123456789abcdef0"
            ),
            SecurityGroupArns=group,
            Protocol={"NFS": {"MountOptions": {"Version": "AUTOMATIC"}}},
        )


def test_a_bucket_synced_into_efs_moves_only_changed_objects(lab: Lab) -> None:
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="exports")
    for name in ("a.csv", "b.csv"):
        s3.put_object(Bucket="exports", Key=f"daily/{name}", Body=name.encode())
    s3.put_object(Bucket="exports", Key="other/c.csv", Body=b"not under the prefix")
    source = lab.client("datasync").create_location_s3(
        S3BucketArn="arn:aws:s3:::exports",
        Subdirectory="/daily",
        S3Config={"BucketAccessRoleArn": f"arn:aws:iam::{ACCOUNT}:role/datasync"},
    )["LocationArn"]
    fs, subnets, sg = efs(lab)
    target = efs_location(lab, fs, subnets[0], sg, Subdirectory="/mirror")
    task, first = execute(lab, source, target)
    assert (first["FilesTransferred"], first["FilesSkipped"]) == (2, 0)
    lab.clock.advance(60)  # S3 stamps the rewrite with the lab clock: a newer time, same size
    s3.put_object(Bucket="exports", Key="daily/b.csv", Body=b"B.CSV")
    second = run(lab, task)
    assert (second["FilesTransferred"], second["FilesSkipped"]) == (1, 1)
    folder = mount_point(lab, fs) / "mirror"
    assert sorted(p.name for p in folder.iterdir()) == ["a.csv", "b.csv"]
    assert (folder / "b.csv").read_bytes() == b"B.CSV"


def test_deleted_files_are_removed_from_efs_with_remove(lab: Lab, tmp_path: Path) -> None:
    fs, subnets, sg = efs(lab)
    ds = lab.client("datasync")
    task = ds.create_task(
        SourceLocationArn=nfs(lab, share(tmp_path)),
        DestinationLocationArn=efs_location(lab, fs, subnets[0], sg),
        Options={"PreserveDeletedFiles": "REMOVE"},
    )["TaskArn"]
    run(lab, task)
    (tmp_path / "report-0.csv").unlink()
    again = run(lab, task)
    assert (again["FilesDeleted"], again["FilesSkipped"]) == (1, 3)


def test_the_efs_folder_datasync_made_is_removed_when_the_sandbox_stops(tmp_path: Path) -> None:
    import labkit
    from labkit.services.ecs import patch_volumes

    lab = labkit.start(quiet=True)
    try:
        fs, subnets, sg = efs(lab)
        execute(lab, nfs(lab, share(tmp_path)), efs_location(lab, fs, subnets[0], sg))
        folders = [Path(p) for p in patch_volumes._FOLDERS.values()]
        assert folders and all((f / "deep" / "notes.txt").exists() for f in folders)
    finally:
        lab.stop()
    assert not any(f.exists() for f in folders)


def test_an_auto_export_policy_takes_what_datasync_wrote_to_s3(lab: Lab, tmp_path: Path) -> None:
    lab.client("s3").create_bucket(Bucket="results")
    fs = lustre(lab, DeploymentType="PERSISTENT_2", PerUnitStorageThroughput=250)
    lab.client("fsx").create_data_repository_association(
        FileSystemId=fs,
        FileSystemPath="/ns1",
        DataRepositoryPath="s3://results/ns1",
        S3={"AutoExportPolicy": {"Events": ["NEW", "CHANGED"]}},
    )
    execute(lab, nfs(lab, share(tmp_path)), lustre_location(lab, fs, "/ns1"))
    s3 = lab.client("s3")
    assert s3.list_objects_v2(Bucket="results").get("KeyCount") == 0  # DataSync exports nothing
    lab.clock.advance(1)  # the file system's automatic export runs as lab time passes
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="results")["Contents"])
    assert keys == [
        "ns1/deep/notes.txt",
        "ns1/report-0.csv",
        "ns1/report-1.csv",
        "ns1/report-2.csv",
    ]


def test_an_execution_to_a_deleted_file_system_is_refused(lab: Lab, tmp_path: Path) -> None:
    fs, subnets, sg = efs(lab)
    target = efs_location(lab, fs, subnets[0], sg)
    client = lab.client("efs")
    for mount_target in client.describe_mount_targets(FileSystemId=fs)["MountTargets"]:
        client.delete_mount_target(MountTargetId=mount_target["MountTargetId"])
    client.delete_file_system(FileSystemId=fs)
    ds = lab.client("datasync")
    task = ds.create_task(
        SourceLocationArn=nfs(lab, share(tmp_path)), DestinationLocationArn=target
    )
    with pytest.raises(ClientError, match=f"{fs} does not exist"):
        ds.start_task_execution(TaskArn=task["TaskArn"])
