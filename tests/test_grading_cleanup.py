"""A forked grading kernel cleans up what it started: no database server or folder outlives it.

A fork ends with ``os._exit`` (no ``atexit`` handler runs), and the grader ends it as soon as
its checks have answered, so its sandbox is never stopped the ordinary way. The notebook here
starts a PostgreSQL server (an RDS instance) and a Lambda function's folder, and is graded as
``labkit grade`` grades a class; afterwards no ``postgres`` process and no labkit folder is left
in the temporary folder the kernel used.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from labkit.grading.batch import grade_many

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="counts processes in /proc (Linux)"
)

STARTS_THINGS = """
import labkit

lab = labkit.start("welcome", quiet=True)
rds = lab.client("rds")
rds.create_db_instance(
    DBInstanceIdentifier="leftover", Engine="postgres", DBInstanceClass="db.t3.micro",
    MasterUsername="learner", MasterUserPassword="Secret-123", AllocatedStorage=20,
)
lab.client("lambda").list_functions()
# What was started, for the test to see that there was something to clean up.
import pathlib, tempfile
scratch = pathlib.Path(tempfile.gettempdir())
(scratch / "started.txt").write_text(" ".join(p.name for p in scratch.glob("labkit-*")))
"""


def servers_under(folder: Path) -> list[int]:
    """The processes whose command line names ``folder`` (PostgreSQL servers run from there)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if str(folder).encode() in command:
            found.append(int(entry.name))
    return found


def labkit_folders(folder: Path) -> list[str]:
    """Folders labkit's engines make in the temporary folder (servers, functions, volumes).

    Not ``labkit-postgres``: the database engine's initialised template, kept for every later
    server on purpose (as root it lives in the temporary folder).
    """
    return sorted(p.name for p in folder.glob("labkit-*") if p.name != "labkit-postgres")


@pytest.fixture
def scratch(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temporary folder of the test's own for the kernels, so others' folders never count.

    Beside pytest's folders, not in them: as root, PostgreSQL runs as another user, who cannot
    enter pytest's (private) folders.
    """
    folder = Path(tempfile.mkdtemp(prefix="labkit-cleanup-test-"))
    os.chmod(folder, 0o1777)  # as /tmp
    monkeypatch.setenv("TMPDIR", str(folder))
    yield folder
    for pid in servers_under(folder):  # what a failing run left behind
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(folder, ignore_errors=True)


def test_a_forked_kernel_stops_its_servers_and_removes_its_folders(
    scratch: Path, tmp_path: Path
) -> None:
    notebook = tmp_path / "starts_things.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(STARTS_THINGS)])
    nbformat.write(nb, notebook)
    assert servers_under(scratch) == [] and labkit_folders(scratch) == []

    (sub,) = grade_many([notebook], workers=1, lab="welcome", fork=True, cell_timeout=120)

    assert sub.error is None, sub.error
    assert not sub.notes, sub.notes
    started = (scratch / "started.txt").read_text().split()
    assert any(name.startswith("labkit-rds-") for name in started), started
    assert any(name.startswith("labkit-lambda-") for name in started), started
    assert servers_under(scratch) == [], "a PostgreSQL server outlived its kernel"
    assert labkit_folders(scratch) == [], "labkit folders outlived their kernel"
