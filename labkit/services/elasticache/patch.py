"""ElastiCache's data plane on moto's control plane: a Redis engine behind every endpoint.

moto 5.2.5 keeps clusters and replication groups (replication groups with a primary endpoint)
but no engine, and a cache cluster has no node endpoints. Here:

- ``CreateCacheCluster`` (Redis or Valkey) and ``CreateReplicationGroup`` give the cluster a
  Redis engine (:mod:`.sim_cache`, fakeredis in process) with the ``AuthToken`` as its password;
  a cache cluster gets ``CacheNodes`` with endpoints
  (``<id>.<suffix>.0001.<region-code>.cache.amazonaws.com:6379``);
- the real ``redis`` client reaches the engine at any of the cluster's endpoints: a
  ``redis.ConnectionPool`` for an endpoint's host and port talks to the engine in process (what
  ``redis.Redis(host=..., port=..., password=...)``, ``redis.from_url`` and ``StrictRedis`` build);
  the wrong port, or TLS on a cluster without in-transit encryption (and the reverse), fails to
  connect as it would on AWS;
- ``maxmemory`` is the node type's memory less the parameter group's ``reserved-memory-percent``
  (25 % by default), evicting by its ``maxmemory-policy`` (``volatile-lru`` by default); groups
  are in :mod:`.patch_parameters`, and changing one changes its clusters' engines at once;
- a replication group's replicas and cluster-mode shards each get an engine of their own
  (:mod:`.patch_cluster`);
- ``LABKIT_ELASTICACHE_REDIS=host:port`` sends every endpoint to a real Redis or Valkey server
  instead (an instructor's; the data of all clusters then share it).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import redis
import redis.connection
from moto.elasticache import models as ec_models

from labkit import facts
from labkit.services.elasticache import patch_cluster, patch_parameters
from labkit.services.elasticache.sim_cache import DEFAULT_POLICY, CacheEngine
from labkit.services.elasticache.state import ENGINE_ATTRIBUTE

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

ENGINE = ENGINE_ATTRIBUTE
REDIS_ENGINES = ("redis", "valkey")
_GIB = 1024**3
# endpoint host (lower case) -> (port, engine, transit encryption)
_endpoints: dict[str, tuple[int, CacheEngine, bool]] = {}


def engine_for(cluster: Any) -> CacheEngine | None:
    """The engine of a moto cache cluster or replication group."""
    engine: CacheEngine | None = getattr(cluster, ENGINE, None)
    return engine


def _maxmemory(node_type: str | None, reserved_percent: str) -> int:
    memory = float(facts.fact("elasticache.node_memory_t3_micro").value) * _GIB
    return int(memory * (1 - int(reserved_percent) / 100))


def _region_code(region: str) -> str:
    # us-east-1 -> use1, eu-west-2 -> euw2: the short form in ElastiCache's endpoint names.
    parts = region.split("-")
    return parts[0] + "".join(p[0] for p in parts[1:-1]) + parts[-1]


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Put Redis engines behind ElastiCache endpoints while ``sandbox`` runs."""
    stack.enter_context(_patched(sandbox))
    patch_parameters.install(sandbox, stack, apply_group)
    patch_cluster.install(stack, _serve)


def _configure(engine: CacheEngine, node_type: str | None, params: dict[str, str]) -> None:
    engine.maxmemory = _maxmemory(node_type, params["reserved-memory-percent"])
    engine.policy = params.get("maxmemory-policy", DEFAULT_POLICY)


def apply_group(backend: Any, group: str) -> None:
    """A parameter group changed: reconfigure every engine that uses it."""
    params = patch_parameters.parameters_for(backend, group)
    owners = [*backend.cache_clusters.values(), *backend.replication_groups.values()]
    for owner in owners:
        if getattr(owner, "cache_parameter_group_name", None) != group:
            continue
        engines = {id(e): e for e in getattr(owner, patch_cluster.MEMBER_ENGINES, {}).values()}
        engine = engine_for(owner)
        if engine is not None:
            engines[id(engine)] = engine
        for each in engines.values():
            _configure(each, owner.cache_node_type, params)


