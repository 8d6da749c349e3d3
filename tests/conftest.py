"""Shared fixtures for labkit's unit tests.

- ``LABKIT_HOME`` points at a temporary folder for the whole session, so a progress file is never
  written to the real ``~/.labkit``.
- ``LABKIT_CHECKS`` is ``show`` unless a test sets it: under pytest labkit would otherwise make a
  failed ``lab.check`` raise, and most tests want to look at the result.
- ``lab`` (free play) and ``welcome`` (the welcome lab) start a sandbox and stop it afterwards.
- Whatever a test does, no sandbox outlives it: the process's clock, network and AWS settings are
  given back before the next test.
- The long modules (every lab's notebooks graded: ``test_labs.py``, ``test_grade_*.py``) are
  collected first, so xdist hands them out first and the short ones fill in around them, rather
  than a long module starting last and leaving the other worker idle; test_labs.py's tests are
  handed out one by one (``SPREAD_MODULES``), every other module stays one unit of work.
- Grading keeps its kernel template between batches (``LABKIT_GRADE_KEEP_TEMPLATE``): each test
  module that grades samples would otherwise pay the template's seconds of imports again. Every
  kernel is still a fresh fork of it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import labkit

# Set on import, before any test grades: every xdist worker imports this file.
os.environ.setdefault("LABKIT_GRADE_KEEP_TEMPLATE", "1")

if TYPE_CHECKING:  # importing labkit.lab loads moto: only tests that start a lab pay for it
    from labkit.lab import Lab


@pytest.fixture(scope="session", autouse=True)
def labkit_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A throw-away ``LABKIT_HOME`` for the whole test session."""
    home = tmp_path_factory.mktemp("labkit-home")
    saved = os.environ.get("LABKIT_HOME")
    os.environ["LABKIT_HOME"] = str(home)
    try:
        yield home
    finally:
        if saved is None:
            os.environ.pop("LABKIT_HOME", None)
        else:
            os.environ["LABKIT_HOME"] = saved


@pytest.fixture(autouse=True)
def checks_show(monkeypatch: pytest.MonkeyPatch) -> None:
    """Failed checks are returned, not raised, unless a test sets ``LABKIT_CHECKS`` itself."""
    monkeypatch.setenv("LABKIT_CHECKS", "show")


@pytest.fixture(autouse=True)
def no_sandbox_left_running() -> Iterator[None]:
    """Stop a sandbox that a test left running, so the next test starts from the real process."""
    yield
    session = sys.modules.get("labkit.sandbox.session")
    if session is not None:
        leftover = session.running_sandbox()
        if leftover is not None:
            leftover.stop()


@pytest.fixture
def lab() -> Iterator[Lab]:
    """A free-play sandbox."""
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


@pytest.fixture
def welcome() -> Iterator[Lab]:
    """The welcome lab (three checks)."""
    lab = labkit.start("welcome", quiet=True)
    yield lab
    lab.stop()


#: Modules that grade whole notebooks: minutes each, so they are started first.
LONG_MODULES = ("test_labs.py", "test_grade_*.py")
#: Modules whose tests share no fixture beyond the session's, so xdist may hand out their tests
#: one by one. test_labs.py grades each lab's solution and exercise in a test of its own (tens of
#: seconds each, minutes in all): as one unit of work it kept one worker busy to the end.
SPREAD_MODULES = ("test_labs.py",)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadscope`` (``make unit``) in the collection's order, and with the tests of
    ``SPREAD_MODULES`` as units of their own: every other module (or class) stays one unit, its
    module-scoped fixtures built once, on one worker. (``--dist loadgroup`` would say this with
    marks, but xdist 3.8 cannot tag pytest 9's node ids with a group: every test ran alone.)"""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    # Work is handed out in the order pytest_collection_modifyitems leaves (long modules first).
    # xdist's default (--loadscope-reorder) sorts units by their number of tests instead, which
    # put the grading modules (7 to 53 tests, minutes each) among the last of 173 modules.
    config.option.loadscopereorder = False

    class SpreadScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if any(Path(nodeid.split("::", 1)[0]).match(glob) for glob in SPREAD_MODULES):
                return nodeid
            return super()._split_scope(nodeid)

    return SpreadScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long modules first (a stable sort: within a module, and among the rest, order is kept)."""
    items.sort(key=lambda item: not any(item.path.match(glob) for glob in LONG_MODULES))
