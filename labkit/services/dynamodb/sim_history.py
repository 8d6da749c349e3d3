"""Point-in-time recovery as a model: a table's items at any second since PITR was enabled.

With PITR enabled, "you can restore your table to any point in time during the last 35 days"
(``EarliestRestorableDateTime``), and "LatestRestorableDateTime is typically 5 minutes before the
current time" (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PointInTimeRecoveryDescription.html;
facts ``dynamodb.pitr_window``, ``dynamodb.pitr_latest_restorable_lag``). The recovery period
can be set between 1 and 35 days (``RecoveryPeriodInDays``).

:class:`ItemHistory` keeps what that needs: the items as they were when PITR was enabled, then
every write in time order (the item after the write, or its deletion). :meth:`ItemHistory.at`
replays them up to a lab second; :meth:`ItemHistory.compact` folds writes older than the window
into the base, so memory follows the window, not the table's age. Plain Python on DynamoDB JSON
(no moto): :mod:`labkit.services.dynamodb.patch_recovery` feeds it.
"""

from __future__ import annotations

import copy
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit import facts

#: A key as text (``S:alice|N:3``) and the item's DynamoDB JSON (``None``: deleted).
Change = tuple[float, str, "dict[str, Any] | None"]


def window_seconds(days: int | None = None) -> float:
    """The recovery window: ``days`` (1-35) or the documented maximum (``dynamodb.pitr_window``)."""
    if days is not None:
        return float(days) * 86400.0
    return float(facts.value("dynamodb.pitr_window"))


def latest_lag() -> float:
    """Seconds the latest restorable time trails now (``dynamodb.pitr_latest_restorable_lag``)."""
    return float(facts.value("dynamodb.pitr_latest_restorable_lag"))


@dataclass
class ItemHistory:
    """Every version of a table's items since PITR was enabled.

    Attributes:
        enabled_at: When PITR was enabled (lab epoch seconds).
        base_at: The instant :attr:`base` describes (moves forward as old writes are folded in).
        base: The items at ``base_at``, by key text.
        changes: Writes after ``base_at``, in time order: ``(at, key, image or None)``.
    """

    enabled_at: float
    base_at: float
    base: dict[str, dict[str, Any]] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)

    @classmethod
    def start(cls, now: float, items: Iterable[tuple[str, Mapping[str, Any]]]) -> ItemHistory:
        """Begin at ``now`` with the table's current items."""
        return cls(now, now, {key: copy.deepcopy(dict(image)) for key, image in items})

    def record(self, now: float, key: str, image: Mapping[str, Any] | None) -> None:
        """One write: the item after it, or ``None`` for a delete."""
        self.changes.append((now, key, copy.deepcopy(dict(image)) if image is not None else None))

    def earliest(self, now: float, window: float) -> float:
        """The earliest restorable instant at ``now``."""
        return max(self.enabled_at, now - window)

    def latest(self, now: float) -> float:
        """The latest restorable instant at ``now`` (never before the earliest)."""
        return max(self.enabled_at, now - latest_lag())

    def at(self, when: float) -> dict[str, dict[str, Any]]:
        """The items as they were at ``when`` (writes at or before it count)."""
        if when < self.base_at:
            raise ValueError(f"history starts at {self.base_at}, not {when}")
        items = {k: copy.deepcopy(v) for k, v in self.base.items()}
        stop = bisect_right(self.changes, when, key=lambda change: change[0])
        for _at, key, image in self.changes[:stop]:
            if image is None:
                items.pop(key, None)
            else:
                items[key] = copy.deepcopy(image)
        return items

    def compact(self, now: float, window: float) -> None:
        """Fold writes older than the window into the base (they can no longer be restored to
        on their own)."""
        horizon = now - window
        if horizon <= self.base_at:
            return
        stop = bisect_right(self.changes, horizon, key=lambda change: change[0])
        for _at, key, image in self.changes[:stop]:
            if image is None:
                self.base.pop(key, None)
            else:
                self.base[key] = image
        del self.changes[:stop]
        self.base_at = horizon


__all__ = ["Change", "ItemHistory", "latest_lag", "window_seconds"]
