"""Event filtering for Lambda event source mappings (``FilterCriteria``).

moto stores a mapping's ``FilterCriteria`` but never applies it. Here, as in AWS:

- A mapping has up to ``lambda.esm_filters_max`` filters (more are refused at create/update);
  each ``Pattern`` is a JSON string in EventBridge pattern syntax, and a record is kept if it
  matches ANY of them. No filters (or ``FilterCriteria={}``) keeps every record.
- **SQS**: the pattern applies to the record; ``body`` is matched as parsed JSON when the body is
  a JSON object and as a plain string otherwise, so a JSON pattern for ``body`` never matches a
  plain-string body and the reverse. Messages that match no filter are deleted from the queue and
  never reach the function; if none of a batch matches, the function is not invoked.
- **Kinesis**: ``data`` is matched as the base64-decoded JSON when it is JSON (metadata such as
  ``partitionKey`` sits beside it); **DynamoDB Streams**: the record as delivered (``eventName``,
  ``dynamodb.NewImage...``). Records that match no filter are skipped: the iterator moves past
  them. A stream pattern whose ``data``/``dynamodb`` entry is not an object is refused.

Matching reuses moto's EventBridge matcher (``moto.events.models.EventPattern``: exact values,
``prefix``, ``suffix``, ``anything-but``, ``numeric``, ``exists``, ``equals-ignore-case``,
``wildcard``, nested keys, arrays of alternatives).

https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html
https://docs.aws.amazon.com/lambda/latest/dg/with-sqs-filtering.html
https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis-filtering.html
https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, cast

from moto.awslambda.exceptions import InvalidParameterValueException
from moto.awslambda.models import EventSourceMapping
from moto.events.exceptions import InvalidEventPatternException
from moto.events.models import EventPattern

from labkit import facts

#: The key that holds a record's payload, per source service.
DATA_KEYS = {"kinesis": "data", "dynamodb": "dynamodb"}


def _service(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if len(parts) > 2 else ""


def _patterns(criteria: Any) -> list[str]:
    if not isinstance(criteria, dict):
        return []
    filters = criteria.get("Filters") or []
    return [str(f.get("Pattern", "")) for f in filters if isinstance(f, dict)]


def validate(criteria: Any, source_arn: str) -> None:
    """Refuse ``FilterCriteria`` that AWS refuses at CreateEventSourceMapping/Update.

    Raises:
        InvalidParameterValueException: more filters than the quota, a pattern that is not a
            valid EventBridge pattern, or (streams) a ``data``/``dynamodb`` pattern that is not a
            JSON object.
    """
    patterns = _patterns(criteria)
    limit = int(facts.value("lambda.esm_filters_max"))
    if len(patterns) > limit:
        raise InvalidParameterValueException(
            f"The number of filters ({len(patterns)}) exceeds the maximum of {limit} filters "
            "allowed for an event source mapping. Combine filters or request a quota increase."
        )
    data_key = DATA_KEYS.get(_service(source_arn))
    for raw in patterns:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise InvalidParameterValueException(
                f"Invalid filter pattern definition: {raw!r} is not a JSON object."
            )
        try:
            EventPattern.load(raw)
        except InvalidEventPatternException as error:
            raise InvalidParameterValueException(
                f"Invalid filter pattern definition: {error.message}"
            ) from None
        if data_key is not None and data_key in parsed and not isinstance(parsed[data_key], dict):
            raise InvalidParameterValueException(
                f"Invalid filter pattern definition: the pattern for '{data_key}' must be a JSON "
                "object."
            )


def _json_object(text: Any) -> dict[str, Any] | None:
    if not isinstance(text, (str, bytes)):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def subject(record: dict[str, Any], service: str) -> dict[str, Any]:
    """What a filter pattern is matched against for one delivered ``record``."""
    if service.startswith("sqs"):
        body = _json_object(record.get("body"))
        return {**record, "body": body} if body is not None else record
    if service == "kinesis":
        inner = dict(record.get("kinesis") or {})
        raw = inner.get("data")
        decoded: dict[str, Any] | None = None
        if isinstance(raw, str):
            try:
                decoded = _json_object(base64.b64decode(raw, validate=True))
            except (binascii.Error, ValueError):
                decoded = None
        outer = {k: v for k, v in record.items() if k != "kinesis"}
        return {**outer, **inner, "data": decoded if decoded is not None else raw}
    return record


def keep(esm: EventSourceMapping, records: list[dict[str, Any]]) -> list[bool]:
    """For each record, whether the mapping's filters let it through (all, without filters)."""
    patterns = [EventPattern.load(p) for p in _patterns(esm.filter_criteria)]
    if not patterns:
        return [True] * len(records)
    service = esm._get_service_source_from_arn()
    # The matcher is typed for EventBridge events, but it matches any JSON-like dict.
    subjects = [cast(Any, subject(r, service)) for r in records]
    return [any(p.matches_event(s) for p in patterns) for s in subjects]
