"""QuickSight data sets as plain snapshots: what a dashboard drawn now would show."""

from __future__ import annotations

from typing import Any

from labkit.errors import LabkitError
from labkit.sandbox.backends import DEFAULT_ACCOUNT_ID, existing
from labkit.services.quicksight import sim_spice

#: Where the patch keeps data sets on moto's QuickSight backend.
DATA_SETS_ATTR = "_labkit_data_sets"


class DataSetNotFound(LabkitError):
    """No QuickSight data set by that id (or ARN) in the sandbox."""

    code = "DataSetNotFound"


def _all(account_id: str) -> list[tuple[str, sim_spice.DataSet]]:
    found = []
    for region, backend in existing("quicksight", account_id):
        for data_set in dict(backend.__dict__.get(DATA_SETS_ATTR) or {}).values():
            found.append((region, data_set))
    return found


def find_data_set(
    data_set: str | None, account_id: str = DEFAULT_ACCOUNT_ID
) -> tuple[str, sim_spice.DataSet]:
    """``(region, data set)`` by id or ARN; the only one when ``data_set`` is ``None``."""
    every = _all(account_id)
    if data_set is None:
        if len(every) == 1:
            return every[0]
        names = ", ".join(d.data_set_id for _, d in every) or "none yet"
        raise DataSetNotFound(f"Name the data set to draw (the sandbox has: {names}).")
    for region, found in every:
        if data_set in (found.data_set_id, found.arn):
            return region, found
    names = ", ".join(d.data_set_id for _, d in every) or "none yet"
    raise DataSetNotFound(f"No QuickSight data set {data_set!r} (the sandbox has: {names}).")


def dashboard_snapshot(
    data_set: str | None, now: float, account_id: str = DEFAULT_ACCOUNT_ID
) -> dict[str, Any]:
    """What a visual of the data set shows at lab time ``now``: its rows and where they came
    from (the SPICE copy of the newest completed ingestion, or a direct query run now)."""
    region, found = find_data_set(data_set, account_id)
    snap: dict[str, Any] = {
        "data_set_id": found.data_set_id,
        "name": found.name,
        "region": region,
        "import_mode": found.import_mode,
        "sql": found.sql,
        "columns": list(found.columns),
        "rows": [],
        "refreshed_at": None,
        "ingestion_id": None,
        "running": None,
        "error": "",
        "now": now,
    }
    running = found.running(now)
    if running is not None:
        snap["running"] = running.ingestion_id
    if found.import_mode == "SPICE":
        current = found.current(now)
        if current is not None:
            snap["columns"] = list(current.result.columns)
            snap["rows"] = list(current.result.rows)
            snap["refreshed_at"] = current.finished
            snap["ingestion_id"] = current.ingestion_id
        failed = [i for i in found.ingestions if i.status(now) == "FAILED"]
        if failed and (current is None or failed[-1].finished > current.finished):
            snap["error"] = failed[-1].result.error
    elif found.query is not None:
        result = found.query()
        snap["columns"], snap["rows"], snap["error"] = result.columns, result.rows, result.error
        snap["refreshed_at"] = now
    return snap
