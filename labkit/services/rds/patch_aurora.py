"""Aurora PostgreSQL on moto's control plane: one real PostgreSQL per cluster volume.

moto 5.2.5 creates clusters, their instances and endpoints (``<id>.cluster-...``, reader
``<id>.cluster-ro-...``), and flips the writer on ``FailoverDBCluster``, but nothing answers at
any endpoint, failover ignores promotion tiers, and there is no ``BacktrackDBCluster``. Here:

- ``CreateDBCluster`` with ``Engine='aurora-postgresql'`` starts the cluster volume's engine
  (:mod:`.sim_engine`) with the master user and ``DatabaseName``; ``CreateDBInstance`` with
  ``DBClusterIdentifier`` adds an instance that reads that volume (:mod:`.sim_aurora`);
- the **cluster (writer) endpoint** reaches the writer; the **reader endpoint** spreads new
  connections round-robin over the replicas (over the writer when there is none, as AWS does),
  each session read-only and naming its replica in ``aurora_db_instance_identifier()`` (Aurora
  PostgreSQL's own function); each instance's own endpoint reaches that instance;
- ``FailoverDBCluster`` promotes the replica of the lowest ``PromotionTier`` (or the target
  named), drops connections, and the writer endpoint answers again after
  ``aurora.failover_seconds`` of lab time;
- :func:`zone_outage` takes an AZ's two volume copies (and its instances) away, failing over a
  writer that was there; :func:`lose_copies` takes more copies, down to the quorums;
- ``db.serverless`` instances follow the load on the lab clock between the cluster's
  ``ServerlessV2ScalingConfiguration`` bounds (:class:`~.sim_capacity.CapacityModel`);
- ``RestoreDBClusterToPointInTime`` (``RestoreType`` ``copy-on-write``, a clone, or
  ``full-copy`` to a ``RestoreToTime``) replays the volume's WAL into a new cluster, and
  :func:`clone_pages` compares the two volumes page by page (shared, copied);
- ``BacktrackDBCluster`` exists for Aurora MySQL only: on Aurora PostgreSQL it is refused as
  AWS refuses it; an Aurora MySQL cluster keeps moto's control plane (no engine here), and the
  call is checked against its ``BacktrackWindow``.
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from moto.core.responses import ActionResult
from moto.rds import models as rds_models
from moto.rds import responses as rds_responses
from moto.rds.exceptions import InvalidParameterValue, RDSClientError

from labkit import facts
from labkit.sandbox import netguard
from labkit.services.rds import patch_global, sim_capacity, sim_engine
from labkit.services.rds.sim_aurora import ClusterRuntime, ClusterVolume, Member, failover_target
from labkit.services.rds.sim_backups import WalHistory
from labkit.services.rds.sim_relay import ReplicaRelay
from labkit.services.rds.view_cluster import ClusterSnapshot, InstanceRow

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

RUNTIME = "_labkit_cluster"
#: Stands for "the volume as it is now" where a restore names a WAL segment.
_CLONE = "clone"
AURORA_ENGINES = ("aurora-postgresql",)
#: Every running cluster's routes (one sandbox at a time runs the RDS patches).
_ROUTES: list[_Routes] = []

#: Aurora PostgreSQL's function naming the instance a session is on.
_FUNCTION = (
    "CREATE OR REPLACE FUNCTION aurora_db_instance_identifier() RETURNS text "
    "LANGUAGE sql STABLE AS $$ SELECT coalesce(nullif(current_setting('labkit.instance', true), "
    "''), current_setting('labkit.writer', true)) $$; "
    "GRANT EXECUTE ON FUNCTION aurora_db_instance_identifier() TO PUBLIC;"
)


def cluster_runtime(cluster: Any) -> ClusterRuntime | None:
    """The runtime of a moto DB cluster (``None`` for engines without one)."""
    runtime: ClusterRuntime | None = getattr(cluster, RUNTIME, None)
    return runtime


def _members(cluster: Any) -> list[Any]:
    return list(cluster.members)


def _writer(cluster: Any) -> Any:
    return next((m for m in _members(cluster) if m.is_cluster_writer), None)


def _replicas(cluster: Any) -> list[Any]:
    return [m for m in _members(cluster) if not m.is_cluster_writer]


class _Routes:
    """Where connections to one cluster's endpoints go."""

    def __init__(self, sandbox: Sandbox, cluster: Any, runtime: ClusterRuntime) -> None:
        self.sandbox = sandbox
        self.cluster = cluster
        self.runtime = runtime
        self.next_replicas: collections.deque[str] = collections.deque()
        self.relay = ReplicaRelay(self._relay_target)

    def _relay_target(self) -> tuple[tuple[str, int], str]:
        replica = self.next_replicas.popleft() if self.next_replicas else "unknown"
        return ("127.0.0.1", self.runtime.server.port), replica

    def _check(self, port: int) -> None:
        if port != int(self.cluster.port):
            raise ConnectionRefusedError(
                f"{self.cluster.db_cluster_identifier} listens on port {self.cluster.port}"
            )
        refusal = self.runtime.refusal(self.sandbox.clock.timestamp)
        if refusal:
            raise ConnectionRefusedError(refusal)

    def writer(self, port: int) -> tuple[str, int]:
        self._check(port)
        if _writer(self.cluster) is None:
            raise ConnectionRefusedError(
                f"{self.cluster.db_cluster_identifier} has no DB instance yet: "
                "create_db_instance(DBClusterIdentifier=...) adds its writer"
            )
        return "127.0.0.1", self.runtime.server.port

    def reader(self, port: int) -> tuple[str, int]:
        self._check(port)
        replicas = _replicas(self.cluster)
        if not replicas:
            return self.writer(port)  # AWS: with no replica, the reader endpoint is the writer
        chosen = replicas[self.runtime.reader_turn % len(replicas)]
        self.runtime.reader_turn += 1
        return self.to_replica(chosen.db_instance_identifier)

    def to_replica(self, identifier: str) -> tuple[str, int]:
        self.next_replicas.append(identifier)
        return "127.0.0.1", self.relay.port


