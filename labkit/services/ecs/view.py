"""The cluster view: capacity providers and their scaling, instances and their free capacity,
tasks and their state, targets and their health, as HTML and as plain text. States are written
out with a symbol beside them (never colour alone): ``● RUNNING``, ``◌ PROVISIONING``,
``○ STOPPED``, ``✓ healthy``, ``✗ unhealthy``, ``… initial``.
"""

from __future__ import annotations

from datetime import datetime, timezone

from labkit.errors import LabkitError
from labkit.services.ecs.state import ClusterSnapshot, cluster_names, snapshot
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

_SYMBOL = {
    "RUNNING": "● RUNNING",
    "STOPPED": "○ STOPPED",
    "PROVISIONING": "◌ PROVISIONING",
    "healthy": "✓ healthy",
    "unhealthy": "✗ unhealthy",
    "initial": "… initial",
}
#: The newest scaling changes the view lists.
MAX_SCALING_LINES = 12

INSTANCE_COLUMNS = (
    Column("instance", mono=True),
    Column("zone"),
    Column("CPU free / total"),
    Column("memory free / total (MiB)"),
    Column("tasks"),
)
PROVIDER_COLUMN = Column("capacity provider")
TASK_COLUMNS = (
    Column("task", mono=True),
    Column("state"),
    Column("address", mono=True),
    Column("ports"),
    Column("exit codes"),
    Column("stopped reason"),
    Column("Fargate cost so far"),
)
TARGET_COLUMNS = (
    Column("target", mono=True),
    Column("health"),
    Column("reason"),
    Column("requests"),
)


def _instance_columns(snap: ClusterSnapshot) -> tuple[Column, ...]:
    """The instance table's columns: with a capacity provider column when one launched any."""
    if any(i.provider for i in snap.instances):
        return (*INSTANCE_COLUMNS, PROVIDER_COLUMN)
    return INSTANCE_COLUMNS


def _groups(snap: ClusterSnapshot) -> tuple[list[Group], list[Group], list[Group]]:
    with_provider = any(i.provider for i in snap.instances)
    instances = [
        Group(
            "EC2 container instances",
            plural(len(snap.instances), "instance"),
            tuple(
                (
                    i.ec2_id,
                    i.zone,
                    f"{i.free_cpu} / {i.cpu}",
                    f"{i.free_memory} / {i.memory}",
                    str(i.tasks),
                    *((i.provider or "-",) if with_provider else ()),
                )
                for i in snap.instances
            ),
        )
    ]
    by_group: dict[str, list[tuple[str, ...]]] = {}
    for t in snap.tasks:
        on = f"capacity provider {t.provider}" if t.provider else t.launch_type
        by_group.setdefault(f"{t.group} ({on})", []).append(
            (
                t.task_id[:8],
                _SYMBOL.get(t.status, t.status),
                t.address,
                t.ports,
                t.exit_codes or "-",
                t.stopped_reason or "-",
                f"${t.cost:.6f}" if t.launch_type == "FARGATE" else "(instances billed)",
            )
        )
    tasks = [Group(name, _task_count(rows), tuple(rows)) for name, rows in by_group.items()]
    by_target: dict[str, list[tuple[str, ...]]] = {}
    for tg in snap.targets:
        by_target.setdefault(tg.group, []).append(
            (tg.target, _SYMBOL.get(tg.state, tg.state), tg.reason or "-", str(tg.served))
        )
    targets = [
        Group(
            name,
            plural(sum(r[1].endswith(" healthy") for r in rows), "healthy target"),
            tuple(rows),
        )
        for name, rows in by_target.items()
    ]
    return instances, tasks, targets


def _task_count(rows: list[tuple[str, ...]]) -> str:
    running = plural(sum(r[1].endswith("RUNNING") for r in rows), "running task")
    waiting = sum(r[1].endswith("PROVISIONING") for r in rows)
    return f"{running}, {waiting} provisioning" if waiting else running


def _provider_lines(snap: ClusterSnapshot) -> list[str]:
    """Each capacity provider in words: its group, instances, waiting tasks, the metric against
    the target, and its scaling changes over lab time."""
    lines: list[str] = []
    for p in snap.providers:
        metric = (
            f"CapacityProviderReservation {p.reservation:g}% against a target of {p.target}%"
            if p.reservation is not None
            else f"no CapacityProviderReservation yet (target {p.target}%)"
        )
        scaling = metric if p.managed_scaling else "managed scaling off"
        protection = (
            f"managed termination protection on ({p.protected} protected)"
            if p.termination_protection
            else "managed termination protection off"
        )
        lines.append(
            f"Capacity provider {p.name}: group {p.group}, desired {p.desired}, "
            f"{plural(p.instances, 'instance')} ({p.registered} registered), "
            f"{p.waiting} task{'s' if p.waiting != 1 else ''} PROVISIONING; {scaling}; "
            f"{protection}"
        )
        lines += [
            f"  {datetime.fromtimestamp(c.at, timezone.utc):%H:%M:%S} {c.direction} "
            f"{c.old} → {c.new} instances at {c.reservation:g}% ({c.cause})"
            for c in p.changes[-MAX_SCALING_LINES:]
        ]
    return lines


