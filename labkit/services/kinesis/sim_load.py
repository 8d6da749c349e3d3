"""Seeded streaming loads: a fleet of trucks sending readings, hot partition keys and bursts.

Plain Python, no moto and no clock of its own: a load is a list of timed :class:`Reading`\\ s that a
producer sends (lessons and checks send them to a Kinesis data stream, moving the lab clock as the
readings' times pass). Randomness comes from a ``random.Random(seed)`` made here, so a load is the
same on every run.

It also maps partition keys to shards as Kinesis Data Streams does, without moto, so that a lesson
can show the arithmetic and a test can predict where a record lands: "An MD5 hash function is used
to map partition keys to 128-bit integer values and to map associated data records to shards using
the hash key ranges of the shards"
(https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecord.html). A new stream's
shards split the 128-bit space into equal ranges, as ``CreateStream`` lays them out.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import random
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

#: Size of the hash key space: partition keys hash to integers in ``[0, 2**128)``.
HASH_SPACE = 2**128

#: Regions a fleet's trucks drive in (the labels of a deliberately low-cardinality field).
REGIONS: tuple[str, ...] = ("north", "south", "east", "west", "central")


# -- partition keys and shards ------------------------------------------------------------------
def hash_key(partition_key: str) -> int:
    """The 128-bit hash key Kinesis derives from ``partition_key`` (MD5, big-endian)."""
    return int.from_bytes(hashlib.md5(partition_key.encode("utf-8")).digest(), "big")


def uniform_ranges(shard_count: int) -> list[tuple[int, int]]:
    """The hash key ranges ``(start, end)`` (inclusive) of a new stream of ``shard_count`` shards.

    Equal ranges, the last one running to the top of the space.

    Raises:
        ValueError: If ``shard_count`` is not positive.
    """
    if shard_count < 1:
        raise ValueError(f"A stream has at least one shard, not {shard_count}.")
    step = HASH_SPACE // shard_count
    starts = [i * step for i in range(shard_count)]
    ends = [s - 1 for s in starts[1:]] + [HASH_SPACE - 1]
    return list(zip(starts, ends, strict=True))


def shard_index(partition_key: str, ranges: Sequence[tuple[int, int]]) -> int:
    """Which shard of ``ranges`` (sorted, covering the space) ``partition_key`` maps to."""
    starts = [start for start, _ in ranges]
    return bisect_right(starts, hash_key(partition_key)) - 1


def spread(keys: Iterable[str], shard_count: int) -> list[int]:
    """How many of ``keys`` (one per record) land on each shard of a new ``shard_count``-shard
    stream."""
    ranges = uniform_ranges(shard_count)
    counts = [0] * shard_count
    for key in keys:
        counts[shard_index(key, ranges)] += 1
    return counts


def hottest_share(counts: Sequence[int]) -> float:
    """The busiest shard's share of all records (``1 / len(counts)`` when perfectly even)."""
    total = sum(counts)
    return max(counts) / total if total else 0.0


# -- readings -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reading:
    """One truck's GPS reading.

    Attributes:
        truck_id: Which truck sent it (``T-00042``).
        seq: The truck's own counter: its readings must be processed in this order.
        at: When it was sent, in seconds after the load starts.
        region: The region the truck drives in (one of a handful of values).
        lat: Latitude in degrees.
        lon: Longitude in degrees.
        speed_kmh: Speed in km/h.
    """

    truck_id: str
    seq: int
    at: float
    region: str
    lat: float
    lon: float
    speed_kmh: float

    def as_dict(self) -> dict[str, Any]:
        """The reading as a plain dict (what producers and partition-key functions receive)."""
        return {
            "truck_id": self.truck_id,
            "seq": self.seq,
            "at": self.at,
            "region": self.region,
            "lat": self.lat,
            "lon": self.lon,
            "speed_kmh": self.speed_kmh,
        }

    def data(self, history: int = 0) -> bytes:
        """The record's data: one line of JSON, newline-terminated (Firehose adds no separator
        between records, so the producer does).

        Args:
            history: Add the truck's last ``history`` positions (``track``), as a truck that was
                out of coverage sends what it recorded meanwhile: about 20 bytes each.
        """
        body = self.as_dict()
        if history:
            rng = random.Random(f"{self.truck_id}:{self.seq}")
            body["track"] = [
                [
                    round(self.lat + rng.uniform(-0.05, 0.05), 5),
                    round(self.lon + rng.uniform(-0.05, 0.05), 5),
                ]
                for _ in range(history)
            ]
        return (json.dumps(body, separators=(",", ":")) + "\n").encode("utf-8")


def records(
    readings: Iterable[Reading], partition_key: Callable[[dict[str, Any]], str]
) -> list[dict[str, Any]]:
    """``PutRecords`` entries for ``readings``, keyed by ``partition_key(reading_dict)``."""
    return [{"Data": r.data(), "PartitionKey": partition_key(r.as_dict())} for r in readings]


