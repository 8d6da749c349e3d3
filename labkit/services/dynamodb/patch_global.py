"""Global tables (version 2019.11.21) in the sandbox: replicas in other Regions, replication on
the lab clock, last writer wins, and Regions that fail.

moto ignores ``ReplicaUpdates`` (and ``TableClass``) on ``UpdateTable``: no replica is ever
created. While a lab runs, this patch makes them work as AWS documents:

- ``update_table(TableName=t, ReplicaUpdates=[{"Create": {"RegionName": r}}])`` creates the
  replica table ``t`` in Region ``r`` with the same key schema, indexes, capacity mode and stream
  setting, filled with the table's items; ``[{"Delete": {"RegionName": r}}]`` (or
  ``DeleteTable`` in ``r``) removes it. ``DescribeTable`` in any replica Region shows the other
  replicas under ``Replicas`` (with ``ReplicaStatus``) and ``GlobalTableVersion``
  ``2019.11.21`` (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables_versions.html).
  As AWS requires, a provisioned table needs auto scaling on its write capacity first
  ("Table write capacity should either be Pay-Per-Request or AutoScaled"); unlike the legacy
  2017.11.29 version, the current version does not need streams enabled first
  (fact ``dynamodb.global_tables_streams_required_first``).
- every write in any replica (put, update, delete, batch, transaction, TTL deletion) reaches the
  other replicas after a lag on the lab clock (:mod:`labkit.services.dynamodb.sim_replication`:
  0.2-1 s, "usually within a second"); conflicting writes resolve last writer wins, so one of
  two concurrent updates is lost everywhere;
- a Region taken down with ``labkit.edge.fail_region(r)`` (the one notion of a Region outage)
  refuses every DynamoDB and DynamoDB Streams call made to ``r`` with botocore's
  ``EndpointConnectionError`` ("Could not connect to the endpoint URL"), what a boto3 user sees
  when a Regional endpoint does not answer; the other replicas keep serving. Writes on their way
  into ``r`` wait and land once ``restore_region(r)`` has brought it back (checked at every
  DynamoDB call and every 10 s of lab time).

``TableClass`` on ``CreateTable``/``UpdateTable`` is kept and reported as ``TableClassSummary``
(STANDARD or STANDARD_INFREQUENT_ACCESS), for the cost calculator in
:mod:`labkit.services.dynamodb.sim_pricing`.

State lives on moto's DynamoDB backends (``labkit_global``: table name to its
:class:`~labkit.services.dynamodb.sim_replication.ReplicaGroup`, one object shared by the
replica Regions), so ``lab.reset()`` and a check's isolated world cover it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from botocore.exceptions import EndpointConnectionError
from moto.core.exceptions import JsonRESTError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.core.responses import BaseResponse
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

from labkit.services.dynamodb.patch_ttl import key_text
from labkit.services.dynamodb.sim_replication import (
    VERSION,
    GlobalTableSnapshot,
    PendingWrite,
    Replica,
    ReplicaGroup,
    ReplicaSnapshot,
    typical_lag,
)
from labkit.services.edge.patch import region_down_now

if TYPE_CHECKING:
    from labkit.clock import Clock
    from labkit.sandbox.session import Sandbox

#: Lab seconds between checks for writes waiting on a failed Region.
RETRY_SECONDS = 10.0
#: The table classes DynamoDB offers (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.TableClasses.html).
TABLE_CLASSES = ("STANDARD", "STANDARD_INFREQUENT_ACCESS")

_GROUPS = "labkit_global"
_APPLYING = "labkit_replicating"
_CLASS = "labkit_table_class"


class GlobalTableValidationError(JsonRESTError):
    """A replica update AWS refuses."""

    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


# -- registry -----------------------------------------------------------------------------------
def _groups(backend: DynamoDBBackend) -> dict[str, ReplicaGroup]:
    found: dict[str, ReplicaGroup] = backend.__dict__.setdefault(_GROUPS, {})
    return found


def group_of(backend: Any, table_name: str) -> ReplicaGroup | None:
    """The global table ``table_name`` belongs to in ``backend``'s Region, if any."""
    groups: dict[str, ReplicaGroup] = backend.__dict__.get(_GROUPS) or {}
    return groups.get(table_name)


