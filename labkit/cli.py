"""The ``labkit`` command: a thin layer over keyword-only functions.

Commands: ``lab`` (open the course in JupyterLab), ``list`` (labs and checks), ``grade``
(grade notebooks), ``progress`` (checks passed), ``assign`` (generate notebooks from sources).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from labkit.errors import LabkitError


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
                "checks": [
                    {"name": c.name, "points": c.points, "title": c.title} for c in spec.checks
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
    if port:
        args.append(f"--port={port}")
    if no_browser:
        args.append("--no-browser")
    return subprocess.call(args, cwd=root)


def format_progress(progress: dict[str, dict[str, Any]]) -> str:
    """The plain-text form of the learner's progress, lab by lab."""
    from labkit.labs import catalog

    labs = catalog()
    if not labs:
        return "No labs."
    lines = []
    for lab_id, spec in labs.items():
        passed = progress.get(lab_id, {})
        earned = sum(float(v.get("points", 0)) for k, v in passed.items())
        lines.append(
            f"{lab_id}: {len(passed)}/{len(spec.checks)} checks passed, "
            f"{earned:g}/{spec.max_score:g} points"
        )
        for check in spec.checks:
            mark = "✔ passed" if check.name in passed else "· not yet"
            lines.append(f"  {mark}  {check.name}")
    return "\n".join(lines)


# -- argument parsing ----------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="labkit", description="Offline AWS architecture labs.")
    sub = parser.add_subparsers(dest="command", required=True)

    lab = sub.add_parser("lab", help="open the course in JupyterLab")
    lab.add_argument("--port", type=int, default=None)
    lab.add_argument("--no-browser", action="store_true")

    listing = sub.add_parser("list", help="list the labs and their checks")
    listing.add_argument("--json", action="store_true", help="print JSON")

    grade = sub.add_parser("grade", help="grade notebooks (exit 0 only if every check passed)")
    grade.add_argument("notebooks", nargs="+", type=Path)
    grade.add_argument("--json", action="store_true", help="print JSON")
    grade.add_argument("--lab", default=None, help="grade against this lab")
    grade.add_argument("--cell-timeout", type=float, default=120.0)

    sub.add_parser("progress", help="the checks you have passed, by lab")

    assign = sub.add_parser("assign", help="generate notebooks and exercises from their sources")
    assign.add_argument("--check", action="store_true", help="fail if anything would change")
    return parser


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
        from labkit.grading.notebook import grade_notebook

        os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
        subs = [
            grade_notebook(path, lab=args.lab, cell_timeout=args.cell_timeout)
            for path in args.notebooks
        ]
        if args.json:
            print(json.dumps({"submissions": [s.to_dict() for s in subs]}, indent=2))
        else:
            print("\n\n".join(s.text() for s in subs))
        return 0 if subs and all(s.passed for s in subs) else 1
    if args.command == "progress":
        from labkit.grading.progress import load_progress, progress_path

        print(format_progress(load_progress()))
        print(f"(kept in {progress_path()})")
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
