"""Where AWS's edge network is, and how long a round trip to it takes: data and a latency model.

The data is a documented approximation, good enough to teach with and small enough to read:

- :data:`CLOUDFRONT_EDGES`: about eighty CloudFront edge metros (one entry per metro, not per
  point of presence), each tagged with the CloudFront *pricing region* that decides which price
  class serves from it. AWS publishes the full list only as a map
  (https://aws.amazon.com/cloudfront/features/#Global_Edge_Network); the metros here are the
  large ones on that map, with airport-code names as CloudFront's own ``X-Amz-Cf-Pop`` values use.
- :data:`PRICE_CLASSES`: which pricing regions each price class includes, as the CloudFront
  Developer Guide and the CDK ``PriceClass`` reference describe them
  (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/PriceClass.html,
  https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_cloudfront.PriceClass.md):
  Price Class 100 is the United States, Mexico, Canada, Europe and Israel; Price Class 200 adds
  Africa, the Middle East, Türkiye, Japan, the rest of Asia Pacific and India; Price Class All
  adds South America, Australia and New Zealand.
- :data:`GLOBAL_ACCELERATOR_EDGES`: the metros among those where Global Accelerator has points of
  presence (it uses the same AWS edge network; a subset is listed).
- :data:`AWS_REGIONS`: where each AWS Region is, to the city.
- :func:`cities`: where a viewer can be, by city name.

The latency model (:func:`rtt_ms`) is an approximation too, and says so: a round trip over a path
of great-circle length *d* takes ``2 * d * stretch / v + overhead``, where *v* is the speed of
light in optical fibre (about two thirds of *c*, 200 km per millisecond), *stretch* is how much
longer than the great circle the real path is (the public internet wanders more than AWS's own
backbone) and *overhead* is the access network at the viewer's end. It gives realistic
orders of magnitude (a viewer near an edge location sees a few tens of milliseconds, an origin
on another continent adds one to three hundred) and the right ordering between choices, which
is what the lessons compare. It is not a measurement.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from labkit.errors import LabkitError

# -- the latency model's constants (approximations, not AWS facts) ---------------------------

#: Speed of light in optical fibre, km per millisecond (refractive index about 1.47, so 2/3 c).
FIBRE_KM_PER_MS = 200.0
#: How much longer than the great circle a public-internet path is (routing detours, peering).
INTERNET_STRETCH = 1.6
#: How much longer than the great circle a path on AWS's private backbone is.
BACKBONE_STRETCH = 1.3
#: Round-trip time the viewer's own access network adds (Wi-Fi, DSL, mobile), milliseconds.
ACCESS_RTT_MS = 10.0
#: Time an edge location takes to answer from its cache, milliseconds.
EDGE_PROCESSING_MS = 1.0
#: Time an origin takes to produce a response (first byte), milliseconds.
ORIGIN_PROCESSING_MS = 15.0

EARTH_RADIUS_KM = 6371.0


class UnknownLocationError(LabkitError):
    """A viewer location or Region that the edge data does not know."""

    code = "UnknownLocation"


@dataclass(frozen=True)
class Place:
    """A point on Earth.

    Attributes:
        name: What to call it (a city).
        country: ISO 3166-1 alpha-2 country code (what CloudFront geo restriction uses).
        lat: Latitude in degrees.
        lon: Longitude in degrees.
    """

    name: str
    country: str
    lat: float
    lon: float


@dataclass(frozen=True)
class EdgeLocation:
    """One edge metro.

    Attributes:
        code: The metro's airport code, as in CloudFront's ``X-Amz-Cf-Pop`` header.
        place: Where it is.
        pricing_region: The CloudFront pricing region it belongs to (see :data:`PRICE_CLASSES`).
        pop: The point-of-presence id reported in ``X-Amz-Cf-Pop`` (e.g. ``NRT57-P1``).
    """

    code: str
    place: Place
    pricing_region: str
    pop: str


# Pricing regions (https://aws.amazon.com/cloudfront/pricing/).
NORTH_AMERICA = "United States, Mexico & Canada"
EUROPE = "Europe & Israel"
MIDDLE_EAST_AFRICA = "South Africa, Kenya, Nigeria, Egypt, Türkiye & Middle East"
JAPAN = "Japan"
ASIA_PACIFIC = "Asia Pacific"
INDIA = "India"
SOUTH_AMERICA = "South America"
OCEANIA = "Australia & New Zealand"

#: Pricing regions each price class serves from.
PRICE_CLASSES: dict[str, frozenset[str]] = {
    "PriceClass_100": frozenset({NORTH_AMERICA, EUROPE}),
    "PriceClass_200": frozenset(
        {NORTH_AMERICA, EUROPE, MIDDLE_EAST_AFRICA, JAPAN, ASIA_PACIFIC, INDIA}
    ),
    "PriceClass_All": frozenset(
        {
            NORTH_AMERICA,
            EUROPE,
            MIDDLE_EAST_AFRICA,
            JAPAN,
            ASIA_PACIFIC,
            INDIA,
            SOUTH_AMERICA,
            OCEANIA,
        }
    ),
}

# (code, city, country, lat, lon, pricing region, pop number)
_EDGE_ROWS: tuple[tuple[str, str, str, float, float, str, int], ...] = (
    # United States, Mexico & Canada
    ("IAD", "Ashburn", "US", 39.04, -77.49, NORTH_AMERICA, 89),
    ("JFK", "New York", "US", 40.64, -73.78, NORTH_AMERICA, 50),
    ("BOS", "Boston", "US", 42.36, -71.01, NORTH_AMERICA, 50),
    ("ATL", "Atlanta", "US", 33.64, -84.43, NORTH_AMERICA, 56),
    ("MIA", "Miami", "US", 25.80, -80.29, NORTH_AMERICA, 61),
    ("ORD", "Chicago", "US", 41.98, -87.90, NORTH_AMERICA, 51),
    ("DFW", "Dallas", "US", 32.90, -97.04, NORTH_AMERICA, 56),
    ("DEN", "Denver", "US", 39.86, -104.67, NORTH_AMERICA, 52),
    ("PHX", "Phoenix", "US", 33.43, -112.01, NORTH_AMERICA, 50),
    ("LAX", "Los Angeles", "US", 33.94, -118.41, NORTH_AMERICA, 54),
    ("SFO", "San Francisco", "US", 37.62, -122.38, NORTH_AMERICA, 53),
    ("SEA", "Seattle", "US", 47.45, -122.31, NORTH_AMERICA, 19),
    ("YUL", "Montreal", "CA", 45.47, -73.74, NORTH_AMERICA, 62),
    ("YTO", "Toronto", "CA", 43.68, -79.63, NORTH_AMERICA, 50),
    ("YVR", "Vancouver", "CA", 49.19, -123.18, NORTH_AMERICA, 52),
    ("QRO", "Queretaro", "MX", 20.62, -100.19, NORTH_AMERICA, 51),
    # Europe & Israel
    ("LHR", "London", "GB", 51.47, -0.45, EUROPE, 61),
    ("MAN", "Manchester", "GB", 53.35, -2.27, EUROPE, 50),
    ("DUB", "Dublin", "IE", 53.42, -6.27, EUROPE, 56),
    ("CDG", "Paris", "FR", 49.01, 2.55, EUROPE, 55),
    ("MRS", "Marseille", "FR", 43.44, 5.22, EUROPE, 52),
    ("FRA", "Frankfurt", "DE", 50.03, 8.57, EUROPE, 56),
    ("MUC", "Munich", "DE", 48.35, 11.79, EUROPE, 50),
    ("AMS", "Amsterdam", "NL", 52.31, 4.76, EUROPE, 54),
    ("BRU", "Brussels", "BE", 50.90, 4.48, EUROPE, 50),
    ("ZRH", "Zurich", "CH", 47.46, 8.55, EUROPE, 55),
    ("MXP", "Milan", "IT", 45.63, 8.72, EUROPE, 64),
    ("FCO", "Rome", "IT", 41.80, 12.25, EUROPE, 50),
    ("MAD", "Madrid", "ES", 40.47, -3.56, EUROPE, 53),
    ("BCN", "Barcelona", "ES", 41.30, 2.08, EUROPE, 50),
    ("LIS", "Lisbon", "PT", 38.78, -9.14, EUROPE, 50),
    ("ARN", "Stockholm", "SE", 59.65, 17.92, EUROPE, 54),
    ("CPH", "Copenhagen", "DK", 55.62, 12.65, EUROPE, 50),
    ("OSL", "Oslo", "NO", 60.19, 11.10, EUROPE, 50),
    ("HEL", "Helsinki", "FI", 60.32, 24.96, EUROPE, 50),
    ("WAW", "Warsaw", "PL", 52.17, 20.97, EUROPE, 51),
    ("VIE", "Vienna", "AT", 48.11, 16.57, EUROPE, 50),
    ("PRG", "Prague", "CZ", 50.10, 14.26, EUROPE, 50),
    ("BUD", "Budapest", "HU", 47.44, 19.26, EUROPE, 50),
    ("OTP", "Bucharest", "RO", 44.57, 26.08, EUROPE, 50),
    ("SOF", "Sofia", "BG", 42.70, 23.41, EUROPE, 50),
    ("ZAG", "Zagreb", "HR", 45.74, 16.07, EUROPE, 50),
    ("ATH", "Athens", "GR", 37.94, 23.94, EUROPE, 50),
    ("TLV", "Tel Aviv", "IL", 32.01, 34.89, EUROPE, 50),
    # Africa, Türkiye & Middle East
    ("IST", "Istanbul", "TR", 41.26, 28.74, MIDDLE_EAST_AFRICA, 50),
    ("DXB", "Dubai", "AE", 25.25, 55.36, MIDDLE_EAST_AFRICA, 51),
    ("FJR", "Fujairah", "AE", 25.11, 56.32, MIDDLE_EAST_AFRICA, 50),
    ("BAH", "Manama", "BH", 26.27, 50.63, MIDDLE_EAST_AFRICA, 53),
    ("DOH", "Doha", "QA", 25.27, 51.61, MIDDLE_EAST_AFRICA, 50),
    ("JED", "Jeddah", "SA", 21.68, 39.16, MIDDLE_EAST_AFRICA, 50),
    ("CAI", "Cairo", "EG", 30.12, 31.41, MIDDLE_EAST_AFRICA, 50),
    ("LOS", "Lagos", "NG", 6.58, 3.32, MIDDLE_EAST_AFRICA, 50),
    ("NBO", "Nairobi", "KE", -1.32, 36.93, MIDDLE_EAST_AFRICA, 50),
    ("JNB", "Johannesburg", "ZA", -26.14, 28.25, MIDDLE_EAST_AFRICA, 51),
    ("CPT", "Cape Town", "ZA", -33.97, 18.60, MIDDLE_EAST_AFRICA, 50),
    # Japan
    ("NRT", "Tokyo", "JP", 35.77, 140.39, JAPAN, 57),
    ("KIX", "Osaka", "JP", 34.43, 135.23, JAPAN, 50),
    # Asia Pacific
    ("ICN", "Seoul", "KR", 37.46, 126.44, ASIA_PACIFIC, 57),
    ("HKG", "Hong Kong", "HK", 22.31, 113.91, ASIA_PACIFIC, 62),
    ("TPE", "Taipei", "TW", 25.08, 121.23, ASIA_PACIFIC, 51),
    ("MNL", "Manila", "PH", 14.51, 121.02, ASIA_PACIFIC, 50),
    ("SIN", "Singapore", "SG", 1.36, 103.99, ASIA_PACIFIC, 52),
    ("KUL", "Kuala Lumpur", "MY", 2.75, 101.71, ASIA_PACIFIC, 50),
    ("BKK", "Bangkok", "TH", 13.69, 100.75, ASIA_PACIFIC, 50),
    ("CGK", "Jakarta", "ID", -6.13, 106.66, ASIA_PACIFIC, 51),
    ("HAN", "Hanoi", "VN", 21.22, 105.81, ASIA_PACIFIC, 50),
    ("SGN", "Ho Chi Minh City", "VN", 10.82, 106.65, ASIA_PACIFIC, 50),
    # India
    ("BOM", "Mumbai", "IN", 19.09, 72.87, INDIA, 52),
    ("DEL", "New Delhi", "IN", 28.56, 77.10, INDIA, 54),
    ("MAA", "Chennai", "IN", 12.99, 80.17, INDIA, 51),
    ("BLR", "Bengaluru", "IN", 13.20, 77.71, INDIA, 50),
    ("HYD", "Hyderabad", "IN", 17.24, 78.43, INDIA, 50),
    # South America
    ("GRU", "Sao Paulo", "BR", -23.43, -46.47, SOUTH_AMERICA, 50),
    ("GIG", "Rio de Janeiro", "BR", -22.81, -43.25, SOUTH_AMERICA, 51),
    ("EZE", "Buenos Aires", "AR", -34.82, -58.54, SOUTH_AMERICA, 50),
    ("SCL", "Santiago", "CL", -33.39, -70.79, SOUTH_AMERICA, 51),
    ("BOG", "Bogota", "CO", 4.70, -74.15, SOUTH_AMERICA, 50),
    ("LIM", "Lima", "PE", -12.02, -77.11, SOUTH_AMERICA, 50),
    # Australia & New Zealand
    ("SYD", "Sydney", "AU", -33.95, 151.18, OCEANIA, 62),
    ("MEL", "Melbourne", "AU", -37.67, 144.84, OCEANIA, 50),
    ("BNE", "Brisbane", "AU", -27.38, 153.12, OCEANIA, 50),
    ("PER", "Perth", "AU", -31.94, 115.97, OCEANIA, 51),
    ("AKL", "Auckland", "NZ", -37.01, 174.79, OCEANIA, 50),
)

#: CloudFront edge metros (an approximation of the edge network: one entry per metro).
CLOUDFRONT_EDGES: tuple[EdgeLocation, ...] = tuple(
    EdgeLocation(code, Place(city, country, lat, lon), region, f"{code}{number}-P1")
    for code, city, country, lat, lon, region, number in _EDGE_ROWS
)

_GA_CODES = frozenset(
    {
        *("IAD", "JFK", "ORD", "ATL", "MIA", "DFW", "DEN", "LAX", "SFO", "SEA", "YUL", "YTO"),
        *("LHR", "DUB", "CDG", "FRA", "AMS", "ZRH", "MXP", "MAD", "ARN", "WAW", "TLV", "IST"),
        *("DXB", "BAH", "JNB", "CPT", "NRT", "KIX", "ICN", "HKG", "TPE", "MNL", "SIN", "KUL"),
        *("BKK", "CGK", "BOM", "DEL", "MAA", "GRU", "EZE", "SCL", "BOG", "SYD", "MEL", "AKL"),
    }
)

#: Edge metros where Global Accelerator has points of presence (an approximation).
GLOBAL_ACCELERATOR_EDGES: tuple[EdgeLocation, ...] = tuple(
    e for e in CLOUDFRONT_EDGES if e.code in _GA_CODES
)

#: Where each AWS Region's data centres are, to the nearest city.
AWS_REGIONS: dict[str, Place] = {
    region: Place(city, country, lat, lon)
    for region, city, country, lat, lon in (
        ("us-east-1", "Northern Virginia", "US", 38.95, -77.45),
        ("us-east-2", "Ohio", "US", 39.96, -83.00),
        ("us-west-1", "Northern California", "US", 37.35, -121.96),
        ("us-west-2", "Oregon", "US", 45.84, -119.70),
        ("ca-central-1", "Montreal", "CA", 45.50, -73.57),
        ("ca-west-1", "Calgary", "CA", 51.05, -114.07),
        ("mx-central-1", "Queretaro", "MX", 20.59, -100.39),
        ("sa-east-1", "Sao Paulo", "BR", -23.55, -46.63),
        ("eu-west-1", "Ireland", "IE", 53.35, -6.26),
        ("eu-west-2", "London", "GB", 51.51, -0.13),
        ("eu-west-3", "Paris", "FR", 48.86, 2.35),
        ("eu-central-1", "Frankfurt", "DE", 50.11, 8.68),
        ("eu-central-2", "Zurich", "CH", 47.38, 8.54),
        ("eu-north-1", "Stockholm", "SE", 59.33, 18.07),
        ("eu-south-1", "Milan", "IT", 45.46, 9.19),
        ("eu-south-2", "Aragon", "ES", 41.65, -0.88),
        ("il-central-1", "Tel Aviv", "IL", 32.09, 34.78),
        ("me-south-1", "Bahrain", "BH", 26.07, 50.56),
        ("me-central-1", "UAE", "AE", 24.45, 54.38),
        ("af-south-1", "Cape Town", "ZA", -33.92, 18.42),
        ("ap-east-1", "Hong Kong", "HK", 22.32, 114.17),
        ("ap-east-2", "Taipei", "TW", 25.03, 121.57),
        ("ap-south-1", "Mumbai", "IN", 19.08, 72.88),
        ("ap-south-2", "Hyderabad", "IN", 17.39, 78.49),
        ("ap-northeast-1", "Tokyo", "JP", 35.68, 139.69),
        ("ap-northeast-2", "Seoul", "KR", 37.57, 126.98),
        ("ap-northeast-3", "Osaka", "JP", 34.69, 135.50),
        ("ap-southeast-1", "Singapore", "SG", 1.35, 103.82),
        ("ap-southeast-2", "Sydney", "AU", -33.87, 151.21),
        ("ap-southeast-3", "Jakarta", "ID", -6.21, 106.85),
        ("ap-southeast-4", "Melbourne", "AU", -37.81, 144.96),
        ("ap-southeast-5", "Malaysia", "MY", 3.14, 101.69),
        ("ap-southeast-7", "Thailand", "TH", 13.76, 100.50),
    )
}

_EXTRA_CITIES: tuple[tuple[str, str, float, float], ...] = (
    ("Beijing", "CN", 39.90, 116.41),
    ("Shanghai", "CN", 31.23, 121.47),
    ("Moscow", "RU", 55.76, 37.62),
    ("Kyiv", "UA", 50.45, 30.52),
    ("Reykjavik", "IS", 64.15, -21.94),
    ("Berlin", "DE", 52.52, 13.40),
    ("Tehran", "IR", 35.69, 51.39),
    ("Karachi", "PK", 24.86, 67.01),
    ("Dhaka", "BD", 23.81, 90.41),
    ("Honolulu", "US", 21.31, -157.86),
    ("Anchorage", "US", 61.22, -149.90),
    ("Mexico City", "MX", 19.43, -99.13),
    ("Havana", "CU", 23.11, -82.37),
    ("Accra", "GH", 5.60, -0.19),
    ("Kinshasa", "CD", -4.44, 15.27),
    ("Casablanca", "MA", 33.57, -7.59),
    ("Wellington", "NZ", -41.29, 174.78),
    ("Caracas", "VE", 10.48, -66.90),
)


@cache
def _city_index() -> dict[str, Place]:
    index: dict[str, Place] = {}
    for edge in CLOUDFRONT_EDGES:
        index.setdefault(_norm(edge.place.name), edge.place)
    for name, country, lat, lon in _EXTRA_CITIES:
        index.setdefault(_norm(name), Place(name, country, lat, lon))
    for region in AWS_REGIONS.values():
        index.setdefault(_norm(region.name), region)
    return index


def _norm(name: str) -> str:
    folded = name.strip().lower()
    for a, b in (("é", "e"), ("ã", "a"), ("á", "a"), ("ó", "o"), ("í", "i"), ("ü", "u")):
        folded = folded.replace(a, b)
    return " ".join(folded.replace("_", " ").split())


def cities() -> list[str]:
    """The names of the cities a viewer can be placed in."""
    return sorted(p.name for p in _city_index().values())


def place(where: str | Place) -> Place:
    """The place called ``where``.

    Accepts a city (``"Tokyo"``), a city with its country (``"JP-Tokyo"``, ``"Tokyo, JP"``), an
    edge code (``"NRT"``), an AWS Region (``"ap-northeast-1"``) or a :class:`Place`.

    Raises:
        UnknownLocationError: If the name is not in the data.
    """
    if isinstance(where, Place):
        return where
    text = str(where).strip()
    if text in AWS_REGIONS:
        return AWS_REGIONS[text]
    upper = text.upper()
    for edge in CLOUDFRONT_EDGES:
        if edge.code == upper:
            return edge.place
    country = ""
    name = text
    if len(text) > 3 and text[2] == "-" and text[:2].isalpha():
        country, name = text[:2].upper(), text[3:]
    elif "," in text:
        name, country = (part.strip() for part in text.rsplit(",", 1))
        country = country.upper()
    found = _city_index().get(_norm(name))
    if found is None or (country and found.country != country):
        known = ", ".join(cities()[:12])
        raise UnknownLocationError(
            f"labkit does not know where {where!r} is. Use a city such as {known}, ... "
            "(labkit.services.edge.sim_locations.cities() lists them all), an AWS Region, or "
            "Place(name, country, lat, lon) for anywhere else."
        )
    return found


def region(name: str) -> Place:
    """Where the AWS Region ``name`` is.

    Raises:
        UnknownLocationError: If the Region is not in the data.
    """
    if name not in AWS_REGIONS:
        raise UnknownLocationError(
            f"labkit has no location for the Region {name!r}. Known Regions: "
            f"{', '.join(sorted(AWS_REGIONS))}."
        )
    return AWS_REGIONS[name]


# -- distance and latency ----------------------------------------------------------------------
def distance_km(a: Place, b: Place) -> float:
    """Great-circle distance between two places (haversine formula), in km."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp = p2 - p1
    dl = math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def rtt_ms(a: Place, b: Place, *, path: str = "internet") -> float:
    """Modelled round-trip time between two places, in milliseconds.

    Args:
        a: One end.
        b: The other end.
        path: ``"internet"`` (a viewer's request on the public internet: more detour, plus the
            viewer's access network) or ``"backbone"`` (AWS's own network between an edge
            location and a Region).
    """
    if path == "internet":
        return 2 * distance_km(a, b) * INTERNET_STRETCH / FIBRE_KM_PER_MS + ACCESS_RTT_MS
    if path == "backbone":
        return 2 * distance_km(a, b) * BACKBONE_STRETCH / FIBRE_KM_PER_MS
    raise LabkitError(f"path must be 'internet' or 'backbone', not {path!r}.")


