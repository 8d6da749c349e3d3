"""``labkit grade`` on a class: folders, workers, report files, the class summary, hidden checks.

The CLI runs as an instructor would run it (a subprocess on a folder of submissions). Hidden
checks use a lab spec defined in this file (``HIDDEN_WELCOME``: the welcome lab plus one hidden
check), handed to the grader with ``--checks``, so the course's own labs stay as they are.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jupytext
import pytest

from labkit.errors import LabkitError
from labkit.grading.batch import Progress, collect
from labkit.grading.checks import Check, CheckContext
from labkit.grading.kernels import Kernel
from labkit.grading.notebook import Submission
from labkit.grading.outputs import atomic_write, csv_text, junit_text
from labkit.grading.report import score_plot_png, summarize, summary_text
from labkit.grading.results import CheckResult
from labkit.lab import Lab
from labkit.labs.spec import LabSpec
from labkit.labs.welcome import LAB as WELCOME

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = Path(__file__).resolve().parent / "submissions" / "welcome"
THIS = Path(__file__).resolve()


# -- a lab with a hidden check (test-only) ----------------------------------------------------
def check_exact_note(ctx: CheckContext) -> None:
    """The note holds exactly the text, without a trailing newline."""
    body = ctx.client("s3").get_object(Bucket="welcome-notes", Key="hello.txt")["Body"].read()
    ctx.expect(body == b"Hello, labkit!", f"The note is {body!r}.", hint="No newline.")


SECRET_TITLE = "the note has no trailing newline (secret)"
HIDDEN_WELCOME = LabSpec(
    id=WELCOME.id,
    title=WELCOME.title,
    lesson=WELCOME.lesson,
    lesson_source=WELCOME.lesson_source,
    exercise=WELCOME.exercise,
    solution=WELCOME.solution,
    source=WELCOME.source,
    checks=(
        *WELCOME.checks,
        Check(
            name="exact_note",
            title=SECRET_TITLE,
            points=3,
            run=check_exact_note,
            hidden=True,
        ),
    ),
)


def test_learners_see_how_many_hidden_checks_exist_never_their_content() -> None:
    ns: dict[str, Any] = {}
    for cell in jupytext.read(SAMPLES / "passing_alternative.py").cells:
        if cell.cell_type == "code":  # a correct notebook; its note ends with a newline
            exec(cell.source, ns)
    started: Lab = ns["lab"]
    try:
        lab = Lab(HIDDEN_WELCOME, clock=started.clock, sandbox=started.sandbox, namespace=ns)
        report = lab.check_all()
        assert [r.name for r in report.results] == ["inbox_queue", "handle_one", "notes_bucket"]
        assert report.all_passed  # every check that ran...
        assert report.hidden_count == 1 and report.hidden_points == 3  # ...but one did not run
        for shown in (report.text(), report._repr_html_()):
            assert "1 hidden check worth 3 points runs only when your work is graded" in shown
            assert "exact_note" not in shown and SECRET_TITLE not in shown
            assert "all passed" not in shown.lower()
            assert "all checks passed" not in shown.lower()
        with pytest.raises(LabkitError, match="hidden check"):
            lab.check("exact_note")
        # labkit grade runs it: this notebook's note ends with a newline.
        graded = lab.grade(ns)
        assert {r.name: r.passed for r in graded.results}["exact_note"] is False
    finally:
        started.stop()


def test_labkit_list_never_describes_a_hidden_check(monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    import labkit.labs
    from labkit.cli import format_labs, list_labs

    monkeypatch.setattr(labkit.labs, "catalog", lambda: {HIDDEN_WELCOME.id: HIDDEN_WELCOME})
    listing = list_labs()
    names = [c["name"] for c in listing["labs"][0]["checks"]]
    assert names == ["inbox_queue", "handle_one", "notes_bucket"]
    for shown in (json.dumps(listing), format_labs(listing)):
        assert "exact_note" not in shown and SECRET_TITLE not in shown


# -- the command line on a folder -------------------------------------------------------------
def as_notebook(source: Path, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(jupytext.read(source), target, fmt="ipynb")
    return target


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    return subprocess.run(
        [sys.executable, "-m", "labkit.cli", "grade", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=900,
    )


@pytest.fixture(scope="module")
def classroom(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder as an instructor collects it: one folder per learner, and some clutter."""
    folder = tmp_path_factory.mktemp("class")
    as_notebook(SAMPLES / "passing_alternative.py", folder / "ada" / "welcome.ipynb")
    as_notebook(SAMPLES / "forgot_delete.py", folder / "bo" / "welcome.ipynb")
    as_notebook(SAMPLES / "default_visibility.py", folder / "cy" / "welcome.ipynb")
    (folder / "dee").mkdir()
    (folder / "dee" / "welcome.ipynb").write_text("{ this is not json", encoding="utf-8")
    as_notebook(SAMPLES / "forgot_delete.py", folder / "ada" / ".ipynb_checkpoints" / "x.ipynb")
    (folder / "ada" / "notes.txt").write_text("not a notebook", encoding="utf-8")
    return folder


def hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def graded_class(
    classroom: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("reports")
    before = hashes(classroom)
    result = run_cli(
        str(classroom),
        "--workers",
        "2",
        "--cell-timeout",
        "60",
        "--json",
        str(out / "grades.json"),
        "--csv",
        str(out / "grades.csv"),
        "--junit",
        str(out / "grades.xml"),
        "--html",
        str(out / "summary.html"),
    )
    assert hashes(classroom) == before, "grading wrote into the class folder"
    return result, out


def test_folders_are_searched_and_clutter_skipped(classroom: Path) -> None:
    found = [p for p in collect([classroom, classroom / "ada" / "welcome.ipynb"])]
    assert [str(Path(p).relative_to(classroom)) for p in found if isinstance(p, Path)] == [
        "ada/welcome.ipynb",
        "bo/welcome.ipynb",
        "cy/welcome.ipynb",
        "dee/welcome.ipynb",
    ]
    (missing,) = collect([classroom / "nobody"])
    assert isinstance(missing, Submission) and missing.error == "no such file or folder"


def test_the_class_is_graded_and_the_exit_code_says_not_all_passed(
    graded_class: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, out = graded_class
    assert result.returncode == 1, result.stderr[-2000:]
    report = json.loads((out / "grades.json").read_text())
    by_learner = {Path(s["path"]).parent.name: s for s in report["submissions"]}
    assert set(by_learner) == {"ada", "bo", "cy", "dee"}
    assert by_learner["ada"]["score"] == 4 and by_learner["bo"]["score"] == 2
    assert by_learner["cy"]["score"] == 0
    assert "not a readable notebook" in by_learner["dee"]["error"]
    for sub in report["submissions"]:
        assert set(sub) == {"path", "lab", "score", "max_score", "error", "checks"}
        for check in sub["checks"]:
            assert set(check) == {"name", "passed", "points", "max_points", "message"}


def test_the_class_summary_is_printed(
    graded_class: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, _ = graded_class
    assert "Class summary: 4 notebook(s); 1 passed every check, 1 could not be graded" in (
        result.stdout
    )
    assert "welcome/handle_one" in result.stdout and "1/3" in result.stdout
    assert "Most failed: handle_one (2 failed)" in result.stdout


def test_progress_goes_to_stderr_as_plain_lines_when_not_a_terminal(
    graded_class: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    result, _ = graded_class
    lines = [line for line in result.stderr.splitlines() if line.startswith("[")]
    assert len(lines) == 4 and all(
        line.startswith(("[1/4]", "[2/4]", "[3/4]", "[4/4]")) for line in lines
    )
    assert "\r" not in result.stderr
    assert "Graded 4/4 notebooks" in result.stderr


def test_csv_junit_and_html_reports_are_written(
    graded_class: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, out = graded_class
    rows = list(csv.DictReader(io.StringIO((out / "grades.csv").read_text())))
    assert [r["score"] for r in rows] == ["4", "2", "0", "0"]
    assert rows[1]["handle_one"] == "0" and rows[1]["inbox_queue"] == "1"
    assert rows[3]["error"].startswith("not a readable notebook")

    suites = ET.parse(out / "grades.xml").getroot()
    assert suites.get("tests") == "10" and suites.get("failures") == "4"
    assert suites.get("errors") == "1"

    html = (out / "summary.html").read_text()
    assert "Class summary" in html and "data:image/png;base64," in html
    assert (out / "summary.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "temporary files left"


def test_json_on_stdout_hidden_checks_run_and_exit_zero_only_when_all_pass(
    tmp_path: Path,
) -> None:
    ada = as_notebook(SAMPLES / "passing_alternative.py", tmp_path / "ada.ipynb")
    solution = ROOT / "solutions" / "01_welcome.ipynb"
    spec = f"{THIS}:HIDDEN_WELCOME"

    both = run_cli("--json", "--checks", spec, "--quiet", str(ada), str(solution))
    assert both.returncode == 1, both.stderr[-2000:]
    report = json.loads(both.stdout)  # stdout is nothing but the JSON document
    scores = {Path(s["path"]).stem: (s["score"], s["max_score"]) for s in report["submissions"]}
    assert scores == {"ada": (4, 7), "01_welcome": (7, 7)}
    ada_checks = {c["name"]: c["passed"] for c in report["submissions"][0]["checks"]}
    assert ada_checks == {
        "inbox_queue": True,
        "handle_one": True,
        "notes_bucket": True,
        "exact_note": False,
    }

    only_solution = run_cli("--json", "--checks", spec, "--quiet", str(solution))
    assert only_solution.returncode == 0, only_solution.stderr[-2000:]


# -- the pieces on their own ------------------------------------------------------------------
def result(name: str, passed: bool, points: float = 1) -> CheckResult:
    status = "passed" if passed else "failed"
    return CheckResult("welcome", name, name, status, points if passed else 0, points, "m")


SUBS = [
    Submission("a.ipynb", "welcome", (result("x", True), result("y", True)), 2),
    Submission("b.ipynb", "welcome", (result("x", True), result("y", False)), 2),
    Submission("c.ipynb", "welcome", (result("x", False), result("y", False)), 2, flags=("f",)),
    Submission("d.ipynb", None, error="not a readable notebook"),
]


def test_the_summary_adds_up() -> None:
    summary = summarize(SUBS)
    assert (summary.total, summary.graded, summary.passed) == (4, 3, 1)
    rates = {c.name: (c.passed, c.graded) for c in summary.checks}
    assert rates == {"x": (2, 3), "y": (1, 3)}
    assert [c.name for c in summary.most_failed] == ["y", "x"]
    assert summary.scores == {"welcome": [2, 1, 0]}
    text = summary_text(summary)
    assert "mean 1.00/2" in text and "Most failed: y (2 failed), x (1 failed)" in text
    assert score_plot_png(summary)[:4] == b"\x89PNG"


def test_junit_and_csv_escape_what_xml_and_csv_cannot_hold() -> None:
    odd = CheckResult("welcome", "x", "t", "failed", 0, 1, 'bell \x07 <tag> "q", comma')
    sub = Submission("odd, name.ipynb", "welcome", (odd,), 1)
    root = ET.fromstring(junit_text([sub]).split("\n", 1)[1])
    assert root.find(".//failure") is not None
    rows = list(csv.reader(io.StringIO(csv_text([sub]))))
    assert rows[1][0] == "odd, name.ipynb"


def test_atomic_write_keeps_the_old_file_when_writing_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "grades.json"
    atomic_write(target, "old")

    def broken(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["grades.json"]


def test_progress_redraws_one_line_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    progress = Progress(2, stream=screen)
    progress.update(SUBS[0])
    progress.update(SUBS[3])
    progress.finish()
    shown = screen.getvalue()
    assert shown.count("\r") >= 2 and "[" in shown
    last = shown.rsplit("\r", 1)[-1]
    assert "Graded 2/2 notebooks, 1 not fully passing, 1 error(s), 0 flagged, " in last
    assert last.endswith("\n") and last.count("\n") == 1


def test_a_kernel_class_must_say_how_to_watch_interrupt_and_kill_its_process() -> None:
    class NoKill(Kernel):
        async def alive(self) -> bool:
            return True

        async def interrupt(self) -> None:
            pass

    with pytest.raises(TypeError, match="kill"):
        NoKill(client=None)  # type: ignore[abstract, arg-type]

    class Complete(NoKill):
        async def kill(self) -> None:
            pass

    assert Complete(client=None).client is None  # type: ignore[arg-type]
