"""Field types of an OpenSearch index on tantivy: mappings, dynamic mapping, values and dates.

Each mapped field is a typed tantivy field: ``text`` is analyzed (positions kept for phrases),
``keyword`` is one raw term and a fast (columnar) field for aggregations, numbers are tantivy
integers or floats, ``boolean`` a boolean, ``date`` an integer of epoch milliseconds (how
OpenSearch stores a date: https://docs.opensearch.org/latest/field-types/supported-field-types/
date/), so ranges and histograms are exact to the millisecond. Objects are flattened into
dotted names (``user.name``), as OpenSearch's object fields are.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import tantivy

from labkit.errors import LabkitError

TEXT_TYPES = ("text", "match_only_text")
KEYWORD_TYPES = ("keyword", "constant_keyword", "wildcard")
INTEGER_TYPES = ("integer", "long", "short", "byte", "unsigned_long", "date")
FLOAT_TYPES = ("float", "double", "half_float", "scaled_float")
NUMERIC_TYPES = INTEGER_TYPES[:-1] + FLOAT_TYPES
#: Every type the engine indexes; others (``object``, ``nested``, ``ip``, ``geo_point``...) are
#: kept in ``_source`` only.
INDEXED_TYPES = (*TEXT_TYPES, *KEYWORD_TYPES, *INTEGER_TYPES, *FLOAT_TYPES, "boolean")
#: The field listing which fields a document has (OpenSearch's ``_field_names``: ``exists``).
FIELD_NAMES = "_field_names"
ID = "_id"
#: The analyzer of text fields, registered on every tantivy index under this name.
ANALYZER = "labkit_standard"

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?")


class SearchError(LabkitError):
    """A request OpenSearch refuses: ``status`` and ``kind`` as its error body names them."""

    code = "SearchError"

    def __init__(self, status: int, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.kind = kind


def analyzer() -> tantivy.TextAnalyzer:
    """Text fields' analyzer: words split at what is not a letter or digit, lower-cased.

    Close to OpenSearch's ``standard`` analyzer (lower case, no stemming, no stop words,
    accents kept); unlike its Unicode word rules, ``don't`` and ``3.14`` are two tokens each.
    """
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .build()
    )


def flatten_mappings(properties: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"user": {"properties": {"name": ...}}}`` as ``{"user.name": "keyword"}``; a field's
    multi-fields (``"fields": {"keyword": {...}}``) are fields of their own, ``name.keyword``."""
    found: dict[str, str] = {}
    for name, spec in properties.items():
        spec = spec if isinstance(spec, dict) else {}
        inner = spec.get("properties")
        if isinstance(inner, dict) and "type" not in spec:
            found.update(flatten_mappings(inner, f"{prefix}{name}."))
            continue
        found[f"{prefix}{name}"] = str(spec.get("type", "object"))
        for sub, (kind, _) in multi_fields(spec).items():
            found[f"{prefix}{name}.{sub}"] = kind
    return found


def multi_fields(spec: dict[str, Any]) -> dict[str, tuple[str, int | None]]:
    """A field mapping's multi-fields: ``{sub-field: (type, ignore_above)}``."""
    fields = spec.get("fields") if isinstance(spec, dict) else None
    if not isinstance(fields, dict):
        return {}
    found: dict[str, tuple[str, int | None]] = {}
    for sub, sub_spec in fields.items():
        sub_spec = sub_spec if isinstance(sub_spec, dict) else {}
        above = sub_spec.get("ignore_above")
        found[str(sub)] = (str(sub_spec.get("type", "keyword")), int(above) if above else None)
    return found


