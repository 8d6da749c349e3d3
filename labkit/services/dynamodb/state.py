"""What a DynamoDB table holds and how it is doing: read-only snapshots for views and checks.

A :class:`TableSnapshot` describes one table as the lab clock stands: its capacity mode and
limits, its partitions (which share of the hash space each holds, how many items and which keys
live there, what it served this second, its burst balance and throttles), its traffic second by
second against its limit with throttles, its secondary indexes (and writes not yet propagated to
them), the items its TTL has made eligible for deletion and those next in line, and the newest
records of its stream.

Snapshots stay cheap on a table of a hundred thousand items: past :data:`EXACT_ITEMS` items they
read an evenly spaced sample (every n-th item) and scale its counts up, and say so
(``sampled``); they never list every item. Reading never creates a meter, a backend or an item.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from labkit.sandbox.backends import DEFAULT_ACCOUNT_ID, existing_in
from labkit.services.dynamodb.sim_capacity import (
    HASH_SPACE,
    READ,
    WRITE,
    TableCapacity,
    partition_of,
)
from labkit.services.dynamodb.sim_capacity_table import (
    ON_DEMAND,
    TableMeters,
    attrs_size,
    hash_of,
    meters_of,
)

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

#: Up to this many items a snapshot reads them all; past it, an evenly spaced sample of this many.
EXACT_ITEMS = 4_000
#: Items whose size is measured (the table's size is extrapolated from them).
SIZED_ITEMS = 1_000
#: Seconds of traffic a snapshot keeps (the plot's width).
SECONDS = 60
#: Keys named per partition (the rest are counted).
TOP_KEYS = 3
#: Items with TTL listed (the next to become eligible, and those eligible but not yet deleted).
TTL_LISTED = 8
#: Stream records listed (the newest).
STREAM_LISTED = 8


# -- snapshots ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PartitionInfo:
    """One partition of the table.

    Attributes:
        index: Its number, in hash order (0-based).
        start: First hash of its share of the 128-bit space, as 32 hex digits.
        end: Last hash of its share, as 32 hex digits.
        items: Items it holds (scaled from the sample when the snapshot is sampled).
        keys: Its busiest partition key values by item count, ``(key, items)`` (items 0 when the
            snapshot is sampled: a sample cannot count one key's items).
        distinct_keys: How many partition key values it holds (in the sample when sampled).
        rate: Its share of the table's units per second, ``(read, write)``.
        ceiling: The most it serves in a second, ``(read, write)``.
        used: Units served in the current second, ``(read, write)``.
        burst: Burst capacity held now, ``(read, write)`` (negative: paying back a large item).
        throttled: Requests refused since the table was created, ``(read, write)``.
    """

    index: int
    start: str
    end: str
    items: int
    keys: tuple[tuple[str, int], ...]
    distinct_keys: int
    rate: tuple[float, float]
    ceiling: tuple[float, float]
    used: tuple[float, float]
    burst: tuple[float, float]
    throttled: tuple[int, int]


@dataclass(frozen=True)
class SecondInfo:
    """One second of traffic.

    Attributes:
        second: The lab second (epoch seconds, whole).
        read: Read units consumed.
        write: Write units consumed.
        read_limit: Read units the table serves per second without burst.
        write_limit: Write units likewise.
        read_throttled: Read requests refused.
        write_throttled: Write requests refused.
    """

    second: int
    read: float
    write: float
    read_limit: float
    write_limit: float
    read_throttled: int
    write_throttled: int


@dataclass(frozen=True)
class IndexInfo:
    """A secondary index.

    Attributes:
        name: Its name.
        kind: ``global`` or ``local``.
        keys: Its key attributes, partition key first.
        projection: ``ALL``, ``KEYS_ONLY`` or ``INCLUDE``.
        provisioned: Its own read/write units (global, provisioned tables), else ``None``.
        partitions: Its partitions (global indexes), else 0.
        throttled: Requests it refused, ``(read, write)`` (a refused index write refuses the
            table write that caused it).
        pending: Table writes not yet visible in the index.
        seconds: Its traffic in the last seconds (global indexes).
    """

    name: str
    kind: str
    keys: tuple[str, ...]
    projection: str
    provisioned: tuple[float, float] | None
    partitions: int
    throttled: tuple[int, int]
    pending: int
    seconds: tuple[SecondInfo, ...]


@dataclass(frozen=True)
class TtlItem:
    """An item with a TTL value.

    Attributes:
        key: Its primary key, as text.
        expires: Its TTL value (epoch seconds).
        eligible: Whether the TTL has passed (it may be deleted from then on; until the
            background deletion it is still read).
    """

    key: str
    expires: float
    eligible: bool


@dataclass(frozen=True)
class StreamRecordInfo:
    """One record of the table's stream.

    Attributes:
        sequence: Its sequence number.
        event: ``INSERT``, ``MODIFY`` or ``REMOVE``.
        key: The item's key, as text.
        at: When it was written (epoch seconds), ``None`` if unknown.
        by_service: Whether DynamoDB itself made it (a TTL deletion).
    """

    sequence: str
    event: str
    key: str
    at: float | None
    by_service: bool


@dataclass(frozen=True)
class ScalingInfo:
    """An auto scaling (target tracking) policy on the table or one of its indexes.

    Attributes:
        resource: ``table/<name>`` or ``table/<name>/index/<index>``.
        kind: ``read`` or ``write``.
        target: The target utilization, percent.
        minimum: The scalable target's minimum units.
        maximum: The scalable target's maximum units.
        activities: The latest changes, oldest first: ``(at, direction, old, new)``.
    """

    resource: str
    kind: str
    target: float
    minimum: float
    maximum: float
    activities: tuple[tuple[float, str, float, float], ...]


@dataclass(frozen=True)
class TableSnapshot:
    """One DynamoDB table, as the lab clock stands.

    Attributes:
        name: The table's name.
        arn: Its ARN.
        region: Its Region.
        now: The lab time of the snapshot.
        on_demand: ``PAY_PER_REQUEST`` billing.
        provisioned: Provisioned ``(read, write)`` units (zero when on demand).
        limit: Units per second the table serves without burst, ``(read, write)``.
        hash_key: The partition key attribute.
        range_key: The sort key attribute, or ``""``.
        item_count: Items in the table (exact).
        size_bytes: Data size as AWS counts item sizes (scaled from the sample when sampled).
        sampled: Whether partition and TTL figures come from a sample.
        partition_count: How many partitions.
        partitions: Each partition.
        seconds: The last :data:`SECONDS` seconds of traffic, oldest first.
        throttled: Requests refused since creation, ``(read, write)``.
        indexes: Secondary indexes.
        ttl_attribute: The TTL attribute, or ``""`` when TTL is off.
        ttl_status: ``ENABLED``, ``DISABLED``, ...
        ttl_eligible: Items whose TTL has passed but that are still there (scaled when sampled).
        ttl_items: The eligible items and the next to become eligible, soonest first.
        stream_view_type: The stream's view type, or ``""`` when there is no stream.
        stream_records: The newest stream records, newest last.
        stream_record_count: How many records the stream holds.
        autoscaling: Target tracking policies on the table and its indexes.
    """

    name: str
    arn: str
    region: str
    now: float
    on_demand: bool
    provisioned: tuple[float, float]
    limit: tuple[float, float]
    hash_key: str
    range_key: str
    item_count: int
    size_bytes: int
    sampled: bool
    partition_count: int
    partitions: tuple[PartitionInfo, ...]
    seconds: tuple[SecondInfo, ...]
    throttled: tuple[int, int]
    indexes: tuple[IndexInfo, ...]
    ttl_attribute: str
    ttl_status: str
    ttl_eligible: int
    ttl_items: tuple[TtlItem, ...]
    stream_view_type: str
    stream_records: tuple[StreamRecordInfo, ...]
    stream_record_count: int
    autoscaling: tuple[ScalingInfo, ...] = ()


# -- reading moto's table -----------------------------------------------------------------------
def find_table(sandbox: Sandbox, table: str, *, region: str | None = None) -> Any:
    """moto's table called ``table`` (a name or an ARN), or ``None``; creates nothing."""
    if not isinstance(table, str) or not table:
        return None
    region = region or _region_of(table) or sandbox.region
    for backend in existing_in("dynamodb", DEFAULT_ACCOUNT_ID, region):
        tables = backend.tables
        if table in tables:
            return tables[table]
        for candidate in list(tables.values()):
            if candidate.table_arn == table:
                return candidate
    return None


def _region_of(table: str) -> str | None:
    parts = table.split(":")
    return parts[3] if table.startswith("arn:") and len(parts) > 3 else None


def table_names(sandbox: Sandbox, *, region: str | None = None) -> list[str]:
    """The names of the tables in ``region`` (the sandbox's by default)."""
    names: list[str] = []
    for backend in existing_in("dynamodb", DEFAULT_ACCOUNT_ID, region or sandbox.region):
        names.extend(backend.tables)
    return sorted(names)


def _items(table: Any) -> Iterator[Any]:
    if table.range_key_attr:
        for bucket in table.items.values():
            yield from bucket.values()
    else:
        yield from table.items.values()


def _sample(table: Any, stride: int) -> Iterator[Any]:
    """Every ``stride``-th item (a table without a sort key is sliced without a Python loop)."""
    items = _items(table) if table.range_key_attr else iter(table.items.values())
    return itertools.islice(items, 0, None, stride)


def item_count(table: Any) -> int:
    """How many items ``table`` holds."""
    if table.range_key_attr:
        return sum(len(bucket) for bucket in table.items.values())
    return len(table.items)


def _key_text(value: Any) -> str:
    raw = value.value
    if isinstance(raw, (bytes, bytearray)):
        return raw.hex()
    return str(raw)


def _item_key(table: Any, item: Any) -> str:
    text = _key_text(item.hash_key)
    if table.range_key_attr and item.range_key is not None:
        text += f" / {_key_text(item.range_key)}"
    return text


def _ttl_value(item: Any, attribute: str) -> float | None:
    value = item.attrs.get(attribute)
    if value is None or value.type != "N":
        return None  # TTL only reads Number attributes (epoch seconds)
    try:
        return float(value.value)
    except ValueError:
        return None


def _seconds(cap: TableCapacity, now: float) -> tuple[SecondInfo, ...]:
    return tuple(
        SecondInfo(
            second=s.second,
            read=s.consumed[READ],
            write=s.consumed[WRITE],
            read_limit=s.limit[READ],
            write_limit=s.limit[WRITE],
            read_throttled=s.throttled[READ],
            write_throttled=s.throttled[WRITE],
        )
        for s in cap.seconds(now, SECONDS)
    )


def _hex(value: int) -> str:
    return f"{min(value, HASH_SPACE - 1):032x}"


def table_snapshot(
    sandbox: Sandbox, table: str, *, region: str | None = None
) -> TableSnapshot | None:
    """A snapshot of the table called ``table`` (a name or an ARN), or ``None`` if missing."""
    found = find_table(sandbox, table, region=region)
    if found is None:
        return None
    return snapshot_of(found, sandbox.clock.timestamp)


def meters(table: Any, now: float) -> TableMeters:
    """The table's meters (made if no call has touched the table yet: they start empty)."""
    return meters_of(table, now)


def snapshot_of(table: Any, now: float) -> TableSnapshot:
    """A snapshot of moto's ``table`` at lab time ``now``."""
    m = meters(table, now)
    cap = m.table
    count = item_count(table)
    stride = max(1, -(-count // EXACT_ITEMS))
    sampled = stride > 1
    ttl = getattr(table, "ttl", None) or {}
    ttl_attribute = ttl.get("AttributeName", "") if ttl.get("TimeToLiveStatus") == "ENABLED" else ""

    # One pass over the (sampled) items: partitions, keys, size, TTL.
    partitions = cap.partition_count
    per_partition = [0] * partitions
    keys: list[Counter[str]] = [Counter() for _ in range(partitions)]
    size = 0
    eligible: list[tuple[float, int, Any]] = []
    upcoming: list[tuple[float, int, Any]] = []
    # Partition by key value, remembered per value (moto's typed values hash slowly).
    places: dict[tuple[str, str], int] = {}
    sized = 0
    for item in _sample(table, stride):
        hash_key = item.hash_key
        key = _key_text(hash_key)
        where = places.get((hash_key.type, key))
        if where is None:
            where = partition_of(hash_of(hash_key), partitions)
            places[(hash_key.type, key)] = where
        per_partition[where] += 1
        keys[where][key] += 1
        if sized < SIZED_ITEMS:
            sized += 1
            size += attrs_size(item.attrs)
        if ttl_attribute:
            expires = _ttl_value(item, ttl_attribute)
            if expires is not None:
                # Only the items listed get a key text (built below, for a few).
                (eligible if expires <= now else upcoming).append((expires, id(item), item))
    eligible_count = len(eligible)
    listed = heapq.nsmallest(TTL_LISTED, eligible)
    listed += heapq.nsmallest(TTL_LISTED - len(listed), upcoming)
    ttl_items = tuple(
        TtlItem(_item_key(table, item), expires, expires <= now) for expires, _, item in listed
    )

    usage = cap.partitions(now)
    partition_infos = tuple(
        PartitionInfo(
            index=p.index,
            start=_hex(p.start),
            end=_hex(p.end),
            items=per_partition[p.index] * stride,
            # Keys are named with their item counts only when every item was read: a sample
            # cannot tell how many items one key has.
            keys=tuple((k, 0 if sampled else n) for k, n in keys[p.index].most_common(TOP_KEYS)),
            distinct_keys=len(keys[p.index]),
            rate=p.rate,
            ceiling=p.ceiling,
            used=p.used,
            burst=p.burst,
            throttled=p.throttled,
        )
        for p in usage
    )
    return TableSnapshot(
        name=table.name,
        arn=table.table_arn,
        region=table.region_name,
        now=now,
        on_demand=cap.on_demand,
        provisioned=cap.provisioned if not cap.on_demand else (0.0, 0.0),
        limit=(cap.table_limit(READ), cap.table_limit(WRITE)),
        hash_key=table.hash_key_attr,
        range_key=table.range_key_attr or "",
        item_count=count,
        size_bytes=round(size * count / sized) if sized else 0,
        sampled=sampled,
        partition_count=partitions,
        partitions=partition_infos,
        seconds=_seconds(cap, now),
        throttled=cap.throttled_total,
        indexes=_indexes(table, m, now),
        ttl_attribute=ttl_attribute,
        ttl_status=str(ttl.get("TimeToLiveStatus", "DISABLED")),
        ttl_eligible=eligible_count * stride,
        ttl_items=ttl_items,
        stream_view_type=_stream_view_type(table),
        stream_records=_stream_records(table),
        stream_record_count=len(getattr(getattr(table, "stream_shard", None), "items", ()) or ()),
        autoscaling=_autoscaling(table),
    )


#: Scaling changes a snapshot lists per policy (the latest).
ACTIVITIES_LISTED = 4


def _autoscaling(table: Any) -> tuple[ScalingInfo, ...]:
    """The target tracking policies Application Auto Scaling holds for the table (if loaded)."""
    out: list[ScalingInfo] = []
    own = f"table/{table.name}"
    for backend in existing_in("application-autoscaling", DEFAULT_ACCOUNT_ID, table.region_name):
        for policy in list(backend.policies.values()):
            resource = policy.resource_id
            if policy.service_namespace != "dynamodb" or not (
                resource == own or resource.startswith(own + "/index/")
            ):
                continue
            body = policy.target_tracking_scaling_policy_configuration or {}
            target = backend.targets.get(policy.scalable_dimension, {}).get(resource)
            done = getattr(policy, "labkit_activities", ())[-ACTIVITIES_LISTED:]
            out.append(
                ScalingInfo(
                    resource=resource,
                    kind="read" if "Read" in policy.scalable_dimension else "write",
                    target=float(body.get("TargetValue", 0.0)),
                    minimum=float(getattr(target, "min_capacity", 0) or 0),
                    maximum=float(getattr(target, "max_capacity", 0) or 0),
                    activities=tuple((a.at, a.direction, a.old, a.new) for a in done),
                )
            )
    return tuple(out)


def _indexes(table: Any, m: TableMeters, now: float) -> tuple[IndexInfo, ...]:
    out: list[IndexInfo] = []
    for index in getattr(table, "global_indexes", None) or ():
        cap = m.indexes.get(index.name)
        pending = m.pending.get(index.name, {})
        waiting = sum(1 for at, _ in pending.values() if at > now)
        out.append(
            IndexInfo(
                name=index.name,
                kind="global",
                keys=tuple(k["AttributeName"] for k in _ordered(index.schema)),
                projection=(index.projection or {}).get("ProjectionType", "ALL"),
                provisioned=cap.provisioned if cap is not None and not cap.on_demand else None,
                partitions=cap.partition_count if cap is not None else 0,
                throttled=cap.throttled_total if cap is not None else (0, 0),
                pending=waiting,
                seconds=_seconds(cap, now) if cap is not None else (),
            )
        )
    for index in getattr(table, "indexes", None) or ():
        out.append(
            IndexInfo(
                name=index.name,
                kind="local",
                keys=tuple(k["AttributeName"] for k in _ordered(index.schema)),
                projection=(index.projection or {}).get("ProjectionType", "ALL"),
                provisioned=None,
                partitions=0,
                throttled=(0, 0),
                pending=0,
                seconds=(),
            )
        )
    return tuple(out)


def _ordered(schema: list[dict[str, str]]) -> list[dict[str, str]]:
    return sorted(schema, key=lambda k: 0 if k["KeyType"] == "HASH" else 1)


def _stream_view_type(table: Any) -> str:
    spec = getattr(table, "stream_specification", None) or {}
    return str(spec.get("StreamViewType", "")) if spec.get("StreamEnabled") else ""


def _stream_records(table: Any) -> tuple[StreamRecordInfo, ...]:
    shard = getattr(table, "stream_shard", None)
    if shard is None:
        return ()
    out = []
    for record in list(shard.items)[-STREAM_LISTED:]:
        body = record.record if hasattr(record, "record") else record
        data = body.get("dynamodb", {})
        keys = data.get("Keys", {})
        key = " / ".join(str(next(iter(v.values()))) for v in keys.values() if v)
        created = data.get("ApproximateCreationDateTime")
        at = created.timestamp() if isinstance(created, datetime) else created
        identity = body.get("userIdentity") or {}
        out.append(
            StreamRecordInfo(
                sequence=str(data.get("SequenceNumber", "")),
                event=str(body.get("eventName", "")),
                key=key,
                at=float(at) if isinstance(at, (int, float)) else None,
                # GetRecords spells it PrincipalId, a Lambda event principalId.
                by_service="dynamodb.amazonaws.com"
                in (identity.get("PrincipalId"), identity.get("principalId")),
            )
        )
    return tuple(out)


def partition_count(sandbox: Sandbox, table: str, *, region: str | None = None) -> int:
    """How many partitions the table (a name or an ARN) has now; 0 if there is no such table.

    Follows AWS's sizing: ``ceil(RCU / 3000 + WCU / 1000)`` for a provisioned table (never fewer
    than it had: partitions split, never merge), enough for double the previous peak on demand.
    """
    found = find_table(sandbox, table, region=region)
    if found is None:
        return 0
    return meters(found, sandbox.clock.timestamp).table.partition_count


def throttled(sandbox: Sandbox, table: str, *, region: str | None = None) -> tuple[int, int]:
    """Requests the table refused since it was created, ``(reads, writes)`` (GSI back-pressure
    included: a write an index could not take is a refused table write)."""
    found = find_table(sandbox, table, region=region)
    if found is None:
        return (0, 0)
    m = meters(found, sandbox.clock.timestamp)
    reads, writes = m.table.throttled_total
    for index in m.indexes.values():
        writes += index.throttled_total[WRITE]
    return reads, writes


def is_on_demand(table: Any) -> bool:
    """Whether moto's ``table`` bills per request."""
    return getattr(table, "billing_mode", "") == ON_DEMAND


__all__ = [
    "EXACT_ITEMS",
    "SECONDS",
    "IndexInfo",
    "PartitionInfo",
    "ScalingInfo",
    "SecondInfo",
    "StreamRecordInfo",
    "TableSnapshot",
    "TtlItem",
    "find_table",
    "is_on_demand",
    "item_count",
    "meters",
    "partition_count",
    "snapshot_of",
    "table_names",
    "table_snapshot",
    "throttled",
]
