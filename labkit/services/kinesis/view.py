"""A Kinesis data stream and its Firehose delivery streams as HTML and as text.

One lane per shard, in the order shards were created: the lane's marks are the shard's records in
order (oldest left), each mark labelled with a letter for its partition key (``A`` for the
stream's busiest key, ``B`` for the next, ...; ``·`` for other keys or a mix), so that a hot key
shows as a run of one letter in one lane. Once a shard holds more records than a lane has marks,
a mark stands for a fixed run of records (the same in every lane, so the fullest lane is the
longest) and carries the letter of a key that fills at least half of it. Under a lane, ``▲1``
marks where consumer 1's checkpoint stands. Beside it, the shard's throughput meters: writes and
reads in the last second against their limits, and ``✕`` with the calls throttled since the shard
opened. A closed shard's lane is dashed and says which shards replaced it; a child says where it
came from, and a small bar shows the share of the hash key space each shard takes. Below, each
Firehose delivery stream's buffer fills towards its size limit and its interval, and lists the
objects it delivered.

Plain functions over a snapshot kept as plain values (what the stream widget syncs), made from
:class:`labkit.services.kinesis.state.StreamSnapshot` by :func:`as_state`. Nothing here reads AWS.
Letters, symbols and words carry every distinction, never colour. A view's size depends on the
number of shards and marks, never on the number of records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from labkit.views.base import esc, notice_html, panel_html, plural

if TYPE_CHECKING:
    from labkit.services.kinesis.state import DeliverySnapshot, StreamSnapshot

HASH_SPACE = 2**128
#: Letters of the busiest partition keys, busiest first.
LETTERS = "ABCDEFGH"
#: The mark of a record (or run of records) of other keys, or of no single key.
OTHER = "·"
CONSUMER = "▲"
THROTTLED = "✕"
EXAMPLE = 'kinesis.put_record(StreamName="...", Data=b"...", PartitionKey="...")'

Row = Mapping[str, Any]


# -- the state ----------------------------------------------------------------------------------
def _usage_state(usage: Any) -> dict[str, Any]:
    limits = usage.limits
    return {
        "write_bytes": usage.write_bytes,
        "write_records": usage.write_records,
        "read_bytes": usage.read_bytes,
        "read_calls": usage.read_calls,
        "read_blocked_until": usage.read_blocked_until,
        "throttled_writes": usage.throttled_writes,
        "throttled_reads": usage.throttled_reads,
        "write_bytes_limit": limits.write_bytes_per_second,
        "write_records_limit": limits.write_records_per_second,
        "read_bytes_limit": limits.read_bytes_per_second,
        "read_calls_limit": limits.read_calls_per_second,
    }


def stream_state(snapshot: StreamSnapshot | None) -> dict[str, Any]:
    """A stream snapshot as plain values (``{}`` for no stream), what the widget syncs.

    Hash keys become fractions of the key space (JSON numbers cannot hold 128-bit integers).
    """
    if snapshot is None:
        return {}
    return {
        "name": snapshot.name,
        "mode": snapshot.mode,
        "status": snapshot.status,
        "retention_hours": snapshot.retention_hours,
        "records": snapshot.records,
        "records_per_slot": snapshot.records_per_slot,
        "top_keys": [[k, c] for k, c in snapshot.top_keys],
        "distinct_keys": snapshot.distinct_keys,
        "consumers": list(snapshot.consumers),
        "shards": [
            {
                "shard_id": s.shard_id,
                "start": s.starting_hash / HASH_SPACE,
                "end": (s.ending_hash + 1) / HASH_SPACE,
                "open": s.open,
                "parent": s.parent or "",
                "adjacent_parent": s.adjacent_parent or "",
                "children": list(s.children),
                "records": s.records,
                "expired": s.expired,
                "first_sequence": s.first_sequence,
                "last_sequence": s.last_sequence,
                "keys": [[k, c] for k, c in s.keys],
                "distinct_keys": s.distinct_keys,
                "slots": [[x.count, x.key, x.key_count] for x in s.slots],
                "recent": [
                    {
                        "sequence": r.sequence,
                        "partition_key": r.partition_key,
                        "at": r.at,
                        "preview": r.preview,
                    }
                    for r in s.recent
                ],
                "positions": dict(s.positions),
                "usage": _usage_state(s.usage),
            }
            for s in snapshot.shards
        ],
    }


def delivery_state(deliveries: Sequence[DeliverySnapshot]) -> list[dict[str, Any]]:
    """Firehose snapshots as plain values, what the widget syncs."""
    return [
        {
            "name": d.name,
            "source": d.source,
            "bucket": d.bucket,
            "prefix": d.prefix,
            "error_prefix": d.error_prefix,
            "compression": d.compression,
            "size_limit": d.size_limit,
            "interval": d.interval,
            "buffered_bytes": d.buffered_bytes,
            "buffered_records": d.buffered_records,
            "oldest_arrival": d.oldest_arrival,
            "flush_at": d.flush_at,
            "objects_delivered": d.objects_delivered,
            "records_delivered": d.records_delivered,
            "bytes_delivered": d.bytes_delivered,
            "last_error": d.last_error or "",
            "keys": list(d.keys),
        }
        for d in deliveries
    ]


# -- words shared by both renderings -------------------------------------------------------------
def _clock(at: float | None) -> str:
    if at is None:
        return "–"
    return datetime.fromtimestamp(at, tz=timezone.utc).strftime("%H:%M:%S")


def _bytes(n: float) -> str:
    if n < 1024:
        return f"{n:,.0f} B"
    if n < 1024 * 1024:
        return f"{n / 1024:,.1f} KiB"
    return f"{n / 1024 / 1024:,.2f}".rstrip("0").rstrip(".") + " MiB"


def short_id(shard_id: str) -> str:
    """``shardId-000000000004`` -> ``4``."""
    tail = shard_id.rsplit("-", 1)[-1]
    return str(int(tail)) if tail.isdigit() else shard_id


def _percent(fraction: float) -> str:
    return f"{fraction * 100:.0f}%" if fraction * 100 >= 1 or fraction == 0 else "<1%"


def hash_range(shard: Row) -> str:
    """``0–50% of the hash keys``: the shard's share of the 128-bit space, as percentages."""
    return f"{float(shard['start']) * 100:.0f}–{float(shard['end']) * 100:.0f}%"


