"""Resharding a Kinesis data stream as AWS does it (used by :mod:`.kinesis`).

moto's ``SplitShard`` re-puts the parent's records (into the closed parent, since its routing
finds closed shards first), its ``MergeShards`` copies them into the child, its adjacency check
is wrong one way round, and its ``UpdateShardCount`` may leave fewer open shards than
``DescribeStreamSummary`` reports. Here a split or merge closes its parents, which keep their
records until retention trims them, and opens children with ``ParentShardId`` and
``AdjacentParentShardId``; ``UpdateShardCount`` reaches equal hash ranges.
"""

from __future__ import annotations

import itertools
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.kinesis.exceptions import InvalidArgumentError, StreamCannotBeUpdatedError
from moto.kinesis.models import Shard

HASH_SPACE = 2**128


class LimitExceededError(JsonRESTError):
    """A request beyond a documented limit (UpdateShardCount scaling)."""

    def __init__(self, message: str) -> None:
        super().__init__("LimitExceededException", message)


def current_sequence(stream: Any) -> int:
    """The last sequence number ``stream`` gave out (kept in ``stream.labkit_sequence``)."""
    seq: int | None = getattr(stream, "labkit_sequence", None)
    if seq is None:
        seq = max(
            (next(reversed(s.records)) for s in stream.shards.values() if s.records), default=0
        )
        stream.labkit_sequence = seq
    return seq


def start_key(shard: Any) -> int:
    """Sort key of shards: their starting hash key."""
    return int(shard.starting_hash)


def _new_shard(
    stream: Any, start: int, end: int, parent: str, adjacent_parent: str | None = None
) -> Any:
    index = max(s._shard_id for s in stream.shards.values()) + 1
    shard: Any = Shard(index, start, end, parent=parent, adjacent_parent=adjacent_parent)
    shard.labkit_starting_sequence = current_sequence(stream) + 1
    stream.shards[shard.shard_id] = shard
    return shard


def _close(stream: Any, shard: Any) -> None:
    shard.is_open = False
    shard.labkit_ending_sequence = current_sequence(stream)


def _sync_open_count(stream: Any) -> None:
    # DescribeStreamSummary's OpenShardCount reads shard_count: keep it equal to the open shards
    # ListShards shows.
    stream.shard_count = sum(1 for s in stream.shards.values() if s.is_open)


def split_shard(stream: Any, shard_to_split: str, new_starting_hash_key: str) -> None:
    """SplitShard as AWS does it: the parent closes and keeps its records; two children open.

    https://docs.aws.amazon.com/streams/latest/dev/kinesis-using-sdk-java-resharding-split.html
    """
    new_start = int(new_starting_hash_key)
    shard = stream.shards[shard_to_split]
    # moto's messages, which follow AWS's.
    if not shard.starting_hash < new_start < shard.ending_hash:
        raise InvalidArgumentError(
            message=f"NewStartingHashKey {new_start} used in SplitShard() on shard "
            f"{shard_to_split} in stream {stream.stream_name} under account {stream.account_id} "
            f"is not both greater than one plus the shard's StartingHashKey {shard.starting_hash}"
            f" and less than the shard's EndingHashKey {shard.ending_hash - 1}."
        )
    if not shard.is_open:
        raise InvalidArgumentError(
            message=f"Shard {shard.shard_id} in stream {stream.stream_name} under account "
            f"{stream.account_id} has already been merged or split, and thus is not eligible for "
            "merging or splitting."
        )
    _split(stream, shard, new_start)
    _sync_open_count(stream)


def _split(stream: Any, shard: Any, at: int) -> tuple[Any, Any]:
    _close(stream, shard)
    low = _new_shard(stream, shard.starting_hash, at - 1, shard.shard_id)
    high = _new_shard(stream, at, shard.ending_hash, shard.shard_id)
    return low, high


