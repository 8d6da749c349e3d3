"""An OpenSearch index as HTML and as text: documents, refresh state, the last search's hits.

Plain functions over the dict of :func:`.state.index_snapshot`. Words and symbols carry every
distinction, never colour: documents not yet refreshed read ``⏳ N waiting for the next
refresh``, all searchable ``✓ all searchable``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from labkit.services.opensearch.state import index_snapshot
from labkit.views.base import (
    Column,
    Group,
    Panel,
    lines_html,
    panel_html,
    panel_text,
    table_html,
    text_table,
)

Row = Mapping[str, Any]
_HIT_COLUMNS = (Column("_id", mono=True), Column("_score"), Column("_source", mono=True))


def _summary(snap: Row) -> list[str]:
    waiting = snap["documents"] - snap["searchable"]
    every = snap["refresh_interval"]
    refresh = (
        "refresh off (refresh_interval -1): only _refresh makes documents searchable"
        if every is None
        else f"refresh every {every:g} s; next in {snap['next_refresh_in']:.1f} s of lab time"
    )
    state = f"⏳ {waiting} waiting for the next refresh" if waiting else "✓ all searchable"
    fields = ", ".join(f"{f}: {t}" for f, t in snap["mappings"].items()) or "none yet"
    lines = [
        f"{snap['documents']} documents, {snap['searchable']} searchable · {state}",
        refresh,
        f"Mappings: {fields}",
    ]
    if snap["last_query"] is not None:
        lines.append(f"Last search: {json.dumps(snap['last_query'])} → {snap['last_total']} hits")
    else:
        lines.append("No search yet.")
    return lines


def _hits(snap: Row) -> list[Group]:
    rows = tuple(
        # A search sorted by a field has no scores (None), as in OpenSearch.
        (str(doc_id), f"{score:.4f}" if score is not None else "-", json.dumps(source)[:80])
        for doc_id, score, source in snap["last_hits"]
    )
    return [Group("last search", f"top {len(rows)} of {snap['last_total']}", rows)] if rows else []


def index_html(snap: Row) -> str:
    """The index as HTML."""
    body = lines_html(_summary(snap))
    if snap["last_hits"]:
        body += table_html(_HIT_COLUMNS, _hits(snap))
    return panel_html(
        kind="opensearch-index",
        heading=f"OpenSearch index {snap['index']}",
        subheading=f"domain {snap['domain']} · {snap['region']}",
        body=body,
    )


def index_text(snap: Row) -> str:
    """The text twin of :func:`index_html`."""
    lines = _summary(snap)
    if snap["last_hits"]:
        lines += text_table(_HIT_COLUMNS, _hits(snap))
    return panel_text(
        f"OpenSearch index {snap['index']}",
        lines,
        subheading=f"domain {snap['domain']} · {snap['region']}",
    )


class SearchView(Panel):
    """An index at one moment, shown as HTML in Jupyter and as text elsewhere."""

    def __init__(self, snap: Row) -> None:
        super().__init__(snap, index_html, index_text)


def search_view(index: str | None, now: float) -> SearchView:
    """The view of an index (``domain/index`` or its name; the only one when ``None``)."""
    return SearchView(index_snapshot(index, now))


__all__ = ["SearchView", "index_html", "index_text", "search_view"]
