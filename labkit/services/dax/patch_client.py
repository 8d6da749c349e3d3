"""The real DAX client (``amazon-dax-client``, import ``amazondax``) served by the sandbox's DAX.

Learners write what they would write on AWS::

    from amazondax import AmazonDaxClient

    dax = AmazonDaxClient(endpoint_url=cluster["ClusterDiscoveryEndpoint"]["URL"])
    dax.get_item(TableName="users", Key={"id": {"S": "u1"}})
    table = AmazonDaxClient.resource(endpoint_url=url).Table("users")

and it runs unchanged against a real cluster. Why the real package, and where the seam is:
``AmazonDaxClient`` does everything a learner can observe on the client side itself (its
constructor's arguments, ``endpoint_url`` parsing and the ``dax://``/``daxs://`` schemes,
validating each request against DynamoDB's API model, boto3's resource on top of it, the
``DaxServiceError``/``DaxClientError`` exceptions, its retries), then hands each call to a
per-node client that its ``Cluster`` object chooses, which speaks DAX's binary protocol over a
socket to port 8111 (or TLS on 9111). While a sandbox runs, ``amazondax.AmazonDaxClient.Cluster``
is replaced by :class:`SandboxCluster`, which resolves the endpoint's host to a DAX cluster of
the sandbox (its discovery endpoint or one of its nodes) and returns a
:class:`~.sim_node.DaxNode` as that per-node client. No socket is opened and no name is resolved,
so nothing can leave the machine (the network guard stays in force besides); a host that is no
sandbox cluster is refused with :class:`DaxEndpointError`. When the sandbox stops, the real
``Cluster`` is back.

What the node does is :mod:`.sim_node` (caches in :mod:`.sim_cache`); its DynamoDB is the
sandbox's, through an ordinary boto3 client, so capacity, throttling and streams apply to what
DAX reads and writes as they would on AWS. A DynamoDB error reaches the learner as the real
client raises it: a ``DaxServiceError`` (a botocore ``ClientError``) with DynamoDB's error code.
The client's back-off before retrying a throttled request does not sleep in the sandbox.
"""

from __future__ import annotations

import importlib
import random as _random
import types
from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from moto.dax.models import dax_backends
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType

from labkit import facts
from labkit.errors import LabkitError
from labkit.sandbox.accounts import client_in_account
from labkit.services.dax import patch as control
from labkit.services.dax.sim_cache import CacheSettings, DaxCache
from labkit.services.dax.sim_node import DaxNode

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox


