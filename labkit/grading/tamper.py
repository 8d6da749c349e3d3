"""Keep grading honest inside a learner's kernel.

The checks must run in the learner's kernel (they call the learner's functions and look at the
learner's sandbox), so the learner's code and the grading code share one process. Before any
learner code runs, the grader *arms* a :class:`Guard` in the kernel. The guard

- records every labkit module, class, function and lab spec as installed, the few standard
  library modules the result channel uses, and the builtins;
- before and after every check, compares the live objects with that record, says what was
  changed (``labkit.grading.runner.run_check was replaced``) and puts the originals back, so the
  checks that run are the ones installed with labkit;
- blocks new audit hooks (which could watch the grading code run) and notes trace functions;
- signs the results with a key the grader handed it before any learner code ran, so that output a
  notebook prints or writes itself cannot pass for a grade.

None of this is a sandbox: code running in the same process can, with enough effort, defeat any
in-process guard (``docs/classroom.md`` says what is and is not covered). It makes tampering
deliberate work that leaves traces, and reports every trace it finds.

The grader side uses :func:`check_signature`, :func:`static_flags` (source that reaches into the
grading internals) and :func:`claimed_passes` (checks that a notebook's saved outputs show as
passed).
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import functools
import hashlib
import hmac
import importlib
import importlib.util
import json
import os
import pkgutil
import re
import sys
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# This module runs before anything is put back, so it must not see builtins a notebook rebound
# (``builtins.sorted = ...``): its functions look builtins up in a private copy taken at import.
globals()["__builtins__"] = dict(vars(builtins))

# The result channel's own tools, bound when labkit is imported (before any learner code), so a
# notebook that rebinds json.dumps or hmac.new later does not reach them.
_dumps = json.dumps
_hmac_new = hmac.new
_compare_digest = hmac.compare_digest
_sha256 = hashlib.sha256
_os_open = os.open
_os_write = os.write
_os_close = os.close
_unlink = os.unlink
_replace = os.replace

#: Standard library modules the grading path relies on; their globals and classes are guarded too.
GUARDED_STDLIB = ("json", "json.encoder", "json.decoder", "hmac", "hashlib", "io", "dataclasses")

# Builtins that IPython and ipykernel swap in and out around every cell (input is forwarded to
# the front end): not the learner's doing.
_IPYTHON_BUILTINS = frozenset(
    {"exit", "quit", "get_ipython", "display", "__IPYTHON__", "_", "__", "___", "help", "input"}
)

# The armed guard of this kernel. Like the running-sandbox slot in labkit.sandbox.session it is
# filled explicitly (by arm(), which only the grader calls), never at import time.
_GUARDS: list[Guard] = []


def preload_labkit() -> list[str]:
    """Import every labkit module now, so all of them are recorded before learner code runs.

    Returns:
        The modules that could not be imported (``name: error``); they are left out.
    """
    import labkit

    failed = []
    for info in pkgutil.walk_packages(labkit.__path__, "labkit."):
        try:
            importlib.import_module(info.name)
        except Exception as exc:  # a broken module must not stop grading of the rest
            failed.append(f"{info.name}: {type(exc).__name__}: {exc}")
    return failed


def load_spec(ref: str) -> tuple[Any, str]:
    """Load an instructor's lab spec from ``package.module:NAME`` or ``path/to/file.py:NAME``.

    Returns:
        The spec and the name of the module that holds it.

    Raises:
        LabkitError: When the reference is malformed or names nothing.
    """
    from labkit.errors import LabkitError
    from labkit.labs.spec import LabSpec

    where, sep, attr = ref.rpartition(":")
    if not sep or not where or not attr:
        raise LabkitError(
            f"--checks {ref!r}: write it as package.module:NAME or path/to/file.py:NAME."
        )
    if where.endswith(".py"):
        path = Path(where).resolve()
        if not path.is_file():
            raise LabkitError(f"--checks {ref!r}: there is no file {path}.")
        name = "labkit_checks_" + _sha256(str(path).encode()).hexdigest()[:12]
        module = sys.modules.get(name)
        if module is None:
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise LabkitError(f"--checks {ref!r}: {path} cannot be imported.")
            module = importlib.util.module_from_spec(spec)
            # Registered before it runs: dataclasses look their module up in sys.modules.
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[name]
                raise
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise LabkitError(f"--checks {ref!r}: cannot import {where}: {exc}") from exc
    value = getattr(module, attr, None)
    if not isinstance(value, LabSpec):
        raise LabkitError(f"--checks {ref!r}: {attr} in {where} is not a labkit LabSpec.")
    return value, module.__name__


# -- the record ------------------------------------------------------------------------------
@dataclasses.dataclass
class _Record:
    """What was installed: originals to compare with and to put back."""

    modules: dict[str, tuple[types.ModuleType, dict[str, Any]]]
    classes: list[tuple[str, type, dict[str, Any]]]
    functions: list[tuple[str, types.FunctionType, tuple[Any, ...]]]
    instances: list[tuple[str, object, dict[str, Any]]]
    builtins: dict[str, Any]


def _function_state(func: types.FunctionType) -> tuple[Any, ...]:
    return (func.__code__, func.__defaults__, func.__kwdefaults__)


def _functions_in(value: Any) -> Iterator[types.FunctionType]:
    """The plain functions behind a class attribute or module global."""
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    if isinstance(value, property):
        yield from (
            f for f in (value.fget, value.fset, value.fdel) if isinstance(f, types.FunctionType)
        )
        return
    if isinstance(value, functools.cached_property):
        value = value.func
    wrapped = getattr(value, "__wrapped__", None)
    if isinstance(wrapped, types.FunctionType) and not isinstance(value, types.FunctionType):
        yield wrapped  # functools.cache and friends
    if isinstance(value, types.FunctionType):
        yield value


def _take_record(module_names: Sequence[str], specs: Mapping[str, Any]) -> _Record:
    modules: dict[str, tuple[types.ModuleType, dict[str, Any]]] = {}
    classes: list[tuple[str, type, dict[str, Any]]] = []
    functions: list[tuple[str, types.FunctionType, tuple[Any, ...]]] = []
    seen: set[int] = set()

    def visit_class(label: str, cls: type) -> None:
        if id(cls) in seen:
            return
        seen.add(id(cls))
        classes.append((label, cls, dict(vars(cls))))
        for name, value in vars(cls).items():
            if isinstance(value, type) and value.__module__ == cls.__module__:
                visit_class(f"{label}.{name}", value)
            for func in _functions_in(value):
                visit_function(f"{label}.{name}", func)

    def visit_function(label: str, func: types.FunctionType) -> None:
        if id(func) not in seen:
            seen.add(id(func))
            functions.append((label, func, _function_state(func)))

    for name in module_names:
        module = sys.modules.get(name)
        if module is None:
            continue
        modules[name] = (module, dict(vars(module)))
        for attr, value in vars(module).items():
            if isinstance(value, type) and value.__module__ == name:
                visit_class(f"{name}.{attr}", value)
            elif getattr(value, "__module__", None) == name:
                for func in _functions_in(value):
                    visit_function(f"{name}.{attr}", func)
    instances: list[tuple[str, object, dict[str, Any]]] = []
    for lab_id, spec in specs.items():
        instances.append((f"the {lab_id!r} lab", spec, dict(vars(spec))))
        for check in spec.checks:
            instances.append(
                (f"check {check.name!r} of the {lab_id!r} lab", check, dict(vars(check)))
            )
            if isinstance(check.run, types.FunctionType):
                visit_function(f"check {check.name!r}", check.run)
    return _Record(modules, classes, functions, instances, dict(vars(builtins)))


# -- the guard -------------------------------------------------------------------------------
def _signer(key: bytes) -> Callable[[bytes], str]:
    # The key lives only in this closure, not as an attribute anyone can list.
    def sign(data: bytes) -> str:
        return _hmac_new(key, data, _sha256).hexdigest()

    return sign


class Guard:
    """The record of an untouched labkit in this process, and the key that signs results.

    Args:
        key: The grader's secret for this kernel (signs the results file).
        specs: The labs that may be graded here, by id (the catalog plus any instructor specs).
        extra_modules: Modules besides labkit's to guard (an instructor's check module).
        namespace: The learner's namespace (the kernel's ``user_ns``), kept from the start so a
            notebook cannot hand the checks another one.
    """

    def __init__(
        self,
        key: str,
        specs: Mapping[str, Any],
        *,
        extra_modules: Sequence[str] = (),
        namespace: Mapping[str, Any] | None = None,
    ) -> None:
        names = sorted(n for n in sys.modules if n == "labkit" or n.startswith("labkit."))
        names += [n for n in (*GUARDED_STDLIB, *extra_modules) if n in sys.modules]
        self.specs = dict(specs)
        self.namespace = namespace
        self._record = _take_record(names, self.specs)
        self._sign = _signer(key.encode())
        self._attempts: list[str] = []

    # -- what changed -----------------------------------------------------------------------
    def verify(self, *, restore: bool = True) -> list[str]:
        """Compare the live objects with the record; put the originals back.

        Returns:
            One sentence per change found (empty when nothing was touched).
        """
        found: list[str] = []
        rec = self._record
        for name, (module, original) in rec.modules.items():
            if sys.modules.get(name) is not module:
                found.append(f"sys.modules[{name!r}] was replaced")
                if restore:
                    sys.modules[name] = module
            live = vars(module)
            for attr in sorted(set(original) | set(live)):
                if attr not in live:
                    found.append(f"{name}.{attr} was deleted")
                elif attr not in original:
                    found.append(f"{name}.{attr} was added")
                elif live[attr] is not original[attr]:
                    found.append(f"{name}.{attr} was replaced")
                else:
                    continue
                if restore:
                    _put_back(live, attr, original)
        for label, cls, original in rec.classes:
            live = dict(vars(cls))
            for attr in sorted(set(original) | set(live)):
                if attr in live and attr in original and live[attr] is original[attr]:
                    continue
                verb = (
                    "added"
                    if attr not in original
                    else "deleted"
                    if attr not in live
                    else "replaced"
                )
                found.append(f"{label}.{attr} was {verb}")
                if restore:
                    if attr in original:
                        type.__setattr__(cls, attr, original[attr])
                    else:
                        type.__delattr__(cls, attr)
        for label, func, state in rec.functions:
            if _function_state(func) != state:
                found.append(f"the code of {label} was changed")
                if restore:
                    func.__code__, func.__defaults__, func.__kwdefaults__ = state
        for label, obj, original in rec.instances:
            live = vars(obj)
            if live.keys() != original.keys() or any(live[k] is not v for k, v in original.items()):
                found.append(f"{label} was changed")
                if restore:
                    live.clear()
                    live.update(original)
        live_builtins = vars(builtins)
        for attr, value in rec.builtins.items():
            if attr in _IPYTHON_BUILTINS or live_builtins.get(attr, _ABSENT) is value:
                continue
            found.append(
                f"the builtin {attr} was {'deleted' if attr not in live_builtins else 'replaced'}"
            )
            if restore:
                live_builtins[attr] = value
        if sys.gettrace() is not None:
            found.append("a trace function (sys.settrace) was watching the grading code")
            if restore:
                sys.settrace(None)
        if sys.getprofile() is not None:
            found.append("a profile function (sys.setprofile) was watching the grading code")
            if restore:
                sys.setprofile(None)
        found.extend(self._attempts)
        self._attempts.clear()
        return found

    def unshadow(self, obj: object, label: str) -> list[str]:
        """Remove attributes of ``obj`` that hide its class's methods (``lab.grade = ...``)."""
        found = []
        live = getattr(obj, "__dict__", {})
        for attr in list(live):
            if callable(getattr(type(obj), attr, None)) and not attr.startswith("__"):
                found.append(f"{label}.{attr} was replaced on the object")
                del live[attr]
        return found

    def grade(self, lab_id: str, result_path: str) -> None:
        """Put labkit back, then grade with the real :func:`~labkit.grading.inkernel.grade_here`.

        This is the grader's way in (see ``grading_cell_source``): the originals are restored
        before the grading module is looked up, so replacing it achieves nothing.
        """
        found = self.verify()
        from labkit.grading.inkernel import grade_here

        grade_here(lab_id, result_path, found=found)

    # -- the grading window -----------------------------------------------------------------
    @contextmanager
    def quiet_threads(self) -> Iterator[None]:
        """Keep the notebook's own threads from running while the checks run.

        With a very long switch interval, another thread gets the interpreter only when the
        grading thread blocks, so a thread that keeps re-patching labkit rarely gets a turn (and
        :meth:`verify` after each check catches it when it does).
        """
        previous = sys.getswitchinterval()
        sys.setswitchinterval(1e6)
        try:
            yield
        finally:
            sys.setswitchinterval(previous)

    def block_audit_hooks(self) -> None:
        """Refuse new audit hooks from now on (an audit hook sees the grading code's events)."""
        attempts = self._attempts

        def hook(event: str, args: tuple[Any, ...]) -> None:
            if event == "sys.addaudithook":
                attempts.append("the notebook tried to install an audit hook (refused)")
                # A RuntimeError from an existing hook makes Python refuse the new one silently.
                raise RuntimeError("labkit grading refuses new audit hooks")

        sys.addaudithook(hook)

    # -- the result channel -----------------------------------------------------------------
    def write_signed(self, path: str | os.PathLike[str], payload: Mapping[str, Any]) -> None:
        """Write ``payload`` with its signature to ``path`` (atomically)."""
        data = _dumps(payload, sort_keys=True, default=str)
        document = _dumps({"payload": data, "signature": self._sign(data.encode())})
        temporary = f"{os.fspath(path)}.part"
        # Never follow a link the notebook may have planted where the results go.
        with contextlib.suppress(FileNotFoundError):
            _unlink(temporary)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        handle = _os_open(temporary, flags, 0o600)
        try:
            _os_write(handle, document.encode("utf-8"))
        finally:
            _os_close(handle)
        _replace(temporary, path)