def _new_engine(
    backend: Any, name: str, node_type: str | None, group: str | None, token: str | None, seed: int
) -> CacheEngine:
    engine = CacheEngine(name, maxmemory=1, auth_token=token, seed=seed)
    _configure(engine, node_type, patch_parameters.parameters_for(backend, group))
    return engine


def _serve(address: str, port: int, engine: CacheEngine, tls: bool) -> None:
    _endpoints[address.lower()] = (int(port), engine, tls)


def _retire(
    engines: list[CacheEngine], keep: CacheEngine | None = None, keep_node: str = ""
) -> None:
    """Deleted: ``engines`` lose their data, and every endpoint that reached them stops
    resolving (a connection fails as one to a host name that does not exist), except the node
    endpoint (``keep_node``'s) of ``keep``, a group's primary kept with ``RetainPrimaryCluster``;
    the group's own endpoints go with the group.

    The endpoint names stay known, each now pointing at a deleted engine (holding no data), so
    the real client fails to connect instead of looking the name up outside the sandbox.
    """
    for engine in engines:
        engine.delete()
    if keep is None:
        return
    tombstone = CacheEngine(keep.name, maxmemory=1)
    tombstone.delete()
    for host, (port, engine, tls) in list(_endpoints.items()):
        if engine is keep and host.split(".", 1)[0] != keep_node.lower():
            _endpoints[host] = (port, tombstone, tls)


