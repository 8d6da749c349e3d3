"""Kafka connectors for a Flink job: read and write the topics of the sandbox's MSK clusters.

Names and shapes are PyFlink's (``pyflink.datastream.connectors.kafka``: ``KafkaSource``,
``KafkaOffsetsInitializer``, ``KafkaOffsetResetStrategy``, ``KafkaTopicPartition``, ``KafkaSink``,
``KafkaRecordSerializationSchema``; ``DeliveryGuarantee`` from
``pyflink.datastream.connectors.base``), and the behaviour is the one Flink's Kafka connector page
describes (https://nightlies.apache.org/flink/flink-docs-stable/docs/connectors/datastream/kafka/):

- ``KafkaSource`` is used with ``env.from_source(source, watermark_strategy, name)``. Each
  partition is a split (``topic-partition``) with its own watermark and the source's is the
  lowest, so a partition with no records holds the windows back unless ``with_idleness`` is set
  ("Idleness" on that page). Each record's Kafka timestamp is its record timestamp, so
  ``WatermarkStrategy.for_bounded_out_of_orderness(...)`` without an assigner runs on the records'
  ``CreateTime`` (the producer's clock, which the sandbox holds at the lab clock).
- Starting offsets: ``earliest()`` (the default), ``latest()``, ``committed_offsets(reset)``,
  ``timestamp(ms)`` and ``offsets({...})``; ``set_bounded(...)`` stops at the given offsets.
- ``KafkaSink`` (:mod:`.patch_kafka_sink`) appends to a topic; a record's timestamp is its
  element's timestamp (a window's result carries its window's last millisecond), else the lab
  time. A record with a key goes to ``murmur2(key) % partitions`` as Kafka's default
  partitioner sends it; without a key each flush goes to one partition, the next flush to the
  next (Kafka's sticky partitioning, per batch).

Simplified (say so in a lesson that relies on it):

- No network client. The source and the sink resolve the cluster from the bootstrap string
  (any broker name of the cluster, any port) and read or append to the embedded brokers' logs in
  this process, under the cluster's lock. A real ``KafkaConsumer`` long-polling the sink's topic
  gets the records at the broker's next loop (within 50 ms of real time).
- Fetching. Records a real producer writes while the lab clock stands still are read when the
  clock next moves, at the lab time they were written (the source keeps one clock event at the
  current time, which every ``advance`` runs first); the records then reach the job at the next
  poll on the ``auto_watermark_interval`` grid, as the Kinesis source's do.
- Committed offsets. Flink commits the offsets read to the group when a checkpoint completes
  (``commit.offsets.on.checkpoint``, true by default); the sandbox takes no checkpoints and
  commits after every fetch that read records (no commit without ``set_group_id``, or with the
  property set to ``false``). The source commits without a group membership, as Flink's does, so
  a group with live consumers refuses the commit (counted in ``commit_failures``).
- Partition discovery: a topic pattern picks up topics created later at the next fetch; the
  partitions found later start from the earliest offset, as Flink starts them.
- The sink: ``DeliveryGuarantee.NONE`` and ``AT_LEAST_ONCE`` only (the brokers have no
  transactions for ``EXACTLY_ONCE``); records are appended without a producer id.
"""

from __future__ import annotations

import bisect
import enum
import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from labkit.services.flink.patch_connectors import ConnectorError, _sandbox
from labkit.services.flink.sim_stream import SourceNode

#: Flink's split id of a Kafka partition.
_SPLIT = "{topic}-{partition}"


# -- finding the cluster ------------------------------------------------------------------------
def _hosts(bootstrap: str) -> set[str]:
    hosts = set()
    for part in bootstrap.split(","):
        part = part.strip()
        if part:
            host = part.rsplit(":", 1)[0] if ":" in part else part
            hosts.add(host.lower().rstrip("."))
    return hosts


def resolve_cluster(bootstrap: str) -> Any:
    """The embedded Kafka cluster (``KafkaCluster``) whose brokers ``bootstrap`` names.

    Raises:
        ConnectorError: No running MSK cluster of the lab has any of those broker names.
    """
    from labkit.services.kafka import state as kafka_state
    from labkit.services.kafka.patch import BOOTSTRAP

    _sandbox()
    hosts = _hosts(bootstrap or "")
    if not hosts:
        raise ConnectorError(
            "set_bootstrap_servers(...) needs the cluster's bootstrap string (kafka "
            "get_bootstrap_brokers(ClusterArn=...)['BootstrapBrokerString'])."
        )
    for cluster in kafka_state.clusters():
        runtime = getattr(cluster, kafka_state.RUNTIME)
        names = {node.host for node in runtime.nodes} | {getattr(cluster, BOOTSTRAP, "")}
        if hosts & names:
            return runtime
    raise ConnectorError(
        f"No MSK cluster of this lab has the brokers {', '.join(sorted(hosts))}: use the string "
        "get_bootstrap_brokers returns for a cluster that exists."
    )


