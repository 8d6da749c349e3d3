"""Lake Formation data cells filters: the API, the PartiQL subset, and Athena applying them,
tried as the filtered analyst, a column-only analyst and an outsider with no grant."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from labkit.lab import Lab
from labkit.services.lakeformation.sim_rowfilter import RowFilterError, compile_filter

ORDERS = [
    {"order_id": 1, "customer": "ana", "country": "FR", "amount": 10.5, "day": "d1"},
    {"order_id": 2, "customer": "bo", "country": "DE", "amount": 20.0, "day": "d1"},
    {"order_id": 3, "customer": "cy", "country": "FR", "amount": 7.0, "day": "d2"},
    {"order_id": 4, "customer": "di", "country": "fr", "amount": 1.0, "day": "d2"},
]
COLUMNS = {"order_id": "int", "customer": "string", "country": "string", "amount": "double"}
TYPES = {**COLUMNS, "day": "string", "address": "struct<city:string>", "at": "timestamp"}


def _setup(lab: Lab) -> str:
    """The lake (orders, partitioned by day, registered with Lake Formation); the account id."""
    s3 = lab.client("s3")
    glue = lab.client("glue")
    s3.create_bucket(Bucket="lake")
    s3.create_bucket(Bucket="results")
    for day in ("d1", "d2"):
        lines = [
            json.dumps({k: v for k, v in o.items() if k != "day"})
            for o in ORDERS
            if o["day"] == day
        ]
        s3.put_object(Bucket="lake", Key=f"orders/day={day}/o.json", Body="\n".join(lines))
    glue.create_database(DatabaseInput={"Name": "shop"})
    glue.create_table(
        DatabaseName="shop",
        TableInput={
            "Name": "orders",
            "StorageDescriptor": {
                "Columns": [{"Name": k, "Type": v} for k, v in COLUMNS.items()],
                "Location": "s3://lake/orders/",
            },
            "PartitionKeys": [{"Name": "day", "Type": "string"}],
            "Parameters": {"classification": "json"},
        },
    )
    for day in ("d1", "d2"):
        glue.create_partition(
            DatabaseName="shop", TableName="orders", PartitionInput={"Values": [day]}
        )
    lab.client("lakeformation").register_resource(
        ResourceArn="arn:aws:s3:::lake/orders", UseServiceLinkedRole=True
    )
    return str(lab.client("sts").get_caller_identity()["Account"])


def _user(lab: Lab, name: str) -> tuple[Any, str]:
    """An Athena client signed as a new IAM user, and the user's ARN."""
    iam = lab.client("iam")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    client = lab.client(
        "athena",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    return client, str(arn)


def _query(lab: Lab, athena: Any, sql: str) -> dict[str, Any]:
    qid = athena.start_query_execution(
        QueryString=sql,
        QueryExecutionContext={"Database": "shop"},
        ResultConfiguration={"OutputLocation": "s3://results/"},
    )["QueryExecutionId"]
    lab.clock.advance(10)
    execution: dict[str, Any] = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
    if execution["Status"]["State"] == "SUCCEEDED":
        rows = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
        execution["rows"] = [[d.get("VarCharValue") for d in r["Data"]] for r in rows]
    return execution


def _filter(account: str, name: str, **spec: Any) -> dict[str, Any]:
    return {
        "TableCatalogId": account,
        "DatabaseName": "shop",
        "TableName": "orders",
        "Name": name,
        **spec,
    }


def _grant_filter(lab: Lab, account: str, who: str, name: str) -> None:
    lab.client("lakeformation").grant_permissions(
        Principal={"DataLakePrincipalIdentifier": who},
        Resource={
            "DataCellsFilter": {
                "TableCatalogId": account,
                "DatabaseName": "shop",
                "TableName": "orders",
                "Name": name,
            }
        },
        Permissions=["SELECT"],
    )


def test_a_row_filter_shows_its_rows_and_columns_only(lab: Lab) -> None:
    account = _setup(lab)
    lf = lab.client("lakeformation")
    france, france_arn = _user(lab, "france")
    columns_only, columns_arn = _user(lab, "auditor")
    outsider, _ = _user(lab, "outsider")
    lf.create_data_cells_filter(
        TableData=_filter(
            account,
            "france",
            RowFilter={"FilterExpression": "country = 'FR'"},
            ColumnWildcard={"ExcludedColumnNames": ["amount"]},
        )
    )
    lf.create_data_cells_filter(
        TableData=_filter(
            account,
            "ids",
            RowFilter={"AllRowsWildcard": {}},
            ColumnNames=["order_id", "day"],
        )
    )
    # A filter may select rows by a column it does not show.
    lf.create_data_cells_filter(
        TableData=_filter(
            account,
            "big-orders",
            RowFilter={"FilterExpression": "amount >= 10"},
            ColumnNames=["order_id"],
        )
    )
    big, big_arn = _user(lab, "big")
    _grant_filter(lab, account, france_arn, "france")
    _grant_filter(lab, account, columns_arn, "ids")
    _grant_filter(lab, account, big_arn, "big-orders")
    big_orders = _query(lab, big, "SELECT * FROM orders ORDER BY order_id")
    assert big_orders["rows"] == [["order_id"], ["1"], ["2"]]

    seen = _query(lab, france, "SELECT * FROM orders ORDER BY order_id")
    # 'fr' is not 'FR': string comparisons in row filters are case-sensitive.
    assert seen["rows"] == [
        ["order_id", "customer", "country", "day"],
        ["1", "ana", "FR", "d1"],
        ["3", "cy", "FR", "d2"],
    ]
    counted = _query(lab, france, "SELECT count(*) AS n FROM orders WHERE country <> 'FR'")
    assert counted["rows"] == [["n"], ["0"]]
    hidden = _query(lab, france, "SELECT sum(amount) FROM orders")
    assert hidden["Status"]["StateChangeReason"].startswith("COLUMN_NOT_FOUND")

    every_row = _query(lab, columns_only, "SELECT * FROM orders ORDER BY order_id")
    assert every_row["rows"] == [
        ["order_id", "day"],
        ["1", "d1"],
        ["2", "d1"],
        ["3", "d2"],
        ["4", "d2"],
    ]

    denied = _query(lab, outsider, "SELECT order_id FROM orders")
    assert denied["Status"]["State"] == "FAILED"
    assert "Insufficient Lake Formation permission" in denied["Status"]["StateChangeReason"]

    # The filter is gone: its grant gives nothing any more.
    lf.delete_data_cells_filter(
        TableCatalogId=account, DatabaseName="shop", TableName="orders", Name="france"
    )
    gone = _query(lab, france, "SELECT order_id FROM orders")
    assert "Insufficient Lake Formation permission" in gone["Status"]["StateChangeReason"]


def test_grants_add_up_cell_by_cell_and_partitions_still_prune(lab: Lab) -> None:
    account = _setup(lab)
    lf = lab.client("lakeformation")
    analyst, arn = _user(lab, "analyst")
    lf.create_data_cells_filter(
        TableData=_filter(
            account,
            "day2-amounts",
            RowFilter={"FilterExpression": "day = 'd2'"},
            ColumnNames=["order_id", "amount"],
        )
    )
    _grant_filter(lab, account, arn, "day2-amounts")
    lf.grant_permissions(
        Principal={"DataLakePrincipalIdentifier": arn},
        Resource={
            "TableWithColumns": {
                "DatabaseName": "shop",
                "Name": "orders",
                "ColumnNames": ["order_id"],
            }
        },
        Permissions=["SELECT"],
    )
    # Every row through the column grant; amount only in the rows of the filter.
    seen = _query(lab, analyst, "SELECT order_id, amount FROM orders ORDER BY order_id")
    assert seen["rows"] == [
        ["order_id", "amount"],
        ["1", None],
        ["2", None],
        ["3", "7.0"],
        ["4", "1.0"],
    ]
    # Holding the filter alone: its row filter on the partition key prunes the other partition.
    day2, day2_arn = _user(lab, "day2")
    _grant_filter(lab, account, day2_arn, "day2-amounts")
    one_day = _query(lab, day2, "SELECT sum(amount) AS s FROM orders")
    both = _query(lab, analyst, "SELECT count(order_id) AS n FROM orders")
    assert one_day["rows"] == [["s"], ["8.0"]]
    assert both["rows"] == [["n"], ["4"]]
    scanned_one = one_day["Statistics"]["DataScannedInBytes"]
    assert 0 < scanned_one < both["Statistics"]["DataScannedInBytes"]


def test_the_filter_api_checks_what_aws_checks(lab: Lab) -> None:
    account = _setup(lab)
    lf = lab.client("lakeformation")
    good = _filter(
        account,
        "fr",
        RowFilter={"FilterExpression": "country IN ('FR', 'BE') AND amount >= 5"},
        ColumnWildcard={"ExcludedColumnNames": []},
    )
    lf.create_data_cells_filter(TableData=good)
    kept = lf.get_data_cells_filter(
        TableCatalogId=account, DatabaseName="shop", TableName="orders", Name="fr"
    )["DataCellsFilter"]
    assert kept["RowFilter"] == good["RowFilter"]
    listed = lf.list_data_cells_filter(Table={"DatabaseName": "shop", "Name": "orders"})
    assert [f["Name"] for f in listed["DataCellsFilters"]] == ["fr"]
    lf.update_data_cells_filter(
        TableData=_filter(
            account, "fr", RowFilter={"AllRowsWildcard": {}}, ColumnNames=["order_id"]
        )
    )
    updated = lf.list_data_cells_filter()["DataCellsFilters"][0]
    assert updated["ColumnNames"] == ["order_id"]

    def refused(data: dict[str, Any]) -> str:
        with pytest.raises(ClientError) as caught:
            lf.create_data_cells_filter(TableData=data)
        return str(caught.value.response["Error"]["Code"])

    assert refused(good) == "AlreadyExistsException"
    assert refused(dict(good, TableName="nope", Name="x")) == "EntityNotFoundException"
    bad_row = dict(good, Name="x", RowFilter={"FilterExpression": "upper(country) = 'FR'"})
    assert refused(bad_row) == "InvalidInputException"
    both = dict(good, Name="x", RowFilter={"FilterExpression": "amount > 1", "AllRowsWildcard": {}})
    assert refused(both) == "InvalidInputException"
    unknown_column = _filter(
        account, "x", RowFilter={"AllRowsWildcard": {}}, ColumnNames=["order_id", "nope"]
    )
    assert refused(unknown_column) == "InvalidInputException"
    granted_to = f"arn:aws:iam::{account}:user/analyst"
    _grant_filter(lab, account, granted_to, "fr")
    listed_grants = lf.list_permissions(
        Resource={
            "DataCellsFilter": {
                "TableCatalogId": account,
                "DatabaseName": "shop",
                "TableName": "orders",
                "Name": "fr",
            }
        }
    )["PrincipalResourcePermissions"]
    assert [
        (g["Principal"]["DataLakePrincipalIdentifier"], g["Permissions"]) for g in listed_grants
    ] == [(granted_to, ["SELECT"])]
    with pytest.raises(ClientError) as missing:
        _grant_filter(lab, account, f"arn:aws:iam::{account}:user/x", "no-such-filter")
    assert missing.value.response["Error"]["Code"] == "EntityNotFoundException"


@pytest.mark.parametrize(
    ("expression", "sql"),
    [
        ("country = 'FR'", "(\"country\" = 'FR')"),
        ("amount != 3", '("amount" <> 3)'),
        ("day > 'd1' and country != 'US'", "((\"day\" > 'd1') AND (\"country\" <> 'US'))"),
        ("(country between 'A' and 'M') or (order_id in (1, 2))", None),
        ("country like '%R' and not amount < 2", None),
        ("customer is not null", '("customer" IS NOT NULL)'),
        ("address.city = 'Lyon'", '("address"."city" = \'Lyon\')'),
    ],
)
def test_the_documented_subset_is_accepted(expression: str, sql: str | None) -> None:
    compiled = compile_filter(expression, TYPES, {"day"})
    if sql is not None:
        assert compiled == sql


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("lower(country) = 'fr'", "Functions are not allowed"),
        ("amount > order_id", "compared with a constant"),
        ("amount = 'ten'", "does not match the column's type"),
        ("day is null", "partition column"),
        ("nope = 1", "not a column of the table"),
        ("at > 3", "do not support"),
        ("country = 'FR' and", "ends too early"),
        ("country ~ 'FR'", "Unsupported character"),
        ("country = 'FR' " + "or country = 'DE' " * 120, "shorter than 2048"),
    ],
)
def test_what_is_outside_the_subset_is_refused(expression: str, reason: str) -> None:
    with pytest.raises(RowFilterError, match=reason):
        compile_filter(expression, TYPES, {"day"})


def test_deregistering_the_location_hands_the_table_back_to_iam(lab: Lab) -> None:
    # The lesson ends its Lake Formation section so: queries under IAM alone read every row.
    account = _setup(lab)
    lf = lab.client("lakeformation")
    france, france_arn = _user(lab, "france")
    outsider, _ = _user(lab, "outsider")
    lf.create_data_cells_filter(
        TableData=_filter(
            account,
            "france",
            RowFilter={"FilterExpression": "country = 'FR'"},
            ColumnWildcard={"ExcludedColumnNames": ["amount"]},
        )
    )
    _grant_filter(lab, account, france_arn, "france")
    governed = _query(lab, outsider, "SELECT count(*) AS n FROM orders")
    assert "Insufficient Lake Formation permission" in governed["Status"]["StateChangeReason"]

    lf.deregister_resource(ResourceArn="arn:aws:s3:::lake/orders")
    every = [["n", "total"], ["4", "38.5"]]
    sql = "SELECT count(*) AS n, sum(amount) AS total FROM orders"
    assert _query(lab, outsider, sql)["rows"] == every
    assert _query(lab, france, sql)["rows"] == every  # its filter no longer narrows anything
    assert _query(lab, lab.client("athena"), sql)["rows"] == every
