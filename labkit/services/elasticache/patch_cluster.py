"""Replicas and cluster-mode shards of an ElastiCache replication group, on moto's model.

moto 5.2.5 describes a replication group's node groups and members but gives each the same
nothing behind them, has no ``TestFailover``, and its ``ModifyReplicationGroup`` ignores
``PrimaryClusterId``. Here (:mod:`.patch` calls :func:`wire` for every Redis or Valkey group):

- **Cluster mode disabled** (one node group): the primary member's engine serves the primary
  endpoint; each replica member (``NumCacheClusters`` > 1 or ``ReplicasPerNodeGroup``) gets its
  own engine that follows the primary (:mod:`.sim_replicas`), served at its ``ReadEndpoint``;
  the reader endpoint serves the first replica (the primary when there is none, as on AWS:
  https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Endpoints.html).
- **Cluster mode enabled** (``ClusterMode="enabled"``, a parameter group with
  ``cluster-enabled`` ``yes`` such as ``default.redis7.cluster.on``, or ``NumNodeGroups`` > 1 or
  several ``NodeGroupConfiguration`` entries, which AWS only accepts for cluster mode): each
  node group is a shard with its own primary engine and replicas, owning a range of the 16384
  hash slots (an even split, or each configuration's ``Slots``); every node has an endpoint
  ``<member id>.<group domain>`` (what ``DescribeCacheClusters`` would show), and the
  configuration endpoint answers like any node. :mod:`.sim_cluster` answers ``CLUSTER SLOTS``,
  ``MOVED`` and ``CROSSSLOT``.
- **Failover**: ``TestFailover`` (a node group) and ``ModifyReplicationGroup`` with
  ``PrimaryClusterId`` promote a replica: the endpoint names stay, the engines behind them swap,
  and the members' ``CurrentRole`` follow.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

from moto.core.responses import ActionResult
from moto.elasticache import responses as ec_responses
from moto.elasticache.exceptions import ElastiCacheException

from labkit import facts
from labkit.services.elasticache.sim_cache import CacheEngine
from labkit.services.elasticache.sim_cluster import (
    SLOTS,
    ClusterRouter,
    Shard,
    even_slots,
    parse_slots,
)
from labkit.services.elasticache.sim_replicas import ReplicaSet
from labkit.services.elasticache.state import MEMBER_ENGINES_ATTRIBUTE

#: Attribute of a moto replication group: ``{node group id: ReplicaSet}``.
REPLICA_SETS = "_labkit_replica_sets"
#: Attribute of a moto replication group: ``{member cache cluster id: engine}``.
MEMBER_ENGINES = MEMBER_ENGINES_ATTRIBUTE
#: Attribute of a moto replication group: its :class:`ClusterRouter` in cluster mode.
ROUTER = "_labkit_cluster_router"

Serve = Callable[[str, int, CacheEngine, bool], None]
NewEngine = Callable[[str], CacheEngine]


class _Error(ElastiCacheException):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


def cluster_mode(kwargs: dict[str, Any], params: dict[str, str]) -> bool:
    """Whether ``CreateReplicationGroup``'s arguments (and parameter group) ask for cluster mode."""
    if str(kwargs.get("cluster_mode") or "").lower() == "enabled":
        return True
    if params.get("cluster-enabled") == "yes":
        return True
    if int(kwargs.get("num_node_groups") or 1) > 1:
        return True
    return len(kwargs.get("node_group_configuration") or []) > 1


def normalise(kwargs: dict[str, Any], params: dict[str, str]) -> None:
    """Fill the gaps moto leaves in ``CreateReplicationGroup``'s arguments, in place.

    Cluster mode is set when the arguments ask for it; moto builds cluster-mode-disabled replicas
    from ``ReplicasPerNodeGroup`` only, so ``NumCacheClusters`` (primary and replicas) becomes it.
    """
    if cluster_mode(kwargs, params):
        kwargs["cluster_mode"] = "enabled"
        configured = kwargs.get("node_group_configuration") or []
        if configured and not kwargs.get("num_node_groups"):
            kwargs["num_node_groups"] = len(configured)  # moto counts node groups from this only
    elif kwargs.get("num_cache_clusters") and not kwargs.get("replicas_per_node_group"):
        kwargs["replicas_per_node_group"] = int(kwargs["num_cache_clusters"]) - 1


