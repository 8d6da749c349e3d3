"""One DMS replication task on the lab clock: full load, then change data capture (CDC).

What a started task does, as AWS documents it
(https://docs.aws.amazon.com/dms/latest/userguide/CHAP_Tasks.html):

- ``full-load``: copies every selected table as it is at one instant, then stops
  (``StopReason`` ``FULL_LOAD_ONLY_FINISHED``);
- ``full-load-and-cdc``: the same copy, then every insert, update and delete made after that
  instant, in the order they were made, for as long as the task runs;
- ``cdc``: only the changes made after the task starts.

Changes reach the target on the lab clock: a change made while the clock reads ``t`` is applied
at ``t + lag``. The lag is the target's batching, as DMS documents it: an S3 target writes a CDC
file every ``CdcMaxBatchInterval`` seconds (default 60); other targets commit every
``ChangeProcessingTuning.CommitTimeout`` seconds (default 1). Until then the change is pending:
:meth:`Replication.lag` is how long the oldest pending change has waited (what CloudWatch's
``CDCLatencyTarget`` shows). Stopping keeps pending changes at the source (the checkpoint only
moves once a change is applied), so ``resume-processing`` applies them and nothing is lost; the
safe cut-over is: stop writes to the source, wait until the lag is 0, then stop the task.

The source is a :class:`~.sim_source.PostgresSource` (see there for how changes are captured);
the target a :class:`Target` the patch provides over moto's S3, Kinesis and DynamoDB.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from labkit.errors import LabkitError
from labkit.services.dms.sim_mappings import Mappings, TablePlan
from labkit.services.dms.sim_source import Change, PostgresSource, SourceError

MIGRATION_TYPES = ("full-load", "cdc", "full-load-and-cdc")
START_TYPES = ("start-replication", "resume-processing", "reload-target")


class TaskStateError(LabkitError):
    """A start or stop AWS refuses in the task's state (``InvalidResourceStateFault``)."""

    code = "InvalidResourceStateFault"


class TargetError(LabkitError):
    """The target refused a write (a bucket, stream or table that is not there)."""

    code = "TargetError"


class Target(Protocol):
    """Where rows go (the patch's S3, Kinesis or DynamoDB writer)."""

    def load(self, plan: TablePlan, rows: list[dict[str, Any]], at: float) -> None:
        """Write a table's full load (rows as the target sees them)."""
        ...

    def apply(
        self, plan: TablePlan, changes: list[tuple[Change, dict[str, Any]]], at: float
    ) -> None:
        """Write a batch of one table's changes, in order (each with its projected row)."""
        ...


@dataclass
class TableStats:
    """One table's counters, as ``DescribeTableStatistics`` reports them."""

    schema: str
    table: str
    full_load_rows: int = 0
    inserts: int = 0
    updates: int = 0
    deletes: int = 0
    state: str = "Before load"
    last_update: float = 0.0

    def as_api(self) -> dict[str, Any]:
        """The API's ``TableStatistics`` entry."""
        return {
            "SchemaName": self.schema,
            "TableName": self.table,
            "Inserts": self.inserts,
            "Updates": self.updates,
            "Deletes": self.deletes,
            "Ddls": 0,
            "FullLoadRows": self.full_load_rows,
            "FullLoadCondtnlChkFailedRows": 0,
            "FullLoadErrorRows": 0,
            "TableState": self.state,
            "LastUpdateTime": self.last_update,
        }


@dataclass
class Batch:
    """One apply to the target: when, how many changes, how long the oldest had waited."""

    at: float
    changes: int
    lag: float


@dataclass
class Pending:
    """A change read from the source, waiting for its batch."""

    change: Change
    captured: float


