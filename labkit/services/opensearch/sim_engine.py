"""OpenSearch indexes on a real search engine: SQLite's FTS5 (BM25 ranking), in Python's sqlite3.

Why FTS5: it ships inside Python's ``sqlite3`` on Linux, macOS and Windows (no new dependency),
ranks with BM25 as OpenSearch does, and tokenizes with its ``unicode61`` tokenizer (lower case,
accents folded). ``tantivy`` has wheels too but is not installed here. Nothing here is a
hand-written inverted index: every full-text match and score comes from FTS5.

An index is a table of documents (``_source`` as JSON) and an FTS5 table over its ``text``
fields. The query DSL is translated to SQL: each full-text clause (``match``, ``multi_match``,
``match_phrase``) becomes an FTS5 ``MATCH`` (a CTE of matching rows with ``-bm25()`` as the
score), ``term``/``terms``/``range``/``exists`` compare the JSON fields, and ``bool``'s
``must``/``filter``/``should``/``must_not`` combine them (``should`` is required only when
there is no ``must`` or ``filter``). Scores are FTS5's BM25, so their values differ from
Lucene's while the order follows the same model. Aggregations (``terms``, ``avg``, ``sum``,
``min``, ``max``, ``value_count``, ``date_histogram``) run as SQL over the matching documents.

Near real time, on the lab clock: a document is searchable only after the next refresh
(``refresh_interval``, default ``1s``; ``-1`` turns periodic refresh off), or ``_refresh``, or
``?refresh=true`` on the write; ``GET _doc/<id>`` sees it at once, as in OpenSearch
(https://docs.opensearch.org/latest/api-reference/index-apis/refresh/).
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import uuid
from dataclasses import dataclass, field
from typing import Any

from labkit.errors import LabkitError

TEXT_TYPES = ("text", "match_only_text")
NUMERIC_TYPES = ("integer", "long", "short", "byte", "float", "double", "half_float")


class SearchError(LabkitError):
    """A request OpenSearch refuses: ``status`` and ``kind`` as its error body names them."""

    code = "SearchError"

    def __init__(self, status: int, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.kind = kind


def _seconds(text: Any) -> float | None:
    """``1s``, ``500ms``, ``1m`` as seconds; ``-1`` as ``None`` (never)."""
    value = str(text).strip()
    if value in ("-1", "-1s"):
        return None
    found = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", value)
    if not found:
        raise SearchError(400, "illegal_argument_exception", f"failed to parse [{value}]")
    number = float(found.group(1))
    return number * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[found.group(2)]


def _tokens(text: Any) -> list[str]:
    return [t for t in re.findall(r"\w+", str(text).lower()) if t]


def _column(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Index:
    """One index: its mappings, documents and refresh state."""

    name: str
    mappings: dict[str, str]
    created: float
    refresh_every: float | None
    con: sqlite3.Connection
    refreshed_at: float = 0.0
    last_search: dict[str, Any] = field(default_factory=dict)

    @property
    def text_fields(self) -> list[str]:
        return [f for f, t in self.mappings.items() if t in TEXT_TYPES]

    def refresh_point(self, now: float) -> float:
        """The time of the last refresh at ``now``: documents indexed by then are searchable."""
        periodic = -math.inf
        if self.refresh_every:
            ticks = math.floor((now - self.created) / self.refresh_every)
            # The first periodic refresh comes one interval after the index was made.
            if ticks >= 1:
                periodic = self.created + ticks * self.refresh_every
        return max(periodic, self.refreshed_at)


class Engine:
    """The indexes of one domain."""

    def __init__(self) -> None:
        self.indexes: dict[str, Index] = {}

    # ---- indexes and documents -------------------------------------------------------------

    def create_index(self, name: str, body: dict[str, Any], now: float) -> None:
        """Create an index with its mappings and ``refresh_interval``."""
        if name in self.indexes:
            raise SearchError(
                400, "resource_already_exists_exception", f"index [{name}] already exists"
            )
        if not re.fullmatch(r"[a-z0-9][a-z0-9_\-.+]*", name):
            raise SearchError(
                400,
                "invalid_index_name_exception",
                f"Invalid index name [{name}], must be lowercase",
            )
        settings = body.get("settings") or {}
        index_settings = settings.get("index", settings)
        every = _seconds(index_settings.get("refresh_interval", "1s"))
        properties = (body.get("mappings") or {}).get("properties") or {}
        mappings = {
            str(f): str((spec or {}).get("type", "object")) for f, spec in properties.items()
        }
        self.indexes[name] = self._open(name, mappings, now, every)

    def _open(self, name: str, mappings: dict[str, str], now: float, every: float | None) -> Index:
        con = sqlite3.connect(":memory:", check_same_thread=False)
        con.execute(
            "CREATE TABLE docs (id TEXT PRIMARY KEY, source TEXT NOT NULL, indexed_at REAL)"
        )
        index = Index(name, mappings, now, every, con)
        columns = ", ".join(_column(f) for f in index.text_fields) or '"_all"'
        con.execute(f"CREATE VIRTUAL TABLE fts USING fts5({columns}, tokenize = 'unicode61')")
        return index

    def index_of(self, name: str, create: bool = False, now: float = 0.0) -> Index:
        """The index called ``name`` (made with dynamic mappings when ``create``)."""
        if name not in self.indexes:
            if not create:
                raise SearchError(404, "index_not_found_exception", f"no such index [{name}]")
            self.indexes[name] = self._open(name, {}, now, 1.0)
        return self.indexes[name]

    def put(self, index_name: str, doc_id: str | None, source: dict[str, Any], now: float) -> str:
        """Index a document (replacing one with the same id); its id."""
        index = self.index_of(index_name, create=True, now=now)
        doc_id = doc_id or uuid.uuid4().hex[:20]
        for name, value in source.items():
            if name not in index.mappings:
                # Dynamic mapping (as OpenSearch's default): strings become text, numbers long or
                # float, booleans boolean. A text field added later is not full-text searchable
                # here (FTS5's columns are fixed when the index is made): map it up front.
                index.mappings[name] = (
                    "boolean"
                    if isinstance(value, bool)
                    else "long"
                    if isinstance(value, int)
                    else "float"
                    if isinstance(value, float)
                    else "keyword"
                )
        con = index.con
        found = con.execute("SELECT rowid FROM docs WHERE id = ?", (doc_id,)).fetchone()
        if found:
            con.execute("DELETE FROM fts WHERE rowid = ?", (found[0],))
            con.execute("DELETE FROM docs WHERE rowid = ?", (found[0],))
        cursor = con.execute(
            "INSERT INTO docs (id, source, indexed_at) VALUES (?, ?, ?)",
            (doc_id, json.dumps(source), now),
        )
        texts = [_text(source.get(f)) for f in index.text_fields]
        if texts:
            marks = ", ".join("?" for _ in texts)
            con.execute(
                f"INSERT INTO fts (rowid, {', '.join(_column(f) for f in index.text_fields)}) "
                f"VALUES (?, {marks})",
                (cursor.lastrowid, *texts),
            )
        return doc_id

    def get(self, index_name: str, doc_id: str) -> dict[str, Any] | None:
        """A document by id, refreshed or not (a GET is real time)."""
        row = (
            self.index_of(index_name)
            .con.execute("SELECT source FROM docs WHERE id = ?", (doc_id,))
            .fetchone()
        )
        return json.loads(row[0]) if row else None

    def delete(self, index_name: str, doc_id: str) -> bool:
        """Delete a document; whether it existed."""
        con = self.index_of(index_name).con
        found = con.execute("SELECT rowid FROM docs WHERE id = ?", (doc_id,)).fetchone()
        if not found:
            return False
        con.execute("DELETE FROM fts WHERE rowid = ?", (found[0],))
        con.execute("DELETE FROM docs WHERE rowid = ?", (found[0],))
        return True

    def refresh(self, index_name: str, now: float) -> None:
        """Make every document indexed so far searchable."""
        self.index_of(index_name).refreshed_at = now

    def counts(self, index_name: str, now: float) -> tuple[int, int]:
        """``(documents, searchable documents)`` of an index at ``now``."""
        index = self.index_of(index_name)
        row = index.con.execute(
            "SELECT count(*), count(*) FILTER (WHERE indexed_at <= ?) FROM docs",
            (index.refresh_point(now),),
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    # ---- search ----------------------------------------------------------------------------

    def search(self, index_name: str, body: dict[str, Any], now: float) -> dict[str, Any]:
        """Run a ``_search`` body; OpenSearch's response shape (``hits``, ``aggregations``)."""
        index = self.index_of(index_name)
        plan = _Plan(index)
        where = plan.clause(body.get("query") or {"match_all": {}}, scored=True)
        score = " + ".join(plan.scores) or "0"
        ctes = ", ".join(plan.ctes)
        # The matching documents are found once, into a temporary table that the total, the
        # page of hits and every aggregation read.
        index.con.execute("DROP TABLE IF EXISTS temp.hits")
        index.con.execute(
            f"CREATE TEMP TABLE hits AS {'WITH ' + ctes + ' ' if ctes else ''}"
            f"SELECT d.rowid AS rid, ({score}) AS score "
            f"FROM docs d {' '.join(plan.joins)} WHERE ({where}) AND d.indexed_at <= ?",
            [*plan.params, index.refresh_point(now)],
        )
        matched = ""
        params: list[Any] = []
        size = int(body.get("size", 10))
        offset = int(body.get("from", 0))
        total_row = index.con.execute(
            f"{matched} SELECT count(*), max(score) FROM hits", params
        ).fetchone()
        total = int(total_row[0]) if total_row else 0
        rows = index.con.execute(
            f"{matched} SELECT d.id, d.source, h.score FROM (SELECT rid, score FROM hits "
            "ORDER BY score DESC, rid LIMIT ? OFFSET ?) h CROSS JOIN docs d ON d.rowid = h.rid "
            "ORDER BY h.score DESC, h.rid",
            [*params, size, offset],
        ).fetchall()
        max_score = total_row[1] if total_row and total else None
        hits = [
            {
                "_index": index.name,
                "_id": r[0],
                "_score": round(float(r[2]), 6),
                "_source": json.loads(r[1]),
            }
            for r in rows
        ]
        result: dict[str, Any] = {
            "took": 1,
            "timed_out": False,
            "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {
                "total": {"value": total, "relation": "eq"},
                "max_score": round(float(max_score), 6) if max_score is not None else None,
                "hits": hits,
            },
        }
        aggs = body.get("aggs") or body.get("aggregations")
        if aggs:
            result["aggregations"] = {
                name: _aggregate(index, matched, params, spec) for name, spec in aggs.items()
            }
        index.last_search = {"query": body.get("query"), "total": total, "hits": hits}
        return result

    def count(self, index_name: str, body: dict[str, Any], now: float) -> int:
        """``_count``: documents matching the query (searchable ones)."""
        found = self.search(index_name, {"query": body.get("query"), "size": 0}, now)
        return int(found["hits"]["total"]["value"])


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(_text(v) for v in value)
    return str(value)


