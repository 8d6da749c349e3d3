"""OpenSearch indexes on a real search engine: tantivy (Lucene's design, in Rust, from PyPI).

Why tantivy: it is built like Lucene, which OpenSearch runs on: an inverted index with BM25
ranking, top-k retrieval that skips blocks that cannot reach the top (block-max WAND), columnar
"fast fields" for filters and aggregations, and Elasticsearch-compatible aggregations; its
``tantivy`` wheels install on Linux, macOS and Windows. Scores are Lucene's BM25 formula, as
OpenSearch gives them (:mod:`.sim_query` says how); nothing here is a hand-written index. The
query DSL becomes tantivy queries (:mod:`.sim_query`), aggregations tantivy's
(:mod:`.sim_aggs`), field types typed tantivy fields (:mod:`.sim_fields`). The engine before it,
SQLite FTS5, scored every match before keeping ten and read every filtered value out of JSON:
about 97 ms a search over 100,000 logs against issue 19's 50 ms.

An index keeps each document's ``_source`` (a ``GET`` by id is real time) and a tantivy index of
the refreshed ones. Near real time, on the lab clock: a document is searchable only after the
next refresh (``refresh_interval``, default ``1s``; ``-1`` turns periodic refresh off), or
``_refresh``, or ``?refresh=true`` on the write
(https://docs.opensearch.org/latest/api-reference/index-apis/refresh/): documents wait in
``pending`` and are added (and committed) when a search comes after their refresh, so that
BM25's statistics count only searchable documents, as OpenSearch's do (each such search
commits to tantivy: a few milliseconds). A delete, or the old version of a replaced document,
leaves the search at once (in OpenSearch at the next refresh; the sandbox has always done so).
A field met for the first time is mapped dynamically as OpenSearch maps it (numbers, booleans,
ISO dates; other strings as ``text`` with a ``keyword`` multi-field of at most 256 characters,
so ``match`` finds words and ``term``/aggregations use ``name.keyword``), and the tantivy index
is rebuilt with it from the sources. Multi-fields of explicit mappings (``"fields"``) are
indexed from their field's value the same way.
"""

from __future__ import annotations

import json
import math
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import tantivy
from tantivy import Order, Query

from labkit import facts
from labkit.services.opensearch import sim_aggs, sim_hits
from labkit.services.opensearch.sim_fields import (
    ANALYZER,
    DYNAMIC_STRING_KEYWORD,
    FIELD_NAMES,
    ID,
    INDEXED_TYPES,
    NUMERIC_TYPES,
    TEXT_TYPES,
    SearchError,
    add_field,
    add_value,
    all_multi_fields,
    analyzer,
    dynamic_type,
    flatten_mappings,
    leaves,
    typed,
)
from labkit.services.opensearch.sim_query import Translator

__all__ = ["NUMERIC_TYPES", "TEXT_TYPES", "Engine", "Index", "SearchError"]

#: tantivy's indexing memory per index (its minimum is 15 MB); one indexing thread.
_WRITER_HEAP = 32_000_000
#: A document's typed values: ``(field, mapping type, value)``.
Values = list[tuple[str, str, Any]]


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


class _Store:
    """The tantivy index of one OpenSearch index, for one set of mappings."""

    def __init__(self, mappings: dict[str, str]) -> None:
        builder = tantivy.SchemaBuilder()
        builder.add_text_field(ID, stored=True, tokenizer_name="raw", index_option="basic")
        builder.add_text_field(FIELD_NAMES, tokenizer_name="raw", index_option="basic")
        for name, kind in mappings.items():
            if name not in (ID, FIELD_NAMES):
                add_field(builder, name, kind)
        self.mappings = dict(mappings)
        self.schema = builder.build()
        self.index = tantivy.Index(self.schema)
        self.analyzer = analyzer()
        self.index.register_tokenizer(ANALYZER, self.analyzer)
        self.writer = self.index.writer(heap_size=_WRITER_HEAP, num_threads=1)
        self.dirty = False

    def add(self, doc_id: str, values: Values) -> None:
        document = tantivy.Document()
        document.add_text(ID, doc_id)
        for name in {name for name, _, _ in values}:
            document.add_text(FIELD_NAMES, name)
        for name, kind, value in values:
            if kind in INDEXED_TYPES:
                add_value(document, name, kind, value)
        self.writer.add_document(document)
        self.dirty = True

    def remove(self, doc_id: str) -> None:
        self.writer.delete_documents_by_term(ID, doc_id)
        self.dirty = True

    def searcher(self) -> tantivy.Searcher:
        if self.dirty:
            self.writer.commit()
            self.index.reload()
            self.dirty = False
        return self.index.searcher()


