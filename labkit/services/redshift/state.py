"""Read-only snapshots of Redshift statements (Data API requests) for views and checks.

Plain dicts; moto's backends are read through :mod:`labkit.sandbox.backends` (none is created by
looking). moto keeps Redshift's clusters and the Data API's backend in backend dicts of the same
service name, so a Data API backend is told by the statement records it holds.
"""

from __future__ import annotations

from typing import Any

from labkit import facts
from labkit.errors import LabkitError
from labkit.sandbox.backends import DEFAULT_ACCOUNT_ID, existing
from labkit.services.redshift.sim_statements import STATEMENTS, StatementRecord

#: Rows of a result the query view previews.
PREVIEW_ROWS = 10


class UnknownStatementError(LabkitError):
    """No Data API statement with that id (or none run yet)."""

    code = "UnknownStatement"


def _records(account_id: str) -> list[tuple[str, StatementRecord]]:
    found: list[tuple[str, StatementRecord]] = []
    for region, backend in existing("redshift", account_id):
        for record in (backend.__dict__.get(STATEMENTS) or {}).values():
            found.append((region, record))
    return sorted(found, key=lambda pair: pair[1].created)


def spectrum_cost(scanned: int) -> float:
    """Spectrum's price for ``scanned`` bytes: whole MB, the per-query minimum, per TB."""
    if scanned <= 0:
        return 0.0
    mb = 1024 * 1024
    minimum = int(facts.value("redshift.spectrum_min_billed_per_query"))
    billed_mb = max(minimum, -(-scanned // mb))
    price = float(facts.value("redshift.spectrum_price_per_tb_scanned"))
    return billed_mb / (1024 * 1024) * price


def statement_snapshot(
    statement_id: str | None = None, account_id: str = DEFAULT_ACCOUNT_ID
) -> dict[str, Any]:
    """One statement (the latest when ``statement_id`` is ``None``; ``<id>:<n>`` for a batch's
    n-th): its SQL, status, cluster slices, rows redistributed, blocks skipped, a preview."""
    records = _records(account_id)
    if not records:
        raise UnknownStatementError("No Redshift Data API statement has run in this lab yet.")
    base, _, index = (statement_id or "").partition(":")
    if statement_id is None:
        region, record = records[-1]
    else:
        matches = [(r, rec) for r, rec in records if rec.id == base]
        if not matches:
            raise UnknownStatementError(f"There is no Data API statement {statement_id!r}.")
        region, record = matches[0]
    if index:
        parts = [p for p in record.parts if p.id == statement_id]
        if not parts:
            raise UnknownStatementError(f"Statement {base} has no sub-statement {index}.")
        part = parts[0]
    else:
        # A batch shows its last statement that ran (the one that failed, if one did).
        ran = [p for p in record.parts if p.outcome is not None]
        part = ran[-1] if ran else record.parts[0]
    outcome = part.outcome
    joins = [
        {
            "left": j.left,
            "right": j.right,
            "strategy": j.strategy,
            "rows_moved": j.rows_moved,
            "rows_between_nodes": j.rows_between_nodes,
            "rows_total": j.rows_total,
        }
        for j in (outcome.joins if outcome else [])
    ]
    blocks = [
        {
            "table": b.table,
            "column": b.column,
            "predicate": b.predicate,
            "sorted_on": b.sorted_on,
            "blocks_total": b.blocks_total,
            "blocks_skipped": b.blocks_skipped,
        }
        for b in (outcome.blocks if outcome else [])
    ]
    scanned = outcome.spectrum_bytes if outcome else 0
    return {
        "id": part.id,
        "sql": part.sql,
        "status": part.status,
        "error": outcome.error if outcome else None,
        "kind": outcome.kind if outcome else "",
        "cluster": record.cluster,
        "region": region,
        "database": record.database,
        "slices": record.slices,
        "nodes": max(1, record.slices // max(1, record.slices_per_node)),
        "batch": record.batch,
        "rows": outcome.rows_affected if outcome else 0,
        "columns": list(outcome.columns) if outcome else [],
        "preview": list(outcome.rows[:PREVIEW_ROWS]) if outcome else [],
        "joins": joins,
        "blocks": blocks,
        "spectrum_bytes": scanned,
        "spectrum_cost": spectrum_cost(scanned),
    }