_ABSENT = object()


def _put_back(live: dict[str, Any], attr: str, original: Mapping[str, Any]) -> None:
    if attr in original:
        live[attr] = original[attr]
    else:
        del live[attr]


#: The environment variable that hands a kernel started the ordinary way its key.
KEY_VARIABLE = "LABKIT_GRADE_KEY"


def arm(
    key: str | None = None,
    *,
    checks: Sequence[str] = (),
    audit: bool = True,
    namespace: Mapping[str, Any] | None = None,
) -> Guard:
    """Arm this kernel for grading: load everything, record it, refuse audit hooks.

    The grader calls this in a fresh kernel before any learner code runs.

    Args:
        key: The grader's secret for this kernel; by default taken (and removed) from the
            ``LABKIT_GRADE_KEY`` environment variable, before any learner code can read it.
        checks: Instructor lab specs (``module:NAME`` or ``file.py:NAME``) to grade with.
        audit: Refuse new audit hooks from now on (always, in a grading kernel).
        namespace: The learner's namespace; by default the IPython shell's ``user_ns``.
    """
    from labkit.errors import LabkitError
    from labkit.labs import catalog

    key = key or os.environ.pop(KEY_VARIABLE, "")
    if not key:
        raise LabkitError(f"arm() needs the grader's key (or {KEY_VARIABLE} set).")
    preload_labkit()
    specs = dict(catalog())
    extra = []
    for ref in checks:
        spec, module = load_spec(ref)
        specs[spec.id] = spec
        extra.append(module)
    if namespace is None:
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
        namespace = shell.user_ns if shell is not None else None
    guard = Guard(key, specs, extra_modules=extra, namespace=namespace)
    if audit:
        guard.block_audit_hooks()
    _GUARDS[:] = [guard]
    return guard