@dataclass
class Replication:
    """A task's runtime: its status, statistics and pending changes.

    Args:
        connect: Opens the source (raises :class:`SourceError` when refused).
        target: Where rows go.
        mappings: The task's table mappings.
        migration_type: ``full-load``, ``cdc`` or ``full-load-and-cdc``.
        delay: Seconds of lab time between a change at the source and its batch at the target.
    """

    connect: Callable[[], PostgresSource]
    target: Target
    mappings: Mappings
    migration_type: str
    delay: float
    status: str = "ready"
    stop_reason: str = ""
    failure: str = ""
    started: float | None = None
    stopped: float | None = None
    full_load_started: float | None = None
    full_load_finished: float | None = None
    stats: dict[tuple[str, str], TableStats] = field(default_factory=dict)
    plans: dict[tuple[str, str], TablePlan] = field(default_factory=dict)
    pending: list[Pending] = field(default_factory=list)
    batches: list[Batch] = field(default_factory=list)
    _source: PostgresSource | None = None
    _read_upto: int = 0
    _checkpoint: int = 0
    _ever_started: bool = False

    @property
    def cdc(self) -> bool:
        """Whether the task replicates changes."""
        return self.migration_type in ("cdc", "full-load-and-cdc")

    # -- start and stop ----------------------------------------------------------------------
    def start(self, now: float, start_type: str = "start-replication") -> None:
        """``StartReplicationTask``: the full load happens now; CDC runs from now on."""
        if start_type not in START_TYPES:
            raise TaskStateError(
                f"StartReplicationTaskType must be one of {', '.join(START_TYPES)}, "
                f"not {start_type!r}"
            )
        if self.status in ("running", "starting"):
            raise TaskStateError("The replication task is already running")
        if start_type == "start-replication" and self._ever_started:
            raise TaskStateError(
                "start-replication is only for a task's first run: use resume-processing "
                "(carry on from where it stopped) or reload-target (load again)"
            )
        if start_type == "resume-processing" and not self._ever_started:
            start_type = "start-replication"  # AWS treats a first resume as a start
        self._ever_started = True
        self.started, self.stopped = now, None
        self.stop_reason, self.failure = "", ""
        try:
            self._source = self.connect()
            if start_type == "resume-processing" and self.cdc:
                # Carry on from the checkpoint: changes made while stopped are waiting there.
                self._read_upto = self._checkpoint
                self.status = "running"
                return
            self._plan()
            if self.migration_type == "cdc":
                self._source.start_capture(list(self.plans))
                self._read_upto = self._checkpoint = self._source.max_seq()
                for stats in self.stats.values():
                    stats.state = "Table completed"
            else:
                self._full_load(now)
        except (SourceError, TargetError) as error:
            self.status = "failed"
            self.stop_reason = "Stop Reason FATAL_ERROR"
            self.failure = str(error)
            self._close()
            return
        if self.migration_type == "full-load":
            self._stop(now, "Stop Reason FULL_LOAD_ONLY_FINISHED")
        else:
            self.status = "running"

    def _plan(self) -> None:
        assert self._source is not None
        self.plans.clear()
        for schema, table in self._source.tables():
            columns, key = self._source.columns(schema, table)
            plan = self.mappings.plan(schema, table, columns, key)
            if plan is not None:
                self.plans[(schema, table)] = plan
                self.stats.setdefault((schema, table), TableStats(schema, table))
        if not self.plans:
            raise SourceError(
                "No table matched the task's selection rules (the source has "
                + (", ".join(f"{s}.{t}" for s, t in self._source.tables()) or "no tables")
                + ")"
            )

    def _full_load(self, now: float) -> None:
        assert self._source is not None
        if not self.plans:
            self._plan()
        self.full_load_started = now
        # Capture starts in the same transaction as the load's snapshot (see sim_source).
        loaded = self._source.load(list(self.plans), capture=self.cdc)
        if self.cdc:
            # What the change table held at the snapshot is in the load already.
            self._source.checkpoint(self._source.watermark)
            self._read_upto = self._checkpoint = self._source.watermark
            self.pending.clear()
        for where, rows in loaded.items():
            plan = self.plans[where]
            self.target.load(plan, [plan.project(r) for r in rows], now)
            stats = self.stats[where]
            stats.full_load_rows = len(rows)
            stats.inserts = stats.updates = stats.deletes = 0
            stats.state, stats.last_update = "Table completed", now
        self.full_load_finished = now

    def stop(self, now: float) -> None:
        """``StopReplicationTask``: changes not yet applied stay at the source for a resume."""
        if self.status != "running":
            raise TaskStateError(f"Replication task is not running (it is {self.status})")
        self.capture(now)
        self._stop(now, "Stop Reason STOPPED_BY_USER")

    def _stop(self, now: float, reason: str) -> None:
        self.status, self.stop_reason, self.stopped = "stopped", reason, now
        self.pending.clear()
        self._read_upto = self._checkpoint
        self._close()

    def _close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None

    def delete(self) -> None:
        """``DeleteReplicationTask``: remove the triggers and change table at the source."""
        try:
            source = self._source or self.connect()
        except SourceError:
            return
        source.drop_capture(list(self.plans))
        source.close()
        self._source = None

    # -- change data capture -------------------------------------------------------------------
    def capture(self, captured: float) -> None:
        """Read changes made since the last read; they were made at lab time ``captured``."""
        if self.status != "running" or not self.cdc or self._source is None:
            return
        try:
            changes = self._source.changes(self._read_upto)
        except SourceError as error:
            self.status, self.failure = "failed", str(error)
            self.stop_reason = "Stop Reason RECOVERABLE_ERROR"
            self._close()
            return
        for change in changes:
            if (change.schema, change.table) in self.plans:
                self.pending.append(Pending(change, captured))
            self._read_upto = change.seq

    def next_due(self) -> float | None:
        """The lab time the next batch is due, if changes are pending."""
        return self.pending[0].captured + self.delay if self.pending else None

    def apply_due(self, now: float) -> int:
        """Apply every pending change whose batch is due by ``now``; returns how many."""
        if self.status != "running" or self._source is None:
            return 0
        due = [p for p in self.pending if p.captured + self.delay <= now + 1e-9]
        if not due:
            return 0
        at = max(p.captured + self.delay for p in due)
        by_table: dict[tuple[str, str], list[tuple[Change, dict[str, Any]]]] = {}
        for item in due:
            change = item.change
            plan = self.plans[(change.schema, change.table)]
            by_table.setdefault((change.schema, change.table), []).append(
                (change, plan.project(change.row))
            )
        for where, changes in by_table.items():
            try:
                self.target.apply(self.plans[where], changes, at)
            except TargetError as error:
                # The changes stay at the source (the checkpoint has not moved).
                self.status, self.failure = "failed", str(error)
                self.stop_reason = "Stop Reason RECOVERABLE_ERROR"
                self.pending.clear()
                self._read_upto = self._checkpoint
                self._close()
                return 0
            stats = self.stats[where]
            for change, _row in changes:
                if change.op == "I":
                    stats.inserts += 1
                elif change.op == "U":
                    stats.updates += 1
                else:
                    stats.deletes += 1
            stats.last_update = at
        self.batches.append(Batch(at, len(due), at - due[0].captured))
        self.pending = self.pending[len(due) :]
        self._checkpoint = due[-1].change.seq
        self._source.checkpoint(self._checkpoint)
        return len(due)

    def lag(self, now: float) -> float:
        """How long the oldest pending change has waited (0 when the target is caught up)."""
        return now - self.pending[0].captured if self.pending else 0.0

    # -- the API's view ------------------------------------------------------------------------
    def task_stats(self) -> dict[str, Any]:
        """``ReplicationTaskStats`` (times as epoch seconds)."""
        tables = list(self.stats.values())
        loaded = [t for t in tables if t.state == "Table completed"]
        stats: dict[str, Any] = {
            "FullLoadProgressPercent": 100 if tables and len(loaded) == len(tables) else 0,
            "ElapsedTimeMillis": 0,
            "TablesLoaded": len(loaded),
            "TablesLoading": 0,
            "TablesQueued": len(tables) - len(loaded),
            "TablesErrored": 0,
        }
        if self.started is not None:
            stats["StartDate"] = stats["FreshStartDate"] = self.started
        if self.stopped is not None:
            stats["StopDate"] = self.stopped
        if self.full_load_started is not None:
            stats["FullLoadStartDate"] = self.full_load_started
        if self.full_load_finished is not None:
            stats["FullLoadFinishDate"] = self.full_load_finished
        return stats
