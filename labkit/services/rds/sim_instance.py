"""What an RDS instance does on the lab clock: availability, Multi-AZ failover, AZ outages.

Plain Python (no moto). The RDS patch keeps one :class:`InstanceRuntime` on each moto DB instance;
the network guard asks it where a connection to the endpoint goes (:meth:`InstanceRuntime.target`).

Multi-AZ (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.MultiAZ.Failover.html):
the standby is synchronous, so a failover loses no committed transaction; here the standby and
the primary share one PostgreSQL server, which is exactly "the standby has every committed
write". What a failover does to clients is what AWS documents: open connections are dropped at
once (their uncommitted transactions roll back, as the server ends their sessions), the endpoint
answers nothing until the failover completes ("typically 60–120 seconds": the sandbox takes the
upper bound, ``rds.multi_az_failover_seconds``, so an application that survives here survives the
slow case), then the endpoint points at the former standby's Availability Zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class Server(Protocol):
    """The engine an instance runs on (:class:`~.sim_engine.PostgresServer` or a real one)."""

    @property
    def port(self) -> int: ...

    def terminate_connections(self) -> None: ...


@dataclass
class Outage:
    """A period when the endpoint refuses connections, and why."""

    until: float
    reason: str


@dataclass
class InstanceRuntime:
    """One instance's engine and its availability on the lab clock.

    Attributes:
        identifier: The DB instance identifier (for messages).
        server: Its engine.
        endpoint_port: The port its endpoint advertises (``Endpoint.Port``).
        availability_zone: Where the primary runs now.
        secondary_zone: Where the synchronous standby runs (Multi-AZ), or ``None``.
        host: The engine's loopback address.
    """

    identifier: str
    server: Any  # a Server (sim_engine.PostgresServer: WAL, recovery, promotion too)
    endpoint_port: int
    availability_zone: str
    secondary_zone: str | None
    host: str = "127.0.0.1"
    outage: Outage | None = None
    zone_down: bool = False
    failovers: list[tuple[float, str, str]] = field(default_factory=list)
    #: A primary's WAL history (:class:`~.sim_backups.WalHistory`), for PITR and replicas.
    history: Any = None
    #: A read replica's feed from its source (:class:`~.sim_backups.ReplicaFeed`).
    feed: Any = None
    #: Connections each Lambda function opened to this endpoint itself (not through a proxy):
    #: a check tells "through RDS Proxy" from "straight to the instance" by these.
    lambda_connections: dict[str, int] = field(default_factory=dict)

    def connected_from(self, function_name: str) -> None:
        """Count one connection opened by code running in the Lambda function ``function_name``."""
        self.lambda_connections[function_name] = self.lambda_connections.get(function_name, 0) + 1

    def __deepcopy__(self, memo: dict[int, Any]) -> None:
        # moto deep-copies an instance's attributes into a restored one: the restore gets its own
        # runtime (its own server), never a copy of the source's open connections.
        return None

    def settle(self, now: float) -> None:
        """Finish a failover whose time has come."""
        if self.outage is not None and now >= self.outage.until:
            self.outage = None

    def available(self, now: float) -> bool:
        """Whether the endpoint accepts connections at ``now``."""
        self.settle(now)
        return self.outage is None and not self.zone_down

    def status(self, now: float) -> str:
        """``DBInstanceStatus`` as AWS would show it."""
        self.settle(now)
        if self.zone_down:
            return "failed" if self.secondary_zone is None else "available"
        return "rebooting" if self.outage is not None else "available"

    def target(self, port: int, now: float) -> tuple[str, int]:
        """Where a connection to the endpoint at ``port`` goes, or ``ConnectionRefusedError``."""
        if port != self.endpoint_port:
            raise ConnectionRefusedError(
                f"{self.identifier} listens on port {self.endpoint_port}, not {port} "
                "(Endpoint.Port in describe_db_instances)"
            )
        self.settle(now)
        if self.zone_down:
            raise ConnectionRefusedError(
                f"{self.identifier}: its Availability Zone {self.availability_zone} is down "
                "and it has no Multi-AZ standby"
            )
        if self.outage is not None:
            raise ConnectionRefusedError(
                f"{self.identifier} is unavailable ({self.outage.reason}) for another "
                f"{self.outage.until - now:.0f} s on the lab clock"
            )
        return self.host, self.server.port

    def failover(self, now: float, seconds: float, reason: str) -> None:
        """Switch to the standby: drop connections now, serve again after ``seconds``."""
        if self.secondary_zone is None:
            raise ValueError(f"{self.identifier} is not Multi-AZ: it has no standby")
        self.server.terminate_connections()
        old = self.availability_zone
        self.availability_zone, self.secondary_zone = self.secondary_zone, old
        self.outage = Outage(until=now + seconds, reason=reason)
        self.failovers.append((now, old, self.availability_zone))

    def reboot(self, now: float, seconds: float) -> None:
        """A reboot without failover: connections dropped, back after ``seconds``."""
        self.server.terminate_connections()
        self.outage = Outage(until=now + seconds, reason="rebooting")

    def zone_outage(self, zone: str, now: float, failover_seconds: float) -> None:
        """The Availability Zone ``zone`` goes dark."""
        if zone == self.availability_zone:
            if self.secondary_zone is not None and self.secondary_zone != zone:
                self.failover(now, failover_seconds, f"failover: {zone} outage")
            else:
                self.server.terminate_connections()
                self.zone_down = True

    def zone_restored(self, zone: str) -> None:
        """The Availability Zone ``zone`` is back."""
        if self.zone_down and zone == self.availability_zone:
            self.zone_down = False
