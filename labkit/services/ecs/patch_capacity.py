"""ECS capacity providers that scale their Auto Scaling group, on the lab clock.

moto 5.2.5 keeps capacity providers as records: any group ARN and any managed scaling values
pass, a strategy places tasks nowhere in particular, and nothing scales. While a sandbox runs,
labkit:

- **CreateCapacityProvider / UpdateCapacityProvider** refuse what AWS refuses: a name starting
  with ``aws``, ``ecs`` or ``fargate``; an Auto Scaling group that does not exist or that another
  capacity provider uses; managed scaling values out of range; managed termination protection on
  a group whose new instances are not protected from scale in (AWS's message);
- **PutClusterCapacityProviders / CreateCluster** refuse an unknown provider, a provider with
  managed scaling that another cluster uses, and a default strategy AWS refuses
  (:func:`~labkit.services.ecs.sim_capacity.parse_strategy`);
- **RunTask / CreateService** with a ``capacityProviderStrategy`` (or, without a launch type, the
  cluster's default strategy) give each task to a provider by base and weight and place it on
  that provider's instances; a task with no room waits in ``PROVISIONING`` instead of failing;
- **managed scaling**, once a minute of lab time for each provider associated with a cluster:
  the ``CapacityProviderReservation`` metric (published to CloudWatch under
  ``AWS/ECS/ManagedScaling`` with ``CapacityProviderName`` and ``ClusterName``) drives the group's
  desired capacity (:func:`~labkit.services.ecs.sim_capacity.decide`); moto's EC2 launches the
  instances, each registers as a container instance of the cluster :data:`BOOT_SECONDS` later
  (CPU and memory of its instance type) and the waiting tasks are placed on it;
- **scale-in** terminates empty instances; with managed termination protection ECS lifts the
  scale-in protection of empty instances only, so instances running tasks stay; without it the
  group picks by its own termination policy (moto: oldest first) and the tasks of a terminated
  instance stop ("Host EC2 (instance i-...) terminated.").

Each change of the desired capacity is a :class:`CapacityActivity` on the provider
(``labkit_activities``). Sources: see :mod:`labkit.services.ecs.sim_capacity`, and
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/asg-capacity-providers.html (a task
that cannot be placed stays in ``PROVISIONING``; managed termination protection needs instance
scale-in protection on the group), https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCapacityProvider.html
(reserved name prefixes).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from moto.ecs.exceptions import EcsClientException, InvalidParameterException
from moto.ecs.models import EC2ContainerServiceBackend

from labkit.services.ecs import sim_capacity
from labkit.services.ecs.patch import (
    TaskRun,
    _stop,
    instances_of,
    runs_of,
    settle,
)
from labkit.services.ecs.sim_capacity import (
    CapacityError,
    ManagedScaling,
    Picture,
    StrategyItem,
    parse_strategy,
)
from labkit.services.ecs.sim_placement import Instance, place

if TYPE_CHECKING:
    from labkit.clock import Clock
    from labkit.sandbox.session import Sandbox

#: Seconds between managed scaling's looks (ECS publishes the metric once a minute).
PERIOD = 60
#: Not an AWS number: lab seconds from an instance's launch to its container instance
#: registering (the ECS-optimized AMI booting and its agent connecting).
BOOT_SECONDS = 60
NAMESPACE = "AWS/ECS/ManagedScaling"
METRIC = "CapacityProviderReservation"
RESERVED_PREFIXES = ("aws", "ecs", "fargate")

#: The sandbox this patch serves (a dict changed in place: see :mod:`labkit.services.ecs.patch`).
_SERVING: dict[str, Sandbox] = {}


def _clock() -> Clock:
    return _SERVING["sandbox"].clock


@dataclass(frozen=True)
class CapacityActivity:
    """One change of a capacity provider group's desired capacity.

    Attributes:
        at: Lab time (epoch seconds).
        provider: The capacity provider.
        direction: ``scale-out`` or ``scale-in``.
        old: Desired capacity before.
        new: Desired capacity after.
        reservation: ``CapacityProviderReservation`` that minute (percent).
        cause: What happened, in words.
    """

    at: float
    provider: str
    direction: str
    old: int
    new: int
    reservation: float
    cause: str


def activities(provider: Any) -> list[CapacityActivity]:
    """A moto capacity provider's scaling changes so far, oldest first."""
    return list(getattr(provider, "labkit_activities", ()))


