"""MSK's data plane on moto's control plane: a Kafka cluster behind every cluster's brokers.

moto 5.2.5 creates, describes, lists and deletes MSK clusters (``CreateCluster``,
``CreateClusterV2`` provisioned or Serverless) but runs no Kafka, leaves every cluster
``CREATING`` and has no ``GetBootstrapBrokers``. Here:

- creating a cluster starts an embedded Kafka cluster (:mod:`.sim_broker`) with one broker per
  ``NumberOfBrokerNodes`` (three behind an MSK Serverless cluster, which hides its brokers), each
  on its own loopback port; every broker's AWS host name
  (``b-1.<name>.<id>.c2.kafka.<region>.amazonaws.com``) is served through the network guard, so
  the real Kafka client reaches it and nothing else on the network;
- the cluster is ``ACTIVE`` at once (AWS takes minutes; the sandbox has nothing to wait for);
- ``GetBootstrapBrokers`` answers with the strings AWS gives for the cluster's settings
  (https://docs.aws.amazon.com/msk/latest/developerguide/port-info.html):
  ``BootstrapBrokerString`` (port 9092) when ``EncryptionInTransit.ClientBroker`` allows
  plaintext (``PLAINTEXT`` or ``TLS_PLAINTEXT``; AWS's default is ``TLS``),
  ``BootstrapBrokerStringTls`` (9094) when it allows TLS and clients may be unauthenticated or
  use TLS certificates, ``BootstrapBrokerStringSaslScram`` (9096) and
  ``BootstrapBrokerStringSaslIam`` (9098) when those are enabled; an MSK Serverless cluster has
  the IAM string only (it requires IAM access control);
- ``DeleteCluster`` stops the brokers.

Every listener is plaintext: the TLS and SASL strings reach the same brokers without TLS or
authentication (a client configured for ``SSL`` or ``SASL_SSL`` cannot connect).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from moto.kafka import models as kafka_models
from moto.kafka import responses as kafka_responses
from moto.kafka.exceptions import NotFoundException

from labkit import facts
from labkit.sandbox import netguard
from labkit.services.kafka.sim_broker import ClusterSettings, KafkaCluster
from labkit.services.kafka.state import RUNTIME

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

#: The attribute that holds the cluster's bootstrap host for MSK Serverless.
BOOTSTRAP = "_labkit_bootstrap"
SERVERLESS_BROKERS = 3


def runtime_of(cluster: Any) -> KafkaCluster | None:
    """The running Kafka cluster behind a moto MSK cluster."""
    runtime: KafkaCluster | None = getattr(cluster, RUNTIME, None)
    return runtime


def _all_backends() -> Iterator[Any]:
    for account in list(kafka_models.kafka_backends.values()):
        yield from list(account.values())


def find_cluster(arn_or_name: str) -> Any:
    """The moto MSK cluster with this ARN or name in the current world, else ``None``."""
    for backend in _all_backends():
        if arn_or_name in backend.clusters:
            return backend.clusters[arn_or_name]
        for cluster in backend.clusters.values():
            if cluster.cluster_name == arn_or_name:
                return cluster
    return None


class _Route:
    """The network guard's route for one broker name: the cluster in the current world."""

    def __init__(self, arn: str, host: str, ports: tuple[int, ...]) -> None:
        self._arn, self._host, self._ports = arn, host, ports

    def target(self, port: int) -> tuple[str, int]:
        cluster = find_cluster(self._arn)
        runtime = runtime_of(cluster)
        if runtime is None:
            raise ConnectionRefusedError(f"no MSK cluster serves {self._host} in the sandbox")
        if port not in self._ports:
            raise ConnectionRefusedError(
                f"{self._host} listens on port {', '.join(map(str, self._ports))}, not {port}"
            )
        host = (
            runtime.nodes[0].host if self._host == getattr(cluster, BOOTSTRAP, "") else self._host
        )
        return runtime.target(host)


def _ports(cluster: Any) -> dict[str, int]:
    """The bootstrap strings' keys and ports AWS gives this cluster."""
    if cluster.cluster_type == "SERVERLESS":
        return {"bootstrapBrokerStringSaslIam": int(facts.value("msk.port_iam"))}
    transit = ((cluster.encryption_info or {}).get("encryptionInTransit") or {}).get(
        "clientBroker", "TLS"
    )
    auth = cluster.client_authentication or {}
    sasl = auth.get("sasl") or {}
    iam = bool((sasl.get("iam") or {}).get("enabled"))
    scram = bool((sasl.get("scram") or {}).get("enabled"))
    tls_auth = bool((auth.get("tls") or {}).get("certificateAuthorityArnList")) or bool(
        (auth.get("tls") or {}).get("enabled")
    )
    unauthenticated = (auth.get("unauthenticated") or {}).get(
        "enabled", not (iam or scram or tls_auth)
    )
    out: dict[str, int] = {}
    if transit in ("PLAINTEXT", "TLS_PLAINTEXT") and unauthenticated:
        out["bootstrapBrokerString"] = int(facts.value("msk.port_plaintext"))
    if transit in ("TLS", "TLS_PLAINTEXT") and (unauthenticated or tls_auth):
        out["bootstrapBrokerStringTls"] = int(facts.value("msk.port_tls"))
    if scram:
        out["bootstrapBrokerStringSaslScram"] = int(facts.value("msk.port_sasl_scram"))
    if iam:
        out["bootstrapBrokerStringSaslIam"] = int(facts.value("msk.port_iam"))
    return out