def all_multi_fields(properties: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Every field's multi-fields by its dotted name (see :func:`multi_fields`)."""
    found: dict[str, dict[str, Any]] = {}
    for name, spec in properties.items():
        spec = spec if isinstance(spec, dict) else {}
        inner = spec.get("properties")
        if isinstance(inner, dict) and "type" not in spec:
            found.update(all_multi_fields(inner, f"{prefix}{name}."))
        elif multi_fields(spec):
            found[f"{prefix}{name}"] = multi_fields(spec)
    return found


#: What dynamic mapping gives a string that is not a date: ``text``, with a ``keyword``
#: multi-field of at most 256 characters
#: (https://docs.opensearch.org/latest/field-types/mappings/#dynamic-mapping).
DYNAMIC_STRING_KEYWORD = ("keyword", 256)


def leaves(source: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Every ``(dotted name, value)`` of a document, a list's values one by one, nulls left out."""
    found: list[tuple[str, Any]] = []
    for name, value in source.items():
        key = f"{prefix}{name}"
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict):
                found += leaves(item, f"{key}.")
            elif item is not None:
                found.append((key, item))
    return found


def dynamic_type(value: Any) -> str:
    """The type OpenSearch's dynamic mapping gives a first value (date detection included).

    A string becomes ``text`` (its ``keyword`` multi-field, :data:`DYNAMIC_STRING_KEYWORD`, is
    added by the engine), an ISO date ``date``.
    """
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        return "date"
    return "text"


def epoch_ms(value: Any, now: float | None = None) -> int:
    """A date as epoch milliseconds: a number is already milliseconds; an ISO string without a
    zone is UTC (OpenSearch's default); with ``now``, date math ``now-15m``, ``now/d``."""
    if isinstance(value, bool):
        raise ValueError(f"failed to parse date field [{value}]")
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    if now is not None and text.startswith("now"):
        return _date_math(text, now)
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if not _ISO_DATE.fullmatch(text):
        raise ValueError(f"failed to parse date field [{text}]")
    moment = datetime.fromisoformat(_iso_for_python(text))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1000)


def _iso_for_python(text: str) -> str:
    """An ISO 8601 date as Python 3.10's ``fromisoformat`` reads it: ``Z`` as ``+00:00``, a
    fraction of 6 digits, an offset with a colon (3.11 reads them all as they are)."""
    text = re.sub(r"Z$", "+00:00", text)
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)
    return re.sub(r"\.(\d+)", lambda m: "." + (m.group(1) + "000000")[:6], text)


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _date_math(text: str, now: float) -> int:
    found = re.fullmatch(r"now((?:[+-]\d+[smhdw])*)(?:/([smhd]))?", text)
    if not found:
        raise ValueError(f"failed to parse date math [{text}] (the sandbox knows now±N[smhdw]/u)")
    seconds = now
    for sign, number, unit in re.findall(r"([+-])(\d+)([smhdw])", found.group(1)):
        seconds += (1 if sign == "+" else -1) * int(number) * _UNITS[unit]
    if found.group(2):
        step = _UNITS[found.group(2)]
        seconds = math.floor(seconds / step) * step
    return round(seconds * 1000)


def date_string(ms: float) -> str:
    """Epoch milliseconds as OpenSearch prints a date (``2024-01-01T00:00:00.000Z``)."""
    moment = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=int(ms))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def typed(kind: str, value: Any, now: float | None = None) -> Any:
    """``value`` as the field type ``kind`` stores it; ``ValueError`` when it cannot be."""
    if kind in TEXT_TYPES or kind in KEYWORD_TYPES:
        if isinstance(value, bool):
            return "true" if value else "false"
        return value if isinstance(value, str) else str(value)
    if kind == "date":
        return epoch_ms(value, now)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise ValueError(f"Failed to parse value [{value}] as only [true] or [false] are allowed.")
    if kind in INTEGER_TYPES:
        if isinstance(value, bool):
            raise ValueError(f"Current token (VALUE_{str(value).upper()}) not numeric")
        number = float(value)
        if math.isnan(number) or math.isinf(number):
            raise ValueError(f'For input string: "{value}"')
        return int(number)  # OpenSearch truncates a decimal put in an integer field (coerce)
    if kind in FLOAT_TYPES:
        if isinstance(value, bool):
            raise ValueError(f"Current token (VALUE_{str(value).upper()}) not numeric")
        return float(value)
    return value


def add_field(builder: tantivy.SchemaBuilder, name: str, kind: str) -> None:
    """Declare field ``name`` of mapping type ``kind`` (nothing for types kept in _source)."""
    if kind in TEXT_TYPES:
        builder.add_text_field(name, tokenizer_name=ANALYZER, index_option="position")
    elif kind in KEYWORD_TYPES:
        builder.add_text_field(name, fast=True, tokenizer_name="raw", index_option="freq")
    elif kind in INTEGER_TYPES:
        builder.add_integer_field(name, indexed=True, fast=True)
    elif kind in FLOAT_TYPES:
        builder.add_float_field(name, indexed=True, fast=True)
    elif kind == "boolean":
        builder.add_boolean_field(name, indexed=True, fast=True)


def add_value(document: tantivy.Document, name: str, kind: str, value: Any) -> None:
    """Add a typed value (from :func:`typed`) to a tantivy document."""
    if kind in TEXT_TYPES or kind in KEYWORD_TYPES:
        document.add_text(name, value)
    elif kind in INTEGER_TYPES:
        document.add_integer(name, value)
    elif kind in FLOAT_TYPES:
        document.add_float(name, value)
    elif kind == "boolean":
        document.add_boolean(name, value)