class _Route:
    def __init__(self, routes: _Routes, kind: str, instance: str = "") -> None:
        self._routes, self._kind, self._instance = routes, kind, instance

    def target(self, port: int) -> tuple[str, int]:
        routes = self._routes
        if self._kind == "writer":
            return routes.writer(port)
        if self._kind == "reader":
            return routes.reader(port)
        routes._check(port)
        member = routes.sandbox.backend("rds").databases.get(self._instance)
        if member is None:
            raise ConnectionRefusedError(f"no DB instance {self._instance}")
        if member.is_cluster_writer:
            return routes.writer(port)
        return routes.to_replica(self._instance)


def writer_target(sandbox: Sandbox, database: Any) -> tuple[str, int] | None:
    """Where the writer of ``database``'s cluster is (for RDS Proxy), or ``None``."""
    cluster_id = getattr(database, "db_cluster_identifier", None)
    cluster = sandbox.backend("rds").clusters.get(cluster_id) if cluster_id else None
    runtime = cluster_runtime(cluster) if cluster is not None else None
    if runtime is None:
        return None
    refusal = runtime.refusal(sandbox.clock.timestamp)
    if refusal:
        raise ConnectionRefusedError(refusal)
    return "127.0.0.1", runtime.server.port


def _set_writer(runtime: ClusterRuntime, identifier: str) -> None:
    runtime.writer = identifier
    quoted = identifier.replace("'", "''")
    runtime.server.query(f"ALTER SYSTEM SET labkit.writer = '{quoted}'")
    runtime.server.query("SELECT pg_reload_conf()")