def _backend(account: str, region: str) -> DynamoDBBackend:
    backend: DynamoDBBackend = dynamodb_backends[account][region]
    return backend


def _available_regions() -> list[str]:
    import boto3

    return list(boto3.session.Session().get_available_regions("dynamodb"))


# -- install ------------------------------------------------------------------------------------
def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install the global table patches for ``sandbox``."""
    stack.enter_context(global_tables(lambda: sandbox.clock, sandbox.seed))


@contextmanager
def global_tables(clock_of: Callable[[], Clock], seed: int) -> Iterator[None]:
    """Patch moto so that replicas, replication and Region outages work on the lab clock."""
    call_action = DynamoHandler.call_action
    update_table = DynamoHandler.update_table
    create_table = DynamoHandler.create_table
    describe = Table.describe
    put_item = Table.put_item
    delete_item = Table.delete_item
    update_item = DynamoDBBackend.update_item
    delete_table = DynamoDBBackend.delete_table

    def refuse_if_down(handler: BaseResponse) -> None:
        region = handler.region
        clock = clock_of()
        if region_down_now(region, clock.timestamp):
            raise EndpointConnectionError(
                endpoint_url=f"https://{handler.service_name}.{region}.amazonaws.com/"
            )
        catch_up(clock, handler.current_account, region)

    def handler_call_action(self: DynamoHandler) -> Any:
        refuse_if_down(self)
        return call_action(self)

    def streams_call_action(self: DynamoDBStreamsHandler) -> Any:
        refuse_if_down(self)
        return BaseResponse.call_action(self)

    def handler_create_table(self: DynamoHandler) -> Any:
        table_class = self.body.get("TableClass")
        _check_class(table_class)
        result = create_table(self)
        if table_class:
            table = self.dynamodb_backend.get_table(self.body["TableName"])
            table.__dict__[_CLASS] = (table_class, clock_of().now)
            result = _with_description(result, table)
        return result

    def handler_update_table(self: DynamoHandler) -> Any:
        name = self.body["TableName"]
        table_class = self.body.get("TableClass")
        _check_class(table_class)
        updates = self.body.get("ReplicaUpdates") or []
        if updates:
            table = self.dynamodb_backend.get_table(name)
            for update in updates:
                if "Create" in update:
                    create_replica(clock_of(), self.dynamodb_backend, table, update["Create"])
                elif "Delete" in update:
                    delete_replica(self.dynamodb_backend, table, update["Delete"])
        if table_class:
            table = self.dynamodb_backend.get_table(name)
            table.__dict__[_CLASS] = (table_class, clock_of().now)
        return update_table(self)

    def table_describe(self: Table, base_key: str = "TableDescription") -> dict[str, Any]:
        result: dict[str, Any] = describe(self, base_key)
        body = result[base_key]
        chosen = self.__dict__.get(_CLASS)
        if chosen is not None:
            body["TableClassSummary"] = {"TableClass": chosen[0], "LastUpdateDateTime": chosen[1]}
        backend = dynamodb_backends[self.account_id][self.region_name]
        group = group_of(backend, self.name)
        if group is not None and len(group.replicas) > 1:
            body["GlobalTableVersion"] = VERSION
            body["Replicas"] = [
                {"RegionName": r.region, "ReplicaStatus": r.status}
                for r in group.replicas.values()
                if r.region != self.region_name
            ]
        return result

    def replicate(table: Table, item: Item | None, keys_from: Item) -> None:
        backend = _backend(table.account_id, table.region_name)
        if backend.__dict__.get(_APPLYING):
            return
        group = group_of(backend, table.name)
        if group is None or len(group.replicas) < 2:
            return
        clock = clock_of()
        image = copy.deepcopy(item.to_json()["Attributes"]) if item is not None else None
        writes = group.local_write(
            table.region_name,
            key_text(keys_from),
            _keys_json(table, keys_from),
            image,
            clock.timestamp,
            seed,
        )
        for write in writes:
            clock.call_at(
                write.due, _lander(clock, table.account_id, group, write), label="ddb replication"
            )

    def table_put_item(self: Table, *args: Any, **kwargs: Any) -> Item:
        item: Item = put_item(self, *args, **kwargs)
        replicate(self, item, item)
        return item

    def table_delete_item(self: Table, hash_key: Any, range_key: Any) -> Item | None:
        item: Item | None = delete_item(self, hash_key, range_key)
        if item is not None:
            replicate(self, None, item)
        return item

    def backend_update_item(self: DynamoDBBackend, table_name: str, *args: Any, **kw: Any) -> Item:
        item: Item = update_item(self, table_name, *args, **kw)
        if item is not None:
            replicate(self.get_table(table_name), item, item)
        return item

    def backend_delete_table(self: DynamoDBBackend, name: str) -> Table:
        table: Table = delete_table(self, name)
        group = group_of(self, table.name)
        if group is not None:
            _leave(self.account_id, group, self.region_name)
        return table

    DynamoHandler.call_action = handler_call_action  # type: ignore[method-assign]
    DynamoDBStreamsHandler.call_action = streams_call_action  # type: ignore[method-assign,assignment]
    DynamoHandler.create_table = handler_create_table  # type: ignore[method-assign]
    DynamoHandler.update_table = handler_update_table  # type: ignore[method-assign]
    Table.describe = table_describe  # type: ignore[method-assign]
    Table.put_item = table_put_item  # type: ignore[method-assign]
    Table.delete_item = table_delete_item  # type: ignore[method-assign]
    DynamoDBBackend.update_item = backend_update_item  # type: ignore[method-assign]
    DynamoDBBackend.delete_table = backend_delete_table  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoHandler.call_action = call_action  # type: ignore[method-assign]
        del DynamoDBStreamsHandler.call_action
        DynamoHandler.create_table = create_table  # type: ignore[method-assign]
        DynamoHandler.update_table = update_table  # type: ignore[method-assign]
        Table.describe = describe  # type: ignore[method-assign]
        Table.put_item = put_item  # type: ignore[method-assign]
        Table.delete_item = delete_item  # type: ignore[method-assign]
        DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]
        DynamoDBBackend.delete_table = delete_table  # type: ignore[method-assign]


def _check_class(table_class: Any) -> None:
    if table_class is not None and table_class not in TABLE_CLASSES:
        raise GlobalTableValidationError(
            f"1 validation error detected: Value '{table_class}' at 'tableClass' failed to "
            f"satisfy constraint: Member must satisfy enum value set: [{', '.join(TABLE_CLASSES)}]"
        )


def _with_description(result: Any, table: Table) -> Any:
    """moto's CreateTable answer, re-described now that the table class is known."""
    from moto.core.responses import ActionResult

    return ActionResult(table.describe()) if isinstance(result, ActionResult) else result


