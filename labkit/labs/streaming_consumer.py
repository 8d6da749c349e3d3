"""The streaming lab's ``consumer`` check: reading every shard, parents before children, once.

A stream resharded before and between two runs of the learner's consumer; every reading must come
exactly once, each truck's in order, and a restarted consumer must carry on from its checkpoints.
Its own module because the lab's checks together outgrew one file (:mod:`labkit.labs.streaming`
holds the others and the lab's spec).
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from labkit import facts
from labkit.grading.checks import CheckContext, CheckFailed, short
from labkit.services.kinesis.sim_load import TruckFleet, records

#: Trucks in the consumer check's fleet.
CONSUMER_TRUCKS = 40
#: A GetRecords Limit under this reads the consumer check's shards in more than five calls.
SMALL_LIMIT = 15
#: The consumer check's readings before this seq are written before the first reshard.
RESHARD_AT_SEQ = 3


def error_code(failure: CheckFailed) -> str:
    """The AWS error code behind a failed call of learner code, ``""`` when none."""
    cause = failure.__cause__
    if isinstance(cause, ClientError):
        return str(cause.response.get("Error", {}).get("Code", ""))
    return ""


# -- read_new -----------------------------------------------------------------------------------
ONLY_OPEN_HINT = (
    "Parents closed by a reshard still hold records: a closed shard keeps its records until the "
    "retention period ends, and `list_shards` lists it too (unless a ShardFilter of AT_LATEST "
    "asks for open shards only). Read every shard, closed ones included, each parent to its end "
    "(GetRecords then returns no NextShardIterator) before its children."
)
AT_LATEST_HINT = (
    "`list_shards(..., ShardFilter={'Type': 'AT_LATEST'})` lists only the open shards, but "
    "parents closed by a reshard still hold records until the retention period ends. List every "
    "shard (no ShardFilter, or FROM_TRIM_HORIZON) and read each parent before its children."
)
STOPPED_EARLY_HINT = (
    "MillisBehindLatest above 0 means records remain after the page you got: a page ends at "
    "`Limit` records (or 10 MiB) wherever the shard's tip is. Keep calling `get_records` with "
    "the NextShardIterator while MillisBehindLatest > 0; stop a shard when it is 0, when a call "
    "returns no records, or when there is no NextShardIterator (a closed shard's end)."
)
ORDER_HINT = (
    "Kinesis keeps order within a shard. After a reshard a truck's older readings are in the "
    "closed parent shard and its newer ones in a child (its ParentShardId or "
    "AdjacentParentShardId names the parent). Read parents before children: for example in the "
    "order `list_shards` returns them, which lists parents first."
)
REREAD_HINT = (
    "Keep, per shard, the sequence number of the last record you processed in `checkpoints`, "
    "and start each shard with ShardIteratorType='AFTER_SEQUENCE_NUMBER' from it (TRIM_HORIZON "
    "only for a shard you have not started). A consumer that restarts then carries on where it "
    "stopped."
)
OPEN_SHARD_HINT = (
    "An open shard always returns a NextShardIterator, even when it has nothing new, and each "
    "shard serves only five GetRecords calls a second. Stop reading a shard once you have caught "
    "up: MillisBehindLatest is 0, or a call returns no records. Only a closed shard ends without "
    "a NextShardIterator."
)


def _readings(got: Any) -> list[tuple[str, int]]:
    """What a consumer returned, as ``(truck_id, seq)`` pairs (records, data or dicts)."""
    if not isinstance(got, (list, tuple)):
        raise TypeError(type(got).__name__)
    out = []
    for item in got:
        if isinstance(item, dict) and "Data" in item:
            item = item["Data"]
        if isinstance(item, (bytes, bytearray, str)):
            item = json.loads(item)
        if not isinstance(item, dict) or "truck_id" not in item or "seq" not in item:
            raise TypeError(short(item))
        out.append((str(item["truck_id"]), int(item["seq"])))
    return out


class _ReadLog:
    """What a consumer asked of Kinesis through the check's client: the shard filters it listed
    with, and the pages it left while GetRecords still said records remained."""

    def __init__(self) -> None:
        self.filters: set[str] = set()
        #: NextShardIterator of each page that said MillisBehindLatest > 0, not used yet.
        self.left: dict[str, int] = {}
        #: The smallest ``Limit`` the consumer passed to GetRecords, if any.
        self.limit: int | None = None

    def watch(self, kinesis: Any) -> Any:
        """Register the log's handlers on ``kinesis`` and return it."""
        events = kinesis.meta.events
        events.register("before-parameter-build.kinesis.ListShards", self._listed)
        events.register("before-parameter-build.kinesis.GetRecords", self._reading)
        events.register("after-call.kinesis.GetRecords", self._read)
        return kinesis

    def _listed(self, params: Any = None, **_: Any) -> None:
        shard_filter = (params or {}).get("ShardFilter") or {}
        if isinstance(shard_filter, dict) and shard_filter.get("Type"):
            self.filters.add(str(shard_filter["Type"]))

    def _reading(self, params: Any = None, **_: Any) -> None:
        params = params or {}
        self.left.pop(str(params.get("ShardIterator")), None)
        if isinstance(params.get("Limit"), int):
            self.limit = min(self.limit or params["Limit"], params["Limit"])

    def _read(self, parsed: Any = None, **_: Any) -> None:
        parsed = parsed or {}
        behind = int(parsed.get("MillisBehindLatest") or 0)
        if behind > 0 and parsed.get("NextShardIterator"):
            self.left[str(parsed["NextShardIterator"])] = behind

    def stopped_early(self) -> int:
        """How many shards the consumer left while GetRecords said records remained."""
        return len(self.left)