def set_read_only(runtime: ClusterRuntime, read_only: bool) -> None:
    """Make the cluster's engine refuse writes (or take them again); drops its sessions."""
    if runtime.read_only == read_only:
        return
    runtime.read_only = read_only
    value = "on" if read_only else "off"
    runtime.server.query(f"ALTER SYSTEM SET default_transaction_read_only = {value}")
    runtime.server.query("SELECT pg_reload_conf()")
    runtime.server.terminate_connections()


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Put an engine behind every Aurora PostgreSQL cluster while ``sandbox`` runs."""
    stack.enter_context(_patched(sandbox))


@contextlib.contextmanager
def _patched(sandbox: Sandbox) -> Iterator[None]:
    backend_cls = rds_models.RDSBackend
    response_cls = rds_responses.RDSResponse
    saved = {
        name: getattr(backend_cls, name)
        for name in (
            "create_db_cluster",
            "create_db_instance",
            "failover_db_cluster",
            "delete_db_cluster",
        )
    }
    saved_pitr = response_cls.restore_db_cluster_to_point_in_time
    routes = _ROUTES
    routes.clear()
    withdrawals: list[Any] = []
    pending: list[tuple[Any, str, str]] = []  # (source server, segment, source id)

    def create_db_cluster(self: Any, kwargs: dict[str, Any]) -> Any:
        restore, pending[:] = list(pending), []
        cluster = saved["create_db_cluster"](self, kwargs)
        if str(cluster.engine) not in AURORA_ENGINES:
            return cluster
        limit = sim_capacity.ENGINE_CONNECTIONS_CAP
        source_id = None
        if restore:
            server_src, segment, source_id = restore[0]
            if segment == _CLONE:
                # Copy-on-write clone of the volume as it is now: a physical copy, no replay.
                server = sim_engine.PostgresServer.copy_of(server_src, max_connections=limit)
            else:
                server = sim_engine.PostgresServer.recover(
                    server_src.segments(segment), standby=False, max_connections=limit
                )
        elif cluster.global_cluster_identifier and not cluster.master_username:
            # A global database's secondary: a standby of the primary's volume, fed late.
            secondary = patch_global.secondary_runtime(sandbox, cluster, limit)
            if secondary is None:
                return cluster
            return _serve(cluster, secondary)
        else:
            server = sim_engine.PostgresServer.create(max_connections=limit)
            for database in ("template1", "postgres"):
                server.admin_sql(_FUNCTION, database=database)
            server.provision(
                cluster.master_username,
                kwargs.get("master_user_password") or "",
                cluster.database_name,
            )
        zones = list(cluster.availability_zones or [])[:3]
        runtime = ClusterRuntime(
            cluster.db_cluster_identifier,
            server,
            ClusterVolume(zones),
            history=WalHistory(server, created=sandbox.clock.timestamp),
            source=source_id,
        )
        return _serve(cluster, runtime)

    def _serve(cluster: Any, runtime: ClusterRuntime) -> Any:
        setattr(cluster, RUNTIME, runtime)
        route_set = _Routes(sandbox, cluster, runtime)
        routes.append(route_set)
        withdrawals.append(netguard.serve_endpoint(cluster.endpoint, _Route(route_set, "writer")))
        withdrawals.append(
            netguard.serve_endpoint(cluster.reader_endpoint, _Route(route_set, "reader"))
        )
        return cluster

    def create_db_instance(self: Any, db_kwargs: dict[str, Any]) -> Any:
        database = saved["create_db_instance"](self, db_kwargs)
        cluster_id = getattr(database, "db_cluster_identifier", None)
        cluster = self.clusters.get(cluster_id) if cluster_id else None
        runtime = cluster_runtime(cluster) if cluster is not None else None
        if runtime is None or cluster is None:
            return database
        route_set = next(r for r in routes if r.runtime is runtime)
        identifier = database.db_instance_identifier
        withdrawals.append(
            netguard.serve_endpoint(database.address, _Route(route_set, "instance", identifier))
        )
        if database.is_cluster_writer:
            _set_writer(runtime, identifier)
        if str(database.db_instance_class) == "db.serverless":
            config = cluster.serverless_v2_scaling_configuration or {}
            low = float(config.get("MinCapacity") or config.get("min_capacity") or 0.5)
            high = float(config.get("MaxCapacity") or config.get("max_capacity") or low)
            model = sim_capacity.CapacityModel(low, high)
            model.start(sandbox.clock.timestamp)
            runtime.capacity[identifier] = model
        return database

    def failover_db_cluster(
        self: Any, db_cluster_identifier: str, target_db_instance_identifier: str | None = None
    ) -> Any:
        cluster = self.clusters.get(db_cluster_identifier)
        runtime = cluster_runtime(cluster) if cluster is not None else None
        if runtime is not None and target_db_instance_identifier is None:
            chosen = failover_target(
                [
                    Member(
                        m.db_instance_identifier,
                        int(m.promotion_tier),
                        str(m.db_instance_class),
                        str(m.availability_zone),
                    )
                    for m in _replicas(cluster)
                ]
            )
            if chosen is not None:
                target_db_instance_identifier = chosen.identifier
        before = _writer(cluster) if cluster is not None else None
        result = saved["failover_db_cluster"](
            self, db_cluster_identifier, target_db_instance_identifier
        )
        if runtime is not None:
            after = _writer(cluster)
            now = sandbox.clock.timestamp
            runtime.server.terminate_connections()
            runtime.unavailable_until = now + float(facts.value("aurora.failover_seconds"))
            old = before.db_instance_identifier if before is not None else ""
            new = after.db_instance_identifier if after is not None else ""
            runtime.failovers.append((now, old, new))
            _set_writer(runtime, new)
        return result

    def delete_db_cluster(self: Any, cluster_identifier: str, *args: Any, **kwargs: Any) -> Any:
        cluster = saved["delete_db_cluster"](self, cluster_identifier, *args, **kwargs)
        runtime = cluster_runtime(cluster)
        if runtime is not None:
            runtime.server.destroy(keep_archive=True)
        return cluster

    def restore_db_cluster_to_point_in_time(self: Any) -> Any:
        source_id = str(self.params.get("SourceDBClusterIdentifier", "")).rsplit(":", 1)[-1]
        source = self.backend.clusters.get(source_id)
        runtime = cluster_runtime(source) if source is not None else None
        if runtime is not None:
            now = sandbox.clock.timestamp
            when = self.params.get("RestoreToTime")
            if str(self.params.get("RestoreType", "full-copy")) == "copy-on-write":
                moment = now
            elif when is not None:
                moment = _timestamp(when)
            else:
                moment = now
            earliest = max(
                runtime.history.created, now - 86400 * int(source.backup_retention_period or 1)
            )
            if moment < earliest or moment > now:
                raise InvalidParameterValue(
                    f"RestoreToTime must be within the restorable window of {source_id}."
                )
            if str(self.params.get("RestoreType", "full-copy")) == "copy-on-write":
                pending[:] = [(runtime.server, _CLONE, source_id)]
            else:
                segment = runtime.history.segment_at(moment, now)
                pending[:] = [(runtime.server, segment, source_id)]
        try:
            return saved_pitr(self)
        finally:
            pending.clear()

    def backtrack_db_cluster(self: Any) -> Any:
        cluster_id = str(self.params.get("DBClusterIdentifier", "")).rsplit(":", 1)[-1]
        cluster = self.backend.describe_db_clusters(db_cluster_identifier=cluster_id)[0]
        if cluster.engine != "aurora-mysql":
            # What AWS says: backtrack is an Aurora MySQL feature.
            raise InvalidParameterValue(
                f"Backtrack is not enabled for the {cluster.engine} engine."
            )
        window = int(getattr(cluster, "backtrack_window", 0) or 0)
        if window == 0:
            raise RDSClientError(
                "InvalidDBClusterStateFault",
                f"Backtrack is not enabled for DB cluster {cluster_id}: set BacktrackWindow.",
            )
        now = sandbox.clock.timestamp
        moment = _timestamp(self.params.get("BacktrackTo"))
        created = cluster.created.replace(tzinfo=timezone.utc).timestamp()
        if moment > now or moment < max(now - window, created):
            raise InvalidParameterValue(
                f"BacktrackTo must be within the backtrack window of {cluster_id} "
                f"(the last {window} s, and not before the cluster existed)."
            )
        return ActionResult(
            {
                "DBClusterIdentifier": cluster.db_cluster_identifier,
                "BacktrackIdentifier": f"backtrack-{int(now)}",
                "BacktrackTo": datetime.fromtimestamp(moment, tz=timezone.utc),
                "BacktrackedFrom": datetime.fromtimestamp(now, tz=timezone.utc),
                "BacktrackRequestCreationTime": datetime.fromtimestamp(now, tz=timezone.utc),
                "Status": "pending",
            }
        )

    def on_move(_now: Any) -> None:
        now = sandbox.clock.timestamp
        for route_set in routes:
            runtime = route_set.runtime
            if runtime.server._running and runtime.history is not None:
                runtime.history.moved(now)
        for route_set in routes:  # secondaries after every primary has cut its log
            if route_set.runtime.feed is not None and route_set.runtime.server._running:
                patch_global.feed(route_set.runtime, now)
        for route_set in routes:
            runtime = route_set.runtime
            if runtime.capacity and runtime.server._running:
                _sample(runtime, now)

    for name, function in (
        ("create_db_cluster", create_db_cluster),
        ("create_db_instance", create_db_instance),
        ("failover_db_cluster", failover_db_cluster),
        ("delete_db_cluster", delete_db_cluster),
    ):
        setattr(backend_cls, name, function)
    response_cls.restore_db_cluster_to_point_in_time = restore_db_cluster_to_point_in_time  # type: ignore[method-assign]
    had_backtrack = "backtrack_db_cluster" in response_cls.__dict__
    response_cls.backtrack_db_cluster = backtrack_db_cluster  # type: ignore[attr-defined]
    unwatch = sandbox.lab_clock.watch(on_move)

    def on_reset() -> None:
        for route_set in list(routes):
            route_set.relay.stop()
            route_set.runtime.server.destroy()
        routes.clear()

    sandbox.on_reset(on_reset)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(backend_cls, name, function)
        response_cls.restore_db_cluster_to_point_in_time = saved_pitr  # type: ignore[method-assign]
        if not had_backtrack:
            with contextlib.suppress(AttributeError):
                del response_cls.backtrack_db_cluster  # type: ignore[attr-defined]
        unwatch()
        for withdraw in withdrawals:
            withdraw()
        for route_set in routes:
            route_set.relay.stop()
            route_set.runtime.server.destroy()
        routes.clear()


def _sample(runtime: ClusterRuntime, now: float) -> None:
    """Feed the load the engine measured since the last clock move to the capacity models."""
    # Transaction ids the engine handed out (one per writing transaction): unlike
    # pg_stat_database's counters, which backends flush at most once a wall-clock second.
    commits = int(
        runtime.server.query("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint")[0][0]
    )
    sessions = int(
        runtime.server.query(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
        )[0][0]
    )
    if (
        runtime.last_commits is not None
        and runtime.last_sample is not None
        and now > runtime.last_sample
    ):
        tps = max(0, commits - runtime.last_commits) / (now - runtime.last_sample)
    else:
        tps = 0.0
    runtime.last_commits, runtime.last_sample = commits, now
    writer = runtime.writer
    for identifier, model in runtime.capacity.items():
        # The writer carries the writes; a reader here only what keeps it at its minimum.
        if identifier == writer:
            model.observe(now, tps, max(0, sessions - 1))
        else:
            model.observe(now, 0.0, 0)


def _timestamp(value: Any) -> float:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    text = str(value)
    try:
        return float(text)
    except ValueError:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _clusters(sandbox: Sandbox) -> list[Any]:
    return list(sandbox.backend("rds").clusters.values())


def zone_outage(sandbox: Sandbox, zone: str) -> list[str]:
    """An Availability Zone goes dark: its volume copies go, a writer there fails over."""
    hit = []
    backend = sandbox.backend("rds")
    for cluster in _clusters(sandbox):
        runtime = cluster_runtime(cluster)
        if runtime is None or zone not in runtime.volume.zones:
            continue
        runtime.volume.lose_zone(zone)
        hit.append(cluster.db_cluster_identifier)
        writer = _writer(cluster)
        if writer is not None and str(writer.availability_zone) == zone:
            survivors = [r for r in _replicas(cluster) if str(r.availability_zone) != zone]
            chosen = failover_target(
                [
                    Member(
                        r.db_instance_identifier,
                        int(r.promotion_tier),
                        str(r.db_instance_class),
                        str(r.availability_zone),
                    )
                    for r in survivors
                ]
            )
            if chosen is not None:
                backend.failover_db_cluster(cluster.db_cluster_identifier, chosen.identifier)
        set_read_only(runtime, not runtime.volume.can_write())
    return hit


def lose_copies(sandbox: Sandbox, cluster_identifier: str, count: int) -> str:
    """``count`` more copies of the cluster's volume fail; returns the volume in words."""
    runtime = cluster_runtime(sandbox.backend("rds").clusters[cluster_identifier])
    if runtime is None:
        raise ValueError(f"{cluster_identifier} is not an Aurora PostgreSQL cluster")
    runtime.volume.lose_copies(count)
    set_read_only(runtime, not runtime.volume.can_write())
    return runtime.volume.text()


