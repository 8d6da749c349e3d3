"""Lake Formation column grants as the Athena engine applies them (plain Python, no moto).

Lake Formation governs a table whose S3 location is registered with it
(https://docs.aws.amazon.com/lake-formation/latest/dg/register-data-lake.html); a query of such a
table sees only the columns granted ``SELECT`` (or ``ALL``) to the caller: on the ``Table``
(every column), or on ``TableWithColumns`` by ``ColumnNames`` or by ``ColumnWildcard`` less its
``ExcludedColumnNames``
(https://docs.aws.amazon.com/lake-formation/latest/dg/granting-table-permissions.html).
A table whose location is not registered is left to IAM (every column).

Row filters (data cells filters) are not simulated: moto 5.2.5 has no ``CreateDataCellsFilter``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from labkit.services.athena.sim_engine import TableDef


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
