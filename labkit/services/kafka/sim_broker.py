"""An embedded Kafka cluster on loopback that speaks Kafka's wire protocol to real clients.

Plain Python (no moto): the MSK patch (:mod:`.patch`) starts one per cluster. Each broker of the
cluster listens on its own loopback port; the broker's AWS host name (``b-1.<cluster>...``) is
served through labkit's network guard, so the bootstrap string ``GetBootstrapBrokers`` returns
reaches it, and Metadata advertises every broker by its name, so a client connects to each
partition's leader as on MSK.

**Codec.** Requests are decoded and responses encoded with kafka-python's own protocol classes
(``kafka.protocol``, generated from Apache Kafka's JSON message schemas), so the bytes are the
ones kafka-python itself reads and writes; the broker decides only what the answers say.
Records are stored as the producer's record batches (:mod:`.sim_log`).

**API versions.** ApiVersions advertises the Kafka 2.8 broker's versions (MSK's provisioned
clusters run 2.8.1 and 3.x) for the requests below, so kafka-python 3 infers broker 2.8 and
uses: Produce v9, Fetch v12 (sessionless: every answer has session id 0, so the client sends
full fetch requests), ListOffsets v6, Metadata v11, OffsetCommit v8, OffsetFetch v7,
FindCoordinator v3, JoinGroup v7, Heartbeat v4, LeaveGroup v4, SyncGroup v5, DescribeGroups v5,
ListGroups v4, ApiVersions v3, CreateTopics v7, DeleteTopics v6, InitProducerId v4. A request
for another API closes the connection, as a broker does.

**One request at a time per connection**, in order, as a Kafka broker processes them: a
JoinGroup or SyncGroup that waits for the group, or a Fetch that waits up to ``fetch.max.wait.ms``
(real time) for records, holds the connection's later requests until it is answered.

Not simulated: TLS and SASL (IAM) listeners (every listener is plaintext, the IAM and TLS
bootstrap strings included), transactions, replica failure (every replica is in sync).
"""

from __future__ import annotations

import contextlib
import itertools
import re
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kafka.protocol import admin as admin_api  # type: ignore[import-untyped]
from kafka.protocol import consumer as consumer_api
from kafka.protocol import metadata as metadata_api
from kafka.protocol import producer as producer_api

from labkit.services.kafka.sim_broker_groups import UNKNOWN_TOPIC_OR_PARTITION, GroupApis
from labkit.services.kafka.sim_group import Coordinator
from labkit.services.kafka.sim_log import LogError, PartitionLog, Topic, split_batches

# api key -> (min, max) version this broker answers: Kafka 2.8's.
SUPPORTED: dict[int, tuple[int, int]] = {
    0: (0, 9),
    1: (0, 12),
    2: (0, 6),
    3: (0, 11),
    8: (0, 8),
    9: (0, 7),
    10: (0, 3),
    11: (0, 7),
    12: (0, 4),
    13: (0, 4),
    14: (0, 5),
    15: (0, 5),
    16: (0, 4),
    18: (0, 3),
    19: (0, 7),
    20: (0, 6),
    22: (0, 4),
}

_PAIRS: dict[int, tuple[Any, Any]] = {
    0: (producer_api.ProduceRequest, producer_api.ProduceResponse),
    1: (consumer_api.FetchRequest, consumer_api.FetchResponse),
    2: (consumer_api.ListOffsetsRequest, consumer_api.ListOffsetsResponse),
    3: (metadata_api.MetadataRequest, metadata_api.MetadataResponse),
    8: (consumer_api.OffsetCommitRequest, consumer_api.OffsetCommitResponse),
    9: (consumer_api.OffsetFetchRequest, consumer_api.OffsetFetchResponse),
    10: (metadata_api.FindCoordinatorRequest, metadata_api.FindCoordinatorResponse),
    11: (consumer_api.JoinGroupRequest, consumer_api.JoinGroupResponse),
    12: (consumer_api.HeartbeatRequest, consumer_api.HeartbeatResponse),
    13: (consumer_api.LeaveGroupRequest, consumer_api.LeaveGroupResponse),
    14: (consumer_api.SyncGroupRequest, consumer_api.SyncGroupResponse),
    15: (admin_api.DescribeGroupsRequest, admin_api.DescribeGroupsResponse),
    16: (admin_api.ListGroupsRequest, admin_api.ListGroupsResponse),
    18: (metadata_api.ApiVersionsRequest, metadata_api.ApiVersionsResponse),
    19: (admin_api.CreateTopicsRequest, admin_api.CreateTopicsResponse),
    20: (admin_api.DeleteTopicsRequest, admin_api.DeleteTopicsResponse),
    22: (producer_api.InitProducerIdRequest, producer_api.InitProducerIdResponse),
}

