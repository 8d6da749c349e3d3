"""A Redis-compatible engine for one ElastiCache cluster: fakeredis, plus what a cache node adds.

fakeredis (in process) speaks Redis's commands and reads expiry times from ``time.time()``, which
the sandbox keeps at the lab clock, so TTLs run on the lab clock with nothing added. What it lacks
and this module adds, as Redis does it (https://redis.io/docs/latest/develop/reference/eviction/):

- **maxmemory and eviction.** Before each command, while the data set is over ``maxmemory``,
  a key is evicted by the policy (``maxmemory-policy`` of the cluster's parameter group: the
  ElastiCache default is ``volatile-lru``,
  https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/ParameterGroups.Engine.html); with
  ``noeviction``, or a ``volatile-*`` policy and no key with a TTL left, a command that may grow
  the data set is refused with Redis's ``OOM command not allowed when used memory >
  'maxmemory'.``. LRU and LFU are exact here (Redis samples a few keys: the same order on small
  data sets). Memory is estimated (key and value bytes plus a per-key overhead), not measured.
- **AUTH.** The cluster's ``AuthToken`` is the server's ``requirepass``.
- **Statistics** for the cache view: hits and misses of reads (Redis's ``keyspace_hits`` /
  ``keyspace_misses``), evictions, expired keys seen.

Plain Python (no moto, no Jupyter).
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fakeredis import FakeRedisConnection
from fakeredis._core import FakeServer
from fakeredis._socket import FakeSocket

#: ``maxmemory-policy`` values Redis accepts.
POLICIES = (
    "noeviction",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
)
DEFAULT_POLICY = "volatile-lru"
#: Bytes a key costs beyond its name and value (dictEntry, robj, expiry entry: roughly Redis's).
KEY_OVERHEAD = 64
OOM_MESSAGE = "OOM command not allowed when used memory > 'maxmemory'."

# Read commands whose reply tells a hit (a value) from a miss (nil): Redis counts these.
_READS = {"get", "getex", "getdel", "hget", "hgetall", "lrange", "smembers", "zrange", "zscore"}
_MULTI_READS = {"mget", "hmget"}
# Commands Redis marks "denyoom": refused when over maxmemory with nothing to evict.
_GROWS = {
    "set", "setex", "psetex", "setnx", "mset", "msetnx", "append", "incr", "incrby", "decr",
    "decrby", "incrbyfloat", "hset", "hsetnx", "hmset", "hincrby", "lpush", "rpush", "lpushx",
    "rpushx", "linsert", "sadd", "zadd", "zincrby", "setrange", "getset", "pfadd", "xadd",
    "geoadd", "copy", "restore",
}  # fmt: skip


class OutOfMemoryError(Exception):
    """Raised inside the engine to answer a command with Redis's OOM error."""


@dataclass
class CacheStats:
    """What ``INFO stats`` would say, for the view."""

    hits: int = 0
    misses: int = 0
    evictions: int = 0
    evicted_keys: list[str] = field(default_factory=list)
    commands: int = 0


def _size(value: Any) -> int:
    if isinstance(value, (bytes, bytearray, str)):
        return len(value)
    if isinstance(value, (int, float)):
        return 8
    if isinstance(value, dict):
        return sum(_size(k) + _size(v) for k, v in value.items())
    try:
        return sum(_size(v) for v in value)
    except TypeError:
        return 16