def _last_offset(batch: Any) -> int:
    return int(batch.last_offset)


def topic_missing(name: str, runtime: Any) -> ConnectorError:
    known = ", ".join(sorted(runtime.topics)) or "none"
    return ConnectorError(
        f"The topic {name!r} does not exist on MSK cluster {runtime.name} (topics: {known}); "
        "create it first (KafkaAdminClient.create_topics): MSK does not create topics on use."
    )


# -- starting and stopping offsets --------------------------------------------------------------
class KafkaOffsetResetStrategy(enum.Enum):
    """Where to start a partition that has no committed offset."""

    LATEST = "latest"
    EARLIEST = "earliest"
    NONE = "none"


@dataclass(frozen=True)
class KafkaTopicPartition:
    """A topic's partition (``KafkaTopicPartition("readings", 0)``)."""

    topic: str
    partition: int


class KafkaOffsetsInitializer:
    """Where each partition starts (or stops): ``KafkaOffsetsInitializer.earliest()`` and others."""

    def __init__(
        self,
        kind: str,
        reset: KafkaOffsetResetStrategy = KafkaOffsetResetStrategy.NONE,
        timestamp: int = 0,
        offsets: dict[KafkaTopicPartition, int] | None = None,
    ) -> None:
        self.kind = kind
        self.reset = reset
        self.timestamp_ms = timestamp
        self.specific = dict(offsets or {})

    @staticmethod
    def earliest() -> KafkaOffsetsInitializer:
        """The earliest offset each partition still holds (KafkaSource's default)."""
        return KafkaOffsetsInitializer("earliest")

    @staticmethod
    def latest() -> KafkaOffsetsInitializer:
        """The end of each partition: only records written after the job starts."""
        return KafkaOffsetsInitializer("latest")

    @staticmethod
    def committed_offsets(
        offset_reset_strategy: KafkaOffsetResetStrategy = KafkaOffsetResetStrategy.NONE,
    ) -> KafkaOffsetsInitializer:
        """The group's committed offsets; ``offset_reset_strategy`` for partitions with none."""
        if not isinstance(offset_reset_strategy, KafkaOffsetResetStrategy):
            raise ConnectorError(
                "committed_offsets takes a KafkaOffsetResetStrategy (EARLIEST, LATEST or NONE)."
            )
        return KafkaOffsetsInitializer("committed", offset_reset_strategy)

    @staticmethod
    def timestamp(timestamp: int) -> KafkaOffsetsInitializer:
        """The first record with a timestamp at or after ``timestamp`` (epoch ms)."""
        if isinstance(timestamp, bool) or not isinstance(timestamp, int):
            raise ConnectorError(
                f"timestamp takes epoch milliseconds as an int, not {timestamp!r}."
            )
        return KafkaOffsetsInitializer("timestamp", timestamp=timestamp)

    @staticmethod
    def offsets(
        offsets: dict[KafkaTopicPartition, int],
        offset_reset_strategy: KafkaOffsetResetStrategy = KafkaOffsetResetStrategy.EARLIEST,
    ) -> KafkaOffsetsInitializer:
        """Given offsets per partition; ``offset_reset_strategy`` for partitions not given."""
        return KafkaOffsetsInitializer("offsets", offset_reset_strategy, offsets=offsets)

    def describe(self) -> str:
        """A short description for messages."""
        return {"committed": "committed_offsets()", "timestamp": "timestamp()"}.get(
            self.kind, f"{self.kind}()"
        )

    def offset_for(self, log: Any, group: str | None, coordinator: Any) -> int:
        """Where this initializer puts partition ``log`` (the caller holds the cluster's lock)."""
        kind = self.kind
        if kind == "earliest":
            return int(log.log_start_offset)
        if kind == "latest":
            return int(log.next_offset)
        if kind == "timestamp":
            offset, _ = log.offset_for_time(self.timestamp_ms)
            return int(log.next_offset if offset < 0 else offset)
        if kind == "offsets":
            given = self.specific.get(KafkaTopicPartition(log.topic, log.index))
            if given is not None:
                return max(int(given), int(log.log_start_offset))
        if kind == "committed":
            if not group:
                raise ConnectorError(
                    "committed_offsets() reads the group's offsets: set_group_id(...) first."
                )
            committed = coordinator.committed(group, log.topic, log.index)
            if committed >= 0:
                return max(int(committed), int(log.log_start_offset))
        if self.reset is KafkaOffsetResetStrategy.LATEST:
            return int(log.next_offset)
        if self.reset is KafkaOffsetResetStrategy.EARLIEST:
            return int(log.log_start_offset)
        raise ConnectorError(
            f"Group {group!r} has no committed offset for {log.topic}-{log.index} and the reset "
            "strategy is NONE (Flink fails the job so): use committed_offsets("
            "KafkaOffsetResetStrategy.EARLIEST) or LATEST to fall back."
        )


