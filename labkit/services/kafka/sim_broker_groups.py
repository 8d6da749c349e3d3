"""The consumer-group requests of the embedded Kafka broker (JoinGroup, SyncGroup, Heartbeat,
LeaveGroup, OffsetCommit, OffsetFetch, DescribeGroups, ListGroups), answered from the group
coordinator (:mod:`labkit.services.kafka.sim_group`).

A mixin of :class:`labkit.services.kafka.sim_broker.KafkaCluster`, kept apart so that each module
holds one concept: the broker's connections and data requests there, the groups here. Its
methods use the cluster's ``coordinator``, ``_send``, ``_process`` and ``_coordinator_node``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

#: Kafka's error code for a topic the broker does not have (in the broker's ERRORS table too).
UNKNOWN_TOPIC_OR_PARTITION = 3

if TYPE_CHECKING:
    from labkit.services.kafka.sim_group import Coordinator
    from labkit.services.kafka.sim_log import Topic


class GroupApis:
    """The group requests' handlers, dispatched by name (``_on_<api>``) from the broker."""

    coordinator: Coordinator
    topics: dict[str, Topic]

    if TYPE_CHECKING:  # the broker's own, declared here for the type checker only

        def _send(self, conn: Any, response: Any, version: int, correlation_id: int) -> None: ...
        def _process(self, conn: Any) -> None: ...
        def _coordinator_node(self, key: str) -> Any: ...

    def _on_joingroup(self, conn: Any, req: Any, v: int, cid: int, cls: Any) -> None:
        conn.waiting = True

        def respond(fields: dict[str, Any]) -> None:
            members = [
                cls.JoinGroupResponseMember(member_id=m, group_instance_id=None, metadata=md)
                for m, md in fields.pop("members", [])
            ]
            fields.setdefault("generation_id", -1)
            fields.setdefault("protocol_type", None)
            fields.setdefault("protocol_name", None)
            fields.setdefault("leader", "")
            response = cls(version=v, throttle_time_ms=0, members=members, **fields)
            self._send(conn, response, v, cid)
            conn.waiting = False
            self._process(conn)

        # Kafka names a member after the client's client.id (the request header carries it).
        client_id = (req.header.client_id if req.header is not None else None) or "consumer"
        self.coordinator.join(
            req.group_id,
            req.member_id,
            client_id,
            req.session_timeout_ms,
            req.rebalance_timeout_ms if v >= 1 else req.session_timeout_ms,
            req.protocol_type,
            [(p.name, bytes(p.metadata)) for p in req.protocols],
            respond,
        )

    def _on_syncgroup(self, conn: Any, req: Any, v: int, cid: int, cls: Any) -> None:
        conn.waiting = True

        def respond(fields: dict[str, Any]) -> None:
            group = self.coordinator.groups.get(req.group_id)
            response = cls(
                version=v,
                throttle_time_ms=0,
                error_code=fields["error_code"],
                protocol_type=group.protocol_type if group else None,
                protocol_name=group.protocol if group else None,
                assignment=fields.get("assignment", b""),
            )
            self._send(conn, response, v, cid)
            conn.waiting = False
            self._process(conn)

        self.coordinator.sync(
            req.group_id,
            req.member_id,
            req.generation_id,
            {a.member_id: bytes(a.assignment) for a in req.assignments},
            respond,
        )

    def _on_heartbeat(self, conn: Any, req: Any, v: int, cid: int, cls: Any) -> None:
        code = self.coordinator.heartbeat(req.group_id, req.member_id, req.generation_id)
        self._send(conn, cls(version=v, throttle_time_ms=0, error_code=code), v, cid)

    def _on_leavegroup(self, conn: Any, req: Any, v: int, cid: int, cls: Any) -> None:
        ids = [req.member_id] if v < 3 else [m.member_id for m in req.members]
        codes = self.coordinator.leave(req.group_id, ids)
        members = [
            cls.MemberResponse(member_id=m, group_instance_id=None, error_code=c)
            for m, c in codes.items()
        ]
        top = codes[ids[0]] if v < 3 and ids else 0
        self._send(
            conn, cls(version=v, throttle_time_ms=0, error_code=top, members=members), v, cid
        )

    def _on_offsetcommit(self, conn: Any, req: Any, v: int, cid: int, cls: Any) -> None:
        offsets = [
            (t.name, p.partition_index, p.committed_offset, p.committed_metadata)
            for t in req.topics
            for p in t.partitions
        ]
        code = self.coordinator.commit(
            req.group_id, req.member_id, req.generation_id_or_member_epoch, offsets
        )
        Topic_ = cls.OffsetCommitResponseTopic
        Part = Topic_.OffsetCommitResponsePartition
        out = [
            Topic_(
                name=t.name,
                partitions=[
                    Part(
                        partition_index=p.partition_index,
                        error_code=code
                        or (0 if t.name in self.topics else UNKNOWN_TOPIC_OR_PARTITION),
                    )
                    for p in t.partitions
                ],
            )
            for t in req.topics
        ]
        self._send(conn, cls(version=v, throttle_time_ms=0, topics=out), v, cid)

    def _on_offsetfetch(self, conn: Any, req: Any, v: int, cid: int, cls: Any) -> None:
        group = self.coordinator.group(req.group_id)
        if req.topics is None:
            wanted: dict[str, list[int]] = {}
            for topic, partition in group.offsets:
                wanted.setdefault(topic, []).append(partition)
        else:
            wanted = {t.name: list(t.partition_indexes) for t in req.topics}
        Topic_ = cls.OffsetFetchResponseTopic
        Part = Topic_.OffsetFetchResponsePartition
        out = []
        for name, partitions in wanted.items():
            parts = []
            for p in partitions:
                entry = group.offsets.get((name, p))
                parts.append(
                    Part(
                        partition_index=p,
                        committed_offset=entry[0] if entry else -1,
                        committed_leader_epoch=-1,
                        metadata=(entry[1] if entry else "") or "",
                        error_code=0,
                    )
                )
            out.append(Topic_(name=name, partitions=parts))
        self._send(conn, cls(version=v, throttle_time_ms=0, topics=out, error_code=0), v, cid)

    def _on_describegroups(self, conn: Any, req: Any, v: int, cid: int, cls: Any) -> None:
        Described = cls.DescribedGroup
        out = []
        for group_id in req.groups:
            group = self.coordinator.group(group_id)
            out.append(
                Described(
                    error_code=0,
                    group_id=group_id,
                    group_state=group.state,
                    protocol_type=group.protocol_type,
                    protocol_data=group.protocol or "",
                    members=[
                        Described.DescribedGroupMember(
                            member_id=m.member_id,
                            group_instance_id=None,
                            client_id=m.client_id,
                            client_host="/127.0.0.1",
                            member_metadata=dict(m.protocols).get(group.protocol or "", b""),
                            member_assignment=m.assignment,
                        )
                        for m in group.members.values()
                    ],
                )
            )
        self._send(conn, cls(version=v, throttle_time_ms=0, groups=out), v, cid)

    def _on_listgroups(self, conn: Any, req: Any, v: int, cid: int, cls: Any) -> None:
        groups = [
            cls.ListedGroup(group_id=g.group_id, protocol_type=g.protocol_type, group_state=g.state)
            for g in self.coordinator.groups.values()
            # Each broker lists the groups it coordinates (the admin client asks every broker).
            if self._coordinator_node(g.group_id) is conn.node
        ]
        self._send(conn, cls(version=v, throttle_time_ms=0, error_code=0, groups=groups), v, cid)