def _label(name: str) -> str:
    clean = "".join(c if c.isalnum() or c == "-" else "-" for c in name.lower()).strip("-")
    return clean[:40] or "cluster"


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Put Kafka brokers behind MSK clusters while ``sandbox`` runs."""
    stack.enter_context(_patched(sandbox))


@contextlib.contextmanager
def _patched(sandbox: Sandbox) -> Iterator[None]:
    backend_cls = kafka_models.KafkaBackend
    response_cls = kafka_responses.KafkaResponse
    originals: dict[str, Any] = {
        "create_cluster": backend_cls.create_cluster,
        "create_cluster_v2": backend_cls.create_cluster_v2,
        "delete_cluster": backend_cls.delete_cluster,
    }
    had_bootstrap = hasattr(response_cls, "get_bootstrap_brokers")
    runtimes: list[KafkaCluster] = []
    withdrawals: list[Any] = []

    def start(backend: Any, arn: str) -> None:
        cluster = backend.clusters[arn]
        cluster.state = "ACTIVE"
        suffix = cluster.cluster_id.replace("-", "")[:6]
        region = backend.region_name
        ports = _ports(cluster)
        if cluster.cluster_type == "SERVERLESS":
            bootstrap = f"boot-{suffix}.c1.kafka-serverless.{region}.amazonaws.com"
            setattr(cluster, BOOTSTRAP, bootstrap)
            hosts = [
                f"b-{i}.{_label(cluster.cluster_name)}.{suffix}.c1.kafka-serverless."
                f"{region}.amazonaws.com"
                for i in range(1, SERVERLESS_BROKERS + 1)
            ]
            names = [bootstrap, *hosts]
        else:
            count = int(cluster.number_of_broker_nodes or 1)
            hosts = [
                f"b-{i}.{_label(cluster.cluster_name)}.{suffix}.c2.kafka.{region}.amazonaws.com"
                for i in range(1, count + 1)
            ]
            names = hosts
        brokers = len(hosts)
        settings = ClusterSettings(
            default_replication=min(
                int(facts.value("msk.default_replication_factor_3az")), brokers
            ),
            retention_ms=int(facts.value("msk.kafka_log_retention_hours")) * 3600 * 1000,
        )
        advertised = min(ports.values()) if ports else int(facts.value("msk.port_tls"))
        runtime = KafkaCluster(
            cluster.cluster_name, hosts, advertised, lambda: sandbox.clock.timestamp, settings
        )
        runtimes.append(runtime)
        setattr(cluster, RUNTIME, runtime)
        open_ports = tuple(sorted(set(ports.values()) | {advertised}))
        for name in names:
            withdrawals.append(netguard.serve_endpoint(name, _Route(arn, name, open_ports)))

    def create_cluster(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = originals["create_cluster"](self, *args, **kwargs)
        start(self, result[0])
        return result[0], result[1], "ACTIVE"

    def create_cluster_v2(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = originals["create_cluster_v2"](self, *args, **kwargs)
        start(self, result[0])
        return result[0], result[1], "ACTIVE", result[3]

    def delete_cluster(self: Any, cluster_arn: str, *args: Any, **kwargs: Any) -> Any:
        if cluster_arn not in self.clusters:
            raise NotFoundException(f"Cluster {cluster_arn} does not exist.")
        runtime = runtime_of(self.clusters[cluster_arn])
        result = originals["delete_cluster"](self, cluster_arn, *args, **kwargs)
        if runtime is not None:
            runtime.stop()
        return result[0], "DELETING"

    def get_bootstrap_brokers(self: Any) -> str:
        path = self.parsed_url.path
        arn = unquote(path.split("/clusters/")[-1].removesuffix("/bootstrap-brokers"))
        cluster = self.kafka_backend.clusters.get(arn)
        if cluster is None:
            raise NotFoundException(f"Cluster {arn} does not exist.")
        runtime = runtime_of(cluster)
        answer: dict[str, str] = {}
        for key, port in _ports(cluster).items():
            if cluster.cluster_type == "SERVERLESS":
                answer[key] = f"{getattr(cluster, BOOTSTRAP)}:{port}"
            elif runtime is not None:
                answer[key] = ",".join(f"{node.host}:{port}" for node in runtime.nodes)
        return json.dumps(answer)

    def after_reset() -> None:
        # lab.reset() deleted the clusters: stop their brokers (their names already refuse).
        for runtime in list(runtimes):
            if not any(
                runtime_of(c) is runtime for b in _all_backends() for c in b.clusters.values()
            ):
                runtime.stop()
                runtimes.remove(runtime)

    sandbox.on_reset(after_reset)
    backend_cls.create_cluster = create_cluster  # type: ignore[method-assign]
    backend_cls.create_cluster_v2 = create_cluster_v2  # type: ignore[method-assign]
    backend_cls.delete_cluster = delete_cluster  # type: ignore[method-assign]
    response_cls.get_bootstrap_brokers = get_bootstrap_brokers  # type: ignore[attr-defined]
    try:
        yield
    finally:
        backend_cls.create_cluster = originals["create_cluster"]  # type: ignore[method-assign]
        backend_cls.create_cluster_v2 = originals["create_cluster_v2"]  # type: ignore[method-assign]
        backend_cls.delete_cluster = originals["delete_cluster"]  # type: ignore[method-assign]
        if not had_bootstrap:
            del response_cls.get_bootstrap_brokers  # type: ignore[attr-defined]
        for withdraw in withdrawals:
            withdraw()
        for runtime in runtimes:
            runtime.stop()
