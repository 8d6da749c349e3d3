"""Listing a Kinesis stream's shards and consumers as AWS documents it (used by :mod:`.patch`).

Stock moto's ``ListShards`` ignores ``ShardFilter`` and ``ExclusiveStartShardId``, pages with
moto's own tokens and accepts a ``NextToken`` next to the stream's name; its consumer operations
fail with an ``AttributeError`` on a stream that does not exist. Here, on the lab clock:

- ``ShardFilter`` selects shards by their lifetime, as the API reference defines each type
  (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_ShardFilter.html):
  ``AT_LATEST`` the open shards only; ``AT_TRIM_HORIZON`` the shards open at the trim horizon;
  ``FROM_TRIM_HORIZON`` (the default) every shard within the retention period, "trim to tip";
  ``AFTER_SHARD_ID`` the shards whose id follows ``ShardId``; ``AT_TIMESTAMP`` the shards open at
  ``Timestamp``; ``FROM_TIMESTAMP`` the shards closed at or after ``Timestamp`` and every open
  one, with a timestamp before the trim horizon "corrected to TRIM_HORIZON";
- a shard closed before the trim horizon is expired and never listed ("This action does not list
  expired shards", https://docs.aws.amazon.com/kinesis/latest/APIReference/API_ListShards.html);
- ``MaxResults`` (1 to 10,000; 1,000 when not given) pages the list, and the ``NextToken`` of a
  page carries the stream and the filter, lives 300 seconds (then ``ExpiredNextTokenException``)
  and may not come with ``StreamName``, ``StreamARN``, ``ExclusiveStartShardId``, ``ShardFilter``
  or ``StreamCreationTimestamp``: AWS answers "NextToken and StreamName cannot be provided
  together." (InvalidArgumentException), as users of large streams report
  (https://github.com/boto/botocore/issues/2009, https://github.com/aws/aws-cli/issues/9635);
- the consumer operations answer ``ResourceNotFoundException`` for a stream ARN that names no
  stream, and ``DeregisterStreamConsumer`` by stream ARN and name removes that consumer only
  (moto keeps it and drops the others).

A shard's opening and closing times are lab-clock instants stamped by :func:`stamp_shards` after
each reshard; the shards a stream was created with opened when the stream was created.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.utils import unix_time
from moto.kinesis.exceptions import InvalidArgumentError, StreamNotFoundError

from labkit import facts

FILTER_TYPES = (
    "AFTER_SHARD_ID",
    "AT_TRIM_HORIZON",
    "FROM_TRIM_HORIZON",
    "AT_LATEST",
    "AT_TIMESTAMP",
    "FROM_TIMESTAMP",
)
#: Parameters that may not come with a NextToken, in the order AWS names them.
_NOT_WITH_TOKEN = (
    "StreamName",
    "StreamARN",
    "ExclusiveStartShardId",
    "ShardFilter",
    "StreamCreationTimestamp",
)


class ExpiredNextTokenError(JsonRESTError):
    """A ListShards NextToken used more than 300 seconds after it was issued."""

    def __init__(self, lifetime: float) -> None:
        # The code is AWS's (API_ListShards.html, Errors); the wording is labkit's.
        super().__init__(
            "ExpiredNextTokenException",
            f"The NextToken has expired: a token is valid for {lifetime:g} seconds after the "
            "ListShards call that returned it. Start again without NextToken.",
        )


# -- shard lifetimes ----------------------------------------------------------------------------
def stamp_shards(stream: Any, now: float) -> None:
    """Record when each shard of ``stream`` opened and closed, for shards not stamped yet.

    Called after every reshard: the children it opened get ``now`` as their opening time, the
    parents it closed get ``now`` as their closing time.
    """
    created = stream_created_at(stream)
    for shard in stream.shards.values():
        if getattr(shard, "labkit_opened_at", None) is None:
            # A shard without a stamp is one the stream was created with, unless the stream is
            # older than this reshard and the shard is new (it has a parent).
            shard.labkit_opened_at = now if shard.parent else created
        if not shard.is_open and getattr(shard, "labkit_closed_at", None) is None:
            shard.labkit_closed_at = now


def stream_created_at(stream: Any) -> float:
    """Epoch seconds at which ``stream`` was created (moto stamps it on the lab clock)."""
    return float(unix_time(stream.creation_datetime))


def shard_span(stream: Any, shard: Any) -> tuple[float, float | None]:
    """``(opened, closed)`` of a shard in epoch seconds; ``closed`` is None while it is open."""
    opened = getattr(shard, "labkit_opened_at", None)
    if opened is None:
        opened = stream_created_at(stream)
    closed = None if shard.is_open else getattr(shard, "labkit_closed_at", opened)
    return float(opened), closed


def trim_horizon(stream: Any, now: float) -> float:
    """The oldest instant the stream still holds data for: retention back from now, but never
    before the stream existed."""
    return max(now - float(stream.retention_period_hours) * 3600.0, stream_created_at(stream))


def _timestamp(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    raise InvalidArgumentError("ShardFilter Timestamp must be a timestamp.")


def _check_filter(shard_filter: Any) -> dict[str, Any] | None:
    """Validate a ``ShardFilter`` as the API reference states its members' rules."""
    if shard_filter is None:
        return None
    if not isinstance(shard_filter, dict) or "Type" not in shard_filter:
        raise InvalidArgumentError("ShardFilter must have a Type.")
    kind = shard_filter["Type"]
    if kind not in FILTER_TYPES:
        raise InvalidArgumentError(
            f"ShardFilter Type {kind!r} is not one of {', '.join(FILTER_TYPES)}."
        )
    shard_id = shard_filter.get("ShardId")
    stamp = shard_filter.get("Timestamp")
    # "If you specify the AFTER_SHARD_ID type, you must also provide the value for the optional
    # ShardId property"; "If you specify the AT_TIMESTAMP or FROM_TIMESTAMP type, you must also
    # provide the value for the optional Timestamp property" (API_ListShards.html, ShardFilter).
    if kind == "AFTER_SHARD_ID" and not shard_id:
        raise InvalidArgumentError("ShardFilter of type AFTER_SHARD_ID needs a ShardId.")
    if kind != "AFTER_SHARD_ID" and shard_id:
        raise InvalidArgumentError("ShardFilter ShardId can only be used with AFTER_SHARD_ID.")
    if kind in ("AT_TIMESTAMP", "FROM_TIMESTAMP"):
        if stamp is None:
            raise InvalidArgumentError(f"ShardFilter of type {kind} needs a Timestamp.")
        return {"Type": kind, "Timestamp": _timestamp(stamp)}
    if stamp is not None:
        raise InvalidArgumentError(
            "ShardFilter Timestamp can only be used with AT_TIMESTAMP or FROM_TIMESTAMP."
        )
    return {"Type": kind, "ShardId": shard_id} if shard_id else {"Type": kind}


