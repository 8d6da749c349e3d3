"""Real query engines for the "Which DB?" models, where a faithful embedded one exists.

Each stands for one data model and keeps its rules; what it cannot be is said here, not hidden:

- :class:`SqlEngine`: SQL on SQLite (Python's stdlib), the relational model of RDS, Aurora and
  Redshift (joins, transactions, aggregates, recursive queries). Not PostgreSQL's dialect: the
  lab's RDS instances run real PostgreSQL (:mod:`labkit.services.rds.sim_engine`); SQLite here
  keeps a model quick to make and throw away.
- :class:`KeyValueEngine`: DynamoDB's reads: GetItem by the whole key, Query on one partition key
  value (sort key conditions), Scan; an item is at most 400 KB; there is no join
  (``dbchoice.dynamodb_join_support``).
- :func:`document_store`: MongoDB's API (mongomock, in process) for DocumentDB: nested fields,
  arrays, aggregation pipelines; a document is at most 16 MB.
- :class:`GraphEngine`: a graph over networkx with a small Gremlin-like traversal
  (``g.V("ana").out("follows").out("follows").dedup().count()``). It is *not* Gremlin, openCypher
  or SPARQL (Neptune's languages, ``dbchoice.neptune_query_languages``): the steps are named as
  Gremlin's so that the lesson's traversals read like Neptune's.
- :class:`CqlEngine`: a small CQL (CREATE TABLE, INSERT, SELECT ... WHERE ... [ALLOW FILTERING])
  that keeps Cassandra's and Keyspaces's rule: a SELECT restricts every partition key column with
  ``=`` or ``IN``, or none and says ``ALLOW FILTERING``; refusals carry Cassandra's own words.
- :class:`TimeSeriesEngine`: measures by time and dimensions, with ``bin()``-style aggregates over
  a time range (Timestream's common query).
- :class:`SearchEngine`: an inverted index with term-frequency ranking that makes new documents
  searchable only at its next refresh (OpenSearch's near-real-time search, every 1 s by default).

Plain Python (no moto, no Jupyter). Redis (ElastiCache) is fakeredis, as the sandbox's clusters.
"""

from __future__ import annotations

import importlib
import json
import re
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from labkit import facts
from labkit.errors import LabkitError


class EngineRefused(LabkitError):
    """An engine refused an operation its data model does not have (a join on DynamoDB, ...)."""

    code = "EngineRefused"

    def __init__(self, engine: str, message: str) -> None:
        super().__init__(f"{engine}: {message}")
        self.engine = engine
        self.reason = message


