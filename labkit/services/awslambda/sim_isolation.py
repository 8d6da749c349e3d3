"""What keeps a learner's Lambda handler from hurting the notebook that runs it.

A handler runs in the notebook's own process (there is no Docker here), so labkit fences it in:

- **Time limit.** It counts the handler's running time (:mod:`labkit.running_time`: wall time
  less the time a busy machine kept the thread waiting for a CPU, so sleeping still counts). In
  the main thread (a Jupyter kernel, pytest) a real-time interval timer
  interrupts anything, ``time.sleep`` included; in another thread an asynchronous exception is
  injected instead (it interrupts Python code, not a blocking C call). Limits nest: a handler that
  invokes another function, or a check's own time limit around a handler, keep working because each
  level hands the alarm back to the level outside it.
- **Its own modules.** Each execution environment imports the function's code from its own
  directory, first on the import path as ``/var/task`` is in Lambda, under the plain module names
  (``lambda_function``...). Those modules live in ``sys.modules`` only while the environment runs,
  so two functions may both have a ``lambda_function.py``.
- **Its own process state.** ``os.environ`` (the function's variables and Lambda's reserved ones),
  ``tempfile``'s directory, ``sys.stdout``/``sys.stderr`` and the root logger are the function's
  while it runs and the notebook's again afterwards.

Everything here is plain Python: no moto.
"""

from __future__ import annotations

import ctypes
import importlib.abc
import importlib.machinery
import logging
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any, NoReturn, TextIO

from labkit.running_time import RunningTime

#: Handlers run one at a time in this process: the module, environment and stream swaps below are
#: process-wide. Re-entrant, because a handler may invoke another function (a nested invocation).
RUN_LOCK = threading.RLock()


class HandlerTimeout(BaseException):
    """A handler ran past its limit.

    A ``BaseException`` so that ``except Exception:`` in learner code cannot swallow it; the alarm
    repeats every 100 ms in case a bare ``except:`` does.
    """

    token: object = None

    def __init__(self, token: object = None) -> None:
        super().__init__("handler timed out")
        if token is not None:
            self.token = token


class WallLimit:
    """Raise :class:`HandlerTimeout` in the running code after ``seconds`` of running time.

    Use ``arm()`` before the code and ``disarm()`` after it (in ``finally``), then check
    :meth:`owns` on a caught :class:`HandlerTimeout`: an outer limit's timeout is not ours and must
    propagate. ``disarm`` is idempotent, so calling it again in an ``except`` is safe.
    """

    _REPEAT = 0.1

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.token = object()
        self._armed = False
        self._signal = False
        self._previous_handler: Any = None
        self._previous_remaining = 0.0
        self._previous_interval = 0.0
        self._start = 0.0
        self._running: RunningTime | None = None
        self._done: threading.Event | None = None
        self._watcher: threading.Thread | None = None
        self._exc_type: type[HandlerTimeout] | None = None

    def owns(self, exc: BaseException) -> bool:
        """Whether ``exc`` is this limit's timeout."""
        return isinstance(exc, HandlerTimeout) and exc.token is self.token

    def arm(self) -> None:
        """Start the clock."""
        self._start = time.monotonic()
        self._running = RunningTime()
        self._armed = True
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
            self._signal = True
            self._previous_handler = signal.getsignal(signal.SIGALRM)
            remaining, interval = signal.getitimer(signal.ITIMER_REAL)
            self._previous_remaining, self._previous_interval = remaining, interval
            signal.signal(signal.SIGALRM, self._on_alarm)
            first = self.seconds if remaining <= 0 else min(self.seconds, remaining)
            signal.setitimer(signal.ITIMER_REAL, max(first, 1e-4), self._REPEAT)
        else:
            self._start_watchdog()

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        now = time.monotonic()
        if self._armed and self._due():
            raise HandlerTimeout(self.token)
        # Not ours (yet): the level outside may be due.
        if self._previous_remaining > 0 and now - self._start >= self._previous_remaining - 1e-3:
            previous = self._previous_handler
            if callable(previous):
                previous(signum, frame)

    def _due(self) -> bool:
        running = self._running
        return running is not None and running.elapsed() >= self.seconds - 1e-3

    def _start_watchdog(self) -> None:
        target = threading.get_ident()
        done = threading.Event()
        # PyThreadState_SetAsyncExc takes a class, not an instance: a subclass carries the token.
        exc_type = type("HandlerTimeout", (HandlerTimeout,), {"token": self.token})
        self._exc_type = exc_type

        def watch() -> None:
            if done.wait(self.seconds):
                return
            while not self._due():
                if done.wait(self._REPEAT):
                    return
            while not done.is_set():
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(target), ctypes.py_object(exc_type)
                )
                done.wait(self._REPEAT)

        self._done = done
        self._watcher = threading.Thread(target=watch, name="labkit-lambda-timeout", daemon=True)
        self._watcher.start()

    def disarm(self) -> None:
        """Stop the clock and give the alarm back to whoever had it."""
        if not self._armed:
            return
        self._armed = False
        if self._signal:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous_handler)
            if self._previous_remaining > 0:
                left = self._previous_remaining - (time.monotonic() - self._start)
                # An outer limit already due fires again after its own repeat interval, which
                # leaves the code between here and it a moment to tidy up.
                again = left if left > 0 else (self._previous_interval or 1e-4)
                signal.setitimer(signal.ITIMER_REAL, again, self._previous_interval)
        elif self._done is not None and self._watcher is not None:
            self._done.set()
            self._watcher.join()
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(threading.get_ident()), None)


