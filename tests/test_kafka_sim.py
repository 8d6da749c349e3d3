"""The Kafka simulators without sockets: partition logs and the group coordinator's two clocks."""

from __future__ import annotations

from typing import Any

import pytest
from kafka.record.default_records import DefaultRecordBatchBuilder

from labkit.services.kafka.sim_group import (
    ILLEGAL_GENERATION,
    LIVE_GRACE,
    REBALANCE_IN_PROGRESS,
    Coordinator,
)
from labkit.services.kafka.sim_log import LogError, PartitionLog, split_batches


def batch(values: list[bytes], producer_id: int = -1, sequence: int = -1) -> bytearray:
    builder = DefaultRecordBatchBuilder(2, 0, False, producer_id, 0, sequence, 1 << 20)
    for i, value in enumerate(values):
        builder.append(i, timestamp=1_000 + i, key=None, value=value, headers=[])
    return bytearray(builder.build())


def test_offsets_follow_each_other_and_reads_start_at_the_batch_holding_the_offset() -> None:
    log = PartitionLog("t", 0, [1])
    assert log.append(batch([b"a", b"b"]), now=0) == 0
    assert log.append(batch([b"c"]), now=0) == 2
    assert log.next_offset == 3
    assert [v for _, _, v in log.records()] == [b"a", b"b", b"c"]
    # Offset 1 lives in the first batch: the read starts there (the client skips offset 0).
    assert split_batches(log.read(1, 1 << 20))[0] == log.batches[0].data
    assert len(split_batches(log.read(2, 1 << 20))) == 1


def test_an_idempotent_retry_is_stored_once_and_a_gap_is_refused() -> None:
    log = PartitionLog("t", 0, [1])
    first = batch([b"a", b"b"], producer_id=7, sequence=0)
    assert log.append(bytearray(first), now=0) == 0
    assert log.append(bytearray(first), now=0) == 0  # the retry: same offset, no second copy
    assert log.next_offset == 2
    with pytest.raises(LogError) as refused:
        log.append(batch([b"c"], producer_id=7, sequence=5), now=0)
    assert refused.value.name == "OUT_OF_ORDER_SEQUENCE_NUMBER"
    assert log.append(batch([b"c"], producer_id=7, sequence=2), now=0) == 2


def test_retention_by_time_and_by_size_deletes_whole_batches_oldest_first() -> None:
    log = PartitionLog("t", 0, [1])
    for at in (0, 10, 20):
        log.append(batch([b"x" * 100]), now=at)
    assert log.enforce_retention(now=25, retention_ms=14_000, retention_bytes=-1) == 2
    assert log.log_start_offset == 2 and log.next_offset == 3
    log.append(batch([b"y" * 100]), now=26)
    one = len(log.batches[0].data)
    assert log.enforce_retention(now=26, retention_ms=-1, retention_bytes=one) == 1
    assert [v for _, _, v in log.records()] == [b"y" * 100]


def test_a_corrupt_or_old_format_batch_is_refused() -> None:
    old = batch([b"a"])
    old[16] = 1  # magic 1
    with pytest.raises(LogError, match="magic 2"):
        split_batches(old)
    with pytest.raises(LogError, match="cut short"):
        split_batches(batch([b"a"])[:30])


class Clocks:
    def __init__(self) -> None:
        self.lab = 1_000.0
        self.real = 50.0


def join(c: Coordinator, member: str = "", answers: list[dict[str, Any]] | None = None) -> None:
    out = answers if answers is not None else []
    c.join("g", member, "client", 10_000, 10_000, "consumer", [("range", b"")], out.append)


def test_a_live_member_survives_a_lab_clock_jump_and_a_silent_one_does_not() -> None:
    clocks = Clocks()
    c = Coordinator(lambda: clocks.lab, lambda: clocks.real)
    first: list[dict[str, Any]] = []
    join(c, answers=first)
    member = first[0]["member_id"]
    c.sync("g", member, first[0]["generation_id"], {member: b"all"}, lambda _: None)
    assert c.groups["g"].state == "Stable"

    clocks.lab += 60  # the learner advances the lab clock past the 10 s session
    clocks.real += 1  # ... and the heartbeat thread spoke a second ago
    c.tick()
    assert member in c.groups["g"].members

    assert c.heartbeat("g", member, 1) == 0
    clocks.lab += 60
    clocks.real += LIVE_GRACE + 0.1  # silent in real time too: the consumer has stopped
    c.tick()
    assert c.groups["g"].members == {}
    assert c.groups["g"].state == "Empty"
    assert "session expired" in c.groups["g"].rebalances[-1].reason


