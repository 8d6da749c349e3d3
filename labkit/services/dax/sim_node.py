"""A DAX node answering the DynamoDB data-plane calls through its caches, as AWS documents.

What each call does (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/DAX.concepts.html,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/DAX.consistency.html):

- ``GetItem`` / ``BatchGetItem`` (eventually consistent, the default): answered from the item
  cache when the key is there and unexpired (a hit); otherwise read from DynamoDB, stored (an
  absent item as a negative entry) and returned (a miss). An entry is kept per key and
  projection, so a projected read never answers a full one;
- ``Query`` / ``Scan``: answered from the query cache when the same parameters were cached and
  the entry is unexpired; otherwise read from DynamoDB and the whole response cached;
- ``ConsistentRead=True`` on any of these, and ``TransactGetItems``: passed to DynamoDB and
  never cached ("DAX passes the request through to DynamoDB. The results ... are not cached");
- ``PutItem`` / ``UpdateItem`` / ``DeleteItem`` / ``BatchWriteItem`` / ``TransactWriteItems``:
  written to DynamoDB first, then, once DynamoDB succeeded, to the item cache (write-through);
  a delete leaves a negative entry. The query cache is never touched by writes, so a cached
  query keeps its old answer until its TTL.

A write through DAX stores the item DynamoDB now holds: for ``UpdateItem`` DAX needs the new
image, so the node asks DynamoDB for ``ReturnValues="ALL_NEW"`` when the caller asked for none
(and hands the caller what it asked for); when the caller asked for old or updated values, the
node drops the key's entries instead, so the next read is a miss that fetches the new item.

Plain Python: DynamoDB is reached through ``call(operation, params)``, which the patch wires to
the sandbox's DynamoDB, and every decision is recorded on the :class:`~.sim_cache.DaxCache`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from labkit.services.dax.sim_cache import DaxCache, Entry, Outcome, canonical

#: Calls DynamoDB: ``call("get_item", params)`` -> the response without ``ResponseMetadata``.
DynamoCall = Callable[[str, dict[str, Any]], dict[str, Any]]
#: The key attribute names of a table: ``("pk",)`` or ``("pk", "sk")``.
KeyNames = Callable[[str], Sequence[str]]

_PROJECTION_PARAMS = ("ProjectionExpression", "ExpressionAttributeNames", "AttributesToGet")
_NOT_PART_OF_QUERY_KEY = ("ReturnConsumedCapacity",)


def _key_text(key: Mapping[str, Any]) -> str:
    return ", ".join(f"{name}={next(iter(v.values()), '')}" for name, v in sorted(key.items()))


def _projection(params: Mapping[str, Any]) -> str:
    picked = {p: params[p] for p in _PROJECTION_PARAMS if p in params}
    return canonical(picked) if picked else ""


def item_key(table: str, key: Mapping[str, Any], projection: str = "") -> str:
    """The item cache key of ``key`` in ``table`` read with ``projection``."""
    return canonical([table, key, projection])


def query_key(operation: str, params: Mapping[str, Any]) -> str:
    """The query cache key: the operation and every parameter that shapes the answer."""
    picked = {k: v for k, v in params.items() if k not in _NOT_PART_OF_QUERY_KEY}
    return canonical([operation, picked])


def _query_label(operation: str, params: Mapping[str, Any]) -> str:
    parts = [operation]
    if params.get("IndexName"):
        parts.append(f"index {params['IndexName']}")
    for name in ("KeyConditionExpression", "FilterExpression"):
        if params.get(name):
            parts.append(str(params[name]))
    values = params.get("ExpressionAttributeValues")
    if values:
        parts.append(_key_text(values))
    if params.get("Limit"):
        parts.append(f"limit {params['Limit']}")
    return " ".join(parts)


class DaxNode:
    """Serves DynamoDB's data-plane calls through a :class:`DaxCache`.

    Args:
        cache: The cluster's caches (shared by all its nodes: the sandbox replicates at once).
        call: Calls DynamoDB.
        key_names: A table's key attribute names.
    """

    def __init__(self, cache: DaxCache, call: DynamoCall, key_names: KeyNames) -> None:
        self.cache = cache
        self._dynamodb = call
        self._key_names = key_names

    def _call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Call DynamoDB; a refusal is recorded (outcome ``error``) and raised on."""
        try:
            return self._dynamodb(operation, params)
        except Exception as e:
            response = getattr(e, "response", None)
            code = response.get("Error", {}).get("Code", "") if isinstance(response, dict) else ""
            table = str(params.get("TableName") or next(iter(params.get("RequestItems", {})), ""))
            name = "".join(part.title() for part in operation.split("_"))
            self.cache.record(name, table, "error", f"DynamoDB refused it: {code or e}")
            raise

    # The DAX client's router calls these after each read; a simulated node is always healthy.
    def on_operation_success(self) -> None:
        """Nothing to do: the sandbox's node never fails."""

    def on_operation_failure(self) -> None:
        """Nothing to do: the sandbox's node never fails."""

    def close(self) -> None:
        """Nothing to close."""

    def _key_of(self, table: str, item: Mapping[str, Any]) -> dict[str, Any]:
        return {name: item[name] for name in self._key_names(table) if name in item}

    def _store_item(
        self, table: str, key: Mapping[str, Any], item: Any, *, source: str, projection: str = ""
    ) -> Entry | None:
        return self.cache.store(
            "item",
            item_key(table, key, projection),
            copy.deepcopy(item),
            table=table,
            label=_key_text(key) + (" (projected)" if projection else ""),
            source=source,
            key_av=dict(key),
            projection=projection,
        )

    def _write_through(self, table: str, key: Mapping[str, Any], item: Any) -> None:
        """After a write through DAX: the whole-item entry now holds ``item`` (``None`` = gone)."""
        self._forget_key(table, key)
        self._store_item(table, key, item, source="write-through")

    def _forget_key(self, table: str, key: Mapping[str, Any]) -> None:
        wanted = canonical(dict(key))
        self.cache.forget_where(
            "item",
            lambda e: e.table == table and e.key_av is not None and canonical(e.key_av) == wanted,
        )

    # -- reads ----------------------------------------------------------------------------------
    def get_item(self, **params: Any) -> dict[str, Any]:
        """``GetItem`` through the item cache."""
        table = params["TableName"]
        if params.get("ConsistentRead"):
            out = self._call("get_item", params)
            self.cache.record("GetItem", table, "pass-through", "strongly consistent: not cached")
            return out
        projection = _projection(params)
        key = item_key(table, params["Key"], projection)
        entry = self.cache.lookup("item", key)
        if entry is not None:
            self.cache.record("GetItem", table, "hit", _key_text(params["Key"]))
            return {} if entry.value is None else {"Item": copy.deepcopy(entry.value)}
        out = self._call("get_item", params)
        self._store_item(
            table, params["Key"], out.get("Item"), source="read", projection=projection
        )
        found = "found" if "Item" in out else "not found: cached as a negative entry"
        self.cache.record("GetItem", table, "miss", f"{_key_text(params['Key'])} {found}")
        return out

    def batch_get_item(self, **params: Any) -> dict[str, Any]:
        """``BatchGetItem``: each key through the item cache, the misses in one DynamoDB call."""
        responses: dict[str, list[Any]] = {}
        to_fetch: dict[str, dict[str, Any]] = {}
        hits = misses = 0
        first = next(iter(params["RequestItems"]), "")
        for table, spec in params["RequestItems"].items():
            responses.setdefault(table, [])
            if spec.get("ConsistentRead"):
                to_fetch[table] = spec
                continue
            projection = _projection(spec)
            missing = []
            for key in spec["Keys"]:
                entry = self.cache.lookup("item", item_key(table, key, projection))
                if entry is None:
                    missing.append(key)
                    continue
                hits += 1
                if entry.value is not None:
                    responses[table].append(copy.deepcopy(entry.value))
            if missing:
                to_fetch[table] = dict(spec, Keys=missing)
                misses += len(missing)
        out: dict[str, Any] = {"Responses": responses, "UnprocessedKeys": {}}
        if to_fetch:
            fetched = self._call("batch_get_item", dict(params, RequestItems=to_fetch))
            unprocessed = fetched.get("UnprocessedKeys") or {}
            for table, items in (fetched.get("Responses") or {}).items():
                responses.setdefault(table, []).extend(items)
            for table, spec in to_fetch.items():
                if spec.get("ConsistentRead"):
                    continue
                projection = _projection(spec)
                names = tuple(self._key_names(table))
                items = (fetched.get("Responses") or {}).get(table, [])
                if any(n not in item for item in items for n in names):
                    # The projection left a key attribute out: the answers cannot be matched to
                    # their keys, so nothing is cached rather than something wrong.
                    continue
                found = {canonical(self._key_of(table, item)): item for item in items}
                skipped = {canonical(k) for k in (unprocessed.get(table) or {}).get("Keys", [])}
                for key in spec["Keys"]:
                    text = canonical(dict(key))
                    if text not in skipped:
                        item = found.get(canonical(self._key_of(table, key)))
                        self._store_item(table, key, item, source="read", projection=projection)
            out["UnprocessedKeys"] = unprocessed
            if "ConsumedCapacity" in fetched:
                out["ConsumedCapacity"] = fetched["ConsumedCapacity"]
        outcome: Outcome = "hit" if not to_fetch else "miss"
        if to_fetch and not hits and not misses:
            outcome = "pass-through"
        self.cache.record(
            "BatchGetItem", first, outcome, f"{hits} from the item cache, {misses} from DynamoDB"
        )
        return out

    def _cached_read(self, operation: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
        table = params["TableName"]
        if params.get("ConsistentRead"):
            out = self._call(method, params)
            self.cache.record(operation, table, "pass-through", "strongly consistent: not cached")
            return out
        key = query_key(operation, params)
        entry = self.cache.lookup("query", key)
        label = _query_label(operation, params)
        if entry is not None:
            self.cache.record(operation, table, "hit", label)
            answer: dict[str, Any] = copy.deepcopy(entry.value)
            return answer
        out = self._call(method, params)
        stored = self.cache.store("query", key, copy.deepcopy(out), table=table, label=label)
        note = "" if stored is not None else " (query TTL 0: not cached)"
        self.cache.record(operation, table, "miss", label + note)
        return out

    def query(self, **params: Any) -> dict[str, Any]:
        """``Query`` through the query cache."""
        return self._cached_read("Query", "query", params)

    def scan(self, **params: Any) -> dict[str, Any]:
        """``Scan`` through the query cache."""
        return self._cached_read("Scan", "scan", params)

    def transact_get_items(self, **params: Any) -> dict[str, Any]:
        """``TransactGetItems``: passed to DynamoDB, never cached."""
        out = self._call("transact_get_items", params)
        items: list[dict[str, Any]] = params.get("TransactItems") or [{}]
        spec: dict[str, Any] = next(iter(items[0].values()), {})
        table = str(spec.get("TableName", ""))
        self.cache.record("TransactGetItems", table, "pass-through", "transactional: not cached")
        return out

    # -- writes ---------------------------------------------------------------------------------
    def put_item(self, **params: Any) -> dict[str, Any]:
        """``PutItem`` to DynamoDB, then into the item cache."""
        table = params["TableName"]
        out = self._call("put_item", params)
        key = self._key_of(table, params["Item"])
        self._write_through(table, key, params["Item"])
        self.cache.record("PutItem", table, "write-through", _key_text(key))
        return out

    def update_item(self, **params: Any) -> dict[str, Any]:
        """``UpdateItem`` to DynamoDB, then the new item into the item cache."""
        table = params["TableName"]
        asked = params.get("ReturnValues", "NONE")
        if asked in ("NONE", "ALL_NEW"):
            out = self._call("update_item", dict(params, ReturnValues="ALL_NEW"))
            self._write_through(table, params["Key"], out.get("Attributes"))
            if asked == "NONE":
                out.pop("Attributes", None)
        else:
            out = self._call("update_item", params)
            self._forget_key(table, params["Key"])
        self.cache.record("UpdateItem", table, "write-through", _key_text(params["Key"]))
        return out

    def delete_item(self, **params: Any) -> dict[str, Any]:
        """``DeleteItem`` in DynamoDB, then a negative entry in the item cache."""
        table = params["TableName"]
        out = self._call("delete_item", params)
        self._write_through(table, params["Key"], None)
        self.cache.record("DeleteItem", table, "write-through", _key_text(params["Key"]))
        return out

    def batch_write_item(self, **params: Any) -> dict[str, Any]:
        """``BatchWriteItem``; each processed put or delete is written through."""
        out = self._call("batch_write_item", params)
        unprocessed = out.get("UnprocessedItems") or {}
        count = 0
        for table, requests in params["RequestItems"].items():
            skipped = {canonical(r) for r in unprocessed.get(table, [])}
            for request in requests:
                if canonical(request) in skipped:
                    continue
                count += 1
                if "PutRequest" in request:
                    item = request["PutRequest"]["Item"]
                    self._write_through(table, self._key_of(table, item), item)
                elif "DeleteRequest" in request:
                    self._write_through(table, request["DeleteRequest"]["Key"], None)
        first = next(iter(params["RequestItems"]), "")
        self.cache.record("BatchWriteItem", first, "write-through", f"{count} items written")
        return out

    def transact_write_items(self, **params: Any) -> dict[str, Any]:
        """``TransactWriteItems``; once it commits, each put, update and delete is written
        through (an update drops the key's entries: the transaction returns no new image)."""
        out = self._call("transact_write_items", params)
        first = ""
        for action in params["TransactItems"]:
            (kind, spec), *_ = action.items()
            table = spec["TableName"]
            first = first or table
            if kind == "Put":
                self._write_through(table, self._key_of(table, spec["Item"]), spec["Item"])
            elif kind == "Delete":
                self._write_through(table, spec["Key"], None)
            elif kind == "Update":
                self._forget_key(table, spec["Key"])
        count = len(params["TransactItems"])
        self.cache.record("TransactWriteItems", first, "write-through", f"{count} actions")
        return out


__all__ = ["DaxNode", "DynamoCall", "KeyNames", "item_key", "query_key"]
