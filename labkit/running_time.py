"""How long a thread has been running, not counting the time it waited for a CPU.

The limits on learner code (a check's time limit, a Lambda handler's timeout) stop code that runs
too long. Measured in plain wall time they also stop correct code on a busy machine: a class
grading on every core, a CI runner shared by two test workers and a browser. A handler that needs
0.2 s of its own time then takes 2 s of wall time only because the kernel kept it waiting for a
CPU, and the learner is told it "never finished".

So the limits count a thread's *running time*: wall time less the time the thread sat runnable in
the scheduler's queue. Time the code spends sleeping, waiting for I/O or a lock still counts (a
handler that sleeps past its timeout still times out, as on Lambda); only the machine's load does
not. On a quiet machine running time and wall time are the same.

Linux reports a thread's run-queue wait in ``/proc/self/task/<tid>/schedstat`` (its second field,
in nanoseconds: https://docs.kernel.org/scheduler/sched-stats.html). Where that file is missing
(macOS, Windows, a kernel without scheduler statistics) the wait reads as zero and running time is
wall time, as before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path


def runqueue_wait(thread_id: int) -> float:
    """Seconds the thread with native id ``thread_id`` has waited for a CPU (0.0 if unknown)."""
    try:
        fields = Path(f"/proc/self/task/{thread_id}/schedstat").read_text().split()
        return int(fields[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return 0.0


class RunningTime:
    """A stopwatch for one thread's running time, started when it is made.

    Args:
        thread_id: The native id of the thread to time (``threading.get_native_id()``); the
            calling thread when omitted. Another thread (a watchdog) may read :meth:`elapsed`.
        wait: Reads a thread's run-queue wait in seconds; :func:`runqueue_wait` (looked up when
            the stopwatch is made, so a test can play a busy machine by replacing it).
    """

    def __init__(
        self,
        thread_id: int | None = None,
        *,
        wait: Callable[[int], float] | None = None,
    ) -> None:
        self.thread_id = threading.get_native_id() if thread_id is None else thread_id
        self._wait = runqueue_wait if wait is None else wait
        self._start = time.monotonic()
        self._start_wait = self._wait(self.thread_id)

    def wall(self) -> float:
        """Wall seconds since the stopwatch started."""
        return time.monotonic() - self._start

    def elapsed(self) -> float:
        """Running seconds since the stopwatch started: wall time less the run-queue wait."""
        waited = max(0.0, self._wait(self.thread_id) - self._start_wait)
        return max(0.0, self.wall() - waited)
