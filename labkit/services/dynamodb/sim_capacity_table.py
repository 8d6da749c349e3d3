"""A DynamoDB table's meters, kept on moto's table object, and what a write costs its indexes.

Plain Python: it imports nothing of moto and reads a table by duck typing (``billing_mode``,
``throughput``, ``global_indexes``, ``indexes``, ``hash_key_attr``, ``range_key_attr``), so that
the patch, :mod:`labkit.services.dynamodb.state` and tests share it. Attribute values are either
DynamoDB JSON (``{"S": "x"}``, as requests carry them) or moto's typed values (objects with
``type`` and ``value``, as moto stores them); both are measured the same way.

What a write costs a secondary index (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html,
"Provisioned throughput considerations for global secondary indexes"): nothing when the item
has no value for the index's key attributes (a sparse index) or when no projected attribute
changed; one write of the index entry's size when an entry appears, disappears or changes in
place; two writes (a delete and a put) when the index key changes. An index entry holds the
projected attributes: the table's and the index's keys, plus ``NonKeyAttributes`` (INCLUDE) or
everything (ALL).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit.services.dynamodb.sim_capacity import (
    DEFAULT_LIMITS,
    CapacityLimits,
    TableCapacity,
    binary_size,
    key_hash,
    number_size,
    value_size,
    write_units,
)

ON_DEMAND = "PAY_PER_REQUEST"


# -- values of either shape ---------------------------------------------------------------------
def attr_size(value: Any) -> int:
    """Bytes of one attribute value, DynamoDB JSON or moto's typed value."""
    if isinstance(value, Mapping):
        return value_size(value)
    code, raw = value.type, value.value
    if code == "S":
        return len(raw.encode("utf-8"))
    if code == "N":
        return number_size(str(raw))
    if code == "B":
        return binary_size(raw)
    if code in ("BOOL", "NULL"):
        return 1
    if code == "SS":
        return sum(len(s.encode("utf-8")) for s in raw)
    if code == "NS":
        return sum(number_size(str(n)) for n in raw)
    if code == "BS":
        return sum(binary_size(b) for b in raw)
    if code == "L":
        return 3 + sum(1 + attr_size(element) for element in raw)
    if code == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + attr_size(v) for k, v in raw.items())
    return len(str(raw).encode("utf-8"))


def attrs_size(attrs: Mapping[str, Any]) -> int:
    """Bytes of an item given as ``name -> value`` (either shape)."""
    return sum(len(name.encode("utf-8")) + attr_size(value) for name, value in attrs.items())


def as_json(value: Any) -> dict[str, Any]:
    """A key value as DynamoDB JSON (``{"S": "x"}``), from either shape."""
    if isinstance(value, Mapping):
        return dict(value)
    return {value.type: value.value}


def hash_of(value: Any) -> int:
    """Where a partition key value (either shape) lives in the hash space."""
    # The common case, a string key, without building a JSON value first (key_hash's bytes).
    if isinstance(value, Mapping):
        text = value.get("S")
    else:
        text = value.value if value.type == "S" else None
    if isinstance(text, str):
        return int.from_bytes(hashlib.md5(text.encode("utf-8")).digest(), "big")
    return key_hash(as_json(value))


def _comparable(value: Any) -> Any:
    """A form of a value that compares equal across the two shapes (for "did it change")."""
    if isinstance(value, Mapping):
        code, raw = next(iter(value.items()))
    else:
        code, raw = value.type, value.value
    if code == "L":
        return (code, tuple(_comparable(v) for v in raw))
    if code == "M":
        return (code, tuple(sorted((k, _comparable(v)) for k, v in raw.items())))
    if code in ("SS", "NS", "BS"):
        return (code, frozenset(str(v) for v in raw))
    if code == "N":
        return (code, number_key(str(raw)))
    return (code, raw if not isinstance(raw, (bytes, bytearray)) else bytes(raw))


def number_key(text: str) -> str:
    """A normal form of a Number's text (``1``, ``1.0`` and ``1e0`` are one number)."""
    from decimal import Decimal, InvalidOperation

    try:
        return format(Decimal(text).normalize(), "f")
    except InvalidOperation:
        return text


# -- index entries ------------------------------------------------------------------------------
@dataclass(frozen=True)
class IndexEntry:
    """The entry an item has in one secondary index.

    Attributes:
        key: The index key values, comparable (hash, range).
        hash_value: The hash (128-bit) of the index's partition key value.
        size: Bytes of the projected attributes.
        projected: The projected attributes in comparable form.
    """

    key: tuple[Any, ...]
    hash_value: int
    size: int
    projected: tuple[Any, ...]


def index_key_names(index: Any) -> list[str]:
    """The index's key attribute names, partition key first."""
    schema = sorted(index.schema, key=lambda k: 0 if k["KeyType"] == "HASH" else 1)
    return [k["AttributeName"] for k in schema]


