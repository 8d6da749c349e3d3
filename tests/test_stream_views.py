"""The stream view: snapshots of shards and Firehose buffers, their renderings, and the widget."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pytest
from traitlets import TraitError

from labkit.lab import Lab
from labkit.services.kinesis.sim_load import TruckFleet, records
from labkit.services.kinesis.state import (
    ShardIndex,
    delivery_snapshots,
    record_throughput,
    stream_snapshot,
)
from labkit.services.kinesis.view import render_html, render_text, stream_state
from labkit.services.kinesis.view_throughput import series, throughput_text
from labkit.services.kinesis.widget import StreamView, stream_view

BUCKET = "stream-view-bucket"
ROLE = "arn:aws:iam::123456789012:role/firehose"


def put(lab: Lab, stream: str, entries: list[dict[str, Any]]) -> None:
    kinesis = lab.client("kinesis")
    for start in range(0, len(entries), 500):
        kinesis.put_records(StreamName=stream, Records=entries[start : start + 500])


def keyed(n: int, key: str = "k", size: int = 10) -> list[dict[str, Any]]:
    return [{"Data": b"x" * size, "PartitionKey": key} for _ in range(n)]


# -- the per-shard index ------------------------------------------------------------------------
def record(seq: int, key: str, at: float) -> Any:
    return SimpleNamespace(sequence_number=seq, partition_key=key, created_at=at)


def test_the_index_follows_appends_and_trims_incrementally() -> None:
    shard: dict[int, Any] = {s: record(s, f"k{s % 3}", float(s)) for s in range(1, 11)}
    index = ShardIndex()
    index.sync(shard)
    assert [index.seq(i) for i in range(len(index))] == list(range(1, 11))
    assert dict(index.counts) == {"k1": 4, "k2": 3, "k0": 3}
    shard.update({s: record(s, "new", float(s)) for s in (12, 15)})
    index.sync(shard)
    assert [index.seq(-2), index.seq(-1)] == [12, 15]
    for s in (1, 2, 3):  # retention trims the oldest
        del shard[s]
    index.sync(shard)
    assert [index.seq(i) for i in range(len(index))] == [4, 5, 6, 7, 8, 9, 10, 12, 15]
    assert sum(index.counts.values()) == 9
    assert index.counts["new"] == 2
    shard.clear()
    index.sync(shard)
    assert len(index) == 0 and not index.counts


def test_the_index_rebuilds_when_the_records_change_behind_its_back() -> None:
    shard = {s: record(s, "a", float(s)) for s in range(1, 5)}
    index = ShardIndex()
    index.sync(shard)
    replaced = {s: record(s, "b", float(s)) for s in range(100, 103)}
    index.sync(replaced)
    assert [index.seq(i) for i in range(3)] == [100, 101, 102] and dict(index.counts) == {"b": 3}


# -- snapshots ----------------------------------------------------------------------------------
def test_a_snapshot_counts_records_per_shard_and_key(lab: Lab) -> None:
    lab.client("kinesis").create_stream(StreamName="s", ShardCount=2)
    fleet = TruckFleet(20, seed=1)
    put(lab, "s", records(fleet.burst(60), lambda r: r["truck_id"]))
    put(lab, "s", keyed(30, "hot"))
    snap = stream_snapshot(lab.sandbox, "s")
    assert snap is not None
    assert snap.records == 90 and [s.open for s in snap.shards] == [True, True]
    assert snap.top_keys[0] == ("hot", 30)
    assert snap.distinct_keys == 21
    hot_shard = next(s for s in snap.shards if s.keys and s.keys[0][0] == "hot")
    assert hot_shard.recent[-1].partition_key == "hot"
    assert [int(r.sequence) for r in hot_shard.recent] == sorted(
        int(r.sequence) for r in hot_shard.recent
    )
    assert stream_snapshot(lab.sandbox, "missing") is None


def test_slots_are_the_same_size_in_every_lane_and_name_a_dominant_key(lab: Lab) -> None:
    lab.client("kinesis").create_stream(StreamName="s", ShardCount=1)
    put(lab, "s", keyed(400, "hot"))
    put(lab, "s", [{"Data": b"x", "PartitionKey": f"k{i}"} for i in range(400)])
    snap = stream_snapshot(lab.sandbox, "s", slots=40)
    assert snap is not None
    [shard] = snap.shards
    assert snap.records_per_slot == 20 and len(shard.slots) == 40
    assert {s.key for s in shard.slots[:20]} == {"hot"}
    assert {s.key for s in shard.slots[20:]} == {""}  # many keys: no single one fills a slot


def test_records_past_retention_are_left_out_without_trimming(lab: Lab) -> None:
    lab.client("kinesis").create_stream(StreamName="s", ShardCount=1)
    put(lab, "s", keyed(5, "old"))
    lab.clock.advance(24 * 3600 - 10)
    put(lab, "s", keyed(3, "new"))
    lab.clock.advance(20)
    snap = stream_snapshot(lab.sandbox, "s")
    assert snap is not None
    [shard] = snap.shards
    assert (shard.records, shard.expired) == (3, 5)
    assert snap.top_keys == (("new", 3),)
    stream = lab.sandbox.backend("kinesis").describe_stream(None, "s")
    assert len(stream.shards["shardId-000000000000"].records) == 8  # nothing trimmed by reading


def test_resharding_shows_parents_closed_with_their_children(lab: Lab) -> None:
    kinesis = lab.client("kinesis")
    kinesis.create_stream(StreamName="s", ShardCount=2)
    put(lab, "s", keyed(10, "a"))
    kinesis.update_shard_count(StreamName="s", TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    snap = stream_snapshot(lab.sandbox, "s")
    assert snap is not None
    by_id = {s.shard_id: s for s in snap.shards}
    assert [s.open for s in snap.shards] == [False, False, True, True, True, True]
    assert by_id["shardId-000000000000"].children == (
        "shardId-000000000002",
        "shardId-000000000003",
    )
    assert by_id["shardId-000000000004"].parent == "shardId-000000000001"
    assert sum(s.hash_share for s in snap.open_shards) == pytest.approx(1.0)


def test_consumer_positions_come_from_their_checkpoints(lab: Lab) -> None:
    kinesis = lab.client("kinesis")
    kinesis.create_stream(StreamName="s", ShardCount=1)
    put(lab, "s", keyed(10, "a"))
    third = kinesis.list_shards(StreamName="s")["Shards"][0]
    iterator = kinesis.get_shard_iterator(
        StreamName="s", ShardId=third["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    got = kinesis.get_records(ShardIterator=iterator, Limit=3)["Records"]
    checkpoints = {"shardId-000000000000": got[-1]["SequenceNumber"]}
    snap = stream_snapshot(
        lab.sandbox,
        "s",
        consumers={"reader": checkpoints, "done": {"shardId-000000000000": "SHARD_END"}},
    )
    assert snap is not None
    assert snap.shards[0].positions == {"reader": 3, "done": 10}


def test_meters_and_throttles_are_in_the_snapshot(lab: Lab) -> None:
    lab.client("kinesis").create_stream(StreamName="s", ShardCount=1)
    put(lab, "s", keyed(1200, "a"))
    snap = stream_snapshot(lab.sandbox, "s")
    assert snap is not None
    usage = snap.shards[0].usage
    assert usage.write_records == 1000 and usage.throttled_writes == 200


def test_delivery_snapshots_show_the_buffer_then_the_delivery(lab: Lab) -> None:
    lab.client("s3").create_bucket(Bucket=BUCKET)
    firehose = lab.client("firehose")
    firehose.create_delivery_stream(
        DeliveryStreamName="hose",
        ExtendedS3DestinationConfiguration={
            "BucketARN": f"arn:aws:s3:::{BUCKET}",
            "RoleARN": ROLE,
            "Prefix": "raw/",
            "CompressionFormat": "GZIP",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
        },
    )
    firehose.put_record_batch(DeliveryStreamName="hose", Records=[{"Data": b"abc\n"}] * 3)
    [before] = delivery_snapshots(lab.sandbox)
    assert (before.source, before.buffered_records, before.buffered_bytes) == ("DirectPut", 3, 12)
    assert before.flush_at == lab.clock.timestamp + 60
    lab.clock.advance(60)
    [after] = delivery_snapshots(lab.sandbox)
    assert (after.buffered_records, after.objects_delivered, after.records_delivered) == (0, 1, 3)
    assert after.keys[0].startswith("raw/2026/01/05/09/hose-1-") and after.keys[0].endswith(".gz")
    assert delivery_snapshots(lab.sandbox, source="other-stream") == []


# -- renderings ---------------------------------------------------------------------------------
def state_of(lab: Lab, name: str = "s", **kw: Any) -> dict[str, Any]:
    return stream_state(stream_snapshot(lab.sandbox, name, **kw))


def test_text_has_one_line_of_marks_per_shard_and_a_legend(lab: Lab) -> None:
    lab.client("kinesis").create_stream(StreamName="s", ShardCount=2)
    put(lab, "s", keyed(3, "hot") + keyed(1, "cold"))
    text = render_text(state_of(lab))
    assert text.splitlines()[0] == "Kinesis stream s: 2 open shards, 4 records"
    lanes = [line for line in text.splitlines() if line.startswith("shard")]
    assert len(lanes) == 2
    assert "A = hot (3)" in text and "B = cold (1)" in text
    assert any("AAA" in line for line in lanes)


def test_html_marks_keys_with_letters_and_escapes_what_learners_type(lab: Lab) -> None:
    lab.client("kinesis").create_stream(StreamName="s", ShardCount=1)
    put(lab, "s", keyed(2, "<b>key</b>"))
    html = render_html(state_of(lab))
    assert "<b>key</b>" not in html and "&lt;b&gt;key&lt;/b&gt;" in html
    assert re.search(r">A</text>", html)  # the key's letter, not a colour
    assert "<script" not in html


def test_throttles_resharding_and_consumers_are_written_out(lab: Lab) -> None:
    kinesis = lab.client("kinesis")
    kinesis.create_stream(StreamName="s", ShardCount=1)
    put(lab, "s", keyed(1100, "a"))
    kinesis.split_shard(
        StreamName="s", ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**127)
    )
    state = state_of(lab, consumers={"app": {"shardId-000000000000": "500"}})
    text = render_text(state)
    assert "✕ throttled: 100 writes" in text
    assert "closed" in text and "(→ 1, 2)" in text and "(from 0)" in text
    assert "▲1 app: read shard 0 500/1,000" in text
    html = render_html(state)
    assert "stroke-dasharray" in html and "✕ 100" in html and "▲1" in html


def test_an_empty_or_missing_stream_says_what_to_do() -> None:
    assert "not found" in render_text({}, name="trucks")
    assert "create_stream" in render_html({}, name="trucks")


def test_the_size_of_a_rendering_does_not_grow_with_the_records(lab: Lab) -> None:
    lab.client("kinesis").create_stream(StreamName="s", ShardCount=2)
    fleet = TruckFleet(500, seed=1)
    sizes = []
    for _ in range(2):
        for _ in range(10):
            put(lab, "s", records(fleet.burst(500), lambda r: r["truck_id"]))
            lab.clock.advance(1)
        html = render_html(state_of(lab))
        sizes.append((html.count("<rect"), html.count("<text")))
    assert sizes[0] == sizes[1]


def test_the_throughput_series_and_its_text_form(lab: Lab) -> None:
    lab.client("kinesis").create_stream(StreamName="s", ShardCount=1)
    recorder = record_throughput(lab.sandbox, "s")
    for _ in range(3):
        put(lab, "s", keyed(1200, "a"))
        lab.clock.advance(1)
    recorder.stop()
    lab.clock.advance(5)
    assert len(recorder.samples) == 3
    assert series(recorder.samples, "shardId-000000000000") == [
        (0.0, 1000, 200),
        (1.0, 1000, 200),
        (2.0, 1000, 200),
    ]
    text = throughput_text(recorder.samples)
    assert "the limit is 1,000 records/s" in text and "1,000 (100%)" in text and "200" in text


# -- the widget ---------------------------------------------------------------------------------
def test_the_widget_refreshes_and_its_display_data_carries_html_and_text(lab: Lab) -> None:
    lab.client("kinesis").create_stream(StreamName="s", ShardCount=1)
    checkpoints: dict[str, str] = {}
    view = stream_view(lab, "s", consumers={"app": checkpoints})
    assert view.stream["records"] == 0
    put(lab, "s", keyed(4, "a"))
    checkpoints["shardId-000000000000"] = "2"
    bundle = view._repr_mimebundle_()
    assert view.stream["records"] == 4  # shown at the end of a cell: refreshed first
    assert view.stream["shards"][0]["positions"] == {"app": 2}
    assert "4 records" in bundle["text/plain"] and "labkit-stream" in bundle["text/html"]


def test_the_widget_finds_the_only_stream_and_shows_its_delivery_streams(lab: Lab) -> None:
    kinesis = lab.client("kinesis")
    view = StreamView(lab)
    assert "none yet" in view.to_text()
    kinesis.create_stream(StreamName="only", ShardCount=1)
    arn = kinesis.describe_stream_summary(StreamName="only")["StreamDescriptionSummary"][
        "StreamARN"
    ]
    lab.client("s3").create_bucket(Bucket=BUCKET)
    lab.client("firehose").create_delivery_stream(
        DeliveryStreamName="from-only",
        DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": arn, "RoleARN": ROLE},
        ExtendedS3DestinationConfiguration={"BucketARN": f"arn:aws:s3:::{BUCKET}", "RoleARN": ROLE},
    )
    view.refresh()
    assert view.name == "only"
    assert [d["name"] for d in view.deliveries] == ["from-only"]
    assert "Firehose from-only: only (Kinesis)" in view.to_text()


def test_the_synced_state_is_validated(lab: Lab) -> None:
    view = stream_view(lab, "nothing")
    with pytest.raises(TraitError, match="shards"):
        view.stream = {"name": "x"}
    with pytest.raises(TraitError, match="missing"):
        view.deliveries = [{"name": "x"}]
    assert view.stream == {}


def test_a_stopped_lab_leaves_the_last_picture(lab: Lab) -> None:
    lab.client("kinesis").create_stream(StreamName="s", ShardCount=1)
    put(lab, "s", keyed(2, "a"))
    view = stream_view(lab, "s")
    lab.stop()
    view.refresh()
    assert "stopped" in view.to_text() and "2 records" in view.to_text()


def test_a_held_view_keeps_one_key_in_the_lane_after_retention_empties_the_stream(
    lab: Lab,
) -> None:
    # The lesson's "one key for the fleet": held, the view still shows the lane full of one key
    # after a day has passed and retention emptied the stream; a live view moves on but can step
    # back to it.
    lab.client("kinesis").create_stream(StreamName="fleet", ShardCount=1)
    live = stream_view(lab, "fleet")
    put(lab, "fleet", keyed(20, "fleet"))
    held = stream_view(lab, "fleet", hold=True)
    copy = live.hold()
    assert isinstance(held, StreamView) and isinstance(copy, StreamView)
    lab.clock.advance(2 * 24 * 3600)
    for view in (held, copy, live):
        view.refresh()
    for view in (held, copy):
        text = view.to_text()
        assert "20 records" in text and "A = fleet (20)" in text
        assert "Held as of lab time 09:00:00" in text
    assert "0 records" in live.to_text() and "state 3 of 3" in live.to_text()
    live.show_state(1)
    assert "20 records" in live.to_text() and "A = fleet (20)" in live.to_text()
    assert "state 2 of 3 (an earlier state" in live.to_text()
