"""The per-shard throughput meters (plain Python, no moto)."""

from __future__ import annotations

import pytest

from labkit import facts
from labkit.services.kinesis.sim_throughput import (
    READ_BYTES,
    READ_CALLS,
    RateWindow,
    ShardLimits,
    ShardMeter,
)

MIB = 1024 * 1024
LIMITS = ShardLimits(
    write_bytes_per_second=MIB,
    write_records_per_second=1000,
    read_bytes_per_second=2 * MIB,
    read_calls_per_second=5,
)
T0 = 1_767_603_600.0


def test_limits_come_from_the_fact_table() -> None:
    limits = ShardLimits.from_facts()
    assert limits.write_bytes_per_second == facts.value("kinesis.shard_write_bytes_per_second")
    assert limits.write_records_per_second == facts.value("kinesis.shard_write_records_per_second")
    assert limits.read_bytes_per_second == facts.value("kinesis.shard_read_bytes_per_second")
    assert limits.read_calls_per_second == facts.value("kinesis.shard_read_transactions_per_second")


def test_rate_window_counts_the_last_second_only() -> None:
    window = RateWindow(1.0, limit_a=100, limit_b=10)
    assert window.try_add(T0, 60, 1)
    assert not window.try_add(T0 + 0.5, 60, 1)  # 120 bytes in (T0-0.5, T0+0.5]
    assert window.totals(T0 + 0.5) == (60, 1)
    assert window.try_add(T0 + 1.0, 60, 1)  # the first entry left the window at T0 + 1
    assert window.totals(T0 + 1.0) == (60, 1)


def test_rate_window_merges_one_instant_into_one_entry() -> None:
    window = RateWindow(1.0, limit_a=10_000, limit_b=10_000)
    for _ in range(500):
        assert window.try_add(T0, 1, 1)
    assert len(window._queue) == 1
    assert window.totals(T0) == (500, 500)


def test_a_thousand_records_fill_a_shard_for_one_second() -> None:
    meter = ShardMeter(LIMITS)
    assert all(meter.admit_write(T0, 10) for _ in range(1000))
    assert not meter.admit_write(T0, 10)
    assert not meter.admit_write(T0 + 0.999, 10)
    assert meter.admit_write(T0 + 1.0, 10)
    assert meter.throttled_writes == 2
    assert meter.total_write_records == 1001


def test_one_mib_per_second_and_a_refused_record_uses_no_capacity() -> None:
    meter = ShardMeter(LIMITS)
    assert meter.admit_write(T0, 1_000_000)
    assert not meter.admit_write(T0, 100_000)  # would exceed 1 MiB
    assert meter.admit_write(T0, 48_000)  # still fits: the refused record took nothing
    assert meter.usage(T0).write_bytes == 1_048_000


def test_five_read_calls_per_second() -> None:
    meter = ShardMeter(LIMITS)
    for _ in range(5):
        assert meter.admit_read(T0) is None
        meter.record_read(T0, 100)
    assert meter.admit_read(T0 + 0.5) == READ_CALLS
    assert meter.admit_read(T0 + 1.0) is None
    assert meter.throttled_reads == 1


def test_calls_of_unmetered_consumers_are_reserved() -> None:
    meter = ShardMeter(LIMITS)
    for _ in range(4):
        assert meter.admit_read(T0, reserved_calls=1) is None
        meter.record_read(T0, 0)
    assert meter.admit_read(T0, reserved_calls=1) == READ_CALLS


def test_two_mib_per_second_of_reads_in_any_pattern() -> None:
    meter = ShardMeter(LIMITS)
    assert meter.admit_read(T0) is None
    meter.record_read(T0, MIB)
    assert meter.admit_read(T0) is None
    meter.record_read(T0, MIB)  # 2 MiB read: the second is used up
    assert meter.admit_read(T0 + 0.5) == READ_BYTES
    assert meter.admit_read(T0 + 1.0) is None


def test_a_ten_mib_read_blocks_the_shard_for_five_seconds() -> None:
    # "If a call to GetRecords returns 10 MiB, subsequent calls made within the next 5 seconds
    # throw an exception."
    meter = ShardMeter(LIMITS)
    assert meter.admit_read(T0) is None
    meter.record_read(T0, 10 * MIB)
    assert meter.admit_read(T0 + 4.9) == READ_BYTES
    assert meter.usage(T0 + 4.9).read_blocked_until == pytest.approx(T0 + 5.0)
    assert meter.admit_read(T0 + 5.0) is None


def test_bytes_charged_by_another_consumer_are_shared() -> None:
    meter = ShardMeter(LIMITS)
    meter.charge_read(T0, 2 * MIB)
    assert meter.admit_read(T0) == READ_BYTES
    assert meter.admit_read(T0 + 1.0) is None


def test_usage_reports_the_last_second_against_the_limits() -> None:
    meter = ShardMeter(LIMITS)
    for _ in range(250):
        meter.admit_write(T0, 1024)
    meter.admit_read(T0)
    meter.record_read(T0, 4096)
    usage = meter.usage(T0 + 0.5)
    assert (usage.write_records, usage.write_bytes) == (250, 250 * 1024)
    assert usage.write_records_fraction == pytest.approx(0.25)
    assert usage.write_bytes_fraction == pytest.approx(250 * 1024 / MIB)
    assert (usage.read_calls, usage.read_bytes) == (1, 4096)
    assert usage.read_calls_fraction == pytest.approx(0.2)
    later = meter.usage(T0 + 2.0)
    assert (later.write_records, later.read_calls) == (0, 0)
    assert (later.total_write_records, later.total_read_calls) == (250, 1)
