"""The ``labkit`` command: a thin layer over keyword-only functions.

Commands: ``lab`` (open the course in JupyterLab), ``list`` (labs and checks), ``grade``
(grade notebooks), ``progress`` (checks passed), ``assign`` (generate notebooks from sources),
``doctor`` (check the installation).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from labkit.errors import LabkitError
from labkit.grading.timelimit import DEFAULT_CELL_TIMEOUT


def repo_root() -> Path:
    """The course repository (labkit is installed from it in editable mode)."""
    return Path(__file__).resolve().parent.parent


# -- the functions the commands call -------------------------------------------------------
def list_labs() -> dict[str, Any]:
    """Every lab with its notebooks and checks, paths relative to the repository root."""
    from labkit.labs import catalog

    return {
        "labs": [
            {
                "id": spec.id,
                "title": spec.title,
                "lesson": spec.lesson,
                "exercise": spec.exercise,
                "solution": spec.solution,
                # Hidden checks are counted in a grade but never described to learners.
                "checks": [
                    {"name": c.name, "points": c.points, "title": c.title}
                    for c in spec.checks
                    if not c.hidden
                ],
            }
            for spec in catalog().values()
        ]
    }


def format_labs(listing: dict[str, Any]) -> str:
    """The plain-text form of :func:`list_labs`."""
    lines = []
    for lab in listing["labs"]:
        lines.append(f"{lab['id']}: {lab['title']}")
        lines.append(f"  lesson   {lab['lesson']}")
        lines.append(f"  exercise {lab['exercise']}")
        lines.append(f"  solution {lab['solution']}")
        for check in lab["checks"]:
            lines.append(f"  - {check['name']} ({check['points']:g} pt): {check['title']}")
    return "\n".join(lines)


def open_lab(*, root: Path, port: int | None = None, no_browser: bool = False) -> int:
    """Start JupyterLab on the course index; returns its exit code."""
    from labkit.authoring.assign import INDEX

    args = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={root}",
        str(root / INDEX),
    ]
    # No "get Jupyter news?" pop-up over the notebook, and no network call for it.
    args.append("--LabApp.news_url=None")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")  # containers and CI run as root; JupyterLab refuses otherwise
    if port:
        args.append(f"--port={port}")
    if no_browser:
        args.append("--no-browser")
    return subprocess.call(args, cwd=root)


# -- argument parsing ----------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labkit", description="Offline AWS architecture labs.")
    sub = parser.add_subparsers(dest="command", required=True)

    lab = sub.add_parser("lab", help="open the course in JupyterLab")
    lab.add_argument("--port", type=int, default=None)
    lab.add_argument("--no-browser", action="store_true")

    listing = sub.add_parser("list", help="list the labs and their checks")
    listing.add_argument("--json", action="store_true", help="print JSON")

    grade = sub.add_parser(
        "grade",
        help="grade notebooks and folders of them (exit 0 only if every check passed)",
        description="Run each notebook in a fresh kernel of its own, then its lab's checks. "
        "Exit 0 only when every check of every notebook passed. Never writes to a notebook.",
    )
    grade.add_argument("notebooks", nargs="*", type=Path, help="notebooks and folders")
    grade.add_argument(
        "--json",
        nargs="?",
        const="-",
        default=None,
        metavar="FILE",
        help="JSON report: to FILE, or printed instead of the text report when no FILE is given",
    )
    grade.add_argument("--csv", type=Path, metavar="FILE", help="write a CSV gradebook")
    grade.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML (for CI)")
    grade.add_argument(
        "--html", type=Path, metavar="FILE", help="write the class summary page (PNG beside it)"
    )
    grade.add_argument("--lab", default=None, help="grade every notebook against this lab")
    grade.add_argument(
        "--checks",
        action="append",
        default=[],
        metavar="MODULE:NAME",
        help="grade with an instructor's LabSpec (package.module:NAME or file.py:NAME), e.g. "
        "one with hidden checks kept out of the course repository; replaces the lab of its id",
    )
    grade.add_argument(
        "--workers", type=int, default=None, help="notebooks at once (default: the cores)"
    )
    grade.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="wall seconds a notebook's cells may take in all (default 600)",
    )
    grade.add_argument(
        "--cell-timeout",
        type=float,
        default=DEFAULT_CELL_TIMEOUT,
        help="wall seconds one cell may run before it is interrupted "
        f"(default {DEFAULT_CELL_TIMEOUT:g})",
    )
    grade.add_argument(
        "--no-fork",
        action="store_true",
        help="start every kernel the ordinary way instead of forking a warm template",
    )
    grade.add_argument("--kernel", default="python3", help="the Jupyter kernel (python3)")
    grade.add_argument("--quiet", action="store_true", help="no progress on stderr")

    doctor = sub.add_parser(
        "doctor", help="check this installation: Python, JupyterLab, widgets, moto, boto3"
    )
    doctor.add_argument("--json", action="store_true", help="print JSON")

    sub.add_parser("progress", help="the checks you have passed, by lab")

    assign = sub.add_parser("assign", help="generate notebooks and exercises from their sources")
    assign.add_argument("--check", action="store_true", help="fail if anything would change")
    return parser


def grade_command(args: argparse.Namespace) -> int:
    """``labkit grade``: grade, print, write the requested files; the exit code."""
    from labkit.grading.batch import Progress, collect, grade_many
    from labkit.grading.outputs import json_text, write_csv, write_json, write_junit
    from labkit.grading.report import summarize, summary_text, write_html_report

    notebooks = list(args.notebooks)
    json_to = args.json
    # `--json NOTEBOOK` (the flag before a notebook, as it always worked) means "print JSON".
    if json_to not in (None, "-") and (json_to.endswith(".ipynb") or Path(json_to).is_dir()):
        notebooks.insert(0, Path(json_to))
        json_to = "-"
    if not notebooks:
        raise LabkitError("Name at least one notebook or folder to grade.")
    if args.workers is not None and args.workers < 1:
        raise LabkitError("--workers must be 1 or more.")
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # A cancelled CI job sends SIGTERM: stop like Ctrl+C does, so every kernel is shut down and
    # the temporary folder removed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    progress = Progress(len(collect(notebooks)), enabled=not args.quiet)
    try:
        subs = grade_many(
            notebooks,
            workers=args.workers,
            lab=args.lab,
            cell_timeout=args.cell_timeout,
            timeout=args.timeout,
            kernel_name=args.kernel,
            checks=args.checks,
            fork=False if args.no_fork else None,
            progress=progress,
        )
    except KeyboardInterrupt:
        print("\nlabkit: grading stopped; no report was written.", file=sys.stderr)
        return 130
    summary = summarize(subs)
    report = "\n\n".join(s.text() for s in subs)
    if len(subs) > 1:
        report += "\n\n" + summary_text(summary)
    if json_to == "-":
        sys.stdout.write(json_text(subs))
        if len(subs) > 1 and not args.quiet:
            print(summary_text(summary), file=sys.stderr)
    else:
        print(report)
        if json_to is not None:
            print(f"wrote {write_json(json_to, subs)}")
    written = []
    if args.csv:
        written.append(write_csv(args.csv, subs))
    if args.junit:
        written.append(write_junit(args.junit, subs))
    if args.html:
        written.extend(write_html_report(args.html, subs, summary))
    for path in written:
        print(f"wrote {path}", file=sys.stderr if json_to == "-" else sys.stdout)
    return 0 if subs and all(s.passed for s in subs) else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``labkit`` command."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except LabkitError as exc:
        print(f"labkit: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.command == "lab":
        return open_lab(root=repo_root(), port=args.port, no_browser=args.no_browser)
    if args.command == "list":
        listing = list_labs()
        print(json.dumps(listing, indent=2) if args.json else format_labs(listing))
        return 0
    if args.command == "grade":
        return grade_command(args)
    if args.command == "doctor":
        from labkit.doctor import diagnose, format_report

        findings = diagnose()
        if args.json:
            print(json.dumps([f.to_dict() for f in findings], indent=2))
        else:
            print(format_report(findings))
        return 0 if all(f.ok for f in findings) else 1
    if args.command == "progress":
        from labkit.grading.progress_view import progress

        print(progress().text())  # the same report the course index shows
        return 0
    if args.command == "assign":
        from labkit.authoring.assign import assign

        changed = assign(root=repo_root(), check=args.check)
        if args.check:
            if changed:
                print("These generated notebooks differ from their sources; run `labkit assign`:")
                print("\n".join(f"  {p}" for p in changed))
                return 1
            print("All generated notebooks match their sources.")
            return 0
        print("\n".join(f"wrote {p}" for p in changed) or "Nothing to write: all up to date.")
        return 0
    raise AssertionError(args.command)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