def repair(sandbox: Sandbox, cluster_identifier: str) -> None:
    """Aurora rebuilds every lost copy (the volume repairs itself)."""
    runtime = cluster_runtime(sandbox.backend("rds").clusters[cluster_identifier])
    if runtime is not None:
        runtime.volume.repair()
        set_read_only(runtime, False)


def clone_pages(sandbox: Sandbox, clone_identifier: str, database: str) -> dict[str, int]:
    """How many pages of ``database``'s tables a clone shares with its source, and has copied.

    A page is shared while its content is the same on both volumes (copy-on-write: a page is
    copied the first time either side writes to it); ``copied`` counts the pages that differ or
    exist on one side only.
    """
    backend = sandbox.backend("rds")
    clone = cluster_runtime(backend.clusters[clone_identifier])
    if clone is None or clone.source is None:
        raise ValueError(f"{clone_identifier} is not a clone of an Aurora PostgreSQL cluster")
    source = cluster_runtime(backend.clusters[clone.source])
    if source is None:
        raise ValueError(f"the source of {clone_identifier} is gone")
    shared = copied = 0
    mine, theirs = _page_digests(clone.server, database), _page_digests(source.server, database)
    for key in set(mine) | set(theirs):
        if mine.get(key) is not None and mine.get(key) == theirs.get(key):
            shared += 1
        else:
            copied += 1
    return {"shared": shared, "copied": copied}


