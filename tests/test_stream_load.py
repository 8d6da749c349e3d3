"""The streaming load simulator: seeded fleets, key-to-shard arithmetic that matches Kinesis."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from labkit.lab import Lab
from labkit.services.kinesis.sim_load import (
    HASH_SPACE,
    TruckFleet,
    hash_key,
    hottest_share,
    merge,
    records,
    shard_index,
    spread,
    ticks,
    uniform_ranges,
)


def test_hash_key_is_md5_read_as_a_128_bit_number() -> None:
    # MD5("") = d41d8cd98f00b204e9800998ecf8427e
    assert hash_key("") == 0xD41D8CD98F00B204E9800998ECF8427E
    assert 0 <= hash_key("T-00042") < HASH_SPACE


def test_uniform_ranges_cover_the_space_without_gaps() -> None:
    for count in (1, 2, 3, 7):
        ranges = uniform_ranges(count)
        assert ranges[0][0] == 0 and ranges[-1][1] == HASH_SPACE - 1
        assert all(ranges[i][1] + 1 == ranges[i + 1][0] for i in range(count - 1))
    with pytest.raises(ValueError, match="at least one shard"):
        uniform_ranges(0)


def test_the_arithmetic_predicts_the_shard_kinesis_chooses(lab: Lab) -> None:
    kinesis = lab.client("kinesis")
    kinesis.create_stream(StreamName="s", ShardCount=3)
    listed = kinesis.list_shards(StreamName="s")["Shards"]
    assert [
        (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
        for s in listed
    ] == uniform_ranges(3)
    ranges = uniform_ranges(3)
    for key in (f"T-{i:05d}" for i in range(40)):
        shard = kinesis.put_record(StreamName="s", Data=b"x", PartitionKey=key)["ShardId"]
        assert shard == listed[shard_index(key, ranges)]["ShardId"]


def test_spread_and_the_hottest_share() -> None:
    assert sorted(spread(["same"] * 10, 4)) == [0, 0, 0, 10]
    assert hottest_share(spread(["same"] * 10, 4)) == 1.0
    counts = spread([f"T-{i:05d}" for i in range(10_000)], 4)
    assert sum(counts) == 10_000
    assert hottest_share(counts) < 0.27
    assert hottest_share([]) == 0.0


def test_a_fleet_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    first = TruckFleet(50, seed=3).readings(seconds=20, every=5)
    again = TruckFleet(50, seed=3).readings(seconds=20, every=5)
    other = TruckFleet(50, seed=4).readings(seconds=20, every=5)
    assert first == again
    assert first != other


def test_every_truck_reports_on_schedule_with_growing_seq() -> None:
    fleet = TruckFleet(100, seed=1)
    readings = fleet.readings(seconds=30, every=5, start=10, first_seq=7)
    assert len(readings) == 100 * 6
    assert [r.at for r in readings] == sorted(r.at for r in readings)
    assert all(10 <= r.at < 40 for r in readings)
    per_truck: dict[str, list[int]] = {}
    for r in readings:
        per_truck.setdefault(r.truck_id, []).append(r.seq)
        assert r.region == fleet.region_of(r.truck_id)
    assert all(seqs == list(range(7, 13)) for seqs in per_truck.values())


def test_a_burst_is_one_instant_round_robin_over_trucks() -> None:
    burst = TruckFleet(10, seed=1).burst(25, at=3.0, trucks=5)
    assert {r.at for r in burst} == {3.0}
    assert Counter(r.truck_id for r in burst) == {f"T-{i:05d}": 5 for i in range(5)}
    assert [r.seq for r in burst if r.truck_id == "T-00002"] == [0, 1, 2, 3, 4]


def test_a_chatty_truck_sends_at_its_rate() -> None:
    fleet = TruckFleet(10, seed=1)
    chatty = fleet.chatty("T-00003", rate=200, seconds=2.5)
    assert len(chatty) == 500 and {r.truck_id for r in chatty} == {"T-00003"}
    assert chatty[-1].at < 2.5
    with pytest.raises(ValueError, match="not a truck"):
        fleet.chatty("T-99999", rate=1, seconds=1)


def test_ticks_group_readings_by_slot_and_merge_keeps_time_order() -> None:
    fleet = TruckFleet(20, seed=2)
    load = merge(fleet.readings(seconds=10, every=5), fleet.burst(30, at=4.0))
    assert [r.at for r in load] == sorted(r.at for r in load)
    groups = list(ticks(load, step=2.0))
    assert sum(len(g) for _, g in groups) == len(load)
    for start, group in groups:
        assert all(start <= r.at < start + 2.0 for r in group)


def test_records_carry_newline_terminated_json_and_the_chosen_key() -> None:
    reading = TruckFleet(3, seed=1).burst(1)[0]
    [entry] = records([reading], lambda r: r["truck_id"])
    assert entry["PartitionKey"] == "T-00000"
    assert entry["Data"].endswith(b"\n")
    assert json.loads(entry["Data"]) == reading.as_dict()
    padded = reading.data(history=70)
    assert len(json.loads(padded)["track"]) == 70 and 1_300 < len(padded) < 1_700
