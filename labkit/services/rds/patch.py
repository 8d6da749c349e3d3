"""RDS's data plane on moto's control plane: a real PostgreSQL behind every instance's endpoint.

moto 5.2.5 creates, describes, modifies and deletes DB instances (with an ``Endpoint`` of
``<id>.aaaaaaaaaa.<region>.rds.amazonaws.com:5432``) but runs no database: nothing answers at the
endpoint, ``RebootDBInstance`` ignores ``ForceFailover``, and a Multi-AZ instance has no
``SecondaryAvailabilityZone``. Here:

- ``CreateDBInstance`` with a PostgreSQL engine starts a PostgreSQL server for the instance
  (:mod:`.sim_engine`), creates the master user with its password (the server enforces it: a
  wrong password is PostgreSQL's own ``28P01 password authentication failed``) and ``DBName``;
  the endpoint's name is served through the network guard, so ``pg8000.connect(host=endpoint,
  port=5432, user=..., password=...)`` reaches it and nothing else on the network;
- ``ModifyDBInstance(MasterUserPassword=...)`` changes the password on the server;
- ``RebootDBInstance`` drops every open connection; with ``ForceFailover=True`` on a Multi-AZ
  instance it fails over (:mod:`.sim_instance`): unavailable for ``rds.multi_az_failover_seconds``
  on the lab clock, then served from the former standby's AZ; on a Single-AZ instance AWS refuses
  ``ForceFailover``;
- :func:`zone_outage` / :func:`zone_restored` take an Availability Zone down and back (Multi-AZ
  instances fail over, Single-AZ ones are unreachable);
- ``DeleteDBInstance`` stops the server;
- backups and replicas (:mod:`.sim_backups`): the WAL is cut whenever the lab clock moves;
  ``RestoreDBInstanceToPointInTime`` (``RestoreTime`` to the second, or
  ``UseLatestRestorableTime``) and ``RestoreDBInstanceFromDBSnapshot`` replay the archived WAL
  into a new server (moto ignores the restore time and copies nothing);
  ``CreateDBInstanceReadReplica`` starts a hot standby fed the source's WAL
  :data:`~.sim_backups.DEFAULT_REPLICA_LAG` seconds of lab time late (writes fail there with
  PostgreSQL's "read-only transaction"), and ``PromoteReadReplica`` promotes it.

Engines other than PostgreSQL keep moto's control plane; their endpoints refuse connections with
a message that says so (an instructor's real MySQL is future work).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from moto.rds import models as rds_models
from moto.rds import responses as rds_responses
from moto.rds.exceptions import (
    DBSnapshotAlreadyExistsError,
    InvalidParameterCombination,
    InvalidParameterValue,
    RDSClientError,
)

from labkit import facts
from labkit.sandbox import netguard
from labkit.services.rds import sim_capacity, sim_engine, sim_external
from labkit.services.rds.sim_backups import ReplicaFeed, RestoreWindowError, WalHistory
from labkit.services.rds.sim_instance import InstanceRuntime

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

#: The attribute of a moto DBInstance that holds its runtime.
RUNTIME = "_labkit_runtime"
#: The attribute of a moto DBSnapshot that holds the WAL cut it stands for.
CUT = "_labkit_cut"
POSTGRES_ENGINES = ("postgres",)


def runtime_of(database: Any) -> InstanceRuntime | None:
    """The engine runtime of a moto DB instance (``None`` for engines without one)."""
    runtime: InstanceRuntime | None = getattr(database, RUNTIME, None)
    return runtime


class _EndpointRoute:
    """The network guard's route for one endpoint name: finds the instance in the current world."""

    def __init__(self, sandbox: Sandbox, region: str, identifier: str) -> None:
        self._sandbox = sandbox
        self._region = region
        self._identifier = identifier

    def target(self, port: int) -> tuple[str, int]:
        from moto.rds.models import rds_backends

        database = None
        for account in list(rds_backends.values()):
            backend = account.get(self._region) if hasattr(account, "get") else None
            if backend is not None and self._identifier in backend.databases:
                database = backend.databases[self._identifier]
                break
        if database is None:
            raise ConnectionRefusedError(f"no DB instance {self._identifier} in the sandbox")
        runtime = runtime_of(database)
        if runtime is None:
            raise ConnectionRefusedError(
                f"{self._identifier} runs {database.engine}: the sandbox runs PostgreSQL only "
                "(create the instance with Engine='postgres')"
            )
        where = runtime.target(port, self._sandbox.clock.timestamp)
        # The Lambda runtime sets AWS_LAMBDA_FUNCTION_NAME while a handler runs.
        function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        if function_name:
            runtime.connected_from(function_name)
        return where


