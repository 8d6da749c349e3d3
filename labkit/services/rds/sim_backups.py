"""Backups and read replicas on the lab clock: which WAL segments make "the database at time T".

Plain Python (no moto). A :class:`WalHistory` belongs to each primary instance: whenever the lab
clock moves it asks the server to close its WAL segment (:meth:`~.sim_engine.PostgresServer.cut`)
and records "at lab time t the log ended with segment s". Because the clock stands still between
moves, every write made while it showed t is in a segment cut when it left t; so the database as
it was at any second T is the template replayed with the segments of the last cut at or before T.

- **Point-in-time restore** (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIT.html)
  replays those segments into a new server, which then ends recovery and is promoted;
  automated backups must be on (``BackupRetentionPeriod`` 1 to 35 days, ``rds.backup_retention_*``)
  and T inside the window: not before the instance existed nor older than the retention period.
- **Manual snapshots** remember the cut at the moment they were taken.
- **Read replicas** (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.html)
  are asynchronous: a standby fed the segments of the cut at ``now - lag``, so a read right after a
  write returns the old data until ``lag`` seconds of lab time have passed. The lag is a sandbox
  setting (AWS reports it as the ``ReplicaLag`` metric, not a fixed number):
  :data:`DEFAULT_REPLICA_LAG`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Protocol

from labkit.errors import LabkitError

#: Seconds of lab time a new read replica runs behind its source (a sandbox setting).
DEFAULT_REPLICA_LAG = 5.0


class WalServer(Protocol):
    """What the history needs of a server."""

    def cut(self) -> str: ...


class RestoreWindowError(LabkitError):
    """A restore time outside the instance's restorable window."""

    code = "RestoreWindow"


@dataclass
class WalHistory:
    """The cuts of one primary's WAL, by lab time.

    Attributes:
        server: The primary's server.
        created: Lab time the instance was created (the earliest restorable time).
    """

    server: WalServer
    created: float
    times: list[float] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    _shown: float = 0.0

    def __post_init__(self) -> None:
        self._shown = self.created

    def moved(self, now: float) -> None:
        """The lab clock moved to ``now``: cut the log for the instant it left."""
        if now == self._shown:
            return
        self._record(self._shown, self.server.cut())
        self._shown = now

    def _record(self, at: float, name: str) -> None:
        if self.names and self.names[-1] == name:
            return  # nothing was written since the last cut
        self.times.append(at)
        self.names.append(name)

    def segment_at(self, when: float, now: float) -> str:
        """The last segment of the database as it was at lab time ``when``."""
        if when < self.created:
            raise RestoreWindowError(
                "the instance did not exist yet at that time (earliest restorable time is "
                "its creation)"
            )
        if when >= self._shown or when >= now:
            # The current instant: cut now (writes made at this instant are included).
            self._record(self._shown, self.server.cut())
            return self.names[-1]
        index = bisect.bisect_right(self.times, when) - 1
        if index < 0:
            self._record(self._shown, self.server.cut())
            return self.names[0]
        return self.names[index]


@dataclass
class ReplicaFeed:
    """What one read replica has been given of its source's log.

    Attributes:
        history: The source's WAL history.
        lag: Seconds of lab time the replica runs behind.
        shipped: The last segment the replica has replayed.
    """

    history: WalHistory
    lag: float = DEFAULT_REPLICA_LAG
    shipped: str = ""

    def due(self, now: float) -> str | None:
        """The segment the replica should have replayed by ``now``, if newer than it has."""
        target = now - self.lag
        index = bisect.bisect_right(self.history.times, target) - 1
        if index < 0:
            return None
        name = self.history.names[index]
        return name if name > self.shipped else None
