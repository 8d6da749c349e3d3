"""ECS service auto scaling on the lab clock: target tracking on CPU, step scaling on SQS alarms.

moto (5.2.5) keeps Application Auto Scaling's control plane and CloudWatch's alarms, but nothing
ever scales and no alarm is evaluated. While a sandbox runs, labkit:

- runs each **target tracking** policy on an ECS service's ``ecs:service:DesiredCount`` with
  ``ECSServiceAverageCPUUtilization`` once a minute of lab time: it reads the CPU the service's
  running tasks used in the minute (:mod:`labkit.services.ecs.sim_scaling`'s model: each request
  costs what the app declares, a long-running command what it declares per minute) and
  applies :func:`~labkit.services.ecs.sim_scaling.track`;
- evaluates each **CloudWatch alarm on an SQS queue metric**
  (``ApproximateNumberOfMessagesVisible``, ``...NotVisible``, ``...Delayed``, dimension
  ``QueueName``) every ``Period`` (at least a minute: SQS sends its metrics once a minute),
  sets its state as CloudWatch does, and while it is in ``ALARM`` invokes each **step
  scaling** policy among its ``AlarmActions`` every period (Auto Scaling actions repeat while
  the alarm stays in ALARM), within the policy's ``Cooldown``;
- sets the new ``desiredCount`` through ECS's ``UpdateService``, so the service scheduler
  (:mod:`labkit.services.ecs.patch_services`) starts or stops tasks at once.

Each change is an :class:`Activity` on the ECS service (``labkit_scaling``) and on the policy
(``labkit_activities``), and the service gets the event "(service ...) desired count changed
from 2 to 4 by auto scaling policy ...". Simplified: a step policy's cooldown holds back any
further change of that policy (AWS lets a larger scale-out through during a scale-out cooldown).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moto.applicationautoscaling.models import ApplicationAutoscalingBackend
from moto.cloudwatch.models import CloudWatchBackend

from labkit.services.ecs import sim_scaling
from labkit.services.ecs.patch_services import event, service_runs

if TYPE_CHECKING:
    from labkit.clock import Clock
    from labkit.sandbox.session import Sandbox

#: Seconds between target tracking evaluations (ECS sends its metrics once a minute).
PERIOD = 60
DIMENSION = "ecs:service:DesiredCount"
CPU_METRIC = "ECSServiceAverageCPUUtilization"
#: The SQS metrics an alarm can be evaluated on, and how moto's queue counts each.
SQS_METRICS = {
    "ApproximateNumberOfMessagesVisible": "approximate_number_of_messages",
    "ApproximateNumberOfMessagesNotVisible": "approximate_number_of_messages_not_visible",
    "ApproximateNumberOfMessagesDelayed": "approximate_number_of_messages_delayed",
}


@dataclass(frozen=True)
class Activity:
    """One change of a service's desired count.

    Attributes:
        at: Lab time (epoch seconds).
        policy: The scaling policy's name.
        direction: ``scale-out`` or ``scale-in``.
        old: Desired count before.
        new: Desired count after.
        cause: What triggered it (utilization minutes, or the alarm and its value).
    """

    at: float
    policy: str
    direction: str
    old: int
    new: int
    cause: str


def activities(service: Any) -> list[Activity]:
    """The auto scaling changes made to a moto ECS service so far, oldest first."""
    return list(getattr(service, "labkit_scaling", ()))


def install(sandbox: Sandbox, stack: ExitStack) -> None:
    """Install ECS service auto scaling for ``sandbox``."""
    clock_of: Callable[[], Clock] = lambda: sandbox.clock  # noqa: E731
    put_policy = ApplicationAutoscalingBackend.__dict__["put_scaling_policy"]
    put_alarm = CloudWatchBackend.__dict__["put_metric_alarm"]

    def put_scaling_policy(self: ApplicationAutoscalingBackend, *args: Any, **kwargs: Any) -> Any:
        policy = put_policy(self, *args, **kwargs)
        if policy.service_namespace != "ecs" or policy.scalable_dimension != DIMENSION:
            return policy
        policy.labkit_activities = []
        body = policy.target_tracking_scaling_policy_configuration or {}
        metric = (body.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
        if metric == CPU_METRIC:
            key = policy.formulate_key(
                policy.service_namespace,
                policy.resource_id,
                policy.scalable_dimension,
                policy.policy_name,
            )
            policy.labkit_event = clock_of().every(
                PERIOD, _tracker(self, key, policy, clock_of), label=f"ecs auto scaling {key}"
            )
        return policy

    def put_metric_alarm(self: CloudWatchBackend, *args: Any, **kwargs: Any) -> Any:
        alarm = put_alarm(self, *args, **kwargs)
        if alarm.namespace == "AWS/SQS" and alarm.metric_name in SQS_METRICS:
            period = max(int(alarm.period or PERIOD), PERIOD)
            alarm.labkit_values = []
            alarm.labkit_event = clock_of().every(
                period, _alarm_evaluator(self, alarm, clock_of), label=f"alarm {alarm.name}"
            )
        return alarm

    for owner, name, value in (
        (ApplicationAutoscalingBackend, "put_scaling_policy", put_scaling_policy),
        (CloudWatchBackend, "put_metric_alarm", put_metric_alarm),
    ):
        original = owner.__dict__[name]
        setattr(owner, name, value)
        stack.callback(setattr, owner, name, original)


# -- applying a new desired count --------------------------------------------------------------
def _service(account: str, region: str, resource_id: str) -> tuple[Any, Any] | None:
    from moto.ecs.models import ecs_backends

    parts = resource_id.split("/")
    if len(parts) != 3:
        return None
    backend = ecs_backends[account][region]
    service = backend.services.get(f"{parts[1]}:{parts[2]}")
    if service is None or service.status != "ACTIVE":
        return None
    return backend, service


def _apply(
    backend: Any, service: Any, policy: Any, new: int, cause: str, clock: Clock
) -> Activity | None:
    old = int(service.desired_count)
    if new == old:
        return None
    backend.update_service(
        {"cluster": service.cluster_name, "service": service.name, "desired_count": new}
    )
    direction = sim_scaling.SCALE_OUT if new > old else sim_scaling.SCALE_IN
    activity = Activity(clock.timestamp, policy.policy_name, direction, old, new, cause)
    if getattr(service, "labkit_scaling", None) is None:
        service.labkit_scaling = []
    service.labkit_scaling.append(activity)
    policy.labkit_activities.append(activity)
    event(
        service,
        f"desired count changed from {old} to {new} by auto scaling policy "
        f"{policy.policy_name} ({cause}).",
    )
    return activity


def _limits(backend: Any, policy: Any) -> tuple[int, int] | None:
    target: Any = backend.targets.get(policy.scalable_dimension, {}).get(policy.resource_id)
    if target is None or (target.suspended_state or {}).get("DynamicScalingOutSuspended"):
        return None
    return int(target.min_capacity or 0), int(
        target.max_capacity if target.max_capacity is not None else 10_000
    )


# -- target tracking on CPU --------------------------------------------------------------------
def _tracker(
    backend: Any, key: str, policy: Any, clock_of: Callable[[], Clock]
) -> Callable[[], None]:
    state: dict[str, float] = {"out": -math.inf, "in": -math.inf}
    used_before: dict[str, float] = {}
    minutes: list[tuple[float, int]] = []

    def evaluate() -> None:
        if backend.policies.get(key) is not policy:
            policy.labkit_event.cancel()  # replaced, deleted, or gone with lab.reset()
            return
        limits = _limits(backend, policy)
        found = _service(backend.account_id, backend.region_name, policy.resource_id)
        if limits is None or found is None:
            return
        ecs, service = found
        # Tasks waiting in PROVISIONING run nothing yet: CPU counts only running ones.
        runs = [r for r in service_runs(ecs, service) if not r.waiting]
        if not runs:
            return  # no data: target tracking neither scales out nor in
        for run in runs:  # long-running commands use what they declare, minute by minute
            run.cpu_seconds += sum(
                sim_scaling.command_cost(c.spec.entry) * PERIOD / 60
                for c in run.containers
                if c.worker is not None
            )
        used = [r.cpu_seconds - used_before.get(r.task_id, 0.0) for r in runs]
        for run in runs:
            used_before[run.task_id] = run.cpu_seconds
        percent = sim_scaling.utilization(used, [r.need.cpu for r in runs], PERIOD)
        minutes.append((percent, len(runs)))
        rules = sim_scaling.tracking_policy(
            policy.target_tracking_scaling_policy_configuration or {},
            float(limits[0]),
            float(limits[1]),
        )
        del minutes[: max(len(minutes) - rules.scale_in_minutes, 0)]
        now = clock_of().timestamp
        decision = sim_scaling.track(
            minutes,
            int(service.desired_count),
            rules,
            since_scale_out=now - state["out"],
            since_scale_in=now - state["in"],
        )
        if decision is None:
            return
        shown = ", ".join(f"{u:g}%" for u in decision.utilization)
        cause = f"average CPU {shown} against a target of {rules.target:g}%"
        if _apply(ecs, service, policy, int(decision.capacity), cause, clock_of()):
            state["out" if decision.direction == sim_scaling.SCALE_OUT else "in"] = now

    return evaluate


# -- alarms on SQS metrics and step scaling ----------------------------------------------------
def _queue_value(alarm: Any, account: str) -> float | None:
    from moto.sqs.models import sqs_backends

    name = next((d.value for d in alarm.dimensions if d.name == "QueueName"), None)
    if name is None:
        return None
    queue = sqs_backends[account][alarm.region_name].queues.get(name)
    if queue is None:
        return None
    return float(getattr(queue, SQS_METRICS[alarm.metric_name]))


def _alarm_evaluator(backend: Any, alarm: Any, clock_of: Callable[[], Clock]) -> Callable[[], None]:
    def evaluate() -> None:
        if backend.alarms.get(alarm.name) is not alarm:
            alarm.labkit_event.cancel()  # replaced, deleted, or gone with lab.reset()
            return
        value = _queue_value(alarm, backend.account_id)
        if value is None:
            return
        periods = int(alarm.evaluation_periods or 1)
        alarm.labkit_values.append(value)
        del alarm.labkit_values[: max(len(alarm.labkit_values) - periods, 0)]
        to_alarm = int(alarm.datapoints_to_alarm or periods)
        threshold = float(alarm.threshold)
        state = sim_scaling.alarm_state(
            alarm.comparison_operator, threshold, alarm.labkit_values, periods, to_alarm
        )
        if state != alarm.state_value and state != "INSUFFICIENT_DATA":
            alarm.update_state(
                f"Threshold Crossed: {to_alarm} out of the last {periods} datapoints "
                f"[{', '.join(f'{v:g}' for v in alarm.labkit_values)}] "
                f"{'were' if state == 'ALARM' else 'were not'} {alarm.comparison_operator} "
                f"the threshold ({threshold:g}).",
                "{}",
                state,
            )
        if state == "ALARM" and alarm.actions_enabled:
            for action in alarm.alarm_actions or []:
                _invoke(action, value - threshold, alarm, value, clock_of())

    return evaluate


def _invoke(action: str, breach: float, alarm: Any, value: float, clock: Clock) -> None:
    """Run the step scaling policy ``action`` names (other actions are not simulated here)."""
    if ":scalingPolicy:" not in action:
        return
    from moto.applicationautoscaling.models import applicationautoscaling_backends

    parts = action.split(":")
    account, region = parts[4], parts[3]
    with contextlib.suppress(KeyError):
        backend = applicationautoscaling_backends[account][region]
        for policy in list(backend.policies.values()):
            if not action.startswith(policy.policy_arn):
                continue
            config = policy.step_scaling_policy_configuration
            if not config or policy.service_namespace != "ecs":
                continue
            _step(backend, policy, config, breach, alarm, value, clock)


def _step(
    backend: ApplicationAutoscalingBackend,
    policy: Any,
    config: dict[str, Any],
    breach: float,
    alarm: Any,
    value: float,
    clock: Clock,
) -> None:
    from labkit import facts

    limits = _limits(backend, policy)
    found = _service(backend.account_id, backend.region_name, policy.resource_id)
    if limits is None or found is None:
        return
    ecs, service = found
    cooldown = float(
        config.get("Cooldown", facts.value("ecs.autoscaling_default_cooldown_seconds"))
    )
    last = getattr(policy, "labkit_last", -math.inf)
    if clock.timestamp - last < cooldown:
        return
    above = str(alarm.comparison_operator).startswith("Greater")
    result = sim_scaling.step(config, breach, int(service.desired_count), *limits, above=above)
    if result is None:
        return
    cause = f"alarm {alarm.name} in ALARM, {alarm.metric_name} {value:g}"
    if _apply(ecs, service, policy, result.capacity, cause, clock):
        policy.labkit_last = clock.timestamp


__all__ = ["Activity", "activities", "install"]