def _max_connections(backend: Any, database: Any) -> int:
    """The instance's ``max_connections``: its DB parameter group's, else its class's default."""
    group = backend.db_parameter_groups.get(database.db_parameter_group_name or "")
    if group is not None:
        value = group.parameters.get("max_connections", {}).get("ParameterValue")
        if value is not None and str(value).isdigit():
            return min(int(value), sim_capacity.ENGINE_CONNECTIONS_CAP)
    return sim_capacity.engine_connections(str(database.db_instance_class))


def _failover_seconds() -> float:
    return float(facts.fact("rds.multi_az_failover_seconds").value)


def _other_zone(zone: str) -> str:
    # The standby lives in another AZ of the Region: the next letter (a -> b, ...).
    last = zone[-1]
    return zone[:-1] + (chr(ord(last) + 1) if last < "f" else "a")


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Put engines behind RDS endpoints while ``sandbox`` runs."""
    stack.enter_context(_patched(sandbox))


@contextlib.contextmanager
def _patched(sandbox: Sandbox) -> Iterator[None]:
    backend_cls = rds_models.RDSBackend
    instance_cls = rds_models.DBInstance
    response_cls = rds_responses.RDSResponse
    originals: dict[str, Any] = {
        "create_db_instance": backend_cls.create_db_instance,
        "delete_db_instance": backend_cls.delete_db_instance,
        "modify_db_instance": backend_cls.modify_db_instance,
    }
    original_reboot = response_cls.reboot_db_instance
    withdrawals: list[Any] = []
    # Each instance's engine: an embedded PostgresServer, or its database on an instructor's
    # server (sim_external.ExternalServer); both are destroyed with the lab.
    servers: list[Any] = []
    # (source server, last segment) for the create_db_instance a restore is about to make.
    pending: list[tuple[sim_engine.PostgresServer, str]] = []
    more: dict[str, Any] = {
        "create_db_instance_read_replica": backend_cls.create_db_instance_read_replica,
        "promote_read_replica": backend_cls.promote_read_replica,
        "create_db_snapshot": backend_cls.create_db_snapshot,
        "copy_db_snapshot": backend_cls.copy_db_snapshot,
    }
    original_pitr = response_cls.restore_db_instance_to_point_in_time
    original_from_snapshot = response_cls.restore_db_instance_from_db_snapshot

    def create_db_instance(self: Any, db_kwargs: dict[str, Any]) -> Any:
        watch_current_clock()
        restore, pending[:] = list(pending), []
        database = originals["create_db_instance"](self, db_kwargs)
        if str(database.engine).lower() in POSTGRES_ENGINES:
            # The class's documented default max_connections: the engine refuses the next one.
            limit = _max_connections(self, database)
            server: Any
            if restore:
                source, segment = restore[0]
                # The master user and its password come back with the data, as on AWS.
                server = sim_engine.PostgresServer.recover(
                    source.segments(segment), standby=False, max_connections=limit
                )
            elif sim_external.configured_url():
                server = sim_external.ExternalServer.from_url(str(sim_external.configured_url()))
                withdrawals.append(netguard.allow_remote(server.host, server.port))
                server.provision(
                    database.master_username,
                    db_kwargs.get("master_user_password") or "",
                    database.db_name,
                )
            else:
                server = sim_engine.PostgresServer.create(max_connections=limit)
                server.provision(
                    database.master_username,
                    db_kwargs.get("master_user_password") or "",
                    database.db_name,
                )
            servers.append(server)
            external = isinstance(server, sim_external.ExternalServer)
            zone = database.availability_zone
            setattr(
                database,
                RUNTIME,
                InstanceRuntime(
                    identifier=database.db_instance_identifier,
                    server=server,
                    endpoint_port=int(database.port),
                    availability_zone=zone,
                    secondary_zone=_other_zone(zone) if database.multi_az else None,
                    host=server.host if external else "127.0.0.1",
                    history=None
                    if external
                    else WalHistory(server, created=sandbox.clock.timestamp),
                ),
            )
        route = _EndpointRoute(sandbox, self.region_name, database.db_instance_identifier)
        withdrawals.append(netguard.serve_endpoint(database.address, route))
        return database

    def delete_db_instance(
        self: Any, db_instance_identifier: str, *args: Any, **kwargs: Any
    ) -> Any:
        database = originals["delete_db_instance"](self, db_instance_identifier, *args, **kwargs)
        runtime = runtime_of(database)
        if runtime is not None:
            # Snapshots and retained backups outlive the instance: keep its WAL archive.
            runtime.server.destroy(keep_archive=True)
        return database

    def create_db_instance_read_replica(self: Any, db_kwargs: dict[str, Any]) -> Any:
        source_id = db_kwargs["source_db_instance_identifier"]
        _refuse_external(runtime_of(self.find_db_from_id(source_id)), "A read replica")
        replica = more["create_db_instance_read_replica"](self, db_kwargs)
        source = runtime_of(self.find_db_from_id(source_id))
        setattr(replica, RUNTIME, None)
        if source is not None and source.history is not None:
            now = sandbox.clock.timestamp
            segment = source.history.segment_at(now, now)
            server = sim_engine.PostgresServer.recover(
                source.server.segments(segment),
                standby=True,
                max_connections=sim_capacity.engine_connections(str(replica.db_instance_class)),
            )
            servers.append(server)
            server.ship(source.server.segments(segment))
            zone = db_kwargs.get("availability_zone") or source.secondary_zone or "us-east-1b"
            setattr(
                replica,
                RUNTIME,
                InstanceRuntime(
                    identifier=replica.db_instance_identifier,
                    server=server,
                    endpoint_port=int(replica.port),
                    availability_zone=str(zone),
                    secondary_zone=None,
                    feed=ReplicaFeed(source.history, shipped=segment),
                ),
            )
        route = _EndpointRoute(sandbox, self.region_name, replica.db_instance_identifier)
        withdrawals.append(netguard.serve_endpoint(replica.address, route))
        return replica

    def promote_read_replica(self: Any, db_kwargs: dict[str, Any]) -> Any:
        database = self.databases.get(db_kwargs["db_instance_identifier"])
        runtime = runtime_of(database)
        if runtime is not None and runtime.feed is not None:
            _feed(runtime, sandbox.clock.timestamp)
            runtime.server.promote()
            runtime.feed = None
            runtime.history = WalHistory(runtime.server, created=sandbox.clock.timestamp)
        return more["promote_read_replica"](self, db_kwargs)

    def create_db_snapshot(self: Any, *args: Any, **kwargs: Any) -> Any:
        snapshot = more["create_db_snapshot"](self, *args, **kwargs)
        identifier = kwargs.get("db_instance_identifier") or (args[0] if args else None)
        runtime = runtime_of(self.databases.get(identifier))
        if runtime is not None and runtime.history is not None:
            now = sandbox.clock.timestamp
            setattr(snapshot, CUT, (runtime.server, runtime.history.segment_at(now, now)))
        return snapshot

    def copy_db_snapshot(
        self: Any, source_db_snapshot_identifier: str, target_db_snapshot_identifier: str, **kw: Any
    ) -> Any:
        # A copy restores to the same data (its cut of the source's WAL). moto looked a source
        # ARN of another Region up in the target Region and found nothing: a copy to another
        # Region (disaster recovery) is looked up where the ARN says.
        source, source_backend = _snapshot_by_arn(source_db_snapshot_identifier)
        if source is None:
            copy = more["copy_db_snapshot"](
                self, source_db_snapshot_identifier, target_db_snapshot_identifier, **kw
            )
            source = self.get_db_snapshot(source_db_snapshot_identifier)
        else:
            del source_backend
            if target_db_snapshot_identifier in self.database_snapshots:
                raise DBSnapshotAlreadyExistsError(target_db_snapshot_identifier)
            tags = kw.get("tags") or (source.tags if kw.get("copy_tags") else None) or []
            copy = rds_models.DBSnapshot(
                self,
                source.database,
                target_db_snapshot_identifier,
                tags=tags,
                original_created_at=source.original_snapshot_create_time,
            )
            self.database_snapshots[target_db_snapshot_identifier] = copy
        if getattr(source, CUT, None) is not None:
            setattr(copy, CUT, getattr(source, CUT))
        return copy

    def restore_db_instance_to_point_in_time(self: Any) -> Any:
        source_id = self.params.get("SourceDBInstanceIdentifier")
        database = self.backend.describe_db_instances(source_id)[0]
        runtime = runtime_of(database)
        _refuse_external(runtime, "A point-in-time restore")
        if runtime is not None and runtime.history is not None:
            now = sandbox.clock.timestamp
            when = _restore_time(self.params, now)
            retention = int(database.backup_retention_period or 0)
            if retention == 0:
                raise RDSClientError(
                    "InvalidDBInstanceState",
                    f"Automated backups are not enabled for {source_id} "
                    "(BackupRetentionPeriod is 0): there is no point in time to restore to.",
                )
            earliest = max(runtime.history.created, now - retention * 86400)
            if when < earliest or when > now:
                raise InvalidParameterValue(
                    f"RestoreTime must be within the restorable window of {source_id}: from "
                    f"{_iso(earliest)} to {_iso(now)} (lab time)."
                )
            try:
                pending[:] = [(runtime.server, runtime.history.segment_at(when, now))]
            except RestoreWindowError as error:
                raise InvalidParameterValue(error.message) from error
        try:
            return original_pitr(self)
        finally:
            pending.clear()

    def restore_db_instance_from_db_snapshot(self: Any) -> Any:
        name = str(self.params.get("DBSnapshotIdentifier", "")).rsplit(":", 1)[-1]
        snapshot = self.backend.describe_db_snapshots(None, name)[0]
        cut = getattr(snapshot, CUT, None)
        if cut is None and sim_external.configured_url():
            raise InvalidParameterCombination(
                sim_external.needs_embedded(name, "A restore from the snapshot")
            )
        if cut is not None:
            pending[:] = [cut]
        try:
            return original_from_snapshot(self)
        finally:
            pending.clear()

    def on_move(now: Any) -> None:
        when = sandbox.clock.timestamp
        databases = [db for backend in _all_backends() for db in backend.databases.values()]
        for database in databases:
            runtime = runtime_of(database)
            if runtime is not None and runtime.history is not None:
                runtime.history.moved(when)
        for database in databases:
            runtime = runtime_of(database)
            if runtime is not None and runtime.feed is not None:
                _feed(runtime, when)

    def modify_db_instance(
        self: Any, db_instance_identifier: str, db_kwargs: dict[str, Any]
    ) -> Any:
        database = originals["modify_db_instance"](self, db_instance_identifier, db_kwargs)
        runtime = runtime_of(database)
        password = db_kwargs.get("master_user_password")
        if runtime is not None and password:
            runtime.server.set_password(database.master_username, password)
        if "db_instance_identifier" in db_kwargs and runtime is not None:
            runtime.identifier = database.db_instance_identifier
            route = _EndpointRoute(sandbox, self.region_name, database.db_instance_identifier)
            withdrawals.append(netguard.serve_endpoint(database.address, route))
        return database

    def reboot_db_instance(self: Any) -> Any:
        result = original_reboot(self)
        database = self.backend.describe_db_instances(self.params.get("DBInstanceIdentifier"))[0]
        runtime = runtime_of(database)
        force = str(self.params.get("ForceFailover", "false")).lower() == "true"
        if force and not database.multi_az:
            raise InvalidParameterCombination(
                "Cannot do a forced failover on a Single-AZ DB instance "
                f"{database.db_instance_identifier}: it has no standby."
            )
        if runtime is not None:
            now = sandbox.clock.timestamp
            if force:
                runtime.failover(now, _failover_seconds(), "failover: reboot with failover")
            else:
                runtime.reboot(now, 0)
        return result

    # moto reads these names when it serializes a DBInstance.
    def availability_zone(self: Any) -> Any:
        runtime = runtime_of(self)
        return runtime.availability_zone if runtime else self.__dict__.get("_labkit_az")

    def set_availability_zone(self: Any, value: Any) -> None:
        self.__dict__["_labkit_az"] = value
        runtime = runtime_of(self)
        if runtime is not None:
            runtime.availability_zone = value

    def secondary_availability_zone(self: Any) -> Any:
        runtime = runtime_of(self)
        return runtime.secondary_zone if runtime else None

    def db_instance_status(self: Any) -> Any:
        runtime = runtime_of(self)
        if runtime is not None and self.__dict__.get("_labkit_status") == "available":
            return runtime.status(sandbox.clock.timestamp)
        return self.__dict__.get("_labkit_status")

    def set_db_instance_status(self: Any, value: Any) -> None:
        self.__dict__["_labkit_status"] = value

    backend_cls.create_db_instance = create_db_instance  # type: ignore[method-assign]
    backend_cls.delete_db_instance = delete_db_instance  # type: ignore[method-assign]
    backend_cls.modify_db_instance = modify_db_instance  # type: ignore[method-assign]
    response_cls.reboot_db_instance = reboot_db_instance  # type: ignore[method-assign]
    backend_cls.create_db_instance_read_replica = create_db_instance_read_replica  # type: ignore[method-assign]
    backend_cls.promote_read_replica = promote_read_replica  # type: ignore[method-assign]
    backend_cls.create_db_snapshot = create_db_snapshot  # type: ignore[method-assign]
    backend_cls.copy_db_snapshot = copy_db_snapshot  # type: ignore[method-assign,assignment]
    response_cls.restore_db_instance_to_point_in_time = restore_db_instance_to_point_in_time  # type: ignore[method-assign]
    response_cls.restore_db_instance_from_db_snapshot = restore_db_instance_from_db_snapshot  # type: ignore[method-assign]
    # A check's isolated world runs on a clock of its own: watch whichever clock the sandbox
    # follows when an instance is created there, so that its WAL is cut on that clock too.
    # (The clocks are kept, so that an id is never reused by another clock.)
    watched = {id(sandbox.lab_clock): (sandbox.lab_clock, sandbox.lab_clock.watch(on_move))}

    def watch_current_clock() -> None:
        clock = sandbox.clock
        if id(clock) not in watched:
            watched[id(clock)] = (clock, clock.watch(on_move))

    def unwatch() -> None:
        for _clock, stop in watched.values():
            stop()

    def on_reset() -> None:
        # lab.reset() wiped every instance (and snapshot): their servers go too.
        for server in list(servers):
            server.destroy()
        servers.clear()

    sandbox.on_reset(on_reset)
    saved_attrs = {
        name: instance_cls.__dict__.get(name)
        for name in ("availability_zone", "secondary_availability_zone", "status")
    }
    instance_cls.availability_zone = property(availability_zone, set_availability_zone)  # type: ignore[assignment]
    instance_cls.secondary_availability_zone = property(secondary_availability_zone)  # type: ignore[attr-defined]
    instance_cls.status = property(db_instance_status, set_db_instance_status)  # type: ignore[assignment]
    try:
        yield
    finally:
        for name, function in originals.items():
            setattr(backend_cls, name, function)
        response_cls.reboot_db_instance = original_reboot  # type: ignore[method-assign]
        for name, function in more.items():
            setattr(backend_cls, name, function)
        response_cls.restore_db_instance_to_point_in_time = original_pitr  # type: ignore[method-assign]
        response_cls.restore_db_instance_from_db_snapshot = original_from_snapshot  # type: ignore[method-assign]
        unwatch()
        for name, value in saved_attrs.items():
            if value is None:
                with contextlib.suppress(AttributeError):
                    delattr(instance_cls, name)
            else:
                setattr(instance_cls, name, value)
        for withdraw in withdrawals:
            withdraw()
        for server in servers:
            server.destroy()


def _snapshot_by_arn(identifier: str) -> tuple[Any, Any]:
    """The snapshot an ARN names, and its backend, when the ARN is another Region's or account's
    (``(None, None)`` for a plain name: the caller's own backend has it)."""
    from moto.rds.models import rds_backends

    parts = identifier.split(":")
    if not identifier.startswith("arn:aws:rds:") or len(parts) < 7:
        return None, None
    region, account, name = parts[3], parts[4], parts[-1]
    backend = rds_backends[account][region]
    return backend.database_snapshots.get(name), backend


def _refuse_external(runtime: InstanceRuntime | None, what: str) -> None:
    """Refuse what replays the WAL when the instance runs on an instructor's server."""
    if runtime is not None and isinstance(runtime.server, sim_external.ExternalServer):
        raise InvalidParameterCombination(sim_external.needs_embedded(runtime.identifier, what))


def _all_backends() -> list[Any]:
    from moto.rds.models import rds_backends

    found: list[Any] = []
    for account in list(dict.values(rds_backends)):
        found.extend(dict.values(account))
    return found


def _feed(runtime: InstanceRuntime, now: float) -> None:
    """Give a read replica the source's log that is due by ``now``."""
    feed = runtime.feed
    due = feed.due(now)
    if due is None:
        return
    source = feed.history.server
    runtime.server.ship(source.segments(due))
    feed.shipped = due


def _restore_time(params: Any, now: float) -> float:
    if str(params.get("UseLatestRestorableTime", "false")).lower() == "true":
        return now
    value = params.get("RestoreTime")
    if value is None:
        raise InvalidParameterCombination("Specify RestoreTime or UseLatestRestorableTime.")
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.timestamp()


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _instances(sandbox: Sandbox) -> list[Any]:
    return list(sandbox.backend("rds").databases.values())


def zone_outage(sandbox: Sandbox, zone: str) -> list[str]:
    """Take Availability Zone ``zone`` down; returns the instances it affected."""
    now = sandbox.clock.timestamp
    hit = []
    for database in _instances(sandbox):
        runtime = runtime_of(database)
        if runtime is not None and runtime.availability_zone == zone:
            runtime.zone_outage(zone, now, _failover_seconds())
            hit.append(runtime.identifier)
    return hit


def zone_restored(sandbox: Sandbox, zone: str) -> None:
    """Bring Availability Zone ``zone`` back."""
    for database in _instances(sandbox):
        runtime = runtime_of(database)
        if runtime is not None:
            runtime.zone_restored(zone)
