"""Containers that run a learner's app in-process: the data plane ECS leaves to Docker.

There is no Docker in the sandbox. An image is a Python callable pushed to ECR
(:mod:`labkit.services.ecr.deploy`), and a container runs it in the notebook's process:

- **entry point**: a callable of two arguments is a WSGI app, served from the container's
  start; a callable of none is the image's command, run when the container starts, in the
  container's environment. If it returns a callable, that is the WSGI app the container serves
  (so clients made in it are made with the task role's credentials, as in a real container);
  if it returns a generator, that is a long-running command stepped on the lab clock (each
  ``yield`` says how many seconds to wait; its ``return`` value is the exit code); otherwise
  the container has exited, with the returned ``int`` as exit code (``None`` is 0),
  ``SystemExit``'s code, or 1 for an exception (its traceback goes to the log, as Python prints
  it to stderr);
- **environment**: the container definition's ``environment`` and the resolved ``secrets`` are
  in ``os.environ`` while the container's code runs, with the variables ECS sets:
  ``AWS_REGION``, ``AWS_EXECUTION_ENV`` (``AWS_ECS_FARGATE`` or ``AWS_ECS_EC2``) and
  ``ECS_CONTAINER_METADATA_URI_V4`` (its address names the task; the endpoint is not served);
- **identity**: the task role's credentials (issued by the sandbox) are the default boto3
  session's and the environment's while its code runs, so ``boto3.client(...)`` in the app acts
  as the task role, and the one policy engine decides what that role may do;
- **logs**: what the code prints (stdout and stderr) becomes one log event per line, stamped with
  the lab clock (the ``awslogs`` driver's stream ``prefix/container/task-id``);
- **a request**: the WSGI app answers in-process; an exception in the app is a 500 (as a WSGI
  server answers it), and ``SystemExit`` in the app ends the container (its process exited).

Source for the variables and the stop reasons:
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-lifecycle-explanation.html,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html.

Plain Python: the ECS patch builds :class:`ContainerSpec` from moto's task definition and
wires logs, clock and credentials in.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import os
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import boto3

#: The exit code a Python process ends with after an uncaught exception.
UNCAUGHT_EXIT_CODE = 1

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Any]


@dataclass(frozen=True)
class ContainerSpec:
    """What a task definition says about one container (as the patch read it).

    Attributes:
        name: The container's name.
        image: The image URI as written.
        entry: The image's callable (``None`` when the image could not be pulled).
        essential: Whether the task stops when this container exits.
        environment: ``environment`` plus resolved ``secrets``.
        container_port: The first ``portMappings`` entry's container port, if any.
        host_port: Its host port (``0`` or absent on ``bridge`` networking: a dynamic port).
    """

    name: str
    image: str
    entry: Callable[..., Any] | None
    essential: bool = True
    environment: Mapping[str, str] = field(default_factory=dict)
    container_port: int | None = None
    host_port: int | None = None


@dataclass(frozen=True)
class WsgiResponse:
    """What a container's app answered."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


class LineSink(io.TextIOBase):
    """A text stream that hands each complete line to ``emit`` (the awslogs driver)."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit
        self._partial = ""

    def write(self, text: str) -> int:
        self._partial += text
        while "\n" in self._partial:
            line, self._partial = self._partial.split("\n", 1)
            self._emit(line)
        return len(text)

    def flush(self) -> None:
        if self._partial:
            self._emit(self._partial)
            self._partial = ""

    def writable(self) -> bool:
        return True


class ContainerExit(Exception):
    """The container's process ended (``SystemExit`` in its code)."""

    def __init__(self, code: int) -> None:
        super().__init__(f"exit code {code}")
        self.code = code


def exit_code_of(exc: SystemExit) -> int:
    """The process exit code ``sys.exit(value)`` gives (``None`` → 0, text → 1)."""
    value = exc.code
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value & 0xFF
    return 1


def is_wsgi(entry: Callable[..., Any]) -> bool:
    """Whether ``entry`` takes ``(environ, start_response)``: a WSGI app, not a command."""
    try:
        params = [
            p
            for p in inspect.signature(entry).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        ]
    except (TypeError, ValueError):
        return False
    return len(params) == 2


