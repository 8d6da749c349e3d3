"""Global tables (version 2019.11.21) as a model: replicas, replication lag, last writer wins.

"Any changes made to any item in any replica table are replicated to all the other replicas
within the same global table. In a global table, a newly written item is usually propagated to
all replica tables within a second" (fact ``dynamodb.global_table_replication_typical``,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/V2globaltables_HowItWorks.html).
Replication is asynchronous, item by item; when the same item is written in two Regions before
either write has arrived in the other, "last writer wins": every replica ends with the write
that has the latest timestamp, and the other one is lost everywhere, silently.

labkit's model, deterministic so that a lesson repeats:

- each replicated write lands in each other Region after a lag drawn from the write's table, key,
  sequence and destination with the sandbox's seed, between a fifth of the typical figure and
  the typical figure (0.2-1 s); a lesson can fix the lag (:meth:`ReplicaGroup.fixed_lag`);
- a write's timestamp is its lab time, ties broken by the order the calls were made (what a
  real clock with sub-millisecond resolution would say): so of two writes in one cell, the
  later call wins;
- while a Region is down, writes to it wait (parked) and land after it comes back, with the
  same lag counted from its return.

Plain Python (no moto): :mod:`labkit.services.dynamodb.patch_global` applies what this decides
to moto's tables, and :mod:`labkit.services.dynamodb.view_global` draws the snapshot.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit import facts

#: The global tables version this model follows (DescribeTable's ``GlobalTableVersion``).
VERSION = "2019.11.21"
#: The shortest lag, as a fraction of the typical figure.
LAG_FLOOR = 0.2

#: A write's place in "last writer wins": lab time, then the order of the calls.
Stamp = tuple[float, int]


def typical_lag() -> float:
    """Seconds within which a write usually reaches every replica
    (``dynamodb.global_table_replication_typical``)."""
    return float(facts.value("dynamodb.global_table_replication_typical"))


def replication_lag(seed: int | str, table: str, key: str, seq: int, destination: str) -> float:
    """Seconds until one write lands in one other Region (labkit's model: 0.2-1 s)."""
    digest = hashlib.sha256(f"{seed}|{table}|{key}|{seq}|{destination}".encode()).digest()
    spread = int.from_bytes(digest[:8], "big") / 2**64
    typical = typical_lag()
    return typical * (LAG_FLOOR + (1.0 - LAG_FLOOR) * spread)


@dataclass
class PendingWrite:
    """One write on its way from one replica to another.

    Attributes:
        key: The item's key as text.
        keys: The item's key attributes (DynamoDB JSON), to find it in the destination.
        image: The item after the write (DynamoDB JSON), or ``None`` for a delete.
        source: The Region the write was made in.
        destination: The Region it is replicated to.
        stamp: The write's timestamp for last writer wins.
        written_at: Lab time of the write.
        due: Lab time it lands (if the destination is up then).
        parked: Whether it is waiting for the destination Region to come back.
    """

    key: str
    keys: dict[str, Any]
    image: dict[str, Any] | None
    source: str
    destination: str
    stamp: Stamp
    written_at: float
    due: float
    parked: bool = False


@dataclass(frozen=True)
class LostUpdate:
    """A write that last writer wins threw away in one Region."""

    key: str
    region: str
    lost_from: str
    lost_stamp: Stamp
    kept_stamp: Stamp
    at: float


@dataclass
class Replica:
    """One replica table of a global table."""

    region: str
    status: str = "ACTIVE"
    created_at: float = 0.0
    last_lag: float | None = None
    applied: int = 0


@dataclass
class ReplicaGroup:
    """A global table: its replicas, the writes in flight, and the item versions per Region.

    Attributes:
        table: The table name (the same in every Region).
        replicas: Per Region, its replica.
        pending: Writes not yet applied, in the order they were made.
        versions: Per ``(region, key)``, the stamp of the write the replica holds.
        lost: Writes discarded by last writer wins, oldest first.
        fixed_lag: A lesson's fixed replication lag in seconds (``None``: the model).
    """

    table: str
    replicas: dict[str, Replica] = field(default_factory=dict)
    pending: list[PendingWrite] = field(default_factory=list)
    versions: dict[tuple[str, str], Stamp] = field(default_factory=dict)
    lost: list[LostUpdate] = field(default_factory=list)
    fixed_lag: float | None = None
    _seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def regions(self) -> list[str]:
        """The replica Regions, in the order they joined."""
        return list(self.replicas)

    def stamp(self, now: float) -> Stamp:
        """A fresh write timestamp at lab time ``now``."""
        return (now, next(self._seq))

    def local_write(
        self,
        region: str,
        key: str,
        keys: Mapping[str, Any],
        image: Mapping[str, Any] | None,
        now: float,
        seed: int | str,
    ) -> list[PendingWrite]:
        """Record a write made in ``region`` and queue it for every other replica."""
        stamp = self.stamp(now)
        self.versions[(region, key)] = stamp
        out: list[PendingWrite] = []
        for destination in self.replicas:
            if destination == region:
                continue
            lag = (
                self.fixed_lag
                if self.fixed_lag is not None
                else replication_lag(seed, self.table, key, stamp[1], destination)
            )
            write = PendingWrite(
                key=key,
                keys=dict(keys),
                image=dict(image) if image is not None else None,
                source=region,
                destination=destination,
                stamp=stamp,
                written_at=now,
                due=now + lag,
            )
            self.pending.append(write)
            out.append(write)
        return out

    def arrive(self, write: PendingWrite, now: float) -> bool:
        """A write reaches its destination: ``True`` if it wins and must be applied there.

        Either way it is no longer pending; a losing write is recorded in :attr:`lost`.
        """
        self.pending = [w for w in self.pending if w is not write]
        replica = self.replicas.get(write.destination)
        if replica is None:
            return False
        held = self.versions.get((write.destination, write.key))
        if held is not None and held > write.stamp:
            self.lost.append(
                LostUpdate(write.key, write.destination, write.source, write.stamp, held, now)
            )
            return False
        self.versions[(write.destination, write.key)] = write.stamp
        replica.last_lag = now - write.written_at
        replica.applied += 1
        return True

    def pending_into(self, region: str) -> list[PendingWrite]:
        """The writes still on their way to ``region``."""
        return [w for w in self.pending if w.destination == region]

    def drop_region(self, region: str) -> None:
        """A replica leaves: its pending writes (in and out) and versions go with it."""
        self.replicas.pop(region, None)
        self.pending = [w for w in self.pending if region not in (w.destination, w.source)]
        self.versions = {k: v for k, v in self.versions.items() if k[0] != region}


@dataclass(frozen=True)
class ReplicaSnapshot:
    """One replica as a view shows it.

    Attributes:
        region: Its Region.
        status: ``ReplicaStatus`` as DescribeTable reports it.
        reachable: ``False`` while the Region is down (``labkit.edge.fail_region``).
        pending: Writes on their way into it.
        parked: Of those, how many wait for the Region to come back.
        oldest_pending_age: Seconds since the oldest of them was written (``None`` if none).
        last_lag: Seconds the last applied write took to arrive (``None`` before any).
        item_count: Items the replica holds now.
    """

    region: str
    status: str
    reachable: bool
    pending: int
    parked: int
    oldest_pending_age: float | None
    last_lag: float | None
    item_count: int


@dataclass(frozen=True)
class GlobalTableSnapshot:
    """A global table at one lab instant (what ``view_global`` renders).

    Attributes:
        table: The table name.
        version: ``GlobalTableVersion``.
        at: Lab time of the snapshot (epoch seconds).
        replicas: Every replica, in the order they joined.
        lost: Updates last writer wins discarded, oldest first.
        typical_lag: The documented typical lag in seconds.
    """

    table: str
    version: str
    at: float
    replicas: tuple[ReplicaSnapshot, ...]
    lost: tuple[LostUpdate, ...]
    typical_lag: float


__all__ = [
    "LAG_FLOOR",
    "VERSION",
    "GlobalTableSnapshot",
    "LostUpdate",
    "PendingWrite",
    "Replica",
    "ReplicaGroup",
    "ReplicaSnapshot",
    "Stamp",
    "replication_lag",
    "typical_lag",
]
