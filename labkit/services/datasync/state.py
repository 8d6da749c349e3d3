"""DataSync tasks and their executions over lab time: read-only snapshots for views and checks.

Reads moto's DataSync backends through :mod:`labkit.sandbox.backends` (none is created by
looking); each execution the patch ran carries its :class:`~.sim_sync.Report`.
"""

from __future__ import annotations

from typing import Any

from labkit.sandbox.backends import existing
from labkit.services.datasync.sim_sync import Report

#: Attribute of a moto TaskExecution holding ``[report, started, ends, options]`` (the report
#: is the estimate until the transfer has run).
RUN = "_labkit_run"


def snapshot(now: float) -> dict[str, Any]:
    """Every task with its executions as of lab time ``now``, oldest first."""
    tasks = []
    for region, backend in existing("datasync"):
        for arn, task in list(getattr(backend, "tasks", {}).items()):
            locations = getattr(backend, "locations", {})
            source = locations.get(task.source_location_arn)
            target = locations.get(task.destination_location_arn)
            executions = []
            for execution in list(getattr(backend, "task_executions", {}).values()):
                run = getattr(execution, RUN, None)
                if execution.task_arn != arn or run is None:
                    continue
                report, started, ends, _options = run
                assert isinstance(report, Report)
                executions.append(
                    {
                        "arn": execution.arn,
                        "started": started,
                        "status": "TRANSFERRING" if now < ends else report.status,
                        "transferred": report.files_transferred,
                        "skipped": report.files_skipped,
                        "deleted": report.files_deleted,
                        "verified": report.files_verified,
                        "bytes": report.bytes_transferred,
                        "failures": list(report.verify_failures),
                    }
                )
            tasks.append(
                {
                    "arn": arn,
                    "name": task.name or arn.rsplit("/", 1)[-1],
                    "region": region,
                    "source": getattr(source, "uri", "?"),
                    "target": getattr(target, "uri", "?"),
                    "schedule": (task.metadata or {})
                    .get("Schedule", {})
                    .get("ScheduleExpression", ""),
                    "executions": sorted(executions, key=lambda e: e["started"]),
                }
            )
    return {"at": now, "tasks": tasks}
