"""Kinesis benchmark: put_records of 500 records with labkit's shard limits against stock moto.

Prints, measured in the same run (medians of interleaved batches):
- put_records of 500 records (100-byte records, 4 shards) on stock moto (``mock_aws``) and in a
  labkit sandbox with limits enforced (the lab clock moves 1 s between calls, so nothing is
  throttled), and the ratio: once as the first call on a fresh stream each time, once as 20
  calls in a row into one stream (stock moto finds each shard's last sequence number by listing
  all its records, so it slows as shards fill; labkit keeps a counter);
- the same call when every record is refused (the shards are already full this second);
- get_records of 500 records on both;
- the cost of one ShardMeter.admit_write (the per-record limit check).

Target (the Streaming lab issue): labkit's put_records within 1.25x of stock moto's.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import support

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

CALLS = 20
BATCHES = 9
RECORDS = [{"Data": b"x" * 100, "PartitionKey": f"key-{i}"} for i in range(500)]


def timed(fn: Callable[[], Any], between: Callable[[], Any] | None = None) -> float:
    """Milliseconds per call of ``fn`` over ``CALLS`` calls (``between`` runs untimed)."""
    return support.timed(lambda _i: fn(), CALLS, before=between)[0]


def fresh(client: Any, prefix: str, before: Callable[[], Any] | None = None) -> float:
    """Milliseconds per put_records, each the first call on a new stream."""
    names = iter(range(CALLS))
    current: list[str] = []

    def new_stream() -> None:
        if before is not None:
            before()
        current[:] = [f"{prefix}-fresh-{next(names)}"]
        client.create_stream(StreamName=current[0], ShardCount=4)

    return timed(lambda: client.put_records(StreamName=current[0], Records=RECORDS), new_stream)


def stock_put(round_no: int) -> tuple[float, float, float]:
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("kinesis", region_name="us-east-1")
        first = fresh(client, f"bench-{round_no}")
        name = f"bench-{round_no}"
        client.create_stream(StreamName=name, ShardCount=4)
        put = timed(lambda: client.put_records(StreamName=name, Records=RECORDS))
        shard = client.list_shards(StreamName=name)["Shards"][0]["ShardId"]
        it = client.get_shard_iterator(
            StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        get = timed(lambda: client.get_records(ShardIterator=it, Limit=500))
    return first, put, get


def labkit_put(round_no: int) -> tuple[float, float, float, float]:
    import labkit

    lab = labkit.start(quiet=True)
    try:
        client = lab.client("kinesis")
        first = fresh(client, f"bench-{round_no}", before=lambda: lab.clock.advance(1))
        name = f"bench-{round_no}"
        client.create_stream(StreamName=name, ShardCount=4)
        put = timed(
            lambda: client.put_records(StreamName=name, Records=RECORDS),
            between=lambda: lab.clock.advance(1),
        )
        # Fill every shard for this second, then time calls whose 500 records are all refused.
        client.put_records(StreamName=name, Records=RECORDS)
        client.put_records(StreamName=name, Records=RECORDS)
        full = [{"Data": b"x" * 100_000, "PartitionKey": f"key-{i}"} for i in range(40)]
        client.put_records(StreamName=name, Records=full)
        throttled = timed(lambda: client.put_records(StreamName=name, Records=RECORDS))
        lab.clock.advance(1)
        shard = client.list_shards(StreamName=name)["Shards"][0]["ShardId"]
        it = client.get_shard_iterator(
            StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        get = timed(
            lambda: client.get_records(ShardIterator=it, Limit=500),
            between=lambda: lab.clock.advance(0.25),  # five calls per second per shard
        )
    finally:
        lab.stop()
    return first, put, throttled, get


def meter_cost() -> float:
    """Nanoseconds per ShardMeter.admit_write, records spread over time so most are accepted."""
    from labkit.services.kinesis.sim_throughput import ShardLimits, ShardMeter

    meter = ShardMeter(ShardLimits.from_facts())
    n = 200_000
    t = time.perf_counter()
    for i in range(n):
        meter.admit_write(i / 1000.0, 100)
    return (time.perf_counter() - t) / n * 1e9


def main() -> None:
    stock_firsts: list[float] = []
    stock_puts: list[float] = []
    stock_gets: list[float] = []
    lab_firsts: list[float] = []
    lab_puts: list[float] = []
    lab_throttled: list[float] = []
    lab_gets: list[float] = []
    stock_put(-1)  # warm both paths (imports, first-call costs)
    labkit_put(-1)
    for round_no in range(BATCHES):
        first, put, get = stock_put(round_no)
        stock_firsts.append(first)
        stock_puts.append(put)
        stock_gets.append(get)
        first, put, throttled, get = labkit_put(round_no)
        lab_firsts.append(first)
        lab_puts.append(put)
        lab_throttled.append(throttled)
        lab_gets.append(get)
    sf, lf = statistics.median(stock_firsts), statistics.median(lab_firsts)
    sp, lp = statistics.median(stock_puts), statistics.median(lab_puts)
    sg, lg = statistics.median(stock_gets), statistics.median(lab_gets)
    print(f"put_records x500 on a fresh stream, stock moto:   {sf:8.2f} ms/call")
    print(f"put_records x500 on a fresh stream, labkit:       {lf:8.2f} ms/call")
    print(f"  ratio labkit/stock:                             {lf / sf:8.2f}x (target <= 1.25x)")
    print(f"put_records x500, 20 in a row, stock moto:        {sp:8.2f} ms/call")
    print(f"put_records x500, 20 in a row, labkit:            {lp:8.2f} ms/call")
    print(f"  ratio labkit/stock:                             {lp / sp:8.2f}x (target <= 1.25x)")
    print(
        "put_records x500, labkit, all 500 throttled:      "
        f"{statistics.median(lab_throttled):8.2f} ms/call"
    )
    print(f"get_records 500, stock moto:                      {sg:8.2f} ms/call")
    print(f"get_records 500, labkit:                          {lg:8.2f} ms/call  ({lg / sg:.2f}x)")
    print(f"ShardMeter.admit_write:                           {meter_cost():8.0f} ns/record")


if __name__ == "__main__":
    main()