class CacheEngine:
    """One cluster's Redis: a fakeredis server with maxmemory, eviction, AUTH and statistics.

    Args:
        name: The cluster's id (for the view).
        maxmemory: Bytes the data set may use before eviction.
        policy: ``maxmemory-policy``.
        auth_token: The AUTH token, or ``None`` for none.
        seed: Seed for the ``*-random`` policies, so a run repeats.
    """

    def __init__(
        self,
        name: str,
        *,
        maxmemory: int,
        policy: str = DEFAULT_POLICY,
        auth_token: str | None = None,
        seed: int = 0,
    ) -> None:
        if policy not in POLICIES:
            raise ValueError(f"maxmemory-policy {policy!r} is not one of {', '.join(POLICIES)}")
        self.name = name
        self.maxmemory = maxmemory
        self.policy = policy
        config = {b"requirepass": auth_token.encode()} if auth_token else {}
        self.auth_token = auth_token
        self.server = FakeServer(version=(7, 1), config=config)
        self.stats = CacheStats()
        self._last_used: dict[bytes, int] = {}
        self._uses: dict[bytes, int] = {}
        self._tick = 0
        # Whether a command since the last eviction pass may have grown the data set: reads alone
        # never push it over maxmemory, so they skip the (linear) memory estimate.
        self._dirty = False
        self._random = random.Random(seed)
        # The replica set this engine belongs to (sim_replicas.ReplicaSet), and a router that
        # answers for a cluster-mode shard (sim_cluster): hooks around each command.
        self.replication: Any = None
        # Moves on when the node restarts (a demoted primary): its clients' connections drop.
        self.generation = 0
        self.router: Any = None
        # The cluster was deleted: its data is gone and its endpoints no longer resolve.
        self.deleted = False

    def delete(self) -> None:
        """The cluster (or replication group) was deleted: free its data, drop its clients."""
        self.deleted = True
        self.server.dbs.clear()
        self._last_used.clear()
        self._uses.clear()
        self.replication = None
        self.router = None

    # -- what the view and the checks read ------------------------------------------------
    def _db(self, number: int = 0) -> Any:
        return self.server.dbs[number]

    def live_items(self, number: int = 0) -> dict[bytes, Any]:
        """The keys that have not expired, with fakeredis's items (value, ``expireat``)."""
        now = time.time()
        return {
            key: item
            for key, item in self._db(number)._dict.items()
            if item.expireat is None or item.expireat > now
        }

    def used_memory(self) -> int:
        """Estimated bytes of the data set (every database)."""
        total = 0
        for number in list(self.server.dbs):
            for key, item in self.live_items(number).items():
                total += len(key) + _size(item.value) + KEY_OVERHEAD
        return total

    # -- eviction ---------------------------------------------------------------------------
    def _candidates(self, db: Any) -> list[bytes]:
        now = time.time()
        keys = [
            key for key, item in db._dict.items() if item.expireat is None or item.expireat > now
        ]
        if self.policy.startswith("volatile-"):
            keys = [key for key in keys if db._dict[key].expireat is not None]
        return keys

    def _victim(self, db: Any) -> bytes | None:
        keys = self._candidates(db)
        if not keys:
            return None
        if self.policy.endswith("-random"):
            return self._random.choice(sorted(keys))
        if self.policy.endswith("-lru"):
            return min(keys, key=lambda k: self._last_used.get(k, 0))
        if self.policy.endswith("-lfu"):
            return min(keys, key=lambda k: (self._uses.get(k, 0), self._last_used.get(k, 0)))
        # volatile-ttl: the key nearest to expiring.
        return min(keys, key=lambda k: db._dict[k].expireat)

    def make_room(self, command: str) -> None:
        """Evict until under ``maxmemory``; raise :class:`OutOfMemoryError` if that cannot be."""
        if not self._dirty:
            return
        if self.policy == "noeviction":
            if command in _GROWS and self.used_memory() > self.maxmemory:
                raise OutOfMemoryError(OOM_MESSAGE)
            return
        while self.used_memory() > self.maxmemory:
            victim = None
            for number in list(self.server.dbs):
                db = self._db(number)
                victim = self._victim(db)
                if victim is not None:
                    del db._dict[victim]
                    if self.replication is not None:
                        self.replication.evicted(self, victim, number)
                    self._last_used.pop(victim, None)
                    self._uses.pop(victim, None)
                    self.stats.evictions += 1
                    self.stats.evicted_keys.append(victim.decode("utf-8", "replace"))
                    break
            if victim is None:
                if command in _GROWS:
                    raise OutOfMemoryError(OOM_MESSAGE)
                return
        self._dirty = False

    def last_used(self, key: bytes) -> int:
        """The access counter's value at ``key``'s last use (higher is more recent; 0: never)."""
        return self._last_used.get(key, 0)

    def uses(self, key: bytes) -> int:
        """How many commands have used ``key`` (LFU's count, exact)."""
        return self._uses.get(key, 0)

    def touched(self, keys: list[bytes]) -> None:
        """Record an access (for LRU and LFU)."""
        for key in keys:
            self._tick += 1
            self._last_used[key] = self._tick
            self._uses[key] = self._uses.get(key, 0) + 1

    def counted(self, command: str, result: Any) -> None:
        """Count hits and misses from a read's reply."""
        if command in _READS:
            empty = result is None or result == [] or result == {}
            if empty:
                self.stats.misses += 1
            else:
                self.stats.hits += 1
        elif command in _MULTI_READS and isinstance(result, list):
            misses = sum(1 for r in result if r is None)
            self.stats.misses += misses
            self.stats.hits += len(result) - misses

    # -- clients -----------------------------------------------------------------------------
    def socket_class(self) -> type[Any]:
        """fakeredis's socket class for this engine (made once)."""
        made: type[Any] | None = getattr(self, "_socket_class", None)
        if made is None:
            made = type("EngineSocket", (_EngineSocket,), {"engine": self})
            self._socket_class = made
        return made

    def connection_class(self, resolve: Callable[[], CacheEngine] | None = None) -> type[Any]:
        """A redis-py connection class whose connections reach this engine.

        With ``resolve``, each (re)connection reaches the engine it returns then: the node an
        endpoint name points at now, as DNS would answer after a failover. A connection to a
        node that has since restarted (its ``generation`` moved on: a demoted primary) is
        closed by the server on its next command; redis-py's retry then reconnects.
        """
        home = self

        def target() -> CacheEngine:
            return resolve() if resolve is not None else home

        class EngineConnection(FakeRedisConnection):
            _labkit_engine: CacheEngine = home
            _labkit_generation = 0

            def __init__(self, **kwargs: Any) -> None:
                kwargs["server"] = target().server
                super().__init__(**kwargs)
                retry = getattr(self, "retry", None)
                if retry is not None and hasattr(retry, "_backoff"):
                    from redis.backoff import NoBackoff

                    # redis-py backs off in wall time between retries (up to seconds); nodes
                    # here come back, or are gone, on the lab clock: retry at once, as often.
                    retry = copy.copy(retry)
                    retry._backoff = NoBackoff()
                    self.retry = retry

            def _connect(self) -> Any:
                engine = target()
                if engine.deleted:
                    import redis

                    # The endpoint's DNS name went with the cluster: what redis-py says of a
                    # host name that does not resolve.
                    raise redis.ConnectionError(
                        f"Error -2 connecting to {getattr(self, 'host', engine.name)}:"
                        f"{getattr(self, 'port', 6379)}. Name or service not known."
                    )
                self._server = engine.server
                self._labkit_engine = engine
                self._labkit_generation = engine.generation
                return engine.socket_class()(
                    engine.server,
                    client_class=self._client_class,
                    db=self.db,
                    lua_modules=self._lua_modules,
                    client_info=self._client_info,
                )

            def send_packed_command(self, command: Any, check_health: bool = True) -> None:
                if self._sock is not None and self._labkit_engine.deleted:
                    import redis

                    self.disconnect()
                    raise redis.ConnectionError("Connection closed by server.")
                if self._sock is not None and (
                    self._labkit_engine.generation != self._labkit_generation
                ):
                    import redis

                    self.disconnect()
                    raise redis.ConnectionError(
                        f"Connection closed by server: node {self._labkit_engine.name} "
                        "restarted (failover)."
                    )
                super().send_packed_command(command, check_health)  # type: ignore[no-untyped-call]

        return EngineConnection

    def client(self, **kwargs: Any) -> Any:
        """A ``redis.Redis`` straight on the engine (tests and benchmarks)."""
        import redis

        pool = redis.ConnectionPool(connection_class=self.connection_class(), **kwargs)
        return redis.Redis(connection_pool=pool)


