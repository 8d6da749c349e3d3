"""Errors of the Amazon States Language interpreter: the ones an execution raises, the ones a
definition is refused with, and the matching rules of ``Retry`` and ``Catch``.

Error names are AWS's, case-sensitive, and the ``States.`` names are reserved for Step Functions.
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from labkit.errors import LabkitError

ALL = "States.ALL"
TASK_FAILED = "States.TaskFailed"
TIMEOUT = "States.Timeout"
HEARTBEAT_TIMEOUT = "States.HeartbeatTimeout"
RUNTIME = "States.Runtime"
DATA_LIMIT_EXCEEDED = "States.DataLimitExceeded"
NO_CHOICE_MATCHED = "States.NoChoiceMatched"
RESULT_PATH_MATCH_FAILURE = "States.ResultPathMatchFailure"
PARAMETER_PATH_FAILURE = "States.ParameterPathFailure"
INTRINSIC_FAILURE = "States.IntrinsicFailure"
BRANCH_FAILED = "States.BranchFailed"
EXCEED_TOLERATED_FAILURE_THRESHOLD = "States.ExceedToleratedFailureThreshold"
ITEM_READER_FAILED = "States.ItemReaderFailed"
QUERY_EVALUATION_ERROR = "States.QueryEvaluationError"
PERMISSIONS = "States.Permissions"

#: Errors no ``States.ALL`` retrier or catcher handles: they always end the execution.
TERMINAL = frozenset({RUNTIME, DATA_LIMIT_EXCEEDED})


class StatesError(Exception):
    """An error raised inside an execution: a name a ``Retry`` or ``Catch`` can match, a cause.

    Attributes:
        error: The error name (``States.Timeout``, a Lambda function's ``errorType``, ...).
        cause: The human-readable cause AWS shows beside it (may be empty).
    """

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause


def matches(error_equals: Sequence[str], error: str) -> bool:
    """Whether a retrier's or catcher's ``ErrorEquals`` covers ``error``, by AWS's rules.

    ``States.Runtime`` and ``States.DataLimitExceeded`` are never retried nor caught ("will always
    cause the execution to fail"); ``States.ALL`` matches every other error; ``States.TaskFailed``
    every other error but ``States.Timeout``.
    """
    if error in TERMINAL:
        return False
    if error in error_equals:
        return True
    if ALL in error_equals:
        return True
    return TASK_FAILED in error_equals and error != TIMEOUT


@dataclass(frozen=True)
class Diagnostic:
    """One problem of a definition, as ``ValidateStateMachineDefinition`` reports it."""

    code: str
    message: str
    location: str = ""
    severity: str = "ERROR"

    def as_api(self) -> dict[str, str]:
        """The diagnostic in the API's shape."""
        out = {"severity": self.severity, "code": self.code, "message": self.message}
        if self.location:
            out["location"] = self.location
        return out


class InvalidDefinitionError(LabkitError):
    """A state machine definition that Step Functions would refuse (``InvalidDefinition``)."""

    code = "InvalidDefinition"

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        parts = [
            f"{d.code}: {d.message}" + (f" at {d.location}" if d.location else "")
            for d in self.diagnostics
            if d.severity == "ERROR"
        ]
        super().__init__("Invalid State Machine Definition: '" + ", ".join(parts) + "'")


class TaskTokenError(LabkitError):
    """A ``SendTask*`` call with a token that names no waiting task.

    Attributes:
        api_code: AWS's exception name (``InvalidToken``, ``TaskDoesNotExist``, ``TaskTimedOut``).
    """

    code = "TaskToken"

    def __init__(self, api_code: str, message: str) -> None:
        super().__init__(message)
        self.api_code = api_code


class ExecutionError(LabkitError):
    """A request about executions that Step Functions would refuse.

    Attributes:
        api_code: AWS's exception name (``ExecutionAlreadyExists``, ``ExecutionDoesNotExist``...).
    """

    code = "ExecutionError"

    def __init__(self, api_code: str, message: str) -> None:
        super().__init__(message)
        self.api_code = api_code
