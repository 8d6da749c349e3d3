"""DMS table mappings and target formats as plain Python (no database): fast and exhaustive."""

from __future__ import annotations

import json
from typing import Any

import pytest

from labkit.services.dms import sim_formats
from labkit.services.dms.sim_mappings import MappingError, Mappings


def rules(*items: dict[str, Any]) -> str:
    return json.dumps({"rules": list(items)})


def select(rule_id: int, schema: str, table: str, action: str = "include") -> dict[str, Any]:
    return {
        "rule-type": "selection",
        "rule-id": str(rule_id),
        "rule-name": str(rule_id),
        "object-locator": {"schema-name": schema, "table-name": table},
        "rule-action": action,
    }


def transform(rule_id: int, target: str, action: str, value: str = "", **locator: str) -> Any:
    names = {"schema": "schema-name", "table": "table-name", "column": "column-name"}
    return {
        "rule-type": "transformation",
        "rule-id": str(rule_id),
        "rule-name": str(rule_id),
        "rule-target": target,
        "object-locator": {names[k]: v for k, v in locator.items()},
        "rule-action": action,
        "value": value,
    }


def test_exclude_wins_over_include_and_percent_is_a_wildcard() -> None:
    mappings = Mappings.parse(rules(select(1, "sales", "%"), select(2, "sales", "tmp%", "exclude")))
    assert mappings.selected("sales", "orders")
    assert not mappings.selected("sales", "tmp_orders")
    assert not mappings.selected("hr", "orders")  # no include rule covers it
    assert mappings.selected("sales", "order_tmp")  # % is any run of characters, here none


def test_transformations_apply_in_rule_id_order() -> None:
    mappings = Mappings.parse(
        rules(
            select(1, "%", "%"),
            transform(3, "table", "convert-uppercase", schema="sales", table="%"),
            transform(2, "table", "add-prefix", "old_", schema="sales", table="orders"),
            transform(4, "column", "remove-prefix", "c_", schema="%", table="%", column="c_%"),
            transform(5, "schema", "rename", "dw", schema="sales"),
        )
    )
    plan = mappings.plan("sales", "orders", ["id", "c_name", "c_city"], ["id"])
    assert plan is not None
    assert (plan.target_schema, plan.target_table) == ("dw", "OLD_ORDERS")
    assert plan.target_columns == ["id", "name", "city"]
    assert plan.project({"id": 1, "c_name": "a", "c_city": "b"}) == {
        "id": 1,
        "name": "a",
        "city": "b",
    }


def test_remove_column_drops_it_from_rows_and_keeps_the_key() -> None:
    remove = transform(2, "column", "remove-column", schema="s", table="t", column="secret")
    plan = Mappings.parse(rules(select(1, "s", "t"), remove)).plan(
        "s", "t", ["id", "secret"], ["id"]
    )
    assert plan is not None
    assert (plan.target_columns, plan.target_key) == (["id"], ["id"])
    assert plan.project({"id": 1, "secret": "pw"}) == {"id": 1}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"rule": []}), '"rules" list'),
        (rules(transform(1, "schema", "rename", "x", schema="s")), "at least one selection"),
        (rules(select(1, "s", "t", "keep")), "include, exclude or explicit"),
        (
            rules(
                select(1, "s", "t"), transform(2, "table", "add-column", "x", schema="s", table="t")
            ),
            "not simulated",
        ),
        (
            rules(select(1, "s", "t"), transform(2, "table", "rename", schema="s", table="t")),
            "needs a value",
        ),
        (
            rules(
                select(1, "s", "t"), transform(2, "table", "remove-column", schema="s", table="t")
            ),
            "rule-target column",
        ),
    ],
)
def test_mappings_aws_refuses(raw: str, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        Mappings.parse(raw)


def test_s3_names_and_kinesis_partition_keys() -> None:
    assert sim_formats.s3_prefix("/raw/", "public", "orders") == "raw/public/orders/"
    assert sim_formats.s3_prefix("", "public", "orders") == "public/orders/"
    # 2026-01-05 09:01:00.5 UTC: yyyymmdd-hhmmss and four digits of the second's fraction.
    assert sim_formats.cdc_file_name(1767603660.5) == "20260105-0901005000"
    key, record = sim_formats.kinesis_record(
        data={"id": 7, "item": "x"},
        operation="update",
        schema="public",
        table="orders",
        key=["id"],
        at=1767603660.0,
        include_schema_table=True,
    )
    assert key == "public.orders.7"
    assert json.loads(record)["metadata"]["operation"] == "update"
    assert sim_formats.csv_bytes(["a", "b"], [[None, True], ["x,y", 1]]) == b',true\n"x,y",1\n'
    assert sim_formats.dynamodb_item({"id": 1, "n": None, "ok": False, "f": 1.5}) == {
        "id": {"N": "1"},
        "ok": {"BOOL": False},
        "f": {"N": "1.5"},
    }
