"""DynamoDB batches and transactions under capacity: unprocessed items, cancelled transactions.

Part of :mod:`labkit.services.dynamodb.patch` (which installs it and hands it the meters):

- ``BatchWriteItem`` and ``BatchGetItem`` meter each item as its own request; what does not fit
  this second is not done and comes back as ``UnprocessedItems``/``UnprocessedKeys`` in the shape
  it was asked (so that the caller can resend it as is). Only when nothing fit does the call
  raise ``ProvisionedThroughputExceededException``
  (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html).
- ``TransactWriteItems`` and ``TransactGetItems`` cost double (transactional units per item);
  when an item's partition cannot serve it, the transaction is cancelled with a
  ``ThrottlingError`` cancellation reason for that item and ``None`` for the others
  (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html).
- ``ConsumedCapacity`` is a list with one entry per table, as AWS answers batches and
  transactions; absent when not asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.dynamodb.exceptions import TransactionCanceledException
from moto.dynamodb.responses import DynamoHandler

from labkit.clock import Clock
from labkit.services.dynamodb.sim_capacity import READ, TRANSACTIONAL, WRITE, CapacityLimits

#: Errors of a request that moto's own validation should answer (a key missing, a bad shape).
MALFORMED = (KeyError, TypeError, ValueError, IndexError, AttributeError, StopIteration)


@dataclass(frozen=True)
class BatchContext:
    """What :mod:`labkit.services.dynamodb.patch` lends the batch patches (its meters' logic)."""

    clock_of: Callable[[], Clock]
    limits: CapacityLimits
    plan_write: Callable[..., Any]
    plan_read: Callable[..., Any]
    admit: Callable[[list[Any], float], Any]
    commit: Callable[[list[Any], float], None]
    consumed: Callable[..., Any]
    check_item_size: Callable[[dict[str, Any]], None]
    key_of: Callable[[Any, dict[str, Any]], tuple[Any, Any]]
    stored: Callable[[Any, tuple[Any, Any]], Any]
    has_key: Callable[[Any, dict[str, Any]], bool]


def _attrs(item: Any) -> dict[str, Any] | None:
    return dict(item.attrs) if item is not None else None


def _report(result: Any, body: dict[str, Any], report: Any) -> None:
    result.result.pop("ConsumedCapacity", None)
    if report:
        result.result["ConsumedCapacity"] = report


def batch_patches(ctx: BatchContext) -> list[tuple[type, str, Any]]:
    """The batch and transaction handlers, wrapped around those found now."""
    original_batch_write = DynamoHandler.__dict__["batch_write_item"]
    original_batch_get = DynamoHandler.__dict__["batch_get_item"]
    original_transact_write = DynamoHandler.__dict__["transact_write_items"]
    original_transact_get = DynamoHandler.__dict__["transact_get_items"]

    def write_plan(table: Any, name: str, now: float, request: dict[str, Any]) -> Any:
        if "PutRequest" in request:
            item = request["PutRequest"]["Item"]
            ctx.check_item_size(item)
            key = ctx.key_of(table, item)
            old = ctx.stored(table, key)
            plan = ctx.plan_write(table, name, now, _attrs(old), item)
        else:
            key_attrs = request["DeleteRequest"]["Key"]
            if not ctx.has_key(table, key_attrs):
                raise KeyError("key")
            key = ctx.key_of(table, key_attrs)
            old = ctx.stored(table, key)
            plan = ctx.plan_write(
                table, name, now, _attrs(old), None, key_hash=_hash(table, key_attrs)
            )
        plan.key, plan.stale = key, old
        return plan

    def handler_batch_write_item(self: DynamoHandler) -> Any:
        body = self.body
        now = ctx.clock_of().timestamp
        request_items = body.get("RequestItems") or {}
        accepted: list[Any] = []
        kept: dict[str, list[Any]] = {}
        unprocessed: dict[str, list[Any]] = {}
        error = None
        try:
            for name, requests in request_items.items():
                table = self.dynamodb_backend.get_table(name)
                for request in requests:
                    plan = write_plan(table, name, now, request)
                    refused = ctx.admit([*accepted, plan], now)
                    if refused is None:
                        accepted.append(plan)
                        kept.setdefault(name, []).append(request)
                    else:
                        error = refused
                        unprocessed.setdefault(name, []).append(request)
        except MALFORMED:
            return original_batch_write(self)
        if error is not None and not accepted:
            raise error
        body["RequestItems"] = kept
        try:
            result = original_batch_write(self) if kept else None
        finally:
            body["RequestItems"] = request_items
        if result is None:  # pragma: no cover - nothing kept means error was raised above
            raise error  # type: ignore[misc]
        ctx.commit(accepted, now)
        result.result["UnprocessedItems"] = unprocessed
        mode = body.get("ReturnConsumedCapacity", "NONE")
        _report(result, body, ctx.consumed(accepted, WRITE, mode, True))
        return result

    def handler_batch_get_item(self: DynamoHandler) -> Any:
        body = self.body
        now = ctx.clock_of().timestamp
        request_items = body.get("RequestItems") or {}
        accepted: list[Any] = []
        kept: dict[str, dict[str, Any]] = {}
        unprocessed: dict[str, dict[str, Any]] = {}
        error = None
        try:
            for name, request in request_items.items():
                table = self.dynamodb_backend.get_table(name)
                consistency = "strong" if request.get("ConsistentRead") else "eventual"
                for key in request["Keys"]:
                    if not ctx.has_key(table, key):
                        raise KeyError("key")
                    item = ctx.stored(table, ctx.key_of(table, key))
                    plan = ctx.plan_read(table, name, now, item, consistency)
                    plan.charges[0].hash_value = _hash(table, key)
                    refused = ctx.admit([*accepted, plan], now)
                    target = kept if refused is None else unprocessed
                    if refused is None:
                        accepted.append(plan)
                    else:
                        error = refused
                    entry = target.setdefault(name, {**request, "Keys": []})
                    entry["Keys"].append(key)
        except MALFORMED:
            return original_batch_get(self)
        if error is not None and not accepted:
            raise error
        body["RequestItems"] = kept
        try:
            result = original_batch_get(self)
        finally:
            body["RequestItems"] = request_items
        ctx.commit(accepted, now)
        stock = result.result.get("UnprocessedKeys") or {}
        for name, entry in unprocessed.items():
            if name in stock:
                stock[name]["Keys"].extend(entry["Keys"])
            else:
                stock[name] = entry
        result.result["UnprocessedKeys"] = stock
        mode = body.get("ReturnConsumedCapacity", "NONE")
        _report(result, body, ctx.consumed(accepted, READ, mode, True))
        return result

    def cancel(count: int, position: int, error: Any) -> TransactionCanceledException:
        reasons: list[tuple[Any, Any, Any]] = [(None, None, None)] * count
        reasons[position] = ("ThrottlingError", error.message, None)
        return TransactionCanceledException(reasons)

    def handler_transact_write_items(self: DynamoHandler) -> Any:
        body = self.body
        now = ctx.clock_of().timestamp
        plans: list[Any] = []
        updates: list[tuple[int, Any, str, Any, Any]] = []
        items = body.get("TransactItems") or []
        try:
            for position, entry in enumerate(items):
                op, spec = next(iter(entry.items()))
                name = spec["TableName"]
                table = self.dynamodb_backend.get_table(name)
                if op == "Put":
                    ctx.check_item_size(spec["Item"])
                    key = ctx.key_of(table, spec["Item"])
                    old = ctx.stored(table, key)
                    new: Any = spec["Item"]
                else:
                    if not ctx.has_key(table, spec["Key"]):
                        raise KeyError("key")
                    key = ctx.key_of(table, spec["Key"])
                    old = ctx.stored(table, key)
                    new = None if op == "Delete" else _attrs(old)
                where = _hash(table, spec.get("Item") or spec["Key"])
                plan = ctx.plan_write(
                    table, name, now, _attrs(old), new, transactional=True, key_hash=where
                )
                if op == "ConditionCheck":
                    plan.charges = plan.charges[:1]
                    plan.gsi_touched = []
                else:
                    plan.key, plan.stale = key, old
                if op == "Update":
                    updates.append((position, table, name, key, _attrs(old)))
                refused = ctx.admit([*plans, plan], now)
                if refused is not None:
                    raise cancel(len(items), position, refused)
                plans.append(plan)
        except MALFORMED:
            return original_transact_write(self)
        result = original_transact_write(self)
        for position, table, name, key, old_attrs in updates:
            before = plans[position]
            after = ctx.stored(table, key)
            real = ctx.plan_write(
                table,
                name,
                now,
                old_attrs,
                _attrs(after),
                transactional=True,
                key_hash=before.charges[0].hash_value,
            )
            real.key, real.stale = before.key, before.stale
            plans[position] = real
        ctx.commit(plans, now)
        mode = body.get("ReturnConsumedCapacity", "NONE")
        _report(result, body, ctx.consumed(plans, WRITE, mode, True))
        return result

    def handler_transact_get_items(self: DynamoHandler) -> Any:
        body = self.body
        now = ctx.clock_of().timestamp
        plans: list[Any] = []
        items = body.get("TransactItems") or []
        try:
            for position, entry in enumerate(items):
                spec = entry["Get"]
                name = spec["TableName"]
                table = self.dynamodb_backend.get_table(name)
                if not ctx.has_key(table, spec["Key"]):
                    raise KeyError("key")
                item = ctx.stored(table, ctx.key_of(table, spec["Key"]))
                plan = ctx.plan_read(table, name, now, item, TRANSACTIONAL)
                plan.charges[0].hash_value = _hash(table, spec["Key"])
                refused = ctx.admit([*plans, plan], now)
                if refused is not None:
                    raise cancel(len(items), position, refused)
                plans.append(plan)
        except MALFORMED:
            return original_transact_get(self)
        result = original_transact_get(self)
        ctx.commit(plans, now)
        mode = body.get("ReturnConsumedCapacity", "NONE")
        _report(result, body, ctx.consumed(plans, READ, mode, True))
        return result

    return [
        (DynamoHandler, "batch_write_item", handler_batch_write_item),
        (DynamoHandler, "batch_get_item", handler_batch_get_item),
        (DynamoHandler, "transact_write_items", handler_transact_write_items),
        (DynamoHandler, "transact_get_items", handler_transact_get_items),
    ]


def _hash(table: Any, key: dict[str, Any]) -> int:
    from labkit.services.dynamodb.sim_capacity_table import hash_of

    return hash_of(key[table.hash_key_attr])


__all__ = ["BatchContext", "batch_patches"]
