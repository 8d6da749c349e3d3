"""DynamoDB capacity as AWS runs it: units consumed, partitions throttled, indexes that lag.

Stock moto (5.2.5) stores items faithfully and evaluates conditions and transactions as AWS does
(``ConditionalCheckFailedException``; ``TransactionCanceledException`` with one
``CancellationReasons`` entry per action, ``{"Code": "None"}`` for those that were fine), so
those are kept. What it lacks, this patch adds on the lab clock, with the model of
:mod:`labkit.services.dynamodb.sim_capacity`:

- ``ConsumedCapacity`` as AWS computes it, on every data call that asks
  (``ReturnConsumedCapacity`` ``TOTAL`` or ``INDEXES``): moto answers a constant (1 or 0.5
  whatever the item size, GSIs reported as local indexes, nothing for ``TransactWriteItems``).
  Writes cost the larger of the old and new item (1 KB units), reads the item read (4 KB units,
  half when eventually consistent), ``Query``/``Scan`` the items evaluated before the filter,
  rounded up once, transactions double; index writes are added for ``INDEXES``.
- Throttling per partition per second of lab time
  (``ProvisionedThroughputExceededException`` with AWS's message and ``ThrottlingReasons``,
  e.g. ``TableWriteKeyRangeThroughputExceeded`` for a hot key); a refused request changes
  nothing. ``BatchWriteItem``/``BatchGetItem`` return what did not fit as
  ``UnprocessedItems``/``UnprocessedKeys`` (and raise only when nothing fit, as AWS does);
  transactions are cancelled with a ``ThrottlingError`` reason.
- A failed conditional write still consumes write capacity (AWS charges it).
- Global secondary indexes: their own capacity; a table write whose index cannot take it is
  throttled (back-pressure, ``IndexWriteProvisionedThroughputExceeded``); index entries appear
  ``dynamodb.gsi_propagation_seconds`` (a fact) after the write: ``Query``/``Scan`` of the
  index do not see a newer version before, and show the previous one where it had the same
  index key.
- ``UpdateTable`` changes provisioned throughput or billing mode with AWS's validation, and
  items over 400 KB (AWS's count of names and values) are refused
  (:mod:`labkit.services.dynamodb.patch_table`).

Not simulated: PartiQL statements are not metered; a delete appears in a GSI at once; moto's own
item-size check (405,000 of its bytes) still applies to ``UpdateItem``. State lives on moto's
table objects (:class:`~labkit.services.dynamodb.sim_capacity_table.TableMeters`), so
``lab.reset()`` and isolated worlds cover it. Every moto method is wrapped around the one found
at install, so other patches wrapping the same methods compose.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import JsonRESTError
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    ItemSizeTooLarge,
)
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

from labkit import facts
from labkit.clock import Clock
from labkit.services.dynamodb.sim_capacity import (
    EVENTUAL,
    READ,
    STRONG,
    WRITE,
    CapacityLimits,
    TableCapacity,
    read_units,
    write_units,
)
from labkit.services.dynamodb.sim_capacity_table import (
    TableMeters,
    attrs_size,
    hash_of,
    index_entry,
    index_writes,
    meters_of,
)

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install the DynamoDB capacity patches for ``sandbox``."""
    stack.enter_context(dynamodb_capacity(lambda: sandbox.clock))


# -- errors AWS returns -------------------------------------------------------------------------
# The messages are the service's (as SDKs and users quote them); the reasons follow
# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ThrottlingReason.html.
TABLE_MESSAGE = (
    "The level of configured provisioned throughput for the table was exceeded. Consider "
    "increasing your provisioning level with the UpdateTable API."
)
INDEX_MESSAGE = (
    "The level of configured provisioned throughput for one or more global secondary indexes "
    "of the table was exceeded. Consider increasing your provisioning level for the "
    "under-provisioned global secondary indexes with the UpdateTable API"
)
ON_DEMAND_MESSAGE = (
    "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically "
    "scaling your table or index so please try again shortly. If exceptions persist, check if "
    "you have a hot key: "
    "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html."
)


