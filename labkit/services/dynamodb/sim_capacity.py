"""DynamoDB capacity on the lab clock: item sizes, capacity units, partitions, throttling.

Plain Python (no moto): :mod:`labkit.services.dynamodb.patch` feeds it what moto stores, and views
and checks read it. What it models, each from AWS's documentation:

- **Item size** as AWS counts it: attribute names plus values; strings and binaries by their
  UTF-8/raw bytes, numbers by ``1 byte per two significant digits + 1``, null and booleans one
  byte, lists and maps ``3 bytes + 1 byte per element`` plus their elements
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html).
- **Capacity units**: a strongly consistent read of up to 4 KB costs one read unit, an
  eventually consistent one half, a transactional one two; a write of up to 1 KB one write unit,
  a transactional one two. ``Query`` and ``Scan`` add up the sizes of the items they evaluate
  and round the sum up once; ``GetItem`` and each item of a batch round up per item
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html).
- **Partitions**: a partition holds up to 10 GB and serves up to 3,000 read units and 1,000
  write units per second, so a provisioned table has at least
  ``ceil(RCU / 3000 + WCU / 1000)`` partitions (and ``ceil(size / 10 GB)``); partitions split but
  never merge. A key lives on the partition whose share of the 128-bit hash space holds the
  MD5 of its partition key value (AWS hashes the partition key but does not publish the hash;
  MD5 makes the sandbox repeatable).
- **Per-second meters per partition**: each second of lab time (``floor(t)``) a partition of a
  provisioned table serves its share of the table's units (``RCU / partitions``) plus its
  **burst capacity**, the unused share of earlier seconds kept up to 300 s, but never more than
  the partition maximum. Over that, a request is throttled; a refused request uses nothing.
  A new table starts with no burst capacity and accrues it from the second it was created.
  AWS's *adaptive capacity* (a hot partition borrowing the table's unused share, still capped
  at 3,000/1,000) is off by default, as the course's contract says a partition serves its
  share; ``adaptive=True`` turns it on.
- **On-demand**: a new table serves up to 4,000 write and 12,000 read units per second at once
  ("double its previous peak", the previous peak being half of that); a new peak lets the table
  double again, but throttling "can still occur if the throughput exceeds twice the previous peak
  within the same 30 minutes"
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/pre-warming-on-demand-capacity-mode.html).
  Each partition still serves at most 3,000/1,000 units per second.
- **GSIs** are metered like tables with their own capacity and partitions (keyed by the index's
  partition key); the patch refuses a table write whose index cannot take its share
  (back-pressure, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/gsi-throttling.html).

A request whose cost is larger than all a partition may serve in a second (a 40 KB write to a
table of 10 WCU) is admitted when the partition is untouched that second and not in debt, and
the excess is paid back from the following seconds (a debt on the burst balance), so large items
are slow rather than impossible, as on AWS.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: Read and write, as indexes into the meters' pairs.
READ = 0
WRITE = 1
KINDS = ("read", "write")

#: Consistency of a read, for :func:`read_units`.
EVENTUAL = "eventual"
STRONG = "strong"
TRANSACTIONAL = "transactional"

#: Size of the 128-bit hash space keys are placed in.
HASH_SPACE = 1 << 128

#: Per-second usage kept per table (the view plots at most this many seconds back).
HISTORY_SECONDS = 1200


@dataclass(frozen=True)
class CapacityLimits:
    """The documented numbers the meters enforce (from ``labkit.facts`` by default)."""

    read_unit_bytes: int = 4096
    write_unit_bytes: int = 1024
    transactional_multiplier: int = 2
    partition_max_rcu: float = 3000.0
    partition_max_wcu: float = 1000.0
    partition_max_bytes: int = 10 * 1024**3
    burst_seconds: float = 300.0
    on_demand_initial_reads: float = 12000.0
    on_demand_initial_writes: float = 4000.0
    on_demand_peak_multiplier: float = 2.0
    on_demand_peak_window: float = 1800.0
    item_size_max: int = 409600

    @classmethod
    def from_facts(cls) -> CapacityLimits:
        """AWS's numbers, read from the fact table."""
        from labkit import facts

        v = facts.value
        return cls(
            read_unit_bytes=int(v("dynamodb.rcu_strong_read_bytes")),
            write_unit_bytes=int(v("dynamodb.wcu_write_bytes")),
            transactional_multiplier=int(v("dynamodb.transactional_capacity_multiplier")),
            partition_max_rcu=float(v("dynamodb.partition_max_rcu")),
            partition_max_wcu=float(v("dynamodb.partition_max_wcu")),
            partition_max_bytes=int(v("dynamodb.partition_max_bytes")),
            burst_seconds=float(v("dynamodb.burst_seconds")),
            on_demand_initial_reads=float(v("dynamodb.on_demand_initial_reads")),
            on_demand_initial_writes=float(v("dynamodb.on_demand_initial_writes")),
            on_demand_peak_multiplier=float(v("dynamodb.on_demand_peak_multiplier")),
            on_demand_peak_window=float(v("dynamodb.on_demand_peak_window")),
            item_size_max=int(v("dynamodb.item_size_max")),
        )

    def partition_max(self, kind: int) -> float:
        """The most units of ``kind`` one partition serves per second."""
        return self.partition_max_rcu if kind == READ else self.partition_max_wcu