# -- the Auto Scaling group ---------------------------------------------------------------------
def _group_name(arn_or_name: str) -> str:
    return arn_or_name.split("autoScalingGroupName/", 1)[-1] if arn_or_name else ""


def group_of(backend: Any, provider: Any) -> Any | None:
    """The provider's Auto Scaling group (moto's), or ``None`` when it is gone."""
    from moto.autoscaling.models import autoscaling_backends

    arn = str((provider.auto_scaling_group_provider or {}).get("autoScalingGroupArn", ""))
    region = arn.split(":")[3] if arn.startswith("arn:") else backend.region_name
    groups = autoscaling_backends[backend.account_id][region].autoscaling_groups
    return groups.get(_group_name(arn))


def instance_size(instance_type: str) -> tuple[int, int]:
    """CPU units and memory (MiB) an instance of ``instance_type`` registers (moto's EC2
    instance type table: vCPUs x 1024, and its memory).

    Simplified: a real agent registers a little less memory than the type's nominal figure
    (what the operating system leaves free); the sandbox registers the nominal figure.
    """
    from moto.ec2.models.instance_types import INSTANCE_TYPES

    found = INSTANCE_TYPES.get(instance_type) or INSTANCE_TYPES["t3.medium"]
    return (
        int(found["VCpuInfo"]["DefaultVCpus"]) * 1024,
        int(found["MemoryInfo"]["SizeInMiB"]),
    )


def _live_ids(group: Any) -> list[str]:
    return [
        s.instance.id
        for s in group.instance_states
        if getattr(s.instance, "state", "running") not in ("terminated", "shutting-down")
    ]


def provider_instances(backend: Any, cluster: str, provider_name: str) -> list[Instance]:
    """The cluster's active container instances in ``provider_name``'s group."""
    provider = backend.capacity_providers.get(provider_name)
    group = group_of(backend, provider) if provider is not None else None
    if group is None:
        return []
    ids = set(_live_ids(group))
    return [i for i in instances_of(backend, cluster) if i.ec2_id in ids]


def cluster_of(backend: Any, provider: Any) -> Any | None:
    """The cluster the provider is associated with (the first, when several)."""
    for cluster in backend.clusters.values():
        if provider.name in (cluster.capacity_providers or []):
            return cluster
    return None


# -- checks of the requests --------------------------------------------------------------------
def _refuse(failed: CapacityError) -> InvalidParameterException:
    return InvalidParameterException(failed.message)


def resolve(
    backend: Any, cluster_str: str, launch_type: str | None, strategy: Any
) -> tuple[str, list[StrategyItem] | None]:
    """The launch type and EC2 capacity provider strategy a RunTask or CreateService uses.

    A given strategy, or without a launch type the cluster's default one; Fargate providers
    mean the Fargate launch type (no strategy returned); neither means ``EC2``.
    """
    if launch_type and strategy:
        raise InvalidParameterException(
            "Specify either Launch Type or Capacity Provider Strategy, but not both."
        )
    if launch_type:
        return str(launch_type), None
    cluster = backend._get_cluster(cluster_str)
    items = strategy or cluster.default_capacity_provider_strategy or []
    if not items:
        return "EC2", None
    try:
        parsed = parse_strategy(items, cluster.capacity_providers or [], default=not strategy)
    except CapacityError as failed:
        raise _refuse(failed) from None
    if all(i.provider in sim_capacity.FARGATE_PROVIDERS for i in parsed):
        return "FARGATE", None
    return "EC2", parsed


