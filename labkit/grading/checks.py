"""Checks: how a lab looks at what the learner built.

A check is a plain function that receives a :class:`CheckContext`. It calls the learner's
functions and inspects the sandbox, and it fails with :meth:`CheckContext.fail` and a hint that
teaches. It never reads the learner's source code or printed output. The learner's namespace is
handed to it explicitly.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

from labkit.clock import Clock
from labkit.errors import NotSimulatedError, is_library_file


class SandboxLike(Protocol):
    """What a check may use of the sandbox (the grading layer does not import moto)."""

    @property
    def clock(self) -> Clock: ...

    def client(self, *args: Any, **kwargs: Any) -> Any:
        """A boto3 client; takes what ``boto3.client`` takes (and ``region=``)."""

    def resource(self, *args: Any, **kwargs: Any) -> Any:
        """A boto3 resource; takes what ``boto3.resource`` takes (and ``region=``)."""


class CheckFailed(Exception):
    """Raised inside a check to fail it with a message and a hint."""

    def __init__(self, message: str, *, hint: str = "", status: str = "failed") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.status = status


@dataclass(frozen=True)
class Check:
    """One graded behaviour of a lab.

    Attributes:
        name: Short identifier, what ``lab.check(name)`` takes.
        title: What the check looks for, in a learner's words.
        points: What it is worth.
        run: The check itself: ``run(ctx)`` returns on success, raises through ``ctx.fail``.
        hint: The general hint, shown when a failure has no more specific one.
        isolated: Run in an empty AWS world with its own clock, so the learner's resources and
            time are untouched and cannot make the check pass or fail.
        timeout: Wall seconds the check (learner code included) may take.
        hidden: Run only by ``labkit grade``; learners see that it exists and its points.
    """

    name: str
    title: str
    points: float
    run: Callable[[CheckContext], None]
    hint: str = ""
    isolated: bool = False
    timeout: float = 10.0
    hidden: bool = False


_MISSING = object()


def is_placeholder(func: object) -> bool:
    """Whether ``func`` is an exercise's unwritten function: a body of ``...`` alone (after
    its docstring and comments), as ``labkit assign`` leaves each answer.

    Read from the source (a notebook cell's, which IPython keeps): the compiler drops a bare
    ``...``, so the bytecode cannot tell it from ``pass``, and a function that deliberately does
    nothing (``pass``) is an answer, not a placeholder. No source, no verdict: ``False``.
    """
    import ast
    import inspect
    import textwrap

    try:
        source = textwrap.dedent(inspect.getsource(func))  # type: ignore[arg-type]
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        return False
    node = tree.body[0] if tree.body else None
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    # What is left once strings standing alone (the docstring) are set aside.
    body = [
        stmt
        for stmt in node.body
        if not (
            isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str)
        )
    ]
    return (
        len(body) == 1
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and body[0].value.value is Ellipsis
    )


class CheckContext:
    """What a check gets: the learner's namespace, the sandbox and helpers to call learner code.

    Args:
        namespace: The learner's variables (a notebook's globals).
        sandbox: The lab's sandbox (possibly an isolated world).
        check: The check being run (for its general hint).
    """

    def __init__(self, namespace: Mapping[str, Any], sandbox: SandboxLike, check: Check) -> None:
        self.namespace = namespace
        self.sandbox = sandbox
        self.check = check

    @property
    def clock(self) -> Clock:
        """The clock of the world the check runs in."""
        return self.sandbox.clock

    def client(self, *args: Any, **kwargs: Any) -> Any:
        """A boto3 client in the check's world (``boto3.client``'s arguments, and ``region=``)."""
        return self.sandbox.client(*args, **kwargs)

    def resource(self, *args: Any, **kwargs: Any) -> Any:
        """A boto3 resource in the check's world (``boto3.resource``'s arguments)."""
        return self.sandbox.resource(*args, **kwargs)

    def fail(self, message: str, *, hint: str = "") -> NoReturn:
        """Fail the check with what was found and what to try."""
        raise CheckFailed(message, hint=hint or self.check.hint)

    def expect(self, condition: object, message: str, *, hint: str = "") -> None:
        """Fail with ``message`` unless ``condition`` holds."""
        if not condition:
            self.fail(message, hint=hint)

    # -- reading the learner's namespace ----------------------------------------------------
    def value(self, name: str, *, types: type | tuple[type, ...] | None = None) -> Any:
        """The learner's variable ``name``, failing clearly when it is missing or unfinished."""
        value = self.namespace.get(name, _MISSING)
        if value is _MISSING:
            raise CheckFailed(
                f"There is no variable called `{name}` yet.",
                hint=f"Run the cell that defines `{name}` (spelling counts), then check again.",
                status="error",
            )
        if value is Ellipsis:
            raise CheckFailed(
                f"`{name}` is still `...`.",
                hint=f"Replace the `...` in the cell that defines `{name}` with your answer.",
            )
        if types is not None and not isinstance(value, types):
            raise CheckFailed(
                f"`{name}` is a {type(value).__name__}, but a {_type_names(types)} is expected.",
                hint=f"Look at what the exercise asks `{name}` to be.",
            )
        return value

    def function(self, name: str) -> Callable[..., Any]:
        """The learner's function ``name``, failing clearly when it is missing or not callable."""
        value = self.namespace.get(name, _MISSING)
        if value is _MISSING:
            raise CheckFailed(
                f"There is no function called `{name}` yet.",
                hint=f"Run the cell that defines `def {name}(...)` (spelling counts), then check "
                "again.",
                status="error",
            )
        if not callable(value):
            raise CheckFailed(
                f"`{name}` should be a function, but it is a {type(value).__name__}.",
                hint=f"Define it with `def {name}(...):` and do not assign another value to it "
                "later.",
            )
        if is_placeholder(value):
            # Said before the check builds its world (database servers, clusters): an exercise's
            # untouched task gets its answer at once instead of after seconds of setup.
            raise CheckFailed(
                f"`{name}` is not written yet: its body is still `...`.",
                hint=f"Replace the `...` in `def {name}` with your code, run the cell, then "
                "check again.",
            )
        return value  # type: ignore[no-any-return]

    # -- running learner code ---------------------------------------------------------------
    def call(
        self,
        func: Callable[..., Any],
        *args: Any,
        returns: type | tuple[type, ...] | None = None,
        hints: Mapping[type[BaseException], str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Call learner code; its exceptions and wrong return types become failures with hints.

        Args:
            func: The learner's function.
            *args: Positional arguments for it.
            returns: The type(s) the result must have, if any.
            hints: Hints for exceptions the check expects learners to meet at this call
                (matched with isinstance, first match wins), e.g. ``{KeyError: "..."}``.
            **kwargs: Keyword arguments for it.
        """
        label = f"`{getattr(func, '__name__', 'your function')}`"
        try:
            result = func(*args, **kwargs)
        except CheckFailed:
            raise
        except Exception as exc:  # the learner's exception, whatever it is
            specific = next((h for t, h in (hints or {}).items() if isinstance(exc, t)), "")
            raise CheckFailed(
                f"{label} raised {type(exc).__name__}: {exc}",
                hint=specific or _hint_for(exc) or self.check.hint,
            ) from exc
        if returns is not None and not isinstance(result, returns):
            if result is None:
                raise CheckFailed(
                    f"{label} returned None, but a {_type_names(returns)} is expected.",
                    hint="Did you finish the function (replace the `...`) and `return` the result?",
                )
            raise CheckFailed(
                f"{label} returned a {type(result).__name__} ({short(result)}), but a "
                f"{_type_names(returns)} is expected.",
                hint=self.check.hint,
            )
        return result


def _type_names(types: type | tuple[type, ...]) -> str:
    if isinstance(types, tuple):
        return " or ".join(t.__name__ for t in types)
    return types.__name__


def short(value: object, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters: a learner's value quoted in a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _hint_for(exc: BaseException) -> str:
    """A teaching hint for the exceptions learners meet most."""
    if isinstance(exc, NotSimulatedError):
        return (
            f"The lab sandbox does not simulate {exc.operation} ({exc.service}), and this task "
            "does not need it: do it with the calls the exercise names, then check again."
        )
    code = ""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
    if code:
        return (
            f"AWS answered with the error {code}. Read its message: it usually names the "
            "parameter that is wrong. The boto3 documentation lists each call's parameters."
        )
    if isinstance(exc, NotImplementedError):
        # The placeholder only when the learner's own code raised it (``raise
        # NotImplementedError`` in the exercise); one from a library says nothing about that.
        frames = traceback.extract_tb(exc.__traceback__)
        if frames and not is_library_file(frames[-1].filename):
            return "The function is not written yet: replace the placeholder with your code."
        return ""
    if isinstance(exc, NameError):
        return "A name is not defined: run the cells above first, and check the spelling."
    if isinstance(exc, (TypeError, AttributeError)):
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" (line {frames[-1].lineno})" if frames else ""
        return f"Check the arguments and the types of what you use{where}."
    if isinstance(exc, KeyError):
        return "A key was missing from a dict: print the response to see what it contains."
    return ""
