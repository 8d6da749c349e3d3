"""Read replicas of a Redis primary: asynchronous replication on the lab clock, READONLY, failover.

Redis replicates asynchronously: the primary answers a write at once and streams it to its
replicas afterwards, so a read on a replica just after a write can return the old value
(https://redis.io/docs/latest/operate/oss_and_stack/management/replication/ ; ElastiCache's
reader endpoint serves such reads,
https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Replication.Redis.Groups.html). Here:

- the primary's write commands (Redis's ``write`` or ``may_replicate`` flag, as fakeredis's
  command table has it, and
  MULTI/EXEC/DISCARD/SELECT so transactions and databases replay as they ran) go to a log with
  the lab-clock time they ran at, and evictions go as ``DEL``;
- before each command a replica applies the entries older than the lag
  (``elasticache.replication_lag_sandbox``, a sandbox model), replayed at the time they ran on
  the primary, so TTLs end at the same instant on every node;
- a write sent to a replica is refused with Redis's ``READONLY You can't write against a read
  only replica.``;
- :meth:`ReplicaSet.failover` promotes a replica: it keeps what it had applied (writes still in
  the lag are lost, as in a real failure of an asynchronous primary), and the old primary
  restarts (its clients' connections drop; redis-py reconnects, by the endpoint's name, to the
  node now behind it) as a replica of it, resynchronised with a full copy.

Plain Python (no moto, no Jupyter).
"""

from __future__ import annotations

import copy
import functools
import json
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import fakeredis._socket._base as fake_base
import redis
from fakeredis._socket import FakeSocket

from labkit.services.elasticache.sim_cache import CacheEngine

READONLY_MESSAGE = "READONLY You can't write against a read only replica."
# Commands that shape how later writes replay (a transaction, the database they go to).
_STREAM_COMMANDS = frozenset({"multi", "exec", "discard", "select", "swapdb"})
# Redis's may_replicate commands, which fakeredis's table does not flag: a script's writes (replayed
# by running it again, EVALSHA as EVAL of its body: the same effects unless it draws random
# numbers) and PUBLISH.
_MAY_REPLICATE = frozenset({"eval", "evalsha", "fcall", "publish", "spublish"})
# Applied log entries are dropped in batches of at least this many.
_TRIM_AT = 256


@functools.cache
def command_table() -> dict[str, list[Any]]:
    """Redis's ``COMMAND`` table as fakeredis ships it: name -> [name, arity, flags, first, ...]."""
    text = resources.files("fakeredis").joinpath("commands.json").read_text()
    table: dict[str, list[Any]] = json.loads(text)
    return table


def is_write(command: str) -> bool:
    """Whether Redis marks ``command`` (lower case) as one that writes: a replica refuses it."""
    info = command_table().get(command)
    return info is not None and "write" in info[2]


def is_replicated(command: str) -> bool:
    """Whether the primary sends ``command`` to its replicas (a write, or ``may_replicate``:
    PUBLISH, EVAL, ...)."""
    if command in _MAY_REPLICATE:
        return True
    info = command_table().get(command)
    return info is not None and ("write" in info[2] or "may_replicate" in info[2])


