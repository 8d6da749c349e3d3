"""The DynamoDB capacity simulator: sizes, units, partitions, burst, on-demand peaks."""

from __future__ import annotations

import base64

import pytest

from labkit.services.dynamodb.sim_capacity import (
    EVENTUAL,
    READ,
    STRONG,
    TRANSACTIONAL,
    WRITE,
    CapacityLimits,
    TableCapacity,
    item_size,
    key_hash,
    number_size,
    partition_of,
    provisioned_partitions,
    read_units,
    spread,
    value_size,
    write_units,
)


def test_limits_come_from_the_fact_table() -> None:
    limits = CapacityLimits.from_facts()
    assert (limits.partition_max_rcu, limits.partition_max_wcu) == (3000, 1000)
    assert limits.burst_seconds == 300
    assert limits.item_size_max == 400 * 1024


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ({"S": "hello"}, 5),
        ({"S": "héllo"}, 6),  # UTF-8 bytes, not characters
        ({"N": "7"}, 2),
        ({"N": "123456"}, 4),
        ({"N": "1000000"}, 2),  # trailing zeroes trimmed
        ({"N": "-0.00125"}, 3),  # leading zeroes trimmed, sign not a digit
        ({"B": base64.b64encode(b"\x00" * 10).decode()}, 10),  # raw bytes, not base64
        ({"B": b"abc"}, 3),
        ({"BOOL": True}, 1),
        ({"NULL": True}, 1),
        ({"SS": ["ab", "cde"]}, 5),
        ({"L": []}, 3),
        ({"L": [{"S": "ab"}, {"N": "1"}]}, 3 + (1 + 2) + (1 + 2)),
        ({"M": {"k": {"S": "v"}}}, 3 + 1 + 1 + 1),
    ],
)
def test_value_sizes_follow_aws_rules(value: dict[str, object], size: int) -> None:
    assert value_size(value) == size


def test_item_size_counts_names_and_values() -> None:
    item = {"pk": {"S": "user#1"}, "visits": {"N": "42"}}
    assert item_size(item) == 2 + 6 + 6 + number_size("42")


def test_unknown_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown DynamoDB type"):
        value_size({"X": "1"})


def test_read_and_write_units_round_up_per_consistency() -> None:
    assert read_units(1, STRONG) == 1
    assert read_units(4096, STRONG) == 1
    assert read_units(4097, STRONG) == 2
    assert read_units(10 * 1024, EVENTUAL) == 1.5
    assert read_units(8 * 1024, TRANSACTIONAL) == 4
    assert read_units(0, EVENTUAL) == 0.5  # a read costs at least one block
    assert write_units(1024) == 1
    assert write_units(1025) == 2
    assert write_units(3000, transactional=True) == 6


def test_partition_count_follows_throughput_and_size() -> None:
    assert provisioned_partitions(5, 5) == 1
    assert provisioned_partitions(3000, 1000) == 2
    assert provisioned_partitions(6000, 0) == 2
    assert provisioned_partitions(1, 1, size_bytes=25 * 1024**3) == 3


def test_key_hashing_is_deterministic_and_spreads() -> None:
    assert key_hash({"S": "a"}) == key_hash({"S": "a"})
    assert key_hash({"N": "1"}) == key_hash({"N": "1.0"})
    counts = spread(({"S": f"user#{i}"} for i in range(4000)), 4)
    assert sum(counts) == 4000
    assert min(counts) > 800  # MD5 spreads well-distributed keys evenly
    assert all(0 <= partition_of(key_hash({"S": str(i)}), 4) < 4 for i in range(100))


def test_a_partition_serves_its_share_per_second() -> None:
    cap = TableCapacity(on_demand=False, rcu=10, wcu=5, now=100.0)
    h = key_hash({"S": "k"})
    assert [cap.try_consume(100.2, WRITE, h, 1.0) for _ in range(6)] == [True] * 5 + [False]
    # Reads have their own meter.
    assert all(cap.try_consume(100.5, READ, h, 1.0) for _ in range(10))
    assert not cap.try_consume(100.5, READ, h, 0.5)
    assert cap.try_consume(101.0, WRITE, h, 1.0)  # the next second
    assert cap.throttled_total == (1, 1)


def test_burst_accrues_from_creation() -> None:
    cap = TableCapacity(on_demand=False, rcu=1, wcu=2, now=0.0)
    h = key_hash({"S": "k"})
    served = sum(cap.try_consume(10.0, WRITE, h, 1.0) for _ in range(100))
    assert served == 2 * 10 + 2  # ten idle seconds of 2 WCU, plus this second's share


def test_unused_capacity_becomes_burst_up_to_300_seconds() -> None:
    cap = TableCapacity(on_demand=False, rcu=1, wcu=10, now=0.0)
    h = key_hash({"S": "k"})
    assert cap.try_consume(0.0, WRITE, h, 1.0)
    # 1,000 idle seconds keep only 300 seconds of the 10 WCU share: 3,000 units of burst.
    now = 1000.0
    served = 0
    while cap.try_consume(now, WRITE, h, 10.0):
        served += 10
    assert served == 1000  # capped by the partition maximum within one second
    # Closing the second spends the burst it used: 3,000 + 10 (its share) - 1,000.
    assert cap.partitions(now + 1)[0].burst[WRITE] == pytest.approx(2010)
    # Spent burst is gone in the following seconds.
    served_next = 0
    while cap.try_consume(now + 1, WRITE, h, 10.0):
        served_next += 10
    assert served_next == 1000
    assert cap.partitions(now + 2)[0].burst[WRITE] == pytest.approx(1020)


