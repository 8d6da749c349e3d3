"""Read-only snapshots of OpenSearch indexes (documents, refresh state, the last search's hits).

Plain dicts; moto's backends are read through :mod:`labkit.sandbox.backends` (none is created by
looking). The engine is the one :mod:`.patch` keeps on moto's domain object.
"""

from __future__ import annotations

from typing import Any

from labkit.errors import LabkitError
from labkit.sandbox.backends import DEFAULT_ACCOUNT_ID, existing
from labkit.services.opensearch.sim_engine import Engine

ENGINE = "_labkit_engine"
#: Hits of the last search the view lists.
HITS_SHOWN = 10


class UnknownIndexError(LabkitError):
    """No OpenSearch index of that name (or more than one, and none named)."""

    code = "UnknownIndex"


def _engines(account_id: str) -> list[tuple[str, str, Engine]]:
    found = []
    for region, backend in existing("opensearch", account_id):
        for name, domain in sorted(getattr(backend, "domains", {}).items()):
            engine = domain.__dict__.get(ENGINE)
            if isinstance(engine, Engine):
                found.append((region, str(name), engine))
    return found


def index_snapshot(
    index: str | None, now: float, account_id: str = DEFAULT_ACCOUNT_ID
) -> dict[str, Any]:
    """An index (``domain/index`` or ``index``; the only one when ``None``) at ``now``."""
    known = [
        (region, domain, engine, name)
        for region, domain, engine in _engines(account_id)
        for name in sorted(engine.indexes)
    ]
    labels = [f"{domain}/{name}" for _, domain, _, name in known]
    if index is None:
        if len(known) != 1:
            raise UnknownIndexError(
                "Name the index: the sandbox has "
                + (f"{len(known)} indexes ({', '.join(labels)})." if known else "none yet.")
            )
        chosen = known[0]
    else:
        matches = [k for k, label in zip(known, labels, strict=True) if index in (label, k[3])]
        if len(matches) != 1:
            raise UnknownIndexError(
                f"There is no single OpenSearch index {index!r} (indexes: "
                f"{', '.join(labels) or 'none'})."
            )
        chosen = matches[0]
    region, domain, engine, name = chosen
    found = engine.indexes[name]
    total, searchable = engine.counts(name, now)
    every = found.refresh_every
    next_refresh = None
    if every:
        ticks = int((now - found.created) // every) + 1
        next_refresh = found.created + ticks * every
    last = found.last_search
    return {
        "domain": domain,
        "region": region,
        "index": name,
        "mappings": dict(found.mappings),
        "documents": total,
        "searchable": searchable,
        "refresh_interval": every,
        "next_refresh_in": (next_refresh - now) if next_refresh is not None else None,
        "last_query": last.get("query"),
        "last_total": last.get("total"),
        "last_hits": [
            (h["_id"], h["_score"], h["_source"]) for h in (last.get("hits") or [])[:HITS_SHOWN]
        ],
    }