def _keys_json(table: Table, item: Item) -> dict[str, Any]:
    keys = {table.hash_key_attr: item.hash_key.to_json()}
    if table.range_key_attr is not None and item.range_key is not None:
        keys[table.range_key_attr] = item.range_key.to_json()
    return keys


# -- replicas -------------------------------------------------------------------------------------
def _autoscaled_writes(table: Table) -> bool:
    """Whether Application Auto Scaling manages the table's write capacity."""
    from labkit.sandbox.backends import existing_in

    resource = f"table/{table.name}"
    for backend in existing_in("application-autoscaling", table.account_id, table.region_name):
        targets = getattr(backend, "targets", {}) or {}
        if resource in targets.get("dynamodb:table:WriteCapacityUnits", {}):
            return True
    return False


def create_replica(
    clock: Clock, backend: DynamoDBBackend, table: Table, spec: dict[str, Any]
) -> ReplicaGroup:
    """Add a replica of ``table`` in ``spec["RegionName"]`` (UpdateTable's ``Create``)."""
    region = str(spec.get("RegionName") or "")
    if region not in _available_regions():
        raise GlobalTableValidationError(f"Region {region!r} is not a valid AWS Region.")
    if region == table.region_name:
        raise GlobalTableValidationError(
            f"Cannot add replica in the Region of the table itself: {region}"
        )
    if table.billing_mode != "PAY_PER_REQUEST" and not _autoscaled_writes(table):
        # AWS's answer for a provisioned table without write auto scaling.
        raise GlobalTableValidationError(
            "Table write capacity should either be Pay-Per-Request or AutoScaled."
        )
    destination = _backend(table.account_id, region)
    group = group_of(backend, table.name)
    if group is not None and region in group.replicas:
        raise GlobalTableValidationError(f"Replica already exists in Region {region}.")
    if table.name in destination.tables:
        raise GlobalTableValidationError(
            f"Failed to create a the new replica of table with name: '{table.name}' because one "
            "or more replicas already existed as tables."
        )
    now = clock.timestamp
    if group is None:
        group = ReplicaGroup(table.name)
        group.replicas[table.region_name] = Replica(table.region_name, created_at=now)
        _groups(backend)[table.name] = group
    replica_table = destination.create_table(
        name=table.name,
        schema=copy.deepcopy(table.schema),
        throughput=copy.deepcopy(
            {k: v for k, v in table.throughput.items() if k != "NumberOfDecreasesToday"}
        )
        if table.billing_mode != "PAY_PER_REQUEST"
        else None,
        attr=copy.deepcopy(table.attr),
        global_indexes=[
            {
                "IndexName": i.name,
                "KeySchema": copy.deepcopy(i.schema),
                "Projection": copy.deepcopy(i.projection),
            }
            for i in table.global_indexes
        ],
        indexes=[
            {
                "IndexName": i.name,
                "KeySchema": copy.deepcopy(i.schema),
                "Projection": copy.deepcopy(i.projection),
            }
            for i in table.indexes
        ],
        streams=copy.deepcopy(table.stream_specification)
        if (table.stream_specification or {}).get("StreamEnabled")
        else None,
        billing_mode=str(table.billing_mode or "PROVISIONED"),
        sse_specification=None,
        tags=[],
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    if _CLASS in table.__dict__:
        replica_table.__dict__[_CLASS] = table.__dict__[_CLASS]
    group.replicas[region] = Replica(region, created_at=now)
    _groups(destination)[table.name] = group
    # The new replica starts with the table's items (AWS backfills it), at their versions.
    destination.__dict__[_APPLYING] = True
    try:
        for item in table.all_items():
            replica_table.put_item(copy.deepcopy(item.to_json()["Attributes"]))
            key = key_text(item)
            held = group.versions.get((table.region_name, key))
            if held is not None:
                group.versions[(region, key)] = held
    finally:
        destination.__dict__[_APPLYING] = False
    return group


def delete_replica(backend: DynamoDBBackend, table: Table, spec: dict[str, Any]) -> None:
    """Remove the replica in ``spec["RegionName"]`` (UpdateTable's ``Delete``)."""
    region = str(spec.get("RegionName") or "")
    group = group_of(backend, table.name)
    if group is None or region not in group.replicas:
        raise GlobalTableValidationError(f"Replica does not exist in Region {region}.")
    target = _backend(table.account_id, region)
    target.tables.pop(table.name, None)
    _leave(table.account_id, group, region)


def _leave(account: str, group: ReplicaGroup, region: str) -> None:
    group.drop_region(region)
    _groups(_backend(account, region)).pop(group.table, None)
    if len(group.replicas) <= 1:
        # One table left: it is a regional table again.
        for remaining in list(group.replicas):
            _groups(_backend(account, remaining)).pop(group.table, None)
        group.replicas.clear()


# -- replication ----------------------------------------------------------------------------------
def _lander(
    clock: Clock, account: str, group: ReplicaGroup, write: PendingWrite
) -> Callable[[], None]:
    def land() -> None:
        deliver(clock, account, group, write)

    return land


def deliver(clock: Clock, account: str, group: ReplicaGroup, write: PendingWrite) -> bool:
    """Land one replicated write (or park it while its Region is down); ``True`` if applied."""
    if not any(w is write for w in group.pending):
        return False  # already landed, or its replica left
    now = clock.timestamp
    if region_down_now(write.destination, now):
        if not write.parked:
            write.parked = True
            _schedule_retry(clock, account, group)
        return False
    write.parked = False
    if group_of(_backend(account, write.destination), group.table) is not group:
        return False
    if not group.arrive(write, now):
        return False
    backend = _backend(account, write.destination)
    table = backend.tables.get(group.table)
    if table is None or group_of(backend, group.table) is not group:
        return False  # the replica left, or the world was reset and the name reused
    backend.__dict__[_APPLYING] = True
    try:
        if write.image is not None:
            table.put_item(copy.deepcopy(write.image))
        else:
            hash_key = DynamoType(write.keys[table.hash_key_attr])
            range_json = write.keys.get(table.range_key_attr) if table.range_key_attr else None
            table.delete_item(hash_key, DynamoType(range_json) if range_json else None)
    finally:
        backend.__dict__[_APPLYING] = False
    return True


def catch_up(clock: Clock, account: str, region: str) -> None:
    """Writes parked for ``region`` leave once it is up again, each after its usual lag."""
    backend = (
        dynamodb_backends[account].get(region) if region in dynamodb_backends[account] else None
    )
    groups: dict[str, ReplicaGroup] = (backend.__dict__.get(_GROUPS) or {}) if backend else {}
    now = clock.timestamp
    for group in list(groups.values()):
        for write in group.pending:
            if write.parked and write.destination == region and not region_down_now(region, now):
                write.parked = False
                write.due = now + max(0.0, write.due - write.written_at)
                clock.call_at(
                    write.due, _lander(clock, account, group, write), label="ddb replication"
                )


def _schedule_retry(clock: Clock, account: str, group: ReplicaGroup) -> None:
    if getattr(group, "retry_armed", False):
        return
    group.__dict__["retry_armed"] = True

    def retry() -> None:
        group.__dict__["retry_armed"] = False
        regions = {w.destination for w in group.pending if w.parked}
        for region in regions:
            catch_up(clock, account, region)
        if any(w.parked for w in group.pending):
            _schedule_retry(clock, account, group)

    clock.call_later(RETRY_SECONDS, retry, label=f"ddb replication retry {group.table}")


# -- lesson helpers and readers -------------------------------------------------------------------
def set_replication_lag(
    table_name: str,
    seconds: float | None,
    *,
    region: str | None = None,
    sandbox: Sandbox | None = None,
) -> None:
    """Fix the replication lag of a global table (``None``: back to labkit's model)."""
    from labkit.services.edge.patch import running

    sandbox = sandbox or running()
    group = group_of(sandbox.backend("dynamodb", region=region), table_name)
    if group is None:
        raise GlobalTableValidationError(f"{table_name!r} is not a global table in this Region.")
    group.fixed_lag = None if seconds is None else float(seconds)


def state_global(
    table_name: str, *, region: str | None = None, sandbox: Sandbox | None = None
) -> GlobalTableSnapshot | None:
    """A snapshot of the global table ``table_name`` for views and checks (``None`` if the table
    has no replicas)."""
    from labkit.sandbox.backends import existing_in
    from labkit.services.edge.patch import running

    sandbox = sandbox or running()
    home = region or sandbox.region
    found = [b for b in existing_in("dynamodb", DEFAULT_ACCOUNT_ID, home)]
    group = group_of(found[0], table_name) if found else None
    if group is None or len(group.replicas) < 2:
        return None
    now = sandbox.clock.timestamp
    replicas: list[ReplicaSnapshot] = []
    for replica in group.replicas.values():
        incoming = group.pending_into(replica.region)
        tables = [
            b.tables.get(table_name)
            for b in existing_in("dynamodb", DEFAULT_ACCOUNT_ID, replica.region)
        ]
        table = tables[0] if tables else None
        replicas.append(
            ReplicaSnapshot(
                region=replica.region,
                status=replica.status,
                reachable=not region_down_now(replica.region, now),
                pending=len(incoming),
                parked=sum(1 for w in incoming if w.parked),
                oldest_pending_age=(now - min(w.written_at for w in incoming))
                if incoming
                else None,
                last_lag=replica.last_lag,
                item_count=len(table) if table is not None else 0,
            )
        )
    return GlobalTableSnapshot(
        table=table_name,
        version=VERSION,
        at=now,
        replicas=tuple(replicas),
        lost=tuple(group.lost),
        typical_lag=typical_lag(),
    )


__all__ = [
    "RETRY_SECONDS",
    "TABLE_CLASSES",
    "catch_up",
    "create_replica",
    "delete_replica",
    "deliver",
    "global_tables",
    "group_of",
    "install",
    "set_replication_lag",
    "state_global",
]
