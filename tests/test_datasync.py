"""DataSync in the sandbox: a local folder kept in sync with S3, only changes moving."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from labkit.lab import Lab
from labkit.services.datasync.sim_sync import Options, SyncOptionError

AGENT = {"AgentArns": ["arn:aws:datasync:us-east-1:123456789012:agent/agent-0b0addbeef44baca3"]}
ROLE = {"BucketAccessRoleArn": "arn:aws:iam::123456789012:role/datasync"}


def share(root: Path, files: int = 5) -> Path:
    for i in range(files):
        (root / f"report-{i}.csv").write_text("x" * (i + 1))
    (root / "deep" / "er").mkdir(parents=True)
    (root / "deep" / "er" / "notes.txt").write_text("nested")
    return root


def task(lab: Lab, root: Path, **extra: Any) -> str:
    lab.client("s3").create_bucket(Bucket="nightly")
    ds = lab.client("datasync")
    source = ds.create_location_nfs(
        ServerHostname="nas.corp.example", Subdirectory=str(root), OnPremConfig=AGENT
    )["LocationArn"]
    target = ds.create_location_s3(
        S3BucketArn="arn:aws:s3:::nightly", Subdirectory="/share", S3Config=ROLE
    )["LocationArn"]
    arn: str = ds.create_task(SourceLocationArn=source, DestinationLocationArn=target, **extra)[
        "TaskArn"
    ]
    return arn


def execute(lab: Lab, task_arn: str) -> dict[str, Any]:
    ds = lab.client("datasync")
    arn = ds.start_task_execution(TaskArn=task_arn)["TaskExecutionArn"]
    result: dict[str, Any] = ds.describe_task_execution(TaskExecutionArn=arn)
    return result


def keys(lab: Lab) -> list[str]:
    listing = lab.client("s3").list_objects_v2(Bucket="nightly")
    return sorted(o["Key"] for o in listing.get("Contents", []))


def touch(path: Path, text: str) -> None:
    path.write_text(text)
    os.utime(path, (2_000_000_000, 2_000_000_000))


def test_the_first_run_copies_everything_and_the_next_only_what_changed(
    lab: Lab, tmp_path: Path
) -> None:
    arn = task(lab, share(tmp_path))
    first = execute(lab, arn)
    assert (first["Status"], first["FilesTransferred"], first["FilesSkipped"]) == ("SUCCESS", 6, 0)
    assert keys(lab) == sorted(
        [f"share/report-{i}.csv" for i in range(5)] + ["share/deep/er/notes.txt"]
    )
    assert first["FilesVerified"] == 6
    touch(tmp_path / "report-2.csv", "new numbers")
    (tmp_path / "added.csv").write_text("a")
    second = execute(lab, arn)
    assert (second["FilesTransferred"], second["FilesSkipped"]) == (2, 5)
    assert second["BytesTransferred"] == len("new numbers") + 1
    body = lab.client("s3").get_object(Bucket="nightly", Key="share/report-2.csv")["Body"].read()
    assert body == b"new numbers"
    third = execute(lab, arn)
    assert (third["FilesTransferred"], third["FilesSkipped"]) == (0, 7)


def test_transfer_mode_all_and_deleted_files(lab: Lab, tmp_path: Path) -> None:
    arn = task(
        lab, share(tmp_path), Options={"TransferMode": "ALL", "PreserveDeletedFiles": "REMOVE"}
    )
    execute(lab, arn)
    (tmp_path / "report-0.csv").unlink()
    again = execute(lab, arn)
    assert (again["FilesTransferred"], again["FilesDeleted"]) == (5, 1)
    assert "share/report-0.csv" not in keys(lab)


def test_deleted_files_are_preserved_by_default(lab: Lab, tmp_path: Path) -> None:
    arn = task(lab, share(tmp_path))
    execute(lab, arn)
    (tmp_path / "report-0.csv").unlink()
    assert execute(lab, arn)["FilesDeleted"] == 0
    assert "share/report-0.csv" in keys(lab)


def test_a_bandwidth_limit_stretches_the_execution_on_the_lab_clock(
    lab: Lab, tmp_path: Path
) -> None:
    (tmp_path / "big.bin").write_bytes(b"\0" * 1000)
    arn = task(lab, tmp_path, Options={"BytesPerSecond": 100})
    ds = lab.client("datasync")
    execution = ds.start_task_execution(TaskArn=arn)["TaskExecutionArn"]
    assert ds.describe_task_execution(TaskExecutionArn=execution)["Status"] == "TRANSFERRING"
    lab.clock.advance(9)
    assert ds.describe_task_execution(TaskExecutionArn=execution)["Status"] == "TRANSFERRING"
    assert keys(lab) == []  # nothing has reached S3 before the transfer ends
    lab.clock.advance(1)
    assert keys(lab) == ["share/big.bin"]
    done = ds.describe_task_execution(TaskExecutionArn=execution)
    assert done["Status"] == "SUCCESS" and done["Result"]["VerifyStatus"] == "SUCCESS"


def test_a_schedule_runs_the_task_every_interval_of_lab_time(lab: Lab, tmp_path: Path) -> None:
    arn = task(lab, share(tmp_path), Schedule={"ScheduleExpression": "rate(24 hours)"})
    ds = lab.client("datasync")
    assert keys(lab) == []
    lab.clock.advance(24 * 3600)
    assert len(keys(lab)) == 6
    touch(tmp_path / "report-4.csv", "tonight")
    lab.clock.advance(24 * 3600)
    current = ds.describe_task(TaskArn=arn)["CurrentTaskExecutionArn"]
    report = ds.describe_task_execution(TaskExecutionArn=current)
    assert (report["FilesTransferred"], report["FilesSkipped"]) == (1, 5)


def test_bad_options_and_cron_schedules_are_refused(lab: Lab, tmp_path: Path) -> None:
    with pytest.raises(botocore.exceptions.ClientError, match="cron"):
        task(lab, tmp_path, Schedule={"ScheduleExpression": "cron(0 12 ? * SUN,WED *)"})
    with pytest.raises(SyncOptionError, match="TransferMode"):
        Options.from_api({"TransferMode": "DELTA"})
    with pytest.raises(SyncOptionError, match="-1"):
        Options.from_api({"BytesPerSecond": 0})


def test_ten_thousand_files_with_one_percent_changed_sync_in_under_5_seconds(
    lab: Lab, tmp_path: Path
) -> None:
    for i in range(10_000):
        (tmp_path / f"f{i:05d}.dat").write_bytes(b"d" * 64)
    arn = task(lab, tmp_path)
    assert execute(lab, arn)["FilesTransferred"] == 10_000
    for i in range(0, 10_000, 100):
        touch(tmp_path / f"f{i:05d}.dat", "changed")
    started = time.perf_counter()
    report = execute(lab, arn)
    elapsed = time.perf_counter() - started
    assert (report["FilesTransferred"], report["FilesSkipped"]) == (100, 9_900)
    print(f"10,000 files, 1 % changed: {elapsed:.2f} s")


def test_an_smb_location_is_a_local_folder_too(lab: Lab, tmp_path: Path) -> None:
    share(tmp_path, files=2)
    lab.client("s3").create_bucket(Bucket="nightly")
    ds = lab.client("datasync")
    source = ds.create_location_smb(
        ServerHostname="fileserver.corp.example",
        Subdirectory=str(tmp_path),
        User="backup",
        Password="not-a-real-password",
        AgentArns=AGENT["AgentArns"],
    )["LocationArn"]
    target = ds.create_location_s3(S3BucketArn="arn:aws:s3:::nightly", S3Config=ROLE)["LocationArn"]
    arn = ds.create_task(SourceLocationArn=source, DestinationLocationArn=target)["TaskArn"]
    assert execute(lab, arn)["FilesTransferred"] == 3
    assert keys(lab) == ["deep/er/notes.txt", "report-0.csv", "report-1.csv"]


def test_the_view_shows_each_execution_and_what_was_skipped(lab: Lab, tmp_path: Path) -> None:
    from labkit.services.datasync import view
    from labkit.services.datasync.state import snapshot

    assert "No DataSync task" in view.render_text(snapshot(lab.clock.timestamp))
    arn = task(lab, share(tmp_path), Schedule={"ScheduleExpression": "rate(24 hours)"})
    execute(lab, arn)
    touch(tmp_path / "report-1.csv", "late change")
    lab.clock.advance(24 * 3600)
    state = snapshot(lab.clock.timestamp)
    runs = state["tasks"][0]["executions"]
    assert [(r["transferred"], r["skipped"]) for r in runs] == [(6, 0), (1, 5)]
    text = view.render_text(state)
    assert "rate(24 hours)" in text and "✓ SUCCESS" in text and "2 executions" in text
    assert "skipped as unchanged" in view.render_html(state)


def test_a_daily_cron_schedule_runs_at_its_utc_time_every_day(lab: Lab, tmp_path: Path) -> None:
    import itertools
    from datetime import datetime, timezone

    arn = task(lab, share(tmp_path), Schedule={"ScheduleExpression": "cron(30 2 * * ? *)"})
    from labkit.services.datasync.state import snapshot

    lab.clock.advance(3 * 86_400)
    runs = snapshot(lab.clock.timestamp)["tasks"][0]["executions"]
    times = [datetime.fromtimestamp(r["started"], tz=timezone.utc) for r in runs]
    assert [(t.hour, t.minute) for t in times] == [(2, 30)] * 3
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(times)] == [86_400] * 2
    assert arn == snapshot(lab.clock.timestamp)["tasks"][0]["arn"]
