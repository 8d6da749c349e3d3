"""What a DynamoDB table costs a month in each table class, priced with the fact table.

DynamoDB bills storage per GB-month and throughput either per request (on-demand: read and
write request units, per million) or per provisioned unit-hour (RCU-hours and WCU-hours), and
the two table classes price them differently
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.TableClasses.html):
Standard-Infrequent Access stores data for 60 % less and charges 25 % more for reads and writes,
so it wins when storage, not throughput, dominates the bill. Prices are us-east-1 list prices
(facts ``dynamodb.price_*``, from https://aws.amazon.com/dynamodb/pricing/on-demand/ and
https://aws.amazon.com/dynamodb/pricing/provisioned/).

:func:`monthly_cost` prices one table for one class; :func:`compare` prices both and says which
is cheaper and where the break-even is. Request units are counted as DynamoDB counts them (the
caller gives units, not requests: a 3 KB write is 3 WRUs, an eventually consistent read of a
4 KB item half an RRU). Left out, as the fact table does not hold them: the free tier, reserved
capacity, GSI storage overhead (100 bytes per item), backups, streams, global-table replicated
writes and data transfer. Plain Python: no moto.
"""

from __future__ import annotations

from dataclasses import dataclass

from labkit import facts
from labkit.errors import LabkitError

#: The table classes (UpdateTable/CreateTable ``TableClass``).
STANDARD = "STANDARD"
STANDARD_IA = "STANDARD_INFREQUENT_ACCESS"
CLASSES = (STANDARD, STANDARD_IA)
#: Hours in the month the pricing pages use for their monthly examples (730).
HOURS_PER_MONTH = 730
PER_MILLION = 1_000_000

_SUFFIX = {STANDARD: "standard", STANDARD_IA: "standard_ia"}


class PricingError(LabkitError):
    """A workload the calculator cannot price as given."""

    code = "PricingError"


@dataclass(frozen=True)
class Prices:
    """One table class's us-east-1 prices (USD)."""

    table_class: str
    storage_gb_month: float
    write_request_million: float
    read_request_million: float
    wcu_hour: float
    rcu_hour: float

    @classmethod
    def of(cls, table_class: str) -> Prices:
        """The prices of ``STANDARD`` or ``STANDARD_INFREQUENT_ACCESS`` from the fact table."""
        if table_class not in CLASSES:
            raise PricingError(
                f"Unknown table class {table_class!r}: DynamoDB has {', '.join(CLASSES)}."
            )
        s = _SUFFIX[table_class]
        v = facts.value
        return cls(
            table_class=table_class,
            storage_gb_month=float(v(f"dynamodb.price_storage_gb_month_{s}")),
            write_request_million=float(v(f"dynamodb.price_write_request_million_{s}")),
            read_request_million=float(v(f"dynamodb.price_read_request_million_{s}")),
            wcu_hour=float(v(f"dynamodb.price_wcu_hour_{s}")),
            rcu_hour=float(v(f"dynamodb.price_rcu_hour_{s}")),
        )


@dataclass(frozen=True)
class TableCost:
    """A table's monthly bill in one class.

    Attributes:
        table_class: The class priced.
        mode: ``on-demand`` or ``provisioned``.
        storage_gb: Average GB stored over the month.
        storage_cost: USD for storage.
        write_cost: USD for writes (request units or WCU-hours).
        read_cost: USD for reads (request units or RCU-hours).
    """

    table_class: str
    mode: str
    storage_gb: float
    storage_cost: float
    write_cost: float
    read_cost: float

    @property
    def throughput_cost(self) -> float:
        """USD for reads and writes together."""
        return self.write_cost + self.read_cost

    @property
    def total(self) -> float:
        """USD in all."""
        return self.storage_cost + self.throughput_cost

    def text(self) -> str:
        """One line: the class, the mode and the three parts of the bill."""
        return (
            f"{self.table_class} ({self.mode}): ${self.total:,.2f}/month = storage "
            f"${self.storage_cost:,.2f} + writes ${self.write_cost:,.2f} + reads "
            f"${self.read_cost:,.2f}"
        )


