"""Redis cluster mode: hash slots over shards, CLUSTER SLOTS, MOVED and CROSSSLOT.

As the Redis cluster specification has it
(https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/): a key's slot is
CRC16 of the key (or of its ``{hash tag}``) mod 16384 (``redis.crc.key_slot``); each shard's
primary serves a set of slots; a node asked about a key of a slot it does not serve answers
``MOVED <slot> <host>:<port>`` with the primary that does, and a client (``RedisCluster``) learns
the map from ``CLUSTER SLOTS`` (or ``CLUSTER SHARDS``) and goes there itself; a command whose keys
hash to different slots is refused with ``CROSSSLOT``; a replica answers reads of its slots only
on a connection that sent ``READONLY`` (``MOVED`` to its primary otherwise), and cluster mode
has only database 0.

The keys of a command come from Redis's command table (first key, last key, step), as Redis
itself finds them; ``EVAL``/``EVALSHA``/``FCALL`` take theirs from ``numkeys``.

Plain Python (no moto, no Jupyter).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from fakeredis._helpers import OK
from redis.crc import key_slot

from labkit.services.elasticache.sim_cache import CacheEngine
from labkit.services.elasticache.sim_replicas import (
    ReplicaSet,
    command_table,
    is_write,
    redis_error,
)

SLOTS = 16384
CROSSSLOT_MESSAGE = "CROSSSLOT Keys in request don't hash to the same slot"
_NUMKEYS = frozenset({"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"})
# (first, last, step) of multi-key commands as Redis's COMMAND has them: fakeredis's table stops
# at the first key for some (MSET: 1, 1, 2), which would hide a CROSSSLOT.
_KEY_SPECS = {
    **dict.fromkeys(
        ("del", "unlink", "exists", "mget", "touch", "watch", "sinter", "sunion", "sdiff",
         "sinterstore", "sunionstore", "sdiffstore", "pfcount", "pfmerge"),
        (1, -1, 1),
    ),
    **dict.fromkeys(("mset", "msetnx"), (1, -1, 2)),
    **dict.fromkeys(
        ("rename", "renamenx", "smove", "rpoplpush", "lmove", "blmove", "brpoplpush", "copy"),
        (1, 2, 1),
    ),
    **dict.fromkeys(("blpop", "brpop", "bzpopmin", "bzpopmax"), (1, -2, 1)),
}  # fmt: skip
# Commands whose key count is an argument: position of numkeys, and of a destination key before it.
_COUNTED = {
    "zunionstore": (2, 1), "zinterstore": (2, 1), "zdiffstore": (2, 1),
    "zunion": (1, None), "zinter": (1, None), "zdiff": (1, None), "sintercard": (1, None),
    "zintercard": (1, None), "lmpop": (1, None), "zmpop": (1, None),
}  # fmt: skip


def even_slots(shards: int) -> list[tuple[int, int]]:
    """The 16384 slots split into ``shards`` contiguous ranges, as evenly as they go."""
    bounds = [SLOTS * i // shards for i in range(shards + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(shards)]


def parse_slots(text: str) -> list[tuple[int, int]]:
    """``"0-5460"`` or ``"0-100,200-300"`` (a NodeGroupConfiguration's ``Slots``) as ranges."""
    ranges: list[tuple[int, int]] = []
    for part in str(text).split(","):
        start, _, end = part.strip().partition("-")
        if start.isdigit():
            ranges.append((int(start), int(end) if end.isdigit() else int(start)))
    return ranges


def command_keys(command: str, fields: list[bytes]) -> list[bytes]:
    """The keys a command names, found as Redis finds them."""
    if command in _NUMKEYS:
        if len(fields) > 2 and fields[2].isdigit():
            return fields[3 : 3 + int(fields[2])]
        return []
    if command in _COUNTED:
        at, destination = _COUNTED[command]
        if len(fields) <= at or not fields[at].isdigit():
            return []
        keys = list(fields[at + 1 : at + 1 + int(fields[at])])
        return [fields[destination], *keys] if destination else keys
    if command in _KEY_SPECS:
        first, last, step = _KEY_SPECS[command]
        end = last + 1 if last > 0 else len(fields) + last + 1
        return fields[first:end:step]
    table = command_table()
    info = None
    if len(fields) > 1:
        info = table.get(f"{command} {fields[1].decode('utf-8', 'replace').lower()}")
    info = info or table.get(command)
    if info is None:
        return []
    first, last, step = int(info[3]), int(info[4]), int(info[5])
    if first <= 0 or step <= 0:
        return []
    end = last + 1 if last > 0 else len(fields) + last + 1
    return fields[first:end:step]


def node_id(host: str) -> str:
    """A node's 40-character cluster id (stable: derived from its endpoint)."""
    return hashlib.sha1(host.encode(), usedforsecurity=False).hexdigest()


@dataclass
class Shard:
    """One node group: its slots, its nodes (primary first at creation) and their endpoints."""

    shard_id: str
    ranges: list[tuple[int, int]]
    replica_set: ReplicaSet
    hosts: list[str]
    port: int
    engines: list[CacheEngine] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.engines:
            self.engines = [self.replica_set.primary, *self.replica_set.replicas]

    def host_of(self, engine: CacheEngine) -> str:
        """The endpoint of the node whose engine is ``engine``."""
        return self.hosts[self.engines.index(engine)]

    def owns(self, slot: int) -> bool:
        """Whether ``slot`` is one of this shard's."""
        return any(start <= slot <= end for start, end in self.ranges)

    def ordered(self) -> list[tuple[str, CacheEngine]]:
        """(host, engine) of each node, the current primary first."""
        primary = self.replica_set.primary
        nodes = [(self.host_of(primary), primary)]
        nodes += [(self.host_of(engine), engine) for engine in self.replica_set.replicas]
        return nodes


class ClusterRouter:
    """Answers for every node of one cluster-mode replication group (a hook of each engine)."""

    def __init__(self, shards: list[Shard]) -> None:
        self.shards = shards
        self._slot_owner: list[Shard | None] = [None] * SLOTS
        for shard in shards:
            for start, end in shard.ranges:
                for slot in range(start, end + 1):
                    self._slot_owner[slot] = shard
            for engine in shard.engines:
                engine.router = self
        self.redirects = 0

    def shard_of_slot(self, slot: int) -> Shard | None:
        """The shard serving ``slot`` (``None`` if no shard does)."""
        return self._slot_owner[slot]

    def shard_of_key(self, key: str | bytes) -> Shard | None:
        """The shard a key lives on."""
        return self.shard_of_slot(key_slot(key.encode() if isinstance(key, str) else key))

    def before(self, engine: CacheEngine, sock: Any, command: str, fields: list[bytes]) -> Any:
        """The reply for a command this node must not run itself, or ``None`` to run it."""
        if command == "cluster":
            return self._cluster(engine, fields)
        if command in ("readonly", "readwrite"):
            sock._labkit_readonly = command == "readonly"
            return OK
        if command == "asking":
            return OK
        if command == "select" and len(fields) > 1 and fields[1] != b"0":
            return _error("ERR SELECT is not allowed in cluster mode")
        keys = command_keys(command, fields)
        if not keys:
            return None
        slots = {key_slot(key) for key in keys}
        if len(slots) > 1:
            return _error(CROSSSLOT_MESSAGE)
        slot = slots.pop()
        shard = self.shard_of_slot(slot)
        if shard is None:
            return _error(f"CLUSTERDOWN Hash slot {slot} not served")
        primary = shard.replica_set.primary
        if engine is primary:
            return None
        reads_here = engine in shard.engines and not is_write(command)
        if reads_here and getattr(sock, "_labkit_readonly", False):
            return None
        self.redirects += 1
        return _error(f"MOVED {slot} {shard.host_of(primary)}:{shard.port}")

    # -- CLUSTER subcommands -----------------------------------------------------------------
    def _cluster(self, engine: CacheEngine, fields: list[bytes]) -> Any:
        sub = fields[1].decode("utf-8", "replace").lower() if len(fields) > 1 else ""
        if sub == "slots":
            return self.slots_reply()
        if sub == "shards":
            return self.shards_reply()
        if sub == "keyslot" and len(fields) == 3:
            return key_slot(fields[2])
        if sub == "myid":
            for shard in self.shards:
                if engine in shard.engines:
                    return node_id(shard.host_of(engine)).encode()
        if sub == "info":
            return self.info().encode()
        return _error(f"ERR unknown subcommand '{sub}' (the sandbox answers CLUSTER SLOTS, "
                      "SHARDS, INFO, KEYSLOT, MYID)")  # fmt: skip

    def slots_reply(self) -> list[Any]:
        """``CLUSTER SLOTS``: [start, end, [host, port, id], replicas...] per slot range."""
        reply: list[Any] = []
        for shard in self.shards:
            nodes = [
                [host.encode(), shard.port, node_id(host).encode()] for host, _ in shard.ordered()
            ]
            for start, end in shard.ranges:
                reply.append([start, end, *nodes])
        return reply

    def shards_reply(self) -> list[Any]:
        """``CLUSTER SHARDS``: each shard's slots and nodes."""
        reply: list[Any] = []
        for shard in self.shards:
            slots = [bound for start, end in shard.ranges for bound in (start, end)]
            nodes = []
            for position, (host, _) in enumerate(shard.ordered()):
                role = b"master" if position == 0 else b"replica"
                nodes.append([
                    b"id", node_id(host).encode(), b"port", shard.port, b"endpoint",
                    host.encode(), b"hostname", host.encode(), b"role", role,
                    b"replication-offset", 0, b"health", b"online",
                ])  # fmt: skip
            reply.append([b"slots", slots, b"nodes", nodes])
        return reply

    def info(self) -> str:
        """``CLUSTER INFO``."""
        nodes = sum(len(shard.engines) for shard in self.shards)
        lines = [
            "cluster_enabled:1",
            "cluster_state:ok",
            f"cluster_slots_assigned:{sum(1 for s in self._slot_owner if s is not None)}",
            f"cluster_known_nodes:{nodes}",
            f"cluster_size:{len(self.shards)}",
        ]
        return "\r\n".join(lines) + "\r\n"


def _error(message: str) -> Exception:
    return redis_error(message)
