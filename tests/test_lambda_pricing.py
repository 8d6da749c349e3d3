"""The Lambda price calculator: requests plus GB-seconds, with the prices of the fact table."""

from __future__ import annotations

from types import MappingProxyType

import pytest

import labkit.facts as facts_module
from labkit.facts import Fact, value
from labkit.services.awslambda.sim_pricing import (
    LambdaCost,
    PricingError,
    cost_table,
    cpu_bound_duration,
    gb_seconds,
    price,
)


def test_aws_pricing_page_example_one_before_the_free_tier() -> None:
    # https://aws.amazon.com/lambda/pricing/ example 1: 512 MB, 3 million invocations of 1 s:
    # 3,000,000 s * 512 MB / 1024 = 1,500,000 GB-s. The page then subtracts the free tier,
    # which the calculator leaves out (it is not in the fact table).
    cost = price(3_000_000, 1000, 512)
    assert cost.gb_seconds == pytest.approx(1_500_000)
    assert cost.request_cost == pytest.approx(3 * value("lambda.price_per_million_requests"))
    assert cost.compute_cost == pytest.approx(1_500_000 * value("lambda.price_per_gb_second_x86"))
    assert cost.total == pytest.approx(cost.request_cost + cost.compute_cost)


def test_gb_seconds_use_binary_gigabytes() -> None:
    assert gb_seconds(1, 1000, 1024) == 1.0
    assert gb_seconds(8, 500, 128) == pytest.approx(0.5)
    assert gb_seconds(0, 1000, 1024) == 0.0


def test_prices_come_from_the_fact_table(monkeypatch: pytest.MonkeyPatch) -> None:
    table = dict(facts_module.table())
    for fact_id, new in (
        ("lambda.price_per_million_requests", 1.0),
        ("lambda.price_per_gb_second_x86", 0.5),
    ):
        old = table[fact_id]
        table[fact_id] = Fact(fact_id, new, old.unit, old.title, old.source, old.as_of)
    frozen = MappingProxyType(table)
    monkeypatch.setattr(facts_module, "table", lambda: frozen)
    cost = price(2_000_000, 1000, 2048)
    assert cost.request_cost == pytest.approx(2.0)
    assert cost.compute_cost == pytest.approx(2_000_000 * 2 * 0.5)


def test_a_cpu_bound_function_costs_the_same_at_any_memory_in_the_model() -> None:
    low = int(value("lambda.memory_min"))
    costs = [price(1_000_000, cpu_bound_duration(800, low, m), m) for m in (low, 1024, 4096)]
    assert [c.duration_ms for c in costs] == pytest.approx([800, 100, 25])
    assert len({round(c.total, 9) for c in costs}) == 1
    io_costs = cost_table(1_000_000, [200, 200], [low, 4 * low])
    assert io_costs[1].compute_cost == pytest.approx(4 * io_costs[0].compute_cost)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((-1, 100, 128), "requests"),
        ((1, -5, 128), "duration_ms"),
        ((1, 100, int(value("lambda.memory_min")) - 1), "between"),
        ((1, 100, int(value("lambda.memory_max")) + 1), "between"),
        ((1, value("lambda.timeout_max") * 1000 + 1, 128), "maximum timeout"),
    ],
)
def test_impossible_workloads_are_refused(args: tuple[int, float, int], says: str) -> None:
    with pytest.raises(PricingError, match=says):
        price(*args)


def test_the_bill_reads_as_text() -> None:
    text = str(price(3_000_000, 120, 512))
    assert text.splitlines()[0] == "3,000,000 requests x 120 ms at 512 MB"
    assert "180,000.0 GB-s" in text and "total:" in text
    assert isinstance(price(1, 1, 128), LambdaCost)
