"""An MSK cluster's topic view: partitions, offsets, each group's lag, rebalances over lab time.

HTML for Jupyter and the same content as text; states are words and symbols, never colour alone
(a partition nobody in a group owns is marked "✗ unowned", lag "0 ✓" when caught up).
"""

from __future__ import annotations

from datetime import datetime, timezone

from labkit.errors import LabkitError
from labkit.services.kafka.state import KafkaSnapshot, clusters, snapshot
from labkit.views.base import (
    Column,
    Group,
    Panel,
    lines_html,
    panel_html,
    panel_text,
    plural,
    table_html,
    text_table,
)

PARTITION_COLUMNS = (
    Column("partition", mono=True),
    Column("leader"),
    Column("replicas (in sync)"),
    Column("log start"),
    Column("log end"),
    Column("records kept"),
)
GROUP_COLUMNS = (
    Column("partition", mono=True),
    Column("owner", mono=True),
    Column("committed"),
    Column("lag"),
)
MAX_REBALANCES = 8


class UnknownKafkaClusterError(LabkitError):
    """No MSK cluster of that name or ARN (or several, and none named)."""

    code = "UnknownKafkaCluster"


def _clock(at: float) -> str:
    return datetime.fromtimestamp(at, tz=timezone.utc).strftime("%H:%M:%S")


def _partition_groups(snap: KafkaSnapshot) -> list[Group]:
    topics: dict[str, list[tuple[str, ...]]] = {}
    for p in snap.partitions:
        topics.setdefault(p.topic, []).append(
            (
                f"{p.topic}-{p.index}",
                f"broker {p.leader}",
                ", ".join(map(str, p.replicas)),
                str(p.log_start),
                str(p.log_end),
                str(p.log_end - p.log_start),
            )
        )
    return [
        Group(name, plural(len(rows), "partition"), tuple(rows)) for name, rows in topics.items()
    ]


def _lag(lag: int | None) -> str:
    if lag is None:
        return "— (nothing committed)"
    return "0 ✓" if lag == 0 else f"{lag} behind"


def _group_groups(snap: KafkaSnapshot) -> list[Group]:
    out = []
    for g in snap.groups:
        rows = tuple(
            (
                f"{p.topic}-{p.index}",
                p.owner or "✗ unowned",
                "—" if p.committed is None else str(p.committed),
                _lag(p.lag),
            )
            for p in g.partitions
        )
        title = f"group {g.group_id}: {g.state}, generation {g.generation}"
        out.append(Group(title, plural(len(g.members), "member"), rows))
    return out


def _rebalance_lines(snap: KafkaSnapshot) -> list[str]:
    lines = []
    for g in snap.groups:
        for r in g.rebalances[-MAX_REBALANCES:]:
            owned = "; ".join(f"{m}: {', '.join(tps) or 'nothing'}" for m, tps in r.assignment)
            lines.append(
                f"{_clock(r.at)} {g.group_id} generation {r.generation} "
                f"({plural(r.members, 'member')}): {r.reason}" + (f" -> {owned}" if owned else "")
            )
    return lines


def _heading(snap: KafkaSnapshot) -> str:
    kind = "MSK Serverless" if snap.cluster_type == "SERVERLESS" else "MSK cluster"
    return (
        f"{kind} {snap.name} · {plural(len(snap.brokers), 'broker')} · lab time {_clock(snap.at)}"
    )


def render_html(snap: KafkaSnapshot) -> str:
    """The cluster's topics and groups as HTML."""
    parts = _partition_groups(snap)
    body = table_html(PARTITION_COLUMNS, parts) if parts else lines_html(["No topics yet."])
    groups = _group_groups(snap)
    if groups:
        body += table_html(GROUP_COLUMNS, groups)
    rebalances = _rebalance_lines(snap)
    if rebalances:
        body += lines_html(["Rebalances over lab time:", *rebalances])
    body += lines_html(["Brokers:", *snap.brokers])
    return panel_html(kind="kafka-cluster", heading=_heading(snap), subheading=snap.arn, body=body)


def render_text(snap: KafkaSnapshot) -> str:
    """The cluster's topics and groups as plain text."""
    parts = _partition_groups(snap)
    lines = (
        text_table(PARTITION_COLUMNS, parts, group_label="topic") if parts else ["No topics yet."]
    )
    groups = _group_groups(snap)
    if groups:
        lines += text_table(GROUP_COLUMNS, groups, group_label="consumer group")
    rebalances = _rebalance_lines(snap)
    if rebalances:
        lines += ["Rebalances over lab time:", *(f"  {line}" for line in rebalances)]
    lines += ["Brokers:", *(f"  {b}" for b in snap.brokers)]
    return panel_text(_heading(snap), lines, subheading=snap.arn)


class KafkaView(Panel):
    """An MSK cluster at one moment, shown as HTML in Jupyter and as text elsewhere."""

    def __init__(self, snap: KafkaSnapshot) -> None:
        super().__init__(snap, render_html, render_text)


def kafka_view(cluster: str | None = None) -> KafkaView:
    """The view of ``cluster`` (its name or ARN; the only cluster when there is one)."""
    found = clusters()
    if cluster is None:
        if len(found) != 1:
            names = ", ".join(c.cluster_name for c in found)
            raise UnknownKafkaClusterError(
                "Name the MSK cluster: the sandbox has "
                + (f"{len(found)} clusters ({names})." if found else "none yet.")
            )
        return KafkaView(snapshot(found[0]))
    for c in found:
        if cluster in (c.arn, c.cluster_name):
            return KafkaView(snapshot(c))
    names = ", ".join(c.cluster_name for c in found) or "none"
    raise UnknownKafkaClusterError(f"There is no MSK cluster {cluster!r} (clusters: {names}).")


__all__ = ["KafkaView", "UnknownKafkaClusterError", "kafka_view", "render_html", "render_text"]