# Kafka's error codes by name (https://kafka.apache.org/protocol#protocol_error_codes).
ERRORS: dict[str, int] = {
    "NONE": 0,
    "OFFSET_OUT_OF_RANGE": 1,
    "UNKNOWN_TOPIC_OR_PARTITION": UNKNOWN_TOPIC_OR_PARTITION,
    "NOT_LEADER_OR_FOLLOWER": 6,
    "MESSAGE_TOO_LARGE": 10,
    "INVALID_TOPIC_EXCEPTION": 17,
    "NOT_ENOUGH_REPLICAS": 19,
    "INVALID_REQUIRED_ACKS": 21,
    "UNSUPPORTED_VERSION": 35,
    "TOPIC_ALREADY_EXISTS": 36,
    "INVALID_PARTITIONS": 37,
    "INVALID_REPLICATION_FACTOR": 38,
    "INVALID_CONFIG": 40,
    "INVALID_REQUEST": 42,
    "POLICY_VIOLATION": 44,
}

#: Topic configs the sandbox knows (anything else is ``INVALID_CONFIG``, as a broker says).
TOPIC_CONFIGS = frozenset(
    {
        "retention.ms",
        "retention.bytes",
        "min.insync.replicas",
        "max.message.bytes",
        "cleanup.policy",
        "segment.bytes",
        "segment.ms",
        "message.timestamp.type",
        "compression.type",
    }
)
_TOPIC_NAME = re.compile(r"^[a-zA-Z0-9._-]{1,249}$")


