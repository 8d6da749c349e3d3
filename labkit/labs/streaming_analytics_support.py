"""What the streaming analytics checks share: deploying the learner's Flink application in the
check's world, feeding a Kinesis stream on the lab clock, reading what the job wrote, and reading
the fields of a result record in any of the spellings the exercise allows.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from labkit.grading.checks import CheckContext, short

ROLE = "arn:aws:iam::123456789012:role/flink-app"
CODE_BUCKET = "labkit-check-flink-code"
#: Lab seconds the check waits, after its last record, for the job to fire what it must have.
SETTLE_SECONDS = 5.0
#: GetRecords calls a read of one output shard may take (each returns up to 10,000 records).
MAX_READS = 200


def deploy(ctx: CheckContext, main: Callable[..., Any], name: str, streams: Iterable[str]) -> None:
    """Create ``streams`` (one shard each), upload ``main`` as application ``name`` and start it.

    A failure to build or start the job fails the check with what Managed Flink said.
    """
    from labkit.services.flink import upload_application

    kinesis = ctx.client("kinesis")
    for stream in streams:
        kinesis.create_stream(StreamName=stream, ShardCount=1)
    s3 = ctx.client("s3")
    s3.create_bucket(Bucket=CODE_BUCKET)
    flink = ctx.client("kinesisanalyticsv2")
    code = upload_application(main, bucket=CODE_BUCKET, key=f"{name}.zip")
    flink.create_application(
        ApplicationName=name,
        RuntimeEnvironment="FLINK-1_20",
        ServiceExecutionRole=ROLE,
        ApplicationConfiguration={"ApplicationCodeConfiguration": code},
    )
    try:
        flink.start_application(ApplicationName=name)
    except Exception as error:  # InvalidApplicationConfiguration: the learner's code failed
        ctx.fail(
            f"`{main.__name__}` could not start as a Managed Flink application: {error}",
            hint=f"Run `{main.__name__}()` in a lab first: it must build the job (source, "
            "windows, sink) and end with `env.execute(...)`.",
        )


def job_failure(ctx: CheckContext, name: str) -> str | None:
    """The error that stopped application ``name``'s job, if one did."""
    from labkit.services.flink.state import application_snapshot

    return application_snapshot(name, now=ctx.clock.timestamp).failure


def late_counts(ctx: CheckContext, name: str) -> tuple[int, int]:
    """Elements application ``name``'s window operators sent to a side output, and dropped."""
    from labkit.services.flink.state import application_snapshot

    snap = application_snapshot(name, now=ctx.clock.timestamp)
    return (sum(w.late_to_side for w in snap.windows), sum(w.late_dropped for w in snap.windows))


def feed(ctx: CheckContext, stream: str, arrivals: Mapping[int, list[dict[str, Any]]]) -> None:
    """Put each batch of ``arrivals`` (epoch ms of arrival -> records) into ``stream`` when the
    lab clock reaches its time; ``key`` names the record field used as partition key."""
    kinesis = ctx.client("kinesis")
    for at in sorted(arrivals):
        now_ms = round(ctx.clock.timestamp * 1000)
        if at > now_ms:
            ctx.clock.advance((at - now_ms) / 1000)
        batch = arrivals[at]
        for start in range(0, len(batch), 500):
            kinesis.put_records(
                StreamName=stream,
                Records=[
                    {"Data": json.dumps(r).encode(), "PartitionKey": str(r.get("pk", "k"))}
                    for r in batch[start : start + 500]
                ],
            )
    ctx.clock.advance(SETTLE_SECONDS)


def read_stream(ctx: CheckContext, stream: str) -> list[bytes]:
    """Every record in ``stream``, oldest first per shard."""
    kinesis = ctx.client("kinesis")
    found: list[bytes] = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for _ in range(MAX_READS):
            try:
                page = kinesis.get_records(ShardIterator=iterator, Limit=10000)
            except kinesis.exceptions.ProvisionedThroughputExceededException:
                ctx.clock.advance(1)
                continue
            found.extend(bytes(r["Data"]) for r in page["Records"])
            iterator = page.get("NextShardIterator")
            if not page["Records"] or not iterator:
                break
            ctx.clock.advance(0.2)  # five reads per second per shard
    return found


def json_records(ctx: CheckContext, stream: str, function: str) -> list[dict[str, Any]]:
    """The records of ``stream`` as JSON objects; a record that is not one fails the check."""
    out: list[dict[str, Any]] = []
    for data in read_stream(ctx, stream):
        try:
            value = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            ctx.fail(
                f"`{function}` wrote a record to `{stream}` that is not JSON: {short(data)}.",
                hint="Write each result as JSON text: `.map(json.dumps)` before the sink.",
            )
        if isinstance(value, str):  # a sink without a schema writes a string as JSON text
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        if not isinstance(value, dict):
            ctx.fail(
                f"`{function}` wrote {short(value)} to `{stream}`, not a JSON object.",
                hint="Write each result as a JSON object with the fields the task names.",
            )
        out.append(value)
    return out


def field(
    ctx: CheckContext, record: Mapping[str, Any], names: tuple[str, ...], what: str, stream: str
) -> Any:
    """The first of ``names`` that ``record`` has; none of them fails the check."""
    for name in names:
        if name in record:
            return record[name]
    ctx.fail(
        f"A record in `{stream}` has no {what}: {short(dict(record), 120)}.",
        hint=f"Name the field `{names[0]}` (or {', '.join(f'`{n}`' for n in names[1:])}).",
    )


def epoch_ms(ctx: CheckContext, value: Any, what: str, stream: str) -> int:
    """A window bound as epoch milliseconds (epoch seconds are taken too)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        ctx.fail(
            f"The {what} in `{stream}` is {short(value)}, not a number of epoch milliseconds.",
            hint="Write the window's bound as Flink gives it: `context.window().start` (or "
            "`.end`), epoch milliseconds.",
        )
    number = float(value)
    return round(number * 1000) if number < 1e11 else round(number)


def minute_label(ms: int) -> str:
    """``12:03`` for an epoch millisecond (UTC), to name a window in a message."""
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%H:%M")


__all__ = [
    "CODE_BUCKET",
    "ROLE",
    "deploy",
    "epoch_ms",
    "feed",
    "field",
    "job_failure",
    "json_records",
    "late_counts",
    "minute_label",
    "read_stream",
]
