"""Bound how long learner code may run inside a check.

In the main thread (a Jupyter kernel, pytest, ``labkit grade``) a real-time interval timer
interrupts anything, ``time.sleep`` included. In another thread, an asynchronous exception is
injected instead; it interrupts Python code but not a blocking C call.

The interruption is a ``BaseException`` so that learner code with ``except Exception:`` inside an
endless loop cannot swallow it; it is raised again every 100 ms in case a bare ``except:`` does.
"""

from __future__ import annotations

import ctypes
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class TimeLimitExceeded(BaseException):
    """Learner code ran past the check's time limit."""

    def __init__(self, seconds: float = 0.0) -> None:
        super().__init__(f"ran longer than {seconds:g} s" if seconds else "ran too long")
        self.seconds = seconds


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`TimeLimitExceeded` in the block after ``seconds`` of wall time."""
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
    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise TimeLimitExceeded(seconds)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.1)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def _watchdog(seconds: float) -> Iterator[None]:
    target = threading.get_ident()
    done = threading.Event()

    def watch() -> None:
        if done.wait(seconds):
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