def _call_consumer(
    ctx: CheckContext, fn: Callable[..., Any], checkpoints: Any, log: _ReadLog
) -> Any:
    log.left.clear()
    try:
        got = ctx.call(fn, log.watch(ctx.client("kinesis")), "consumer-check", checkpoints)
    except CheckFailed as failure:
        code = error_code(failure)
        if code == "ProvisionedThroughputExceededException":
            small = log.limit is not None and log.limit < SMALL_LIMIT
            ctx.fail(
                failure.message,
                hint=(
                    f"Your get_records calls asked for Limit={log.limit} records each, so a "
                    f"shard holding a few dozen records takes more than its "
                    f"{facts.value('kinesis.shard_read_transactions_per_second')} GetRecords "
                    "calls a second. Ask for more per call (a larger Limit, or none: up to "
                    f"{facts.value('kinesis.getrecords_max_records'):,} records). "
                    if small
                    else ""
                )
                + OPEN_SHARD_HINT,
            )
        if code == "ExpiredIteratorException":
            ctx.fail(
                failure.message,
                hint="A shard iterator expires "
                f"{facts.value('kinesis.shard_iterator_expiry') // 60} minutes after it is "
                "issued. Checkpoint sequence numbers, not iterators, and ask for a new iterator "
                "(AFTER_SEQUENCE_NUMBER) each time the consumer starts.",
            )
        raise
    if got is None:
        ctx.fail(
            "`read_new` returned None, but a list of the records it read is expected.",
            hint="Did you finish the function (replace the `...`) and `return` the records "
            "you read, oldest first?",
        )
    try:
        return _readings(got)
    except (TypeError, ValueError) as exc:
        ctx.fail(
            f"`read_new` returned {short(got)}; could not read a truck reading from {exc}.",
            hint="Return a list of the records you read (the dicts `get_records` gives, or their "
            "`Data`), oldest first.",
        )


def _order_problem(got: list[tuple[str, int]]) -> str:
    seen: dict[str, list[int]] = {}
    for truck, seq in got:
        seen.setdefault(truck, []).append(seq)
    for truck, seqs in sorted(seen.items()):
        if seqs != sorted(seqs):
            return f"truck {truck}'s readings came in the order {', '.join(map(str, seqs))}"
    return ""