def merge_shards(stream: Any, shard_to_merge: str, adjacent_shard_to_merge: str) -> None:
    """MergeShards as AWS does it: both parents close and keep their records; one child opens.

    https://docs.aws.amazon.com/streams/latest/dev/kinesis-using-sdk-java-resharding-merge.html
    """
    first = stream.shards[shard_to_merge]
    second = stream.shards[adjacent_shard_to_merge]
    for shard in (first, second):
        if not shard.is_open:
            raise InvalidArgumentError(
                message=f"Shard {shard.shard_id} in stream {stream.stream_name} under account "
                f"{stream.account_id} has already been merged or split, and thus is not eligible"
                " for merging or splitting."
            )
    low, high = sorted((first, second), key=start_key)
    if low.ending_hash + 1 != high.starting_hash:
        # AWS's message, as kinesalite's tests record it against the real service.
        ids = sorted((first.shard_id, second.shard_id))
        raise InvalidArgumentError(
            message=f"Shards {ids[0]} and {ids[1]} in stream {stream.stream_name} under account "
            f"{stream.account_id} are not an adjacent pair of shards eligible for merging"
        )
    _merge(stream, first, second)
    _sync_open_count(stream)


def _merge(stream: Any, first: Any, second: Any) -> Any:
    low, high = sorted((first, second), key=start_key)
    _close(stream, first)
    _close(stream, second)
    return _new_shard(
        stream, low.starting_hash, high.ending_hash, first.shard_id, adjacent_parent=second.shard_id
    )


def update_shard_count(
    stream: Any, target: int, *, max_shards: int, scale_up: float, scale_down: float
) -> None:
    """UpdateShardCount with UNIFORM_SCALING: equal hash ranges through splits and merges.

    AWS "performs splits or merges on individual shards. This can cause short-lived shards to be
    created, in addition to the final shards", and refuses more than double or less than half the
    current count (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_UpdateShardCount.html).
    Here every boundary of the target's equal ranges (as CreateStream lays them out) that falls
    inside an open shard splits it, then the pieces inside each target range merge left to right.
    Doubling splits every shard in two; halving merges neighbours in pairs.
    """
    if stream.stream_mode.get("StreamMode", "") == "ON_DEMAND":
        raise StreamCannotBeUpdatedError(
            stream_name=stream.stream_name, account_id=stream.account_id
        )
    open_shards = sorted((s for s in stream.shards.values() if s.is_open), key=start_key)
    current = len(open_shards)
    # Messages as kinesalite's tests record them against the real service.
    if target > max_shards:
        raise LimitExceededError(
            f"Target shard count or number of open shards cannot be greater than "
            f"{max_shards}. Current open shard count: {current}, Target shard count: "
            f"{target}"
        )
    if target > current * scale_up:
        raise LimitExceededError(
            "UpdateShardCount cannot scale up over double your current open shard count. "
            f"Current open shard count: {current}, Target shard count: {target}"
        )
    if target < current * scale_down:
        raise LimitExceededError(
            "UpdateShardCount cannot scale down below half your current open shard count. "
            f"Current open shard count: {current}, Target shard count: {target}"
        )
    if target == current and _is_uniform(open_shards, target):
        return
    step = HASH_SPACE // target
    boundaries = [i * step for i in range(1, target)]
    # Tolerate the rounding of earlier layouts (e.g. thirds of 2**128): a boundary within
    # `slack` of an existing shard start is taken as already there.
    slack = target + current
    for boundary in boundaries:
        shard = next(
            s for s in _open_sorted(stream) if s.starting_hash <= boundary <= s.ending_hash
        )
        if boundary - shard.starting_hash > slack and shard.ending_hash - boundary >= slack:
            _split(stream, shard, boundary)
    edges = [0, *boundaries, HASH_SPACE]
    for low, high in itertools.pairwise(edges):
        inside = [s for s in _open_sorted(stream) if low - slack <= s.starting_hash < high - slack]
        while len(inside) > 1:
            merged = _merge(stream, inside[0], inside[1])
            inside = [merged, *inside[2:]]
    _sync_open_count(stream)


def _open_sorted(stream: Any) -> list[Any]:
    return sorted((s for s in stream.shards.values() if s.is_open), key=start_key)


def _is_uniform(open_shards: list[Any], target: int) -> bool:
    step = HASH_SPACE // target
    return all(abs(s.starting_hash - i * step) <= target for i, s in enumerate(open_shards))
