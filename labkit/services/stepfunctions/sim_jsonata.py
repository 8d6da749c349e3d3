"""The JSONata query language of Step Functions (``"QueryLanguage": "JSONata"``).

A string ``"{% expression %}"`` anywhere in ``Arguments``, ``Output``, ``Assign``, ``Condition``,
``Items``, ``ItemSelector``, ``Seconds``, ``Timestamp``, ``TimeoutSeconds``, ``Error``, ``Cause``...
is evaluated with ``$states`` (``input``, ``result``, ``errorOutput``, ``context``) and the
execution's variables bound; every other value is taken as it is written.
https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html

Expressions are evaluated by ``jsonata-python``, a pure-Python port of jsonata-java (the JSONata
1.x/2.x language, every built-in function). Step Functions adds ``$partition``, ``$range``,
``$hash``, ``$random``, ``$uuid`` and ``$parse``, registered here; ``$random`` and ``$uuid`` draw
from the execution's seeded generator. An expression that fails, or whose value is undefined
where a value is needed, is ``States.QueryEvaluationError``.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jsonata  # type: ignore[import-untyped]

from labkit.services.stepfunctions.sim_errors import QUERY_EVALUATION_ERROR, StatesError

_OPEN, _CLOSE = "{%", "%}"


def is_expression(value: Any) -> bool:
    """Whether a value is a ``{% ... %}`` JSONata expression."""
    return (
        isinstance(value, str)
        and value.startswith(_OPEN)
        and value.endswith(_CLOSE)
        and len(value) >= 4
    )


@lru_cache(maxsize=2048)
def compile_expression(source: str) -> Any:
    """Compile the expression inside ``{% %}`` (cached: a machine's expressions parse once).

    Raises:
        StatesError: ``States.QueryEvaluationError`` for an expression that does not parse.
    """
    try:
        return jsonata.Jsonata(source[2:-2].strip())
    except Exception as exc:
        raise StatesError(
            QUERY_EVALUATION_ERROR, f"The JSONata expression {source!r} is not valid: {exc}"
        ) from None


def _frame(expr: Any, bindings: Mapping[str, Any], rng: random.Random) -> Any:
    frame = expr.create_frame()
    for name, value in bindings.items():
        frame.bind(name, value)
    frame.bind("partition", _native(lambda items, size: _chunks(items, size)))
    frame.bind("range", _native(lambda a, b, s: list(range(int(a), int(b) + 1, int(s)))))
    frame.bind(
        "hash",
        _native(
            lambda data, alg: hashlib.new(alg.replace("-", "").lower(), data.encode()).hexdigest()
        ),
    )
    frame.bind("random", _native(lambda *seed: (random.Random(seed[0]) if seed else rng).random()))
    frame.bind("uuid", _native(lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4))))
    frame.bind("parse", _native(lambda text: json.loads(text)))
    return frame


def _chunks(items: list[Any], size: float) -> list[list[Any]]:
    n = int(size)
    return [items[i : i + n] for i in range(0, len(items), n)]


def _native(fn: Any) -> Any:
    """A Python function JSONata can call (jsonata-python's JLambda wrapper)."""
    return jsonata.Jsonata.JLambda(fn)


def evaluate(source: str, bindings: Mapping[str, Any], rng: random.Random, *, field: str) -> Any:
    """Evaluate one ``{% %}`` expression.

    Args:
        source: The expression with its ``{% %}``.
        bindings: Variables by name without ``$`` (``states`` and the execution's variables).
        rng: The execution's seeded generator.
        field: The field the expression stands in, for the error's cause.

    Raises:
        StatesError: ``States.QueryEvaluationError``.
    """
    expr = compile_expression(source)
    try:
        value = expr.evaluate(None, _frame(expr, bindings, rng))
    except StatesError:
        raise
    except Exception as exc:
        raise StatesError(
            QUERY_EVALUATION_ERROR,
            f"An error occurred while executing the state's {field}: {source} ({exc})",
        ) from None
    if value is None:
        raise StatesError(
            QUERY_EVALUATION_ERROR,
            f"The JSONata expression '{source[2:-2].strip()}' specified for the field "
            f"'{field}' returned nothing (undefined).",
        )
    return _plain(value)


def _plain(value: Any) -> Any:
    """JSONata's values as JSON values (whole floats become ints, as JSON has one number type)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def template(value: Any, bindings: Mapping[str, Any], rng: random.Random, *, field: str) -> Any:
    """Evaluate every ``{% %}`` string inside ``value`` (objects and arrays, recursively)."""
    if isinstance(value, str):
        return evaluate(value, bindings, rng, field=field) if is_expression(value) else value
    if isinstance(value, dict):
        return {k: template(v, bindings, rng, field=field) for k, v in value.items()}
    if isinstance(value, list):
        return [template(v, bindings, rng, field=field) for v in value]
    return value
