"""OpenSearch's engine on tantivy (no sandbox): Lucene's BM25 values, statistics of refreshed
documents only, dates, dynamic mapping, bool's corners and what OpenSearch refuses."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from labkit.services.opensearch.sim_engine import Engine, SearchError

K1, B = 1.2, 0.75
TEXTS = ["timeout db", "timeout again after retry", "disk full", "user login ok"]


def _engine(texts: list[str]) -> Engine:
    engine = Engine()
    body = {
        "settings": {"refresh_interval": "-1"},  # refreshed only when a test says so
        "mappings": {"properties": {"m": {"type": "text"}}},
    }
    engine.create_index("logs", body, 0.0)
    for n, text in enumerate(texts):
        engine.put("logs", str(n), {"m": text}, 0.0)
    engine.refresh("logs", 0.0)
    return engine


def _lucene(tf: int, dl: int, avgdl: float, docs: int, having: int) -> float:
    idf = math.log(1 + (docs - having + 0.5) / (having + 0.5))
    return idf * tf / (tf + K1 * (1 - B + B * dl / avgdl))


def _scores(engine: Engine, query: dict[str, Any], now: float = 0.0) -> dict[str, float]:
    hits = engine.search("logs", {"query": query}, now)["hits"]["hits"]
    return {h["_id"]: h["_score"] for h in hits}


def test_match_scores_are_lucenes_bm25_as_opensearch_gives_them() -> None:
    engine = _engine(TEXTS)
    avgdl = sum(len(t.split()) for t in TEXTS) / len(TEXTS)
    scores = _scores(engine, {"match": {"m": "timeout"}})
    assert scores["0"] == pytest.approx(_lucene(1, 2, avgdl, 4, 2), rel=1e-4)
    assert scores["1"] == pytest.approx(_lucene(1, 4, avgdl, 4, 2), rel=1e-4)
    # Several words: the sum of each word's BM25 (a bool of should clauses).
    both = _scores(engine, {"match": {"m": "timeout retry"}})
    assert both["1"] == pytest.approx(
        _lucene(1, 4, avgdl, 4, 2) + _lucene(1, 4, avgdl, 4, 1), rel=1e-4
    )


def test_bm25_statistics_count_only_searchable_documents() -> None:
    engine = _engine(TEXTS)
    before = _scores(engine, {"match": {"m": "timeout"}})["0"]
    engine.put("logs", "late", {"m": "timeout timeout"}, 1.0)  # not refreshed yet
    assert _scores(engine, {"match": {"m": "timeout"}}, now=1.0)["0"] == before
    engine.refresh("logs", 2.0)
    after = _scores(engine, {"match": {"m": "timeout"}}, now=2.0)
    assert after["0"] < before and "late" in after  # timeout is commoner now: a lower idf


def test_filters_score_nothing_and_constant_queries_score_one() -> None:
    engine = _engine(TEXTS)
    filtered = {"bool": {"filter": [{"match": {"m": "timeout"}}]}}
    assert set(_scores(engine, filtered).values()) == {0.0}
    assert set(_scores(engine, {"exists": {"field": "m"}}).values()) == {1.0}
    alone = _scores(engine, {"bool": {"must_not": [{"match": {"m": "timeout"}}]}})
    assert alone == {"2": 0.0, "3": 0.0}  # must_not alone: every other document


@pytest.fixture(scope="module")
def dated() -> Engine:
    engine = Engine()
    mappings = {
        "properties": {
            "ts": {"type": "date"},
            "level": {"type": "keyword"},
            "ms": {"type": "long"},
            "msg": {"type": "text"},
            "title": {"type": "text"},
        }
    }
    engine.create_index("logs", {"mappings": mappings}, 0.0)
    rows = [
        ("2026-01-31T23:59:59Z", "ERROR", 10, "disk full", "db"),
        ("2026-02-01T00:00:00Z", "error", 20, "db timeout", "disk"),
        ("2026-02-14T12:30:00.250Z", "WARN", 30, "user login", "login"),
        ("2026-04-02T08:00:00+02:00", "INFO", 40, "disk disk disk", "ok"),
    ]
    for n, (ts, level, ms, msg, title) in enumerate(rows):
        body = {"ts": ts, "level": level, "ms": ms, "msg": msg, "title": title}
        engine.put("logs", str(n), body, 0.0)
    engine.refresh("logs", 0.0)
    return engine


def _ids(engine: Engine, query: dict[str, Any], now: float = 0.0) -> list[str]:
    hits = engine.search("logs", {"query": query, "size": 50}, now)["hits"]["hits"]
    return sorted(h["_id"] for h in hits)


def test_dates_compare_as_instants_in_any_spelling(dated: Engine) -> None:
    start, end = "2026-02-01T00:00:00Z", "2026-02-14T12:30:00.250Z"
    assert _ids(dated, {"range": {"ts": {"gte": start, "lt": end}}}) == ["1"]
    assert _ids(dated, {"range": {"ts": {"gte": "2026-02-01T01:00:00+01:00"}}}) == ["1", "2", "3"]
    assert _ids(dated, {"range": {"ts": {"lt": 1769904000000}}}) == ["0"]  # epoch milliseconds
    assert _ids(dated, {"range": {"ts": {"gt": "2026-02-01"}}}) == ["2", "3"]
    assert _ids(dated, {"term": {"ts": end}}) == ["2"]
    assert _ids(dated, {"term": {"ts": "2026-02-14T12:30:00.25Z"}}) == ["2"]  # same instant
    assert _ids(dated, {"range": {"ts": {"gte": "2026-04-02T08:00:00+0200"}}}) == ["3"]
    # Date math on the lab clock: now is 2026-04-02T06:30Z.
    now = 1775111400.0
    assert _ids(dated, {"range": {"ts": {"gte": "now-1h"}}}, now=now) == ["3"]
    assert _ids(dated, {"range": {"ts": {"gte": "now/d"}}}, now=now) == ["3"]


def test_date_aggregations_answer_as_opensearch(dated: Engine) -> None:
    body = {
        "size": 0,
        "aggs": {
            "months": {"date_histogram": {"field": "ts", "calendar_interval": "month"}},
            "weeks": {
                "date_histogram": {"field": "ts", "calendar_interval": "week", "min_doc_count": 1}
            },
            "first": {"min": {"field": "ts"}},
            "levels": {
                "terms": {"field": "level"},
                "aggs": {"slowest": {"max": {"field": "ms"}}},
            },
            "count": {"value_count": {"field": "ms"}},
        },
    }
    aggs = dated.search("logs", body, 0.0)["aggregations"]
    assert [(b["key_as_string"], b["doc_count"]) for b in aggs["months"]["buckets"]] == [
        ("2026-01-01T00:00:00.000Z", 1),
        ("2026-02-01T00:00:00.000Z", 2),
        ("2026-03-01T00:00:00.000Z", 0),  # empty buckets between, as min_doc_count 0 lists
        ("2026-04-01T00:00:00.000Z", 1),
    ]
    # Weeks start on Monday; min_doc_count 1 leaves the empty ones out.
    assert [(b["key_as_string"], b["doc_count"]) for b in aggs["weeks"]["buckets"]] == [
        ("2026-01-26T00:00:00.000Z", 2),
        ("2026-02-09T00:00:00.000Z", 1),
        ("2026-03-30T00:00:00.000Z", 1),
    ]
    assert aggs["first"]["value_as_string"] == "2026-01-31T23:59:59.000Z"
    assert aggs["count"] == {"value": 4}
    by_level = {b["key"]: b["slowest"]["value"] for b in aggs["levels"]["buckets"]}
    assert by_level == {"ERROR": 10, "error": 20, "WARN": 30, "INFO": 40}


def test_keywords_match_exactly_and_range_over_their_values(dated: Engine) -> None:
    assert _ids(dated, {"term": {"level": "ERROR"}}) == ["0"]
    assert _ids(dated, {"match": {"level": "error"}}) == ["1"]
    assert _ids(dated, {"term": {"msg": "Disk"}}) == []  # text holds lower-cased tokens
    assert _ids(dated, {"range": {"level": {"gte": "F", "lt": "X"}}}) == ["2", "3"]
    assert _ids(dated, {"range": {"ms": {"gt": 19.5, "lte": 30.9}}}) == ["1", "2"]


def test_multi_match_takes_the_best_field_and_minimum_should_match(dated: Engine) -> None:
    query = {"multi_match": {"query": "disk", "fields": ["msg", "title^3"]}}
    hits = dated.search("logs", {"query": query}, 0.0)["hits"]["hits"]
    assert hits[0]["_id"] == "1"  # "disk" in the boosted title beats three in msg
    assert sorted(h["_id"] for h in hits) == ["0", "1", "3"]
    two_of_three = {
        "bool": {
            "should": [
                {"match": {"msg": "disk"}},
                {"term": {"level": "INFO"}},
                {"range": {"ms": {"gte": 15}}},
            ],
            "minimum_should_match": 2,
        }
    }
    assert _ids(dated, two_of_three) == ["3"]
    assert (
        _ids(dated, {"match": {"msg": {"query": "user db", "minimum_should_match": "100%"}}}) == []
    )


def test_dynamic_mapping_flattens_objects_and_grows_with_new_fields() -> None:
    engine = Engine()
    engine.put("auto", "a", {"user": {"name": "ana"}, "n": 3, "at": "2024-01-01T00:00:00Z"}, 0.0)
    engine.refresh("auto", 0.0)
    found = engine.search("auto", {"query": {"term": {"user.name": "ana"}}}, 0.0)
    assert [h["_id"] for h in found["hits"]["hits"]] == ["a"]
    assert engine.indexes["auto"].mappings == {
        "user.name": "text",  # a string: text, with a keyword multi-field, as OpenSearch maps it
        "user.name.keyword": "keyword",
        "n": "long",
        "at": "date",
    }
    engine.put("auto", "b", {"n": 7, "zone": "eu", "tags": ["x", "y"]}, 1.0)
    engine.refresh("auto", 1.0)
    assert engine.count("auto", {"query": {"term": {"zone": "eu"}}}, 1.0) == 1
    assert engine.count("auto", {"query": {"term": {"tags": "y"}}}, 1.0) == 1
    assert engine.count("auto", {"query": {"range": {"n": {"gte": 3}}}}, 1.0) == 2
    assert engine.count("auto", {"query": {"exists": {"field": "user.name"}}}, 1.0) == 1
    assert engine.delete("auto", "a")
    assert engine.count("auto", {}, 1.0) == 1  # a delete leaves the search at once


def test_a_dynamic_string_is_text_with_a_keyword_multi_field() -> None:
    from labkit.services.opensearch.patch import _properties

    engine = Engine()
    long_line = "x" * 300
    engine.put("logs", "a", {"level": "ERROR", "message": "Disk full on node-7"}, 0.0)
    engine.put("logs", "b", {"level": "WARN", "message": long_line}, 0.0)
    engine.refresh("logs", 0.0)
    # text: analyzed words, so a match finds a word and a term finds only a lower-cased token
    assert engine.count("logs", {"query": {"match": {"message": "DISK"}}}, 0.0) == 1
    assert engine.count("logs", {"query": {"term": {"level": "ERROR"}}}, 0.0) == 0
    assert engine.count("logs", {"query": {"term": {"level.keyword": "ERROR"}}}, 0.0) == 1
    # the keyword multi-field aggregates; a value past ignore_above (256) is not in it
    found = engine.search(
        "logs", {"size": 0, "aggs": {"by": {"terms": {"field": "level.keyword"}}}}, 0.0
    )
    assert [b["key"] for b in found["aggregations"]["by"]["buckets"]] == ["ERROR", "WARN"]
    assert engine.count("logs", {"query": {"exists": {"field": "message.keyword"}}}, 0.0) == 1
    assert _properties(engine.indexes["logs"])["message"] == {
        "type": "text",
        "fields": {"keyword": {"type": "keyword", "ignore_above": 256}},
    }


def test_explicit_multi_fields_are_indexed_from_their_field() -> None:
    engine = Engine()
    mapping = {"type": "keyword", "fields": {"words": {"type": "text"}}}
    engine.create_index("shop", {"mappings": {"properties": {"title": mapping}}}, 0.0)
    engine.put("shop", "1", {"title": "Red Shoes"}, 0.0)
    engine.refresh("shop", 0.0)
    assert engine.count("shop", {"query": {"term": {"title": "Red Shoes"}}}, 0.0) == 1
    assert engine.count("shop", {"query": {"match": {"title.words": "shoes"}}}, 0.0) == 1


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        ({"aggs": {"t": {"terms": {"field": "msg"}}}}, "illegal_argument_exception"),
        ({"aggs": {"a": {"avg": {"field": "level"}}}}, "illegal_argument_exception"),
        ({"aggs": {"p": {"percentiles": {"field": "ms"}}}}, "parsing_exception"),
        ({"size": 9000, "from": 1001}, "illegal_argument_exception"),
        ({"query": {"term": {"ms": "many"}}}, "query_shard_exception"),
        ({"query": {"range": {"ts": {"gte": "yesterday"}}}}, "query_shard_exception"),
        ({"query": {"match": "oops"}}, "parsing_exception"),
    ],
)
def test_requests_opensearch_refuses(dated: Engine, body: dict[str, Any], kind: str) -> None:
    with pytest.raises(SearchError) as raised:
        dated.search("logs", body, 0.0)
    assert raised.value.kind == kind and raised.value.status == 400


def test_a_value_its_field_cannot_hold_refuses_the_document(dated: Engine) -> None:
    for field, value in (("ms", "fast"), ("ts", "last tuesday")):
        with pytest.raises(SearchError) as raised:
            dated.put("logs", "bad", {field: value}, 0.0)
        assert raised.value.kind == "mapper_parsing_exception" and field in raised.value.message
    assert dated.get("logs", "bad") is None


def test_sort_by_a_field_and_source_filtering(dated: Engine) -> None:
    body = {"sort": [{"ts": {"order": "desc"}}], "size": 2, "_source": ["level", "m*"]}
    found = dated.search("logs", body, 0.0)["hits"]
    assert [(h["_id"], h["sort"], h["_score"]) for h in found["hits"]] == [
        ("3", [1775109600000], None),  # 2026-04-02T06:00Z (08:00+02:00), in milliseconds
        ("2", [1771072200250], None),
    ]
    assert found["max_score"] is None
    assert found["hits"][0]["_source"] == {"level": "INFO", "ms": 40, "msg": "disk disk disk"}
    ascending = dated.search("logs", {"sort": "level", "_source": False}, 0.0)["hits"]["hits"]
    assert [h["_id"] for h in ascending] == ["0", "3", "2", "1"]  # ERROR INFO WARN error
    assert all("_source" not in h for h in ascending)
    excluded = {"_source": {"excludes": ["ts", "m*"]}, "query": {"term": {"level": "WARN"}}}
    hits = dated.search("logs", excluded, 0.0)["hits"]["hits"]
    assert hits[0]["_source"] == {"level": "WARN", "title": "login"}
    for wrong, kind in (("msg", "illegal_argument_exception"), ("nope", "query_shard_exception")):
        with pytest.raises(SearchError) as raised:
            dated.search("logs", {"sort": [{wrong: "asc"}]}, 0.0)
        assert raised.value.kind == kind


def test_bulk_actions_fail_alone_as_opensearch_reports_them() -> None:
    from labkit.services.opensearch.patch import _bulk

    engine = Engine()
    engine.create_index("logs", {"mappings": {"properties": {"ms": {"type": "long"}}}}, 0.0)
    lines = [
        {"index": {"_id": "1"}},
        {"ms": 5},
        {"index": {"_id": "2"}},
        {"ms": "slow"},  # not a long: this document alone is refused
        {"create": {"_id": "1"}},
        {"ms": 6},  # create of an existing id: a conflict
        {"index": {"_id": "1"}},
        {"ms": 7},  # index replaces it
        {"delete": {"_id": "9", "_index": "nope"}},
    ]
    raw = "\n".join(json.dumps(line) for line in lines).encode() + b"\n"
    answer = _bulk(engine, "logs", raw, 0.0)
    statuses = [(next(iter(i)), next(iter(i.values()))["status"]) for i in answer["items"]]
    assert statuses == [
        ("index", 201),
        ("index", 400),
        ("create", 409),
        ("index", 200),
        ("delete", 404),
    ]
    assert answer["errors"] is True
    assert answer["items"][1]["index"]["error"]["type"] == "mapper_parsing_exception"
    assert engine.get("logs", "1") == {"ms": 7} and engine.get("logs", "2") is None


def test_ids_prefix_wildcard_and_multi_match_over_field_patterns(dated: Engine) -> None:
    assert _ids(dated, {"ids": {"values": ["1", "3", "nope"]}}) == ["1", "3"]
    assert _ids(dated, {"prefix": {"level": "ER"}}) == ["0"]  # keywords: case kept
    assert _ids(dated, {"prefix": {"msg": {"value": "ti"}}}) == ["1"]  # text: its tokens
    assert _ids(dated, {"wildcard": {"level": "?ARN"}}) == ["2"]
    assert _ids(dated, {"wildcard": {"title": "l*n"}}) == ["2"]
    every = {"multi_match": {"query": "disk", "fields": ["*"]}}
    assert _ids(dated, every) == ["0", "1", "3"]  # msg and title (text), level (keyword)
    assert _ids(dated, {"multi_match": {"query": "login", "fields": ["ti*"]}}) == ["2"]
