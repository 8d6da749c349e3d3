"""Choice rules in the JSONPath query language: comparison operators and ``And``/``Or``/``Not``.

A comparison whose ``Variable`` holds a value of another type is false (``StringEquals`` on a
number does not match); a ``Variable`` that names nothing is ``States.Runtime``, except under
``IsPresent``. ``StringMatches`` takes ``*`` as a wildcard (``\\*`` and ``\\\\`` escape).
Timestamps compare as instants (RFC 3339, as AWS requires).
https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from labkit.services.stepfunctions.sim_dataflow import Scope
from labkit.services.stepfunctions.sim_errors import RUNTIME, StatesError

_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_timestamp(value: Any) -> datetime | None:
    """An RFC 3339 timestamp as a datetime, or ``None`` when ``value`` is not one."""
    if not isinstance(value, str) or not _TIMESTAMP.match(value):
        return None
    text = value.replace("Z", "+00:00")
    # Python 3.10 reads exactly 3 or 6 fractional digits: make them 6 (RFC 3339 allows any).
    text = re.sub(r"\.(\d+)", lambda m: "." + (m.group(1) + "000000")[:6], text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _typed(check: Callable[[Any], bool], compare: Callable[[Any, Any], bool]) -> Any:
    def op(a: Any, b: Any) -> bool:
        return check(a) and check(b) and compare(a, b)

    return op


def _ts(compare: Callable[[datetime, datetime], bool]) -> Any:
    def op(a: Any, b: Any) -> bool:
        left, right = parse_timestamp(a), parse_timestamp(b)
        return left is not None and right is not None and compare(left, right)

    return op


_is_str = lambda v: isinstance(v, str)  # noqa: E731
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "StringEquals": _typed(_is_str, lambda a, b: a == b),
    "StringLessThan": _typed(_is_str, lambda a, b: a < b),
    "StringGreaterThan": _typed(_is_str, lambda a, b: a > b),
    "StringLessThanEquals": _typed(_is_str, lambda a, b: a <= b),
    "StringGreaterThanEquals": _typed(_is_str, lambda a, b: a >= b),
    "NumericEquals": _typed(_is_number, lambda a, b: a == b),
    "NumericLessThan": _typed(_is_number, lambda a, b: a < b),
    "NumericGreaterThan": _typed(_is_number, lambda a, b: a > b),
    "NumericLessThanEquals": _typed(_is_number, lambda a, b: a <= b),
    "NumericGreaterThanEquals": _typed(_is_number, lambda a, b: a >= b),
    "BooleanEquals": _typed(lambda v: isinstance(v, bool), lambda a, b: a == b),
    "TimestampEquals": _ts(lambda a, b: a == b),
    "TimestampLessThan": _ts(lambda a, b: a < b),
    "TimestampGreaterThan": _ts(lambda a, b: a > b),
    "TimestampLessThanEquals": _ts(lambda a, b: a <= b),
    "TimestampGreaterThanEquals": _ts(lambda a, b: a >= b),
}
_TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda v: v is None,
    "IsNumeric": _is_number,
    "IsString": _is_str,
    "IsBoolean": lambda v: isinstance(v, bool),
    "IsTimestamp": lambda v: parse_timestamp(v) is not None,
}
OPERATORS = (
    set(_COMPARISONS)
    | {k + "Path" for k in _COMPARISONS}
    | set(_TESTS)
    | {"IsPresent", "StringMatches"}
)


@lru_cache(maxsize=512)
def _wildcard(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def matches(rule: Mapping[str, Any], data: Any, scope: Scope) -> bool:
    """Whether a choice rule (or a nested ``And``/``Or``/``Not`` clause) holds for ``data``."""
    if "And" in rule:
        return all(matches(r, data, scope) for r in rule["And"])
    if "Or" in rule:
        return any(matches(r, data, scope) for r in rule["Or"])
    if "Not" in rule:
        return not matches(rule["Not"], data, scope)
    variable = rule.get("Variable")
    if not isinstance(variable, str):
        raise StatesError(RUNTIME, "A choice rule has no Variable and no And, Or or Not.")
    operator = next((k for k in rule if k in OPERATORS), None)
    if operator is None:
        raise StatesError(RUNTIME, f"The choice rule on {variable} has no comparison operator.")
    expected = rule[operator]
    if operator == "IsPresent":
        try:
            scope.select(variable, data, "Variable")
            present = True
        except StatesError:
            present = False
        return present is bool(expected)
    try:
        value = scope.select(variable, data, "Variable")
    except StatesError:
        raise StatesError(
            RUNTIME,
            f"Invalid path '{variable}': The choice state's condition path references an "
            "invalid value.",
        ) from None
    if operator in _TESTS:
        return _TESTS[operator](value) is bool(expected)
    if operator == "StringMatches":
        return isinstance(value, str) and bool(_wildcard(expected).fullmatch(value))
    if operator.endswith("Path"):
        expected = scope.select(expected, data, operator)
        operator = operator[: -len("Path")]
    return _COMPARISONS[operator](value, expected)
