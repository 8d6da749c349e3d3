"""Aurora global databases on moto's control plane: a secondary Region's cluster that replays the
primary's log under a second late, and managed switchover and failover.

moto 5.2.5 records global clusters and their member clusters (``CreateGlobalCluster``, a
``CreateDBCluster`` with ``GlobalClusterIdentifier`` in another Region) but leaves the source
cluster's ``IsWriter`` false, runs no engine for a secondary, and has no
``FailoverGlobalCluster`` or ``SwitchoverGlobalCluster``. Here
(https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database.html):

- the cluster a global cluster is created from is its writer (``IsWriter`` true);
- a secondary cluster (created with ``GlobalClusterIdentifier`` and no master user, as AWS
  requires) gets its own engine: a hot standby of the primary's volume fed its log
  ``aurora.global_replication_lag_sandbox`` seconds of lab time late, under the "typically under
  a second" AWS documents (``aurora.global_replication_lag_typical``). Its endpoints answer
  reads; a write fails with PostgreSQL's own "read-only transaction" (no write forwarding);
- ``SwitchoverGlobalCluster`` (planned, no data lost) ships the secondary everything the primary
  committed, then promotes it: it becomes the writer, and the former primary its secondary;
- ``FailoverGlobalCluster`` (unplanned, the primary Region is gone): with
  ``AllowDataLoss=True`` the secondary is promoted with what it has replayed; without it, AWS
  runs a managed failover that waits for the secondary to catch up, which is a switchover.

After a switchover (or a managed failover) the former primary is a secondary of the new
writer: a hot standby of its volume fed its log as late as any secondary, so a write at the new
primary is read at the old one a lag later, and the old one refuses writes (:func:`_demote`);
every other secondary follows the new writer too (:func:`_redirect`).
After a failover with ``AllowDataLoss`` it keeps what it had, read-only, and replicates nothing
(its Region is taken as lost).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from moto.core.responses import ActionResult
from moto.rds import models as rds_models
from moto.rds import responses as rds_responses
from moto.rds.exceptions import InvalidParameterValue, RDSClientError

from labkit import facts
from labkit.services.rds import sim_engine, sim_switchover
from labkit.services.rds.sim_aurora import ClusterRuntime, ClusterVolume
from labkit.services.rds.sim_backups import ReplicaFeed, WalHistory

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox


def replication_lag() -> float:
    """Seconds of lab time a secondary Region runs behind its primary in the sandbox."""
    return float(facts.value("aurora.global_replication_lag_sandbox"))


def _global_of(cluster: Any) -> Any:
    """The moto GlobalCluster that ``cluster`` is a member of, in any Region."""
    from moto.rds.models import rds_backends

    for account in list(dict.values(rds_backends)):
        for backend in list(dict.values(account)):
            for found in list(backend.global_clusters.values()):
                if cluster in found.members:
                    return found
    return None


def _global_named(identifier: str) -> Any:
    from moto.rds.models import rds_backends

    name = identifier.rsplit(":", 1)[-1].lower()
    for account in list(dict.values(rds_backends)):
        for backend in list(dict.values(account)):
            for found in list(backend.global_clusters.values()):
                if found.global_cluster_identifier == name:
                    return found
    return None


def secondary_runtime(sandbox: Sandbox, cluster: Any, limit: int) -> ClusterRuntime | None:
    """The engine of a secondary cluster: a standby of its global cluster's writer volume."""
    from labkit.services.rds.patch_aurora import cluster_runtime

    found = _global_of(cluster)
    writer = next((m for m in found.members if m.is_writer), None) if found else None
    primary = cluster_runtime(writer) if writer is not None else None
    if primary is None or primary.history is None:
        return None
    now = sandbox.clock.timestamp
    segment = primary.history.segment_at(now, now)
    # A physical copy of the primary's volume as it is now, left a standby: replaying the
    # primary's archived log from the template instead fails once the primary is a promoted
    # secondary (its archive starts at the switch, on a new timeline).
    server = sim_engine.PostgresServer.copy_of(primary.server, max_connections=limit, standby=True)
    zones = list(cluster.availability_zones or [])[:3]
    runtime = ClusterRuntime(cluster.db_cluster_identifier, server, ClusterVolume(zones))
    runtime.feed = ReplicaFeed(primary.history, lag=replication_lag(), shipped=segment)
    runtime.writer = primary.writer
    return runtime


