"""DMS replication tasks over lab time: read-only snapshots for views and checks.

Reads moto's DMS backends through :mod:`labkit.sandbox.backends` (none is created by looking);
each task the patch started carries its :class:`~.sim_replication.Replication`. A snapshot of a
running task first reads the changes waiting at its source (as DMS would by then), applying none.
"""

from __future__ import annotations

from typing import Any

from labkit.sandbox.backends import existing

#: Attribute of a moto FakeReplicationTask holding its :class:`~.sim_replication.Replication`.
RUNTIME = "_labkit_replication"


def _find(task: str | None) -> list[tuple[str, Any]]:
    found = []
    for region, backend in existing("dms"):
        for arn, item in list(getattr(backend, "replication_tasks", {}).items()):
            if task is None or task in (arn, item.id):
                found.append((region, item))
    return found


def task_names() -> list[str]:
    """Every replication task's identifier."""
    return [item.id for _region, item in _find(None)]


def snapshot(task: str | None, now: float) -> dict[str, Any] | None:
    """One task (identifier or ARN; the only one when ``None`` and there is one) at ``now``."""
    found = _find(task)
    if len(found) != 1:
        return None
    region, item = found[0]
    runtime = getattr(item, RUNTIME, None)
    tables = []
    pending: dict[tuple[str, str], int] = {}
    batches: list[dict[str, Any]] = []
    lag = 0.0
    status, reason, failure = str(item.status), "", ""
    if runtime is not None:
        # DMS reads the source's changes all the time: read what was written since the last
        # clock move, so the lag shown counts changes just made (nothing is applied here).
        runtime.capture(now)
        for waiting in runtime.pending:
            where = (waiting.change.schema, waiting.change.table)
            pending[where] = pending.get(where, 0) + 1
        for (schema, table), stats in runtime.stats.items():
            plan = runtime.plans.get((schema, table))
            tables.append(
                {
                    "source": f"{schema}.{table}",
                    "target": f"{plan.target_schema}.{plan.target_table}" if plan else "",
                    "state": stats.state,
                    "full_load_rows": stats.full_load_rows,
                    "inserts": stats.inserts,
                    "updates": stats.updates,
                    "deletes": stats.deletes,
                    "pending": pending.get((schema, table), 0),
                }
            )
        batches = [{"at": b.at, "changes": b.changes, "lag": b.lag} for b in runtime.batches[-20:]]
        lag = runtime.lag(now)
        status, reason, failure = runtime.status, runtime.stop_reason, runtime.failure
    return {
        "at": now,
        "task": item.id,
        "arn": item.arn,
        "region": region,
        "migration_type": item.migration_type,
        "status": status,
        "stop_reason": reason,
        "failure": failure,
        "delay": runtime.delay if runtime is not None else None,
        "lag": lag,
        "pending": sum(pending.values()),
        "tables": tables,
        "batches": batches,
    }