# -- SQL ----------------------------------------------------------------------------------------
class SqlEngine:
    """A relational database in memory (SQLite): tables, joins, transactions, aggregates."""

    name = "SQL (SQLite standing in for PostgreSQL / Redshift)"

    def __init__(self) -> None:
        self.db = sqlite3.connect(":memory:")

    def run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement; returns its rows (none for writes)."""
        cursor = self.db.execute(sql, tuple(params))
        return [tuple(row) for row in cursor.fetchall()]

    def script(self, sql: str) -> None:
        """Run several statements (a schema), committed."""
        self.db.executescript(sql)
        self.db.commit()

    def transaction(self, statements: Iterable[tuple[str, Sequence[Any]]]) -> None:
        """Run statements atomically: all commit, or none (the first error rolls back)."""
        with self.db:
            for sql, params in statements:
                self.db.execute(sql, tuple(params))


# -- DynamoDB ---------------------------------------------------------------------------------
@dataclass
class _KvTable:
    partition_key: str
    sort_key: str | None
    items: dict[tuple[Any, Any], dict[str, Any]] = field(default_factory=dict)


class KeyValueEngine:
    """DynamoDB's data model: items by key, Query in one partition, Scan; no join."""

    name = "DynamoDB"

    def __init__(self) -> None:
        self.tables: dict[str, _KvTable] = {}
        self.item_max = int(facts.value("dynamodb.item_size_max"))

    def create_table(self, name: str, partition_key: str, sort_key: str | None = None) -> None:
        """A table keyed by ``partition_key`` (and ``sort_key``)."""
        self.tables[name] = _KvTable(partition_key, sort_key)

    def _table(self, name: str) -> _KvTable:
        if name not in self.tables:
            raise EngineRefused(self.name, f"Requested resource not found: table {name!r}")
        return self.tables[name]

    def put(self, table: str, item: dict[str, Any]) -> None:
        """PutItem: refused over the item size limit or without the key."""
        t = self._table(table)
        size = len(json.dumps(item, default=str).encode())
        if size > self.item_max:
            raise EngineRefused(
                self.name,
                f"Item size has exceeded the maximum allowed size ({size:,} bytes > "
                f"{self.item_max:,})",
            )
        if t.partition_key not in item or (t.sort_key and t.sort_key not in item):
            raise EngineRefused(self.name, "One of the required keys was not given a value")
        t.items[(item[t.partition_key], item.get(t.sort_key) if t.sort_key else None)] = item

    def get(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        """GetItem by the whole primary key."""
        t = self._table(table)
        return t.items.get((key[t.partition_key], key.get(t.sort_key) if t.sort_key else None))

    def query(
        self, table: str, partition_value: Any, sort_prefix: str = ""
    ) -> list[dict[str, Any]]:
        """Query: every item of one partition key value (sort key ``begins_with``), sorted."""
        t = self._table(table)
        found = [
            item
            for (pk, sk), item in t.items.items()
            if pk == partition_value and str(sk or "").startswith(sort_prefix)
        ]
        return sorted(found, key=lambda item: str(item.get(t.sort_key or "", "")))

    def scan(self, table: str) -> list[dict[str, Any]]:
        """Scan: every item (reads, and pays for, the whole table)."""
        return list(self._table(table).items.values())

    def join(self, *tables: str, on: str) -> list[dict[str, Any]]:
        """DynamoDB has no join: refused, as the API has no such operation."""
        raise EngineRefused(
            self.name,
            f"there is no join: {' and '.join(tables)} can only be read one key at a time "
            f"(GetItem, Query) or in full (Scan) and combined in your code "
            f"({facts.value('dbchoice.dynamodb_join_support')})",
        )


# -- DocumentDB (MongoDB API) -------------------------------------------------------------------
def document_store(database: str = "app") -> Any:
    """A MongoDB-API database in process (mongomock), as DocumentDB's clients see one."""
    mongomock: Any = importlib.import_module("mongomock")
    return mongomock.MongoClient()[database]


def document_size_ok(document: dict[str, Any]) -> bool:
    """Whether ``document`` fits DocumentDB's document size limit (JSON size as an estimate)."""
    limit = float(facts.value("dbchoice.documentdb_document_size_max")) * 1024 * 1024
    return len(json.dumps(document, default=str).encode()) <= limit


# -- Neptune (graph) ----------------------------------------------------------------------------
class Traversal:
    """A Gremlin-like traversal over :class:`GraphEngine` (steps named as Gremlin's)."""

    def __init__(self, graph: Any, frontier: list[str]) -> None:
        self._graph = graph
        self.frontier = frontier
        #: Edges walked so far (what a traversal costs).
        self.edges_walked = 0

    def out(self, label: str | None = None) -> Traversal:
        """Follow outgoing edges (with ``label``)."""
        nxt: list[str] = []
        for vertex in self.frontier:
            for _, target, data in self._graph.out_edges(vertex, data=True):
                self.edges_walked += 1
                if label is None or data.get("label") == label:
                    nxt.append(target)
        self.frontier = nxt
        return self

    def in_(self, label: str | None = None) -> Traversal:
        """Follow incoming edges (Gremlin's ``in``, a Python keyword)."""
        nxt: list[str] = []
        for vertex in self.frontier:
            for source, _, data in self._graph.in_edges(vertex, data=True):
                self.edges_walked += 1
                if label is None or data.get("label") == label:
                    nxt.append(source)
        self.frontier = nxt
        return self

    def repeat_out(self, label: str, times: int) -> Traversal:
        """``repeat(out(label)).times(n)``, keeping every vertex reached (``emit()``)."""
        reached: list[str] = []
        for _ in range(times):
            self.out(label).dedup()
            reached.extend(self.frontier)
        self.frontier = list(dict.fromkeys(reached))
        return self

    def has(self, key: str, value: Any) -> Traversal:
        """Keep vertices whose property ``key`` is ``value``."""
        self.frontier = [v for v in self.frontier if self._graph.nodes[v].get(key) == value]
        return self

    def without(self, *vertices: str) -> Traversal:
        """Drop ``vertices`` (``where(without(...))``)."""
        self.frontier = [v for v in self.frontier if v not in vertices]
        return self

    def dedup(self) -> Traversal:
        """Each vertex once."""
        self.frontier = list(dict.fromkeys(self.frontier))
        return self

    def count(self) -> int:
        """How many vertices the traversal holds."""
        return len(self.frontier)

    def to_list(self) -> list[str]:
        """The vertices (ids)."""
        return list(self.frontier)


class GraphEngine:
    """A property graph (networkx) with a Gremlin-like traversal: ``engine.V("ana").out(...)``."""

    name = "Neptune (a Gremlin-like traversal over networkx)"

    def __init__(self) -> None:
        networkx: Any = importlib.import_module("networkx")
        self.graph: Any = networkx.MultiDiGraph()

    def add_vertex(self, vertex: str, **properties: Any) -> None:
        """A vertex with properties."""
        self.graph.add_node(vertex, **properties)

    def add_edge(self, source: str, label: str, target: str) -> None:
        """An edge ``source -label-> target``."""
        self.graph.add_edge(source, target, label=label)

    def V(self, *vertices: str) -> Traversal:
        """Start a traversal at ``vertices`` (every vertex when none)."""
        start = list(vertices) if vertices else list(self.graph.nodes)
        return Traversal(self.graph, [v for v in start if v in self.graph])


# -- Keyspaces (CQL) ----------------------------------------------------------------------------
class CqlInvalidRequest(EngineRefused):
    """Cassandra's ``InvalidRequest``: a query the partition-key rules refuse."""

    code = "InvalidRequest"

    def __init__(self, message: str) -> None:
        super().__init__("Keyspaces", message)


_FILTERING = (
    "Cannot execute this query as it might involve data filtering and thus may have "
    "unpredictable performance. If you want to execute this query despite the performance "
    "unpredictability, use ALLOW FILTERING"
)


@dataclass
class _CqlTable:
    columns: list[str]
    partition: list[str]
    clustering: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)


