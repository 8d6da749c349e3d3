"""How much an RDS or Aurora instance can take: ``max_connections`` by instance class, and the
Aurora Serverless v2 capacity (ACUs) that follows the load, on the lab clock.

Plain Python (no moto).

- **max_connections.** RDS for PostgreSQL and Aurora PostgreSQL default to
  ``LEAST({DBInstanceClassMemory/9531392}, 5000)``
  (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.MaxConnections,
  facts ``rds.max_connections_divisor`` and ``rds.max_connections_cap``). The sandbox takes the
  class's memory as ``DBInstanceClassMemory`` (AWS subtracts what the operating system and RDS
  use, so a real instance allows a few connections fewer); the server behind the endpoint runs
  with that ``max_connections``, so the engine itself refuses the next one ("sorry, too many
  clients already", or "remaining connection slots are reserved" as it nears the limit).
- **Serverless v2.** Capacity moves in half-ACU steps between the cluster's ``MinCapacity`` and
  ``MaxCapacity`` (facts ``aurora.serverless_v2_*``); each ACU is about 2 GiB of memory with
  its CPU. :class:`CapacityModel` turns the load the engine measured over a stretch of lab time
  (transactions per second and open connections) into the ACUs it needs: scaling up takes
  effect at the next clock move, scaling down halves the distance to the need per move
  (AWS scales down more gradually than up). The per-ACU throughput is a sandbox setting, not an
  AWS number: :data:`TPS_PER_ACU`, :data:`CONNECTIONS_PER_ACU`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from labkit import facts

#: Memory of the instance classes the course uses, in GiB (the DB instance class tables:
#: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.Summary.html).
CLASS_MEMORY_GIB: dict[str, float] = {
    "db.t3.micro": 1,
    "db.t3.small": 2,
    "db.t3.medium": 4,
    "db.t3.large": 8,
    "db.t4g.micro": 1,
    "db.t4g.small": 2,
    "db.t4g.medium": 4,
    "db.t4g.large": 8,
    "db.m5.large": 8,
    "db.m6g.large": 8,
    "db.r5.large": 16,
    "db.r6g.large": 16,
    "db.r6g.xlarge": 32,
}
#: What the sandbox assumes for a class it has no figure for (db.t3.micro's memory).
DEFAULT_MEMORY_GIB = 1.0
#: The engine never runs with more than this many connection slots: each is a process the
#: machine must be able to fork, and a lab never needs more to show the limit.
ENGINE_CONNECTIONS_CAP = 400

#: Sandbox settings of the capacity model (not AWS numbers): what one ACU sustains.
TPS_PER_ACU = 50.0
CONNECTIONS_PER_ACU = 40.0


def max_connections(instance_class: str, *, acu: float | None = None) -> int:
    """The default ``max_connections`` of a PostgreSQL instance of ``instance_class``.

    For ``db.serverless`` (Aurora Serverless v2) the memory is that of ``acu`` ACUs (AWS derives
    it from the maximum capacity).
    """
    gib_per_acu = float(facts.value("aurora.serverless_v2_acu_memory_gib"))
    if instance_class == "db.serverless":
        memory = (acu if acu is not None else 1.0) * gib_per_acu
    else:
        memory = CLASS_MEMORY_GIB.get(instance_class, DEFAULT_MEMORY_GIB)
    divisor = float(facts.value("rds.max_connections_divisor"))
    cap = int(facts.value("rds.max_connections_cap"))
    return max(1, min(int(memory * 1024**3 // divisor), cap))


def engine_connections(instance_class: str, *, acu: float | None = None) -> int:
    """The ``max_connections`` the sandbox's server runs with (the documented default, capped)."""
    return min(max_connections(instance_class, acu=acu), ENGINE_CONNECTIONS_CAP)


def half_step(acu: float) -> float:
    """``acu`` rounded up to the next half ACU (Serverless v2's increment)."""
    return math.ceil(acu * 2 - 1e-9) / 2


@dataclass
class CapacityModel:
    """One Serverless v2 instance's capacity on the lab clock.

    Attributes:
        minimum: ``MinCapacity`` in ACUs.
        maximum: ``MaxCapacity`` in ACUs.
        current: The capacity now.
        history: ``(lab time, ACUs)`` at every change, oldest first.
    """

    minimum: float
    maximum: float
    current: float = 0.0
    history: list[tuple[float, float]] = field(default_factory=list)
    acu_seconds: float = 0.0
    _since: float | None = None

    def start(self, now: float) -> None:
        """The instance is up at ``now``, at its minimum."""
        self.current = self.minimum
        self._since = now
        self.history.append((now, self.current))

    def needed(self, tps: float, connections: int) -> float:
        """ACUs a load of ``tps`` transactions a second and ``connections`` needs, in bounds."""
        want = max(tps / TPS_PER_ACU, connections / CONNECTIONS_PER_ACU)
        return min(self.maximum, max(self.minimum, half_step(want)))

    def observe(self, now: float, tps: float, connections: int) -> float:
        """The load over the lab time that just passed; returns the capacity from ``now`` on."""
        if self._since is None:
            self.start(now)
        since = self._since if self._since is not None else now
        self.acu_seconds += self.current * max(0.0, now - since)
        self._since = now
        need = self.needed(tps, connections)
        if need >= self.current:
            new = need
        else:
            # Half the way down each move, by at least half an ACU.
            new = max(
                need, min(self.current - 0.5, half_step(self.current - (self.current - need) / 2))
            )
        if new != self.current:
            self.current = new
            self.history.append((now, new))
        return self.current

    def cost(self) -> float:
        """What the ACU-hours so far cost (``aurora.serverless_v2_price_per_acu_hour``)."""
        price = float(facts.value("aurora.serverless_v2_price_per_acu_hour"))
        return self.acu_seconds / 3600 * price
