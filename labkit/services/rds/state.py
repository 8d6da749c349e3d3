"""Read-only snapshots of RDS DB instances and their engines, for the database view.

A snapshot is plain data (dicts, lists, numbers, strings): what :mod:`.view_instance` renders
and what the widget syncs. Instances are found on moto's models through
:mod:`labkit.sandbox.backends` (no backend is created by looking); the engine's runtime is the
attribute the RDS patch keeps on each instance.
"""

from __future__ import annotations

from typing import Any

from labkit.errors import LabkitError
from labkit.sandbox.backends import existing

#: The attribute of a moto DB instance that holds its runtime (see the RDS patch).
RUNTIME_ATTRIBUTE = "_labkit_runtime"
#: The attribute of a moto DB cluster that holds its Aurora runtime (see the Aurora patch).
CLUSTER_ATTRIBUTE = "_labkit_cluster"


class DatabaseNotFoundError(LabkitError):
    """No DB instance or Aurora cluster of that identifier runs an engine in the sandbox."""

    code = "DatabaseNotFound"

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(
            f"There is no DB instance or Aurora cluster {name!r} with an engine in the sandbox. "
            f"Known: {', '.join(known) or 'none'}."
        )


def databases() -> dict[str, tuple[str, Any]]:
    """Every instance and cluster with an engine: identifier -> (``instance``/``cluster``, it)."""
    found: dict[str, tuple[str, Any]] = {}
    for _region, backend in existing("rds"):
        for cluster in list(getattr(backend, "clusters", {}).values()):
            if getattr(cluster, CLUSTER_ATTRIBUTE, None) is not None:
                found[str(cluster.db_cluster_identifier)] = ("cluster", cluster)
        for database in list(getattr(backend, "databases", {}).values()):
            if getattr(database, RUNTIME_ATTRIBUTE, None) is not None:
                found[str(database.db_instance_identifier)] = ("instance", database)
    return found


def find(name: str | None) -> tuple[str, str]:
    """``(kind, identifier)`` of ``name`` (an identifier, any case, or an ARN; the only one
    when ``None``)."""
    everything = databases()
    if name is None:
        if len(everything) == 1:
            identifier, (kind, _) = next(iter(everything.items()))
            return kind, identifier
        raise DatabaseNotFoundError("(none named)", sorted(everything))
    key = name.rsplit(":", 1)[-1].lower()
    for identifier, (kind, _) in everything.items():
        if identifier.lower() == key:
            return kind, identifier
    raise DatabaseNotFoundError(name, sorted(everything))


def _sessions(server: Any) -> int:
    """Client sessions on the engine now, less labkit's own administrator."""
    if not getattr(server, "_running", False):
        return 0
    rows = server.query(
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
    )
    return max(0, int(rows[0][0]) - 1)


def _version(server: Any) -> str:
    """The engine's own version (moto's EngineVersion is a placeholder)."""
    if not getattr(server, "_running", False):
        return ""
    return str(server.query("SHOW server_version")[0][0]).split(" ")[0]


def instance_snapshot(identifier: str, now: float) -> dict[str, Any]:
    """What the database view shows of one DB instance at lab time ``now``."""
    kind, database = databases().get(identifier, ("", None))
    if kind != "instance":
        raise DatabaseNotFoundError(identifier, sorted(databases()))
    runtime = getattr(database, RUNTIME_ATTRIBUTE)
    feed = runtime.feed
    history = runtime.history
    retention = int(database.backup_retention_period or 0)
    return {
        "identifier": identifier,
        "engine": f"{database.engine} {_version(runtime.server)}",
        "instance_class": str(database.db_instance_class),
        "status": runtime.status(now),
        "endpoint": f"{database.address}:{runtime.endpoint_port}",
        "zone": runtime.availability_zone,
        "standby_zone": runtime.secondary_zone,
        "sessions": _sessions(runtime.server),
        "max_connections": int(runtime.server.max_connections),
        "failovers": [list(f) for f in runtime.failovers],
        "source": database.read_replica_source_db_instance_identifier,
        "replica_lag": float(feed.lag) if feed is not None else None,
        "replicas": list(database.read_replica_db_instance_identifiers),
        "backup_retention_days": retention,
        "earliest_restorable": float(history.created) if history and retention else None,
        "lambda_connections": dict(runtime.lambda_connections),
        "now": now,
    }