def _literal(text: str) -> Any:
    text = text.strip()
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1].replace("''", "'")
    try:
        return int(text)
    except ValueError:
        return float(text)


def _split_values(text: str) -> list[str]:
    return [part for part in re.findall(r"'(?:[^']|'')*'|[^,\s][^,]*", text)]


class CqlEngine:
    """A small CQL with Cassandra's partition-key rules (Amazon Keyspaces's query language)."""

    name = "Keyspaces (CQL)"

    def __init__(self) -> None:
        self.tables: dict[str, _CqlTable] = {}

    def execute(self, cql: str) -> list[dict[str, Any]]:
        """Run one CQL statement: CREATE TABLE, INSERT or SELECT."""
        statement = " ".join(cql.strip().rstrip(";").split())
        upper = statement.upper()
        if upper.startswith("CREATE TABLE"):
            self._create(statement)
            return []
        if upper.startswith("INSERT INTO"):
            self._insert(statement)
            return []
        if upper.startswith("SELECT"):
            return self._select(statement)
        raise CqlInvalidRequest(f"this model runs CREATE TABLE, INSERT and SELECT, not {cql!r}")

    def _create(self, statement: str) -> None:
        match = re.match(r"CREATE TABLE (\w+(?:\.\w+)?) \((.*)\)$", statement, re.IGNORECASE)
        key = re.search(r"PRIMARY KEY \((.*)\)\s*$", match.group(2) if match else "", re.I)
        if match is None or key is None:
            raise CqlInvalidRequest("CREATE TABLE name (columns..., PRIMARY KEY (...))")
        body = match.group(2)[: key.start()].rstrip(", ")
        columns = [part.split()[0] for part in body.split(",") if part.strip()]
        spec = key.group(1).strip()
        if spec.startswith("("):
            inner, _, rest = spec[1:].partition(")")
            partition = [c.strip() for c in inner.split(",")]
            clustering = [c.strip() for c in rest.split(",") if c.strip()]
        else:
            parts = [c.strip() for c in spec.split(",")]
            partition, clustering = parts[:1], parts[1:]
        self.tables[match.group(1).split(".")[-1]] = _CqlTable(columns, partition, clustering)

    def _table(self, name: str) -> _CqlTable:
        table = self.tables.get(name.split(".")[-1])
        if table is None:
            raise CqlInvalidRequest(f"unconfigured table {name}")
        return table

    def _insert(self, statement: str) -> None:
        match = re.match(r"INSERT INTO (\S+) \((.*?)\) VALUES \((.*)\)$", statement, re.I)
        if match is None:
            raise CqlInvalidRequest("INSERT INTO table (columns) VALUES (values)")
        table = self._table(match.group(1))
        names = [c.strip() for c in match.group(2).split(",")]
        row = dict(zip(names, (_literal(v) for v in _split_values(match.group(3))), strict=False))
        missing = [c for c in table.partition + table.clustering if c not in row]
        if missing:
            raise CqlInvalidRequest(f"Some primary key parts are missing: {', '.join(missing)}")
        key = [row[c] for c in table.partition + table.clustering]
        table.rows = [
            r for r in table.rows if [r[c] for c in table.partition + table.clustering] != key
        ]
        table.rows.append(row)

    def _select(self, statement: str) -> list[dict[str, Any]]:
        match = re.match(
            r"SELECT (.+?) FROM (\S+)(?: WHERE (.+?))?( ALLOW FILTERING)?$", statement, re.I
        )
        if match is None:
            raise CqlInvalidRequest("SELECT columns FROM table [WHERE ...] [ALLOW FILTERING]")
        table = self._table(match.group(2))
        allow = bool(match.group(4))
        conditions: list[tuple[str, str, Any]] = []
        for part in re.split(r"\s+AND\s+", match.group(3) or "", flags=re.I):
            if not part:
                continue
            cond = re.match(r"(\w+)\s*(=|>=|<=|>|<|IN)\s*(.+)$", part.strip(), re.I)
            if cond is None:
                raise CqlInvalidRequest(f"cannot parse the condition {part!r}")
            column, op, raw = cond.group(1), cond.group(2).upper(), cond.group(3)
            value: Any = (
                [_literal(v) for v in _split_values(raw.strip()[1:-1])]
                if op == "IN"
                else _literal(raw)
            )
            conditions.append((column, op, value))
        self._check_rules(table, conditions, allow)
        rows = [row for row in table.rows if all(_holds(row, c) for c in conditions)]
        columns = match.group(1).strip()
        if columns == "*":
            return [dict(row) for row in rows]
        wanted = [c.strip() for c in columns.split(",")]
        return [{c: row.get(c) for c in wanted} for row in rows]

    @staticmethod
    def _check_rules(table: _CqlTable, conditions: list[tuple[str, str, Any]], allow: bool) -> None:
        restricted = {c for c, _, _ in conditions}
        on_partition = [c for c in table.partition if c in restricted]
        if on_partition and len(on_partition) < len(table.partition):
            missing = [c for c in table.partition if c not in restricted]
            raise CqlInvalidRequest(
                f"Cannot execute this query as it might involve data filtering: partition key "
                f"parts {', '.join(missing)} must be restricted as other parts are"
            )
        for column, op, _ in conditions:
            if column in table.partition and op not in ("=", "IN"):
                raise CqlInvalidRequest(
                    f"Only EQ and IN relation are supported on the partition key {column} "
                    "(unless you use the token() function)"
                )
        full_partition = len(on_partition) == len(table.partition)
        others = restricted - set(table.partition)
        if allow:
            return
        if not full_partition and restricted:
            raise CqlInvalidRequest(_FILTERING)
        if others - set(table.clustering):
            raise CqlInvalidRequest(_FILTERING)