def armed() -> Guard | None:
    """The guard armed in this kernel, if any."""
    return _GUARDS[0] if _GUARDS else None


# -- the grader's side -----------------------------------------------------------------------
def read_signed(text: str, key: str) -> tuple[dict[str, Any] | None, str | None]:
    """Read a results file written by :meth:`Guard.write_signed`.

    Returns:
        ``(payload, None)`` when the signature matches, else ``(None, why)``.
    """
    try:
        document = json.loads(text)
        data = document["payload"]
        signature = document["signature"]
    except (ValueError, KeyError, TypeError) as exc:
        return None, f"the results file is not what labkit writes ({type(exc).__name__})"
    if not isinstance(data, str) or not isinstance(signature, str):
        return None, "the results file is not what labkit writes"
    expected = _signer(key.encode())(data.encode())
    if not _compare_digest(expected, signature):
        return None, "the results were not signed by the grader's key (forged or altered)"
    payload = json.loads(data)
    if not isinstance(payload, dict):
        return None, "the results file is not what labkit writes"
    return payload, None


# Names a notebook only needs when it reaches into the grading machinery.
_INTERNALS = re.compile(
    r"\b(?:labkit\.grading(?:\.\w+)?|run_checks?|CheckResult|ScoreReport|grade_here|"
    r"_GUARDS|addaudithook|settrace|setprofile|__code__|"
    r"LABKIT-GRADE-RESULT)\b"
)