def _non_negative(**values: float | None) -> None:
    for name, value in values.items():
        if value is not None and value < 0:
            raise PricingError(f"{name} cannot be negative ({value}).")


def monthly_cost(
    table_class: str,
    *,
    storage_gb: float,
    write_units: float = 0.0,
    read_units: float = 0.0,
    wcu: float | None = None,
    rcu: float | None = None,
    hours: float = HOURS_PER_MONTH,
) -> TableCost:
    """Price one table for a month.

    Args:
        table_class: ``STANDARD`` or ``STANDARD_INFREQUENT_ACCESS``.
        storage_gb: Average data stored (GB) over the month.
        write_units: On-demand write request units in the month.
        read_units: On-demand read request units in the month.
        wcu: Provisioned write capacity units (gives provisioned pricing; with ``rcu``).
        rcu: Provisioned read capacity units.
        hours: Hours the provisioned capacity was held (730, a month, by default).
    """
    _non_negative(
        storage_gb=storage_gb, write_units=write_units, read_units=read_units, wcu=wcu, rcu=rcu
    )
    p = Prices.of(table_class)
    storage = storage_gb * p.storage_gb_month
    if wcu is None and rcu is None:
        return TableCost(
            table_class,
            "on-demand",
            storage_gb,
            storage,
            write_units / PER_MILLION * p.write_request_million,
            read_units / PER_MILLION * p.read_request_million,
        )
    if write_units or read_units:
        raise PricingError(
            "Give either request units (on-demand) or wcu/rcu (provisioned), not both."
        )
    return TableCost(
        table_class,
        "provisioned",
        storage_gb,
        storage,
        (wcu or 0.0) * hours * p.wcu_hour,
        (rcu or 0.0) * hours * p.rcu_hour,
    )


@dataclass(frozen=True)
class Comparison:
    """Both classes priced for one workload."""

    standard: TableCost
    infrequent: TableCost

    @property
    def cheaper(self) -> TableCost:
        """The class with the lower bill (Standard on a tie)."""
        return self.infrequent if self.infrequent.total < self.standard.total else self.standard

    @property
    def saving(self) -> float:
        """USD a month the cheaper class saves over the other."""
        return abs(self.standard.total - self.infrequent.total)

    def text(self) -> str:
        """Both bills and the verdict, in words."""
        return "\n".join(
            [
                self.standard.text(),
                self.infrequent.text(),
                f"cheaper: {self.cheaper.table_class}, by ${self.saving:,.2f}/month",
            ]
        )


def compare(
    *,
    storage_gb: float,
    write_units: float = 0.0,
    read_units: float = 0.0,
    wcu: float | None = None,
    rcu: float | None = None,
    hours: float = HOURS_PER_MONTH,
) -> Comparison:
    """Price the same workload in Standard and in Standard-IA."""
    standard, infrequent = (
        monthly_cost(
            table_class,
            storage_gb=storage_gb,
            write_units=write_units,
            read_units=read_units,
            wcu=wcu,
            rcu=rcu,
            hours=hours,
        )
        for table_class in CLASSES
    )
    return Comparison(standard, infrequent)


def break_even_storage_gb(throughput_cost_standard: float, throughput_cost_ia: float) -> float:
    """GB stored above which Standard-IA is cheaper, for a given throughput bill in each class.

    IA saves ``storage_standard - storage_ia`` per GB and costs ``ia - standard`` more in
    throughput, so it wins past ``(ia - standard) / (saving per GB)``.
    """
    s, ia = Prices.of(STANDARD), Prices.of(STANDARD_IA)
    per_gb = s.storage_gb_month - ia.storage_gb_month
    return max(0.0, (throughput_cost_ia - throughput_cost_standard) / per_gb)


__all__ = [
    "CLASSES",
    "HOURS_PER_MONTH",
    "STANDARD",
    "STANDARD_IA",
    "Comparison",
    "Prices",
    "PricingError",
    "TableCost",
    "break_even_storage_gb",
    "compare",
    "monthly_cost",
]