def _heading(snap: ClusterSnapshot) -> str:
    running = sum(t.status == "RUNNING" for t in snap.tasks)
    waiting = sum(t.status == "PROVISIONING" for t in snap.tasks)
    more = f", {waiting} provisioning" if waiting else ""
    return f"ECS cluster {snap.cluster}: {plural(running, 'running task')}{more}"


def _scaling_lines(snap: ClusterSnapshot) -> list[str]:
    """Each auto scaling change as a line: lab time, service, old → new count, why (words, so
    the direction never rests on colour or an arrow alone)."""
    return [
        f"{datetime.fromtimestamp(s.at, timezone.utc):%H:%M:%S} {s.service}: {s.direction} "
        f"{s.old} → {s.new} tasks by {s.policy} ({s.cause})"
        for s in snap.scaling[-MAX_SCALING_LINES:]
    ]


def render_html(snap: ClusterSnapshot, *, notice: str = "", hint: str = "") -> str:
    """The cluster as HTML (``notice`` and ``hint``: a live view's lines)."""
    instances, tasks, targets = _groups(snap)
    body = ""
    if snap.providers:
        body += lines_html(_provider_lines(snap))
    if snap.instances:
        body += table_html(_instance_columns(snap), instances)
    body += table_html(TASK_COLUMNS, tasks) if tasks else lines_html(["No tasks yet."])
    if targets:
        body += table_html(TARGET_COLUMNS, targets)
    if snap.scaling:
        body += lines_html(["Scaling over lab time:", *_scaling_lines(snap)])
    if snap.events:
        body += lines_html(["Recent service events:", *snap.events])
    return panel_html(
        kind="ecs-cluster",
        heading=_heading(snap),
        subheading=snap.region,
        body=body,
        notice=notice,
        hint=hint,
    )


def render_text(snap: ClusterSnapshot, *, notice: str = "", hint: str = "") -> str:
    """The cluster as plain text (``notice`` and ``hint``: a live view's lines)."""
    instances, tasks, targets = _groups(snap)
    lines: list[str] = _provider_lines(snap)
    if snap.instances:
        lines += text_table(_instance_columns(snap), instances, group_label="instances")
    lines += text_table(TASK_COLUMNS, tasks, group_label="tasks") if tasks else ["No tasks yet."]
    if targets:
        lines += text_table(TARGET_COLUMNS, targets, group_label="target group")
    if snap.scaling:
        lines += ["Scaling over lab time:", *(f"  {line}" for line in _scaling_lines(snap))]
    if snap.events:
        lines += ["Recent service events:", *(f"  {e}" for e in snap.events)]
    return panel_text(_heading(snap), lines, subheading=snap.region, notice=notice, hint=hint)


class ClusterView(Panel):
    """A cluster at one moment, shown as HTML in Jupyter and as text elsewhere."""

    def __init__(self, snap: ClusterSnapshot) -> None:
        super().__init__(snap, render_html, render_text)


class UnknownClusterError(LabkitError):
    """No ECS cluster of that name (or more than one, and none named)."""

    code = "UnknownCluster"


def cluster_view(cluster: str | None, now: float) -> ClusterView:
    """The view of ``cluster`` (its name or ARN; the only cluster when there is one)."""
    name = resolve_cluster(cluster, now)
    snap = snapshot(name, now)
    assert snap is not None  # resolve_cluster found it
    return ClusterView(snap)


def resolve_cluster(cluster: str | None, now: float) -> str:
    """The cluster ``cluster`` names (name or ARN; the only one when ``None``), as given."""
    names = cluster_names()
    if cluster is None:
        if len(names) != 1:
            raise UnknownClusterError(
                "Name the cluster: the sandbox has "
                + (f"{len(names)} clusters ({', '.join(names)})." if names else "none yet.")
            )
        cluster = names[0]
    if snapshot(cluster, now) is None:
        raise UnknownClusterError(
            f"There is no ECS cluster {cluster!r} (clusters: {', '.join(names) or 'none'})."
        )
    return cluster


__all__ = [
    "ClusterView",
    "UnknownClusterError",
    "cluster_view",
    "render_html",
    "render_text",
    "resolve_cluster",
]
