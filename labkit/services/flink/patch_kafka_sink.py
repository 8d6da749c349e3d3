"""The Kafka sink of a Flink job: ``KafkaSink`` appends to a topic of an MSK cluster of the sandbox.

Shapes are PyFlink's (``KafkaSink``, ``KafkaRecordSerializationSchema``, ``DeliveryGuarantee``);
what it does and what is simplified is in :mod:`.patch_kafka`, which holds the source.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

from labkit.services.flink.patch_connectors import BufferedSink, ConnectorError
from labkit.services.flink.patch_kafka import resolve_cluster, topic_missing
from labkit.services.flink.sim_time import MIN_TIMESTAMP


# -- the sink -----------------------------------------------------------------------------------
class DeliveryGuarantee(enum.Enum):
    """The sink's guarantee (``pyflink.datastream.connectors.base.DeliveryGuarantee``)."""

    EXACTLY_ONCE = "exactly-once"
    AT_LEAST_ONCE = "at-least-once"
    NONE = "none"


def _as_bytes(schema: Any, value: Any) -> bytes | None:
    if value is None:
        return None
    if schema is None:
        if isinstance(value, (bytes, bytearray)):
            return bytes(value)
        raise ConnectorError(
            f"The Kafka sink has no serialization schema for {type(value).__name__} {value!r}: "
            "set_value_serialization_schema(SimpleStringSchema())."
        )
    serialize = getattr(schema, "serialize", schema)
    out = serialize(value)
    return out if isinstance(out, bytes) else str(out).encode("utf-8")


class KafkaRecordSerializationSchema:
    """How an element becomes a Kafka record: topic, key and value."""

    def __init__(
        self,
        topic: str | None,
        selector: Callable[[Any], str] | None,
        key_schema: Any,
        value_schema: Any,
    ) -> None:
        self.topic = topic
        self.selector = selector
        self.key_schema = key_schema
        self.value_schema = value_schema

    @staticmethod
    def builder() -> KafkaRecordSerializationSchemaBuilder:
        """Start building a schema."""
        return KafkaRecordSerializationSchemaBuilder()

    def topic_of(self, value: Any) -> str:
        """The topic ``value`` goes to."""
        return str(self.selector(value)) if self.selector is not None else str(self.topic)

    def serialize(self, value: Any) -> tuple[bytes | None, bytes | None]:
        """``(key, value)`` bytes of one element."""
        key = _as_bytes(self.key_schema, value) if self.key_schema is not None else None
        return key, _as_bytes(self.value_schema, value)


class KafkaRecordSerializationSchemaBuilder:
    """``KafkaRecordSerializationSchema.builder()...build()``."""

    def __init__(self) -> None:
        self._topic: str | None = None
        self._selector: Callable[[Any], str] | None = None
        self._key: Any = None
        self._value: Any = None

    def set_topic(self, topic: str) -> KafkaRecordSerializationSchemaBuilder:
        """Every record goes to ``topic``."""
        self._topic = str(topic)
        return self

    def set_topic_selector(
        self, topic_selector: Callable[[Any], str]
    ) -> KafkaRecordSerializationSchemaBuilder:
        """Each record's topic from a function of the element."""
        self._selector = getattr(topic_selector, "apply", topic_selector)
        return self

    def set_key_serialization_schema(
        self, key_serialization_schema: Any
    ) -> KafkaRecordSerializationSchemaBuilder:
        """How an element becomes the record's key (none by default)."""
        self._key = key_serialization_schema
        return self

    def set_value_serialization_schema(
        self, value_serialization_schema: Any
    ) -> KafkaRecordSerializationSchemaBuilder:
        """How an element becomes the record's value."""
        self._value = value_serialization_schema
        return self

    def build(self) -> KafkaRecordSerializationSchema:
        """The schema."""
        if self._topic is None and self._selector is None:
            raise ConnectorError(
                "KafkaRecordSerializationSchema needs set_topic(...) or set_topic_selector(...)."
            )
        if self._value is None:
            raise ConnectorError(
                "KafkaRecordSerializationSchema needs set_value_serialization_schema(...)."
            )
        return KafkaRecordSerializationSchema(self._topic, self._selector, self._key, self._value)


