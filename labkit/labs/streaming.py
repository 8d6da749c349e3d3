"""The streaming lab: Kinesis Data Streams and Amazon Data Firehose, checked by behaviour.

Every check calls the learner's functions in an empty world of its own, with its own clock:

- ``partition_key``: a simulated fleet of 10,000 trucks is sent through a four-shard stream with
  the learner's key; every truck's readings must land on one shard (per-truck order) and the
  busiest shard may take at most one and a half times its fair share (no hot key);
- ``producer``: a burst several times a shard's write limit; every record must be in the stream
  exactly once, with the lab clock moved between retries (never a busy loop);
- ``consumer``: a stream resharded before and between two runs of the consumer; every reading
  must come exactly once, each truck's in order, and a restarted consumer must carry on from its
  checkpoints;
- ``archive``: a Firehose delivery stream reading a Kinesis stream must land GZIP objects under
  ``trucks/raw/`` within its 60 s buffer, with failed records kept apart under ``trucks/errors/``.
"""

from __future__ import annotations

import gzip
from collections import Counter
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from labkit import facts
from labkit.grading.checks import Check, CheckContext, CheckFailed, short
from labkit.labs.spec import LabSpec
from labkit.labs.streaming_consumer import check_consumer, error_code
from labkit.services.kinesis.sim_load import TruckFleet, records, ticks

# -- what the exercise asks for -----------------------------------------------------------------
FLEET_TRUCKS = 10_000
FLEET_SHARDS = 4
FLEET_SECONDS = 10
FLEET_EVERY = 5
#: Trucks whose second reading is sent too (the check's time stays well under its limit).
FLEET_FOLLOWED = 2_000
#: The busiest shard may take this many times its fair share of the records.
HOT_FACTOR = 1.5
BURST_RECORDS = 1_500
BURST_TRUCKS = 150
#: Positions each burst record carries (about 1.5 KB a record), so that a shard's 1 MiB/s fills
#: before its 1,000 records/s and a batch is accepted in part.
BURST_HISTORY = 70
#: Wall seconds the two checks that send thousands of records may take: about 2 s here, but a
#: correct producer that writes one record per call makes 1,500 calls, and laptops are slower.
HEAVY_CHECK_TIMEOUT = 20.0
#: Throttled calls a producer may make before the check calls it a busy loop.
MAX_THROTTLED_CALLS = 100
#: Throttled calls at one instant of the lab clock that show the producer never waits.
MAX_THROTTLED_AT_ONCE = 20
ARCHIVE_NAME = "truck-archive"
ARCHIVE_PREFIX = "trucks/raw/"
ARCHIVE_ERROR_PREFIX = "trucks/errors/"
ARCHIVE_INTERVAL = 60
ARCHIVE_BUCKET = "truck-archive-check"
ARCHIVE_ROLE = "arn:aws:iam::123456789012:role/firehose-truck-archive"

_SINGLE_TRY = Config(retries={"total_max_attempts": 1})


def _put_all_records(kinesis: Any, stream: str, entries: list[dict[str, Any]]) -> list[Any]:
    """The check's own producer: ``PutRecords`` in chunks, no retry; the per-record results."""
    limit = int(facts.value("kinesis.putrecords_max_records"))
    results: list[Any] = []
    for start in range(0, len(entries), limit):
        response = kinesis.put_records(StreamName=stream, Records=entries[start : start + limit])
        results.extend(response["Records"])
    return results


def _read_shard(ctx: CheckContext, kinesis: Any, stream: str, shard_id: str) -> list[Any]:
    """Every record of a shard, oldest first, waiting on the lab clock when reads throttle."""
    iterator = kinesis.get_shard_iterator(
        StreamName=stream, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    out: list[Any] = []
    while iterator:
        try:
            response = kinesis.get_records(ShardIterator=iterator)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ProvisionedThroughputExceededException":
                raise
            ctx.clock.advance(1)
            continue
        out.extend(response["Records"])
        if not response["Records"] or response.get("MillisBehindLatest", 0) == 0:
            break
        iterator = response.get("NextShardIterator")
    return out


# -- partition_key ------------------------------------------------------------------------------
def _key_kind(key: object) -> str:
    if key is None:
        return "None"
    if isinstance(key, str):
        return "an empty string"
    name = type(key).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name} ({short(key)})"


