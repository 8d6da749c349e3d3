"""Limits on learner code count running time, not the time a busy machine kept it waiting.

A busy machine is played by replacing :func:`labkit.running_time.runqueue_wait` with a reader that
says the thread waited half of every wall second for a CPU, so the code gets half
of the wall time as running time. One test reads the real scheduler statistics on Linux.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from lambda_support import create, invoke

import labkit
from labkit import running_time
from labkit.grading.timelimit import TimeLimitExceeded, time_limit
from labkit.lab import Lab
from labkit.running_time import RunningTime

#: The share of wall time a played busy machine keeps the thread waiting for a CPU.
WAITING = 0.5


@pytest.fixture
def busy_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    start = time.monotonic()
    monkeypatch.setattr(
        running_time, "runqueue_wait", lambda tid: WAITING * (time.monotonic() - start)
    )


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_running_time_is_wall_time_less_the_wait_for_a_cpu() -> None:
    waits = iter([10.0, 10.3])
    stopwatch = RunningTime(7, wait=lambda tid: next(waits))
    _spin(0.5)
    assert stopwatch.thread_id == 7
    assert stopwatch.wall() >= 0.5
    assert stopwatch.elapsed() == pytest.approx(stopwatch.wall() - 0.3, abs=0.05)


def test_a_check_limit_waits_for_the_code_to_have_its_time(busy_machine: None) -> None:
    began = time.monotonic()
    stopped_at = None
    with pytest.raises(TimeLimitExceeded), time_limit(0.2):
        _spin(0.3)  # 0.3 s of wall time is 0.15 s of running time: not stopped
        stopped_at = time.monotonic()
        _spin(10)  # stopped once it has run 0.2 s, at about 0.4 s of wall time
    assert stopped_at is not None, "stopped before the code had had 0.2 s of running time"
    assert time.monotonic() - began < 10


def test_a_check_limit_in_another_thread_waits_too(busy_machine: None) -> None:
    outcome: list[str] = []

    def work() -> None:
        try:
            with time_limit(0.2):
                _spin(0.3)
                outcome.append("ran 0.3 s of wall time")
                _spin(10)
        except TimeLimitExceeded:
            outcome.append("stopped")

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(20)
    assert outcome == ["ran 0.3 s of wall time", "stopped"]


@pytest.fixture
def lab() -> Iterator[Lab]:
    lab = labkit.start(quiet=True)
    yield lab
    lab.stop()


HANDLER = (
    "import time\n"
    "def lambda_handler(event, context):\n"
    "    end = time.monotonic() + event['spin']\n"
    "    while time.monotonic() < end:\n"
    "        pass\n"
    "    return 'done'\n"
)


def test_a_lambda_timeout_counts_running_time(lab: Lab, busy_machine: None) -> None:
    create(lab, "steady", HANDLER, Timeout=1)
    # 1.2 s of wall time on this busy machine is 0.6 s of running time: within the timeout.
    assert invoke(lab, "steady", {"spin": 1.2})[1] == "done"
    # Code that really runs past its timeout is still stopped.
    _, payload = invoke(lab, "steady", {"spin": 30})
    assert payload["errorType"] == "Sandbox.Timedout"


def _burn(seconds: float) -> None:
    _spin(seconds)


@pytest.mark.skipif(
    not Path(f"/proc/self/task/{threading.get_native_id()}/schedstat").exists(),
    reason="no per-thread scheduler statistics on this system (running time is wall time)",
)
def test_the_wait_for_a_cpu_is_read_from_the_scheduler() -> None:
    tid = threading.get_native_id()
    before = running_time.runqueue_wait(tid)
    # More busy processes than CPUs: this thread has to wait its turn.
    busy = (os.cpu_count() or 1) + 1
    context = multiprocessing.get_context("fork" if sys.platform == "linux" else "spawn")
    burners = [context.Process(target=_burn, args=(0.8,)) for _ in range(busy)]
    for p in burners:
        p.start()
    _spin(0.6)
    for p in burners:
        p.join()
    assert running_time.runqueue_wait(tid) > before
    assert running_time.runqueue_wait(-1) == 0.0  # no such thread: unknown reads as no wait
