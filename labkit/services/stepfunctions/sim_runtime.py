"""Cooperative processes on the lab clock: how one interpreter runs many branches at once.

Every running piece of an execution (the execution itself, each Parallel branch, each Map
iteration) is a Python generator that yields a :class:`Future` when it must wait: for lab time to
pass (``Wait``, a retry's interval), for a task token to come back, for a worker to pick up an
activity, for branches to finish. A future that is already resolved lets the generator carry on at
once, so a run of states that never wait executes in one go, in zero lab time, as fast as Python
can step through it. Resumptions go through one queue, so a future resolved from inside a running
step (a Lambda handler calling ``SendTaskSuccess`` for its own token) is handled after that step,
never in the middle of it. Nothing sleeps: the lab clock's events resolve the timers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Generator
from typing import Any

from labkit.clock import Clock, ScheduledEvent

Callback = Callable[["Future"], None]


class Future:
    """A value or an error that arrives later; resolves once (later resolutions are ignored)."""

    __slots__ = ("_callbacks", "done", "error", "value")

    def __init__(self) -> None:
        self.done = False
        self.value: Any = None
        self.error: BaseException | None = None
        self._callbacks: list[Callback] = []

    def set_result(self, value: Any) -> bool:
        """Resolve with a value; ``False`` when already resolved."""
        if self.done:
            return False
        self.done, self.value = True, value
        self._fire()
        return True

    def set_error(self, error: BaseException) -> bool:
        """Resolve with an error; ``False`` when already resolved."""
        if self.done:
            return False
        self.done, self.error = True, error
        self._fire()
        return True

    def add_done(self, callback: Callback) -> None:
        """Call ``callback(self)`` when resolved (now, if it already is)."""
        if self.done:
            callback(self)
        else:
            self._callbacks.append(callback)

    def _fire(self) -> None:
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)


def resolved(value: Any = None) -> Future:
    """A future that is already resolved with ``value``."""
    future = Future()
    future.set_result(value)
    return future


Body = Generator[Future, Any, Any]


class Cancelled(Exception):
    """The error a cancelled process ends with."""


class Process(Future):
    """A generator run by the scheduler; resolves with what it returns or raises."""

    __slots__ = ("_cancel_requested", "body", "running")

    def __init__(self, body: Body) -> None:
        super().__init__()
        self.body = body
        self.running = False
        self._cancel_requested = False


class Scheduler:
    """Runs processes, resuming each when the future it waits on resolves.

    Args:
        clock_of: Returns the clock timers go on (a check's isolated world has its own).
    """

    def __init__(self, clock_of: Callable[[], Clock]) -> None:
        self._clock_of = clock_of
        self._ready: deque[tuple[Process, Any, BaseException | None]] = deque()
        self._draining = False

    @property
    def clock(self) -> Clock:
        """The clock now current."""
        return self._clock_of()

    def spawn(self, body: Body) -> Process:
        """Start ``body`` now (its first step runs before this returns, unless a step is
        already running, in which case right after it)."""
        process = Process(body)
        self._push(process, None, None)
        return process

    def sleep(self, seconds: float, timers: list[ScheduledEvent], label: str = "") -> Future:
        """A future that resolves after ``seconds`` of lab time; its event is added to
        ``timers`` so that whoever owns them can cancel them."""
        if seconds <= 0:
            return resolved()
        future = Future()
        timers.append(self.clock.call_later(seconds, lambda: future.set_result(None), label=label))
        return future

    def cancel(self, process: Process) -> None:
        """End a process: it is closed (its ``finally`` blocks run) and resolves ``Cancelled``."""
        if process.done:
            return
        if process.running:
            process._cancel_requested = True
            return
        # While it closes (its ``finally`` blocks cancel its children, whose ends resolve what
        # it waited on), it counts as running: nothing may step it again.
        process.running = True
        try:
            process.body.close()
        finally:
            process.running = False
        process.set_error(Cancelled())

    def settle(self) -> None:
        """Run every process that can run now.

        Called from inside a step (a task's call into another service that waits for an
        execution, such as ``StartSyncExecution`` or ``GetActivityTask`` made by a Lambda
        handler), it runs the other processes in place; the processes whose steps are on the
        call stack resume later, as usual.
        """
        if not self._draining:
            self._drain()
            return
        held: list[tuple[Process, Any, BaseException | None]] = []
        while self._ready:
            item = self._ready.popleft()
            if item[0].running:
                held.append(item)
            else:
                self._step(*item)
        self._ready.extend(held)

    def _push(self, process: Process, value: Any, error: BaseException | None) -> None:
        self._ready.append((process, value, error))
        if not self._draining:
            self._drain()

    def _drain(self) -> None:
        self._draining = True
        held: list[tuple[Process, Any, BaseException | None]] = []
        try:
            while self._ready:
                item = self._ready.popleft()
                if item[0].running:  # on the call stack (closing): it cannot be stepped now
                    held.append(item)
                else:
                    self._step(*item)
        finally:
            self._ready.extend(held)
            self._draining = False

    def _step(self, process: Process, value: Any, error: BaseException | None) -> None:
        if process.done:
            return
        if process._cancel_requested:
            process.body.close()
            process.set_error(Cancelled())
            return
        process.running = True
        try:
            waiting = process.body.throw(error) if error is not None else process.body.send(value)
        except StopIteration as stop:
            process.running = False
            process.set_result(stop.value)
            return
        except Exception as exc:  # the process failed: its error is its result
            process.running = False
            process.set_error(exc)
            return
        process.running = False
        if process._cancel_requested:
            process.body.close()
            process.set_error(Cancelled())
            return
        waiting.add_done(lambda f: self._push(process, f.value, f.error))