def feed(runtime: ClusterRuntime, now: float, *, everything: bool = False) -> None:
    """Ship a secondary what its primary's log has due by ``now`` (all of it with
    ``everything``)."""
    replica_feed = runtime.feed
    if replica_feed is None:
        return
    history = replica_feed.history
    if everything:
        due: str | None = history.segment_at(now, now)
        if due is not None and due <= replica_feed.shipped:
            due = None
    else:
        due = replica_feed.due(now)
    if due is None:
        return
    runtime.server.ship(history.server.segments(due))
    replica_feed.shipped = due


def _demote(old: ClusterRuntime, primary: ClusterRuntime, now: float) -> str:
    """Make the former primary ``old``, stopped cleanly by the switchover, a secondary of the
    new writer ``primary``.

    A switchover keeps the global database's topology: the old primary becomes a read-only
    secondary that replicates from the new primary, as every secondary does
    (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-disaster-recovery.html#aurora-global-database-disaster-recovery.managed-failover).
    Its own volume restarts as a hot standby that follows the new primary's timeline
    (:func:`.sim_switchover.rejoin`: no copy, the two were the same at the switch), fed the new
    primary's log ``aurora.global_replication_lag_sandbox`` late from then on. Its sessions
    dropped when it stopped, as they do while the clusters take their new roles. Its archive
    stays, for snapshots taken before the switch.
    """
    assert primary.history is not None
    segment = primary.history.segment_at(now, now)  # the new primary's log, cut at the switch
    if old.read_only:
        # A standby refuses writes itself; should it be promoted again, it takes them.
        with (old.server.data / "postgresql.auto.conf").open("a", encoding="utf-8") as conf:
            conf.write("default_transaction_read_only = off\n")
    sim_switchover.rejoin(old.server, primary.server, segment)
    old.feed = ReplicaFeed(primary.history, lag=replication_lag(), shipped=segment)
    old.history = None
    old.read_only = False  # a standby: PostgreSQL itself refuses writes
    old.writer = primary.writer
    return str(segment)


def _redirect(found: Any, old: Any, primary: ClusterRuntime, last: str, upto: str) -> None:
    """Make every other secondary of the global database, a standby of the former primary
    ``old``, follow the new writer ``primary`` instead: given the rest of the former primary's
    log (up to ``last``, where it stopped) and the new writer's up to ``upto``, then fed the new
    writer's log as late as before. AWS: "All secondary clusters are synchronized with the
    primary at the beginning of the process", and the switchover keeps the replication
    topology, every secondary replicating from the new primary
    (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_SwitchoverGlobalCluster.html).
    """
    from labkit.services.rds.patch_aurora import cluster_runtime

    assert primary.history is not None
    for member in found.members:
        other = cluster_runtime(member)
        if other is None or other is primary or other.feed is None:
            continue
        if other.feed.history.server is not old.server or old.server is other.server:
            continue
        sim_switchover.redirect(other.server, old.server, other.feed.shipped, last)
        sim_switchover.rejoin(other.server, primary.server, upto)
        other.feed = ReplicaFeed(primary.history, lag=other.feed.lag, shipped=upto)
        other.writer = primary.writer


def _demote_by_copy(old: ClusterRuntime, primary: ClusterRuntime, now: float) -> None:
    """Make ``old`` a secondary of ``primary`` from a physical copy of the new primary's volume
    (``pg_basebackup``): when the target did not replay ``old``'s own log, so the switchover
    could not hand over from ``old`` (:func:`_promote`)."""
    assert primary.history is not None
    segment = primary.history.segment_at(now, now)
    standby = sim_engine.PostgresServer.copy_of(
        primary.server, max_connections=int(old.server.max_connections), standby=True
    )
    retired, old.server = old.server, standby
    retired.destroy(keep_archive=True)  # its log stays for snapshots taken before the switch
    old.feed = ReplicaFeed(primary.history, lag=replication_lag(), shipped=segment)
    old.history = None
    old.read_only = False
    old.writer = primary.writer


