"""MSK benchmark: 100,000 records produced and consumed with kafka-python through the sandbox.

Prints:
- the wall seconds to produce ``--records`` records (default 100,000; 100-byte values, 16 keys)
  with ``KafkaProducer`` (acks=1, the client's default batching) to a 6-partition topic of a
  3-broker MSK cluster, and to consume them all with a ``KafkaConsumer`` in a group;
- the baseline: kafka-python's own record-batch encoding and decoding of the same records,
  without a broker or sockets (what the client costs at least); the ratio says what the
  sandbox's broker and the network add. kafka-python checksums every batch it builds and
  fetches: with its ``crc32c`` extra (a project dependency) in C, else in pure Python, which
  doubles both figures; the last line says which ran.

Target (issue 20): produce and consume 100,000 records in under 10 s.
Run: ``.venv/bin/python benchmarks/bench_kafka.py [--records N]``.
"""

from __future__ import annotations

import argparse
import time

import labkit


def baseline(records: int, value: bytes) -> float:
    """Seconds for kafka-python to encode the records into batches and decode them again."""
    from kafka.record import MemoryRecords, MemoryRecordsBuilder

    started = time.perf_counter()
    blobs = []
    builder = MemoryRecordsBuilder(2, 0, 16384)
    for i in range(records):
        key = f"sensor-{i % 16}".encode()
        if builder.append(i, key, value, []) is None:
            builder.close()
            blobs.append(builder.buffer())
            builder = MemoryRecordsBuilder(2, 0, 16384)
            builder.append(i, key, value, [])
    builder.close()
    blobs.append(builder.buffer())
    count = 0
    for blob in blobs:
        memory = MemoryRecords(bytes(blob))
        while (batch := memory.next_batch()) is not None:
            count += sum(1 for _ in batch)
    assert count == records
    return time.perf_counter() - started


def sandbox(records: int, value: bytes) -> tuple[float, float, float]:
    """Seconds to produce, then to consume, the records through the sandbox's MSK cluster, and
    the seconds the brokers spent answering requests (the rest is the client's own work)."""
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.admin import NewTopic

    lab = labkit.start(quiet=True)
    try:
        kafka = lab.client("kafka")
        arn = kafka.create_cluster(
            ClusterName="bench",
            KafkaVersion="3.6.0",
            NumberOfBrokerNodes=3,
            BrokerNodeGroupInfo={
                "InstanceType": "kafka.m5.large",
                "ClientSubnets": ["subnet-a", "subnet-b", "subnet-c"],
            },
            EncryptionInfo={"EncryptionInTransit": {"ClientBroker": "TLS_PLAINTEXT"}},
        )["ClusterArn"]
        boot = kafka.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]
        admin = KafkaAdminClient(bootstrap_servers=boot)
        admin.create_topics([NewTopic("readings", 6, 3)])
        admin.close()

        producer = KafkaProducer(bootstrap_servers=boot, acks=1)
        started = time.perf_counter()
        for i in range(records):
            producer.send("readings", key=f"sensor-{i % 16}".encode(), value=value)
        producer.flush()
        produced = time.perf_counter() - started
        producer.close()

        consumer = KafkaConsumer(
            "readings", bootstrap_servers=boot, group_id="bench", auto_offset_reset="earliest"
        )
        started = time.perf_counter()
        got = 0
        while got < records:
            for batch in consumer.poll(timeout_ms=500).values():
                got += len(batch)
        consumed = time.perf_counter() - started
        consumer.close()
        from labkit.services.kafka.patch import find_cluster, runtime_of

        runtime = runtime_of(find_cluster(arn))
        busy = runtime.busy_seconds if runtime is not None else float("nan")
        return produced, consumed, busy
    finally:
        lab.stop()


def _crc() -> str:
    """Which CRC-32C kafka-python checksums batches with: its crc32c extra's C, or Python's."""
    from kafka.record import util

    return "C (crc32c)" if util.crc32c_c is not None else "pure Python (crc32c not installed)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    value = b"x" * 100
    base = baseline(args.records, value)
    produced, consumed, busy = sandbox(args.records, value)
    total = produced + consumed
    print(f"records: {args.records:,} of 100 bytes, 16 keys, 6 partitions, 3 brokers")
    print(f"produce (acks=1):          {produced:6.2f} s  ({args.records / produced:,.0f}/s)")
    print(f"consume (group):           {consumed:6.2f} s  ({args.records / consumed:,.0f}/s)")
    print(f"produce + consume:         {total:6.2f} s  (target < 10 s)")
    print(f"brokers answering:         {busy:6.2f} s  (the rest is kafka-python's own work)")
    print(f"kafka-python codec alone:  {base:6.2f} s  (record batch CRC-32C in {_crc()})")
    print(f"ratio sandbox / codec:     {total / base:6.1f}x")


if __name__ == "__main__":
    main()
