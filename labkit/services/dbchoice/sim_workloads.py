"""Workloads, and running them against the "Which DB?" models to see what breaks.

A :class:`Workload` is a generator of operations (each with its kind and sizes) and the
requirements it must meet: a latency bound on its slowest operation kind, read-your-writes,
writes per second, data size, durability, a storage budget. :func:`evaluate` runs every
operation against the model of the service the learner chose (:mod:`.sim_models`) and returns
what broke, in words that name it: "join: DynamoDB has no join ...", "analytics_scan took 83 min
against a bound of 60 s", never a comparison with an expected answer. A workload can be served by
more than one service: every choice whose model meets the requirements passes.

Plain Python (no moto, no Jupyter).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit.services.dbchoice.sim_models import ServiceModel, parse_choice, storage_price


@dataclass(frozen=True)
class Operation:
    """One operation of a workload.

    Attributes:
        kind: One of :data:`~.sim_models.KINDS`.
        what: What it does, in the workload's words.
        size: Its sizes (``scanned_gb``, ``depth``, ``fanout``, ``edges_total``, ``bytes``).
        writes: Whether it writes (a read right after it must see it, if required).
    """

    kind: str
    what: str
    size: Mapping[str, float] = field(default_factory=dict)
    writes: bool = False


@dataclass(frozen=True)
class Requirements:
    """What a workload needs.

    Attributes:
        max_latency_ms: The slowest an operation may be.
        read_your_writes: Whether a read right after a write must see it.
        writes_per_second: The write rate at peak.
        data_gb: How much data it keeps.
        durable: Whether it is the system of record.
        budget_usd_month: The most its storage may cost a month (checked where the fact table
            has the price).
    """

    max_latency_ms: float
    read_your_writes: bool = False
    writes_per_second: float = 0.0
    data_gb: float = 1.0
    durable: bool = True
    budget_usd_month: float | None = None


@dataclass(frozen=True)
class Workload:
    """A named workload: what it is, what it needs, and its operations."""

    name: str
    title: str
    requirements: Requirements
    operations: Callable[[], Iterator[Operation]]

    def describe(self) -> str:
        """The workload and its requirements, in words."""
        r = self.requirements
        needs = [f"every operation within {duration(r.max_latency_ms)}"]
        if r.read_your_writes:
            needs.append("a read right after a write sees it")
        if r.writes_per_second:
            needs.append(f"{r.writes_per_second:,.0f} writes/s at peak")
        needs.append(f"{_size(r.data_gb)} of data")
        if r.durable:
            needs.append("it is the system of record")
        if r.budget_usd_month is not None:
            needs.append(f"storage within ${r.budget_usd_month:,.0f}/month")
        kinds = sorted({op.kind for op in self.operations()})
        return f"{self.title} Needs: {'; '.join(needs)}. Operations: {', '.join(kinds)}."


@dataclass
class Verdict:
    """What running one workload against one choice found.

    Attributes:
        workload: The workload's name.
        service: The model's name.
        config: The configuration chosen.
        broke: What broke, one line each (empty when the choice works).
        slowest_ms: The slowest operation that ran.
        operations: How many operations ran.
    """

    workload: str
    service: str
    config: dict[str, Any]
    broke: list[str] = field(default_factory=list)
    slowest_ms: float = 0.0
    operations: int = 0

    @property
    def ok(self) -> bool:
        """Whether nothing broke."""
        return not self.broke


def duration(ms: float) -> str:
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms < 1_000:
        return f"{ms:.0f} ms"
    if ms < 120_000:
        return f"{ms / 1000:.0f} s"
    if ms < 7_200_000:
        return f"{ms / 60_000:.0f} min"
    return f"{ms / 3_600_000:.0f} h"


def _size(gb: float) -> str:
    return f"{gb / 1024:,.0f} TB" if gb >= 1024 else f"{gb:,.0f} GB"


def run(workload: Workload, model: ServiceModel, config: Mapping[str, Any]) -> Verdict:
    """Run every operation of ``workload`` on ``model`` with ``config``."""
    verdict = Verdict(workload.name, model.name, dict(config))
    if model.status != "available":
        verdict.broke.append(model.status)
        return verdict
    req = workload.requirements
    refused: dict[str, str] = {}
    slow: dict[str, float] = {}
    stale: set[str] = set()
    wrote = False
    for op in workload.operations():
        verdict.operations += 1
        outcome = model.run(op.kind, op.size, config)
        if outcome.latency_ms is None:
            refused.setdefault(op.kind, f"{op.kind} ({op.what}): {outcome.refused}")
            continue
        verdict.slowest_ms = max(verdict.slowest_ms, outcome.latency_ms)
        if outcome.latency_ms > req.max_latency_ms:
            slow[f"{op.kind} ({op.what})"] = max(
                outcome.latency_ms, slow.get(f"{op.kind} ({op.what})", 0.0)
            )
        if req.read_your_writes and wrote and not op.writes and outcome.stale_reads:
            stale.add(op.kind)
        wrote = wrote or op.writes
        size_bytes = op.size.get("bytes", 0.0)
        if model.max_record_bytes is not None and size_bytes > model.max_record_bytes:
            refused.setdefault(
                "size",
                f"{op.kind} ({op.what}): a record of {size_bytes / 1024**2:,.1f} MB is over "
                f"{model.name}'s limit of {model.max_record_bytes / 1024**2:,.2f} MB",
            )
    verdict.broke.extend(refused.values())
    for what, ms in slow.items():
        verdict.broke.append(
            f"{what} took {duration(ms)} on {model.name}, over the bound of "
            f"{duration(req.max_latency_ms)}"
        )
    if stale:
        verdict.broke.append(
            f"{', '.join(sorted(stale))} right after a write returned the old data: "
            f"{model.name} reads are {model.consistency}"
            + (f" (configuration {dict(config)})" if config else "")
        )
    if model.max_writes_per_second is not None and req.writes_per_second > (
        model.max_writes_per_second
    ):
        verdict.broke.append(
            f"{req.writes_per_second:,.0f} writes/s at peak is over what one {model.name} "
            f"database takes in the model ({model.max_writes_per_second:,.0f}/s)"
        )
    if model.max_data_gb is not None and req.data_gb > model.max_data_gb:
        verdict.broke.append(
            f"{_size(req.data_gb)} of data is over {model.name}'s largest database "
            f"({_size(model.max_data_gb)})"
        )
    if req.durable and not model.durable:
        verdict.broke.append(
            f"{model.name} keeps data in memory: a node's failure or an eviction loses it, so "
            "it cannot be the system of record"
        )
    price = storage_price(model, config)
    if req.budget_usd_month is not None and price is not None:
        monthly = price * req.data_gb
        if monthly > req.budget_usd_month:
            verdict.broke.append(
                f"storing {_size(req.data_gb)} on {model.name} costs ${monthly:,.0f}/month "
                f"(${price}/GB-month), over the budget of ${req.budget_usd_month:,.0f}"
            )
    return verdict


def evaluate(workloads: Mapping[str, Workload], assignment: Mapping[str, Any]) -> list[Verdict]:
    """Run every workload against the service ``assignment`` gives it (parsed by
    :func:`~.sim_models.parse_choice`); a workload with no choice is a verdict that says so."""
    verdicts = []
    for name, workload in workloads.items():
        if name not in assignment:
            verdicts.append(Verdict(name, "(none)", {}, broke=["no service was assigned"]))
            continue
        model, config = parse_choice(assignment[name])
        verdicts.append(run(workload, model, config))
    return verdicts


# -- the course's workloads -------------------------------------------------------------------
def _orders() -> Iterator[Operation]:
    for n in range(50):
        yield Operation("transaction", "place an order: order row, its lines, stock", writes=True)
        yield Operation("key_read", "the customer reloads the order they just placed")
        yield Operation("join", "order page: orders with customers, lines and products")
        if n % 10 == 0:
            yield Operation("join", "support looks orders up by any column, joined")


def _sales_analytics() -> Iterator[Operation]:
    for question in ("revenue by region and month", "basket size by segment", "repeat buyers"):
        yield Operation("analytics_scan", f"ad-hoc: {question}", {"scanned_gb": 600.0})
        yield Operation("join", f"{question}: facts with customer and product dimensions")


def _social_graph() -> Iterator[Operation]:
    size = {"depth": 3, "fanout": 50.0, "edges_total": 5e8}
    for _ in range(20):
        yield Operation("graph_traversal", "people within 3 hops who like the same brand", size)
        yield Operation("key_write", "a new 'follows' edge", writes=True)


def _leaderboard() -> Iterator[Operation]:
    for _ in range(100):
        yield Operation("key_write", "a player's score changes", writes=True)
        yield Operation("rank", "the top 10 and the player's own rank", {"scanned_gb": 2.0})


def _sensor_metrics() -> Iterator[Operation]:
    for _ in range(50):
        yield Operation("key_write", "a sensor reading (device, metric, time)", writes=True)
    for window in ("last hour", "last day", "last week"):
        yield Operation(
            "time_range", f"average per 5 minutes of every device, {window}", {"scanned_gb": 2.0}
        )


def _product_catalog() -> Iterator[Operation]:
    for _ in range(30):
        yield Operation("key_write", "a merchant edits a product's attributes", writes=True)
        yield Operation("document_query", "products whose variants.size is 'M' and color 'red'")
        yield Operation("key_read", "the merchant reloads the product they just edited")


def _product_search() -> Iterator[Operation]:
    for text in ("waterproof hiking boots", "red wool scarf", "usb-c charger 65w"):
        yield Operation("full_text", f"search '{text}', best match first")
    yield Operation("key_write", "a product description is updated", writes=True)


def _user_uploads() -> Iterator[Operation]:
    for megabytes in (2.0, 8.0, 40.0):
        yield Operation(
            "key_write", f"a {megabytes:.0f} MB upload", {"bytes": megabytes * 1024**2}, True
        )
        yield Operation("blob_read", f"the {megabytes:.0f} MB file is viewed")


def _audit_archive() -> Iterator[Operation]:
    yield Operation("key_write", "a month of audit records is archived", writes=True)
    yield Operation("archive_read", "an auditor asks for one month, once or twice a year")


def _payments_ledger() -> Iterator[Operation]:
    for _ in range(20):
        yield Operation("transaction", "a payment: debit, credit and the audit row", writes=True)
        yield Operation("key_read", "the account's balance right after the payment")


#: The workloads of the databases lab's ``db_choice`` task, by name.
WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            "orders",
            "An order system: customers, orders, lines, products; joins for the order page "
            "and for support's ad-hoc lookups.",
            Requirements(50, read_your_writes=True, writes_per_second=500, data_gb=200),
            _orders,
        ),
        Workload(
            "sales_analytics",
            "Ad-hoc questions over three years of sales, asked by analysts a few times a day.",
            Requirements(120_000, data_gb=20_000, durable=True),
            _sales_analytics,
        ),
        Workload(
            "social_graph",
            "Recommendations from who follows whom: friends of friends of friends.",
            Requirements(200, writes_per_second=2_000, data_gb=2_000),
            _social_graph,
        ),
        Workload(
            "leaderboard",
            "A game's live leaderboard, rebuilt from the game's own database if lost.",
            Requirements(
                5, read_your_writes=True, writes_per_second=50_000, data_gb=2, durable=False
            ),
            _leaderboard,
        ),
        Workload(
            "sensor_metrics",
            "Readings of 100,000 devices every 10 s; dashboards of time windows.",
            Requirements(1_000, writes_per_second=10_000, data_gb=5_000),
            _sensor_metrics,
        ),
        Workload(
            "product_catalog",
            "Products whose attributes differ by category (sizes, voltages, materials), "
            "queried by nested fields; merchants see their edits at once.",
            Requirements(50, read_your_writes=True, writes_per_second=200, data_gb=100),
            _product_catalog,
        ),
        Workload(
            "product_search",
            "A shop's search box: relevance-ranked text search over product descriptions.",
            Requirements(100, data_gb=100, durable=False),
            _product_search,
        ),
        Workload(
            "user_uploads",
            "Photos and videos users upload, viewed in the app.",
            Requirements(500, writes_per_second=500, data_gb=500_000, budget_usd_month=20_000),
            _user_uploads,
        ),
        Workload(
            "audit_archive",
            "Seven years of audit records kept for the regulator, read once or twice a year "
            "within a working day.",
            Requirements(12 * 3_600_000, data_gb=50_000, budget_usd_month=200),
            _audit_archive,
        ),
        Workload(
            "payments_ledger",
            "A ledger of payments whose history must never change, read back at once.",
            Requirements(100, read_your_writes=True, writes_per_second=300, data_gb=500),
            _payments_ledger,
        ),
    )
}
