"""lab.kafka_view: partitions and log offsets, a group's committed offsets and lag, rebalances."""

from __future__ import annotations

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from labkit.lab import Lab
from labkit.services.kafka.view import UnknownKafkaClusterError


def test_the_view_shows_offsets_committed_offsets_lag_and_rebalances(lab: Lab) -> None:
    with pytest.raises(UnknownKafkaClusterError, match="none yet"):
        lab.kafka_view()
    kafka = lab.client("kafka")
    arn = kafka.create_cluster(
        ClusterName="shop",
        KafkaVersion="3.6.0",
        NumberOfBrokerNodes=2,
        BrokerNodeGroupInfo={"InstanceType": "kafka.m5.large", "ClientSubnets": ["a", "b"]},
        EncryptionInfo={"EncryptionInTransit": {"ClientBroker": "TLS_PLAINTEXT"}},
    )["ClusterArn"]
    boot = kafka.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"]
    admin = KafkaAdminClient(bootstrap_servers=boot)
    admin.create_topics([NewTopic("orders", 2, 2)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=boot)
    for i in range(10):
        producer.send("orders", value=str(i).encode(), partition=i % 2)
    producer.flush()
    producer.close()

    reader = KafkaConsumer(
        "orders",
        bootstrap_servers=boot,
        group_id="billing",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    got = 0
    while got < 10:
        got += sum(len(r) for r in reader.poll(timeout_ms=200).values())
    reader.commit({TopicPartition("orders", 0): _meta(3)})  # partition 1: nothing committed

    view = lab.kafka_view("shop")
    snap = view.snapshot
    assert [(p.index, p.log_start, p.log_end) for p in snap.partitions] == [(0, 0, 5), (1, 0, 5)]
    assert {p.leader for p in snap.partitions} == {1, 2}  # leadership spread over the brokers
    (group,) = snap.groups
    assert group.state == "Stable" and len(group.members) == 1
    lag = {p.index: (p.committed, p.lag) for p in group.partitions}
    assert lag == {0: (3, 2), 1: (None, None)}
    assert group.rebalances[-1].assignment[0][1] == ("orders-0", "orders-1")
    text = str(view)
    assert "2 behind" in text and "nothing committed" in text and "joined" in text
    html = view._repr_html_()
    assert "2 behind" in html and "orders-1" in html

    admin = KafkaAdminClient(bootstrap_servers=boot)  # what the group APIs say agrees
    assert [g["group_id"] for g in admin.list_groups()] == ["billing"]
    described = admin.describe_groups(["billing"])["billing"]
    assert described["group_state"] == "Stable"
    (member,) = described["members"]
    assert member["member_assignment"]["assigned_partitions"] == [
        {"topic": "orders", "partitions": [0, 1]}
    ]
    offsets = admin.list_group_offsets("billing")["billing"]
    assert {tp.partition: m.offset for tp, m in offsets.items()} == {0: 3}
    admin.close()

    reader.close()  # the member leaves: the group is empty, its committed offsets stay
    (group,) = lab.kafka_view(arn).snapshot.groups
    assert group.state == "Empty" and "left" in group.rebalances[-1].reason
    assert {p.index: p.committed for p in group.partitions} == {0: 3}


def _meta(offset: int) -> object:
    from kafka.structs import OffsetAndMetadata

    return OffsetAndMetadata(offset, "", -1)
