"""The "Which DB?" models: real engines keep their data model's rules, workloads break where
they would on AWS, and every correct choice of a workload passes."""

from __future__ import annotations

from typing import Any

import pytest

from labkit import facts
from labkit.services.dbchoice import sim_engines as engines
from labkit.services.dbchoice.sim_models import (
    BadConfigurationError,
    UnknownServiceError,
    catalog,
    parse_choice,
)
from labkit.services.dbchoice.sim_workloads import WORKLOADS, evaluate
from labkit.services.dbchoice.view import Report, report_html, report_text


# -- engines ------------------------------------------------------------------------------------
def test_sql_joins_and_rolls_back_a_failed_transaction() -> None:
    sql = engines.SqlEngine()
    sql.script(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT);"
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer INTEGER, total INTEGER CHECK "
        "(total > 0));"
        "INSERT INTO customers VALUES (1, 'ana'), (2, 'ben');"
        "INSERT INTO orders VALUES (10, 1, 30), (11, 1, 12), (12, 2, 5);"
    )
    rows = sql.run(
        "SELECT c.name, SUM(o.total) FROM orders o JOIN customers c ON c.id = o.customer "
        "GROUP BY c.name ORDER BY c.name"
    )
    assert rows == [("ana", 42), ("ben", 5)]
    with pytest.raises(Exception, match="CHECK"):
        sql.transaction(
            [
                ("INSERT INTO orders VALUES (13, 2, 7)", ()),
                ("INSERT INTO orders VALUES (14, 2, 0)", ()),
            ]
        )
    assert sql.run("SELECT COUNT(*) FROM orders") == [(3,)]


def test_dynamodb_reads_by_key_refuses_a_join_and_a_big_item() -> None:
    kv = engines.KeyValueEngine()
    kv.create_table("orders", "customer", "order")
    kv.put("orders", {"customer": "ana", "order": "2026-01#1", "total": 3})
    kv.put("orders", {"customer": "ana", "order": "2026-02#2", "total": 4})
    kv.put("orders", {"customer": "ben", "order": "2026-01#3", "total": 5})
    assert [i["total"] for i in kv.query("orders", "ana")] == [3, 4]
    assert [i["total"] for i in kv.query("orders", "ana", "2026-02")] == [4]
    with pytest.raises(engines.EngineRefused, match="there is no join"):
        kv.join("orders", "customers", on="customer")
    with pytest.raises(engines.EngineRefused, match="maximum allowed size"):
        kv.put("orders", {"customer": "cai", "order": "x", "blob": "x" * 500_000})


def test_documentdb_queries_nested_fields_with_the_mongodb_api() -> None:
    db = engines.document_store()
    db.products.insert_many(
        [
            {"sku": "tee", "variants": [{"size": "M", "color": "red"}, {"size": "L"}]},
            {"sku": "cap", "variants": [{"size": "M", "color": "blue"}]},
        ]
    )
    found = db.products.find({"variants": {"$elemMatch": {"size": "M", "color": "red"}}})
    assert [d["sku"] for d in found] == ["tee"]
    assert engines.document_size_ok({"a": "x" * 1000})
    limit = int(facts.value("dbchoice.documentdb_document_size_max")) * 1024 * 1024
    assert not engines.document_size_ok({"a": "x" * limit})


def test_a_graph_traversal_counts_friends_of_friends_once() -> None:
    g = engines.GraphEngine()
    for a, b in [("ana", "ben"), ("ana", "cai"), ("ben", "dan"), ("cai", "dan"), ("dan", "eve")]:
        g.add_edge(a, "follows", b)
    g.add_vertex("eve", likes="boots")
    assert g.V("ana").out("follows").out("follows").dedup().to_list() == ["dan"]
    assert g.V("ana").out("follows").out("follows").count() == 2  # two paths, before dedup
    assert sorted(g.V("ana").repeat_out("follows", 3).to_list()) == ["ben", "cai", "dan", "eve"]
    assert g.V("ana").repeat_out("follows", 3).has("likes", "boots").to_list() == ["eve"]
    assert g.V("dan").in_("follows").to_list() == ["ben", "cai"]