def _page_digests(server: Any, database: str) -> dict[tuple[str, int], str]:
    """``(table, page) -> digest of the rows on it`` for every user table of ``database``."""
    tables = server.admin_sql(
        "SELECT quote_ident(schemaname) || '.' || quote_ident(relname) FROM pg_stat_user_tables",
        database=database,
    ).split()
    digests: dict[tuple[str, int], str] = {}
    for table in tables:
        out = server.admin_sql(
            f"SELECT (ctid::text::point)[0]::int, md5(string_agg(t::text, ',' ORDER BY ctid)) "
            f"FROM {table} t GROUP BY 1",
            database=database,
        )
        for line in out.splitlines():
            page, digest = line.split("|")
            digests[(table, int(page))] = digest
    return digests


def snapshot(sandbox: Sandbox, cluster_identifier: str) -> ClusterSnapshot:
    """What :mod:`.view_cluster` shows of a cluster now."""
    cluster = sandbox.backend("rds").clusters[cluster_identifier]
    runtime = cluster_runtime(cluster)
    if runtime is None:
        raise ValueError(f"{cluster_identifier} is not an Aurora PostgreSQL cluster")
    now = sandbox.clock.timestamp
    sessions = (
        int(
            runtime.server.query(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
            )[0][0]
        )
        - 1  # labkit's own administrator
        if runtime.server._running
        else 0
    )
    route_set = next((r for r in _ROUTES if r.runtime is runtime), None)
    spread = route_set.relay.sessions if route_set is not None else {}
    rows = []
    for member in _members(cluster):
        identifier = member.db_instance_identifier
        model = runtime.capacity.get(identifier)
        rows.append(
            InstanceRow(
                identifier,
                "writer" if member.is_cluster_writer else "reader",
                str(member.availability_zone),
                str(member.db_instance_class),
                int(member.promotion_tier),
                sessions if member.is_cluster_writer else int(spread.get(identifier, 0)),
                model.current if model is not None else None,
            )
        )
    refusal = runtime.refusal(now)
    return ClusterSnapshot(
        identifier=cluster_identifier,
        engine=str(cluster.engine),
        now=now,
        status="available" if refusal is None else f"unavailable: {refusal}",
        writer_endpoint=str(cluster.endpoint),
        reader_endpoint=str(cluster.reader_endpoint),
        instances=tuple(rows),
        copies=tuple(runtime.volume.copies),
        can_write=runtime.volume.can_write(),
        can_read=runtime.volume.can_read(),
        connections=max(0, sessions),
        max_connections=int(runtime.server.max_connections),
        failovers=tuple(runtime.failovers),
        acu_history=tuple((k, tuple(m.history)) for k, m in runtime.capacity.items()),
        acu_cost=sum(m.cost() for m in runtime.capacity.values()),
        clone_of=runtime.source,
    )
