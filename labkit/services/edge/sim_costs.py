"""What serving a site around the world costs: CloudFront, or S3 copies in several Regions.

Every price comes from the fact table (:mod:`labkit.facts`); the model only multiplies:

- **CloudFront**: data transfer out to the internet, priced per GB by the pricing region of the
  edge location that answered (https://aws.amazon.com/cloudfront/pricing/). Origin fetches from
  an AWS origin such as S3 are free. Requests, the free tier and volume tiers are left out.
- **S3 cross-Region replication**: each replica stores a full copy (storage per GB-month),
  every written GB crosses Regions once per replica (inter-Region transfer), and viewers read
  from the nearest copy over the internet (S3 data transfer out)
  (https://aws.amazon.com/s3/pricing/).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from labkit import facts
from labkit.services.edge import sim_locations as where

PRICE_FACT_OF_REGION: dict[str, str] = {
    where.NORTH_AMERICA: "cloudfront.transfer_out_price_north_america",
    where.EUROPE: "cloudfront.transfer_out_price_europe",
    where.MIDDLE_EAST_AFRICA: "cloudfront.transfer_out_price_middle_east_africa",
    where.SOUTH_AMERICA: "cloudfront.transfer_out_price_south_america",
    where.JAPAN: "cloudfront.transfer_out_price_japan",
    where.OCEANIA: "cloudfront.transfer_out_price_oceania",
    where.ASIA_PACIFIC: "cloudfront.transfer_out_price_asia_pacific",
    where.INDIA: "cloudfront.transfer_out_price_india",
}


@dataclass(frozen=True)
class Bill:
    """A monthly bill, item by item (USD)."""

    items: tuple[tuple[str, float], ...]

    @property
    def total(self) -> float:
        """USD in all."""
        return sum(cost for _, cost in self.items)

    def text(self) -> str:
        """One line per item and the total."""
        width = max([len(name) for name, _ in self.items] + [5])
        lines = [f"  {name.ljust(width)}  ${cost:>10,.2f}" for name, cost in self.items]
        lines.append(f"  {'total'.ljust(width)}  ${self.total:>10,.2f}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()


def cloudfront_bill(gb_by_viewer: Mapping[str, float], price_class: str = "PriceClass_All") -> Bill:
    """What CloudFront charges to deliver ``gb_by_viewer`` (GB per viewer city) in a month.

    Each city is served by its nearest edge location in the price class, and priced by that
    edge's pricing region: a narrower price class can make a far viewer cheaper (and slower).
    """
    by_region: dict[str, float] = {}
    for city, gb in gb_by_viewer.items():
        pop = where.nearest_cloudfront_edge(where.place(city), price_class)
        by_region[pop.pricing_region] = by_region.get(pop.pricing_region, 0.0) + gb
    items = [
        (
            f"transfer out, {region} ({gb:,.0f} GB)",
            gb * float(facts.value(PRICE_FACT_OF_REGION[region])),
        )
        for region, gb in by_region.items()
    ]
    fetch = float(facts.value("cloudfront.origin_fetch_price_aws_origin"))
    items.append(("origin fetches from S3", fetch))
    return Bill(tuple(items))


def replication_bill(
    gb_by_viewer: Mapping[str, float],
    regions: Iterable[str],
    *,
    stored_gb: float,
    written_gb: float,
) -> Bill:
    """What serving from S3 copies in ``regions`` costs in a month (the first is the source).

    Args:
        gb_by_viewer: GB each viewer city downloads (from its nearest copy).
        regions: Where the buckets are; every one after the first is a replica.
        stored_gb: How much the bucket holds (each copy stores it all).
        written_gb: How much is written in the month (each replica receives it once).
    """
    copies = list(regions)
    storage = float(facts.value("s3.storage_price_standard"))
    cross = float(facts.value("s3.inter_region_transfer_price"))
    out = float(facts.value("s3.transfer_out_internet_price"))
    served = sum(gb_by_viewer.values())
    return Bill(
        (
            (
                f"storage, {len(copies)} copies of {stored_gb:,.0f} GB",
                len(copies) * stored_gb * storage,
            ),
            (
                f"replication, {written_gb:,.0f} GB to {len(copies) - 1} replicas",
                (len(copies) - 1) * written_gb * cross,
            ),
            (f"transfer out to viewers ({served:,.0f} GB, us-east-1 rate)", served * out),
        )
    )


def nearest_copy(city: str, regions: Iterable[str]) -> str:
    """The Region of the bucket copy nearest ``city`` (what a latency-based DNS answer picks)."""
    viewer = where.place(city)
    return min(regions, key=lambda r: where.distance_km(viewer, where.region(r)))


__all__ = [
    "PRICE_FACT_OF_REGION",
    "Bill",
    "cloudfront_bill",
    "nearest_copy",
    "replication_bill",
]