def static_flags(sources: Sequence[str]) -> list[str]:
    """Flags for code cells that name labkit's grading internals (to review by hand)."""
    names: dict[str, None] = {}
    for source in sources:
        for match in _INTERNALS.finditer(source):
            names.setdefault(match.group(0), None)
    if not names:
        return []
    listed = ", ".join(f"`{n}`" for n in names)
    return [f"the notebook's code refers to labkit's grading internals ({listed}): review it"]


_CLAIM_TEXT = re.compile(r"✔\s*PASSED\s+([A-Za-z_][\w-]*)")
_CLAIM_HTML = re.compile(
    r"✔(?:\s|<[^>]*>)*(?:passed|PASSED)(?:\s|<[^>]*>)*<code>([A-Za-z_][\w-]*)</code>"
)


def claimed_passes(cells: Sequence[Mapping[str, Any]]) -> set[str]:
    """The check names that a notebook's saved outputs show as passed."""
    names: set[str] = set()
    for cell in cells:
        for output in cell.get("outputs", []) or []:
            texts = [output.get("text", "")]
            data = output.get("data", {}) or {}
            texts += [data.get("text/plain", ""), data.get("text/html", "")]
            for text in texts:
                joined = "".join(text) if isinstance(text, list) else str(text)
                names.update(_CLAIM_TEXT.findall(joined))
                names.update(_CLAIM_HTML.findall(joined))
    return names
