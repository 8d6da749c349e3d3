"""What an ECS cluster holds right now: a read-only snapshot for the cluster view and checks.

The ECS patch keeps its running state on moto's objects (``labkit_runs`` and
``labkit_instances`` on the ECS backend, ``labkit_targets`` on each ALB target group); this module
reads them, with moto's own clusters and services, through :mod:`labkit.sandbox.backends`.
Reading never creates a backend or changes anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labkit.sandbox.backends import DEFAULT_ACCOUNT_ID, existing


@dataclass(frozen=True)
class InstanceInfo:
    """A container instance: its capacity and what is free."""

    ec2_id: str
    zone: str
    cpu: int
    free_cpu: int
    memory: int
    free_memory: int
    tasks: int
    #: The capacity provider whose Auto Scaling group launched it ("" when none).
    provider: str = ""


@dataclass(frozen=True)
class TaskInfo:
    """A task: where it runs and how it stands (or how it ended)."""

    task_id: str
    group: str
    launch_type: str
    status: str
    address: str
    ports: str
    exit_codes: str
    stopped_reason: str
    started: float
    stopped: float | None
    cost: float
    #: The capacity provider it runs on or waits for ("" with a launch type).
    provider: str = ""


@dataclass(frozen=True)
class TargetInfo:
    """A registered ALB target of one of the cluster's services."""

    group: str
    target: str
    state: str
    reason: str
    served: int


@dataclass(frozen=True)
class ScalingInfo:
    """One auto scaling change of a service's desired count (oldest first in a snapshot)."""

    at: float
    service: str
    policy: str
    direction: str
    old: int
    new: int
    cause: str


@dataclass(frozen=True)
class CapacityChange:
    """One change of a capacity provider group's desired capacity (managed scaling)."""

    at: float
    direction: str
    old: int
    new: int
    reservation: float
    cause: str


@dataclass(frozen=True)
class ProviderInfo:
    """A capacity provider of the cluster and its Auto Scaling group.

    Attributes:
        name: The capacity provider.
        group: Its Auto Scaling group's name.
        desired: The group's desired capacity.
        instances: Instances in the group (booting ones too).
        registered: Those registered as container instances of the cluster.
        protected: Those protected from scale in.
        waiting: Tasks waiting in ``PROVISIONING`` for it.
        managed_scaling: Whether managed scaling is on.
        target: Its ``targetCapacity`` (percent).
        termination_protection: Whether managed termination protection is on.
        reservation: The last ``CapacityProviderReservation`` (``None`` before the first).
        changes: Its scaling changes, oldest first.
    """

    name: str
    group: str
    desired: int
    instances: int
    registered: int
    protected: int
    waiting: int
    managed_scaling: bool
    target: int
    termination_protection: bool
    reservation: float | None
    changes: tuple[CapacityChange, ...] = ()


@dataclass(frozen=True)
class ClusterSnapshot:
    """One cluster at one lab moment."""

    cluster: str
    region: str
    now: float
    instances: tuple[InstanceInfo, ...]
    tasks: tuple[TaskInfo, ...]
    targets: tuple[TargetInfo, ...]
    events: tuple[str, ...]
    scaling: tuple[ScalingInfo, ...] = ()
    providers: tuple[ProviderInfo, ...] = ()


def _backend(cluster: str, account: str) -> tuple[str, Any] | None:
    for region, backend in existing("ecs", account):
        if cluster in backend.clusters or any(c.arn == cluster for c in backend.clusters.values()):
            return region, backend
    return None


def cluster_names(account: str = DEFAULT_ACCOUNT_ID) -> list[str]:
    """Every cluster of the account, in every Region that has one."""
    return [name for _region, backend in existing("ecs", account) for name in backend.clusters]


