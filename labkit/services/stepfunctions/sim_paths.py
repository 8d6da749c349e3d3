"""JSONPath as Step Functions reads it: paths that select (``InputPath``, ``OutputPath``,
``ItemsPath``, ``"field.$"`` values) and reference paths that write (``ResultPath``).

AWS evaluates JSONPath with the Jayway implementation: a *definite* path (only names and single
indexes) names one value and fails when it is missing; an *indefinite* path (``*``, ``..``,
slices, unions, filters) gathers every match into a list, empty when nothing matches.
``$`` is the state's input, ``$$`` the context object, ``$name`` a variable.
https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html

Parsed paths are cached: a machine's paths are parsed once however many times states run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from labkit.services.stepfunctions.sim_errors import RESULT_PATH_MATCH_FAILURE, StatesError

_NAME = re.compile(r"[^.\[\]()\s]+")


class PathSyntaxError(ValueError):
    """A string that is not a JSONPath Step Functions accepts."""


class PathNotFound(Exception):
    """A definite path that names nothing in the data."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


@dataclass(frozen=True)
class Step:
    """One step of a path: ``kind`` is field, index, wild, slice, union, filter, desc or length."""

    kind: str
    arg: Any = None


@dataclass(frozen=True)
class JsonPath:
    """A parsed path: where it starts (``$``, ``$$`` or ``$name``) and its steps."""

    text: str
    root: str
    steps: tuple[Step, ...]
    definite: bool

    def find(self, data: Any) -> list[Any]:
        """Every value the path reaches in ``data`` (already rooted), in document order."""
        current = [data]
        for step in self.steps:
            current = [v for value in current for v in _apply(step, value)]
        return current

    def get(self, data: Any) -> Any:
        """The value (definite path) or the list of matches (indefinite path).

        Raises:
            PathNotFound: A definite path reaches nothing.
        """
        found = self.find(data)
        if self.definite:
            if not found:
                raise PathNotFound(self.text)
            return found[0]
        return found


def _apply(step: Step, value: Any) -> list[Any]:
    kind = step.kind
    if kind == "field":
        if isinstance(value, dict) and step.arg in value:
            return [value[step.arg]]
        return []
    if kind == "index":
        if isinstance(value, list):
            i = step.arg
            if -len(value) <= i < len(value):
                return [value[i]]
        return []
    if kind == "wild":
        if isinstance(value, dict):
            return list(value.values())
        if isinstance(value, list):
            return list(value)
        return []
    if kind == "slice":
        if isinstance(value, list):
            start, stop, stride = step.arg
            return value[slice(start, stop, stride)]
        return []
    if kind == "union":
        out: list[Any] = []
        for key in step.arg:
            if isinstance(key, int):
                out.extend(_apply(Step("index", key), value))
            else:
                out.extend(_apply(Step("field", key), value))
        return out
    if kind == "filter":
        items = value if isinstance(value, list) else []
        test: Callable[[Any], bool] = step.arg
        return [item for item in items if test(item)]
    if kind == "desc":
        return [v for node in _walk(value) for v in _apply(step.arg, node)]
    if kind == "length":
        return [len(value)] if isinstance(value, (list, str, dict)) else []
    raise AssertionError(kind)


def _walk(value: Any) -> list[Any]:
    nodes = [value]
    if isinstance(value, dict):
        for child in value.values():
            nodes.extend(_walk(child))
    elif isinstance(value, list):
        for child in value:
            nodes.extend(_walk(child))
    return nodes


@lru_cache(maxsize=4096)
def parse(text: str) -> JsonPath:
    """Parse a JSONPath (``$...``, ``$$...`` or ``$variable...``).

    Raises:
        PathSyntaxError: Not a path.
    """
    if not isinstance(text, str) or not text.startswith("$"):
        raise PathSyntaxError(f"{text!r} is not a JSONPath: a path starts with '$'.")
    if text.startswith("$$"):
        root, i = "$$", 2
    else:
        m = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)", text)
        root, i = (m.group(0), m.end()) if m else ("$", 1)
    steps: list[Step] = []
    n = len(text)
    while i < n:
        if text.startswith("..", i):
            i += 2
            if i < n and text[i] == "[":
                inner, i = _bracket(text, i)
            elif text.startswith("*", i):
                inner, i = Step("wild"), i + 1
            else:
                m = _NAME.match(text, i)
                if not m:
                    raise PathSyntaxError(f"{text!r}: expected a name after '..'.")
                inner, i = Step("field", m.group(0)), m.end()
            steps.append(Step("desc", inner))
        elif text[i] == ".":
            i += 1
            if text.startswith("*", i):
                steps.append(Step("wild"))
                i += 1
                continue
            if text.startswith("length()", i) and i + 8 == n:
                steps.append(Step("length"))
                i += 8
                continue
            m = _NAME.match(text, i)
            if not m:
                raise PathSyntaxError(f"{text!r}: expected a name after '.' at {i}.")
            steps.append(Step("field", m.group(0)))
            i = m.end()
        elif text[i] == "[":
            step, i = _bracket(text, i)
            steps.append(step)
        else:
            raise PathSyntaxError(f"{text!r}: unexpected {text[i]!r} at {i}.")
    definite = all(s.kind in ("field", "index", "length") for s in steps)
    return JsonPath(text, root, tuple(steps), definite)


