"""Reading a policy document into :class:`Policy` and :class:`Statement`, checking its shape.

AWS accepts a few spellings of the same thing, and this module folds them into one: a JSON
string, bytes or dict; ``Statement`` as one object or a list; ``Action``, ``Resource`` and
principal values as a string or a list of strings. What AWS would refuse to store (not JSON, a
statement that is not an object, ``Effect: "allow"``, ``Action`` and ``NotAction`` together, a
number where a string belongs) is reported, never raised past :func:`load_policy`:

- :func:`parse_policy` raises :class:`PolicyError` on the first problem (for authors and tests);
- :func:`load_policy` never raises: a document it cannot read becomes a :class:`Policy` with
  ``error`` set and no statements, and a malformed statement keeps its ``problem`` so the engine
  can say "statement 2 is malformed: ..." instead of silently skipping it.

Sources: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html and
the pages of each element (Version, Statement, Effect, Principal, Action, Resource, Condition).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from labkit.errors import LabkitError

PolicyKind = Literal["identity", "resource"]
Effect = Literal["Allow", "Deny"]

#: The policy language version that enables policy variables.
CURRENT_VERSION = "2012-10-17"
_VERSIONS = ("2012-10-17", "2008-10-17")
_PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")


class PolicyError(LabkitError):
    """A policy document AWS would not accept: the message says what is wrong, and where."""

    code = "MalformedPolicy"


@dataclass(frozen=True)
class Statement:
    """One statement, normalised: lists of strings, ``None`` for an absent element.

    Attributes:
        index: Its position in the policy, from 1 (what an explanation calls it without a Sid).
        sid: Its ``Sid``, or ``""``.
        effect: ``Allow`` or ``Deny`` (``""`` when malformed).
        principal / not_principal: ``{"AWS": [...], "Service": [...], ...}``, or ``{"*": ["*"]}``
            for the bare ``"*"``; ``None`` when the element is absent.
        action / not_action / resource / not_resource: The element's strings, or ``None``.
        condition: ``{operator: {key: [values]}}`` with values as strings.
        problem: Why the statement is malformed, or ``""``; a malformed statement never applies.
    """

    index: int
    sid: str = ""
    effect: str = ""
    principal: Mapping[str, tuple[str, ...]] | None = None
    not_principal: Mapping[str, tuple[str, ...]] | None = None
    action: tuple[str, ...] | None = None
    not_action: tuple[str, ...] | None = None
    resource: tuple[str, ...] | None = None
    not_resource: tuple[str, ...] | None = None
    condition: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    problem: str = ""

    @property
    def label(self) -> str:
        """``statement `AllowTopic``` or ``statement 2``: how explanations name it."""
        return f"statement `{self.sid}`" if self.sid else f"statement {self.index}"


@dataclass(frozen=True)
class Policy:
    """A policy, normalised.

    Attributes:
        name: How explanations name it ("the queue's policy", "identity policy `ReadOnly`").
        kind: ``identity`` (attached to a user or role) or ``resource`` (attached to the
            resource: bucket, queue, function, API).
        version: Its ``Version`` (``""`` when absent, which AWS reads as ``2008-10-17``).
        statements: Its statements in order.
        error: Why the document could not be read at all, or ``""``.
    """

    name: str
    kind: PolicyKind
    version: str = ""
    statements: tuple[Statement, ...] = ()
    error: str = ""

    @property
    def variables_enabled(self) -> bool:
        """Policy variables work only in ``2012-10-17`` policies; elsewhere they are text."""
        return self.version == CURRENT_VERSION

    @property
    def problems(self) -> tuple[str, ...]:
        """Every problem of the document and of its statements, as sentences."""
        found = [f"{self.name} is malformed: {self.error}"] if self.error else []
        found += [
            f"{s.label} of {self.name} is malformed: {s.problem}"
            for s in self.statements
            if s.problem
        ]
        return tuple(found)


def load_policy(
    document: Policy | Mapping[str, Any] | str | bytes,
    *,
    name: str = "",
    kind: PolicyKind = "resource",
) -> Policy:
    """Read ``document`` without ever raising (see the module docstring).

    Args:
        document: A :class:`Policy` (returned as is), a dict, or its JSON text.
        name: How explanations name it; defaults to "the resource policy" / "the identity
            policy".
        kind: Whether it is attached to the resource or to the caller.
    """
    if isinstance(document, Policy):
        return document
    name = name or ("the resource policy" if kind == "resource" else "the identity policy")
    if isinstance(document, (bytes, bytearray)):
        try:
            document = bytes(document).decode("utf-8")
        except UnicodeDecodeError:
            return Policy(name, kind, error="it is not UTF-8 text")
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError as error:
            return Policy(name, kind, error=f"it is not valid JSON ({error})")
    if not isinstance(document, Mapping):
        return Policy(name, kind, error=f"it must be a JSON object, not {_type(document)}")
    version = document.get("Version", "")
    if not isinstance(version, str) or (version and version not in _VERSIONS):
        return Policy(
            name, kind, error=f"Version must be 2012-10-17 or 2008-10-17, not {version!r}"
        )
    raw = document.get("Statement")
    if raw is None:
        return Policy(name, kind, version, error="it has no Statement")
    items = [raw] if isinstance(raw, Mapping) else raw if isinstance(raw, list) else None
    if items is None:
        return Policy(name, kind, version, error="Statement must be an object or a list of them")
    statements = tuple(_statement(i, item, kind) for i, item in enumerate(items, start=1))
    return Policy(name, kind, version, statements)


def parse_policy(
    document: Mapping[str, Any] | str | bytes, *, name: str = "", kind: PolicyKind = "resource"
) -> Policy:
    """Like :func:`load_policy`, but raise :class:`PolicyError` if anything is malformed."""
    policy = load_policy(document, name=name, kind=kind)
    if policy.problems:
        raise PolicyError("; ".join(policy.problems))
    return policy


# -- one statement ------------------------------------------------------------------------------
def _statement(index: int, raw: Any, kind: PolicyKind) -> Statement:
    if not isinstance(raw, Mapping):
        return Statement(index, problem=f"it must be a JSON object, not {_type(raw)}")
    sid = raw.get("Sid", "")
    sid = sid if isinstance(sid, str) else str(sid)
    try:
        return _read_statement(index, sid, raw, kind)
    except PolicyError as error:
        return Statement(index, sid, problem=error.message)


def _read_statement(index: int, sid: str, raw: Mapping[str, Any], kind: PolicyKind) -> Statement:
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        # AWS spells them exactly so; "allow" is refused when the policy is saved.
        raise PolicyError(f'Effect must be "Allow" or "Deny", not {effect!r}')
    for a, b in (
        ("Action", "NotAction"),
        ("Resource", "NotResource"),
        ("Principal", "NotPrincipal"),
    ):
        if a in raw and b in raw:
            raise PolicyError(f"it has both {a} and {b}; a statement takes one of them")
    if "Action" not in raw and "NotAction" not in raw:
        raise PolicyError("it has neither Action nor NotAction")
    principal = _principal(raw, "Principal")
    not_principal = _principal(raw, "NotPrincipal")
    if kind == "identity" and (principal is not None or not_principal is not None):
        raise PolicyError("an identity-based policy cannot name a Principal")
    if kind == "resource" and principal is None and not_principal is None:
        raise PolicyError("a resource-based policy statement must name a Principal")
    if kind == "identity" and "Resource" not in raw and "NotResource" not in raw:
        raise PolicyError("it has neither Resource nor NotResource")
    return Statement(
        index,
        sid,
        str(effect),
        principal,
        not_principal,
        _strings(raw, "Action"),
        _strings(raw, "NotAction"),
        _strings(raw, "Resource"),
        _strings(raw, "NotResource"),
        _condition(raw.get("Condition")),
    )


def _strings(raw: Mapping[str, Any], element: str) -> tuple[str, ...] | None:
    if element not in raw:
        return None
    value = raw[element]
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) for v in values):
        raise PolicyError(f"{element} must be a string or a non-empty list of strings")
    return tuple(values)


def _principal(raw: Mapping[str, Any], element: str) -> Mapping[str, tuple[str, ...]] | None:
    if element not in raw:
        return None
    value = raw[element]
    if value == "*":
        return {"*": ("*",)}
    if not isinstance(value, Mapping) or not value:
        raise PolicyError(f'{element} must be "*" or an object such as {{"AWS": "123456789012"}}')
    found: dict[str, tuple[str, ...]] = {}
    for kind, names in value.items():
        if kind not in _PRINCIPAL_TYPES:
            raise PolicyError(
                f"{element} type {kind!r} is not one of {', '.join(_PRINCIPAL_TYPES)}"
            )
        listed = names if isinstance(names, list) else [names]
        if not listed or not all(isinstance(n, str) for n in listed):
            raise PolicyError(f"{element} {kind} must be a string or a list of strings")
        found[kind] = tuple(listed)
    return found


def _condition(raw: Any) -> dict[str, dict[str, tuple[str, ...]]]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise PolicyError("Condition must be an object of operators")
    block: dict[str, dict[str, tuple[str, ...]]] = {}
    for operator, tests in raw.items():
        if not isinstance(tests, Mapping) or not tests:
            raise PolicyError(f"Condition {operator} must be an object of keys and values")
        block[str(operator)] = {}
        for key, expected in tests.items():
            values = expected if isinstance(expected, list) else [expected]
            if not all(isinstance(v, (str, bool, int, float)) for v in values):
                raise PolicyError(f"Condition {operator} {key} values must be strings")
            block[str(operator)][str(key)] = tuple(_text(v) for v in values)
    return block


def _text(value: str | bool | float) -> str:
    # JSON true/false and numbers are accepted by AWS and read as their text.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _type(value: Any) -> str:
    names = {list: "a list", str: "a string", int: "a number", float: "a number", bool: "a boolean"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