def snapshot(cluster: str, now: float, account: str = DEFAULT_ACCOUNT_ID) -> ClusterSnapshot | None:
    """The cluster named (or with the ARN) ``cluster``, or ``None`` when there is none."""
    found = _backend(cluster, account)
    if found is None:
        return None
    region, backend = found
    name = next((n for n, c in backend.clusters.items() if cluster in (n, c.arn)), cluster)
    kept: dict[str, Any] = getattr(backend, "labkit_instances", {}) or {}
    runs = [r for r in (getattr(backend, "labkit_runs", {}) or {}).values()]
    providers = _providers(backend, name, account, runs)
    owner = {i: p.name for p, ids in providers for i in ids}
    instances = []
    for ci in backend.container_instances.get(name, {}).values():
        inst = kept.get(ci.container_instance_arn)
        resources = {r["name"]: r for r in ci.registered_resources}
        cpu = int(resources["CPU"]["integerValue"])
        memory = int(resources["MEMORY"]["integerValue"])
        instances.append(
            InstanceInfo(
                ci.ec2_instance_id,
                str(ci.attributes.get("ecs.availability-zone", "")),
                cpu,
                inst.free_cpu if inst else cpu,
                memory,
                inst.free_memory if inst else memory,
                inst.task_count if inst else 0,
                owner.get(ci.ec2_instance_id, ""),
            )
        )
    tasks = []
    for run in runs:
        task = run.task
        if task.cluster_name != name:
            continue
        if run.launch_type == "FARGATE":
            ports = ", ".join(
                str(c.spec.container_port) for c in run.containers if c.spec.container_port
            )
        else:
            ports = ", ".join(f"{h}→{c}" for c, h in sorted(run.host_ports.items()))
        codes = ", ".join(
            f"{c.spec.name}={c.exit_code}" for c in run.containers if c.exit_code is not None
        )
        tasks.append(
            TaskInfo(
                run.task_id,
                str(task.group),
                run.launch_type,
                (
                    "PROVISIONING"
                    if getattr(run, "waiting", False) and run.running
                    else "RUNNING"
                    if run.running
                    else "STOPPED"
                ),
                run.address,
                ports,
                codes,
                str(task.stopped_reason or ""),
                run.started,
                run.stopped,
                run.cost(now),
                str(getattr(run, "provider", "") or ""),
            )
        )
    targets = []
    groups = {arn for run in runs if run.task.cluster_name == name for arn, _i, _p in run.targets}
    groups |= {
        str(lb.get("targetGroupArn"))
        for service in backend.services.values()
        if service.cluster_name == name
        for lb in service.load_balancers or []
    }
    for _region, elb in existing("elbv2", account):
        for arn, group in elb.target_groups.items():
            if arn not in groups:
                continue
            for state in (getattr(group, "labkit_targets", {}) or {}).values():
                targets.append(
                    TargetInfo(
                        str(group.name),
                        f"{state.target_id}:{state.port}",
                        state.state,
                        str(state.description or ""),
                        int(state.served),
                    )
                )
    events = tuple(
        str(e.get("message", ""))
        for service in backend.services.values()
        if service.cluster_name == name
        for e in service.events[:5]
    )
    scaling = sorted(
        (
            ScalingInfo(a.at, str(service.name), a.policy, a.direction, a.old, a.new, a.cause)
            for service in backend.services.values()
            if service.cluster_name == name
            for a in getattr(service, "labkit_scaling", None) or ()
        ),
        key=lambda s: s.at,
    )
    return ClusterSnapshot(
        name,
        region,
        now,
        tuple(instances),
        tuple(sorted(tasks, key=lambda t: (t.status != "RUNNING", t.started))),
        tuple(targets),
        events,
        tuple(scaling),
        tuple(p for p, _ids in providers),
    )


def _providers(
    backend: Any, cluster: str, account: str, runs: list[Any]
) -> list[tuple[ProviderInfo, set[str]]]:
    """The cluster's Auto Scaling group capacity providers, with their groups' instance ids."""
    names = next(
        (list(c.capacity_providers or []) for n, c in backend.clusters.items() if n == cluster), []
    )
    groups = {
        name: group
        for _region, scaling in existing("autoscaling", account)
        for name, group in scaling.autoscaling_groups.items()
    }
    registered = {
        ci.ec2_instance_id for ci in backend.container_instances.get(cluster, {}).values()
    }
    found = []
    for name in names:
        provider = backend.capacity_providers.get(name)
        if provider is None:
            continue  # FARGATE and FARGATE_SPOT: no group
        body = provider.auto_scaling_group_provider or {}
        arn = str(body.get("autoScalingGroupArn", ""))
        group = groups.get(arn.split("autoScalingGroupName/", 1)[-1])
        states = [
            s
            for s in (group.instance_states if group is not None else [])
            if getattr(s.instance, "state", "running") not in ("terminated", "shutting-down")
        ]
        ids = {s.instance.id for s in states}
        scaling = body.get("managedScaling") or {}
        info = ProviderInfo(
            name=name,
            group=group.name if group is not None else "(group deleted)",
            desired=int(group.desired_capacity or 0) if group is not None else 0,
            instances=len(states),
            registered=len(ids & registered),
            protected=sum(1 for s in states if s.protected_from_scale_in),
            waiting=sum(
                1
                for r in runs
                if getattr(r, "waiting", False)
                and r.running
                and r.provider == name
                and r.task.cluster_name == cluster
            ),
            managed_scaling=scaling.get("status") == "ENABLED",
            target=int(scaling.get("targetCapacity") or 100),
            termination_protection=body.get("managedTerminationProtection") == "ENABLED",
            reservation=getattr(provider, "labkit_metric", None),
            changes=tuple(
                CapacityChange(a.at, a.direction, a.old, a.new, a.reservation, a.cause)
                for a in getattr(provider, "labkit_activities", None) or ()
            ),
        )
        found.append((info, ids))
    return found


__all__ = [
    "CapacityChange",
    "ClusterSnapshot",
    "InstanceInfo",
    "ProviderInfo",
    "ScalingInfo",
    "TargetInfo",
    "TaskInfo",
    "cluster_names",
    "snapshot",
]
