r"""Lake Formation column grants as the Athena engine applies them (plain Python, no moto).

Lake Formation governs a table whose S3 location is registered with it
(https://docs.aws.amazon.com/lake-formation/latest/dg/register-data-lake.html); a query of such a
table sees only the columns granted ``SELECT`` (or ``ALL``) to the caller: on the ``Table``
(every column), or on ``TableWithColumns`` by ``ColumnNames`` or by ``ColumnWildcard`` less its
``ExcludedColumnNames``
(https://docs.aws.amazon.com/lake-formation/latest/dg/granting-table-permissions.html).
A table whose location is not registered is left to IAM (every column).

Data cells filters (row and cell-level security) are granted as ``DataCellsFilter`` resources
(the filters themselves are kept by ``labkit.services.lakeformation.patch``, moto 5.2.5 has no
``CreateDataCellsFilter``): a principal granted ``SELECT`` on a filter sees the filter's columns of
the rows its ``RowFilter`` matches (``AllRowsWildcard``: every row)
(https://docs.aws.amazon.com/lake-formation/latest/dg/data-filters-about.html).
:func:`table_access` gathers every grant of the caller on a table as the engine's
:class:`~.sim_engine.CellGrant`\ s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from labkit.services.athena.sim_engine import CellGrant, QueryError, TableDef
from labkit.services.lakeformation.sim_rowfilter import RowFilterError, compile_filter


def governed(location: str, registered: Iterable[str]) -> bool:
    """Whether an ``s3://`` location lies under a resource registered with Lake Formation."""
    path = location.removeprefix("s3://").rstrip("/")
    for arn in registered:
        root = arn.removeprefix("arn:aws:s3:::").rstrip("/")
        if path == root or path.startswith(root + "/"):
            return True
    return False


def granted_columns(
    table: TableDef, principal: str, grants: Iterable[Mapping[str, Any]]
) -> frozenset[str]:
    """The columns (partition keys included) ``principal`` may select of ``table``."""
    every = [c for c, _ in table.columns] + [k for k, _ in table.partition_keys]
    allowed: set[str] = set()
    for grant in grants:
        who = str((grant.get("Principal") or {}).get("DataLakePrincipalIdentifier", ""))
        if who not in (principal, "IAM_ALLOWED_PRINCIPALS"):
            continue
        if not {"SELECT", "ALL"} & set(grant.get("Permissions") or []):
            continue
        resource = grant.get("Resource") or {}
        whole = resource.get("Table")
        if whole is not None:
            if str(whole.get("DatabaseName", "")).lower() == table.database and (
                "TableWildcard" in whole or str(whole.get("Name", "")).lower() == table.name
            ):
                allowed.update(every)
            continue
        some = resource.get("TableWithColumns")
        if some is None:
            continue
        if str(some.get("DatabaseName", "")).lower() != table.database:
            continue
        if str(some.get("Name", "")).lower() != table.name:
            continue
        if "ColumnNames" in some:
            allowed.update(str(c).lower() for c in some["ColumnNames"])
        elif "ColumnWildcard" in some:
            excluded = {
                str(c).lower()
                for c in (some["ColumnWildcard"] or {}).get("ExcludedColumnNames", [])
            }
            allowed.update(c for c in every if c not in excluded)
    return frozenset(c for c in every if c in allowed)


def _holder(grant: Mapping[str, Any], principal: str) -> bool:
    who = str((grant.get("Principal") or {}).get("DataLakePrincipalIdentifier", ""))
    selects = bool({"SELECT", "ALL"} & set(grant.get("Permissions") or []))
    return selects and who in (principal, "IAM_ALLOWED_PRINCIPALS")


def filter_grant(table: TableDef, data: Mapping[str, Any]) -> CellGrant:
    """The share of ``table`` a data cells filter (its ``TableData``) gives."""
    every = [c for c, _ in table.columns] + [k for k, _ in table.partition_keys]
    if "ColumnNames" in data:
        named = {str(c).lower() for c in data.get("ColumnNames") or []}
        columns = frozenset(c for c in every if c in named)
    else:
        excluded = {
            str(c).lower()
            for c in (data.get("ColumnWildcard") or {}).get("ExcludedColumnNames") or []
        }
        columns = frozenset(c for c in every if c not in excluded)
    row = data.get("RowFilter") or {}
    if "FilterExpression" not in row:
        return CellGrant(columns)
    types = dict(table.columns + table.partition_keys)
    try:
        rows = compile_filter(
            str(row["FilterExpression"]), types, {k for k, _ in table.partition_keys}
        )
    except RowFilterError as err:
        # The table changed since the filter was made (a column it names is gone).
        raise QueryError(
            "PERMISSION_DENIED",
            f"Data cells filter {data.get('Name')} no longer applies to {table.name}: {err}",
        ) from None
    return CellGrant(columns, rows)


def table_access(
    table: TableDef,
    principal: str,
    grants: Iterable[Mapping[str, Any]],
    filters: Iterable[Mapping[str, Any]],
) -> tuple[CellGrant, ...]:
    """Every grant ``principal`` holds on ``table``: whole columns, and data cells filters."""
    held = [g for g in grants if _holder(g, principal)]
    shares: list[CellGrant] = []
    columns = granted_columns(table, principal, held)
    if columns:
        shares.append(CellGrant(columns))
    by_name = {
        str(f.get("Name")): f
        for f in filters
        if str(f.get("DatabaseName", "")).lower() == table.database
        and str(f.get("TableName", "")).lower() == table.name
    }
    for grant in held:
        wanted = (grant.get("Resource") or {}).get("DataCellsFilter")
        if not isinstance(wanted, Mapping):
            continue
        if str(wanted.get("DatabaseName", "")).lower() != table.database:
            continue
        if str(wanted.get("TableName", "")).lower() != table.name:
            continue
        data = by_name.get(str(wanted.get("Name")))
        if data is not None:  # a grant on a deleted filter gives nothing
            shares.append(filter_grant(table, data))
    return tuple(shares)
