"""What an Aurora cluster does on the lab clock: its volume's six copies, its writer and readers,
failover by promotion tier. Plain Python (no moto); :mod:`.patch_aurora` keeps one
:class:`ClusterRuntime` on each moto DB cluster.

- **The cluster volume** (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Overview.StorageReliability.html):
  six copies, two in each of three Availability Zones (facts ``aurora.storage_copies``,
  ``aurora.storage_azs``). A write needs four copies, a read three (``aurora.write_quorum``,
  ``aurora.read_quorum``): losing a whole AZ costs nothing; an AZ and one more copy stops writes
  (the engine turns read-only); four copies lost stops reads too. In the sandbox the volume is
  the cluster's one PostgreSQL server; every instance of the cluster reads it, which is why an
  Aurora Replica's lag is tiny (``aurora.replica_lag_typical_ms``; here a committed write is
  visible to the readers at once).
- **Failover** (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.AuroraHighAvailability.html):
  the replica with the lowest ``PromotionTier`` becomes the writer (among equals, the largest
  instance class, then the first); connections drop and the writer endpoint answers again after
  ``aurora.failover_seconds`` of lab time; no committed write is lost (same volume).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labkit import facts
from labkit.services.rds import sim_capacity


@dataclass
class ClusterVolume:
    """The six copies of an Aurora cluster volume.

    Attributes:
        zones: The three Availability Zones it spans.
        lost: Copies lost, as ``(zone, copy number)``.
    """

    zones: list[str]
    lost: set[tuple[str, int]] = field(default_factory=set)

    @property
    def copies(self) -> list[tuple[str, int, bool]]:
        """Every copy: ``(zone, number, alive)``."""
        per_zone = int(facts.value("aurora.storage_copies")) // len(self.zones)
        return [
            (zone, n, (zone, n) not in self.lost) for zone in self.zones for n in range(per_zone)
        ]

    @property
    def alive(self) -> int:
        """Copies that answer."""
        return sum(1 for _, _, up in self.copies if up)

    def can_write(self) -> bool:
        """Whether a write reaches its quorum."""
        return self.alive >= int(facts.value("aurora.write_quorum"))

    def can_read(self) -> bool:
        """Whether a read reaches its quorum."""
        return self.alive >= int(facts.value("aurora.read_quorum"))

    def lose_zone(self, zone: str) -> None:
        """Both copies in ``zone`` go."""
        self.lost |= {(z, n) for z, n, _ in self.copies if z == zone}

    def lose_copies(self, count: int) -> None:
        """``count`` more copies go (the first that still answer)."""
        for zone, n, up in self.copies:
            if count <= 0:
                break
            if up:
                self.lost.add((zone, n))
                count -= 1

    def repair(self, zone: str | None = None) -> None:
        """Aurora rebuilds lost copies (of ``zone``, or all)."""
        self.lost = {(z, n) for z, n in self.lost if zone is not None and z != zone}

    def text(self) -> str:
        """The copies by zone, e.g. ``us-east-1a [ok ok] us-east-1b [LOST LOST] ...``."""
        parts = []
        for zone in self.zones:
            marks = " ".join("ok" if up else "LOST" for z, _, up in self.copies if z == zone)
            parts.append(f"{zone} [{marks}]")
        return " ".join(parts)


@dataclass
class Member:
    """One instance of the cluster, as failover sees it."""

    identifier: str
    tier: int
    instance_class: str
    zone: str


def failover_target(candidates: list[Member]) -> Member | None:
    """The replica Aurora promotes: lowest tier, then largest class, then the first."""
    if not candidates:
        return None
    ranked = sorted(
        enumerate(candidates),
        key=lambda pair: (
            pair[1].tier,
            -sim_capacity.CLASS_MEMORY_GIB.get(pair[1].instance_class, 0.0),
            pair[0],
        ),
    )
    return ranked[0][1]


@dataclass
class ClusterRuntime:
    """One Aurora cluster's engine and state on the lab clock.

    Attributes:
        identifier: The DB cluster identifier.
        server: The cluster volume's engine (a :class:`~.sim_engine.PostgresServer`).
        volume: The six copies.
        unavailable_until: Lab time the writer endpoint answers again after a failover.
        failovers: ``(lab time, from, to)`` of every failover.
        capacity: Serverless v2 capacity models by instance identifier.
        reader_turn: Where the reader endpoint's round robin is.
        history: The volume's WAL history (for clones and restores).
    """

    identifier: str
    server: Any
    volume: ClusterVolume
    unavailable_until: float = 0.0
    failovers: list[tuple[float, str, str]] = field(default_factory=list)
    capacity: dict[str, sim_capacity.CapacityModel] = field(default_factory=dict)
    reader_turn: int = 0
    history: Any = None
    read_only: bool = False
    last_commits: int | None = None
    last_sample: float | None = None
    source: str | None = None
    writer: str = ""
    #: A global database's secondary: its feed of the primary's log (a ReplicaFeed).
    feed: Any = None

    def __deepcopy__(self, memo: dict[int, Any]) -> None:
        # moto copies a cluster's attributes into a restored one: it gets its own runtime.
        return None

    def __copy__(self) -> None:
        return None

    def refusal(self, now: float) -> str | None:
        """Why the cluster's endpoints refuse connections now, or ``None``."""
        if not self.volume.can_read():
            return (
                f"{self.identifier}: its volume has {self.volume.alive} of 6 copies, fewer than "
                f"the {facts.value('aurora.read_quorum')} a read needs"
            )
        if now < self.unavailable_until:
            return (
                f"{self.identifier} is failing over: the writer answers again in "
                f"{self.unavailable_until - now:.0f} s of lab time"
            )
        return None
