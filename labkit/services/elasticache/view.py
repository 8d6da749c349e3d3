"""An ElastiCache cluster's cache as HTML and as text: keys, TTL left, hits and misses, evictions.

Plain functions over a snapshot from :func:`labkit.services.elasticache.state.snapshot`. Words
and symbols carry every distinction, never colour: a key with a TTL shows ``42 s left``, one
without ``∞ no TTL``; the key next to be evicted under an LRU policy is marked ``← evicted next``.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    table_html,
    text_table,
)

Row = Mapping[str, Any]

#: How many keys the view lists (most recently used first).
KEYS_SHOWN = 40

_COLUMNS = (
    Column("key", mono=True),
    Column("type"),
    Column("value", mono=True),
    Column("TTL left"),
    Column("uses"),
    Column("note"),
)


def _bytes(n: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def ttl_words(seconds: float | None) -> str:
    """A key's time to live in words."""
    if seconds is None:
        return "∞ no TTL"
    return f"{seconds:.0f} s left" if seconds < 3600 else f"{seconds / 3600:.1f} h left"


def heading(state: Row) -> str:
    """The view's heading line."""
    return f"ElastiCache {state['name']}"


def subheading(state: Row) -> str:
    """Lab time and the eviction policy."""
    at = datetime.fromtimestamp(state["at"], tz=timezone.utc)
    return f"{at:%Y-%m-%d %H:%M:%S} UTC lab time · maxmemory-policy {state['policy']}"


def summary_lines(state: Row) -> list[str]:
    """Memory, hits and misses, evictions, AUTH, in sentences."""
    ratio = state["hit_ratio"]
    reads = state["hits"] + state["misses"]
    lines = [
        f"Memory: {_bytes(state['used_memory'])} of {_bytes(state['maxmemory'])} maxmemory "
        f"(estimated), {plural(len(state['keys']), 'key')}.",
        f"Reads: {plural(state['hits'], 'hit')}, {plural(state['misses'], 'miss', 'misses')}"
        + (f" (hit ratio {ratio:.0%} of {reads})." if ratio is not None else "."),
        f"Evictions: {state['evictions']}"
        + (f" (latest: {', '.join(state['evicted_keys'])})." if state["evicted_keys"] else "."),
        "AUTH: a token is required." if state["auth"] else "AUTH: none (any client may connect).",
    ]
    lines += _topology_lines(state)
    return lines


def _topology_lines(state: Row) -> list[str]:
    """Replicas (how far behind each is) and cluster-mode shards, when there are any."""
    lines: list[str] = []
    replication = state.get("replication")
    if replication:
        behind = ", ".join(
            f"{r['name']} {plural(r['pending'], 'write')} behind" for r in replication["replicas"]
        )
        lines.append(
            f"Replication: this node is the {replication['role']}; primary "
            f"{replication['primary']}; replicas apply its writes {replication['lag']:g} s "
            f"(lab time) later: {behind}."
        )
    shards = state.get("shards") or []
    if shards:
        parts = ", ".join(
            f"{s['id']} slots {s['slots']} ({plural(s['keys'], 'key')}"
            + (", shown here)" if s["here"] else ")")
            for s in shards
        )
        lines.append(f"Cluster mode: {plural(len(shards), 'shard')} over 16384 slots: {parts}.")
    return lines


def _next_victim(state: Row) -> str | None:
    policy = str(state["policy"])
    if not policy.endswith("-lru") or state["used_memory"] <= state["maxmemory"] * 0.9:
        return None
    keys = state["keys"]
    if policy.startswith("volatile-"):
        keys = [k for k in keys if k["ttl_left"] is not None]
    return min(keys, key=lambda k: k["last_used"])["key"] if keys else None


def _groups(state: Row) -> list[Group]:
    victim = _next_victim(state)
    keys = state["keys"]
    rows = tuple(
        (
            k["key"],
            k["type"],
            k["value"],
            ttl_words(k["ttl_left"]),
            str(k["uses"]),
            "← evicted next" if k["key"] == victim else "",
        )
        for k in keys[:KEYS_SHOWN]
    )
    if len(keys) > KEYS_SHOWN:
        rows += ((f"… {len(keys) - KEYS_SHOWN} less recently used keys not listed",) + ("",) * 5,)
    return [Group("Keys, most recently used first", plural(len(keys), "key"), rows)]


def render_html(state: Row, *, notice: str = "", hint: str = "") -> str:
    """The cache as self-contained HTML."""
    body = lines_html(summary_lines(state))
    if state["keys"]:
        body += table_html(_COLUMNS, _groups(state))
    else:
        body += f"<div>{esc('The cache holds no key.')}</div>"
    return panel_html(
        kind="elasticache",
        heading=heading(state),
        subheading=subheading(state),
        body=body,
        notice=notice,
        hint=hint,
    )


def render_text(state: Row, *, notice: str = "", hint: str = "") -> str:
    """The cache as plain text."""
    lines = [*summary_lines(state), ""]
    if state["keys"]:
        lines += text_table(_COLUMNS, _groups(state))
    else:
        lines.append("The cache holds no key.")
    return panel_text(heading(state), lines, subheading=subheading(state), notice=notice, hint=hint)
