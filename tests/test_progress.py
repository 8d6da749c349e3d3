"""The learner's progress file: passes are recorded, failures are not, writes are atomic."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from labkit.grading import CheckResult
from labkit.grading.progress import load_progress, progress_path, record_pass
from labkit.lab import Lab
from labkit.sandbox.timeshift import wall_now

WHEN = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh LABKIT_HOME for one test."""
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    monkeypatch.delenv("LABKIT_PROGRESS", raising=False)
    return tmp_path


def _make_notes_bucket(lab: Lab) -> None:
    s3 = lab.client("s3")
    s3.create_bucket(Bucket="welcome-notes")
    s3.put_object(Bucket="welcome-notes", Key="hello.txt", Body=b"Hello, labkit!")


def _result(name: str = "demo", *, passed: bool = True) -> CheckResult:
    return CheckResult(
        lab="welcome",
        name=name,
        title="t",
        status="passed" if passed else "failed",
        points=1 if passed else 0,
        max_points=1,
        message="",
    )


def test_the_session_never_writes_to_the_real_home(labkit_home: Path) -> None:
    assert os.environ["LABKIT_HOME"] == str(labkit_home)
    assert progress_path() == labkit_home / "progress.json"
    assert not progress_path().is_relative_to(Path.home() / ".labkit")


def test_a_passed_check_is_recorded(home: Path, welcome: Lab) -> None:
    _make_notes_bucket(welcome)
    before = wall_now()
    assert welcome.check("notes_bucket", {}).passed
    data = json.loads((home / "progress.json").read_text(encoding="utf-8"))
    entry = data["labs"]["welcome"]["notes_bucket"]
    assert entry["points"] == 1
    assert entry["max_points"] == 1
    # Stamped with the real time, not the lab clock (2026-01-05 by default).
    assert entry["passed_at"][:10] == before.date().isoformat()
    assert load_progress() == data["labs"]


def test_a_failed_check_is_not_recorded(home: Path, welcome: Lab) -> None:
    assert not welcome.check("notes_bucket", {}).passed
    assert not (home / "progress.json").exists()
    assert load_progress() == {}


def test_a_later_failure_does_not_erase_an_earlier_pass(home: Path, welcome: Lab) -> None:
    _make_notes_bucket(welcome)
    assert welcome.check("notes_bucket", {}).passed
    welcome.reset()
    assert not welcome.check("notes_bucket", {}).passed
    assert "notes_bucket" in load_progress()["welcome"]


def test_progress_can_be_turned_off(
    home: Path, welcome: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABKIT_PROGRESS", "off")
    _make_notes_bucket(welcome)
    assert welcome.check("notes_bucket", {}).passed
    assert not (home / "progress.json").exists()


def test_passes_of_several_checks_accumulate(home: Path) -> None:
    record_pass(_result("one"), when=WHEN)
    record_pass(_result("two"), when=WHEN)
    record_pass(_result("three", passed=False), when=WHEN)
    assert sorted(load_progress()["welcome"]) == ["one", "two"]


def test_the_write_goes_through_os_replace(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: Any, dst: Any) -> None:
        calls.append((os.fspath(src), os.fspath(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    record_pass(_result("one"), when=WHEN)
    assert len(calls) == 1
    src, dst = calls[0]
    assert dst == str(home / "progress.json")
    assert Path(src).parent == home and src != dst


def _old_file(home: Path) -> str:
    record_pass(_result("old"), when=WHEN)
    return (home / "progress.json").read_text(encoding="utf-8")


def _leftovers(home: Path) -> list[str]:
    return sorted(p.name for p in home.iterdir() if p.name != "progress.json")


def test_a_crash_while_serialising_leaves_the_old_file_intact(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _old_file(home)

    def crash(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("kernel died while writing")

    with monkeypatch.context() as patch, pytest.raises(RuntimeError):
        patch.setattr(json, "dumps", crash)
        record_pass(_result("new"), when=WHEN)
    assert (home / "progress.json").read_text(encoding="utf-8") == old
    assert _leftovers(home) == []


def test_a_crash_half_way_through_the_write_leaves_the_old_file_intact(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _old_file(home)

    # The new text is already (partly) in the temporary file when the crash comes.
    def crash(fd: int) -> None:
        raise OSError("disk went away")

    with monkeypatch.context() as patch, pytest.raises(OSError, match="disk went away"):
        patch.setattr(os, "fsync", crash)
        record_pass(_result("new"), when=WHEN)
    assert (home / "progress.json").read_text(encoding="utf-8") == old
    assert _leftovers(home) == [], "the temporary file must be cleaned up"
    assert list(load_progress()["welcome"]) == ["old"]


def test_a_failing_write_never_breaks_a_check(
    home: Path, welcome: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(fd: int) -> None:
        raise OSError("read-only home")

    monkeypatch.setattr(os, "fsync", crash)
    _make_notes_bucket(welcome)
    assert welcome.check("notes_bucket", {}).passed


@pytest.mark.parametrize(
    "content",
    ["{not json", "", "[1, 2, 3]", '{"labs": "nope"}', "\x00\x01garbage", '"just a string"'],
    ids=["truncated", "empty", "list", "labs-not-dict", "binary", "string"],
)
def test_a_corrupt_file_reads_as_empty_progress(home: Path, content: str) -> None:
    (home / "progress.json").write_text(content, encoding="utf-8")
    assert load_progress() == {}


def test_a_corrupt_file_is_replaced_by_the_next_pass(home: Path) -> None:
    (home / "progress.json").write_text("{not json", encoding="utf-8")
    record_pass(_result("one"), when=WHEN)
    assert list(load_progress()["welcome"]) == ["one"]


def test_a_missing_file_reads_as_empty_progress(home: Path) -> None:
    assert load_progress() == {}