CREATE = (
    "CREATE TABLE metrics.readings (device text, day text, at int, value double, "
    "PRIMARY KEY ((device, day), at))"
)


def _cql() -> engines.CqlEngine:
    cql = engines.CqlEngine()
    cql.execute(CREATE)
    for device, at, value in [("d1", 1, 0.5), ("d1", 2, 0.7), ("d2", 1, 9.0)]:
        cql.execute(
            f"INSERT INTO metrics.readings (device, day, at, value) "
            f"VALUES ('{device}', '2026-12-07', {at}, {value})"
        )
    return cql


def test_cql_serves_a_query_that_names_the_whole_partition_key() -> None:
    rows = _cql().execute(
        "SELECT at, value FROM metrics.readings WHERE device = 'd1' AND day = '2026-12-07' "
        "AND at >= 2"
    )
    assert rows == [{"at": 2, "value": 0.7}]


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("value > 1", "ALLOW FILTERING"),
        ("device = 'd1'", "day must be restricted"),
        ("at = 1", "ALLOW FILTERING"),
        ("device = 'd1' AND day = '2026-12-07' AND value > 0.6", "ALLOW FILTERING"),
        ("device > 'd1' AND day = '2026-12-07'", "Only EQ and IN"),
    ],
)
def test_cql_refuses_what_cassandra_refuses(where: str, message: str) -> None:
    with pytest.raises(engines.CqlInvalidRequest, match=message):
        _cql().execute(f"SELECT * FROM metrics.readings WHERE {where}")


def test_cql_allow_filtering_scans_every_partition() -> None:
    rows = _cql().execute("SELECT device FROM metrics.readings WHERE value > 1 ALLOW FILTERING")
    assert rows == [{"device": "d2"}]


def test_time_series_bins_a_range() -> None:
    ts = engines.TimeSeriesEngine()
    for at, value in [(0, 1.0), (30, 3.0), (60, 10.0), (130, 5.0)]:
        ts.write("cpu", value, at, host="a")
    ts.write("cpu", 99.0, 10, host="b")
    assert ts.binned("cpu", 0, 120, 60, host="a") == [(0, 2.0), (60, 10.0)]
    assert ts.binned("cpu", 0, 200, 60, "max") == [(0, 99.0), (60, 10.0), (120, 5.0)]


def test_search_finds_a_document_only_after_the_refresh() -> None:
    interval = facts.value("dbchoice.opensearch_refresh_interval")
    search = engines.SearchEngine()
    search.index("p1", "Waterproof hiking boots, waterproof leather", now=0.0)
    search.refresh(0.0)
    search.index("p2", "Hiking socks", now=0.2)
    assert search.search("hiking", now=0.5) == ["p1"]  # p2 is not searchable yet
    assert search.search("waterproof hiking", now=0.5 + interval) == ["p1", "p2"]


def test_a_sorted_set_leaderboard_in_redis() -> None:
    board = engines.leaderboard_store()
    board.zadd("scores", {"ana": 120, "ben": 300, "cai": 200})
    board.zincrby("scores", 150, "ana")
    assert board.zrevrange("scores", 0, 1) == ["ben", "ana"]
    assert board.zrevrank("scores", "cai") == 2


# -- models and workloads ---------------------------------------------------------------------
GOOD = {
    "orders": "aurora",
    "sales_analytics": "redshift",
    "social_graph": "neptune",
    "leaderboard": "elasticache",
    "sensor_metrics": "timestream",
    "product_catalog": "documentdb",
    "product_search": "opensearch",
    "user_uploads": "s3",
    "audit_archive": "S3 Glacier Deep Archive",
    "payments_ledger": "Aurora PostgreSQL",
}
OTHER_GOOD: dict[str, Any] = {
    "orders": "Amazon RDS",
    "sales_analytics": "athena",
    "leaderboard": {"service": "redis"},
    "product_catalog": ("rds", {"reads_from": "primary"}),
    "audit_archive": ("s3", {"storage_class": "GLACIER"}),
    "payments_ledger": {"service": "dynamodb", "consistent_reads": True},
}


