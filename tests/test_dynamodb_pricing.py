"""DynamoDB table classes: the cost calculator and TableClass on CreateTable/UpdateTable."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError

from labkit import facts
from labkit.services.dynamodb.sim_pricing import (
    HOURS_PER_MONTH,
    STANDARD,
    STANDARD_IA,
    Prices,
    PricingError,
    break_even_storage_gb,
    compare,
    monthly_cost,
)

if TYPE_CHECKING:
    from labkit.lab import Lab


def test_standard_ia_stores_for_less_and_serves_for_more() -> None:
    s, ia = Prices.of(STANDARD), Prices.of(STANDARD_IA)
    assert ia.storage_gb_month < s.storage_gb_month
    assert ia.write_request_million == pytest.approx(1.25 * s.write_request_million)
    assert ia.read_request_million == pytest.approx(1.25 * s.read_request_million)
    assert ia.wcu_hour > s.wcu_hour and ia.rcu_hour > s.rcu_hour


def test_on_demand_bill_adds_storage_writes_and_reads() -> None:
    cost = monthly_cost(STANDARD, storage_gb=100, write_units=10_000_000, read_units=50_000_000)
    v = facts.value
    assert cost.mode == "on-demand"
    assert cost.storage_cost == pytest.approx(100 * v("dynamodb.price_storage_gb_month_standard"))
    assert cost.write_cost == pytest.approx(10 * v("dynamodb.price_write_request_million_standard"))
    assert cost.read_cost == pytest.approx(50 * v("dynamodb.price_read_request_million_standard"))
    assert cost.total == pytest.approx(cost.storage_cost + cost.write_cost + cost.read_cost)


def test_provisioned_bill_counts_unit_hours() -> None:
    cost = monthly_cost(STANDARD_IA, storage_gb=10, wcu=100, rcu=500)
    v = facts.value
    assert cost.mode == "provisioned"
    hours = HOURS_PER_MONTH
    assert cost.write_cost == pytest.approx(100 * hours * v("dynamodb.price_wcu_hour_standard_ia"))
    assert cost.read_cost == pytest.approx(500 * hours * v("dynamodb.price_rcu_hour_standard_ia"))


def test_the_cheaper_class_follows_what_dominates_the_bill() -> None:
    # An archive: a terabyte kept, rarely read.
    archive = compare(storage_gb=1000, write_units=1_000_000, read_units=2_000_000)
    assert archive.cheaper.table_class == STANDARD_IA
    # A hot table: a gigabyte, written and read all day.
    hot = compare(storage_gb=1, write_units=500_000_000, read_units=2_000_000_000)
    assert hot.cheaper.table_class == STANDARD
    assert "cheaper: STANDARD" in hot.text()


def test_break_even_matches_the_two_bills() -> None:
    writes, reads = 50_000_000, 200_000_000
    base = compare(storage_gb=0, write_units=writes, read_units=reads)
    gb = break_even_storage_gb(base.standard.throughput_cost, base.infrequent.throughput_cost)
    below = compare(storage_gb=gb * 0.9, write_units=writes, read_units=reads)
    above = compare(storage_gb=gb * 1.1, write_units=writes, read_units=reads)
    assert below.cheaper.table_class == STANDARD
    assert above.cheaper.table_class == STANDARD_IA


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"storage_gb": -1}, "negative"),
        ({"storage_gb": 1, "write_units": 5, "wcu": 5}, "not both"),
    ],
)
def test_bad_workloads_are_refused_with_a_reason(kwargs: dict[str, float], words: str) -> None:
    with pytest.raises(PricingError, match=words):
        monthly_cost(STANDARD, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(PricingError, match="Unknown table class"):
        Prices.of("GLACIER")


def test_table_class_is_kept_on_create_and_update(lab: Lab) -> None:
    ddb = lab.client("dynamodb")
    created = ddb.create_table(
        TableName="archive",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        TableClass=STANDARD_IA,
    )["TableDescription"]
    assert created["TableClassSummary"]["TableClass"] == STANDARD_IA
    lab.clock.advance(60)
    updated = ddb.update_table(TableName="archive", TableClass=STANDARD)["TableDescription"]
    assert updated["TableClassSummary"]["TableClass"] == STANDARD
    assert updated["TableClassSummary"]["LastUpdateDateTime"] == lab.clock.now
    described = ddb.describe_table(TableName="archive")["Table"]
    assert described["TableClassSummary"]["TableClass"] == STANDARD
    with pytest.raises(ClientError) as caught:
        ddb.update_table(TableName="archive", TableClass="GLACIER")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
