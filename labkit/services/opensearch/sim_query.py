"""OpenSearch's query DSL as tantivy queries, scored as OpenSearch (Lucene 9) scores them.

Lucene's BM25 (OpenSearch's default similarity) is ``idf * tf / (tf + k1 * (1 - b + b * dl /
avgdl))`` with ``k1 = 1.2``, ``b = 0.75`` and ``idf = ln(1 + (N - n + 0.5) / (n + 0.5))``;
tantivy computes the same with the older ``(k1 + 1)`` factor in front (Lucene dropped it in
version 8), so every BM25-scored leaf is boosted by ``1 / (k1 + 1)``: scores come out as
OpenSearch's (BM25 is its default: https://docs.opensearch.org/latest/im-plugin/similarity/;
the formula is Lucene's ``BM25Similarity``). Document lengths are quantized to a byte as
Lucene does (tantivy's field norms use Lucene's encoding).

As in OpenSearch: ``match`` analyzes its text and ORs (or, with ``"operator": "and"``, ANDs) a
term query per token; ``multi_match`` (``best_fields``) takes the best field's score;
``term``/``match`` on a keyword field is one exact term; ``terms``, ``range`` and ``exists``
score a constant 1.0; a ``bool``'s ``filter`` and ``must_not`` clauses do not score, its
``should`` clauses are required (one at least) only without ``must`` or ``filter``; a ``bool``
of ``must_not`` clauses alone matches every other document.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Callable
from typing import Any

import tantivy
from tantivy import FieldType, Occur, Query

from labkit.services.opensearch.sim_fields import (
    FIELD_NAMES,
    FLOAT_TYPES,
    ID,
    INTEGER_TYPES,
    KEYWORD_TYPES,
    TEXT_TYPES,
    SearchError,
    typed,
)

#: Lucene 8+ BM25 without the ``(k1 + 1)`` factor tantivy keeps (k1 = 1.2).
LUCENE_BM25 = 1 / 2.2
KNOWN = (
    "match, match_phrase, multi_match, term, terms, range, exists, bool, match_all, match_none, "
    "ids, prefix, wildcard"
)


class Translator:
    """Builds the tantivy query of a ``query`` body for one index's schema and mappings."""

    def __init__(
        self,
        schema: tantivy.Schema,
        mappings: dict[str, str],
        analyze: Callable[[str], list[str]],
        keyword_values: Callable[[str], list[str]],
        now: float,
    ) -> None:
        self.schema = schema
        self.mappings = mappings
        self.analyze = analyze
        #: Every distinct value of a keyword field (a keyword ``range`` picks among them).
        self.keyword_values = keyword_values
        self.now = now

    def query(self, body: Any) -> Query:
        """The tantivy query of one DSL query object (a 400 ``parsing_exception`` if malformed)."""
        try:
            return self._query(body)
        except SearchError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as err:
            raise SearchError(
                400, "parsing_exception", f"could not parse the query {body!r}: {err}"
            ) from err

    # ---- leaves -----------------------------------------------------------------------------

    def _exact(self, field: str, value: Any) -> Query:
        """One exact value of a field, scored as OpenSearch's ``term`` query scores it."""
        kind = self.mappings.get(field)
        if kind is None or not _indexed(kind):
            return Query.empty_query()  # an unmapped field matches nothing
        try:
            stored = typed(kind, value, self.now)
        except ValueError as err:
            raise SearchError(
                400, "query_shard_exception", f"failed to create query: {err} (field [{field}])"
            ) from err
        if kind in INTEGER_TYPES and not isinstance(value, str) and float(value) != stored:
            return Query.empty_query()  # 5.5 is no value of an integer field
        term = Query.term_query(self.schema, field, stored)
        if kind in TEXT_TYPES or kind in KEYWORD_TYPES:
            return Query.boost_query(term, LUCENE_BM25)
        return Query.const_score_query(term, 1.0)  # numbers, dates, booleans: point queries

    def _match(self, field: str, spec: Any, phrase: bool = False) -> Query:
        options = spec if isinstance(spec, dict) else {"query": spec}
        text = options["query"]
        kind = self.mappings.get(field)
        if kind not in TEXT_TYPES:
            found = self._exact(field, text)  # keyword, numbers, dates: the whole value
            return _boosted(found, options)
        tokens = self.analyze(str(text))
        if not tokens:
            return Query.empty_query()  # nothing to look for (zero_terms_query: none)
        if phrase and len(tokens) > 1:
            slop = int(options.get("slop", 0))
            found = Query.phrase_query(self.schema, field, list(tokens), slop=slop)
            return _boosted(Query.boost_query(found, LUCENE_BM25), options)
        terms = [
            Query.boost_query(Query.term_query(self.schema, field, t), LUCENE_BM25) for t in tokens
        ]
        if len(terms) == 1:
            return _boosted(terms[0], options)
        if str(options.get("operator", "or")).lower() == "and":
            return _boosted(Query.boolean_query([(Occur.Must, t) for t in terms]), options)
        minimum = options.get("minimum_should_match")
        count = _minimum(minimum, len(terms)) if minimum is not None else None
        found = Query.boolean_query([(Occur.Should, t) for t in terms], count or None)
        return _boosted(found, options)

    def _range(self, field: str, bounds: dict[str, Any]) -> Query:
        kind = self.mappings.get(field)
        if kind is None or not _indexed(kind):
            return Query.empty_query()
        lower = upper = None
        include_lower = include_upper = True
        for op, value in bounds.items():
            if op in ("gt", "gte"):
                lower, include_lower = value, op == "gte"
            elif op in ("lt", "lte"):
                upper, include_upper = value, op == "lte"
        if kind in TEXT_TYPES or kind in KEYWORD_TYPES:
            # tantivy has no range over text terms: the keyword's values in range, as a set.
            values = [
                v
                for v in self.keyword_values(field)
                if (lower is None or (v >= str(lower) if include_lower else v > str(lower)))
                and (upper is None or (v <= str(upper) if include_upper else v < str(upper)))
            ]
            return _boosted(Query.term_set_query(self.schema, field, values), bounds)
        try:
            low = typed(kind, lower, self.now) if lower is not None else None
            high = typed(kind, upper, self.now) if upper is not None else None
        except ValueError as err:
            raise SearchError(
                400, "query_shard_exception", f"failed to create query: {err} (field [{field}])"
            ) from err
        if kind in INTEGER_TYPES and kind != "date":
            # A decimal bound of an integer field: ``gt 20.5`` is ``gte 21``, ``lte 20.5`` is 20.
            if lower is not None and float(lower) != low:
                low, include_lower = math.floor(float(lower)) + 1, True
            if upper is not None and float(upper) != high:
                high, include_upper = math.floor(float(upper)), True
        field_type = (
            FieldType.Integer
            if kind in INTEGER_TYPES
            else FieldType.Float
            if kind in FLOAT_TYPES
            else FieldType.Boolean
        )
        found = Query.range_query(
            self.schema,
            field,
            field_type,
            low,
            high,
            include_lower=include_lower,
            include_upper=include_upper,
        )
        return _boosted(Query.const_score_query(found, 1.0), bounds)

    # ---- the DSL ----------------------------------------------------------------------------

    def _query(self, body: Any) -> Query:
        if not isinstance(body, dict) or len(body) != 1:
            raise SearchError(400, "parsing_exception", "a query is an object with one key")
        kind, spec = next(iter(body.items()))
        if kind == "match_all":
            return _boosted(Query.all_query(), spec or {})
        if kind == "match_none":
            return Query.empty_query()
        if kind in ("match", "match_phrase"):
            ((name, value),) = spec.items()
            return self._match(str(name), value, phrase=kind == "match_phrase")
        if kind == "multi_match":
            return self._multi_match(spec)
        if kind in ("term", "terms"):
            ((name, value),) = ((k, v) for k, v in spec.items() if k != "boost")
            if kind == "term":
                options = value if isinstance(value, dict) else {"value": value}
                return _boosted(self._exact(str(name), options["value"]), options)
            return self._terms(str(name), value, spec)
        if kind == "range":
            ((name, bounds),) = spec.items()
            return self._range(str(name), bounds)
        if kind == "exists":
            found = Query.term_query(self.schema, FIELD_NAMES, str(spec["field"]))
            return _boosted(Query.const_score_query(found, 1.0), spec)
        if kind == "bool":
            return self._bool(spec)
        if kind == "ids":
            found = Query.term_set_query(self.schema, ID, [str(v) for v in spec["values"]])
            return _boosted(Query.const_score_query(found, 1.0), spec)
        if kind in ("prefix", "wildcard"):
            ((name, value),) = ((k, v) for k, v in spec.items() if k != "boost")
            options = value if isinstance(value, dict) else {"value": value}
            return _boosted(self._pattern(str(name), str(options["value"]), kind), options)
        raise SearchError(
            400, "parsing_exception", f"unknown query [{kind}] (the sandbox runs {KNOWN})"
        )

    def _pattern(self, field: str, value: str, kind: str) -> Query:
        """``prefix`` and ``wildcard`` (``*``, ``?``) over a field's terms (not analyzed: on a
        text field they meet its lower-cased tokens), scoring a constant 1.0 as OpenSearch."""
        if self.mappings.get(field) not in (*TEXT_TYPES, *KEYWORD_TYPES):
            return Query.empty_query()
        if kind == "prefix":
            pattern = re.escape(value) + ".*"
        else:
            pattern = "".join(
                ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in value
            )
        return Query.const_score_query(Query.regex_query(self.schema, field, pattern), 1.0)

    def _terms(self, field: str, values: Any, spec: dict[str, Any]) -> Query:
        kind = self.mappings.get(field)
        if kind is None or not _indexed(kind) or not isinstance(values, list):
            if not isinstance(values, list):
                raise SearchError(
                    400, "parsing_exception", f"[terms] query on [{field}] needs a list of values"
                )
            return Query.empty_query()
        stored = []
        for value in values:
            try:
                stored.append(typed(kind, value, self.now))
            except ValueError as err:
                raise SearchError(
                    400, "query_shard_exception", f"failed to create query: {err} ([{field}])"
                ) from err
        found = Query.term_set_query(self.schema, field, stored)
        return _boosted(Query.const_score_query(found, 1.0), spec)

    def _multi_match(self, spec: dict[str, Any]) -> Query:
        fields = spec.get("fields") or [f for f, t in self.mappings.items() if t in TEXT_TYPES]
        options = {k: v for k, v in spec.items() if k not in ("fields", "type", "tie_breaker")}
        per_field = []
        for entry in fields:
            pattern, _, boost = str(entry).partition("^")
            # ``"fields": ["*"]`` or ``["title*"]``: the text and keyword fields they name.
            names = (
                [
                    f
                    for f, t in self.mappings.items()
                    if fnmatch.fnmatchcase(f, pattern) and t in (*TEXT_TYPES, *KEYWORD_TYPES)
                ]
                if any(c in pattern for c in "*?")
                else [pattern]
            )
            for name in names:
                found = self._match(name, options)
                per_field.append(Query.boost_query(found, float(boost)) if boost else found)
        if not per_field:
            return Query.empty_query()
        tie = spec.get("tie_breaker")
        return Query.disjunction_max_query(per_field, float(tie) if tie is not None else None)

    def _bool(self, spec: dict[str, Any]) -> Query:
        def many(key: str) -> list[Any]:
            found = spec.get(key) or []
            return found if isinstance(found, list) else [found]

        clauses: list[tuple[Occur, Query]] = []
        clauses += [(Occur.Must, self._query(q)) for q in many("must")]
        clauses += [
            (Occur.Must, Query.const_score_query(self._query(q), 0.0)) for q in many("filter")
        ]
        should = [self._query(q) for q in many("should")]
        must_not = [self._query(q) for q in many("must_not")]
        required = bool(clauses)
        minimum = spec.get("minimum_should_match")
        count = _minimum(minimum, len(should)) if minimum is not None else (0 if required else 1)
        if should:
            if count > len(should):
                return Query.empty_query()
            if count <= 0 and not required:
                count = 1  # a bool of should clauses alone needs one of them
            if count > 0:
                clauses.append(
                    (
                        Occur.Must,
                        Query.boolean_query([(Occur.Should, q) for q in should], count),
                    )
                )
            else:
                clauses += [(Occur.Should, q) for q in should]  # they only add to the score
        if not clauses:
            # Only must_not (or nothing): every other document, scoring 0 as in OpenSearch.
            clauses.append((Occur.Must, Query.const_score_query(Query.all_query(), 0.0)))
        clauses += [(Occur.MustNot, q) for q in must_not]
        return _boosted(Query.boolean_query(clauses), spec)


def _indexed(kind: str) -> bool:
    return (
        kind in TEXT_TYPES
        or kind in KEYWORD_TYPES
        or kind in INTEGER_TYPES
        or kind in FLOAT_TYPES
        or kind == "boolean"
    )


def _boosted(query: Query, options: Any) -> Query:
    boost = options.get("boost") if isinstance(options, dict) else None
    return Query.boost_query(query, float(boost)) if boost is not None else query


def _minimum(value: Any, of: int) -> int:
    """``minimum_should_match``: ``2``, ``-1`` (all but one), ``"75%"``, ``"-25%"``."""
    text = str(value).strip()
    if text.endswith("%"):
        share = math.floor(of * abs(float(text[:-1])) / 100)
        return of - share if text.startswith("-") else share
    number = int(text)
    return of + number if number < 0 else number