# -- the source ---------------------------------------------------------------------------------
@dataclass
class _Split:
    topic: str
    partition: int
    position: int  # the next offset to read
    stop: int | None = None  # bounded: the offset to stop before
    done: bool = False


class KafkaSource:
    """Reads topics of an MSK cluster of the sandbox (``env.from_source(source, strategy, name)``).

    Build one with ``KafkaSource.builder()``. After the job runs, ``records_read``,
    ``records_lost`` (deleted by retention before they were read) and ``commit_failures`` say
    what it did.
    """

    def __init__(
        self,
        bootstrap: str,
        topics: list[str],
        pattern: re.Pattern[str] | None,
        partitions: list[KafkaTopicPartition],
        group_id: str | None,
        starting: KafkaOffsetsInitializer,
        stopping: KafkaOffsetsInitializer | None,
        deserializer: Any,
        properties: dict[str, str],
    ) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.pattern = pattern
        self.partitions = partitions
        self.group_id = group_id
        self.starting = starting
        self.stopping = stopping
        self.deserializer = deserializer
        self.properties = properties
        self.commit = str(properties.get("commit.offsets.on.checkpoint", "true")).lower() != "false"
        self.splits: dict[str, _Split] = {}
        self.records_read = 0
        self.records_lost = 0
        self.commit_failures = 0
        self.label = f"Kafka {', '.join(topics) or (pattern.pattern if pattern else 'partitions')}"
        self._runtime: Any = None
        self._feed: SourceNode | None = None
        self._clock: Any = None
        self._unwatch: Callable[[], None] | None = None
        self._fetch_event: Any = None
        self._stopped = False

    @staticmethod
    def builder() -> KafkaSourceBuilder:
        """Start building a source."""
        return KafkaSourceBuilder()

    # -- the Source protocol --------------------------------------------------------------------
    def start(self, feed: SourceNode) -> None:
        """Find the cluster and the partitions, read what the starting offsets cover, and fetch
        new records whenever the lab clock moves."""
        runtime = resolve_cluster(self.bootstrap)
        self._runtime = runtime
        self._feed = feed
        self._clock = feed.runtime.clock
        with runtime.lock:
            runtime.expire()
            for name in self.topics:
                if name not in runtime.topics:
                    raise topic_missing(name, runtime)
            for tp in self.partitions:
                topic = runtime.topics.get(tp.topic)
                if topic is None:
                    raise topic_missing(tp.topic, runtime)
                if not 0 <= tp.partition < len(topic.partitions):
                    raise ConnectorError(
                        f"The topic {tp.topic!r} has {len(topic.partitions)} partition(s); "
                        f"there is no partition {tp.partition}."
                    )
            self._discover(initial=True)
        self._fetch()
        self._unwatch = self._clock.watch(self._on_move)
        self._arm()

    def stop(self) -> None:
        """Stop fetching (the job was cancelled)."""
        self._stopped = True
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        if self._fetch_event is not None:
            self._fetch_event.cancel()
            self._fetch_event = None

    # -- fetching -------------------------------------------------------------------------------
    def _arm(self) -> None:
        # One event at the current lab time: the next advance runs it before time moves on, so
        # what a producer wrote while the clock stood still is read at the time it was written.
        if self._fetch_event is None and not self._stopped:
            self._fetch_event = self._clock.call_at(
                self._clock.timestamp, self._on_fetch_event, label="flink kafka fetch"
            )

    def _on_fetch_event(self) -> None:
        self._fetch_event = None
        self._fetch()

    def _on_move(self, _now: Any) -> None:
        self._arm()

    def _subscribed(self) -> list[tuple[str, int]]:
        runtime = self._runtime
        wanted: list[tuple[str, int]] = [(tp.topic, tp.partition) for tp in self.partitions]
        names = list(self.topics)
        if self.pattern is not None:
            names += [n for n in sorted(runtime.topics) if self.pattern.fullmatch(n)]
        for name in names:
            topic = runtime.topics.get(name)
            if topic is not None:
                wanted += [(name, log.index) for log in topic.partitions]
        return wanted

    def _discover(self, initial: bool) -> None:
        """Add a split for every subscribed partition not yet read (caller holds the lock)."""
        runtime, feed = self._runtime, self._feed
        assert feed is not None
        coordinator = runtime.coordinator
        for topic_name, index in self._subscribed():
            split_id = _SPLIT.format(topic=topic_name, partition=index)
            if split_id in self.splits:
                continue
            log = runtime.topics[topic_name].partitions[index]
            initializer = self.starting if initial else KafkaOffsetsInitializer.earliest()
            position = initializer.offset_for(log, self.group_id, coordinator)
            stop = None
            if self.stopping is not None:
                stop = self.stopping.offset_for(log, self.group_id, coordinator)
            self.splits[split_id] = _Split(topic_name, index, position, stop)
            feed.add_split(split_id)

    def _fetch(self) -> None:
        """Read every split from its position to the log's end (or its stopping offset)."""
        if self._stopped or self._feed is None:
            return
        runtime = self._runtime
        chunks: list[tuple[str, _Split, int, int, list[bytes]]] = []
        with runtime.lock:
            runtime.expire()
            if self.pattern is not None:
                self._discover(initial=False)
            for split_id, split in self.splits.items():
                if split.done:
                    continue
                topic = runtime.topics.get(split.topic)
                if topic is None or split.partition >= len(topic.partitions):
                    continue  # the topic was deleted: nothing more to read
                log = topic.partitions[split.partition]
                if split.position < log.log_start_offset:
                    self.records_lost += log.log_start_offset - split.position
                    split.position = log.log_start_offset
                end = log.next_offset if split.stop is None else min(log.next_offset, split.stop)
                if split.position >= end:
                    continue
                batches = log.batches
                first = bisect.bisect_left(batches, split.position, key=_last_offset)
                data = []
                for b in itertools.islice(batches, first, None):
                    if b.base_offset >= end:
                        break
                    data.append(bytes(b.data))
                chunks.append((split_id, split, split.position, end, data))
        if chunks:
            self._read(chunks)
        self._finish_bounded()

    def _read(self, chunks: list[tuple[str, _Split, int, int, list[bytes]]]) -> None:
        from kafka.record import MemoryRecords  # type: ignore[import-untyped]

        feed = self._feed
        assert feed is not None
        decode = self._decoder()
        records: list[tuple[Any, int | None, str]] = []
        commits: list[tuple[str, int, int, str | None]] = []
        for split_id, split, start, end, batches in chunks:
            for data in batches:
                memory = MemoryRecords(data)
                while (batch := memory.next_batch()) is not None:
                    for record in batch:
                        if start <= record.offset < end:
                            records.append((decode(record.value), record.timestamp, split_id))
            split.position = end
            commits.append((split.topic, split.partition, end, None))
        self.records_read += len(records)
        if records:
            feed.offer(records)
        if commits and self.commit and self.group_id:
            with self._runtime.lock:
                code = self._runtime.coordinator.commit(self.group_id, "", -1, commits)
            if code:
                self.commit_failures += 1

    def _decoder(self) -> Callable[[bytes | None], Any]:
        schema = self.deserializer
        if schema is None:
            return lambda raw: raw
        deserialize = getattr(schema, "deserialize", schema)
        return lambda raw: None if raw is None else deserialize(raw)

    def _finish_bounded(self) -> None:
        if self.stopping is None or self._feed is None:
            return
        for split_id, split in self.splits.items():
            if not split.done and split.stop is not None and split.position >= split.stop:
                split.done = True
                self._feed.remove_split(split_id)
        if all(s.done for s in self.splits.values()) and not self._feed.finished:
            self._feed.finish()
            self.stop()


