"""What the Data API keeps of each request: its statements, their outcomes, on the lab clock.

Kept on moto's Data API backend (:data:`STATEMENTS`), so ``lab.reset()`` drops them; read by
:mod:`.patch` (to answer the API) and :mod:`.state` (for views and checks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labkit.services.redshift.sim_warehouse import Outcome

STATEMENTS = "_labkit_statements"


@dataclass
class SubStatement:
    """One statement of a request, with what it did."""

    id: str
    sql: str
    outcome: Outcome | None = None
    status: str = "SUBMITTED"
    duration_ns: int = 0
    query_id: int = 0


@dataclass
class StatementRecord:
    """A Data API request: one statement, or a batch."""

    id: str
    cluster: str
    database: str
    db_user: str | None
    secret_arn: str | None
    name: str | None
    created: float
    batch: bool
    parts: list[SubStatement] = field(default_factory=list)
    parameters: list[dict[str, str]] = field(default_factory=list)
    slices: int = 1
    slices_per_node: int = 1

    @property
    def status(self) -> str:
        """The request's status: FAILED if a statement failed, else FINISHED."""
        states = {p.status for p in self.parts}
        return "FAILED" if "FAILED" in states else "FINISHED"

    @property
    def error(self) -> str | None:
        """The first failure's ``ERROR:`` line."""
        for part in self.parts:
            if part.outcome is not None and part.outcome.error:
                return part.outcome.error
        return None


def statements(backend: Any) -> dict[str, StatementRecord]:
    """The statement records kept on a moto Data API backend."""
    found: dict[str, StatementRecord] | None = backend.__dict__.get(STATEMENTS)
    if found is None:
        found = {}
        backend.__dict__[STATEMENTS] = found
    return found
