"""The learner's progress: which checks have passed, kept in a small local JSON file.

The file lives in ``$LABKIT_HOME`` (default ``~/.labkit``) and is written atomically (a temporary
file renamed over the old one), so a kernel that dies mid-write never leaves it half written.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from labkit.grading.results import CheckResult


def progress_path() -> Path:
    """Where the progress file lives."""
    home = os.environ.get("LABKIT_HOME")
    base = Path(home) if home else Path.home() / ".labkit"
    return base / "progress.json"


def load_progress(*, path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The recorded progress: ``{lab: {check: {"points", "max_points", "passed_at"}}}``.

    A missing or unreadable file is an empty progress, never an error.
    """
    target = path or progress_path()
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    labs = data.get("labs") if isinstance(data, dict) else None
    return labs if isinstance(labs, dict) else {}


def record_pass(result: CheckResult, *, when: datetime, path: Path | None = None) -> None:
    """Record that ``result`` passed (failed results are not recorded)."""
    if not result.passed:
        return
    target = path or progress_path()
    labs = load_progress(path=target)
    labs.setdefault(result.lab, {})[result.name] = {
        "points": result.points,
        "max_points": result.max_points,
        "passed_at": when.isoformat(timespec="seconds"),
    }
    write_atomically(target, json.dumps({"version": 1, "labs": labs}, indent=2, sort_keys=True))


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old or the new file, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
