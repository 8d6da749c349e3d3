"""The streaming analytics lab's ``consumer_group`` check: a Kafka consumer group on MSK that
keeps up with its topic and loses and duplicates nothing through a rebalance.

The learner sets ``CONSUMERS`` (how many consumers the group runs for the topic ``payments``:
:data:`PARTITIONS` partitions, :data:`PEAK_RATE` records/s at peak, one consumer processes
:data:`PER_CONSUMER` records/s) and writes ``consume_batch(consumer, process)``: one round of a
consumer's loop, which polls a batch from a ``kafka.KafkaConsumer`` (auto-commit off, already
subscribed), calls ``process(record)`` for each record, and commits. Any spelling the client
allows works: ``poll`` or iterating, ``commit()`` or ``commit({tp: OffsetAndMetadata(...)})``,
once per batch or per record.

``CONSUMERS`` is judged on the numbers (fewer than the rate needs fall behind; more than the
partitions leave consumers without a partition: Kafka gives a partition to one consumer of a
group). Then, in a world of its own, the check creates an MSK cluster and the topic, writes a
first wave of records and runs two consumers of one group, each calling ``consume_batch`` in a
loop of its own thread. In its second batch one consumer is **stopped mid-batch** (its process
is shut down after handling half the batch; it leaves the group without committing) and the
group rebalances; a second wave follows.

A record counts as processed when ``process`` handled it **and** its consumer then committed
its offset: the effect and the offset as one unit, as in Kafka's read-process-write
transactions, so what a stopped consumer handled but never committed is done again by the
consumer that takes over its partition. Committing before processing commits offsets whose
records are never handled when the consumer stops: those records are lost. Every wait is
bounded; a group that does not settle fails the check with what it saw, never hangs.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from labkit.grading.checks import CheckContext, CheckFailed

TOPIC = "payments"
GROUP = "billing"
PARTITIONS = 6
PEAK_RATE = 2500
PER_CONSUMER = 600
FIRST_WAVE = 600
SECOND_WAVE = 300
#: Records per poll: small enough that each consumer sees several batches.
BATCH = 40
#: Wall seconds for the group to settle, for the stop to happen, and for every record to be done.
SETTLE_WAIT = 15.0
#: New consumers the check starts in place of one the group left without partitions.
RESTARTS = 2
STOP_WAIT = 30.0
DONE_WAIT = 45.0
#: Wall seconds without a record handled after which the check stops waiting (a rebalance takes
#: at most the consumers' max_poll_interval_ms, 4 s).
QUIET = 8.0
SUBNETS = ["subnet-a", "subnet-b", "subnet-c"]


class _Stopped(BaseException):
    """Raised through the learner's code to stop a consumer (not an ``Exception``, so a learner's
    ``except Exception`` does not swallow it)."""


@dataclass
class Member:
    """One consumer of the group as the check sees it."""

    name: str
    consumer: Any
    stop_mid_batch: bool = False
    stop: threading.Event = field(default_factory=threading.Event)
    batches: int = 0
    batch_len: int = 0
    handled_in_batch: int = 0
    pending: list[tuple[int, int, str]] = field(default_factory=list)
    commits: int = 0
    early_commits: int = 0
    partial_commits: int = 0
    commit_errors: int = 0
    stopped_mid_batch: bool = False
    error: str | None = None
    finished: threading.Event = field(default_factory=threading.Event)


class Ledger:
    """What each consumer handled, and what its commits made final."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done: Counter[str] = Counter()
        self.handled = 0

    def handle(self, member: Member, record: Any) -> None:
        if member.stop.is_set():
            raise _Stopped
        if (
            member.stop_mid_batch
            and member.batches >= 2
            and member.batch_len >= 2
            and member.handled_in_batch >= member.batch_len // 2
        ):
            member.stopped_mid_batch = True
            raise _Stopped
        with self.lock:
            member.pending.append((record.partition, record.offset, _value(record)))
            self.handled += 1
        member.handled_in_batch += 1

    def commit(self, member: Member, offsets: dict[Any, Any] | None) -> None:
        with self.lock:
            if offsets is None:
                final, member.pending = member.pending, []
            else:
                upto = {tp.partition: int(getattr(o, "offset", o)) for tp, o in offsets.items()}
                final = [p for p in member.pending if p[1] < upto.get(p[0], -1)]
                member.pending = [p for p in member.pending if p not in final]
            self.done.update(value for _, _, value in final)

    def abort(self, member: Member) -> None:
        with self.lock:
            member.pending = []

    def total_done(self) -> int:
        with self.lock:
            return sum(self.done.values())