class ThroughputExceededError(JsonRESTError):
    """``ProvisionedThroughputExceededException`` with its ``ThrottlingReasons``."""

    def __init__(self, message: str, reason: str, resource: str) -> None:
        code = ERROR_PREFIX + "ProvisionedThroughputExceededException"
        super().__init__(code, message)
        self.reason = reason
        self.description = json.dumps(
            {
                "__type": code,
                "message": message,
                "ThrottlingReasons": [{"reason": reason, "resource": resource}],
            }
        )


# -- configuration ------------------------------------------------------------------------------
@dataclass(frozen=True)
class DynamoDBLimits:
    """The numbers this patch enforces, read once from ``labkit.facts``."""

    capacity: CapacityLimits
    gsi_lag: float

    @classmethod
    def from_facts(cls) -> DynamoDBLimits:
        """AWS's numbers, from the fact table."""
        return cls(
            capacity=CapacityLimits.from_facts(),
            gsi_lag=float(facts.value("dynamodb.gsi_propagation_seconds")),
        )


# -- one write's charges ------------------------------------------------------------------------
@dataclass
class Charge:
    """Units a request takes from one meter (the table's or an index's) on one partition."""

    meter: TableCapacity
    kind: int
    hash_value: int
    units: float
    index: str | None = None  # None: the table itself
    local: bool = False  # a local secondary index (paid from the table's capacity)


@dataclass
class Plan:
    """Everything one item's read or write costs, before it is done."""

    table: Any
    name: str  # as the caller gave it (a name or an ARN), for ConsumedCapacity
    charges: list[Charge] = field(default_factory=list)
    gsi_touched: list[str] = field(default_factory=list)
    #: The base-table key written (for the GSI lag) and the item the GSIs show until then.
    key: tuple[Any, Any] | None = None
    stale: Any = None
    #: A Scan: charged evenly to every partition.
    spread: bool = False

    def table_units(self) -> float:
        """Units charged to the table itself."""
        return sum(c.units for c in self.charges if c.index is None)


def _key_of(table: Any, attrs: dict[str, Any]) -> tuple[DynamoType, DynamoType | None]:
    hash_value = DynamoType(attrs[table.hash_key_attr])
    range_attr = table.range_key_attr
    range_value = DynamoType(attrs[range_attr]) if range_attr else None
    return hash_value, range_value


def _stored(table: Any, key: tuple[DynamoType, DynamoType | None]) -> Any:
    """The item stored under ``key``, or ``None`` (without creating anything)."""
    hash_value, range_value = key
    items = table.items
    if table.range_key_attr:
        bucket = items.get(hash_value)
        return bucket.get(range_value) if bucket else None
    return items.get(hash_value)


def _resource(table: Any, index: str | None) -> str:
    return f"{table.table_arn}/index/{index}" if index else str(table.table_arn)


