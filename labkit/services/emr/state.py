"""EMR clusters as plain snapshots: state, nodes by role, steps with how each ran or failed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from labkit.errors import LabkitError
from labkit.sandbox.backends import DEFAULT_ACCOUNT_ID, existing
from labkit.services.emr.sim_steps import result_of, run_of

#: The API's instance roles by the names the EMR documentation now uses.
NODE_ROLES = {"MASTER": "primary", "CORE": "core", "TASK": "task"}


class UnknownEmrClusterError(LabkitError):
    """No EMR cluster by that id or name in the sandbox."""

    code = "UnknownEmrCluster"


def clusters(account_id: str = DEFAULT_ACCOUNT_ID) -> list[tuple[str, Any]]:
    """``(region, moto cluster)`` of every EMR cluster, oldest first."""
    found = []
    for region, backend in existing("emr", account_id):
        for cluster in list(backend.clusters.values()):
            found.append((region, cluster))
    return sorted(found, key=lambda rc: rc[1].creation_datetime)


def find_cluster(what: str | None, account_id: str = DEFAULT_ACCOUNT_ID) -> tuple[str, Any]:
    """A cluster by id, ARN or name; the newest one when ``what`` is ``None``."""
    every = clusters(account_id)
    if not every:
        raise UnknownEmrClusterError("The sandbox has no EMR cluster yet (emr.run_job_flow).")
    if what is None:
        return every[-1]
    for region, cluster in reversed(every):
        if what in (cluster.id, cluster.arn, cluster.name):
            return region, cluster
    names = ", ".join(f"{c.name} ({c.id})" for _, c in every)
    raise UnknownEmrClusterError(f"No EMR cluster {what!r} (the sandbox has: {names}).")


def _time(value: datetime | None) -> str:
    return f"{value:%H:%M:%S}" if value is not None else ""


def cluster_snapshot(what: str | None, account_id: str = DEFAULT_ACCOUNT_ID) -> dict[str, Any]:
    """What an EMR cluster is doing now, as plain data."""
    region, cluster = find_cluster(what, account_id)
    steps = []
    for step in cluster.steps:
        result = result_of(step)
        steps.append(
            {
                "id": step.id,
                "name": step.name,
                "state": step.state,
                "action_on_failure": step.action_on_failure,
                "args": " ".join(str(a) for a in step.args),
                "started": _time(step.start_date_time),
                "ended": _time(step.end_date_time),
                "engine": result.engine if result is not None else "",
                "reason": result.reason if result is not None and not result.ok else "",
                "log_file": result.log_file if result is not None else "",
            }
        )
    nodes = [
        (NODE_ROLES.get(group.role, group.role.lower()), group.num_instances, group.instance_type)
        for group in cluster.instance_groups
    ]
    return {
        "id": cluster.id,
        "name": cluster.name,
        "region": region,
        "state": cluster.state,
        "reason": run_of(cluster).reason_code,
        "keep_alive": bool(cluster.keep_job_flow_alive_when_no_steps),
        "log_uri": cluster.log_uri or "",
        "release": cluster.release_label or "",
        "nodes": nodes,
        "steps": steps,
    }