def _holds(row: dict[str, Any], condition: tuple[str, str, Any]) -> bool:
    column, op, value = condition
    got = row.get(column)
    if op == "IN":
        return got in value
    if got is None:
        return False
    result: bool = {
        "=": got == value,
        ">": got > value,
        "<": got < value,
        ">=": got >= value,
        "<=": got <= value,
    }[op]
    return result


# -- Timestream ---------------------------------------------------------------------------------
class TimeSeriesEngine:
    """Measures in time with dimensions; aggregates in time bins over a range."""

    name = "Timestream (time series)"

    def __init__(self) -> None:
        self.points: list[tuple[float, str, dict[str, str], float]] = []

    def write(self, measure: str, value: float, at: float, **dimensions: str) -> None:
        """One data point (WriteRecords)."""
        self.points.append((at, measure, dict(dimensions), float(value)))

    def binned(
        self,
        measure: str,
        start: float,
        end: float,
        bin_seconds: float,
        aggregate: str = "avg",
        **dimensions: str,
    ) -> list[tuple[float, float]]:
        """``SELECT bin(time, n), avg(measure) ... WHERE time BETWEEN ... GROUP BY 1``."""
        bins: dict[float, list[float]] = defaultdict(list)
        for at, name, dims, value in self.points:
            if name != measure or not start <= at < end:
                continue
            if any(dims.get(k) != v for k, v in dimensions.items()):
                continue
            bins[start + ((at - start) // bin_seconds) * bin_seconds].append(value)
        reduce: dict[str, Callable[[list[float]], float]] = {
            "avg": lambda v: sum(v) / len(v),
            "max": max,
            "min": min,
            "sum": sum,
        }
        if aggregate not in reduce:
            raise EngineRefused(self.name, f"aggregate {aggregate!r} is not one of avg/max/min/sum")
        return [(at, float(reduce[aggregate](values))) for at, values in sorted(bins.items())]


# -- OpenSearch ---------------------------------------------------------------------------------
_WORD = re.compile(r"[a-z0-9]+")


class SearchEngine:
    """An inverted index: full-text ``match`` queries ranked by term frequency, visible after a
    refresh (every ``refresh_interval`` seconds of the clock given to each call)."""

    name = "OpenSearch (full text)"

    def __init__(self, refresh_interval: float | None = None) -> None:
        default = facts.value("dbchoice.opensearch_refresh_interval")
        self.refresh_interval = float(default if refresh_interval is None else refresh_interval)
        self._buffer: dict[str, str] = {}
        self._index: dict[str, dict[str, int]] = defaultdict(dict)
        self._last_refresh = float("-inf")

    def index(self, doc_id: str, text: str, now: float) -> None:
        """Index a document (searchable from the next refresh)."""
        self._maybe_refresh(now)
        self._buffer[doc_id] = text

    def _maybe_refresh(self, now: float) -> None:
        if now - self._last_refresh >= self.refresh_interval:
            self.refresh(now)

    def refresh(self, now: float) -> None:
        """Make every indexed document searchable (the Refresh API)."""
        for doc_id, text in self._buffer.items():
            for postings in self._index.values():
                postings.pop(doc_id, None)
            for word in _WORD.findall(text.lower()):
                self._index[word][doc_id] = self._index[word].get(doc_id, 0) + 1
        self._buffer.clear()
        self._last_refresh = now

    def search(self, query: str, now: float) -> list[str]:
        """Document ids matching any word of ``query``, best first."""
        self._maybe_refresh(now)
        scores: dict[str, int] = defaultdict(int)
        for word in _WORD.findall(query.lower()):
            for doc_id, count in self._index.get(word, {}).items():
                scores[doc_id] += count
        return sorted(scores, key=lambda d: (-scores[d], d))


def leaderboard_store() -> Any:
    """A Redis (fakeredis, in process) for sorted-set leaderboards, as ElastiCache serves one."""
    fakeredis: Any = importlib.import_module("fakeredis")
    return fakeredis.FakeRedis(decode_responses=True)