def key_letters(stream: Row) -> dict[str, str]:
    """Partition key -> its letter (the stream's busiest keys only)."""
    return {k: LETTERS[i] for i, (k, _) in enumerate(stream.get("top_keys", [])[: len(LETTERS)])}


def slot_marks(shard: Row, letters: Mapping[str, str]) -> str:
    """A shard's marks as text, oldest first: one character per slot."""
    return "".join(letters.get(str(key), OTHER) if key else OTHER for _, key, _ in shard["slots"])


def writes_fraction(usage: Row) -> float:
    """The larger of the write byte and record shares used in the last second."""
    return max(
        float(usage["write_bytes"]) / float(usage["write_bytes_limit"]),
        float(usage["write_records"]) / float(usage["write_records_limit"]),
    )


def reads_fraction(usage: Row) -> float:
    """The larger of the read byte and call shares used in the last second."""
    return max(
        float(usage["read_bytes"]) / float(usage["read_bytes_limit"]),
        float(usage["read_calls"]) / float(usage["read_calls_limit"]),
    )


def lineage(shard: Row) -> str:
    """``from 0`` / ``from 0 + 1`` / ``→ 4, 5``: where a shard came from and went to."""
    parts = []
    parents = [p for p in (shard["parent"], shard["adjacent_parent"]) if p]
    if parents:
        parts.append("from " + " + ".join(short_id(p) for p in parents))
    if shard["children"]:
        parts.append("→ " + ", ".join(short_id(c) for c in shard["children"]))
    return " · ".join(parts)


def heading(stream: Row, name: str = "") -> str:
    """``Kinesis stream trucks: 4 open shards (6 in all), 12,345 records``."""
    if not stream:
        return f"Kinesis stream {name}: not found" if name else "Kinesis streams: none yet"
    shards = stream["shards"]
    opened = sum(1 for s in shards if s["open"])
    text = f"Kinesis stream {stream['name']}: {plural(opened, 'open shard')}"
    if len(shards) != opened:
        text += f" ({len(shards)} in all)"
    count = int(stream["records"])
    text += f", {count:,} record{'' if count == 1 else 's'}"
    if stream["mode"] == "ON_DEMAND":
        text += ", on-demand"
    return text


def legend(stream: Row) -> str:
    """What each letter stands for."""
    letters = key_letters(stream)
    counts = dict((k, c) for k, c in stream.get("top_keys", []))
    parts = [f"{letter} = {key} ({counts[key]:,})" for key, letter in letters.items()]
    rest = int(stream.get("distinct_keys", 0)) - len(letters)
    parts.append(
        f"{OTHER} = {plural(rest, 'other key')} or a mix" if rest > 0 else f"{OTHER} = a mix"
    )
    return "keys: " + " | ".join(parts)