DEFAULT_LIMITS = CapacityLimits()


# -- item sizes ---------------------------------------------------------------------------------
def number_size(text: str) -> int:
    """Bytes a Number value takes: 1 per two significant digits, plus 1.

    Leading and trailing zeroes are trimmed (CapacityUnitCalculations.html); the sign and the
    decimal point and exponent are not digits.
    """
    mantissa = text.lstrip("+-").lower().split("e", 1)[0]
    digits = mantissa.replace(".", "").strip("0")
    return (len(digits) + 1) // 2 + 1


def binary_size(value: Any) -> int:
    """Raw bytes of a Binary value (given as bytes or as its base64 text, as on the wire)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    text = str(value)
    try:
        return len(base64.b64decode(text, validate=False))
    except ValueError:
        return len(text.encode("utf-8"))


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes of one attribute value in DynamoDB JSON (``{"S": "x"}``), without its name."""
    for code, raw in value.items():
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
            # 3 bytes for the list, 1 per element (CapacityUnitCalculations.html).
            return 3 + sum(1 + value_size(element) for element in raw)
        if code == "M":
            return 3 + sum(
                1 + len(name.encode("utf-8")) + value_size(element) for name, element in raw.items()
            )
        raise ValueError(f"unknown DynamoDB type {code!r}")
    raise ValueError("an attribute value needs a type, e.g. {'S': 'text'}")


def item_size(item: Mapping[str, Mapping[str, Any]]) -> int:
    """Bytes of an item in DynamoDB JSON: each attribute's name (UTF-8) plus its value."""
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