def _value(record: Any) -> str:
    value = record.value
    return value.decode() if isinstance(value, bytes) else str(value)


class CheckedConsumer:
    """The consumer ``consume_batch`` is given: a real ``KafkaConsumer`` whose polls and commits
    the check follows (every other attribute is the real consumer's)."""

    def __init__(self, member: Member, ledger: Ledger) -> None:
        self._member = member
        self._ledger = ledger
        self._real = member.consumer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def poll(self, timeout_ms: int = 0, max_records: int | None = None, **kwargs: Any) -> Any:
        member = self._member
        if member.stop.is_set():
            raise _Stopped
        batch = self._real.poll(timeout_ms=min(int(timeout_ms), 300), max_records=max_records)
        size = sum(len(records) for records in batch.values())
        if size:
            member.batches += 1
            member.batch_len = size
            member.handled_in_batch = 0
        return batch

    def __iter__(self) -> Iterator[Any]:
        while True:
            for records in self.poll(timeout_ms=100).values():
                yield from records

    def commit(self, offsets: dict[Any, Any] | None = None) -> None:
        member = self._member
        if member.batch_len and member.handled_in_batch == 0:
            member.early_commits += 1
        elif member.batch_len and member.handled_in_batch < member.batch_len:
            member.partial_commits += 1
        try:
            self._real.commit(offsets) if offsets is not None else self._real.commit()
        except Exception:
            member.commit_errors += 1
            self._ledger.abort(member)
            raise
        member.commits += 1
        self._ledger.commit(member, offsets)

    def commit_async(self, offsets: dict[Any, Any] | None = None, callback: Any = None) -> Any:
        """Committed at once (the check follows it as a commit)."""
        self.commit(offsets)
        if callback is not None:
            callback(offsets, None)


def _loop(member: Member, ledger: Ledger, step: Callable[..., Any]) -> None:
    from kafka.errors import (  # type: ignore[import-untyped]
        CommitFailedError,
        IllegalGenerationError,
        RebalanceInProgressError,
    )

    consumer = CheckedConsumer(member, ledger)

    def process(record: Any) -> None:
        ledger.handle(member, record)

    try:
        while not member.stop.is_set():
            try:
                step(consumer, process)
            except (CommitFailedError, IllegalGenerationError, RebalanceInProgressError):
                continue  # the group moved on: the batch is done again by its new owner
    except _Stopped:
        pass
    except Exception as exc:  # the learner's error: reported by the check
        member.error = f"{type(exc).__name__}: {exc}"
    finally:
        ledger.abort(member)
        member.finished.set()


def _until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _cluster(ctx: CheckContext) -> str:
    kafka = ctx.client("kafka")
    arn = kafka.create_cluster(
        ClusterName="payments",
        KafkaVersion="3.6.0",
        NumberOfBrokerNodes=3,
        BrokerNodeGroupInfo={"InstanceType": "kafka.m5.large", "ClientSubnets": SUBNETS},
        EncryptionInfo={"EncryptionInTransit": {"ClientBroker": "TLS_PLAINTEXT"}},
    )["ClusterArn"]
    return str(kafka.get_bootstrap_brokers(ClusterArn=arn)["BootstrapBrokerString"])


def _consumer(boot: str) -> Any:
    from kafka import KafkaConsumer  # type: ignore[import-untyped]

    made = KafkaConsumer(
        bootstrap_servers=boot,
        group_id=GROUP,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=BATCH,
        heartbeat_interval_ms=100,
        session_timeout_ms=30000,
        max_poll_interval_ms=4000,
    )
    # Subscribe first, then ask the cluster (topics() always does): a metadata snapshot taken
    # before the subscription makes kafka-python's group leader assign from an empty snapshot
    # and rejoin, a rejoin kafka-python 3.0.12 can lose (tests/test_kafka.py reproduces it).
    made.subscribe([TOPIC])
    _until(
        lambda: (
            TOPIC in made.topics() and len(made.partitions_for_topic(TOPIC) or ()) == PARTITIONS
        ),
        10,
    )
    return made


