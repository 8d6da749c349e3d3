"""``labkit.progress()``: the learner's progress shown in a notebook (the course index runs it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest

import labkit
from labkit.authoring.assign import index_notebook
from labkit.grading import CheckResult
from labkit.grading.progress import record_pass
from labkit.grading.progress_view import NOT_YET, PASSED, progress
from labkit.labs import catalog

WHEN = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path))
    return tmp_path


def _pass(lab: str, name: str) -> None:
    check = catalog()[lab].check(name)
    result = CheckResult(lab, name, check.title, "passed", check.points, check.points, "ok")
    record_pass(result, when=WHEN)


def test_with_no_progress_it_says_how_to_start(home: Path) -> None:
    report = labkit.progress()
    assert report.empty
    bundle = report._repr_mimebundle_()
    for text in (bundle["text/plain"], bundle["text/html"]):
        assert "No check has passed yet" in text
        assert "first lesson" in text
        assert PASSED not in text
    assert report.path == home / "progress.json"


def test_passed_checks_are_shown_by_symbol_and_word_per_lab(home: Path) -> None:
    _pass("welcome", "inbox_queue")
    report = labkit.progress()
    assert not report.empty
    welcome = next(lab for lab in report.labs if lab.id == "welcome")
    spec = catalog()["welcome"]
    assert welcome.passed == 1
    assert welcome.earned == spec.check("inbox_queue").points
    assert welcome.max_score == spec.max_score
    text = report.text()
    assert f"welcome: 1/{len(spec.checks)} checks passed" in text
    assert f"{PASSED}  inbox_queue" in text
    assert f"{NOT_YET}  handle_one" in text
    html = report._repr_mimebundle_()["text/html"]
    assert f"{PASSED} <code>inbox_queue</code>" in html
    assert f"{NOT_YET} <code>handle_one</code>" in html
    assert "No check has passed yet" not in html
    # every lab of the course is listed, started or not
    assert [lab.id for lab in report.labs] == list(catalog())


def test_text_and_html_agree_on_every_checks_state(home: Path) -> None:
    _pass("welcome", "handle_one")
    report = progress()
    html = report.html()
    for lab in report.labs:
        for check in lab.checks:
            assert f"{check.state}  {check.name}" in report.text()
            assert f"{check.state} <code>{check.name}</code>" in html.replace("&#x27;", "'")


def test_an_unreadable_progress_file_is_no_progress(home: Path) -> None:
    (home / "progress.json").write_text("{not json", encoding="utf-8")
    assert progress().empty


def test_it_reads_the_file_it_is_given(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.json"
    target.write_text(
        json.dumps({"version": 1, "labs": {"welcome": {"notes_bucket": {"points": 1}}}}),
        encoding="utf-8",
    )
    report = progress(path=target)
    welcome = next(lab for lab in report.labs if lab.id == "welcome")
    assert [c.name for c in welcome.checks if c.passed] == ["notes_bucket"]


def test_showing_progress_starts_no_sandbox_and_loads_no_moto(home: Path) -> None:
    code = "import sys, labkit; labkit.progress().text(); print('moto' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "LABKIT_HOME": str(home)},
    )
    assert out.stdout.strip() == "False"


def test_the_course_index_runs_labkit_progress() -> None:
    generated = index_notebook(list(catalog().values()))
    nb = nbformat.reads(generated.text, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert code == ["import labkit\n\nlabkit.progress()"]
    assert all(c.get("outputs") == [] for c in nb.cells if c.cell_type == "code")


def test_the_command_line_prints_the_report_the_index_shows(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from labkit.cli import main

    _pass("welcome", "inbox_queue")
    assert main(["progress"]) == 0
    printed = capsys.readouterr().out
    assert printed.strip() == progress().text().strip()
    assert f"{PASSED}  inbox_queue" in printed and str(home) in printed
