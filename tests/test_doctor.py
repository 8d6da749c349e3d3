"""``labkit doctor``: this installation passes; broken ones are named with what to do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from labkit.doctor import (
    SETUP_FIX,
    check_frontend,
    check_locked,
    check_python,
    check_widget_extension,
    check_widget_protocol,
    diagnose,
    format_report,
    parse_lock,
)

ROOT = Path(__file__).resolve().parent.parent
EXTENSION = {"version": "5.0.16", "dependencies": {"@jupyter-widgets/base": "^6.0.12"}}


def test_this_installation_is_healthy() -> None:
    findings = diagnose()
    assert all(f.ok for f in findings), format_report(findings)
    names = {f.name for f in findings}
    assert {"Python", "JupyterLab", "widget extension", "moto", "boto3", "ipywidgets"} <= names


def test_the_command_prints_and_exits_zero_when_healthy() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "labkit.cli", "doctor", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert all(item["ok"] for item in json.loads(done.stdout))


def test_old_python_is_refused_with_what_to_do() -> None:
    finding = check_python((3, 9, 18))
    assert not finding.ok and "3.10 or newer" in finding.detail
    assert "make setup" in finding.fix
    assert check_python((3, 12, 1)).ok


def test_the_lock_is_read_with_its_markers() -> None:
    lock = (
        "moto==5.2.5\n    # via labkit\n"
        "matplotlib==3.10.9 ; python_full_version < '3.11'\n"
        "matplotlib==3.11.2 ; python_full_version >= '3.11'\n"
        "Jupyterlab_Widgets==3.0.17\n"
    )
    old = parse_lock(lock, {"python_full_version": "3.10.4", "python_version": "3.10"})
    new = parse_lock(lock, {"python_full_version": "3.12.1", "python_version": "3.12"})
    assert old["matplotlib"] == "3.10.9" and new["matplotlib"] == "3.11.2"
    assert new["moto"] == "5.2.5" and new["jupyterlab-widgets"] == "3.0.17"


def test_drifted_moto_and_missing_boto3_say_how_to_fix() -> None:
    findings = check_locked(
        {"moto": "5.1.0", "boto3": None}, {"moto": "5.2.5", "boto3": "1.44.8"}, ["moto", "boto3"]
    )
    moto, boto3 = findings
    assert not moto.ok and "5.1.0 installed, but the lock says 5.2.5" in moto.detail
    assert not boto3.ok and "not installed" in boto3.detail
    assert moto.fix == SETUP_FIX and "requirements.lock" in moto.fix


def test_front_end_drift_is_found() -> None:
    assert check_frontend("4.6.6", "4.6.6").ok
    drift = check_frontend("4.6.6", "4.2.0")
    assert not drift.ok and "front end it serves is 4.2.0" in drift.detail


def test_a_missing_or_disabled_widget_extension_is_named() -> None:
    missing = check_widget_extension(None, None, False)
    assert not missing.ok and "model not found" in missing.detail
    disabled = check_widget_extension(EXTENSION, "/x", True)
    assert not disabled.ok and "jupyter labextension enable" in disabled.fix
    assert check_widget_extension(EXTENSION, "/x", False).ok


def test_kernel_and_front_end_widget_versions_must_speak_one_protocol() -> None:
    assert check_widget_protocol("8.1.9", "2.0.0", EXTENSION).ok
    old_kernel = check_widget_protocol("7.8.5", "1.2.0", EXTENSION)
    assert not old_kernel.ok and "model not found" in old_kernel.detail
    no_kernel_widgets = check_widget_protocol(None, None, EXTENSION)
    assert not no_kernel_widgets.ok and "not installed in the kernel" in no_kernel_widgets.detail


def test_the_report_ends_with_a_verdict() -> None:
    broken = format_report([check_python((3, 8, 0)), check_frontend("4.6.6", "4.6.6")])
    assert "✘ PROBLEM Python" in broken and "→ Install Python" in broken
    assert broken.endswith(
        "1 problem(s): fix them in the order shown, then run `labkit doctor` again."
    )


def test_binder_installs_exactly_the_lock_and_checks_it() -> None:
    binder = ROOT / "binder"
    requirements = [
        line.strip()
        for line in (binder / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert requirements == ["-r ../requirements.lock"]
    assert (binder / "requirements.txt").parent.joinpath("../requirements.lock").resolve() == (
        ROOT / "requirements.lock"
    )
    runtime = (binder / "runtime.txt").read_text().strip()
    major, minor = (int(p) for p in runtime.removeprefix("python-").split(".")[:2])
    assert check_python((major, minor, 0)).ok
    post_build = (binder / "postBuild").read_text()
    assert "pip install --no-cache-dir --no-deps -e ." in post_build
    assert post_build.rstrip().endswith("labkit doctor")
    assert (binder / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"
