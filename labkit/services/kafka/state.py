"""Read-only snapshots of an MSK cluster's Kafka side: topics, partitions, groups, rebalances."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labkit.sandbox.backends import existing
from labkit.services.kafka.sim_broker import KafkaCluster

RUNTIME = "_labkit_kafka"  # the attribute the patch sets on moto's cluster


@dataclass(frozen=True)
class PartitionRow:
    """One partition of a topic."""

    topic: str
    index: int
    leader: int
    replicas: tuple[int, ...]
    log_start: int
    log_end: int


@dataclass(frozen=True)
class GroupPartition:
    """One partition as a consumer group sees it."""

    topic: str
    index: int
    owner: str | None  # the member it is assigned to
    committed: int | None
    lag: int | None  # log end offset - committed offset


@dataclass(frozen=True)
class RebalanceRow:
    """One completed rebalance."""

    at: float
    generation: int
    reason: str
    members: int
    assignment: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class GroupRow:
    """A consumer group."""

    group_id: str
    state: str
    generation: int
    members: tuple[str, ...]
    partitions: tuple[GroupPartition, ...]
    rebalances: tuple[RebalanceRow, ...]


@dataclass(frozen=True)
class KafkaSnapshot:
    """An MSK cluster's Kafka side at one lab moment."""

    name: str
    arn: str
    cluster_type: str
    brokers: tuple[str, ...]
    partitions: tuple[PartitionRow, ...]
    groups: tuple[GroupRow, ...]
    at: float


def clusters() -> list[Any]:
    """moto's MSK clusters with a running Kafka side, in the default account."""
    out: list[Any] = []
    for _region, backend in existing("kafka"):
        out.extend(c for c in backend.clusters.values() if getattr(c, RUNTIME, None))
    return out


def assigned(assignment: bytes) -> tuple[str, ...]:
    """``topic-partition`` names in a consumer's assignment bytes (empty when unreadable)."""
    if not assignment:
        return ()
    from kafka.protocol.consumer import (  # type: ignore[import-untyped]
        ConsumerProtocolAssignment,
    )

    try:
        decoded = ConsumerProtocolAssignment.decode(assignment)
    except Exception:  # another client's assignment format: show nothing rather than fail
        return ()
    return tuple(f"{tp.topic}-{tp.partition}" for tp in decoded.partitions())


def snapshot(cluster: Any) -> KafkaSnapshot:
    """The snapshot of one moto MSK cluster (it must have a Kafka runtime)."""
    runtime: KafkaCluster = getattr(cluster, RUNTIME)
    with runtime.lock:
        runtime.expire()
        partitions = tuple(
            PartitionRow(
                name,
                log.index,
                log.leader,
                tuple(log.replicas),
                log.log_start_offset,
                log.next_offset,
            )
            for name, topic in sorted(runtime.topics.items())
            for log in topic.partitions
        )
        ends = {(p.topic, p.index): p.log_end for p in partitions}
        groups = []
        for group in sorted(runtime.coordinator.groups.values(), key=lambda g: g.group_id):
            owner: dict[str, str] = {}
            for member in group.members.values():
                for tp in assigned(member.assignment):
                    owner[tp] = member.member_id
            keys = sorted(set(group.offsets) | {k for k in ends if f"{k[0]}-{k[1]}" in owner})
            rows = []
            for topic_name, index in keys:
                entry = group.offsets.get((topic_name, index))
                committed = entry[0] if entry else None
                end = ends.get((topic_name, index))
                rows.append(
                    GroupPartition(
                        topic_name,
                        index,
                        owner.get(f"{topic_name}-{index}"),
                        committed,
                        end - committed if end is not None and committed is not None else None,
                    )
                )
            groups.append(
                GroupRow(
                    group.group_id,
                    group.state,
                    group.generation,
                    tuple(group.members),
                    tuple(rows),
                    tuple(
                        RebalanceRow(
                            r.at,
                            r.generation,
                            r.reason,
                            len(r.members),
                            tuple((m, assigned(a)) for m, a in r.assignment.items()),
                        )
                        for r in group.rebalances
                    ),
                )
            )
        return KafkaSnapshot(
            cluster.cluster_name,
            cluster.arn,
            cluster.cluster_type,
            tuple(f"{n.node_id}: {n.host}" for n in runtime.nodes),
            partitions,
            tuple(groups),
            runtime.lab_now(),
        )