class Container:
    """One running (or exited) container of a task.

    Args:
        spec: What the task definition says.
        environ: Variables ECS sets besides the definition's (region, metadata).
        session: The boto3 session of the task role (``None``: the caller's own).
        log: Receives each line the code prints.
    """

    def __init__(
        self,
        spec: ContainerSpec,
        environ: Mapping[str, str],
        session: boto3.session.Session | None,
        log: Callable[[str], None],
    ) -> None:
        self.spec = spec
        self.status = "PENDING"
        self.exit_code: int | None = None
        self.reason = ""
        self.app: WsgiApp | None = None
        #: A command that yields how many seconds to wait between its steps (runs on the clock).
        self.worker: Iterator[Any] | None = None
        self._environ = {**environ, **spec.environment}
        self._session = session
        self._out = LineSink(log)
        self.requests = 0

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """The container's process state while its code runs: environment, identity, output."""
        saved = {k: os.environ.get(k) for k in self._environ}
        saved_session = boto3.DEFAULT_SESSION
        saved_streams = sys.stdout, sys.stderr
        os.environ.update(self._environ)
        if self._session is not None:
            boto3.DEFAULT_SESSION = self._session
        sys.stdout = sys.stderr = self._out
        try:
            yield
        finally:
            self._out.flush()
            sys.stdout, sys.stderr = saved_streams
            boto3.DEFAULT_SESSION = saved_session
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def start(self) -> None:
        """Run the image's entry point: the container serves an app, or has exited."""
        entry = self.spec.entry
        if entry is None:
            self.stop_with(None, "CannotPullContainerError")
            return
        self.status = "RUNNING"
        if is_wsgi(entry):
            self.app = entry
            return
        with self.running():
            try:
                result = entry()
            except SystemExit as done:
                self.stop_with(exit_code_of(done), "")
                return
            except Exception:  # the learner's command failed: the process ends with 1
                traceback.print_exc(file=sys.stderr)
                self.stop_with(UNCAUGHT_EXIT_CODE, "")
                return
        if callable(result):
            self.app = result
            return
        if inspect.isgenerator(result):
            self.worker = result  # a long-running command: stepped on the lab clock
            return
        code = result if isinstance(result, int) and not isinstance(result, bool) else 0
        self.stop_with(code, "")

    def step(self) -> float | None:
        """Run a long-running command (a generator) to its next ``yield``: seconds to wait
        before the next step, or ``None`` when it has finished (the container exited)."""
        worker = self.worker
        if worker is None:
            return None
        with self.running():
            try:
                delay = next(worker)
            except StopIteration as done:
                value = done.value
                code = value if isinstance(value, int) and not isinstance(value, bool) else 0
                self.stop_with(code, "")
                return None
            except SystemExit as done:
                self.stop_with(exit_code_of(done), "")
                return None
            except Exception:
                traceback.print_exc(file=sys.stderr)
                self.stop_with(UNCAUGHT_EXIT_CODE, "")
                return None
        try:
            return max(float(delay or 0), 0.0)
        except (TypeError, ValueError):
            return 0.0

    def stop_with(self, code: int | None, reason: str) -> None:
        """The container is no longer running (``code`` is ``None`` if it never ran)."""
        self.status = "STOPPED"
        self.exit_code = code
        self.reason = reason
        self.app = None
        worker, self.worker = self.worker, None
        if worker is not None and hasattr(worker, "close"):
            with contextlib.suppress(Exception):
                worker.close()

    def serve(self, environ: dict[str, Any]) -> WsgiResponse:
        """Answer one request with the container's WSGI app.

        Raises:
            ContainerExit: The app ended the process (``SystemExit``): nothing answered.
        """
        app = self.app
        if app is None:
            raise ContainerExit(self.exit_code or 0)
        self.requests += 1
        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            del exc_info
            started[:] = [status, headers]
            return lambda data: chunks.append(data)

        chunks: list[bytes] = []
        with self.running():
            try:
                result = app(environ, start_response)
                try:
                    chunks.extend(bytes(c) for c in result)
                finally:
                    close = getattr(result, "close", None)
                    if close is not None:
                        close()
            except SystemExit as done:
                code = exit_code_of(done)
                self.stop_with(code, "")
                raise ContainerExit(code) from None
            except Exception:
                traceback.print_exc(file=sys.stderr)
                return WsgiResponse(500, [("Content-Type", "text/plain")], b"Internal Server Error")
        if not started:
            return WsgiResponse(500, [("Content-Type", "text/plain")], b"Internal Server Error")
        return WsgiResponse(int(str(started[0]).split()[0]), list(started[1]), b"".join(chunks))


def wsgi_environ(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, tuple[str, ...]],
    body: bytes,
    host: str,
    port: int,
    remote_addr: str,
) -> dict[str, Any]:
    """The WSGI environ of a request arriving at a container over plain HTTP (PEP 3333)."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(path, encoding="latin-1"),
        "QUERY_STRING": query,
        "SERVER_NAME": host,
        "SERVER_PORT": str(port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": remote_addr,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)) if body else "",
    }
    for name, values in headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = values[-1]
        elif key != "CONTENT_LENGTH":
            environ[f"HTTP_{key}"] = ",".join(values)
    return environ


__all__ = [
    "UNCAUGHT_EXIT_CODE",
    "Container",
    "ContainerExit",
    "ContainerSpec",
    "LineSink",
    "WsgiResponse",
    "exit_code_of",
    "is_wsgi",
    "wsgi_environ",
]
