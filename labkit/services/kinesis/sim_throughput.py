"""Per-shard throughput meters on the lab clock (Kinesis Data Streams' shard limits).

A Kinesis shard takes at most 1 MiB/s and 1,000 records/s of writes, and serves at most 2 MiB/s
and five ``GetRecords`` calls per second to all its standard (polling) consumers together
(https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html). This module
measures those rates for one shard and says whether the next write or read fits. It knows
nothing of moto: times are epoch seconds handed in by the caller (the lab clock's ``timestamp``),
and limits come from :class:`ShardLimits` (by default from ``labkit.facts``).

How "per second" is measured (AWS documents the limits per shard and per second without giving
the algorithm; https://repost.aws/knowledge-center/kinesis-data-stream-throttling says the quotas
"are determined per shard and per second" and that throttling can come from bursts hidden inside
a CloudWatch minute):

- Writes: a sliding one-second window. A record written at ``t`` is accepted when the bytes and
  records already accepted in ``(t - 1 s, t]`` plus this one stay within the limits; a refused
  record uses no capacity. On a lab clock that does not move between calls, 1,000 records at
  the same instant fill the shard and the 1,001st is refused until the clock moves a second on.
- Read calls: the same sliding window over accepted ``GetRecords`` calls (five per second).
- Read bytes: the same sliding window (a call is refused while the last second's reads reach
  2 MiB), but one call may return more than is left of the second's 2 MiB (up to 10 MiB), and
  the overdraft is paid back at 2 MiB/s: "If a call to GetRecords returns 10 MiB, subsequent
  calls made within the next 5 seconds throw an exception" (service-sizes-and-limits.html
  above). The meter keeps the instant at which everything read so far has drained at 2 MiB/s;
  when that is more than a second ahead (an overdraft), reads are refused until it has drained
  completely. Ten MiB read at once therefore blocks the shard's readers for exactly 5 s; 2 MiB
  read in any pattern within a second blocks them until that second is over.

Every check and update is O(1) amortized: each window keeps running sums and a queue with one
entry per distinct instant, so a whole ``PutRecords`` batch at one instant adds one entry.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

#: The span of the per-second windows, in seconds.
WINDOW_SECONDS = 1.0


@dataclass(frozen=True)
class ShardLimits:
    """The per-shard limits a :class:`ShardMeter` enforces.

    Attributes:
        write_bytes_per_second: Bytes (data + partition key) a shard accepts per second.
        write_records_per_second: Records a shard accepts per second.
        read_bytes_per_second: Bytes a shard serves per second to all standard consumers.
        read_calls_per_second: ``GetRecords`` calls a shard serves per second.
    """

    write_bytes_per_second: int
    write_records_per_second: int
    read_bytes_per_second: int
    read_calls_per_second: int

    @classmethod
    def from_facts(cls) -> ShardLimits:
        """The limits AWS documents, read from ``labkit.facts``."""
        from labkit import facts

        return cls(
            write_bytes_per_second=int(facts.value("kinesis.shard_write_bytes_per_second")),
            write_records_per_second=int(facts.value("kinesis.shard_write_records_per_second")),
            read_bytes_per_second=int(facts.value("kinesis.shard_read_bytes_per_second")),
            read_calls_per_second=int(facts.value("kinesis.shard_read_transactions_per_second")),
        )


class RateWindow:
    """Two running sums (say bytes and records) over the last ``span`` seconds.

    Args:
        span: Length of the window in seconds; an amount added at ``t`` counts until ``t + span``
            (exclusive).
        limit_a: Most of the first quantity the window may hold.
        limit_b: Most of the second quantity the window may hold.

    Example:
        >>> w = RateWindow(1.0, limit_a=100, limit_b=2)
        >>> w.try_add(0.0, 60, 1), w.try_add(0.5, 60, 1), w.try_add(1.0, 60, 1)
        (True, False, True)
    """

    __slots__ = ("_a", "_b", "_queue", "limit_a", "limit_b", "span")

    def __init__(self, span: float, limit_a: float, limit_b: float) -> None:
        self.span = span
        self.limit_a = limit_a
        self.limit_b = limit_b
        # One [instant, a, b] entry per distinct instant, oldest first.
        self._queue: deque[list[float]] = deque()
        self._a: float = 0
        self._b: float = 0

    def _expire(self, now: float) -> None:
        queue = self._queue
        cutoff = now - self.span
        while queue and queue[0][0] <= cutoff:
            _, a, b = queue.popleft()
            self._a -= a
            self._b -= b

    def totals(self, now: float) -> tuple[float, float]:
        """The two sums over ``(now - span, now]``."""
        self._expire(now)
        return self._a, self._b

    def add(self, now: float, a: float, b: float) -> None:
        """Count ``a`` and ``b`` at ``now`` whatever the limits."""
        self._expire(now)
        self._a += a
        self._b += b
        queue = self._queue
        if queue and queue[-1][0] == now:
            last = queue[-1]
            last[1] += a
            last[2] += b
        else:
            queue.append([now, a, b])

    def try_add(self, now: float, a: float, b: float) -> bool:
        """Count ``a`` and ``b`` at ``now`` if both sums stay within their limits."""
        queue = self._queue
        # The expiry of _expire(), inlined: this runs once per record written.
        cutoff = now - self.span
        while queue and queue[0][0] <= cutoff:
            _, old_a, old_b = queue.popleft()
            self._a -= old_a
            self._b -= old_b
        if self._a + a > self.limit_a or self._b + b > self.limit_b:
            return False
        self._a += a
        self._b += b
        if queue and queue[-1][0] == now:
            last = queue[-1]
            last[1] += a
            last[2] += b
        else:
            queue.append([now, a, b])
        return True


@dataclass(frozen=True)
class ShardUsage:
    """What a shard did in the last second, against its limits, and since it was created.

    Attributes:
        at: The instant (epoch seconds) this snapshot describes.
        limits: The shard's limits.
        write_bytes: Bytes accepted in the last second.
        write_records: Records accepted in the last second.
        read_bytes: Bytes served in the last second.
        read_calls: ``GetRecords`` calls served in the last second.
        read_blocked_until: Epoch seconds until which reads are refused after an overdraft, or
            ``None``.
        throttled_writes: Records refused since the shard was created.
        throttled_reads: ``GetRecords`` calls refused since the shard was created.
        total_write_bytes: Bytes accepted since the shard was created.
        total_write_records: Records accepted since the shard was created.
        total_read_bytes: Bytes served since the shard was created.
        total_read_calls: ``GetRecords`` calls served since the shard was created.
    """

    at: float
    limits: ShardLimits
    write_bytes: int
    write_records: int
    read_bytes: int
    read_calls: int
    read_blocked_until: float | None
    throttled_writes: int
    throttled_reads: int
    total_write_bytes: int
    total_write_records: int
    total_read_bytes: int
    total_read_calls: int

    @property
    def write_bytes_fraction(self) -> float:
        """Share of the write byte limit used in the last second (may not exceed 1)."""
        return self.write_bytes / self.limits.write_bytes_per_second

    @property
    def write_records_fraction(self) -> float:
        """Share of the write record limit used in the last second."""
        return self.write_records / self.limits.write_records_per_second

    @property
    def read_bytes_fraction(self) -> float:
        """Share of the read byte limit used in the last second (above 1 after an overdraft)."""
        return self.read_bytes / self.limits.read_bytes_per_second

    @property
    def read_calls_fraction(self) -> float:
        """Share of the read call limit used in the last second."""
        return self.read_calls / self.limits.read_calls_per_second


#: Why a read was refused.
READ_CALLS = "calls"
READ_BYTES = "bytes"


class ShardMeter:
    """The write and read meters of one shard.

    Args:
        limits: The shard's limits.
        window: Length of the per-second windows in seconds.

    Example:
        >>> meter = ShardMeter(ShardLimits(100, 2, 200, 5))
        >>> [meter.admit_write(0.0, 10) for _ in range(3)]
        [True, True, False]
        >>> meter.admit_write(1.0, 10)
        True
    """

    __slots__ = (
        "_read",
        "_read_blocked_until",
        "_read_drained_at",
        "_write",
        "limits",
        "throttled_reads",
        "throttled_writes",
        "total_read_bytes",
        "total_read_calls",
        "total_write_bytes",
        "total_write_records",
        "window",
    )

    def __init__(self, limits: ShardLimits, *, window: float = WINDOW_SECONDS) -> None:
        self.limits = limits
        self.window = window
        self._write = RateWindow(
            window, limits.write_bytes_per_second, limits.write_records_per_second
        )
        # Reads: admit_read() checks both sums itself (a call may overdraw the bytes), so the
        # window's own byte limit is unbounded.
        self._read = RateWindow(window, float("inf"), limits.read_calls_per_second)
        self._read_drained_at = float("-inf")
        self._read_blocked_until = float("-inf")
        self.throttled_writes = 0
        self.throttled_reads = 0
        self.total_write_bytes = 0
        self.total_write_records = 0
        self.total_read_bytes = 0
        self.total_read_calls = 0

    # -- writes -----------------------------------------------------------------------------
    def admit_write(self, now: float, size: int) -> bool:
        """Accept (and count) one record of ``size`` bytes at ``now``, or refuse it.

        A refused record uses no capacity and is counted in :attr:`throttled_writes`.
        """
        if self._write.try_add(now, size, 1):
            self.total_write_bytes += size
            self.total_write_records += 1
            return True
        self.throttled_writes += 1
        return False

    # -- reads ------------------------------------------------------------------------------
    def admit_read(self, now: float, *, reserved_calls: int = 0) -> str | None:
        """Whether a ``GetRecords`` call may be served at ``now``.

        Args:
            now: The instant of the call.
            reserved_calls: Calls per second other consumers are known to make without being
                metered call by call (Firehose polls each shard once a second).

        Returns:
            ``None`` when the call may go ahead (then call :meth:`record_read`), otherwise why it
            is refused (:data:`READ_CALLS` or :data:`READ_BYTES`); a refusal is counted in
            :attr:`throttled_reads`.
        """
        read_bytes, calls = self._read.totals(now)
        if calls + reserved_calls >= self.limits.read_calls_per_second:
            self.throttled_reads += 1
            return READ_CALLS
        if now < self._read_blocked_until or read_bytes >= self.limits.read_bytes_per_second:
            self.throttled_reads += 1
            return READ_BYTES
        return None

    def record_read(self, now: float, size: int) -> None:
        """Count a served ``GetRecords`` call that returned ``size`` bytes."""
        self._read.add(now, size, 1)
        self.total_read_calls += 1
        self._drain(now, size)

    def charge_read(self, now: float, size: int) -> None:
        """Count ``size`` bytes read by a consumer whose calls are not metered one by one."""
        self._read.add(now, size, 0)
        self._drain(now, size)

    def _drain(self, now: float, size: int) -> None:
        self.total_read_bytes += size
        drained_at = max(self._read_drained_at, now) + size / self.limits.read_bytes_per_second
        self._read_drained_at = drained_at
        if drained_at - now > self.window:
            # An overdraft: nothing more until all of it has drained (10 MiB -> 5 s).
            self._read_blocked_until = drained_at

    # -- looking inside ---------------------------------------------------------------------
    def usage(self, now: float) -> ShardUsage:
        """A snapshot of the last second and of the totals, for views and checks."""
        write_bytes, write_records = self._write.totals(now)
        read_bytes, read_calls = self._read.totals(now)
        blocked = self._read_blocked_until if self._read_blocked_until > now else None
        return ShardUsage(
            at=now,
            limits=self.limits,
            write_bytes=int(write_bytes),
            write_records=int(write_records),
            read_bytes=int(read_bytes),
            read_calls=int(read_calls),
            read_blocked_until=blocked,
            throttled_writes=self.throttled_writes,
            throttled_reads=self.throttled_reads,
            total_write_bytes=self.total_write_bytes,
            total_write_records=self.total_write_records,
            total_read_bytes=self.total_read_bytes,
            total_read_calls=self.total_read_calls,
        )

    def __repr__(self) -> str:
        return (
            f"ShardMeter(writes={self.total_write_records}, throttled_writes="
            f"{self.throttled_writes}, reads={self.total_read_calls}, throttled_reads="
            f"{self.throttled_reads})"
        )


__all__ = [
    "READ_BYTES",
    "READ_CALLS",
    "WINDOW_SECONDS",
    "RateWindow",
    "ShardLimits",
    "ShardMeter",
    "ShardUsage",
]
