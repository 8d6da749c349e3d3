"""labkit grade on the migration lab: sample submissions, the checks' arithmetic, and its views.

Each sample in tests/submissions/migration/ is a jupytext percent file of a notebook a learner
might hand in, graded once in a fresh kernel as `labkit grade` does: the two correct ones are
written unlike the solution (the course's calculator or arithmetic in seconds; SMB or NFS, rate(1
day), prefixes, a first run by hand; wildcard selection or a renamed table; a session policy with
Transfer Family's variables or chroots under a shared prefix with keys imported afterwards), and
each of the other four makes one plausible mistake per task, which must fail with its hint.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import paramiko
import pytest
from grading_support import grade_samples, said, statuses

from labkit.grading.notebook import Submission
from labkit.lab import Lab
from labkit.labs.migration_choice import DATASETS, MISTAKES, expected, read_answer
from labkit.services.snowball.sim_calculator import TB, estimate

SAMPLES = Path(__file__).resolve().parent / "submissions" / "migration"
CHECKS = ("snowball_or_network", "nightly_sync", "cut_over", "drop_zone")


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Submission]:
    return grade_samples(SAMPLES, tmp_path_factory)


# -- the sample notebooks -----------------------------------------------------------------------
@pytest.mark.parametrize("sample", ["passing_calculator", "passing_own_arithmetic"])
def test_correct_alternatives_pass_every_check(graded: dict[str, Submission], sample: str) -> None:
    sub = graded[sample]
    assert sub.error is None and not sub.notes
    assert statuses(sub) == dict.fromkeys(CHECKS, "passed"), [said(sub, name) for name in CHECKS]
    assert sub.score == sub.max_score == 8


def test_bytes_for_bits_one_run_full_load_path_home(graded: dict[str, Submission]) -> None:
    sub = graded["bytes_once_full_load_path_home"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed")
    assert "exactly those of bytes taken for bits" in said(sub, "snowball_or_network")
    assert "multiply the bytes by 8" in said(sub, "snowball_or_network")
    assert "DataSync ran no execution (it ran 1 on the first day)" in said(sub, "nightly_sync")
    assert "One start_task_execution runs it once" in said(sub, "nightly_sync")
    assert "is full-load: it copied the table and stopped" in said(sub, "cut_over")
    assert "FULL_LOAD_ONLY_FINISHED" in said(sub, "cut_over")
    assert "bob read ana's file s3://partner-drop/ana/" in said(sub, "drop_zone")
    assert "through the path /partner-drop/ana/invoice-from-ana.csv" in said(sub, "drop_zone")
    assert "HomeDirectoryType 'LOGICAL'" in said(sub, "drop_zone")


def test_busy_link_every_file_never_started_wrong_trust(graded: dict[str, Submission]) -> None:
    sub = graded["busy_link_all_files_unstarted_wrong_trust"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed")
    assert "the whole link taken as yours" in said(sub, "snowball_or_network")
    assert "bandwidth x utilisation" in said(sub, "snowball_or_network")
    assert "moved 13 files and skipped 0" in said(sub, "nightly_sync")
    assert "ALL moves every file every night" in said(sub, "nightly_sync")
    assert "was never started (status ready)" in said(sub, "cut_over")
    assert "start_replication_task" in said(sub, "cut_over")
    assert "could not sign in" in said(sub, "drop_zone")
    assert "Principal (ec2.amazonaws.com)" in said(sub, "drop_zone")


def test_copying_only_twice_a_day_cdc_only_shared_folder(graded: dict[str, Submission]) -> None:
    sub = graded["copy_only_twice_daily_cdc_shared_folder"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed")
    assert "a Snowball job taken as its copying alone" in said(sub, "snowball_or_network")
    assert "add 7.5 days" in said(sub, "snowball_or_network")
    assert "ran 2 executions (rate(12 hours))" in said(sub, "nightly_sync")
    assert "is cdc" in said(sub, "cut_over")
    assert "the 40 orders already in the table were never copied" in said(sub, "cut_over")
    assert "landed at s3://partner-drop/incoming/invoice-from-ana.csv" in said(sub, "drop_zone")


def test_faster_never_overwrite_dropped_column_read_only(graded: dict[str, Submission]) -> None:
    sub = graded["faster_never_overwrite_dropped_column_read_only"]
    assert statuses(sub) == dict.fromkeys(CHECKS, "failed")
    assert "the faster way taken, whatever the deadline" in said(sub, "snowball_or_network")
    assert "media renders" in said(sub, "snowball_or_network")
    assert "moved 1 file and skipped 12" in said(sub, "nightly_sync")
    assert "OverwriteMode NEVER" in said(sub, "nightly_sync")
    assert "status: absent vs refunded" in said(sub, "cut_over")
    assert "removes a column" in said(sub, "cut_over")
    assert "could not upload invoice-from-ana.csv" in said(sub, "drop_zone")
    assert "does not include s3:PutObject" in said(sub, "drop_zone")


# -- the arithmetic behind snowball_or_network ----------------------------------------------------
def test_each_slip_gives_answers_of_its_own_and_none_is_right() -> None:
    right = [expected(d) for d in DATASETS]
    answers = [tuple(answer_of(d) for d in DATASETS) for _what, answer_of, _hint in MISTAKES]
    assert len(set(answers)) == len(MISTAKES)
    assert all(list(a) != right for a in answers)
    assert set(right) == {"network", "snowball", "neither"}


def test_the_rule_agrees_with_the_calculator_where_it_has_a_choice() -> None:
    # Where the network misses and Snowball makes it, the calculator's faster way is Snowball;
    # where both make it, the rule's network is within the deadline.
    for d in DATASETS:
        found = estimate(d.size_tb * TB, d.bandwidth_mbps * 1e6, utilisation=d.utilisation)
        net_ok = found.network_seconds <= d.deadline_days * 86_400
        snow_ok = found.snowball_seconds <= d.deadline_days * 86_400
        want = "network" if net_ok else "snowball" if snow_ok else "neither"
        assert expected(d) == want, d.name


@pytest.mark.parametrize(
    ("answer", "read"),
    [
        ("Network", "network"),
        (" snowball edge ", "snowball"),
        (None, "neither"),
        ("none", "neither"),
        ("DataSync", "network"),
        (True, None),
        ("maybe", None),
    ],
)
def test_answers_are_read_in_any_case_and_spelling(answer: object, read: str | None) -> None:
    assert read_answer(answer) == read


# -- the views the lesson uses ---------------------------------------------------------------------
def test_the_sync_transfer_and_fsx_views_say_what_happened(lab: Lab, tmp_path: Path) -> None:
    s3 = lab.client("s3")
    for bucket in ("mirror", "drop", "genomes"):
        s3.create_bucket(Bucket=bucket)
    # DataSync: two nights, one file changed in between.
    for i in range(3):
        (tmp_path / f"f{i}.txt").write_text("x" * (i + 1))
    ds = lab.client("datasync")
    source = ds.create_location_nfs(
        ServerHostname="nas",
        Subdirectory=str(tmp_path),
        OnPremConfig={"AgentArns": ["arn:aws:datasync:us-east-1:123456789012:agent/agent-1"]},
    )["LocationArn"]
    target = ds.create_location_s3(
        S3BucketArn="arn:aws:s3:::mirror",
        S3Config={"BucketAccessRoleArn": "arn:aws:iam::123456789012:role/r"},
    )["LocationArn"]
    ds.create_task(
        SourceLocationArn=source,
        DestinationLocationArn=target,
        Name="nightly",
        Schedule={"ScheduleExpression": "rate(24 hours)"},
    )
    lab.clock.advance(86_400)
    (tmp_path / "f1.txt").write_text("changed")
    os.utime(tmp_path / "f1.txt", (lab.clock.timestamp, lab.clock.timestamp))
    lab.clock.advance(86_400)
    sync = str(lab.sync_view("nightly"))
    assert "nightly:" in sync and "rate(24 hours)" in sync and "2 executions" in sync
    assert "skipped as unchanged" in lab.sync_view()._repr_html_()
    assert "No DataSync task" in str(lab.sync_view("other"))
    # Transfer Family: one upload, one refused key.
    iam = lab.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "transfer.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    arn = iam.create_role(RoleName="t", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    allow = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::drop*"}],
    }
    iam.put_role_policy(RoleName="t", PolicyName="p", PolicyDocument=json.dumps(allow))
    transfer = lab.client("transfer")
    server = transfer.create_server()["ServerId"]
    key = paramiko.ECDSAKey.generate()
    transfer.create_user(
        ServerId=server,
        UserName="ana",
        Role=arn,
        HomeDirectoryType="LOGICAL",
        HomeDirectoryMappings=[{"Entry": "/", "Target": "/drop/ana"}],
        SshPublicKeyBody=f"{key.get_name()} {key.get_base64()}",
    )
    host, port = lab.sftp_endpoint(server)
    ssh = paramiko.SSHClient()
    ssh.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    ssh.connect(host, port, username="ana", pkey=key, allow_agent=False, look_for_keys=False)
    ssh.open_sftp().putfo(io.BytesIO(b"1,2\n"), "a.csv")
    ssh.close()
    text = str(lab.transfer_view())
    assert "1 successful sign-in (ana)" in text and "s3://drop/ana/a.csv" in text
    assert str(lab.transfer_view(server)) == text
    # FSx for Lustre: one file read lazily, one written and exported.
    s3.put_object(Bucket="genomes", Key="runs/a.fastq", Body=b"ACGT" * 10)
    s3.put_object(Bucket="genomes", Key="runs/b.fastq", Body=b"TT")
    fsx = lab.client("fsx")
    fs = fsx.create_file_system(
        FileSystemType="LUSTRE",
        StorageCapacity=1200,
        SubnetIds=["subnet-0123456789abcdef0"],
        LustreConfiguration={"DeploymentType": "SCRATCH_2", "ImportPath": "s3://genomes/runs"},
    )["FileSystem"]["FileSystemId"]
    from labkit.services.fsx.state import mount

    files = mount(fs)
    files.read_bytes("a.fastq")
    files.write_bytes("c.bam", b"BAM")
    fsx.create_data_repository_task(
        FileSystemId=fs, Type="EXPORT_TO_REPOSITORY", Report={"Enabled": False}
    )
    view = str(lab.fsx_view())
    assert "Files: 3 known, 2 loaded, 1 metadata only." in view
    assert "b.fastq" in view and "○ metadata only (data in S3)" in view
    assert "Lazy loads: 1 file, 40 bytes read from S3" in view
    assert "Exported: 1 file written back" in view
    assert "c.bam" in lab.fsx_view(fs)._repr_html_()
