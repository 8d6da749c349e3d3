"""A warm template that forks a fresh, armed Jupyter kernel for each submission.

Starting a kernel and importing labkit, moto and boto3 costs seconds per submission; most of it
is the same work every time. This process does it once: it imports every labkit module, ipykernel
and its debugger, checks that it runs no thread (forking a threaded process is unsafe), and then
waits for requests on stdin. For each request it forks a child, which

- starts a session of its own (so an interrupt or kill reaches the kernel and whatever it spawns,
  and nothing else), and dies with this process;
- takes the environment, working directory and connection file of the request;
- becomes an ordinary ipykernel (``IPKernelApp``) on that connection file;
- arms the grading guard with the request's key before any learner code can run;
- cleans up what it started when it is told to stop (SIGTERM) or its kernel ends: its sandbox
  (database servers, function folders) and labkit's own exit handlers. A fork ends with
  ``os._exit``, which runs no ``atexit`` handler: the ones it inherited belong to the template
  (and must not run twice), so only labkit's are run, on the fork's own state.

A fork shares no state with its siblings: each submission still gets its own process, namespace,
sandbox and kernel, exactly as if started from scratch, only faster.

Protocol: one JSON object per line on stdin (``connection_file``, ``cwd``, ``env``, ``key``,
``log``, ``checks``); one JSON line per request on stdout (``{"pid": n}`` or ``{"error": ...}``).
The first line on stdout says whether the template is ready.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

_PR_SET_PDEATHSIG = 1

#: Exit handlers that labkit's modules registered while the template imported them (such as the
#: database engine's "stop my servers"): each acts on its own process's state, so a fork runs
#: them on its way out. Other libraries' handlers (ipykernel's, logging's) are not run in a fork.
_LABKIT_EXIT_HANDLERS: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []


def die_with_parent(signum: int) -> None:
    """Ask Linux to send ``signum`` to this process when its parent exits (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the parent poller still ends the kernel
        pass


@contextlib.contextmanager
def _recording_labkit_exit_handlers() -> Iterator[None]:
    """Note the ``atexit`` handlers labkit's modules register meanwhile (they still register)."""
    original = atexit.register

    def register(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
        if str(getattr(func, "__module__", "")).split(".")[0] == "labkit":
            _LABKIT_EXIT_HANDLERS.append((func, args, kwargs))
        return original(func, *args, **kwargs)

    atexit.register = register  # type: ignore[assignment]
    try:
        yield
    finally:
        atexit.register = original


def clean_up() -> None:
    """In a fork: stop what this kernel started (its sandbox, then labkit's exit handlers).

    Best effort and silent: the kernel is on its way out, and whatever is missed here is swept
    by the next process that needs the same resources (the database engine stops servers whose
    owner died).
    """
    session = sys.modules.get("labkit.sandbox.session")
    if session is not None:
        with contextlib.suppress(BaseException):
            sandbox = session.running_sandbox()
            if sandbox is not None:
                sandbox.stop()
    for func, args, kwargs in reversed(_LABKIT_EXIT_HANDLERS):
        with contextlib.suppress(BaseException):
            func(*args, **kwargs)


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    """SIGTERM in a fork: clean up, then end at once (no inherited handler runs)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the cleanup
    clean_up()
    os._exit(0)


def _warm(checks: list[str]) -> list[str]:
    """Import everything a grading kernel needs; returns modules that failed to import."""
    from labkit.grading.tamper import load_spec, preload_labkit

    with _recording_labkit_exit_handlers():
        failed = preload_labkit()
    for ref in checks:
        load_spec(ref)
    # The kernel's own start-up: the debugger alone (debugpy) is most of a kernel's start time.
    import ipykernel.debugger
    import ipykernel.ipkernel
    import ipykernel.kernelapp
    import ipykernel.zmqshell  # noqa: F401

    return failed


def _become_kernel(request: dict[str, Any], key: str, server_pid: int) -> None:
    """In the child: turn into an armed ipykernel on the request's connection file."""
    os.setsid()
    die_with_parent(signal.SIGKILL)
    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)
    # A fresh stdin object: the template's may still buffer bytes of the request protocol.
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    import random

    random.seed()  # forks would otherwise share the template's random sequence

    from ipykernel.kernelapp import IPKernelApp

    from labkit.grading.tamper import arm

    sys.argv = ["ipykernel_launcher", "-f", request["connection_file"]]
    app = IPKernelApp.instance()
    app.initialize(  # type: ignore[no-untyped-call]
        [
            "-f",
            request["connection_file"],
            f"--IPKernelApp.parent_handle={server_pid}",
            "--log-level=ERROR",
            "--HistoryManager.enabled=False",
        ]
    )
    shell = app.shell
    assert shell is not None
    arm(key, checks=request.get("checks", []), namespace=shell.user_ns)
    del key
    # The grader stops a kernel with SIGTERM first (then SIGKILL to its group after a grace).
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    app.start()  # type: ignore[no-untyped-call]


def _serve(reply_fd: int) -> None:
    server_pid = os.getpid()
    buffer = b""
    while True:
        chunk = os.read(0, 65536)
        if not chunk:
            return  # the grader went away
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            request = json.loads(line)
            del line
            key = request.pop("key")
            try:
                pid = os.fork()
            except OSError as exc:
                os.write(reply_fd, (json.dumps({"error": f"fork failed: {exc}"}) + "\n").encode())
                continue
            if pid == 0:
                code = 0
                try:
                    os.close(reply_fd)
                    _become_kernel(request, key, server_pid)
                except BaseException:
                    import traceback

                    traceback.print_exc()
                    code = 1
                finally:
                    clean_up()
                    os._exit(code)
            del key
            os.write(reply_fd, (json.dumps({"pid": pid}) + "\n").encode())


def main(argv: list[str]) -> int:
    """Warm up, say so on stdout, then fork kernels on request until stdin closes."""
    die_with_parent(signal.SIGTERM)
    # Replies go to the original stdout; anything a module prints while importing goes to
    # stderr instead, so it cannot garble the protocol.
    reply_fd = os.dup(1)
    os.dup2(2, 1)
    checks = [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == "--checks"]
    started = time.perf_counter()
    try:
        failed = _warm(checks)
    except Exception as exc:
        ready = {"ready": False, "why": f"{type(exc).__name__}: {exc}"}
        os.write(reply_fd, (json.dumps(ready) + "\n").encode())
        return 1
    threads = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    if threads:
        why = f"importing labkit started threads ({', '.join(threads)}); forking is unsafe"
        os.write(reply_fd, (json.dumps({"ready": False, "why": why}) + "\n").encode())
        return 1
    # Children are reaped by the kernel as soon as they exit: no zombies to collect.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    ready_line = {
        "ready": True,
        "seconds": round(time.perf_counter() - started, 3),
        "failed_imports": failed,
    }
    os.write(reply_fd, (json.dumps(ready_line) + "\n").encode())
    _serve(reply_fd)
    return 0


if __name__ == "__main__":  # pragma: no cover - run as a process by labkit.grading.kernels
    sys.exit(main(sys.argv[1:]))