def slot_note(stream: Row) -> str:
    """What one mark of a lane stands for."""
    per = int(stream.get("records_per_slot", 1))
    if per <= 1:
        return "one mark per record, oldest first"
    return f"one mark per {per:,} records, oldest first; a letter when one key fills half the mark"


def consumer_note(stream: Row) -> str:
    """``▲1 dashboard · ▲2 archiver``."""
    return " · ".join(f"{CONSUMER}{i} {name}" for i, name in enumerate(stream["consumers"], 1))


def _flush_words(d: Row, now: float) -> str:
    if not d["buffered_records"]:
        return "buffer empty"
    parts = [
        f"{plural(int(d['buffered_records']), 'record')}, {_bytes(d['buffered_bytes'])} of "
        f"{_bytes(d['size_limit'])}"
    ]
    if d["oldest_arrival"] is not None:
        parts.append(f"oldest {now - float(d['oldest_arrival']):.0f} s ago")
    if d["flush_at"] is not None:
        parts.append(
            f"delivered at {_clock(d['flush_at'])} (in {float(d['flush_at']) - now:.0f} s) or "
            f"once {_bytes(d['size_limit'])} is buffered"
        )
    return ", ".join(parts)


def delivery_heading(d: Row) -> str:
    """``Firehose archive: trucks (Kinesis) → s3://bucket/trucks/raw/ · GZIP · 1 MiB or 60 s``."""
    source = "Direct PUT" if d["source"] == "DirectPut" else f"{d['source']} (Kinesis)"
    prefix = d["prefix"] or "YYYY/MM/dd/HH/"
    return (
        f"Firehose {d['name']}: {source} → s3://{d['bucket']}/{prefix} · {d['compression']} · "
        f"buffer {_bytes(d['size_limit'])} or {d['interval']} s"
    )


def delivery_lines(d: Row, now: float) -> list[str]:
    """A delivery stream's buffer and deliveries as lines of text."""
    lines = [f"  buffer: {_flush_words(d, now)}"]
    lines.append(
        f"  delivered: {plural(int(d['objects_delivered']), 'object')}, "
        f"{plural(int(d['records_delivered']), 'record')} "
        f"({_bytes(d['bytes_delivered'])} before compression)"
    )
    lines.extend(f"    ✓ {key}" for key in d["keys"])
    if d["error_prefix"]:
        lines.append(f"  failed records would go under: {d['error_prefix']}")
    if d["last_error"]:
        lines.append(f"  ⚠ last delivery failed: {d['last_error']} (retried every interval)")
    return lines


# -- the SVG lanes ------------------------------------------------------------------------------
_W = 780
_LABEL = 168  # label column
_SLOT = 10  # width of a mark
_SLOTS = 40
_GAP = 14
_METER_X = _LABEL + _SLOTS * _SLOT + _GAP + 8
_METER_W = 90
_LANE = 44
_HASH_X = 4
_HASH_W = 100


def _bar(x: float, y: float, fraction: float, label: str, tip: str) -> str:
    """A meter: an outline at the limit, filled to ``fraction`` of it, its label beside it."""
    filled = max(0.0, min(fraction, 1.0)) * _METER_W
    return (
        f"<g><title>{esc(tip)}</title>"
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{_METER_W}" height="8" fill="none" '
        f'stroke="currentColor" stroke-opacity="0.6"/>'
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{filled:.1f}" height="8" fill="currentColor" '
        f'fill-opacity="0.55"/>'
        f'<text x="{x + _METER_W + 4:.1f}" y="{y + 8:.1f}" font-size="10" '
        f'fill="currentColor">{esc(label)}</text></g>'
    )


