"""Policy variables: ``${aws:username}``, ``${aws:PrincipalTag/team, 'default'}``, ``${*}``.

As AWS documents (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html):

- variables work only in policies with ``"Version": "2012-10-17"``; in older or unversioned
  policies ``${aws:username}`` is literal text (reference_policies_elements_version.html);
- a variable is replaced by the value of the context key of that name (any key, compared
  case-insensitively); ``${*}``, ``${?}`` and ``${$}`` stand for a literal ``*``, ``?``, ``$``;
- ``${key, 'default'}`` uses ``default`` when the key has no value;
- a key that is missing (or multivalued: only single values are substituted) leaves the
  variable without a value: a ``Resource`` holding it matches no resource, a positive condition
  (``StringEquals``) does not match, a negated one (``StringNotEquals``) does.

:func:`expand` turns one policy string into a :data:`~labkit.policy.wildcards.Template` in which
substituted text is literal, or :class:`Unresolved` naming the variable that has no value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from labkit.policy.request import Context
from labkit.policy.wildcards import Piece, Template, parse_wildcards

# ``name`` or ``name, 'default'``; a quote inside the default is written twice ('').
_VARIABLE = re.compile(r"\s*([^\s,']+)\s*(?:,\s*'((?:[^']|'')*)'\s*)?")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True)
class Unresolved:
    """A policy string whose variable ``name`` has no value in the request."""

    name: str


def expand(text: str, context: Context, *, enabled: bool = True) -> Template | Unresolved:
    """``text`` with its variables replaced, as a wildcard template.

    Args:
        text: A value from a ``Resource`` or a condition.
        context: The request's keys.
        enabled: ``False`` for policies whose ``Version`` is not ``2012-10-17``: then ``${...}``
            is plain text.
    """
    if not enabled or "${" not in text:
        return parse_wildcards(text)
    pieces: list[Piece] = []
    position = 0
    while True:
        start = text.find("${", position)
        end = text.find("}", start + 2) if start >= 0 else -1
        if start < 0 or end < 0:
            pieces.extend(parse_wildcards(text[position:]))
            return _merge(pieces)
        pieces.extend(parse_wildcards(text[position:start]))
        inner = text[start + 2 : end]
        position = end + 1
        if inner in _ESCAPES:
            pieces.append(("text", _ESCAPES[inner]))
            continue
        match = _VARIABLE.fullmatch(inner)
        if match is None:
            # Not a variable AWS would recognise (``${}``, ``${a b}``): it is never resolved.
            return Unresolved(inner.strip() or "${}")
        value = context.single(match.group(1))
        if value is None and match.group(2) is not None:
            value = match.group(2).replace("''", "'")
        if value is None:
            return Unresolved(match.group(1))
        # Substituted text is literal: a '*' in a user name is not a wildcard.
        pieces.append(("text", value))


def _merge(pieces: list[Piece]) -> Template:
    """Adjacent text pieces joined, so equal strings give equal (cacheable) templates."""
    merged: list[Piece] = []
    for kind, text in pieces:
        if kind == "text" and merged and merged[-1][0] == "text":
            merged[-1] = ("text", merged[-1][1] + text)
        elif kind != "text" or text:
            merged.append((kind, text))
    return tuple(merged)


def variables_in(text: str) -> list[str]:
    """The variable names a string uses (for explanations)."""
    return [
        m.group(1).split(",")[0].strip()
        for m in re.finditer(r"\$\{([^}]*)\}", text)
        if m.group(1) not in _ESCAPES
    ]