@contextlib.contextmanager
def _patched(sandbox: Sandbox) -> Iterator[None]:
    backend_cls = ec_models.ElastiCacheBackend
    original_cluster = backend_cls.create_cache_cluster
    original_group = backend_cls.create_replication_group
    original_pool_init = redis.connection.ConnectionPool.__init__
    original_delete_cluster = backend_cls.delete_cache_cluster
    original_delete_group = backend_cls.delete_replication_group

    def create_cache_cluster(self: Any, *args: Any, **kwargs: Any) -> Any:
        patch_parameters.require(self, kwargs.get("cache_parameter_group_name"))
        cluster = original_cluster(self, *args, **kwargs)
        if str(cluster.engine).lower() not in REDIS_ENGINES or cluster.replication_group_id:
            return cluster
        engine = _new_engine(
            self,
            cluster.cache_cluster_id,
            cluster.cache_node_type,
            cluster.cache_parameter_group_name,
            cluster.auth_token,
            sandbox.seed,
        )
        setattr(cluster, ENGINE, engine)
        address = (
            f"{cluster.cache_cluster_id}.abc123.0001.{_region_code(self.region_name)}"
            ".cache.amazonaws.com"
        )
        cluster.cache_nodes = [  # type: ignore[attr-defined]
            {
                "CacheNodeId": "0001",
                "CacheNodeStatus": "available",
                "CacheNodeCreateTime": cluster.cache_cluster_create_time,
                "Endpoint": {"Address": address, "Port": cluster.port},
                "ParameterGroupStatus": "in-sync",
                "CustomerAvailabilityZone": f"{self.region_name}a",
            }
        ]
        _serve(address, cluster.port, engine, bool(cluster.transit_encryption_enabled))
        return cluster

    def create_replication_group(self: Any, *args: Any, **kwargs: Any) -> Any:
        patch_parameters.require(self, kwargs.get("cache_parameter_group_name"))
        patch_cluster.check_sizes(kwargs)
        params = patch_parameters.parameters_for(self, kwargs.get("cache_parameter_group_name"))
        patch_cluster.normalise(kwargs, params)
        group = original_group(self, *args, **kwargs)
        if str(group.engine or "redis").lower() not in REDIS_ENGINES:
            return group
        token = kwargs.get("auth_token")
        engine = _new_engine(
            self,
            group.replication_group_id,
            group.cache_node_type,
            group.cache_parameter_group_name,
            token,
            sandbox.seed,
        )
        setattr(group, ENGINE, engine)

        def node_engine(name: str) -> CacheEngine:
            return _new_engine(
                self, name, group.cache_node_type, group.cache_parameter_group_name, token,
                sandbox.seed,
            )  # fmt: skip

        patch_cluster.wire(group, engine, node_engine, _serve)
        return group

    def delete_cache_cluster(self: Any, cache_cluster_id: str) -> Any:
        cluster = original_delete_cluster(self, cache_cluster_id)
        engine = engine_for(cluster)
        if engine is not None:
            _retire([engine])
            setattr(cluster, ENGINE, None)
        return cluster

    def delete_replication_group(
        self: Any, replication_group_id: str, retain_primary_cluster: bool | None
    ) -> Any:
        group = self.replication_groups.get(replication_group_id)
        primary = next(
            (
                m["cache_cluster_id"]
                for ng in (getattr(group, "node_groups", None) or [])[:1]
                for m in ng["node_group_members"]
                if m.get("current_role") == "primary"
            ),
            "",
        )
        group = original_delete_group(self, replication_group_id, retain_primary_cluster)
        members: dict[str, CacheEngine] = dict(getattr(group, patch_cluster.MEMBER_ENGINES, {}))
        engine = engine_for(group)
        kept = members.get(primary) if retain_primary_cluster else None
        engines = {id(e): e for e in [*members.values(), *([engine] if engine else [])]}
        _retire([e for e in engines.values() if e is not kept], keep=kept, keep_node=primary)
        setattr(group, ENGINE, None)
        setattr(group, patch_cluster.MEMBER_ENGINES, {})
        return group

    def pool_init(
        self: Any, connection_class: Any = redis.connection.Connection, **kwargs: Any
    ) -> None:
        host = str(kwargs.get("host", "")).lower()
        served = _endpoints.get(host)
        if served is not None and connection_class in (
            redis.connection.Connection,
            redis.connection.SSLConnection,
        ):
            port, engine, tls = served
            if int(kwargs.get("port", 6379)) != port:
                raise redis.ConnectionError(
                    f"Error connecting to {host}:{kwargs.get('port')}: refused"
                )
            uses_tls = connection_class is redis.connection.SSLConnection
            if uses_tls != tls:
                raise redis.ConnectionError(
                    f"Error connecting to {host}: the cluster has in-transit encryption "
                    f"{'on: connect with ssl=True' if tls else 'off: connect without ssl'}"
                )
            real = os.environ.get("LABKIT_ELASTICACHE_REDIS")
            if real:
                real_host, _, real_port = real.rpartition(":")
                kwargs.update(host=real_host, port=int(real_port))
                connection_class = redis.connection.Connection
            else:
                for key in list(kwargs):
                    if key.startswith("ssl"):
                        del kwargs[key]
                # resolved at each connection: after a failover the name reaches the new node
                connection_class = engine.connection_class(lambda: _endpoints.get(host, served)[1])
        original_pool_init(self, connection_class=connection_class, **kwargs)

    backend_cls.create_cache_cluster = create_cache_cluster  # type: ignore[method-assign]
    backend_cls.create_replication_group = create_replication_group  # type: ignore[method-assign]
    backend_cls.delete_cache_cluster = delete_cache_cluster  # type: ignore[method-assign]
    backend_cls.delete_replication_group = delete_replication_group  # type: ignore[method-assign]
    redis.connection.ConnectionPool.__init__ = pool_init  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        backend_cls.create_cache_cluster = original_cluster  # type: ignore[method-assign]
        backend_cls.create_replication_group = original_group  # type: ignore[method-assign]
        backend_cls.delete_cache_cluster = original_delete_cluster  # type: ignore[method-assign]
        backend_cls.delete_replication_group = original_delete_group  # type: ignore[method-assign]
        redis.connection.ConnectionPool.__init__ = original_pool_init  # type: ignore[method-assign]
        _endpoints.clear()
