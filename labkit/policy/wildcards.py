"""Wildcard patterns as IAM matches them: ``*`` and ``?`` in actions, resources and values.

A pattern is held as a :data:`Template`, a tuple of pieces, rather than as a string. The reason
is policy variables: ``${aws:username}`` resolves to text that must match *literally* (a user
called ``a*b`` must not turn into a wildcard), and ``${*}`` stands for a literal asterisk. Once
a pattern has become pieces, "is this ``*`` a wildcard?" has one answer.

Two matchers:

- :func:`glob_regex` for ``Action``, ``StringLike`` and friends: ``*`` is any run of characters
  (colons included), ``?`` one character.
- :func:`arn_regex` for ``Resource`` and ``ArnLike``/``ArnEquals``: AWS matches "each of the six
  colon-delimited components of the ARN separately", so a wildcard in the first five components
  never crosses a colon; in the sixth (the resource part, which may itself hold colons) it may.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

PieceKind = Literal["text", "star", "qmark"]
Piece = tuple[PieceKind, str]
Template = tuple[Piece, ...]


def parse_wildcards(text: str) -> Template:
    """``text`` as a template in which every ``*`` and ``?`` is a wildcard."""
    pieces: list[Piece] = []
    buffer = ""
    for char in text:
        if char in "*?":
            if buffer:
                pieces.append(("text", buffer))
                buffer = ""
            pieces.append(("star", "*") if char == "*" else ("qmark", "?"))
        else:
            buffer += char
    if buffer:
        pieces.append(("text", buffer))
    return tuple(pieces)


def as_text(template: Template) -> str:
    """The template read literally (wildcards as the characters ``*`` and ``?``), for the
    operators that do not expand wildcards (``StringEquals``, ``ArnEquals`` is not one)."""
    return "".join(text for _, text in template)


def is_any(template: Template) -> bool:
    """Whether the template is a lone ``*`` (matches everything, ARN or not)."""
    return template == (("star", "*"),)


@lru_cache(maxsize=2048)
def glob_regex(template: Template, ignore_case: bool = False) -> re.Pattern[str]:
    """A regex matching what ``template`` matches as a plain wildcard string."""
    body = "".join(
        ".*" if kind == "star" else "." if kind == "qmark" else re.escape(text)
        for kind, text in template
    )
    return re.compile(body, (re.IGNORECASE if ignore_case else 0) | re.DOTALL)


@lru_cache(maxsize=2048)
def arn_regex(template: Template) -> re.Pattern[str]:
    """A regex matching what ``template`` matches as an ARN, component by component."""
    colons = 0
    body = ""
    for kind, text in template:
        if kind == "text":
            body += re.escape(text)
            colons += text.count(":")
        elif colons < 5:  # still inside one of the first five components
            body += "[^:]*" if kind == "star" else "[^:]"
        else:
            body += ".*" if kind == "star" else "."
    return re.compile(body, re.DOTALL)


def glob_match(template: Template, value: str, *, ignore_case: bool = False) -> bool:
    """Whether ``value`` matches ``template`` as a wildcard string."""
    return glob_regex(template, ignore_case).fullmatch(value) is not None


def arn_match(template: Template, value: str) -> bool:
    """Whether ``value`` matches ``template`` as an ARN (a lone ``*`` matches anything)."""
    if is_any(template):
        return True
    return arn_regex(template).fullmatch(value) is not None