def check_sizes(kwargs: dict[str, Any]) -> None:
    """Refuse more replicas per shard, or more shards, than ElastiCache allows."""
    most_replicas = int(facts.fact("elasticache.replicas_per_shard_max").value)
    most_shards = int(facts.fact("elasticache.shards_max").value)
    replicas = kwargs.get("replicas_per_node_group")
    clusters = kwargs.get("num_cache_clusters")
    if (replicas is not None and int(replicas) > most_replicas) or (
        clusters is not None and int(clusters) > most_replicas + 1
    ):
        raise _Error(
            "InvalidParameterValue",
            f"A shard has one primary and at most {most_replicas} replicas "
            f"(ReplicasPerNodeGroup {replicas}, NumCacheClusters {clusters}).",
        )
    for config in kwargs.get("node_group_configuration") or []:
        count = config.get("ReplicaCount")
        if count is not None and int(count) > most_replicas:
            raise _Error(
                "InvalidParameterValue",
                f"A shard has one primary and at most {most_replicas} replicas "
                f"(NodeGroupConfiguration {config.get('NodeGroupId')} ReplicaCount {count}).",
            )
    several = int(kwargs.get("num_node_groups") or 1) > 1
    if several and str(kwargs.get("cluster_mode") or "").lower() == "disabled":
        raise _Error(
            "InvalidParameterCombination",
            "ClusterMode disabled allows one node group: NumNodeGroups > 1 needs cluster mode "
            "(ClusterMode enabled, or a parameter group with cluster-enabled yes).",
        )
    shards = kwargs.get("num_node_groups")
    if shards is not None and not 1 <= int(shards) <= most_shards:
        raise _Error(
            "InvalidParameterValue",
            f"NumNodeGroups must be 1 to {most_shards}, not {shards}.",
        )


def _lag() -> float:
    return float(facts.fact("elasticache.replication_lag_sandbox").value)


def _domain(group: Any) -> str:
    if group.cluster_enabled:
        return str(group.configuration_endpoint["address"]).removeprefix("clustercfg.")
    return str(group.node_groups[0]["primary_endpoint"]["address"]).removeprefix("master.")


def wire(group: Any, primary: CacheEngine, new_engine: NewEngine, serve: Serve) -> None:
    """Give each member of ``group`` its engine and serve its endpoints.

    ``primary`` (the group's engine) is the first node group's primary; ``new_engine(name)``
    makes a node's engine; ``serve(address, port, engine, tls)`` puts it behind an endpoint.
    """
    tls = bool(group.transit_encryption_enabled)
    port = int(group.port)
    domain = _domain(group)
    sets: dict[str, ReplicaSet] = {}
    members: dict[str, CacheEngine] = {}
    shards: list[Shard] = []
    slot_ranges = _slot_ranges(group)
    for index, node_group in enumerate(group.node_groups):
        engines: list[CacheEngine] = []
        for position, member in enumerate(node_group["node_group_members"]):
            name = member["cache_cluster_id"]
            engine = primary if index == 0 and position == 0 else new_engine(name)
            engines.append(engine)
            members[name] = engine
            member["current_role"] = "primary" if position == 0 else "replica"
        replica_set = ReplicaSet(engines[0], engines[1:], _lag())
        sets[node_group["node_group_id"]] = replica_set
        if group.cluster_enabled:
            ranges = slot_ranges[index]
            node_group["slots"] = ",".join(f"{start}-{end}" for start, end in ranges)
            hosts = [f"{m['cache_cluster_id']}.{domain}" for m in node_group["node_group_members"]]
            shards.append(Shard(node_group["node_group_id"], ranges, replica_set, hosts, port))
            for host, engine in zip(hosts, engines, strict=True):
                serve(host, port, engine, tls)
        else:
            for member, engine in zip(node_group["node_group_members"], engines, strict=True):
                endpoint = member.get("read_endpoint")
                if endpoint:
                    serve(endpoint["address"], endpoint["port"], engine, tls)
            _serve_roles(node_group, replica_set, serve, tls)
    if group.cluster_enabled:
        router = ClusterRouter(shards)
        setattr(group, ROUTER, router)
        serve(group.configuration_endpoint["address"], port, primary, tls)
    setattr(group, REPLICA_SETS, sets)
    setattr(group, MEMBER_ENGINES, members)


def _slot_ranges(group: Any) -> list[list[tuple[int, int]]]:
    """Each node group's slots: the ``Slots`` moto holds if they cover the 16384 once, else
    an even split (moto's own default overlaps or leaves gaps for other than three shards)."""
    given = [parse_slots(str(ng.get("slots") or "")) for ng in group.node_groups]
    covered = sorted(slot for ranges in given for start, end in ranges for slot in (start, end))
    seen = [slot for ranges in given for start, end in ranges for slot in range(start, end + 1)]
    if covered and sorted(seen) == list(range(SLOTS)):
        return given
    return [[pair] for pair in even_slots(len(group.node_groups))]


