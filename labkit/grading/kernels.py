"""Fresh Jupyter kernels for grading, one per submission, started fast.

Two ways to get one, same result (an ipykernel, armed for grading before any learner code):

- :class:`ForkServer` (Linux, the ``python3`` kernel): a warm template process forks each kernel,
  so the seconds of importing labkit, moto, boto3 and ipykernel are paid once per batch.
- :class:`PlainLauncher` (anywhere, any kernel name): jupyter_client starts each kernel the
  ordinary way and the guard is armed by a silent first cell.

The grader talks to a kernel on its shell channel only. Nothing reads the kernel's output
stream: the results come back in a signed file, so a cell that prints 100 MB costs the grader
nothing, and stored or printed output can never count.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from abc import ABC, abstractmethod
from pathlib import Path
from queue import Empty
from typing import IO, Any

from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.connect import write_connection_file
from jupyter_client.manager import AsyncKernelManager

from labkit.errors import LabkitError
from labkit.grading.tamper import KEY_VARIABLE

STARTUP_TIMEOUT = 120.0
#: How long a kernel has to answer after an interrupt before it is killed.
INTERRUPT_GRACE = 5.0
#: How long a forked kernel has to clean up (stop its database servers, delete its folders) after
#: SIGTERM before its process group is killed.
CLEANUP_GRACE = 10.0
_POLL = 0.25


class KernelError(LabkitError):
    """A grading kernel could not be started or stopped responding."""

    code = "KernelError"


class KernelDied(KernelError):
    """The kernel process ended (``os._exit``, ``exit()``, a crash, no memory)."""

    code = "KernelDied"


class ReplyTimeout(KernelError):
    """The kernel did not answer in time."""

    code = "ReplyTimeout"


def grading_env(base: dict[str, str] | None = None, *, home: Path | None = None) -> dict[str, str]:
    """The environment of a grading kernel.

    Checks only show (a failed check must not stop the notebook), nothing is written to the
    instructor's progress file or IPython history, and a grader running under pytest does not
    make the kernel think it runs under nbval.
    """
    env = dict(os.environ if base is None else base)
    env.pop("PYTEST_CURRENT_TEST", None)
    env.pop(KEY_VARIABLE, None)
    env.update(
        {
            "LABKIT_CHECKS": "show",
            "LABKIT_PROGRESS": "off",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            "MPLBACKEND": "Agg",
        }
    )
    if home is not None:
        env["LABKIT_HOME"] = str(home / "labkit-home")
        env["IPYTHONDIR"] = str(home / "ipython")
    return env


class Kernel(ABC):
    """A running grading kernel: its client and how to interrupt, kill and watch it.

    Abstract: a subclass says how to watch, interrupt and kill its kind of process.
    """

    def __init__(self, client: AsyncKernelClient) -> None:
        self.client = client

    @abstractmethod
    async def alive(self) -> bool:
        """Whether the kernel process still runs."""

    @abstractmethod
    async def interrupt(self) -> None:
        """Send the kernel an interrupt (KeyboardInterrupt in the running cell)."""

    @abstractmethod
    async def kill(self) -> None:
        """End the kernel and everything it started, at once."""

    async def reply(self, msg_id: str, timeout: float) -> dict[str, Any]:
        """Wait for the shell reply to ``msg_id``.

        Raises:
            KernelDied: The kernel ended while we waited.
            ReplyTimeout: No reply within ``timeout`` seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise ReplyTimeout(f"no reply within {timeout:g} s")
            try:
                msg: dict[str, Any] = await self.client.get_shell_msg(timeout=min(_POLL, left))
            except Empty:
                if not await self.alive():
                    raise KernelDied("the kernel died") from None
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return msg

    async def execute(self, code: str, *, timeout: float, silent: bool = False) -> dict[str, Any]:
        """Run ``code`` and return the reply's content (``status``, ``ename``, ``evalue``)."""
        msg_id = self.client.execute(
            code,
            silent=silent,
            store_history=not silent,
            allow_stdin=False,
            stop_on_error=False,
        )
        reply = await self.reply(msg_id, timeout)
        content: dict[str, Any] = reply.get("content", {})
        return content

    async def ready(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Wait until the kernel answers on its shell channel."""
        msg_id = self.client.kernel_info()
        await self.reply(msg_id, timeout)

    def _close_client(self) -> None:
        with contextlib.suppress(Exception):
            self.client.stop_channels()


def _connect(connection_file: Path) -> AsyncKernelClient:
    client = AsyncKernelClient()
    client.load_connection_file(str(connection_file))
    # Shell only: nobody listens to the output stream, so the kernel's publisher drops it.
    client.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
    return client


# -- forked kernels --------------------------------------------------------------------------
class ForkedKernel(Kernel):
    """A kernel forked by the :class:`ForkServer`; it leads its own process group."""

    def __init__(self, client: AsyncKernelClient, pid: int, files: list[Path]) -> None:
        super().__init__(client)
        self.pid = pid
        self._files = files
        self._pidfd: int | None = None
        with contextlib.suppress(OSError, AttributeError):
            self._pidfd = os.pidfd_open(pid)

    async def alive(self) -> bool:
        """Whether the kernel process still runs (the template reaps it as soon as it ends)."""
        if self._pidfd is not None:
            readable, _, _ = select.select([self._pidfd], [], [], 0)
            return not readable
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    async def interrupt(self) -> None:
        """SIGINT to the kernel's process group."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGINT)

    async def kill(self) -> None:
        """End the kernel: SIGTERM so it cleans up, then SIGKILL to its group; files removed.

        The fork stops what it started on SIGTERM (see :mod:`labkit.grading.forkserver`); after
        :data:`CLEANUP_GRACE` seconds, or once it has ended, its process group is killed, which
        also ends whatever the learner's code started and left running.
        """
        self._close_client()
        if await self.alive():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.pid, signal.SIGTERM)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + CLEANUP_GRACE
            pause = 0.005
            while await self.alive() and loop.time() < deadline:
                await asyncio.sleep(pause)
                pause = min(pause * 2, _POLL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        for path in self._files:
            with contextlib.suppress(OSError):
                path.unlink()


class ForkServer:
    """The warm template process and the way to ask it for kernels.

    Create with :meth:`start`; close with :meth:`close`. The template is spoken to over plain
    pipes, one request at a time, from a worker thread: it belongs to no event loop, so a kept
    template (see :func:`start_launcher`) serves one batch after another.
    """

    def __init__(self, process: subprocess.Popen[bytes], env: dict[str, str]) -> None:
        self._process = process
        self._env = env
        self._lock = threading.Lock()
        self.warmup_seconds = 0.0
        self.kept = False

    @classmethod
    async def start(
        cls, *, env: dict[str, str], runtime: Path, checks: tuple[str, ...] = ()
    ) -> ForkServer:
        """Start the template and wait until it has imported everything.

        Raises:
            KernelError: When the template cannot start or cannot fork safely.
        """
        args = [sys.executable, "-m", "labkit.grading.forkserver"]
        for ref in checks:
            args += ["--checks", ref]
        with open(runtime / "forkserver.log", "wb") as log:
            process = subprocess.Popen(
                args,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                cwd=str(runtime),
            )
        server = cls(process, env)
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(
                asyncio.to_thread(process.stdout.readline), STARTUP_TIMEOUT * 3
            )
            ready = json.loads(line) if line else {"ready": False, "why": "it exited"}
        except (asyncio.TimeoutError, ValueError) as exc:
            ready = {"ready": False, "why": f"{type(exc).__name__}"}
        if not ready.get("ready"):
            await server.close()
            tail = (runtime / "forkserver.log").read_text(errors="replace")[-600:]
            raise KernelError(f"the kernel template did not start: {ready.get('why')}\n{tail}")
        server.warmup_seconds = float(str(ready.get("seconds", 0.0)))
        return server

    @property
    def running(self) -> bool:
        """Whether the template process still runs."""
        return self._process.poll() is None

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send one request and read its answer (blocking; one at a time)."""
        stdin: IO[bytes] | None = self._process.stdin
        stdout: IO[bytes] | None = self._process.stdout
        assert stdin is not None and stdout is not None
        with self._lock:
            if not self.running:
                return {"error": "the kernel template has stopped"}
            try:
                stdin.write((json.dumps(request) + "\n").encode())
                stdin.flush()
                line = stdout.readline()
            except (OSError, ValueError):
                line = b""
        answer: dict[str, Any] = (
            json.loads(line) if line else {"error": "the kernel template has stopped"}
        )
        return answer

    async def kernel(self, workdir: Path, *, checks: tuple[str, ...] = ()) -> tuple[Kernel, str]:
        """Fork a fresh kernel working in ``workdir``; returns it and its grading key."""
        key = secrets.token_hex(32)
        # Unix sockets in the submission's own folder: no ports to race for between workers.
        # Their paths must fit in a socket address (about 100 bytes); TCP on loopback otherwise.
        ipc = len(str(workdir / "k-65535")) < 100
        connection, _ = write_connection_file(
            str(workdir / "kernel.json"),
            transport="ipc" if ipc else "tcp",
            ip=str(workdir / "k") if ipc else "127.0.0.1",
            key=secrets.token_hex(16).encode(),
        )
        request = {
            "connection_file": connection,
            "cwd": str(workdir / "work"),
            "env": self._env,
            "log": str(workdir / "kernel.log"),
            "checks": list(checks),
            "key": key,
        }
        answer = await asyncio.to_thread(self._ask, request)
        if "pid" not in answer:
            raise KernelError(str(answer.get("error")))
        files = [Path(connection), *(workdir.glob("k-*"))]
        kernel = ForkedKernel(_connect(Path(connection)), int(answer["pid"]), files)
        try:
            await kernel.ready()
        except KernelError:
            await kernel.kill()
            log = (workdir / "kernel.log").read_text(errors="replace")[-600:]
            raise KernelError(f"the kernel did not start: {log}") from None
        return kernel, key

    def for_batch(self, env: dict[str, str]) -> ForkServer:
        """This template, forking kernels with ``env`` (a batch's own folders)."""
        view = ForkServer(self._process, env)
        view._lock = self._lock
        view.warmup_seconds = self.warmup_seconds
        view.kept = self.kept
        return view

    async def close(self) -> None:
        """Stop the template (kernels it forked die with it); a kept template stays."""
        if not self.kept:
            await asyncio.to_thread(self.stop)

    def stop(self) -> None:
        """Stop the template now: its stdin closes, so it returns (killed after 5 s)."""
        if self._process.stdin is not None:
            with contextlib.suppress(Exception):
                self._process.stdin.close()
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            with contextlib.suppress(Exception):
                self._process.stdout.close()


#: The kept template (at most one a process, so idle ones never pile up), by everything that
#: shapes one (see :func:`start_launcher`), with the folder it works in.
_KEPT: dict[tuple[str, ...], tuple[ForkServer, Path]] = {}
#: Environment variables of a batch's own that a kept template may differ in.
_PER_BATCH = ("LABKIT_HOME", "IPYTHONDIR")


def _keep_key(env: dict[str, str], checks: tuple[str, ...]) -> tuple[str, ...]:
    shared = sorted(f"{k}={v}" for k, v in env.items() if k not in _PER_BATCH)
    return (sys.executable, *checks, "\0", *shared)


async def _kept_server(env: dict[str, str], checks: tuple[str, ...]) -> ForkServer:
    """The kept template for ``env`` and ``checks``, started the first time (or if it died).

    A batch with another environment or other checks replaces the kept template.
    """
    key = _keep_key(env, checks)
    kept = _KEPT.get(key)
    if kept is None or not kept[0].running:
        await asyncio.to_thread(_stop_kept)
        # Its own folder and home, outliving every batch; removed when it is stopped.
        home = Path(tempfile.mkdtemp(prefix="labkit-template-"))
        template_env = dict(env)
        template_env.update(
            {"LABKIT_HOME": str(home / "labkit-home"), "IPYTHONDIR": str(home / "ipython")}
        )
        try:
            server = await ForkServer.start(env=template_env, runtime=home, checks=checks)
        except KernelError:
            shutil.rmtree(home, ignore_errors=True)
            raise
        server.kept = True
        kept = _KEPT[key] = (server, home)
    return kept[0].for_batch(env)


@atexit.register
def _stop_kept() -> None:
    """Stop the kept template, if any, and remove its folder."""
    while _KEPT:
        _, (server, home) = _KEPT.popitem()
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


# -- ordinary kernels ------------------------------------------------------------------------
class ManagedKernel(Kernel):
    """A kernel started by jupyter_client's kernel manager."""

    def __init__(self, client: AsyncKernelClient, manager: AsyncKernelManager) -> None:
        super().__init__(client)
        self.manager = manager

    async def alive(self) -> bool:
        """Whether the kernel process still runs."""
        return bool(await self.manager.is_alive())

    async def interrupt(self) -> None:
        """Interrupt the kernel the way its kernelspec says."""
        with contextlib.suppress(Exception):
            await self.manager.interrupt_kernel()

    async def kill(self) -> None:
        """Shut the kernel down at once."""
        self._close_client()
        with contextlib.suppress(Exception):
            await self.manager.shutdown_kernel(now=True)


class PlainLauncher:
    """Start each kernel the ordinary way (any kernelspec); slower, works everywhere."""

    def __init__(self, *, env: dict[str, str], kernel_name: str = "python3") -> None:
        self._env = env
        self.kernel_name = kernel_name
        self.warmup_seconds = 0.0

    async def kernel(self, workdir: Path, *, checks: tuple[str, ...] = ()) -> tuple[Kernel, str]:
        """Start a kernel in ``workdir`` and arm it; returns it and its grading key."""
        key = secrets.token_hex(32)
        env = dict(self._env)
        env[KEY_VARIABLE] = key  # taken out of the environment by arm(), before learner code
        manager = AsyncKernelManager(kernel_name=self.kernel_name)
        await manager.start_kernel(
            env=env,
            cwd=str(workdir / "work"),
            extra_arguments=["--log-level=ERROR", "--HistoryManager.enabled=False"],
        )
        client = manager.client()
        client.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
        kernel = ManagedKernel(client, manager)
        try:
            await kernel.ready()
            arm = (
                '__import__("labkit.grading.tamper", fromlist=["arm"])'
                f".arm(checks={list(checks)!r})"
            )
            reply = await kernel.execute(arm, timeout=STARTUP_TIMEOUT, silent=True)
        except KernelError:
            await kernel.kill()
            raise
        if reply.get("status") != "ok":
            await kernel.kill()
            raise KernelError(
                f"the kernel could not load labkit: {reply.get('ename')}: {reply.get('evalue')}"
            )
        return kernel, key

    async def close(self) -> None:
        """Nothing to stop: each kernel is shut down after its submission."""


Launcher = ForkServer | PlainLauncher


def can_fork(kernel_name: str) -> bool:
    """Whether kernels can be forked from a template here (Linux, this Python's kernel)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return False
    if kernel_name != "python3":
        return False
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except Exception:
        return False
    program = spec.argv[0] if spec.argv else ""
    # The template runs in this Python: only fork when the kernelspec would run this Python too.
    return program in ("python", "python3", "{python}", sys.executable) or (
        os.path.realpath(program) == os.path.realpath(sys.executable)
    )


async def start_launcher(
    *,
    env: dict[str, str],
    runtime: Path,
    kernel_name: str = "python3",
    checks: tuple[str, ...] = (),
    fork: bool | None = None,
    keep: bool | None = None,
) -> tuple[Launcher, str | None]:
    """The fastest launcher that works here, and why forking was not used (if it was not).

    With ``keep`` (default: when ``LABKIT_GRADE_KEEP_TEMPLATE`` is ``1``) a kernel template
    outlives the batch and serves the next batch of this process with the same environment and
    ``checks`` (each kernel is still a fresh fork): a process that grades many small batches,
    such as the test suite, warms up once instead of once a batch.
    """
    use_fork = can_fork(kernel_name) if fork is None else fork
    if keep is None:
        keep = os.environ.get("LABKIT_GRADE_KEEP_TEMPLATE") == "1"
    if use_fork:
        try:
            if keep:
                return await _kept_server(env, checks), None
            return await ForkServer.start(env=env, runtime=runtime, checks=checks), None
        except KernelError as exc:
            return PlainLauncher(env=env, kernel_name=kernel_name), str(exc)
    return PlainLauncher(env=env, kernel_name=kernel_name), None