def _fts_terms(text: Any, operator: str = "or") -> str:
    tokens = _tokens(text)
    if not tokens:
        return ""
    joiner = " AND " if operator.lower() == "and" else " OR "
    return joiner.join('"' + t + '"' for t in tokens)


class _Plan:
    """The SQL a query turns into: CTEs for FTS5 matches, joins, scores and parameters."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.ctes: list[str] = []
        self.joins: list[str] = []
        self.scores: list[str] = []
        #: Parameters of the CTEs (they come first in the SQL), then of the WHERE clause.
        self.cte_params: list[Any] = []
        self.where_params: list[Any] = []

    @property
    def params(self) -> list[Any]:
        """Every parameter, in the order the SQL names them."""
        return [*self.cte_params, *self.where_params]

    def _fts(self, fields: list[str], expression: str, scored: bool, raw: Any = None) -> str:
        text = [f for f in fields if f in self.index.text_fields]
        if not expression:
            return "0"
        if not text:
            # A full-text query on a keyword (or unmapped) field matches the exact value.
            exact = [f"json_extract(d.source, '$.{f}') = {self._param(raw)}" for f in fields]
            return " OR ".join(exact) or "0"
        name = f"m{len(self.ctes)}"
        columns = "{" + " ".join(_column(f) for f in text) + "}"
        self.cte_params.append(f"{columns} : ({expression})")
        self.ctes.append(
            f"{name} AS MATERIALIZED (SELECT rowid, -bm25(fts) AS s FROM fts WHERE fts MATCH ?)"
        )
        self.joins.append(f"LEFT JOIN {name} ON {name}.rowid = d.rowid")
        if scored:
            self.scores.append(f"coalesce({name}.s, 0)")
        return f"{name}.rowid IS NOT NULL"

    def _param(self, value: Any) -> str:
        self.where_params.append(value)
        return "?"

    def clause(self, query: dict[str, Any], scored: bool) -> str:
        if not isinstance(query, dict) or len(query) != 1:
            raise SearchError(400, "parsing_exception", "a query is an object with one key")
        kind, spec = next(iter(query.items()))
        if kind == "match_all":
            return "1"
        if kind in ("match", "match_phrase"):
            ((name, value),) = spec.items()
            text = value.get("query") if isinstance(value, dict) else value
            operator = value.get("operator", "or") if isinstance(value, dict) else "or"
            if kind == "match_phrase":
                expression = '"' + " ".join(_tokens(text)) + '"' if _tokens(text) else ""
            else:
                expression = _fts_terms(text, operator)
            return self._fts([name], expression, scored, text)
        if kind == "multi_match":
            fields = [str(f).split("^")[0] for f in spec.get("fields") or self.index.text_fields]
            terms = _fts_terms(spec.get("query"), spec.get("operator", "or"))
            return self._fts(fields, terms, scored, spec.get("query"))
        if kind in ("term", "terms"):
            ((name, value),) = ((k, v) for k, v in spec.items() if k != "boost")
            values = (
                value
                if kind == "terms"
                else [value.get("value") if isinstance(value, dict) else value]
            )
            marks = ", ".join(self._param(v) for v in values)
            return f"json_extract(d.source, '$.{name}') IN ({marks})"
        if kind == "range":
            ((name, bounds),) = spec.items()
            ops = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
            parts = [
                f"json_extract(d.source, '$.{name}') {ops[op]} {self._param(v)}"
                for op, v in bounds.items()
                if op in ops
            ]
            return " AND ".join(parts) or "1"
        if kind == "exists":
            return f"json_extract(d.source, '$.{spec['field']}') IS NOT NULL"
        if kind == "bool":

            def many(key: str) -> list[dict[str, Any]]:
                found = spec.get(key) or []
                return found if isinstance(found, list) else [found]

            must = [self.clause(q, scored) for q in many("must")]
            filters = [self.clause(q, False) for q in many("filter")]
            should = [self.clause(q, scored) for q in many("should")]
            must_not = [self.clause(q, False) for q in many("must_not")]
            # Composed in the order the clauses were read: their parameters are in that order.
            parts = must + filters
            minimum = spec.get("minimum_should_match", 0 if (must or filters) else 1)
            if should:
                # Optional ``should`` clauses only add to the score (their SQL stays, always
                # true, so that their parameters keep their places).
                optional = "" if int(minimum) > 0 else " OR 1"
                parts.append("(" + " OR ".join(should) + optional + ")")
            parts += [f"NOT ({c})" for c in must_not]
            return " AND ".join(f"({p})" for p in parts) or "1"
        raise SearchError(
            400,
            "parsing_exception",
            f"unknown query [{kind}] (the sandbox runs match, "
            "match_phrase, multi_match, term, terms, range, exists, bool, match_all)",
        )


#: The matching documents of the search being answered, with their sources.
_HITS = "hits CROSS JOIN docs ON docs.rowid = hits.rid"  # CROSS: SQLite keeps hits outer

_INTERVALS = {
    "minute": "%Y-%m-%dT%H:%M:00",
    "1m": "%Y-%m-%dT%H:%M:00",
    "hour": "%Y-%m-%dT%H:00:00",
    "1h": "%Y-%m-%dT%H:00:00",
    "day": "%Y-%m-%dT00:00:00",
    "1d": "%Y-%m-%dT00:00:00",
    "month": "%Y-%m-01T00:00:00",
    "1M": "%Y-%m-01T00:00:00",
}


def _aggregate(
    index: Index, matched: str, params: list[Any], spec: dict[str, Any]
) -> dict[str, Any]:
    ((kind, body),) = ((k, v) for k, v in spec.items() if k not in ("aggs", "aggregations"))
    name = str(body.get("field", ""))
    value = f"json_extract(source, '$.{name}')"
    con = index.con
    if kind in ("avg", "sum", "min", "max", "value_count"):
        function = {"value_count": "count"}.get(kind, kind)
        row = con.execute(f"{matched} SELECT {function}({value}) FROM {_HITS}", params).fetchone()
        result = row[0] if row else None
        if kind == "sum" and result is None:
            result = 0
        return {"value": result}
    if kind == "terms":
        size = int(body.get("size", 10))
        rows = con.execute(
            f"{matched} SELECT {value} AS k, count(*) AS n FROM {_HITS} WHERE k IS NOT NULL "
            "GROUP BY k ORDER BY n DESC, k LIMIT ?",
            [*params, size],
        ).fetchall()
        total = con.execute(
            f"{matched} SELECT count(*) FROM {_HITS} WHERE {value} IS NOT NULL", params
        ).fetchone()
        shown = sum(int(r[1]) for r in rows)
        return {
            "doc_count_error_upper_bound": 0,
            "sum_other_doc_count": (int(total[0]) if total else 0) - shown,
            "buckets": [{"key": r[0], "doc_count": int(r[1])} for r in rows],
        }
    if kind == "date_histogram":
        interval = str(
            body.get("calendar_interval")
            or body.get("fixed_interval")
            or body.get("interval")
            or ""
        )
        pattern = _INTERVALS.get(interval)
        if pattern is None:
            raise SearchError(
                400,
                "illegal_argument_exception",
                f"The supplied interval [{interval}] could not be parsed (the sandbox knows "
                f"{', '.join(_INTERVALS)})",
            )
        rows = con.execute(
            f"{matched} SELECT strftime('{pattern}', {value}) AS k, count(*) FROM {_HITS} "
            "WHERE k IS NOT NULL GROUP BY k ORDER BY k",
            params,
        ).fetchall()
        return {
            "buckets": [
                {
                    "key_as_string": f"{r[0]}.000Z",
                    "key": _epoch_ms(con, r[0]),
                    "doc_count": int(r[1]),
                }
                for r in rows
            ]
        }
    raise SearchError(
        400,
        "parsing_exception",
        f"unknown aggregation [{kind}] (the sandbox runs terms, "
        "date_histogram, avg, sum, min, max, value_count)",
    )


def _epoch_ms(con: sqlite3.Connection, text: str) -> int:
    row = con.execute("SELECT CAST(strftime('%s', ?) AS INTEGER)", (text,)).fetchone()
    return int(row[0]) * 1000 if row and row[0] is not None else 0
