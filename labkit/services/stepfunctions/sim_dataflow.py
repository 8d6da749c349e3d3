"""How data flows through a state in the JSONPath query language, in AWS's order:
``InputPath`` -> ``Parameters`` (or a Map's ``ItemSelector``) -> the state's work ->
``ResultSelector`` -> ``ResultPath`` -> ``OutputPath``.
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-input-output-filtering.html

- ``InputPath``/``OutputPath``: a path selects part of the data; ``null`` gives ``{}``.
- ``Parameters``/``ResultSelector``/``ItemSelector``: a payload template; a key ending in ``.$``
  takes its value from a path (``$.x`` on the data, ``$$.x`` on the context object, ``$name`` a
  variable) or an intrinsic function, and loses the ``.$``.
- ``ResultPath``: where the result goes in the state's *raw input*; ``null`` discards the result
  and passes the input through; absent is ``$`` (the result replaces the input).

A path that names nothing is ``States.Runtime`` (which no retrier or catcher handles), with AWS's
cause: "The JSONPath '$.x' specified for the field 'InputPath' could not be found in the input
'{...}'".
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from typing import Any

from labkit.services.stepfunctions import sim_intrinsics, sim_paths
from labkit.services.stepfunctions.sim_errors import RUNTIME, StatesError

_MISSING = object()


def dumps(value: Any) -> str:
    """JSON as Step Functions prints it in causes and history (compact)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class Scope:
    """Where paths are resolved: the data, the context object and the variables in scope."""

    __slots__ = ("context", "rng", "variables")

    def __init__(
        self, context: Mapping[str, Any], variables: Mapping[str, Any], rng: random.Random
    ) -> None:
        self.context = context
        self.variables = variables
        self.rng = rng

    def select(self, path: str, data: Any, field: str) -> Any:
        """The value of ``path`` (``$...``, ``$$...`` or ``$variable...``).

        Raises:
            StatesError: ``States.Runtime`` for a path that names nothing.
        """
        parsed = sim_paths.parse(path)
        if parsed.root == "$":
            root = data
        elif parsed.root == "$$":
            root = self.context
        else:
            name = parsed.root[1:]
            if name not in self.variables:
                raise StatesError(
                    RUNTIME,
                    f"The JSONPath '{path}' specified for the field '{field}' references an "
                    f"undefined variable '{name}'",
                )
            root = self.variables[name]
        try:
            return parsed.get(root)
        except sim_paths.PathNotFound:
            raise StatesError(
                RUNTIME,
                f"The JSONPath '{path}' specified for the field '{field}' could not be found "
                f"in the input '{dumps(root)}'",
            ) from None

    def filter_path(self, path: Any, data: Any, field: str) -> Any:
        """``InputPath``/``OutputPath``/``ItemsPath``: ``null`` is ``{}``, absent is ``$``."""
        if path is _MISSING or path == "$":
            return data
        if path is None:
            return {}
        return self.select(path, data, field)

    def template(self, template: Any, data: Any, field: str) -> Any:
        """Fill a payload template (``Parameters``, ``ResultSelector``, ``ItemSelector``)."""
        if isinstance(template, dict):
            out: dict[str, Any] = {}
            for key, value in template.items():
                if key.endswith(".$") and isinstance(value, str):
                    out[key[:-2]] = self.dynamic(value, data, key)
                else:
                    out[key] = self.template(value, data, field)
            return out
        if isinstance(template, list):
            return [self.template(v, data, field) for v in template]
        return template

    def dynamic(self, value: str, data: Any, field: str) -> Any:
        """The value of a ``.$`` field: an intrinsic function call or a path."""
        if sim_intrinsics.is_intrinsic(value):
            return sim_intrinsics.evaluate(
                value, lambda path: self.select(path, data, field), self.rng
            )
        return self.select(value, data, field)


def apply_result_path(spec: Mapping[str, Any], raw_input: Any, result: Any) -> Any:
    """Place ``result`` in the raw input as ``ResultPath`` says."""
    if "ResultPath" not in spec:
        return result
    path = spec["ResultPath"]
    if path is None:
        return raw_input
    return sim_paths.put(raw_input, path, result)


def field(spec: Mapping[str, Any], key: str) -> Any:
    """A path field as :meth:`Scope.filter_path` wants it (absent is a marker, not ``None``)."""
    return spec.get(key, _MISSING) if key in spec else _MISSING
