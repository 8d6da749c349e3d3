"""Errors of labkit's own.

Every error says what happened and what to do about it, in words a learner understands. Like
moto's exceptions they are small classes; each carries a short ``code`` so scripts can tell them
apart without parsing messages.
"""

from __future__ import annotations


class LabkitError(Exception):
    """Base class of every error labkit raises on purpose."""

    code = "LabkitError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UnknownLabError(LabkitError):
    """A lab id that the catalog does not know."""

    code = "UnknownLab"

    def __init__(self, lab_id: str, known: list[str]) -> None:
        super().__init__(
            f"There is no lab called {lab_id!r}. Known labs: {', '.join(known)}. "
            "Run `labkit list` to see them all."
        )
        self.lab_id = lab_id


class UnknownCheckError(LabkitError):
    """A check name that the current lab does not have."""

    code = "UnknownCheck"

    def __init__(self, lab_id: str, name: str, known: list[str]) -> None:
        super().__init__(
            f"The {lab_id!r} lab has no check called {name!r}. Its checks are: {', '.join(known)}."
        )


class NetworkBlockedError(LabkitError):
    """A connection that would have left this machine while a lab runs."""

    code = "NetworkBlocked"

    def __init__(self, host: str, port: int | None = None, *, via: str = "") -> None:
        where = f"{host}:{port}" if port else host
        how = f" ({via})" if via else ""
        super().__init__(
            f"labkit refused a connection to {where}{how}: labs never leave this machine. "
            "Use the sandbox's AWS services (lab.client(...)) or an address on localhost."
        )
        self.host = host
        self.port = port


class ClockError(LabkitError):
    """A request to move the lab clock that cannot be honoured (for example backwards)."""

    code = "ClockError"


class SandboxNotRunningError(LabkitError):
    """The sandbox was used after it was stopped or replaced by a newer one."""

    code = "SandboxNotRunning"

    def __init__(self) -> None:
        super().__init__(
            "This lab's sandbox is no longer running (a newer labkit.start() replaced it, or it "
            "was stopped). Use the `lab` returned by your latest labkit.start(...)."
        )


class NotebookError(LabkitError):
    """A notebook that cannot be read or graded (malformed, of no known lab, ...)."""

    code = "NotebookError"


class AssignError(LabkitError):
    """Exercises that differ from what their solutions generate, or a malformed source."""

    code = "AssignError"


class ClientArgumentError(LabkitError):
    """Arguments to ``lab.client`` / ``lab.resource`` that boto3 would reject or that disagree.

    The sandbox takes what ``boto3.client`` takes; this says clearly what is wrong with a call
    (two different regions, no service, a keyword boto3 does not know, a local endpoint) instead
    of a ``TypeError`` from deep inside boto3.
    """

    code = "ClientArgument"


class NotSimulatedError(LabkitError, NotImplementedError):
    """An AWS operation that the lab sandbox does not simulate (yet).

    Raised instead of moto's ``NotImplementedError`` (with its traceback through moto) and instead
    of the ``404 Not yet implemented`` answer moto gives to requests it has no route for. It is a
    ``NotImplementedError`` too, so code written against moto's error (``except
    NotImplementedError``) still catches it.

    Args:
        service: The service, as ``boto3.client`` names it (``sqs``, ``lambda``).
        operation: The operation, as AWS names it (``ListMessageMoveTasks``).
        detail: What moto said, when it says more than "not implemented".
    """

    code = "NotSimulated"

    def __init__(self, service: str, operation: str, detail: str = "") -> None:
        from botocore import xform_name

        method = xform_name(operation) if operation else "?"
        more = f" ({detail})" if detail else ""
        super().__init__(
            f"`{service}.{method}` ({operation}) is not simulated in the lab sandbox{more}. "
            "It works on real AWS, but this offline sandbox does not offer it (yet). "
            "The exercises do not need it: look for another call that does what you want."
        )
        self.service = service
        self.operation = operation
        self.detail = detail

    def _render_traceback_(self) -> list[str]:
        # IPython shows this instead of a traceback through botocore and moto: the learner sees
        # the message and the lines of their own code that made the call.
        import traceback

        own = [
            frame
            for frame in traceback.extract_tb(self.__traceback__)
            if not is_library_file(frame.filename)
        ]
        lines = [f"{type(self).__name__}: {self.message}"]
        if own:
            lines.append("Called from:")
            lines.extend(
                f'  File "{f.filename}", line {f.lineno}, in {f.name}\n    {f.line}' for f in own
            )
        return lines


def is_library_file(filename: str) -> bool:
    """Whether a traceback frame's file is library code, not the learner's.

    Library code is boto3, botocore, moto, labkit, the standard library and anything installed
    (``site-packages``); a notebook cell or a learner's module is not.
    """
    import os
    import sys

    path = os.path.normcase(os.path.abspath(filename))
    parts = path.split(os.sep)
    if "site-packages" in parts or "dist-packages" in parts:
        return True
    import sysconfig

    stdlib = os.path.normcase(os.path.abspath(sysconfig.get_paths()["stdlib"]))
    if path.startswith(stdlib + os.sep):
        return True
    for name in ("boto3", "botocore", "moto", "s3transfer", "labkit"):
        module = sys.modules.get(name)
        where = getattr(module, "__file__", None)
        if where and path.startswith(os.path.normcase(os.path.dirname(where)) + os.sep):
            return True
    return False