def check_consumers(ctx: CheckContext) -> None:
    """``CONSUMERS`` keeps up without idle members."""
    count = ctx.value("CONSUMERS", types=int)
    need = math.ceil(PEAK_RATE / PER_CONSUMER)
    if isinstance(count, bool) or count < need:
        ctx.fail(
            f"{count} consumer(s) process {count * PER_CONSUMER} records/s; the producers write "
            f"{PEAK_RATE}/s at peak, so the lag grows by {PEAK_RATE - count * PER_CONSUMER} "
            "records every second.",
            hint=f"At least {PEAK_RATE} / {PER_CONSUMER} rounded up consumers keep up.",
        )
    if count > PARTITIONS:
        ctx.fail(
            f"{count} consumers for {PARTITIONS} partitions: {count - PARTITIONS} of them get no "
            "partition and sit idle.",
            hint="A partition goes to one consumer of a group: more consumers than partitions "
            "adds nothing (add partitions first).",
        )


def check_consumer_group(ctx: CheckContext) -> None:
    """Every record processed exactly once through a consumer stopped mid-batch."""
    check_consumers(ctx)
    step = ctx.function("consume_batch")
    from kafka import KafkaAdminClient, KafkaProducer
    from kafka.admin import NewTopic  # type: ignore[import-untyped]

    boot = _cluster(ctx)
    admin = KafkaAdminClient(bootstrap_servers=boot)
    try:
        admin.create_topics([NewTopic(TOPIC, PARTITIONS, 3)])
    finally:
        admin.close()
    producer = KafkaProducer(bootstrap_servers=boot, acks="all")
    ledger = Ledger()
    members: list[Member] = []
    threads: list[threading.Thread] = []
    try:
        members = [
            Member("consumer-1", _consumer(boot), stop_mid_batch=True),
            Member("consumer-2", _consumer(boot)),
        ]

        def start(member: Member) -> None:
            thread = threading.Thread(target=_loop, args=(member, ledger, step), daemon=True)
            threads.append(thread)
            thread.start()

        def restart(index: int) -> None:
            old = members[index]
            old.stop.set()
            old.finished.wait(5)
            with contextlib.suppress(Exception):
                old.consumer.close(autocommit=False)
            members[index] = Member(old.name, _consumer(boot), stop_mid_batch=old.stop_mid_batch)
            start(members[index])

        for member in members:
            start(member)
        _settle(ctx, ledger, members, restart)
        # The first wave comes once both consumers own partitions: written before, it could be
        # read whole by the consumer that joined first, leaving the other no second batch.
        for i in range(FIRST_WAVE):
            producer.send(TOPIC, key=f"acct-{i % 17}".encode(), value=str(i).encode())
        producer.flush()
        _run(ctx, producer, ledger, members)
    finally:
        for member in members:
            member.stop.set()
        for thread in threads:
            thread.join(timeout=5)
        for member in members:
            with contextlib.suppress(Exception):  # a consumer closed already
                member.consumer.close(autocommit=False)
        producer.close(timeout=5)
    _judge(ctx, ledger, members)


def _settle(
    ctx: CheckContext, ledger: Ledger, members: list[Member], restart: Callable[[int], None]
) -> None:
    """Wait until both consumers own partitions. A consumer left without any while the group is
    stable (an intermittent stall of the sandbox's group coordinator with kafka-python, see
    tests/test_kafka.py GROUP_STALL) is replaced by a new one, which makes the group rebalance."""
    for _ in range(RESTARTS + 1):
        if _until(lambda: all(m.consumer.assignment() for m in members), SETTLE_WAIT):
            return
        _report_errors(ctx, members)
        for index, member in enumerate(members):
            if not member.consumer.assignment() and not member.batches:
                restart(index)
    _report_errors(ctx, members)
    ctx.fail(
        f"The group did not give both consumers partitions within "
        f"{SETTLE_WAIT * (RESTARTS + 1):g} s (assignments: "
        f"{[len(m.consumer.assignment()) for m in members]}; {ledger.handled} records handled).",
        hint="`consume_batch` must poll (`consumer.poll(timeout_ms=...)`) each time it is "
        "called: a consumer joins its group and gets partitions inside poll.",
    )


