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