def lanes_svg(stream: Row, now: float | None = None) -> str:
    """The shards as lanes of an inline SVG, drawn in ``currentColor``."""
    shards = stream["shards"]
    if not shards:
        return ""
    letters = key_letters(stream)
    per = int(stream.get("records_per_slot", 1))
    consumers = list(stream["consumers"])
    height = 22 + _LANE * len(shards) + 6
    parts = [
        f'<text x="{_LABEL}" y="12" font-size="10" fill="currentColor" opacity="0.8">'
        f"records in order, oldest left →</text>"
        f'<text x="{_METER_X}" y="12" font-size="10" fill="currentColor" opacity="0.8">'
        f"last second vs limit</text>"
    ]
    for lane, shard in enumerate(shards):
        top = 20 + lane * _LANE
        mid = top + 12
        closed = not shard["open"]
        state = "closed" if closed else "open"
        dim = ' opacity="0.6"' if closed else ""
        title = f"shard {short_id(shard['shard_id'])} · {state}"
        parts.append(
            f'<g{dim}><text x="4" y="{mid + 4}" font-size="12" fill="currentColor" '
            f'font-weight="600">{esc(title)}</text>'
            f'<text x="4" y="{mid + 14}" font-size="10" fill="currentColor">'
            f"{esc(hash_range(shard) + ('  ' + lineage(shard) if lineage(shard) else ''))}"
            f"</text></g>"
        )
        # The share of the hash key space, as a small bar under the shard's name.
        x0 = _HASH_X + _HASH_W * float(shard["start"])
        w = max(_HASH_W * (float(shard["end"]) - float(shard["start"])), 1.0)
        parts.append(
            f'<rect x="{_HASH_X}" y="{mid + 19}" width="{_HASH_W}" height="5" fill="none" '
            f'stroke="currentColor" stroke-opacity="0.4"><title>hash key space</title></rect>'
            f'<rect x="{x0:.1f}" y="{mid + 19}" width="{w:.1f}" height="5" fill="currentColor" '
            f'fill-opacity="0.6"><title>{esc(hash_range(shard))} of the hash keys</title></rect>'
        )
        dash = ' stroke-dasharray="4 3"' if closed else ""
        parts.append(
            f'<line x1="{_LABEL}" x2="{_LABEL + _SLOTS * _SLOT}" y1="{mid + 8}" y2="{mid + 8}" '
            f'stroke="currentColor" stroke-opacity="0.5"{dash}/>'
        )
        if closed:
            parts.append(
                f'<text x="{_LABEL + _SLOTS * _SLOT + 2}" y="{mid + 4}" font-size="10" '
                f'fill="currentColor">⊣</text>'
            )
        outline = ' stroke-dasharray="2 2"' if closed else ""
        for i, (count, key, key_count) in enumerate(shard["slots"]):
            x = _LABEL + i * _SLOT
            mark = letters.get(key, OTHER) if key else OTHER
            fill = 0.10 + 0.25 * (count / per)
            if per == 1:
                tip = f"record {i + 1} of shard {short_id(shard['shard_id'])}: key {key}"
            else:
                what = f"{key_count:,} of key {key}" if key else "no key fills half"
                tip = f"records {i * per + 1:,}–{i * per + count:,}: {what}"
            parts.append(
                f"<g><title>{esc(tip)}</title>"
                f'<rect x="{x + 0.5}" y="{mid - 6}" width="{_SLOT - 1}" height="13" '
                f'fill="currentColor" fill-opacity="{fill:.2f}" stroke="currentColor" '
                f'stroke-opacity="0.35"{outline}/>'
                f'<text x="{x + _SLOT / 2:.1f}" y="{mid + 4}" font-size="9" '
                f'text-anchor="middle" fill="currentColor">{esc(mark)}</text></g>'
            )
        # Consumers whose checkpoints stand at the same place share one marker.
        marks: dict[int, list[int]] = {}
        for n, consumer in enumerate(consumers, 1):
            pos = shard["positions"].get(consumer)
            if pos is not None:
                x = round(_LABEL + min(pos / per, _SLOTS) * _SLOT)
                marks.setdefault(x, []).append(n)
        for x, numbers in marks.items():
            who = "; ".join(
                f"{consumers[n - 1]} read {shard['positions'][consumers[n - 1]]:,} of "
                f"{shard['records']:,} records"
                for n in numbers
            )
            parts.append(
                f'<g><title>{esc(who)}</title><text x="{x}" y="{mid + 20}" font-size="10" '
                f'text-anchor="middle" fill="currentColor">'
                f"{CONSUMER}{','.join(map(str, numbers))}</text></g>"
            )
        usage = shard["usage"]
        wf, rf = writes_fraction(usage), reads_fraction(usage)
        parts.append(
            _bar(
                _METER_X,
                mid - 9,
                wf,
                f"W {_percent(wf)}",
                f"writes: {usage['write_records']:,} of {usage['write_records_limit']:,} "
                f"records/s, {_bytes(usage['write_bytes'])} of "
                f"{_bytes(usage['write_bytes_limit'])}/s",
            )
        )
        parts.append(
            _bar(
                _METER_X,
                mid + 3,
                rf,
                f"R {_percent(rf)}",
                f"reads: {usage['read_calls']} of {usage['read_calls_limit']} GetRecords "
                f"calls/s, {_bytes(usage['read_bytes'])} of {_bytes(usage['read_bytes_limit'])}/s",
            )
        )
        throttled = int(usage["throttled_writes"]) + int(usage["throttled_reads"])
        if throttled:
            parts.append(
                f"<g><title>throttled since the shard opened: {usage['throttled_writes']:,} "
                f"records written, {usage['throttled_reads']:,} GetRecords calls</title>"
                f'<text x="{_METER_X + _METER_W + 44}" y="{mid + 4}" font-size="11" '
                f'fill="currentColor" font-weight="600">{THROTTLED} {throttled:,}</text></g>'
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{height}" '
        f'viewBox="0 0 {_W} {height}" role="img" aria-label="Shards of stream '
        f'{esc(stream["name"])}" style="display:block;margin:6px 0;max-width:100%;'
        f'color:inherit">{"".join(parts)}</svg>'
    )