def _run(ctx: CheckContext, producer: Any, ledger: Ledger, members: list[Member]) -> None:
    leaving, staying = members
    if not _until(lambda: leaving.finished.is_set() or staying.finished.is_set(), STOP_WAIT):
        _report_errors(ctx, members)
        ctx.fail(
            f"{leaving.name} did not reach its second batch within {STOP_WAIT:g} s "
            f"({ledger.handled} records handled).",
            hint="Call `process(record)` for every record of the batch `poll` returns.",
        )
    _report_errors(ctx, members)
    leaving.consumer.close(autocommit=False)  # it leaves the group: the group rebalances
    for i in range(FIRST_WAVE, FIRST_WAVE + SECOND_WAVE):
        producer.send(TOPIC, key=f"acct-{i % 17}".encode(), value=str(i).encode())
    producer.flush()
    total = FIRST_WAVE + SECOND_WAVE
    progress = {"handled": -1, "since": time.monotonic()}

    def finished() -> bool:
        if ledger.total_done() >= total or staying.finished.is_set():
            return True
        if ledger.handled != progress["handled"]:
            progress.update(handled=ledger.handled, since=time.monotonic())
        # Nothing handled for QUIET seconds after the rebalance: what is missing will not come.
        return time.monotonic() - progress["since"] > QUIET

    _until(finished, DONE_WAIT)
    staying.stop.set()
    staying.finished.wait(5)
    _report_errors(ctx, members)


def _report_errors(ctx: CheckContext, members: list[Member]) -> None:
    for member in members:
        if member.error:
            raise CheckFailed(
                f"`consume_batch` raised {member.error} in {member.name}.",
                hint="Poll, call `process(record)` for each record, then commit; let the check "
                "run the loop (one batch per call).",
            )


def _judge(ctx: CheckContext, ledger: Ledger, members: list[Member]) -> None:
    total = FIRST_WAVE + SECOND_WAVE
    done = ledger.done
    lost = [str(i) for i in range(total) if str(i) not in done]
    twice = [value for value, n in done.items() if n > 1]
    commits = sum(m.commits for m in members)
    early = sum(m.early_commits for m in members)
    leaving = members[0]
    if commits == 0:
        ctx.fail(
            f"`consume_batch` never committed: none of the {ledger.handled} records handled "
            "counts, and whoever takes a partition over reads it again from the start.",
            hint="Commit after processing the batch: `consumer.commit()`.",
        )
    if lost and early:
        ctx.fail(
            f"{len(lost)} of {total} records were lost: {leaving.name} committed offsets of "
            f"records it had not processed yet ({early} commit(s) before the batch was done), "
            f"then stopped mid-batch; the consumer that took its partitions started after them "
            f"({ledger.handled} records handled, {sum(done.values())} processed and committed).",
            hint="Commit after processing: call `process(record)` for every record of the "
            "batch first, then `consumer.commit()`.",
        )
    partial = sum(m.partial_commits for m in members)
    if lost and partial:
        ctx.fail(
            f"{len(lost)} of {total} records were lost: `consume_batch` committed batches in "
            f"which it had passed only some records to `process` ({partial} such commit(s)); "
            "the offsets of the others were committed all the same.",
            hint="Process every record of every partition in the batch (`for records in "
            "batch.values(): for record in records: ...`), then commit.",
        )
    if lost:
        ctx.fail(
            f"{len(lost)} of {total} records were never processed and committed (e.g. value "
            f"{lost[0]}); {ledger.handled} were handled in all.",
            hint="Process every record of every partition in the batch, then commit; keep "
            "calling poll so the consumer keeps its partitions.",
        )
    if twice:
        ctx.fail(
            f"{len(twice)} record(s) were processed and committed twice (e.g. value {twice[0]}).",
            hint="Commit the offset after the last processed record (`record.offset + 1`), or "
            "`consumer.commit()` with no argument.",
        )
    if not leaving.stopped_mid_batch:
        ctx.fail(
            f"{leaving.name} never handled half of a second batch, so the check could not stop "
            "it mid-batch.",
            hint="Process every record of each batch `poll` returns, one `process` call each.",
        )


__all__ = ["PARTITIONS", "PEAK_RATE", "PER_CONSUMER", "check_consumer_group", "check_consumers"]
