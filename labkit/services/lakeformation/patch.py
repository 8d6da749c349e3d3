"""Lake Formation's data cells filters (row and cell-level security), which moto 5.2.5 lacks.

moto keeps registered locations and grants (``GrantPermissions`` stores any ``Resource``) and
answers ``ListDataCellsFilter`` with an empty list. While a lab runs, the data cells filter API
works as documented (https://docs.aws.amazon.com/lake-formation/latest/APIReference/
API_CreateDataCellsFilter.html and its Get/List/Update/Delete siblings):

- ``CreateDataCellsFilter(TableData=...)``: ``TableCatalogId``, ``DatabaseName``, ``TableName``,
  ``Name``, a ``RowFilter`` (``FilterExpression`` or ``AllRowsWildcard``) and the columns
  (``ColumnNames``, or ``ColumnWildcard`` with ``ExcludedColumnNames``). The table must exist in
  the Glue Data Catalog (``EntityNotFoundException``), the name be new for that table
  (``AlreadyExistsException``), and the expression inside the documented PartiQL subset
  (``InvalidInputException``, :mod:`.sim_rowfilter`).
- ``GetDataCellsFilter``, ``ListDataCellsFilter`` (all, or one ``Table``'s; ``MaxResults`` /
  ``NextToken``), ``UpdateDataCellsFilter``, ``DeleteDataCellsFilter``.
- ``GrantPermissions`` on a ``DataCellsFilter`` resource refuses a filter that does not exist;
  ``ListPermissions`` with a ``DataCellsFilter`` resource lists the grants on that filter (moto
  refuses a resource without a catalog, database, table or location).

Athena applies the filters granted to the caller (``labkit.services.athena.sim_grants``). The
filters live on moto's Lake Formation backend, so ``lab.reset()`` removes them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from moto.glue.models import glue_backends
from moto.lakeformation import urls
from moto.lakeformation.exceptions import AlreadyExists, EntityNotFound, InvalidInput
from moto.lakeformation.models import lakeformation_backends
from moto.lakeformation.responses import LakeFormationResponse

from labkit.services.lakeformation.sim_rowfilter import RowFilterError, compile_filter

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

#: The attribute of moto's LakeFormationBackend holding the filters, by (catalog, db, table, name).
FILTERS = "_labkit_data_cells_filters"

_OPERATIONS = (
    "CreateDataCellsFilter",
    "GetDataCellsFilter",
    "UpdateDataCellsFilter",
    "DeleteDataCellsFilter",
)

FilterKey = tuple[str, str, str, str]


def filters_of(backend: Any) -> dict[FilterKey, dict[str, Any]]:
    """The data cells filters kept on a moto Lake Formation backend (made on first use)."""
    found: dict[FilterKey, dict[str, Any]] | None = backend.__dict__.get(FILTERS)
    if found is None:
        found = {}
        backend.__dict__[FILTERS] = found
    return found


def account_filters(account_id: str, region: str) -> list[dict[str, Any]]:
    """Every data cells filter (``TableData``) of an account and Region, for the Athena engine."""
    return list(filters_of(lakeformation_backends[account_id][region]).values())


def _key(catalog: str, database: str, table: str, name: str) -> FilterKey:
    # Glue keeps database and table names in lower case; filter names are kept as given.
    return (catalog, database.lower(), table.lower(), name)


def _glue_table(account_id: str, region: str, database: str, table: str) -> dict[str, Any]:
    glue = glue_backends[account_id][region]
    db = glue.databases.get(database.lower())
    if db is None or table.lower() not in db.tables:
        raise EntityNotFound()
    info: dict[str, Any] = db.tables[table.lower()].as_dict()
    return info


def validate(table_data: dict[str, Any], table: dict[str, Any]) -> dict[str, Any]:
    """``TableData`` as Lake Formation keeps it, after the checks AWS makes; raises InvalidInput."""
    name = str(table_data.get("Name") or "")
    if not name:
        raise InvalidInput("TableData.Name is required")
    storage = table.get("StorageDescriptor") or {}
    keys = {
        str(k["Name"]).lower(): str(k.get("Type") or "string")
        for k in table.get("PartitionKeys") or []
    }
    columns = {
        str(c["Name"]).lower(): str(c.get("Type") or "string") for c in storage.get("Columns") or []
    }
    every = {**columns, **keys}
    row = table_data.get("RowFilter")
    if not isinstance(row, dict) or ("FilterExpression" in row) == ("AllRowsWildcard" in row):
        raise InvalidInput(
            "RowFilter must have exactly one of FilterExpression and AllRowsWildcard"
        )
    if "FilterExpression" in row:
        try:
            compile_filter(str(row["FilterExpression"]), every, set(keys))
        except RowFilterError as err:
            raise InvalidInput(f"Unsupported row filter expression: {err}") from None
    if ("ColumnNames" in table_data) == ("ColumnWildcard" in table_data):
        raise InvalidInput("TableData must have exactly one of ColumnNames and ColumnWildcard")
    named = table_data.get("ColumnNames")
    if named is not None:
        missing = [c for c in named if str(c).lower() not in every]
        if missing or not named:
            raise InvalidInput(
                f"Column names not in table {table.get('Name')}: {', '.join(map(str, missing))}"
                if missing
                else "ColumnNames is empty: name at least one column, or use ColumnWildcard"
            )
    wildcard = table_data.get("ColumnWildcard")
    if wildcard is not None:
        excluded = (wildcard or {}).get("ExcludedColumnNames") or []
        missing = [c for c in excluded if str(c).lower() not in every]
        if missing:
            raise InvalidInput(f"Excluded column names not in the table: {', '.join(missing)}")
    return json.loads(json.dumps(table_data))  # type: ignore[no-any-return]


def _filter_resource(resource: Any) -> dict[str, Any] | None:
    found = (resource or {}).get("DataCellsFilter") if isinstance(resource, dict) else None
    return found if isinstance(found, dict) else None


def _named(response: Any) -> dict[str, Any]:
    """The parameters that name one filter (Get and Delete take them at the top level)."""
    names = ("TableCatalogId", "DatabaseName", "TableName", "Name")
    return {name: response._get_param(name) for name in names}


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Answer the data cells filter API while ``sandbox`` runs."""
    stack.enter_context(_patched())


