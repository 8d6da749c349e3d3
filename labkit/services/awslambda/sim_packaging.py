"""Package a handler written in a notebook cell as a Lambda deployment zip.

A learner writes ``def handler(event, context): ...`` in a cell; Lambda needs a zip with a module
file. :func:`package_function` writes ``lambda_function.py`` from the function's source
(``inspect.getsource`` works for functions defined in Jupyter cells), preceded by the import lines
the learner names and the modules the function uses by name, and followed by helper functions or
constants the learner hands over. The handler string for ``create_function`` is
``lambda_function.<name>`` (see :func:`handler_string`).

The module starts with ``from __future__ import annotations`` so that annotations such as
``event: dict[str, Any]`` stay strings: they name notebook imports (``Any``) that the package has no
reason to carry, and evaluating them would fail the function's init with ``NameError``.

Plain Python: no moto.
"""

from __future__ import annotations

import builtins
import dis
import inspect
import io
import textwrap
import types
import zipfile
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from labkit.errors import LabkitError

MODULE_NAME = "lambda_function"


class PackagingError(LabkitError):
    """A function that cannot be turned into a deployment package as it stands."""

    code = "PackagingError"


#: The first line of every package: annotations are never evaluated (see the module docstring).
FUTURE_ANNOTATIONS = "from __future__ import annotations"

#: Opcodes that read a name from the module's globals (or builtins). ``LOAD_NAME`` is how module
#: and class-body code reads any name; ``LOAD_FROM_DICT_OR_GLOBALS`` is its 3.12+ form inside
#: annotation scopes. Attribute reads (``LOAD_ATTR``, ``LOAD_METHOD``, ``LOAD_SUPER_ATTR``) name an
#: attribute, not a global, and closures (``LOAD_DEREF``) read the enclosing function's locals.
_GLOBAL_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_NAME", "LOAD_FROM_DICT_OR_GLOBALS"})


def globals_loaded(code: types.CodeType) -> set[str]:
    """Names ``code`` and the code nested in it (functions, lambdas, comprehensions, classes) read
    as globals.

    Only load instructions count: ``error.response`` reads the attribute ``response``, which is in
    ``co_names`` but is no global. ``dis`` decodes each Python version's encoding (3.11+ packs a
    flag into ``LOAD_GLOBAL``'s argument; ``argval`` is always the name). A name that module or
    class-body code assigns itself (``STORE_NAME``) is that code's own, so its ``LOAD_NAME`` is not
    a global read either.
    """
    loaded: set[str] = set()
    stored: set[str] = set()
    for instruction in dis.get_instructions(code):
        if instruction.opname in _GLOBAL_LOADS:
            loaded.add(str(instruction.argval))
        elif instruction.opname == "STORE_NAME":
            stored.add(str(instruction.argval))
    names = loaded - stored
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= globals_loaded(const)
    return names


def _compiled(source: str, name: str) -> types.CodeType:
    """``source`` compiled as the package will run it: after the ``__future__`` line."""
    try:
        return compile(f"{FUTURE_ANNOTATIONS}\n{source}", f"<{name}>", "exec", dont_inherit=True)
    except SyntaxError as e:
        raise PackagingError(
            f"The source labkit read for {name!r} does not compile on its own ({e.msg}). Define "
            "it with `def` at the top level of a cell."
        ) from None


def _source(obj: Callable[..., Any] | type) -> str:
    try:
        return textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError) as e:
        raise PackagingError(
            f"labkit cannot read the source of {getattr(obj, '__name__', obj)!r} ({e}). Define it "
            "with `def` in a notebook cell or a .py file (a lambda expression or a built-in "
            "function has no source to package)."
        ) from None


def _source_globals(source: str, name: str) -> set[str]:
    return globals_loaded(_compiled(source, name))


def source_globals(obj: Callable[..., Any] | type) -> set[str]:
    """Names the source of ``obj`` (a function or class) reads as globals, scanned as the package
    will run it.

    The copied source is compiled with postponed annotations, so the scan covers decorators,
    default values and a class's methods, and leaves out annotation names (the package never
    evaluates them). This is the one scan: :func:`module_source` checks a package with it, and
    :func:`labkit.services.awslambda.deploy.notebook_dependencies` follows a handler's helpers
    with it.

    Raises:
        PackagingError: The source cannot be read, or does not compile on its own.
    """
    return _source_globals(_source(obj), getattr(obj, "__name__", repr(obj)))