def select_shards(stream: Any, shard_filter: dict[str, Any] | None, now: float) -> list[Any]:
    """The shards of ``stream`` that ``shard_filter`` lists at ``now``, in shard id order."""
    horizon = trim_horizon(stream, now)
    kind = (shard_filter or {}).get("Type", "FROM_TRIM_HORIZON")
    out = []
    for shard in sorted(stream.shards.values(), key=lambda s: s.shard_id):
        opened, closed = shard_span(stream, shard)
        if closed is not None and closed < horizon:
            continue  # expired: past the retention period
        if kind == "AT_LATEST":
            keep = closed is None
        elif kind == "AT_TRIM_HORIZON":
            keep = opened <= horizon
        elif kind == "AT_TIMESTAMP":
            # Open at that instant. labkit corrects a timestamp before the trim horizon to it, as
            # the documentation says of FROM_TIMESTAMP: no shard is older than the stream.
            at = max(float(shard_filter["Timestamp"]), horizon)  # type: ignore[index]
            keep = opened <= at and (closed is None or closed >= at)
        elif kind == "FROM_TIMESTAMP":
            at = max(float(shard_filter["Timestamp"]), horizon)  # type: ignore[index]
            keep = closed is None or closed >= at
        elif kind == "AFTER_SHARD_ID":
            keep = shard.shard_id > str(shard_filter["ShardId"])  # type: ignore[index]
        else:  # FROM_TRIM_HORIZON: every shard that is not expired
            keep = True
        if keep:
            out.append(shard)
    return out


