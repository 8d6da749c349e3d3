"""How a search's hits come back: ``sort`` by a field and ``_source`` filtering, as OpenSearch.

``sort`` by one field (``"ts"``, ``[{"ts": "desc"}]``, ``[{"ts": {"order": "desc"}}]``) orders
the hits by that field's fast (columnar) values in tantivy; as in OpenSearch such hits carry
``"sort": [value]`` (a date in epoch milliseconds) and a ``null`` ``_score``; ``_score`` alone
is the default order (https://docs.opensearch.org/latest/search-plugins/searching-data/sort/).
``_source`` may be ``false``, a field, a list of fields or ``{"includes", "excludes"}``, with
``*`` wildcards over dotted paths.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from labkit.services.opensearch.sim_fields import INDEXED_TYPES, TEXT_TYPES, SearchError


@dataclass(frozen=True)
class Sort:
    """A search's order: by score, best first (``field`` ``None``), or by one field."""

    field: str | None = None
    descending: bool = False


def sort_of(body: dict[str, Any], mappings: dict[str, str]) -> Sort:
    """The order a ``sort`` asks for (OpenSearch's default: by score)."""
    raw = body.get("sort")
    if raw is None:
        return Sort()
    entries = raw if isinstance(raw, list) else [raw]
    keys: list[tuple[str, str | None]] = []
    for entry in entries:
        if isinstance(entry, str):
            keys.append((entry, None))
        elif isinstance(entry, dict) and len(entry) == 1:
            ((name, how),) = entry.items()
            order = how.get("order") if isinstance(how, dict) else how
            keys.append((str(name), str(order).lower() if order is not None else None))
        else:
            raise SearchError(400, "parsing_exception", f"malformed sort {entry!r}")
    # Sorting on the score after a field changes nothing here: tantivy orders ties by document.
    fields = [k for k in keys if k[0] not in ("_score", "_doc")]
    if not fields:
        return Sort()  # by score, best first (an ascending score is not served here)
    if len(fields) > 1 or keys[0][0] in ("_score", "_doc"):
        raise SearchError(
            400,
            "illegal_argument_exception",
            f"the sandbox sorts by one field (then by score), not by {[k[0] for k in keys]}",
        )
    name, order = fields[0]
    if order not in (None, "asc", "desc"):
        raise SearchError(400, "parsing_exception", f"[sort] order must be asc or desc: {order}")
    kind = mappings.get(name)
    if kind in TEXT_TYPES:
        raise SearchError(
            400,
            "illegal_argument_exception",
            f"Text fields are not optimised for operations that require per-document field "
            f"data like aggregations and sorting, so these operations are disabled by default. "
            f"Please use a keyword field instead (sort on [{name}]).",
        )
    if kind not in INDEXED_TYPES:
        raise SearchError(
            400, "query_shard_exception", f"No mapping found for [{name}] in order to sort on"
        )
    return Sort(name, order == "desc")


def source_filter(spec: Any, source: dict[str, Any]) -> dict[str, Any] | None:
    """``source`` as ``_source`` (``spec``) asks to show it; ``None``: not shown."""
    if spec is None or spec is True:
        return source
    if spec is False:
        return None
    if isinstance(spec, (str, list)):
        includes, excludes = _patterns(spec), []
    elif isinstance(spec, dict):
        includes = _patterns(spec.get("includes", spec.get("include", [])))
        excludes = _patterns(spec.get("excludes", spec.get("exclude", [])))
    else:
        raise SearchError(400, "parsing_exception", f"malformed _source {spec!r}")
    return _kept(source, "", includes, excludes)


def _patterns(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value or []]


def _kept(
    value: dict[str, Any], prefix: str, includes: list[str], excludes: list[str]
) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for name, item in value.items():
        path = f"{prefix}{name}"
        if any(fnmatch.fnmatchcase(path, p) for p in excludes):
            continue
        whole = not includes or any(
            fnmatch.fnmatchcase(path, p) or path.startswith(p + ".") for p in includes
        )
        if isinstance(item, dict):
            inner = _kept(item, f"{path}.", [] if whole else includes, excludes)
            if inner or (whole and not item):
                kept[name] = inner
        elif whole:
            kept[name] = item
    return kept