def test_a_join_makes_the_others_rejoin_and_an_old_generation_is_refused() -> None:
    clocks = Clocks()
    c = Coordinator(lambda: clocks.lab, lambda: clocks.real)
    a: list[dict[str, Any]] = []
    join(c, answers=a)
    one = a[0]["member_id"]
    c.sync("g", one, 1, {one: b"p0p1"}, lambda _: None)
    b: list[dict[str, Any]] = []
    join(c, answers=b)
    assert b == []  # waits for the first member to rejoin
    assert c.heartbeat("g", one, 1) == REBALANCE_IN_PROGRESS
    # Committing what it processed is still allowed while the group prepares the rebalance.
    assert c.commit("g", one, 1, [("t", 0, 5, None)]) == 0
    join(c, one, a)
    assert len(b) == 1 and b[0]["generation_id"] == 2
    assert len(a[1]["members"]) == 2  # the leader gets everyone's subscriptions
    assert c.commit("g", one, 1, [("t", 0, 6, None)]) == ILLEGAL_GENERATION
    assert c.committed("g", "t", 0) == 5


def test_a_member_dropped_while_it_waits_for_its_assignment_is_answered() -> None:
    clocks = Clocks()
    c = Coordinator(lambda: clocks.lab, lambda: clocks.real)
    a: list[dict[str, Any]] = []
    b: list[dict[str, Any]] = []
    join(c, answers=a)
    leader = a[0]["member_id"]
    c.sync("g", leader, 1, {leader: b""}, lambda _: None)
    join(c, answers=b)
    join(c, leader, a)
    follower = b[0]["member_id"]
    waiting: list[dict[str, Any]] = []
    c.sync("g", follower, 2, {}, waiting.append)  # waits for the leader's assignment
    assert waiting == []
    clocks.real += 10.5
    c.heartbeat("g", leader, 2)  # the leader is alive (its assignment is still coming) ...
    clocks.real += 0.6  # ... the follower's session (10 s) ends while it waits
    c.tick()
    assert leader in c.groups["g"].members and follower not in c.groups["g"].members
    assert waiting and waiting[0]["error_code"] == 25  # UNKNOWN_MEMBER_ID, not silence


def test_a_known_member_rejoining_rebalances_only_as_kafka_does() -> None:
    """Kafka's JoinGroup rules for a member the group knows: a follower with unchanged
    metadata gets the current generation at once (a client that retries a join it had already
    finished must not restart everyone's rebalance); the leader, or a changed subscription,
    starts a new rebalance."""
    clocks = Clocks()
    c = Coordinator(lambda: clocks.lab, lambda: clocks.real)
    a: list[dict[str, Any]] = []
    b: list[dict[str, Any]] = []
    join(c, answers=a)
    leader = a[0]["member_id"]
    c.sync("g", leader, 1, {leader: b""}, lambda _: None)
    join(c, answers=b)
    join(c, leader, a)
    follower = b[0]["member_id"]
    group = c.groups["g"]
    assert group.state == "CompletingRebalance" and group.generation == 2
    # A retried join while the group completes the rebalance: the same generation again,
    # the leader with everyone's subscriptions.
    again: list[dict[str, Any]] = []
    join(c, leader, again)
    assert again[0]["generation_id"] == 2 and len(again[0]["members"]) == 2
    c.sync("g", leader, 2, {leader: b"p0", follower: b"p1"}, lambda _: None)
    assert group.state == "Stable"
    rebalances = len(group.rebalances)

    retried: list[dict[str, Any]] = []
    join(c, follower, retried)  # a follower, metadata unchanged
    assert retried[0]["generation_id"] == 2 and retried[0]["members"] == []
    assert group.state == "Stable" and len(group.rebalances) == rebalances
    synced: list[dict[str, Any]] = []
    c.sync("g", follower, 2, {}, synced.append)
    assert synced == [{"error_code": 0, "assignment": b"p1"}]

    changed: list[dict[str, Any]] = []
    c.join("g", follower, "client", 10_000, 10_000, "consumer", [("range", b"v2")], changed.append)
    assert changed == [] and group.state == "PreparingRebalance"  # waits for the leader
    join(c, leader, a)
    assert changed[0]["generation_id"] == 3
    c.sync("g", leader, 3, {leader: b"p0", follower: b"p1"}, lambda _: None)

    join(c, leader, a)  # the leader rejoins (its topic metadata changed): everyone rejoins
    assert group.state == "PreparingRebalance"
    assert "the leader rejoined" in group.pending_reason
    assert c.heartbeat("g", follower, 3) == REBALANCE_IN_PROGRESS
