"""Grade files for other tools: JSON, CSV (for a gradebook or LMS) and JUnit XML (for CI).

Every file is written atomically: the data goes to a temporary file in the same folder, which
then replaces the target in one step, so a reader (or a crash half-way) never sees half a file,
and an old file stays as it was when writing fails.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from labkit.grading.notebook import Submission


def atomic_write(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write ``data`` to ``path`` all at once (temporary file, then rename).

    Returns:
        The path written.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp makes the file private; a grade file should read like any other file.
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temporary, 0o666 & ~mask)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return target


def report_dict(subs: Sequence[Submission]) -> dict[str, Any]:
    """The JSON document of ``labkit grade --json``."""
    return {"submissions": [s.to_dict() for s in subs]}


def json_text(subs: Sequence[Submission]) -> str:
    """The JSON document as text."""
    return json.dumps(report_dict(subs), indent=2) + "\n"


def write_json(path: str | os.PathLike[str], subs: Sequence[Submission]) -> Path:
    """Write the JSON report."""
    return atomic_write(path, json_text(subs))


def _check_columns(subs: Sequence[Submission]) -> list[str]:
    names: dict[str, None] = {}
    for sub in subs:
        for result in sub.results:
            names.setdefault(result.name, None)
    return list(names)


def csv_text(subs: Sequence[Submission]) -> str:
    """One row per notebook: scores, error, flags and the points of every check."""
    checks = _check_columns(subs)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["path", "lab", "score", "max_score", "passed", "error", "flags", *checks])
    for sub in subs:
        points = {r.name: r.points for r in sub.results}
        writer.writerow(
            [
                sub.path,
                sub.lab or "",
                f"{sub.score:g}",
                f"{sub.max_score:g}",
                "yes" if sub.passed else "no",
                sub.error or "",
                " | ".join(sub.flags),
                *(f"{points[c]:g}" if c in points else "" for c in checks),
            ]
        )
    return buffer.getvalue()


def write_csv(path: str | os.PathLike[str], subs: Sequence[Submission]) -> Path:
    """Write the CSV report."""
    return atomic_write(path, csv_text(subs))


# XML 1.0 cannot hold most control characters; learner output sometimes has them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("?", text)


def junit_text(subs: Sequence[Submission]) -> str:
    """JUnit XML: a test suite per notebook, a test case per check (CI systems show these)."""
    root = ET.Element("testsuites", name="labkit grade")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for sub in subs:
        suite = ET.SubElement(root, "testsuite", name=_xml(sub.path))
        counts = {"tests": 0, "failures": 0, "errors": 0}
        classname = _xml(f"{sub.lab or 'unknown'}.{Path(sub.path).stem}")
        if sub.error:
            case = ET.SubElement(suite, "testcase", classname=classname, name="grading")
            ET.SubElement(case, "error", message=_xml(sub.error)).text = _xml(sub.error)
            counts["tests"] += 1
            counts["errors"] += 1
        for result in sub.results:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=classname,
                name=_xml(result.name),
                time=f"{result.duration:.3f}",
            )
            counts["tests"] += 1
            if result.status == "failed":
                counts["failures"] += 1
                tag = "failure"
            elif result.status == "error":
                counts["errors"] += 1
                tag = "error"
            else:
                continue
            detail = result.message + (f" Hint: {result.hint}" if result.hint else "")
            ET.SubElement(case, tag, message=_xml(result.message)).text = _xml(detail)
        if sub.flags or sub.notes:
            lines = [f"FLAG: {f}" for f in sub.flags] + [f"note: {n}" for n in sub.notes]
            ET.SubElement(suite, "system-out").text = _xml("\n".join(lines))
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", f"{sub.duration:.3f}")
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(path: str | os.PathLike[str], subs: Sequence[Submission]) -> Path:
    """Write the JUnit XML report."""
    return atomic_write(path, junit_text(subs))