class KafkaSourceBuilder:
    """``KafkaSource.builder()...build()``."""

    def __init__(self) -> None:
        self._bootstrap = ""
        self._topics: list[str] = []
        self._pattern: re.Pattern[str] | None = None
        self._partitions: list[KafkaTopicPartition] = []
        self._group: str | None = None
        self._starting = KafkaOffsetsInitializer.earliest()
        self._stopping: KafkaOffsetsInitializer | None = None
        self._deserializer: Any = None
        self._properties: dict[str, str] = {}

    def set_bootstrap_servers(self, bootstrap_servers: str) -> KafkaSourceBuilder:
        """The cluster's bootstrap string."""
        self._bootstrap = str(bootstrap_servers)
        return self

    def set_topics(self, *topics: str) -> KafkaSourceBuilder:
        """The topics to read (every partition of each)."""
        flat: list[str] = []
        for topic in topics:
            flat += [topic] if isinstance(topic, str) else list(topic)
        self._topics = flat
        return self

    def set_topic_pattern(self, topic_pattern: str) -> KafkaSourceBuilder:
        """Every topic whose whole name matches the regular expression."""
        try:
            self._pattern = re.compile(topic_pattern)
        except re.error as exc:
            raise ConnectorError(
                f"set_topic_pattern: {topic_pattern!r} is no regex: {exc}."
            ) from None
        return self

    def set_partitions(self, partitions: Iterable[KafkaTopicPartition]) -> KafkaSourceBuilder:
        """Given partitions only."""
        self._partitions = list(partitions)
        return self

    def set_group_id(self, group_id: str) -> KafkaSourceBuilder:
        """The consumer group whose offsets are committed (and read by committed_offsets())."""
        self._group = str(group_id)
        return self

    def set_client_id_prefix(self, prefix: str) -> KafkaSourceBuilder:
        """Accepted for compatibility."""
        return self

    def set_starting_offsets(
        self, starting_offsets_initializer: KafkaOffsetsInitializer
    ) -> KafkaSourceBuilder:
        """Where each partition starts (``earliest()`` by default)."""
        if not isinstance(starting_offsets_initializer, KafkaOffsetsInitializer):
            raise ConnectorError(
                "set_starting_offsets takes a KafkaOffsetsInitializer (earliest(), latest(), "
                "committed_offsets(), timestamp(ms), offsets({...}))."
            )
        self._starting = starting_offsets_initializer
        return self

    def set_unbounded(self, stopping_offsets_initializer: Any) -> KafkaSourceBuilder:
        """Accepted for compatibility: the source never stops (a streaming job's source)."""
        self._stopping = None
        return self

    def set_bounded(
        self, stopping_offsets_initializer: KafkaOffsetsInitializer
    ) -> KafkaSourceBuilder:
        """Stop each partition at the given offsets (then the job's input ends)."""
        if not isinstance(stopping_offsets_initializer, KafkaOffsetsInitializer):
            raise ConnectorError("set_bounded takes a KafkaOffsetsInitializer (latest(), ...).")
        self._stopping = stopping_offsets_initializer
        return self

    def set_value_only_deserializer(self, deserialization_schema: Any) -> KafkaSourceBuilder:
        """How a record's value becomes an element (``SimpleStringSchema()``)."""
        self._deserializer = deserialization_schema
        return self

    def set_property(self, key: str, value: str) -> KafkaSourceBuilder:
        """A consumer or source property (``commit.offsets.on.checkpoint``, ``group.id``)."""
        self._properties[str(key)] = str(value)
        if key == "group.id":
            self._group = str(value)
        return self

    def set_properties(self, props: dict[str, str]) -> KafkaSourceBuilder:
        """Several properties."""
        for key, value in props.items():
            self.set_property(key, value)
        return self

    def build(self) -> KafkaSource:
        """The source."""
        if not self._bootstrap:
            raise ConnectorError("KafkaSource needs set_bootstrap_servers(...).")
        if not (self._topics or self._pattern or self._partitions):
            raise ConnectorError(
                "KafkaSource needs set_topics(...), set_topic_pattern(...) or set_partitions(...)."
            )
        return KafkaSource(
            self._bootstrap,
            self._topics,
            self._pattern,
            self._partitions,
            self._group,
            self._starting,
            self._stopping,
            self._deserializer,
            dict(self._properties),
        )


__all__ = [
    "KafkaOffsetResetStrategy",
    "KafkaOffsetsInitializer",
    "KafkaSource",
    "KafkaSourceBuilder",
    "KafkaTopicPartition",
    "resolve_cluster",
]