def _check_provider(backend: Any, name: str, asg: dict[str, Any], creating: bool) -> None:
    if creating and name.lower().startswith(RESERVED_PREFIXES):
        raise InvalidParameterException(
            f"The capacity provider name '{name}' is not valid: a name cannot be prefixed with "
            '"aws", "ecs", or "fargate".'
        )
    if creating and name in backend.capacity_providers:
        raise InvalidParameterException(f"The capacity provider '{name}' already exists.")
    try:
        ManagedScaling.parse(asg.get("managedScaling"))
    except CapacityError as failed:
        raise _refuse(failed) from None
    if not creating:
        return
    arn = str(asg.get("autoScalingGroupArn") or "")
    probe: Any = type("Probe", (), {"auto_scaling_group_provider": asg})()
    group = group_of(backend, probe)
    if group is None:
        raise InvalidParameterException(
            f"The specified Auto Scaling group ARN '{arn}' is not valid: no Auto Scaling group "
            f"{_group_name(arn)!r} exists in this account and Region. Create the group first "
            "and use its ARN."
        )
    for other in backend.capacity_providers.values():
        if group_of(backend, other) is group:
            raise InvalidParameterException(
                f"The specified Auto Scaling group is already in use by capacity provider "
                f"'{other.name}'. Specify a different Auto Scaling group and try again."
            )
    if str(asg.get("managedTerminationProtection", "DISABLED")) == "ENABLED" and not (
        group.new_instances_protected_from_scale_in
        and all(s.protected_from_scale_in for s in group.instance_states)
    ):
        raise InvalidParameterException(
            "The managed termination protection setting for the capacity provider is invalid. "
            "To enable managed termination protection for a capacity provider, the Auto Scaling "
            "group must have instance protection from scale in enabled."
        )


def _check_association(
    backend: Any, cluster_name: str, providers: list[str] | None, default: list[Any] | None
) -> None:
    for name in providers or []:
        if name in sim_capacity.FARGATE_PROVIDERS:
            continue
        provider = backend.capacity_providers.get(name)
        if provider is None:
            raise InvalidParameterException(
                f"The specified capacity provider '{name}' does not exist. Specify a valid "
                "capacity provider and try again."
            )
        other = cluster_of(backend, provider)
        scaling = ManagedScaling.parse(provider.auto_scaling_group_provider.get("managedScaling"))
        if other is not None and other.name != cluster_name and scaling.enabled:
            raise InvalidParameterException(
                f"The specified capacity provider '{name}' is already associated with cluster "
                f"'{other.name}': a capacity provider with managed scaling turned on can be "
                "associated with one cluster only."
            )
    if default:
        try:
            parse_strategy(default, providers or [], default=True)
        except CapacityError as failed:
            raise _refuse(failed) from None


def _check_removal(backend: Any, cluster: Any, keeping: list[str]) -> None:
    """A provider that tasks run on (or wait for), or that a service's strategy names, cannot
    leave the cluster."""
    for name in cluster.capacity_providers or []:
        if name in keeping:
            continue
        used = any(
            r.running and r.provider == name and r.task.cluster_name == cluster.name
            for r in runs_of(backend).values()
        ) or any(
            s.cluster_name == cluster.name
            and s.status == "ACTIVE"
            and any(i.provider == name for i in getattr(s, "labkit_capacity", None) or ())
            for s in backend.services.values()
        )
        if used:
            raise InvalidParameterException(
                f"The specified capacity provider is in use and cannot be removed. ({name})"
            )


# -- managed scaling ---------------------------------------------------------------------------
def _publish(backend: Any, provider: Any, cluster: str, value: float) -> None:
    from moto.cloudwatch.models import cloudwatch_backends

    stamp = datetime.fromtimestamp(_clock().timestamp, tz=timezone.utc).replace(tzinfo=None)
    cloudwatch_backends[backend.account_id][backend.region_name].put_metric_data(
        NAMESPACE,
        [
            {
                "MetricName": METRIC,
                "Value": value,
                "Unit": "Percent",
                "Timestamp": stamp,
                "Dimensions": [
                    {"Name": "CapacityProviderName", "Value": provider.name},
                    {"Name": "ClusterName", "Value": cluster},
                ],
            }
        ],
    )


