"""The edge lab's plain simulators: the shop and its visitors, the cost model, the lab's cases."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import pytest

import labkit.facts
from labkit.clock import Clock
from labkit.errors import LabkitError
from labkit.labs import edge as edge_lab
from labkit.services.edge import sim_costs as edge_costs
from labkit.services.edge import sim_traces as edge_traces
from labkit.services.edge.sim_traces import BrowseReport, Fetched, Visit, VisitResult


# -- the shop -----------------------------------------------------------------------------------
def test_a_build_marks_every_file_and_pages_name_their_assets() -> None:
    build = edge_traces.site_build(7)
    assert set(build) == {
        "index.html",
        "products.html",
        "assets/site.css",
        "assets/app.js",
        "assets/logo.svg",
        "assets/hero.jpg",
        "assets/products.jpg",
    }
    assert {edge_traces.build_of(f.body) for f in build.values()} == {"7"}
    assert build["index.html"].content_type == "text/html"
    assert build["assets/app.js"].content_type == "application/javascript"
    assert edge_traces.linked_paths(build["index.html"].body) == list(
        edge_traces.PAGE_ASSETS["/index.html"]
    )


def test_a_build_version_must_be_a_plain_word() -> None:
    with pytest.raises(edge_traces.TraceError):
        edge_traces.site_build("2 beta")


def test_linked_paths_keep_site_paths_with_their_query_in_order() -> None:
    html = (
        '<a href="https://x.org/a">x</a><img src="/b.png"><link href="/c.css?v=1"><b src="/b.png">'
    )
    assert edge_traces.linked_paths(html) == ["/b.png", "/c.css?v=1"]


# -- visitors ------------------------------------------------------------------------------------
def test_visits_are_seeded_sorted_and_within_the_duration() -> None:
    first = edge_traces.visits(["London", "Tokyo"], duration=600, seed=1)
    again = edge_traces.visits(["London", "Tokyo"], duration=600, seed=1)
    other = edge_traces.visits(["London", "Tokyo"], duration=600, seed=2)
    assert first == again and first != other
    assert [v.at for v in first] == sorted(v.at for v in first)
    assert all(0 <= v.at < 600 for v in first)
    # About one visit per city every 10 s on average.
    assert 80 <= len(first) <= 160


def test_a_share_of_visits_carries_a_newsletter_query_string() -> None:
    plan = edge_traces.visits(["London"], duration=20_000, seed=3, tagged_share=0.3)
    tagged = [v for v in plan if "?ref=mail-" in v.page]
    assert 0.25 < len(tagged) / len(plan) < 0.35
    assert len({v.page for v in tagged}) > 0.9 * len(tagged)  # each link its own query


def test_visits_refuse_settings_that_cannot_play() -> None:
    with pytest.raises(edge_traces.TraceError):
        edge_traces.visits([], duration=10)
    with pytest.raises(edge_traces.TraceError):
        edge_traces.visits(["London"], duration=10, mean_gap=0)
    with pytest.raises(edge_traces.TraceError):
        edge_traces.visits(["London"], duration=10, tagged_share=1.5)


@dataclass
class FakeAnswer:
    status: int
    body: bytes
    cache: str
    latency_ms: float = 10.0
    served_by: str = "LHR61-P1"


def test_browse_fetches_each_page_and_its_assets_on_the_clock() -> None:
    build = edge_traces.site_build(1)
    clock = Clock()
    seen: list[tuple[float, str, str]] = []

    def fetch(url: str, city: str) -> FakeAnswer:
        seen.append((clock.elapsed.total_seconds(), url, city))
        key = url.split("https://site", 1)[1].lstrip("/").split("?")[0]
        return FakeAnswer(200, build[key].body.encode(), "Hit" if len(seen) > 5 else "Miss")

    plan = [Visit(30.0, "London", "/index.html?ref=mail-1"), Visit(10.0, "Tokyo", "/products.html")]
    report = edge_traces.browse(plan, "https://site/", fetch, clock)
    assert [t for t, _, _ in seen] == [10.0] * 5 + [30.0] * 5
    assert seen[0][1:] == ("https://site/products.html", "Tokyo")
    assert seen[5][1] == "https://site/index.html?ref=mail-1"
    assert [r.visit.viewer for r in report.results] == ["Tokyo", "London"]
    assert report.hit_ratio() == pytest.approx(0.5)
    assert report.verdicts() == {"Miss": 5, "Hit": 5}
    assert report.failed() == [] and report.stale("1", 0) == []


def test_browse_records_a_connection_error_as_no_answer() -> None:
    def fetch(url: str, city: str) -> FakeAnswer:
        raise LabkitError("nothing answers")

    report = edge_traces.browse([Visit(0.0, "Paris", "/index.html")], "https://x", fetch, Clock())
    (result,) = report.results
    assert result.files[0].status == 0 and not result.ok
    assert report.failed() == [result]


def _fetched(at: float, cache: str, build: str | None) -> Fetched:
    return Fetched(at, "London", "/a", 200, cache, build, 10.0, "LHR61-P1")


def test_a_refresh_hit_is_not_a_hit_and_stale_visits_are_found() -> None:
    report = BrowseReport(
        [
            VisitResult(Visit(0, "London", "/a"), (_fetched(0, "Miss", "1"),)),
            VisitResult(Visit(50, "London", "/a"), (_fetched(50, "RefreshHit", "1"),)),
            VisitResult(Visit(70, "London", "/a"), (_fetched(70, "Hit", "1"),)),
            VisitResult(Visit(130, "London", "/a"), (_fetched(130, "Hit", "2"),)),
        ]
    )
    assert report.hit_ratio() == pytest.approx(0.5)
    assert [r.visit.at for r in report.stale("2", since=60)] == [70]
    assert report.hit_ratio_over_time(60) == [(0, 0.0), (60, 1.0), (120, 1.0)]
    with pytest.raises(edge_traces.TraceError):
        report.hit_ratio_over_time(0)


# -- costs -----------------------------------------------------------------------------------------
def test_the_costs_read_the_fact_table(monkeypatch: pytest.MonkeyPatch) -> None:
    fact_id = "s3.transfer_out_internet_price"
    real = dict(labkit.facts.table())
    real[fact_id] = labkit.facts.Fact(
        fact_id, 0.5, "usd_per_gb", "from the table", "https://x", "now"
    )
    monkeypatch.setattr(labkit.facts, "table", lambda: MappingProxyType(real))
    bill = edge_costs.replication_bill({"London": 10}, ["us-east-1"], stored_gb=0, written_gb=0)
    assert bill.total == pytest.approx(10 * 0.5)


def test_every_price_the_costs_read_is_in_the_table_with_an_aws_page() -> None:
    read = [
        *edge_costs.PRICE_FACT_OF_REGION.values(),
        "cloudfront.origin_fetch_price_aws_origin",
        "s3.storage_price_standard",
        "s3.inter_region_transfer_price",
        "s3.transfer_out_internet_price",
        "global_accelerator.fixed_fee_per_hour",
    ]
    table = labkit.facts.table()
    for fact_id in read:
        assert fact_id in table, fact_id
        assert table[fact_id].source.startswith("https://aws.amazon.com/"), fact_id
        assert "pending" not in table[fact_id].title, fact_id
    for region, fact_id in edge_costs.PRICE_FACT_OF_REGION.items():
        assert labkit.facts.value(fact_id) > 0, region
    assert labkit.facts.value("cloudfront.origin_fetch_price_aws_origin") == 0


def test_cloudfront_bills_each_gb_at_the_price_of_the_edge_that_served_it() -> None:
    us = labkit.facts.value("cloudfront.transfer_out_price_north_america")
    japan = labkit.facts.value("cloudfront.transfer_out_price_japan")
    everywhere = edge_costs.cloudfront_bill({"Tokyo": 100, "New York": 100}, "PriceClass_All")
    assert everywhere.total == pytest.approx(100 * japan + 100 * us)
    # Under PriceClass_100, Tokyo is served (slower) from a North American edge: billed there.
    narrow = edge_costs.cloudfront_bill({"Tokyo": 100, "New York": 100}, "PriceClass_100")
    assert narrow.total == pytest.approx(200 * us)
    assert "total" in narrow.text()


def test_replication_pays_storage_per_copy_transfer_per_replica_and_egress() -> None:
    bill = edge_costs.replication_bill(
        {"London": 10, "Tokyo": 30},
        ["us-east-1", "eu-west-1", "ap-northeast-1"],
        stored_gb=5,
        written_gb=2,
    )
    storage = labkit.facts.value("s3.storage_price_standard")
    cross = labkit.facts.value("s3.inter_region_transfer_price")
    out = labkit.facts.value("s3.transfer_out_internet_price")
    assert bill.total == pytest.approx(3 * 5 * storage + 2 * 2 * cross + 40 * out)
    assert edge_costs.nearest_copy("Paris", ["us-east-1", "eu-west-1"]) == "eu-west-1"


# -- the lab's cases ----------------------------------------------------------------------------
def test_the_price_class_cases_cover_every_answer() -> None:
    answers = [
        edge_lab.cheapest_class(audience, target) for audience, target in edge_lab.PRICE_CASES
    ]
    assert answers == ["PriceClass_100", "PriceClass_200", "PriceClass_All", "PriceClass_100", None]


def test_the_failover_limit_allows_the_fast_settings_only() -> None:
    # interval x threshold is the worst-case detection time the check measures.
    assert 10 * 3 <= edge_lab.FAILOVER_LIMIT < 30 * 3
    assert edge_lab.STALE_LIMIT >= 2 * 5  # room for an invalidation to propagate