def _delivery_html(d: Row, now: float) -> str:
    size = min(float(d["buffered_bytes"]) / max(float(d["size_limit"]), 1.0), 1.0)
    waited = (
        0.0
        if d["oldest_arrival"] is None or not d["interval"]
        else min((now - float(d["oldest_arrival"])) / float(d["interval"]), 1.0)
    )
    bars = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="420" height="34" role="img" '
        f'aria-label="Firehose buffer" style="display:block;color:inherit">'
        f'<text x="0" y="10" font-size="10" fill="currentColor">size</text>'
        f'<rect x="40" y="2" width="300" height="9" fill="none" stroke="currentColor" '
        f'stroke-opacity="0.6"/><rect x="40" y="2" width="{300 * size:.1f}" height="9" '
        f'fill="currentColor" fill-opacity="0.55"/>'
        f'<text x="346" y="10" font-size="10" fill="currentColor">{_percent(size)}</text>'
        f'<text x="0" y="28" font-size="10" fill="currentColor">time</text>'
        f'<rect x="40" y="20" width="300" height="9" fill="none" stroke="currentColor" '
        f'stroke-opacity="0.6" stroke-dasharray="3 2"/><rect x="40" y="20" '
        f'width="{300 * waited:.1f}" height="9" fill="currentColor" fill-opacity="0.35"/>'
        f'<text x="346" y="28" font-size="10" fill="currentColor">{_percent(waited)} of '
        f"{d['interval']} s</text></svg>"
    )
    lines = delivery_lines(d, now)
    rest = "".join(f"<div>{esc(line.strip())}</div>" for line in lines)
    return (
        f'<div style="margin-top:8px;border-top:1px solid rgba(128,128,128,0.45);'
        f'padding-top:4px"><div style="font-weight:600">{esc(delivery_heading(d))}</div>'
        f"{bars}{rest}</div>"
    )


# -- the two renderings -------------------------------------------------------------------------
def _subheading(now: float | None) -> str:
    if not now:
        return ""
    return f"lab time {datetime.fromtimestamp(now, tz=timezone.utc):%Y-%m-%d %H:%M:%S} UTC"


def _shard_line(shard: Row, letters: Mapping[str, str]) -> str:
    usage = shard["usage"]
    state = "open" if shard["open"] else "closed"
    line = (
        f"shard {short_id(shard['shard_id']):>3}  {state:<6}  {hash_range(shard):<9}  "
        f"{shard['records']:>8,}  {slot_marks(shard, letters):<{_SLOTS}}  "
        f"W {_percent(writes_fraction(usage)):>4}  R {_percent(reads_fraction(usage)):>4}"
    )
    throttled = []
    if usage["throttled_writes"]:
        throttled.append(f"{usage['throttled_writes']:,} writes")
    if usage["throttled_reads"]:
        throttled.append(f"{usage['throttled_reads']:,} reads")
    if throttled:
        line += f"  {THROTTLED} throttled: {', '.join(throttled)}"
    if lineage(shard):
        line += f"  ({lineage(shard)})"
    return line


