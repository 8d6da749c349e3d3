"""Time to Live as AWS runs it: expired items leave in the background, days later, on the clock.

DynamoDB compares an item's TTL attribute (a Number, epoch seconds) with the current time; once
it has passed, the item "is marked as expired and subsequently deleted", on a best-effort basis:
"DynamoDB typically deletes expired items within two days of expiration ... Items that have
expired and not been deleted will still show up in reads, queries, and scans"
(https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateTimeToLive.html).
The TTL process ignores an item whose attribute is missing, is not a Number, or lies more than
five years in the past
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/time-to-live-ttl-before-you-start.html).

labkit's model of "when": each expired item gets a delay drawn deterministically from its
table, key, expiry and the sandbox's seed, uniformly between zero and the documented bound
(fact ``dynamodb.ttl_deletion_typical``, two days). So a lesson can say "advance two days and it
is gone" and every run deletes the same items at the same second. The delay counts from the
expiry, or from the moment the item became eligible if that is later (TTL enabled afterwards, or
an item written already expired).

Plain Python on the lab clock's numbers: the patch (:mod:`labkit.services.dynamodb.patch_ttl`)
feeds it the items and deletes what it says is due.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit import facts

#: Seconds in the five years beyond which the TTL process ignores an expiry (365.25-day years).
FIVE_YEARS = 5 * 365.25 * 86400


def deletion_bound() -> float:
    """The longest labkit waits after expiry before deleting (``dynamodb.ttl_deletion_typical``)."""
    return float(facts.value("dynamodb.ttl_deletion_typical"))


def max_past() -> float:
    """How far in the past an expiry may lie and still be honoured (``dynamodb.ttl_max_past``)."""
    return float(facts.value("dynamodb.ttl_max_past"))


def expiry_of(value: Mapping[str, Any] | None) -> float | None:
    """The expiry in a TTL attribute's DynamoDB JSON (``{"N": "1767600000"}``), or ``None``.

    Only a top-level Number counts; a String, a List, a missing attribute or a number that is
    not finite is ignored by the TTL process, so it yields ``None``.
    """
    if not value or set(value) != {"N"}:
        return None
    try:
        seconds = float(value["N"])
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) else None


def deletion_delay(seed: int | str, table: str, key: str, expiry: float, bound: float) -> float:
    """Seconds after eligibility at which the background process deletes this item.

    Uniform in ``[0, bound)``, fixed by the seed, table, key and expiry: the same lab deletes the
    same items at the same lab second on every run.
    """
    digest = hashlib.sha256(f"{seed}|{table}|{key}|{expiry!r}".encode()).digest()
    return bound * (int.from_bytes(digest[:8], "big") / 2**64)


def deletion_time(
    expiry: float, eligible_from: float, delay: float, *, horizon: float = FIVE_YEARS
) -> float | None:
    """The lab time the item is deleted, or ``None`` when the TTL process will never touch it.

    Args:
        expiry: The item's TTL value (epoch seconds).
        eligible_from: When TTL could first see this value (the write, or TTL being enabled).
        delay: The item's deletion delay (:func:`deletion_delay`).
        horizon: Expiries further than this in the past (at ``eligible_from``) are ignored.
    """
    if expiry < eligible_from - horizon:
        return None
    return max(expiry, eligible_from) + delay


@dataclass(order=True)
class PendingDeletion:
    """One item the background process will delete at ``due`` (unless it changes first).

    Attributes:
        due: Lab time (epoch seconds) of the deletion.
        seq: Tie-breaker: the order the items were noted in.
        key: The item's key as text (for views and the delay's seed).
        expiry: The TTL value the deletion was computed from; a later write with another value
            makes this entry stale.
        handle: Whatever the caller needs to find the item again (moto's key objects).
    """

    due: float
    seq: int
    key: str = field(compare=False)
    expiry: float = field(compare=False)
    handle: Any = field(compare=False, default=None, repr=False)


@dataclass
class TtlSweep:
    """The background deleter of one table: what is due when.

    Attributes:
        attribute: The table's TTL attribute name.
        enabled_at: When TTL was enabled (items already expired then become eligible then).
        armed_at: The lab time of the clock event that will next run :meth:`due`, if any.
    """

    attribute: str
    enabled_at: float
    armed_at: float | None = None
    _heap: list[PendingDeletion] = field(default_factory=list)
    _latest: dict[str, float] = field(default_factory=dict)
    _seq: Iterator[int] = field(default_factory=itertools.count)

    def note(self, key: str, expiry: float | None, due: float | None, handle: Any = None) -> None:
        """Record an item's current TTL value; ``due=None`` means it will not be deleted."""
        if expiry is None or due is None:
            self._latest.pop(key, None)
            return
        self._latest[key] = expiry
        heapq.heappush(self._heap, PendingDeletion(due, next(self._seq), key, expiry, handle))

    def forget(self, key: str) -> None:
        """The item is gone (deleted by a caller): its pending deletion is void."""
        self._latest.pop(key, None)

    def next_due(self) -> float | None:
        """The lab time of the next deletion still current, or ``None``."""
        while self._heap and self._latest.get(self._heap[0].key) != self._heap[0].expiry:
            heapq.heappop(self._heap)
        return self._heap[0].due if self._heap else None

    def due(self, now: float) -> list[PendingDeletion]:
        """Take the deletions due at or before ``now`` whose TTL value is still the item's."""
        out: list[PendingDeletion] = []
        while self._heap and self._heap[0].due <= now:
            entry = heapq.heappop(self._heap)
            if self._latest.get(entry.key) == entry.expiry:
                del self._latest[entry.key]
                out.append(entry)
        return out

    def pending(self) -> list[PendingDeletion]:
        """Every deletion still to come, soonest first (for views and checks)."""
        seen: set[str] = set()
        out: list[PendingDeletion] = []
        for entry in sorted(e for e in self._heap if self._latest.get(e.key) == e.expiry):
            if entry.key not in seen:
                seen.add(entry.key)
                out.append(entry)
        return out


__all__ = [
    "FIVE_YEARS",
    "PendingDeletion",
    "TtlSweep",
    "deletion_bound",
    "deletion_delay",
    "deletion_time",
    "expiry_of",
    "max_past",
]
