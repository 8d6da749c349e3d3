"""OpenSearch's query DSL on tantivy (no sandbox): matches ranked by Lucene's BM25, filters, bool,
aggregations, and refresh on the lab clock."""

from __future__ import annotations

from typing import Any

import pytest

from labkit.services.opensearch.sim_engine import Engine, SearchError

MAPPINGS = {
    "settings": {"refresh_interval": "5s"},
    "mappings": {
        "properties": {
            "message": {"type": "text"},
            "level": {"type": "keyword"},
            "ms": {"type": "integer"},
            "at": {"type": "date"},
        }
    },
}
LOGS = [
    ("timeout connecting to db", "ERROR", 500, "2024-01-01T10:05:00"),
    ("user login ok", "INFO", 20, "2024-01-01T10:06:00"),
    ("db timeout again after retry", "ERROR", 900, "2024-01-02T11:00:00"),
    ("disk almost full", "WARN", 5, "2024-01-02T12:00:00"),
    ("user logout", "INFO", 10, "2024-01-02T12:30:00"),
] + [(f"request {n} served", "INFO", n, "2024-01-03T08:00:00") for n in range(20)]


@pytest.fixture
def engine() -> Engine:
    found = Engine()
    found.create_index("logs", MAPPINGS, now=100.0)
    for n, (message, level, ms, at) in enumerate(LOGS):
        found.put("logs", str(n), {"message": message, "level": level, "ms": ms, "at": at}, 101.0)
    return found


def _ids(engine: Engine, query: dict[str, Any], now: float = 106.0, **extra: Any) -> list[str]:
    body = {"query": query, "size": 50, **extra}
    return [h["_id"] for h in engine.search("logs", body, now)["hits"]["hits"]]


def test_a_document_is_searchable_only_after_the_next_refresh(engine: Engine) -> None:
    # Indexed at 101; the index refreshes every 5 s from 100: at 105.
    assert _ids(engine, {"match": {"message": "timeout"}}, now=104.9) == []
    assert engine.get("logs", "0") is not None  # a GET by id is real time
    assert sorted(_ids(engine, {"match": {"message": "timeout"}}, now=105.0)) == ["0", "2"]
    engine.put("logs", "late", {"message": "timeout late", "level": "ERROR"}, 106.0)
    assert "late" not in _ids(engine, {"match": {"message": "timeout"}}, now=107.0)
    engine.refresh("logs", 107.0)
    assert "late" in _ids(engine, {"match": {"message": "timeout"}}, now=107.0)
    assert engine.counts("logs", 107.0) == (len(LOGS) + 1, len(LOGS) + 1)


def test_refresh_interval_minus_one_waits_for_an_explicit_refresh() -> None:
    engine = Engine()
    engine.create_index("bulk", {"settings": {"index": {"refresh_interval": "-1"}}}, now=0.0)
    engine.put("bulk", "1", {"name": "ana"}, 1.0)
    assert engine.count("bulk", {}, now=1000.0) == 0
    engine.refresh("bulk", 1000.0)
    assert engine.count("bulk", {}, now=1000.0) == 1