@pytest.mark.parametrize("assignment", [GOOD, {**GOOD, **OTHER_GOOD}])
def test_every_workload_works_on_a_fitting_service(assignment: dict[str, Any]) -> None:
    verdicts = evaluate(WORKLOADS, assignment)
    assert [v.broke for v in verdicts if not v.ok] == []


@pytest.mark.parametrize(
    ("workload", "service", "broke"),
    [
        ("orders", "dynamodb", "DynamoDB has no join"),
        ("orders", ("rds", {"reads_from": "replica"}), "returned the old data"),
        ("sales_analytics", "rds", "analytics_scan (ad-hoc"),
        ("social_graph", "aurora", "graph_traversal (people within 3 hops"),
        ("social_graph", "dynamodb", "graph_traversal"),
        ("leaderboard", "dynamodb", "rank (the top 10"),
        ("leaderboard", "rds", "writes/s at peak"),
        ("sensor_metrics", "keyspaces", "ALLOW FILTERING"),
        ("sensor_metrics", "redshift", "not built for many small reads and writes"),
        ("product_catalog", "dynamodb", "secondary index per attribute"),
        ("product_catalog", "opensearch", "next refresh"),
        ("user_uploads", "dynamodb", "over Amazon DynamoDB's limit"),
        ("user_uploads", "rds", "largest database"),
        ("audit_archive", "s3", "over the budget"),
        ("payments_ledger", "qldb", "end of support"),
        ("payments_ledger", "elasticache", "system of record"),
    ],
)
def test_a_poor_choice_breaks_and_says_why(workload: str, service: Any, broke: str) -> None:
    (verdict,) = evaluate({workload: WORKLOADS[workload]}, {workload: service})
    assert not verdict.ok
    assert any(broke in line for line in verdict.broke), verdict.broke


def test_qldb_names_what_aws_recommends_instead() -> None:
    (verdict,) = evaluate(
        {"payments_ledger": WORKLOADS["payments_ledger"]}, {"payments_ledger": "qldb"}
    )
    assert str(facts.value("qldb.end_of_support")) in verdict.broke[0]
    assert str(facts.value("dbchoice.qldb_recommendation")) in verdict.broke[0]


def test_unknown_services_and_options_are_clear_errors() -> None:
    with pytest.raises(UnknownServiceError, match="'mongo atlas' is not one of"):
        parse_choice("mongo atlas")
    with pytest.raises(BadConfigurationError, match="has no option 'dax'"):
        parse_choice(("aurora", {"dax": True}))
    with pytest.raises(BadConfigurationError, match="one of 'primary', 'replica'"):
        parse_choice({"service": "rds", "reads_from": "standby"})
    with pytest.raises(BadConfigurationError, match="names no service"):
        parse_choice({"consistent_reads": True})


def test_every_model_cites_facts_that_exist() -> None:
    for model in catalog().values():
        for fact_id in model.fact_ids:
            assert facts.fact(fact_id).source.startswith("https://")


def test_the_report_has_html_and_text_forms_that_say_it_in_words() -> None:
    verdicts = evaluate(WORKLOADS, {**GOOD, "orders": "dynamodb"})
    html, text = report_html(verdicts), report_text(verdicts)
    assert "labkit-dbchoice" in html and "✗ broke" in html and "✓ works" in html
    assert "9 of 10 workloads work" in text and "DynamoDB has no join" in text
    assert str(Report(verdicts)) == text and Report(verdicts)._repr_html_() == html
    # Jupyter keeps both forms: the text is what nbconvert to text and a screen reader get.
    assert Report(verdicts)._repr_mimebundle_() == {"text/html": html, "text/plain": text}
    assert Report(verdicts).verdicts == verdicts
