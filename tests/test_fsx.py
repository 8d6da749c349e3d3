"""FSx for Lustre in the sandbox: linked to S3, files load on first read and export back."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from labkit import facts
from labkit.lab import Lab
from labkit.services.fsx.sim_lustre import LustreError, throughput_mbps
from labkit.services.fsx.state import mount

SUBNET = "subnet-0123456789abcdef0"


def bucket(lab: Lab, objects: dict[str, bytes]) -> None:
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="genomes")
    for key, data in objects.items():
        s3.put_object(Bucket="genomes", Key=key, Body=data)


def lustre(lab: Lab, **config: Any) -> dict[str, Any]:
    config.setdefault("DeploymentType", "SCRATCH_2")
    answer = lab.client("fsx").create_file_system(
        FileSystemType="LUSTRE",
        StorageCapacity=1200,
        SubnetIds=[SUBNET],
        LustreConfiguration=config,
    )
    return dict(answer["FileSystem"])


def test_create_answers_what_aws_does(lab: Lab) -> None:
    bucket(lab, {})
    fs = lustre(lab, ImportPath="s3://genomes/runs")
    assert fs["Lifecycle"] == "CREATING"
    assert fs["OwnerId"] == "123456789012"
    described = lab.client("fsx").describe_file_systems()["FileSystems"][0]
    assert described["Lifecycle"] == "AVAILABLE"
    repo = described["LustreConfiguration"]["DataRepositoryConfiguration"]
    assert repo["ImportPath"] == "s3://genomes/runs"
    assert repo["ExportPath"].startswith("s3://genomes/FSxLustre")


def test_files_appear_with_metadata_and_load_on_first_read(lab: Lab) -> None:
    bucket(lab, {"runs/a.fastq": b"ACGT" * 10, "runs/deep/b.fastq": b"TTTT", "other/x": b"no"})
    fs = lustre(lab, ImportPath="s3://genomes/runs")
    files = mount(fs["FileSystemId"])
    assert files.listdir("/") == ["a.fastq", "deep"]
    assert files.stat("a.fastq")["size"] == 40
    assert files.stat("a.fastq")["state"] == "released"
    assert not (files.root / "a.fastq").exists()  # only metadata so far
    assert files.read_bytes("/a.fastq") == b"ACGT" * 10
    assert files.stat("a.fastq")["state"] == "loaded"
    assert (files.root / "a.fastq").read_bytes() == b"ACGT" * 10
    assert [load.path for load in files.loads] == ["a.fastq"]
    files.read_bytes("a.fastq")
    assert len(files.loads) == 1  # a second read is local


def test_a_file_system_linked_to_nothing_keeps_its_own_files(lab: Lab) -> None:
    fs = lustre(lab)  # no ImportPath, no association: a scratch space of its own
    files = mount(fs["FileSystemId"])
    with files.open("/work/out.txt", "w") as out:
        out.write("result")
    assert files.read_bytes("/work/out.txt") == b"result"
    assert files.stat("work/out.txt")["size"] == 6
    assert files.listdir("/work") == ["out.txt"]
    assert files.export() == []  # nowhere in S3 to go


def test_a_data_repository_task_exports_new_and_changed_files(lab: Lab) -> None:
    bucket(lab, {"in/a.txt": b"old", "in/b.txt": b"same"})
    fs = lustre(lab, DeploymentType="PERSISTENT_2", PerUnitStorageThroughput=250)
    fsx = lab.client("fsx")
    fsx.create_data_repository_association(
        FileSystemId=fs["FileSystemId"],
        FileSystemPath="/ns1",
        DataRepositoryPath="s3://genomes/in",
        BatchImportMetaDataOnCreate=True,
    )
    files = mount(fs["FileSystemId"])
    assert files.listdir("/ns1") == ["a.txt", "b.txt"]
    files.read_bytes("ns1/b.txt")
    files.write_bytes("ns1/a.txt", b"new contents")
    # A file written with plain Python into the folder is on the file system too.
    (files.root / "ns1" / "c.txt").write_bytes(b"made here")
    task = fsx.create_data_repository_task(
        FileSystemId=fs["FileSystemId"], Type="EXPORT_TO_REPOSITORY", Report={"Enabled": False}
    )["DataRepositoryTask"]
    assert task["Lifecycle"] == "SUCCEEDED"
    assert task["Status"]["SucceededCount"] == 2
    s3 = lab.client("s3")
    assert s3.get_object(Bucket="genomes", Key="in/a.txt")["Body"].read() == b"new contents"
    assert s3.get_object(Bucket="genomes", Key="in/c.txt")["Body"].read() == b"made here"
    again = fsx.create_data_repository_task(
        FileSystemId=fs["FileSystemId"], Type="EXPORT_TO_REPOSITORY", Report={"Enabled": False}
    )["DataRepositoryTask"]
    assert again["Status"]["SucceededCount"] == 0  # nothing changed since


def test_auto_export_and_auto_import_on_the_lab_clock(lab: Lab) -> None:
    bucket(lab, {"in/a.txt": b"one"})
    fs = lustre(lab, DeploymentType="PERSISTENT_2", PerUnitStorageThroughput=125)
    lab.client("fsx").create_data_repository_association(
        FileSystemId=fs["FileSystemId"],
        FileSystemPath="/",
        DataRepositoryPath="s3://genomes/in",
        BatchImportMetaDataOnCreate=True,
        S3={
            "AutoImportPolicy": {"Events": ["NEW", "CHANGED"]},
            "AutoExportPolicy": {"Events": ["NEW", "CHANGED"]},
        },
    )
    files = mount(fs["FileSystemId"])
    files.write_bytes("result.txt", b"computed")
    s3 = lab.client("s3")
    s3.put_object(Bucket="genomes", Key="in/later.txt", Body=b"arrived")
    lab.clock.advance(1)
    assert s3.get_object(Bucket="genomes", Key="in/result.txt")["Body"].read() == b"computed"
    assert files.read_bytes("later.txt") == b"arrived"


def test_throughput_per_tib_by_deployment_type() -> None:
    scratch = facts.fact("fsx.lustre_scratch_throughput_per_tib").value
    assert throughput_mbps("SCRATCH_2", 2400) == pytest.approx(scratch * 2400 / 1024)
    assert throughput_mbps("PERSISTENT_2", 1200, 1000) == pytest.approx(1000 * 1200 / 1024)
    with pytest.raises(LustreError, match="125, 250, 500, 1000"):
        throughput_mbps("PERSISTENT_2", 1200, 200)
    with pytest.raises(LustreError, match="only for PERSISTENT"):
        throughput_mbps("SCRATCH_1", 1200, 200)


def test_a_throughput_aws_does_not_offer_is_refused(lab: Lab) -> None:
    with pytest.raises(ClientError, match="PerUnitStorageThroughput"):
        lustre(lab, DeploymentType="PERSISTENT_1", PerUnitStorageThroughput=125)