def _bracket(text: str, i: int) -> tuple[Step, int]:
    depth, j = 0, i
    quote = ""
    while j < len(text):
        c = text[j]
        if quote:
            if c == "\\":
                j += 1
            elif c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                break
        j += 1
    else:
        raise PathSyntaxError(f"{text!r}: '[' at {i} is never closed.")
    body = text[i + 1 : j].strip()
    end = j + 1
    if body == "*":
        return Step("wild"), end
    if body.startswith("?(") and body.endswith(")"):
        return Step("filter", _filter(body[2:-1].strip(), text)), end
    if ":" in body and not body.startswith(("'", '"')):
        parts = [p.strip() for p in body.split(":")]
        try:
            nums = [int(p) if p else None for p in parts] + [None] * (3 - len(parts))
        except ValueError as exc:
            raise PathSyntaxError(f"{text!r}: bad slice [{body}].") from exc
        return Step("slice", tuple(nums[:3])), end
    keys: list[int | str] = []
    for part in _split_top(body, ","):
        part = part.strip()
        if part[:1] in "'\"" and part[-1:] == part[:1] and len(part) >= 2:
            keys.append(part[1:-1].replace("\\" + part[0], part[0]))
        else:
            try:
                keys.append(int(part))
            except ValueError as exc:
                raise PathSyntaxError(f"{text!r}: bad subscript [{body}].") from exc
    if len(keys) == 1:
        key = keys[0]
        return (Step("index", key) if isinstance(key, int) else Step("field", key)), end
    return Step("union", tuple(keys)), end


def _split_top(body: str, sep: str) -> list[str]:
    parts, quote, start = [], "", 0
    for j, c in enumerate(body):
        if quote:
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
        elif c == sep:
            parts.append(body[start:j])
            start = j + 1
    parts.append(body[start:])
    return parts


# -- filters: @.a.b op literal, joined with && and || --------------------------------------------
_COMPARE = re.compile(
    r"^\s*(@[^\s=!<>]*)\s*(==|!=|<=|>=|<|>)\s*(.+?)\s*$",
)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _literal(text: str) -> Any:
    import json

    if text[:1] == "'" and text[-1:] == "'":
        return text[1:-1]
    try:
        return json.loads(text)
    except ValueError as exc:
        raise PathSyntaxError(f"{text!r} is not a literal in a filter.") from exc


def _filter(expr: str, whole: str) -> Callable[[Any], bool]:
    ors = _split_top(expr.replace("||", "\x00"), "\x00")
    if len(ors) > 1:
        tests = [_filter(o.strip(), whole) for o in ors]
        return lambda item: any(t(item) for t in tests)
    ands = _split_top(expr.replace("&&", "\x00"), "\x00")
    if len(ands) > 1:
        tests = [_filter(a.strip(), whole) for a in ands]
        return lambda item: all(t(item) for t in tests)
    expr = expr.strip()
    if expr.startswith("(") and expr.endswith(")"):
        return _filter(expr[1:-1], whole)
    m = _COMPARE.match(expr)
    if m:
        sub = parse("$" + m.group(1)[1:])
        op, want = _OPS[m.group(2)], _literal(m.group(3))

        def compare(item: Any) -> bool:
            found = sub.find(item)
            if not found:
                return False
            try:
                return bool(op(found[0], want))
            except TypeError:
                return False

        return compare
    if expr.startswith("@"):
        sub = parse("$" + expr[1:])
        return lambda item: bool(sub.find(item))
    raise PathSyntaxError(f"{whole!r}: unsupported filter ({expr}).")


# -- reference paths (ResultPath) ------------------------------------------------------------------
@lru_cache(maxsize=1024)
def reference(text: str) -> tuple[Step, ...]:
    """Parse a reference path: only names and indexes, as ``ResultPath`` requires.

    Raises:
        PathSyntaxError: Not a reference path.
    """
    path = parse(text)
    if path.root != "$" or not all(s.kind in ("field", "index") for s in path.steps):
        raise PathSyntaxError(
            f"{text!r} is not a reference path (only '$', '.name', ['name'] and [index])."
        )
    return path.steps


def put(document: Any, text: str, value: Any) -> Any:
    """``document`` with ``value`` placed at the reference path ``text`` (a new document; the
    original is not changed).

    Raises:
        StatesError: ``States.ResultPathMatchFailure`` when the path crosses a value that is not
            an object (or an index outside an array).
    """
    steps = reference(text)
    if not steps:
        return value

    def place(node: Any, at: int) -> Any:
        step = steps[at]
        last = at == len(steps) - 1
        if step.kind == "field":
            if node is None:
                node = {}
            if not isinstance(node, dict):
                raise _mismatch(text, document)
            copy = dict(node)
            copy[step.arg] = value if last else place(node.get(step.arg), at + 1)
            return copy
        if not isinstance(node, list) or not -len(node) <= step.arg < len(node):
            raise _mismatch(text, document)
        items = list(node)
        items[step.arg] = value if last else place(node[step.arg], at + 1)
        return items

    return place(document, 0)


def _mismatch(text: str, document: Any) -> StatesError:
    import json

    return StatesError(
        RESULT_PATH_MATCH_FAILURE,
        f"Unable to apply ResultPath '{text}' to input "
        + json.dumps(document, separators=(",", ":")),
    )