def module_source(
    func: Callable[..., Any],
    *,
    imports: Iterable[str] = (),
    helpers: Iterable[Callable[..., Any] | type] = (),
    constants: Mapping[str, Any] | None = None,
) -> str:
    """The text of ``lambda_function.py`` for ``func``.

    Args:
        func: The handler, ``def name(event, context)``.
        imports: Import lines to put first, e.g. ``["import json", "from decimal import Decimal"]``.
        helpers: Functions or classes the handler calls, copied in by source.
        constants: Module-level values (``repr`` must round-trip, e.g. strings and numbers).

    Raises:
        PackagingError: The source cannot be read, or the handler uses a global name that is
            neither imported, a helper, a constant nor a built-in.
    """
    if not callable(func) or not hasattr(func, "__code__"):
        raise PackagingError(f"{func!r} is not a function defined with `def`.")
    constants = dict(constants or {})
    lines = [line.strip() for line in imports if line.strip()]
    helpers = list(helpers)
    provided = {h.__name__ for h in helpers} | set(constants) | {func.__name__}
    for line in lines:
        provided |= _imported_names(line)
    auto: list[str] = []
    missing: list[str] = []
    module_globals = getattr(func, "__globals__", {})
    # Scan the code the package will run, compiled from the copied source with postponed
    # annotations: it covers decorators, default values and class helpers' methods, and leaves out
    # annotation names, which the package never evaluates.
    sources = [(h.__name__, _source(h)) for h in helpers] + [(func.__name__, _source(func))]
    used = set().union(*(_source_globals(src, name) for name, src in sources))
    for name in sorted(used - provided):
        if hasattr(builtins, name):
            continue
        value = module_globals.get(name)
        if isinstance(value, types.ModuleType):
            real = value.__name__
            auto.append(f"import {real}" if real == name else f"import {real} as {name}")
        elif name in module_globals:
            missing.append(name)
    if missing:
        raise PackagingError(
            f"`{func.__name__}` uses {', '.join(f'`{n}`' for n in missing)} from your notebook. "
            "A Lambda function only has what its package contains: pass functions or classes "
            "with `helpers=[...]`, values with `constants={...}`, or import lines with "
            "`imports=[...]`."
        )
    # Future imports must come before any other statement: the learner's go right after ours.
    futures = [FUTURE_ANNOTATIONS] + [
        line for line in lines if line.startswith("from __future__ ") and line != FUTURE_ANNOTATIONS
    ]
    others = [line for line in lines if not line.startswith("from __future__ ")]
    parts = ["\n".join(futures + others + auto)]
    if constants:
        parts.append("\n".join(f"{k} = {v!r}" for k, v in constants.items()))
    parts.extend(src for _, src in sources)
    return "\n\n\n".join(p.rstrip() for p in parts) + "\n"


def _imported_names(line: str) -> set[str]:
    """Names an import line binds (``import a.b as c`` → c, ``from x import y, z`` → y, z)."""
    names: set[str] = set()
    body = line.split("#", 1)[0].strip()
    if body.startswith("import "):
        for item in body[len("import ") :].split(","):
            item = item.strip()
            if " as " in item:
                names.add(item.split(" as ", 1)[1].strip())
            elif item:
                names.add(item.split(".", 1)[0])
    elif body.startswith("from ") and " import " in body:
        for item in body.split(" import ", 1)[1].strip("() ").split(","):
            item = item.strip()
            if item:
                names.add(item.split(" as ", 1)[1].strip() if " as " in item else item)
    return names


def package_function(
    func: Callable[..., Any],
    *,
    imports: Iterable[str] = (),
    helpers: Iterable[Callable[..., Any] | type] = (),
    constants: Mapping[str, Any] | None = None,
    extra_files: Mapping[str, str | bytes] | None = None,
) -> bytes:
    """A deployment zip (bytes) whose ``lambda_function.py`` holds ``func``.

    Use the result as ``Code={"ZipFile": ...}`` with ``Handler=handler_string(func)``.
    See :func:`module_source` for the arguments; ``extra_files`` adds files by path.
    """
    source = module_source(func, imports=imports, helpers=helpers, constants=constants)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{MODULE_NAME}.py", source)
        for path, content in (extra_files or {}).items():
            archive.writestr(path, content)
    return buffer.getvalue()


def handler_string(func: Callable[..., Any]) -> str:
    """The ``Handler`` setting for a package made by :func:`package_function`."""
    return f"{MODULE_NAME}.{func.__name__}"