class _FixedTime:
    """A stand-in for the ``time`` module that fakeredis reads, stopped at one instant."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@dataclass
class _Replica:
    engine: CacheEngine
    applied: int = 0  # index in the log of the next entry to apply
    streams: dict[int, Any] = field(default_factory=dict)


class ReplicaSet:
    """One primary engine and its replicas.

    Args:
        primary: The engine that takes writes.
        replicas: Engines that follow it (each starts empty, like the primary).
        lag: Lab seconds between a write on the primary and its arrival on a replica.
    """

    def __init__(self, primary: CacheEngine, replicas: list[CacheEngine], lag: float) -> None:
        self.primary = primary
        self.lag = lag
        self._replicas = [_Replica(engine) for engine in replicas]
        # (lab time, stream id, command fields): a stream is one primary client connection.
        self.log: list[tuple[float, int, list[bytes]]] = []
        self.failovers = 0
        for engine in [primary, *replicas]:
            engine.replication = self

    @property
    def replicas(self) -> list[CacheEngine]:
        """The replica engines, in order."""
        return [replica.engine for replica in self._replicas]

    def pending(self, engine: CacheEngine) -> int:
        """How many of the primary's writes are still on their way to ``engine`` (a replica).

        Writes older than the lag count as arrived: a replica applies them before its next
        command, so no client can tell them from applied ones.
        """
        horizon = time.time() - self.lag
        for replica in self._replicas:
            if replica.engine is engine:
                return sum(1 for at, _, _ in self.log[replica.applied :] if at > horizon)
        return 0

    # -- hooks the engine's sockets call ---------------------------------------------------
    def before(self, engine: CacheEngine, command: str) -> Exception | None:
        """Catch a replica up; the error to answer with if ``command`` may not run here."""
        if engine is self.primary:
            return None
        self.catch_up(engine)
        if is_write(command):
            return redis_error(READONLY_MESSAGE)
        return None

    def in_script(self, engine: CacheEngine, op: bytes) -> Exception | None:
        """The error a script's ``redis.call(op, ...)`` raises on ``engine``, or ``None``: a
        replica refuses a script's writes with ``READONLY`` (Redis checks each call a script
        makes, so a read-only script runs on a replica)."""
        if engine is self.primary:
            return None
        if is_write(op.decode("ascii", "replace").lower()):
            from fakeredis._helpers import SimpleError

            return SimpleError(READONLY_MESSAGE)
        return None

    def after(
        self, engine: CacheEngine, stream: int, command: str, fields: list[bytes], reply: Any = None
    ) -> None:
        """Log a command that ran on the primary if replicas must replay it.

        SPOP picks members at random: Redis sends its replicas the effect (``SREM`` of the
        members it popped, from ``reply``), not the command, and so does this.
        """
        replayed = is_replicated(command) or command in _STREAM_COMMANDS
        if not (replayed and engine is self.primary and self._replicas):
            return
        if command == "spop" and len(fields) > 1:
            popped = reply if isinstance(reply, list) else [reply]
            members = [m for m in popped if isinstance(m, bytes)]
            if not members:
                return
            fields = [b"SREM", fields[1], *members]
        if command == "evalsha" and len(fields) > 1:
            # The replica may never have seen the script (SCRIPT LOAD is not replicated): replay
            # its body. A script the primary did not know ran nothing (NOSCRIPT).
            body = engine.server.script_cache.get(fields[1].lower())
            if body is None:
                return
            fields = [b"EVAL", body, *fields[2:]]
        self.log.append((time.time(), stream, list(fields)))

    def evicted(self, engine: CacheEngine, key: bytes, db: int) -> None:
        """The primary evicted ``key``: Redis sends replicas a ``DEL``."""
        if engine is self.primary and self._replicas:
            now = time.time()
            self.log.append((now, -1, [b"SELECT", str(db).encode()]))
            self.log.append((now, -1, [b"DEL", key]))

    # -- replication -------------------------------------------------------------------------
    def catch_up(self, engine: CacheEngine, *, everything: bool = False) -> None:
        """Apply to the replica ``engine`` the writes older than the lag (or all of them)."""
        replica = next((r for r in self._replicas if r.engine is engine), None)
        if replica is None:
            return
        horizon = time.time() - self.lag
        while replica.applied < len(self.log):
            at, stream, fields = self.log[replica.applied]
            if not everything and at > horizon:
                break
            self._apply(replica, at, stream, fields)
            replica.applied += 1
        self._trim()

    def _trim(self) -> None:
        """Forget the entries every replica has applied (the log would otherwise only grow)."""
        done = min(r.applied for r in self._replicas)
        if done >= _TRIM_AT:
            del self.log[:done]
            for r in self._replicas:
                r.applied -= done

    def _apply(self, replica: _Replica, at: float, stream: int, fields: list[bytes]) -> None:
        sock = replica.streams.get(stream)
        if sock is None:
            sock = FakeSocket(replica.engine.server, db=0, client_class=redis.Redis)
            replica.streams[stream] = sock
        # fakeredis stamps each command with time.time(): replay at the primary's instant.
        real_time = getattr(fake_base, "time")  # noqa: B009 (not exported for mypy)
        setattr(fake_base, "time", _FixedTime(at))  # noqa: B010
        try:
            sock._process_command(list(fields))
        finally:
            setattr(fake_base, "time", real_time)  # noqa: B010
        if sock.responses is not None:
            sock.responses.queue.clear()

    def failover(self, new_primary: CacheEngine | None = None) -> CacheEngine:
        """Promote ``new_primary`` (the first replica by default); return it.

        The promoted replica keeps what it had applied: writes still within the lag are lost.
        The other replicas and the old primary follow it from a full copy of its data.
        """
        if not self._replicas:
            raise ValueError("a replication group without replicas cannot fail over")
        chosen = new_primary or self._replicas[0].engine
        if chosen is self.primary:
            return chosen
        promoted = next((r for r in self._replicas if r.engine is chosen), None)
        if promoted is None:
            raise ValueError(f"{chosen.name} is not a replica of {self.primary.name}")
        self.catch_up(chosen)
        old = self.primary
        old.generation += 1  # the failed primary restarts as a replica: its connections drop
        followers = [r.engine for r in self._replicas if r is not promoted] + [old]
        self.primary = chosen
        self._replicas = []
        self.log = []
        for engine in followers:
            _copy_data(chosen, engine)
            self._replicas.append(_Replica(engine))
        self.failovers += 1
        return chosen


def redis_error(message: str) -> Exception:
    """The exception redis-py raises for an error reply (``MOVED`` -> ``MovedError``, ...)."""
    from redis._parsers.base import BaseParser

    error: Exception = BaseParser.parse_error(message)  # type: ignore[no-untyped-call]
    return error


def _copy_data(source: CacheEngine, target: CacheEngine) -> None:
    """A full resynchronisation: ``target``'s databases become a copy of ``source``'s."""
    for number, db in source.server.dbs.items():
        target_db = target.server.dbs[number]
        target_db._dict.clear()
        for key, item in db._dict.items():
            target_db._dict[key] = copy.deepcopy(item)
