"""Athena query executions on the lab clock, and what each costs (plain Python, no moto).

A query is run by the engine when it is submitted (its result and the bytes it read are then
known), and reports ``QUEUED``, then ``RUNNING``, then its final state as the lab clock passes
its modeled queue and run times. ``time.sleep`` does not move the lab clock, so a loop that polls
``GetQueryExecution`` while sleeping in real time would never see the end: after
:data:`POLLS_TO_FINISH` polls the query is reported finished, as if the time had passed.

Cost: Athena bills the bytes scanned, rounded up to the megabyte, with a minimum per query
(``athena.price_per_tb_scanned``, ``athena.min_billed_per_query``); DDL statements and
failed queries are not billed; a cancelled query is billed what it scanned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from labkit import facts
from labkit.services.athena.sim_engine import QueryOutcome

#: labkit's model: seconds a query waits in the queue, and runs (plus its scanning time).
QUEUE_SECONDS = 0.2
RUN_SECONDS = 0.8
#: labkit's model: bytes per second a query scans (Athena documents no rate).
SCAN_BYTES_PER_SECOND = 500 * 1024 * 1024
#: Polls of GetQueryExecution after which a query is reported finished whatever the lab clock says.
POLLS_TO_FINISH = 3

#: The attribute of moto's AthenaBackend that holds the sandbox's query records (by id).
RECORDS = "_labkit_queries"

MB = 1024 * 1024
TB = 1024**4


def billed_bytes(scanned: int) -> int:
    """Bytes billed for a query that scanned ``scanned``: whole MB, at least the minimum."""
    minimum = int(facts.fact("athena.min_billed_per_query").value) * MB
    return max(minimum, math.ceil(scanned / MB) * MB)


def query_cost(scanned: int, *, billed: bool = True) -> float:
    """US dollars a query costs (0 for one that is not billed: DDL, failed)."""
    if not billed:
        return 0.0
    price = float(facts.fact("athena.price_per_tb_scanned").value)
    return billed_bytes(scanned) / TB * price


@dataclass
class QueryRecord:
    """One query execution as the sandbox keeps it."""

    execution_id: str
    query: str
    database: str
    workgroup: str
    output_location: str | None
    submitted: float
    outcome: QueryOutcome
    polls: int = 0
    stopped_at: float | None = None
    result_key: tuple[str, str] | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def run_seconds(self) -> float:
        """How long the query runs on the lab clock (labkit's model)."""
        return RUN_SECONDS + self.outcome.bytes_scanned / SCAN_BYTES_PER_SECOND

    @property
    def finished_at(self) -> float:
        """Lab-clock time the query reaches its final state."""
        return self.submitted + QUEUE_SECONDS + self.run_seconds

    def state(self, now: float) -> str:
        """``QUEUED``, ``RUNNING``, ``SUCCEEDED``, ``FAILED`` or ``CANCELLED`` at ``now``."""
        if self.stopped_at is not None:
            return "CANCELLED"
        if now < self.finished_at and self.polls < POLLS_TO_FINISH:
            return "QUEUED" if now < self.submitted + QUEUE_SECONDS else "RUNNING"
        if self.outcome.cancelled:
            return "CANCELLED"
        return "FAILED" if self.outcome.error else "SUCCEEDED"

    def completed(self, now: float) -> float | None:
        """When the query ended (``None`` while it runs)."""
        if self.stopped_at is not None:
            return self.stopped_at
        if self.state(now) in ("QUEUED", "RUNNING"):
            return None
        return min(max(now, self.submitted), self.finished_at)

    @property
    def billed(self) -> bool:
        """Whether Athena bills this query (failed ones and DDL are free)."""
        failed = self.outcome.error is not None and not self.outcome.cancelled
        return not failed and self.outcome.statement_type == "DML"

    @property
    def cost(self) -> float:
        """US dollars the query costs."""
        return query_cost(self.outcome.bytes_scanned, billed=self.billed)


def results_csv(outcome: QueryOutcome) -> bytes:
    """The results file Athena writes: a header, every value quoted, NULL as an empty field."""

    def field_text(value: str | None) -> str:
        return "" if value is None else '"' + value.replace('"', '""') + '"'

    lines = [",".join(field_text(name) for name, _ in outcome.columns)]
    lines += [",".join(field_text(v) for v in row) for row in outcome.rows]
    return ("\n".join(lines) + "\n").encode()