def render_text(
    stream: Row,
    deliveries: Sequence[Row] = (),
    *,
    name: str = "",
    now: float | None = None,
    notice: str = "",
    hint: str = "",
) -> str:
    """The stream as text: one line per shard with its marks, meters and throttles, the key
    legend, the consumers' positions and the newest records, then each delivery stream."""
    sub = _subheading(now)
    lines = [heading(stream, name) + (f" · {sub}" if sub else "")]
    if notice:
        lines.append(f"⚠ {notice}")
    if not stream:
        lines.append(
            "Create it with kinesis.create_stream(StreamName=..., ShardCount=...)."
            if name
            else "Create one with kinesis.create_stream(StreamName=..., ShardCount=...)."
        )
    else:
        letters = key_letters(stream)
        lines.append(
            f"retention {stream['retention_hours']} h · {slot_note(stream)} · "
            "W/R: writes/reads in the last second against the shard's limit"
        )
        lines.extend(_shard_line(s, letters) for s in stream["shards"])
        if stream["records"]:
            lines.append(legend(stream))
        else:
            lines.append(f"No record yet. Put one, for example {EXAMPLE}")
        for n, consumer in enumerate(stream["consumers"], 1):
            where = [
                f"shard {short_id(s['shard_id'])} {s['positions'][consumer]:,}/{s['records']:,}"
                for s in stream["shards"]
                if consumer in s["positions"]
            ]
            lines.append(f"{CONSUMER}{n} {consumer}: read " + (", ".join(where) or "nothing yet"))
        newest = sorted(
            ((r, s["shard_id"]) for s in stream["shards"] for r in s["recent"]),
            key=lambda item: int(item[0]["sequence"]),
        )[-5:]
        if newest:
            lines.append("newest records (sequence number, shard, partition key, data):")
            lines.extend(
                f"  {r['sequence']:>8}  shard {short_id(sid):>3}  {r['partition_key']:<12}  "
                f"{r['preview']}"
                for r, sid in newest
            )
    for d in deliveries:
        lines.append(delivery_heading(d))
        lines.extend(delivery_lines(d, now or 0.0))
    if hint:
        lines.append(hint)
    return "\n".join(lines)


def render_html(
    stream: Row,
    deliveries: Sequence[Row] = (),
    *,
    name: str = "",
    now: float | None = None,
    notice: str = "",
    hint: str = "",
) -> str:
    """The stream as self-contained HTML: the lanes (SVG), the key legend, consumers, the
    newest records and each delivery stream's buffer."""
    body = notice_html("⚠", notice) if notice else ""
    if not stream:
        what = f"There is no stream called <code>{esc(name)}</code> yet." if name else ""
        body += (
            f'<div style="margin-top:4px">{what} Create one with '
            "<code>kinesis.create_stream(StreamName=..., ShardCount=...)</code>.</div>"
        )
    else:
        body += (
            f'<div style="opacity:0.85">retention {stream["retention_hours"]} h · '
            f"{esc(slot_note(stream))} · W/R: writes and reads in the last second against the "
            f"shard's limit · {THROTTLED}: calls throttled · dashed: closed shard</div>"
        )
        body += lanes_svg(stream, now)
        if stream["records"]:
            body += f"<div>{esc(legend(stream))}</div>"
        else:
            body += f"<div>No record yet. Put one, for example <code>{esc(EXAMPLE)}</code>.</div>"
        if stream["consumers"]:
            body += f"<div>consumers: {esc(consumer_note(stream))}</div>"
        newest = sorted(
            ((r, s["shard_id"]) for s in stream["shards"] for r in s["recent"]),
            key=lambda item: int(item[0]["sequence"]),
        )[-5:]
        if newest:
            rows = "".join(
                f'<tr><td style="padding:1px 10px 1px 0;text-align:right">{esc(r["sequence"])}'
                f'</td><td style="padding:1px 10px 1px 0">shard {esc(short_id(sid))}</td>'
                f'<td style="padding:1px 10px 1px 0;font-family:monospace">'
                f'{esc(r["partition_key"])}</td><td style="padding:1px 0;font-family:'
                f'monospace">{esc(r["preview"])}</td></tr>'
                for r, sid in newest
            )
            body += (
                '<div style="margin-top:4px">newest records (sequence number, shard, partition '
                'key, data):</div><table style="border-collapse:collapse;margin:0;width:auto;'
                'font-size:inherit">'
                f"{rows}</table>"
            )
    for d in deliveries:
        body += _delivery_html(d, now or 0.0)
    if hint:
        body += f'<div style="opacity:0.85;margin-top:4px">{esc(hint)}</div>'
    return panel_html(
        kind="stream", heading=heading(stream, name), subheading=_subheading(now), body=body
    )


__all__ = [
    "LETTERS",
    "OTHER",
    "delivery_state",
    "heading",
    "key_letters",
    "lanes_svg",
    "legend",
    "render_html",
    "render_text",
    "slot_marks",
    "stream_state",
]
