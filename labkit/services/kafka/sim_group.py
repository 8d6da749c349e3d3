"""Kafka's consumer-group coordinator: joins, rebalances, heartbeats, sessions, committed offsets.

Plain Python (no moto, no sockets): the broker (:mod:`.sim_broker`) hands it decoded requests and
a ``respond`` callback per request, because a JoinGroup or SyncGroup answer waits for the other
members (Kafka's "delayed operations"). The states and error codes are Kafka's classic group
protocol (https://kafka.apache.org/documentation/#consumerconfigs and KIP-62):
``Empty`` -> ``PreparingRebalance`` (a member joined, left or died; everyone must rejoin) ->
``CompletingRebalance`` (all rejoined: the leader computes the assignment and sends it with
SyncGroup) -> ``Stable``.

**Two clocks.** The client's heartbeat thread runs in real time while the lab clock jumps when
the learner advances it. A member's session therefore ends when either

- it has been silent for ``session.timeout.ms`` of real time (as on a real broker), or
- it has been silent for ``session.timeout.ms`` of lab time *and* for :data:`LIVE_GRACE` seconds
  of real time: a consumer whose heartbeat thread still runs answers within that grace
  (kafka-python's default ``heartbeat.interval.ms`` is 3 s), so ``lab.clock.advance(60)`` ends
  the sessions of consumers that stopped (a crashed process, a closed notebook) and not of live
  ones. The rebalance timeout (waiting for members to rejoin) runs in real time only: members
  rejoin from their own threads.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Real seconds a member may be silent before lab time alone can end its session.
LIVE_GRACE = 3.5

# Kafka's error codes (https://kafka.apache.org/protocol#protocol_error_codes).
NONE = 0
ILLEGAL_GENERATION = 22
INCONSISTENT_GROUP_PROTOCOL = 23
UNKNOWN_MEMBER_ID = 25
INVALID_SESSION_TIMEOUT = 26
REBALANCE_IN_PROGRESS = 27

Respond = Callable[[dict[str, Any]], None]


@dataclass
class Member:
    """One consumer in a group."""

    member_id: str
    client_id: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocols: list[tuple[str, bytes]]
    last_seen_real: float
    last_seen_lab: float
    assignment: bytes = b""
    join: Respond | None = None
    sync: Respond | None = None


@dataclass
class Rebalance:
    """One completed rebalance, for views: when, why, and who got what."""

    at: float  # lab time
    generation: int
    reason: str
    members: list[str]
    assignment: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Group:
    """One consumer group."""

    group_id: str
    state: str = "Empty"
    generation: int = 0
    protocol_type: str = ""
    protocol: str | None = None
    leader: str | None = None
    members: dict[str, Member] = field(default_factory=dict)
    #: (topic, partition) -> (offset, metadata, lab time committed)
    offsets: dict[tuple[str, int], tuple[int, str | None, float]] = field(default_factory=dict)
    rebalances: list[Rebalance] = field(default_factory=list)
    pending_reason: str = ""
    deadline: float = 0.0  # real time the current rebalance stops waiting for members


class Coordinator:
    """Every consumer group of one cluster.

    Args:
        lab_now: The lab clock's time (epoch seconds).
        real_now: The real clock (monotonic seconds); tests pass their own.
    """

    def __init__(
        self, lab_now: Callable[[], float], real_now: Callable[[], float] = time.monotonic
    ) -> None:
        self.groups: dict[str, Group] = {}
        self._lab_now = lab_now
        self._real_now = real_now
        self._ids = itertools.count(1)

    def group(self, group_id: str) -> Group:
        """The group named ``group_id`` (created empty on first use, as Kafka does)."""
        found = self.groups.get(group_id)
        if found is None:
            found = self.groups[group_id] = Group(group_id)
        return found

    # -- membership ---------------------------------------------------------------------------
    def join(
        self,
        group_id: str,
        member_id: str,
        client_id: str,
        session_timeout_ms: int,
        rebalance_timeout_ms: int,
        protocol_type: str,
        protocols: list[tuple[str, bytes]],
        respond: Respond,
    ) -> None:
        """JoinGroup: answered once every member has (re)joined, or the rebalance timed out."""
        group = self.group(group_id)
        if group.members and protocol_type != group.protocol_type:
            respond({"error_code": INCONSISTENT_GROUP_PROTOCOL, "member_id": member_id})
            return
        if member_id and member_id not in group.members:
            respond({"error_code": UNKNOWN_MEMBER_ID, "member_id": member_id})
            return
        names = {name for name, _ in protocols}
        others = [m for m in group.members.values() if m.member_id != member_id]
        if others and not all(names & {n for n, _ in m.protocols} for m in others):
            respond({"error_code": INCONSISTENT_GROUP_PROTOCOL, "member_id": member_id})
            return
        lab, real = self._lab_now(), self._real_now()
        if not member_id:
            # Kafka's ids are client id + a UUID; a counter keeps them short in views.
            member_id = f"{client_id or 'consumer'}-{next(self._ids)}"
            member = Member(
                member_id,
                client_id,
                session_timeout_ms,
                rebalance_timeout_ms if rebalance_timeout_ms > 0 else session_timeout_ms,
                protocols,
                real,
                lab,
            )
            group.members[member_id] = member
            self._prepare(group, f"{member_id} joined")
        else:
            member = group.members[member_id]
            member.last_seen_real, member.last_seen_lab = real, lab
            # Kafka's rules for a member the group knows (GroupCoordinator.handleJoinGroup,
            # https://github.com/apache/kafka/blob/2.8/core/src/main/scala/kafka/coordinator/group/GroupCoordinator.scala):
            # with its metadata unchanged, a follower of a Stable group, or any member while
            # the group completes a rebalance, gets the current generation back at once (it
            # may have missed the first answer, or its client retried a join it had finished);
            # only the leader (which rejoins to reassign after topic metadata changed) or a
            # member whose subscription changed starts a rebalance. Rebalancing on every
            # rejoin would make each retried join restart the whole group's rebalance.
            same = member.protocols == protocols
            if same and (
                group.state == "CompletingRebalance"
                or (group.state == "Stable" and member_id != group.leader)
            ):
                respond(self._join_answer(group, member))
                return
            member.protocols = protocols
            if group.state in ("Stable", "CompletingRebalance", "Empty"):
                reason = "the leader rejoined" if member_id == group.leader else "changed"
                self._prepare(group, f"{member_id} rejoined ({reason})")
        group.protocol_type = protocol_type
        member.join = respond
        self._try_complete_join(group)

    def sync(
        self,
        group_id: str,
        member_id: str,
        generation: int,
        assignments: dict[str, bytes],
        respond: Respond,
    ) -> None:
        """SyncGroup: the leader's assignment reaches every member."""
        group = self.group(group_id)
        member = group.members.get(member_id)
        if member is None:
            respond({"error_code": UNKNOWN_MEMBER_ID})
            return
        if generation != group.generation:
            respond({"error_code": ILLEGAL_GENERATION})
            return
        if group.state == "PreparingRebalance":
            respond({"error_code": REBALANCE_IN_PROGRESS})
            return
        self._seen(member)
        if group.state == "Stable":
            respond({"error_code": NONE, "assignment": member.assignment})
            return
        member.sync = respond
        if member_id == group.leader:
            for mid, m in group.members.items():
                m.assignment = assignments.get(mid, b"")
            group.state = "Stable"
            if group.rebalances and group.rebalances[-1].generation == group.generation:
                group.rebalances[-1].assignment = {
                    mid: m.assignment for mid, m in group.members.items()
                }
            for m in group.members.values():
                if m.sync is not None:
                    answer, m.sync = m.sync, None
                    answer({"error_code": NONE, "assignment": m.assignment})

    def heartbeat(self, group_id: str, member_id: str, generation: int) -> int:
        """Heartbeat: the error code that tells a member whether to rejoin."""
        group = self.group(group_id)
        member = group.members.get(member_id)
        if member is None:
            return UNKNOWN_MEMBER_ID
        self._seen(member)
        if group.state in ("PreparingRebalance", "CompletingRebalance"):
            return REBALANCE_IN_PROGRESS
        if generation != group.generation:
            return ILLEGAL_GENERATION
        return NONE

    def leave(self, group_id: str, member_ids: list[str]) -> dict[str, int]:
        """LeaveGroup: each member's error code; the rest of the group rebalances."""
        group = self.group(group_id)
        out: dict[str, int] = {}
        for member_id in member_ids:
            if self._drop(group, member_id) is None:
                out[member_id] = UNKNOWN_MEMBER_ID
                continue
            out[member_id] = NONE
            self._after_removal(group, f"{member_id} left")
        return out

    # -- offsets ------------------------------------------------------------------------------
    def commit(
        self,
        group_id: str,
        member_id: str,
        generation: int,
        offsets: list[tuple[str, int, int, str | None]],
    ) -> int:
        """OffsetCommit: one error code for the whole request (Kafka answers it per partition).

        A commit without a generation (``-1``, a consumer with manual assignment) is stored when
        the group has no members; a member commits with the current generation, and during
        ``PreparingRebalance`` too (that is when ``on_partitions_revoked`` commits).
        """
        group = self.group(group_id)
        if generation >= 0 or member_id:
            member = group.members.get(member_id)
            if member is None:
                return UNKNOWN_MEMBER_ID
            if generation != group.generation:
                return ILLEGAL_GENERATION
            if group.state == "CompletingRebalance":
                return REBALANCE_IN_PROGRESS
            self._seen(member)
        elif group.members:
            return UNKNOWN_MEMBER_ID
        now = self._lab_now()
        for topic, partition, offset, metadata in offsets:
            group.offsets[(topic, partition)] = (offset, metadata, now)
        return NONE

    def committed(self, group_id: str, topic: str, partition: int) -> int:
        """The committed offset of one partition for a group, ``-1`` when none."""
        group = self.groups.get(group_id)
        if group is None:
            return -1
        entry = group.offsets.get((topic, partition))
        return entry[0] if entry else -1

    # -- time ---------------------------------------------------------------------------------
    def tick(self) -> None:
        """End expired sessions and rebalances that waited too long (the broker calls this)."""
        real, lab = self._real_now(), self._lab_now()
        for group in list(self.groups.values()):
            for member in list(group.members.values()):
                if member.join is not None:
                    continue  # waiting in a rebalance: the rebalance timeout applies
                timeout = member.session_timeout_ms / 1000
                silent_real = real - member.last_seen_real
                silent_lab = lab - member.last_seen_lab
                if silent_real > timeout or (silent_lab > timeout and silent_real > LIVE_GRACE):
                    self._drop(group, member.member_id)
                    self._after_removal(group, f"{member.member_id}'s session expired")
            if group.state == "PreparingRebalance" and real > group.deadline:
                for member in list(group.members.values()):
                    if member.join is None:
                        self._drop(group, member.member_id)
                self._try_complete_join(group, forced=True)

    # -- internals ----------------------------------------------------------------------------
    def _drop(self, group: Group, member_id: str) -> Member | None:
        """Remove a member; a JoinGroup or SyncGroup it still waits on is answered, so that the
        connection it came on is not held for ever (a broker answers every request)."""
        member = group.members.pop(member_id, None)
        if member is not None:
            for answer in (member.join, member.sync):
                if answer is not None:
                    answer({"error_code": UNKNOWN_MEMBER_ID, "member_id": member_id})
            member.join = member.sync = None
        return member

    def _seen(self, member: Member) -> None:
        member.last_seen_real, member.last_seen_lab = self._real_now(), self._lab_now()

    def _prepare(self, group: Group, reason: str) -> None:
        if group.state != "PreparingRebalance":
            group.pending_reason = reason
            group.state = "PreparingRebalance"
            # Members still waiting for a SyncGroup answer learn the rebalance from it.
            for m in group.members.values():
                if m.sync is not None:
                    answer, m.sync = m.sync, None
                    answer({"error_code": REBALANCE_IN_PROGRESS})
        else:
            group.pending_reason += f"; {reason}"
        longest = max((m.rebalance_timeout_ms for m in group.members.values()), default=0)
        group.deadline = self._real_now() + longest / 1000

    def _after_removal(self, group: Group, reason: str) -> None:
        if group.members:
            self._prepare(group, reason)
            self._try_complete_join(group)
        else:
            group.generation += 1
            group.state, group.leader, group.protocol = "Empty", None, None
            group.rebalances.append(Rebalance(self._lab_now(), group.generation, reason, []))

    def _try_complete_join(self, group: Group, forced: bool = False) -> None:
        if group.state != "PreparingRebalance":
            return
        members = list(group.members.values())
        if not members:
            self._after_removal(group, group.pending_reason)
            return
        if not forced and any(m.join is None for m in members):
            return
        group.generation += 1
        if group.leader not in group.members:
            group.leader = members[0].member_id
        leader = group.members[group.leader]
        common = set.intersection(*({n for n, _ in m.protocols} for m in members))
        group.protocol = next(n for n, _ in leader.protocols if n in common)
        group.state = "CompletingRebalance"
        group.rebalances.append(
            Rebalance(self._lab_now(), group.generation, group.pending_reason, list(group.members))
        )
        for m in members:
            answer, m.join = m.join, None
            self._seen(m)
            if answer is not None:
                answer(self._join_answer(group, m))

    def _join_answer(self, group: Group, member: Member) -> dict[str, Any]:
        """A JoinGroup answer for the current generation; the leader gets every member's
        subscription, to compute the assignment from."""
        members = []
        if member.member_id == group.leader:
            members = [
                (m.member_id, dict(m.protocols).get(group.protocol or "", b""))
                for m in group.members.values()
            ]
        return {
            "error_code": NONE,
            "generation_id": group.generation,
            "protocol_type": group.protocol_type,
            "protocol_name": group.protocol,
            "leader": group.leader,
            "member_id": member.member_id,
            "members": members,
        }