def nearest(viewer: Place, edges: Iterable[EdgeLocation]) -> EdgeLocation:
    """The edge location with the lowest modelled latency from ``viewer`` (the nearest one)."""
    return min(edges, key=lambda e: distance_km(viewer, e.place))


@cache
def cloudfront_edges(price_class: str) -> tuple[EdgeLocation, ...]:
    """The edge locations a distribution of ``price_class`` serves from.

    Raises:
        UnknownLocationError: If the price class is not one of CloudFront's three.
    """
    regions = PRICE_CLASSES.get(price_class)
    if regions is None:
        raise UnknownLocationError(
            f"Unknown price class {price_class!r}; CloudFront has {', '.join(PRICE_CLASSES)}."
        )
    return tuple(e for e in CLOUDFRONT_EDGES if e.pricing_region in regions)


@cache
def _nearest_cloudfront(viewer: Place, price_class: str) -> EdgeLocation:
    return nearest(viewer, cloudfront_edges(price_class))


def nearest_cloudfront_edge(viewer: Place, price_class: str = "PriceClass_All") -> EdgeLocation:
    """The edge location CloudFront serves ``viewer`` from: the lowest-latency one in the price
    class (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_DistributionConfig.html,
    ``PriceClass``)."""
    return _nearest_cloudfront(viewer, price_class)


@cache
def nearest_accelerator_edge(viewer: Place) -> EdgeLocation:
    """The Global Accelerator point of presence that announces the anycast IPs nearest to
    ``viewer``."""
    return nearest(viewer, GLOBAL_ACCELERATOR_EDGES)


def edge(code: str) -> EdgeLocation:
    """The edge metro with airport code ``code``."""
    for e in CLOUDFRONT_EDGES:
        if e.code == code.upper():
            return e
    raise UnknownLocationError(f"There is no edge location {code!r} in labkit's data.")


__all__ = [
    "AWS_REGIONS",
    "CLOUDFRONT_EDGES",
    "GLOBAL_ACCELERATOR_EDGES",
    "PRICE_CLASSES",
    "EdgeLocation",
    "Place",
    "UnknownLocationError",
    "cities",
    "cloudfront_edges",
    "distance_km",
    "edge",
    "nearest",
    "nearest_accelerator_edge",
    "nearest_cloudfront_edge",
    "place",
    "region",
    "rtt_ms",
]
