"""The DynamoDB lab's workloads: a shop's order events, skewed as real traffic is.

Plain Python, seeded, no AWS: the ``event_key`` check writes these events with the learner's
key, and the lesson uses the same generator, so what the learner tries is what the check runs.

The skew is the point of the key-design task. Most orders come from one flagship store, a
reseller places a large share of them, every event of the run is on the same day and most are
of a handful of types: each of those attributes, used as a partition key, concentrates the
writes on one key value, and a key value lives in one partition.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

#: The order lifecycle, in time order (alphabetically it is packed, paid, placed, shipped).
EVENT_TYPES = ("placed", "paid", "packed", "shipped")
FLAGSHIP = "store-flagship"
RESELLER = "cust-reseller"
#: Share of orders placed at the flagship store, and by the reseller.
FLAGSHIP_SHARE = 0.5
RESELLER_SHARE = 0.35
STORES = 40
CUSTOMERS = 50_000
#: Where the run's lab time starts, as the events' ``at`` shows it.
DAY = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class OrderEvent:
    """One event of an order's life."""

    event_id: str
    order_id: str
    customer_id: str
    store: str
    type: str
    #: Seconds since the start of the run.
    second: int
    #: Milliseconds within that second (so two events of an order never share an instant).
    millis: int

    @property
    def at(self) -> str:
        """When it happened, ISO 8601 in UTC with milliseconds (sorts as text in time order)."""
        when = DAY + timedelta(seconds=self.second, milliseconds=self.millis)
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.millis:03d}Z"

    def as_dict(self) -> dict[str, str]:
        """The event as the learner's ``event_key`` receives it."""
        return {
            "event_id": self.event_id,
            "order_id": self.order_id,
            "customer_id": self.customer_id,
            "store": self.store,
            "day": DAY.strftime("%Y-%m-%d"),
            "type": self.type,
            "at": self.at,
        }


class OrderEvents:
    """A seeded stream of order events: ``rate`` new events a second for ``seconds`` seconds.

    Each order has up to four events (placed, paid, packed, shipped), a second or more apart;
    orders are placed so that the total rate stays at ``rate`` events a second.
    """

    def __init__(self, rate: int, seconds: int, *, seed: int = 2026) -> None:
        self.rate = rate
        self.seconds = seconds
        self._rng = random.Random(seed)
        self.events = self._generate()

    def _order(self, number: int) -> tuple[str, str, str]:
        rng = self._rng
        store = FLAGSHIP if rng.random() < FLAGSHIP_SHARE else f"store-{rng.randrange(STORES):02d}"
        customer = (
            RESELLER if rng.random() < RESELLER_SHARE else f"cust-{rng.randrange(CUSTOMERS):05d}"
        )
        return f"order-{number:06d}", customer, store

    def _generate(self) -> list[OrderEvent]:
        rng = self._rng
        slots: list[list[OrderEvent]] = [[] for _ in range(self.seconds)]
        number = 0
        serial = 0
        for second in range(self.seconds):
            while len(slots[second]) < self.rate:
                number += 1
                order_id, customer, store = self._order(number)
                at = second
                for kind in EVENT_TYPES:
                    if at >= self.seconds:
                        break
                    # The slot may be full already: the event happens in the next free second.
                    while at < self.seconds and len(slots[at]) >= self.rate:
                        at += 1
                    if at >= self.seconds:
                        break
                    serial += 1
                    slots[at].append(
                        OrderEvent(
                            event_id=f"evt-{serial:07d}",
                            order_id=order_id,
                            customer_id=customer,
                            store=store,
                            type=kind,
                            second=at,
                            millis=rng.randrange(1000),
                        )
                    )
                    at += 1 + rng.randrange(3)
        return [e for slot in slots for e in sorted(slot, key=lambda e: e.millis)]

    def by_second(self) -> Iterator[tuple[int, list[OrderEvent]]]:
        """``(second, events)`` for each second of the run, in order."""
        slot: list[OrderEvent] = []
        current = 0
        for event in self.events:
            if event.second != current:
                yield current, slot
                slot, current = [], event.second
            slot.append(event)
        yield current, slot

    def orders(self) -> dict[str, list[OrderEvent]]:
        """Each order's events, in time order."""
        out: dict[str, list[OrderEvent]] = {}
        for event in sorted(self.events, key=lambda e: (e.second, e.millis)):
            out.setdefault(event.order_id, []).append(event)
        return out
