"""Stream view benchmark: render and update time with 100,000 records in a stream.

Prints, measured in the same run (medians of several repeats):
- render: a new stream view of a 4-shard stream holding 100,000 records (snapshot with the
  per-shard index built from nothing, HTML and text), the cost of opening the view on a full
  stream;
- update: the same view refreshed after 500 more records arrived (the index catches up with the
  new records only), what happens after each cell a learner runs;
- the parts of a render: the snapshot alone (cold and warm), the HTML and the text;
- for scale, on stock moto (``mock_aws``) in the same run: reading the same 100,000 records back
  with ``get_records``, the least a view that asked the API would have to do.

Target (the Streaming lab issue): render or update under 200 ms.
"""

from __future__ import annotations

import os
import statistics
import sys
from collections.abc import Callable
from typing import Any

import support

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

RECORDS = 100_000
SHARDS = 4
REPEATS = 5


def median_ms(fn: Callable[[], Any], before: Callable[[], Any] | None = None) -> float:
    """Median milliseconds of ``fn`` over ``REPEATS`` runs (``before`` runs untimed)."""
    return statistics.median(support.timed(lambda _i: fn(), 1, REPEATS, before=before))


def fill(kinesis: Any, stream: str, advance: Callable[[], Any]) -> None:
    """Put RECORDS truck readings into ``stream``, 2,000 a second (below the shards' limits)."""
    from labkit.services.kinesis.sim_load import TruckFleet, records, ticks

    fleet = TruckFleet(10_000, seed=1)
    readings = fleet.readings(seconds=RECORDS / 2_000, every=5)[:RECORDS]
    for _, group in ticks(readings):
        entries = records(group, lambda r: r["truck_id"])
        for start in range(0, len(entries), 500):
            kinesis.put_records(StreamName=stream, Records=entries[start : start + 500])
        advance()


def labkit_view() -> dict[str, float]:
    import labkit
    from labkit.services.kinesis.sim_load import TruckFleet, records
    from labkit.services.kinesis.state import stream_snapshot
    from labkit.services.kinesis.view import render_html, render_text, stream_state
    from labkit.services.kinesis.widget import StreamView

    lab = labkit.start(quiet=True)
    try:
        kinesis = lab.client("kinesis")
        kinesis.create_stream(StreamName="trucks", ShardCount=SHARDS)
        fill(kinesis, "trucks", lambda: lab.clock.advance(1))
        stream = lab.sandbox.backend("kinesis").describe_stream(None, "trucks")
        assert sum(len(s.records) for s in stream.shards.values()) == RECORDS

        def forget_index() -> None:
            for shard in stream.shards.values():
                shard.__dict__.pop("labkit_inspect_index", None)

        checkpoints = {"shardId-000000000000": "50000"}
        consumers = {"dashboard": checkpoints}
        figures: dict[str, float] = {}
        figures["render"] = median_ms(
            lambda: StreamView(lab, "trucks", consumers=consumers, auto_refresh=False).to_text(),
            forget_index,
        )
        figures["snapshot, cold"] = median_ms(
            lambda: stream_snapshot(lab.sandbox, "trucks", consumers=consumers), forget_index
        )
        figures["snapshot, warm"] = median_ms(
            lambda: stream_snapshot(lab.sandbox, "trucks", consumers=consumers)
        )
        state = stream_state(stream_snapshot(lab.sandbox, "trucks", consumers=consumers))
        figures["html"] = median_ms(lambda: render_html(state))
        figures["text"] = median_ms(lambda: render_text(state))

        view = StreamView(lab, "trucks", consumers=consumers, auto_refresh=False)
        more = records(TruckFleet(500, seed=2).burst(500), lambda r: r["truck_id"])

        def arrive() -> None:
            lab.clock.advance(1)
            kinesis.put_records(StreamName="trucks", Records=more)

        figures["update after 500 new records"] = median_ms(view.refresh, arrive)
        figures["html size (KB)"] = len(view.to_html()) / 1000
        return figures
    finally:
        lab.stop()


def stock_read() -> float:
    import boto3
    from moto import mock_aws

    with mock_aws():
        kinesis = boto3.client("kinesis", region_name="us-east-1")
        kinesis.create_stream(StreamName="trucks", ShardCount=SHARDS)
        fill(kinesis, "trucks", lambda: None)

        def read_all() -> None:
            total = 0
            for shard in kinesis.list_shards(StreamName="trucks")["Shards"]:
                iterator = kinesis.get_shard_iterator(
                    StreamName="trucks", ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
                while iterator:
                    page = kinesis.get_records(ShardIterator=iterator)
                    total += len(page["Records"])
                    if not page["Records"] or page.get("MillisBehindLatest", 0) == 0:
                        break
                    iterator = page["NextShardIterator"]
            assert total == RECORDS

        return median_ms(read_all)


def main() -> None:
    print(f"Stream view with {RECORDS:,} records in {SHARDS} shards (medians of {REPEATS})")
    figures = labkit_view()
    for name, value in figures.items():
        unit = "" if "size" in name else " ms"
        print(f"  {name:<32} {value:8.1f}{unit}")
    print(f"  stock moto: get_records of all   {stock_read():8.1f} ms  (reference)")
    worst = max(figures["render"], figures["update after 500 new records"])
    print(f"  target: render and update under 200 ms -> {'met' if worst < 200 else 'NOT met'}")


if __name__ == "__main__":
    main()
