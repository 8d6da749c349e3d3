"""A DAX cluster's caches as HTML and as text: entries, TTL left, staleness, requests, latency.

Plain functions over the plain-dict form of a :class:`~.state.DaxSnapshot` (what the widget
syncs). Words and symbols carry every distinction, never colour: an entry that differs from its
table says ``✗ STALE`` and why, an item entry that agrees ``✓ fresh`` (a query entry ``✓ its
items unchanged``), a negative entry ``∅ absent``; a
request is ``● hit``, ``○ miss``, ``→ passed through``, ``✎ write-through`` or ``✗ error``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from labkit.views.base import (
    Column,
    Group,
    esc,
    lines_html,
    panel_html,
    panel_text,
    plural,
    snapshot_state,
    table_html,
    text_table,
)

Row = Mapping[str, Any]

#: How many recent requests the view lists.
RECENT_SHOWN = 12
#: How many entries of each cache the view lists (most recently used first).
ENTRIES_SHOWN = 40

OUTCOME_MARKS = {
    "hit": "● hit",
    "miss": "○ miss",
    "pass-through": "→ passed through",
    "write-through": "✎ write-through",
    "error": "✗ error",
}

_ENTRY_COLUMNS = (
    Column("entry", mono=True),
    Column("holds", mono=True),
    Column("TTL left"),
    Column("hits"),
    Column("from"),
    Column("vs the table now"),
)
_REQUEST_COLUMNS = (
    Column("lab time"),
    Column("operation"),
    Column("outcome"),
    Column("latency"),
    Column("what", mono=True),
)


def dax_state(snapshot: Any) -> dict[str, Any]:
    """A snapshot as the plain dict the widget keeps (``{}`` for none)."""
    return snapshot_state(snapshot)


def duration(seconds: float | None) -> str:
    """``4 min 10 s``, ``12 s``; ``no expiry`` for ``None``."""
    if seconds is None:
        return "no expiry"
    whole = round(seconds)
    if whole >= 60:
        return f"{whole // 60} min {whole % 60} s" if whole % 60 else f"{whole // 60} min"
    return f"{whole} s"


def latency(us: float) -> str:
    """``420 µs`` or ``5.3 ms``."""
    return f"{us:,.0f} µs" if us < 1000 else f"{us / 1000:.1f} ms"


def _bytes(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def entry_verdict(entry: Row) -> str:
    """``✗ STALE: why`` or ``✓ fresh`` (``∅`` marks a negative entry).

    A query entry that passes is ``✓ its items unchanged``: its items agree with the table, but
    an item that would newly match the query is not looked for.
    """
    mark = "∅ absent, " if entry["negative"] else ""
    if entry["stale"]:
        return f"{mark}✗ STALE: {entry['why']}"
    if entry["cache"] == "query":
        return f"{mark}✓ its items unchanged"
    return f"{mark}✓ fresh"


def _ttl_words(seconds: float) -> str:
    return "0 (never expires by time)" if seconds <= 0 else duration(seconds)


def heading(state: Row) -> str:
    """``DAX cluster cache · dax.t3.small × 1``."""
    return f"DAX cluster {state['name']}"


def subheading(state: Row) -> str:
    """Node type, lab time."""
    at = datetime.fromtimestamp(state["now"], tz=timezone.utc) if state["now"] else None
    when = f" · lab time {at:%H:%M:%S}" if at else ""
    return f"{state['node_type']} × {state['nodes']}{when}"


def misses(count: int) -> str:
    """``1 miss``, ``3 misses``."""
    return plural(count, "miss", "misses")


def summary_lines(state: Row) -> list[str]:
    """TTLs, memory, hits and misses, staleness, in words."""
    stale = sum(1 for e in state["entries"] if e["stale"])
    query_ttl = state["query_ttl"]
    query_words = "0 (not cached)" if query_ttl <= 0 else duration(query_ttl)
    return [
        f"Parameter group {state['parameter_group']}: item cache TTL "
        f"{_ttl_words(state['item_ttl'])}, query cache TTL {query_words}.",
        f"Item cache: {plural(state['item_hits'], 'hit')}, {misses(state['item_misses'])} · "
        f"query cache: {plural(state['query_hits'], 'hit')}, {misses(state['query_misses'])} · "
        f"{plural(state['evictions'], 'eviction')} (LRU).",
        f"Memory: {_bytes(state['used_bytes'])} of {_bytes(state['memory_bytes'])} used · "
        + (
            f"✗ {plural(stale, 'entry', 'entries')} STALE (differ from the table now)."
            if stale
            else "✓ no entry differs from its table now."
        ),
    ]


def _entry_groups(state: Row) -> list[Group]:
    groups = []
    for cache, title in (("item", "Item cache"), ("query", "Query cache")):
        entries = [e for e in state["entries"] if e["cache"] == cache]
        rows = tuple(
            (
                f"{e['table']}: {e['label']}",
                e["value"],
                duration(e["ttl_left"]),
                str(e["hits"]),
                e["source"],
                entry_verdict(e),
            )
            for e in entries[:ENTRIES_SHOWN]
        )
        if len(entries) > ENTRIES_SHOWN:
            stale = sum(1 for e in entries[ENTRIES_SHOWN:] if e["stale"])
            more = f"… {len(entries) - ENTRIES_SHOWN} less recently used entries not listed"
            rows += ((more + (f" ({stale} of them ✗ STALE)" if stale else ""), "", "", "", "", ""),)
        groups.append(Group(title, plural(len(entries), "entry", "entries"), rows))
    return groups


def _request_rows(requests: Sequence[Row]) -> tuple[tuple[str, ...], ...]:
    return tuple(
        (
            f"{datetime.fromtimestamp(r['at'], tz=timezone.utc):%H:%M:%S}",
            str(r["operation"]),
            OUTCOME_MARKS.get(r["outcome"], str(r["outcome"])),
            latency(r["latency_us"]),
            str(r["detail"]),
        )
        for r in requests[-RECENT_SHOWN:]
    )


def _request_groups(state: Row) -> list[Group]:
    requests = state["requests"]
    shown = min(len(requests), RECENT_SHOWN)
    return [Group("Recent requests", f"last {shown} of {len(requests)}", _request_rows(requests))]


def render_html(state: Row, *, notice: str = "", hint: str = "") -> str:
    """The cluster's caches as self-contained HTML."""
    body = lines_html(summary_lines(state))
    body += table_html(_ENTRY_COLUMNS, _entry_groups(state))
    if state["requests"]:
        body += table_html(_REQUEST_COLUMNS, _request_groups(state))
    else:
        body += f"<div>{esc('No request has reached this cluster yet.')}</div>"
    return panel_html(
        kind="dax",
        heading=heading(state),
        subheading=subheading(state),
        body=body,
        notice=notice,
        hint=hint,
    )


def render_text(state: Row, *, notice: str = "", hint: str = "") -> str:
    """The cluster's caches as plain text."""
    lines = [*summary_lines(state), ""]
    lines += text_table(_ENTRY_COLUMNS, _entry_groups(state), group_label="cache")
    lines.append("")
    if state["requests"]:
        lines += text_table(_REQUEST_COLUMNS, _request_groups(state))
    else:
        lines.append("No request has reached this cluster yet.")
    return panel_text(heading(state), lines, subheading=subheading(state), notice=notice, hint=hint)


__all__ = [
    "OUTCOME_MARKS",
    "dax_state",
    "duration",
    "entry_verdict",
    "latency",
    "render_html",
    "render_text",
]
