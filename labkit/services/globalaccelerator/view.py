"""An accelerator as HTML and as text: endpoint groups with their health, and where viewers go.

Plain functions over a snapshot kept as plain dicts (what the accelerator widget syncs), made from
:mod:`labkit.services.globalaccelerator.state` snapshots by :func:`accelerator_state`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from labkit.views.base import (
    SMALL,
    Column,
    Group,
    esc,
    notice_html,
    panel_html,
    plain,
    plural,
    table_html,
    text_table,
)

Row = Mapping[str, Any]


def accelerator_state(snapshot: Any) -> dict[str, Any]:
    """An :class:`~labkit.services.globalaccelerator.state.AcceleratorSnapshot` as plain values."""
    state: dict[str, Any] = plain(snapshot)
    return state


GROUP_COLUMNS = (
    Column("Region"),
    Column("traffic dial"),
    Column("health checks"),
    Column("notices a failure within"),
    Column("endpoints (weight, health)", mono=True),
)
ROUTE_COLUMNS = (
    Column("viewer"),
    Column("enters at"),
    Column("goes to"),
    Column("why"),
    Column("answers"),
    Column("via accelerator"),
    Column("direct internet"),
)

_HEALTH = {"HEALTHY": "✓ healthy", "UNHEALTHY": "✕ unhealthy", "INITIAL": "◌ initial"}
_REASONS = {
    "nearest": "nearest Region",
    "traffic-dial": "traffic dial",
    "failover": "failover (nearest unhealthy)",
    "fail-open": "fail open (nothing healthy)",
    "refused": "refused: no listener",
}


def accelerator_heading(state: Row) -> str:
    """``Global Accelerator web: 2 static IPs 75.2.0.1, 99.83.0.1 (DEPLOYED)``."""
    ips = ", ".join(state["ip_addresses"])
    enabled = "" if state["enabled"] else ", disabled"
    return (
        f"Global Accelerator {state['name']}: {plural(len(state['ip_addresses']), 'static IP')} "
        f"{ips} ({state['status']}{enabled})"
    )


def _group_groups(state: Row) -> list[Group]:
    groups = []
    for listener in state["listeners"]:
        rows = tuple(
            (
                g["region"],
                f"{g['traffic_dial']:g} %",
                f"{g['health_check']}, every {g['interval']} s, {g['threshold']} in a row",
                f"{g['interval'] * g['threshold']} s",
                "; ".join(
                    f"{e['endpoint_id']} ({e['weight']}, {_HEALTH.get(e['health'], e['health'])})"
                    for e in g["endpoints"]
                )
                or "none",
            )
            for g in listener["groups"]
        )
        title = f"{listener['protocol']} listener, port {listener['ports']}"
        affinity = "" if listener["client_affinity"] == "NONE" else ", client affinity SOURCE_IP"
        groups.append(Group(title + affinity, plural(len(rows), "endpoint group"), rows))
    return groups


def _route_groups(state: Row) -> list[Group]:
    rows = tuple(
        (
            r["viewer"],
            r["edge"] or "–",
            f"{r['region']} {r['endpoint_id']}".strip() or "nowhere",
            _REASONS.get(r["reason"], r["reason"]),
            "✓ yes" if r["healthy"] else "✕ no (times out)",
            f"{r['latency_ms']:.0f} ms" if r["latency_ms"] else "–",
            f"{r['direct_ms']:.0f} ms" if r["direct_ms"] else "–",
        )
        for r in state["routes"]
    )
    return [Group("where a connection goes now", plural(len(rows), "viewer"), rows)] if rows else []


def accelerator_html(state: Row, *, notice: str = "", hint: str = "") -> str:
    """An accelerator as self-contained HTML: endpoint groups with health, and routes."""
    body = notice_html("⚠", notice) if notice else ""
    body += f'<div style="{SMALL}">DNS name {esc(state["dns_name"])}</div>'
    groups = _group_groups(state)
    if groups:
        body += table_html(GROUP_COLUMNS, groups)
    else:
        body += (
            '<div style="margin-top:4px">No listener yet: create one with create_listener.</div>'
        )
    if state["routes"]:
        body += table_html(ROUTE_COLUMNS, _route_groups(state))
    if hint:
        body += f'<div style="{SMALL};margin-top:4px">{esc(hint)}</div>'
    sub = f"lab time {datetime.fromtimestamp(state['now'], tz=timezone.utc):%H:%M:%S} UTC"
    return panel_html(
        kind="accelerator", heading=accelerator_heading(state), subheading=sub, body=body
    )


def accelerator_text(state: Row, *, notice: str = "", hint: str = "") -> str:
    """The same as aligned plain text."""
    sub = f"lab time {datetime.fromtimestamp(state['now'], tz=timezone.utc):%H:%M:%S} UTC"
    lines = [f"{accelerator_heading(state)} · {sub}", f"DNS name {state['dns_name']}"]
    if notice:
        lines.insert(1, f"⚠ {notice}")
    groups = _group_groups(state)
    if groups:
        lines.extend(text_table(GROUP_COLUMNS, groups, group_label="listener"))
    else:
        lines.append("No listener yet: create one with create_listener.")
    if state["routes"]:
        lines.append("")
        lines.extend(text_table(ROUTE_COLUMNS, _route_groups(state)))
    if hint:
        lines.append(hint)
    return "\n".join(lines)


__all__ = ["accelerator_html", "accelerator_state", "accelerator_text"]