def _missing_hint(log: _ReadLog, missing: list[tuple[str, int]], first_seq_after: int) -> str:
    """The hint for readings a consumer did not return, by what it did."""
    if log.stopped_early():
        return STOPPED_EARLY_HINT
    older = [r for r in missing if r[1] < first_seq_after]
    if older and len(older) == len(missing):
        return AT_LATEST_HINT if "AT_LATEST" in log.filters else ONLY_OPEN_HINT
    return (
        "Read every shard from TRIM_HORIZON the first time (LATEST skips what is already "
        "there), and keep calling get_records until a shard has nothing new."
    )


def _expect_exactly(
    ctx: CheckContext,
    got: list[tuple[str, int]],
    expected: list[tuple[str, int]],
    when: str,
    log: _ReadLog,
) -> None:
    counts, wanted = Counter(got), Counter(expected)
    twice = sum((counts - wanted).values())
    missing = sorted((wanted - counts).elements())
    stale = [r for r in got if r not in wanted]
    if stale and when == "after the restart":
        ctx.fail(
            f"{when.capitalize()}, `read_new` returned {len(stale):,} readings it had already "
            "returned before.",
            hint=REREAD_HINT,
        )
    if twice:
        ctx.fail(f"{when.capitalize()}, {twice:,} readings came more than once.", hint=REREAD_HINT)
    if missing:
        early = log.stopped_early()
        detail = (
            f" `read_new` stopped reading {early} shard{'s' if early > 1 else ''} while "
            f"GetRecords said MillisBehindLatest = {max(log.left.values()):,} (records remained)."
            if early
            else " It listed the shards with ShardFilter AT_LATEST (open shards only)."
            if "AT_LATEST" in log.filters
            else ""
        )
        ctx.fail(
            f"{when.capitalize()}, {len(missing):,} of {len(expected):,} readings were "
            f"missing (truck {missing[0][0]} seq {missing[0][1]} for one).{detail}",
            hint=_missing_hint(log, missing, RESHARD_AT_SEQ),
        )
    problem = _order_problem(got)
    if problem:
        ctx.fail(f"{when.capitalize()}, {problem}.", hint=ORDER_HINT)


def check_consumer(ctx: CheckContext) -> None:
    """``read_new(kinesis, stream_name, checkpoints)`` reads every shard in order, across
    reshards, and carries on from its checkpoints after a restart."""
    read_new = ctx.function("read_new")
    kinesis = ctx.client("kinesis")
    kinesis.create_stream(StreamName="consumer-check", ShardCount=2)
    fleet = TruckFleet(CONSUMER_TRUCKS, seed=5)

    def write(seqs: range) -> list[tuple[str, int]]:
        batch = []
        for seq in seqs:
            batch.extend(fleet.burst(CONSUMER_TRUCKS, first_seq=seq))
        kinesis.put_records(
            StreamName="consumer-check", Records=records(batch, lambda r: r["truck_id"])
        )
        return [(r.truck_id, r.seq) for r in batch]

    def reshard(target: int) -> None:
        kinesis.update_shard_count(
            StreamName="consumer-check", TargetShardCount=target, ScalingType="UNIFORM_SCALING"
        )

    first = write(range(0, RESHARD_AT_SEQ))
    reshard(4)
    first += write(range(RESHARD_AT_SEQ, 6))
    checkpoints: dict[str, Any] = {}
    log = _ReadLog()
    got = _call_consumer(ctx, read_new, checkpoints, log)
    _expect_exactly(ctx, got, first, "on the first run", log)

    # Later: past the iterators' lifetime, two more reshard steps, and a consumer that restarts
    # with only its checkpoints.
    ctx.clock.advance(float(facts.value("kinesis.shard_iterator_expiry")) + 60)
    second = write(range(6, 7))
    reshard(2)
    second += write(range(7, 8))
    restored = copy.deepcopy(checkpoints)
    got = _call_consumer(ctx, read_new, restored, log)
    _expect_exactly(ctx, got, second, "after the restart", log)
    ctx.clock.advance(1)
    again = _call_consumer(ctx, read_new, restored, log)
    if again:
        ctx.fail(
            f"Called again with nothing new in the stream, `read_new` returned {len(again):,} "
            "readings.",
            hint=REREAD_HINT,
        )