def _key_hint(key: object) -> str:
    """The hint for a partition key that is not a non-empty string, by what it is instead."""
    if key is None:
        return "Did you finish the function (replace the `...`) and `return` the key?"
    if isinstance(key, (bytes, bytearray)):
        # PutRecords' PartitionKey is a String (API_PutRecordsRequestEntry.html); boto3 refuses
        # bytes before the request leaves.
        return (
            "PartitionKey must be a string, not bytes: decode it (`key.decode()`) or build the "
            'key from the text itself, for example `reading["truck_id"]`.'
        )
    if isinstance(key, str):
        return 'A partition key is a non-empty string: for example `reading["truck_id"]`.'
    return (
        f"PartitionKey must be a string, not a {type(key).__name__}: convert it with "
        '`str(...)`, for example `str(reading["truck_id"])`.'
    )


CONSTANT_KEY_HINT = (
    "Every reading got the same partition key, so MD5 sends them all to one shard: a hot "
    "partition key. That shard throttles at its limit while the others stay idle. Use a key with "
    "many values that is the same for all readings of one truck: its `truck_id`."
)
FEW_KEYS_HINT = (
    "A partition key with only a handful of values (a region, a truck type, ...) can use at most "
    "that many shards, and MD5 may put two of them on the same shard. Use a key with many "
    "values that is still the same for all readings of one truck: its `truck_id`."
)
SPLIT_TRUCK_HINT = (
    "Kinesis keeps order only within a shard, and a record's shard comes from the MD5 hash of "
    "its partition key. A key that changes from one reading to the next (a timestamp, the "
    "reading's `seq`, a random id) scatters a truck over shards, where consumers read its "
    "readings independently. Use the same key for every reading of a truck: its `truck_id`."
)


def check_partition_key(ctx: CheckContext) -> None:
    """``partition_key(reading)`` keeps each truck on one shard and spreads the fleet."""
    partition_key = ctx.function("partition_key")
    fleet = TruckFleet(FLEET_TRUCKS, seed=2026)
    # Every truck's first reading, and a second one from part of the fleet: enough to measure
    # the spread over the whole fleet and to see whether a truck's readings stay together.
    followed = set(fleet.ids[:FLEET_FOLLOWED])
    readings = [
        r
        for r in fleet.readings(seconds=FLEET_SECONDS, every=FLEET_EVERY)
        if r.seq == 0 or r.truck_id in followed
    ]
    keys: dict[int, str] = {}

    def key_of(reading: dict[str, Any]) -> str:
        key = ctx.call(partition_key, reading)
        if not isinstance(key, str) or not key:
            ctx.fail(
                f"`partition_key` returned {_key_kind(key)} for {short(reading, 90)}.",
                hint=_key_hint(key),
            )
        keys[len(keys)] = key
        return key

    first = key_of(readings[0].as_dict())

    kinesis = ctx.client("kinesis", config=_SINGLE_TRY)
    kinesis.create_stream(StreamName="fleet-check", ShardCount=FLEET_SHARDS)
    start = ctx.clock.timestamp
    shards_of: dict[str, set[str]] = {}
    per_shard: Counter[str] = Counter()
    refused = 0
    for at, group in ticks(readings):
        ctx.clock.advance_to(start + at)
        try:
            results = _put_all_records(kinesis, "fleet-check", records(group, key_of))
        except ClientError as exc:
            # Kinesis refuses keys it cannot take (too long, ...): say so with its own words.
            error = exc.response.get("Error", {})
            ctx.fail(
                f"Kinesis refused the readings' partition keys (the first was {short(first)}): "
                f"{error.get('Code')}: {error.get('Message')}",
                hint="Keep partition keys short strings: the truck id is enough.",
            )
        for reading, result in zip(group, results, strict=True):
            if "ErrorCode" in result:
                refused += 1
                continue
            per_shard[result["ShardId"]] += 1
            shards_of.setdefault(reading.truck_id, set()).add(result["ShardId"])

    distinct = len(set(keys.values()))
    total = sum(per_shard.values()) + refused
    hottest, hot_count = per_shard.most_common(1)[0] if per_shard else ("", 0)
    share = hot_count / total if total else 0.0
    summary = (
        f"{total:,} readings from {FLEET_TRUCKS:,} trucks into {FLEET_SHARDS} shards with "
        f"{distinct:,} distinct key{'' if distinct == 1 else 's'} (the first was {short(first)})"
    )
    if distinct == 1:
        ctx.fail(
            f"{summary}: {hottest} took every accepted reading and {refused:,} were throttled.",
            hint=CONSTANT_KEY_HINT,
        )
    split = sorted(t for t, s in shards_of.items() if len(s) > 1)
    if split:
        example = split[0]
        ctx.fail(
            f"{summary}: {len(split):,} trucks had readings on several shards (truck {example} "
            f"on {', '.join(sorted(shards_of[example]))}), so a consumer may see a truck's later "
            "reading before an earlier one.",
            hint=SPLIT_TRUCK_HINT,
        )
    fair = 1 / FLEET_SHARDS
    if share > fair * HOT_FACTOR or refused:
        ctx.fail(
            f"{summary}: the busiest shard, {hottest}, took {share:.0%} of them (a fair share is "
            f"{fair:.0%}) and {refused:,} were throttled.",
            hint=FEW_KEYS_HINT if distinct < FLEET_SHARDS * 10 else CONSTANT_KEY_HINT,
        )