def index_entry(
    index: Any, table_keys: list[str], attrs: Mapping[str, Any] | None
) -> IndexEntry | None:
    """The entry ``attrs`` (an item, either shape) has in ``index``; ``None`` if it has none."""
    if attrs is None:
        return None
    names = index_key_names(index)
    if any(name not in attrs for name in names):
        return None  # a sparse index holds only items with its key attributes
    projection = (index.projection or {}).get("ProjectionType", "ALL")
    if projection == "ALL":
        kept = attrs
    else:
        wanted = set(table_keys) | set(names)
        if projection == "INCLUDE":
            wanted |= set(index.projection.get("NonKeyAttributes", []))
        kept = {name: value for name, value in attrs.items() if name in wanted}
    return IndexEntry(
        key=tuple(_comparable(attrs[name]) for name in names),
        hash_value=hash_of(attrs[names[0]]),
        size=attrs_size(kept),
        projected=tuple(sorted((name, _comparable(v)) for name, v in kept.items())),
    )


def index_writes(
    old: IndexEntry | None,
    new: IndexEntry | None,
    *,
    transactional: bool = False,
    limits: CapacityLimits = DEFAULT_LIMITS,
) -> list[tuple[int, float]]:
    """The index writes one item write causes: ``(hash of the entry, units)`` for each."""
    units = write_units
    if old is None and new is None:
        return []
    if old is None:
        assert new is not None
        return [(new.hash_value, units(new.size, transactional=transactional, limits=limits))]
    if new is None:
        return [(old.hash_value, units(old.size, transactional=transactional, limits=limits))]
    if old.key != new.key:
        return [
            (old.hash_value, units(old.size, transactional=transactional, limits=limits)),
            (new.hash_value, units(new.size, transactional=transactional, limits=limits)),
        ]
    if old.projected == new.projected:
        return []
    size = max(old.size, new.size)
    return [(new.hash_value, units(size, transactional=transactional, limits=limits))]


# -- the meters of one table --------------------------------------------------------------------
@dataclass
class TableMeters:
    """The capacity of a table and of each of its global secondary indexes.

    Attributes:
        table: The table's meters.
        indexes: Each GSI's meters, by index name.
        config: The table settings the meters were made for (to notice ``UpdateTable``).
        index_config: The same for each GSI.
        pending: Per GSI, base-table key -> ``(visible_at, stale)``: a write not yet propagated
            to the index, and the entry the index still shows until then (``None``: none).
    """

    table: TableCapacity
    indexes: dict[str, TableCapacity] = field(default_factory=dict)
    config: tuple[Any, ...] = ()
    index_config: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    pending: dict[str, dict[tuple[Any, ...], tuple[float, Any]]] = field(default_factory=dict)


def _throughput(obj: Any) -> tuple[float, float]:
    throughput = getattr(obj, "throughput", None) or {}
    return (
        float(throughput.get("ReadCapacityUnits") or 0),
        float(throughput.get("WriteCapacityUnits") or 0),
    )


def meters_of(
    table: Any, now: float, limits: CapacityLimits = DEFAULT_LIMITS, *, adaptive: bool = False
) -> TableMeters:
    """The meters kept on moto's ``table`` (made on first use), in step with its settings.

    Settings changed since the last call (``UpdateTable``, auto scaling, a GSI created or
    deleted) are applied here, so whoever changed them, the meters follow.
    """
    meters: TableMeters | None = table.__dict__.get("labkit_capacity")
    on_demand = getattr(table, "billing_mode", "PROVISIONED") == ON_DEMAND
    config = (on_demand, _throughput(table))
    if meters is None:
        rcu, wcu = config[1]
        created = getattr(table, "created_at", None)
        # Burst accrues from the table's creation (moto stamps it with the lab clock).
        born = min(now, created.timestamp()) if created is not None else now
        meters = TableMeters(
            table=TableCapacity(
                on_demand=on_demand, rcu=rcu, wcu=wcu, now=born, limits=limits, adaptive=adaptive
            ),
            config=config,
        )
        table.labkit_capacity = meters
    elif meters.config != config:
        if on_demand:
            meters.table.set_on_demand(now)
        else:
            meters.table.set_provisioned(*config[1], now=now)
        meters.config = config
    # Global secondary indexes: their own capacity (on demand when the table is).
    seen = set()
    for index in getattr(table, "global_indexes", None) or ():
        seen.add(index.name)
        index_config = (on_demand, _throughput(index))
        current = meters.indexes.get(index.name)
        if current is None:
            meters.indexes[index.name] = TableCapacity(
                on_demand=on_demand,
                rcu=index_config[1][0],
                wcu=index_config[1][1],
                now=now,
                limits=limits,
                adaptive=adaptive,
            )
        elif meters.index_config.get(index.name) != index_config:
            if on_demand:
                current.set_on_demand(now)
            else:
                current.set_provisioned(*index_config[1], now=now)
        meters.index_config[index.name] = index_config
    for gone in set(meters.indexes) - seen:
        del meters.indexes[gone]
        meters.index_config.pop(gone, None)
        meters.pending.pop(gone, None)
    return meters


__all__ = [
    "ON_DEMAND",
    "IndexEntry",
    "TableMeters",
    "as_json",
    "attr_size",
    "attrs_size",
    "hash_of",
    "index_entry",
    "index_key_names",
    "index_writes",
    "meters_of",
    "number_key",
]
