"""OpenSearch aggregations on tantivy's aggregation engine (its Elasticsearch-compatible ones).

``terms``, ``avg``, ``sum``, ``min``, ``max``, ``value_count`` and ``date_histogram`` (with
sub-aggregations) run in tantivy over fast (columnar) fields; this module translates the request
and reshapes the answer as OpenSearch gives it: a date histogram's ``key`` in epoch milliseconds
and ``key_as_string`` as ``2024-01-01T00:00:00.000Z``, ``min``/``max`` of a date with
``value_as_string``, ``value_count`` an integer. A date field is stored in milliseconds, so a
date histogram is tantivy's ``histogram`` over it; calendar months, quarters and years (of
unequal length) are gathered from daily buckets. As in OpenSearch, a date histogram's empty
buckets between the first and the last are listed unless ``min_doc_count`` is 1 or more, and
an aggregation over a text field is refused (https://docs.opensearch.org/latest/aggregations/
bucket/date-histogram/).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import tantivy

from labkit.services.opensearch.sim_fields import (
    INDEXED_TYPES,
    KEYWORD_TYPES,
    TEXT_TYPES,
    SearchError,
    date_string,
    epoch_ms,
)

METRICS = ("avg", "sum", "min", "max", "value_count")
KINDS = ("terms", "date_histogram", *METRICS)
_DAY = 86_400_000
#: Calendar intervals of equal length, in milliseconds (and the offset a week starts on Monday).
_FIXED = {
    "minute": 60_000,
    "1m": 60_000,
    "hour": 3_600_000,
    "1h": 3_600_000,
    "day": _DAY,
    "1d": _DAY,
    "week": 7 * _DAY,
    "1w": 7 * _DAY,
}
#: Calendar intervals gathered from days: the first day of their period.
_CALENDAR: dict[str, Callable[[datetime], datetime]] = {
    "month": lambda d: d.replace(day=1),
    "1M": lambda d: d.replace(day=1),
    "quarter": lambda d: d.replace(month=(d.month - 1) // 3 * 3 + 1, day=1),
    "1q": lambda d: d.replace(month=(d.month - 1) // 3 * 3 + 1, day=1),
    "year": lambda d: d.replace(month=1, day=1),
    "1y": lambda d: d.replace(month=1, day=1),
}
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": _DAY}


def translate(spec: dict[str, Any], mappings: dict[str, str]) -> dict[str, Any]:
    """The tantivy request of an ``aggs`` object (every name, sub-aggregations included)."""
    return {str(name): _one(str(name), body, mappings) for name, body in spec.items()}


def _one(name: str, spec: Any, mappings: dict[str, str]) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise SearchError(400, "parsing_exception", f"aggregation [{name}] is not an object")
    kinds = [k for k in spec if k not in ("aggs", "aggregations", "meta")]
    if len(kinds) != 1 or kinds[0] not in KINDS:
        raise SearchError(
            400,
            "parsing_exception",
            f"unknown aggregation {kinds} in [{name}] (the sandbox runs {', '.join(KINDS)})",
        )
    kind = kinds[0]
    body = dict(spec[kind] or {})
    field = str(body.get("field", ""))
    field_type = mappings.get(field)
    if field_type in TEXT_TYPES:
        raise SearchError(
            400,
            "illegal_argument_exception",
            f"Text fields are not optimised for operations that require per-document field "
            f"data like aggregations and sorting, so these operations are disabled by default. "
            f"Please use a keyword field instead (field [{field}], aggregation [{name}]).",
        )
    if kind in METRICS and field_type in KEYWORD_TYPES and kind != "value_count":
        raise SearchError(
            400,
            "illegal_argument_exception",
            f"Field [{field}] of type [keyword] is not supported for aggregation [{kind}]",
        )
    inner = spec.get("aggs") or spec.get("aggregations")
    found: dict[str, Any]
    if kind == "date_histogram":
        found = {"histogram": _histogram(name, body, inner)}
    else:
        found = {kind: {k: v for k, v in body.items() if k in ("field", "size", "missing")}}
    if inner:
        if kind in METRICS:
            raise SearchError(
                400, "aggregation_initialization_exception", f"[{kind}] takes no sub-aggregations"
            )
        found["aggs"] = translate(inner, mappings)
    return found


def _histogram(name: str, body: dict[str, Any], inner: Any) -> dict[str, Any]:
    interval = str(
        body.get("calendar_interval") or body.get("fixed_interval") or body.get("interval") or ""
    )
    minimum = int(body.get("min_doc_count", 0))
    request: dict[str, Any] = {"field": body.get("field"), "min_doc_count": minimum}
    if interval in _FIXED:
        request["interval"] = _FIXED[interval]
        if _FIXED[interval] == 7 * _DAY:
            request["offset"] = 4 * _DAY  # 1970-01-01 was a Thursday; weeks start on Monday
    elif interval in _CALENDAR:
        if inner:
            raise SearchError(
                400,
                "illegal_argument_exception",
                f"the sandbox runs no sub-aggregation under a [{interval}] date histogram",
            )
        request["interval"] = _DAY
        request["min_doc_count"] = 1  # days are gathered into periods afterwards
    else:
        found = re.fullmatch(r"(\d+)(ms|s|m|h|d)", interval)
        if not found or "fixed_interval" not in body:
            raise SearchError(
                400,
                "illegal_argument_exception",
                f"The supplied interval [{interval}] could not be parsed as a calendar interval "
                f"({', '.join([*_FIXED, *_CALENDAR])}) or as a fixed_interval such as 30s or 5m "
                f"(aggregation [{name}])",
            )
        request["interval"] = int(found.group(1)) * _UNIT_MS[found.group(2)]
    return request


def run(
    searcher: tantivy.Searcher,
    query: tantivy.Query,
    spec: dict[str, Any],
    mappings: dict[str, str],
) -> dict[str, Any]:
    """The ``aggregations`` of a response: ``spec`` over the documents ``query`` matches."""
    # An aggregation of a field no document has yet (unmapped) answers as OpenSearch does.
    request = translate(spec, mappings)
    known = {n: r for n, r in request.items() if mappings.get(_field(r)) in INDEXED_TYPES}
    try:
        raw = searcher.aggregate(query, known) if known else {}
    except ValueError as err:
        if "bucket limit" in str(err):
            raise SearchError(
                503, "too_many_buckets_exception", f"Trying to create too many buckets: {err}"
            ) from err
        raise SearchError(400, "illegal_argument_exception", str(err)) from err
    return {str(n): _shape(spec[n], raw.get(n), mappings) for n in spec}


def _field(request: dict[str, Any]) -> str:
    body = next(v for k, v in request.items() if k != "aggs")
    return str(body.get("field", ""))


def _shape(spec: dict[str, Any], raw: Any, mappings: dict[str, str]) -> dict[str, Any]:
    kind = next(k for k in spec if k not in ("aggs", "aggregations", "meta"))
    body = spec[kind] or {}
    is_date = mappings.get(str(body.get("field", ""))) == "date"
    inner = spec.get("aggs") or spec.get("aggregations") or {}
    if kind in METRICS:
        value: Any = raw.get("value") if raw else None
        if kind in ("sum", "value_count") and value is None:
            value = 0
        if kind == "value_count":
            value = int(value)
        found: dict[str, Any] = {"value": value}
        if is_date and kind in ("min", "max", "avg") and value is not None:
            found["value_as_string"] = date_string(value)
        return found
    buckets = list((raw or {}).get("buckets") or [])
    if kind == "terms":
        shaped = []
        for bucket in buckets:
            item = {"key": bucket["key"], "doc_count": int(bucket["doc_count"])}
            if "key_as_string" in bucket:
                item["key_as_string"] = bucket["key_as_string"]
            elif is_date:
                item["key_as_string"] = date_string(bucket["key"])
            shaped.append(item | _inner(inner, bucket, mappings))
        return {
            "doc_count_error_upper_bound": 0,
            "sum_other_doc_count": int((raw or {}).get("sum_other_doc_count", 0)),
            "buckets": shaped,
        }
    interval = str(
        body.get("calendar_interval") or body.get("fixed_interval") or body.get("interval")
    )
    if interval in _CALENDAR:
        return {"buckets": _calendar(buckets, interval, int(body.get("min_doc_count", 0)))}
    return {
        "buckets": [
            {
                "key_as_string": date_string(b["key"]),
                "key": int(b["key"]),
                "doc_count": int(b["doc_count"]),
            }
            | _inner(inner, b, mappings)
            for b in buckets
        ]
    }


def _inner(inner: dict[str, Any], bucket: dict[str, Any], mappings: dict[str, str]) -> Any:
    return {str(n): _shape(s, bucket.get(n), mappings) for n, s in inner.items()}


def _calendar(days: list[dict[str, Any]], interval: str, minimum: int) -> list[dict[str, Any]]:
    """Daily buckets gathered into months, quarters or years (empty ones between listed)."""
    start_of = _CALENDAR[interval]
    counts: dict[datetime, int] = {}
    for bucket in days:
        day = datetime.fromtimestamp(bucket["key"] / 1000, tz=timezone.utc)
        key = start_of(day.replace(hour=0, minute=0, second=0, microsecond=0))
        counts[key] = counts.get(key, 0) + int(bucket["doc_count"])
    if not counts:
        return []
    periods, period = [], min(counts)
    step = {"month": 1, "1M": 1, "quarter": 3, "1q": 3}.get(interval, 12)
    while period <= max(counts):
        periods.append(period)
        month = period.month - 1 + step
        period = period.replace(year=period.year + month // 12, month=month % 12 + 1)
    return [
        {
            "key_as_string": date_string(epoch_ms(p.isoformat())),
            "key": epoch_ms(p.isoformat()),
            "doc_count": counts.get(p, 0),
        }
        for p in periods
        if counts.get(p, 0) >= minimum
    ]