def test_match_ranks_by_bm25_rarer_terms_first(engine: Engine) -> None:
    found = engine.search("logs", {"query": {"match": {"message": "user timeout"}}}, 106.0)
    hits = found["hits"]["hits"]
    assert {h["_id"] for h in hits} == {"0", "1", "2", "4"}
    scores = [h["_score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert found["hits"]["max_score"] == scores[0]
    # "and": every term must be there.
    query = {"match": {"message": {"query": "db timeout retry", "operator": "and"}}}
    assert _ids(engine, query) == ["2"]


def test_phrase_multi_match_term_terms_range_exists(engine: Engine) -> None:
    assert _ids(engine, {"match_phrase": {"message": "db timeout"}}) == ["2"]
    assert _ids(engine, {"multi_match": {"query": "disk", "fields": ["message^2"]}}) == ["3"]
    assert sorted(_ids(engine, {"term": {"level": "ERROR"}})) == ["0", "2"]
    assert sorted(_ids(engine, {"terms": {"level": ["WARN", "ERROR"]}})) == ["0", "2", "3"]
    assert sorted(_ids(engine, {"range": {"ms": {"gt": 20, "lte": 900}}})) == ["0", "2"]
    assert len(_ids(engine, {"exists": {"field": "at"}})) == len(LOGS)
    assert sorted(_ids(engine, {"match": {"level": "WARN"}})) == ["3"]  # keyword: exact value


def test_bool_combines_must_filter_should_and_must_not(engine: Engine) -> None:
    query = {
        "bool": {
            "must": [{"match": {"message": "timeout"}}],
            "filter": [{"range": {"ms": {"gte": 600}}}],
        }
    }
    assert _ids(engine, query) == ["2"]
    only_should = {
        "bool": {
            "should": [{"term": {"level": "WARN"}}, {"match": {"message": "login"}}],
            "must_not": [{"range": {"ms": {"lt": 10}}}],
        }
    }
    assert _ids(engine, only_should) == ["1"]
    # With a filter, should only adds to the score: both errors, the one that says "again" first.
    scored = {
        "bool": {
            "filter": [{"term": {"level": "ERROR"}}],
            "should": [{"match": {"message": "again"}}],
        }
    }
    assert _ids(engine, scored) == ["2", "0"]


def test_aggregations_over_the_matching_documents(engine: Engine) -> None:
    body = {
        "size": 0,
        "query": {"bool": {"must_not": [{"term": {"level": "DEBUG"}}]}},
        "aggs": {
            "levels": {"terms": {"field": "level", "size": 2}},
            "avg_ms": {"avg": {"field": "ms"}},
            "max_ms": {"max": {"field": "ms"}},
            "total": {"sum": {"field": "ms"}},
            "per_day": {"date_histogram": {"field": "at", "calendar_interval": "day"}},
        },
    }
    found = engine.search("logs", body, 106.0)
    aggs = found["aggregations"]
    assert found["hits"]["hits"] == [] and found["hits"]["total"]["value"] == len(LOGS)
    assert aggs["levels"]["buckets"] == [
        {"key": "INFO", "doc_count": 22},
        {"key": "ERROR", "doc_count": 2},
    ]
    assert aggs["levels"]["sum_other_doc_count"] == 1
    total = sum(row[2] for row in LOGS)
    assert aggs["total"]["value"] == total and aggs["max_ms"]["value"] == 900
    assert aggs["avg_ms"]["value"] == pytest.approx(total / len(LOGS))
    assert [(b["key_as_string"], b["doc_count"]) for b in aggs["per_day"]["buckets"]] == [
        ("2024-01-01T00:00:00.000Z", 2),
        ("2024-01-02T00:00:00.000Z", 3),
        ("2024-01-03T00:00:00.000Z", 20),
    ]


def test_paging_and_replacing_a_document(engine: Engine) -> None:
    first = _ids(engine, {"match": {"message": "request served"}}, size=5)
    second = _ids(engine, {"match": {"message": "request served"}}, size=5, **{"from": 5})
    assert len(first) == 5 and len(second) == 5 and not set(first) & set(second)
    engine.put("logs", "0", {"message": "replaced", "level": "INFO"}, 102.0)
    assert _ids(engine, {"match": {"message": "connecting"}}) == []
    assert engine.delete("logs", "1") and not engine.delete("logs", "1")


@pytest.mark.parametrize(
    ("call", "kind"),
    [
        (lambda e: e.create_index("logs", {}, 0.0), "resource_already_exists_exception"),
        (lambda e: e.create_index("Logs", {}, 0.0), "invalid_index_name_exception"),
        (lambda e: e.search("nope", {}, 0.0), "index_not_found_exception"),
        (lambda e: e.search("logs", {"query": {"fuzzy": {"a": 1}}}, 0.0), "parsing_exception"),
    ],
)
def test_requests_opensearch_refuses(engine: Engine, call: Any, kind: str) -> None:
    with pytest.raises(SearchError) as raised:
        call(engine)
    assert raised.value.kind == kind
