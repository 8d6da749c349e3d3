"""DynamoDB Time to Live on the lab clock: expired items are deleted in the background, later.

moto stores a table's TTL setting and never deletes anything. While a lab runs, this patch:

- notes every item written to a table with TTL enabled (``PutItem``, ``UpdateItem``,
  ``BatchWriteItem``, transactions, PartiQL, imports: every write reaches moto's
  ``Table.put_item`` or the backend's ``update_item``), and, when TTL is enabled on a table that
  already holds items, every item it holds;
- asks :mod:`labkit.services.dynamodb.sim_ttl` when each expired item goes (a deterministic delay
  of up to two days after expiry, ``dynamodb.ttl_deletion_typical``) and deletes it then, with
  one clock event per table at its next deletion. Until then reads, queries and scans still
  return it, as on AWS;
- never deletes an item whose TTL attribute is missing, not a Number, or more than five years in
  the past (``dynamodb.ttl_max_past``);
- refuses what AWS refuses on ``UpdateTimeToLive``: enabling TTL that is already on (or on
  another attribute), disabling it when off, and a second change within an hour of the last
  (``ValidationException``);
- writes the deletion to the table's stream as a ``REMOVE`` record with ``userIdentity``
  ``{"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}``, as AWS marks service
  deletions (https://docs.aws.amazon.com/amazondynamodbstreams/latest/APIReference/API_Record.html,
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/time-to-live-ttl-streams.html).
  A TTL deletion uses no write capacity: it bypasses the request layer.

The schedule (:class:`~labkit.services.dynamodb.sim_ttl.TtlSweep`) lives on moto's ``Table`` as
``labkit_ttl``, so ``lab.reset()`` and a check's isolated world cover it. The clock event finds
its table again by name, so a transaction that rolls a table back to a copy keeps working.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import JsonRESTError
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

from labkit import facts
from labkit.services.dynamodb.sim_ttl import (
    PendingDeletion,
    TtlSweep,
    deletion_bound,
    deletion_delay,
    deletion_time,
    expiry_of,
    max_past,
)

if TYPE_CHECKING:
    from labkit.clock import Clock
    from labkit.sandbox.session import Sandbox

#: The ``userIdentity`` of a stream record for an item that TTL deleted, in both spellings AWS
#: uses: ``PrincipalId``/``Type`` are the members GetRecords returns (API_Record.html; moto's
#: serializer returns only these), ``principalId``/``type`` the fields of a Lambda event
#: (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html), which readers of moto's raw
#: record (the table view's state) look for.
SERVICE_IDENTITY = {
    "PrincipalId": "dynamodb.amazonaws.com",
    "Type": "Service",
    "principalId": "dynamodb.amazonaws.com",
    "type": "Service",
}

_SWEEP = "labkit_ttl"
_CHANGED = "labkit_ttl_changed"


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install the TTL patches for ``sandbox``."""
    seed = sandbox.seed

    def clock_of() -> Clock:
        return sandbox.clock

    put_item = Table.put_item
    delete_item = Table.delete_item
    update_item = DynamoDBBackend.update_item
    update_ttl = DynamoDBBackend.update_time_to_live

    def table_put_item(self: Table, *args: Any, **kwargs: Any) -> Item:
        item: Item = put_item(self, *args, **kwargs)
        sweep = sweep_of(self)
        if sweep is not None:
            note(clock_of(), self, sweep, item, seed)
        return item

    def table_delete_item(self: Table, hash_key: Any, range_key: Any) -> Item | None:
        item: Item | None = delete_item(self, hash_key, range_key)
        sweep = sweep_of(self)
        if item is not None and sweep is not None:
            sweep.forget(key_text(item))
        return item

    def backend_update_item(self: DynamoDBBackend, table_name: str, *args: Any, **kw: Any) -> Item:
        item: Item = update_item(self, table_name, *args, **kw)
        table = self.get_table(table_name)
        sweep = sweep_of(table)
        if sweep is not None and item is not None:
            note(clock_of(), table, sweep, item, seed)
        return item

    def backend_update_ttl(
        self: DynamoDBBackend, table_name: str, ttl_spec: dict[str, Any]
    ) -> None:
        try:
            table = self.get_table(table_name)
        except Exception:
            raise TtlError("ResourceNotFoundException", "Requested resource not found") from None
        refuse_ttl_change(table, ttl_spec, clock_of().timestamp)
        update_ttl(self, table_name, ttl_spec)
        table.__dict__[_CHANGED] = clock_of().timestamp
        if table.ttl.get("TimeToLiveStatus") != "ENABLED":
            table.__dict__.pop(_SWEEP, None)
            return
        clock = clock_of()
        sweep = TtlSweep(str(table.ttl["AttributeName"]), clock.timestamp)
        table.__dict__[_SWEEP] = sweep
        for item in table.all_items():
            note(clock, table, sweep, item, seed, arm_now=False)
        arm(clock, self, table.name, sweep)

    Table.put_item = table_put_item  # type: ignore[method-assign]
    Table.delete_item = table_delete_item  # type: ignore[method-assign]
    DynamoDBBackend.update_item = backend_update_item  # type: ignore[method-assign]
    DynamoDBBackend.update_time_to_live = backend_update_ttl  # type: ignore[method-assign]

    def undo() -> None:
        Table.put_item = put_item  # type: ignore[method-assign]
        Table.delete_item = delete_item  # type: ignore[method-assign]
        DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]
        DynamoDBBackend.update_time_to_live = update_ttl  # type: ignore[method-assign]

    stack.callback(undo)


# -- UpdateTimeToLive's rules --------------------------------------------------------------------
class TtlError(JsonRESTError):
    """An UpdateTimeToLive request AWS refuses."""