class DaxEndpointError(LabkitError):
    """A DAX client pointed at something that is no cluster of the sandbox."""

    code = "DaxEndpointNotInSandbox"


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Serve ``amazondax.AmazonDaxClient`` from the sandbox while it runs."""
    # ``amazondax.AmazonDaxClient`` is the class (the package re-exports it): take the module.
    client_module: Any = importlib.import_module("amazondax.AmazonDaxClient")
    retry_module: Any = importlib.import_module("amazondax.RetryHandler")

    real_cluster = client_module.Cluster
    real_time = retry_module.time

    def cluster_factory(*args: Any, **kwargs: Any) -> SandboxCluster:
        return SandboxCluster(sandbox, *args, **kwargs)

    client_module.Cluster = cluster_factory
    # RetryHandler backs off with time.sleep before retrying a throttled request; nothing
    # sleeps in a lab, so its ``time`` is one whose sleep returns at once.
    retry_module.time = types.SimpleNamespace(sleep=lambda _s: None, time=real_time.time)

    def undo() -> None:
        client_module.Cluster = real_cluster
        retry_module.time = real_time

    stack.callback(undo)


# -- finding the cluster an endpoint names --------------------------------------------------------
def _dax_backends() -> dict[str, dict[str, Any]]:
    backends: dict[str, dict[str, Any]] = dax_backends  # type: ignore[assignment]
    return backends


def _clusters() -> list[tuple[str, str, Any]]:
    """``(account, region, cluster)`` of every DAX cluster in the sandbox."""
    found: list[tuple[str, str, Any]] = []
    backends = _dax_backends()
    for account in list(dict.keys(backends)):
        for region, backend in list(dict.items(dict.__getitem__(backends, account))):
            found.extend((account, region, c) for c in backend.clusters.values())
    return found


def _hosts(cluster: Any) -> set[str]:
    endpoint = cluster.endpoint
    hosts = {f"{endpoint.name}.{endpoint.cluster_hex}.dax-clusters.{endpoint.region}.amazonaws.com"}
    hosts.update(node.node_endpoint["Address"] for node in cluster.nodes)
    return {h.lower() for h in hosts}


def find_cluster(host: str) -> tuple[str, str, Any] | None:
    """The sandbox cluster whose discovery endpoint or node is ``host``."""
    for account, region, cluster in _clusters():
        if host.lower() in _hosts(cluster):
            return account, region, cluster
    return None


def cache_of(sandbox: Sandbox, account: str, region: str, cluster: Any) -> DaxCache:
    """The cluster's caches, kept on moto's cluster object (so ``lab.reset()`` clears them)."""
    cache: DaxCache | None = getattr(cluster, "labkit_cache", None)
    if cache is not None:
        return cache
    backend = dict.__getitem__(dict.__getitem__(_dax_backends(), account), region)

    def settings() -> CacheSettings:
        group = control.group_of(cluster, backend)
        memory = facts.value("dax.node_memory")
        return CacheSettings(
            item_ttl=group.ttl_millis("record-ttl-millis") / 1000,
            query_ttl=group.ttl_millis("query-ttl-millis") / 1000,
            memory_bytes=int(memory.get(cluster.node_type, min(memory.values()))),
        )

    seed = _random.Random(cluster.arn).randrange(2**32)
    cache = DaxCache(settings(), lambda: sandbox.clock.timestamp, seed=seed, settings_of=settings)
    cache.table_item = _table_reader(account, region)
    cluster.labkit_cache = cache
    return cache


def _table(account: str, region: str, name: str) -> Any:
    backends: dict[str, dict[str, Any]] = dynamodb_backends  # type: ignore[assignment]
    return dict.__getitem__(dict.__getitem__(backends, account), region).get_table(name)


def _table_reader(account: str, region: str) -> Callable[[str, dict[str, Any]], Any]:
    """Reads an item as the table holds it now (for views: what is stale), costing nothing."""

    def read(table_name: str, key: dict[str, Any]) -> Any:
        try:
            table = _table(account, region, table_name)
        except Exception:  # the table is gone: every entry of it is stale
            return None
        hash_value = key.get(table.hash_key_attr)
        if hash_value is None:
            return None
        range_value = key.get(table.range_key_attr) if table.range_key_attr else None
        item = table.get_item(
            DynamoType(hash_value), DynamoType(range_value) if range_value else None
        )
        return None if item is None else item.to_json()["Attributes"]

    return read


# -- the cluster the DAX client talks to ----------------------------------------------------------
class SandboxCluster:
    """Stands in for ``amazondax.Cluster.Cluster``: routes every request to the sandbox's node.

    Takes the real ``Cluster``'s arguments; the endpoints are parsed by the real client's own
    parser (so a bad scheme fails as it does on AWS).
    """

    def __init__(
        self,
        sandbox: Sandbox,
        region_name: str | None,
        discovery_endpoints: list[str],
        credentials: Any,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        from amazondax.Cluster import _parse_host_ports
        from amazondax.DaxError import DaxValidationError

        parsed = [_parse_host_ports(e) for e in discovery_endpoints]
        if len({scheme for scheme, _, _ in parsed}) > 1:
            raise DaxValidationError("All endpoints must have the same scheme")
        scheme, host, port = parsed[0]
        found = None
        for _, h, _ in parsed:
            found = find_cluster(h)
            if found:
                host = h
                break
        if found is None:
            known = ", ".join(sorted(c.endpoint.name for _, _, c in _clusters())) or "none"
            raise DaxEndpointError(
                f"No DAX cluster of this sandbox answers at {host!r} (clusters: {known}). Use the "
                "URL in describe_clusters()['Clusters'][0]['ClusterDiscoveryEndpoint']['URL']."
            )
        account, region, cluster = found
        tls = cluster.encryption_type == "TLS"
        if (scheme == "daxs") != tls:
            want = "daxs://" if tls else "dax://"
            raise DaxEndpointError(
                f"Cluster {cluster.name} {'encrypts' if tls else 'does not encrypt'} its endpoint "
                f"(ClusterEndpointEncryptionType {cluster.encryption_type}): connect with {want}, "
                f"not {scheme}://."
            )
        if port != cluster.endpoint.port:
            raise DaxEndpointError(
                f"Cluster {cluster.name} listens on port {cluster.endpoint.port}, not {port}."
            )
        self.cluster_name = cluster.name
        self._cluster = cluster
        self._backend = dict.__getitem__(dict.__getitem__(_dax_backends(), account), region)
        cache = cache_of(sandbox, account, region, cluster)
        # The cluster reads and writes the tables of its own account and Region.
        dynamodb = client_in_account(sandbox, "dynamodb", account, region=region)
        self._node = DaxNode(cache, _caller(dynamodb), _key_names(account, region))

    def start(self, min_healthy: int = 1) -> None:
        """Nothing to start: the sandbox's cluster is there."""

    def close(self) -> None:
        """Nothing to close."""

    def _route(self) -> DaxNode:
        from amazondax.DaxError import DaxClientError, DaxErrorCode

        gone = self._backend.clusters.get(self.cluster_name) is not self._cluster
        if gone or getattr(self._cluster, "_status", "") in ("deleting", "deleted"):
            # The cluster is being deleted, or is gone (a lab reset too): the real client finds
            # no node to route to either.
            raise DaxClientError("No cluster endpoints available", DaxErrorCode.NoRoute)
        return self._node

    def read_client(self, prev_client: Any = None) -> DaxNode:
        """The node that answers reads."""
        return self._route()

    def write_client(self, prev_client: Any = None) -> DaxNode:
        """The node that answers writes (the primary; the sandbox replicates at once)."""
        return self._route()

    def wait_for_routes(self, *args: Any, **kwargs: Any) -> bool:
        """Routes are always there."""
        return True