def _waiting(backend: Any, cluster: str, provider: str) -> list[TaskRun]:
    return [
        r
        for r in runs_of(backend).values()
        if r.waiting and r.running and r.provider == provider and r.task.cluster_name == cluster
    ]


def place_waiting(backend: Any, cluster: str, provider: str) -> int:
    """Start the tasks waiting for ``provider`` that now fit on its instances (oldest first);
    how many started."""
    started = 0
    for run in _waiting(backend, cluster, provider):
        instances = provider_instances(backend, cluster, provider)
        service = run.service
        placed = place(
            instances,
            run.need,
            strategy=(getattr(service, "labkit_strategy", None) or ()) if service else (),
            constraints=(getattr(service, "labkit_constraints", None) or ()) if service else (),
        )
        if placed.instance is not None:
            settle(run, placed.instance)
            started += 1
    return started


def _register(backend: Any, provider: Any, instance_id: str) -> None:
    """The instance's ECS agent registers it with the provider's cluster (after booting)."""
    cluster = cluster_of(backend, provider)
    group = group_of(backend, provider)
    if backend.capacity_providers.get(provider.name) is not provider or cluster is None:
        return
    if group is None or instance_id not in _live_ids(group):
        return  # terminated before it booted
    provider.labkit_registered.add(instance_id)
    members = backend.container_instances.get(cluster.name, {}).values()
    if any(c.ec2_instance_id == instance_id for c in members):
        return  # registered already (by hand)
    ci = backend.register_container_instance(cluster.name, instance_id)
    cpu, memory = instance_size(str(ci.attributes.get("ecs.instance-type", "")))
    for resources in (ci.registered_resources, ci.remaining_resources):
        for resource in resources:
            if resource["name"] == "CPU":
                resource["integerValue"] = cpu
            elif resource["name"] == "MEMORY":
                resource["integerValue"] = memory
    ci.capacity_provider_name = provider.name
    place_waiting(backend, cluster.name, provider.name)


def _forget_instance(backend: Any, cluster: str, ec2_id: str) -> None:
    """An instance the group terminated: its tasks stop and its container instance goes."""
    for run in list(runs_of(backend).values()):
        if run.running and run.instance is not None and run.instance.ec2_id == ec2_id:
            _stop(run, f"Host EC2 (instance {ec2_id}) terminated.", "TerminationNotice")
    for ci in list(backend.container_instances.get(cluster, {}).values()):
        if ci.ec2_instance_id == ec2_id:
            ci.running_tasks_count = 0
            with contextlib.suppress(Exception):
                backend.deregister_container_instance(cluster, ci.container_instance_arn, True)
            kept = getattr(backend, "labkit_instances", None) or {}
            kept.pop(ci.container_instance_arn, None)


def _boot(backend: Any, provider: Any, ec2_id: str, now: float) -> None:
    """An instance launched at ``now`` registers :data:`BOOT_SECONDS` later."""
    provider.labkit_launched[ec2_id] = now
    _clock().call_at(
        now + BOOT_SECONDS,
        functools.partial(_register, backend, provider, ec2_id),
        label=f"ecs agent on {ec2_id}",
    )


def _set_capacity(backend: Any, provider: Any, group: Any, cluster: str, new: int) -> None:
    before = set(_live_ids(group))
    group.autoscaling_backend.set_desired_capacity(group.name, new)
    after = set(_live_ids(group))
    now = _clock().timestamp
    for ec2_id in sorted(after - before):
        _boot(backend, provider, ec2_id, now)
    for ec2_id in sorted(before - after):
        _forget_instance(backend, cluster, ec2_id)