# -- capacity units -----------------------------------------------------------------------------
def read_units(
    size: int, consistency: str = STRONG, limits: CapacityLimits = DEFAULT_LIMITS
) -> float:
    """Read units to read ``size`` bytes in one request (rounded up to 4 KB, at least one block).

    Example:
        >>> read_units(3500), read_units(3500, EVENTUAL), read_units(8192, TRANSACTIONAL)
        (1.0, 0.5, 4.0)
    """
    blocks = max(1, -(-size // limits.read_unit_bytes))
    if consistency == EVENTUAL:
        return blocks / 2
    if consistency == TRANSACTIONAL:
        return float(blocks * limits.transactional_multiplier)
    return float(blocks)


def write_units(
    size: int, *, transactional: bool = False, limits: CapacityLimits = DEFAULT_LIMITS
) -> float:
    """Write units to write an item of ``size`` bytes (rounded up to 1 KB, at least one).

    Example:
        >>> write_units(500), write_units(1025), write_units(1024, transactional=True)
        (1.0, 2.0, 2.0)
    """
    blocks = max(1, -(-size // limits.write_unit_bytes))
    return float(blocks * (limits.transactional_multiplier if transactional else 1))


# -- partitions ---------------------------------------------------------------------------------
def key_bytes(value: Mapping[str, Any]) -> bytes:
    """The bytes of a partition key value (``{"S": ...}``, ``{"N": ...}`` or ``{"B": ...}``)."""
    for code, raw in value.items():
        if code == "B":
            if isinstance(raw, (bytes, bytearray)):
                return bytes(raw)
            return base64.b64decode(str(raw), validate=False)
        if code == "N":
            # 1, 1.0 and 1e0 are one number, and one key: hash its normal form.
            return _normal_number(str(raw)).encode("ascii")
        return str(raw).encode("utf-8")
    return b""


def _normal_number(text: str) -> str:
    try:
        from decimal import Decimal

        return format(Decimal(text).normalize(), "f")
    except ArithmeticError:
        return text


def key_hash(value: Mapping[str, Any]) -> int:
    """Where a partition key value lives in the 128-bit hash space (MD5 of its bytes)."""
    return int.from_bytes(hashlib.md5(key_bytes(value)).digest(), "big")


def partition_of(hash_value: int, partitions: int) -> int:
    """The index of the partition (of ``partitions`` equal hash ranges) holding ``hash_value``."""
    return (hash_value * partitions) >> 128


def provisioned_partitions(
    rcu: float, wcu: float, size_bytes: int = 0, limits: CapacityLimits = DEFAULT_LIMITS
) -> int:
    """Partitions a provisioned table needs for its throughput and its data.

    Example:
        >>> provisioned_partitions(100, 100), provisioned_partitions(3000, 1000)
        (1, 2)
    """
    by_throughput = math.ceil(rcu / limits.partition_max_rcu + wcu / limits.partition_max_wcu)
    by_size = math.ceil(size_bytes / limits.partition_max_bytes)
    return max(1, by_throughput, by_size)


# -- one partition's meter ----------------------------------------------------------------------
class Bucket:
    """What one partition serves of one kind (reads or writes), second by second.

    Args:
        rate: Units per second the partition is provisioned for (its share of the table).
        ceiling: The most it serves in any second (the partition maximum).
        burst_seconds: How many seconds of unused ``rate`` it keeps as burst capacity.
    """

    __slots__ = (
        "burst",
        "burst_max",
        "ceiling",
        "consumed",
        "rate",
        "second",
        "throttled",
        "total",
        "used",
    )

    def __init__(self, rate: float, ceiling: float, burst_seconds: float) -> None:
        self.rate = rate
        self.ceiling = ceiling
        self.burst_max = rate * burst_seconds
        self.burst = 0.0
        self.second = -1
        self.used = 0.0
        #: Units served and requests refused since the partition was created.
        self.total = 0.0
        self.throttled = 0
        #: Units served in the second before ``second`` (for views).
        self.consumed = 0.0

    def roll(self, second: int) -> None:
        """Move the meter on to ``second``: close the current one and accrue idle seconds."""
        if second <= self.second:
            return
        if self.second >= 0:
            # Unused share of the closed second becomes burst; an overdraft is a debt.
            self.burst = min(self.burst_max, self.burst + self.rate - self.used)
            idle = second - self.second - 1
            if idle > 0:
                self.burst = min(self.burst_max, self.burst + self.rate * idle)
        self.second = second
        self.used = 0.0

    def allowance(self) -> float:
        """Units this partition may serve in its current second (share + burst, capped)."""
        return min(self.ceiling, self.rate + self.burst)

    def fits(self, second: int, units: float, extra: float = 0.0, pending: float = 0.0) -> bool:
        """Whether ``units`` more fit in ``second``.

        Args:
            second: The lab second.
            units: The units asked for.
            extra: Capacity the table lends (adaptive capacity).
            pending: Units already promised in this second but not yet counted (earlier items
                of the same batch).
        """
        self.roll(second)
        allowance = min(self.ceiling, self.rate + self.burst + extra)
        used = self.used + pending
        if used + units <= allowance + 1e-9:
            return True
        # A request larger than a whole second's allowance goes through on an untouched partition
        # that owes nothing, and is paid back from the following seconds.
        return used == 0.0 and self.burst >= 0.0 and allowance > 0.0 and units > allowance

    def consume(self, second: int, units: float) -> None:
        """Count ``units`` served in ``second``."""
        self.roll(second)
        self.used += units
        self.total += units

    def resize(self, rate: float, burst_seconds: float) -> None:
        """A new share (the table's capacity changed); burst kept, capped at the new maximum."""
        self.rate = rate
        self.burst_max = rate * burst_seconds
        self.burst = min(self.burst, self.burst_max)


# -- snapshots ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SecondUsage:
    """One second of a table's (or index's) traffic against its limit.

    Attributes:
        second: The lab second (epoch seconds, whole).
        consumed: Units served that second, ``(read, write)``.
        limit: Units the table could serve that second without burst, ``(read, write)``:
            provisioned capacity, or on-demand's double of the previous peak.
        throttled: Requests refused that second, ``(read, write)``.
    """

    second: int
    consumed: tuple[float, float]
    limit: tuple[float, float]
    throttled: tuple[int, int]


@dataclass(frozen=True)
class PartitionUsage:
    """One partition at one moment.

    Attributes:
        index: The partition's number (0-based, in hash order).
        start: First hash (inclusive) of its share of the 128-bit space.
        end: Last hash (inclusive).
        rate: Its share per second, ``(read, write)``.
        ceiling: The most it serves in a second, ``(read, write)``.
        burst: Burst capacity it holds now, ``(read, write)`` (negative: a debt).
        used: Units served in the current second, ``(read, write)``.
        total: Units served since it was created, ``(read, write)``.
        throttled: Requests refused since it was created, ``(read, write)``.
    """

    index: int
    start: int
    end: int
    rate: tuple[float, float]
    ceiling: tuple[float, float]
    burst: tuple[float, float]
    used: tuple[float, float]
    total: tuple[float, float]
    throttled: tuple[int, int]


# -- a table's (or an index's) capacity ---------------------------------------------------------
class TableCapacity:
    """The capacity of one table or global secondary index, with its partitions' meters.

    Args:
        on_demand: ``PAY_PER_REQUEST`` billing.
        rcu: Provisioned read capacity units (ignored when on demand).
        wcu: Provisioned write capacity units (ignored when on demand).
        now: The lab time of creation (epoch seconds).
        limits: The numbers to enforce.
        adaptive: Let a hot partition borrow the table's unused share (AWS adaptive capacity).

    Example:
        >>> cap = TableCapacity(on_demand=False, rcu=10, wcu=5, now=0.0)
        >>> [cap.try_consume(0.0, WRITE, 42, 1.0) for _ in range(6)]
        [True, True, True, True, True, False]
        >>> cap.try_consume(1.0, WRITE, 42, 1.0)
        True
    """

    def __init__(
        self,
        *,
        on_demand: bool,
        rcu: float = 0.0,
        wcu: float = 0.0,
        now: float = 0.0,
        limits: CapacityLimits = DEFAULT_LIMITS,
        adaptive: bool = False,
    ) -> None:
        self.limits = limits
        self.adaptive = adaptive
        self.on_demand = on_demand
        self.provisioned = (float(rcu), float(wcu))
        self.partition_count = 0
        self.buckets: list[tuple[Bucket, Bucket]] = []
        # The table's own per-second sums, for limits (on-demand) and views.
        self._second = -1
        self._used = [0.0, 0.0]
        self._throttled = [0, 0]
        self.history: deque[SecondUsage] = deque(maxlen=HISTORY_SECONDS)
        # On-demand: the peak that stood at the start of the current 30-minute window, the start,
        # and the highest second seen since.
        initial = (limits.on_demand_initial_reads, limits.on_demand_initial_writes)
        self._peak = [
            initial[READ] / limits.on_demand_peak_multiplier,
            initial[WRITE] / limits.on_demand_peak_multiplier,
        ]
        self._window_start = now
        self._seen_peak = [0.0, 0.0]
        self.size_bytes = 0
        # Burst accrues from the second the table was created.
        self._created = int(now)
        self._layout(max(1, self._needed_partitions()))

    # -- configuration ------------------------------------------------------------------------
    def _needed_partitions(self) -> int:
        lim = self.limits
        if self.on_demand:
            reads, writes = self.table_limit(READ), self.table_limit(WRITE)
            need = max(
                math.ceil(reads / lim.partition_max_rcu), math.ceil(writes / lim.partition_max_wcu)
            )
            by_size = math.ceil(self.size_bytes / lim.partition_max_bytes)
            return max(1, need, by_size)
        return provisioned_partitions(*self.provisioned, self.size_bytes, lim)

    def _shares(self, count: int) -> tuple[float, float]:
        if self.on_demand:
            return self.limits.partition_max_rcu, self.limits.partition_max_wcu
        return self.provisioned[READ] / count, self.provisioned[WRITE] / count

    def _layout(self, count: int) -> None:
        """Use ``count`` partitions (never fewer than now: partitions split, never merge)."""
        count = max(count, self.partition_count)
        lim = self.limits
        burst_seconds = 0.0 if self.on_demand else lim.burst_seconds
        read_share, write_share = self._shares(count)
        if count == self.partition_count:
            for r, w in self.buckets:
                r.resize(read_share, burst_seconds)
                w.resize(write_share, burst_seconds)
            return
        # A split: the new partitions share the old ones' burst balance evenly.
        old = self.buckets
        burst = [sum(b[k].burst for b in old) / count if old else 0.0 for k in (READ, WRITE)]
        start = max(self._second, self._created)
        self.buckets = []
        for _ in range(count):
            r = Bucket(read_share, lim.partition_max_rcu, burst_seconds)
            w = Bucket(write_share, lim.partition_max_wcu, burst_seconds)
            r.burst = min(burst[READ], r.burst_max)
            w.burst = min(burst[WRITE], w.burst_max)
            r.second = w.second = start
            self.buckets.append((r, w))
        self.partition_count = count

    def set_provisioned(self, rcu: float, wcu: float, now: float) -> None:
        """Provisioned mode with ``rcu``/``wcu`` (``UpdateTable``); partitions split as needed."""
        self._roll(int(now))
        self.on_demand = False
        self.provisioned = (float(rcu), float(wcu))
        self._layout(self._needed_partitions())

    def set_on_demand(self, now: float) -> None:
        """On-demand mode: the previous peak is at least what was provisioned."""
        self._roll(int(now))
        if not self.on_demand:
            self._peak = [max(self._peak[k], self.provisioned[k]) for k in (READ, WRITE)]
            self._window_start = now
        self.on_demand = True
        self._layout(self._needed_partitions())

    def note_size(self, size_bytes: int) -> None:
        """The table holds ``size_bytes`` of data: more partitions past 10 GB each."""
        self.size_bytes = size_bytes
        self._layout(self._needed_partitions())

    # -- limits ---------------------------------------------------------------------------------
    def table_limit(self, kind: int) -> float:
        """Units per second the table serves without burst: provisioned, or double the peak."""
        if self.on_demand:
            return self._peak[kind] * self.limits.on_demand_peak_multiplier
        return self.provisioned[kind]

    def partition(self, hash_value: int) -> int:
        """The partition holding ``hash_value``."""
        return partition_of(hash_value, self.partition_count)

    def _roll(self, second: int) -> None:
        if second <= self._second:
            return
        if self._second >= 0:
            used = (self._used[READ], self._used[WRITE])
            self.history.append(
                SecondUsage(
                    second=self._second,
                    consumed=used,
                    limit=(self.table_limit(READ), self.table_limit(WRITE)),
                    throttled=(self._throttled[READ], self._throttled[WRITE]),
                )
            )
            self._seen_peak = [max(self._seen_peak[k], used[k]) for k in (READ, WRITE)]
        self._second = second
        self._used = [0.0, 0.0]
        self._throttled = [0, 0]
        if self.on_demand and second >= self._window_start + self.limits.on_demand_peak_window:
            # A new 30-minute window: the peak reached in the last one becomes the previous peak.
            self._peak = [max(self._peak[k], self._seen_peak[k]) for k in (READ, WRITE)]
            self._window_start = float(second)
            self._seen_peak = [0.0, 0.0]
            if self._needed_partitions() > self.partition_count:
                self._layout(self._needed_partitions())

    # -- metering -------------------------------------------------------------------------------
    def fits(
        self, now: float, kind: int, hash_value: int, units: float, pending: float = 0.0
    ) -> bool:
        """Whether the partition of ``hash_value`` (and the table) can serve ``units`` now.

        ``pending``: units already promised on that partition this second but not yet counted.
        """
        second = int(now)
        self._roll(second)
        limit = self.table_limit(kind) + 1e-9
        if self.on_demand and self._used[kind] + pending + units > limit:
            return False
        bucket = self.buckets[partition_of(hash_value, self.partition_count)][kind]
        extra = 0.0
        if self.adaptive and not self.on_demand:
            extra = max(0.0, self.provisioned[kind] - self._used[kind] - pending - bucket.rate)
        return bucket.fits(second, units, extra, pending)

    def consume(self, now: float, kind: int, hash_value: int, units: float) -> None:
        """Count ``units`` served now on the partition of ``hash_value``."""
        second = int(now)
        self._roll(second)
        self._used[kind] += units
        self.buckets[partition_of(hash_value, self.partition_count)][kind].consume(second, units)

    def throttle(self, now: float, kind: int, hash_value: int) -> None:
        """Count one refused request on the partition of ``hash_value``."""
        self._roll(int(now))
        self._throttled[kind] += 1
        self.buckets[partition_of(hash_value, self.partition_count)][kind].throttled += 1

    def try_consume(self, now: float, kind: int, hash_value: int, units: float) -> bool:
        """Serve ``units`` if they fit (and count them), else count a throttle; which it was."""
        if self.fits(now, kind, hash_value, units):
            self.consume(now, kind, hash_value, units)
            return True
        self.throttle(now, kind, hash_value)
        return False

    def consume_spread(self, now: float, kind: int, units: float) -> None:
        """Count ``units`` spread evenly over all partitions (a Scan reads every partition)."""
        share = units / self.partition_count
        second = int(now)
        self._roll(second)
        self._used[kind] += units
        for pair in self.buckets:
            pair[kind].consume(second, share)

    def fits_spread(self, now: float, kind: int, units: float) -> bool:
        """Whether every partition can serve its even share of ``units`` now."""
        second = int(now)
        self._roll(second)
        if self.on_demand and self._used[kind] + units > self.table_limit(kind) + 1e-9:
            return False
        share = units / self.partition_count
        return all(pair[kind].fits(second, share) for pair in self.buckets)

    # -- looking inside -------------------------------------------------------------------------
    def seconds(self, now: float, span: int = 60) -> list[SecondUsage]:
        """The last ``span`` seconds up to ``now`` (the current one included), idle ones as zero."""
        second = int(now)
        self._roll(second)
        by_second = {u.second: u for u in self.history if u.second > second - span}
        by_second[second] = SecondUsage(
            second=second,
            consumed=(self._used[READ], self._used[WRITE]),
            limit=(self.table_limit(READ), self.table_limit(WRITE)),
            throttled=(self._throttled[READ], self._throttled[WRITE]),
        )
        limit = (self.table_limit(READ), self.table_limit(WRITE))
        return [
            by_second.get(s) or SecondUsage(s, (0.0, 0.0), limit, (0, 0))
            for s in range(second - span + 1, second + 1)
        ]

    def partitions(self, now: float) -> list[PartitionUsage]:
        """Every partition as of ``now``."""
        second = int(now)
        out = []
        count = self.partition_count
        for i, (r, w) in enumerate(self.buckets):
            r.roll(second)
            w.roll(second)
            out.append(
                PartitionUsage(
                    index=i,
                    start=-(-i * HASH_SPACE // count),
                    end=-(-(i + 1) * HASH_SPACE // count) - 1,
                    rate=(r.rate, w.rate),
                    ceiling=(r.ceiling, w.ceiling),
                    burst=(r.burst, w.burst),
                    used=(r.used, w.used),
                    total=(r.total, w.total),
                    throttled=(r.throttled, w.throttled),
                )
            )
        return out

    def used_now(self, now: float, kind: int) -> float:
        """Units of ``kind`` the whole table served in the second of ``now``."""
        self._roll(int(now))
        return self._used[kind]

    @property
    def throttled_total(self) -> tuple[int, int]:
        """Requests refused since creation, ``(read, write)``."""
        return (
            sum(pair[READ].throttled for pair in self.buckets),
            sum(pair[WRITE].throttled for pair in self.buckets),
        )

    def __repr__(self) -> str:
        mode = "on-demand" if self.on_demand else f"provisioned {self.provisioned}"
        return f"TableCapacity({mode}, partitions={self.partition_count})"


def spread(keys: Iterable[Mapping[str, Any]], partitions: int) -> list[int]:
    """How many of ``keys`` (partition key values) land on each of ``partitions`` partitions."""
    counts = [0] * partitions
    for key in keys:
        counts[partition_of(key_hash(key), partitions)] += 1
    return counts


__all__ = [
    "DEFAULT_LIMITS",
    "EVENTUAL",
    "HASH_SPACE",
    "HISTORY_SECONDS",
    "KINDS",
    "READ",
    "STRONG",
    "TRANSACTIONAL",
    "WRITE",
    "Bucket",
    "CapacityLimits",
    "PartitionUsage",
    "SecondUsage",
    "TableCapacity",
    "binary_size",
    "item_size",
    "key_bytes",
    "key_hash",
    "number_size",
    "partition_of",
    "provisioned_partitions",
    "read_units",
    "spread",
    "value_size",
    "write_units",
]