# -- the patches --------------------------------------------------------------------------------
@contextmanager
def dynamodb_capacity(
    clock_of: Callable[[], Clock], limits: DynamoDBLimits | None = None
) -> Iterator[None]:
    """Patch moto's DynamoDB for the ``with`` block.

    Args:
        clock_of: Returns the clock that is current (a check's isolated world has its own).
        limits: The numbers to enforce; AWS's (from ``labkit.facts``) by default.
    """
    lim = limits or DynamoDBLimits.from_facts()
    cap = lim.capacity

    def meters(table: Any, now: float) -> TableMeters:
        return meters_of(table, now, cap)

    # -- planning ---------------------------------------------------------------------------
    def plan_write(
        table: Any,
        name: str,
        now: float,
        old: dict[str, Any] | None,
        new: dict[str, Any] | None,
        *,
        transactional: bool = False,
        table_size: int | None = None,
        key_hash: int | None = None,
    ) -> Plan:
        """What writing ``new`` over ``old`` (attrs; ``None``: absent) costs.

        ``key_hash``: the hash of the item's partition key, when neither ``old`` nor ``new``
        carries it (a delete of an item that is not there still costs a unit on its partition).
        """
        m = meters(table, now)
        plan = Plan(table, name)
        if table_size is None:
            sizes = [attrs_size(a) for a in (old, new) if a is not None]
            table_size = max(sizes) if sizes else 0
        some = new if new is not None else old
        if key_hash is None:
            key_hash = hash_of(some[table.hash_key_attr]) if some else 0
        units = write_units(table_size, transactional=transactional, limits=cap)
        plan.charges.append(Charge(m.table, WRITE, key_hash, units))
        table_keys = [k for k in (table.hash_key_attr, table.range_key_attr) if k]
        for local in getattr(table, "indexes", None) or ():
            for _, u in index_writes(
                index_entry(local, table_keys, old),
                index_entry(local, table_keys, new),
                transactional=transactional,
                limits=cap,
            ):
                plan.charges.append(Charge(m.table, WRITE, key_hash, u, local.name, local=True))
        for gsi in getattr(table, "global_indexes", None) or ():
            meter = m.indexes.get(gsi.name)
            if meter is None:
                continue
            writes = index_writes(
                index_entry(gsi, table_keys, old),
                index_entry(gsi, table_keys, new),
                transactional=transactional,
                limits=cap,
            )
            for h, u in writes:
                plan.charges.append(Charge(meter, WRITE, h, u, gsi.name))
            if writes:
                plan.gsi_touched.append(gsi.name)
        return plan

    def plan_read(table: Any, name: str, now: float, item: Any, consistency: str) -> Plan:
        m = meters(table, now)
        plan = Plan(table, name)
        size = attrs_size(item.attrs) if item is not None else 0
        return_units = read_units(size, consistency, cap)
        plan.charges.append(Charge(m.table, READ, 0, return_units))
        return plan

    def admit(plans: list[Plan], now: float) -> ThroughputExceededError | None:
        """Whether every charge of ``plans`` fits now; the error of the first that does not.

        Charges to one meter and partition add up, so a batch cannot overfill a partition.
        """
        pending: dict[tuple[int, int, int], float] = {}
        for plan in plans:
            for c in plan.charges:
                slot = (id(c.meter), c.kind, c.meter.partition(c.hash_value))
                before = pending.get(slot, 0.0)
                if not c.meter.fits(now, c.kind, c.hash_value, c.units, pending=before):
                    c.meter.throttle(now, c.kind, c.hash_value)
                    return throttle_error(plan.table, c, now)
                pending[slot] = before + c.units
        return None

    def commit(plans: list[Plan], now: float) -> None:
        for plan in plans:
            for c in plan.charges:
                c.meter.consume(now, c.kind, c.hash_value, c.units)
            if plan.gsi_touched:
                note_pending(plan, now)

    def throttle_error(table: Any, c: Charge, now: float) -> ThroughputExceededError:
        meter = c.meter
        kind = "Read" if c.kind == READ else "Write"
        where = "Index" if c.index and not c.local else "Table"
        used = meter.used_now(now, c.kind)
        whole = used >= meter.table_limit(c.kind) and not meter.on_demand
        why = "ProvisionedThroughputExceeded" if whole else "KeyRangeThroughputExceeded"
        if meter.on_demand:
            message = ON_DEMAND_MESSAGE
        else:
            message = INDEX_MESSAGE if where == "Index" else TABLE_MESSAGE
        resource = _resource(table, c.index if where == "Index" else None)
        return ThroughputExceededError(message, f"{where}{kind}{why}", resource)

    def note_pending(plan: Plan, now: float) -> None:
        """The GSI entries of a write become visible after the propagation lag."""
        if plan.key is None:
            return
        m = meters(plan.table, now)
        for index in plan.gsi_touched:
            m.pending.setdefault(index, {})[plan.key] = (now + lim.gsi_lag, plan.stale)

    def consumed(
        plans: list[Plan], kind: int, mode: str, per_table: bool = False
    ) -> dict[str, Any] | list[dict[str, Any]] | None:
        """``ConsumedCapacity`` for ``plans`` (one entry, or one per table for batches)."""
        if mode not in ("TOTAL", "INDEXES"):
            return None
        field_name = "ReadCapacityUnits" if kind == READ else "WriteCapacityUnits"
        by_table: dict[str, dict[str, Any]] = {}
        for plan in plans:
            entry = by_table.setdefault(
                plan.name, {"table": 0.0, "gsi": {}, "lsi": {}, "total": 0.0}
            )
            for c in plan.charges:
                entry["total"] += c.units
                if c.index is None:
                    entry["table"] += c.units
                else:
                    bucket = entry["lsi"] if c.local else entry["gsi"]
                    bucket[c.index] = bucket.get(c.index, 0.0) + c.units
        out = []
        for name, entry in by_table.items():
            body: dict[str, Any] = {
                "TableName": name,
                "CapacityUnits": entry["total"],
                field_name: entry["total"],
            }
            if mode == "INDEXES":
                body["Table"] = {"CapacityUnits": entry["table"], field_name: entry["table"]}
                for key, label in (
                    ("gsi", "GlobalSecondaryIndexes"),
                    ("lsi", "LocalSecondaryIndexes"),
                ):
                    if entry[key]:
                        body[label] = {
                            index: {"CapacityUnits": units, field_name: units}
                            for index, units in entry[key].items()
                        }
            out.append(body)
        if per_table:
            return out
        return out[0] if out else None

    def check_item_size(attrs: dict[str, Any]) -> None:
        if attrs_size(attrs) > cap.item_size_max:
            raise ItemSizeTooLarge()

    # -- single-item writes -----------------------------------------------------------------
    def write_call(
        handler: DynamoHandler,
        original: Callable[[DynamoHandler], Any],
        new_of: Callable[[Any, Any], dict[str, Any] | None],
        key_attrs: dict[str, Any],
        *,
        after: bool = False,
    ) -> Any:
        """Meter one single-item write: plan, admit, run moto's handler, commit, report."""
        body = handler.body
        name = body["TableName"]
        now = clock_of().timestamp
        table = handler.dynamodb_backend.get_table(name)
        if not _has_key(table, key_attrs):
            return original(handler)  # moto's validation answers
        key = _key_of(table, key_attrs)
        old_item = _stored(table, key)
        old = dict(old_item.attrs) if old_item is not None else None
        old_size = attrs_size(old) if old is not None else 0
        stale = None
        if table.global_indexes and old_item is not None:
            stale = copy.deepcopy(old_item) if after else old_item
        new = new_of(table, old)
        key_hash = hash_of(key_attrs[table.hash_key_attr])
        plan = plan_write(table, name, now, old, new, key_hash=key_hash)
        plan.key, plan.stale = key, stale
        error = admit([plan], now)
        if error is not None:
            raise error
        try:
            result = original(handler)
        except ConditionalCheckFailed:
            # "If a ConditionExpression fails, ... DynamoDB still consumes write capacity"
            # (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html)
            failed = plan_write(table, name, now, old, old, table_size=old_size, key_hash=key_hash)
            failed.charges = failed.charges[:1]
            commit([failed], now)
            raise
        if after:
            # UpdateItem: now that the new item exists, charge what it really cost.
            updated = _stored(table, key)
            new_attrs = dict(updated.attrs) if updated is not None else None
            sizes = [old_size, attrs_size(new_attrs) if new_attrs else 0]
            real = plan_write(
                table, name, now, old, new_attrs, table_size=max(sizes), key_hash=key_hash
            )
            real.key, real.stale = key, stale
            plan = real
        commit([plan], now)
        report = consumed([plan], WRITE, body.get("ReturnConsumedCapacity", "NONE"))
        result_body = result.result
        result_body.pop("ConsumedCapacity", None)
        if report is not None:
            result_body["ConsumedCapacity"] = report
        return result

    original_put = DynamoHandler.__dict__["put_item"]
    original_delete = DynamoHandler.__dict__["delete_item"]
    original_update = DynamoHandler.__dict__["update_item"]

    def handler_put_item(self: DynamoHandler) -> Any:
        item = self.body["Item"]
        check_item_size(item)
        return write_call(self, original_put, lambda table, old: item, item)

    def handler_delete_item(self: DynamoHandler) -> Any:
        return write_call(self, original_delete, lambda table, old: None, self.body["Key"])

    def handler_update_item(self: DynamoHandler) -> Any:
        # Before it runs the new item is unknown: admit on the old item (at least one unit),
        # then charge the larger of before and after.
        return write_call(
            self, original_update, lambda table, old: old, self.body["Key"], after=True
        )

    # -- single-item reads ------------------------------------------------------------------
    original_get = DynamoHandler.__dict__["get_item"]

    def handler_get_item(self: DynamoHandler) -> Any:
        body = self.body
        name = body["TableName"]
        now = clock_of().timestamp
        table = self.dynamodb_backend.get_table(name)
        key = body["Key"]
        if table.hash_key_attr not in key:
            return original_get(self)  # moto's validation answers
        item = _stored(table, _key_of(table, key)) if _has_key(table, key) else None
        consistency = STRONG if body.get("ConsistentRead") else EVENTUAL
        plan = plan_read(table, name, now, item, consistency)
        plan.charges[0].hash_value = hash_of(key[table.hash_key_attr])
        error = admit([plan], now)
        if error is not None:
            raise error
        result = original_get(self)
        commit([plan], now)
        result.result.pop("ConsumedCapacity", None)
        report = consumed([plan], READ, body.get("ReturnConsumedCapacity", "NONE"))
        if report is not None:
            result.result["ConsumedCapacity"] = report
        return result

    # -- query and scan ---------------------------------------------------------------------
    # Table.query/scan are metered where moto evaluates the items: before the filter, so that
    # the items the filter drops are paid for (as AWS does), and whoever calls them (the API,
    # DAX misses, other patches) pays. The response handlers read what was charged.
    last_read: list[Plan | None] = [None]

    def index_meter(
        table: Any, m: TableMeters, index_name: str | None
    ) -> tuple[TableCapacity, bool]:
        if index_name and index_name in m.indexes:
            return m.indexes[index_name], True
        return m.table, False

    def lagged(table: Any, index_name: str | None, results: list[Any], now: float) -> list[Any]:
        """Hide index entries not yet propagated; show the stale one where it still stands."""
        m = table.__dict__.get("labkit_capacity")
        if not index_name or m is None or not m.pending.get(index_name):
            return results
        pending = m.pending[index_name]
        for key in [k for k, (at, _) in pending.items() if at <= now]:
            del pending[key]
        if not pending:
            return results
        index = table.get_index(index_name)
        table_keys = [k for k in (table.hash_key_attr, table.range_key_attr) if k]
        out = []
        for item in results:
            attrs = item.attrs
            if table.hash_key_attr not in attrs:
                out.append(item)
                continue
            key = _key_of(table, {k: attrs[k] for k in table_keys if k in attrs})
            waiting = pending.get(key)
            if waiting is None:
                out.append(item)
                continue
            stale = waiting[1]
            if stale is not None:
                old = index_entry(index, table_keys, stale.attrs)
                new = index_entry(index, table_keys, attrs)
                if old is not None and new is not None and old.key == new.key:
                    out.append(index.project(copy.deepcopy(stale)))
        return out

    def read_plan(
        table: Any,
        index_name: str | None,
        results: list[Any],
        consistent: bool,
        now: float,
        hash_value: int | None,
    ) -> Plan:
        m = meters(table, now)
        meter, _ = index_meter(table, m, index_name)
        size = sum(attrs_size(item.attrs) for item in results)
        units = read_units(size, STRONG if consistent else EVENTUAL, cap)
        plan = Plan(table, table.name)
        is_gsi = index_name in m.indexes if index_name else False
        local = bool(index_name) and not is_gsi
        plan.charges.append(Charge(meter, READ, hash_value or 0, units, index_name, local=local))
        plan.spread = hash_value is None
        return plan

    def admit_read(plan: Plan, now: float) -> None:
        c = plan.charges[0]
        if plan.spread:
            if not c.meter.fits_spread(now, READ, c.units):
                c.meter.throttle(now, READ, 0)
                raise throttle_error(plan.table, c, now)
            c.meter.consume_spread(now, READ, c.units)
            return
        error = admit([plan], now)
        if error is not None:
            raise error
        c.meter.consume(now, READ, c.hash_value, c.units)

    original_table_query = Table.__dict__["query"]
    original_table_scan = Table.__dict__["scan"]

    def table_query(
        self: Table,
        hash_key: Any,
        range_comparison: Any,
        range_objs: Any,
        limit: Any,
        exclusive_start_key: Any,
        scan_index_forward: Any,
        projection_expressions: Any,
        index_name: str | None = None,
        consistent_read: bool = False,
        filter_expression: Any = None,
        **kwargs: Any,
    ) -> tuple[list[Any], int, Any]:
        now = clock_of().timestamp
        results, scanned, last_key = original_table_query(
            self,
            hash_key,
            range_comparison,
            range_objs,
            limit,
            exclusive_start_key,
            scan_index_forward,
            None,
            index_name,
            consistent_read,
            None,
            **kwargs,
        )
        results = lagged(self, index_name, results, now)
        hash_value = hash_of(hash_key) if hash_key is not None else None
        if hash_value is None and kwargs.get("hash_key_conditions"):
            hash_value = hash_of(kwargs["hash_key_conditions"][0][1])
        plan = read_plan(self, index_name, results, consistent_read, now, hash_value or 0)
        admit_read(plan, now)
        last_read[0] = plan
        if filter_expression is not None:
            results = [item for item in results if filter_expression.expr(item)]
        if projection_expressions:
            results = [r.project(projection_expressions) for r in results]
        return results, scanned, last_key

    def table_scan(
        self: Table,
        filters: Any,
        limit: Any,
        exclusive_start_key: Any,
        filter_expression: Any = None,
        index_name: str | None = None,
        consistent_read: bool = False,
        projection_expression: Any = None,
        segments: Any = (None, None),
    ) -> tuple[list[Any], int, Any]:
        now = clock_of().timestamp
        results, scanned, last_key = original_table_scan(
            self,
            filters,
            limit,
            exclusive_start_key,
            None,
            index_name,
            consistent_read,
            None,
            segments=segments,
        )
        results = lagged(self, index_name, results, now)
        plan = read_plan(self, index_name, results, consistent_read, now, None)
        admit_read(plan, now)
        last_read[0] = plan
        if filter_expression is not None:
            results = [item for item in results if filter_expression.expr(item)]
        if projection_expression:
            results = [r.project(projection_expression) for r in results]
        return results, scanned, last_key

    def read_response(original: Callable[[DynamoHandler], Any]) -> Callable[[DynamoHandler], Any]:
        def handler(self: DynamoHandler) -> Any:
            last_read[0] = None
            result = original(self)
            plan = last_read[0]
            last_read[0] = None
            result.result.pop("ConsumedCapacity", None)
            if plan is not None:
                plan.name = self.body.get("TableName", plan.name)
                report = consumed([plan], READ, self.body.get("ReturnConsumedCapacity", "NONE"))
                if report is not None:
                    result.result["ConsumedCapacity"] = report
            return result

        return handler

    handler_query = read_response(DynamoHandler.__dict__["query"])
    handler_scan = read_response(DynamoHandler.__dict__["scan"])

    # -- batches and transactions (patch_batches), UpdateTable and item size (patch_table) ----
    from labkit.services.dynamodb.patch_batches import BatchContext, batch_patches
    from labkit.services.dynamodb.patch_table import table_patches

    context = BatchContext(
        clock_of=clock_of,
        limits=cap,
        plan_write=plan_write,
        plan_read=plan_read,
        admit=admit,
        commit=commit,
        consumed=consumed,
        check_item_size=check_item_size,
        key_of=_key_of,
        stored=_stored,
        has_key=_has_key,
    )

    patches: list[tuple[type, str, Any]] = [
        *table_patches(clock_of, cap, meters),
        (DynamoHandler, "put_item", handler_put_item),
        (DynamoHandler, "delete_item", handler_delete_item),
        (DynamoHandler, "update_item", handler_update_item),
        (DynamoHandler, "get_item", handler_get_item),
        (DynamoHandler, "query", handler_query),
        (DynamoHandler, "scan", handler_scan),
        (Table, "query", table_query),
        (Table, "scan", table_scan),
        *batch_patches(context),
    ]
    with patched(patches):
        yield


def _has_key(table: Any, key: dict[str, Any]) -> bool:
    return table.hash_key_attr in key and (not table.range_key_attr or table.range_key_attr in key)


@contextmanager
def patched(patches: list[tuple[type, str, Any]]) -> Iterator[None]:
    """Set each ``owner.name = value`` for the block and put back what was there at install."""
    originals = [(owner, name, owner.__dict__[name]) for owner, name, _ in patches]
    try:
        for owner, name, value in patches:
            setattr(owner, name, value)
        yield
    finally:
        for owner, name, value in reversed(originals):
            setattr(owner, name, value)


__all__ = [
    "DynamoDBLimits",
    "ThroughputExceededError",
    "dynamodb_capacity",
    "install",
    "patched",
]