def test_a_hot_key_throttles_while_the_table_total_is_unused() -> None:
    cap = TableCapacity(on_demand=False, rcu=3000, wcu=2000, now=5.0)
    assert cap.partition_count == 3  # 3000/3000 + 2000/1000
    hot = key_hash({"S": "celebrity"})
    served = sum(cap.try_consume(5.0, WRITE, hot, 1.0) for _ in range(1000))
    share = 2000 / 3
    assert served == int(share)
    used = sum(p.used[WRITE] for p in cap.partitions(5.0))
    assert used < 2000 / 2  # most of the table's write capacity went unused
    # Spread keys fit: the other partitions still serve.
    others = [
        h
        for h in (key_hash({"S": f"u{i}"}) for i in range(50))
        if cap.partition(h) != cap.partition(hot)
    ]
    assert cap.try_consume(5.0, WRITE, others[0], 1.0)


def test_adaptive_capacity_lends_unused_share_up_to_the_partition_maximum() -> None:
    cap = TableCapacity(on_demand=False, rcu=3000, wcu=2000, now=5.0, adaptive=True)
    hot = key_hash({"S": "celebrity"})
    served = sum(cap.try_consume(5.0, WRITE, hot, 1.0) for _ in range(1500))
    assert served == 1000  # the partition maximum, not the table's 2,000


def test_a_large_item_is_slow_not_impossible() -> None:
    cap = TableCapacity(on_demand=False, rcu=1, wcu=5, now=0.0)
    h = key_hash({"S": "k"})
    assert cap.try_consume(0.0, WRITE, h, 40.0)  # 40 KB on a 5 WCU table: goes into debt
    assert not cap.try_consume(1.0, WRITE, h, 1.0)  # paying back
    assert not cap.try_consume(5.0, WRITE, h, 1.0)
    assert cap.try_consume(8.0, WRITE, h, 1.0)  # 35 units paid back at 5 per second


def test_on_demand_serves_double_its_previous_peak() -> None:
    cap = TableCapacity(on_demand=True, now=0.0)
    assert cap.table_limit(WRITE) == 4000 and cap.table_limit(READ) == 12000
    assert cap.partition_count == 4
    keys = [key_hash({"S": f"k{i}"}) for i in range(5000)]
    served = sum(cap.try_consume(1.0, WRITE, h, 1.0) for h in keys)
    assert served == 4000
    # Within the same 30 minutes the limit stays; after it, the new peak (4,000) doubles it.
    assert cap.table_limit(WRITE) == 4000
    cap.seconds(1799.0)
    assert cap.table_limit(WRITE) == 4000
    cap.seconds(1800.0)
    assert cap.table_limit(WRITE) == 8000
    assert cap.partition_count == 8


def test_on_demand_partition_still_caps_a_hot_key() -> None:
    cap = TableCapacity(on_demand=True, now=0.0)
    hot = key_hash({"S": "hot"})
    served = sum(cap.try_consume(1.0, WRITE, hot, 1.0) for _ in range(2000))
    assert served == 1000


def test_provisioned_changes_split_partitions_and_never_merge() -> None:
    cap = TableCapacity(on_demand=False, rcu=10, wcu=10, now=0.0)
    cap.set_provisioned(100, 4000, now=1.0)
    assert cap.partition_count == 5
    cap.set_provisioned(10, 10, now=2.0)
    assert cap.partition_count == 5
    assert cap.partitions(2.0)[0].rate == (2.0, 2.0)
    cap.set_on_demand(now=3.0)
    assert cap.on_demand and cap.table_limit(WRITE) >= 4000


def test_history_reports_consumed_limit_and_throttles_per_second() -> None:
    cap = TableCapacity(on_demand=False, rcu=5, wcu=2, now=10.0)
    h = key_hash({"S": "k"})
    for _ in range(3):
        cap.try_consume(10.0, WRITE, h, 1.0)
    cap.try_consume(12.5, READ, h, 0.5)
    seconds = cap.seconds(13.0, span=5)
    assert [s.second for s in seconds] == [9, 10, 11, 12, 13]
    ten = seconds[1]
    assert ten.consumed == (0.0, 2.0) and ten.throttled == (0, 1) and ten.limit == (5.0, 2.0)
    assert seconds[3].consumed == (0.5, 0.0)
    assert seconds[2].consumed == (0.0, 0.0)


def test_spread_reads_fit_only_when_every_partition_has_room() -> None:
    cap = TableCapacity(on_demand=False, rcu=6000, wcu=10, now=0.0)
    assert cap.partition_count == 3
    assert cap.fits_spread(0.0, READ, 5000)
    cap.consume_spread(0.0, READ, 5000)
    assert not cap.fits_spread(0.0, READ, 2000)