class _TaskFinder(importlib.abc.MetaPathFinder):
    """Finds modules in one environment's code directory first, as ``/var/task`` is in Lambda,
    and remembers which ones it loaded."""

    def __init__(self, task_dir: Path, loaded: set[str]) -> None:
        self._root = str(task_dir)
        self._loaded = loaded
        self._finder = importlib.machinery.FileFinder(
            self._root,
            (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES),
            (importlib.machinery.SourcelessFileLoader, importlib.machinery.BYTECODE_SUFFIXES),
        )

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if path is None and "." not in fullname:
            spec = self._finder.find_spec(fullname)
        elif path is not None and any(str(p).startswith(self._root) for p in path):
            spec = importlib.machinery.PathFinder.find_spec(fullname, list(path))
        else:
            return None
        if spec is not None:
            self._loaded.add(fullname)
        return spec


class CodeSpace:
    """The modules of one execution environment and how to swap them in and out."""

    def __init__(self, task_dir: Path) -> None:
        self.task_dir = task_dir
        self.loaded: set[str] = set()
        self.modules: dict[str, ModuleType] = {}
        self._finder = _TaskFinder(task_dir, self.loaded)
        # Top-level names the code directory provides: they shadow the notebook's modules of the
        # same name while the environment runs (a learner's ``utils.py`` is their own).
        self.shadows = {
            p.stem if p.suffix == ".py" else p.name
            for p in task_dir.iterdir()
            if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()))
        }

    @contextmanager
    def active(self) -> Iterator[None]:
        """Make this environment's modules the importable ones for the ``with`` block."""
        saved: dict[str, ModuleType] = {}
        for name in self.shadows | self.loaded:
            module = sys.modules.pop(name, None)
            if module is not None and self.modules.get(name) is not module:
                saved[name] = module
        sys.modules.update(self.modules)
        sys.meta_path.insert(0, self._finder)
        try:
            yield
        finally:
            if self._finder in sys.meta_path:
                sys.meta_path.remove(self._finder)
            for name in self.loaded:
                module = sys.modules.pop(name, None)
                if module is not None:
                    self.modules[name] = module
            sys.modules.update(saved)


class LineSink:
    """A text stream that turns what is written into log lines (one per newline), as Lambda's
    runtime turns a function's stdout into CloudWatch events."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit
        self._partial = ""

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        data = self._partial + text
        *lines, self._partial = data.split("\n")
        for line in lines:
            self._emit(line)
        return len(text)

    def log(self, text: str) -> None:
        """Write without a result (``context.log``)."""
        self.write(text)

    def flush(self) -> None:
        """Streams are line-buffered by Lambda; a partial line waits for :meth:`close_line`."""

    def close_line(self) -> None:
        """Emit a partial line still waiting for its newline (end of an invocation)."""
        if self._partial:
            self._emit(self._partial)
            self._partial = ""

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def writelines(self, lines: Sequence[str]) -> None:
        for line in lines:
            self.write(line)

    @property
    def encoding(self) -> str:
        return "utf-8"


class LambdaLogHandler(logging.Handler):
    """The root-logger handler Lambda's Python runtime installs: one log event per record, in the
    runtime's text format (``[LEVEL]\\ttime\\trequest id\\tmessage``)."""

    FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
    DATEFMT = "%Y-%m-%dT%H:%M:%S"

    def __init__(self, emit: Callable[[str], None], request_id: Callable[[], str]) -> None:
        super().__init__()
        self._emit_line = emit
        self._request_id = request_id
        formatter = logging.Formatter(self.FORMAT, self.DATEFMT)
        formatter.converter = time.gmtime
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        record.aws_request_id = self._request_id()
        try:
            self._emit_line(self.format(record))
        except Exception:
            self.handleError(record)


def _exit_in_handler(status: int) -> NoReturn:
    """``os._exit`` while a handler runs: leave the handler, not the process."""
    raise SystemExit(status)


@contextmanager
def process_state(
    environ: Mapping[str, str],
    tmp_dir: Path,
    stdout: TextIO,
    stderr: TextIO,
    log_handler: logging.Handler,
    root_level: int,
    on_exit: Callable[[int], None],
) -> Iterator[None]:
    """Give the process the function's environment variables, ``/tmp``, streams and root logger.

    Args:
        environ: Variables to set (others stay; the ones set are put back afterwards).
        tmp_dir: The environment's ``/tmp``: ``TMPDIR`` and ``tempfile.gettempdir()`` point there.
        stdout: Where ``print`` goes.
        stderr: Where ``sys.stderr`` goes.
        log_handler: The only root-logger handler while the function runs.
        root_level: The root logger's level in this environment.
        on_exit: Receives the root logger's level at the end (a handler may change it, and the
            change lasts for the environment, as in Lambda).
    """
    saved_env = {k: os.environ.get(k) for k in (*environ, "TMPDIR")}
    saved_tempdir = tempfile.tempdir
    saved_os_exit = os._exit
    saved_out, saved_err = sys.stdout, sys.stderr
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        os.environ.update(environ)
        os.environ["TMPDIR"] = str(tmp_dir)
        tempfile.tempdir = str(tmp_dir)
        sys.stdout, sys.stderr = stdout, stderr
        # In Lambda os._exit ends the runtime process (a Runtime.ExitError); here that process is
        # the learner's kernel, so it becomes a SystemExit the runtime reports the same way.
        os._exit = _exit_in_handler
        root.handlers = [log_handler]
        if root.level != root_level:
            # setLevel clears every logger's cache: only when the level really differs.
            root.setLevel(root_level)
        yield
    finally:
        on_exit(root.level)
        root.handlers = saved_handlers
        if root.level != saved_level:
            root.setLevel(saved_level)
        sys.stdout, sys.stderr = saved_out, saved_err
        os._exit = saved_os_exit
        tempfile.tempdir = saved_tempdir
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
