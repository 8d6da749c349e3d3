"""How long an upload to S3 takes from a city, straight to the bucket's Region or through S3
Transfer Acceleration's nearest edge location: a model, on the edge lab's map.

Transfer Acceleration sends the client to the nearest CloudFront edge location
(``bucket.s3-accelerate.amazonaws.com``), and the edge carries the data to the bucket's Region
over AWS's own network (https://docs.aws.amazon.com/AmazonS3/latest/userguide/transfer-acceleration.html).
Why that is faster is TCP: a connection's throughput falls as its round trip grows and as it
loses packets (the Mathis formula, ``rate ≈ MSS × 1.22 / (RTT × √loss)``). Straight to the
Region, one long lossy public-internet path sets the pace; through the edge, the viewer's
connection ends a few milliseconds away, and the long haul runs on AWS's backbone, which loses
far fewer packets. Both paths are capped by the uploader's own link.

The round trips are :func:`labkit.services.edge.sim_locations.rtt_ms` (the same model as the
CloudFront and Global Accelerator lessons); the constants below are assumptions of the model,
not AWS figures. It gives the right shape (far from the Region acceleration wins several times
over, next to it it gains nothing or loses a little) and orders of magnitude, not a measurement.
AWS's own speed comparison tool is the way to measure a real path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from labkit.facts import value
from labkit.services.edge.sim_locations import (
    EUROPE,
    JAPAN,
    NORTH_AMERICA,
    EdgeLocation,
    Place,
    nearest_cloudfront_edge,
    place,
    region,
    rtt_ms,
)

#: Where the sandbox keeps its upload records on moto's S3 backend object.
UPLOADS_KEY = "labkit_uploads"

#: The uploader's own link, megabits per second (a good home or office connection).
UPLINK_MBPS = 100.0
#: TCP's maximum segment size, bytes.
MSS_BYTES = 1460
#: Packet loss on a public-internet path and on AWS's backbone (assumptions of the model).
INTERNET_LOSS = 1e-4
BACKBONE_LOSS = 1e-5
#: Round trips before the first byte of the body moves: TCP handshake, TLS 1.3, the request.
SETUP_ROUND_TRIPS = 3
#: Pricing regions whose edge locations charge the lower acceleration price.
_CHEAP_EDGES = frozenset({NORTH_AMERICA, EUROPE, JAPAN})


def tcp_rate(rtt: float, loss: float) -> float:
    """Bytes per second one TCP connection sustains over ``rtt`` milliseconds with ``loss``."""
    return MSS_BYTES * 1.22 / (max(rtt, 0.1) / 1000 * math.sqrt(loss))


def _uplink() -> float:
    return UPLINK_MBPS * 1_000_000 / 8


@dataclass(frozen=True)
class TransferEstimate:
    """One upload, both ways.

    Attributes:
        size: Bytes uploaded.
        uploader: Where the uploader is.
        region: The bucket's Region.
        edge: The edge location Transfer Acceleration uses for this uploader.
        direct_ms: Modelled time straight to the Region, milliseconds.
        accelerated_ms: Modelled time through the edge location, milliseconds.
        direct_rtt_ms: Round trip to the Region over the internet.
        edge_rtt_ms: Round trip to the edge location over the internet.
        backbone_rtt_ms: Round trip from the edge location to the Region on AWS's network.
    """

    size: int
    uploader: Place
    region: str
    edge: EdgeLocation
    direct_ms: float
    accelerated_ms: float
    direct_rtt_ms: float
    edge_rtt_ms: float
    backbone_rtt_ms: float

    @property
    def speedup(self) -> float:
        """How many times faster acceleration is (below 1: slower)."""
        return self.direct_ms / self.accelerated_ms if self.accelerated_ms else 1.0

    @property
    def faster(self) -> bool:
        """Whether acceleration is faster (AWS charges for it only then)."""
        return self.accelerated_ms < self.direct_ms

    @property
    def price_per_gb(self) -> float:
        """The acceleration price per GB at this edge location (USD), charged only when faster."""
        cheap = self.edge.pricing_region in _CHEAP_EDGES
        return float(value(f"s3.transfer_acceleration_price_{'us_eu_jp' if cheap else 'other'}"))

    def summary(self) -> str:
        """One line for a learner."""
        if self.speedup >= 1.1:
            verdict = f"{self.speedup:.1f}× faster accelerated"
        elif self.faster:
            verdict = "barely faster accelerated"
        else:
            verdict = "no faster accelerated (AWS would not charge for acceleration)"
        return (
            f"{_size(self.size)} from {self.uploader.name} to {self.region}: "
            f"{_secs(self.direct_ms)} straight to the Region, {_secs(self.accelerated_ms)} "
            f"through edge location {self.edge.code} ({self.edge.place.name}): {verdict}."
        )


def _size(n: int) -> str:
    for unit, size in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def _secs(ms: float) -> str:
    return f"{ms / 1000:.2f} s" if ms >= 1000 else f"{ms:.0f} ms"


def upload_estimate(size: int, uploader: str | Place, bucket_region: str) -> TransferEstimate:
    """Model an upload of ``size`` bytes from ``uploader`` to a bucket in ``bucket_region``.

    Raises:
        UnknownLocationError: An unknown city or Region.
    """
    who, where = place(uploader), region(bucket_region)
    edge = nearest_cloudfront_edge(who, "PriceClass_All")
    direct_rtt = rtt_ms(who, where)
    edge_rtt = rtt_ms(who, edge.place)
    backbone_rtt = rtt_ms(edge.place, where, path="backbone")
    body = max(0, int(size))
    direct_rate = min(_uplink(), tcp_rate(direct_rtt, INTERNET_LOSS))
    # The edge relays as it receives: the slower of the two legs sets the pace.
    accelerated_rate = min(
        _uplink(), tcp_rate(edge_rtt, INTERNET_LOSS), tcp_rate(backbone_rtt, BACKBONE_LOSS)
    )
    direct = SETUP_ROUND_TRIPS * direct_rtt + body / direct_rate * 1000
    # Handshakes end at the edge; the request itself goes on to the Region (the edge keeps
    # warm connections there).
    accelerated = (
        (SETUP_ROUND_TRIPS - 1) * edge_rtt
        + (edge_rtt + backbone_rtt)
        + body / accelerated_rate * 1000
    )
    return TransferEstimate(
        size=body,
        uploader=who,
        region=bucket_region,
        edge=edge,
        direct_ms=direct,
        accelerated_ms=accelerated,
        direct_rtt_ms=direct_rtt,
        edge_rtt_ms=edge_rtt,
        backbone_rtt_ms=backbone_rtt,
    )


@dataclass(frozen=True)
class Upload:
    """One object upload the sandbox accepted.

    Attributes:
        at: Lab time (epoch seconds).
        bucket: The bucket.
        key: The object key.
        size: Bytes in the request body.
        accelerated: Whether it came through the accelerate endpoint.
        estimate: Both modelled times (straight and accelerated) from the uploader's city.
    """

    at: float
    bucket: str
    key: str
    size: int
    accelerated: bool
    estimate: TransferEstimate

    @property
    def uploader(self) -> str:
        """The uploader's city."""
        return self.estimate.uploader.name

    @property
    def seconds(self) -> float:
        """The modelled time this upload took, the way it went."""
        ms = self.estimate.accelerated_ms if self.accelerated else self.estimate.direct_ms
        return ms / 1000

    @property
    def other_seconds(self) -> float:
        """The modelled time it would have taken the other way."""
        ms = self.estimate.direct_ms if self.accelerated else self.estimate.accelerated_ms
        return ms / 1000

    def __str__(self) -> str:
        how = f"through {self.estimate.edge.code} (accelerated)" if self.accelerated else "direct"
        return (
            f"{self.bucket}/{self.key}: {self.size:,} bytes from {self.uploader} {how} in "
            f"{self.seconds:.2f} s (the other way: {self.other_seconds:.2f} s)"
        )


__all__ = [
    "BACKBONE_LOSS",
    "INTERNET_LOSS",
    "UPLINK_MBPS",
    "UPLOADS_KEY",
    "TransferEstimate",
    "Upload",
    "tcp_rate",
    "upload_estimate",
]
