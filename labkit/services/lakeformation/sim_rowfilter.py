"""Lake Formation row filter expressions: the documented PartiQL subset, checked and translated.

A data cells filter's ``RowFilter.FilterExpression`` is "a subset of PartiQL"
(https://docs.aws.amazon.com/lake-formation/latest/dg/partiql-support.html):

- a simple expression is ``<column> <operator> <value>``; the operators are ``=, >, <, >=, <=,
  <>, !=, BETWEEN, IN, LIKE, NOT, IS [NOT] NULL``; a column is compared with constants only,
  never with another column; no function (standard or user-defined) is allowed;
- simple expressions combine with ``AND`` / ``OR`` and parentheses;
- the column is a top-level data column, a partition column or a nested field (``a.b``) of the
  table, of a supported type (``STRING, CHAR, VARCHAR``; ``INT, LONG, BIGINT, FLOAT, DECIMAL,
  DOUBLE``; ``BOOLEAN``; ``STRUCT``); ``IS [NOT] NULL`` is refused on partition columns;
- string constants are in single quotes and string comparisons (``LIKE`` too) are
  case-sensitive; the value matches the column's type; the expression is shorter than 2048
  characters.

:func:`compile_filter` checks an expression against a table's columns and returns the same
predicate as DuckDB SQL (columns quoted), or raises :class:`RowFilterError` saying what is outside
the subset. Where the page is silent the sandbox is lenient: only the columns the expression
names must be of a supported type (not every column of the table). Plain Python, no moto.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from labkit import facts


def max_length() -> int:
    """A row filter expression must be shorter than this many characters (a fact)."""
    return int(facts.value("lakeformation.row_filter_expression_max_chars"))


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
      | (?P<op><>|!=|>=|<=|=|>|<)
      | (?P<punct>[(),.])
      | (?P<quoted>"(?:[^"]|"")+")
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"AND", "OR", "NOT", "BETWEEN", "IN", "LIKE", "IS", "NULL", "TRUE", "FALSE"}
_STRING_TYPES = ("string", "char", "varchar")
_NUMBER_TYPES = ("int", "integer", "long", "bigint", "float", "decimal", "double")


class RowFilterError(ValueError):
    """A row filter expression outside the documented PartiQL subset (the reason is the text)."""


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _tokens(expression: str) -> list[_Token]:
    found: list[_Token] = []
    position = 0
    text = expression.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise RowFilterError(
                f"Unsupported character in the row filter expression at position {position + 1}: "
                f"{text[position : position + 10]!r}"
            )
        kind = str(match.lastgroup)
        value = match.group(kind)
        if kind == "word" and value.upper() in _KEYWORDS:
            found.append(_Token("keyword", value.upper()))
        else:
            found.append(_Token(kind, value))
        position = match.end()
    return found


def _base_type(glue_type: str) -> str:
    return glue_type.strip().lower().split("(", 1)[0].split("<", 1)[0].strip()


class _Parser:
    def __init__(
        self, tokens: list[_Token], columns: Mapping[str, str], partition_keys: frozenset[str]
    ) -> None:
        self.tokens = tokens
        self.index = 0
        self.columns = columns
        self.partition_keys = partition_keys

    def peek(self, offset: int = 0) -> _Token | None:
        at = self.index + offset
        return self.tokens[at] if at < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise RowFilterError("The row filter expression ends too early")
        self.index += 1
        return token

    def accept(self, kind: str, text: str | None = None) -> bool:
        token = self.peek()
        if token is not None and token.kind == kind and (text is None or token.text == text):
            self.index += 1
            return True
        return False

    def expect(self, kind: str, text: str, what: str) -> None:
        if not self.accept(kind, text):
            token = self.peek()
            seen = token.text if token else "the end"
            raise RowFilterError(f"Expected {what} in the row filter expression, found {seen!r}")

    # expression := term (OR term)* ; term := factor (AND factor)* ; factor := NOT factor | ...
    def expression(self) -> str:
        parts = [self.term()]
        while self.accept("keyword", "OR"):
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def term(self) -> str:
        parts = [self.factor()]
        while self.accept("keyword", "AND"):
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def factor(self) -> str:
        if self.accept("keyword", "NOT"):
            return f"(NOT {self.factor()})"
        if self.accept("punct", "("):
            inner = self.expression()
            self.expect("punct", ")", "')'")
            return inner
        return self.simple()

    def column(self) -> tuple[str, str, str]:
        """``(sql, top-level column, type)`` of a column reference (``a`` or ``a.b.c``)."""
        token = self.take()
        if token.kind not in ("word", "quoted"):
            raise RowFilterError(
                f"A simple expression starts with a column name, not {token.text!r} "
                "(<column name> <comparison operator> <value>)"
            )
        if self.peek() is not None and self.peek() == _Token("punct", "("):
            raise RowFilterError(
                f"Functions are not allowed in a row filter expression: {token.text}(...)"
            )
        names = [_name(token)]
        while self.accept("punct", "."):
            names.append(_name(self.take()))
        top = names[0].lower()
        if top not in self.columns:
            raise RowFilterError(f"Column {names[0]!r} is not a column of the table")
        kind = _base_type(self.columns[top])
        if len(names) == 1 and kind not in (*_STRING_TYPES, *_NUMBER_TYPES, "boolean"):
            raise RowFilterError(
                f"Column {top!r} has type {self.columns[top]}, which row filters do not support"
                " (STRING, CHAR, VARCHAR, INT, LONG, BIGINT, FLOAT, DECIMAL, DOUBLE, BOOLEAN,"
                " STRUCT)"
            )
        if len(names) > 1 and kind != "struct":
            raise RowFilterError(f"Column {top!r} is not a struct: {'.'.join(names)} is no field")
        sql = ".".join(_quote(n if i else top) for i, n in enumerate(names))
        return sql, top, kind if len(names) == 1 else ""

    def value(self, kind: str) -> str:
        token = self.take()
        if token.kind in ("word", "quoted"):
            raise RowFilterError(
                f"A column can only be compared with a constant, not with {token.text!r}"
            )
        if token.kind == "string":
            if kind and kind not in _STRING_TYPES:
                raise RowFilterError(f"The value {token.text} does not match the column's type")
            return token.text
        if token.kind == "number":
            if kind and kind not in _NUMBER_TYPES:
                raise RowFilterError(f"The value {token.text} does not match the column's type")
            return token.text
        if token.kind == "keyword" and token.text in ("TRUE", "FALSE"):
            if kind and kind != "boolean":
                raise RowFilterError(f"The value {token.text} does not match the column's type")
            return token.text
        raise RowFilterError(
            f"Expected a constant in the row filter expression, found {token.text!r}"
        )

    def simple(self) -> str:
        sql, top, kind = self.column()
        token = self.take()
        if token.kind == "op":
            operator = "<>" if token.text == "!=" else token.text
            return f"({sql} {operator} {self.value(kind)})"
        negated = token == _Token("keyword", "NOT")
        if negated:
            token = self.take()
        no = "NOT " if negated else ""
        if token == _Token("keyword", "BETWEEN"):
            low = self.value(kind)
            self.expect("keyword", "AND", "AND (BETWEEN low AND high)")
            return f"({sql} {no}BETWEEN {low} AND {self.value(kind)})"
        if token == _Token("keyword", "IN"):
            self.expect("punct", "(", "'(' after IN")
            values = [self.value(kind)]
            while self.accept("punct", ","):
                values.append(self.value(kind))
            self.expect("punct", ")", "')' closing the IN list")
            return f"({sql} {no}IN ({', '.join(values)}))"
        if token == _Token("keyword", "LIKE"):
            pattern = self.take()
            if pattern.kind != "string":
                raise RowFilterError("LIKE takes a string pattern in single quotes")
            return f"({sql} {no}LIKE {pattern.text})"
        if token == _Token("keyword", "IS") and not negated:
            if top in self.partition_keys:
                raise RowFilterError(
                    f"IS [NOT] NULL cannot be used on the partition column {top!r}"
                )
            is_not = self.accept("keyword", "NOT")
            self.expect("keyword", "NULL", "NULL after IS")
            return f"({sql} IS {'NOT ' if is_not else ''}NULL)"
        raise RowFilterError(
            f"Unsupported operator {token.text!r} in the row filter expression (supported: "
            "=, >, <, >=, <=, <>, !=, BETWEEN, IN, LIKE, NOT, IS [NOT] NULL)"
        )


def _name(token: _Token) -> str:
    if token.kind == "quoted":
        return token.text[1:-1].replace('""', '"')
    if token.kind != "word":
        raise RowFilterError(f"Expected a column or field name, found {token.text!r}")
    return token.text


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def compile_filter(
    expression: str,
    columns: Mapping[str, str],
    partition_keys: frozenset[str] | set[str] = frozenset(),
) -> str:
    """The DuckDB predicate of a row filter expression, checked against the table.

    Args:
        expression: ``RowFilter.FilterExpression``.
        columns: ``column -> Glue type`` of every column of the table, partition keys included
            (lower-case names, as Glue keeps them).
        partition_keys: The names of the partition columns.

    Raises:
        RowFilterError: The expression is outside the documented subset (the message says how).
    """
    if len(expression) >= max_length():
        raise RowFilterError(
            f"The row filter expression must be shorter than {max_length()} characters"
        )
    tokens = _tokens(expression)
    if not tokens:
        raise RowFilterError(
            "The row filter expression is empty (use AllRowsWildcard for all rows)"
        )
    parser = _Parser(tokens, columns, frozenset(partition_keys))
    sql = parser.expression()
    if parser.peek() is not None:
        raise RowFilterError(
            f"Unexpected {parser.peek().text!r} in the row filter expression"  # type: ignore[union-attr]
        )
    return sql


__all__ = ["RowFilterError", "compile_filter", "max_length"]