class TopicError(Exception):
    """A topic the cluster refuses, with Kafka's error name, code and message."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.error_code = ERRORS[name]
        self.message = message


@dataclass(frozen=True)
class ClusterSettings:
    """What a cluster's brokers are configured with (Kafka's broker config names)."""

    default_partitions: int = 1  # num.partitions
    default_replication: int = 3  # default.replication.factor (capped at the broker count)
    retention_ms: int = 7 * 24 * 3600 * 1000  # log.retention.hours=168
    retention_bytes: int = -1
    min_insync_replicas: int = 1
    max_message_bytes: int = 1048588  # message.max.bytes
    max_partitions: int | None = None  # a cluster-wide partition quota (MSK Serverless)
    max_retention_ms: int | None = None  # a cap on retention.ms (MSK Serverless)


@dataclass
class BrokerNode:
    """One broker: its id, the name and port it advertises, and its loopback listener."""

    node_id: int
    host: str
    port: int
    listener: socket.socket
    real_port: int


@dataclass
class _Conn:
    node: BrokerNode
    sock: socket.socket
    inbuf: bytearray = field(default_factory=bytearray)
    outbuf: bytearray = field(default_factory=bytearray)
    waiting: bool = False
    closed: bool = False


@dataclass
class _Parked:
    conn: _Conn
    request: Any
    version: int
    correlation_id: int
    deadline: float


class KafkaCluster(GroupApis):
    """A running cluster: brokers on loopback, topics, groups.

    Args:
        name: The cluster's name (for views).
        hosts: Each broker's advertised host name, broker ids 1, 2, ...
        port: The port the names are advertised with (9092, plaintext on MSK).
        lab_now: The lab clock's time (epoch seconds): retention and group sessions use it.
        settings: Broker configuration.
    """

    def __init__(
        self,
        name: str,
        hosts: list[str],
        port: int,
        lab_now: Callable[[], float],
        settings: ClusterSettings | None = None,
    ) -> None:
        self.name = name
        self.settings = settings or ClusterSettings()
        self.lab_now = lab_now
        self.lock = threading.RLock()
        self.topics: dict[str, Topic] = {}
        self.coordinator = Coordinator(lab_now)
        self.cluster_id = f"labkit-{name}"[:22]
        self.nodes: list[BrokerNode] = []
        #: Requests answered, by API name, and the broker's own seconds spent answering them.
        self.requests: dict[str, int] = {}
        self.busy_seconds = 0.0
        #: Requests that failed to decode or to be answered (their connection was closed).
        self.errors: list[str] = []
        self._producer_ids = itertools.count(1000)
        self._parked: list[_Parked] = []
        self._selector = selectors.DefaultSelector()
        for node_id, host in enumerate(hosts, start=1):
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", 0))
            listener.listen(64)
            listener.setblocking(False)
            node = BrokerNode(node_id, host, port, listener, listener.getsockname()[1])
            self.nodes.append(node)
            self._selector.register(listener, selectors.EVENT_READ, node)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=f"kafka-{name}", daemon=True)
        self._thread.start()

    # -- the cluster as Python sees it --------------------------------------------------------
    def target(self, host: str) -> tuple[str, int]:
        """The loopback address of the broker advertised as ``host``."""
        for node in self.nodes:
            if node.host == host.lower().rstrip("."):
                return ("127.0.0.1", node.real_port)
        raise ConnectionRefusedError(f"no broker {host} in cluster {self.name}")

    def create_topic(
        self,
        name: str,
        partitions: int = -1,
        replication_factor: int = -1,
        configs: dict[str, str | None] | None = None,
        validate_only: bool = False,
    ) -> Topic:
        """Create a topic as CreateTopics does; raises :class:`TopicError` with Kafka's error."""
        with self.lock:
            brokers = len(self.nodes)
            if not _TOPIC_NAME.match(name) or name in (".", ".."):
                raise TopicError(
                    "INVALID_TOPIC_EXCEPTION",
                    f"Topic name {name!r} is illegal: it may use only ASCII letters, digits, "
                    "'.', '_' and '-', up to 249 characters.",
                )
            if name in self.topics:
                raise TopicError("TOPIC_ALREADY_EXISTS", f"Topic '{name}' already exists.")
            if partitions == -1:
                partitions = self.settings.default_partitions
            if replication_factor == -1:
                replication_factor = min(self.settings.default_replication, brokers)
            if partitions <= 0:
                raise TopicError(
                    "INVALID_PARTITIONS", "Number of partitions must be larger than 0."
                )
            if replication_factor <= 0:
                raise TopicError(
                    "INVALID_REPLICATION_FACTOR", "Replication factor must be larger than 0."
                )
            if replication_factor > brokers:
                raise TopicError(
                    "INVALID_REPLICATION_FACTOR",
                    f"Replication factor: {replication_factor} larger than available brokers: "
                    f"{brokers}.",
                )
            quota = self.settings.max_partitions
            used = sum(len(t.partitions) for t in self.topics.values())
            if quota is not None and used + partitions > quota:
                raise TopicError(
                    "POLICY_VIOLATION",
                    f"The cluster's partition quota is {quota}: {used} are in use, {partitions} "
                    "more would exceed it.",
                )
            clean: dict[str, str] = {}
            for key, value in (configs or {}).items():
                if key not in TOPIC_CONFIGS:
                    raise TopicError("INVALID_CONFIG", f"Unknown topic config name: {key}")
                if value is not None:
                    clean[key] = value
            cap = self.settings.max_retention_ms
            retention = clean.get("retention.ms")
            if (
                cap is not None
                and retention is not None
                and (not retention.lstrip("-").isdigit() or not 0 < int(retention) <= cap)
            ):
                raise TopicError(
                    "POLICY_VIOLATION",
                    f"retention.ms must be between 1 and {cap} on this cluster.",
                )
            topic = Topic(
                name,
                [
                    PartitionLog(
                        name,
                        p,
                        [self.nodes[(p + r) % brokers].node_id for r in range(replication_factor)],
                    )
                    for p in range(partitions)
                ],
                replication_factor,
                clean,
            )
            if not validate_only:
                self.topics[name] = topic
            return topic

    def expire(self) -> None:
        """Apply retention on the lab clock to every partition."""
        with self.lock:
            now = self.lab_now()
            for topic in self.topics.values():
                ms = topic.config_int("retention.ms", self.settings.retention_ms)
                size = topic.config_int("retention.bytes", self.settings.retention_bytes)
                for log in topic.partitions:
                    log.enforce_retention(now, ms, size)

    def stop(self) -> None:
        """Stop serving: close every socket."""
        self._stopping = True
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        self._thread.join(timeout=5)

    # -- the network loop ---------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stopping:
                timeout = 0.05
                if self._parked:
                    soonest = min(p.deadline for p in self._parked) - time.monotonic()
                    timeout = max(0.0, min(timeout, soonest))
                for key, events in self._selector.select(timeout):
                    data = key.data
                    if data == "wake":
                        with contextlib.suppress(OSError):
                            self._wake_r.recv(4096)
                    elif isinstance(data, BrokerNode):
                        self._accept(data)
                    else:
                        self._serve(data, events)
                try:
                    with self.lock:
                        self.coordinator.tick()
                        self.expire()
                        self._retry_parked(force_expired=True)
                except Exception as error:  # a bug in one answer must not stop the broker
                    self.errors.append(f"{type(error).__name__}: {error}")
        finally:
            for key in list(self._selector.get_map().values()):
                with contextlib.suppress(OSError):
                    key.fileobj.close()  # type: ignore[union-attr]
            self._selector.close()
            self._wake_w.close()

    def _accept(self, node: BrokerNode) -> None:
        try:
            sock, _ = node.listener.accept()
        except OSError:
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = _Conn(node, sock)
        self._selector.register(sock, selectors.EVENT_READ, conn)

    def _serve(self, conn: _Conn, events: int) -> None:
        if events & selectors.EVENT_READ:
            try:
                chunk = conn.sock.recv(1 << 20)
            except (BlockingIOError, InterruptedError):
                chunk = None
            except OSError:
                chunk = b""
            if chunk == b"":
                self._close(conn)
                return
            if chunk:
                conn.inbuf += chunk
                self._process(conn)
        if events & selectors.EVENT_WRITE:
            self._flush(conn)

    def _process(self, conn: _Conn) -> None:
        while not conn.waiting and not conn.closed and len(conn.inbuf) >= 4:
            (size,) = struct.unpack_from(">i", conn.inbuf, 0)
            if len(conn.inbuf) < 4 + size:
                return
            frame = bytes(conn.inbuf[4 : 4 + size])
            del conn.inbuf[: 4 + size]
            started = time.perf_counter()
            try:
                with self.lock:
                    self._handle(conn, frame)
            except Exception as error:  # one bad request must not stop the broker
                # A request the codec cannot read (or a handler's bug): Kafka closes the
                # connection; the broker goes on serving the others.
                self.errors.append(f"{type(error).__name__}: {error}")
                self._close(conn)
            self.busy_seconds += time.perf_counter() - started

    def _send(self, conn: _Conn, response: Any, version: int, correlation_id: int) -> None:
        if conn.closed:
            return
        response.API_VERSION = version  # before the header: setting it later writes the header
        response.with_header(correlation_id=correlation_id)
        conn.outbuf += response.encode(header=True, framed=True)
        self._flush(conn)

    def _flush(self, conn: _Conn) -> None:
        if conn.closed:
            return
        try:
            while conn.outbuf:
                sent = conn.sock.send(conn.outbuf)
                del conn.outbuf[:sent]
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._close(conn)
            return
        mask = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.outbuf else 0)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.modify(conn.sock, mask, conn)

    def _close(self, conn: _Conn) -> None:
        if conn.closed:
            return
        conn.closed = True
        self._parked = [p for p in self._parked if p.conn is not conn]
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(conn.sock)
        with contextlib.suppress(OSError):
            conn.sock.close()

    # -- requests -----------------------------------------------------------------------------
    def _handle(self, conn: _Conn, frame: bytes) -> None:
        api_key, version, correlation_id = struct.unpack_from(">hhi", frame, 0)
        pair = _PAIRS.get(api_key)
        if pair is None:
            self._close(conn)
            return
        request_cls, response_cls = pair
        low, high = SUPPORTED[api_key]
        if api_key == 18 and version > high:
            # Kafka answers a too-new ApiVersions in v0 with UNSUPPORTED_VERSION and its list,
            # so the client can retry with a version both know.
            self._send(
                conn, self._api_versions(0, ERRORS["UNSUPPORTED_VERSION"]), 0, correlation_id
            )
            return
        if not low <= version <= high:
            self._close(conn)
            return
        request = request_cls.decode(frame, version=version, header=True)
        # The lab clock may have jumped since the last request: retention first, then answer.
        self.expire()
        name = request_cls.__name__.removesuffix("Request")
        self.requests[name] = self.requests.get(name, 0) + 1
        handler = getattr(self, f"_on_{name.lower()}")
        handler(conn, request, version, correlation_id, response_cls)

    def _api_versions(self, version: int, error: int = 0) -> Any:
        cls = metadata_api.ApiVersionsResponse
        return cls(
            version=version,
            error_code=error,
            api_keys=[
                cls.ApiVersion(api_key=k, min_version=lo, max_version=hi)
                for k, (lo, hi) in sorted(SUPPORTED.items())
            ],
            throttle_time_ms=0,
        )

    def _on_apiversions(self, conn: _Conn, req: Any, v: int, cid: int, cls: Any) -> None:
        self._send(conn, self._api_versions(v), v, cid)

    def _on_metadata(self, conn: _Conn, req: Any, v: int, cid: int, cls: Any) -> None:
        names = (
            list(self.topics)
            if req.topics is None or (v == 0 and not req.topics)
            else [t.name for t in req.topics]
        )
        Topic_ = cls.MetadataResponseTopic
        Part = Topic_.MetadataResponsePartition
        topics = []
        for name in names:
            topic = self.topics.get(name)
            if topic is None:
                topics.append(
                    Topic_(
                        error_code=ERRORS["UNKNOWN_TOPIC_OR_PARTITION"], name=name, partitions=[]
                    )
                )
                continue
            topics.append(
                Topic_(
                    error_code=0,
                    name=name,
                    topic_id=topic.topic_id,
                    is_internal=False,
                    partitions=[
                        Part(
                            error_code=0,
                            partition_index=log.index,
                            leader_id=log.leader,
                            leader_epoch=0,
                            replica_nodes=list(log.replicas),
                            isr_nodes=list(log.replicas),
                            offline_replicas=[],
                        )
                        for log in topic.partitions
                    ],
                )
            )
        response = cls(
            version=v,
            throttle_time_ms=0,
            brokers=[
                cls.MetadataResponseBroker(node_id=n.node_id, host=n.host, port=n.port, rack=None)
                for n in self.nodes
            ],
            cluster_id=self.cluster_id,
            controller_id=self.nodes[0].node_id,
            topics=topics,
        )
        self._send(conn, response, v, cid)

    def _on_findcoordinator(self, conn: _Conn, req: Any, v: int, cid: int, cls: Any) -> None:
        # The coordinator of a group is the broker its __consumer_offsets partition lives on.
        node = self._coordinator_node(req.key if v < 4 else (req.coordinator_keys or [""])[0])
        response = cls(
            version=v,
            throttle_time_ms=0,
            error_code=0,
            error_message=None,
            node_id=node.node_id,
            host=node.host,
            port=node.port,
        )
        self._send(conn, response, v, cid)

    def _coordinator_node(self, key: str) -> BrokerNode:
        # Kafka hashes the group id onto the 50 partitions of __consumer_offsets.
        h = 0
        for ch in key.encode():
            h = (31 * h + ch) & 0xFFFFFFFF
        return self.nodes[(h % 50) % len(self.nodes)]

    def _on_initproducerid(self, conn: _Conn, req: Any, v: int, cid: int, cls: Any) -> None:
        response = cls(
            version=v,
            throttle_time_ms=0,
            error_code=0,
            producer_id=next(self._producer_ids),
            producer_epoch=0,
        )
        self._send(conn, response, v, cid)

    def _on_produce(self, conn: _Conn, req: Any, v: int, cid: int, cls: Any) -> None:
        Topic_ = cls.TopicProduceResponse
        Part = Topic_.PartitionProduceResponse
        now = self.lab_now()
        results = []
        for data in req.topic_data:
            topic = self.topics.get(data.name)
            parts = []
            for pdata in data.partition_data:
                code, base, message = self._append(
                    conn, topic, pdata.index, pdata.records, req.acks, now
                )
                parts.append(
                    Part(
                        index=pdata.index,
                        error_code=code,
                        base_offset=base,
                        log_append_time_ms=-1,
                        log_start_offset=(
                            topic.partitions[pdata.index].log_start_offset
                            if code == 0 and topic is not None
                            else -1
                        ),
                        record_errors=[],
                        error_message=message,
                    )
                )
            results.append(Topic_(name=data.name, partition_responses=parts))
        if req.acks != 0:  # acks=0: the producer expects no answer at all
            self._send(conn, cls(version=v, responses=results, throttle_time_ms=0), v, cid)
        self._retry_parked(force_expired=False)

    def _append(
        self, conn: _Conn, topic: Topic | None, index: int, records: Any, acks: int, now: float
    ) -> tuple[int, int, str | None]:
        if acks not in (0, 1, -1):
            return ERRORS["INVALID_REQUIRED_ACKS"], -1, f"acks must be 0, 1 or -1 (all), not {acks}"
        if topic is None or not 0 <= index < len(topic.partitions):
            return ERRORS["UNKNOWN_TOPIC_OR_PARTITION"], -1, None
        log = topic.partitions[index]
        if log.leader != conn.node.node_id:
            return ERRORS["NOT_LEADER_OR_FOLLOWER"], -1, None
        if acks == -1:
            needed = topic.config_int("min.insync.replicas", self.settings.min_insync_replicas)
            if len(log.replicas) < needed:
                return (
                    ERRORS["NOT_ENOUGH_REPLICAS"],
                    -1,
                    f"{len(log.replicas)} in-sync replicas, min.insync.replicas is {needed}",
                )
        limit = topic.config_int("max.message.bytes", self.settings.max_message_bytes)
        try:
            batches = split_batches(records or b"")
            for batch in batches:
                if len(batch) > limit:
                    return (
                        ERRORS["MESSAGE_TOO_LARGE"],
                        -1,
                        f"a record batch of {len(batch)} bytes is larger than "
                        f"max.message.bytes ({limit})",
                    )
            base = -1
            for batch in batches:
                offset = log.append(batch, now)
                base = offset if base < 0 else base
        except LogError as error:
            return error.error_code, -1, error.message
        return 0, base, None

    def _on_fetch(self, conn: _Conn, req: Any, v: int, cid: int, cls: Any) -> None:
        parked = _Parked(conn, req, v, cid, time.monotonic() + max(0, req.max_wait_ms) / 1000)
        if not self._answer_fetch(parked, force=req.max_wait_ms <= 0):
            conn.waiting = True
            self._parked.append(parked)

    def _answer_fetch(self, parked: _Parked, force: bool) -> bool:
        req, v, node = parked.request, parked.version, parked.conn.node
        cls = _PAIRS[1][1]
        Topic_ = cls.FetchableTopicResponse
        Part = Topic_.PartitionData
        total = 0
        budget = req.max_bytes if v >= 3 else 0x7FFFFFFF
        out = []
        for fetch in req.topics:
            topic = self.topics.get(fetch.topic)
            parts = []
            for p in fetch.partitions:
                code, records, log = 0, b"", None
                if topic is None or not 0 <= p.partition < len(topic.partitions):
                    code = ERRORS["UNKNOWN_TOPIC_OR_PARTITION"]
                else:
                    log = topic.partitions[p.partition]
                    if log.leader != node.node_id:
                        code = ERRORS["NOT_LEADER_OR_FOLLOWER"]
                    elif not log.log_start_offset <= p.fetch_offset <= log.next_offset:
                        code = ERRORS["OFFSET_OUT_OF_RANGE"]
                    elif total < budget:
                        records = log.read(
                            p.fetch_offset, min(p.partition_max_bytes, budget - total)
                        )
                        total += len(records)
                parts.append(
                    Part(
                        partition_index=p.partition,
                        error_code=code,
                        high_watermark=log.next_offset if log else -1,
                        last_stable_offset=log.next_offset if log else -1,
                        log_start_offset=log.log_start_offset if log else -1,
                        aborted_transactions=None,
                        preferred_read_replica=-1,
                        records=records,
                    )
                )
                if code:
                    force = True
            out.append(Topic_(topic=fetch.topic, partitions=parts))
        if not force and total < max(1, req.min_bytes):
            return False
        response = cls(version=v, throttle_time_ms=0, error_code=0, session_id=0, responses=out)
        self._send(parked.conn, response, v, parked.correlation_id)
        return True

    def _retry_parked(self, force_expired: bool) -> None:
        if not self._parked:
            return
        now = time.monotonic()
        still = []
        for parked in self._parked:
            force = force_expired and now >= parked.deadline
            if self._answer_fetch(parked, force):
                parked.conn.waiting = False
            else:
                still.append(parked)
        done = [p.conn for p in self._parked if p not in still]
        self._parked = still
        for conn in done:
            self._process(conn)

    def _on_listoffsets(self, conn: _Conn, req: Any, v: int, cid: int, cls: Any) -> None:
        Topic_ = cls.ListOffsetsTopicResponse
        Part = Topic_.ListOffsetsPartitionResponse
        out = []
        for t in req.topics:
            topic = self.topics.get(t.name)
            parts = []
            for p in t.partitions:
                if topic is None or not 0 <= p.partition_index < len(topic.partitions):
                    parts.append(
                        Part(
                            partition_index=p.partition_index,
                            error_code=ERRORS["UNKNOWN_TOPIC_OR_PARTITION"],
                        )
                    )
                    continue
                log = topic.partitions[p.partition_index]
                if log.leader != conn.node.node_id:
                    parts.append(
                        Part(
                            partition_index=p.partition_index,
                            error_code=ERRORS["NOT_LEADER_OR_FOLLOWER"],
                        )
                    )
                    continue
                offset, stamp = log.offset_for_time(p.timestamp)
                parts.append(
                    Part(
                        partition_index=p.partition_index,
                        error_code=0,
                        old_style_offsets=[offset],
                        timestamp=stamp,
                        offset=offset,
                        leader_epoch=0,
                    )
                )
            out.append(Topic_(name=t.name, partitions=parts))
        self._send(conn, cls(version=v, throttle_time_ms=0, topics=out), v, cid)

    def _on_createtopics(self, conn: _Conn, req: Any, v: int, cid: int, cls: Any) -> None:
        Result = cls.CreatableTopicResult
        out = []
        for t in req.topics:
            try:
                if t.assignments:
                    raise TopicError(
                        "INVALID_REQUEST",
                        "manual replica assignments are not simulated: give partitions and "
                        "a replication factor",
                    )
                topic = self.create_topic(
                    t.name,
                    t.num_partitions,
                    t.replication_factor,
                    {c.name: c.value for c in t.configs},
                    validate_only=bool(req.validate_only),
                )
                out.append(
                    Result(
                        name=t.name,
                        topic_id=topic.topic_id,
                        error_code=0,
                        error_message=None,
                        topic_config_error_code=0,
                        num_partitions=len(topic.partitions),
                        replication_factor=topic.replication_factor,
                        configs=[],
                    )
                )
            except TopicError as error:
                out.append(
                    Result(
                        name=t.name,
                        error_code=error.error_code,
                        error_message=error.message,
                        num_partitions=-1,
                        replication_factor=-1,
                        configs=None,
                    )
                )
        self._send(conn, cls(version=v, throttle_time_ms=0, topics=out), v, cid)

    def _on_deletetopics(self, conn: _Conn, req: Any, v: int, cid: int, cls: Any) -> None:
        names = [t.name for t in req.topics] if v >= 6 else list(req.topic_names)
        Result = cls.DeletableTopicResult
        out = []
        for name in names:
            code = 0 if self.topics.pop(name, None) is not None else 3
            out.append(Result(name=name, error_code=code, error_message=None))
        self._send(conn, cls(version=v, throttle_time_ms=0, responses=out), v, cid)
