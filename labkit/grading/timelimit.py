"""Bound how long learner code may run inside a check.

In the main thread (a Jupyter kernel, pytest, ``labkit grade``) a real-time interval timer
interrupts anything, ``time.sleep`` included. In another thread, an asynchronous exception is
injected instead; it interrupts Python code but not a blocking C call.

The interruption is a ``BaseException`` so that learner code with ``except Exception:`` inside an
endless loop cannot swallow it; it is raised again every 100 ms in case a bare ``except:`` does.
Once the time is up, a trace function also raises it at the next line the learner's code runs,
so a loop whose every interruption lands inside ``try: time.sleep(...) except: pass`` still ends:
the raise then comes from the ``except`` body or the loop header, outside the ``try``.

The limit counts the code's running time (:mod:`labkit.running_time`): wall time less the time the
machine kept the thread waiting for a CPU, so a correct answer is not cut short because the machine
is grading a whole class at once.
"""

from __future__ import annotations

import ctypes
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from labkit.running_time import RunningTime

#: Wall seconds one cell of a graded notebook may run before it is interrupted (``labkit grade
#: --cell-timeout`` overrides it). A looping cell holds a grading worker this long, so it is set
#: from measurement rather than "long enough": the slowest cell of the course (every lesson and
#: solution) took 7.1 s (solutions/05_lambda.ipynb, code cell 11: the first API Gateway call
#: loads moto's API Gateway models), measured with nbval on the 2-core reference machine while
#: both cores were busy (load average 2.3). 60 s is 8.5x that, room for a slower laptop or a
#: class batch on every core. Re-measure after adding a lab (the slowest cells come first):
#:     .venv/bin/pytest --nbval-lax -p no:cacheprovider notebooks solutions --durations=5
DEFAULT_CELL_TIMEOUT = 60.0


class TimeLimitExceeded(BaseException):
    """Learner code ran past the check's time limit."""

    def __init__(self, seconds: float = 0.0) -> None:
        super().__init__(f"ran longer than {seconds:g} s" if seconds else "ran too long")
        self.seconds = seconds


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`TimeLimitExceeded` in the block after ``seconds`` of running time."""
    if seconds <= 0:
        yield
        return
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        with _alarm(seconds):
            yield
    else:
        with _watchdog(seconds):
            yield


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    # Frames that exist when the limit starts (the caller's, the runner's, IPython's) are never
    # traced: only code running inside the block is interrupted.
    # The frames themselves are kept (not only their ids) so that no later frame can reuse an id.
    held: list[FrameType] = []
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        held.append(frame)
        frame = frame.f_back
    outside = {id(f) for f in held}
    active = True
    running = RunningTime()
    previous_trace = sys.gettrace()
    traced: list[FrameType] = []

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        if not active or id(frame) in outside or frame.f_code.co_filename == __file__:
            return None  # never interrupt labkit's own time-limit code
        if event == "exception":
            # The interruption itself passing through: raising here would replace it and
            # switch tracing off before the learner's `except` body runs. Keep watching.
            return tracer
        raise TimeLimitExceeded(seconds)

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        if running.elapsed() < seconds - 1e-3:
            return  # the machine was busy: the code has not had its time yet (the alarm repeats)
        inner = frame
        while inner is not None and id(inner) not in outside:
            inner.f_trace = tracer
            inner.f_trace_lines = True
            traced.append(inner)
            inner = inner.f_back
        interruption = TimeLimitExceeded(seconds)
        sys.settrace(tracer)
        raise interruption

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.1)
    try:
        yield
    finally:
        active = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        sys.settrace(previous_trace)
        for inner in traced:
            inner.f_trace = None
        del held


@contextmanager
def _watchdog(seconds: float) -> Iterator[None]:
    target = threading.get_ident()
    running = RunningTime()
    done = threading.Event()

    def watch() -> None:
        if done.wait(seconds):
            return
        while (left := seconds - running.elapsed()) > 1e-3:
            if done.wait(max(left, 0.05)):
                return
        while not done.is_set():
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(target), ctypes.py_object(TimeLimitExceeded)
            )
            done.wait(0.1)

    watcher = threading.Thread(target=watch, name="labkit-time-limit", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
        # Clear an interruption that was injected but not yet delivered.
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target), None)