@dataclass
class Index:
    """One index: its mappings, documents (sources by id) and refresh state."""

    name: str
    mappings: dict[str, str]
    created: float
    refresh_every: float | None
    #: Every document's ``_source`` as JSON, by id (what ``GET _doc`` reads, in real time).
    sources: dict[str, str] = field(default_factory=dict)
    #: Documents not yet refreshed: id -> (time indexed, typed values), in the order indexed.
    pending: dict[str, tuple[float, Values]] = field(default_factory=dict)
    refreshed_at: float = 0.0
    last_search: dict[str, Any] = field(default_factory=dict)
    #: The tantivy index of the refreshed documents (``None``: to be rebuilt, mappings grew).
    store: _Store | None = None
    #: Multi-fields by parent field: ``{"message": {"keyword": ("keyword", 256)}}``; each is
    #: also in :attr:`mappings` as ``message.keyword`` and indexed from the parent's value.
    multi: dict[str, dict[str, Any]] = field(default_factory=dict)

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


def _values(
    index: Index, doc_id: str, source: Any
) -> tuple[Values, dict[str, str], dict[str, dict[str, Any]]]:
    """A document's typed values, the fields it maps dynamically and their multi-fields (a 400
    if a value cannot be stored as its field's type, as OpenSearch refuses it)."""
    if not isinstance(source, dict):
        raise SearchError(400, "mapper_parsing_exception", "failed to parse: not a JSON object")
    values: Values = []
    new: dict[str, str] = {}
    new_multi: dict[str, dict[str, Any]] = {}
    for name, value in leaves(source):
        kind = index.mappings.get(name) or new.get(name)
        if kind is None:
            kind = new[name] = dynamic_type(value)
            if kind == "text":
                new_multi[name] = {"keyword": DYNAMIC_STRING_KEYWORD}
                new[f"{name}.keyword"] = DYNAMIC_STRING_KEYWORD[0]
        subs = index.multi.get(name) or new_multi.get(name) or {}
        fields = [(name, kind, None)] + [
            (f"{name}.{sub}", k, above) for sub, (k, above) in subs.items()
        ]
        for field_name, field_kind, above in fields:
            if above is not None and len(str(value)) > above:
                continue  # ignore_above: longer strings are not indexed in that multi-field
            try:
                typed_value = typed(field_kind, value) if field_kind in INDEXED_TYPES else value
            except ValueError as err:
                raise SearchError(
                    400,
                    "mapper_parsing_exception",
                    f"failed to parse field [{field_name}] of type [{field_kind}] in document "
                    f"with id '{doc_id}'. Preview of field's value: '{value}' ({err})",
                ) from err
            values.append((field_name, field_kind, typed_value))
    return values, new, new_multi