def _protect(backend: Any, provider: Any, group: Any, cluster: str, release: int) -> int:
    """Managed termination protection: instances running tasks stay protected; ECS lifts the
    protection of up to ``release`` empty ones (newest first). How many it lifted."""
    busy = {i.ec2_id for i in provider_instances(backend, cluster, provider.name) if i.task_count}
    registered = {i.ec2_id for i in provider_instances(backend, cluster, provider.name)}
    lifted = 0
    for state in reversed(group.instance_states):
        empty = state.instance.id in registered and state.instance.id not in busy
        if empty and lifted < release:
            state.protected_from_scale_in = False
            lifted += 1
        else:
            state.protected_from_scale_in = True
    return lifted


def tick(backend: Any, provider: Any) -> None:
    """One minute of managed scaling for ``provider`` (see the module docstring)."""
    if backend.capacity_providers.get(provider.name) is not provider:
        provider.labkit_event.cancel()  # deleted, or gone with lab.reset()
        return
    cluster = cluster_of(backend, provider)
    group = group_of(backend, provider)
    if cluster is None or group is None:
        return
    body = provider.auto_scaling_group_provider or {}
    scaling = ManagedScaling.parse(body.get("managedScaling"))
    place_waiting(backend, cluster.name, provider.name)
    if not scaling.enabled:
        return
    now = _clock().timestamp
    ids = _live_ids(group)
    for ec2_id in ids:
        if ec2_id not in provider.labkit_launched:
            # Launched by someone else (the group's own desired capacity, set by hand): its
            # agent registers it all the same.
            _boot(backend, provider, ec2_id, now)
    instances = provider_instances(backend, cluster.name, provider.name)
    cpu, memory = instance_size(str(group.instance_type or ""))
    picture = Picture(
        instances=len(ids),
        busy=sum(1 for i in instances if i.task_count),
        waiting=tuple(
            (r.need.cpu, r.need.memory) for r in _waiting(backend, cluster.name, provider.name)
        ),
        instance_cpu=cpu,
        instance_memory=memory,
        warming=any(
            i not in provider.labkit_registered
            or now - provider.labkit_launched.get(i, -math.inf) < scaling.warmup
            for i in ids
        ),
        minimum=int(group.min_size or 0),
        maximum=int(group.max_size or 0),
    )
    metric = sim_capacity.reservation(sim_capacity.needed(picture, scaling), picture.instances)
    provider.labkit_below = provider.labkit_below + 1 if metric < scaling.target else 0
    provider.labkit_metric = metric
    _publish(backend, provider, cluster.name, metric)
    _, decision = sim_capacity.decide(picture, scaling, provider.labkit_below)
    if decision is None:
        return
    new = decision.new
    managed = str(body.get("managedTerminationProtection", "DISABLED")) == "ENABLED"
    if decision.direction == sim_capacity.SCALE_IN and managed:
        new = decision.old - _protect(backend, provider, group, cluster.name, decision.old - new)
        if new == decision.old:
            return
    waiting = len(picture.waiting)
    cause = (
        f"{waiting} task{'s' if waiting != 1 else ''} waiting in PROVISIONING"
        if decision.direction == sim_capacity.SCALE_OUT
        else f"below the target for {provider.labkit_below} minutes"
    )
    _set_capacity(backend, provider, group, cluster.name, new)
    provider.labkit_activities.append(
        CapacityActivity(now, provider.name, decision.direction, decision.old, new, metric, cause)
    )


def _watch(backend: Any, provider: Any) -> None:
    provider.labkit_activities = []
    provider.labkit_launched = {}
    provider.labkit_registered = set()
    provider.labkit_below = 0
    provider.labkit_metric = None
    provider.labkit_event = _clock().every(
        PERIOD, lambda: tick(backend, provider), label=f"ecs managed scaling {provider.name}"
    )