@contextmanager
def _patched() -> Iterator[None]:
    response_cls: Any = LakeFormationResponse
    original_list = response_cls.list_data_cells_filter
    original_grant = response_cls.grant_permissions
    original_list_permissions = response_cls.list_permissions

    def account_region(self: Any) -> tuple[str, str]:
        return str(self.current_account), str(self.region)

    def create_data_cells_filter(self: Any) -> str:
        account, region = account_region(self)
        data = dict(self._get_param("TableData") or {})
        catalog = str(data.get("TableCatalogId") or account)
        data["TableCatalogId"] = catalog
        table = _glue_table(
            account, region, str(data.get("DatabaseName", "")), str(data.get("TableName", ""))
        )
        kept = validate(data, table)
        store = filters_of(self.lakeformation_backend)
        key = _key(catalog, kept["DatabaseName"], kept["TableName"], kept["Name"])
        if key in store:
            raise AlreadyExists(f"A data cells filter named {kept['Name']} already exists")
        store[key] = kept
        return "{}"

    def _find(self: Any, params: dict[str, Any]) -> tuple[FilterKey, dict[str, Any]]:
        account, _ = account_region(self)
        key = _key(
            str(params.get("TableCatalogId") or account),
            str(params.get("DatabaseName") or ""),
            str(params.get("TableName") or ""),
            str(params.get("Name") or ""),
        )
        found = filters_of(self.lakeformation_backend).get(key)
        if found is None:
            raise EntityNotFound()
        return key, found

    def get_data_cells_filter(self: Any) -> str:
        _, found = _find(self, _named(self))
        return json.dumps({"DataCellsFilter": found})

    def update_data_cells_filter(self: Any) -> str:
        account, region = account_region(self)
        data = dict(self._get_param("TableData") or {})
        data["TableCatalogId"] = str(data.get("TableCatalogId") or account)
        key, _ = _find(self, data)
        table = _glue_table(account, region, key[1], key[2])
        filters_of(self.lakeformation_backend)[key] = validate(data, table)
        return "{}"

    def delete_data_cells_filter(self: Any) -> str:
        key, _ = _find(self, _named(self))
        del filters_of(self.lakeformation_backend)[key]
        return "{}"

    def list_data_cells_filter(self: Any) -> str:
        table = self._get_param("Table") or {}
        every = list(filters_of(self.lakeformation_backend).values())
        if table:
            every = [
                f
                for f in every
                if str(f["DatabaseName"]).lower() == str(table.get("DatabaseName", "")).lower()
                and str(f["TableName"]).lower() == str(table.get("Name", "")).lower()
            ]
        start = int(self._get_param("NextToken") or 0)
        size = int(self._get_param("MaxResults") or 100)
        body: dict[str, Any] = {"DataCellsFilters": every[start : start + size]}
        if start + size < len(every):
            body["NextToken"] = str(start + size)
        return json.dumps(body)

    def grant_permissions(self: Any) -> Any:
        wanted = _filter_resource(self._get_param("Resource"))
        if wanted is not None:
            _find(self, wanted)
        return original_grant(self)

    def list_permissions(self: Any) -> Any:
        wanted = _filter_resource(self._get_param("Resource"))
        if wanted is None:
            return original_list_permissions(self)
        account, _ = account_region(self)
        catalog_id = str(self._get_param("CatalogId") or account)
        principal = self._get_param("Principal")
        key = _key(
            str(wanted.get("TableCatalogId") or account),
            str(wanted.get("DatabaseName") or ""),
            str(wanted.get("TableName") or ""),
            str(wanted.get("Name") or ""),
        )
        found = []
        catalog = self.lakeformation_backend.grants.get(catalog_id)
        for permission in catalog.permissions if catalog else []:
            held = _filter_resource(permission.resource)
            if held is None or principal not in (None, permission.principal):
                continue
            held_key = _key(
                str(held.get("TableCatalogId") or account),
                str(held.get("DatabaseName") or ""),
                str(held.get("TableName") or ""),
                str(held.get("Name") or ""),
            )
            if held_key == key:
                found.append(permission.to_external_form())
        return json.dumps({"PrincipalResourcePermissions": found})

    methods = {
        "create_data_cells_filter": create_data_cells_filter,
        "get_data_cells_filter": get_data_cells_filter,
        "update_data_cells_filter": update_data_cells_filter,
        "delete_data_cells_filter": delete_data_cells_filter,
    }
    routes = [f"{{0}}/{operation}$" for operation in _OPERATIONS]
    for route in routes:
        urls.url_paths[route] = urls.response.dispatch
    for name, function in methods.items():
        setattr(response_cls, name, function)
    response_cls.list_data_cells_filter = list_data_cells_filter
    response_cls.grant_permissions = grant_permissions
    response_cls.list_permissions = list_permissions
    try:
        yield
    finally:
        for route in routes:
            urls.url_paths.pop(route, None)
        for name in methods:
            delattr(response_cls, name)
        response_cls.list_data_cells_filter = original_list
        response_cls.grant_permissions = original_grant
        response_cls.list_permissions = original_list_permissions


__all__ = ["FILTERS", "account_filters", "filters_of", "install", "validate"]