class Engine:
    """The indexes of one domain."""

    def __init__(self) -> None:
        self.indexes: dict[str, Index] = {}
        # The REST layer may be called from several threads (a lab's check and a notebook).
        self._lock = threading.RLock()

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
        self.indexes[name] = Index(
            name, flatten_mappings(properties), now, every, multi=all_multi_fields(properties)
        )

    def index_of(self, name: str, create: bool = False, now: float = 0.0) -> Index:
        """The index called ``name`` (made with dynamic mappings when ``create``)."""
        if name not in self.indexes:
            if not create:
                raise SearchError(404, "index_not_found_exception", f"no such index [{name}]")
            self.indexes[name] = Index(name, {}, now, 1.0)
        return self.indexes[name]

    def put(self, index_name: str, doc_id: str | None, source: dict[str, Any], now: float) -> str:
        """Index a document (replacing one with the same id); its id."""
        with self._lock:
            index = self.index_of(index_name, create=True, now=now)
            doc_id = str(doc_id) if doc_id else uuid.uuid4().hex[:20]
            values, new, new_multi = _values(index, doc_id, source)
            if new:
                index.mappings.update(new)
                index.multi.update(new_multi)
                index.store = None  # a new field: the tantivy schema grows (rebuilt on search)
            if doc_id in index.sources:
                self._unindex(index, doc_id)
            index.sources[doc_id] = json.dumps(source)
            index.pending[doc_id] = (now, values)
            return doc_id

    def _unindex(self, index: Index, doc_id: str) -> None:
        if index.pending.pop(doc_id, None) is None and index.store is not None:
            index.store.remove(doc_id)

    def get(self, index_name: str, doc_id: str) -> dict[str, Any] | None:
        """A document by id, refreshed or not (a GET is real time)."""
        raw = self.index_of(index_name).sources.get(str(doc_id))
        return json.loads(raw) if raw is not None else None

    def delete(self, index_name: str, doc_id: str) -> bool:
        """Delete a document; whether it existed."""
        with self._lock:
            index = self.index_of(index_name)
            if index.sources.pop(str(doc_id), None) is None:
                return False
            self._unindex(index, str(doc_id))
            return True

    def refresh(self, index_name: str, now: float) -> None:
        """Make every document indexed so far searchable."""
        self.index_of(index_name).refreshed_at = now

    def counts(self, index_name: str, now: float) -> tuple[int, int]:
        """``(documents, searchable documents)`` of an index at ``now``."""
        with self._lock:
            index = self.index_of(index_name)
            point = index.refresh_point(now)
            waiting = sum(1 for at, _ in index.pending.values() if at > point)
            return len(index.sources), len(index.sources) - waiting

    def _searcher(self, index: Index, now: float) -> tuple[_Store, tantivy.Searcher]:
        """The index's tantivy store with every document refreshed by ``now`` in it."""
        store = index.store
        if store is None:
            store = _Store(index.mappings)
            for doc_id, raw in index.sources.items():
                if doc_id not in index.pending:
                    store.add(doc_id, _values(index, doc_id, json.loads(raw))[0])
            index.store = store
        point = index.refresh_point(now)
        for doc_id in [d for d, (at, _) in index.pending.items() if at <= point]:
            store.add(doc_id, index.pending.pop(doc_id)[1])
        return store, store.searcher()

    # ---- search ----------------------------------------------------------------------------

    def search(self, index_name: str, body: dict[str, Any], now: float) -> dict[str, Any]:
        """Run a ``_search`` body; OpenSearch's response shape (``hits``, ``aggregations``)."""
        with self._lock:
            index = self.index_of(index_name)
            store, searcher = self._searcher(index, now)
            translator = Translator(
                store.schema,
                store.mappings,
                store.analyzer.analyze,
                lambda name: _keyword_values(searcher, name),
                now,
            )
            query = translator.query(body.get("query") or {"match_all": {}})
            size, offset = _window(body)
            order = sim_hits.sort_of(body, store.mappings)
            if order.field is None:
                # Top ``from + size`` by score (block-max WAND skips what cannot get in), counted.
                found = searcher.search(query, max(offset + size, 1), count=True)
            else:
                found = searcher.search(
                    query,
                    max(offset + size, 1),
                    count=True,
                    order_by_field=order.field,
                    order=Order.Desc if order.descending else Order.Asc,
                )
            # tantivy-py's stub leaves ``count`` out; it is there when ``count=True``.
            total = int(getattr(found, "count", 0) or 0)
            hits: list[dict[str, Any]] = []
            #: The hits with their whole sources, for the view (whatever ``_source`` showed).
            seen: list[dict[str, Any]] = []
            shown = body.get("_source")
            for key, address in found.hits[offset : offset + size] if size else []:
                doc_id = str(searcher.doc(address).get_first(ID))
                hit: dict[str, Any] = {"_index": index.name, "_id": doc_id}
                # Sorted by a field: no score, the field's value as ``sort`` (OpenSearch's shape).
                hit["_score"] = round(float(key), 6) if order.field is None else None
                whole = json.loads(index.sources[doc_id])
                seen.append({"_id": doc_id, "_score": hit["_score"], "_source": whole})
                source = sim_hits.source_filter(shown, whole)
                if source is not None:
                    hit["_source"] = source
                if order.field is not None:
                    hit["sort"] = [key]
                hits.append(hit)
            best = found.hits[0][0] if found.hits and size and order.field is None else None
            result: dict[str, Any] = {
                "took": 1,
                "timed_out": False,
                "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                "hits": {
                    "total": {"value": total, "relation": "eq"},
                    "max_score": round(float(best), 6) if best is not None else None,
                    "hits": hits,
                },
            }
            aggs = body.get("aggs") or body.get("aggregations")
            if aggs:
                if not isinstance(aggs, dict):
                    raise SearchError(400, "parsing_exception", "aggs is an object of names")
                result["aggregations"] = sim_aggs.run(searcher, query, aggs, store.mappings)
            index.last_search = {"query": body.get("query"), "total": total, "hits": seen}
            return result

    def count(self, index_name: str, body: dict[str, Any], now: float) -> int:
        """``_count``: documents matching the query (searchable ones)."""
        found = self.search(index_name, {"query": body.get("query"), "size": 0}, now)
        return int(found["hits"]["total"]["value"])


def _window(body: dict[str, Any]) -> tuple[int, int]:
    """``size`` and ``from`` of a search, within OpenSearch's result window."""
    try:
        size, offset = int(body.get("size", 10)), int(body.get("from", 0))
    except (TypeError, ValueError) as err:
        raise SearchError(400, "parsing_exception", f"size and from are numbers: {err}") from err
    if size < 0 or offset < 0:
        raise SearchError(400, "illegal_argument_exception", "[size] and [from] cannot be < 0")
    window = int(facts.value("opensearch.max_result_window"))  # index.max_result_window
    if offset + size > window:
        raise SearchError(
            400,
            "illegal_argument_exception",
            f"Result window is too large, from + size must be less than or equal to: "
            f"[{window}] but was [{offset + size}]. See the scroll api for a more "
            "efficient way to request large data sets.",
        )
    return size, offset


def _keyword_values(searcher: tantivy.Searcher, name: str) -> list[str]:
    """Every distinct value of a keyword field among the searchable documents."""
    request = {"v": {"terms": {"field": name, "size": 65_000}}}
    found = searcher.aggregate(Query.all_query(), request)
    return [str(b["key"]) for b in found["v"]["buckets"]]