class KafkaSink(BufferedSink):
    """Appends elements to topics of an MSK cluster of the sandbox (``stream.sink_to(sink)``).

    ``sent`` counts records appended, ``failed`` those refused (no such topic, too large).
    """

    def __init__(
        self, bootstrap: str, schema: KafkaRecordSerializationSchema, guarantee: DeliveryGuarantee
    ) -> None:
        super().__init__()
        self.bootstrap = bootstrap
        self.schema = schema
        self.guarantee = guarantee
        self.label = f"Kafka topic {schema.topic or '(selected per record)'}"
        self._sticky: dict[str, int] = {}

    @staticmethod
    def builder() -> KafkaSinkBuilder:
        """Start building a sink."""
        return KafkaSinkBuilder()

    def invoke_with_timestamp(self, value: Any, timestamp: int) -> None:
        """Buffer one element with its timestamp (the record's timestamp)."""
        self.buffer.append((value, timestamp))

    def invoke(self, value: Any) -> None:
        """Buffer one element without a timestamp (the record gets the lab time)."""
        self.buffer.append((value, MIN_TIMESTAMP))

    def _write(self, batch: list[Any]) -> None:
        from kafka.partitioner.default import murmur2  # type: ignore[import-untyped]

        runtime = resolve_cluster(self.bootstrap)
        now = runtime.lab_now()
        now_ms = round(now * 1000)
        by_partition: dict[tuple[str, int], list[tuple[int, bytes | None, bytes | None]]] = {}
        with runtime.lock:
            for value, stamp in batch:
                name = self.schema.topic_of(value)
                topic = runtime.topics.get(name)
                if topic is None:
                    self.failed += 1
                    self._note(str(topic_missing(name, runtime)))
                    continue
                key, data = self.schema.serialize(value)
                count = len(topic.partitions)
                if key is not None:
                    index = (murmur2(key) & 0x7FFFFFFF) % count
                else:
                    index = self._sticky.get(name, 0) % count
                ts = stamp if stamp != MIN_TIMESTAMP else now_ms
                by_partition.setdefault((name, index), []).append((ts, key, data))
            for (name, index), records in by_partition.items():
                topic = runtime.topics[name]
                limit = topic.config_int("max.message.bytes", runtime.settings.max_message_bytes)
                self._append(topic.partitions[index], records, limit, now)
            for name in {name for name, _ in by_partition}:
                self._sticky[name] = self._sticky.get(name, 0) + 1

    def _append(
        self,
        log: Any,
        records: list[tuple[int, bytes | None, bytes | None]],
        limit: int,
        now: float,
    ) -> None:
        from kafka.record.default_records import (  # type: ignore[import-untyped]
            DefaultRecordBatchBuilder,
        )

        def builder() -> Any:
            return DefaultRecordBatchBuilder(
                magic=2,
                compression_type=0,
                is_transactional=0,
                producer_id=-1,
                producer_epoch=-1,
                base_sequence=-1,
                batch_size=limit,
            )

        current, count = builder(), 0
        for ts, key, data in records:
            if current.append(count, ts, key, data, []) is None:
                self._close(log, current, count, limit, now)
                current, count = builder(), 0
                current.append(count, ts, key, data, [])
            count += 1
        if count:
            self._close(log, current, count, limit, now)

    def _close(self, log: Any, builder: Any, count: int, limit: int, now: float) -> None:
        data = builder.build()
        if len(data) > limit:
            self.failed += count
            self._note(f"a record of {len(data)} bytes is larger than max.message.bytes ({limit})")
            return
        log.append(data, now)
        self.sent += count


class KafkaSinkBuilder:
    """``KafkaSink.builder()...build()``."""

    def __init__(self) -> None:
        self._bootstrap = ""
        self._schema: KafkaRecordSerializationSchema | None = None
        self._guarantee = DeliveryGuarantee.NONE

    def set_bootstrap_servers(self, bootstrap_servers: str) -> KafkaSinkBuilder:
        """The cluster's bootstrap string."""
        self._bootstrap = str(bootstrap_servers)
        return self

    def set_record_serializer(
        self, record_serializer: KafkaRecordSerializationSchema
    ) -> KafkaSinkBuilder:
        """Topic, key and value of each record."""
        if not isinstance(record_serializer, KafkaRecordSerializationSchema):
            raise ConnectorError(
                "set_record_serializer takes KafkaRecordSerializationSchema.builder()...build()."
            )
        self._schema = record_serializer
        return self

    def set_delivery_guarantee(self, delivery_guarantee: DeliveryGuarantee) -> KafkaSinkBuilder:
        """``NONE`` (the default) or ``AT_LEAST_ONCE``."""
        if delivery_guarantee is DeliveryGuarantee.EXACTLY_ONCE:
            raise ConnectorError(
                "DeliveryGuarantee.EXACTLY_ONCE writes in Kafka transactions, which the sandbox's "
                "brokers do not run: use AT_LEAST_ONCE."
            )
        if not isinstance(delivery_guarantee, DeliveryGuarantee):
            raise ConnectorError("set_delivery_guarantee takes a DeliveryGuarantee.")
        self._guarantee = delivery_guarantee
        return self

    def set_transactional_id_prefix(self, prefix: str) -> KafkaSinkBuilder:
        """Accepted for compatibility (no transactions)."""
        return self

    def set_property(self, key: str, value: str) -> KafkaSinkBuilder:
        """Accepted for compatibility."""
        return self

    def build(self) -> KafkaSink:
        """The sink."""
        if not self._bootstrap:
            raise ConnectorError("KafkaSink needs set_bootstrap_servers(...).")
        if self._schema is None:
            raise ConnectorError("KafkaSink needs set_record_serializer(...).")
        return KafkaSink(self._bootstrap, self._schema, self._guarantee)


__all__ = [
    "DeliveryGuarantee",
    "KafkaRecordSerializationSchema",
    "KafkaRecordSerializationSchemaBuilder",
    "KafkaSink",
    "KafkaSinkBuilder",
]