def _serve_roles(
    node_group: dict[str, Any], replica_set: ReplicaSet, serve: Serve, tls: bool
) -> None:
    """Point the primary and reader endpoints at the engines now in those roles."""
    primary = node_group.get("primary_endpoint")
    if primary:
        serve(primary["address"], primary["port"], replica_set.primary, tls)
    reader = node_group.get("reader_endpoint_address")
    if reader:
        port = int(node_group.get("port") or 6379)
        node_group["reader_endpoint"] = {"address": reader, "port": port}  # moto omits it
        engine = (replica_set.replicas or [replica_set.primary])[0]
        serve(reader, port, engine, tls)


def failover(
    group: Any, node_group_id: str | None, new_primary_id: str | None, serve: Serve
) -> None:
    """Promote a replica of ``node_group_id`` (or the member ``new_primary_id``)."""
    sets: dict[str, ReplicaSet] = getattr(group, REPLICA_SETS, {})
    members: dict[str, CacheEngine] = getattr(group, MEMBER_ENGINES, {})
    for node_group in group.node_groups:
        ids = [m["cache_cluster_id"] for m in node_group["node_group_members"]]
        if node_group_id is not None and node_group["node_group_id"] != node_group_id:
            continue
        if new_primary_id is not None and new_primary_id not in ids:
            continue
        replica_set = sets.get(node_group["node_group_id"])
        if replica_set is None:
            break
        if not replica_set.replicas:
            raise _Error(
                "InvalidReplicationGroupState",
                f"Node group {node_group['node_group_id']} of {group.replication_group_id} has "
                "no replica to promote.",
            )
        chosen = members[new_primary_id] if new_primary_id else None
        replica_set.failover(chosen)
        for member in node_group["node_group_members"]:
            engine = members.get(member["cache_cluster_id"])
            member["current_role"] = "primary" if engine is replica_set.primary else "replica"
        if not group.cluster_enabled:
            _serve_roles(node_group, replica_set, serve, bool(group.transit_encryption_enabled))
            group.primary_cluster_id = next(
                m["cache_cluster_id"]
                for m in node_group["node_group_members"]
                if m["current_role"] == "primary"
            )
        return
    wanted = new_primary_id or node_group_id
    raise _Error(
        "NodeGroupNotFoundFault" if node_group_id else "CacheClusterNotFound",
        f"{wanted} is not a node group or member of {group.replication_group_id}.",
    )


def install(stack: ExitStack, serve: Serve) -> None:
    """Add ``TestFailover`` and ``ModifyReplicationGroup``'s ``PrimaryClusterId``."""
    stack.enter_context(_patched(serve))


def _group(backend: Any, group_id: str) -> Any:
    group = backend.replication_groups.get(group_id)
    if group is None:
        raise _Error("ReplicationGroupNotFoundFault", f"Replication group {group_id} not found.")
    return group


@contextlib.contextmanager
def _patched(serve: Serve) -> Iterator[None]:
    response_cls = ec_responses.ElastiCacheResponse
    original_modify = response_cls.modify_replication_group

    def test_failover(self: Any) -> ActionResult:
        group = _group(self.elasticache_backend, self._get_param("ReplicationGroupId"))
        node_group_id = self._get_param("NodeGroupId")
        if not node_group_id:
            raise _Error("InvalidParameterValue", "NodeGroupId is required.")
        failover(group, node_group_id, None, serve)
        return ActionResult({"ReplicationGroup": group})

    def modify_replication_group(self: Any) -> ActionResult:
        new_primary = self._get_param("PrimaryClusterId")
        if new_primary:
            group = _group(self.elasticache_backend, self._get_param("ReplicationGroupId"))
            if group.cluster_enabled:
                raise _Error(
                    "InvalidParameterCombination",
                    "PrimaryClusterId applies to cluster mode disabled; use TestFailover on a "
                    "node group of a cluster-mode-enabled group.",
                )
            members = getattr(group, MEMBER_ENGINES, {})
            if new_primary not in members:
                raise _Error(
                    "CacheClusterNotFound",
                    f"CacheCluster {new_primary} is not a member of {group.replication_group_id}.",
                )
            failover(group, None, new_primary, serve)
        result: ActionResult = original_modify(self)
        return result

    response_cls.test_failover = test_failover  # type: ignore[attr-defined]
    response_cls.modify_replication_group = modify_replication_group  # type: ignore[method-assign]
    try:
        yield
    finally:
        del response_cls.test_failover  # type: ignore[attr-defined]
        response_cls.modify_replication_group = original_modify  # type: ignore[method-assign]
