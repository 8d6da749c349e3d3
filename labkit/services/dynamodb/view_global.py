"""A global table's replicas as HTML and as text: status, reachability, replication in flight,
and the updates last writer wins threw away.

A section for the table view (``lab.table_view``) to include: :func:`global_html` and
:func:`global_text` take a :class:`~labkit.services.dynamodb.sim_replication.GlobalTableSnapshot`
(from :func:`labkit.services.dynamodb.patch_global.state_global`). Every state is said in words
with a symbol (``✓ serving``, ``✗ Region down``, ``⏳ 2 writes on the way``), never by colour alone.

The table view's widget finds this section by name (its "Replicas" hook): :func:`replica_state`
reads a JSON-able state for its synced trait, :func:`render_replicas_html` and
:func:`render_replicas_text` draw it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from labkit.services.dynamodb.sim_replication import (
    GlobalTableSnapshot,
    LostUpdate,
    ReplicaSnapshot,
)
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

if TYPE_CHECKING:
    from labkit.sandbox.session import Sandbox

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


# -- the table view's "Replicas" hook ------------------------------------------------------------
def to_state(snapshot: GlobalTableSnapshot) -> dict[str, Any]:
    """A snapshot as JSON-able values (lists, not tuples)."""
    state = asdict(snapshot)
    state["replicas"] = list(state["replicas"])
    state["lost"] = [
        {**lost, "lost_stamp": list(lost["lost_stamp"]), "kept_stamp": list(lost["kept_stamp"])}
        for lost in state["lost"]
    ]
    return state


def from_state(state: dict[str, Any]) -> GlobalTableSnapshot:
    """The snapshot back from :func:`to_state`."""
    return GlobalTableSnapshot(
        table=str(state["table"]),
        version=str(state["version"]),
        at=float(state["at"]),
        replicas=tuple(ReplicaSnapshot(**r) for r in state["replicas"]),
        lost=tuple(
            LostUpdate(
                **{
                    **lost,
                    "lost_stamp": tuple(lost["lost_stamp"]),
                    "kept_stamp": tuple(lost["kept_stamp"]),
                }
            )
            for lost in state["lost"]
        ),
        typical_lag=float(state["typical_lag"]),
    )


def replica_state(sandbox: Sandbox, table_name: str) -> dict[str, Any]:
    """The replicas of ``table_name`` as the table view keeps them (``{}``: not global)."""
    from labkit.services.dynamodb.patch_global import state_global

    snapshot = state_global(table_name, sandbox=sandbox)
    return to_state(snapshot) if snapshot is not None else {}


def render_replicas_html(state: dict[str, Any]) -> str:
    """The table view's "Replicas" section as HTML."""
    return global_html(from_state(state))


def render_replicas_text(state: dict[str, Any]) -> list[str]:
    """The table view's "Replicas" section as text lines."""
    return global_text(from_state(state)).splitlines()


__all__ = [
    "COLUMNS",
    "from_state",
    "global_html",
    "global_text",
    "lost_lines",
    "render_replicas_html",
    "render_replicas_text",
    "replica_state",
    "rows",
    "to_state",
]
