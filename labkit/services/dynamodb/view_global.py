"""A global table's replicas as HTML and as text: status, reachability, replication in flight,
and the updates last writer wins threw away.

A section for the table view (``lab.table_view``) to include: :func:`global_html` and
:func:`global_text` take a :class:`~labkit.services.dynamodb.sim_replication.GlobalTableSnapshot`
(from :func:`labkit.services.dynamodb.patch_global.state_global`). Every state is said in words
with a symbol (``✓ serving``, ``✗ Region down``, ``⏳ 2 writes on the way``), never by colour alone.
"""

from __future__ import annotations

from labkit.services.dynamodb.sim_replication import GlobalTableSnapshot, ReplicaSnapshot
from labkit.views.base import (
    Column,
    Group,
    lines_html,
    panel_html,
    panel_text,
    plural,
    table_html,
    text_table,
)

COLUMNS = (
    Column("Region", mono=True),
    Column("ReplicaStatus"),
    Column("serving"),
    Column("items"),
    Column("replication in"),
    Column("last lag"),
)


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 10:
        return f"{value:.2f} s"
    return f"{value:,.0f} s"


def _serving(replica: ReplicaSnapshot) -> str:
    return "✓ serving" if replica.reachable else "✗ Region down"


def _incoming(replica: ReplicaSnapshot) -> str:
    if not replica.pending:
        return "✓ caught up"
    text = f"⏳ {plural(replica.pending, 'write')} on the way"
    if replica.parked:
        text += f" ({replica.parked} waiting for the Region)"
    if replica.oldest_pending_age is not None:
        text += f", oldest {_seconds(replica.oldest_pending_age)} old"
    return text


def rows(snapshot: GlobalTableSnapshot) -> tuple[tuple[str, ...], ...]:
    """One row per replica, in words."""
    return tuple(
        (
            r.region,
            r.status,
            _serving(r),
            str(r.item_count),
            _incoming(r),
            _seconds(r.last_lag),
        )
        for r in snapshot.replicas
    )


def lost_lines(snapshot: GlobalTableSnapshot, *, most: int = 5) -> list[str]:
    """The latest updates last writer wins discarded, one sentence each."""
    out = [
        f"✗ lost update: item {lost.key}, written in {lost.lost_from}, discarded in {lost.region}"
        " (a later write won)"
        for lost in snapshot.lost[-most:]
    ]
    if len(snapshot.lost) > most:
        out.insert(0, f"… {len(snapshot.lost) - most} earlier lost updates not shown")
    return out


def _heading(snapshot: GlobalTableSnapshot) -> tuple[str, str]:
    heading = f"Global table {snapshot.table}"
    sub = (
        f"version {snapshot.version} · {plural(len(snapshot.replicas), 'replica')} · "
        f"writes usually replicate within {snapshot.typical_lag:g} s"
    )
    return heading, sub


def global_html(snapshot: GlobalTableSnapshot) -> str:
    """The replicas section as HTML."""
    heading, sub = _heading(snapshot)
    group = Group("replicas", plural(len(snapshot.replicas), "Region"), rows(snapshot))
    body = table_html(COLUMNS, [group])
    lost = lost_lines(snapshot)
    if lost:
        body += lines_html(lost)
    down = [r.region for r in snapshot.replicas if not r.reachable]
    notice = (
        f"{', '.join(down)} down: calls there fail; the other replicas keep serving" if down else ""
    )
    return panel_html(
        kind="dynamodb-global",
        heading=heading,
        subheading=sub,
        body=body,
        notice=notice,
    )


def global_text(snapshot: GlobalTableSnapshot) -> str:
    """The replicas section as plain text."""
    heading, sub = _heading(snapshot)
    group = Group("replicas", plural(len(snapshot.replicas), "Region"), rows(snapshot))
    down = [r.region for r in snapshot.replicas if not r.reachable]
    notice = (
        f"{', '.join(down)} down: calls there fail; the other replicas keep serving" if down else ""
    )
    return panel_text(
        heading,
        [*text_table(COLUMNS, [group]), *lost_lines(snapshot)],
        subheading=sub,
        notice=notice,
    )


__all__ = ["COLUMNS", "global_html", "global_text", "lost_lines", "rows"]