class _EngineSocket(FakeSocket):
    """fakeredis's socket with the engine's steps around each command."""

    engine: CacheEngine

    _labkit_authed = False
    _labkit_reply: Any = None
    _labkit_command = ""

    def _process_command(self, fields: list[bytes]) -> None:
        if not fields:
            return
        engine = self.engine
        command = _NAMES.get(fields[0]) or fields[0].decode("ascii", "replace").lower()
        engine.stats.commands += 1
        self._labkit_command = ""
        # fakeredis accepts any AUTH and serves unauthenticated clients: Redis does neither.
        if engine.auth_token is not None and not self._labkit_authed:
            given = _password(command, fields)
            if given is None:
                self.put_response(_error("NOAUTH Authentication required."))
                return
            if given != engine.auth_token.encode():
                self.put_response(
                    _error("WRONGPASS invalid username-password pair or user is disabled.")
                )
                return
            self._labkit_authed = True
        self._labkit_command = command
        hooked = engine.replication is not None or engine.router is not None
        if hooked and not self._labkit_hooks_allow(engine, command, fields):
            return
        if command not in _UNCOUNTED:
            if engine._dirty:
                try:
                    engine.make_room(command)
                except OutOfMemoryError as error:
                    self.put_response(_error(str(error)))
                    return
            if command == "mget":
                engine.touched(fields[1:])
            elif command in ("mset", "msetnx"):
                engine.touched(fields[1::2])
            elif len(fields) > 1:
                engine.touched(fields[1:2])
        super()._process_command(fields)
        if engine.replication is not None:
            engine.replication.after(engine, id(self), command, fields, self._labkit_reply)
        if command not in _READS and command not in _MULTI_READS:
            engine._dirty = True
        self._labkit_command = ""

    def _labkit_hooks_allow(self, engine: CacheEngine, command: str, fields: list[bytes]) -> bool:
        """Run the router's and the replica set's checks; False once one has answered."""
        if engine.router is not None:
            answer = engine.router.before(engine, self, command, fields)
            if answer is not None:
                self._labkit_command = ""
                is_error = isinstance(answer, Exception)
                self.put_response(answer if is_error else self._decode_result(answer))
                return False
        if engine.replication is not None:
            refused = engine.replication.before(engine, command)
            if refused is not None:
                self._labkit_command = ""
                self.put_response(refused)
                return False
        return True

    def _lua_redis_call(
        self, lua_runtime: Any, expected_globals: Any, op: bytes, *args: Any
    ) -> Any:
        # A script's redis.call() runs here, not through _process_command: a replica refuses
        # the writes of a script as it refuses writes sent to it.
        replication = self.engine.replication
        if replication is not None:
            refused = replication.in_script(self.engine, op)
            if refused is not None:
                raise refused
        return super()._lua_redis_call(lua_runtime, expected_globals, op, *args)

    def put_response(self, msg: Any) -> None:
        command = self._labkit_command
        if command:
            self.engine.counted(command, msg)
        self._labkit_reply = msg  # what a replica must copy when a command drew at random (SPOP)
        super().put_response(msg)


# Commands that neither touch keys nor trigger eviction, and a cache of lower-cased names.
_UNCOUNTED = frozenset({"auth", "hello", "client", "select", "info"})
_NAMES: dict[bytes, str] = {
    spelled: name
    for name in (*_READS, *_MULTI_READS, *_GROWS, *_UNCOUNTED, "ping", "del", "expire", "ttl")
    for spelled in (name.encode(), name.upper().encode())
}


def _error(message: str) -> Any:
    import redis

    return redis.ResponseError(message)


def _password(command: str, fields: list[bytes]) -> bytes | None:
    """The password an AUTH or HELLO ... AUTH command gives, if it is one."""
    if command == "auth" and len(fields) in (2, 3):
        return fields[-1]
    if command == "hello":
        upper = [f.upper() for f in fields]
        if b"AUTH" in upper:
            at = upper.index(b"AUTH")
            if at + 2 < len(fields):
                return fields[at + 2]
    return None