def ticks(readings: Iterable[Reading], step: float = 1.0) -> Iterator[tuple[float, list[Reading]]]:
    """The readings grouped by time slot of ``step`` seconds: ``(slot start, readings)``, in
    order, skipping empty slots. A producer sends each group, then moves the clock on."""
    current: list[Reading] = []
    slot: int | None = None
    for reading in sorted(readings, key=lambda r: r.at):
        index = int(reading.at // step)
        if slot is not None and index != slot:
            yield slot * step, current
            current = []
        slot = index
        current.append(reading)
    if slot is not None and current:
        yield slot * step, current


def merge(*loads: Iterable[Reading]) -> list[Reading]:
    """Several loads as one, in time order (stable: equal times keep their load's order)."""
    return list(heapq.merge(*(sorted(load, key=lambda r: r.at) for load in loads), key=_at))


def _at(reading: Reading) -> float:
    return reading.at


class TruckFleet:
    """A fleet of trucks that report their position, seeded so that every run is the same.

    Args:
        trucks: How many trucks.
        seed: Seed of the fleet's randomness (regions, positions, timing).
        regions: The regions trucks are spread over.

    Example:
        >>> fleet = TruckFleet(3, seed=1)
        >>> fleet.ids
        ['T-00000', 'T-00001', 'T-00002']
        >>> [(r.truck_id, r.seq) for r in fleet.readings(seconds=10, every=5)][:3]
        [('T-00001', 0), ('T-00002', 0), ('T-00000', 0)]
    """

    def __init__(
        self, trucks: int = 10_000, *, seed: int = 7, regions: Sequence[str] = REGIONS
    ) -> None:
        if trucks < 1:
            raise ValueError(f"A fleet has at least one truck, not {trucks}.")
        self.seed = seed
        self.ids = [f"T-{i:05d}" for i in range(trucks)]
        rng = random.Random(seed)
        self._region = {t: regions[rng.randrange(len(regions))] for t in self.ids}
        self._home = {t: (rng.uniform(35.0, 55.0), rng.uniform(-10.0, 25.0)) for t in self.ids}

    def __len__(self) -> int:
        return len(self.ids)

    def region_of(self, truck_id: str) -> str:
        """The region ``truck_id`` drives in."""
        return self._region[truck_id]

    def _reading(self, rng: random.Random, truck_id: str, seq: int, at: float) -> Reading:
        lat, lon = self._home[truck_id]
        return Reading(
            truck_id=truck_id,
            seq=seq,
            at=round(at, 3),
            region=self._region[truck_id],
            lat=round(lat + rng.uniform(-0.05, 0.05), 5),
            lon=round(lon + rng.uniform(-0.05, 0.05), 5),
            speed_kmh=round(rng.uniform(0.0, 110.0), 1),
        )

    def readings(
        self, *, seconds: float, every: float = 5.0, start: float = 0.0, first_seq: int = 0
    ) -> list[Reading]:
        """Every truck reports once every ``every`` seconds for ``seconds`` seconds.

        Each truck starts at a seeded offset within the first ``every`` seconds, so the load is
        steady (``len(fleet) / every`` readings a second) rather than one burst per period.

        Args:
            seconds: How long the load lasts.
            every: Seconds between two readings of one truck.
            start: When the load starts (seconds), added to every reading's time.
            first_seq: Each truck's first ``seq``.

        Returns:
            The readings in time order; each truck's ``seq`` grows by one per reading.
        """
        rng = random.Random(f"{self.seed}:readings:{seconds}:{every}:{start}:{first_seq}")
        out: list[Reading] = []
        for truck_id in self.ids:
            t = rng.uniform(0.0, every)
            seq = first_seq
            while t < seconds:
                out.append(self._reading(rng, truck_id, seq, start + t))
                seq += 1
                t += every
        out.sort(key=_at)
        return out

    def burst(
        self, count: int, *, at: float = 0.0, trucks: int | None = None, first_seq: int = 0
    ) -> list[Reading]:
        """``count`` readings sent at the same instant, as when trucks leave a tunnel and flush
        what they buffered: round-robin over the first ``trucks`` trucks (all by default), each
        truck's ``seq`` growing from ``first_seq``."""
        pool = self.ids[: trucks or len(self.ids)]
        rng = random.Random(f"{self.seed}:burst:{count}:{at}:{len(pool)}:{first_seq}")
        seqs = dict.fromkeys(pool, first_seq)
        out = []
        for i in range(count):
            truck_id = pool[i % len(pool)]
            out.append(self._reading(rng, truck_id, seqs[truck_id], at))
            seqs[truck_id] += 1
        return out

    def chatty(
        self, truck_id: str, *, rate: float, seconds: float, start: float = 0.0, first_seq: int = 0
    ) -> list[Reading]:
        """One truck sending ``rate`` readings a second (a faulty sensor): its partition key is
        hot whatever key scheme the fleet uses, since one key always maps to one shard."""
        if truck_id not in self._region:
            raise ValueError(f"{truck_id!r} is not a truck of this fleet.")
        rng = random.Random(f"{self.seed}:chatty:{truck_id}:{rate}:{seconds}:{start}")
        n = int(rate * seconds)
        return [self._reading(rng, truck_id, first_seq + i, start + i / rate) for i in range(n)]


__all__ = [
    "HASH_SPACE",
    "REGIONS",
    "Reading",
    "TruckFleet",
    "hash_key",
    "hottest_share",
    "merge",
    "records",
    "shard_index",
    "spread",
    "ticks",
    "uniform_ranges",
]