def refuse_ttl_change(table: Table, spec: dict[str, Any], now: float) -> None:
    """Raise what AWS answers to a TTL change it does not make.

    "It can take up to one hour for the change to fully process. Any additional
    UpdateTimeToLive calls for the same table during this one hour duration result in a
    ValidationException" (fact ``dynamodb.ttl_change_interval``, API_UpdateTimeToLive.html);
    enabling TTL that is on (or disabling it when off), or enabling it on another attribute
    while it is on, is refused too.
    """
    status = table.ttl.get("TimeToLiveStatus")
    current = table.ttl.get("AttributeName")
    wanted = str(spec.get("AttributeName"))
    if spec.get("Enabled") and status == "ENABLED":
        if current != wanted:
            raise TtlError(
                "ValidationException",
                f"TimeToLive is active on a different AttributeName: current AttributeName is "
                f"{current}",
            )
        raise TtlError("ValidationException", "TimeToLive is already enabled")
    if not spec.get("Enabled") and status != "ENABLED":
        raise TtlError("ValidationException", "TimeToLive is already disabled")
    changed = table.__dict__.get(_CHANGED)
    interval = float(facts.value("dynamodb.ttl_change_interval"))
    if changed is not None and now - float(changed) < interval:
        raise TtlError(
            "ValidationException",
            "Time to live has been modified multiple times within a fixed interval",
        )


# -- the schedule ---------------------------------------------------------------------------------
def sweep_of(table: Any) -> TtlSweep | None:
    """The TTL schedule of a moto ``Table`` (``None`` while TTL is not enabled)."""
    sweep: TtlSweep | None = table.__dict__.get(_SWEEP)
    return sweep


def key_text(item: Item) -> str:
    """An item's key as text: ``S:alice`` or ``S:alice|N:3`` (stable across runs)."""
    text = f"{item.hash_key.type}:{item.hash_key.value}"
    if item.range_key is not None:
        text += f"|{item.range_key.type}:{item.range_key.value}"
    return text


def note(
    clock: Clock, table: Table, sweep: TtlSweep, item: Item, seed: int, *, arm_now: bool = True
) -> None:
    """Tell the schedule about an item's current TTL value (and arm the table's clock event)."""
    value = item.attrs.get(sweep.attribute)
    expiry = expiry_of(value.to_json() if isinstance(value, DynamoType) else None)
    key = key_text(item)
    if expiry is None:
        sweep.note(key, None, None)
        return
    now = clock.timestamp
    delay = deletion_delay(seed, table.table_arn, key, expiry, deletion_bound())
    due = deletion_time(expiry, max(now, sweep.enabled_at), delay, horizon=max_past())
    sweep.note(key, expiry, due, (item.hash_key, item.range_key))
    if arm_now and due is not None:
        backend = _backend_of(table)
        if backend is not None:
            arm(clock, backend, table.name, sweep)


def arm(clock: Clock, backend: DynamoDBBackend, table_name: str, sweep: TtlSweep) -> None:
    """Make sure a clock event runs the table's sweep at its next deletion."""
    due = sweep.next_due()
    if due is None:
        return
    if sweep.armed_at is not None and clock.timestamp <= sweep.armed_at <= due:
        return  # an event at or before this deletion is already waiting
    sweep.armed_at = due
    clock.call_at(due, _runner(clock, backend, table_name), label=f"dynamodb ttl {table_name}")


def _runner(clock: Clock, backend: DynamoDBBackend, table_name: str) -> Callable[[], None]:
    def run() -> None:
        sweep_due(clock, backend, table_name)

    return run


def sweep_due(clock: Clock, backend: DynamoDBBackend, table_name: str) -> list[str]:
    """Delete the table's items whose time has come; returns their keys (as text)."""
    table = backend.tables.get(table_name)
    sweep = sweep_of(table) if table is not None else None
    if table is None or sweep is None:
        return []
    sweep.armed_at = None
    now = clock.timestamp
    deleted: list[str] = []
    for entry in sweep.due(now):
        if _expire(table, sweep, entry, now):
            deleted.append(entry.key)
    arm(clock, backend, table_name, sweep)
    return deleted


def _expire(table: Table, sweep: TtlSweep, entry: PendingDeletion, now: float) -> bool:
    hash_key, range_key = entry.handle
    item = table.get_item(hash_key, range_key)
    if item is None:
        return False
    value = item.attrs.get(sweep.attribute)
    expiry = expiry_of(value.to_json() if isinstance(value, DynamoType) else None)
    if expiry != entry.expiry or expiry is None or expiry < now - max_past():
        return False
    shard = table.stream_shard
    before = len(shard.items) if shard is not None else 0
    table.delete_item(hash_key, range_key)
    if shard is not None and len(shard.items) > before:
        shard.items[-1].record["userIdentity"] = dict(SERVICE_IDENTITY)
    return True


def _backend_of(table: Table) -> DynamoDBBackend | None:
    from moto.dynamodb.models import dynamodb_backends

    try:
        backend: DynamoDBBackend = dynamodb_backends[table.account_id][table.region_name]
    except KeyError:
        return None
    return backend


# -- readers for views and checks -----------------------------------------------------------------
def pending_deletions(table: Any) -> list[PendingDeletion]:
    """The items TTL will delete from a moto ``Table``, soonest first (empty without TTL)."""
    sweep = sweep_of(table)
    return sweep.pending() if sweep is not None else []


__all__ = [
    "SERVICE_IDENTITY",
    "install",
    "key_text",
    "pending_deletions",
    "sweep_due",
    "sweep_of",
]