def _key_names(account: str, region: str) -> Callable[[str], tuple[str, ...]]:
    def names(table_name: str) -> tuple[str, ...]:
        table = _table(account, region, table_name)
        return tuple(n for n in (table.hash_key_attr, table.range_key_attr) if n)

    return names


def _dax_codes() -> dict[str, list[int]]:
    """DynamoDB error code -> the DAX error codes the real client maps back to it."""
    from amazondax.DaxError import ERROR_MAP

    codes: dict[str, list[int]] = {}

    def walk(tree: dict[int, Any], path: list[int]) -> None:
        for number, sub in tree.items():
            if isinstance(sub, dict):
                walk(sub, [*path, number])
            elif isinstance(sub, str):
                codes.setdefault(sub, [4, *path, number])

    walk(ERROR_MAP, [])
    return codes


def _caller(dynamodb: Any) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
    from amazondax.DaxError import DaxServiceError

    dax_codes = _dax_codes()

    def call(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            out: dict[str, Any] = getattr(dynamodb, operation)(**params)
        except ClientError as e:
            error = e.response.get("Error", {})
            code = str(error.get("Code", ""))
            meta = e.response.get("ResponseMetadata", {})
            raise DaxServiceError(
                e.operation_name,
                str(error.get("Message", "")),
                dax_codes.get(code, []),
                meta.get("RequestId"),
                code,
                meta.get("HTTPStatusCode"),
                e.response.get("CancellationReasons"),
            ) from None
        out.pop("ResponseMetadata", None)
        return out

    return call


__all__ = ["DaxEndpointError", "SandboxCluster", "cache_of", "find_cluster", "install"]