# -- install -----------------------------------------------------------------------------------
def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Capacity providers that scale, while ``sandbox`` runs."""
    _SERVING["sandbox"] = sandbox
    stack.callback(_SERVING.pop, "sandbox", None)
    cls = EC2ContainerServiceBackend
    create_provider = cls.create_capacity_provider
    update_provider = cls.update_capacity_provider
    put_providers = cls.put_cluster_capacity_providers
    delete_provider = cls.delete_capacity_provider
    create_cluster = cls.create_cluster

    def create_capacity_provider(
        self: Any, name: str, asg_details: dict[str, Any], tags: Any
    ) -> Any:
        _check_provider(self, name, asg_details or {}, creating=True)
        provider = create_provider(self, name, asg_details, tags)
        _watch(self, provider)
        return provider

    def update_capacity_provider(self: Any, name_or_arn: str, asg_provider: dict[str, Any]) -> Any:
        provider = self._get_provider(name_or_arn)
        if provider is None:
            raise InvalidParameterException(
                f"The specified capacity provider '{name_or_arn}' does not exist."
            )
        merged = {
            **(provider.auto_scaling_group_provider.get("managedScaling") or {}),
            **((asg_provider or {}).get("managedScaling") or {}),
        }
        _check_provider(self, provider.name, {"managedScaling": merged}, creating=False)
        return update_provider(self, name_or_arn, asg_provider)

    def put_cluster_capacity_providers(
        self: Any, cluster_name: str, providers: Any, default: Any
    ) -> Any:
        cluster = self._get_cluster(cluster_name)
        _check_association(self, cluster.name, providers, default)
        _check_removal(self, cluster, providers or [])
        return put_providers(self, cluster_name, providers, default)

    def delete_capacity_provider(self: Any, name_or_arn: str) -> Any:
        # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeleteCapacityProvider.html:
        # FARGATE and FARGATE_SPOT "are reserved and can't be deleted", and "Only capacity
        # providers that aren't associated with a cluster can be deleted". moto deleted either,
        # and answered an unknown name with an internal error.
        name = str(name_or_arn).rsplit("/", 1)[-1]
        if name in sim_capacity.FARGATE_PROVIDERS:
            raise InvalidParameterException(
                f"The {name} capacity provider is reserved and can't be deleted: disassociate it "
                "from the cluster with PutClusterCapacityProviders instead."
            )
        provider = self._get_provider(name_or_arn)
        if provider is None:
            raise InvalidParameterException(
                f"The specified capacity provider '{name_or_arn}' does not exist."
            )
        cluster = cluster_of(self, provider)
        if cluster is not None:
            raise EcsClientException(
                f"The capacity provider {provider.name} is associated with the cluster "
                f"{cluster.name}. Only capacity providers that aren't associated with a cluster "
                "can be deleted: remove it with PutClusterCapacityProviders or delete the cluster."
            )
        return delete_provider(self, name_or_arn)

    signature = inspect.signature(create_cluster)

    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        given = signature.bind(self, *args, **kwargs).arguments
        _check_association(
            self,
            str(given.get("cluster_name")),
            given.get("capacity_providers"),
            given.get("default_capacity_provider_strategy"),
        )
        return create_cluster(self, *args, **kwargs)

    for name, value in (
        ("create_capacity_provider", create_capacity_provider),
        ("update_capacity_provider", update_capacity_provider),
        ("put_cluster_capacity_providers", put_cluster_capacity_providers),
        ("delete_capacity_provider", delete_capacity_provider),
        ("create_cluster", create),
    ):
        original = getattr(cls, name)
        setattr(cls, name, value)
        stack.callback(setattr, cls, name, original)


__all__ = [
    "BOOT_SECONDS",
    "METRIC",
    "NAMESPACE",
    "PERIOD",
    "CapacityActivity",
    "activities",
    "cluster_of",
    "group_of",
    "install",
    "instance_size",
    "place_waiting",
    "provider_instances",
    "resolve",
    "tick",
]