# -- tokens -------------------------------------------------------------------------------------
def _encode_token(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _decode_token(token: Any) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(str(token).encode("ascii")))
        if isinstance(state, dict) and {"arn", "after", "issued"} <= state.keys():
            return state
    except (ValueError, UnicodeError, binascii.Error):
        pass
    # AWS rejects a token it did not issue with InvalidArgumentException; the wording is labkit's.
    raise InvalidArgumentError(
        f"Invalid NextToken: {str(token)[:40]!r} was not returned by ListShards."
    )


def list_shards(backend: Any, params: dict[str, Any], now: float) -> dict[str, Any]:
    """The body of a ``ListShards`` answer for request ``params`` at lab time ``now``."""
    token = params.get("NextToken")
    if token is not None:
        for name in _NOT_WITH_TOKEN:
            if params.get(name) is not None:
                raise InvalidArgumentError(f"NextToken and {name} cannot be provided together.")
        state = _decode_token(token)
        lifetime = float(facts.value("kinesis.listshards_next_token_expiry"))
        if now - float(state["issued"]) > lifetime:
            raise ExpiredNextTokenError(lifetime)
        stream = backend.describe_stream(stream_arn=state["arn"], stream_name=None)
        shard_filter = state.get("filter")
        after = state["after"]
    else:
        if not params.get("StreamName") and not params.get("StreamARN"):
            # "you must use either the StreamARN or the StreamName parameter, or both"
            raise InvalidArgumentError("Either StreamName or StreamARN must be provided.")
        stream = backend.describe_stream(
            stream_arn=params.get("StreamARN"), stream_name=params.get("StreamName")
        )
        shard_filter = _check_filter(params.get("ShardFilter"))
        after = params.get("ExclusiveStartShardId")
    most = int(facts.value("kinesis.listshards_max_results"))
    limit = params.get("MaxResults")
    limit = int(facts.value("kinesis.listshards_default_results")) if limit is None else int(limit)
    if not 1 <= limit <= most:
        raise InvalidArgumentError(
            f"1 validation error detected: Value '{limit}' at 'maxResults' failed to satisfy "
            f"constraint: Member must have value {'less' if limit > most else 'greater'} than or "
            f"equal to {most if limit > most else 1}"
        )
    shards = [
        s for s in select_shards(stream, shard_filter, now) if not after or s.shard_id > after
    ]
    page = shards[:limit]
    body: dict[str, Any] = {"Shards": [s.to_json() for s in page]}
    if len(shards) > limit:
        body["NextToken"] = _encode_token(
            {"arn": stream.arn, "filter": shard_filter, "after": page[-1].shard_id, "issued": now}
        )
    return body


# -- consumers ----------------------------------------------------------------------------------
def find_stream_by_arn(backend: Any, stream_arn: Any) -> Any:
    """The stream ``stream_arn`` names, or AWS's ResourceNotFoundException (moto returns None)."""
    for stream in backend.streams.values():
        if stream.arn == stream_arn:
            return stream
    name = str(stream_arn or "").split("/", 1)[-1]
    raise StreamNotFoundError(name, backend.account_id)


def deregister_stream_consumer(
    backend: Any, stream_arn: str | None, consumer_name: str | None, consumer_arn: str | None
) -> None:
    """DeregisterStreamConsumer: by stream ARN and consumer name, or by consumer ARN."""
    if consumer_arn:
        consumer = backend.describe_stream_consumer(None, None, consumer_arn)
    else:
        consumer = backend.describe_stream_consumer(stream_arn, consumer_name, None)
    stream = find_stream_by_arn(backend, consumer.stream_arn)
    stream.consumers = [c for c in stream.consumers if c is not consumer]