# -- put_all ------------------------------------------------------------------------------------
class _Runaway(BaseException):
    """Stops a producer that retries without waiting (a BaseException, so that a learner's
    ``except Exception`` cannot swallow it)."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


DUPLICATE_HINT = (
    "When `put_records` answers with FailedRecordCount > 0, only the records whose entry in "
    "`response['Records']` has an `ErrorCode` were refused; the others are already in the stream. "
    "Retry only the refused ones (same positions as in your request); resending the whole batch "
    "writes the accepted records a second time."
)
IGNORED_HINT = (
    "`put_records` does not raise when a shard is over its limit: it answers with "
    "`FailedRecordCount` > 0 and an `ErrorCode` (ProvisionedThroughputExceededException) on each "
    "refused record. Check FailedRecordCount, wait with `clock.advance(...)`, and send the "
    "refused records again until none is left."
)
BUSY_HINT = (
    "Back off before you retry: call `clock.advance(delay)` with a delay that grows (for example "
    "0.1 s, doubling each time). A shard frees capacity as time passes, so retrying at once only "
    "collects more throttles. `time.sleep` does not move the lab clock."
)


def check_producer(ctx: CheckContext) -> None:
    """``put_all(kinesis, stream_name, records, clock)`` writes a burst, every record once."""
    put_all = ctx.function("put_all")
    kinesis = ctx.client("kinesis", config=_SINGLE_TRY)
    kinesis.create_stream(StreamName="burst-check", ShardCount=1)
    fleet = TruckFleet(BURST_TRUCKS, seed=11)
    burst = fleet.burst(BURST_RECORDS)
    entries: list[dict[str, Any]] = [
        {"Data": r.data(history=BURST_HISTORY), "PartitionKey": r.truck_id} for r in burst
    ]
    calls = {"put": 0, "throttled": 0, "at_once": 0}
    last_throttle = [float("nan")]

    def count_call(**_: Any) -> None:
        calls["put"] += 1

    def after_call(parsed: Any = None, **_: Any) -> None:
        parsed = parsed or {}
        if parsed.get("FailedRecordCount") or parsed.get("Error"):
            calls["throttled"] += 1
            now = ctx.clock.timestamp
            calls["at_once"] = calls["at_once"] + 1 if now == last_throttle[0] else 1
            last_throttle[0] = now
            if calls["at_once"] > MAX_THROTTLED_AT_ONCE:
                raise _Runaway(
                    f"`put_all` was throttled {calls['at_once']} times at the same instant of the "
                    "lab clock: it retries without waiting.",
                    BUSY_HINT,
                )
            if calls["throttled"] > MAX_THROTTLED_CALLS:
                raise _Runaway(
                    f"`put_all` was throttled more than {MAX_THROTTLED_CALLS} times for a burst "
                    "that needs a few seconds: it retries too fast.",
                    BUSY_HINT,
                )

    for operation in ("PutRecords", "PutRecord"):
        kinesis.meta.events.register(f"before-call.kinesis.{operation}", count_call)
        kinesis.meta.events.register(f"after-call.kinesis.{operation}", after_call)
    started = ctx.clock.timestamp
    try:
        ctx.call(put_all, kinesis, "burst-check", [dict(e) for e in entries], ctx.clock)
    except _Runaway as runaway:
        ctx.fail(runaway.message, hint=runaway.hint)
    except CheckFailed as failure:
        code = error_code(failure)
        if code == "ProvisionedThroughputExceededException":
            ctx.fail(
                failure.message,
                hint="`put_record` raises this when the shard is full. Catch the ClientError, "
                "call `clock.advance(...)` and try the record again.",
            )
        if code == "ValidationException":
            ctx.fail(
                failure.message,
                hint=f"One `put_records` call takes at most "
                f"{facts.value('kinesis.putrecords_max_records')} records: send the list in "
                "chunks.",
            )
        raise
    waited = ctx.clock.timestamp - started

    ctx.clock.advance(1)  # a fresh second for the check's own reads
    stored = Counter(
        bytes(r["Data"]) for r in _read_shard(ctx, kinesis, "burst-check", "shardId-000000000000")
    )
    sent: Counter[bytes] = Counter(bytes(e["Data"]) for e in entries)
    twice = sum((stored - sent).values())
    missing = sum((sent - stored).values())
    if twice:
        ctx.fail(
            f"{twice:,} of the {BURST_RECORDS:,} records are in the stream more than once.",
            hint=DUPLICATE_HINT,
        )
    if missing and not calls["put"]:
        ctx.fail(
            f"`put_all` made no write call: none of the {BURST_RECORDS:,} records reached the "
            "stream.",
            hint="Send the records with `kinesis.put_records(StreamName=stream_name, "
            f"Records=...)`, at most {facts.value('kinesis.putrecords_max_records')} per call.",
        )
    if missing:
        batch = int(facts.value("kinesis.putrecords_max_records"))
        retried = calls["put"] > -(-BURST_RECORDS // batch)
        ctx.fail(
            f"{missing:,} of the {BURST_RECORDS:,} records never reached the stream "
            f"({calls['put']} write calls, {calls['throttled']} of them throttled, "
            f"{waited:g} s of lab time).",
            hint=BUSY_HINT if retried and not waited else IGNORED_HINT,
        )
    if calls["throttled"] and not waited:
        ctx.fail(
            "The burst was throttled but the lab clock never moved.",
            hint=BUSY_HINT,
        )


# -- create_archive -----------------------------------------------------------------------------
def _destination(description: dict[str, Any]) -> dict[str, Any]:
    destination = description["Destinations"][0]
    found = destination.get("ExtendedS3DestinationDescription") or destination.get(
        "S3DestinationDescription"
    )
    return found if isinstance(found, dict) else {}


def _expect_role(ctx: CheckContext, description: dict[str, Any], config: dict[str, Any]) -> None:
    """Every role the delivery stream names is the one ``create_archive`` was given.

    Firehose reads the source stream and writes to the bucket as the role in each place; another
    role there is another principal's permissions (or none), so on AWS delivery fails or runs with
    rights nobody reviewed.
    """
    source = (description.get("Source") or {}).get("KinesisStreamSourceDescription") or {}
    for where, role in (
        ("KinesisStreamSourceConfiguration", source.get("RoleARN")),
        ("the S3 destination", config.get("RoleARN")),
    ):
        if role is not None and role != ARCHIVE_ROLE:
            ctx.fail(
                f"The RoleARN of {where} is `{role}`, not the `role_arn` passed in "
                f"(`{ARCHIVE_ROLE}`).",
                hint="Use the `role_arn` argument wherever a role is asked for: "
                "KinesisStreamSourceConfiguration's RoleARN (Firehose reads the stream as it) "
                "and the S3 destination's RoleARN (Firehose writes to the bucket as it).",
            )


def check_archive(ctx: CheckContext) -> None:
    """``create_archive(firehose, stream_arn, bucket_arn, role_arn)`` lands GZIP objects under
    ``trucks/raw/`` within 60 s, failed records kept under ``trucks/errors/``."""
    create_archive = ctx.function("create_archive")
    s3 = ctx.client("s3")
    s3.create_bucket(Bucket=ARCHIVE_BUCKET)
    kinesis = ctx.client("kinesis")
    kinesis.create_stream(StreamName="archive-check", ShardCount=1)
    stream_arn = kinesis.describe_stream_summary(StreamName="archive-check")[
        "StreamDescriptionSummary"
    ]["StreamARN"]
    firehose = ctx.client("firehose")
    ctx.call(create_archive, firehose, stream_arn, f"arn:aws:s3:::{ARCHIVE_BUCKET}", ARCHIVE_ROLE)
    names = firehose.list_delivery_streams()["DeliveryStreamNames"]
    if ARCHIVE_NAME not in names:
        made = ", ".join(f"`{n}`" for n in names) or "no delivery stream"
        ctx.fail(
            f"After `create_archive` ran there is {made}, not `{ARCHIVE_NAME}`.",
            hint=f"Create it with `firehose.create_delivery_stream(DeliveryStreamName="
            f'"{ARCHIVE_NAME}", ...)`: the name must match exactly.',
        )
    description = firehose.describe_delivery_stream(DeliveryStreamName=ARCHIVE_NAME)[
        "DeliveryStreamDescription"
    ]
    config = _destination(description)
    _expect_role(ctx, description, config)
    default_interval = int(facts.value("firehose.buffer_interval_default"))
    hints = config.get("BufferingHints") or {}
    interval = int(hints.get("IntervalInSeconds", default_interval))

    fleet = TruckFleet(30, seed=3)
    sent: list[bytes] = []
    for offset, seq in ((0, 0), (20, 1)):
        if offset:
            ctx.clock.advance(offset)
        batch = fleet.burst(30, first_seq=seq)
        kinesis.put_records(
            StreamName="archive-check", Records=records(batch, lambda r: r["truck_id"])
        )
        sent.extend(r.data() for r in batch)
    ctx.clock.advance(ARCHIVE_INTERVAL - 20)
    listing = s3.list_objects_v2(Bucket=ARCHIVE_BUCKET).get("Contents", [])
    keys = [o["Key"] for o in listing]
    if not keys:
        if description.get("DeliveryStreamType") != "KinesisStreamAsSource":
            hint = (
                "The delivery stream does not read the Kinesis stream: create it with "
                "DeliveryStreamType='KinesisStreamAsSource' and KinesisStreamSourceConfiguration="
                "{'KinesisStreamARN': stream_arn, 'RoleARN': role_arn}."
            )
        elif interval > ARCHIVE_INTERVAL:
            hint = (
                f"Its buffer interval is {interval} s"
                + (" (the default)" if interval == default_interval else "")
                + f", so nothing is delivered in the first {ARCHIVE_INTERVAL} s. Set "
                f"BufferingHints={{'IntervalInSeconds': {ARCHIVE_INTERVAL}, 'SizeInMBs': ...}} "
                "on the S3 destination."
            )
        else:
            hint = "Check the destination bucket ARN (the one passed in) and the buffering hints."
        ctx.fail(
            f"{len(sent)} records went into the Kinesis stream, but {ARCHIVE_INTERVAL} s later "
            "the bucket is still empty.",
            hint=hint,
        )
    outside = [k for k in keys if not k.startswith(ARCHIVE_PREFIX)]
    if outside:
        ctx.fail(
            f"Firehose wrote `{outside[0]}`, which is not under `{ARCHIVE_PREFIX}`.",
            hint=f'Set Prefix="{ARCHIVE_PREFIX}" on the S3 destination (the trailing slash makes '
            "it a folder; Firehose adds the YYYY/MM/dd/HH/ time folders after it).",
        )
    bodies = [s3.get_object(Bucket=ARCHIVE_BUCKET, Key=k)["Body"].read() for k in keys]
    if not all(b[:2] == b"\x1f\x8b" for b in bodies):
        ctx.fail(
            f"`{keys[0]}` is not GZIP-compressed.",
            hint="Set CompressionFormat='GZIP' on the S3 destination: Firehose compresses each "
            "object and names it with a .gz extension.",
        )
    if len(keys) > 1:
        ctx.fail(
            f"Two batches 20 s apart arrived as {len(keys)} objects.",
            hint=f"Buffer for {ARCHIVE_INTERVAL} s (BufferingHints IntervalInSeconds="
            f"{ARCHIVE_INTERVAL}): Firehose then gathers what arrives in that time into one "
            "object, and S3 holds fewer, larger objects.",
        )
    content = b"".join(gzip.decompress(b) for b in bodies)
    if content != b"".join(sent):
        ctx.fail(
            f"The object holds {content.count(b'{'):,} readings, not the {len(sent)} sent.",
            hint="Deliver every record of the stream, as it is (no transformation).",
        )
    error_prefix = str(config.get("ErrorOutputPrefix") or "")
    if not error_prefix.startswith(ARCHIVE_ERROR_PREFIX):
        where = (
            f"`{error_prefix}`"
            if error_prefix
            else f"`{ARCHIVE_PREFIX}processing-failed/...` (inside the data)"
        )
        ctx.fail(
            f"Records Firehose cannot deliver as they are would go to {where}.",
            hint=f'Set ErrorOutputPrefix="{ARCHIVE_ERROR_PREFIX}" (it may add '
            "!{firehose:error-output-type}/), so that failed records are kept apart from the "
            "data that queries read.",
        )


LAB = LabSpec(
    id="streaming",
    title="Streaming: Kinesis Data Streams and Firehose",
    lesson="notebooks/03_streaming.ipynb",
    lesson_source="notebooks/03_streaming.py",
    exercise="exercises/03_streaming.ipynb",
    solution="solutions/03_streaming.ipynb",
    source="solutions/03_streaming.py",
    checks=(
        Check(
            name="partition_key",
            title="partition_key(reading) keeps each truck's readings on one shard and spreads "
            f"{FLEET_TRUCKS:,} trucks over {FLEET_SHARDS} shards (no shard above "
            f"{HOT_FACTOR:g}x its share)",
            points=2,
            run=check_partition_key,
            hint="Pick a key that is the same for every reading of a truck and has many values.",
            isolated=True,
            timeout=HEAVY_CHECK_TIMEOUT,
        ),
        Check(
            name="producer",
            title=f"put_all(kinesis, stream_name, records, clock) writes a burst of "
            f"{BURST_RECORDS:,} records to one shard, each exactly once, backing off on the "
            "lab clock",
            points=3,
            run=check_producer,
            hint="Send in chunks, retry only the refused records, and advance the clock between "
            "attempts.",
            isolated=True,
            timeout=HEAVY_CHECK_TIMEOUT,
        ),
        Check(
            name="consumer",
            title="read_new(kinesis, stream_name, checkpoints) reads every shard in order across "
            "reshards and resumes from its checkpoints",
            points=3,
            run=check_consumer,
            hint="Read every shard (parents before children) after your checkpoint, and record "
            "the last sequence number you read per shard.",
            isolated=True,
        ),
        Check(
            name="archive",
            title=f"create_archive(...) makes `{ARCHIVE_NAME}`: Kinesis stream to S3 under "
            f"`{ARCHIVE_PREFIX}`, GZIP, within {ARCHIVE_INTERVAL} s, failures under "
            f"`{ARCHIVE_ERROR_PREFIX}`",
            points=2,
            run=check_archive,
            hint="A KinesisStreamAsSource delivery stream with an ExtendedS3 destination: "
            "prefix, error prefix, GZIP and a 60 s buffer.",
            isolated=True,
        ),
    ),
)