def _promote(sandbox: Sandbox, found: Any, target_arn: str, *, catch_up: bool) -> None:
    from labkit.services.rds.patch_aurora import cluster_runtime

    target = next((m for m in found.members if m.db_cluster_arn == target_arn), None)
    if target is None:
        identifier = target_arn.rsplit(":", 1)[-1]
        target = next((m for m in found.members if m.db_cluster_identifier == identifier), None)
    if target is None:
        raise InvalidParameterValue(
            f"{target_arn} is not a secondary cluster of {found.global_cluster_identifier}"
        )
    if target.is_writer:
        raise RDSClientError(
            "InvalidDBClusterStateFault",
            f"{target.db_cluster_identifier} is already the writer of the global database",
        )
    old = next((m for m in found.members if m.is_writer), None)
    now = sandbox.clock.timestamp
    runtime, old_runtime = cluster_runtime(target), cluster_runtime(old) if old else None
    # Planned (a switchover, or a managed failover): the old primary stops cleanly once the
    # target has every commit, and then follows it (see :mod:`.sim_switchover`).
    planned = (
        catch_up
        and runtime is not None
        and runtime.feed is not None
        and old_runtime is not None
        and isinstance(old_runtime.server, sim_engine.PostgresServer)
        and runtime.feed.history.server is old_runtime.server
    )
    last = ""  # where the former primary's log ends, once it has stopped
    if runtime is not None and runtime.feed is not None:
        if catch_up:
            feed(runtime, now, everything=True)  # the secondary gets every commit first
        if planned:
            assert old_runtime is not None
            last = sim_switchover.hand_over(
                old_runtime.server, runtime.server, runtime.feed.shipped
            )
        runtime.server.promote()
        runtime.feed = None
        runtime.history = WalHistory(runtime.server, created=now)
        runtime.read_only = False
    if old is not None:
        old.is_writer = False
        if old_runtime is not None:
            if planned and runtime is not None:
                upto = _demote(old_runtime, runtime, now)  # a secondary of the new writer
                _redirect(found, old_runtime, runtime, last, upto)
            elif catch_up and runtime is not None and runtime.history is not None:
                _demote_by_copy(old_runtime, runtime, now)
            else:
                from labkit.services.rds.patch_aurora import set_read_only

                # Unplanned (AllowDataLoss): the old primary's Region is taken as lost; it keeps
                # what it had, read-only, and replicates nothing.
                set_read_only(old_runtime, True)
                old_runtime.history = None
            old_runtime.failovers.append(
                (now, old.db_cluster_identifier, target.db_cluster_identifier)
            )
    target.is_writer = True
    found.members.sort(key=lambda m: not m.is_writer)


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Give global databases a secondary that replicates, and managed failover/switchover."""
    stack.enter_context(_patched(sandbox))


@contextlib.contextmanager
def _patched(sandbox: Sandbox) -> Iterator[None]:
    backend_cls = rds_models.RDSBackend
    response_cls = rds_responses.RDSResponse
    original_create = backend_cls.create_global_cluster

    def create_global_cluster(self: Any, *args: Any, **kwargs: Any) -> Any:
        found = original_create(self, *args, **kwargs)
        if found.members:
            found.members[0].is_writer = True  # the source cluster is the global writer
        return found

    def _switch(response: Any, *, catch_up: bool) -> ActionResult:
        params = response.params
        found = _global_named(str(params.get("GlobalClusterIdentifier", "")))
        if found is None:
            raise RDSClientError(
                "GlobalClusterNotFoundFault",
                f"Global cluster {params.get('GlobalClusterIdentifier')} not found",
            )
        _promote(
            sandbox, found, str(params.get("TargetDbClusterIdentifier", "")), catch_up=catch_up
        )
        return ActionResult({"GlobalCluster": found})

    def failover_global_cluster(response: Any) -> ActionResult:
        allow_loss = str(response.params.get("AllowDataLoss", "false")).lower() == "true"
        return _switch(response, catch_up=not allow_loss)

    def switchover_global_cluster(response: Any) -> ActionResult:
        return _switch(response, catch_up=True)

    backend_cls.create_global_cluster = create_global_cluster  # type: ignore[method-assign]
    response_cls.failover_global_cluster = failover_global_cluster  # type: ignore[attr-defined]
    response_cls.switchover_global_cluster = switchover_global_cluster  # type: ignore[attr-defined]
    try:
        yield
    finally:
        backend_cls.create_global_cluster = original_create  # type: ignore[method-assign]
        for name in ("failover_global_cluster", "switchover_global_cluster"):
            with contextlib.suppress(AttributeError):
                delattr(response_cls, name)
